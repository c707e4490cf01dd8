"""A fake SMTP server that records what it receives (RFC 5321 with ESMTP
STARTTLS (RFC 3207) and AUTH PLAIN / LOGIN (RFC 4954)).

Usage: fake_smtp.py <http port, 0 = any> [--username U --password P]
Prints "LISTENING <http port>" (the control API of fakebase.py); the SMTP
ports and the certificate are at GET /_fake/info:
  {"smtp_port": n, "smtps_port": n, "cert": "/tmp/.../cert.pem"}
smtp_port speaks plain SMTP and offers STARTTLS; smtps_port is TLS from the
first byte (implicit TLS). The certificate is self-signed for localhost and
127.0.0.1, made with openssl at start. With a username, MAIL FROM before a
successful AUTH answers 530, and AUTH is only offered after STARTTLS on
smtp_port.

Each message accepted is recorded (GET /_fake/requests): {"conn", "tls",
"ehlo", "auth_user", "auth_mech", "mail_from", "rcpt": [...], "data": the
message as received, dot-unstuffed, latin-1 text, "commands": the verbs of
the connection so far}.

Each connection that ends with QUIT is recorded too (GET /_fake/sessions):
{"conn", "tls", "ehlo", "auth_user", "commands"}: a credentials check
(connect, EHLO, STARTTLS, AUTH, NOOP, QUIT) leaves one there and no message.

Failure modes (POST /_fake/mode, merged into the state):
  {"reject_rcpt": {"address": "550 5.1.1 No such user"}}  answer RCPT so
  {"data_reply": "451 4.3.0 Try again later", "data_fail_times": n}  answer
      the end of DATA so n times (n < 0: always), then accept again
  {"mode": "close"}  drop the connection at DATA without answering
"""
import base64
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakebase  # noqa: E402
from fakebase import LOCK, STATE  # noqa: E402

CFG = {"username": None, "password": None}
STATE.update({"reject_rcpt": {}, "data_reply": "", "data_fail_times": 0, "smtp_connections": 0, "sessions": []})
INFO = {}


def make_cert():
    d = tempfile.mkdtemp(prefix="fake_smtp_")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return cert, ctx


class SMTPHandler(socketserver.StreamRequestHandler):
    implicit = False

    def setup(self):
        if self.implicit:
            self.request = INFO["ctx"].wrap_socket(self.request, server_side=True)
        super().setup()
        with LOCK:
            STATE["smtp_connections"] += 1
            self.conn_id = STATE["smtp_connections"]
        self.tls = self.implicit
        self.ehlo = None
        self.auth_user = None
        self.auth_mech = None
        self.commands = []
        self.reset()

    def reset(self):
        self.mail_from = None
        self.rcpt = []

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(65536)
        if not line:
            raise ConnectionError("client closed")
        return line.rstrip(b"\r\n").decode("latin-1")

    def handle(self):
        try:
            self.send("220 fake.smtp.test ESMTP ready")
            while self.command(self.readline()):
                pass
        except (ConnectionError, ssl.SSLError, OSError):
            pass

    def command(self, line):
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        self.commands.append(verb)
        if verb in ("EHLO", "HELO"):
            self.ehlo = arg
            self.reset()
            if verb == "HELO":
                self.send("250 fake.smtp.test")
                return True
            lines = ["fake.smtp.test", "8BITMIME", "SIZE 52428800"]
            if not self.tls:
                lines.append("STARTTLS")
            if self.tls or not CFG["username"]:
                lines.append("AUTH PLAIN LOGIN")
            for i, l in enumerate(lines):
                self.send(("250 " if i == len(lines) - 1 else "250-") + l)
        elif verb == "STARTTLS":
            if self.tls:
                self.send("503 5.5.1 TLS already active")
                return True
            self.send("220 2.0.0 Ready to start TLS")
            self.wfile.flush()
            self.request = INFO["ctx"].wrap_socket(self.request, server_side=True)
            self.rfile = self.request.makefile("rb")
            self.wfile = self.request.makefile("wb")
            self.tls = True
            self.ehlo = None
            self.reset()
        elif verb == "AUTH":
            self.auth(arg)
        elif verb == "MAIL":
            if CFG["username"] and not self.auth_user:
                self.send("530 5.7.0 Authentication required")
            elif not arg.upper().startswith("FROM:"):
                self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
            else:
                self.mail_from = arg[5:].split(" ")[0].strip("<>")
                self.rcpt = []
                self.send("250 2.1.0 OK")
        elif verb == "RCPT":
            if self.mail_from is None:
                self.send("503 5.5.1 MAIL first")
                return True
            addr = arg[3:].split(" ")[0].strip("<>") if arg.upper().startswith("TO:") else ""
            with LOCK:
                reject = STATE["reject_rcpt"].get(addr)
            if reject:
                self.send(reject)
            else:
                self.rcpt.append(addr)
                self.send("250 2.1.5 OK")
        elif verb == "DATA":
            if not self.rcpt:
                self.send("503 5.5.1 RCPT first")
                return True
            self.send("354 End data with <CR><LF>.<CR><LF>")
            return self.data()
        elif verb == "RSET":
            self.reset()
            self.send("250 2.0.0 OK")
        elif verb == "NOOP":
            self.send("250 2.0.0 OK")
        elif verb == "QUIT":
            with LOCK:
                STATE["sessions"].append({"conn": self.conn_id, "tls": self.tls, "ehlo": self.ehlo,
                                          "auth_user": self.auth_user, "commands": list(self.commands)})
            self.send("221 2.0.0 Bye")
            return False
        else:
            self.send("502 5.5.2 Command not recognised")
        return True

    def auth(self, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        try:
            if mech == "PLAIN":
                if not initial:
                    self.send("334 ")
                    initial = self.readline()
                _, user, password = base64.b64decode(initial).decode().split("\0")
            elif mech == "LOGIN":
                if initial:
                    user = base64.b64decode(initial).decode()
                else:
                    self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.readline()).decode()
                self.send("334 UGFzc3dvcmQ6")
                password = base64.b64decode(self.readline()).decode()
            else:
                self.send("504 5.5.4 Unrecognized authentication type")
                return
        except ValueError:
            self.send("501 5.5.2 Cannot decode response")
            return
        if CFG["username"] and (user != CFG["username"] or password != CFG["password"]):
            self.send("535 5.7.8 Authentication credentials invalid")
            return
        self.auth_user, self.auth_mech = user, mech
        self.send("235 2.7.0 Authentication successful")

    def data(self):
        lines = []
        while True:
            raw = self.rfile.readline(1 << 20)
            if not raw:
                raise ConnectionError("client closed in DATA")
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b".."):
                raw = raw[1:]
            lines.append(raw)
        body = b"".join(lines).decode("latin-1")
        with LOCK:
            mode = STATE.get("mode")
            reply = STATE["data_reply"]
            fail = reply and STATE["data_fail_times"] != 0
            if fail and STATE["data_fail_times"] > 0:
                STATE["data_fail_times"] -= 1
        entry = {"conn": self.conn_id, "tls": self.tls, "ehlo": self.ehlo, "auth_user": self.auth_user,
                 "auth_mech": self.auth_mech, "mail_from": self.mail_from, "rcpt": list(self.rcpt),
                 "data": body, "commands": list(self.commands), "accepted": False, "reply": None}
        if mode == "close":
            entry["reply"] = "closed"
            with LOCK:
                STATE["requests"].append(entry)
            self.request.shutdown(socket.SHUT_RDWR)
            return False
        entry["accepted"] = not fail
        entry["reply"] = reply if fail else "250"
        with LOCK:
            STATE["requests"].append(entry)
        self.send(reply if fail else "250 2.0.0 OK queued as %d" % len(STATE["requests"]))
        self.reset()
        return True


class ImplicitTLSHandler(SMTPHandler):
    implicit = True


class ControlHandler(fakebase.FakeHandler):
    def do_GET(self):
        if self.path == "/_fake/info":
            self.reply(200, {k: v for k, v in INFO.items() if k != "ctx"})
        elif self.path == "/_fake/sessions":
            with LOCK:
                self.reply(200, STATE["sessions"])
        elif not self.control_get():
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        raw = self.read_body()
        if not self.control_post(raw):
            self.reply(404, {"error": "not found"})


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    args = sys.argv[1:]
    port = int(args[0]) if args else 0
    for i, a in enumerate(args):
        if a == "--username":
            CFG["username"] = args[i + 1]
        elif a == "--password":
            CFG["password"] = args[i + 1]
    INFO["cert"], INFO["ctx"] = make_cert()
    smtp = TCPServer(("127.0.0.1", 0), SMTPHandler)
    smtps = TCPServer(("127.0.0.1", 0), ImplicitTLSHandler)
    INFO["smtp_port"] = smtp.server_address[1]
    INFO["smtps_port"] = smtps.server_address[1]
    for s in (smtp, smtps):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    fakebase.serve(ControlHandler, port)


if __name__ == "__main__":
    main()
