/*
 * routes_monitoring: GET /api/v1/monitoring/summary, the dashboard's view of
 * a tenant's traffic over a time range: message counts per channel by
 * direction and status with the delivery rate, the most frequent failure
 * reasons, the distribution of status-callback latency per provider (how
 * long after the provider's event time its callback reached us), and the
 * tenant's jobs waiting, running and dead. Everything is aggregated in the
 * database (store_monitoring.c); this file only shapes the JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

#define MON_DEFAULT_RANGE_MS (24LL * 3600 * 1000)
#define MON_MAX_RANGE_MS (93LL * 24 * 3600 * 1000)
#define MON_MAX_CHANNELS 16
#define MON_MAX_FAILURES 50
#define MON_MAX_PROVIDERS 16

/* Callback latency bucket bounds (ms): 1 s to 1 h. */
static const int64_t mon_bounds_ms[] = {1000, 2000, 5000, 10000, 30000, 60000, 300000, 900000, 3600000};
#define MON_NBOUNDS ((int)(sizeof(mon_bounds_ms) / sizeof(mon_bounds_ms[0])))

static const char *const mon_out_status[] = {"queued", "sent", "delivered", "read", "failed", "undelivered"};
#define MON_NOUT ((int)(sizeof(mon_out_status) / sizeof(mon_out_status[0])))

struct mon_channel {
    char name[32];
    int64_t out[MON_NOUT];
    int64_t received;
};

struct mon_provider {
    char name[32];
    int64_t buckets[MON_NBOUNDS + 1]; /* the last is +Inf */
};

struct mon {
    struct mon_channel ch[MON_MAX_CHANNELS];
    int nch;
    struct mon_provider pr[MON_MAX_PROVIDERS];
    int npr;
    struct buf failures;               /* JSON items */
    int nfail;
    int64_t jobs_queued, jobs_running, jobs_dead;
    struct buf dead_by_type;           /* JSON members */
};

static struct mon_channel *mon_channel(struct mon *m, const char *name)
{
    for (int i = 0; i < m->nch; i++)
        if (strcmp(m->ch[i].name, name) == 0)
            return &m->ch[i];
    if (m->nch == MON_MAX_CHANNELS)
        return NULL;
    snprintf(m->ch[m->nch].name, sizeof(m->ch[m->nch].name), "%s", name);
    return &m->ch[m->nch++];
}

static int messages_cb(void *ud, const struct store_agg_row *row)
{
    struct mon_channel *c = mon_channel(ud, row->k1);

    if (!c)
        return 0;
    if (strcmp(row->k2, "inbound") == 0) {
        c->received += row->n;
        return 0;
    }
    for (int i = 0; i < MON_NOUT; i++)
        if (strcmp(row->k3, mon_out_status[i]) == 0)
            c->out[i] += row->n;
    return 0;
}

static int failures_cb(void *ud, const struct store_agg_row *row)
{
    struct mon *m = ud;

    if (m->nfail++)
        buf_putc(&m->failures, ',');
    buf_puts(&m->failures, "{\"channel\":");
    buf_json_str(&m->failures, row->k1);
    buf_puts(&m->failures, ",\"reason\":");
    buf_json_str(&m->failures, row->k3[0] ? row->k3 : "unknown");
    buf_printf(&m->failures, ",\"count\":%lld}", (long long)row->n);
    return 0;
}

static int latency_cb(void *ud, const struct store_agg_row *row)
{
    struct mon *m = ud;
    struct mon_provider *p = NULL;
    int b = MON_NBOUNDS;

    for (int i = 0; i < m->npr && !p; i++)
        if (strcmp(m->pr[i].name, row->k1) == 0)
            p = &m->pr[i];
    if (!p) {
        if (m->npr == MON_MAX_PROVIDERS)
            return 0;
        p = &m->pr[m->npr++];
        snprintf(p->name, sizeof(p->name), "%s", row->k1);
    }
    for (int i = 0; i < MON_NBOUNDS; i++)
        if (strtoll(row->k2, NULL, 10) == mon_bounds_ms[i])
            b = i;
    p->buckets[b] += row->n;
    return 0;
}

static int jobs_cb(void *ud, const struct store_agg_row *row)
{
    struct mon *m = ud;

    if (strcmp(row->k1, "queued") == 0)
        m->jobs_queued += row->n;
    else if (strcmp(row->k1, "running") == 0)
        m->jobs_running += row->n;
    else if (strcmp(row->k1, "dead") == 0) {
        m->jobs_dead += row->n;
        if (m->dead_by_type.len)
            buf_putc(&m->dead_by_type, ',');
        buf_json_str(&m->dead_by_type, row->k2);
        buf_printf(&m->dead_by_type, ":%lld", (long long)row->n);
    }
    return 0;
}

/* The latency below which a share q of the callbacks arrived, as the
 * upper bound of the bucket that reaches it (null past the last bound). */
static void put_quantile(struct buf *b, const struct mon_provider *p, int64_t total, double q)
{
    int64_t seen = 0;

    for (int i = 0; i <= MON_NBOUNDS; i++) {
        seen += p->buckets[i];
        if ((double)seen >= q * (double)total) {
            if (i < MON_NBOUNDS)
                buf_printf(b, "%lld", (long long)mon_bounds_ms[i]);
            else
                buf_puts(b, "null");
            return;
        }
    }
    buf_puts(b, "null");
}

static void render(struct buf *b, const struct mon *m, int64_t from, int64_t to, const char *channel)
{
    buf_puts(b, "{\"from\":");
    buf_json_time(b, from);
    buf_puts(b, ",\"to\":");
    buf_json_time(b, to);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, channel);
    buf_puts(b, ",\"channels\":[");
    for (int i = 0; i < m->nch; i++) {
        const struct mon_channel *c = &m->ch[i];
        int64_t total = 0, settled, delivered = c->out[2] + c->out[3];
        for (int k = 0; k < MON_NOUT; k++)
            total += c->out[k];
        settled = total - c->out[0] - c->out[1]; /* past "sent": the provider said what happened */
        buf_puts(b, i ? ",{\"channel\":" : "{\"channel\":");
        buf_json_str(b, c->name);
        buf_puts(b, ",\"outbound\":{");
        for (int k = 0; k < MON_NOUT; k++)
            buf_printf(b, "\"%s\":%lld,", mon_out_status[k], (long long)c->out[k]);
        buf_printf(b, "\"total\":%lld},\"inbound\":{\"received\":%lld},\"delivery_rate\":", (long long)total,
                   (long long)c->received);
        if (settled > 0)
            buf_printf(b, "%.4f", (double)delivered / (double)settled);
        else
            buf_puts(b, "null");
        buf_putc(b, '}');
    }
    buf_puts(b, "],\"failures\":[");
    buf_append(b, m->failures.data ? m->failures.data : "", m->failures.len);
    buf_puts(b, "],\"callback_latency\":[");
    for (int i = 0; i < m->npr; i++) {
        const struct mon_provider *p = &m->pr[i];
        int64_t total = 0, cum = 0;
        for (int k = 0; k <= MON_NBOUNDS; k++)
            total += p->buckets[k];
        buf_puts(b, i ? ",{\"provider\":" : "{\"provider\":");
        buf_json_str(b, p->name);
        buf_printf(b, ",\"count\":%lld,\"buckets\":[", (long long)total);
        for (int k = 0; k <= MON_NBOUNDS; k++) {
            cum += p->buckets[k];
            if (k)
                buf_putc(b, ',');
            if (k < MON_NBOUNDS)
                buf_printf(b, "{\"le_ms\":%lld,\"count\":%lld}", (long long)mon_bounds_ms[k], (long long)cum);
            else
                buf_printf(b, "{\"le_ms\":null,\"count\":%lld}", (long long)cum);
        }
        buf_puts(b, "],\"p50_ms\":");
        put_quantile(b, p, total, 0.5);
        buf_puts(b, ",\"p90_ms\":");
        put_quantile(b, p, total, 0.9);
        buf_puts(b, ",\"p99_ms\":");
        put_quantile(b, p, total, 0.99);
        buf_putc(b, '}');
    }
    buf_printf(b, "],\"jobs\":{\"queued\":%lld,\"running\":%lld,\"dead\":%lld,\"dead_by_type\":{",
               (long long)m->jobs_queued, (long long)m->jobs_running, (long long)m->jobs_dead);
    buf_append(b, m->dead_by_type.data ? m->dead_by_type.data : "", m->dead_by_type.len);
    buf_puts(b, "}}}");
}

void http__route_monitoring_summary(struct http_req *r)
{
    const char *channel = http__query_str(r, "channel");
    const char *tenant = r->principal.tenant_id;
    int64_t to = 0, from = 0;
    struct mon *m = NULL;
    struct err e = {0};
    int rc;

    if (http__query_arg(r, "from", 1, &from) || http__query_arg(r, "to", 1, &to))
        return;
    if (!to)
        to = time_now_ms();
    if (!from)
        from = to - MON_DEFAULT_RANGE_MS;
    if (to <= from || to - from > MON_MAX_RANGE_MS) {
        http__error(r, 400, "invalid_range", "\"from\" must be before \"to\", at most 93 days apart");
        return;
    }
    if (channel && strlen(channel) >= sizeof(m->ch[0].name)) {
        http__error(r, 400, "invalid_request", "query parameter \"channel\" is not a channel");
        return;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        http__error(r, 503, "overloaded", "out of memory; retry");
        return;
    }
    if ((rc = store_monitor_messages(r->app->db, tenant, from, to, channel, messages_cb, m, &e)) ||
        (rc = store_monitor_failures(r->app->db, tenant, from, to, channel, MON_MAX_FAILURES, failures_cb, m, &e)) ||
        (rc = store_monitor_latency(r->app->db, tenant, from, to, channel, mon_bounds_ms, MON_NBOUNDS, latency_cb,
                                    m, &e)) ||
        (rc = store_monitor_jobs(r->app->db, tenant, jobs_cb, m, &e))) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 200);
    render(&r->out, m, from, to, channel);
out:
    buf_free(&m->failures);
    buf_free(&m->dead_by_type);
    free(m);
}
