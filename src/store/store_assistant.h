/*
 * store_assistant.h: the assistant's turns, drafts, logs and paused
 * conversations (the SQL behind src/assistant/assistant_reply.c and
 * assistant_drafts.c). Part of store.h (which includes it), with its
 * conventions: every function takes the tenant first and filters by it.
 *
 * Writes take the caller's transaction (the reply job writes a turn, its
 * draft, its log and its events in one commit). Rows handed to callbacks
 * are borrowed for the call.
 */
#ifndef SB_STORE_ASSISTANT_H
#define SB_STORE_ASSISTANT_H

#include "store/store.h"

/* One assistant turn (llm_usage). */
struct store_usage {
    char id[CORE_ID_MAX];         /* "use_…"; filled by insert when empty */
    char conversation_id[CORE_ID_MAX];
    char message_id[CORE_ID_MAX]; /* the inbound message */
    char channel[16];
    char provider[16];
    char model[128];
    int64_t prompt_tokens, completion_tokens, latency_ms, cost_micros;
    char intent[64];
    double confidence;
    char outcome[16];
    char reason[256];
    int64_t config_version;
    int64_t created_at;
};
/* ERR_CONFLICT when the message already has a turn (a replayed job). */
int store_usage_insert(struct store_tx *tx, const char *tenant_id, struct store_usage *u, struct err *e);
/* Move a turn's outcome on. ERR_NOTFOUND. */
int store_usage_outcome(struct store_tx *tx, const char *tenant_id, const char *usage_id, const char *outcome,
                        struct err *e);
/* Whether the inbound message already has a turn. */
int store_usage_exists(struct store *db, const char *tenant_id, const char *message_id, int *out, struct err *e);

/* Per UTC day (YYYY-MM-DD) and outcome in [from, to) (Unix ms). */
struct store_usage_day {
    char day[11];
    char outcome[16];
    int64_t turns;
    int64_t latency_ms_sum;
    int64_t cost_micros;
    int64_t prompt_tokens, completion_tokens;
};
typedef int (*store_usage_day_cb)(void *ud, const struct store_usage_day *d);
int store_usage_days(struct store *db, const char *tenant_id, int64_t from, int64_t to, store_usage_day_cb cb,
                     void *ud, struct err *e);
/* Turns per UTC day and intent ("" for none) in [from, to). */
typedef int (*store_usage_intent_cb)(void *ud, const char *day, const char *intent, int64_t count);
int store_usage_intents(struct store *db, const char *tenant_id, int64_t from, int64_t to, store_usage_intent_cb cb,
                        void *ud, struct err *e);

/* A draft (assistant_drafts), with what the queue shows read alongside. */
struct store_draft {
    char id[CORE_ID_MAX];         /* "drf_…"; filled by insert when empty */
    char conversation_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char contact_id[CORE_ID_MAX];
    char inbound_message_id[CORE_ID_MAX];
    char usage_id[CORE_ID_MAX];
    const char *text;
    const char *alternatives;     /* JSON array text */
    char reason[256];
    char intent[64];
    double confidence;
    char status[16];              /* pending | sending | sent | rejected | stale | handed_over */
    const char *final_text;       /* NULL until sent */
    int64_t edit_distance;        /* -1 until sent */
    char reject_reason[256];
    char decided_by[CORE_ID_MAX];
    int64_t decided_at;
    char sent_message_id[CORE_ID_MAX];
    int64_t escalated_at;
    int64_t created_at;
    /* read only */
    char contact_name[256];
    char channel[16];
    const char *inbound_text;
};
typedef int (*store_draft_cb)(void *ud, const struct store_draft *d);
/* ERR_CONFLICT when the inbound message already has a draft. */
int store_draft_insert(struct store_tx *tx, const char *tenant_id, struct store_draft *d, struct err *e);
/* ERR_NOTFOUND. */
int store_draft_get(struct store *db, const char *tenant_id, const char *id, store_draft_cb cb, void *ud,
                    struct err *e);
int store_draft_get_tx(struct store_tx *tx, const char *tenant_id, const char *id, store_draft_cb cb, void *ud,
                       struct err *e);
/* Newest first, status "" for all, before the position (before_at,
 * before_id) in (created_at, id) order (before_at <= 0: from the newest). */
int store_draft_list(struct store *db, const char *tenant_id, const char *status, int64_t before_at,
                     const char *before_id, int limit, store_draft_cb cb, void *ud, struct err *e);
/* Compare and set: status from -> to; *changed = 1 when it moved. */
int store_draft_cas(struct store_tx *tx, const char *tenant_id, const char *id, const char *from, const char *to,
                    int *changed, struct err *e);
/* The outcome of a person's decision (status sent or rejected). */
struct store_draft_decision {
    const char *status;
    const char *final_text;       /* sent: the text that went */
    int64_t edit_distance;        /* sent: from the draft's text */
    const char *reject_reason;
    const char *decided_by;
    int64_t decided_at;
    const char *sent_message_id;
};
int store_draft_decide(struct store_tx *tx, const char *tenant_id, const char *id,
                       const struct store_draft_decision *d, struct err *e);
/* The conversation's pending drafts become stale; cb (may be NULL) gets
 * each one's id and usage id after the change. */
typedef int (*store_draft_id_cb)(void *ud, const char *id, const char *usage_id);
int store_draft_stale(struct store_tx *tx, const char *tenant_id, const char *conversation_id, store_draft_id_cb cb,
                      void *ud, struct err *e);
/* Mark a pending, not yet escalated draft escalated at at; *changed. */
int store_draft_escalate(struct store_tx *tx, const char *tenant_id, const char *id, int64_t at, int *changed,
                         struct err *e);

/* Prompt/response logs (already redacted by the caller). */
int store_assistant_log_insert(struct store_tx *tx, const char *tenant_id, const char *usage_id, const char *prompt,
                               const char *response, int64_t at, struct err *e);
/* Delete the tenant's logs older than before (Unix ms); *deleted may be NULL. */
int store_assistant_log_prune(struct store_tx *tx, const char *tenant_id, int64_t before, int64_t *deleted,
                              struct err *e);
/* The logs of one turn, oldest first. */
typedef int (*store_assistant_log_cb)(void *ud, const char *prompt, const char *response, int64_t at);
int store_assistant_log_list(struct store *db, const char *tenant_id, const char *usage_id,
                             store_assistant_log_cb cb, void *ud, struct err *e);

/* Paused conversations. */
struct store_pause {
    int paused;
    char reason[256];
    char paused_by[CORE_ID_MAX];
    int64_t paused_at;
};
/* Pause (kept as it is when already paused). */
int store_pause_set(struct store_tx *tx, const char *tenant_id, const char *conversation_id, const char *reason,
                    const char *paused_by, int64_t at, struct err *e);
int store_pause_clear(struct store_tx *tx, const char *tenant_id, const char *conversation_id, struct err *e);
/* out->paused 0 when not paused. */
int store_pause_get(struct store *db, const char *tenant_id, const char *conversation_id, struct store_pause *out,
                    struct err *e);

/* The tenant's current agent configuration version (0 when it never saved
 * one), read inside tx: the inbound hook's check that its cached view of
 * the configuration is current. */
int store_agent_version_tx(struct store_tx *tx, const char *tenant_id, int64_t *out, struct err *e);
/* The document of that version, read inside tx (malloc'd into *out).
 * ERR_NOTFOUND. */
int store_agent_config_tx(struct store_tx *tx, const char *tenant_id, int64_t version, char **out, struct err *e);

#endif
