"""
Contacts API end to end, on the backend under test:
- POST /api/v1/contacts normalises identities like inbound addresses (E.164,
  lower-case e-mail); an identity another contact has is 409 identity_taken
  naming that contact; bad names, kinds, addresses, malformed JSON and
  oversized arrays are 400 with a message saying what is wrong;
- GET /api/v1/contacts searches names and addresses (phone digits with or
  without "+" and spaces, e-mail case-insensitively), newest activity first,
  with keyset pages;
- PATCH renames and adds/removes identities; the last identity of a contact
  with conversations cannot go (409 last_identity);
- POST /api/v1/contacts/{id}/merge moves identities, conversations and
  messages of an unknown sender into a contact, folds conversations on the
  same channel account (unread and last activity kept consistent), deletes
  the source, writes the audit entry and publishes contact.merged;
- viewers may not create, edit or merge (403); another tenant's contacts are
  404 everywhere;
- GET /api/v1/contacts/{id}: identities' opt-out and suppression standing,
  engagement counts, reachability per channel account with the codes POST
  /api/v1/messages answers (opted_out, suppressed, no_address,
  outside_window with template_only for WhatsApp);
- POST /api/v1/messages/preflight for a mixed list.
Inbound messages arrive as signed Twilio webhooks through the real pipeline;
outbound statuses for the engagement counts are written into the database as
the worker would leave them (no provider is reachable from this test).
"""
import json
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from harness import Server  # noqa: E402
from test_events import WS  # noqa: E402

SID = "AC" + "5" * 32
TOKEN = "twilio-token-contacts-4d5e"
FROM = "+14155550100"


def wait_for(fn, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class ContactsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            # Nothing here sends for real; a provider that cannot be reached fails fast.
            "SB_TWILIO_API_BASE": "http://127.0.0.1:9",
            "SB_GRAPH_API_BASE": "http://127.0.0.1:9",
            "SB_PROVIDER_TIMEOUT_MS": "300",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant("contacts-a")
        cls.other = cls.srv.tenant("contacts-b")
        cls.agent = cls.srv.apikey(cls.tenant, "agent")
        cls.owner = cls.srv.apikey(cls.tenant, "owner")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.agent_b = cls.srv.apikey(cls.other, "agent")
        cls.sms_id, cls.sms_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                                 {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.wa_id, _ = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                      {"phone_number_id": "106540352240001", "access_token": "wa-contacts-token",
                                       "app_secret": "wa-contacts-secret", "verify_token": "verify-contacts"})
        cls.mail_id, _ = wu.add_account(cls.srv, cls.tenant, "smtp",
                                        {"host": "127.0.0.1", "port": "2525", "tls": "none",
                                         "from_email": "shop@example.com"})
        cls.sms_b, _ = wu.add_account(cls.srv, cls.other, "twilio",
                                      {"account_sid": SID, "auth_token": TOKEN, "from": "+14155550199"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    # ------------------------------------------------------------ helpers

    def api(self, method, path, body=None, key=None):
        return self.srv.json(method, "/api/v1" + path, body, key=key or self.agent)

    def create(self, name, *identities, key=None):
        body = {"name": name}
        if identities:
            body["identities"] = [{"kind": k, "address": a} for k, a in identities]
        return self.api("POST", "/contacts", body, key=key)

    def created(self, name, *identities):
        st, c = self.create(name, *identities)
        self.assertEqual(st, 201, c)
        return c

    def number(self):
        return "+1415556%04d" % (uuid.uuid4().int % 10000)

    def inbound_sms(self, frm, text):
        sid = "SM" + uuid.uuid4().hex
        st, _, body = wu.twilio_post(self.srv, "/webhooks/twilio/" + self.sms_key,
                                     wu.twilio_inbound(sid, text, frm=frm, to=FROM), TOKEN, self.public)
        self.assertEqual(st, 200, body)

        def done():
            rows = wu.sql(self.srv, "SELECT m.conversation_id FROM messages m WHERE m.provider_message_id = ?",
                          (sid,))
            return rows[0][0] if rows else None
        return wait_for(done, 20, "inbound %r from %s" % (text, frm))

    def contact_of(self, address):
        rows = wu.sql(self.srv, "SELECT contact_id FROM contact_identities WHERE tenant_id = ? AND address = ?",
                      (self.tenant, address))
        return rows[0][0] if rows else None

    def search(self, q, key=None):
        import urllib.parse
        st, body = self.api("GET", "/contacts?limit=100&q=" + urllib.parse.quote(q), key=key)
        self.assertEqual(st, 200, body)
        return [c["id"] for c in body["data"]]

    def audit(self, action):
        st, body = self.api("GET", "/audit?limit=100", key=self.owner)
        self.assertEqual(st, 200, body)
        return [r for r in body["data"] if r["action"] == action]

    def reach(self, contact, account_id):
        return next(r for r in contact["reachability"] if r["account_id"] == account_id)

    # -------------------------------------------------------------- create

    def test_contacts__create_normalises_and_refuses_duplicates(self):
        phone = self.number()
        local = phone[2:5] + " " + phone[5:8] + "-" + phone[8:]
        st, c = self.create("  Ada Lovelace ", ("phone", "+1 (%s" % local.replace(" ", ") ", 1)),
                            ("email", "  Ada.%s@Example.COM " % phone[-4:]), ("phone", phone))
        self.assertEqual(st, 201, c)
        self.assertTrue(c["id"].startswith("ctc_"))
        self.assertEqual(c["name"], "Ada Lovelace")
        self.assertEqual(c["phone"], phone)
        self.assertEqual(c["email"], "ada.%s@example.com" % phone[-4:])
        self.assertEqual(sorted((i["kind"], i["address"]) for i in c["identities"]),
                         [("email", c["email"]), ("phone", phone)], "the phone given twice counts once")
        for key in ("engagement", "reachability", "created_at", "last_activity_at"):
            self.assertIn(key, c)
        st, got = self.api("GET", "/contacts/" + c["id"], key=self.viewer)
        self.assertEqual((st, got["name"]), (200, "Ada Lovelace"))
        # The same number again, written differently: taken.
        st, body = self.create("Someone Else", ("email", "else-%s@example.com" % phone[-4:]),
                               ("phone", "00" + phone[1:]))
        self.assertEqual((st, body["error"]["code"]), (409, "identity_taken"), body)
        self.assertIn(c["id"], body["error"]["message"])
        self.assertEqual(self.search("else-%s@example.com" % phone[-4:]), [], "nothing of the refused create stays")
        st, body = self.create("Ada Again", ("email", c["email"].upper()))
        self.assertEqual((st, body["error"]["code"]), (409, "identity_taken"), body)
        self.assertEqual(len(self.audit("contact.create")) >= 1, True)
        row = next(r for r in self.audit("contact.create") if r["target"] == c["id"])
        self.assertEqual(len(row["details"]["identities"]), 2)

    def test_contacts__create_bad_input_is_400(self):
        cases = [
            ({}, "invalid_request", "name"),
            ({"name": ""}, "invalid_request", "name"),
            ({"name": "   "}, "invalid_name", "1 to 200"),
            ({"name": "x" * 201}, "invalid_name", "1 to 200"),
            ({"name": "Line\nbreak"}, "invalid_name", "control"),
            ({"name": 7}, "invalid_request", "name"),
            ({"name": "A", "identities": {"kind": "phone"}}, "invalid_request", "identities"),
            ({"name": "A", "identities": ["+14155550123"]}, "invalid_request", "identities"),
            ({"name": "A", "identities": [{"kind": "phone"}]}, "invalid_request", "identities"),
            ({"name": "A", "identities": [{"kind": "fax", "address": "123"}]}, "invalid_kind", "kind"),
            ({"name": "A", "identities": [{"kind": "phone", "address": "4155550123"}]}, "invalid_address", "country"),
            ({"name": "A", "identities": [{"kind": "email", "address": "not-an-address"}]}, "invalid_address", "@"),
            ({"name": "A", "identities": [{"kind": "email", "address": "a%d@example.com" % i} for i in range(21)]},
             "invalid_request", "at most 20"),
        ]
        for body, code, words in cases:
            st, got = self.api("POST", "/contacts", body)
            self.assertEqual((st, got["error"]["code"]), (400, code), (body, got))
            self.assertIn(words, got["error"]["message"], body)
        self.assertEqual(self.created("x" * 200)["name"], "x" * 200)
        self.assertEqual(self.created("Zoë Ångström 日本")["name"], "Zoë Ångström 日本")
        for raw in (b"{", b"[]", b"", b'{"name": "A",}'):
            st, _, got = self.srv.request("POST", "/api/v1/contacts", body=raw,
                                          headers={"Authorization": "Bearer " + self.agent,
                                                   "Content-Type": "application/json"})
            got = json.loads(got)
            self.assertEqual((st, got["error"]["code"]), (400, "invalid_json"), raw)

    # -------------------------------------------------------------- search

    def test_contacts__search_and_newest_activity_first(self):
        tag = uuid.uuid4().hex[:8]
        phone = self.number()
        grace = self.created("Grace Hopper %s" % tag, ("phone", phone), ("email", "Grace.%s@Navy.example" % tag))
        alan = self.created("Alan Turing %s" % tag)
        self.assertEqual(self.search(tag), [alan["id"], grace["id"]], "newest first")
        self.assertEqual(self.search("grace hop"), [grace["id"]])
        self.assertEqual(self.search("GRACE.%s@NAVY" % tag.upper()), [grace["id"]])
        for q in (phone, phone[1:], phone[-7:], "+%s %s %s" % (phone[1:2], phone[2:5], phone[5:]),
                  "(%s) %s-%s" % (phone[2:5], phone[5:8], phone[8:])):
            self.assertEqual(self.search(q), [grace["id"]], q)
        self.assertEqual(self.search("nobody-%s" % tag), [])
        # A message from Grace makes her the newest activity.
        self.inbound_sms(phone, "hello from grace")
        self.assertEqual(self.search(tag), [grace["id"], alan["id"]])
        st, one = self.api("GET", "/contacts?limit=1&q=" + tag)
        self.assertEqual([c["id"] for c in one["data"]], [grace["id"]])
        self.assertTrue(one["next_cursor"])
        st, two = self.api("GET", "/contacts?limit=1&q=%s&cursor=%s" % (tag, one["next_cursor"]))
        self.assertEqual(([c["id"] for c in two["data"]], two["next_cursor"]), ([alan["id"]], None))
        self.assertEqual(self.search(tag, key=self.agent_b), [], "another tenant finds nothing")
        st, body = self.api("GET", "/contacts?q=" + "x" * 101)
        self.assertEqual(st, 400)

    # --------------------------------------------------------------- patch

    def test_contacts__patch_name_and_identities(self):
        phone, phone2 = self.number(), self.number()
        c = self.created("Old Name", ("phone", phone))
        st, got = self.api("PATCH", "/contacts/" + c["id"],
                           {"name": "New Name", "add_identities": [{"kind": "phone", "address": phone2},
                                                                   {"kind": "email", "address": "NEW@example.com"}],
                            "remove_identities": [{"kind": "phone", "address": phone}]})
        self.assertEqual(st, 200, got)
        self.assertEqual(got["name"], "New Name")
        self.assertEqual(sorted((i["kind"], i["address"]) for i in got["identities"]),
                         [("email", "new@example.com"), ("phone", phone2)])
        row = next(r for r in self.audit("contact.update") if r["target"] == c["id"])
        self.assertEqual(row["details"]["name"], {"from": "Old Name", "to": "New Name"})
        self.assertEqual(row["details"]["removed"], [{"kind": "phone", "address": phone}])
        other = self.created("Other", ("phone", phone))  # the removed number is free again
        st, body = self.api("PATCH", "/contacts/" + c["id"], {"add_identities": [{"kind": "phone", "address": phone}]})
        self.assertEqual((st, body["error"]["code"]), (409, "identity_taken"))
        self.assertIn(other["id"], body["error"]["message"])
        st, body = self.api("PATCH", "/contacts/" + c["id"],
                            {"remove_identities": [{"kind": "phone", "address": phone}]})
        self.assertEqual((st, body["error"]["code"]), (400, "unknown_identity"))
        for bad, code in (({}, "invalid_request"), ({"name": 5}, "invalid_request"), ({"name": ""}, "invalid_name"),
                          ({"add_identities": "x"}, "invalid_request"),
                          ({"remove_identities": [{"kind": "email", "address": "e%d@x.example" % i}
                                                  for i in range(21)]}, "invalid_request")):
            st, body = self.api("PATCH", "/contacts/" + c["id"], bad)
            self.assertEqual((st, body["error"]["code"]), (400, code), bad)
        # A contact with a conversation keeps one identity.
        frm = self.number()
        self.inbound_sms(frm, "only one identity")
        cid = self.contact_of(frm)
        st, body = self.api("PATCH", "/contacts/" + cid, {"remove_identities": [{"kind": "phone", "address": frm}]})
        self.assertEqual((st, body["error"]["code"]), (409, "last_identity"), body)
        st, body = self.api("PATCH", "/contacts/" + cid, {"remove_identities": [{"kind": "phone", "address": frm}],
                                                         "add_identities": [{"kind": "email",
                                                                             "address": "x%s@example.com" % frm[1:]}]})
        self.assertEqual(st, 200, body)
        # A contact without conversations may be left without identities.
        st, body = self.api("PATCH", "/contacts/" + other["id"],
                            {"remove_identities": [{"kind": "phone", "address": phone}]})
        self.assertEqual((st, body["identities"]), (200, []))

    # --------------------------------------------------------------- merge

    def test_contacts__merge_moves_everything_audits_and_publishes(self):
        ws = WS(self.srv, self.viewer)
        self.assertEqual(ws.status, 101)
        self.assertEqual(ws.next()["type"], "hello")
        stranger = self.number()
        conv = self.inbound_sms(stranger, "hi, it's me from the shop")
        self.inbound_sms(stranger, "second message")
        source = self.contact_of(stranger)
        known = self.created("Known Customer", ("email", "known-%s@example.com" % stranger[1:]))
        st, got = self.api("POST", "/contacts/%s/merge" % known["id"], {"source_contact_id": source})
        self.assertEqual(st, 200, got)
        self.assertEqual(got["id"], known["id"])
        self.assertEqual(got["merge"], {"identities": 1, "conversations_moved": 1, "conversations_folded": 0,
                                        "messages": 2})
        self.assertIn(("phone", stranger), [(i["kind"], i["address"]) for i in got["identities"]])
        self.assertEqual(got["engagement"]["inbound"], 2)
        st, body = self.api("GET", "/contacts/" + source)
        self.assertEqual(st, 404)
        st, cv = self.api("GET", "/conversations/" + conv)
        self.assertEqual((st, cv["contact"]["id"]), (200, known["id"]))
        st, msgs = self.api("GET", "/conversations/%s/messages" % conv)
        self.assertEqual(len(msgs["data"]), 2)
        # The next message from that number lands on the known contact.
        self.assertEqual(self.inbound_sms(stranger, "third"), conv)
        self.assertEqual(self.contact_of(stranger), known["id"])
        row = next(r for r in self.audit("contact.merge") if r["details"]["source_id"] == source)
        self.assertEqual((row["target"], row["details"]["target_id"]), (known["id"], known["id"]))
        ev = None
        for _ in range(20):
            ev = ws.next(10)
            if ev is None or ev["type"] == "contact.merged":
                break
        ws.close()
        self.assertIsNotNone(ev, "contact.merged arrived")
        self.assertEqual(ev["type"], "contact.merged")
        self.assertEqual((ev["data"]["target_id"], ev["data"]["source_id"]), (known["id"], source))

    def test_contacts__merge_folds_conversations_on_one_account(self):
        a_num, b_num = self.number(), self.number()
        conv_a = self.inbound_sms(a_num, "from the unknown number")
        target = self.created("Two Numbers", ("phone", b_num))
        conv_b = self.inbound_sms(b_num, "from the known number 1")
        self.inbound_sms(b_num, "from the known number 2")
        source = self.contact_of(a_num)
        wu.sql(self.srv, "UPDATE conversations SET status = 'resolved' WHERE id = ?", (conv_b,))
        before = {r[0]: r[1:] for r in wu.sql(self.srv, "SELECT id, unread, last_message_at, last_inbound_at"
                                                         " FROM conversations WHERE id IN (?, ?)", (conv_a, conv_b))}
        st, got = self.api("POST", "/contacts/%s/merge" % target["id"], {"source_contact_id": source})
        self.assertEqual(st, 200, got)
        self.assertEqual(got["merge"], {"identities": 1, "conversations_moved": 0, "conversations_folded": 1,
                                        "messages": 1})
        st, body = self.api("GET", "/conversations/" + conv_a)
        self.assertEqual(st, 404, "the emptied conversation is gone")
        st, cv = self.api("GET", "/conversations/" + conv_b)
        self.assertEqual(st, 200, cv)
        self.assertEqual(cv["unread"], int(before[conv_a][0]) + int(before[conv_b][0]))
        self.assertEqual(cv["status"], "open", "the more active status wins")
        row = wu.sql(self.srv, "SELECT last_message_at, last_inbound_at FROM conversations WHERE id = ?", (conv_b,))[0]
        self.assertEqual(int(row[0]), max(int(before[conv_a][1]), int(before[conv_b][1])))
        self.assertEqual(int(row[1]), max(int(before[conv_a][2]), int(before[conv_b][2])))
        st, msgs = self.api("GET", "/conversations/%s/messages" % conv_b)
        self.assertEqual([m["body"] for m in msgs["data"]],
                         ["from the unknown number", "from the known number 1", "from the known number 2"])
        self.assertEqual(wu.count(self.srv, "SELECT COUNT(*) FROM conversations WHERE contact_id = ?", (target["id"],)),
                         1)

    def test_contacts__merge_refusals(self):
        a = self.created("Merge A")
        st, body = self.api("POST", "/contacts/%s/merge" % a["id"], {"source_contact_id": a["id"]})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_merge"))
        st, body = self.api("POST", "/contacts/%s/merge" % a["id"], {})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"))
        st, body = self.api("POST", "/contacts/%s/merge" % a["id"], {"source_contact_id": 12})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"))
        st, theirs = self.create("Theirs", key=self.agent_b)
        self.assertEqual(st, 201)
        st, body = self.api("POST", "/contacts/%s/merge" % a["id"], {"source_contact_id": theirs["id"]})
        self.assertEqual(st, 404, body)
        st, body = self.api("POST", "/contacts/%s/merge" % theirs["id"], {"source_contact_id": a["id"]})
        self.assertEqual(st, 404, body)
        st, body = self.api("POST", "/contacts/ctc_nope/merge", {"source_contact_id": a["id"]})
        self.assertEqual(st, 404, body)
        st, body = self.api("GET", "/contacts/" + a["id"])
        self.assertEqual(st, 200, "a refused merge changed nothing")
        st, body = self.api("GET", "/contacts/" + theirs["id"], key=self.agent_b)
        self.assertEqual(st, 200)

    # ------------------------------------------------------- permissions

    def test_contacts__viewer_refused_and_tenants_isolated(self):
        a, b = self.created("Perm A"), self.created("Perm B")
        st, body = self.create("Viewer Made", key=self.viewer)
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"))
        st, body = self.api("PATCH", "/contacts/" + a["id"], {"name": "x"}, key=self.viewer)
        self.assertEqual(st, 403)
        st, body = self.api("POST", "/contacts/%s/merge" % a["id"], {"source_contact_id": b["id"]}, key=self.viewer)
        self.assertEqual(st, 403)
        st, body = self.api("POST", "/messages/preflight", {"account_id": self.sms_id, "contact_ids": [a["id"]]},
                            key=self.viewer)
        self.assertEqual(st, 403)
        for method, path, body in (("GET", "/contacts/" + a["id"], None),
                                   ("PATCH", "/contacts/" + a["id"], {"name": "mine now"}),
                                   ("POST", "/contacts/%s/merge" % a["id"], {"source_contact_id": b["id"]})):
            st, got = self.api(method, path, body, key=self.agent_b)
            self.assertEqual(st, 404, (method, path, got))
        st, got = self.api("GET", "/contacts/" + a["id"])
        self.assertEqual(got["name"], "Perm A")

    # -------------------------------------------------------- reachability

    def test_contacts__detail_standing_engagement_reachability(self):
        # Opted out of the SMS account by replying STOP.
        frm = self.number()
        conv = self.inbound_sms(frm, "STOP")
        cid = self.contact_of(frm)
        wait_for(lambda: wu.count(self.srv, "SELECT COUNT(*) FROM opt_outs WHERE address = ?", (frm,)), 20, "opt-out")
        st, c = self.api("GET", "/contacts/" + cid)
        self.assertEqual(st, 200, c)
        ident = c["identities"][0]
        self.assertEqual((ident["kind"], ident["opted_out"], ident["opted_out_accounts"], ident["suppressed"]),
                         ("phone", True, [self.sms_id], False))
        self.assertIsInstance(ident["opted_out_at"], int)
        self.assertEqual([r["account_id"] for r in c["reachability"]], [self.sms_id, self.wa_id, self.mail_id])
        sms = self.reach(c, self.sms_id)
        self.assertEqual((sms["available"], sms["code"], sms["channel"], sms["provider"]),
                         (False, "opted_out", "sms", "twilio"))
        self.assertTrue(sms["message"])
        self.assertEqual((self.reach(c, self.mail_id)["code"], self.reach(c, self.wa_id)["code"]),
                         ("no_address", "no_address"))
        # The same code as a real send.
        st, body = self.api("POST", "/messages", {"account_id": self.sms_id, "contact_id": cid, "text": "hi"})
        self.assertEqual((st, body["error"]["code"]), (403, "opted_out"))
        # Engagement: outbound messages by their current status, inbound ones counted.
        now = int(time.time() * 1000)
        for i, status in enumerate(("delivered", "read", "read", "failed", "undelivered", "sent")):
            wu.sql(self.srv, "INSERT INTO messages (id, tenant_id, conversation_id, account_id, direction, status,"
                             " created_at, updated_at) VALUES (?, ?, ?, ?, 'outbound', ?, ?, ?)",
                   ("msg_eng_%s_%d" % (cid, i), self.tenant, conv, self.sms_id, status, now + i, now + i))
        st, c = self.api("GET", "/contacts/" + cid)
        self.assertEqual({k: c["engagement"][k] for k in ("sent", "delivered", "read", "failed", "inbound")},
                         {"sent": 1, "delivered": 1, "read": 2, "failed": 2, "inbound": 1})
        self.assertEqual(c["engagement"]["last_outbound_at"], now + 5)
        self.assertIsInstance(c["engagement"]["last_inbound_at"], int)

        # A suppressed e-mail address, and a WhatsApp number that never wrote.
        tag = uuid.uuid4().hex[:8]
        wa = self.number()
        d = self.created("Mail And WhatsApp", ("email", "bounced-%s@example.com" % tag), ("whatsapp", wa),
                         ("phone", wa))
        st, entry = self.api("POST", "/suppressions", {"address": "bounced-%s@example.com" % tag, "channel": "email",
                                                       "reason": "hard bounce"})
        self.assertEqual(st, 201, entry)
        st, d = self.api("GET", "/contacts/" + d["id"])
        email = next(i for i in d["identities"] if i["kind"] == "email")
        self.assertEqual((email["suppressed"], email["suppression_reason"], email["suppression_source"],
                          email["opted_out"]), (True, "hard bounce", "manual", False))
        self.assertEqual((self.reach(d, self.mail_id)["available"], self.reach(d, self.mail_id)["code"]),
                         (False, "suppressed"))
        w = self.reach(d, self.wa_id)
        self.assertEqual((w["available"], w["code"], w["template_only"]), (False, "outside_window", True), w)
        self.assertIn("template", w["message"])
        s = self.reach(d, self.sms_id)
        self.assertEqual((s["available"], s["code"], s["message"], s["template_only"]), (True, None, None, False))
        st, body = self.api("POST", "/messages", {"account_id": self.wa_id, "contact_id": d["id"], "text": "hi"})
        self.assertEqual((st, body["error"]["code"]), (403, "outside_window"))
        self.assertEqual(d["engagement"], {"queued": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0,
                                           "inbound": 0, "last_inbound_at": None, "last_outbound_at": None})

    # ----------------------------------------------------------- preflight

    def test_contacts__preflight_mixed_list(self):
        ok_num, stop_num = self.number(), self.number()
        fine = self.created("Reachable", ("phone", ok_num))
        self.inbound_sms(stop_num, "STOP")
        stopped = self.contact_of(stop_num)
        wait_for(lambda: wu.count(self.srv, "SELECT COUNT(*) FROM opt_outs WHERE address = ?", (stop_num,)), 20,
                 "opt-out")
        mail_only = self.created("Mail Only", ("email", "mail-only-%s@example.com" % ok_num[1:]))
        st, theirs = self.create("Theirs", ("phone", ok_num), key=self.agent_b)
        self.assertEqual(st, 201)
        ids = [fine["id"], stopped, mail_only["id"], "ctc_unknown", theirs["id"]]
        st, body = self.api("POST", "/messages/preflight", {"account_id": self.sms_id, "contact_ids": ids})
        self.assertEqual(st, 200, body)
        self.assertEqual([(r["contact_id"], r["ok"], r["code"]) for r in body["data"]],
                         [(fine["id"], True, None), (stopped, False, "opted_out"), (mail_only["id"], False, "no_address"),
                          ("ctc_unknown", False, "contact_not_found"), (theirs["id"], False, "contact_not_found")])
        self.assertEqual((body["ok"], body["excluded"], body["account_id"]), (1, 4, self.sms_id))
        for r in body["data"][1:]:
            self.assertTrue(r["message"])
        # WhatsApp: free text outside the window is template-only; a template is checked by name.
        wa = self.created("WA Person", ("whatsapp", self.number()))
        st, body = self.api("POST", "/messages/preflight", {"account_id": self.wa_id, "contact_ids": [wa["id"]]})
        self.assertEqual([(r["code"], r["template_only"]) for r in body["data"]], [("outside_window", True)])
        st, body = self.api("POST", "/messages/preflight", {"account_id": self.wa_id, "contact_ids": [wa["id"]],
                                                            "template": {"name": "no_such", "language": "en_US"}})
        self.assertEqual(st, 200, body)
        self.assertEqual([(r["ok"], r["code"], r["template_only"]) for r in body["data"]],
                         [(False, "template_not_found", False)])
        # Bad requests.
        for bad, words in (({"contact_ids": [fine["id"]]}, "account_id"),
                           ({"account_id": self.sms_id}, "contact_ids"),
                           ({"account_id": self.sms_id, "contact_ids": []}, "1 to 500"),
                           ({"account_id": self.sms_id, "contact_ids": ["c%d" % i for i in range(501)]}, "1 to 500"),
                           ({"account_id": self.sms_id, "contact_ids": [fine["id"], 7]}, "strings"),
                           ({"account_id": self.sms_id, "contact_ids": "x"}, "contact_ids"),
                           ({"account_id": self.sms_id, "contact_ids": [fine["id"]], "template": "t"}, "template")):
            st, got = self.api("POST", "/messages/preflight", bad)
            self.assertEqual((st, got["error"]["code"]), (400, "invalid_request"), (bad, got))
            self.assertIn(words, got["error"]["message"])
        st, got = self.api("POST", "/messages/preflight", {"account_id": self.sms_b, "contact_ids": [fine["id"]]})
        self.assertEqual((st, got["error"]["code"]), (404, "account_not_found"))
        st, got = self.api("POST", "/messages/preflight",
                           {"account_id": self.sms_id, "contact_ids": [fine["id"]] * 500})
        self.assertEqual((st, len(got["data"]), got["ok"]), (200, 500, 500))


if __name__ == "__main__":
    unittest.main(verbosity=2)
