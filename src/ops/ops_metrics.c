/*
 * ops_metrics: the in-process metrics registry and its Prometheus text
 * exposition (format 0.0.4).
 *
 * Hot path: ops_metrics_request runs on every HTTP request, so it takes no
 * lock. Series live in fixed-size open-addressing tables whose slots are
 * claimed once with a CAS (EMPTY -> BUSY -> READY) and never freed; counters
 * are relaxed atomics. Routes are router patterns, a bounded set; when a
 * table fills up, new label sets fall into one "other" overflow series so the
 * registry can never grow without bound. Domain counters
 * (ops_metrics_count: security events, webhooks) live in a third table of
 * the same kind, keyed by metric name and a pre-rendered label string.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

#define OPS_SERIES_CAP 1024      /* power of two */
#define OPS_METHOD_MAX 16
#define OPS_ROUTE_MAX 128
#define OPS_NBUCKETS 14

static const double ops_buckets[OPS_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,   5,     10};
/* The same bounds in nanoseconds, so the hot path compares integers. */
static const int64_t ops_buckets_ns[OPS_NBUCKETS] = {
    500000,    1000000,   2500000,    5000000,    10000000,   25000000,   50000000,
    100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000};

enum { SLOT_EMPTY = 0, SLOT_BUSY = 1, SLOT_READY = 2 };

/* One label set. Key fields are written once, before state becomes READY. */
struct ops_series {
    atomic_int state;
    char method[OPS_METHOD_MAX];
    char route[OPS_ROUTE_MAX];
    int status;                            /* 0 in the histogram table */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_ns;           /* histogram table only */
    atomic_uint_fast64_t buckets[OPS_NBUCKETS]; /* non-cumulative; histogram only */
};

/* A domain counter: name{labels}. */
struct ops_counter {
    atomic_int state;
    char name[64];
    char labels[192];                      /* rendered: a="x",b="y" */
    atomic_uint_fast64_t count;
};

#define OPS_COUNTER_CAP 1024             /* power of two */

/* A domain histogram: name{labels} over the fixed ops_obs_bounds (seconds),
 * for durations far longer than a request's (status callback latency). */
#define OPS_OBS_NBUCKETS 11
static const double ops_obs_bounds[OPS_OBS_NBUCKETS] = {0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600};

struct ops_hist {
    atomic_int state;
    char name[64];
    char labels[192];
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
    atomic_uint_fast64_t buckets[OPS_OBS_NBUCKETS]; /* non-cumulative */
};

#define OPS_HIST_CAP 64                  /* power of two */

struct ops_metrics {
    struct ops_counter counters[OPS_COUNTER_CAP];
    struct ops_hist hists[OPS_HIST_CAP];
    struct ops_series requests[OPS_SERIES_CAP];  /* (method, route, status) */
    struct ops_series latency[OPS_SERIES_CAP];   /* (route) */
    struct ops_series req_other;                 /* overflow series */
    struct ops_series lat_other;
    atomic_int_fast64_t inflight;
    int64_t start_ms;
};

int ops_metrics_new(struct ops_metrics **out)
{
    struct ops_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return ERR_NOMEM;
    /* calloc gives all-zero atomics, which C17 permits for lock-free types
     * on every platform we build for; initialise explicitly anyway. */
    for (size_t i = 0; i < OPS_COUNTER_CAP; i++)
        atomic_init(&m->counters[i].state, SLOT_EMPTY);
    for (size_t i = 0; i < OPS_HIST_CAP; i++)
        atomic_init(&m->hists[i].state, SLOT_EMPTY);
    for (size_t i = 0; i < OPS_SERIES_CAP; i++) {
        atomic_init(&m->requests[i].state, SLOT_EMPTY);
        atomic_init(&m->latency[i].state, SLOT_EMPTY);
    }
    atomic_init(&m->req_other.state, SLOT_READY);
    strcpy(m->req_other.method, "other");
    strcpy(m->req_other.route, "other");
    atomic_init(&m->lat_other.state, SLOT_READY);
    strcpy(m->lat_other.route, "other");
    atomic_init(&m->inflight, 0);
    m->start_ms = time_now_ms();
    *out = m;
    return 0;
}

void ops_metrics_free(struct ops_metrics *m)
{
    free(m);
}

/* FNV-1a over the label values. */
static uint64_t series_hash(const char *method, const char *route, int status)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = method; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = route; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ (uint64_t)(unsigned)status) * 1099511628211ULL;
    return h;
}

static int series_matches(const struct ops_series *s, const char *method, const char *route, int status)
{
    return s->status == status && strcmp(s->method, method) == 0 && strcmp(s->route, route) == 0;
}

/* Find or claim the slot for a label set; the overflow series when full or
 * when a label is too long to store exactly. */
static struct ops_series *series_get(struct ops_series *table, struct ops_series *other, const char *method,
                                     const char *route, int status)
{
    if (strlen(method) >= OPS_METHOD_MAX || strlen(route) >= OPS_ROUTE_MAX)
        return other;
    uint64_t h = series_hash(method, route, status);
    for (size_t probe = 0; probe < OPS_SERIES_CAP; probe++) {
        struct ops_series *s = &table[(h + probe) & (OPS_SERIES_CAP - 1)];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            int expected = SLOT_EMPTY;
            if (atomic_compare_exchange_strong_explicit(&s->state, &expected, SLOT_BUSY, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                strcpy(s->method, method);
                strcpy(s->route, route);
                s->status = status;
                atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
                return s;
            }
            st = expected;
        }
        /* Another thread is writing this slot's key: it takes nanoseconds. */
        while (st == SLOT_BUSY)
            st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (series_matches(s, method, route, status))
            return s;
    }
    return other;
}

void ops_metrics_request(struct ops_metrics *m, const char *method, const char *route, int status,
                         int64_t duration_ns)
{
    if (!m)
        return;
    if (!method)
        method = "";
    if (!route)
        route = "unmatched";
    if (duration_ns < 0)
        duration_ns = 0;

    struct ops_series *r = series_get(m->requests, &m->req_other, method, route, status);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);

    struct ops_series *l = series_get(m->latency, &m->lat_other, "", route, 0);
    int b = 0;
    while (b < OPS_NBUCKETS && duration_ns > ops_buckets_ns[b])
        b++;
    if (b < OPS_NBUCKETS)
        atomic_fetch_add_explicit(&l->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->sum_ns, (uint64_t)duration_ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
}

/* A label value per the exposition format: \\, \" and \n escaped. */
static void put_label(struct buf *out, const char *v);

/* Append name="value" (escaped) to a fixed buffer; 0 when it did not fit. */
static int label_append(char *dst, size_t cap, const char *name, const char *value)
{
    struct buf b = {0};
    size_t used = strlen(dst);
    if (used)
        buf_putc(&b, ',');
    buf_puts(&b, name);
    buf_puts(&b, "=\"");
    put_label(&b, value ? value : "");
    buf_putc(&b, '"');
    int ok = used + b.len < cap;
    if (ok)
        memcpy(dst + used, b.data, b.len + 1);
    buf_free(&b);
    return ok;
}

void ops_metrics_count(struct ops_metrics *m, const char *name, const char *l1, const char *v1, const char *l2,
                       const char *v2, uint64_t delta)
{
    char labels[192] = "";
    if (!m || !name || strlen(name) >= sizeof m->counters[0].name)
        return;
    if ((l1 && !label_append(labels, sizeof labels, l1, v1)) || (l2 && !label_append(labels, sizeof labels, l2, v2)))
        return; /* labels too long to store exactly: dropped, never truncated */
    uint64_t h = series_hash(name, labels, 0);
    for (size_t probe = 0; probe < OPS_COUNTER_CAP; probe++) {
        struct ops_counter *c = &m->counters[(h + probe) & (OPS_COUNTER_CAP - 1)];
        int st = atomic_load_explicit(&c->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            int expected = SLOT_EMPTY;
            if (atomic_compare_exchange_strong_explicit(&c->state, &expected, SLOT_BUSY, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                strcpy(c->name, name);
                strcpy(c->labels, labels);
                atomic_store_explicit(&c->state, SLOT_READY, memory_order_release);
                atomic_fetch_add_explicit(&c->count, delta, memory_order_relaxed);
                return;
            }
            st = expected;
        }
        while (st == SLOT_BUSY)
            st = atomic_load_explicit(&c->state, memory_order_acquire);
        if (strcmp(c->name, name) == 0 && strcmp(c->labels, labels) == 0) {
            atomic_fetch_add_explicit(&c->count, delta, memory_order_relaxed);
            return;
        }
    }
    /* Full: callers use small fixed label sets, so this is not reached. */
}

void ops_metrics_observe(struct ops_metrics *m, const char *name, const char *l1, const char *v1, double seconds)
{
    char labels[192] = "";
    if (!m || !name || strlen(name) >= sizeof m->hists[0].name)
        return;
    if (l1 && !label_append(labels, sizeof labels, l1, v1))
        return;
    if (!(seconds >= 0)) /* negative or NaN: clocks disagree; counted as 0 */
        seconds = 0;
    uint64_t h = series_hash(name, labels, 1);
    for (size_t probe = 0; probe < OPS_HIST_CAP; probe++) {
        struct ops_hist *x = &m->hists[(h + probe) & (OPS_HIST_CAP - 1)];
        int st = atomic_load_explicit(&x->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            int expected = SLOT_EMPTY;
            if (atomic_compare_exchange_strong_explicit(&x->state, &expected, SLOT_BUSY, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                strcpy(x->name, name);
                strcpy(x->labels, labels);
                atomic_store_explicit(&x->state, SLOT_READY, memory_order_release);
                st = SLOT_READY;
            } else {
                st = expected;
            }
        }
        while (st == SLOT_BUSY)
            st = atomic_load_explicit(&x->state, memory_order_acquire);
        if (strcmp(x->name, name) != 0 || strcmp(x->labels, labels) != 0)
            continue;
        int b = 0;
        while (b < OPS_OBS_NBUCKETS && seconds > ops_obs_bounds[b])
            b++;
        if (b < OPS_OBS_NBUCKETS)
            atomic_fetch_add_explicit(&x->buckets[b], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&x->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
        atomic_fetch_add_explicit(&x->count, 1, memory_order_relaxed);
        return;
    }
}

uint64_t ops_metrics_observed(struct ops_metrics *m, const char *name, const char *l1, const char *v1)
{
    char labels[192] = "";
    if (!m || !name || (l1 && !label_append(labels, sizeof labels, l1, v1)))
        return 0;
    for (size_t i = 0; i < OPS_HIST_CAP; i++) {
        struct ops_hist *x = &m->hists[i];
        if (atomic_load_explicit(&x->state, memory_order_acquire) == SLOT_READY && strcmp(x->name, name) == 0 &&
            strcmp(x->labels, labels) == 0)
            return atomic_load_explicit(&x->count, memory_order_relaxed);
    }
    return 0;
}

uint64_t ops_metrics_counter_value(struct ops_metrics *m, const char *name, const char *l1, const char *v1,
                                   const char *l2, const char *v2)
{
    char labels[192] = "";
    uint64_t total = 0;
    if (!m || !name)
        return 0;
    if ((l1 && !label_append(labels, sizeof labels, l1, v1)) || (l2 && !label_append(labels, sizeof labels, l2, v2)))
        return 0;
    for (size_t i = 0; i < OPS_COUNTER_CAP; i++) {
        struct ops_counter *c = &m->counters[i];
        if (atomic_load_explicit(&c->state, memory_order_acquire) != SLOT_READY || strcmp(c->name, name) != 0)
            continue;
        if (!l1 || strcmp(c->labels, labels) == 0)
            total += atomic_load_explicit(&c->count, memory_order_relaxed);
    }
    return total;
}

/* HELP text of the domain counters we know; others get a generic one. */
static const struct {
    const char *name, *help;
} ops_counter_help[] = {
    {"sb_security_events_total",
     "Security-relevant refusals by kind and reason, every one (also those the throttle did not write)."},
    {"sb_security_events_throttled_total", "Security events counted but not written (repeats within the throttle)."},
    {"sb_webhook_requests_total", "Webhook requests by provider and outcome."},
    {"sb_webhook_events_total", "Webhook events by provider and result (stored, duplicate)."},
    {"sb_messages_total", "Messages by channel and the status they reached (received, queued, sent, delivered, read, "
                          "failed, undelivered), counted when the status is stored."},
    {"sb_message_failures_total", "Failed and undelivered messages by channel and reason (the error code)."},
    {"sb_callback_latency_seconds", "Status callbacks: from the provider's event time to their arrival, by provider."},
};

static const char *counter_help(const char *name)
{
    for (size_t k = 0; k < sizeof ops_counter_help / sizeof *ops_counter_help; k++)
        if (strcmp(ops_counter_help[k].name, name) == 0)
            return ops_counter_help[k].help;
    return NULL;
}

static int counter_cmp(const void *a, const void *b)
{
    const struct ops_counter *x = *(const struct ops_counter *const *)a, *y = *(const struct ops_counter *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static void render_counters(struct ops_metrics *m, struct buf *out)
{
    const struct ops_counter *ready[OPS_COUNTER_CAP];
    size_t n = 0;
    for (size_t i = 0; i < OPS_COUNTER_CAP; i++)
        if (atomic_load_explicit(&m->counters[i].state, memory_order_acquire) == SLOT_READY)
            ready[n++] = &m->counters[i];
    qsort(ready, n, sizeof *ready, counter_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct ops_counter *c = ready[i];
        if (i == 0 || strcmp(ready[i - 1]->name, c->name) != 0) {
            const char *help = counter_help(c->name) ? counter_help(c->name) : "A counter.";
            buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", c->name, help, c->name);
        }
        buf_printf(out, "%s{%s} %llu\n", c->name, c->labels,
                   (unsigned long long)atomic_load_explicit(&c->count, memory_order_relaxed));
    }
}

static int hist_cmp(const void *a, const void *b)
{
    const struct ops_hist *x = *(const struct ops_hist *const *)a, *y = *(const struct ops_hist *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static void render_hists(struct ops_metrics *m, struct buf *out)
{
    const struct ops_hist *ready[OPS_HIST_CAP];
    size_t n = 0;
    for (size_t i = 0; i < OPS_HIST_CAP; i++)
        if (atomic_load_explicit(&m->hists[i].state, memory_order_acquire) == SLOT_READY)
            ready[n++] = &m->hists[i];
    qsort(ready, n, sizeof *ready, hist_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct ops_hist *x = ready[i];
        const char *sep = x->labels[0] ? "," : "";
        uint64_t count = atomic_load_explicit(&x->count, memory_order_relaxed), cum = 0;
        if (i == 0 || strcmp(ready[i - 1]->name, x->name) != 0)
            buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", x->name,
                       counter_help(x->name) ? counter_help(x->name) : "A histogram.", x->name);
        for (int b = 0; b < OPS_OBS_NBUCKETS; b++) {
            cum += atomic_load_explicit(&x->buckets[b], memory_order_relaxed);
            if (cum > count)
                cum = count;
            buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", x->name, x->labels, sep, ops_obs_bounds[b],
                       (unsigned long long)cum);
        }
        buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", x->name, x->labels, sep, (unsigned long long)count);
        buf_printf(out, "%s_sum{%s} %.6f\n", x->name, x->labels,
                   (double)atomic_load_explicit(&x->sum_us, memory_order_relaxed) / 1e6);
        buf_printf(out, "%s_count{%s} %llu\n", x->name, x->labels, (unsigned long long)count);
    }
}

void ops_metrics_inflight(struct ops_metrics *m, int delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->inflight, delta, memory_order_relaxed);
}

/* A label value per the exposition format: \\, \" and \n escaped. */
static void put_label(struct buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            buf_puts(out, "\\\\");
        else if (*p == '"')
            buf_puts(out, "\\\"");
        else if (*p == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *p);
    }
}

static void render_requests(const struct ops_series *s, struct buf *out)
{
    uint64_t n = atomic_load_explicit(&s->count, memory_order_relaxed);
    if (n == 0)
        return;
    buf_puts(out, "sb_http_requests_total{method=\"");
    put_label(out, s->method);
    buf_puts(out, "\",route=\"");
    put_label(out, s->route);
    buf_printf(out, "\",status=\"%d\"} %llu\n", s->status, (unsigned long long)n);
}

static void render_latency(const struct ops_series *s, struct buf *out)
{
    uint64_t n = atomic_load_explicit(&s->count, memory_order_relaxed);
    if (n == 0)
        return;
    /* Buckets are cumulative in the exposition; +Inf equals _count. Counters
     * move while we read, so clamp to keep the series monotonic. */
    uint64_t cum = 0;
    for (int b = 0; b < OPS_NBUCKETS; b++) {
        cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
        if (cum > n)
            cum = n;
        buf_puts(out, "sb_http_request_duration_seconds_bucket{route=\"");
        put_label(out, s->route);
        buf_printf(out, "\",le=\"%g\"} %llu\n", ops_buckets[b], (unsigned long long)cum);
    }
    buf_puts(out, "sb_http_request_duration_seconds_bucket{route=\"");
    put_label(out, s->route);
    buf_printf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)n);
    buf_puts(out, "sb_http_request_duration_seconds_sum{route=\"");
    put_label(out, s->route);
    buf_printf(out, "\"} %.9f\n", (double)atomic_load_explicit(&s->sum_ns, memory_order_relaxed) / 1e9);
    buf_puts(out, "sb_http_request_duration_seconds_count{route=\"");
    put_label(out, s->route);
    buf_printf(out, "\"} %llu\n", (unsigned long long)n);
}

void ops_metrics_render(struct ops_metrics *m, struct store *db, struct buf *out)
{
    buf_puts(out, "# HELP sb_http_requests_total HTTP requests answered, by method, route pattern and status.\n"
                  "# TYPE sb_http_requests_total counter\n");
    for (size_t i = 0; i < OPS_SERIES_CAP; i++)
        if (atomic_load_explicit(&m->requests[i].state, memory_order_acquire) == SLOT_READY)
            render_requests(&m->requests[i], out);
    render_requests(&m->req_other, out);

    buf_puts(out, "# HELP sb_http_request_duration_seconds Time from request start to response, by route pattern.\n"
                  "# TYPE sb_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < OPS_SERIES_CAP; i++)
        if (atomic_load_explicit(&m->latency[i].state, memory_order_acquire) == SLOT_READY)
            render_latency(&m->latency[i], out);
    render_latency(&m->lat_other, out);

    buf_printf(out,
               "# HELP sb_http_requests_in_flight HTTP requests being served now.\n"
               "# TYPE sb_http_requests_in_flight gauge\n"
               "sb_http_requests_in_flight %lld\n",
               (long long)atomic_load_explicit(&m->inflight, memory_order_relaxed));

    if (db) {
        uint64_t queries = 0, query_ns = 0;
        store_stats(db, &queries, &query_ns);
        buf_printf(out,
                   "# HELP sb_db_queries_total Database queries run since start.\n"
                   "# TYPE sb_db_queries_total counter\n"
                   "sb_db_queries_total %llu\n"
                   "# HELP sb_db_query_seconds_total Time spent in database queries since start.\n"
                   "# TYPE sb_db_query_seconds_total counter\n"
                   "sb_db_query_seconds_total %.9f\n",
                   (unsigned long long)queries, (double)query_ns / 1e9);
    }

    render_counters(m, out);
    render_hists(m, out);

    buf_printf(out,
               "# HELP sb_process_start_time_seconds Start time of the process since the Unix epoch.\n"
               "# TYPE sb_process_start_time_seconds gauge\n"
               "sb_process_start_time_seconds %.3f\n",
               (double)m->start_ms / 1000.0);
}

int ops_ready(struct store *db, const char *extra, int extra_ok, struct buf *out)
{
    struct err e = {0};
    struct store_migration_info mi = {0};
    int rc = store_ping(db, &e);
    if (rc != 0) {
        buf_puts(out, "{\"status\":\"unavailable\",\"database\":");
        buf_json_str(out, e.msg[0] ? e.msg : "unreachable");
        buf_putc(out, '}');
        return ERR_UPSTREAM;
    }
    rc = store_migration_status(db, &mi, &e);
    if (rc != 0) {
        buf_puts(out, "{\"status\":\"unavailable\",\"database\":\"ok\",\"migrations\":{\"error\":");
        buf_json_str(out, e.msg[0] ? e.msg : "migration status unknown");
        buf_puts(out, "}}");
        return ERR_UPSTREAM;
    }
    int ready = mi.pending == 0 && mi.applied == mi.latest && extra_ok;
    buf_printf(out,
               "{\"status\":\"%s\",\"database\":\"ok\",\"migrations\":{\"latest\":%d,\"applied\":%d,\"pending\":%d}",
               ready ? "ready" : "unavailable", mi.latest, mi.applied, mi.pending);
    if (extra && *extra) {
        buf_putc(out, ',');
        buf_puts(out, extra);
    }
    buf_putc(out, '}');
    return ready ? 0 : ERR_UPSTREAM;
}
