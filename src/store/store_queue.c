/*
 * store queue: caller-held write transactions and the jobs table (the
 * durable job queue's storage; the scheduling logic lives in src/queue/).
 *
 * Invariants: a job changes state only under a lease check (locked_by and
 * state = 'running'), so a worker whose lease expired and was re-claimed
 * cannot complete or fail it. Claims are atomic: BEGIN IMMEDIATE serialises
 * them on SQLite; on PostgreSQL the candidate rows are locked with
 * FOR UPDATE SKIP LOCKED, so concurrent claimers never share a job.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ------------------------------------------------------- transactions */

int store_tx_begin(struct store *db, struct store_tx *tx, struct err *e)
{
    int rc;

    tx->db = db;
    tx->c = NULL;
    if ((rc = store__pool_get(db, &tx->c, e)))
        return rc;
    if ((rc = store__tx_begin(db, tx->c, e))) {
        store__pool_put(db, tx->c);
        tx->c = NULL;
    }
    return rc;
}

int store_tx_commit(struct store_tx *tx, struct err *e)
{
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    rc = store__tx_end(tx->db, tx->c, 0, e);
    store__pool_put(tx->db, tx->c);
    tx->c = NULL;
    return rc;
}

void store_tx_rollback(struct store_tx *tx)
{
    struct err ignored = {0};

    if (!tx->c)
        return;
    store__tx_end(tx->db, tx->c, ERR_INTERNAL, &ignored);
    store__pool_put(tx->db, tx->c);
    tx->c = NULL;
}

int store_tx_savepoint(struct store_tx *tx, struct err *e)
{
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return store__q(tx->db, tx->c, "SAVEPOINT sb_item", NULL, 0, NULL, NULL, NULL, e);
}

int store_tx_release(struct store_tx *tx, struct err *e)
{
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return store__q(tx->db, tx->c, "RELEASE SAVEPOINT sb_item", NULL, 0, NULL, NULL, NULL, e);
}

int store_tx_undo(struct store_tx *tx, struct err *e)
{
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    rc = store__q(tx->db, tx->c, "ROLLBACK TO SAVEPOINT sb_item", NULL, 0, NULL, NULL, NULL, e);
    if (rc == 0)
        rc = store__q(tx->db, tx->c, "RELEASE SAVEPOINT sb_item", NULL, 0, NULL, NULL, NULL, e);
    return rc;
}

/* --------------------------------------------------------------- jobs */

#define JOB_COLS                                                                                   \
    "id, tenant_id, type, payload, state, attempts, max_attempts, run_at, lease_until, locked_by, " \
    "last_error, idempotency_key, created_at, updated_at"

struct job_iter {
    store_job_cb cb;
    void *ud;
    int n;
};

static int row_job_cb(void *ud, const struct store_row *r)
{
    struct job_iter *it = ud;
    struct store_job j;

    memset(&j, 0, sizeof(j));
    store__cpy(j.id, sizeof(j.id), store__col_text(r, 0));
    store__cpy(j.tenant_id, sizeof(j.tenant_id), store__col_text(r, 1));
    store__cpy(j.type, sizeof(j.type), store__col_text(r, 2));
    j.payload = store__col_text(r, 3);
    store__cpy(j.state, sizeof(j.state), store__col_text(r, 4));
    j.attempts = (int)store__col_int(r, 5);
    j.max_attempts = (int)store__col_int(r, 6);
    j.run_at = store__col_int(r, 7);
    j.lease_until = store__col_int(r, 8);
    store__cpy(j.locked_by, sizeof(j.locked_by), store__col_text(r, 9));
    store__cpy(j.last_error, sizeof(j.last_error), store__col_text(r, 10));
    store__cpy(j.idempotency_key, sizeof(j.idempotency_key), store__col_text(r, 11));
    j.created_at = store__col_int(r, 12);
    j.updated_at = store__col_int(r, 13);
    it->n++;
    return it->cb ? it->cb(it->ud, &j) : 0;
}

static int row_text_id(void *ud, const struct store_row *r)
{
    store__cpy(ud, CORE_ID_MAX, store__col_text(r, 0));
    return 0;
}

int store_job_insert(struct store_tx *tx, const char *tenant_id, struct store_job *j, int *out_dup,
                     struct err *e)
{
    struct store *db = tx->db;
    struct store_param p[9];
    int64_t now = time_now_ms(), changed = 0;
    int rc;

    if (out_dup)
        *out_dup = 0;
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(j->type, "job type", e)))
        return rc;
    if (!j->id[0])
        crypto_time_id(j->id, sizeof(j->id), "job", now);
    store__cpy(j->tenant_id, sizeof(j->tenant_id), tenant_id);
    store__cpy(j->state, sizeof(j->state), "queued");
    j->attempts = 0;
    if (j->max_attempts <= 0)
        j->max_attempts = 1;
    if (!j->run_at)
        j->run_at = now;
    j->created_at = j->updated_at = now;
    p[0] = store__ptext(j->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(j->type);
    p[3] = store__ptext(j->payload ? j->payload : "{}");
    p[4] = store__pint(j->max_attempts);
    p[5] = store__pint(j->run_at);
    p[6] = store__ptext_or_null(j->idempotency_key);
    p[7] = store__pint(now);
    p[8] = store__pint(now);
    rc = store__q(db, tx->c,
                  "INSERT INTO jobs (id, tenant_id, type, payload, state, attempts, max_attempts, run_at,"
                  " lease_until, idempotency_key, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, 'queued', 0, ?, ?, 0, ?, ?, ?)"
                  " ON CONFLICT (type, idempotency_key) DO NOTHING",
                  p, 9, NULL, NULL, &changed, e);
    if (rc || changed)
        return rc;
    /* A duplicate: report the job that holds the key. */
    if (out_dup)
        *out_dup = 1;
    p[0] = store__ptext(j->type);
    p[1] = store__ptext(j->idempotency_key);
    return store__q(db, tx->c, "SELECT id FROM jobs WHERE type = ? AND idempotency_key = ?", p, 2, row_text_id,
                    j->id, NULL, e);
}

int store_job_push(struct store *db, const char *tenant_id, struct store_job *j, int *out_dup, struct err *e)
{
    struct store_tx tx;
    int rc;

    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    if ((rc = store_job_insert(&tx, tenant_id, j, out_dup, e))) {
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, e);
}

/* The claimed rows are collected first and handed to the callback after the
 * commit, so a callback never runs inside the claim transaction. */
struct claimed {
    struct store_job *jobs;
    char **payloads;
    int n, cap;
};

static int row_claimed(void *ud, const struct store_row *r);

static int claimed_add(void *ud, const struct store_job *j)
{
    struct claimed *cl = ud;

    if (cl->n == cl->cap)
        return ERR_INTERNAL;
    cl->jobs[cl->n] = *j;
    cl->payloads[cl->n] = strdup(j->payload);
    if (!cl->payloads[cl->n])
        return ERR_NOMEM;
    cl->jobs[cl->n].payload = cl->payloads[cl->n];
    cl->n++;
    return 0;
}

static int row_claimed(void *ud, const struct store_row *r)
{
    struct job_iter it = {claimed_add, ud, 0};
    return row_job_cb(&it, r);
}

/* Claims run as two statements, each a walk of a partial index that stops
 * after LIMIT rows: expired leases first (jobs_lease: running jobs by
 * lease_until), then ready queued jobs of the type (jobs_ready: queued jobs
 * by type and run_at). So a claim costs the same whether the backlog holds
 * ten jobs or a million, and a type with nothing ready is a single probe
 * even while another type has a long backlog (while holding the write
 * lock). The untyped forms (type NULL or "", for tools and tests) walk all
 * ready jobs. (On SQLite, "+type" keeps the planner, which has no
 * statistics, off the (type, idempotency_key) unique index for the lease
 * walk: that index holds every job of the type, done ones included.) */
static const char *const claim_sql_pg[4] = {
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ? AND type = ?"
    " ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ? AND type = ?"
    " ORDER BY run_at LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?"
    " ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ?"
    " ORDER BY run_at LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLS,
};
static const char *const claim_sql_lite[4] = {
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ? AND +type = ?"
    " ORDER BY lease_until LIMIT ?) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ? AND type = ?"
    " ORDER BY run_at LIMIT ?) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?"
    " ORDER BY lease_until LIMIT ?) RETURNING " JOB_COLS,
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, locked_by = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= ?"
    " ORDER BY run_at LIMIT ?) RETURNING " JOB_COLS,
};

/* Run both claim statements on c (inside a write transaction), collecting
 * the claimed rows into cl. */
static int claim_rows(struct store *db, struct store_conn *c, const char *worker_id, const char *type, int64_t now,
                      int64_t lease_ms, int max, struct claimed *cl, struct err *e)
{
    const char *const *sql = strcmp(db->be->name, "postgres") == 0 ? claim_sql_pg : claim_sql_lite;
    int typed = type && *type;
    struct store_param p[6];
    int rc = 0;

    p[0] = store__pint(now + lease_ms);
    p[1] = store__ptext(worker_id);
    p[2] = store__pint(now);
    p[3] = store__pint(now);
    for (int i = 0; i < 2 && rc == 0 && cl->n < max; i++) {
        if (typed) {
            p[4] = store__ptext(type);
            p[5] = store__pint(max - cl->n);
            rc = store__q(db, c, sql[i], p, 6, row_claimed, cl, NULL, e);
        } else {
            p[4] = store__pint(max - cl->n);
            rc = store__q(db, c, sql[2 + i], p, 5, row_claimed, cl, NULL, e);
        }
    }
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    return rc;
}

/* Claim in tx (the caller's transaction, e.g. the group writer's) or, with
 * tx NULL, in a transaction of our own; then hand the rows to cb. */
static int claim(struct store *db, struct store_tx *tx, const char *worker_id, const char *type, int64_t now,
                 int64_t lease_ms, int max, store_job_cb cb, void *ud, int *out_n, struct err *e)
{
    struct store_conn *c = NULL;
    struct claimed cl = {0};
    int rc, i;

    if (out_n)
        *out_n = 0;
    if ((rc = store__need(worker_id, "worker id", e)))
        return rc;
    if (max <= 0)
        return 0;
    cl.cap = max;
    cl.jobs = calloc((size_t)max, sizeof(*cl.jobs));
    cl.payloads = calloc((size_t)max, sizeof(*cl.payloads));
    if (!cl.jobs || !cl.payloads) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (tx) {
        if (!tx->c) {
            rc = err_set(e, ERR_INVALID, NULL, "store: no transaction");
            goto out;
        }
        rc = claim_rows(db, tx->c, worker_id, type, now, lease_ms, max, &cl, e);
    } else {
        if ((rc = store__pool_get(db, &c, e)))
            goto out;
        if ((rc = store__tx_begin(db, c, e)) == 0)
            rc = store__tx_end(db, c, claim_rows(db, c, worker_id, type, now, lease_ms, max, &cl, e), e);
        store__pool_put(db, c);
    }
    if (rc)
        goto out;
    if (out_n)
        *out_n = cl.n;
    for (i = 0; i < cl.n && cb; i++)
        if ((rc = cb(ud, &cl.jobs[i])))
            break;
out:
    for (i = 0; i < cl.n; i++)
        free(cl.payloads[i]);
    free(cl.payloads);
    free(cl.jobs);
    return rc;
}

int store_job_claim(struct store *db, const char *worker_id, const char *type, int64_t now, int64_t lease_ms,
                    int max, store_job_cb cb, void *ud, int *out_n, struct err *e)
{
    return claim(db, NULL, worker_id, type, now, lease_ms, max, cb, ud, out_n, e);
}

int store_job_claim_tx(struct store_tx *tx, const char *worker_id, const char *type, int64_t now, int64_t lease_ms,
                       int max, store_job_cb cb, void *ud, int *out_n, struct err *e)
{
    return claim(tx->db, tx, worker_id, type, now, lease_ms, max, cb, ud, out_n, e);
}

int store_job_extend(struct store *db, const char *job_id, const char *worker_id, int64_t lease_until,
                     struct err *e)
{
    struct store_param p[4] = {store__pint(lease_until), store__pint(time_now_ms()), store__ptext(job_id),
                               store__ptext(worker_id)};
    return store__write_one(db,
                            "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND locked_by = ?"
                            " AND state = 'running'",
                            p, 4, "job lease", e);
}

/* An UPDATE under the lease check, on tx or in its own statement. */
static int lease_write(struct store *db, struct store_tx *tx, const char *sql, const struct store_param *p, int np,
                       struct err *e)
{
    int64_t rows = 0;
    int rc;

    if (!tx)
        return store__write_one(db, sql, p, np, "job lease", e);
    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    rc = store__q(tx->db, tx->c, sql, p, np, NULL, NULL, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "job lease not found");
    return rc;
}

static int job_complete(struct store *db, struct store_tx *tx, const char *job_id, const char *worker_id,
                        int64_t now, struct err *e)
{
    struct store_param p[3] = {store__pint(now), store__ptext(job_id), store__ptext(worker_id)};
    return lease_write(db, tx,
                       "UPDATE jobs SET state = 'done', lease_until = 0, updated_at = ? WHERE id = ?"
                       " AND locked_by = ? AND state = 'running'",
                       p, 3, e);
}

int store_job_complete(struct store *db, const char *job_id, const char *worker_id, int64_t now, struct err *e)
{
    return job_complete(db, NULL, job_id, worker_id, now, e);
}

int store_job_complete_tx(struct store_tx *tx, const char *job_id, const char *worker_id, int64_t now,
                          struct err *e)
{
    return job_complete(tx->db, tx, job_id, worker_id, now, e);
}

static int job_fail(struct store *db, struct store_tx *tx, const char *job_id, const char *worker_id,
                    const char *error, int64_t retry_at, int dead, int64_t now, struct err *e)
{
    struct store_param p[6] = {store__ptext(dead ? "dead" : "queued"), store__pint(retry_at),
                               store__ptext_or_null(error), store__pint(now), store__ptext(job_id),
                               store__ptext(worker_id)};
    return lease_write(db, tx,
                       "UPDATE jobs SET state = ?, run_at = ?, lease_until = 0, locked_by = NULL,"
                       " last_error = ?, updated_at = ? WHERE id = ? AND locked_by = ? AND state = 'running'",
                       p, 6, e);
}

int store_job_complete_many(struct store *db, const char *const *job_ids, int n, const char *worker_id, int64_t now,
                            int *out_lost, struct err *e)
{
    struct store_conn *c = NULL;
    int rc, i, lost = 0;

    if (out_lost)
        *out_lost = 0;
    if (n <= 0)
        return 0;
    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    if ((rc = store__tx_begin(db, c, e)) == 0) {
        for (i = 0; i < n && rc == 0; i++) {
            struct store_param p[3] = {store__pint(now), store__ptext(job_ids[i]), store__ptext(worker_id)};
            int64_t changed = 0;
            rc = store__q(db, c,
                          "UPDATE jobs SET state = 'done', lease_until = 0, updated_at = ? WHERE id = ?"
                          " AND locked_by = ? AND state = 'running'",
                          p, 3, NULL, NULL, &changed, e);
            if (rc == 0 && changed == 0)
                lost++;
        }
        rc = store__tx_end(db, c, rc, e);
    }
    store__pool_put(db, c);
    if (rc == 0 && out_lost)
        *out_lost = lost;
    return rc;
}

int store_job_extend_worker(struct store *db, const char *worker_id, int64_t lease_until, struct err *e)
{
    struct store_param p[3] = {store__pint(lease_until), store__pint(time_now_ms()), store__ptext(worker_id)};
    return store__write_one(db,
                            "UPDATE jobs SET lease_until = ?, updated_at = ? WHERE state = 'running'"
                            " AND locked_by = ?",
                            p, 3, NULL, e);
}

int store_job_prune_done(struct store *db, int64_t before, int limit, int64_t *out_deleted, struct err *e)
{
    struct store_conn *c = NULL;
    struct store_param p[2] = {store__pint(before), store__pint(limit)};
    int64_t changed = 0;
    int rc;

    if ((rc = store__pool_get(db, &c, e)))
        return rc;
    rc = store__q(db, c,
                  "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND run_at < ?"
                  " ORDER BY run_at LIMIT ?)",
                  p, 2, NULL, NULL, &changed, e);
    store__pool_put(db, c);
    if (rc == 0 && out_deleted)
        *out_deleted = changed;
    return rc;
}

int store_job_fail(struct store *db, const char *job_id, const char *worker_id, const char *error,
                   int64_t retry_at, int dead, int64_t now, struct err *e)
{
    return job_fail(db, NULL, job_id, worker_id, error, retry_at, dead, now, e);
}

int store_job_fail_tx(struct store_tx *tx, const char *job_id, const char *worker_id, const char *error,
                      int64_t retry_at, int dead, int64_t now, struct err *e)
{
    return job_fail(tx->db, tx, job_id, worker_id, error, retry_at, dead, now, e);
}

int store_job_get(struct store *db, const char *tenant_id, const char *job_id, store_job_cb cb, void *ud,
                  struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(job_id)};
    struct job_iter it = {cb, ud, 0};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    rc = store__list(db, "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = ? AND id = ?", p, 2, row_job_cb, &it, e);
    if (rc == 0 && it.n == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "job not found");
    return rc;
}

int store_job_list_dead(struct store *db, const char *tenant_id, store_job_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct job_iter it = {cb, ud, 0};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db,
                       "SELECT " JOB_COLS " FROM jobs WHERE tenant_id = ? AND state = 'dead'"
                       " ORDER BY updated_at DESC, id",
                       p, 1, row_job_cb, &it, e);
}

int store_job_retry(struct store *db, const char *tenant_id, const char *job_id, int64_t now, struct err *e)
{
    struct store_param p[4] = {store__pint(now), store__pint(now), store__ptext(tenant_id), store__ptext(job_id)};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__write_one(db,
                            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = ?, lease_until = 0,"
                            " locked_by = NULL, updated_at = ? WHERE tenant_id = ? AND id = ? AND state = 'dead'",
                            p, 4, "dead job", e);
}

int store_job_discard(struct store *db, const char *tenant_id, const char *job_id, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(job_id)};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__write_one(db, "DELETE FROM jobs WHERE tenant_id = ? AND id = ? AND state = 'dead'", p, 2,
                            "dead job", e);
}

struct stat_iter {
    store_job_stat_cb cb;
    void *ud;
};

static int row_stat(void *ud, const struct store_row *r)
{
    struct stat_iter *it = ud;
    return it->cb(it->ud, store__col_text(r, 0), store__col_text(r, 1), store__col_int(r, 2));
}

int store_job_stats(struct store *db, int64_t now, store_job_stat_cb cb, void *ud, int64_t *out_oldest_ready_ms,
                    struct err *e)
{
    struct stat_iter it = {cb, ud};
    struct store_param p[1] = {store__pint(now)};
    int64_t oldest = 0;
    int rc = 0;

    if (cb)
        /* One arm per state, so each counts through its state's partial index. */
        rc = store__list(db, "SELECT type, 'dead', COUNT(*) FROM jobs WHERE state = 'dead' GROUP BY type"
                         " UNION ALL SELECT type, 'queued', COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY type"
                         " UNION ALL SELECT type, 'running', COUNT(*) FROM jobs WHERE state = 'running' GROUP BY type"
                         " ORDER BY 1, 2",
                         NULL, 0, row_stat, &it, e);
    if (rc == 0 && out_oldest_ready_ms) {
        rc = store__list(db, "SELECT COALESCE(MIN(run_at), 0) FROM jobs WHERE state = 'queued' AND run_at <= ?", p,
                         1, store__row_int, &oldest, e);
        *out_oldest_ready_ms = (rc == 0 && oldest > 0) ? now - oldest : 0;
    }
    return rc;
}
