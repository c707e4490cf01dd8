"""
The assistant end to end: the real server and its job workers, the fake
Twilio, Meta and OpenAI-compatible servers (tests/fakes/), webhooks signed
as the providers sign them, on the backend under test.

Checked:
- an inbound SMS is answered from the knowledge base through the queue
  (inbound.process -> assistant.reply -> outbound.send) with its llm_usage
  row; an inbound WhatsApp message in draft mode waits in the queue, an
  agent edits and sends it (the edit distance and the "edited" outcome are
  stored), a viewer may not, and a second approval is refused;
- the customer writing again makes the pending draft stale: it can no
  longer be sent; a rejected draft sends nothing; a draft the send gate
  refuses (the customer was suppressed meanwhile) stays pending and goes
  once the address is allowed again;
- an emergency message alerts the on-call contact from the reply job
  itself (one queue hop), tells the customer to call emergency services
  and pauses the assistant in that conversation; a handover intent pauses
  too, and resuming lets the assistant answer again;
- with the LLM fake answering without a citation, or with a URL the
  knowledge base does not hold, the customer receives nothing and a
  person gets a draft with the reason;
- a grounded LLM answer reaches the customer without its citation
  markers, with token counts in its usage row and a prompt log in which
  the customer's phone number is redacted;
- the LLM failing opens the circuit (no more calls reach it) while the
  extractive answerer keeps answering; after the cool-down a healthy LLM
  answers again (the circuit closed);
- drafts arrive live (draft.created on /api/v1/events) and one nobody
  decides escalates after the configured time (draft.updated with
  escalated, draft.escalated), once;
- a stored configuration that cannot be read never holds up a customer's
  message: it is recorded, unanswered;
- analytics count the outcomes.
"""
import json
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402
from test_events import WS  # noqa: E402

SID = "AC" + "5" * 32
TOKEN = "twilio-token-assistant-4d"
FROM = "+14155550100"
WA_TOKEN = "wa-access-assistant-8e"
APP_SECRET = "meta-app-secret-assistant-3"
PNID = "106540352242977"
LLM_KEY = "llm-key-assistant-6a1f"
ON_CALL = "+14155550999"
COOLDOWN_MS = 1500

DOCS = [
    ("Opening hours", "We are open Monday to Friday from 9am to 6pm. On Saturdays we open from 10am to 2pm."),
    ("Returns and refunds", "You can return any item within 30 days of delivery for a full refund. Returns are free."),
    ("Shipping times", "Standard shipping takes 3 to 5 business days. Express shipping takes 1 business day."),
]

INTENTS = [
    {"name": "hours", "examples": ["what are your opening hours", "when are you open", "are you open on saturday"],
     "action": "answer"},
    {"name": "returns", "examples": ["how do i return an item", "can i get a refund", "return policy"],
     "action": "answer"},
    {"name": "shipping", "examples": ["how long does shipping take", "delivery time", "when will my order arrive"],
     "action": "answer"},
    {"name": "human", "examples": ["i want to talk to a person", "speak to a human agent", "real person please"],
     "action": "handover"},
]


class AssistantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--app-secret", APP_SECRET)
        cls.llm = Fake("fake_llm.py", "--api-key", LLM_KEY)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_TWILIO_API_BASE": cls.twilio.base,
            "SB_GRAPH_API_BASE": cls.meta.base + "/v21.0",
            "SB_PROVIDER_TIMEOUT_MS": "2000",
            "SB_WORKERS": "2",
            "SB_ASSISTANT_LLM_TIMEOUT_MS": "2000",
            "SB_ASSISTANT_BREAKER_FAILURES": "2",
            "SB_ASSISTANT_BREAKER_COOLDOWN_MS": str(COOLDOWN_MS),
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.admin = cls.srv.apikey(cls.tenant, "admin")
        cls.agent = cls.srv.apikey(cls.tenant, "agent")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.sms_id, sms_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                             {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.wa_id, wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                           {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                            "app_secret": APP_SECRET, "verify_token": "verify-assistant"})
        cls.sms_path = "/webhooks/twilio/" + sms_key
        cls.wa_path = "/webhooks/whatsapp/" + wa_key
        for title, body in DOCS:
            st, d = cls.srv.json("POST", "/api/v1/kb/documents", {"title": title, "body": body}, key=cls.admin)
            assert st == 201, d
        st, c = cls.srv.json("POST", "/api/v1/contacts",
                             {"name": "On-call nurse", "identities": [{"kind": "phone", "address": ON_CALL}]},
                             key=cls.admin)
        assert st == 201, c
        cls.on_call_id = c["id"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        for f in (cls.twilio, cls.meta, cls.llm):
            f.stop()

    def setUp(self):
        self.twilio.mode(mode="ok", callbacks=[])
        self.meta.mode(mode="ok", callbacks=[])
        self.llm.mode(mode="ok", answer=None, fail_times=None)

    # ------------------------------------------------------------ helpers

    def configure(self, **over):
        cfg = {"enabled": True, "mode": "auto", "channels": {"sms": True, "whatsapp": True},
               "intents": INTENTS, "provider": {"kind": "extractive"},
               "handover": {"on_call_contact_id": self.on_call_id, "on_call_account_id": self.sms_id,
                            "draft_escalate_after_s": 900}}
        cfg.update(over)
        st, body = self.srv.json("PUT", "/api/v1/assistant/config", {"config": cfg}, key=self.admin)
        self.assertEqual(st, 200, body)
        return body

    def use_llm(self, **over):
        st, body = self.srv.json("PUT", "/api/v1/assistant/config",
                                 {"config": dict({"enabled": True, "mode": "auto", "intents": INTENTS,
                                                  "channels": {"sms": True, "whatsapp": True},
                                                  "provider": {"kind": "openai", "base_url": self.llm.base + "/v1",
                                                               "model": "fake-model-1"}}, **over),
                                  "api_key": LLM_KEY}, key=self.admin)
        self.assertEqual(st, 200, body)

    def number(self):
        return "+1415556%04d" % (uuid.uuid4().int % 10000)

    def inbound_sms(self, frm, text):
        sid = "SM" + uuid.uuid4().hex
        st, _, body = wu.twilio_post(self.srv, self.sms_path, wu.twilio_inbound(sid, text, frm=frm, to=FROM),
                                     TOKEN, self.public)
        self.assertEqual(st, 200, body)
        return wait_for(lambda: (lambda rows: rows[0][0] if rows else None)(
            wu.sql(self.srv, "SELECT id FROM messages WHERE direction = 'inbound' AND address = ? AND body = ?",
                   (frm, text))), 20, "inbound %r" % text)

    def inbound_wa(self, frm, text):
        wamid = "wamid." + uuid.uuid4().hex
        st, _, body = wu.meta_post(self.srv, self.wa_path, wu.wa_payload(PNID, messages=[wu.wa_text(wamid, frm, text)]),
                                   APP_SECRET)
        self.assertEqual(st, 200, body)
        return wait_for(lambda: (lambda rows: rows[0][0] if rows else None)(
            wu.sql(self.srv, "SELECT id FROM messages WHERE direction = 'inbound' AND body = ?", (text,))),
            20, "inbound %r" % text)

    def sms_to(self, number):
        return [r["form"]["Body"] for r in self.twilio.requests() if (r.get("form") or {}).get("To") == number]

    def wa_to(self, number):
        out = []
        for r in self.meta.requests():
            body = r.get("json") or {}
            if str(body.get("to", "")).lstrip("+") == number.lstrip("+") and body.get("type") == "text":
                out.append(body["text"]["body"])
        return out

    def usage(self, message_id):
        """The turn of an inbound message once written: (provider, outcome, intent, reason, prompt_tokens)."""
        rows = wait_for(lambda: wu.sql(self.srv, "SELECT provider, outcome, intent, reason, prompt_tokens, id FROM"
                                                 " llm_usage WHERE message_id = ?", (message_id,)),
                        20, "the turn of %s" % message_id)
        return rows[0]

    def draft_of(self, message_id, status="pending"):
        def find():
            st, page = self.srv.json("GET", "/api/v1/assistant/drafts?status=all&limit=200", key=self.agent)
            self.assertEqual(st, 200, page)
            for d in page["data"]:
                if d["inbound_message_id"] == message_id and d["status"] == status:
                    return d
            return None
        return wait_for(find, 20, "a %s draft for %s" % (status, message_id))

    def settle(self):
        """Long enough for a queued job to have run if one was queued."""
        time.sleep(1.5)

    # -------------------------------------------------------------- tests

    def test_assistant__sms_answered_through_the_queue(self):
        self.configure()
        frm = self.number()
        mid = self.inbound_sms(frm, "What are your opening hours?")
        sent = wait_for(lambda: self.sms_to(frm), 20, "the answer to reach Twilio")
        self.assertEqual(len(sent), 1, sent)
        self.assertIn("Monday to Friday from 9am to 6pm", sent[0])
        provider, outcome, intent, _, _, _ = self.usage(mid)
        self.assertEqual((provider, outcome, intent), ("extractive", "sent", "hours"))
        out = wu.sql(self.srv, "SELECT origin FROM messages WHERE direction = 'outbound' AND address = ?", (frm,))
        self.assertEqual(out, [["assistant"]])

    def test_assistant__whatsapp_draft_edited_and_sent(self):
        self.configure(mode="draft")
        frm = "1650555" + "%04d" % (uuid.uuid4().int % 10000)
        text = "How do I return an item? " + uuid.uuid4().hex[:6]
        mid = self.inbound_wa(frm, text)
        d = self.draft_of(mid)
        self.assertIn("30 days", d["text"])
        self.assertEqual((d["channel"], d["intent"], d["inbound_text"]), ("whatsapp", "returns", text))
        self.settle()
        self.assertEqual(self.wa_to(frm), [], "a draft must not reach the customer")
        st, body = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d["id"], {}, key=self.viewer)
        self.assertEqual(st, 403, body)
        edited = d["text"] + " Just reply here if you need a label."
        st, done = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d["id"], {"text": edited},
                                 key=self.agent)
        self.assertEqual(st, 200, done)
        self.assertEqual((done["status"], done["final_text"]), ("sent", edited))
        self.assertEqual(done["edit_distance"], len(" Just reply here if you need a label."))
        self.assertTrue(done["sent_message_id"])
        wait_for(lambda: self.wa_to(frm) == [edited], 20, "the edited reply to reach Meta")
        self.assertEqual(self.usage(mid)[1], "edited")
        st, again = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d["id"], {}, key=self.agent)
        self.assertEqual((st, again["error"]["code"]), (409, "draft_not_pending"))
        self.assertEqual(len(self.wa_to(frm)), 1)

    def test_assistant__stale_and_rejected_drafts_send_nothing(self):
        self.configure(mode="draft")
        frm = self.number()
        first = self.inbound_sms(frm, "How long does shipping take?")
        d1 = self.draft_of(first)
        second = self.inbound_sms(frm, "Actually, can I get a refund?")
        self.draft_of(first, "stale")
        self.assertEqual(self.usage(first)[1], "stale")
        st, body = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d1["id"], {}, key=self.agent)
        self.assertEqual((st, body["error"]["code"]), (409, "draft_not_pending"))
        d2 = self.draft_of(second)
        st, body = self.srv.json("POST", "/api/v1/assistant/drafts/%s/reject" % d2["id"], {}, key=self.agent)
        self.assertEqual(st, 400, body)
        st, body = self.srv.json("POST", "/api/v1/assistant/drafts/%s/reject" % d2["id"],
                                 {"reason": "needs the order number first"}, key=self.agent)
        self.assertEqual((st, body["status"], body["reject_reason"]), (200, "rejected", "needs the order number first"))
        self.assertEqual(self.usage(second)[1], "rejected")
        self.settle()
        self.assertEqual(self.sms_to(frm), [])

    def test_assistant__refused_approval_keeps_the_draft(self):
        self.configure(mode="draft")
        frm = self.number()
        mid = self.inbound_sms(frm, "Can I get a refund?")
        d = self.draft_of(mid)
        st, sup = self.srv.json("POST", "/api/v1/suppressions", {"address": frm, "channel": "sms", "reason": "test"},
                                key=self.admin)
        self.assertEqual(st, 201, sup)
        st, body = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d["id"], {}, key=self.agent)
        self.assertEqual((st, body["error"]["code"]), (403, "suppressed"), body)
        self.assertEqual(self.draft_of(mid)["status"], "pending")
        self.assertEqual(self.usage(mid)[1], "drafted")
        st, _ = self.srv.json("DELETE", "/api/v1/suppressions/sms/" + frm.replace("+", "%2B"), key=self.admin)
        self.assertIn(st, (200, 204))
        st, done = self.srv.json("POST", "/api/v1/assistant/drafts/%s/approve" % d["id"], {}, key=self.agent)
        self.assertEqual((st, done["status"], done["edit_distance"]), (200, "sent", 0), done)
        self.assertEqual(self.usage(mid)[1], "approved")
        wait_for(lambda: self.sms_to(frm) == [d["text"]], 20, "the approved draft to reach Twilio")

    def test_assistant__emergency_alerts_on_call_and_pauses(self):
        self.configure()
        frm = self.number()
        mid = self.inbound_sms(frm, "Help, my father has chest pain and cannot breathe")
        alert = wait_for(lambda: [b for b in self.sms_to(ON_CALL) if frm in b or "EMERGENCY" in b], 20,
                         "the on-call alert")
        self.assertTrue(alert[0].startswith("EMERGENCY"), alert)
        told = wait_for(lambda: self.sms_to(frm), 20, "the customer's advice")
        self.assertIn("emergency", told[0].lower())
        provider, outcome, intent, reason, _, _ = self.usage(mid)
        self.assertEqual((outcome, intent), ("emergency", "emergency"))
        self.assertIn("on-call contact alerted", reason)
        # The alert was queued by the reply job itself: its key names the customer's message.
        keys = wu.sql(self.srv, "SELECT idempotency_key, origin FROM messages WHERE direction = 'outbound' AND"
                                " address = ? AND idempotency_key = ?", (ON_CALL, "emergency:" + mid))
        self.assertEqual(keys, [["emergency:" + mid, "system"]])
        conv = wu.sql(self.srv, "SELECT conversation_id FROM messages WHERE id = ?", (mid,))[0][0]
        st, p = self.srv.json("GET", "/api/v1/conversations/%s/assistant" % conv, key=self.viewer)
        self.assertEqual((st, p["paused"]), (200, True), p)
        self.inbound_sms(frm, "What are your opening hours?")
        self.settle()
        self.assertEqual(len(self.sms_to(frm)), 1, "a paused conversation gets no assistant reply")

    def test_assistant__handover_pauses_until_resumed(self):
        self.configure()
        frm = self.number()
        mid = self.inbound_sms(frm, "I want to talk to a person")
        self.assertEqual(self.usage(mid)[1], "handed_over")
        conv = wu.sql(self.srv, "SELECT conversation_id FROM messages WHERE id = ?", (mid,))[0][0]
        st, p = self.srv.json("GET", "/api/v1/conversations/%s/assistant" % conv, key=self.agent)
        self.assertTrue(p["paused"], p)
        before = len(self.sms_to(frm))
        self.inbound_sms(frm, "When are you open on Saturday?")
        self.settle()
        self.assertEqual(len(self.sms_to(frm)), before)
        st, p = self.srv.json("POST", "/api/v1/conversations/%s/assistant/resume" % conv, {}, key=self.viewer)
        self.assertEqual(st, 403, p)
        st, p = self.srv.json("POST", "/api/v1/conversations/%s/assistant/resume" % conv, {}, key=self.agent)
        self.assertEqual((st, p["paused"]), (200, False), p)
        self.inbound_sms(frm, "Are you open on Saturday?")
        wait_for(lambda: any("Saturdays" in b for b in self.sms_to(frm)), 20, "an answer after resuming")

    def test_assistant__ungrounded_or_unsafe_llm_answers_go_to_a_person(self):
        self.use_llm()
        # No citation at all: ungrounded.
        self.llm.mode(mode="ok", answer="We are open every day until midnight.")
        frm = self.number()
        mid = self.inbound_sms(frm, "When are you open?")
        d = self.draft_of(mid)
        self.assertTrue(d["reason"].startswith("ungrounded"), d)
        # A real citation, but a URL the knowledge base does not hold: unsafe.
        st, found = self.srv.json("GET", "/api/v1/kb/search?q=opening+hours&k=1", key=self.agent)
        self.assertEqual(st, 200, found)
        chunk = found["data"][0]["chunk_id"]
        self.llm.mode(mode="ok", answer="See http://evil.example/deal for our hours [#%s]" % chunk)
        frm2 = self.number()
        mid2 = self.inbound_sms(frm2, "What are your opening hours?")
        d2 = self.draft_of(mid2)
        self.assertTrue(d2["reason"].startswith("unsafe"), d2)
        self.settle()
        self.assertEqual(self.sms_to(frm) + self.sms_to(frm2), [], "the customer receives nothing")

    def test_assistant__grounded_llm_answer_and_redacted_log(self):
        self.use_llm()
        self.llm.mode(mode="grounded")
        frm = self.number()
        mid = self.inbound_sms(frm, "My number is +1 415 555 0177, how long does shipping take?")
        sent = wait_for(lambda: self.sms_to(frm), 20, "the LLM's answer")
        self.assertIn("Standard shipping takes 3 to 5 business days", sent[0])
        self.assertNotIn("[#", sent[0])
        provider, outcome, _, _, prompt_tokens, usage_id = self.usage(mid)
        self.assertEqual((provider, outcome), ("llm", "sent"))
        self.assertGreater(int(prompt_tokens), 0)
        logs = wu.sql(self.srv, "SELECT prompt, response FROM assistant_logs WHERE usage_id = ?", (usage_id,))
        self.assertEqual(len(logs), 1)
        self.assertIn("[phone]", logs[0][0])
        self.assertNotIn("555 0177", logs[0][0])
        self.assertNotIn("5550177", logs[0][0])
        reqs = [r for r in self.llm.requests() if "chat/completions" in r["path"]]
        self.assertEqual(reqs[-1]["authorization"], "Bearer " + LLM_KEY)

    def test_assistant__circuit_opens_extractive_answers_then_recovers(self):
        self.use_llm()
        self.llm.mode(mode="500")
        answered = []
        for i in range(3):
            frm = self.number()
            calls = len(self.llm.requests())
            mid = self.inbound_sms(frm, "How long does shipping take?")
            sent = wait_for(lambda: self.sms_to(frm), 30, "an extractive answer while the LLM fails")
            self.assertIn("3 to 5 business days", sent[0])
            self.assertEqual(self.usage(mid)[0], "extractive")
            answered.append(len(self.llm.requests()) - calls)
        self.assertGreater(answered[0], 0, "the first failures reach the LLM")
        self.assertEqual(answered[2], 0, "the open circuit fails fast: no call reaches the LLM")
        self.llm.mode(mode="grounded")
        time.sleep(COOLDOWN_MS / 1000 + 0.5)
        frm = self.number()
        mid = self.inbound_sms(frm, "How long does shipping take?")
        wait_for(lambda: self.sms_to(frm), 30, "an answer after the cool-down")
        self.assertEqual(self.usage(mid)[0], "llm", "the trial call succeeded: the circuit closed")

    def test_assistant__unreadable_configuration_holds_nothing_up(self):
        v = self.configure()["version"]
        good = wu.sql(self.srv, "SELECT config FROM agent_configs WHERE version = ?", (v,))[0][0]
        wu.sql(self.srv, "UPDATE agent_configs SET config = ? WHERE version = ?", ("{not json", v))
        try:
            frm = self.number()
            mid = self.inbound_sms(frm, "What are your opening hours?")
            self.settle()
            self.assertEqual(wu.count(self.srv, "SELECT COUNT(*) FROM llm_usage WHERE message_id = ?", (mid,)), 0)
            self.assertEqual(self.sms_to(frm), [])
            self.assertIn("unreadable, not answering", self.srv.read_log())
        finally:
            wu.sql(self.srv, "UPDATE agent_configs SET config = ? WHERE version = ?", (good, v))

    def test_assistant__drafts_are_live_and_escalate(self):
        self.configure(mode="draft", handover={"on_call_contact_id": self.on_call_id,
                                                "on_call_account_id": self.sms_id, "draft_escalate_after_s": 1})
        ws = WS(self.srv, self.agent)
        self.assertEqual(ws.status, 101)
        self.assertEqual(ws.next()["type"], "hello")
        frm = self.number()
        mid = self.inbound_sms(frm, "Are you open on Saturday?")
        events = []
        def until(kind):
            while True:
                ev = ws.next(15)
                self.assertIsNotNone(ev, "no %s event (saw %r)" % (kind, [e["type"] for e in events]))
                events.append(ev)
                if ev["type"] == kind and ev["data"].get("inbound_message_id") == mid:
                    return ev
        created = until("draft.created")
        self.assertEqual((created["data"]["status"], created["data"]["escalated"]), ("pending", False))
        self.assertIn("Saturdays", created["data"]["text"])
        escalated = until("draft.escalated")
        self.assertTrue(escalated["data"]["escalated"])
        self.assertIsNotNone(escalated["data"]["escalated_at"])
        updated = [e for e in events if e["type"] == "draft.updated" and e["data"]["id"] == created["data"]["id"]]
        self.assertEqual(len(updated), 1, "escalation is reported once")
        ws.close()
        d = self.draft_of(mid)
        self.assertTrue(d["escalated"])

    def test_assistant__analytics_count_outcomes(self):
        self.configure()
        frm = self.number()
        mid = self.inbound_sms(frm, "Can I get a refund?")
        self.usage(mid)
        st, a = self.srv.json("GET", "/api/v1/assistant/analytics", key=self.viewer)
        self.assertEqual(st, 200, a)
        t = a["totals"]
        total = wu.count(self.srv, "SELECT COUNT(*) FROM llm_usage")
        self.assertEqual(t["turns"], total)
        self.assertGreaterEqual(t["sent"], 1)
        self.assertEqual(sum(d["turns"] for d in a["days"]), total)
        self.assertEqual(sum(i["count"] for i in a["intents"]), total)
        self.assertTrue(any(i["intent"] == "returns" for i in a["intents"]), a["intents"])
        st, bad = self.srv.json("GET", "/api/v1/assistant/analytics?from=2026-13-01", key=self.viewer)
        self.assertEqual((st, bad["error"]["code"]), (400, "invalid_range"))


if __name__ == "__main__":
    unittest.main()
