"""
Connection life cycle: a client that sends its headers slower than
SB_HEADER_TIMEOUT is dropped (MHD alone would keep it as long as it trickles);
a keep-alive connection that idles between requests is not; SIGTERM lets an
in-flight request (headers and half its body sent) finish with its 201,
refuses new connections meanwhile, and the process exits 0.
"""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402


def read_response(sock, timeout=15):
    """Read one HTTP/1.1 response with a Content-Length; returns (status, body bytes)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers: %r" % data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


class SlowHeadersTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(env={"SB_HEADER_TIMEOUT": "2", "SB_IDLE_TIMEOUT": "30"})
        self.srv.start()

    def tearDown(self):
        self.srv.stop()

    def test_http_lifecycle__slow_headers_dropped(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=5)
        start = time.monotonic()
        dropped_after = None
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(1.0)
            # One header byte a second; never finish the headers.
            for i in range(12):
                try:
                    s.sendall(b"X-Slow: " if i == 0 else b"a")
                    got = s.recv(4096)
                    if got == b"":
                        dropped_after = time.monotonic() - start
                        break
                    self.fail("got a response to unfinished headers: %r" % got)
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    dropped_after = time.monotonic() - start
                    break
        finally:
            s.close()
        self.assertIsNotNone(dropped_after, "a slow-header client was never dropped")
        self.assertGreaterEqual(dropped_after, 1.5)
        self.assertLess(dropped_after, 6.0)
        # The server still serves others.
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_http_lifecycle__keepalive_idle_not_dropped_by_header_deadline(self):
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(s)[0], 200)
            time.sleep(3.0)  # longer than SB_HEADER_TIMEOUT, shorter than SB_IDLE_TIMEOUT
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_response(s)[0], 200)
        finally:
            s.close()


class SigtermTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(env={"SB_SHUTDOWN_GRACE": "20"})
        self.srv.start()
        t = self.srv.tenant("shutdown")
        self.key = self.srv.apikey(t, "owner")

    def tearDown(self):
        self.srv.stop()

    def test_http_lifecycle__sigterm_finishes_inflight(self):
        body = json.dumps({"name": "during-shutdown", "role": "viewer"}).encode()
        half = len(body) // 2
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=10)
        try:
            s.sendall(("POST /api/v1/apikeys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                       % (self.key, len(body))).encode() + body[:half])
            time.sleep(0.5)
            self.srv.sigterm()
            time.sleep(0.7)
            # Stopped accepting: the kernel refuses a new connection outright.
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection((self.srv.host, self.srv.port), timeout=3).close()
            self.assertIsNone(self.srv.proc.poll(), "exited before the in-flight request finished")
            s.sendall(body[half:])
            status, data = read_response(s)
            self.assertEqual(status, 201, data)
            self.assertTrue(json.loads(data)["key"].startswith("sb_live_"))
        finally:
            s.close()
        self.assertEqual(self.srv.wait(timeout=25), 0)
        log = self.srv.read_log()
        self.assertIn("shutting down", log)
        self.assertIn("stopped", log)

    def test_http_lifecycle__sigterm_idle_exits_zero(self):
        self.srv.sigterm()
        self.assertEqual(self.srv.wait(timeout=25), 0)


if __name__ == "__main__":
    unittest.main()
