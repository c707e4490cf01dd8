"""
No secret in any log: reads every file under $SB_TEST_LOG_DIR (each server and
CLI run of the integration tests appends its stderr there) and fails if one of
the values listed in tests/integration/secrets.txt appears in it, as is or in
the JSON-escaped or URL-encoded forms a logger might write. Registered in ctest
as it_zz_logs, the FIXTURES_CLEANUP step of the sb_logs fixture, so it runs
after every integration test; it also fails when there are no logs at all, so
it cannot pass vacuously.
"""
import json
import os
import sys
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SB_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
LOG_DIR = os.environ.get("SB_TEST_LOG_DIR", os.path.join(SOURCE_DIR, "build-test-logs"))


def load_secrets(path=os.path.join(HERE, "secrets.txt")):
    """The test secrets: one per line, blank lines and '#' comments skipped."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(line)
    return out


def variants(secret):
    """The byte strings under which secret could show up in a log line."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],                    # inside a JSON string
        urllib.parse.quote(secret, safe=""),         # percent-encoded
        urllib.parse.quote_plus(secret, safe=""),    # form-encoded
    }
    return sorted(f.encode() for f in forms if f)


def log_files(root):
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            yield os.path.join(dirpath, n)


class LogsTest(unittest.TestCase):
    def test_zz_logs__secrets_list_is_sane(self):
        s = load_secrets()
        self.assertIn("correct horse battery staple", s)
        self.assertIn("sb_live_", s)
        self.assertTrue(all(len(x) >= 6 for x in s), "a short secret would match by chance")

    def test_zz_logs__no_secret_in_any_log(self):
        self.assertTrue(os.path.isdir(LOG_DIR), "no log directory %s: SB_TEST_LOG_DIR not set up?" % LOG_DIR)
        files = list(log_files(LOG_DIR))
        total = 0
        leaks = []
        needles = [(s, v) for s in load_secrets() for v in variants(s)]
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            total += len(data)
            for secret, needle in needles:
                at = data.find(needle)
                if at >= 0:
                    line_no = data.count(b"\n", 0, at) + 1
                    start = data.rfind(b"\n", 0, at) + 1
                    end = data.find(b"\n", at)
                    line = data[start:end if end >= 0 else len(data)][:300].decode(errors="replace")
                    leaks.append("%s:%d: contains %r: %s" % (os.path.relpath(path, LOG_DIR), line_no, secret, line))
        self.assertTrue(files, "no log files in %s: the check would pass vacuously" % LOG_DIR)
        self.assertGreater(total, 0, "all %d log files in %s are empty" % (len(files), LOG_DIR))
        sys.stderr.write("scanned %d log files, %d bytes, for %d secrets\n" % (len(files), total, len(load_secrets())))
        if leaks:
            self.fail("secrets leaked into logs:\n" + "\n".join(leaks))


if __name__ == "__main__":
    unittest.main(verbosity=2)
