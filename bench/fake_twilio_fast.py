#!/usr/bin/env python3
"""A fast fake Twilio Messages API for the outbound benchmark (stdlib only).

Speaks the same wire format as tests/fakes/fake_twilio.py for the one call the
benchmark makes: POST /2010-04-01/Accounts/{sid}/Messages.json with a form
body and HTTP basic auth, answered 201 with a Twilio message resource (sid
"SM" + 32 hex, status "queued"), 401 code 20003 for wrong credentials, 400
code 21211 for a To that is not E.164. Built on asyncio with HTTP/1.1
keep-alive so one Python process keeps up with thousands of sends a second;
it has no failure modes and sends no status callbacks (the tests' fake has
those). GET /_fake/stats answers {"accepted": n, "refused": n, "connections": n}.
Prints "LISTENING <port>" on stdout once it accepts connections.
"""
import argparse
import asyncio
import base64
import json
import re
import secrets
from urllib.parse import parse_qs

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
PATH = re.compile(rb"/2010-04-01/Accounts/([^/]+)/Messages\.json")
STATS = {"accepted": 0, "refused": 0, "connections": 0}


def response(code, reason, obj):
    body = json.dumps(obj).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (code, reason, len(body))).encode()
    return head + body


class Twilio(asyncio.Protocol):
    def __init__(self, sid, auth):
        self.sid = sid
        self.auth = auth
        self.buf = b""

    def connection_made(self, transport):
        self.t = transport
        STATS["connections"] += 1

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].split(b"\r\n")
            length = 0
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.t.write(self.answer(head[0], headers, body))

    def answer(self, line, headers, body):
        method, _, rest = line.partition(b" ")
        path = rest.rpartition(b" ")[0]
        if method == b"GET" and path == b"/_fake/stats":
            return response(200, "OK", STATS)
        m = PATH.fullmatch(path)
        if method != b"POST" or not m:
            return response(404, "Not Found", {"code": 20404, "message": "The requested resource was not found",
                                                "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404})
        if m.group(1).decode() != self.sid or headers.get(b"authorization") != self.auth:
            STATS["refused"] += 1
            return response(401, "Unauthorized", {"code": 20003, "message": "Authenticate",
                                                   "more_info": "https://www.twilio.com/docs/errors/20003",
                                                   "status": 401})
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        to = form.get("To", "")
        if not E164.fullmatch(to):
            STATS["refused"] += 1
            return response(400, "Bad Request", {"code": 21211,
                                                  "message": "The 'To' number %s is not a valid phone number." % to,
                                                  "more_info": "https://www.twilio.com/docs/errors/21211",
                                                  "status": 400})
        STATS["accepted"] += 1
        sid = "SM" + secrets.token_hex(16)
        return response(201, "Created", {
            "sid": sid, "account_sid": self.sid, "to": to, "from": form.get("From"), "body": form.get("Body", ""),
            "status": "queued", "num_media": "0", "error_code": None, "error_message": None,
            "api_version": "2010-04-01", "uri": "/2010-04-01/Accounts/%s/Messages/%s.json" % (self.sid, sid)})


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", nargs="?", type=int, default=0)
    p.add_argument("--account-sid", default="ACtest")
    p.add_argument("--auth-token", default="tok")
    a = p.parse_args()
    auth = b"Basic " + base64.b64encode(("%s:%s" % (a.account_sid, a.auth_token)).encode())
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: Twilio(a.account_sid, auth), "127.0.0.1", a.port, backlog=1024)
    print("LISTENING %d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
