"""
Production safety: `switchboard serve` with SB_ENV=production refuses each
unsafe setting (default or missing secret key, unsigned webhooks allowed,
a public URL that is not https, several tenants while API keys are not required) with a non-zero exit and a
line naming the problem; `switchboard doctor` reports the same and redacts
secrets. A safe production configuration starts and serves /healthz.
"""
import base64
import os
import secrets
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import SB_BIN, Server, free_port  # noqa: E402

GOOD_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
REFUSED = 3  # cli.h CLI_CONFIG


class ProductionTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server(env={"SB_ENV": "production", "SB_SECRET_KEY": GOOD_KEY,
                                "SB_PUBLIC_URL": "https://switchboard.example.com"})
        self.srv.migrate()

    def tearDown(self):
        self.srv.stop()

    def serve(self, env):
        """Run serve briefly; returns (rc, stderr) or (None, stderr) if it kept running."""
        e = dict(self.srv.env)
        e.update(env)
        p = subprocess.Popen([SB_BIN, "serve", "--listen", "127.0.0.1:%d" % free_port(),
                              "--data", self.srv.datadir],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, cwd=self.srv.datadir)
        try:
            out, err = p.communicate(timeout=5)
            return p.returncode, err.decode()
        except subprocess.TimeoutExpired:
            p.terminate()
            out, err = p.communicate(timeout=30)
            return None, err.decode()

    def test_cli_production__refuses_default_secret_key(self):
        rc, err = self.serve({"SB_SECRET_KEY": ""})
        self.assertEqual(rc, REFUSED, err)
        self.assertIn("SB_SECRET_KEY", err)
        env = dict(self.srv.env)
        env.pop("SB_SECRET_KEY")  # unset entirely: the built-in development default applies
        p = subprocess.run([SB_BIN, "serve", "--listen", "127.0.0.1:%d" % free_port(), "--data", self.srv.datadir],
                           capture_output=True, env=env, cwd=self.srv.datadir, timeout=10)
        self.assertEqual(p.returncode, REFUSED, p.stderr)
        self.assertIn(b"SB_SECRET_KEY", p.stderr)

    def test_cli_production__refuses_unsigned_webhooks(self):
        rc, err = self.serve({"SB_ALLOW_UNSIGNED_WEBHOOKS": "true"})
        self.assertEqual(rc, REFUSED, err)
        self.assertIn("SB_ALLOW_UNSIGNED_WEBHOOKS", err)

    def test_cli_production__refuses_plain_http_public_url(self):
        rc, err = self.serve({"SB_PUBLIC_URL": "http://switchboard.example.com"})
        self.assertEqual(rc, REFUSED, err)
        self.assertIn("SB_PUBLIC_URL", err)

    def test_cli_production__refuses_many_tenants_without_api_keys(self):
        self.srv.tenant("one")
        rc, err = self.serve({"SB_REQUIRE_API_KEYS": "false"})
        self.assertIsNone(rc, "one tenant without required keys is allowed: " + err)
        self.srv.tenant("two")
        rc, err = self.serve({"SB_REQUIRE_API_KEYS": "false"})
        self.assertEqual(rc, REFUSED, err)
        self.assertIn("SB_REQUIRE_API_KEYS", err)

    def test_cli_production__safe_configuration_serves(self):
        self.srv.start()
        st, _, body = self.srv.request("GET", "/healthz")
        self.assertEqual(st, 200)
        self.srv.sigterm()
        self.assertEqual(self.srv.wait(), 0)

    def test_cli_production__doctor_flags_and_redacts(self):
        rc, out, err = self.srv.cli("doctor", env={"SB_ALLOW_UNSIGNED_WEBHOOKS": "yes"})
        self.assertEqual(rc, REFUSED, out + err)
        self.assertIn("SB_ALLOW_UNSIGNED_WEBHOOKS", out)
        self.assertNotIn(GOOD_KEY, out + err)
        rc, out, err = self.srv.cli("doctor")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("SB_SECRET_KEY=", out)
        self.assertNotIn(GOOD_KEY, out + err)

    def test_cli_production__seed_demo_refused(self):
        rc, out, err = self.srv.cli("seed-demo")
        self.assertEqual(rc, REFUSED, out + err)

    def test_cli_production__bad_config_value_is_named(self):
        rc, out, err = self.srv.cli("doctor", env={"SB_BODY_LIMIT": "lots"})
        self.assertEqual(rc, REFUSED)
        self.assertIn("SB_BODY_LIMIT", err)
        rc, out, err = self.srv.cli("doctor", env={"SB_SECRET_KEYY": "x"})
        self.assertEqual(rc, REFUSED, "a misspelt SB_ variable must be an error")
        self.assertIn("SB_SECRET_KEYY", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
