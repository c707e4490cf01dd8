"""
Opt-out and suppression compliance end to end: the real server, its job
workers and the fake Twilio (tests/fakes/fake_twilio.py), with inbound SMS
signed as Twilio signs them.

Checked, on the backend under test:
- keywords per tenant and channel: a tenant's own stop word opts out, the
  carrier word it replaced no longer does; another tenant keeps the carriers';
  bad lists are refused and change nothing; null goes back to the defaults;
- the suppression list API: add (403 "suppressed" on the next send), list
  with filters and pages, remove (sends again), import of CSV and JSON lines
  with per-line errors, roles; tenant A's list never affects tenant B, while
  the operator's global list (`switchboard suppress --global`) affects both
  and is invisible to the tenant API;
- the review queue: "please stop texting me" opts nobody out and creates one
  item; resolving it with opt_out makes the next send 403 "opted_out";
  dismiss leaves the sender reachable;
- unsubscribe links: GET shows a page with one button and changes nothing,
  POST (form or RFC 8058 one-click) suppresses, the next send to that
  address is refused "suppressed", a tampered token gets a 400 page;
- quiet hours in the tenant's time zone: an API send is held (202,
  held_until, its job's run_at at the end of quiet hours, the provider has
  not received it), "urgent": true and a person's reply from the dashboard
  go at once; a bad time zone is refused.
"""
import datetime
import json
import os
import sys
import time
import unittest
import urllib.parse
import uuid
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

SID = "AC" + "5" * 32
TOKEN = "twilio-token-compliance-4d5e"
FROM_A = "+14155550180"
FROM_B = "+14155550181"
PASSWORD = "correct horse battery staple"


class ComplianceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_TWILIO_API_BASE": cls.twilio.base,
            "SB_PROVIDER_TIMEOUT_MS": "2000",
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.ta = cls.srv.tenant()
        cls.tb = cls.srv.tenant()
        cls.agent_a = cls.srv.apikey(cls.ta, "agent")
        cls.admin_a = cls.srv.apikey(cls.ta, "admin")
        cls.viewer_a = cls.srv.apikey(cls.ta, "viewer")
        cls.agent_b = cls.srv.apikey(cls.tb, "agent")
        cls.admin_b = cls.srv.apikey(cls.tb, "admin")
        cls.sms_a, key_a = wu.add_account(cls.srv, cls.ta, "twilio",
                                          {"account_sid": SID, "auth_token": TOKEN, "from": FROM_A})
        cls.sms_b, key_b = wu.add_account(cls.srv, cls.tb, "twilio",
                                          {"account_sid": SID, "auth_token": TOKEN, "from": FROM_B})
        cls.path_a = "/webhooks/twilio/" + key_a
        cls.path_b = "/webhooks/twilio/" + key_b

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.twilio.stop()

    def setUp(self):
        self.twilio.mode(mode="ok", callbacks=[])

    # ------------------------------------------------------------ helpers

    def number(self):
        return "+1415556%04d" % (uuid.uuid4().int % 10000)

    def send(self, to, key=None, account=None, **extra):
        body = {"account_id": account or self.sms_a, "to": to, "text": "hello " + uuid.uuid4().hex[:6]}
        body.update(extra)
        return self.srv.json("POST", "/api/v1/messages", body, key=key or self.agent_a)

    def sends_to(self, number):
        return [r for r in self.twilio.requests() if (r.get("form") or {}).get("To") == number]

    def inbound(self, frm, text, path=None, to=FROM_A):
        sid = "SM" + uuid.uuid4().hex
        st, _, body = wu.twilio_post(self.srv, path or self.path_a, wu.twilio_inbound(sid, text, frm=frm, to=to),
                                     TOKEN, self.public)
        self.assertEqual(st, 200, body)
        wait_for(lambda: wu.sql(self.srv, "SELECT id FROM messages WHERE direction = 'inbound' AND address = ?"
                                " AND body = ?", (frm, text)), 20, "inbound %r" % text)
        # The job that processed it has committed everything it wrote.
        wait_for(lambda: wu.count(self.srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process'"
                                  " AND state <> 'done'") == 0, 20, "inbound jobs done")

    def assert_refused(self, to, code, key=None, account=None):
        st, body = self.send(to, key=key, account=account)
        self.assertEqual(st, 403, body)
        self.assertEqual(body["error"]["code"], code, body)

    def assert_accepted(self, to, key=None, account=None):
        st, body = self.send(to, key=key, account=account)
        self.assertEqual(st, 202, body)
        return body

    # ----------------------------------------------------------- keywords

    def test_compliance__keywords_per_tenant(self):
        st, kw = self.srv.json("GET", "/api/v1/compliance/keywords", key=self.viewer_a)
        self.assertEqual(st, 200, kw)
        self.assertTrue(kw["sms"]["default"])
        self.assertIn("STOP", kw["sms"]["stop"])
        # Viewers read, only admins change.
        st, body = self.srv.json("PATCH", "/api/v1/compliance/keywords", {"sms": {"stop": ["ALTO"]}},
                                 key=self.agent_a)
        self.assertEqual(st, 403, body)
        # A bad list is refused and nothing of the request is stored.
        st, body = self.srv.json("PATCH", "/api/v1/compliance/keywords",
                                 {"whatsapp": {"stop": ["PARAR"]}, "sms": {"stop": []}}, key=self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_keywords"), body)
        st, body = self.srv.json("PATCH", "/api/v1/compliance/keywords", {"fax": None}, key=self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_channel"), body)
        st, kw = self.srv.json("GET", "/api/v1/compliance/keywords", key=self.admin_a)
        self.assertTrue(kw["whatsapp"]["default"])
        st, kw = self.srv.json("PATCH", "/api/v1/compliance/keywords",
                               {"sms": {"stop": ["alto", "Parar"], "help": ["ayuda"]}}, key=self.admin_a)
        self.assertEqual(st, 200, kw)
        self.assertEqual(kw["sms"], {"default": False, "stop": ["ALTO", "PARAR"],
                                     "start": ["START", "YES", "UNSTOP"], "help": ["AYUDA"]})
        self.assertTrue(kw["email"]["default"])
        # Tenant A: "stop" is no longer a keyword, "alto" is.
        frm = self.number()
        self.inbound(frm, "stop")
        self.assert_accepted(frm)
        self.inbound(frm, "Alto!")
        self.assert_refused(frm, "opted_out")
        self.inbound(frm, "start")
        self.assert_accepted(frm)
        # Tenant B keeps the carriers' words.
        other = self.number()
        self.inbound(other, "alto", path=self.path_b, to=FROM_B)
        self.assert_accepted(other, key=self.agent_b, account=self.sms_b)
        self.inbound(other, "STOP", path=self.path_b, to=FROM_B)
        self.assert_refused(other, "opted_out", key=self.agent_b, account=self.sms_b)
        # The change is audited; null goes back to the defaults.
        rows = wu.sql(self.srv, "SELECT count(*) FROM audit_log WHERE tenant_id = ? AND action = ?",
                      (self.ta, "compliance.keywords.update"))
        self.assertGreaterEqual(int(rows[0][0]), 1)
        st, kw = self.srv.json("PATCH", "/api/v1/compliance/keywords", {"sms": None}, key=self.admin_a)
        self.assertEqual(st, 200, kw)
        self.assertTrue(kw["sms"]["default"])
        frm2 = self.number()
        self.inbound(frm2, "stop")
        self.assert_refused(frm2, "opted_out")

    # ------------------------------------------------------- suppressions

    def test_compliance__suppression_api_and_isolation(self):
        to = self.number()
        self.assert_accepted(to)
        # Agents add (manual), viewers may not.
        st, body = self.srv.json("POST", "/api/v1/suppressions", {"address": to, "channel": "sms"},
                                 key=self.viewer_a)
        self.assertEqual(st, 403, body)
        st, entry = self.srv.json("POST", "/api/v1/suppressions",
                                  {"address": to.replace("+1", "+1 "), "channel": "sms", "reason": "asked by phone"},
                                  key=self.agent_a)
        self.assertEqual(st, 201, entry)
        self.assertEqual((entry["address"], entry["channel"], entry["source"], entry["scope"]),
                         (to, "sms", "manual", "tenant"))
        self.assertEqual(entry["reason"], "asked by phone")
        self.assert_refused(to, "suppressed")
        # Tenant B may still send to the same address, and sees nothing of A's list.
        self.assert_accepted(to, key=self.agent_b, account=self.sms_b)
        st, page = self.srv.json("GET", "/api/v1/suppressions?address=" + urllib.parse.quote(to), key=self.agent_b)
        self.assertEqual((st, page["data"]), (200, []), page)
        st, body = self.srv.json("DELETE", "/api/v1/suppressions/sms/" + urllib.parse.quote(to), key=self.admin_b)
        self.assertEqual((st, body["error"]["code"]), (404, "suppression_not_found"), body)
        self.assert_refused(to, "suppressed")
        # A lists it; filters; removal needs an admin and is audited.
        st, page = self.srv.json("GET", "/api/v1/suppressions?channel=sms&address=" + urllib.parse.quote(to),
                                 key=self.viewer_a)
        self.assertEqual(st, 200, page)
        self.assertEqual([e["address"] for e in page["data"]], [to])
        st, body = self.srv.json("DELETE", "/api/v1/suppressions/sms/" + urllib.parse.quote(to), key=self.agent_a)
        self.assertEqual(st, 403, body)
        st, _ = self.srv.json("DELETE", "/api/v1/suppressions/sms/" + urllib.parse.quote(to), key=self.admin_a)
        self.assertEqual(st, 204)
        self.assert_accepted(to)
        actions = [r[0] for r in wu.sql(self.srv, "SELECT action FROM audit_log WHERE tenant_id = ? AND target = ?",
                                         (self.ta, "sms:" + to))]
        self.assertEqual(sorted(actions), ["suppression.add", "suppression.remove"])
        # "*" suppresses every channel.
        st, entry = self.srv.json("POST", "/api/v1/suppressions", {"address": to}, key=self.agent_a)
        self.assertEqual((st, entry["channel"]), (201, "*"), entry)
        self.assert_refused(to, "suppressed")
        st, _ = self.srv.json("DELETE", "/api/v1/suppressions/%2A/" + urllib.parse.quote(to), key=self.admin_a)
        self.assertEqual(st, 204)
        # Bad input.
        st, body = self.srv.json("POST", "/api/v1/suppressions", {"address": "not a number", "channel": "sms"},
                                 key=self.agent_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_address"), body)
        st, body = self.srv.json("POST", "/api/v1/suppressions", {"address": to, "channel": "fax"}, key=self.agent_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_channel"), body)

    def test_compliance__global_list_by_the_operator(self):
        to = self.number()
        rc, out, err = self.srv.cli("suppress", "add", "--global", "--channel", "sms", "--address", to,
                                    "--reason", "carrier complaint", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["scope"], "global")
        # Every tenant's sends to it are refused.
        self.assert_refused(to, "suppressed")
        self.assert_refused(to, "suppressed", key=self.agent_b, account=self.sms_b)
        # No tenant API shows or removes it.
        st, page = self.srv.json("GET", "/api/v1/suppressions?address=" + urllib.parse.quote(to), key=self.admin_a)
        self.assertEqual(page["data"], [])
        st, body = self.srv.json("DELETE", "/api/v1/suppressions/sms/" + urllib.parse.quote(to), key=self.admin_a)
        self.assertEqual(st, 404, body)
        self.assert_refused(to, "suppressed")
        listed = self.srv.cli_json("suppress", "list", "--global", "--json")
        self.assertIn(to, [e["address"] for e in listed["data"]])
        rc, out, err = self.srv.cli("suppress", "add", "--channel", "sms", "--address", to)
        self.assertEqual(rc, 2, err)  # --global or --tenant, never neither
        rc, out, err = self.srv.cli("suppress", "remove", "--global", "--channel", "sms", "--address", to)
        self.assertEqual(rc, 0, err)
        self.assert_accepted(to)
        rc, out, err = self.srv.cli("suppress", "remove", "--global", "--channel", "sms", "--address", to)
        self.assertEqual(rc, 4, err)

    def test_compliance__import(self):
        a, b, c = self.number(), self.number(), self.number()
        csv = ("address,channel,reason\n"
               "%s,sms,asked in store\r\n"
               "\"%s\",,\"said \"\"no\"\"\"\n"
               "not-a-number,sms,\n"
               "%s,fax,\n"
               "\n") % (a, b, c)
        st, _, body = self.srv.request("POST", "/api/v1/suppressions/import", body=csv,
                                       headers={"Authorization": "Bearer " + self.admin_a,
                                                "Content-Type": "text/csv"})
        self.assertEqual(st, 200, body)
        rep = json.loads(body)
        self.assertEqual((rep["added"], rep["rejected"]), (2, 2), rep)
        self.assertEqual([e["line"] for e in rep["errors"]], [4, 5])
        self.assert_refused(a, "suppressed")
        self.assert_refused(b, "suppressed")
        self.assert_accepted(c)
        st, page = self.srv.json("GET", "/api/v1/suppressions?source=import&address=" + urllib.parse.quote(b),
                                 key=self.admin_a)
        self.assertEqual(page["data"][0]["channel"], "*")
        self.assertEqual(page["data"][0]["reason"], 'said "no"')
        # JSON lines; agents may not import; other content types are refused.
        lines = json.dumps({"address": c, "channel": "sms", "reason": "r"}) + "\n{bad json\n"
        h = {"Authorization": "Bearer " + self.admin_a, "Content-Type": "application/x-ndjson"}
        st, _, body = self.srv.request("POST", "/api/v1/suppressions/import", body=lines, headers=h)
        rep = json.loads(body)
        self.assertEqual((st, rep["added"], rep["rejected"]), (200, 1, 1), rep)
        self.assert_refused(c, "suppressed")
        h["Authorization"] = "Bearer " + self.agent_a
        st, _, body = self.srv.request("POST", "/api/v1/suppressions/import", body=lines, headers=h)
        self.assertEqual(st, 403, body)
        h = {"Authorization": "Bearer " + self.admin_a, "Content-Type": "application/pdf"}
        st, _, body = self.srv.request("POST", "/api/v1/suppressions/import", body="x", headers=h)
        self.assertEqual(st, 415, body)
        # Pages: newest first, the cursor continues.
        st, p1 = self.srv.json("GET", "/api/v1/suppressions?limit=1", key=self.admin_a)
        self.assertEqual(len(p1["data"]), 1)
        self.assertTrue(p1["next_cursor"])
        st, p2 = self.srv.json("GET", "/api/v1/suppressions?limit=1&cursor=" + p1["next_cursor"], key=self.admin_a)
        self.assertEqual(len(p2["data"]), 1)
        self.assertNotEqual(p1["data"][0], p2["data"][0])
        st, body = self.srv.json("GET", "/api/v1/suppressions?cursor=garbage", key=self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_cursor"), body)

    # ------------------------------------------------------- review queue

    def test_compliance__review_queue(self):
        frm = self.number()
        self.inbound(frm, "please stop texting me")
        # Nobody is opted out by an ambiguous reply.
        self.assert_accepted(frm)
        st, page = self.srv.json("GET", "/api/v1/compliance/reviews", key=self.viewer_a)
        self.assertEqual(st, 200, page)
        items = [i for i in page["data"] if i["address"] == frm]
        self.assertEqual(len(items), 1, page)
        item = items[0]
        self.assertEqual((item["status"], item["phrase"], item["channel"]), ("open", "please stop", "sms"))
        self.assertEqual(item["excerpt"], "please stop texting me")
        # Tenant B does not see it and cannot resolve it.
        st, page_b = self.srv.json("GET", "/api/v1/compliance/reviews?status=all", key=self.agent_b)
        self.assertNotIn(item["id"], [i["id"] for i in page_b["data"]])
        st, body = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % item["id"], {"action": "opt_out"},
                                 key=self.agent_b)
        self.assertEqual(st, 404, body)
        st, body = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % item["id"], {"action": "opt_out"},
                                 key=self.viewer_a)
        self.assertEqual(st, 403, body)
        st, body = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % item["id"], {"action": "later"},
                                 key=self.agent_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_action"), body)
        st, done = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % item["id"], {"action": "opt_out"},
                                 key=self.agent_a)
        self.assertEqual((st, done["status"]), (200, "opted_out"), done)
        self.assert_refused(frm, "opted_out")
        st, body = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % item["id"], {"action": "dismiss"},
                                 key=self.agent_a)
        self.assertEqual((st, body["error"]["code"]), (409, "review_resolved"), body)
        # Dismissed: still reachable. Ordinary replies create nothing.
        other = self.number()
        self.inbound(other, "Remove me from your list.")
        self.inbound(other, "I'll stop by tomorrow")
        st, page = self.srv.json("GET", "/api/v1/compliance/reviews", key=self.agent_a)
        mine = [i for i in page["data"] if i["address"] == other]
        self.assertEqual([i["phrase"] for i in mine], ["remove me"])
        st, done = self.srv.json("POST", "/api/v1/compliance/reviews/%s/resolve" % mine[0]["id"],
                                 {"action": "dismiss"}, key=self.agent_a)
        self.assertEqual((st, done["status"]), (200, "dismissed"), done)
        self.assert_accepted(other)

    # --------------------------------------------------- unsubscribe link

    def link(self, tenant, channel, address):
        rc, out, err = self.srv.cli("suppress", "link", "--tenant", tenant, "--channel", channel,
                                    "--address", address)
        self.assertEqual(rc, 0, err)
        url = out.strip()
        self.assertTrue(url.startswith(self.public + "/u/"), url)
        return url[len(self.public):]

    def test_compliance__unsubscribe_link(self):
        to = self.number()
        path = self.link(self.ta, "sms", to)
        # GET shows the page and its one button; it unsubscribes nobody (scanners prefetch links).
        st, h, body = self.srv.request("GET", path)
        self.assertEqual(st, 200, body)
        self.assertTrue(h["content-type"].startswith("text/html"), h)
        page = body.decode()
        self.assertIn('<form method="post">', page)
        self.assertIn(to, page)
        self.assertIn("form-action 'self'", h["content-security-policy"])
        self.assert_accepted(to)
        # A tampered token: a 400 page, nothing suppressed.
        token = path[3:]
        i = token.index(".") - 5
        bad = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        for method in ("GET", "POST"):
            st, h, body = self.srv.request(method, "/u/" + bad, body="List-Unsubscribe=One-Click",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(st, 400, body)
            self.assertIn(b"not valid", body)
        self.assert_accepted(to)
        # Clicking the button (the form's POST) suppresses the address.
        st, h, body = self.srv.request("POST", path, body="List-Unsubscribe=One-Click",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        self.assertIn(b"Unsubscribed", body)
        self.assert_refused(to, "suppressed")
        st, page = self.srv.json("GET", "/api/v1/suppressions?address=" + urllib.parse.quote(to), key=self.agent_a)
        self.assertEqual([(e["source"], e["channel"]) for e in page["data"]], [("unsubscribe_link", "sms")])
        self.assertEqual(wu.count(self.srv, "SELECT count(*) FROM audit_log WHERE tenant_id = ? AND action = ?"
                                  " AND target = ?", (self.ta, "suppression.unsubscribe", "sms:" + to)), 1)
        # Tenant B is not affected; a second click is harmless.
        self.assert_accepted(to, key=self.agent_b, account=self.sms_b)
        st, _, _ = self.srv.request("POST", path)
        self.assertEqual(st, 200)
        # An e-mail address by RFC 8058 one-click, with no body at all accepted too.
        mail = "reader-%s@example.com" % uuid.uuid4().hex[:8]
        st, _, body = self.srv.request("POST", self.link(self.tb, "email", mail))
        self.assertEqual(st, 200, body)
        rows = wu.sql(self.srv, "SELECT tenant_id, channel, source FROM suppressions WHERE address = ?", (mail,))
        self.assertEqual(rows, [[self.tb, "email", "unsubscribe_link"]])

    # -------------------------------------------------------- quiet hours

    def quiet_now(self, key, zone):
        """Quiet hours around now in zone: from an hour ago to two hours on."""
        now = datetime.datetime.now(zoneinfo.ZoneInfo(zone))
        start = (now - datetime.timedelta(hours=1)).strftime("%H:%M")
        end_dt = now + datetime.timedelta(hours=2)
        st, body = self.srv.json("PATCH", "/api/v1/settings",
                                 {"timezone": zone, "quiet_hours_start": start,
                                  "quiet_hours_end": end_dt.strftime("%H:%M")}, key=key)
        self.assertEqual(st, 200, body)
        return end_dt.replace(second=0, microsecond=0)

    def test_compliance__quiet_hours(self):
        st, body = self.srv.json("PATCH", "/api/v1/settings", {"timezone": "Mars/Olympus"}, key=self.admin_b)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_setting"), body)
        st, body = self.srv.json("PATCH", "/api/v1/settings", {"quiet_hours_start": "25:00"}, key=self.admin_b)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_setting"), body)
        end = self.quiet_now(self.admin_b, "Asia/Kolkata")
        try:
            # An API send is held: queued, its job runs when quiet hours end, nothing reaches the provider.
            to = self.number()
            st, m = self.send(to, key=self.agent_b, account=self.sms_b)
            self.assertEqual(st, 202, m)
            self.assertEqual(m["status"], "queued")
            held = datetime.datetime.fromisoformat(m["held_until"].replace("Z", "+00:00"))
            self.assertEqual(held, end.astimezone(datetime.timezone.utc))
            run_at = wu.count(self.srv, "SELECT run_at FROM jobs WHERE type = 'outbound.send' AND payload LIKE ?",
                              ("%" + m["id"] + "%",))
            # (the queue adds the delay to its own clock: the same moment within a little)
            self.assertLess(abs(run_at - int(held.timestamp() * 1000)), 2000)
            self.assertGreater(run_at, time.time() * 1000 + 3600 * 1000)
            # Urgent messages go at once.
            urgent_to = self.number()
            st, u = self.send(urgent_to, key=self.agent_b, account=self.sms_b, urgent=True)
            self.assertEqual(st, 202, u)
            self.assertNotIn("held_until", u)
            wait_for(lambda: self.sends_to(urgent_to), 20, "the urgent message")
            # A person's reply from the dashboard is never held.
            email = "agent-%s@b.example" % uuid.uuid4().hex[:6]
            self.srv.user(self.tb, email, "agent", PASSWORD)
            st, h, login = self.srv.json_full("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
            self.assertEqual(st, 200, login)
            cookie = h["set-cookie"].split(";")[0]
            reply_to = self.number()
            st, r = self.srv.json("POST", "/api/v1/messages",
                                  {"account_id": self.sms_b, "to": reply_to, "text": "a person answers"},
                                  headers={"Cookie": cookie, "X-CSRF-Token": login["csrf_token"]})
            self.assertEqual(st, 202, r)
            self.assertEqual(r["origin"], "agent")
            self.assertNotIn("held_until", r)
            wait_for(lambda: self.sends_to(reply_to), 20, "the agent's reply")
            # The held one still has not gone; tenant A has no quiet hours.
            self.assertEqual(self.sends_to(to), [])
            a_to = self.number()
            st, a = self.send(a_to)
            self.assertEqual(st, 202, a)
            self.assertNotIn("held_until", a)
            wait_for(lambda: self.sends_to(a_to), 20, "tenant A's message")
        finally:
            st, _ = self.srv.json("PATCH", "/api/v1/settings", {"quiet_hours_start": None, "quiet_hours_end": None},
                                  key=self.admin_b)
            self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
