/*
 * router: route matching over the static table, the middleware chain and the
 * one error shape.
 *
 * Matching compares the path segment by segment with the pattern; a "{name}"
 * segment matches any non-empty segment. Nothing is allocated until a
 * parameter is kept (its value is copied into the request arena).
 * The chain is an ordered array of functions; each returns 0 to continue or
 * 1 when it has answered the request. Logging and metrics run after it.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "http/http_int.h"

/* ------------------------------------------------------------- matching */

/* Match one pattern against path; fills params when out is not NULL. */
static int route_match_one(const char *pattern, const char *path, struct http_req *out)
{
    const char *p = pattern, *u = path;
    int n = 0;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return 0;
        p++;
        u++;
        const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (ul == 0 || n >= HTTP_MAX_PARAMS)
                return 0;
            if (out) {
                out->param_name[n] = arena_strndup(out->arena, p + 1, pl - 2);
                out->param_val[n] = arena_strndup(out->arena, u, ul);
            }
            n++;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
    }
    if (*p || *u)
        return 0;
    if (out)
        out->nparams = n;
    return 1;
}

const struct http_route *http__route_match(struct http_req *r, const char *method, const char *path,
                                           int *path_known)
{
    *path_known = 0;
    for (const struct http_route *rt = http__routes; rt->method; rt++) {
        if (!route_match_one(rt->pattern, path, NULL))
            continue;
        r->pattern = rt->pattern;
        if (strcmp(rt->method, method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            route_match_one(rt->pattern, path, r);
            return rt;
        }
        *path_known = 1;
    }
    return NULL;
}

const char *http__allowed_methods(struct http_req *r, const char *path)
{
    struct buf b = {0};
    for (const struct http_route *rt = http__routes; rt->method; rt++) {
        if (!route_match_one(rt->pattern, path, NULL))
            continue;
        if (b.len)
            buf_puts(&b, ", ");
        buf_puts(&b, rt->method);
    }
    if (b.len)
        buf_puts(&b, ", OPTIONS");
    const char *s = arena_strdup(r->arena, b.len ? b.data : "");
    buf_free(&b);
    return s;
}

const char *http__param(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->param_name[i], name) == 0)
            return r->param_val[i];
    return NULL;
}

void http_write_routes(FILE *f)
{
    for (const struct http_route *rt = http__routes; rt->method; rt++)
        fprintf(f, "%s %s\n", rt->method, rt->pattern);
}

/* ------------------------------------------------------------ responses */

void http__header(struct http_req *r, const char *name, const char *value)
{
    if (r->nheaders >= HTTP_MAX_HEADERS)
        return;
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = arena_strdup(r->arena, value);
    r->nheaders++;
}

void http__header_set(struct http_req *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            r->headers[i].value = arena_strdup(r->arena, value);
            return;
        }
    }
    http__header(r, name, value);
}

const char *http__req_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void http__json(struct http_req *r, int status)
{
    r->status = status;
    r->content_type = "application/json";
    buf_reset(&r->out);
}

void http__error(struct http_req *r, int status, const char *code, const char *message)
{
    http__json(r, status);
    buf_puts(&r->out, "{\"error\":{\"code\":");
    buf_json_str(&r->out, code);
    buf_puts(&r->out, ",\"message\":");
    buf_json_str(&r->out, message);
    buf_puts(&r->out, ",\"request_id\":");
    buf_json_str(&r->out, r->request_id);
    buf_puts(&r->out, "}}");
}

int http__status_for(int code)
{
    switch (code) {
    case ERR_OK: return 200;
    case ERR_INVALID: return 400;
    case ERR_UNAUTHORIZED: return 401;
    case ERR_FORBIDDEN: return 403;
    case ERR_NOTFOUND: return 404;
    case ERR_CONFLICT: return 409;
    case ERR_TOOLARGE: return 413;
    case ERR_RATELIMIT: return 429;
    case ERR_UPSTREAM: return 503;
    case ERR_TIMEOUT: return 504;
    default: return 500;
    }
}

void http__error_from(struct http_req *r, const struct err *e)
{
    int status = http__status_for(e->code);
    if (status >= 500 && status != 503) {
        struct log_ctx ctx = {r->request_id, r->trace_id, r->principal.tenant_id[0] ? r->principal.tenant_id : NULL};
        log_write(LOG_ERROR, &ctx, NULL, "internal error: %s", e->msg);
        http__error(r, status, "internal", "internal error");
        return;
    }
    http__error(r, status, err_slug(e), e->msg[0] ? e->msg : err_slug(e));
}

/* --------------------------------------------------------------- checks */

int http__valid_request_id(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-') || n >= 128)
            return 0;
    }
    return n >= 1 && n <= 128;
}

static int is_lhex(const char *s, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
        if (s[i] != '0')
            nonzero = 1;
    }
    return nonzero;
}

int http__parse_traceparent(const char *s, char trace_id[33])
{
    /* 00-<32 hex>-<16 hex>-<2 hex> */
    if (!s || strlen(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return ERR_INVALID;
    if (s[0] != '0' || s[1] != '0')
        return ERR_INVALID;
    if (is_lhex(s + 3, 32) != 1 || is_lhex(s + 36, 16) != 1 || is_lhex(s + 53, 2) < 0)
        return ERR_INVALID;
    memcpy(trace_id, s + 3, 32);
    trace_id[32] = '\0';
    return 0;
}

int http__origin_allowed(const char *allowlist, const char *origin)
{
    size_t ol;
    if (!allowlist || !origin || !*origin)
        return 0;
    ol = strlen(origin);
    const char *p = allowlist;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *te = end;
        while (te > p && te[-1] == ' ')
            te--;
        if ((size_t)(te - p) == ol && memcmp(p, origin, ol) == 0)
            return 1;
        p = end;
    }
    return 0;
}

/* ----------------------------------------------------------- middleware */

typedef int (*http_mw_fn)(struct http_req *r);

/* Random bits per request, drawn at once from the per-thread buffer (a
 * syscall costs more than the rest of the middleware on a VM): request id,
 * trace, span. */
enum { RND_REQ = 0, RND_TRACE = 12, RND_SPAN = 28, RND_LEN = 36 };

static int mw_request_id(struct http_req *r)
{
    const char *id = http__req_header(r, "X-Request-Id");
    crypto_random_fast(r->rnd, RND_LEN);
    if (http__valid_request_id(id)) {
        snprintf(r->request_id, sizeof r->request_id, "%s", id);
    } else {
        memcpy(r->request_id, "req_", 4);
        crypto_hex(r->request_id + 4, r->rnd + RND_REQ, 12); /* 96 bits */
    }
    http__header(r, "X-Request-Id", r->request_id);
    return 0;
}

static int mw_trace(struct http_req *r)
{
    char tp[64];
    if (http__parse_traceparent(http__req_header(r, "traceparent"), r->trace_id) != 0) {
        r->rnd[RND_TRACE] |= 1; /* never all zero */
        crypto_hex(r->trace_id, r->rnd + RND_TRACE, 16);
    }
    r->rnd[RND_SPAN] |= 1;
    crypto_hex(r->span_id, r->rnd + RND_SPAN, 8);
    snprintf(tp, sizeof tp, "00-%s-%s-01", r->trace_id, r->span_id);
    http__header(r, "traceparent", tp);
    return 0;
}

static int mw_security_headers(struct http_req *r)
{
    http__header(r, "X-Content-Type-Options", "nosniff");
    http__header(r, "X-Frame-Options", "DENY");
    http__header(r, "Referrer-Policy", "no-referrer");
    http__header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    http__header(r, "Cache-Control", "no-store");
    const char *pub = r->app->cfg->public_url;
    if (pub && strncmp(pub, "https://", 8) == 0)
        http__header(r, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    return 0;
}

static int mw_cors(struct http_req *r)
{
    /* The widget API allows each website chat's own origins (routes_widget.c). */
    if (strncmp(r->path, "/widget/", 8) == 0)
        return strcmp(r->method, "OPTIONS") == 0 ? http__widget_preflight(r) : 0;
    const char *origin = http__req_header(r, "Origin");
    int allowed = http__origin_allowed(r->app->cfg->cors_origins, origin);
    if (allowed) {
        http__header(r, "Access-Control-Allow-Origin", origin);
        http__header(r, "Access-Control-Allow-Credentials", "true");
        http__header(r, "Vary", "Origin");
    }
    if (strcmp(r->method, "OPTIONS") == 0) {
        const char *methods = http__allowed_methods(r, r->path);
        if (!*methods) {
            http__error(r, 404, "not_found", "no such route");
            return 1;
        }
        if (allowed) {
            http__header(r, "Access-Control-Allow-Methods", methods);
            http__header(r, "Access-Control-Allow-Headers",
                         "Authorization, Content-Type, X-CSRF-Token, X-Request-Id, traceparent");
            http__header(r, "Access-Control-Max-Age", "600");
        }
        http__header(r, "Allow", methods);
        r->status = 204;
        r->content_type = NULL;
        return 1;
    }
    return 0;
}

static int mw_body_limit(struct http_req *r)
{
    if (!r->body_too_large)
        return 0;
    char msg[96];
    snprintf(msg, sizeof msg, "request body exceeds %lld bytes", (long long)r->app->cfg->body_limit);
    http__error(r, 413, "payload_too_large", msg);
    return 1;
}

static int mw_route(struct http_req *r)
{
    int known = 0;
    r->route = http__route_match(r, r->method, r->path, &known);
    if (r->route)
        return 0;
    /* No API route has this path: the dashboard's files and the single-page
     * app's fallback (static.c) are the last route. */
    if (!known) {
        int rc = http__static_route(r);
        if (rc == HTTP_STATIC_YES)
            return 0;
        if (rc == HTTP_STATIC_METHOD) {
            http__header(r, "Allow", "GET, HEAD");
            http__error(r, 405, "method_not_allowed", "method not allowed for this path");
            return 1;
        }
    }
    if (known) {
        http__header(r, "Allow", http__allowed_methods(r, r->path));
        http__error(r, 405, "method_not_allowed", "method not allowed for this path");
    } else {
        http__error(r, 404, "not_found", "no such route");
    }
    return 1;
}

/* Resolve the caller. Bearer keys first, then the session cookie, then the
 * single-tenant development mode. A bad credential is refused outright. */
static int mw_authenticate(struct http_req *r)
{
    struct err e = {0};
    struct auth_principal *p = &r->principal;
    const char *authz = http__req_header(r, "Authorization");
    if (r->route->flags & HTTP_ROUTE_PUBLIC)
        return 0;
    if (authz && *authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            http__error(r, 401, "unauthorized", "Authorization must be a Bearer API key");
            return 1;
        }
        const char *key = authz + 7;
        while (*key == ' ')
            key++;
        if (auth_apikey_authenticate(r->app->auth, key, p, &e) != 0) {
            memset(p, 0, sizeof *p);
            if (e.code == ERR_UNAUTHORIZED || e.code == ERR_NOTFOUND || e.code == ERR_INVALID)
                http__error(r, 401, "unauthorized", "invalid or revoked API key");
            else
                http__error_from(r, &e);
            return 1;
        }
        p->kind = AUTH_APIKEY;
        return 0;
    }
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "sb_session");
    if (cookie && *cookie) {
        if (auth_session_authenticate(r->app->auth, cookie, p, &e) != 0) {
            memset(p, 0, sizeof *p);
            if (e.code == ERR_UNAUTHORIZED || e.code == ERR_NOTFOUND || e.code == ERR_INVALID)
                http__error(r, 401, "unauthorized", "session expired or invalid");
            else
                http__error_from(r, &e);
            return 1;
        }
        p->kind = AUTH_SESSION;
        return 0;
    }
    if (!r->app->cfg->require_api_keys) {
        struct store_tenant t;
        /* Development convenience: one tenant and no credentials means its owner. */
        if (store_tenant_only(r->app->db, &t, &e) == 0) {
            memset(p, 0, sizeof *p);
            p->kind = AUTH_APIKEY;
            snprintf(p->tenant_id, sizeof p->tenant_id, "%s", t.id);
            snprintf(p->role, sizeof p->role, "owner");
            return 0;
        }
    }
    http__error(r, 401, "unauthorized", "authentication required");
    return 1;
}

static int mw_csrf(struct http_req *r)
{
    if (r->principal.kind != AUTH_SESSION)
        return 0;
    if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") || !strcmp(r->method, "OPTIONS"))
        return 0;
    const char *tok = http__req_header(r, "X-CSRF-Token");
    const char *want = r->principal.csrf_token;
    if (!tok || !*want || !crypto_equal(tok, strlen(tok), want, strlen(want))) {
        http__error(r, 403, "csrf_failed", "missing or wrong X-CSRF-Token");
        return 1;
    }
    return 0;
}

static int mw_rbac(struct http_req *r)
{
    if (!r->route->action)
        return 0;
    if (!auth_allowed(r->route->action, r->principal.role)) {
        http__error(r, 403, "forbidden", "your role may not do this");
        return 1;
    }
    return 0;
}

/* Everything that can be decided from the request line and headers runs as
 * soon as they arrive, so an unauthenticated or forbidden client is refused
 * before it may upload a body. */
static const http_mw_fn http_chain[] = {
    mw_request_id, mw_trace, mw_security_headers, mw_cors, mw_body_limit,
    mw_route, mw_authenticate, http__widget_limit, mw_csrf, mw_rbac, NULL,
};

void http__dispatch_log(struct http_req *r)
{
    int64_t dur = time_mono_ns() - r->start_ns;
    const char *route = r->pattern ? r->pattern : "unmatched";
    if (r->app->metrics)
        ops_metrics_request(r->app->metrics, r->method, route, r->status, dur);
    if (!log_enabled(LOG_INFO))
        return;
    struct buf x = {0};
    buf_puts(&x, "\"method\":");
    buf_json_str(&x, r->method);
    buf_puts(&x, ",\"route\":");
    buf_json_str(&x, route);
    buf_puts(&x, ",\"path\":");
    buf_json_str(&x, r->path);
    buf_printf(&x, ",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%zu,\"ip\":", r->status, (double)dur / 1e6,
               r->body_static ? r->body_static_len : r->out.len);
    buf_json_str(&x, r->ip);
    struct log_ctx ctx = {r->request_id, r->trace_id, r->principal.tenant_id[0] ? r->principal.tenant_id : NULL};
    log_write(LOG_INFO, &ctx, x.data, "request");
    buf_free(&x);
}

int http__dispatch_headers(struct http_req *r)
{
    r->status = 200;
    for (int i = 0; http_chain[i]; i++) {
        if (http_chain[i](r)) {
            http__dispatch_log(r);
            return 1;
        }
    }
    return 0;
}

void http__dispatch_body(struct http_req *r)
{
    /* A chunked body can still outgrow the limit after the headers passed. */
    if (!mw_body_limit(r))
        r->route->handler(r);
    /* A deferred request is logged when its response is given (server.c). */
    if (!r->defer)
        http__dispatch_log(r);
}
