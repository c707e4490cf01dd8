/*
 * queue: worker pool, heartbeat and retry policy over the store's jobs table.
 *
 * Threads: N workers each claim one job at a time (round robin over the
 * registered types, so a process never claims a type it cannot run), run its
 * handler and record the outcome under the lease check; one heartbeat thread
 * extends the lease of every running job every lease/3. q->mu guards the
 * worker slots, the stop flag and the counters; it is never held across a
 * database call or a handler. With a group-commit writer (SQLite), a claim
 * is an operation of the writer's next batch (the worker waits for it) and
 * an outcome is queued to it without waiting: no worker commits on its own.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"
#include "queue/queue.h"

#define QUEUE_MAX_TYPES 32

struct qtype {
    char name[64];
    queue_handler_fn handler;
    void *ud;
    int max_attempts;
    int64_t base_ms, cap_ms;
};

struct worker {
    struct queue *q;
    pthread_t th;
    char id[64];
    char job_id[CORE_ID_MAX]; /* "" when idle */
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

    if (!t->name || !t->name[0] || strlen(t->name) >= sizeof(qt->name) || !t->handler)
        return err_set(e, ERR_INVALID, NULL, "queue: a job type needs a name (< 64 bytes) and a handler");
    if (q->running)
        return err_set(e, ERR_CONFLICT, NULL, "queue: register types before queue_start");
    if (find_type(q, t->name))
        return err_set(e, ERR_CONFLICT, NULL, "queue: job type %s registered twice", t->name);
    if (q->ntypes == QUEUE_MAX_TYPES)
        return err_set(e, ERR_NOMEM, NULL, "queue: too many job types");
    qt = &q->types[q->ntypes++];
    snprintf(qt->name, sizeof(qt->name), "%s", t->name);
    qt->handler = t->handler;
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

/* A claimed job copied out of the claim callback. */
struct claim_out {
    int got;
    struct store_job j;
    char *payload;
};

static int on_claim(void *ud, const struct store_job *j)
{
    struct claim_out *co = ud;

    co->j = *j;
    co->payload = strdup(j->payload);
    if (!co->payload)
        return ERR_NOMEM;
    co->j.payload = co->payload;
    co->got = 1;
    return 0;
}

static void add_ns(struct queue *q, uint64_t *ctr, uint64_t v)
{
    pthread_mutex_lock(&q->mu);
    *ctr += v;
    pthread_mutex_unlock(&q->mu);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An outcome to record through the writer; owns its strings. */
struct outcome_op {
    char job_id[CORE_ID_MAX];
    char worker_id[64];
    int done;                  /* 1: complete, 0: fail */
    char error[512];
    int64_t retry_at;
    int dead;
    int64_t now;
};

static int outcome_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct outcome_op *o = ud;
    if (o->done)
        return store_job_complete_tx(tx, o->job_id, o->worker_id, o->now, e);
    return store_job_fail_tx(tx, o->job_id, o->worker_id, o->error, o->retry_at, o->dead, o->now, e);
}

static void outcome_done(void *ud, int rc, const struct err *e)
{
    (void)rc;
    (void)e; /* a lost lease or a failed batch: the job runs again after its lease */
    free(ud);
}

/* Record a job's outcome under the lease check: through the writer when
 * there is one (not waiting for its commit), else directly. */
static void record_outcome(struct queue *q, const char *job_id, const char *worker_id, int done, const char *error,
                           int64_t retry_at, int dead, int64_t now)
{
    struct err e = {0};
    if (q->opt.writer) {
        struct outcome_op *o = calloc(1, sizeof(*o));
        if (o) {
            snprintf(o->job_id, sizeof(o->job_id), "%s", job_id);
            snprintf(o->worker_id, sizeof(o->worker_id), "%s", worker_id);
            o->done = done;
            snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
            o->retry_at = retry_at;
            o->dead = dead;
            o->now = now;
            if (store_writer_submit(q->opt.writer, outcome_fn, outcome_done, o, &e) == 0)
                return;
            free(o); /* the writer is stopping: write it ourselves */
        }
    }
    if (done)
        store_job_complete(q->db, job_id, worker_id, now, &e);
    else
        store_job_fail(q->db, job_id, worker_id, error, retry_at, dead, now, &e);
}

/* Run one claimed job and record its outcome (under the lease check). */
static void run_job(struct worker *w, struct qtype *qt, const struct store_job *j)
{
    struct queue *q = w->q;
    struct queue_job qj = {j->id, j->tenant_id, j->type, j->payload, j->attempts, j->max_attempts};
    struct queue_result res;
    int64_t t0, now, delay;
    uint64_t rnd;
    int outcome, dead;

    memset(&res, 0, sizeof(res));
    if (j->attempts > j->max_attempts) {
        /* Its workers kept dying (expired leases): do not run it again. */
        snprintf(res.error, sizeof(res.error), "attempts exhausted by expired leases%s%.400s",
                 j->last_error[0] ? "; last error: " : "", j->last_error);
        record_outcome(q, j->id, w->id, 0, res.error, time_now_ms(), 1, time_now_ms());
        add_ns(q, &q->st.dead, 1);
        return;
    }
    pthread_mutex_lock(&q->mu);
    snprintf(w->job_id, sizeof(w->job_id), "%s", j->id);
    pthread_mutex_unlock(&q->mu);
    t0 = mono_ns();
    outcome = qt->handler(qt->ud, &qj, &res);
    pthread_mutex_lock(&q->mu);
    q->st.processed++;
    q->st.processing_ns += (uint64_t)(mono_ns() - t0);
    w->job_id[0] = '\0';
    pthread_mutex_unlock(&q->mu);
    now = time_now_ms();
    if (outcome == QUEUE_DONE) {
        record_outcome(q, j->id, w->id, 1, NULL, 0, 0, now);
        add_ns(q, &q->st.succeeded, 1);
        return;
    }
    if (!res.error[0])
        snprintf(res.error, sizeof(res.error), "%s", outcome == QUEUE_FAIL ? "failed" : "transient failure");
    dead = outcome != QUEUE_RETRY || j->attempts >= j->max_attempts;
    crypto_random_fast(&rnd, sizeof(rnd));
    delay = res.retry_after_ms > 0 ? res.retry_after_ms : queue_backoff_ms(j->attempts, qt->base_ms, qt->cap_ms, rnd);
    record_outcome(q, j->id, w->id, 0, res.error, now + delay, dead, now);
    add_ns(q, &q->st.failed, 1);
    if (dead)
        add_ns(q, &q->st.dead, 1);
}

/* A claim as an operation of the writer's batch: the first type (round
 * robin from w->rr) with a ready job. */
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

    for (i = 0; i < q->ntypes && !c->co->got; i++) {
        c->qt = &q->types[(c->w->rr + (unsigned)i) % (unsigned)q->ntypes];
        if ((rc = store_job_claim_tx(tx, c->w->id, c->qt->name, time_now_ms(), q->opt.lease_ms, 1, on_claim, c->co,
                                     NULL, e)))
            return rc;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct queue *q = w->q;

    for (;;) {
        struct claim_out co;
        struct qtype *qt = NULL;
        struct err e = {0};
        int i, stop;

        pthread_mutex_lock(&q->mu);
        w->heartbeat = time_now_ms();
        stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        if (stop)
            break;
        memset(&co, 0, sizeof(co));
        if (q->opt.writer) {
            struct claim_op c = {w, &co, NULL};
            if (store_writer_run(q->opt.writer, claim_fn, &c, &e) != 0 && co.got) {
                free(co.payload); /* the batch did not commit: not ours */
                memset(&co, 0, sizeof(co));
            }
            qt = c.qt;
        } else {
            for (i = 0; i < q->ntypes && !co.got; i++) {
                qt = &q->types[(w->rr + (unsigned)i) % (unsigned)q->ntypes];
                if (store_job_claim(q->db, w->id, qt->name, time_now_ms(), q->opt.lease_ms, 1, on_claim, &co, NULL,
                                    &e) != 0)
                    break;
            }
        }
        w->rr++;
        if (co.got) {
            run_job(w, qt, &co.j);
            free(co.payload);
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

/* Extends the lease of every running job every lease/3 until stop. */
static void *heartbeat_main(void *arg)
{
    struct queue *q = arg;
    char (*ids)[CORE_ID_MAX] = calloc((size_t)q->nw, CORE_ID_MAX);
    int i;

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
        for (i = 0; i < q->nw; i++)
            memcpy(ids[i], q->w[i].job_id, CORE_ID_MAX);
        pthread_mutex_unlock(&q->mu);
        for (i = 0; i < q->nw; i++) {
            struct err e = {0};
            if (ids[i][0])
                store_job_extend(q->db, ids[i], q->w[i].id, time_now_ms() + q->opt.lease_ms, &e);
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
