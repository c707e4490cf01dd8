"""
The realtime event feed on /api/v1/events, end to end. No producer of
events exists in the server yet, so the tests append them as a separate
`switchboard worker` process would: rows in the server's own database
(sqlite3 with a busy timeout on <datadir>/switchboard.db, or psql on the
server's database URL), each tenant's seq contiguous, written in one
transaction that holds the tenant's write lock as the store does.

Checked: live delivery within a second; tenant isolation; resume with
?last_event_id= and with the Last-Event-ID header replays exactly the missed
events in order and then continues live, with nothing twice; no resume point
means live only; a bad last_event_id is 400 before any upgrade; a resume
point the log no longer covers (pruned by SB_EVENT_RETENTION) or never
issued gets a resync first; a burst of 2,000 events arrives complete and in
order on a live socket and on a resuming one; a client that stops reading is
closed with 1008 instead of being buffered for.
"""
import base64
import datetime
import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402
from test_http_websocket import read_frame, send_frame  # noqa: E402


# ------------------------------------------------------------ event log


class EventLog:
    """Appends events to a running server's database from outside it."""

    def __init__(self, srv):
        self.srv = srv
        self.pg_url = srv.env.get("SB_DATABASE_URL") if srv.backend == "postgres" else None
        self.sqlite_path = os.path.join(srv.datadir, "switchboard.db")

    def sql(self, text):
        if self.pg_url:
            p = subprocess.run(["psql", self.pg_url, "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                               input=text.encode(), capture_output=True, timeout=120)
        else:
            p = subprocess.run(["sqlite3", "-bail", "-cmd", ".timeout 15000", self.sqlite_path],
                               input=text.encode(), capture_output=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("sql failed: %s" % p.stderr.decode(errors="replace"))
        return p.stdout.decode().strip()

    def append(self, tenant, n=1, type_="message.status", created_at_ms=None, pad=0):
        """Append n events to tenant in one transaction; returns their seqs.
        Event i (1-based within this call) has data {"message_id": "msg_<seq>",
        ...} so a receiver can check each frame against its id."""
        assert "'" not in tenant
        at = "%d" % created_at_ms if created_at_ms is not None else None
        padding = "x" * pad
        if self.pg_url:
            at = at or "(extract(epoch from clock_timestamp()) * 1000)::bigint"
            text = (
                "BEGIN;\n"
                "SELECT pg_advisory_xact_lock(7302, 0) \\g /dev/null\n"
                "INSERT INTO events (tenant_id, seq, type, data, created_at)\n"
                " SELECT '%(t)s', b.last + i, '%(ty)s',\n"
                "  json_build_object('message_id', 'msg_' || (b.last + i), 'conversation_id', 'cnv_1',\n"
                "   'status', 'delivered', 'previous_status', 'sent', 'error', NULL,\n"
                "   'provider_ts', '2026-01-05T10:00:00.000Z', 'received_at', '2026-01-05T10:00:01.000Z',\n"
                "   'pad', '%(pad)s')::text,\n"
                "  %(at)s\n"
                " FROM (SELECT COALESCE(MAX(seq), 0) AS last FROM events WHERE tenant_id = '%(t)s') b,\n"
                "  generate_series(1, %(n)d) AS i;\n"
                "SELECT MAX(seq) FROM events WHERE tenant_id = '%(t)s';\n"
                "COMMIT;\n") % {"t": tenant, "ty": type_, "n": n, "at": at, "pad": padding}
        else:
            at = at or "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
            text = (
                "BEGIN IMMEDIATE;\n"
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %(n)d),\n"
                " b(last) AS (SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = '%(t)s')\n"
                "INSERT INTO events (tenant_id, seq, type, data, created_at)\n"
                " SELECT '%(t)s', b.last + k.i, '%(ty)s',\n"
                "  json_object('message_id', 'msg_' || (b.last + k.i), 'conversation_id', 'cnv_1',\n"
                "   'status', 'delivered', 'previous_status', 'sent', 'error', NULL,\n"
                "   'provider_ts', '2026-01-05T10:00:00.000Z', 'received_at', '2026-01-05T10:00:01.000Z',\n"
                "   'pad', '%(pad)s'),\n"
                "  %(at)s\n"
                " FROM k, b;\n"
                "SELECT MAX(seq) FROM events WHERE tenant_id = '%(t)s';\n"
                "COMMIT;\n") % {"t": tenant, "ty": type_, "n": n, "at": at, "pad": padding}
        last = int(self.sql(text).splitlines()[-1])
        return list(range(last - n + 1, last + 1))

    def first_seq(self, tenant):
        out = self.sql("SELECT COALESCE(MIN(seq), 0) FROM events WHERE tenant_id = '%s';" % tenant)
        return int(out.splitlines()[-1])


# ------------------------------------------------------------- client


class WS:
    """A minimal WebSocket client (frames from test_http_websocket)."""

    def __init__(self, srv, key, query="", headers="", rcvbuf=None):
        ws_key = base64.b64encode(os.urandom(16)).decode()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect((srv.host, srv.port))
        req = ("GET /api/v1/events%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n%s\r\n"
               % (query, ws_key, key, headers))
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(1)
            if not chunk:
                break
            data += chunk
        head, _, _ = data.partition(b"\r\n\r\n")
        self.status = int(head.split()[1])
        self.body = b""
        if self.status != 101:
            length = 0
            for ln in head.decode().split("\r\n")[1:]:
                k, _, v = ln.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            while len(self.body) < length:
                chunk = s.recv(length - len(self.body))
                if not chunk:
                    break
                self.body += chunk
        self.sock = s

    def next(self, timeout=5.0):
        """The next text message as JSON (pings skipped); None on timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                op, payload = read_frame(self.sock)
                if op == 0x1:
                    return json.loads(payload)
                if op == 0x8:
                    raise ConnectionError("closed by server: %r" % payload)
        except socket.timeout:
            return None

    def close(self):
        try:
            send_frame(self.sock, 0x8, b"\x03\xe8")
        except OSError:
            pass
        self.sock.close()


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.log = EventLog(cls.srv)
        cls.ta = cls.srv.tenant("events-a")
        cls.tb = cls.srv.tenant("events-b")
        cls.ka = cls.srv.apikey(cls.ta, "viewer")
        cls.kb = cls.srv.apikey(cls.tb, "agent")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self, key, query="", headers=""):
        ws = WS(self.srv, key, query, headers)
        self.addCleanup(ws.close)
        self.assertEqual(ws.status, 101, ws.body)
        hello = ws.next()
        self.assertEqual(hello["type"], "hello", hello)
        return ws, hello

    def expect_events(self, ws, seqs, timeout=5.0):
        got = []
        for want in seqs:
            m = ws.next(timeout)
            self.assertIsNotNone(m, "event %d did not arrive (got %s)" % (want, [g["id"] for g in got]))
            self.assertEqual(m.get("id"), want, m)
            self.assertEqual(m["data"]["message_id"], "msg_%d" % want)
            got.append(m)
        return got

    def expect_quiet(self, ws, timeout=0.6):
        m = ws.next(timeout)
        self.assertIsNone(m, "unexpected message %s" % m)

    def test_events__live_within_a_second(self):
        ws, hello = self.connect(self.ka)
        self.assertEqual(hello["tenant_id"], self.ta)
        last = hello["last_event_id"]
        t0 = time.monotonic()
        seqs = self.log.append(self.ta)
        self.assertEqual(seqs, [last + 1])
        m = ws.next(timeout=2.0)
        elapsed = time.monotonic() - t0
        self.assertIsNotNone(m, "no event within 2 s")
        self.assertLess(elapsed, 1.0, "event took %.2f s" % elapsed)
        self.assertEqual(set(m), {"id", "type", "created_at", "data"})
        self.assertEqual(m["id"], last + 1)
        self.assertEqual(m["type"], "message.status")
        age = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - parse_time(m["created_at"])
        self.assertLess(abs(age.total_seconds()), 60)
        self.assertEqual(m["data"]["message_id"], "msg_%d" % (last + 1))
        self.assertEqual(m["data"]["status"], "delivered")
        self.assertIsNone(m["data"]["error"])
        self.expect_quiet(ws)

    def test_events__tenant_isolation(self):
        wa, ha = self.connect(self.ka)
        wb, hb = self.connect(self.kb)
        self.assertEqual(hb["tenant_id"], self.tb)
        sa = self.log.append(self.ta, 3)
        sb = self.log.append(self.tb, 1)
        self.expect_events(wa, sa)
        got = self.expect_events(wb, sb)
        self.assertEqual(got[0]["id"], hb["last_event_id"] + 1)
        self.expect_quiet(wb)
        self.expect_quiet(wa)

    def test_events__resume_with_last_event_id(self):
        ws, hello = self.connect(self.ka)
        base = hello["last_event_id"]
        ws.close()
        missed = self.log.append(self.ta, 5)
        self.assertEqual(missed, list(range(base + 1, base + 6)))
        ws2, hello2 = self.connect(self.ka, "?last_event_id=%d" % (base + 2))
        self.assertEqual(hello2["last_event_id"], base + 5)
        self.expect_events(ws2, missed[2:])
        live = self.log.append(self.ta, 2)
        self.expect_events(ws2, live)
        self.expect_quiet(ws2)

    def test_events__resume_with_last_event_id_header(self):
        ws, hello = self.connect(self.ka)
        base = hello["last_event_id"]
        ws.close()
        missed = self.log.append(self.ta, 3)
        ws2, hello2 = self.connect(self.ka, headers="Last-Event-ID: %d\r\n" % base)
        self.assertEqual(hello2["last_event_id"], base + 3)
        self.expect_events(ws2, missed)
        live = self.log.append(self.ta, 1)
        self.expect_events(ws2, live)
        self.expect_quiet(ws2)

    def test_events__without_resume_point_live_only(self):
        self.log.append(self.ta, 2)
        ws, hello = self.connect(self.ka)
        self.expect_quiet(ws)
        live = self.log.append(self.ta, 1)
        self.assertEqual(live, [hello["last_event_id"] + 1])
        self.expect_events(ws, live)

    def test_events__bad_last_event_id_is_400(self):
        for q in ("abc", "-1", "1.5", "", "12x", "99999999999999999999"):
            ws = WS(self.srv, self.ka, "?last_event_id=" + q)
            ws.sock.close()
            self.assertEqual(ws.status, 400, q)
            self.assertEqual(json.loads(ws.body)["error"]["code"], "invalid_request", q)
        ws = WS(self.srv, self.ka, headers="Last-Event-ID: soon\r\n")
        ws.sock.close()
        self.assertEqual(ws.status, 400)

    def test_events__unknown_event_id_resyncs(self):
        ws, hello = self.connect(self.ka)
        last = hello["last_event_id"]
        ws.close()
        ws2, hello2 = self.connect(self.ka, "?last_event_id=%d" % (last + 1000))
        self.assertEqual(hello2["last_event_id"], last)
        self.assertEqual(ws2.next(), {"type": "resync", "reason": "unknown_event_id"})
        live = self.log.append(self.ta, 1)
        self.expect_events(ws2, live)

    def test_events__burst_of_2000_complete_and_in_order(self):
        live, hello = self.connect(self.kb)
        base = hello["last_event_id"]
        seqs = self.log.append(self.tb, 2000)
        self.assertEqual(seqs, list(range(base + 1, base + 2001)))
        t0 = time.monotonic()
        self.expect_events(live, seqs, timeout=20.0)
        self.expect_quiet(live)
        # A client resuming from the middle gets exactly the rest, once.
        resumed, _ = self.connect(self.kb, "?last_event_id=%d" % (base + 1000))
        self.expect_events(resumed, seqs[1000:], timeout=20.0)
        self.expect_quiet(resumed)
        self.assertLess(time.monotonic() - t0, 30)

    def test_events__client_message_gets_error_frame(self):
        ws, _ = self.connect(self.ka)
        send_frame(ws.sock, 0x1, b'{"type":"subscribe"}')
        m = ws.next()
        self.assertEqual(m["type"], "error")
        self.assertNotIn("id", m)
        self.assertEqual(m["error"]["code"], "unsupported_message")


class EventsRetentionTest(unittest.TestCase):
    """SB_EVENT_RETENTION=30: the pump prunes every 3 s."""

    def test_events__resync_after_pruning(self):
        srv = Server(env={"SB_EVENT_RETENTION": "30"})
        try:
            srv.start()
            log = EventLog(srv)
            t = srv.tenant("events-prune")
            key = srv.apikey(t, "viewer")
            day_ago = int(time.time() * 1000) - 86400 * 1000
            self.assertEqual(log.append(t, 5, created_at_ms=day_ago), [1, 2, 3, 4, 5])
            self.assertEqual(log.append(t, 2), [6, 7])
            deadline = time.monotonic() + 15
            while log.first_seq(t) != 6 and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(log.first_seq(t), 6, "old events were not pruned")
            pruned = [json.loads(ln)["msg"] for ln in srv.read_log().splitlines() if "event log: pruned" in ln]
            self.assertEqual(sum(int(m.split()[3]) for m in pruned), 5, pruned)

            # Missed events 3..5 are gone: resync, then live only.
            ws = WS(srv, key, "?last_event_id=2")
            try:
                self.assertEqual(ws.status, 101)
                self.assertEqual(ws.next(), {"type": "hello", "tenant_id": t, "last_event_id": 7})
                self.assertEqual(ws.next(), {"type": "resync", "reason": "events_pruned"})
                self.assertIsNone(ws.next(0.6))
                self.assertEqual(log.append(t, 1), [8])
                self.assertEqual(ws.next()["id"], 8)
            finally:
                ws.close()

            # Seen up to 5: nothing it needs was pruned, so 6.. replay.
            ws = WS(srv, key, "?last_event_id=5")
            try:
                self.assertEqual(ws.next()["type"], "hello")
                self.assertEqual([ws.next()["id"] for _ in range(3)], [6, 7, 8])
                self.assertIsNone(ws.next(0.6))
            finally:
                ws.close()
        finally:
            srv.stop()


class EventsSlowClientTest(unittest.TestCase):
    def test_events__stalled_client_closed_1008(self):
        srv = Server()
        try:
            srv.start()
            log = EventLog(srv)
            t = srv.tenant("events-slow")
            key = srv.apikey(t, "viewer")
            ws = WS(srv, key, rcvbuf=4096)
            try:
                self.assertEqual(ws.status, 101)
                self.assertEqual(ws.next()["type"], "hello")
                # ~10 MB: more than the socket buffers and the queue's
                # limit hold, with the client reading nothing.
                log.append(t, 5000, pad=2000)
                deadline = time.monotonic() + 45
                while "client too slow" not in srv.read_log() and time.monotonic() < deadline:
                    time.sleep(0.5)
                self.assertIn("client too slow", srv.read_log())
                # What did arrive is a gapless prefix, and then the socket ends.
                ids = []
                ws.sock.settimeout(15)
                try:
                    while True:
                        op, payload = read_frame(ws.sock)
                        if op == 0x1:
                            ids.append(json.loads(payload)["id"])
                        elif op == 0x8:
                            break
                except (ConnectionError, OSError):
                    pass
                self.assertGreater(len(ids), 0)
                self.assertLess(len(ids), 5000)
                self.assertEqual(ids, list(range(1, len(ids) + 1)))
            finally:
                ws.sock.close()
            # The server is fine afterwards.
            ws = WS(srv, key)
            try:
                self.assertEqual(ws.next()["last_event_id"], 5000)
            finally:
                ws.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
