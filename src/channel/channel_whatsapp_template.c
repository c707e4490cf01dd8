/*
 * channel_whatsapp_template: WhatsApp message templates at Meta, beyond
 * the listing (channel_whatsapp.c).
 *
 * submit: a new template is POST {graph}/{waba_id}/message_templates with
 * name, language, category and components (HEADER text, BODY with an
 * example value per {{n}}, FOOTER, BUTTONS), answered {id, status,
 * category}; an edit of a template Meta knows is POST {graph}/{template id}
 * with the new components, answered {success: true}, after which Meta
 * reviews it again (pending). Status updates: the WhatsApp Business
 * Account webhook's message_template_status_update change ({event,
 * message_template_id, message_template_name, message_template_language,
 * reason}) becomes one CHANNEL_EVENT_TEMPLATE_STATUS event, keyed by the
 * template, the event and the entry's time. Pure: no
 * database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

static const char *wa_tpl_lower(struct arena *a, const char *s)
{
    char *out = arena_strdup(a, s);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

int channel__whatsapp_template_named(const cJSON *value)
{
    const char *event = json_str(value, "event"), *name = json_str(value, "message_template_name");
    const char *lang = json_str(value, "message_template_language");
    return event && *event && name && *name && lang && *lang;
}

int channel__whatsapp_template_status(struct arena *a, const cJSON *entry, const cJSON *value,
                                      struct channel_event *ev, struct err *e)
{
    const char *event = json_str(value, "event"), *name = json_str(value, "message_template_name");
    const char *lang = json_str(value, "message_template_language"), *reason = json_str(value, "reason");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(value, "message_template_id");
    int64_t v = 0;

    memset(ev, 0, sizeof(*ev));
    if (!event || !*event || !name || !*name || !lang || !*lang)
        return err_set(e, ERR_INVALID, "invalid_payload",
                       "message_template_status_update without event, template name or language");
    ev->kind = CHANNEL_EVENT_TEMPLATE_STATUS;
    ev->type = "template";
    ev->text = arena_strdup(a, name);
    ev->ref = arena_strdup(a, lang);
    ev->status = wa_tpl_lower(a, event);
    /* Meta sends the id as a JSON number; keep it as a string either way. */
    if (cJSON_IsString(id) && id->valuestring[0])
        ev->provider_message_id = arena_strdup(a, id->valuestring);
    else if (json_int(value, "message_template_id", &v) == 0 && v > 0)
        ev->provider_message_id = arena_printf(a, "%lld", (long long)v);
    if (reason && *reason && strcmp(reason, "NONE") != 0)
        ev->error_text = arena_strdup(a, reason);
    ev->to = entry ? (json_str(entry, "id") ? arena_strdup(a, json_str(entry, "id")) : NULL) : NULL;
    /* Meta gives the change no id: the key is the template, the event and
     * the entry's time, so a redelivery is a duplicate while a later
     * identical change (approved again after a pause) is not. */
    int64_t t = 0;
    if (entry && json_int(entry, "time", &t) == 0 && t > 0 && t < 100000000000LL)
        ev->provider_ts = t * 1000;
    else
        t = 0;
    ev->event_id = arena_printf(a, "template:%s:%s:%s:%s:%lld", ev->provider_message_id ? ev->provider_message_id : "",
                                ev->text, ev->ref, ev->status, (long long)t);
    return 0;
}

/* The components Meta wants, from our parts. */
static cJSON *wa_tpl_components(const struct channel_template_submit *t)
{
    cJSON *comps = cJSON_CreateArray(), *c;
    if (t->header && *t->header) {
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "HEADER");
        cJSON_AddStringToObject(c, "format", "TEXT");
        cJSON_AddStringToObject(c, "text", t->header);
        cJSON_AddItemToArray(comps, c);
    }
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", "BODY");
    cJSON_AddStringToObject(c, "text", t->body ? t->body : "");
    if (t->nvariables > 0) {
        /* Meta reviews a template with sample values for its variables. */
        cJSON *ex = cJSON_AddObjectToObject(c, "example");
        cJSON *rows = cJSON_AddArrayToObject(ex, "body_text");
        cJSON *row = cJSON_CreateArray();
        for (int i = 1; i <= t->nvariables; i++) {
            char sample[32];
            snprintf(sample, sizeof sample, "sample %d", i);
            cJSON_AddItemToArray(row, cJSON_CreateString(sample));
        }
        cJSON_AddItemToArray(rows, row);
    }
    cJSON_AddItemToArray(comps, c);
    if (t->footer && *t->footer) {
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "FOOTER");
        cJSON_AddStringToObject(c, "text", t->footer);
        cJSON_AddItemToArray(comps, c);
    }
    cJSON *buttons = NULL;
    if (t->buttons && *t->buttons && json_parse(&buttons, t->buttons, strlen(t->buttons), NULL) == 0 &&
        cJSON_IsArray(buttons) && cJSON_GetArraySize(buttons) > 0) {
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "BUTTONS");
        cJSON_AddItemToObject(c, "buttons", buttons);
        buttons = NULL;
        cJSON_AddItemToArray(comps, c);
    }
    cJSON_Delete(buttons);
    return comps;
}

static int wa_tpl_error(const struct channel__resp *r, const cJSON *root, struct err *e)
{
    const cJSON *err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    int64_t code = 0;
    if (cJSON_IsObject(err))
        (void)json_int(err, "code", &code);
    const char *m = cJSON_IsObject(err) ? json_str(err, "error_user_msg") : NULL;
    if (!m && cJSON_IsObject(err))
        m = json_str(err, "message");
    if (r->status == 429 || code == 4 || code == 80008)
        return err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Graph rate limit (code %lld)", (long long)code);
    if (r->status >= 500 || r->status < 200)
        return err_set(e, ERR_UPSTREAM, "provider_error", "Graph answered %ld", r->status);
    return err_set(e, ERR_UPSTREAM, "provider_rejected", "Meta refused the template (%ld, code %lld): %.160s",
                   r->status, (long long)code, m ? m : "no message");
}

int channel__whatsapp_submit_template(const struct channel_env *env, const struct channel_creds *creds,
                                      const struct channel_template_submit *t, struct channel_template_result *out,
                                      struct err *e)
{
    const char *base = env && env->graph_api_base ? env->graph_api_base : "https://graph.facebook.com/v21.0";
    const char *waba = channel_creds_get(creds, "waba_id"), *token = channel_creds_get(creds, "access_token");
    int edit = t->provider_id && *t->provider_id, rc = 0;
    struct buf url = {0};
    struct channel__resp r = {0};
    cJSON *req = cJSON_CreateObject(), *root = NULL;
    char *body = NULL;

    memset(out, 0, sizeof(*out));
    if (!edit && (!waba || !*waba)) {
        rc = err_set(e, ERR_INVALID, "waba_id_required",
                     "submitting templates needs the account's waba_id (WhatsApp Business Account id)");
        goto out;
    }
    if (!token || !*token) {
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "WhatsApp account needs access_token");
        goto out;
    }
    buf_printf(&url, "%s/", base);
    if (edit) {
        channel__form_escape(&url, t->provider_id);
        cJSON_AddStringToObject(req, "category", t->category ? t->category : "UTILITY");
    } else {
        channel__form_escape(&url, waba);
        buf_puts(&url, "/message_templates");
        cJSON_AddStringToObject(req, "name", t->name);
        cJSON_AddStringToObject(req, "language", t->language);
        cJSON_AddStringToObject(req, "category", t->category ? t->category : "UTILITY");
    }
    cJSON_AddItemToObject(req, "components", wa_tpl_components(t));
    body = json_print(req);
    if ((rc = channel__post(env, url.data, "application/json", body, strlen(body), NULL, token, &r, e)))
        goto out;
    (void)json_parse(&root, r.body.data ? r.body.data : "", r.body.len, NULL);
    if (r.status < 200 || r.status >= 300) {
        rc = wa_tpl_error(&r, root, e);
        goto out;
    }
    if (edit) {
        if (!root || !json_bool(root, "success", 0)) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph answered %ld without success", r.status);
            goto out;
        }
        snprintf(out->provider_id, sizeof out->provider_id, "%s", t->provider_id);
        snprintf(out->status, sizeof out->status, "pending");
        goto out;
    }
    const char *id = root ? json_str(root, "id") : NULL, *st = root ? json_str(root, "status") : NULL;
    if (!id || !*id) {
        rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph answered %ld without a template id", r.status);
        goto out;
    }
    snprintf(out->provider_id, sizeof out->provider_id, "%s", id);
    snprintf(out->status, sizeof out->status, "%s", st && *st ? st : "PENDING");
    for (char *p = out->status; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
out:
    free(body);
    cJSON_Delete(req);
    cJSON_Delete(root);
    buf_free(&r.body);
    buf_free(&url);
    return rc;
}
