#!/usr/bin/env python3
"""A fake Telegram Bot API for tests.

Methods live at /bot<token>/<method> (the token is checked against
--bot-token: a wrong one is 401 {"ok":false,"error_code":401,
"description":"Unauthorized"}); parameters come as JSON, a form or the query
string, as Telegram accepts them. Every answer has the Bot API's shape:
{"ok":true,"result":…} or {"ok":false,"error_code":N,"description":"…"
[,"parameters":{"retry_after":N}]}.
- getMe: the bot (id from the token, --username).
- setWebhook (url, secret_token, allowed_updates) is recorded as the
  webhook; a secret outside A-Z a-z 0-9 _ - is refused as Telegram does.
  getWebhookInfo and deleteWebhook read and clear it.
- sendMessage (chat_id, text), sendPhoto (chat_id, photo, caption),
  sendDocument (chat_id, document, caption): a Message with message_id
  numbered per chat.
- getFile (file_id) -> {file_id, file_unique_id, file_size, file_path};
  GET /file/bot<token>/<file_path> serves the bytes.
Control: POST /_fake/mode {"mode": "ok"|"blocked"|"deactivated"|"400"|
"403"|"500"|"429"|"slow"|"malformed"|"close", "retry_after": N, "delay": s,
"blocked_chats": [chat ids answering 403 "bot was blocked by the user"],
"setwebhook_error": "description" (setWebhook answers 400 with it),
"files": {file_id: {"path": "photos/file_1.jpg", "text": "bytes"}},
"bot_token": a new token (the old one was revoked: Bot API calls with it get 401)};
GET /_fake/requests lists what was received (path, method, params);
GET /_fake/webhook is the last setWebhook; POST /_fake/update {update or a
message's fields} delivers an Update to the registered webhook with the
registered secret in X-Telegram-Bot-Api-Secret-Token (or "secret" given
in the body: "" sends none), update_id assigned when absent, and answers
{"status": the webhook's HTTP status, "update": what was sent}.
Prints "LISTENING <port>" first on stdout.
"""
import argparse, json, re, time, urllib.error, urllib.parse, urllib.request

from fakebase import LOCK, STATE, FakeHandler, serve

STATE.update({"webhook": None, "blocked_chats": [], "setwebhook_error": None, "files": {}, "next_update": 100000,
              "message_ids": {}})
ARGS = None
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def token():
    """The token the bot has now: --bot-token until POST /_fake/mode {"bot_token": …} revokes it."""
    with LOCK:
        return STATE.get("bot_token") or ARGS.bot_token


def bot_id():
    return int(ARGS.bot_token.split(":", 1)[0])


def bot_user():
    return {"id": bot_id(), "is_bot": True, "first_name": "Fake Bot", "username": ARGS.username}


class Handler(FakeHandler):
    def answer(self, result, code=200):
        self.reply(code, {"ok": True, "result": result})

    def error(self, code, description, parameters=None):
        body = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.reply(code, body)

    def params(self, raw, query):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        p = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        if ctype == "application/json" and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            p.update(body)
        elif raw:
            p.update({k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()})
        return p

    def do_GET(self):
        if self.control_get():
            return
        if self.path == "/_fake/webhook":
            with LOCK:
                return self.reply(200, STATE["webhook"])
        self.method_call(b"")

    def do_POST(self):
        raw = self.read_body()
        if self.control_post(raw):
            return
        if self.path == "/_fake/update":
            return self.deliver(json.loads(raw or b"{}"))
        self.method_call(raw)

    def method_call(self, raw):
        path, _, query = self.path.partition("?")
        f = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if f:
            return self.file(f.group(1), urllib.parse.unquote(f.group(2)))
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not m:
            return self.error(404, "Not Found")
        method = m.group(2)
        params = self.params(raw, query)
        mode, retry_after, delay = self.record({"path": "/bot<token>/" + method, "method": method,
                                                "token_ok": m.group(1) == token(), "params": params,
                                                "content_type": self.headers.get("Content-Type")})
        if m.group(1) != token():
            return self.error(401, "Unauthorized")
        if params is None:
            return self.error(400, "Bad Request: can't parse JSON object")
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            return self.error(404, "Not Found: method not found")
        if method.startswith("send") and self.fail(
                mode, retry_after, delay, lambda: self.error(500, "Internal Server Error"),
                lambda ra: self.error(429, "Too Many Requests: retry after %d" % ra, {"retry_after": ra}),
                (200, b'{"ok":true,"result":{"message_id":')):
            return
        handler(params, mode)

    # ---------------------------------------------------------------- methods

    def m_getMe(self, p, mode):
        self.answer(bot_user())

    def m_setWebhook(self, p, mode):
        with LOCK:
            err = STATE["setwebhook_error"]
        if err:
            return self.error(400, err)
        url = p.get("url", "")
        secret = p.get("secret_token")
        if secret is not None and not SECRET_RE.fullmatch(str(secret)):
            return self.error(400, "Bad Request: secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        with LOCK:
            STATE["webhook"] = {"url": url, "secret_token": secret, "allowed_updates": allowed} if url else None
        self.reply(200, {"ok": True, "result": True, "description": "Webhook was set" if url else
                         "Webhook was deleted"})

    def m_deleteWebhook(self, p, mode):
        with LOCK:
            STATE["webhook"] = None
        self.reply(200, {"ok": True, "result": True, "description": "Webhook was deleted"})

    def m_getWebhookInfo(self, p, mode):
        with LOCK:
            w = STATE["webhook"] or {}
        info = {"url": w.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}
        if w.get("allowed_updates"):
            info["allowed_updates"] = w["allowed_updates"]
        self.answer(info)

    def sent(self, p, mode, content):
        chat = p.get("chat_id")
        if chat is None or chat == "":
            return self.error(400, "Bad Request: chat_id is empty")
        with LOCK:
            blocked = [str(c) for c in STATE["blocked_chats"]]
        if mode == "blocked" or str(chat) in blocked:
            return self.error(403, "Forbidden: bot was blocked by the user")
        if mode == "deactivated":
            return self.error(403, "Forbidden: user is deactivated")
        if mode == "403":
            return self.error(403, "Forbidden: bot can't initiate conversation with a user")
        if mode == "400":
            return self.error(400, "Bad Request: chat not found")
        try:
            chat_id = int(chat)
        except (TypeError, ValueError):
            return self.error(400, "Bad Request: chat not found")
        with LOCK:
            n = STATE["message_ids"].get(str(chat_id), 0) + 1
            STATE["message_ids"][str(chat_id)] = n
        msg = {"message_id": n, "from": bot_user(), "date": int(time.time()),
               "chat": {"id": chat_id, "first_name": "Customer", "type": "private" if chat_id > 0 else "group"}}
        msg.update(content)
        self.answer(msg)

    def m_sendMessage(self, p, mode):
        if not p.get("text"):
            return self.error(400, "Bad Request: message text is empty")
        self.sent(p, mode, {"text": p["text"]})

    def m_sendPhoto(self, p, mode):
        if not p.get("photo"):
            return self.error(400, "Bad Request: there is no photo in the request")
        content = {"photo": [{"file_id": "AgACAgPhotoS", "file_unique_id": "AQADs", "width": 90, "height": 90},
                             {"file_id": "AgACAgPhotoM", "file_unique_id": "AQADm", "width": 800, "height": 800}]}
        if p.get("caption"):
            content["caption"] = p["caption"]
        self.sent(p, mode, content)

    def m_sendDocument(self, p, mode):
        if not p.get("document"):
            return self.error(400, "Bad Request: there is no document in the request")
        content = {"document": {"file_id": "BQACAgDoc", "file_unique_id": "AgADd",
                                "file_name": str(p["document"]).rsplit("/", 1)[-1]}}
        if p.get("caption"):
            content["caption"] = p["caption"]
        self.sent(p, mode, content)

    def m_getFile(self, p, mode):
        with LOCK:
            f = STATE["files"].get(str(p.get("file_id")))
        if not f:
            return self.error(400, "Bad Request: invalid file_id")
        if f.get("too_big"):
            return self.error(400, "Bad Request: file is too big")
        data = f.get("text", "").encode()
        self.answer({"file_id": p["file_id"], "file_unique_id": "u" + str(p["file_id"])[:8],
                     "file_size": len(data), "file_path": f["path"]})

    def file(self, token, path):
        self.record({"path": "/file/bot<token>/" + path, "method": "file", "token_ok": token == ARGS.bot_token})
        with LOCK:
            match = [f for f in STATE["files"].values() if f["path"] == path]
        if token != ARGS.bot_token or not match:
            return self.error(404, "Not Found")
        body = match[0].get("text", "").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # ---------------------------------------------------------------- updates

    def deliver(self, spec):
        with LOCK:
            hook = dict(STATE["webhook"] or {})
            if "update_id" not in spec:
                spec["update_id"] = STATE["next_update"]
                STATE["next_update"] += 1
        secret = spec.pop("secret", hook.get("secret_token"))
        url = spec.pop("url", hook.get("url"))
        if not url:
            return self.reply(409, {"error": "no webhook set"})
        body = json.dumps(spec, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        req = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except Exception as e:  # noqa: BLE001 - the test reads what happened
            status = str(e)
        self.reply(200, {"status": status, "update": spec})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--bot-token", default="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    p.add_argument("--username", default="fake_support_bot")
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
