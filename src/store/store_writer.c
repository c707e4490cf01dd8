/*
 * store_writer: group commit. Callers submit write operations; a writer
 * thread takes every operation queued since its last commit (up to
 * max_batch), runs each inside a SAVEPOINT of one write transaction, commits
 * once, and only then reports each operation's outcome to its done callback.
 *
 * Invariants: an operation's done runs exactly once, after the COMMIT that
 * stored it returned (or with the error that kept it out: its own, or the
 * batch's). A failing operation is rolled back to its savepoint and its
 * batch mates are unaffected; if the transaction itself breaks (BEGIN,
 * SAVEPOINT or COMMIT fails), every operation not yet failed fails with that
 * error, and nothing of the batch is stored. Batches form without waiting:
 * operations queue up while the previous commit's fsync runs. The done
 * callbacks run on a completion thread, so a writer thread starts its next
 * transaction while the previous batch's callers are being answered. w->mu
 * guards the queues, the stop flags and the statistics, never a database
 * call or a callback.
 *
 * Two lanes: foreground operations (someone is waiting to be answered) and
 * background ones (job batches). A batch takes every queued foreground
 * operation; it takes background ones too when the foreground lane is idle
 * (nothing in flight, nothing submitted or answered for WRITER_BUSY_NS), or when the background lane has
 * used less than its share of the writer's time (after a batch whose
 * background operations ran for t, they wait t * (100 - share) / share
 * before they may join a busy batch again). At stop everything drains.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define WRITER_MAX_THREADS 16
/* The foreground lane counts as busy for this long after its last submit. */
#define WRITER_BUSY_NS (5 * 1000000LL)

struct writer_op {
    struct writer_op *next;
    int background;
    store_write_fn fn;
    store_write_done_fn done;
    void *ud;
    int rc;
    struct err e;
};

struct writer_thread {
    struct store_writer *w;
    pthread_t th;
    struct writer_op **ops;  /* this thread's batch, max_batch slots */
};

struct store_writer {
    struct store *db;
    int max_batch;
    int nthreads;            /* started */
    struct writer_thread th[WRITER_MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* signalled when an operation is queued or at stop */
    struct writer_op *head, *tail;        /* foreground lane */
    struct writer_op *bg_head, *bg_tail;  /* background lane */
    int background_share;                 /* percent */
    int64_t bg_next_ns;                   /* background may join a busy batch from then */
    int64_t fg_last_ns;                   /* last foreground submit or completion */
    int fg_inflight;                      /* foreground operations submitted, not yet answered */
    pthread_t completer;
    int completer_started;
    pthread_cond_t done_cv;  /* signalled when a batch is finished or the writers exited */
    struct writer_op *done_head, *done_tail; /* finished operations awaiting their callbacks */
    int writers_exited;
    int queued;
    int stopping;
    int stopped;             /* threads joined */
    struct store_writer_stats st;
};

static int64_t writer_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fail ops[from..n) that have not failed yet with cause. */
static void writer_fail_rest(struct writer_op **ops, int from, int n, const struct err *cause)
{
    for (int i = from; i < n; i++) {
        if (ops[i]->rc)
            continue;
        ops[i]->rc = cause->code ? cause->code : ERR_IO;
        ops[i]->e = *cause;
        if (!ops[i]->e.code)
            ops[i]->e.code = ops[i]->rc;
    }
}

/* Run one batch in one transaction; fills each op's rc and e. */
/* Runs the batch; *bg_ns receives the writer time its background operations
 * cost: their own run time plus their part of the COMMIT (the pages they
 * dirtied are most of what the fsync writes), in proportion to run time. */
static void writer_batch(struct store_writer *w, struct writer_op **ops, int n, int64_t *bg_ns)
{
    struct store *db = w->db;
    struct store_conn *c = NULL;
    struct err ce = {0};
    struct store_tx tx;
    int64_t t0, t1, top;
    int i, rc;

    *bg_ns = 0;

    for (i = 0; i < n; i++)
        ops[i]->rc = 0;
    if ((rc = store__pool_get(db, &c, &ce))) {
        writer_fail_rest(ops, 0, n, &ce);
        return;
    }
    if ((rc = store__tx_begin(db, c, &ce))) {
        writer_fail_rest(ops, 0, n, &ce);
        store__pool_put(db, c);
        return;
    }
    tx.db = db;
    tx.c = c;
    t0 = writer_mono_ns();
    for (i = 0; i < n; i++) {
        struct writer_op *op = ops[i];
        if ((rc = store__q(db, c, "SAVEPOINT sb_write_op", NULL, 0, NULL, NULL, NULL, &ce)))
            break;
        err_clear(&op->e);
        top = op->background ? writer_mono_ns() : 0;
        op->rc = op->fn(op->ud, &tx, &op->e);
        if (op->background)
            *bg_ns += writer_mono_ns() - top;
        if (op->rc) {
            if (!op->e.code)
                err_set(&op->e, op->rc, NULL, "store: write operation failed");
            /* Undo this operation alone. If that fails, the transaction is
             * gone (SQLite rolls back on some errors): the batch breaks. */
            if ((rc = store__q(db, c, "ROLLBACK TO SAVEPOINT sb_write_op", NULL, 0, NULL, NULL, NULL, &ce)) ||
                (rc = store__q(db, c, "RELEASE SAVEPOINT sb_write_op", NULL, 0, NULL, NULL, NULL, &ce))) {
                i++;
                break;
            }
            continue;
        }
        if ((rc = store__q(db, c, "RELEASE SAVEPOINT sb_write_op", NULL, 0, NULL, NULL, NULL, &ce))) {
            i++;
            break;
        }
    }
    if (rc) {
        /* The transaction broke: nothing of the batch is stored. */
        store__tx_end(db, c, rc, &ce);
        writer_fail_rest(ops, 0, n, &ce);
        store__pool_put(db, c);
        return;
    }
    t1 = writer_mono_ns();
    rc = store__tx_end(db, c, 0, &ce);
    store__pool_put(db, c);
    int64_t t2 = writer_mono_ns(), ops_ns = t1 - t0, commit_ns = t2 - t1;
    if (*bg_ns > 0)
        *bg_ns += *bg_ns >= ops_ns ? commit_ns : commit_ns * *bg_ns / ops_ns;
    pthread_mutex_lock(&w->mu);
    w->st.exec_ns += (uint64_t)(t1 - t0);
    w->st.commit_ns += (uint64_t)(t2 - t1);
    pthread_mutex_unlock(&w->mu);
    if (rc)
        writer_fail_rest(ops, 0, n, &ce);
}

/* The foreground lane is idle: nothing in flight and nothing for a while. Under w->mu. */
static int writer_fg_idle(const struct store_writer *w, int64_t now)
{
    return w->fg_inflight == 0 && now - w->fg_last_ns >= WRITER_BUSY_NS;
}

/* Background operations may join a batch now: at stop (drain), within
 * their share, or when the foreground is idle. Under w->mu. */
static int writer_bg_ready(const struct store_writer *w, int64_t now)
{
    return w->stopping || now >= w->bg_next_ns || writer_fg_idle(w, now);
}

/* Index into the batch size histogram: 1, 2-3, 4-7, …, >= 2^(N-1). */
static int writer_hist_slot(int n)
{
    int s = 0;
    while (n > 1 && s < STORE_WRITER_HIST - 1) {
        n >>= 1;
        s++;
    }
    return s;
}

static void *writer_main(void *arg)
{
    struct writer_thread *t = arg;
    struct store_writer *w = t->w;
    struct writer_op **ops = t->ops;
    int n, nfg, i, failed;
    int64_t bg_ns;

    for (;;) {
        pthread_mutex_lock(&w->mu);
        for (;;) {
            int64_t now = writer_mono_ns();
            int bg_ok = w->bg_head && writer_bg_ready(w, now);
            if (w->head || bg_ok || (w->stopping && !w->bg_head))
                break;
            if (w->bg_head) {
                /* Background waits for its share or for the foreground to go idle. */
                int64_t until = w->bg_next_ns < w->fg_last_ns + WRITER_BUSY_NS ? w->bg_next_ns
                                                                                : w->fg_last_ns + WRITER_BUSY_NS;
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t wait_ns = until - now > 0 ? until - now : 1;
                ts.tv_sec += (time_t)(wait_ns / 1000000000LL);
                ts.tv_nsec += (long)(wait_ns % 1000000000LL);
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            } else {
                pthread_cond_wait(&w->cv, &w->mu);
            }
        }
        if (!w->head && !w->bg_head) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        /* Everything queued since the last commit, up to max_batch:
         * foreground first, then background within its share. */
        n = 0;
        while (w->head && n < w->max_batch) {
            ops[n] = w->head;
            w->head = ops[n]->next;
            ops[n]->next = NULL;
            n++;
        }
        if (!w->head)
            w->tail = NULL;
        nfg = n;
        {
            int64_t now = writer_mono_ns();
            if (writer_bg_ready(w, now)) {
                while (w->bg_head && n < w->max_batch) {
                    ops[n] = w->bg_head;
                    w->bg_head = ops[n]->next;
                    ops[n]->next = NULL;
                    n++;
                }
                if (!w->bg_head)
                    w->bg_tail = NULL;
            }
        }
        w->queued -= n;
        pthread_mutex_unlock(&w->mu);
        writer_batch(w, ops, n, &bg_ns);
        failed = 0;
        for (i = 0; i < n; i++)
            failed += ops[i]->rc != 0;
        /* Counted before the callbacks, so a caller that saw its done sees its batch. */
        pthread_mutex_lock(&w->mu);
        if (bg_ns > 0)
            w->bg_next_ns = writer_mono_ns() + bg_ns * (100 - w->background_share) / w->background_share;
        w->st.batches++;
        w->st.ops += (uint64_t)n;
        w->st.background += (uint64_t)(n - nfg);
        w->st.background_ns += (uint64_t)bg_ns;
        w->st.failed += (uint64_t)failed;
        if (n > w->st.max_batch)
            w->st.max_batch = n;
        w->st.size_hist[writer_hist_slot(n)]++;
        /* Hand the batch to the completion thread, in order. */
        for (i = 0; i < n; i++) {
            if (w->done_tail)
                w->done_tail->next = ops[i];
            else
                w->done_head = ops[i];
            w->done_tail = ops[i];
        }
        pthread_cond_signal(&w->done_cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

/* Runs the done callbacks of finished batches, in commit order. Exits when
 * the writer threads have exited and nothing is left. */
static void *writer_completer(void *arg)
{
    struct store_writer *w = arg;
    struct writer_op *list, *next;
    int64_t t0;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->done_head && !w->writers_exited)
            pthread_cond_wait(&w->done_cv, &w->mu);
        if (!w->done_head)
            break;
        list = w->done_head;
        w->done_head = w->done_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        t0 = writer_mono_ns();
        int fg = 0;
        for (; list; list = next) {
            next = list->next;
            fg += !list->background;
            list->done(list->ud, list->rc, &list->e);
            free(list);
        }
        pthread_mutex_lock(&w->mu);
        w->st.done_ns += (uint64_t)(writer_mono_ns() - t0);
        w->fg_inflight -= fg;
        if (fg)
            w->fg_last_ns = writer_mono_ns();
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int store_writer_new(struct store_writer **out, struct store *db, const struct store_writer_options *opt,
                     struct err *e)
{
    struct store_writer *w;
    int rc = 0, i, want;

    *out = NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    w->db = db;
    w->max_batch = opt && opt->max_batch > 0 ? opt->max_batch : 256;
    w->background_share = opt && opt->background_share > 0 && opt->background_share <= 100 ? opt->background_share
                                                                                             : 25;
    want = opt && opt->threads > 0 ? opt->threads : 1;
    if (want > WRITER_MAX_THREADS)
        want = WRITER_MAX_THREADS;
    /* SQLite has one writer at a time: more threads would only queue on its lock. */
    if (strcmp(db->be->name, "sqlite") == 0)
        want = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    if (pthread_create(&w->completer, NULL, writer_completer, w) != 0) {
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return err_set(e, ERR_INTERNAL, NULL, "store: cannot start the writer's completion thread");
    }
    w->completer_started = 1;
    for (i = 0; i < want; i++) {
        struct writer_thread *t = &w->th[i];
        t->w = w;
        t->ops = calloc((size_t)w->max_batch, sizeof(*t->ops));
        if (!t->ops) {
            rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
            break;
        }
        if (pthread_create(&t->th, NULL, writer_main, t) != 0) {
            free(t->ops);
            t->ops = NULL;
            rc = err_set(e, ERR_INTERNAL, NULL, "store: cannot start a writer thread");
            break;
        }
        w->nthreads++;
    }
    if (rc) {
        store_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void store_writer_stop(struct store_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    if (w->stopped) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    /* Each thread exits once the queue is empty, so everything submitted runs. */
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->th[i].th, NULL);
    pthread_mutex_lock(&w->mu);
    w->writers_exited = 1;
    pthread_cond_broadcast(&w->done_cv);
    pthread_mutex_unlock(&w->mu);
    if (w->completer_started)
        pthread_join(w->completer, NULL); /* every done callback has run */
    pthread_mutex_lock(&w->mu);
    w->stopped = 1;
    pthread_mutex_unlock(&w->mu);
}

void store_writer_free(struct store_writer *w)
{
    if (!w)
        return;
    store_writer_stop(w);
    for (int i = 0; i < w->nthreads; i++)
        free(w->th[i].ops);
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static int writer_submit(struct store_writer *w, store_write_fn fn, store_write_done_fn done, void *ud,
                         int background, struct err *e)
{
    struct writer_op *op;

    if (!fn || !done)
        return err_set(e, ERR_INVALID, NULL, "store: a write operation needs fn and done");
    op = calloc(1, sizeof(*op));
    if (!op)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    op->fn = fn;
    op->done = done;
    op->ud = ud;
    op->background = background;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(op);
        return err_set(e, ERR_CONFLICT, "writer_stopped", "store: the writer is stopping");
    }
    if (background) {
        if (w->bg_tail)
            w->bg_tail->next = op;
        else
            w->bg_head = op;
        w->bg_tail = op;
    } else {
        if (w->tail)
            w->tail->next = op;
        else
            w->head = op;
        w->tail = op;
        w->fg_last_ns = writer_mono_ns();
        w->fg_inflight++;
    }
    w->queued++;
    if (w->queued > w->st.max_queued)
        w->st.max_queued = w->queued;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int store_writer_submit(struct store_writer *w, store_write_fn fn, store_write_done_fn done, void *ud,
                        struct err *e)
{
    return writer_submit(w, fn, done, ud, 0, e);
}

/* store_writer_run: the caller waits on this for its operation's outcome. */
struct writer_wait {
    store_write_fn fn;
    void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
    int rc;
    struct err e;
};

static int writer_wait_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct writer_wait *ww = ud;
    return ww->fn(ww->ud, tx, e);
}

static void writer_wait_done(void *ud, int rc, const struct err *e)
{
    struct writer_wait *ww = ud;
    pthread_mutex_lock(&ww->mu);
    ww->rc = rc;
    if (e)
        ww->e = *e;
    ww->finished = 1;
    pthread_cond_signal(&ww->cv);
    pthread_mutex_unlock(&ww->mu);
}

static int writer_run(struct store_writer *w, store_write_fn fn, void *ud, int background, struct err *e)
{
    struct writer_wait ww;
    int rc;

    memset(&ww, 0, sizeof(ww));
    if (!fn)
        return err_set(e, ERR_INVALID, NULL, "store: a write operation needs fn");
    ww.fn = fn;
    ww.ud = ud;
    pthread_mutex_init(&ww.mu, NULL);
    pthread_cond_init(&ww.cv, NULL);
    rc = writer_submit(w, writer_wait_fn, writer_wait_done, &ww, background, e);
    if (rc == 0) {
        pthread_mutex_lock(&ww.mu);
        while (!ww.finished)
            pthread_cond_wait(&ww.cv, &ww.mu);
        pthread_mutex_unlock(&ww.mu);
        rc = ww.rc;
        if (rc && e)
            *e = ww.e;
    }
    pthread_cond_destroy(&ww.cv);
    pthread_mutex_destroy(&ww.mu);
    return rc;
}

int store_writer_run(struct store_writer *w, store_write_fn fn, void *ud, struct err *e)
{
    return writer_run(w, fn, ud, 0, e);
}

int store_writer_run_background(struct store_writer *w, store_write_fn fn, void *ud, struct err *e)
{
    return writer_run(w, fn, ud, 1, e);
}

void store_writer_stats(struct store_writer *w, struct store_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}
