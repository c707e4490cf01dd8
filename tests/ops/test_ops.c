/*
 * test_ops: the metrics registry and its exposition, readiness, the audit
 * chain (and that tampering with a stored row is caught and named), and the
 * key ring (rotation keeps secrets readable, a wrong master key is refused,
 * no plaintext secret reaches the database), and the realtime event log
 * (per-tenant seq, isolation, resume reads, pruning, and gapless seq in
 * commit order under concurrent appenders).
 *
 * Run as `test_ops sqlite` (a fresh file in a temp dir) or `test_ops postgres`
 * (a fresh database sbtest_<random> on SB_TEST_PG_URL, dropped at exit).
 * Tampering needs raw SQL, which tests may use: sqlite3 / libpq directly.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "ops/ops.h"
#include "test.h"
#include "test_db.h"

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    struct buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    int found = b.len && memmem(b.data, b.len, needle, strlen(needle)) != NULL;
    buf_free(&b);
    return found;
}

/* 1 when needle occurs in the database: every file of the SQLite database
 * (main file and WAL), or every sealed value plus every text column of the
 * tenants table on PostgreSQL. */
static int db_contains(const char *needle)
{
    if (!T.pg) {
        char p[600];
        int found = file_contains(T.path, needle);
        snprintf(p, sizeof(p), "%s-wal", T.path);
        found |= file_contains(p, needle);
        return found;
    }
    PGconn *c = PQconnectdb(T.url);
    PGresult *res = PQexec(c, "SELECT sealed FROM secrets UNION ALL SELECT name FROM tenants "
                              "UNION ALL SELECT wrapped FROM keyring");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "db_contains: %s", PQerrorMessage(c));
    int found = 0;
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res); i++)
        if (strstr(PQgetvalue(res, i, 0), needle))
            found = 1;
    PQclear(res);
    PQfinish(c);
    return found;
}

static void make_tenant(const char *id, const char *name)
{
    struct store_tenant t;
    struct err e = {0};
    memset(&t, 0, sizeof(t));
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.name, sizeof(t.name), "%s", name);
    t.created_at = time_now_ms();
    CHECK_EQ_INT(store_tenant_create(T.db, &t, &e), 0);
}

/* ------------------------------------------------------------- metrics */

static void test_ops__metrics_render(void)
{
    struct ops_metrics *m = NULL;
    struct buf out = {0};
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    ops_metrics_request(m, "GET", "/api/v1/me", 200, 300000);      /* 0.3 ms */
    ops_metrics_request(m, "GET", "/api/v1/me", 200, 2000000);     /* 2 ms */
    ops_metrics_request(m, "POST", "/api/v1/users", 400, 20000000000LL); /* 20 s: only +Inf */
    ops_metrics_request(m, "GET", "/we\"ird\\path\n", 404, 1000);
    ops_metrics_inflight(m, 2);
    ops_metrics_inflight(m, -1);
    ops_metrics_render(m, T.db, &out);
    CHECK(out.data != NULL);
    const char *s = out.data ? out.data : "";
    CHECK(strstr(s, "# TYPE sb_http_requests_total counter\n") != NULL);
    CHECK(strstr(s, "# HELP sb_http_requests_total ") != NULL);
    CHECK(strstr(s, "sb_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 2\n") != NULL);
    CHECK(strstr(s, "sb_http_requests_total{method=\"POST\",route=\"/api/v1/users\",status=\"400\"} 1\n") != NULL);
    CHECK(strstr(s, "# TYPE sb_http_request_duration_seconds histogram\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/me\",le=\"0.0005\"} 1\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/me\",le=\"0.001\"} 1\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/me\",le=\"0.0025\"} 2\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/me\",le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_count{route=\"/api/v1/me\"} 2\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_sum{route=\"/api/v1/me\"} 0.002300000\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/users\",le=\"10\"} 0\n") != NULL);
    CHECK(strstr(s, "sb_http_request_duration_seconds_bucket{route=\"/api/v1/users\",le=\"+Inf\"} 1\n") != NULL);
    /* Label escaping: quote, backslash and newline. */
    CHECK(strstr(s, "route=\"/we\\\"ird\\\\path\\n\",status=\"404\"} 1\n") != NULL);
    CHECK(strstr(s, "sb_http_requests_in_flight 1\n") != NULL);
    CHECK(strstr(s, "# TYPE sb_db_queries_total counter\n") != NULL);
    CHECK(strstr(s, "sb_db_query_seconds_total ") != NULL);
    CHECK(strstr(s, "sb_process_start_time_seconds ") != NULL);
    buf_free(&out);
    ops_metrics_free(m);
}

static void test_ops__metrics_bounded(void)
{
    struct ops_metrics *m = NULL;
    struct buf out = {0};
    char route[64];
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    for (int i = 0; i < 1100; i++) {
        snprintf(route, sizeof(route), "/r/%d", i);
        ops_metrics_request(m, "GET", route, 200, 1000);
    }
    ops_metrics_render(m, NULL, &out);
    const char *s = out.data ? out.data : "";
    CHECK(strstr(s, "route=\"/r/0\",status=\"200\"} 1\n") != NULL);
    /* The table holds 1024 series; the rest are counted under "other". */
    CHECK(strstr(s, "sb_http_requests_total{method=\"other\",route=\"other\",status=\"0\"} 76\n") != NULL);
    CHECK(strstr(s, "sb_db_queries_total") == NULL); /* db NULL: no db lines */
    buf_free(&out);
    ops_metrics_free(m);
}

/* Many threads recording at once: every request is counted exactly once. */
static void *metrics_worker(void *ud)
{
    struct ops_metrics *m = ud;
    char route[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(route, sizeof(route), "/c/%d", i % 40);
        ops_metrics_request(m, "GET", route, 200 + (i / 40) % 2, 1000 + i);
        ops_metrics_inflight(m, 1);
        ops_metrics_inflight(m, -1);
    }
    return NULL;
}

static void test_ops__metrics_concurrent(void)
{
    struct ops_metrics *m = NULL;
    pthread_t th[4];
    struct buf out = {0};
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, metrics_worker, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ops_metrics_render(m, NULL, &out);
    const char *s = out.data ? out.data : "";
    /* 4 threads x 20000 over 40 routes x 2 statuses: 1000 per series. */
    int series = 0;
    for (const char *p = s; (p = strstr(p, "sb_http_requests_total{method=\"GET\",route=\"/c/")); p++) {
        series++;
        CHECK(strstr(p, "} 1000\n") != NULL && strstr(p, "} 1000\n") < strchr(p, '\n') + 1);
    }
    CHECK_EQ_INT(series, 80);
    CHECK(strstr(s, "sb_http_request_duration_seconds_count{route=\"/c/7\"} 2000\n") != NULL);
    CHECK(strstr(s, "sb_http_requests_in_flight 0\n") != NULL);
    CHECK(strstr(s, "route=\"other\"") == NULL);
    buf_free(&out);
    ops_metrics_free(m);
}

static void test_ops__ready_tracks_migrations(void)
{
    struct buf out = {0};
    struct err e = {0};
    struct store_migration_info mi;
    /* A fresh database: reachable, but not ready until migrated. */
    CHECK_EQ_INT(ops_ready(T.db, NULL, 1, &out), ERR_UPSTREAM);
    CHECK(out.data && strstr(out.data, "\"database\":\"ok\"") != NULL);
    CHECK(out.data && strstr(out.data, "\"status\":\"unavailable\"") != NULL);
    CHECK(out.data && strstr(out.data, "\"pending\":0") == NULL);
    buf_reset(&out);
    CHECK_EQ_INT(store_migrate(T.db, &mi, &e), 0);
    CHECK_EQ_INT(ops_ready(T.db, NULL, 1, &out), 0);
    CHECK(out.data && strstr(out.data, "\"status\":\"ready\"") != NULL);
    CHECK(out.data && strstr(out.data, "\"pending\":0") != NULL);
    cJSON *j = NULL;
    CHECK_EQ_INT(json_parse(&j, out.data ? out.data : "", out.len, &e), 0);
    cJSON_Delete(j);
    /* Extra members (the queue's) are added, and an unhealthy extra is not ready. */
    buf_reset(&out);
    CHECK_EQ_INT(ops_ready(T.db, "\"workers\":{\"alive\":0}", 0, &out), ERR_UPSTREAM);
    CHECK(out.data && strstr(out.data, "\"status\":\"unavailable\"") != NULL);
    CHECK_EQ_INT(json_parse(&j, out.data ? out.data : "", out.len, &e), 0);
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "workers")));
    cJSON_Delete(j);
    buf_free(&out);
}

/* --------------------------------------------------------------- audit */

static void test_ops__audit_hash_canonical(void)
{
    struct store_audit a, b;
    memset(&a, 0, sizeof(a));
    strcpy(a.tenant_id, "ten_x");
    a.seq = 1;
    a.at = 1000;
    strcpy(a.actor_type, "user");
    strcpy(a.action, "ab");
    strcpy(a.target, "c");
    b = a;
    strcpy(b.action, "a");
    strcpy(b.target, "bc");
    ops_audit_hash(&a);
    ops_audit_hash(&b);
    CHECK_EQ_INT(strlen(a.hash), 64);
    CHECK(strcmp(a.hash, b.hash) != 0); /* shifting bytes between fields changes the hash */
    struct store_audit c = a;
    ops_audit_hash(&c);
    CHECK_EQ_STR(c.hash, a.hash); /* deterministic */
}

static void test_ops__audit_chain_and_tamper(void)
{
    struct err e = {0};
    make_tenant("ten_audita", "Audit A");
    make_tenant("ten_auditb", "Audit B");
    for (int i = 0; i < 5; i++) {
        char target[32];
        snprintf(target, sizeof(target), "usr_%d", i);
        CHECK_EQ_INT(ops_audit(T.db, "ten_audita", "user", "usr_actor", "user.create", target, "127.0.0.1",
                               "{\"role\":\"agent\"}", &e),
                     0);
    }
    CHECK_EQ_INT(ops_audit(T.db, "ten_auditb", "system", "", "tenant.create", "ten_auditb", "", NULL, &e), 0);
    CHECK_EQ_INT(ops_audit(T.db, "ten_auditb", "apikey", "key_1", "apikey.revoke", "key_2", "::1", "{}", &e), 0);
    /* Refused, not truncated. */
    char big[2048];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(ops_audit(T.db, "ten_audita", "user", "u", "x", "t", "", big, &e), ERR_INVALID);

    int64_t rows = 0;
    CHECK_EQ_INT(ops_audit_verify(T.db, NULL, &rows, &e), 0);
    CHECK_EQ_INT(rows, 7);

    /* Rows are chained: list the newest of A and check seq/prev_hash. */
    /* Tamper: change the details of A's third row. */
    CHECK_EQ_INT(raw_sql("UPDATE audit_log SET details = '{\"role\":\"owner\"}' "
                         "WHERE tenant_id = 'ten_audita' AND seq = 3"),
                 0);
    char *report = NULL;
    size_t reportlen = 0;
    FILE *rf = open_memstream(&report, &reportlen);
    err_clear(&e);
    CHECK_EQ_INT(ops_audit_verify(T.db, rf, &rows, &e), ERR_CONFLICT);
    fclose(rf);
    CHECK(strstr(e.msg, "tenant ten_audita seq 3") != NULL);
    CHECK(report && strstr(report, "tampered: tenant ten_audita seq 3: hash") != NULL);
    free(report);

    /* Restore it: the chain is whole again. */
    CHECK_EQ_INT(raw_sql("UPDATE audit_log SET details = '{\"role\":\"agent\"}' "
                         "WHERE tenant_id = 'ten_audita' AND seq = 3"),
                 0);
    CHECK_EQ_INT(ops_audit_verify(T.db, NULL, &rows, &e), 0);

    /* Deleting a row leaves a gap that is named. */
    CHECK_EQ_INT(raw_sql("DELETE FROM audit_log WHERE tenant_id = 'ten_auditb' AND seq = 1"), 0);
    err_clear(&e);
    CHECK_EQ_INT(ops_audit_verify(T.db, NULL, &rows, &e), ERR_CONFLICT);
    CHECK(strstr(e.msg, "tenant ten_auditb seq 2") != NULL);
    CHECK(strstr(e.msg, "gap") != NULL);
}

/* ------------------------------------------------- realtime event log */

/* Append one event in its own transaction; returns the seq (0 on failure). */
static int64_t append_event(const char *tenant_id, const char *type, const char *data)
{
    struct store_tx tx;
    struct err e = {0};
    int64_t seq = 0;
    if (store_tx_begin(T.db, &tx, &e) != 0) {
        fprintf(stderr, "append_event: %s\n", e.msg);
        return 0;
    }
    if (ops_event_append(&tx, tenant_id, type, data, &seq, &e) != 0) {
        fprintf(stderr, "append_event: %s\n", e.msg);
        store_tx_rollback(&tx);
        return 0;
    }
    if (store_tx_commit(&tx, &e) != 0) {
        fprintf(stderr, "append_event commit: %s\n", e.msg);
        return 0;
    }
    return seq;
}

struct event_seen {
    int n;
    int64_t seq[64];
    char type[64][64];
    char data[64][128];
    char tenant[64][CORE_ID_MAX];
};

static int collect_event(void *ud, const struct store_event *ev)
{
    struct event_seen *s = ud;
    if (s->n >= 64)
        return 1;
    s->seq[s->n] = ev->seq;
    snprintf(s->type[s->n], sizeof(s->type[0]), "%s", ev->type);
    snprintf(s->data[s->n], sizeof(s->data[0]), "%s", ev->data);
    snprintf(s->tenant[s->n], sizeof(s->tenant[0]), "%s", ev->tenant_id);
    s->n++;
    return 0;
}

static void test_ops__events_seq_per_tenant(void)
{
    struct err e = {0};
    struct event_seen seen;
    int64_t first = -1, last = -1;
    make_tenant("ten_eva", "Events A");
    make_tenant("ten_evb", "Events B");

    CHECK_EQ_INT(ops_event_last_seq(T.db, "ten_eva", &last, &e), 0);
    CHECK_EQ_INT(last, 0);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_eva", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 0);
    CHECK_EQ_INT(last, 0);

    /* Interleaved appends: each tenant counts 1, 2, … on its own. */
    CHECK_EQ_INT(append_event("ten_eva", "message.created", "{\"n\":1}"), 1);
    CHECK_EQ_INT(append_event("ten_evb", "message.created", "{\"n\":\"b1\"}"), 1);
    CHECK_EQ_INT(append_event("ten_eva", "message.status", "{\"n\":2}"), 2);
    CHECK_EQ_INT(append_event("ten_eva", "message.status", "{\"n\":3}"), 3);
    CHECK_EQ_INT(append_event("ten_evb", "message.status", "{\"n\":\"b2\"}"), 2);

    CHECK_EQ_INT(ops_event_last_seq(T.db, "ten_eva", &last, &e), 0);
    CHECK_EQ_INT(last, 3);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_evb", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 1);
    CHECK_EQ_INT(last, 2);

    /* After N: exactly the later ones, in order, with what was stored. */
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_eva", 1, 0, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 2);
    CHECK_EQ_INT(seen.seq[0], 2);
    CHECK_EQ_INT(seen.seq[1], 3);
    CHECK_EQ_STR(seen.type[0], "message.status");
    CHECK_EQ_STR(seen.data[1], "{\"n\":3}");
    CHECK_EQ_STR(seen.tenant[0], "ten_eva");

    /* Limit, and nothing after the last. */
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_eva", 0, 2, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 2);
    CHECK_EQ_INT(seen.seq[1], 2);
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_eva", 3, 0, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 0);

    /* Isolation: B's list never holds A's events. */
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_evb", 0, 0, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 2);
    for (int i = 0; i < seen.n; i++) {
        CHECK_EQ_STR(seen.tenant[i], "ten_evb");
        CHECK(strstr(seen.data[i], "\"b") != NULL);
    }
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_nobody", 0, 0, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 0);
    CHECK_EQ_INT(ops_event_list(T.db, "", 0, 0, collect_event, &seen, &e), ERR_INVALID);
}

static void test_ops__events_refused_and_rolled_back(void)
{
    struct store_tx tx;
    struct err e = {0};
    int64_t seq = -1, last = 0;
    make_tenant("ten_evr", "Events R");

    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "Message Created", "{}", &seq, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_event");
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "", "{}", &seq, &e), ERR_INVALID);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "message.created", "[1,2]", &seq, &e), ERR_INVALID);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "message.created", "{\"a\":", &seq, &e), ERR_INVALID);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "message.created", NULL, &seq, &e), ERR_INVALID);
    CHECK_EQ_INT(ops_event_append(&tx, "", "message.created", "{}", &seq, &e), ERR_INVALID);
    CHECK_EQ_INT(seq, 0);
    store_tx_rollback(&tx);

    /* An unknown tenant is NOTFOUND (the foreign key), not a stored row. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_missing", "message.created", "{}", &seq, &e), ERR_NOTFOUND);
    store_tx_rollback(&tx);

    /* A rolled-back append frees its seq: the next one reuses it, no gap. */
    CHECK_EQ_INT(append_event("ten_evr", "message.created", "{\"i\":1}"), 1);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(ops_event_append(&tx, "ten_evr", "message.created", "{\"i\":2}", &seq, &e), 0);
    CHECK_EQ_INT(seq, 2);
    store_tx_rollback(&tx);
    CHECK_EQ_INT(ops_event_last_seq(T.db, "ten_evr", &last, &e), 0);
    CHECK_EQ_INT(last, 1);
    CHECK_EQ_INT(append_event("ten_evr", "message.created", "{\"i\":3}"), 2);
}

static void test_ops__events_prune(void)
{
    struct store_tx tx;
    struct err e = {0};
    struct event_seen seen;
    int64_t now = time_now_ms(), hour = 3600 * 1000LL, deleted = -1, first = 0, last = 0;
    make_tenant("ten_evp", "Events P");
    make_tenant("ten_evq", "Events Q");

    /* P: five old events then two recent ones; Q: three old ones only. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    for (int i = 1; i <= 7; i++)
        CHECK_EQ_INT(store_event_append(&tx, "ten_evp", "message.created", "{}", i <= 5 ? now - 48 * hour + i : now,
                                        NULL, &e),
                     0);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ_INT(store_event_append(&tx, "ten_evq", "message.created", "{}", now - 47 * hour + i, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);

    /* Bounded per run, oldest first. */
    CHECK_EQ_INT(ops_event_prune(T.db, now - 24 * hour, 3, &deleted, &e), 0);
    CHECK_EQ_INT(deleted, 3);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_evp", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 4);
    CHECK_EQ_INT(last, 7);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_evq", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 1);

    /* The rest of the old ones, except Q's newest: its seq must go on. */
    CHECK_EQ_INT(ops_event_prune(T.db, now - 24 * hour, 100, &deleted, &e), 0);
    CHECK_EQ_INT(deleted, 4);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_evp", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 6);
    CHECK_EQ_INT(last, 7);
    CHECK_EQ_INT(ops_event_bounds(T.db, "ten_evq", &first, &last, &e), 0);
    CHECK_EQ_INT(first, 3);
    CHECK_EQ_INT(last, 3);
    memset(&seen, 0, sizeof(seen));
    CHECK_EQ_INT(ops_event_list(T.db, "ten_evp", 0, 0, collect_event, &seen, &e), 0);
    CHECK_EQ_INT(seen.n, 2);
    CHECK_EQ_INT(seen.seq[0], 6);

    /* Nothing older left: a no-op. */
    CHECK_EQ_INT(ops_event_prune(T.db, now - 24 * hour, 100, &deleted, &e), 0);
    CHECK_EQ_INT(deleted, 0);
    CHECK_EQ_INT(append_event("ten_evq", "message.status", "{}"), 4);
    CHECK_EQ_INT(append_event("ten_evp", "message.status", "{}"), 8);
}

#define EV_THREADS 3
#define EV_PER_THREAD 60

struct ev_race {
    int stop;                 /* atomic */
    int failures;             /* atomic: appends that failed */
    int gaps;                 /* the reader saw seq n + 2 before n + 1 */
    int64_t reader_last;
    char tenant_id[CORE_ID_MAX];
};

static void *ev_appender(void *arg)
{
    struct ev_race *r = arg;
    for (int i = 0; i < EV_PER_THREAD; i++) {
        struct store_tx tx;
        struct err e = {0};
        int64_t seq = 0;
        if (store_tx_begin(T.db, &tx, &e) != 0) {
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
            continue;
        }
        if (ops_event_append(&tx, r->tenant_id, "message.created", "{\"race\":true}", &seq, &e) != 0) {
            fprintf(stderr, "appender: %s\n", e.msg);
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
            store_tx_rollback(&tx);
            continue;
        }
        /* Hold the transaction a moment so commits would interleave. */
        uint16_t jitter = 0;
        crypto_random(&jitter, sizeof(jitter));
        struct timespec ts = {0, (long)(jitter % 1500) * 1000L};
        nanosleep(&ts, NULL);
        if (store_tx_commit(&tx, &e) != 0) {
            fprintf(stderr, "appender commit: %s\n", e.msg);
            __atomic_add_fetch(&r->failures, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

static int race_read(void *ud, const struct store_event *ev)
{
    struct ev_race *r = ud;
    if (ev->seq != r->reader_last + 1)
        r->gaps++;
    r->reader_last = ev->seq;
    return 0;
}

/* A reader tailing the log as the WebSocket pump does: with commit order =
 * seq order it never sees seq n + 1 while n is still uncommitted. */
static void *ev_reader(void *arg)
{
    struct ev_race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        struct err e = {0};
        ops_event_list(T.db, r->tenant_id, r->reader_last, 0, race_read, r, &e);
    }
    struct err e = {0};
    ops_event_list(T.db, r->tenant_id, r->reader_last, 0, race_read, r, &e);
    return NULL;
}

static void test_ops__events_concurrent_gapless(void)
{
    struct ev_race r;
    struct err e = {0};
    pthread_t th[EV_THREADS], reader;
    int64_t first = 0, last = 0;
    memset(&r, 0, sizeof(r));
    snprintf(r.tenant_id, sizeof(r.tenant_id), "ten_evc");
    make_tenant(r.tenant_id, "Events C");
    CHECK_EQ_INT(pthread_create(&reader, NULL, ev_reader, &r), 0);
    for (int i = 0; i < EV_THREADS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, ev_appender, &r), 0);
    for (int i = 0; i < EV_THREADS; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    pthread_join(reader, NULL);

    CHECK_EQ_INT(r.failures, 0);
    CHECK_EQ_INT(r.gaps, 0);
    CHECK_EQ_INT(r.reader_last, EV_THREADS * EV_PER_THREAD);
    CHECK_EQ_INT(ops_event_bounds(T.db, r.tenant_id, &first, &last, &e), 0);
    CHECK_EQ_INT(first, 1);
    CHECK_EQ_INT(last, EV_THREADS * EV_PER_THREAD);
}

/* ------------------------------------------------------------ key ring */

struct key_census {
    int n, active;
    char active_id[32];
    int has_k1, has_k2;
};

static int census_key(void *ud, const struct store_key *k)
{
    struct key_census *c = ud;
    c->n++;
    if (k->active) {
        c->active++;
        snprintf(c->active_id, sizeof(c->active_id), "%s", k->id);
    }
    c->has_k1 |= strcmp(k->id, "k1") == 0;
    c->has_k2 |= strcmp(k->id, "k2") == 0;
    return 0;
}

static void test_ops__keyring(void)
{
    static const char plaintext[] = "PLAINTEXT-twilio-auth-token-5f3a9c";
    static const char plaintext2[] = "PLAINTEXT-second-secret-77d1e0";
    uint8_t master[CRYPTO_KEY_BYTES], wrong[CRYPTO_KEY_BYTES];
    struct ops_keyring *kr = NULL, *kr2 = NULL, *bad = NULL;
    struct err e = {0};
    char *got = NULL, *sealed = NULL, key_id[32];
    size_t gotlen = 0;
    crypto_random(master, sizeof(master));
    crypto_random(wrong, sizeof(wrong));
    make_tenant("ten_secrets", "Tenant-Marker-Q7Z");

    CHECK_EQ_INT(ops_keyring_open(&kr, T.db, master, &e), 0);
    if (!kr)
        return;
    CHECK_EQ_STR(ops_keyring_active_id(kr), "k1");
    CHECK_EQ_INT(ops_secret_put(kr, T.db, "ten_secrets", "twilio.auth_token", plaintext, strlen(plaintext), &e), 0);
    CHECK_EQ_INT(ops_secret_put(kr, T.db, "ten_secrets", "smtp.password", plaintext2, strlen(plaintext2), &e), 0);
    CHECK_EQ_INT(ops_secret_get(kr, T.db, "ten_secrets", "twilio.auth_token", &got, &gotlen, &e), 0);
    CHECK_EQ_STR(got, plaintext);
    CHECK_EQ_INT(gotlen, strlen(plaintext));
    free(got);
    got = NULL;
    CHECK_EQ_INT(store_secret_get(T.db, "ten_secrets", "twilio.auth_token", &sealed, &e), 0);
    CHECK(sealed && crypto_sealed_key_id(key_id, sizeof(key_id), sealed) == 0 && strcmp(key_id, "k1") == 0);
    char *old_sealed = sealed; /* a k1 ciphertext, replayed after rotation */
    sealed = NULL;
    /* Another tenant cannot read it. */
    make_tenant("ten_other", "Other");
    CHECK_EQ_INT(ops_secret_get(kr, T.db, "ten_other", "twilio.auth_token", &got, &gotlen, &e), ERR_NOTFOUND);

    char new_id[32] = "";
    int64_t n = -1;
    CHECK_EQ_INT(ops_keys_rotate(kr, T.db, new_id, &n, &e), 0);
    CHECK_EQ_STR(new_id, "k2");
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(ops_keyring_active_id(kr), "k2");
    CHECK_EQ_INT(ops_secret_get(kr, T.db, "ten_secrets", "twilio.auth_token", &got, &gotlen, &e), 0);
    CHECK_EQ_STR(got, plaintext);
    free(got);
    got = NULL;
    CHECK_EQ_INT(store_secret_get(T.db, "ten_secrets", "twilio.auth_token", &sealed, &e), 0);
    CHECK(sealed && crypto_sealed_key_id(key_id, sizeof(key_id), sealed) == 0 && strcmp(key_id, "k2") == 0);
    free(sealed);
    sealed = NULL;
    struct key_census kc = {0};
    CHECK_EQ_INT(store_key_list(T.db, census_key, &kc, &e), 0);
    CHECK_EQ_INT(kc.n, 2);
    CHECK_EQ_INT(kc.active, 1);
    CHECK_EQ_STR(kc.active_id, "k2");
    CHECK(kc.has_k1 && kc.has_k2);

    /* A ciphertext still under k1 (say, written while the rotation ran)
     * stays readable: old keys stay in the ring. */
    CHECK_EQ_INT(store_secret_put(T.db, "ten_secrets", "legacy", "k1", old_sealed ? old_sealed : "", time_now_ms(), &e),
                 0);
    free(old_sealed);
    CHECK_EQ_INT(ops_secret_get(kr, T.db, "ten_secrets", "legacy", &got, &gotlen, &e), 0);
    CHECK_EQ_STR(got, plaintext);
    free(got);
    got = NULL;

    /* A fresh ring (a restart) loads both keys, k2 active. */
    CHECK_EQ_INT(ops_keyring_open(&kr2, T.db, master, &e), 0);
    if (kr2) {
        CHECK_EQ_STR(ops_keyring_active_id(kr2), "k2");
        CHECK_EQ_INT(ops_secret_get(kr2, T.db, "ten_secrets", "smtp.password", &got, &gotlen, &e), 0);
        CHECK_EQ_STR(got, plaintext2);
        free(got);
        got = NULL;
    }

    /* Wrong master key: refused, and the message tells the operator why. */
    err_clear(&e);
    CHECK_EQ_INT(ops_keyring_open(&bad, T.db, wrong, &e), ERR_FORBIDDEN);
    CHECK(bad == NULL);
    CHECK_EQ_STR(err_slug(&e), "wrong_secret_key");
    CHECK(strstr(e.msg, "SB_SECRET_KEY") != NULL);

    /* No plaintext at rest; the scan itself works (it finds the tenant name). */
    CHECK(db_contains("Tenant-Marker-Q7Z"));
    CHECK(!db_contains(plaintext));
    CHECK(!db_contains(plaintext2));

    ops_keyring_free(kr2);
    ops_keyring_free(kr);
}

/* ------------------------------------------------------ security events */

static void test_ops__counters(void)
{
    struct ops_metrics *m = NULL;
    struct buf out = {0};
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    ops_metrics_count(m, "sb_webhook_requests_total", "provider", "twilio", "outcome", "stored", 3);
    ops_metrics_count(m, "sb_webhook_requests_total", "provider", "twilio", "outcome", "stored", 2);
    ops_metrics_count(m, "sb_webhook_requests_total", "provider", "whatsapp", "outcome", "bad\"sig", 1);
    CHECK_EQ_INT(ops_metrics_counter_value(m, "sb_webhook_requests_total", "provider", "twilio", "outcome", "stored"),
                 5);
    CHECK_EQ_INT(ops_metrics_counter_value(m, "sb_webhook_requests_total", NULL, NULL, NULL, NULL), 6);
    ops_metrics_render(m, NULL, &out);
    CHECK(strstr(out.data, "# TYPE sb_webhook_requests_total counter\n") != NULL);
    CHECK(strstr(out.data, "sb_webhook_requests_total{provider=\"twilio\",outcome=\"stored\"} 5\n") != NULL);
    CHECK(strstr(out.data, "sb_webhook_requests_total{provider=\"whatsapp\",outcome=\"bad\\\"sig\"} 1\n") != NULL);
    /* One TYPE line per metric, however many series. */
    CHECK(strstr(strstr(out.data, "# TYPE sb_webhook_requests_total") + 1, "# TYPE sb_webhook_requests_total") ==
          NULL);
    buf_free(&out);
    ops_metrics_free(m);
}

static void test_ops__histograms(void)
{
    struct ops_metrics *m = NULL;
    struct buf out = {0};
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    ops_metrics_observe(m, "sb_callback_latency_seconds", "provider", "twilio", 0.2);  /* <= 0.5 */
    ops_metrics_observe(m, "sb_callback_latency_seconds", "provider", "twilio", 1.5);  /* <= 2 */
    ops_metrics_observe(m, "sb_callback_latency_seconds", "provider", "twilio", -3);   /* clock skew: 0 */
    ops_metrics_observe(m, "sb_callback_latency_seconds", "provider", "twilio", 1e6);  /* past the last bound */
    ops_metrics_observe(m, "sb_callback_latency_seconds", "provider", "whatsapp", 31);
    CHECK_EQ_INT(ops_metrics_observed(m, "sb_callback_latency_seconds", "provider", "twilio"), 4);
    CHECK_EQ_INT(ops_metrics_observed(m, "sb_callback_latency_seconds", "provider", "whatsapp"), 1);
    CHECK_EQ_INT(ops_metrics_observed(m, "sb_callback_latency_seconds", "provider", "telegram"), 0);
    ops_metrics_render(m, NULL, &out);
    CHECK(strstr(out.data, "# TYPE sb_callback_latency_seconds histogram\n") != NULL);
    /* Cumulative buckets; +Inf equals the count. */
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"twilio\",le=\"0.5\"} 2\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"twilio\",le=\"2\"} 3\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"twilio\",le=\"21600\"} 3\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"twilio\",le=\"+Inf\"} 4\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_count{provider=\"twilio\"} 4\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_sum{provider=\"whatsapp\"} 31.000000\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"whatsapp\",le=\"30\"} 0\n") != NULL);
    CHECK(strstr(out.data, "sb_callback_latency_seconds_bucket{provider=\"whatsapp\",le=\"60\"} 1\n") != NULL);
    buf_free(&out);
    ops_metrics_free(m);
}

struct sec_list {
    int n;
    int64_t ids[16];
    char reasons[16][48];
    char ips[16][64];
    int has_tenant_other;
};

static int sec_cb(void *ud, const struct store_security_event *ev)
{
    struct sec_list *l = ud;
    if (l->n < 16) {
        l->ids[l->n] = ev->id;
        snprintf(l->reasons[l->n], sizeof l->reasons[0], "%s", ev->reason);
        snprintf(l->ips[l->n], sizeof l->ips[0], "%s", ev->ip);
    }
    if (strcmp(ev->tenant_id, "ten_sec_a") != 0)
        l->has_tenant_other = 1;
    l->n++;
    return 0;
}

static void test_ops__security_events_throttled(void)
{
    struct ops_metrics *m = NULL;
    struct ops_security *s = NULL;
    struct ops_security_options o = {0};
    struct sec_list l;
    struct err e = {0};

    make_tenant("ten_sec_a", "Security A");
    make_tenant("ten_sec_b", "Security B");
    CHECK_EQ_INT(ops_metrics_new(&m), 0);
    o.db = T.db;
    o.metrics = m;
    o.interval_ms = 60000;
    o.max_per_second = 1000;
    CHECK_EQ_INT(ops_security_new(&s, &o, &e), 0);
    /* A flood from one source: one row, every one counted. */
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(ops_security_event(s, "ten_sec_a", "webhook_refused", "twilio", "cha_1", "203.0.113.9",
                                        "bad_signature", &e),
                     0);
    /* Another reason, another ip: rows of their own. */
    CHECK_EQ_INT(ops_security_event(s, "ten_sec_a", "webhook_refused", "twilio", "cha_1", "203.0.113.9",
                                    "missing_signature", &e),
                 0);
    CHECK_EQ_INT(ops_security_event(s, "ten_sec_a", "webhook_refused", "twilio", "cha_1", "198.51.100.7",
                                    "bad_signature", &e),
                 0);
    CHECK_EQ_INT(ops_security_event(s, "ten_sec_b", "webhook_refused", "whatsapp", "cha_2", "198.51.100.7",
                                    "replay", &e),
                 0);
    CHECK_EQ_INT(ops_security_event(s, NULL, "webhook_refused", "twilio", NULL, "198.51.100.7", "", &e),
                 ERR_INVALID);
    CHECK_EQ_INT(ops_metrics_counter_value(m, "sb_security_events_total", "kind", "webhook_refused", "reason",
                                           "bad_signature"),
                 51);
    CHECK_EQ_INT(ops_metrics_counter_value(m, "sb_security_events_throttled_total", NULL, NULL, NULL, NULL), 49);

    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(ops_security_list(T.db, "ten_sec_a", 0, 10, sec_cb, &l, &e), 0);
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_INT(l.has_tenant_other, 0);
    /* Newest first. */
    CHECK(l.ids[0] > l.ids[1] && l.ids[1] > l.ids[2]);
    CHECK_EQ_STR(l.reasons[0], "bad_signature");
    CHECK_EQ_STR(l.ips[0], "198.51.100.7");
    CHECK_EQ_STR(l.reasons[2], "bad_signature");
    CHECK_EQ_STR(l.ips[2], "203.0.113.9");
    /* Cursor and limit. */
    int64_t second = l.ids[1];
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(ops_security_list(T.db, "ten_sec_a", second, 10, sec_cb, &l, &e), 0);
    CHECK_EQ_INT(l.n, 1);
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(ops_security_list(T.db, "ten_sec_a", 0, 2, sec_cb, &l, &e), 0);
    CHECK_EQ_INT(l.n, 2);
    /* The other tenant sees only its own. */
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(ops_security_list(T.db, "ten_sec_b", 0, 10, sec_cb, &l, &e), 0);
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_STR(l.reasons[0], "replay");
    ops_security_free(s);
    ops_metrics_free(m);
}

static void test_ops__security_events_global_cap(void)
{
    struct ops_security *s = NULL;
    struct ops_security_options o = {0};
    struct store_writer *w = NULL;
    struct store_writer_options wo = {0};
    struct sec_list l;
    struct err e = {0};
    char ip[32];

    make_tenant("ten_sec_c", "Security C");
    CHECK_EQ_INT(store_writer_new(&w, T.db, &wo, &e), 0);
    o.db = T.db;
    o.writer = w; /* asynchronous, through the group commit */
    o.max_per_second = 5;
    CHECK_EQ_INT(ops_security_new(&s, &o, &e), 0);
    /* A flood from many sources: at most the per-second budget is written. */
    for (int i = 0; i < 200; i++) {
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        CHECK_EQ_INT(ops_security_event(s, "ten_sec_c", "webhook_refused", "twilio", "cha_3", ip, "bad_signature", &e),
                     0);
    }
    store_writer_free(w); /* drains the queued writes */
    memset(&l, 0, sizeof l);
    CHECK_EQ_INT(ops_security_list(T.db, "ten_sec_c", 0, 500, sec_cb, &l, &e), 0);
    CHECK(l.n >= 1);
    CHECK(l.n <= 10); /* 5 per second; the loop may straddle one second boundary */
    ops_security_free(s);
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    if (crypto_init() != 0)
        return 1;
    log_init(LOG_ERROR, NULL);
    if (db_setup(backend, "ops") != 0) {
        db_teardown();
        return 1;
    }
    fprintf(stderr, "backend: %s\n", store_backend(T.db));
    TEST_RUN(test_ops__ready_tracks_migrations);
    TEST_RUN(test_ops__metrics_render);
    TEST_RUN(test_ops__metrics_bounded);
    TEST_RUN(test_ops__metrics_concurrent);
    TEST_RUN(test_ops__audit_hash_canonical);
    TEST_RUN(test_ops__audit_chain_and_tamper);
    TEST_RUN(test_ops__keyring);
    TEST_RUN(test_ops__events_seq_per_tenant);
    TEST_RUN(test_ops__events_refused_and_rolled_back);
    TEST_RUN(test_ops__events_prune);
    TEST_RUN(test_ops__events_concurrent_gapless);
    TEST_RUN(test_ops__counters);
    TEST_RUN(test_ops__histograms);
    TEST_RUN(test_ops__security_events_throttled);
    TEST_RUN(test_ops__security_events_global_cap);
    db_teardown();
    TEST_DONE();
}
