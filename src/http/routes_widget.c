/*
 * routes_widget: the website chat widget's public API under /widget/v1/.
 *
 * No API credentials: a request names its website chat by the widget token
 * (the webchat account's public key, X-Widget-Token) and must come from one
 * of that account's allowed origins (Origin, exact match; else 403 and no
 * CORS headers). A visitor's session is its secret (X-Widget-Session).
 * Browsers send no custom headers in a preflight, so OPTIONS is checked
 * against the account only when the URL carries ?token=; without it, it is
 * answered for any origin and the request itself is checked. Every widget route
 * is rate limited per client IP and per widget token, before its body is
 * read (429 with Retry-After).
 *
 * The feed: GET /widget/v1/messages returns the session's history and a
 * cursor (a position in the tenant's event log), or with ?after=<cursor>
 * the session's messages since, waiting up to ?wait= seconds for one (a
 * long-poll: the request is deferred and answered by the event pump, which
 * wakes it on the first message of its session; no busy polling). The
 * WebSocket /widget/v1/ws pushes the same messages. Messages handed to a
 * widget become "delivered".
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http_int.h"

#define WIDGET_WAIT_MAX_S 25
#define WIDGET_WAITS_MAX 10000     /* long-polls held at once; beyond, they answer at once */
#define WIDGET_SCAN_BATCHES 4      /* log batches one request reads before answering */
#define WIDGET_SCAN_BATCH 256
#define WIDGET_HISTORY 50
#define WIDGET_RL_KEYS 65536       /* keys each rate limiter remembers */

/* ------------------------------------------------------------ lifecycle */

int http__widget_init(struct http_server *srv, struct err *e)
{
    const struct config *cfg = srv->app->cfg;
    int64_t rip = cfg->widget_rate_ip > 0 ? cfg->widget_rate_ip : 120;
    int64_t bip = cfg->widget_burst_ip > 0 ? cfg->widget_burst_ip : 30;
    int64_t rtk = cfg->widget_rate_token > 0 ? cfg->widget_rate_token : 1200;
    int64_t btk = cfg->widget_burst_token > 0 ? cfg->widget_burst_token : 200;
    if (http__ratelimit_new(&srv->widget_ip, rip, bip, WIDGET_RL_KEYS) != 0 ||
        http__ratelimit_new(&srv->widget_token, rtk, btk, WIDGET_RL_KEYS) != 0) {
        http__widget_free(srv);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    return 0;
}

void http__widget_free(struct http_server *srv)
{
    http__ratelimit_free(srv->widget_ip);
    http__ratelimit_free(srv->widget_token);
    srv->widget_ip = srv->widget_token = NULL;
}

/* ------------------------------------------------------------- helpers */

static const char *widget_token(struct http_req *r)
{
    const char *t = http__req_header(r, "X-Widget-Token");
    return t && *t ? t : http__query_str(r, "token");
}

static const char *widget_secret(struct http_req *r)
{
    const char *t = http__req_header(r, "X-Widget-Session");
    return t && *t ? t : http__query_str(r, "session");
}

/* What a browser reads of a widget response: the body and these headers. */
static void widget_cors(struct http_req *r, const char *origin)
{
    http__header(r, "Access-Control-Allow-Origin", origin);
    http__header(r, "Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
    http__header(r, "Vary", "Origin");
}

/* A value the browser could have sent as Origin: scheme://host[:port]. */
static int looks_like_origin(const char *o)
{
    if (!o || strlen(o) > 255 || (strncmp(o, "http://", 7) != 0 && strncmp(o, "https://", 8) != 0))
        return 0;
    for (const char *p = o; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == ',' || *p == '"')
            return 0;
    return 1;
}

int http__widget_preflight(struct http_req *r)
{
    const char *methods = http__allowed_methods(r, r->path);
    const char *origin = http__req_header(r, "Origin");
    const char *token = http__query_str(r, "token");
    if (!*methods) {
        http__error(r, 404, "not_found", "no such route");
        return 1;
    }
    if (token) {
        /* The widget put its token in the URL: the preflight is checked as the request will be. */
        const struct messaging_account_ref *ref = NULL;
        struct err e = {0};
        int rc = messaging_webchat_account(r->app->messaging, token, &ref, &e);
        int ok = rc == 0 && messaging_webchat_origin_allowed(ref, origin);
        messaging_account_release(ref);
        if (rc == ERR_NOTFOUND) {
            http__error(r, 401, "invalid_widget_token", "unknown widget token");
            return 1;
        }
        if (rc) {
            http__error_from(r, &e);
            return 1;
        }
        if (!ok) {
            http__error(r, 403, "origin_not_allowed", "this origin is not allowed for this website chat");
            return 1;
        }
    }
    if (looks_like_origin(origin)) {
        /* Without a token in the URL (a header is never in a preflight), the
         * request itself checks the origin. */
        http__header(r, "Access-Control-Allow-Origin", origin);
        http__header(r, "Access-Control-Allow-Methods", methods);
        http__header(r, "Access-Control-Allow-Headers", "Content-Type, X-Widget-Token, X-Widget-Session, X-Request-Id");
        http__header(r, "Access-Control-Max-Age", "600");
        http__header(r, "Vary", "Origin");
    }
    http__header(r, "Allow", methods);
    r->status = 204;
    r->content_type = NULL;
    return 1;
}

static int widget_refuse_rate(struct http_req *r, int retry, const char *what, const char *key)
{
    char ra[24], msg[128];
    const char *origin = http__req_header(r, "Origin");
    snprintf(ra, sizeof ra, "%d", retry);
    snprintf(msg, sizeof msg, "too many widget requests from this %s; retry in %d s", what, retry);
    http__header(r, "Retry-After", ra);
    /* Readable by the page, so the widget can back off (it reveals nothing). */
    if (looks_like_origin(origin))
        widget_cors(r, origin);
    http__error(r, 429, "rate_limited", msg);
    if (r->app->metrics)
        ops_metrics_count(r->app->metrics, "sb_widget_rate_limited_total", "key", key, NULL, NULL, 1);
    return 1;
}

int http__widget_limit(struct http_req *r)
{
    int64_t now = time_now_ms();
    const char *token;
    int retry;

    if (!(r->route->flags & HTTP_ROUTE_WIDGET))
        return 0;
    if ((retry = http__ratelimit_take(r->srv->widget_ip, r->ip, now)))
        return widget_refuse_rate(r, retry, "address", "ip");
    token = widget_token(r);
    if (token && (retry = http__ratelimit_take(r->srv->widget_token, token, now)))
        return widget_refuse_rate(r, retry, "widget token", "token");
    return 0;
}

/* The website chat of the request's token, from one of its origins; -1
 * after answering. Sets the CORS headers of the response. */
static int widget_begin(struct http_req *r, const struct messaging_account_ref **ref)
{
    struct err e = {0};
    const char *origin = http__req_header(r, "Origin");
    int rc = messaging_webchat_account(r->app->messaging, widget_token(r), ref, &e);

    if (rc == ERR_NOTFOUND) {
        /* Readable by the page, so the widget can say its token is wrong; a
         * token is public and this reveals nothing any client cannot learn. */
        if (looks_like_origin(origin))
            widget_cors(r, origin);
        http__error(r, 401, "invalid_widget_token", "missing or unknown widget token (X-Widget-Token)");
        return -1;
    }
    if (rc) {
        http__error_from(r, &e);
        return -1;
    }
    if (!origin || !*origin) {
        messaging_account_release(*ref);
        *ref = NULL;
        http__error(r, 403, "origin_required", "widget requests must carry the page's Origin");
        return -1;
    }
    if (!messaging_webchat_origin_allowed(*ref, origin)) {
        messaging_account_release(*ref);
        *ref = NULL;
        http__error(r, 403, "origin_not_allowed", "this origin is not allowed for this website chat");
        return -1;
    }
    widget_cors(r, origin);
    return 0;
}

/* widget_begin and the visitor's session; -1 after answering. */
static int widget_begin_session(struct http_req *r, const struct messaging_account_ref **ref,
                                struct messaging_webchat_session *s)
{
    struct err e = {0};
    if (widget_begin(r, ref) != 0)
        return -1;
    if (messaging_webchat_session(r->app->messaging, *ref, widget_secret(r), s, &e) != 0) {
        messaging_account_release(*ref);
        *ref = NULL;
        if (e.code == ERR_UNAUTHORIZED)
            http__error(r, 401, "invalid_session", "missing or unknown widget session (X-Widget-Session)");
        else
            http__error_from(r, &e);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- the routes */

void http__route_widget_config(struct http_req *r)
{
    const struct messaging_account_ref *ref = NULL;
    if (widget_begin(r, &ref) != 0)
        return;
    http__json(r, 200);
    messaging_webchat_config_json(ref, &r->out);
    messaging_account_release(ref);
}

void http__route_widget_session(struct http_req *r)
{
    const struct messaging_account_ref *ref = NULL;
    struct messaging_webchat_session s;
    struct err e = {0};
    char secret[MESSAGING_WEBCHAT_SECRET_MAX];
    const char *name = NULL, *email = NULL;
    cJSON *j = NULL;

    if (widget_begin(r, &ref) != 0)
        return;
    if (r->body.len) { /* the body is optional: {"name", "email"} */
        if (!(j = http__body_object(r)) || http__opt_str(r, j, "name", &name) != 0 ||
            http__opt_str(r, j, "email", &email) != 0)
            goto out;
    }
    if (messaging_webchat_start(r->app->messaging, ref, name, email, r->ip, http__req_header(r, "User-Agent"), &s,
                                secret, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 201);
    buf_puts(&r->out, "{\"session_id\":");
    buf_json_str(&r->out, s.id);
    buf_puts(&r->out, ",\"secret\":");
    buf_json_str(&r->out, secret);
    buf_puts(&r->out, ",\"contact_linked\":");
    buf_puts(&r->out, s.contact_id[0] ? "true" : "false");
    buf_puts(&r->out, ",\"config\":");
    messaging_webchat_config_json(ref, &r->out);
    buf_putc(&r->out, '}');
    sodium_memzero(secret, sizeof secret);
out:
    cJSON_Delete(j);
    messaging_account_release(ref);
}

void http__route_widget_post(struct http_req *r)
{
    const struct messaging_account_ref *ref = NULL;
    struct messaging_webchat_session s;
    struct err e = {0};
    char id[128];
    const char *text, *client_id = NULL;
    int dup = 0;
    cJSON *j = NULL;

    if (widget_begin_session(r, &ref, &s) != 0)
        return;
    if (!(j = http__body_object(r)) || !(text = http__need_str(r, j, "text")) ||
        http__opt_str(r, j, "client_id", &client_id) != 0)
        goto out;
    if (messaging_webchat_post(r->app->messaging, &s, text, client_id, id, &dup, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 202);
    buf_puts(&r->out, "{\"ref\":");
    buf_json_str(&r->out, id);
    buf_printf(&r->out, ",\"duplicate\":%s}", dup ? "true" : "false");
out:
    cJSON_Delete(j);
    messaging_account_release(ref);
}

/* ?after= as a cursor: *has 0 when absent; -1 after answering 400. */
static int widget_cursor(struct http_req *r, const char *name, int64_t *out, int *has)
{
    const char *v = http__query_str(r, name);
    int64_t n = 0;
    size_t i = 0;
    *has = 0;
    *out = 0;
    if (!v)
        return 0;
    for (; v[i] && i < 18 && v[i] >= '0' && v[i] <= '9'; i++)
        n = n * 10 + (v[i] - '0');
    if (v[i]) {
        http__error(r, 400, "invalid_cursor", "after must be a cursor this API returned");
        return -1;
    }
    *out = n;
    *has = 1;
    return 0;
}

/* The event log's bounds for the tenant and where a client at `after`
 * continues: *resync when its position is gone (pruned, or not from this
 * log). -1 after answering. */
static int widget_position(struct http_req *r, const char *tenant_id, int has_after, int64_t *after, int64_t *last,
                           int *resync)
{
    struct err e = {0};
    int64_t first = 0;
    *resync = 0;
    if (ops_event_bounds(r->app->db, tenant_id, &first, last, &e) != 0) {
        http__error_from(r, &e);
        return -1;
    }
    if (has_after && (*after > *last || (first > 0 && *after < first - 1)))
        *resync = 1;
    return 0;
}

struct widget_scan {
    struct http_server *srv;
    const struct messaging_webchat_session *s;
    struct buf *out;
    struct buf frame;
    int n, events;
    int64_t last_seq;
    const char *ids[16];
    char idbuf[16][CORE_ID_MAX];
    size_t nids;
};

static int widget_scan_cb(void *ud, const struct store_event *ev)
{
    struct widget_scan *sc = ud;
    struct http__widget_event wev;
    buf_reset(&sc->frame);
    http__event_frame(&sc->frame, ev);
    http__widget_event_init(&wev, ev->seq, sc->frame.data, sc->frame.len);
    if (http__widget_event_for(&wev, sc->s->account_id, sc->s->id)) {
        if (sc->n++)
            buf_putc(sc->out, ',');
        buf_append(sc->out, wev.msg.data, wev.msg.len);
        if (wev.outbound && sc->nids < 16) {
            snprintf(sc->idbuf[sc->nids], CORE_ID_MAX, "%s", wev.message_id);
            sc->ids[sc->nids] = sc->idbuf[sc->nids];
            sc->nids++;
        }
    }
    http__widget_event_free(&wev);
    sc->last_seq = ev->seq;
    sc->events++;
    return sc->nids == 16 ? 1 : 0; /* a full set of marks: answer with what we have */
}

void http__route_widget_messages(struct http_req *r)
{
    const struct messaging_account_ref *ref = NULL;
    struct messaging_webchat_session s;
    struct err e = {0};
    int64_t after = 0, last = 0, wait = 0;
    int has_after = 0, resync = 0, more = 0;
    struct buf data = {0};
    struct widget_scan sc;

    if (widget_begin_session(r, &ref, &s) != 0)
        return;
    if (widget_cursor(r, "after", &after, &has_after) != 0 || http__query_arg(r, "wait", 0, &wait) != 0)
        goto out;
    if (wait > WIDGET_WAIT_MAX_S) {
        http__error(r, 400, "invalid_request", "wait must be 0 to 25 seconds");
        goto out;
    }
    if (widget_position(r, s.tenant_id, has_after, &after, &last, &resync) != 0)
        goto out;
    if (!has_after || resync) {
        /* The history, and a cursor read before it: nothing falls between. */
        if (messaging_webchat_history(r->app->messaging, &s, WIDGET_HISTORY, &data, &e) != 0) {
            http__error_from(r, &e);
            goto out;
        }
        http__json(r, 200);
        buf_puts(&r->out, "{\"data\":");
        buf_append(&r->out, data.data, data.len);
        buf_printf(&r->out, ",\"cursor\":\"%lld\"%s}", (long long)last, resync ? ",\"resync\":true" : "");
        goto out;
    }
    memset(&sc, 0, sizeof sc);
    sc.srv = r->srv;
    sc.s = &s;
    sc.out = &data;
    sc.last_seq = after;
    for (int i = 0; i < WIDGET_SCAN_BATCHES; i++) {
        int before = sc.events;
        int rc = ops_event_list(r->app->db, s.tenant_id, sc.last_seq, WIDGET_SCAN_BATCH, widget_scan_cb, &sc, &e);
        if (rc < 0) {
            buf_free(&sc.frame);
            http__error_from(r, &e);
            goto out;
        }
        more = rc > 0 || sc.events - before == WIDGET_SCAN_BATCH;
        if (!more || sc.n)
            break;
    }
    buf_free(&sc.frame);
    if (sc.nids)
        messaging_webchat_delivered(r->app->messaging, s.tenant_id, s.account_id, sc.ids, sc.nids);
    if (sc.n == 0 && wait > 0 && !more) {
        struct http_widget_wait *w = calloc(1, sizeof *w);
        struct http_server *srv = r->srv;
        int held = 0;
        if (w) {
            snprintf(w->tenant_id, sizeof w->tenant_id, "%s", s.tenant_id);
            snprintf(w->account_id, sizeof w->account_id, "%s", s.account_id);
            snprintf(w->session_id, sizeof w->session_id, "%s", s.id);
            w->last_seq = sc.last_seq;
            w->deadline_ns = time_mono_ns() + wait * 1000000000LL;
            pthread_mutex_lock(&srv->ws_mu);
            if (!srv->ws_stopping && srv->nwwaits < WIDGET_WAITS_MAX && (w->defer = http__defer(r))) {
                w->next = srv->wwaits;
                srv->wwaits = w;
                srv->nwwaits++;
                held = 1;
            }
            pthread_mutex_unlock(&srv->ws_mu);
            if (!held)
                free(w);
        }
        if (held)
            goto out; /* answered by the pump (or its deadline) */
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (data.len)
        buf_append(&r->out, data.data, data.len);
    buf_printf(&r->out, "],\"cursor\":\"%lld\"}", (long long)sc.last_seq);
out:
    buf_free(&data);
    messaging_account_release(ref);
}

void http__route_widget_ws(struct http_req *r)
{
    const struct messaging_account_ref *ref = NULL;
    struct messaging_webchat_session s;
    int64_t after = 0, last = 0;
    int has_after = 0, resync = 0;

    if (widget_begin_session(r, &ref, &s) != 0)
        return;
    if (widget_cursor(r, "after", &after, &has_after) == 0 &&
        widget_position(r, s.tenant_id, has_after, &after, &last, &resync) == 0)
        http__ws_upgrade_widget(r, s.tenant_id, s.account_id, s.id, has_after && !resync ? after : last, last,
                                resync ? "events_pruned" : NULL);
    messaging_account_release(ref);
}
