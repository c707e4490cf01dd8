/*
 * store: open/close, the connection pool, statistics and the private query
 * helpers (store__q, store__get_one, store__list, ...) that the domain files
 * store_migrate.c, store_tenancy.c and store_audit.c are written with, once
 * against the statement API of store_int.h for both backends.
 *
 * Invariants: a connection is used by one thread at a time (pool_get/put);
 * a connection goes back to the pool outside any transaction (tx_end always
 * commits or rolls back). Row callbacks run while the connection is held: a
 * callback that calls the store needs a pool of >= 2.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define POOL_WAIT_S 30

/* ------------------------------------------------------------ helpers */

void store__cpy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

struct store_param store__ptext(const char *s)
{
    return (struct store_param){.type = STORE_P_TEXT, .text = s};
}

struct store_param store__pint(int64_t i)
{
    return (struct store_param){.type = STORE_P_INT, .i = i};
}

/* Empty strings are stored as NULL in nullable columns. */
struct store_param store__ptext_or_null(const char *s)
{
    if (!s || !*s)
        return (struct store_param){.type = STORE_P_NULL};
    return store__ptext(s);
}

const char *store__col_text(const struct store_row *r, int i)
{
    return r->be->col_text(r, i);
}

int64_t store__col_int(const struct store_row *r, int i)
{
    return r->be->col_int(r, i);
}

/* Reads column 0 as an integer into *(int64_t *)ud. */
int store__row_int(void *ud, const struct store_row *r)
{
    *(int64_t *)ud = store__col_int(r, 0);
    return 0;
}


static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
int store__need(const char *s, const char *what, struct err *e)
{
    if (!s || !*s)
        return err_set(e, ERR_INVALID, NULL, "store: %s is required", what);
    return 0;
}

int store__need_tx(const struct store_tx *tx, const char *tenant_id, struct err *e)
{
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return store__need(tenant_id, "tenant id", e);
}

int store__is_pg(const struct store *db)
{
    return db->be == &store__pg_backend;
}

/* One statement, timed for store_stats. */
int store__q(struct store *db, struct store_conn *c, const char *sql, const struct store_param *p, int np,
             store_row_fn fn, void *ud, int64_t *changes, struct err *e)
{
    int64_t t0 = mono_ns();
    int rc = db->be->exec(c, sql, p, np, fn, ud, changes, e);
    __atomic_add_fetch(&db->queries, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->query_ns, (uint64_t)(mono_ns() - t0), __ATOMIC_RELAXED);
    return rc;
}

/* --------------------------------------------------------------- pool */

int store__pool_get(struct store *db, struct store_conn **out, struct err *e)
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

void store__pool_put(struct store *db, struct store_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&db->mu);
    db->free[db->nfree++] = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

int store__tx_begin(struct store *db, struct store_conn *c, struct err *e)
{
    return store__q(db, c, db->be->begin_write_sql, NULL, 0, NULL, NULL, NULL, e);
}

/* Commit when rc is 0, else roll back; returns the final rc. */
int store__tx_end(struct store *db, struct store_conn *c, int rc, struct err *e)
{
    struct err ignored = {0};

    if (rc == 0)
        rc = store__q(db, c, "COMMIT", NULL, 0, NULL, NULL, NULL, e);
    if (rc != 0)
        store__q(db, c, "ROLLBACK", NULL, 0, NULL, NULL, NULL, &ignored);
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
    rc = store__pool_get(db, &c, e);
    if (rc)
        goto out;
    store__pool_put(db, c);
    *out = db;
    db = NULL;
out:
    store_close(db);
    return rc;
}

int store__sql_intern(struct store *db, const char *sql, const char **out, struct err *e)
{
    int rc = 0;

    *out = NULL;
    pthread_mutex_lock(&db->mu);
    for (int i = 0; i < db->nsql; i++) {
        if (strcmp(db->sql[i], sql) == 0) {
            *out = db->sql[i];
            goto out;
        }
    }
    if (!db->sql && !(db->sql = calloc(STORE__SQL_MAX, sizeof(*db->sql)))) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (db->nsql == STORE__SQL_MAX || !(db->sql[db->nsql] = strdup(sql))) {
        rc = err_set(e, ERR_NOMEM, NULL, "store: too many composed statements");
        goto out;
    }
    *out = db->sql[db->nsql++];
out:
    pthread_mutex_unlock(&db->mu);
    return rc;
}

void store_close(struct store *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nfree; i++)
        db->be->close(db->free[i]);
    for (int i = 0; i < db->nsql; i++)
        free(db->sql[i]);
    free(db->sql);
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
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = store__q(db, c, "SELECT 1", NULL, 0, store__row_int, &one, NULL, e);
    if (rc == 0 && one != 1)
        rc = err_set(e, ERR_IO, "database_error", "store: SELECT 1 returned %lld", (long long)one);
    store__pool_put(db, c);
    return rc;
}

/* ----------------------------------------------------- query helpers */

/* Runs a single-row select; ERR_NOTFOUND (naming what) when no row. */
int store__get_one(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                   void *ud, const char *what, struct err *e)
{
    struct store_conn *c = NULL;
    int64_t rows = 0;
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = store__q(db, c, sql, p, np, fn, ud, &rows, e);
    store__pool_put(db, c);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "%s not found", what);
    return rc;
}

/* Runs a write; ERR_NOTFOUND (naming what) when it changed no row and what is set. */
int store__write_one(struct store *db, const char *sql, const struct store_param *p, int np, const char *what,
                     struct err *e)
{
    struct store_conn *c = NULL;
    int64_t rows = 0;
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = store__q(db, c, sql, p, np, NULL, NULL, &rows, e);
    store__pool_put(db, c);
    if (rc == 0 && rows == 0 && what)
        rc = err_set(e, ERR_NOTFOUND, NULL, "%s not found", what);
    return rc;
}

/* Runs a select with a caller's row callback. */
int store__list(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                void *ud, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = store__q(db, c, sql, p, np, fn, ud, NULL, e);
    store__pool_put(db, c);
    return rc;
}
