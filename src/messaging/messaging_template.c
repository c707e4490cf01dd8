/*
 * messaging_template: provider message templates of a channel account.
 *
 * A sync lists the account's templates through its adapter (WhatsApp: Meta's
 * message_templates, with the account's decrypted credentials) and stores
 * them in one transaction: the outbound API reads status and body from the
 * store, never from the provider, so a send never waits on Meta. A template
 * Meta no longer lists is kept as "deleted" (only after a complete listing,
 * so a provider that stops mid-way cannot make approved templates vanish).
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

int messaging_template_sync(struct messaging *m, const char *tenant_id, const char *account_id, int *out_count,
                            struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    struct arena *a = NULL;
    struct channel_templates tl;
    struct store_template *t = NULL;
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
    t = malloc(sizeof(*t));
    if (!t) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = ref->adapter->list_templates(a, messaging_channel_env(m), &ref->creds, &tl, e)))
        goto out;
    int64_t now = time_now_ms();
    if ((rc = store_tx_begin(m->db, &tx, e)))
        goto out;
    for (size_t i = 0; i < tl.n; i++) {
        const struct channel_template *ct = &tl.items[i];
        if (strlen(ct->name) >= sizeof(t->name) || strlen(ct->language) >= sizeof(t->language))
            continue; /* not something Meta can send either */
        memset(t, 0, sizeof(*t));
        memcpy(t->account_id, ref->acct.id, sizeof(t->account_id));
        memcpy(t->name, ct->name, strlen(ct->name) + 1);
        memcpy(t->language, ct->language, strlen(ct->language) + 1);
        snprintf(t->category, sizeof(t->category), "%s", ct->category);
        snprintf(t->status, sizeof(t->status), "%s", ct->status);
        snprintf(t->body, sizeof(t->body), "%s", ct->body);
        t->updated_at = now;
        if ((rc = store_template_upsert(&tx, tenant_id, t, e)))
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
    free(t);
    arena_free(a);
    messaging_account_release(ref);
    return rc;
}

int messaging_template_get(struct messaging *m, const char *tenant_id, const char *account_id, const char *name,
                           const char *language, struct store_template *out, struct err *e)
{
    return store_template_get(m->db, tenant_id, account_id, name, language, out, e);
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
    return store_template_list(m->db, tenant_id, account_id, cb, ud, e);
}

void messaging_template_json(struct buf *b, const struct store_template *t)
{
    buf_puts(b, "{\"name\":");
    buf_json_str(b, t->name);
    buf_puts(b, ",\"language\":");
    buf_json_str(b, t->language);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, t->status);
    buf_puts(b, ",\"category\":");
    buf_json_str(b, t->category);
    buf_puts(b, ",\"body\":");
    buf_json_str(b, t->body);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, t->updated_at);
    buf_putc(b, '}');
}
