"""
One error shape everywhere: malformed JSON is 400 "invalid_json", missing or
mistyped fields are 400 "invalid_request" naming the field, a body over the
limit is 413 "payload_too_large" (declared or chunked), unknown paths are 404
and known paths with another method are 405 with an Allow header. Every
error body is {"error":{"code","message","request_id"}} and its request_id is
the X-Request-Id of the response.
"""
import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

LIMIT = 4096


class ErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_BODY_LIMIT": str(LIMIT)})
        cls.srv.start()
        t = cls.srv.tenant("errors")
        cls.key = cls.srv.apikey(t, "owner")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def assertError(self, status, hdrs, data, want_status, want_code):
        self.assertEqual(status, want_status, data)
        body = json.loads(data)
        self.assertEqual(set(body), {"error"})
        self.assertEqual(set(body["error"]), {"code", "message", "request_id"})
        self.assertEqual(body["error"]["code"], want_code)
        self.assertTrue(body["error"]["message"])
        self.assertEqual(body["error"]["request_id"], hdrs["x-request-id"])
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        return body

    def auth(self, extra=None):
        h = {"Authorization": "Bearer " + self.key, "Content-Type": "application/json"}
        h.update(extra or {})
        return h

    def test_api_errors__malformed_json(self):
        for bad in (b"{", b"{\"name\": }", b"not json", b"[1,2", b"\xff\xfe"):
            st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=bad, headers=self.auth())
            self.assertError(st, hdrs, data, 400, "invalid_json")

    def test_api_errors__wrong_shape(self):
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=b"[]", headers=self.auth())
        self.assertError(st, hdrs, data, 400, "invalid_json")
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=b"{\"name\":\"x\"}", headers=self.auth())
        body = self.assertError(st, hdrs, data, 400, "invalid_request")
        self.assertIn("role", body["error"]["message"])
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=b"{\"name\":5,\"role\":\"agent\"}",
                                          headers=self.auth())
        body = self.assertError(st, hdrs, data, 400, "invalid_request")
        self.assertIn("name", body["error"]["message"])
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=b"{\"role\":\"emperor\"}",
                                          headers=self.auth())
        self.assertEqual(st, 400, data)

    def test_api_errors__body_limit_declared(self):
        big = json.dumps({"name": "x" * (LIMIT + 10), "role": "agent"}).encode()
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=big, headers=self.auth())
        body = self.assertError(st, hdrs, data, 413, "payload_too_large")
        self.assertIn(str(LIMIT), body["error"]["message"])
        # Just under the limit is read and parsed (400 for the bad role, not 413).
        ok = json.dumps({"name": "x" * (LIMIT - 100), "role": "bogus"}).encode()
        self.assertLessEqual(len(ok), LIMIT)
        st, hdrs, data = self.srv.request("POST", "/api/v1/apikeys", body=ok, headers=self.auth())
        self.assertEqual(st, 400, data)

    def test_api_errors__body_limit_chunked(self):
        c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=15)
        try:
            c.putrequest("POST", "/api/v1/apikeys")
            for k, v in self.auth({"Transfer-Encoding": "chunked"}).items():
                c.putheader(k, v)
            c.endheaders()
            chunk = b"x" * 1024
            for _ in range(LIMIT // 1024 + 2):
                c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            c.send(b"0\r\n\r\n")
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            self.assertError(r.status, hdrs, data, 413, "payload_too_large")
        finally:
            c.close()

    def test_api_errors__not_found(self):
        st, hdrs, data = self.srv.request("GET", "/api/v1/nope", headers=self.auth())
        self.assertError(st, hdrs, data, 404, "not_found")
        # Outside the API too, for a client that does not ask for HTML (the
        # dashboard's fallback is tests/integration/test_http_static.py).
        st, hdrs, data = self.srv.request("GET", "/no/such/page", headers={})
        self.assertError(st, hdrs, data, 404, "not_found")

    def test_api_errors__method_not_allowed(self):
        st, hdrs, data = self.srv.request("PUT", "/api/v1/apikeys", body=b"{}", headers=self.auth())
        self.assertError(st, hdrs, data, 405, "method_not_allowed")
        allow = [m.strip() for m in hdrs["allow"].split(",")]
        self.assertIn("GET", allow)
        self.assertIn("POST", allow)
        st, hdrs, data = self.srv.request("POST", "/healthz")
        self.assertError(st, hdrs, data, 405, "method_not_allowed")

    def test_api_errors__unauthorized_shape(self):
        st, hdrs, data = self.srv.request("GET", "/api/v1/users")
        self.assertError(st, hdrs, data, 401, "unauthorized")
        st, hdrs, data = self.srv.request("GET", "/api/v1/users", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        self.assertError(st, hdrs, data, 401, "unauthorized")


if __name__ == "__main__":
    unittest.main()
