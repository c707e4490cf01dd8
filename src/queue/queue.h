/*
 * queue: the durable job queue (DESIGN.md §2). Jobs live in the database
 * (store_job_*), so an enqueue can share the caller's transaction
 * (transactional outbox) and survives a crash. A pool of worker threads
 * claims ready jobs with a lease, a heartbeat thread extends the leases of
 * running jobs, and a job whose worker died becomes claimable again when its
 * lease expires. Failures retry with exponential backoff and full jitter
 * (or the handler's retry-after) up to the type's max attempts, then the job
 * is dead with its last error, for an admin to retry or discard.
 * Delivery is at least once: handlers must be idempotent.
 */
#ifndef SB_QUEUE_H
#define SB_QUEUE_H

#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

struct queue; /* opaque; thread-safe after queue_start */

/* What a handler decides. */
enum queue_outcome {
    QUEUE_DONE = 0,      /* success: the job is done */
    QUEUE_RETRY = 1,     /* transient failure: retry later (or dead after max attempts) */
    QUEUE_FAIL = 2,      /* permanent failure: dead at once */
};

/* A claimed job as a handler sees it; borrowed for the handler call. */
struct queue_job {
    const char *id;
    const char *tenant_id;
    const char *type;
    const char *payload;  /* JSON text */
    int attempt;          /* 1 on the first run */
    int max_attempts;
};

/* Filled by a failing handler: error is stored as the job's last_error;
 * retry_after_ms > 0 (e.g. a provider's 429 Retry-After) replaces the
 * backoff delay for this retry. */
struct queue_result {
    char error[512];
    int64_t retry_after_ms;
};

/* Runs on a worker thread; must be thread-safe. Returns an enum queue_outcome. */
typedef int (*queue_handler_fn)(void *ud, const struct queue_job *job, struct queue_result *res);

/* Runs a batch of n claimed jobs of one type on a worker thread (so a
 * handler can do the work of many jobs in one database transaction); must
 * set outcomes[i] (an enum queue_outcome) for every job, and res[i] for the
 * ones that did not succeed. outcomes[] starts as QUEUE_RETRY. */
typedef void (*queue_batch_fn)(void *ud, const struct queue_job *jobs, int n, int *outcomes,
                               struct queue_result *res);

/* A job type: its handler (exactly one of handler, batch_handler), attempts
 * and backoff. */
struct queue_type {
    const char *name;          /* e.g. "message.send"; copied */
    queue_handler_fn handler;
    queue_batch_fn batch_handler;
    int batch_max;             /* jobs per batch_handler call; <= 0 means 32 */
    void *ud;
    int max_attempts;          /* <= 0 means 5 */
    int64_t base_backoff_ms;   /* <= 0 means 1000 */
    int64_t max_backoff_ms;    /* cap; <= 0 means 1 hour */
};

struct queue_options {
    int workers;               /* threads; <= 0 means 4 */
    int64_t lease_ms;          /* <= 0 means 30000; extended every lease/3 while running */
    int64_t poll_ms;           /* idle sleep between claims; <= 0 means 200 */
    const char *worker_prefix; /* worker ids are "<prefix>-<pid>-<n>"; NULL means "w" */
    int64_t done_retention_ms; /* done jobs older than this are deleted; <= 0 means 1 hour */
    struct store_writer *writer; /* borrowed; when set, claims and outcomes are written through this
                                  * group-commit writer (one fsync for many, and no fight with it
                                  * for SQLite's write lock); it must outlive queue_stop */
};

/* Counters since queue_start, for metrics (read with queue_stats). */
struct queue_stats {
    uint64_t processed;        /* handler runs */
    uint64_t succeeded;
    uint64_t failed;           /* runs that did not succeed (retried or dead) */
    uint64_t dead;
    uint64_t processing_ns;    /* total handler time */
    int workers;
    int64_t oldest_heartbeat_ms; /* least recent worker heartbeat (liveness); 0 before start */
};

/* Create a queue over db (borrowed; must outlive the queue). The store's
 * pool should have at least workers + 2 connections. ERR_NOMEM. */
int queue_new(struct queue **out, struct store *db, const struct queue_options *opt, struct err *e);
/* Stops the workers if running, then frees. NULL is a no-op. */
void queue_free(struct queue *q);
/* Register a job type before queue_start. ERR_INVALID (no name/handler),
 * ERR_CONFLICT (registered twice), ERR_NOMEM. */
int queue_register(struct queue *q, const struct queue_type *t, struct err *e);
/* Enqueue in the caller's transaction tx; the job becomes visible at commit.
 * type must be registered. idempotency_key ("" or NULL = none) dedupes per
 * type: a second push returns the first job's id in out_id with *out_dup = 1.
 * delay_ms postpones the first run. out_id (CORE_ID_MAX) and out_dup may be NULL. */
int queue_push_tx(struct queue *q, struct store_tx *tx, const char *tenant_id, const char *type,
                  const char *payload, const char *idempotency_key, int64_t delay_ms, char *out_id, int *out_dup,
                  struct err *e);
/* queue_push_tx in its own transaction, and wakes an idle worker. */
int queue_push(struct queue *q, const char *tenant_id, const char *type, const char *payload,
               const char *idempotency_key, int64_t delay_ms, char *out_id, int *out_dup, struct err *e);
/* Wake idle workers now (e.g. after committing a transaction that pushed). */
void queue_wake(struct queue *q);
/* Start the workers and the heartbeat thread. ERR_CONFLICT if running. */
int queue_start(struct queue *q, struct err *e);
/* Graceful stop: no new claims; running handlers finish and are recorded. */
void queue_stop(struct queue *q);
/* A snapshot of the counters. */
void queue_stats(struct queue *q, struct queue_stats *out);
/* Append the queue's Prometheus metrics: sb_jobs{type,state} (jobs not yet
 * done, from the database, so every process's jobs count), sb_job_oldest_ready_seconds,
 * and this process's sb_jobs_processed_total{type,outcome},
 * sb_job_processing_seconds_total{type}, sb_queue_workers{state="configured|alive"}.
 * q may be NULL (no workers in this process). */
void queue_metrics_render(struct queue *q, struct store *db, struct buf *out);
/* Append the readiness members "workers":{…},"queue":{…} (no braces around
 * them) and return 1 when this process's workers are alive (each has come
 * back to claim within the lease time, or none are configured), else 0.
 * q may be NULL. */
int queue_health(struct queue *q, struct store *db, struct buf *out);
/* The retry delay with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
 * rnd is a uniform 64-bit random value (exposed for tests). */
int64_t queue_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);

/* ---------------------------------------------------------- admin API */

/* The tenant's dead jobs, newest first (the row is borrowed for the callback). */
int queue_dead_list(struct store *db, const char *tenant_id, store_job_cb cb, void *ud, struct err *e);
/* Put a dead job back in the queue (attempts reset) / delete it; each is
 * written to the audit log with the actor (actor_type "user" | "apikey").
 * ERR_NOTFOUND when the tenant has no such dead job. */
int queue_dead_retry(struct store *db, const char *tenant_id, const char *job_id, const char *actor_type,
                     const char *actor_id, const char *ip, struct err *e);
int queue_dead_discard(struct store *db, const char *tenant_id, const char *job_id, const char *actor_type,
                       const char *actor_id, const char *ip, struct err *e);

#endif
