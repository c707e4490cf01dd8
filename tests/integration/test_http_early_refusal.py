"""
Refusals that the request line and headers decide are answered as soon as
the headers arrive, before the client sends its body: no credentials (401),
a wrong role (403), an unknown route (404) and a declared oversized body (413).
An authorised request with the same declared body is still read and handled.
"""
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

BODY_LEN = 200000  # declared, below the 1 MiB limit; never sent for a refusal


def status_before_body(srv, method, path, headers, timeout=5):
    """Send only the headers of a request that declares a body; return the
    status the server answers without waiting for the body."""
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1",
                 "Content-Type: application/json", "Content-Length: %d" % BODY_LEN]
        lines += ["%s: %s" % kv for kv in headers.items()]
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)  # times out (socket.timeout) if the server waits for the body
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


class EarlyRefusalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.tenant = cls.srv.tenant("early")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.admin = cls.srv.apikey(cls.tenant, "admin")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_http_early__no_credentials(self):
        self.assertEqual(status_before_body(self.srv, "POST", "/api/v1/users", {}), 401)

    def test_http_early__wrong_role(self):
        st = status_before_body(self.srv, "POST", "/api/v1/users", {"Authorization": "Bearer " + self.viewer})
        self.assertEqual(st, 403)

    def test_http_early__unknown_route(self):
        self.assertEqual(status_before_body(self.srv, "POST", "/api/v1/nothing-here", {}), 404)

    def test_http_early__declared_too_large(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=5)
        try:
            s.sendall(b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
            self.assertIn(b" 413 ", s.recv(4096))
        finally:
            s.close()

    def test_http_early__authorised_request_reads_its_body(self):
        pad = "x" * (BODY_LEN - 200)
        body = {"email": "early@example.com", "name": pad[:100], "role": "agent",
                "password": "hunter2hunter2", "pad": pad}
        raw = json.dumps(body).encode()
        st, _, data = self.srv.request("POST", "/api/v1/users", body=raw,
                                       headers={"Authorization": "Bearer " + self.admin,
                                                "Content-Type": "application/json"})
        self.assertEqual(st, 201, data)
        self.assertEqual(json.loads(data)["email"], "early@example.com")


if __name__ == "__main__":
    unittest.main(verbosity=2)
