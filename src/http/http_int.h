/*
 * http internals shared by the files of src/http/ (never included elsewhere).
 *
 * A request (struct http_req) lives in one arena from its first access-handler
 * call to MHD's "completed" notification. Handlers fill req->status, the body
 * buffer and extra headers; server.c turns that into an MHD response. The
 * route table is static and read-only; matching never allocates.
 */
#ifndef SB_HTTP_INT_H
#define SB_HTTP_INT_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "compliance/compliance.h"
#include "http/http.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 20

struct http_req;
struct http_server;
struct http_defer;

typedef void (*http_handler_fn)(struct http_req *r);

enum http_route_flags {
    HTTP_ROUTE_PUBLIC = 1,    /* no authentication (health, metrics, login, OpenAPI) */
    HTTP_ROUTE_WEBSOCKET = 2, /* GET that upgrades */
    HTTP_ROUTE_WIDGET = 4,    /* the website chat widget API: per-IP and per-token rate limits, its own CORS */
};

struct http_route {
    const char *method;
    const char *pattern;      /* "/api/v1/users/{id}" */
    http_handler_fn handler;
    const char *action;       /* role-matrix action; NULL for public routes */
    int flags;
};

/* The table, terminated by a NULL method. */
extern const struct http_route http__routes[];

struct http_header {
    const char *name;
    const char *value;
};

/* ------------------------------------------------------ the dashboard */

/* The built dashboard (static.c): every regular file under SB_WEB_DIR read
 * once at start into an immutable table that requests only look up. */
struct http_static;

#define HTTP_STATIC_MAX_FILES 2000
#define HTTP_STATIC_MAX_BYTES (64LL * 1024 * 1024)

enum http_static_state {
    HTTP_STATIC_OFF,      /* SB_WEB_DIR is empty: no dashboard, / is the JSON 404 */
    HTTP_STATIC_MISSING,  /* the directory does not exist: / explains how to build it */
    HTTP_STATIC_REFUSED,  /* it could not be loaded (too big, unreadable): / says so */
    HTTP_STATIC_LOADED,
};

/* What a request asks of the dashboard: the method, MHD's decoded path, the
 * raw request-target (NULL allowed) and the header values (NULL when absent). */
struct http_static_ask {
    const char *method;
    const char *path;
    const char *target;
    const char *accept;
    const char *accept_encoding;
    const char *if_none_match;
};

/* The dashboard's answer; every pointer borrows from the table (or static
 * text) and stays valid while the table lives. */
struct http_static_reply {
    int status;                /* 200, 304, or 404 for the not-built page */
    const char *content_type;  /* NULL for a 304 */
    const void *body;          /* NULL for a 304 */
    size_t len;
    const char *etag;          /* NULL for the not-built page */
    const char *cache_control;
    int gzip;                  /* Content-Encoding: gzip */
    int vary;                  /* Vary: Accept-Encoding (the file has a gzip copy) */
    const char *csp;           /* an HTML document: its Content-Security-Policy */
    int cross_origin;          /* Cross-Origin-Resource-Policy: cross-origin */
    int any_origin;            /* Access-Control-Allow-Origin: * (widget.js) */
};

enum { HTTP_STATIC_NO = 0, HTTP_STATIC_YES = 1, HTTP_STATIC_METHOD = 2 };

struct http_req {
    const struct http_app *app;
    struct http_server *srv;
    struct MHD_Connection *conn;
    struct arena *arena;
    const char *method;
    const char *path;             /* without query (MHD strips it), percent-decoded by MHD */
    const char *target;           /* the raw request-target, byte for byte: path ["?" query] */
    int started;                  /* the first access-handler call initialised it */
    const struct http_route *route;
    const char *pattern;          /* the matched path pattern, also for a 405 */
    const char *param_name[HTTP_MAX_PARAMS];
    const char *param_val[HTTP_MAX_PARAMS];
    int nparams;
    struct buf body;              /* the request body, up to the limit */
    int body_too_large;
    int64_t start_ns;
    char ip[64];
    char request_id[129];
    char trace_id[33];
    char span_id[17];
    uint8_t rnd[40];              /* this request's random bits (router.c) */
    struct auth_principal principal;
    /* the response */
    int status;
    struct buf out;
    const char *content_type;
    struct http_header headers[HTTP_MAX_HEADERS];
    int nheaders;
    int responded;
    struct MHD_Response *upgrade; /* set by the WebSocket route */
    struct http_defer *defer;     /* set by http__defer: the response comes later */
    int has_file;                 /* the body is file_fd (file_size bytes), sent by MHD and closed by it */
    int file_fd;
    uint64_t file_size;
    const void *body_static;      /* when set, the body: bytes that outlive the request, sent without a copy */
    size_t body_static_len;
    struct http_static_reply web; /* the dashboard's answer, decided by the router (static.c) */
};

/* Find a route. Returns it and fills params, or NULL with *path_known set
 * when the path matches some route under another method (405). */
const struct http_route *http__route_match(struct http_req *r, const char *method, const char *path,
                                           int *path_known);
/* "GET, POST" for a path (405 Allow, CORS preflight); arena-allocated. */
const char *http__allowed_methods(struct http_req *r, const char *path);
/* A path parameter by name, or NULL. */
const char *http__param(const struct http_req *r, const char *name);

/* Run the middleware chain as soon as the headers are in (before any body).
 * Returns 1 when it answered the request (refusal, preflight), 0 to go on. */
int http__dispatch_headers(struct http_req *r);
/* After the whole body: the body limit again (chunked bodies), then the handler. */
void http__dispatch_body(struct http_req *r);

/* Deferred responses. A handler that waits for something slow (a group
 * commit) must not block an MHD thread: it calls http__defer, returns, and
 * later, from any thread, completes the response with http__complete or
 * http__complete_error, exactly once. The connection is suspended in
 * between (MHD_suspend_connection) and resumed by the completion; a
 * completion that races ahead of the suspension is answered without one.
 * The access log, metrics and the in-flight gauge cover the whole wait.
 * At shutdown, requests still deferred after the grace period are answered
 * 503 (a later completion is then ignored). The completer may outlive the
 * request: the defer handle stays valid until it completed. */
/* NULL when the server is shutting down: answer at once instead. */
struct http_defer *http__defer(struct http_req *r);
/* Complete with status, content type (a string literal or NULL for none)
 * and body (copied). */
void http__complete(struct http_defer *d, int status, const char *content_type, const char *body, size_t len);
/* Complete with the one JSON error shape (code and message copied). */
void http__complete_error(struct http_defer *d, int status, const char *code, const char *message);
/* The access log line and metrics of a finished request (router.c). */
void http__dispatch_log(struct http_req *r);

/* Add a response header (value copied into the arena). */
void http__header(struct http_req *r, const char *name, const char *value);
/* Set a response header: replace the value of one already added under
 * name (case-insensitive), else add it. */
void http__header_set(struct http_req *r, const char *name, const char *value);
/* Set a JSON error response: {"error":{"code","message","request_id"}}. */
void http__error(struct http_req *r, int status, const char *code, const char *message);
/* Map an err to a status and an error response (500s say nothing internal). */
void http__error_from(struct http_req *r, const struct err *e);
/* status for an enum err_code. */
int http__status_for(int code);
/* Start a JSON response: status and content type; the handler appends to r->out. */
void http__json(struct http_req *r, int status);

/* Request header value or NULL. */
const char *http__req_header(const struct http_req *r, const char *name);

/* Traceparent and request-id helpers, exposed for unit tests. */
int http__valid_request_id(const char *s);
/* Parse a W3C traceparent; fills trace_id (32 hex + NUL). 0 or ERR_INVALID. */
int http__parse_traceparent(const char *s, char trace_id[33]);
/* 1 when origin is in the comma-separated allowlist (exact match). */
int http__origin_allowed(const char *allowlist, const char *origin);
/* Split "HOST:PORT" / "[v6]:PORT". host gets the address text. */
int http__parse_listen(const char *listen, char *host, size_t hostlen, int *port, struct err *e);

struct http_conn_track;
struct http_ws;

/* One running server: what http_serve owns. */
struct http_server {
    const struct http_app *app;
    struct MHD_Daemon *daemon;
    pthread_mutex_t conns_mu;          /* guards conns */
    struct http_conn_track *conns;     /* open connections, for the header deadline */
    _Atomic int inflight;
    _Atomic int stopping;
    pthread_t reaper;
    int reaper_started;
    pthread_mutex_t ws_mu;             /* guards ws and ws_threads */
    pthread_cond_t ws_cv;
    struct http_ws *ws;                /* open WebSockets */
    int ws_threads;                    /* running WebSocket threads */
    int ws_stopping;                   /* set at shutdown: WebSockets close */
    struct http_events *events;        /* the event pump (events.c) */
    pthread_mutex_t defer_mu;          /* guards defers and defer_closed */
    struct http_defer *defers;         /* deferred requests still alive */
    int defer_closed;                  /* set at shutdown: no new deferrals */
    /* the website chat widget API (routes_widget.c) */
    struct http_ratelimit *widget_ip;  /* token buckets by client IP */
    struct http_ratelimit *widget_token; /* and by widget token */
    struct http_widget_wait *wwaits;   /* srv->ws_mu: long-polls waiting for their session's next message */
    struct http_widget_wait *wdone;    /* srv->ws_mu: long-polls to answer (outside the lock) */
    int nwwaits;                       /* srv->ws_mu */
    struct http_static *web;           /* the dashboard's files, immutable while the daemon runs */
};

/* WebSocket: build the 101 response for r (validated handshake, resume
 * position from ?last_event_id= or Last-Event-ID) or an error (400 for a
 * bad last_event_id, 426 for a bad handshake). */
void http__ws_upgrade(struct http_req *r);
/* Hub lifecycle (server.c). */
int http__ws_hub_init(struct http_server *srv);
void http__ws_hub_shutdown(struct http_server *srv);

/* The event pump (events.c): a thread that reads the event log for every
 * tenant with open WebSockets and queues each event, in seq order, once to
 * each of them; it also prunes the log by SB_EVENT_RETENTION. Started after
 * the daemon, stopped before the hub shuts down (server.c); stop is a no-op
 * when start did not run or failed. start: ERR_NOMEM, ERR_IO. */
int http__events_start(struct http_server *srv, struct err *e);
void http__events_stop(struct http_server *srv);
/* Make the pump run a round now (a new WebSocket, a drained queue). */
void http__events_poke(struct http_server *srv);
/* Append the wire frame of ev: {"id","type","created_at","data"}. */
void http__event_frame(struct buf *b, const struct store_event *ev);

/* The pump's side of the hub (ws.c), all under srv->ws_mu. A round marks
 * the WebSockets that can take events now (open, queue below its soft
 * limit) and lists their tenants with the lowest and highest seq those
 * have seen (the pump reads after both, so one client replaying a long
 * backlog does not hold back the live ones). */
struct http_ws_tenant {
    char tenant_id[CORE_ID_MAX];
    int64_t min_seq;
    int64_t max_seq;
};
/* *out is malloc'd (caller frees), *n entries; ERR_NOMEM. */
int http__ws_round(struct http_server *srv, uint64_t round, struct http_ws_tenant **out, int *n);
/* Reading after after_seq found first_seq: the ones between were pruned.
 * Every WebSocket of the round at a seq in [after_seq, first_seq - 1) gets
 * a resync message and continues after last_seq. */
void http__ws_resync_behind(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t after_seq,
                            int64_t first_seq, int64_t last_seq);
/* Queue event frame seq to each WebSocket of the round in tenant_id whose
 * last seen seq is seq - 1 (so nothing is skipped or sent twice), while its
 * queue stays below the soft limit. */
void http__ws_deliver(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t seq,
                      const char *frame, size_t len);

/* Load every regular file under dir (names starting with a dot and linked
 * directories skipped) into a new table: bytes, a gzip copy when smaller, a
 * strong ETag, the content type by extension and the caching rules by path
 * (/assets/: immutable; /widget.js: 5 minutes; the rest: revalidate). A dir
 * of "" gives an HTTP_STATIC_OFF table, a missing one HTTP_STATIC_MISSING.
 * ERR_TOOLARGE beyond max_files files or max_bytes bytes in all, ERR_IO when
 * something cannot be read, ERR_NOMEM; *out is NULL then. Start-up only. */
int http__static_load(struct http_static **out, const char *dir, size_t max_files, int64_t max_bytes,
                      struct err *e);
/* A table without files in the given state (the server's when loading
 * failed: HTTP_STATIC_REFUSED). ERR_NOMEM. */
int http__static_empty(struct http_static **out, enum http_static_state state);
void http__static_free(struct http_static *st); /* NULL is a no-op */
enum http_static_state http__static_state(const struct http_static *st);
/* Number of files; total bytes and bytes as served to gzip clients. */
size_t http__static_count(const struct http_static *st, int64_t *bytes, int64_t *gz_bytes);
/* 1 when the table has /index.html. */
int http__static_has_index(const struct http_static *st);
/* Decide the answer to q (pure; st may be NULL). HTTP_STATIC_YES with *out
 * filled: a file, "/" (index.html), a browser navigation (Accept text/html)
 * to a path outside the server's own prefixes (index.html: the app routes
 * it), or, without an index.html, the page that says the dashboard is not
 * built. HTTP_STATIC_METHOD: the path is a file (or "/") but the method is
 * not GET or HEAD (405). HTTP_STATIC_NO: not the dashboard's (JSON 404);
 * always so for a path http__static_path_ok refuses. */
int http__static_reply(const struct http_static *st, const struct http_static_ask *q,
                       struct http_static_reply *out);
/* 0 for a path with an empty or dot-led segment ("..", ".env"), a
 * backslash or a control byte, or a target with an encoded NUL. */
int http__static_path_ok(const char *path, const char *target);
/* The q-value of token (case-insensitive, parameters ignored) in a
 * comma-separated header such as Accept or Accept-Encoding; -1 when absent
 * or header is NULL. */
double http__header_q(const char *header, const char *token);
/* The router's fallback when no API route matches r's path: http__static_reply
 * for r; on HTTP_STATIC_YES it sets r->route to the dashboard's route (public,
 * not in http__routes) and r->web to the answer its handler gives. */
int http__static_route(struct http_req *r);

/* ------------------------------------------------------ route helpers */

/* A list being written into an {"data":[…]} response. */
struct http__list {
    struct buf *b;
    int n;
};

/* The body as a JSON object (caller cJSON_Deletes), or NULL after answering 400. */
cJSON *http__body_object(struct http_req *r);
/* A required non-empty string member, or NULL after answering 400 naming it. */
const char *http__need_str(struct http_req *r, const cJSON *j, const char *name);
/* An optional string member into *out (NULL when absent or null); -1 after
 * answering 400 when it has another type. */
int http__opt_str(struct http_req *r, const cJSON *j, const char *name, const char **out);
/* Answer 204 with no body. */
void http__no_content(struct http_req *r);
/* A query argument as an RFC 3339 time (is_time) or a non-negative integer
 * into *out, unchanged when absent; -1 after answering 400 when malformed. */
int http__query_arg(struct http_req *r, const char *name, int is_time, int64_t *out);
/* A query argument, NULL when absent or empty. */
const char *http__query_str(struct http_req *r, const char *name);
/* limit and cursor into page; -1 after answering 400 for a bad limit. */
int http__page_args(struct http_req *r, struct crm_page *page);
/* Close a {"data":[… list with its next_cursor (null on the last page). */
void http__page_end(struct http_req *r, const struct crm_page *page);

/* ------------------------------------------------------ route handlers */

/* routes.c: the server itself, login */
void http__route_healthz(struct http_req *r);
void http__route_readyz(struct http_req *r);
void http__route_metrics(struct http_req *r);
void http__route_openapi(struct http_req *r);
void http__route_me(struct http_req *r);
void http__route_login(struct http_req *r);
void http__route_logout(struct http_req *r);

/* routes_admin.c */
void http__route_apikeys_list(struct http_req *r);
void http__route_apikeys_create(struct http_req *r);
void http__route_apikeys_revoke(struct http_req *r);
void http__route_users_list(struct http_req *r);
void http__route_users_create(struct http_req *r);
void http__route_users_update(struct http_req *r);
void http__route_users_delete(struct http_req *r);
void http__route_audit(struct http_req *r);
void http__route_jobs_dead(struct http_req *r);
void http__route_jobs_retry(struct http_req *r);
void http__route_jobs_discard(struct http_req *r);
void http__route_security_events(struct http_req *r);
void http__route_monitoring_summary(struct http_req *r);

/* routes_inbox.c */
void http__route_conversations_list(struct http_req *r);
void http__route_conversations_get(struct http_req *r);
void http__route_conversations_update(struct http_req *r);
void http__route_conversations_messages(struct http_req *r);
void http__route_conversations_read(struct http_req *r);
void http__route_messages_send(struct http_req *r);
void http__route_messages_get(struct http_req *r);

/* routes_contacts.c */
void http__route_contacts_list(struct http_req *r);
void http__route_contacts_get(struct http_req *r);
void http__route_contacts_create(struct http_req *r);
void http__route_contacts_update(struct http_req *r);
void http__route_contacts_merge(struct http_req *r);
void http__route_messages_preflight(struct http_req *r);

/* routes_channels.c */
void http__route_channels_list(struct http_req *r);
void http__route_channels_create(struct http_req *r);
void http__route_channels_delete(struct http_req *r);
void http__route_templates_list(struct http_req *r);
void http__route_templates_sync(struct http_req *r);
void http__route_channels_test(struct http_req *r);
void http__route_settings_get(struct http_req *r);
void http__route_settings_patch(struct http_req *r);
void http__route_webhook(struct http_req *r);
/* routes_media.c */
void http__route_media_get(struct http_req *r);
void http__route_media_file(struct http_req *r);

/* routes_compliance.c */
void http__route_keywords_get(struct http_req *r);
void http__route_keywords_patch(struct http_req *r);
void http__route_suppressions_list(struct http_req *r);
void http__route_suppressions_create(struct http_req *r);
void http__route_suppressions_delete(struct http_req *r);
void http__route_suppressions_import(struct http_req *r);
void http__route_reviews_list(struct http_req *r);
void http__route_reviews_resolve(struct http_req *r);
void http__route_unsubscribe_page(struct http_req *r);
void http__route_unsubscribe_post(struct http_req *r);
/* routes_kb.c: the assistant's knowledge base */
void http__route_kb_list(struct http_req *r);
void http__route_kb_create(struct http_req *r);
void http__route_kb_get(struct http_req *r);
void http__route_kb_update(struct http_req *r);
void http__route_kb_delete(struct http_req *r);
void http__route_kb_import(struct http_req *r);
void http__route_kb_search(struct http_req *r);
/* routes_assistant.c: the draft queue, pauses and analytics */
void http__route_assistant_drafts(struct http_req *r);
void http__route_assistant_draft_get(struct http_req *r);
void http__route_assistant_draft_approve(struct http_req *r);
void http__route_assistant_draft_reject(struct http_req *r);
void http__route_assistant_pause_get(struct http_req *r);
void http__route_assistant_pause(struct http_req *r);
void http__route_assistant_resume(struct http_req *r);
void http__route_assistant_analytics(struct http_req *r);
/* routes_assistant_config.c: the assistant's agent configuration */
void http__route_assistant_config_get(struct http_req *r);
void http__route_assistant_config_put(struct http_req *r);
void http__route_assistant_config_versions(struct http_req *r);
void http__route_assistant_config_version(struct http_req *r);
void http__route_assistant_config_diff(struct http_req *r);
void http__route_assistant_config_rollback(struct http_req *r);

/* routes_templates.c */
void http__route_tpl_list(struct http_req *r);
void http__route_tpl_create(struct http_req *r);
void http__route_tpl_get(struct http_req *r);
void http__route_tpl_update(struct http_req *r);
void http__route_tpl_submit(struct http_req *r);
void http__route_tpl_approve(struct http_req *r);
void http__route_tpl_reject(struct http_req *r);
void http__route_tpl_versions(struct http_req *r);
void http__route_tpl_preview(struct http_req *r);

/* ------------------------------------------------ website chat widget */

/* Token buckets by key (ratelimit.c): per_minute refill, burst capacity,
 * memory for about max_keys keys (older idle keys are forgotten first).
 * new: 0, ERR_INVALID (rates < 1), ERR_NOMEM. take: 0 when the request may
 * go on, else the seconds until it may (Retry-After, >= 1). Thread-safe. */
struct http_ratelimit;
int http__ratelimit_new(struct http_ratelimit **out, int64_t per_minute, int64_t burst, size_t max_keys);
void http__ratelimit_free(struct http_ratelimit *rl); /* NULL is a no-op */
int http__ratelimit_take(struct http_ratelimit *rl, const char *key, int64_t now_ms);
/* Keys forgotten while their bucket was not full (a sign of too small a table). */
uint64_t http__ratelimit_evictions(struct http_ratelimit *rl);

/* An event of the log as the widget feed sees it, parsed once per event
 * however many widget sockets and long-polls look at it. */
struct http__widget_event {
    int64_t seq;
    const char *frame;                 /* the event frame (borrowed) */
    size_t len;
    int parsed;
    int is_msg;                        /* a message.created of a webchat account */
    int outbound;
    char account_id[CORE_ID_MAX];
    char address[STORE_ADDRESS_MAX];
    char message_id[CORE_ID_MAX];
    struct buf msg;                    /* the widget message object */
    struct buf ws_frame;               /* {"type":"message","cursor":"…","message":{…}} */
    int marked;                        /* delivered mark submitted */
};
void http__widget_event_init(struct http__widget_event *ev, int64_t seq, const char *frame, size_t len);
/* 1 when ev is a message of this session (ev->msg and ev->ws_frame are filled). */
int http__widget_event_for(struct http__widget_event *ev, const char *account_id, const char *session_id);
/* The message went to a widget: mark an outbound one delivered (once). */
void http__widget_event_delivered(struct http_server *srv, struct http__widget_event *ev, const char *tenant_id);
void http__widget_event_free(struct http__widget_event *ev);

/* A long-poll waiting on the feed (routes_widget.c registers it,
 * widget_feed.c answers it); all fields under srv->ws_mu. */
struct http_widget_wait {
    struct http_widget_wait *next;
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char session_id[CORE_ID_MAX];
    int64_t last_seq;
    uint64_t round;
    int64_t deadline_ns;
    struct http_defer *defer;
    struct buf resp;
};

/* Long-polls, driven by the pump like sockets. Under srv->ws_mu: round
 * adds the waiting tenants to the round's list (*v grows, see
 * http__ws_round) and moves expired waits to the answer list; deliver and
 * resync answer the waits an event concerns. answer (without the lock)
 * sends what is on the answer list; finish (shutdown) answers every wait. */
int http__widget_waits_round(struct http_server *srv, uint64_t round, struct http_ws_tenant **v, int *count,
                             int *cap);
void http__widget_waits_deliver(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t seq,
                                struct http__widget_event *ev);
void http__widget_waits_resync(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t after_seq,
                               int64_t first_seq, int64_t last_seq);
void http__widget_waits_answer(struct http_server *srv);
void http__widget_waits_finish(struct http_server *srv);
/* Rate limiters from the config (server start); free at the end. ERR_NOMEM. */
int http__widget_init(struct http_server *srv, struct err *e);
void http__widget_free(struct http_server *srv);
/* The widget's WebSocket: a 101 for a socket that takes the session's
 * messages after seq `after` (hello first; resync when not NULL). */
void http__ws_upgrade_widget(struct http_req *r, const char *tenant_id, const char *account_id,
                             const char *session_id, int64_t after, int64_t last, const char *resync);
/* Middleware (router.c's chain): widget preflights (OPTIONS) and the rate
 * limits of widget routes, before any body is read. 1 when it answered. */
int http__widget_preflight(struct http_req *r);
int http__widget_limit(struct http_req *r);

/* routes_widget.c */
void http__route_widget_config(struct http_req *r);
void http__route_widget_session(struct http_req *r);
void http__route_widget_post(struct http_req *r);
void http__route_widget_messages(struct http_req *r);
void http__route_widget_ws(struct http_req *r);

#endif
