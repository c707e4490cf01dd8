/*
 * store_sqlite: the embedded SQLite backend of the store vtable.
 *
 * Each connection is opened NOMUTEX (the pool hands it to one thread at a
 * time) and set up with WAL, foreign keys, synchronous=FULL and the busy
 * timeout. Prepared statements are cached per connection, keyed by the SQL
 * text pointer (the domain SQL is string literals), prepared PERSISTENT and
 * reset after every use so no statement holds a read snapshot open.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_int.h"

#define SQLITE_STMT_CACHE 256

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
};

struct store_conn {
    sqlite3 *db;
    int nslots;
    struct stmt_slot slots[SQLITE_STMT_CACHE];
};

static int sqlite_error(sqlite3 *db, int rc, struct err *e)
{
    int xrc = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

    switch (xrc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return err_set(e, ERR_CONFLICT, "conflict", "sqlite: %s", msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
        return err_set(e, ERR_INVALID, NULL, "sqlite: %s", msg);
    default:
        break;
    }
    if ((xrc & 0xff) == SQLITE_BUSY || (xrc & 0xff) == SQLITE_LOCKED)
        return err_set(e, ERR_TIMEOUT, NULL, "sqlite: database is busy: %s", msg);
    return err_set(e, ERR_IO, "database_error", "sqlite: %s", msg);
}

static void sqlite_close(struct store_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nslots; i++)
        sqlite3_finalize(c->slots[i].st);
    sqlite3_close(c->db);
    free(c);
}

/* Process-wide SQLite settings, before its first use: no memory statistics
 * (they put a mutex around every allocation SQLite makes). */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sqlite_open(struct store_conn **out, const struct store_options *opt, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = 0;

    *out = NULL;
    if (!opt->sqlite_path || !opt->sqlite_path[0])
        return err_set(e, ERR_INVALID, NULL, "sqlite: no database path");
    pthread_once(&sqlite_once, sqlite_configure);
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    rc = sqlite3_open_v2(opt->sqlite_path, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = err_set(e, ERR_IO, "database_error", "sqlite: cannot open %s: %s", opt->sqlite_path,
                     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000);
    rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sqlite_error(c->db, rc, e);
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    sqlite_close(c);
    return rc;
}

static int sqlite_ensure(struct store_conn *c, struct err *e)
{
    (void)c;
    (void)e;
    return 0;
}

/* The cached statement for sql, preparing it on first use. */
static int sqlite_stmt(struct store_conn *c, const char *sql, sqlite3_stmt **out, int *cached, struct err *e)
{
    int rc;

    for (int i = 0; i < c->nslots; i++) {
        if (c->slots[i].sql == sql) {
            *out = c->slots[i].st;
            *cached = 1;
            return 0;
        }
    }
    *cached = c->nslots < SQLITE_STMT_CACHE;
    rc = sqlite3_prepare_v3(c->db, sql, -1, *cached ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL);
    if (rc != SQLITE_OK)
        return sqlite_error(c->db, rc, e);
    if (*cached) {
        c->slots[c->nslots].sql = sql;
        c->slots[c->nslots].st = *out;
        c->nslots++;
    }
    return 0;
}

static int sqlite_exec(struct store_conn *c, const char *sql, const struct store_param *p, int np,
                       store_row_fn fn, void *ud, int64_t *changes, struct err *e)
{
    sqlite3_stmt *st = NULL;
    struct store_row row;
    int64_t rows = 0;
    int cached = 0, rc, src;

    if (changes)
        *changes = 0;
    rc = sqlite_stmt(c, sql, &st, &cached, e);
    if (rc)
        return rc;
    for (int i = 0; i < np; i++) {
        switch (p[i].type) {
        case STORE_P_TEXT:
            src = p[i].text ? sqlite3_bind_text(st, i + 1, p[i].text, -1, SQLITE_STATIC)
                            : sqlite3_bind_null(st, i + 1);
            break;
        case STORE_P_INT:
            src = sqlite3_bind_int64(st, i + 1, p[i].i);
            break;
        default:
            src = sqlite3_bind_null(st, i + 1);
            break;
        }
        if (src != SQLITE_OK) {
            rc = sqlite_error(c->db, src, e);
            goto out;
        }
    }
    row.be = &store__sqlite_backend;
    row.h = st;
    row.row = 0;
    for (;;) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            rows++;
            if (fn) {
                rc = fn(ud, &row);
                if (rc)
                    goto out;
            }
            continue;
        }
        if (src == SQLITE_DONE)
            break;
        rc = sqlite_error(c->db, src, e);
        goto out;
    }
    if (changes)
        *changes = sqlite3_column_count(st) > 0 ? rows : sqlite3_changes64(c->db);
    rc = 0;
out:
    if (cached) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
    return rc;
}

static int sqlite_script(struct store_conn *c, const char *sql, struct err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        rc = err_set(e, ERR_IO, "database_error", "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static const char *sqlite_col_text(const struct store_row *r, int i)
{
    const unsigned char *s = sqlite3_column_text((sqlite3_stmt *)r->h, i);
    return s ? (const char *)s : "";
}

static int64_t sqlite_col_int(const struct store_row *r, int i)
{
    return sqlite3_column_int64((sqlite3_stmt *)r->h, i);
}

static int sqlite_col_null(const struct store_row *r, int i)
{
    return sqlite3_column_type((sqlite3_stmt *)r->h, i) == SQLITE_NULL;
}

const struct store_backend store__sqlite_backend = {
    .name = "sqlite",
    .begin_write_sql = "BEGIN IMMEDIATE",
    .table_exists_sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    .migration_lock_sql = NULL,
    .tenant_lock_sql = NULL,
    .event_lock_sql = NULL,
    .migrations = store__migrations_sqlite,
    .open = sqlite_open,
    .close = sqlite_close,
    .ensure = sqlite_ensure,
    .exec = sqlite_exec,
    .script = sqlite_script,
    .col_text = sqlite_col_text,
    .col_int = sqlite_col_int,
    .col_null = sqlite_col_null,
};
