/*
 * messaging_webchat: the website chat channel's side of the messaging core:
 * the widget account's settings, visitor sessions (a secret the widget
 * keeps; only its SHA-256 is stored), visitor messages into the inbound
 * pipeline, the session's message history, and "delivered" marks.
 *
 * A visitor message is stored exactly like a provider webhook's event: the
 * normalised event (channel_event_json) as an inbound_events row, unique
 * per account and event id, and an inbound.process job, in one commit; the
 * job then records contact, conversation and message as for every channel.
 * Delivered marks travel the same way as status events, so the status
 * machine, history and realtime events are the ones providers' callbacks
 * use. A session's e-mail links it to a contact at once (the contact that
 * has the e-mail identity, or a new one); the visitor still sees only its
 * own session's messages (store_webchat_messages).
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

#define WEBCHAT_NAME_MAX 127
#define WEBCHAT_TOUCH_MS (5LL * 60 * 1000) /* last_seen_at is kept to this precision */

int messaging_webchat_account(struct messaging *m, const char *token, const struct messaging_account_ref **out,
                              struct err *e)
{
    *out = NULL;
    if (!token || !*token || strlen(token) > 63)
        return err_set(e, ERR_NOTFOUND, "unknown_widget_token", "no website chat has this widget token");
    int rc = messaging_account_by_key(m, "webchat", token, out, e);
    if (rc == ERR_NOTFOUND)
        err_set(e, ERR_NOTFOUND, "unknown_widget_token", "no website chat has this widget token");
    return rc;
}

int messaging_webchat_origin_allowed(const struct messaging_account_ref *ref, const char *origin)
{
    return messaging__webchat_origin_in(channel_creds_get(&ref->creds, "allowed_origins"), origin);
}

void messaging_webchat_config_json(const struct messaging_account_ref *ref, struct buf *b)
{
    buf_puts(b, "{\"title\":");
    buf_json_str(b, channel_creds_get(&ref->creds, "title"));
    buf_puts(b, ",\"greeting\":");
    buf_json_str(b, channel_creds_get(&ref->creds, "greeting"));
    buf_puts(b, ",\"color\":");
    buf_json_str(b, channel_creds_get(&ref->creds, "color"));
    buf_printf(b, ",\"max_text_length\":%d}", MESSAGING_WEBCHAT_TEXT_MAX);
}

/* ------------------------------------------------------------- sessions */

struct start_op {
    const char *tenant_id;
    struct store_webchat_session *s;
    const char *email;
};

/* The contact owning the e-mail identity, else a new one with it; then the
 * session's own identity joins it. Inside the writer's transaction. */
static int start_run(void *ud, struct store_tx *tx, struct err *e)
{
    struct start_op *op = ud;
    struct store_webchat_session *s = op->s;
    int64_t now = s->created_at;
    int rc, dup = 0, exact = 0;

    if (op->email) {
        char contact_id[CORE_ID_MAX] = "";
        rc = store_identity_find(tx, op->tenant_id, "email", NULL, op->email, contact_id, NULL, 0, &exact, e);
        if (rc == ERR_NOTFOUND) {
            err_clear(e);
            if ((rc = store_contact_insert(tx, op->tenant_id, contact_id, s->name, now, e)) ||
                (rc = store_identity_insert(tx, op->tenant_id, "email", op->email, contact_id, now, &dup, e)))
                return rc;
            if (dup) {
                /* Another session created it meanwhile: join that contact. */
                if ((rc = store_contact_delete(tx, op->tenant_id, contact_id, e)) ||
                    (rc = store_identity_find(tx, op->tenant_id, "email", NULL, op->email, contact_id, NULL, 0,
                                              &exact, e)))
                    return rc;
            }
        } else if (rc) {
            return rc;
        } else if (s->name[0] && (rc = store_contact_fill_name(tx, op->tenant_id, contact_id, s->name, now, e))) {
            return rc;
        }
        if ((rc = store_identity_insert(tx, op->tenant_id, "webchat", s->id, contact_id, now, &dup, e)))
            return rc;
        snprintf(s->contact_id, sizeof(s->contact_id), "%s", contact_id);
    }
    return store_webchat_session_insert(tx, op->tenant_id, s, e);
}

/* A write in the group commit's foreground (the caller waits), or a
 * transaction of its own without a writer. */
static int write_now(struct messaging *m, store_write_fn fn, void *ud, struct err *e)
{
    struct store_tx tx;
    int rc;

    if (m->writer)
        return store_writer_run(m->writer, fn, ud, e);
    if ((rc = store_tx_begin(m->db, &tx, e)))
        return rc;
    if ((rc = fn(ud, &tx, e))) {
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, e);
}

static void session_out(struct messaging_webchat_session *out, const char *tenant_id,
                        const struct store_webchat_session *s)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", s->id);
    snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", tenant_id);
    snprintf(out->account_id, sizeof(out->account_id), "%s", s->account_id);
    snprintf(out->contact_id, sizeof(out->contact_id), "%s", s->contact_id);
    snprintf(out->name, sizeof(out->name), "%s", s->name);
    snprintf(out->email, sizeof(out->email), "%s", s->email);
    out->created_at = s->created_at;
    out->last_seen_at = s->last_seen_at;
}

int messaging_webchat_start(struct messaging *m, const struct messaging_account_ref *ref, const char *name,
                            const char *email, const char *ip, const char *user_agent,
                            struct messaging_webchat_session *out, char secret[MESSAGING_WEBCHAT_SECRET_MAX],
                            struct err *e)
{
    struct store_webchat_session s;
    struct start_op op = {ref->acct.tenant_id, &s, NULL};
    int rc;

    memset(&s, 0, sizeof(s));
    secret[0] = '\0';
    if (name && (strlen(name) > WEBCHAT_NAME_MAX || !messaging__webchat_text_ok(name, 0)))
        return err_set(e, ERR_INVALID, "invalid_name",
                       "name must be at most 127 bytes of UTF-8 text without control characters");
    if (email && *email) {
        if (crm_normalize_address("email", email, s.email, sizeof(s.email), e) != 0)
            return err_set(e, ERR_INVALID, "invalid_email", "email is not a valid e-mail address");
        op.email = s.email;
    }
    crypto_time_id(s.id, sizeof(s.id), "wcs_", time_now_ms());
    snprintf(s.account_id, sizeof(s.account_id), "%s", ref->acct.id);
    snprintf(s.name, sizeof(s.name), "%s", name ? name : "");
    snprintf(s.ip, sizeof(s.ip), "%s", ip ? ip : "");
    /* The user agent is informational: keep printable ASCII only. */
    for (size_t i = 0, j = 0; user_agent && user_agent[i] && j + 1 < sizeof(s.user_agent); i++)
        if (user_agent[i] >= 0x20 && user_agent[i] < 0x7f)
            s.user_agent[j++] = user_agent[i];
    s.created_at = s.last_seen_at = time_now_ms();
    crypto_random_token(secret, MESSAGING_WEBCHAT_SECRET_MAX, 32);
    crypto_sha256_hex(s.secret_hash, secret, strlen(secret));
    if ((rc = write_now(m, start_run, &op, e))) {
        explicit_bzero(secret, MESSAGING_WEBCHAT_SECRET_MAX);
        return rc;
    }
    session_out(out, ref->acct.tenant_id, &s);
    return 0;
}

int messaging_webchat_session(struct messaging *m, const struct messaging_account_ref *ref, const char *secret,
                              struct messaging_webchat_session *out, struct err *e)
{
    struct store_webchat_session s;
    char hash[65];
    int64_t now = time_now_ms();
    int rc;

    if (!secret || !*secret || strlen(secret) >= MESSAGING_WEBCHAT_SECRET_MAX)
        return err_set(e, ERR_UNAUTHORIZED, "invalid_session", "unknown or expired widget session");
    crypto_sha256_hex(hash, secret, strlen(secret));
    rc = store_webchat_session_by_hash(m->db, ref->acct.tenant_id, ref->acct.id, hash, &s, e);
    if (rc == ERR_NOTFOUND)
        return err_set(e, ERR_UNAUTHORIZED, "invalid_session", "unknown or expired widget session");
    if (rc)
        return rc;
    if (now - s.last_seen_at > WEBCHAT_TOUCH_MS) {
        struct err ignored = {0};
        /* Informational: a failure here must not refuse the visitor. */
        if (store_webchat_session_touch(m->db, ref->acct.tenant_id, s.id, now, &ignored) == 0)
            s.last_seen_at = now;
    }
    session_out(out, ref->acct.tenant_id, &s);
    return 0;
}

/* ------------------------------------------------------- the pipeline */

struct event_op {
    struct messaging *m;
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    struct {
        char *event_id;
        char *payload;
        const char *kind; /* literal */
    } ev[16];
    size_t n;
    int stored;
};

static int event_run(void *ud, struct store_tx *tx, struct err *e)
{
    struct event_op *op = ud;
    char payload[96];
    int rc;

    op->stored = 0;
    for (size_t i = 0; i < op->n; i++) {
        struct store_inbound_event row;
        int inserted = 0;
        memset(&row, 0, sizeof(row));
        snprintf(row.account_id, sizeof(row.account_id), "%s", op->account_id);
        row.event_id = op->ev[i].event_id;
        snprintf(row.kind, sizeof(row.kind), "%s", op->ev[i].kind);
        row.payload = op->ev[i].payload;
        row.received_at = time_now_ms();
        if ((rc = store_inbound_insert(tx, op->tenant_id, &row, &inserted, e)))
            return rc;
        if (!inserted)
            continue;
        snprintf(payload, sizeof(payload), "{\"inbound_event\":\"%s\"}", row.id);
        if ((rc = queue_push_tx(op->m->queue, tx, op->tenant_id, MESSAGING_JOB_INBOUND, payload, NULL, 0, NULL, NULL,
                                e)))
            return rc;
        op->stored++;
    }
    return 0;
}

static void event_op_free(struct event_op *op)
{
    if (!op)
        return;
    for (size_t i = 0; i < op->n; i++) {
        free(op->ev[i].event_id);
        free(op->ev[i].payload);
    }
    free(op);
}

/* Add one normalised event to op; ERR_NOMEM. */
static int event_add(struct event_op *op, const struct channel_event *ev, const char *kind)
{
    struct buf b = {0};
    if (op->n == sizeof(op->ev) / sizeof(op->ev[0]))
        return ERR_INVALID;
    channel_event_json(&b, "webchat", ev->event_id, ev, time_now_ms());
    op->ev[op->n].payload = buf_steal(&b);
    op->ev[op->n].event_id = strdup(ev->event_id);
    op->ev[op->n].kind = kind;
    op->n++;
    return op->ev[op->n - 1].payload && op->ev[op->n - 1].event_id ? 0 : ERR_NOMEM;
}

static int valid_client_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= 64;
}

int messaging_webchat_post(struct messaging *m, const struct messaging_webchat_session *s, const char *text,
                           const char *client_id, char id[128], int *duplicate, struct err *e)
{
    struct channel_event ev;
    struct event_op *op = NULL;
    int rc;

    id[0] = '\0';
    *duplicate = 0;
    if (!m->queue)
        return err_set(e, ERR_INTERNAL, NULL, "messaging: no job queue for visitor messages");
    if (!text || !*text || strlen(text) > MESSAGING_WEBCHAT_TEXT_MAX || !messaging__webchat_text_ok(text, 1))
        return err_set(e, ERR_INVALID, "invalid_message",
                       "text must be 1 to 4096 bytes of UTF-8 without control characters other than newlines");
    if (client_id && *client_id) {
        if (!valid_client_id(client_id))
            return err_set(e, ERR_INVALID, "invalid_client_id",
                           "client_id must be 1 to 64 letters, digits, '_' or '-'");
        snprintf(id, 128, "%s/%s", s->id, client_id);
    } else {
        crypto_time_id(id, 128, "wcm_", time_now_ms());
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = CHANNEL_EVENT_MESSAGE;
    ev.event_id = id;
    ev.provider_message_id = id;
    ev.from = s->id;
    ev.to = s->account_id;
    ev.contact_name = s->name[0] ? s->name : NULL;
    ev.type = "text";
    ev.text = text;
    ev.provider_ts = time_now_ms();
    op = calloc(1, sizeof(*op));
    if (!op)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    op->m = m;
    snprintf(op->tenant_id, sizeof(op->tenant_id), "%s", s->tenant_id);
    snprintf(op->account_id, sizeof(op->account_id), "%s", s->account_id);
    if (event_add(op, &ev, "message") != 0) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = write_now(m, event_run, op, e)))
        goto out;
    if (op->stored)
        queue_wake(m->queue);
    *duplicate = op->stored == 0;
out:
    event_op_free(op);
    return rc;
}

static void delivered_done(void *ud, int rc, const struct err *e)
{
    struct event_op *op = ud;
    if (rc) {
        struct log_ctx ctx = {NULL, NULL, op->tenant_id};
        log_warn(&ctx, "website chat: delivered marks not stored: %s", e && e->msg[0] ? e->msg : "database error");
    } else if (op->stored) {
        queue_wake(op->m->queue);
    }
    event_op_free(op);
}

void messaging_webchat_delivered(struct messaging *m, const char *tenant_id, const char *account_id,
                                 const char *const *message_ids, size_t n)
{
    struct event_op *op;
    struct err e = {0};

    if (!m->queue || n == 0)
        return;
    op = calloc(1, sizeof(*op));
    if (!op)
        return;
    op->m = m;
    snprintf(op->tenant_id, sizeof(op->tenant_id), "%s", tenant_id);
    snprintf(op->account_id, sizeof(op->account_id), "%s", account_id);
    for (size_t i = 0; i < n && op->n < sizeof(op->ev) / sizeof(op->ev[0]); i++) {
        struct channel_event ev;
        char event_id[CORE_ID_MAX + 16];
        snprintf(event_id, sizeof(event_id), "delivered:%s", message_ids[i]);
        memset(&ev, 0, sizeof(ev));
        ev.kind = CHANNEL_EVENT_STATUS;
        ev.event_id = event_id;
        ev.provider_message_id = message_ids[i];
        ev.status = "delivered";
        ev.provider_ts = time_now_ms();
        if (event_add(op, &ev, "status") != 0) {
            event_op_free(op);
            return;
        }
    }
    if (m->writer) {
        if (store_writer_submit(m->writer, event_run, delivered_done, op, &e) != 0)
            event_op_free(op); /* shutting down: the marks are informational */
        return;
    }
    delivered_done(op, write_now(m, event_run, op, &e), &e);
}

/* ----------------------------------------------------------- reading */

void messaging_webchat_message_json(struct buf *b, const struct store_message *msg)
{
    int inbound = strcmp(msg->direction, "inbound") == 0;
    const char *sender = "agent";
    if (inbound)
        sender = "visitor";
    else if (strcmp(msg->origin, "assistant") == 0)
        sender = "assistant";
    else if (strcmp(msg->origin, "system") == 0 || strcmp(msg->origin, "campaign") == 0)
        sender = "system";
    buf_puts(b, "{\"id\":");
    buf_json_str(b, msg->id);
    buf_puts(b, ",\"ref\":");
    buf_json_str(b, inbound && msg->provider_message_id[0] ? msg->provider_message_id : NULL);
    buf_puts(b, ",\"sender\":");
    buf_json_str(b, sender);
    buf_puts(b, ",\"type\":");
    buf_json_str(b, msg->type[0] ? msg->type : "text");
    buf_puts(b, ",\"text\":");
    buf_json_str(b, msg->body ? msg->body : "");
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, msg->created_at);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, msg->status);
    buf_putc(b, '}');
}

struct history {
    struct buf *b;
    int n;
    char ids[100][CORE_ID_MAX]; /* outbound messages not yet marked delivered */
    size_t nids;
};

static int history_cb(void *ud, const struct store_message *msg)
{
    struct history *h = ud;
    if (h->n++)
        buf_putc(h->b, ',');
    messaging_webchat_message_json(h->b, msg);
    if (strcmp(msg->direction, "outbound") == 0 &&
        (strcmp(msg->status, "queued") == 0 || strcmp(msg->status, "sent") == 0) &&
        h->nids < sizeof(h->ids) / sizeof(h->ids[0]))
        snprintf(h->ids[h->nids++], CORE_ID_MAX, "%s", msg->id);
    return 0;
}

int messaging_webchat_history(struct messaging *m, const struct messaging_webchat_session *s, int limit,
                              struct buf *b, struct err *e)
{
    struct history *h = calloc(1, sizeof(*h));
    int rc;

    if (!h)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    h->b = b;
    if (limit < 1 || limit > 100)
        limit = 100;
    buf_putc(b, '[');
    rc = store_webchat_messages(m->db, s->tenant_id, s->account_id, s->id, limit, history_cb, h, e);
    buf_putc(b, ']');
    /* Handed to the widget: delivered (16 per operation). */
    for (size_t i = 0; rc == 0 && i < h->nids; i += 16) {
        const char *ids[16];
        size_t n = 0;
        for (; n < 16 && i + n < h->nids; n++)
            ids[n] = h->ids[i + n];
        messaging_webchat_delivered(m, s->tenant_id, s->account_id, ids, n);
    }
    free(h);
    return rc;
}
