/*
 * routes: the route table, the helpers every handler shares (JSON bodies,
 * query arguments, list pages) and the routes of the server itself (health,
 * readiness, metrics, the OpenAPI document, who am I, login and logout).
 * The handlers of the API's areas are in routes_admin.c (keys, users,
 * audit, dead letters, security events), routes_inbox.c (conversations,
 * messages), routes_contacts.c (contacts, reachability, send preflight),
 * routes_channels.c (channel accounts, their provider
 * templates, settings, webhooks), routes_templates.c (templates and
 * their approval workflow), routes_kb.c (the assistant's knowledge base) and
 * routes_assistant_config.c (the assistant's versioned configuration).
 *
 * Handlers run after the middleware chain: the principal is resolved and the
 * route's action is allowed. They call domain modules (auth, ops, queue,
 * crm, messaging, webhook); the tenant always comes from the principal,
 * never from the request, which is what keeps one tenant's credentials away
 * from another tenant's data; routes never call the store for tenant data
 * (DESIGN.md section 3).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http_int.h"

/* --------------------------------------------------------------- helpers */

/* Parse the body as a JSON object; on failure answer 400 and return NULL. */
cJSON *http__body_object(struct http_req *r)
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
const char *http__need_str(struct http_req *r, const cJSON *j, const char *name)
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
int http__opt_str(struct http_req *r, const cJSON *j, const char *name, const char **out)
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

void http__no_content(struct http_req *r)
{
    r->status = 204;
    r->content_type = NULL;
    buf_reset(&r->out);
}

/* Query argument as a time (RFC 3339) or an integer; 400 when malformed. */
int http__query_arg(struct http_req *r, const char *name, int is_time, int64_t *out)
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

const char *http__query_str(struct http_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* limit and cursor query arguments into page; 400 when limit is malformed. */
int http__page_args(struct http_req *r, struct crm_page *page)
{
    const char *v = http__query_str(r, "limit");
    memset(page, 0, sizeof(*page));
    page->cursor = http__query_str(r, "cursor");
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
void http__page_end(struct http_req *r, const struct crm_page *page)
{
    buf_puts(&r->out, "],\"next_cursor\":");
    buf_json_str(&r->out, page->next_cursor[0] ? page->next_cursor : NULL);
    buf_putc(&r->out, '}');
}

/* ------------------------------------------------------- public routes */

void http__route_healthz(struct http_req *r)
{
    http__json(r, 200);
    buf_puts(&r->out, "{\"status\":\"ok\"}");
}

void http__route_readyz(struct http_req *r)
{
    struct buf q = {0};
    int ok = queue_health(r->app->queue, r->app->db, &q);
    http__json(r, 200);
    if (ops_ready(r->app->db, q.data, ok, &r->out) != 0)
        r->status = 503;
    buf_free(&q);
}

void http__route_metrics(struct http_req *r)
{
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    buf_reset(&r->out);
    ops_metrics_render(r->app->metrics, r->app->db, &r->out);
    queue_metrics_render(r->app->queue, r->app->db, &r->out);
    if (r->app->webhook)
        webhook_metrics(r->app->webhook, &r->out);
}

void http__route_openapi(struct http_req *r)
{
    http__json(r, 200);
    buf_puts(&r->out, http_openapi_json());
}

/* ------------------------------------------------------------------ me */

void http__route_me(struct http_req *r)
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

void http__route_login(struct http_req *r)
{
    struct err e = {0};
    struct auth_login lg;
    int retry = 0;
    const char *email, *password, *tenant = NULL;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (!(email = http__need_str(r, j, "email")) || !(password = http__need_str(r, j, "password")) ||
        http__opt_str(r, j, "tenant_id", &tenant) != 0)
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

void http__route_logout(struct http_req *r)
{
    struct err e = {0};
    if (r->principal.kind == AUTH_SESSION && auth_logout(r->app->auth, &r->principal, r->ip, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__header(r, "Set-Cookie", r->app->cfg->cookie_secure
                                      ? "sb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
                                      : "sb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    http__no_content(r);
}

/* ---------------------------------------------------------- the table */

const struct http_route http__routes[] = {
    {"GET", "/healthz", http__route_healthz, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/readyz", http__route_readyz, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/metrics", http__route_metrics, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/api/v1/openapi.json", http__route_openapi, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/api/v1/me", http__route_me, "me.read", 0},
    {"POST", "/api/v1/auth/login", http__route_login, NULL, HTTP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/logout", http__route_logout, NULL, 0},
    {"GET", "/api/v1/apikeys", http__route_apikeys_list, "apikeys.list", 0},
    {"POST", "/api/v1/apikeys", http__route_apikeys_create, "apikeys.create", 0},
    {"DELETE", "/api/v1/apikeys/{id}", http__route_apikeys_revoke, "apikeys.revoke", 0},
    {"GET", "/api/v1/users", http__route_users_list, "users.list", 0},
    {"POST", "/api/v1/users", http__route_users_create, "users.create", 0},
    {"PATCH", "/api/v1/users/{id}", http__route_users_update, "users.update", 0},
    {"DELETE", "/api/v1/users/{id}", http__route_users_delete, "users.delete", 0},
    {"GET", "/api/v1/audit", http__route_audit, "audit.read", 0},
    {"GET", "/api/v1/events", http__ws_upgrade, "events.subscribe", HTTP_ROUTE_WEBSOCKET},
    {"GET", "/api/v1/jobs/dead", http__route_jobs_dead, "jobs.read", 0},
    {"POST", "/api/v1/jobs/{id}/retry", http__route_jobs_retry, "jobs.retry", 0},
    {"DELETE", "/api/v1/jobs/{id}", http__route_jobs_discard, "jobs.discard", 0},
    {"GET", "/api/v1/conversations", http__route_conversations_list, "conversations.read", 0},
    {"GET", "/api/v1/conversations/{id}", http__route_conversations_get, "conversations.read", 0},
    {"PATCH", "/api/v1/conversations/{id}", http__route_conversations_update, "conversations.update", 0},
    {"GET", "/api/v1/conversations/{id}/messages", http__route_conversations_messages, "conversations.read", 0},
    {"POST", "/api/v1/conversations/{id}/read", http__route_conversations_read, "conversations.update", 0},
    {"GET", "/api/v1/contacts", http__route_contacts_list, "contacts.read", 0},
    {"POST", "/api/v1/contacts", http__route_contacts_create, "contacts.create", 0},
    {"GET", "/api/v1/contacts/{id}", http__route_contacts_get, "contacts.read", 0},
    {"PATCH", "/api/v1/contacts/{id}", http__route_contacts_update, "contacts.update", 0},
    {"POST", "/api/v1/contacts/{id}/merge", http__route_contacts_merge, "contacts.merge", 0},
    {"GET", "/api/v1/channels", http__route_channels_list, "channels.list", 0},
    {"POST", "/api/v1/channels", http__route_channels_create, "channels.create", 0},
    {"DELETE", "/api/v1/channels/{id}", http__route_channels_delete, "channels.delete", 0},
    {"POST", "/api/v1/channels/{id}/test", http__route_channels_test, "channels.test", 0},
    {"GET", "/api/v1/channels/{id}/templates", http__route_templates_list, "templates.list", 0},
    {"POST", "/api/v1/channels/{id}/templates/sync", http__route_templates_sync, "templates.sync", 0},
    {"GET", "/api/v1/settings", http__route_settings_get, "settings.read", 0},
    {"PATCH", "/api/v1/settings", http__route_settings_patch, "settings.update", 0},
    {"POST", "/api/v1/messages", http__route_messages_send, "messages.send", 0},
    {"POST", "/api/v1/messages/preflight", http__route_messages_preflight, "messages.send", 0},
    {"GET", "/api/v1/messages/{id}", http__route_messages_get, "conversations.read", 0},
    {"GET", "/api/v1/security-events", http__route_security_events, "security.read", 0},
    {"GET", "/api/v1/monitoring/summary", http__route_monitoring_summary, "monitoring.read", 0},
    {"GET", "/api/v1/templates", http__route_tpl_list, "templates.list", 0},
    {"POST", "/api/v1/templates", http__route_tpl_create, "templates.create", 0},
    {"GET", "/api/v1/templates/{id}", http__route_tpl_get, "templates.list", 0},
    {"PATCH", "/api/v1/templates/{id}", http__route_tpl_update, "templates.update", 0},
    {"POST", "/api/v1/templates/{id}/submit", http__route_tpl_submit, "templates.submit", 0},
    {"POST", "/api/v1/templates/{id}/approve", http__route_tpl_approve, "templates.approve", 0},
    {"POST", "/api/v1/templates/{id}/reject", http__route_tpl_reject, "templates.approve", 0},
    {"GET", "/api/v1/templates/{id}/versions", http__route_tpl_versions, "templates.list", 0},
    {"POST", "/api/v1/templates/{id}/preview", http__route_tpl_preview, "templates.list", 0},
    /* the assistant's knowledge base (routes_kb.c) */
    {"GET", "/api/v1/kb/documents", http__route_kb_list, "kb.read", 0},
    {"POST", "/api/v1/kb/documents", http__route_kb_create, "kb.write", 0},
    {"GET", "/api/v1/kb/documents/{id}", http__route_kb_get, "kb.read", 0},
    {"PATCH", "/api/v1/kb/documents/{id}", http__route_kb_update, "kb.write", 0},
    {"DELETE", "/api/v1/kb/documents/{id}", http__route_kb_delete, "kb.write", 0},
    {"POST", "/api/v1/kb/import", http__route_kb_import, "kb.write", 0},
    {"GET", "/api/v1/kb/search", http__route_kb_search, "kb.read", 0},
    /* the assistant's drafts, pauses and analytics (routes_assistant.c) */
    {"GET", "/api/v1/assistant/drafts", http__route_assistant_drafts, "assistant.read", 0},
    {"GET", "/api/v1/assistant/drafts/{id}", http__route_assistant_draft_get, "assistant.read", 0},
    {"POST", "/api/v1/assistant/drafts/{id}/approve", http__route_assistant_draft_approve, "assistant.drafts", 0},
    {"POST", "/api/v1/assistant/drafts/{id}/reject", http__route_assistant_draft_reject, "assistant.drafts", 0},
    {"GET", "/api/v1/assistant/analytics", http__route_assistant_analytics, "assistant.read", 0},
    {"GET", "/api/v1/conversations/{id}/assistant", http__route_assistant_pause_get, "assistant.read", 0},
    {"POST", "/api/v1/conversations/{id}/assistant/pause", http__route_assistant_pause, "assistant.drafts", 0},
    {"POST", "/api/v1/conversations/{id}/assistant/resume", http__route_assistant_resume, "assistant.drafts", 0},
    /* the assistant's agent configuration (routes_assistant_config.c) */
    {"GET", "/api/v1/assistant/config", http__route_assistant_config_get, "assistant.read", 0},
    {"PUT", "/api/v1/assistant/config", http__route_assistant_config_put, "assistant.config", 0},
    {"GET", "/api/v1/assistant/config/versions", http__route_assistant_config_versions, "assistant.read", 0},
    {"GET", "/api/v1/assistant/config/versions/{version}", http__route_assistant_config_version, "assistant.read", 0},
    {"GET", "/api/v1/assistant/config/diff", http__route_assistant_config_diff, "assistant.read", 0},
    {"POST", "/api/v1/assistant/config/versions/{version}/rollback", http__route_assistant_config_rollback,
     "assistant.config", 0},
    {"GET", "/api/v1/media/{id}", http__route_media_get, "conversations.read", 0},
    {"GET", "/media/{id}", http__route_media_file, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/webhooks/{provider}/{account_key}", http__route_webhook, NULL, HTTP_ROUTE_PUBLIC},
    {"POST", "/webhooks/{provider}/{account_key}", http__route_webhook, NULL, HTTP_ROUTE_PUBLIC},
    /* compliance (routes_compliance.c) */
    {"GET", "/api/v1/compliance/keywords", http__route_keywords_get, "compliance.read", 0},
    {"PATCH", "/api/v1/compliance/keywords", http__route_keywords_patch, "compliance.update", 0},
    {"GET", "/api/v1/suppressions", http__route_suppressions_list, "suppressions.read", 0},
    {"POST", "/api/v1/suppressions", http__route_suppressions_create, "suppressions.create", 0},
    {"POST", "/api/v1/suppressions/import", http__route_suppressions_import, "suppressions.import", 0},
    {"DELETE", "/api/v1/suppressions/{channel}/{address}", http__route_suppressions_delete, "suppressions.delete", 0},
    {"GET", "/api/v1/compliance/reviews", http__route_reviews_list, "compliance.read", 0},
    {"POST", "/api/v1/compliance/reviews/{id}/resolve", http__route_reviews_resolve, "compliance.review", 0},
    {"GET", "/u/{token}", http__route_unsubscribe_page, NULL, HTTP_ROUTE_PUBLIC},
    {"POST", "/u/{token}", http__route_unsubscribe_post, NULL, HTTP_ROUTE_PUBLIC},
    {"GET", "/widget/v1/config", http__route_widget_config, NULL, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_WIDGET},
    {"POST", "/widget/v1/sessions", http__route_widget_session, NULL, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_WIDGET},
    {"GET", "/widget/v1/messages", http__route_widget_messages, NULL, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_WIDGET},
    {"POST", "/widget/v1/messages", http__route_widget_post, NULL, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_WIDGET},
    {"GET", "/widget/v1/ws", http__route_widget_ws, NULL,
     HTTP_ROUTE_PUBLIC | HTTP_ROUTE_WIDGET | HTTP_ROUTE_WEBSOCKET},
    {NULL, NULL, NULL, NULL, 0},
};

