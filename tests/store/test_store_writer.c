/*
 * test_store_writer: the group-commit writer (store.h, store_writer.c) on one
 * backend, named by argv[1] ("sqlite" or "postgres" on SB_TEST_PG_URL).
 * Batches really form (a blocked first operation lets the next ones queue,
 * so the second transaction carries all of them; concurrent callers share
 * transactions), a failing operation is rolled back alone, a failed COMMIT
 * fails the whole batch, done runs only after the commit (another pooled
 * connection already sees the row), stop drains, and a stopped writer
 * refuses new operations. Operations write jobs through store_job_insert and,
 * for the commit failure, a scratch table with a deferred foreign key
 * (raw SQL through the store internals, allowed in tests only).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"
#include "test.h"
#include "test_db.h"

/* ------------------------------------------------------------ operations */

/* One operation: insert a job with this id (and optionally fail after it). */
struct job_op {
    char id[CORE_ID_MAX];
    int fail_after;           /* return ERR_INVALID after the insert */
    /* outcome */
    int finished;
    int rc;
    char err_slug[48];
    int visible_in_done;      /* the job was visible from another connection in done */
};

static pthread_mutex_t ops_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ops_cv = PTHREAD_COND_INITIALIZER;

static int job_op_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct job_op *op = ud;
    struct store_job j;
    int rc;

    memset(&j, 0, sizeof(j));
    snprintf(j.id, sizeof(j.id), "%s", op->id);
    snprintf(j.type, sizeof(j.type), "writer.test");
    j.payload = "{}";
    if ((rc = store_job_insert(tx, "ten_w", &j, NULL, e)))
        return rc;
    if (op->fail_after)
        return err_set(e, ERR_INVALID, "op_refused", "refused on purpose");
    return 0;
}

static int job_exists(const char *id)
{
    struct err e = {0};
    return store_job_get(T.db, "ten_w", id, NULL, NULL, &e) == 0;
}

static void job_op_done(void *ud, int rc, const struct err *e)
{
    struct job_op *op = ud;
    int visible = rc == 0 ? job_exists(op->id) : 0;

    pthread_mutex_lock(&ops_mu);
    op->rc = rc;
    snprintf(op->err_slug, sizeof(op->err_slug), "%s", rc && e ? err_slug(e) : "");
    op->visible_in_done = visible;
    op->finished = 1;
    pthread_cond_broadcast(&ops_cv);
    pthread_mutex_unlock(&ops_mu);
}

static void wait_finished(struct job_op *ops, int n)
{
    pthread_mutex_lock(&ops_mu);
    for (int i = 0; i < n; i++)
        while (!ops[i].finished)
            pthread_cond_wait(&ops_cv, &ops_mu);
    pthread_mutex_unlock(&ops_mu);
}

/* An operation that blocks in fn until released, so what is submitted
 * meanwhile queues up for the next batch. */
struct gate {
    int entered;
    int released;
    int finished;
};

static int gate_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct gate *g = ud;
    (void)tx;
    (void)e;
    pthread_mutex_lock(&ops_mu);
    g->entered = 1;
    pthread_cond_broadcast(&ops_cv);
    while (!g->released)
        pthread_cond_wait(&ops_cv, &ops_mu);
    pthread_mutex_unlock(&ops_mu);
    return 0;
}

static void gate_done(void *ud, int rc, const struct err *e)
{
    struct gate *g = ud;
    (void)rc;
    (void)e;
    pthread_mutex_lock(&ops_mu);
    g->finished = 1;
    pthread_cond_broadcast(&ops_cv);
    pthread_mutex_unlock(&ops_mu);
}

/* Submit the gate and wait until the writer is inside it. */
static void gate_close(struct store_writer *w, struct gate *g)
{
    struct err e = {0};
    memset(g, 0, sizeof(*g));
    CHECK_EQ_INT(store_writer_submit(w, gate_fn, gate_done, g, &e), 0);
    pthread_mutex_lock(&ops_mu);
    while (!g->entered)
        pthread_cond_wait(&ops_cv, &ops_mu);
    pthread_mutex_unlock(&ops_mu);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&ops_mu);
    g->released = 1;
    pthread_cond_broadcast(&ops_cv);
    while (!g->finished)
        pthread_cond_wait(&ops_cv, &ops_mu);
    pthread_mutex_unlock(&ops_mu);
}

/* One thread unless asked: with one, batch boundaries are deterministic. */
static struct store_writer *new_writer(int max_batch, int threads)
{
    struct store_writer *w = NULL;
    struct store_writer_options o = {.max_batch = max_batch, .threads = threads};
    struct err e = {0};
    CHECK_EQ_INT(store_writer_new(&w, T.db, &o, &e), 0);
    return w;
}

/* ----------------------------------------------------------------- tests */

static void test_store_writer__batches_form(void)
{
    enum { N = 40 };
    struct store_writer *w = new_writer(256, 1);
    struct job_op ops[N];
    struct store_writer_stats st;
    struct gate g;
    struct err e = {0};

    memset(ops, 0, sizeof(ops));
    gate_close(w, &g);
    for (int i = 0; i < N; i++) {
        snprintf(ops[i].id, sizeof(ops[i].id), "job_batch_%02d", i);
        CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &ops[i], &e), 0);
    }
    store_writer_stats(w, &st);
    CHECK_EQ_INT(st.queued, N);
    gate_open(&g);
    wait_finished(ops, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(ops[i].rc, 0);
        CHECK_EQ_INT(ops[i].visible_in_done, 1);
    }
    store_writer_stats(w, &st);
    /* One transaction for the gate, one for all N that queued behind it. */
    CHECK_EQ_INT(st.batches, 2);
    CHECK_EQ_INT(st.ops, N + 1);
    CHECK_EQ_INT(st.max_batch, N);
    CHECK_EQ_INT(st.failed, 0);
    CHECK_EQ_INT(st.size_hist[0], 1);
    CHECK_EQ_INT(st.size_hist[5], 1); /* 32..63 */
    CHECK(st.max_queued >= N);
    store_writer_free(w);
}

static void test_store_writer__max_batch(void)
{
    enum { N = 25 };
    struct store_writer *w = new_writer(10, 1);
    struct job_op ops[N];
    struct store_writer_stats st;
    struct gate g;
    struct err e = {0};

    memset(ops, 0, sizeof(ops));
    gate_close(w, &g);
    for (int i = 0; i < N; i++) {
        snprintf(ops[i].id, sizeof(ops[i].id), "job_max_%02d", i);
        CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &ops[i], &e), 0);
    }
    gate_open(&g);
    wait_finished(ops, N);
    store_writer_stats(w, &st);
    CHECK_EQ_INT(st.max_batch, 10);
    CHECK_EQ_INT(st.ops, N + 1);
    CHECK(st.batches >= 4); /* the gate, then 10 + 10 + 5 at most per transaction */
    for (int i = 0; i < N; i++)
        CHECK(job_exists(ops[i].id));
    store_writer_free(w);
}

struct runner {
    struct store_writer *w;
    int base, n, failures;
};

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    for (int i = 0; i < r->n; i++) {
        struct job_op op;
        struct err e = {0};
        memset(&op, 0, sizeof(op));
        snprintf(op.id, sizeof(op.id), "job_conc_%d_%03d", r->base, i);
        if (store_writer_run(r->w, job_op_fn, &op, &e) != 0 || !job_exists(op.id)) {
            if (!r->failures)
                fprintf(stderr, "    %s: %s\n", op.id, e.msg);
            r->failures++;
        }
    }
    return NULL;
}

static void test_store_writer__concurrent_callers_share_commits(void)
{
    enum { THREADS = 8, EACH = 40 };
    struct store_writer *w = new_writer(256, 2);
    struct runner r[THREADS];
    pthread_t th[THREADS];
    struct store_writer_stats st;

    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct runner){w, i, EACH, 0};
        pthread_create(&th[i], NULL, runner_main, &r[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(r[i].failures, 0);
    }
    store_writer_stats(w, &st);
    CHECK_EQ_INT(st.ops, THREADS * EACH);
    /* Callers waiting on a commit queue up for the next one. */
    CHECK(st.batches < st.ops);
    CHECK(st.max_batch > 1);
    fprintf(stderr, "    %llu operations in %llu transactions (largest %d)\n", (unsigned long long)st.ops,
            (unsigned long long)st.batches, st.max_batch);
    store_writer_free(w);
}

static void test_store_writer__failure_is_isolated(void)
{
    struct store_writer *w = new_writer(256, 1);
    struct job_op ops[4];
    struct store_writer_stats st;
    struct gate g;
    struct err e = {0};

    memset(ops, 0, sizeof(ops));
    snprintf(ops[0].id, sizeof(ops[0].id), "job_iso_ok1");
    snprintf(ops[1].id, sizeof(ops[1].id), "job_iso_refused");
    ops[1].fail_after = 1;                                   /* its insert must be undone */
    snprintf(ops[2].id, sizeof(ops[2].id), "job_iso_ok1");  /* duplicate primary key */
    snprintf(ops[3].id, sizeof(ops[3].id), "job_iso_ok2");
    gate_close(w, &g);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &ops[i], &e), 0);
    gate_open(&g);
    wait_finished(ops, 4);
    CHECK_EQ_INT(ops[0].rc, 0);
    CHECK_EQ_INT(ops[1].rc, ERR_INVALID);
    CHECK_EQ_STR(ops[1].err_slug, "op_refused");
    CHECK_EQ_INT(ops[2].rc, ERR_CONFLICT);
    CHECK_EQ_INT(ops[3].rc, 0);
    CHECK(job_exists("job_iso_ok1"));
    CHECK(!job_exists("job_iso_refused"));
    CHECK(job_exists("job_iso_ok2"));
    store_writer_stats(w, &st);
    CHECK_EQ_INT(st.batches, 2); /* all four shared one transaction */
    CHECK_EQ_INT(st.failed, 2);
    store_writer_free(w);
}

/* Inserts a child row; its foreign key is checked only at COMMIT. */
struct child_op {
    const char *id;
    const char *parent;
    int finished;
    int rc;
};

static int child_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct child_op *op = ud;
    struct store_param p[2] = {store__ptext(op->id), store__ptext(op->parent)};
    return store__q(tx->db, tx->c, "INSERT INTO wtest_child (id, parent) VALUES (?, ?)", p, 2, NULL, NULL, NULL, e);
}

static void child_done(void *ud, int rc, const struct err *e)
{
    struct child_op *op = ud;
    (void)e;
    pthread_mutex_lock(&ops_mu);
    op->rc = rc;
    op->finished = 1;
    pthread_cond_broadcast(&ops_cv);
    pthread_mutex_unlock(&ops_mu);
}

static int64_t count_children(void)
{
    struct store_conn *c = NULL;
    struct err e = {0};
    int64_t n = -1;
    if (store__pool_get(T.db, &c, &e) == 0) {
        store__q(T.db, c, "SELECT count(*) FROM wtest_child", NULL, 0, store__row_int, &n, NULL, &e);
        store__pool_put(T.db, c);
    }
    return n;
}

static void test_store_writer__commit_failure_fails_the_batch(void)
{
    struct store_writer *w = new_writer(256, 1);
    struct child_op ops[3] = {{"c1", "p1", 0, 0}, {"c2", "missing", 0, 0}, {"c3", "p1", 0, 0}};
    struct gate g;
    struct err e = {0};

    CHECK_EQ_INT(raw_sql("CREATE TABLE wtest_parent (id TEXT PRIMARY KEY)"), 0);
    CHECK_EQ_INT(raw_sql("CREATE TABLE wtest_child (id TEXT PRIMARY KEY, parent TEXT REFERENCES wtest_parent (id)"
                         " DEFERRABLE INITIALLY DEFERRED)"),
                 0);
    CHECK_EQ_INT(raw_sql("INSERT INTO wtest_parent (id) VALUES ('p1')"), 0);
    gate_close(w, &g);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(store_writer_submit(w, child_fn, child_done, &ops[i], &e), 0);
    gate_open(&g);
    pthread_mutex_lock(&ops_mu);
    for (int i = 0; i < 3; i++)
        while (!ops[i].finished)
            pthread_cond_wait(&ops_cv, &ops_mu);
    pthread_mutex_unlock(&ops_mu);
    /* Each insert succeeded, the COMMIT did not: all three fail, none stored. */
    for (int i = 0; i < 3; i++)
        CHECK(ops[i].rc != 0);
    CHECK_EQ_INT(count_children(), 0);
    /* The writer goes on: the next batch commits. */
    struct child_op ok = {"c4", "p1", 0, 0};
    CHECK_EQ_INT(store_writer_run(w, child_fn, &ok, &e), 0);
    CHECK_EQ_INT(count_children(), 1);
    store_writer_free(w);
}

static void test_store_writer__stop_drains_then_refuses(void)
{
    enum { N = 120 };
    struct store_writer *w = new_writer(16, 1);
    struct job_op *ops = calloc(N, sizeof(*ops));
    struct job_op late;
    struct err e = {0};
    int done = 0, stored = 0;

    for (int i = 0; i < N; i++) {
        snprintf(ops[i].id, sizeof(ops[i].id), "job_drain_%03d", i);
        CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &ops[i], &e), 0);
    }
    store_writer_stop(w); /* returns only when every submitted operation ran */
    for (int i = 0; i < N; i++) {
        done += ops[i].finished;
        stored += ops[i].rc == 0 && job_exists(ops[i].id);
    }
    CHECK_EQ_INT(done, N);
    CHECK_EQ_INT(stored, N);
    memset(&late, 0, sizeof(late));
    snprintf(late.id, sizeof(late.id), "job_drain_late");
    CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &late, &e), ERR_CONFLICT);
    CHECK_EQ_STR(err_slug(&e), "writer_stopped");
    CHECK_EQ_INT(store_writer_run(w, job_op_fn, &late, &e), ERR_CONFLICT);
    CHECK_EQ_INT(late.finished, 0); /* done is not called for a refused submit */
    CHECK(!job_exists("job_drain_late"));
    store_writer_stop(w);           /* idempotent */
    store_writer_free(w);
    store_writer_free(NULL);
    free(ops);
}

static void test_store_writer__free_drains(void)
{
    enum { N = 60 };
    struct store_writer *w = new_writer(0, 1);
    struct job_op *ops = calloc(N, sizeof(*ops));
    struct err e = {0};
    int stored = 0;

    for (int i = 0; i < N; i++) {
        snprintf(ops[i].id, sizeof(ops[i].id), "job_free_%03d", i);
        CHECK_EQ_INT(store_writer_submit(w, job_op_fn, job_op_done, &ops[i], &e), 0);
    }
    store_writer_free(w);
    for (int i = 0; i < N; i++)
        stored += ops[i].finished && ops[i].rc == 0 && job_exists(ops[i].id);
    CHECK_EQ_INT(stored, N);
    free(ops);
}

static int nop_fn(void *ud, struct store_tx *tx, struct err *e)
{
    (void)ud;
    (void)tx;
    (void)e;
    return 0;
}

static int sleepy_fn(void *ud, struct store_tx *tx, struct err *e)
{
    (void)tx;
    (void)e;
    usleep((useconds_t)(*(int *)ud) * 1000);
    return 0;
}

struct fg_load {
    struct store_writer *w;
    volatile int stop;
    int runs;
};

static void *fg_load_main(void *arg)
{
    struct fg_load *l = arg;
    struct err e = {0};
    while (!l->stop) {
        if (store_writer_run(l->w, nop_fn, NULL, &e) == 0)
            l->runs++;
    }
    return NULL;
}

/* Background operations run at once when nothing else waits, and take at
 * most their share (25%) of the writer's time while foreground callers are
 * kept waiting; without the share they would take about half (each batch
 * one foreground op, one 20 ms background op). */
static void test_store_writer__background_share(void)
{
    struct store_writer *w = new_writer(256, 1);
    struct store_writer_stats st;
    struct fg_load loads[4];
    pthread_t th[4];
    struct err e = {0};
    int ms = 20, i;
    int64_t t0;

    t0 = time_mono_ns();
    CHECK_EQ_INT(store_writer_run_background(w, sleepy_fn, &ms, &e), 0);
    CHECK((time_mono_ns() - t0) < 1000000000LL); /* idle: no waiting for a share */
    for (i = 0; i < 4; i++) {
        loads[i] = (struct fg_load){w, 0, 0};
        pthread_create(&th[i], NULL, fg_load_main, &loads[i]);
    }
    t0 = time_mono_ns();
    while (time_mono_ns() - t0 < 1500000000LL)
        CHECK_EQ_INT(store_writer_run_background(w, sleepy_fn, &ms, &e), 0);
    int64_t elapsed = time_mono_ns() - t0;
    for (i = 0; i < 4; i++)
        loads[i].stop = 1;
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    store_writer_stats(w, &st);
    double share = (double)st.background_ns / (double)elapsed;
    fprintf(stderr, "  background share under load: %.2f (%llu background ops)\n", share,
            (unsigned long long)st.background);
    CHECK(share < 0.35);
    CHECK(st.background >= 10); /* it still made progress */
    CHECK(loads[0].runs > 0);
    store_writer_free(w);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;

    if (crypto_init() != 0)
        return 1;
    if (argc < 2 || db_setup(argv[1], "writer") != 0) {
        if (argc < 2)
            fprintf(stderr, "usage: test_store_writer sqlite|postgres\n");
        db_teardown();
        return 1;
    }
    if (store_migrate(T.db, &mi, &e) != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_store_writer__batches_form);
    TEST_RUN(test_store_writer__max_batch);
    TEST_RUN(test_store_writer__concurrent_callers_share_commits);
    TEST_RUN(test_store_writer__failure_is_isolated);
    TEST_RUN(test_store_writer__commit_failure_fails_the_batch);
    TEST_RUN(test_store_writer__stop_drains_then_refuses);
    TEST_RUN(test_store_writer__free_drains);
    TEST_RUN(test_store_writer__background_share);
    db_teardown();
    TEST_DONE();
}
