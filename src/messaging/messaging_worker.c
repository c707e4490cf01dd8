/*
 * messaging_worker: the outbound.send job, in batches.
 *
 * Three phases per batch, so no database lock is held while a provider
 * answers: load (the message, its account snapshot, the opt-out list: a
 * customer who replied STOP after the message was queued is not sent to),
 * send (each message through its adapter, on kept-alive connections), then
 * record every result in one transaction with its message.status event.
 * A message that is no longer queued was already handled (a job re-run after
 * a crash) and is not sent again. Transient failures (5xx, timeout, 429 with
 * its Retry-After) retry with backoff and end in the dead-letter queue,
 * where the message stays queued until an admin retries or discards the job;
 * permanent ones (bad number, refused, opted out, account removed) fail the
 * message at once. A send the provider accepted is never retried, even if
 * recording it fails: a lost status is better than a second text to a
 * customer.
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"

enum item_state { ITEM_SKIP, ITEM_SEND, ITEM_SENT, ITEM_FAILED, ITEM_RETRY };

struct item {
    enum item_state state;
    char message_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char address[CRM_ADDRESS_MAX];
    char status[16];
    char *body, *media, *template_json;  /* copies */
    char *subject, *html;
    char origin[16];
    int recorded;                        /* its result is in the committed transaction */
    int64_t last_inbound_at;              /* read for channels with a human-agent window */
    /* e-mail */
    char conversation_id[CORE_ID_MAX];
    char rfc_message_id[256];
    int64_t created_at;
    struct crm_email_thread thread;
    const struct messaging_account_ref *ref;
    struct channel_send_result res;
    char error_code[64];
    char error_text[256];
};

static int copy_message(void *ud, const struct store_message *msg)
{
    struct item *it = ud;
    snprintf(it->account_id, sizeof(it->account_id), "%s", msg->account_id);
    snprintf(it->address, sizeof(it->address), "%s", msg->address);
    snprintf(it->status, sizeof(it->status), "%s", msg->status);
    it->body = msg->body && *msg->body ? strdup(msg->body) : NULL;
    it->media = msg->media && *msg->media ? strdup(msg->media) : NULL;
    it->template_json = msg->template_json && *msg->template_json ? strdup(msg->template_json) : NULL;
    it->subject = msg->subject && *msg->subject ? strdup(msg->subject) : NULL;
    it->html = msg->html && *msg->html ? strdup(msg->html) : NULL;
    snprintf(it->origin, sizeof(it->origin), "%s", msg->origin);
    snprintf(it->conversation_id, sizeof(it->conversation_id), "%s", msg->conversation_id);
    snprintf(it->rfc_message_id, sizeof(it->rfc_message_id), "%s", msg->rfc_message_id);
    it->created_at = msg->created_at;
    return 0;
}

static void fail_item(struct item *it, const char *code, const char *text)
{
    it->state = ITEM_FAILED;
    snprintf(it->error_code, sizeof(it->error_code), "%s", code);
    snprintf(it->error_text, sizeof(it->error_text), "%s", text);
}

/* E-mail: the Message-ID (set when the message was queued; derived the
 * same way, <message id@sender's domain>, for one queued without it) and
 * the thread it answers (In-Reply-To, References). */
static int email_prepare(struct messaging *m, const char *tenant_id, struct item *it, struct err *e)
{
    struct store_message sm;

    if (!it->rfc_message_id[0]) {
        const char *at = strrchr(it->ref->acct.address, '@');
        snprintf(it->rfc_message_id, sizeof(it->rfc_message_id), "<%s@%.200s>", it->message_id,
                 at && at[1] ? at + 1 : "switchboard.invalid");
    }
    memset(&sm, 0, sizeof(sm));
    snprintf(sm.id, sizeof(sm.id), "%s", it->message_id);
    snprintf(sm.conversation_id, sizeof(sm.conversation_id), "%s", it->conversation_id);
    sm.created_at = it->created_at;
    return crm_email_thread(m->db, tenant_id, &sm, &it->thread, e);
}

/* Phase 1: what to send, or why not. */
static void load_item(struct messaging *m, const struct queue_job *job, struct item *it, int *outcome,
                      struct queue_result *res)
{
    struct err e = {0};
    cJSON *p = NULL;
    const char *id;
    struct store_suppression supp;
    int opted = 0, found = 0, rc;

    if (json_parse(&p, job->payload, strlen(job->payload), &e) != 0 || !(id = json_str(p, "message_id"))) {
        *outcome = QUEUE_FAIL;
        snprintf(res->error, sizeof(res->error), "payload without message_id");
        goto out;
    }
    snprintf(it->message_id, sizeof(it->message_id), "%s", id);
    rc = crm_message_get(m->db, job->tenant_id, it->message_id, copy_message, it, &e);
    if (rc == ERR_NOTFOUND) {
        *outcome = QUEUE_FAIL;
        snprintf(res->error, sizeof(res->error), "message %s no longer exists", it->message_id);
        goto out;
    }
    if (rc) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg); /* retried */
        goto out;
    }
    if (strcmp(it->status, "queued") != 0) {
        it->state = ITEM_SKIP; /* handled by an earlier run */
        *outcome = QUEUE_DONE;
        goto out;
    }
    rc = messaging_account_get(m, job->tenant_id, it->account_id, &it->ref, &e);
    if (rc == ERR_NOTFOUND) {
        fail_item(it, "account_removed", "the channel account was removed before the message was sent");
        goto out;
    }
    if (rc == 0)
        rc = compliance_is_opted_out(m->db, job->tenant_id, it->account_id, it->address, &opted, &e);
    if (rc) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
        goto out;
    }
    if (opted) {
        fail_item(it, "opted_out", "the recipient opted out of this channel account after the message was queued");
        goto out;
    }
    /* A bounce, complaint or block that arrived after queueing stops it too. */
    if ((rc = compliance_suppression_find(m->db, job->tenant_id, it->ref->acct.channel, it->address, &supp, &found,
                                          &e))) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
        goto out;
    }
    if (found) {
        char text[512];
        snprintf(text, sizeof(text), "the address was suppressed after the message was queued (%s%s%s)", supp.source,
                 supp.reason[0] ? ": " : "", supp.reason);
        fail_item(it, strcmp(supp.source, "blocked") == 0 ? "recipient_blocked" : "suppressed", text);
        goto out;
    }
    /* Instagram picks RESPONSE or the HUMAN_AGENT tag from the customer's
     * last message, and refuses once even that window has passed. */
    if (it->ref->adapter->caps.human_agent_window_ms > 0 &&
        (rc = crm_last_inbound(m->db, job->tenant_id, it->account_id, it->ref->acct.channel, it->address,
                               &it->last_inbound_at, &e))) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
        goto out;
    }
    if (strcmp(it->ref->acct.channel, "email") == 0 && (rc = email_prepare(m, job->tenant_id, it, &e))) {
        snprintf(res->error, sizeof(res->error), "%s", e.msg); /* retried */
        goto out;
    }
    it->state = ITEM_SEND;
out:
    cJSON_Delete(p);
}

/* Strings of a JSON array of objects' member name (media URLs) or of a
 * string array (template variables), into a (at most max). */
static size_t json_strings(struct arena *a, const char *json, const char *member, const char *array_name,
                           const char ***out, size_t max)
{
    cJSON *root = NULL, *it;
    const cJSON *arr;
    size_t n = 0;

    *out = NULL;
    if (!json || json_parse(&root, json, strlen(json), NULL) != 0)
        return 0;
    arr = array_name ? cJSON_GetObjectItemCaseSensitive(root, array_name) : root;
    if (cJSON_IsArray(arr)) {
        *out = arena_alloc(a, (max ? max : 1) * sizeof(char *));
        cJSON_ArrayForEach(it, arr) {
            const char *v = member ? json_str(it, member) : (cJSON_IsString(it) ? it->valuestring : NULL);
            if (v && n < max)
                (*out)[n++] = arena_strdup(a, v);
        }
    }
    cJSON_Delete(root);
    return n;
}

/* The media links of a message, into a (at most max): its URLs as given,
 * and for media in the media store a signed URL made now, valid for
 * SB_MEDIA_URL_TTL (the provider fetches it while accepting the message). */
static size_t media_links(struct messaging *m, struct arena *a, const char *tenant_id, const char *json,
                          const char ***out, size_t max)
{
    cJSON *root = NULL, *it;
    size_t n = 0;
    struct buf b = {0};

    *out = arena_alloc(a, (max ? max : 1) * sizeof(char *));
    if (!json || json_parse(&root, json, strlen(json), NULL) != 0 || !cJSON_IsArray(root))
        goto out;
    cJSON_ArrayForEach(it, root) {
        const char *url = json_str(it, "url"), *id = json_str(it, "media_id");
        if (n == max)
            break;
        if (url) {
            (*out)[n++] = arena_strdup(a, url);
        } else if (id && m->media) {
            buf_reset(&b);
            if (media_signed_url(m->media, tenant_id, id, json_str(it, "content_type"), time_now_ms() / 1000, &b,
                                 NULL, NULL) == 0)
                (*out)[n++] = arena_strdup(a, b.data);
        }
    }
out:
    buf_free(&b);
    cJSON_Delete(root);
    return n;
}

/* Phase 2: one provider call. */
static void send_item(struct messaging *m, struct arena *a, const struct queue_job *job, struct item *it,
                      int *outcome, struct queue_result *res)
{
    struct channel_send cs;
    struct buf cb = {0}, unsub = {0};
    struct err e = {0}, ue = {0};
    cJSON *tpl = NULL;
    int rc;

    memset(&cs, 0, sizeof(cs));
    cs.to = it->address;
    cs.text = it->body;
    cs.idempotency_key = it->message_id;
    cs.origin = it->origin;
    cs.last_inbound_at = it->last_inbound_at;
    cs.subject = it->subject;
    cs.html = it->html;
    if (strcmp(it->ref->acct.channel, "email") == 0) {
        cs.message_id = it->rfc_message_id;
        cs.in_reply_to = it->thread.in_reply_to[0] ? it->thread.in_reply_to : NULL;
        cs.references = it->thread.references[0] ? it->thread.references : NULL;
    }
    cs.nmedia = media_links(m, a, job->tenant_id, it->media, (const char ***)&cs.media_urls, 10);
    /* A template rendered into the text at send time goes as text. */
    if (it->template_json && json_parse(&tpl, it->template_json, strlen(it->template_json), NULL) == 0 &&
        !json_bool(tpl, "rendered", 0)) {
        cs.template_name = arena_strdup(a, json_str(tpl, "name") ? json_str(tpl, "name") : "");
        cs.template_lang = arena_strdup(a, json_str(tpl, "language") ? json_str(tpl, "language") : "en_US");
        cs.ntemplate_params = json_strings(a, it->template_json, NULL, "variables",
                                           (const char ***)&cs.template_params, 32);
    }
    /* E-mail carries a one-click unsubscribe link (List-Unsubscribe, RFC
     * 8058); without a public URL there is nowhere for it to point. */
    if (strcmp(it->ref->acct.channel, "email") == 0 && m->public_url[0] &&
        compliance_unsubscribe_url(m->keys, m->public_url, job->tenant_id, "email", it->address, time_now_ms(),
                                   &unsub, &ue) == 0)
        cs.unsubscribe_url = unsub.data;
    if (strcmp(it->ref->acct.provider, "twilio") == 0) {
        messaging_account_webhook_url(m, &it->ref->acct, &cb);
        cs.status_callback_url = cb.data;
    }
    rc = it->ref->adapter->send(messaging_channel_env(m), &it->ref->creds, &cs, &it->res, &e);
    if (rc == 0) {
        it->state = ITEM_SENT;
    } else if (it->res.permanent) {
        it->state = ITEM_FAILED;
        snprintf(it->error_code, sizeof(it->error_code), "%s", it->res.error_code[0] ? it->res.error_code : err_slug(&e));
        snprintf(it->error_text, sizeof(it->error_text), "%s", it->res.error_text[0] ? it->res.error_text : e.msg);
    } else {
        it->state = ITEM_RETRY;
        *outcome = QUEUE_RETRY;
        snprintf(res->error, sizeof(res->error), "%s (%s%s%s)", e.msg, err_slug(&e),
                 it->res.error_code[0] ? ", provider code " : "", it->res.error_code);
        if (it->res.retry_after_s > 0)
            res->retry_after_ms = (int64_t)it->res.retry_after_s * 1000;
    }
    cJSON_Delete(tpl);
    buf_free(&cb);
    buf_free(&unsub);
}

/* Phase 3: one transaction for every result (see messaging__write). */
struct record_batch {
    const struct queue_job *jobs;
    struct item *items;
    int n;
    int recorded;
    struct messaging__events ev;
};

static int record_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct record_batch *b = ud;
    int i, rc = 0;

    b->recorded = 0;
    for (i = 0; i < b->n && rc == 0; i++) {
        struct item *it = &b->items[i];
        const char *tenant = b->jobs[i].tenant_id;
        struct crm_status_result sr;
        struct err ie = {0};
        size_t mark = b->ev.n;
        int irc;
        it->recorded = 0;
        if (it->state != ITEM_SENT && it->state != ITEM_FAILED)
            continue;
        if ((rc = store_tx_savepoint(tx, e)))
            break;
        /* "sent" is ours: the provider accepted the message (Twilio calls
         * that "queued"; its callbacks then say sent, delivered, …). */
        if (it->state == ITEM_SENT)
            irc = crm_outbound_sent(tx, tenant, it->message_id, it->res.provider_message_id, "sent", 0, &sr, &ie);
        else
            irc = crm_outbound_failed(tx, tenant, it->message_id, it->error_code, it->error_text, 0, &sr, &ie);
        /* The recipient blocked us (Telegram): no further sends to them. */
        if (irc == 0 && it->state == ITEM_FAILED && it->res.recipient_blocked && it->ref)
            irc = compliance_suppress(tx, tenant, it->ref->acct.channel, it->address, "blocked", it->error_text, NULL,
                                      time_now_ms(), &ie);
        if (irc == 0 && sr.applied)
            messaging__status_event(&b->ev, tenant, &sr, it->state == ITEM_FAILED ? it->error_code : NULL,
                                    it->state == ITEM_FAILED ? it->error_text : NULL, 0, time_now_ms());
        if (irc == 0) {
            rc = store_tx_release(tx, e);
            b->recorded++;
            it->recorded = 1;
        } else {
            struct log_ctx lc = {NULL, NULL, tenant};
            messaging__events_truncate(&b->ev, mark);
            rc = store_tx_undo(tx, e);
            log_error(&lc, "outbound: cannot record the result of message %s: %s", it->message_id, ie.msg);
        }
    }
    if (rc == 0)
        rc = messaging__events_flush(&b->ev, tx, e);
    return rc;
}

static void record(struct messaging *m, const struct queue_job *jobs, struct item *items, int n)
{
    struct record_batch b = {jobs, items, n, 0, {0}};
    struct err e = {0};

    if (messaging__write(m, record_write, &b, &e) != 0) {
        /* The jobs stay done: a message the provider took is never sent twice. */
        log_error(NULL, "outbound: results of %d sent or failed message(s) not recorded: %s", b.recorded, e.msg);
    } else if (b.recorded) {
        messaging__notify(m);
        for (int i = 0; i < n; i++) {
            const struct item *it = &items[i];
            if (!it->recorded || !it->ref)
                continue;
            ops_metrics_count(m->metrics, "sb_messages_total", "channel", it->ref->acct.channel, "status",
                              it->state == ITEM_SENT ? "sent" : "failed", 1);
            if (it->state == ITEM_FAILED)
                ops_metrics_count(m->metrics, "sb_message_failures_total", "channel", it->ref->acct.channel,
                                  "reason", it->error_code[0] ? it->error_code : "unknown", 1);
        }
    }
    messaging__events_free(&b.ev);
}

void messaging__send_batch(void *ud, const struct queue_job *jobs, int n, int *outcomes, struct queue_result *res)
{
    struct messaging *m = ud;
    struct arena *a = arena_new();
    struct item *items = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*items));
    int i;

    for (i = 0; i < n; i++)
        load_item(m, &jobs[i], &items[i], &outcomes[i], &res[i]);
    for (i = 0; i < n; i++) {
        if (items[i].state == ITEM_SEND)
            send_item(m, a, &jobs[i], &items[i], &outcomes[i], &res[i]);
        /* Sent or failed for good: the job is done whatever recording does. */
        if (items[i].state == ITEM_SENT || items[i].state == ITEM_FAILED)
            outcomes[i] = QUEUE_DONE;
    }
    record(m, jobs, items, n);
    for (i = 0; i < n; i++) {
        messaging_account_release(items[i].ref);
        free(items[i].body);
        free(items[i].media);
        free(items[i].template_json);
        free(items[i].subject);
        free(items[i].html);
    }
    arena_free(a);
}
