#!/usr/bin/env python3
"""A fake Twilio Messages API for tests (stdlib only).

POST /2010-04-01/Accounts/{sid}/Messages.json: form body, basic auth checked
against --account-sid/--auth-token; 201 with a Twilio-shaped message resource
(sid "SM"+32 hex, status "queued"); a To that is not E.164 gets 400 code 21211.
Control: POST /_fake/mode {"mode": "ok"|"500"|"429"|"slow"|"malformed"|"close",
"retry_after": N, "delay": seconds, "callbacks": ["sent", "delivered"], "error_code": "30007"};
GET /_fake/requests lists what was received.
Media: GET /2010-04-01/Accounts/{sid}/Messages/{MM}/Media/{ME} (a MediaUrlN)
needs the account's basic auth, as when "HTTP Basic Authentication for media
access" is on, and answers Twilio's 307 to the file on another path
(GET /_cdn/{ME}, no auth, as a signed CDN URL); files are set with
POST /_fake/mode {"media": {"ME…": {"content_type": …, "body_b64": …, "no_length": true|absent}}}
(no_length: no Content-Length, the body ends when the connection closes);
{"media_fail": N} answers the next N media requests 500. With "callbacks" set, each accepted
message's StatusCallback URL gets one form POST per listed status, signed with
X-Twilio-Signature exactly as Twilio signs (HMAC-SHA1 over URL + sorted params).
Account: GET /2010-04-01/Accounts/{sid}.json with the same basic auth answers
the account resource {sid, friendly_name, status ("active", or
POST /_fake/mode {"account_status": …}), type, …}; wrong credentials 401
code 20003, another sid 404 code 20404.
Prints "LISTENING <port>" first on stdout.
"""
import argparse, base64, hashlib, hmac, re, secrets, threading
from urllib.parse import parse_qs, urlencode

from fakebase import LOCK, STATE, FakeHandler, callbacks, deliver_callback, serve

STATE["error_code"] = "30007"
STATE["media"] = {}
STATE["media_fail"] = 0
ARGS = None


class Handler(FakeHandler):
    def error(self, code, tw_code, message, headers=None):
        self.reply(code, {"code": tw_code, "message": message,
                          "more_info": "https://www.twilio.com/docs/errors/%d" % tw_code,
                          "status": code}, headers)

    def do_GET(self):
        if self.control_get():
            return
        a = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)\.json", self.path)
        if a:
            return self.account(a.group(1))
        m = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)/Media/([^/?]+)", self.path)
        c = re.fullmatch(r"/_cdn/([^/?]+)", self.path)
        if not m and not c:
            return self.error(404, 20404, "The requested resource was not found")
        self.record({"path": self.path, "method": "GET"})
        with LOCK:
            fail = STATE["media_fail"] > 0
            if fail:
                STATE["media_fail"] -= 1
            item = STATE["media"].get((m or c).group(m and 3 or 1))
        if fail:
            return self.error(500, 20500, "Internal Server Error")
        if m:
            want = "Basic " + base64.b64encode(("%s:%s" % (ARGS.account_sid, ARGS.auth_token)).encode()).decode()
            if m.group(1) != ARGS.account_sid or self.headers.get("Authorization") != want:
                return self.error(401, 20003, "Authenticate")
            if not item:
                return self.error(404, 20404, "The requested resource was not found")
            self.send_response(307)
            self.send_header("Location", "/_cdn/" + m.group(3))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not item:
            return self.error(404, 20404, "The requested resource was not found")
        body = base64.b64decode(item["body_b64"])
        self.send_response(200)
        self.send_header("Content-Type", item["content_type"])
        if item.get("no_length"):  # the body runs until the connection closes
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def account(self, sid):
        """GET /2010-04-01/Accounts/{sid}.json: the account resource (what a credentials check reads)."""
        self.record({"path": self.path, "method": "GET"})
        want = "Basic " + base64.b64encode(("%s:%s" % (ARGS.account_sid, ARGS.auth_token)).encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.error(401, 20003, "Authenticate")
        if sid != ARGS.account_sid:
            return self.error(404, 20404, "The requested resource /2010-04-01/Accounts/%s.json was not found" % sid)
        with LOCK:
            status = STATE.get("account_status", "active")
        self.reply(200, {"sid": sid, "friendly_name": "Fake account", "status": status, "type": "Full",
                         "owner_account_sid": sid, "auth_token": ARGS.auth_token,
                         "date_created": "Thu, 01 Jan 2026 00:00:00 +0000",
                         "uri": "/2010-04-01/Accounts/%s.json" % sid})

    def do_POST(self):
        raw = self.read_body()
        if self.control_post(raw):
            return
        m = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", self.path)
        if not m:
            return self.error(404, 20404, "The requested resource was not found")
        form = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        mode, retry_after, delay = self.record({"path": self.path, "form": form})
        want = "Basic " + base64.b64encode(("%s:%s" % (ARGS.account_sid, ARGS.auth_token)).encode()).decode()
        if m.group(1) != ARGS.account_sid or self.headers.get("Authorization") != want:
            return self.error(401, 20003, "Authenticate")
        if self.fail(mode, retry_after, delay,
                     lambda: self.error(500, 20500, "Internal Server Error"),
                     lambda ra: self.error(429, 20429, "Too Many Requests", {"Retry-After": str(ra)}),
                     (201, b"{\"sid\": ")):
            return
        to = form.get("To", "")
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}", to if isinstance(to, str) else ""):
            return self.error(400, 21211, "The 'To' number %s is not a valid phone number." % to)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self.error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not form.get("Body") and not form.get("MediaUrl"):
            return self.error(400, 21602, "Message body is required.")
        sid = "SM" + secrets.token_hex(16)
        with LOCK:
            error_code = STATE["error_code"]
        statuses = callbacks()
        if statuses and form.get("StatusCallback"):
            threading.Thread(target=send_callbacks, daemon=True,
                             args=(form["StatusCallback"], sid, to, form.get("From"), statuses, error_code)).start()
        media = form.get("MediaUrl", [])
        self.reply(201, {"sid": sid, "account_sid": ARGS.account_sid, "to": to, "from": form.get("From"),
                         "body": form.get("Body", ""), "status": "queued",
                         "num_media": str(len(media) if isinstance(media, list) else 1),
                         "error_code": None, "error_message": None, "api_version": "2010-04-01",
                         "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (ARGS.account_sid, sid)})


def twilio_signature(token, url, params):
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def send_callbacks(url, sid, to, frm, statuses, error_code):
    for st in statuses:
        params = {"SmsSid": sid, "SmsStatus": st, "MessageStatus": st, "To": to, "From": frm or "",
                  "MessageSid": sid, "AccountSid": ARGS.account_sid, "ApiVersion": "2010-04-01"}
        if st in ("failed", "undelivered"):
            params["ErrorCode"] = error_code
        deliver_callback(url, urlencode(params).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded",
                          "X-Twilio-Signature": twilio_signature(ARGS.auth_token, url, params)},
                         {"sid": sid, "status": st})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--account-sid", default="ACtest")
    p.add_argument("--auth-token", default="tok")
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
