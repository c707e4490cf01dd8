/*
 * ops: what keeps a production server observable and accountable.
 *
 * The metrics registry (Prometheus text format), readiness, the hash-chained
 * audit log and its verifier, and the key ring that encrypts secrets at rest.
 * Everything here is thread-safe unless a comment says otherwise.
 */
#ifndef SB_OPS_H
#define SB_OPS_H

#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "store/store.h"

/* ------------------------------------------------------------- metrics */

struct ops_metrics;

int ops_metrics_new(struct ops_metrics **out);
void ops_metrics_free(struct ops_metrics *m);
/* One finished HTTP request. route is the router pattern ("/api/v1/users/{id}")
 * or "unmatched", never the raw path (bounded label cardinality). */
void ops_metrics_request(struct ops_metrics *m, const char *method, const char *route, int status,
                         int64_t duration_ns);
void ops_metrics_inflight(struct ops_metrics *m, int delta);
/* Add delta to the counter name{l1="v1",l2="v2"} (l2, or both labels, may be
 * NULL). name and label names are literals; values must come from a small
 * fixed set (outcomes, reasons, provider names), never from raw input, so
 * the series stay bounded. Lock-free; m NULL is a no-op. */
void ops_metrics_count(struct ops_metrics *m, const char *name, const char *l1, const char *v1, const char *l2,
                       const char *v2, uint64_t delta);
/* The counter's value for exactly these labels, or its sum over every label
 * set when l1 is NULL (tests, benchmarks). */
uint64_t ops_metrics_counter_value(struct ops_metrics *m, const char *name, const char *l1, const char *v1,
                                   const char *l2, const char *v2);
/* Append the Prometheus text exposition: sb_http_requests_total{method,route,status},
 * sb_http_request_duration_seconds histogram, sb_http_requests_in_flight,
 * sb_db_queries_total, sb_db_query_seconds_total (from store_stats; db may be
 * NULL) and the ops_metrics_count counters. */
void ops_metrics_render(struct ops_metrics *m, struct store *db, struct buf *out);

/* ----------------------------------------------------------- readiness */

/* Database reachable, migrations current and extra_ok. Appends a JSON
 * object ({"status":"ready","database":"ok","migrations":{...}}) to out,
 * with extra (pre-built members without braces, e.g. the queue's; may be
 * NULL) added when the database answered. Returns 0 when ready,
 * ERR_UPSTREAM when not (out still says why). */
int ops_ready(struct store *db, const char *extra, int extra_ok, struct buf *out);

/* ----------------------------------------------------------- audit log */

/* Append one audit row to tenant_id's chain. details is a JSON object text or
 * NULL; it must hold no secrets. actor_type: "user" | "apikey" | "system". */
int ops_audit(struct store *db, const char *tenant_id, const char *actor_type, const char *actor_id,
              const char *action, const char *target, const char *ip, const char *details, struct err *e);
/* The chain hash of a row: hex SHA-256 over prev_hash and every stored field. */
void ops_audit_hash(struct store_audit *row);
/* Walk every tenant's chain. Returns 0 when intact; ERR_CONFLICT at the first
 * broken row, with e->msg naming the tenant and seq, and a line on report. */
int ops_audit_verify(struct store *db, FILE *report, int64_t *rows_checked, struct err *e);
/* tenant_id's audit rows, newest first: at in [from, to) (to <= 0: no upper
 * bound), seq < before_seq (<= 0: no bound), at most limit rows (<= 0: all).
 * cb runs once per row while a store connection is held (it must not call
 * the store unless the pool has >= 2 connections); the row is borrowed for
 * the call, and a non-zero return stops the walk and is returned.
 * ERR_INVALID without a tenant id. */
int ops_audit_list(struct store *db, const char *tenant_id, int64_t from, int64_t to, int64_t before_seq, int limit,
                   store_audit_cb cb, void *ud, struct err *e);

/* ------------------------------------------------------------ key ring */

/* Data keys live in the database wrapped (secret box) by the master key from
 * SB_SECRET_KEY; secrets are sealed with the active data key and record its id. */
struct ops_keyring;

/* Load the ring; on an empty ring create and store "k1". ERR_FORBIDDEN when a
 * stored key cannot be unwrapped (wrong SB_SECRET_KEY). */
int ops_keyring_open(struct ops_keyring **out, struct store *db, const uint8_t master[CRYPTO_KEY_BYTES],
                     struct err *e);
void ops_keyring_free(struct ops_keyring *kr);
const char *ops_keyring_active_id(const struct ops_keyring *kr);
int ops_secret_put(struct ops_keyring *kr, struct store *db, const char *tenant_id, const char *name,
                   const void *value, size_t n, struct err *e);
/* ops_secret_put inside the caller's transaction: the secret commits or
 * rolls back with the rows written beside it. */
int ops_secret_put_tx(struct ops_keyring *kr, struct store_tx *tx, const char *tenant_id, const char *name,
                      const void *value, size_t n, struct err *e);
/* *out is malloc'd and NUL-terminated (caller frees). */
int ops_secret_get(struct ops_keyring *kr, struct store *db, const char *tenant_id, const char *name,
                   char **out, size_t *outlen, struct err *e);
/* Add a new active key and re-encrypt every secret with it. Fills new_id and
 * how many secrets were re-encrypted. Old keys stay so nothing is unreadable. */
int ops_keys_rotate(struct ops_keyring *kr, struct store *db, char new_id[32], int64_t *reencrypted,
                    struct err *e);
/* A key for one purpose (e.g. "media-url"), derived from a data key of the
 * ring: HMAC-SHA256(data key, "switchboard/" purpose), so signing keys rotate
 * with the ring and never equal a key that seals secrets. key_id NULL means
 * the active key; *used_id (may be NULL, 32 bytes) receives the id used.
 * ERR_NOTFOUND for an unknown key id. Thread-safe. */
int ops_keyring_derive(struct ops_keyring *kr, const char *key_id, const char *purpose,
                       uint8_t out[CRYPTO_KEY_BYTES], char *used_id, struct err *e);

/* ----------------------------------------------------- security events */

/* Security events: refusals worth an operator's attention (a webhook with a
 * bad or missing signature, a replay), recorded with who (tenant may be NULL
 * when unknown), provider, account, source ip and a reason slug; never a
 * payload. Cheap on a hot path and flood-proof: every event is counted in
 * sb_security_events_total{kind,reason}, but one with the same (kind,
 * account, ip, reason) as one written less than interval_ms ago is not
 * written again (sb_security_events_throttled_total), and at most
 * max_per_second are written in any one second overall. With a writer the
 * row goes through its group commit without waiting for it; without one
 * (CLI, tests) it is written before the call returns. The throttle table
 * lives in the handle. Implemented in ops_security.c. */
struct ops_security;

struct ops_security_options {
    struct store *db;              /* borrowed */
    struct ops_metrics *metrics;   /* borrowed; NULL: not counted */
    struct store_writer *writer;   /* borrowed; NULL: written inline */
    int64_t interval_ms;           /* per-key throttle; <= 0 means 1000 */
    int max_per_second;            /* global cap; <= 0 means 50 */
};

int ops_security_new(struct ops_security **out, const struct ops_security_options *opt, struct err *e);
void ops_security_free(struct ops_security *s); /* NULL is a no-op */
/* Count the event and write it unless throttled. Returns 0 (also when
 * throttled, and when the asynchronous write is queued) or the inline
 * write's error; ERR_INVALID without kind or reason. Thread-safe. */
int ops_security_event(struct ops_security *s, const char *tenant_id, const char *kind, const char *provider,
                       const char *account_id, const char *ip, const char *reason, struct err *e);
/* The tenant's security events, newest first, at most limit, id < before_id
 * when before_id > 0. cb runs while a store connection is held. */
int ops_security_list(struct store *db, const char *tenant_id, int64_t before_id, int limit,
                      store_security_event_cb cb, void *ud, struct err *e);

/* ---------------------------------------------------- realtime events */

/* The realtime event log (DESIGN.md §6, wire format in docs/events.md):
 * domain modules append events inside the transaction that makes the
 * change, so an event exists exactly when its change committed; the
 * server's event pump reads them back in order per tenant and sends them to
 * that tenant's WebSockets. type is "message.created", "message.status", …
 * (1-63 characters of [a-z0-9._]); data is a JSON object text. Sequence
 * numbers are per tenant, 1, 2, … in commit order without gaps; *out_seq
 * (may be NULL) receives the new one. ERR_INVALID ("invalid_event") for a
 * bad type or data, ERR_NOTFOUND for an unknown tenant.
 * It holds the event-log lock (PostgreSQL: one advisory lock for all
 * tenants) until tx ends (store_event_append): append last, just before the
 * commit, so other transactions wait for it as briefly as possible. After the commit, poke the
 * server's event pump when one runs in this process (the callback main
 * hands out, http_event_poke), so clients get the event at once rather than
 * at the pump's next poll. Implemented in ops_events.c. */
int ops_event_append(struct store_tx *tx, const char *tenant_id, const char *type, const char *data,
                     int64_t *out_seq, struct err *e);

/* The tenant's events with seq > after_seq, oldest first, at most limit
 * (<= 0: all). cb runs per event while a store connection is held (it must
 * not call the store unless the pool has >= 2 connections); the event is
 * borrowed for the call; a non-zero return stops the walk and is returned.
 * ERR_INVALID without a tenant id. */
int ops_event_list(struct store *db, const char *tenant_id, int64_t after_seq, int limit, store_event_cb cb,
                   void *ud, struct err *e);
/* The tenant's newest seq (0 before its first event). */
int ops_event_last_seq(struct store *db, const char *tenant_id, int64_t *out_last, struct err *e);
/* The tenant's oldest retained and newest seq (both 0 when it has none):
 * a client that has seen up to n missed pruned events when n < first - 1. */
int ops_event_bounds(struct store *db, const char *tenant_id, int64_t *out_first, int64_t *out_last,
                     struct err *e);
/* Global (maintenance, the server's event pump prunes by SB_EVENT_RETENTION):
 * delete at most limit (<= 0: 1000) events created before before_ms, oldest
 * first, keeping every tenant's newest event so its seq continues.
 * *out_deleted (may be NULL) receives the count; limit reached means more
 * may be left. */
int ops_event_prune(struct store *db, int64_t before_ms, int limit, int64_t *out_deleted, struct err *e);

#endif
