"""
The assistant's knowledge base end to end: the real server on the backend
under test.

Checked:
- CRUD: an admin creates a document (201, chunks counted), reads it, lists
  it (without body), patches it (a new body is re-chunked), disables it
  (no longer found by search), deletes it (404 after);
- import: CSV with a header, a good row and a row without an answer answers
  {accepted: 1, rejected: [{row: 3, reason: "missing answer"}], documents};
  JSON and Markdown imports; a bad content type is 415; JSON that is not an
  array is 400 invalid_import;
- search: ranked passages with scores, best first; stemming ("refunds"
  finds "refund"); Spanish ("devoluciones" finds "devolución"); a query of
  FTS operators is harmless; an empty query is 400;
- roles: a viewer can list, read and search but gets 403 on create, patch,
  delete and import; an agent cannot write either;
- tenants: another tenant's admin gets 404 on the document and finds
  nothing by search;
- the audit log has kb.document.create/update/delete and kb.import rows.
"""
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402


class KbTest(unittest.TestCase):
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

    def search(self, q, key=None, k=5):
        st, body = self.srv.json("GET", "/api/v1/kb/search?" + urllib.parse.urlencode({"q": q, "k": k}),
                                 key=key or self.admin)
        self.assertEqual(st, 200, body)
        return body["data"]

    def raw_import(self, ctype, data, key=None, query=""):
        h = {"Content-Type": ctype, "Authorization": "Bearer " + (key or self.admin)}
        st, _, raw = self.srv.request("POST", "/api/v1/kb/import" + query, body=data, headers=h)
        return st, json.loads(raw) if raw else None

    def test_crud_search_and_roles(self):
        srv = self.srv
        st, doc = srv.json("POST", "/api/v1/kb/documents",
                           {"title": "Refund policy", "body": "A refund is issued within five business days.",
                            "tags": ["billing"], "source": "faq"}, key=self.admin)
        self.assertEqual(st, 201, doc)
        self.assertTrue(doc["id"].startswith("kbd_"))
        self.assertEqual(doc["chunks"], 1)
        self.assertEqual(doc["tags"], ["billing"])
        self.assertTrue(doc["enabled"])
        did = doc["id"]

        st, got = srv.json("GET", "/api/v1/kb/documents/" + did, key=self.viewer)
        self.assertEqual(st, 200)
        self.assertEqual(got["body"], "A refund is issued within five business days.")
        st, lst = srv.json("GET", "/api/v1/kb/documents", key=self.viewer)
        self.assertEqual(st, 200)
        self.assertIn(did, [d["id"] for d in lst["data"]])
        self.assertNotIn("body", lst["data"][0])

        # Stemming, scores, best first.
        srv.json("POST", "/api/v1/kb/documents",
                 {"title": "Refund and warranty", "body": "Refunds for warranty repairs take five days."},
                 key=self.admin)
        hits = self.search("refunds warranty", key=self.viewer)
        self.assertGreaterEqual(len(hits), 2)
        self.assertEqual(hits[0]["title"], "Refund and warranty")
        self.assertGreaterEqual(hits[0]["score"], hits[1]["score"])
        self.assertIn(did, [h["document_id"] for h in hits])
        self.assertEqual(set(hits[0]), {"chunk_id", "document_id", "title", "text", "score"})

        # Spanish.
        st, es = srv.json("POST", "/api/v1/kb/documents",
                          {"title": "Devoluciones", "body": "La devolución tarda cinco días.", "language": "es"},
                          key=self.admin)
        self.assertEqual(st, 201, es)
        self.assertEqual([h["document_id"] for h in self.search("devoluciones")], [es["id"]])

        # User text with FTS operators is only words; no words is 400.
        self.search('refund" OR NEAR(x) * ^ : -')
        st, body = srv.json("GET", "/api/v1/kb/search?q=%3F%21", key=self.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "empty_query"))
        st, body = srv.json("GET", "/api/v1/kb/search?q=x&k=500", key=self.admin)
        self.assertEqual(st, 400)

        # Viewers and agents read but never write.
        for key in (self.viewer, self.agent):
            st, _ = srv.json("POST", "/api/v1/kb/documents", {"title": "x", "body": "y"}, key=key)
            self.assertEqual(st, 403)
            st, _ = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"title": "x"}, key=key)
            self.assertEqual(st, 403)
            st, _ = srv.json("DELETE", "/api/v1/kb/documents/" + did, key=key)
            self.assertEqual(st, 403)
            st, _ = self.raw_import("text/plain", b"T\nbody", key=key)
            self.assertEqual(st, 403)

        # Another tenant sees nothing.
        st, body = srv.json("GET", "/api/v1/kb/documents/" + did, key=self.other_admin)
        self.assertEqual((st, body["error"]["code"]), (404, "not_found"))
        st, _ = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"title": "x"}, key=self.other_admin)
        self.assertEqual(st, 404)
        self.assertEqual(self.search("refund", key=self.other_admin), [])

        # Patch: a new body re-chunks; bad input is 400.
        long_body = "\n\n".join("Paragraph %d about bicycles parked at the back." % i for i in range(40))
        st, doc = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"body": long_body}, key=self.admin)
        self.assertEqual(st, 200, doc)
        self.assertGreater(doc["chunks"], 1)
        self.assertEqual(doc["title"], "Refund policy")
        self.assertNotIn(did, [h["document_id"] for h in self.search("issued")])
        st, body = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"title": ""}, key=self.admin)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_document"))
        st, body = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"enabled": "no"}, key=self.admin)
        self.assertEqual(st, 400)

        # Disabled: kept, never retrieved.
        st, doc = srv.json("PATCH", "/api/v1/kb/documents/" + did, {"enabled": False}, key=self.admin)
        self.assertEqual((st, doc["enabled"]), (200, False))
        self.assertEqual(self.search("bicycles"), [])
        srv.json("PATCH", "/api/v1/kb/documents/" + did, {"enabled": True}, key=self.admin)
        self.assertEqual(self.search("bicycles")[0]["document_id"], did)

        st, _ = srv.json("DELETE", "/api/v1/kb/documents/" + did, key=self.admin)
        self.assertEqual(st, 204)
        st, _ = srv.json("GET", "/api/v1/kb/documents/" + did, key=self.admin)
        self.assertEqual(st, 404)
        self.assertEqual(self.search("bicycles"), [])

        st, audit = srv.json("GET", "/api/v1/audit", key=self.admin)
        self.assertEqual(st, 200)
        actions = [a["action"] for a in audit["data"]]
        for a in ("kb.document.create", "kb.document.update", "kb.document.delete"):
            self.assertIn(a, actions)

    def test_import(self):
        csv = b"question,answer\nDo you deliver on Sundays?,\"No, never on Sundays.\"\nWhere are you?,\n"
        st, rep = self.raw_import("text/csv", csv)
        self.assertEqual(st, 200, rep)
        self.assertEqual(rep["accepted"], 1)
        self.assertEqual(rep["rejected"], [{"row": 3, "reason": "missing answer"}])
        self.assertEqual(len(rep["documents"]), 1)
        hits = self.search("sunday deliveries")
        self.assertEqual(hits[0]["document_id"], rep["documents"][0])
        self.assertEqual(hits[0]["text"], "Q: Do you deliver on Sundays?\nA: No, never on Sundays.")

        st, rep = self.raw_import("application/json",
                                  b'[{"title":"Lockers","body":"Pick up from lockers.","tags":["pickup"]},'
                                  b'{"title":"No body"}]')
        self.assertEqual((st, rep["accepted"]), (200, 1))
        self.assertEqual(rep["rejected"], [{"row": 2, "reason": "missing body"}])
        st, rep = self.raw_import("text/markdown; charset=utf-8",
                                  "# Horario\nAbrimos a las nueve.\n# Vacío\n\n# Envíos\nLos envíos tardan dos días.\n".encode(),
                                  query="?language=es")
        self.assertEqual((st, rep["accepted"]), (200, 2), rep)
        self.assertEqual(rep["rejected"], [{"row": 2, "reason": "empty section"}])
        self.assertEqual(len(self.search("envio")), 1)
        st, rep = self.raw_import("text/plain", b"Body only text.", query="?title=Given")
        self.assertEqual((st, rep["accepted"]), (200, 1))
        st, rep = self.raw_import("text/csv", b"q,a\nbad \xff,x\n")
        self.assertEqual(rep["rejected"], [{"row": 2, "reason": "bad UTF-8"}])

        st, body = self.raw_import("application/xml", b"<x/>")
        self.assertEqual((st, body["error"]["code"]), (415, "unsupported_type"))
        st, body = self.raw_import("application/json", b'{"title":"x"}')
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_import"))

        st, audit = self.srv.json("GET", "/api/v1/audit", key=self.admin)
        self.assertIn("kb.import", [a["action"] for a in audit["data"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
