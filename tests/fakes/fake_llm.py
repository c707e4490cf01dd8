#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for tests (stdlib only).

POST /v1/chat/completions (also /chat/completions) with OpenAI's request
body {model, messages:[{role, content}], temperature, max_tokens, stream}:
- non-streaming: a chat.completion object {id, object, created, model,
  choices:[{index, message:{role, content}, finish_reason}], usage:
  {prompt_tokens, completion_tokens, total_tokens}};
- "stream": true: text/event-stream of chat.completion.chunk objects
  ("data: {…}\\n\\n", the first delta carrying the role, one chunk per word,
  a last chunk with finish_reason "stop", a usage chunk with "choices": []
  when stream_options.include_usage is true, then "data: [DONE]"), with a
  ": keep-alive" comment first, as servers send.
The answer is deterministic: "answer" from /_fake/mode when set, else
"Echo: <the last user message>". Token counts are words (split on spaces).
A key given with --api-key must come as "Authorization: Bearer <key>"
(else 401 in OpenAI's error shape). A missing model or messages is 400.
Control: POST /_fake/mode {"mode": "ok"|"grounded"|"500"|"429"|"slow"|"malformed"|
"close"|"400"|"hang_stream", "retry_after": s, "delay": s, "answer": text,
"fail_times": N (the mode applies to the next N requests, then "ok")};
"hang_stream" sends the first chunk of a stream and then stalls for delay.
"grounded" answers like a model following the assistant's prompt
(src/assistant/assistant_prompt.c): it reads the passages, lines
"[#<id>] <title>: <text>" of the system message, and picks the one sharing
the most content words (title and text) with the last user message (ties:
the first); it answers that passage's first two sentences followed by
" [#<id>]", or "UNKNOWN" when no passage shares a content word. Content
words: lower-cased, accents folded, letters and digits, English and Spanish
stop words dropped, a final "s" dropped from words over three letters. A
fixed "answer" still wins over "grounded".
GET /_fake/requests lists what was received (path, headers, body parsed).
Errors are {"error": {"message", "type", "param", "code"}} as OpenAI sends.
Prints "LISTENING <port>" first on stdout.
"""
import argparse, json, re, time, unicodedata

from fakebase import LOCK, STATE, FakeHandler, serve

STATE.update({"answer": None, "fail_times": None, "seq": 0})
ARGS = None


def error_body(message, etype, code=None):
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


STOP_WORDS = set("""
a an the and or but if of to in on at by for with from as is are was were be been am do does did i me my you your
we our us it its this that these those there here what which who whom how when where why can could would should
will shall may might have has had please hi hello thanks thank any some about so too very just not no yes up out
get want need like im ive dont
el la los las un una unos unas y o u de del al en con por para que se su sus mi mis tu tus yo te le les lo nos es
son esta estan este esto estos estas ser hay como cuando donde cual quien puedo puede pueden quiero quisiera
necesito hola gracias favor muy ya si sin mas pero tengo tiene hacer ha he han usted ustedes cuanto cuanta cuantos
cuantas sobre
""".split())
PASSAGE = re.compile(r"^\[#(\d+)\] (.*?): (.*)$", re.M)


def content_words(text):
    folded = unicodedata.normalize("NFD", str(text).lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    words = set()
    for w in re.findall(r"[a-z0-9]+", folded.replace("'", "")):
        if w in STOP_WORDS:
            continue
        if len(w) > 3 and w.endswith("s"):
            w = w[:-1]
        words.add(w)
    return words


def grounded_answer(msgs):
    """What a model following our prompt would say (see the module docstring)."""
    system = "\n".join(str(m.get("content", "")) for m in msgs if m.get("role") == "system")
    last = next((m.get("content", "") for m in reversed(msgs) if m.get("role") == "user"), "")
    question = content_words(last)
    best, best_n = None, 0
    for m in PASSAGE.finditer(system):
        n = len(question & content_words(m.group(2) + " " + m.group(3)))
        if n > best_n:
            best, best_n = m, n
    if best is None:
        return "UNKNOWN"
    sentences = re.split(r"(?<=[.!?])\s+", best.group(3).strip())
    return " ".join(sentences[:2]) + " [#%s]" % best.group(1)


def current_mode():
    """The mode for this request, counting down fail_times."""
    with LOCK:
        mode = STATE["mode"]
        n = STATE["fail_times"]
        if mode != "ok" and n is not None:
            if n <= 0:
                STATE["mode"], STATE["fail_times"] = "ok", None
                return "ok"
            STATE["fail_times"] = n - 1
        STATE["seq"] += 1
        return mode


class Handler(FakeHandler):
    def do_GET(self):
        if not self.control_get():
            self.reply(404, error_body("Unknown path", "invalid_request_error"))

    def do_POST(self):
        try:
            self.post()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout under test): nothing to answer

    def post(self):
        raw = self.read_body()
        if self.control_post(raw):
            return
        if self.path not in ("/v1/chat/completions", "/chat/completions"):
            self.reply(404, error_body("Unknown path %s" % self.path, "invalid_request_error"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry = {"path": self.path, "method": "POST", "body": body, "headers": dict(self.headers.items()),
                 "content_type": self.headers.get("Content-Type"), "accept": self.headers.get("Accept")}
        _, retry_after, delay = self.record(entry)
        mode = current_mode()
        if ARGS.api_key and self.headers.get("Authorization") != "Bearer " + ARGS.api_key:
            self.reply(401, error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
            return
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            self.reply(400, error_body("'model' and 'messages' are required properties.", "invalid_request_error"))
            return
        if mode == "400":
            self.reply(400, error_body("This model's maximum context length is 8192 tokens.",
                                       "invalid_request_error", "context_length_exceeded"))
            return
        if self.fail(mode, retry_after, delay,
                     lambda: self.reply(500, error_body("The server had an error while processing your request.",
                                                        "server_error")),
                     lambda ra: self.reply(429, error_body("Rate limit reached for requests.", "requests",
                                                           "rate_limit_exceeded"), {"Retry-After": str(ra)}),
                     (200, b'{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"mess')):
            return
        self.answer(body, mode, delay)

    def answer(self, body, mode, delay):
        msgs = body["messages"]
        last = next((m.get("content", "") for m in reversed(msgs) if m.get("role") == "user"), "")
        with LOCK:
            if STATE["answer"] is not None:
                text = STATE["answer"]
            elif mode == "grounded":
                text = grounded_answer(msgs)
            else:
                text = "Echo: " + str(last)
            seq = STATE["seq"]
        model = body["model"]
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in msgs)
        words = text.split(" ")
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                 "total_tokens": prompt_tokens + len(words)}
        cid = "chatcmpl-fake%06d" % seq
        created = 1700000000 + seq
        if not body.get("stream"):
            self.reply(200, {"id": cid, "object": "chat.completion", "created": created, "model": model,
                             "system_fingerprint": "fp_fake",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "logprobs": None, "finish_reason": "stop"}],
                             "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(delta, finish=None):
            return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": "fp_fake",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        def send(obj):
            data = obj if isinstance(obj, str) else json.dumps(obj)
            self.wfile.write(("data: %s\n\n" % data).encode())
            self.wfile.flush()

        try:
            self.wfile.write(b": keep-alive\n\n")
            send(chunk({"role": "assistant", "content": ""}))
            for i, w in enumerate(words):
                send(chunk({"content": w if i == 0 else " " + w}))
                if mode == "hang_stream" and i == 0:
                    time.sleep(delay)
            send(chunk({}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                u = chunk({})
                u["choices"] = []
                u["usage"] = usage
                send(u)
            send("[DONE]")
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int, nargs="?", default=0)
    p.add_argument("--api-key", default="")
    ARGS = p.parse_args()
    serve(Handler, ARGS.port)


if __name__ == "__main__":
    main()
