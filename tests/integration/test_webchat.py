"""
The website chat widget's public API (/widget/v1/...), end to end against
the real server on both backends.

Checked: account settings are validated (allowed_origins required, "*" and
paths refused); config and sessions need a known widget token (401) and an
allowed Origin (403 without CORS headers; a preflight is answered with the
widget headers, and checked against the account when the URL has ?token=); a visitor message needs the session secret, goes through the
inbound pipeline and appears in the inbox as an inbound message with origin
customer; a retry with the same client_id is one message; an agent reply
(POST /api/v1/messages to the session id on the webchat account) reaches the
widget by long-poll (held until it arrives, not polled) and by WebSocket, and
becomes delivered; a session with name and email is linked to the contact of
that e-mail address; history and cursors; rate limits per client IP and per
widget token answer 429 with Retry-After; provider webhooks are refused.
"""
import base64
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from harness import Server, wait_for  # noqa: E402
from test_http_websocket import read_frame, send_frame  # noqa: E402

ORIGIN = "https://shop.example.com"
OTHER = "https://evil.example.net"


class WidgetWS:
    """A minimal WebSocket client for /widget/v1/ws (token and session in the query, as browsers must)."""

    def __init__(self, srv, query, origin=ORIGIN):
        ws_key = base64.b64encode(os.urandom(16)).decode()
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        req = ("GET /widget/v1/ws?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n" % (query, ws_key, origin))
        s.sendall(req.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(1)
            if not chunk:
                break
            data += chunk
        self.status = int(data.split()[1])
        self.sock = s

    def next(self, timeout=5.0):
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


class WebchatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_WORKERS": "2", "SB_WIDGET_RATE_IP": "100000", "SB_WIDGET_BURST_IP": "100000",
                              "SB_WIDGET_RATE_TOKEN": "100000", "SB_WIDGET_BURST_TOKEN": "100000"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.acct, cls.token = wu.add_account(
            cls.srv, cls.tenant, "webchat",
            {"allowed_origins": ORIGIN + ", http://localhost:8080", "greeting": "Hi! How can we help?",
             "color": "#336699", "title": "Shop chat"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    # ------------------------------------------------------------ helpers

    def w(self, method, path, obj=None, session=None, token=None, origin=ORIGIN, raw=None):
        h = {}
        if token is not False:
            h["X-Widget-Token"] = token or self.token
        if origin:
            h["Origin"] = origin
        if session:
            h["X-Widget-Session"] = session
        if raw is not None:
            h["Content-Type"] = "application/json"
            st, hdrs, data = self.srv.request(method, path, body=raw, headers=h)
            return st, hdrs, json.loads(data) if data else None
        return self.srv.json_full(method, path, obj, headers=h)

    def start_session(self, body=None):
        st, hdrs, s = self.w("POST", "/widget/v1/sessions", body)
        self.assertEqual(st, 201, s)
        return s

    def inbox_message(self, session_id, text):
        """The inbound message with this text in the session's conversation (via the inbox API), or None."""
        st, convs = self.srv.json("GET", "/api/v1/conversations?channel=webchat", key=self.key)
        self.assertEqual(st, 200, convs)
        for c in convs["data"]:
            st, msgs = self.srv.json("GET", "/api/v1/conversations/%s/messages" % c["id"], key=self.key)
            for m in msgs["data"]:
                if m["address"] == session_id and m["body"] == text:
                    return c, m
        return None

    def reply(self, session_id, text):
        st, m = self.srv.json("POST", "/api/v1/messages", {"account_id": self.acct, "to": session_id, "text": text},
                              key=self.key)
        self.assertIn(st, (201, 202), m)
        return m

    # -------------------------------------------------------------- tests

    def test_account_settings_are_checked(self):
        for settings, why in (({"greeting": "hi"}, "allowed_origins"),
                              ({"allowed_origins": "*"}, "exact origins"),
                              ({"allowed_origins": "https://shop.example.com/chat"}, "no path"),
                              ({"allowed_origins": ORIGIN, "color": "blue"}, "#rrggbb")):
            st, body = self.srv.json("POST", "/api/v1/channels", {"provider": "webchat", "settings": settings},
                                     key=self.srv.apikey(self.tenant, "admin"))
            self.assertEqual(st, 400, body)
            self.assertIn(why, body["error"]["message"])
        st, chans = self.srv.json("GET", "/api/v1/channels", key=self.key)
        mine = [c for c in chans["data"] if c["id"] == self.acct][0]
        self.assertEqual((mine["provider"], mine["channel"]), ("webchat", "webchat"))
        self.assertTrue(mine["webhook_urls"]["widget_api"].endswith("/widget/v1"))

    def test_config_token_and_origin(self):
        st, hdrs, cfg = self.w("GET", "/widget/v1/config")
        self.assertEqual(st, 200, cfg)
        self.assertEqual(cfg["title"], "Shop chat")
        self.assertEqual(cfg["greeting"], "Hi! How can we help?")
        self.assertEqual(cfg["color"], "#336699")
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        # The second allowed origin works too.
        st, hdrs, _ = self.w("GET", "/widget/v1/config", origin="http://localhost:8080")
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["access-control-allow-origin"], "http://localhost:8080")
        # Unknown and missing tokens.
        st, hdrs, body = self.w("GET", "/widget/v1/config", token="nope-not-a-token")
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["code"], "invalid_widget_token")
        # The page may read this refusal (the widget says its token is wrong).
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        self.assertIn("Retry-After", hdrs["access-control-expose-headers"])
        st, _, body = self.w("GET", "/widget/v1/config", token=False)
        self.assertEqual(st, 401)
        # Another site, or no Origin at all: 403 and nothing a browser may read.
        for origin in (OTHER, None, "https://shop.example.com.evil.net"):
            st, hdrs, body = self.w("POST", "/widget/v1/sessions", {}, origin=origin)
            self.assertEqual(st, 403, body)
            self.assertIn(body["error"]["code"], ("origin_not_allowed", "origin_required"))
            self.assertNotIn("access-control-allow-origin", hdrs)

    def test_preflight(self):
        st, hdrs, _ = self.srv.request("OPTIONS", "/widget/v1/messages", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-widget-token, x-widget-session"})
        self.assertEqual(st, 204)
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        allowed = hdrs["access-control-allow-headers"].lower()
        for h in ("x-widget-token", "x-widget-session", "content-type"):
            self.assertIn(h, allowed)
        self.assertIn("POST", hdrs["access-control-allow-methods"])
        # With the token in the URL the preflight is checked against the account.
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        st, hdrs, _ = self.srv.request("OPTIONS", "/widget/v1/messages?token=" + self.token,
                                       headers=dict(pre, Origin=ORIGIN))
        self.assertEqual(st, 204)
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        st, hdrs, body = self.srv.request("OPTIONS", "/widget/v1/messages?token=" + self.token,
                                          headers=dict(pre, Origin=OTHER))
        self.assertEqual(st, 403)
        self.assertEqual(json.loads(body)["error"]["code"], "origin_not_allowed")
        self.assertNotIn("access-control-allow-origin", hdrs)
        st, hdrs, _ = self.srv.request("OPTIONS", "/widget/v1/messages?token=nope", headers=dict(pre, Origin=ORIGIN))
        self.assertEqual(st, 401)
        self.assertNotIn("access-control-allow-origin", hdrs)
        # The token in the URL works for the request itself too.
        st, hdrs, _ = self.srv.request("GET", "/widget/v1/config?token=" + self.token, headers={"Origin": ORIGIN})
        self.assertEqual(st, 200)
        # The API's own CORS allowlist does not apply to the widget routes and vice versa.
        st, hdrs, _ = self.srv.request("OPTIONS", "/api/v1/messages", headers={"Origin": ORIGIN})
        self.assertEqual(st, 204)
        self.assertNotIn("access-control-allow-origin", hdrs)

    def test_visitor_message_reaches_the_inbox(self):
        s = self.start_session()
        self.assertTrue(s["session_id"].startswith("wcs_"))
        self.assertFalse(s["contact_linked"])
        self.assertEqual(s["config"]["title"], "Shop chat")
        # No secret, a wrong one, or another account's token: 401.
        st, _, body = self.w("POST", "/widget/v1/messages", {"text": "hi"})
        self.assertEqual(st, 401, body)
        self.assertEqual(body["error"]["code"], "invalid_session")
        st, _, body = self.w("POST", "/widget/v1/messages", {"text": "hi"}, session=s["secret"] + "x")
        self.assertEqual(st, 401, body)
        # Bad content.
        for bad in ({"text": ""}, {"text": "x" * 4097}, {"text": "a\u0001b"}, {"nope": 1}):
            st, _, body = self.w("POST", "/widget/v1/messages", bad, session=s["secret"])
            self.assertEqual(st, 400, (bad, body))
        st, _, body = self.w("POST", "/widget/v1/messages", {"text": "hi", "client_id": "bad id!"},
                             session=s["secret"])
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["code"], "invalid_client_id")

        st, _, ack = self.w("POST", "/widget/v1/messages", {"text": "Do you ship to Spain?", "client_id": "c1"},
                            session=s["secret"])
        self.assertEqual(st, 202, ack)
        self.assertFalse(ack["duplicate"])
        # A retry of the same message is one message.
        st, _, again = self.w("POST", "/widget/v1/messages", {"text": "Do you ship to Spain?", "client_id": "c1"},
                              session=s["secret"])
        self.assertEqual(st, 202)
        self.assertTrue(again["duplicate"])
        self.assertEqual(again["ref"], ack["ref"])

        conv, msg = wait_for(lambda: self.inbox_message(s["session_id"], "Do you ship to Spain?"),
                             what="the visitor message in the inbox")
        self.assertEqual(msg["direction"], "inbound")
        self.assertEqual(msg["origin"], "customer")
        self.assertEqual(msg["channel"], "webchat")
        self.assertEqual(msg["status"], "received")
        self.assertEqual(conv["channel"], "webchat")
        self.assertEqual(conv["account_id"], self.acct)
        time.sleep(0.5)
        st, msgs = self.srv.json("GET", "/api/v1/conversations/%s/messages" % conv["id"], key=self.key)
        self.assertEqual(len([m for m in msgs["data"] if m["body"] == "Do you ship to Spain?"]), 1)
        # The widget's history shows it as the visitor's, with its ref.
        st, _, hist = self.w("GET", "/widget/v1/messages", session=s["secret"])
        self.assertEqual(st, 200, hist)
        self.assertEqual([(m["sender"], m["text"], m["ref"]) for m in hist["data"]],
                         [("visitor", "Do you ship to Spain?", ack["ref"])])
        # Provider-style webhooks for the account are refused.
        st, _, _ = self.srv.request("POST", "/webhooks/webchat/" + self.token, body=b"{}",
                                    headers={"Content-Type": "application/json"})
        self.assertEqual(st, 403)

    def test_reply_reaches_the_widget_by_long_poll(self):
        s = self.start_session()
        st, _, hist = self.w("GET", "/widget/v1/messages", session=s["secret"])
        self.assertEqual((st, hist["data"]), (200, []))
        cursor = hist["cursor"]
        self.w("POST", "/widget/v1/messages", {"text": "Is anyone there?"}, session=s["secret"])
        wait_for(lambda: self.inbox_message(s["session_id"], "Is anyone there?"), what="inbound message")

        # The visitor's own message comes first on the feed.
        st, _, feed = self.w("GET", "/widget/v1/messages?after=%s&wait=5" % cursor, session=s["secret"])
        self.assertEqual(st, 200, feed)
        self.assertEqual([m["text"] for m in feed["data"]], ["Is anyone there?"])
        cursor = feed["cursor"]

        # A long-poll with nothing new waits for the reply (held, not answered at once).
        result = {}

        def poll():
            t0 = time.monotonic()
            result["r"] = self.w("GET", "/widget/v1/messages?after=%s&wait=20" % cursor, session=s["secret"])
            result["t"] = time.monotonic() - t0

        th = threading.Thread(target=poll)
        th.start()
        time.sleep(1.0)
        self.assertTrue(th.is_alive(), "the long-poll answered before there was anything")
        reply = self.reply(s["session_id"], "Yes, how can I help?")
        th.join(15)
        self.assertFalse(th.is_alive())
        st, hdrs, feed = result["r"]
        self.assertEqual(st, 200, feed)
        self.assertLess(result["t"], 10)
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        self.assertEqual([(m["sender"], m["text"], m["id"]) for m in feed["data"]],
                         [("agent", "Yes, how can I help?", reply["id"])])
        # Handed to the widget: delivered.
        wait_for(lambda: self.srv.json("GET", "/api/v1/messages/" + reply["id"], key=self.key)[1]["status"]
                 == "delivered", what="the reply delivered")

        # An empty wait ends at its deadline with the same cursor back.
        t0 = time.monotonic()
        st, _, feed2 = self.w("GET", "/widget/v1/messages?after=%s&wait=1" % feed["cursor"], session=s["secret"])
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(feed2["data"], [])
        # Another session sees none of this conversation.
        other = self.start_session()
        st, _, feed3 = self.w("GET", "/widget/v1/messages?after=%s" % cursor, session=other["secret"])
        self.assertEqual(feed3["data"], [])
        st, _, hist3 = self.w("GET", "/widget/v1/messages", session=other["secret"])
        self.assertEqual(hist3["data"], [])
        # Bad cursor and wait.
        st, _, body = self.w("GET", "/widget/v1/messages?after=abc", session=s["secret"])
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_cursor"))
        st, _, body = self.w("GET", "/widget/v1/messages?after=1&wait=26", session=s["secret"])
        self.assertEqual(st, 400)
        # A cursor from the future (another database) gets the history back with resync.
        st, _, body = self.w("GET", "/widget/v1/messages?after=999999999", session=s["secret"])
        self.assertEqual(st, 200)
        self.assertTrue(body["resync"])
        self.assertEqual([m["text"] for m in body["data"]], ["Is anyone there?", "Yes, how can I help?"])

    def test_reply_reaches_the_widget_by_websocket(self):
        s = self.start_session({"name": "Ana"})
        q = "token=%s&session=%s" % (self.token, s["secret"])
        bad = WidgetWS(self.srv, q, origin=OTHER)
        self.assertEqual(bad.status, 403)
        bad.sock.close()
        bad = WidgetWS(self.srv, "token=%s&session=nope" % self.token)
        self.assertEqual(bad.status, 401)
        bad.sock.close()
        ws = WidgetWS(self.srv, q)
        self.assertEqual(ws.status, 101)
        try:
            hello = ws.next()
            self.assertEqual(hello["type"], "hello")
            self.assertEqual(hello["session_id"], s["session_id"])
            # A reply to another session does not reach this socket.
            other = self.start_session()
            self.reply(other["session_id"], "not for Ana")
            self.w("POST", "/widget/v1/messages", {"text": "Hello from Ana"}, session=s["secret"])
            frame = ws.next(10)
            self.assertEqual(frame["type"], "message", frame)
            self.assertEqual((frame["message"]["sender"], frame["message"]["text"]), ("visitor", "Hello from Ana"))
            reply = self.reply(s["session_id"], "Hello Ana!")
            frame = ws.next(10)
            self.assertEqual((frame["message"]["sender"], frame["message"]["text"], frame["message"]["id"]),
                             ("agent", "Hello Ana!", reply["id"]))
            self.assertIsNone(ws.next(1.0))
            wait_for(lambda: self.srv.json("GET", "/api/v1/messages/" + reply["id"], key=self.key)[1]["status"]
                     == "delivered", what="the reply delivered")
            # The visitor's name filled the contact.
            conv, _ = self.inbox_message(s["session_id"], "Hello from Ana")
            self.assertEqual(conv["contact"]["name"], "Ana")
            # Resuming from a cursor replays what came after it.
            ws2 = WidgetWS(self.srv, q + "&after=" + hello["cursor"])
            self.assertEqual(ws2.status, 101)
            ws2.next()
            texts = [ws2.next(5)["message"]["text"], ws2.next(5)["message"]["text"]]
            self.assertEqual(texts, ["Hello from Ana", "Hello Ana!"])
            ws2.close()
        finally:
            ws.close()

    def test_email_links_the_contact(self):
        # A contact with this e-mail exists from an earlier session.
        first = self.start_session({"name": "Bea", "email": "Bea@Example.com"})
        self.assertTrue(first["contact_linked"])
        second = self.start_session({"email": "bea@example.com"})
        self.assertTrue(second["contact_linked"])
        for s, text in ((first, "first visit"), (second, "second visit")):
            self.w("POST", "/widget/v1/messages", {"text": text}, session=s["secret"])
        c1, _ = wait_for(lambda: self.inbox_message(first["session_id"], "first visit"), what="first")
        c2, _ = wait_for(lambda: self.inbox_message(second["session_id"], "second visit"), what="second")
        self.assertEqual(c1["contact"]["id"], c2["contact"]["id"])
        st, contact = self.srv.json("GET", "/api/v1/contacts/" + c1["contact"]["id"], key=self.key)
        self.assertEqual(st, 200)
        self.assertEqual(contact["name"], "Bea")
        idents = {(i["kind"], i["address"]) for i in contact["identities"]}
        self.assertIn(("email", "bea@example.com"), idents)
        self.assertIn(("webchat", first["session_id"]), idents)
        self.assertIn(("webchat", second["session_id"]), idents)
        # Each session's widget still sees only its own messages.
        st, _, h1 = self.w("GET", "/widget/v1/messages", session=first["secret"])
        self.assertEqual([m["text"] for m in h1["data"]], ["first visit"])
        # A bad e-mail or name is refused.
        st, _, body = self.w("POST", "/widget/v1/sessions", {"email": "not-an-email"})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_email"))
        st, _, body = self.w("POST", "/widget/v1/sessions", {"name": "x" * 200})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_name"))
        st, _, body = self.w("POST", "/widget/v1/sessions", raw=b"{not json")
        self.assertEqual(st, 400)


class WebchatRateLimitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_WIDGET_RATE_IP": "60", "SB_WIDGET_BURST_IP": "5",
                              "SB_WIDGET_RATE_TOKEN": "60", "SB_WIDGET_BURST_TOKEN": "8"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        _, cls.token = wu.add_account(cls.srv, cls.tenant, "webchat", {"allowed_origins": ORIGIN})
        _, cls.token2 = wu.add_account(cls.srv, cls.tenant, "webchat", {"allowed_origins": ORIGIN})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def cfg(self, token, ip=None):
        h = {"X-Widget-Token": token, "Origin": ORIGIN}
        if ip:
            h["X-Forwarded-For"] = ip
        return self.srv.request("GET", "/widget/v1/config", headers=h)

    def test_per_ip_then_per_token(self):
        # One client IP: a burst of 5, then 429 with Retry-After (a token comes back each second).
        codes = [self.cfg(self.token)[0] for _ in range(5)]
        self.assertEqual(codes, [200] * 5)
        st, hdrs, body = self.cfg(self.token)
        self.assertEqual(st, 429)
        self.assertEqual(json.loads(body)["error"]["code"], "rate_limited")
        self.assertIn("address", json.loads(body)["error"]["message"])
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
        self.assertLessEqual(int(hdrs["retry-after"]), 2)
        self.assertEqual(hdrs["access-control-allow-origin"], ORIGIN)
        # Another widget token from the same IP is limited too (the IP bucket is shared).
        self.assertEqual(self.cfg(self.token2)[0], 429)
        time.sleep(1.2)
        self.assertEqual(self.cfg(self.token)[0], 200)


class WebchatTokenLimitTest(unittest.TestCase):
    """The per-token bucket, with a generous per-IP one (many clients of one site)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_WIDGET_RATE_IP": "100000", "SB_WIDGET_BURST_IP": "100000",
                              "SB_WIDGET_RATE_TOKEN": "60", "SB_WIDGET_BURST_TOKEN": "8"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        _, cls.token = wu.add_account(cls.srv, cls.tenant, "webchat", {"allowed_origins": ORIGIN})
        _, cls.token2 = wu.add_account(cls.srv, cls.tenant, "webchat", {"allowed_origins": ORIGIN})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def cfg(self, token):
        return self.srv.request("GET", "/widget/v1/config", headers={"X-Widget-Token": token, "Origin": ORIGIN})

    def test_per_token(self):
        codes = [self.cfg(self.token)[0] for _ in range(8)]
        self.assertEqual(codes, [200] * 8)
        st, hdrs, body = self.cfg(self.token)
        self.assertEqual(st, 429)
        self.assertIn("widget token", json.loads(body)["error"]["message"])
        self.assertGreaterEqual(int(hdrs["retry-after"]), 1)
        # Another website chat is not affected.
        self.assertEqual(self.cfg(self.token2)[0], 200)
        # A session start is limited the same way, before its body is read.
        st, hdrs, _ = self.srv.request("POST", "/widget/v1/sessions", body=b"{}", headers={
            "X-Widget-Token": self.token, "Origin": ORIGIN, "Content-Type": "application/json"})
        self.assertEqual(st, 429)
        self.assertIn("retry-after", hdrs)


if __name__ == "__main__":
    unittest.main()
