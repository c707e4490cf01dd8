/*
 * http: the HTTP and WebSocket server (libmicrohttpd in epoll mode with a
 * thread pool; libwslay framing over MHD's upgrade), the router with path
 * parameters, the middleware chain (request id, W3C traceparent, CORS,
 * security headers, body limit, authentication, role checks, JSON access
 * log, metrics) and the API routes, which call domain modules only.
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
#include "store/store.h"
#include "webhook/webhook.h"

/* What the server needs; all borrowed and outliving http_serve. */
struct http_app {
    const struct config *cfg;
    struct store *db;
    struct auth *auth;
    struct ops_metrics *metrics;
    struct ops_keyring *keys;
    struct webhook *webhook;   /* the ingestion pipeline; NULL: webhooks answer 503 */
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
