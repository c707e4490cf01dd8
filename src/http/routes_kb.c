/*
 * routes_kb: the assistant's knowledge base (/api/v1/kb/…): documents
 * (CRUD), bulk import with its report, and ranked search. Everyone in the
 * tenant may read and search (kb.read); only owners and admins change the
 * knowledge the assistant answers from (kb.write). The rules and the audit
 * rows are the assistant module's.
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

/* One document as JSON; with_body 0 leaves the body out (lists). */
static void doc_json(struct buf *b, const struct store_kb_doc *d, int with_body)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, d->id);
    buf_puts(b, ",\"title\":");
    buf_json_str(b, d->title);
    if (with_body) {
        buf_puts(b, ",\"body\":");
        buf_json_str(b, d->body);
    }
    buf_puts(b, ",\"tags\":");
    buf_puts(b, d->tags && *d->tags ? d->tags : "[]");
    buf_puts(b, ",\"source\":");
    buf_json_str(b, d->source);
    buf_puts(b, ",\"language\":");
    buf_json_str(b, d->language);
    buf_printf(b, ",\"enabled\":%s,\"chunks\":%lld,\"created_by\":", d->enabled ? "true" : "false",
               (long long)d->chunks);
    buf_json_str(b, d->created_by);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, d->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, d->updated_at);
    buf_putc(b, '}');
}

static void answer_doc(struct http_req *r, int status, struct store_kb_doc *d)
{
    http__json(r, status);
    doc_json(&r->out, d, 1);
    store_kb_doc_clear(d);
}

static int doc_cb(void *ud, const struct store_kb_doc *d)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    doc_json(c->b, d, 0);
    return 0;
}

void http__route_kb_list(struct http_req *r)
{
    struct err e = {0};
    int64_t limit = 100, offset = 0;
    struct http__list c = {&r->out, 0};

    if (http__query_arg(r, "limit", 0, &limit) != 0 || http__query_arg(r, "offset", 0, &offset) != 0)
        return;
    if (limit < 1 || limit > 500) {
        http__error(r, 400, "invalid_request", "limit must be 1 to 500");
        return;
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (store_kb_doc_list(r->app->db, r->principal.tenant_id, (int)limit, (int)offset, doc_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

/* The members of a create or update body; -1 after answering 400. */
static int parse_input(struct http_req *r, const cJSON *j, struct assistant_kb_input *in)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(j, "enabled");
    memset(in, 0, sizeof(*in));
    in->enabled = -1;
    if (http__opt_str(r, j, "title", &in->title) || http__opt_str(r, j, "body", &in->body) ||
        http__opt_str(r, j, "source", &in->source) || http__opt_str(r, j, "language", &in->language))
        return -1;
    if (tags && !cJSON_IsNull(tags)) {
        if (!cJSON_IsArray(tags)) {
            http__error(r, 400, "invalid_document", "tags must be an array of strings");
            return -1;
        }
        char *s = json_print(tags);
        in->tags = arena_strdup(r->arena, s ? s : "[]");
        free(s);
    }
    if (enabled && !cJSON_IsNull(enabled)) {
        if (!cJSON_IsBool(enabled)) {
            http__error(r, 400, "invalid_document", "enabled must be true or false");
            return -1;
        }
        in->enabled = cJSON_IsTrue(enabled);
    }
    return 0;
}

void http__route_kb_create(struct http_req *r)
{
    struct err e = {0};
    struct assistant_kb_input in;
    struct assistant_actor who;
    struct store_kb_doc d;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (parse_input(r, j, &in) != 0)
        goto out;
    if (in.enabled < 0)
        in.enabled = 1;
    actor(r, &who);
    if (assistant_kb_create(r->app->db, r->principal.tenant_id, &in, &who, &d, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer_doc(r, 201, &d);
out:
    cJSON_Delete(j);
}

void http__route_kb_get(struct http_req *r)
{
    struct err e = {0};
    struct store_kb_doc d;
    if (store_kb_doc_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), &d, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    answer_doc(r, 200, &d);
}

void http__route_kb_update(struct http_req *r)
{
    struct err e = {0};
    struct assistant_kb_input in;
    struct assistant_actor who;
    struct store_kb_doc d;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (parse_input(r, j, &in) != 0)
        goto out;
    actor(r, &who);
    if (assistant_kb_update(r->app->db, r->principal.tenant_id, http__param(r, "id"), &in, &who, &d, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer_doc(r, 200, &d);
out:
    cJSON_Delete(j);
}

void http__route_kb_delete(struct http_req *r)
{
    struct err e = {0};
    struct assistant_actor who;
    actor(r, &who);
    if (assistant_kb_delete(r->app->db, r->principal.tenant_id, http__param(r, "id"), &who, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__no_content(r);
}

void http__route_kb_import(struct http_req *r)
{
    struct err e = {0};
    struct assistant_actor who;
    struct assistant_kb_report rep;
    enum assistant_kb_format fmt;

    if (assistant_kb_format(http__req_header(r, "Content-Type"), &fmt, &e) != 0) {
        http__error(r, 415, err_slug(&e), e.msg);
        return;
    }
    actor(r, &who);
    if (assistant_kb_import(r->app->db, r->principal.tenant_id, fmt, r->body.data, r->body.len,
                            http__query_str(r, "title"), http__query_str(r, "language"), &who, &rep, &e) != 0) {
        assistant_kb_report_free(&rep);
        http__error_from(r, &e);
        return;
    }
    http__json(r, 200);
    buf_printf(&r->out, "{\"accepted\":%d,\"rejected\":", rep.accepted);
    buf_append(&r->out, rep.rejected_json.data, rep.rejected_json.len);
    buf_puts(&r->out, ",\"documents\":");
    buf_append(&r->out, rep.ids_json.data, rep.ids_json.len);
    buf_putc(&r->out, '}');
    assistant_kb_report_free(&rep);
}

static int passage_cb(void *ud, const struct assistant_passage *p)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    buf_printf(c->b, "{\"chunk_id\":%lld,\"document_id\":", (long long)p->chunk_id);
    buf_json_str(c->b, p->document_id);
    buf_puts(c->b, ",\"title\":");
    buf_json_str(c->b, p->title);
    buf_puts(c->b, ",\"text\":");
    buf_json_str(c->b, p->text);
    buf_printf(c->b, ",\"score\":%.6g}", p->score);
    return 0;
}

void http__route_kb_search(struct http_req *r)
{
    struct err e = {0};
    int64_t k = 5;
    struct http__list c = {&r->out, 0};
    const char *q = http__query_str(r, "q");

    if (http__query_arg(r, "k", 0, &k) != 0)
        return;
    if (!q) {
        http__error(r, 400, "empty_query", "q is required");
        return;
    }
    if (k < 1 || k > 50) {
        http__error(r, 400, "invalid_k", "k must be 1 to 50");
        return;
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (assistant_kb_search(r->app->db, r->principal.tenant_id, q, (int)k, passage_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}
