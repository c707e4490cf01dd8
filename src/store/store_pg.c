/*
 * store_pg: the PostgreSQL backend of the store vtable, over libpq.
 *
 * Each connection runs in UTC with client_min_messages=warning. Statements
 * are prepared once per connection (PQprepare, named "sN"), keyed by the SQL
 * text pointer, with '?' rewritten to $1..$n; parameters travel as text and
 * the server infers their types from the context. A connection found broken
 * on acquire (a cheap poll of its socket) is reset with PQreset, which also
 * forgets its prepared statements.
 * Error messages carry the server's primary message, never parameter values.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/store_int.h"

#define PG_STMT_CACHE 256
#define PG_MAX_PARAMS 32

struct stmt_slot {
    const char *sql;
};

struct store_conn {
    PGconn *pg;
    int nslots;
    struct stmt_slot slots[PG_STMT_CACHE];
};

/* The first line of libpq's message, for connection errors. */
static int pg_conn_error(PGconn *pg, const char *what, struct err *e)
{
    const char *m = pg ? PQerrorMessage(pg) : "out of memory";
    size_t n = strcspn(m, "\n");
    return err_set(e, ERR_UPSTREAM, "database_unavailable", "postgres: %s: %.*s", what, (int)n, m);
}

static int pg_result_error(struct store_conn *c, PGresult *res, struct err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    if (PQstatus(c->pg) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0))
        return pg_conn_error(c->pg, "connection lost", e);
    if (!msg)
        msg = "unknown error";
    if (state && strcmp(state, "23505") == 0)
        return err_set(e, ERR_CONFLICT, "conflict", "postgres: %s", msg);
    if (state && (strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0))
        return err_set(e, ERR_INVALID, NULL, "postgres: %s", msg);
    if (state && (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0))
        return err_set(e, ERR_TIMEOUT, NULL, "postgres: %s", msg);
    return err_set(e, ERR_IO, "database_error", "postgres: %s (%s)", msg, state ? state : "?");
}

static int pg_setup(struct store_conn *c, struct err *e)
{
    PGresult *res = PQexec(c->pg, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_result_error(c, res, e);
    PQclear(res);
    c->nslots = 0;
    return rc;
}

static void pg_close(struct store_conn *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

static int pg_open(struct store_conn **out, const struct store_options *opt, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = 0;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    c->pg = PQconnectdb(opt->database_url);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        rc = pg_conn_error(c->pg, "cannot connect", e);
        goto out;
    }
    rc = pg_setup(c, e);
    if (rc)
        goto out;
    *out = c;
    c = NULL;
out:
    pg_close(c);
    return rc;
}

/* An idle connection has nothing to read (we never LISTEN, and notices are
 * off): if its socket is readable, the server is closing it (restart,
 * pg_terminate_backend sends FATAL then EOF). Returns 1 when it must be reset. */
static int pg_probe(struct store_conn *c)
{
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};

    if (pfd.fd < 0)
        return 1;
    return poll(&pfd, 1, 0) > 0;
}

static int pg_ensure(struct store_conn *c, struct err *e)
{
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE && !pg_probe(c))
        return 0;
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        /* Left inside a transaction by a failed caller: roll it back. */
        PGresult *res = PQexec(c->pg, "ROLLBACK");
        PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE && !pg_probe(c))
            return 0;
    }
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK)
        return pg_conn_error(c->pg, "reconnect failed", e);
    return pg_setup(c, e);
}

/* Rewrite '?' to $1..$n into a malloc'd string. */
static char *pg_rewrite(const char *sql)
{
    size_t n = strlen(sql), q = 0;
    char *out, *w;
    int k = 0;

    for (const char *s = sql; *s; s++)
        q += *s == '?';
    out = malloc(n + q * 4 + 1);
    if (!out)
        return NULL;
    w = out;
    for (const char *s = sql; *s; s++) {
        if (*s == '?')
            w += sprintf(w, "$%d", ++k);
        else
            *w++ = *s;
    }
    *w = '\0';
    return out;
}

static int pg_exec(struct store_conn *c, const char *sql, const struct store_param *p, int np, store_row_fn fn,
                   void *ud, int64_t *changes, struct err *e)
{
    char ints[PG_MAX_PARAMS][24];
    const char *values[PG_MAX_PARAMS];
    char name[16];
    PGresult *res = NULL;
    char *text = NULL;
    int slot = -1, rc = 0;

    if (changes)
        *changes = 0;
    if (np > PG_MAX_PARAMS)
        return err_set(e, ERR_INTERNAL, NULL, "postgres: too many parameters");
    for (int i = 0; i < np; i++) {
        switch (p[i].type) {
        case STORE_P_TEXT:
            values[i] = p[i].text;
            break;
        case STORE_P_INT:
            snprintf(ints[i], sizeof(ints[i]), "%" PRId64, p[i].i);
            values[i] = ints[i];
            break;
        default:
            values[i] = NULL;
            break;
        }
    }
    for (int i = 0; i < c->nslots; i++) {
        if (c->slots[i].sql == sql) {
            slot = i;
            break;
        }
    }
    if (slot < 0) {
        text = pg_rewrite(sql);
        if (!text)
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
        if (c->nslots < PG_STMT_CACHE) {
            slot = c->nslots;
            snprintf(name, sizeof(name), "s%d", slot);
            res = PQprepare(c->pg, name, text, np, NULL);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                rc = pg_result_error(c, res, e);
                goto out;
            }
            PQclear(res);
            res = NULL;
            c->slots[slot].sql = sql;
            c->nslots++;
        }
    }
    if (slot >= 0) {
        snprintf(name, sizeof(name), "s%d", slot);
        res = PQexecPrepared(c->pg, name, np, values, NULL, NULL, 0);
    } else {
        res = PQexecParams(c->pg, text, np, NULL, values, NULL, NULL, 0);
    }
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK: {
        struct store_row row = {.be = &store__pg_backend, .h = res, .row = 0};
        int rows = PQntuples(res);
        for (row.row = 0; fn && row.row < rows; row.row++) {
            rc = fn(ud, &row);
            if (rc)
                goto out;
        }
        if (changes)
            *changes = rows;
        break;
    }
    case PGRES_COMMAND_OK:
        if (changes) {
            const char *t = PQcmdTuples(res);
            *changes = t && *t ? strtoll(t, NULL, 10) : 0;
        }
        break;
    default:
        rc = pg_result_error(c, res, e);
        goto out;
    }
out:
    PQclear(res);
    free(text);
    return rc;
}

static int pg_script(struct store_conn *c, const char *sql, struct err *e)
{
    PGresult *res = PQexec(c->pg, sql);
    int rc = 0;
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        rc = pg_result_error(c, res, e);
    PQclear(res);
    return rc;
}

static const char *pg_col_text(const struct store_row *r, int i)
{
    return PQgetvalue((const PGresult *)r->h, r->row, i); /* "" for NULL */
}

static int64_t pg_col_int(const struct store_row *r, int i)
{
    const char *v = PQgetvalue((const PGresult *)r->h, r->row, i);
    if (!v || !*v)
        return 0;
    if (v[0] == 't' && v[1] == '\0') /* booleans */
        return 1;
    return strtoll(v, NULL, 10);
}

static int pg_col_null(const struct store_row *r, int i)
{
    return PQgetisnull((const PGresult *)r->h, r->row, i);
}

const struct store_backend store__pg_backend = {
    .name = "postgres",
    .begin_write_sql = "BEGIN",
    .table_exists_sql = "SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema() AND table_name = ?",
    .migration_lock_sql = "SELECT pg_advisory_xact_lock(7300, 1)",
    .tenant_lock_sql = "SELECT pg_advisory_xact_lock(7301, hashtext(?))",
    .event_lock_sql = "SELECT pg_advisory_xact_lock(7302, 0)",
    .migrations = store__migrations_postgres,
    .open = pg_open,
    .close = pg_close,
    .ensure = pg_ensure,
    .exec = pg_exec,
    .script = pg_script,
    .col_text = pg_col_text,
    .col_int = pg_col_int,
    .col_null = pg_col_null,
};
