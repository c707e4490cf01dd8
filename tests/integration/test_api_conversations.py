"""
Conversations and contacts API: lists with filters and cursor pagination
(no duplicates or gaps, 400 on a malformed cursor or limit), one
conversation with its contact's identities, a conversation's messages oldest
first, the PATCH that resolves and assigns (agents may, viewers may not; the
assignee must be a user of the tenant; audited), contacts with search, and
another tenant's ids answered 404. Messages cannot be created through the API
yet, so the rows are written straight into the server's database, as the
inbound job would leave them.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402
from test_api_jobs import query  # noqa: E402

BASE = 1_800_000_000_000  # ms
N_CONV = 25
N_MSG = 12


def lit(v):
    """An SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def insert(table, row):
    cols = ", ".join(row.keys())
    return "INSERT INTO %s (%s) VALUES (%s)" % (table, cols, ", ".join(lit(v) for v in row.values()))


def run_sql(srv, statements):
    """Run many statements in one transaction on the server's database."""
    script = ";\n".join(statements) + ";"
    if srv.backend == "postgres":
        subprocess.run(["psql", srv.env["SB_DATABASE_URL"], "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", "-"],
                       input=script.encode(), check=True, capture_output=True, timeout=60)
    else:
        import sqlite3
        db = sqlite3.connect(os.path.join(srv.datadir, "switchboard.db"))
        db.executescript("BEGIN;\n" + script + "\nCOMMIT;")
        db.close()


def seed(srv, a, b):
    s = []
    for acc, tenant, provider, channel in (("cha_it_sms_a", a, "twilio", "sms"),
                                           ("cha_it_wa_a", a, "whatsapp", "whatsapp"),
                                           ("cha_it_sms_b", b, "twilio", "sms")):
        s.append(insert("channel_accounts", {"id": acc, "tenant_id": tenant, "provider": provider,
                                             "channel": channel, "account_key": "key_" + acc,
                                             "created_at": BASE}))
    for i in range(N_CONV):
        cid = "ctc_it_a%02d" % i
        wa = i % 4 == 0
        s.append(insert("contacts", {"id": cid, "tenant_id": a, "name": "Person %02d" % i,
                                     "created_at": BASE + i // 3, "updated_at": BASE + i // 3,
                                     "last_activity_at": BASE + (i // 2) * 1000}))
        s.append(insert("contact_identities", {"tenant_id": a, "kind": "whatsapp" if wa else "phone",
                                               "address": "+1555010%04d" % i, "contact_id": cid,
                                               "created_at": BASE}))
        if i == 1:
            s.append(insert("contact_identities", {"tenant_id": a, "kind": "email",
                                                   "address": "person01@example.com", "contact_id": cid,
                                                   "created_at": BASE + 1}))
        s.append(insert("conversations", {
            "id": "cnv_it_a%02d" % i, "tenant_id": a, "contact_id": cid,
            "account_id": "cha_it_wa_a" if wa else "cha_it_sms_a", "channel": "whatsapp" if wa else "sms",
            "status": "resolved" if i % 5 == 0 else "open",
            "last_message_at": BASE + (i // 2) * 1000,  # pairs share a time: ties broken by id
            "last_inbound_at": BASE + (i // 2) * 1000, "unread": i % 3,
            "created_at": BASE, "updated_at": BASE}))
    for j in range(N_MSG):
        inbound = j % 2 == 0
        row = {"id": "msg_it_a%02d" % j, "tenant_id": a, "conversation_id": "cnv_it_a00",
               "account_id": "cha_it_wa_a", "direction": "inbound" if inbound else "outbound",
               "type": "text", "body": "message %d" % j,
               "status": "received" if inbound else "delivered",
               "provider_message_id": "wamid.it%02d" % j,
               "created_at": BASE + (j // 3) * 10, "updated_at": BASE + (j // 3) * 10}
        if not inbound:
            row["sent_at"] = row["created_at"] + 1
            row["delivered_at"] = row["created_at"] + 2
        if j == 2:
            row["type"] = "image"
            row["media"] = '[{"id":"media-1","content_type":"image/jpeg"}]'
        if j == 5:
            row["status"] = "failed"
            row["delivered_at"] = 0
            row["failed_at"] = row["created_at"] + 3
            row["error_code"] = "131047"
            row["error_text"] = "Re-engagement message"
        s.append(insert("messages", row))
    s.append(insert("contacts", {"id": "ctc_it_b0", "tenant_id": b, "name": "Person of B",
                                 "created_at": BASE, "updated_at": BASE}))
    s.append(insert("contact_identities", {"tenant_id": b, "kind": "phone", "address": "+15550109999",
                                           "contact_id": "ctc_it_b0", "created_at": BASE}))
    s.append(insert("conversations", {"id": "cnv_it_b0", "tenant_id": b, "contact_id": "ctc_it_b0",
                                      "account_id": "cha_it_sms_b", "channel": "sms",
                                      "last_message_at": BASE + 99000, "created_at": BASE, "updated_at": BASE}))
    s.append(insert("messages", {"id": "msg_it_b0", "tenant_id": b, "conversation_id": "cnv_it_b0",
                                 "account_id": "cha_it_sms_b", "direction": "inbound", "body": "B's secret",
                                 "status": "received", "created_at": BASE, "updated_at": BASE}))
    run_sql(srv, s)


class ConversationsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.a = cls.srv.tenant("conv-a")
        cls.b = cls.srv.tenant("conv-b")
        cls.agent_user = cls.srv.user(cls.a, "agent@a.example", "agent", "correct horse battery")
        cls.b_user = cls.srv.user(cls.b, "agent@b.example", "agent", "correct horse battery")
        cls.viewer = cls.srv.apikey(cls.a, "viewer")
        cls.agent = cls.srv.apikey(cls.a, "agent")
        cls.owner = cls.srv.apikey(cls.a, "owner")
        cls.admin_b = cls.srv.apikey(cls.b, "admin")
        seed(cls.srv, cls.a, cls.b)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def get(self, path, key=None):
        return self.srv.json("GET", path, key=key or self.viewer)

    def pages(self, path, limit, key=None):
        """Every row of a list, page by page; returns (rows, number of pages)."""
        rows, cursor, n = [], None, 0
        while True:
            sep = "&" if "?" in path else "?"
            url = "%s%slimit=%d" % (path, sep, limit) + ("&cursor=" + cursor if cursor else "")
            st, body = self.get(url, key)
            self.assertEqual(st, 200, body)
            self.assertLessEqual(len(body["data"]), limit)
            rows += body["data"]
            n += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return rows, n
            self.assertEqual(len(body["data"]), limit, "only the last page is short")
            self.assertLess(n, 50)

    # ------------------------------------------------------------- lists

    def test_api_conversations__list_newest_first_and_tenant_scoped(self):
        st, body = self.get("/api/v1/conversations")
        self.assertEqual(st, 200, body)
        ids = [c["id"] for c in body["data"]]
        self.assertEqual(len(ids), N_CONV)
        self.assertIsNone(body["next_cursor"])
        self.assertNotIn("cnv_it_b0", ids)
        keys = [(c["last_message_at"], c["id"]) for c in body["data"]]
        self.assertEqual(keys, sorted(keys, reverse=True))
        c = next(c for c in body["data"] if c["id"] == "cnv_it_a01")
        self.assertEqual(c["contact"], {"id": "ctc_it_a01", "name": "Person 01", "address": "+15550100001"})
        self.assertEqual((c["channel"], c["account_id"], c["unread"]), ("sms", "cha_it_sms_a", 1))
        self.assertEqual(c["last_message_at"], "2027-01-15T08:00:00.000Z")
        self.assertEqual(set(c), {"id", "contact", "account_id", "account_name", "channel", "status", "assignee_id",
                                  "assignee_name", "last_message", "last_activity_at", "last_message_at",
                                  "last_inbound_at", "unread", "unread_count", "created_at", "updated_at"})
        self.assertIsNone(c["last_message"])  # no message rows seeded for it
        self.assertEqual(c["unread_count"], c["unread"])
        st, body = self.get("/api/v1/conversations", key=self.admin_b)
        self.assertEqual([c["id"] for c in body["data"]], ["cnv_it_b0"])

    def test_api_conversations__pagination_has_no_duplicates_or_gaps(self):
        for limit in (1, 7, 25):
            rows, n = self.pages("/api/v1/conversations", limit)
            ids = [c["id"] for c in rows]
            self.assertEqual(len(ids), N_CONV)
            self.assertEqual(len(set(ids)), N_CONV)
            self.assertEqual(n, -(-N_CONV // limit))
            keys = [(c["last_message_at"], c["id"]) for c in rows]
            self.assertEqual(keys, sorted(keys, reverse=True))
        st, body = self.get("/api/v1/conversations?status=open&limit=100")
        rows, _ = self.pages("/api/v1/conversations?status=open", 4)
        self.assertEqual([c["id"] for c in rows], [c["id"] for c in body["data"]])
        self.assertGreater(len(rows), 4)

    def test_api_conversations__filters(self):
        st, body = self.get("/api/v1/conversations?status=resolved")
        self.assertEqual(st, 200, body)
        self.assertEqual(sorted(c["id"] for c in body["data"]),
                         ["cnv_it_a%02d" % i for i in range(N_CONV) if i % 5 == 0])
        st, body = self.get("/api/v1/conversations?channel=whatsapp")
        self.assertEqual(sorted(c["id"] for c in body["data"]),
                         ["cnv_it_a%02d" % i for i in range(N_CONV) if i % 4 == 0])
        st, body = self.get("/api/v1/conversations?channel=whatsapp&status=resolved")
        self.assertEqual(sorted(c["id"] for c in body["data"]), ["cnv_it_a00", "cnv_it_a20"])
        st, body = self.get("/api/v1/conversations?status=closed")
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_status"))
        # Assign one, then filter by assignee and by "none".
        st, body = self.srv.json("PATCH", "/api/v1/conversations/cnv_it_a07", {"assignee_id": self.agent_user},
                                 key=self.agent)
        self.assertEqual(st, 200, body)
        st, body = self.get("/api/v1/conversations?assignee=" + self.agent_user)
        self.assertEqual([c["id"] for c in body["data"]], ["cnv_it_a07"])
        st, body = self.get("/api/v1/conversations?assignee=none&limit=100")
        unassigned = [c["id"] for c in body["data"]]
        self.assertNotIn("cnv_it_a07", unassigned)
        self.assertTrue(all(c["assignee_id"] is None for c in body["data"]))
        st, body = self.get("/api/v1/conversations?limit=100")
        self.assertEqual(len(body["data"]), len(unassigned) + 1)

    def test_api_conversations__bad_cursor_and_limit(self):
        for q in ("cursor=not-a-cursor", "cursor=%25%25%25", "cursor=YzEyMw", "limit=0", "limit=101",
                  "limit=ten", "limit=-5"):
            st, body = self.get("/api/v1/conversations?" + q)
            self.assertEqual(st, 400, q)
            self.assertIn(body["error"]["code"], ("invalid_cursor", "invalid_limit"), q)
        st, body = self.get("/api/v1/conversations?limit=2")
        cursor = body["next_cursor"]
        self.assertTrue(cursor)
        # A cursor belongs to its list.
        st, body = self.get("/api/v1/contacts?cursor=" + cursor)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_cursor"))
        st, body = self.get("/api/v1/conversations/cnv_it_a00/messages?cursor=" + cursor)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_cursor"))

    # --------------------------------------------------------------- one

    def test_api_conversations__get_one_with_identities(self):
        st, body = self.get("/api/v1/conversations/cnv_it_a01")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["id"], "cnv_it_a01")
        self.assertEqual(body["contact"]["name"], "Person 01")
        self.assertEqual(sorted((i["kind"], i["address"]) for i in body["contact"]["identities"]),
                         [("email", "person01@example.com"), ("phone", "+15550100001")])
        st, body = self.get("/api/v1/conversations/cnv_it_b0")
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        st, body = self.get("/api/v1/conversations/cnv_it_a01", key=self.admin_b)
        self.assertEqual(st, 404)
        st, body = self.get("/api/v1/conversations/cnv_nope")
        self.assertEqual(st, 404)

    def test_api_conversations__messages_oldest_first(self):
        rows, n = self.pages("/api/v1/conversations/cnv_it_a00/messages", 5)
        self.assertEqual(n, 3)
        self.assertEqual([m["id"] for m in rows], ["msg_it_a%02d" % j for j in range(N_MSG)])
        m = rows[2]
        self.assertEqual((m["type"], m["media"], m["direction"], m["channel"], m["status"]),
                         ("image", [{"id": "media-1", "content_type": "image/jpeg"}], "inbound", "whatsapp",
                          "received"))
        self.assertEqual(set(m), {"id", "conversation_id", "account_id", "channel", "direction", "address", "type", "body",
                                  "media", "template", "status", "provider_message_id", "error", "created_at",
                                  "sent_at", "delivered_at", "read_at", "failed_at", "updated_at", "origin", "sent_by",
                                  "subject", "html"})
        self.assertIsNone(m["error"])
        self.assertIsNone(m["template"])
        self.assertIsNone(m["sent_at"])
        m = rows[1]
        self.assertEqual((m["direction"], m["status"], m["media"]), ("outbound", "delivered", []))
        self.assertIsNotNone(m["sent_at"])
        self.assertIsNotNone(m["delivered_at"])
        m = rows[5]
        self.assertEqual(m["status"], "failed")
        self.assertEqual(m["error"], {"code": "131047", "text": "Re-engagement message"})
        self.assertIsNone(m["delivered_at"])
        self.assertIsNotNone(m["failed_at"])
        st, body = self.get("/api/v1/conversations/cnv_it_b0/messages")
        self.assertEqual(st, 404, "another tenant's conversation")
        st, body = self.get("/api/v1/conversations/cnv_it_a00/messages", key=self.admin_b)
        self.assertEqual(st, 404)
        st, body = self.get("/api/v1/conversations/cnv_it_a03/messages")
        self.assertEqual((st, body["data"], body["next_cursor"]), (200, [], None))

    # ------------------------------------------------------------- PATCH

    def test_api_conversations__patch_status_and_assignee(self):
        path = "/api/v1/conversations/cnv_it_a02"
        st, body = self.srv.json("PATCH", path, {"status": "resolved"}, key=self.viewer)
        self.assertEqual(st, 403, "viewers read only")
        st, body = self.srv.json("PATCH", path, {"status": "resolved", "assignee_id": self.agent_user},
                                 key=self.agent)
        self.assertEqual(st, 200, body)
        self.assertEqual((body["status"], body["assignee_id"]), ("resolved", self.agent_user))
        self.assertIn("identities", body["contact"])
        self.assertEqual(query(self.srv, "SELECT status FROM conversations WHERE id = 'cnv_it_a02'"), "resolved")
        st, body = self.srv.json("PATCH", path, {"assignee_id": None}, key=self.agent)
        self.assertEqual(st, 200, body)
        self.assertEqual((body["status"], body["assignee_id"]), ("resolved", None))
        for payload, code in (({"status": "closed"}, "invalid_status"),
                              ({"assignee_id": self.b_user}, "invalid_assignee"),
                              ({"assignee_id": "usr_nobody"}, "invalid_assignee"),
                              ({"assignee_id": 7}, "invalid_request"),
                              ({"status": 1}, "invalid_request"),
                              ({}, "invalid_request")):
            st, body = self.srv.json("PATCH", path, payload, key=self.agent)
            self.assertEqual((st, body["error"]["code"]), (400, code), payload)
        st, _, _ = self.srv.request("PATCH", path, body="{", headers={"Authorization": "Bearer " + self.agent})
        self.assertEqual(st, 400)
        # Another tenant cannot see it, let alone change it.
        st, body = self.srv.json("PATCH", path, {"status": "open"}, key=self.admin_b)
        self.assertEqual(st, 404)
        self.assertEqual(query(self.srv, "SELECT status FROM conversations WHERE id = 'cnv_it_a02'"), "resolved")
        st, audit = self.srv.json("GET", "/api/v1/audit", key=self.owner)
        rows = [r for r in audit["data"] if r["action"] == "conversation.update" and r["target"] == "cnv_it_a02"]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[-1]["details"], {"status": {"from": "open", "to": "resolved"},
                                               "assignee_id": {"from": None, "to": self.agent_user}})
        self.assertEqual(rows[0]["details"], {"assignee_id": {"from": self.agent_user, "to": None}})

    # ---------------------------------------------------------- contacts

    def test_api_contacts__list_search_get(self):
        rows, n = self.pages("/api/v1/contacts", 4)
        ids = [c["id"] for c in rows]
        self.assertEqual(len(ids), N_CONV)
        self.assertEqual(len(set(ids)), N_CONV)
        self.assertNotIn("ctc_it_b0", ids)
        # Newest activity first (pairs share a time: ties broken by id).
        keys = [(c["last_activity_at"], c["id"]) for c in rows]
        self.assertEqual(keys, sorted(keys, reverse=True))
        self.assertEqual(ids[:2], ["ctc_it_a24", "ctc_it_a23"])
        st, body = self.get("/api/v1/contacts?q=person%2001")
        self.assertEqual(st, 200, body)
        self.assertEqual([c["id"] for c in body["data"]], ["ctc_it_a01"])
        self.assertEqual(body["data"][0]["name"], "Person 01")
        self.assertEqual(len(body["data"][0]["identities"]), 2)
        st, body = self.get("/api/v1/contacts?q=0100013")
        self.assertEqual([c["id"] for c in body["data"]], ["ctc_it_a13"])
        st, body = self.get("/api/v1/contacts?q=EXAMPLE.com")
        self.assertEqual([c["id"] for c in body["data"]], ["ctc_it_a01"])
        st, body = self.get("/api/v1/contacts?q=Person%20of%20B")
        self.assertEqual(body["data"], [], "another tenant's contact is not found by search")
        st, body = self.get("/api/v1/contacts/ctc_it_a04")
        self.assertEqual(st, 200, body)
        self.assertEqual([(i["kind"], i["address"], i["opted_out"], i["suppressed"]) for i in body["identities"]],
                         [("whatsapp", "+15550100004", False, False)])
        self.assertEqual(body["phone"], "+15550100004")
        self.assertEqual(set(body), {"id", "name", "email", "phone", "identities", "created_at", "updated_at",
                                     "last_activity_at", "engagement", "reachability"})
        st, body = self.get("/api/v1/contacts/ctc_it_b0")
        self.assertEqual(st, 404)
        st, body = self.get("/api/v1/contacts/ctc_it_a04", key=self.admin_b)
        self.assertEqual(st, 404)
        st, body = self.get("/api/v1/contacts?q=" + "x" * 101)
        self.assertEqual(st, 400)

    def test_api_conversations__needs_credentials(self):
        st, body = self.srv.json("GET", "/api/v1/conversations")
        self.assertEqual(st, 401)
        st, body = self.srv.json("GET", "/api/v1/contacts")
        self.assertEqual(st, 401)


if __name__ == "__main__":
    unittest.main(verbosity=2)
