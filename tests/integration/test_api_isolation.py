"""
Tenant isolation and the role matrix over HTTP: tenant A's API key and
session can read or change nothing of tenant B's API keys, users or audit log
(one test per resource); a viewer cannot do admin actions; a revoked key is
refused. Both tenants live in one server and one database.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

PASSWORD = "correct horse battery staple"


class IsolationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        s = cls.srv
        cls.ta = s.tenant("tenant-a")
        cls.tb = s.tenant("tenant-b")
        cls.ua = s.user(cls.ta, "owner@a.example", "owner", PASSWORD)
        cls.ub = s.user(cls.tb, "owner@b.example", "owner", PASSWORD)
        cls.ub2 = s.user(cls.tb, "agent@b.example", "agent", PASSWORD)
        cls.ka = s.apikey(cls.ta, "owner")
        kb = s.apikey_full(cls.tb, "owner")
        cls.kb, cls.kb_id = kb["key"], kb["id"]
        cls.kb_other = s.apikey_full(cls.tb, "agent")["id"]
        # A session of tenant A's owner.
        st, hdrs, body = s.json_full("POST", "/api/v1/auth/login",
                                     {"email": "owner@a.example", "password": PASSWORD})
        assert st == 200, body
        cls.cookie = hdrs["set-cookie"].split(";")[0]
        cls.csrf = body["csrf_token"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def session(self):
        return {"Cookie": self.cookie, "X-CSRF-Token": self.csrf}

    def as_a(self):
        """Both of tenant A's credentials: (key, headers) pairs."""
        return [(self.ka, None), (None, self.session())]

    def test_api_isolation__me_is_own_tenant(self):
        for key, hdrs in self.as_a():
            st, body = self.srv.json("GET", "/api/v1/me", key=key, headers=hdrs)
            self.assertEqual(st, 200, body)
            self.assertEqual(body["tenant_id"], self.ta)

    def test_api_isolation__apikeys(self):
        for key, hdrs in self.as_a():
            st, body = self.srv.json("GET", "/api/v1/apikeys", key=key, headers=hdrs)
            self.assertEqual(st, 200, body)
            ids = {k["id"] for k in body["data"]}
            self.assertNotIn(self.kb_id, ids)
            self.assertTrue(all(k["tenant_id"] == self.ta for k in body["data"]))
            for k in body["data"]:
                self.assertNotIn("key", k)
                self.assertNotIn("key_hash", k)
            # Revoking B's key through A is "not found", and B's key keeps working.
            st, body = self.srv.json("DELETE", "/api/v1/apikeys/" + self.kb_other, key=key, headers=hdrs)
            self.assertEqual(st, 404, body)
            self.assertEqual(body["error"]["code"], "not_found")
        st, body = self.srv.json("GET", "/api/v1/apikeys", key=self.kb)
        self.assertEqual(st, 200)
        other = [k for k in body["data"] if k["id"] == self.kb_other][0]
        self.assertIsNone(other["revoked_at"])

    def test_api_isolation__users(self):
        for key, hdrs in self.as_a():
            st, body = self.srv.json("GET", "/api/v1/users", key=key, headers=hdrs)
            self.assertEqual(st, 200, body)
            emails = {u["email"] for u in body["data"]}
            self.assertIn("owner@a.example", emails)
            self.assertNotIn("owner@b.example", emails)
            self.assertNotIn("agent@b.example", emails)
            st, body = self.srv.json("PATCH", "/api/v1/users/" + self.ub2, {"role": "admin"}, key=key, headers=hdrs)
            self.assertEqual(st, 404, body)
            st, body = self.srv.json("DELETE", "/api/v1/users/" + self.ub2, key=key, headers=hdrs)
            self.assertEqual(st, 404, body)
        st, body = self.srv.json("GET", "/api/v1/users", key=self.kb)
        roles = {u["email"]: u["role"] for u in body["data"]}
        self.assertEqual(roles.get("agent@b.example"), "agent")

    def test_api_isolation__audit(self):
        # B has audit rows (its key creations); A sees none of them.
        st, body = self.srv.json("GET", "/api/v1/audit", key=self.kb)
        self.assertEqual(st, 200, body)
        b_hashes = {r["hash"] for r in body["data"]}
        self.assertTrue(b_hashes, "tenant B should have audit rows")
        for key, hdrs in self.as_a():
            st, body = self.srv.json("GET", "/api/v1/audit?limit=500", key=key, headers=hdrs)
            self.assertEqual(st, 200, body)
            self.assertTrue(body["data"], "tenant A should have audit rows (its login)")
            self.assertFalse(b_hashes & {r["hash"] for r in body["data"]})
            for r in body["data"]:
                self.assertNotIn(self.tb, str(r))

    def test_api_isolation__viewer_cannot_admin(self):
        viewer = self.srv.apikey(self.ta, "viewer")
        st, body = self.srv.json("POST", "/api/v1/apikeys", {"name": "x", "role": "viewer"}, key=viewer)
        self.assertEqual(st, 403, body)
        self.assertEqual(body["error"]["code"], "forbidden")
        st, body = self.srv.json("POST", "/api/v1/users",
                                 {"email": "new@a.example", "name": "N", "role": "viewer", "password": PASSWORD},
                                 key=viewer)
        self.assertEqual(st, 403, body)
        st, body = self.srv.json("GET", "/api/v1/audit", key=viewer)
        self.assertEqual(st, 403, body)
        st, body = self.srv.json("GET", "/api/v1/me", key=viewer)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["role"], "viewer")

    def test_api_isolation__admin_can_create_and_key_is_shown_once(self):
        st, body = self.srv.json("POST", "/api/v1/apikeys", {"name": "ci", "role": "agent"}, key=self.ka)
        self.assertEqual(st, 201, body)
        self.assertTrue(body["key"].startswith("sb_live_"))
        self.assertEqual(body["tenant_id"], self.ta)
        new_key, new_id = body["key"], body["id"]
        st, body = self.srv.json("GET", "/api/v1/me", key=new_key)
        self.assertEqual((st, body["role"], body["key_id"]), (200, "agent", new_id))
        st, body = self.srv.json("GET", "/api/v1/apikeys", key=self.ka)
        self.assertNotIn(new_key, str(body))

    def test_api_isolation__revoked_key_refused(self):
        st, body = self.srv.json("POST", "/api/v1/apikeys", {"name": "gone", "role": "viewer"}, key=self.ka)
        self.assertEqual(st, 201, body)
        key, kid = body["key"], body["id"]
        self.assertEqual(self.srv.json("GET", "/api/v1/me", key=key)[0], 200)
        st, body = self.srv.json("DELETE", "/api/v1/apikeys/" + kid, key=self.ka)
        self.assertEqual(st, 204, body)
        st, body = self.srv.json("GET", "/api/v1/me", key=key)
        self.assertEqual(st, 401, body)
        self.assertEqual(body["error"]["code"], "unauthorized")

    def test_api_isolation__no_credentials(self):
        st, body = self.srv.json("GET", "/api/v1/me")
        self.assertEqual(st, 401, body)
        self.assertEqual(body["error"]["code"], "unauthorized")
        st, body = self.srv.json("GET", "/api/v1/me", key="sb_live_notarealkey000000000000000000")
        self.assertEqual(st, 401, body)

    def test_api_isolation__user_crud_in_own_tenant(self):
        st, body = self.srv.json("POST", "/api/v1/users",
                                 {"email": "crud@a.example", "name": "Crud", "role": "agent", "password": PASSWORD},
                                 key=self.ka)
        self.assertEqual(st, 201, body)
        uid = body["id"]
        self.assertEqual(body["role"], "agent")
        st, body = self.srv.json("PATCH", "/api/v1/users/" + uid, {"role": "viewer"}, key=self.ka)
        self.assertEqual((st, body["role"]), (200, "viewer"), body)
        st, body = self.srv.json("PATCH", "/api/v1/users/" + uid, {"role": 7}, key=self.ka)
        self.assertEqual(st, 400, body)
        self.assertEqual(body["error"]["code"], "invalid_request")
        self.assertIn("role", body["error"]["message"])
        st, _ = self.srv.json("DELETE", "/api/v1/users/" + uid, key=self.ka)
        self.assertEqual(st, 204)
        st, body = self.srv.json("GET", "/api/v1/users", key=self.ka)
        self.assertNotIn("crud@a.example", {u["email"] for u in body["data"]})


if __name__ == "__main__":
    unittest.main()
