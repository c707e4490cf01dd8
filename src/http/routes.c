/*
 * routes: the route table and the API handlers.
 *
 * Handlers run after the middleware chain: the principal is resolved and the
 * route's action is allowed. They call domain modules (auth, ops, queue,
 * crm, messaging); the tenant always comes from the principal, never from
 * the request, which is what keeps one tenant's credentials away from
 * another tenant's data. Reads go through
 * auth (auth_user_list/get, auth_apikey_list) and ops (ops_audit_list) with
 * that tenant id too: routes never call the store for tenant data (DESIGN.md
 * section 3).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crm/crm.h"
#include "messaging/messaging.h"
#include "http/http_int.h"
#include "queue/queue.h"

/* --------------------------------------------------------------- helpers */

/* Parse the body as a JSON object; on failure answer 400 and return NULL. */
static cJSON *body_object(struct http_req *r)
{
    struct err e = {0};
    cJSON *j = NULL;
    if (r->body.len == 0) {
        http__error(r, 400, "invalid_json", "a JSON object body is required");
        return NULL;
    }
    if (json_parse(&j, r->body.data, r->body.len, &e) != 0) {
        http__error(r, 400, "invalid_json", e.msg[0] ? e.msg : "malformed JSON");
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        http__error(r, 400, "invalid_json", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A required string member; answers 400 invalid_request naming it. */
static const char *need_str(struct http_req *r, const cJSON *j, const char *name)
{
    const char *s = json_str(j, name);
    if (!s || !*s) {
        char msg[96];
        snprintf(msg, sizeof msg, "field \"%s\" is required and must be a non-empty string", name);
        http__error(r, 400, "invalid_request", msg);
        return NULL;
    }
    return s;
}

/* An optional string member: NULL when absent or null; 400 when another type. */
static int opt_str(struct http_req *r, const cJSON *j, const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "field \"%s\" must be a string", name);
        http__error(r, 400, "invalid_request", msg);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static void no_content(struct http_req *r)
{
    r->status = 204;
    r->content_type = NULL;
    buf_reset(&r->out);
}

/* ------------------------------------------------------- public routes */

static void route_healthz(struct http_req *r)
{
    http__json(r, 200);
    buf_puts(&r->out, "{\"status\":\"ok\"}");
}

static void route_readyz(struct http_req *r)
{
    struct buf q = {0};
    int ok = queue_health(r->app->queue, r->app->db, &q);
    http__json(r, 200);
    if (ops_ready(r->app->db, q.data, ok, &r->out) != 0)
        r->status = 503;
    buf_free(&q);
}

static void route_metrics(struct http_req *r)
{
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    buf_reset(&r->out);
    ops_metrics_render(r->app->metrics, r->app->db, &r->out);
    queue_metrics_render(r->app->queue, r->app->db, &r->out);
    if (r->app->webhook)
        webhook_metrics(r->app->webhook, &r->out);
}

static void route_openapi(struct http_req *r)
{
    http__json(r, 200);
    buf_puts(&r->out, http_openapi_json());
}

/* ------------------------------------------------------------------ me */

static void route_me(struct http_req *r)
{
    const struct auth_principal *p = &r->principal;
    struct buf *b = &r->out;
    http__json(r, 200);
    buf_puts(b, "{\"tenant_id\":");
    buf_json_str(b, p->tenant_id);
    buf_puts(b, ",\"role\":");
    buf_json_str(b, p->role);
    buf_puts(b, p->kind == AUTH_SESSION ? ",\"auth\":\"session\",\"user\":" : ",\"auth\":\"apikey\",\"user\":");
    if (p->user_id[0]) {
        buf_puts(b, "{\"id\":");
        buf_json_str(b, p->user_id);
        buf_puts(b, ",\"email\":");
        buf_json_str(b, p->email);
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"key_id\":");
    buf_json_str(b, p->key_id[0] ? p->key_id : NULL);
    if (p->kind == AUTH_SESSION) {
        buf_puts(b, ",\"csrf_token\":");
        buf_json_str(b, p->csrf_token);
    }
    buf_putc(b, '}');
}

/* ------------------------------------------------------- login, logout */

static void route_login(struct http_req *r)
{
    struct err e = {0};
    struct auth_login lg;
    int retry = 0;
    const char *email, *password, *tenant = NULL;
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (!(email = need_str(r, j, "email")) || !(password = need_str(r, j, "password")) ||
        opt_str(r, j, "tenant_id", &tenant) != 0)
        goto out;
    memset(&lg, 0, sizeof lg);
    if (auth_login(r->app->auth, email, password, tenant, r->ip, &lg, &retry, &e) != 0) {
        if (e.code == ERR_RATELIMIT) {
            char ra[24];
            snprintf(ra, sizeof ra, "%d", retry > 0 ? retry : 1);
            http__header(r, "Retry-After", ra);
            http__error(r, 429, "login_throttled", "too many failed logins; try again later");
        } else if (e.code == ERR_UNAUTHORIZED || e.code == ERR_NOTFOUND) {
            http__error(r, 401, "invalid_credentials", "wrong email or password");
        } else {
            http__error_from(r, &e);
        }
        goto out;
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "sb_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s", lg.token,
             (long long)r->app->cfg->session_ttl_s, r->app->cfg->cookie_secure ? "; Secure" : "");
    http__header(r, "Set-Cookie", cookie);
    http__json(r, 200);
    struct buf *b = &r->out;
    buf_puts(b, "{\"tenant_id\":");
    buf_json_str(b, lg.principal.tenant_id);
    buf_puts(b, ",\"user\":{\"id\":");
    buf_json_str(b, lg.principal.user_id);
    buf_puts(b, ",\"email\":");
    buf_json_str(b, lg.principal.email);
    buf_puts(b, "},\"role\":");
    buf_json_str(b, lg.principal.role);
    buf_puts(b, ",\"csrf_token\":");
    buf_json_str(b, lg.csrf_token);
    buf_puts(b, ",\"expires_at\":");
    buf_json_time(b, lg.expires_at);
    buf_putc(b, '}');
    sodium_memzero(&lg, sizeof lg);
out:
    cJSON_Delete(j);
}

static void route_logout(struct http_req *r)
{
    struct err e = {0};
    if (r->principal.kind == AUTH_SESSION && auth_logout(r->app->auth, &r->principal, r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__header(r, "Set-Cookie", r->app->cfg->cookie_secure
                                      ? "sb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
                                      : "sb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    no_content(r);
}

/* ------------------------------------------------------------ API keys */

struct list_ctx {
    struct buf *b;
    int n;
};

static int apikey_cb(void *ud, const struct store_apikey *k)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    auth_apikey_json(c->b, k, NULL);
    return 0;
}

static void route_apikeys_list(struct http_req *r)
{
    struct err e = {0};
    struct list_ctx c = {&r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (auth_apikey_list(r->app->auth, r->principal.tenant_id, apikey_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

static void route_apikeys_create(struct http_req *r)
{
    struct err e = {0};
    struct store_apikey k;
    char key[AUTH_APIKEY_MAX];
    const char *name = NULL, *role;
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (opt_str(r, j, "name", &name) != 0 || !(role = need_str(r, j, "role")))
        goto out;
    memset(&k, 0, sizeof k);
    if (auth_apikey_create(r->app->auth, r->principal.tenant_id, role, name ? name : "", &r->principal, r->ip,
                           &k, key, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 201);
    auth_apikey_json(&r->out, &k, key); /* the key is shown this once */
    sodium_memzero(key, sizeof key);
out:
    cJSON_Delete(j);
}

static void route_apikeys_revoke(struct http_req *r)
{
    struct err e = {0};
    if (auth_apikey_revoke(r->app->auth, r->principal.tenant_id, http__param(r, "id"), &r->principal, r->ip,
                           &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    no_content(r);
}

/* --------------------------------------------------------------- users */

static int member_cb(void *ud, const struct store_member *m)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    auth_member_json(c->b, m);
    return 0;
}

static void route_users_list(struct http_req *r)
{
    struct err e = {0};
    struct list_ctx c = {&r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (auth_user_list(r->app->auth, r->principal.tenant_id, member_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

static void route_users_create(struct http_req *r)
{
    struct err e = {0};
    struct store_member m;
    const char *email, *name = NULL, *role, *password;
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (!(email = need_str(r, j, "email")) || opt_str(r, j, "name", &name) != 0 ||
        !(role = need_str(r, j, "role")) || !(password = need_str(r, j, "password")))
        goto out;
    memset(&m, 0, sizeof m);
    if (auth_user_create(r->app->auth, r->principal.tenant_id, email, name ? name : "", role, password,
                         &r->principal, r->ip, &m, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 201);
    auth_member_json(&r->out, &m);
out:
    cJSON_Delete(j);
}

static void route_users_update(struct http_req *r)
{
    struct err e = {0};
    struct store_member m;
    const char *role, *id = http__param(r, "id");
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (!(role = need_str(r, j, "role")))
        goto out;
    if (auth_user_set_role(r->app->auth, r->principal.tenant_id, id, role, &r->principal, r->ip, &e) != 0 ||
        auth_user_get(r->app->auth, r->principal.tenant_id, id, &m, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 200);
    auth_member_json(&r->out, &m);
out:
    cJSON_Delete(j);
}

static void route_users_delete(struct http_req *r)
{
    struct err e = {0};
    if (auth_user_remove(r->app->auth, r->principal.tenant_id, http__param(r, "id"), &r->principal, r->ip,
                         &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    no_content(r);
}

/* --------------------------------------------------------------- audit */

struct audit_ctx {
    struct buf *b;
    int n;
    int64_t last_seq;
};

static int audit_cb(void *ud, const struct store_audit *a)
{
    struct audit_ctx *c = ud;
    struct buf *b = c->b;
    if (c->n++)
        buf_putc(b, ',');
    c->last_seq = a->seq;
    buf_printf(b, "{\"seq\":%lld,\"at\":", (long long)a->seq);
    buf_json_time(b, a->at);
    buf_puts(b, ",\"actor_type\":");
    buf_json_str(b, a->actor_type);
    buf_puts(b, ",\"actor_id\":");
    buf_json_str(b, a->actor_id);
    buf_puts(b, ",\"action\":");
    buf_json_str(b, a->action);
    buf_puts(b, ",\"target\":");
    buf_json_str(b, a->target);
    buf_puts(b, ",\"ip\":");
    buf_json_str(b, a->ip);
    buf_puts(b, ",\"details\":");
    cJSON *d = a->details[0] ? cJSON_Parse(a->details) : NULL;
    if (cJSON_IsObject(d))
        buf_puts(b, a->details);
    else
        buf_puts(b, "null");
    cJSON_Delete(d);
    buf_puts(b, ",\"hash\":");
    buf_json_str(b, a->hash);
    buf_puts(b, ",\"prev_hash\":");
    buf_json_str(b, a->prev_hash);
    buf_putc(b, '}');
    return 0;
}

/* Query argument as a time (RFC 3339) or an integer; 400 when malformed. */
static int query_arg(struct http_req *r, const char *name, int is_time, int64_t *out)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    char msg[128];
    if (!v || !*v)
        return 0;
    if (is_time) {
        if (time_parse_iso(v, out) == 0)
            return 0;
        snprintf(msg, sizeof msg, "query parameter \"%s\" must be an RFC 3339 time", name);
    } else {
        char *end = NULL;
        long long n = strtoll(v, &end, 10);
        if (end != v && !*end && n >= 0) {
            *out = n;
            return 0;
        }
        snprintf(msg, sizeof msg, "query parameter \"%s\" must be a non-negative integer", name);
    }
    http__error(r, 400, "invalid_request", msg);
    return -1;
}

static void route_audit(struct http_req *r)
{
    struct err e = {0};
    int64_t from = 0, to = 0, limit = 100, before = 0;
    if (query_arg(r, "from", 1, &from) || query_arg(r, "to", 1, &to) || query_arg(r, "limit", 0, &limit) ||
        query_arg(r, "before", 0, &before))
        return;
    if (limit < 1 || limit > 500) {
        http__error(r, 400, "invalid_request", "query parameter \"limit\" must be 1..500");
        return;
    }
    struct audit_ctx c = {&r->out, 0, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (ops_audit_list(r->app->db, r->principal.tenant_id, from, to, before, (int)limit, audit_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "],\"next_before\":");
    if (c.n == limit && c.last_seq > 1)
        buf_printf(&r->out, "%lld", (long long)c.last_seq);
    else
        buf_puts(&r->out, "null");
    buf_putc(&r->out, '}');
}

/* -------------------------------------------------------- dead letters */

struct job_list {
    struct buf *b;
    int n;
};

static int dead_job_cb(void *ud, const struct store_job *j)
{
    struct job_list *l = ud;
    struct buf *b = l->b;
    if (l->n++)
        buf_putc(b, ',');
    /* The payload stays out: it may carry message bodies and addresses. */
    buf_puts(b, "{\"id\":");
    buf_json_str(b, j->id);
    buf_puts(b, ",\"type\":");
    buf_json_str(b, j->type);
    buf_printf(b, ",\"attempts\":%d,\"max_attempts\":%d,\"last_error\":", j->attempts, j->max_attempts);
    buf_json_str(b, j->last_error);
    buf_puts(b, ",\"idempotency_key\":");
    buf_json_str(b, j->idempotency_key[0] ? j->idempotency_key : NULL);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, j->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, j->updated_at);
    buf_putc(b, '}');
    return 0;
}

static void route_jobs_dead(struct http_req *r)
{
    struct err e = {0};
    struct job_list l = {&r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (queue_dead_list(r->app->db, r->principal.tenant_id, dead_job_cb, &l, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

static void route_jobs_retry(struct http_req *r)
{
    struct err e = {0};
    const char *id = http__param(r, "id");
    if (queue_dead_retry(r->app->db, r->principal.tenant_id, id, auth_actor_type(&r->principal),
                         auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"id\":");
    buf_json_str(&r->out, id);
    buf_puts(&r->out, ",\"state\":\"queued\"}");
}

static void route_jobs_discard(struct http_req *r)
{
    struct err e = {0};
    if (queue_dead_discard(r->app->db, r->principal.tenant_id, http__param(r, "id"),
                           auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    no_content(r);
}

/* ------------------------------------------- conversations, contacts */

static const char *query_str(struct http_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* limit and cursor query arguments into page; 400 when limit is malformed. */
static int page_args(struct http_req *r, struct crm_page *page)
{
    const char *v = query_str(r, "limit");
    memset(page, 0, sizeof(*page));
    page->cursor = query_str(r, "cursor");
    if (v) {
        char *end = NULL;
        long long n = strtoll(v, &end, 10);
        if (end == v || *end || n < 1 || n > CRM_LIMIT_MAX) {
            char msg[96];
            snprintf(msg, sizeof msg, "query parameter \"limit\" must be an integer 1..%d", CRM_LIMIT_MAX);
            http__error(r, 400, "invalid_limit", msg);
            return -1;
        }
        page->limit = (int)n;
    }
    return 0;
}

/* Close a {"data":[… list with its next_cursor (null on the last page). */
static void page_end(struct http_req *r, const struct crm_page *page)
{
    buf_puts(&r->out, "],\"next_cursor\":");
    buf_json_str(&r->out, page->next_cursor[0] ? page->next_cursor : NULL);
    buf_putc(&r->out, '}');
}

static int conversation_cb(void *ud, const struct store_conversation *cv)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_conversation_json(c->b, cv, NULL);
    return 0;
}

static void route_conversations_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct store_conversation_filter f = {query_str(r, "status"), query_str(r, "channel"),
                                          query_str(r, "assignee")};
    struct list_ctx c = {&r->out, 0};
    if (page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_conversation_list(r->app->db, r->principal.tenant_id, &f, &page, conversation_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    page_end(r, &page);
}

/* The conversation with its contact's identities (GET and PATCH answer so). */
struct conversation_detail {
    struct buf *b;
    const struct store_conversation *cv;
};

static int conversation_detail_cb(void *ud, const struct store_contact *k)
{
    struct conversation_detail *d = ud;
    crm_conversation_json(d->b, d->cv, k);
    return 0;
}

static void conversation_detail(struct http_req *r, const struct store_conversation *cv)
{
    struct err e = {0};
    struct conversation_detail d = {&r->out, cv};
    http__json(r, 200);
    if (crm_contact_get(r->app->db, r->principal.tenant_id, cv->contact_id, conversation_detail_cb, &d, &e) != 0)
        http__error_from(r, &e);
}

static void route_conversations_get(struct http_req *r)
{
    struct err e = {0};
    struct store_conversation cv;
    if (crm_conversation_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), &cv, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    conversation_detail(r, &cv);
}

static void route_conversations_update(struct http_req *r)
{
    struct err e = {0};
    struct store_conversation cv;
    struct crm_conversation_patch p = {0};
    const cJSON *a;
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (opt_str(r, j, "status", &p.status) != 0)
        goto out;
    a = cJSON_GetObjectItemCaseSensitive(j, "assignee_id");
    if (a) {
        if (!cJSON_IsNull(a) && !cJSON_IsString(a)) {
            http__error(r, 400, "invalid_request", "field \"assignee_id\" must be a user id or null");
            goto out;
        }
        p.set_assignee = 1;
        p.assignee_id = cJSON_IsString(a) ? a->valuestring : NULL;
    }
    if (crm_conversation_update(r->app->db, r->principal.tenant_id, http__param(r, "id"), &p,
                                auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &cv, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    conversation_detail(r, &cv);
out:
    cJSON_Delete(j);
}

static int message_cb(void *ud, const struct store_message *m)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_message_json(c->b, m);
    return 0;
}

static void route_conversations_messages(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct list_ctx c = {&r->out, 0};
    if (page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_conversation_messages(r->app->db, r->principal.tenant_id, http__param(r, "id"), &page, message_cb, &c,
                                  &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    page_end(r, &page);
}

static int contact_cb(void *ud, const struct store_contact *k)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_contact_json(c->b, k);
    return 0;
}

static void route_contacts_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct list_ctx c = {&r->out, 0};
    if (page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_contact_list(r->app->db, r->principal.tenant_id, query_str(r, "q"), &page, contact_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    page_end(r, &page);
}

static void route_contacts_get(struct http_req *r)
{
    struct err e = {0};
    struct list_ctx c = {&r->out, 0};
    http__json(r, 200);
    if (crm_contact_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), contact_cb, &c, &e) != 0)
        http__error_from(r, &e);
}

/* ------------------------------------------------------------ channels */

#define CHANNEL_SETTINGS_MAX 32

struct channel_list {
    struct messaging *m;
    struct buf *b;
    int n;
};

static int channel_cb(void *ud, const struct messaging_account *a)
{
    struct channel_list *l = ud;
    if (l->n++)
        buf_putc(l->b, ',');
    messaging_account_json(l->m, l->b, a, NULL);
    return 0;
}

static void route_channels_list(struct http_req *r)
{
    struct err e = {0};
    struct channel_list l = {r->app->messaging, &r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (messaging_account_list(r->app->messaging, r->principal.tenant_id, channel_cb, &l, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

static void route_channels_create(struct http_req *r)
{
    struct err e = {0};
    struct messaging_account a;
    struct messaging_sync_report sync;
    struct channel_kv kv[CHANNEL_SETTINGS_MAX];
    size_t n = 0;
    const char *provider, *name = NULL;
    cJSON *j = body_object(r);
    if (!j)
        return;
    if (!(provider = need_str(r, j, "provider")) || opt_str(r, j, "name", &name) != 0)
        goto out;
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(j, "settings"), *it;
    if (!cJSON_IsObject(settings)) {
        http__error(r, 400, "invalid_request", "field \"settings\" is required and must be an object of strings");
        goto out;
    }
    cJSON_ArrayForEach(it, settings) {
        if (!cJSON_IsString(it) || n == CHANNEL_SETTINGS_MAX) {
            http__error(r, 400, "invalid_request",
                        n == CHANNEL_SETTINGS_MAX ? "too many settings" : "every setting must be a string");
            goto out;
        }
        kv[n].name = it->string;
        kv[n].value = it->valuestring;
        n++;
    }
    if (messaging_account_create(r->app->messaging, r->principal.tenant_id, provider, name, kv, n,
                                 auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &a, &sync,
                                 &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 201);
    messaging_account_json(r->app->messaging, &r->out, &a, &sync);
out:
    /* The body held credentials: wipe them before the arena's buffer goes. */
    if (j) {
        settings = cJSON_GetObjectItemCaseSensitive(j, "settings");
        cJSON_ArrayForEach(it, (cJSON_IsObject(settings) ? settings : NULL)) {
            if (cJSON_IsString(it) && it->valuestring)
                sodium_memzero(it->valuestring, strlen(it->valuestring));
        }
    }
    sodium_memzero(r->body.data, r->body.len);
    cJSON_Delete(j);
}

static void route_channels_delete(struct http_req *r)
{
    struct err e = {0};
    if (messaging_account_remove(r->app->messaging, r->principal.tenant_id, http__param(r, "id"),
                                 auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    no_content(r);
}

static int template_cb(void *ud, const struct store_template *t)
{
    struct list_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    messaging_template_json(c->b, t);
    return 0;
}

/* {"synced": n (after a sync), "data": [templates]} */
static void templates_answer(struct http_req *r, int synced)
{
    struct err e = {0};
    struct list_ctx c = {&r->out, 0};
    http__json(r, 200);
    buf_putc(&r->out, '{');
    if (synced >= 0)
        buf_printf(&r->out, "\"synced\":%d,", synced);
    buf_puts(&r->out, "\"data\":[");
    if (messaging_template_list(r->app->messaging, r->principal.tenant_id, http__param(r, "id"), template_cb, &c,
                                &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

static void route_templates_list(struct http_req *r)
{
    templates_answer(r, -1);
}

static void route_templates_sync(struct http_req *r)
{
    struct err e = {0};
    int n = 0;
    if (messaging_template_sync(r->app->messaging, r->principal.tenant_id, http__param(r, "id"), &n, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    templates_answer(r, n);
}

/* ------------------------------------------------------------ settings */

static void route_settings_get(struct http_req *r)
{
    struct err e = {0};
    http__json(r, 200);
    if (messaging_settings_json(r->app->messaging, r->principal.tenant_id, &r->out, &e) != 0)
        http__error_from(r, &e);
}

/* Every member is checked before any is stored: a bad one changes nothing. */
static void route_settings_patch(struct http_req *r)
{
    struct err e = {0};
    const cJSON *it;
    cJSON *j = body_object(r);
    if (!j)
        return;
    cJSON_ArrayForEach(it, j) {
        if (!cJSON_IsString(it) && !cJSON_IsNull(it)) {
            char msg[128];
            snprintf(msg, sizeof msg, "setting \"%.64s\" must be a string, or null for the default", it->string);
            http__error(r, 400, "invalid_request", msg);
            goto out;
        }
        if (messaging_setting_check(it->string, cJSON_IsString(it) ? it->valuestring : NULL, &e) != 0) {
            http__error_from(r, &e);
            goto out;
        }
    }
    cJSON_ArrayForEach(it, j) {
        if (messaging_setting_set(r->app->messaging, r->principal.tenant_id, it->string,
                                  cJSON_IsString(it) ? it->valuestring : NULL, auth_actor_type(&r->principal),
                                  auth_actor_id(&r->principal), r->ip, &e) != 0) {
            http__error_from(r, &e);
            goto out;
        }
    }
    route_settings_get(r);
out:
    cJSON_Delete(j);
}

/* ----------------------------------------------------- security events */

struct security_ctx {
    struct buf *b;
    int n;
    int64_t last_id;
};

static int security_cb(void *ud, const struct store_security_event *ev)
{
    struct security_ctx *c = ud;
    struct buf *b = c->b;
    if (c->n++)
        buf_putc(b, ',');
    c->last_id = ev->id;
    buf_printf(b, "{\"id\":%lld,\"at\":", (long long)ev->id);
    buf_json_time(b, ev->at);
    buf_puts(b, ",\"kind\":");
    buf_json_str(b, ev->kind);
    buf_puts(b, ",\"provider\":");
    buf_json_str(b, ev->provider);
    buf_puts(b, ",\"account_id\":");
    buf_json_str(b, ev->account_id[0] ? ev->account_id : NULL);
    buf_puts(b, ",\"ip\":");
    buf_json_str(b, ev->ip);
    buf_puts(b, ",\"reason\":");
    buf_json_str(b, ev->reason);
    buf_putc(b, '}');
    return 0;
}

static void route_security_events(struct http_req *r)
{
    struct err e = {0};
    int64_t limit = 100, before = 0;
    if (query_arg(r, "limit", 0, &limit) || query_arg(r, "before", 0, &before))
        return;
    if (limit < 1 || limit > 500) {
        http__error(r, 400, "invalid_request", "query parameter \"limit\" must be 1..500");
        return;
    }
    struct security_ctx c = {&r->out, 0, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (ops_security_list(r->app->db, r->principal.tenant_id, before, (int)limit, security_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "],\"next_before\":");
    if (c.n == limit && c.last_id > 1)
        buf_printf(&r->out, "%lld", (long long)c.last_id);
    else
        buf_puts(&r->out, "null");
    buf_putc(&r->out, '}');
}

/* ------------------------------------------------------------- webhooks */

/* The webhook pipeline answers later (after the group commit) or at once;
 * either way through the deferred response, from whichever thread. */
static void webhook_done(void *ud, const struct webhook_response *resp)
{
    struct http_defer *d = ud;
    if (resp->error_code)
        http__complete_error(d, resp->status, resp->error_code, resp->message);
    else
        http__complete(d, resp->status, resp->content_type, resp->body, resp->body_len);
}

struct header_list {
    struct arena *a;
    struct channel_kv *kv;
    size_t n, cap;
};

static enum MHD_Result header_collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_list *h = cls;
    (void)kind;
    if (h->n == h->cap)
        return MHD_NO;
    char *name = arena_strdup(h->a, key);
    for (char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    h->kv[h->n].name = name;
    h->kv[h->n].value = value ? value : "";
    h->n++;
    return MHD_YES;
}

static void route_webhook(struct http_req *r)
{
    struct webhook_request req;
    struct header_list h = {r->arena, NULL, 0, 0};
    struct http_defer *d;

    if (!r->app->webhook) {
        http__error(r, 503, "unavailable", "webhook ingestion is not running");
        return;
    }
    d = http__defer(r);
    if (!d) {
        http__error(r, 503, "shutting_down", "the server is shutting down; retry");
        return;
    }
    h.cap = (size_t)MHD_get_connection_values(r->conn, MHD_HEADER_KIND, NULL, NULL);
    h.kv = arena_alloc(r->arena, (h.cap ? h.cap : 1) * sizeof *h.kv);
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_collect, &h);
    memset(&req, 0, sizeof req);
    req.method = r->method;
    req.provider = http__param(r, "provider");
    req.account_key = http__param(r, "account_key");
    req.target = r->target;
    req.body = r->body.data ? r->body.data : "";
    req.body_len = r->body.len;
    req.headers = h.kv;
    req.nheaders = h.n;
    req.ip = r->ip;
    req.request_id = r->request_id;
    webhook_handle(r->app->webhook, &req, webhook_done, d);
}

/* ------------------------------------------------------------ messages */

/* The outbound API answers after the group commit: 202 with the queued
 * message, or 200 with the first message when the Idempotency-Key was
 * used before (nothing new was queued). */
static void message_queued(void *ud, int rc, const struct err *e, const char *json, int replayed)
{
    struct http_defer *d = ud;
    int status;

    if (rc == 0) {
        http__complete(d, replayed ? 200 : 202, "application/json", json, strlen(json));
        return;
    }
    status = http__status_for(e->code);
    if (status >= 500 && status != 503) {
        log_write(LOG_ERROR, NULL, NULL, "outbound message not queued: %s", e->msg);
        http__complete_error(d, status, "internal", "internal error");
        return;
    }
    http__complete_error(d, status, err_slug(e), e->msg[0] ? e->msg : err_slug(e));
}

#define MESSAGE_MAX_LIST 32

/* A JSON array of strings into out (at most max); 400 naming field otherwise. */
static int string_array(struct http_req *r, const cJSON *j, const char *field, const char **out, size_t max,
                        size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field), *it;
    char msg[128];

    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v) {
            if (!cJSON_IsString(it) || *n == max)
                break;
            out[(*n)++] = it->valuestring;
        }
        if (!it)
            return 0;
    }
    snprintf(msg, sizeof msg, "field \"%s\" must be an array of at most %zu strings", field, max);
    http__error(r, 400, "invalid_request", msg);
    return -1;
}

static void route_messages_send(struct http_req *r)
{
    struct messaging_send_request req;
    const char *media[MESSAGE_MAX_LIST], *vars[MESSAGE_MAX_LIST];
    struct http_defer *d;
    struct err e = {0};
    cJSON *j = body_object(r);

    if (!j)
        return;
    memset(&req, 0, sizeof req);
    req.media_urls = media;
    req.template_vars = vars;
    if (opt_str(r, j, "account_id", &req.account_id) || opt_str(r, j, "to", &req.to) ||
        opt_str(r, j, "contact_id", &req.contact_id) || opt_str(r, j, "text", &req.text) ||
        string_array(r, j, "media_urls", media, MESSAGE_MAX_LIST, &req.nmedia))
        goto out;
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(j, "template");
    if (tpl && !cJSON_IsNull(tpl)) {
        if (!cJSON_IsObject(tpl) || !(req.template_name = need_str(r, tpl, "name")) ||
            opt_str(r, tpl, "language", &req.template_language) ||
            string_array(r, tpl, "variables", vars, MESSAGE_MAX_LIST, &req.ntemplate_vars)) {
            if (!r->out.len)
                http__error(r, 400, "invalid_request", "field \"template\" must be an object with a name");
            goto out;
        }
    }
    req.idempotency_key = http__req_header(r, "Idempotency-Key");
    d = http__defer(r);
    if (!d) {
        http__error(r, 503, "shutting_down", "the server is shutting down; retry");
        goto out;
    }
    /* The request (and j) outlive the deferral: messaging copies what it keeps. */
    if (messaging_send(r->app->messaging, r->principal.tenant_id, &req, message_queued, d, &e) != 0)
        message_queued(d, e.code ? e.code : ERR_INTERNAL, &e, NULL, 0);
out:
    cJSON_Delete(j);
}

static int message_json_cb(void *ud, const struct store_message *m)
{
    crm_message_json(ud, m);
    return 0;
}

static void route_messages_get(struct http_req *r)
{
    struct err e = {0};
    http__json(r, 200);
    if (crm_message_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), message_json_cb, &r->out, &e) != 0)
        http__error_from(r, &e);
}

/* ---------------------------------------------------------- the table */

const struct http_route http__routes[] = {
    {"GET", "/healthz", route_healthz, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/readyz", route_readyz, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/metrics", route_metrics, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/api/v1/openapi.json", route_openapi, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/api/v1/me", route_me, "me.read", 0},
    {"POST", "/api/v1/auth/login", route_login, NULL, HTTP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/logout", route_logout, NULL, 0},
    {"GET", "/api/v1/apikeys", route_apikeys_list, "apikeys.list", 0},
    {"POST", "/api/v1/apikeys", route_apikeys_create, "apikeys.create", 0},
    {"DELETE", "/api/v1/apikeys/{id}", route_apikeys_revoke, "apikeys.revoke", 0},
    {"GET", "/api/v1/users", route_users_list, "users.list", 0},
    {"POST", "/api/v1/users", route_users_create, "users.create", 0},
    {"PATCH", "/api/v1/users/{id}", route_users_update, "users.update", 0},
    {"DELETE", "/api/v1/users/{id}", route_users_delete, "users.delete", 0},
    {"GET", "/api/v1/audit", route_audit, "audit.read", 0},
    {"GET", "/api/v1/events", http__ws_upgrade, "events.subscribe", HTTP_ROUTE_WEBSOCKET},
    {"GET", "/api/v1/jobs/dead", route_jobs_dead, "jobs.read", 0},
    {"POST", "/api/v1/jobs/{id}/retry", route_jobs_retry, "jobs.retry", 0},
    {"DELETE", "/api/v1/jobs/{id}", route_jobs_discard, "jobs.discard", 0},
    {"GET", "/api/v1/conversations", route_conversations_list, "conversations.read", 0},
    {"GET", "/api/v1/conversations/{id}", route_conversations_get, "conversations.read", 0},
    {"PATCH", "/api/v1/conversations/{id}", route_conversations_update, "conversations.update", 0},
    {"GET", "/api/v1/conversations/{id}/messages", route_conversations_messages, "conversations.read", 0},
    {"GET", "/api/v1/contacts", route_contacts_list, "contacts.read", 0},
    {"GET", "/api/v1/contacts/{id}", route_contacts_get, "contacts.read", 0},
    {"GET", "/api/v1/channels", route_channels_list, "channels.list", 0},
    {"POST", "/api/v1/channels", route_channels_create, "channels.create", 0},
    {"DELETE", "/api/v1/channels/{id}", route_channels_delete, "channels.delete", 0},
    {"GET", "/api/v1/channels/{id}/templates", route_templates_list, "templates.list", 0},
    {"POST", "/api/v1/channels/{id}/templates/sync", route_templates_sync, "templates.sync", 0},
    {"GET", "/api/v1/settings", route_settings_get, "settings.read", 0},
    {"PATCH", "/api/v1/settings", route_settings_patch, "settings.update", 0},
    {"POST", "/api/v1/messages", route_messages_send, "messages.send", 0},
    {"GET", "/api/v1/messages/{id}", route_messages_get, "conversations.read", 0},
    {"GET", "/api/v1/security-events", route_security_events, "security.read", 0},
    {"GET", "/webhooks/{provider}/{account_key}", route_webhook, NULL, HTTP_ROUTE_PUBLIC},
    {"POST", "/webhooks/{provider}/{account_key}", route_webhook, NULL, HTTP_ROUTE_PUBLIC},
    {NULL, NULL, NULL, NULL, 0},
};
