"""
Message templates end to end: the real server, its workers and the fake
providers (tests/fakes/fake_twilio.py, fake_meta.py).

Checked, on the backend under test:
- create -> submit (agent) -> approve (admin) -> send: the SMS carries the
  rendered text; a template that is only a draft, or pending, is refused
  with 403 template_not_approved and nothing reaches the provider;
- an agent (and a viewer) cannot approve or reject: 403, the template stays
  pending; a viewer cannot create;
- editing an approved template makes version 2, a draft: sends are refused
  with 403 template_not_approved until version 2 is approved; the versions
  route shows both versions with who decided and when;
- the audit log (GET /api/v1/audit) has the create, submit, approve and
  reject rows with their actors;
- a missing variable is 400 missing_variable naming it (send and preview);
  preview HTML-escapes e-mail variables; every tenant has its approved
  default e-mail template with {{unsubscribe_link}};
- WhatsApp: approval submits the template to Meta's message_templates API
  (the fake records the request), the template is not sendable while Meta
  reviews it, Meta's signed message_template_status_update webhook makes it
  sendable (the send goes by name with its parameters), a PAUSED update
  stops it again, and the decisions from Meta are in the audit log.
"""
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

SID = "AC" + "8" * 32
TOKEN = "twilio-token-tpl-5d1e"
FROM = "+14155550111"
WA_TOKEN = "wa-access-tpl-3c4d"
APP_SECRET = "meta-app-secret-tpl-91"
PNID = "106540352242933"
WABA = "102290129340411"


class TemplatesTest(unittest.TestCase):
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
            "SB_PROVIDER_TIMEOUT_MS": "2000",
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.admin = cls.srv.apikey(cls.tenant, "admin")
        cls.agent = cls.srv.apikey(cls.tenant, "agent")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.sms_id, _ = wu.add_account(cls.srv, cls.tenant, "twilio",
                                       {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.meta.mode(templates=[])
        cls.wa_id, cls.wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                               {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                                "app_secret": APP_SECRET, "verify_token": "verify-tpl",
                                                "waba_id": WABA})
        cls.meta.mode(webhook_url=cls.public + "/webhooks/whatsapp/" + cls.wa_key)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.twilio.stop()
        cls.meta.stop()

    # ------------------------------------------------------------ helpers

    def api(self, method, path, body=None, key=None):
        return self.srv.json(method, path, body, key=key or self.agent)

    def create(self, body, key=None):
        st, t = self.api("POST", "/api/v1/templates", body, key)
        self.assertEqual(st, 201, t)
        return t

    def step(self, tid, what, key, body=None, want=200):
        st, t = self.api("POST", "/api/v1/templates/%s/%s" % (tid, what), body if body is not None else {}, key)
        self.assertEqual(st, want, t)
        return t

    def send(self, body):
        return self.api("POST", "/api/v1/messages", body)

    def number(self):
        return "+1415556%04d" % (uuid.uuid4().int % 10000)

    def sends_to(self, fake, number):
        out = []
        for r in fake.requests():
            form = r.get("form") or {}
            body = r.get("json") or {}
            if form.get("To") == number or str(body.get("to", "")).lstrip("+") == number.lstrip("+"):
                out.append(r)
        return out

    def audit(self):
        st, body = self.api("GET", "/api/v1/audit?limit=500", key=self.admin)
        self.assertEqual(st, 200, body)
        return body["data"]

    def name(self, prefix):
        return "%s_%s" % (prefix, uuid.uuid4().hex[:8])

    # -------------------------------------------------------------- tests

    def test_templates__approve_then_send_and_edit_needs_approval_again(self):
        name = self.name("appt")
        t = self.create({"channel": "sms", "name": name, "language": "en",
                         "body": "Hi {{name}}, your visit is at {{time}}."})
        self.assertEqual((t["status"], t["version"], t["sendable"]), ("draft", 1, False))
        self.assertEqual(t["variables"], ["name", "time"])
        to = self.number()
        msg = {"account_id": self.sms_id, "to": to,
               "template": {"name": name, "variables": {"name": "Ada", "time": "10:00"}}}
        # A draft, then a pending template: refused before anything is queued.
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        t = self.step(t["id"], "submit", self.agent)
        self.assertEqual(t["status"], "pending")
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        # An agent cannot approve or reject; a viewer neither.
        for key in (self.agent, self.viewer):
            for what, b in (("approve", {}), ("reject", {"reason": "no"})):
                st, body = self.api("POST", "/api/v1/templates/%s/%s" % (t["id"], what), b, key)
                self.assertEqual((st, body["error"]["code"]), (403, "forbidden"), body)
        st, t = self.api("GET", "/api/v1/templates/" + t["id"])
        self.assertEqual(t["status"], "pending")
        t = self.step(t["id"], "approve", self.admin)
        self.assertEqual((t["status"], t["sendable"]), ("approved", True))
        # Approved: sent, rendered, as an SMS.
        st, m = self.send(msg)
        self.assertEqual(st, 202, m)
        self.assertEqual(m["body"], "Hi Ada, your visit is at 10:00.")
        req = wait_for(lambda: self.sends_to(self.twilio, to), 20, "the SMS")
        self.assertEqual(req[0]["form"]["Body"], "Hi Ada, your visit is at 10:00.")
        # A missing variable: refused, naming it.
        st, body = self.send({"account_id": self.sms_id, "to": to,
                              "template": {"name": name, "variables": {"name": "Ada"}}})
        self.assertEqual((st, body["error"]["code"]), (400, "missing_variable"), body)
        self.assertIn("time", body["error"]["message"])

        # Edited after approval: version 2 is a draft and the template cannot be sent.
        st, t = self.api("PATCH", "/api/v1/templates/" + t["id"], {"body": "Hi {{name}}, see you at {{time}}!"})
        self.assertEqual(st, 200, t)
        self.assertEqual((t["version"], t["status"], t["sendable"]), (2, "draft", False))
        to2 = self.number()
        msg["to"] = to2
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        self.step(t["id"], "submit", self.agent)
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        time.sleep(0.3)
        self.assertEqual(self.sends_to(self.twilio, to2), [])
        self.step(t["id"], "approve", self.admin)
        st, m = self.send(msg)
        self.assertEqual(st, 202, m)
        req = wait_for(lambda: self.sends_to(self.twilio, to2), 20, "the SMS of version 2")
        self.assertEqual(req[0]["form"]["Body"], "Hi Ada, see you at 10:00!")

        st, versions = self.api("GET", "/api/v1/templates/%s/versions" % t["id"], key=self.viewer)
        self.assertEqual(st, 200, versions)
        v2, v1 = versions["data"]
        self.assertEqual((v2["version"], v2["status"], v1["version"], v1["status"]), (2, "approved", 1, "approved"))
        self.assertEqual(v1["body"], "Hi {{name}}, your visit is at {{time}}.")
        self.assertTrue(v1["decided_by"].startswith("apikey:"))
        self.assertIsNotNone(v1["decided_at"])
        self.assertIsNotNone(v1["submitted_at"])

        # Every decision is in the audit log, with who made it.
        rows = [r for r in self.audit() if r["target"] == t["id"]]
        actions = [r["action"] for r in reversed(rows)]
        self.assertEqual(actions, ["template.create", "template.submit", "template.approve", "template.update",
                                   "template.submit", "template.approve"])
        approvals = [r for r in rows if r["action"] == "template.approve"]
        self.assertTrue(all(r["actor_type"] == "apikey" for r in approvals))
        self.assertEqual({r["details"]["version"] for r in approvals}, {1, 2})
        submits = [r for r in rows if r["action"] == "template.submit"]
        self.assertNotEqual(submits[0]["actor_id"], approvals[0]["actor_id"])  # the agent's key, not the admin's

    def test_templates__reject_roles_and_refusals(self):
        name = self.name("promo")
        st, body = self.api("POST", "/api/v1/templates", {"channel": "sms", "name": name, "body": "x"}, self.viewer)
        self.assertEqual((st, body["error"]["code"]), (403, "forbidden"), body)
        t = self.create({"channel": "sms", "name": name, "body": "Deal for {{1}}"})
        st, body = self.api("POST", "/api/v1/templates", {"channel": "sms", "name": name, "body": "again"})
        self.assertEqual((st, body["error"]["code"]), (409, "template_exists"), body)
        # Decisions need a pending version.
        st, body = self.api("POST", "/api/v1/templates/%s/approve" % t["id"], {}, self.admin)
        self.assertEqual((st, body["error"]["code"]), (409, "invalid_state"), body)
        self.step(t["id"], "submit", self.agent)
        st, body = self.api("POST", "/api/v1/templates/%s/reject" % t["id"], {}, self.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"), body)
        t = self.step(t["id"], "reject", self.admin, {"reason": "too pushy"})
        self.assertEqual(t["status"], "rejected")
        st, body = self.send({"account_id": self.sms_id, "to": self.number(),
                              "template": {"name": name, "variables": ["you"]}})
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        rows = [r for r in self.audit() if r["target"] == t["id"] and r["action"] == "template.reject"]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["details"]["reason"], "too pushy")
        # Bad content is refused with what is wrong.
        for body, word in (({"channel": "sms", "name": "Bad Name", "body": "x"}, "name"),
                           ({"channel": "sms", "name": self.name("x"), "body": "Hi {{na me}}"}, "placeholder"),
                           ({"channel": "email", "name": self.name("x"), "body": "x"}, "subject"),
                           ({"channel": "whatsapp", "name": self.name("x"), "body": "x"}, "account_id")):
            st, resp = self.api("POST", "/api/v1/templates", body)
            self.assertEqual((st, resp["error"]["code"]), (400, "invalid_template"), resp)
            self.assertIn(word, resp["error"]["message"])
        st, lst = self.api("GET", "/api/v1/templates?status=rejected", key=self.viewer)
        self.assertEqual(st, 200, lst)
        self.assertIn(t["id"], [x["id"] for x in lst["data"]])
        self.assertTrue(all(x["status"] == "rejected" for x in lst["data"]))

    def test_templates__default_email_and_preview(self):
        st, lst = self.api("GET", "/api/v1/templates?channel=email", key=self.viewer)
        self.assertEqual(st, 200, lst)
        defaults = [x for x in lst["data"] if x["is_default"]]
        self.assertEqual(len(defaults), 1, lst)
        d = defaults[0]
        self.assertEqual((d["status"], d["sendable"], d["name"]), ("approved", True, "default"))
        self.assertIn("{{unsubscribe_link}}", d["body"])
        self.assertIn("{{unsubscribe_link}}", d["html"])
        st, p = self.api("POST", "/api/v1/templates/%s/preview" % d["id"],
                         {"variables": {"subject": "Hi", "body": "5 < 6 & <b>bold</b>",
                                        "unsubscribe_link": "https://u.test/?a=1&b=2"}}, self.viewer)
        self.assertEqual(st, 200, p)
        self.assertIn("5 < 6 & <b>bold</b>", p["text"])
        self.assertIn("5 &lt; 6 &amp; &lt;b&gt;bold&lt;/b&gt;", p["html"])
        self.assertIn('href="https://u.test/?a=1&amp;b=2"', p["html"])
        self.assertEqual(p["subject"], "Hi")
        st, p = self.api("POST", "/api/v1/templates/%s/preview" % d["id"],
                         {"variables": {"subject": "Hi", "body": "x"}})
        self.assertEqual((st, p["error"]["code"]), (400, "missing_variable"), p)
        self.assertIn("unsubscribe_link", p["error"]["message"])
        # The default is there once, however often the server starts.
        self.srv.sigterm()
        self.srv.wait()
        self.srv.start()
        st, lst = self.api("GET", "/api/v1/templates?channel=email", key=self.viewer)
        self.assertEqual(len([x for x in lst["data"] if x["is_default"]]), 1)

    def test_templates__whatsapp_meta_submission_and_status_webhook(self):
        name = self.name("ship")
        t = self.create({"channel": "whatsapp", "account_id": self.wa_id, "name": name, "language": "en_US",
                         "category": "UTILITY", "header": "Shipping", "body": "Hi {{1}}, order {{2}} shipped.",
                         "footer": "Thanks",
                         "buttons": [{"type": "QUICK_REPLY", "text": "Track"}]})
        self.step(t["id"], "submit", self.agent)
        t = self.step(t["id"], "approve", self.admin)
        # Approval submitted it to Meta, with examples for its two variables.
        reqs = [r for r in self.meta.requests() if r["path"].endswith("/%s/message_templates" % WABA)
                and (r.get("json") or {}).get("name") == name]
        self.assertEqual(len(reqs), 1, reqs)
        sent = reqs[0]["json"]
        self.assertEqual((sent["language"], sent["category"]), ("en_US", "UTILITY"))
        self.assertEqual(reqs[0]["authorization"], "Bearer " + WA_TOKEN)
        comps = {c["type"]: c for c in sent["components"]}
        self.assertEqual(comps["BODY"]["text"], "Hi {{1}}, order {{2}} shipped.")
        self.assertEqual(len(comps["BODY"]["example"]["body_text"][0]), 2)
        self.assertEqual(comps["HEADER"]["text"], "Shipping")
        self.assertEqual(comps["BUTTONS"]["buttons"][0]["text"], "Track")
        self.assertEqual((t["status"], t["provider"]["status"], t["sendable"]), ("approved", "pending", False))
        meta_id = t["provider"]["id"]
        self.assertTrue(meta_id)
        to = self.number()
        msg = {"account_id": self.wa_id, "to": to,
               "template": {"name": name, "language": "en_US", "variables": ["Ada", "42"]}}
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        self.assertIn("Meta", body["error"]["message"])
        # Meta approves: its signed webhook makes the template sendable.
        res = self.meta_status(name, "APPROVED")
        self.assertEqual(res["result"], 200, res)
        wait_for(lambda: self.api("GET", "/api/v1/templates/" + t["id"])[1]["sendable"], 20, "Meta's approval")
        st, m = self.send(msg)
        self.assertEqual(st, 202, m)
        req = wait_for(lambda: self.sends_to(self.meta, to), 20, "the WhatsApp template send")[0]["json"]
        self.assertEqual((req["type"], req["template"]["name"]), ("template", name))
        self.assertEqual([p["text"] for p in req["template"]["components"][0]["parameters"]], ["Ada", "42"])
        # Positional only on WhatsApp, and every variable.
        st, body = self.send(dict(msg, template={"name": name, "language": "en_US", "variables": ["Ada"]}))
        self.assertEqual((st, body["error"]["code"]), (400, "missing_variable"), body)
        # Meta pauses it: refused again; the reason is kept.
        self.meta_status(name, "PAUSED", "Low quality")
        wait_for(lambda: self.api("GET", "/api/v1/templates/" + t["id"])[1]["provider"]["status"] == "paused", 20,
                 "Meta's pause")
        st, tpl = self.api("GET", "/api/v1/templates/" + t["id"])
        self.assertEqual((tpl["sendable"], tpl["provider"]["reason"]), (False, "Low quality"))
        st, body = self.send(msg)
        self.assertEqual((st, body["error"]["code"]), (403, "template_not_approved"), body)
        rows = [r for r in self.audit() if r["target"] == t["id"] and r["action"] == "template.provider_status"]
        self.assertEqual([r["details"]["provider_status"] for r in reversed(rows)], ["pending", "approved", "paused"])
        self.assertTrue(all(r["actor_type"] == "system" for r in rows))

        # An edit after Meta's approval goes to Meta as an edit of the same template.
        st, t2 = self.api("PATCH", "/api/v1/templates/" + t["id"], {"body": "Hi {{1}}, order {{2}} is on its way."})
        self.assertEqual((st, t2["version"], t2["sendable"]), (200, 2, False), t2)
        self.step(t["id"], "submit", self.agent)
        t2 = self.step(t["id"], "approve", self.admin)
        edits = [r for r in self.meta.requests() if r["path"].endswith("/" + meta_id)]
        self.assertEqual(len(edits), 1, edits)
        self.assertEqual(edits[0]["json"]["components"][1]["text"], "Hi {{1}}, order {{2}} is on its way.")
        self.assertEqual((t2["provider"]["status"], t2["provider"]["id"]), ("pending", meta_id))

    def test_templates__whatsapp_submission_failure_is_kept_and_retried(self):
        name = self.name("retry")
        t = self.create({"channel": "whatsapp", "account_id": self.wa_id, "name": name, "language": "en_US",
                         "body": "Code {{1}}"})
        self.step(t["id"], "submit", self.agent)
        self.meta.mode(mode="500")
        try:
            t = self.step(t["id"], "approve", self.admin)
        finally:
            self.meta.mode(mode="ok")
        self.assertEqual((t["status"], t["provider"]["status"], t["sendable"]), ("approved", "submit_failed", False))
        self.assertTrue(t["provider"]["reason"])
        t = self.step(t["id"], "submit", self.agent)
        self.assertEqual(t["provider"]["status"], "pending")
        self.assertTrue(t["provider"]["id"])

    def meta_status(self, name, event, reason=None):
        import json
        import urllib.request
        req = urllib.request.Request(self.meta.base + "/_fake/template_status", method="POST",
                                     data=json.dumps({"name": name, "language": "en_US", "event": event,
                                                      "reason": reason}).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
