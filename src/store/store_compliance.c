/*
 * store compliance: the opt-out list (STOP and friends), per channel account.
 *
 * An opt-out is keyed by (account, normalised address), so it binds exactly
 * the sender the customer answered and survives contact merges. Writes take
 * the caller's transaction: the inbound job records the opt-out together
 * with the message that asked for it.
 */
#include <string.h>

#include "store/store_int.h"

int store_opt_out_put(struct store_tx *tx, const char *tenant_id, const struct store_opt_out *o, struct err *e)
{
    struct store_param p[6] = {store__ptext(tenant_id),  store__ptext(o->account_id), store__ptext(o->address),
                               store__ptext(o->keyword), store__ptext(o->source),     store__pint(o->created_at)};
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(o->account_id, "account id", e)) ||
        (rc = store__need(o->address, "address", e)) || (rc = store__need(o->source, "source", e)))
        return rc;
    return store__q(tx->db, tx->c,
                    "INSERT INTO opt_outs (tenant_id, account_id, address, keyword, source, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, address) DO UPDATE SET"
                    " keyword = excluded.keyword, source = excluded.source, created_at = excluded.created_at"
                    " WHERE opt_outs.tenant_id = excluded.tenant_id",
                    p, 6, NULL, NULL, NULL, e);
}

int store_opt_out_delete(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                         int *out_removed, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__ptext(account_id), store__ptext(address)};
    int64_t changed = 0;
    int rc;

    if (out_removed)
        *out_removed = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    rc = store__q(tx->db, tx->c, "DELETE FROM opt_outs WHERE tenant_id = ? AND account_id = ? AND address = ?", p, 3,
                  NULL, NULL, &changed, e);
    if (rc == 0 && out_removed)
        *out_removed = changed > 0;
    return rc;
}

static int row_opt_out(void *ud, const struct store_row *r)
{
    struct store_opt_out *o = ud;

    store__cpy(o->account_id, sizeof(o->account_id), store__col_text(r, 0));
    store__cpy(o->address, sizeof(o->address), store__col_text(r, 1));
    store__cpy(o->keyword, sizeof(o->keyword), store__col_text(r, 2));
    store__cpy(o->source, sizeof(o->source), store__col_text(r, 3));
    o->created_at = store__col_int(r, 4);
    return 0;
}

int store_opt_out_get(struct store *db, const char *tenant_id, const char *account_id, const char *address,
                      struct store_opt_out *out, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__ptext(account_id), store__ptext(address)};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db,
                          "SELECT account_id, address, keyword, source, created_at FROM opt_outs"
                          " WHERE tenant_id = ? AND account_id = ? AND address = ?",
                          p, 3, row_opt_out, out, "opt-out", e);
}

/* ----------------------------------------------------------- suppressions */

int store_suppression_put(struct store_tx *tx, const struct store_suppression *s, struct err *e)
{
    struct store_param p[7] = {store__ptext(s->tenant_id), store__ptext(s->channel),  store__ptext(s->address),
                               store__ptext(s->reason),    store__ptext(s->source),   store__ptext_or_null(s->created_by),
                               store__pint(s->created_at)};
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(s->channel, "channel", e)) || (rc = store__need(s->address, "address", e)) ||
        (rc = store__need(s->source, "source", e)))
        return rc;
    return store__q(tx->db, tx->c,
                    "INSERT INTO suppressions (tenant_id, channel, address, reason, source, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, channel, address) DO UPDATE SET"
                    " reason = excluded.reason, source = excluded.source, created_by = excluded.created_by,"
                    " created_at = excluded.created_at",
                    p, 7, NULL, NULL, NULL, e);
}

static int row_suppression(void *ud, const struct store_row *r)
{
    struct store_suppression *s = ud;

    store__cpy(s->tenant_id, sizeof(s->tenant_id), store__col_text(r, 0));
    store__cpy(s->channel, sizeof(s->channel), store__col_text(r, 1));
    store__cpy(s->address, sizeof(s->address), store__col_text(r, 2));
    store__cpy(s->reason, sizeof(s->reason), store__col_text(r, 3));
    store__cpy(s->source, sizeof(s->source), store__col_text(r, 4));
    store__cpy(s->created_by, sizeof(s->created_by), store__col_text(r, 5));
    s->created_at = store__col_int(r, 6);
    return 0;
}

int store_suppression_find(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           struct store_suppression *out, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id ? tenant_id : ""), store__ptext(channel), store__ptext(address)};

    memset(out, 0, sizeof(*out));
    return store__get_one(db,
                          "SELECT tenant_id, channel, address, reason, source, created_by, created_at FROM suppressions"
                          " WHERE tenant_id IN (?, '') AND channel IN (?, '*') AND address = ?"
                          " ORDER BY tenant_id DESC, channel DESC LIMIT 1",
                          p, 3, row_suppression, out, "suppression", e);
}

int store_suppression_delete_source(struct store_tx *tx, const char *tenant_id, const char *channel,
                                    const char *address, const char *source, int *out_deleted, struct err *e)
{
    struct store_param p[4] = {store__ptext(tenant_id), store__ptext(channel), store__ptext(address),
                               store__ptext(source)};
    int64_t changed = 0;
    int rc;

    if (out_deleted)
        *out_deleted = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant", e)) || (rc = store__need(channel, "channel", e)) ||
        (rc = store__need(address, "address", e)) || (rc = store__need(source, "source", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "DELETE FROM suppressions WHERE tenant_id = ? AND channel = ? AND address = ? AND source = ?", p, 4,
                  NULL, NULL, &changed, e);
    if (rc == 0 && out_deleted)
        *out_deleted = changed > 0;
    return rc;
}
