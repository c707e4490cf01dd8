"""
Dead-letter admin API: owners and admins list their tenant's dead jobs
(without payloads), retry one (it goes back to the queue with its attempts
reset) or discard one; each action is audited. Another tenant's job is 404,
an agent is 403. The dead jobs are written straight into the database, as a
worker that exhausted its attempts would leave them.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402
from test_cli_audit import sql  # noqa: E402


def query(srv, statement):
    """One scalar from the server's database."""
    if srv.backend == "postgres":
        import subprocess
        p = subprocess.run(["psql", srv.env["SB_DATABASE_URL"], "-tAq", "-c", statement],
                           check=True, capture_output=True, timeout=30)
        return p.stdout.decode().strip()
    import sqlite3
    db = sqlite3.connect(os.path.join(srv.datadir, "switchboard.db"))
    row = db.execute(statement).fetchone()
    db.close()
    return "" if row is None else str(row[0])


def dead_job(srv, tenant, job_id, error="provider returned 500 five times"):
    """A dead job of a type no worker of this server runs, so a retried one
    stays queued for the test to look at (tests/integration/test_messages.py
    retries real outbound.send jobs end to end)."""
    now = int(time.time() * 1000)
    sql(srv, "INSERT INTO jobs (id, tenant_id, type, payload, state, attempts, max_attempts, run_at, "
             "last_error, created_at, updated_at) VALUES ('%s', '%s', 'report.export', "
             "'{\"body\":\"TOPSECRET-BODY-7f3a\"}', 'dead', 5, 5, %d, '%s', %d, %d)"
        % (job_id, tenant, now, error, now, now))


class JobsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.a = cls.srv.tenant("jobs-a")
        cls.b = cls.srv.tenant("jobs-b")
        cls.admin_a = cls.srv.apikey(cls.a, "admin")
        cls.admin_b = cls.srv.apikey(cls.b, "admin")
        cls.agent_a = cls.srv.apikey(cls.a, "agent")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_api_jobs__list_is_tenant_scoped_and_hides_payload(self):
        dead_job(self.srv, self.a, "job_list_a")
        st, body = self.srv.json("GET", "/api/v1/jobs/dead", key=self.admin_a)
        self.assertEqual(st, 200, body)
        ids = [j["id"] for j in body["data"]]
        self.assertIn("job_list_a", ids)
        job = next(j for j in body["data"] if j["id"] == "job_list_a")
        self.assertEqual((job["type"], job["attempts"], job["last_error"]),
                         ("report.export", 5, "provider returned 500 five times"))
        self.assertNotIn("payload", job)
        st, body = self.srv.json("GET", "/api/v1/jobs/dead", key=self.admin_b)
        self.assertEqual(st, 200, body)
        self.assertNotIn("job_list_a", [j["id"] for j in body["data"]])

    def test_api_jobs__retry_requeues_once_and_is_audited(self):
        dead_job(self.srv, self.a, "job_retry_a")
        st, body = self.srv.json("POST", "/api/v1/jobs/job_retry_a/retry", key=self.admin_b)
        self.assertEqual(st, 404, "tenant B cannot retry A's job")
        self.assertEqual(query(self.srv, "SELECT state FROM jobs WHERE id = 'job_retry_a'"), "dead")
        st, body = self.srv.json("POST", "/api/v1/jobs/job_retry_a/retry", key=self.agent_a)
        self.assertEqual(st, 403)
        st, body = self.srv.json("POST", "/api/v1/jobs/job_retry_a/retry", key=self.admin_a)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, {"id": "job_retry_a", "state": "queued"})
        self.assertEqual(query(self.srv, "SELECT state FROM jobs WHERE id = 'job_retry_a'"), "queued")
        self.assertEqual(query(self.srv, "SELECT attempts FROM jobs WHERE id = 'job_retry_a'"), "0")
        st, body = self.srv.json("POST", "/api/v1/jobs/job_retry_a/retry", key=self.admin_a)
        self.assertEqual(st, 404, "only dead jobs can be retried")
        st, audit = self.srv.json("GET", "/api/v1/audit", key=self.srv.apikey(self.a, "owner"))
        self.assertIn(("job.retry", "job_retry_a"), [(r["action"], r["target"]) for r in audit["data"]])

    def test_api_jobs__discard(self):
        dead_job(self.srv, self.a, "job_discard_a")
        st, body = self.srv.json("DELETE", "/api/v1/jobs/job_discard_a", key=self.admin_b)
        self.assertEqual(st, 404)
        st, body = self.srv.json("DELETE", "/api/v1/jobs/job_discard_a", key=self.admin_a)
        self.assertEqual(st, 204, body)
        self.assertEqual(query(self.srv, "SELECT count(*) FROM jobs WHERE id = 'job_discard_a'"), "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
