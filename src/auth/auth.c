/*
 * auth: principals (API keys, sessions), login with its throttle, and the
 * tenant/user/key changes, each checked against the rank rules and audited.
 *
 * Invariants: keys, session tokens and passwords never leave this file in
 * clear except as the one-time return value of the call that made them;
 * only their SHA-256 (keys, tokens) or argon2id (passwords) reaches the store
 * and no audit row or log line carries them. Login answers the same way, in
 * about the same time, for an unknown email and a wrong password. The login
 * throttle is an in-memory table of bounded size (oldest entries evicted),
 * so an attacker cannot grow it without bound.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "ops/ops.h"

#define AUTH_KEY_PREFIX "sb_live_"
#define AUTH_THROTTLE_SLOTS 4096
#define AUTH_THROTTLE_MAX_FAILS 64   /* cap on remembered failures per key */
#define AUTH_TOUCH_INTERVAL_MS 60000
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 1024
#define AUTH_MEMBERSHIPS_MAX 64

/* One (ip, email) pair's recent failures, a ring of timestamps. */
struct throttle_entry {
    char key[64 + 1 + 256];     /* ip "\n" lower-case email; "" = free */
    int64_t fails[AUTH_THROTTLE_MAX_FAILS];
    int nfails;                 /* valid entries, newest at (head - 1) */
    int head;
    int64_t last;               /* last failure, for eviction */
};

/* Verified API keys, so the hot path (every API request) skips the database
 * lookup for a short while. Direct-mapped by the key hash; only successful
 * lookups are cached, and any revocation through this process empties it. */
#define AUTH_KEY_CACHE_SLOTS 1024
#define AUTH_KEY_CACHE_LOCKS 16

struct key_cache_slot {
    char hash[65];                      /* "" = empty */
    int64_t verified_ns;                /* monotonic time of the database lookup */
    struct store_apikey key;
};

struct auth {
    struct store *db;
    int64_t session_ttl_s;
    int64_t max_failures;
    int64_t window_s;
    char dummy_hash[CRYPTO_PWHASH_MAX]; /* verified for unknown emails */
    pthread_mutex_t throttle_lock;
    /* Serialises role changes and removals so two concurrent demotions cannot
     * both pass the last-owner check (within this process; the store API has
     * no conditional update, see check_last_owner). */
    pthread_mutex_t owner_lock;
    struct throttle_entry *throttle;    /* AUTH_THROTTLE_SLOTS */
    int64_t key_cache_ns;               /* 0: no cache */
    struct key_cache_slot *key_cache;   /* AUTH_KEY_CACHE_SLOTS */
    pthread_mutex_t key_cache_lock[AUTH_KEY_CACHE_LOCKS];
};

/* --------------------------------------------------------------- roles */

static int role_rank(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "owner") == 0)
        return 4;
    if (strcmp(role, "admin") == 0)
        return 3;
    if (strcmp(role, "agent") == 0)
        return 2;
    if (strcmp(role, "viewer") == 0)
        return 1;
    return 0;
}

const char *auth_actor_type(const struct auth_principal *p)
{
    if (!p)
        return "system";
    switch (p->kind) {
    case AUTH_APIKEY:
        return "apikey";
    case AUTH_SESSION:
        return "user";
    default:
        return "system";
    }
}

const char *auth_actor_id(const struct auth_principal *p)
{
    if (!p)
        return "";
    switch (p->kind) {
    case AUTH_APIKEY:
        return p->key_id;
    case AUTH_SESSION:
        return p->user_id;
    default:
        return "";
    }
}

/* The checks every change makes on its actor: same tenant, the matrix allows
 * the action. NULL actor is the CLI / system and may do anything. */
static int check_actor(const struct auth_principal *actor, const char *tenant_id, const char *action,
                       struct err *e)
{
    if (!actor)
        return 0;
    if (strcmp(actor->tenant_id, tenant_id) != 0)
        return err_set(e, ERR_FORBIDDEN, "forbidden", "not allowed in this tenant");
    if (!auth_allowed(action, actor->role))
        return err_set(e, ERR_FORBIDDEN, "forbidden", "role %s may not %s", actor->role, action);
    return 0;
}

/* May actor give someone `role`? Rank no higher than its own; owner only by owner. */
static int check_grant(const struct auth_principal *actor, const char *role, struct err *e)
{
    if (!actor)
        return 0;
    if (role_rank(role) > role_rank(actor->role))
        return err_set(e, ERR_FORBIDDEN, "role_above_own", "a %s cannot grant the role %s", actor->role, role);
    if (strcmp(role, "owner") == 0 && strcmp(actor->role, "owner") != 0)
        return err_set(e, ERR_FORBIDDEN, "owner_only", "only an owner can grant the role owner");
    return 0;
}

/* ---------------------------------------------------------- validation */

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Lower-case a valid email into out (cap >= 255): one '@', a dot in the
 * domain, no spaces or control characters, at most 254 bytes. */
static int normalize_email(char *out, size_t cap, const char *email, struct err *e)
{
    if (!email)
        return err_set(e, ERR_INVALID, "invalid_email", "email is required");
    size_t n = strlen(email);
    if (n == 0 || n > 254 || n >= cap)
        return err_set(e, ERR_INVALID, "invalid_email", "email must be 1 to 254 characters");
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@'))
        return err_set(e, ERR_INVALID, "invalid_email", "email must contain exactly one @");
    const char *dot = strchr(at + 1, '.');
    if (!dot || dot == at + 1 || dot[1] == '\0' || email[n - 1] == '.')
        return err_set(e, ERR_INVALID, "invalid_email", "email domain must contain a dot");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= ' ' || c == 0x7f)
            return err_set(e, ERR_INVALID, "invalid_email", "email contains a space or control character");
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

static int validate_role(const char *role, struct err *e)
{
    if (!auth_role_valid(role))
        return err_set(e, ERR_INVALID, "invalid_role", "role must be owner, admin, agent or viewer");
    return 0;
}

static int validate_password(const char *password, struct err *e)
{
    size_t n = password ? strlen(password) : 0;
    if (n < AUTH_PASSWORD_MIN)
        return err_set(e, ERR_INVALID, "weak_password", "password must be at least %d characters",
                       AUTH_PASSWORD_MIN);
    if (n > AUTH_PASSWORD_MAX)
        return err_set(e, ERR_INVALID, "invalid_password", "password must be at most %d characters",
                       AUTH_PASSWORD_MAX);
    return 0;
}

/* A JSON object text {"k1":"v1",...} for audit details; values escaped.
 * pairs is NULL-terminated (k, v, k, v, NULL). Caller frees. */
static char *details_json(const char *const *pairs)
{
    struct buf b = {0};
    buf_putc(&b, '{');
    for (int i = 0; pairs[i]; i += 2) {
        if (i)
            buf_putc(&b, ',');
        buf_json_str(&b, pairs[i]);
        buf_putc(&b, ':');
        buf_json_str(&b, pairs[i + 1]);
    }
    buf_putc(&b, '}');
    return buf_steal(&b);
}

static int audit(struct auth *a, const char *tenant_id, const struct auth_principal *actor, const char *action,
                 const char *target, const char *ip, const char *const *pairs, struct err *e)
{
    char *details = details_json(pairs);
    int rc = ops_audit(a->db, tenant_id, auth_actor_type(actor), auth_actor_id(actor), action, target, ip ? ip : "",
                       details, e);
    free(details);
    if (rc != 0) {
        struct log_ctx ctx = {NULL, NULL, tenant_id};
        log_error(&ctx, "audit write failed for %s: %s", action, e ? e->msg : "");
    }
    return rc;
}

/* ------------------------------------------------------------- lifecycle */

int auth_new(struct auth **out, struct store *db, const struct config *cfg, struct err *e)
{
    struct auth *a = calloc(1, sizeof(*a));
    int rc;
    if (!a)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&a->throttle_lock, NULL);
    pthread_mutex_init(&a->owner_lock, NULL);
    a->db = db;
    a->session_ttl_s = cfg && cfg->session_ttl_s > 0 ? cfg->session_ttl_s : 7 * 24 * 3600;
    a->max_failures = cfg && cfg->login_max_failures > 0 ? cfg->login_max_failures : 5;
    if (a->max_failures > AUTH_THROTTLE_MAX_FAILS)
        a->max_failures = AUTH_THROTTLE_MAX_FAILS;
    a->window_s = cfg && cfg->login_window_s > 0 ? cfg->login_window_s : 900;
    a->throttle = calloc(AUTH_THROTTLE_SLOTS, sizeof(*a->throttle));
    a->key_cache_ns = cfg ? cfg->apikey_cache_ms * 1000000 : 0;
    a->key_cache = calloc(AUTH_KEY_CACHE_SLOTS, sizeof(*a->key_cache));
    for (int i = 0; i < AUTH_KEY_CACHE_LOCKS; i++)
        pthread_mutex_init(&a->key_cache_lock[i], NULL);
    if (!a->throttle || !a->key_cache) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    /* A real argon2id hash of a random password: verifying against it costs
     * what verifying a real user's hash costs. */
    char pw[48];
    crypto_random_token(pw, sizeof(pw), 24);
    rc = crypto_password_hash(a->dummy_hash, pw, e);
    sodium_memzero(pw, sizeof(pw));
    if (rc != 0)
        goto out;
    *out = a;
    a = NULL;
out:
    auth_free(a);
    return rc;
}

void auth_free(struct auth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->throttle_lock);
    pthread_mutex_destroy(&a->owner_lock);
    for (int i = 0; i < AUTH_KEY_CACHE_LOCKS; i++)
        pthread_mutex_destroy(&a->key_cache_lock[i]);
    free(a->throttle);
    free(a->key_cache);
    free(a);
}

/* -------------------------------------------------------------- throttle */

static void throttle_key(char *out, size_t cap, const char *ip, const char *email)
{
    snprintf(out, cap, "%.64s\n%s", ip ? ip : "", email);
}

/* Caller holds throttle_lock. */
static struct throttle_entry *throttle_find(struct auth *a, const char *key)
{
    for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++)
        if (a->throttle[i].key[0] && strcmp(a->throttle[i].key, key) == 0)
            return &a->throttle[i];
    return NULL;
}

/* Failures of an entry within the window, and the oldest of them. */
static int throttle_count(const struct auth *a, const struct throttle_entry *t, int64_t now, int64_t *oldest)
{
    int64_t since = now - a->window_s * 1000;
    int n = 0;
    *oldest = 0;
    for (int i = 0; i < t->nfails; i++) {
        int64_t at = t->fails[(t->head - 1 - i + AUTH_THROTTLE_MAX_FAILS) % AUTH_THROTTLE_MAX_FAILS];
        if (at <= since)
            break; /* ring is newest first from head - 1 */
        n++;
        *oldest = at;
    }
    return n;
}

/* 0 when allowed; ERR_RATELIMIT with *retry_after_s otherwise. */
static int throttle_check(struct auth *a, const char *key, int64_t now, int *retry_after_s, struct err *e)
{
    int rc = 0;
    pthread_mutex_lock(&a->throttle_lock);
    struct throttle_entry *t = throttle_find(a, key);
    if (t) {
        int64_t oldest;
        int n = throttle_count(a, t, now, &oldest);
        if (n >= a->max_failures) {
            int64_t wait_ms = oldest + a->window_s * 1000 - now;
            int secs = (int)((wait_ms + 999) / 1000);
            if (secs < 1)
                secs = 1;
            if (retry_after_s)
                *retry_after_s = secs;
            rc = err_set(e, ERR_RATELIMIT, "login_throttled", "too many failed logins; retry in %d s", secs);
        }
    }
    pthread_mutex_unlock(&a->throttle_lock);
    return rc;
}

static void throttle_fail(struct auth *a, const char *key, int64_t now)
{
    pthread_mutex_lock(&a->throttle_lock);
    struct throttle_entry *t = throttle_find(a, key);
    if (!t) {
        /* A free slot, else evict the entry whose last failure is oldest. */
        struct throttle_entry *victim = NULL;
        for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
            struct throttle_entry *c = &a->throttle[i];
            if (!c->key[0]) {
                victim = c;
                break;
            }
            if (!victim || c->last < victim->last)
                victim = c;
        }
        t = victim;
        memset(t, 0, sizeof(*t));
        snprintf(t->key, sizeof(t->key), "%s", key);
    }
    t->fails[t->head] = now;
    t->head = (t->head + 1) % AUTH_THROTTLE_MAX_FAILS;
    if (t->nfails < AUTH_THROTTLE_MAX_FAILS)
        t->nfails++;
    t->last = now;
    pthread_mutex_unlock(&a->throttle_lock);
}

static void throttle_clear(struct auth *a, const char *key)
{
    pthread_mutex_lock(&a->throttle_lock);
    struct throttle_entry *t = throttle_find(a, key);
    if (t)
        memset(t, 0, sizeof(*t));
    pthread_mutex_unlock(&a->throttle_lock);
}

/* ------------------------------------------------------ authentication */

/* The slot of a hex SHA-256: its first 8 hex digits, already uniform. */
static size_t key_cache_index(const char *hash)
{
    size_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return v % AUTH_KEY_CACHE_SLOTS;
}

/* 1, *out and *verified_ns when hash was verified less than key_cache_ns ago. */
static int key_cache_get(struct auth *a, const char *hash, int64_t now_ns, struct store_apikey *out,
                         int64_t *verified_ns)
{
    if (a->key_cache_ns <= 0)
        return 0;
    size_t i = key_cache_index(hash);
    struct key_cache_slot *s = &a->key_cache[i];
    pthread_mutex_t *lock = &a->key_cache_lock[i % AUTH_KEY_CACHE_LOCKS];
    int hit = 0;
    pthread_mutex_lock(lock);
    if (strcmp(s->hash, hash) == 0 && now_ns - s->verified_ns < a->key_cache_ns) {
        *out = s->key;
        *verified_ns = s->verified_ns;
        hit = 1;
    }
    pthread_mutex_unlock(lock);
    return hit;
}

static void key_cache_put(struct auth *a, const char *hash, int64_t verified_ns, const struct store_apikey *k)
{
    if (a->key_cache_ns <= 0)
        return;
    size_t i = key_cache_index(hash);
    struct key_cache_slot *s = &a->key_cache[i];
    pthread_mutex_t *lock = &a->key_cache_lock[i % AUTH_KEY_CACHE_LOCKS];
    pthread_mutex_lock(lock);
    memcpy(s->hash, hash, sizeof(s->hash));
    s->verified_ns = verified_ns;
    s->key = *k;
    pthread_mutex_unlock(lock);
}

/* Revocations are rare: forget every cached key. */
static void key_cache_clear(struct auth *a)
{
    for (size_t i = 0; i < AUTH_KEY_CACHE_SLOTS; i++) {
        pthread_mutex_t *lock = &a->key_cache_lock[i % AUTH_KEY_CACHE_LOCKS];
        pthread_mutex_lock(lock);
        a->key_cache[i].hash[0] = '\0';
        pthread_mutex_unlock(lock);
    }
}

int auth_apikey_authenticate(struct auth *a, const char *key, struct auth_principal *out, struct err *e)
{
    struct store_apikey k;
    char hash[65];
    int rc;
    size_t n = key ? strlen(key) : 0;
    /* Cheap shape check first: no database query for obvious garbage. */
    if (n <= sizeof(AUTH_KEY_PREFIX) - 1 || n >= AUTH_APIKEY_MAX ||
        strncmp(key, AUTH_KEY_PREFIX, sizeof(AUTH_KEY_PREFIX) - 1) != 0)
        return err_set(e, ERR_UNAUTHORIZED, "invalid_key", "invalid API key");
    crypto_sha256_hex(hash, key, n);
    int64_t verified_ns = time_mono_ns();
    int cached = key_cache_get(a, hash, verified_ns, &k, &verified_ns);
    if (!cached) {
        rc = store_apikey_by_hash(a->db, hash, &k, e);
        if (rc == ERR_NOTFOUND)
            return err_set(e, ERR_UNAUTHORIZED, "invalid_key", "invalid API key");
        if (rc != 0)
            return rc;
        if (k.revoked_at != 0)
            return err_set(e, ERR_UNAUTHORIZED, "key_revoked", "this API key has been revoked");
    }
    int64_t now = time_now_ms();
    if (now - k.last_used_at >= AUTH_TOUCH_INTERVAL_MS) {
        struct err te = {0};
        if (store_apikey_touch(a->db, k.tenant_id, k.id, now, &te) != 0) {
            struct log_ctx ctx = {NULL, NULL, k.tenant_id};
            log_warn(&ctx, "api key last_used_at not updated: %s", te.msg);
        }
        k.last_used_at = now;
        cached = 0; /* remember the new last_used_at, keeping when the key was verified */
    }
    if (!cached)
        key_cache_put(a, hash, verified_ns, &k);
    memset(out, 0, sizeof(*out));
    out->kind = AUTH_APIKEY;
    memcpy(out->tenant_id, k.tenant_id, sizeof(out->tenant_id));
    memcpy(out->role, k.role, sizeof(out->role));
    memcpy(out->key_id, k.id, sizeof(out->key_id));
    return 0;
}

int auth_session_authenticate(struct auth *a, const char *token, struct auth_principal *out, struct err *e)
{
    struct store_session s;
    char hash[65];
    int rc;
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n >= AUTH_TOKEN_MAX)
        return err_set(e, ERR_UNAUTHORIZED, "invalid_session", "not signed in");
    crypto_sha256_hex(hash, token, n);
    rc = store_session_lookup(a->db, hash, time_now_ms(), &s, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_UNAUTHORIZED, "invalid_session", "session expired or unknown; sign in again");
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->kind = AUTH_SESSION;
    memcpy(out->tenant_id, s.tenant_id, sizeof(out->tenant_id));
    memcpy(out->role, s.role, sizeof(out->role));
    memcpy(out->user_id, s.user_id, sizeof(out->user_id));
    memcpy(out->email, s.email, sizeof(out->email));
    memcpy(out->csrf_token, s.csrf_token, sizeof(out->csrf_token));
    memcpy(out->session_hash, hash, sizeof(out->session_hash));
    return 0;
}

/* ----------------------------------------------------------------- login */

struct memberships {
    struct store_member m[AUTH_MEMBERSHIPS_MAX];
    int n;
};

static int collect_member(void *ud, const struct store_member *m)
{
    struct memberships *ms = ud;
    if (ms->n < AUTH_MEMBERSHIPS_MAX)
        ms->m[ms->n++] = *m;
    return 0;
}

int auth_login(struct auth *a, const char *email, const char *password, const char *tenant_id, const char *ip,
               struct auth_login *out, int *retry_after_s, struct err *e)
{
    struct memberships *ms = NULL;
    char mail[256];
    char tkey[sizeof(((struct throttle_entry *)0)->key)];
    struct store_session s;
    int rc;
    memset(&s, 0, sizeof(s));
    if (retry_after_s)
        *retry_after_s = 0;
    if (!ip)
        ip = "";
    if (tenant_id && !*tenant_id)
        tenant_id = NULL;

    if ((rc = normalize_email(mail, sizeof(mail), email, e)) != 0)
        goto out;
    if (!password || !*password || strlen(password) > AUTH_PASSWORD_MAX) {
        rc = err_set(e, ERR_INVALID, "invalid_password", "password is required");
        goto out;
    }
    throttle_key(tkey, sizeof(tkey), ip, mail);
    int64_t now = time_now_ms();
    if ((rc = throttle_check(a, tkey, now, retry_after_s, e)) != 0)
        goto out;

    ms = calloc(1, sizeof(*ms));
    if (!ms) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = store_login_lookup(a->db, mail, collect_member, ms, e)) != 0)
        goto out;

    /* Always verify one hash, real or dummy, so the time taken does not tell
     * which emails exist. One user has one password across tenants. */
    const char *hash = ms->n > 0 ? ms->m[0].password_hash : a->dummy_hash;
    int ok = crypto_password_verify(hash, password) == 1 && ms->n > 0;
    const struct store_member *who = NULL;
    if (ok) {
        if (tenant_id) {
            for (int i = 0; i < ms->n; i++)
                if (strcmp(ms->m[i].tenant_id, tenant_id) == 0)
                    who = &ms->m[i];
            ok = who != NULL;
        } else if (ms->n == 1) {
            who = &ms->m[0];
        } else {
            /* Right password, several tenants: the client must choose. Not a failure. */
            rc = err_set(e, ERR_INVALID, "tenant_required", "this account belongs to several tenants; give tenant_id");
            goto out;
        }
    }
    if (!ok) {
        throttle_fail(a, tkey, now);
        for (int i = 0; i < ms->n; i++) {
            const char *pairs[] = {"email", mail, "reason", "invalid_credentials", NULL};
            struct err ae = {0};
            audit(a, ms->m[i].tenant_id, NULL, "auth.login_failed", ms->m[i].user_id, ip, pairs, &ae);
        }
        rc = err_set(e, ERR_UNAUTHORIZED, "invalid_credentials", "invalid email or password");
        goto out;
    }

    throttle_clear(a, tkey);
    memset(out, 0, sizeof(*out));
    crypto_random_token(out->token, sizeof(out->token), 32);
    crypto_random_token(out->csrf_token, sizeof(out->csrf_token), 24);
    crypto_sha256_hex(s.token_hash, out->token, strlen(out->token));
    memcpy(s.tenant_id, who->tenant_id, sizeof(s.tenant_id));
    memcpy(s.user_id, who->user_id, sizeof(s.user_id));
    memcpy(s.csrf_token, out->csrf_token, sizeof(s.csrf_token));
    s.created_at = now;
    s.expires_at = now + a->session_ttl_s * 1000;
    if ((rc = store_session_create(a->db, who->tenant_id, &s, e)) != 0)
        goto out;

    struct auth_principal *p = &out->principal;
    p->kind = AUTH_SESSION;
    memcpy(p->tenant_id, who->tenant_id, sizeof(p->tenant_id));
    memcpy(p->role, who->role, sizeof(p->role));
    memcpy(p->user_id, who->user_id, sizeof(p->user_id));
    memcpy(p->email, who->email, sizeof(p->email));
    memcpy(p->csrf_token, out->csrf_token, sizeof(p->csrf_token));
    memcpy(p->session_hash, s.token_hash, sizeof(p->session_hash));
    out->expires_at = s.expires_at;

    const char *pairs[] = {"email", mail, NULL};
    if ((rc = audit(a, who->tenant_id, p, "auth.login", who->user_id, ip, pairs, e)) != 0) {
        /* No unaudited sessions: take it back. */
        struct err de = {0};
        store_session_delete(a->db, who->tenant_id, s.token_hash, &de);
        sodium_memzero(out, sizeof(*out));
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(&s, sizeof(s));
    free(ms);
    return rc;
}

int auth_logout(struct auth *a, const struct auth_principal *p, const char *ip, struct err *e)
{
    int rc;
    if (!p || p->kind != AUTH_SESSION)
        return err_set(e, ERR_INVALID, "not_a_session", "logout needs a session");
    if ((rc = store_session_delete(a->db, p->tenant_id, p->session_hash, e)) != 0 && rc != ERR_NOTFOUND)
        return rc;
    const char *pairs[] = {NULL};
    return audit(a, p->tenant_id, p, "auth.logout", p->user_id, ip, pairs, e);
}

/* ------------------------------------------------- tenants, users, keys */

int auth_tenant_create(struct auth *a, const char *name, struct store_tenant *out, struct err *e)
{
    struct store_tenant t;
    int rc;
    memset(&t, 0, sizeof(t));
    if (!name || !*name || copy_str(t.name, sizeof(t.name), name) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_name", "tenant name must be 1 to %zu characters", sizeof(t.name) - 1);
        goto out;
    }
    crypto_random_id(t.id, sizeof(t.id), "ten");
    t.created_at = time_now_ms();
    if ((rc = store_tenant_create(a->db, &t, e)) != 0)
        goto out;
    const char *pairs[] = {"name", t.name, NULL};
    if ((rc = audit(a, t.id, NULL, "tenant.create", t.id, "", pairs, e)) != 0)
        goto out;
    if (out)
        *out = t;
out:
    return rc;
}

int auth_user_create(struct auth *a, const char *tenant_id, const char *email, const char *name, const char *role,
                     const char *password, const struct auth_principal *actor, const char *ip,
                     struct store_member *out, struct err *e)
{
    struct store_member m;
    int rc;
    memset(&m, 0, sizeof(m));
    if (!tenant_id || !*tenant_id) {
        rc = err_set(e, ERR_INVALID, NULL, "tenant is required");
        goto out;
    }
    if ((rc = check_actor(actor, tenant_id, "users.create", e)) != 0)
        goto out;
    if ((rc = normalize_email(m.email, sizeof(m.email), email, e)) != 0 || (rc = validate_role(role, e)) != 0 ||
        (rc = validate_password(password, e)) != 0)
        goto out;
    if (name && copy_str(m.name, sizeof(m.name), name) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_name", "name must be at most %zu characters", sizeof(m.name) - 1);
        goto out;
    }
    if ((rc = check_grant(actor, role, e)) != 0)
        goto out;
    memcpy(m.role, role, strlen(role) + 1);
    memcpy(m.tenant_id, tenant_id, strnlen(tenant_id, sizeof(m.tenant_id) - 1));
    if ((rc = crypto_password_hash(m.password_hash, password, e)) != 0)
        goto out;
    crypto_random_id(m.user_id, sizeof(m.user_id), "usr");
    m.created_at = time_now_ms();
    if ((rc = store_member_create(a->db, tenant_id, &m, e)) != 0) {
        if (rc == ERR_CONFLICT)
            err_set(e, ERR_CONFLICT, "already_member", "%s is already a member of this tenant", m.email);
        goto out;
    }
    const char *pairs[] = {"email", m.email, "role", m.role, NULL};
    if ((rc = audit(a, tenant_id, actor, "user.create", m.user_id, ip, pairs, e)) != 0)
        goto out;
    if (out) {
        *out = m;
        out->password_hash[0] = '\0'; /* callers have no use for it */
    }
out:
    sodium_memzero(m.password_hash, sizeof(m.password_hash));
    return rc;
}

/* Refuse to leave the tenant without an owner when `m` stops being one.
 * Count-then-write: safe within one process under owner_lock; two server
 * instances on one PostgreSQL database could still race (needs a
 * conditional update in the store). */
static int check_last_owner(struct auth *a, const char *tenant_id, const struct store_member *m, struct err *e)
{
    int64_t owners = 0;
    int rc;
    if (strcmp(m->role, "owner") != 0)
        return 0;
    if ((rc = store_member_count_role(a->db, tenant_id, "owner", &owners, e)) != 0)
        return rc;
    if (owners <= 1)
        return err_set(e, ERR_CONFLICT, "last_owner", "a tenant must keep at least one owner");
    return 0;
}

int auth_user_set_role(struct auth *a, const char *tenant_id, const char *user_id, const char *role,
                       const struct auth_principal *actor, const char *ip, struct err *e)
{
    struct store_member m;
    int rc;
    if (!tenant_id || !user_id)
        return err_set(e, ERR_INVALID, NULL, "tenant and user are required");
    if ((rc = check_actor(actor, tenant_id, "users.update", e)) != 0 || (rc = validate_role(role, e)) != 0)
        return rc;
    if ((rc = store_member_get(a->db, tenant_id, user_id, &m, e)) != 0)
        return rc;
    sodium_memzero(m.password_hash, sizeof(m.password_hash));
    if ((rc = check_grant(actor, role, e)) != 0)
        return rc;
    if (actor && strcmp(m.role, "owner") == 0 && strcmp(actor->role, "owner") != 0)
        return err_set(e, ERR_FORBIDDEN, "owner_only", "only an owner can change an owner's role");
    if (actor && role_rank(m.role) > role_rank(actor->role))
        return err_set(e, ERR_FORBIDDEN, "role_above_own", "cannot change the role of a user ranked above you");
    if (strcmp(m.role, role) == 0)
        return 0; /* nothing changes, nothing to audit */
    pthread_mutex_lock(&a->owner_lock);
    rc = strcmp(role, "owner") != 0 ? check_last_owner(a, tenant_id, &m, e) : 0;
    if (rc == 0)
        rc = store_member_set_role(a->db, tenant_id, user_id, role, e);
    pthread_mutex_unlock(&a->owner_lock);
    if (rc != 0)
        return rc;
    if ((rc = store_session_delete_user(a->db, tenant_id, user_id, e)) != 0 && rc != ERR_NOTFOUND)
        return rc;
    const char *pairs[] = {"role", role, "previous_role", m.role, NULL};
    return audit(a, tenant_id, actor, "user.role_change", user_id, ip, pairs, e);
}

int auth_user_remove(struct auth *a, const char *tenant_id, const char *user_id, const struct auth_principal *actor,
                     const char *ip, struct err *e)
{
    struct store_member m;
    int rc;
    if (!tenant_id || !user_id)
        return err_set(e, ERR_INVALID, NULL, "tenant and user are required");
    if ((rc = check_actor(actor, tenant_id, "users.delete", e)) != 0)
        return rc;
    if ((rc = store_member_get(a->db, tenant_id, user_id, &m, e)) != 0)
        return rc;
    sodium_memzero(m.password_hash, sizeof(m.password_hash));
    if (actor && strcmp(m.role, "owner") == 0 && strcmp(actor->role, "owner") != 0)
        return err_set(e, ERR_FORBIDDEN, "owner_only", "only an owner can remove an owner");
    if (actor && role_rank(m.role) > role_rank(actor->role))
        return err_set(e, ERR_FORBIDDEN, "role_above_own", "cannot remove a user ranked above you");
    pthread_mutex_lock(&a->owner_lock);
    rc = check_last_owner(a, tenant_id, &m, e);
    if (rc == 0 && (rc = store_session_delete_user(a->db, tenant_id, user_id, e)) == ERR_NOTFOUND)
        rc = 0;
    if (rc == 0)
        rc = store_member_remove(a->db, tenant_id, user_id, e);
    pthread_mutex_unlock(&a->owner_lock);
    if (rc != 0)
        return rc;
    const char *pairs[] = {"email", m.email, "role", m.role, NULL};
    return audit(a, tenant_id, actor, "user.remove", user_id, ip, pairs, e);
}

int auth_apikey_create(struct auth *a, const char *tenant_id, const char *role, const char *name,
                       const struct auth_principal *actor, const char *ip, struct store_apikey *out,
                       char key_out[AUTH_APIKEY_MAX], struct err *e)
{
    struct store_apikey k;
    char key[AUTH_APIKEY_MAX];
    char hash[65];
    int rc;
    memset(&k, 0, sizeof(k));
    if (!tenant_id || !*tenant_id) {
        rc = err_set(e, ERR_INVALID, NULL, "tenant is required");
        goto out;
    }
    if ((rc = check_actor(actor, tenant_id, "apikeys.create", e)) != 0 || (rc = validate_role(role, e)) != 0 ||
        (rc = check_grant(actor, role, e)) != 0)
        goto out;
    if (name && copy_str(k.name, sizeof(k.name), name) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_name", "name must be at most %zu characters", sizeof(k.name) - 1);
        goto out;
    }
    memcpy(key, AUTH_KEY_PREFIX, sizeof(AUTH_KEY_PREFIX) - 1);
    crypto_random_token(key + sizeof(AUTH_KEY_PREFIX) - 1, sizeof(key) - (sizeof(AUTH_KEY_PREFIX) - 1), 24);
    crypto_sha256_hex(hash, key, strlen(key));
    crypto_random_id(k.id, sizeof(k.id), "key");
    memcpy(k.tenant_id, tenant_id, strnlen(tenant_id, sizeof(k.tenant_id) - 1));
    memcpy(k.role, role, strlen(role) + 1);
    memcpy(k.prefix, key, 12);
    k.prefix[12] = '\0';
    snprintf(k.created_by, sizeof(k.created_by), "%s", auth_actor_id(actor));
    k.created_at = time_now_ms();
    if ((rc = store_apikey_create(a->db, tenant_id, &k, hash, e)) != 0)
        goto out;
    const char *pairs[] = {"role", k.role, "name", k.name, "prefix", k.prefix, NULL};
    if ((rc = audit(a, tenant_id, actor, "apikey.create", k.id, ip, pairs, e)) != 0) {
        /* An unaudited key must not work. */
        struct err re = {0};
        store_apikey_revoke(a->db, tenant_id, k.id, time_now_ms(), &re);
        goto out;
    }
    if (out)
        *out = k;
    memcpy(key_out, key, strlen(key) + 1);
out:
    sodium_memzero(key, sizeof(key));
    return rc;
}

int auth_apikey_revoke(struct auth *a, const char *tenant_id, const char *key_id, const struct auth_principal *actor,
                       const char *ip, struct err *e)
{
    int rc;
    if (!tenant_id || !key_id)
        return err_set(e, ERR_INVALID, NULL, "tenant and key are required");
    if ((rc = check_actor(actor, tenant_id, "apikeys.revoke", e)) != 0)
        return rc;
    if ((rc = store_apikey_revoke(a->db, tenant_id, key_id, time_now_ms(), e)) != 0)
        return rc;
    key_cache_clear(a);
    const char *pairs[] = {NULL};
    return audit(a, tenant_id, actor, "apikey.revoke", key_id, ip, pairs, e);
}

/* ----------------------------------------------------------------- reads */

/* Thin: the tenant filter is the store's; these exist so routes call auth,
 * never the store, for tenant data (DESIGN.md section 3). */

int auth_user_list(struct auth *a, const char *tenant_id, store_member_cb cb, void *ud, struct err *e)
{
    return store_member_list(a->db, tenant_id, cb, ud, e);
}

int auth_user_get(struct auth *a, const char *tenant_id, const char *user_id, struct store_member *out,
                  struct err *e)
{
    return store_member_get(a->db, tenant_id, user_id, out, e);
}

int auth_apikey_list(struct auth *a, const char *tenant_id, store_apikey_cb cb, void *ud, struct err *e)
{
    return store_apikey_list(a->db, tenant_id, cb, ud, e);
}

void auth_apikey_json(struct buf *b, const struct store_apikey *k, const char *key)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, k->id);
    buf_puts(b, ",\"tenant_id\":");
    buf_json_str(b, k->tenant_id);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, k->name);
    buf_puts(b, ",\"role\":");
    buf_json_str(b, k->role);
    buf_puts(b, ",\"prefix\":");
    buf_json_str(b, k->prefix);
    buf_puts(b, ",\"created_by\":");
    buf_json_str(b, k->created_by[0] ? k->created_by : NULL);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, k->created_at);
    buf_puts(b, ",\"last_used_at\":");
    buf_json_time(b, k->last_used_at);
    buf_puts(b, ",\"revoked_at\":");
    buf_json_time(b, k->revoked_at);
    if (key) {
        buf_puts(b, ",\"key\":");
        buf_json_str(b, key);
    }
    buf_putc(b, '}');
}

void auth_member_json(struct buf *b, const struct store_member *m)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, m->user_id);
    buf_puts(b, ",\"email\":");
    buf_json_str(b, m->email);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, m->name);
    buf_puts(b, ",\"role\":");
    buf_json_str(b, m->role);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, m->created_at);
    buf_putc(b, '}');
}
