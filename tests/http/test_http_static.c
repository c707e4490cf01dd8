/*
 * Unit tests for the dashboard's static files (src/http/static.c): loading a
 * directory into the in-memory table (types, gzip copies, ETags, hidden
 * names, limits), and the answer to each request (caching rules, 304, gzip
 * negotiation, the single-page app fallback, refused paths, the page shown
 * when the dashboard is not built). The server's side of it (headers on the
 * wire, HEAD) is tests/integration/test_http_static.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "http/http_int.h"
#include "test.h"

static char dir[] = "/tmp/sb_static_XXXXXX";

static void put(const char *rel, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* Parent directories first. */
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ_INT(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void puts_file(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static const char index_html[] = "<!doctype html><title>app</title><script src=\"/assets/app-1a2b.js\"></script>";
static char app_js[8192];

/* A fake build: what web/build.mjs writes, and some things it does not. */
static void make_dist(void)
{
    for (size_t i = 0; i + 1 < sizeof app_js; i++)
        app_js[i] = "console.log('hello');\n"[i % 22];
    puts_file("index.html", index_html);
    puts_file("assets/app-1a2b.js", app_js);
    puts_file("assets/app-9f8e.css", "body{margin:0}body{margin:0}body{margin:0}body{margin:0}");
    puts_file("assets/font-77aa.woff2", "wOF2 not really a font, but typed by its name");
    puts_file("widget.js", "(function(){var w=1;})();(function(){var w=1;})();(function(){var w=1;})();");
    put("favicon.ico", "\0\0\1\0", 4);
    puts_file("robots.txt", "User-agent: *\n");
    puts_file("assets/deep/nested/data.json", "{\"a\":1}");
    puts_file("assets/app-1a2b.js.map", "{\"version\":3}");
    puts_file("blob.bin", "xyz");
    puts_file(".env", "SECRET=1");
    puts_file(".hidden/index.html", "hidden");
    puts_file("empty.txt", "");
}

static struct http_static *load(void)
{
    struct http_static *st = NULL;
    struct err e = {0};
    int rc = http__static_load(&st, dir, HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES, &e);
    if (rc)
        fprintf(stderr, "load: %s\n", e.msg);
    CHECK_EQ_INT(rc, 0);
    return st;
}

/* Ask like a client: method, path and the three headers that matter. */
static int ask(const struct http_static *st, const char *method, const char *path, const char *accept,
               const char *ae, const char *inm, struct http_static_reply *out)
{
    struct http_static_ask q = {.method = method, .path = path, .target = path, .accept = accept,
                                .accept_encoding = ae, .if_none_match = inm};
    return http__static_reply(st, &q, out);
}

static int body_is(const struct http_static_reply *w, const void *data, size_t n)
{
    return w->len == n && (n == 0 || memcmp(w->body, data, n) == 0);
}

static void test_http__static_load(void)
{
    struct http_static *st = load();
    if (!st)
        return;
    int64_t bytes = 0, gz = 0;
    /* Hidden names (.env, .hidden/) are not loaded; everything else is. */
    CHECK_EQ_INT(http__static_count(st, &bytes, &gz), 11);
    CHECK_EQ_INT(http__static_state(st), HTTP_STATIC_LOADED);
    CHECK(http__static_has_index(st));
    CHECK(bytes > (int64_t)sizeof app_js);
    CHECK(gz < bytes);
    struct http_static_reply w;
    static const struct {
        const char *path, *type;
    } types[] = {
        {"/index.html", "text/html; charset=utf-8"},
        {"/assets/app-1a2b.js", "text/javascript; charset=utf-8"},
        {"/assets/app-9f8e.css", "text/css; charset=utf-8"},
        {"/assets/font-77aa.woff2", "font/woff2"},
        {"/widget.js", "text/javascript; charset=utf-8"},
        {"/favicon.ico", "image/x-icon"},
        {"/robots.txt", "text/plain; charset=utf-8"},
        {"/assets/deep/nested/data.json", "application/json"},
        {"/assets/app-1a2b.js.map", "application/json"},
        {"/blob.bin", "application/octet-stream"},
        {"/empty.txt", "text/plain; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int rc = ask(st, "GET", types[i].path, NULL, NULL, NULL, &w);
        CHECK_EQ_INT(rc, HTTP_STATIC_YES);
        CHECK_EQ_INT(w.status, 200);
        CHECK_EQ_STR(w.content_type, types[i].type);
        CHECK(w.etag && strlen(w.etag) == 34 && w.etag[0] == '"' && w.etag[33] == '"');
        CHECK_EQ_INT(w.gzip, 0);
    }
    CHECK_EQ_INT(ask(st, "GET", "/.env", "text/html", NULL, NULL, &w), HTTP_STATIC_NO);
    CHECK_EQ_INT(ask(st, "GET", "/.hidden/index.html", NULL, NULL, NULL, &w), HTTP_STATIC_NO);
    CHECK_EQ_INT(ask(st, "GET", "/empty.txt", NULL, "gzip", NULL, &w), HTTP_STATIC_YES);
    CHECK(body_is(&w, "", 0));
    CHECK_EQ_INT(w.vary, 0);

    /* The ETag is the content's hash: same bytes, same tag, whatever the name. */
    struct http_static_reply a, b;
    ask(st, "GET", "/index.html", NULL, NULL, NULL, &a);
    CHECK(body_is(&a, index_html, strlen(index_html)));
    uint8_t h[32];
    char want[40];
    crypto_sha256(h, index_html, strlen(index_html));
    want[0] = '"';
    crypto_hex(want + 1, h, 16);
    strcat(want, "\"");
    CHECK_EQ_STR(a.etag, want);
    ask(st, "GET", "/", NULL, NULL, NULL, &b);
    CHECK_EQ_STR(b.etag, a.etag);
    CHECK(b.body == a.body);
    http__static_free(st);
}

static void test_http__static_caching(void)
{
    struct http_static *st = load();
    struct http_static_reply w;
    if (!st)
        return;
    ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, NULL, &w);
    CHECK_EQ_STR(w.cache_control, "public, max-age=31536000, immutable");
    CHECK(w.csp == NULL);
    CHECK_EQ_INT(w.cross_origin, 1);
    CHECK_EQ_INT(w.any_origin, 0);
    ask(st, "GET", "/widget.js", NULL, NULL, NULL, &w);
    CHECK_EQ_STR(w.cache_control, "public, max-age=300");
    CHECK_EQ_INT(w.cross_origin, 1);
    CHECK_EQ_INT(w.any_origin, 1);
    ask(st, "GET", "/", NULL, NULL, NULL, &w);
    CHECK_EQ_STR(w.cache_control, "no-cache");
    CHECK(w.csp && strstr(w.csp, "default-src 'self'") && strstr(w.csp, "frame-ancestors 'none'"));
    CHECK_EQ_INT(w.cross_origin, 0);
    ask(st, "GET", "/index.html", NULL, NULL, NULL, &w);
    CHECK_EQ_STR(w.cache_control, "no-cache");
    ask(st, "GET", "/robots.txt", NULL, NULL, NULL, &w);
    CHECK_EQ_STR(w.cache_control, "no-cache");
    CHECK(w.csp == NULL);
    http__static_free(st);
}

static void test_http__static_gzip(void)
{
    struct http_static *st = load();
    struct http_static_reply w, plain;
    if (!st)
        return;
    CHECK_EQ_INT(ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, NULL, &plain), HTTP_STATIC_YES);
    CHECK(body_is(&plain, app_js, strlen(app_js)));
    CHECK_EQ_INT(plain.vary, 1);
    static const char *const yes[] = {"gzip", "deflate, gzip;q=0.5", "GZIP", "br, *", "x-gzip", "gzip, deflate, br"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        ask(st, "GET", "/assets/app-1a2b.js", NULL, yes[i], NULL, &w);
        CHECK_EQ_INT(w.gzip, 1);
        CHECK_EQ_INT(w.vary, 1);
        CHECK(w.len < plain.len);
        CHECK(strcmp(w.etag, plain.etag) != 0);
    }
    static const char *const no[] = {"identity", "gzip;q=0", "deflate, br", "*;q=0", "", "gzip;q=0, *"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        ask(st, "GET", "/assets/app-1a2b.js", NULL, no[i], NULL, &w);
        if (w.gzip)
            fprintf(stderr, "gzip for Accept-Encoding: %s\n", no[i]);
        CHECK_EQ_INT(w.gzip, 0);
        CHECK(body_is(&w, app_js, strlen(app_js)));
    }
    /* The gzip copy inflates to the file. */
    ask(st, "GET", "/assets/app-1a2b.js", NULL, "gzip", NULL, &w);
    static unsigned char back[sizeof app_js + 16];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK_EQ_INT(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)w.body;
    zs.avail_in = (uInt)w.len;
    zs.next_out = back;
    zs.avail_out = sizeof back;
    CHECK_EQ_INT(inflate(&zs, Z_FINISH), Z_STREAM_END);
    CHECK_EQ_INT(zs.total_out, strlen(app_js));
    CHECK(memcmp(back, app_js, strlen(app_js)) == 0);
    inflateEnd(&zs);
    /* No gzip copy where it would not be smaller, nor for compressed formats. */
    ask(st, "GET", "/favicon.ico", NULL, "gzip", NULL, &w);
    CHECK_EQ_INT(w.gzip, 0);
    CHECK_EQ_INT(w.vary, 0);
    ask(st, "GET", "/assets/font-77aa.woff2", NULL, "gzip", NULL, &w);
    CHECK_EQ_INT(w.gzip, 0);
    http__static_free(st);
}

static void test_http__static_conditional(void)
{
    struct http_static *st = load();
    struct http_static_reply w, plain, gz;
    char list[128], weak[64];
    if (!st)
        return;
    ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, NULL, &plain);
    ask(st, "GET", "/assets/app-1a2b.js", NULL, "gzip", NULL, &gz);
    CHECK_EQ_INT(ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, plain.etag, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(w.status, 304);
    CHECK(w.body == NULL && w.len == 0 && w.content_type == NULL);
    CHECK_EQ_STR(w.etag, plain.etag);
    CHECK_EQ_STR(w.cache_control, "public, max-age=31536000, immutable");
    /* The gzip client's tag, a list, a weak tag, any. */
    ask(st, "GET", "/assets/app-1a2b.js", NULL, "gzip", gz.etag, &w);
    CHECK_EQ_INT(w.status, 304);
    CHECK_EQ_STR(w.etag, gz.etag);
    snprintf(list, sizeof list, "\"nope\", %s", plain.etag);
    ask(st, "GET", "/assets/app-1a2b.js", NULL, "gzip", list, &w);
    CHECK_EQ_INT(w.status, 304);
    CHECK_EQ_STR(w.etag, gz.etag);
    snprintf(weak, sizeof weak, "W/%s", plain.etag);
    ask(st, "HEAD", "/assets/app-1a2b.js", NULL, NULL, weak, &w);
    CHECK_EQ_INT(w.status, 304);
    ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, "*", &w);
    CHECK_EQ_INT(w.status, 304);
    /* Another file's tag, or a damaged one, is a full answer. */
    struct http_static_reply idx;
    ask(st, "GET", "/index.html", NULL, NULL, NULL, &idx);
    static const char *const miss[] = {"\"nope\"", "", "W/", "\"", "garbage"};
    for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
        ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, miss[i], &w);
        CHECK_EQ_INT(w.status, 200);
    }
    ask(st, "GET", "/assets/app-1a2b.js", NULL, NULL, idx.etag, &w);
    CHECK_EQ_INT(w.status, 200);
    http__static_free(st);
}

static void test_http__static_spa_fallback(void)
{
    struct http_static *st = load();
    struct http_static_reply w, idx;
    if (!st)
        return;
    const char *html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    ask(st, "GET", "/index.html", NULL, NULL, NULL, &idx);
    static const char *const app[] = {"/inbox", "/inbox/123", "/settings/channels", "/metricsx", "/apis",
                                      "/users/a.b"};
    for (size_t i = 0; i < sizeof app / sizeof app[0]; i++) {
        CHECK_EQ_INT(ask(st, "GET", app[i], html, NULL, NULL, &w), HTTP_STATIC_YES);
        CHECK_EQ_INT(w.status, 200);
        CHECK(w.body == idx.body);
        CHECK_EQ_STR(w.cache_control, "no-cache");
        CHECK(w.csp != NULL);
        /* A client that does not take HTML gets the JSON 404. */
        CHECK_EQ_INT(ask(st, "GET", app[i], "application/json", NULL, NULL, &w), HTTP_STATIC_NO);
        CHECK_EQ_INT(ask(st, "GET", app[i], NULL, NULL, NULL, &w), HTTP_STATIC_NO);
        CHECK_EQ_INT(ask(st, "GET", app[i], "*/*", NULL, NULL, &w), HTTP_STATIC_NO);
        CHECK_EQ_INT(ask(st, "GET", app[i], "text/html;q=0, */*", NULL, NULL, &w), HTTP_STATIC_NO);
        CHECK_EQ_INT(ask(st, "POST", app[i], html, NULL, NULL, &w), HTTP_STATIC_NO);
    }
    /* The server's own prefixes never fall back, nor do missing assets. */
    static const char *const own[] = {"/api",          "/api/v1/nope", "/webhooks/x/y", "/widget/v1/nope",
                                      "/media/abc",    "/u/tok",       "/metrics",      "/healthz/x",
                                      "/readyz",       "/assets/app-0000.js"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        CHECK_EQ_INT(ask(st, "GET", own[i], html, NULL, NULL, &w), HTTP_STATIC_NO);
    /* Methods: files and "/" take GET and HEAD only. */
    CHECK_EQ_INT(ask(st, "HEAD", "/widget.js", NULL, NULL, NULL, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(ask(st, "POST", "/widget.js", NULL, NULL, NULL, &w), HTTP_STATIC_METHOD);
    CHECK_EQ_INT(ask(st, "DELETE", "/", NULL, NULL, NULL, &w), HTTP_STATIC_METHOD);
    CHECK_EQ_INT(ask(st, "PUT", "/nope", html, NULL, NULL, &w), HTTP_STATIC_NO);
    http__static_free(st);
}

static void test_http__static_refused_paths(void)
{
    struct http_static *st = load();
    struct http_static_reply w;
    if (!st)
        return;
    static const char *const bad[] = {
        "/assets/../index.html", "/../index.html", "/./index.html", "//index.html", "/assets//app-1a2b.js",
        "/.env", "/assets/..", "/a\\b", "/index.html\x01", "/x/..%2f", "relative",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(http__static_path_ok(bad[i], NULL), 0);
        CHECK_EQ_INT(ask(st, "GET", bad[i], "text/html", NULL, NULL, &w), HTTP_STATIC_NO);
    }
    CHECK_EQ_INT(http__static_path_ok("/x/..%2f", NULL), 0);
    /* MHD decodes %00 to a NUL that cuts the path: the raw target tells. */
    struct http_static_ask q = {.method = "GET", .path = "/index.html", .target = "/index.html%00.js?x=1"};
    CHECK_EQ_INT(http__static_reply(st, &q, &w), HTTP_STATIC_NO);
    q.target = "/index.html?x=%00";
    CHECK_EQ_INT(http__static_reply(st, &q, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(http__static_path_ok("/assets/app-1a2b.js", "/assets/app-1a2b.js"), 1);
    CHECK_EQ_INT(http__static_path_ok("/", "/"), 1);
    CHECK_EQ_INT(http__static_path_ok("/inbox/a.b", NULL), 1);
    http__static_free(st);
}

static void test_http__static_not_built(void)
{
    struct http_static *st = NULL;
    struct http_static_reply w;
    struct err e = {0};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-dist", dir);
    CHECK_EQ_INT(http__static_load(&st, missing, HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES, &e), 0);
    CHECK_EQ_INT(http__static_state(st), HTTP_STATIC_MISSING);
    CHECK_EQ_INT(ask(st, "GET", "/", NULL, NULL, NULL, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(w.status, 404);
    CHECK_EQ_STR(w.content_type, "text/html; charset=utf-8");
    CHECK(w.body && strstr(w.body, "bash scripts/web.sh") != NULL);
    CHECK(w.etag == NULL);
    CHECK_EQ_STR(w.cache_control, "no-store");
    CHECK_EQ_INT(ask(st, "GET", "/inbox/1", "text/html", NULL, NULL, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(w.status, 404);
    CHECK_EQ_INT(ask(st, "GET", "/inbox/1", "application/json", NULL, NULL, &w), HTTP_STATIC_NO);
    CHECK_EQ_INT(ask(st, "GET", "/widget.js", NULL, NULL, NULL, &w), HTTP_STATIC_NO);
    http__static_free(st);

    /* Empty: the dashboard is off; nothing answers, not even "/". */
    CHECK_EQ_INT(http__static_load(&st, "", HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES, &e), 0);
    CHECK_EQ_INT(http__static_state(st), HTTP_STATIC_OFF);
    CHECK_EQ_INT(ask(st, "GET", "/", "text/html", NULL, NULL, &w), HTTP_STATIC_NO);
    http__static_free(st);
    CHECK_EQ_INT(ask(NULL, "GET", "/", "text/html", NULL, NULL, &w), HTTP_STATIC_NO);

    /* Refused at start: "/" says so and points at the log. */
    CHECK_EQ_INT(http__static_empty(&st, HTTP_STATIC_REFUSED), 0);
    CHECK_EQ_INT(ask(st, "GET", "/", NULL, NULL, NULL, &w), HTTP_STATIC_YES);
    CHECK_EQ_INT(w.status, 404);
    CHECK(w.body && strstr(w.body, "could not be loaded") != NULL);
    http__static_free(st);

    /* A file where the directory should be. */
    CHECK_EQ_INT(http__static_load(&st, "/dev/null/dist", HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES, &e), 0);
    CHECK_EQ_INT(http__static_state(st), HTTP_STATIC_MISSING);
    http__static_free(st);
}

static void test_http__static_limits(void)
{
    struct http_static *st = (struct http_static *)1;
    struct err e = {0};
    /* 11 files: 10 is one too few. */
    CHECK_EQ_INT(http__static_load(&st, dir, 10, HTTP_STATIC_MAX_BYTES, &e), ERR_TOOLARGE);
    CHECK(st == NULL);
    CHECK(strstr(e.msg, "more than 10 files") != NULL);
    st = NULL;
    CHECK_EQ_INT(http__static_load(&st, dir, 11, HTTP_STATIC_MAX_BYTES, &e), 0);
    http__static_free(st);
    st = NULL;
    CHECK_EQ_INT(http__static_load(&st, dir, 100, 4096, &e), ERR_TOOLARGE);
    CHECK(st == NULL);
    CHECK(strstr(e.msg, "more than 4096 bytes") != NULL);
    /* Unreadable: not a silent partial dashboard. Root reads anything, so
     * only where the mode bits bind. */
    if (geteuid() != 0) {
        char path[600];
        snprintf(path, sizeof path, "%s/robots.txt", dir);
        chmod(path, 0);
        CHECK_EQ_INT(http__static_load(&st, dir, 100, HTTP_STATIC_MAX_BYTES, &e), ERR_IO);
        CHECK(st == NULL);
        chmod(path, 0600);
    }
}

static void test_http__header_q(void)
{
    CHECK(http__header_q("gzip", "gzip") == 1.0);
    CHECK(http__header_q("deflate, gzip;q=0.5", "gzip") == 0.5);
    CHECK(http__header_q("gzip ; q=0", "gzip") == 0.0);
    CHECK(http__header_q("text/html;level=1;q=0.7, */*", "text/html") == 0.7);
    CHECK(http__header_q("application/xhtml+xml", "text/html") < 0);
    CHECK(http__header_q("text/htmlx", "text/html") < 0);
    CHECK(http__header_q(NULL, "gzip") < 0);
    CHECK(http__header_q("", "gzip") < 0);
    CHECK(http__header_q(",,, ;;", "gzip") < 0);
    CHECK(http__header_q("TEXT/HTML", "text/html") == 1.0);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_dist();
    TEST_RUN(test_http__static_load);
    TEST_RUN(test_http__static_caching);
    TEST_RUN(test_http__static_gzip);
    TEST_RUN(test_http__static_conditional);
    TEST_RUN(test_http__static_spa_fallback);
    TEST_RUN(test_http__static_refused_paths);
    TEST_RUN(test_http__static_not_built);
    TEST_RUN(test_http__static_limits);
    TEST_RUN(test_http__header_q);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    TEST_DONE();
}
