/*
 * store assistant: turns (llm_usage), drafts, prompt logs and paused
 * conversations. See store_assistant.h.
 *
 * Confidence is a REAL column; the statement API binds and reads text and
 * integers only, so it travels as text ("%.6f") both ways.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static int need_tx(const struct store_tx *tx, const char *tenant_id, struct err *e)
{
    return store__need_tx(tx, tenant_id, e);
}

/* ------------------------------------------------------------------ turns */

int store_usage_insert(struct store_tx *tx, const char *tenant_id, struct store_usage *u, struct err *e)
{
    char conf[32];
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    if (!u->id[0])
        crypto_time_id(u->id, sizeof(u->id), "use", time_now_ms());
    if (!u->created_at)
        u->created_at = time_now_ms();
    snprintf(conf, sizeof(conf), "%.6f", u->confidence);
    struct store_param p[] = {
        store__ptext(u->id),          store__ptext(tenant_id),       store__ptext(u->conversation_id),
        store__ptext(u->message_id),  store__ptext(u->channel),      store__ptext(u->provider),
        store__ptext(u->model),       store__pint(u->prompt_tokens), store__pint(u->completion_tokens),
        store__pint(u->latency_ms),   store__pint(u->cost_micros),   store__ptext(u->intent),
        store__ptext(conf),           store__ptext(u->outcome),      store__ptext(u->reason),
        store__pint(u->config_version), store__pint(u->created_at),  store__pint(u->created_at),
    };
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO llm_usage (id, tenant_id, conversation_id, message_id, channel, provider, model,"
                  " prompt_tokens, completion_tokens, latency_ms, cost_micros, intent, confidence, outcome, reason,"
                  " config_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                  " ?, ?) ON CONFLICT (tenant_id, message_id) DO NOTHING",
                  p, 18, NULL, NULL, &n, e);
    if (rc == 0 && n == 0)
        return err_set(e, ERR_CONFLICT, "duplicate", "the message already has an assistant turn");
    return rc;
}

int store_usage_outcome(struct store_tx *tx, const char *tenant_id, const char *usage_id, const char *outcome,
                        struct err *e)
{
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(outcome), store__pint(time_now_ms()), store__ptext(tenant_id),
                              store__ptext(usage_id)};
    rc = store__q(tx->db, tx->c, "UPDATE llm_usage SET outcome = ?, updated_at = ? WHERE tenant_id = ? AND id = ?", p,
                  4, NULL, NULL, &n, e);
    if (rc == 0 && n == 0)
        return err_set(e, ERR_NOTFOUND, "not_found", "assistant turn not found");
    return rc;
}

int store_usage_exists(struct store *db, const char *tenant_id, const char *message_id, int *out, struct err *e)
{
    int64_t n = 0;
    int rc;

    struct store_param p[] = {store__ptext(tenant_id), store__ptext(message_id)};
    rc = store__get_one(db, "SELECT COUNT(*) FROM llm_usage WHERE tenant_id = ? AND message_id = ?", p, 2,
                        store__row_int, &n, NULL, e);
    *out = n > 0;
    return rc;
}

struct day_ctx {
    store_usage_day_cb cb;
    void *ud;
};

static int day_row(void *ud, const struct store_row *r)
{
    struct day_ctx *c = ud;
    struct store_usage_day d;

    memset(&d, 0, sizeof(d));
    store__cpy(d.day, sizeof(d.day), store__col_text(r, 0));
    store__cpy(d.outcome, sizeof(d.outcome), store__col_text(r, 1));
    d.turns = store__col_int(r, 2);
    d.latency_ms_sum = store__col_int(r, 3);
    d.cost_micros = store__col_int(r, 4);
    d.prompt_tokens = store__col_int(r, 5);
    d.completion_tokens = store__col_int(r, 6);
    return c->cb(c->ud, &d);
}

int store_usage_days(struct store *db, const char *tenant_id, int64_t from, int64_t to, store_usage_day_cb cb,
                     void *ud, struct err *e)
{
    struct day_ctx c = {cb, ud};
    struct store_param p[] = {store__ptext(tenant_id), store__pint(from), store__pint(to)};

    if (store__is_pg(db))
        return store__list(db,
                           "SELECT to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
                           " outcome, COUNT(*), SUM(latency_ms), SUM(cost_micros), SUM(prompt_tokens),"
                           " SUM(completion_tokens) FROM llm_usage WHERE tenant_id = ? AND created_at >= ? AND"
                           " created_at < ? GROUP BY 1, 2 ORDER BY 1, 2",
                           p, 3, day_row, &c, e);
    return store__list(db,
                       "SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day, outcome, COUNT(*),"
                       " SUM(latency_ms), SUM(cost_micros), SUM(prompt_tokens), SUM(completion_tokens) FROM llm_usage"
                       " WHERE tenant_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1, 2 ORDER BY 1, 2",
                       p, 3, day_row, &c, e);
}

struct intent_ctx {
    store_usage_intent_cb cb;
    void *ud;
};

static int intent_row(void *ud, const struct store_row *r)
{
    struct intent_ctx *c = ud;
    return c->cb(c->ud, store__col_text(r, 0), store__col_text(r, 1), store__col_int(r, 2));
}

int store_usage_intents(struct store *db, const char *tenant_id, int64_t from, int64_t to, store_usage_intent_cb cb,
                        void *ud, struct err *e)
{
    struct intent_ctx c = {cb, ud};
    struct store_param p[] = {store__ptext(tenant_id), store__pint(from), store__pint(to)};

    if (store__is_pg(db))
        return store__list(db,
                           "SELECT to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
                           " intent, COUNT(*) FROM llm_usage WHERE tenant_id = ? AND created_at >= ? AND"
                           " created_at < ? GROUP BY 1, 2 ORDER BY 1, 2",
                           p, 3, intent_row, &c, e);
    return store__list(db,
                       "SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day, intent, COUNT(*) FROM"
                       " llm_usage WHERE tenant_id = ? AND created_at >= ? AND created_at < ? GROUP BY 1, 2"
                       " ORDER BY 1, 2",
                       p, 3, intent_row, &c, e);
}

/* ----------------------------------------------------------------- drafts */

#define DRAFT_COLS                                                                                                  \
    "d.id, d.conversation_id, d.account_id, d.contact_id, d.inbound_message_id, d.usage_id, d.text,"              \
    " d.alternatives, d.reason, d.intent, d.confidence, d.status, d.final_text, d.edit_distance, d.reject_reason," \
    " d.decided_by, d.decided_at, d.sent_message_id, d.escalated_at, d.created_at, COALESCE(c.name, ''),"        \
    " COALESCE(v.channel, ''), COALESCE(m.body, '')"
#define DRAFT_FROM                                                                                                 \
    " FROM assistant_drafts d LEFT JOIN contacts c ON c.tenant_id = d.tenant_id AND c.id = d.contact_id"         \
    " LEFT JOIN conversations v ON v.tenant_id = d.tenant_id AND v.id = d.conversation_id"                       \
    " LEFT JOIN messages m ON m.tenant_id = d.tenant_id AND m.id = d.inbound_message_id"

struct draft_ctx {
    store_draft_cb cb;
    void *ud;
    int n;
};

static int draft_row(void *ud, const struct store_row *r)
{
    struct draft_ctx *c = ud;
    struct store_draft d;

    memset(&d, 0, sizeof(d));
    store__cpy(d.id, sizeof(d.id), store__col_text(r, 0));
    store__cpy(d.conversation_id, sizeof(d.conversation_id), store__col_text(r, 1));
    store__cpy(d.account_id, sizeof(d.account_id), store__col_text(r, 2));
    store__cpy(d.contact_id, sizeof(d.contact_id), store__col_text(r, 3));
    store__cpy(d.inbound_message_id, sizeof(d.inbound_message_id), store__col_text(r, 4));
    store__cpy(d.usage_id, sizeof(d.usage_id), store__col_text(r, 5));
    d.text = store__col_text(r, 6);
    d.alternatives = store__col_text(r, 7);
    store__cpy(d.reason, sizeof(d.reason), store__col_text(r, 8));
    store__cpy(d.intent, sizeof(d.intent), store__col_text(r, 9));
    d.confidence = strtod(store__col_text(r, 10), NULL);
    store__cpy(d.status, sizeof(d.status), store__col_text(r, 11));
    d.final_text = r->be->col_null(r, 12) ? NULL : store__col_text(r, 12);
    d.edit_distance = r->be->col_null(r, 13) ? -1 : store__col_int(r, 13);
    store__cpy(d.reject_reason, sizeof(d.reject_reason), store__col_text(r, 14));
    store__cpy(d.decided_by, sizeof(d.decided_by), store__col_text(r, 15));
    d.decided_at = store__col_int(r, 16);
    store__cpy(d.sent_message_id, sizeof(d.sent_message_id), store__col_text(r, 17));
    d.escalated_at = store__col_int(r, 18);
    d.created_at = store__col_int(r, 19);
    store__cpy(d.contact_name, sizeof(d.contact_name), store__col_text(r, 20));
    store__cpy(d.channel, sizeof(d.channel), store__col_text(r, 21));
    d.inbound_text = store__col_text(r, 22);
    c->n++;
    return c->cb(c->ud, &d);
}

int store_draft_insert(struct store_tx *tx, const char *tenant_id, struct store_draft *d, struct err *e)
{
    char conf[32];
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    if (!d->id[0])
        crypto_time_id(d->id, sizeof(d->id), "drf", time_now_ms());
    if (!d->created_at)
        d->created_at = time_now_ms();
    snprintf(conf, sizeof(conf), "%.6f", d->confidence);
    struct store_param p[] = {
        store__ptext(d->id),         store__ptext(tenant_id),         store__ptext(d->conversation_id),
        store__ptext(d->account_id), store__ptext(d->contact_id),     store__ptext(d->inbound_message_id),
        store__ptext(d->usage_id),   store__ptext(d->text ? d->text : ""),
        store__ptext(d->alternatives && *d->alternatives ? d->alternatives : "[]"),
        store__ptext(d->reason),     store__ptext(d->intent),         store__ptext(conf),
        store__ptext(d->status[0] ? d->status : "pending"),           store__pint(d->created_at),
    };
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO assistant_drafts (id, tenant_id, conversation_id, account_id, contact_id,"
                  " inbound_message_id, usage_id, text, alternatives, reason, intent, confidence, status, created_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, inbound_message_id)"
                  " DO NOTHING",
                  p, 14, NULL, NULL, &n, e);
    if (rc == 0 && n == 0)
        return err_set(e, ERR_CONFLICT, "duplicate", "the message already has a draft");
    return rc;
}

int store_draft_get(struct store *db, const char *tenant_id, const char *id, store_draft_cb cb, void *ud,
                    struct err *e)
{
    struct draft_ctx c = {cb, ud, 0};
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(id)};
    return store__get_one(db, "SELECT " DRAFT_COLS DRAFT_FROM " WHERE d.tenant_id = ? AND d.id = ?", p, 2, draft_row,
                          &c, "draft", e);
}

int store_draft_get_tx(struct store_tx *tx, const char *tenant_id, const char *id, store_draft_cb cb, void *ud,
                       struct err *e)
{
    struct draft_ctx c = {cb, ud, 0};
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(id)};
    rc = store__q(tx->db, tx->c, "SELECT " DRAFT_COLS DRAFT_FROM " WHERE d.tenant_id = ? AND d.id = ?", p, 2,
                  draft_row, &c, NULL, e);
    if (rc == 0 && c.n == 0)
        return err_set(e, ERR_NOTFOUND, "draft_not_found", "draft not found");
    return rc;
}

int store_draft_list(struct store *db, const char *tenant_id, const char *status, int64_t before_at,
                     const char *before_id, int limit, store_draft_cb cb, void *ud, struct err *e)
{
    struct draft_ctx c = {cb, ud, 0};
    int any = !status || !*status;

    if (before_at <= 0) {
        before_at = INT64_MAX;
        before_id = "";
    }
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(any ? "" : status), store__pint(any),
                              store__pint(before_at), store__pint(before_at), store__ptext(before_id ? before_id : ""),
                              store__pint(before_id && *before_id ? 0 : 1), store__pint(limit)};
    return store__list(db,
                       "SELECT " DRAFT_COLS DRAFT_FROM " WHERE d.tenant_id = ? AND (d.status = ? OR ? = 1)"
                       " AND (d.created_at < ? OR (d.created_at = ? AND (d.id < ? OR ? = 1)))"
                       " ORDER BY d.created_at DESC, d.id DESC LIMIT ?",
                       p, 8, draft_row, &c, e);
}

int store_draft_cas(struct store_tx *tx, const char *tenant_id, const char *id, const char *from, const char *to,
                    int *changed, struct err *e)
{
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(to), store__ptext(tenant_id), store__ptext(id), store__ptext(from)};
    rc = store__q(tx->db, tx->c, "UPDATE assistant_drafts SET status = ? WHERE tenant_id = ? AND id = ? AND status = ?",
                  p, 4, NULL, NULL, &n, e);
    *changed = n > 0;
    return rc;
}

int store_draft_decide(struct store_tx *tx, const char *tenant_id, const char *id,
                       const struct store_draft_decision *d, struct err *e)
{
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {
        store__ptext(d->status),
        d->final_text ? store__ptext(d->final_text) : (struct store_param){STORE_P_NULL, NULL, 0},
        d->final_text ? store__pint(d->edit_distance) : (struct store_param){STORE_P_NULL, NULL, 0},
        store__ptext(d->reject_reason ? d->reject_reason : ""),
        store__ptext(d->decided_by ? d->decided_by : ""),
        store__pint(d->decided_at),
        store__ptext(d->sent_message_id ? d->sent_message_id : ""),
        store__ptext(tenant_id),
        store__ptext(id),
    };
    rc = store__q(tx->db, tx->c,
                  "UPDATE assistant_drafts SET status = ?, final_text = ?, edit_distance = ?, reject_reason = ?,"
                  " decided_by = ?, decided_at = ?, sent_message_id = ? WHERE tenant_id = ? AND id = ?",
                  p, 9, NULL, NULL, &n, e);
    if (rc == 0 && n == 0)
        return err_set(e, ERR_NOTFOUND, "draft_not_found", "draft not found");
    return rc;
}

struct id_list {
    char (*ids)[2][CORE_ID_MAX];
    int n, cap;
};

static int id_row(void *ud, const struct store_row *r)
{
    struct id_list *l = ud;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        void *v = realloc(l->ids, (size_t)cap * sizeof(*l->ids));
        if (!v)
            return ERR_NOMEM;
        l->ids = v;
        l->cap = cap;
    }
    store__cpy(l->ids[l->n][0], CORE_ID_MAX, store__col_text(r, 0));
    store__cpy(l->ids[l->n][1], CORE_ID_MAX, store__col_text(r, 1));
    l->n++;
    return 0;
}

int store_draft_stale(struct store_tx *tx, const char *tenant_id, const char *conversation_id, store_draft_id_cb cb,
                      void *ud, struct err *e)
{
    struct id_list l = {0};
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    rc = store__q(tx->db, tx->c,
                  "SELECT id, usage_id FROM assistant_drafts WHERE tenant_id = ? AND conversation_id = ? AND"
                  " status = 'pending'",
                  p, 2, id_row, &l, NULL, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc == 0 && l.n > 0)
        rc = store__q(tx->db, tx->c,
                      "UPDATE assistant_drafts SET status = 'stale' WHERE tenant_id = ? AND conversation_id = ? AND"
                      " status = 'pending'",
                      p, 2, NULL, NULL, NULL, e);
    for (int i = 0; rc == 0 && i < l.n; i++) {
        struct store_param q[] = {store__pint(time_now_ms()), store__ptext(tenant_id), store__ptext(l.ids[i][1])};
        rc = store__q(tx->db, tx->c,
                      "UPDATE llm_usage SET outcome = 'stale', updated_at = ? WHERE tenant_id = ? AND id = ?", q, 3,
                      NULL, NULL, NULL, e);
        if (rc == 0 && cb)
            rc = cb(ud, l.ids[i][0], l.ids[i][1]);
    }
    free(l.ids);
    return rc;
}

int store_draft_escalate(struct store_tx *tx, const char *tenant_id, const char *id, int64_t at, int *changed,
                         struct err *e)
{
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__pint(at), store__ptext(tenant_id), store__ptext(id)};
    rc = store__q(tx->db, tx->c,
                  "UPDATE assistant_drafts SET escalated_at = ? WHERE tenant_id = ? AND id = ? AND status = 'pending'"
                  " AND escalated_at = 0",
                  p, 3, NULL, NULL, &n, e);
    *changed = n > 0;
    return rc;
}

/* ------------------------------------------------------------------- logs */

int store_assistant_log_insert(struct store_tx *tx, const char *tenant_id, const char *usage_id, const char *prompt,
                               const char *response, int64_t at, struct err *e)
{
    char id[CORE_ID_MAX];
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    crypto_time_id(id, sizeof(id), "alg", at);
    struct store_param p[] = {store__ptext(id),     store__ptext(tenant_id),  store__ptext(usage_id),
                              store__ptext(prompt), store__ptext(response), store__pint(at)};
    return store__q(tx->db, tx->c,
                    "INSERT INTO assistant_logs (id, tenant_id, usage_id, prompt, response, created_at) VALUES"
                    " (?, ?, ?, ?, ?, ?)",
                    p, 6, NULL, NULL, NULL, e);
}

int store_assistant_log_prune(struct store_tx *tx, const char *tenant_id, int64_t before, int64_t *deleted,
                              struct err *e)
{
    int64_t n = 0;
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__pint(before)};
    rc = store__q(tx->db, tx->c, "DELETE FROM assistant_logs WHERE tenant_id = ? AND created_at < ?", p, 2, NULL,
                  NULL, &n, e);
    if (deleted)
        *deleted = n;
    return rc;
}

struct alog_ctx {
    store_assistant_log_cb cb;
    void *ud;
};

static int log_row(void *ud, const struct store_row *r)
{
    struct alog_ctx *c = ud;
    return c->cb(c->ud, store__col_text(r, 0), store__col_text(r, 1), store__col_int(r, 2));
}

int store_assistant_log_list(struct store *db, const char *tenant_id, const char *usage_id,
                             store_assistant_log_cb cb, void *ud, struct err *e)
{
    struct alog_ctx c = {cb, ud};
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(usage_id)};
    return store__list(db,
                       "SELECT prompt, response, created_at FROM assistant_logs WHERE tenant_id = ? AND usage_id = ?"
                       " ORDER BY created_at, id",
                       p, 2, log_row, &c, e);
}

/* ----------------------------------------------------------------- pauses */

int store_pause_set(struct store_tx *tx, const char *tenant_id, const char *conversation_id, const char *reason,
                    const char *paused_by, int64_t at, struct err *e)
{
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(conversation_id),
                              store__ptext(reason ? reason : ""), store__ptext(paused_by ? paused_by : ""),
                              store__pint(at)};
    return store__q(tx->db, tx->c,
                    "INSERT INTO assistant_pauses (tenant_id, conversation_id, reason, paused_by, paused_at) VALUES"
                    " (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, conversation_id) DO NOTHING",
                    p, 5, NULL, NULL, NULL, e);
}

int store_pause_clear(struct store_tx *tx, const char *tenant_id, const char *conversation_id, struct err *e)
{
    int rc;

    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    return store__q(tx->db, tx->c, "DELETE FROM assistant_pauses WHERE tenant_id = ? AND conversation_id = ?", p, 2,
                    NULL, NULL, NULL, e);
}

static int pause_row(void *ud, const struct store_row *r)
{
    struct store_pause *out = ud;
    out->paused = 1;
    store__cpy(out->reason, sizeof(out->reason), store__col_text(r, 0));
    store__cpy(out->paused_by, sizeof(out->paused_by), store__col_text(r, 1));
    out->paused_at = store__col_int(r, 2);
    return 0;
}

int store_pause_get(struct store *db, const char *tenant_id, const char *conversation_id, struct store_pause *out,
                    struct err *e)
{
    memset(out, 0, sizeof(*out));
    struct store_param p[] = {store__ptext(tenant_id), store__ptext(conversation_id)};
    return store__list(db,
                       "SELECT reason, paused_by, paused_at FROM assistant_pauses WHERE tenant_id = ? AND"
                       " conversation_id = ?",
                       p, 2, pause_row, out, e);
}

int store_agent_version_tx(struct store_tx *tx, const char *tenant_id, int64_t *out, struct err *e)
{
    int rc;

    *out = 0;
    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id)};
    return store__q(tx->db, tx->c, "SELECT COALESCE(MAX(version), 0) FROM agent_configs WHERE tenant_id = ?", p, 1,
                    store__row_int, out, NULL, e);
}

static int dup_row(void *ud, const struct store_row *r)
{
    char **out = ud;
    free(*out);
    *out = strdup(store__col_text(r, 0));
    return *out ? 0 : ERR_NOMEM;
}

int store_agent_config_tx(struct store_tx *tx, const char *tenant_id, int64_t version, char **out, struct err *e)
{
    int rc;

    *out = NULL;
    if ((rc = need_tx(tx, tenant_id, e)))
        return rc;
    struct store_param p[] = {store__ptext(tenant_id), store__pint(version)};
    rc = store__q(tx->db, tx->c, "SELECT config FROM agent_configs WHERE tenant_id = ? AND version = ?", p, 2, dup_row,
                  out, NULL, e);
    if (rc == ERR_NOMEM)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc == 0 && !*out)
        return err_set(e, ERR_NOTFOUND, "not_found", "agent configuration version not found");
    return rc;
}
