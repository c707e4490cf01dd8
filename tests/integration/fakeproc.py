"""
Provider fakes for integration tests: start tests/fakes/<script> on a port it
picks (it prints "LISTENING <port>"), set its mode and data through its
control API (POST /_fake/mode merges a JSON object into its state), read what
it received (GET /_fake/requests), stop it. Python standard library only.
"""
import json
import os
import subprocess
import sys
import urllib.request

from harness import SOURCE_DIR


class Fake:
    def __init__(self, script, *args):
        self.proc = subprocess.Popen([sys.executable, os.path.join(SOURCE_DIR, "tests", "fakes", script), "0"]
                                     + list(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("LISTENING "):
            self.proc.kill()
            raise RuntimeError("%s did not start: %r" % (script, line))
        self.port = int(line.split()[1])
        self.base = "http://127.0.0.1:%d" % self.port

    def mode(self, **state):
        req = urllib.request.Request(self.base + "/_fake/mode", data=json.dumps(state).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    def requests(self):
        with urllib.request.urlopen(self.base + "/_fake/requests", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


def meta_template(name, language, status, body, category="UTILITY"):
    """A template as Meta's message_templates lists it."""
    return {"name": name, "language": language, "status": status, "category": category,
            "components": [{"type": "BODY", "text": body}]}
