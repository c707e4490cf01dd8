"""
Channel accounts, templates and settings over the API: owners and admins add
and remove accounts (credentials go in, never come out), everyone may list;
another tenant's account is 404 everywhere; templates sync from the fake
Meta Graph API started here (at creation with a waba_id, and on demand);
settings read by all, changed by owners and admins, checked and audited.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fakeproc import Fake, meta_template  # noqa: E402
from harness import Server  # noqa: E402

SID = "AC0123456789abcdef0123456789abcdef"
TW_TOKEN = "twilio-token-SECRET-4b1d"
WA_TOKEN = "wa-access-SECRET-9c2e"
WA_APPSECRET = "wa-appsecret-SECRET-71f3"
WA_VERIFY = "wa-verify-SECRET-d58a"
WABA = "102290129340398"
CREDENTIALS = (TW_TOKEN, WA_TOKEN, WA_APPSECRET, WA_VERIFY)
DEFAULT_HELP = "Reply STOP to unsubscribe, START to resubscribe."

TWILIO = {"provider": "twilio", "name": "Support line",
          "settings": {"account_sid": SID, "auth_token": TW_TOKEN, "from": "+14155550100"}}


def whatsapp(waba=True):
    s = {"phone_number_id": "106540352242922", "access_token": WA_TOKEN, "app_secret": WA_APPSECRET,
         "verify_token": WA_VERIFY}
    if waba:
        s["waba_id"] = WABA
    return {"provider": "whatsapp", "name": "WhatsApp", "settings": s}


class ChannelsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--waba-id", WABA)
        cls.srv = Server(env={"SB_GRAPH_API_BASE": cls.meta.base + "/v21.0",
                              "SB_PUBLIC_URL": "https://hooks.example.org"})
        cls.srv.start()
        cls.a = cls.srv.tenant("chan-a")
        cls.b = cls.srv.tenant("chan-b")
        cls.owner_a = cls.srv.apikey(cls.a, "owner")
        cls.admin_a = cls.srv.apikey(cls.a, "admin")
        cls.agent_a = cls.srv.apikey(cls.a, "agent")
        cls.viewer_a = cls.srv.apikey(cls.a, "viewer")
        cls.admin_b = cls.srv.apikey(cls.b, "admin")

    @classmethod
    def tearDownClass(cls):
        log = cls.srv.read_log()
        cls.srv.stop()
        cls.meta.stop()
        for secret in CREDENTIALS:
            assert secret not in log, "a credential reached the server log"

    def setUp(self):
        self.meta.mode(mode="ok", page_size=None,
                       templates=[meta_template("order_update", "en_US", "APPROVED", "Hi {{1}}")])

    def call(self, method, path, obj=None, key=None):
        """Like srv.json, and checks that no credential is in the answer."""
        st, hdrs, raw = self.srv.request(method, path, body=json.dumps(obj) if obj is not None else None,
                                         headers={"Authorization": "Bearer " + key,
                                                  "Content-Type": "application/json"})
        for secret in CREDENTIALS:
            self.assertNotIn(secret.encode(), raw)
        return st, json.loads(raw) if raw else None

    def create(self, body, key=None):
        st, acct = self.call("POST", "/api/v1/channels", body, key or self.admin_a)
        self.assertEqual(st, 201, acct)
        return acct

    def ids(self, key):
        st, body = self.call("GET", "/api/v1/channels", key=key)
        self.assertEqual(st, 200, body)
        return [a["id"] for a in body["data"]]

    def test_api_channels__crud(self):
        acct = self.create(TWILIO)
        self.assertTrue(acct["id"].startswith("cha_"))
        self.assertEqual((acct["provider"], acct["channel"], acct["name"], acct["address"]),
                         ("twilio", "sms", "Support line", "+14155550100"))
        url = "https://hooks.example.org/webhooks/twilio/" + acct["account_key"]
        self.assertEqual(acct["webhook_urls"], {"inbound": url, "status_callback": url})
        self.assertNotIn("settings", acct)
        st, body = self.call("GET", "/api/v1/channels", key=self.admin_a)
        listed = next(a for a in body["data"] if a["id"] == acct["id"])
        self.assertEqual(listed, acct)
        st, body = self.call("DELETE", "/api/v1/channels/" + acct["id"], key=self.admin_a)
        self.assertEqual(st, 204, body)
        self.assertNotIn(acct["id"], self.ids(self.admin_a))
        st, body = self.call("DELETE", "/api/v1/channels/" + acct["id"], key=self.admin_a)
        self.assertEqual(st, 404, body)
        st, audit = self.call("GET", "/api/v1/audit", key=self.owner_a)
        rows = [(r["action"], r["target"]) for r in audit["data"]]
        self.assertIn(("channel.create", acct["id"]), rows)
        self.assertIn(("channel.remove", acct["id"]), rows)
        created = next(r for r in audit["data"] if r["action"] == "channel.create" and r["target"] == acct["id"])
        self.assertEqual(created["details"]["provider"], "twilio")
        self.assertEqual(created["actor_type"], "apikey")

    def test_api_channels__bad_input(self):
        st, body = self.call("POST", "/api/v1/channels",
                             {"provider": "twilio", "settings": {"account_sid": SID, "auth_token": TW_TOKEN}},
                             self.admin_a)
        self.assertEqual(st, 400, body)
        self.assertEqual(body["error"]["code"], "invalid_channel_settings")
        self.assertIn("from or messaging_service_sid", body["error"]["message"])
        st, body = self.call("POST", "/api/v1/channels", {"provider": "fax", "settings": {"x": "y"}}, self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_channel_settings"))
        st, body = self.call("POST", "/api/v1/channels", {"provider": "twilio"}, self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"))
        st, body = self.call("POST", "/api/v1/channels",
                             {"provider": "twilio", "settings": {"account_sid": SID, "auth_token": 12}},
                             self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"))
        st, body = self.call("POST", "/api/v1/channels", {"provider": "twilio", "name": 3, "settings": {}},
                             self.admin_a)
        self.assertEqual(st, 400, body)

    def test_api_channels__tenant_isolation(self):
        acct = self.create(whatsapp())
        self.assertNotIn(acct["id"], self.ids(self.admin_b))
        for method, path in (("DELETE", "/api/v1/channels/%s"), ("GET", "/api/v1/channels/%s/templates"),
                             ("POST", "/api/v1/channels/%s/templates/sync")):
            st, body = self.call(method, path % acct["id"], key=self.admin_b)
            self.assertEqual(st, 404, "%s %s: %s" % (method, path, body))
        self.assertIn(acct["id"], self.ids(self.admin_a))

    def test_api_channels__roles(self):
        acct = self.create(TWILIO, self.owner_a)
        for key in (self.agent_a, self.viewer_a):
            self.assertIn(acct["id"], self.ids(key))
            st, body = self.call("POST", "/api/v1/channels", TWILIO, key)
            self.assertEqual(st, 403, body)
            st, body = self.call("DELETE", "/api/v1/channels/" + acct["id"], key=key)
            self.assertEqual(st, 403, body)
            st, body = self.call("POST", "/api/v1/channels/%s/templates/sync" % acct["id"], key=key)
            self.assertEqual(st, 403, body)
            st, body = self.call("GET", "/api/v1/channels/%s/templates" % acct["id"], key=key)
            self.assertEqual(st, 200, body)
        st, body = self.call("DELETE", "/api/v1/channels/" + acct["id"], key=self.owner_a)
        self.assertEqual(st, 204, body)

    def test_api_channels__templates(self):
        acct = self.create(whatsapp())
        self.assertEqual(acct["templates"], {"synced": 1})
        self.assertEqual(acct["webhook_urls"],
                         {"callback": "https://hooks.example.org/webhooks/whatsapp/" + acct["account_key"],
                          "verify_token_set": True})
        path = "/api/v1/channels/%s/templates" % acct["id"]
        st, body = self.call("GET", path, key=self.viewer_a)
        self.assertEqual(st, 200, body)
        self.assertEqual([(t["name"], t["status"]) for t in body["data"]], [("order_update", "approved")])
        # Meta pages through a bigger set; the sync follows every page.
        self.meta.mode(page_size=1, templates=[
            meta_template("order_update", "en_US", "APPROVED", "Hi {{1}}"),
            meta_template("order_update", "es_ES", "PENDING", "Hola {{1}}"),
            meta_template("welcome", "en_US", "REJECTED", "Welcome", "MARKETING")])
        st, body = self.call("POST", path + "/sync", key=self.admin_a)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["synced"], 3)
        self.assertEqual([(t["name"], t["language"], t["status"], t["category"], t["body"]) for t in body["data"]],
                         [("order_update", "en_US", "approved", "UTILITY", "Hi {{1}}"),
                          ("order_update", "es_ES", "pending", "UTILITY", "Hola {{1}}"),
                          ("welcome", "en_US", "rejected", "MARKETING", "Welcome")])
        pages = [r for r in self.meta.requests() if "/message_templates" in r["path"]]
        self.assertGreaterEqual(len(pages), 3)
        self.assertEqual(pages[-1]["authorization"], "Bearer " + WA_TOKEN)
        # Meta failing: 503, nothing changed.
        self.meta.mode(mode="500")
        st, body = self.call("POST", path + "/sync", key=self.admin_a)
        self.assertEqual(st, 503, body)
        self.meta.mode(mode="ok")
        st, body = self.call("GET", path, key=self.admin_a)
        self.assertEqual(len(body["data"]), 3)
        # Accounts that cannot sync say why.
        nowaba = self.create(whatsapp(waba=False))
        self.assertNotIn("templates", nowaba)
        st, body = self.call("POST", "/api/v1/channels/%s/templates/sync" % nowaba["id"], key=self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "waba_id_required"))
        tw = self.create(TWILIO)
        st, body = self.call("POST", "/api/v1/channels/%s/templates/sync" % tw["id"], key=self.admin_a)
        self.assertEqual((st, body["error"]["code"]), (400, "templates_unsupported"))
        st, body = self.call("GET", "/api/v1/channels/cha_nope/templates", key=self.admin_a)
        self.assertEqual(st, 404, body)

    def test_api_channels__create_survives_meta_down(self):
        self.meta.mode(mode="500")
        acct = self.create(whatsapp())
        self.assertEqual(acct["templates"]["synced"], 0)
        self.assertIn("templates not synced", acct["templates"]["warning"])
        self.assertIn(acct["id"], self.ids(self.admin_a))

    def test_api_channels__settings(self):
        st, body = self.call("GET", "/api/v1/settings", key=self.viewer_a)
        # Quiet hours are unset by default; the time zone is UTC.
        base = {"help_text": DEFAULT_HELP, "quiet_hours_start": None, "quiet_hours_end": None, "timezone": "UTC"}
        self.assertEqual((st, body), (200, base))
        st, body = self.call("PATCH", "/api/v1/settings", {"help_text": "Acme support: 555-0100"}, self.agent_a)
        self.assertEqual(st, 403, body)
        st, body = self.call("PATCH", "/api/v1/settings", {"help_text": "Acme support: 555-0100"}, self.admin_a)
        self.assertEqual((st, body), (200, dict(base, help_text="Acme support: 555-0100")))
        st, body = self.call("GET", "/api/v1/settings", key=self.agent_a)
        self.assertEqual(body, dict(base, help_text="Acme support: 555-0100"))
        st, body = self.call("GET", "/api/v1/settings", key=self.admin_b)
        self.assertEqual(body, base)
        for bad, code in (({"help_text": "x" * 321}, "invalid_setting"), ({"help_text": ""}, "invalid_setting"),
                          ({"colour": "red"}, "unknown_setting"), ({"help_text": 5}, "invalid_request")):
            st, body = self.call("PATCH", "/api/v1/settings", bad, self.admin_a)
            self.assertEqual((st, body["error"]["code"]), (400, code), bad)
        # One bad member: nothing is stored.
        st, body = self.call("PATCH", "/api/v1/settings", {"help_text": "changed", "colour": "red"}, self.admin_a)
        self.assertEqual(st, 400, body)
        st, body = self.call("PATCH", "/api/v1/settings", {"help_text": "é" * 320}, self.admin_a)
        self.assertEqual(st, 200, body)
        st, body = self.call("PATCH", "/api/v1/settings", {"help_text": None}, self.owner_a)
        self.assertEqual((st, body), (200, base))
        st, audit = self.call("GET", "/api/v1/audit", key=self.owner_a)
        updates = [r for r in audit["data"] if r["action"] == "settings.update"]
        self.assertEqual(len(updates), 3)
        self.assertEqual(updates[0]["details"], {"name": "help_text", "reset": True})


if __name__ == "__main__":
    unittest.main(verbosity=2)
