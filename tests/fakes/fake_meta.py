#!/usr/bin/env python3
"""A fake Meta Graph API (WhatsApp Cloud API messages endpoint) for tests.

POST /[vNN.N/]{phone_number_id}/messages with "Authorization: Bearer <token>"
(checked against --access-token) and a JSON body with messaging_product
"whatsapp"; 200 {"messaging_product","contacts":[{input,wa_id}],"messages":[{id}]}.
Errors use Graph's shape {"error": {message, type, code, error_subcode, fbtrace_id}}.
Control: POST /_fake/mode {"mode": "ok"|"500"|"429"|"slow"|"malformed"|"close",
"retry_after": N, "delay": seconds, "callbacks": ["sent", "delivered", "read"]};
GET /_fake/requests lists what was received. With "callbacks" set and
--webhook-url given, each accepted message gets one status webhook per listed
status, signed X-Hub-Signature-256 with --app-secret as Meta signs.
Prints "LISTENING <port>" first on stdout.
"""
import argparse, hashlib, hmac, json, re, secrets, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": "ok", "retry_after": 1, "delay": 2.0, "requests": [], "callbacks": [], "callback_results": []}
LOCK = threading.Lock()
ARGS = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj, headers=None):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message, etype="OAuthException", headers=None):
        self.reply(status, {"error": {"message": message, "type": etype, "code": code,
                                      "error_subcode": None, "fbtrace_id": "A" + secrets.token_hex(8)}}, headers)

    def do_GET(self):
        if self.path in ("/_fake/requests", "/_fake/callbacks"):
            with LOCK:
                self.reply(200, STATE["requests" if self.path == "/_fake/requests" else "callback_results"])
        else:
            self.error(400, 100, "Unsupported get request.", "GraphMethodException")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/_fake/mode":
            with LOCK:
                STATE.update(json.loads(raw or b"{}"))
            return self.reply(200, {"ok": True})
        m = re.fullmatch(r"(?:/v[0-9.]+)?/([^/]+)/messages", self.path)
        if not m:
            return self.error(400, 100, "Unknown path components", "GraphMethodException")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["requests"].append({"path": self.path, "json": body,
                                      "authorization": self.headers.get("Authorization")})
            mode, retry_after, delay = STATE["mode"], STATE["retry_after"], STATE["delay"]
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if mode == "500":
            return self.error(500, 2, "An unexpected error has occurred. Please retry your request later.")
        if mode == "429":
            return self.error(429, 130429, "Rate limit hit", headers={"Retry-After": str(retry_after)})
        if mode == "slow":
            time.sleep(delay)
        if mode == "malformed":
            return self.reply(200, b"{\"messages\": [")
        if mode == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" or "to" not in body:
            return self.error(400, 100, "(#100) Invalid parameter", "OAuthException")
        if mode == "outside_window" and body.get("type") != "template":
            return self.error(400, 131047, "Re-engagement message")
        to = str(body["to"])
        wamid = "wamid." + secrets.token_urlsafe(30)
        with LOCK:
            callbacks = list(STATE["callbacks"])
        if callbacks and ARGS.webhook_url:
            threading.Thread(target=send_callbacks, daemon=True,
                             args=(m.group(1), wamid, to.lstrip("+"), callbacks)).start()
        self.reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                         "messages": [{"id": wamid}]})


def send_callbacks(pnid, wamid, recipient, statuses):
    for st in statuses:
        status = {"id": wamid, "status": st, "timestamp": str(int(time.time())), "recipient_id": recipient}
        if st == "failed":
            status["errors"] = [{"code": 131026, "title": "Message undeliverable",
                                 "message": "Message undeliverable", "error_data": {"details": "fake"}}]
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": "15550000000", "phone_number_id": pnid},
                      "statuses": [status]}, "field": "messages"}]}]}, separators=(",", ":")).encode()
        sig = "sha256=" + hmac.new(ARGS.app_secret.encode(), body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(ARGS.webhook_url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sig})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                result = r.status
        except Exception as e:  # recorded, never raised: the fake keeps serving
            result = getattr(e, "code", None) or str(e)
        with LOCK:
            STATE["callback_results"].append({"id": wamid, "status": st, "result": result})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--access-token", default="tok")
    p.add_argument("--app-secret", default="secret")
    p.add_argument("--webhook-url", default=None)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("LISTENING %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
