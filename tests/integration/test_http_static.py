"""
The dashboard's built files served by the server itself (SB_WEB_DIR): content
types, caching rules, ETags and 304, gzip, HEAD, the single-page app fallback
for browser navigations next to the JSON 404 of API paths and non-HTML
clients, refused traversal attempts, the security headers of the documents
and of widget.js, and a server without a built dashboard (API only, "/"
explains), or with one too big to load.
"""
import gzip
import json
import os
import sys
import tempfile
import shutil
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/app-5f3a9c.js"></script>' \
        b'<link rel="stylesheet" href="/assets/app-77e1d0.css"></head><body><div id="app"></div></body></html>\n'
APP_JS = b"export function hello(){return 'hello';}\n" * 300
APP_CSS = b"body{margin:0;font-family:sans-serif}\n" * 50
WIDGET = b"(function(){var s=document.currentScript;window.sbWidget={src:s&&s.src};})();\n" * 20
LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
NAV = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a browser navigation
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def write_dist(root):
    files = {
        "index.html": INDEX,
        "assets/app-5f3a9c.js": APP_JS,
        "assets/app-77e1d0.css": APP_CSS,
        "assets/logo-0a1b2c.svg": LOGO,
        "assets/font-3c4d5e.woff2": b"wOF2" + bytes(range(256)),
        "widget.js": WIDGET,
        "favicon.ico": b"\x00\x00\x01\x00",
        ".secret": b"not for the web",
    }
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


class StaticTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(env={"SB_CORS_ORIGINS": "https://app.example"})
        # The default SB_WEB_DIR, web/dist, is relative to the working
        # directory, which the harness makes the data directory.
        write_dist(os.path.join(cls.srv.datadir, "web", "dist"))
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def get(self, path, **headers):
        return self.srv.request("GET", path, headers=headers)

    def assertJson404(self, st, h, body):
        self.assertEqual(st, 404, body[:200])
        self.assertTrue(h["content-type"].startswith("application/json"), h)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "not_found")
        self.assertTrue(err["request_id"])

    def test_http_static__files_and_types(self):
        for path, ctype, data in (("/", "text/html; charset=utf-8", INDEX),
                                  ("/index.html", "text/html; charset=utf-8", INDEX),
                                  ("/assets/app-5f3a9c.js", "text/javascript; charset=utf-8", APP_JS),
                                  ("/assets/app-77e1d0.css", "text/css; charset=utf-8", APP_CSS),
                                  ("/assets/logo-0a1b2c.svg", "image/svg+xml", LOGO),
                                  ("/assets/font-3c4d5e.woff2", "font/woff2", None),
                                  ("/widget.js", "text/javascript; charset=utf-8", WIDGET),
                                  ("/favicon.ico", "image/x-icon", b"\x00\x00\x01\x00")):
            st, h, body = self.get(path)
            self.assertEqual((st, h["content-type"]), (200, ctype), path)
            if data is not None:
                self.assertEqual(body, data, path)
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertRegex(h["etag"], r'^"[0-9a-f]{32}"$')
            self.assertNotIn("content-encoding", h)
        # The request is logged as the dashboard's route.
        self.assertIn('"route":"/*","path":"/assets/app-5f3a9c.js","status":200', self.srv.read_log())

    def test_http_static__cache_and_security_headers(self):
        _, h, _ = self.get("/")
        self.assertEqual(h["cache-control"], "no-cache")
        self.assertEqual(h["content-security-policy"], CSP)
        self.assertEqual(h["referrer-policy"], "same-origin")
        self.assertEqual(h["x-frame-options"], "DENY")
        self.assertNotIn("cross-origin-resource-policy", h)
        _, h, _ = self.get("/assets/app-5f3a9c.js")
        self.assertEqual(h["cache-control"], "public, max-age=31536000, immutable")
        self.assertEqual(h["cross-origin-resource-policy"], "cross-origin")
        # Not a document: the API's own locked-down policy stays.
        self.assertEqual(h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'")
        _, h, _ = self.get("/widget.js")
        self.assertEqual(h["cache-control"], "public, max-age=300")
        self.assertEqual(h["cross-origin-resource-policy"], "cross-origin")
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertNotIn("access-control-allow-credentials", h)
        # An allowlisted origin keeps its credentialed CORS answer, once.
        _, h, _ = self.get("/widget.js", Origin="https://app.example")
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        _, h, _ = self.get("/favicon.ico")
        self.assertEqual(h["cache-control"], "no-cache")

    def test_http_static__etag_304(self):
        st, h, _ = self.get("/assets/app-5f3a9c.js")
        etag = h["etag"]
        for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
            st, h2, body = self.get("/assets/app-5f3a9c.js", **{"If-None-Match": inm})
            self.assertEqual((st, body), (304, b""), inm)
            self.assertEqual(h2["etag"], etag)
            self.assertEqual(h2["cache-control"], "public, max-age=31536000, immutable")
        st, _, body = self.get("/assets/app-5f3a9c.js", **{"If-None-Match": '"something-else"'})
        self.assertEqual((st, body), (200, APP_JS))
        # The index revalidates the same way (no-cache means "ask first").
        _, h, _ = self.get("/")
        st, _, _ = self.get("/", **{"If-None-Match": h["etag"]})
        self.assertEqual(st, 304)
        st, _, _ = self.srv.request("HEAD", "/", headers={"If-None-Match": h["etag"]})
        self.assertEqual(st, 304)

    def test_http_static__gzip(self):
        st, h, body = self.get("/assets/app-5f3a9c.js", **{"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual((st, h["content-encoding"]), (200, "gzip"))
        self.assertIn("Accept-Encoding", h["vary"])
        self.assertLess(len(body), len(APP_JS))
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertEqual(gzip.decompress(body), APP_JS)
        gz_etag = h["etag"]
        _, plain, _ = self.get("/assets/app-5f3a9c.js")
        self.assertNotEqual(plain["etag"], gz_etag)  # two representations, two strong tags
        self.assertIn("Accept-Encoding", plain["vary"])
        st, h, body = self.get("/assets/app-5f3a9c.js", **{"Accept-Encoding": "gzip", "If-None-Match": gz_etag})
        self.assertEqual((st, h["etag"], body), (304, gz_etag, b""))
        st, h, body = self.get("/assets/app-5f3a9c.js", **{"Accept-Encoding": "gzip;q=0, identity"})
        self.assertEqual((st, body), (200, APP_JS))
        self.assertNotIn("content-encoding", h)
        # Tiny or already compressed: never gzipped.
        st, h, _ = self.get("/favicon.ico", **{"Accept-Encoding": "gzip"})
        self.assertNotIn("content-encoding", h)
        self.assertNotIn("vary", h)

    def test_http_static__head(self):
        for path, ae in (("/", None), ("/assets/app-5f3a9c.js", None), ("/assets/app-5f3a9c.js", "gzip"),
                         ("/widget.js", None)):
            hdrs = {"Accept-Encoding": ae} if ae else {}
            st, g, gbody = self.srv.request("GET", path, headers=hdrs)
            st2, h, hbody = self.srv.request("HEAD", path, headers=hdrs)
            self.assertEqual((st2, hbody), (200, b""), path)
            self.assertEqual(int(h["content-length"]), len(gbody), path)
            for k in ("content-type", "etag", "cache-control", "content-encoding"):
                self.assertEqual(h.get(k), g.get(k), (path, k))

    def test_http_static__spa_fallback(self):
        for path in ("/inbox", "/inbox/123", "/settings/channels/cha_1", "/contacts?q=ann"):
            st, h, body = self.get(path, Accept=NAV)
            self.assertEqual((st, body), (200, INDEX), path)
            self.assertEqual(h["cache-control"], "no-cache")
            self.assertEqual(h["content-security-policy"], CSP)
            # Not a browser navigation: the JSON 404.
            self.assertJson404(*self.get(path, Accept="application/json"))
            self.assertJson404(*self.get(path))
        # The server's own paths never become the app.
        for path in ("/api/v1/nope", "/api", "/webhooks/nope", "/widget/v1/nope", "/media/a/b", "/u",
                     "/assets/app-000000.js", "/metrics/x", "/healthz/x"):
            self.assertJson404(*self.get(path, Accept=NAV))
        # API routes still answer as before.
        st, h, body = self.get("/api/v1/openapi.json", Accept=NAV)
        self.assertEqual((st, h["content-type"]), (200, "application/json"))
        st, _, _ = self.get("/healthz", Accept=NAV)
        self.assertEqual(st, 200)
        # Writes to the dashboard's files.
        st, h, body = self.srv.request("POST", "/widget.js", body=b"x")
        self.assertEqual((st, json.loads(body)["error"]["code"]), (405, "method_not_allowed"))
        self.assertEqual(h["allow"], "GET, HEAD")
        st, _, body = self.srv.request("POST", "/inbox/1", body=b"x", headers={"Accept": NAV})
        self.assertJson404(st, _, body)

    def test_http_static__traversal_refused(self):
        for path in ("/assets/../index.html", "/assets/%2e%2e/index.html", "/%2e%2e/%2e%2e/etc/passwd",
                     "/..%2f..%2fetc/passwd", "/../../etc/passwd", "//etc/passwd", "/index.html%00.js",
                     "/.secret", "/assets/..%5c..%5cindex.html", "/assets%2f..%2findex.html", "/./index.html"):
            st, h, body = self.get(path, Accept=NAV)
            self.assertJson404(st, h, body)
            self.assertNotIn(b"not for the web", body)
            self.assertNotIn(b"root:", body)


class NoDashboardTest(unittest.TestCase):
    def test_http_static__not_built(self):
        with Server(env={"SB_WEB_DIR": "/nonexistent/web/dist"}) as srv:
            st, h, body = srv.request("GET", "/", headers={"Accept": NAV})
            self.assertEqual((st, h["content-type"]), (404, "text/html; charset=utf-8"))
            self.assertIn(b"bash scripts/web.sh", body)
            self.assertEqual(h["cache-control"], "no-store")
            self.assertEqual(h["content-security-policy"], CSP)
            st, _, body2 = srv.request("GET", "/inbox/1", headers={"Accept": NAV})
            self.assertEqual((st, body2), (404, body))
            st, h, body = srv.request("GET", "/widget.js")
            self.assertEqual((st, json.loads(body)["error"]["code"]), (404, "not_found"))
            st, _, _ = srv.request("GET", "/healthz")
            self.assertEqual(st, 200)
            srv.sigterm()
            srv.wait()
            log = srv.read_log()
            self.assertEqual(log.count("dashboard not built"), 1, log[-2000:])
            self.assertIn("/nonexistent/web/dist does not exist", log)
            self.assertIn("bash scripts/web.sh", log)

    def test_http_static__off(self):
        with Server(env={"SB_WEB_DIR": ""}) as srv:
            st, h, body = srv.request("GET", "/", headers={"Accept": NAV})
            self.assertEqual((st, json.loads(body)["error"]["code"]), (404, "not_found"))

    def test_http_static__too_many_files(self):
        dist = tempfile.mkdtemp(prefix="sbit_dist_")
        try:
            write_dist(dist)
            os.makedirs(os.path.join(dist, "assets", "many"))
            for i in range(2000):
                with open(os.path.join(dist, "assets", "many", "f%04d.txt" % i), "wb") as f:
                    f.write(b"x")
            with Server(env={"SB_WEB_DIR": dist}) as srv:
                st, h, body = srv.request("GET", "/", headers={"Accept": NAV})
                self.assertEqual((st, h["content-type"]), (404, "text/html; charset=utf-8"))
                self.assertIn(b"could not be loaded", body)
                st, _, _ = srv.request("GET", "/assets/app-5f3a9c.js")
                self.assertEqual(st, 404)
                st, _, _ = srv.request("GET", "/healthz")
                self.assertEqual(st, 200)
                self.assertIn("dashboard not served: more than 2000 files", srv.read_log())
        finally:
            shutil.rmtree(dist, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
