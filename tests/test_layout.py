"""
Module boundaries, checked on every run (DESIGN.md section 3):
- no SQL outside src/store/;
- a file outside module M includes only M's contract header "M/M.h", never
  another private header of M (store_int.h, http_int.h, ...);
- dependencies point downward: core <- store <- ops <- queue, auth, crm,
  compliance, template, media <- messaging <- webhook, assistant <- http <- cli/main; channel (pure
  adapters) depends on core only. The assistant sits above messaging: its replies leave through the one
  outbound path (messaging_send, the compliance gate) and its job is queued by messaging's inbound hook.
"""
import os
import re
import sys
import unittest

SRC = os.path.join(os.environ.get("SB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..")), "src")
SQL = re.compile(r"\b(SELECT\s+[^;]*\s+FROM|INSERT\s+INTO|UPDATE\s+[a-z_]+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|"
                 r"ALTER\s+TABLE|DROP\s+TABLE)\b", re.I)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Which modules each module may include (its own contract is always allowed).
ALLOWED = {
    "core": set(),
    "store": {"core"},
    "ops": {"core", "store"},
    "channel": {"core"},
    "queue": {"core", "store", "ops"},
    "auth": {"core", "store", "ops"},
    "crm": {"core", "store", "ops"},
    "compliance": {"core", "store", "ops"},
    "media": {"core", "store", "ops", "channel"},
    "template": {"core", "store", "ops"},
    "assistant": {"core", "store", "ops", "queue", "crm", "compliance", "messaging"},
    "messaging": {"core", "store", "ops", "queue", "channel", "crm", "compliance", "template", "media"},
    "webhook": {"core", "store", "ops", "queue", "channel", "messaging"},
    "http": {"core", "store", "ops", "auth", "channel", "queue", "crm", "compliance", "messaging", "webhook",
             "template", "media", "assistant"},
    "": {"core", "store", "ops", "auth", "http", "channel", "queue", "crm", "compliance", "messaging",
         "webhook", "template", "media", "assistant"},  # main.c, cli.c
}


def sources():
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith((".c", ".h")):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, SRC)
                module = rel.split(os.sep)[0] if os.sep in rel else ""
                with open(path, encoding="utf-8") as fh:
                    yield rel, module, fh.read()


class LayoutTest(unittest.TestCase):
    def test_layout__sources_found(self):
        self.assertGreater(len(list(sources())), 10)

    def test_layout__no_sql_outside_store(self):
        bad = [rel for rel, module, text in sources() if module != "store" and SQL.search(text)]
        self.assertEqual(bad, [], "SQL outside src/store/")

    def test_layout__only_contract_headers_cross_modules(self):
        bad = []
        for rel, module, text in sources():
            for inc in INCLUDE.findall(text):
                if "/" not in inc:
                    continue  # same-directory include
                other, header = inc.split("/", 1)
                if other == module:
                    continue
                if header != other + ".h":
                    bad.append("%s includes private %s" % (rel, inc))
                elif other not in ALLOWED.get(module, set()):
                    bad.append("%s (%s) depends upward on %s" % (rel, module or "main", other))
        self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
