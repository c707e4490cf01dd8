/*
 * assistant_reply: the assistant at work on inbound messages (see the
 * section "The assistant at work" in assistant.h): the inbound hook, the
 * assistant.reply and assistant.escalate jobs, and what each decision of
 * a turn does.
 *
 * The hook runs inside the inbound job's transaction and must stay cheap:
 * one indexed read of the configuration version per message, the parsed
 * flags (enabled, channels) cached per tenant and version.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assistant/assistant_int.h"
#include "compliance/compliance.h"
#include "messaging/messaging.h"
#include "queue/queue.h"

#define HISTORY_MAX 10
#define HISTORY_WINDOW_MS (7LL * 24 * 3600 * 1000)

/* ------------------------------------------------------------ writing */

int assistant__write(struct assistant *a, store_write_fn fn, void *ud, struct err *e)
{
    struct store_tx tx;
    int rc;

    if (a->opt.writer)
        rc = store_writer_run(a->opt.writer, fn, ud, e);
    else if ((rc = store_tx_begin(a->opt.db, &tx, e)) == 0) {
        if ((rc = fn(ud, &tx, e)))
            store_tx_rollback(&tx);
        else
            rc = store_tx_commit(&tx, e);
    }
    if (rc == 0 && a->opt.notify)
        a->opt.notify(a->opt.notify_ud);
    return rc;
}

static int draft_json_cb(void *ud, const struct store_draft *d)
{
    assistant_draft_json(ud, d);
    return 0;
}

int assistant__draft_event(struct store_tx *tx, const char *tenant_id, const char *draft_id, const char *type,
                           struct err *e)
{
    struct buf b = {0};
    int rc = store_draft_get_tx(tx, tenant_id, draft_id, draft_json_cb, &b, e);

    if (rc == 0)
        rc = ops_event_append(tx, tenant_id, type, b.data, NULL, e);
    buf_free(&b);
    return rc;
}

/* --------------------------------------------------------------- hook */

static uint32_t slot_of(const char *tenant_id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)tenant_id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % ASSISTANT__FLAGS_SLOTS;
}

/* The flags of the tenant's configuration at version, read inside tx on
 * a miss (the hook runs in the inbound job's transaction, which on SQLite
 * holds the writer: it must not wait for another connection). */
static int flags_get(struct assistant *a, struct store_tx *tx, const char *tenant_id, int64_t version,
                     struct assistant__flags *out, struct err *e)
{
    struct assistant__flags *f = &a->flags[slot_of(tenant_id)];
    struct assistant_config cfg;
    char *doc = NULL;
    int rc;

    pthread_mutex_lock(&a->mu);
    if (strcmp(f->tenant_id, tenant_id) == 0 && f->version == version) {
        *out = *f;
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    pthread_mutex_unlock(&a->mu);
    if ((rc = store_agent_config_tx(tx, tenant_id, version, &doc, e)))
        return rc;
    rc = assistant__config_parse_doc(doc, strlen(doc), NULL, 1, &cfg, e);
    free(doc);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->tenant_id, sizeof(out->tenant_id), "%s", tenant_id);
    out->version = version;
    out->enabled = cfg.enabled;
    memcpy(out->channels, cfg.channels, sizeof(out->channels));
    assistant_config_free(&cfg);
    pthread_mutex_lock(&a->mu);
    *f = *out;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

struct stale_ctx {
    struct store_tx *tx;
    const char *tenant_id;
    struct messaging_hook_events *ev;
};

static int stale_cb(void *ud, const char *id, const char *usage_id)
{
    struct stale_ctx *c = ud;
    struct buf b = {0};
    struct err e = {0};
    (void)usage_id;
    if (store_draft_get_tx(c->tx, c->tenant_id, id, draft_json_cb, &b, &e) == 0)
        messaging_hook_event(c->ev, c->tenant_id, "draft.updated", buf_steal(&b));
    buf_free(&b);
    return 0;
}

static int hook(void *ud, struct store_tx *tx, const struct messaging_inbound_info *in,
                struct messaging_hook_events *ev, struct err *e)
{
    struct assistant *a = ud;
    struct stale_ctx sc = {tx, in->tenant_id, ev};
    struct assistant__flags f;
    struct buf payload = {0};
    int64_t version;
    int ch, rc;

    if ((rc = store_agent_version_tx(tx, in->tenant_id, &version, e)) || version == 0)
        return rc; /* never configured: no assistant, no drafts */
    /* The customer wrote again: what waited for a person's approval is stale. */
    if ((rc = store_draft_stale(tx, in->tenant_id, in->conversation_id, stale_cb, &sc, e)))
        return rc;
    if ((rc = flags_get(a, tx, in->tenant_id, version, &f, e))) {
        if (rc != ERR_INTERNAL && rc != ERR_INVALID)
            return rc; /* the database: the inbound job retries */
        /* A stored configuration that does not parse must never hold up the
         * customer's message: it is recorded without the assistant. */
        struct log_ctx lc = {NULL, NULL, in->tenant_id};
        log_write(LOG_ERROR, &lc, NULL, "assistant: configuration version %" PRId64 " unreadable, not answering: %s",
                  version, e->msg);
        err_clear(e);
        return 0;
    }
    ch = assistant_channel_index(in->channel);
    if (!f.enabled || ch < 0 || !f.channels[ch] || !a->opt.queue)
        return 0;
    buf_puts(&payload, "{\"message_id\":");
    buf_json_str(&payload, in->message_id);
    buf_puts(&payload, ",\"conversation_id\":");
    buf_json_str(&payload, in->conversation_id);
    buf_putc(&payload, '}');
    rc = queue_push_tx(a->opt.queue, tx, in->tenant_id, ASSISTANT_JOB_REPLY, payload.data, in->message_id, 0, NULL,
                       NULL, e);
    buf_free(&payload);
    return rc;
}

/* ----------------------------------------------------------- sending */

struct send_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    struct err err;
    char message_id[CORE_ID_MAX];
};

static void send_done(void *ud, int rc, const struct err *e, const char *message_json, int replayed)
{
    struct send_wait *w = ud;
    (void)replayed;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    if (rc && e)
        w->err = *e;
    if (rc == 0 && message_json) {
        const char *p = strstr(message_json, "\"id\":\"");
        if (p) {
            p += 6;
            size_t n = strcspn(p, "\"");
            snprintf(w->message_id, sizeof(w->message_id), "%.*s", (int)n, p);
        }
    }
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int assistant__send(struct assistant *a, const char *tenant_id, const struct messaging_send_request *req,
                    char message_id[CORE_ID_MAX], struct err *e)
{
    struct send_wait w;
    int rc;

    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    rc = messaging_send(a->opt.msg, tenant_id, req, send_done, &w, e);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        rc = w.rc;
        if (rc)
            *e = w.err;
        else if (message_id)
            snprintf(message_id, CORE_ID_MAX, "%s", w.message_id);
    }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

static int subject_cb(void *ud, const struct store_message *m)
{
    char *out = ud;
    const char *sub = m->subject && *m->subject ? m->subject : "your message";
    int re = strncasecmp(sub, "re:", 3) == 0;
    snprintf(out, ASSISTANT__SUBJECT_MAX, "%s%.200s", re ? "" : "Re: ", sub);
    return 0;
}

void assistant__reply_subject(struct assistant *a, const char *tenant_id, const char *inbound_message_id,
                              char out[ASSISTANT__SUBJECT_MAX])
{
    struct err e = {0};
    snprintf(out, ASSISTANT__SUBJECT_MAX, "Re: your message");
    (void)store_message_get(a->opt.db, tenant_id, inbound_message_id, subject_cb, out, &e);
}

/* A refusal of the send gate (the message can never go as it is), as
 * opposed to a failure worth retrying. */
static int refused(int rc)
{
    return rc == ERR_INVALID || rc == ERR_NOTFOUND || rc == ERR_FORBIDDEN || rc == ERR_CONFLICT;
}

/* ----------------------------------------------------------- the turn */

struct history_ctx {
    struct arena *arena;
    struct assistant_history h[HISTORY_MAX + 1];
    int n;
    const char *target_id;
    const char *text;             /* the message answered */
    int seen;                     /* the target was read */
    int later_inbound;            /* the customer wrote after it */
    char address[STORE_ADDRESS_MAX];
};

static int history_cb(void *ud, const struct store_message *m)
{
    struct history_ctx *c = ud;
    int inbound = strcmp(m->direction, "inbound") == 0;

    if (strcmp(m->id, c->target_id) == 0) {
        c->seen = 1;
        c->text = arena_strdup(c->arena, m->body ? m->body : "");
        if (m->address[0])
            snprintf(c->address, sizeof(c->address), "%s", m->address);
        return 0;
    }
    if (c->seen) {
        c->later_inbound |= inbound;
        return 0;
    }
    if (!m->body || !*m->body)
        return 0;
    if (c->n == HISTORY_MAX) {
        memmove(c->h, c->h + 1, (HISTORY_MAX - 1) * sizeof(*c->h));
        c->n--;
    }
    c->h[c->n].inbound = inbound;
    c->h[c->n].text = arena_strdup(c->arena, m->body);
    c->n++;
    return 0;
}

/* Spanish when the tenant speaks it and the text looks Spanish; else the
 * tenant's first language. */
static const char *language_of(const struct assistant_config *cfg, const char *text)
{
    static const char *const es_words[] = {"hola", "gracias", "quiero", "necesito", "puedo", "cuanto", "cuánto",
                                           "donde", "dónde", "cuando", "cuándo", "tienen", "para", "por favor",
                                           "buenos", "buenas", "mi ", "el ", "la ", "los ", "las ", "una ", "que "};
    int es = 0, speaks = 0;

    for (int i = 0; i < cfg->nlanguages; i++)
        speaks |= strcmp(cfg->languages[i], "es") == 0;
    if (!speaks || !text)
        return cfg->nlanguages ? cfg->languages[0] : "en";
    if (strstr(text, "\xc2\xbf") || strstr(text, "\xc2\xa1") || strstr(text, "\xc3\xb1"))
        return "es";
    struct buf low = {0};
    buf_putc(&low, ' ');
    for (const char *p = text; *p; p++)
        buf_putc(&low, (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
    buf_putc(&low, ' ');
    for (size_t i = 0; i < sizeof(es_words) / sizeof(*es_words); i++) {
        char w[32];
        snprintf(w, sizeof(w), " %s", es_words[i]);
        if (strstr(low.data, w))
            es++;
    }
    buf_free(&low);
    return es >= 2 ? "es" : cfg->languages[0];
}

/* Whether now is inside the configured working hours in the tenant's zone. */
static int in_hours(struct assistant *a, const char *tenant_id, const struct assistant_config *cfg)
{
    struct compliance_tz *tz = NULL;
    struct err e = {0};
    char *zone = NULL;
    int64_t now = time_now_ms() / 1000, local;
    int day, min, on;

    if (cfg->hours_always)
        return 1;
    if (messaging_setting_get(a->opt.msg, tenant_id, "timezone", &zone, &e) == 0)
        compliance_tz_load(&tz, NULL, zone, &e);
    free(zone);
    local = now + (tz ? compliance_tz_offset(tz, now) : 0);
    compliance_tz_free(tz);
    day = (int)(((local / 86400) % 7 + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday (ISO 4) */
    min = (int)((local % 86400 + 86400) % 86400 / 60);
    on = cfg->days[day];
    if (cfg->start_min <= cfg->end_min)
        return on && min >= cfg->start_min && min < cfg->end_min;
    return on && (min >= cfg->start_min || min < cfg->end_min); /* past midnight */
}

/* What one reply job decided and wrote, for the commit. */
struct act {
    struct assistant *a;
    const char *tenant_id;
    const struct store_conversation *conv;
    const char *message_id;
    const struct assistant_config *cfg;
    int64_t version;
    struct assistant_turn *t;
    const char *outcome;
    char reason[256];
    int draft;                    /* store a pending draft */
    int pause;                    /* pause the conversation */
    const char *event;            /* assistant.handover | assistant.emergency | NULL */
    int on_call_notified;
    struct store_usage u;
    struct store_draft d;
    int duplicate;
};

static int act_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct act *c = ud;
    const char *tenant = c->tenant_id;
    struct buf b = {0};
    int rc;

    memset(&c->u, 0, sizeof(c->u));
    snprintf(c->u.conversation_id, sizeof(c->u.conversation_id), "%s", c->conv->id);
    snprintf(c->u.message_id, sizeof(c->u.message_id), "%s", c->message_id);
    snprintf(c->u.channel, sizeof(c->u.channel), "%s", c->conv->channel);
    snprintf(c->u.provider, sizeof(c->u.provider), "%s", c->t->provider[0] ? c->t->provider : "none");
    snprintf(c->u.model, sizeof(c->u.model), "%s", c->t->model);
    c->u.prompt_tokens = c->t->prompt_tokens > 0 ? c->t->prompt_tokens : 0;
    c->u.completion_tokens = c->t->completion_tokens > 0 ? c->t->completion_tokens : 0;
    c->u.latency_ms = c->t->latency_ms;
    c->u.cost_micros = (c->u.prompt_tokens * c->cfg->prompt_price_per_1k +
                        c->u.completion_tokens * c->cfg->completion_price_per_1k + 500) / 1000;
    snprintf(c->u.intent, sizeof(c->u.intent), "%s", c->t->intent);
    c->u.confidence = c->t->confidence;
    snprintf(c->u.outcome, sizeof(c->u.outcome), "%s", c->outcome);
    snprintf(c->u.reason, sizeof(c->u.reason), "%s", c->reason);
    c->u.config_version = c->version;
    rc = store_usage_insert(tx, tenant, &c->u, e);
    if (rc == ERR_CONFLICT) { /* a replayed job: the first run wrote it all */
        c->duplicate = 1;
        return 0;
    }
    if (rc == 0 && c->t->prompt_log.len)
        rc = store_assistant_log_insert(tx, tenant, c->u.id, c->t->prompt_log.data,
                                        c->t->response_log.len ? c->t->response_log.data : "", time_now_ms(), e);
    if (rc == 0)
        rc = store_assistant_log_prune(tx, tenant, time_now_ms() - (int64_t)c->cfg->log_retention_days * 86400000LL,
                                       NULL, e);
    if (rc == 0 && c->draft) {
        memset(&c->d, 0, sizeof(c->d));
        snprintf(c->d.conversation_id, sizeof(c->d.conversation_id), "%s", c->conv->id);
        snprintf(c->d.account_id, sizeof(c->d.account_id), "%s", c->conv->account_id);
        snprintf(c->d.contact_id, sizeof(c->d.contact_id), "%s", c->conv->contact_id);
        snprintf(c->d.inbound_message_id, sizeof(c->d.inbound_message_id), "%s", c->message_id);
        snprintf(c->d.usage_id, sizeof(c->d.usage_id), "%s", c->u.id);
        c->d.text = c->t->text.len ? c->t->text.data : "";
        c->d.alternatives = c->t->alternatives.len ? c->t->alternatives.data : "[]";
        snprintf(c->d.reason, sizeof(c->d.reason), "%s", c->reason);
        snprintf(c->d.intent, sizeof(c->d.intent), "%s", c->t->intent);
        c->d.confidence = c->t->confidence;
        if ((rc = store_draft_insert(tx, tenant, &c->d, e)) == 0)
            rc = assistant__draft_event(tx, tenant, c->d.id, "draft.created", e);
        if (rc == 0 && c->cfg->draft_escalate_after_s > 0 && c->a->opt.queue) {
            buf_puts(&b, "{\"draft_id\":");
            buf_json_str(&b, c->d.id);
            buf_putc(&b, '}');
            rc = queue_push_tx(c->a->opt.queue, tx, tenant, ASSISTANT_JOB_ESCALATE, b.data, c->d.id,
                               c->cfg->draft_escalate_after_s * 1000, NULL, NULL, e);
            buf_reset(&b);
        }
    }
    if (rc == 0 && c->pause)
        rc = store_pause_set(tx, tenant, c->conv->id, c->reason, "", time_now_ms(), e);
    if (rc == 0 && c->event) {
        buf_puts(&b, "{\"conversation_id\":");
        buf_json_str(&b, c->conv->id);
        buf_puts(&b, ",\"message_id\":");
        buf_json_str(&b, c->message_id);
        buf_puts(&b, ",\"reason\":");
        buf_json_str(&b, c->reason);
        if (strcmp(c->event, "assistant.emergency") == 0)
            buf_printf(&b, ",\"on_call_notified\":%s", c->on_call_notified ? "true" : "false");
        buf_putc(&b, '}');
        rc = ops_event_append(tx, tenant, c->event, b.data, NULL, e);
    }
    buf_free(&b);
    return rc;
}

static const char *emergency_advice(const char *language)
{
    return strcmp(language, "es") == 0
               ? "Si es una emergencia que pone en riesgo la vida, llame ahora al número de emergencias local. "
                 "Hemos avisado a nuestro equipo de guardia."
               : "If this is a life-threatening emergency, call your local emergency number now. "
                 "We have alerted our on-call team.";
}

/* Alert the on-call contact (urgent, not held by quiet hours). */
static int alert_on_call(struct assistant *a, const char *tenant_id, const struct assistant_config *cfg,
                         const struct store_conversation *conv, const char *message_id, const char *text,
                         char *why, size_t whylen)
{
    struct messaging_send_request req;
    struct buf body = {0}, redacted = {0};
    char key[CORE_ID_MAX + 16];
    struct err e = {0};
    int rc;

    if (!cfg->on_call_contact_id || !*cfg->on_call_contact_id) {
        snprintf(why, whylen, "emergency: no on-call contact is configured");
        return 0;
    }
    assistant_redact(text ? text : "", &redacted);
    buf_printf(&body, "EMERGENCY from %s on %s: \"%.300s\" (conversation %s)",
               conv->contact_name[0] ? conv->contact_name : conv->contact_address, conv->channel,
               redacted.data ? redacted.data : "", conv->id);
    memset(&req, 0, sizeof(req));
    req.account_id = cfg->on_call_account_id && *cfg->on_call_account_id ? cfg->on_call_account_id : conv->account_id;
    req.contact_id = cfg->on_call_contact_id;
    req.text = body.data;
    snprintf(key, sizeof(key), "emergency:%s", message_id);
    req.idempotency_key = key;
    req.origin = "system";
    req.urgent = 1;
    rc = assistant__send(a, tenant_id, &req, NULL, &e);
    if (rc == 0)
        snprintf(why, whylen, "emergency: on-call contact alerted");
    else
        snprintf(why, whylen, "emergency: the on-call alert was refused (%.150s)", e.slug[0] ? e.slug : e.msg);
    buf_free(&body);
    buf_free(&redacted);
    return rc == 0;
}

/* Send text to the customer as the assistant; 0, or the send's error. */
static int send_customer(struct assistant *a, const char *tenant_id, const struct store_conversation *conv,
                         const char *message_id, const char *text, struct err *e)
{
    struct messaging_send_request req;
    char key[CORE_ID_MAX + 16], subject[ASSISTANT__SUBJECT_MAX];

    memset(&req, 0, sizeof(req));
    req.account_id = conv->account_id;
    req.contact_id = conv->contact_id;
    req.text = text;
    snprintf(key, sizeof(key), "assistant:%s", message_id);
    req.idempotency_key = key;
    req.origin = "assistant";
    /* An answer to a message the customer has just sent is a conversation,
     * not an outreach: quiet hours (for outreach) do not hold it. */
    req.urgent = 1;
    if (strcmp(conv->channel, "email") == 0) {
        assistant__reply_subject(a, tenant_id, message_id, subject);
        req.subject = subject;
    }
    return assistant__send(a, tenant_id, &req, NULL, e);
}

static int reply_job(void *ud, const struct queue_job *job, struct queue_result *res)
{
    struct assistant *a = ud;
    const char *tenant = job->tenant_id, *message_id, *conversation_id;
    struct assistant_config cfg;
    struct assistant_config_version ver;
    struct assistant_intents *intents = NULL;
    struct store_conversation conv;
    struct store_pause pause;
    struct history_ctx h;
    struct assistant_turn t;
    struct act c;
    char *api_key = NULL;
    const char *own[1];
    cJSON *p = NULL;
    struct err e = {0};
    int rc, exists = 0, out = QUEUE_RETRY;

    memset(&cfg, 0, sizeof(cfg));
    memset(&t, 0, sizeof(t));
    memset(&h, 0, sizeof(h));
    if (json_parse(&p, job->payload, strlen(job->payload), &e) != 0 || !(message_id = json_str(p, "message_id")) ||
        !(conversation_id = json_str(p, "conversation_id"))) {
        snprintf(res->error, sizeof(res->error), "bad payload");
        cJSON_Delete(p);
        return QUEUE_FAIL;
    }
    if ((rc = store_pause_get(a->opt.db, tenant, conversation_id, &pause, &e)) ||
        (rc = store_usage_exists(a->opt.db, tenant, message_id, &exists, &e)))
        goto done;
    if (pause.paused || exists) {
        out = QUEUE_DONE;
        goto done;
    }
    if ((rc = assistant_config_current(a->opt.db, tenant, &cfg, &ver, &e)) ||
        (rc = store_conversation_get(a->opt.db, tenant, conversation_id, &conv, &e)))
        goto done;
    h.arena = arena_new();
    h.target_id = message_id;
    rc = store_message_list(a->opt.db, tenant, conversation_id, time_now_ms() - HISTORY_WINDOW_MS, "", 1000,
                            history_cb, &h, &e);
    if (rc)
        goto done;
    if (!h.seen || h.later_inbound || !cfg.enabled) {
        out = QUEUE_DONE; /* gone, superseded by a later message (its own job answers), or switched off */
        goto done;
    }
    if (strcmp(cfg.provider_kind, "openai") == 0 &&
        (rc = assistant_config_api_key(a->opt.db, a->opt.keys, tenant, &api_key, &e)))
        goto done;
    if ((rc = assistant_turn_intents(&cfg, &intents, &e)))
        goto done;
    own[0] = h.address[0] ? h.address : conv.contact_address;
    struct assistant_turn_input in = {
        .cfg = &cfg,
        .tenant_id = tenant,
        .channel = conv.channel,
        .language = language_of(&cfg, h.text),
        .text = h.text,
        .history = h.h,
        .nhistory = h.n,
        .own = own,
        .nown = 1,
        .api_key = api_key,
        .breaker = a->breaker,
        .in_hours = in_hours(a, tenant, &cfg),
        .intents = intents,
        .llm_timeout_ms = a->opt.llm_timeout_ms,
    };
    if ((rc = assistant_turn_run(a->opt.db, &in, &t, &e)))
        goto done;

    memset(&c, 0, sizeof(c));
    c.a = a;
    c.tenant_id = tenant;
    c.conv = &conv;
    c.message_id = message_id;
    c.cfg = &cfg;
    c.version = ver.version;
    c.t = &t;
    snprintf(c.reason, sizeof(c.reason), "%s", t.reason);
    switch (t.action) {
    case ASSISTANT_SKIP:
        out = QUEUE_DONE;
        goto done;
    case ASSISTANT_SEND:
        c.outcome = "sent";
        rc = send_customer(a, tenant, &conv, message_id, t.text.data ? t.text.data : "", &e);
        if (rc && refused(rc)) { /* a person may still find a way (a template, another channel) */
            snprintf(c.reason, sizeof(c.reason), "send refused: %.200s", e.slug[0] ? e.slug : e.msg);
            c.outcome = "drafted";
            c.draft = 1;
            rc = 0;
        }
        break;
    case ASSISTANT_DRAFT:
        c.outcome = "drafted";
        c.draft = 1;
        break;
    case ASSISTANT_HANDOVER:
        c.outcome = "handed_over";
        c.pause = 1;
        c.event = "assistant.handover";
        if (t.text.len && (rc = send_customer(a, tenant, &conv, message_id, t.text.data, &e)) && refused(rc))
            rc = 0; /* the person taking over answers anyway */
        break;
    case ASSISTANT_EMERGENCY:
        c.outcome = "emergency";
        c.pause = 1;
        c.event = "assistant.emergency";
        c.on_call_notified = alert_on_call(a, tenant, &cfg, &conv, message_id, h.text, c.reason, sizeof(c.reason));
        if ((rc = send_customer(a, tenant, &conv, message_id, emergency_advice(in.language), &e)) && refused(rc))
            rc = 0;
        break;
    }
    if (rc == 0)
        rc = assistant__write(a, act_write, &c, &e);
    if (rc == 0)
        out = QUEUE_DONE;
done:
    if (out != QUEUE_DONE && rc)
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
    if (out != QUEUE_DONE && rc && refused(rc) && rc != ERR_CONFLICT)
        out = QUEUE_FAIL;
    assistant_turn_free(&t);
    assistant_intents_free(intents);
    assistant_config_free(&cfg);
    arena_free(h.arena);
    free(api_key);
    cJSON_Delete(p);
    return out;
}

/* ---------------------------------------------------------- escalation */

struct escalate_ctx {
    const char *tenant_id;
    const char *draft_id;
};

static int escalate_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct escalate_ctx *c = ud;
    int changed = 0, rc;

    if ((rc = store_draft_escalate(tx, c->tenant_id, c->draft_id, time_now_ms(), &changed, e)) || !changed)
        return rc;
    if ((rc = assistant__draft_event(tx, c->tenant_id, c->draft_id, "draft.updated", e)))
        return rc;
    return assistant__draft_event(tx, c->tenant_id, c->draft_id, "draft.escalated", e);
}

static int escalate_job(void *ud, const struct queue_job *job, struct queue_result *res)
{
    struct assistant *a = ud;
    cJSON *p = NULL;
    struct err e = {0};
    const char *id;
    int rc;

    if (json_parse(&p, job->payload, strlen(job->payload), &e) != 0 || !(id = json_str(p, "draft_id"))) {
        snprintf(res->error, sizeof(res->error), "bad payload");
        cJSON_Delete(p);
        return QUEUE_FAIL;
    }
    struct escalate_ctx c = {job->tenant_id, id};
    rc = assistant__write(a, escalate_write, &c, &e);
    cJSON_Delete(p);
    if (rc)
        snprintf(res->error, sizeof(res->error), "%s", e.msg);
    return rc == 0 ? QUEUE_DONE : QUEUE_RETRY;
}

/* ----------------------------------------------------------- lifecycle */

int assistant_new(struct assistant **out, const struct assistant_options *opt, struct err *e)
{
    struct assistant *a;
    int rc;

    *out = NULL;
    if (!opt || !opt->db || !opt->keys || !opt->msg)
        return err_set(e, ERR_INVALID, NULL, "assistant: db, keys and messaging are required");
    if (!(a = calloc(1, sizeof(*a))))
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    a->opt = *opt;
    if (a->opt.breaker_threshold <= 0)
        a->opt.breaker_threshold = 5;
    if (a->opt.breaker_cooldown_ms <= 0)
        a->opt.breaker_cooldown_ms = 30000;
    if (a->opt.llm_timeout_ms <= 0)
        a->opt.llm_timeout_ms = 20000;
    pthread_mutex_init(&a->mu, NULL);
    if ((rc = assistant_breaker_new(&a->breaker, a->opt.breaker_threshold, a->opt.breaker_cooldown_ms, NULL, NULL,
                                    e))) {
        assistant_free(a);
        return rc;
    }
    if (a->opt.queue) {
        struct queue_type reply_t = {.name = ASSISTANT_JOB_REPLY, .handler = reply_job, .ud = a, .max_attempts = 5,
                                     .base_backoff_ms = 2000, .max_backoff_ms = 60000};
        struct queue_type esc_t = {.name = ASSISTANT_JOB_ESCALATE, .handler = escalate_job, .ud = a,
                                   .max_attempts = 10};
        if ((rc = queue_register(a->opt.queue, &reply_t, e)) || (rc = queue_register(a->opt.queue, &esc_t, e))) {
            assistant_free(a);
            return rc;
        }
    }
    messaging_set_inbound_hook(a->opt.msg, hook, a);
    *out = a;
    return 0;
}

void assistant_free(struct assistant *a)
{
    if (!a)
        return;
    assistant_breaker_free(a->breaker);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
