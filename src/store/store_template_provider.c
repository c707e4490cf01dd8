/*
 * store template provider: what Meta says about WhatsApp templates (the
 * SQL behind the sync, the submission's answer and the status webhook).
 *
 * Invariants: every query filters by the tenant id argument; a listing
 * never touches the content of a template written here (only its Meta
 * status, category and sync time), and only templates that came from Meta
 * (source "provider") take Meta's body.
 */
#include <string.h>

#include "store/store_int.h"

static int need_tx(const struct store_tx *tx, struct err *e)
{
    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return 0;
}

/* Row callback: column 0 into a CORE_ID_MAX buffer. */
static int row_id_one(void *ud, const struct store_row *r)
{
    store__cpy(ud, CORE_ID_MAX, store__col_text(r, 0));
    return 0;
}

int store_template_provider_set(struct store *db, const char *tenant_id, const char *id, const char *status,
                                const char *provider_id, const char *reason, int64_t now, struct err *e)
{
    struct store_param p[6] = {store__ptext(status),         store__ptext_or_null(provider_id),
                               store__ptext_or_null(reason), store__pint(now),
                               store__ptext(tenant_id),      store__ptext(id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "template id", e)) ||
        (rc = store__need(status, "provider status", e)))
        return rc;
    return store__write_one(db,
                            "UPDATE templates SET provider_status = ?, provider_id = COALESCE(?, provider_id),"
                            " provider_reason = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                            p, 6, "template", e);
}

int store_template_provider_update_tx(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                      const char *provider_id, const char *name, const char *language,
                                      const char *status, const char *reason, int64_t now, int *out_found,
                                      char out_id[CORE_ID_MAX], struct err *e)
{
    const char *pid = provider_id ? provider_id : "";
    struct store_param p[7] = {store__ptext(tenant_id), store__ptext(account_id), store__ptext(pid),
                               store__ptext(pid),       store__ptext(pid),        store__ptext(name ? name : ""),
                               store__ptext(language ? language : "")};
    char id[CORE_ID_MAX] = "";
    int rc;

    *out_found = 0;
    out_id[0] = '\0';
    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(account_id, "account id", e)) || (rc = store__need(status, "provider status", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "SELECT id FROM templates WHERE tenant_id = ? AND account_id = ?"
                  " AND ((? <> '' AND provider_id = ?) OR ((? = '' OR provider_id IS NULL) AND name = ?"
                  " AND language = ?)) ORDER BY id LIMIT 1",
                  p, 7, row_id_one, id, NULL, e);
    if (rc || !id[0])
        return rc;
    struct store_param q[6] = {store__ptext(status),         store__ptext_or_null(provider_id),
                               store__ptext_or_null(reason), store__pint(now),
                               store__ptext(tenant_id),      store__ptext(id)};
    rc = store__q(tx->db, tx->c,
                  "UPDATE templates SET provider_status = ?, provider_id = COALESCE(?, provider_id),"
                  " provider_reason = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                  q, 6, NULL, NULL, NULL, e);
    if (rc == 0) {
        *out_found = 1;
        store__cpy(out_id, CORE_ID_MAX, id);
    }
    return rc;
}

int store_template_sync_upsert(struct store_tx *tx, const char *tenant_id, const char *account_id,
                               const char *channel, const char *name, const char *language, const char *category,
                               const char *body, const char *status, int64_t now, struct err *e)
{
    struct store_param p[4];
    char id[CORE_ID_MAX] = "";
    int64_t found = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(account_id, "account id", e)) || (rc = store__need(name, "template name", e)) ||
        (rc = store__need(language, "template language", e)) || (rc = store__need(status, "status", e)))
        return rc;
    /* The account must be the tenant's: templates(account_id) alone would
     * let one tenant attach rows to another's account. */
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(account_id);
    rc = store__q(tx->db, tx->c, "SELECT count(*) FROM channel_accounts WHERE tenant_id = ? AND id = ?", p, 2,
                  store__row_int, &found, NULL, e);
    if (rc == 0 && found == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    if (rc)
        return rc;
    p[0] = store__ptext(account_id);
    p[1] = store__ptext(name);
    p[2] = store__ptext(language);
    p[3] = store__ptext(tenant_id);
    if ((rc = store__q(tx->db, tx->c,
                       "SELECT id FROM templates WHERE account_id = ? AND name = ? AND language = ? AND tenant_id = ?",
                       p, 4, row_id_one, id, NULL, e)))
        return rc;
    if (!id[0]) {
        struct store_template t;
        struct store_template_version v;
        memset(&t, 0, sizeof(t));
        memset(&v, 0, sizeof(v));
        crypto_random_id(t.id, sizeof(t.id), "tpl");
        store__cpy(t.channel, sizeof(t.channel), channel);
        store__cpy(t.account_id, sizeof(t.account_id), account_id);
        store__cpy(t.name, sizeof(t.name), name);
        store__cpy(t.language, sizeof(t.language), language);
        store__cpy(t.category, sizeof(t.category), category ? category : "");
        store__cpy(t.source, sizeof(t.source), "provider");
        store__cpy(t.status, sizeof(t.status), "approved");
        store__cpy(t.provider_status, sizeof(t.provider_status), status);
        store__cpy(t.created_by, sizeof(t.created_by), "provider");
        t.version = 1;
        t.created_at = t.updated_at = now;
        v.version = 1;
        v.body = (char *)(body ? body : "");
        store__cpy(v.status, sizeof(v.status), "approved");
        store__cpy(v.created_by, sizeof(v.created_by), "provider");
        store__cpy(v.decided_by, sizeof(v.decided_by), "provider");
        v.created_at = v.decided_at = now;
        if ((rc = store_template_insert(tx, tenant_id, &t, &v, e)))
            return rc;
        store__cpy(id, sizeof(id), t.id);
    }
    struct store_param q[6] = {store__ptext(category ? category : ""), store__ptext(status), store__pint(now),
                               store__pint(now), store__ptext(tenant_id), store__ptext(id)};
    if ((rc = store__q(tx->db, tx->c,
                       "UPDATE templates SET category = ?, provider_status = ?, synced_at = ?, updated_at = ?"
                       " WHERE tenant_id = ? AND id = ?",
                       q, 6, NULL, NULL, NULL, e)))
        return rc;
    struct store_param b[3] = {store__ptext(body ? body : ""), store__ptext(tenant_id), store__ptext(id)};
    return store__q(tx->db, tx->c,
                    "UPDATE template_versions SET body = ? WHERE tenant_id = ? AND template_id = ?"
                    " AND version = 1 AND created_by = 'provider'",
                    b, 3, NULL, NULL, NULL, e);
}

int store_template_mark_deleted(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t before,
                                int64_t now, int64_t *out_n, struct err *e)
{
    struct store_param p[4] = {store__pint(now), store__ptext(tenant_id), store__ptext(account_id),
                               store__pint(before)};
    int64_t rows = 0;
    int rc;

    if (out_n)
        *out_n = 0;
    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(account_id, "account id", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "UPDATE templates SET provider_status = 'deleted', updated_at = ?"
                  " WHERE tenant_id = ? AND account_id = ? AND synced_at > 0 AND synced_at < ?"
                  " AND provider_status <> 'deleted'",
                  p, 4, NULL, NULL, &rows, e);
    if (rc == 0 && out_n)
        *out_n = rows;
    return rc;
}
