"""
Instagram Messaging end to end: the real server and its workers against
tests/fakes/fake_instagram.py, which speaks Meta's Send API and delivers
webhooks signed X-Hub-Signature-256 exactly as Meta does.

Checked, on the backend under test:
- the subscription handshake answers Meta's challenge for the right verify
  token only;
- a message webhook is stored once (one inbound_events row, one job, one
  message); redeliveries change nothing; missing, wrong and tampered
  signatures are refused with nothing written but a security event;
- story replies (the story as reference and media), story mentions,
  reactions and several items in one POST are each stored once; echoes of
  our own sends are not; a read receipt moves our message to read;
- sends: inside 24 hours with messaging_type RESPONSE; after 25 hours of
  silence an API-key send is refused (403 outside_window) with nothing sent
  while a person's reply from a dashboard session goes with the HUMAN_AGENT
  tag; after 8 days even that is refused; text with an attachment is 400;
- Graph's failures: 4xx (outside window, user unavailable, bad token) fail
  the message for good; 5xx and 429 are retried until sent.
"""
import json
import os
import secrets
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))
import fake_instagram as ig  # noqa: E402
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

IGID = "17841400000000001"
TOKEN = "ig-access-" + secrets.token_hex(6)
APP_SECRET = "ig-app-secret-" + secrets.token_hex(8)
VERIFY = "ig-verify-" + secrets.token_hex(6)
PASSWORD = "correct horse battery staple 7"
HOUR_MS = 3600 * 1000


def igsid():
    return str(1000000000000000 + secrets.randbelow(10 ** 15))


class InstagramTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = Fake("fake_instagram.py", "--access-token", TOKEN, "--app-secret", APP_SECRET,
                        "--ig-user-id", IGID)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_GRAPH_API_BASE": cls.fake.base + "/v21.0",
            "SB_PROVIDER_TIMEOUT_MS": "2000",
            "SB_SEND_MAX_ATTEMPTS": "20",
            "SB_SEND_RETRY_BASE_MS": "200",
            "SB_SEND_RETRY_MAX_MS": "1000",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.owner = cls.srv.apikey(cls.tenant, "owner")
        cls.acct, cls.acct_key = wu.add_account(cls.srv, cls.tenant, "instagram",
                                                {"ig_user_id": IGID, "access_token": TOKEN,
                                                 "app_secret": APP_SECRET, "verify_token": VERIFY})
        cls.path = "/webhooks/instagram/" + cls.acct_key
        cls.url = cls.public + cls.path
        cls.fake.mode(webhook_url=cls.url)
        cls.srv.user(cls.tenant, "agent@ig.example", "agent", PASSWORD)
        st, h, body = cls.srv.json_full("POST", "/api/v1/auth/login",
                                        {"email": "agent@ig.example", "password": PASSWORD})
        assert st == 200, body
        cls.session = {"Cookie": h["set-cookie"].split(";")[0], "X-CSRF-Token": body["csrf_token"]}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.fake.stop()

    def setUp(self):
        self.fake.mode(mode="ok", callbacks=[], retry_after=1)

    # ------------------------------------------------------------ helpers

    def fake_post(self, path, obj):
        req = urllib.request.Request(self.fake.base + path, data=json.dumps(obj).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read())

    def deliver(self, *items):
        """Meta delivers one webhook with these messaging items; returns (status, body)."""
        r = self.fake_post("/_fake/deliver", {"url": self.url, "body": ig.webhook(IGID, *items)})
        return r["status"], r["body"]

    def counts(self, user):
        """What this customer's webhooks wrote: (inbound_events, their inbound.process jobs, messages).
        Per customer, so late webhooks of other tests (read receipts) never count."""
        like = '%"from":"' + user + '"%'
        row = wu.sql(self.srv, "SELECT (SELECT count(*) FROM inbound_events WHERE account_id = ? AND payload LIKE ?),"
                               " (SELECT count(*) FROM jobs j JOIN inbound_events e ON j.payload LIKE '%' || e.id || '%'"
                               "  WHERE j.type = 'inbound.process' AND e.account_id = ? AND e.payload LIKE ?),"
                               " (SELECT count(*) FROM messages WHERE account_id = ? AND address = ?)",
                     (self.acct, like, self.acct, like, self.acct, user))[0]
        return tuple(int(x) for x in row)

    def event(self, event_id):
        rows = wu.sql(self.srv, "SELECT account_id, kind, payload FROM inbound_events WHERE event_id = ?", (event_id,))
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def inbound(self, provider_id):
        """The inbound message with this provider id, once processed."""
        def find():
            rows = wu.sql(self.srv, "SELECT id FROM messages WHERE direction = 'inbound' AND provider_message_id = ?",
                          (provider_id,))
            return rows[0][0] if rows else None
        return self.message(wait_for(find, 20, "inbound message " + provider_id))

    def message(self, mid):
        st, m = self.srv.json("GET", "/api/v1/messages/" + mid, key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def wait_status(self, mid, status, timeout=20.0):
        return wait_for(lambda: (lambda m: m if m["status"] == status else None)(self.message(mid)), timeout,
                        "message %s to become %s" % (mid, status))

    def sends_to(self, user):
        return [r for r in self.fake.requests() if ((r.get("json") or {}).get("recipient") or {}).get("id") == user]

    def customer_writes(self, user, text="hi", silent_ms=0):
        """The customer writes; with silent_ms, their last message is made that old."""
        item = ig.message(IGID, user, text)
        st, body = self.deliver(item)
        self.assertEqual(st, 200, body)
        m = self.inbound(item["message"]["mid"])
        if silent_ms:
            wu.sql(self.srv, "UPDATE conversations SET last_inbound_at = ? WHERE id = ?",
                   (int(time.time() * 1000) - silent_ms, m["conversation_id"]))
        return m

    def send(self, body, session=False):
        if session:
            return self.srv.json("POST", "/api/v1/messages", body, headers=self.session)
        return self.srv.json("POST", "/api/v1/messages", body, key=self.key)

    # ------------------------------------------------------------- webhooks

    def test_instagram__account_and_handshake(self):
        st, accts = self.srv.json("GET", "/api/v1/channels", key=self.owner)
        self.assertEqual(st, 200, accts)
        a = next(x for x in accts["data"] if x["id"] == self.acct)
        self.assertEqual((a["provider"], a["channel"], a["address"]), ("instagram", "instagram", IGID))
        self.assertEqual(a["webhook_urls"], {"callback": self.url, "verify_token_set": True})
        # Meta's handshake, performed by the fake.
        self.assertEqual(self.fake_post("/_fake/subscribe", {"url": self.url, "verify_token": VERIFY}),
                         {"status": 200, "echoed": True})
        self.assertEqual(self.fake_post("/_fake/subscribe", {"url": self.url, "verify_token": VERIFY + "x"}),
                         {"status": 403, "echoed": False})
        # Settings are checked: the account id is Meta's number, and every credential is needed.
        rc, _, err = self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "instagram",
                                  "--set-stdin", "--json",
                                  input="ig_user_id=me\naccess_token=t\napp_secret=s\nverify_token=v\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("ig_user_id", err)
        rc, _, err = self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "instagram",
                                  "--set-stdin", "--json", input="ig_user_id=1784\naccess_token=t\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("app_secret", err)

    def test_instagram__message_accepted_once(self):
        user = igsid()
        item = ig.message(IGID, user, "Olá, is it in stock? https://shop.example/p/1")
        mid = item["message"]["mid"]
        self.assertEqual(self.counts(user), (0, 0, 0))
        st, body = self.deliver(item)
        self.assertEqual((st, body), (200, "OK"))
        rows = self.event(mid)
        self.assertEqual(len(rows), 1)
        acct, kind, p = rows[0]
        self.assertEqual((acct, kind, p["provider"], p["from"], p["to"]), (self.acct, "message", "instagram", user, IGID))
        self.assertEqual(p["text"], "Olá, is it in stock? https://shop.example/p/1")
        self.assertEqual(p["provider_ts"], item["timestamp"])
        m = self.inbound(mid)
        self.assertEqual((m["channel"], m["address"], m["type"], m["origin"]), ("instagram", user, "text", "customer"))
        self.assertEqual(m["body"], "Olá, is it in stock? https://shop.example/p/1")
        self.assertEqual(self.counts(user), (1, 1, 1))
        # Meta redelivers: 200 each time, nothing new.
        for _ in range(2):
            self.assertEqual(self.deliver(item), (200, "OK"))
        time.sleep(0.3)
        self.assertEqual(self.counts(user), (1, 1, 1))
        # The contact is found by its Instagram identity.
        st, c = self.srv.json("GET", "/api/v1/conversations/" + m["conversation_id"], key=self.key)
        self.assertEqual(st, 200, c)

    def test_instagram__signatures_refused_with_nothing_written(self):
        user = igsid()
        item = ig.message(IGID, user, "pay me")
        body = ig.body_bytes(ig.webhook(IGID, item))
        cases = [
            ("missing", body, "", "missing_signature"),
            ("wrong secret", body, ig.signature("another-secret", body), "bad_signature"),
            ("tampered", body.replace(b"pay me", b"pay us"), ig.signature(APP_SECRET, body), "bad_signature"),
            ("not sha256=", body, ig.signature(APP_SECRET, body)[7:], "bad_signature"),
        ]
        sec_before = wu.count(self.srv, "SELECT count(*) FROM security_events")
        for name, raw, sig, code in cases:
            with self.subTest(name):
                st, _, resp = wu.meta_post(self.srv, self.path, raw, APP_SECRET, signature=sig)
                self.assertEqual(st, 403, resp)
                self.assertEqual(json.loads(resp)["error"]["code"], code)
                self.assertEqual(self.event(item["message"]["mid"]), [])
                self.assertEqual(self.counts(user), (0, 0, 0))
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM security_events WHERE kind = 'webhook_refused'"
                                            " AND provider = 'instagram'") > 0, 10, "a security event")
        self.assertGreater(wu.count(self.srv, "SELECT count(*) FROM security_events"), sec_before)
        # The same body, signed right, is accepted.
        st, _, resp = wu.meta_post(self.srv, self.path, body, APP_SECRET)
        self.assertEqual(st, 200, resp)
        self.assertEqual(len(self.event(item["message"]["mid"])), 1)

    def test_instagram__stories_reactions_and_echoes(self):
        user = igsid()
        story_url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17986&signature=Ab"
        mention_url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17999&signature=Cd"
        reply = ig.story_reply(IGID, user, "Where can I buy this?", "17986543210987654", story_url)
        mention = ig.story_mention(IGID, user, mention_url)
        echo = ig.echo(IGID, user, "sent from the Instagram app")
        react = ig.reaction(IGID, user, reply["message"]["mid"])
        st, body = self.deliver(reply, mention, echo, react)
        self.assertEqual(st, 200, body)
        self.assertEqual(self.event(echo["message"]["mid"]), [])
        self.assertEqual(self.counts(user)[:2], (3, 3))

        p = self.event(reply["message"]["mid"])[0][2]
        self.assertEqual((p["type"], p["text"], p["ref"]), ("story_reply", "Where can I buy this?", "17986543210987654"))
        m = self.inbound(reply["message"]["mid"])
        self.assertEqual((m["type"], m["body"]), ("story_reply", "Where can I buy this?"))
        self.assertEqual([x["url"] for x in m["media"]], [story_url])

        m = self.inbound(mention["message"]["mid"])
        self.assertEqual((m["type"], m["body"]), ("story_mention", ""))
        self.assertEqual([x["url"] for x in m["media"]], [mention_url])

        rows = wu.sql(self.srv, "SELECT payload FROM inbound_events WHERE account_id = ? AND payload LIKE ?",
                      (self.acct, '%"from":"' + user + '"%'))
        rows = [p for p in (json.loads(r[0]) for r in rows) if p["type"] == "reaction"]
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["ref"], rows[0]["text"]), (reply["message"]["mid"], "\u2764\ufe0f"))
        m = self.inbound(rows[0]["provider_message_id"])
        self.assertEqual((m["type"], m["body"]), ("reaction", "\u2764\ufe0f"))
        time.sleep(0.3)
        self.assertEqual(self.counts(user), (3, 3, 3))  # the echo made no message
        # The same POST again: nothing new.
        self.assertEqual(self.deliver(reply, mention, echo, react), (200, "OK"))
        time.sleep(0.3)
        self.assertEqual(self.counts(user), (3, 3, 3))

    # ----------------------------------------------------------------- sends

    def test_instagram__inside_window_response_then_read(self):
        user = igsid()
        self.customer_writes(user, "is my order ready?")
        self.fake.mode(callbacks=["read"])
        st, m = self.send({"account_id": self.acct, "to": user, "text": "Yes, ready for pickup."})
        self.assertEqual(st, 202, m)
        self.assertEqual((m["channel"], m["status"], m["origin"]), ("instagram", "queued", "api"))
        sent = self.wait_status(m["id"], "read")
        self.assertTrue(sent["provider_message_id"].startswith("aWdfZAG1"))
        self.assertIsNotNone(sent["read_at"])
        reqs = self.sends_to(user)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(reqs[0]["path"], "/v21.0/%s/messages" % IGID)
        self.assertEqual(reqs[0]["json"], {"recipient": {"id": user}, "messaging_type": "RESPONSE",
                                           "message": {"text": "Yes, ready for pickup."}})
        # The read receipt arrived as Meta's messaging_seen webhook, signed.
        self.assertEqual(len(self.event(sent["provider_message_id"] + ":read")), 1)
        # An image goes as one attachment; text with it is refused up front.
        st, m = self.send({"account_id": self.acct, "to": user, "media_urls": ["https://cdn.example.com/a.jpg"]})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")
        self.assertEqual(self.sends_to(user)[-1]["json"]["message"],
                         {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/a.jpg"}}})
        st, b = self.send({"account_id": self.acct, "to": user, "text": "look",
                           "media_urls": ["https://cdn.example.com/a.jpg"]})
        self.assertEqual((st, b["error"]["code"]), (400, "invalid_message"), b)
        st, b = self.send({"account_id": self.acct, "to": user,
                           "media_urls": ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"]})
        self.assertEqual((st, b["error"]["code"]), (400, "invalid_message"), b)

    def test_instagram__silent_25_hours_only_a_person_replies(self):
        user = igsid()
        self.customer_writes(user, "hello?", silent_ms=25 * HOUR_MS)
        st, b = self.send({"account_id": self.acct, "to": user, "text": "automated follow-up"})
        self.assertEqual((st, b["error"]["code"]), (403, "outside_window"), b)
        self.assertIn("HUMAN_AGENT", b["error"]["message"])
        st, m = self.send({"account_id": self.acct, "to": user, "text": "Sorry for the wait - Ana here."},
                          session=True)
        self.assertEqual(st, 202, m)
        self.assertEqual(m["origin"], "agent")
        self.wait_status(m["id"], "sent")
        reqs = self.sends_to(user)
        self.assertEqual(len(reqs), 1, reqs)  # the refused one never reached Meta
        self.assertEqual((reqs[0]["json"]["messaging_type"], reqs[0]["json"].get("tag")), ("MESSAGE_TAG", "HUMAN_AGENT"))
        # Someone who never wrote cannot be messaged at all.
        st, b = self.send({"account_id": self.acct, "to": igsid(), "text": "hi"}, session=True)
        self.assertEqual((st, b["error"]["code"]), (403, "outside_window"), b)

    def test_instagram__silent_8_days_refused_even_for_a_person(self):
        user = igsid()
        self.customer_writes(user, "hello?", silent_ms=8 * 24 * HOUR_MS)
        for session in (True, False):
            st, b = self.send({"account_id": self.acct, "to": user, "text": "still there?"}, session=session)
            self.assertEqual((st, b["error"]["code"]), (403, "outside_window"), b)
        self.assertEqual(self.sends_to(user), [])

    def test_instagram__graph_4xx_fail_for_good(self):
        for mode, code in (("unavailable", "551"), ("token", "190"), ("outside_window", "10")):
            with self.subTest(mode):
                user = igsid()
                self.customer_writes(user)
                self.fake.mode(mode=mode)
                st, m = self.send({"account_id": self.acct, "to": user, "text": "update"})
                self.assertEqual(st, 202, m)
                failed = self.wait_status(m["id"], "failed")
                self.assertEqual(failed["error"]["code"], code)
                self.assertIsNotNone(failed["failed_at"])
                time.sleep(0.3)
                self.assertEqual(len(self.sends_to(user)), 1)  # never retried
                self.fake.mode(mode="ok")

    def test_instagram__graph_5xx_and_429_retried(self):
        for mode in ("500", "429"):
            with self.subTest(mode):
                user = igsid()
                self.customer_writes(user)
                self.fake.mode(mode=mode, retry_after=1)
                st, m = self.send({"account_id": self.acct, "to": user, "text": "retry me"})
                self.assertEqual(st, 202, m)
                wait_for(lambda: len(self.sends_to(user)) >= 2, 20, "a second attempt")
                self.assertEqual(self.message(m["id"])["status"], "queued")
                self.fake.mode(mode="ok")
                sent = self.wait_status(m["id"], "sent", 30)
                self.assertIsNone(sent["error"])
                n = len(self.sends_to(user))
                time.sleep(0.5)
                self.assertEqual(len(self.sends_to(user)), n)  # sent once, then no more attempts


if __name__ == "__main__":
    unittest.main(verbosity=2)
