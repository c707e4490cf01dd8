"""
Inbound media end to end: the real server and its job workers against the
fake providers (tests/fakes/fake_twilio.py, fake_meta.py), webhooks signed as
the providers sign them.

Checked, on the backend under test:
- a Twilio MMS: the MediaUrl is fetched with the account's basic auth
  (following Twilio's redirect to the file; a URL on another origin gets no
  credentials), stored, and the message's media
  item gets its media_id, status "stored" and size; GET /api/v1/media/{id}
  gives a signed URL that serves the same bytes with the sniffed type,
  nosniff, inline, a private cache lifetime;
- a file claimed as an image that is HTML is served as
  application/octet-stream, as an attachment;
- WhatsApp: the media id is looked up on Graph with the bearer token, the
  file downloaded with it and checked against Graph's sha256;
- a file over SB_MEDIA_MAX_BYTES is recorded as media_too_large (Twilio: by
  Content-Length; WhatsApp: by Graph's file_size) and the message is kept;
- a provider 500 is retried until the file is stored; a 404 fails the item
  at once (fetch_refused);
- another tenant sees no media (404); a tampered link, another tenant in
  the link or an expired link is 403;
- sends whose media type the channel does not take are refused (400
  media_not_allowed) before anything is queued; media in the store are sent
  by id (media_not_ready, media_not_found, other tenants' ids refused) and
  the provider fetches them through a signed URL.
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import webhook_util as wu  # noqa: E402
from fakeproc import Fake  # noqa: E402
from harness import Server, wait_for as _wait_for  # noqa: E402

SID = "AC" + "5" * 32
TOKEN = "twilio-token-media-4e1a"
FROM = "+14155550199"
WA_TOKEN = "wa-access-media-8c2d"
APP_SECRET = "meta-app-secret-media-31"
PNID = "106540352242977"
MAX_BYTES = 65536
TTL = 10


def wait_for(fn, timeout=30.0, what="condition"):
    """harness.wait_for with a longer default: media downloads retry with backoff."""
    return _wait_for(fn, timeout, what)


def png(n=300):
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + secrets.token_bytes(n)


def jpeg(n=300):
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + secrets.token_bytes(n)


class MediaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = Fake("fake_twilio.py", "--account-sid", SID, "--auth-token", TOKEN)
        cls.meta = Fake("fake_meta.py", "--access-token", WA_TOKEN, "--app-secret", APP_SECRET)
        cls.srv = Server()
        cls.public = "http://127.0.0.1:%d" % cls.srv.port
        cls.srv.env.update({
            "SB_PUBLIC_URL": cls.public,
            "SB_TWILIO_API_BASE": cls.twilio.base,
            "SB_GRAPH_API_BASE": cls.meta.base + "/v21.0",
            "SB_PROVIDER_TIMEOUT_MS": "3000",
            "SB_MEDIA_MAX_BYTES": str(MAX_BYTES),
            "SB_MEDIA_URL_TTL": str(TTL),
            "SB_WORKERS": "2",
        })
        cls.srv.start()
        cls.tenant = cls.srv.tenant()
        cls.key = cls.srv.apikey(cls.tenant, "agent")
        cls.other = cls.srv.tenant()
        cls.other_key = cls.srv.apikey(cls.other, "owner")
        cls.sms_id, cls.sms_key = wu.add_account(cls.srv, cls.tenant, "twilio",
                                                 {"account_sid": SID, "auth_token": TOKEN, "from": FROM})
        cls.wa_id, cls.wa_key = wu.add_account(cls.srv, cls.tenant, "whatsapp",
                                               {"phone_number_id": PNID, "access_token": WA_TOKEN,
                                                "app_secret": APP_SECRET, "verify_token": "verify-media"})
        cls.early_link = None

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.twilio.stop()
        cls.meta.stop()

    # ------------------------------------------------------------ helpers

    def mms(self, files, frm="+14155550123"):
        """Post a Twilio MMS whose media are files [(ME id, claimed type)]; returns the MessageSid."""
        sid = "MM" + uuid.uuid4().hex
        params = [(k, v) for k, v in wu.twilio_inbound(sid, "look", frm=frm, to=FROM) if k != "NumMedia"]
        params.append(("NumMedia", str(len(files))))
        for i, (me, ctype) in enumerate(files):
            params.append(("MediaUrl%d" % i, "%s/2010-04-01/Accounts/%s/Messages/%s/Media/%s"
                           % (self.twilio.base, SID, sid, me)))
            params.append(("MediaContentType%d" % i, ctype))
        st, _, body = wu.twilio_post(self.srv, "/webhooks/twilio/" + self.sms_key, params, TOKEN, self.public)
        self.assertEqual(st, 200, body)
        return sid

    def twilio_file(self, body, ctype):
        me = "ME" + uuid.uuid4().hex
        self.twilio.mode(media={me: {"content_type": ctype, "body_b64": base64.b64encode(body).decode()}})
        return me

    def message_by_provider_id(self, pid):
        rows = wait_for(lambda: wu.sql(self.srv, "SELECT id FROM messages WHERE provider_message_id = ?", (pid,)),
                        what="message " + pid)
        st, m = self.srv.json("GET", "/api/v1/messages/" + rows[0][0], key=self.key)
        self.assertEqual(st, 200, m)
        return m

    def settled(self, pid, n=1):
        """The message once all its n media items left "pending"."""
        def done():
            m = self.message_by_provider_id(pid)
            items = m["media"]
            return m if len(items) == n and all(i.get("status") in ("stored", "failed") for i in items) else None
        return wait_for(done, what="media of " + pid)

    def media(self, media_id, key=None):
        st, obj = self.srv.json("GET", "/api/v1/media/" + media_id, key=key or self.key)
        return st, obj

    def fetch(self, url):
        parts = urllib.parse.urlsplit(url)
        self.assertEqual("%s://%s" % (parts.scheme, parts.netloc), self.public)
        return self.srv.request("GET", parts.path + "?" + parts.query)

    # -------------------------------------------------------------- tests

    def test_media__twilio_mms_fetched_with_basic_auth_and_served_signed(self):
        data = png(2000)
        me = self.twilio_file(data, "image/png")
        pid = self.mms([(me, "image/png")])
        m = self.settled(pid)
        item = m["media"][0]
        self.assertEqual((item["status"], item["size"], item["content_type"]), ("stored", len(data), "image/png"))
        self.assertTrue(item["media_id"].startswith("med_"))
        # The MediaUrl was fetched with the account's credentials, the CDN without.
        reqs = [r for r in self.twilio.requests() if me in r["path"]]
        want = "Basic " + base64.b64encode(("%s:%s" % (SID, TOKEN)).encode()).decode()
        self.assertTrue(any(r["path"].endswith("/Media/" + me) and r["authorization"] == want for r in reqs), reqs)
        self.assertTrue(any(r["path"] == "/_cdn/" + me for r in reqs), reqs)
        st, obj = self.media(item["media_id"])
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["status"], obj["content_type"], obj["size"], obj["message_id"]),
                         ("stored", "image/png", len(data), m["id"]))
        self.assertEqual(obj["sha256"], hashlib.sha256(data).hexdigest())
        self.assertIsNone(obj["error"])
        st, hdrs, body = self.fetch(obj["url"])
        self.assertEqual(st, 200, body[:200])
        self.assertEqual(body, data)
        self.assertEqual(hdrs["content-type"], "image/png")
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        self.assertTrue(hdrs["content-disposition"].startswith("inline"), hdrs)
        self.assertTrue(hdrs["cache-control"].startswith("private, max-age="), hdrs)
        self.assertLessEqual(int(hdrs["cache-control"].split("=")[1]), TTL)
        self.assertIn("sandbox", hdrs["content-security-policy"])
        # The change reached the realtime log as message.updated with the whole message.
        ev = wu.sql(self.srv, "SELECT data FROM events WHERE tenant_id = ? AND type = 'message.updated'"
                    " ORDER BY seq", (self.tenant,))
        upd = [json.loads(r[0]) for r in ev if json.loads(r[0])["id"] == m["id"]]
        self.assertEqual(len(upd), 1, ev)
        self.assertEqual(upd[0]["media"][0]["status"], "stored")
        # The file is in the store, named by its hash, under the tenant.
        path = os.path.join(self.srv.datadir, "media", self.tenant, obj["sha256"][:2], obj["sha256"])
        self.assertTrue(os.path.isfile(path), path)
        # A link kept for the expiry test at the end.
        MediaTest.early_link = (obj["url"], time.monotonic())

    def test_media__credentials_only_to_the_twilio_api(self):
        """A MediaUrl on another origin is fetched without the account's credentials."""
        data = png(400)
        me = self.twilio_file(data, "image/png")
        sid = "MM" + uuid.uuid4().hex
        params = [(k, v) for k, v in wu.twilio_inbound(sid, "elsewhere", to=FROM) if k != "NumMedia"]
        params += [("NumMedia", "1"), ("MediaUrl0", "http://localhost:%d/_cdn/%s" % (self.twilio.port, me)),
                   ("MediaContentType0", "image/png")]
        st, _, body = wu.twilio_post(self.srv, "/webhooks/twilio/" + self.sms_key, params, TOKEN, self.public)
        self.assertEqual(st, 200, body)
        item = self.settled(sid)["media"][0]
        self.assertEqual((item["status"], item["size"]), ("stored", len(data)))
        reqs = [r for r in self.twilio.requests() if r["path"] == "/_cdn/" + me]
        self.assertEqual([r["authorization"] for r in reqs], [None])

    def test_media__claimed_image_that_is_html_served_as_attachment(self):
        data = b"<html><body><script>alert(document.cookie)</script></body></html>"
        me = self.twilio_file(data, "image/jpeg")
        pid = self.mms([(me, "image/jpeg")])
        item = self.settled(pid)["media"][0]
        self.assertEqual(item["status"], "stored")
        st, obj = self.media(item["media_id"])
        self.assertEqual((obj["content_type"], obj["provider_content_type"]), ("application/octet-stream",
                                                                               "image/jpeg"))
        st, hdrs, body = self.fetch(obj["url"])
        self.assertEqual((st, body), (200, data))
        self.assertEqual(hdrs["content-type"], "application/octet-stream")
        self.assertTrue(hdrs["content-disposition"].startswith("attachment"), hdrs)
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")

    def test_media__whatsapp_media_id_looked_up_and_downloaded_with_bearer(self):
        data = jpeg(5000)
        mid = str(int(time.time() * 1000)) + "1"
        self.meta.mode(media={mid: {"mime_type": "image/jpeg", "body_b64": base64.b64encode(data).decode()}})
        wamid = "wamid." + uuid.uuid4().hex
        msg = {"from": "16505551234", "id": wamid, "timestamp": str(int(time.time())), "type": "image",
               "image": {"caption": "receipt", "mime_type": "image/jpeg",
                         "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(), "id": mid}}
        st, _, body = wu.meta_post(self.srv, "/webhooks/whatsapp/" + self.wa_key,
                                   wu.wa_payload(PNID, messages=[msg]), APP_SECRET)
        self.assertEqual(st, 200, body)
        m = self.settled(wamid)
        item = m["media"][0]
        self.assertEqual((item["id"], item["status"], item["size"]), (mid, "stored", len(data)))
        self.assertEqual(m["body"], "receipt")
        reqs = [r for r in self.meta.requests() if mid in r["path"]]
        self.assertTrue(any(r["path"] == "/v21.0/" + mid and r["authorization"] == "Bearer " + WA_TOKEN
                            for r in reqs), reqs)
        self.assertTrue(any(r["path"] == "/_lookaside/" + mid and r["authorization"] == "Bearer " + WA_TOKEN
                            for r in reqs), reqs)
        st, obj = self.media(item["media_id"])
        self.assertEqual((obj["content_type"], obj["sha256"]), ("image/jpeg", hashlib.sha256(data).hexdigest()))
        st, hdrs, body = self.fetch(obj["url"])
        self.assertEqual((st, body, hdrs["content-type"]), (200, data, "image/jpeg"))

    def test_media__oversized_recorded_and_message_kept(self):
        big = png(MAX_BYTES + 100)
        me = self.twilio_file(big, "image/png")
        pid = self.mms([(me, "image/png")])
        m = self.settled(pid)
        self.assertEqual((m["body"], m["media"][0]["status"]), ("look", "failed"))
        st, obj = self.media(m["media"][0]["media_id"])
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["status"], obj["error"]["code"]), ("failed", "media_too_large"))
        self.assertNotIn("url", obj)
        # Without a Content-Length the body is cut off at the cap.
        me = "ME" + uuid.uuid4().hex
        self.twilio.mode(media={me: {"content_type": "image/png", "body_b64": base64.b64encode(big).decode(),
                                     "no_length": True}})
        m = self.settled(self.mms([(me, "image/png")]))
        self.assertEqual(m["media"][0]["status"], "failed")
        self.assertEqual(self.media(m["media"][0]["media_id"])[1]["error"]["code"], "media_too_large")
        # WhatsApp: refused from Graph's file_size, before the download.
        mid = str(int(time.time() * 1000)) + "2"
        self.meta.mode(media={mid: {"mime_type": "video/mp4", "body_b64": base64.b64encode(big).decode()}})
        wamid = "wamid." + uuid.uuid4().hex
        msg = {"from": "16505551234", "id": wamid, "timestamp": str(int(time.time())), "type": "video",
               "video": {"mime_type": "video/mp4", "id": mid}}
        st, _, body = wu.meta_post(self.srv, "/webhooks/whatsapp/" + self.wa_key,
                                   wu.wa_payload(PNID, messages=[msg]), APP_SECRET)
        self.assertEqual(st, 200, body)
        m = self.settled(wamid)
        self.assertEqual(m["media"][0]["status"], "failed")
        self.assertFalse([r for r in self.meta.requests() if r["path"] == "/_lookaside/" + mid])
        self.assertEqual(self.media(m["media"][0]["media_id"])[1]["error"]["code"], "media_too_large")

    def test_media__provider_500_retried_404_refused(self):
        data = png(700)
        me = self.twilio_file(data, "image/png")
        self.twilio.mode(media_fail=1)
        item = self.settled(self.mms([(me, "image/png")]))["media"][0]
        self.assertEqual((item["status"], item["size"]), ("stored", len(data)))
        tries = wu.sql(self.srv, "SELECT attempts FROM media WHERE id = ?", (item["media_id"],))
        self.assertEqual(int(tries[0][0]), 2)  # the 500, then the file
        item = self.settled(self.mms([("ME" + uuid.uuid4().hex, "image/png")]))["media"][0]
        self.assertEqual(item["status"], "failed")
        self.assertEqual(self.media(item["media_id"])[1]["error"]["code"], "fetch_refused")

    def test_media__other_tenant_and_bad_links(self):
        data = png(100)
        me = self.twilio_file(data, "image/png")
        item = self.settled(self.mms([(me, "image/png")]))["media"][0]
        st, obj = self.media(item["media_id"], key=self.other_key)
        self.assertEqual((st, obj["error"]["code"]), (404, "media_not_found"))
        st, obj = self.media(item["media_id"])
        self.assertEqual(st, 200)
        parts = urllib.parse.urlsplit(obj["url"])
        q = dict(urllib.parse.parse_qsl(parts.query))
        self.assertEqual(q["tenant"], self.tenant)

        def get(qs, path=parts.path):
            st, _, body = self.srv.request("GET", path + "?" + urllib.parse.urlencode(qs))
            return st, body

        self.assertEqual(get(q)[0], 200)
        sig = q["sig"][:-1] + ("0" if q["sig"][-1] != "0" else "1")
        for bad in (dict(q, sig=sig), dict(q, tenant=self.other), dict(q, expires=str(int(q["expires"]) + 60)),
                    {k: v for k, v in q.items() if k != "sig"}, dict(q, sig="garbage")):
            st, body = get(bad)
            self.assertEqual(st, 403, body)
            self.assertIn(b"bad_signature", body)
        st, body = get(q, path="/media/med_doesnotexist")
        self.assertEqual(st, 403, body)  # the signature names the id

    def test_media__send_refuses_media_type_before_queueing(self):
        before = wu.count(self.srv, "SELECT COUNT(*) FROM jobs WHERE type = 'outbound.send'")
        msgs = wu.count(self.srv, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'")
        st, body = self.srv.json("POST", "/api/v1/messages",
                                 {"account_id": self.wa_id, "to": "+16505551234",
                                  "media_urls": ["https://files.example/funny.gif"]}, key=self.key)
        self.assertEqual((st, body["error"]["code"]), (400, "media_not_allowed"), body)
        st, body = self.srv.json("POST", "/api/v1/messages",
                                 {"account_id": self.wa_id, "to": "+16505551234", "text": "listen",
                                  "media_urls": ["https://files.example/note.ogg"]}, key=self.key)
        self.assertEqual((st, body["error"]["code"]), (400, "invalid_message"), body)
        st, body = self.srv.json("POST", "/api/v1/messages",
                                 {"account_id": self.sms_id, "to": "+16505551234", "text": "see",
                                  "media_urls": ["https://files.example/a.png", "https://files.example/b.docx"]},
                                 key=self.key)
        self.assertEqual((st, body["error"]["code"]), (400, "media_not_allowed"), body)
        self.assertEqual(wu.count(self.srv, "SELECT COUNT(*) FROM jobs WHERE type = 'outbound.send'"), before)
        self.assertEqual(wu.count(self.srv, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"), msgs)
        # A type the channel takes (or a URL without a known extension) is queued.
        st, body = self.srv.json("POST", "/api/v1/messages",
                                 {"account_id": self.sms_id, "to": "+16505551234", "text": "see",
                                  "media_urls": ["https://files.example/a.pdf", "https://files.example/get?id=7"]},
                                 key=self.key)
        self.assertEqual(st, 202, body)

    def test_media__send_stored_media_by_id(self):
        """Media in the store are sent by id: checked first, fetched by the provider through a signed URL."""
        data = png(900)
        stored = self.settled(self.mms([(self.twilio_file(data, "image/png"), "image/png")]))["media"][0]
        html = self.settled(self.mms([(self.twilio_file(b"<html>x</html>", "image/png"), "image/png")]))["media"][0]
        failed = self.settled(self.mms([("ME" + uuid.uuid4().hex, "image/png")]))["media"][0]
        before = wu.count(self.srv, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'")
        for ids, code in (([html["media_id"]], "media_not_allowed"), ([failed["media_id"]], "media_not_ready"),
                          (["med_nosuchmedia"], "media_not_found")):
            st, body = self.srv.json("POST", "/api/v1/messages", {"account_id": self.sms_id, "to": "+16505551234",
                                                                  "media_ids": ids}, key=self.key)
            self.assertEqual((st, body["error"]["code"]), (400, code), body)
        # Another tenant cannot send this tenant's media.
        other_sms, _ = wu.add_account(self.srv, self.other, "twilio",
                                      {"account_sid": SID, "auth_token": TOKEN, "from": "+14155550198"})
        st, body = self.srv.json("POST", "/api/v1/messages", {"account_id": other_sms, "to": "+16505551234",
                                                              "media_ids": [stored["media_id"]]}, key=self.other_key)
        self.assertEqual((st, body["error"]["code"]), (400, "media_not_found"), body)
        self.assertEqual(wu.count(self.srv, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'"), before)
        to = "+1650555%04d" % secrets.randbelow(10000)
        st, body = self.srv.json("POST", "/api/v1/messages", {"account_id": self.sms_id, "to": to, "text": "this one",
                                                              "media_ids": [stored["media_id"]]}, key=self.key)
        self.assertEqual(st, 202, body)
        self.assertEqual((body["type"], body["media"][0]["media_id"]), ("image", stored["media_id"]))
        sent = wait_for(lambda: [r for r in self.twilio.requests() if (r.get("form") or {}).get("To") == to],
                        what="the send to " + to)
        url = sent[0]["form"]["MediaUrl"]
        self.assertTrue(url.startswith("%s/media/%s.png?" % (self.public, stored["media_id"])), url)
        st, hdrs, body = self.fetch(url)
        self.assertEqual((st, body, hdrs["content-type"]), (200, data, "image/png"))

    def test_zz_media__expired_link_refused(self):
        if not MediaTest.early_link:
            self.skipTest("no link from the first test")
        url, got_at = MediaTest.early_link
        left = TTL + 1.5 - (time.monotonic() - got_at)
        if left > 0:
            time.sleep(left)
        st, _, body = self.fetch(url)
        self.assertEqual(st, 403, body)
        self.assertIn(b"link_expired", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
