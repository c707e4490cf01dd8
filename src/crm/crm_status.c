/*
 * crm status: the outbound message status machine and its application.
 *
 * queued -> sent -> delivered -> read, forward only (steps may be skipped);
 * failed and undelivered end a message and apply only before delivery
 * (from queued or sent). Providers report out of order and more than once,
 * so the machine decides on the current status, never on arrival order,
 * and every report is kept in message_events whether it moved the message
 * or not. The read-modify-write happens on a row locked in the caller's
 * write transaction, so concurrent reports for one message serialise.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "crm/crm.h"

enum st {
    ST_UNKNOWN = 0,
    ST_RECEIVED,
    ST_QUEUED,
    ST_SENT,
    ST_DELIVERED,
    ST_READ,
    ST_FAILED,
    ST_UNDELIVERED,
};

static const char *const st_names[] = {NULL, "received", "queued", "sent", "delivered", "read", "failed",
                                       "undelivered"};

/* Provider words and what they mean. */
static const struct {
    const char *word;
    enum st st;
} st_words[] = {
    {"queued", ST_QUEUED},       {"accepted", ST_QUEUED},     {"scheduled", ST_QUEUED},
    {"sending", ST_QUEUED},      {"sent", ST_SENT},           {"delivered", ST_DELIVERED},
    {"read", ST_READ},           {"failed", ST_FAILED},       {"canceled", ST_FAILED},
    {"undelivered", ST_UNDELIVERED}, {"received", ST_RECEIVED}, {"receiving", ST_RECEIVED},
};

static enum st st_of(const char *s)
{
    if (!s)
        return ST_UNKNOWN;
    for (size_t i = 0; i < sizeof(st_words) / sizeof(st_words[0]); i++)
        if (strcasecmp(s, st_words[i].word) == 0)
            return st_words[i].st;
    return ST_UNKNOWN;
}

static int st_terminal(enum st s)
{
    return s == ST_FAILED || s == ST_UNDELIVERED;
}

/* On the forward chain queued < sent < delivered < read. */
static int st_forward(enum st s)
{
    return s >= ST_QUEUED && s <= ST_READ;
}

const char *crm_status_canonical(const char *provider_status)
{
    return st_names[st_of(provider_status)];
}

static int st_moves(enum st cur, enum st inc)
{
    if (cur == ST_UNKNOWN || inc == ST_UNKNOWN || cur == ST_RECEIVED || st_terminal(cur))
        return 0;
    if (st_terminal(inc))
        return cur == ST_QUEUED || cur == ST_SENT;
    if (inc == ST_RECEIVED)
        return 0;
    return inc > cur;
}

int crm_status_moves(const char *current, const char *incoming)
{
    return st_moves(st_of(current), st_of(incoming));
}

/* The time column a status fills, or NULL (queued: created_at says it). */
static int64_t *st_column(struct store_message_state *m, enum st s)
{
    switch (s) {
    case ST_SENT:
        return &m->sent_at;
    case ST_DELIVERED:
        return &m->delivered_at;
    case ST_READ:
        return &m->read_at;
    case ST_FAILED:
    case ST_UNDELIVERED:
        return &m->failed_at;
    default:
        return NULL;
    }
}

/* A report that does not move the message may still record when the
 * message reached that point, if it did: a forward status at or behind the
 * current one, or "sent" behind a failure. A failure that came too late
 * leaves no failed_at on a delivered message. */
static int st_late_fill(enum st cur, enum st inc)
{
    if (inc != ST_SENT && inc != ST_DELIVERED && inc != ST_READ)
        return 0;
    if (st_forward(cur))
        return inc <= cur;
    return st_terminal(cur) && inc == ST_SENT;
}

/* Decide and write one report on the locked state st. set_provider_id
 * (may be NULL) replaces the message's provider id. */
static int apply_locked(struct store_tx *tx, const char *tenant_id, struct store_message_state *st,
                        const char *reported, const char *set_provider_id, const char *error_code,
                        const char *error_text, int64_t provider_ts, int64_t received_at,
                        struct crm_status_result *out, struct err *e)
{
    enum st cur = st_of(st->status), inc = st_of(reported);
    int64_t at = provider_ts > 0 ? provider_ts : received_at, *col = st_column(st, inc);
    int moved = st_moves(cur, inc), write = 0, rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->message_id, sizeof(out->message_id), "%s", st->id);
    snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", st->conversation_id);
    snprintf(out->previous, sizeof(out->previous), "%s", st->status);
    if (moved) {
        snprintf(st->status, sizeof(st->status), "%s", st_names[inc]);
        if (col && *col == 0)
            *col = at;
        write = 1;
    } else if (col && *col == 0 && st_late_fill(cur, inc)) {
        *col = at;
        write = 1;
    }
    if (set_provider_id && *set_provider_id && strcmp(set_provider_id, st->provider_message_id) != 0) {
        snprintf(st->provider_message_id, sizeof(st->provider_message_id), "%s", set_provider_id);
        write = 1;
    }
    rc = store_message_event_insert(tx, tenant_id, st->id, inc != ST_UNKNOWN ? st_names[inc] : reported,
                                    provider_ts, received_at, error_code, error_text, moved, e);
    if (rc == 0 && write) {
        int failure = moved && st_terminal(inc);
        rc = store_message_state_write(tx, tenant_id, st, failure ? error_code : NULL, failure ? error_text : NULL,
                                       time_now_ms(), e);
    }
    if (rc)
        return rc;
    snprintf(out->status, sizeof(out->status), "%s", st->status);
    out->applied = moved;
    return 0;
}

int crm_status_apply(struct store_tx *tx, const char *tenant_id, const struct crm_status_update *u,
                     struct crm_status_result *out, struct err *e)
{
    struct store_message_state st;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!u->account_id || !*u->account_id || !u->provider_message_id || !*u->provider_message_id ||
        !u->status || !*u->status)
        return err_set(e, ERR_INVALID, "invalid_request",
                       "a status report needs an account, a provider message id and a status");
    rc = store_message_state_by_provider(tx, tenant_id, u->account_id, u->provider_message_id, 1, &st, e);
    if (rc)
        return rc;
    return apply_locked(tx, tenant_id, &st, u->status, NULL, u->error_code, u->error_text, u->provider_ts,
                        u->received_at > 0 ? u->received_at : time_now_ms(), out, e);
}

int crm_outbound_sent(struct store_tx *tx, const char *tenant_id, const char *message_id,
                      const char *provider_message_id, const char *provider_status, int64_t at,
                      struct crm_status_result *out, struct err *e)
{
    struct store_message_state st;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!provider_message_id || !*provider_message_id)
        return err_set(e, ERR_INVALID, "invalid_request", "a sent message needs its provider message id");
    if (strlen(provider_message_id) >= sizeof(st.provider_message_id))
        return err_set(e, ERR_INVALID, "invalid_request", "the provider message id is too long");
    rc = store_message_state_by_id(tx, tenant_id, message_id, 1, &st, e);
    if (rc)
        return rc;
    return apply_locked(tx, tenant_id, &st, provider_status && *provider_status ? provider_status : "queued",
                        provider_message_id, NULL, NULL, 0, at > 0 ? at : time_now_ms(), out, e);
}

int crm_outbound_failed(struct store_tx *tx, const char *tenant_id, const char *message_id,
                        const char *error_code, const char *error_text, int64_t at,
                        struct crm_status_result *out, struct err *e)
{
    struct store_message_state st;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_message_state_by_id(tx, tenant_id, message_id, 1, &st, e);
    if (rc)
        return rc;
    return apply_locked(tx, tenant_id, &st, "failed", NULL, error_code, error_text, 0, at > 0 ? at : time_now_ms(),
                        out, e);
}
