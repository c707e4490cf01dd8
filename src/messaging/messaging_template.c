/*
 * messaging_template: the provider side of message templates (the
 * templates and their workflow are src/template/'s).
 *
 * A sync lists the account's templates through its adapter (WhatsApp: Meta's
 * message_templates, with the account's decrypted credentials) and stores
 * them in one transaction: the outbound API reads status and body from the
 * store, never from the provider, so a send never waits on Meta. A template
 * Meta no longer lists is kept as "deleted" (only after a complete listing,
 * so a provider that stops mid-way cannot make approved templates vanish).
 * A template approved here is submitted to Meta with the account's
 * credentials; Meta's answer, and later its status webhooks
 * (messaging_inbound.c), set the template's provider status.
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"
#include "template/template.h"

int messaging_template_sync(struct messaging *m, const char *tenant_id, const char *account_id, int *out_count,
                            struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    struct arena *a = NULL;
    struct channel_templates tl;
    struct store_tx tx = {0};
    int rc, n = 0;

    if (out_count)
        *out_count = 0;
    if ((rc = messaging_account_get(m, tenant_id, account_id, &ref, e)))
        return rc;
    if (!ref->adapter->list_templates) {
        rc = err_set(e, ERR_INVALID, "templates_unsupported", "%s accounts have no provider templates to sync",
                     ref->acct.provider);
        goto out;
    }
    if (!channel_creds_get(&ref->creds, "waba_id")) {
        rc = err_set(e, ERR_INVALID, "waba_id_required",
                     "syncing templates needs the account's waba_id (WhatsApp Business Account id)");
        goto out;
    }
    a = arena_new();
    if ((rc = ref->adapter->list_templates(a, messaging_channel_env(m), &ref->creds, &tl, e)))
        goto out;
    int64_t now = time_now_ms();
    if ((rc = store_tx_begin(m->db, &tx, e)))
        goto out;
    for (size_t i = 0; i < tl.n; i++) {
        const struct channel_template *ct = &tl.items[i];
        if (strlen(ct->name) >= sizeof(((struct store_template *)0)->name) ||
            strlen(ct->language) >= sizeof(((struct store_template *)0)->language))
            continue; /* not something Meta can send either */
        if ((rc = store_template_sync_upsert(&tx, tenant_id, ref->acct.id, ref->acct.channel, ct->name,
                                             ct->language, ct->category, ct->body, ct->status, now, e)))
            goto out;
        n++;
    }
    if (tl.complete && (rc = store_template_mark_deleted(&tx, tenant_id, ref->acct.id, now, now, NULL, e)))
        goto out;
    rc = store_tx_commit(&tx, e);
    if (rc == 0 && out_count)
        *out_count = n;
out:
    store_tx_rollback(&tx); /* no-op after a commit */
    arena_free(a);
    messaging_account_release(ref);
    return rc;
}

int messaging_template_get(struct messaging *m, const char *tenant_id, const char *account_id, const char *name,
                           const char *language, struct store_template *out, struct store_template_version *v,
                           struct err *e)
{
    struct store_account sa;
    int rc;

    if ((rc = store_account_get(m->db, tenant_id, account_id, &sa, e)))
        return rc;
    rc = store_template_find(m->db, tenant_id, sa.channel, sa.id, name, language, out, v, e);
    if (rc == 0 && strcmp(out->account_id, sa.id) != 0) /* the channel's, not the account's */
        rc = err_set(e, ERR_NOTFOUND, NULL, "template not found");
    return rc;
}

int messaging_template_list(struct messaging *m, const char *tenant_id, const char *account_id,
                            store_template_cb cb, void *ud, struct err *e)
{
    struct store_account sa;
    int rc = store_account_get(m->db, tenant_id, account_id, &sa, e);
    if (rc == 0 && sa.removed_at)
        rc = err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    if (rc)
        return rc;
    return store_template_list(m->db, tenant_id, NULL, account_id, cb, ud, e);
}

void messaging_template_json(struct buf *b, const struct store_template *t, const struct store_template_version *v)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, t->id);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, t->name);
    buf_puts(b, ",\"language\":");
    buf_json_str(b, t->language);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, t->provider_status[0] ? t->provider_status : t->status);
    buf_puts(b, ",\"category\":");
    buf_json_str(b, t->category);
    buf_puts(b, ",\"body\":");
    buf_json_str(b, v && v->body ? v->body : "");
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, t->updated_at);
    buf_putc(b, '}');
}

/* The number of variables of a WhatsApp version ({{1}} … {{n}}). */
static int count_variables(const char *json)
{
    cJSON *arr = NULL;
    int n = 0;
    if (json && json_parse(&arr, json, strlen(json), NULL) == 0 && cJSON_IsArray(arr))
        n = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    return n;
}

int messaging_template_provider_submit(struct messaging *m, const char *tenant_id, const char *template_id,
                                       struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    struct store_template t;
    struct store_template_version v;
    struct channel_template_submit sub;
    struct channel_template_result res;
    struct err pe = {0};
    int rc;

    memset(&v, 0, sizeof(v));
    if ((rc = store_template_get(m->db, tenant_id, template_id, &t, &v, e)))
        goto out;
    if (strcmp(t.channel, "whatsapp") != 0 || strcmp(t.status, "approved") != 0 || !t.account_id[0] ||
        strcmp(t.source, "local") != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_state", "only an approved WhatsApp template of ours goes to Meta");
        goto out;
    }
    if ((rc = messaging_account_get(m, tenant_id, t.account_id, &ref, e))) {
        if (rc == ERR_NOTFOUND)
            err_set(e, ERR_NOTFOUND, "account_not_found", "the template's WhatsApp account was removed");
        goto out;
    }
    if (!ref->adapter->submit_template) {
        rc = err_set(e, ERR_INVALID, "templates_unsupported", "%s accounts take no templates", ref->acct.provider);
        goto out;
    }
    memset(&sub, 0, sizeof(sub));
    sub.provider_id = t.provider_id[0] ? t.provider_id : NULL;
    sub.name = t.name;
    sub.language = t.language;
    sub.category = t.category[0] ? t.category : "UTILITY";
    sub.header = v.header;
    sub.body = v.body;
    sub.footer = v.footer;
    sub.buttons = v.buttons;
    sub.nvariables = count_variables(v.variables);
    rc = ref->adapter->submit_template(messaging_channel_env(m), &ref->creds, &sub, &res, &pe);
    if (rc) {
        /* Kept so the template says why it cannot be sent, and a submit retries. */
        struct err se = {0};
        (void)template_provider_status(m->db, tenant_id, t.id, "submit_failed", NULL, pe.msg, &se);
        if (e)
            *e = pe;
        goto out;
    }
    rc = template_provider_status(m->db, tenant_id, t.id, res.status, res.provider_id[0] ? res.provider_id : NULL,
                                  NULL, e);
out:
    messaging_account_release(ref);
    store_template_version_clear(&v);
    return rc;
}
