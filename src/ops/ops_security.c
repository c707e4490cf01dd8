/*
 * ops_security: security events (refused webhooks, replays), counted always
 * and written under a throttle so that a flood of forged requests cannot
 * become a flood of database writes.
 *
 * The throttle is a fixed table of slots, one per recent (kind, account, ip,
 * reason) key, by hash: a key written less than interval_ms ago is not
 * written again; a colliding key takes the slot over (at worst one extra
 * write). On top, a per-second budget caps writes overall, whatever the
 * keys. s->mu guards the table and the budget, never a database call.
 * Asynchronous writes own a copy of the event; nothing refers back to s.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define SECURITY_SLOTS 1024 /* power of two */

struct security_slot {
    uint64_t key;
    int64_t last_ms;
};

struct ops_security {
    struct store *db;
    struct ops_metrics *metrics;
    struct store_writer *writer;
    int64_t interval_ms;
    int max_per_second;
    pthread_mutex_t mu;
    struct security_slot slots[SECURITY_SLOTS];
    int64_t budget_second;   /* the Unix second the budget counts */
    int budget_used;
};

int ops_security_new(struct ops_security **out, const struct ops_security_options *opt, struct err *e)
{
    struct ops_security *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (!s)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    s->db = opt->db;
    s->metrics = opt->metrics;
    s->writer = opt->writer;
    s->interval_ms = opt->interval_ms > 0 ? opt->interval_ms : 1000;
    s->max_per_second = opt->max_per_second > 0 ? opt->max_per_second : 50;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void ops_security_free(struct ops_security *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static uint64_t security_key(const char *kind, const char *account_id, const char *ip, const char *reason)
{
    const char *parts[4] = {kind, account_id, ip, reason};
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 4; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h ? h : 1; /* 0 marks an empty slot */
}

/* 1 when this event should be written now (and books it). */
static int security_admit(struct ops_security *s, uint64_t key, int64_t now)
{
    struct security_slot *slot = &s->slots[key & (SECURITY_SLOTS - 1)];
    int admit = 0;

    pthread_mutex_lock(&s->mu);
    if (slot->key == key && now - slot->last_ms < s->interval_ms)
        goto out;
    if (s->budget_second != now / 1000) {
        s->budget_second = now / 1000;
        s->budget_used = 0;
    }
    if (s->budget_used >= s->max_per_second)
        goto out;
    s->budget_used++;
    slot->key = key;
    slot->last_ms = now;
    admit = 1;
out:
    pthread_mutex_unlock(&s->mu);
    return admit;
}

/* An asynchronous write: owns its copy of the event. */
struct security_write {
    struct store_security_event ev;
};

static int security_write_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct security_write *w = ud;
    return store_security_event_insert_tx(tx, w->ev.tenant_id, &w->ev, e);
}

static void security_write_done(void *ud, int rc, const struct err *e)
{
    struct security_write *w = ud;
    if (rc)
        log_warn(NULL, "security event %s/%s not recorded: %s", w->ev.kind, w->ev.reason, e ? e->msg : "error");
    free(w);
}

int ops_security_event(struct ops_security *s, const char *tenant_id, const char *kind, const char *provider,
                       const char *account_id, const char *ip, const char *reason, struct err *e)
{
    struct store_security_event ev;
    int64_t now = time_now_ms();
    int rc;

    if (!kind || !*kind || !reason || !*reason)
        return err_set(e, ERR_INVALID, NULL, "security event needs a kind and a reason");
    ops_metrics_count(s->metrics, "sb_security_events_total", "kind", kind, "reason", reason, 1);
    if (!security_admit(s, security_key(kind, account_id, ip, reason), now)) {
        ops_metrics_count(s->metrics, "sb_security_events_throttled_total", "kind", kind, "reason", reason, 1);
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.tenant_id, sizeof(ev.tenant_id), "%s", tenant_id ? tenant_id : "");
    ev.at = now;
    snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
    snprintf(ev.provider, sizeof(ev.provider), "%s", provider ? provider : "");
    snprintf(ev.account_id, sizeof(ev.account_id), "%s", account_id ? account_id : "");
    snprintf(ev.ip, sizeof(ev.ip), "%s", ip ? ip : "");
    snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
    if (s->writer) {
        struct security_write *w = malloc(sizeof(*w));
        if (w) {
            w->ev = ev;
            if (store_writer_submit(s->writer, security_write_fn, security_write_done, w, NULL) == 0)
                return 0;
            free(w); /* the writer is stopping: write inline */
        }
    }
    rc = store_security_event_insert(s->db, ev.tenant_id, &ev, e);
    return rc;
}

int ops_security_list(struct store *db, const char *tenant_id, int64_t before_id, int limit,
                      store_security_event_cb cb, void *ud, struct err *e)
{
    return store_security_event_list(db, tenant_id, before_id, limit, cb, ud, e);
}
