"""
Webhook ingestion against the real server, with requests signed exactly like
the providers sign them (webhook_util.py): Twilio over the public URL (behind
a proxy: SB_PUBLIC_URL is https, signed with and without :443, and with a
query string kept byte for byte) and Meta over the raw body with non-ASCII
escaped as \\uXXXX.

Each accepted event is one inbound_events row with one inbound.process job; a
redelivery creates nothing; a tampered body, a wrong or missing signature and
a replay are refused with nothing written but a security event (readable by
owners through GET /api/v1/security-events, not by agents); the WhatsApp
handshake; unknown, removed or other-provider accounts are 404 with nothing
written; an oversized body is 413; several events in one POST are each stored
once; a status callback for a message we never sent still gets its 200; the
development switch SB_ALLOW_UNSIGNED_WEBHOOKS lets a missing signature
through but never a wrong one; /metrics counts it all.
"""
import json
import os
import secrets
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402
import webhook_util as wu  # noqa: E402

PUBLIC = "https://hooks.example.test"
TOKEN = "twilio-auth-token-" + secrets.token_hex(8)
APP_SECRET = "meta-app-secret-" + secrets.token_hex(8)
VERIFY = "verify-" + secrets.token_hex(6)


def new_sid():
    return "SM" + secrets.token_hex(16)


class WebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_PUBLIC_URL": PUBLIC, "SB_WEBHOOK_REPLAY_WINDOW": "3600",
                              "SB_BODY_LIMIT": "65536", "SB_REQUIRE_API_KEYS": "true"})
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.owner = cls.srv.apikey(cls.tenant, "owner")
        cls.agent = cls.srv.apikey(cls.tenant, "agent")
        cls.tw_id, cls.tw_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                               {"account_sid": "AC" + "1" * 32, "auth_token": TOKEN,
                                                "from": "+14155550100"})
        cls.wa_id, cls.wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                               {"phone_number_id": "106540352242922", "access_token": "tok",
                                                "app_secret": APP_SECRET, "verify_token": VERIFY})
        cls.tw_path = "/webhooks/twilio/" + cls.tw_key
        cls.wa_path = "/webhooks/whatsapp/" + cls.wa_key

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    # ------------------------------------------------------------ helpers

    def counts(self):
        return (wu.count(self.srv, "SELECT count(*) FROM inbound_events"),
                wu.count(self.srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process'"),
                wu.count(self.srv, "SELECT count(*) FROM security_events"))

    def events_for(self, event_id):
        return wu.sql(self.srv, "SELECT id, tenant_id, account_id, kind, payload FROM inbound_events"
                                " WHERE event_id = ?", (event_id,))

    def security_events(self, key=None):
        st, body = self.srv.json("GET", "/api/v1/security-events?limit=50", key=key or self.owner)
        self.assertEqual(st, 200, body)
        return body["data"]

    def wait_security_event(self, reason, account_id, before):
        """Security events go through the group writer without waiting: poll."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            evs = [e for e in self.security_events() if e["reason"] == reason and e["account_id"] == account_id
                   and e["id"] > before]
            if evs:
                return evs[0]
            time.sleep(0.05)
        self.fail("no security event %s for %s" % (reason, account_id))

    def last_security_id(self):
        evs = self.security_events()
        return evs[0]["id"] if evs else 0

    # -------------------------------------------------------------- Twilio

    def test_webhooks__twilio_inbound_stored_once(self):
        sid = new_sid()
        before = self.counts()
        st, hdrs, body = wu.twilio_post(self.srv, self.tw_path, wu.twilio_inbound(sid, "Café ☕ & more"), TOKEN, PUBLIC)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, wu.TWIML_EMPTY)
        self.assertTrue(hdrs["content-type"].startswith("text/xml"))
        rows = self.events_for(sid)
        self.assertEqual(len(rows), 1)
        iev, tenant, acct, kind, payload = rows[0]
        self.assertTrue(iev.startswith("iev_"))
        self.assertEqual((tenant, acct, kind), (self.tenant, self.tw_id, "message"))
        p = json.loads(payload)
        self.assertEqual(p["kind"], "message")
        self.assertEqual(p["provider"], "twilio")
        self.assertEqual(p["event_id"], sid)
        self.assertEqual(p["provider_message_id"], sid)
        self.assertEqual(p["from"], "+14155550123")
        self.assertEqual(p["to"], "+14155550100")
        self.assertEqual(p["text"], "Café ☕ & more")
        self.assertEqual(p["type"], "text")
        self.assertGreater(p["received_at"], 0)
        jobs = wu.sql(self.srv, "SELECT payload, tenant_id FROM jobs WHERE type = 'inbound.process'"
                                " AND payload LIKE ?", ("%" + iev + "%",))
        self.assertEqual(len(jobs), 1)
        self.assertEqual(json.loads(jobs[0][0]), {"inbound_event": iev})
        self.assertEqual(jobs[0][1], self.tenant)
        after = self.counts()
        self.assertEqual((after[0] - before[0], after[1] - before[1], after[2] - before[2]), (1, 1, 0))

        # The redelivery (Twilio retries on a timeout) changes nothing and still gets 200.
        for _ in range(3):
            st, _, body = wu.twilio_post(self.srv, self.tw_path, wu.twilio_inbound(sid, "Café ☕ & more"), TOKEN,
                                         PUBLIC)
            self.assertEqual(st, 200)
            self.assertEqual(body, wu.TWIML_EMPTY)
        self.assertEqual(self.counts(), after)

    def test_webhooks__twilio_url_behind_proxy_with_and_without_port(self):
        # Twilio signs the URL it called; a proxy in front may or may not show :443.
        for signed in (PUBLIC + self.tw_path, "https://hooks.example.test:443" + self.tw_path):
            sid = new_sid()
            st, _, body = wu.twilio_post(self.srv, self.tw_path, wu.twilio_inbound(sid), TOKEN, PUBLIC,
                                         sign_url=signed)
            self.assertEqual(st, 200, (signed, body))
            self.assertEqual(len(self.events_for(sid)), 1)
        # Another host or scheme is a different URL: refused.
        sid = new_sid()
        st, _, _ = wu.twilio_post(self.srv, self.tw_path, wu.twilio_inbound(sid), TOKEN, PUBLIC,
                                  sign_url="http://hooks.example.test" + self.tw_path)
        self.assertEqual(st, 403)
        self.assertEqual(len(self.events_for(sid)), 0)

    def test_webhooks__twilio_query_string_signed_byte_for_byte(self):
        # The query is part of the signed URL, exactly as sent (encoding kept).
        path = self.tw_path + "?src=sms%20in&tag=a%2Fb&empty="
        sid = new_sid()
        st, _, body = wu.twilio_post(self.srv, path, wu.twilio_inbound(sid), TOKEN, PUBLIC)
        self.assertEqual(st, 200, body)
        self.assertEqual(len(self.events_for(sid)), 1)
        # The same request signed over the decoded query does not pass.
        sid = new_sid()
        st, _, _ = wu.twilio_post(self.srv, path, wu.twilio_inbound(sid), TOKEN, PUBLIC,
                                  sign_url=PUBLIC + self.tw_path + "?src=sms in&tag=a/b&empty=")
        self.assertEqual(st, 403)

    def test_webhooks__refusals_write_only_a_security_event(self):
        cases = []
        # Tampered body: signed for one text, sent with another.
        sid = new_sid()
        params = wu.twilio_inbound(sid, "pay 10")
        sig = wu.twilio_signature(TOKEN, PUBLIC + self.tw_path, params)
        cases.append(("tampered", sid, wu.twilio_inbound(sid, "pay 1000"), sig, "bad_signature"))
        sid = new_sid()
        cases.append(("wrong", sid, wu.twilio_inbound(sid), wu.twilio_signature("not-the-token", PUBLIC + self.tw_path,
                                                                               wu.twilio_inbound(sid)),
                      "bad_signature"))
        sid = new_sid()
        cases.append(("missing", sid, wu.twilio_inbound(sid), "", "missing_signature"))
        for i, (name, sid, params, sig, reason) in enumerate(cases):
            with self.subTest(name):
                if i and cases[i - 1][4] == reason:
                    time.sleep(1.1)  # the same refusal from the same source is written once a second
                before_sec = self.last_security_id()
                before = self.counts()
                st, _, body = wu.twilio_post(self.srv, self.tw_path, params, TOKEN, PUBLIC, signature=sig)
                self.assertEqual(st, 403, body)
                self.assertEqual(json.loads(body)["error"]["code"], reason)
                ev = self.wait_security_event(reason, self.tw_id, before_sec)
                self.assertEqual(ev["kind"], "webhook_refused")
                self.assertEqual(ev["provider"], "twilio")
                self.assertEqual(ev["ip"], "127.0.0.1")
                self.assertNotIn("pay", json.dumps(ev))  # never a payload
                after = self.counts()
                self.assertEqual(after[:2], before[:2])
                self.assertEqual(len(self.events_for(sid)), 0)

    def test_webhooks__status_callback_for_unknown_message(self):
        sid = new_sid()
        st, _, body = wu.twilio_post(self.srv, self.tw_path, wu.twilio_status(sid, "undelivered", "30007"), TOKEN,
                                     PUBLIC)
        self.assertEqual(st, 200)
        self.assertEqual(body, wu.TWIML_EMPTY)
        rows = self.events_for(sid + ":undelivered")
        self.assertEqual(len(rows), 1)
        p = json.loads(rows[0][4])
        self.assertEqual((p["kind"], p["status"]), ("status", "undelivered"))
        self.assertEqual(p["error"]["code"], "30007")
        # A later status of the same message is another event.
        st, _, _ = wu.twilio_post(self.srv, self.tw_path, wu.twilio_status(sid, "failed"), TOKEN, PUBLIC)
        self.assertEqual(st, 200)
        self.assertEqual(len(self.events_for(sid + ":failed")), 1)

    def test_webhooks__twilio_has_no_handshake(self):
        st, _, body = self.srv.request("GET", self.tw_path)
        self.assertEqual(st, 405, body)

    # ------------------------------------------------------------ WhatsApp

    def test_webhooks__whatsapp_several_events_each_stored_once(self):
        now = int(time.time())
        m1, m2, out = ("wamid." + secrets.token_hex(8) for _ in range(3))
        obj = wu.wa_payload("106540352242922",
                            messages=[wu.wa_text(m1, "16505551234", "first / «premier»", now),
                                      wu.wa_text(m2, "447700900123", "second", now)],
                            statuses=[wu.wa_status(out, "delivered", now)],
                            contacts=[{"profile": {"name": "Zoë"}, "wa_id": "16505551234"}])
        body = wu.meta_body(obj)
        self.assertIn(b"\\u00ab", body)  # the bytes Meta signs: escaped non-ASCII
        self.assertIn(b"\\/", body)
        before = self.counts()
        st, hdrs, resp = wu.meta_post(self.srv, self.wa_path, body, APP_SECRET)
        self.assertEqual(st, 200, resp)
        self.assertEqual(resp, b"OK")
        after = self.counts()
        self.assertEqual((after[0] - before[0], after[1] - before[1]), (3, 3))
        p1 = json.loads(self.events_for(m1)[0][4])
        self.assertEqual(p1["text"], "first / «premier»")
        self.assertEqual(p1["contact_name"], "Zoë")
        self.assertEqual(p1["provider_ts"], now * 1000)
        self.assertEqual(len(self.events_for(m2)), 1)
        self.assertEqual(self.events_for(out + ":delivered")[0][3], "status")
        # Meta redelivers the whole POST: nothing new.
        st, _, _ = wu.meta_post(self.srv, self.wa_path, body, APP_SECRET)
        self.assertEqual(st, 200)
        self.assertEqual(self.counts(), after)
        # A POST with one old and one new event stores only the new one.
        m3 = "wamid." + secrets.token_hex(8)
        obj2 = wu.wa_payload("106540352242922", messages=[wu.wa_text(m1, "16505551234", "first / «premier»", now),
                                                          wu.wa_text(m3, "16505551234", "third", now)])
        st, _, _ = wu.meta_post(self.srv, self.wa_path, obj2, APP_SECRET)
        self.assertEqual(st, 200)
        last = self.counts()
        self.assertEqual((last[0] - after[0], last[1] - after[1]), (1, 1))

    def test_webhooks__whatsapp_replay_refused(self):
        wamid = "wamid." + secrets.token_hex(8)
        old = int(time.time()) - 2 * 3600  # the window is one hour in this server
        obj = wu.wa_payload("106540352242922", messages=[wu.wa_text(wamid, "16505551234", "old news", old)])
        before_sec = self.last_security_id()
        before = self.counts()
        st, _, body = wu.meta_post(self.srv, self.wa_path, obj, APP_SECRET)
        self.assertEqual(st, 403, body)
        self.assertEqual(json.loads(body)["error"]["code"], "replay")
        self.wait_security_event("replay", self.wa_id, before_sec)
        self.assertEqual(self.counts()[:2], before[:2])
        self.assertEqual(len(self.events_for(wamid)), 0)

    def test_webhooks__whatsapp_wrong_and_missing_signature(self):
        wamid = "wamid." + secrets.token_hex(8)
        obj = wu.wa_payload("106540352242922", messages=[wu.wa_text(wamid, "16505551234", "hi")])
        body = wu.meta_body(obj)
        before = self.counts()
        st, _, resp = wu.meta_post(self.srv, self.wa_path, body, APP_SECRET,
                                   signature=wu.meta_signature("another-secret", body))
        self.assertEqual((st, json.loads(resp)["error"]["code"]), (403, "bad_signature"))
        # Re-serialised JSON (no \\u escapes) is not what Meta signed.
        plain = json.dumps(obj, ensure_ascii=False).encode()
        st, _, _ = wu.meta_post(self.srv, self.wa_path, plain, APP_SECRET, signature=wu.meta_signature(APP_SECRET, body))
        self.assertEqual(st, 403)
        st, _, resp = wu.meta_post(self.srv, self.wa_path, body, APP_SECRET, signature="")
        self.assertEqual((st, json.loads(resp)["error"]["code"]), (403, "missing_signature"))
        self.assertEqual(self.counts()[:2], before[:2])

    def test_webhooks__whatsapp_malformed_and_empty(self):
        body = b'{"object":"whatsapp_business_account","entry":'
        st, _, resp = wu.meta_post(self.srv, self.wa_path, body, APP_SECRET)
        self.assertEqual(st, 400, resp)
        # Verified, but nothing we handle (a template status update naming no template): 200, nothing stored.
        before = self.counts()
        obj = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
            {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}
        st, _, resp = wu.meta_post(self.srv, self.wa_path, obj, APP_SECRET)
        self.assertEqual((st, resp), (200, b"OK"))
        self.assertEqual(self.counts(), before)

    def test_webhooks__whatsapp_handshake(self):
        q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
        st, hdrs, body = self.srv.request("GET", self.wa_path + "?" + q)
        self.assertEqual((st, body), (200, b"1158201444"))
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        before_sec = self.last_security_id()
        q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
        st, _, _ = self.srv.request("GET", self.wa_path + "?" + q)
        self.assertEqual(st, 403)
        self.wait_security_event("bad_verify_token", self.wa_id, before_sec)

    # ------------------------------------------------------ accounts, limits

    def test_webhooks__unknown_removed_or_other_provider_account(self):
        before = self.counts()
        sid = new_sid()
        params = wu.twilio_inbound(sid)
        for path in ("/webhooks/twilio/no-such-key", "/webhooks/whatsapp/" + self.tw_key,
                     "/webhooks/telegraph/" + self.tw_key):
            with self.subTest(path):
                st, _, body = wu.twilio_post(self.srv, path, params, TOKEN, PUBLIC)
                self.assertEqual(st, 404, body)
                self.assertEqual(json.loads(body)["error"]["code"], "not_found")
        gone_id, gone_key = wu.add_account(self.srv, self.tenant, "twilio",
                                           {"account_sid": "AC" + "2" * 32, "auth_token": TOKEN, "from": "+15550000002"})
        wu.sql(self.srv, "UPDATE channel_accounts SET removed_at = ? WHERE id = ?", (int(time.time() * 1000), gone_id))
        st, _, _ = wu.twilio_post(self.srv, "/webhooks/twilio/" + gone_key, params, TOKEN, PUBLIC)
        self.assertEqual(st, 404)
        self.assertEqual(self.counts(), before)  # not even a security event

    def test_webhooks__oversized_body(self):
        before = self.counts()
        params = wu.twilio_inbound(new_sid(), "x" * 70000)
        st, _, body = wu.twilio_post(self.srv, self.tw_path, params, TOKEN, PUBLIC)
        self.assertEqual(st, 413, body)
        self.assertEqual(self.counts()[:2], before[:2])

    def test_webhooks__security_events_api_roles(self):
        st, body = self.srv.json("GET", "/api/v1/security-events", key=self.agent)
        self.assertEqual(st, 403, body)
        st, body = self.srv.json("GET", "/api/v1/security-events?limit=0", key=self.owner)
        self.assertEqual(st, 400, body)
        # Another tenant sees none of ours.
        other = self.srv.tenant()
        other_key = self.srv.apikey(other, "owner")
        st, body = self.srv.json("GET", "/api/v1/security-events", key=other_key)
        self.assertEqual((st, body["data"]), (200, []))

    def test_webhooks__zz_metrics(self):
        st, _, body = self.srv.request("GET", "/metrics")
        text = body.decode()
        self.assertEqual(st, 200)
        self.assertIn('sb_webhook_requests_total{provider="twilio",outcome="stored"}', text)
        self.assertIn('sb_webhook_requests_total{provider="twilio",outcome="duplicate"}', text)
        self.assertIn('sb_webhook_requests_total{provider="twilio",outcome="refused"}', text)
        self.assertIn('sb_webhook_requests_total{provider="twilio",outcome="not_found"}', text)
        self.assertIn('sb_security_events_total{kind="webhook_refused",reason="bad_signature"}', text)
        self.assertIn("sb_store_writer_batches_total", text)
        self.assertIn('sb_http_requests_total{method="POST",route="/webhooks/{provider}/{account_key}",status="200"}',
                      text)
        self.assertIn('route="/webhooks/{provider}/{account_key}",status="403"', text)
        # Every deferred request finished: nothing left in flight but this one.
        self.assertIn("sb_http_requests_in_flight 1\n", text)


class UnsignedDevelopmentTest(unittest.TestCase):
    def test_webhooks__allow_unsigned_lets_missing_through_never_wrong(self):
        with Server(env={"SB_PUBLIC_URL": PUBLIC, "SB_ALLOW_UNSIGNED_WEBHOOKS": "true"}) as srv:
            tenant = srv.tenant()
            _, key = wu.add_account(srv, tenant, "twilio", {"account_sid": "AC" + "3" * 32, "auth_token": TOKEN,
                                                            "from": "+14155550100"})
            path = "/webhooks/twilio/" + key
            sid = new_sid()
            st, _, _ = wu.twilio_post(srv, path, wu.twilio_inbound(sid), TOKEN, PUBLIC, signature="")
            self.assertEqual(st, 200)
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM inbound_events WHERE event_id = ?", (sid,)), 1)
            sid = new_sid()
            st, _, _ = wu.twilio_post(srv, path, wu.twilio_inbound(sid), TOKEN, PUBLIC, signature="AAAA")
            self.assertEqual(st, 403)
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM inbound_events WHERE event_id = ?", (sid,)), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
