/*
 * store contact: editing contacts by hand and merging two of them, and the
 * per-contact reads of the contact page (storage of src/crm/contact rules).
 *
 * Invariants: every statement filters by the tenant id argument. A merge
 * runs in the caller's transaction and locks what it moves before reading
 * it (PostgreSQL, FOR UPDATE: the source's conversations, the contacts,
 * then the source's conversations again, which now include any a message
 * created meanwhile), so a message recorded concurrently is never left in
 * a conversation that the merge deletes: it either committed first and is
 * moved, or its insert waits and then fails on the deleted row (its job
 * retries and finds the target).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

struct name_out {
    char *name;
    size_t len;
};

static int row_name(void *ud, const struct store_row *r)
{
    struct name_out *n = ud;
    if (n->name && n->len)
        store__cpy(n->name, n->len, store__col_text(r, 0));
    return 0;
}

int store_contact_lock(struct store_tx *tx, const char *tenant_id, const char *contact_id, char *name,
                       size_t namelen, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(contact_id)};
    struct name_out n = {name, namelen};
    int64_t rows = 0;
    int rc;

    if (name && namelen)
        name[0] = '\0';
    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(contact_id, "contact id", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  store__is_pg(tx->db) ? "SELECT name FROM contacts WHERE tenant_id = ? AND id = ? FOR UPDATE"
                                : "SELECT name FROM contacts WHERE tenant_id = ? AND id = ?",
                  p, 2, row_name, &n, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, "contact_not_found", "contact not found");
    return rc;
}

int store_contact_lock_conversations(struct store_tx *tx, const char *tenant_id, const char *contact_id,
                                     struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(contact_id)};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || !store__is_pg(tx->db))
        return rc;
    return store__q(tx->db, tx->c,
                    "SELECT id FROM conversations WHERE tenant_id = ? AND contact_id = ? ORDER BY id FOR UPDATE", p, 2,
                    NULL, NULL, NULL, e);
}

struct two_ints {
    int64_t a, b;
};

static int row_two_ints(void *ud, const struct store_row *r)
{
    struct two_ints *t = ud;
    t->a = store__col_int(r, 0);
    t->b = store__col_int(r, 1);
    return 0;
}

int store_contact_counts(struct store_tx *tx, const char *tenant_id, const char *contact_id, int64_t *out_identities,
                         int64_t *out_conversations, struct err *e)
{
    struct store_param p[4] = {store__ptext(tenant_id), store__ptext(contact_id), store__ptext(tenant_id),
                               store__ptext(contact_id)};
    struct two_ints t = {0, 0};
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "SELECT (SELECT COUNT(*) FROM contact_identities WHERE tenant_id = ? AND contact_id = ?),"
                  " (SELECT COUNT(*) FROM conversations WHERE tenant_id = ? AND contact_id = ?)",
                  p, 4, row_two_ints, &t, NULL, e);
    if (out_identities)
        *out_identities = t.a;
    if (out_conversations)
        *out_conversations = t.b;
    return rc;
}

int store_contact_set(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *name,
                      int64_t now, struct err *e)
{
    struct store_param p[4] = {store__ptext_or_null(name), store__pint(now), store__ptext(tenant_id),
                               store__ptext(contact_id)};
    int64_t changed = 0;
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c, "UPDATE contacts SET name = COALESCE(?, name), updated_at = ? WHERE tenant_id = ? AND id = ?",
                  p, 4, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, "contact_not_found", "contact not found");
    return rc;
}

int store_identity_delete(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *kind,
                          const char *address, int *out_removed, struct err *e)
{
    struct store_param p[4] = {store__ptext(tenant_id), store__ptext(contact_id), store__ptext(kind),
                               store__ptext(address)};
    int64_t changed = 0;
    int rc;

    if (out_removed)
        *out_removed = 0;
    if ((rc = store__need_tx(tx, tenant_id, e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "DELETE FROM contact_identities WHERE tenant_id = ? AND contact_id = ? AND kind = ? AND address = ?",
                  p, 4, NULL, NULL, &changed, e);
    if (rc == 0 && out_removed)
        *out_removed = changed > 0;
    return rc;
}

/* ------------------------------------------------------------------ merge */

/* A source conversation as the merge reads it. */
struct merge_conv {
    char id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char status[16];
    char assignee_id[CORE_ID_MAX];
    int64_t last_message_at, last_inbound_at, unread;
};

struct merge_convs {
    struct merge_conv *v;
    size_t n, cap;
    int nomem;
};

static int row_merge_conv(void *ud, const struct store_row *r)
{
    struct merge_convs *mc = ud;
    struct merge_conv *c;

    if (mc->n == mc->cap) {
        size_t cap = mc->cap ? mc->cap * 2 : 8;
        struct merge_conv *v = realloc(mc->v, cap * sizeof(*v));
        if (!v) {
            mc->nomem = 1;
            return ERR_NOMEM;
        }
        mc->v = v;
        mc->cap = cap;
    }
    c = &mc->v[mc->n++];
    memset(c, 0, sizeof(*c));
    store__cpy(c->id, sizeof(c->id), store__col_text(r, 0));
    store__cpy(c->account_id, sizeof(c->account_id), store__col_text(r, 1));
    store__cpy(c->status, sizeof(c->status), store__col_text(r, 2));
    store__cpy(c->assignee_id, sizeof(c->assignee_id), store__col_text(r, 3));
    c->last_message_at = store__col_int(r, 4);
    c->last_inbound_at = store__col_int(r, 5);
    c->unread = store__col_int(r, 6);
    return 0;
}

static int status_rank(const char *s)
{
    return strcmp(s, "open") == 0 ? 0 : strcmp(s, "pending") == 0 ? 1 : 2;
}

struct target_conv {
    char id[CORE_ID_MAX];
    char status[16];
    int found;
};

static int row_target_conv(void *ud, const struct store_row *r)
{
    struct target_conv *t = ud;
    store__cpy(t->id, sizeof(t->id), store__col_text(r, 0));
    store__cpy(t->status, sizeof(t->status), store__col_text(r, 1));
    t->found = 1;
    return 0;
}

/* Fold source conversation s into the target's conversation t. */
static int merge_fold(struct store_tx *tx, const char *tenant_id, const struct merge_conv *s,
                      const struct target_conv *t, int64_t now, struct err *e)
{
    struct store_param p[10];
    const char *status = status_rank(s->status) < status_rank(t->status) ? s->status : t->status;
    int rc;

    p[0] = store__ptext(t->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(s->id);
    if ((rc = store__q(tx->db, tx->c, "UPDATE messages SET conversation_id = ? WHERE tenant_id = ? AND conversation_id = ?",
                       p, 3, NULL, NULL, NULL, e)))
        return rc;
    p[0] = store__pint(s->last_message_at);
    p[1] = store__pint(s->last_message_at);
    p[2] = store__pint(s->last_inbound_at);
    p[3] = store__pint(s->last_inbound_at);
    p[4] = store__pint(s->unread);
    p[5] = store__ptext(status);
    p[6] = store__ptext_or_null(s->assignee_id);
    p[7] = store__pint(now);
    p[8] = store__ptext(tenant_id);
    p[9] = store__ptext(t->id);
    if ((rc = store__q(tx->db, tx->c,
                       "UPDATE conversations SET"
                       " last_message_at = CASE WHEN last_message_at < ? THEN ? ELSE last_message_at END,"
                       " last_inbound_at = CASE WHEN last_inbound_at < ? THEN ? ELSE last_inbound_at END,"
                       " unread = unread + ?, status = ?, assignee_id = COALESCE(assignee_id, ?), updated_at = ?"
                       " WHERE tenant_id = ? AND id = ?",
                       p, 10, NULL, NULL, NULL, e)))
        return rc;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(s->id);
    return store__q(tx->db, tx->c, "DELETE FROM conversations WHERE tenant_id = ? AND id = ?", p, 2, NULL, NULL, NULL,
                    e);
}

int store_contact_merge(struct store_tx *tx, const char *tenant_id, const char *target_id, const char *source_id,
                        int64_t now, struct store_contact_merge *out, struct err *e)
{
    struct merge_convs mc = {0};
    struct store_param p[6];
    int64_t changed = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(target_id, "target contact id", e)) ||
        (rc = store__need(source_id, "source contact id", e)))
        return rc;
    if (strcmp(target_id, source_id) == 0)
        return err_set(e, ERR_INVALID, "invalid_merge", "a contact cannot be merged into itself");
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(source_id);
    rc = store__q(tx->db, tx->c,
                  store__is_pg(tx->db) ? "SELECT id, account_id, status, assignee_id, last_message_at, last_inbound_at, unread"
                                  " FROM conversations WHERE tenant_id = ? AND contact_id = ? ORDER BY id FOR UPDATE"
                                : "SELECT id, account_id, status, assignee_id, last_message_at, last_inbound_at, unread"
                                  " FROM conversations WHERE tenant_id = ? AND contact_id = ? ORDER BY id",
                  p, 2, row_merge_conv, &mc, NULL, e);
    if (mc.nomem)
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc)
        goto out;
    rc = store__q(tx->db, tx->c,
                  "SELECT COUNT(*) FROM messages m JOIN conversations cv ON cv.id = m.conversation_id"
                  " WHERE cv.tenant_id = ? AND cv.contact_id = ?",
                  p, 2, store__row_int, &out->messages, NULL, e);
    if (rc)
        goto out;
    for (size_t i = 0; i < mc.n; i++) {
        struct target_conv t = {"", "", 0};
        p[0] = store__ptext(tenant_id);
        p[1] = store__ptext(target_id);
        p[2] = store__ptext(mc.v[i].account_id);
        if ((rc = store__q(tx->db, tx->c,
                           "SELECT id, status FROM conversations WHERE tenant_id = ? AND contact_id = ? AND account_id = ?",
                           p, 3, row_target_conv, &t, NULL, e)))
            goto out;
        if (t.found) {
            if ((rc = merge_fold(tx, tenant_id, &mc.v[i], &t, now, e)))
                goto out;
            out->conversations_folded++;
            continue;
        }
        p[0] = store__ptext(target_id);
        p[1] = store__pint(now);
        p[2] = store__ptext(tenant_id);
        p[3] = store__ptext(mc.v[i].id);
        if ((rc = store__q(tx->db, tx->c, "UPDATE conversations SET contact_id = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                           p, 4, NULL, NULL, NULL, e)))
            goto out;
        out->conversations_moved++;
    }
    p[0] = store__ptext(target_id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(source_id);
    if ((rc = store__q(tx->db, tx->c, "UPDATE contact_identities SET contact_id = ? WHERE tenant_id = ? AND contact_id = ?",
                       p, 3, NULL, NULL, &changed, e)))
        goto out;
    out->identities = changed;
    if ((rc = store__q(tx->db, tx->c, "UPDATE webchat_sessions SET contact_id = ? WHERE tenant_id = ? AND contact_id = ?",
                       p, 3, NULL, NULL, NULL, e)))
        goto out;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(source_id);
    p[2] = store__pint(now);
    p[3] = store__ptext(tenant_id);
    p[4] = store__ptext(target_id);
    /* The source row is read in subqueries before it goes. */
    if ((rc = store__q(tx->db, tx->c,
                       "UPDATE contacts SET"
                       " name = CASE WHEN name = '' THEN COALESCE((SELECT s.name FROM contacts s"
                       " WHERE s.tenant_id = ? AND s.id = ?), '') ELSE name END,"
                       " updated_at = ? WHERE tenant_id = ? AND id = ?",
                       p, 5, NULL, NULL, NULL, e)))
        goto out;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(source_id);
    p[2] = store__ptext(target_id);
    p[3] = store__ptext(tenant_id);
    p[4] = store__ptext(target_id);
    if ((rc = store__q(tx->db, tx->c,
                       "UPDATE contacts SET last_activity_at = (SELECT MAX(s.last_activity_at) FROM contacts s"
                       " WHERE s.tenant_id = ? AND s.id IN (?, ?)) WHERE tenant_id = ? AND id = ?",
                       p, 5, NULL, NULL, NULL, e)))
        goto out;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(source_id);
    rc = store__q(tx->db, tx->c, "DELETE FROM contacts WHERE tenant_id = ? AND id = ?", p, 2, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, "contact_not_found", "contact not found");
out:
    free(mc.v);
    return rc;
}

/* ------------------------------------------------------------- engagement */

static int row_engagement(void *ud, const struct store_row *r)
{
    struct store_contact_engagement *g = ud;
    const char *dir = store__col_text(r, 0), *status = store__col_text(r, 1);
    int64_t n = store__col_int(r, 2), last = store__col_int(r, 3);

    if (strcmp(dir, "inbound") == 0) {
        g->inbound += n;
        if (last > g->last_inbound_at)
            g->last_inbound_at = last;
        return 0;
    }
    if (last > g->last_outbound_at)
        g->last_outbound_at = last;
    if (strcmp(status, "queued") == 0)
        g->queued += n;
    else if (strcmp(status, "sent") == 0)
        g->sent += n;
    else if (strcmp(status, "delivered") == 0)
        g->delivered += n;
    else if (strcmp(status, "read") == 0)
        g->read += n;
    else if (strcmp(status, "failed") == 0 || strcmp(status, "undelivered") == 0)
        g->failed += n;
    return 0;
}

int store_contact_engagement(struct store *db, const char *tenant_id, const char *contact_id,
                             struct store_contact_engagement *out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(contact_id)};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(contact_id, "contact id", e)))
        return rc;
    return store__list(db,
                       "SELECT m.direction, m.status, COUNT(*), MAX(m.created_at) FROM conversations cv"
                       " JOIN messages m ON m.conversation_id = cv.id"
                       " WHERE cv.tenant_id = ? AND cv.contact_id = ? GROUP BY m.direction, m.status",
                       p, 2, row_engagement, out, e);
}

/* ------------------------------------------------------ opt-outs by address */

struct opt_iter {
    store_opt_out_cb cb;
    void *ud;
};

static int row_opt_out(void *ud, const struct store_row *r)
{
    struct opt_iter *it = ud;
    struct store_opt_out o;

    memset(&o, 0, sizeof(o));
    store__cpy(o.account_id, sizeof(o.account_id), store__col_text(r, 0));
    store__cpy(o.address, sizeof(o.address), store__col_text(r, 1));
    store__cpy(o.keyword, sizeof(o.keyword), store__col_text(r, 2));
    store__cpy(o.source, sizeof(o.source), store__col_text(r, 3));
    o.created_at = store__col_int(r, 4);
    return it->cb(it->ud, &o, store__col_text(r, 5));
}

int store_opt_out_by_address(struct store *db, const char *tenant_id, const char *address, store_opt_out_cb cb,
                             void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(address)};
    struct opt_iter it = {cb, ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(address, "address", e)))
        return rc;
    return store__list(db,
                       "SELECT o.account_id, o.address, o.keyword, o.source, o.created_at, a.channel FROM opt_outs o"
                       " JOIN channel_accounts a ON a.id = o.account_id AND a.tenant_id = o.tenant_id"
                       " WHERE o.tenant_id = ? AND o.address = ? ORDER BY o.created_at, o.account_id",
                       p, 2, row_opt_out, &it, e);
}
