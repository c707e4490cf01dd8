/*
 * test_store: the store contract (store.h) on one backend, named by argv[1]:
 * "sqlite" (a fresh temporary directory) or "postgres" (a fresh database
 * sbtest_<random> created on SB_TEST_PG_URL and dropped at the end).
 * Covers migrations (fresh, no-op rerun, tampered checksum, unknown version),
 * CRUD of every resource, tenant isolation for every tenant-scoped function,
 * unique conflicts, a concurrent audit chain (8 threads x 50 rows) and the
 * pool under concurrency. Tests may use SQL directly (raw_exec) to tamper.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"
#include "test.h"

static int use_pg;
static char sqlite_dir[256];
static char sqlite_path[300];
static char pg_admin_url[512];
static char pg_url[600];
static char pg_dbname[64];
static struct store *db;

/* ------------------------------------------------------------ fixtures */

/* Runs SQL on a raw connection, outside the store. Returns 0 on success. */
static int raw_exec(const char *sql)
{
    if (use_pg) {
        PGconn *c = PQconnectdb(pg_url);
        PGresult *r = PQexec(c, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "raw_exec: %s\n", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return ok ? 0 : -1;
    } else {
        sqlite3 *s = NULL;
        char *msg = NULL;
        int rc = sqlite3_open(sqlite_path, &s);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(s, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fprintf(stderr, "raw_exec: %s\n", msg ? msg : sqlite3_errmsg(s));
        sqlite3_free(msg);
        sqlite3_close(s);
        return rc == SQLITE_OK ? 0 : -1;
    }
}

static int pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pg_admin_url);
    PGresult *r = NULL;
    int ok = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to %s: %s\n", pg_admin_url, PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
out:
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

/* postgres://u@h:p/db?x -> postgres://u@h:p/<name>?x */
static int pg_url_with_db(char *out, size_t size, const char *url, const char *name)
{
    const char *hostpart = strstr(url, "://");
    const char *slash, *query;

    if (!hostpart)
        return -1;
    slash = strchr(hostpart + 3, '/');
    query = strchr(hostpart + 3, '?');
    if (!slash || (query && query < slash))
        slash = query ? query : url + strlen(url);
    snprintf(out, size, "%.*s/%s%s", (int)(slash - url), url, name, query ? query : "");
    return 0;
}

static int open_store(struct store **out, int pool_size)
{
    struct store_options opt = {0};
    struct err e = {0};
    int rc;

    opt.database_url = use_pg ? pg_url : NULL;
    opt.sqlite_path = sqlite_path;
    opt.pool_size = pool_size;
    rc = store_open(out, &opt, &e);
    if (rc)
        fprintf(stderr, "store_open: %s\n", e.msg);
    return rc;
}

static int setup(const char *backend)
{
    if (strcmp(backend, "postgres") == 0) {
        const char *url = getenv("SB_TEST_PG_URL");
        char hex[17], sql[128];
        uint8_t rnd[8];

        if (!url || !*url) {
            fprintf(stderr, "test_store postgres: SB_TEST_PG_URL is not set (scripts/test.sh starts a "
                            "throwaway PostgreSQL and sets it)\n");
            return -1;
        }
        use_pg = 1;
        snprintf(pg_admin_url, sizeof(pg_admin_url), "%s", url);
        crypto_random(rnd, sizeof(rnd));
        crypto_hex(hex, rnd, sizeof(rnd));
        snprintf(pg_dbname, sizeof(pg_dbname), "sbtest_%s", hex);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg_dbname);
        if (pg_admin(sql) != 0)
            return -1;
        if (pg_url_with_db(pg_url, sizeof(pg_url), url, pg_dbname) != 0)
            return -1;
    } else if (strcmp(backend, "sqlite") == 0) {
        snprintf(sqlite_dir, sizeof(sqlite_dir), "/tmp/sbtest_store_XXXXXX");
        if (!mkdtemp(sqlite_dir)) {
            perror("mkdtemp");
            return -1;
        }
        snprintf(sqlite_path, sizeof(sqlite_path), "%s/switchboard.db", sqlite_dir);
    } else {
        fprintf(stderr, "usage: test_store sqlite|postgres\n");
        return -1;
    }
    return open_store(&db, 8);
}

static void teardown(void)
{
    store_close(db);
    db = NULL;
    if (use_pg) {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbname);
        pg_admin(sql);
    } else if (sqlite_dir[0]) {
        const char *suffix[] = {"", "-wal", "-shm"};
        char p[400];
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s%s", sqlite_path, suffix[i]);
            unlink(p);
        }
        rmdir(sqlite_dir);
    }
}

/* ---------------------------------------------------------- helpers */

static void mk_tenant(const char *id, const char *name)
{
    struct store_tenant t = {0};
    struct err e = {0};
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.name, sizeof(t.name), "%s", name);
    t.created_at = time_now_ms();
    CHECK_EQ_INT(store_tenant_create(db, &t, &e), 0);
}

static void mk_member(const char *tenant, const char *user_id, const char *email, const char *role)
{
    struct store_member m = {0};
    struct err e = {0};
    snprintf(m.user_id, sizeof(m.user_id), "%s", user_id);
    snprintf(m.email, sizeof(m.email), "%s", email);
    snprintf(m.name, sizeof(m.name), "Name %s", user_id);
    snprintf(m.role, sizeof(m.role), "%s", role);
    snprintf(m.password_hash, sizeof(m.password_hash), "hash-of-%s", user_id);
    CHECK_EQ_INT(store_member_create(db, tenant, &m, &e), 0);
}

static void mk_key(const char *tenant, const char *id, const char *hash, const char *role)
{
    struct store_apikey k = {0};
    struct err e = {0};
    snprintf(k.id, sizeof(k.id), "%s", id);
    snprintf(k.name, sizeof(k.name), "key %s", id);
    snprintf(k.role, sizeof(k.role), "%s", role);
    snprintf(k.prefix, sizeof(k.prefix), "sbk_%.4s", id);
    snprintf(k.created_by, sizeof(k.created_by), "usr_a1");
    k.created_at = 1000;
    CHECK_EQ_INT(store_apikey_create(db, tenant, &k, hash, &e), 0);
}

static void mk_session(const char *tenant, const char *user, const char *token_hash, int64_t expires)
{
    struct store_session s = {0};
    struct err e = {0};
    snprintf(s.token_hash, sizeof(s.token_hash), "%s", token_hash);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user);
    snprintf(s.csrf_token, sizeof(s.csrf_token), "csrf-%s", token_hash);
    s.created_at = 1000;
    s.expires_at = expires;
    CHECK_EQ_INT(store_session_create(db, tenant, &s, &e), 0);
}

static void test_hash(struct store_audit *row)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "%s|%lld|%lld|%s|%s|%s|%s", row->tenant_id, (long long)row->seq,
                     (long long)row->at, row->action, row->actor_id, row->target, row->prev_hash);
    crypto_sha256_hex(row->hash, buf, (size_t)n);
}

static int count_cb_member(void *ud, const struct store_member *m)
{
    (void)m;
    ++*(int *)ud;
    return 0;
}

static int count_cb_key(void *ud, const struct store_apikey *k)
{
    (void)k;
    ++*(int *)ud;
    return 0;
}

static int count_cb_audit(void *ud, const struct store_audit *a)
{
    (void)a;
    ++*(int *)ud;
    return 0;
}

/* -------------------------------------------------------------- tests */

static void test_store__migrate(void)
{
    struct store_migration_info info = {0};
    struct err e = {0};

    CHECK_EQ_STR(store_backend(db), use_pg ? "postgres" : "sqlite");
    CHECK_EQ_INT(store_ping(db, &e), 0);
    CHECK_EQ_INT(store_migration_status(db, &info, &e), 0);
    CHECK(info.latest >= 1);
    CHECK_EQ_INT(info.applied, 0);
    /* Every migration is pending (versions may skip numbers: one per change). */
    CHECK(info.pending >= 1 && info.pending <= info.latest);
    /* Before migrating, the schema does not exist. */
    CHECK(store_tenant_get(db, "ten_x", &(struct store_tenant){0}, &e) < 0);

    CHECK_EQ_INT(store_migrate(db, &info, &e), 0);
    CHECK_EQ_INT(info.applied, info.latest);
    CHECK_EQ_INT(info.pending, 0);

    /* Again: a no-op. */
    memset(&info, 0, sizeof(info));
    CHECK_EQ_INT(store_migrate(db, &info, &e), 0);
    CHECK_EQ_INT(info.applied, info.latest);
    CHECK_EQ_INT(info.pending, 0);
    CHECK_EQ_INT(store_migration_status(db, &info, &e), 0);
    CHECK_EQ_INT(info.pending, 0);
}

static void test_store__migration_tampered(void)
{
    struct store_migration_info info = {0};
    struct err e = {0};

    /* A changed checksum is refused, by migrate and by status, naming it. */
    CHECK_EQ_INT(raw_exec("UPDATE schema_migrations SET checksum = 'x' || checksum WHERE version = 1"), 0);
    CHECK_EQ_INT(store_migrate(db, &info, &e), ERR_CONFLICT);
    CHECK(strstr(e.msg, "0001_init") != NULL);
    err_clear(&e);
    CHECK_EQ_INT(store_migration_status(db, &info, &e), ERR_CONFLICT);
    CHECK(strstr(e.msg, "0001_init") != NULL);
    CHECK_EQ_INT(raw_exec("UPDATE schema_migrations SET checksum = substr(checksum, 2) WHERE version = 1"), 0);
    CHECK_EQ_INT(store_migration_status(db, &info, &e), 0);

    /* A migration this binary lacks is refused. */
    CHECK_EQ_INT(raw_exec("INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                          " VALUES (9999, '9999_future', 'abc', 0)"), 0);
    CHECK_EQ_INT(store_migrate(db, &info, &e), ERR_CONFLICT);
    CHECK(strstr(e.msg, "9999") != NULL);
    CHECK_EQ_INT(raw_exec("DELETE FROM schema_migrations WHERE version = 9999"), 0);
    CHECK_EQ_INT(store_migrate(db, &info, &e), 0);
    CHECK_EQ_INT(info.pending, 0);
}

static void test_store__tenants(void)
{
    struct store_tenant t = {0};
    struct err e = {0};
    int64_t n = -1;

    CHECK_EQ_INT(store_tenant_count(db, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_tenant_find_by_name(db, "Acme", &t, &e), ERR_NOTFOUND);
    mk_tenant("ten_a", "Acme");
    mk_tenant("ten_b", "Beta");
    CHECK_EQ_INT(store_tenant_get(db, "ten_a", &t, &e), 0);
    CHECK_EQ_STR(t.id, "ten_a");
    CHECK_EQ_STR(t.name, "Acme");
    CHECK(t.created_at > 0);
    CHECK_EQ_INT(store_tenant_get(db, "ten_zz", &t, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_tenant_find_by_name(db, "Beta", &t, &e), 0);
    CHECK_EQ_STR(t.id, "ten_b");
    CHECK_EQ_INT(store_tenant_count(db, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
    /* Duplicate id. */
    t = (struct store_tenant){.id = "ten_a", .name = "Again", .created_at = 1};
    CHECK_EQ_INT(store_tenant_create(db, &t, &e), ERR_CONFLICT);
}

static void test_store__members(void)
{
    struct store_member m = {0};
    struct err e = {0};
    int64_t n = 0;
    int count = 0;

    mk_member("ten_a", "usr_a1", "Owner@Acme.test", "owner");
    mk_member("ten_a", "usr_a2", "agent@acme.test", "agent");
    mk_member("ten_b", "usr_b1", "owner@beta.test", "owner");
    CHECK_EQ_INT(store_member_get(db, "ten_a", "usr_a1", &m, &e), 0);
    CHECK_EQ_STR(m.email, "owner@acme.test"); /* lower-cased */
    CHECK_EQ_STR(m.role, "owner");
    CHECK_EQ_STR(m.tenant_id, "ten_a");
    CHECK_EQ_STR(m.password_hash, "hash-of-usr_a1");
    CHECK_EQ_STR(m.name, "Name usr_a1");

    /* The same email joining another tenant reuses the user (password unchanged). */
    m = (struct store_member){0};
    snprintf(m.email, sizeof(m.email), "OWNER@acme.test");
    snprintf(m.role, sizeof(m.role), "viewer");
    snprintf(m.password_hash, sizeof(m.password_hash), "other-hash");
    CHECK_EQ_INT(store_member_create(db, "ten_b", &m, &e), 0);
    CHECK_EQ_STR(m.user_id, "usr_a1");
    CHECK_EQ_INT(store_member_get(db, "ten_b", "usr_a1", &m, &e), 0);
    CHECK_EQ_STR(m.role, "viewer");
    CHECK_EQ_STR(m.password_hash, "hash-of-usr_a1");

    /* A new user with no id gets one. */
    m = (struct store_member){0};
    snprintf(m.email, sizeof(m.email), "new@beta.test");
    snprintf(m.role, sizeof(m.role), "agent");
    CHECK_EQ_INT(store_member_create(db, "ten_b", &m, &e), 0);
    CHECK(strncmp(m.user_id, "usr_", 4) == 0);

    /* Already a member: conflict. Bad role: invalid. Unknown tenant: not found. */
    m = (struct store_member){.email = "agent@acme.test", .role = "admin"};
    CHECK_EQ_INT(store_member_create(db, "ten_a", &m, &e), ERR_CONFLICT);
    m = (struct store_member){.email = "x@acme.test", .role = "emperor"};
    CHECK_EQ_INT(store_member_create(db, "ten_a", &m, &e), ERR_INVALID);
    m = (struct store_member){.email = "y@acme.test", .role = "agent"};
    CHECK_EQ_INT(store_member_create(db, "ten_nope", &m, &e), ERR_NOTFOUND);

    CHECK_EQ_INT(store_member_list(db, "ten_a", count_cb_member, &count, &e), 0);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(store_member_count_role(db, "ten_a", "owner", &n, &e), 0);
    CHECK_EQ_INT(n, 1);

    CHECK_EQ_INT(store_member_set_role(db, "ten_a", "usr_a2", "admin", &e), 0);
    CHECK_EQ_INT(store_member_get(db, "ten_a", "usr_a2", &m, &e), 0);
    CHECK_EQ_STR(m.role, "admin");
    CHECK_EQ_INT(store_member_set_role(db, "ten_a", "usr_a2", "god", &e), ERR_INVALID);
    CHECK_EQ_INT(store_member_set_role(db, "ten_a", "usr_nobody", "agent", &e), ERR_NOTFOUND);

    /* Login lookup: global, case-insensitive, one callback per tenant. */
    count = 0;
    CHECK_EQ_INT(store_login_lookup(db, "owner@ACME.test", count_cb_member, &count, &e), 0);
    CHECK_EQ_INT(count, 2);
    count = 0;
    CHECK_EQ_INT(store_login_lookup(db, "nobody@acme.test", count_cb_member, &count, &e), 0);
    CHECK_EQ_INT(count, 0);
}

static int collect_key(void *ud, const struct store_apikey *k)
{
    *(struct store_apikey *)ud = *k;
    return 0;
}

static void test_store__apikeys(void)
{
    struct store_apikey k = {0};
    struct err e = {0};
    int count = 0;

    mk_key("ten_a", "key_a1", "hash_a1", "admin");
    mk_key("ten_b", "key_b1", "hash_b1", "viewer");
    CHECK_EQ_INT(store_apikey_by_hash(db, "hash_a1", &k, &e), 0);
    CHECK_EQ_STR(k.id, "key_a1");
    CHECK_EQ_STR(k.tenant_id, "ten_a");
    CHECK_EQ_STR(k.role, "admin");
    CHECK_EQ_STR(k.prefix, "sbk_key_");
    CHECK_EQ_STR(k.created_by, "usr_a1");
    CHECK_EQ_INT(k.created_at, 1000);
    CHECK_EQ_INT(k.last_used_at, 0);
    CHECK_EQ_INT(k.revoked_at, 0);
    CHECK_EQ_INT(store_apikey_by_hash(db, "hash_none", &k, &e), ERR_NOTFOUND);

    /* Unique: same id, or same hash. */
    k = (struct store_apikey){.id = "key_a2", .role = "agent", .prefix = "p"};
    CHECK_EQ_INT(store_apikey_create(db, "ten_a", &k, "hash_a1", &e), ERR_CONFLICT);
    k = (struct store_apikey){.id = "key_a1", .role = "agent", .prefix = "p"};
    CHECK_EQ_INT(store_apikey_create(db, "ten_a", &k, "hash_other", &e), ERR_CONFLICT);

    CHECK_EQ_INT(store_apikey_touch(db, "ten_a", "key_a1", 5000, &e), 0);
    CHECK_EQ_INT(store_apikey_revoke(db, "ten_a", "key_a1", 6000, &e), 0);
    CHECK_EQ_INT(store_apikey_revoke(db, "ten_a", "key_a1", 7000, &e), 0); /* no-op */
    CHECK_EQ_INT(store_apikey_by_hash(db, "hash_a1", &k, &e), 0);
    CHECK_EQ_INT(k.last_used_at, 5000);
    CHECK_EQ_INT(k.revoked_at, 6000);
    CHECK_EQ_INT(store_apikey_revoke(db, "ten_a", "key_none", 6000, &e), ERR_NOTFOUND);

    CHECK_EQ_INT(store_apikey_list(db, "ten_a", count_cb_key, &count, &e), 0);
    CHECK_EQ_INT(count, 1);
    k = (struct store_apikey){0};
    CHECK_EQ_INT(store_apikey_list(db, "ten_b", collect_key, &k, &e), 0);
    CHECK_EQ_STR(k.id, "key_b1");
    CHECK_EQ_INT(k.revoked_at, 0);
}

static void test_store__sessions(void)
{
    struct store_session s = {0};
    struct err e = {0};
    int64_t now = time_now_ms();

    mk_session("ten_a", "usr_a2", "tok_a2", now + 60000);
    mk_session("ten_a", "usr_a1", "tok_a1", now + 60000);
    mk_session("ten_a", "usr_a1", "tok_old", now - 1);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a2", now, &s, &e), 0);
    CHECK_EQ_STR(s.tenant_id, "ten_a");
    CHECK_EQ_STR(s.user_id, "usr_a2");
    CHECK_EQ_STR(s.role, "admin");
    CHECK_EQ_STR(s.email, "agent@acme.test");
    CHECK_EQ_STR(s.csrf_token, "csrf-tok_a2");
    CHECK_EQ_INT(s.expires_at, now + 60000);
    CHECK_EQ_INT(store_session_lookup(db, "tok_old", now, &s, &e), ERR_NOTFOUND); /* expired */
    CHECK_EQ_INT(store_session_lookup(db, "tok_none", now, &s, &e), ERR_NOTFOUND);
    /* Duplicate token hash. */
    s = (struct store_session){.token_hash = "tok_a1", .user_id = "usr_a1", .expires_at = now + 1};
    CHECK_EQ_INT(store_session_create(db, "ten_a", &s, &e), ERR_CONFLICT);

    /* The role comes from the current membership. */
    CHECK_EQ_INT(store_member_set_role(db, "ten_a", "usr_a2", "viewer", &e), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a2", now, &s, &e), 0);
    CHECK_EQ_STR(s.role, "viewer");

    /* A removed membership makes the session NOTFOUND even if still stored. */
    mk_member("ten_a", "usr_a3", "third@acme.test", "agent");
    mk_session("ten_a", "usr_a3", "tok_a3", now + 60000);
    CHECK_EQ_INT(raw_exec("DELETE FROM memberships WHERE user_id = 'usr_a3'"), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a3", now, &s, &e), ERR_NOTFOUND);

    CHECK_EQ_INT(store_session_delete(db, "ten_a", "tok_a1", &e), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a1", now, &s, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_session_delete(db, "ten_a", "tok_a1", &e), ERR_NOTFOUND);
    mk_session("ten_a", "usr_a1", "tok_a1b", now + 60000);
    mk_session("ten_a", "usr_a1", "tok_a1c", now + 60000);
    CHECK_EQ_INT(store_session_delete_user(db, "ten_a", "usr_a1", &e), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a1b", now, &s, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a1c", now, &s, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_session_lookup(db, "tok_a2", now, &s, &e), 0);

    /* Removing a member drops their sessions in that tenant. */
    mk_session("ten_b", "usr_a1", "tok_b_a1", now + 60000);
    CHECK_EQ_INT(store_member_remove(db, "ten_b", "usr_a1", &e), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_b_a1", now, &s, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_member_get(db, "ten_b", "usr_a1", &(struct store_member){0}, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_member_remove(db, "ten_b", "usr_a1", &e), ERR_NOTFOUND);
    /* Still a member of ten_a. */
    CHECK_EQ_INT(store_member_get(db, "ten_a", "usr_a1", &(struct store_member){0}, &e), 0);
}

/* Tenant B's id never reaches tenant A's rows, for every tenant-scoped function. */
static void test_store__isolation(void)
{
    struct store_member m = {0};
    struct store_apikey k = {0};
    struct store_session s = {0};
    struct err e = {0};
    char *sealed = NULL;
    int64_t now = time_now_ms(), n = -1;
    int count = 0;

    mk_session("ten_a", "usr_a2", "tok_iso", now + 60000);
    CHECK_EQ_INT(store_secret_put(db, "ten_a", "twilio", "k1", "sb1:k1:AAAA", now, &e), 0);

    /* members */
    CHECK_EQ_INT(store_member_get(db, "ten_b", "usr_a2", &m, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_member_set_role(db, "ten_b", "usr_a2", "owner", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_member_remove(db, "ten_b", "usr_a2", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_member_get(db, "ten_a", "usr_a2", &m, &e), 0);
    CHECK_EQ_STR(m.role, "viewer");
    CHECK_EQ_INT(store_member_list(db, "ten_b", count_cb_member, &count, &e), 0);
    CHECK_EQ_INT(count, 2); /* usr_b1 and the generated one, none of ten_a's */
    CHECK_EQ_INT(store_member_count_role(db, "ten_b", "viewer", &n, &e), 0);
    CHECK_EQ_INT(n, 0);

    /* API keys */
    CHECK_EQ_INT(store_apikey_revoke(db, "ten_b", "key_a1", 1, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_apikey_touch(db, "ten_b", "key_a1", 1, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_apikey_revoke(db, "ten_a", "key_b1", 1, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_apikey_by_hash(db, "hash_b1", &k, &e), 0);
    CHECK_EQ_INT(k.revoked_at, 0);
    CHECK_EQ_INT(k.last_used_at, 0);
    count = 0;
    k = (struct store_apikey){0};
    CHECK_EQ_INT(store_apikey_list(db, "ten_b", collect_key, &k, &e), 0);
    CHECK_EQ_STR(k.tenant_id, "ten_b");

    /* sessions */
    CHECK_EQ_INT(store_session_delete(db, "ten_b", "tok_iso", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_session_delete_user(db, "ten_b", "usr_a2", &e), 0);
    CHECK_EQ_INT(store_session_lookup(db, "tok_iso", now, &s, &e), 0);
    CHECK_EQ_STR(s.tenant_id, "ten_a");
    /* A session cannot be created in B for a user who is only in A (lookup refuses it). */
    mk_session("ten_b", "usr_a2", "tok_cross", now + 60000);
    CHECK_EQ_INT(store_session_lookup(db, "tok_cross", now, &s, &e), ERR_NOTFOUND);

    /* secrets */
    CHECK_EQ_INT(store_secret_get(db, "ten_b", "twilio", &sealed, &e), ERR_NOTFOUND);
    CHECK(sealed == NULL);
    CHECK_EQ_INT(store_secret_get(db, "ten_a", "twilio", &sealed, &e), 0);
    CHECK_EQ_STR(sealed, "sb1:k1:AAAA");
    free(sealed);

    /* audit */
    {
        struct store_audit row = {.actor_type = "user", .actor_id = "usr_a1", .action = "auth.login"};
        CHECK_EQ_INT(store_audit_append(db, "ten_a", &row, test_hash, &e), 0);
        count = 0;
        CHECK_EQ_INT(store_audit_list(db, "ten_b", 0, 0, 0, 0, count_cb_audit, &count, &e), 0);
        CHECK_EQ_INT(count, 0);
        count = 0;
        CHECK_EQ_INT(store_audit_list(db, "ten_a", 0, 0, 0, 0, count_cb_audit, &count, &e), 0);
        CHECK_EQ_INT(count, 1);
    }
}

static int collect_audit(void *ud, const struct store_audit *a)
{
    struct store_audit *v = ud;
    int64_t i = 0;
    while (v[i].seq)
        i++;
    v[i] = *a;
    return 0;
}

static void test_store__audit(void)
{
    static struct store_audit got[16];
    struct err e = {0};
    int64_t base = 1700000000000;

    mk_tenant("ten_c", "Gamma");
    for (int i = 0; i < 5; i++) {
        struct store_audit row = {.at = base + i * 1000, .actor_type = "apikey", .actor_id = "key_x",
                                  .action = "apikey.create", .target = "key_y", .ip = "127.0.0.1",
                                  .details = "{\"n\":1}"};
        CHECK_EQ_INT(store_audit_append(db, "ten_c", &row, test_hash, &e), 0);
        CHECK_EQ_INT(row.seq, i + 1);
        CHECK_EQ_STR(row.tenant_id, "ten_c");
        CHECK(strlen(row.hash) == 64);
        if (i == 0)
            CHECK_EQ_STR(row.prev_hash, "");
    }
    memset(got, 0, sizeof(got));
    CHECK_EQ_INT(store_audit_list(db, "ten_c", 0, 0, 0, 0, collect_audit, got, &e), 0);
    CHECK_EQ_INT(got[0].seq, 5); /* newest first */
    CHECK_EQ_INT(got[4].seq, 1);
    CHECK_EQ_STR(got[0].prev_hash, got[1].hash);
    CHECK_EQ_STR(got[0].details, "{\"n\":1}");
    CHECK_EQ_STR(got[0].ip, "127.0.0.1");
    CHECK_EQ_STR(got[0].actor_type, "apikey");
    /* Time range [from, to). */
    memset(got, 0, sizeof(got));
    CHECK_EQ_INT(store_audit_list(db, "ten_c", base + 1000, base + 3000, 0, 0, collect_audit, got, &e), 0);
    CHECK_EQ_INT(got[0].seq, 3);
    CHECK_EQ_INT(got[1].seq, 2);
    CHECK_EQ_INT(got[2].seq, 0);
    /* Cursor and limit. */
    memset(got, 0, sizeof(got));
    CHECK_EQ_INT(store_audit_list(db, "ten_c", 0, 0, 4, 2, collect_audit, got, &e), 0);
    CHECK_EQ_INT(got[0].seq, 3);
    CHECK_EQ_INT(got[1].seq, 2);
    CHECK_EQ_INT(got[2].seq, 0);
    /* Unknown tenant. */
    {
        struct store_audit row = {.actor_type = "system", .action = "x"};
        CHECK_EQ_INT(store_audit_append(db, "ten_nope", &row, test_hash, &e), ERR_NOTFOUND);
    }
}

struct audit_thread {
    int id;
    int failures;
};

static void *audit_worker(void *arg)
{
    struct audit_thread *t = arg;
    for (int i = 0; i < 50; i++) {
        struct store_audit row = {.actor_type = "system", .action = "test.concurrent"};
        struct err e = {0};
        snprintf(row.target, sizeof(row.target), "t%d-%d", t->id, i);
        if (store_audit_append(db, "ten_d", &row, test_hash, &e) != 0) {
            fprintf(stderr, "append: %s\n", e.msg);
            t->failures++;
        }
    }
    return NULL;
}

struct chain_check {
    int64_t next_seq;
    char prev[65];
    int broken;
};

static int check_chain(void *ud, const struct store_audit *a)
{
    struct chain_check *c = ud;
    struct store_audit copy = *a;

    if (strcmp(a->tenant_id, "ten_d") != 0)
        return 0;
    test_hash(&copy);
    if (a->seq != c->next_seq || strcmp(a->prev_hash, c->prev) != 0 || strcmp(copy.hash, a->hash) != 0)
        c->broken++;
    c->next_seq = a->seq + 1;
    snprintf(c->prev, sizeof(c->prev), "%s", a->hash);
    return 0;
}

static void test_store__audit_concurrent(void)
{
    pthread_t th[8];
    struct audit_thread args[8];
    struct chain_check chk = {.next_seq = 1, .prev = ""};
    struct err e = {0};
    int failures = 0;

    mk_tenant("ten_d", "Delta");
    for (int i = 0; i < 8; i++) {
        args[i] = (struct audit_thread){.id = i};
        pthread_create(&th[i], NULL, audit_worker, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        failures += args[i].failures;
    }
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(store_audit_scan(db, check_chain, &chk, &e), 0);
    CHECK_EQ_INT(chk.next_seq, 401);
    CHECK_EQ_INT(chk.broken, 0);
}

static int key_collect(void *ud, const struct store_key *k)
{
    struct store_key *v = ud;
    int i = 0;
    while (v[i].id[0])
        i++;
    v[i] = *k;
    return 0;
}

struct rotate_ctx {
    int seen;
    int failures;
};

/* Re-encrypts from inside the scan callback, as `keys rotate` does. */
static int rotate_cb(void *ud, const struct store_secret *s)
{
    struct rotate_ctx *r = ud;
    struct err e = {0};
    char sealed[256];

    r->seen++;
    snprintf(sealed, sizeof(sealed), "sb1:k2:%s", s->sealed + 7);
    if (store_secret_put(db, s->tenant_id, s->name, "k2", sealed, 99, &e) != 0)
        r->failures++;
    return 0;
}

static void test_store__keys_secrets(void)
{
    struct store_key keys[8];
    struct store_key k = {.id = "k1", .wrapped = "sb1:master:W1", .active = 1, .created_at = 10};
    struct rotate_ctx rot = {0};
    struct err e = {0};
    char *sealed = NULL;

    CHECK_EQ_INT(store_key_add(db, &k, &e), 0);
    CHECK_EQ_INT(store_key_add(db, &k, &e), ERR_CONFLICT);
    k = (struct store_key){.id = "k2", .wrapped = "sb1:master:W2", .active = 1, .created_at = 20};
    CHECK_EQ_INT(store_key_add(db, &k, &e), 0);
    memset(keys, 0, sizeof(keys));
    CHECK_EQ_INT(store_key_list(db, key_collect, keys, &e), 0);
    CHECK_EQ_STR(keys[0].id, "k1");
    CHECK_EQ_INT(keys[0].active, 0);
    CHECK_EQ_STR(keys[1].id, "k2");
    CHECK_EQ_INT(keys[1].active, 1);
    CHECK_EQ_STR(keys[1].wrapped, "sb1:master:W2");
    CHECK_EQ_INT(keys[2].id[0], 0);

    CHECK_EQ_INT(store_secret_put(db, "ten_b", "smtp", "k1", "sb1:k1:BBBB", 5, &e), 0);
    CHECK_EQ_INT(store_secret_put(db, "ten_b", "smtp", "k1", "sb1:k1:CCCC", 6, &e), 0); /* replace */
    CHECK_EQ_INT(store_secret_get(db, "ten_b", "smtp", &sealed, &e), 0);
    CHECK_EQ_STR(sealed, "sb1:k1:CCCC");
    free(sealed);
    sealed = NULL;
    CHECK_EQ_INT(store_secret_put(db, "ten_nope", "smtp", "k1", "sb1:k1:x", 5, &e), ERR_NOTFOUND);

    CHECK_EQ_INT(store_secret_scan(db, rotate_cb, &rot, &e), 0);
    CHECK_EQ_INT(rot.seen, 2); /* ten_a/twilio, ten_b/smtp */
    CHECK_EQ_INT(rot.failures, 0);
    CHECK_EQ_INT(store_secret_get(db, "ten_b", "smtp", &sealed, &e), 0);
    CHECK_EQ_STR(sealed, "sb1:k2:CCCC");
    free(sealed);
    sealed = NULL;
    CHECK_EQ_INT(store_secret_get(db, "ten_a", "twilio", &sealed, &e), 0);
    CHECK_EQ_STR(sealed, "sb1:k2:AAAA");
    free(sealed);
}

struct pool_thread {
    struct store *s;
    int failures;
};

static void *pool_worker(void *arg)
{
    struct pool_thread *t = arg;
    for (int i = 0; i < 60; i++) {
        struct store_tenant ten;
        struct store_apikey k;
        struct err e = {0};
        if (store_tenant_get(t->s, "ten_a", &ten, &e) != 0 || strcmp(ten.name, "Acme") != 0)
            t->failures++;
        if (store_apikey_by_hash(t->s, "hash_b1", &k, &e) != 0 || strcmp(k.id, "key_b1") != 0)
            t->failures++;
        if (store_apikey_touch(t->s, "ten_b", "key_b1", 100 + i, &e) != 0) {
            fprintf(stderr, "touch: %s\n", e.msg);
            t->failures++;
        }
    }
    return NULL;
}

/* More threads than connections: every call waits its turn and succeeds. */
static void test_store__pool(void)
{
    struct store *small = NULL;
    pthread_t th[8];
    struct pool_thread args[8];
    uint64_t q0 = 0, q1 = 0, ns = 0;
    int failures = 0;

    if (open_store(&small, 3) != 0) {
        CHECK(0);
        return;
    }
    store_stats(small, &q0, NULL);
    for (int i = 0; i < 8; i++) {
        args[i] = (struct pool_thread){.s = small};
        pthread_create(&th[i], NULL, pool_worker, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        failures += args[i].failures;
    }
    CHECK_EQ_INT(failures, 0);
    store_stats(small, &q1, &ns);
    CHECK(q1 >= q0 + 8 * 60 * 3);
    CHECK(ns > 0);
    store_close(small);
}

static void test_store__bad_open(void)
{
    struct store_options opt = {0};
    struct store *s = NULL;
    struct err e = {0};

    opt.sqlite_path = "/nonexistent-dir-sbtest/x.db";
    CHECK(store_open(&s, &opt, &e) < 0);
    CHECK(s == NULL);
    opt.database_url = "mysql://nope";
    CHECK_EQ_INT(store_open(&s, &opt, &e), ERR_INVALID);
    if (use_pg) {
        opt.database_url = "postgres://postgres@127.0.0.1:1/none?connect_timeout=2";
        CHECK_EQ_INT(store_open(&s, &opt, &e), ERR_UPSTREAM);
    }
}

struct join_thread {
    char tenant[CORE_ID_MAX];
    char user_id[CORE_ID_MAX];
    int rc;
};

static void *join_worker(void *arg)
{
    struct join_thread *t = arg;
    struct store_member m = {.email = "Shared@Join.test", .role = "agent", .password_hash = "h"};
    struct err e = {0};

    t->rc = store_member_create(db, t->tenant, &m, &e);
    if (t->rc)
        fprintf(stderr, "join: %s\n", e.msg);
    snprintf(t->user_id, sizeof(t->user_id), "%s", m.user_id);
    return NULL;
}

/* The same new email joining several tenants at once ends up as one user. */
static void test_store__member_concurrent_join(void)
{
    pthread_t th[6];
    struct join_thread args[6];
    int count = 0;
    struct err e = {0};

    for (int i = 0; i < 6; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        snprintf(args[i].tenant, sizeof(args[i].tenant), "ten_j%d", i);
        mk_tenant(args[i].tenant, "Join");
    }
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, join_worker, &args[i]);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ_INT(args[i].rc, 0);
        CHECK_EQ_STR(args[i].user_id, args[0].user_id);
    }
    CHECK_EQ_INT(store_login_lookup(db, "shared@join.test", count_cb_member, &count, &e), 0);
    CHECK_EQ_INT(count, 6);
}

/* SQLite connections run in WAL mode with foreign keys on. */
static void test_store__sqlite_pragmas(void)
{
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;

    if (use_pg)
        return;
    CHECK_EQ_INT(sqlite3_open(sqlite_path, &s), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_prepare_v2(s, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(s);
    /* Foreign keys are enforced through the store: a key for a missing tenant. */
    {
        struct store_apikey k = {.id = "key_fk", .role = "agent", .prefix = "p"};
        struct err e = {0};
        CHECK_EQ_INT(store_apikey_create(db, "ten_missing", &k, "hash_fk", &e), ERR_NOTFOUND);
    }
}

static void *ping_worker(void *arg)
{
    struct err e = {0};
    int *failures = arg;
    for (int i = 0; i < 20; i++)
        if (store_ping(db, &e) != 0)
            ++*failures;
    return NULL;
}

/* PostgreSQL: pooled connections killed by the server are reset on the next
 * acquire, so no call fails after the database comes back. */
static void test_store__pg_reconnect(void)
{
    pthread_t th[8];
    int failures[8] = {0};
    char sql[256];
    struct store_tenant t;
    struct err e = {0};

    if (!use_pg)
        return;
    /* Fill the pool with open connections first. */
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, ping_worker, &failures[i]);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
             " AND pid <> pg_backend_pid()",
             pg_dbname);
    CHECK_EQ_INT(pg_admin(sql), 0);
    usleep(200 * 1000);
    for (int i = 0; i < 8; i++) {
        failures[i] = 0;
        pthread_create(&th[i], NULL, ping_worker, &failures[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(failures[i], 0);
    }
    /* Prepared statements are re-prepared on the new connections. */
    CHECK_EQ_INT(store_tenant_get(db, "ten_a", &t, &e), 0);
    CHECK_EQ_STR(t.name, "Acme");
}

int main(int argc, char **argv)
{
    if (crypto_init() != 0) {
        fprintf(stderr, "crypto_init failed\n");
        return 1;
    }
    if (argc < 2 || setup(argv[1]) != 0) {
        if (argc < 2)
            fprintf(stderr, "usage: test_store sqlite|postgres\n");
        teardown();
        return 1;
    }
    TEST_RUN(test_store__migrate);
    TEST_RUN(test_store__migration_tampered);
    TEST_RUN(test_store__tenants);
    TEST_RUN(test_store__members);
    TEST_RUN(test_store__apikeys);
    TEST_RUN(test_store__sessions);
    TEST_RUN(test_store__isolation);
    TEST_RUN(test_store__audit);
    TEST_RUN(test_store__audit_concurrent);
    TEST_RUN(test_store__keys_secrets);
    TEST_RUN(test_store__pool);
    TEST_RUN(test_store__member_concurrent_join);
    TEST_RUN(test_store__sqlite_pragmas);
    TEST_RUN(test_store__pg_reconnect);
    TEST_RUN(test_store__bad_open);
    teardown();
    TEST_DONE();
}
