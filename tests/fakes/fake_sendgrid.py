#!/usr/bin/env python3
"""A fake SendGrid for tests: v3 Mail Send, the signed Event Webhook and Inbound Parse.

POST /v3/mail/send with "Authorization: Bearer <key>" (checked against
--api-key) and SendGrid's JSON (personalizations[].to[].email, from.email,
subject, content[] with text/plain before text/html); 202 with an empty body
and an X-Message-Id header. Errors use SendGrid's shape
{"errors": [{"message", "field", "help"}]}: 400 for a request SendGrid would
refuse, 401 for a wrong key; modes "400", "401", "413", "429" (with
X-RateLimit-Limit/Remaining/Reset, reset = now + retry_after), "500",
"slow", "malformed", "close".
GET /v3/scopes with the same bearer key answers {"scopes": [...]} (mail.send
and user.profile.read unless POST /_fake/mode {"scopes": [...]}), 401
{"errors": [{"message": "authorization required"}]} for a wrong key.

Event Webhook: the fake holds an ECDSA P-256 key pair (a fresh one per run);
GET /_fake/public_key answers {"public_key": base64 DER SubjectPublicKeyInfo},
what SendGrid's settings page shows. POST /_fake/events {"url", "events":
[event objects], "timestamp"?, "signature"?: "bad"|"none"} signs
timestamp + body (SHA-256, DER signature, base64) into
X-Twilio-Email-Event-Webhook-Signature / -Timestamp and posts it, answering
{"status", "body"}. With "callbacks": ["processed", "delivered", …] set
through /_fake/mode and "webhook_url" (or --webhook-url), each accepted mail
gets those events, each with its own sg_event_id and sg_message_id =
"<X-Message-Id>.filterdrecv-…" as SendGrid sends them.

Inbound Parse: POST /_fake/inbound {"url", "from", "to", "subject", "text",
"html", "message_id", "in_reply_to", "references", "attachments":
[{"filename", "content_type", "content"}], "raw": bool, "charset"} posts
multipart/form-data as SendGrid does: the parsed fields (headers, dkim, to,
from, text, html, sender_ip, envelope, attachments, subject, charsets, SPF,
attachment-info, attachmentN files), or with "raw" the whole message in
"email"; answers {"status", "body"}.
GET /_fake/requests lists the mail sends received. Prints "LISTENING <port>".
"""
import argparse, base64, email.utils, json, secrets, threading, time, urllib.error, urllib.request
from email.message import EmailMessage

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fakebase import LOCK, STATE, FakeHandler, callbacks, serve

ARGS = None
KEY = ec.generate_private_key(ec.SECP256R1())


def public_key_b64():
    der = KEY.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sign(timestamp, payload):
    return base64.b64encode(KEY.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))).decode()


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except Exception as e:  # noqa: BLE001 - the outcome is reported, never raised
        return 0, str(e)


def post_events(url, events, timestamp=None, signature=None):
    body = json.dumps(events, separators=(",", ":")).encode()
    ts = str(timestamp if timestamp is not None else int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "SendGrid Event API"}
    if signature != "none":
        sig = sign(ts, body)
        if signature == "bad":
            sig = sign(ts, body + b" ")
        headers["X-Twilio-Email-Event-Webhook-Signature"] = sig
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = ts
    return post(url, body, headers)


def event(kind, to, xmid, **extra):
    """One event as SendGrid posts it."""
    ev = {"email": to, "timestamp": int(time.time()), "smtp-id": "<%s@ismtpd0001p1las1.sendgrid.net>" % xmid,
          "event": kind, "category": [], "sg_event_id": base64.urlsafe_b64encode(secrets.token_bytes(16)).decode(),
          "sg_message_id": xmid + ".filterdrecv-p3las1-5bf6f8d7c-8lvsp-18-5F2C4A1B-1B.0"}
    if kind == "delivered":
        ev["response"] = "250 2.0.0 OK"
    elif kind == "deferred":
        ev.update(response="400 try again later", attempt="1")
    elif kind == "bounce":
        ev.update(reason="550 5.1.1 The email account that you tried to reach does not exist.", status="5.1.1",
                  type="bounce", bounce_classification="Invalid Address")
    elif kind == "dropped":
        ev.update(reason="Bounced Address", status="5.0.0")
    elif kind in ("open", "click"):
        ev.update(useragent="Mozilla/5.0", ip="203.0.113.9", sg_machine_open=False)
        if kind == "click":
            ev["url"] = "https://example.com/offer"
    ev.update(extra)
    return ev


def build_raw(spec):
    m = EmailMessage()
    m["From"] = spec["from"]
    m["To"] = spec.get("to", "support@example.com")
    m["Subject"] = spec.get("subject", "")
    m["Date"] = email.utils.formatdate()
    if spec.get("message_id"):
        m["Message-ID"] = spec["message_id"]
    if spec.get("in_reply_to"):
        m["In-Reply-To"] = spec["in_reply_to"]
    if spec.get("references"):
        m["References"] = spec["references"]
    m.set_content(spec.get("text", ""), charset=spec.get("charset", "utf-8"))
    if spec.get("html"):
        m.add_alternative(spec["html"], subtype="html")
    for a in spec.get("attachments", []):
        maintype, _, subtype = a.get("content_type", "application/octet-stream").partition("/")
        m.add_attachment(a.get("content", "").encode(), maintype=maintype, subtype=subtype, filename=a["filename"])
    return m.as_bytes()


def multipart(fields, files, boundary):
    out = b""
    for name, value in fields:
        out += b"--" + boundary + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
        out += value + b"\r\n"
    for name, filename, ctype, data in files:
        out += b"--" + boundary + b"\r\n"
        out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n' % (name, filename)).encode()
        out += ("Content-Type: %s\r\n\r\n" % ctype).encode() + data + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def post_inbound(spec):
    to = spec.get("to", "support@example.com")
    frm = spec["from"]
    envelope = json.dumps({"to": [email.utils.parseaddr(to)[1]], "from": email.utils.parseaddr(frm)[1]}).encode()
    common = [("dkim", b"{@example.com : pass}"), ("to", to.encode()), ("from", frm.encode()),
              ("sender_ip", b"203.0.113.7"), ("envelope", envelope), ("subject", spec.get("subject", "").encode()),
              ("SPF", b"pass")]
    files = []
    if spec.get("raw"):
        fields = common + [("email", build_raw(spec)), ("charsets", b'{"to":"UTF-8","subject":"UTF-8",'
                                                                    b'"from":"UTF-8"}')]
    else:
        cs = spec.get("charset", "utf-8")
        hdrs = "Received: by mx0047p1mdw1.sendgrid.net\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n" % (
            frm, to, spec.get("subject", ""))
        if spec.get("message_id"):
            hdrs += "Message-ID: %s\r\n" % spec["message_id"]
        if spec.get("in_reply_to"):
            hdrs += "In-Reply-To: %s\r\n" % spec["in_reply_to"]
        if spec.get("references"):
            hdrs += "References: %s\r\n" % spec["references"]
        atts = spec.get("attachments", [])
        info = {"attachment%d" % (i + 1): {"filename": a["filename"], "name": a["filename"],
                                           "type": a.get("content_type", "application/octet-stream")}
                for i, a in enumerate(atts)}
        fields = [("headers", hdrs.encode())] + common + [
            ("text", spec.get("text", "").encode(cs)),
            ("charsets", json.dumps({"to": "UTF-8", "html": cs, "subject": "UTF-8", "from": "UTF-8",
                                     "text": cs}).encode()),
            ("attachments", str(len(atts)).encode()), ("attachment-info", json.dumps(info).encode())]
        if spec.get("html"):
            fields.append(("html", spec["html"].encode(cs)))
        files = [("attachment%d" % (i + 1), a["filename"], a.get("content_type", "application/octet-stream"),
                  a.get("content", "").encode()) for i, a in enumerate(atts)]
    boundary = b"xYzZY" + secrets.token_hex(8).encode()
    body = multipart(fields, files, boundary)
    return post(spec["url"], body, {"Content-Type": "multipart/form-data; boundary=" + boundary.decode(),
                                    "User-Agent": "Sendlib/1.0 mx.sendgrid.net"})


class Handler(FakeHandler):
    def error(self, status, message, field=None, headers=None):
        self.reply(status, {"errors": [{"message": message, "field": field, "help": None}]}, headers)

    def do_GET(self):
        if self.control_get():
            return
        if self.path == "/_fake/public_key":
            return self.reply(200, {"public_key": public_key_b64()})
        if self.path == "/v3/scopes":
            # The API key's scopes (a credentials check); POST /_fake/mode {"scopes": [...]} changes them.
            self.record({"path": self.path, "method": "GET"})
            if self.headers.get("Authorization") != "Bearer " + ARGS.api_key:
                return self.error(401, "authorization required")
            with LOCK:
                scopes = STATE.get("scopes", ["mail.send", "user.profile.read"])
            return self.reply(200, {"scopes": scopes})
        if self.path.startswith("/media/"):
            # Media the tests attach: a tiny PNG-like body under any name; "missing" is a 404.
            if self.path.endswith("/missing"):
                return self.error(404, "not found")
            data = b"\x89PNG\r\n\x1a\n" + self.path.encode()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return self.wfile.write(data)
        self.error(404, "not found")

    def do_POST(self):
        raw = self.read_body()
        if self.control_post(raw):
            return
        if self.path == "/_fake/events":
            spec = json.loads(raw)
            st, body = post_events(spec["url"], spec["events"], spec.get("timestamp"), spec.get("signature"))
            return self.reply(200, {"status": st, "body": body})
        if self.path == "/_fake/inbound":
            st, body = post_inbound(json.loads(raw))
            return self.reply(200, {"status": st, "body": body})
        if self.path != "/v3/mail/send":
            return self.error(404, "not found")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode, retry_after, delay = self.record({"path": self.path, "json": body,
                                                "content_type": self.headers.get("Content-Type")})
        if self.headers.get("Authorization") != "Bearer " + ARGS.api_key or mode == "401":
            return self.error(401, "The provided authorization grant is invalid, expired, or revoked")
        if mode == "400":
            return self.error(400, "Does not contain a valid address.", "personalizations.0.to.0.email")
        if mode == "413":
            return self.error(413, "The JSON payload you have included in your request is too large.")
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, "Internal server error"),
                     lambda ra: self.error(429, "too many requests", headers={
                         "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                         "X-RateLimit-Reset": str(int(time.time()) + int(ra))}),
                     (202, b"{")):
            return
        problem = check(body)
        if problem:
            return self.error(400, *problem)
        xmid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        with LOCK:
            STATE["requests"][-1]["x_message_id"] = xmid
        kinds = callbacks()
        url = webhook_url()
        if kinds and url:
            to = body["personalizations"][0]["to"][0]["email"]
            threading.Thread(target=lambda: [post_events(url, [event(k, to, xmid)]) for k in kinds],
                             daemon=True).start()
        self.send_response(202)
        self.send_header("X-Message-Id", xmid)
        self.send_header("Content-Length", "0")
        self.end_headers()


def check(body):
    """(message, field) of what SendGrid would refuse, or None."""
    if not isinstance(body, dict):
        return ("Bad Request", None)
    pers = body.get("personalizations")
    if not isinstance(pers, list) or not pers or not pers[0].get("to"):
        return ("The personalizations field is required and must have at least one personalization.",
                "personalizations")
    for p in pers:
        for t in p.get("to", []):
            if "@" not in str(t.get("email", "")):
                return ("Does not contain a valid address.", "personalizations.0.to.0.email")
    if "@" not in str((body.get("from") or {}).get("email", "")):
        return ("The from object must be provided for every email send.", "from")
    if not body.get("subject") and not all(p.get("subject") for p in pers):
        return ("The subject is required. You can get around this requirement if you use a template with a "
                "subject defined or if every personalization has a subject defined.", "subject")
    content = body.get("content") or []
    if not content or any(not c.get("value") for c in content):
        return ("The content value must be a string at least one character in length.", "content.0.value")
    types = [c.get("type") for c in content]
    if "text/plain" in types and types.index("text/plain") != 0:
        return ("If present, text/plain content must be first, followed by text/html.", "content")
    for k in (body.get("headers") or {}):
        if k.lower() in ("x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
                         "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"):
            return ("The header %s is reserved and cannot be set." % k, "headers")
    return None


def webhook_url():
    with LOCK:
        return STATE.get("webhook_url") or ARGS.webhook_url


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--api-key", default="SG.test-key")
    p.add_argument("--webhook-url", default=None)
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
