/*
 * static: the dashboard's built files (SB_WEB_DIR, default web/dist), served
 * from memory.
 *
 * At start every regular file under the directory is read once into an
 * immutable table, sorted by URL path: its bytes, a gzip copy when that is
 * smaller, a strong ETag (a hash of the bytes) and its content type. Serving
 * is a binary search in that table and never touches the file system, so no
 * request can reach a file outside it; paths with dot segments, backslashes,
 * control bytes or encoded NULs are still refused (the JSON 404).
 *
 * The router asks http__static_route when no API route matches the path: the
 * files themselves, "/" (index.html) and, for a browser navigation (Accept
 * text/html) to any path outside the server's own prefixes, index.html again
 * so the single-page app can route it. Without a built dashboard those
 * documents are a short page that says how to build it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "http/http_int.h"

#define STATIC_MAX_DEPTH 16

struct http_static_file {
    char *path;                 /* URL path: "/assets/app-3f2a.js" */
    const char *content_type;
    const char *cache_control;
    int document;               /* an HTML document: the dashboard's CSP */
    int cross_origin;           /* may be loaded by any site (assets, widget.js) */
    int any_origin;             /* and fetched with CORS (widget.js) */
    unsigned char *data;
    size_t len;
    unsigned char *gz;          /* NULL when gzip is not smaller */
    size_t gz_len;
    char etag[40];              /* "<32 hex>" */
    char etag_gz[44];           /* "<32 hex>.gz": another representation, another tag */
};

struct http_static {
    enum http_static_state state;
    struct http_static_file *files; /* sorted by path */
    size_t n;
    int64_t bytes;
    int64_t gz_bytes;
    const struct http_static_file *index; /* "/index.html", or NULL */
};

/* The dashboard's documents: a bundled single-page app loads scripts,
 * styles and images from this server only, talks to its API and WebSocket,
 * and is never framed. */
static const char static_csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                                  "img-src 'self' data: blob:; connect-src 'self' ws: wss:; "
                                  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

static const char cache_immutable[] = "public, max-age=31536000, immutable";
static const char cache_widget[] = "public, max-age=300";
static const char cache_revalidate[] = "no-cache";

static const char page_not_built[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Switchboard: the dashboard is not built</title></head><body>\n"
    "<h1>The dashboard is not built</h1>\n"
    "<p>This Switchboard server is running and its API answers, but it has no dashboard to show: "
    "the directory SB_WEB_DIR names (web/dist by default) does not exist or has no index.html.</p>\n"
    "<p>Build it from the source tree with <code>bash scripts/web.sh</code> (or start the server with "
    "<code>bash scripts/run.sh</code>, which does it), then restart the server.</p>\n"
    "<p>The API: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. Health: "
    "<a href=\"/healthz\">/healthz</a>.</p>\n</body></html>\n";

static const char page_refused[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Switchboard: the dashboard could not be loaded</title></head><body>\n"
    "<h1>The dashboard could not be loaded</h1>\n"
    "<p>This Switchboard server is running and its API answers, but the dashboard's files could not be "
    "loaded at start; the server log says why. Fix SB_WEB_DIR and restart the server.</p>\n"
    "<p>The API: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>. Health: "
    "<a href=\"/healthz\">/healthz</a>.</p>\n</body></html>\n";

/* ------------------------------------------------------------ file types */

static const struct {
    const char *ext;
    const char *type;
    int compressible;
} static_types[] = {
    {"html", "text/html; charset=utf-8", 1},
    {"js", "text/javascript; charset=utf-8", 1},
    {"mjs", "text/javascript; charset=utf-8", 1},
    {"css", "text/css; charset=utf-8", 1},
    {"svg", "image/svg+xml", 1},
    {"png", "image/png", 0},
    {"ico", "image/x-icon", 1},
    {"json", "application/json", 1},
    {"woff2", "font/woff2", 0},
    {"map", "application/json", 1},
    {"txt", "text/plain; charset=utf-8", 1},
};

static const char *static_type(const char *path, int *compressible)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    *compressible = 1;
    if (dot)
        for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; i++)
            if (strcasecmp(dot + 1, static_types[i].ext) == 0) {
                *compressible = static_types[i].compressible;
                return static_types[i].type;
            }
    return "application/octet-stream";
}

/* --------------------------------------------------------------- loading */

static int static_gzip(const unsigned char *in, size_t n, unsigned char **out, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    *out = NULL;
    *outlen = 0;
    /* 15 + 16: a gzip wrapper (header without a name or time, so equal
     * bytes give equal output). */
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return ERR_NOMEM;
    uLong bound = deflateBound(&zs, (uLong)n);
    unsigned char *buf = malloc(bound ? bound : 1);
    if (!buf) {
        deflateEnd(&zs);
        return ERR_NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write to its input */
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    int zrc = deflate(&zs, Z_FINISH);
    size_t len = (size_t)zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(buf);
        return ERR_INTERNAL;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* Read path (size bytes at stat time) into *out. */
static int static_read(const char *path, size_t size, unsigned char **out, struct err *e)
{
    int rc = 0, fd = -1;
    size_t got = 0;
    unsigned char *data = malloc(size ? size : 1);
    *out = NULL;
    if (!data)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = err_set(e, ERR_IO, NULL, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    while (got < size) {
        ssize_t k = read(fd, data + got, size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = err_set(e, ERR_IO, NULL, "cannot read %s: %s", path, k < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        got += (size_t)k;
    }
    *out = data;
    data = NULL;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return rc;
}

struct static_loader {
    struct http_static *st;
    size_t cap;
    size_t max_files;
    int64_t max_bytes;
    size_t root_len;            /* strlen of the directory: the URL path follows it */
};

/* Add the regular file at fs (size bytes); its URL path is fs after the root. */
static int static_add(struct static_loader *L, const char *fs, size_t size, struct err *e)
{
    struct http_static *st = L->st;
    int rc = 0, compressible = 1;
    if (st->n >= L->max_files)
        return err_set(e, ERR_TOOLARGE, NULL, "more than %zu files under SB_WEB_DIR", L->max_files);
    if ((int64_t)size > L->max_bytes - st->bytes)
        return err_set(e, ERR_TOOLARGE, NULL, "more than %lld bytes under SB_WEB_DIR",
                       (long long)L->max_bytes);
    if (st->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        struct http_static_file *grown = realloc(st->files, cap * sizeof *grown);
        if (!grown)
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
        st->files = grown;
        L->cap = cap;
    }
    struct http_static_file *f = &st->files[st->n];
    memset(f, 0, sizeof *f);
    if (!(f->path = strdup(fs + L->root_len)))
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    st->n++; /* from here http__static_free releases it */
    if ((rc = static_read(fs, size, &f->data, e)) != 0)
        return rc;
    f->len = size;
    st->bytes += (int64_t)size;

    /* The first 128 bits of the SHA-256 of the bytes, quoted. */
    uint8_t h[32];
    crypto_sha256(h, f->data, f->len);
    f->etag[0] = '"';
    crypto_hex(f->etag + 1, h, 16);
    memcpy(f->etag + 33, "\"", 2);
    memcpy(f->etag_gz, f->etag, 33);
    memcpy(f->etag_gz + 33, ".gz\"", 5);

    f->content_type = static_type(f->path, &compressible);
    f->document = strncmp(f->content_type, "text/html", 9) == 0;
    if (strncmp(f->path, "/assets/", 8) == 0) {
        /* Content-hashed names: a new build gets new names, never new bytes. */
        f->cache_control = cache_immutable;
        f->cross_origin = 1;
    } else if (strcmp(f->path, "/widget.js") == 0) {
        /* A stable name embedded by other sites: short-lived, revalidated by ETag. */
        f->cache_control = cache_widget;
        f->cross_origin = 1;
        f->any_origin = 1;
    } else {
        f->cache_control = cache_revalidate;
    }
    if (compressible && f->len > 0) {
        if ((rc = static_gzip(f->data, f->len, &f->gz, &f->gz_len)) != 0)
            return err_set(e, rc, NULL, "cannot compress %s", fs);
        if (f->gz_len >= f->len) {
            free(f->gz);
            f->gz = NULL;
            f->gz_len = 0;
        }
        st->gz_bytes += (int64_t)(f->gz ? f->gz_len : f->len);
    } else {
        st->gz_bytes += (int64_t)f->len;
    }
    return 0;
}

/* Walk the directory path (len bytes of buf, which has room for PATH_MAX). */
static int static_walk(struct static_loader *L, char *path, size_t len, int depth, struct err *e)
{
    int rc = 0;
    DIR *d = opendir(path);
    if (!d)
        return err_set(e, ERR_IO, NULL, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = err_set(e, ERR_IO, NULL, "cannot list %s: %s", path, strerror(errno));
            break;
        }
        /* Hidden names (., .., .gitkeep, editor files) are never served. */
        if (de->d_name[0] == '.')
            continue;
        size_t nl = strlen(de->d_name);
        if (len + 1 + nl >= PATH_MAX) {
            rc = err_set(e, ERR_IO, NULL, "path too long under %s", path);
            break;
        }
        path[len] = '/';
        memcpy(path + len + 1, de->d_name, nl + 1);
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            rc = err_set(e, ERR_IO, NULL, "cannot stat %s: %s", path, strerror(errno));
            break;
        }
        if (S_ISLNK(sb.st_mode) && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            continue; /* a linked file is served; a linked directory could loop */
        if (S_ISDIR(sb.st_mode)) {
            if (depth >= STATIC_MAX_DEPTH) {
                rc = err_set(e, ERR_TOOLARGE, NULL, "directories nested deeper than %d under SB_WEB_DIR",
                             STATIC_MAX_DEPTH);
                break;
            }
            if ((rc = static_walk(L, path, len + 1 + nl, depth + 1, e)) != 0)
                break;
        } else if (S_ISREG(sb.st_mode)) {
            if ((rc = static_add(L, path, (size_t)sb.st_size, e)) != 0)
                break;
        }
        path[len] = '\0';
    }
    path[len] = '\0';
    closedir(d);
    return rc;
}

static int static_cmp(const void *a, const void *b)
{
    return strcmp(((const struct http_static_file *)a)->path, ((const struct http_static_file *)b)->path);
}

int http__static_empty(struct http_static **out, enum http_static_state state)
{
    struct http_static *st = calloc(1, sizeof *st);
    *out = st;
    if (!st)
        return ERR_NOMEM;
    st->state = state;
    return 0;
}

int http__static_load(struct http_static **out, const char *dir, size_t max_files, int64_t max_bytes,
                      struct err *e)
{
    struct http_static *st = NULL;
    struct stat sb;
    int rc;
    char *path = NULL;
    *out = NULL;
    if (!dir || !*dir)
        return http__static_empty(out, HTTP_STATIC_OFF) ? err_set(e, ERR_NOMEM, NULL, "out of memory") : 0;
    if (stat(dir, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR))
        return http__static_empty(out, HTTP_STATIC_MISSING) ? err_set(e, ERR_NOMEM, NULL, "out of memory") : 0;
    if (http__static_empty(&st, HTTP_STATIC_LOADED) != 0)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if (dl >= PATH_MAX) {
        rc = err_set(e, ERR_INVALID, NULL, "SB_WEB_DIR is too long");
        goto out;
    }
    if (!(path = malloc(PATH_MAX))) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    memcpy(path, dir, dl);
    path[dl] = '\0';
    struct static_loader L = {.st = st, .max_files = max_files, .max_bytes = max_bytes, .root_len = dl};
    if ((rc = static_walk(&L, path, dl, 0, e)) != 0)
        goto out;
    if (st->n)
        qsort(st->files, st->n, sizeof *st->files, static_cmp);
    struct http_static_file key = {.path = "/index.html"};
    st->index = st->n ? bsearch(&key, st->files, st->n, sizeof *st->files, static_cmp) : NULL;
    *out = st;
    st = NULL;
out:
    free(path);
    http__static_free(st);
    return rc;
}

void http__static_free(struct http_static *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->files[i].path);
        free(st->files[i].data);
        free(st->files[i].gz);
    }
    free(st->files);
    free(st);
}

enum http_static_state http__static_state(const struct http_static *st)
{
    return st ? st->state : HTTP_STATIC_OFF;
}

size_t http__static_count(const struct http_static *st, int64_t *bytes, int64_t *gz_bytes)
{
    if (bytes)
        *bytes = st ? st->bytes : 0;
    if (gz_bytes)
        *gz_bytes = st ? st->gz_bytes : 0;
    return st ? st->n : 0;
}

int http__static_has_index(const struct http_static *st)
{
    return st && st->index != NULL;
}

/* -------------------------------------------------------------- requests */

int http__static_path_ok(const char *path, const char *target)
{
    if (!path || path[0] != '/')
        return 0;
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
        /* No empty segments, and none that starts with a dot: that refuses
         * "." and ".." and hidden names alike. */
        if (c == '/' && (p[1] == '/' || p[1] == '.'))
            return 0;
    }
    /* MHD decodes %00 into a NUL that ends the path early ("/index.html%00.js"). */
    for (const char *p = target; p && *p && *p != '?'; p++)
        if (p[0] == '%' && p[1] == '0' && p[2] == '0')
            return 0;
    return 1;
}

double http__header_q(const char *header, const char *token)
{
    size_t tl = strlen(token);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';')
            p++;
        const char *end = p;
        while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        double q = 1.0;
        while (*p == ';') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                q = strtod(p + 2, NULL);
            while (*p && *p != ',' && *p != ';')
                p++;
        }
        if ((size_t)(end - name) == tl && strncasecmp(name, token, tl) == 0)
            return q;
    }
    return -1.0;
}

static int static_accepts_gzip(const char *ae)
{
    double q = http__header_q(ae, "gzip");
    if (q < 0)
        q = http__header_q(ae, "x-gzip");
    if (q < 0)
        q = http__header_q(ae, "*");
    return q > 0;
}

/* 1 when If-None-Match lists one of the tags (weak comparison, RFC 9110). */
static int static_etag_match(const char *inm, const struct http_static_file *f)
{
    const char *p = inm;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *start = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"')
                p++;
            if (*p == '"')
                p++;
        }
        size_t n = (size_t)(p - start);
        if ((n == strlen(f->etag) && memcmp(start, f->etag, n) == 0) ||
            (f->gz && n == strlen(f->etag_gz) && memcmp(start, f->etag_gz, n) == 0))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/* The server's own prefixes: a miss there is a miss, never the app. Missing
 * hashed assets are not the app either (a stale page's old script). */
static int static_spa_path(const char *path)
{
    static const char *const own[] = {"/api",     "/webhooks", "/widget", "/media",  "/u",
                                      "/metrics", "/healthz",  "/readyz", "/assets", NULL};
    for (const char *const *o = own; *o; o++) {
        size_t n = strlen(*o);
        if (strncmp(path, *o, n) == 0 && (path[n] == '\0' || path[n] == '/'))
            return 0;
    }
    return 1;
}

static const struct http_static_file *static_find(const struct http_static *st, const char *path)
{
    if (!st->n)
        return NULL;
    struct http_static_file key = {.path = (char *)(uintptr_t)path};
    return bsearch(&key, st->files, st->n, sizeof *st->files, static_cmp);
}

int http__static_reply(const struct http_static *st, const struct http_static_ask *q,
                       struct http_static_reply *out)
{
    memset(out, 0, sizeof *out);
    if (!st || st->state == HTTP_STATIC_OFF || !http__static_path_ok(q->path, q->target))
        return HTTP_STATIC_NO;
    int get = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0;
    int root = strcmp(q->path, "/") == 0;
    const struct http_static_file *f = root ? st->index : static_find(st, q->path);
    if (!get)
        return f || root ? HTTP_STATIC_METHOD : HTTP_STATIC_NO;
    if (!f && !root) {
        /* The single-page app's own routes (/inbox/123) on a reload. */
        if (!static_spa_path(q->path) || http__header_q(q->accept, "text/html") <= 0)
            return HTTP_STATIC_NO;
        f = st->index;
    }
    if (!f) {
        /* No index.html to give: say why, as a page (a browser asked). */
        out->status = 404;
        out->content_type = "text/html; charset=utf-8";
        out->body = st->state == HTTP_STATIC_REFUSED ? page_refused : page_not_built;
        out->len = strlen(out->body);
        out->cache_control = "no-store";
        out->csp = static_csp;
        return HTTP_STATIC_YES;
    }
    int gz = f->gz && static_accepts_gzip(q->accept_encoding);
    out->etag = gz ? f->etag_gz : f->etag;
    out->gzip = gz;
    out->vary = f->gz != NULL;
    out->cache_control = f->cache_control;
    out->cross_origin = f->cross_origin;
    out->any_origin = f->any_origin;
    if (f->document)
        out->csp = static_csp;
    if (static_etag_match(q->if_none_match, f)) {
        out->status = 304;
        return HTTP_STATIC_YES;
    }
    out->status = 200;
    out->content_type = f->content_type;
    out->body = gz ? f->gz : f->data;
    out->len = gz ? f->gz_len : f->len;
    return HTTP_STATIC_YES;
}

/* ------------------------------------------------------------ the route */

static void static_serve(struct http_req *r);

/* Not in http__routes: it has no pattern of its own and no OpenAPI entry;
 * the router falls back to it (http__static_route). */
static const struct http_route static_route = {"GET", "/*", static_serve, NULL, HTTP_ROUTE_PUBLIC};

int http__static_route(struct http_req *r)
{
    struct http_static_ask q = {
        .method = r->method,
        .path = r->path,
        .target = r->target,
        .accept = http__req_header(r, "Accept"),
        .accept_encoding = http__req_header(r, "Accept-Encoding"),
        .if_none_match = http__req_header(r, "If-None-Match"),
    };
    int rc = http__static_reply(r->srv ? r->srv->web : NULL, &q, &r->web);
    if (rc == HTTP_STATIC_YES) {
        r->route = &static_route;
        r->pattern = static_route.pattern;
    }
    return rc;
}

static int static_has_header(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static void static_serve(struct http_req *r)
{
    const struct http_static_reply *w = &r->web;
    r->status = w->status;
    r->content_type = w->content_type;
    buf_reset(&r->out);
    r->body_static = w->body;
    r->body_static_len = w->len;
    http__header_set(r, "Cache-Control", w->cache_control);
    if (w->etag)
        http__header(r, "ETag", w->etag);
    if (w->gzip)
        http__header(r, "Content-Encoding", "gzip");
    if (w->vary)
        http__header(r, "Vary", "Accept-Encoding");
    if (w->csp) {
        http__header_set(r, "Content-Security-Policy", w->csp);
        http__header_set(r, "Referrer-Policy", "same-origin");
    }
    if (w->cross_origin)
        http__header(r, "Cross-Origin-Resource-Policy", "cross-origin");
    /* An allowlisted origin already has its credentialed CORS answer. */
    if (w->any_origin && !static_has_header(r, "Access-Control-Allow-Origin"))
        http__header(r, "Access-Control-Allow-Origin", "*");
}
