/*
 * messaging_inbox: what the inbox does besides reading: an agent marking a
 * conversation read (its unread counter to 0 and a conversation.read
 * realtime event, one transaction, so every open dashboard drops its badge
 * at once), and checking a channel account's credentials with its provider
 * (the adapter's test_connection), audited.
 *
 * The unread count is a counter on the conversation (conversations.unread):
 * the inbound job adds one per new customer message, an agent's read or
 * reply sets it to 0.
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

int messaging__conversation_read_tx(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                    struct messaging__events *ev, struct err *e)
{
    struct buf b = {0};
    int64_t before = 0;
    int rc;

    if ((rc = crm_conversation_mark_read(tx, tenant_id, conversation_id, &before, e)) || before == 0)
        return rc;
    buf_puts(&b, "{\"conversation_id\":");
    buf_json_str(&b, conversation_id);
    buf_puts(&b, ",\"unread_count\":0}");
    messaging__events_add(ev, tenant_id, "conversation.read", buf_steal(&b));
    return 0;
}

struct read_op {
    const char *tenant_id;
    const char *conversation_id;
    struct messaging__events ev;
    int published;
};

static int read_op_run(void *ud, struct store_tx *tx, struct err *e)
{
    struct read_op *op = ud;
    int rc;

    messaging__events_truncate(&op->ev, 0); /* a retried batch starts over */
    if ((rc = messaging__conversation_read_tx(tx, op->tenant_id, op->conversation_id, &op->ev, e)))
        return rc;
    op->published = op->ev.n > 0;
    return messaging__events_flush(&op->ev, tx, e);
}

int messaging_conversation_read(struct messaging *m, const char *tenant_id, const char *conversation_id,
                                struct err *e)
{
    struct read_op op = {tenant_id, conversation_id, {0}, 0};
    struct store_tx tx;
    int rc;

    if (!conversation_id || !*conversation_id)
        return err_set(e, ERR_NOTFOUND, NULL, "conversation not found");
    if (m->writer) {
        rc = store_writer_run(m->writer, read_op_run, &op, e);
    } else if ((rc = store_tx_begin(m->db, &tx, e)) == 0) {
        if ((rc = read_op_run(&op, &tx, e)))
            store_tx_rollback(&tx);
        else
            rc = store_tx_commit(&tx, e);
    }
    messaging__events_free(&op.ev);
    if (rc == 0 && op.published)
        messaging__notify(m);
    return rc;
}

/* ------------------------------------------------------- test connection */

int messaging_account_test(struct messaging *m, const char *tenant_id, const char *account_id,
                           const char *actor_type, const char *actor_id, const char *ip,
                           struct channel_test_result *out, struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    struct buf details = {0};
    struct err pe = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = messaging_account_get(m, tenant_id, account_id, &ref, e)))
        return rc;
    if (!ref->adapter->test_connection) {
        out->ok = 1;
        snprintf(out->detail, sizeof(out->detail), "%s accounts have no provider credentials to check",
                 ref->acct.provider);
    } else if (ref->adapter->test_connection(messaging_channel_env(m), &ref->creds, out, &pe) != 0) {
        /* Unreachable or timed out: an answer about the provider, not a failure of ours. */
        out->ok = 0;
        if (!out->detail[0])
            snprintf(out->detail, sizeof(out->detail), "%s", pe.msg[0] ? pe.msg : "the provider could not be reached");
        if (!out->code[0])
            snprintf(out->code, sizeof(out->code), "%s", err_slug(&pe));
    }
    buf_printf(&details, "{\"provider\":");
    buf_json_str(&details, ref->acct.provider);
    buf_printf(&details, ",\"ok\":%s,\"code\":", out->ok ? "true" : "false");
    buf_json_str(&details, out->code[0] ? out->code : NULL);
    buf_printf(&details, ",\"http_status\":%d}", out->http_status);
    rc = ops_audit(m->db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "", "channel.test",
                   ref->acct.id, ip ? ip : "", details.data, e);
    buf_free(&details);
    messaging_account_release(ref);
    return rc;
}
