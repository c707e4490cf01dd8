/*
 * events: the realtime event pump, its doorbell and the event wire frame.
 *
 * Events are written by whichever process made the change (serve, or a
 * separate worker), so the server delivers them by reading the log: one
 * thread wakes every EVENTS_POLL_NS, or at once when the bell rings, and
 * for each tenant with open WebSockets reads the events after the lowest
 * seq those sockets have seen (ops_event_list, EVENTS_BATCH at a time; and
 * after the highest too when they are far apart, so a long replay never
 * delays live events) and hands each to the hub (ws.c), which queues it to
 * every socket of that tenant that is exactly one behind it. The log, not memory, is the buffer:
 * a socket whose queue is full waits and is served from the log later.
 * The same thread prunes events older than SB_EVENT_RETENTION, at most
 * EVENTS_PRUNE_MAX per run. Only this thread touches the pump's state; the
 * bell is the one thing other threads use.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_int.h"

#define EVENTS_POLL_NS (100LL * 1000000LL)
#define EVENTS_BATCH 256
#define EVENTS_PRUNE_MAX 1000
#define EVENTS_ERROR_LOG_NS (10LL * 1000000000LL)

struct http_event_bell {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int rung;
    int stop; /* the pump's stop request travels the same way */
};

struct http_events {
    struct http_server *srv;
    struct http_event_bell *bell;
    struct http_event_bell *own_bell; /* when the app gave none */
    pthread_t thread;
    uint64_t round;
    int64_t next_prune_ns;
    int64_t last_error_log_ns;
    /* the batch being delivered: frames back to back in buf */
    struct buf buf;
    int64_t seq[EVENTS_BATCH];
    size_t off[EVENTS_BATCH], len[EVENTS_BATCH];
    int n;
};

/* ---------------------------------------------------------------- bell */

int http_event_bell_new(struct http_event_bell **out, struct err *e)
{
    struct http_event_bell *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    *out = b;
    return 0;
}

void http_event_bell_free(struct http_event_bell *b)
{
    if (!b)
        return;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void http_event_poke(void *bell)
{
    struct http_event_bell *b = bell;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->rung = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Wait for the bell or timeout_ns; returns 1 when asked to stop. */
static int bell_wait(struct http_event_bell *b, int64_t timeout_ns)
{
    struct timespec until;
    int stop;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(timeout_ns / 1000000000LL);
    until.tv_nsec += (long)(timeout_ns % 1000000000LL);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->mu);
    while (!b->rung && !b->stop) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT)
            break;
    }
    b->rung = 0;
    stop = b->stop;
    pthread_mutex_unlock(&b->mu);
    return stop;
}

/* --------------------------------------------------------------- frame */

void http__event_frame(struct buf *b, const struct store_event *ev)
{
    buf_printf(b, "{\"id\":%" PRId64 ",\"type\":", ev->seq);
    buf_json_str(b, ev->type);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, ev->created_at);
    buf_puts(b, ",\"data\":");
    /* Checked to be a JSON object when appended (ops_event_append). */
    buf_puts(b, ev->data && ev->data[0] ? ev->data : "{}");
    buf_putc(b, '}');
}

/* ---------------------------------------------------------------- pump */

static void events_log_error(struct http_events *ev, const char *what, const struct err *e)
{
    int64_t now = time_mono_ns();
    if (ev->last_error_log_ns && now - ev->last_error_log_ns < EVENTS_ERROR_LOG_NS)
        return; /* a database outage must not flood the log at 10 lines a second */
    ev->last_error_log_ns = now;
    log_write(LOG_WARN, NULL, NULL, "event pump: %s: %s", what, e->msg);
}

static int events_collect(void *ud, const struct store_event *e)
{
    struct http_events *ev = ud;
    if (ev->n >= EVENTS_BATCH)
        return 1;
    ev->seq[ev->n] = e->seq;
    ev->off[ev->n] = ev->buf.len;
    http__event_frame(&ev->buf, e);
    ev->len[ev->n] = ev->buf.len - ev->off[ev->n];
    ev->n++;
    return 0;
}

/* The tenant's next batch after after_seq; returns 1 when it was full (more may wait). */
static int events_pump_range(struct http_events *ev, const char *tenant_id, int64_t after_seq)
{
    struct http_server *srv = ev->srv;
    struct store *db = srv->app->db;
    struct err e = {0};
    struct log_ctx lctx = {NULL, NULL, tenant_id};

    buf_reset(&ev->buf);
    ev->n = 0;
    if (ops_event_list(db, tenant_id, after_seq, EVENTS_BATCH, events_collect, ev, &e) != 0) {
        events_log_error(ev, "reading events", &e);
        return 0;
    }
    if (ev->n == 0)
        return 0;
    if (ev->seq[0] > after_seq + 1) {
        /* Seqs have no gaps, so the ones missing below the first were pruned. */
        int64_t last = 0;
        if (ops_event_last_seq(db, tenant_id, &last, &e) != 0) {
            events_log_error(ev, "reading the last event id", &e);
            return 0;
        }
        log_write(LOG_INFO, &lctx, NULL, "websocket resync: events after %" PRId64 " were pruned", after_seq);
        http__ws_resync_behind(srv, ev->round, tenant_id, after_seq, ev->seq[0], last);
    }
    for (int i = 0; i < ev->n; i++)
        http__ws_deliver(srv, ev->round, tenant_id, ev->seq[i], ev->buf.data + ev->off[i], ev->len[i]);
    return ev->n == EVENTS_BATCH;
}

/* Sockets at the head get live events in every round, whatever the
 * sockets still replaying a backlog need. */
static int events_pump_tenant(struct http_events *ev, const struct http_ws_tenant *t)
{
    int more = events_pump_range(ev, t->tenant_id, t->min_seq);
    if (t->max_seq >= t->min_seq + EVENTS_BATCH)
        more |= events_pump_range(ev, t->tenant_id, t->max_seq);
    return more;
}

static int64_t events_prune_interval_ns(const struct config *cfg)
{
    /* A tenth of the retention, between 1 s and 60 s: short retentions
     * (tests) are honoured closely, long ones cost one query a minute. */
    int64_t s = cfg->event_retention_s / 10;
    if (s < 1)
        s = 1;
    if (s > 60)
        s = 60;
    return s * 1000000000LL;
}

static void events_prune(struct http_events *ev)
{
    const struct config *cfg = ev->srv->app->cfg;
    struct err e = {0};
    int64_t deleted = 0, retention_ms = (cfg->event_retention_s > 0 ? cfg->event_retention_s : 604800) * 1000LL;

    ev->next_prune_ns = time_mono_ns() + events_prune_interval_ns(cfg);
    if (ops_event_prune(ev->srv->app->db, time_now_ms() - retention_ms, EVENTS_PRUNE_MAX, &deleted, &e) != 0) {
        events_log_error(ev, "pruning events", &e);
        return;
    }
    if (deleted > 0)
        log_write(LOG_INFO, NULL, NULL, "event log: pruned %" PRId64 " event(s) older than %" PRId64 " s", deleted,
                  cfg->event_retention_s);
    if (deleted == EVENTS_PRUNE_MAX) /* bounded per run: continue soon */
        ev->next_prune_ns = time_mono_ns() + 1000000000LL;
}

static void *events_thread(void *arg)
{
    struct http_events *ev = arg;
    int more = 0;

    for (;;) {
        /* A full batch means more is waiting: only look for a stop then. */
        if (bell_wait(ev->bell, more ? 0 : EVENTS_POLL_NS))
            break;
        more = 0;
        struct http_ws_tenant *t = NULL;
        int n = 0;
        ev->round++;
        if (http__ws_round(ev->srv, ev->round, &t, &n) == 0) {
            for (int i = 0; i < n; i++)
                more |= events_pump_tenant(ev, &t[i]);
        }
        free(t);
        if (time_mono_ns() >= ev->next_prune_ns)
            events_prune(ev);
    }
    return NULL;
}

int http__events_start(struct http_server *srv, struct err *e)
{
    struct http_events *ev = calloc(1, sizeof *ev);
    int rc = 0;

    if (!ev)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    ev->srv = srv;
    ev->bell = srv->app->events_bell;
    if (!ev->bell) {
        if ((rc = http_event_bell_new(&ev->own_bell, e)) != 0)
            goto out;
        ev->bell = ev->own_bell;
    }
    pthread_mutex_lock(&ev->bell->mu);
    ev->bell->stop = 0;
    pthread_mutex_unlock(&ev->bell->mu);
    ev->next_prune_ns = time_mono_ns(); /* prune once at start */
    srv->events = ev;
    if (pthread_create(&ev->thread, NULL, events_thread, ev) != 0) {
        srv->events = NULL;
        rc = err_set(e, ERR_IO, NULL, "cannot start the event pump thread");
        goto out;
    }
    ev = NULL;
out:
    if (ev) {
        http_event_bell_free(ev->own_bell);
        free(ev);
    }
    return rc;
}

void http__events_stop(struct http_server *srv)
{
    struct http_events *ev = srv->events;
    if (!ev)
        return;
    pthread_mutex_lock(&ev->bell->mu);
    ev->bell->stop = 1;
    pthread_cond_signal(&ev->bell->cv);
    pthread_mutex_unlock(&ev->bell->mu);
    pthread_join(ev->thread, NULL);
    srv->events = NULL;
    buf_free(&ev->buf);
    http_event_bell_free(ev->own_bell);
    free(ev);
}

void http__events_poke(struct http_server *srv)
{
    if (srv->events)
        http_event_poke(srv->events->bell);
}
