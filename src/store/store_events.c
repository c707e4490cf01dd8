/*
 * store events: the realtime event log that WebSocket clients read and
 * resume from (table events, migration 0003).
 *
 * Invariants: a tenant's seq runs 1, 2, … in commit order without gaps.
 * Appends compute last + 1 inside the caller's write transaction while it
 * holds the event-log lock (BEGIN IMMEDIATE serialises every writer on
 * SQLite; PostgreSQL takes one advisory transaction lock for the whole log,
 * released only at commit or rollback), so a reader that has seen seq n can
 * never later find a seq below n appear. One lock for every tenant rather
 * than one per tenant: a worker batch or a group commit appends events of
 * many tenants in one transaction, and per-tenant locks taken in different
 * orders by two such transactions would deadlock. Pruning keeps each
 * tenant's newest row, because that row is where the next seq continues.
 */
#include <string.h>

#include "store/store_int.h"

int store_event_append(struct store_tx *tx, const char *tenant_id, const char *type, const char *data,
                       int64_t created_at, int64_t *out_seq, struct err *e)
{
    struct store *db = tx->db;
    struct store_param p[5];
    int64_t last = 0;
    int rc;

    if (out_seq)
        *out_seq = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(type, "event type", e)) ||
        (rc = store__need(data, "event data", e)))
        return rc;
    p[0] = store__ptext(tenant_id);
    if (db->be->event_lock_sql) {
        rc = store__q(db, tx->c, db->be->event_lock_sql, NULL, 0, NULL, NULL, NULL, e);
        if (rc)
            return rc;
    }
    rc = store__q(db, tx->c, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?", p, 1, store__row_int,
                  &last, NULL, e);
    if (rc)
        return rc;
    p[1] = store__pint(last + 1);
    p[2] = store__ptext(type);
    p[3] = store__ptext(data);
    p[4] = store__pint(created_at > 0 ? created_at : time_now_ms());
    rc = store__q(db, tx->c, "INSERT INTO events (tenant_id, seq, type, data, created_at) VALUES (?, ?, ?, ?, ?)", p,
                  5, NULL, NULL, NULL, e);
    if (rc == ERR_INVALID)
        return err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    if (rc == 0 && out_seq)
        *out_seq = last + 1;
    return rc;
}

struct event_iter {
    store_event_cb cb;
    void *ud;
};

static int row_event_cb(void *ud, const struct store_row *r)
{
    struct event_iter *it = ud;
    struct store_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.seq = store__col_int(r, 0);
    store__cpy(ev.tenant_id, sizeof(ev.tenant_id), store__col_text(r, 1));
    store__cpy(ev.type, sizeof(ev.type), store__col_text(r, 2));
    ev.data = store__col_text(r, 3);
    ev.created_at = store__col_int(r, 4);
    return it->cb(it->ud, &ev);
}

int store_event_list(struct store *db, const char *tenant_id, int64_t after_seq, int limit, store_event_cb cb,
                     void *ud, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__pint(after_seq),
                               store__pint(limit > 0 ? limit : INT64_MAX)};
    struct event_iter it = {cb, ud};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db,
                       "SELECT seq, tenant_id, type, data, created_at FROM events WHERE tenant_id = ? AND seq > ?"
                       " ORDER BY seq LIMIT ?",
                       p, 3, row_event_cb, &it, e);
}

struct event_bounds {
    int64_t first, last;
};

static int row_event_bounds(void *ud, const struct store_row *r)
{
    struct event_bounds *b = ud;
    b->first = store__col_int(r, 0);
    b->last = store__col_int(r, 1);
    return 0;
}

int store_event_bounds(struct store *db, const char *tenant_id, int64_t *out_first, int64_t *out_last,
                       struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct event_bounds b = {0, 0};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc == 0)
        rc = store__list(db, "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM events WHERE tenant_id = ?", p,
                         1, row_event_bounds, &b, e);
    if (out_first)
        *out_first = rc ? 0 : b.first;
    if (out_last)
        *out_last = rc ? 0 : b.last;
    return rc;
}

int store_event_prune(struct store *db, int64_t before_ms, int limit, int64_t *out_deleted, struct err *e)
{
    struct store_param p[2] = {store__pint(before_ms), store__pint(limit > 0 ? limit : 1000)};
    struct store_conn *c = NULL;
    int64_t any = 0, deleted = 0;
    int rc;

    if (out_deleted)
        *out_deleted = 0;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    /* Look before deleting: on SQLite a DELETE takes the database's one
     * write lock even when it matches nothing, and this runs periodically. */
    rc = store__q(db, c, "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE created_at < ? LIMIT 1) AS old", p, 1,
                  store__row_int, &any, NULL, e);
    if (rc == 0 && any > 0)
        rc = store__q(db, c,
                      "DELETE FROM events WHERE (tenant_id, seq) IN (SELECT o.tenant_id, o.seq FROM events o"
                      " WHERE o.created_at < ? AND o.seq < (SELECT MAX(n.seq) FROM events n"
                      " WHERE n.tenant_id = o.tenant_id) ORDER BY o.created_at LIMIT ?)",
                      p, 2, NULL, NULL, &deleted, e);
    store__pool_put(db, c);
    if (rc == 0 && out_deleted)
        *out_deleted = deleted;
    return rc;
}
