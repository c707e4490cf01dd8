/*
 * messaging_inbound: the inbound.process job, in batches: what a received
 * webhook event does.
 *
 * A message: its contact (by channel identity), conversation and message
 * rows (idempotent on the provider's message id, so a re-run changes
 * nothing), the carrier keywords (STOP and friends opt the sender out of
 * the channel account, START back in, HELP queues the tenant's help text as
 * a reply) and a message.created event; a phone number the customer shared
 * about themselves (Telegram) joins their contact, and a Telegram chat that
 * writes again lifts its "blocked" suppression. A status callback: the message's
 * monotonic status machine and a message.status event when it moved; a
 * callback that overtook its send result (unknown message id yet) is
 * retried a few times, then dropped as a callback for a message this
 * server did not send. An e-mail bounce, address drop, spam report or
 * unsubscribe also suppresses the recipient's address, whether or not the
 * message is known (the suppression is kept while the report waits for its
 * message). An e-mail naming one of the account's Message-IDs in
 * In-Reply-To / References joins that conversation (crm). Reads (events,
 * accounts, the help text) happen
 * before the batch's transaction, so a worker never holds a write
 * transaction while waiting for a second connection; the batch is one
 * operation of the group-commit writer (messaging__write) and each event
 * runs in a savepoint, so one bad event does not undo its batch mates.
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"
#include "template/template.h"

/* Status callbacks for a message id we do not know (yet) are retried this
 * many times, a few seconds apart, then dropped (Twilio also calls back
 * for messages sent from its console or another system). */
#define INBOUND_UNKNOWN_TRIES 5
#define INBOUND_UNKNOWN_RETRY_MS 3000

struct in_item {
    int ok;                           /* loaded: ev and ref valid */
    struct channel_event ev;          /* strings in the batch arena */
    int64_t received_at;
    const struct messaging_account_ref *ref;
    enum compliance_keyword keyword;
    char word[32];
    const char *phrase;               /* looks like an opt-out, is not a keyword: reviewed */
    char *help_text;                  /* HELP: the reply, malloc'd */
    char counted[16];                 /* the status it stored (received, delivered, …) for metrics, or "" */
    char reason[64];                  /* and, for failures, the error code */
    char template_id[CORE_ID_MAX];    /* a template status update that changed this template */
};

struct payload_copy {
    struct arena *a;
    const char *payload;
    char account_id[CORE_ID_MAX];
};

static int copy_inbound(void *ud, const struct store_inbound_event *ev)
{
    struct payload_copy *pc = ud;
    pc->payload = arena_strdup(pc->a, ev->payload);
    snprintf(pc->account_id, sizeof(pc->account_id), "%s", ev->account_id);
    return 0;
}

/* Before the transaction: the event, its account, the help text. */
static void load(struct messaging *m, struct arena *a, const struct queue_job *job, struct in_item *it, int *outcome,
                 struct queue_result *res)
{
    struct payload_copy pc = {a, NULL, ""};
    struct err e = {0};
    cJSON *p = NULL;
    const char *id;
    int rc;

    if (json_parse(&p, job->payload, strlen(job->payload), &e) != 0 || !(id = json_str(p, "inbound_event"))) {
        *outcome = QUEUE_FAIL;
        snprintf(res->error, sizeof(res->error), "payload without inbound_event");
        goto out;
    }
    rc = store_inbound_get(m->db, job->tenant_id, id, copy_inbound, &pc, &e);
    if (rc == 0)
        rc = channel_event_from_json(a, pc.payload, strlen(pc.payload), &it->ev, NULL, &it->received_at, &e);
    if (rc == ERR_NOTFOUND || rc == ERR_INVALID) {
        *outcome = QUEUE_FAIL;
        snprintf(res->error, sizeof(res->error), "inbound event %s: %s", id, e.msg);
        goto out;
    }
    if (rc == 0) {
        rc = messaging_account_get(m, job->tenant_id, pc.account_id, &it->ref, &e);
        if (rc == ERR_NOTFOUND) { /* removed since: its traffic is dropped */
            *outcome = QUEUE_DONE;
            goto out;
        }
    }
    /* Carrier keywords are a text-message convention: an e-mail saying
     * "stop" is read by a person (e-mail unsubscribes via its link). */
    if (rc == 0 && it->ev.kind == CHANNEL_EVENT_MESSAGE && strcmp(it->ref->acct.channel, "email") != 0) {
        const struct messaging__policy *pol = NULL;
        if ((rc = messaging__policy_get(m, job->tenant_id, &pol, &e)) == 0) {
            it->keyword = compliance_keyword_match(messaging__policy_keywords(pol, it->ref->acct.channel),
                                                   it->ev.text, it->word, sizeof(it->word));
            messaging__policy_release(pol);
        }
        if (rc == 0 && it->keyword == COMPLIANCE_NONE)
            it->phrase = compliance_optout_phrase(it->ev.text);
        if (it->keyword == COMPLIANCE_HELP)
            rc = messaging_setting_get(m, job->tenant_id, "help_text", &it->help_text, &e);
    }
    if (rc) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg); /* retried */
        goto out;
    }
    it->ok = 1;
out:
    cJSON_Delete(p);
}

static char *media_plain_json(const struct channel_event *ev)
{
    struct buf b = {0};

    if (!ev->nmedia)
        return NULL;
    channel_media_json(&b, ev->media, ev->nmedia);
    return buf_steal(&b);
}

/* An inbound message, inside tx. */
static int message(struct messaging *m, struct store_tx *tx, const struct queue_job *job, struct in_item *it,
                   struct messaging__events *ev, struct err *e)
{
    const struct channel_event *x = &it->ev;
    struct crm_inbound in;
    struct crm_record_result r;
    struct buf json = {0};
    char body[64], *media = m->media ? messaging__media_json_new(x) : media_plain_json(x);
    const char *addr_kind;
    char addr[CRM_ADDRESS_MAX];
    int rc;

    memset(&in, 0, sizeof(in));
    in.account_id = it->ref->acct.id;
    in.channel = it->ref->acct.channel;
    in.from = x->from;
    in.contact_name = x->contact_name;
    in.provider_message_id = x->provider_message_id ? x->provider_message_id : x->event_id;
    in.type = x->type;
    in.body = x->text;
    if (x->type && strcmp(x->type, "location") == 0 && !x->text) {
        snprintf(body, sizeof(body), "%.6f,%.6f", x->latitude, x->longitude);
        in.body = body;
    }
    in.media_json = media;
    in.received_at = it->received_at;
    in.subject = x->subject;
    in.html = x->html;
    in.rfc_message_id = x->rfc_message_id;
    in.in_reply_to = x->in_reply_to;
    in.references = x->references;
    rc = crm_inbound_record(tx, job->tenant_id, &in, &r, e);
    if (rc == 0 && !r.duplicate && media && m->media)
        rc = messaging__media_queue_tx(m, tx, job->tenant_id, r.message_id, it->ref->acct.id, media, e);
    free(media);
    if (rc || r.duplicate)
        return rc;
    snprintf(it->counted, sizeof(it->counted), "received");
    if ((rc = messaging__message_json_tx(tx, job->tenant_id, r.message_id, &json, e)))
        goto out;
    if (json.len > 1 && json.data[json.len - 1] == '}') {
        /* The inbox list updates its badge from the event, without a refetch. */
        json.len--;
        buf_printf(&json, ",\"unread_count\":%lld}", (long long)r.unread);
    }
    messaging__events_add(ev, job->tenant_id, "message.created", buf_steal(&json));
    if (strcmp(it->ref->acct.channel, "telegram") == 0) {
        /* A chat that writes has unblocked the bot: sends to it may go again. */
        if ((rc = crm_normalize_address("telegram", x->from, addr, sizeof(addr), e)) ||
            (rc = compliance_unblock(tx, job->tenant_id, it->ref->acct.channel, addr, NULL, e)))
            goto out;
    }
    if (x->type && strcmp(x->type, "contact") == 0 && x->ref && strcmp(x->ref, "own_contact") == 0 && x->text) {
        /* The customer shared their own number (Telegram): it joins their contact. */
        struct err le = {0};
        int linked = 0;
        rc = crm_identity_link(tx, job->tenant_id, r.contact_id, x->text, &linked, &le);
        if (rc == ERR_INVALID) /* not a number we can use: the message stays, unlinked */
            rc = 0;
        else if (rc)
            *e = le;
        if (rc)
            goto out;
    }
    if (it->keyword == COMPLIANCE_NONE && !it->phrase) {
        if (m->inbound_hook) {
            struct messaging_inbound_info info = {job->tenant_id, it->ref->acct.id, it->ref->acct.channel,
                                                  r.conversation_id, r.contact_id, r.message_id, x->text};
            struct messaging_hook_events hev = {ev};
            rc = m->inbound_hook(m->inbound_hook_ud, tx, &info, &hev, e);
        }
        goto out;
    }
    addr_kind = crm_identity_kind(it->ref->acct.channel);
    if ((rc = crm_normalize_address(addr_kind ? addr_kind : "phone", x->from, addr, sizeof(addr), e)))
        goto out;
    if (it->phrase) { /* a person decides (GET /api/v1/compliance/reviews) */
        rc = compliance_review_add(tx, job->tenant_id, it->ref->acct.id, it->ref->acct.channel, addr, r.message_id,
                                   x->text, it->phrase, time_now_ms(), e);
        goto out;
    }
    if (it->keyword == COMPLIANCE_STOP) {
        rc = compliance_opt_out(tx, job->tenant_id, it->ref->acct.id, addr, it->word, "keyword", time_now_ms(), e);
    } else if (it->keyword == COMPLIANCE_START) {
        rc = compliance_opt_in(tx, job->tenant_id, it->ref->acct.id, addr, NULL, e);
    } else if (it->keyword == COMPLIANCE_HELP && it->help_text && *it->help_text) {
        /* The reply goes out like any message; its key makes it once per HELP. */
        struct crm_outbound o;
        struct crm_record_result rr;
        char key[CORE_ID_MAX + 8];
        memset(&o, 0, sizeof(o));
        snprintf(key, sizeof(key), "help:%s", r.message_id);
        o.account_id = it->ref->acct.id;
        o.channel = it->ref->acct.channel;
        o.to = addr;
        o.body = it->help_text;
        o.idempotency_key = key;
        o.origin = "system";
        rc = messaging__queue_tx(m, tx, job->tenant_id, &o, &rr, ev, e);
    }
out:
    buf_free(&json);
    return rc;
}

/* E-mail status reports that end the address, not just the message: the
 * suppression each one writes (bounce = a hard bounce or a drop for a
 * bounced or invalid address). */
static const struct {
    const char *error_code;
    const char *source;
} email_suppressing[] = {
    {"bounce", "bounce"},
    {"dropped", "bounce"},
    {"spamreport", "complaint"},
    {"unsubscribe", "unsubscribe_link"},
};

/* Suppress the recipient of an e-mail status report that says so; *done = 1
 * when it did. Address-level: it applies whether or not the message is ours. */
static int email_suppress(struct store_tx *tx, const struct queue_job *job, const struct in_item *it, int *done,
                          struct err *e)
{
    const struct channel_event *x = &it->ev;
    char addr[CRM_ADDRESS_MAX];
    struct err ignored = {0};

    *done = 0;
    if (strcmp(it->ref->acct.channel, "email") != 0 || !x->error_code || !x->to)
        return 0;
    for (size_t i = 0; i < sizeof(email_suppressing) / sizeof(email_suppressing[0]); i++) {
        if (strcmp(x->error_code, email_suppressing[i].error_code) != 0)
            continue;
        if (crm_normalize_address("email", x->to, addr, sizeof(addr), &ignored) != 0)
            return 0; /* not an address we could ever send to */
        *done = 1;
        return compliance_suppress(tx, job->tenant_id, "email", addr, email_suppressing[i].source,
                                   x->error_text ? x->error_text : x->error_code, NULL, time_now_ms(), e);
    }
    return 0;
}

/* A status callback, inside tx. *keep = 1 when the report changed something
 * (a suppression) even though its message is unknown (ERR_NOTFOUND). */
static int status(struct store_tx *tx, const struct queue_job *job, struct in_item *it, struct messaging__events *ev,
                  int *keep, struct err *e)
{
    const struct channel_event *x = &it->ev;
    struct crm_status_update u;
    struct crm_status_result sr;
    int suppressed = 0, rc;

    *keep = 0;
    if ((rc = email_suppress(tx, job, it, &suppressed, e)))
        return rc;
    if (!x->provider_message_id || !*x->provider_message_id)
        return 0; /* an address-level report (SendGrid may omit the message): nothing else to apply */
    memset(&u, 0, sizeof(u));
    u.account_id = it->ref->acct.id;
    u.provider_message_id = x->provider_message_id;
    u.status = x->status;
    u.error_code = x->error_code;
    u.error_text = x->error_text;
    u.provider_ts = x->provider_ts;
    u.received_at = it->received_at;
    if ((rc = crm_status_apply(tx, job->tenant_id, &u, &sr, e))) {
        *keep = rc == ERR_NOTFOUND && suppressed;
        return rc;
    }
    if (sr.applied) {
        snprintf(it->counted, sizeof(it->counted), "%s", sr.status);
        snprintf(it->reason, sizeof(it->reason), "%s", x->error_code ? x->error_code : "");
    }
    if (sr.applied)
        messaging__status_event(ev, job->tenant_id, &sr, x->error_code, x->error_text, x->provider_ts,
                                it->received_at);
    return 0;
}

/* Meta's verdict on a template (message_template_status_update), inside
 * tx: the account's template by Meta's id, else by name and language. One
 * we do not know (made in WhatsApp Manager, not synced yet) changes
 * nothing: the next sync brings it with its status. */
static int template_status(struct store_tx *tx, const struct queue_job *job, struct in_item *it, struct err *e)
{
    const struct channel_event *x = &it->ev;
    const char *status = x->status ? x->status : "";
    int found = 0;

    if (!x->text || !x->ref || !*status)
        return err_set(e, ERR_INVALID, "invalid_payload", "template status without name, language or status");
    if (strcmp(status, "reinstated") == 0 || strcmp(status, "unarchived") == 0)
        status = "approved"; /* back in use after a pause or an archive */
    return store_template_provider_update_tx(tx, job->tenant_id, it->ref->acct.id, x->provider_message_id, x->text,
                                             x->ref, status, x->error_text, time_now_ms(), &found, it->template_id,
                                             e);
}

/* The batch's writes, one transaction (see messaging__write). */
struct inbound_batch {
    struct messaging *m;
    const struct queue_job *jobs;
    struct in_item *items;
    int n;
    int *outcomes;
    struct queue_result *res;
    struct messaging__events ev;
};

static int inbound_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct inbound_batch *b = ud;
    int i, rc = 0;

    for (i = 0; i < b->n && rc == 0; i++) {
        struct in_item *it = &b->items[i];
        struct err ie = {0};
        size_t mark = b->ev.n;
        int irc, keep = 0;
        if (!it->ok)
            continue;
        it->counted[0] = it->reason[0] = '\0';
        if ((rc = store_tx_savepoint(tx, e)))
            break;
        irc = it->ev.kind == CHANNEL_EVENT_STATUS            ? status(tx, &b->jobs[i], it, &b->ev, &keep, &ie)
              : it->ev.kind == CHANNEL_EVENT_TEMPLATE_STATUS ? template_status(tx, &b->jobs[i], it, &ie)
                                                             : message(b->m, tx, &b->jobs[i], it, &b->ev, &ie);
        if (irc != 0)
            it->template_id[0] = '\0';
        if (irc == 0) {
            rc = store_tx_release(tx, e);
            b->outcomes[i] = QUEUE_DONE;
            continue;
        }
        messaging__events_truncate(&b->ev, mark);
        /* A suppression stays even when the message is not known (yet). */
        rc = keep ? store_tx_release(tx, e) : store_tx_undo(tx, e);
        if (irc == ERR_NOTFOUND && it->ev.kind == CHANNEL_EVENT_STATUS) {
            /* The send result may not be stored yet: try again shortly. */
            b->outcomes[i] = b->jobs[i].attempt >= INBOUND_UNKNOWN_TRIES ? QUEUE_DONE : QUEUE_RETRY;
            b->res[i].retry_after_ms = INBOUND_UNKNOWN_RETRY_MS;
            snprintf(b->res[i].error, sizeof(b->res[i].error), "status %s for unknown message %s",
                     it->ev.status ? it->ev.status : "?",
                     it->ev.provider_message_id ? it->ev.provider_message_id : "?");
        } else {
            b->outcomes[i] = irc == ERR_INVALID ? QUEUE_FAIL : QUEUE_RETRY;
            snprintf(b->res[i].error, sizeof(b->res[i].error), "%s (%s)", ie.msg, err_slug(&ie));
        }
    }
    if (rc == 0)
        rc = messaging__events_flush(&b->ev, tx, e);
    return rc;
}

/* Metrics of one committed item: the status it stored and, for status
 * callbacks, how late the callback arrived after the provider's event. */
static void count(struct messaging *m, const struct in_item *it)
{
    const char *channel = it->ref->acct.channel;

    if (it->ev.kind == CHANNEL_EVENT_STATUS && it->ev.provider_ts > 0)
        ops_metrics_observe(m->metrics, "sb_callback_latency_seconds", "provider", it->ref->acct.provider,
                            (double)(it->received_at - it->ev.provider_ts) / 1000.0);
    if (!it->counted[0])
        return;
    ops_metrics_count(m->metrics, "sb_messages_total", "channel", channel, "status", it->counted, 1);
    if (strcmp(it->counted, "failed") == 0 || strcmp(it->counted, "undelivered") == 0)
        ops_metrics_count(m->metrics, "sb_message_failures_total", "channel", channel, "reason",
                          it->reason[0] ? it->reason : "unknown", 1);
}

void messaging__inbound_batch(void *ud, const struct queue_job *jobs, int n, int *outcomes, struct queue_result *res)
{
    struct messaging *m = ud;
    struct arena *a = arena_new();
    struct in_item *items = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*items));
    struct inbound_batch b = {m, jobs, items, n, outcomes, res, {0}};
    struct err e = {0};
    int i, rc, done = 0;

    for (i = 0; i < n; i++)
        load(m, a, &jobs[i], &items[i], &outcomes[i], &res[i]);
    rc = messaging__write(m, inbound_write, &b, &e);
    if (rc) {
        /* Nothing of the batch is stored: every job runs again. */
        for (i = 0; i < n; i++) {
            if (outcomes[i] != QUEUE_DONE || !items[i].ok)
                continue;
            outcomes[i] = QUEUE_RETRY;
            snprintf(res[i].error, sizeof(res[i].error), "batch not committed: %s", e.msg);
        }
    } else {
        for (i = 0; i < n; i++) {
            done += items[i].ok && outcomes[i] == QUEUE_DONE;
            if (items[i].ok)
                count(m, &items[i]);
            /* Meta's decisions go to the audit log like ours (after the commit). */
            if (items[i].ok && outcomes[i] == QUEUE_DONE && items[i].template_id[0]) {
                struct err ae = {0};
                if (template_provider_audit(m->db, jobs[i].tenant_id, items[i].template_id,
                                            items[i].ev.status ? items[i].ev.status : "", items[i].ev.error_text,
                                            &ae) != 0)
                    log_warn(NULL, "template %s: audit of Meta's status failed: %s", items[i].template_id, ae.msg);
            }
        }
        if (done) {
            queue_wake(m->queue); /* HELP replies */
            messaging__notify(m);
        }
    }
    for (i = 0; i < n; i++) {
        messaging_account_release(items[i].ref);
        free(items[i].help_text);
    }
    messaging__events_free(&b.ev);
    arena_free(a);
}
