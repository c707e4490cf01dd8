/*
 * routes_assistant: the assistant's work as people see it: the draft queue
 * (/api/v1/assistant/drafts, approve / reject), pausing the assistant in a
 * conversation (/api/v1/conversations/{id}/assistant) and the usage
 * analytics (/api/v1/assistant/analytics). Everyone reads
 * (assistant.read); owners, admins and agents decide (assistant.drafts).
 * The rules are the assistant module's.
 */
#include <stdio.h>
#include <string.h>

#include "assistant/assistant.h"
#include "http/http_int.h"

#define ANALYTICS_DEFAULT_DAYS 30
#define ANALYTICS_MAX_DAYS 366
#define DAY_MS 86400000LL

static void actor(const struct http_req *r, struct assistant_actor *who)
{
    who->type = auth_actor_type(&r->principal);
    who->id = auth_actor_id(&r->principal);
    who->ip = r->ip;
}

/* 503 when this process runs no assistant. */
static int need_assistant(struct http_req *r)
{
    if (r->app->assistant)
        return 0;
    http__error(r, 503, "unavailable", "the assistant is not running in this process");
    return -1;
}

/* Answer 200 with body (JSON) or the error. */
static void answer(struct http_req *r, int rc, struct buf *body, const struct err *e)
{
    if (rc) {
        http__error_from(r, e);
    } else {
        http__json(r, 200);
        buf_append(&r->out, body->data, body->len);
    }
    buf_free(body);
}

void http__route_assistant_drafts(struct http_req *r)
{
    struct buf b = {0};
    struct err e = {0};
    int64_t limit = 50;

    if (need_assistant(r) || http__query_arg(r, "limit", 0, &limit))
        return;
    if (limit < 1 || limit > 200) {
        http__error(r, 400, "invalid_request", "limit must be 1 to 200");
        return;
    }
    const char *status = http__query_str(r, "status");
    int rc = assistant_draft_list(r->app->assistant, r->principal.tenant_id, status ? status : "pending",
                                  http__query_str(r, "cursor"), (int)limit, &b, &e);
    answer(r, rc, &b, &e);
}

void http__route_assistant_draft_get(struct http_req *r)
{
    struct buf b = {0};
    struct err e = {0};

    if (need_assistant(r))
        return;
    int rc = assistant_draft_get(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), &b, &e);
    answer(r, rc, &b, &e);
}

void http__route_assistant_draft_approve(struct http_req *r)
{
    struct assistant_actor who;
    struct buf b = {0};
    struct err e = {0};
    const char *text = NULL;
    cJSON *j;

    if (need_assistant(r))
        return;
    /* An empty body approves as is. */
    j = r->body.len ? http__body_object(r) : cJSON_CreateObject();
    if (!j || http__opt_str(r, j, "text", &text)) {
        cJSON_Delete(j);
        return;
    }
    actor(r, &who);
    int rc = assistant_draft_approve(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), text, &who, &b,
                                     &e);
    answer(r, rc, &b, &e);
    cJSON_Delete(j);
}

void http__route_assistant_draft_reject(struct http_req *r)
{
    struct assistant_actor who;
    struct buf b = {0};
    struct err e = {0};
    const char *reason;
    cJSON *j;

    if (need_assistant(r) || !(j = http__body_object(r)))
        return;
    if (!(reason = http__need_str(r, j, "reason"))) {
        cJSON_Delete(j);
        return;
    }
    actor(r, &who);
    int rc = assistant_draft_reject(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), reason, &who,
                                    &b, &e);
    answer(r, rc, &b, &e);
    cJSON_Delete(j);
}

void http__route_assistant_pause_get(struct http_req *r)
{
    struct buf b = {0};
    struct err e = {0};

    if (need_assistant(r))
        return;
    int rc = assistant_pause_json(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), &b, &e);
    answer(r, rc, &b, &e);
}

void http__route_assistant_pause(struct http_req *r)
{
    struct assistant_actor who;
    struct buf b = {0};
    struct err e = {0};
    const char *reason = NULL;
    cJSON *j;

    if (need_assistant(r))
        return;
    j = r->body.len ? http__body_object(r) : cJSON_CreateObject();
    if (!j || http__opt_str(r, j, "reason", &reason)) {
        cJSON_Delete(j);
        return;
    }
    actor(r, &who);
    int rc = assistant_pause(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), reason, &who, &b, &e);
    answer(r, rc, &b, &e);
    cJSON_Delete(j);
}

void http__route_assistant_resume(struct http_req *r)
{
    struct assistant_actor who;
    struct buf b = {0};
    struct err e = {0};

    if (need_assistant(r))
        return;
    actor(r, &who);
    int rc = assistant_resume(r->app->assistant, r->principal.tenant_id, http__param(r, "id"), &who, &b, &e);
    answer(r, rc, &b, &e);
}

/* A YYYY-MM-DD query argument as the Unix ms of that UTC midnight, *out
 * unchanged when absent; -1 after answering 400. */
static int day_arg(struct http_req *r, const char *name, int64_t *out)
{
    const char *v = http__query_str(r, name);
    char iso[32];
    int y, m, d;

    if (!v)
        return 0;
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31) {
        http__error(r, 400, "invalid_range", "from and to are days: YYYY-MM-DD");
        return -1;
    }
    snprintf(iso, sizeof(iso), "%04d-%02d-%02dT00:00:00Z", y, m, d);
    if (time_parse_iso(iso, out) != 0) {
        http__error(r, 400, "invalid_range", "from and to are days: YYYY-MM-DD");
        return -1;
    }
    return 0;
}

void http__route_assistant_analytics(struct http_req *r)
{
    struct buf b = {0};
    struct err e = {0};
    int64_t today = time_now_ms() / DAY_MS * DAY_MS, from = -1, to = -1;

    if (need_assistant(r) || day_arg(r, "from", &from) || day_arg(r, "to", &to))
        return;
    if (to < 0)
        to = today;
    to += DAY_MS; /* to is a whole day, included */
    if (from < 0)
        from = to - ANALYTICS_DEFAULT_DAYS * DAY_MS;
    if (to <= from || to - from > ANALYTICS_MAX_DAYS * DAY_MS) {
        http__error(r, 400, "invalid_range", "\"from\" must not be after \"to\", at most 366 days apart");
        return;
    }
    int rc = assistant_analytics(r->app->assistant, r->principal.tenant_id, from, to, &b, &e);
    answer(r, rc, &b, &e);
}
