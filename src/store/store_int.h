/*
 * store internals: the backend vtable and the tiny statement API that the
 * domain functions in store.c are written against, once for both backends.
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

#endif
