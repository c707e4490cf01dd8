"""
GET /api/v1/audit: the tenant's audit rows newest first, filtered by a time
range (from <= at < to, RFC 3339), paged with limit and the next_before
cursor; malformed parameters are 400 invalid_request; only owners and admins
may read it. Rows come from real actions (API key create/revoke, role
change, login) done through the API.
"""
import datetime
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

PASSWORD = "correct horse battery staple"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


class AuditApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        s = cls.srv
        cls.t = s.tenant("audit-api")
        cls.owner = s.apikey(cls.t, "owner")
        cls.before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        st, body = s.json("POST", "/api/v1/apikeys", {"name": "temp", "role": "agent"}, key=cls.owner)
        assert st == 201, body
        s.json("DELETE", "/api/v1/apikeys/" + body["id"], key=cls.owner)
        st, body = s.json("POST", "/api/v1/users", {"email": "a@audit.example", "name": "A", "role": "agent",
                                                   "password": PASSWORD}, key=cls.owner)
        assert st == 201, body
        s.json("PATCH", "/api/v1/users/" + body["id"], {"role": "viewer"}, key=cls.owner)
        cls.after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def get(self, key=None, **q):
        return self.srv.json("GET", "/api/v1/audit?" + urllib.parse.urlencode(q), key=key or self.owner)

    def test_api_audit__lists_actions_newest_first(self):
        st, body = self.get()
        self.assertEqual(st, 200, body)
        rows = body["data"]
        self.assertGreaterEqual(len(rows), 4)
        seqs = [r["seq"] for r in rows]
        self.assertEqual(seqs, sorted(seqs, reverse=True))
        actions = " ".join(r["action"] for r in rows)
        for word in ("create", "revoke", "role"):
            self.assertIn(word, actions)
        for r in rows:
            self.assertEqual(len(r["hash"]), 64)
            self.assertNotIn(PASSWORD, str(r))
        self.assertIsNone(body["next_before"])

    def test_api_audit__time_range(self):
        st, body = self.get(**{"from": iso(self.before), "to": iso(self.after)})
        self.assertEqual(st, 200, body)
        self.assertGreaterEqual(len(body["data"]), 4)
        st, body = self.get(**{"from": iso(self.after)})
        self.assertEqual((st, body["data"]), (200, []))
        st, body = self.get(to=iso(self.before))
        self.assertEqual((st, body["data"]), (200, []))

    def test_api_audit__paging(self):
        st, all_rows = self.get()
        seen = []
        before = None
        for _ in range(20):
            q = {"limit": 2}
            if before:
                q["before"] = before
            st, body = self.get(**q)
            self.assertEqual(st, 200, body)
            self.assertLessEqual(len(body["data"]), 2)
            seen += [r["seq"] for r in body["data"]]
            before = body["next_before"]
            if not before:
                break
        self.assertEqual(seen, [r["seq"] for r in all_rows["data"]])

    def test_api_audit__bad_params(self):
        for q in ({"from": "yesterday"}, {"limit": "0"}, {"limit": "abc"}, {"before": "-1"}):
            st, body = self.get(**q)
            self.assertEqual(st, 400, (q, body))
            self.assertEqual(body["error"]["code"], "invalid_request")

    def test_api_audit__agent_refused(self):
        agent = self.srv.apikey(self.t, "agent")
        st, body = self.get(key=agent)
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))


if __name__ == "__main__":
    unittest.main()
