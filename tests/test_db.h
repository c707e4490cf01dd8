/*
 * A fresh database for a module test, on the backend named by argv[1]:
 * "sqlite" is a file in a new temp dir; "postgres" is a new database
 * sbtest_<random> on the server at SB_TEST_PG_URL, dropped at teardown.
 * Header-only, like test.h; include it once per test program. Raw SQL (for
 * tampering and plaintext checks) is allowed in tests, never in src/.
 */
#ifndef SB_TEST_DB_H
#define SB_TEST_DB_H

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"
/* The test database; one per program. */
static struct {
    int pg;
    char dir[256];
    char path[512];
    char admin_url[512];
    char url[600];
    char dbname[64];
    struct store *db;
} T;

/* Open (not migrate) a fresh store; tag names the temp dir. */
static int db_setup(const char *backend, const char *tag)
{
    struct err e = {0};
    struct store_options opt = {0};
    char rnd[17];
    uint8_t r[8];
    crypto_random(r, sizeof(r));
    crypto_hex(rnd, r, sizeof(r));
    if (strcmp(backend, "postgres") == 0) {
        const char *u = getenv("SB_TEST_PG_URL");
        if (!u || !*u) {
            fprintf(stderr, "SB_TEST_PG_URL is not set: the postgres run needs a server\n");
            return -1;
        }
        T.pg = 1;
        snprintf(T.admin_url, sizeof(T.admin_url), "%s", u);
        snprintf(T.dbname, sizeof(T.dbname), "sbtest_%s", rnd);
        PGconn *c = PQconnectdb(T.admin_url);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "cannot connect to %s: %s", T.admin_url, PQerrorMessage(c));
            PQfinish(c);
            return -1;
        }
        char sql[128];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", T.dbname);
        PGresult *res = PQexec(c, sql);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "create database: %s", PQerrorMessage(c));
        PQclear(res);
        PQfinish(c);
        if (!ok)
            return -1;
        /* Same server, our database: replace the path of the URL. */
        const char *host = strstr(T.admin_url, "://");
        const char *slash = host ? strchr(host + 3, '/') : NULL;
        const char *query = strchr(T.admin_url, '?');
        int base = slash ? (int)(slash - T.admin_url) : (int)strlen(T.admin_url);
        snprintf(T.url, sizeof(T.url), "%.*s/%s%s", base, T.admin_url, T.dbname, query ? query : "");
        opt.database_url = T.url;
    } else {
        snprintf(T.dir, sizeof(T.dir), "/tmp/sbtest_%s_XXXXXX", tag);
        if (!mkdtemp(T.dir))
            return -1;
        snprintf(T.path, sizeof(T.path), "%s/test.db", T.dir);
        opt.sqlite_path = T.path;
    }
    opt.pool_size = 4;
    if (store_open(&T.db, &opt, &e) != 0) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void db_teardown(void)
{
    store_close(T.db);
    T.db = NULL;
    if (T.pg) {
        PGconn *c = PQconnectdb(T.admin_url);
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", T.dbname);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    } else if (T.dir[0]) {
        DIR *d = opendir(T.dir);
        struct dirent *de;
        char p[800];
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(p, sizeof(p), "%s/%s", T.dir, de->d_name);
            unlink(p);
        }
        if (d)
            closedir(d);
        rmdir(T.dir);
    }
}

/* Raw SQL against the test database; returns 0 on success. */
__attribute__((unused)) static int raw_sql(const char *sql)
{
    if (T.pg) {
        PGconn *c = PQconnectdb(T.url);
        PGresult *res = PQexec(c, sql);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "raw_sql: %s", PQerrorMessage(c));
        PQclear(res);
        PQfinish(c);
        return ok ? 0 : -1;
    }
    sqlite3 *s = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(T.path, &s);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s, 5000);
        rc = sqlite3_exec(s, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "raw_sql: %s\n", msg ? msg : sqlite3_errmsg(s));
    sqlite3_free(msg);
    sqlite3_close(s);
    return rc == SQLITE_OK ? 0 : -1;
}

/* 1 when needle occurs in the named file. */

#endif
