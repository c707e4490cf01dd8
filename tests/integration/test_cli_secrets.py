"""
Secrets at rest: a tenant secret is stored sealed under the key ring, stays
readable across `switchboard keys rotate` (which re-encrypts it under the new
key), and its plaintext appears nowhere in the database files. The wrong
SB_SECRET_KEY cannot open the ring.
"""
import base64
import glob
import os
import secrets
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

SECRET = "whsec-plaintext-credential-5c2e9a"


class SecretsTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server()
        self.srv.migrate()
        self.tenant = self.srv.tenant("vault")

    def tearDown(self):
        self.srv.stop()

    def put(self, name, value):
        rc, out, err = self.srv.cli("secret", "set", "--tenant", self.tenant, "--name", name, "--value-stdin",
                                    input=value + "\n")
        self.assertEqual(rc, 0, err)
        return out

    def get(self, name, env=None):
        return self.srv.cli("secret", "get", "--tenant", self.tenant, "--name", name, env=env)

    def database_bytes(self):
        if self.srv.backend == "postgres":
            p = subprocess.run(["pg_dump", "--data-only", self.srv.env["SB_DATABASE_URL"]],
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout
        data = b""
        for path in glob.glob(os.path.join(self.srv.datadir, "switchboard.db*")):
            with open(path, "rb") as f:
                data += f.read()
        self.assertGreater(len(data), 0)
        return data

    def test_cli_secrets__readable_across_rotation(self):
        self.assertIn("key k1", self.put("twilio_auth_token", SECRET))
        rc, out, err = self.get("twilio_auth_token")
        self.assertEqual((rc, out.strip()), (0, SECRET), err)
        rc, out, err = self.srv.cli("keys", "rotate")
        self.assertEqual(rc, 0, err)
        self.assertIn("active key k2", out)
        self.assertIn("re-encrypted 1 secret", out)
        rc, out, err = self.get("twilio_auth_token")
        self.assertEqual((rc, out.strip()), (0, SECRET), err)
        self.assertIn("key k2", self.put("second", SECRET + "-2"))
        rc, out, err = self.srv.cli("keys", "rotate")
        self.assertEqual(rc, 0, err)
        self.assertIn("re-encrypted 2 secret", out)
        for name, want in (("twilio_auth_token", SECRET), ("second", SECRET + "-2")):
            rc, out, err = self.get(name)
            self.assertEqual((rc, out.strip()), (0, want), err)

    def test_cli_secrets__no_plaintext_in_database(self):
        self.put("twilio_auth_token", SECRET)
        self.srv.cli("keys", "rotate")
        self.assertNotIn(SECRET.encode(), self.database_bytes())

    def test_cli_secrets__wrong_master_key_refused(self):
        self.put("twilio_auth_token", SECRET)
        other = base64.b64encode(secrets.token_bytes(32)).decode()
        rc, out, err = self.get("twilio_auth_token", env={"SB_SECRET_KEY": other})
        self.assertNotEqual(rc, 0)
        self.assertNotIn(SECRET, out + err)
        self.assertIn("SB_SECRET_KEY", err)

    def test_cli_secrets__other_tenant_cannot_read(self):
        self.put("twilio_auth_token", SECRET)
        other = self.srv.tenant("other")
        rc, out, err = self.srv.cli("secret", "get", "--tenant", other, "--name", "twilio_auth_token")
        self.assertEqual(rc, 4, out + err)
        self.assertNotIn(SECRET, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
