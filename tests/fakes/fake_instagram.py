#!/usr/bin/env python3
"""A fake Instagram Messaging API (Meta Graph Send API and webhooks) for tests.

POST /[vNN.N/]{ig_user_id}/messages with "Authorization: Bearer <token>"
(checked against --access-token; with --ig-user-id only that id) and a JSON
body {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE" |
"MESSAGE_TAG" (then "tag": "HUMAN_AGENT"), "message": {"text": …} or
{"attachment": {"type": image|video|audio|file, "payload": {"url": …}}}};
200 {"recipient_id": IGSID, "message_id": MID}.
GET /[vNN.N/]me or /{ig_user_id} with the bearer token answers the IG user
{id, username, name} (a credentials check); a wrong token is 400 code 190.
Errors use Graph's shape {"error": {message, type, code, error_subcode,
fbtrace_id}}. Modes (POST /_fake/mode {"mode": …}): "ok", "outside_window"
(400, code 10 / subcode 2018278, for anything but a HUMAN_AGENT-tagged send),
"unavailable" (400, code 551), "token" (400, code 190), "500", "429" (with
Retry-After), "slow", "malformed", "close".
Webhooks, signed X-Hub-Signature-256 with --app-secret over the exact bytes
sent, compact JSON with "/" escaped as Meta sends it:
- "callbacks": ["read"] in the mode: each accepted message is followed by a
  messaging_seen webhook (read.mid) to "webhook_url";
- POST /_fake/deliver {"url": …, "body": {…}} delivers one webhook now and
  answers {"status": N, "body": "…"};
- POST /_fake/subscribe {"url": …, "verify_token": …} performs Meta's
  subscription handshake (GET ?hub.mode=subscribe&hub.verify_token=…
  &hub.challenge=…) and answers {"status": N, "echoed": true|false}.
GET /_fake/requests lists the send requests received. Prints
"LISTENING <port>" first on stdout.

Importable too: the payload builders below (message, story_reply, …) make
webhook bodies in the real format for tests.
"""
import argparse
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from fakebase import LOCK, STATE, FakeHandler, callbacks, deliver_callback, serve

ARGS = None
IG_USER_ID = "17841400000000001"


# ------------------------------------------------------------ wire format

def body_bytes(obj):
    """Serialise like Meta: compact, non-ASCII as \\uXXXX, "/" as "\\/"."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def now_ms():
    return int(time.time() * 1000)


def new_mid():
    return "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx" + secrets.token_hex(12)


def webhook(ig_user_id, *items):
    """One POST's body: object "instagram", one entry with these messaging items."""
    return {"object": "instagram", "entry": [{"id": ig_user_id, "time": now_ms(), "messaging": list(items)}]}


def _item(sender, recipient, ts, **kw):
    d = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts if ts is not None else now_ms()}
    d.update(kw)
    return d


def message(ig_user_id, igsid, text=None, mid=None, ts=None, attachments=None, reply_to=None, **flags):
    m = {"mid": mid or new_mid()}
    if text is not None:
        m["text"] = text
    if attachments:
        m["attachments"] = attachments
    if reply_to:
        m["reply_to"] = reply_to
    m.update(flags)
    return _item(igsid, ig_user_id, ts, message=m)


def story_reply(ig_user_id, igsid, text, story_id, story_url, mid=None, ts=None):
    return message(ig_user_id, igsid, text, mid, ts, reply_to={"story": {"url": story_url, "id": story_id}})


def story_mention(ig_user_id, igsid, cdn_url, mid=None, ts=None):
    return message(ig_user_id, igsid, None, mid, ts, attachments=[{"type": "story_mention",
                                                                     "payload": {"url": cdn_url}}])


def echo(ig_user_id, igsid, text, mid=None, ts=None):
    """Our own send, echoed back (sender is the business)."""
    return _item(ig_user_id, igsid, ts, message={"mid": mid or new_mid(), "text": text, "is_echo": True})


def reaction(ig_user_id, igsid, mid, emoji="\u2764\ufe0f", action="react", ts=None):
    r = {"mid": mid, "action": action}
    if action == "react":
        r.update({"reaction": "love", "emoji": emoji})
    return _item(igsid, ig_user_id, ts, reaction=r)


def read(ig_user_id, igsid, mid, ts=None):
    return _item(igsid, ig_user_id, ts, read={"mid": mid})


# ------------------------------------------------------------------ server

class Handler(FakeHandler):
    def error(self, status, code, message, subcode=None, etype="OAuthException", headers=None):
        self.reply(status, {"error": {"message": message, "type": etype, "code": code, "error_subcode": subcode,
                                      "fbtrace_id": "A" + secrets.token_hex(8)}}, headers)

    def do_GET(self):
        if self.control_get():
            return
        path = self.path.partition("?")[0]
        m = re.fullmatch(r"(?:/v[0-9.]+)?/([^/]+)", path)
        if not m:
            return self.error(400, 100, "Unsupported get request.", etype="GraphMethodException")
        # GET /me or /{ig_user_id}: who the token is (a credentials check).
        self.record({"path": self.path, "method": "GET"})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token:
            return self.error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        node = m.group(1)
        if node != "me" and ARGS.ig_user_id and node != ARGS.ig_user_id:
            return self.error(400, 100, "Unsupported get request. Object with ID '%s' does not exist, cannot be "
                              "loaded due to missing permissions, or does not support this operation." % node,
                              etype="GraphMethodException")
        self.reply(200, {"id": ARGS.ig_user_id or "17841400000000000", "username": "fake_shop", "name": "Fake Shop"})

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/_fake/deliver":
            req = json.loads(raw)
            return self.reply(200, deliver(req["url"], req["body"], req.get("signature")))
        if self.path == "/_fake/subscribe":
            req = json.loads(raw)
            return self.reply(200, subscribe(req["url"], req["verify_token"]))
        if self.control_post(raw):
            return
        m = re.fullmatch(r"(?:/v[0-9.]+)?/([^/?]+)/messages", self.path)
        if not m:
            return self.error(400, 100, "Unknown path components", etype="GraphMethodException")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        mode, retry_after, delay = self.record({"path": self.path, "json": body})
        if self.headers.get("Authorization") != "Bearer " + ARGS.access_token or mode == "token":
            return self.error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if ARGS.ig_user_id and m.group(1) != ARGS.ig_user_id:
            return self.error(400, 100, "Unsupported post request. Object with ID '%s' does not exist"
                              % m.group(1), etype="GraphMethodException")
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, 2, "An unexpected error has occurred. Please retry your request later."),
                     lambda ra: self.error(429, 4, "(#4) Application request limit reached",
                                           headers={"Retry-After": str(ra)}),
                     (200, b"{\"recipient_id\": ")):
            return
        problem = invalid_send(body)
        if problem:
            return self.error(400, 100, "(#100) " + problem)
        tagged = body.get("messaging_type") == "MESSAGE_TAG"
        if mode == "outside_window" and not tagged:
            return self.error(400, 10, "(#10) This message is sent outside of allowed window.", 2018278)
        if mode == "unavailable":
            return self.error(400, 551, "This person isn't available right now.", 1545041)
        mid = new_mid()
        igsid = body["recipient"]["id"]
        if "read" in callbacks() and webhook_url():
            threading.Thread(target=send_read, daemon=True, args=(m.group(1), igsid, mid)).start()
        self.reply(200, {"recipient_id": igsid, "message_id": mid})


def invalid_send(body):
    """Why Graph would refuse this Send API body, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict) or \
            not isinstance(body["recipient"].get("id"), str):
        return "param recipient[id] must be a string"
    mt = body.get("messaging_type")
    if mt not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
    if mt == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
        return "param tag must be HUMAN_AGENT for Instagram"
    msg = body.get("message")
    if not isinstance(msg, dict) or ("text" in msg) == ("attachment" in msg):
        return "param message must have exactly one of text and attachment"
    if "text" in msg and (not isinstance(msg["text"], str) or not msg["text"] or len(msg["text"]) > 1000):
        return "param message[text] must be 1 to 1000 characters"
    att = msg.get("attachment")
    if att is not None and (not isinstance(att, dict) or att.get("type") not in ("image", "video", "audio", "file")
                            or not isinstance(att.get("payload"), dict) or not att["payload"].get("url")):
        return "param message[attachment] must be {type: image|video|audio|file, payload: {url}}"
    return None


def webhook_url():
    with LOCK:
        return STATE.get("webhook_url") or ARGS.webhook_url


def deliver(url, obj, sig=None):
    """POST one webhook body signed as Meta signs it; returns {"status", "body"}."""
    body = body_bytes(obj)
    headers = {"Content-Type": "application/json"}
    sig = signature(ARGS.app_secret, body) if sig is None else sig
    if sig:
        headers["X-Hub-Signature-256"] = sig
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return {"status": r.status, "body": r.read().decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode(errors="replace")}


def subscribe(url, verify_token):
    """Meta's handshake: the endpoint must answer the challenge, and nothing else."""
    challenge = str(secrets.randbelow(10 ** 9))
    q = urllib.parse.urlencode({"hub.mode": "subscribe", "hub.verify_token": verify_token,
                                "hub.challenge": challenge})
    try:
        with urllib.request.urlopen(url + "?" + q, timeout=10) as r:
            got = r.read().decode(errors="replace")
            return {"status": r.status, "echoed": got == challenge}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "echoed": False}


def send_read(ig_user_id, igsid, mid):
    time.sleep(0.05)
    body = body_bytes(webhook(ig_user_id, read(ig_user_id, igsid, mid)))
    deliver_callback(webhook_url(), body, {"Content-Type": "application/json",
                                           "X-Hub-Signature-256": signature(ARGS.app_secret, body)},
                     {"id": mid, "status": "read"})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--access-token", default="tok")
    p.add_argument("--app-secret", default="secret")
    p.add_argument("--ig-user-id", default=None)
    p.add_argument("--webhook-url", default=None)
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
