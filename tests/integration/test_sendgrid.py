"""
SendGrid end to end: the real server and its workers against
tests/fakes/fake_sendgrid.py, which speaks Mail Send v3, signs Event Webhook
posts with its own ECDSA P-256 key pair and posts Inbound Parse forms.

Checked, on the backend under test:
- a send reaches Mail Send with the recipient, subject, both bodies and the
  account's sender; the 202's X-Message-Id becomes the provider id and the
  message "sent"; signed processed + delivered events make it "delivered";
- a signed event is stored once (the answer counts it as stored); the same
  post again changes nothing (counted as a duplicate); a tampered or missing
  signature is refused 403 with nothing written;
- a bounce fails the message, suppresses the address, and the next send to
  it is refused 403 "suppressed" before anything is queued; a bounce for a
  message this server never sent still suppresses the address;
- Mail Send 400 fails the message at once; 500 and 429 are retried until the
  provider accepts;
- Inbound Parse (parsed fields and Send Raw) records the mail with its
  subject, HTML part and Message-ID, once however often it is posted; a
  wrong or missing secret is refused; a reply whose In-Reply-To names a
  message of a conversation joins that conversation even from another
  address, while an unrelated mail from that address starts its own.
"""
import json
import os
import sys
import time
import unittest
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

API_KEY = "SG.it-key-5d1e9c"
FROM = "support@shop.example"


def ctl(fake, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(fake.base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


class SendGridTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sg = Fake("fake_sendgrid.py", "--api-key", API_KEY)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_SENDGRID_API_BASE": cls.sg.base,
            "SB_PROVIDER_TIMEOUT_MS": "2000",
            "SB_SEND_MAX_ATTEMPTS": "6",
            "SB_SEND_RETRY_BASE_MS": "100",
            "SB_SEND_RETRY_MAX_MS": "1500",
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        pub = ctl(cls.sg, "/_fake/public_key")["public_key"]
        settings = {"api_key": API_KEY, "from_email": FROM, "from_name": "Shop", "event_public_key": pub}
        acct = cls.srv.cli_json("channel", "add", "--tenant", cls.tenant, "--provider", "sendgrid", "--name", "mail",
                                "--set-stdin", "--json", input="".join("%s=%s\n" % kv for kv in settings.items()))
        cls.acct_id = acct["id"]
        cls.path = "/webhooks/sendgrid/" + acct["account_key"]
        urls = acct["webhook_urls"]
        assert urls["event_webhook"] == cls.public + cls.path, urls
        assert urls["inbound_parse"].startswith(cls.public + cls.path + "?secret="), urls
        cls.inbound_url = urls["inbound_parse"]
        # Listings never show the secret.
        st, listing = cls.srv.json("GET", "/api/v1/channels", key=cls.srv.apikey(cls.tenant, "admin"))
        assert st == 200, listing
        assert "secret=" not in json.dumps(listing), listing

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sg.stop()

    def setUp(self):
        self.sg.mode(mode="ok", callbacks=[], webhook_url=None)

    # ------------------------------------------------------------ helpers

    def addr(self):
        return "cust-%s@example.com" % uuid.uuid4().hex[:10]

    def send(self, to, **extra):
        body = {"account_id": self.acct_id, "to": to, "subject": "Your order", "text": "Your order shipped", **extra}
        return self.srv.json("POST", "/api/v1/messages", body, key=self.key)

    def message(self, mid):
        st, m = self.srv.json("GET", "/api/v1/messages/" + mid, key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def wait_status(self, mid, status, timeout=20.0):
        return wait_for(lambda: (lambda m: m if m["status"] == status else None)(self.message(mid)), timeout,
                        "message %s to become %s" % (mid, status))

    def sends_to(self, to):
        return [r for r in self.sg.requests()
                if ((r.get("json") or {}).get("personalizations") or [{}])[0].get("to", [{}])[0].get("email") == to]

    def events(self, events, signature=None):
        spec = {"url": self.public + self.path, "events": events}
        if signature:
            spec["signature"] = signature
        r = ctl(self.sg, "/_fake/events", spec)
        return r["status"], (json.loads(r["body"]) if r["body"] else None)

    def event(self, kind, to, xmid, **extra):
        ev = {"email": to, "timestamp": int(time.time()), "event": kind, "sg_event_id": "ev-" + uuid.uuid4().hex,
              "sg_message_id": xmid + ".filterdrecv-p3las1-5bf6f8d7c-8lvsp-18-5F2C4A1B-1B.0",
              "smtp-id": "<%s@ismtpd0001p1las1.sendgrid.net>" % xmid, "category": []}
        ev.update(extra)
        return ev

    def sent_message(self, to):
        st, m = self.send(to, subject="Order 42", html="<p>Your order shipped</p>")
        self.assertEqual(st, 202, m)
        return self.wait_status(m["id"], "sent")

    def inbound(self, **spec):
        spec.setdefault("url", self.inbound_url)
        spec.setdefault("to", "Shop <%s>" % FROM)
        r = ctl(self.sg, "/_fake/inbound", spec)
        return r["status"], r["body"]

    def inbound_rows(self, rfc_id):
        return wu.sql(self.srv, "SELECT id, conversation_id, address, subject, html, body FROM messages"
                      " WHERE direction = 'inbound' AND rfc_message_id = ?", (rfc_id,))

    # -------------------------------------------------------------- tests

    def test_sendgrid__account_settings(self):
        admin = self.srv.apikey(self.tenant, "admin")
        good = {"api_key": API_KEY, "from_email": "Sales@Shop.Example"}
        for bad, what in (({"api_key": API_KEY}, "from_email"),
                          ({"from_email": FROM}, "api_key"),
                          (dict(good, from_email="not an address"), "from_email"),
                          (dict(good, event_public_key="bm90IGEga2V5"), "event_public_key"),
                          (dict(good, inbound_secret="short"), "inbound_secret"),
                          (dict(good, reply_to="x@example.com"), "reply_to")):
            st, err = self.srv.json("POST", "/api/v1/channels", {"provider": "sendgrid", "settings": bad}, key=admin)
            self.assertEqual(st, 400, err)
            self.assertEqual(err["error"]["code"], "invalid_channel_settings")
            self.assertIn(what, err["error"]["message"])
        # A secret of one's own is kept and shown once; the address is normalised.
        st, acct = self.srv.json("POST", "/api/v1/channels", {"provider": "sendgrid", "settings": dict(
            good, inbound_secret="my-own-inbound-secret-42")}, key=admin)
        self.assertEqual(st, 201, acct)
        self.assertEqual((acct["channel"], acct["address"]), ("email", "sales@shop.example"))
        self.assertTrue(acct["webhook_urls"]["inbound_parse"].endswith("?secret=my-own-inbound-secret-42"))
        st, _ = self.srv.json("DELETE", "/api/v1/channels/" + acct["id"], key=admin)
        self.assertIn(st, (200, 204))

    def test_sendgrid__send_and_delivered(self):
        to = self.addr()
        self.sg.mode(callbacks=["processed", "delivered"], webhook_url=self.public + self.path)
        st, m = self.send(to, subject="Order 42", html="<p>Your order shipped</p>")
        self.assertEqual(st, 202, m)
        done = self.wait_status(m["id"], "delivered")
        self.assertIsNotNone(done["sent_at"])
        self.assertIsNotNone(done["delivered_at"])
        reqs = self.sends_to(to)
        self.assertEqual(len(reqs), 1, reqs)
        body = reqs[0]["json"]
        self.assertEqual(reqs[0]["authorization"], "Bearer " + API_KEY)
        self.assertEqual(body["from"], {"email": FROM, "name": "Shop"})
        self.assertEqual(body["subject"], "Order 42")
        self.assertEqual(body["content"], [{"type": "text/plain", "value": "Your order shipped"},
                                           {"type": "text/html", "value": "<p>Your order shipped</p>"}])
        self.assertEqual(body["custom_args"], {"sb_message_id": m["id"]})
        self.assertEqual(done["provider_message_id"], reqs[0]["x_message_id"])

    def test_sendgrid__event_once_duplicate_and_signatures(self):
        to = self.addr()
        sent = self.sent_message(to)
        evs = [self.event("delivered", to, sent["provider_message_id"], response="250 OK")]
        before = wu.count(self.srv, "SELECT count(*) FROM inbound_events")
        # Refused: tampered and missing signatures write nothing.
        for sig, slug in (("bad", "bad_signature"), ("none", "missing_signature")):
            st, body = self.events(evs, signature=sig)
            self.assertEqual(st, 403, body)
            self.assertEqual(body["error"]["code"], slug)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM inbound_events"), before)
        self.assertEqual(self.message(sent["id"])["status"], "sent")
        # Accepted once.
        st, body = self.events(evs)
        self.assertEqual((st, body), (200, {"received": 1, "stored": 1, "duplicates": 0}))
        self.wait_status(sent["id"], "delivered")
        # The same post again: a duplicate, no effect.
        st, body = self.events(evs)
        self.assertEqual((st, body), (200, {"received": 1, "stored": 0, "duplicates": 1}))
        time.sleep(0.5)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM inbound_events"), before + 1)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM message_events WHERE message_id = ? AND"
                                            " status = 'delivered'", (sent["id"],)), 1)
        # History-only events are kept without moving the message; open reads it.
        st, body = self.events([self.event("deferred", to, sent["provider_message_id"], response="421 later"),
                                self.event("open", to, sent["provider_message_id"])])
        self.assertEqual((st, body["stored"]), (200, 2))
        self.wait_status(sent["id"], "read")

    def test_sendgrid__bounce_suppresses_and_refuses_next_send(self):
        to = self.addr()
        sent = self.sent_message(to)
        st, body = self.events([self.event("bounce", to, sent["provider_message_id"], type="bounce", status="5.1.1",
                                           reason="550 5.1.1 The email account does not exist.")])
        self.assertEqual((st, body["stored"]), (200, 1))
        failed = self.wait_status(sent["id"], "failed")
        self.assertEqual(failed["error"]["code"], "bounce")
        self.assertIn("5.1.1", failed["error"]["text"])
        rows = wu.sql(self.srv, "SELECT source, channel FROM suppressions WHERE address = ?", (to,))
        self.assertEqual([list(r) for r in rows], [["bounce", "email"]])
        queued = wu.count(self.srv, "SELECT count(*) FROM messages WHERE address = ?", (to,))
        st, err = self.send(to)
        self.assertEqual(st, 403, err)
        self.assertEqual(err["error"]["code"], "suppressed")
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM messages WHERE address = ?", (to,)), queued)
        self.assertEqual(len(self.sends_to(to)), 1)

    def test_sendgrid__address_events_without_our_message(self):
        # A spam report and an unsubscribe for mail this server never sent
        # still suppress their addresses.
        a, b = self.addr(), self.addr()
        st, body = self.events([self.event("spamreport", a, "UnknownXmid1"),
                                self.event("unsubscribe", b, "UnknownXmid2")])
        self.assertEqual((st, body["stored"]), (200, 2))
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM suppressions WHERE address IN (?, ?)", (a, b)) == 2,
                 20, "both suppressions")
        rows = dict((r[0], r[1]) for r in wu.sql(self.srv, "SELECT address, source FROM suppressions WHERE address"
                                                           " IN (?, ?)", (a, b)))
        self.assertEqual(rows, {a: "complaint", b: "unsubscribe_link"})
        for to in (a, b):
            st, err = self.send(to)
            self.assertEqual((st, err["error"]["code"]), (403, "suppressed"))
        # Without sg_message_id (an address-level event): the address only.
        c = self.addr()
        ev = self.event("unsubscribe", c, "x")
        del ev["sg_message_id"]
        st, body = self.events([ev, dict(self.event("delivered", c, "x"), sg_message_id=None)])
        self.assertEqual((st, body["stored"]), (200, 2), body)
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM suppressions WHERE address = ?", (c,)) == 1, 20,
                 "the suppression of an event without a message id")
        time.sleep(1.0)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process' AND"
                                            " state = 'dead'"), 0)

    def test_sendgrid__send_failures(self):
        # 400: failed at once, one request.
        to = self.addr()
        self.sg.mode(mode="400")
        st, m = self.send(to)
        self.assertEqual(st, 202, m)
        failed = self.wait_status(m["id"], "failed")
        self.assertIn("Does not contain a valid address", failed["error"]["text"])
        time.sleep(0.5)
        self.assertEqual(len(self.sends_to(to)), 1)
        # 500, then 429: retried until the provider takes it.
        for mode in ("500", "429"):
            to = self.addr()
            self.sg.mode(mode=mode, retry_after=1)
            st, m = self.send(to)
            self.assertEqual(st, 202, m)
            wait_for(lambda: len(self.sends_to(to)) >= 2, 20, "a retry after %s" % mode)
            self.assertEqual(self.message(m["id"])["status"], "queued")
            self.sg.mode(mode="ok")
            self.wait_status(m["id"], "sent", 30)

    def test_sendgrid__inbound_parse(self):
        frm = self.addr()
        mid = "<in-%s@mail.example.com>" % uuid.uuid4().hex
        spec = dict(**{"from": "Jo Doe <%s>" % frm}, subject="Question", text="Is it in stock?",
                    html="<p>Is it in stock?</p>", message_id=mid,
                    attachments=[{"filename": "photo.png", "content_type": "image/png", "content": "PNG"}])
        st, body = self.inbound(**spec)
        self.assertEqual(st, 200, body)
        rows = wait_for(lambda: self.inbound_rows(mid), 20, "the inbound mail")
        self.assertEqual(rows[0][2:], [frm, "Question", "<p>Is it in stock?</p>", "Is it in stock?"])
        # Delivered again: nothing new.
        st, body = self.inbound(**spec)
        self.assertEqual(st, 200, body)
        time.sleep(0.5)
        self.assertEqual(len(self.inbound_rows(mid)), 1)
        # The contact got its name from the From header.
        msg = self.message(rows[0][0])
        self.assertEqual(msg["channel"], "email")
        # Wrong and missing secrets are refused, nothing written.
        before = wu.count(self.srv, "SELECT count(*) FROM inbound_events")
        spec["message_id"] = "<other-%s@mail.example.com>" % uuid.uuid4().hex
        st, body = self.inbound(url=self.inbound_url[:-1] + ("x" if self.inbound_url[-1] != "x" else "y"), **spec)
        self.assertEqual(st, 403, body)
        st, body = self.inbound(url=self.public + self.path, **spec)
        self.assertEqual(st, 403, body)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM inbound_events"), before)
        # Send Raw works the same.
        raw_id = "<raw-%s@mail.example.com>" % uuid.uuid4().hex
        st, body = self.inbound(**{"from": frm}, subject="Raw", text="raw body", message_id=raw_id, raw=True)
        self.assertEqual(st, 200, body)
        rows = wait_for(lambda: self.inbound_rows(raw_id), 20, "the raw inbound mail")
        self.assertEqual((rows[0][2], rows[0][3]), (frm, "Raw"))

    def test_sendgrid__reply_threads_into_its_conversation(self):
        a, b = self.addr(), self.addr()
        first = "<t1-%s@mail.example.com>" % uuid.uuid4().hex
        st, _ = self.inbound(**{"from": a}, subject="Refund", text="Please refund order 9", message_id=first)
        self.assertEqual(st, 200)
        conv = wait_for(lambda: self.inbound_rows(first), 20, "the first mail")[0][1]
        # A colleague in copy answers from another address: same conversation.
        reply = "<t2-%s@mail.example.com>" % uuid.uuid4().hex
        st, _ = self.inbound(**{"from": b}, subject="Re: Refund", text="Adding my colleague", message_id=reply,
                             in_reply_to=first, references=first)
        self.assertEqual(st, 200)
        rows = wait_for(lambda: self.inbound_rows(reply), 20, "the reply")
        self.assertEqual((rows[0][1], rows[0][2]), (conv, b))
        # References alone (nearest last) thread too.
        ref_only = "<t3-%s@mail.example.com>" % uuid.uuid4().hex
        st, _ = self.inbound(**{"from": b}, subject="Re: Refund", text="and again", message_id=ref_only,
                             references="<unknown@elsewhere> " + reply)
        self.assertEqual(st, 200)
        self.assertEqual(wait_for(lambda: self.inbound_rows(ref_only), 20, "the third")[0][1], conv)
        # A new mail from b without threading headers: b's own conversation.
        own = "<t4-%s@mail.example.com>" % uuid.uuid4().hex
        st, _ = self.inbound(**{"from": b}, subject="Another thing", text="new topic", message_id=own)
        self.assertEqual(st, 200)
        self.assertNotEqual(wait_for(lambda: self.inbound_rows(own), 20, "the new mail")[0][1], conv)


if __name__ == "__main__":
    unittest.main(verbosity=2)
