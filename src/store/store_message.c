/*
 * store message: messages and their status history (the storage of
 * src/crm/'s recording and status machine; the rules live there).
 *
 * Invariants: every statement filters by the tenant id argument; inserts
 * inside a caller's transaction are ON CONFLICT DO NOTHING and report a
 * duplicate, so a PostgreSQL transaction is never left aborted. The status
 * row of a message is read FOR UPDATE on PostgreSQL when the caller means
 * to write it back (SQLite's BEGIN IMMEDIATE already serialises writers),
 * so two callbacks for one message cannot both read the old status.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define MSG_COLS                                                                                                \
    "m.id, m.conversation_id, m.account_id, cv.channel, m.direction, m.type, m.body, m.media, m.template,"      \
    " m.status, m.provider_message_id, m.error_code, m.error_text, m.idempotency_key, m.created_at, m.sent_at," \
    " m.delivered_at, m.read_at, m.failed_at, m.updated_at, m.address, m.origin, m.sent_by, m.subject, m.html,"   \
    " m.rfc_message_id"
#define MSG_FROM " FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"

struct msg_iter {
    store_message_cb cb;
    void *ud;
    int n;
};

static int row_msg_cb(void *ud, const struct store_row *r)
{
    struct msg_iter *it = ud;
    struct store_message m;

    memset(&m, 0, sizeof(m));
    store__cpy(m.id, sizeof(m.id), store__col_text(r, 0));
    store__cpy(m.conversation_id, sizeof(m.conversation_id), store__col_text(r, 1));
    store__cpy(m.account_id, sizeof(m.account_id), store__col_text(r, 2));
    store__cpy(m.channel, sizeof(m.channel), store__col_text(r, 3));
    store__cpy(m.direction, sizeof(m.direction), store__col_text(r, 4));
    store__cpy(m.type, sizeof(m.type), store__col_text(r, 5));
    m.body = store__col_text(r, 6);
    m.media = store__col_text(r, 7);
    m.template_json = store__col_text(r, 8);
    store__cpy(m.status, sizeof(m.status), store__col_text(r, 9));
    store__cpy(m.provider_message_id, sizeof(m.provider_message_id), store__col_text(r, 10));
    store__cpy(m.error_code, sizeof(m.error_code), store__col_text(r, 11));
    m.error_text = store__col_text(r, 12);
    store__cpy(m.idempotency_key, sizeof(m.idempotency_key), store__col_text(r, 13));
    m.created_at = store__col_int(r, 14);
    m.sent_at = store__col_int(r, 15);
    m.delivered_at = store__col_int(r, 16);
    m.read_at = store__col_int(r, 17);
    m.failed_at = store__col_int(r, 18);
    m.updated_at = store__col_int(r, 19);
    store__cpy(m.address, sizeof(m.address), store__col_text(r, 20));
    store__cpy(m.origin, sizeof(m.origin), store__col_text(r, 21));
    store__cpy(m.sent_by, sizeof(m.sent_by), store__col_text(r, 22));
    m.subject = store__col_text(r, 23);
    m.html = store__col_text(r, 24);
    store__cpy(m.rfc_message_id, sizeof(m.rfc_message_id), store__col_text(r, 25));
    it->n++;
    return it->cb ? it->cb(it->ud, &m) : 0;
}

#define STATE_COLS "id, conversation_id, status, provider_message_id, sent_at, delivered_at, read_at, failed_at"

static int row_state(void *ud, const struct store_row *r)
{
    struct store_message_state *st = ud;
    store__cpy(st->id, sizeof(st->id), store__col_text(r, 0));
    store__cpy(st->conversation_id, sizeof(st->conversation_id), store__col_text(r, 1));
    store__cpy(st->status, sizeof(st->status), store__col_text(r, 2));
    store__cpy(st->provider_message_id, sizeof(st->provider_message_id), store__col_text(r, 3));
    st->sent_at = store__col_int(r, 4);
    st->delivered_at = store__col_int(r, 5);
    st->read_at = store__col_int(r, 6);
    st->failed_at = store__col_int(r, 7);
    return 0;
}

/* Runs a one-row state select in tx; ERR_NOTFOUND when no row. */
static int state_q(struct store_tx *tx, const char *sql, const struct store_param *p, int np,
                   struct store_message_state *out, struct err *e)
{
    int64_t rows = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store__q(tx->db, tx->c, sql, p, np, row_state, out, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "message not found");
    return rc;
}

int store_message_insert(struct store_tx *tx, const char *tenant_id, struct store_message *m, int *out_dup,
                         struct err *e)
{
    struct store_message_state st;
    struct store_param p[20];
    int64_t changed = 0;
    int rc;

    if (out_dup)
        *out_dup = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(m->conversation_id, "conversation id", e)) ||
        (rc = store__need(m->account_id, "account id", e)) || (rc = store__need(m->direction, "direction", e)) ||
        (rc = store__need(m->status, "status", e)))
        return rc;
    if (!m->id[0])
        crypto_time_id(m->id, sizeof(m->id), "msg", time_now_ms());
    p[0] = store__ptext(m->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(m->conversation_id);
    p[3] = store__ptext(m->account_id);
    p[4] = store__ptext(m->direction);
    p[5] = store__ptext(m->type[0] ? m->type : "text");
    p[6] = store__ptext(m->body ? m->body : "");
    p[7] = store__ptext_or_null(m->media);
    p[8] = store__ptext_or_null(m->template_json);
    p[9] = store__ptext(m->status);
    p[10] = store__ptext_or_null(m->provider_message_id);
    p[11] = store__ptext_or_null(m->idempotency_key);
    p[12] = store__pint(m->created_at);
    p[13] = store__pint(m->updated_at ? m->updated_at : m->created_at);
    p[14] = store__ptext(m->address);
    p[15] = store__ptext(m->origin[0] ? m->origin : strcmp(m->direction, "inbound") == 0 ? "customer" : "api");
    p[16] = store__ptext_or_null(m->sent_by);
    p[17] = store__ptext_or_null(m->subject);
    p[18] = store__ptext_or_null(m->html);
    p[19] = store__ptext_or_null(m->rfc_message_id);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO messages (id, tenant_id, conversation_id, account_id, direction, type, body, media,"
                  " template, status, provider_message_id, idempotency_key, created_at, updated_at, address,"
                  " origin, sent_by, subject, html, rfc_message_id)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  p, 20, NULL, NULL, &changed, e);
    if (rc || changed)
        return rc;
    /* A duplicate: report the message that holds the provider id or key. */
    if (out_dup)
        *out_dup = 1;
    if (m->provider_message_id[0])
        rc = store_message_state_by_provider(tx, tenant_id, m->account_id, m->provider_message_id, 0, &st, e);
    else if (m->idempotency_key[0])
        rc = store_message_state_by_key(tx, tenant_id, m->idempotency_key, &st, e);
    else
        rc = err_set(e, ERR_CONFLICT, "conflict", "store: message id already taken");
    if (rc == ERR_NOTFOUND) /* held by another tenant's row: not ours to report */
        rc = err_set(e, ERR_CONFLICT, "conflict", "store: message already exists");
    if (rc)
        return rc;
    store__cpy(m->id, sizeof(m->id), st.id);
    store__cpy(m->conversation_id, sizeof(m->conversation_id), st.conversation_id);
    return 0;
}

int store_message_state_by_provider(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                    const char *provider_message_id, int lock, struct store_message_state *out,
                                    struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__ptext(account_id), store__ptext(provider_message_id)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(account_id, "account id", e)) ||
        (rc = store__need(provider_message_id, "provider message id", e)))
        return rc;
    if (lock && store__is_pg(tx->db))
        return state_q(tx,
                       "SELECT " STATE_COLS " FROM messages"
                       " WHERE tenant_id = ? AND account_id = ? AND provider_message_id = ? FOR UPDATE",
                       p, 3, out, e);
    return state_q(tx,
                   "SELECT " STATE_COLS " FROM messages"
                   " WHERE tenant_id = ? AND account_id = ? AND provider_message_id = ?",
                   p, 3, out, e);
}

int store_message_state_by_id(struct store_tx *tx, const char *tenant_id, const char *message_id, int lock,
                              struct store_message_state *out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(message_id)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(message_id, "message id", e)))
        return rc;
    if (lock && store__is_pg(tx->db))
        return state_q(tx, "SELECT " STATE_COLS " FROM messages WHERE tenant_id = ? AND id = ? FOR UPDATE", p, 2, out,
                       e);
    return state_q(tx, "SELECT " STATE_COLS " FROM messages WHERE tenant_id = ? AND id = ?", p, 2, out, e);
}

int store_message_state_by_key(struct store_tx *tx, const char *tenant_id, const char *idempotency_key,
                               struct store_message_state *out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(idempotency_key)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(idempotency_key, "idempotency key", e)))
        return rc;
    return state_q(tx, "SELECT " STATE_COLS " FROM messages WHERE tenant_id = ? AND idempotency_key = ?", p, 2, out,
                   e);
}

int store_message_state_write(struct store_tx *tx, const char *tenant_id, const struct store_message_state *st,
                              const char *error_code, const char *error_text, int64_t now, struct err *e)
{
    struct store_param p[11];
    int64_t changed = 0;
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(st->id, "message id", e)))
        return rc;
    p[0] = store__ptext(st->status);
    p[1] = store__ptext_or_null(st->provider_message_id);
    p[2] = store__ptext_or_null(error_code);
    p[3] = store__ptext_or_null(error_text);
    p[4] = store__pint(st->sent_at);
    p[5] = store__pint(st->delivered_at);
    p[6] = store__pint(st->read_at);
    p[7] = store__pint(st->failed_at);
    p[8] = store__pint(now);
    p[9] = store__ptext(tenant_id);
    p[10] = store__ptext(st->id);
    rc = store__q(tx->db, tx->c,
                  "UPDATE messages SET status = ?, provider_message_id = COALESCE(?, provider_message_id),"
                  " error_code = COALESCE(?, error_code), error_text = COALESCE(?, error_text), sent_at = ?,"
                  " delivered_at = ?, read_at = ?, failed_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                  p, 11, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "message not found");
    return rc;
}

int store_message_event_insert(struct store_tx *tx, const char *tenant_id, const char *message_id,
                               const char *status, int64_t provider_ts, int64_t received_at, const char *error_code,
                               const char *error_text, int applied, struct err *e)
{
    struct store_param p[8];
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(message_id, "message id", e)) ||
        (rc = store__need(status, "status", e)))
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(message_id);
    p[2] = store__ptext(status);
    p[3] = store__pint(provider_ts);
    p[4] = store__pint(received_at);
    p[5] = store__ptext_or_null(error_code);
    p[6] = store__ptext_or_null(error_text);
    p[7] = store__pint(applied ? 1 : 0);
    return store__q(tx->db, tx->c,
                    "INSERT INTO message_events (tenant_id, message_id, status, provider_ts, received_at, error_code,"
                    " error_text, applied) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    p, 8, NULL, NULL, NULL, e);
}

int store_message_get(struct store *db, const char *tenant_id, const char *message_id, store_message_cb cb,
                      void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(message_id)};
    struct msg_iter it = {cb, ud, 0};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(message_id, "message id", e)))
        return rc;
    rc = store__list(db, "SELECT " MSG_COLS MSG_FROM " WHERE m.tenant_id = ? AND m.id = ?", p, 2, row_msg_cb, &it, e);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "message not found");
    return rc;
}

int store_message_get_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, store_message_cb cb,
                         void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(message_id)};
    struct msg_iter it = {cb, ud, 0};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(message_id, "message id", e)))
        return rc;
    rc = store__q(tx->db, tx->c, "SELECT " MSG_COLS MSG_FROM " WHERE m.tenant_id = ? AND m.id = ?", p, 2, row_msg_cb,
                  &it, NULL, e);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "message not found");
    return rc;
}

int store_message_list(struct store *db, const char *tenant_id, const char *conversation_id, int64_t after_at,
                       const char *after_id, int limit, store_message_cb cb, void *ud, struct err *e)
{
    struct store_param p[5];
    struct msg_iter it = {cb, ud, 0};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(conversation_id, "conversation id", e)))
        return rc;
    if (after_at < 0) {
        after_at = -1;
        after_id = "";
    }
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(conversation_id);
    p[2] = store__pint(after_at);
    p[3] = store__ptext(after_id ? after_id : "");
    p[4] = store__pint(limit);
    return store__list(db,
                       "SELECT " MSG_COLS MSG_FROM " WHERE m.tenant_id = ? AND m.conversation_id = ?"
                       " AND (m.created_at, m.id) > (?, ?)"
                       " ORDER BY m.created_at, m.id LIMIT ?",
                       p, 5, row_msg_cb, &it, e);
}

struct event_iter {
    store_message_event_cb cb;
    void *ud;
};

static int row_event_cb(void *ud, const struct store_row *r)
{
    struct event_iter *it = ud;
    struct store_message_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.id = store__col_int(r, 0);
    store__cpy(ev.status, sizeof(ev.status), store__col_text(r, 1));
    ev.provider_ts = store__col_int(r, 2);
    ev.received_at = store__col_int(r, 3);
    store__cpy(ev.error_code, sizeof(ev.error_code), store__col_text(r, 4));
    ev.error_text = store__col_text(r, 5);
    ev.applied = store__col_int(r, 6) != 0;
    return it->cb(it->ud, &ev);
}

int store_message_event_list(struct store *db, const char *tenant_id, const char *message_id,
                             store_message_event_cb cb, void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(message_id)};
    struct event_iter it = {cb, ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(message_id, "message id", e)))
        return rc;
    return store__list(db,
                       "SELECT id, status, provider_ts, received_at, error_code, error_text, applied"
                       " FROM message_events WHERE tenant_id = ? AND message_id = ? ORDER BY id",
                       p, 2, row_event_cb, &it, e);
}

