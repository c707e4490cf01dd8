/*
 * store audit: the hash-chained audit log, the key ring and sealed secrets.
 *
 * Invariant: the audit chain of a tenant is appended under a per-tenant
 * write lock (BEGIN IMMEDIATE on SQLite, an advisory transaction lock on
 * PostgreSQL), so it never forks.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---------------------------------------------------------- audit log */

#define AUDIT_SELECT                                                                                   \
    "SELECT seq, tenant_id, at, actor_type, actor_id, action, target, ip, details, prev_hash, hash " \
    "FROM audit_log "

static void row_to_audit(const struct store_row *r, struct store_audit *a)
{
    a->seq = store__col_int(r, 0);
    store__cpy(a->tenant_id, sizeof(a->tenant_id), store__col_text(r, 1));
    a->at = store__col_int(r, 2);
    store__cpy(a->actor_type, sizeof(a->actor_type), store__col_text(r, 3));
    store__cpy(a->actor_id, sizeof(a->actor_id), store__col_text(r, 4));
    store__cpy(a->action, sizeof(a->action), store__col_text(r, 5));
    store__cpy(a->target, sizeof(a->target), store__col_text(r, 6));
    store__cpy(a->ip, sizeof(a->ip), store__col_text(r, 7));
    store__cpy(a->details, sizeof(a->details), store__col_text(r, 8));
    store__cpy(a->prev_hash, sizeof(a->prev_hash), store__col_text(r, 9));
    store__cpy(a->hash, sizeof(a->hash), store__col_text(r, 10));
}

struct audit_last {
    int64_t seq;
    char hash[65];
};

static int row_audit_last(void *ud, const struct store_row *r)
{
    struct audit_last *l = ud;
    l->seq = store__col_int(r, 0);
    store__cpy(l->hash, sizeof(l->hash), store__col_text(r, 1));
    return 0;
}

struct audit_iter {
    store_audit_cb cb;
    void *ud;
};

static int row_audit_cb(void *ud, const struct store_row *r)
{
    struct audit_iter *it = ud;
    struct store_audit a;

    memset(&a, 0, sizeof(a));
    row_to_audit(r, &a);
    return it->cb(it->ud, &a);
}

int store_audit_append(struct store *db, const char *tenant_id, struct store_audit *row,
                       store_audit_hash_fn hash_fn, struct err *e)
{
    struct store_conn *c = NULL;
    struct audit_last last = {0, ""};
    struct store_param p[11];
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(row->action, "audit action", e)))
        return rc;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    if ((rc = store__tx_begin(db, c, e)))
        goto out;
    p[0] = store__ptext(tenant_id);
    if (db->be->tenant_lock_sql) {
        rc = store__q(db, c, db->be->tenant_lock_sql, p, 1, NULL, NULL, NULL, e);
        if (rc)
            goto tx;
    }
    rc = store__q(db, c, "SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", p, 1,
                  row_audit_last, &last, NULL, e);
    if (rc)
        goto tx;
    store__cpy(row->tenant_id, sizeof(row->tenant_id), tenant_id);
    row->seq = last.seq + 1;
    store__cpy(row->prev_hash, sizeof(row->prev_hash), last.hash);
    if (!row->at)
        row->at = time_now_ms();
    if (hash_fn)
        hash_fn(row);
    p[1] = store__pint(row->seq);
    p[2] = store__pint(row->at);
    p[3] = store__ptext(row->actor_type);
    p[4] = store__ptext_or_null(row->actor_id);
    p[5] = store__ptext(row->action);
    p[6] = store__ptext_or_null(row->target);
    p[7] = store__ptext_or_null(row->ip);
    p[8] = store__ptext_or_null(row->details);
    p[9] = store__ptext(row->prev_hash);
    p[10] = store__ptext(row->hash);
    rc = store__q(db, c,
                  "INSERT INTO audit_log (tenant_id, seq, at, actor_type, actor_id, action, target, ip, details,"
                  " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  p, 11, NULL, NULL, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
tx:
    rc = store__tx_end(db, c, rc, e);
out:
    store__pool_put(db, c);
    return rc;
}

int store_audit_list(struct store *db, const char *tenant_id, int64_t from, int64_t to, int64_t before_seq,
                     int limit, store_audit_cb cb, void *ud, struct err *e)
{
    struct store_param p[5] = {store__ptext(tenant_id), store__pint(from), store__pint(to > 0 ? to : INT64_MAX),
                               store__pint(before_seq > 0 ? before_seq : INT64_MAX),
                               store__pint(limit > 0 ? limit : INT64_MAX)};
    struct audit_iter it = {cb, ud};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db,
                       AUDIT_SELECT "WHERE tenant_id = ? AND at >= ? AND at < ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                       p, 5, row_audit_cb, &it, e);
}

int store_audit_scan(struct store *db, store_audit_cb cb, void *ud, struct err *e)
{
    struct audit_iter it = {cb, ud};
    return store__list(db, AUDIT_SELECT "ORDER BY tenant_id, seq", NULL, 0, row_audit_cb, &it, e);
}

/* ---------------------------------------------------- key ring, secrets */

int store_key_add(struct store *db, const struct store_key *k, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[4];
    int rc;

    if ((rc = store__need(k->id, "key id", e)) || (rc = store__need(k->wrapped, "wrapped key", e)))
        return rc;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    if ((rc = store__tx_begin(db, c, e)))
        goto out;
    if (k->active)
        rc = store__q(db, c, "UPDATE keyring SET active = 0 WHERE active <> 0", NULL, 0, NULL, NULL, NULL, e);
    if (rc == 0) {
        p[0] = store__ptext(k->id);
        p[1] = store__ptext(k->wrapped);
        p[2] = store__pint(k->active ? 1 : 0);
        p[3] = store__pint(k->created_at ? k->created_at : time_now_ms());
        rc = store__q(db, c, "INSERT INTO keyring (id, wrapped, active, created_at) VALUES (?, ?, ?, ?)", p, 4, NULL,
                      NULL, NULL, e);
    }
    rc = store__tx_end(db, c, rc, e);
out:
    store__pool_put(db, c);
    return rc;
}

struct key_iter {
    store_key_cb cb;
    void *ud;
};

static int row_key_cb(void *ud, const struct store_row *r)
{
    struct key_iter *it = ud;
    struct store_key k;

    memset(&k, 0, sizeof(k));
    store__cpy(k.id, sizeof(k.id), store__col_text(r, 0));
    store__cpy(k.wrapped, sizeof(k.wrapped), store__col_text(r, 1));
    k.active = store__col_int(r, 2) != 0;
    k.created_at = store__col_int(r, 3);
    return it->cb(it->ud, &k);
}

int store_key_list(struct store *db, store_key_cb cb, void *ud, struct err *e)
{
    struct key_iter it = {cb, ud};
    return store__list(db, "SELECT id, wrapped, active, created_at FROM keyring ORDER BY created_at, id", NULL, 0,
                       row_key_cb, &it, e);
}

#define SECRET_UPSERT                                                                         \
    "INSERT INTO secrets (tenant_id, name, key_id, sealed, updated_at) VALUES (?, ?, ?, ?, ?)" \
    " ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = excluded.key_id,"                  \
    " sealed = excluded.sealed, updated_at = excluded.updated_at"

static int secret_check(const char *tenant_id, const char *name, const char *key_id, const char *sealed,
                        struct err *e)
{
    int rc;
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "secret name", e)) ||
        (rc = store__need(key_id, "key id", e)) || (rc = store__need(sealed, "sealed value", e)))
        return rc;
    return 0;
}

int store_secret_put(struct store *db, const char *tenant_id, const char *name, const char *key_id,
                     const char *sealed, int64_t now, struct err *e)
{
    struct store_param p[5] = {store__ptext(tenant_id), store__ptext(name), store__ptext(key_id), store__ptext(sealed),
                               store__pint(now)};
    int rc;

    if ((rc = secret_check(tenant_id, name, key_id, sealed, e)))
        return rc;
    rc = store__write_one(db, SECRET_UPSERT, p, 5, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_secret_put_tx(struct store_tx *tx, const char *tenant_id, const char *name, const char *key_id,
                        const char *sealed, int64_t now, struct err *e)
{
    struct store_param p[5] = {store__ptext(tenant_id), store__ptext(name), store__ptext(key_id), store__ptext(sealed),
                               store__pint(now)};
    int rc;

    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = secret_check(tenant_id, name, key_id, sealed, e)))
        return rc;
    rc = store__q(tx->db, tx->c, SECRET_UPSERT, p, 5, NULL, NULL, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_secret_reseal(struct store *db, const char *tenant_id, const char *name, const char *old_sealed,
                        const char *key_id, const char *sealed, int64_t now, int *out_changed, struct err *e)
{
    struct store_param p[6] = {store__ptext(key_id), store__ptext(sealed), store__pint(now),
                               store__ptext(tenant_id), store__ptext(name), store__ptext(old_sealed)};
    struct store_conn *c = NULL;
    int64_t rows = 0;
    int rc;

    if (out_changed)
        *out_changed = 0;
    if ((rc = secret_check(tenant_id, name, key_id, sealed, e)) || (rc = store__need(old_sealed, "old value", e)))
        return rc;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    rc = store__q(db, c,
                  "UPDATE secrets SET key_id = ?, sealed = ?, updated_at = ? WHERE tenant_id = ? AND name = ?"
                  " AND sealed = ?",
                  p, 6, NULL, NULL, &rows, e);
    store__pool_put(db, c);
    if (rc == 0 && out_changed)
        *out_changed = rows > 0;
    return rc;
}

int store_secret_delete_tx(struct store_tx *tx, const char *tenant_id, const char *name, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(name)};
    int rc;

    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "secret name", e)))
        return rc;
    return store__q(tx->db, tx->c, "DELETE FROM secrets WHERE tenant_id = ? AND name = ?", p, 2, NULL, NULL, NULL, e);
}

static int row_strdup0(void *ud, const struct store_row *r)
{
    char **out = ud;
    free(*out);
    *out = strdup(store__col_text(r, 0));
    return *out ? 0 : ERR_NOMEM;
}

int store_secret_get(struct store *db, const char *tenant_id, const char *name, char **out_sealed, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(name)};
    char *sealed = NULL;
    int rc;

    *out_sealed = NULL;
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "secret name", e)))
        return rc;
    rc = store__get_one(db, "SELECT sealed FROM secrets WHERE tenant_id = ? AND name = ?", p, 2, row_strdup0, &sealed,
                        "secret", e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc) {
        free(sealed);
        return rc;
    }
    *out_sealed = sealed;
    return 0;
}

struct secret_buf {
    struct store_secret *v;
    size_t n, cap;
};

static int row_secret_collect(void *ud, const struct store_row *r)
{
    struct secret_buf *b = ud;
    struct store_secret *s;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct store_secret *v = realloc(b->v, cap * sizeof(*v));
        if (!v)
            return ERR_NOMEM;
        b->v = v;
        b->cap = cap;
    }
    s = &b->v[b->n];
    memset(s, 0, sizeof(*s));
    store__cpy(s->tenant_id, sizeof(s->tenant_id), store__col_text(r, 0));
    store__cpy(s->name, sizeof(s->name), store__col_text(r, 1));
    store__cpy(s->key_id, sizeof(s->key_id), store__col_text(r, 2));
    s->sealed = strdup(store__col_text(r, 3));
    if (!s->sealed)
        return ERR_NOMEM;
    s->updated_at = store__col_int(r, 4);
    b->n++;
    return 0;
}

int store_secret_scan(struct store *db, store_secret_cb cb, void *ud, struct err *e)
{
    struct secret_buf b = {0};
    int rc;

    /* Collected first, then handed out with the connection back in the pool:
     * rotation re-encrypts from inside the callback (store_secret_put). */
    rc = store__list(db, "SELECT tenant_id, name, key_id, sealed, updated_at FROM secrets ORDER BY tenant_id, name",
                     NULL, 0, row_secret_collect, &b, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < b.n; i++)
        rc = cb(ud, &b.v[i]);
    for (size_t i = 0; i < b.n; i++)
        free(b.v[i].sealed);
    free(b.v);
    return rc;
}
