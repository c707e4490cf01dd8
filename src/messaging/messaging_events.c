/*
 * messaging_events: what the pipeline shares: realtime events collected
 * during a transaction, the message.status event shape, and queueing an
 * outbound message (row, job, event) inside a caller's transaction, which
 * the outbound API and the HELP auto-reply both use.
 *
 * Events are appended last, just before the commit, because the event-log
 * lock they take is held until the transaction ends; an item of a batch
 * that is undone drops its events with it.
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

void messaging__events_add(struct messaging__events *ev, const char *tenant_id, const char *type, char *data)
{
    if (!data)
        return;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 16;
        struct messaging__event *v = realloc(ev->v, cap * sizeof(*v));
        if (!v) {
            free(data); /* a lost realtime event: clients resync from the API */
            return;
        }
        ev->v = v;
        ev->cap = cap;
    }
    snprintf(ev->v[ev->n].tenant_id, sizeof(ev->v[ev->n].tenant_id), "%s", tenant_id);
    ev->v[ev->n].type = type;
    ev->v[ev->n].data = data;
    ev->n++;
}

void messaging_hook_event(struct messaging_hook_events *ev, const char *tenant_id, const char *type, char *data)
{
    messaging__events_add(ev->ev, tenant_id, type, data);
}

void messaging_set_inbound_hook(struct messaging *m, messaging_inbound_hook_fn fn, void *ud)
{
    m->inbound_hook = fn;
    m->inbound_hook_ud = ud;
}

void messaging__events_truncate(struct messaging__events *ev, size_t n)
{
    while (ev->n > n)
        free(ev->v[--ev->n].data);
}

int messaging__events_flush(struct messaging__events *ev, struct store_tx *tx, struct err *e)
{
    int rc = 0;

    for (size_t i = 0; i < ev->n && rc == 0; i++)
        rc = ops_event_append(tx, ev->v[i].tenant_id, ev->v[i].type, ev->v[i].data, NULL, e);
    messaging__events_truncate(ev, 0);
    return rc;
}

void messaging__events_free(struct messaging__events *ev)
{
    messaging__events_truncate(ev, 0);
    free(ev->v);
    ev->v = NULL;
    ev->cap = 0;
}

int messaging__write(struct messaging *m, store_write_fn fn, void *ud, struct err *e)
{
    struct store_tx tx;
    int rc;

    if (m->writer)
        return store_writer_run_background(m->writer, fn, ud, e);
    if ((rc = store_tx_begin(m->db, &tx, e)))
        return rc;
    if ((rc = fn(ud, &tx, e))) {
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, e);
}

void messaging__notify(struct messaging *m)
{
    if (m->notify)
        m->notify(m->notify_ud);
}

static int message_json_cb(void *ud, const struct store_message *msg)
{
    crm_message_json(ud, msg);
    return 0;
}

int messaging__message_json_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, struct buf *b,
                               struct err *e)
{
    buf_reset(b);
    return crm_message_get_tx(tx, tenant_id, message_id, message_json_cb, b, e);
}

void messaging__status_event(struct messaging__events *ev, const char *tenant_id, const struct crm_status_result *sr,
                             const char *error_code, const char *error_text, int64_t provider_ts,
                             int64_t received_at)
{
    struct buf b = {0};

    buf_puts(&b, "{\"message_id\":");
    buf_json_str(&b, sr->message_id);
    buf_puts(&b, ",\"conversation_id\":");
    buf_json_str(&b, sr->conversation_id);
    buf_puts(&b, ",\"status\":");
    buf_json_str(&b, sr->status);
    buf_puts(&b, ",\"previous_status\":");
    buf_json_str(&b, sr->previous);
    buf_puts(&b, ",\"error\":");
    if ((error_code && *error_code) || (error_text && *error_text)) {
        buf_puts(&b, "{\"code\":");
        buf_json_str(&b, error_code && *error_code ? error_code : NULL);
        buf_puts(&b, ",\"text\":");
        buf_json_str(&b, error_text && *error_text ? error_text : NULL);
        buf_putc(&b, '}');
    } else {
        buf_puts(&b, "null");
    }
    buf_puts(&b, ",\"provider_ts\":");
    buf_json_time(&b, provider_ts);
    buf_puts(&b, ",\"received_at\":");
    buf_json_time(&b, received_at);
    buf_putc(&b, '}');
    messaging__events_add(ev, tenant_id, "message.status", buf_steal(&b));
}

int messaging__queue_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id, const struct crm_outbound *o,
                        struct crm_record_result *out, struct messaging__events *ev, struct err *e)
{
    return messaging__queue_at_tx(m, tx, tenant_id, o, 0, out, ev, e);
}

int messaging__queue_at_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id,
                           const struct crm_outbound *o, int64_t delay_ms, struct crm_record_result *out,
                           struct messaging__events *ev, struct err *e)
{
    struct buf b = {0};
    int rc;

    if ((rc = crm_outbound_create(tx, tenant_id, o, out, e)) || out->duplicate)
        return rc;
    buf_puts(&b, "{\"message_id\":");
    buf_json_str(&b, out->message_id);
    buf_putc(&b, '}');
    /* The message id is the job's idempotency key: one send job per message. */
    rc = queue_push_tx(m->queue, tx, tenant_id, MESSAGING_JOB_SEND, b.data, out->message_id, delay_ms > 0 ? delay_ms : 0,
                       NULL, NULL, e);
    if (rc == 0 && (rc = messaging__message_json_tx(tx, tenant_id, out->message_id, &b, e)) == 0)
        messaging__events_add(ev, tenant_id, "message.created", buf_steal(&b));
    buf_free(&b);
    return rc;
}
