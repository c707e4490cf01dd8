/*
 * template: the approval workflow (create, edit, submit, approve, reject),
 * the send rule, Meta's status, and the default e-mail template.
 *
 * Each step is one transaction whose writes are compare-and-set on the
 * state it read (store_template_transition and friends), then one audit
 * row; a step that lost a race answers ERR_CONFLICT and audits nothing.
 * The audit row is written after the commit (the audit chain has its own
 * transaction): a crash in between loses the row, never a decision.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "template/template_int.h"

/* ------------------------------------------------------------- helpers */

static const char *actor_type(const struct template_actor *who)
{
    return who && who->type && *who->type ? who->type : "system";
}

/* "user:<id>", "apikey:<id>" or "system": the decision trail's actor. */
static void actor_str(char *out, size_t n, const struct template_actor *who)
{
    if (!who || !who->type || !*who->type || strcmp(who->type, "system") == 0 || !who->id || !*who->id)
        snprintf(out, n, "system");
    else
        snprintf(out, n, "%s:%s", who->type, who->id);
}

static int audit(struct store *db, const char *tenant_id, const struct template_actor *who, const char *action,
                 const struct store_template *t, const char *extra, struct err *e)
{
    struct buf d = {0};
    int rc;

    buf_puts(&d, "{\"name\":");
    buf_json_str(&d, t->name);
    buf_puts(&d, ",\"language\":");
    buf_json_str(&d, t->language);
    buf_puts(&d, ",\"channel\":");
    buf_json_str(&d, t->channel);
    buf_printf(&d, ",\"version\":%lld", (long long)t->version);
    if (extra)
        buf_puts(&d, extra);
    buf_putc(&d, '}');
    rc = ops_audit(db, tenant_id, actor_type(who), who && who->id ? who->id : "", action, t->id,
                   who && who->ip ? who->ip : "", d.data, e);
    buf_free(&d);
    return rc;
}

/* A copy of s, NULL for NULL; "" becomes NULL when empty_null. */
static int dup_part(char **out, const char *s, int empty_null)
{
    *out = NULL;
    if (!s || (empty_null && !*s))
        return 0;
    *out = strdup(s);
    return *out ? 0 : ERR_NOMEM;
}

/* The content of in (NULL members taken from base, when given). */
static int merge(struct store_template_version *v, const struct template_input *in,
                 const struct store_template_version *base, struct err *e)
{
#define PART(field, empty_null)                                                                                  \
    dup_part(&v->field, in->field ? in->field : (base ? base->field : NULL), (empty_null))
    if (PART(body, 0) || PART(header, 1) || PART(footer, 1) || PART(buttons, 1) || PART(subject, 1) ||
        PART(html, 1))
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
#undef PART
    return 0;
}

static int commit_or_rollback(struct store_tx *tx, int rc, struct err *e)
{
    if (rc) {
        store_tx_rollback(tx);
        return rc;
    }
    return store_tx_commit(tx, e);
}

/* ------------------------------------------------------------ workflow */

int template_create(struct store *db, const char *tenant_id, const struct template_input *in,
                    const struct template_actor *who, struct store_template *out, struct err *e)
{
    struct store_template t;
    struct store_template_version v;
    struct store_account acct;
    struct store_tx tx = {0};
    int64_t now = time_now_ms();
    int rc;

    memset(&t, 0, sizeof(t));
    memset(&v, 0, sizeof(v));
    if ((rc = template__check_identity(in, e)))
        return rc;
    if (in->account_id && *in->account_id) {
        rc = store_account_get(db, tenant_id, in->account_id, &acct, e);
        if (rc == 0 && acct.removed_at)
            rc = ERR_NOTFOUND;
        if (rc == ERR_NOTFOUND)
            return err_set(e, ERR_NOTFOUND, "account_not_found", "no such channel account");
        if (rc)
            return rc;
        if (strcmp(acct.channel, in->channel) != 0)
            return err_set(e, ERR_INVALID, "invalid_template", "the account is a %s account, not %s",
                           acct.channel, in->channel);
        snprintf(t.account_id, sizeof(t.account_id), "%s", acct.id);
    }
    if ((rc = merge(&v, in, NULL, e)) || (rc = template__check_content(in->channel, &v, e)))
        goto out;
    crypto_random_id(t.id, sizeof(t.id), "tpl");
    snprintf(t.channel, sizeof(t.channel), "%s", in->channel);
    snprintf(t.name, sizeof(t.name), "%s", in->name);
    snprintf(t.language, sizeof(t.language), "%s", in->language);
    snprintf(t.category, sizeof(t.category), "%s",
             in->category ? in->category : strcmp(in->channel, "whatsapp") == 0 ? "UTILITY" : "");
    snprintf(t.source, sizeof(t.source), "local");
    snprintf(t.status, sizeof(t.status), "draft");
    actor_str(t.created_by, sizeof(t.created_by), who);
    t.version = 1;
    t.created_at = t.updated_at = now;
    v.version = 1;
    snprintf(v.status, sizeof(v.status), "draft");
    snprintf(v.created_by, sizeof(v.created_by), "%s", t.created_by);
    v.created_at = now;
    if ((rc = store_tx_begin(db, &tx, e)))
        goto out;
    rc = commit_or_rollback(&tx, store_template_insert(&tx, tenant_id, &t, &v, e), e);
    if (rc == 0)
        rc = audit(db, tenant_id, who, "template.create", &t, NULL, e);
    if (rc == 0 && out)
        *out = t;
out:
    store_template_version_clear(&v);
    return rc;
}

int template_edit(struct store *db, const char *tenant_id, const char *id, const struct template_input *in,
                  const struct template_actor *who, struct store_template *out, struct err *e)
{
    struct store_template t;
    struct store_template_version cur, v;
    struct store_tx tx = {0};
    char extra[96];
    int64_t now = time_now_ms();
    int rc, in_place;

    memset(&cur, 0, sizeof(cur));
    memset(&v, 0, sizeof(v));
    if ((in->channel && *in->channel) || (in->account_id && *in->account_id) || (in->name && *in->name) ||
        (in->language && *in->language) || in->category)
        return err_set(e, ERR_INVALID, "invalid_template",
                       "channel, account, name, language and category are fixed: create another template");
    if ((rc = store_template_get(db, tenant_id, id, &t, &cur, e)))
        goto out;
    if (strcmp(t.source, "provider") == 0) {
        rc = err_set(e, ERR_INVALID, "provider_template",
                     "this template was synced from Meta: edit it in WhatsApp Manager and sync again");
        goto out;
    }
    if ((rc = merge(&v, in, &cur, e)) || (rc = template__check_content(t.channel, &v, e)))
        goto out;
    in_place = strcmp(cur.status, "draft") == 0 || strcmp(cur.status, "pending") == 0;
    v.version = in_place ? cur.version : t.version + 1;
    snprintf(v.status, sizeof(v.status), "draft");
    actor_str(v.created_by, sizeof(v.created_by), who);
    v.created_at = now;
    if ((rc = store_tx_begin(db, &tx, e)))
        goto out;
    rc = in_place ? store_template_version_edit(&tx, tenant_id, t.id, &v, now, e)
                  : store_template_version_add(&tx, tenant_id, t.id, t.version, &v, now, e);
    if ((rc = commit_or_rollback(&tx, rc, e)))
        goto out;
    snprintf(extra, sizeof(extra), ",\"previous_status\":\"%s\",\"new_version\":%s", cur.status,
             in_place ? "false" : "true");
    if (!in_place) { /* Meta's verdict was about the old content */
        t.provider_status[0] = '\0';
        t.provider_reason[0] = '\0';
    }
    t.version = v.version;
    snprintf(t.status, sizeof(t.status), "draft");
    t.updated_at = now;
    rc = audit(db, tenant_id, who, "template.update", &t, extra, e);
    if (rc == 0 && out)
        *out = t;
out:
    store_template_version_clear(&cur);
    store_template_version_clear(&v);
    return rc;
}

/* One workflow step: from -> to on the current version. */
static int step(struct store *db, const char *tenant_id, const char *id, const char *from, const char *to,
                const char *reason, const char *action, const char *what, const struct template_actor *who,
                struct store_template *out, struct err *e)
{
    struct store_template t;
    struct store_tx tx = {0};
    char actor[80];
    struct buf extra = {0};
    int64_t now = time_now_ms();
    int rc;

    if ((rc = store_template_get(db, tenant_id, id, &t, NULL, e)))
        return rc;
    if (strcmp(t.status, from) != 0)
        return err_set(e, ERR_CONFLICT, "invalid_state", "the template's version %lld is %s: only a %s one can %s",
                       (long long)t.version, t.status, from, what);
    actor_str(actor, sizeof(actor), who);
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = store_template_transition(&tx, tenant_id, t.id, t.version, from, to, actor, reason, now, e);
    if ((rc = commit_or_rollback(&tx, rc, e)))
        return rc;
    snprintf(t.status, sizeof(t.status), "%s", to);
    t.updated_at = now;
    if (reason) {
        buf_puts(&extra, ",\"reason\":");
        buf_json_str(&extra, reason);
    }
    rc = audit(db, tenant_id, who, action, &t, extra.data, e);
    buf_free(&extra);
    if (rc == 0 && out)
        *out = t;
    return rc;
}

int template_submit(struct store *db, const char *tenant_id, const char *id, const struct template_actor *who,
                    struct store_template *out, struct err *e)
{
    return step(db, tenant_id, id, "draft", "pending", NULL, "template.submit", "be submitted", who, out, e);
}

int template_approve(struct store *db, const char *tenant_id, const char *id, const struct template_actor *who,
                     struct store_template *out, struct err *e)
{
    return step(db, tenant_id, id, "pending", "approved", NULL, "template.approve", "be approved", who, out, e);
}

int template_reject(struct store *db, const char *tenant_id, const char *id, const char *reason,
                    const struct template_actor *who, struct store_template *out, struct err *e)
{
    int rc = template__check_reason(reason, e);
    return rc ? rc : step(db, tenant_id, id, "pending", "rejected", reason, "template.reject", "be rejected", who,
                          out, e);
}

int template_provider_status(struct store *db, const char *tenant_id, const char *id, const char *status,
                             const char *provider_id, const char *reason, struct err *e)
{
    int rc = store_template_provider_set(db, tenant_id, id, status, provider_id, reason, time_now_ms(), e);
    return rc ? rc : template_provider_audit(db, tenant_id, id, status, reason, e);
}

int template_provider_audit(struct store *db, const char *tenant_id, const char *id, const char *status,
                            const char *reason, struct err *e)
{
    struct store_template t;
    struct buf extra = {0};
    int rc;

    if ((rc = store_template_get(db, tenant_id, id, &t, NULL, e)))
        return rc;
    buf_puts(&extra, ",\"provider_status\":");
    buf_json_str(&extra, status);
    if (reason) {
        buf_puts(&extra, ",\"reason\":");
        buf_json_str(&extra, reason);
    }
    rc = audit(db, tenant_id, NULL, "template.provider_status", &t, extra.data, e);
    buf_free(&extra);
    return rc;
}

/* --------------------------------------------------------------- reads */

int template_get(struct store *db, const char *tenant_id, const char *id, struct store_template *out,
                 struct store_template_version *v, struct err *e)
{
    return store_template_get(db, tenant_id, id, out, v, e);
}

int template_list(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                  store_template_cb cb, void *ud, struct err *e)
{
    return store_template_list(db, tenant_id, channel, account_id, cb, ud, e);
}

int template_versions(struct store *db, const char *tenant_id, const char *id, store_template_version_cb cb,
                      void *ud, struct err *e)
{
    struct store_template t;
    int rc = store_template_get(db, tenant_id, id, &t, NULL, e);
    return rc ? rc : store_template_versions(db, tenant_id, id, cb, ud, e);
}

/* ---------------------------------------------------------------- send */

int template_sendable(const struct store_template *t)
{
    if (strcmp(t->status, "approved") != 0)
        return 0;
    return strcmp(t->channel, "whatsapp") != 0 || strcmp(t->provider_status, "approved") == 0;
}

void template_send_status(const struct store_template *t, char *out, size_t outlen)
{
    if (template_sendable(t))
        snprintf(out, outlen, "approved");
    else if (strcmp(t->status, "approved") != 0)
        snprintf(out, outlen, "%s", t->status);
    else if (!t->provider_status[0])
        snprintf(out, outlen, "not submitted to Meta");
    else
        snprintf(out, outlen, "%s at Meta", t->provider_status);
}

void template_rendered_free(struct template_rendered *r)
{
    buf_free(&r->text);
    buf_free(&r->subject);
    buf_free(&r->html);
}

int template_render_version(const struct store_template *t, const struct store_template_version *v,
                            const struct template_var *vars, size_t n, struct template_rendered *out,
                            struct err *e)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (v->header && *v->header) {
        if ((rc = template_render(v->header, vars, n, 0, &out->text, e)))
            goto fail;
        buf_puts(&out->text, "\n\n");
    }
    if ((rc = template_render(v->body, vars, n, 0, &out->text, e)))
        goto fail;
    if (v->footer && *v->footer) {
        buf_puts(&out->text, "\n\n");
        if ((rc = template_render(v->footer, vars, n, 0, &out->text, e)))
            goto fail;
    }
    if (strcmp(t->channel, "email") == 0) {
        if ((v->subject && (rc = template_render(v->subject, vars, n, 0, &out->subject, e))) ||
            (v->html && (rc = template_render(v->html, vars, n, 1, &out->html, e))))
            goto fail;
    }
    return 0;
fail:
    template_rendered_free(out);
    return rc;
}

/* ---------------------------------------------------------------- JSON */

static void str_or_null(struct buf *b, const char *key, const char *s)
{
    buf_printf(b, ",\"%s\":", key);
    buf_json_str(b, s && *s ? s : NULL);
}

void template_json(struct buf *b, const struct store_template *t, const struct store_template_version *v)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, t->id);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, t->channel);
    str_or_null(b, "account_id", t->account_id);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, t->name);
    buf_puts(b, ",\"language\":");
    buf_json_str(b, t->language);
    buf_puts(b, ",\"category\":");
    buf_json_str(b, t->category);
    buf_puts(b, ",\"source\":");
    buf_json_str(b, t->source);
    buf_printf(b, ",\"version\":%lld,\"status\":", (long long)t->version);
    buf_json_str(b, t->status);
    buf_printf(b, ",\"sendable\":%s,\"is_default\":%s", template_sendable(t) ? "true" : "false",
               t->is_default ? "true" : "false");
    buf_puts(b, ",\"provider\":");
    if (strcmp(t->channel, "whatsapp") == 0) {
        buf_puts(b, "{\"status\":");
        buf_json_str(b, t->provider_status[0] ? t->provider_status : NULL);
        str_or_null(b, "id", t->provider_id);
        str_or_null(b, "reason", t->provider_reason);
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    if (v) {
        buf_puts(b, ",\"body\":");
        buf_json_str(b, v->body);
        str_or_null(b, "header", v->header);
        str_or_null(b, "footer", v->footer);
        buf_puts(b, ",\"buttons\":");
        buf_puts(b, v->buttons && *v->buttons ? v->buttons : "null");
        str_or_null(b, "subject", v->subject);
        str_or_null(b, "html", v->html);
        buf_puts(b, ",\"variables\":");
        buf_puts(b, v->variables && *v->variables ? v->variables : "[]");
    }
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, t->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, t->updated_at);
    buf_putc(b, '}');
}

void template_version_json(struct buf *b, const struct store_template_version *v)
{
    buf_printf(b, "{\"version\":%lld,\"status\":", (long long)v->version);
    buf_json_str(b, v->status);
    buf_puts(b, ",\"body\":");
    buf_json_str(b, v->body);
    str_or_null(b, "header", v->header);
    str_or_null(b, "footer", v->footer);
    buf_puts(b, ",\"buttons\":");
    buf_puts(b, v->buttons && *v->buttons ? v->buttons : "null");
    str_or_null(b, "subject", v->subject);
    str_or_null(b, "html", v->html);
    buf_puts(b, ",\"variables\":");
    buf_puts(b, v->variables && *v->variables ? v->variables : "[]");
    buf_puts(b, ",\"created_by\":");
    buf_json_str(b, v->created_by);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, v->created_at);
    str_or_null(b, "submitted_by", v->submitted_by);
    buf_puts(b, ",\"submitted_at\":");
    buf_json_time(b, v->submitted_at);
    str_or_null(b, "decided_by", v->decided_by);
    buf_puts(b, ",\"decided_at\":");
    buf_json_time(b, v->decided_at);
    str_or_null(b, "reason", v->reason);
    buf_putc(b, '}');
}

/* ----------------------------------------------------- default e-mail */

static const char default_subject[] = "{{subject}}";
static const char default_body[] = "{{body}}\n\n--\nTo stop receiving these e-mails, unsubscribe: {{unsubscribe_link}}";
static const char default_html[] = "<!doctype html>\n<html><body>\n<p style=\"white-space:pre-line\">{{body}}</p>\n"
                                   "<hr>\n<p><small><a href=\"{{unsubscribe_link}}\">Unsubscribe</a></small></p>\n"
                                   "</body></html>\n";

int template_seed_default(struct store *db, const char *tenant_id, int *out_created, struct err *e)
{
    struct store_template t;
    struct store_template_version v;
    struct store_tx tx = {0};
    int64_t now = time_now_ms();
    int created = 0, rc;

    if (out_created)
        *out_created = 0;
    memset(&t, 0, sizeof(t));
    memset(&v, 0, sizeof(v));
    crypto_random_id(t.id, sizeof(t.id), "tpl");
    snprintf(t.channel, sizeof(t.channel), "email");
    snprintf(t.name, sizeof(t.name), "default");
    snprintf(t.language, sizeof(t.language), "en");
    snprintf(t.source, sizeof(t.source), "local");
    snprintf(t.status, sizeof(t.status), "approved");
    snprintf(t.created_by, sizeof(t.created_by), "system");
    t.version = 1;
    t.is_default = 1;
    t.created_at = t.updated_at = now;
    v.version = 1;
    v.body = (char *)default_body;
    v.subject = (char *)default_subject;
    v.html = (char *)default_html;
    v.variables = (char *)"[\"subject\",\"body\",\"unsubscribe_link\"]";
    snprintf(v.status, sizeof(v.status), "approved");
    snprintf(v.created_by, sizeof(v.created_by), "system");
    snprintf(v.decided_by, sizeof(v.decided_by), "system");
    v.created_at = v.decided_at = now;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = commit_or_rollback(&tx, store_template_insert_default(&tx, tenant_id, &t, &v, &created, e), e);
    if (rc == 0 && created)
        rc = audit(db, tenant_id, NULL, "template.create", &t, ",\"default\":true", e);
    if (rc == 0 && out_created)
        *out_created = created;
    return rc;
}

struct seed_all {
    struct store *db;
    struct err *e;
    int n;
};

static int seed_one(void *ud, const char *tenant_id)
{
    struct seed_all *s = ud;
    int created = 0, rc = template_seed_default(s->db, tenant_id, &created, s->e);
    s->n += created;
    return rc;
}

int template_seed_defaults(struct store *db, int *out_n, struct err *e)
{
    struct seed_all s = {db, e, 0};
    int rc = store_template_tenants_without_default(db, "email", seed_one, &s, e);
    if (out_n)
        *out_n = s.n;
    return rc;
}
