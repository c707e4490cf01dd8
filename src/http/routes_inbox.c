/*
 * routes_inbox: conversations and messages: the inbox's reads (crm, cursor
 * pages), the conversation update, and sending a message
 * (messaging_send), which answers after the group commit through a
 * deferred response.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static int conversation_cb(void *ud, const struct store_conversation *cv)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_conversation_json(c->b, cv, NULL);
    return 0;
}

void http__route_conversations_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct store_conversation_filter f;
    struct http__list c = {&r->out, 0};
    const char *unread = http__query_str(r, "unread");

    memset(&f, 0, sizeof(f));
    f.status = http__query_str(r, "status");
    f.channel = http__query_str(r, "channel");
    f.assignee = http__query_str(r, "assignee");
    f.account_id = http__query_str(r, "account_id");
    f.q = http__query_str(r, "q");
    if (f.assignee && strcmp(f.assignee, "me") == 0) {
        if (r->principal.kind != AUTH_SESSION || !r->principal.user_id[0]) {
            http__error(r, 400, "invalid_assignee", "assignee=me needs a signed-in user (an API key is no one)");
            return;
        }
        f.assignee = r->principal.user_id;
    }
    if (unread && *unread) {
        if (strcmp(unread, "true") != 0 && strcmp(unread, "false") != 0) {
            http__error(r, 400, "invalid_request", "unread must be true or false");
            return;
        }
        f.unread = strcmp(unread, "true") == 0;
    }
    if (http__page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_conversation_list(r->app->db, r->principal.tenant_id, &f, &page, conversation_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__page_end(r, &page);
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

void http__route_conversations_get(struct http_req *r)
{
    struct err e = {0};
    struct store_conversation cv;
    if (crm_conversation_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), &cv, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    conversation_detail(r, &cv);
}

void http__route_conversations_update(struct http_req *r)
{
    struct err e = {0};
    struct store_conversation cv;
    struct crm_conversation_patch p = {0};
    const cJSON *a;
    cJSON *j = http__body_object(r);
    if (!j)
        return;
    if (http__opt_str(r, j, "status", &p.status) != 0)
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

/* Idempotent: 200 with the conversation (unread_count 0) every time. */
void http__route_conversations_read(struct http_req *r)
{
    struct err e = {0};
    struct store_conversation cv;
    if (messaging_conversation_read(r->app->messaging, r->principal.tenant_id, http__param(r, "id"), &e) != 0 ||
        crm_conversation_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), &cv, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    conversation_detail(r, &cv);
}

static int message_cb(void *ud, const struct store_message *m)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_message_json(c->b, m);
    return 0;
}

void http__route_conversations_messages(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct http__list c = {&r->out, 0};
    if (http__page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_conversation_messages(r->app->db, r->principal.tenant_id, http__param(r, "id"), &page, message_cb, &c,
                                  &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__page_end(r, &page);
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

/* "variables" as an object of named values ({"first_name": "Ada"}):
 * names and values into req; -1 after answering 400. */
static int named_vars(struct http_req *r, const cJSON *tpl, const char **names, const char **vars,
                      struct messaging_send_request *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tpl, "variables"), *it;
    size_t n = 0;

    if (!cJSON_IsObject(v))
        return 0;
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it) || n == MESSAGE_MAX_LIST) {
            char msg[128];
            snprintf(msg, sizeof msg, "field \"variables\" must be an array or an object of at most %d strings",
                     MESSAGE_MAX_LIST);
            http__error(r, 400, "invalid_request", msg);
            return -1;
        }
        names[n] = it->string;
        vars[n++] = it->valuestring;
    }
    req->template_var_names = names;
    req->ntemplate_vars = n;
    return 0;
}

void http__route_messages_send(struct http_req *r)
{
    struct messaging_send_request req;
    const char *media[MESSAGE_MAX_LIST], *vars[MESSAGE_MAX_LIST], *names[MESSAGE_MAX_LIST];
    const char *media_ids[MESSAGE_MAX_LIST];
    struct http_defer *d;
    struct err e = {0};
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    memset(&req, 0, sizeof req);
    req.media_urls = media;
    req.media_ids = media_ids;
    req.template_vars = vars;
    if (http__opt_str(r, j, "account_id", &req.account_id) || http__opt_str(r, j, "to", &req.to) ||
        http__opt_str(r, j, "contact_id", &req.contact_id) || http__opt_str(r, j, "text", &req.text) ||
        http__opt_str(r, j, "subject", &req.subject) || http__opt_str(r, j, "html", &req.html) ||
        string_array(r, j, "media_urls", media, MESSAGE_MAX_LIST, &req.nmedia) ||
        string_array(r, j, "media_ids", media_ids, MESSAGE_MAX_LIST, &req.nmedia_ids))
        goto out;
    {
        const cJSON *urgent = cJSON_GetObjectItemCaseSensitive(j, "urgent");
        if (urgent && !cJSON_IsNull(urgent) && !cJSON_IsBool(urgent)) {
            http__error(r, 400, "invalid_request", "field \"urgent\" must be a boolean");
            goto out;
        }
        req.urgent = cJSON_IsTrue(urgent); /* not held by quiet hours */
    }
    /* A person signed in to the dashboard is an agent; an API key is an integration. */
    if (r->principal.kind == AUTH_SESSION) {
        req.origin = "agent";
        req.sent_by = r->principal.user_id;
    } else {
        req.origin = "api";
        req.sent_by = r->principal.key_id;
    }
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(j, "template");
    if (tpl && !cJSON_IsNull(tpl)) {
        if (!cJSON_IsObject(tpl) || !(req.template_name = http__need_str(r, tpl, "name")) ||
            http__opt_str(r, tpl, "language", &req.template_language) ||
            (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(tpl, "variables")) &&
             string_array(r, tpl, "variables", vars, MESSAGE_MAX_LIST, &req.ntemplate_vars)) ||
            named_vars(r, tpl, names, vars, &req)) {
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

void http__route_messages_get(struct http_req *r)
{
    struct err e = {0};
    http__json(r, 200);
    if (crm_message_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), message_json_cb, &r->out, &e) != 0)
        http__error_from(r, &e);
}

