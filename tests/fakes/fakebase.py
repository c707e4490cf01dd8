"""Plumbing shared by the fake providers (stdlib only): the request/response
helpers, the control endpoints (POST /_fake/mode, GET /_fake/requests,
GET /_fake/callbacks), the failure modes ("500", "429", "slow", "malformed",
"close"), delivery of signed callbacks, and the server loop that prints
"LISTENING <port>" first. Each fake keeps only its provider's wire format.
Every recorded request carries "conn": the number of the TCP connection it
came on (1, 2, … in accept order), so tests can tell reused connections."""
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": "ok", "retry_after": 1, "delay": 2.0, "requests": [], "callbacks": [], "callback_results": [],
         "connections": 0}
LOCK = threading.Lock()


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            STATE["connections"] += 1
            self.conn_id = STATE["connections"]

    def reply(self, code, obj, headers=None):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

    def control_get(self):
        """Answer GET /_fake/requests and /_fake/callbacks; False for other paths."""
        if self.path not in ("/_fake/requests", "/_fake/callbacks"):
            return False
        with LOCK:
            self.reply(200, STATE["requests" if self.path == "/_fake/requests" else "callback_results"])
        return True

    def control_post(self, raw):
        """Answer POST /_fake/mode (a JSON object merged into STATE); False for other paths."""
        if self.path != "/_fake/mode":
            return False
        with LOCK:
            STATE.update(json.loads(raw or b"{}"))
        self.reply(200, {"ok": True})
        return True

    def record(self, entry):
        """Remember a provider request; returns the current (mode, retry_after, delay)."""
        entry["authorization"] = self.headers.get("Authorization")
        entry["conn"] = self.conn_id
        entry["at"] = time.time()
        with LOCK:
            STATE["requests"].append(entry)
            return STATE["mode"], STATE["retry_after"], STATE["delay"]

    def fail(self, mode, retry_after, delay, error_500, error_429, malformed):
        """Apply the failure mode; True when the request has been answered (or dropped).
        error_500() and error_429(retry_after) answer in the provider's error shape;
        malformed is the (status, bytes) of a truncated success body."""
        if mode == "500":
            error_500()
            return True
        if mode == "429":
            error_429(retry_after)
            return True
        if mode == "slow":
            time.sleep(delay)
        if mode == "malformed":
            self.reply(*malformed)
            return True
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        return False


def callbacks():
    with LOCK:
        return list(STATE["callbacks"])


def deliver_callback(url, body, headers, record):
    """POST one signed callback; the outcome is recorded, never raised, so the fake keeps serving."""
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            result = r.status
    except Exception as e:
        result = getattr(e, "code", None) or str(e)
    record["result"] = result
    with LOCK:
        STATE["callback_results"].append(record)


def serve(handler, port):
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    print("LISTENING %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
