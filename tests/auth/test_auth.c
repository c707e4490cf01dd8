/*
 * test_auth: the role matrix, API keys (create, authenticate, revoke, tenant
 * scope), sessions (login, authenticate, logout), login failures that look
 * the same for unknown emails and wrong passwords, the login throttle,
 * tenant choice at login, the rank rules for roles, sessions ended by role
 * changes, the audit rows all of this writes (with the chain verified), and
 * the user and API key lists, which hold the given tenant's rows only.
 *
 * Run as `test_auth sqlite` (a fresh file in a temp dir) or `test_auth
 * postgres` (a fresh database sbtest_<random> on SB_TEST_PG_URL, dropped at exit).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "ops/ops.h"
#include "test.h"
#include "test_db.h"

/* ---------------------------------------------------------------- setup */

#define PW_OWNER "correct-horse-owner-1"
#define PW_SHARED "shared-secret-pw-22"

static struct auth *A;
static char ten_a[CORE_ID_MAX], ten_b[CORE_ID_MAX];
static char owner_a[CORE_ID_MAX], owner_b[CORE_ID_MAX];
static char made_keys[2][AUTH_APIKEY_MAX]; /* full keys, which no audit row may hold */

/* A principal acting in tenant with role (a dashboard user). */
static struct auth_principal actor(const char *tenant, const char *role, const char *user_id)
{
    struct auth_principal p;
    memset(&p, 0, sizeof(p));
    p.kind = AUTH_SESSION;
    snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", tenant);
    snprintf(p.role, sizeof(p.role), "%s", role);
    snprintf(p.user_id, sizeof(p.user_id), "%s", user_id);
    return p;
}

static void fixture(void)
{
    struct err e = {0};
    struct store_tenant t;
    struct store_member m;
    CHECK_EQ_INT(auth_tenant_create(A, "Tenant A", &t, &e), 0);
    CHECK(strncmp(t.id, "ten_", 4) == 0);
    snprintf(ten_a, sizeof(ten_a), "%s", t.id);
    CHECK_EQ_INT(auth_tenant_create(A, "Tenant B", &t, &e), 0);
    snprintf(ten_b, sizeof(ten_b), "%s", t.id);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "Owner@A.example", "Owner A", "owner", PW_OWNER, NULL, "", &m, &e), 0);
    CHECK(strncmp(m.user_id, "usr_", 4) == 0);
    CHECK_EQ_STR(m.email, "owner@a.example");
    snprintf(owner_a, sizeof(owner_a), "%s", m.user_id);
    CHECK_EQ_INT(auth_user_create(A, ten_b, "owner@b.example", "Owner B", "owner", PW_OWNER, NULL, "", &m, &e), 0);
    snprintf(owner_b, sizeof(owner_b), "%s", m.user_id);
}

/* ---------------------------------------------------------------- tests */

static void test_auth__matrix(void)
{
    CHECK_EQ_INT(auth_allowed("apikeys.create", "viewer"), 0);
    CHECK_EQ_INT(auth_allowed("apikeys.create", "agent"), 0);
    CHECK_EQ_INT(auth_allowed("apikeys.create", "admin"), 1);
    CHECK_EQ_INT(auth_allowed("apikeys.create", "owner"), 1);
    CHECK_EQ_INT(auth_allowed("me.read", "viewer"), 1);
    CHECK_EQ_INT(auth_allowed("audit.read", "agent"), 0);
    CHECK_EQ_INT(auth_allowed("no.such.action", "owner"), 0);
    CHECK_EQ_INT(auth_allowed("me.read", "superuser"), 0);
    CHECK_EQ_INT(auth_allowed("me.read", "own"), 0); /* no prefix matches */
    CHECK_EQ_INT(auth_allowed(NULL, "owner"), 0);
    CHECK_EQ_INT(auth_role_valid("agent"), 1);
    CHECK_EQ_INT(auth_role_valid("root"), 0);

    char *doc = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&doc, &len);
    auth_write_permissions_doc(f);
    fclose(f);
    CHECK(doc && strncmp(doc, "# Permissions\n", 14) == 0);
    CHECK(doc && strstr(doc, "switchboard gen-docs") != NULL);
    CHECK(doc && strstr(doc, "| `apikeys.create` | ✓ | ✓ |  |  |") != NULL);
    CHECK(doc && strstr(doc, "| `me.read` | ✓ | ✓ | ✓ | ✓ |") != NULL);
    for (const struct auth_rule *r = auth_matrix; r->action; r++) {
        char row[96];
        snprintf(row, sizeof(row), "| `%s` |", r->action);
        CHECK(doc && strstr(doc, row) != NULL);
    }
    free(doc);
}

static void test_auth__apikey_lifecycle(void)
{
    struct err e = {0};
    struct store_apikey k;
    struct auth_principal p;
    char key[AUTH_APIKEY_MAX];
    struct auth_principal own = actor(ten_a, "owner", owner_a);

    CHECK_EQ_INT(auth_apikey_create(A, ten_a, "admin", "ci", &own, "10.1.1.1", &k, key, &e), 0);
    CHECK(strncmp(key, "sb_live_", 8) == 0);
    CHECK_EQ_INT(strlen(key), 8 + 32);
    memcpy(made_keys[0], key, sizeof(key));
    CHECK(strncmp(k.id, "key_", 4) == 0);
    CHECK_EQ_INT(strlen(k.prefix), 12);
    CHECK(strncmp(key, k.prefix, 12) == 0);

    CHECK_EQ_INT(auth_apikey_authenticate(A, key, &p, &e), 0);
    CHECK_EQ_INT(p.kind, AUTH_APIKEY);
    CHECK_EQ_STR(p.tenant_id, ten_a); /* tenant A's key is tenant A only */
    CHECK(strcmp(p.tenant_id, ten_b) != 0);
    CHECK_EQ_STR(p.role, "admin");
    CHECK_EQ_STR(p.key_id, k.id);
    CHECK_EQ_STR(auth_actor_type(&p), "apikey");
    CHECK_EQ_STR(auth_actor_id(&p), k.id);

    /* last_used_at was set by the first use. */
    struct store_apikey again;
    char hash[65];
    crypto_sha256_hex(hash, key, strlen(key));
    CHECK_EQ_INT(store_apikey_by_hash(T.db, hash, &again, &e), 0);
    CHECK(again.last_used_at > 0);
    /* A second use within the minute writes nothing. */
    int64_t first_use = again.last_used_at;
    CHECK_EQ_INT(auth_apikey_authenticate(A, key, &p, &e), 0);
    CHECK_EQ_INT(store_apikey_by_hash(T.db, hash, &again, &e), 0);
    CHECK_EQ_INT(again.last_used_at, first_use);

    /* Unknown and malformed keys. */
    err_clear(&e);
    CHECK_EQ_INT(auth_apikey_authenticate(A, "sb_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "invalid_key");
    CHECK_EQ_INT(auth_apikey_authenticate(A, "", &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_INT(auth_apikey_authenticate(A, NULL, &p, &e), ERR_UNAUTHORIZED);

    /* Tenant B cannot revoke A's key, neither naming A nor naming B. */
    struct auth_principal own_b = actor(ten_b, "owner", owner_b);
    CHECK_EQ_INT(auth_apikey_revoke(A, ten_a, k.id, &own_b, "", &e), ERR_FORBIDDEN);
    CHECK(auth_apikey_revoke(A, ten_b, k.id, &own_b, "", &e) != 0);
    CHECK_EQ_INT(auth_apikey_authenticate(A, key, &p, &e), 0);

    /* Viewers and agents cannot mint keys; admins cannot mint owner keys. */
    struct auth_principal viewer = actor(ten_a, "viewer", "usr_v");
    struct auth_principal adm = actor(ten_a, "admin", "usr_adm");
    char key2[AUTH_APIKEY_MAX];
    CHECK_EQ_INT(auth_apikey_create(A, ten_a, "viewer", "x", &viewer, "", &k, key2, &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_apikey_create(A, ten_a, "owner", "x", &adm, "", &k, key2, &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_apikey_create(A, ten_a, "superuser", "x", &own, "", &k, key2, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_apikey_create(A, ten_b, "viewer", "x", &own, "", &k, key2, &e), ERR_FORBIDDEN);

    /* Revoke, then the key is refused with its own code. */
    CHECK_EQ_INT(auth_apikey_create(A, ten_a, "viewer", "to-revoke", &adm, "", &k, key2, &e), 0);
    CHECK_EQ_INT(auth_apikey_authenticate(A, key2, &p, &e), 0);
    memcpy(made_keys[1], key2, sizeof(key2));
    CHECK_EQ_INT(auth_apikey_revoke(A, ten_a, k.id, &own, "10.1.1.1", &e), 0);
    err_clear(&e);
    CHECK_EQ_INT(auth_apikey_authenticate(A, key2, &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "key_revoked");
    /* The first key is untouched. */
    CHECK_EQ_INT(auth_apikey_authenticate(A, key, &p, &e), 0);
}

/* SB_APIKEY_CACHE_MS: a verified key skips the database for that long; a
 * revocation through the same auth is immediate, one made elsewhere (here:
 * straight in the store, as the CLI or another instance would) takes effect
 * once the entry expires. */
static void test_auth__apikey_cache(void)
{
    struct err e = {0};
    struct config cfg;
    struct auth *cached = NULL;
    struct store_apikey k1, k2;
    struct auth_principal p;
    char key1[AUTH_APIKEY_MAX], key2[AUTH_APIKEY_MAX];
    struct auth_principal own = actor(ten_a, "owner", owner_a);

    memset(&cfg, 0, sizeof(cfg));
    cfg.apikey_cache_ms = 300;
    CHECK_EQ_INT(auth_new(&cached, T.db, &cfg, &e), 0);
    if (!cached)
        return;
    CHECK_EQ_INT(auth_apikey_create(cached, ten_a, "agent", "cache-1", &own, "", &k1, key1, &e), 0);
    CHECK_EQ_INT(auth_apikey_create(cached, ten_a, "agent", "cache-2", &own, "", &k2, key2, &e), 0);
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key1, &p, &e), 0);
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key2, &p, &e), 0);
    CHECK_EQ_STR(p.key_id, k2.id);

    /* Revoked elsewhere: still trusted from the cache, refused after it expires. */
    CHECK_EQ_INT(store_apikey_revoke(T.db, ten_a, k1.id, time_now_ms(), &e), 0);
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key1, &p, &e), 0);
    CHECK_EQ_STR(p.key_id, k1.id);
    usleep(400 * 1000);
    err_clear(&e);
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key1, &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "key_revoked");

    /* Revoked through this auth: refused at once. */
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key2, &p, &e), 0);
    CHECK_EQ_INT(auth_apikey_revoke(cached, ten_a, k2.id, &own, "", &e), 0);
    err_clear(&e);
    CHECK_EQ_INT(auth_apikey_authenticate(cached, key2, &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "key_revoked");
    auth_free(cached);
}

static void test_auth__session(void)
{
    struct err e = {0};
    struct auth_login lg;
    struct auth_principal p;
    int retry = -1;
    CHECK_EQ_INT(auth_login(A, "OWNER@a.example", PW_OWNER, NULL, "10.2.0.1", &lg, &retry, &e), 0);
    CHECK(strlen(lg.token) >= 40);
    CHECK(strlen(lg.csrf_token) >= 30);
    CHECK(lg.expires_at > time_now_ms() + 3000 * 1000);
    CHECK_EQ_STR(lg.principal.tenant_id, ten_a);
    CHECK_EQ_STR(lg.principal.role, "owner");

    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), 0);
    CHECK_EQ_INT(p.kind, AUTH_SESSION);
    CHECK_EQ_STR(p.tenant_id, ten_a);
    CHECK_EQ_STR(p.user_id, owner_a);
    CHECK_EQ_STR(p.role, "owner");
    CHECK_EQ_STR(p.email, "owner@a.example");
    CHECK_EQ_STR(p.csrf_token, lg.csrf_token);
    CHECK_EQ_STR(auth_actor_type(&p), "user");

    /* The stored session is keyed by the hash, not the token. */
    struct store_session s;
    CHECK_EQ_INT(store_session_lookup(T.db, lg.token, time_now_ms(), &s, &e), ERR_NOTFOUND);

    err_clear(&e);
    CHECK_EQ_INT(auth_session_authenticate(A, "not-a-token", &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_INT(auth_session_authenticate(A, "", &p, &e), ERR_UNAUTHORIZED);

    struct auth_principal cur;
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &cur, &e), 0);
    CHECK_EQ_INT(auth_logout(A, &cur, "10.2.0.1", &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), ERR_UNAUTHORIZED);
}

static void test_auth__session_expires(void)
{
    struct err e = {0};
    struct config cfg;
    struct auth *shortlived = NULL;
    struct auth_login lg;
    struct auth_principal p;
    int retry = 0;
    memset(&cfg, 0, sizeof(cfg));
    cfg.session_ttl_s = 3; /* long enough for a login on a loaded machine, short enough to wait out */
    CHECK_EQ_INT(auth_new(&shortlived, T.db, &cfg, &e), 0);
    if (!shortlived)
        return;
    CHECK_EQ_INT(auth_login(shortlived, "owner@b.example", PW_OWNER, NULL, "10.8.0.1", &lg, &retry, &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(shortlived, lg.token, &p, &e), 0);
    usleep(3200 * 1000);
    err_clear(&e);
    CHECK_EQ_INT(auth_session_authenticate(shortlived, lg.token, &p, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e), "invalid_session");
    auth_free(shortlived);
}

static void test_auth__same_error_for_unknown_email(void)
{
    struct err e1 = {0}, e2 = {0};
    struct auth_login lg;
    int retry = 0;
    CHECK_EQ_INT(auth_login(A, "owner@a.example", "wrong-password-1", NULL, "10.3.0.1", &lg, &retry, &e1),
                 ERR_UNAUTHORIZED);
    CHECK_EQ_INT(auth_login(A, "nobody@a.example", "wrong-password-1", NULL, "10.3.0.1", &lg, &retry, &e2),
                 ERR_UNAUTHORIZED);
    CHECK_EQ_STR(err_slug(&e1), "invalid_credentials");
    CHECK_EQ_STR(err_slug(&e2), "invalid_credentials");
    CHECK_EQ_STR(e1.msg, e2.msg);
    CHECK(strstr(e1.msg, "wrong-password-1") == NULL);
    /* Malformed input is a different, honest error. */
    CHECK_EQ_INT(auth_login(A, "not-an-email", "x", NULL, "10.3.0.1", &lg, &retry, &e1), ERR_INVALID);
}

static void test_auth__throttle(void)
{
    struct err e = {0};
    struct auth_login lg;
    int retry = 0;
    /* max failures is 3 in this test's config. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(auth_login(A, "owner@a.example", "bad-password-x", NULL, "10.4.0.1", &lg, &retry, &e),
                     ERR_UNAUTHORIZED);
    err_clear(&e);
    /* Now even the right password is refused before it is checked. */
    CHECK_EQ_INT(auth_login(A, "owner@a.example", PW_OWNER, NULL, "10.4.0.1", &lg, &retry, &e), ERR_RATELIMIT);
    CHECK_EQ_STR(err_slug(&e), "login_throttled");
    CHECK(retry >= 1 && retry <= 60);
    /* Keyed by ip and lower-cased email: the email in capitals is the same key... */
    CHECK_EQ_INT(auth_login(A, "OWNER@A.EXAMPLE", PW_OWNER, NULL, "10.4.0.1", &lg, &retry, &e), ERR_RATELIMIT);
    /* ...another client is not throttled. */
    CHECK_EQ_INT(auth_login(A, "owner@a.example", PW_OWNER, NULL, "10.4.0.2", &lg, &retry, &e), 0);
    /* Unknown emails are throttled too (no way to tell them apart). */
    for (int i = 0; i < 3; i++)
        auth_login(A, "ghost@a.example", "bad-password-x", NULL, "10.4.0.3", &lg, &retry, &e);
    CHECK_EQ_INT(auth_login(A, "ghost@a.example", "bad-password-x", NULL, "10.4.0.3", &lg, &retry, &e),
                 ERR_RATELIMIT);
}

static void test_auth__tenant_required(void)
{
    struct err e = {0};
    struct store_member m;
    struct auth_login lg;
    int retry = 0;
    CHECK_EQ_INT(auth_user_create(A, ten_a, "multi@x.example", "Multi", "agent", PW_SHARED, NULL, "", &m, &e), 0);
    CHECK_EQ_INT(auth_user_create(A, ten_b, "multi@x.example", "Multi", "viewer", PW_SHARED, NULL, "", &m, &e), 0);
    CHECK_EQ_INT(auth_user_create(A, ten_b, "multi@x.example", "Multi", "viewer", PW_SHARED, NULL, "", &m, &e),
                 ERR_CONFLICT);
    err_clear(&e);
    CHECK_EQ_INT(auth_login(A, "multi@x.example", PW_SHARED, NULL, "10.5.0.1", &lg, &retry, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "tenant_required");
    CHECK_EQ_INT(auth_login(A, "multi@x.example", PW_SHARED, ten_b, "10.5.0.1", &lg, &retry, &e), 0);
    CHECK_EQ_STR(lg.principal.tenant_id, ten_b);
    CHECK_EQ_STR(lg.principal.role, "viewer");
    CHECK_EQ_INT(auth_login(A, "multi@x.example", PW_SHARED, ten_a, "10.5.0.1", &lg, &retry, &e), 0);
    CHECK_EQ_STR(lg.principal.role, "agent");
    /* A tenant the user is not in: the same answer as a wrong password. */
    CHECK_EQ_INT(auth_login(A, "owner@b.example", PW_OWNER, ten_a, "10.5.0.2", &lg, &retry, &e), ERR_UNAUTHORIZED);
}

static void test_auth__validation(void)
{
    struct err e = {0};
    struct store_member m;
    CHECK_EQ_INT(auth_user_create(A, ten_a, "no-at.example", "", "agent", PW_SHARED, NULL, "", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "a@@b.example", "", "agent", PW_SHARED, NULL, "", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "a@nodot", "", "agent", PW_SHARED, NULL, "", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "ok@x.example", "", "agent", "short", NULL, "", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "ok@x.example", "", "boss", PW_SHARED, NULL, "", &m, &e), ERR_INVALID);
    char longmail[300];
    memset(longmail, 'a', sizeof(longmail));
    memcpy(longmail + 280, "@x.example", 11);
    CHECK_EQ_INT(auth_user_create(A, ten_a, longmail, "", "agent", PW_SHARED, NULL, "", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(auth_tenant_create(A, "", NULL, &e), ERR_INVALID);
}

static void test_auth__rank_rules(void)
{
    struct err e = {0};
    struct store_member adm_m, agent_m, m;
    struct auth_principal own = actor(ten_a, "owner", owner_a);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "admin@a.example", "Adm", "admin", PW_SHARED, &own, "", &adm_m, &e), 0);
    struct auth_principal adm = actor(ten_a, "admin", adm_m.user_id);
    struct auth_principal viewer = actor(ten_a, "viewer", "usr_view");

    /* An admin cannot create or promote to owner; can create an agent. */
    err_clear(&e);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "o2@a.example", "", "owner", PW_SHARED, &adm, "", &m, &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "ag@a.example", "Ag", "agent", PW_SHARED, &adm, "", &agent_m, &e), 0);
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, agent_m.user_id, "owner", &adm, "", &e), ERR_FORBIDDEN);
    /* Nor touch an owner. */
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, owner_a, "viewer", &adm, "", &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_user_remove(A, ten_a, owner_a, &adm, "", &e), ERR_FORBIDDEN);
    /* A viewer can do none of it. */
    CHECK_EQ_INT(auth_user_create(A, ten_a, "v2@a.example", "", "viewer", PW_SHARED, &viewer, "", &m, &e),
                 ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, agent_m.user_id, "viewer", &viewer, "", &e), ERR_FORBIDDEN);
    /* Another tenant's actor cannot change A's users, and naming its own
     * tenant does not reach A's user. */
    struct auth_principal own_b = actor(ten_b, "owner", owner_b);
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, agent_m.user_id, "viewer", &own_b, "", &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(auth_user_set_role(A, ten_b, agent_m.user_id, "viewer", &own_b, "", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(auth_user_remove(A, ten_b, agent_m.user_id, &own_b, "", &e), ERR_NOTFOUND);

    /* The last owner can be neither demoted nor removed, even by itself. */
    err_clear(&e);
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, owner_a, "admin", &own, "", &e), ERR_CONFLICT);
    CHECK_EQ_STR(err_slug(&e), "last_owner");
    err_clear(&e);
    CHECK_EQ_INT(auth_user_remove(A, ten_a, owner_a, &own, "", &e), ERR_CONFLICT);
    CHECK_EQ_STR(err_slug(&e), "last_owner");

    /* An admin changes an agent to viewer (and back); an owner promotes. */
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, agent_m.user_id, "viewer", &adm, "10.6.0.1", &e), 0);
    CHECK_EQ_INT(store_member_get(T.db, ten_a, agent_m.user_id, &m, &e), 0);
    CHECK_EQ_STR(m.role, "viewer");
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, adm_m.user_id, "owner", &own, "", &e), 0);
    /* Two owners now: the first may step down. */
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, owner_a, "admin", &own, "", &e), 0);
    struct auth_principal own2 = actor(ten_a, "owner", adm_m.user_id);
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, owner_a, "owner", &own2, "", &e), 0);
    /* Removal of a lower-ranked user works. */
    CHECK_EQ_INT(auth_user_remove(A, ten_a, agent_m.user_id, &own, "10.6.0.1", &e), 0);
    CHECK_EQ_INT(store_member_get(T.db, ten_a, agent_m.user_id, &m, &e), ERR_NOTFOUND);
}

static void test_auth__role_change_ends_sessions(void)
{
    struct err e = {0};
    struct store_member m;
    struct auth_login lg;
    struct auth_principal p;
    int retry = 0;
    struct auth_principal own = actor(ten_a, "owner", owner_a);
    CHECK_EQ_INT(auth_user_create(A, ten_a, "sess@a.example", "S", "agent", PW_SHARED, &own, "", &m, &e), 0);
    CHECK_EQ_INT(auth_login(A, "sess@a.example", PW_SHARED, NULL, "10.7.0.1", &lg, &retry, &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), 0);
    CHECK_EQ_STR(p.role, "agent");
    CHECK_EQ_INT(auth_user_set_role(A, ten_a, m.user_id, "viewer", &own, "10.7.0.1", &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), ERR_UNAUTHORIZED);
    /* Removal ends them too. */
    CHECK_EQ_INT(auth_login(A, "sess@a.example", PW_SHARED, NULL, "10.7.0.1", &lg, &retry, &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), 0);
    CHECK_EQ_INT(auth_user_remove(A, ten_a, m.user_id, &own, "", &e), 0);
    CHECK_EQ_INT(auth_session_authenticate(A, lg.token, &p, &e), ERR_UNAUTHORIZED);
}

struct audit_seen {
    int login, login_failed, key_create, key_revoke, role_change, tenant_create, user_create, logout;
    int leaked;
    int role_change_details_ok;
    int login_failed_has_ip;
};

static int see_row(void *ud, const struct store_audit *r)
{
    struct audit_seen *s = ud;
    if (strstr(r->details, PW_OWNER) || strstr(r->details, PW_SHARED) || strstr(r->details, "bad-password") ||
        (made_keys[0][0] && strstr(r->details, made_keys[0])) ||
        (made_keys[1][0] && strstr(r->details, made_keys[1])) || strstr(r->target, "sb_live_"))
        s->leaked = 1;
    if (strcmp(r->action, "auth.login") == 0)
        s->login++;
    else if (strcmp(r->action, "auth.login_failed") == 0) {
        s->login_failed++;
        if (strcmp(r->ip, "10.3.0.1") == 0 || strcmp(r->ip, "10.4.0.1") == 0)
            s->login_failed_has_ip = 1;
    } else if (strcmp(r->action, "apikey.create") == 0)
        s->key_create++;
    else if (strcmp(r->action, "apikey.revoke") == 0)
        s->key_revoke++;
    else if (strcmp(r->action, "user.role_change") == 0) {
        s->role_change++;
        if (strstr(r->details, "\"role\":\"viewer\"") && strstr(r->details, "\"previous_role\":\"agent\"") &&
            strcmp(r->ip, "10.6.0.1") == 0 && strcmp(r->actor_type, "user") == 0 && r->actor_id[0])
            s->role_change_details_ok = 1;
    } else if (strcmp(r->action, "tenant.create") == 0)
        s->tenant_create++;
    else if (strcmp(r->action, "user.create") == 0)
        s->user_create++;
    else if (strcmp(r->action, "auth.logout") == 0)
        s->logout++;
    return 0;
}

static void test_auth__audit_rows(void)
{
    struct err e = {0};
    struct audit_seen s;
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(store_audit_list(T.db, ten_a, 0, 0, 0, 1000, see_row, &s, &e), 0);
    CHECK_EQ_INT(s.tenant_create, 1);
    CHECK(s.user_create >= 3);
    CHECK(s.login >= 2);
    CHECK(s.login_failed >= 4);
    CHECK(s.login_failed_has_ip);
    CHECK(s.key_create >= 2);
    CHECK_EQ_INT(s.key_revoke, 1);
    CHECK(s.role_change >= 3);
    CHECK(s.role_change_details_ok);
    CHECK_EQ_INT(s.logout, 1);
    CHECK_EQ_INT(s.leaked, 0);
    /* Tenant B's log holds B's events only. */
    struct audit_seen sb;
    memset(&sb, 0, sizeof(sb));
    CHECK_EQ_INT(store_audit_list(T.db, ten_b, 0, 0, 0, 1000, see_row, &sb, &e), 0);
    CHECK_EQ_INT(sb.key_create, 0);
    CHECK_EQ_INT(sb.tenant_create, 1);
    int64_t rows = 0;
    CHECK_EQ_INT(ops_audit_verify(T.db, NULL, &rows, &e), 0);
    CHECK(rows > 20);
}

/* Collects the ids and tenants that a list callback sees. */
struct seen_ids {
    int n;
    int other_tenant;  /* rows whose tenant_id is not want_tenant */
    const char *want_tenant;
    const char *look_for;
    int found;
};

static int see_member(void *ud, const struct store_member *m)
{
    struct seen_ids *s = ud;
    s->n++;
    if (strcmp(m->tenant_id, s->want_tenant) != 0)
        s->other_tenant++;
    if (strcmp(m->user_id, s->look_for) == 0)
        s->found = 1;
    return 0;
}

static int see_apikey(void *ud, const struct store_apikey *k)
{
    struct seen_ids *s = ud;
    s->n++;
    if (strcmp(k->tenant_id, s->want_tenant) != 0)
        s->other_tenant++;
    if (strcmp(k->id, s->look_for) == 0)
        s->found = 1;
    return 0;
}

static void test_auth__lists_are_tenant_scoped(void)
{
    struct err e = {0};
    struct store_apikey k;
    struct store_member m;
    char key[AUTH_APIKEY_MAX];
    struct auth_principal own_b = actor(ten_b, "owner", owner_b);
    struct seen_ids s;

    /* Users: each tenant sees its own owner and not the other's. */
    s = (struct seen_ids){0, 0, ten_a, owner_a, 0};
    CHECK_EQ_INT(auth_user_list(A, ten_a, see_member, &s, &e), 0);
    CHECK(s.n >= 1);
    CHECK_EQ_INT(s.other_tenant, 0);
    CHECK(s.found);
    s = (struct seen_ids){0, 0, ten_b, owner_a, 0};
    CHECK_EQ_INT(auth_user_list(A, ten_b, see_member, &s, &e), 0);
    CHECK(s.n >= 1);
    CHECK_EQ_INT(s.other_tenant, 0);
    CHECK_EQ_INT(s.found, 0);
    CHECK_EQ_INT(auth_user_get(A, ten_a, owner_a, &m, &e), 0);
    CHECK_EQ_STR(m.tenant_id, ten_a);
    CHECK_EQ_STR(m.email, "owner@a.example");
    CHECK_EQ_INT(auth_user_get(A, ten_b, owner_a, &m, &e), ERR_NOTFOUND);

    /* API keys: a key made in B is listed for B only. */
    CHECK_EQ_INT(auth_apikey_create(A, ten_b, "viewer", "b-only", &own_b, "", &k, key, &e), 0);
    s = (struct seen_ids){0, 0, ten_b, k.id, 0};
    CHECK_EQ_INT(auth_apikey_list(A, ten_b, see_apikey, &s, &e), 0);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_INT(s.other_tenant, 0);
    CHECK(s.found);
    s = (struct seen_ids){0, 0, ten_a, k.id, 0};
    CHECK_EQ_INT(auth_apikey_list(A, ten_a, see_apikey, &s, &e), 0);
    CHECK(s.n >= 2);
    CHECK_EQ_INT(s.other_tenant, 0);
    CHECK_EQ_INT(s.found, 0);
    CHECK_EQ_INT(auth_apikey_list(A, NULL, see_apikey, &s, &e), ERR_INVALID);
}

int main(int argc, char **argv)
{
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct config cfg;
    struct err e = {0};
    if (crypto_init() != 0)
        return 1;
    log_init(LOG_ERROR, NULL);
    struct store_migration_info mi;
    if (db_setup(backend, "auth") != 0 || store_migrate(T.db, &mi, &e) != 0) {
        if (e.code)
            fprintf(stderr, "store_migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    fprintf(stderr, "backend: %s\n", store_backend(T.db));
    memset(&cfg, 0, sizeof(cfg));
    cfg.session_ttl_s = 3600;
    cfg.login_max_failures = 3;
    cfg.login_window_s = 60;
    if (auth_new(&A, T.db, &cfg, &e) != 0) {
        fprintf(stderr, "auth_new: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(fixture);
    TEST_RUN(test_auth__matrix);
    TEST_RUN(test_auth__apikey_lifecycle);
    TEST_RUN(test_auth__session);
    TEST_RUN(test_auth__session_expires);
    TEST_RUN(test_auth__same_error_for_unknown_email);
    TEST_RUN(test_auth__throttle);
    TEST_RUN(test_auth__tenant_required);
    TEST_RUN(test_auth__validation);
    TEST_RUN(test_auth__rank_rules);
    TEST_RUN(test_auth__role_change_ends_sessions);
    TEST_RUN(test_auth__audit_rows);
    TEST_RUN(test_auth__lists_are_tenant_scoped); /* after audit_rows: adds a key to B */
    TEST_RUN(test_auth__apikey_cache);            /* after audit_rows: revokes a key of A */
    auth_free(A);
    db_teardown();
    TEST_DONE();
}
