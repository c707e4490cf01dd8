/*
 * server: the libmicrohttpd daemon (epoll, thread pool), the request life
 * cycle (body accumulation under the limit, dispatch, response), the header
 * deadline reaper and graceful shutdown.
 *
 * The header deadline: a new connection must complete its first request's
 * headers within SB_HEADER_TIMEOUT. After a response the connection may idle
 * (keep-alive), so the next request's deadline is SB_IDLE_TIMEOUT from the end
 * of the previous one: MHD does not say when a request's first byte arrives.
 *
 * Invariants: a struct http_req exists from the URI callback (or the first
 * access-handler call) of a request to MHD's completed notification, which
 * frees it; inflight counts the started ones until then, deferred ones
 * included. A tracked connection is removed (under conns_mu) before MHD
 * closes its socket, so the reaper never shuts down a reused descriptor.
 * A deferred request's connection is suspended until its completion; the
 * state word (claimed, completed, suspended) decides without a lock who
 * resumes it, so exactly one MHD_resume_connection follows each suspend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"

/* One open connection: when its current request's headers are due. */
struct http_conn_track {
    struct http_conn_track *prev, *next;
    int fd;
    int64_t since_ns;     /* connect, or the end of the previous request */
    int64_t limit_ns;     /* header_timeout for a new connection, idle after a request */
    int headers_done;     /* the current request's headers arrived */
};

static int64_t server_header_ns(const struct http_server *s)
{
    int64_t t = s->app->cfg->header_timeout_s;
    return (t > 0 ? t : 10) * 1000000000LL;
}

static int64_t server_idle_ns(const struct http_server *s)
{
    int64_t t = s->app->cfg->idle_timeout_s;
    return (t > 0 ? t : 60) * 1000000000LL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: track open connections. */
static void server_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct http_conn_track *t = calloc(1, sizeof *t);
        if (!t || !ci) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->since_ns = time_mono_ns();
        t->limit_ns = server_header_ns(s);
        pthread_mutex_lock(&s->conns_mu);
        t->next = s->conns;
        if (s->conns)
            s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->conns_mu);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct http_conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&s->conns_mu);
        if (t->prev)
            t->prev->next = t->next;
        else
            s->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&s->conns_mu);
        free(t);
        *socket_context = NULL;
    }
}

static struct http_conn_track *server_track(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The reaper: MHD has only an idle timeout, so a client that trickles one
 * header byte a second would hold a connection forever. Drop those. */
static void *server_reaper(void *arg)
{
    struct http_server *s = arg;
    while (!s->stopping) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        int64_t now = time_mono_ns();
        pthread_mutex_lock(&s->conns_mu);
        for (struct http_conn_track *t = s->conns; t; t = t->next) {
            if (!t->headers_done && t->fd >= 0 && now - t->since_ns > t->limit_ns) {
                shutdown(t->fd, SHUT_RDWR);
                t->fd = -1; /* once */
            }
        }
        pthread_mutex_unlock(&s->conns_mu);
    }
    return NULL;
}

static void server_client_ip(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outlen, "unknown");
    if (!ci || !ci->client_addr)
        return;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)ci->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)outlen);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)ci->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)outlen);
    }
}

/* ------------------------------------------------------------- deferral */

enum { DEFER_CLAIMED = 1, DEFER_COMPLETED = 2, DEFER_SUSPENDED = 4 };

/* A deferred response. Two references: the request's (dropped when MHD
 * completes the request) and the completer's (dropped by the completion).
 * It sits on srv->defers while the request is alive. */
struct http_defer {
    struct http_defer *prev, *next;
    struct http_server *srv;
    struct MHD_Connection *conn;
    atomic_int state;
    atomic_int refs;
    /* the response, written by whoever claimed it, read after COMPLETED */
    int status;
    const char *content_type;
    struct buf body;
    int is_error;
    char code[48];
    char message[256];
};

static void defer_unref(struct http_defer *d)
{
    if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    buf_free(&d->body);
    free(d);
}

struct http_defer *http__defer(struct http_req *r)
{
    struct http_server *s = r->srv;
    struct http_defer *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->srv = s;
    d->conn = r->conn;
    atomic_init(&d->state, 0);
    atomic_init(&d->refs, 2);
    pthread_mutex_lock(&s->defer_mu);
    if (s->defer_closed) {
        pthread_mutex_unlock(&s->defer_mu);
        free(d);
        return NULL;
    }
    d->next = s->defers;
    if (s->defers)
        s->defers->prev = d;
    s->defers = d;
    pthread_mutex_unlock(&s->defer_mu);
    r->defer = d;
    return d;
}

/* Publish a claimed response; resume the connection when it is suspended.
 * Returns the connection to resume (the caller resumes outside its locks),
 * or NULL. */
static struct MHD_Connection *defer_publish(struct http_defer *d)
{
    int old = atomic_fetch_or_explicit(&d->state, DEFER_COMPLETED, memory_order_acq_rel);
    return (old & DEFER_SUSPENDED) ? d->conn : NULL;
}

static int defer_claim(struct http_defer *d)
{
    return !(atomic_fetch_or_explicit(&d->state, DEFER_CLAIMED, memory_order_acq_rel) & DEFER_CLAIMED);
}

static void defer_finish(struct http_defer *d)
{
    struct MHD_Connection *conn = defer_publish(d);
    if (conn)
        MHD_resume_connection(conn);
    defer_unref(d);
}

void http__complete(struct http_defer *d, int status, const char *content_type, const char *body, size_t len)
{
    if (!defer_claim(d)) { /* failed at shutdown already */
        defer_unref(d);
        return;
    }
    d->status = status;
    d->content_type = content_type;
    if (len)
        buf_append(&d->body, body, len);
    defer_finish(d);
}

void http__complete_error(struct http_defer *d, int status, const char *code, const char *message)
{
    if (!defer_claim(d)) {
        defer_unref(d);
        return;
    }
    d->status = status;
    d->is_error = 1;
    snprintf(d->code, sizeof d->code, "%s", code ? code : "internal");
    snprintf(d->message, sizeof d->message, "%s", message ? message : "");
    defer_finish(d);
}

/* Shutdown: no new deferrals; answer every pending one 503 now. */
static void defer_fail_all(struct http_server *s)
{
    struct MHD_Connection **resume = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&s->defer_mu);
    s->defer_closed = 1;
    for (struct http_defer *d = s->defers; d; d = d->next) {
        if (!defer_claim(d))
            continue;
        d->status = 503;
        d->is_error = 1;
        snprintf(d->code, sizeof d->code, "shutting_down");
        snprintf(d->message, sizeof d->message, "the server is shutting down; retry");
        struct MHD_Connection *conn = defer_publish(d);
        if (!conn)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct MHD_Connection **grown = realloc(resume, cap * sizeof *resume);
            if (!grown)
                abort(); /* MHD_stop_daemon must not meet a suspended connection */
            resume = grown;
        }
        resume[n++] = conn;
    }
    pthread_mutex_unlock(&s->defer_mu);
    /* A suspended connection cannot finish before it is resumed, so these
     * stay valid outside the lock. */
    for (size_t i = 0; i < n; i++)
        MHD_resume_connection(resume[i]);
    free(resume);
}

/* The request is over: take its defer off the list and drop its reference. */
static void defer_release(struct http_req *r)
{
    struct http_defer *d = r->defer;
    struct http_server *s = r->srv;
    if (!d)
        return;
    pthread_mutex_lock(&s->defer_mu);
    if (d->prev)
        d->prev->next = d->next;
    else
        s->defers = d->next;
    if (d->next)
        d->next->prev = d->prev;
    pthread_mutex_unlock(&s->defer_mu);
    r->defer = NULL;
    defer_unref(d);
}

/* Turn r's response fields into an MHD response and queue it. */
static enum MHD_Result server_respond(struct http_req *r)
{
    struct MHD_Response *resp;
    enum MHD_Result rc;
    if (r->upgrade) {
        resp = r->upgrade;
        r->upgrade = NULL;
    } else if (r->has_file) {
        /* MHD owns the descriptor from here (sendfile where it can). */
        resp = MHD_create_response_from_fd64(r->file_size, r->file_fd);
        if (!resp)
            return MHD_NO; /* the descriptor is closed with the request */
        r->has_file = 0;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/octet-stream");
    } else if (r->body_static) {
        /* The dashboard's table outlives the daemon: no copy. */
        resp = MHD_create_response_from_buffer(r->body_static_len, (void *)(uintptr_t)r->body_static,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/octet-stream");
    } else {
        size_t len = r->out.len;
        char *data = buf_steal(&r->out);
        resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(data);
            return MHD_NO;
        }
        if (len > 0 || r->content_type)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    r->content_type ? r->content_type : "application/json");
    }
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    if (r->body_too_large)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    r->responded = 1;
    return rc;
}

/* A request object; the URI callback creates it so it can keep the raw target. */
static struct http_req *server_req_new(struct http_server *s, struct MHD_Connection *conn)
{
    struct http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->arena = arena_new();
    r->app = s->app;
    r->srv = s;
    r->conn = conn;
    return r;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request-target as sent, before MHD splits
 * off and decodes the query (Twilio signs the URL exactly as it called it). */
static void *server_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_req *r = server_req_new(cls, conn);
    if (r)
        r->target = arena_strdup(r->arena, uri ? uri : "");
    return r;
}

/* The completed deferred response becomes r's, then goes out. */
static enum MHD_Result server_respond_deferred(struct http_req *r)
{
    struct http_defer *d = r->defer;
    if (d->is_error) {
        http__error(r, d->status, d->code, d->message);
    } else {
        r->status = d->status;
        r->content_type = d->content_type;
        buf_reset(&r->out);
        if (d->body.len)
            buf_append(&r->out, d->body.data, d->body.len);
    }
    http__dispatch_log(r);
    return server_respond(r);
}

static enum MHD_Result server_access(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version, const char *upload_data,
                                     size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    (void)version;

    if (!r || !r->started) {
        struct http_conn_track *t = server_track(conn);
        if (t) {
            pthread_mutex_lock(&s->conns_mu);
            t->headers_done = 1;
            pthread_mutex_unlock(&s->conns_mu);
        }
        if (!r && !(r = server_req_new(s, conn)))
            return MHD_NO;
        *con_cls = r;
        r->started = 1;
        r->method = arena_strdup(r->arena, method);
        r->path = arena_strdup(r->arena, url);
        if (!r->target)
            r->target = r->path;
        r->start_ns = time_mono_ns();
        server_client_ip(conn, r->ip, sizeof r->ip);
        s->inflight++;
        if (s->app->metrics)
            ops_metrics_inflight(s->app->metrics, 1);
        /* Refuse a declared oversized body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > (unsigned long long)s->app->cfg->body_limit)
                r->body_too_large = 1;
        }
        /* Refuse what the headers already decide (oversized, unknown route,
         * no credentials, wrong role) before reading any of the body. */
        if (http__dispatch_headers(r))
            return server_respond(r);
        return MHD_YES;
    }
    if (r->responded) {
        *upload_data_size = 0; /* discard the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!r->body_too_large && r->body.len + *upload_data_size <= (size_t)s->app->cfg->body_limit)
            buf_append(&r->body, upload_data, *upload_data_size);
        else
            r->body_too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->defer) /* resumed: the deferred response is complete */
        return server_respond_deferred(r);
    http__dispatch_body(r);
    if (!r->defer)
        return server_respond(r);
    /* Deferred. A completion that came first is answered at once; else
     * suspend, and whichever of us and the completer comes second resumes. */
    if (atomic_load_explicit(&r->defer->state, memory_order_acquire) & DEFER_COMPLETED)
        return server_respond_deferred(r);
    MHD_suspend_connection(conn);
    if (atomic_fetch_or_explicit(&r->defer->state, DEFER_SUSPENDED, memory_order_acq_rel) & DEFER_COMPLETED)
        MHD_resume_connection(conn);
    return MHD_YES;
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over; free it. */
static void server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    (void)toe;
    struct http_conn_track *t = server_track(conn);
    if (t) {
        pthread_mutex_lock(&s->conns_mu);
        t->headers_done = 0;
        t->since_ns = time_mono_ns();
        t->limit_ns = server_idle_ns(s);
        pthread_mutex_unlock(&s->conns_mu);
    }
    if (!r)
        return;
    int started = r->started;
    if (r->upgrade)
        MHD_destroy_response(r->upgrade);
    if (r->has_file)
        close(r->file_fd);
    defer_release(r);
    buf_free(&r->body);
    buf_free(&r->out);
    arena_free(r->arena);
    free(r);
    *con_cls = NULL;
    if (!started)
        return; /* refused by MHD before the access handler ran */
    if (s->app->metrics)
        ops_metrics_inflight(s->app->metrics, -1);
    s->inflight--;
}

int http__parse_listen(const char *listen, char *host, size_t hostlen, int *port, struct err *e)
{
    const char *colon, *h = listen;
    size_t hl;
    if (!listen || !*listen)
        return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN is empty");
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN: expected [v6]:PORT");
        h = listen + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN: expected HOST:PORT");
        hl = (size_t)(colon - listen);
    }
    if (hl == 0 || hl >= hostlen)
        return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN: bad host");
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 0 || p > 65535)
        return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN: bad port");
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* libmicrohttpd's own diagnostics, as JSON log lines like everything else. */
__attribute__((format(printf, 2, 0))) static void server_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_write(LOG_WARN, NULL, NULL, "libmicrohttpd: %s", msg);
}

/* The dashboard's files into memory (static.c). A dashboard that is not
 * built or cannot be loaded leaves the API running: it is logged once and
 * "/" says so. Only running out of memory stops the start. */
static int server_web_load(struct http_server *s, struct err *e)
{
    const char *dir = s->app->cfg->web_dir;
    struct err le = {0};
    int rc = http__static_load(&s->web, dir, HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES, &le);
    if (rc == ERR_NOMEM)
        return err_set(e, ERR_NOMEM, NULL, "out of memory loading the dashboard");
    if (rc != 0) {
        log_write(LOG_ERROR, NULL, NULL, "dashboard not served: %s (SB_WEB_DIR=%s; at most %d files, %lld MiB); "
                  "serving the API only", le.msg, dir, HTTP_STATIC_MAX_FILES, HTTP_STATIC_MAX_BYTES >> 20);
        if (http__static_empty(&s->web, HTTP_STATIC_REFUSED) != 0)
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
        return 0;
    }
    int64_t bytes = 0, gz = 0;
    size_t n = http__static_count(s->web, &bytes, &gz);
    switch (http__static_state(s->web)) {
    case HTTP_STATIC_OFF:
        log_write(LOG_INFO, NULL, NULL, "dashboard off (SB_WEB_DIR is empty): serving the API only");
        break;
    case HTTP_STATIC_MISSING: {
        char cwd[512] = "";
        if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
            cwd[0] = '\0';
        log_write(LOG_WARN, NULL, NULL, "dashboard not built: %s%s%s does not exist; build it with "
                  "`bash scripts/web.sh` (serving the API only; / explains)", cwd, cwd[0] ? "/" : "", dir);
        break;
    }
    default:
        if (!http__static_has_index(s->web))
            log_write(LOG_WARN, NULL, NULL, "dashboard incomplete: %s has no index.html; build it with "
                      "`bash scripts/web.sh`", dir);
        log_write(LOG_INFO, NULL, NULL, "dashboard: %zu files from %s (%lld KiB, %lld KiB gzipped)", n, dir,
                  (long long)(bytes + 1023) / 1024, (long long)(gz + 1023) / 1024);
        break;
    }
    return 0;
}

static void server_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (sigwait(&set, &sig) != 0)
        ;
}

int http_serve(const struct http_app *app, struct err *e)
{
    struct http_server *s = NULL;
    char host[256];
    int port = 0, rc = 0;
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE | MHD_USE_ITC |
                     MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    sigset_t set, old;

    rc = http__parse_listen(app->cfg->listen, host, sizeof host, &port, e);
    if (rc)
        return rc;
    memset(&addr, 0, sizeof addr);
    if (inet_pton(AF_INET, host, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &addr.v6.sin6_addr) == 1) {
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else if (strcmp(host, "localhost") == 0) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)port);
        addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        return err_set(e, ERR_INVALID, "invalid_config", "SB_LISTEN: host must be an IP address");
    }

    s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    s->app = app;
    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->defer_mu, NULL);
    http__ws_hub_init(s);
    if ((rc = http__widget_init(s, e)) != 0)
        goto out;
    if ((rc = server_web_load(s, e)) != 0)
        goto out;

    /* Every thread MHD starts inherits this mask, so only sigwait sees the signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);

    long nthreads = app->cfg->threads > 0 ? (long)app->cfg->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    unsigned idle = app->cfg->idle_timeout_s > 0 ? (unsigned)app->cfg->idle_timeout_s : 60;

    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, server_access, s,
        MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, NULL, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)nthreads,
        MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, /* MHD zeroes it per request */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_COMPLETED, server_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, server_notify_conn, s,
        MHD_OPTION_URI_LOG_CALLBACK, server_uri_log, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        rc = err_set(e, ERR_IO, "listen_failed", "cannot listen on %s", app->cfg->listen);
        goto out;
    }
    if ((rc = http__events_start(s, e)) != 0)
        goto out;
    if (pthread_create(&s->reaper, NULL, server_reaper, s) == 0)
        s->reaper_started = 1;

    log_write(LOG_INFO, NULL, NULL, "listening on http://%s (threads=%ld, body_limit=%lld)", app->cfg->listen,
              nthreads, (long long)app->cfg->body_limit);

    server_wait_signal();

    log_write(LOG_INFO, NULL, NULL, "shutting down: %d request(s) in flight", (int)s->inflight);
    /* Stop accepting. shutdown() makes the kernel refuse new connections at
     * once; the descriptor is closed only after MHD_stop_daemon, so no pool
     * thread can still touch a reused descriptor number. */
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        shutdown(lfd, SHUT_RDWR);
    http__ws_hub_shutdown(s);
    http__events_stop(s);
    int64_t grace = app->cfg->shutdown_grace_s > 0 ? app->cfg->shutdown_grace_s : 10;
    int64_t deadline = time_mono_ns() + grace * 1000000000LL;
    while (s->inflight > 0 && time_mono_ns() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Deferred requests still waiting (a stuck database) are answered 503;
     * give those answers a moment to leave before the daemon stops. */
    defer_fail_all(s);
    deadline = time_mono_ns() + 1000000000LL;
    while (s->inflight > 0 && time_mono_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int left = s->inflight;
    s->stopping = 1;
    if (s->reaper_started)
        pthread_join(s->reaper, NULL);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    log_write(LOG_INFO, NULL, NULL, "stopped (%d request(s) cut off)", left);
    rc = 0;
out:
    if (s) {
        s->stopping = 1;
        if (s->daemon) {
            defer_fail_all(s);
            MHD_stop_daemon(s->daemon);
        }
        http__widget_free(s);
        http__static_free(s->web); /* after MHD_stop_daemon: responses point into it */
        pthread_mutex_destroy(&s->conns_mu);
        pthread_mutex_destroy(&s->defer_mu);
        pthread_mutex_destroy(&s->ws_mu);
        pthread_cond_destroy(&s->ws_cv);
        free(s);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
