/*
 * store: the connection pool, migrations and every domain function, written
 * once against the statement API of store_int.h for both backends.
 *
 * Invariants: a connection is used by one thread at a time (pool_get/put);
 * a connection goes back to the pool outside any transaction (tx_end always
 * commits or rolls back); every query on a tenant-owned table filters by the
 * tenant id argument; the audit chain of a tenant is appended under a
 * per-tenant write lock (BEGIN IMMEDIATE on SQLite, an advisory transaction
 * lock on PostgreSQL), so it never forks. Row callbacks run while the
 * connection is held: a callback that calls the store needs a pool of >= 2.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define POOL_WAIT_S 30

struct store {
    const struct store_backend *be;
    struct store_options opt;
    char *database_url;
    char *sqlite_path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int size;     /* capacity */
    int created;  /* connections opened (free + in use) */
    int nfree;
    struct store_conn **free;
    uint64_t queries;  /* atomic */
    uint64_t query_ns; /* atomic */
};

/* ------------------------------------------------------------ helpers */

static void cpy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static struct store_param ptext(const char *s)
{
    return (struct store_param){.type = STORE_P_TEXT, .text = s};
}

static struct store_param pint(int64_t i)
{
    return (struct store_param){.type = STORE_P_INT, .i = i};
}

/* Empty strings are stored as NULL in nullable columns. */
static struct store_param ptext_or_null(const char *s)
{
    if (!s || !*s)
        return (struct store_param){.type = STORE_P_NULL};
    return ptext(s);
}

static const char *col_text(const struct store_row *r, int i)
{
    return r->be->col_text(r, i);
}

static int64_t col_int(const struct store_row *r, int i)
{
    return r->be->col_int(r, i);
}

/* Reads column 0 as an integer into *(int64_t *)ud. */
static int row_int(void *ud, const struct store_row *r)
{
    *(int64_t *)ud = col_int(r, 0);
    return 0;
}

/* Sets *(int *)ud when any row comes back. */
static int row_found(void *ud, const struct store_row *r)
{
    (void)r;
    *(int *)ud = 1;
    return 0;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int valid_role(const char *role)
{
    static const char *const roles[] = {"owner", "admin", "agent", "viewer"};
    for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(role, roles[i]) == 0)
            return 1;
    return 0;
}

static int need(const char *s, const char *what, struct err *e)
{
    if (!s || !*s)
        return err_set(e, ERR_INVALID, NULL, "store: %s is required", what);
    return 0;
}

/* One statement, timed for store_stats. */
static int q(struct store *db, struct store_conn *c, const char *sql, const struct store_param *p, int np,
             store_row_fn fn, void *ud, int64_t *changes, struct err *e)
{
    int64_t t0 = mono_ns();
    int rc = db->be->exec(c, sql, p, np, fn, ud, changes, e);
    __atomic_add_fetch(&db->queries, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->query_ns, (uint64_t)(mono_ns() - t0), __ATOMIC_RELAXED);
    return rc;
}

/* --------------------------------------------------------------- pool */

static int pool_get(struct store *db, struct store_conn **out, struct err *e)
{
    struct store_conn *c = NULL;
    struct timespec deadline;
    int rc = 0, create = 0;

    *out = NULL;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += POOL_WAIT_S;
    pthread_mutex_lock(&db->mu);
    while (db->nfree == 0 && db->created >= db->size) {
        if (pthread_cond_timedwait(&db->cv, &db->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&db->mu);
            return err_set(e, ERR_TIMEOUT, NULL, "store: no database connection free after %d s", POOL_WAIT_S);
        }
    }
    if (db->nfree > 0) {
        c = db->free[--db->nfree];
    } else {
        db->created++;
        create = 1;
    }
    pthread_mutex_unlock(&db->mu);

    rc = create ? db->be->open(&c, &db->opt, e) : db->be->ensure(c, e);
    if (rc) {
        if (!create)
            db->be->close(c);
        pthread_mutex_lock(&db->mu);
        db->created--;
        pthread_cond_signal(&db->cv);
        pthread_mutex_unlock(&db->mu);
        return rc;
    }
    *out = c;
    return 0;
}

static void pool_put(struct store *db, struct store_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&db->mu);
    db->free[db->nfree++] = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

static int tx_begin(struct store *db, struct store_conn *c, struct err *e)
{
    return q(db, c, db->be->begin_write_sql, NULL, 0, NULL, NULL, NULL, e);
}

/* Commit when rc is 0, else roll back; returns the final rc. */
static int tx_end(struct store *db, struct store_conn *c, int rc, struct err *e)
{
    struct err ignored = {0};

    if (rc == 0)
        rc = q(db, c, "COMMIT", NULL, 0, NULL, NULL, NULL, e);
    if (rc != 0)
        q(db, c, "ROLLBACK", NULL, 0, NULL, NULL, NULL, &ignored);
    return rc;
}

int store_open(struct store **out, const struct store_options *opt, struct err *e)
{
    struct store *db = NULL;
    struct store_conn *c = NULL;
    int rc = 0;

    *out = NULL;
    db = calloc(1, sizeof(*db));
    if (!db)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    db->size = opt->pool_size > 0 ? opt->pool_size : 8;
    db->free = calloc((size_t)db->size, sizeof(*db->free));
    if (!db->free) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (opt->database_url && opt->database_url[0]) {
        if (strncmp(opt->database_url, "postgres://", 11) != 0 &&
            strncmp(opt->database_url, "postgresql://", 13) != 0) {
            rc = err_set(e, ERR_INVALID, NULL, "store: database URL must start with postgres://");
            goto out;
        }
        db->be = &store__pg_backend;
        db->database_url = strdup(opt->database_url);
        if (!db->database_url) {
            rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
            goto out;
        }
    } else {
        if (!opt->sqlite_path || !opt->sqlite_path[0]) {
            rc = err_set(e, ERR_INVALID, NULL, "store: no database URL and no SQLite path");
            goto out;
        }
        db->be = &store__sqlite_backend;
        db->sqlite_path = strdup(opt->sqlite_path);
        if (!db->sqlite_path) {
            rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
            goto out;
        }
    }
    db->opt.database_url = db->database_url;
    db->opt.sqlite_path = db->sqlite_path;
    db->opt.pool_size = db->size;
    db->opt.busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
    /* Open one connection now so a bad path or URL fails here, not later. */
    rc = pool_get(db, &c, e);
    if (rc)
        goto out;
    pool_put(db, c);
    *out = db;
    db = NULL;
out:
    store_close(db);
    return rc;
}

void store_close(struct store *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nfree; i++)
        db->be->close(db->free[i]);
    free(db->free);
    free(db->database_url);
    free(db->sqlite_path);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->mu);
    free(db);
}

const char *store_backend(const struct store *db)
{
    return db->be->name;
}

void store_stats(const struct store *db, uint64_t *queries, uint64_t *query_ns)
{
    if (queries)
        *queries = __atomic_load_n(&db->queries, __ATOMIC_RELAXED);
    if (query_ns)
        *query_ns = __atomic_load_n(&db->query_ns, __ATOMIC_RELAXED);
}

int store_ping(struct store *db, struct err *e)
{
    struct store_conn *c = NULL;
    int64_t one = 0;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = q(db, c, "SELECT 1", NULL, 0, row_int, &one, NULL, e);
    if (rc == 0 && one != 1)
        rc = err_set(e, ERR_IO, "database_error", "store: SELECT 1 returned %lld", (long long)one);
    pool_put(db, c);
    return rc;
}

/* --------------------------------------------------------- migrations */

struct applied_ctx {
    const struct store__migration *compiled;
    int max;          /* highest applied version */
    struct err *e;
};

static const struct store__migration *find_migration(const struct store__migration *m, int version)
{
    for (; m->version; m++)
        if (m->version == version)
            return m;
    return NULL;
}

/* Checks one schema_migrations row against the compiled migrations. */
static int row_applied(void *ud, const struct store_row *r)
{
    struct applied_ctx *a = ud;
    int version = (int)col_int(r, 0);
    const char *name = col_text(r, 1), *sum = col_text(r, 2);
    const struct store__migration *m = find_migration(a->compiled, version);
    char want[65];

    if (version > a->max)
        a->max = version;
    if (!m)
        return err_set(a->e, ERR_CONFLICT, "migration_unknown",
                       "store: database has migration %d (%s) that this binary lacks", version, name);
    crypto_sha256_hex(want, m->sql, strlen(m->sql));
    if (strcmp(want, sum) != 0)
        return err_set(a->e, ERR_CONFLICT, "migration_changed",
                       "store: applied migration %s changed since it was applied (checksum mismatch)", m->name);
    return 0;
}

static int migration_check(struct store *db, struct store_conn *c, struct store_migration_info *info,
                           struct err *e)
{
    struct applied_ctx a = {.compiled = db->be->migrations, .e = e};
    struct store_param p[1] = {ptext("schema_migrations")};
    int64_t exists = 0;
    int rc, pending = 0, latest = 0;

    rc = q(db, c, db->be->table_exists_sql, p, 1, row_int, &exists, NULL, e);
    if (rc)
        return rc;
    if (exists) {
        rc = q(db, c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", NULL, 0,
               row_applied, &a, NULL, e);
        if (rc)
            return rc;
    }
    for (const struct store__migration *m = db->be->migrations; m->version; m++) {
        latest = m->version;
        if (m->version > a.max)
            pending++;
    }
    if (info) {
        info->latest = latest;
        info->applied = a.max;
        info->pending = pending;
    }
    return 0;
}

int store_migration_status(struct store *db, struct store_migration_info *out, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = migration_check(db, c, out, e);
    pool_put(db, c);
    return rc;
}

/* Apply one migration unless another process already did (checked under the lock). */
static int migration_apply(struct store *db, struct store_conn *c, const struct store__migration *m,
                           struct err *e)
{
    char sum[65];
    int found = 0, rc;
    struct store_param p[4];

    rc = tx_begin(db, c, e);
    if (rc)
        return rc;
    if (db->be->migration_lock_sql) {
        rc = q(db, c, db->be->migration_lock_sql, NULL, 0, NULL, NULL, NULL, e);
        if (rc)
            goto out;
    }
    p[0] = pint(m->version);
    rc = q(db, c, "SELECT 1 FROM schema_migrations WHERE version = ?", p, 1, row_found, &found, NULL, e);
    if (rc || found)
        goto out;
    rc = db->be->script(c, m->sql, e);
    if (rc) {
        struct err inner = *e;
        rc = err_set(e, rc, NULL, "store: migration %s failed: %s", m->name, inner.msg);
        goto out;
    }
    crypto_sha256_hex(sum, m->sql, strlen(m->sql));
    p[1] = ptext(m->name);
    p[2] = ptext(sum);
    p[3] = pint(time_now_ms());
    rc = q(db, c, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)", p, 4,
           NULL, NULL, NULL, e);
out:
    return tx_end(db, c, rc, e);
}

int store_migrate(struct store *db, struct store_migration_info *out, struct err *e)
{
    struct store_migration_info info = {0};
    struct store_conn *c = NULL;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    /* Create the bookkeeping table under the migration lock (concurrent migrators). */
    rc = tx_begin(db, c, e);
    if (rc)
        goto out;
    if (db->be->migration_lock_sql)
        rc = q(db, c, db->be->migration_lock_sql, NULL, 0, NULL, NULL, NULL, e);
    if (rc == 0)
        rc = db->be->script(c,
                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                            " checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                            e);
    rc = tx_end(db, c, rc, e);
    if (rc)
        goto out;
    rc = migration_check(db, c, &info, e);
    if (rc)
        goto out;
    for (const struct store__migration *m = db->be->migrations; m->version; m++) {
        if (m->version <= info.applied)
            continue;
        rc = migration_apply(db, c, m, e);
        if (rc)
            goto out;
    }
    rc = migration_check(db, c, out, e);
out:
    pool_put(db, c);
    return rc;
}

/* ------------------------------------------------------------ tenants */

#define TENANT_COLS "id, name, created_at"

static int row_tenant(void *ud, const struct store_row *r)
{
    struct store_tenant *t = ud;
    cpy(t->id, sizeof(t->id), col_text(r, 0));
    cpy(t->name, sizeof(t->name), col_text(r, 1));
    t->created_at = col_int(r, 2);
    return 0;
}

int store_tenant_create(struct store *db, const struct store_tenant *t, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[3];
    int rc;

    if ((rc = need(t->id, "tenant id", e)) || (rc = need(t->name, "tenant name", e)))
        return rc;
    p[0] = ptext(t->id);
    p[1] = ptext(t->name);
    p[2] = pint(t->created_at ? t->created_at : time_now_ms());
    if ((rc = pool_get(db, &c, e)))
        return rc;
    rc = q(db, c, "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)", p, 3, NULL, NULL, NULL, e);
    pool_put(db, c);
    return rc;
}

/* Runs a single-row select; ERR_NOTFOUND (naming what) when no row. */
static int get_one(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                   void *ud, const char *what, struct err *e)
{
    struct store_conn *c = NULL;
    int64_t rows = 0;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = q(db, c, sql, p, np, fn, ud, &rows, e);
    pool_put(db, c);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "%s not found", what);
    return rc;
}

/* Runs a write; ERR_NOTFOUND (naming what) when it changed no row and what is set. */
static int write_one(struct store *db, const char *sql, const struct store_param *p, int np, const char *what,
                     struct err *e)
{
    struct store_conn *c = NULL;
    int64_t rows = 0;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = q(db, c, sql, p, np, NULL, NULL, &rows, e);
    pool_put(db, c);
    if (rc == 0 && rows == 0 && what)
        rc = err_set(e, ERR_NOTFOUND, NULL, "%s not found", what);
    return rc;
}

/* Runs a select with a caller's row callback. */
static int list(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                void *ud, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = q(db, c, sql, p, np, fn, ud, NULL, e);
    pool_put(db, c);
    return rc;
}

int store_tenant_get(struct store *db, const char *tenant_id, struct store_tenant *out, struct err *e)
{
    struct store_param p[1] = {ptext(tenant_id)};
    int rc = need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return get_one(db, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?", p, 1, row_tenant, out, "tenant", e);
}

int store_tenant_count(struct store *db, int64_t *out, struct err *e)
{
    *out = 0;
    return list(db, "SELECT count(*) FROM tenants", NULL, 0, row_int, out, e);
}

int store_tenant_find_by_name(struct store *db, const char *name, struct store_tenant *out, struct err *e)
{
    struct store_param p[1] = {ptext(name)};
    int rc = need(name, "tenant name", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return get_one(db, "SELECT " TENANT_COLS " FROM tenants WHERE name = ? ORDER BY created_at, id LIMIT 1", p, 1,
                   row_tenant, out, "tenant", e);
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
    rc = list(db, "SELECT " TENANT_COLS " FROM tenants ORDER BY created_at, id LIMIT 2", NULL, 0, row_tenant_only,
              &to, e);
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
    cpy(m->user_id, sizeof(m->user_id), col_text(r, 0));
    cpy(m->tenant_id, sizeof(m->tenant_id), col_text(r, 1));
    cpy(m->email, sizeof(m->email), col_text(r, 2));
    cpy(m->name, sizeof(m->name), col_text(r, 3));
    cpy(m->role, sizeof(m->role), col_text(r, 4));
    cpy(m->password_hash, sizeof(m->password_hash), col_text(r, 5));
    m->created_at = col_int(r, 6);
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
    cpy(ud, CORE_ID_MAX, col_text(r, 0));
    return 0;
}

int store_member_create(struct store *db, const char *tenant_id, struct store_member *m, struct err *e)
{
    struct store_conn *c = NULL;
    char email[sizeof(m->email)], existing[CORE_ID_MAX] = "";
    struct store_param p[5];
    int64_t now = time_now_ms(), rows = 0;
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(m->email, "email", e)))
        return rc;
    if (!valid_role(m->role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    lower_ascii(email, sizeof(email), m->email);
    if ((rc = pool_get(db, &c, e)))
        return rc;
    if ((rc = tx_begin(db, c, e)))
        goto out;
    p[0] = ptext(email);
    rc = q(db, c, "SELECT id FROM users WHERE email = ?", p, 1, row_text0, existing, NULL, e);
    if (rc)
        goto tx;
    if (existing[0]) {
        cpy(m->user_id, sizeof(m->user_id), existing);
    } else {
        if (!m->user_id[0])
            crypto_random_id(m->user_id, sizeof(m->user_id), "usr");
        p[0] = ptext(m->user_id);
        p[1] = ptext(email);
        p[2] = ptext(m->name);
        p[3] = ptext(m->password_hash);
        p[4] = pint(now);
        /* DO NOTHING: a concurrent creator of the same email wins and we join its user. */
        rc = q(db, c,
               "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"
               " ON CONFLICT (email) DO NOTHING",
               p, 5, NULL, NULL, &rows, e);
        if (rc)
            goto tx;
        if (rows == 0) {
            p[0] = ptext(email);
            rc = q(db, c, "SELECT id FROM users WHERE email = ?", p, 1, row_text0, existing, NULL, e);
            if (rc == 0 && !existing[0])
                rc = err_set(e, ERR_CONFLICT, "conflict", "store: user id already taken");
            if (rc)
                goto tx;
            cpy(m->user_id, sizeof(m->user_id), existing);
        }
    }
    cpy(m->email, sizeof(m->email), email);
    cpy(m->tenant_id, sizeof(m->tenant_id), tenant_id);
    if (!m->created_at)
        m->created_at = now;
    p[0] = ptext(tenant_id);
    p[1] = ptext(m->user_id);
    p[2] = ptext(m->role);
    p[3] = pint(m->created_at);
    rc = q(db, c, "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", p, 4,
           NULL, NULL, NULL, e);
    if (rc == ERR_CONFLICT)
        rc = err_set(e, ERR_CONFLICT, "already_member", "store: user is already a member of this tenant");
    else if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
tx:
    rc = tx_end(db, c, rc, e);
out:
    pool_put(db, c);
    return rc;
}

int store_member_get(struct store *db, const char *tenant_id, const char *user_id, struct store_member *out,
                     struct err *e)
{
    struct store_param p[2] = {ptext(tenant_id), ptext(user_id)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(user_id, "user id", e)))
        return rc;
    memset(out, 0, sizeof(*out));
    return get_one(db, MEMBER_SELECT "WHERE m.tenant_id = ? AND m.user_id = ?", p, 2, row_member, out, "user", e);
}

int store_member_list(struct store *db, const char *tenant_id, store_member_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {ptext(tenant_id)};
    struct member_iter it = {cb, ud};
    int rc = need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return list(db, MEMBER_SELECT "WHERE m.tenant_id = ? ORDER BY m.created_at, u.id", p, 1, row_member_cb, &it, e);
}

int store_member_set_role(struct store *db, const char *tenant_id, const char *user_id, const char *role,
                          struct err *e)
{
    struct store_param p[3] = {ptext(role), ptext(tenant_id), ptext(user_id)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(user_id, "user id", e)))
        return rc;
    if (!valid_role(role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    return write_one(db, "UPDATE memberships SET role = ? WHERE tenant_id = ? AND user_id = ?", p, 3, "user", e);
}

int store_member_remove(struct store *db, const char *tenant_id, const char *user_id, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[2] = {ptext(tenant_id), ptext(user_id)};
    int64_t rows = 0;
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(user_id, "user id", e)))
        return rc;
    if ((rc = pool_get(db, &c, e)))
        return rc;
    if ((rc = tx_begin(db, c, e)))
        goto out;
    rc = q(db, c, "DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, NULL, NULL, e);
    if (rc == 0)
        rc = q(db, c, "DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, NULL, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "user not found");
    rc = tx_end(db, c, rc, e);
out:
    pool_put(db, c);
    return rc;
}

int store_member_count_role(struct store *db, const char *tenant_id, const char *role, int64_t *out,
                            struct err *e)
{
    struct store_param p[2] = {ptext(tenant_id), ptext(role)};
    int rc = need(tenant_id, "tenant id", e);

    *out = 0;
    if (rc)
        return rc;
    return list(db, "SELECT count(*) FROM memberships WHERE tenant_id = ? AND role = ?", p, 2, row_int, out, e);
}

int store_login_lookup(struct store *db, const char *email, store_member_cb cb, void *ud, struct err *e)
{
    char lower[256];
    struct store_param p[1];
    struct member_iter it = {cb, ud};
    int rc = need(email, "email", e);

    if (rc)
        return rc;
    lower_ascii(lower, sizeof(lower), email);
    p[0] = ptext(lower);
    return list(db, MEMBER_SELECT "WHERE u.email = ? ORDER BY m.created_at, m.tenant_id", p, 1, row_member_cb,
                &it, e);
}

/* ----------------------------------------------------------- API keys */

#define APIKEY_SELECT \
    "SELECT id, tenant_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys "

static void row_to_apikey(const struct store_row *r, struct store_apikey *k)
{
    cpy(k->id, sizeof(k->id), col_text(r, 0));
    cpy(k->tenant_id, sizeof(k->tenant_id), col_text(r, 1));
    cpy(k->name, sizeof(k->name), col_text(r, 2));
    cpy(k->role, sizeof(k->role), col_text(r, 3));
    cpy(k->prefix, sizeof(k->prefix), col_text(r, 4));
    cpy(k->created_by, sizeof(k->created_by), col_text(r, 5));
    k->created_at = col_int(r, 6);
    k->last_used_at = col_int(r, 7);
    k->revoked_at = col_int(r, 8);
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

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(k->id, "key id", e)) ||
        (rc = need(key_hash, "key hash", e)))
        return rc;
    if (!valid_role(k->role))
        return err_set(e, ERR_INVALID, "invalid_role", "store: role must be owner, admin, agent or viewer");
    p[0] = ptext(k->id);
    p[1] = ptext(tenant_id);
    p[2] = ptext(k->name);
    p[3] = ptext(k->role);
    p[4] = ptext(k->prefix);
    p[5] = ptext(key_hash);
    p[6] = ptext_or_null(k->created_by);
    p[7] = pint(k->created_at ? k->created_at : time_now_ms());
    p[8] = k->last_used_at ? pint(k->last_used_at) : (struct store_param){.type = STORE_P_NULL};
    p[9] = k->revoked_at ? pint(k->revoked_at) : (struct store_param){.type = STORE_P_NULL};
    rc = write_one(db,
                   "INSERT INTO api_keys (id, tenant_id, name, role, prefix, key_hash, created_by, created_at,"
                   " last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   p, 10, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_apikey_by_hash(struct store *db, const char *key_hash, struct store_apikey *out, struct err *e)
{
    struct store_param p[1] = {ptext(key_hash)};
    int rc = need(key_hash, "key hash", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return get_one(db, APIKEY_SELECT "WHERE key_hash = ?", p, 1, row_apikey, out, "API key", e);
}

int store_apikey_list(struct store *db, const char *tenant_id, store_apikey_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {ptext(tenant_id)};
    struct apikey_iter it = {cb, ud};
    int rc = need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return list(db, APIKEY_SELECT "WHERE tenant_id = ? ORDER BY created_at, id", p, 1, row_apikey_cb, &it, e);
}

int store_apikey_revoke(struct store *db, const char *tenant_id, const char *key_id, int64_t now, struct err *e)
{
    struct store_param p[3] = {pint(now), ptext(tenant_id), ptext(key_id)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(key_id, "key id", e)))
        return rc;
    /* COALESCE keeps the first revocation time: revoking twice is a no-op. */
    return write_one(db, "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?",
                     p, 3, "API key", e);
}

int store_apikey_touch(struct store *db, const char *tenant_id, const char *key_id, int64_t now, struct err *e)
{
    struct store_param p[3] = {pint(now), ptext(tenant_id), ptext(key_id)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(key_id, "key id", e)))
        return rc;
    return write_one(db, "UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?", p, 3, "API key",
                     e);
}

/* ----------------------------------------------------------- sessions */

int store_session_create(struct store *db, const char *tenant_id, const struct store_session *s, struct err *e)
{
    struct store_param p[6];
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(s->token_hash, "token hash", e)) ||
        (rc = need(s->user_id, "user id", e)))
        return rc;
    p[0] = ptext(s->token_hash);
    p[1] = ptext(tenant_id);
    p[2] = ptext(s->user_id);
    p[3] = ptext(s->csrf_token);
    p[4] = pint(s->created_at ? s->created_at : time_now_ms());
    p[5] = pint(s->expires_at);
    rc = write_one(db,
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
    cpy(s->token_hash, sizeof(s->token_hash), col_text(r, 0));
    cpy(s->tenant_id, sizeof(s->tenant_id), col_text(r, 1));
    cpy(s->user_id, sizeof(s->user_id), col_text(r, 2));
    cpy(s->csrf_token, sizeof(s->csrf_token), col_text(r, 3));
    s->created_at = col_int(r, 4);
    s->expires_at = col_int(r, 5);
    cpy(s->role, sizeof(s->role), col_text(r, 6));
    cpy(s->email, sizeof(s->email), col_text(r, 7));
    return 0;
}

int store_session_lookup(struct store *db, const char *token_hash, int64_t now, struct store_session *out,
                         struct err *e)
{
    struct store_param p[2] = {ptext(token_hash), pint(now)};
    int rc = need(token_hash, "token hash", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return get_one(db,
                   "SELECT s.token_hash, s.tenant_id, s.user_id, s.csrf_token, s.created_at, s.expires_at,"
                   " m.role, u.email FROM sessions s"
                   " JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = s.user_id"
                   " JOIN users u ON u.id = s.user_id"
                   " WHERE s.token_hash = ? AND s.expires_at > ?",
                   p, 2, row_session, out, "session", e);
}

int store_session_delete(struct store *db, const char *tenant_id, const char *token_hash, struct err *e)
{
    struct store_param p[2] = {ptext(tenant_id), ptext(token_hash)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(token_hash, "token hash", e)))
        return rc;
    return write_one(db, "DELETE FROM sessions WHERE tenant_id = ? AND token_hash = ?", p, 2, "session", e);
}

int store_session_delete_user(struct store *db, const char *tenant_id, const char *user_id, struct err *e)
{
    struct store_param p[2] = {ptext(tenant_id), ptext(user_id)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(user_id, "user id", e)))
        return rc;
    return write_one(db, "DELETE FROM sessions WHERE tenant_id = ? AND user_id = ?", p, 2, NULL, e);
}

/* ---------------------------------------------------------- audit log */

#define AUDIT_SELECT                                                                                   \
    "SELECT seq, tenant_id, at, actor_type, actor_id, action, target, ip, details, prev_hash, hash " \
    "FROM audit_log "

static void row_to_audit(const struct store_row *r, struct store_audit *a)
{
    a->seq = col_int(r, 0);
    cpy(a->tenant_id, sizeof(a->tenant_id), col_text(r, 1));
    a->at = col_int(r, 2);
    cpy(a->actor_type, sizeof(a->actor_type), col_text(r, 3));
    cpy(a->actor_id, sizeof(a->actor_id), col_text(r, 4));
    cpy(a->action, sizeof(a->action), col_text(r, 5));
    cpy(a->target, sizeof(a->target), col_text(r, 6));
    cpy(a->ip, sizeof(a->ip), col_text(r, 7));
    cpy(a->details, sizeof(a->details), col_text(r, 8));
    cpy(a->prev_hash, sizeof(a->prev_hash), col_text(r, 9));
    cpy(a->hash, sizeof(a->hash), col_text(r, 10));
}

struct audit_last {
    int64_t seq;
    char hash[65];
};

static int row_audit_last(void *ud, const struct store_row *r)
{
    struct audit_last *l = ud;
    l->seq = col_int(r, 0);
    cpy(l->hash, sizeof(l->hash), col_text(r, 1));
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

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(row->action, "audit action", e)))
        return rc;
    if ((rc = pool_get(db, &c, e)))
        return rc;
    if ((rc = tx_begin(db, c, e)))
        goto out;
    p[0] = ptext(tenant_id);
    if (db->be->tenant_lock_sql) {
        rc = q(db, c, db->be->tenant_lock_sql, p, 1, NULL, NULL, NULL, e);
        if (rc)
            goto tx;
    }
    rc = q(db, c, "SELECT seq, hash FROM audit_log WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1", p, 1,
           row_audit_last, &last, NULL, e);
    if (rc)
        goto tx;
    cpy(row->tenant_id, sizeof(row->tenant_id), tenant_id);
    row->seq = last.seq + 1;
    cpy(row->prev_hash, sizeof(row->prev_hash), last.hash);
    if (!row->at)
        row->at = time_now_ms();
    if (hash_fn)
        hash_fn(row);
    p[1] = pint(row->seq);
    p[2] = pint(row->at);
    p[3] = ptext(row->actor_type);
    p[4] = ptext_or_null(row->actor_id);
    p[5] = ptext(row->action);
    p[6] = ptext_or_null(row->target);
    p[7] = ptext_or_null(row->ip);
    p[8] = ptext_or_null(row->details);
    p[9] = ptext(row->prev_hash);
    p[10] = ptext(row->hash);
    rc = q(db, c,
           "INSERT INTO audit_log (tenant_id, seq, at, actor_type, actor_id, action, target, ip, details,"
           " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
           p, 11, NULL, NULL, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
tx:
    rc = tx_end(db, c, rc, e);
out:
    pool_put(db, c);
    return rc;
}

int store_audit_list(struct store *db, const char *tenant_id, int64_t from, int64_t to, int64_t before_seq,
                     int limit, store_audit_cb cb, void *ud, struct err *e)
{
    struct store_param p[5] = {ptext(tenant_id), pint(from), pint(to > 0 ? to : INT64_MAX),
                               pint(before_seq > 0 ? before_seq : INT64_MAX),
                               pint(limit > 0 ? limit : INT64_MAX)};
    struct audit_iter it = {cb, ud};
    int rc = need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return list(db, AUDIT_SELECT "WHERE tenant_id = ? AND at >= ? AND at < ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                p, 5, row_audit_cb, &it, e);
}

int store_audit_scan(struct store *db, store_audit_cb cb, void *ud, struct err *e)
{
    struct audit_iter it = {cb, ud};
    return list(db, AUDIT_SELECT "ORDER BY tenant_id, seq", NULL, 0, row_audit_cb, &it, e);
}

/* ---------------------------------------------------- key ring, secrets */

int store_key_add(struct store *db, const struct store_key *k, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[4];
    int rc;

    if ((rc = need(k->id, "key id", e)) || (rc = need(k->wrapped, "wrapped key", e)))
        return rc;
    if ((rc = pool_get(db, &c, e)))
        return rc;
    if ((rc = tx_begin(db, c, e)))
        goto out;
    if (k->active)
        rc = q(db, c, "UPDATE keyring SET active = 0 WHERE active <> 0", NULL, 0, NULL, NULL, NULL, e);
    if (rc == 0) {
        p[0] = ptext(k->id);
        p[1] = ptext(k->wrapped);
        p[2] = pint(k->active ? 1 : 0);
        p[3] = pint(k->created_at ? k->created_at : time_now_ms());
        rc = q(db, c, "INSERT INTO keyring (id, wrapped, active, created_at) VALUES (?, ?, ?, ?)", p, 4, NULL,
               NULL, NULL, e);
    }
    rc = tx_end(db, c, rc, e);
out:
    pool_put(db, c);
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
    cpy(k.id, sizeof(k.id), col_text(r, 0));
    cpy(k.wrapped, sizeof(k.wrapped), col_text(r, 1));
    k.active = col_int(r, 2) != 0;
    k.created_at = col_int(r, 3);
    return it->cb(it->ud, &k);
}

int store_key_list(struct store *db, store_key_cb cb, void *ud, struct err *e)
{
    struct key_iter it = {cb, ud};
    return list(db, "SELECT id, wrapped, active, created_at FROM keyring ORDER BY created_at, id", NULL, 0,
                row_key_cb, &it, e);
}

int store_secret_put(struct store *db, const char *tenant_id, const char *name, const char *key_id,
                     const char *sealed, int64_t now, struct err *e)
{
    struct store_param p[5] = {ptext(tenant_id), ptext(name), ptext(key_id), ptext(sealed), pint(now)};
    int rc;

    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(name, "secret name", e)) ||
        (rc = need(key_id, "key id", e)) || (rc = need(sealed, "sealed value", e)))
        return rc;
    rc = write_one(db,
                   "INSERT INTO secrets (tenant_id, name, key_id, sealed, updated_at) VALUES (?, ?, ?, ?, ?)"
                   " ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = excluded.key_id,"
                   " sealed = excluded.sealed, updated_at = excluded.updated_at",
                   p, 5, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

static int row_strdup0(void *ud, const struct store_row *r)
{
    char **out = ud;
    free(*out);
    *out = strdup(col_text(r, 0));
    return *out ? 0 : ERR_NOMEM;
}

int store_secret_get(struct store *db, const char *tenant_id, const char *name, char **out_sealed, struct err *e)
{
    struct store_param p[2] = {ptext(tenant_id), ptext(name)};
    char *sealed = NULL;
    int rc;

    *out_sealed = NULL;
    if ((rc = need(tenant_id, "tenant id", e)) || (rc = need(name, "secret name", e)))
        return rc;
    rc = get_one(db, "SELECT sealed FROM secrets WHERE tenant_id = ? AND name = ?", p, 2, row_strdup0, &sealed,
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
    cpy(s->tenant_id, sizeof(s->tenant_id), col_text(r, 0));
    cpy(s->name, sizeof(s->name), col_text(r, 1));
    cpy(s->key_id, sizeof(s->key_id), col_text(r, 2));
    s->sealed = strdup(col_text(r, 3));
    if (!s->sealed)
        return ERR_NOMEM;
    s->updated_at = col_int(r, 4);
    b->n++;
    return 0;
}

int store_secret_scan(struct store *db, store_secret_cb cb, void *ud, struct err *e)
{
    struct secret_buf b = {0};
    int rc;

    /* Collected first, then handed out with the connection back in the pool:
     * rotation re-encrypts from inside the callback (store_secret_put). */
    rc = list(db, "SELECT tenant_id, name, key_id, sealed, updated_at FROM secrets ORDER BY tenant_id, name", NULL,
              0, row_secret_collect, &b, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < b.n; i++)
        rc = cb(ud, &b.v[i]);
    for (size_t i = 0; i < b.n; i++)
        free(b.v[i].sealed);
    free(b.v);
    return rc;
}
