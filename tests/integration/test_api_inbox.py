"""
The inbox API the dashboard reads, driven by real provider webhooks (Twilio
SMS, WhatsApp, SendGrid Inbound Parse) into the running server:

- GET /api/v1/conversations list rows carry what a row shows in one request
  (account name, contact with address, assignee name, unread_count, the
  latest message with a preview, last_activity_at), newest activity first;
- every filter alone (status, channel, account_id, assignee me | none |
  usr_…, unread=true) and combined equals the same subset of the full list;
  bad values are 400;
- q finds a contact by name (any case), by phone number with or without "+"
  and with spaces, by e-mail address in any case or a piece of it; "%" and
  "_" are literal; another tenant's contacts never show;
- keyset pages walk the whole list without duplicates or gaps, also while
  new messages move conversations to the top;
- each inbound message adds one to unread_count, and its message.created
  event carries the new count; POST /conversations/{id}/read sets it to 0
  (idempotent; agents yes, viewers no; 404 across tenants) and publishes
  conversation.read once; a reply by an agent signed in to the dashboard
  marks the conversation read, a send by an API key does not;
- GET /conversations/{id} has the list fields plus the contact's identities.
"""
import json
import os
import sys
import time
import unittest
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server  # noqa: E402
from test_events import WS  # noqa: E402

SID = "AC" + "5" * 32
TOKEN = "twilio-token-inbox-4c1d"
FROM = "+14155550100"
WA_TOKEN = "wa-access-inbox-7a2b"
APP_SECRET = "meta-app-secret-inbox-31"
PNID = "106540352242922"
SG_KEY = "SG.inbox-key-0d9e"
SHOP = "help@shop.example"
PASSWORD = "correct horse battery staple"

ADA_WA = "15550001001"         # WhatsApp, named by her profile
BOB = "+15550002002"           # SMS, twice
CAROL = "+15550003003"         # SMS, once
GRACE = "Grace.Hopper@Example.COM"


def wait_for(fn, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def ctl(fake, path, obj):
    req = urllib.request.Request(fake.base + path, data=json.dumps(obj).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class InboxApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--app-secret", APP_SECRET)
        cls.sg = Fake("fake_sendgrid.py", "--api-key", SG_KEY)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({"SB_PUBLIC_URL": cls.public, "SB_TWILIO_API_BASE": cls.twilio.base,
                            "SB_GRAPH_API_BASE": cls.meta.base + "/v21.0", "SB_SENDGRID_API_BASE": cls.sg.base,
                            "SB_WORKERS": "2"})
        cls.srv.start()
        cls.a = cls.srv.tenant("inbox-a")
        cls.b = cls.srv.tenant("inbox-b")
        cls.agent = cls.srv.apikey(cls.a, "agent")
        cls.admin = cls.srv.apikey(cls.a, "admin")
        cls.viewer = cls.srv.apikey(cls.a, "viewer")
        cls.owner_b = cls.srv.apikey(cls.b, "owner")
        cls.ann = cls.srv.user(cls.a, "ann@inbox.example", "agent", PASSWORD, name="Ann Agent")
        cls.ben = cls.srv.user(cls.a, "ben@inbox.example", "agent", PASSWORD, name="Ben Agent")
        cls.sms, sms_key = wu.add_account(cls.srv, cls.a, "twilio",
                                          {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.wa, wa_key = wu.add_account(cls.srv, cls.a, "whatsapp",
                                        {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                         "app_secret": APP_SECRET, "verify_token": "verify-inbox"})
        mail = cls.srv.cli_json("channel", "add", "--tenant", cls.a, "--provider", "sendgrid", "--name", "Mail",
                                "--set-stdin", "--json", input="api_key=%s\nfrom_email=%s\n" % (SG_KEY, SHOP))
        cls.mail, cls.inbound_url = mail["id"], mail["webhook_urls"]["inbound_parse"]
        cls.sms_b, sms_b_key = wu.add_account(cls.srv, cls.b, "twilio",
                                              {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.sms_path = "/webhooks/twilio/" + sms_key
        cls.sms_b_path = "/webhooks/twilio/" + sms_b_key
        cls.wa_path = "/webhooks/whatsapp/" + wa_key
        # The traffic every test sees, oldest first.
        cls.inbound_wa(ADA_WA, "Hello from WhatsApp", name="Ada Lovelace")
        cls.inbound_sms(BOB, "First SMS")
        cls.inbound_sms(BOB, "Second SMS\n\nwith   spaces")
        cls.inbound_sms(CAROL, "Carol here")
        cls.inbound_mail(GRACE, "Invoice", "Please send the invoice")
        cls.inbound_sms(BOB, "Bob of tenant B", path=cls.sms_b_path)
        wait_for(lambda: len(cls.list_all(cls.agent)) == 4 and len(cls.list_all(cls.owner_b)) == 1
                 and sum(c["unread_count"] for c in cls.list_all(cls.agent)) == 5, what="the first traffic")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        for f in (cls.twilio, cls.meta, cls.sg):
            f.stop()

    # ------------------------------------------------------------ helpers

    @classmethod
    def inbound_sms(cls, frm, text, path=None):
        sid = "SM" + uuid.uuid4().hex
        st, _, body = wu.twilio_post(cls.srv, path or cls.sms_path, wu.twilio_inbound(sid, text, frm=frm, to=FROM),
                                     TOKEN, cls.public)
        assert st == 200, body
        return sid

    @classmethod
    def inbound_wa(cls, wa_id, text, name=None):
        wamid = "wamid." + uuid.uuid4().hex
        contacts = [{"profile": {"name": name}, "wa_id": wa_id}] if name else []
        st, _, body = wu.meta_post(cls.srv, cls.wa_path,
                                   wu.wa_payload(PNID, messages=[wu.wa_text(wamid, wa_id, text)], contacts=contacts),
                                   APP_SECRET)
        assert st == 200, body
        return wamid

    @classmethod
    def inbound_mail(cls, frm, subject, text):
        r = ctl(cls.sg, "/_fake/inbound", {"url": cls.inbound_url, "from": "Grace Hopper <%s>" % frm, "to": SHOP,
                                           "subject": subject, "text": text,
                                           "message_id": "<%s@example.com>" % uuid.uuid4().hex})
        assert r["status"] == 200, r

    @classmethod
    def list_all(cls, key, query=""):
        """Every page of the list (limit 100), in order."""
        out, cursor = [], None
        while True:
            q = query + ("&" if query else "") + "limit=100" + ("&cursor=" + cursor if cursor else "")
            st, body = cls.srv.json("GET", "/api/v1/conversations?" + q, key=key)
            assert st == 200, body
            out += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return out

    def get(self, path, key=None, headers=None):
        """GET with key, or a dashboard session's headers, or else the agent's key."""
        return self.srv.json("GET", path, key=key or (None if headers else self.agent), headers=headers)

    def ids(self, query, key=None, headers=None):
        st, body = self.get("/api/v1/conversations?" + query, key, headers)
        self.assertEqual(st, 200, body)
        self.assertIsNone(body["next_cursor"])
        return [c["id"] for c in body["data"]]

    def conv_of(self, address, wait=False):
        """The tenant A conversation whose customer address is address (wait: until there is one)."""
        def find():
            for c in self.list_all(self.agent):
                if c["contact"]["address"] == address:
                    return c
            return None
        c = wait_for(find, what="a conversation with " + address) if wait else find()
        if not c:
            raise AssertionError("no conversation with " + address)
        return c

    def login(self, email):
        st, h, body = self.srv.json_full("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
        self.assertEqual(st, 200, body)
        return {"Cookie": h["set-cookie"].split(";")[0], "X-CSRF-Token": body["csrf_token"]}

    def read(self, cid, key=None):
        return self.srv.json("POST", "/api/v1/conversations/%s/read" % cid, key=key or self.agent)

    def next_of(self, ws, types, timeout=10):
        """The next event of one of types (others are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = ws.next(max(0.1, deadline - time.monotonic()))
            if ev and ev.get("type") in types:
                return ev
        return None

    # -------------------------------------------------------------- tests

    def test_inbox__list_rows_carry_what_the_row_shows(self):
        rows = self.list_all(self.agent)
        keys = [(c["last_activity_at"], c["id"]) for c in rows]
        self.assertEqual(keys, sorted(keys, reverse=True))
        for c in rows:
            self.assertEqual(c["last_activity_at"], c["last_message_at"])
            self.assertEqual(c["unread_count"], c["unread"])
            self.assertEqual(set(c["last_message"]), {"id", "direction", "type", "preview", "status", "created_at"})
            self.assertEqual(set(c["contact"]), {"id", "name", "address"})
        ada = self.conv_of("+" + ADA_WA)
        self.assertEqual((ada["channel"], ada["account_id"], ada["account_name"]), ("whatsapp", self.wa, "whatsapp test"))
        self.assertEqual(ada["contact"]["name"], "Ada Lovelace")
        self.assertEqual((ada["assignee_id"], ada["assignee_name"]), (None, None))
        bob = self.conv_of(BOB)
        self.assertEqual((bob["channel"], bob["account_name"]), ("sms", "twilio test"))
        last = bob["last_message"]
        self.assertEqual((last["direction"], last["type"], last["status"]), ("inbound", "text", "received"))
        self.assertEqual(last["preview"], "Second SMS with spaces")  # white space runs are one space
        st, msgs = self.get("/api/v1/conversations/%s/messages" % bob["id"])
        self.assertEqual(last["id"], msgs["data"][-1]["id"])
        grace = self.conv_of(GRACE.lower())
        self.assertEqual((grace["channel"], grace["account_name"], grace["unread_count"]), ("email", "Mail", 1))
        self.assertEqual(grace["last_message"]["preview"], "Please send the invoice")
        # Tenant B sees its own Bob only.
        b_rows = self.list_all(self.owner_b)
        self.assertEqual([c["contact"]["address"] for c in b_rows], [BOB])
        self.assertNotIn(b_rows[0]["id"], [c["id"] for c in rows])

    def test_inbox__filters_alone_and_combined(self):
        carol = self.conv_of(CAROL)
        ada = self.conv_of("+" + ADA_WA)
        grace = self.conv_of(GRACE.lower())
        st, _ = self.srv.json("PATCH", "/api/v1/conversations/" + carol["id"], {"status": "pending"}, key=self.agent)
        self.assertEqual(st, 200)
        st, _ = self.srv.json("PATCH", "/api/v1/conversations/" + grace["id"],
                              {"status": "resolved", "assignee_id": self.ben}, key=self.agent)
        self.assertEqual(st, 200)
        st, cv = self.srv.json("PATCH", "/api/v1/conversations/" + ada["id"], {"assignee_id": self.ann},
                               key=self.agent)
        self.assertEqual((st, cv["assignee_name"]), (200, "Ann Agent"), cv)
        try:
            rows = self.list_all(self.agent)
            every = [c["id"] for c in rows]

            def subset(pred):
                return [c["id"] for c in rows if pred(c)]

            cases = [
                ("status=pending", lambda c: c["status"] == "pending"),
                ("status=resolved", lambda c: c["status"] == "resolved"),
                ("status=open", lambda c: c["status"] == "open"),
                ("channel=sms", lambda c: c["channel"] == "sms"),
                ("channel=whatsapp", lambda c: c["channel"] == "whatsapp"),
                ("account_id=" + self.mail, lambda c: c["account_id"] == self.mail),
                ("assignee=" + self.ann, lambda c: c["assignee_id"] == self.ann),
                ("assignee=none", lambda c: c["assignee_id"] is None),
                ("unread=true", lambda c: c["unread_count"] > 0),
                ("unread=false", lambda c: True),
                ("channel=sms&status=pending", lambda c: c["channel"] == "sms" and c["status"] == "pending"),
                ("status=open&assignee=none&unread=true",
                 lambda c: c["status"] == "open" and c["assignee_id"] is None and c["unread_count"] > 0),
                ("account_id=%s&assignee=%s" % (self.wa, self.ann),
                 lambda c: c["account_id"] == self.wa and c["assignee_id"] == self.ann),
                ("channel=email&status=open", lambda c: False),
            ]
            for query, pred in cases:
                self.assertEqual(self.ids(query), subset(pred), query)
            self.assertEqual(self.ids("status=pending"), [carol["id"]])
            self.assertEqual(self.ids("channel=whatsapp"), [ada["id"]])
            self.assertEqual(self.ids("assignee=" + self.ben), [grace["id"]])
            self.assertEqual(len(self.ids("assignee=none")), len(every) - 2)
            # "me" is the signed-in user.
            self.assertEqual(self.ids("assignee=me", key=None, headers=self.login("ann@inbox.example")), [ada["id"]])
            self.assertEqual(self.ids("assignee=me&status=resolved", key=None,
                                      headers=self.login("ben@inbox.example")), [grace["id"]])
            rows_ben = self.list_all(self.agent, "assignee=" + self.ben)
            self.assertEqual(rows_ben[0]["assignee_name"], "Ben Agent")
            for query, code in (("status=closed", "invalid_status"), ("unread=yes", "invalid_request"),
                                ("assignee=me", "invalid_assignee"), ("limit=0", "invalid_limit"),
                                ("cursor=nope", "invalid_cursor"), ("q=" + "x" * 101, "invalid_request")):
                st, body = self.get("/api/v1/conversations?" + query)
                self.assertEqual((st, body["error"]["code"]), (400, code), query)
            # Another tenant's account filters to nothing.
            self.assertEqual(self.ids("account_id=" + self.sms_b), [])
        finally:
            for c in (carol, grace, ada):
                self.srv.json("PATCH", "/api/v1/conversations/" + c["id"], {"status": "open", "assignee_id": None},
                              key=self.agent)

    def test_inbox__search_by_name_phone_and_email(self):
        ada = self.conv_of("+" + ADA_WA)["id"]
        bob = self.conv_of(BOB)["id"]
        carol = self.conv_of(CAROL)["id"]
        grace = self.conv_of(GRACE.lower())["id"]
        q = lambda text: self.ids("q=" + urllib.parse.quote(text))  # noqa: E731
        self.assertEqual(q("Ada"), [ada])
        self.assertEqual(q("lovelace"), [ada])
        self.assertEqual(q("+15550002002"), [bob])
        self.assertEqual(q("15550002002"), [bob])
        self.assertEqual(q("555 000 2002"), [bob])
        self.assertEqual(q("(555) 000-3003"), [carol])
        self.assertEqual(q(ADA_WA), [ada])                      # the wa_id without "+"
        self.assertEqual(sorted(q("555000")), sorted([ada, bob, carol]))
        self.assertEqual(q("grace.hopper@example.com"), [grace])
        self.assertEqual(q("GRACE.HOPPER@EXAMPLE.COM"), [grace])
        self.assertEqual(q("hopper@"), [grace])
        self.assertEqual(q("%"), [])                            # LIKE wildcards are literal
        self.assertEqual(q("_"), [])
        self.assertEqual(q("nobody at all"), [])
        self.assertEqual(self.ids("q=bob+of"), [])              # tenant B's contact
        self.assertEqual(self.ids("q=15550002002&channel=whatsapp"), [])
        self.assertEqual(self.ids("q=5550003&status=open&channel=sms"), [carol])

    def test_inbox__pagination_is_stable(self):
        fillers = {"+1555009%04d" % i for i in range(7)}
        for i, a in enumerate(sorted(fillers)):
            self.inbound_sms(a, "page filler %d" % i)
        # Every filler processed (not just "enough rows": a late one would land on top mid-walk).
        wait_for(lambda: fillers <= {c["contact"]["address"] for c in self.list_all(self.agent)},
                 what="the fillers")
        before = [c["id"] for c in self.list_all(self.agent)]
        seen, cursor, pages, moved = [], None, 0, None
        while True:
            st, body = self.get("/api/v1/conversations?limit=3" + ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(st, 200, body)
            self.assertLessEqual(len(body["data"]), 3)
            seen += [c["id"] for c in body["data"]]
            cursor = body["next_cursor"]
            pages += 1
            if pages == 2:
                # New activity moves a conversation already seen to the top: the walk goes on
                # below where it was, without repeating or skipping the rest.
                moved = body["data"][1]["contact"]["address"]
                self.inbound_sms(moved, "back on top")
                wait_for(lambda: self.list_all(self.agent)[0]["contact"]["address"] == moved,
                         what="the moved conversation")
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(seen, before)
        # A filtered walk pages the same way.
        seen, cursor = [], None
        while True:
            st, body = self.get("/api/v1/conversations?channel=sms&limit=2" + ("&cursor=" + cursor if cursor else ""))
            seen += [c["id"] for c in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [c["id"] for c in self.list_all(self.agent, "channel=sms")])

    def test_inbox__unread_counts_inbound_and_read_resets(self):
        ws = WS(self.srv, self.agent)
        self.assertEqual(ws.status, 101)
        frm = "+15550077001"
        try:
            self.inbound_sms(frm, "one")
            ev = self.next_of(ws, ("message.created",))
            self.assertEqual((ev["data"]["body"], ev["data"]["unread_count"]), ("one", 1), ev)
            self.inbound_sms(frm, "two")
            ev = self.next_of(ws, ("message.created",))
            self.assertEqual((ev["data"]["body"], ev["data"]["unread_count"]), ("two", 2), ev)
            conv = wait_for(lambda: (lambda c: c if c["unread_count"] == 2 else None)(self.conv_of(frm, True)))
            cid = conv["id"]
            self.assertIn(cid, self.ids("unread=true"))
            # Viewers read but do not mark; other tenants and unknown ids are 404.
            st, body = self.read(cid, key=self.viewer)
            self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
            self.assertEqual(self.read(cid, key=self.owner_b)[0], 404)
            self.assertEqual(self.read("cnv_nope")[0], 404)
            st, body = self.read(cid)
            self.assertEqual((st, body["id"], body["unread_count"]), (200, cid, 0), body)
            self.assertIn("identities", body["contact"])
            ev = self.next_of(ws, ("conversation.read",))
            self.assertEqual(ev["data"], {"conversation_id": cid, "unread_count": 0}, ev)
            self.assertNotIn(cid, self.ids("unread=true"))
            # Again: still 200 and 0, and no second event.
            st, body = self.read(cid)
            self.assertEqual((st, body["unread_count"]), (200, 0))
            self.assertIsNone(self.next_of(ws, ("conversation.read",), timeout=1.0))
            # The next customer message counts from 0 again.
            self.inbound_sms(frm, "three")
            ev = self.next_of(ws, ("message.created",))
            self.assertEqual(ev["data"]["unread_count"], 1, ev)
        finally:
            ws.close()

    def test_inbox__agent_reply_marks_read(self):
        frm = "+15550077002"
        self.inbound_sms(frm, "anyone there?")
        cid = wait_for(lambda: (lambda c: c["id"] if c["unread_count"] == 1 else None)(self.conv_of(frm, True)))
        # An integration's send (API key) leaves the count alone.
        st, m = self.srv.json("POST", "/api/v1/messages", {"account_id": self.sms, "to": frm, "text": "auto"},
                              key=self.agent)
        self.assertEqual(st, 202, m)
        self.assertEqual(self.get("/api/v1/conversations/" + cid)[1]["unread_count"], 1)
        ws = WS(self.srv, self.agent)
        try:
            st, m = self.srv.json("POST", "/api/v1/messages", {"account_id": self.sms, "to": frm, "text": "Yes!"},
                                  headers=self.login("ann@inbox.example"))
            self.assertEqual(st, 202, m)
            ev = self.next_of(ws, ("conversation.read",))
            self.assertEqual(ev["data"]["conversation_id"], cid, ev)
        finally:
            ws.close()
        st, cv = self.get("/api/v1/conversations/" + cid)
        self.assertEqual((st, cv["unread_count"]), (200, 0))
        self.assertEqual((cv["last_message"]["direction"], cv["last_message"]["preview"]), ("outbound", "Yes!"))

    def test_inbox__get_one_has_the_list_fields(self):
        bob = self.conv_of(BOB)
        st, cv = self.get("/api/v1/conversations/" + bob["id"])
        self.assertEqual(st, 200, cv)
        for k in ("account_name", "assignee_name", "unread_count", "last_message", "last_activity_at", "channel",
                  "status", "account_id"):
            self.assertIn(k, cv)
        self.assertEqual(cv["contact"]["address"], BOB)
        self.assertEqual(cv["contact"]["identities"], [{"kind": "phone", "address": BOB}])
        self.assertEqual(self.get("/api/v1/conversations/" + bob["id"], key=self.owner_b)[0], 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
