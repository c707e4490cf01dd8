"""
The middleware every response goes through: X-Request-Id accepted when sane
and made up otherwise; W3C traceparent keeps the caller's trace id with a new
span id (and starts a trace when absent or invalid); CORS answers only
allowlisted origins; security headers on every response; /metrics counts
requests by route pattern; /readyz reports the database; the access log is
one JSON line per request with ids and no query string or credentials.
"""
import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

ORIGIN = "https://app.example"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


class MiddlewareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_CORS_ORIGINS": ORIGIN + ",https://other.example",
                              "SB_PUBLIC_URL": "https://sb.example"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant("mw")
        cls.key = cls.srv.apikey(cls.tenant, "owner")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_http_middleware__request_id(self):
        st, h, _ = self.srv.request("GET", "/healthz", headers={"X-Request-Id": "abc-123_x.y"})
        self.assertEqual((st, h["x-request-id"]), (200, "abc-123_x.y"))
        for bad in ("has space", "x" * 129, "semi;colon"):
            st, h, _ = self.srv.request("GET", "/healthz", headers={"X-Request-Id": bad})
            self.assertNotEqual(h["x-request-id"], bad)
            self.assertRegex(h["x-request-id"], r"^[A-Za-z0-9._-]{1,128}$")
        _, h1, _ = self.srv.request("GET", "/healthz")
        _, h2, _ = self.srv.request("GET", "/healthz")
        self.assertNotEqual(h1["x-request-id"], h2["x-request-id"])

    def test_http_middleware__traceparent(self):
        tp = "00-%s-00f067aa0ba902b7-01" % TRACE
        _, h, _ = self.srv.request("GET", "/healthz", headers={"traceparent": tp})
        m = TP_RE.match(h["traceparent"])
        self.assertTrue(m, h["traceparent"])
        self.assertEqual(m.group(1), TRACE)
        self.assertNotEqual(m.group(2), "00f067aa0ba902b7")
        for bad in ("garbage", "00-%s-0000000000000000-01" % TRACE, "00-" + "0" * 32 + "-00f067aa0ba902b7-01"):
            _, h, _ = self.srv.request("GET", "/healthz", headers={"traceparent": bad})
            m = TP_RE.match(h["traceparent"])
            self.assertTrue(m)
            self.assertNotEqual(m.group(1), TRACE)
            self.assertNotEqual(m.group(1), "0" * 32)

    def test_http_middleware__cors_allowed(self):
        st, h, _ = self.srv.request("GET", "/api/v1/me", headers={"Origin": ORIGIN,
                                                                  "Authorization": "Bearer " + self.key})
        self.assertEqual(st, 200)
        self.assertEqual(h["access-control-allow-origin"], ORIGIN)
        self.assertEqual(h["access-control-allow-credentials"], "true")
        self.assertIn("Origin", h["vary"])
        st, h, data = self.srv.request("OPTIONS", "/api/v1/apikeys", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(st, 204, data)
        self.assertEqual(h["access-control-allow-origin"], ORIGIN)
        self.assertIn("POST", h["access-control-allow-methods"])
        self.assertIn("Authorization", h["access-control-allow-headers"])

    def test_http_middleware__cors_refused(self):
        for origin in ("https://evil.example", "https://app.example.evil.example", "null"):
            st, h, _ = self.srv.request("GET", "/healthz", headers={"Origin": origin})
            self.assertEqual(st, 200)
            self.assertNotIn("access-control-allow-origin", h)
            st, h, _ = self.srv.request("OPTIONS", "/api/v1/apikeys", headers={
                "Origin": origin, "Access-Control-Request-Method": "POST"})
            self.assertNotIn("access-control-allow-origin", h)
            self.assertNotIn("access-control-allow-methods", h)

    def test_http_middleware__security_headers(self):
        for method, path, hdrs in (("GET", "/healthz", {}), ("GET", "/api/v1/me", {"Authorization": "Bearer " + self.key}),
                                   ("GET", "/nope", {}), ("GET", "/api/v1/me", {})):
            _, h, _ = self.srv.request(method, path, headers=hdrs)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertEqual(h["x-frame-options"], "DENY")
            self.assertEqual(h["referrer-policy"], "no-referrer")
            self.assertIn("default-src 'none'", h["content-security-policy"])
            self.assertIn("frame-ancestors 'none'", h["content-security-policy"])
            self.assertEqual(h["cache-control"], "no-store")
            self.assertIn("max-age=", h["strict-transport-security"])  # SB_PUBLIC_URL is https

    def test_http_middleware__metrics(self):
        for _ in range(3):
            self.srv.request("GET", "/api/v1/users/usr_x", headers={"Authorization": "Bearer " + self.key})
        st, h, data = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        text = data.decode()
        self.assertIn("sb_http_requests_total", text)
        self.assertIn("sb_http_request_duration_seconds", text)
        self.assertIn("sb_http_requests_in_flight", text)
        # The route label is the pattern, never the raw path.
        m = re.search(r'sb_http_requests_total\{[^}]*route="/api/v1/users/\{id\}"[^}]*status="405"[^}]*\} (\d+)',
                      text)
        self.assertTrue(m, text[:2000])
        self.assertGreaterEqual(int(m.group(1)), 3)
        self.assertNotIn("usr_x", text)

    def test_http_middleware__readyz(self):
        st, body = self.srv.json("GET", "/readyz")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "ready")

    def test_http_middleware__openapi_served(self):
        st, body = self.srv.json("GET", "/api/v1/openapi.json")
        self.assertEqual(st, 200)
        self.assertEqual(body["openapi"], "3.1.0")
        self.assertIn("/api/v1/me", body["paths"])

    def test_http_middleware__access_log(self):
        rid = "accesslog-probe-1"
        self.srv.request("GET", "/api/v1/me?token=querysecret", headers={"X-Request-Id": rid,
                                                                        "Authorization": "Bearer " + self.key,
                                                                        "traceparent": "00-%s-00f067aa0ba902b7-01" % TRACE})
        line = None
        for _ in range(50):
            for ln in self.srv.read_log().splitlines():
                if rid in ln and '"status"' in ln:
                    line = ln
            if line:
                break
            time.sleep(0.1)
        self.assertIsNotNone(line)
        rec = json.loads(line)
        self.assertEqual(rec["request_id"], rid)
        self.assertEqual(rec["trace_id"], TRACE)
        self.assertEqual(rec["tenant_id"], self.tenant)
        self.assertEqual(rec["status"], 200)
        self.assertEqual(rec["route"], "/api/v1/me")
        self.assertEqual(rec["method"], "GET")
        self.assertIn("duration_ms", rec)
        self.assertNotIn("querysecret", line)
        self.assertNotIn(self.key, line)


if __name__ == "__main__":
    unittest.main()
