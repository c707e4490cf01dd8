"""
The assistant's agent configuration end to end: the real server on the
backend under test.

Checked:
- before any save GET answers version 0 with the defaults;
- PUT applies a partial document over the current one and answers the new
  version; a bad member is 400 invalid_config naming its path, and nothing
  is saved;
- roles: a viewer and an agent read the configuration and its versions but
  get 403 on PUT and rollback;
- versions: listed newest first with note and author; one version by
  number; 404 for an unknown one;
- diff: leaf paths with their old and new values;
- rollback: the new version's config equals the old version's exactly;
- the API key: sealed (api_key_set true), never in any answer, audit row or
  the server's log; "" removes it; a rollback keeps it;
- the audit log has assistant.config.update and assistant.config.rollback
  rows with the changed paths;
- tenants: another tenant still has the defaults and no versions.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

# Holds a value of secrets.txt, so test_zz_logs also catches a leak into a log.
API_KEY = "sk-TOPSECRET-BODY-7f3a-llm"

RICH = {
    "enabled": True,
    "identity": {"name": "Clínica Sol", "persona": "Calm.\nNever guesses.", "tone": "warm"},
    "grounding": {"kb_only": True, "unknown_answer": "Let me check with the team."},
    "languages": ["es", "en"],
    "channels": {"sms": False, "email": True},
    "working_hours": {"always": False, "days": [1, 2, 3], "start": "08:30", "end": "19:00"},
    "mode": "threshold",
    "auto_threshold": 0.85,
    "intents": [
        {"name": "refund", "examples": ["I want my money back", "reembolso"], "action": "answer",
         "mode": "auto", "model": "gpt-4o-mini"},
        {"name": "urgent", "examples": ["help now"], "action": "emergency"},
    ],
    "emergency_phrases": ["chest pain"],
    "provider": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o",
                 "prompt_price_per_1k": 150, "completion_price_per_1k": 600},
    "safety": {"forbid_prices": True, "forbidden_phrases": ["guarantee"], "max_length": {"sms": 160}},
    "handover": {"on_call_contact_id": "ctc_oncall", "draft_escalate_after_s": 0},
    "log_retention_days": 90,
}


class AssistantConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.admin = cls.srv.apikey(cls.tenant, "admin")
        cls.agent = cls.srv.apikey(cls.tenant, "agent")
        cls.viewer = cls.srv.apikey(cls.tenant, "viewer")
        cls.other = cls.srv.tenant()
        cls.other_admin = cls.srv.apikey(cls.other, "admin")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def put(self, body, key=None):
        return self.srv.json("PUT", "/api/v1/assistant/config", body, key=key or self.admin)

    def get(self, path="/api/v1/assistant/config", key=None):
        return self.srv.json("GET", path, key=key or self.admin)

    def assert_no_key(self, st, body, raw=None):
        text = json.dumps(body) if raw is None else raw
        self.assertNotIn(API_KEY, text, "API key echoed (status %d)" % st)

    def test_config_versions_diff_rollback(self):
        srv = self.srv

        # Never saved: version 0, the defaults.
        st, cur = self.get(key=self.viewer)
        self.assertEqual(st, 200, cur)
        self.assertEqual(cur["version"], 0)
        self.assertIsNone(cur["created_at"])
        self.assertEqual(cur["config"]["mode"], "draft")
        self.assertEqual(cur["config"]["identity"]["name"], "Assistant")
        self.assertFalse(cur["config"]["provider"]["api_key_set"])
        defaults = cur["config"]

        # v1: a rich document with a key.
        st, v1 = self.put({"config": RICH, "api_key": API_KEY, "note": "first"})
        self.assertEqual(st, 200, v1)
        self.assert_no_key(st, v1)
        self.assertEqual(v1["version"], 1)
        self.assertEqual(v1["note"], "first")
        self.assertTrue(v1["created_by"])
        self.assertTrue(v1["created_at"])
        c1 = v1["config"]
        self.assertTrue(c1["provider"]["api_key_set"])
        self.assertNotIn("api_key", c1["provider"])
        self.assertEqual(c1["identity"]["name"], "Clínica Sol")
        self.assertEqual(c1["intents"][1], {"name": "urgent", "examples": ["help now"], "action": "emergency",
                                            "mode": "", "model": ""})
        # Members left out took the defaults; objects merged member by member.
        self.assertEqual(c1["channels"]["whatsapp"], defaults["channels"]["whatsapp"])
        self.assertEqual(c1["channels"]["sms"], False)
        self.assertEqual(c1["safety"]["max_length"]["email"], defaults["safety"]["max_length"]["email"])
        self.assertEqual(c1["safety"]["max_length"]["sms"], 160)
        self.assertEqual(c1["intent_threshold"], defaults["intent_threshold"])
        st, cur = self.get()
        self.assertEqual((cur["version"], cur["config"]), (1, c1))

        # Bad documents: 400 with the path, nothing saved.
        for doc, msg in (({"intents": [{"name": "a", "action": "dance"}]},
                          "intents[0].action: must be one of answer, handover, collect, book, emergency"),
                         ({"working_hours": {"days": [1, 9]}}, "working_hours.days[1]: must be an integer"),
                         ({"colour": "red"}, "colour: unknown field"),
                         ({"provider": {"kind": "openai", "model": ""}}, "provider.model: required"),
                         ({"auto_threshold": 2}, "auto_threshold: must be a number from 0 to 1")):
            st, body = self.put({"config": doc, "api_key": API_KEY})
            self.assertEqual((st, body["error"]["code"]), (400, "invalid_config"), body)
            self.assertTrue(body["error"]["message"].startswith(msg), body["error"]["message"])
            self.assert_no_key(st, body)
        st, body = self.put({"config": [1]})
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_config"))
        st, body = self.put({"config": {}, "extra": 1})
        self.assertEqual(st, 400)
        st, cur = self.get()
        self.assertEqual(cur["version"], 1)

        # Roles: everyone reads, only owners and admins change.
        for key in (self.viewer, self.agent):
            st, _ = self.get(key=key)
            self.assertEqual(st, 200)
            st, _ = self.get("/api/v1/assistant/config/versions", key=key)
            self.assertEqual(st, 200)
            st, _ = self.put({"config": {"enabled": False}}, key=key)
            self.assertEqual(st, 403)
            st, _ = srv.json("POST", "/api/v1/assistant/config/versions/1/rollback", key=key)
            self.assertEqual(st, 403)

        # v2: many changes, no key given (the key stays).
        change = {"enabled": False, "identity": {"name": "Sol", "tone": "formal"}, "languages": ["en"],
                  "mode": "auto", "intents": [{"name": "refund", "examples": ["money back"], "action": "collect"}],
                  "provider": {"kind": "extractive", "base_url": "", "model": ""},
                  "safety": {"forbid_prices": False, "max_length": {"webchat": 50}},
                  "log_retention_days": 7}
        st, v2 = self.put({"config": change, "note": "simpler"})
        self.assertEqual((st, v2["version"]), (200, 2), v2)
        self.assertTrue(v2["config"]["provider"]["api_key_set"])
        self.assertEqual(v2["config"]["identity"]["persona"], "Calm.\nNever guesses.")

        # Versions, newest first; one version by number; unknown is 404.
        st, lst = self.get("/api/v1/assistant/config/versions", key=self.viewer)
        self.assertEqual(st, 200)
        self.assertEqual([v["version"] for v in lst["data"]], [2, 1])
        self.assertEqual([v["note"] for v in lst["data"]], ["simpler", "first"])
        self.assertEqual(set(lst["data"][0]), {"version", "note", "created_by", "created_at"})
        st, lst = self.get("/api/v1/assistant/config/versions?limit=1")
        self.assertEqual(len(lst["data"]), 1)
        st, _ = self.get("/api/v1/assistant/config/versions?limit=0")
        self.assertEqual(st, 400)
        st, one = self.get("/api/v1/assistant/config/versions/1", key=self.viewer)
        self.assertEqual((st, one["version"], one["config"]), (200, 1, c1))
        for bad in ("99", "x"):
            st, body = self.get("/api/v1/assistant/config/versions/" + bad)
            self.assertEqual((st, body["error"]["code"]), (404, "not_found"))

        # Diff: leaf paths.
        st, d = self.get("/api/v1/assistant/config/diff?from=1&to=2", key=self.viewer)
        self.assertEqual(st, 200, d)
        self.assertEqual((d["from"], d["to"]), (1, 2))
        changes = {c["path"]: (c["from"], c["to"]) for c in d["changes"]}
        self.assertEqual(changes["identity.name"], ("Clínica Sol", "Sol"))
        self.assertEqual(changes["languages[0]"], ("es", "en"))
        self.assertEqual(changes["languages[1]"], ("en", None))
        self.assertEqual(changes["intents[0].action"], ("answer", "collect"))
        self.assertEqual(changes["intents[0].examples[1]"], ("reembolso", None))
        self.assertEqual(changes["intents[1]"][1], None)
        self.assertEqual(changes["intents[1]"][0]["name"], "urgent")
        self.assertEqual(changes["safety.max_length.webchat"], (1000, 50))
        self.assertNotIn("identity.persona", changes)
        self.assertNotIn("provider.api_key_set", changes)
        st, d0 = self.get("/api/v1/assistant/config/diff?from=2&to=2")
        self.assertEqual(d0["changes"], [])
        st, _ = self.get("/api/v1/assistant/config/diff?from=1")
        self.assertEqual(st, 400)
        st, _ = self.get("/api/v1/assistant/config/diff?from=1&to=42")
        self.assertEqual(st, 404)

        # Rollback to 1: v3 equals v1 exactly, the key stays.
        st, v3 = srv.json("POST", "/api/v1/assistant/config/versions/1/rollback", key=self.admin)
        self.assertEqual(st, 200, v3)
        self.assertEqual(v3["version"], 3)
        self.assertEqual(v3["note"], "rollback to 1")
        self.assertEqual(v3["config"], c1)
        st, cur = self.get()
        self.assertEqual((cur["version"], cur["config"]), (3, c1))
        st, d13 = self.get("/api/v1/assistant/config/diff?from=1&to=3")
        self.assertEqual(d13["changes"], [])
        st, _ = srv.json("POST", "/api/v1/assistant/config/versions/77/rollback", key=self.admin)
        self.assertEqual(st, 404)

        # "" removes the key.
        st, v4 = self.put({"api_key": ""})
        self.assertEqual((st, v4["version"]), (200, 4))
        self.assertFalse(v4["config"]["provider"]["api_key_set"])
        self.assertEqual(dict(v4["config"], provider=None), dict(c1, provider=None))

        # Another tenant: untouched.
        st, cur = self.get(key=self.other_admin)
        self.assertEqual((cur["version"], cur["config"]), (0, defaults))
        st, lst = self.get("/api/v1/assistant/config/versions", key=self.other_admin)
        self.assertEqual(lst["data"], [])
        st, _ = self.get("/api/v1/assistant/config/versions/1", key=self.other_admin)
        self.assertEqual(st, 404)

        # The audit log: who changed what, never the key.
        st, audit = self.get("/api/v1/audit")
        self.assertEqual(st, 200)
        rows = [a for a in audit["data"] if a["action"].startswith("assistant.config.")]
        self.assertEqual(sorted(a["action"] for a in rows),
                         ["assistant.config.rollback"] + ["assistant.config.update"] * 3)
        self.assertNotIn(API_KEY, json.dumps(audit))
        by_target = {a["target"]: a for a in rows}
        self.assertIn("identity.name", by_target["2"]["details"]["changes"])
        self.assertEqual(by_target["1"]["details"]["api_key"], "set")
        self.assertEqual(by_target["4"]["details"]["api_key"], "removed")
        self.assertEqual(by_target["3"]["action"], "assistant.config.rollback")
        self.assertEqual(by_target["3"]["details"]["rolled_back_to"], 1)
        self.assertIn("identity.name", by_target["3"]["details"]["changes"])
        self.assertTrue(all(a["actor_id"] for a in rows))

        # Nor in the server's log.
        self.assertNotIn(API_KEY, srv.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
