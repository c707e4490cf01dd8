"""
WebSocket at /api/v1/events over a raw socket: an authenticated upgrade gets
101 with the RFC 6455 Sec-WebSocket-Accept and a first text frame
{"type":"hello","tenant_id":…,"last_event_id":0}; the server answers a ping with a pong
carrying the same payload and answers a close frame with a close frame.
Without credentials the upgrade is refused with 401; a plain GET is 426.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_frame(sock):
    b0, b1 = recv_exact(sock, 2)
    opcode, n = b0 & 0x0F, b1 & 0x7F
    assert not (b1 & 0x80), "server frames must not be masked"
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8))[0]
    return opcode, recv_exact(sock, n)


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    hdr = bytes([0x80 | opcode, 0x80 | len(payload)]) + mask
    sock.sendall(hdr + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.tenant = cls.srv.tenant("ws")
        cls.key = cls.srv.apikey(cls.tenant, "viewer")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def handshake(self, key=None, extra=""):
        ws_key = base64.b64encode(os.urandom(16)).decode()
        s = socket.create_connection((self.srv.host, self.srv.port), timeout=10)
        req = ("GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s\r\n"
               % (ws_key, ("Authorization: Bearer %s\r\n" % key) if key else "", extra))
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(1)
            if not chunk:
                break
            data += chunk
        head = data.decode()
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k:
                hdrs[k.strip().lower()] = v.strip()
        return s, status, hdrs, ws_key

    def test_http_websocket__upgrade_and_hello(self):
        s, status, hdrs, ws_key = self.handshake(self.key)
        try:
            self.assertEqual(status, 101, hdrs)
            want = base64.b64encode(hashlib.sha1((ws_key + GUID).encode()).digest()).decode()
            self.assertEqual(hdrs["sec-websocket-accept"], want)
            self.assertEqual(hdrs["upgrade"].lower(), "websocket")
            op, payload = read_frame(s)
            self.assertEqual(op, 1)
            hello = json.loads(payload)
            self.assertEqual(hello, {"type": "hello", "tenant_id": self.tenant, "last_event_id": 0})
            send_frame(s, 0x9, b"are-you-there")
            op, payload = read_frame(s)
            self.assertEqual((op, payload), (0xA, b"are-you-there"))
            send_frame(s, 0x8, struct.pack("!H", 1000))
            op, payload = read_frame(s)
            self.assertEqual(op, 0x8)
            self.assertEqual(struct.unpack("!H", payload[:2])[0], 1000)
        finally:
            s.close()

    def test_http_websocket__unauthenticated_refused(self):
        s, status, hdrs, _ = self.handshake(None)
        s.close()
        self.assertEqual(status, 401)
        self.assertNotIn("sec-websocket-accept", hdrs)
        s, status, hdrs, _ = self.handshake("sb_live_bogusbogusbogusbogusbogus00")
        s.close()
        self.assertEqual(status, 401)

    def test_http_websocket__plain_get_is_426(self):
        st, body = self.srv.json("GET", "/api/v1/events", key=self.key)
        self.assertEqual(st, 426, body)
        self.assertEqual(body["error"]["code"], "upgrade_required")


class WebSocketShutdownTest(unittest.TestCase):
    def test_http_websocket__sigterm_closes_with_1001(self):
        srv = Server()
        try:
            srv.start()
            t = srv.tenant("ws-stop")
            key = srv.apikey(t, "agent")
            s, status, _, _ = WebSocketTest.handshake(self_like(srv), key)
            try:
                self.assertEqual(status, 101)
                self.assertEqual(read_frame(s)[0], 1)
                srv.sigterm()
                op, payload = read_frame(s)
                self.assertEqual(op, 0x8)
                self.assertEqual(struct.unpack("!H", payload[:2])[0], 1001)
                send_frame(s, 0x8, struct.pack("!H", 1000))
            finally:
                s.close()
            self.assertEqual(srv.wait(timeout=25), 0)
        finally:
            srv.stop()


def self_like(srv):
    """An object with .srv, so WebSocketTest.handshake can be reused."""
    class _S:
        pass
    o = _S()
    o.srv = srv
    return o


if __name__ == "__main__":
    unittest.main()
