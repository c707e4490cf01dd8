/*
 * test_queue: the durable job queue, through store.h's job functions and
 * queue.h's worker pool: push/claim/complete, the transactional outbox
 * (rollback leaves nothing), lease expiry, backoff and dead letters, admin
 * retry/discard with tenant scoping, idempotency keys, and on PostgreSQL two
 * processes claiming one queue without ever sharing a job.
 *
 * Run as `test_queue sqlite` or `test_queue postgres` (SB_TEST_PG_URL).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "queue/queue.h"
#include "test.h"
#include "test_db.h"

static int copy_job(void *ud, const struct store_job *j)
{
    struct store_job *out = ud;
    *out = *j;
    out->payload = NULL; /* borrowed; not kept */
    return 0;
}

static int count_job(void *ud, const struct store_job *j)
{
    (void)j;
    (*(int *)ud)++;
    return 0;
}

static struct store_job push(const char *tenant, const char *type, const char *key, int max_attempts)
{
    struct store_job j;
    struct err e = {0};
    memset(&j, 0, sizeof(j));
    snprintf(j.type, sizeof(j.type), "%s", type);
    snprintf(j.idempotency_key, sizeof(j.idempotency_key), "%s", key ? key : "");
    j.payload = "{\"n\":1}";
    j.max_attempts = max_attempts;
    CHECK_EQ_INT(store_job_push(T.db, tenant, &j, NULL, &e), 0);
    return j;
}

static void test_queue__push_claim_complete(void)
{
    struct err e = {0};
    struct store_job j = push("ten_a", "t.basic", NULL, 3), got;
    int n = 0;
    int64_t now = time_now_ms();

    memset(&got, 0, sizeof(got));
    CHECK_EQ_INT(store_job_claim(T.db, "w1", "t.basic", now, 10000, 5, copy_job, &got, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(got.id, j.id);
    CHECK_EQ_STR(got.state, "running");
    CHECK_EQ_STR(got.locked_by, "w1");
    CHECK_EQ_INT(got.attempts, 1);
    CHECK_EQ_INT(got.lease_until, now + 10000);
    /* Claimed and leased: nobody else gets it. */
    CHECK_EQ_INT(store_job_claim(T.db, "w2", NULL, now + 1, 10000, 5, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    /* Another worker cannot complete it. */
    CHECK_EQ_INT(store_job_complete(T.db, j.id, "w2", now, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_extend(T.db, j.id, "w1", now + 20000, &e), 0);
    CHECK_EQ_INT(store_job_complete(T.db, j.id, "w1", now, &e), 0);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", j.id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "done");
    /* Done jobs are never claimed again, even long after. */
    CHECK_EQ_INT(store_job_claim(T.db, "w1", NULL, now + 10000000, 10000, 5, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    /* A job scheduled in the future is not ready yet. */
    struct store_job later;
    memset(&later, 0, sizeof(later));
    snprintf(later.type, sizeof(later.type), "t.basic");
    later.run_at = now + 60000;
    later.max_attempts = 1;
    CHECK_EQ_INT(store_job_push(T.db, "ten_a", &later, NULL, &e), 0);
    CHECK_EQ_INT(store_job_claim(T.db, "w1", NULL, now, 10000, 5, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_job_claim(T.db, "w1", NULL, now + 60000, 10000, 5, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(store_job_complete(T.db, later.id, "w1", now, &e), 0);
}

static void test_queue__outbox_tx(void)
{
    struct err e = {0};
    struct store_tx tx;
    struct store_job a, b, got;

    memset(&a, 0, sizeof(a));
    snprintf(a.type, sizeof(a.type), "t.tx");
    a.max_attempts = 1;
    b = a;
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_job_insert(&tx, "ten_a", &a, NULL, &e), 0);
    store_tx_rollback(&tx);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", a.id, copy_job, &got, &e), ERR_NOTFOUND);

    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_job_insert(&tx, "ten_a", &b, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", b.id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "queued");
    /* Tenant scoping of reads. */
    CHECK_EQ_INT(store_job_get(T.db, "ten_b", b.id, copy_job, &got, &e), ERR_NOTFOUND);
    int n = 0;
    CHECK_EQ_INT(store_job_claim(T.db, "w1", "t.tx", time_now_ms(), 1000, 10, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(store_job_complete(T.db, b.id, "w1", time_now_ms(), &e), 0);
}

/* A savepoint undoes one item of a transaction and keeps the rest. */
static void test_queue__savepoints(void)
{
    struct store_tx tx;
    struct store_job a, b, got;
    struct err e = {0};

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    snprintf(a.type, sizeof(a.type), "t.sp");
    snprintf(b.type, sizeof(b.type), "t.sp");
    a.max_attempts = b.max_attempts = 1;
    CHECK_EQ_INT(store_tx_savepoint(&(struct store_tx){T.db, NULL}, &e), ERR_INVALID);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_tx_savepoint(&tx, &e), 0);
    CHECK_EQ_INT(store_job_insert(&tx, "ten_sp", &a, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_release(&tx, &e), 0);
    CHECK_EQ_INT(store_tx_savepoint(&tx, &e), 0);
    CHECK_EQ_INT(store_job_insert(&tx, "ten_sp", &b, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_undo(&tx, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(store_job_get(T.db, "ten_sp", a.id, copy_job, &got, &e), 0);
    CHECK_EQ_INT(store_job_get(T.db, "ten_sp", b.id, copy_job, &got, &e), ERR_NOTFOUND);
}

static void test_queue__lease_expiry(void)
{
    struct err e = {0};
    struct store_job j = push("ten_a", "t.lease", NULL, 3), got;
    int64_t now = time_now_ms();
    int n = 0;

    CHECK_EQ_INT(store_job_claim(T.db, "dead-worker", "t.lease", now, 50, 1, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    /* Before the lease expires: not claimable. After: claimable again. */
    CHECK_EQ_INT(store_job_claim(T.db, "w2", "t.lease", now + 49, 50, 1, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    memset(&got, 0, sizeof(got));
    CHECK_EQ_INT(store_job_claim(T.db, "w2", "t.lease", now + 51, 1000, 1, copy_job, &got, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(got.id, j.id);
    CHECK_EQ_INT(got.attempts, 2);
    CHECK_EQ_STR(got.locked_by, "w2");
    /* The old worker lost its lease: it can neither complete nor fail it. */
    CHECK_EQ_INT(store_job_complete(T.db, j.id, "dead-worker", now, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_fail(T.db, j.id, "dead-worker", "x", now, 1, now, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_complete(T.db, j.id, "w2", now, &e), 0);
}

static void test_queue__backoff(void)
{
    /* Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. */
    CHECK_EQ_INT(queue_backoff_ms(1, 100, 10000, UINT64_MAX), UINT64_MAX % 101);
    CHECK_EQ_INT(queue_backoff_ms(1, 100, 10000, 100), 100);
    CHECK_EQ_INT(queue_backoff_ms(2, 100, 10000, 200), 200);
    CHECK_EQ_INT(queue_backoff_ms(3, 100, 10000, 400), 400);
    CHECK_EQ_INT(queue_backoff_ms(3, 100, 10000, 401), 0);
    CHECK_EQ_INT(queue_backoff_ms(20, 100, 10000, 10000), 10000);
    CHECK_EQ_INT(queue_backoff_ms(200, 100, 10000, 10001), 0);
    CHECK_EQ_INT(queue_backoff_ms(1, 100, 10000, 0), 0);
    /* The upper bound grows with the attempt until the cap. */
    int64_t prev = 0;
    for (int a = 1; a <= 8; a++) {
        int64_t maxd = 0;
        for (uint64_t r = 0; r < 2000; r += 7)
            if (queue_backoff_ms(a, 10, 100000, r) > maxd)
                maxd = queue_backoff_ms(a, 10, 100000, r);
        CHECK(maxd > prev);
        prev = maxd;
    }
}

/* ------------------------------------------------ worker pool handlers */

struct flaky {
    pthread_mutex_t mu;
    int fail_times;      /* fail this many runs, then succeed */
    int runs;
    int successes;
    int64_t retry_after; /* reported on failure */
    int permanent;
};

static int flaky_handler(void *ud, const struct queue_job *job, struct queue_result *res)
{
    struct flaky *f = ud;
    int rc;

    pthread_mutex_lock(&f->mu);
    f->runs++;
    if (f->permanent) {
        rc = QUEUE_FAIL;
    } else if (f->fail_times < 0 || f->runs <= f->fail_times) {
        rc = QUEUE_RETRY;
    } else {
        f->successes++;
        rc = QUEUE_DONE;
    }
    pthread_mutex_unlock(&f->mu);
    if (rc != QUEUE_DONE) {
        snprintf(res->error, sizeof(res->error), "provider said 500 on attempt %d", job->attempt);
        res->retry_after_ms = f->retry_after;
    }
    return rc;
}

static int flaky_get(struct flaky *f, int which)
{
    pthread_mutex_lock(&f->mu);
    int v = which ? f->successes : f->runs;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static struct queue *new_queue(struct flaky *f, const char *type, int max_attempts)
{
    struct queue *q = NULL;
    struct err e = {0};
    struct queue_options o = {.workers = 2, .lease_ms = 2000, .poll_ms = 10, .worker_prefix = "t"};
    struct queue_type t = {.name = type, .handler = flaky_handler, .ud = f, .max_attempts = max_attempts,
                           .base_backoff_ms = 20, .max_backoff_ms = 200};

    CHECK_EQ_INT(queue_new(&q, T.db, &o, &e), 0);
    CHECK_EQ_INT(queue_register(q, &t, &e), 0);
    CHECK_EQ_INT(queue_register(q, &t, &e), ERR_CONFLICT);
    return q;
}

static int wait_for(struct flaky *f, int which, int want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (flaky_get(f, which) >= want)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_queue__pool_retries_then_succeeds(void)
{
    struct flaky f = {PTHREAD_MUTEX_INITIALIZER, 2, 0, 0, 0, 0};
    struct queue *q = new_queue(&f, "t.flaky", 5);
    struct queue_stats st;
    struct store_job got;
    struct err e = {0};
    char id[CORE_ID_MAX];

    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.flaky", "{}", NULL, 0, id, NULL, &e), 0);
    CHECK(wait_for(&f, 1, 1, 10000));
    queue_stop(q);
    CHECK_EQ_INT(f.runs, 3);
    CHECK_EQ_INT(f.successes, 1);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "done");
    CHECK_EQ_INT(got.attempts, 3);
    queue_stats(q, &st);
    CHECK_EQ_INT(st.processed, 3);
    CHECK_EQ_INT(st.failed, 2);
    CHECK_EQ_INT(st.succeeded, 1);
    CHECK_EQ_INT(st.dead, 0);
    CHECK(st.oldest_heartbeat_ms == 0); /* stopped: no workers */
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.unknown", "{}", NULL, 0, NULL, NULL, &e), ERR_INVALID);
    queue_free(q);
}

/* With a group-commit writer, claims and outcomes go through its batches:
 * the same results, retries included, and no worker commits on its own. */
static void test_queue__pool_through_writer(void)
{
    enum { N = 12 };
    struct flaky f = {PTHREAD_MUTEX_INITIALIZER, 3, 0, 0, 0, 0};
    struct store_writer *w = NULL;
    struct store_writer_options wo = {.threads = 1};
    struct store_writer_stats ws;
    struct queue *q = NULL;
    struct err e = {0};
    struct queue_options o = {.workers = 2, .lease_ms = 2000, .poll_ms = 10, .worker_prefix = "tw"};
    struct queue_type t = {.name = "t.writer", .handler = flaky_handler, .ud = &f, .max_attempts = 5,
                           .base_backoff_ms = 10, .max_backoff_ms = 50};
    struct store_job got;
    char ids[N][CORE_ID_MAX];
    int done = 0;

    CHECK_EQ_INT(store_writer_new(&w, T.db, &wo, &e), 0);
    o.writer = w;
    CHECK_EQ_INT(queue_new(&q, T.db, &o, &e), 0);
    CHECK_EQ_INT(queue_register(q, &t, &e), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(queue_push(q, "ten_a", "t.writer", "{}", NULL, 0, ids[i], NULL, &e), 0);
    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK(wait_for(&f, 1, N, 20000));
    queue_stop(q);
    store_writer_stop(w); /* the last outcomes are queued on the writer */
    for (int i = 0; i < N; i++) {
        memset(&got, 0, sizeof got);
        CHECK_EQ_INT(store_job_get(T.db, "ten_a", ids[i], copy_job, &got, &e), 0);
        done += strcmp(got.state, "done") == 0;
    }
    CHECK_EQ_INT(done, N);
    CHECK_EQ_INT(f.runs, N + 3); /* three failed runs were retried */
    store_writer_stats(w, &ws);
    CHECK(ws.ops >= (uint64_t)(2 * (N + 3)));  /* a claim and an outcome per run, at least */
    queue_free(q);
    store_writer_free(w);
}

static void test_queue__dead_letter_retry_discard(void)
{
    struct flaky f = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 0, 0};
    struct queue *q = new_queue(&f, "t.dead", 3);
    struct store_job got;
    struct err e = {0};
    char id[CORE_ID_MAX], id2[CORE_ID_MAX];
    int n;

    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.dead", "{}", NULL, 0, id, NULL, &e), 0);
    CHECK(wait_for(&f, 0, 3, 10000));
    usleep(100000);
    queue_stop(q);
    CHECK_EQ_INT(f.runs, 3); /* max attempts, then no more */
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "dead");
    CHECK_EQ_STR(got.last_error, "provider said 500 on attempt 3");
    CHECK_EQ_INT(got.attempts, 3);

    /* Tenant B sees none of A's dead jobs and cannot touch them. */
    n = 0;
    CHECK_EQ_INT(store_job_list_dead(T.db, "ten_b", count_job, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_job_retry(T.db, "ten_b", id, time_now_ms(), &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_discard(T.db, "ten_b", id, &e), ERR_NOTFOUND);
    n = 0;
    CHECK_EQ_INT(store_job_list_dead(T.db, "ten_a", count_job, &n, &e), 0);
    CHECK_EQ_INT(n, 1);

    /* Retry: runs exactly once more (it succeeds now). */
    f.fail_times = 3;
    CHECK_EQ_INT(store_job_retry(T.db, "ten_a", id, time_now_ms(), &e), 0);
    CHECK_EQ_INT(store_job_retry(T.db, "ten_a", id, time_now_ms(), &e), ERR_NOTFOUND); /* no longer dead */
    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK(wait_for(&f, 1, 1, 10000));
    usleep(100000);
    queue_stop(q);
    CHECK_EQ_INT(f.runs, 4);
    CHECK_EQ_INT(f.successes, 1);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "done");

    /* A permanent failure is dead at once; discard removes it. */
    f.permanent = 1;
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.dead", "{}", NULL, 0, id2, NULL, &e), 0);
    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK(wait_for(&f, 0, 5, 10000));
    usleep(100000);
    queue_stop(q);
    CHECK_EQ_INT(f.runs, 5);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id2, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "dead");
    CHECK_EQ_INT(store_job_discard(T.db, "ten_a", id2, &e), 0);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id2, copy_job, &got, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_discard(T.db, "ten_a", id, &e), ERR_NOTFOUND); /* done, not dead */
    queue_free(q);
}

static void test_queue__retry_after(void)
{
    struct flaky f = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 60000, 0};
    struct queue *q = new_queue(&f, "t.429", 5);
    struct store_job got;
    struct err e = {0};
    char id[CORE_ID_MAX];
    int64_t before = time_now_ms();

    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.429", "{}", NULL, 0, id, NULL, &e), 0);
    CHECK(wait_for(&f, 0, 1, 10000));
    usleep(200000);
    queue_stop(q);
    CHECK_EQ_INT(f.runs, 1); /* not retried before Retry-After */
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "queued");
    CHECK(got.run_at >= before + 60000);
    CHECK(got.run_at <= time_now_ms() + 60000);
    queue_free(q);
}

static void test_queue__idempotency(void)
{
    struct err e = {0};
    struct store_job a = push("ten_a", "t.idem", "key-1", 1);
    struct store_job b;
    int dup = 0, n = 0;

    memset(&b, 0, sizeof(b));
    snprintf(b.type, sizeof(b.type), "t.idem");
    snprintf(b.idempotency_key, sizeof(b.idempotency_key), "key-1");
    b.max_attempts = 1;
    CHECK_EQ_INT(store_job_push(T.db, "ten_a", &b, &dup, &e), 0);
    CHECK_EQ_INT(dup, 1);
    CHECK_EQ_STR(b.id, a.id);
    /* The same key under another type is a different job. */
    memset(&b, 0, sizeof(b));
    snprintf(b.type, sizeof(b.type), "t.idem2");
    snprintf(b.idempotency_key, sizeof(b.idempotency_key), "key-1");
    CHECK_EQ_INT(store_job_push(T.db, "ten_a", &b, &dup, &e), 0);
    CHECK_EQ_INT(dup, 0);
    CHECK(strcmp(b.id, a.id) != 0);
    CHECK_EQ_INT(store_job_claim(T.db, "w", "t.idem", time_now_ms(), 1000, 10, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(store_job_claim(T.db, "w", "t.idem2", time_now_ms(), 1000, 10, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
}

static int stat_cb(void *ud, const char *type, const char *state, int64_t count)
{
    if (strcmp(type, "t.stats") == 0 && strcmp(state, "queued") == 0)
        *(int64_t *)ud = count;
    return 0;
}

static void test_queue__stats(void)
{
    struct err e = {0};
    int64_t queued = 0, oldest = 0, now;

    push("ten_a", "t.stats", NULL, 1);
    push("ten_a", "t.stats", NULL, 1);
    now = time_now_ms(); /* after the pushes: both run_at <= now */
    CHECK_EQ_INT(store_job_stats(T.db, now + 5000, stat_cb, &queued, &oldest, &e), 0);
    CHECK_EQ_INT(queued, 2);
    CHECK(oldest >= 5000 && oldest < 60000);
    int n = 0;
    CHECK_EQ_INT(store_job_claim(T.db, "w", "t.stats", now + 5000, 1000, 10, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
}

struct slow {
    pthread_mutex_t mu;
    int runs;
    int done;
    int sleep_ms;
};

static int slow_handler(void *ud, const struct queue_job *job, struct queue_result *res)
{
    struct slow *sl = ud;
    (void)job;
    (void)res;
    pthread_mutex_lock(&sl->mu);
    sl->runs++;
    pthread_mutex_unlock(&sl->mu);
    usleep((useconds_t)sl->sleep_ms * 1000);
    pthread_mutex_lock(&sl->mu);
    sl->done++;
    pthread_mutex_unlock(&sl->mu);
    return QUEUE_DONE;
}

/* A handler running past its lease keeps the job: the heartbeat extends the
 * lease, so another claimer never gets it; a job whose worker died (expired
 * lease) is picked up by the pool; one whose leases expired more times than
 * its max attempts goes dead without running. */
static void test_queue__heartbeat_and_expired_leases(void)
{
    struct slow sl = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 900};
    struct queue *q = NULL;
    struct err e = {0};
    struct queue_options o = {.workers = 1, .lease_ms = 300, .poll_ms = 10, .worker_prefix = "hb"};
    struct queue_type t = {.name = "t.slow", .handler = slow_handler, .ud = &sl, .max_attempts = 3,
                           .base_backoff_ms = 20, .max_backoff_ms = 200};
    struct store_job got;
    char id[CORE_ID_MAX];
    int n = 0, i;

    CHECK_EQ_INT(queue_new(&q, T.db, &o, &e), 0);
    CHECK_EQ_INT(queue_register(q, &t, &e), 0);
    CHECK_EQ_INT(queue_start(q, &e), 0);
    CHECK_EQ_INT(queue_push(q, "ten_a", "t.slow", "{}", NULL, 0, id, NULL, &e), 0);
    for (i = 0; i < 500; i++) {
        pthread_mutex_lock(&sl.mu);
        int r = sl.runs;
        pthread_mutex_unlock(&sl.mu);
        if (r)
            break;
        usleep(2000);
    }
    /* Probe for 800 ms (well past the 300 ms lease) while the handler runs. */
    int stolen = 0;
    for (i = 0; i < 16; i++) {
        usleep(50000);
        CHECK_EQ_INT(store_job_claim(T.db, "thief", "t.slow", time_now_ms(), 1000, 1, NULL, NULL, &n, &e), 0);
        stolen += n;
    }
    CHECK_EQ_INT(stolen, 0);
    usleep(300000);
    queue_stop(q);
    CHECK_EQ_INT(sl.runs, 1);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "done");

    /* A worker that died holding a job: the pool takes it over after expiry. */
    struct store_job j = push("ten_a", "t.slow", NULL, 3);
    CHECK_EQ_INT(store_job_claim(T.db, "crashed", "t.slow", time_now_ms(), 100, 1, NULL, NULL, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    sl.sleep_ms = 1;
    CHECK_EQ_INT(queue_start(q, &e), 0);
    for (i = 0; i < 300; i++) {
        pthread_mutex_lock(&sl.mu);
        int d = sl.done;
        pthread_mutex_unlock(&sl.mu);
        if (d >= 2)
            break;
        usleep(10000);
    }
    queue_stop(q);
    CHECK_EQ_INT(sl.done, 2);
    CHECK_EQ_INT(store_job_get(T.db, "ten_a", j.id, copy_job, &got, &e), 0);
    CHECK_EQ_STR(got.state, "done");
    CHECK_EQ_INT(got.attempts, 2);

    /* Leases expired past max attempts: dead, not run. */
    struct store_job k = push("ten_a", "t.slow", NULL, 2);
    for (i = 0; i < 2; i++) {
        CHECK_EQ_INT(store_job_claim(T.db, "crashed", "t.slow", time_now_ms() + i * 10, 5, 1, NULL, NULL, &n, &e), 0);
        CHECK_EQ_INT(n, 1);
    }
    usleep(20000);
    CHECK_EQ_INT(queue_start(q, &e), 0);
    for (i = 0; i < 300; i++) {
        CHECK_EQ_INT(store_job_get(T.db, "ten_a", k.id, copy_job, &got, &e), 0);
        if (strcmp(got.state, "dead") == 0)
            break;
        usleep(10000);
    }
    queue_stop(q);
    CHECK_EQ_STR(got.state, "dead");
    CHECK(strstr(got.last_error, "expired leases") != NULL);
    CHECK_EQ_INT(sl.done, 2);
    queue_free(q);
}

struct claimed4 {
    struct store_job j[4];
    int n;
};

static int collect4(void *ud, const struct store_job *j)
{
    struct claimed4 *c = ud;
    if (c->n == 4)
        return -1;
    copy_job(&c->j[c->n++], j);
    return 0;
}

/* Two processes, each with its own store, claim from one queue of 500. */
static void test_queue__two_processes(void)
{
    enum { NJOBS = 500 };
    struct err e = {0};
    int fds[2][2];
    pid_t pid[2];
    char ids[NJOBS][CORE_ID_MAX];
    int seen[NJOBS] = {0};

    for (int i = 0; i < NJOBS; i++) {
        struct store_job j = push("ten_a", "t.multi", NULL, 1);
        memcpy(ids[i], j.id, CORE_ID_MAX);
    }
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(pipe(fds[k]), 0);
        pid[k] = fork();
        if (pid[k] == 0) {
            struct store *db = NULL;
            struct store_options o = {T.url, NULL, 2, 0};
            char w[16];
            int n = 0, rc = 0;
            close(fds[k][0]);
            snprintf(w, sizeof(w), "p%d", k);
            if (store_open(&db, &o, &e) != 0)
                _exit(2);
            do {
                struct claimed4 got;
                memset(&got, 0, sizeof(got));
                int m = 0;
                /* Claim up to 4 at a time; report each id to the parent. */
                rc = store_job_claim(db, w, "t.multi", time_now_ms(), 60000, 4, collect4, &got, &m, &e);
                for (int i = 0; rc == 0 && i < got.n; i++) {
                    if (write(fds[k][1], got.j[i].id, CORE_ID_MAX) != CORE_ID_MAX)
                        rc = -1;
                    else
                        rc = store_job_complete(db, got.j[i].id, w, time_now_ms(), &e);
                }
                n = m;
            } while (rc == 0 && n > 0);
            store_close(db);
            close(fds[k][1]);
            _exit(rc == 0 ? 0 : 1);
        }
        close(fds[k][1]);
    }
    int total = 0, per[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char id[CORE_ID_MAX];
        while (read(fds[k][0], id, CORE_ID_MAX) == CORE_ID_MAX) {
            per[k]++;
            total++;
            for (int i = 0; i < NJOBS; i++)
                if (strcmp(ids[i], id) == 0)
                    seen[i]++;
        }
        close(fds[k][0]);
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(pid[k], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int once = 0;
    for (int i = 0; i < NJOBS; i++)
        once += seen[i] == 1;
    CHECK_EQ_INT(total, NJOBS);
    CHECK_EQ_INT(once, NJOBS);
    fprintf(stderr, "  two processes claimed %d + %d jobs\n", per[0], per[1]);
}

struct batcher {
    pthread_mutex_t mu;
    int calls, jobs, largest;
};

/* Fails the jobs whose payload says so, permanently; the rest succeed. */
static void batch_handler(void *ud, const struct queue_job *jobs, int n, int *outcomes, struct queue_result *res)
{
    struct batcher *b = ud;
    pthread_mutex_lock(&b->mu);
    b->calls++;
    b->jobs += n;
    if (n > b->largest)
        b->largest = n;
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < n; i++) {
        if (strstr(jobs[i].payload, "\"fail\"")) {
            outcomes[i] = QUEUE_FAIL;
            snprintf(res[i].error, sizeof(res[i].error), "refused job %d of %d", i, n);
        } else {
            outcomes[i] = QUEUE_DONE;
        }
    }
}

/* A batch handler gets several jobs per call (up to batch_max), successes
 * are recorded together and a failure stays with its own job. */
static void test_queue__batch_handler(void)
{
    struct batcher b = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    struct queue *q = NULL;
    struct err e = {0};
    struct queue_options o = {.workers = 1, .lease_ms = 5000, .poll_ms = 10, .worker_prefix = "b"};
    struct queue_type t = {.name = "t.batch", .batch_handler = batch_handler, .batch_max = 8, .ud = &b,
                           .max_attempts = 3};
    struct queue_type both = {.name = "t.both", .handler = slow_handler, .batch_handler = batch_handler};
    char ids[20][CORE_ID_MAX];
    struct store_job got;

    CHECK_EQ_INT(queue_new(&q, T.db, &o, &e), 0);
    CHECK_EQ_INT(queue_register(q, &both, &e), ERR_INVALID);
    CHECK_EQ_INT(queue_register(q, &t, &e), 0);
    /* Pushed before the workers start, so the first claim finds a full batch. */
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(queue_push(q, "ten_b", "t.batch", i == 13 ? "{\"fail\":1}" : "{}", NULL, 0, ids[i], NULL, &e),
                     0);
    CHECK_EQ_INT(queue_start(q, &e), 0);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&b.mu);
        int seen = b.jobs;
        pthread_mutex_unlock(&b.mu);
        if (seen >= 20)
            break;
        usleep(10000);
    }
    queue_stop(q);
    CHECK_EQ_INT(b.jobs, 20);
    CHECK_EQ_INT(b.largest, 8);
    CHECK(b.calls >= 3 && b.calls <= 4);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(store_job_get(T.db, "ten_b", ids[i], copy_job, &got, &e), 0);
        CHECK_EQ_STR(got.state, i == 13 ? "dead" : "done");
        if (i == 13)
            CHECK(strstr(got.last_error, "refused job") != NULL);
    }
    struct queue_stats st;
    queue_stats(q, &st);
    CHECK_EQ_INT(st.succeeded, 19);
    CHECK_EQ_INT(st.dead, 1);
    queue_free(q);
}

/* Depth counts jobs not done; old done jobs are pruned; /metrics and
 * /readyz members come from the same numbers. */
static void test_queue__prune_metrics_health(void)
{
    struct err e = {0};
    struct buf m = {0}, h = {0};
    int64_t deleted = -1, now = time_now_ms();
    int n = 0;
    struct store_job a = push("ten_p", "t.prune", NULL, 2), b = push("ten_p", "t.prune", NULL, 2), claimed, got;

    CHECK_EQ_INT(store_job_claim(T.db, "wp", "t.prune", now + 1000, 5000, 1, copy_job, &claimed, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    const char *other = strcmp(claimed.id, a.id) == 0 ? b.id : a.id;
    const char *ids[2] = {a.id, b.id};
    int lost = -1;
    /* One of the two was claimed by wp; the other is not wp's: counted as lost. */
    CHECK_EQ_INT(store_job_complete_many(T.db, ids, 2, "wp", now, &lost, &e), 0);
    CHECK_EQ_INT(lost, 1);
    CHECK_EQ_INT(store_job_extend_worker(T.db, "nobody", now + 1, &e), 0);

    queue_metrics_render(NULL, T.db, &m);
    CHECK(strstr(m.data, "sb_jobs{type=\"t.prune\",state=\"queued\"} 1\n") != NULL);
    CHECK(strstr(m.data, "state=\"done\"") == NULL);
    CHECK(strstr(m.data, "sb_job_oldest_ready_seconds ") != NULL);
    CHECK_EQ_INT(queue_health(NULL, T.db, &h), 1); /* no workers here: nothing to be dead */
    CHECK(strstr(h.data, "\"workers\":{\"configured\":0,\"alive\":0}") != NULL);
    CHECK(strstr(h.data, "\"depth\":") != NULL);

    CHECK_EQ_INT(store_job_prune_done(T.db, now - 3600 * 1000, 100, &deleted, &e), 0);
    CHECK_EQ_INT(deleted, 0); /* done, but not old enough */
    CHECK_EQ_INT(store_job_prune_done(T.db, now + 3600 * 1000, 100, &deleted, &e), 0);
    CHECK(deleted >= 1);
    CHECK_EQ_INT(store_job_get(T.db, "ten_p", claimed.id, copy_job, &got, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_job_get(T.db, "ten_p", other, copy_job, &got, &e), 0); /* queued jobs are never pruned */
    CHECK_EQ_STR(got.state, "queued");
    buf_free(&m);
    buf_free(&h);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";

    if (db_setup(backend, "queue") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_queue__push_claim_complete);
    TEST_RUN(test_queue__outbox_tx);
    TEST_RUN(test_queue__savepoints);
    TEST_RUN(test_queue__lease_expiry);
    TEST_RUN(test_queue__backoff);
    TEST_RUN(test_queue__idempotency);
    TEST_RUN(test_queue__stats);
    TEST_RUN(test_queue__pool_retries_then_succeeds);
    TEST_RUN(test_queue__pool_through_writer);
    TEST_RUN(test_queue__dead_letter_retry_discard);
    TEST_RUN(test_queue__retry_after);
    TEST_RUN(test_queue__heartbeat_and_expired_leases);
    TEST_RUN(test_queue__batch_handler);
    TEST_RUN(test_queue__prune_metrics_health);
    if (T.pg)
        TEST_RUN(test_queue__two_processes);
    db_teardown();
    TEST_DONE();
}
