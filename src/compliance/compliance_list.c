/*
 * compliance_list: the changes people make to the lists, and the review
 * queue.
 *
 * Manual additions, removals and imports of suppressions and the
 * resolution of review items are audited in the tenant's hash-chained log
 * (the global list has no tenant: its changes, made only by the operator's
 * CLI, are logged instead). Automatic entries (bounces, complaints, blocks,
 * unsubscribe links) carry their source in the row itself; an unsubscribe
 * is also audited, as the recipient ("recipient") from the link's ip.
 */
#include <stdio.h>
#include <string.h>

#include "compliance/compliance.h"

static int audit(struct store *db, const char *tenant_id, const char *actor_type, const char *actor_id,
                 const char *action, const char *channel, const char *address, const char *ip, const char *details,
                 struct err *e)
{
    char target[16 + STORE_ADDRESS_MAX + 2];

    snprintf(target, sizeof(target), "%s:%s", channel, address);
    if (!tenant_id || !*tenant_id) {
        log_info(NULL, "global suppression list: %s %s by %s %s", action, channel, actor_type ? actor_type : "system",
                 actor_id ? actor_id : "");
        return 0;
    }
    return ops_audit(db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "", action, target,
                     ip ? ip : "", details, e);
}

int compliance_suppression_add(struct store *db, const char *tenant_id, const char *channel, const char *address,
                               const char *source, const char *reason, const char *actor_type, const char *actor_id,
                               const char *ip, struct store_suppression *out, struct err *e)
{
    struct store_tx tx;
    struct buf details = {0};
    int found = 0, rc;
    int64_t now = time_now_ms();

    if (!compliance_channel_valid(channel, 1))
        return err_set(e, ERR_INVALID, "invalid_channel", "channel must be one of sms, whatsapp, email, telegram, "
                                                          "instagram, webchat, voice or * (every channel)");
    if (reason && strlen(reason) > 255)
        return err_set(e, ERR_INVALID, "invalid_suppression", "reason is longer than 255 bytes");
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = compliance_suppress(&tx, tenant_id, channel, address, source, reason, actor_id, now, e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    buf_puts(&details, "{\"source\":");
    buf_json_str(&details, source);
    buf_putc(&details, '}');
    rc = audit(db, tenant_id, actor_type, actor_id, "suppression.add", channel, address, ip, details.data, e);
    buf_free(&details);
    if (rc == 0 && out) {
        struct store_suppression s;
        memset(out, 0, sizeof(*out));
        /* What the list now holds for exactly this entry. */
        if ((rc = compliance_suppression_find(db, tenant_id, channel, address, &s, &found, e)) == 0 && found)
            *out = s;
    }
    return rc;
}

int compliance_suppression_remove(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                  const char *actor_type, const char *actor_id, const char *ip, struct err *e)
{
    struct store_tx tx;
    struct store_suppression old;
    struct buf details = {0};
    int removed = 0, rc;

    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = store_suppression_delete(&tx, tenant_id, channel, address, &old, &removed, e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    if (!removed)
        return err_set(e, ERR_NOTFOUND, "suppression_not_found", "no such entry on the suppression list");
    buf_puts(&details, "{\"source\":");
    buf_json_str(&details, old.source);
    buf_putc(&details, '}');
    rc = audit(db, tenant_id, actor_type, actor_id, "suppression.remove", channel, address, ip, details.data, e);
    buf_free(&details);
    return rc;
}

int compliance_suppression_import(struct store *db, const char *tenant_id, const struct compliance_import_line *lines,
                                  size_t n, const char *actor_type, const char *actor_id, const char *ip,
                                  size_t *out_added, struct err *e)
{
    struct store_tx tx;
    char details[64];
    int64_t now = time_now_ms();
    int rc;

    *out_added = 0;
    if (n == 0)
        return 0;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = compliance_suppress(&tx, tenant_id, lines[i].channel, lines[i].address, "import", lines[i].reason,
                                      actor_id, now, e))) {
            store_tx_rollback(&tx);
            return rc;
        }
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    *out_added = n;
    snprintf(details, sizeof(details), "{\"entries\":%zu}", n);
    if (!tenant_id || !*tenant_id) {
        log_info(NULL, "global suppression list: %zu entries imported", n);
        return 0;
    }
    return ops_audit(db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                     "suppression.import", "", ip ? ip : "", details, e);
}

int compliance_suppression_list(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                const char *source, int64_t before_at, const char *before_channel,
                                const char *before_address, int limit, store_suppression_cb cb, void *ud,
                                struct err *e)
{
    return store_suppression_list(db, tenant_id ? tenant_id : "", channel, address, source, before_at, before_channel,
                                  before_address, limit, cb, ud, e);
}

int compliance_review_list(struct store *db, const char *tenant_id, const char *status, const char *before_id,
                           int limit, store_review_cb cb, void *ud, struct err *e)
{
    return store_review_list(db, tenant_id, status, before_id, limit, cb, ud, e);
}

void compliance_suppression_json(struct buf *b, const struct store_suppression *s)
{
    buf_puts(b, "{\"channel\":");
    buf_json_str(b, s->channel);
    buf_puts(b, ",\"address\":");
    buf_json_str(b, s->address);
    buf_puts(b, ",\"reason\":");
    buf_json_str(b, s->reason);
    buf_puts(b, ",\"source\":");
    buf_json_str(b, s->source);
    buf_puts(b, ",\"created_by\":");
    buf_json_str(b, s->created_by[0] ? s->created_by : NULL);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, s->created_at);
    buf_puts(b, s->tenant_id[0] ? ",\"scope\":\"tenant\"}" : ",\"scope\":\"global\"}");
}

int compliance_unsubscribe_apply(struct store *db, const struct compliance_unsubscribe *u, const char *ip,
                                 struct err *e)
{
    struct store_tx tx;
    char reason[64];
    int rc;

    snprintf(reason, sizeof(reason), "unsubscribe link");
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = compliance_suppress(&tx, u->tenant_id, u->channel, u->address, "unsubscribe_link", reason, NULL,
                             time_now_ms(), e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    /* The recipient's request is honoured whatever happens to its audit row. */
    struct err ae = {0};
    if (audit(db, u->tenant_id, "recipient", "", "suppression.unsubscribe", u->channel, u->address, ip,
              "{\"source\":\"unsubscribe_link\"}", &ae) != 0) {
        struct log_ctx lc = {NULL, NULL, u->tenant_id};
        log_error(&lc, "unsubscribe recorded, its audit row not: %s", ae.msg);
    }
    return 0;
}

/* ---------------------------------------------------------- review queue */

int compliance_review_add(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *channel,
                          const char *address, const char *message_id, const char *text, const char *phrase,
                          int64_t now, struct err *e)
{
    struct store_review r;
    size_t n;

    memset(&r, 0, sizeof(r));
    crypto_time_id(r.id, sizeof(r.id), "crv", now);
    snprintf(r.account_id, sizeof(r.account_id), "%s", account_id ? account_id : "");
    snprintf(r.channel, sizeof(r.channel), "%s", channel ? channel : "");
    snprintf(r.address, sizeof(r.address), "%s", address ? address : "");
    snprintf(r.message_id, sizeof(r.message_id), "%s", message_id ? message_id : "");
    snprintf(r.phrase, sizeof(r.phrase), "%s", phrase ? phrase : "");
    /* The excerpt stops at a character boundary. */
    n = strlen(text ? text : "");
    if (n >= sizeof(r.excerpt))
        n = sizeof(r.excerpt) - 1;
    while (n > 0 && n < strlen(text) && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(r.excerpt, text ? text : "", n);
    r.excerpt[n] = '\0';
    r.created_at = now;
    return store_review_put(tx, tenant_id, &r, NULL, e);
}

int compliance_review_resolve(struct store *db, const char *tenant_id, const char *id, const char *action,
                              const char *actor_type, const char *actor_id, const char *ip, struct store_review *out,
                              struct err *e)
{
    struct store_tx tx;
    char details[96];
    int opt_out, rc;
    int64_t now = time_now_ms();

    if (!action || (strcmp(action, "opt_out") != 0 && strcmp(action, "dismiss") != 0))
        return err_set(e, ERR_INVALID, "invalid_action", "action must be \"opt_out\" or \"dismiss\"");
    opt_out = strcmp(action, "opt_out") == 0;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = store_review_resolve(&tx, tenant_id, id, opt_out ? "opted_out" : "dismissed", actor_id, now, out, e);
    if (rc == 0 && opt_out)
        rc = compliance_opt_out(&tx, tenant_id, out->account_id, out->address, "", "manual", now, e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    snprintf(details, sizeof(details), "{\"review\":\"%s\",\"action\":\"%s\"}", out->id, action);
    return audit(db, tenant_id, actor_type, actor_id, "compliance.review.resolve", out->channel, out->address, ip,
                 details, e);
}

void compliance_review_json(struct buf *b, const struct store_review *r)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, r->id);
    buf_puts(b, ",\"account_id\":");
    buf_json_str(b, r->account_id);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, r->channel);
    buf_puts(b, ",\"address\":");
    buf_json_str(b, r->address);
    buf_puts(b, ",\"message_id\":");
    buf_json_str(b, r->message_id);
    buf_puts(b, ",\"excerpt\":");
    buf_json_str(b, r->excerpt);
    buf_puts(b, ",\"phrase\":");
    buf_json_str(b, r->phrase);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, r->status);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, r->created_at);
    buf_puts(b, ",\"resolved_at\":");
    buf_json_time(b, r->resolved_at);
    buf_puts(b, ",\"resolved_by\":");
    buf_json_str(b, r->resolved_by[0] ? r->resolved_by : NULL);
    buf_putc(b, '}');
}
