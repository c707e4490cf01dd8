/*
 * store internals: the backend vtable, the tiny statement API and the shared
 * query helpers (defined in store.c) that the domain functions in
 * store_migrate.c, store_tenancy.c and store_audit.c are written against,
 * once for both backends.
 *
 * SQL text uses '?' placeholders (never write a '?' inside a string literal:
 * the PostgreSQL backend rewrites every '?' to $1..$n). Parameters are typed
 * (text, int64, null). Rows are read through column getters that never
 * return NULL (a NULL text column reads as "", a NULL integer as 0).
 * A struct store_conn is used by one thread at a time (the pool in store.c
 * guarantees it); backends cache prepared statements per connection, keyed
 * by the SQL text pointer, so SQL passed to exec must be a string literal.
 */
#ifndef SB_STORE_INT_H
#define SB_STORE_INT_H

#include <pthread.h>
#include <stdint.h>

#include "store/store.h"

struct store_backend;
struct store_conn;  /* one backend connection (backend-specific) */

/* The current row of a result, borrowed for one row callback. */
struct store_row {
    const struct store_backend *be;
    void *h;        /* sqlite3_stmt * or PGresult * */
    int row;        /* row number (PostgreSQL) */
};

enum store_ptype { STORE_P_NULL, STORE_P_TEXT, STORE_P_INT };

/* One bound parameter; text is borrowed for the duration of the exec call. */
struct store_param {
    enum store_ptype type;
    const char *text;
    int64_t i;
};

/* Called once per result row; non-zero stops the iteration and exec returns it. */
typedef int (*store_row_fn)(void *ud, const struct store_row *row);

/* A migration compiled into the binary (generated from migrations/<dialect>/). */
struct store__migration {
    int version;       /* 1, 2, … from the NNNN_ file name prefix */
    const char *name;  /* file name without .sql, e.g. "0001_init" */
    const char *sql;   /* the file text */
};

/* Terminated by an entry with version 0. Generated at build time. */
extern const struct store__migration store__migrations_sqlite[];
extern const struct store__migration store__migrations_postgres[];

struct store_backend {
    const char *name;                /* "sqlite" | "postgres" */
    const char *begin_write_sql;     /* "BEGIN IMMEDIATE" | "BEGIN" */
    const char *table_exists_sql;    /* one '?' (table name) -> one row, count */
    const char *migration_lock_sql;  /* serialises migrators inside a tx; NULL = none needed */
    const char *tenant_lock_sql;     /* one '?' (tenant id); serialises per tenant in a tx; NULL = none */
    const char *event_lock_sql;      /* serialises event-log appends in a tx (one lock for every tenant, so
                                      * a batch touching many tenants cannot deadlock); NULL = none */
    const struct store__migration *migrations;

    /* Open a connection configured for use (pragmas, time zone). ERR_IO/ERR_UPSTREAM. */
    int (*open)(struct store_conn **out, const struct store_options *opt, struct err *e);
    void (*close)(struct store_conn *c); /* NULL is a no-op */
    /* Called on every pool acquire: repair a broken connection. ERR_UPSTREAM if it cannot. */
    int (*ensure)(struct store_conn *c, struct err *e);
    /* Run one statement. changes (may be NULL) receives the rows returned by a
     * statement with result columns, else the rows it changed.
     * Unique violation -> ERR_CONFLICT; constraint (FK, check) -> ERR_INVALID;
     * lost connection -> ERR_UPSTREAM; lock timeout -> ERR_TIMEOUT; else ERR_IO. */
    int (*exec)(struct store_conn *c, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                void *ud, int64_t *changes, struct err *e);
    /* Run a multi-statement script without parameters (migrations). */
    int (*script)(struct store_conn *c, const char *sql, struct err *e);
    const char *(*col_text)(const struct store_row *r, int i);
    int64_t (*col_int)(const struct store_row *r, int i);
    int (*col_null)(const struct store_row *r, int i);
};

extern const struct store_backend store__sqlite_backend;
extern const struct store_backend store__pg_backend;

/* The handle behind store.h's opaque struct store (created by store_open). */
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
    char **sql;        /* statements composed at run time, kept for the store's life (store__sql_intern) */
    int nsql;
};

/* ------------------------------------------- shared helpers (store.c) */

/* Copies src into dst (size bytes), truncating; dst is always terminated. */
void store__cpy(char *dst, size_t size, const char *src);
/* Parameter builders; text is borrowed. ptext_or_null binds "" or NULL as SQL NULL. */
struct store_param store__ptext(const char *s);
struct store_param store__pint(int64_t i);
struct store_param store__ptext_or_null(const char *s);
/* Column getters of the current row (never NULL; see above). */
const char *store__col_text(const struct store_row *r, int i);
int64_t store__col_int(const struct store_row *r, int i);
/* Row callback: reads column 0 as an integer into *(int64_t *)ud. */
int store__row_int(void *ud, const struct store_row *r);
/* ERR_INVALID ("store: <what> is required") when s is NULL or empty. */
int store__need(const char *s, const char *what, struct err *e);
/* ERR_INVALID when tx was never begun, or tenant_id is missing. */
int store__need_tx(const struct store_tx *tx, const char *tenant_id, struct err *e);
/* Whether db is the PostgreSQL backend (for the few dialect differences). */
int store__is_pg(const struct store *db);
/* A statement composed at run time (filters that add conditions) as a
 * pointer that stays the same for the same text for the store's life: the
 * backends cache prepared statements by SQL pointer, so such a statement
 * must never be passed from a temporary buffer. At most STORE__SQL_MAX
 * distinct texts (callers compose from a fixed set of pieces); *out NULL
 * with ERR_NOMEM beyond, or when out of memory. Thread-safe. */
#define STORE__SQL_MAX 512
int store__sql_intern(struct store *db, const char *sql, const char **out, struct err *e);

/* One statement on a held connection, timed for store_stats. */
int store__q(struct store *db, struct store_conn *c, const char *sql, const struct store_param *p, int np,
             store_row_fn fn, void *ud, int64_t *changes, struct err *e);
/* Take a connection from the pool (opening or repairing it); ERR_TIMEOUT when
 * none frees up in time. Every store__pool_get is paired with store__pool_put. */
int store__pool_get(struct store *db, struct store_conn **out, struct err *e);
void store__pool_put(struct store *db, struct store_conn *c); /* NULL is a no-op */
/* Begin a write transaction; store__tx_end commits when rc is 0, else rolls
 * back, and returns the final rc. */
int store__tx_begin(struct store *db, struct store_conn *c, struct err *e);
int store__tx_end(struct store *db, struct store_conn *c, int rc, struct err *e);

/* Pool-wrapped one-statement helpers. get_one: ERR_NOTFOUND (naming what) when
 * no row. write_one: ERR_NOTFOUND when no row changed and what is set.
 * list: runs a select with the caller's row callback. */
int store__get_one(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                   void *ud, const char *what, struct err *e);
int store__write_one(struct store *db, const char *sql, const struct store_param *p, int np, const char *what,
                     struct err *e);
int store__list(struct store *db, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                void *ud, struct err *e);

#endif
