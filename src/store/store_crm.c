/*
 * store crm: contacts and their identities, and conversations (the storage
 * of src/crm/; the rules live there). Messages and their status history are
 * in store_message.c, contact writes of the API in store_contact.c.
 *
 * Invariants: every statement filters by the tenant id argument. Writes
 * inside a caller's transaction never fail on an expected race: inserts are
 * ON CONFLICT DO NOTHING and report a duplicate, so a PostgreSQL
 * transaction is not left aborted and the caller can go on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---------------------------------------------------- contacts, identities */

struct ident_find {
    const char *kind;
    char *contact_id;
    char *name;
    size_t namelen;
    int found;      /* 0 none, 1 sibling, 2 exact */
};

static int row_ident_find(void *ud, const struct store_row *r)
{
    struct ident_find *f = ud;
    int exact = strcmp(store__col_text(r, 0), f->kind) == 0;

    if (f->found == 2 || (f->found == 1 && !exact))
        return 0;
    f->found = exact ? 2 : 1;
    store__cpy(f->contact_id, CORE_ID_MAX, store__col_text(r, 1));
    if (f->name)
        store__cpy(f->name, f->namelen, store__col_text(r, 2));
    return 0;
}

int store_identity_find(struct store_tx *tx, const char *tenant_id, const char *kind, const char *sibling_kind,
                        const char *address, char contact_id[CORE_ID_MAX], char *contact_name, size_t namelen,
                        int *out_exact, struct err *e)
{
    struct ident_find f = {kind, contact_id, contact_name, namelen, 0};
    struct store_param p[4];
    int rc;

    contact_id[0] = '\0';
    if (contact_name && namelen)
        contact_name[0] = '\0';
    if (out_exact)
        *out_exact = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(kind, "identity kind", e)) ||
        (rc = store__need(address, "address", e)))
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(kind);
    p[2] = store__ptext(sibling_kind && *sibling_kind ? sibling_kind : kind);
    p[3] = store__ptext(address);
    rc = store__q(tx->db, tx->c,
                  "SELECT ci.kind, ci.contact_id, c.name FROM contact_identities ci"
                  " JOIN contacts c ON c.id = ci.contact_id"
                  " WHERE ci.tenant_id = ? AND ci.kind IN (?, ?) AND ci.address = ?",
                  p, 4, row_ident_find, &f, NULL, e);
    if (rc)
        return rc;
    if (!f.found)
        return err_set(e, ERR_NOTFOUND, NULL, "contact not found");
    if (out_exact)
        *out_exact = f.found == 2;
    return 0;
}

int store_contact_insert(struct store_tx *tx, const char *tenant_id, char id[CORE_ID_MAX], const char *name,
                         int64_t now, struct err *e)
{
    struct store_param p[6];
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    if (!id[0])
        crypto_time_id(id, CORE_ID_MAX, "ctc", time_now_ms());
    p[0] = store__ptext(id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(name ? name : "");
    p[3] = store__pint(now);
    p[4] = store__pint(now);
    p[5] = store__pint(now);
    return store__q(tx->db, tx->c,
                    "INSERT INTO contacts (id, tenant_id, name, created_at, updated_at, last_activity_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    p, 6, NULL, NULL, NULL, e);
}

int store_contact_delete(struct store_tx *tx, const char *tenant_id, const char *contact_id, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(contact_id)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    return store__q(tx->db, tx->c, "DELETE FROM contacts WHERE tenant_id = ? AND id = ?", p, 2, NULL, NULL, NULL, e);
}

int store_contact_fill_name(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *name,
                            int64_t now, struct err *e)
{
    struct store_param p[4] = {store__ptext(name), store__pint(now), store__ptext(tenant_id),
                               store__ptext(contact_id)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || !name || !*name)
        return rc;
    return store__q(tx->db, tx->c,
                    "UPDATE contacts SET name = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND name = ''", p, 4,
                    NULL, NULL, NULL, e);
}

int store_identity_insert(struct store_tx *tx, const char *tenant_id, const char *kind, const char *address,
                          const char *contact_id, int64_t now, int *out_dup, struct err *e)
{
    struct store_param p[5];
    int64_t changed = 0;
    int rc;

    if (out_dup)
        *out_dup = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(address, "address", e)))
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(kind);
    p[2] = store__ptext(address);
    p[3] = store__ptext(contact_id);
    p[4] = store__pint(now);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO contact_identities (tenant_id, kind, address, contact_id, created_at)"
                  " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, kind, address) DO NOTHING",
                  p, 5, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0 && out_dup)
        *out_dup = 1;
    return rc;
}

/* ---------------------------------------------------------- conversations */

/* A conversation with what its list row shows: the account's and the
 * assignee's names and its latest message, picked by a subquery on
 * messages_conversation (conversation_id, created_at, id) per row, so a
 * page costs one statement whatever its length. The customer's address is
 * the latest message's, else (no message yet) the contact's oldest identity. */
#define CONV_COLS                                                                                            \
    "cv.id, cv.contact_id, c.name, cv.account_id, cv.channel, cv.status, cv.assignee_id, cv.last_message_at," \
    " cv.last_inbound_at, cv.unread, cv.created_at, cv.updated_at, a.name, u.name, lm.id, lm.direction,"      \
    " lm.type, lm.status, lm.created_at, substr(lm.body, 1, 200),"                                             \
    " COALESCE(NULLIF(lm.address, ''), (SELECT ci.address FROM contact_identities ci"                         \
    " WHERE ci.tenant_id = cv.tenant_id AND ci.contact_id = cv.contact_id ORDER BY ci.created_at, ci.kind LIMIT 1))"
#define CONV_FROM                                                                                            \
    " FROM conversations cv JOIN contacts c ON c.id = cv.contact_id"                                         \
    " JOIN channel_accounts a ON a.id = cv.account_id LEFT JOIN users u ON u.id = cv.assignee_id"             \
    " LEFT JOIN messages lm ON lm.id = (SELECT x.id FROM messages x WHERE x.conversation_id = cv.id"        \
    " AND x.tenant_id = cv.tenant_id ORDER BY x.created_at DESC, x.id DESC LIMIT 1)"

static void row_to_conv(const struct store_row *r, struct store_conversation *cv)
{
    store__cpy(cv->id, sizeof(cv->id), store__col_text(r, 0));
    store__cpy(cv->contact_id, sizeof(cv->contact_id), store__col_text(r, 1));
    store__cpy(cv->contact_name, sizeof(cv->contact_name), store__col_text(r, 2));
    store__cpy(cv->account_id, sizeof(cv->account_id), store__col_text(r, 3));
    store__cpy(cv->channel, sizeof(cv->channel), store__col_text(r, 4));
    store__cpy(cv->status, sizeof(cv->status), store__col_text(r, 5));
    store__cpy(cv->assignee_id, sizeof(cv->assignee_id), store__col_text(r, 6));
    cv->last_message_at = store__col_int(r, 7);
    cv->last_inbound_at = store__col_int(r, 8);
    cv->unread = store__col_int(r, 9);
    cv->created_at = store__col_int(r, 10);
    cv->updated_at = store__col_int(r, 11);
    store__cpy(cv->account_name, sizeof(cv->account_name), store__col_text(r, 12));
    store__cpy(cv->assignee_name, sizeof(cv->assignee_name), store__col_text(r, 13));
    store__cpy(cv->last_id, sizeof(cv->last_id), store__col_text(r, 14));
    store__cpy(cv->last_direction, sizeof(cv->last_direction), store__col_text(r, 15));
    store__cpy(cv->last_type, sizeof(cv->last_type), store__col_text(r, 16));
    store__cpy(cv->last_status, sizeof(cv->last_status), store__col_text(r, 17));
    cv->last_created_at = store__col_int(r, 18);
    store__cpy(cv->last_body, sizeof(cv->last_body), store__col_text(r, 19));
    store__cpy(cv->contact_address, sizeof(cv->contact_address), store__col_text(r, 20));
}

static int row_conv(void *ud, const struct store_row *r)
{
    row_to_conv(r, ud);
    return 0;
}

struct conv_iter {
    store_conversation_cb cb;
    void *ud;
};

static int row_conv_cb(void *ud, const struct store_row *r)
{
    struct conv_iter *it = ud;
    struct store_conversation cv;

    memset(&cv, 0, sizeof(cv));
    row_to_conv(r, &cv);
    return it->cb(it->ud, &cv);
}

static int row_id_status(void *ud, const struct store_row *r)
{
    struct store_conversation *cv = ud;
    store__cpy(cv->id, sizeof(cv->id), store__col_text(r, 0));
    store__cpy(cv->status, sizeof(cv->status), store__col_text(r, 1));
    return 0;
}

int store_conversation_find(struct store_tx *tx, const char *tenant_id, const char *contact_id,
                            const char *account_id, struct store_conversation *out, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__ptext(contact_id), store__ptext(account_id)};
    int64_t rows = 0;
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "SELECT id, status FROM conversations WHERE tenant_id = ? AND contact_id = ? AND account_id = ?", p,
                  3, row_id_status, out, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "conversation not found");
    return rc;
}

int store_conversation_by_rfc_message_id(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                         const char *rfc_message_id, struct store_conversation *out, struct err *e)
{
    struct store_param p[3] = {store__ptext(tenant_id), store__ptext(account_id), store__ptext(rfc_message_id)};
    int64_t rows = 0;
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "SELECT cv.id, cv.status FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
                  " WHERE m.tenant_id = ? AND m.account_id = ? AND m.rfc_message_id = ?"
                  " ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
                  p, 3, row_id_status, out, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "conversation not found");
    return rc;
}

int store_conversation_last_inbound(struct store *db, const char *tenant_id, const char *account_id, const char *kind,
                                    const char *address, int64_t *out, struct err *e)
{
    struct store_param p[4] = {store__ptext(account_id), store__ptext(tenant_id), store__ptext(kind),
                               store__ptext(address)};
    int rc;

    *out = 0;
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    return store__list(db,
                       "SELECT cv.last_inbound_at FROM contact_identities ci JOIN conversations cv"
                       " ON cv.contact_id = ci.contact_id AND cv.account_id = ?"
                       " WHERE ci.tenant_id = ? AND ci.kind = ? AND ci.address = ?",
                       p, 4, store__row_int, out, e);
}

int store_conversation_insert(struct store_tx *tx, const char *tenant_id, struct store_conversation *c,
                              int *out_dup, struct err *e)
{
    struct store_param p[11];
    int64_t changed = 0;
    int rc;

    if (out_dup)
        *out_dup = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    if (!c->id[0])
        crypto_time_id(c->id, sizeof(c->id), "cnv", time_now_ms());
    p[0] = store__ptext(c->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(c->contact_id);
    p[3] = store__ptext(c->account_id);
    p[4] = store__ptext(c->channel);
    p[5] = store__ptext(c->status[0] ? c->status : "open");
    p[6] = store__pint(c->last_message_at);
    p[7] = store__pint(c->last_inbound_at);
    p[8] = store__pint(c->unread);
    p[9] = store__pint(c->created_at);
    p[10] = store__pint(c->updated_at);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO conversations (id, tenant_id, contact_id, account_id, channel, status,"
                  " last_message_at, last_inbound_at, unread, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (tenant_id, contact_id, account_id) DO NOTHING",
                  p, 11, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0 && out_dup)
        *out_dup = 1;
    return rc;
}

int store_conversation_touch(struct store_tx *tx, const char *tenant_id, const char *conversation_id, int64_t at,
                             int inbound, int64_t now, struct err *e)
{
    struct store_param p[7];
    int64_t changed = 0;
    int rc, np;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    p[0] = store__pint(at);
    p[1] = store__pint(at);
    if (inbound) {
        p[2] = store__pint(at);
        p[3] = store__pint(at);
        p[4] = store__pint(now);
        p[5] = store__ptext(tenant_id);
        p[6] = store__ptext(conversation_id);
        np = 7;
        rc = store__q(tx->db, tx->c,
                      "UPDATE conversations SET"
                      " last_message_at = CASE WHEN last_message_at < ? THEN ? ELSE last_message_at END,"
                      " last_inbound_at = CASE WHEN last_inbound_at < ? THEN ? ELSE last_inbound_at END,"
                      " unread = unread + 1,"
                      " status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END,"
                      " updated_at = ? WHERE tenant_id = ? AND id = ?",
                      p, np, NULL, NULL, &changed, e);
    } else {
        p[2] = store__pint(now);
        p[3] = store__ptext(tenant_id);
        p[4] = store__ptext(conversation_id);
        np = 5;
        rc = store__q(tx->db, tx->c,
                      "UPDATE conversations SET"
                      " last_message_at = CASE WHEN last_message_at < ? THEN ? ELSE last_message_at END,"
                      " updated_at = ? WHERE tenant_id = ? AND id = ?",
                      p, np, NULL, NULL, &changed, e);
    }
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "conversation not found");
    if (rc)
        return rc;
    /* The contact's activity, for the contact list's order. */
    p[0] = store__pint(at);
    p[1] = store__ptext(tenant_id);
    p[2] = store__pint(at);
    p[3] = store__ptext(tenant_id);
    p[4] = store__ptext(conversation_id);
    return store__q(tx->db, tx->c,
                    "UPDATE contacts SET last_activity_at = ? WHERE tenant_id = ? AND last_activity_at < ?"
                    " AND id = (SELECT contact_id FROM conversations WHERE tenant_id = ? AND id = ?)",
                    p, 5, NULL, NULL, NULL, e);
}

int store_conversation_get(struct store *db, const char *tenant_id, const char *conversation_id,
                           struct store_conversation *out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(conversation_id, "conversation id", e)))
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, "SELECT " CONV_COLS CONV_FROM " WHERE cv.tenant_id = ? AND cv.id = ?", p, 2, row_conv,
                          out, "conversation", e);
}

/* 1 when q reads as a phone number: digits and the punctuation people
 * type in numbers, at least one digit. */
static int phone_like(const char *q)
{
    int digits = 0;

    for (; *q; q++) {
        if (*q >= '0' && *q <= '9')
            digits++;
        else if (!strchr(" +-.()", *q))
            return 0;
    }
    return digits > 0;
}

static void like_pattern(char *out, size_t outlen, const char *q);

int store_conversation_list(struct store *db, const char *tenant_id, const struct store_conversation_filter *f,
                            int64_t before_at, const char *before_id, int limit, store_conversation_cb cb, void *ud,
                            struct err *e)
{
    static const struct store_conversation_filter none;
    char name_pat[2 * STORE_ADDRESS_MAX + 4], addr_pat[2 * STORE_ADDRESS_MAX + 4], digits[STORE_ADDRESS_MAX];
    const char *sql;
    struct store_param p[12];
    struct conv_iter it = {cb, ud};
    struct buf q = {0};
    int np = 0, rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    if (!f)
        f = &none;
    /* Only the filters given are in the statement: a "? = '' OR" form
     * would hide each column from the planner and its index. */
    buf_puts(&q, "SELECT " CONV_COLS CONV_FROM " WHERE cv.tenant_id = ?");
    p[np++] = store__ptext(tenant_id);
    if (f->status && *f->status) {
        buf_puts(&q, " AND cv.status = ?");
        p[np++] = store__ptext(f->status);
    }
    if (f->channel && *f->channel) {
        buf_puts(&q, " AND cv.channel = ?");
        p[np++] = store__ptext(f->channel);
    }
    if (f->account_id && *f->account_id) {
        buf_puts(&q, " AND cv.account_id = ?");
        p[np++] = store__ptext(f->account_id);
    }
    if (f->assignee && strcmp(f->assignee, "none") == 0) {
        buf_puts(&q, " AND cv.assignee_id IS NULL");
    } else if (f->assignee && *f->assignee) {
        buf_puts(&q, " AND cv.assignee_id = ?");
        p[np++] = store__ptext(f->assignee);
    }
    if (f->unread)
        buf_puts(&q, " AND cv.unread > 0");
    if (f->q && *f->q) {
        size_t n = 0;
        like_pattern(name_pat, sizeof(name_pat), f->q);
        if (phone_like(f->q)) {
            for (const char *s = f->q; *s && n + 1 < sizeof(digits); s++)
                if (*s >= '0' && *s <= '9')
                    digits[n++] = *s;
            digits[n] = '\0';
            like_pattern(addr_pat, sizeof(addr_pat), digits);
        } else {
            memcpy(addr_pat, name_pat, sizeof(addr_pat));
        }
        buf_puts(&q, " AND (lower(c.name) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM contact_identities qi"
                     " WHERE qi.tenant_id = cv.tenant_id AND qi.contact_id = cv.contact_id"
                     " AND qi.address LIKE ? ESCAPE '\\'))");
        p[np++] = store__ptext(name_pat);
        p[np++] = store__ptext(addr_pat);
    }
    if (before_at >= 0) {
        /* A row value: both planners make it a range on the index's
         * (last_message_at, id) (EXPLAIN QUERY PLAN on SQLite). */
        buf_puts(&q, " AND (cv.last_message_at, cv.id) < (?, ?)");
        p[np++] = store__pint(before_at);
        p[np++] = store__ptext(before_id ? before_id : "");
    }
    buf_puts(&q, " ORDER BY cv.last_message_at DESC, cv.id DESC LIMIT ?");
    p[np++] = store__pint(limit);
    if (!q.data)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    rc = store__sql_intern(db, q.data, &sql, e);
    buf_free(&q);
    if (rc)
        return rc;
    return store__list(db, sql, p, np, row_conv_cb, &it, e);
}

int store_conversation_unread_tx(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                 int64_t *out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    int64_t rows = 0;
    int rc;

    *out = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c, "SELECT unread FROM conversations WHERE tenant_id = ? AND id = ?", p, 2,
                  store__row_int, out, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "conversation not found");
    return rc;
}

int store_conversation_mark_read(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                 int64_t *out_before, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    int64_t before = 0;
    int rc;

    if (out_before)
        *out_before = 0;
    if ((rc = store_conversation_unread_tx(tx, tenant_id, conversation_id, &before, e)))
        return rc;
    if (before != 0)
        rc = store__q(tx->db, tx->c, "UPDATE conversations SET unread = 0 WHERE tenant_id = ? AND id = ?", p, 2,
                      NULL, NULL, NULL, e);
    if (rc == 0 && out_before)
        *out_before = before;
    return rc;
}

int store_conversation_update(struct store *db, const char *tenant_id, const char *conversation_id,
                              const char *status, int set_assignee, const char *assignee_id, int64_t now,
                              struct err *e)
{
    struct store_param p[6];
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(conversation_id, "conversation id", e)))
        return rc;
    p[0] = store__ptext_or_null(status);
    p[1] = store__pint(set_assignee ? 1 : 0);
    p[2] = store__ptext_or_null(assignee_id);
    p[3] = store__pint(now);
    p[4] = store__ptext(tenant_id);
    p[5] = store__ptext(conversation_id);
    return store__write_one(db,
                            "UPDATE conversations SET status = COALESCE(?, status),"
                            " assignee_id = CASE WHEN ? = 1 THEN ? ELSE assignee_id END, updated_at = ?"
                            " WHERE tenant_id = ? AND id = ?",
                            p, 6, "conversation", e);
}

/* ------------------------------------------------------- contact reads */

/* Rows arrive one per (contact, identity), grouped by contact; a contact is
 * handed to the callback when the next one starts or the rows end. */
struct contact_iter {
    store_contact_cb cb;
    void *ud;
    struct store_contact cur;
    struct store_identity *ids;
    int nids, cap;
    int have;
    int n;          /* contacts handed over */
    int nomem;
};

static int contact_flush(struct contact_iter *it)
{
    int rc;

    if (!it->have)
        return 0;
    it->cur.identities = it->ids;
    it->cur.nidentities = it->nids;
    it->have = 0;
    it->nids = 0;
    it->n++;
    rc = it->cb ? it->cb(it->ud, &it->cur) : 0;
    return rc;
}

static int row_contact(void *ud, const struct store_row *r)
{
    struct contact_iter *it = ud;
    const char *id = store__col_text(r, 0);
    int rc;

    if (!it->have || strcmp(it->cur.id, id) != 0) {
        if ((rc = contact_flush(it)))
            return rc;
        memset(&it->cur, 0, sizeof(it->cur));
        store__cpy(it->cur.id, sizeof(it->cur.id), id);
        store__cpy(it->cur.name, sizeof(it->cur.name), store__col_text(r, 1));
        it->cur.created_at = store__col_int(r, 2);
        it->cur.updated_at = store__col_int(r, 3);
        it->cur.last_activity_at = store__col_int(r, 6);
        it->have = 1;
    }
    if (!r->be->col_null(r, 4)) {
        if (it->nids == it->cap) {
            int cap = it->cap ? it->cap * 2 : 4;
            struct store_identity *n = realloc(it->ids, (size_t)cap * sizeof(*n));
            if (!n) {
                it->nomem = 1;
                return ERR_NOMEM;
            }
            it->ids = n;
            it->cap = cap;
        }
        store__cpy(it->ids[it->nids].kind, sizeof(it->ids[it->nids].kind), store__col_text(r, 4));
        store__cpy(it->ids[it->nids].address, sizeof(it->ids[it->nids].address), store__col_text(r, 5));
        it->nids++;
    }
    return 0;
}

/* Runs a contact query and hands over the last group. */
static int contact_run(struct store *db, const char *sql, const struct store_param *p, int np,
                       struct contact_iter *it, struct err *e)
{
    int rc = store__list(db, sql, p, np, row_contact, it, e);

    if (rc == 0)
        rc = contact_flush(it);
    if (it->nomem)
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
    free(it->ids);
    it->ids = NULL;
    return rc;
}

#define CONTACT_IDENT_JOIN                                                                    \
    " LEFT JOIN contact_identities ci ON ci.tenant_id = c.tenant_id AND ci.contact_id = c.id"

int store_contact_get(struct store *db, const char *tenant_id, const char *contact_id, store_contact_cb cb,
                      void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(contact_id)};
    struct contact_iter it;
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(contact_id, "contact id", e)))
        return rc;
    memset(&it, 0, sizeof(it));
    it.cb = cb;
    it.ud = ud;
    rc = contact_run(db,
                     "SELECT c.id, c.name, c.created_at, c.updated_at, ci.kind, ci.address, c.last_activity_at"
                     " FROM contacts c" CONTACT_IDENT_JOIN " WHERE c.tenant_id = ? AND c.id = ? ORDER BY ci.created_at, ci.kind",
                     p, 2, &it, e);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "contact not found");
    return rc;
}

/* q as a LIKE pattern: lower-cased (ASCII), %, _ and \ escaped, wrapped in %. */
static void like_pattern(char *out, size_t outlen, const char *q)
{
    size_t o = 0;

    out[o++] = '%';
    for (; *q && o + 4 < outlen; q++) {
        char ch = *q;
        if (ch == '%' || ch == '_' || ch == '\\')
            out[o++] = '\\';
        out[o++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[o++] = '%';
    out[o] = '\0';
}

/* q written like a phone number ("+1 (555) 010-0199"): its digits as a
 * LIKE pattern, so it matches the E.164 form; "" when q is anything else. */
static void digits_pattern(char *out, size_t outlen, const char *q)
{
    size_t o = 0;

    out[0] = '\0';
    out[o++] = '%';
    for (; *q; q++) {
        if (*q >= '0' && *q <= '9') {
            if (o + 2 >= outlen)
                break;
            out[o++] = *q;
        } else if (!strchr("+ -.()/\t", *q)) {
            out[0] = '\0';
            return;
        }
    }
    if (o == 1) {
        out[0] = '\0';
        return;
    }
    out[o++] = '%';
    out[o] = '\0';
}

int store_contact_list(struct store *db, const char *tenant_id, const char *q, int64_t before_at,
                       const char *before_id, int limit, store_contact_cb cb, void *ud, struct err *e)
{
    char pattern[2 * STORE_ADDRESS_MAX + 4] = "", digits[STORE_ADDRESS_MAX] = "";
    struct store_param p[9];
    struct contact_iter it;
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    if (q && *q) {
        like_pattern(pattern, sizeof(pattern), q);
        digits_pattern(digits, sizeof(digits), q);
    }
    if (before_at < 0) {
        before_at = INT64_MAX;
        before_id = "";
    }
    memset(&it, 0, sizeof(it));
    it.cb = cb;
    it.ud = ud;
    p[0] = store__ptext(tenant_id);
    p[1] = store__pint(before_at);
    p[2] = store__ptext(before_id ? before_id : "");
    p[3] = store__ptext(pattern);
    p[4] = store__ptext(pattern);
    p[5] = store__ptext(pattern);
    p[6] = store__ptext(digits);
    p[7] = store__ptext(digits);
    p[8] = store__pint(limit);
    return contact_run(db,
                       "SELECT c.id, c.name, c.created_at, c.updated_at, ci.kind, ci.address, c.last_activity_at FROM"
                       " (SELECT id, tenant_id, name, created_at, updated_at, last_activity_at FROM contacts k"
                       " WHERE k.tenant_id = ? AND (k.last_activity_at, k.id) < (?, ?)"
                       " AND (? = '' OR lower(k.name) LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM contact_identities x"
                       " WHERE x.tenant_id = k.tenant_id AND x.contact_id = k.id AND (lower(x.address) LIKE ? ESCAPE '\\'"
                       " OR (? <> '' AND x.address LIKE ?))))"
                       " ORDER BY k.last_activity_at DESC, k.id DESC LIMIT ?) c" CONTACT_IDENT_JOIN
                       " ORDER BY c.last_activity_at DESC, c.id DESC, ci.created_at, ci.kind",
                       p, 9, &it, e);
}

/* ----------------------------------------------------------- test fixture */

int store_crm_account_seed(struct store *db, const char *tenant_id, const char *account_id, const char *provider,
                           const char *channel, struct err *e)
{
    struct store_param p[6];
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(account_id, "account id", e)) ||
        (rc = store__need(provider, "provider", e)) || (rc = store__need(channel, "channel", e)))
        return rc;
    p[0] = store__ptext(account_id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(provider);
    p[3] = store__ptext(channel);
    p[4] = store__ptext(account_id);
    p[5] = store__pint(time_now_ms());
    return store__write_one(db,
                            "INSERT INTO channel_accounts (id, tenant_id, provider, channel, account_key, created_at)"
                            " VALUES (?, ?, ?, ?, ?, ?)",
                            p, 6, NULL, e);
}
