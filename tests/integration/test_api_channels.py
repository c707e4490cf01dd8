"""
Channel accounts, templates and settings over the API: owners and admins add
and remove accounts (credentials go in, never come out), everyone may list;
another tenant's account is 404 everywhere; templates sync from the fake
Meta Graph API started here (at creation with a waba_id, and on demand);
settings read by all, changed by owners and admins, checked and audited.
POST /api/v1/channels/{id}/test checks an account's credentials against each
provider's fake (Twilio, WhatsApp, Instagram, Telegram, SendGrid, SMTP;
webchat has nothing to check): 200 {ok: true} with who the account is, or
200 {ok: false} with the provider's own message and code for wrong or
revoked credentials and an unreachable server; audited; owners and admins
only.
"""
import json
import os
import socket
import sys
import unittest
import urllib.request

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


SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-SECRET-pass-8e1c"
SG_KEY = "SG.sendgrid-SECRET-key-2f7a"
TG_TOKEN = "7654321:AAF-telegram-SECRET-token-c0ffee"
IG_TOKEN = "ig-access-SECRET-5d21"
IG_ID = "17841400000000777"
TEST_SECRETS = (TW_TOKEN, WA_TOKEN, SMTP_PASSWORD, SG_KEY, TG_TOKEN, IG_TOKEN, "wrong-SECRET")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ChannelTestConnectionTest(unittest.TestCase):
    """POST /api/v1/channels/{id}/test against every provider's fake."""

    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TW_TOKEN)
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN)
        cls.tg = Fake("fake_telegram.py", "--bot-token", TG_TOKEN, "--username", "shop_help_bot")
        cls.sg = Fake("fake_sendgrid.py", "--api-key", SG_KEY)
        cls.smtp = Fake("fake_smtp.py", "--username", SMTP_USER, "--password", SMTP_PASSWORD)
        with urllib.request.urlopen(cls.smtp.base + "/_fake/info", timeout=5) as r:
            cls.smtp_info = json.loads(r.read())
        cls.srv = Server(env={"SB_TWILIO_API_BASE": cls.twilio.base, "SB_GRAPH_API_BASE": cls.meta.base + "/v21.0",
                              "SB_TELEGRAM_API_BASE": cls.tg.base, "SB_SENDGRID_API_BASE": cls.sg.base,
                              "SB_PUBLIC_URL": "https://hooks.example.org"})
        cls.srv.start()
        cls.t = cls.srv.tenant("chan-test")
        cls.owner = cls.srv.apikey(cls.t, "owner")
        cls.admin = cls.srv.apikey(cls.t, "admin")
        cls.agent = cls.srv.apikey(cls.t, "agent")
        cls.viewer = cls.srv.apikey(cls.t, "viewer")
        cls.other = cls.srv.apikey(cls.srv.tenant("chan-test-b"), "owner")

    @classmethod
    def tearDownClass(cls):
        log = cls.srv.read_log()
        cls.srv.stop()
        for f in (cls.twilio, cls.meta, cls.tg, cls.sg, cls.smtp):
            f.stop()
        for secret in TEST_SECRETS:
            assert secret not in log, "a credential reached the server log"

    def call(self, method, path, obj=None, key=None):
        st, hdrs, raw = self.srv.request(method, path, body=json.dumps(obj) if obj is not None else None,
                                         headers={"Authorization": "Bearer " + (key or self.admin),
                                                  "Content-Type": "application/json"})
        for secret in TEST_SECRETS:
            self.assertNotIn(secret.encode(), raw)
        return st, json.loads(raw) if raw else None

    def account(self, provider, settings, name=None):
        st, acct = self.call("POST", "/api/v1/channels", {"provider": provider, "name": name or provider,
                                                          "settings": settings})
        self.assertEqual(st, 201, acct)
        return acct["id"]

    def check(self, acct, key=None):
        st, body = self.call("POST", "/api/v1/channels/%s/test" % acct, key=key)
        self.assertEqual(st, 200, body)
        self.assertEqual(set(body) - {"code"}, {"ok", "provider", "detail"})
        return body

    def smtp_settings(self, **over):
        s = {"host": "127.0.0.1", "port": str(self.smtp_info["smtp_port"]), "tls": "starttls",
             "username": SMTP_USER, "password": SMTP_PASSWORD, "from_email": "help@shop.example",
             "ca_file": self.smtp_info["cert"]}
        s.update(over)
        return s

    def test_channels_test__twilio(self):
        ok = self.account("twilio", {"account_sid": SID, "auth_token": TW_TOKEN, "from": "+14155550100"})
        body = self.check(ok)
        self.assertEqual((body["ok"], body["provider"]), (True, "twilio"), body)
        self.assertIn("Fake account", body["detail"])
        reqs = [r for r in self.twilio.requests() if r["path"] == "/2010-04-01/Accounts/%s.json" % SID]
        self.assertTrue(reqs and reqs[-1]["authorization"].startswith("Basic "))
        bad = self.account("twilio", {"account_sid": SID, "auth_token": "wrong-SECRET", "from": "+14155550100"})
        body = self.check(bad)
        self.assertEqual((body["ok"], body["code"]), (False, "20003"), body)
        self.assertIn("Authenticate", body["detail"])
        self.twilio.mode(account_status="suspended")
        try:
            body = self.check(ok)
        finally:
            self.twilio.mode(account_status="active")
        self.assertEqual((body["ok"], body["code"]), (False, "account_suspended"), body)

    def test_channels_test__whatsapp(self):
        settings = {"phone_number_id": "106540352242922", "access_token": WA_TOKEN, "app_secret": "a" * 16,
                    "verify_token": "v" * 16}
        body = self.check(self.account("whatsapp", settings))
        self.assertEqual((body["ok"], body["provider"]), (True, "whatsapp"), body)
        self.assertIn("+1 555-010-0000", body["detail"])
        self.assertTrue(any(r["path"].startswith("/v21.0/106540352242922?") for r in self.meta.requests()))
        body = self.check(self.account("whatsapp", dict(settings, access_token="wrong-SECRET")))
        self.assertEqual((body["ok"], body["code"]), (False, "190"), body)
        self.assertIn("Invalid OAuth access token", body["detail"])
        self.meta.mode(phone_numbers=["1"])  # the number is not the token's
        try:
            body = self.check(self.account("whatsapp", settings))
        finally:
            self.meta.mode(phone_numbers=None)
        self.assertEqual((body["ok"], body["code"]), (False, "100"), body)
        self.assertIn("does not exist", body["detail"])

    def test_channels_test__telegram(self):
        acct = self.account("telegram", {"bot_token": TG_TOKEN})
        body = self.check(acct)
        self.assertEqual((body["ok"], body["provider"]), (True, "telegram"), body)
        self.assertIn("@shop_help_bot", body["detail"])
        self.tg.mode(bot_token="7654321:AAF-new-token")  # revoked at BotFather
        try:
            body = self.check(acct)
        finally:
            self.tg.mode(bot_token=None)
        self.assertEqual((body["ok"], body["code"]), (False, "401"), body)
        self.assertIn("Unauthorized", body["detail"])

    def test_channels_test__sendgrid(self):
        good = {"api_key": SG_KEY, "from_email": "help@shop.example"}
        body = self.check(self.account("sendgrid", good))
        self.assertEqual((body["ok"], body["provider"]), (True, "sendgrid"), body)
        self.assertIn("mail.send", body["detail"])
        body = self.check(self.account("sendgrid", dict(good, api_key="wrong-SECRET")))
        self.assertFalse(body["ok"], body)
        self.assertIn("authorization required", body["detail"])
        self.sg.mode(scopes=["user.profile.read"])
        try:
            body = self.check(self.account("sendgrid", good))
        finally:
            self.sg.mode(scopes=["mail.send"])
        self.assertEqual((body["ok"], body["code"]), (False, "missing_scope"), body)

    def test_channels_test__smtp(self):
        body = self.check(self.account("smtp", self.smtp_settings()))
        self.assertEqual((body["ok"], body["provider"]), (True, "smtp"), body)
        with urllib.request.urlopen(self.smtp.base + "/_fake/sessions", timeout=5) as r:
            sessions = json.loads(r.read())
        last = sessions[-1]
        self.assertEqual((last["tls"], last["auth_user"]), (True, SMTP_USER), last)
        self.assertEqual([c for c in last["commands"] if c in ("EHLO", "STARTTLS", "AUTH", "MAIL", "QUIT")],
                         ["EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"])
        body = self.check(self.account("smtp", self.smtp_settings(password="wrong-SECRET")))
        self.assertEqual((body["ok"], body["code"]), (False, "535"), body)
        self.assertIn("Authentication credentials invalid", body["detail"])
        body = self.check(self.account("smtp", self.smtp_settings(port=str(closed_port()))))
        self.assertEqual((body["ok"], body["code"]), (False, "provider_unreachable"), body)

    def test_channels_test__webchat_always_ok(self):
        acct = self.account("webchat", {"allowed_origins": "https://shop.example.com"})
        body = self.check(acct)
        self.assertEqual((body["ok"], body["provider"]), (True, "webchat"), body)

    def test_channels_test__roles_tenancy_audit(self):
        acct = self.account("twilio", {"account_sid": SID, "auth_token": TW_TOKEN, "from": "+14155550100"},
                            name="audited")
        for key in (self.viewer, self.agent):
            st, body = self.call("POST", "/api/v1/channels/%s/test" % acct, key=key)
            self.assertEqual((st, body["error"]["code"]), (403, "forbidden"), body)
        st, body = self.call("POST", "/api/v1/channels/%s/test" % acct, key=self.other)
        self.assertEqual(st, 404, body)
        st, body = self.call("POST", "/api/v1/channels/cha_nope/test")
        self.assertEqual(st, 404, body)
        self.assertTrue(self.check(acct, key=self.owner)["ok"])
        st, audit = self.call("GET", "/api/v1/audit", key=self.owner)
        rows = [r for r in audit["data"] if r["action"] == "channel.test" and r["target"] == acct]
        self.assertEqual(len(rows), 1, audit)
        self.assertEqual(rows[0]["details"], {"provider": "twilio", "ok": True, "code": None, "http_status": 200})


class InstagramTestConnectionTest(unittest.TestCase):
    """Instagram's check at its own fake Graph API (another server: one Graph base each)."""

    @classmethod
    def setUpClass(cls):
        cls.ig = Fake("fake_instagram.py", "--access-token", IG_TOKEN, "--ig-user-id", IG_ID)
        cls.srv = Server(env={"SB_GRAPH_API_BASE": cls.ig.base + "/v21.0"})
        cls.srv.start()
        cls.t = cls.srv.tenant("ig-test")
        cls.admin = cls.srv.apikey(cls.t, "admin")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.ig.stop()

    def test_channels_test__instagram(self):
        results = []
        for token in (IG_TOKEN, "wrong-SECRET"):
            st, acct = self.srv.json("POST", "/api/v1/channels", {"provider": "instagram", "settings": {
                "ig_user_id": IG_ID, "access_token": token, "app_secret": "s" * 16, "verify_token": "v" * 16}},
                key=self.admin)
            self.assertEqual(st, 201, acct)
            st, body = self.srv.json("POST", "/api/v1/channels/%s/test" % acct["id"], key=self.admin)
            self.assertEqual(st, 200, body)
            results.append(body)
        self.assertEqual((results[0]["ok"], results[0]["provider"]), (True, "instagram"), results)
        self.assertIn("@fake_shop", results[0]["detail"])
        self.assertEqual((results[1]["ok"], results[1]["code"]), (False, "190"), results)
        self.assertIn("Invalid OAuth access token", results[1]["detail"])
        self.assertTrue(any(r["path"].startswith("/v21.0/%s?" % IG_ID) for r in self.ig.requests()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
