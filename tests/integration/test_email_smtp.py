"""
E-mail over SMTP end to end: the real server and its workers sending through
tests/fakes/fake_smtp.py (STARTTLS with a self-signed certificate the
account trusts through ca_file, AUTH), read back with Python's email parser.

Checked, on the backend under test:
- POST /api/v1/messages with subject, text, HTML and media: the server got
  one message over TLS after AUTH whose MIME parses without defects as
  multipart/mixed [multipart/alternative [text/plain, multipart/related
  [text/html, the image the HTML shows as cid:]], the PDF attachment], with
  the subject and sender name decoded back, and a Message-ID that is the
  stored one (messages.rfc_message_id and provider_message_id);
- a reply from the customer in the same conversation makes the next e-mail
  carry In-Reply-To (the customer's Message-ID) and References (the thread);
- 550 on RCPT fails the message at once with code 550 and the server's
  words; 451 at the end of DATA is retried and the message is then sent;
- content rules: subject required, without line breaks; subject and html
  refused on a non-e-mail account; HTML alone is enough;
- account settings are checked (tls none only for a local server, username
  and password together, from_email required), and an SMTP account's
  webhook URL answers 404 no_webhook.
"""
import email
import email.policy
import hashlib
import json
import os
import sys
import threading
import time
import unittest
import urllib.request
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for  # noqa: E402

USER = "mailer@shop.example"
PASSWORD = "smtp-pass-SECRET-7c1d"
FROM = "support@shop.example"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) + b"fake image"
PDF = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"
MEDIA = {"/m/logo.png": ("image/png", PNG), "/m/invoice.pdf": ("application/pdf", PDF)}


class MediaHandler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        item = MEDIA.get(self.path)
        if not item:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", item[0])
        self.send_header("Content-Length", str(len(item[1])))
        self.end_headers()
        self.wfile.write(item[1])


def parse(raw):
    msg = email.message_from_bytes(raw.encode("latin-1"), policy=email.policy.default)
    defects = list(msg.defects)
    for part in msg.walk():
        defects += part.defects
    return msg, defects


def shape(part):
    if part.is_multipart():
        return [part.get_content_type()] + [shape(p) for p in part.iter_parts()]
    return part.get_content_type()


class EmailSMTPTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = Fake("fake_smtp.py", "--username", USER, "--password", PASSWORD)
        with urllib.request.urlopen(cls.sink.base + "/_fake/info", timeout=5) as r:
            cls.info = json.loads(r.read())
        cls.media = ThreadingHTTPServer(("127.0.0.1", 0), MediaHandler)
        cls.media.daemon_threads = True
        threading.Thread(target=cls.media.serve_forever, daemon=True).start()
        cls.media_base = "http://127.0.0.1:%d" % cls.media.server_address[1]
        cls.srv = Server()
        cls.srv.env.update({
            "SB_PUBLIC_URL": "http://127.0.0.1:%d" % cls.srv.port,
            "SB_PROVIDER_TIMEOUT_MS": "5000",
            "SB_SEND_MAX_ATTEMPTS": "4",
            "SB_SEND_RETRY_BASE_MS": "100",
            "SB_SEND_RETRY_MAX_MS": "1000",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.acct, cls.acct_key = wu.add_account(cls.srv, cls.tenant, "smtp", {
            "host": "127.0.0.1", "port": str(cls.info["smtp_port"]), "username": USER, "password": PASSWORD,
            "from_email": FROM, "from_name": "Loja São João", "ca_file": cls.info["cert"]})

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sink.stop()
        cls.media.shutdown()

    def setUp(self):
        self.sink.mode(mode="ok", reject_rcpt={}, data_reply="", data_fail_times=0)

    # ------------------------------------------------------------ helpers

    def send(self, body):
        return self.srv.json("POST", "/api/v1/messages", body, key=self.key)

    def message(self, mid):
        st, m = self.srv.json("GET", "/api/v1/messages/" + mid, key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def wait_status(self, mid, status, timeout=20.0):
        return wait_for(lambda: (lambda m: m if m["status"] == status else None)(self.message(mid)), timeout,
                        "message %s to become %s" % (mid, status))

    def received(self, rcpt):
        return [r for r in self.sink.requests() if rcpt in r["rcpt"]]

    def addr(self, name):
        return "%s.%s@example.net" % (name, uuid.uuid4().hex[:8])

    # -------------------------------------------------------------- tests

    def test_email_smtp__mime_threading_headers_and_tls(self):
        to = self.addr("ana")
        subject = "Pedido nº 42 — confirmação"
        text = "Olá Ana,\nsua encomenda foi enviada.\n.linha com ponto\n"
        html = '<p>Olá <b>Ana</b></p><p><img src="cid:logo.png" alt="logo"></p>'
        st, m = self.send({"account_id": self.acct, "to": to, "subject": subject, "text": text, "html": html,
                           "media_urls": [self.media_base + "/m/logo.png", self.media_base + "/m/invoice.pdf"]})
        self.assertEqual(st, 202, m)
        self.assertEqual((m["channel"], m["subject"], m["html"]), ("email", subject, html))
        sent = self.wait_status(m["id"], "sent")
        got = self.received(to)
        self.assertEqual(len(got), 1, got)
        r = got[0]
        # STARTTLS first, then AUTH, all on the one connection.
        self.assertTrue(r["tls"])
        self.assertEqual(r["auth_user"], USER)
        cmds = r["commands"]
        self.assertLess(cmds.index("STARTTLS"), cmds.index("AUTH"))
        self.assertEqual((r["mail_from"], r["rcpt"], r["ehlo"]), (FROM, [to], "shop.example"))

        msg, defects = parse(r["data"])
        self.assertEqual(defects, [])
        self.assertEqual(shape(msg), ["multipart/mixed",
                                      ["multipart/alternative", "text/plain",
                                       ["multipart/related", "text/html", "image/png"]],
                                      "application/pdf"])
        self.assertEqual(str(msg["Subject"]), subject)
        self.assertEqual(msg["From"].addresses[0].display_name, "Loja São João")
        self.assertEqual(msg["From"].addresses[0].addr_spec, FROM)
        self.assertEqual(msg["To"].addresses[0].addr_spec, to)
        self.assertIsNotNone(msg["Date"].datetime)
        self.assertEqual(msg["MIME-Version"], "1.0")
        parts = [p for p in msg.walk() if not p.is_multipart()]
        self.assertEqual(parts[0].get_content().replace("\r\n", "\n"), text)
        self.assertEqual(parts[1].get_content().replace("\r\n", "\n").rstrip("\n"), html)
        self.assertEqual(parts[2]["Content-ID"], "<logo.png>")
        self.assertEqual(parts[2].get_content_disposition(), "inline")
        self.assertEqual(parts[2].get_payload(decode=True), PNG)
        self.assertEqual(parts[3].get_filename(), "invoice.pdf")
        self.assertEqual(parts[3].get_content_disposition(), "attachment")
        self.assertEqual(hashlib.sha256(parts[3].get_payload(decode=True)).hexdigest(),
                         hashlib.sha256(PDF).hexdigest())

        # The Message-ID is the message's, stored when it was queued.
        mid = msg["Message-ID"]
        self.assertEqual(mid, "<%s@shop.example>" % m["id"])
        self.assertEqual(sent["provider_message_id"], mid)
        self.assertEqual(wu.sql(self.srv, "SELECT rfc_message_id FROM messages WHERE id = ?", (m["id"],))[0][0], mid)
        self.assertIsNone(msg["In-Reply-To"])  # the first e-mail of its conversation

        # The customer answers (inbound e-mail recorded in the conversation)...
        reply_id = "<CAF%s@mail.example.net>" % uuid.uuid4().hex
        now = int(time.time() * 1000) + 5
        wu.sql(self.srv,
               "INSERT INTO messages (id, tenant_id, conversation_id, account_id, direction, address, type, body,"
               " status, provider_message_id, rfc_message_id, subject, origin, created_at, updated_at)"
               " VALUES (?, ?, ?, ?, 'inbound', ?, 'text', 'Obrigada!', 'received', ?, ?, ?, 'customer', ?, ?)",
               ("msg_in" + uuid.uuid4().hex[:20], self.tenant, m["conversation_id"], self.acct, to, reply_id,
                reply_id, "Re: " + subject, now, now))
        time.sleep(0.01)
        # ... and the next e-mail answers it.
        st, m2 = self.send({"account_id": self.acct, "to": to, "subject": "Re: " + subject, "text": "De nada!"})
        self.assertEqual(st, 202, m2)
        self.assertEqual(m2["conversation_id"], m["conversation_id"])
        self.wait_status(m2["id"], "sent")
        got = self.received(to)
        self.assertEqual(len(got), 2, got)
        msg2, defects = parse(got[1]["data"])
        self.assertEqual(defects, [])
        self.assertEqual(msg2["In-Reply-To"], reply_id)
        self.assertEqual(str(msg2["References"]).split(), [mid, reply_id])
        self.assertEqual(msg2["Message-ID"], "<%s@shop.example>" % m2["id"])
        self.assertEqual(shape(msg2), "text/plain")

    def test_email_smtp__one_click_unsubscribe_suppresses(self):
        """The e-mail carries a signed one-click link (RFC 8058); posting it suppresses the address."""
        to = self.addr("uma")
        st, m = self.send({"account_id": self.acct, "to": to, "subject": "News", "text": "Hello"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")
        msg, defects = parse(self.received(to)[0]["data"])
        self.assertEqual(defects, [])
        self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        link = str(msg["List-Unsubscribe"]).strip()
        self.assertTrue(link.startswith("<") and link.endswith(">"), link)
        url = urllib.parse.urlsplit(link[1:-1])
        self.assertTrue(url.path.startswith("/u/"), link)
        # A tampered link does nothing.
        st, _, _ = self.srv.request("POST", url.path[:-2] + ("AA" if not url.path.endswith("AA") else "BB"),
                                    body=b"List-Unsubscribe=One-Click",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)
        st, m2 = self.send({"account_id": self.acct, "to": to, "subject": "News 2", "text": "Hello again"})
        self.assertEqual(st, 202, m2)
        # The mailbox provider's one-click POST, no login.
        st, _, body = self.srv.request("POST", url.path, body=b"List-Unsubscribe=One-Click",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        rows = wu.sql(self.srv, "SELECT channel, source FROM suppressions WHERE tenant_id = ? AND address = ?",
                      (self.tenant, to))
        self.assertEqual(rows, [["email", "unsubscribe_link"]])
        st, body = self.send({"account_id": self.acct, "to": to, "subject": "News 3", "text": "Hello?"})
        self.assertEqual((st, body["error"]["code"]), (403, "suppressed"), body)

    def test_email_smtp__550_fails_permanently(self):
        to = self.addr("gone")
        self.sink.mode(reject_rcpt={to: "550 5.1.1 <%s>: No such user here" % to})
        st, m = self.send({"account_id": self.acct, "to": to, "subject": "Hello", "text": "Hi TOPSECRET-BODY-7f3a"})
        self.assertEqual(st, 202, m)
        failed = self.wait_status(m["id"], "failed")
        self.assertEqual(failed["error"]["code"], "550")
        self.assertIn("No such user", failed["error"]["text"])
        time.sleep(0.5)  # no retry follows
        self.assertEqual(self.message(m["id"])["status"], "failed")
        self.assertEqual(self.received(to), [])

    def test_email_smtp__451_retried_then_sent(self):
        to = self.addr("later")
        self.sink.mode(data_reply="451 4.3.0 Try again later", data_fail_times=1)
        st, m = self.send({"account_id": self.acct, "to": to, "subject": "Hello", "html": "<p>Hi</p>"})
        self.assertEqual(st, 202, m)
        self.wait_status(m["id"], "sent")
        got = self.received(to)
        self.assertEqual([(g["accepted"], g["reply"][:3]) for g in got], [(False, "451"), (True, "250")])
        msg, defects = parse(got[1]["data"])
        self.assertEqual((defects, shape(msg)), ([], "text/html"))
        self.assertEqual(msg["Message-ID"], parse(got[0]["data"])[0]["Message-ID"])  # the same e-mail again

    def test_email_smtp__content_rules(self):
        to = self.addr("rules")
        for body, what in (({"text": "no subject"}, "subject"),
                           ({"subject": "Hi\r\nBcc: evil@example.org", "text": "x"}, "line breaks"),
                           ({"subject": "x" * 999, "text": "x"}, "longer"),
                           ({"subject": "only a subject"}, "text or html")):
            st, err = self.send(dict(body, account_id=self.acct, to=to))
            self.assertEqual(st, 400, (body, err))
            self.assertEqual(err["error"]["code"], "invalid_message")
            self.assertIn(what, err["error"]["message"])
        sms, _ = wu.add_account(self.srv, self.tenant, "twilio",
                                {"account_sid": "AC" + "3" * 32, "auth_token": "tok-email-test", "from": "+14155550999"})
        st, err = self.srv.json("POST", "/api/v1/messages", {"account_id": sms, "to": "+14155550123", "text": "x",
                                                             "subject": "Hi"}, key=self.key)
        self.assertEqual((st, err["error"]["code"]), (400, "invalid_message"))
        self.assertIn("e-mail", err["error"]["message"])
        self.assertEqual(self.received(to), [])

    def test_email_smtp__account_settings_and_no_webhook(self):
        def add(settings):
            lines = "".join("%s=%s\n" % kv for kv in settings.items())
            return self.srv.cli("channel", "add", "--tenant", self.tenant, "--provider", "smtp", "--set-stdin",
                                "--json", input=lines)
        base = {"host": "smtp.example.com", "from_email": FROM}
        for bad, what in ((dict(base, tls="none"), "tls none"),
                          (dict(base, username="u"), "username and password"),
                          ({"host": "smtp.example.com"}, "from_email"),
                          (dict(base, from_email="not an address"), "from_email"),
                          (dict(base, port="70000"), "port"),
                          (dict(base, tls="sometimes"), "tls")):
            rc, out, err = add(bad)
            self.assertNotEqual(rc, 0, bad)
            self.assertIn(what, err, bad)
        rc, out, err = add(dict(base, tls="implicit", port="465"))
        self.assertEqual(rc, 0, err)
        acct = json.loads(out)
        self.assertEqual((acct["provider"], acct["channel"], acct["address"], acct["webhook_urls"]),
                         ("smtp", "email", FROM, {}))
        st, _, body = self.srv.request("POST", "/webhooks/smtp/" + self.acct_key, body=b"{}",
                                       headers={"Content-Type": "application/json"})
        self.assertEqual(st, 404, body)
        self.assertEqual(json.loads(body)["error"]["code"], "no_webhook")


if __name__ == "__main__":
    unittest.main()
