/*
 * ws: WebSocket connections (RFC 6455) over MHD's HTTP upgrade, framed by
 * libwslay, and the hub that publishes tenant events to them.
 *
 * Each upgraded connection gets a thread that owns its socket and its wslay
 * context; other threads only queue messages, under the connection's mutex,
 * and wake it through an eventfd. The hub (srv->ws, srv->ws_mu) lists open
 * connections with their tenant; publishing goes to one tenant's only.
 * Shutdown sends a 1001 close frame to every connection and waits for the
 * threads to finish.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "http/http_int.h"

#define WS_PING_INTERVAL_NS (25LL * 1000000000LL)
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct http_ws {
    struct http_ws *next;
    struct http_server *srv;
    char tenant_id[CORE_ID_MAX];
    char request_id[129];
    pthread_mutex_t mu;            /* guards ctx */
    wslay_event_context_ptr ctx;
    int fd;
    int wake;                      /* eventfd */
    struct MHD_UpgradeResponseHandle *urh;
    char *extra;                   /* bytes MHD read past the handshake */
    size_t extra_len, extra_off;
};

int http__ws_hub_init(struct http_server *srv)
{
    pthread_mutex_init(&srv->ws_mu, NULL);
    pthread_cond_init(&srv->ws_cv, NULL);
    return 0;
}

static void ws_wake(struct http_ws *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->wake, &one, sizeof one);
    (void)n;
}

void http__ws_hub_shutdown(struct http_server *srv)
{
    struct timespec until;
    pthread_mutex_lock(&srv->ws_mu);
    srv->ws_stopping = 1;
    for (struct http_ws *w = srv->ws; w; w = w->next)
        ws_wake(w);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (srv->ws_threads > 0) {
        if (pthread_cond_timedwait(&srv->ws_cv, &srv->ws_mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&srv->ws_mu);
}

int http__ws_publish(struct http_server *srv, const char *tenant_id, const char *json)
{
    int n = 0;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)json, strlen(json)};
    pthread_mutex_lock(&srv->ws_mu);
    for (struct http_ws *w = srv->ws; w; w = w->next) {
        if (strcmp(w->tenant_id, tenant_id) != 0)
            continue;
        pthread_mutex_lock(&w->mu);
        if (w->ctx && wslay_event_queue_msg(w->ctx, &msg) == 0)
            n++;
        pthread_mutex_unlock(&w->mu);
        ws_wake(w);
    }
    pthread_mutex_unlock(&srv->ws_mu);
    return n;
}

/* ------------------------------------------------------ wslay callbacks */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *data, size_t len, int flags, void *ud)
{
    struct http_ws *w = ud;
    (void)flags;
    if (w->extra_off < w->extra_len) {
        size_t n = w->extra_len - w->extra_off;
        if (n > len)
            n = len;
        memcpy(data, w->extra + w->extra_off, n);
        w->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t n = recv(w->fd, data, len, 0);
    if (n < 0) {
        wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *ud)
{
    struct http_ws *w = ud;
    (void)flags;
    ssize_t n = send(w->fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
        wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *ud)
{
    /* Clients have nothing to say yet; wslay answers pings and close frames itself. */
    (void)ctx;
    (void)arg;
    (void)ud;
}

/* ------------------------------------------------------------- thread */

static void ws_hub_remove(struct http_ws *w)
{
    struct http_server *srv = w->srv;
    pthread_mutex_lock(&srv->ws_mu);
    for (struct http_ws **pp = &srv->ws; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&srv->ws_mu);
}

static void *ws_thread(void *arg)
{
    struct http_ws *w = arg;
    struct http_server *srv = w->srv;
    struct wslay_event_callbacks cbs = {ws_recv, ws_send, NULL, NULL, NULL, NULL, ws_on_msg};
    struct log_ctx lctx = {w->request_id, NULL, w->tenant_id};
    int64_t next_ping = time_mono_ns() + WS_PING_INTERVAL_NS;
    int closing = 0;
    struct buf hello = {0};

    fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
    pthread_mutex_lock(&w->mu);
    if (wslay_event_context_server_init(&w->ctx, &cbs, w) != 0)
        w->ctx = NULL;
    if (w->ctx) {
        buf_puts(&hello, "{\"type\":\"hello\",\"tenant_id\":");
        buf_json_str(&hello, w->tenant_id);
        buf_putc(&hello, '}');
        struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)hello.data, hello.len};
        wslay_event_queue_msg(w->ctx, &msg); /* wslay copies the payload */
    }
    buf_free(&hello);
    pthread_mutex_unlock(&w->mu);
    log_write(LOG_INFO, &lctx, NULL, "websocket open");

    while (w->ctx) {
        struct pollfd pfd[2];
        pthread_mutex_lock(&w->mu);
        int wr = wslay_event_want_read(w->ctx), ww = wslay_event_want_write(w->ctx);
        pthread_mutex_unlock(&w->mu);
        if (!wr && !ww)
            break;
        pfd[0].fd = w->fd;
        pfd[0].events = (short)((wr ? POLLIN : 0) | (ww ? POLLOUT : 0));
        pfd[0].revents = 0;
        pfd[1].fd = w->wake;
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        int pr = poll(pfd, 2, 1000);
        if (pr < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            ssize_t n = read(w->wake, &v, sizeof v);
            (void)n;
        }
        pthread_mutex_lock(&w->mu);
        int rc = 0;
        if (!closing && srv->ws_stopping) {
            closing = 1;
            wslay_event_queue_close(w->ctx, WSLAY_CODE_GOING_AWAY, (const uint8_t *)"shutting down", 13);
        }
        if (time_mono_ns() >= next_ping) {
            struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
            wslay_event_queue_msg(w->ctx, &ping);
            next_ping = time_mono_ns() + WS_PING_INTERVAL_NS;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
            rc = wslay_event_recv(w->ctx);
        if (rc == 0 && wslay_event_want_write(w->ctx))
            rc = wslay_event_send(w->ctx);
        pthread_mutex_unlock(&w->mu);
        if (rc != 0)
            break;
        /* A closing peer that never answers: give up after the shutdown grace. */
        if (closing && srv->ws_stopping && pr == 0)
            break;
    }

    log_write(LOG_INFO, &lctx, NULL, "websocket closed");
    ws_hub_remove(w);
    pthread_mutex_lock(&w->mu);
    if (w->ctx)
        wslay_event_context_free(w->ctx);
    w->ctx = NULL;
    pthread_mutex_unlock(&w->mu);
    MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);
    close(w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->extra);
    free(w);
    pthread_mutex_lock(&srv->ws_mu);
    srv->ws_threads--;
    pthread_cond_broadcast(&srv->ws_cv);
    pthread_mutex_unlock(&srv->ws_mu);
    return NULL;
}

/* MHD calls this once the 101 went out: the socket is ours now. */
static void ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct http_ws *w = cls;
    struct http_server *srv = w->srv;
    pthread_t th;
    pthread_attr_t attr;
    (void)conn;
    (void)con_cls;
    w->fd = sock;
    w->urh = urh;
    if (extra_in_size) {
        w->extra = malloc(extra_in_size);
        if (w->extra) {
            memcpy(w->extra, extra_in, extra_in_size);
            w->extra_len = extra_in_size;
        }
    }
    pthread_mutex_lock(&srv->ws_mu);
    if (srv->ws_stopping) {
        pthread_mutex_unlock(&srv->ws_mu);
        goto fail;
    }
    w->next = srv->ws;
    srv->ws = w;
    srv->ws_threads++;
    pthread_mutex_unlock(&srv->ws_mu);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, ws_thread, w) != 0) {
        pthread_attr_destroy(&attr);
        ws_hub_remove(w);
        pthread_mutex_lock(&srv->ws_mu);
        srv->ws_threads--;
        pthread_cond_broadcast(&srv->ws_cv);
        pthread_mutex_unlock(&srv->ws_mu);
        goto fail;
    }
    pthread_attr_destroy(&attr);
    return;
fail:
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    close(w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->extra);
    free(w);
}

/* 1 when the comma-separated header value contains token (case-insensitive). */
static int header_has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    while (v && *v) {
        while (*v == ' ' || *v == ',')
            v++;
        const char *end = v;
        while (*end && *end != ',')
            end++;
        const char *te = end;
        while (te > v && te[-1] == ' ')
            te--;
        if ((size_t)(te - v) == n && strncasecmp(v, token, n) == 0)
            return 1;
        v = end;
    }
    return 0;
}

void http__ws_upgrade(struct http_req *r)
{
    const char *upgrade = http__req_header(r, "Upgrade");
    const char *connection = http__req_header(r, "Connection");
    const char *version = http__req_header(r, "Sec-WebSocket-Version");
    const char *key = http__req_header(r, "Sec-WebSocket-Key");
    uint8_t raw[32], digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    char accept[64], src[128];

    if (!header_has_token(upgrade, "websocket") || !header_has_token(connection, "upgrade")) {
        http__header(r, "Upgrade", "websocket");
        http__error(r, 426, "upgrade_required", "this endpoint speaks WebSocket only");
        return;
    }
    if (!version || strcmp(version, "13") != 0) {
        http__header(r, "Sec-WebSocket-Version", "13");
        http__error(r, 426, "upgrade_required", "Sec-WebSocket-Version must be 13");
        return;
    }
    if (!key || strlen(key) > 64 || crypto_unbase64(raw, sizeof raw, key, strlen(key)) != 16) {
        http__error(r, 400, "invalid_request", "Sec-WebSocket-Key must be 16 bytes of base64");
        return;
    }
    snprintf(src, sizeof src, "%s%s", key, WS_GUID);
    if (EVP_Digest(src, strlen(src), digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20) {
        http__error(r, 500, "internal", "internal error");
        return;
    }
    crypto_base64(accept, sizeof accept, digest, 20);

    struct http_ws *w = calloc(1, sizeof *w);
    if (!w) {
        http__error(r, 500, "internal", "internal error");
        return;
    }
    w->srv = r->srv;
    w->fd = -1;
    snprintf(w->tenant_id, sizeof w->tenant_id, "%s", r->principal.tenant_id);
    snprintf(w->request_id, sizeof w->request_id, "%s", r->request_id);
    pthread_mutex_init(&w->mu, NULL);
    w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->upgrade = w->wake >= 0 ? MHD_create_response_for_upgrade(ws_upgraded, w) : NULL;
    if (!r->upgrade) {
        if (w->wake >= 0)
            close(w->wake);
        pthread_mutex_destroy(&w->mu);
        free(w);
        http__error(r, 500, "internal", "internal error");
        return;
    }
    MHD_add_response_header(r->upgrade, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r->upgrade, "Sec-WebSocket-Accept", accept);
    r->status = MHD_HTTP_SWITCHING_PROTOCOLS;
    r->content_type = NULL;
    buf_reset(&r->out);
}
