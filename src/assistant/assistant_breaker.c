/*
 * assistant_breaker: a circuit breaker per provider key, so a failing LLM
 * stops costing every conversation a timeout.
 *
 * closed: calls go ahead; threshold consecutive failures open it.
 * open: calls fail fast ("circuit_open") until cooldown_ms has passed.
 * half-open: one trial call goes ahead, the others still fail fast; its
 * success closes the circuit, its failure opens it for a new cool-down.
 * A trial that never reports back (a caller that crashed mid-call) is
 * given up after another cool-down, so the circuit cannot stick half-open.
 * One mutex guards the table; keys are few (one per configured provider).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"

struct breaker__entry {
    char *key;
    enum assistant_breaker_state state;
    int failures;                 /* consecutive, while closed */
    int64_t opened_at;            /* ms, when it last opened */
    int trial;                    /* half-open: the trial call is out */
    int64_t trial_at;
    struct breaker__entry *next;
};

struct assistant_breaker {
    pthread_mutex_t mu;
    int threshold;
    int64_t cooldown_ms;
    assistant_clock_fn clock;
    void *clock_ud;
    struct breaker__entry *entries;
};

static int64_t breaker__real_clock(void *ud)
{
    (void)ud;
    return time_mono_ns() / 1000000;
}

int assistant_breaker_new(struct assistant_breaker **out, int threshold, int64_t cooldown_ms, assistant_clock_fn clock,
                          void *clock_ud, struct err *e)
{
    *out = NULL;
    if (threshold < 1 || cooldown_ms < 0)
        return err_set(e, ERR_INVALID, NULL, "a circuit breaker needs a threshold >= 1 and a cool-down >= 0");
    struct assistant_breaker *b = calloc(1, sizeof *b);
    if (!b)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms;
    b->clock = clock ? clock : breaker__real_clock;
    b->clock_ud = clock_ud;
    *out = b;
    return 0;
}

void assistant_breaker_free(struct assistant_breaker *b)
{
    if (!b)
        return;
    struct breaker__entry *n;
    for (struct breaker__entry *x = b->entries; x; x = n) {
        n = x->next;
        free(x->key);
        free(x);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* The entry for key, created closed; NULL on OOM. Called locked. */
static struct breaker__entry *breaker__get(struct assistant_breaker *b, const char *key)
{
    if (!key)
        key = "";
    for (struct breaker__entry *x = b->entries; x; x = x->next)
        if (strcmp(x->key, key) == 0)
            return x;
    struct breaker__entry *x = calloc(1, sizeof *x);
    if (!x || !(x->key = strdup(key))) {
        free(x);
        return NULL;
    }
    x->next = b->entries;
    b->entries = x;
    return x;
}

/* Move an open circuit whose cool-down is over to half-open. Called locked. */
static void breaker__tick(struct assistant_breaker *b, struct breaker__entry *x, int64_t now)
{
    if (x->state == ASSISTANT_BREAKER_OPEN && now - x->opened_at >= b->cooldown_ms) {
        x->state = ASSISTANT_BREAKER_HALF_OPEN;
        x->trial = 0;
    }
    if (x->state == ASSISTANT_BREAKER_HALF_OPEN && x->trial && now - x->trial_at >= b->cooldown_ms)
        x->trial = 0; /* the trial never reported back */
}

int assistant_breaker_allow(struct assistant_breaker *b, const char *key, struct err *e)
{
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    int64_t now = b->clock(b->clock_ud);
    struct breaker__entry *x = breaker__get(b, key);
    if (!x) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    breaker__tick(b, x, now);
    switch (x->state) {
    case ASSISTANT_BREAKER_CLOSED:
        break;
    case ASSISTANT_BREAKER_OPEN:
        rc = err_set(e, ERR_UPSTREAM, "circuit_open", "the provider's circuit is open for %lld ms more",
                     (long long)(b->cooldown_ms - (now - x->opened_at)));
        break;
    case ASSISTANT_BREAKER_HALF_OPEN:
        if (x->trial) {
            rc = err_set(e, ERR_UPSTREAM, "circuit_open", "the provider's circuit is half-open and a trial is out");
        } else {
            x->trial = 1;
            x->trial_at = now;
        }
        break;
    }
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void assistant_breaker_record(struct assistant_breaker *b, const char *key, int ok)
{
    pthread_mutex_lock(&b->mu);
    int64_t now = b->clock(b->clock_ud);
    struct breaker__entry *x = breaker__get(b, key);
    if (!x)
        goto out;
    if (ok) {
        x->state = ASSISTANT_BREAKER_CLOSED;
        x->failures = 0;
        x->trial = 0;
        goto out;
    }
    switch (x->state) {
    case ASSISTANT_BREAKER_CLOSED:
        if (++x->failures >= b->threshold) {
            x->state = ASSISTANT_BREAKER_OPEN;
            x->opened_at = now;
        }
        break;
    case ASSISTANT_BREAKER_HALF_OPEN:
        x->state = ASSISTANT_BREAKER_OPEN;
        x->opened_at = now;
        x->trial = 0;
        break;
    case ASSISTANT_BREAKER_OPEN:
        break; /* a call let through before it opened: already counted */
    }
out:
    pthread_mutex_unlock(&b->mu);
}

enum assistant_breaker_state assistant_breaker_state(struct assistant_breaker *b, const char *key)
{
    enum assistant_breaker_state s = ASSISTANT_BREAKER_CLOSED;
    pthread_mutex_lock(&b->mu);
    struct breaker__entry *x = breaker__get(b, key);
    if (x) {
        breaker__tick(b, x, b->clock(b->clock_ud));
        s = x->state;
    }
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *assistant_breaker_state_name(enum assistant_breaker_state s)
{
    switch (s) {
    case ASSISTANT_BREAKER_CLOSED:
        return "closed";
    case ASSISTANT_BREAKER_OPEN:
        return "open";
    case ASSISTANT_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "closed";
}
