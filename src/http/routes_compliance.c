/*
 * routes_compliance: opt-out keywords per channel, the tenant's suppression
 * list (list, add, remove, import), the review queue for replies that look
 * like an opt-out, and the public unsubscribe page (/u/{token}: a signed
 * link from a message, no login).
 *
 * The tenant always comes from the principal: no route here can read or
 * change another tenant's list or the global one (the operator's CLI alone
 * manages that). The unsubscribe page suppresses only on POST (a button, or
 * RFC 8058's one-click POST from the mail client): mail scanners fetch
 * every link in a message with GET, and that must not unsubscribe anyone.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

#define IMPORT_MAX_LINES 10000
#define IMPORT_MAX_ERRORS 100

/* ------------------------------------------------------------ keywords */

void http__route_keywords_get(struct http_req *r)
{
    struct err e = {0};
    http__json(r, 200);
    if (messaging_keywords_json(r->app->messaging, r->principal.tenant_id, &r->out, &e) != 0)
        http__error_from(r, &e);
}

/* {"sms": {"stop": […], …} | null, …}: every member is checked before any is stored. */
void http__route_keywords_patch(struct http_req *r)
{
    struct err e = {0};
    const cJSON *it;
    char *text;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    for (int pass = 0; pass < 2; pass++) {
        cJSON_ArrayForEach(it, j) {
            if (!cJSON_IsObject(it) && !cJSON_IsNull(it)) {
                http__error(r, 400, "invalid_request",
                            "each channel takes an object of stop, start and help lists, or null for the defaults");
                goto out;
            }
            text = cJSON_IsObject(it) ? cJSON_PrintUnformatted(it) : NULL;
            if (cJSON_IsObject(it) && !text) {
                http__error(r, 500, "internal", "internal error");
                goto out;
            }
            int rc = pass == 0 ? messaging_keywords_check(it->string, text, &e)
                               : messaging_keywords_set(r->app->messaging, r->principal.tenant_id, it->string, text,
                                                        auth_actor_type(&r->principal), auth_actor_id(&r->principal),
                                                        r->ip, &e);
            free(text);
            if (rc != 0) {
                http__error_from(r, &e);
                goto out;
            }
        }
    }
    http__route_keywords_get(r);
out:
    cJSON_Delete(j);
}

/* ---------------------------------------------------------- suppressions */

/* Normalise an address for channel ("*": an e-mail address when it has an
 * "@", else a phone number). 0, or -1 after answering 400. */
static int normalise(struct http_req *r, const char *channel, const char *raw, char *out, size_t outlen)
{
    struct err e = {0};
    const char *kind = strcmp(channel, "*") == 0 ? (strchr(raw, '@') ? "email" : "phone") : crm_identity_kind(channel);
    if (!kind) {
        http__error(r, 400, "invalid_channel", "unknown channel");
        return -1;
    }
    if (crm_normalize_address(kind, raw, out, outlen, &e) != 0) {
        http__error_from(r, &e);
        return -1;
    }
    return 0;
}

static int channel_arg(struct http_req *r, const char *channel)
{
    if (!compliance_channel_valid(channel, 1)) {
        http__error(r, 400, "invalid_channel",
                    "channel must be one of sms, whatsapp, email, telegram, instagram, webchat, voice or * (every "
                    "channel)");
        return -1;
    }
    return 0;
}

struct supp_page {
    struct buf *b;
    int n, limit;
    struct store_suppression last;
};

static int supp_cb(void *ud, const struct store_suppression *s)
{
    struct supp_page *pg = ud;
    if (pg->n == pg->limit) { /* one more than asked: there is a next page */
        pg->n++;
        return 0;
    }
    if (pg->n++)
        buf_putc(pg->b, ',');
    compliance_suppression_json(pg->b, s);
    pg->last = *s;
    return 0;
}

/* cursor = base64url("<created_at>\n<channel>\n<address>") */
static void supp_cursor(struct buf *b, const struct store_suppression *s)
{
    char raw[32 + 16 + STORE_ADDRESS_MAX], enc[2 * sizeof(raw)];
    int n = snprintf(raw, sizeof(raw), "%lld\n%s\n%s", (long long)s->created_at, s->channel, s->address);
    crypto_base64(enc, sizeof(enc), raw, (size_t)n);
    for (char *p = enc; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    buf_json_str(b, enc);
}

static int supp_cursor_parse(const char *cur, int64_t *at, char *channel, size_t chlen, char *address, size_t alen)
{
    char raw[32 + 16 + STORE_ADDRESS_MAX];
    int n = crypto_unbase64(raw, sizeof(raw) - 1, cur, strlen(cur));
    char *nl1, *nl2, *end = NULL;
    if (n <= 0)
        return -1;
    raw[n] = '\0';
    if (!(nl1 = strchr(raw, '\n')) || !(nl2 = strchr(nl1 + 1, '\n')))
        return -1;
    *nl1 = *nl2 = '\0';
    *at = strtoll(raw, &end, 10);
    if (!end || *end || *at <= 0 || strlen(nl1 + 1) >= chlen || strlen(nl2 + 1) >= alen)
        return -1;
    snprintf(channel, chlen, "%s", nl1 + 1);
    snprintf(address, alen, "%s", nl2 + 1);
    return 0;
}

void http__route_suppressions_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct supp_page pg;
    const char *channel = http__query_str(r, "channel"), *address = http__query_str(r, "address");
    const char *source = http__query_str(r, "source");
    char addr[STORE_ADDRESS_MAX] = "", bch[16] = "", baddr[STORE_ADDRESS_MAX] = "";
    int64_t bat = 0;

    if (http__page_args(r, &page) != 0)
        return;
    if (channel && channel_arg(r, channel) != 0)
        return;
    if (address && normalise(r, channel ? channel : "*", address, addr, sizeof(addr)) != 0)
        return;
    if (page.cursor && supp_cursor_parse(page.cursor, &bat, bch, sizeof(bch), baddr, sizeof(baddr)) != 0) {
        http__error(r, 400, "invalid_cursor", "query parameter \"cursor\" is not one this API returned");
        return;
    }
    memset(&pg, 0, sizeof(pg));
    pg.b = &r->out;
    pg.limit = page.limit > 0 ? page.limit : CRM_LIMIT_DEFAULT;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (compliance_suppression_list(r->app->db, r->principal.tenant_id, channel, addr[0] ? addr : NULL, source, bat,
                                    bch, baddr, pg.limit + 1, supp_cb, &pg, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "],\"next_cursor\":");
    if (pg.n > pg.limit)
        supp_cursor(&r->out, &pg.last);
    else
        buf_puts(&r->out, "null");
    buf_putc(&r->out, '}');
}

void http__route_suppressions_create(struct http_req *r)
{
    struct err e = {0};
    struct store_suppression s;
    const char *channel = NULL, *address, *reason = NULL;
    char addr[STORE_ADDRESS_MAX];
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(address = http__need_str(r, j, "address")) || http__opt_str(r, j, "channel", &channel) != 0 ||
        http__opt_str(r, j, "reason", &reason) != 0)
        goto out;
    if (!channel)
        channel = "*";
    if (channel_arg(r, channel) != 0 || normalise(r, channel, address, addr, sizeof(addr)) != 0)
        goto out;
    if (compliance_suppression_add(r->app->db, r->principal.tenant_id, channel, addr, "manual", reason,
                                   auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &s, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 201);
    compliance_suppression_json(&r->out, &s);
out:
    cJSON_Delete(j);
}

void http__route_suppressions_delete(struct http_req *r)
{
    struct err e = {0};
    const char *channel = http__param(r, "channel");
    char addr[STORE_ADDRESS_MAX];
    if (channel_arg(r, channel) != 0 || normalise(r, channel, http__param(r, "address"), addr, sizeof(addr)) != 0)
        return;
    if (compliance_suppression_remove(r->app->db, r->principal.tenant_id, channel, addr,
                                      auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
}

/* CSV (address,channel,reason) or, with Content-Type application/x-ndjson
 * or application/jsonl, one JSON object per line. Bad lines are reported
 * and skipped; the good ones are written together. */
void http__route_suppressions_import(struct http_req *r)
{
    struct err e = {0};
    const char *ct = http__req_header(r, "Content-Type");
    int json = ct && (strstr(ct, "ndjson") || strstr(ct, "jsonl") || strstr(ct, "json-seq"));
    const char *p = r->body.data ? r->body.data : "", *lim = p + r->body.len;
    struct compliance_import_line *lines = NULL;
    struct buf errors = {0};
    size_t nlines = 0, nerrors = 0, added = 0, lineno = 0;

    if (ct && !json && !strstr(ct, "text/csv") && !strstr(ct, "text/plain")) {
        http__error(r, 415, "unsupported_media_type",
                    "send text/csv (address,channel,reason) or application/x-ndjson (one JSON object per line)");
        return;
    }
    lines = arena_alloc(r->arena, IMPORT_MAX_LINES * sizeof(*lines));
    while (p < lim) {
        const char *nl = memchr(p, '\n', (size_t)(lim - p)), *end = nl ? nl : lim;
        char address[STORE_ADDRESS_MAX], channel[16], reason[256], norm[STORE_ADDRESS_MAX];
        struct err le = {0};
        int rc;
        lineno++;
        rc = compliance_import_parse(p, (size_t)(end - p), json, address, channel, reason, &le);
        p = nl ? nl + 1 : lim;
        if (rc == 1)
            continue;
        if (rc == 0) {
            const char *kind = strcmp(channel, "*") == 0 ? (strchr(address, '@') ? "email" : "phone")
                                                         : crm_identity_kind(channel);
            rc = kind ? crm_normalize_address(kind, address, norm, sizeof(norm), &le)
                      : err_set(&le, ERR_INVALID, "invalid_line", "unknown channel");
        }
        if (rc == 0 && nlines == IMPORT_MAX_LINES) {
            http__error(r, 413, "too_many_lines", "an import takes at most 10000 entries; split the file");
            buf_free(&errors);
            return;
        }
        if (rc == 0) {
            lines[nlines].channel = arena_strdup(r->arena, channel);
            lines[nlines].address = arena_strdup(r->arena, norm);
            lines[nlines].reason = arena_strdup(r->arena, reason);
            nlines++;
            continue;
        }
        if (nerrors++ < IMPORT_MAX_ERRORS) {
            buf_printf(&errors, "%s{\"line\":%zu,\"error\":", nerrors > 1 ? "," : "", lineno);
            buf_json_str(&errors, le.msg);
            buf_putc(&errors, '}');
        }
    }
    if (compliance_suppression_import(r->app->db, r->principal.tenant_id, lines, nlines,
                                      auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &added,
                                      &e) != 0) {
        buf_free(&errors);
        http__error_from(r, &e);
        return;
    }
    http__json(r, 200);
    buf_printf(&r->out, "{\"added\":%zu,\"rejected\":%zu,\"errors\":[", added, nerrors);
    if (errors.len)
        buf_append(&r->out, errors.data, errors.len);
    buf_puts(&r->out, "]}");
    buf_free(&errors);
}

/* --------------------------------------------------------------- reviews */

struct review_page {
    struct buf *b;
    int n, limit;
    char last_id[CORE_ID_MAX];
};

static int review_cb(void *ud, const struct store_review *v)
{
    struct review_page *pg = ud;
    if (pg->n == pg->limit) {
        pg->n++;
        return 0;
    }
    if (pg->n++)
        buf_putc(pg->b, ',');
    compliance_review_json(pg->b, v);
    snprintf(pg->last_id, sizeof(pg->last_id), "%s", v->id);
    return 0;
}

void http__route_reviews_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct review_page pg;
    const char *status = http__query_str(r, "status");

    if (http__page_args(r, &page) != 0)
        return;
    if (!status)
        status = "open";
    if (strcmp(status, "open") && strcmp(status, "opted_out") && strcmp(status, "dismissed") && strcmp(status, "all")) {
        http__error(r, 400, "invalid_request", "status must be open, opted_out, dismissed or all");
        return;
    }
    if (page.cursor && (strlen(page.cursor) >= CORE_ID_MAX || strncmp(page.cursor, "crv", 3) != 0)) {
        http__error(r, 400, "invalid_cursor", "query parameter \"cursor\" is not one this API returned");
        return;
    }
    memset(&pg, 0, sizeof(pg));
    pg.b = &r->out;
    pg.limit = page.limit > 0 ? page.limit : CRM_LIMIT_DEFAULT;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (compliance_review_list(r->app->db, r->principal.tenant_id, strcmp(status, "all") ? status : NULL,
                               page.cursor, pg.limit + 1, review_cb, &pg, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "],\"next_cursor\":");
    buf_json_str(&r->out, pg.n > pg.limit ? pg.last_id : NULL);
    buf_putc(&r->out, '}');
}

void http__route_reviews_resolve(struct http_req *r)
{
    struct err e = {0};
    struct store_review v;
    const char *action;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(action = http__need_str(r, j, "action")))
        goto out;
    if (compliance_review_resolve(r->app->db, r->principal.tenant_id, http__param(r, "id"), action,
                                  auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &v, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 200);
    compliance_review_json(&r->out, &v);
out:
    cJSON_Delete(j);
}

/* ---------------------------------------------------- the unsubscribe page */

/* The page may style itself and post its one form back here. */
static void page_headers(struct http_req *r)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcmp(r->headers[i].name, "Content-Security-Policy") == 0)
            r->headers[i].value = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                  "frame-ancestors 'none'";
    http__header(r, "X-Robots-Tag", "noindex");
}

static void html_escape(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        default: buf_putc(b, *s);
        }
    }
}

static void page(struct http_req *r, int status, const char *title, const char *text, const char *address,
                 int button)
{
    r->status = status;
    r->content_type = "text/html; charset=utf-8";
    buf_reset(&r->out);
    page_headers(r);
    buf_puts(&r->out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<meta name=\"robots\" content=\"noindex\"><title>");
    html_escape(&r->out, title);
    buf_puts(&r->out, "</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
                      "padding:0 1rem;color:#222}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:6px;"
                      "background:#1f5fbf;color:#fff;cursor:pointer}</style></head><body><h1>");
    html_escape(&r->out, title);
    buf_puts(&r->out, "</h1><p>");
    html_escape(&r->out, text);
    if (address) {
        buf_puts(&r->out, " <strong>");
        html_escape(&r->out, address);
        buf_puts(&r->out, "</strong>");
    }
    buf_puts(&r->out, "</p>");
    if (button)
        buf_puts(&r->out, "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" "
                          "value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>");
    buf_puts(&r->out, "</body></html>\n");
}

static int token_of(struct http_req *r, struct compliance_unsubscribe *u)
{
    struct err e = {0};
    if (compliance_unsubscribe_verify(r->app->keys, http__param(r, "token"), u, &e) != 0) {
        page(r, 400, "Link not valid",
             "This unsubscribe link is not valid. It may have been cut short: open the whole link from the message.",
             NULL, 0);
        return -1;
    }
    return 0;
}

void http__route_unsubscribe_page(struct http_req *r)
{
    struct compliance_unsubscribe u;
    if (token_of(r, &u) != 0)
        return;
    page(r, 200, "Unsubscribe", "Stop receiving these messages at", u.address, 1);
}

void http__route_unsubscribe_post(struct http_req *r)
{
    struct compliance_unsubscribe u;
    struct err e = {0};
    if (token_of(r, &u) != 0)
        return;
    if (compliance_unsubscribe_apply(r->app->db, &u, r->ip, &e) != 0) {
        struct log_ctx ctx = {r->request_id, r->trace_id, u.tenant_id};
        log_error(&ctx, "unsubscribe: %s", e.msg);
        page(r, 503, "Please try again", "We could not record your request just now. Please try again shortly.",
             NULL, 1);
        return;
    }
    page(r, 200, "Unsubscribed", "You will receive no more of these messages at", u.address, 0);
}
