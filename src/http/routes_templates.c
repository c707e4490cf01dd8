/*
 * routes_templates: message templates and their approval workflow
 * (/api/v1/templates…). Who may do what is the role matrix's: agents
 * create, edit and submit, owners and admins approve and reject, viewers
 * read. Approving a WhatsApp template also submits it to Meta (messaging);
 * Meta's answer is on the template (provider.status), and a failed
 * submission is retried by submitting the approved template again.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "template/template.h"

#define PREVIEW_MAX_VARS 100

static void actor(const struct http_req *r, struct template_actor *who)
{
    who->type = auth_actor_type(&r->principal);
    who->id = auth_actor_id(&r->principal);
    who->ip = r->ip;
}

/* Answer status with the template id as it is now. */
static void answer(struct http_req *r, int status, const char *id)
{
    struct err e = {0};
    struct store_template t;
    struct store_template_version v;

    memset(&v, 0, sizeof(v));
    if (template_get(r->app->db, r->principal.tenant_id, id, &t, &v, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__json(r, status);
    template_json(&r->out, &t, &v);
    store_template_version_clear(&v);
}

static int template_cb(void *ud, const struct store_template *t, const struct store_template_version *v)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    template_json(c->b, t, v);
    return 0;
}

struct filtered {
    struct http__list l;
    const char *status;
};

static int filtered_cb(void *ud, const struct store_template *t, const struct store_template_version *v)
{
    struct filtered *f = ud;
    if (f->status && strcmp(f->status, t->status) != 0)
        return 0;
    return template_cb(&f->l, t, v);
}

void http__route_tpl_list(struct http_req *r)
{
    struct err e = {0};
    struct filtered f = {{&r->out, 0}, http__query_str(r, "status")};
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (template_list(r->app->db, r->principal.tenant_id, http__query_str(r, "channel"),
                            http__query_str(r, "account_id"), filtered_cb, &f, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

/* A content member: absent -> NULL (unchanged), null -> "" (cleared),
 * a string, or (buttons) an array printed as JSON into the arena.
 * -1 after answering 400. */
static int part(struct http_req *r, const cJSON *j, const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *out = NULL;
    if (!v)
        return 0;
    if (cJSON_IsNull(v)) {
        *out = "";
        return 0;
    }
    if (strcmp(name, "buttons") == 0 && cJSON_IsArray(v)) {
        char *s = json_print(v);
        *out = arena_strdup(r->arena, s ? s : "[]");
        free(s);
        return 0;
    }
    if (!cJSON_IsString(v)) {
        char msg[96];
        snprintf(msg, sizeof msg, "field \"%s\" must be a %s", name,
                 strcmp(name, "buttons") == 0 ? "JSON array" : "string");
        http__error(r, 400, "invalid_request", msg);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int parse_input(struct http_req *r, const cJSON *j, struct template_input *in, int create)
{
    memset(in, 0, sizeof(*in));
    if (create && (http__opt_str(r, j, "channel", &in->channel) || http__opt_str(r, j, "account_id", &in->account_id) ||
                   http__opt_str(r, j, "name", &in->name) || http__opt_str(r, j, "language", &in->language) ||
                   http__opt_str(r, j, "category", &in->category)))
        return -1;
    if (!create) {
        static const char *const fixed[] = {"channel", "account_id", "name", "language", "category"};
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
            if (cJSON_GetObjectItemCaseSensitive(j, fixed[i])) {
                char msg[128];
                snprintf(msg, sizeof msg, "\"%s\" is fixed when a template is created", fixed[i]);
                http__error(r, 400, "invalid_template", msg);
                return -1;
            }
    }
    return part(r, j, "body", &in->body) || part(r, j, "header", &in->header) || part(r, j, "footer", &in->footer) ||
                   part(r, j, "buttons", &in->buttons) || part(r, j, "subject", &in->subject) ||
                   part(r, j, "html", &in->html)
               ? -1
               : 0;
}

void http__route_tpl_create(struct http_req *r)
{
    struct err e = {0};
    struct template_input in;
    struct template_actor who;
    struct store_template t;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (parse_input(r, j, &in, 1) != 0)
        goto out;
    if (!in.language)
        in.language = "en";
    actor(r, &who);
    if (template_create(r->app->db, r->principal.tenant_id, &in, &who, &t, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer(r, 201, t.id);
out:
    cJSON_Delete(j);
}

void http__route_tpl_get(struct http_req *r)
{
    answer(r, 200, http__param(r, "id"));
}

void http__route_tpl_update(struct http_req *r)
{
    struct err e = {0};
    struct template_input in;
    struct template_actor who;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (parse_input(r, j, &in, 0) != 0)
        goto out;
    actor(r, &who);
    if (template_edit(r->app->db, r->principal.tenant_id, http__param(r, "id"), &in, &who, NULL, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer(r, 200, http__param(r, "id"));
out:
    cJSON_Delete(j);
}

/* A WhatsApp template our approval passed to Meta (or tried to). */
static int to_meta(const struct store_template *t)
{
    return strcmp(t->channel, "whatsapp") == 0 && strcmp(t->status, "approved") == 0 &&
           strcmp(t->source, "local") == 0;
}

void http__route_tpl_submit(struct http_req *r)
{
    struct err e = {0};
    struct template_actor who;
    struct store_template t;
    const char *id = http__param(r, "id");

    if (template_get(r->app->db, r->principal.tenant_id, id, &t, NULL, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    actor(r, &who);
    /* An approved WhatsApp template that never reached Meta: try again. */
    if (to_meta(&t) && (!t.provider_status[0] || strcmp(t.provider_status, "submit_failed") == 0)) {
        if (messaging_template_provider_submit(r->app->messaging, r->principal.tenant_id, id, &e) != 0) {
            http__error_from(r, &e);
            return;
        }
    } else if (template_submit(r->app->db, r->principal.tenant_id, id, &who, NULL, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    answer(r, 200, id);
}

void http__route_tpl_approve(struct http_req *r)
{
    struct err e = {0};
    struct template_actor who;
    struct store_template t;
    const char *id = http__param(r, "id");

    actor(r, &who);
    if (template_approve(r->app->db, r->principal.tenant_id, id, &who, &t, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    /* The approval stands whatever Meta says; the template shows Meta's
     * answer (provider.status, "submit_failed" with the reason). */
    if (to_meta(&t)) {
        struct err pe = {0};
        if (messaging_template_provider_submit(r->app->messaging, r->principal.tenant_id, id, &pe) != 0)
            log_warn(NULL, "template %s: submission to Meta failed: %s (%s)", id, pe.msg, err_slug(&pe));
    }
    answer(r, 200, id);
}

void http__route_tpl_reject(struct http_req *r)
{
    struct err e = {0};
    struct template_actor who;
    const char *reason = NULL;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (http__opt_str(r, j, "reason", &reason) != 0)
        goto out;
    actor(r, &who);
    if (template_reject(r->app->db, r->principal.tenant_id, http__param(r, "id"), reason, &who, NULL, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    answer(r, 200, http__param(r, "id"));
out:
    cJSON_Delete(j);
}

static int version_cb(void *ud, const struct store_template_version *v)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    template_version_json(c->b, v);
    return 0;
}

void http__route_tpl_versions(struct http_req *r)
{
    struct err e = {0};
    struct http__list c = {&r->out, 0};
    const char *id = http__param(r, "id");

    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (template_versions(r->app->db, r->principal.tenant_id, id, version_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    buf_puts(&r->out, "]}");
}

/* {"variables": ["a", …] | {"name": "a", …}} -> vars in the arena. */
static int preview_vars(struct http_req *r, const cJSON *j, struct template_var **out, size_t *n)
{
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(j, "variables"), *it;
    size_t i = 0;

    *out = NULL;
    *n = 0;
    if (!vs || cJSON_IsNull(vs))
        return 0;
    if ((!cJSON_IsArray(vs) && !cJSON_IsObject(vs)) || cJSON_GetArraySize(vs) > PREVIEW_MAX_VARS) {
        http__error(r, 400, "invalid_request",
                    "\"variables\" is an array (positional) or an object (named) of at most 100 strings");
        return -1;
    }
    *out = arena_alloc(r->arena, (size_t)(cJSON_GetArraySize(vs) + 1) * sizeof(**out));
    cJSON_ArrayForEach(it, vs) {
        if (!cJSON_IsString(it)) {
            http__error(r, 400, "invalid_request", "every variable's value must be a string");
            return -1;
        }
        (*out)[i].name = cJSON_IsObject(vs) ? it->string : arena_printf(r->arena, "%zu", i + 1);
        (*out)[i].value = it->valuestring;
        i++;
    }
    *n = i;
    return 0;
}

void http__route_tpl_preview(struct http_req *r)
{
    struct err e = {0};
    struct store_template t;
    struct store_template_version v;
    struct template_rendered out;
    struct template_var *vars;
    size_t n;
    cJSON *j = r->body.len ? http__body_object(r) : cJSON_CreateObject();

    memset(&v, 0, sizeof(v));
    memset(&out, 0, sizeof(out));
    if (!j)
        return;
    if (preview_vars(r, j, &vars, &n) != 0)
        goto done;
    if (template_get(r->app->db, r->principal.tenant_id, http__param(r, "id"), &t, &v, &e) != 0 ||
        template_render_version(&t, &v, vars, n, &out, &e) != 0) {
        http__error_from(r, &e);
        goto done;
    }
    http__json(r, 200);
    buf_printf(&r->out, "{\"version\":%lld,\"status\":", (long long)t.version);
    buf_json_str(&r->out, t.status);
    buf_puts(&r->out, ",\"text\":");
    buf_json_str(&r->out, out.text.data ? out.text.data : "");
    buf_puts(&r->out, ",\"subject\":");
    buf_json_str(&r->out, out.subject.data);
    buf_puts(&r->out, ",\"html\":");
    buf_json_str(&r->out, out.html.data);
    buf_putc(&r->out, '}');
done:
    template_rendered_free(&out);
    store_template_version_clear(&v);
    cJSON_Delete(j);
}
