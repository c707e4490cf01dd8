/*
 * ops_keyring: encryption of secrets at rest under a rotating key ring.
 *
 * Data keys ("k1", "k2", …, 32 random bytes each) are stored in the database
 * sealed with the master key (crypto_seal, key id "master"); only the master
 * key comes from configuration. Secrets are sealed with the active data key
 * and the ciphertext names its key id, so rotation can add a key, re-seal
 * every secret with it and keep old keys for anything written concurrently.
 * The ring is read-mostly: a rwlock guards it, and rotations are serialised
 * by their own mutex. Key material is wiped with sodium_memzero on free.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ops/ops.h"

#define OPS_KEYS_MAX 256

struct ops_key {
    char id[32];
    uint8_t key[CRYPTO_KEY_BYTES];
};

struct ops_keyring {
    pthread_rwlock_t lock;        /* guards keys, nkeys, active */
    pthread_mutex_t rotate_lock;  /* one rotation at a time */
    uint8_t master[CRYPTO_KEY_BYTES];
    struct ops_key keys[OPS_KEYS_MAX];
    int nkeys;
    int active;                   /* index into keys */
};

/* crypto_open callback for wrapped data keys: only "master" exists. */
static int master_lookup(void *ud, const char *key_id, uint8_t key[CRYPTO_KEY_BYTES])
{
    const uint8_t *master = ud;
    if (strcmp(key_id, "master") != 0)
        return ERR_NOTFOUND;
    memcpy(key, master, CRYPTO_KEY_BYTES);
    return 0;
}

/* crypto_open callback for secrets; the caller holds the read lock. */
static int ring_lookup(void *ud, const char *key_id, uint8_t key[CRYPTO_KEY_BYTES])
{
    const struct ops_keyring *kr = ud;
    for (int i = 0; i < kr->nkeys; i++) {
        if (strcmp(kr->keys[i].id, key_id) == 0) {
            memcpy(key, kr->keys[i].key, CRYPTO_KEY_BYTES);
            return 0;
        }
    }
    return ERR_NOTFOUND;
}

struct load_state {
    struct ops_keyring *kr;
    struct err *e;
    int active_seen;
};

static int load_key(void *ud, const struct store_key *k)
{
    struct load_state *st = ud;
    struct ops_keyring *kr = st->kr;
    char *plain = NULL;
    size_t n = 0;
    struct err oe = {0};
    int rc;
    if (kr->nkeys >= OPS_KEYS_MAX) {
        rc = err_set(st->e, ERR_INTERNAL, NULL, "key ring holds more than %d keys", OPS_KEYS_MAX);
        goto out;
    }
    if (crypto_open(&plain, &n, k->wrapped, master_lookup, kr->master, &oe) != 0 || n != CRYPTO_KEY_BYTES) {
        rc = err_set(st->e, ERR_FORBIDDEN, "wrong_secret_key",
                     "data key %s cannot be unwrapped: SB_SECRET_KEY does not match the key the data was "
                     "encrypted with",
                     k->id);
        goto out;
    }
    struct ops_key *dst = &kr->keys[kr->nkeys];
    snprintf(dst->id, sizeof(dst->id), "%s", k->id);
    memcpy(dst->key, plain, CRYPTO_KEY_BYTES);
    if (k->active) {
        kr->active = kr->nkeys;
        st->active_seen = 1;
    }
    kr->nkeys++;
    rc = 0;
out:
    if (plain) {
        sodium_memzero(plain, n);
        free(plain);
    }
    return rc;
}

/* The next id: "k" + (highest numeric suffix + 1). Caller holds a lock. */
static void next_key_id(const struct ops_keyring *kr, char out[32])
{
    long max = 0;
    for (int i = 0; i < kr->nkeys; i++) {
        if (kr->keys[i].id[0] == 'k') {
            long v = strtol(kr->keys[i].id + 1, NULL, 10);
            if (v > max)
                max = v;
        }
    }
    snprintf(out, 32, "k%ld", max + 1);
}

/* Create a data key, store it wrapped and active, then add it to the ring.
 * The caller holds rotate_lock (or is still constructing the ring). */
static int add_new_key(struct ops_keyring *kr, struct store *db, char new_id[32], struct err *e)
{
    struct store_key sk;
    uint8_t key[CRYPTO_KEY_BYTES];
    char *wrapped = NULL;
    int rc;
    memset(&sk, 0, sizeof(sk));
    if (kr->nkeys >= OPS_KEYS_MAX) {
        rc = err_set(e, ERR_CONFLICT, NULL, "key ring is full (%d keys)", OPS_KEYS_MAX);
        goto out;
    }
    pthread_rwlock_rdlock(&kr->lock);
    next_key_id(kr, sk.id);
    pthread_rwlock_unlock(&kr->lock);
    crypto_random(key, sizeof(key));
    if ((rc = crypto_seal(&wrapped, kr->master, "master", key, sizeof(key), e)) != 0)
        goto out;
    if (strlen(wrapped) >= sizeof(sk.wrapped)) {
        rc = err_set(e, ERR_INTERNAL, NULL, "wrapped key does not fit the store");
        goto out;
    }
    strcpy(sk.wrapped, wrapped);
    sk.active = 1;
    sk.created_at = time_now_ms();
    if ((rc = store_key_add(db, &sk, e)) != 0)
        goto out;
    pthread_rwlock_wrlock(&kr->lock);
    struct ops_key *dst = &kr->keys[kr->nkeys];
    memcpy(dst->id, sk.id, sizeof(dst->id));
    memcpy(dst->key, key, CRYPTO_KEY_BYTES);
    kr->active = kr->nkeys;
    kr->nkeys++;
    pthread_rwlock_unlock(&kr->lock);
    if (new_id)
        snprintf(new_id, 32, "%s", sk.id);
out:
    sodium_memzero(key, sizeof(key));
    free(wrapped);
    return rc;
}

int ops_keyring_open(struct ops_keyring **out, struct store *db, const uint8_t master[CRYPTO_KEY_BYTES],
                     struct err *e)
{
    struct ops_keyring *kr = calloc(1, sizeof(*kr));
    int rc;
    if (!kr)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_rwlock_init(&kr->lock, NULL);
    pthread_mutex_init(&kr->rotate_lock, NULL);
    memcpy(kr->master, master, CRYPTO_KEY_BYTES);
    kr->active = -1;

    struct load_state st = {kr, e, 0};
    for (int attempt = 0; attempt < 2; attempt++) {
        kr->nkeys = 0;
        kr->active = -1;
        st.active_seen = 0;
        rc = store_key_list(db, load_key, &st, e);
        if (rc != 0) {
            if (rc > 0)
                rc = ERR_INTERNAL;
            goto out;
        }
        if (kr->nkeys > 0)
            break;
        /* Empty ring: create k1. Another process starting at the same time
         * may win the race (ERR_CONFLICT on "k1"): then load its key. */
        rc = add_new_key(kr, db, NULL, e);
        if (rc == 0)
            break;
        if (rc != ERR_CONFLICT || attempt == 1)
            goto out;
        err_clear(e);
    }
    if (kr->active < 0) {
        rc = err_set(e, ERR_INTERNAL, "keyring_corrupt", "key ring has keys but none is active");
        goto out;
    }
    *out = kr;
    kr = NULL;
    rc = 0;
out:
    ops_keyring_free(kr);
    return rc;
}

void ops_keyring_free(struct ops_keyring *kr)
{
    if (!kr)
        return;
    pthread_rwlock_destroy(&kr->lock);
    pthread_mutex_destroy(&kr->rotate_lock);
    sodium_memzero(kr, sizeof(*kr));
    free(kr);
}

const char *ops_keyring_active_id(const struct ops_keyring *kr)
{
    /* Ids of existing keys never change and keys are never removed, so the
     * pointer stays valid after the lock is released; which key is active
     * may change (rotation), and callers only use this for display. The lock
     * is logically mutable state, hence the cast. */
    pthread_rwlock_t *lock = (pthread_rwlock_t *)&kr->lock;
    pthread_rwlock_rdlock(lock);
    const char *id = kr->active >= 0 ? kr->keys[kr->active].id : "";
    pthread_rwlock_unlock(lock);
    return id;
}

/* Seal with the active key; copies its id into key_id. */
static int seal_active(struct ops_keyring *kr, char **sealed, char key_id[32], const void *value, size_t n,
                       struct err *e)
{
    pthread_rwlock_rdlock(&kr->lock);
    const struct ops_key *k = &kr->keys[kr->active];
    memcpy(key_id, k->id, 32);
    int rc = crypto_seal(sealed, k->key, k->id, value, n, e);
    pthread_rwlock_unlock(&kr->lock);
    return rc;
}

static int open_sealed(struct ops_keyring *kr, const char *sealed, char **out, size_t *outlen, struct err *e)
{
    pthread_rwlock_rdlock(&kr->lock);
    int rc = crypto_open(out, outlen, sealed, ring_lookup, kr, e);
    pthread_rwlock_unlock(&kr->lock);
    return rc;
}

int ops_secret_put(struct ops_keyring *kr, struct store *db, const char *tenant_id, const char *name,
                   const void *value, size_t n, struct err *e)
{
    char *sealed = NULL;
    char key_id[32];
    int rc;
    if (!tenant_id || !*tenant_id || !name || !*name) {
        rc = err_set(e, ERR_INVALID, NULL, "a secret needs a tenant and a name");
        goto out;
    }
    if ((rc = seal_active(kr, &sealed, key_id, value, n, e)) != 0)
        goto out;
    rc = store_secret_put(db, tenant_id, name, key_id, sealed, time_now_ms(), e);
out:
    free(sealed);
    return rc;
}

int ops_secret_put_tx(struct ops_keyring *kr, struct store_tx *tx, const char *tenant_id, const char *name,
                      const void *value, size_t n, struct err *e)
{
    char *sealed = NULL;
    char key_id[32];
    int rc;
    if (!tenant_id || !*tenant_id || !name || !*name) {
        rc = err_set(e, ERR_INVALID, NULL, "a secret needs a tenant and a name");
        goto out;
    }
    if ((rc = seal_active(kr, &sealed, key_id, value, n, e)) != 0)
        goto out;
    rc = store_secret_put_tx(tx, tenant_id, name, key_id, sealed, time_now_ms(), e);
out:
    free(sealed);
    return rc;
}

int ops_secret_get(struct ops_keyring *kr, struct store *db, const char *tenant_id, const char *name,
                   char **out, size_t *outlen, struct err *e)
{
    char *sealed = NULL;
    int rc;
    if ((rc = store_secret_get(db, tenant_id, name, &sealed, e)) != 0)
        goto out;
    rc = open_sealed(kr, sealed, out, outlen, e);
out:
    free(sealed);
    return rc;
}

/* Rotation collects every secret first (no writes while the scan holds a
 * connection), then re-seals them one by one. */
struct pending_secret {
    char tenant_id[CORE_ID_MAX];
    char name[128];
    char *sealed;
};

struct collect_state {
    struct pending_secret *items;
    size_t n, cap;
};

static int collect_secret(void *ud, const struct store_secret *s)
{
    struct collect_state *st = ud;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct pending_secret *p = realloc(st->items, cap * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        st->items = p;
        st->cap = cap;
    }
    struct pending_secret *p = &st->items[st->n];
    snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", s->tenant_id);
    snprintf(p->name, sizeof(p->name), "%s", s->name);
    p->sealed = strdup(s->sealed ? s->sealed : "");
    if (!p->sealed)
        return ERR_NOMEM;
    st->n++;
    return 0;
}

int ops_keys_rotate(struct ops_keyring *kr, struct store *db, char new_id[32], int64_t *reencrypted,
                    struct err *e)
{
    struct collect_state st = {0};
    int64_t count = 0;
    int rc;
    pthread_mutex_lock(&kr->rotate_lock);
    if ((rc = add_new_key(kr, db, new_id, e)) != 0)
        goto out;
    if ((rc = store_secret_scan(db, collect_secret, &st, e)) != 0) {
        if (rc == ERR_NOMEM)
            err_set(e, ERR_NOMEM, NULL, "out of memory collecting secrets");
        goto out;
    }
    for (size_t i = 0; i < st.n; i++) {
        char *plain = NULL, *sealed = NULL;
        size_t n = 0;
        char key_id[32];
        rc = open_sealed(kr, st.items[i].sealed, &plain, &n, e);
        if (rc == 0)
            rc = seal_active(kr, &sealed, key_id, plain, n, e);
        /* Only if unchanged since the scan: a secret deleted meanwhile (a
         * removed channel account) must not come back, and one rewritten
         * meanwhile keeps its new value (already under the new key). */
        int changed = 0;
        if (rc == 0)
            rc = store_secret_reseal(db, st.items[i].tenant_id, st.items[i].name, st.items[i].sealed, key_id, sealed,
                                     time_now_ms(), &changed, e);
        if (plain) {
            sodium_memzero(plain, n);
            free(plain);
        }
        free(sealed);
        if (rc != 0)
            goto out;
        count += changed;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&kr->rotate_lock);
    for (size_t i = 0; i < st.n; i++)
        free(st.items[i].sealed);
    free(st.items);
    if (reencrypted)
        *reencrypted = count;
    return rc;
}

int ops_keyring_derive(struct ops_keyring *kr, const char *key_id, const char *purpose,
                       uint8_t out[CRYPTO_KEY_BYTES], char *used_id, struct err *e)
{
    char label[96];
    int idx = -1;

    snprintf(label, sizeof(label), "switchboard/%s", purpose ? purpose : "");
    pthread_rwlock_rdlock(&kr->lock);
    if (!key_id) {
        idx = kr->active;
    } else {
        for (int i = 0; i < kr->nkeys; i++)
            if (strcmp(kr->keys[i].id, key_id) == 0)
                idx = i;
    }
    if (idx >= 0) {
        crypto_hmac_sha256(out, kr->keys[idx].key, CRYPTO_KEY_BYTES, label, strlen(label));
        if (used_id)
            snprintf(used_id, 32, "%s", kr->keys[idx].id);
    }
    pthread_rwlock_unlock(&kr->lock);
    if (idx < 0)
        return err_set(e, ERR_NOTFOUND, NULL, "no such key in the ring");
    return 0;
}
