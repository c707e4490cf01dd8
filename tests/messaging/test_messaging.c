/*
 * test_messaging: channel accounts, their snapshot cache, provider templates
 * and tenant settings through messaging.h, on a fresh database: creation
 * with validation per provider, credentials sealed atomically with the row
 * (a failure injected in the secrets table leaves nothing behind), soft
 * removal, the cache (hit without queries, cached misses, expiry, immediate
 * removal, bounded negative entries, concurrent acquire/release from
 * several threads), template sync against tests/fakes/fake_meta.py, and
 * settings with defaults and limits. Every change is checked in the audit log.
 *
 * Run as `test_messaging sqlite` or `test_messaging postgres` (SB_TEST_PG_URL).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "messaging/messaging.h"
#include "test.h"
#include "test_db.h"
#include "test_fake.h"

#define TTL_MS 300
#define SID "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN "tw-auth-SECRET-5e1c"
#define WA_TOKEN "EAAtok-SECRET-77aa"
#define WA_APPSECRET "appsecret-SECRET-31d0"
#define WA_VERIFY "verify-SECRET-0c9b"
#define WABA "102290129340398"

static struct {
    struct config cfg;
    struct ops_keyring *keys;
    struct messaging *m;
    struct fake meta;
    char graph[128];
    char ta[CORE_ID_MAX], tb[CORE_ID_MAX];
} M;

static uint64_t queries(void)
{
    uint64_t q = 0;
    store_stats(T.db, &q, NULL);
    return q;
}

static int twilio(const char *tenant, const char *name, struct messaging_account *out)
{
    struct channel_kv kv[] = {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"from", "+14155550100"}};
    struct err e = {0};
    int rc = messaging_account_create(M.m, tenant, "twilio", name, kv, 3, "user", "usr_test", "10.0.0.1", out, NULL,
                                      &e);
    if (rc)
        fprintf(stderr, "twilio create: %s\n", e.msg);
    return rc;
}

static int whatsapp(const char *tenant, int with_waba, struct messaging_account *out,
                    struct messaging_sync_report *sync)
{
    struct channel_kv kv[] = {{"phone_number_id", "106540352242922"}, {"access_token", WA_TOKEN},
                              {"app_secret", WA_APPSECRET},      {"verify_token", WA_VERIFY},
                              {"waba_id", WABA}};
    struct err e = {0};
    int rc = messaging_account_create(M.m, tenant, "whatsapp", "WA", kv, with_waba ? 5 : 4, "user", "usr_test", "",
                                      out, sync, &e);
    if (rc)
        fprintf(stderr, "whatsapp create: %s\n", e.msg);
    return rc;
}

struct collect {
    struct messaging_account a[16];
    int n;
};

static int collect_cb(void *ud, const struct messaging_account *a)
{
    struct collect *c = ud;
    if (c->n < 16)
        c->a[c->n] = *a;
    c->n++;
    return 0;
}

static int count_accounts(const char *tenant)
{
    struct collect c = {.n = 0};
    struct err e = {0};
    CHECK_EQ_INT(messaging_account_list(M.m, tenant, collect_cb, &c, &e), 0);
    return c.n;
}

struct audit_find {
    const char *action;
    const char *target;
    int found;
    int leaked;
};

static int audit_cb(void *ud, const struct store_audit *row)
{
    struct audit_find *f = ud;
    if (strcmp(row->action, f->action) == 0 && (!f->target || strcmp(row->target, f->target) == 0))
        f->found++;
    if (strstr(row->details, "SECRET"))
        f->leaked++;
    return 0;
}

static int audited(const char *tenant, const char *action, const char *target)
{
    struct audit_find f = {action, target, 0, 0};
    struct err e = {0};
    CHECK_EQ_INT(ops_audit_list(T.db, tenant, 0, 0, 0, 0, audit_cb, &f, &e), 0);
    CHECK_EQ_INT(f.leaked, 0);
    return f.found;
}

/* ------------------------------------------------------------- accounts */

static void test_messaging__create_list_json(void)
{
    struct messaging_account tw, wa;
    struct err e = {0};
    int before = count_accounts(M.ta);

    CHECK_EQ_INT(twilio(M.ta, "Main line", &tw), 0);
    CHECK(strncmp(tw.id, "cha_", 4) == 0);
    CHECK_EQ_STR(tw.tenant_id, M.ta);
    CHECK_EQ_STR(tw.provider, "twilio");
    CHECK_EQ_STR(tw.channel, "sms");
    CHECK_EQ_STR(tw.name, "Main line");
    CHECK_EQ_STR(tw.address, "+14155550100");
    CHECK(strlen(tw.account_key) >= 32); /* 192 random bits */
    CHECK(strspn(tw.account_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          strlen(tw.account_key));
    CHECK(tw.created_at > 0 && tw.removed_at == 0);
    CHECK_EQ_INT(whatsapp(M.ta, 0, &wa, NULL), 0);
    CHECK_EQ_STR(wa.channel, "whatsapp");
    CHECK_EQ_STR(wa.address, "106540352242922");
    CHECK(strcmp(wa.account_key, tw.account_key) != 0);

    /* Listed oldest first, in the tenant only. */
    struct collect c = {.n = 0};
    CHECK_EQ_INT(messaging_account_list(M.m, M.ta, collect_cb, &c, &e), 0);
    CHECK_EQ_INT(c.n, before + 2);
    if (c.n == before + 2) {
        CHECK_EQ_STR(c.a[before].id, tw.id);
        CHECK_EQ_STR(c.a[before + 1].id, wa.id);
    }
    int other = count_accounts(M.tb);
    CHECK_EQ_INT(twilio(M.tb, "B", NULL), 0);
    CHECK_EQ_INT(count_accounts(M.tb), other + 1);
    CHECK_EQ_INT(count_accounts(M.ta), before + 2);

    /* The credentials are one sealed secret, "channel/<id>". */
    char name[64], *plain = NULL;
    size_t n = 0;
    snprintf(name, sizeof name, "channel/%s", tw.id);
    CHECK_EQ_INT(ops_secret_get(M.keys, T.db, M.ta, name, &plain, &n, &e), 0);
    CHECK(plain && strstr(plain, "\"auth_token\":\"" TW_TOKEN "\"") && strstr(plain, SID));
    free(plain);
    char *sealed = NULL;
    CHECK_EQ_INT(store_secret_get(T.db, M.ta, name, &sealed, &e), 0);
    CHECK(sealed && strncmp(sealed, "sb1:", 4) == 0 && !strstr(sealed, TW_TOKEN));
    free(sealed);

    /* Audited, without credentials. */
    CHECK_EQ_INT(audited(M.ta, "channel.create", tw.id), 1);

    /* The public JSON: webhook URLs under SB_PUBLIC_URL, never a credential. */
    struct buf b = {0};
    cJSON *j = NULL;
    messaging_account_json(M.m, &b, &tw, NULL);
    CHECK(!strstr(b.data, TW_TOKEN) && !strstr(b.data, SID));
    CHECK_EQ_INT(json_parse(&j, b.data, b.len, &e), 0);
    char url[256];
    snprintf(url, sizeof url, "https://sb.example.com/webhooks/twilio/%s", tw.account_key);
    const cJSON *wu = cJSON_GetObjectItemCaseSensitive(j, "webhook_urls");
    CHECK_EQ_STR(json_str(wu, "inbound"), url);
    CHECK_EQ_STR(json_str(wu, "status_callback"), url);
    CHECK_EQ_STR(json_str(j, "id"), tw.id);
    CHECK_EQ_STR(json_str(j, "channel"), "sms");
    CHECK_EQ_STR(json_str(j, "account_key"), tw.account_key);
    CHECK_EQ_STR(json_str(j, "address"), "+14155550100");
    CHECK(json_str(j, "created_at") != NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(j, "templates") == NULL);
    cJSON_Delete(j);
    buf_reset(&b);
    messaging_account_json(M.m, &b, &wa, NULL);
    CHECK(!strstr(b.data, WA_VERIFY) && !strstr(b.data, WA_TOKEN) && !strstr(b.data, WA_APPSECRET));
    CHECK_EQ_INT(json_parse(&j, b.data, b.len, &e), 0);
    wu = cJSON_GetObjectItemCaseSensitive(j, "webhook_urls");
    snprintf(url, sizeof url, "https://sb.example.com/webhooks/whatsapp/%s", wa.account_key);
    CHECK_EQ_STR(json_str(wu, "callback"), url);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(wu, "verify_token_set")));
    cJSON_Delete(j);
    buf_free(&b);
}

struct bad_case {
    const char *provider;
    struct channel_kv kv[6];
    size_t n;
    const char *want; /* in the message */
};

static void test_messaging__validation(void)
{
    static const struct bad_case cases[] = {
        {"sms", {{"account_sid", SID}}, 1, "unknown provider"},
        {"twilio", {{"account_sid", SID}, {"from", "+14155550100"}}, 2, "twilio needs auth_token"},
        {"twilio", {{"account_sid", SID}, {"auth_token", TW_TOKEN}}, 2, "from or messaging_service_sid"},
        {"twilio", {{"auth_token", TW_TOKEN}}, 1, "account_sid, from or messaging_service_sid"},
        {"twilio", {{"account_sid", "AC123"}, {"auth_token", TW_TOKEN}, {"from", "+14155550100"}}, 3, "account_sid"},
        {"twilio", {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"from", "4155550100"}}, 3, "E.164"},
        {"twilio", {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"messaging_service_sid", "MGzz"}}, 3, "MG"},
        {"twilio", {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"from", "+14155550100"}, {"colour", "red"}}, 4,
         "unknown setting 'colour'"},
        {"twilio", {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"auth_token", "x"}, {"from", "+14155550100"}}, 4,
         "given twice"},
        {"twilio", {{"account_sid", SID}, {"auth_token", ""}, {"from", "+14155550100"}}, 3, "auth_token is empty"},
        {"twilio", {{"account_sid", SID}, {"auth_token", "a\nb"}, {"from", "+14155550100"}}, 3, "control character"},
        {"whatsapp", {{"phone_number_id", "1065"}, {"access_token", WA_TOKEN}}, 2, "app_secret, verify_token"},
        {"whatsapp",
         {{"phone_number_id", "+1065"}, {"access_token", WA_TOKEN}, {"app_secret", "s"}, {"verify_token", "v"}},
         4,
         "phone_number_id"},
        {"whatsapp",
         {{"phone_number_id", "1065"},
          {"access_token", WA_TOKEN},
          {"app_secret", "s"},
          {"verify_token", "v"},
          {"waba_id", "abc"}},
         5,
         "waba_id"},
        {"whatsapp",
         {{"phone_number_id", "1065"},
          {"access_token", WA_TOKEN},
          {"app_secret", "s"},
          {"verify_token", "v"},
          {"from", "+14155550100"}},
         5,
         "unknown setting 'from' for whatsapp"},
    };
    int before = count_accounts(M.ta);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct err e = {0};
        struct messaging_account a;
        int rc = messaging_account_create(M.m, M.ta, cases[i].provider, "x", cases[i].kv, cases[i].n, "user", "u",
                                          "", &a, NULL, &e);
        CHECK_EQ_INT(rc, ERR_INVALID);
        CHECK_EQ_STR(err_slug(&e), "invalid_channel_settings");
        if (!strstr(e.msg, cases[i].want))
            fprintf(stderr, "case %zu: message \"%s\" lacks \"%s\"\n", i, e.msg, cases[i].want);
        CHECK(strstr(e.msg, cases[i].want) != NULL);
        CHECK(!strstr(e.msg, "SECRET")); /* values are never echoed */
    }
    CHECK_EQ_INT(count_accounts(M.ta), before);

    /* A messaging service instead of a From number is the sender address. */
    struct channel_kv svc[] = {{"account_sid", SID}, {"auth_token", TW_TOKEN},
                               {"messaging_service_sid", "MG0123456789abcdef0123456789abcdef"}};
    struct messaging_account a;
    struct err e = {0};
    CHECK_EQ_INT(messaging_account_create(M.m, M.ta, "twilio", NULL, svc, 3, NULL, NULL, NULL, &a, NULL, &e), 0);
    CHECK_EQ_STR(a.address, "MG0123456789abcdef0123456789abcdef");
    CHECK_EQ_STR(a.name, "");

    /* An unknown tenant: not found, nothing stored. */
    struct channel_kv ok[] = {{"account_sid", SID}, {"auth_token", TW_TOKEN}, {"from", "+14155550100"}};
    CHECK_EQ_INT(messaging_account_create(M.m, "ten_nobody", "twilio", "x", ok, 3, NULL, NULL, NULL, &a, NULL, &e),
                 ERR_NOTFOUND);
    CHECK_EQ_INT(count_accounts("ten_nobody"), 0);
    /* A name with a control character. */
    CHECK_EQ_INT(messaging_account_create(M.m, M.ta, "twilio", "a\tb", ok, 3, NULL, NULL, NULL, &a, NULL, &e),
                 ERR_INVALID);
}

/* A trigger makes every write to the secrets table fail. */
static int secrets_fail(int on, const char *when)
{
    char sql[512];
    if (T.pg) {
        if (!on)
            return raw_sql("DROP TRIGGER IF EXISTS sb_test_fail ON secrets");
        snprintf(sql, sizeof sql,
                 "CREATE OR REPLACE FUNCTION sb_test_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected';"
                 " END $$ LANGUAGE plpgsql; CREATE TRIGGER sb_test_fail BEFORE %s ON secrets FOR EACH ROW"
                 " EXECUTE FUNCTION sb_test_fail()",
                 when);
        return raw_sql(sql);
    }
    if (!on)
        return raw_sql("DROP TRIGGER IF EXISTS sb_test_fail");
    snprintf(sql, sizeof sql, "CREATE TRIGGER sb_test_fail BEFORE %s ON secrets BEGIN SELECT RAISE(ABORT, 'injected'); END",
             when);
    return raw_sql(sql);
}

static void test_messaging__atomic_with_credentials(void)
{
    struct messaging_account a;
    struct err e = {0};
    int before = count_accounts(M.ta);

    /* The secret cannot be written: no account either. */
    CHECK_EQ_INT(secrets_fail(1, "INSERT"), 0);
    CHECK(twilio(M.ta, "doomed", &a) != 0);
    CHECK_EQ_INT(secrets_fail(0, NULL), 0);
    CHECK_EQ_INT(count_accounts(M.ta), before);

    /* The secret cannot be deleted: the account stays, usable. */
    CHECK_EQ_INT(twilio(M.ta, "keeper", &a), 0);
    CHECK_EQ_INT(secrets_fail(1, "DELETE"), 0);
    CHECK(messaging_account_remove(M.m, M.ta, a.id, "user", "u", "", &e) != 0);
    CHECK_EQ_INT(secrets_fail(0, NULL), 0);
    CHECK_EQ_INT(count_accounts(M.ta), before + 1);
    const struct messaging_account_ref *ref = NULL;
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &ref, &e), 0);
    CHECK_EQ_STR(ref ? channel_creds_get(&ref->creds, "auth_token") : NULL, TW_TOKEN);
    messaging_account_release(ref);

    /* Removal: soft, credentials gone with it, audited. */
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, a.id, "user", "u", "", &e), 0);
    CHECK_EQ_INT(count_accounts(M.ta), before);
    struct store_account sa;
    CHECK_EQ_INT(store_account_get(T.db, M.ta, a.id, &sa, &e), 0);
    CHECK(sa.removed_at > 0);
    char name[64], *sealed = NULL;
    snprintf(name, sizeof name, "channel/%s", a.id);
    CHECK_EQ_INT(store_secret_get(T.db, M.ta, name, &sealed, &e), ERR_NOTFOUND);
    free(sealed);
    CHECK_EQ_INT(audited(M.ta, "channel.remove", a.id), 1);
    /* Twice, or from another tenant: not found. */
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, a.id, "user", "u", "", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(twilio(M.ta, "mine", &a), 0);
    CHECK_EQ_INT(messaging_account_remove(M.m, M.tb, a.id, "user", "u", "", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(count_accounts(M.ta), before + 1);
}

/* ---------------------------------------------------------------- cache */

static void test_messaging__cache(void)
{
    struct messaging_account a;
    const struct messaging_account_ref *r1 = NULL, *r2 = NULL, *r3 = NULL;
    struct messaging_cache_stats st0, st;
    struct err e = {0};

    CHECK_EQ_INT(twilio(M.ta, "cached", &a), 0);
    /* Miss, then hits without a single query. */
    messaging_account_cache_stats(M.m, &st0);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r1, &e), 0);
    messaging_account_cache_stats(M.m, &st);
    CHECK_EQ_INT(st.loads, st0.loads + 1);
    uint64_t q0 = queries();
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r2, &e), 0);
    CHECK_EQ_INT(queries(), q0);
    CHECK(r1 == r2); /* the same immutable snapshot */
    if (r1) {
        CHECK_EQ_STR(r1->acct.id, a.id);
        CHECK_EQ_STR(r1->acct.tenant_id, M.ta);
        CHECK(r1->adapter == channel_find("twilio"));
        CHECK_EQ_STR(channel_creds_get(&r1->creds, "auth_token"), TW_TOKEN);
        CHECK_EQ_STR(channel_creds_get(&r1->creds, "account_sid"), SID);
        CHECK_EQ_STR(channel_creds_get(&r1->creds, "from"), "+14155550100");
        CHECK_EQ_INT(r1->creds.n, 3);
    }
    messaging_account_release(r2);
    /* Another provider's path: not found (the entry stays cached). */
    CHECK_EQ_INT(messaging_account_by_key(M.m, "whatsapp", a.account_key, &r2, &e), ERR_NOTFOUND);
    CHECK(r2 == NULL);
    CHECK_EQ_INT(queries(), q0);

    /* By tenant and id: its own index; another tenant's id is not found. */
    CHECK_EQ_INT(messaging_account_get(M.m, M.ta, a.id, &r2, &e), 0);
    CHECK(r2 && strcmp(r2->acct.account_key, a.account_key) == 0);
    messaging_account_release(r2);
    q0 = queries();
    CHECK_EQ_INT(messaging_account_get(M.m, M.ta, a.id, &r2, &e), 0);
    CHECK_EQ_INT(queries(), q0);
    messaging_account_release(r2);
    CHECK_EQ_INT(messaging_account_get(M.m, M.tb, a.id, &r2, &e), ERR_NOTFOUND);

    /* Unknown keys are cached too; malformed ones never reach the database. */
    char unknown[40];
    crypto_random_token(unknown, sizeof unknown, 24);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", unknown, &r2, &e), ERR_NOTFOUND);
    q0 = queries();
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", unknown, &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", "short", &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", "has space in it, so not a key", &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "telegram", a.account_key, &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(queries(), q0);

    /* Another process changes the row: seen after the TTL, not before. */
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE channel_accounts SET name = 'renamed' WHERE id = '%s'", a.id);
    CHECK_EQ_INT(raw_sql(sql), 0);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r2, &e), 0);
    CHECK_EQ_STR(r2 ? r2->acct.name : NULL, "cached");
    messaging_account_release(r2);
    usleep((TTL_MS + 100) * 1000);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r2, &e), 0);
    CHECK_EQ_STR(r2 ? r2->acct.name : NULL, "renamed");
    /* r1 (the old snapshot) is still whole while held. */
    CHECK_EQ_STR(r1 ? r1->acct.name : NULL, "cached");
    CHECK_EQ_STR(r1 ? channel_creds_get(&r1->creds, "auth_token") : NULL, TW_TOKEN);
    messaging_account_release(r1);
    messaging_account_release(r2);

    /* Removed elsewhere: served until the TTL, then not found. */
    struct messaging_account b;
    CHECK_EQ_INT(twilio(M.ta, "elsewhere", &b), 0);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", b.account_key, &r2, &e), 0);
    messaging_account_release(r2);
    snprintf(sql, sizeof sql, "UPDATE channel_accounts SET removed_at = 1 WHERE id = '%s'", b.id);
    CHECK_EQ_INT(raw_sql(sql), 0);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", b.account_key, &r2, &e), 0);
    messaging_account_release(r2);
    usleep((TTL_MS + 100) * 1000);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", b.account_key, &r2, &e), ERR_NOTFOUND);

    /* Removed through this process: at once, by key and by id, while a
     * snapshot taken before stays valid until released. */
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r3, &e), 0);
    CHECK_EQ_INT(messaging_account_get(M.m, M.ta, a.id, &r2, &e), 0);
    messaging_account_release(r2);
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, a.id, "user", "u", "", &e), 0);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a.account_key, &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_account_get(M.m, M.ta, a.id, &r2, &e), ERR_NOTFOUND);
    CHECK_EQ_STR(r3 ? channel_creds_get(&r3->creds, "auth_token") : NULL, TW_TOKEN);
    messaging_account_release(r3);
    messaging_account_release(NULL);

    /* A spray of random keys: each costs one query, memory stays bounded. */
    messaging_account_cache_stats(M.m, &st0);
    for (int i = 0; i < 6000; i++) {
        char k[40];
        crypto_random_token(k, sizeof k, 24);
        CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", k, &r2, &e), ERR_NOTFOUND);
    }
    messaging_account_cache_stats(M.m, &st);
    CHECK_EQ_INT(st.loads, st0.loads + 6000);
    CHECK(st.negative <= 4096 + 1024);
    CHECK(st.negative > 1000);
    CHECK(st.entries < 100);
}

/* Many threads acquiring and releasing while accounts come and go and the
 * entries expire under them (ASan checks the lifetimes). */
struct hammer {
    const char *keys[3];
    const char *ids[3];
    int found;
    int errors;
    volatile int *stop;
};

static void *hammer_run(void *ud)
{
    struct hammer *h = ud;
    unsigned seed = (unsigned)(uintptr_t)h;
    while (!*h->stop) {
        const struct messaging_account_ref *r = NULL;
        struct err e = {0};
        int i = (int)(rand_r(&seed) % 3);
        int rc = (rand_r(&seed) & 1) ? messaging_account_by_key(M.m, "twilio", h->keys[i], &r, &e)
                                     : messaging_account_get(M.m, M.ta, h->ids[i], &r, &e);
        if (rc == 0) {
            if (strcmp(r->acct.account_key, h->keys[i]) != 0 ||
                strcmp(channel_creds_get(&r->creds, "auth_token"), TW_TOKEN) != 0)
                h->errors++;
            h->found++;
            messaging_account_release(r);
        } else if (rc != ERR_NOTFOUND) {
            h->errors++;
        }
    }
    return NULL;
}

static void test_messaging__cache_concurrent(void)
{
    struct messaging_account a[3];
    volatile int stop = 0;
    struct hammer h[6];
    pthread_t th[6];

    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(twilio(M.ta, "hammered", &a[i]), 0);
    for (int t = 0; t < 6; t++) {
        h[t] = (struct hammer){.stop = &stop};
        for (int i = 0; i < 3; i++) {
            h[t].keys[i] = a[i].account_key;
            h[t].ids[i] = a[i].id;
        }
        pthread_create(&th[t], NULL, hammer_run, &h[t]);
    }
    /* Meanwhile: one account is removed, and the others' entries expire
     * and reload a few times. */
    struct err e = {0};
    usleep(200 * 1000);
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, a[2].id, "user", "u", "", &e), 0);
    usleep((TTL_MS * 3) * 1000);
    stop = 1;
    int found = 0, errors = 0;
    for (int t = 0; t < 6; t++) {
        pthread_join(th[t], NULL);
        found += h[t].found;
        errors += h[t].errors;
    }
    CHECK_EQ_INT(errors, 0);
    CHECK(found > 1000);
    const struct messaging_account_ref *r = NULL;
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a[2].account_key, &r, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_account_by_key(M.m, "twilio", a[0].account_key, &r, &e), 0);
    messaging_account_release(r);
}

/* The credentials stay readable after a key rotation (they are an ordinary
 * secret), and a removed account's do not come back. */
static void test_messaging__rotation(void)
{
    struct messaging_account a, gone;
    struct err e = {0};
    char id[32], name[64], *sealed = NULL;
    int64_t n = 0;

    CHECK_EQ_INT(twilio(M.ta, "rotated", &a), 0);
    CHECK_EQ_INT(twilio(M.ta, "gone", &gone), 0);
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, gone.id, "user", "u", "", &e), 0);
    CHECK_EQ_INT(ops_keys_rotate(M.keys, T.db, id, &n, &e), 0);
    CHECK(n >= 1);
    snprintf(name, sizeof name, "channel/%s", a.id);
    CHECK_EQ_INT(store_secret_get(T.db, M.ta, name, &sealed, &e), 0);
    char kid[32] = "";
    if (sealed)
        crypto_sealed_key_id(kid, sizeof kid, sealed);
    CHECK_EQ_STR(kid, id);
    free(sealed);
    snprintf(name, sizeof name, "channel/%s", gone.id);
    sealed = NULL;
    CHECK_EQ_INT(store_secret_get(T.db, M.ta, name, &sealed, &e), ERR_NOTFOUND);
    free(sealed);
    /* A fresh module (no cache) opens them with the rotated ring. */
    struct messaging *m2 = NULL;
    struct messaging_options opt = {.cfg = &M.cfg, .db = T.db, .keys = M.keys};
    CHECK_EQ_INT(messaging_new(&m2, &opt, &e), 0);
    const struct messaging_account_ref *r = NULL;
    CHECK_EQ_INT(messaging_account_by_key(m2, "twilio", a.account_key, &r, &e), 0);
    CHECK_EQ_STR(r ? channel_creds_get(&r->creds, "auth_token") : NULL, TW_TOKEN);
    messaging_account_release(r);
    messaging_free(m2);
}

/* ------------------------------------------------------------ templates */

struct tpl_collect {
    char names[16][64];
    char status[16][24];
    int n;
};

static int tpl_cb(void *ud, const struct store_template *t, const struct store_template_version *v)
{
    (void)v;
    struct tpl_collect *c = ud;
    if (c->n < 16) {
        snprintf(c->names[c->n], 64, "%.40s/%.15s", t->name, t->language);
        snprintf(c->status[c->n], 24, "%s", t->provider_status);
    }
    c->n++;
    return 0;
}

static void test_messaging__templates(void)
{
    struct messaging_account wa, nowaba, tw;
    struct messaging_sync_report sync;
    struct store_template t;
    struct store_template_version tv = {0};
    struct err e = {0};
    int count = 0;

    if (!M.meta.pid) {
        CHECK(!"fake_meta is not running");
        return;
    }
    /* Created with a waba_id: synced at once (the fake's one template). */
    fake_mode(&M.meta, "{\"mode\":\"ok\",\"templates\":[{\"name\":\"order_update\",\"language\":\"en_US\","
                       "\"status\":\"APPROVED\",\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\","
                       "\"text\":\"Hi {{1}}, your order {{2}} has shipped.\"}]}]}");
    CHECK_EQ_INT(whatsapp(M.ta, 1, &wa, &sync), 0);
    CHECK_EQ_INT(sync.attempted, 1);
    CHECK_EQ_INT(sync.rc, 0);
    CHECK_EQ_INT(sync.count, 1);
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "order_update", "en_US", &t, &tv, &e), 0);
    CHECK_EQ_STR(t.provider_status, "approved");
    CHECK_EQ_STR(tv.body, "Hi {{1}}, your order {{2}} has shipped.");
    CHECK_EQ_STR(t.category, "UTILITY");
    char first_id[CORE_ID_MAX];
    snprintf(first_id, sizeof first_id, "%s", t.id);
    struct buf b = {0};
    messaging_account_json(M.m, &b, &wa, &sync);
    CHECK(strstr(b.data, "\"templates\":{\"synced\":1}") != NULL);
    buf_free(&b);

    /* A bigger set over several pages. */
    fake_mode(&M.meta, "{\"page_size\":2,\"templates\":["
                       "{\"name\":\"order_update\",\"language\":\"en_US\",\"status\":\"APPROVED\",\"category\":"
                       "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{1}}, order {{2}} shipped.\"}]},"
                       "{\"name\":\"order_update\",\"language\":\"pt_BR\",\"status\":\"PENDING\",\"category\":"
                       "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Oi {{1}}\"}]},"
                       "{\"name\":\"promo\",\"language\":\"en_US\",\"status\":\"REJECTED\",\"category\":"
                       "\"MARKETING\",\"components\":[]}]}");
    CHECK_EQ_INT(messaging_template_sync(M.m, M.ta, wa.id, &count, &e), 0);
    CHECK_EQ_INT(count, 3);
    struct tpl_collect c = {.n = 0};
    CHECK_EQ_INT(messaging_template_list(M.m, M.ta, wa.id, tpl_cb, &c, &e), 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_STR(c.names[0], "order_update/en_US");
    CHECK_EQ_STR(c.names[1], "order_update/pt_BR");
    CHECK_EQ_STR(c.status[1], "pending");
    CHECK_EQ_STR(c.names[2], "promo/en_US");
    CHECK_EQ_STR(c.status[2], "rejected");
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "order_update", "en_US", &t, &tv, &e), 0);
    CHECK_EQ_STR(tv.body, "Hi {{1}}, order {{2}} shipped.");
    CHECK_EQ_STR(t.id, first_id); /* the same row, updated */

    /* Meta approves one and drops another: updated, and kept as deleted. */
    fake_mode(&M.meta, "{\"page_size\":null,\"templates\":["
                       "{\"name\":\"order_update\",\"language\":\"en_US\",\"status\":\"APPROVED\",\"category\":"
                       "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Hi {{1}}, order {{2}} shipped.\"}]},"
                       "{\"name\":\"order_update\",\"language\":\"pt_BR\",\"status\":\"APPROVED\",\"category\":"
                       "\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Oi {{1}}\"}]}]}");
    usleep(5000); /* a later millisecond than the previous sync */
    CHECK_EQ_INT(messaging_template_sync(M.m, M.ta, wa.id, &count, &e), 0);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "order_update", "pt_BR", &t, &tv, &e), 0);
    CHECK_EQ_STR(t.provider_status, "approved");
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "promo", "en_US", &t, &tv, &e), 0);
    CHECK_EQ_STR(t.provider_status, "deleted");
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "nope", "en_US", &t, &tv, &e), ERR_NOTFOUND);

    /* The provider fails: an error, and nothing changes. */
    fake_mode(&M.meta, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(messaging_template_sync(M.m, M.ta, wa.id, &count, &e), ERR_UPSTREAM);
    fake_mode(&M.meta, "{\"mode\":\"ok\"}");
    CHECK_EQ_INT(messaging_template_get(M.m, M.ta, wa.id, "order_update", "pt_BR", &t, &tv, &e), 0);
    CHECK_EQ_STR(t.provider_status, "approved");

    /* Other tenants, accounts without templates. */
    CHECK_EQ_INT(messaging_template_sync(M.m, M.tb, wa.id, &count, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_template_list(M.m, M.tb, wa.id, tpl_cb, &c, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(messaging_template_get(M.m, M.tb, wa.id, "order_update", "pt_BR", &t, &tv, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(whatsapp(M.ta, 0, &nowaba, &sync), 0);
    CHECK_EQ_INT(sync.attempted, 0);
    CHECK_EQ_INT(messaging_template_sync(M.m, M.ta, nowaba.id, &count, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "waba_id_required");
    CHECK_EQ_INT(twilio(M.ta, "sms", &tw), 0);
    CHECK_EQ_INT(messaging_template_sync(M.m, M.ta, tw.id, &count, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "templates_unsupported");

    /* Meta unreachable at creation: the account exists, with a warning. */
    fake_mode(&M.meta, "{\"mode\":\"500\"}");
    struct messaging_account late;
    CHECK_EQ_INT(whatsapp(M.ta, 1, &late, &sync), 0);
    fake_mode(&M.meta, "{\"mode\":\"ok\"}");
    CHECK_EQ_INT(sync.attempted, 1);
    CHECK_EQ_INT(sync.rc, ERR_UPSTREAM);
    const struct messaging_account_ref *r = NULL;
    CHECK_EQ_INT(messaging_account_get(M.m, M.ta, late.id, &r, &e), 0);
    messaging_account_release(r);
    b = (struct buf){0};
    messaging_account_json(M.m, &b, &late, &sync);
    cJSON *j = NULL;
    CHECK_EQ_INT(json_parse(&j, b.data, b.len, &e), 0);
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(j, "templates");
    int64_t synced = -1;
    CHECK_EQ_INT(json_int(tj, "synced", &synced), 0);
    CHECK_EQ_INT(synced, 0);
    CHECK(json_str(tj, "warning") && strstr(json_str(tj, "warning"), "templates not synced"));
    cJSON_Delete(j);
    buf_free(&b);
    /* Removed accounts have no templates to list. */
    CHECK_EQ_INT(messaging_account_remove(M.m, M.ta, wa.id, "user", "u", "", &e), 0);
    CHECK_EQ_INT(messaging_template_list(M.m, M.ta, wa.id, tpl_cb, &c, &e), ERR_NOTFOUND);
    store_template_version_clear(&tv);
}

/* ------------------------------------------------------------- settings */

static void test_messaging__settings(void)
{
    struct err e = {0};
    char *v = NULL;

    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "help_text", &v, &e), 0);
    CHECK_EQ_STR(v, "Reply STOP to unsubscribe, START to resubscribe.");
    free(v);
    CHECK_EQ_INT(messaging_setting_set(M.m, M.ta, "help_text", "Acme: call 555-0100. Reply STOP to end.", "user",
                                       "usr_x", "10.0.0.2", &e),
                 0);
    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "help_text", &v, &e), 0);
    CHECK_EQ_STR(v, "Acme: call 555-0100. Reply STOP to end.");
    free(v);
    /* Per tenant. */
    CHECK_EQ_INT(messaging_setting_get(M.m, M.tb, "help_text", &v, &e), 0);
    CHECK_EQ_STR(v, "Reply STOP to unsubscribe, START to resubscribe.");
    free(v);
    CHECK_EQ_INT(audited(M.ta, "settings.update", "help_text"), 1);

    /* Limits: 320 characters (not bytes), no control characters, not empty. */
    char big[1024];
    memset(big, 'x', 321);
    big[321] = '\0';
    CHECK_EQ_INT(messaging_setting_set(M.m, M.ta, "help_text", big, NULL, NULL, NULL, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_setting");
    big[320] = '\0';
    CHECK_EQ_INT(messaging_setting_check("help_text", big, &e), 0);
    big[0] = '\0';
    for (int i = 0; i < 320; i++)
        strcat(big, "\xc3\xa9"); /* é: 640 bytes, 320 characters */
    CHECK_EQ_INT(messaging_setting_set(M.m, M.ta, "help_text", big, NULL, NULL, NULL, &e), 0);
    strcat(big, "\xc3\xa9");
    CHECK_EQ_INT(messaging_setting_check("help_text", big, &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_setting_check("help_text", "", &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_setting_check("help_text", "a\x01", &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_setting_check("help_text", "two\nlines", &e), 0);
    CHECK_EQ_INT(messaging_setting_check("colour", "red", &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "unknown_setting");
    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "colour", &v, &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_setting_set(M.m, "ten_nobody", "help_text", "hi", NULL, NULL, NULL, &e), ERR_NOTFOUND);

    /* The JSON view, and back to the default. */
    struct buf b = {0};
    CHECK_EQ_INT(messaging_settings_json(M.m, M.ta, &b, &e), 0);
    cJSON *j = NULL;
    CHECK_EQ_INT(json_parse(&j, b.data, b.len, &e), 0);
    CHECK_EQ_INT(strlen(json_str(j, "help_text")), 640);
    cJSON_Delete(j);
    CHECK_EQ_INT(messaging_setting_set(M.m, M.ta, "help_text", NULL, NULL, NULL, NULL, &e), 0);
    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "help_text", &v, &e), 0);
    CHECK_EQ_STR(v, "Reply STOP to unsubscribe, START to resubscribe.");
    free(v);
    buf_free(&b);
}


/* Keyword lists per channel: the carriers' by default, a tenant's own after
 * a change (visible at once in this process), read from the cached snapshot
 * (no query while it is fresh), per tenant; quiet-hours settings checked. */
static void test_messaging__keywords_and_quiet_settings(void)
{
    struct err e = {0};
    struct buf b = {0};
    cJSON *j = NULL;
    uint64_t before;

    CHECK_EQ_INT(messaging_keywords_json(M.m, M.ta, &b, &e), 0);
    CHECK_EQ_INT(json_parse(&j, b.data, b.len, &e), 0);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "sms"), "default")));
    cJSON_Delete(j);
    /* Cached: reading again costs no query. */
    before = queries();
    buf_reset(&b);
    CHECK_EQ_INT(messaging_keywords_json(M.m, M.ta, &b, &e), 0);
    CHECK(queries() == before);
    /* A change is checked, stored, audited and seen at once. */
    CHECK_EQ_INT(messaging_keywords_set(M.m, M.ta, "sms", "{\"stop\":[]}", "user", "usr_x", "", &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_keywords_set(M.m, M.ta, "fax", NULL, "user", "usr_x", "", &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_channel");
    CHECK_EQ_INT(messaging_keywords_set(M.m, M.ta, "sms", "{\"stop\":[\"alto\"]}", "user", "usr_x", "", &e), 0);
    CHECK_EQ_INT(audited(M.ta, "compliance.keywords.update", "sms"), 1);
    buf_reset(&b);
    CHECK_EQ_INT(messaging_keywords_json(M.m, M.ta, &b, &e), 0);
    CHECK(strstr(b.data, "\"sms\":{\"default\":false,\"stop\":[\"ALTO\"],\"start\":[\"START\",\"YES\",\"UNSTOP\"]") !=
          NULL);
    /* The other tenant keeps the defaults. */
    buf_reset(&b);
    CHECK_EQ_INT(messaging_keywords_json(M.m, M.tb, &b, &e), 0);
    CHECK(strstr(b.data, "\"sms\":{\"default\":true,\"stop\":[\"STOP\"") != NULL);
    CHECK_EQ_INT(messaging_keywords_set(M.m, M.ta, "sms", NULL, "user", "usr_x", "", &e), 0);
    buf_reset(&b);
    CHECK_EQ_INT(messaging_keywords_json(M.m, M.ta, &b, &e), 0);
    CHECK(strstr(b.data, "\"sms\":{\"default\":true") != NULL);
    buf_free(&b);
    /* Quiet hours and the time zone. */
    CHECK_EQ_INT(messaging_setting_check("quiet_hours_start", "21:00", &e), 0);
    CHECK_EQ_INT(messaging_setting_check("quiet_hours_end", "7:00", &e), ERR_INVALID);
    CHECK_EQ_INT(messaging_setting_check("timezone", "Europe/Berlin", &e), 0);
    CHECK_EQ_INT(messaging_setting_check("timezone", "UTC", &e), 0);
    CHECK_EQ_INT(messaging_setting_check("timezone", "Europe/Nowhere", &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_setting");
    CHECK_EQ_INT(messaging_setting_check("timezone", "../../etc/passwd", &e), ERR_INVALID);
    char *v = NULL;
    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "quiet_hours_start", &v, &e), 0);
    CHECK(v == NULL); /* unset: no quiet hours */
    CHECK_EQ_INT(messaging_setting_get(M.m, M.ta, "timezone", &v, &e), 0);
    CHECK_EQ_STR(v, "UTC");
    free(v);
}

/* ------------------------------------------------------------------ env */

static void test_messaging__env(void)
{
    const struct channel_env *env = messaging_channel_env(M.m);
    CHECK_EQ_STR(env->twilio_api_base, M.cfg.twilio_api_base);
    CHECK_EQ_STR(env->graph_api_base, M.graph);
    CHECK_EQ_INT(env->timeout_ms, 3000);
    CHECK(env->curl_share != NULL);
    CHECK(env->pool != NULL);
    /* The template syncs above went through the pool and reused its connection. */
    CHECK(channel_pool_connections(env->pool) >= 1);
    CHECK(channel_pool_connections(env->pool) <= 3);
    struct err e = {0};
    struct messaging *m = NULL;
    struct messaging_options opt = {.cfg = &M.cfg, .db = T.db};
    CHECK_EQ_INT(messaging_new(&m, &opt, &e), ERR_INVALID);
    messaging_free(NULL);
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
    if (db_setup(backend, "messaging") != 0)
        return 1;
    if (store_migrate(T.db, &info, &e) != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        goto out;
    }
    crypto_random(master, sizeof master);
    if (ops_keyring_open(&M.keys, T.db, master, &e) != 0) {
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
    snprintf(M.ta, sizeof M.ta, "%s", ta.id);
    snprintf(M.tb, sizeof M.tb, "%s", tb.id);
    const char *margs[] = {"--access-token", WA_TOKEN, "--waba-id", WABA, NULL};
    if (fake_start(&M.meta, "fake_meta.py", margs) != 0)
        fprintf(stderr, "fake_meta did not start\n");
    snprintf(M.graph, sizeof M.graph, "%s/v21.0", M.meta.base);
    M.cfg.public_url = "https://sb.example.com/";
    M.cfg.twilio_api_base = "http://127.0.0.1:9";
    M.cfg.graph_api_base = M.graph;
    M.cfg.provider_timeout_ms = 3000;
    struct messaging_options opt = {.cfg = &M.cfg, .db = T.db, .keys = M.keys, .account_cache_ms = TTL_MS};
    if (messaging_new(&M.m, &opt, &e) != 0) {
        fprintf(stderr, "messaging_new: %s\n", e.msg);
        goto out;
    }
    TEST_RUN(test_messaging__create_list_json);
    TEST_RUN(test_messaging__validation);
    TEST_RUN(test_messaging__atomic_with_credentials);
    TEST_RUN(test_messaging__cache);
    TEST_RUN(test_messaging__cache_concurrent);
    TEST_RUN(test_messaging__rotation);
    TEST_RUN(test_messaging__templates);
    TEST_RUN(test_messaging__settings);
    TEST_RUN(test_messaging__env);
    TEST_RUN(test_messaging__keywords_and_quiet_settings);
    rc = 0;
out:
    messaging_free(M.m);
    fake_stop(&M.meta);
    ops_keyring_free(M.keys);
    db_teardown();
    if (rc)
        return rc;
    TEST_DONE();
}
