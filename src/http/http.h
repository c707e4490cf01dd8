/*
 * http: the HTTP and WebSocket server (libmicrohttpd in epoll mode with a
 * thread pool; libwslay framing over MHD's upgrade), the router with path
 * parameters, the middleware chain (request id, W3C traceparent, CORS,
 * security headers, body limit, authentication, role checks, JSON access
 * log, metrics), the API routes, which call domain modules only, and the
 * realtime event feed (the event log pumped to WebSockets, docs/events.md).
 *
 * http alone maps enum err_code to HTTP statuses. Every error response has
 * one shape: {"error":{"code":"…","message":"…","request_id":"…"}}.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdio.h>

#include "auth/auth.h"
#include "core/core.h"
#include "ops/ops.h"
#include "queue/queue.h"
#include "store/store.h"
#include "webhook/webhook.h"

/* The doorbell of the server's realtime event pump. The pump reads the
 * event log (ops_event_*) every ~100 ms; a producer in the same process
 * (API route, job worker) that just committed events rings the bell so the
 * pump reads at once. Thread-safe; outlives the server using it. */
struct http_event_bell;

/* ERR_NOMEM. */
int http_event_bell_new(struct http_event_bell **out, struct err *e);
void http_event_bell_free(struct http_event_bell *b); /* NULL is a no-op */
/* Ring bell (a struct http_event_bell *). Shaped as a void (*)(void *)
 * callback so main can hand (http_event_poke, bell) to modules below http.
 * Any thread, after the commit; never blocks on I/O; NULL is a no-op. */
void http_event_poke(void *bell);
struct messaging;
struct media;
struct assistant;

/* What the server needs; all borrowed and outliving http_serve. */
struct http_app {
    const struct config *cfg;
    struct store *db;
    struct auth *auth;
    struct ops_metrics *metrics;
    struct ops_keyring *keys;
    struct queue *queue;          /* this process's job workers; NULL when it runs none */
    struct http_event_bell *events_bell; /* may be NULL: the server then uses its own */
    struct messaging *messaging;  /* channel accounts, templates, settings */
    struct webhook *webhook;   /* the ingestion pipeline; NULL: webhooks answer 503 */
    struct media *media;       /* the media store; NULL: media routes answer 503 */
    struct assistant *assistant; /* drafts, pauses, analytics; NULL: those routes answer 503 */
};

/* Listen on cfg->listen and serve until SIGTERM or SIGINT, then stop
 * accepting, let in-flight requests finish (up to shutdown_grace_s) and
 * return 0. ERR_IO when the address cannot be bound. */
int http_serve(const struct http_app *app, struct err *e);

/* The OpenAPI 3.1 document served at /api/v1/openapi.json. */
const char *http_openapi_json(void);

/* Write "METHOD PATTERN" lines, one per route (the OpenAPI test compares). */
void http_write_routes(FILE *f);

#endif
