/*
 * store_monitoring: the aggregate reads behind GET /api/v1/monitoring/summary.
 * Every query is bounded by tenant and a time range on an index
 * (messages_tenant_created, message_events_tenant_received), groups in the
 * database and returns a handful of rows, whatever the traffic.
 */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

struct agg {
    store_agg_cb cb;
    void *ud;
    int nkeys;
};

static int row_agg(void *ud, const struct store_row *r)
{
    struct agg *a = ud;
    struct store_agg_row row;

    memset(&row, 0, sizeof(row));
    store__cpy(row.k1, sizeof(row.k1), store__col_text(r, 0));
    if (a->nkeys > 1)
        store__cpy(row.k2, sizeof(row.k2), store__col_text(r, 1));
    if (a->nkeys > 2)
        store__cpy(row.k3, sizeof(row.k3), store__col_text(r, 2));
    row.n = store__col_int(r, a->nkeys);
    return a->cb(a->ud, &row);
}

static int need_range(const char *tenant_id, int64_t from, int64_t to, struct err *e)
{
    int rc = store__need(tenant_id, "tenant id", e);
    if (rc == 0 && to <= from)
        rc = err_set(e, ERR_INVALID, "invalid_range", "the range must end after it starts");
    return rc;
}

/* The optional channel filter: "" matches every channel. */
#define CHANNEL_FILTER " AND (? = '' OR a.channel = ?)"

int store_monitor_messages(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           store_agg_cb cb, void *ud, struct err *e)
{
    struct store_param p[5] = {store__ptext(tenant_id), store__pint(from), store__pint(to),
                               store__ptext(channel ? channel : ""), store__ptext(channel ? channel : "")};
    struct agg a = {cb, ud, 3};
    int rc = need_range(tenant_id, from, to, e);

    if (rc)
        return rc;
    return store__list(db,
                       "SELECT a.channel, m.direction, m.status, COUNT(*) FROM messages m"
                       " JOIN channel_accounts a ON a.id = m.account_id"
                       " WHERE m.tenant_id = ? AND m.created_at >= ? AND m.created_at < ?" CHANNEL_FILTER
                       " GROUP BY a.channel, m.direction, m.status ORDER BY a.channel, m.direction, m.status",
                       p, 5, row_agg, &a, e);
}

int store_monitor_failures(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           int limit, store_agg_cb cb, void *ud, struct err *e)
{
    struct store_param p[6] = {store__ptext(tenant_id), store__pint(from), store__pint(to),
                               store__ptext(channel ? channel : ""), store__ptext(channel ? channel : ""),
                               store__pint(limit > 0 ? limit : 20)};
    struct agg a = {cb, ud, 3};
    int rc = need_range(tenant_id, from, to, e);

    if (rc)
        return rc;
    /* k2 is empty: the reason is k3. */
    return store__list(db,
                       "SELECT a.channel, '', COALESCE(m.error_code, ''), COUNT(*) FROM messages m"
                       " JOIN channel_accounts a ON a.id = m.account_id"
                       " WHERE m.tenant_id = ? AND m.created_at >= ? AND m.created_at < ?" CHANNEL_FILTER
                       " AND m.status IN ('failed', 'undelivered')"
                       " GROUP BY a.channel, COALESCE(m.error_code, '')"
                       " ORDER BY COUNT(*) DESC, a.channel, COALESCE(m.error_code, '') LIMIT ?",
                       p, 6, row_agg, &a, e);
}

int store_monitor_latency(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                          const int64_t *bounds_ms, int nbounds, store_agg_cb cb, void *ud, struct err *e)
{
    struct store_param p[5] = {store__ptext(tenant_id), store__pint(from), store__pint(to),
                               store__ptext(channel ? channel : ""), store__ptext(channel ? channel : "")};
    struct agg a = {cb, ud, 2};
    struct buf sql = {0};
    int rc = need_range(tenant_id, from, to, e);

    if (rc)
        return rc;
    if (nbounds < 1 || nbounds > 32)
        return err_set(e, ERR_INVALID, NULL, "store: 1 to 32 latency buckets");
    /* The bucket is computed in the database: only (provider, bucket, n) rows come back. */
    buf_puts(&sql, "SELECT provider, bucket, COUNT(*) FROM (SELECT a.provider AS provider, CASE");
    for (int i = 0; i < nbounds; i++)
        buf_printf(&sql, " WHEN ev.received_at - ev.provider_ts <= %lld THEN '%lld'", (long long)bounds_ms[i],
                   (long long)bounds_ms[i]);
    buf_puts(&sql, " ELSE '+Inf' END AS bucket FROM message_events ev"
                   " JOIN messages m ON m.id = ev.message_id"
                   " JOIN channel_accounts a ON a.id = m.account_id"
                   " WHERE ev.tenant_id = ? AND ev.received_at >= ? AND ev.received_at < ?"
                   " AND ev.provider_ts > 0" CHANNEL_FILTER ") t GROUP BY provider, bucket");
    rc = store__list(db, sql.data, p, 5, row_agg, &a, e);
    buf_free(&sql);
    return rc;
}

int store_monitor_jobs(struct store *db, const char *tenant_id, store_agg_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct agg a = {cb, ud, 2};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db,
                       "SELECT state, type, COUNT(*) FROM jobs WHERE tenant_id = ?"
                       " AND state IN ('queued', 'running', 'dead') GROUP BY state, type ORDER BY state, type",
                       p, 1, row_agg, &a, e);
}
