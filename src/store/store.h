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

/* ------------------------------------- channel accounts (store_account.c) */

/* A tenant's account at a provider (credentials live in secrets, sealed). */
struct store_account {
    char id[CORE_ID_MAX];          /* "cha_…" */
    char tenant_id[CORE_ID_MAX];
    char provider[16];             /* twilio | whatsapp */
    char channel[16];              /* sms | whatsapp */
    char name[128];
    char account_key[64];          /* public, unique: /webhooks/<provider>/<account_key> */
    char address[128];
    int64_t created_at;
    int64_t removed_at;            /* 0 = active */
};

/* Insert an account inside tx (with its sealed credentials, written by the
 * caller in the same tx). ERR_CONFLICT when the id or key exists,
 * ERR_NOTFOUND when the tenant does not. */
int store_account_insert(struct store_tx *tx, const char *tenant_id, const struct store_account *a, struct err *e);
/* Soft-remove inside tx: removed_at = now. ERR_NOTFOUND when the tenant has
 * no active account with this id. */
int store_account_remove(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t now,
                         struct err *e);
/* The tenant's account by id, removed or not. ERR_NOTFOUND. */
int store_account_get(struct store *db, const char *tenant_id, const char *account_id, struct store_account *out,
                      struct err *e);
/* Global (webhooks: the key names the tenant): the account with this public
 * key, removed or not. ERR_NOTFOUND. */
int store_account_by_key(struct store *db, const char *account_key, struct store_account *out, struct err *e);
typedef int (*store_account_cb)(void *ud, const struct store_account *a);
/* The tenant's active accounts, oldest first. */
int store_account_list(struct store *db, const char *tenant_id, store_account_cb cb, void *ud, struct err *e);

/* Message templates (store_template.c): a template row and its numbered
 * versions. The row holds what identifies it and its current state
 * (version = the current version, status = that version's workflow
 * status, provider_status = Meta's for WhatsApp); each version holds its
 * content and its decision trail. Workflow writes are compare-and-set on
 * (version, status): a concurrent change makes them ERR_CONFLICT. */
struct store_template {
    char id[CORE_ID_MAX];          /* "tpl_…"; kept across syncs and edits */
    char tenant_id[CORE_ID_MAX];
    char channel[16];              /* sms | whatsapp | email | telegram | instagram | webchat */
    char account_id[CORE_ID_MAX];  /* "" = every account of the channel */
    char name[520];                /* Meta allows 512 characters */
    char language[16];
    char category[32];
    char source[16];               /* local | provider (synced from Meta) */
    int64_t version;               /* the current version */
    char status[16];               /* the current version's: draft | pending | approved | rejected */
    char provider_status[24];      /* Meta's, lower-case (approved, pending, rejected, paused, …),
                                    * submit_failed, or "" when never submitted */
    char provider_id[64];
    char provider_reason[512];
    int is_default;
    int64_t synced_at;
    char created_by[80];
    int64_t created_at;
    int64_t updated_at;
};

/* One version. The strings are malloc'd (store_template_version_clear
 * frees them); optional parts are NULL when absent, body and variables
 * never NULL after a read. */
struct store_template_version {
    char template_id[CORE_ID_MAX];
    int64_t version;
    char *body, *header, *footer, *buttons, *subject, *html;
    char *variables;               /* JSON array of placeholder names */
    char status[16];
    char created_by[80];           /* "user:<id>", "apikey:<id>", "system", "provider" */
    int64_t created_at;
    char submitted_by[80];
    int64_t submitted_at;
    char decided_by[80];
    int64_t decided_at;
    char *reason;
};

void store_template_version_clear(struct store_template_version *v);
typedef int (*store_tenant_id_cb)(void *ud, const char *tenant_id);

/* Insert, inside tx, a template and its version t->version (v), both new.
 * ERR_CONFLICT when the tenant has one with this (account or channel,
 * name, language), or a default for the channel already (t->is_default). */
int store_template_insert(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                          const struct store_template_version *v, struct err *e);
/* Like store_template_insert for the tenant's default template of
 * t->channel: *out_inserted = 0 (and nothing written) when it has one. */
int store_template_insert_default(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                                  const struct store_template_version *v, int *out_inserted, struct err *e);
/* Global: the tenants with no default template for channel, into cb. */
int store_template_tenants_without_default(struct store *db, const char *channel, store_tenant_id_cb cb, void *ud,
                                           struct err *e);
/* One template with (v not NULL) its current version. ERR_NOTFOUND. The
 * _tx form reads inside tx. */
int store_template_get(struct store *db, const char *tenant_id, const char *id, struct store_template *out,
                       struct store_template_version *v, struct err *e);
int store_template_get_tx(struct store_tx *tx, const char *tenant_id, const char *id, struct store_template *out,
                          struct store_template_version *v, struct err *e);
/* The template a send names: channel, name and language (NULL or "":
 * any, the first by language), the account's own before the channel's
 * (account_id NULL or "": only the channel's). ERR_NOTFOUND. */
int store_template_find(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        const char *name, const char *language, struct store_template *out,
                        struct store_template_version *v, struct err *e);
/* cb gets a template and its current version, both borrowed for the call. */
typedef int (*store_template_cb)(void *ud, const struct store_template *t, const struct store_template_version *v);
/* The tenant's templates by name and language; channel and account_id
 * filter when not NULL or "" (account_id: that account's only). */
int store_template_list(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        store_template_cb cb, void *ud, struct err *e);
typedef int (*store_template_version_cb)(void *ud, const struct store_template_version *v);
/* Every version of a template, newest first. */
int store_template_versions(struct store *db, const char *tenant_id, const char *id, store_template_version_cb cb,
                            void *ud, struct err *e);

/* Inside tx: add version v (a new draft) and make it current, if the
 * template's current version is still prev_version. Meta's status of the
 * old content no longer applies: provider_status and its reason are
 * cleared. ERR_CONFLICT when it moved meanwhile. */
int store_template_version_add(struct store_tx *tx, const char *tenant_id, const char *id, int64_t prev_version,
                               const struct store_template_version *v, int64_t now, struct err *e);
/* Inside tx: replace the content of the current version v->version while it
 * is a draft or pending; it becomes a draft again. ERR_CONFLICT otherwise. */
int store_template_version_edit(struct store_tx *tx, const char *tenant_id, const char *id,
                                const struct store_template_version *v, int64_t now, struct err *e);
/* Inside tx: move the current version (which must be version, in status
 * from) to status to, recording actor and now as its submitter (to =
 * pending) or decider (approved, rejected; reason may be NULL). The
 * template's category may change with it (NULL: unchanged).
 * ERR_CONFLICT when the template is not in that state. */
int store_template_transition(struct store_tx *tx, const char *tenant_id, const char *id, int64_t version,
                              const char *from, const char *to, const char *actor, const char *reason, int64_t now,
                              struct err *e);
/* Record Meta's answer about a template: provider_status, and the
 * provider id and reason when not NULL. */
int store_template_provider_set(struct store *db, const char *tenant_id, const char *id, const char *status,
                                const char *provider_id, const char *reason, int64_t now, struct err *e);
/* Inside tx (a status webhook): the same for the account's template with
 * provider id provider_id (when not NULL/"") or (name, language).
 * *out_found = 0 when there is none (nothing changed); out_id receives the
 * template's id. */
int store_template_provider_update_tx(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                      const char *provider_id, const char *name, const char *language,
                                      const char *status, const char *reason, int64_t now, int *out_found,
                                      char out_id[CORE_ID_MAX], struct err *e);
/* A provider listing's template, inside tx: an unknown (account, name,
 * language) becomes a source "provider" template whose one version is
 * approved (Meta's approval is the one that counts); a known one gets
 * Meta's status, category and synced_at = now, and (source provider) its
 * body. ERR_NOTFOUND when the tenant has no such account. */
int store_template_sync_upsert(struct store_tx *tx, const char *tenant_id, const char *account_id,
                               const char *channel, const char *name, const char *language, const char *category,
                               const char *body, const char *status, int64_t now, struct err *e);
/* Inside tx: the account's templates seen by an earlier listing
 * (synced_at > 0) but not by this one (synced_at < before) get provider
 * status "deleted". *out_n (may be NULL) = how many. */
int store_template_mark_deleted(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t before,
                                int64_t now, int64_t *out_n, struct err *e);

/* Tenant settings: named text values (the known names and their limits are
 * the messaging module's). get: *out malloc'd (caller frees), ERR_NOTFOUND
 * when unset. put: insert or replace. delete: back to unset (no-op when so). */
int store_setting_get(struct store *db, const char *tenant_id, const char *name, char **out, struct err *e);
int store_setting_put(struct store *db, const char *tenant_id, const char *name, const char *value, int64_t now,
                      struct err *e);
int store_setting_delete(struct store *db, const char *tenant_id, const char *name, struct err *e);
/* Every setting of the tenant whose name starts with prefix ("" = all), by
 * name; cb gets name and value, borrowed for the call, while a store
 * connection is held. */
typedef int (*store_setting_cb)(void *ud, const char *name, const char *value);
int store_setting_list(struct store *db, const char *tenant_id, const char *prefix, store_setting_cb cb, void *ud,
                       struct err *e);


/* ------------------------- contacts, conversations, messages (store_crm.c) */

/* Contacts are reached through identities (kind, normalised address), one
 * conversation per (contact, channel account), messages in conversations
 * with their status history in message_events. The functions taking a
 * struct store_tx run inside the caller's write transaction and never end
 * it; they avoid statements that fail on expected races (inserts are
 * ON CONFLICT DO NOTHING and report duplicates), so a PostgreSQL
 * transaction is never left aborted by one. Text fields of rows handed to
 * callbacks as const char * are borrowed for the call. */

#define STORE_ADDRESS_MAX 256     /* normalised address: E.164 or e-mail */

struct store_identity {
    char kind[16];                /* phone | whatsapp | email */
    char address[STORE_ADDRESS_MAX];
};

struct store_contact {
    char id[CORE_ID_MAX];         /* "ctc_…" */
    char name[256];
    int64_t created_at;
    int64_t updated_at;
    const struct store_identity *identities; /* borrowed; oldest first */
    int nidentities;
};

struct store_conversation {
    char id[CORE_ID_MAX];         /* "cnv_…" */
    char contact_id[CORE_ID_MAX];
    char contact_name[256];       /* read from the contact (lists, get) */
    char account_id[CORE_ID_MAX];
    char channel[16];
    char status[16];              /* open | pending | resolved */
    char assignee_id[CORE_ID_MAX]; /* "" = unassigned */
    int64_t last_message_at;
    int64_t last_inbound_at;      /* 0 = the contact never wrote */
    int64_t unread;
    int64_t created_at;
    int64_t updated_at;
};

struct store_message {
    char id[CORE_ID_MAX];         /* "msg_…"; filled by insert when empty */
    char conversation_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char channel[16];             /* read from the conversation */
    char direction[16];           /* inbound | outbound */
    char address[STORE_ADDRESS_MAX]; /* the customer's: sender (inbound) or recipient (outbound), normalised */
    char type[32];                /* text, image, template, … */
    const char *body;             /* borrowed; "" or NULL = none */
    const char *media;            /* JSON array text; "" or NULL = none */
    const char *template_json;    /* JSON object text; "" or NULL = none */
    char status[16];              /* received | queued | sent | delivered | read | failed | undelivered */
    char provider_message_id[128];
    char error_code[64];
    const char *error_text;       /* borrowed; "" or NULL = none */
    char idempotency_key[128];    /* "" = none */
    char origin[16];              /* customer (inbound) | agent | api | assistant | campaign | system; "" = the
                                   * direction's default (customer inbound, api outbound) */
    char sent_by[CORE_ID_MAX];    /* the user or API key that sent it; "" = none */
    const char *subject;          /* e-mail; borrowed; "" or NULL = none */
    const char *html;             /* e-mail's HTML part; borrowed; "" or NULL = none */
    char rfc_message_id[256];     /* e-mail's Message-ID with angle brackets; "" = none */
    int64_t created_at;
    int64_t sent_at;
    int64_t delivered_at;
    int64_t read_at;
    int64_t failed_at;
    int64_t updated_at;
};

/* The part of a message the status machine reads and writes. */
struct store_message_state {
    char id[CORE_ID_MAX];
    char conversation_id[CORE_ID_MAX];
    char status[16];
    char provider_message_id[128];
    int64_t sent_at;
    int64_t delivered_at;
    int64_t read_at;
    int64_t failed_at;
};

/* One row of a message's status history. */
struct store_message_event {
    int64_t id;
    char status[32];
    int64_t provider_ts;          /* 0 = the provider gave none */
    int64_t received_at;
    char error_code[64];
    const char *error_text;       /* borrowed */
    int applied;                  /* 1 when it moved the message */
};

typedef int (*store_contact_cb)(void *ud, const struct store_contact *c);
typedef int (*store_conversation_cb)(void *ud, const struct store_conversation *c);
typedef int (*store_message_cb)(void *ud, const struct store_message *m);
typedef int (*store_message_event_cb)(void *ud, const struct store_message_event *ev);

/* The contact that owns (kind, address) in tx's tenant, else the contact
 * owning (sibling_kind, address) (NULL/"" = none; phone and whatsapp share
 * E.164 numbers). Fills contact_id and contact_name (may be NULL) and
 * *out_exact (1: the identity itself exists, 0: found through the sibling).
 * ERR_NOTFOUND when neither exists. */
int store_identity_find(struct store_tx *tx, const char *tenant_id, const char *kind, const char *sibling_kind,
                        const char *address, char contact_id[CORE_ID_MAX], char *contact_name, size_t namelen,
                        int *out_exact, struct err *e);
/* Insert a contact (id "ctc_…" generated into id when empty). */
int store_contact_insert(struct store_tx *tx, const char *tenant_id, char id[CORE_ID_MAX], const char *name,
                         int64_t now, struct err *e);
/* Delete a contact of the tenant (the loser of an identity race). */
int store_contact_delete(struct store_tx *tx, const char *tenant_id, const char *contact_id, struct err *e);
/* Set the name when it is still empty; a no-op otherwise. */
int store_contact_fill_name(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *name,
                            int64_t now, struct err *e);
/* Link (kind, address) to contact_id. When the identity already exists
 * (a concurrent creator won) nothing changes and *out_dup is 1. */
int store_identity_insert(struct store_tx *tx, const char *tenant_id, const char *kind, const char *address,
                          const char *contact_id, int64_t now, int *out_dup, struct err *e);

/* The conversation of (contact, account): id and status into out (other
 * fields are left as they are). ERR_NOTFOUND when none. */
int store_conversation_find(struct store_tx *tx, const char *tenant_id, const char *contact_id,
                            const char *account_id, struct store_conversation *out, struct err *e);
/* E-mail threading: the conversation on account_id holding the message
 * whose Message-ID is rfc_message_id (angle brackets included; the newest
 * when several do): id and status into out. ERR_NOTFOUND when none. */
int store_conversation_by_rfc_message_id(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                         const char *rfc_message_id, struct store_conversation *out, struct err *e);
/* Insert c (id "cnv_…" generated when empty; status, channel, times as
 * given). When (contact, account) already has one, nothing is inserted and
 * *out_dup is 1. */
/* The customer's last message time (0 when never) on account_id from the
 * identity (kind, normalised address): the messaging window. Pooled read. */
int store_conversation_last_inbound(struct store *db, const char *tenant_id, const char *account_id, const char *kind,
                                    const char *address, int64_t *out, struct err *e);
int store_conversation_insert(struct store_tx *tx, const char *tenant_id, struct store_conversation *c,
                              int *out_dup, struct err *e);
/* A message was added at `at`: last_message_at moves forward (never back)
 * and updated_at = now. inbound also moves last_inbound_at forward, adds
 * one to unread and reopens a resolved conversation. ERR_NOTFOUND. */
int store_conversation_touch(struct store_tx *tx, const char *tenant_id, const char *conversation_id, int64_t at,
                             int inbound, int64_t now, struct err *e);

/* Insert a message (id "msg_…" generated when empty; updated_at 0 = created_at).
 * When (account, provider_message_id) or (tenant, idempotency_key) already
 * exists, nothing changes, *out_dup is 1 and m->id and m->conversation_id
 * receive the existing message's. ERR_INVALID for a bad foreign key. */
int store_message_insert(struct store_tx *tx, const char *tenant_id, struct store_message *m, int *out_dup,
                         struct err *e);
/* Status state of the message with this provider id on this account, or
 * (by_id) of the message with this id; lock != 0 locks the row until the
 * transaction ends (SELECT … FOR UPDATE on PostgreSQL; SQLite's write
 * transaction already serialises). ERR_NOTFOUND. */
int store_message_state_by_provider(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                    const char *provider_message_id, int lock, struct store_message_state *out,
                                    struct err *e);
int store_message_state_by_id(struct store_tx *tx, const char *tenant_id, const char *message_id, int lock,
                              struct store_message_state *out, struct err *e);
/* The message holding an idempotency key: id and conversation into out. ERR_NOTFOUND. */
int store_message_state_by_key(struct store_tx *tx, const char *tenant_id, const char *idempotency_key,
                               struct store_message_state *out, struct err *e);
/* Write st back: status, the four time columns, provider_message_id (kept
 * when st's is ""), error code and text (kept when NULL/""), updated_at. */
int store_message_state_write(struct store_tx *tx, const char *tenant_id, const struct store_message_state *st,
                              const char *error_code, const char *error_text, int64_t now, struct err *e);
/* Append one row to a message's status history. */
int store_message_event_insert(struct store_tx *tx, const char *tenant_id, const char *message_id,
                               const char *status, int64_t provider_ts, int64_t received_at, const char *error_code,
                               const char *error_text, int applied, struct err *e);

/* A message by id read inside tx (sees the transaction's own writes); the
 * row is borrowed for cb. ERR_NOTFOUND. */
int store_message_get_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, store_message_cb cb,
                         void *ud, struct err *e);

/* Reads (each on a pooled connection). */
int store_message_get(struct store *db, const char *tenant_id, const char *message_id, store_message_cb cb,
                      void *ud, struct err *e);
/* Messages of a conversation oldest first, after the position (after_at,
 * after_id) in (created_at, id) order (after_at < 0: from the start), at
 * most limit. */
int store_message_list(struct store *db, const char *tenant_id, const char *conversation_id, int64_t after_at,
                       const char *after_id, int limit, store_message_cb cb, void *ud, struct err *e);
/* A message's status history, oldest first. */
int store_message_event_list(struct store *db, const char *tenant_id, const char *message_id,
                             store_message_event_cb cb, void *ud, struct err *e);
int store_conversation_get(struct store *db, const char *tenant_id, const char *conversation_id,
                           struct store_conversation *out, struct err *e);

/* Filters of a conversation list; NULL/"" = any. assignee "none" means unassigned. */
struct store_conversation_filter {
    const char *status;
    const char *channel;
    const char *assignee;
};

/* Conversations newest activity first, (last_message_at, id) descending,
 * strictly before the position (before_at, before_id) (before_at < 0: from
 * the start), at most limit. */
int store_conversation_list(struct store *db, const char *tenant_id, const struct store_conversation_filter *f,
                            int64_t before_at, const char *before_id, int limit, store_conversation_cb cb, void *ud,
                            struct err *e);
/* Set status (NULL = unchanged) and, when set_assignee, assignee_id
 * (NULL/"" = unassigned), with updated_at = now, in one statement.
 * ERR_NOTFOUND. */
int store_conversation_update(struct store *db, const char *tenant_id, const char *conversation_id,
                              const char *status, int set_assignee, const char *assignee_id, int64_t now,
                              struct err *e);
int store_contact_get(struct store *db, const char *tenant_id, const char *contact_id, store_contact_cb cb,
                      void *ud, struct err *e);
/* Contacts newest first, (created_at, id) descending, strictly before
 * (before_at, before_id) (before_at < 0: from the start), at most limit;
 * q (NULL/"" = all) keeps those whose name (case-insensitive) or an
 * identity address contains it. */
int store_contact_list(struct store *db, const char *tenant_id, const char *q, int64_t before_at,
                       const char *before_id, int limit, store_contact_cb cb, void *ud, struct err *e);

/* Test fixtures only: a bare channel account row (foreign key of
 * conversations and messages), account_key = id. Channel accounts proper
 * (credentials, keys, removal) are store_account.c's. */
int store_crm_account_seed(struct store *db, const char *tenant_id, const char *account_id, const char *provider,
                           const char *channel, struct err *e);


/* -------------------- ingestion, security events, opt-outs (store_ingest.c) */

/* One received provider event (inbound_events): the normalised event as JSON
 * (src/webhook/ writes it, the inbound.process job reads it back), keyed by
 * the receipt (account_id, event_id) that makes a redelivery a no-op. */
struct store_inbound_event {
    char id[CORE_ID_MAX];          /* "iev_…"; filled by insert when empty */
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    const char *event_id;          /* provider id, or hex sha256 of the canonical event; borrowed */
    char kind[16];                 /* message | status */
    const char *payload;           /* JSON object text; borrowed */
    int64_t received_at;           /* Unix ms */
};

/* Insert inside tx unless the account already has this event_id; then
 * nothing is written. *out_inserted (may be NULL): 1 when the row is new, 0
 * for a duplicate. Fills ev->id when empty and ev->tenant_id. ERR_INVALID
 * (missing field, kind not message|status), ERR_INVALID for an unknown
 * account (foreign key), store errors. */
int store_inbound_insert(struct store_tx *tx, const char *tenant_id, struct store_inbound_event *ev,
                         int *out_inserted, struct err *e);
typedef int (*store_inbound_cb)(void *ud, const struct store_inbound_event *ev);
/* The tenant's inbound event by id (strings borrowed for the callback);
 * ERR_NOTFOUND, also when it belongs to another tenant. */
int store_inbound_get(struct store *db, const char *tenant_id, const char *id, store_inbound_cb cb, void *ud,
                      struct err *e);

/* A security-relevant refusal: who, from where, why; never a payload. */
struct store_security_event {
    int64_t id;                    /* assigned by insert; ascending */
    char tenant_id[CORE_ID_MAX];   /* "" when no tenant could be named */
    int64_t at;                    /* Unix ms */
    char kind[32];                 /* e.g. webhook_refused */
    char provider[16];
    char account_id[CORE_ID_MAX];  /* "" when none */
    char ip[64];
    char reason[48];               /* bad_signature | missing_signature | replay | … */
};

/* Record one (tenant_id NULL or "" when unknown: the only case that is not
 * tenant-scoped). ERR_INVALID without kind or reason, store errors. The tx
 * variant writes inside a caller's (or the group writer's) transaction. */
int store_security_event_insert(struct store *db, const char *tenant_id, const struct store_security_event *ev,
                                struct err *e);
int store_security_event_insert_tx(struct store_tx *tx, const char *tenant_id,
                                   const struct store_security_event *ev, struct err *e);
typedef int (*store_security_event_cb)(void *ud, const struct store_security_event *ev);
/* The tenant's security events, newest first, at most limit (<= 0: 100),
 * with id < before_id when before_id > 0 (cursor). */
int store_security_event_list(struct store *db, const char *tenant_id, int64_t before_id, int limit,
                              store_security_event_cb cb, void *ud, struct err *e);


/* ------------------------------------ realtime event log (store_events.c) */

/* One row of the realtime event log. type and data (JSON object text) are
 * borrowed: from the caller on append, from the row in a callback. */
struct store_event {
    int64_t seq;                  /* per tenant: 1, 2, … in commit order, no gaps */
    char tenant_id[CORE_ID_MAX];
    char type[64];                /* "message.created", "message.status", … */
    const char *data;
    int64_t created_at;           /* ms */
};

typedef int (*store_event_cb)(void *ud, const struct store_event *ev);

/* Append an event inside tx: seq = the tenant's last seq + 1, written to
 * *out_seq (may be NULL). Serialised per tenant until tx ends (BEGIN
 * IMMEDIATE on SQLite, a per-tenant advisory transaction lock on
 * PostgreSQL), so seq order is commit order and a rolled-back append frees
 * its seq for the next one: readers never see a gap. Call it last in the
 * transaction, just before the commit, to hold the lock briefly.
 * created_at <= 0 means now. ERR_INVALID without a tenant, type or data;
 * ERR_NOTFOUND when the tenant does not exist. */
int store_event_append(struct store_tx *tx, const char *tenant_id, const char *type, const char *data,
                       int64_t created_at, int64_t *out_seq, struct err *e);
/* The tenant's events with seq > after_seq, ascending, at most limit (<= 0:
 * all). cb runs per row while a connection is held. */
int store_event_list(struct store *db, const char *tenant_id, int64_t after_seq, int limit, store_event_cb cb,
                     void *ud, struct err *e);
/* The tenant's oldest retained and newest seq; both 0 when it has none. */
int store_event_bounds(struct store *db, const char *tenant_id, int64_t *out_first, int64_t *out_last,
                       struct err *e);
/* Global (maintenance): delete at most limit events created before
 * before_ms, oldest first, across tenants, but never a tenant's newest event
 * (its seq is where the next append continues). *out_deleted (may be NULL)
 * receives the count. */
int store_event_prune(struct store *db, int64_t before_ms, int limit, int64_t *out_deleted, struct err *e);


/* ------------------------------------------- monitoring (store_monitoring.c) */

/* One aggregate row of a tenant's traffic: k1..k3 name the group (see each
 * function), n counts it, sum_ms adds its durations where there are some. */
struct store_agg_row {
    char k1[32];
    char k2[32];
    char k3[64];
    int64_t n;
};
typedef int (*store_agg_cb)(void *ud, const struct store_agg_row *row);

/* Messages created in [from, to) by channel (k1), direction (k2) and
 * status (k3); channel NULL = every channel. */
int store_monitor_messages(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           store_agg_cb cb, void *ud, struct err *e);
/* Failed and undelivered messages created in [from, to) by channel (k1)
 * and error code (k3; "" when none), most frequent first, at most limit. */
int store_monitor_failures(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           int limit, store_agg_cb cb, void *ud, struct err *e);
/* Status callbacks received in [from, to) that carry the provider's time,
 * by provider (k1) and latency bucket (k2: the bucket's upper bound in ms
 * from bounds_ms, "+Inf" above the last). */
int store_monitor_latency(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                          const int64_t *bounds_ms, int nbounds, store_agg_cb cb, void *ud, struct err *e);
/* The tenant's jobs waiting (k1 "queued"), running and dead, by type (k2). */
int store_monitor_jobs(struct store *db, const char *tenant_id, store_agg_cb cb, void *ud, struct err *e);

/* ------------------------------------------------ opt-outs (store_compliance.c) */

struct store_opt_out {
    char account_id[CORE_ID_MAX];
    char address[STORE_ADDRESS_MAX]; /* normalised (E.164, lower-case email) */
    char keyword[32];           /* the word that opted out, "" when manual */
    char source[16];            /* keyword | manual */
    int64_t created_at;
};

/* Record (or refresh) an opt-out of address from one channel account, in
 * the caller's transaction. */
int store_opt_out_put(struct store_tx *tx, const char *tenant_id, const struct store_opt_out *o, struct err *e);
/* Remove it (START); *out_removed (may be NULL) says whether one existed. */
int store_opt_out_delete(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                         int *out_removed, struct err *e);
/* 0 and *out filled when address is opted out of the account, ERR_NOTFOUND when not. */
int store_opt_out_get(struct store *db, const char *tenant_id, const char *account_id, const char *address,
                      struct store_opt_out *out, struct err *e);

/* Suppressions (table suppressions): tenant_id "" is the global list,
 * channel "*" every channel. */
struct store_suppression {
    char tenant_id[CORE_ID_MAX];     /* "" = global */
    char channel[16];
    char address[STORE_ADDRESS_MAX];
    char reason[256];
    char source[20];                 /* keyword | bounce | complaint | unsubscribe_link | manual | import | blocked */
    char created_by[CORE_ID_MAX];
    int64_t created_at;
};

/* Add (or refresh reason, source and time of) a suppression, in the
 * caller's transaction. */
int store_suppression_put(struct store_tx *tx, const struct store_suppression *s, struct err *e);
/* The entry that suppresses address on channel for tenant_id: the tenant's
 * own before the global list, an exact channel before "*". 0 and *out
 * filled, or ERR_NOTFOUND. */
int store_suppression_find(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           struct store_suppression *out, struct err *e);
/* Delete the tenant's own entry for (channel, address) when its source is
 * source, in the caller's transaction; *out_deleted (may be NULL) is 1 when
 * one went. Entries of other sources and the global list stay. */
int store_suppression_delete_source(struct store_tx *tx, const char *tenant_id, const char *channel,
                                    const char *address, const char *source, int *out_deleted, struct err *e);

/* A tenant's suppression list (tenant_id "": the global list), newest
 * first, filtered by channel, address and source ("" or NULL: any), after
 * the keyset (before_at, before_channel, before_address) when before_at > 0,
 * at most limit rows. cb gets each row, borrowed for the call, while a
 * store connection is held. */
typedef int (*store_suppression_cb)(void *ud, const struct store_suppression *s);
int store_suppression_list(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           const char *source, int64_t before_at, const char *before_channel,
                           const char *before_address, int limit, store_suppression_cb cb, void *ud,
                           struct err *e);
/* Remove one entry (tenant_id "": global), in the caller's transaction;
 * *out_removed (may be NULL) = 1 when a row went, and *out (may be NULL)
 * receives it. */
int store_suppression_delete(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                             struct store_suppression *out, int *out_removed, struct err *e);

/* Review items (table compliance_reviews): a reply that looks like an
 * opt-out without being a keyword, waiting for a person. */
struct store_review {
    char id[CORE_ID_MAX];            /* "crv_…" */
    char account_id[CORE_ID_MAX];
    char channel[16];
    char address[STORE_ADDRESS_MAX];
    char message_id[CORE_ID_MAX];
    char excerpt[512];
    char phrase[64];
    char status[16];                 /* open | opted_out | dismissed */
    char resolved_by[CORE_ID_MAX];
    int64_t created_at;
    int64_t resolved_at;             /* 0 = open */
};
typedef int (*store_review_cb)(void *ud, const struct store_review *r);
/* Add an open item in the caller's transaction; one per inbound message
 * (a second put for the same message_id changes nothing, *out_created = 0). */
int store_review_put(struct store_tx *tx, const char *tenant_id, const struct store_review *r, int *out_created,
                     struct err *e);
/* The tenant's items with status ("" or NULL: any), newest first, with id <
 * before_id when before_id is set, at most limit. */
int store_review_list(struct store *db, const char *tenant_id, const char *status, const char *before_id, int limit,
                      store_review_cb cb, void *ud, struct err *e);
/* Close an open item in the caller's transaction: status opted_out or
 * dismissed, by whom and when; *out filled with the item as it is after.
 * ERR_NOTFOUND (no such item), ERR_CONFLICT (already resolved). */
int store_review_resolve(struct store_tx *tx, const char *tenant_id, const char *id, const char *status,
                         const char *resolved_by, int64_t at, struct store_review *out, struct err *e);

/* ------------------------------------------------------------------ media */

/* Inbound media (table media): one row per item of a message's media array,
 * pending until the media.fetch job stores the file or records why not. */
#define STORE_MEDIA_URL_MAX 1024
struct store_media {
    char id[CORE_ID_MAX];            /* "med_…" */
    char message_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    int item;                        /* index in the message's media array */
    char status[16];                 /* pending | stored | failed */
    char source_url[STORE_MEDIA_URL_MAX];  /* "" = none (fetched by id) */
    char provider_media_id[256];
    char provider_content_type[128];
    char content_type[128];          /* the type served (sniffed); "" until stored */
    int64_t size;
    char sha256[65];
    char storage_key[192];
    char error_code[48];
    char error_text[256];
    int64_t attempts;
    int64_t created_at;
    int64_t updated_at;
};

/* Insert a pending row inside tx (id, message_id, account_id, item and
 * times as given). ERR_CONFLICT when (message, item) has one already. */
int store_media_insert(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e);
/* The tenant's media row by id. ERR_NOTFOUND. */
int store_media_get(struct store *db, const char *tenant_id, const char *media_id, struct store_media *out,
                    struct err *e);
/* The same inside tx. ERR_NOTFOUND. */
int store_media_get_tx(struct store_tx *tx, const char *tenant_id, const char *media_id, struct store_media *out,
                       struct err *e);
/* Write the outcome of a fetch inside tx: status, content_type, size,
 * sha256, storage_key, error_code, error_text, attempts, updated_at.
 * ERR_NOTFOUND. */
int store_media_update(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e);
/* Replace a message's media JSON array inside tx (updated_at = now).
 * ERR_NOTFOUND. */
int store_message_media_set(struct store_tx *tx, const char *tenant_id, const char *message_id,
                            const char *media_json, int64_t now, struct err *e);

/* ------------------------------------------------------- website chat */

/* A visitor's widget session (table webchat_sessions, store_webchat.c). The
 * session id is the visitor's address: identity kind "webchat". */
struct store_webchat_session {
    char id[CORE_ID_MAX];            /* "wcs_…" */
    char account_id[CORE_ID_MAX];
    char secret_hash[65];            /* hex SHA-256 of the secret the widget keeps */
    char contact_id[CORE_ID_MAX];    /* "" until linked */
    char name[128];
    char email[STORE_ADDRESS_MAX];   /* normalised; "" = none */
    char ip[64];
    char user_agent[256];
    int64_t created_at;
    int64_t last_seen_at;
};

/* Insert s in the caller's transaction. ERR_CONFLICT for a duplicate id or
 * secret hash, ERR_NOTFOUND for an unknown tenant or account. */
int store_webchat_session_insert(struct store_tx *tx, const char *tenant_id, const struct store_webchat_session *s,
                                 struct err *e);
/* The account's session whose secret hashes to secret_hash. ERR_NOTFOUND. */
int store_webchat_session_by_hash(struct store *db, const char *tenant_id, const char *account_id,
                                  const char *secret_hash, struct store_webchat_session *out, struct err *e);
/* last_seen_at = now. ERR_NOTFOUND. */
int store_webchat_session_touch(struct store *db, const char *tenant_id, const char *session_id, int64_t now,
                                struct err *e);
/* The latest limit messages of the session's conversation on account_id
 * whose customer address is the session id, handed to cb oldest first
 * (only the members the widget shows are filled: id, conversation_id,
 * account_id, direction, type, body, media, status, provider_message_id,
 * origin, created_at). None (0) before the first message. */
int store_webchat_messages(struct store *db, const char *tenant_id, const char *account_id, const char *session_id,
                           int limit, store_message_cb cb, void *ud, struct err *e);

/* ---------------------------------------------- e-mail (store_email.c) */

typedef int (*store_rfc_id_cb)(void *ud, const char *direction, const char *rfc_message_id, int64_t created_at);
/* The Message-IDs of a conversation's messages created at or before until
 * (Unix ms), newest first, at most limit (<= 0: 20), leaving out exclude_id
 * (a message id, or NULL) and messages without one. Pooled read; cb gets
 * borrowed strings. */
int store_message_rfc_ids(struct store *db, const char *tenant_id, const char *conversation_id,
                          const char *exclude_id, int64_t until, int limit, store_rfc_id_cb cb, void *ud,
                          struct err *e);

#endif
