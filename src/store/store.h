/*
 * store: the database API, and the only place in Switchboard with SQL.
 *
 * Two backends behind one API: SQLite (the embedded default: WAL, foreign
 * keys, busy timeout, one file under the data directory) and PostgreSQL via
 * libpq (SB_DATABASE_URL=postgres://…). A struct store is a thread-safe pool
 * of connections; every function takes one for the duration of the call.
 *
 * Tenancy by construction: every function that reads or writes tenant data
 * takes the tenant id as its first argument after the store handle, and
 * every query it runs is filtered by that id. Functions without a tenant id
 * are the few global lookups (login by email, API key by hash, session by
 * token hash, the key ring) and say so.
 *
 * Ids are text ("ten_…", "usr_…"), times are Unix milliseconds (int64).
 * Errors: ERR_NOTFOUND, ERR_CONFLICT (unique violation), ERR_IO (database
 * failure, message says which), ERR_INVALID (bad argument).
 * List functions call a callback per row; the row is borrowed for the call.
 * A callback returning non-zero stops the iteration and that value is returned.
 * Callbacks run while the call holds a pooled connection (store_secret_scan
 * excepted: it collects first), so a callback that calls the store itself
 * needs pool_size >= 2. Functions wait up to 30 s for a free connection
 * (then ERR_TIMEOUT); a database that cannot be reached is ERR_UPSTREAM.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct store;
struct store_tx; /* a caller-held write transaction (below) */

struct store_options {
    const char *database_url; /* NULL/"" = SQLite at sqlite_path */
    const char *sqlite_path;  /* e.g. "./data/switchboard.db" (directory must exist) */
    int pool_size;            /* connections; <= 0 means 8 */
    int busy_timeout_ms;      /* SQLite busy timeout; <= 0 means 5000 */
};

int store_open(struct store **out, const struct store_options *opt, struct err *e);
void store_close(struct store *db); /* NULL is a no-op */
/* "sqlite" or "postgres". */
const char *store_backend(const struct store *db);

/* --------------------------------------------------------- migrations */

struct store_migration_info {
    int latest;      /* highest migration compiled into the binary */
    int applied;     /* highest applied in the database */
    int pending;     /* compiled but not applied */
};

/* Apply every pending migration in order, each in its own transaction, and
 * record (version, name, sha256) in schema_migrations. Refuses (ERR_CONFLICT,
 * naming the migration) when an applied migration's checksum differs from the
 * compiled one, and when the database has a migration this binary lacks. */
int store_migrate(struct store *db, struct store_migration_info *out, struct err *e);
/* Same checks, applies nothing. ERR_CONFLICT on a changed migration. */
int store_migration_status(struct store *db, struct store_migration_info *out, struct err *e);
/* A trivial round trip (SELECT 1) for readiness. */
int store_ping(struct store *db, struct err *e);
/* Nanoseconds spent in queries since start, and the number of queries (for /metrics). */
void store_stats(const struct store *db, uint64_t *queries, uint64_t *query_ns);

/* ------------------------------------------------------------ tenants */

struct store_tenant {
    char id[CORE_ID_MAX];
    char name[128];
    int64_t created_at;
};

int store_tenant_create(struct store *db, const struct store_tenant *t, struct err *e);
int store_tenant_get(struct store *db, const char *tenant_id, struct store_tenant *out, struct err *e);
/* Global: number of tenants (production checks). */
int store_tenant_count(struct store *db, int64_t *out, struct err *e);
/* Global: the oldest tenant with this name (seed-demo idempotency); ERR_NOTFOUND if none. */
int store_tenant_find_by_name(struct store *db, const char *name, struct store_tenant *out, struct err *e);
/* Global: the tenant when exactly one exists (single-tenant development mode);
 * ERR_NOTFOUND when none, ERR_CONFLICT when several. */
int store_tenant_only(struct store *db, struct store_tenant *out, struct err *e);

/* ------------------------------------------------- users, memberships */

/* A user as seen inside one tenant: the membership's role included. */
struct store_member {
    char user_id[CORE_ID_MAX];
    char tenant_id[CORE_ID_MAX];
    char email[256];          /* stored lower-case */
    char name[128];
    char role[16];            /* owner | admin | agent | viewer */
    char password_hash[CRYPTO_PWHASH_MAX];
    int64_t created_at;       /* membership creation */
};

/* Create the user if the email is new (with password_hash), else reuse the
 * existing user (password unchanged), then add the membership. Fills
 * m->user_id when empty. ERR_CONFLICT when already a member of tenant_id. */
int store_member_create(struct store *db, const char *tenant_id, struct store_member *m, struct err *e);
int store_member_get(struct store *db, const char *tenant_id, const char *user_id, struct store_member *out,
                     struct err *e);
typedef int (*store_member_cb)(void *ud, const struct store_member *m);
int store_member_list(struct store *db, const char *tenant_id, store_member_cb cb, void *ud, struct err *e);
int store_member_set_role(struct store *db, const char *tenant_id, const char *user_id, const char *role,
                          struct err *e);
int store_member_remove(struct store *db, const char *tenant_id, const char *user_id, struct err *e);
int store_member_count_role(struct store *db, const char *tenant_id, const char *role, int64_t *out,
                            struct err *e);
/* Global (login): memberships of the user with this email, one callback per
 * tenant, each with the password hash. Email compared lower-case. */
int store_login_lookup(struct store *db, const char *email, store_member_cb cb, void *ud, struct err *e);

/* ----------------------------------------------------------- API keys */

struct store_apikey {
    char id[CORE_ID_MAX];
    char tenant_id[CORE_ID_MAX];
    char name[128];
    char role[16];
    char prefix[16];          /* first characters of the key, shown in lists */
    char created_by[CORE_ID_MAX];
    int64_t created_at;
    int64_t last_used_at;     /* 0 = never */
    int64_t revoked_at;       /* 0 = active */
};

/* key_hash: hex SHA-256 of the whole key; the key itself is never stored. */
int store_apikey_create(struct store *db, const char *tenant_id, const struct store_apikey *k,
                        const char *key_hash, struct err *e);
/* Global (authentication): the key with this hash, revoked or not. */
int store_apikey_by_hash(struct store *db, const char *key_hash, struct store_apikey *out, struct err *e);
typedef int (*store_apikey_cb)(void *ud, const struct store_apikey *k);
int store_apikey_list(struct store *db, const char *tenant_id, store_apikey_cb cb, void *ud, struct err *e);
/* ERR_NOTFOUND when no such key in this tenant; revoking twice is a no-op. */
int store_apikey_revoke(struct store *db, const char *tenant_id, const char *key_id, int64_t now,
                        struct err *e);
int store_apikey_touch(struct store *db, const char *tenant_id, const char *key_id, int64_t now,
                       struct err *e);

/* ----------------------------------------------------------- sessions */

struct store_session {
    char token_hash[65];      /* hex SHA-256 of the cookie value */
    char tenant_id[CORE_ID_MAX];
    char user_id[CORE_ID_MAX];
    char csrf_token[64];
    int64_t created_at;
    int64_t expires_at;
    /* filled by lookup from the membership: */
    char role[16];
    char email[256];
};

int store_session_create(struct store *db, const char *tenant_id, const struct store_session *s,
                         struct err *e);
/* Global (authentication): an unexpired session by token hash, joined with the
 * user's current role in that tenant (a removed membership makes it NOTFOUND). */
int store_session_lookup(struct store *db, const char *token_hash, int64_t now, struct store_session *out,
                         struct err *e);
int store_session_delete(struct store *db, const char *tenant_id, const char *token_hash, struct err *e);
/* Drop every session of a user in a tenant (role change, removal). */
int store_session_delete_user(struct store *db, const char *tenant_id, const char *user_id, struct err *e);

/* ---------------------------------------------------------- audit log */

struct store_audit {
    int64_t seq;              /* per-tenant sequence, 1, 2, … */
    char tenant_id[CORE_ID_MAX];
    int64_t at;
    char actor_type[16];      /* user | apikey | system */
    char actor_id[CORE_ID_MAX];
    char action[64];          /* e.g. "auth.login", "apikey.create" */
    char target[128];
    char ip[64];
    char details[1024];       /* JSON object text, no secrets */
    char prev_hash[65];
    char hash[65];
};

/* Computes row->hash from the row (seq and prev_hash filled in). */
typedef void (*store_audit_hash_fn)(struct store_audit *row);
/* Append atomically: in one transaction (serialised per tenant), read the last
 * row's seq and hash, fill row->seq and row->prev_hash ("" for the first),
 * call hash_fn, insert. row is updated with what was stored. */
int store_audit_append(struct store *db, const char *tenant_id, struct store_audit *row,
                       store_audit_hash_fn hash_fn, struct err *e);
typedef int (*store_audit_cb)(void *ud, const struct store_audit *row);
/* Rows with from <= at < to (0 = unbounded), newest first, at most limit, and
 * seq < before_seq when before_seq > 0 (cursor). */
int store_audit_list(struct store *db, const char *tenant_id, int64_t from, int64_t to, int64_t before_seq,
                     int limit, store_audit_cb cb, void *ud, struct err *e);
/* Global (verification): every row of every tenant, by tenant then seq ascending. */
int store_audit_scan(struct store *db, store_audit_cb cb, void *ud, struct err *e);

/* ---------------------------------------------------- key ring, secrets */

struct store_key {
    char id[32];              /* "k1", "k2", … */
    char wrapped[256];        /* data key sealed with the master key (crypto_seal, key id "master") */
    int active;               /* exactly one active key */
    int64_t created_at;
};

/* Global: add a key; when active, every other key becomes inactive (one transaction). */
int store_key_add(struct store *db, const struct store_key *k, struct err *e);
typedef int (*store_key_cb)(void *ud, const struct store_key *k);
int store_key_list(struct store *db, store_key_cb cb, void *ud, struct err *e);

struct store_secret {
    char tenant_id[CORE_ID_MAX];
    char name[128];
    char key_id[32];
    char *sealed;             /* crypto_seal output; owned by the row (borrowed in callbacks) */
    int64_t updated_at;
};

/* Insert or replace a tenant's secret. */
int store_secret_put(struct store *db, const char *tenant_id, const char *name, const char *key_id,
                     const char *sealed, int64_t now, struct err *e);
/* store_secret_put inside the caller's transaction (a secret written
 * atomically with the row it belongs to). */
int store_secret_put_tx(struct store_tx *tx, const char *tenant_id, const char *name, const char *key_id,
                        const char *sealed, int64_t now, struct err *e);
/* Key rotation: replace a secret's sealed value only if it is still
 * old_sealed (not rewritten or deleted since it was read); *out_changed
 * (may be NULL) = 1 when it was replaced. */
int store_secret_reseal(struct store *db, const char *tenant_id, const char *name, const char *old_sealed,
                        const char *key_id, const char *sealed, int64_t now, int *out_changed, struct err *e);
/* Delete a tenant's secret inside tx; deleting a missing one is a no-op. */
int store_secret_delete_tx(struct store_tx *tx, const char *tenant_id, const char *name, struct err *e);
/* *out_sealed is malloc'd (caller frees). */
int store_secret_get(struct store *db, const char *tenant_id, const char *name, char **out_sealed,
                     struct err *e);
typedef int (*store_secret_cb)(void *ud, const struct store_secret *s);
/* Global (rotation): every secret of every tenant. */
int store_secret_scan(struct store *db, store_secret_cb cb, void *ud, struct err *e);

/* ------------------------------------------------ transactions, jobs */

struct store_conn;

/* A write transaction held by the caller (transactional outbox): functions
 * taking a struct store_tx run inside it. Holds one pooled connection from
 * begin until commit or rollback; use it from one thread. */
struct store_tx {
    struct store *db;
    struct store_conn *c;
};

/* Begin a write transaction (BEGIN IMMEDIATE on SQLite). Every successful
 * begin is paired with exactly one commit or rollback. */
int store_tx_begin(struct store *db, struct store_tx *tx, struct err *e);
/* Commit; on failure the transaction is rolled back. The connection is
 * returned to the pool either way. */
int store_tx_commit(struct store_tx *tx, struct err *e);
/* Roll back and return the connection; a tx never begun (c NULL) is a no-op. */
void store_tx_rollback(struct store_tx *tx);
/* Savepoints inside tx, so one item of a batch can be undone alone: mark,
 * then either release (keep the work) or undo (roll back to the mark and
 * drop it). They nest; each savepoint is released or undone exactly once. */
int store_tx_savepoint(struct store_tx *tx, struct err *e);
int store_tx_release(struct store_tx *tx, struct err *e);
int store_tx_undo(struct store_tx *tx, struct err *e);

/* A job row. payload is JSON text, borrowed (input, or a callback's row). */
struct store_job {
    char id[CORE_ID_MAX];         /* "job_…"; filled by insert when empty */
    char tenant_id[CORE_ID_MAX];
    char type[64];
    const char *payload;
    char state[16];               /* queued | running | done | dead */
    int attempts;                 /* claims so far (1 on the first run) */
    int max_attempts;
    int64_t run_at;               /* ms; not before */
    int64_t lease_until;          /* ms; running only */
    char locked_by[64];
    char last_error[512];
    char idempotency_key[128];    /* "" = none; unique per type */
    int64_t created_at;
    int64_t updated_at;
};

typedef int (*store_job_cb)(void *ud, const struct store_job *j);

/* Insert a queued job inside tx (tenant-scoped by tenant_id). When a job of
 * the same type already has this idempotency key nothing is inserted, j->id
 * receives the existing job's id and *out_dup (may be NULL) is set to 1. */
int store_job_insert(struct store_tx *tx, const char *tenant_id, struct store_job *j, int *out_dup,
                     struct err *e);
/* store_job_insert in its own transaction. */
int store_job_push(struct store *db, const char *tenant_id, struct store_job *j, int *out_dup, struct err *e);
/* Global (worker): atomically claim up to max ready jobs (queued with
 * run_at <= now, or running with lease_until < now; expired leases first,
 * then by run_at, each an index walk that stops at max),
 * of this type (NULL/"" = any): each becomes running, locked_by worker_id,
 * lease_until now + lease_ms, attempts + 1; cb is called for each claimed
 * row after the claim committed. PostgreSQL: FOR UPDATE SKIP LOCKED, so
 * concurrent claimers never get the same job. *out_n (may be NULL) = count. */
int store_job_claim(struct store *db, const char *worker_id, const char *type, int64_t now, int64_t lease_ms,
                    int max, store_job_cb cb, void *ud, int *out_n, struct err *e);
/* store_job_claim inside the caller's transaction (the group writer's): cb
 * runs for each claimed row inside tx, and the claim holds only once tx
 * commits. */
int store_job_claim_tx(struct store_tx *tx, const char *worker_id, const char *type, int64_t now, int64_t lease_ms,
                       int max, store_job_cb cb, void *ud, int *out_n, struct err *e);
/* Global (worker): set lease_until if the job is still running and locked by
 * worker_id; ERR_NOTFOUND when the lease was lost. */
int store_job_extend(struct store *db, const char *job_id, const char *worker_id, int64_t lease_until,
                     struct err *e);
/* Global (worker): running -> done; ERR_NOTFOUND when the lease was lost. */
int store_job_complete(struct store *db, const char *job_id, const char *worker_id, int64_t now, struct err *e);
/* Global (worker): store_job_complete for n jobs in one transaction; jobs
 * whose lease was lost are skipped and counted in *out_lost (may be NULL). */
int store_job_complete_many(struct store *db, const char *const *job_ids, int n, const char *worker_id, int64_t now,
                            int *out_lost, struct err *e);
/* Global (heartbeat): set lease_until on every job worker_id is running. */
int store_job_extend_worker(struct store *db, const char *worker_id, int64_t lease_until, struct err *e);
/* Global (housekeeping): delete at most limit done jobs whose run_at (when
 * they were last scheduled) is before before, oldest first, using the claim
 * index; *out_deleted (may be NULL) receives how many. */
int store_job_prune_done(struct store *db, int64_t before, int limit, int64_t *out_deleted, struct err *e);
int store_job_complete_tx(struct store_tx *tx, const char *job_id, const char *worker_id, int64_t now,
                          struct err *e);
/* Global (worker): record error; dead != 0 -> dead, else queued again at
 * retry_at. ERR_NOTFOUND when the lease was lost. */
int store_job_fail(struct store *db, const char *job_id, const char *worker_id, const char *error,
                   int64_t retry_at, int dead, int64_t now, struct err *e);
int store_job_fail_tx(struct store_tx *tx, const char *job_id, const char *worker_id, const char *error,
                      int64_t retry_at, int dead, int64_t now, struct err *e);
/* The tenant's job by id (payload borrowed for the callback), ERR_NOTFOUND. */
int store_job_get(struct store *db, const char *tenant_id, const char *job_id, store_job_cb cb, void *ud,
                  struct err *e);
/* Admin: the tenant's dead jobs, newest first. */
int store_job_list_dead(struct store *db, const char *tenant_id, store_job_cb cb, void *ud, struct err *e);
/* Admin: dead -> queued at now, attempts reset to 0 (last_error kept).
 * ERR_NOTFOUND when the tenant has no such dead job. */
int store_job_retry(struct store *db, const char *tenant_id, const char *job_id, int64_t now, struct err *e);
/* Admin: delete a dead job; ERR_NOTFOUND when the tenant has no such dead job. */
int store_job_discard(struct store *db, const char *tenant_id, const char *job_id, struct err *e);
typedef int (*store_job_stat_cb)(void *ud, const char *type, const char *state, int64_t count);
/* Global (metrics): one callback per (type, state) of the jobs not done
 * (queued, running, dead) with its count, and in
 * *out_oldest_ready_ms (may be NULL) the age at now of the oldest ready
 * queued job (0 when none). */
int store_job_stats(struct store *db, int64_t now, store_job_stat_cb cb, void *ud, int64_t *out_oldest_ready_ms,
                    struct err *e);

/* ------------------------------------------------ group commit writer */

/* A writer commits the writes of many concurrent callers together: it takes
 * the operations submitted since its last commit (up to max_batch), runs
 * each inside a SAVEPOINT of one write transaction (a failing operation is
 * rolled back alone), commits once, and only then reports each operation's
 * outcome. On SQLite it is the one thread that writes ingestion traffic, so
 * one fsync (synchronous=FULL) covers a whole batch; on PostgreSQL it saves
 * a commit round trip per operation. No busy-waiting: the threads sleep on a
 * condition variable, and a batch forms while the previous commit's fsync
 * runs. Each batch takes a pooled connection for its transaction and gives
 * it back before the done callbacks run, which they do on the writer's
 * completion thread, in commit order, while the next batch is written.
 * Implemented in store_writer.c. */
struct store_writer;

struct store_writer_options {
    int max_batch;        /* operations per transaction; <= 0 means 256 */
    int threads;          /* writer threads; <= 0 means 1 (SQLite always 1) */
    int background_share; /* percent of the writer's time background operations may take while
                           * foreground ones wait; <= 0 means 25 (see store_writer_run_background) */
};

#define STORE_WRITER_HIST 10

/* Counters since store_writer_new (for metrics and the benchmark). */
struct store_writer_stats {
    uint64_t batches;     /* transactions run (committed or failed) */
    uint64_t ops;         /* operations run */
    uint64_t failed;      /* operations reported failed */
    uint64_t background;  /* of ops, background ones */
    uint64_t background_ns; /* time spent running background operations */
    uint64_t exec_ns;     /* time spent running the operations (their statements, savepoints) */
    uint64_t commit_ns;   /* time spent in COMMIT (the fsync on SQLite) */
    uint64_t done_ns;     /* time spent in done callbacks */
    int max_batch;        /* largest batch so far */
    int queued;           /* operations waiting now */
    int max_queued;       /* most operations ever waiting at once */
    /* batches by size: [0] 1, [1] 2-3, [2] 4-7, … [k] 2^k..2^(k+1)-1, last: the rest */
    uint64_t size_hist[STORE_WRITER_HIST];
};

/* Runs on a writer thread inside tx (a savepoint of the batch's transaction;
 * tx works with every function that takes a struct store_tx, e.g.
 * store_job_insert). Returns 0 or an error filled into e, which rolls back
 * this operation only. Must not commit or roll back tx itself. */
typedef int (*store_write_fn)(void *ud, struct store_tx *tx, struct err *e);
/* Runs on the writer's completion thread after the batch committed (rc 0: the operation
 * is durable) or failed (rc and e say why; nothing of the operation is
 * stored: its own error, or the batch's when BEGIN, a savepoint or COMMIT
 * failed). Runs exactly once per submitted operation, in commit order. Must
 * not block (it delays every later caller's answer); it may submit to the
 * same writer, but must not wait for that (store_writer_run). */
typedef void (*store_write_done_fn)(void *ud, int rc, const struct err *e);

/* Start the writer threads. ERR_NOMEM, ERR_INTERNAL (no thread). */
int store_writer_new(struct store_writer **out, struct store *db, const struct store_writer_options *opt,
                     struct err *e);
/* Stop taking operations (submit then fails with ERR_CONFLICT), run every
 * operation already submitted, and join the threads. Idempotent. */
void store_writer_stop(struct store_writer *w);
/* store_writer_stop, then free. NULL is a no-op. */
void store_writer_free(struct store_writer *w);
/* Queue an operation; fn and then done run later on a writer thread.
 * ERR_CONFLICT (slug "writer_stopped") when the writer is stopping: done is
 * not called then. ERR_INVALID without fn or done, ERR_NOMEM. Thread-safe. */
int store_writer_submit(struct store_writer *w, store_write_fn fn, store_write_done_fn done, void *ud,
                        struct err *e);
/* Submit and wait for the commit; returns the operation's outcome. Never
 * call it from fn or done: that would wait forever. */
int store_writer_run(struct store_writer *w, store_write_fn fn, void *ud, struct err *e);
/* store_writer_run for work nobody is waiting on (job batches): while
 * foreground operations (a webhook's receipt, an API request) are queued,
 * background ones get at most background_share of the writer's time, so a
 * burst of webhooks is acknowledged at full speed and its processing
 * catches up after; when no foreground operation waits they run at once. */
int store_writer_run_background(struct store_writer *w, store_write_fn fn, void *ud, struct err *e);
/* A consistent snapshot of the counters. */
void store_writer_stats(struct store_writer *w, struct store_writer_stats *out);

/* The rest of the API, by area (each includes this header first). */
#include "store/store_channel.h"
#include "store/store_crm.h"
#include "store/store_contact.h"
#include "store/store_kb.h"
#include "store/store_assistant.h"
#include "store/store_agent.h"

#endif
