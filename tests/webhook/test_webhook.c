/*
 * test_webhook: the ingestion pipeline through webhook.h, on one backend
 * named by argv[1] ("sqlite", or "postgres" on SB_TEST_PG_URL).
 *
 * The pure layer (webhook_events and friends): verification comes first
 * (missing/bad signature, the development switch lets only a missing one
 * through), the replay window, event ids (the provider's, or a stable hash
 * when it gives none), the normalised JSON and its parser agree, query and
 * URL helpers. The pipeline (webhook_handle) with a real store, the group
 * writer, a queue with our own inbound.process handler and channel accounts
 * created through messaging: a new event is stored with its job before done
 * runs, a redelivery changes nothing, unknown accounts write nothing, a
 * refusal writes only its security event, a database failure is a 503 with
 * nothing half-written, and a stopped writer is a 503.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_db.h"
#include "webhook/webhook.h"

#define TOKEN "test-auth-token"
#define PUBLIC "https://hooks.example.test"

/* ------------------------------------------------------------- helpers */

/* base64 HMAC-SHA1 over url + sorted name/value pairs (the caller sorts). */
static void twilio_sign(char out[64], const char *url, const struct channel_kv *kv, size_t n)
{
    struct buf b = {0};
    uint8_t mac[20];
    buf_puts(&b, url);
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, kv[i].name);
        buf_puts(&b, kv[i].value);
    }
    crypto_hmac_sha1(mac, TOKEN, strlen(TOKEN), b.data, b.len);
    crypto_base64(out, 64, mac, sizeof mac);
    buf_free(&b);
}

/* A signed Twilio inbound-SMS webhook for sid (fields already sorted by name). */
struct tw_req {
    char body[512];
    char sig[64];
    struct channel_kv headers[2];
    struct channel_webhook wh;
};

static void tw_build(struct tw_req *t, const char *path, const char *sid, const char *text, int sign)
{
    char url[256];
    struct channel_kv kv[4] = {{"Body", text}, {"From", "+14155550123"}, {"MessageSid", sid}, {"To", "+14155550100"}};
    memset(t, 0, sizeof *t);
    snprintf(t->body, sizeof t->body, "Body=%s&From=%%2B14155550123&MessageSid=%s&To=%%2B14155550100", text, sid);
    snprintf(url, sizeof url, "%s%s", PUBLIC, path);
    twilio_sign(t->sig, url, kv, 4);
    t->headers[0] = (struct channel_kv){"content-type", "application/x-www-form-urlencoded"};
    t->headers[1] = (struct channel_kv){"x-twilio-signature", sign ? t->sig : "AAAA"};
    t->wh.method = "POST";
    t->wh.body = t->body;
    t->wh.body_len = strlen(t->body);
    t->wh.headers = t->headers;
    t->wh.nheaders = 2;
    t->wh.received_at = time_now_ms();
}

static const struct channel_kv tw_creds_kv[] = {{"account_sid", "AC00000000000000000000000000000000"},
                                                {"auth_token", TOKEN},
                                                {"from", "+14155550100"}};
static const struct channel_creds tw_creds = {tw_creds_kv, 3};

/* --------------------------------------------------------- pure layer */

static void test_webhook__events_verify_first(void)
{
    struct arena *a = arena_new();
    const struct channel_adapter *tw = channel_find("twilio");
    struct webhook_policy pol = {0, 0, "twilio"};
    struct webhook_batch batch;
    struct tw_req t;
    struct err e = {0};

    tw_build(&t, "/webhooks/twilio/k1", "SM0001", "hi", 1);
    t.wh.url = PUBLIC "/webhooks/twilio/k1";
    CHECK_EQ_INT(webhook_events(a, tw, &tw_creds, &t.wh, &pol, &batch, &e), 0);
    CHECK_EQ_INT(batch.n, 1);
    CHECK_EQ_STR(batch.items[0].event_id, "SM0001");
    CHECK_EQ_STR(batch.items[0].kind, "message");
    /* Wrong signature: refused whatever the policy. */
    tw_build(&t, "/webhooks/twilio/k1", "SM0002", "hi", 0);
    t.wh.url = PUBLIC "/webhooks/twilio/k1";
    pol.allow_unsigned = 1;
    CHECK_EQ_INT(webhook_events(a, tw, &tw_creds, &t.wh, &pol, &batch, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    /* Missing signature: refused, unless development allows unsigned. */
    t.wh.nheaders = 1;
    pol.allow_unsigned = 0;
    CHECK_EQ_INT(webhook_events(a, tw, &tw_creds, &t.wh, &pol, &batch, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    pol.allow_unsigned = 1;
    CHECK_EQ_INT(webhook_events(a, tw, &tw_creds, &t.wh, &pol, &batch, &e), 0);
    CHECK_EQ_INT(batch.n, 1);
    /* A malformed (but signed) payload is invalid, not forbidden. */
    pol.allow_unsigned = 0;
    tw_build(&t, "/webhooks/twilio/k1", "", "hi", 1);
    t.wh.url = PUBLIC "/webhooks/twilio/k1";
    CHECK_EQ_INT(webhook_events(a, tw, &tw_creds, &t.wh, &pol, &batch, &e), ERR_INVALID);
    arena_free(a);
}

/* A signed WhatsApp body with one message at ts (seconds). */
static void wa_build(struct buf *body, char sig[80], const char *wamid, int64_t ts, const char *secret)
{
    uint8_t mac[32];
    char hex[65];
    buf_reset(body);
    buf_printf(body,
               "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":"
               "\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{\"phone_number_id\":"
               "\"106\"},\"messages\":[{\"from\":\"16505551234\",\"id\":\"%s\",\"timestamp\":\"%lld\",\"type\":"
               "\"location\",\"location\":{\"latitude\":52.520008,\"longitude\":13.404954,\"name\":"
               "\"Caf\\u00e9\"}}]}}]}]}",
               wamid, (long long)ts);
    crypto_hmac_sha256(mac, secret, strlen(secret), body->data, body->len);
    crypto_hex(hex, mac, sizeof mac);
    snprintf(sig, 80, "sha256=%s", hex);
}

static void test_webhook__events_replay_window(void)
{
    struct arena *a = arena_new();
    const struct channel_adapter *wa = channel_find("whatsapp");
    static const struct channel_kv kv[] = {{"app_secret", "s3cret"}, {"verify_token", "v"}};
    struct channel_creds creds = {kv, 2};
    struct webhook_policy pol = {0, 3600 * 1000, "whatsapp"};
    struct webhook_batch batch;
    struct buf body = {0};
    char sig[80];
    struct channel_kv hdr[1];
    struct channel_webhook wh;
    struct err e = {0};
    int64_t now = time_now_ms();

    memset(&wh, 0, sizeof wh);
    wh.method = "POST";
    wh.url = PUBLIC "/webhooks/whatsapp/k";
    wh.headers = hdr;
    wh.nheaders = 1;
    wh.received_at = now;
    wa_build(&body, sig, "wamid.NEW", now / 1000 - 60, "s3cret");
    hdr[0] = (struct channel_kv){"x-hub-signature-256", sig};
    wh.body = body.data;
    wh.body_len = body.len;
    CHECK_EQ_INT(webhook_events(a, wa, &creds, &wh, &pol, &batch, &e), 0);
    CHECK_EQ_INT(batch.n, 1);
    /* The payload round-trips through the parser. */
    struct channel_event ev;
    const char *prov = NULL;
    int64_t recv = 0;
    CHECK_EQ_INT(channel_event_from_json(a, batch.items[0].payload, strlen(batch.items[0].payload), &ev, &prov, &recv, &e),
                 0);
    CHECK_EQ_STR(prov, "whatsapp");
    CHECK_EQ_STR(ev.event_id, "wamid.NEW");
    CHECK_EQ_STR(ev.type, "location");
    CHECK_EQ_STR(ev.text, "Caf\xc3\xa9");
    CHECK(ev.latitude == 52.520008 && ev.longitude == 13.404954);
    CHECK_EQ_INT(ev.provider_ts, (now / 1000 - 60) * 1000);
    CHECK_EQ_INT(recv, now);
    CHECK(ev.contact_name == NULL && ev.status == NULL && ev.error_code == NULL && ev.nmedia == 0);
    /* Two hours old: a replay. */
    wa_build(&body, sig, "wamid.OLD", now / 1000 - 7200, "s3cret");
    hdr[0] = (struct channel_kv){"x-hub-signature-256", sig};
    wh.body = body.data;
    wh.body_len = body.len;
    CHECK_EQ_INT(webhook_events(a, wa, &creds, &wh, &pol, &batch, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "replay");
    /* Without a window it is accepted. */
    pol.replay_window_ms = 0;
    CHECK_EQ_INT(webhook_events(a, wa, &creds, &wh, &pol, &batch, &e), 0);
    buf_free(&body);
    arena_free(a);
}

/* An adapter whose events carry no id: the hash of the canonical event is the key. */
static int noid_verify(const struct channel_webhook *wh, const struct channel_creds *c, struct err *e)
{
    (void)wh;
    (void)c;
    (void)e;
    return 0;
}

static int noid_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    (void)e;
    struct channel_event *ev = arena_alloc(a, sizeof *ev);
    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->from = "+1555";
    ev->type = "text";
    ev->text = arena_strndup(a, wh->body, wh->body_len);
    out->items = ev;
    out->n = 1;
    return 0;
}

/* An id with bytes no provider sends (a space, invalid UTF-8). */
static int oddid_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    int rc = noid_parse(a, wh, out, e);
    out->items[0].event_id = "SM12 \xff\xfe";
    return rc;
}

static void test_webhook__odd_provider_id_is_hashed(void)
{
    struct arena *a = arena_new();
    struct channel_adapter ad = {.name = "odd", .verify = noid_verify, .parse = oddid_parse};
    struct webhook_policy pol = {0, 0, "odd"};
    struct webhook_batch b;
    struct channel_webhook wh = {.method = "POST", .url = "u", .body = "x", .body_len = 1, .received_at = 1000};
    struct channel_event ev;
    struct err e = {0};

    CHECK_EQ_INT(webhook_events(a, &ad, NULL, &wh, &pol, &b, &e), 0);
    CHECK(strncmp(b.items[0].event_id, "sha256:", 7) == 0);
    CHECK_EQ_INT(strlen(b.items[0].event_id), 7 + 64);
    /* The payload carries the same key. */
    CHECK_EQ_INT(channel_event_from_json(a, b.items[0].payload, strlen(b.items[0].payload), &ev, NULL, NULL, &e), 0);
    CHECK_EQ_STR(ev.event_id, b.items[0].event_id);
    arena_free(a);
}

static void test_webhook__event_id_hash_when_provider_has_none(void)
{
    struct arena *a = arena_new();
    struct channel_adapter ad = {.name = "noid", .verify = noid_verify, .parse = noid_parse};
    struct webhook_policy pol = {0, 0, "noid"};
    struct webhook_batch b1, b2, b3;
    struct channel_webhook wh = {.method = "POST", .url = "u", .body = "same", .body_len = 4, .received_at = 1000};
    struct err e = {0};

    CHECK_EQ_INT(webhook_events(a, &ad, NULL, &wh, &pol, &b1, &e), 0);
    wh.received_at = 999999; /* a redelivery later: same key */
    CHECK_EQ_INT(webhook_events(a, &ad, NULL, &wh, &pol, &b2, &e), 0);
    wh.body = "other";
    wh.body_len = 5;
    CHECK_EQ_INT(webhook_events(a, &ad, NULL, &wh, &pol, &b3, &e), 0);
    CHECK_EQ_INT(strlen(b1.items[0].event_id), 64);
    CHECK_EQ_STR(b1.items[0].event_id, b2.items[0].event_id);
    CHECK(strcmp(b1.items[0].event_id, b3.items[0].event_id) != 0);
    CHECK(strstr(b1.items[0].payload, b1.items[0].event_id) != NULL);
    arena_free(a);
}

static void test_webhook__url_and_query(void)
{
    struct arena *a = arena_new();
    struct channel_kv *kv = NULL;
    size_t n = 0;

    CHECK_EQ_STR(webhook_public_url(a, "https://x.test/", "/webhooks/t/k?a=1"), "https://x.test/webhooks/t/k?a=1");
    CHECK_EQ_STR(webhook_public_url(a, "https://x.test/base", "/webhooks/t/k"), "https://x.test/base/webhooks/t/k");
    webhook_query_parse(a, "/p?hub.mode=subscribe&hub.challenge=12%2034&x=a+b&flag&&bad=%zz#frag", &kv, &n);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_STR(kv[0].name, "hub.mode");
    CHECK_EQ_STR(kv[0].value, "subscribe");
    CHECK_EQ_STR(kv[1].value, "12 34");
    CHECK_EQ_STR(kv[2].value, "a b");
    CHECK_EQ_STR(kv[3].name, "flag");
    CHECK_EQ_STR(kv[3].value, "");
    CHECK_EQ_STR(kv[4].value, "%zz");
    webhook_query_parse(a, "/p", &kv, &n);
    CHECK_EQ_INT(n, 0);
    arena_free(a);
}

/* ------------------------------------------------------------ pipeline */

static struct {
    struct config cfg;
    struct ops_keyring *keys;
    struct store_writer *writer;
    struct queue *queue;
    struct messaging *msg;
    struct ops_security *sec;
    struct ops_metrics *metrics;
    struct webhook *wh;
    struct messaging_account tw;
    char tw_path[128];
} P;

static int inbound_seen;

static int inbound_handler(void *ud, const struct queue_job *job, struct queue_result *res)
{
    (void)ud;
    (void)job;
    (void)res;
    __atomic_add_fetch(&inbound_seen, 1, __ATOMIC_RELAXED);
    return QUEUE_DONE;
}

/* The outcome of one webhook_handle. */
struct outcome {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
    int status;
    char code[48];
    char body[128];
};

static void outcome_done(void *ud, const struct webhook_response *r)
{
    struct outcome *o = ud;
    pthread_mutex_lock(&o->mu);
    o->status = r->status;
    snprintf(o->code, sizeof o->code, "%s", r->error_code ? r->error_code : "");
    snprintf(o->body, sizeof o->body, "%.*s", (int)r->body_len, r->body ? r->body : "");
    o->finished = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

/* Handle one Twilio POST and wait for its answer. */
static int handle_twilio(const char *path, const char *sid, int sign, struct outcome *o)
{
    struct tw_req t;
    struct webhook_request req;
    char target[160];

    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    snprintf(target, sizeof target, "%s", path);
    tw_build(&t, path, sid, "hello", sign);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.provider = "twilio";
    req.account_key = strrchr(path, '/') + 1;
    req.target = target;
    req.body = t.body;
    req.body_len = strlen(t.body);
    req.headers = t.headers;
    req.nheaders = 2;
    req.ip = "192.0.2.1";
    webhook_handle(P.wh, &req, outcome_done, o);
    pthread_mutex_lock(&o->mu);
    while (!o->finished)
        pthread_cond_wait(&o->cv, &o->mu);
    pthread_mutex_unlock(&o->mu);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    return o->status;
}

static int64_t sql_count(const char *sql)
{
    if (T.pg) {
        PGconn *c = PQconnectdb(T.url);
        PGresult *res = PQexec(c, sql);
        int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
        PQclear(res);
        PQfinish(c);
        return n;
    }
    sqlite3 *s = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open(T.path, &s) == SQLITE_OK && sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return n;
}

static int64_t events_total(void)
{
    return sql_count("SELECT count(*) FROM inbound_events");
}

static int64_t jobs_total(void)
{
    return sql_count("SELECT count(*) FROM jobs WHERE type = 'inbound.process'");
}

static int pipeline_setup(void)
{
    struct err e = {0};
    struct store_tenant t;
    uint8_t master[CRYPTO_KEY_BYTES];
    static const struct channel_kv settings[] = {
        {"account_sid", "AC00000000000000000000000000000000"}, {"auth_token", TOKEN}, {"from", "+14155550100"}};

    if (config_load(&P.cfg, "", &e) != 0 || config_set(&P.cfg, "SB_PUBLIC_URL", PUBLIC, &e) != 0)
        return -1;
    memset(&t, 0, sizeof t);
    snprintf(t.id, sizeof t.id, "ten_hook");
    snprintf(t.name, sizeof t.name, "Hooks");
    t.created_at = time_now_ms();
    crypto_random(master, sizeof master);
    struct store_writer_options wo = {.threads = 1};
    struct queue_options qo = {.workers = 1, .poll_ms = 20, .worker_prefix = "t"};
    struct queue_type qt = {.name = WEBHOOK_JOB_TYPE, .handler = inbound_handler, .max_attempts = 3,
                            .base_backoff_ms = 10, .max_backoff_ms = 100};
    if (store_tenant_create(T.db, &t, &e) != 0 || ops_keyring_open(&P.keys, T.db, master, &e) != 0 ||
        ops_metrics_new(&P.metrics) != 0 || store_writer_new(&P.writer, T.db, &wo, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    qo.writer = T.pg ? NULL : P.writer; /* as serve does */
    if (queue_new(&P.queue, T.db, &qo, &e) != 0 || queue_register(P.queue, &qt, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    /* No queue for messaging: this test stands in its own inbound.process handler. */
    struct messaging_options mo = {.cfg = &P.cfg, .db = T.db, .keys = P.keys};
    struct ops_security_options so = {.db = T.db, .metrics = P.metrics};
    if (messaging_new(&P.msg, &mo, &e) != 0 || ops_security_new(&P.sec, &so, &e) != 0 ||
        messaging_account_create(P.msg, "ten_hook", "twilio", "SMS", settings, 3, "system", "", "", &P.tw, NULL,
                                 &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    struct webhook_options wopt = {.cfg = &P.cfg, .writer = P.writer, .queue = P.queue, .messaging = P.msg,
                                   .security = P.sec, .metrics = P.metrics};
    if (webhook_new(&P.wh, &wopt, &e) != 0 || queue_start(P.queue, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    snprintf(P.tw_path, sizeof P.tw_path, "/webhooks/twilio/%s", P.tw.account_key);
    return 0;
}

static void pipeline_teardown(void)
{
    queue_stop(P.queue);
    store_writer_stop(P.writer);
    webhook_free(P.wh);
    store_writer_free(P.writer);
    queue_free(P.queue);
    messaging_free(P.msg);
    ops_security_free(P.sec);
    ops_keyring_free(P.keys);
    ops_metrics_free(P.metrics);
    config_free(&P.cfg);
}

static void test_webhook__pipeline_stores_once(void)
{
    struct outcome o;
    int64_t ev0 = events_total(), jobs0 = jobs_total();

    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0001", 1, &o), 200);
    CHECK_EQ_STR(o.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>");
    CHECK_EQ_INT(events_total(), ev0 + 1);
    CHECK_EQ_INT(jobs_total(), jobs0 + 1);
    CHECK_EQ_INT(sql_count("SELECT count(*) FROM inbound_events WHERE event_id = 'SMpipe0001' AND tenant_id = "
                           "'ten_hook' AND kind = 'message'"),
                 1);
    /* A redelivery: 200 and nothing new. */
    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0001", 1, &o), 200);
    CHECK_EQ_INT(events_total(), ev0 + 1);
    CHECK_EQ_INT(jobs_total(), jobs0 + 1);
    CHECK_EQ_INT(ops_metrics_counter_value(P.metrics, "sb_webhook_events_total", "provider", "twilio", "result",
                                           "duplicate"),
                 1);
    /* The worker gets the job. */
    for (int i = 0; i < 200 && __atomic_load_n(&inbound_seen, __ATOMIC_RELAXED) < 1; i++)
        usleep(10000);
    CHECK(__atomic_load_n(&inbound_seen, __ATOMIC_RELAXED) >= 1);
}

/* done runs after the commit: another connection already sees the row. */
struct visible {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
    int status;
    int64_t rows;
};

static void visible_done(void *ud, const struct webhook_response *r)
{
    struct visible *v = ud;
    int64_t rows = sql_count("SELECT count(*) FROM inbound_events WHERE event_id = 'SMpipe0002'");
    pthread_mutex_lock(&v->mu);
    v->status = r->status;
    v->rows = rows;
    v->finished = 1;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
}

static void test_webhook__done_after_commit(void)
{
    struct tw_req t;
    struct webhook_request req;
    struct visible v = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, -1};

    tw_build(&t, P.tw_path, "SMpipe0002", "hello", 1);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.provider = "twilio";
    req.account_key = P.tw.account_key;
    req.target = P.tw_path;
    req.body = t.body;
    req.body_len = strlen(t.body);
    req.headers = t.headers;
    req.nheaders = 2;
    req.ip = "192.0.2.1";
    webhook_handle(P.wh, &req, visible_done, &v);
    pthread_mutex_lock(&v.mu);
    while (!v.finished)
        pthread_cond_wait(&v.cv, &v.mu);
    pthread_mutex_unlock(&v.mu);
    CHECK_EQ_INT(v.status, 200);
    CHECK_EQ_INT(v.rows, 1);
}

static void test_webhook__refusals(void)
{
    struct outcome o;
    int64_t ev0 = events_total(), jobs0 = jobs_total();
    int64_t sec0 = sql_count("SELECT count(*) FROM security_events");

    CHECK_EQ_INT(handle_twilio("/webhooks/twilio/unknown-key", "SMpipe0003", 1, &o), 404);
    CHECK_EQ_STR(o.code, "not_found");
    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0004", 0, &o), 403);
    CHECK_EQ_STR(o.code, "bad_signature");
    CHECK_EQ_INT(events_total(), ev0);
    CHECK_EQ_INT(jobs_total(), jobs0);
    /* Only the refusal's security event (written inline: no writer given to ops_security). */
    CHECK_EQ_INT(sql_count("SELECT count(*) FROM security_events"), sec0 + 1);
    CHECK_EQ_INT(sql_count("SELECT count(*) FROM security_events WHERE reason = 'bad_signature' AND tenant_id = "
                           "'ten_hook' AND ip = '192.0.2.1'"),
                 1);
}

static void test_webhook__database_failure_is_503(void)
{
    struct outcome o;
    int64_t jobs0 = jobs_total();

    /* The event cannot be stored: the job pushed with it must not be either. */
    CHECK_EQ_INT(raw_sql("ALTER TABLE inbound_events RENAME TO inbound_events_away"), 0);
    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0005", 1, &o), 503);
    CHECK_EQ_STR(o.code, "unavailable");
    CHECK_EQ_INT(raw_sql("ALTER TABLE inbound_events_away RENAME TO inbound_events"), 0);
    CHECK_EQ_INT(jobs_total(), jobs0);
    /* Recovered: the provider's retry is stored. */
    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0005", 1, &o), 200);
    CHECK_EQ_INT(jobs_total(), jobs0 + 1);
}

static void test_webhook__stopped_writer_is_503(void)
{
    struct outcome o;
    int64_t ev0 = events_total();
    store_writer_stop(P.writer);
    CHECK_EQ_INT(handle_twilio(P.tw_path, "SMpipe0006", 1, &o), 503);
    CHECK_EQ_INT(events_total(), ev0);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;

    if (crypto_init() != 0)
        return 1;
    log_init(LOG_ERROR, NULL);
    TEST_RUN(test_webhook__events_verify_first);
    TEST_RUN(test_webhook__events_replay_window);
    TEST_RUN(test_webhook__event_id_hash_when_provider_has_none);
    TEST_RUN(test_webhook__odd_provider_id_is_hashed);
    TEST_RUN(test_webhook__url_and_query);
    if (argc < 2 || db_setup(argv[1], "webhook") != 0 || store_migrate(T.db, &mi, &e) != 0 || pipeline_setup() != 0) {
        fprintf(stderr, "setup failed: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_webhook__pipeline_stores_once);
    TEST_RUN(test_webhook__done_after_commit);
    TEST_RUN(test_webhook__refusals);
    TEST_RUN(test_webhook__database_failure_is_503);
    TEST_RUN(test_webhook__stopped_writer_is_503);
    pipeline_teardown();
    db_teardown();
    TEST_DONE();
}
