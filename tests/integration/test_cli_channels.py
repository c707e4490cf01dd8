"""
`switchboard channel add|list|remove|templates`: accounts added from --set
flags and from --set-stdin, printed with their webhook URLs (text and
--json), refused with exit 2 and a message naming the bad setting, removed
(exit 4 for an unknown id or tenant). Credentials never appear in any output
nor in the server's log, and after `switchboard keys rotate` the account
still opens its credentials (templates sync with them against the fake Meta
Graph API started here, by the CLI and by the server).
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
PUBLIC = "https://sb.example.com"


class ChannelsCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--waba-id", WABA)

    @classmethod
    def tearDownClass(cls):
        cls.meta.stop()

    def setUp(self):
        self.meta.mode(mode="ok", templates=[meta_template("order_update", "en_US", "APPROVED", "Hi {{1}}")])
        self.srv = Server(env={"SB_GRAPH_API_BASE": self.meta.base + "/v21.0", "SB_PUBLIC_URL": PUBLIC})
        self.srv.migrate()
        self.tenant = self.srv.tenant("channels")
        self.outputs = []

    def tearDown(self):
        for text in self.outputs:
            for secret in CREDENTIALS:
                self.assertNotIn(secret, text)
        self.srv.stop()

    def cli(self, *args, input=None):
        rc, out, err = self.srv.cli(*args, input=input)
        self.outputs.append(out + err)
        return rc, out, err

    def add_twilio(self, *extra):
        return self.cli("channel", "add", "--tenant", self.tenant, "--provider", "twilio", "--name", "Main line",
                        "--set", "account_sid=" + SID, "--set", "auth_token=" + TW_TOKEN,
                        "--set", "from=+14155550100", *extra)

    def add_whatsapp_stdin(self):
        lines = ["# WhatsApp Cloud API", "phone_number_id=106540352242922", "access_token=" + WA_TOKEN, "",
                 "app_secret=" + WA_APPSECRET, "verify_token=" + WA_VERIFY, "waba_id=" + WABA]
        return self.cli("channel", "add", "--tenant", self.tenant, "--provider", "whatsapp", "--set-stdin", "--json",
                        input="\r\n".join(lines) + "\n")

    def list_json(self):
        rc, out, err = self.cli("channel", "list", "--tenant", self.tenant, "--json")
        self.assertEqual(rc, 0, err)
        return json.loads(out)["data"]

    def test_cli_channels__add_with_set_flags(self):
        rc, out, err = self.add_twilio("--json")
        self.assertEqual(rc, 0, err)
        acct = json.loads(out)
        self.assertTrue(acct["id"].startswith("cha_"))
        self.assertEqual((acct["provider"], acct["channel"], acct["name"], acct["address"]),
                         ("twilio", "sms", "Main line", "+14155550100"))
        self.assertGreaterEqual(len(acct["account_key"]), 32)
        url = "%s/webhooks/twilio/%s" % (PUBLIC, acct["account_key"])
        self.assertEqual(acct["webhook_urls"], {"inbound": url, "status_callback": url})
        self.assertNotIn("templates", acct)
        # Plain text: the id first, then the key and the URL to paste at Twilio.
        rc, out, err = self.cli("channel", "add", "--tenant", self.tenant, "--provider", "twilio",
                                "--set", "account_sid=" + SID, "--set=auth_token=" + TW_TOKEN + "==",
                                "--set", "messaging_service_sid=MG0123456789abcdef0123456789abcdef")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("cha_"), out)
        self.assertIn("account key: ", out)
        self.assertIn(PUBLIC + "/webhooks/twilio/", out)
        # Listed, oldest first, in text and JSON, without credentials.
        rc, out, err = self.cli("channel", "list", "--tenant", self.tenant)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 2)
        self.assertTrue(out.startswith(acct["id"] + "\ttwilio\tsms\t+14155550100\tMain line\t" + url))
        listed = self.list_json()
        self.assertEqual([a["id"] for a in listed][0], acct["id"])
        self.assertEqual(listed[1]["address"], "MG0123456789abcdef0123456789abcdef")
        # A value with '=' in it is kept whole (the token is checked by the
        # server's credentials, so read it back through the secret store).
        rc, out, err = self.cli("secret", "get", "--tenant", self.tenant, "--name", "channel/" + listed[1]["id"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["auth_token"], TW_TOKEN + "==")
        self.outputs.pop()  # that output shows the credentials on purpose

    def test_cli_channels__add_from_stdin_syncs_templates(self):
        rc, out, err = self.add_whatsapp_stdin()
        self.assertEqual(rc, 0, err)
        acct = json.loads(out)
        self.assertEqual((acct["provider"], acct["channel"], acct["address"]),
                         ("whatsapp", "whatsapp", "106540352242922"))
        self.assertEqual(acct["webhook_urls"], {"callback": "%s/webhooks/whatsapp/%s" % (PUBLIC, acct["account_key"]),
                                                "verify_token_set": True})
        self.assertEqual(acct["templates"], {"synced": 1})
        rc, out, err = self.cli("channel", "templates", "--tenant", self.tenant, "--id", acct["id"], "--json")
        self.assertEqual(rc, 0, err)
        data = json.loads(out)["data"]
        self.assertEqual([(t["name"], t["language"], t["status"], t["body"]) for t in data],
                         [("order_update", "en_US", "approved", "Hi {{1}}")])
        # A new template at Meta: --sync fetches it.
        self.meta.mode(templates=[meta_template("order_update", "en_US", "APPROVED", "Hi {{1}}"),
                                  meta_template("promo", "en_US", "PENDING", "Sale!", "MARKETING")])
        rc, out, err = self.cli("channel", "templates", "--tenant", self.tenant, "--id", acct["id"], "--sync")
        self.assertEqual(rc, 0, err)
        self.assertIn("synced 2 template(s)", out)
        self.assertIn("promo\ten_US\tpending\tMARKETING", out)

    def test_cli_channels__meta_down_is_a_warning(self):
        self.meta.mode(mode="500")
        rc, out, err = self.add_whatsapp_stdin()
        self.assertEqual(rc, 0, err)
        self.assertIn("warning", err)
        self.assertIn("templates were not synced", err)
        acct = json.loads(out)
        self.assertEqual(acct["templates"]["synced"], 0)
        self.assertIn("templates not synced", acct["templates"]["warning"])
        self.assertEqual([a["id"] for a in self.list_json()], [acct["id"]])

    def test_cli_channels__bad_settings_exit_2(self):
        cases = [
            (["--provider", "twilio", "--set", "account_sid=" + SID, "--set", "from=+14155550100"],
             "twilio needs auth_token"),
            (["--provider", "twilio", "--set", "account_sid=AC12", "--set", "auth_token=" + TW_TOKEN,
              "--set", "from=+14155550100"], "account_sid must be AC followed by 32 hex digits"),
            (["--provider", "twilio", "--set", "account_sid=" + SID, "--set", "auth_token=" + TW_TOKEN],
             "from or messaging_service_sid"),
            (["--provider", "whatsapp", "--set", "phone_number_id=1065", "--set", "access_token=" + WA_TOKEN],
             "whatsapp needs app_secret, verify_token"),
            (["--provider", "signal", "--set", "token=" + TW_TOKEN], "unknown provider"),
            (["--provider", "twilio", "--set", TW_TOKEN], "expected KEY=VALUE"),
            (["--provider", "twilio"], "--set KEY=VALUE"),
        ]
        for args, want in cases:
            rc, out, err = self.cli("channel", "add", "--tenant", self.tenant, *args)
            self.assertEqual(rc, 2, "%s: %s" % (args, err))
            self.assertIn(want, err)
            self.assertEqual(out, "")
        rc, out, err = self.cli("channel", "add", "--tenant", self.tenant, "--provider", "twilio", "--set-stdin",
                                input="account_sid=" + SID + "\n" + TW_TOKEN + "\n")
        self.assertEqual(rc, 2, err)
        self.assertIn("standard input line 2: expected KEY=VALUE", err)
        self.assertEqual(self.list_json(), [])
        rc, out, err = self.cli("channel", "add", "--tenant", "ten_missing", "--provider", "twilio",
                                "--set", "account_sid=" + SID, "--set", "auth_token=" + TW_TOKEN,
                                "--set", "from=+14155550100")
        self.assertEqual(rc, 4, err)
        rc, out, err = self.cli("channel", "add", "--tenant", self.tenant, "--set", "a=b")
        self.assertEqual(rc, 2, err)
        self.assertIn("--provider", err)

    def test_cli_channels__remove(self):
        rc, out, err = self.add_twilio()
        self.assertEqual(rc, 0, err)
        cid = out.splitlines()[0]
        other = self.srv.tenant("other")
        rc, out, err = self.cli("channel", "remove", "--tenant", other, "--id", cid)
        self.assertEqual(rc, 4, err)
        rc, out, err = self.cli("channel", "remove", "--tenant", self.tenant, "--id", cid)
        self.assertEqual((rc, out.strip()), (0, "removed " + cid), err)
        self.assertEqual(self.list_json(), [])
        rc, out, err = self.cli("channel", "remove", "--tenant", self.tenant, "--id", cid)
        self.assertEqual(rc, 4, err)
        rc, out, err = self.cli("channel", "templates", "--tenant", self.tenant, "--id", cid)
        self.assertEqual(rc, 4, err)
        rc, out, err = self.cli("channel", "list", "--tenant", "ten_missing")
        self.assertEqual(rc, 4, err)

    def test_cli_channels__rotation_keeps_accounts_usable(self):
        rc, out, err = self.add_whatsapp_stdin()
        self.assertEqual(rc, 0, err)
        acct = json.loads(out)
        rc, out, err = self.add_twilio()
        self.assertEqual(rc, 0, err)
        rc, out, err = self.cli("keys", "rotate")
        self.assertEqual(rc, 0, err)
        self.assertIn("active key k2", out)
        self.assertIn("re-encrypted 2 secret(s)", out)
        # The CLI opens the re-encrypted credentials: Meta gets the right token.
        self.meta.mode(templates=[meta_template("after_rotation", "en_US", "APPROVED", "Still here")])
        rc, out, err = self.cli("channel", "templates", "--tenant", self.tenant, "--id", acct["id"], "--sync",
                                "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["synced"], 1)
        self.assertEqual(self.meta.requests()[-1]["authorization"], "Bearer " + WA_TOKEN)
        # So does the server, and its answers and log hold no credential.
        self.srv.start()
        key = self.srv.apikey(self.tenant, "admin")
        st, body = self.srv.json("POST", "/api/v1/channels/%s/templates/sync" % acct["id"], key=key)
        self.assertEqual(st, 200, body)
        self.assertEqual([t["name"] for t in body["data"]], ["after_rotation", "order_update"])
        st, hdrs, raw = self.srv.request("GET", "/api/v1/channels", headers={"Authorization": "Bearer " + key})
        self.assertEqual(st, 200)
        self.outputs.append(raw.decode())
        self.assertEqual(len(json.loads(raw)["data"]), 2)
        self.srv.sigterm()
        self.srv.wait()
        self.outputs.append(self.srv.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
