/*
 * routes_assistant_config: the assistant's agent configuration
 * (/api/v1/assistant/config…): the current version, a partial update that
 * saves a new version (with the provider's API key sealed beside it), the
 * list of versions, one version, the diff of two and a rollback. Everyone
 * in the tenant may read (assistant.read); owners and admins change it
 * (assistant.config). The API key is write-only: no answer holds it, only
 * "api_key_set". The rules and the audit rows are the assistant module's.
 */
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"
#include "http/http_int.h"

static void actor(const struct http_req *r, struct assistant_actor *who)
{
    who->type = auth_actor_type(&r->principal);
    who->id = auth_actor_id(&r->principal);
    who->ip = r->ip;
}

/* {"version", "config", "note", "created_by", "created_at"}; doc is a
 * canonical document. */
static void answer_version(struct http_req *r, const char *doc, const struct assistant_config_version *v)
{
    http__json(r, 200);
    buf_printf(&r->out, "{\"version\":%lld,\"config\":", (long long)v->version);
    buf_puts(&r->out, doc);
    buf_puts(&r->out, ",\"note\":");
    buf_json_str(&r->out, v->note);
    buf_puts(&r->out, ",\"created_by\":");
    buf_json_str(&r->out, v->created_by);
    buf_puts(&r->out, ",\"created_at\":");
    buf_json_time(&r->out, v->created_at);
    buf_putc(&r->out, '}');
}

/* Answer with one version as GET config does. */
static void answer_stored(struct http_req *r, int64_t version)
{
    struct err e = {0};
    struct assistant_config_version v;
    char *doc = NULL;
    if (assistant_config_get_version(r->app->db, r->principal.tenant_id, version, &doc, &v, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    answer_version(r, doc, &v);
    free(doc);
}

/* The {version} path parameter; -1 after answering 404. */
static int64_t path_version(struct http_req *r)
{
    const char *s = http__param(r, "version");
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 15 || strspn(s, "0123456789") != n) {
        http__error(r, 404, "not_found", "agent configuration version not found");
        return -1;
    }
    return strtoll(s, NULL, 10);
}

void http__route_assistant_config_get(struct http_req *r)
{
    struct err e = {0};
    struct assistant_config c;
    struct assistant_config_version v;
    struct buf doc = {0};

    if (assistant_config_current(r->app->db, r->principal.tenant_id, &c, &v, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    assistant_config_json(&c, &doc);
    answer_version(r, doc.data, &v);
    buf_free(&doc);
    assistant_config_free(&c);
}

void http__route_assistant_config_put(struct http_req *r)
{
    struct err e = {0};
    struct assistant_actor who;
    const char *api_key = NULL, *note = NULL;
    char *doc = NULL;
    int64_t version = 0;
    const cJSON *it;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    cJSON_ArrayForEach(it, j)
    {
        if (strcmp(it->string, "config") != 0 && strcmp(it->string, "api_key") != 0 &&
            strcmp(it->string, "note") != 0) {
            http__error(r, 400, "invalid_request", "the body has config, api_key and note only");
            goto out;
        }
    }
    if (http__opt_str(r, j, "api_key", &api_key) || http__opt_str(r, j, "note", &note))
        goto out;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    if (cfg && !cJSON_IsObject(cfg)) {
        http__error(r, 400, "invalid_config", "config: must be an object");
        goto out;
    }
    doc = cfg ? json_print(cfg) : strdup("{}");
    if (!doc) {
        http__error(r, 500, "internal", "internal error");
        goto out;
    }
    actor(r, &who);
    if (assistant_config_save(r->app->db, r->app->keys, r->principal.tenant_id, doc, strlen(doc), api_key, note, &who,
                              &version, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer_stored(r, version);
out:
    free(doc);
    cJSON_Delete(j);
}

static int version_cb(void *ud, const struct assistant_config_version *v)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    buf_printf(c->b, "{\"version\":%lld,\"note\":", (long long)v->version);
    buf_json_str(c->b, v->note);
    buf_puts(c->b, ",\"created_by\":");
    buf_json_str(c->b, v->created_by);
    buf_puts(c->b, ",\"created_at\":");
    buf_json_time(c->b, v->created_at);
    buf_putc(c->b, '}');
    return 0;
}

void http__route_assistant_config_versions(struct http_req *r)
{
    struct err e = {0};
    int64_t limit = 50;
    struct http__list c = {&r->out, 0};

    if (http__query_arg(r, "limit", 0, &limit) != 0)
        return;
    if (limit < 1 || limit > 200) {
        http__error(r, 400, "invalid_request", "limit must be 1 to 200");
        return;
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (assistant_config_versions(r->app->db, r->principal.tenant_id, (int)limit, version_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

void http__route_assistant_config_version(struct http_req *r)
{
    int64_t version = path_version(r);
    if (version >= 0)
        answer_stored(r, version);
}

void http__route_assistant_config_diff(struct http_req *r)
{
    struct err e = {0};
    int64_t from = -1, to = -1;
    char *a = NULL, *b = NULL;
    struct buf changes = {0};

    if (http__query_arg(r, "from", 0, &from) != 0 || http__query_arg(r, "to", 0, &to) != 0)
        return;
    if (from < 0 || to < 0) {
        http__error(r, 400, "invalid_request", "from and to (version numbers) are required");
        return;
    }
    if (assistant_config_get_version(r->app->db, r->principal.tenant_id, from, &a, NULL, &e) != 0 ||
        assistant_config_get_version(r->app->db, r->principal.tenant_id, to, &b, NULL, &e) != 0 ||
        assistant_config_diff(a, b, &changes, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 200);
    buf_printf(&r->out, "{\"from\":%lld,\"to\":%lld,\"changes\":", (long long)from, (long long)to);
    buf_append(&r->out, changes.data, changes.len);
    buf_putc(&r->out, '}');
out:
    buf_free(&changes);
    free(a);
    free(b);
}

void http__route_assistant_config_rollback(struct http_req *r)
{
    struct err e = {0};
    struct assistant_actor who;
    int64_t version = path_version(r), created = 0;

    if (version < 0)
        return;
    actor(r, &who);
    if (assistant_config_rollback(r->app->db, r->principal.tenant_id, version, &who, &created, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    answer_stored(r, created);
}
