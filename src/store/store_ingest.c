/*
 * store ingest: inbound webhook events and security events.
 *
 * Invariants: an inbound event is inserted only when its receipt
 * (account_id, event_id) is new (ON CONFLICT DO NOTHING), so a redelivered
 * webhook writes nothing; the caller learns which case it was and enqueues
 * the processing job only for a new row, in the same transaction. Security
 * events never carry a payload: who, where from, and a reason slug.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ----------------------------------------------------- inbound events */

int store_inbound_insert(struct store_tx *tx, const char *tenant_id, struct store_inbound_event *ev,
                         int *out_inserted, struct err *e)
{
    struct store_param p[7];
    int64_t changed = 0;
    int rc;

    if (out_inserted)
        *out_inserted = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(ev->account_id, "account id", e)) ||
        (rc = store__need(ev->event_id, "event id", e)) || (rc = store__need(ev->payload, "payload", e)))
        return rc;
    if (strcmp(ev->kind, "message") != 0 && strcmp(ev->kind, "status") != 0 && strcmp(ev->kind, "template_status") != 0)
        return err_set(e, ERR_INVALID, NULL, "store: inbound event kind must be message, status or template_status");
    if (!ev->id[0])
        crypto_time_id(ev->id, sizeof(ev->id), "iev", ev->received_at > 0 ? ev->received_at : time_now_ms());
    store__cpy(ev->tenant_id, sizeof(ev->tenant_id), tenant_id);
    p[0] = store__ptext(ev->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(ev->account_id);
    p[3] = store__ptext(ev->event_id);
    p[4] = store__ptext(ev->kind);
    p[5] = store__ptext(ev->payload);
    p[6] = store__pint(ev->received_at);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO inbound_events (id, tenant_id, account_id, event_id, kind, payload, received_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, event_id) DO NOTHING",
                  p, 7, NULL, NULL, &changed, e);
    if (rc == 0 && out_inserted)
        *out_inserted = changed > 0;
    return rc;
}

struct inbound_iter {
    store_inbound_cb cb;
    void *ud;
    int n;
};

static int row_inbound(void *ud, const struct store_row *r)
{
    struct inbound_iter *it = ud;
    struct store_inbound_event ev;

    memset(&ev, 0, sizeof(ev));
    store__cpy(ev.id, sizeof(ev.id), store__col_text(r, 0));
    store__cpy(ev.tenant_id, sizeof(ev.tenant_id), store__col_text(r, 1));
    store__cpy(ev.account_id, sizeof(ev.account_id), store__col_text(r, 2));
    ev.event_id = store__col_text(r, 3);
    store__cpy(ev.kind, sizeof(ev.kind), store__col_text(r, 4));
    ev.payload = store__col_text(r, 5);
    ev.received_at = store__col_int(r, 6);
    it->n++;
    return it->cb ? it->cb(it->ud, &ev) : 0;
}

int store_inbound_get(struct store *db, const char *tenant_id, const char *id, store_inbound_cb cb, void *ud,
                      struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    struct inbound_iter it = {cb, ud, 0};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "inbound event id", e)))
        return rc;
    rc = store__list(db,
                     "SELECT id, tenant_id, account_id, event_id, kind, payload, received_at FROM inbound_events"
                     " WHERE tenant_id = ? AND id = ?",
                     p, 2, row_inbound, &it, e);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "inbound event not found");
    return rc;
}

/* ---------------------------------------------------- security events */

static void security_params(struct store_param p[7], const char *tenant_id, const struct store_security_event *ev)
{
    p[0] = store__ptext_or_null(tenant_id);
    p[1] = store__pint(ev->at);
    p[2] = store__ptext(ev->kind);
    p[3] = store__ptext(ev->provider);
    p[4] = store__ptext_or_null(ev->account_id);
    p[5] = store__ptext(ev->ip);
    p[6] = store__ptext(ev->reason);
}

static int security_check(const struct store_security_event *ev, struct err *e)
{
    int rc;
    if ((rc = store__need(ev->kind, "security event kind", e)) || (rc = store__need(ev->reason, "reason", e)))
        return rc;
    return 0;
}

int store_security_event_insert_tx(struct store_tx *tx, const char *tenant_id,
                                   const struct store_security_event *ev, struct err *e)
{
    struct store_param p[7];
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = security_check(ev, e)))
        return rc;
    security_params(p, tenant_id, ev);
    return store__q(tx->db, tx->c,
                    "INSERT INTO security_events (tenant_id, at, kind, provider, account_id, ip, reason)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    p, 7, NULL, NULL, NULL, e);
}

int store_security_event_insert(struct store *db, const char *tenant_id, const struct store_security_event *ev,
                                struct err *e)
{
    struct store_param p[7];
    int rc;

    if ((rc = security_check(ev, e)))
        return rc;
    security_params(p, tenant_id, ev);
    /* Same text as the tx variant would be a second cache slot; a plain
     * autocommit insert is one statement, one transaction. */
    return store__write_one(db,
                            "INSERT INTO security_events (tenant_id, at, kind, provider, account_id, ip, reason)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?)",
                            p, 7, NULL, e);
}

struct security_iter {
    store_security_event_cb cb;
    void *ud;
};

static int row_security(void *ud, const struct store_row *r)
{
    struct security_iter *it = ud;
    struct store_security_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.id = store__col_int(r, 0);
    store__cpy(ev.tenant_id, sizeof(ev.tenant_id), store__col_text(r, 1));
    ev.at = store__col_int(r, 2);
    store__cpy(ev.kind, sizeof(ev.kind), store__col_text(r, 3));
    store__cpy(ev.provider, sizeof(ev.provider), store__col_text(r, 4));
    store__cpy(ev.account_id, sizeof(ev.account_id), store__col_text(r, 5));
    store__cpy(ev.ip, sizeof(ev.ip), store__col_text(r, 6));
    store__cpy(ev.reason, sizeof(ev.reason), store__col_text(r, 7));
    return it->cb(it->ud, &ev);
}

int store_security_event_list(struct store *db, const char *tenant_id, int64_t before_id, int limit,
                              store_security_event_cb cb, void *ud, struct err *e)
{
    struct store_param p[4];
    struct security_iter it = {cb, ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    if (!cb)
        return err_set(e, ERR_INVALID, NULL, "store: a callback is required");
    p[0] = store__ptext(tenant_id);
    p[1] = store__pint(before_id);
    p[2] = store__pint(before_id);
    p[3] = store__pint(limit > 0 ? limit : 100);
    return store__list(db,
                       "SELECT id, tenant_id, at, kind, provider, account_id, ip, reason FROM security_events"
                       " WHERE tenant_id = ? AND (? <= 0 OR id < ?) ORDER BY id DESC LIMIT ?",
                       p, 4, row_security, &it, e);
}
