/*
 * ws: WebSocket connections (RFC 6455) over MHD's HTTP upgrade, framed by
 * libwslay, and the hub through which the event pump (events.c) reaches them.
 *
 * Each upgraded connection gets a thread that owns its socket; other threads
 * only queue messages into its wslay context, under the connection's mutex,
 * and wake it through an eventfd. The hub (srv->ws under srv->ws_mu) lists
 * open connections with their tenant and last_seq, the highest event seq
 * queued to them: the pump queues event seq only to a connection at
 * seq - 1, so each gets every event once, in order, from its resume point.
 * Memory is bounded: the pump skips a connection whose queue is over
 * WS_QUEUE_SOFT (it catches up from the log later), and one whose queue has
 * not moved for WS_STALL_NS is closed with 1008. Shutdown sends a 1001
 * close frame to every connection and waits for the threads to finish.
 *
 * The website chat widget's sockets (/widget/v1/ws) and long-polls
 * (/widget/v1/messages?wait=) ride on the same pump: a widget socket takes
 * only the message.created events of its own session, reshaped for the
 * widget (routes_widget.c); a long-poll waits on srv->wwaits, moves along
 * the log like a socket, and is answered by the first event of its session
 * or at its deadline (checked every round).
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
#define WS_QUEUE_SOFT ((size_t)1024 * 1024)     /* bytes queued before the pump holds back */
#define WS_STALL_NS (20LL * 1000000000LL)        /* queued bytes that do not move: close 1008 */
#define WS_CLOSE_GRACE_NS (3LL * 1000000000LL)   /* a close frame's wait for the peer's */
#define WS_MAX_RECV ((uint64_t)64 * 1024)         /* clients send nothing big */

struct http_ws {
    struct http_ws *next;
    struct http_server *srv;
    char tenant_id[CORE_ID_MAX];
    char request_id[129];
    int64_t last_seq;              /* srv->ws_mu: highest event seq queued */
    uint64_t round;                /* srv->ws_mu: the pump round it last took part in */
    int64_t hello_last;            /* the log's last seq at the upgrade (hello) */
    const char *resync;            /* static reason for a resync before any event, or NULL */
    pthread_mutex_t mu;            /* guards ctx and the fields below */
    wslay_event_context_ptr ctx;
    int gone;                      /* closing or failed: takes no more events */
    int paused;                    /* the pump held back (queue full): poke it when drained */
    int64_t progress_ns;           /* last time queued bytes went out (or the queue was empty) */
    int fd;
    int wake;                      /* eventfd */
    struct MHD_UpgradeResponseHandle *urh;
    char *extra;                   /* bytes MHD read past the handshake */
    size_t extra_len, extra_off;
    /* a website chat widget's socket: only its session's messages */
    int widget;
    char account_id[CORE_ID_MAX];
    char session_id[CORE_ID_MAX];
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
    http__widget_waits_finish(srv);
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

/* ------------------------------------------------- the pump's side */

/* Queue a text message under w->mu; 0 or a wslay error (close queued). */
static int ws_queue_text(struct http_ws *w, const char *text, size_t len)
{
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    if (!w->ctx || w->gone)
        return WSLAY_ERR_NO_MORE_MSG;
    int rc = wslay_event_queue_msg(w->ctx, &msg); /* wslay copies the payload */
    if (rc != 0)
        w->gone = 1;
    return rc;
}

int http__ws_round(struct http_server *srv, uint64_t round, struct http_ws_tenant **out, int *n)
{
    struct http_ws_tenant *v = NULL;
    int count = 0, cap = 0, rc = 0;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&srv->ws_mu);
    for (struct http_ws *w = srv->ws; w; w = w->next) {
        pthread_mutex_lock(&w->mu);
        int ready = w->ctx && !w->gone && wslay_event_get_queued_msg_length(w->ctx) < WS_QUEUE_SOFT;
        if (!ready && w->ctx && !w->gone)
            w->paused = 1; /* its thread pokes the pump once the queue drains */
        pthread_mutex_unlock(&w->mu);
        if (!ready)
            continue;
        w->round = round;
        int i = 0;
        while (i < count && strcmp(v[i].tenant_id, w->tenant_id) != 0)
            i++;
        if (i < count) {
            if (w->last_seq < v[i].min_seq)
                v[i].min_seq = w->last_seq;
            if (w->last_seq > v[i].max_seq)
                v[i].max_seq = w->last_seq;
            continue;
        }
        if (count == cap) {
            int ncap = cap ? cap * 2 : 16;
            struct http_ws_tenant *nv = realloc(v, (size_t)ncap * sizeof *nv);
            if (!nv) {
                rc = ERR_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        snprintf(v[count].tenant_id, sizeof v[count].tenant_id, "%s", w->tenant_id);
        v[count].min_seq = v[count].max_seq = w->last_seq;
        count++;
    }
    if (rc == 0)
        rc = http__widget_waits_round(srv, round, &v, &count, &cap);
    pthread_mutex_unlock(&srv->ws_mu);
    http__widget_waits_answer(srv);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

void http__ws_resync_behind(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t after_seq,
                            int64_t first_seq, int64_t last_seq)
{
    static const char resync[] = "{\"type\":\"resync\",\"reason\":\"events_pruned\"}";
    pthread_mutex_lock(&srv->ws_mu);
    for (struct http_ws *w = srv->ws; w; w = w->next) {
        if (w->round != round || w->last_seq < after_seq || w->last_seq >= first_seq - 1 ||
            strcmp(w->tenant_id, tenant_id) != 0)
            continue;
        pthread_mutex_lock(&w->mu);
        ws_queue_text(w, resync, sizeof resync - 1);
        pthread_mutex_unlock(&w->mu);
        w->last_seq = last_seq; /* the client reloads its state: live from here */
        ws_wake(w);
    }
    http__widget_waits_resync(srv, round, tenant_id, after_seq, first_seq, last_seq);
    pthread_mutex_unlock(&srv->ws_mu);
    http__widget_waits_answer(srv);
}

void http__ws_deliver(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t seq,
                      const char *frame, size_t len)
{
    struct http__widget_event wev;
    http__widget_event_init(&wev, seq, frame, len);
    pthread_mutex_lock(&srv->ws_mu);
    for (struct http_ws *w = srv->ws; w; w = w->next) {
        if (w->round != round || w->last_seq != seq - 1 || strcmp(w->tenant_id, tenant_id) != 0)
            continue;
        const char *text = frame;
        size_t tlen = len;
        int queued = 0, mine = 1;
        if (w->widget) {
            mine = http__widget_event_for(&wev, w->account_id, w->session_id);
            text = wev.ws_frame.data;
            tlen = wev.ws_frame.len;
        }
        pthread_mutex_lock(&w->mu);
        if (w->ctx && !w->gone) {
            if (wslay_event_get_queued_msg_length(w->ctx) >= WS_QUEUE_SOFT)
                w->paused = 1; /* it stays at seq - 1 and is served from the log later */
            else
                queued = !mine || ws_queue_text(w, text, tlen) == 0;
        }
        pthread_mutex_unlock(&w->mu);
        if (queued) {
            w->last_seq = seq;
            if (mine) {
                ws_wake(w);
                if (w->widget)
                    http__widget_event_delivered(srv, &wev, w->tenant_id);
            }
        }
    }
    http__widget_waits_deliver(srv, round, tenant_id, seq, &wev);
    pthread_mutex_unlock(&srv->ws_mu);
    http__widget_waits_answer(srv);
    http__widget_event_free(&wev);
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
    if (n > 0)
        w->progress_ns = time_mono_ns();
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
    /* wslay answers pings and close frames itself; clients have nothing
     * else to say (the feed is one-way), so a data message gets an error. */
    static const char unsupported[] = "{\"type\":\"error\",\"error\":{\"code\":\"unsupported_message\","
                                      "\"message\":\"this socket only sends events; clients send control frames only\"}}";
    struct http_ws *w = ud;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
        ws_queue_text(w, unsupported, sizeof unsupported - 1); /* called under w->mu */
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
    struct log_ctx lctx = {w->request_id, NULL, w->tenant_id};
    int64_t next_ping = time_mono_ns() + WS_PING_INTERVAL_NS, close_by = 0;
    int closing = 0;

    log_write(LOG_INFO, &lctx, NULL, "websocket open");
    for (;;) {
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
        int64_t now = time_mono_ns();
        int rc = 0, poke = 0;
        pthread_mutex_lock(&w->mu);
        if (!closing && srv->ws_stopping) {
            closing = 1;
            close_by = now + WS_CLOSE_GRACE_NS;
            w->gone = 1;
            wslay_event_queue_close(w->ctx, WSLAY_CODE_GOING_AWAY, (const uint8_t *)"shutting down", 13);
        }
        size_t queued = wslay_event_get_queued_msg_length(w->ctx);
        if (queued == 0)
            w->progress_ns = now;
        if (!closing && queued > 0 && now - w->progress_ns > WS_STALL_NS) {
            /* The client stopped reading: drop it rather than buffer for it. */
            closing = 1;
            close_by = now + WS_CLOSE_GRACE_NS;
            w->gone = 1;
            wslay_event_queue_close(w->ctx, WSLAY_CODE_POLICY_VIOLATION, (const uint8_t *)"too slow", 8);
            log_write(LOG_WARN, &lctx, NULL, "websocket closed (1008): client too slow, %zu bytes queued unsent "
                      "for %lld s", queued, WS_STALL_NS / 1000000000LL);
        }
        if (now >= next_ping) {
            struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};
            wslay_event_queue_msg(w->ctx, &ping);
            next_ping = now + WS_PING_INTERVAL_NS;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
            rc = wslay_event_recv(w->ctx);
        if (rc == 0 && wslay_event_want_write(w->ctx))
            rc = wslay_event_send(w->ctx);
        if (w->paused && wslay_event_get_queued_msg_length(w->ctx) < WS_QUEUE_SOFT / 2) {
            w->paused = 0;
            poke = 1;
        }
        pthread_mutex_unlock(&w->mu);
        if (poke)
            http__events_poke(srv); /* room again: the pump goes on from the log */
        if (rc != 0)
            break;
        /* A closing peer that never answers: give up after the grace. */
        if (closing && (time_mono_ns() >= close_by || (srv->ws_stopping && pr == 0)))
            break;
    }

    log_write(LOG_INFO, &lctx, NULL, "websocket closed");
    ws_hub_remove(w);
    pthread_mutex_lock(&w->mu);
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

/* Before the connection joins the hub: its wslay context with the hello
 * (and a resync when its resume point was pruned) queued first, so no event
 * can precede them. 0, or -1 when wslay cannot start. */
static int ws_context(struct http_ws *w)
{
    struct wslay_event_callbacks cbs = {ws_recv, ws_send, NULL, NULL, NULL, NULL, ws_on_msg};
    struct buf b = {0};
    int rc = -1;

    if (wslay_event_context_server_init(&w->ctx, &cbs, w) != 0) {
        w->ctx = NULL;
        goto out;
    }
    wslay_event_config_set_max_recv_msg_length(w->ctx, WS_MAX_RECV);
    if (w->widget) {
        buf_puts(&b, "{\"type\":\"hello\",\"session_id\":");
        buf_json_str(&b, w->session_id);
        buf_printf(&b, ",\"cursor\":\"%lld\"}", (long long)w->last_seq);
    } else {
        buf_puts(&b, "{\"type\":\"hello\",\"tenant_id\":");
        buf_json_str(&b, w->tenant_id);
        buf_printf(&b, ",\"last_event_id\":%lld}", (long long)w->hello_last);
    }
    if (ws_queue_text(w, b.data, b.len) != 0)
        goto out;
    if (w->resync) {
        buf_reset(&b);
        buf_puts(&b, "{\"type\":\"resync\",\"reason\":");
        buf_json_str(&b, w->resync);
        buf_putc(&b, '}');
        if (ws_queue_text(w, b.data, b.len) != 0)
            goto out;
    }
    w->progress_ns = time_mono_ns();
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

static void ws_free_unstarted(struct http_ws *w)
{
    if (w->ctx)
        wslay_event_context_free(w->ctx);
    if (w->wake >= 0)
        close(w->wake);
    pthread_mutex_destroy(&w->mu);
    free(w->extra);
    free(w);
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
    fcntl(w->fd, F_SETFL, fcntl(w->fd, F_GETFL) | O_NONBLOCK);
    if (ws_context(w) != 0)
        goto fail;
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
    http__events_poke(srv); /* a resuming client gets its backlog now */
    return;
fail:
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    ws_free_unstarted(w);
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

/* The resume point: ?last_event_id=N, else the Last-Event-ID header (the
 * EventSource name), as 1-18 digits. 0 and *has = 0 when neither is given;
 * -1 after answering 400. */
static int ws_last_event_id(struct http_req *r, int64_t *out, int *has)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "last_event_id");
    int64_t n = 0;
    size_t i = 0;

    *out = 0;
    *has = 0;
    if (!v)
        v = http__req_header(r, "Last-Event-ID");
    if (!v)
        return 0;
    for (; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9' || i >= 18)
            break;
        n = n * 10 + (v[i] - '0');
    }
    if (i == 0 || v[i]) {
        http__error(r, 400, "invalid_request", "last_event_id must be a non-negative integer (an event id)");
        return -1;
    }
    *out = n;
    *has = 1;
    return 0;
}

/* The handshake's checks and Sec-WebSocket-Accept; -1 after answering. */
static int ws_handshake(struct http_req *r, char accept[64])
{
    const char *upgrade = http__req_header(r, "Upgrade");
    const char *connection = http__req_header(r, "Connection");
    const char *version = http__req_header(r, "Sec-WebSocket-Version");
    const char *key = http__req_header(r, "Sec-WebSocket-Key");
    uint8_t raw[32], digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    char src[128];

    if (!header_has_token(upgrade, "websocket") || !header_has_token(connection, "upgrade")) {
        http__header(r, "Upgrade", "websocket");
        http__error(r, 426, "upgrade_required", "this endpoint speaks WebSocket only");
        return -1;
    }
    if (!version || strcmp(version, "13") != 0) {
        http__header(r, "Sec-WebSocket-Version", "13");
        http__error(r, 426, "upgrade_required", "Sec-WebSocket-Version must be 13");
        return -1;
    }
    if (!key || strlen(key) > 64 || crypto_unbase64(raw, sizeof raw, key, strlen(key)) != 16) {
        http__error(r, 400, "invalid_request", "Sec-WebSocket-Key must be 16 bytes of base64");
        return -1;
    }
    snprintf(src, sizeof src, "%s%s", key, WS_GUID);
    if (EVP_Digest(src, strlen(src), digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20) {
        http__error(r, 500, "internal", "internal error");
        return -1;
    }
    crypto_base64(accept, 64, digest, 20);
    return 0;
}

/* Answer 101 for a socket of tenant_id starting after seq `after`. */
static void ws_start(struct http_req *r, const char *accept, const char *tenant_id, int64_t after, int64_t last,
                     const char *resync, const char *account_id, const char *session_id)
{
    struct http_ws *w = calloc(1, sizeof *w);
    if (!w) {
        http__error(r, 500, "internal", "internal error");
        return;
    }
    w->srv = r->srv;
    w->fd = -1;
    snprintf(w->tenant_id, sizeof w->tenant_id, "%s", tenant_id);
    snprintf(w->request_id, sizeof w->request_id, "%s", r->request_id);
    w->last_seq = after;
    w->hello_last = last;
    w->resync = resync;
    if (session_id) {
        w->widget = 1;
        snprintf(w->account_id, sizeof w->account_id, "%s", account_id);
        snprintf(w->session_id, sizeof w->session_id, "%s", session_id);
    }
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

void http__ws_upgrade(struct http_req *r)
{
    char accept[64];

    if (ws_handshake(r, accept) != 0)
        return;
    /* Where the client's events start: after its last_event_id when the
     * log still holds everything since, else live (after the log's end),
     * with a resync first when it missed events the log no longer has. */
    int64_t after = 0, first = 0, last = 0;
    int has_after = 0;
    const char *resync = NULL;
    struct err e = {0};
    if (ws_last_event_id(r, &after, &has_after) != 0)
        return;
    if (ops_event_bounds(r->app->db, r->principal.tenant_id, &first, &last, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    if (has_after && after > last)
        resync = "unknown_event_id"; /* not from this log (restored or reset database) */
    else if (has_after && first > 0 && after < first - 1)
        resync = "events_pruned";
    if (!has_after || resync)
        after = last;
    ws_start(r, accept, r->principal.tenant_id, after, last, resync, NULL, NULL);
}

void http__ws_upgrade_widget(struct http_req *r, const char *tenant_id, const char *account_id,
                             const char *session_id, int64_t after, int64_t last, const char *resync)
{
    char accept[64];

    if (ws_handshake(r, accept) != 0)
        return;
    ws_start(r, accept, tenant_id, after, last, resync, account_id, session_id);
}
