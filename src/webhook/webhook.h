/*
 * webhook: the ingestion pipeline for provider webhooks (DESIGN.md §2).
 *
 * GET|POST /webhooks/{provider}/{account_key}: the account is resolved by
 * its public key (messaging), the provider's signature is checked before
 * anything else, the payload is parsed into events, events older than the
 * replay window are refused, and the events are stored (inbound_events, one
 * row per provider event, unique per account and event id) together with
 * one "inbound.process" job per new row, in one operation of the group-
 * commit writer. The provider gets its 200 only after that commit, or when
 * every event proves a duplicate (then nothing changes). A refusal writes
 * nothing but a (throttled) security event.
 *
 * Two layers. webhook_events() is pure (core and channel only: no HTTP, no
 * database), so a fuzzer or a test drives request -> events directly;
 * webhook_handle() is the pipeline around it. Thread-safe after webhook_new.
 *
 * The stored event (inbound_events.payload, what inbound.process reads) is
 * channel's normalised JSON (channel_event_json / channel_event_from_json).
 */
#ifndef SB_WEBHOOK_H
#define SB_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"
#include "core/core.h"
#include "messaging/messaging.h"
#include "ops/ops.h"
#include "queue/queue.h"
#include "store/store.h"

/* The job type pushed for each new inbound event; its payload is
 * {"inbound_event":"iev_…"} (read the row with store_inbound_get). */
#define WEBHOOK_JOB_TYPE "inbound.process"

/* ------------------------------------------------- request -> events */

/* One event ready to store. Strings live in the arena given to webhook_events. */
struct webhook_event {
    const struct channel_event *ev;
    const char *event_id;          /* the provider's id (printable ASCII, <= 200 bytes; any other is
                                    * stored as "sha256:<hex of it>"), or hex sha256 of the canonical
                                    * event when the provider gives none */
    const char *kind;              /* "message" | "status" */
    const char *payload;           /* the normalised event (see above), JSON */
};

struct webhook_batch {
    struct webhook_event *items;
    size_t n;
};

struct webhook_policy {
    int allow_unsigned;            /* let a request with no signature through (never a wrong one) */
    int64_t replay_window_ms;      /* refuse events whose provider_ts is older; <= 0: no check */
    const char *provider;          /* written into each payload */
};

/* Verify wh with the adapter and creds, parse it, check the replay window
 * against wh->received_at and normalise each event. Returns 0 and out (n may
 * be 0: a verified payload that carries nothing we handle), or
 * ERR_FORBIDDEN with slug "missing_signature", "bad_signature" or "replay",
 * or ERR_INVALID (slug "invalid_payload", "invalid_json") for a malformed
 * payload. Everything is allocated in a. */
int webhook_events(struct arena *a, const struct channel_adapter *ad, const struct channel_creds *creds,
                   const struct channel_webhook *wh, const struct webhook_policy *pol, struct webhook_batch *out,
                   struct err *e);

/* The public URL a provider called: public_url (trailing '/' dropped) +
 * the raw request-target, in a. */
const char *webhook_public_url(struct arena *a, const char *public_url, const char *target);
/* The decoded query parameters of a raw request-target, in a. */
void webhook_query_parse(struct arena *a, const char *target, struct channel_kv **out, size_t *nout);

/* ------------------------------------------------------------ pipeline */

struct webhook;

struct webhook_options {
    const struct config *cfg;       /* public_url, allow_unsigned_webhooks, replay_window_s, env */
    struct store_writer *writer;    /* the group commit; required */
    struct queue *queue;            /* WEBHOOK_JOB_TYPE must be registered on it; required */
    struct messaging *messaging;    /* channel accounts by key; required */
    struct ops_security *security;  /* refusals; NULL: not recorded */
    struct ops_metrics *metrics;    /* NULL: not counted */
};

/* ERR_INVALID when a required handle is missing, ERR_NOMEM. */
int webhook_new(struct webhook **out, const struct webhook_options *opt, struct err *e);
/* The caller first stops what submits (HTTP) and drains the writer. NULL is a no-op. */
void webhook_free(struct webhook *w);

/* One request as the HTTP layer received it; all borrowed for the call. */
struct webhook_request {
    const char *method;             /* GET, HEAD or POST */
    const char *provider;           /* path segments */
    const char *account_key;
    const char *target;             /* raw request-target: path ["?" query], byte for byte */
    const char *body;
    size_t body_len;
    const struct channel_kv *headers; /* names lower-case */
    size_t nheaders;
    const char *ip;
    const char *request_id;         /* for log lines; may be NULL */
};

/* What to answer. With error_code set, the HTTP layer answers its one JSON
 * error shape; otherwise status, content_type and body (borrowed for the
 * done call): Twilio's empty TwiML, SendGrid's counts
 * {"received":n,"stored":k,"duplicates":d}, else "OK". */
struct webhook_response {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *error_code;
    char message[256];
};

typedef void (*webhook_done_fn)(void *ud, const struct webhook_response *resp);

/* Handle one request; done runs exactly once: before webhook_handle returns
 * for refusals, handshakes and payloads without events, else later on the
 * writer thread once the events are committed (200) or could not be (503).
 * Statuses: 200, 400, 403, 404 (unknown, removed or other-provider account;
 * nothing written), 405 (GET for a provider without handshake), 503. */
void webhook_handle(struct webhook *w, const struct webhook_request *req, webhook_done_fn done, void *ud);

/* Append the pipeline's gauges and counters (the writer's batches) in the
 * Prometheus text format. */
void webhook_metrics(struct webhook *w, struct buf *out);

#endif
