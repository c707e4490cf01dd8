/*
 * queue: worker pool, heartbeat and retry policy over the store's jobs table.
 *
 * Threads: N workers each claim a batch of ready jobs of one type at a time
 * (round robin over the registered types, so a process never claims a type
 * it cannot run; batch size 1 for per-job handlers), run the handler, then
 * record the outcomes: every success of the batch in one transaction, each
 * failure under its own lease check. One heartbeat thread extends the leases
 * of every running worker's jobs every lease/3 and prunes old done jobs.
 * q->mu guards the worker slots, the stop flag and the counters; it is never
 * held across a database call or a handler. With a group-commit writer
 * (SQLite), a claim is an operation of the writer's next batch (the worker
 * waits for it) and a batch's outcomes are one operation queued to it
 * without waiting: no worker commits on its own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"
#include "queue/queue.h"

#define QUEUE_MAX_TYPES 32
#define QUEUE_MAX_BATCH 256
#define QUEUE_PRUNE_BATCH 1000

struct qtype {
    char name[64];
    queue_handler_fn handler;
    queue_batch_fn batch_handler;
    int batch_max;
    void *ud;
    int max_attempts;
    int64_t base_ms, cap_ms;
    /* counters since start, under q->mu */
    uint64_t done, retried, dead;
    uint64_t processing_ns;
};

struct worker {
    struct queue *q;
    pthread_t th;
    char id[64];
    int busy;                 /* running a batch: the heartbeat extends its leases */
    int64_t heartbeat;
    unsigned rr;
};

struct queue {
    struct store *db;
    struct queue_options opt;
    char prefix[32];
    struct qtype types[QUEUE_MAX_TYPES];
    int ntypes;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* wakes idle workers and the heartbeat on stop */
    int running, stop;
    struct worker *w;
    int nw;
    pthread_t hb;
    struct queue_stats st;
};

int64_t queue_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
    int64_t d = base_ms > 0 ? base_ms : 0;
    int i;

    for (i = 1; i < attempt && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    if (d <= 0)
        return 0;
    return (int64_t)(rnd % (uint64_t)(d + 1));
}

int queue_new(struct queue **out, struct store *db, const struct queue_options *opt, struct err *e)
{
    struct queue *q = calloc(1, sizeof(*q));

    *out = NULL;
    if (!q)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    q->db = db;
    if (opt)
        q->opt = *opt;
    if (q->opt.workers <= 0)
        q->opt.workers = 4;
    if (q->opt.lease_ms <= 0)
        q->opt.lease_ms = 30000;
    if (q->opt.poll_ms <= 0)
        q->opt.poll_ms = 200;
    if (q->opt.done_retention_ms <= 0)
        q->opt.done_retention_ms = 3600 * 1000;
    snprintf(q->prefix, sizeof(q->prefix), "%s", q->opt.worker_prefix ? q->opt.worker_prefix : "w");
    q->opt.worker_prefix = NULL; /* borrowed; the copy above is used */
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    *out = q;
    return 0;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    queue_stop(q);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static struct qtype *find_type(struct queue *q, const char *name)
{
    int i;

    for (i = 0; i < q->ntypes; i++)
        if (strcmp(q->types[i].name, name) == 0)
            return &q->types[i];
    return NULL;
}

int queue_register(struct queue *q, const struct queue_type *t, struct err *e)
{
    struct qtype *qt;

    if (!t->name || !t->name[0] || strlen(t->name) >= sizeof(qt->name) || !t->handler == !t->batch_handler)
        return err_set(e, ERR_INVALID, NULL,
                       "queue: a job type needs a name (< 64 bytes) and one handler or batch handler");
    if (q->running)
        return err_set(e, ERR_CONFLICT, NULL, "queue: register types before queue_start");
    if (find_type(q, t->name))
        return err_set(e, ERR_CONFLICT, NULL, "queue: job type %s registered twice", t->name);
    if (q->ntypes == QUEUE_MAX_TYPES)
        return err_set(e, ERR_NOMEM, NULL, "queue: too many job types");
    qt = &q->types[q->ntypes++];
    snprintf(qt->name, sizeof(qt->name), "%s", t->name);
    qt->handler = t->handler;
    qt->batch_handler = t->batch_handler;
    qt->batch_max = t->batch_handler ? (t->batch_max > 0 ? t->batch_max : 32) : 1;
    if (qt->batch_max > QUEUE_MAX_BATCH)
        qt->batch_max = QUEUE_MAX_BATCH;
    qt->ud = t->ud;
    qt->max_attempts = t->max_attempts > 0 ? t->max_attempts : 5;
    qt->base_ms = t->base_backoff_ms > 0 ? t->base_backoff_ms : 1000;
    qt->cap_ms = t->max_backoff_ms > 0 ? t->max_backoff_ms : 3600 * 1000;
    return 0;
}

int queue_push_tx(struct queue *q, struct store_tx *tx, const char *tenant_id, const char *type,
                  const char *payload, const char *idempotency_key, int64_t delay_ms, char *out_id, int *out_dup,
                  struct err *e)
{
    struct qtype *qt = type ? find_type(q, type) : NULL;
    struct store_job j;
    int rc;

    if (!qt)
        return err_set(e, ERR_INVALID, NULL, "queue: unknown job type %s", type ? type : "(null)");
    memset(&j, 0, sizeof(j));
    snprintf(j.type, sizeof(j.type), "%s", type);
    j.payload = payload ? payload : "{}";
    j.max_attempts = qt->max_attempts;
    j.run_at = time_now_ms() + (delay_ms > 0 ? delay_ms : 0);
    if (idempotency_key && strlen(idempotency_key) >= sizeof(j.idempotency_key))
        return err_set(e, ERR_INVALID, NULL, "queue: idempotency key too long");
    snprintf(j.idempotency_key, sizeof(j.idempotency_key), "%s", idempotency_key ? idempotency_key : "");
    rc = store_job_insert(tx, tenant_id, &j, out_dup, e);
    if (rc == 0 && out_id)
        snprintf(out_id, CORE_ID_MAX, "%s", j.id);
    return rc;
}

int queue_push(struct queue *q, const char *tenant_id, const char *type, const char *payload,
               const char *idempotency_key, int64_t delay_ms, char *out_id, int *out_dup, struct err *e)
{
    struct store_tx tx;
    int rc;

    if ((rc = store_tx_begin(q->db, &tx, e)))
        return rc;
    rc = queue_push_tx(q, &tx, tenant_id, type, payload, idempotency_key, delay_ms, out_id, out_dup, e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)) == 0)
        queue_wake(q);
    return rc;
}

void queue_wake(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* The jobs of one claim, copied out of the claim callback. */
struct claim_out {
    int n, cap;
    struct store_job *j;
    char **payload;
};

static int on_claim(void *ud, const struct store_job *j)
{
    struct claim_out *co = ud;

    if (co->n == co->cap)
        return ERR_INTERNAL;
    co->payload[co->n] = strdup(j->payload);
    if (!co->payload[co->n])
        return ERR_NOMEM;
    co->j[co->n] = *j;
    co->j[co->n].payload = co->payload[co->n];
    co->n++;
    return 0;
}

static void claim_reset(struct claim_out *co)
{
    int i;

    for (i = 0; i < co->n; i++)
        free(co->payload[i]);
    co->n = 0;
}

/* One job's outcome, to record under the lease check. */
struct outcome {
    char job_id[CORE_ID_MAX];
    int done;                  /* 1: complete, 0: fail */
    char error[512];
    int64_t retry_at;
    int dead;
};

/* A batch's outcomes as one write operation; owns its memory. */
struct outcome_op {
    char worker_id[64];
    int64_t now;
    int n;
    struct outcome o[];
};

static int outcome_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct outcome_op *op = ud;
    for (int i = 0; i < op->n; i++) {
        const struct outcome *o = &op->o[i];
        int rc = o->done ? store_job_complete_tx(tx, o->job_id, op->worker_id, op->now, e)
                         : store_job_fail_tx(tx, o->job_id, op->worker_id, o->error, o->retry_at, o->dead, op->now, e);
        if (rc == ERR_NOTFOUND) /* the lease was lost: the job is someone else's now */
            err_clear(e);
        else if (rc)
            return rc;
    }
    return 0;
}

static void outcome_done(void *ud, int rc, const struct err *e)
{
    (void)rc;
    (void)e; /* a failed batch: the jobs run again after their leases expire */
    free(ud);
}

/* Record op's outcomes: through the writer when there is one (not waiting
 * for its commit), else directly. Takes op. */
static void record_outcomes(struct queue *q, struct outcome_op *op)
{
    struct err e = {0};
    const char *done_ids[QUEUE_MAX_BATCH];
    int i, ndone = 0;

    if (op->n == 0) {
        free(op);
        return;
    }
    if (q->opt.writer && store_writer_submit(q->opt.writer, outcome_fn, outcome_done, op, &e) == 0)
        return;
    /* No writer (or it is stopping): successes in one transaction, failures each. */
    for (i = 0; i < op->n; i++)
        if (op->o[i].done)
            done_ids[ndone++] = op->o[i].job_id;
    store_job_complete_many(q->db, done_ids, ndone, op->worker_id, op->now, NULL, &e);
    for (i = 0; i < op->n; i++)
        if (!op->o[i].done)
            store_job_fail(q->db, op->o[i].job_id, op->worker_id, op->o[i].error, op->o[i].retry_at, op->o[i].dead,
                           op->now, &e);
    free(op);
}

/* A failed run's outcome: queued again after the backoff (or the handler's
 * retry-after), or dead when permanent or out of attempts. */
static void failure(struct queue *q, struct qtype *qt, const struct store_job *j, int outcome,
                    struct queue_result *res, int64_t now, struct outcome *o)
{
    uint64_t rnd;
    int64_t delay;

    if (!res->error[0])
        snprintf(res->error, sizeof(res->error), "%s", outcome == QUEUE_FAIL ? "failed" : "transient failure");
    snprintf(o->job_id, sizeof(o->job_id), "%s", j->id);
    snprintf(o->error, sizeof(o->error), "%s", res->error);
    o->dead = outcome != QUEUE_RETRY || j->attempts >= j->max_attempts;
    crypto_random_fast(&rnd, sizeof(rnd));
    delay = res->retry_after_ms > 0 ? res->retry_after_ms : queue_backoff_ms(j->attempts, qt->base_ms, qt->cap_ms, rnd);
    o->retry_at = now + delay;
    pthread_mutex_lock(&q->mu);
    q->st.failed++;
    if (o->dead) {
        q->st.dead++;
        qt->dead++;
    } else {
        qt->retried++;
    }
    pthread_mutex_unlock(&q->mu);
}

/* Run one claimed batch and record its outcomes (under the lease check). */
static void run_batch(struct worker *w, struct qtype *qt, struct claim_out *co)
{
    struct queue *q = w->q;
    struct queue_job jobs[QUEUE_MAX_BATCH];
    struct queue_result *res = calloc((size_t)co->n, sizeof(*res));
    struct outcome_op *op = calloc(1, sizeof(*op) + (size_t)co->n * sizeof(struct outcome));
    int outcomes[QUEUE_MAX_BATCH];
    int from[QUEUE_MAX_BATCH]; /* jobs[i] is co->j[from[i]] */
    int i, n = 0, ndone = 0;
    int64_t t0, spent, now;

    if (!res || !op) {
        free(res);
        free(op);
        return; /* out of memory: the leases expire and the jobs run again */
    }
    snprintf(op->worker_id, sizeof(op->worker_id), "%s", w->id);
    for (i = 0; i < co->n; i++) {
        const struct store_job *j = &co->j[i];
        if (j->attempts > j->max_attempts) {
            /* Its workers kept dying (expired leases): do not run it again. */
            struct queue_result r;
            memset(&r, 0, sizeof(r));
            snprintf(r.error, sizeof(r.error), "attempts exhausted by expired leases%s%.400s",
                     j->last_error[0] ? "; last error: " : "", j->last_error);
            failure(q, qt, j, QUEUE_FAIL, &r, time_now_ms(), &op->o[op->n++]);
            continue;
        }
        jobs[n] = (struct queue_job){j->id, j->tenant_id, j->type, j->payload, j->attempts, j->max_attempts};
        outcomes[n] = QUEUE_RETRY;
        from[n] = i;
        n++;
    }
    if (n > 0) {
        pthread_mutex_lock(&q->mu);
        w->busy = 1;
        pthread_mutex_unlock(&q->mu);
        t0 = time_mono_ns();
        if (qt->batch_handler)
            qt->batch_handler(qt->ud, jobs, n, outcomes, res);
        else
            outcomes[0] = qt->handler(qt->ud, &jobs[0], &res[0]);
        spent = time_mono_ns() - t0;
        pthread_mutex_lock(&q->mu);
        w->busy = 0;
        q->st.processed += (uint64_t)n;
        q->st.processing_ns += (uint64_t)spent;
        qt->processing_ns += (uint64_t)spent;
        pthread_mutex_unlock(&q->mu);
    }
    now = time_now_ms();
    for (i = 0; i < n; i++) {
        struct outcome *o = &op->o[op->n++];
        if (outcomes[i] == QUEUE_DONE) {
            snprintf(o->job_id, sizeof(o->job_id), "%s", jobs[i].id);
            o->done = 1;
            ndone++;
        } else {
            failure(q, qt, &co->j[from[i]], outcomes[i], &res[i], now, o);
        }
    }
    op->now = now;
    pthread_mutex_lock(&q->mu);
    q->st.succeeded += (uint64_t)ndone;
    qt->done += (uint64_t)ndone;
    pthread_mutex_unlock(&q->mu);
    record_outcomes(q, op);
    free(res);
}

/* A claim as an operation of the writer's batch: a batch of the first type
 * (round robin from w->rr) with ready jobs. */
struct claim_op {
    struct worker *w;
    struct claim_out *co;
    struct qtype *qt;
};

static int claim_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct claim_op *c = ud;
    struct queue *q = c->w->q;
    int i, rc;

    for (i = 0; i < q->ntypes && c->co->n == 0; i++) {
        c->qt = &q->types[(c->w->rr + (unsigned)i) % (unsigned)q->ntypes];
        c->co->cap = c->qt->batch_max;
        if ((rc = store_job_claim_tx(tx, c->w->id, c->qt->name, time_now_ms(), q->opt.lease_ms, c->qt->batch_max,
                                     on_claim, c->co, NULL, e)))
            return rc;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct queue *q = w->q;
    struct store_job jbuf[QUEUE_MAX_BATCH];
    char *pbuf[QUEUE_MAX_BATCH];
    struct claim_out co = {0, 0, jbuf, pbuf};

    for (;;) {
        struct qtype *qt = NULL;
        struct err e = {0};
        int i, stop;

        pthread_mutex_lock(&q->mu);
        w->heartbeat = time_now_ms();
        stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        if (stop)
            break;
        if (q->opt.writer) {
            struct claim_op c = {w, &co, NULL};
            if (store_writer_run(q->opt.writer, claim_fn, &c, &e) != 0)
                claim_reset(&co); /* the batch did not commit: not ours */
            qt = c.qt;
        } else {
            for (i = 0; i < q->ntypes && co.n == 0; i++) {
                qt = &q->types[(w->rr + (unsigned)i) % (unsigned)q->ntypes];
                co.cap = qt->batch_max;
                if (store_job_claim(q->db, w->id, qt->name, time_now_ms(), q->opt.lease_ms, qt->batch_max, on_claim,
                                    &co, NULL, &e) != 0) {
                    claim_reset(&co);
                    break;
                }
            }
        }
        w->rr++;
        if (co.n > 0) {
            run_batch(w, qt, &co);
            claim_reset(&co);
            continue;
        }
        /* Idle (or the database failed): sleep until poll_ms or a wake-up. */
        pthread_mutex_lock(&q->mu);
        if (!q->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)(q->opt.poll_ms % 1000) * 1000000L;
            ts.tv_sec += (time_t)(q->opt.poll_ms / 1000) + ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        }
        pthread_mutex_unlock(&q->mu);
    }
    return NULL;
}

/* Every lease/3 until stop: extend the leases of busy workers' jobs and
 * delete done jobs past the retention (bounded per round). */
static void *heartbeat_main(void *arg)
{
    struct queue *q = arg;
    char (*ids)[64] = calloc((size_t)q->nw, 64);
    int i, n;

    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        struct timespec ts;
        int64_t period = q->opt.lease_ms / 3 > 0 ? q->opt.lease_ms / 3 : 1;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(period % 1000) * 1000000L;
        ts.tv_sec += (time_t)(period / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        if (q->stop || !ids)
            continue;
        for (i = 0, n = 0; i < q->nw; i++)
            if (q->w[i].busy)
                memcpy(ids[n++], q->w[i].id, 64);
        pthread_mutex_unlock(&q->mu);
        for (i = 0; i < n; i++) {
            struct err e = {0};
            store_job_extend_worker(q->db, ids[i], time_now_ms() + q->opt.lease_ms, &e);
        }
        {
            struct err e = {0};
            int64_t deleted = 0;
            int rounds = 10;
            do {
                if (store_job_prune_done(q->db, time_now_ms() - q->opt.done_retention_ms, QUEUE_PRUNE_BATCH,
                                         &deleted, &e) != 0)
                    break;
            } while (deleted == QUEUE_PRUNE_BATCH && --rounds > 0);
        }
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    free(ids);
    return NULL;
}

int queue_start(struct queue *q, struct err *e)
{
    int i, rc = 0;

    if (q->running)
        return err_set(e, ERR_CONFLICT, NULL, "queue: already running");
    q->w = calloc((size_t)q->opt.workers, sizeof(*q->w));
    if (!q->w)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    q->stop = 0;
    q->nw = 0;
    for (i = 0; i < q->opt.workers; i++) {
        struct worker *w = &q->w[i];
        w->q = q;
        w->rr = (unsigned)i;
        w->heartbeat = time_now_ms();
        snprintf(w->id, sizeof(w->id), "%s-%ld-%d", q->prefix, (long)getpid(), i);
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            rc = err_set(e, ERR_INTERNAL, NULL, "queue: cannot start a worker thread");
            break;
        }
        q->nw++;
    }
    if (rc == 0 && pthread_create(&q->hb, NULL, heartbeat_main, q) != 0)
        rc = err_set(e, ERR_INTERNAL, NULL, "queue: cannot start the heartbeat thread");
    q->running = 1;
    if (rc) {
        /* Join what started; the heartbeat did not. */
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
        for (i = 0; i < q->nw; i++)
            pthread_join(q->w[i].th, NULL);
        free(q->w);
        q->w = NULL;
        q->nw = 0;
        q->running = 0;
    }
    return rc;
}

void queue_stop(struct queue *q)
{
    int i;

    if (!q->running)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (i = 0; i < q->nw; i++)
        pthread_join(q->w[i].th, NULL);
    pthread_join(q->hb, NULL);
    free(q->w);
    q->w = NULL;
    q->nw = 0;
    q->running = 0;
}

void queue_stats(struct queue *q, struct queue_stats *out)
{
    int i;

    pthread_mutex_lock(&q->mu);
    *out = q->st;
    out->workers = q->nw;
    out->oldest_heartbeat_ms = 0;
    for (i = 0; i < q->nw; i++)
        if (!out->oldest_heartbeat_ms || q->w[i].heartbeat < out->oldest_heartbeat_ms)
            out->oldest_heartbeat_ms = q->w[i].heartbeat;
    pthread_mutex_unlock(&q->mu);
}

/* A worker is alive while it is running a batch (the heartbeat keeps its
 * leases) or has come back to claim within the lease time. */
static int alive_workers(struct queue *q, int64_t now)
{
    int i, n = 0;

    for (i = 0; i < q->nw; i++)
        if (q->w[i].busy || now - q->w[i].heartbeat <= q->opt.lease_ms + q->opt.poll_ms)
            n++;
    return n;
}

struct depth_out {
    struct buf *b;
    int n;
    int64_t total;     /* queued + running */
    int metrics;       /* 1: Prometheus lines, 0: JSON members */
};

static int depth_cb(void *ud, const char *type, const char *state, int64_t count)
{
    struct depth_out *d = ud;

    if (d->metrics) {
        buf_printf(d->b, "sb_jobs{type=\"%s\",state=\"%s\"} %lld\n", type, state, (long long)count);
    } else {
        buf_printf(d->b, "%s{\"type\":", d->n ? "," : "");
        buf_json_str(d->b, type);
        buf_printf(d->b, ",\"state\":\"%s\",\"count\":%lld}", state, (long long)count);
    }
    if (strcmp(state, "dead") != 0)
        d->total += count;
    d->n++;
    return 0;
}

void queue_metrics_render(struct queue *q, struct store *db, struct buf *out)
{
    struct depth_out d = {out, 0, 0, 1};
    struct err e = {0};
    int64_t oldest = 0, now = time_now_ms();
    int i;

    buf_puts(out, "# HELP sb_jobs Jobs not yet done, by type and state (queued, running, dead).\n"
                  "# TYPE sb_jobs gauge\n");
    if (store_job_stats(db, now, depth_cb, &d, &oldest, &e) != 0)
        oldest = 0;
    buf_printf(out, "# HELP sb_job_oldest_ready_seconds Age of the oldest job ready to run.\n"
                    "# TYPE sb_job_oldest_ready_seconds gauge\nsb_job_oldest_ready_seconds %.3f\n",
               (double)oldest / 1000.0);
    if (!q)
        return;
    buf_puts(out, "# HELP sb_jobs_processed_total Job runs in this process, by type and outcome.\n"
                  "# TYPE sb_jobs_processed_total counter\n");
    pthread_mutex_lock(&q->mu);
    for (i = 0; i < q->ntypes; i++) {
        const struct qtype *qt = &q->types[i];
        buf_printf(out, "sb_jobs_processed_total{type=\"%s\",outcome=\"done\"} %llu\n", qt->name,
                   (unsigned long long)qt->done);
        buf_printf(out, "sb_jobs_processed_total{type=\"%s\",outcome=\"retry\"} %llu\n", qt->name,
                   (unsigned long long)qt->retried);
        buf_printf(out, "sb_jobs_processed_total{type=\"%s\",outcome=\"dead\"} %llu\n", qt->name,
                   (unsigned long long)qt->dead);
    }
    buf_puts(out, "# HELP sb_job_processing_seconds_total Time spent in job handlers in this process.\n"
                  "# TYPE sb_job_processing_seconds_total counter\n");
    for (i = 0; i < q->ntypes; i++)
        buf_printf(out, "sb_job_processing_seconds_total{type=\"%s\"} %.6f\n", q->types[i].name,
                   (double)q->types[i].processing_ns / 1e9);
    buf_printf(out, "# HELP sb_queue_workers Job worker threads in this process.\n"
                    "# TYPE sb_queue_workers gauge\nsb_queue_workers{state=\"configured\"} %d\n"
                    "sb_queue_workers{state=\"alive\"} %d\n",
               q->running ? q->nw : 0, q->running ? alive_workers(q, now) : 0);
    pthread_mutex_unlock(&q->mu);
}

int queue_health(struct queue *q, struct store *db, struct buf *out)
{
    struct depth_out d = {out, 0, 0, 0};
    struct err e = {0};
    int64_t oldest = 0, now = time_now_ms();
    int configured = 0, alive = 0;

    if (q) {
        pthread_mutex_lock(&q->mu);
        configured = q->running ? q->nw : 0;
        alive = q->running ? alive_workers(q, now) : 0;
        pthread_mutex_unlock(&q->mu);
    }
    buf_printf(out, "\"workers\":{\"configured\":%d,\"alive\":%d},\"queue\":{\"jobs\":[", configured, alive);
    if (store_job_stats(db, now, depth_cb, &d, &oldest, &e) != 0) {
        buf_puts(out, "],\"error\":");
        buf_json_str(out, e.msg);
        buf_putc(out, '}');
        return 0;
    }
    buf_printf(out, "],\"depth\":%lld,\"oldest_ready_ms\":%lld}", (long long)d.total, (long long)oldest);
    return alive == configured;
}

/* ------------------------------------------------------------ admin API */

int queue_dead_list(struct store *db, const char *tenant_id, store_job_cb cb, void *ud, struct err *e)
{
    return store_job_list_dead(db, tenant_id, cb, ud, e);
}

int queue_dead_retry(struct store *db, const char *tenant_id, const char *job_id, const char *actor_type,
                     const char *actor_id, const char *ip, struct err *e)
{
    int rc = store_job_retry(db, tenant_id, job_id, time_now_ms(), e);
    if (rc != 0)
        return rc;
    return ops_audit(db, tenant_id, actor_type, actor_id, "job.retry", job_id, ip, NULL, e);
}

int queue_dead_discard(struct store *db, const char *tenant_id, const char *job_id, const char *actor_type,
                       const char *actor_id, const char *ip, struct err *e)
{
    int rc = store_job_discard(db, tenant_id, job_id, e);
    if (rc != 0)
        return rc;
    return ops_audit(db, tenant_id, actor_type, actor_id, "job.discard", job_id, ip, NULL, e);
}
