/*
 * routes_admin: the tenant's administration API: API keys, users and their
 * roles, the audit log, dead-letter jobs and security events. Each handler
 * calls its domain module (auth, ops, queue) with the principal's tenant.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http_int.h"

/* ------------------------------------------------------------ API keys */


static int apikey_cb(void *ud, const struct store_apikey *k)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    auth_apikey_json(c->b, k, NULL);
    return 0;
}

void http__route_apikeys_list(struct http_req *r)
{
    struct err e = {0};
    struct http__list c = {&r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (auth_apikey_list(r->app->auth, r->principal.tenant_id, apikey_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

void http__route_apikeys_create(struct http_req *r)
{
    struct err e = {0};
    struct store_apikey k;
    char key[AUTH_APIKEY_MAX];
    const char *name = NULL, *role;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (http__opt_str(r, j, "name", &name) != 0 || !(role = http__need_str(r, j, "role")))
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

void http__route_apikeys_revoke(struct http_req *r)
{
    struct err e = {0};
    if (auth_apikey_revoke(r->app->auth, r->principal.tenant_id, http__param(r, "id"), &r->principal, r->ip,
                           &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
}

/* --------------------------------------------------------------- users */

static int member_cb(void *ud, const struct store_member *m)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    auth_member_json(c->b, m);
    return 0;
}

void http__route_users_list(struct http_req *r)
{
    struct err e = {0};
    struct http__list c = {&r->out, 0};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (auth_user_list(r->app->auth, r->principal.tenant_id, member_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

void http__route_users_create(struct http_req *r)
{
    struct err e = {0};
    struct store_member m;
    const char *email, *name = NULL, *role, *password;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(email = http__need_str(r, j, "email")) || http__opt_str(r, j, "name", &name) != 0 ||
        !(role = http__need_str(r, j, "role")) || !(password = http__need_str(r, j, "password")))
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

void http__route_users_update(struct http_req *r)
{
    struct err e = {0};
    struct store_member m;
    const char *role, *id = http__param(r, "id");
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(role = http__need_str(r, j, "role")))
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

void http__route_users_delete(struct http_req *r)
{
    struct err e = {0};
    if (auth_user_remove(r->app->auth, r->principal.tenant_id, http__param(r, "id"), &r->principal, r->ip,
                         &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
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

void http__route_audit(struct http_req *r)
{
    struct err e = {0};
    int64_t from = 0, to = 0, limit = 100, before = 0;
    if (http__query_arg(r, "from", 1, &from) || http__query_arg(r, "to", 1, &to) || http__query_arg(r, "limit", 0, &limit) ||
        http__query_arg(r, "before", 0, &before))
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

void http__route_jobs_dead(struct http_req *r)
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

void http__route_jobs_retry(struct http_req *r)
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

void http__route_jobs_discard(struct http_req *r)
{
    struct err e = {0};
    if (queue_dead_discard(r->app->db, r->principal.tenant_id, http__param(r, "id"),
                           auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
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

void http__route_security_events(struct http_req *r)
{
    struct err e = {0};
    int64_t limit = 100, before = 0;
    if (http__query_arg(r, "limit", 0, &limit) || http__query_arg(r, "before", 0, &before))
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

