"""
The messaging core end to end: the real server, its job workers and the
fake providers (tests/fakes/fake_twilio.py, fake_meta.py) speaking Twilio's
and Meta's wire formats, with webhooks signed as the providers sign them.

Checked, on the backend under test:
- POST /api/v1/messages queues (202), a worker sends through the provider and
  the message becomes "sent"; the same Idempotency-Key returns the same
  message (200) and the provider sees one request; status callbacks signed by
  the fake move it to delivered;
- out-of-order and repeated status callbacks leave the right final state;
- an inbound SMS creates one contact, conversation and message however often
  it is delivered; STOP opts the sender out (a send is refused, 403
  opted_out), START opts back in; HELP is answered with the tenant's text;
- a provider 500 or a timeout retries with backoff up to SB_SEND_MAX_ATTEMPTS
  and ends in the dead-letter queue with the message still queued; retrying
  it from the admin API sends it exactly once;
- a 429 waits for its Retry-After before the next attempt;
- WhatsApp: free-form outside the 24-hour window is refused (403
  outside_window) while an approved template is sent; an unapproved template
  is refused, an unknown one is 400; an inbound message opens the window;
- realtime: message.created and message.status arrive on the WebSocket;
- two `switchboard worker` processes sharing the queue send every message
  exactly once.
"""
import json
import os
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake, meta_template  # noqa: E402
from harness import SB_BIN, Server, wait_for  # noqa: E402
from test_events import WS  # noqa: E402

SID = "AC" + "7" * 32
TOKEN = "twilio-token-msgs-1b2c"
FROM = "+14155550100"
WA_TOKEN = "wa-access-msgs-9f8e"
APP_SECRET = "meta-app-secret-msgs-77"
PNID = "106540352242922"
WABA = "102290129340398"
MAX_ATTEMPTS = 4
RETRY_BASE_MS = 100


class MessagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--app-secret", APP_SECRET, "--waba-id", WABA)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_TWILIO_API_BASE": cls.twilio.base,
            "SB_GRAPH_API_BASE": cls.meta.base + "/v21.0",
            "SB_PROVIDER_TIMEOUT_MS": "800",
            "SB_SEND_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "SB_SEND_RETRY_BASE_MS": str(RETRY_BASE_MS),
            "SB_SEND_RETRY_MAX_MS": "2000",
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.admin = cls.srv.apikey(cls.tenant, "admin")
        cls.sms_id, cls.sms_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                                 {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.meta.mode(templates=[
            meta_template("order_update", "en_US", "APPROVED", "Hi {{1}}, order {{2}} shipped."),
            meta_template("promo_draft", "en_US", "PENDING", "Deals for {{1}}"),
        ])
        cls.wa_id, cls.wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                               {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                                "app_secret": APP_SECRET, "verify_token": "verify-msgs",
                                                "waba_id": WABA})
        cls.sms_path = "/webhooks/twilio/" + cls.sms_key
        cls.wa_path = "/webhooks/whatsapp/" + cls.wa_key

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.twilio.stop()
        cls.meta.stop()

    def setUp(self):
        self.twilio.mode(mode="ok", callbacks=[])
        self.meta.mode(mode="ok", callbacks=[])

    # ------------------------------------------------------------ helpers

    def send(self, body, key=None, idem=None):
        h = {"Idempotency-Key": idem} if idem else None
        return self.srv.json("POST", "/api/v1/messages", body, key=key or self.key, headers=h)

    def message(self, mid):
        st, m = self.srv.json("GET", "/api/v1/messages/" + mid, key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def wait_status(self, mid, status, timeout=20.0):
        return wait_for(lambda: (lambda m: m if m["status"] == status else None)(self.message(mid)), timeout,
                        "message %s to become %s" % (mid, status))

    def sends_to(self, fake, number):
        """The provider requests that sent to number."""
        out = []
        for r in fake.requests():
            form = r.get("form") or {}
            body = r.get("json") or {}
            if form.get("To") == number or str(body.get("to", "")).lstrip("+") == number.lstrip("+"):
                out.append(r)
        return out

    def inbound_sms(self, frm, text, sid=None):
        sid = sid or "SM" + uuid.uuid4().hex
        st, _, body = wu.twilio_post(self.srv, self.sms_path, wu.twilio_inbound(sid, text, frm=frm, to=FROM),
                                     TOKEN, self.public)
        self.assertEqual(st, 200, body)
        return sid

    def wait_inbound(self, frm, text):
        """Until the inbound message from frm with text is processed; returns it."""
        def find():
            rows = wu.sql(self.srv, "SELECT id FROM messages WHERE direction = 'inbound' AND address = ? AND body = ?",
                          (frm, text))
            return rows[0][0] if rows else None
        return wait_for(find, 20, "inbound %r from %s" % (text, frm))

    def number(self):
        return "+1415555%04d" % (uuid.uuid4().int % 10000)

    # -------------------------------------------------------------- tests

    def test_messages__send_idempotent_and_delivered(self):
        self.twilio.mode(callbacks=["sent", "delivered"])
        to = self.number()
        idem = "order-" + uuid.uuid4().hex
        st, m = self.send({"account_id": self.sms_id, "to": to, "text": "Your order shipped"}, idem=idem)
        self.assertEqual(st, 202, m)
        self.assertEqual((m["status"], m["direction"], m["address"], m["channel"]), ("queued", "outbound", to, "sms"))
        st, again = self.send({"account_id": self.sms_id, "to": to, "text": "Your order shipped"}, idem=idem)
        self.assertEqual(st, 200, again)
        self.assertEqual(again["id"], m["id"])
        done = self.wait_status(m["id"], "delivered")
        self.assertIsNotNone(done["sent_at"])
        self.assertIsNotNone(done["delivered_at"])
        self.assertTrue(done["provider_message_id"].startswith("SM"))
        time.sleep(0.3)
        reqs = self.sends_to(self.twilio, to)
        self.assertEqual(len(reqs), 1, reqs)
        form = reqs[0]["form"]
        self.assertEqual((form["From"], form["Body"]), (FROM, "Your order shipped"))
        self.assertEqual(form["StatusCallback"], self.public + self.sms_path)
        # The same key after the send: still the same message, still one request.
        st, again = self.send({"account_id": self.sms_id, "to": to, "text": "something else"}, idem=idem)
        self.assertEqual((st, again["id"], again["status"]), (200, m["id"], "delivered"))
        self.assertEqual(len(self.sends_to(self.twilio, to)), 1)
        # The callbacks were signed by the fake and accepted.
        results = [c["result"] for c in json.loads(self.srv_get(self.twilio.base + "/_fake/callbacks"))
                   if c["sid"] == done["provider_message_id"]]
        self.assertEqual(results, [200, 200])

    def srv_get(self, url):
        import urllib.request
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read()

    def test_messages__out_of_order_callbacks(self):
        to = self.number()
        st, m = self.send({"account_id": self.sms_id, "to": to, "text": "order 7"})
        self.assertEqual(st, 202, m)
        sent = self.wait_status(m["id"], "sent")
        psid = sent["provider_message_id"]
        for status in ("delivered", "sent", "queued", "delivered", "failed"):
            st, _, body = wu.twilio_post(self.srv, self.sms_path, wu.twilio_status(psid, status,
                                         "30003" if status == "failed" else None), TOKEN, self.public)
            self.assertEqual(st, 200, body)
        # The last one (failed after delivered) must not move it; all are processed.
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM message_events WHERE message_id = ?",
                                  (m["id"],)) >= 5, 20, "every callback processed")
        final = self.message(m["id"])
        self.assertEqual(final["status"], "delivered")
        self.assertIsNone(final["error"])
        self.assertIsNotNone(final["sent_at"])
        self.assertIsNone(final["failed_at"])

    def test_messages__inbound_once_and_unknown_status_is_200(self):
        frm = self.number()
        sid = self.inbound_sms(frm, "hello there")
        self.inbound_sms(frm, "hello there", sid=sid)  # Twilio's redelivery
        mid = self.wait_inbound(frm, "hello there")
        time.sleep(0.5)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM messages WHERE provider_message_id = ?", (sid,)), 1)
        m = self.message(mid)
        st, conv = self.srv.json("GET", "/api/v1/conversations/" + m["conversation_id"], key=self.key)
        self.assertEqual(st, 200, conv)
        self.assertEqual((conv["unread"], conv["status"]), (1, "open"))
        # A status callback for a message this server never sent: 200, nothing else.
        st, _, _ = wu.twilio_post(self.srv, self.sms_path, wu.twilio_status("SM" + uuid.uuid4().hex, "delivered"),
                                  TOKEN, self.public)
        self.assertEqual(st, 200)

    def test_messages__stop_refuses_until_start(self):
        frm = self.number()
        self.inbound_sms(frm, "hi")
        self.wait_inbound(frm, "hi")
        self.inbound_sms(frm, "Stop")
        self.wait_inbound(frm, "Stop")
        st, body = self.send({"account_id": self.sms_id, "to": frm, "text": "promo"})
        self.assertEqual(st, 403, body)
        self.assertEqual(body["error"]["code"], "opted_out")
        self.assertEqual(self.sends_to(self.twilio, frm), [])
        self.inbound_sms(frm, "START")
        self.wait_inbound(frm, "START")
        st, m = self.send({"account_id": self.sms_id, "to": frm, "text": "welcome back"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")

    def test_messages__help_answered_with_tenant_text(self):
        st, body = self.srv.json("PATCH", "/api/v1/settings", {"help_text": "Acme support: call 555-0100."},
                                 key=self.admin)
        self.assertEqual(st, 200, body)
        frm = self.number()
        self.inbound_sms(frm, "help")
        reqs = wait_for(lambda: self.sends_to(self.twilio, frm), 20, "the HELP reply")
        self.assertEqual(reqs[0]["form"]["Body"], "Acme support: call 555-0100.")
        time.sleep(0.3)
        self.assertEqual(len(self.sends_to(self.twilio, frm)), 1)

    def dead_jobs(self):
        st, body = self.srv.json("GET", "/api/v1/jobs/dead", key=self.admin)
        self.assertEqual(st, 200, body)
        return body["data"]

    def send_until_dead(self, mode):
        to = self.number()
        self.twilio.mode(mode=mode, delay=2.0)
        st, m = self.send({"account_id": self.sms_id, "to": to, "text": "retry me"})
        self.assertEqual(st, 202, m)
        job = wait_for(lambda: next((j for j in self.dead_jobs() if j["type"] == "outbound.send"
                                     and j["attempts"] == MAX_ATTEMPTS
                                     and len(self.sends_to(self.twilio, to)) == MAX_ATTEMPTS), None),
                       40, "the send to go dead after %d attempts" % MAX_ATTEMPTS)
        self.assertEqual(self.message(m["id"])["status"], "queued")
        return to, m, job

    def test_messages__provider_500_backs_off_to_dead_letter_then_retry_sends_once(self):
        to, m, job = self.send_until_dead("500")
        self.assertIn("provider_error", job["last_error"])
        times = [r["at"] for r in self.sends_to(self.twilio, to)]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Full jitter: gap n is within [0, base * 2^(n-1)] (plus scheduling slack).
        for n, gap in enumerate(gaps, 1):
            self.assertLessEqual(gap, RETRY_BASE_MS * 2 ** (n - 1) / 1000.0 + 1.0, gaps)
        self.twilio.mode(mode="ok")
        st, body = self.srv.json("POST", "/api/v1/jobs/%s/retry" % job["id"], key=self.admin)
        self.assertEqual(st, 200, body)
        self.wait_status(m["id"], "sent")
        time.sleep(0.5)
        self.assertEqual(len(self.sends_to(self.twilio, to)), MAX_ATTEMPTS + 1)

    def test_messages__timeout_retries_to_dead_letter(self):
        to, m, job = self.send_until_dead("slow")
        self.assertIn("provider_timeout", job["last_error"])

    def test_messages__429_waits_for_retry_after(self):
        to = self.number()
        self.twilio.mode(mode="429", retry_after=2)
        st, m = self.send({"account_id": self.sms_id, "to": to, "text": "rate limited"})
        self.assertEqual(st, 202, m)
        wait_for(lambda: self.sends_to(self.twilio, to), 20, "the first attempt")
        self.twilio.mode(mode="ok")
        self.wait_status(m["id"], "sent", 30)
        times = [r["at"] for r in self.sends_to(self.twilio, to)]
        self.assertEqual(len(times), 2, times)
        self.assertGreaterEqual(times[1] - times[0], 1.9)

    def test_messages__whatsapp_window_and_templates(self):
        wa = "+1650555%04d" % (uuid.uuid4().int % 10000)
        st, body = self.send({"account_id": self.wa_id, "to": wa, "text": "hello"})
        self.assertEqual((st, body["error"]["code"]), (403, "outside_window"), body)
        st, body = self.send({"account_id": self.wa_id, "to": wa,
                              "template": {"name": "promo_draft", "language": "en_US", "variables": ["Ada"]}})
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        st, body = self.send({"account_id": self.wa_id, "to": wa, "template": {"name": "nope"}})
        self.assertEqual((st, body["error"]["code"]), (400, "template_not_found"), body)
        st, m = self.send({"account_id": self.wa_id, "to": wa,
                           "template": {"name": "order_update", "language": "en_US", "variables": ["Ada", "42"]}})
        self.assertEqual(st, 202, m)
        self.assertEqual(m["type"], "template")
        self.wait_status(m["id"], "sent")
        req = self.sends_to(self.meta, wa)[0]["json"]
        self.assertEqual(req["type"], "template")
        self.assertEqual(req["template"]["name"], "order_update")
        self.assertEqual([p["text"] for p in req["template"]["components"][0]["parameters"]], ["Ada", "42"])
        # The customer writes: the window opens for free-form replies.
        wamid = "wamid." + uuid.uuid4().hex
        st, _, body = wu.meta_post(self.srv, self.wa_path,
                                   wu.wa_payload(PNID, messages=[wu.wa_text(wamid, wa.lstrip("+"), "where is it?")],
                                                 contacts=[{"profile": {"name": "Ada"}, "wa_id": wa.lstrip("+")}]),
                                   APP_SECRET)
        self.assertEqual(st, 200, body)
        self.wait_inbound(wa, "where is it?")
        st, m = self.send({"account_id": self.wa_id, "to": wa, "text": "on its way"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")

    def test_messages__realtime_events(self):
        ws = WS(self.srv, self.key)
        self.assertEqual(ws.status, 101)
        hello = ws.next()
        self.assertEqual(hello["type"], "hello")
        frm = self.number()
        self.inbound_sms(frm, "realtime please")
        ev = ws.next(10)
        self.assertEqual(ev["type"], "message.created", ev)
        self.assertEqual((ev["data"]["direction"], ev["data"]["body"], ev["data"]["address"]),
                         ("inbound", "realtime please", frm))
        st, m = self.send({"account_id": self.sms_id, "to": frm, "text": "realtime reply"})
        self.assertEqual(st, 202, m)
        seen = [ws.next(10), ws.next(10)]
        self.assertEqual([e["type"] for e in seen], ["message.created", "message.status"], seen)
        self.assertEqual(seen[0]["data"]["id"], m["id"])
        self.assertEqual((seen[1]["data"]["message_id"], seen[1]["data"]["previous_status"], seen[1]["data"]["status"]),
                         (m["id"], "queued", "sent"))
        self.assertEqual(seen[1]["id"], seen[0]["id"] + 1)
        ws.close()

    def test_messages__refusals_before_queueing(self):
        before = wu.count(self.srv, "SELECT count(*) FROM messages")
        cases = [
            ({"to": "+14155550123", "text": "x"}, 400, "invalid_request"),
            ({"account_id": "cha_nope", "to": "+14155550123", "text": "x"}, 404, "account_not_found"),
            ({"account_id": self.sms_id, "to": "4155550123", "text": "x"}, 400, "invalid_address"),
            ({"account_id": self.sms_id, "to": "+14155550123"}, 400, "invalid_message"),
            ({"account_id": self.sms_id, "to": "+14155550123", "text": "x" * 1601}, 400, "invalid_message"),
            # SMS has templates too (src/template/), but none by this name.
            ({"account_id": self.sms_id, "to": "+14155550123", "template": {"name": "order_update"}}, 400,
             "template_not_found"),
        ]
        for body, status, code in cases:
            with self.subTest(code=code, body=str(body)[:60]):
                st, resp = self.send(body)
                self.assertEqual((st, resp["error"]["code"]), (status, code), resp)
        st, resp = self.send({"account_id": self.sms_id, "to": "+14155550123", "text": "x"},
                             key=self.srv.apikey(self.tenant, "viewer"))
        self.assertEqual(st, 403, resp)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM messages"), before)


class TwoWorkersTest(unittest.TestCase):
    """Two `switchboard worker` processes (and no workers in serve) share the
    queue: every message is sent exactly once, and both take part (the
    messages are queued before the workers start, and the provider answers
    each send after 20 ms, so neither process can take them all)."""

    N = 200

    def test_messages__two_worker_processes_send_each_message_once(self):
        twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        srv = Server()
        srv.env.update({"SB_TWILIO_API_BASE": twilio.base, "SB_WORKERS": "0",
                        "SB_PUBLIC_URL": "http://127.0.0.1:%d" % srv.port})
        workers = []
        try:
            srv.start()
            tenant = srv.tenant()
            key = srv.apikey(tenant, "agent")
            acct, _ = wu.add_account(srv, tenant, "twilio", {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
            for i in range(self.N):
                st, m = srv.json("POST", "/api/v1/messages",
                                 {"account_id": acct, "to": "+1415556%04d" % i, "text": "batch %d" % i}, key=key)
                self.assertEqual(st, 202, m)
            twilio.mode(mode="slow", delay=0.02)
            env = dict(srv.env, SB_WORKERS="2")
            for _ in range(2):
                workers.append(subprocess.Popen([SB_BIN, "worker", "--data", srv.datadir], env=env, cwd=srv.datadir,
                                                stdout=srv.log_file, stderr=srv.log_file))
            wait_for(lambda: wu.count(srv, "SELECT count(*) FROM messages WHERE status = 'sent'") == self.N, 120,
                     "every message sent")
            time.sleep(0.5)
            reqs = twilio.requests()
            self.assertEqual(len(reqs), self.N)
            self.assertEqual(len({r["form"]["To"] for r in reqs}), self.N)
            pids = {row[0].split("-")[1] for row in wu.sql(srv, "SELECT locked_by FROM jobs WHERE type = 'outbound.send'")}
            self.assertEqual(pids, {str(w.pid) for w in workers}, "both worker processes sent")
            for w in workers:
                w.terminate()
                self.assertEqual(w.wait(timeout=30), 0)
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
            srv.stop()
            twilio.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
