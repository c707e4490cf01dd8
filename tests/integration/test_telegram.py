"""
Telegram end to end: the real server and its workers against the fake Bot
API (tests/fakes/fake_telegram.py), which delivers Updates to our webhook
with the secret token it was given through setWebhook.

Checked, on the backend under test:
- `switchboard channel add --provider telegram` calls getMe (the account's
  address is the bot's username) and setWebhook with our webhook URL, a
  generated secret token and allowed_updates ["message"]; a given
  secret_token is used as is; a refusal (bad token, setWebhook error) fails
  the command with Telegram's description and leaves no account behind;
- a valid update is stored once; the same update again is a 200 with no
  effect; a missing or wrong secret token is refused (403) with nothing
  written but a security event; an update type we do not take (an edited
  message) is a 200 with nothing stored;
- text, photos, documents, shared contacts and /start deep links become
  messages of their type; a customer who shares their own phone number gets
  it as a phone identity of their contact;
- POST /api/v1/messages to a chat sends sendMessage / sendPhoto and the
  message is "sent" with "<chat id>:<message id>"; a 400 fails it; 500 and
  429 retry (429 after its retry_after) and then send; a 403 "bot was
  blocked by the user" fails it with recipient_blocked, and the next send
  to that chat is refused (403 recipient_blocked) before it is queued, until
  the customer writes again (a blocked bot receives nothing from them).
"""
import json
import os
import re
import secrets
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

# In secrets.txt too: a bot token travels in every Bot API URL and must never be logged.
BOT_TOKEN = "987654321:AAFakeTokenNeverLogged_7f3a9c1e0d2b4"
BOT_USER = "acme_help_bot"


def new_chat():
    return 5000000000 + secrets.randbelow(900000000)


class TelegramTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tg = Fake("fake_telegram.py", "--bot-token", BOT_TOKEN, "--username", BOT_USER)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_TELEGRAM_API_BASE": cls.tg.base,
            "SB_PROVIDER_TIMEOUT_MS": "800",
            "SB_SEND_MAX_ATTEMPTS": "8",
            "SB_SEND_RETRY_BASE_MS": "200",
            "SB_SEND_RETRY_MAX_MS": "2000",
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.owner = cls.srv.apikey(cls.tenant, "owner")
        cls.acct_id, cls.acct_key = wu.add_account(cls.srv, cls.tenant, "telegram", {"bot_token": BOT_TOKEN})
        cls.path = "/webhooks/telegram/" + cls.acct_key
        # What setWebhook registered; updates are delivered with it even after
        # another test points the bot elsewhere.
        cls.hook = cls.fake_webhook()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.tg.stop()

    def setUp(self):
        self.tg.mode(mode="ok", blocked_chats=[], setwebhook_error=None)

    # ------------------------------------------------------------ helpers

    @classmethod
    def fake_webhook(cls):
        with urllib.request.urlopen(cls.tg.base + "/_fake/webhook", timeout=5) as r:
            return json.loads(r.read())

    def deliver(self, update, secret=None):
        """The fake POSTs update to our webhook with the registered secret (or secret; "" = none)."""
        body = dict(update, url=self.hook["url"], secret=self.hook["secret_token"] if secret is None else secret)
        req = urllib.request.Request(self.tg.base + "/_fake/update", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=15) as r:
            return json.loads(r.read())

    def message_update(self, chat, content, update_id=None, message_id=None, first="Ana", last="Silva"):
        user = {"id": chat, "is_bot": False, "first_name": first, "last_name": last, "language_code": "en"}
        msg = {"message_id": message_id or secrets.randbelow(10 ** 6) + 1, "from": user,
               "chat": dict(user, type="private"), "date": int(time.time())}
        msg["chat"].pop("is_bot")
        msg["chat"].pop("language_code")
        msg.update(content)
        up = {"message": msg}
        if update_id is not None:
            up["update_id"] = update_id
        return up

    def counts(self):
        return (wu.count(self.srv, "SELECT count(*) FROM inbound_events"),
                wu.count(self.srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process'"))

    def inbound(self, chat):
        return wu.sql(self.srv, "SELECT id, type, body, media, provider_message_id FROM messages"
                                " WHERE direction = 'inbound' AND address = ? ORDER BY created_at", (str(chat),))

    def wait_inbound(self, chat, n=1):
        return wait_for(lambda: (lambda rows: rows if len(rows) >= n else None)(self.inbound(chat)), 20,
                        "%d inbound message(s) from %s" % (n, chat))

    def send(self, body):
        return self.srv.json("POST", "/api/v1/messages", body, key=self.key)

    def message(self, mid):
        st, m = self.srv.json("GET", "/api/v1/messages/" + mid, key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def wait_status(self, mid, status, timeout=20.0):
        return wait_for(lambda: (lambda m: m if m["status"] == status else None)(self.message(mid)), timeout,
                        "message %s to become %s" % (mid, status))

    def sends_to(self, chat):
        return [r for r in self.tg.requests() if r.get("method", "").startswith("send")
                and str((r.get("params") or {}).get("chat_id")) == str(chat)]

    def security_events(self):
        st, body = self.srv.json("GET", "/api/v1/security-events?limit=50", key=self.owner)
        self.assertEqual(st, 200, body)
        return body["data"]

    def channels(self):
        st, body = self.srv.json("GET", "/api/v1/channels", key=self.owner)
        self.assertEqual(st, 200, body)
        return body["data"]

    # ------------------------------------------------------ channel add

    def test_telegram__channel_add_registers_webhook(self):
        self.assertEqual(self.hook["url"], self.public + self.path)
        self.assertRegex(self.hook["secret_token"], r"^[A-Za-z0-9_-]{32,256}$")
        self.assertEqual(self.hook["allowed_updates"], ["message"])
        acct = next(a for a in self.channels() if a["id"] == self.acct_id)
        self.assertEqual((acct["provider"], acct["channel"], acct["address"]), ("telegram", "telegram", BOT_USER))
        self.assertEqual(acct["webhook_urls"], {"callback": self.public + self.path, "secret_token_set": True,
                                                "registered": True})
        self.assertNotIn(self.hook["secret_token"], json.dumps(acct))
        calls = [r["method"] for r in self.tg.requests() if r.get("method") in ("getMe", "setWebhook")]
        self.assertIn("getMe", calls)

    def test_telegram__channel_add_with_given_secret_and_refusals(self):
        before = len(self.channels())
        try:
            acct = wu.add_account(self.srv, self.tenant, "telegram",
                                  {"bot_token": BOT_TOKEN, "secret_token": "Given_secret-123"})
            hook = self.fake_webhook()
            self.assertEqual(hook["secret_token"], "Given_secret-123")
            self.assertEqual(hook["url"], self.public + "/webhooks/telegram/" + acct[1])
            rc, _, err = self.srv.cli("channel", "remove", "--tenant", self.tenant, "--id", acct[0])
            self.assertEqual(rc, 0, err)
            # setWebhook refused: the command fails with Telegram's words, nothing is stored.
            self.tg.mode(setwebhook_error="Bad Request: bad webhook: HTTPS url must be provided for webhook")
            rc, out, err = self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "telegram",
                                        "--set-stdin", "--json", input="bot_token=%s\n" % BOT_TOKEN)
            self.assertNotEqual(rc, 0)
            self.assertIn("HTTPS url must be provided", err)
            self.assertIn("provider_rejected", err)
            self.assertEqual(out, "")
            self.tg.mode(setwebhook_error=None)
            # A token Telegram does not know (401 Unauthorized): the same.
            rc, out, err = self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "telegram",
                                        "--set", "bot_token=987654321:AAsomethingElse")
            self.assertNotEqual(rc, 0)
            self.assertIn("Unauthorized", err)
            self.assertNotIn("AAsomethingElse", err)
            # Malformed settings never reach Telegram.
            n_calls = len(self.tg.requests())
            for bad in ("bot_token=no-colon", "bot_token=12:ab\nsecret_token=bad secret!"):
                rc, _, err = self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "telegram",
                                          "--set-stdin", input=bad + "\n")
                self.assertEqual(rc, 2, err)
                self.assertIn("invalid_channel_settings", err)
            self.assertEqual(len(self.tg.requests()), n_calls)
            self.assertEqual(len(self.channels()), before)
            # The API does the same: refused by Telegram -> 503 provider_rejected and nothing created ...
            self.tg.mode(setwebhook_error="Bad Request: bad webhook: Failed to resolve host")
            st, body = self.srv.json("POST", "/api/v1/channels", {"provider": "telegram", "name": "API bot",
                                                                  "settings": {"bot_token": BOT_TOKEN}}, key=self.owner)
            self.assertEqual((st, body["error"]["code"]), (503, "provider_rejected"), body)
            self.assertIn("Failed to resolve host", body["error"]["message"])
            self.assertEqual(len(self.channels()), before)
            # ... accepted -> 201, registered with its own URL and a fresh secret.
            self.tg.mode(setwebhook_error=None)
            st, body = self.srv.json("POST", "/api/v1/channels", {"provider": "telegram", "name": "API bot",
                                                                  "settings": {"bot_token": BOT_TOKEN}}, key=self.owner)
            self.assertEqual(st, 201, body)
            self.assertEqual((body["address"], body["webhook_urls"]["registered"]), (BOT_USER, True))
            hook = self.fake_webhook()
            self.assertEqual(hook["url"], self.public + "/webhooks/telegram/" + body["account_key"])
            self.assertNotEqual(hook["secret_token"], self.hook["secret_token"])
            st, _ = self.srv.json("DELETE", "/api/v1/channels/" + body["id"], key=self.owner)
            self.assertEqual(st, 204)
        finally:
            # Point the bot back at the class's account.
            req = urllib.request.Request(self.tg.base + "/bot%s/setWebhook" % BOT_TOKEN, method="POST",
                                         data=json.dumps({"url": self.hook["url"],
                                                          "secret_token": self.hook["secret_token"]}).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=5).read()

    # ------------------------------------------------------------ webhooks

    def test_telegram__update_stored_once_duplicate_no_effect(self):
        chat = new_chat()
        uid = 700000000 + secrets.randbelow(10 ** 8)
        up = self.message_update(chat, {"text": "Hello from Telegram"}, update_id=uid, message_id=11)
        before = self.counts()
        self.assertEqual(self.deliver(up)["status"], 200)
        rows = self.wait_inbound(chat)
        self.assertEqual(rows[0][1:3], ["text", "Hello from Telegram"])
        self.assertEqual(rows[0][4], "%d:11" % chat)
        self.assertEqual(self.deliver(up)["status"], 200)
        time.sleep(0.5)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM inbound_events WHERE event_id = ?", (str(uid),)), 1)
        self.assertEqual(self.counts(), (before[0] + 1, before[1] + 1))
        self.assertEqual(len(self.inbound(chat)), 1)
        ident = wu.sql(self.srv, "SELECT i.kind, c.name FROM contact_identities i JOIN contacts c ON c.id ="
                                 " i.contact_id WHERE i.address = ?", (str(chat),))
        self.assertEqual(ident, [["telegram", "Ana Silva"]])

    def test_telegram__missing_and_wrong_secret_refused(self):
        chat = new_chat()
        for secret, reason in (("", "missing_signature"), (self.hook["secret_token"] + "x", "bad_signature"),
                               ("not-the-secret", "bad_signature")):
            with self.subTest(reason=reason, secret=secret[:6]):
                if reason == "bad_signature" and secret == "not-the-secret":
                    time.sleep(1.1)  # the same refusal from one source is written once a second
                before_ids = {e["id"] for e in self.security_events()}
                before = self.counts()
                res = self.deliver(self.message_update(chat, {"text": "forged"}), secret=secret)
                self.assertEqual(res["status"], 403)
                ev = wait_for(lambda: next((e for e in self.security_events() if e["id"] not in before_ids
                                            and e["reason"] == reason and e["account_id"] == self.acct_id), None),
                              10, "security event " + reason)
                self.assertEqual((ev["kind"], ev["provider"]), ("webhook_refused", "telegram"))
                self.assertEqual(self.counts(), before)
        # A body without the header at all, straight from a client.
        st, _, body = self.srv.request("POST", self.path, body=json.dumps({"update_id": 1}),
                                       headers={"Content-Type": "application/json"})
        self.assertEqual(st, 403, body)
        self.assertEqual(json.loads(body)["error"]["code"], "missing_signature")
        time.sleep(0.3)
        self.assertEqual(self.inbound(chat), [])

    def test_telegram__other_update_types_and_malformed(self):
        chat = new_chat()
        before = self.counts()
        edited = self.message_update(chat, {"text": "edited", "edit_date": int(time.time())})
        edited["edited_message"] = edited.pop("message")
        self.assertEqual(self.deliver(edited)["status"], 200)
        self.assertEqual(self.deliver({"callback_query": {"id": "1", "data": "x"}})["status"], 200)
        self.assertEqual(self.deliver({"update_id": 5, "message": {"message_id": 1}})["status"], 400)
        time.sleep(0.3)
        self.assertEqual(self.counts(), before)

    def test_telegram__inbound_kinds(self):
        chat = new_chat()
        updates = [
            {"text": "/start order-42"},
            {"photo": [{"file_id": "AgACsmall", "file_unique_id": "s", "width": 90, "height": 90},
                       {"file_id": "AgAClarge", "file_unique_id": "l", "width": 1280, "height": 1280}],
             "caption": "broken lid"},
            {"document": {"file_id": "BQACinvoice", "file_unique_id": "d", "file_name": "invoice.pdf",
                          "mime_type": "application/pdf"}},
            {"contact": {"phone_number": "351912345678", "first_name": "Ana", "user_id": chat}},
            {"text": "thanks"},
        ]
        for i, content in enumerate(updates):
            self.assertEqual(self.deliver(self.message_update(chat, content, message_id=100 + i))["status"], 200)
            self.wait_inbound(chat, i + 1)  # in order, so created_at sorts them
        rows = self.inbound(chat)
        self.assertEqual([r[1] for r in rows], ["start", "image", "document", "contact", "text"])
        self.assertEqual(rows[0][2], "/start order-42")
        self.assertEqual(rows[1][2], "broken lid")
        media = json.loads(rows[1][3])
        self.assertEqual([(x["url"], x["id"], x["content_type"]) for x in media], [(None, "AgAClarge", "image/jpeg")])
        self.assertEqual(rows[2][2], "invoice.pdf")
        self.assertEqual(json.loads(rows[2][3])[0]["id"], "BQACinvoice")
        self.assertEqual(json.loads(rows[2][3])[0]["content_type"], "application/pdf")
        self.assertEqual(rows[3][2], "+351912345678")
        # Their own number (contact.user_id is the sender) joins their contact as a phone identity.
        ids = wu.sql(self.srv, "SELECT kind, address FROM contact_identities WHERE contact_id ="
                               " (SELECT contact_id FROM contact_identities WHERE kind = 'telegram' AND address = ?)"
                               " ORDER BY kind", (str(chat),))
        self.assertEqual(ids, [["phone", "+351912345678"], ["telegram", str(chat)]])
        # Someone else's card is only a message.
        other = new_chat()
        self.deliver(self.message_update(other, {"contact": {"phone_number": "+447700900123", "first_name": "Joe"}}))
        self.assertEqual(self.wait_inbound(other)[0][1:3], ["contact", "+447700900123"])
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM contact_identities WHERE address = ?",
                                  ("+447700900123",)), 0)
        self.assertEqual(len({r[4] for r in rows}), 5)
        # One contact and one conversation for the chat.
        self.assertEqual(wu.count(self.srv, "SELECT count(DISTINCT conversation_id) FROM messages WHERE address = ?",
                                  (str(chat),)), 1)

    # ---------------------------------------------------------------- sends

    def test_telegram__send_text_and_photo(self):
        chat = new_chat()
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "Your order shipped"})
        self.assertEqual(st, 202, m)
        self.assertEqual((m["channel"], m["address"], m["status"]), ("telegram", str(chat), "queued"))
        sent = self.wait_status(m["id"], "sent")
        self.assertEqual(sent["provider_message_id"], "%d:1" % chat)
        reqs = self.sends_to(chat)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["method"], "sendMessage")
        self.assertEqual(reqs[0]["params"], {"chat_id": chat, "text": "Your order shipped"})
        self.assertTrue(reqs[0]["token_ok"])
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "The new lid",
                           "media_urls": ["https://cdn.example.com/lid.png"]})
        self.assertEqual(st, 202, m)
        sent = self.wait_status(m["id"], "sent")
        self.assertEqual(sent["provider_message_id"], "%d:2" % chat)
        last = self.sends_to(chat)[-1]
        self.assertEqual((last["method"], last["params"]["photo"], last["params"]["caption"]),
                         ("sendPhoto", "https://cdn.example.com/lid.png", "The new lid"))
        # Telegram takes one file per message.
        st, body = self.send({"account_id": self.acct_id, "to": str(chat),
                              "media_urls": ["https://cdn.example.com/a.png", "https://cdn.example.com/b.png"]})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_message"), body)

    def test_telegram__400_fails_the_message(self):
        chat = new_chat()
        self.tg.mode(mode="400")
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "to nowhere"})
        self.assertEqual(st, 202, m)
        failed = self.wait_status(m["id"], "failed")
        self.assertEqual(failed["error"], {"code": "provider_rejected", "text": "Bad Request: chat not found"})
        time.sleep(0.5)
        self.assertEqual(len(self.sends_to(chat)), 1)  # permanent: not retried

    def test_telegram__500_retries_then_sends(self):
        chat = new_chat()
        self.tg.mode(mode="500")
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "retry me"})
        self.assertEqual(st, 202, m)
        wait_for(lambda: len(self.sends_to(chat)) >= 2, 20, "two attempts")
        self.assertEqual(self.message(m["id"])["status"], "queued")
        self.tg.mode(mode="ok")
        sent = self.wait_status(m["id"], "sent", 30)
        self.assertEqual(sent["provider_message_id"], "%d:1" % chat)

    def test_telegram__429_waits_for_retry_after(self):
        chat = new_chat()
        self.tg.mode(mode="429", retry_after=2)
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "rate limited"})
        self.assertEqual(st, 202, m)
        wait_for(lambda: self.sends_to(chat), 20, "the first attempt")
        self.tg.mode(mode="ok")
        self.wait_status(m["id"], "sent", 30)
        times = [r["at"] for r in self.sends_to(chat)]
        self.assertEqual(len(times), 2, times)
        self.assertGreaterEqual(times[1] - times[0], 1.9)

    def test_telegram__blocked_recipient_stops_sends(self):
        chat, other = new_chat(), new_chat()
        self.tg.mode(blocked_chats=[chat])
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "are you there?"})
        self.assertEqual(st, 202, m)
        failed = self.wait_status(m["id"], "failed")
        self.assertEqual(failed["error"]["code"], "recipient_blocked")
        self.assertIn("bot was blocked by the user", failed["error"]["text"])
        # The next send is refused before it is queued; the provider sees nothing more.
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM suppressions WHERE address = ?", (str(chat),)), 10,
                 "the suppression")
        n = wu.count(self.srv, "SELECT count(*) FROM messages WHERE address = ?", (str(chat),))
        st, body = self.send({"account_id": self.acct_id, "to": str(chat), "text": "hello again"})
        self.assertEqual((st, body["error"]["code"]), (403, "recipient_blocked"), body)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM messages WHERE address = ?", (str(chat),)), n)
        time.sleep(0.3)
        self.assertEqual(len(self.sends_to(chat)), 1)
        # Other chats are unaffected.
        st, m = self.send({"account_id": self.acct_id, "to": str(other), "text": "hi"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")
        # The customer unblocks the bot and writes: the chat may be answered again.
        self.tg.mode(blocked_chats=[])
        self.assertEqual(self.deliver(self.message_update(chat, {"text": "sorry, unblocked you"}))["status"], 200)
        self.wait_inbound(chat)
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM suppressions WHERE address = ?", (str(chat),)), 0)
        st, m = self.send({"account_id": self.acct_id, "to": str(chat), "text": "welcome back"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")


if __name__ == "__main__":
    unittest.main(verbosity=2)
