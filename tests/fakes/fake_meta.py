#!/usr/bin/env python3
"""A fake Meta Graph API (WhatsApp Cloud API messages and message templates) for tests.

POST /[vNN.N/]{phone_number_id}/messages with "Authorization: Bearer <token>"
(checked against --access-token) and a JSON body with messaging_product
"whatsapp"; 200 {"messaging_product","contacts":[{input,wa_id}],"messages":[{id}]}.
GET /[vNN.N/]{waba_id}/message_templates?fields=…&limit=N[&after=CURSOR] with
the same bearer token (and, with --waba-id, only that id): Meta's page shape
{"data": [{name, language, status, category, components, id} (the requested
fields, id always)], "paging": {"cursors": {"before", "after"}, "next": URL}},
"next" present while more templates follow.
POST /[vNN.N/]{waba_id}/message_templates with {name, language, category,
components} creates a template (status PENDING; a BODY with {{n}} needs
example.body_text, a name and language already there is refused with Meta's
code 100 / subcode 2388024) and answers {id, status, category}; POST
/[vNN.N/]{template_id} with {components[, category]} edits one ({success:
true}, back to PENDING).
GET /[vNN.N/]{phone_number_id}?fields=display_phone_number,… (a node id
asked for phone number fields; other numeric nodes are media) with the
bearer token answers the
phone number node {verified_name, display_phone_number, quality_rating, id};
with POST /_fake/mode {"phone_numbers": [ids]} another id is Graph's 400
code 100.
Errors use Graph's shape {"error": {message, type, code, error_subcode, fbtrace_id}}.
POST /_fake/template_status {"name", "language", "event", "reason"} sends the
WhatsApp Business Account webhook message_template_status_update for that
template (signed like the status webhooks, to "webhook_url" or
--webhook-url) and sets its status; the answer is the delivery's result.
Control: POST /_fake/mode {"mode": "ok"|"500"|"429"|"slow"|"malformed"|"close",
"retry_after": N, "delay": seconds, "callbacks": ["sent", "delivered", "read"],
"templates": [templates in Meta's shape], "page_size": N (caps limit),
"webhook_url": where status webhooks go (else --webhook-url)};
Media: GET /[vNN.N/]{media-id} with the bearer token answers Graph's
{"messaging_product","url","mime_type","sha256","file_size","id"} (file_size
a string, sha256 hex, as Graph sends them); GET /_lookaside/{media-id} (the
url) needs the same bearer token and serves the bytes. Files are set with
POST /_fake/mode {"media": {"<id>": {"mime_type": …, "body_b64": …}}}.
GET /_fake/requests lists what was received. With "callbacks" set and
--webhook-url given, each accepted message gets one status webhook per listed
status, signed X-Hub-Signature-256 with --app-secret as Meta signs.
Prints "LISTENING <port>" first on stdout.
"""
import argparse, base64, hashlib, hmac, json, re, secrets, threading, time
from urllib.parse import parse_qs, urlencode

from fakebase import LOCK, STATE, FakeHandler, callbacks, deliver_callback, serve

STATE["templates"] = [
    {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1001",
     "components": [{"type": "HEADER", "format": "TEXT", "text": "Order update"},
                    {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped.",
                     "example": {"body_text": [["Ada", "42"]]}},
                    {"type": "FOOTER", "text": "Reply STOP to opt out"}]},
]
STATE["page_size"] = None
STATE["media"] = {}

ARGS = None


class Handler(FakeHandler):
    def error(self, status, code, message, etype="OAuthException", headers=None):
        self.reply(status, {"error": {"message": message, "type": etype, "code": code,
                                      "error_subcode": None, "fbtrace_id": "A" + secrets.token_hex(8)}}, headers)

    def phone_number(self, node, query):
        """GET /{phone_number_id}: the WhatsApp Business phone number (a credentials check)."""
        self.record({"path": self.path, "query": {k: v[0] for k, v in parse_qs(query).items()}})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        with LOCK:
            numbers = STATE.get("phone_numbers")
        if numbers is not None and node not in numbers:
            return self.error(400, 100, "Unsupported get request. Object with ID '%s' does not exist, cannot be "
                              "loaded due to missing permissions, or does not support this operation." % node,
                              "GraphMethodException")
        self.reply(200, {"verified_name": "Fake Business", "display_phone_number": "+1 555-010-0000",
                         "quality_rating": "GREEN", "id": node})

    def do_GET(self):
        if self.control_get():
            return
        path, _, query = self.path.partition("?")
        n = re.fullmatch(r"(?:/v[0-9.]+)?/([0-9]+)", path)
        if n and "display_phone_number" in parse_qs(query).get("fields", [""])[0]:
            return self.phone_number(n.group(1), query)
        if self.media_get(path):
            return
        m = re.fullmatch(r"(?:/v[0-9.]+)?/([^/]+)/message_templates", path)
        if not m:
            return self.error(400, 100, "Unsupported get request.", "GraphMethodException")
        q = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        mode, retry_after, delay = self.record({"path": self.path, "query": q})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if ARGS.waba_id and m.group(1) != ARGS.waba_id:
            return self.error(400, 100, "Unsupported get request. Object with ID '%s' does not exist" % m.group(1),
                              "GraphMethodException")
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, 2, "An unexpected error has occurred. Please retry your request later."),
                     lambda ra: self.error(429, 80008, "Rate limit hit", headers={"Retry-After": str(ra)}),
                     (200, b"{\"data\": [")):
            return
        with LOCK:
            templates = [dict(t) for t in STATE["templates"]]
            page_size = STATE["page_size"]
        limit = int(q.get("limit") or 25)
        if page_size:
            limit = min(limit, int(page_size))
        start = int(base64.b64decode(q["after"]).decode()) + 1 if q.get("after") else 0
        fields = (q.get("fields") or "name,language,status,category").split(",")
        page = templates[start:start + limit]
        data = []
        for i, t in enumerate(page):
            item = {f: t[f] for f in fields if f in t}
            item["id"] = t.get("id", str(2000 + start + i))
            data.append(item)
        body = {"data": data}
        if page:
            cursor = lambda i: base64.b64encode(str(i).encode()).decode()
            body["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(page) - 1)}}
            if start + len(page) < len(templates):
                nq = dict(q, after=cursor(start + len(page) - 1))
                body["paging"]["next"] = "http://127.0.0.1:%d%s?%s" % (self.server.server_address[1], path,
                                                                       urlencode(nq))
        self.reply(200, body)

    def media_get(self, path):
        """The media id lookup and the download; False for other paths."""
        lk = re.fullmatch(r"(?:/v[0-9.]+)?/([0-9]+)", path)
        dl = re.fullmatch(r"/_lookaside/([0-9]+)", path)
        if not lk and not dl:
            return False
        self.record({"path": self.path, "method": "GET"})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            return True
        mid = (lk or dl).group(1)
        with LOCK:
            item = STATE["media"].get(mid)
        if not item:
            self.error(400, 100, "Unsupported get request. Object with ID '%s' does not exist" % mid,
                       "GraphMethodException")
            return True
        body = base64.b64decode(item["body_b64"])
        if lk:
            self.reply(200, {"messaging_product": "whatsapp",
                             "url": "http://127.0.0.1:%d/_lookaside/%s" % (self.server.server_address[1], mid),
                             "mime_type": item["mime_type"], "sha256": hashlib.sha256(body).hexdigest(),
                             "file_size": str(len(body)), "id": mid})
            return True
        self.send_response(200)
        self.send_header("Content-Type", item["mime_type"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return True

    def do_POST(self):
        raw = self.read_body()
        if self.control_post(raw):
            return
        if self.path == "/_fake/template_status":
            return self.reply(200, send_template_status(json.loads(raw or b"{}")))
        t = re.fullmatch(r"(?:/v[0-9.]+)?/([^/]+)/message_templates", self.path)
        if t:
            return self.create_template(t.group(1), raw)
        e = re.fullmatch(r"(?:/v[0-9.]+)?/([0-9]+)", self.path)
        if e:
            return self.edit_template(e.group(1), raw)
        m = re.fullmatch(r"(?:/v[0-9.]+)?/([^/]+)/messages", self.path)
        if not m:
            return self.error(400, 100, "Unknown path components", "GraphMethodException")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode, retry_after, delay = self.record({"path": self.path, "json": body})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            return self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, 2, "An unexpected error has occurred. Please retry your request later."),
                     lambda ra: self.error(429, 130429, "Rate limit hit", headers={"Retry-After": str(ra)}),
                     (200, b"{\"messages\": [")):
            return
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" or "to" not in body:
            return self.error(400, 100, "(#100) Invalid parameter", "OAuthException")
        if mode == "outside_window" and body.get("type") != "template":
            return self.error(400, 131047, "Re-engagement message")
        to = str(body["to"])
        wamid = "wamid." + secrets.token_urlsafe(30)
        statuses = callbacks()
        if statuses and webhook_url():
            threading.Thread(target=send_callbacks, daemon=True,
                             args=(m.group(1), wamid, to.lstrip("+"), statuses)).start()
        self.reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                         "messages": [{"id": wamid}]})


    def template_request(self, raw):
        """The JSON body of a template call, recorded; None after answering an error."""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode, retry_after, delay = self.record({"path": self.path, "json": body})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            self.error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            return None
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, 2, "An unexpected error has occurred. Please retry your request later."),
                     lambda ra: self.error(429, 80008, "Rate limit hit", headers={"Retry-After": str(ra)}),
                     (200, b"{\"id\": ")):
            return None
        if not isinstance(body, dict) or not isinstance(body.get("components"), list):
            self.error(400, 100, "(#100) Param components is required", "OAuthException")
            return None
        for c in body["components"]:
            if isinstance(c, dict) and c.get("type") == "BODY" and re.search(r"\{\{[0-9]+\}\}", c.get("text", "")):
                rows = (c.get("example") or {}).get("body_text")
                n = len(set(re.findall(r"\{\{([0-9]+)\}\}", c["text"])))
                if not rows or len(rows[0]) != n:
                    self.error(400, 100, "(#100) Invalid parameter", "OAuthException")
                    return None
        return body

    def create_template(self, waba, raw):
        body = self.template_request(raw)
        if body is None:
            return
        if ARGS.waba_id and waba != ARGS.waba_id:
            return self.error(400, 100, "Unsupported post request. Object with ID '%s' does not exist" % waba,
                              "GraphMethodException")
        if not body.get("name") or not body.get("language") or \
                body.get("category") not in ("MARKETING", "UTILITY", "AUTHENTICATION"):
            return self.error(400, 100, "(#100) Invalid parameter", "OAuthException")
        with LOCK:
            if any(t["name"] == body["name"] and t["language"] == body["language"] for t in STATE["templates"]):
                self.reply(400, {"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                                           "error_subcode": 2388024, "error_user_title": "Content in this language "
                                           "already exists", "error_user_msg": "Content in this language already "
                                           "exists", "fbtrace_id": "A" + secrets.token_hex(8)}})
                return
            tid = str(5000 + len(STATE["templates"]))
            STATE["templates"].append({"name": body["name"], "language": body["language"], "status": "PENDING",
                                       "category": body["category"], "id": tid, "components": body["components"]})
        self.reply(200, {"id": tid, "status": "PENDING", "category": body["category"]})

    def edit_template(self, tid, raw):
        body = self.template_request(raw)
        if body is None:
            return
        with LOCK:
            found = [t for t in STATE["templates"] if t.get("id") == tid]
            for t in found:
                t["components"] = body["components"]
                t["status"] = "PENDING"
        if not found:
            return self.error(400, 100, "Unsupported post request. Object with ID '%s' does not exist" % tid,
                              "GraphMethodException")
        self.reply(200, {"success": True})


def send_template_status(req):
    """Meta's message_template_status_update for one template, signed; returns the delivery record."""
    with LOCK:
        found = [t for t in STATE["templates"] if t["name"] == req.get("name") and
                 t["language"] == req.get("language")]
        if found:
            found[0]["status"] = req["event"]
    if not found:
        return {"result": "unknown template"}
    t = found[0]
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": ARGS.waba_id or "0", "time": int(time.time()), "changes": [{
            "value": {"event": req["event"], "message_template_id": int(t["id"]),
                      "message_template_name": t["name"], "message_template_language": t["language"],
                      "reason": req.get("reason") or "NONE", "message_template_category": t.get("category")},
            "field": "message_template_status_update"}]}]}, separators=(",", ":")).encode()
    sig = "sha256=" + hmac.new(ARGS.app_secret.encode(), body, hashlib.sha256).hexdigest()
    record = {"template": t["name"], "event": req["event"]}
    deliver_callback(webhook_url(), body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}, record)
    return record


def webhook_url():
    """Where status webhooks go: --webhook-url, or "webhook_url" set through /_fake/mode."""
    with LOCK:
        return STATE.get("webhook_url") or ARGS.webhook_url


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
        deliver_callback(webhook_url(), body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig},
                         {"id": wamid, "status": st})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--access-token", default="tok")
    p.add_argument("--app-secret", default="secret")
    p.add_argument("--webhook-url", default=None)
    p.add_argument("--waba-id", default=None)
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
