"""
The audit log is hash-chained per tenant: `switchboard audit verify` passes on
an untouched database and exits 6, naming the tenant and row, after any row is
changed behind the server's back (here with SQL straight into the database).
"""
import os
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

TAMPERED = 6  # cli.h CLI_TAMPERED
PASSWORD = "correct horse battery staple"


def sql(srv, statement):
    """Run one statement on the server's database, whichever backend it is."""
    if srv.backend == "postgres":
        subprocess.run(["psql", srv.env["SB_DATABASE_URL"], "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
                       check=True, capture_output=True, timeout=30)
    else:
        db = sqlite3.connect(os.path.join(srv.datadir, "switchboard.db"))
        db.execute(statement)
        db.commit()
        db.close()


class AuditTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server()
        self.srv.start()

    def tearDown(self):
        self.srv.stop()

    def make_history(self):
        t = self.srv.tenant("audited")
        self.srv.user(t, "owner@audited.example", "owner", PASSWORD)
        key = self.srv.apikey_full(t, "admin")
        self.srv.cli("apikey", "revoke", "--tenant", t, "--id", key["id"])
        st, body = self.srv.json("POST", "/api/v1/auth/login", {"email": "owner@audited.example", "password": PASSWORD})
        self.assertEqual(st, 200, body)
        return t

    def test_cli_audit__verify_passes_untouched(self):
        self.make_history()
        rc, out, err = self.srv.cli("audit", "verify")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"intact: [4-9]\d* row")

    def test_cli_audit__tampered_row_is_named(self):
        t = self.make_history()
        sql(self.srv, "UPDATE audit_log SET actor_id = 'someone-else' WHERE tenant_id = '%s' AND seq = 2" % t)
        rc, out, err = self.srv.cli("audit", "verify")
        self.assertEqual(rc, TAMPERED, out + err)
        self.assertIn(t, err)
        self.assertIn("seq 2", err)

    def test_cli_audit__deleted_row_breaks_chain(self):
        t = self.make_history()
        sql(self.srv, "DELETE FROM audit_log WHERE tenant_id = '%s' AND seq = 2" % t)
        rc, out, err = self.srv.cli("audit", "verify")
        self.assertEqual(rc, TAMPERED, out + err)
        self.assertIn(t, err)

    def test_cli_audit__api_lists_login_and_key_events(self):
        t = self.make_history()
        owner_key = self.srv.apikey(t, "owner")
        st, body = self.srv.json("GET", "/api/v1/audit", key=owner_key)
        self.assertEqual(st, 200, body)
        actions = [row["action"] for row in body["data"]]
        for a in ("auth.login", "apikey.create", "apikey.revoke"):
            self.assertIn(a, actions)


if __name__ == "__main__":
    unittest.main(verbosity=2)
