/*
 * store tenancy: tenants, users and memberships, API keys and sessions.
 *
 * Invariant: every query on a tenant-owned table filters by the tenant id
 * argument (store_apikey_by_hash, store_session_lookup and
 * store_login_lookup are the cross-tenant lookups that resolve a tenant).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static int valid_role(const char *role)
{
    static const char *const roles[] = {"owner", "admin", "agent", "viewer"};
    for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------ tenants */

#define TENANT_COLS "id, name, created_at"

static int row_tenant(void *ud, const struct store_row *r)
{
    struct store_tenant *t = ud;
    store__cpy(t->id, sizeof(t->id), store__col_text(r, 0));
    store__cpy(t->name, sizeof(t->name), store__col_text(r, 1));
    t->created_at = store__col_int(r, 2);
    return 0;
}

int store_tenant_create(struct store *db, const struct store_tenant *t, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[3];
    int rc;

    if ((rc = store__need(t->id, "tenant id", e)) || (rc = store__need(t->name, "tenant name", e)))
        return rc;
    p[0] = store__ptext(t->id);
    p[1] = store__ptext(t->name);
    p[2] = store__pint(t->created_at ? t->created_at : time_now_ms());
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    rc = store__q(db, c, "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", p, 3, NULL, NULL, NULL, e);
    store__pool_put(db, c);
    return rc;
}

int store_tenant_get(struct store *db, const char *tenant_id, struct store_tenant *out, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?", p, 1, row_tenant, out, "tenant", e);
}

int store_tenant_count(struct store *db, int64_t *out, struct err *e)
{
    *out = 0;
    return store__list(db, "SELECT count(*) FROM tenants", NULL, 0, store__row_int, out, e);
}

int store_tenant_find_by_name(struct store *db, const char *name, struct store_tenant *out, struct err *e)
{
    struct store_param p[1] = {store__ptext(name)};
    int rc = store__need(name, "tenant name", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, "SELECT " TENANT_COLS " FROM tenants WHERE name = ? ORDER BY created_at, id LIMIT 1", p,
                          1, row_tenant, out, "tenant", e);
}

/* Keeps the first row and counts them all. */
struct tenant_only {
    struct store_tenant *out;
    int n;
};

static int row_tenant_only(void *ud, const struct store_row *r)
{
    struct tenant_only *to = ud;
    if (to->n++ == 0)
        row_tenant(to->out, r);
    return 0;
}

int store_tenant_only(struct store *db, struct store_tenant *out, struct err *e)
{
    struct tenant_only to = {out, 0};
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store__list(db, "SELECT " TENANT_COLS " FROM tenants ORDER BY created_at, id LIMIT 2", NULL, 0,
                     row_tenant_only, &to, e);
    if (rc)
        return rc;
    if (to.n == 0)
        return err_set(e, ERR_NOTFOUND, NULL, "no tenant exists");
    if (to.n > 1)
        return err_set(e, ERR_CONFLICT, NULL, "more than one tenant exists");
    return 0;
}

/* ------------------------------------------------- users, memberships */

#define MEMBER_SELECT                                                                        \
    "SELECT u.id, m.tenant_id, u.email, u.name, m.role, u.password_hash, m.created_at "     \
    "FROM memberships m JOIN users u ON u.id = m.user_id "

static void row_to_member(const struct store_row *r, struct store_member *m)
{
    store__cpy(m->user_id, sizeof(m->user_id), store__col_text(r, 0));
    store__cpy(m->tenant_id, sizeof(m->tenant_id), store__col_text(r, 1));
    store__cpy(m->email, sizeof(m->email), store__col_text(r, 2));
    store__cpy(m->name, sizeof(m->name), store__col_text(r, 3));
    store__cpy(m->role, sizeof(m->role), store__col_text(r, 4));
    store__cpy(m->password_hash, sizeof(m->password_hash), store__col_text(r, 5));
    m->created_at = store__col_int(r, 6);
}

static int row_member(void *ud, const struct store_row *r)
{
    row_to_member(r, ud);
    return 0;
}

struct member_iter {
    store_member_cb cb;
    void *ud;
};

static int row_member_cb(void *ud, const struct store_row *r)
{
    struct member_iter *it = ud;
    struct store_member m;

    memset(&m, 0, sizeof(m));
    row_to_member(r, &m);
    return it->cb(it->ud, &m);
}

static void lower_ascii(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

static int row_text0(void *ud, const struct store_row *r)
{
    store__cpy(ud, CORE_ID_MAX, store__col_text(r, 0));
    return 0;
}

int store_member_create(struct store *db, const char *tenant_id, struct store_member *m, struct err *e)
{
    struct store_conn *c = NULL;
    char email[sizeof(m->email)], existing[CORE_ID_MAX] = "";
    struct store_param p[5];
    int64_t now = time_now_ms(), rows = 0;
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(m->email, "email", e)))
        return rc;
    if (!valid_role(m->role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    lower_ascii(email, sizeof(email), m->email);
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    if ((rc = store__tx_begin(db, c, e)))
        goto out;
    p[0] = store__ptext(email);
    rc = store__q(db, c, "SELECT id FROM users WHERE email = ?", p, 1, row_text0, existing, NULL, e);
    if (rc)
        goto tx;
    if (existing[0]) {
        store__cpy(m->user_id, sizeof(m->user_id), existing);
    } else {
        if (!m->user_id[0])
            crypto_random_id(m->user_id, sizeof(m->user_id), "usr");
        p[0] = store__ptext(m->user_id);
        p[1] = store__ptext(email);
        p[2] = store__ptext(m->name);
        p[3] = store__ptext(m->password_hash);
        p[4] = store__pint(now);
        /* DO NOTHING: a concurrent creator of the same email wins and we join its user. */
        rc = store__q(db, c,
                      "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"
                      " ON CONFLICT (email) DO NOTHING",
                      p, 5, NULL, NULL, &rows, e);
        if (rc)
            goto tx;
        if (rows == 0) {
            p[0] = store__ptext(email);
            rc = store__q(db, c, "SELECT id FROM users WHERE email = ?", p, 1, row_text0, existing, NULL, e);
            if (rc == 0 && !existing[0])
                rc = err_set(e, ERR_CONFLICT, "conflict", "store: user id already taken");
            if (rc)
                goto tx;
            store__cpy(m->user_id, sizeof(m->user_id), existing);
        }
    }
    store__cpy(m->email, sizeof(m->email), email);
    store__cpy(m->tenant_id, sizeof(m->tenant_id), tenant_id);
    if (!m->created_at)
        m->created_at = now;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(m->user_id);
    p[2] = store__ptext(m->role);
    p[3] = store__pint(m->created_at);
    rc = store__q(db, c, "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", p, 4,
                  NULL, NULL, NULL, e);
    if (rc == ERR_CONFLICT)
        rc = err_set(e, ERR_CONFLICT, "already_member", "store: user is already a member of this tenant");
    else if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
tx:
    rc = store__tx_end(db, c, rc, e);
out:
    store__pool_put(db, c);
    return rc;
}

int store_member_get(struct store *db, const char *tenant_id, const char *user_id, struct store_member *out,
                     struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(user_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(user_id, "user id", e)))
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, MEMBER_SELECT "WHERE m.tenant_id = ? AND m.user_id = ?", p, 2, row_member, out, "user",
                          e);
}

int store_member_list(struct store *db, const char *tenant_id, store_member_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct member_iter it = {cb, ud};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db, MEMBER_SELECT "WHERE m.tenant_id = ? ORDER BY m.created_at, u.id", p, 1, row_member_cb, &it,
                       e);
}

int store_member_set_role(struct store *db, const char *tenant_id, const char *user_id, const char *role,
                          struct err *e)
{
    struct store_param p[3] = {store__ptext(role), store__ptext(tenant_id), store__ptext(user_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(user_id, "user id", e)))
        return rc;
    if (!valid_role(role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    return store__write_one(db, "UPDATE memberships SET role = ? WHERE tenant_id = ? AND user_id = ?", p, 3, "user", e);
}

int store_member_remove(struct store *db, const char *tenant_id, const char *user_id, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(user_id)};
    int64_t rows = 0;
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(user_id, "user id", e)))
        return rc;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    if ((rc = store__tx_begin(db, c, e)))
        goto out;
    rc = store__q(db, c, "DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, NULL, NULL, e);
    if (rc == 0)
        rc = store__q(db, c, "DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, NULL, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "user not found");
    rc = store__tx_end(db, c, rc, e);
out:
    store__pool_put(db, c);
    return rc;
}

int store_member_count_role(struct store *db, const char *tenant_id, const char *role, int64_t *out,
                            struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(role)};
    int rc = store__need(tenant_id, "tenant id", e);

    *out = 0;
    if (rc)
        return rc;
    return store__list(db, "SELECT count(*) FROM memberships WHERE tenant_id = ? AND role = ?", p, 2, store__row_int,
                       out, e);
}

int store_login_lookup(struct store *db, const char *email, store_member_cb cb, void *ud, struct err *e)
{
    char lower[256];
    struct store_param p[1];
    struct member_iter it = {cb, ud};
    int rc = store__need(email, "email", e);

    if (rc)
        return rc;
    lower_ascii(lower, sizeof(lower), email);
    p[0] = store__ptext(lower);
    return store__list(db, MEMBER_SELECT "WHERE u.email = ? ORDER BY m.created_at, m.tenant_id", p, 1, row_member_cb,
                       &it, e);
}

/* ----------------------------------------------------------- API keys */

#define APIKEY_SELECT \
    "SELECT id, tenant_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys "

static void row_to_apikey(const struct store_row *r, struct store_apikey *k)
{
    store__cpy(k->id, sizeof(k->id), store__col_text(r, 0));
    store__cpy(k->tenant_id, sizeof(k->tenant_id), store__col_text(r, 1));
    store__cpy(k->name, sizeof(k->name), store__col_text(r, 2));
    store__cpy(k->role, sizeof(k->role), store__col_text(r, 3));
    store__cpy(k->prefix, sizeof(k->prefix), store__col_text(r, 4));
    store__cpy(k->created_by, sizeof(k->created_by), store__col_text(r, 5));
    k->created_at = store__col_int(r, 6);
    k->last_used_at = store__col_int(r, 7);
    k->revoked_at = store__col_int(r, 8);
}

static int row_apikey(void *ud, const struct store_row *r)
{
    row_to_apikey(r, ud);
    return 0;
}

struct apikey_iter {
    store_apikey_cb cb;
    void *ud;
};

static int row_apikey_cb(void *ud, const struct store_row *r)
{
    struct apikey_iter *it = ud;
    struct store_apikey k;

    memset(&k, 0, sizeof(k));
    row_to_apikey(r, &k);
    return it->cb(it->ud, &k);
}

int store_apikey_create(struct store *db, const char *tenant_id, const struct store_apikey *k,
                        const char *key_hash, struct err *e)
{
    struct store_param p[10];
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(k->id, "key id", e)) ||
        (rc = store__need(key_hash, "key hash", e)))
        return rc;
    if (!valid_role(k->role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    p[0] = store__ptext(k->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(k->name);
    p[3] = store__ptext(k->role);
    p[4] = store__ptext(k->prefix);
    p[5] = store__ptext(key_hash);
    p[6] = store__ptext_or_null(k->created_by);
    p[7] = store__pint(k->created_at ? k->created_at : time_now_ms());
    p[8] = k->last_used_at ? store__pint(k->last_used_at) : (struct store_param){.type = STORE_P_NULL};
    p[9] = k->revoked_at ? store__pint(k->revoked_at) : (struct store_param){.type = STORE_P_NULL};
    rc = store__write_one(db,
                          "INSERT INTO api_keys (id, tenant_id, name, role, prefix, key_hash, created_by, created_at,"
                          " last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 10, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_apikey_by_hash(struct store *db, const char *key_hash, struct store_apikey *out, struct err *e)
{
    struct store_param p[1] = {store__ptext(key_hash)};
    int rc = store__need(key_hash, "key hash", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, APIKEY_SELECT "WHERE key_hash = ?", p, 1, row_apikey, out, "API key", e);
}

int store_apikey_list(struct store *db, const char *tenant_id, store_apikey_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct apikey_iter it = {cb, ud};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db, APIKEY_SELECT "WHERE tenant_id = ? ORDER BY created_at, id", p, 1, row_apikey_cb, &it, e);
}

int store_apikey_revoke(struct store *db, const char *tenant_id, const char *key_id, int64_t now, struct err *e)
{
    struct store_param p[3] = {store__pint(now), store__ptext(tenant_id), store__ptext(key_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(key_id, "key id", e)))
        return rc;
    /* COALESCE keeps the first revocation time: revoking twice is a no-op. */
    return store__write_one(db,
                            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?",
                            p, 3, "API key", e);
}

int store_apikey_touch(struct store *db, const char *tenant_id, const char *key_id, int64_t now, struct err *e)
{
    struct store_param p[3] = {store__pint(now), store__ptext(tenant_id), store__ptext(key_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(key_id, "key id", e)))
        return rc;
    return store__write_one(db, "UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?", p, 3, "API key",
                            e);
}

/* ----------------------------------------------------------- sessions */

int store_session_create(struct store *db, const char *tenant_id, const struct store_session *s, struct err *e)
{
    struct store_param p[6];
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(s->token_hash, "token hash", e)) ||
        (rc = store__need(s->user_id, "user id", e)))
        return rc;
    p[0] = store__ptext(s->token_hash);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(s->user_id);
    p[3] = store__ptext(s->csrf_token);
    p[4] = store__pint(s->created_at ? s->created_at : time_now_ms());
    p[5] = store__pint(s->expires_at);
    rc = store__write_one(db,
                          "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, expires_at)"
                          " VALUES (?, ?, ?, ?, ?, ?)",
                          p, 6, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant or user not found");
    return rc;
}

static int row_session(void *ud, const struct store_row *r)
{
    struct store_session *s = ud;
    store__cpy(s->token_hash, sizeof(s->token_hash), store__col_text(r, 0));
    store__cpy(s->tenant_id, sizeof(s->tenant_id), store__col_text(r, 1));
    store__cpy(s->user_id, sizeof(s->user_id), store__col_text(r, 2));
    store__cpy(s->csrf_token, sizeof(s->csrf_token), store__col_text(r, 3));
    s->created_at = store__col_int(r, 4);
    s->expires_at = store__col_int(r, 5);
    store__cpy(s->role, sizeof(s->role), store__col_text(r, 6));
    store__cpy(s->email, sizeof(s->email), store__col_text(r, 7));
    return 0;
}

int store_session_lookup(struct store *db, const char *token_hash, int64_t now, struct store_session *out,
                         struct err *e)
{
    struct store_param p[2] = {store__ptext(token_hash), store__pint(now)};
    int rc = store__need(token_hash, "token hash", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db,
                          "SELECT s.token_hash, s.tenant_id, s.user_id, s.csrf_token, s.created_at, s.expires_at,"
                          " m.role, u.email FROM sessions s"
                          " JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id"
                          " JOIN users u ON u.id = s.user_id"
                          " WHERE s.token_hash = ? AND s.expires_at > ?",
                          p, 2, row_session, out, "session", e);
}

int store_session_delete(struct store *db, const char *tenant_id, const char *token_hash, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(token_hash)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(token_hash, "token hash", e)))
        return rc;
    return store__write_one(db, "DELETE FROM sessions WHERE tenant_id = ? AND token_hash = ?", p, 2, "session", e);
}

int store_session_delete_user(struct store *db, const char *tenant_id, const char *user_id, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(user_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(user_id, "user id", e)))
        return rc;
    return store__write_one(db, "DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, e);
}
