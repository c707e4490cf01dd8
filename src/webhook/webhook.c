/*
 * webhook: the ingestion pipeline around webhook_events(): account lookup,
 * handshake, refusals (security events), and the one write operation per
 * request that the group-commit writer runs: per event an inbound_events
 * row if its receipt is new, and for each new row an inbound.process job,
 * in the same transaction. The provider's 200 is sent from the writer's
 * done callback, so it follows the commit.
 *
 * Invariants: nothing is written for a request that fails verification,
 * parsing or the replay check, except its security event; an operation owns
 * its arena (events, payloads, ids), so it never points into the HTTP
 * request, which may be gone by the time a stuck commit finishes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/webhook.h"

struct webhook {
    const struct config *cfg;
    struct store_writer *writer;
    struct queue *queue;
    struct messaging *messaging;
    struct ops_security *security;
    struct ops_metrics *metrics;
    int allow_unsigned;
    int64_t replay_window_ms;
};

/* What providers want as the body of a 200. Twilio: empty TwiML, so it
 * sends no reply of its own. */
static const char webhook_twiml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

static void webhook_ack(struct webhook_response *r, const char *provider)
{
    memset(r, 0, sizeof *r);
    r->status = 200;
    if (strcmp(provider, "twilio") == 0) {
        r->content_type = "text/xml";
        r->body = webhook_twiml;
        r->body_len = sizeof webhook_twiml - 1;
    } else {
        r->content_type = "text/plain";
        r->body = "OK";
        r->body_len = 2;
    }
}

/* SendGrid's Event Webhook posts batches: the answer says what became of
 * them, {"received":n,"stored":k,"duplicates":d} (stored: new events, each
 * processed once; duplicates: events already received, no effect). Other
 * providers get webhook_ack's body. */
static void webhook_ack_counts(struct webhook_response *r, const char *provider, struct arena *a, size_t received,
                               int stored, int duplicates)
{
    webhook_ack(r, provider);
    if (strcmp(provider, "sendgrid") != 0)
        return;
    r->content_type = "application/json";
    r->body = arena_printf(a, "{\"received\":%zu,\"stored\":%d,\"duplicates\":%d}", received, stored, duplicates);
    r->body_len = strlen(r->body);
}

static void webhook_error(struct webhook_response *r, int status, const char *code, const char *message)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->error_code = code;
    snprintf(r->message, sizeof r->message, "%s", message);
}

static void webhook_count(struct webhook *w, const char *provider, const char *outcome)
{
    ops_metrics_count(w->metrics, "sb_webhook_requests_total", "provider", provider, "outcome", outcome, 1);
}

int webhook_new(struct webhook **out, const struct webhook_options *opt, struct err *e)
{
    struct webhook *w;

    *out = NULL;
    if (!opt->cfg || !opt->writer || !opt->queue || !opt->messaging)
        return err_set(e, ERR_INVALID, NULL, "webhook: cfg, writer, queue and messaging are required");
    w = calloc(1, sizeof(*w));
    if (!w)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    w->cfg = opt->cfg;
    w->writer = opt->writer;
    w->queue = opt->queue;
    w->messaging = opt->messaging;
    w->security = opt->security;
    w->metrics = opt->metrics;
    /* Development only: production refuses to start with it (config_check_production). */
    w->allow_unsigned = opt->cfg->allow_unsigned_webhooks && !config_is_production(opt->cfg);
    w->replay_window_ms = opt->cfg->replay_window_s > 0 ? opt->cfg->replay_window_s * 1000 : 0;
    *out = w;
    return 0;
}

void webhook_free(struct webhook *w)
{
    free(w);
}

/* ------------------------------------------------------ the write operation */

struct webhook_op {
    struct webhook *w;
    struct arena *a;
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    const char *provider;         /* the adapter's name: static */
    char request_id[130];
    struct webhook_batch batch;
    int64_t received_at;
    int stored, duplicates;
    webhook_done_fn done;
    void *ud;
};

/* On the writer thread, inside a savepoint of the batch's transaction. */
static int webhook_op_fn(void *ud, struct store_tx *tx, struct err *e)
{
    struct webhook_op *op = ud;
    char payload[96];
    int rc = 0;

    op->stored = op->duplicates = 0;
    for (size_t i = 0; i < op->batch.n; i++) {
        const struct webhook_event *we = &op->batch.items[i];
        struct store_inbound_event row;
        int inserted = 0;
        memset(&row, 0, sizeof row);
        snprintf(row.account_id, sizeof row.account_id, "%s", op->account_id);
        row.event_id = we->event_id;
        snprintf(row.kind, sizeof row.kind, "%s", we->kind);
        row.payload = we->payload;
        row.received_at = op->received_at;
        if ((rc = store_inbound_insert(tx, op->tenant_id, &row, &inserted, e)))
            return rc;
        if (!inserted) {
            op->duplicates++; /* the receipt exists: nothing more to do */
            continue;
        }
        snprintf(payload, sizeof payload, "{\"inbound_event\":\"%s\"}", row.id);
        if ((rc = queue_push_tx(op->w->queue, tx, op->tenant_id, WEBHOOK_JOB_TYPE, payload, NULL, 0, NULL, NULL, e)))
            return rc;
        op->stored++;
    }
    return 0;
}

/* On the writer thread, after the commit (or the failure). */
static void webhook_op_done(void *ud, int rc, const struct err *e)
{
    struct webhook_op *op = ud;
    struct webhook *w = op->w;
    struct webhook_response resp;

    if (rc == 0) {
        if (op->stored)
            queue_wake(w->queue);
        ops_metrics_count(w->metrics, "sb_webhook_events_total", "provider", op->provider, "result", "stored",
                          (uint64_t)op->stored);
        ops_metrics_count(w->metrics, "sb_webhook_events_total", "provider", op->provider, "result", "duplicate",
                          (uint64_t)op->duplicates);
        webhook_count(w, op->provider, op->stored ? "stored" : "duplicate");
        webhook_ack_counts(&resp, op->provider, op->a, op->batch.n, op->stored, op->duplicates);
    } else {
        struct log_ctx ctx = {op->request_id[0] ? op->request_id : NULL, NULL, op->tenant_id};
        log_error(&ctx, "webhook not stored (%s): %s", op->provider, e && e->msg[0] ? e->msg : "database error");
        webhook_count(w, op->provider, "unavailable");
        webhook_error(&resp, 503, "unavailable", "the webhook could not be stored; retry");
    }
    op->done(op->ud, &resp);
    arena_free(op->a);
    free(op);
}

/* ------------------------------------------------------------- the handler */

static void webhook_refuse(struct webhook *w, const struct messaging_account_ref *ref, const struct webhook_request *req,
                           const struct err *e, struct webhook_response *resp)
{
    const char *provider = ref->adapter->name;
    const char *slug = err_slug(e);
    struct err ignored = {0};

    if (e->code == ERR_FORBIDDEN) {
        if (w->security)
            ops_security_event(w->security, ref->acct.tenant_id, "webhook_refused", provider, ref->acct.id, req->ip,
                               slug, &ignored);
        webhook_count(w, provider, strcmp(slug, "replay") == 0 ? "replay" : "refused");
        webhook_error(resp, 403, slug, e->msg[0] ? e->msg : "refused");
    } else if (e->code == ERR_INVALID) {
        webhook_count(w, provider, "invalid");
        webhook_error(resp, 400, slug, e->msg[0] ? e->msg : "malformed payload");
    } else {
        webhook_count(w, provider, "unavailable");
        webhook_error(resp, 503, "unavailable", "the webhook could not be handled; retry");
    }
}

void webhook_handle(struct webhook *w, const struct webhook_request *req, webhook_done_fn done, void *ud)
{
    const struct channel_adapter *ad = channel_find(req->provider);
    const struct messaging_account_ref *ref = NULL;
    struct webhook_response resp;
    struct webhook_op *op = NULL;
    struct channel_webhook wh;
    struct channel_kv *query = NULL;
    struct arena *a = NULL;
    struct err e = {0};
    size_t nquery = 0;
    int is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    int rc;

    if (!ad) {
        webhook_count(w, "unknown", "not_found");
        webhook_error(&resp, 404, "not_found", "no such webhook");
        goto answer;
    }
    if (!ad->parse) {
        /* e-mail over SMTP: bounces and replies come by mail, not here */
        webhook_count(w, ad->name, "not_found");
        webhook_error(&resp, 404, "no_webhook", "this provider's accounts take no webhooks");
        goto answer;
    }
    rc = messaging_account_by_key(w->messaging, ad->name, req->account_key, &ref, &e);
    if (rc) {
        /* Unknown, removed or another provider's account: nothing is written. */
        webhook_count(w, ad->name, rc == ERR_NOTFOUND ? "not_found" : "unavailable");
        if (rc == ERR_NOTFOUND)
            webhook_error(&resp, 404, "not_found", "no such webhook");
        else
            webhook_error(&resp, 503, "unavailable", "the webhook could not be handled; retry");
        goto answer;
    }
    a = arena_new();
    memset(&wh, 0, sizeof wh);
    webhook_query_parse(a, req->target, &query, &nquery);
    wh.method = is_get ? "GET" : req->method;
    wh.url = webhook_public_url(a, w->cfg->public_url, req->target);
    wh.body = req->body;
    wh.body_len = req->body_len;
    wh.headers = req->headers;
    wh.nheaders = req->nheaders;
    wh.query = query;
    wh.nquery = nquery;
    wh.received_at = time_now_ms();

    if (is_get) {
        struct buf out = {0};
        if (!ad->handshake) {
            webhook_count(w, ad->name, "no_handshake");
            webhook_error(&resp, 405, "method_not_allowed", "this provider has no subscription handshake");
            goto answer;
        }
        rc = ad->handshake(&wh, &ref->creds, &out, &e);
        if (rc == ERR_NOTFOUND) {
            webhook_count(w, ad->name, "no_handshake");
            webhook_error(&resp, 405, "method_not_allowed", "this provider has no subscription handshake");
        } else if (rc) {
            webhook_refuse(w, ref, req, &e, &resp);
        } else {
            webhook_count(w, ad->name, "handshake");
            memset(&resp, 0, sizeof resp);
            resp.status = 200;
            resp.content_type = "text/plain";
            resp.body = arena_strndup(a, out.data ? out.data : "", out.len);
            resp.body_len = out.len;
        }
        buf_free(&out);
        goto answer;
    }
    if (strcmp(req->method, "POST") != 0) {
        webhook_error(&resp, 405, "method_not_allowed", "method not allowed for this path");
        goto answer;
    }

    op = calloc(1, sizeof *op);
    if (!op) {
        webhook_error(&resp, 503, "unavailable", "out of memory");
        goto answer;
    }
    struct webhook_policy pol = {w->allow_unsigned, w->replay_window_ms, ad->name};
    rc = webhook_events(a, ad, &ref->creds, &wh, &pol, &op->batch, &e);
    if (rc) {
        webhook_refuse(w, ref, req, &e, &resp);
        goto answer;
    }
    if (op->batch.n == 0) {
        /* Verified, but nothing we handle (e.g. a WhatsApp notification type we ignore). */
        webhook_count(w, ad->name, "empty");
        webhook_ack_counts(&resp, ad->name, a, 0, 0, 0);
        goto answer;
    }
    op->w = w;
    op->a = a;
    snprintf(op->tenant_id, sizeof op->tenant_id, "%s", ref->acct.tenant_id);
    snprintf(op->account_id, sizeof op->account_id, "%s", ref->acct.id);
    snprintf(op->request_id, sizeof op->request_id, "%s", req->request_id ? req->request_id : "");
    op->provider = ad->name;
    op->received_at = wh.received_at;
    op->done = done;
    op->ud = ud;
    /* The request's body and headers are not used past this point: the
     * payloads are in the op's arena. */
    messaging_account_release(ref);
    ref = NULL;
    if (store_writer_submit(w->writer, webhook_op_fn, webhook_op_done, op, &e) == 0)
        return; /* done runs after the commit */
    op->a = NULL;
    webhook_count(w, ad->name, "unavailable");
    webhook_error(&resp, 503, "unavailable", "the server is shutting down; retry");
answer:
    done(ud, &resp);
    free(op);
    messaging_account_release(ref);
    arena_free(a);
}

/* ------------------------------------------------------------------ metrics */

void webhook_metrics(struct webhook *w, struct buf *out)
{
    struct store_writer_stats st;
    static const char *const bounds[STORE_WRITER_HIST] = {"1", "3", "7", "15", "31", "63", "127", "255", "511", "+Inf"};
    uint64_t cum = 0;

    store_writer_stats(w->writer, &st);
    buf_printf(out,
               "# HELP sb_store_writer_batches_total Group-commit transactions run.\n"
               "# TYPE sb_store_writer_batches_total counter\n"
               "sb_store_writer_batches_total %llu\n"
               "# HELP sb_store_writer_ops_total Write operations run by the group-commit writer.\n"
               "# TYPE sb_store_writer_ops_total counter\n"
               "sb_store_writer_ops_total %llu\n"
               "# HELP sb_store_writer_failed_total Write operations that failed.\n"
               "# TYPE sb_store_writer_failed_total counter\n"
               "sb_store_writer_failed_total %llu\n"
               "# HELP sb_store_writer_exec_seconds_total Time spent running operations inside transactions.\n"
               "# TYPE sb_store_writer_exec_seconds_total counter\n"
               "sb_store_writer_exec_seconds_total %.9f\n"
               "# HELP sb_store_writer_commit_seconds_total Time spent in COMMIT.\n"
               "# TYPE sb_store_writer_commit_seconds_total counter\n"
               "sb_store_writer_commit_seconds_total %.9f\n"
               "# HELP sb_store_writer_done_seconds_total Time spent in completion callbacks.\n"
               "# TYPE sb_store_writer_done_seconds_total counter\n"
               "sb_store_writer_done_seconds_total %.9f\n"
               "# HELP sb_store_writer_queued Write operations waiting for the next transaction.\n"
               "# TYPE sb_store_writer_queued gauge\n"
               "sb_store_writer_queued %d\n"
               "# HELP sb_store_writer_max_batch Largest transaction so far, in operations.\n"
               "# TYPE sb_store_writer_max_batch gauge\n"
               "sb_store_writer_max_batch %d\n"
               "# HELP sb_store_writer_batch_size Operations per group-commit transaction.\n"
               "# TYPE sb_store_writer_batch_size histogram\n",
               (unsigned long long)st.batches, (unsigned long long)st.ops, (unsigned long long)st.failed,
               (double)st.exec_ns / 1e9, (double)st.commit_ns / 1e9, (double)st.done_ns / 1e9, st.queued, st.max_batch);
    for (int i = 0; i < STORE_WRITER_HIST; i++) {
        cum += st.size_hist[i];
        buf_printf(out, "sb_store_writer_batch_size_bucket{le=\"%s\"} %llu\n", bounds[i], (unsigned long long)cum);
    }
    buf_printf(out, "sb_store_writer_batch_size_sum %llu\nsb_store_writer_batch_size_count %llu\n",
               (unsigned long long)st.ops, (unsigned long long)st.batches);
}
