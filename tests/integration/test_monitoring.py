"""
Per-channel monitoring: GET /api/v1/monitoring/summary and the message
metrics in /metrics, against the real server, its workers and the fake
providers.

Checked, on the backend under test:
- outbound SMS messages delivered and failed (signed Twilio callbacks) are
  counted per status, with the delivery rate and the failure reason (the
  carrier's error code);
- an inbound WhatsApp message counts as received; a WhatsApp status
  callback that carries the provider's time lands in the callback-latency
  distribution for provider whatsapp (Twilio's callbacks carry no time and
  add none);
- the channel filter, the time range (messages outside it are not
  counted), refusals of bad ranges, a viewer may read it, and another
  tenant sees none of it;
- /metrics exposes sb_messages_total, sb_message_failures_total and the
  sb_callback_latency_seconds histogram.
"""
import os
import sys
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

SID = "AC" + "8" * 32
TOKEN = "twilio-token-monitoring-4d"
FROM = "+14155550177"
WA_TOKEN = "wa-access-monitoring-2c"
APP_SECRET = "meta-app-secret-monitoring-9"
PNID = "106540352242977"
WABA = "102290129340377"


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


class MonitoringTest(unittest.TestCase):
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
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.admin = cls.srv.apikey(cls.tenant, "admin")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.sms_id, cls.sms_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                                 {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.wa_id, cls.wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                               {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                                "app_secret": APP_SECRET, "verify_token": "verify-mon"})
        cls.started = int(time.time() * 1000) - 1000
        cls.traffic()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.twilio.stop()
        cls.meta.stop()

    @classmethod
    def send(cls, account, to, text):
        st, m = cls.srv.json("POST", "/api/v1/messages", {"account_id": account, "to": to, "text": text},
                             key=cls.admin)
        assert st == 202, m
        return m["id"]

    @classmethod
    def status(cls, mid):
        st, m = cls.srv.json("GET", "/api/v1/messages/" + mid, key=cls.admin)
        assert st == 200, m
        return m["status"]

    @classmethod
    def traffic(cls):
        """Two SMS delivered, one failed with 30003; one WhatsApp message in, one out and delivered."""
        cls.twilio.mode(mode="ok", callbacks=["sent", "delivered"])
        ok = [cls.send(cls.sms_id, "+1415555%04d" % (uuid.uuid4().int % 10000), "hello %d" % i) for i in range(2)]
        for mid in ok:
            wait_for(lambda: cls.status(mid) == "delivered", what="SMS delivered")
        cls.twilio.mode(callbacks=["sent", "undelivered"], error_code="30003")
        bad = cls.send(cls.sms_id, "+1415555%04d" % (uuid.uuid4().int % 10000), "to a phone that is off")
        wait_for(lambda: cls.status(bad) == "undelivered", what="SMS undelivered")

        cls.wa_number = "+1650555%04d" % (uuid.uuid4().int % 10000)
        wamid = "wamid." + uuid.uuid4().hex
        st, _, body = wu.meta_post(cls.srv, "/webhooks/whatsapp/" + cls.wa_key,
                                   wu.wa_payload(PNID, messages=[wu.wa_text(wamid, cls.wa_number.lstrip("+"), "hi")]),
                                   APP_SECRET)
        assert st == 200, body
        wait_for(lambda: wu.count(cls.srv, "SELECT count(*) FROM messages WHERE direction = 'inbound' AND address = ?",
                                  (cls.wa_number,)) == 1, what="WhatsApp inbound")
        out = cls.send(cls.wa_id, cls.wa_number, "hello back")
        wait_for(lambda: cls.status(out) == "sent", what="WhatsApp sent")
        psid = wu.sql(cls.srv, "SELECT provider_message_id FROM messages WHERE id = ?", (out,))[0][0]
        # Meta's time says the delivery happened 3 s before the callback reached us.
        st, _, body = wu.meta_post(cls.srv, "/webhooks/whatsapp/" + cls.wa_key,
                                   wu.wa_payload(PNID, statuses=[wu.wa_status(psid, "delivered", time.time() - 3)]),
                                   APP_SECRET)
        assert st == 200, body
        wait_for(lambda: cls.status(out) == "delivered", what="WhatsApp delivered")

    def summary(self, key=None, **q):
        path = "/api/v1/monitoring/summary" + ("?" + urllib.parse.urlencode(q) if q else "")
        return self.srv.json("GET", path, key=key or self.admin)

    def channel(self, body, name):
        found = [c for c in body["channels"] if c["channel"] == name]
        self.assertEqual(len(found), 1, body)
        return found[0]

    def test_monitoring__counts_rates_and_failure_reasons(self):
        st, body = self.summary()
        self.assertEqual(st, 200, body)
        self.assertIsNone(body["channel"])
        sms = self.channel(body, "sms")
        self.assertEqual(sms["outbound"], {"queued": 0, "sent": 0, "delivered": 2, "read": 0, "failed": 0,
                                           "undelivered": 1, "total": 3})
        self.assertEqual(sms["inbound"], {"received": 0})
        self.assertAlmostEqual(sms["delivery_rate"], 2 / 3, places=3)
        wa = self.channel(body, "whatsapp")
        self.assertEqual(wa["inbound"], {"received": 1})
        self.assertEqual((wa["outbound"]["delivered"], wa["outbound"]["total"], wa["delivery_rate"]), (1, 1, 1.0))
        self.assertEqual(body["failures"], [{"channel": "sms", "reason": "30003", "count": 1}])
        self.assertEqual(body["jobs"]["dead"], 0)

    def test_monitoring__callback_latency_by_provider(self):
        st, body = self.summary()
        self.assertEqual(st, 200, body)
        lat = {p["provider"]: p for p in body["callback_latency"]}
        self.assertEqual(set(lat), {"whatsapp"}, body)  # Twilio's callbacks carry no provider time
        wa = lat["whatsapp"]
        self.assertEqual(wa["count"], 1)
        # Cumulative buckets: about 3 s late lands under 5 s, not under 2 s.
        by_bound = {b["le_ms"]: b["count"] for b in wa["buckets"]}
        self.assertEqual((by_bound[2000], by_bound[5000], by_bound[None]), (0, 1, 1), wa)
        self.assertEqual((wa["p50_ms"], wa["p99_ms"]), (5000, 5000))

    def test_monitoring__channel_filter_and_range(self):
        st, body = self.summary(channel="whatsapp")
        self.assertEqual(st, 200, body)
        self.assertEqual([c["channel"] for c in body["channels"]], ["whatsapp"])
        self.assertEqual(body["failures"], [])
        # A range that ends before the traffic counts none of it.
        st, body = self.summary(**{"from": iso(self.started - 7200000), "to": iso(self.started - 3600000)})
        self.assertEqual(st, 200, body)
        self.assertEqual((body["channels"], body["failures"], body["callback_latency"]), ([], [], []))
        st, body = self.summary(**{"from": iso(self.started), "to": iso(self.started - 1000)})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_range"), body)
        st, body = self.summary(**{"from": iso(self.started - 100 * 86400000)})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_range"), body)
        st, body = self.summary(**{"from": "yesterday"})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_request"), body)

    def test_monitoring__roles_and_tenants(self):
        st, body = self.summary(key=self.viewer)
        self.assertEqual(st, 200, body)
        self.assertEqual(len(body["channels"]), 2)
        other = self.srv.apikey(self.srv.tenant(), "owner")
        st, body = self.summary(key=other)
        self.assertEqual(st, 200, body)
        self.assertEqual((body["channels"], body["failures"], body["callback_latency"]), ([], [], []))
        st, _, _ = self.srv.request("GET", "/api/v1/monitoring/summary")
        self.assertEqual(st, 401)

    def test_monitoring__prometheus_metrics(self):
        st, _, data = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 200)
        text = data.decode()
        for line in ('sb_messages_total{channel="sms",status="queued"} 3',
                     'sb_messages_total{channel="sms",status="sent"} 3',
                     'sb_messages_total{channel="sms",status="delivered"} 2',
                     'sb_messages_total{channel="sms",status="undelivered"} 1',
                     'sb_messages_total{channel="whatsapp",status="received"} 1',
                     'sb_message_failures_total{channel="sms",reason="30003"} 1',
                     'sb_callback_latency_seconds_bucket{provider="whatsapp",le="5"} 1',
                     'sb_callback_latency_seconds_count{provider="whatsapp"} 1'):
            self.assertIn(line + "\n", text)
        self.assertIn("# TYPE sb_callback_latency_seconds histogram\n", text)


if __name__ == "__main__":
    unittest.main()
