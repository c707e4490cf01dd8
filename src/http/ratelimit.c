/*
 * ratelimit: token buckets by key (a client IP, a widget token), in memory,
 * for the public widget API.
 *
 * A bucket holds up to burst tokens and refills at per_minute / 60 tokens a
 * second; a request takes one token or is refused with the seconds until
 * one is back (Retry-After). Memory is fixed at creation: keys hash (keyed
 * SipHash, so clients cannot aim collisions) into sets of RL_WAYS slots; a
 * new key takes a free slot, else one whose bucket has refilled completely
 * (forgetting it changes nothing: a new bucket starts full), else the set's
 * least recently used one. One mutex: a take is a few dozen instructions.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http_int.h"

#define RL_WAYS 8

struct rl_slot {
    uint64_t key;      /* 0 = free */
    double tokens;
    int64_t at_ms;     /* when tokens was computed */
};

struct http_ratelimit {
    pthread_mutex_t mu;
    double per_ms;     /* refill, tokens per millisecond */
    double burst;
    size_t nsets;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    struct rl_slot *slots; /* nsets * RL_WAYS */
    uint64_t evictions;
};

int http__ratelimit_new(struct http_ratelimit **out, int64_t per_minute, int64_t burst, size_t max_keys)
{
    struct http_ratelimit *rl;
    *out = NULL;
    if (per_minute < 1 || burst < 1)
        return ERR_INVALID;
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return ERR_NOMEM;
    rl->nsets = max_keys / RL_WAYS;
    if (rl->nsets < 1)
        rl->nsets = 1;
    rl->slots = calloc(rl->nsets * RL_WAYS, sizeof(*rl->slots));
    if (!rl->slots) {
        free(rl);
        return ERR_NOMEM;
    }
    rl->per_ms = (double)per_minute / 60000.0;
    rl->burst = (double)burst;
    crypto_random(rl->hash_key, sizeof(rl->hash_key));
    pthread_mutex_init(&rl->mu, NULL);
    *out = rl;
    return 0;
}

void http__ratelimit_free(struct http_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

static double rl_level(const struct http_ratelimit *rl, const struct rl_slot *s, int64_t now_ms)
{
    double t = s->tokens + (double)(now_ms > s->at_ms ? now_ms - s->at_ms : 0) * rl->per_ms;
    return t > rl->burst ? rl->burst : t;
}

int http__ratelimit_take(struct http_ratelimit *rl, const char *key, int64_t now_ms)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t k;
    struct rl_slot *set, *s = NULL;
    int retry = 0;

    if (!rl || !key)
        return 0;
    crypto_shorthash(h, (const unsigned char *)key, strlen(key), rl->hash_key);
    memcpy(&k, h, sizeof(k));
    if (k == 0)
        k = 1;
    pthread_mutex_lock(&rl->mu);
    set = rl->slots + (size_t)(k % rl->nsets) * RL_WAYS;
    for (int i = 0; i < RL_WAYS && !s; i++)
        if (set[i].key == k)
            s = &set[i];
    if (!s) {
        struct rl_slot *victim = NULL;
        for (int i = 0; i < RL_WAYS; i++) {
            struct rl_slot *c = &set[i];
            if (!c->key || rl_level(rl, c, now_ms) >= rl->burst) {
                victim = c;
                break;
            }
            if (!victim || c->at_ms < victim->at_ms)
                victim = c;
        }
        if (victim->key && rl_level(rl, victim, now_ms) < rl->burst)
            rl->evictions++;
        s = victim;
        s->key = k;
        s->tokens = rl->burst;
        s->at_ms = now_ms;
    }
    s->tokens = rl_level(rl, s, now_ms);
    if (now_ms > s->at_ms)
        s->at_ms = now_ms;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
    } else {
        double wait_ms = (1.0 - s->tokens) / rl->per_ms;
        retry = (int)(wait_ms / 1000.0);
        if ((double)retry * 1000.0 < wait_ms)
            retry++;
        if (retry < 1)
            retry = 1;
    }
    pthread_mutex_unlock(&rl->mu);
    return retry;
}

uint64_t http__ratelimit_evictions(struct http_ratelimit *rl)
{
    uint64_t n;
    pthread_mutex_lock(&rl->mu);
    n = rl->evictions;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
