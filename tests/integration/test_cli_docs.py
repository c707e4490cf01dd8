"""
Generated docs stay in step with the code: docs/configuration.md (from the
config schema) and docs/permissions.md (from the role matrix) must equal what
`switchboard gen-docs` writes now. Run it with --out docs to refresh them.
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SB_BIN, SOURCE_DIR  # noqa: E402


class DocsTest(unittest.TestCase):
    def test_cli_docs__generated_docs_are_current(self):
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run([SB_BIN, "gen-docs", "--out", out], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            for name in ("configuration.md", "permissions.md"):
                with open(os.path.join(out, name), encoding="utf-8") as f:
                    fresh = f.read()
                self.assertGreater(len(fresh), 200, name + " is suspiciously short")
                path = os.path.join(SOURCE_DIR, "docs", name)
                self.assertTrue(os.path.exists(path), path + " missing: run `switchboard gen-docs`")
                with open(path, encoding="utf-8") as f:
                    self.assertEqual(f.read(), fresh,
                                     "docs/%s is stale: run `switchboard gen-docs --out docs`" % name)

    def test_cli_docs__schema_lists_every_variable(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([SB_BIN, "gen-docs", "--out", out], check=True, capture_output=True, timeout=30)
            with open(os.path.join(out, "configuration.md"), encoding="utf-8") as f:
                doc = f.read()
        for var in ("SB_ENV", "SB_LISTEN", "SB_DATA_DIR", "SB_DATABASE_URL", "SB_SECRET_KEY", "SB_BODY_LIMIT",
                    "SB_HEADER_TIMEOUT", "SB_ALLOW_UNSIGNED_WEBHOOKS", "SB_REQUIRE_API_KEYS", "SB_THREADS"):
            self.assertIn(var, doc)


if __name__ == "__main__":
    unittest.main(verbosity=2)
