/*
 * store compliance: the opt-out list (STOP and friends), per channel account.
 *
 * An opt-out is keyed by (account, normalised address), so it binds exactly
 * the sender the customer answered and survives contact merges. Writes take
 * the caller's transaction: the inbound job records the opt-out together
 * with the message that asked for it.
 */
#include <stdint.h>
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
struct suppression_iter {
    store_suppression_cb cb;
    void *ud;
};

static int row_suppression_iter(void *ud, const struct store_row *r)
{
    struct suppression_iter *it = ud;
    struct store_suppression s;

    memset(&s, 0, sizeof(s));
    row_suppression(&s, r);
    return it->cb(it->ud, &s);
}

int store_suppression_list(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           const char *source, int64_t before_at, const char *before_channel,
                           const char *before_address, int limit, store_suppression_cb cb, void *ud,
                           struct err *e)
{
    struct suppression_iter it = {cb, ud};
    struct store_param p[11];

    if (before_at <= 0) {
        before_at = INT64_MAX;
        before_channel = "";
        before_address = "";
    }
    p[0] = store__ptext(tenant_id ? tenant_id : "");
    p[1] = store__ptext(channel ? channel : "");
    p[2] = store__ptext(channel ? channel : "");
    p[3] = store__ptext(address ? address : "");
    p[4] = store__ptext(address ? address : "");
    p[5] = store__ptext(source ? source : "");
    p[6] = store__ptext(source ? source : "");
    p[7] = store__pint(before_at);
    p[8] = store__ptext(before_channel ? before_channel : "");
    p[9] = store__ptext(before_address ? before_address : "");
    p[10] = store__pint(limit > 0 ? limit : 50);
    return store__list(db,
                       "SELECT tenant_id, channel, address, reason, source, created_by, created_at FROM suppressions"
                       " WHERE tenant_id = ? AND (? = '' OR channel = ?) AND (? = '' OR address = ?)"
                       " AND (? = '' OR source = ?) AND (created_at, channel, address) < (?, ?, ?)"
                       " ORDER BY created_at DESC, channel DESC, address DESC LIMIT ?",
                       p, 11, row_suppression_iter, &it, e);
}

int store_suppression_delete(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                             struct store_suppression *out, int *out_removed, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id ? tenant_id : ""), store__ptext(channel ? channel : ""),
                               store__ptext(address ? address : "")};
    struct store_suppression s;
    int64_t changed = 0;
    int rc;

    if (out_removed)
        *out_removed = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    memset(&s, 0, sizeof(s));
    if ((rc = store__q(tx->db, tx->c,
                       "SELECT tenant_id, channel, address, reason, source, created_by, created_at FROM suppressions"
                       " WHERE tenant_id = ? AND channel = ? AND address = ?",
                       p, 3, row_suppression, &s, &changed, e)))
        return rc;
    if (changed == 0)
        return 0;
    if ((rc = store__q(tx->db, tx->c, "DELETE FROM suppressions WHERE tenant_id = ? AND channel = ? AND address = ?",
                       p, 3, NULL, NULL, &changed, e)))
        return rc;
    if (out_removed)
        *out_removed = changed > 0;
    if (out)
        *out = s;
    return 0;
}

/* --------------------------------------------------------------- reviews */

#define REVIEW_COLS                                                                                          \
    "id, account_id, channel, address, message_id, excerpt, phrase, status, resolved_by, created_at,"       \
    " resolved_at"

static int row_review(void *ud, const struct store_row *r)
{
    struct store_review *v = ud;

    memset(v, 0, sizeof(*v));
    store__cpy(v->id, sizeof(v->id), store__col_text(r, 0));
    store__cpy(v->account_id, sizeof(v->account_id), store__col_text(r, 1));
    store__cpy(v->channel, sizeof(v->channel), store__col_text(r, 2));
    store__cpy(v->address, sizeof(v->address), store__col_text(r, 3));
    store__cpy(v->message_id, sizeof(v->message_id), store__col_text(r, 4));
    store__cpy(v->excerpt, sizeof(v->excerpt), store__col_text(r, 5));
    store__cpy(v->phrase, sizeof(v->phrase), store__col_text(r, 6));
    store__cpy(v->status, sizeof(v->status), store__col_text(r, 7));
    store__cpy(v->resolved_by, sizeof(v->resolved_by), store__col_text(r, 8));
    v->created_at = store__col_int(r, 9);
    v->resolved_at = store__col_int(r, 10);
    return 0;
}

int store_review_put(struct store_tx *tx, const char *tenant_id, const struct store_review *r, int *out_created,
                     struct err *e)
{
    struct store_param p[9] = {store__ptext(r->id),         store__ptext(tenant_id),      store__ptext(r->account_id),
                               store__ptext(r->channel),    store__ptext(r->address),     store__ptext(r->message_id),
                               store__ptext(r->excerpt),    store__ptext(r->phrase),      store__pint(r->created_at)};
    int64_t changed = 0;
    int rc;

    if (out_created)
        *out_created = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(r->id, "review id", e)) ||
        (rc = store__need(r->message_id, "message id", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO compliance_reviews (id, tenant_id, account_id, channel, address, message_id, excerpt,"
                  " phrase, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)"
                  " ON CONFLICT (tenant_id, message_id) DO NOTHING",
                  p, 9, NULL, NULL, &changed, e);
    if (rc == 0 && out_created)
        *out_created = changed > 0;
    return rc;
}

struct review_iter {
    store_review_cb cb;
    void *ud;
};

static int row_review_iter(void *ud, const struct store_row *r)
{
    struct review_iter *it = ud;
    struct store_review v;

    row_review(&v, r);
    return it->cb(it->ud, &v);
}

int store_review_list(struct store *db, const char *tenant_id, const char *status, const char *before_id, int limit,
                      store_review_cb cb, void *ud, struct err *e)
{
    struct review_iter it = {cb, ud};
    struct store_param p[6];
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(status ? status : "");
    p[2] = store__ptext(status ? status : "");
    p[3] = store__ptext(before_id ? before_id : "");
    p[4] = store__ptext(before_id ? before_id : "");
    p[5] = store__pint(limit > 0 ? limit : 50);
    return store__list(db,
                       "SELECT " REVIEW_COLS " FROM compliance_reviews WHERE tenant_id = ? AND (? = '' OR status = ?)"
                       " AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?",
                       p, 6, row_review_iter, &it, e);
}

int store_review_resolve(struct store_tx *tx, const char *tenant_id, const char *id, const char *status,
                         const char *resolved_by, int64_t at, struct store_review *out, struct err *e)
{
    struct store_param up[5] = {store__ptext(status), store__pint(at), store__ptext_or_null(resolved_by),
                                store__ptext(tenant_id), store__ptext(id)};
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    int64_t changed = 0, found = 0;
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "review id", e)))
        return rc;
    if ((rc = store__q(tx->db, tx->c,
                       "UPDATE compliance_reviews SET status = ?, resolved_at = ?, resolved_by = ?"
                       " WHERE tenant_id = ? AND id = ? AND status = 'open'",
                       up, 5, NULL, NULL, &changed, e)))
        return rc;
    if ((rc = store__q(tx->db, tx->c, "SELECT " REVIEW_COLS " FROM compliance_reviews WHERE tenant_id = ? AND id = ?",
                       p, 2, row_review, out, &found, e)))
        return rc;
    if (found == 0)
        return err_set(e, ERR_NOTFOUND, "review_not_found", "no such review item");
    if (changed == 0)
        return err_set(e, ERR_CONFLICT, "review_resolved", "the review item was already resolved (%s)", out->status);
    return 0;
}

/* ----------------------------------------------------- settings, listed */

struct setting_iter {
    store_setting_cb cb;
    void *ud;
};

static int row_setting_iter(void *ud, const struct store_row *r)
{
    struct setting_iter *it = ud;
    return it->cb(it->ud, store__col_text(r, 0), store__col_text(r, 1));
}

int store_setting_list(struct store *db, const char *tenant_id, const char *prefix, store_setting_cb cb, void *ud,
                       struct err *e)
{
    struct setting_iter it = {cb, ud};
    struct store_param p[3];
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__pint((int64_t)strlen(prefix ? prefix : ""));
    p[2] = store__ptext(prefix ? prefix : "");
    return store__list(db,
                       "SELECT name, value FROM tenant_settings WHERE tenant_id = ? AND substr(name, 1, ?) = ?"
                       " ORDER BY name",
                       p, 3, row_setting_iter, &it, e);
}
