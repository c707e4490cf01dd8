/*
 * widget_feed: the website chat widget's live feed on the event pump.
 *
 * The pump (events.c) reads the event log of every tenant with listeners
 * and hands each event to the hub (ws.c); for widget listeners an event is
 * parsed once (http__widget_event_*) into the widget's message shape, and
 * only a message.created of the listener's own session (account and
 * customer address) reaches it. Long-polls (srv->wwaits, under srv->ws_mu)
 * move along the log like sockets: the first event of their session
 * answers them, or their deadline (checked each round, every ~100 ms).
 * They are answered outside the hub's lock (srv->wdone). A message handed
 * to a widget is marked delivered once (messaging_webchat_delivered).
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

/* ------------------------------------------------- the feed's events */

void http__widget_event_init(struct http__widget_event *ev, int64_t seq, const char *frame, size_t len)
{
    memset(ev, 0, sizeof *ev);
    ev->seq = seq;
    ev->frame = frame;
    ev->len = len;
}

void http__widget_event_free(struct http__widget_event *ev)
{
    buf_free(&ev->msg);
    buf_free(&ev->ws_frame);
}

/* Parse once: a message.created of a webchat account becomes the widget's
 * message object (the inbox's message JSON, crm_message_json, as input). */
static void widget_event_parse(struct http__widget_event *ev)
{
    cJSON *root = NULL;
    const cJSON *data;
    struct store_message m;
    const char *type, *s;
    ev->parsed = 1;
    if (!ev->frame || !memmem(ev->frame, ev->len, "\"message.created\"", 17) ||
        json_parse(&root, ev->frame, ev->len, NULL) != 0)
        return;
    type = json_str(root, "type");
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!type || strcmp(type, "message.created") != 0 || !cJSON_IsObject(data) || !(s = json_str(data, "channel")) ||
        strcmp(s, "webchat") != 0)
        goto out;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%s", (s = json_str(data, "id")) ? s : "");
    snprintf(m.direction, sizeof m.direction, "%s", (s = json_str(data, "direction")) ? s : "");
    snprintf(m.origin, sizeof m.origin, "%s", (s = json_str(data, "origin")) ? s : "");
    snprintf(m.type, sizeof m.type, "%s", (s = json_str(data, "type")) ? s : "text");
    snprintf(m.status, sizeof m.status, "%s", (s = json_str(data, "status")) ? s : "");
    snprintf(m.provider_message_id, sizeof m.provider_message_id, "%s",
             (s = json_str(data, "provider_message_id")) ? s : "");
    m.body = json_str(data, "body");
    if ((s = json_str(data, "created_at")))
        time_parse_iso(s, &m.created_at);
    snprintf(ev->account_id, sizeof ev->account_id, "%s", (s = json_str(data, "account_id")) ? s : "");
    snprintf(ev->address, sizeof ev->address, "%s", (s = json_str(data, "address")) ? s : "");
    snprintf(ev->message_id, sizeof ev->message_id, "%s", m.id);
    ev->outbound = strcmp(m.direction, "outbound") == 0;
    messaging_webchat_message_json(&ev->msg, &m);
    buf_printf(&ev->ws_frame, "{\"type\":\"message\",\"cursor\":\"%lld\",\"message\":", (long long)ev->seq);
    buf_append(&ev->ws_frame, ev->msg.data, ev->msg.len);
    buf_putc(&ev->ws_frame, '}');
    ev->is_msg = ev->msg.data && ev->ws_frame.data && m.id[0];
out:
    cJSON_Delete(root);
}

int http__widget_event_for(struct http__widget_event *ev, const char *account_id, const char *session_id)
{
    if (!ev->parsed)
        widget_event_parse(ev);
    return ev->is_msg && strcmp(ev->account_id, account_id) == 0 && strcmp(ev->address, session_id) == 0;
}

void http__widget_event_delivered(struct http_server *srv, struct http__widget_event *ev, const char *tenant_id)
{
    const char *ids[1];
    if (!ev->is_msg || !ev->outbound || ev->marked || !srv->app->messaging)
        return;
    ev->marked = 1;
    ids[0] = ev->message_id;
    messaging_webchat_delivered(srv->app->messaging, tenant_id, ev->account_id, ids, 1);
}

/* ------------------------------------------------------------ long-polls */

/* Under ws_mu: take w off the wait list onto the answer list. */
static void wait_done(struct http_server *srv, struct http_widget_wait **pp)
{
    struct http_widget_wait *w = *pp;
    *pp = w->next;
    srv->nwwaits--;
    w->next = srv->wdone;
    srv->wdone = w;
}

static void wait_empty(struct http_widget_wait *w, int64_t cursor, int resync)
{
    buf_reset(&w->resp);
    buf_printf(&w->resp, "{\"data\":[],\"cursor\":\"%lld\"%s}", (long long)cursor, resync ? ",\"resync\":true" : "");
}

int http__widget_waits_round(struct http_server *srv, uint64_t round, struct http_ws_tenant **v, int *count,
                             int *cap)
{
    int64_t now = time_mono_ns();
    for (struct http_widget_wait **pp = &srv->wwaits; *pp;) {
        struct http_widget_wait *w = *pp;
        if (now >= w->deadline_ns || srv->ws_stopping) {
            wait_empty(w, w->last_seq, 0);
            wait_done(srv, pp);
            continue;
        }
        pp = &w->next;
        w->round = round;
        int i = 0;
        while (i < *count && strcmp((*v)[i].tenant_id, w->tenant_id) != 0)
            i++;
        if (i < *count) {
            if (w->last_seq < (*v)[i].min_seq)
                (*v)[i].min_seq = w->last_seq;
            if (w->last_seq > (*v)[i].max_seq)
                (*v)[i].max_seq = w->last_seq;
            continue;
        }
        if (*count == *cap) {
            int ncap = *cap ? *cap * 2 : 16;
            struct http_ws_tenant *nv = realloc(*v, (size_t)ncap * sizeof *nv);
            if (!nv)
                return ERR_NOMEM;
            *v = nv;
            *cap = ncap;
        }
        snprintf((*v)[*count].tenant_id, sizeof (*v)[*count].tenant_id, "%s", w->tenant_id);
        (*v)[*count].min_seq = (*v)[*count].max_seq = w->last_seq;
        (*count)++;
    }
    return 0;
}

void http__widget_waits_deliver(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t seq,
                                struct http__widget_event *ev)
{
    for (struct http_widget_wait **pp = &srv->wwaits; *pp;) {
        struct http_widget_wait *w = *pp;
        if (w->round != round || w->last_seq != seq - 1 || strcmp(w->tenant_id, tenant_id) != 0) {
            pp = &w->next;
            continue;
        }
        w->last_seq = seq;
        if (!http__widget_event_for(ev, w->account_id, w->session_id)) {
            pp = &w->next;
            continue;
        }
        buf_reset(&w->resp);
        buf_puts(&w->resp, "{\"data\":[");
        buf_append(&w->resp, ev->msg.data, ev->msg.len);
        buf_printf(&w->resp, "],\"cursor\":\"%lld\"}", (long long)seq);
        http__widget_event_delivered(srv, ev, w->tenant_id);
        wait_done(srv, pp);
    }
}

void http__widget_waits_resync(struct http_server *srv, uint64_t round, const char *tenant_id, int64_t after_seq,
                               int64_t first_seq, int64_t last_seq)
{
    for (struct http_widget_wait **pp = &srv->wwaits; *pp;) {
        struct http_widget_wait *w = *pp;
        if (w->round != round || w->last_seq < after_seq || w->last_seq >= first_seq - 1 ||
            strcmp(w->tenant_id, tenant_id) != 0) {
            pp = &w->next;
            continue;
        }
        wait_empty(w, last_seq, 1);
        wait_done(srv, pp);
    }
}

void http__widget_waits_answer(struct http_server *srv)
{
    struct http_widget_wait *list;
    pthread_mutex_lock(&srv->ws_mu);
    list = srv->wdone;
    srv->wdone = NULL;
    pthread_mutex_unlock(&srv->ws_mu);
    while (list) {
        struct http_widget_wait *w = list;
        list = w->next;
        http__complete(w->defer, 200, "application/json", w->resp.data ? w->resp.data : "{}",
                       w->resp.data ? w->resp.len : 2);
        buf_free(&w->resp);
        free(w);
    }
}

void http__widget_waits_finish(struct http_server *srv)
{
    pthread_mutex_lock(&srv->ws_mu);
    while (srv->wwaits) {
        wait_empty(srv->wwaits, srv->wwaits->last_seq, 0);
        wait_done(srv, &srv->wwaits);
    }
    pthread_mutex_unlock(&srv->ws_mu);
    http__widget_waits_answer(srv);
}
