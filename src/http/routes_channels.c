/*
 * routes_channels: channel accounts, their provider templates, the tenant's
 * messaging settings, and the provider webhooks (/webhooks/{provider}/
 * {account_key}, public: the provider's signature authenticates them),
 * which answer after the group commit through a deferred response.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http_int.h"

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

void http__route_channels_list(struct http_req *r)
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

void http__route_channels_create(struct http_req *r)
{
    struct err e = {0};
    struct messaging_account a;
    struct messaging_sync_report sync;
    struct channel_kv kv[CHANNEL_SETTINGS_MAX];
    size_t n = 0;
    const char *provider, *name = NULL;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(provider = http__need_str(r, j, "provider")) || http__opt_str(r, j, "name", &name) != 0)
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

void http__route_channels_delete(struct http_req *r)
{
    struct err e = {0};
    if (messaging_account_remove(r->app->messaging, r->principal.tenant_id, http__param(r, "id"),
                                 auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
}

/* 200 whatever the provider said: {ok, provider, detail, code?}. */
void http__route_channels_test(struct http_req *r)
{
    struct err e = {0};
    struct channel_test_result t;
    const struct messaging_account_ref *ref = NULL;
    char provider[32] = "";

    if (messaging_account_get(r->app->messaging, r->principal.tenant_id, http__param(r, "id"), &ref, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    snprintf(provider, sizeof(provider), "%s", ref->acct.provider);
    messaging_account_release(ref);
    if (messaging_account_test(r->app->messaging, r->principal.tenant_id, http__param(r, "id"),
                               auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &t, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__json(r, 200);
    buf_printf(&r->out, "{\"ok\":%s,\"provider\":", t.ok ? "true" : "false");
    buf_json_str(&r->out, provider);
    buf_puts(&r->out, ",\"detail\":");
    buf_json_str(&r->out, t.detail);
    if (t.code[0]) {
        buf_puts(&r->out, ",\"code\":");
        buf_json_str(&r->out, t.code);
    }
    buf_putc(&r->out, '}');
}

static int template_cb(void *ud, const struct store_template *t, const struct store_template_version *v)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    messaging_template_json(c->b, t, v);
    return 0;
}

/* {"synced": n (after a sync), "data": [templates]} */
static void templates_answer(struct http_req *r, int synced)
{
    struct err e = {0};
    struct http__list c = {&r->out, 0};
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

void http__route_templates_list(struct http_req *r)
{
    templates_answer(r, -1);
}

void http__route_templates_sync(struct http_req *r)
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

void http__route_settings_get(struct http_req *r)
{
    struct err e = {0};
    http__json(r, 200);
    if (messaging_settings_json(r->app->messaging, r->principal.tenant_id, &r->out, &e) != 0)
        http__error_from(r, &e);
}

/* Every member is checked before any is stored: a bad one changes nothing. */
void http__route_settings_patch(struct http_req *r)
{
    struct err e = {0};
    const cJSON *it;
    cJSON *j = http__body_object(r);
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
    http__route_settings_get(r);
out:
    cJSON_Delete(j);
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

void http__route_webhook(struct http_req *r)
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

