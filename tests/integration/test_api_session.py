"""
Dashboard sessions over HTTP: login sets an HttpOnly, SameSite=Strict cookie
(not Secure when SB_COOKIE_SECURE=false) and returns a CSRF token; cookie
authenticated unsafe requests need X-CSRF-Token; logout ends the session and
clears the cookie; wrong passwords get 401 invalid_credentials, and after
SB_LOGIN_MAX_FAILURES failures the login is throttled with 429 and
Retry-After, even with the right password.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

PASSWORD = "correct horse battery staple"
WRONG = "hunter2hunter2"


class SessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_LOGIN_MAX_FAILURES": "3", "SB_LOGIN_WINDOW": "600"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant("sessions")
        cls.srv.user(cls.tenant, "owner@s.example", "owner", PASSWORD)
        cls.srv.user(cls.tenant, "victim@s.example", "agent", PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def login(self, email="owner@s.example", password=PASSWORD):
        return self.srv.json_full("POST", "/api/v1/auth/login", {"email": email, "password": password})

    def test_api_session__login_cookie(self):
        st, h, body = self.login()
        self.assertEqual(st, 200, body)
        cookie = h["set-cookie"]
        attrs = [a.strip().lower() for a in cookie.split(";")]
        self.assertTrue(attrs[0].startswith("sb_session=") and len(attrs[0]) > 30)
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=strict", attrs)
        self.assertIn("path=/", attrs)
        self.assertNotIn("secure", attrs)
        self.assertTrue(any(a.startswith("max-age=") for a in attrs))
        self.assertEqual(body["tenant_id"], self.tenant)
        self.assertEqual(body["role"], "owner")
        self.assertEqual(body["user"]["email"], "owner@s.example")
        self.assertTrue(body["csrf_token"])
        self.assertTrue(body["expires_at"])
        self.assertNotIn(PASSWORD, str(body))
        session = cookie.split(";")[0]
        st, me = self.srv.json("GET", "/api/v1/me", headers={"Cookie": session})
        self.assertEqual(st, 200, me)
        self.assertEqual((me["auth"], me["tenant_id"], me["csrf_token"]), ("session", self.tenant, body["csrf_token"]))
        self.assertEqual(me["user"]["email"], "owner@s.example")

    def test_api_session__csrf_enforced(self):
        st, h, body = self.login()
        session = h["set-cookie"].split(";")[0]
        req = {"name": "via-session", "role": "viewer"}
        st, b = self.srv.json("POST", "/api/v1/apikeys", req, headers={"Cookie": session})
        self.assertEqual(st, 403, b)
        self.assertEqual(b["error"]["code"], "csrf_failed")
        st, b = self.srv.json("POST", "/api/v1/apikeys", req, headers={"Cookie": session, "X-CSRF-Token": "nope"})
        self.assertEqual((st, b["error"]["code"]), (403, "csrf_failed"))
        st, b = self.srv.json("POST", "/api/v1/apikeys", req,
                              headers={"Cookie": session, "X-CSRF-Token": body["csrf_token"]})
        self.assertEqual(st, 201, b)
        # Safe methods need no token; API keys need none (no ambient credential).
        self.assertEqual(self.srv.json("GET", "/api/v1/apikeys", headers={"Cookie": session})[0], 200)

    def test_api_session__logout(self):
        st, h, body = self.login()
        session = h["set-cookie"].split(";")[0]
        st, h, _ = self.srv.request("POST", "/api/v1/auth/logout",
                                    headers={"Cookie": session, "X-CSRF-Token": body["csrf_token"]})
        self.assertEqual(st, 204)
        self.assertIn("max-age=0", h["set-cookie"].lower())
        st, b = self.srv.json("GET", "/api/v1/me", headers={"Cookie": session})
        self.assertEqual(st, 401, b)

    def test_api_session__bad_login(self):
        st, _, b = self.login("owner@s.example", "")
        self.assertEqual((st, b["error"]["code"]), (400, "invalid_request"))
        st, _, b = self.srv.json_full("POST", "/api/v1/auth/login", None)
        self.assertEqual((st, b["error"]["code"]), (400, "invalid_json"))
        st, _, b = self.login("nobody@s.example", WRONG)
        self.assertEqual((st, b["error"]["code"]), (401, "invalid_credentials"))

    def test_api_session__throttle(self):
        for _ in range(3):
            st, _, b = self.login("victim@s.example", WRONG)
            self.assertEqual(st, 401, b)
            self.assertEqual(b["error"]["code"], "invalid_credentials")
        st, h, b = self.login("victim@s.example", WRONG)
        self.assertEqual(st, 429, b)
        self.assertEqual(b["error"]["code"], "login_throttled")
        self.assertGreater(int(h["retry-after"]), 0)
        # The right password does not get through while throttled.
        st, h, b = self.login("victim@s.example", PASSWORD)
        self.assertEqual(st, 429, b)
        self.assertNotIn("set-cookie", h)


if __name__ == "__main__":
    unittest.main()
