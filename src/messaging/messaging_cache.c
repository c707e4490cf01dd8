/*
 * messaging_cache: account snapshots for the hot paths (every webhook asks
 * messaging_account_by_key, every send messaging_account_get).
 *
 * A snapshot is one allocation (account, adapter, credentials as a
 * channel_kv array, their strings), immutable and reference-counted; the
 * cache holds one reference per index entry and each caller one more, so a
 * snapshot replaced or forgotten while in use lives until its last release.
 * Lookups take the read lock; a stale entry is refreshed by one caller while
 * the others keep getting the old snapshot, so an expiry never sends a burst
 * of identical queries to the database. Unknown keys and ids are cached too,
 * in a fixed direct-mapped array per index: a caller spraying random keys
 * costs a query each and evicts other misses, but cannot grow memory.
 * Loads run outside the lock and are installed only if no invalidation
 * (messaging__cache_forget) happened meanwhile, so a removal through this
 * process is never undone by a load that read the row before it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "messaging/messaging_int.h"

#define NEG_SLOTS_BY_KEY 4096
#define NEG_SLOTS_BY_ID 1024

struct messaging__snap {
    struct messaging_account_ref ref; /* first: a ref pointer is a snap pointer */
    atomic_long refs;
    size_t size;                      /* of the allocation, wiped on free */
};

struct messaging__entry {
    struct messaging__entry *next;
    uint64_t hash;
    char key[MESSAGING__KEY_MAX];
    int64_t loaded_ns;                /* monotonic */
    atomic_int refreshing;            /* one caller reloads a stale entry */
    struct messaging__snap *snap;     /* the table's reference */
};

struct messaging__slot {
    char key[MESSAGING__KEY_MAX];     /* "" = free */
    int64_t loaded_ns;
};

/* ------------------------------------------------------------ snapshots */

static void snap_release(struct messaging__snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        sodium_memzero(s, s->size); /* decrypted credentials */
        free(s);
    }
}

void messaging_account_release(const struct messaging_account_ref *ref)
{
    snap_release((struct messaging__snap *)(void *)ref);
}

/* Build a snapshot (refs = 1) from the row and its credentials, a JSON
 * object of strings. ERR_NOTFOUND for an unknown provider, ERR_INTERNAL for
 * credentials that are not such an object, ERR_NOMEM. */
static int snap_build(struct messaging__snap **out, const struct store_account *sa, const char *creds_json,
                      size_t creds_len, struct err *e)
{
    cJSON *root = NULL;
    struct messaging__snap *s = NULL;
    const cJSON *it;
    size_t n = 0, strbytes = 0;
    int rc = 0;

    *out = NULL;
    const struct channel_adapter *ad = channel_find(sa->provider);
    if (!ad)
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    if (json_parse(&root, creds_json, creds_len, NULL) != 0 || !cJSON_IsObject(root)) {
        rc = err_set(e, ERR_INTERNAL, "credentials_corrupt", "the account's stored credentials are not readable");
        goto out;
    }
    cJSON_ArrayForEach(it, root) {
        if (!cJSON_IsString(it) || !it->string) {
            rc = err_set(e, ERR_INTERNAL, "credentials_corrupt", "the account's stored credentials are not readable");
            goto out;
        }
        n++;
        strbytes += strlen(it->string) + 1 + strlen(it->valuestring) + 1;
    }
    size_t size = sizeof(*s) + n * sizeof(struct channel_kv) + strbytes;
    s = calloc(1, size);
    if (!s) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    s->size = size;
    atomic_init(&s->refs, 1);
    messaging__account_from_store(&s->ref.acct, sa);
    s->ref.adapter = ad;
    struct channel_kv *kv = (struct channel_kv *)(s + 1);
    char *p = (char *)(kv + n);
    size_t i = 0;
    cJSON_ArrayForEach(it, root) {
        size_t ln = strlen(it->string) + 1, lv = strlen(it->valuestring) + 1;
        memcpy(p, it->string, ln);
        kv[i].name = p;
        p += ln;
        memcpy(p, it->valuestring, lv);
        kv[i].value = p;
        p += lv;
        i++;
    }
    s->ref.creds.kv = kv;
    s->ref.creds.n = n;
    *out = s;
out:
    if (root) {
        /* cJSON keeps the plaintext credentials in its own strings. */
        cJSON_ArrayForEach(it, root) {
            if (cJSON_IsString(it) && it->valuestring)
                sodium_memzero(it->valuestring, strlen(it->valuestring));
        }
        cJSON_Delete(root);
    }
    return rc;
}

/* Load an account (by key, or by tenant and id) from the database and open
 * its credentials. ERR_NOTFOUND for unknown or removed accounts. */
static int snap_load(struct messaging *m, const char *account_key, const char *tenant_id, const char *account_id,
                     struct messaging__snap **out, struct err *e)
{
    struct store_account sa;
    char name[64];
    char *plain = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    rc = account_key ? store_account_by_key(m->db, account_key, &sa, e)
                     : store_account_get(m->db, tenant_id, account_id, &sa, e);
    if (rc)
        return rc;
    if (sa.removed_at)
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    messaging__secret_name(name, sa.id);
    rc = ops_secret_get(m->keys, m->db, sa.tenant_id, name, &plain, &n, e);
    if (rc == ERR_NOTFOUND) /* removed between the two reads */
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    if (rc)
        return rc;
    rc = snap_build(out, &sa, plain, n, e);
    sodium_memzero(plain, n);
    free(plain);
    return rc;
}

/* --------------------------------------------------------------- tables */

/* FNV-1a: keys are random tokens and ids, so no keyed hash is needed for
 * the entries; a caller choosing colliding misses only evicts misses. */
static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int table_init(struct messaging__table *t, size_t neg_slots)
{
    memset(t, 0, sizeof(*t));
    t->nbuckets = 64;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    t->nneg_slots = neg_slots;
    t->neg = calloc(neg_slots, sizeof(*t->neg));
    return t->buckets && t->neg ? 0 : ERR_NOMEM;
}

static void entry_free(struct messaging__entry *en)
{
    snap_release(en->snap);
    free(en);
}

static void table_destroy(struct messaging__table *t)
{
    for (size_t i = 0; t->buckets && i < t->nbuckets; i++) {
        struct messaging__entry *en = t->buckets[i];
        while (en) {
            struct messaging__entry *next = en->next;
            entry_free(en);
            en = next;
        }
    }
    free(t->buckets);
    free(t->neg);
    memset(t, 0, sizeof(*t));
}

static struct messaging__entry *table_find(const struct messaging__table *t, const char *key, uint64_t h)
{
    for (struct messaging__entry *en = t->buckets[h % t->nbuckets]; en; en = en->next)
        if (en->hash == h && strcmp(en->key, key) == 0)
            return en;
    return NULL;
}

static struct messaging__slot *table_neg(const struct messaging__table *t, uint64_t h)
{
    /* The high bits: the buckets use the low ones. */
    return &t->neg[(h >> 32) % t->nneg_slots];
}

/* Unlink and free the entry for key, if any. Write lock held. */
static void table_drop(struct messaging__table *t, const char *key, uint64_t h)
{
    struct messaging__entry **pp = &t->buckets[h % t->nbuckets];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0) {
            struct messaging__entry *en = *pp;
            *pp = en->next;
            entry_free(en);
            t->n--;
            return;
        }
    }
}

/* Double the buckets when the chains get long. Write lock held; failing to
 * grow only costs speed. */
static void table_grow(struct messaging__table *t)
{
    if (t->n <= t->nbuckets * 2)
        return;
    size_t nb = t->nbuckets * 2;
    struct messaging__entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct messaging__entry *en = t->buckets[i];
        while (en) {
            struct messaging__entry *next = en->next;
            en->next = b[en->hash % nb];
            b[en->hash % nb] = en;
            en = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

/* Record a load's outcome under the write lock: a snapshot (rc 0; the table
 * takes its own reference), a miss (ERR_NOTFOUND), or nothing (an error:
 * the stale entry, if any, stays for the next caller to retry). */
static void table_install(struct messaging__table *t, const char *key, uint64_t h, int rc, struct messaging__snap *s,
                          int64_t now_ns)
{
    struct messaging__entry *en = table_find(t, key, h);
    struct messaging__slot *slot = table_neg(t, h);
    if (rc == 0) {
        if (!en) {
            en = calloc(1, sizeof(*en));
            if (!en)
                return; /* not cached: the next lookup loads again */
            en->hash = h;
            memcpy(en->key, key, strlen(key) + 1);
            en->next = t->buckets[h % t->nbuckets];
            t->buckets[h % t->nbuckets] = en;
            t->n++;
        } else {
            snap_release(en->snap);
        }
        atomic_fetch_add(&s->refs, 1);
        en->snap = s;
        en->loaded_ns = now_ns;
        atomic_store(&en->refreshing, 0);
        if (strcmp(slot->key, key) == 0) {
            slot->key[0] = '\0';
            t->nneg--;
        }
        table_grow(t);
    } else if (rc == ERR_NOTFOUND) {
        if (en)
            table_drop(t, key, h);
        if (!slot->key[0])
            t->nneg++;
        memcpy(slot->key, key, strlen(key) + 1);
        slot->loaded_ns = now_ns;
    } else if (en) {
        atomic_store(&en->refreshing, 0);
    }
}

/* ---------------------------------------------------------------- cache */

int messaging__cache_init(struct messaging__cache *c, int64_t ttl_ms, struct err *e)
{
    memset(c, 0, sizeof(*c));
    c->ttl_ns = (ttl_ms > 0 ? ttl_ms : 5000) * 1000000;
    if (table_init(&c->by_key, NEG_SLOTS_BY_KEY) != 0 || table_init(&c->by_id, NEG_SLOTS_BY_ID) != 0) {
        table_destroy(&c->by_key);
        table_destroy(&c->by_id);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    pthread_rwlock_init(&c->lock, NULL);
    atomic_init(&c->gen, 0);
    atomic_init(&c->hits, 0);
    atomic_init(&c->loads, 0);
    return 0;
}

void messaging__cache_destroy(struct messaging__cache *c)
{
    if (!c->by_key.buckets && !c->by_id.buckets)
        return;
    table_destroy(&c->by_key);
    table_destroy(&c->by_id);
    pthread_rwlock_destroy(&c->lock);
}

void messaging__cache_forget(struct messaging__cache *c, const char *account_id)
{
    pthread_rwlock_wrlock(&c->lock);
    atomic_fetch_add(&c->gen, 1);
    struct messaging__table *ts[2] = {&c->by_key, &c->by_id};
    for (int k = 0; k < 2; k++) {
        struct messaging__table *t = ts[k];
        for (size_t i = 0; i < t->nbuckets; i++) {
            struct messaging__entry **pp = &t->buckets[i];
            while (*pp) {
                struct messaging__entry *en = *pp;
                if (strcmp(en->snap->ref.acct.id, account_id) == 0) {
                    *pp = en->next;
                    entry_free(en);
                    t->n--;
                } else {
                    pp = &en->next;
                }
            }
        }
    }
    pthread_rwlock_unlock(&c->lock);
}

/* The lookup both public functions share. account_key set: by key; else by
 * tenant and id (key is "<tenant>\n<id>"). */
static int cache_lookup(struct messaging *m, struct messaging__table *t, const char *key, const char *account_key,
                        const char *tenant_id, const char *account_id, struct messaging__snap **out, struct err *e)
{
    struct messaging__cache *c = &m->cache;
    uint64_t h = key_hash(key);
    int64_t now = time_mono_ns();
    struct messaging__snap *s = NULL;
    int rc;

    *out = NULL;
    pthread_rwlock_rdlock(&c->lock);
    struct messaging__entry *en = table_find(t, key, h);
    if (en) {
        /* Fresh, or stale with another caller already reloading it: serve
         * what we have. Otherwise this caller reloads. */
        if (now - en->loaded_ns < c->ttl_ns || atomic_exchange(&en->refreshing, 1) == 1) {
            s = en->snap;
            atomic_fetch_add(&s->refs, 1);
        }
    } else {
        const struct messaging__slot *slot = table_neg(t, h);
        if (strcmp(slot->key, key) == 0 && now - slot->loaded_ns < c->ttl_ns) {
            pthread_rwlock_unlock(&c->lock);
            atomic_fetch_add(&c->hits, 1);
            return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (s) {
        atomic_fetch_add(&c->hits, 1);
        *out = s;
        return 0;
    }
    uint64_t gen = atomic_load(&c->gen);
    atomic_fetch_add(&c->loads, 1);
    rc = snap_load(m, account_key, tenant_id, account_id, &s, e);
    pthread_rwlock_wrlock(&c->lock);
    if (atomic_load(&c->gen) == gen) {
        table_install(t, key, h, rc, s, time_mono_ns());
    } else if ((en = table_find(t, key, h)) != NULL) {
        atomic_store(&en->refreshing, 0); /* invalidated meanwhile: the next caller loads */
    }
    pthread_rwlock_unlock(&c->lock);
    if (rc)
        return rc;
    *out = s;
    return 0;
}

/* Account keys are crypto_random_token output: 16 to 63 URL-safe base64
 * characters. Anything else is refused before the cache and the database. */
static int plausible_key(const char *k)
{
    size_t n = 0;
    for (; k[n]; n++) {
        char ch = k[n];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_'))
            return 0;
        if (n >= 63)
            return 0;
    }
    return n >= 16;
}

int messaging_account_by_key(struct messaging *m, const char *provider, const char *account_key,
                             const struct messaging_account_ref **out, struct err *e)
{
    struct messaging__snap *s = NULL;
    int rc;

    *out = NULL;
    if (!provider || !account_key || !channel_find(provider) || !plausible_key(account_key))
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    rc = cache_lookup(m, &m->cache.by_key, account_key, account_key, NULL, NULL, &s, e);
    if (rc)
        return rc;
    if (strcmp(s->ref.acct.provider, provider) != 0) {
        snap_release(s);
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    }
    *out = &s->ref;
    return 0;
}

int messaging_account_get(struct messaging *m, const char *tenant_id, const char *account_id,
                          const struct messaging_account_ref **out, struct err *e)
{
    char key[MESSAGING__KEY_MAX];
    struct messaging__snap *s = NULL;
    int rc;

    *out = NULL;
    if (!tenant_id || !*tenant_id || !account_id || !*account_id)
        return err_set(e, ERR_INVALID, NULL, "tenant and account are required");
    if (strlen(tenant_id) >= CORE_ID_MAX || strlen(account_id) >= CORE_ID_MAX || strchr(tenant_id, '\n'))
        return err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    snprintf(key, sizeof(key), "%s\n%s", tenant_id, account_id);
    rc = cache_lookup(m, &m->cache.by_id, key, NULL, tenant_id, account_id, &s, e);
    if (rc)
        return rc;
    *out = &s->ref;
    return 0;
}

void messaging_account_cache_stats(struct messaging *m, struct messaging_cache_stats *out)
{
    struct messaging__cache *c = &m->cache;
    memset(out, 0, sizeof(*out));
    out->hits = atomic_load(&c->hits);
    out->loads = atomic_load(&c->loads);
    pthread_rwlock_rdlock(&c->lock);
    out->entries = c->by_key.n + c->by_id.n;
    out->negative = c->by_key.nneg + c->by_id.nneg;
    pthread_rwlock_unlock(&c->lock);
}
