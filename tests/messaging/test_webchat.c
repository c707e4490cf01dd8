/*
 * test_webchat: the website chat's side of the messaging core through
 * messaging.h, on a fresh database: webchat account settings, origin
 * matching, sessions (secret lookup scoped to the account and tenant, only
 * the hash stored), e-mail linking to one contact, visitor messages stored
 * as inbound events with their inbound.process job (idempotent per
 * client_id), text and name checks, and the adapter's local send.
 *
 * Run as `test_webchat sqlite` or `test_webchat postgres` (SB_TEST_PG_URL).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging.h"
#include "test.h"
#include "test_db.h"

static struct {
    struct config cfg;
    struct ops_keyring *keys;
    struct queue *queue;
    struct messaging *m;
    char ta[CORE_ID_MAX], tb[CORE_ID_MAX];
    struct messaging_account wa, wb, wother; /* webchat accounts: two of tenant a, one of b */
} W;

static int webchat(const char *tenant, const char *origins, struct messaging_account *out, struct err *e)
{
    struct channel_kv kv[] = {{"allowed_origins", origins}, {"title", "Shop"}};
    return messaging_account_create(W.m, tenant, "webchat", "chat", kv, 2, "user", "usr_test", "", out, NULL, e);
}

static const struct messaging_account_ref *ref_of(const struct messaging_account *a)
{
    const struct messaging_account_ref *ref = NULL;
    struct err e = {0};
    CHECK_EQ_INT(messaging_webchat_account(W.m, a->account_key, &ref, &e), 0);
    return ref;
}

static void test_webchat__settings(void)
{
    struct messaging_account a;
    struct err e = {0};
    static const char *const bad[] = {
        "*", "https://shop.example.com/", "https://shop.example.com/chat", "shop.example.com", "ftp://x.example",
        "https://Shop.example.com", "https://", "https://:443", " , ", "https://a.example, *",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&e);
        CHECK_EQ_INT(webchat(W.ta, bad[i], &a, &e), ERR_INVALID);
        CHECK_EQ_STR(err_slug(&e), "invalid_channel_settings");
    }
    struct channel_kv color[] = {{"allowed_origins", "https://a.example"}, {"color", "red"}};
    CHECK_EQ_INT(messaging_account_create(W.m, W.ta, "webchat", "c", color, 2, "user", "u", "", &a, NULL, &e),
                 ERR_INVALID);
    struct channel_kv none[] = {{"greeting", "hi"}};
    CHECK_EQ_INT(messaging_account_create(W.m, W.ta, "webchat", "c", none, 1, "user", "u", "", &a, NULL, &e),
                 ERR_INVALID);
    CHECK(strstr(e.msg, "allowed_origins") != NULL);
    struct channel_kv unknown[] = {{"allowed_origins", "https://a.example"}, {"auth_token", "x"}};
    CHECK_EQ_INT(messaging_account_create(W.m, W.ta, "webchat", "c", unknown, 2, "user", "u", "", &a, NULL, &e),
                 ERR_INVALID);

    CHECK_EQ_INT(webchat(W.ta, "https://shop.example.com, http://localhost:8080", &W.wa, &e), 0);
    CHECK_EQ_INT(webchat(W.ta, "https://other.example", &W.wother, &e), 0);
    CHECK_EQ_INT(webchat(W.tb, "https://shop.example.com", &W.wb, &e), 0);
    CHECK_EQ_STR(W.wa.provider, "webchat");
    CHECK_EQ_STR(W.wa.channel, "webchat");
    struct buf b = {0};
    messaging_account_json(W.m, &b, &W.wa, NULL);
    buf_putc(&b, '\0');
    CHECK(strstr(b.data, "\"widget_api\":\"https://sb.example.com/widget/v1\"") != NULL);
    CHECK(strstr(b.data, "localhost") == NULL); /* settings are never printed */
    buf_free(&b);
}

static void test_webchat__origins_and_config(void)
{
    const struct messaging_account_ref *ref = ref_of(&W.wa);
    const struct messaging_account_ref *none = NULL;
    struct err e = {0};
    if (!ref)
        return;
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "https://shop.example.com"), 1);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "http://localhost:8080"), 1);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "http://localhost:808"), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "https://shop.example.com.evil.net"), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "https://shop.example.co"), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "http://shop.example.com"), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, "null"), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, ""), 0);
    CHECK_EQ_INT(messaging_webchat_origin_allowed(ref, NULL), 0);
    struct buf b = {0};
    messaging_webchat_config_json(ref, &b);
    buf_putc(&b, '\0');
    CHECK_EQ_STR(b.data, "{\"title\":\"Shop\",\"greeting\":null,\"color\":null,\"max_text_length\":4096}");
    buf_free(&b);
    messaging_account_release(ref);
    /* Unknown and non-webchat keys are not widget tokens. */
    CHECK_EQ_INT(messaging_webchat_account(W.m, "nope", &none, &e), ERR_NOTFOUND);
    CHECK_EQ_STR(err_slug(&e), "unknown_widget_token");
    CHECK_EQ_INT(messaging_webchat_account(W.m, NULL, &none, &e), ERR_NOTFOUND);
    CHECK(none == NULL);
}

static void test_webchat__sessions(void)
{
    const struct messaging_account_ref *ra = ref_of(&W.wa), *ro = ref_of(&W.wother), *rb = ref_of(&W.wb);
    struct messaging_webchat_session s, got;
    char secret[MESSAGING_WEBCHAT_SECRET_MAX], secret2[MESSAGING_WEBCHAT_SECRET_MAX];
    struct err e = {0};
    if (!ra || !ro || !rb)
        goto out;
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, NULL, NULL, "10.0.0.9", "Mozilla/5.0\x01", &s, secret, &e), 0);
    CHECK(strncmp(s.id, "wcs_", 4) == 0);
    CHECK_EQ_STR(s.contact_id, "");
    CHECK(strlen(secret) >= 40);
    CHECK_EQ_INT(messaging_webchat_session(W.m, ra, secret, &got, &e), 0);
    CHECK_EQ_STR(got.id, s.id);
    CHECK_EQ_STR(got.tenant_id, W.ta);
    CHECK_EQ_STR(got.account_id, W.wa.id);
    /* The secret opens this account's session only. */
    CHECK_EQ_INT(messaging_webchat_session(W.m, ro, secret, &got, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_INT(messaging_webchat_session(W.m, rb, secret, &got, &e), ERR_UNAUTHORIZED);
    secret[3] ^= 1;
    CHECK_EQ_INT(messaging_webchat_session(W.m, ra, secret, &got, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "invalid_session");
    CHECK_EQ_INT(messaging_webchat_session(W.m, ra, "", &got, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_INT(messaging_webchat_session(W.m, ra, NULL, &got, &e), ERR_UNAUTHORIZED);
    /* Two sessions never share a secret or an id. */
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, "Ana", "", NULL, NULL, &got, secret2, &e), 0);
    CHECK(strcmp(got.id, s.id) != 0);
    CHECK(strcmp(secret, secret2) != 0);
    CHECK_EQ_STR(got.name, "Ana");
    /* Names and e-mails are checked. */
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, longname, NULL, NULL, NULL, &got, secret2, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_name");
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, "a\nb", NULL, NULL, NULL, &got, secret2, &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, "\xc3\x28", NULL, NULL, NULL, &got, secret2, &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, NULL, "not-an-email", NULL, NULL, &got, secret2, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_email");
    CHECK_EQ_STR(secret2, "");
out:
    messaging_account_release(ra);
    messaging_account_release(ro);
    messaging_account_release(rb);
}

struct idents {
    char name[STORE_CONTACT_NAME_MAX];
    int email, webchat, n;
};

static int idents_cb(void *ud, const struct store_contact *c)
{
    struct idents *it = ud;
    snprintf(it->name, sizeof it->name, "%s", c->name);
    for (int i = 0; i < c->nidentities; i++) {
        it->email += strcmp(c->identities[i].kind, "email") == 0;
        it->webchat += strcmp(c->identities[i].kind, "webchat") == 0;
        it->n++;
    }
    return 0;
}

static void test_webchat__email_links_one_contact(void)
{
    const struct messaging_account_ref *ra = ref_of(&W.wa), *rb = ref_of(&W.wb);
    struct messaging_webchat_session s1, s2, s3;
    char secret[MESSAGING_WEBCHAT_SECRET_MAX];
    struct idents it;
    struct err e = {0};
    if (!ra || !rb)
        goto out;
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, NULL, " Bea@Example.COM ", NULL, NULL, &s1, secret, &e), 0);
    CHECK(s1.contact_id[0] != '\0');
    CHECK_EQ_STR(s1.email, "bea@example.com");
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, "Bea", "bea@example.com", NULL, NULL, &s2, secret, &e), 0);
    CHECK_EQ_STR(s2.contact_id, s1.contact_id);
    memset(&it, 0, sizeof it);
    CHECK_EQ_INT(crm_contact_get(T.db, W.ta, s1.contact_id, idents_cb, &it, &e), 0);
    CHECK_EQ_STR(it.name, "Bea"); /* the later session's name filled the empty one */
    CHECK_EQ_INT(it.email, 1);
    CHECK_EQ_INT(it.webchat, 2);
    /* Another tenant's visitor with the same address is another contact. */
    CHECK_EQ_INT(messaging_webchat_start(W.m, rb, NULL, "bea@example.com", NULL, NULL, &s3, secret, &e), 0);
    CHECK(strcmp(s3.contact_id, s1.contact_id) != 0);
    CHECK_EQ_INT(crm_contact_get(T.db, W.ta, s3.contact_id, idents_cb, &it, &e), ERR_NOTFOUND);
out:
    messaging_account_release(ra);
    messaging_account_release(rb);
}

/* The inbound.process jobs queued so far, their inbound events' payloads
 * appended to out (one per line), by claiming them. */
struct claimed {
    struct buf *out;
    const char *tenant;
    int n;
};

static int payload_cb(void *ud, const struct store_inbound_event *ev)
{
    struct claimed *c = ud;
    buf_puts(c->out, ev->payload);
    buf_putc(c->out, '\n');
    return 0;
}

static int claim_cb(void *ud, const struct store_job *j)
{
    struct claimed *c = ud;
    struct err e = {0};
    cJSON *p = NULL;
    c->n++;
    CHECK_EQ_STR(j->tenant_id, c->tenant);
    CHECK_EQ_INT(json_parse(&p, j->payload, strlen(j->payload), &e), 0);
    const char *id = p ? json_str(p, "inbound_event") : NULL;
    CHECK(id != NULL);
    if (id)
        CHECK_EQ_INT(store_inbound_get(T.db, j->tenant_id, id, payload_cb, c, &e), 0);
    cJSON_Delete(p);
    return 0;
}

static int claim_all(struct buf *out, const char *tenant)
{
    struct claimed c = {out, tenant, 0};
    struct err e = {0};
    int n = 0;
    CHECK_EQ_INT(store_job_claim(T.db, "test-worker", MESSAGING_JOB_INBOUND, time_now_ms() + 1000, 60000, 100,
                                 claim_cb, &c, &n, &e),
                 0);
    return c.n;
}

static void test_webchat__post(void)
{
    const struct messaging_account_ref *ra = ref_of(&W.wa);
    struct messaging_webchat_session s;
    char secret[MESSAGING_WEBCHAT_SECRET_MAX], id[128], id2[128];
    struct buf out = {0};
    struct err e = {0};
    int dup = -1;
    if (!ra)
        return;
    claim_all(&out, W.ta); /* nothing from earlier tests */
    buf_reset(&out);
    CHECK_EQ_INT(messaging_webchat_start(W.m, ra, "Cy", NULL, NULL, NULL, &s, secret, &e), 0);
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, "Hello \xe2\x82\xac\nsecond line", NULL, id, &dup, &e), 0);
    CHECK_EQ_INT(dup, 0);
    CHECK(strncmp(id, "wcm_", 4) == 0);
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, "retry me", "c-1", id2, &dup, &e), 0);
    CHECK_EQ_INT(dup, 0);
    char want[160];
    snprintf(want, sizeof want, "%s/c-1", s.id);
    CHECK_EQ_STR(id2, want);
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, "retry me", "c-1", id2, &dup, &e), 0);
    CHECK_EQ_INT(dup, 1); /* the same client_id: no second event or job */
    CHECK_EQ_INT(claim_all(&out, W.ta), 2);
    buf_putc(&out, '\0');
    /* The stored events are the normalised channel events a webhook would store. */
    char from[96];
    snprintf(from, sizeof from, "\"from\":\"%s\"", s.id);
    CHECK(strstr(out.data, from) != NULL);
    CHECK(strstr(out.data, "\"provider\":\"webchat\"") != NULL);
    CHECK(strstr(out.data, "\"text\":\"Hello \xe2\x82\xac\\nsecond line\"") != NULL);
    CHECK(strstr(out.data, "\"contact_name\":\"Cy\"") != NULL);
    CHECK(strstr(out.data, want) != NULL);
    buf_free(&out);
    /* Refused text: nothing stored. */
    char big[MESSAGING_WEBCHAT_TEXT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    static const char *const bad[] = {"", "bell\a", "\xff", "\xed\xa0\x80", "\xc0\xaf", "del\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(messaging_webchat_post(W.m, &s, bad[i], NULL, id, &dup, &e), ERR_INVALID);
        CHECK_EQ_STR(err_slug(&e), "invalid_message");
    }
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, big, NULL, id, &dup, &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, "ok", "bad id", id, &dup, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_client_id");
    CHECK_EQ_INT(messaging_webchat_post(W.m, &s, NULL, NULL, id, &dup, &e), ERR_INVALID);
    buf_reset(&out);
    CHECK_EQ_INT(claim_all(&out, W.ta), 0);
    buf_free(&out);
    /* History is empty until the pipeline has recorded a message. */
    struct buf h = {0};
    CHECK_EQ_INT(messaging_webchat_history(W.m, &s, 50, &h, &e), 0);
    buf_putc(&h, '\0');
    CHECK_EQ_STR(h.data, "[]");
    buf_free(&h);
    messaging_account_release(ra);
}

static void test_webchat__adapter(void)
{
    const struct channel_adapter *ad = channel_find("webchat");
    struct channel_send msg;
    struct channel_send_result res;
    struct channel_webhook wh;
    struct err e = {0};
    CHECK(ad != NULL);
    if (!ad)
        return;
    memset(&msg, 0, sizeof msg);
    msg.to = "wcs_x";
    msg.text = "Hi";
    msg.idempotency_key = "msg_123";
    CHECK_EQ_INT(ad->send(NULL, NULL, &msg, &res, &e), 0);
    CHECK_EQ_STR(res.provider_message_id, "msg_123");
    CHECK_EQ_STR(res.status, "sent");
    msg.text = NULL;
    CHECK_EQ_INT(ad->send(NULL, NULL, &msg, &res, &e), ERR_INVALID);
    CHECK_EQ_INT(res.permanent, 1);
    memset(&wh, 0, sizeof wh);
    CHECK_EQ_INT(ad->verify(&wh, NULL, &e), ERR_FORBIDDEN);
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct err e = {0};
    struct store_migration_info info;
    uint8_t master[CRYPTO_KEY_BYTES];
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    crypto_init();
    if (db_setup(backend, "webchat") != 0)
        return 1;
    if (store_migrate(T.db, &info, &e) != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        goto out;
    }
    crypto_random(master, sizeof master);
    if (ops_keyring_open(&W.keys, T.db, master, &e) != 0) {
        fprintf(stderr, "keyring: %s\n", e.msg);
        goto out;
    }
    struct store_tenant ta = {.name = "a"}, tb = {.name = "b"};
    crypto_random_id(ta.id, sizeof ta.id, "ten");
    crypto_random_id(tb.id, sizeof tb.id, "ten");
    if (store_tenant_create(T.db, &ta, &e) != 0 || store_tenant_create(T.db, &tb, &e) != 0) {
        fprintf(stderr, "tenants: %s\n", e.msg);
        goto out;
    }
    snprintf(W.ta, sizeof W.ta, "%s", ta.id);
    snprintf(W.tb, sizeof W.tb, "%s", tb.id);
    W.cfg.public_url = "https://sb.example.com/";
    W.cfg.twilio_api_base = "http://127.0.0.1:9";
    W.cfg.graph_api_base = "http://127.0.0.1:9";
    W.cfg.provider_timeout_ms = 3000;
    struct queue_options qo = {.workers = 1};
    if (queue_new(&W.queue, T.db, &qo, &e) != 0) {
        fprintf(stderr, "queue_new: %s\n", e.msg);
        goto out;
    }
    /* The queue is never started: the test claims the jobs itself. */
    struct messaging_options opt = {.cfg = &W.cfg, .db = T.db, .keys = W.keys, .queue = W.queue};
    if (messaging_new(&W.m, &opt, &e) != 0) {
        fprintf(stderr, "messaging_new: %s\n", e.msg);
        goto out;
    }
    TEST_RUN(test_webchat__settings);
    TEST_RUN(test_webchat__origins_and_config);
    TEST_RUN(test_webchat__sessions);
    TEST_RUN(test_webchat__email_links_one_contact);
    TEST_RUN(test_webchat__post);
    TEST_RUN(test_webchat__adapter);
    rc = 0;
out:
    messaging_free(W.m);
    queue_free(W.queue);
    ops_keyring_free(W.keys);
    db_teardown();
    if (rc)
        return rc;
    TEST_DONE();
}
