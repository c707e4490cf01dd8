"""
README command 1's path: migrate, seed-demo (idempotent, prints the login),
serve; the demo owner can log in and read /api/v1/me.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402


class DemoTest(unittest.TestCase):
    def test_cli_demo__seed_is_idempotent_and_owner_logs_in(self):
        with Server() as srv:
            rc, out1, err = srv.cli("seed-demo")
            self.assertEqual(rc, 0, err)
            rc, out2, err = srv.cli("seed-demo")
            self.assertEqual(rc, 0, err)
            m1 = re.search(r"demo login: (\S+) / (\S+) \(tenant (\S+)\)", out1)
            m2 = re.search(r"demo login: (\S+) / (\S+) \(tenant (\S+)\)", out2)
            self.assertTrue(m1 and m2, out1 + out2)
            self.assertEqual(m1.groups(), m2.groups(), "second run must reuse the demo tenant")
            email, password, tenant = m1.groups()
            st, hdrs, body = srv.json_full("POST", "/api/v1/auth/login", {"email": email, "password": password})
            self.assertEqual(st, 200, body)
            self.assertEqual(body["tenant_id"], tenant)
            cookie = hdrs["set-cookie"].split(";")[0]
            st, me = srv.json("GET", "/api/v1/me", headers={"Cookie": cookie})
            self.assertEqual(st, 200, me)
            self.assertEqual((me["tenant_id"], me["role"]), (tenant, "owner"))

    def test_cli_demo__no_credentials_mode_needs_exactly_one_tenant(self):
        with Server(env={"SB_REQUIRE_API_KEYS": "false"}) as srv:
            st, body = srv.json("GET", "/api/v1/me")
            self.assertEqual(st, 401, "no tenant yet: nobody to act as")
            t = srv.tenant("solo")
            st, me = srv.json("GET", "/api/v1/me")
            self.assertEqual(st, 200, me)
            self.assertEqual((me["tenant_id"], me["role"]), (t, "owner"))
            srv.tenant("second")
            st, body = srv.json("GET", "/api/v1/me")
            self.assertEqual(st, 401, "with two tenants a request without credentials is refused")
            self.assertEqual(body["error"]["code"], "unauthorized")

    def test_cli_demo__usage_errors_exit_2(self):
        with Server() as srv:
            rc, _, err = srv.cli("tenant", "create")
            self.assertEqual(rc, 2)
            self.assertIn("--name", err)
            rc, _, err = srv.cli("frobnicate")
            self.assertEqual(rc, 2)
            rc, _, err = srv.cli("user", "create", "--tenant", "ten_x", "--email", "a@b.example", "--role", "owner")
            self.assertEqual(rc, 2, "password must come from stdin")
            rc, _, err = srv.cli("apikey", "revoke", "--tenant", "ten_nope", "--id", "key_nope")
            self.assertEqual(rc, 4, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
