/*
 * assistant_drafts: what people do with the assistant's work (see "The
 * assistant at work" in assistant.h): the draft queue and its decisions,
 * pausing and resuming the assistant in a conversation, and the usage
 * analytics.
 *
 * Approving a draft is a compare-and-set (pending -> sending) before the
 * send and a decision after it, so two people approving at once send one
 * message, and a draft that went stale meanwhile is never sent. A send
 * the gate refuses puts the draft back to pending.
 */
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"

#define DRAFT_TEXT_MAX 8192

/* ------------------------------------------------------- edit distance */

/* Decode text into code points (invalid bytes count as one each). */
static uint32_t *code_points(const char *s, size_t *n)
{
    size_t len = strlen(s), k = 0;
    uint32_t *v = malloc((len + 1) * sizeof(*v));

    if (!v)
        return NULL;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        uint32_t cp = extra ? c & (0x3f >> extra) : c;
        size_t j = 1;
        for (; j <= (size_t)extra && i + j < len && ((unsigned char)s[i + j] & 0xc0) == 0x80; j++)
            cp = cp << 6 | ((unsigned char)s[i + j] & 0x3f);
        if (j <= (size_t)extra) { /* truncated sequence: the lead byte alone */
            cp = c;
            j = 1;
        }
        v[k++] = cp;
        i += j;
    }
    *n = k;
    return v;
}

int64_t assistant_edit_distance(const char *a, const char *b)
{
    size_t n = 0, m = 0;
    uint32_t *x = code_points(a ? a : "", &n), *y = code_points(b ? b : "", &m);
    int64_t *row = calloc(m + 1, sizeof(*row)), d = -1;

    if (x && y && row) {
        for (size_t j = 0; j <= m; j++)
            row[j] = (int64_t)j;
        for (size_t i = 1; i <= n; i++) {
            int64_t diag = row[0];
            row[0] = (int64_t)i;
            for (size_t j = 1; j <= m; j++) {
                int64_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
                if (up + 1 < best)
                    best = up + 1;
                if (row[j - 1] + 1 < best)
                    best = row[j - 1] + 1;
                row[j] = best;
                diag = up;
            }
        }
        d = row[m];
    }
    free(x);
    free(y);
    free(row);
    return d;
}

/* --------------------------------------------------------------- drafts */


void assistant_draft_json(struct buf *b, const struct store_draft *d)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, d->id);
    buf_puts(b, ",\"conversation_id\":");
    buf_json_str(b, d->conversation_id);
    buf_puts(b, ",\"contact_id\":");
    buf_json_str(b, d->contact_id);
    buf_puts(b, ",\"contact_name\":");
    buf_json_str(b, d->contact_name);
    buf_puts(b, ",\"account_id\":");
    buf_json_str(b, d->account_id);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, d->channel);
    buf_puts(b, ",\"inbound_message_id\":");
    buf_json_str(b, d->inbound_message_id);
    buf_puts(b, ",\"inbound_text\":");
    buf_json_str(b, d->inbound_text ? d->inbound_text : "");
    buf_puts(b, ",\"text\":");
    buf_json_str(b, d->text ? d->text : "");
    buf_puts(b, ",\"alternatives\":");
    buf_puts(b, d->alternatives && *d->alternatives ? d->alternatives : "[]");
    buf_puts(b, ",\"reason\":");
    buf_json_str(b, d->reason);
    buf_puts(b, ",\"intent\":");
    buf_json_str(b, d->intent);
    buf_printf(b, ",\"confidence\":%.3f,\"status\":", d->confidence);
    /* "sending" is the moment between the compare-and-set and the commit. */
    buf_json_str(b, strcmp(d->status, "sending") == 0 ? "pending" : d->status);
    buf_puts(b, ",\"final_text\":");
    buf_json_str(b, d->final_text);
    if (d->edit_distance >= 0)
        buf_printf(b, ",\"edit_distance\":%lld", (long long)d->edit_distance);
    else
        buf_puts(b, ",\"edit_distance\":null");
    buf_puts(b, ",\"reject_reason\":");
    buf_json_str(b, d->reject_reason);
    buf_puts(b, ",\"decided_by\":");
    buf_json_str(b, d->decided_by);
    buf_puts(b, ",\"decided_at\":");
    buf_json_time(b, d->decided_at);
    buf_puts(b, ",\"sent_message_id\":");
    buf_json_str(b, d->sent_message_id[0] ? d->sent_message_id : NULL);
    buf_printf(b, ",\"escalated\":%s,\"escalated_at\":", d->escalated_at > 0 ? "true" : "false");
    buf_json_time(b, d->escalated_at);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, d->created_at);
    buf_putc(b, '}');
}

struct list_ctx {
    struct buf *b;
    int n, limit;
    int64_t last_at;
    char last_id[CORE_ID_MAX];
};

static int list_cb(void *ud, const struct store_draft *d)
{
    struct list_ctx *c = ud;
    if (c->n == c->limit) { /* the one extra row: there is a next page */
        c->n++;
        return 0;
    }
    if (c->n++)
        buf_putc(c->b, ',');
    assistant_draft_json(c->b, d);
    c->last_at = d->created_at;
    snprintf(c->last_id, sizeof(c->last_id), "%s", d->id);
    return 0;
}

static const char *const statuses[] = {"pending", "sent", "rejected", "stale", "handed_over"};

int assistant_draft_list(struct assistant *a, const char *tenant_id, const char *status, const char *cursor,
                         int limit, struct buf *out, struct err *e)
{
    struct list_ctx c = {out, 0, limit, 0, ""};
    int64_t before_at = 0;
    char before_id[CORE_ID_MAX] = "";
    const char *st = "";
    int rc;

    if (limit < 1 || limit > 200)
        return err_set(e, ERR_INVALID, "invalid_request", "limit must be 1 to 200");
    if (status && *status && strcmp(status, "all") != 0) {
        size_t i = 0;
        while (i < sizeof(statuses) / sizeof(*statuses) && strcmp(statuses[i], status) != 0)
            i++;
        if (i == sizeof(statuses) / sizeof(*statuses))
            return err_set(e, ERR_INVALID, "invalid_request",
                           "status must be one of pending, sent, rejected, stale, handed_over, all");
        st = statuses[i];
    }
    if (cursor && *cursor) {
        char *end = NULL;
        before_at = strtoll(cursor, &end, 10);
        if (before_at <= 0 || !end || *end != '.' || strlen(end + 1) == 0 || strlen(end + 1) >= sizeof(before_id))
            return err_set(e, ERR_INVALID, "invalid_cursor", "the cursor is not one this API gave");
        snprintf(before_id, sizeof(before_id), "%s", end + 1);
    }
    buf_puts(out, "{\"data\":[");
    rc = store_draft_list(a->opt.db, tenant_id, st, before_at, before_id, limit + 1, list_cb, &c, e);
    if (rc)
        return rc;
    buf_puts(out, "],\"next_cursor\":");
    if (c.n > limit)
        buf_printf(out, "\"%lld.%s\"}", (long long)c.last_at, c.last_id);
    else
        buf_puts(out, "null}");
    return 0;
}

static int json_cb(void *ud, const struct store_draft *d)
{
    assistant_draft_json(ud, d);
    return 0;
}

int assistant_draft_get(struct assistant *a, const char *tenant_id, const char *id, struct buf *out, struct err *e)
{
    return store_draft_get(a->opt.db, tenant_id, id, json_cb, out, e);
}

/* A draft's facts kept for a decision. */
struct draft_copy {
    struct store_draft d;
    char *text;
};

static int copy_cb(void *ud, const struct store_draft *d)
{
    struct draft_copy *c = ud;
    c->d = *d;
    c->text = strdup(d->text ? d->text : "");
    c->d.text = c->text;
    c->d.alternatives = NULL;
    c->d.final_text = NULL;
    c->d.inbound_text = NULL;
    return c->text ? 0 : ERR_NOMEM;
}

struct decide_ctx {
    const char *tenant_id;
    const char *id;
    const char *from, *to;        /* the compare-and-set, or from NULL */
    const struct store_draft_decision *decision;
    const char *usage_id;
    const char *outcome;
    int changed;
};

static int decide_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct decide_ctx *c = ud;
    int rc;

    if (c->from) {
        if ((rc = store_draft_cas(tx, c->tenant_id, c->id, c->from, c->to, &c->changed, e)) || !c->changed)
            return rc;
        if (strcmp(c->to, "sending") == 0) /* nothing to tell anyone yet */
            return 0;
    }
    if (c->decision && (rc = store_draft_decide(tx, c->tenant_id, c->id, c->decision, e)))
        return rc;
    if (c->outcome && c->usage_id[0] && (rc = store_usage_outcome(tx, c->tenant_id, c->usage_id, c->outcome, e)))
        return rc;
    return assistant__draft_event(tx, c->tenant_id, c->id, "draft.updated", e);
}

static int not_pending(struct err *e)
{
    return err_set(e, ERR_CONFLICT, "draft_not_pending", "the draft was already decided or became stale");
}

static int load(struct assistant *a, const char *tenant_id, const char *id, struct draft_copy *dc, struct err *e)
{
    memset(dc, 0, sizeof(*dc));
    return store_draft_get(a->opt.db, tenant_id, id, copy_cb, dc, e);
}

int assistant_draft_approve(struct assistant *a, const char *tenant_id, const char *id, const char *text,
                            const struct assistant_actor *who, struct buf *out, struct err *e)
{
    struct draft_copy dc;
    struct messaging_send_request req;
    char key[CORE_ID_MAX + 16], sent[CORE_ID_MAX] = "", subject[ASSISTANT__SUBJECT_MAX];
    int rc;

    if (text && (!*text || strlen(text) > DRAFT_TEXT_MAX || !assistant__utf8_valid(text, strlen(text))))
        return err_set(e, ERR_INVALID, "invalid_request", "text must be 1 to %d bytes of UTF-8", DRAFT_TEXT_MAX);
    if ((rc = load(a, tenant_id, id, &dc, e)))
        return rc;
    struct decide_ctx claim = {tenant_id, id, "pending", "sending", NULL, dc.d.usage_id, NULL, 0};
    if ((rc = assistant__write(a, decide_write, &claim, e)))
        goto out;
    if (!claim.changed) {
        rc = not_pending(e);
        goto out;
    }
    memset(&req, 0, sizeof(req));
    req.account_id = dc.d.account_id;
    req.contact_id = dc.d.contact_id;
    req.text = text ? text : dc.text;
    snprintf(key, sizeof(key), "draft:%s", id);
    req.idempotency_key = key;
    req.origin = strcmp(who->type, "user") == 0 ? "agent" : "api"; /* a person's (or an integration's) reply now */
    req.sent_by = who->id;
    if (strcmp(dc.d.channel, "email") == 0) {
        assistant__reply_subject(a, tenant_id, dc.d.inbound_message_id, subject);
        req.subject = subject;
    }
    if ((rc = assistant__send(a, tenant_id, &req, sent, e))) {
        struct err ignore = {0};
        struct decide_ctx back = {tenant_id, id, "sending", "pending", NULL, "", NULL, 0};
        assistant__write(a, decide_write, &back, &ignore); /* it stays in the queue */
        goto out;
    }
    {
        int64_t dist = assistant_edit_distance(dc.text, req.text);
        struct store_draft_decision d = {"sent", req.text, dist, "", who->id, time_now_ms(), sent};
        struct decide_ctx done = {tenant_id, id, NULL, NULL, &d, dc.d.usage_id, dist == 0 ? "approved" : "edited", 0};
        if ((rc = assistant__write(a, decide_write, &done, e)))
            goto out;
        char detail[160];
        snprintf(detail, sizeof(detail), "{\"edit_distance\":%lld}", (long long)dist);
        assistant__audit(a->opt.db, tenant_id, who, "assistant.draft.approve", id, detail);
    }
    rc = assistant_draft_get(a, tenant_id, id, out, e);
out:
    free(dc.text);
    return rc;
}

int assistant_draft_reject(struct assistant *a, const char *tenant_id, const char *id, const char *reason,
                           const struct assistant_actor *who, struct buf *out, struct err *e)
{
    struct draft_copy dc;
    int rc;

    if (!reason || !*reason || strlen(reason) > 250 || !assistant__utf8_valid(reason, strlen(reason)))
        return err_set(e, ERR_INVALID, "invalid_request", "a reason of 1 to 250 bytes is required");
    if ((rc = load(a, tenant_id, id, &dc, e)))
        return rc;
    struct store_draft_decision d = {"rejected", NULL, -1, reason, who->id, time_now_ms(), ""};
    struct decide_ctx c = {tenant_id, id, "pending", "rejected", &d, dc.d.usage_id, "rejected", 0};
    if ((rc = assistant__write(a, decide_write, &c, e)) == 0 && !c.changed)
        rc = not_pending(e);
    if (rc == 0) {
        assistant__audit(a->opt.db, tenant_id, who, "assistant.draft.reject", id, NULL);
        rc = assistant_draft_get(a, tenant_id, id, out, e);
    }
    free(dc.text);
    return rc;
}

/* --------------------------------------------------------------- pauses */

static void pause_json(struct buf *b, const struct store_pause *p)
{
    buf_printf(b, "{\"paused\":%s,\"reason\":", p->paused ? "true" : "false");
    buf_json_str(b, p->reason);
    buf_puts(b, ",\"paused_by\":");
    buf_json_str(b, p->paused_by);
    buf_puts(b, ",\"paused_at\":");
    buf_json_time(b, p->paused_at);
    buf_putc(b, '}');
}

int assistant_pause_json(struct assistant *a, const char *tenant_id, const char *conversation_id, struct buf *out,
                         struct err *e)
{
    struct store_conversation conv;
    struct store_pause p;
    int rc;

    if ((rc = store_conversation_get(a->opt.db, tenant_id, conversation_id, &conv, e)) ||
        (rc = store_pause_get(a->opt.db, tenant_id, conversation_id, &p, e)))
        return rc;
    pause_json(out, &p);
    return 0;
}

struct pause_ctx {
    const char *tenant_id;
    const char *conversation_id;
    const char *reason;           /* NULL: resume */
    const char *by;
};

static int pause_write(void *ud, struct store_tx *tx, struct err *e)
{
    struct pause_ctx *c = ud;
    struct buf b = {0};
    int rc = c->reason ? store_pause_set(tx, c->tenant_id, c->conversation_id, c->reason, c->by, time_now_ms(), e)
                       : store_pause_clear(tx, c->tenant_id, c->conversation_id, e);
    if (rc == 0) {
        buf_puts(&b, "{\"conversation_id\":");
        buf_json_str(&b, c->conversation_id);
        buf_putc(&b, '}');
        rc = ops_event_append(tx, c->tenant_id, c->reason ? "assistant.paused" : "assistant.resumed", b.data, NULL,
                              e);
    }
    buf_free(&b);
    return rc;
}

static int pause_change(struct assistant *a, const char *tenant_id, const char *conversation_id, const char *reason,
                        const struct assistant_actor *who, struct buf *out, struct err *e)
{
    struct store_conversation conv;
    struct pause_ctx c = {tenant_id, conversation_id, reason, who->id};
    int rc;

    if (reason && (strlen(reason) > 250 || !assistant__utf8_valid(reason, strlen(reason))))
        return err_set(e, ERR_INVALID, "invalid_request", "the reason is at most 250 bytes of UTF-8");
    if ((rc = store_conversation_get(a->opt.db, tenant_id, conversation_id, &conv, e)) ||
        (rc = assistant__write(a, pause_write, &c, e)))
        return rc;
    assistant__audit(a->opt.db, tenant_id, who, reason ? "assistant.pause" : "assistant.resume", conversation_id, NULL);
    return assistant_pause_json(a, tenant_id, conversation_id, out, e);
}

int assistant_pause(struct assistant *a, const char *tenant_id, const char *conversation_id, const char *reason,
                    const struct assistant_actor *who, struct buf *out, struct err *e)
{
    return pause_change(a, tenant_id, conversation_id, reason ? reason : "", who, out, e);
}

int assistant_resume(struct assistant *a, const char *tenant_id, const char *conversation_id,
                     const struct assistant_actor *who, struct buf *out, struct err *e)
{
    return pause_change(a, tenant_id, conversation_id, NULL, who, out, e);
}

/* ------------------------------------------------------------ analytics */

/* Per-day counters, in the order days come (ascending). */
struct day {
    char day[11];
    int64_t turns, sent, drafted, approved, edited, rejected, handed_over, stale, emergency, failed;
    int64_t latency_sum, cost, prompt_tokens, completion_tokens;
};

struct days {
    struct day *v;
    int n, cap;
};

static int day_cb(void *ud, const struct store_usage_day *u)
{
    struct days *ds = ud;
    struct day *d;

    if (ds->n == 0 || strcmp(ds->v[ds->n - 1].day, u->day) != 0) {
        if (ds->n == ds->cap) {
            int cap = ds->cap ? ds->cap * 2 : 32;
            void *v = realloc(ds->v, (size_t)cap * sizeof(*ds->v));
            if (!v)
                return ERR_NOMEM;
            ds->v = v;
            ds->cap = cap;
        }
        memset(&ds->v[ds->n], 0, sizeof(*ds->v));
        snprintf(ds->v[ds->n].day, sizeof(ds->v[ds->n].day), "%s", u->day);
        ds->n++;
    }
    d = &ds->v[ds->n - 1];
    d->turns += u->turns;
    d->latency_sum += u->latency_ms_sum;
    d->cost += u->cost_micros;
    d->prompt_tokens += u->prompt_tokens;
    d->completion_tokens += u->completion_tokens;
#define OUTCOME(name)                           \
    if (strcmp(u->outcome, #name) == 0)         \
        d->name += u->turns;
    OUTCOME(sent)
    OUTCOME(drafted)
    OUTCOME(approved)
    OUTCOME(edited)
    OUTCOME(rejected)
    OUTCOME(handed_over)
    OUTCOME(stale)
    OUTCOME(emergency)
    OUTCOME(failed)
#undef OUTCOME
    return 0;
}

static void rate(struct buf *b, const char *name, int64_t num, int64_t den)
{
    if (den > 0)
        buf_printf(b, ",\"%s\":%.4f", name, (double)num / (double)den);
    else
        buf_printf(b, ",\"%s\":null", name);
}

struct intents_ctx {
    struct buf *b;
    int n;
};

static int intent_cb(void *ud, const char *day, const char *intent, int64_t count)
{
    struct intents_ctx *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    buf_puts(c->b, "{\"day\":");
    buf_json_str(c->b, day);
    buf_puts(c->b, ",\"intent\":");
    buf_json_str(c->b, intent);
    buf_printf(c->b, ",\"count\":%lld}", (long long)count);
    return 0;
}

static void day_str(int64_t ms, char out[48])
{
    int64_t days = ms / 86400000;
    /* civil from days (H. Hinnant) */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(out, 48, "%04lld-%02lld-%02lld", (long long)(y + (m <= 2)), (long long)m, (long long)d);
}

int assistant_analytics(struct assistant *a, const char *tenant_id, int64_t from, int64_t to, struct buf *out,
                        struct err *e)
{
    struct days ds = {0};
    struct day t;
    struct intents_ctx ic = {out, 0};
    char f[48], l[48];
    int rc;

    if (from < 0 || to <= from)
        return err_set(e, ERR_INVALID, "invalid_request", "from must be before to");
    if ((rc = store_usage_days(a->opt.db, tenant_id, from, to, day_cb, &ds, e))) {
        free(ds.v);
        return rc == ERR_NOMEM ? err_set(e, ERR_NOMEM, NULL, "out of memory") : rc;
    }
    memset(&t, 0, sizeof(t));
    for (int i = 0; i < ds.n; i++) {
        t.turns += ds.v[i].turns;
        t.sent += ds.v[i].sent;
        t.drafted += ds.v[i].drafted;
        t.approved += ds.v[i].approved;
        t.edited += ds.v[i].edited;
        t.rejected += ds.v[i].rejected;
        t.handed_over += ds.v[i].handed_over;
        t.stale += ds.v[i].stale;
        t.emergency += ds.v[i].emergency;
        t.failed += ds.v[i].failed;
        t.latency_sum += ds.v[i].latency_sum;
        t.cost += ds.v[i].cost;
        t.prompt_tokens += ds.v[i].prompt_tokens;
        t.completion_tokens += ds.v[i].completion_tokens;
    }
    day_str(from, f);
    day_str(to - 1, l);
    buf_printf(out, "{\"from\":\"%s\",\"to\":\"%s\",\"totals\":{", f, l);
    buf_printf(out,
               "\"turns\":%lld,\"sent\":%lld,\"drafted\":%lld,\"approved\":%lld,\"edited\":%lld,\"rejected\":%lld,"
               "\"handed_over\":%lld,\"stale\":%lld,\"emergency\":%lld,\"failed\":%lld",
               (long long)t.turns, (long long)t.sent, (long long)t.drafted, (long long)t.approved,
               (long long)t.edited, (long long)t.rejected, (long long)t.handed_over, (long long)t.stale,
               (long long)t.emergency, (long long)t.failed);
    /* Contained: answered with no person involved (sent automatically). */
    rate(out, "containment_rate", t.sent, t.turns);
    rate(out, "approval_rate", t.approved + t.edited, t.approved + t.edited + t.rejected);
    rate(out, "edit_rate", t.edited, t.approved + t.edited);
    buf_printf(out, ",\"prompt_tokens\":%lld,\"completion_tokens\":%lld,\"cost_micros\":%lld",
               (long long)t.prompt_tokens, (long long)t.completion_tokens, (long long)t.cost);
    if (t.turns)
        buf_printf(out, ",\"latency_avg_ms\":%lld", (long long)(t.latency_sum / t.turns));
    else
        buf_puts(out, ",\"latency_avg_ms\":null");
    buf_puts(out, "},\"days\":[");
    for (int i = 0; i < ds.n; i++) {
        const struct day *d = &ds.v[i];
        buf_printf(out,
                   "%s{\"day\":\"%s\",\"turns\":%lld,\"contained\":%lld,\"handed_over\":%lld,\"drafted\":%lld,"
                   "\"approved\":%lld,\"edited\":%lld,\"rejected\":%lld,\"emergency\":%lld,\"latency_avg_ms\":%lld,"
                   "\"cost_micros\":%lld}",
                   i ? "," : "", d->day, (long long)d->turns, (long long)d->sent, (long long)d->handed_over,
                   (long long)d->drafted, (long long)d->approved, (long long)d->edited, (long long)d->rejected,
                   (long long)d->emergency, (long long)(d->turns ? d->latency_sum / d->turns : 0),
                   (long long)d->cost);
    }
    free(ds.v);
    buf_puts(out, "],\"intents\":[");
    if ((rc = store_usage_intents(a->opt.db, tenant_id, from, to, intent_cb, &ic, e)))
        return rc;
    buf_puts(out, "]}");
    return 0;
}
