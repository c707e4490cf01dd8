/*
 * assistant: the AI assistant. This first part is the knowledge base: a
 * tenant's documents (title, body, tags, source, language, enabled), split
 * into chunks for full-text retrieval, bulk ingestion of CSV, JSON,
 * Markdown and plain text with a report of what was accepted and rejected,
 * and ranked retrieval of passages.
 *
 * Chunks: a body is split on blank lines and headings into chunks of at
 * most ASSISTANT_KB_CHUNK_MAX bytes, never mid-word and never inside a
 * UTF-8 sequence; a question/answer body ("Q: …\nA: …", what a CSV row
 * becomes) up to ASSISTANT_KB_QA_MAX bytes is one chunk. Chunks are rebuilt
 * whenever the body changes.
 *
 * Language: each document is "en" or "es". English is stemmed by the
 * index itself (FTS5 porter on SQLite, the english configuration on
 * PostgreSQL). FTS5 has no Spanish stemmer, so on SQLite the text of a
 * Spanish document is indexed after assistant_kb_normalise_es (accents
 * folded, plural and gender endings stripped) and every query word is
 * searched both as typed and normalised; PostgreSQL uses its spanish
 * configuration. A query therefore finds documents in either language.
 *
 * Queries: user text never reaches MATCH or to_tsquery as typed:
 * assistant_kb_query keeps its words (letters and digits), quotes them and
 * joins them by OR. Scores are higher-is-better on both backends: -bm25()
 * on SQLite, ts_rank() on PostgreSQL; they compare within one result list,
 * not across backends.
 *
 * Functions taking a store are thread-safe. Writes are audited
 * (kb.document.create|update|delete, kb.import) after they commit. Errors:
 * ERR_INVALID with a slug (invalid_document, empty_query, bad_utf8,
 * invalid_import, unsupported_type), ERR_NOTFOUND, store errors.
 */
#ifndef SB_ASSISTANT_H
#define SB_ASSISTANT_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

struct ops_keyring;

#define ASSISTANT_KB_CHUNK_MAX 800          /* bytes in a chunk */
#define ASSISTANT_KB_QA_MAX 2000            /* a Q/A body up to this is one chunk; a longer CSV row is refused */
#define ASSISTANT_KB_TITLE_MAX 300          /* bytes */
#define ASSISTANT_KB_BODY_MAX (200 * 1024)  /* bytes */
#define ASSISTANT_KB_TAGS_MAX 32            /* tags on a document, each 1..64 bytes */
#define ASSISTANT_KB_IMPORT_MAX (8 * 1024 * 1024) /* bytes in one import */
#define ASSISTANT_KB_QUERY_TERMS 32         /* words of a query kept */

/* Who acts, for the audit log. */
struct assistant_actor {
    const char *type;             /* user | apikey | system */
    const char *id;               /* "" for system */
    const char *ip;               /* "" when none */
};

/* A document to create, or the fields to change (NULL / -1 = keep). tags is
 * a JSON array of strings; language "en" | "es" ("" or NULL on create: "en"). */
struct assistant_kb_input {
    const char *title;
    const char *body;
    const char *tags;
    const char *source;
    const char *language;
    int enabled;                  /* 1, 0; -1 = keep (create: 1) */
};

/* ----------------------------------------------------- pure helpers */

/* Called once per chunk; text is borrowed, len bytes, not terminated.
 * Non-zero stops the split and is returned. */
typedef int (*assistant_chunk_cb)(void *ud, const char *text, size_t len);
/* Split body into chunks as the header comment says (max <= 0: the default). */
int assistant_kb_chunk(const char *body, int max, assistant_chunk_cb cb, void *ud);
/* Append text normalised for the Spanish index to out: words lowercased,
 * accents folded, separated by one space, plural and gender endings
 * stripped ("devoluciones" and "devolución" both give "devolucion"). */
void assistant_kb_normalise_es(const char *text, struct buf *out);
/* Build the safe forms of a user query: match (an FTS5 expression of
 * quoted words joined by OR, each word also in its Spanish normal form)
 * and terms (the words joined by spaces, for plainto_tsquery). Common
 * stop words are dropped unless nothing else is left. ERR_INVALID
 * "empty_query" when no word is left, "bad_utf8". */
int assistant_kb_query(const char *q, struct buf *match, struct buf *terms, struct err *e);

enum assistant_kb_format { ASSISTANT_KB_CSV, ASSISTANT_KB_JSON, ASSISTANT_KB_MARKDOWN, ASSISTANT_KB_TEXT };
/* The format for a Content-Type (parameters ignored); ERR_INVALID
 * "unsupported_type" for any other. */
int assistant_kb_format(const char *content_type, enum assistant_kb_format *out, struct err *e);

/* One document found by a parser, borrowed for the callback. */
struct assistant_kb_item {
    const char *title;
    const char *body;
    const char *tags;             /* JSON array text or NULL */
    const char *source;           /* NULL when the input gives none */
};
/* row: 1-based (CSV line record, JSON array element, Markdown section). */
typedef int (*assistant_kb_item_cb)(void *ud, int row, const struct assistant_kb_item *it);
typedef int (*assistant_kb_reject_cb)(void *ud, int row, const char *reason);
/* Parse an import: each valid document goes to item, each refused one to
 * reject with a reason ("missing answer", "too long", "bad UTF-8", …).
 * CSV: question,answer rows (RFC 4180 quoting; an optional header row);
 * each row becomes a document titled by the question, body "Q: …\nA: …".
 * JSON: an array of {title, body, tags, source}. Markdown: one document per
 * top-level heading ("# "); text before the first one is a document titled
 * by title or its first line. Text: one document titled by title or, when
 * title is NULL or empty, its first line. ERR_INVALID "invalid_import" when
 * the input as a whole is unreadable (not a JSON array, NUL bytes);
 * ERR_TOOLARGE ("invalid_import") over ASSISTANT_KB_IMPORT_MAX. */
int assistant_kb_parse(enum assistant_kb_format fmt, const char *data, size_t len, const char *title,
                       assistant_kb_item_cb item, assistant_kb_reject_cb reject, void *ud, struct err *e);

/* ------------------------------------------------------- documents */

/* Create a document and its chunks; out (may be NULL) receives it
 * (store_kb_doc_clear frees). ERR_INVALID "invalid_document" naming the
 * field (missing title, too long, bad tags, bad language, bad UTF-8). */
int assistant_kb_create(struct store *db, const char *tenant_id, const struct assistant_kb_input *in,
                        const struct assistant_actor *who, struct store_kb_doc *out, struct err *e);
/* Change the fields of in that are set; a changed body (or language)
 * rebuilds the chunks. ERR_NOTFOUND, ERR_INVALID like create. */
int assistant_kb_update(struct store *db, const char *tenant_id, const char *id, const struct assistant_kb_input *in,
                        const struct assistant_actor *who, struct store_kb_doc *out, struct err *e);
/* Delete a document and its chunks. ERR_NOTFOUND. */
int assistant_kb_delete(struct store *db, const char *tenant_id, const char *id, const struct assistant_actor *who,
                        struct err *e);

/* What an import did: accepted count, the rejected rows as a JSON array of
 * {row, reason} and the new documents' ids as a JSON array (both
 * complete texts). assistant_kb_report_free releases. */
struct assistant_kb_report {
    int accepted;
    int rejected;
    struct buf rejected_json;
    struct buf ids_json;
};
void assistant_kb_report_free(struct assistant_kb_report *r);
/* Parse data (see assistant_kb_parse) and create every valid document in
 * one transaction with the given language (NULL: "en"); rows the parser or
 * the document rules refuse are reported, not fatal. Audited once as
 * kb.import. ERR_INVALID "invalid_import" (or a bad language),
 * ERR_TOOLARGE, store errors (then nothing was created). */
int assistant_kb_import(struct store *db, const char *tenant_id, enum assistant_kb_format fmt, const char *data,
                        size_t len, const char *title, const char *language, const struct assistant_actor *who,
                        struct assistant_kb_report *out, struct err *e);

/* ------------------------------------------------------- retrieval */

/* A ranked passage, borrowed for the callback. */
struct assistant_passage {
    int64_t chunk_id;
    const char *document_id;
    const char *title;
    const char *text;
    double score;                 /* higher is better (see the header comment) */
};
typedef int (*assistant_passage_cb)(void *ud, const struct assistant_passage *p);
/* The k (1..50) best passages of the tenant's enabled documents for the
 * user's query, best first. ERR_INVALID "empty_query" / "bad_utf8" / a bad k. */
int assistant_kb_search(struct store *db, const char *tenant_id, const char *query, int k, assistant_passage_cb cb,
                        void *ud, struct err *e);


/* ==================================================================
 * Providers and intents: the OpenAI-compatible chat-completions client,
 * the circuit breaker, the offline extractive answerer, the answer path
 * tying them, and the intent classifier. No database; thread-safe unless
 * said otherwise. Errors carry a slug: llm_timeout, llm_unreachable,
 * llm_rate_limited, llm_server_error, llm_rejected, llm_unauthorized,
 * llm_bad_response, llm_too_large, circuit_open.
 * ================================================================== */

#define ASSISTANT_LLM_MAX_RESPONSE (2 * 1024 * 1024) /* default cap on a response body, bytes */

/* Where and how to call one OpenAI-compatible server (OpenAI, llama.cpp's
 * server, Ollama, LM Studio, vLLM). Borrowed for the call. Zero fields
 * take the defaults in brackets. */
struct assistant_llm_config {
    const char *base_url;         /* "https://api.openai.com/v1", "http://127.0.0.1:11434/v1" */
    const char *model;
    const char *api_key;          /* NULL or "": no Authorization header */
    long connect_timeout_ms;      /* [5000] */
    long timeout_ms;              /* whole request, each attempt [60000] */
    int max_attempts;             /* tries in all, >= 1 [3] */
    long backoff_base_ms;         /* first retry delay [500], doubling, with jitter */
    long backoff_max_ms;          /* retry delay cap, Retry-After included [8000] */
    size_t max_response;          /* [ASSISTANT_LLM_MAX_RESPONSE] */
};

struct assistant_llm_message {
    const char *role;             /* system | user | assistant */
    const char *content;
};

/* Streaming: called with each piece of content as it arrives (borrowed,
 * len bytes, not terminated). Non-zero cancels the call (ERR_INVALID
 * "llm_cancelled"). */
typedef int (*assistant_llm_delta_cb)(void *ud, const char *text, size_t len);

struct assistant_llm_request {
    const struct assistant_llm_message *messages;
    int nmessages;
    double temperature;           /* < 0: not sent (the server's default) */
    int max_tokens;               /* <= 0: not sent */
    int stream;                   /* 1: server-sent events */
    assistant_llm_delta_cb on_delta; /* streaming only; may be NULL */
    void *ud;
};

/* What a call gave. assistant_llm_result_free releases; zero-initialise. */
struct assistant_llm_result {
    struct buf content;           /* the whole answer text */
    char model[128];              /* as the server reported it */
    char finish_reason[32];
    int64_t prompt_tokens;        /* -1 when the server did not say */
    int64_t completion_tokens;    /* -1 when the server did not say */
    int http_status;              /* of the last attempt; 0 when no answer came */
    int attempts;
    int64_t latency_ms;           /* whole call, retries and waits included */
    int done;                     /* streaming: [DONE] seen */
};
void assistant_llm_result_free(struct assistant_llm_result *r);

/* POST {base_url}/chat/completions. Retries 429 (after Retry-After when it
 * fits under backoff_max_ms), 5xx, timeouts and transport errors, up to
 * max_attempts with exponential backoff and jitter; a stream is retried
 * only while no content has reached on_delta. Never retries other 4xx.
 * Errors: ERR_TIMEOUT "llm_timeout", ERR_UPSTREAM "llm_unreachable" |
 * "llm_server_error" | "llm_bad_response", ERR_RATELIMIT "llm_rate_limited",
 * ERR_UNAUTHORIZED / ERR_FORBIDDEN "llm_unauthorized", ERR_NOTFOUND /
 * ERR_INVALID "llm_rejected" (the provider's error message quoted, never
 * the key), ERR_TOOLARGE "llm_too_large", ERR_INVALID "invalid_request". */
int assistant_llm_chat(const struct assistant_llm_config *cfg, const struct assistant_llm_request *req,
                       struct assistant_llm_result *out, struct err *e);

/* The request body the client sends (appended to out). */
void assistant_llm_body(const struct assistant_llm_config *cfg, const struct assistant_llm_request *req,
                        struct buf *out);
/* Parse a non-streaming chat.completion body into out (content, model,
 * finish_reason, usage). ERR_UPSTREAM "llm_bad_response". Pure. */
int assistant_llm_parse_response(const char *body, size_t len, struct assistant_llm_result *out, struct err *e);
/* The message of an error body {"error":{"message":…}} (or {"error":"…"})
 * copied into out, or "" when there is none. Pure. */
void assistant_llm_error_message(const char *body, size_t len, char *out, size_t outlen);

/* Server-sent events, incrementally (pure): lines end in LF, CRLF or CR,
 * split anywhere across feeds; "data:" lines accumulate (joined by LF) and
 * a blank line dispatches them; ":" comments and other fields are skipped.
 * Zero-initialise; assistant_sse_free releases. */
#define ASSISTANT_SSE_MAX (1024 * 1024) /* bytes in one event */
struct assistant_sse {
    struct buf line;              /* the unfinished line */
    struct buf data;              /* the current event's data */
    int have_data;
    int last_cr;                  /* the previous byte was CR (a following LF belongs to it) */
};
/* Called once per event with its data (borrowed, NUL-terminated); non-zero
 * stops the feed and is returned. */
typedef int (*assistant_sse_cb)(void *ud, const char *data, size_t len);
/* Feed bytes; ERR_TOOLARGE when a line or event passes ASSISTANT_SSE_MAX. */
int assistant_sse_feed(struct assistant_sse *s, const char *bytes, size_t n, assistant_sse_cb cb, void *ud);
/* End of input: a last line without its end, and an event without its
 * blank line, are dispatched. */
int assistant_sse_finish(struct assistant_sse *s, assistant_sse_cb cb, void *ud);
void assistant_sse_free(struct assistant_sse *s);

/* A chat-completions stream over SSE: each chunk's choices[0].delta.content
 * is appended to out->content (and passed to on_delta); model,
 * finish_reason and a usage chunk are kept; "data: [DONE]" ends it.
 * assistant_llm_stream_free releases the parser (not out). */
struct assistant_llm_stream {
    struct assistant_sse sse;
    struct assistant_llm_result *out;
    assistant_llm_delta_cb on_delta;
    void *ud;
    int ndelta;                   /* pieces of content passed on */
    struct err err;               /* why a chunk was refused */
};
void assistant_llm_stream_init(struct assistant_llm_stream *s, struct assistant_llm_result *out,
                               assistant_llm_delta_cb on_delta, void *ud);
/* ERR_UPSTREAM "llm_bad_response" (a chunk that is not a JSON object, or an
 * error event, its message quoted), ERR_TOOLARGE, ERR_INVALID "llm_cancelled". */
int assistant_llm_stream_feed(struct assistant_llm_stream *s, const char *bytes, size_t n, struct err *e);
/* End of the body: ERR_UPSTREAM "llm_bad_response" when it stopped before
 * [DONE] and before any finish_reason. */
int assistant_llm_stream_end(struct assistant_llm_stream *s, struct err *e);
void assistant_llm_stream_free(struct assistant_llm_stream *s);

/* ------------------------------------------------------- circuit breaker */

/* Per provider key: closed -> open after threshold consecutive failures ->
 * half-open once cooldown_ms has passed (one trial call at a time) ->
 * closed on the trial's success, open again (a new cool-down) on its
 * failure. Thread-safe. */
enum assistant_breaker_state { ASSISTANT_BREAKER_CLOSED, ASSISTANT_BREAKER_OPEN, ASSISTANT_BREAKER_HALF_OPEN };
struct assistant_breaker;
/* Monotonic milliseconds; NULL in assistant_breaker_new means the real clock. */
typedef int64_t (*assistant_clock_fn)(void *ud);
/* threshold >= 1, cooldown_ms >= 0, else ERR_INVALID. */
int assistant_breaker_new(struct assistant_breaker **out, int threshold, int64_t cooldown_ms, assistant_clock_fn clock,
                          void *clock_ud, struct err *e);
void assistant_breaker_free(struct assistant_breaker *b); /* NULL is a no-op */
/* Before a call: 0 when it may go ahead (the half-open trial included),
 * ERR_UPSTREAM "circuit_open" when it must fail fast. Each 0 is paired
 * with one assistant_breaker_record. */
int assistant_breaker_allow(struct assistant_breaker *b, const char *key, struct err *e);
/* After a call: ok 1 on success, 0 on a failure that counts. */
void assistant_breaker_record(struct assistant_breaker *b, const char *key, int ok);
enum assistant_breaker_state assistant_breaker_state(struct assistant_breaker *b, const char *key);
const char *assistant_breaker_state_name(enum assistant_breaker_state s);

/* ---------------------------------------------------- text for matching */

/* The content terms of text, each followed by '\n' in out: lower-cased,
 * accents folded, English and Spanish stop words dropped, a light suffix
 * stemming ("refunds" -> "refund", "reembolsos" -> "reembols"). Returns
 * how many. Pure. */
int assistant_terms(const char *text, struct buf *out);

/* ------------------------------------------------------ extractive answers */

struct assistant_extract_config {
    double min_score;             /* the top passage's retrieval score must reach this [0] */
    double min_coverage;          /* share of the question's terms a passage must hold [0.5 when <= 0] */
    int max_passages;             /* passages in an answer, 1..3 [1 when <= 0] */
};
#define ASSISTANT_EXTRACT_USED_MAX 3
/* assistant_extract_result_free releases; zero-initialise. */
struct assistant_extract_result {
    int answered;                 /* 0: hand over, reason says why */
    struct buf text;              /* the passages' text, joined by a blank line */
    int64_t used[ASSISTANT_EXTRACT_USED_MAX]; /* chunk ids of the passages used */
    int nused;
    double top_score;
    double coverage;              /* of the first passage used, or the best seen */
    char reason[200];
};
void assistant_extract_result_free(struct assistant_extract_result *r);
/* Answer question from passages (best first, as assistant_kb_search gives
 * them; cfg NULL: defaults). Deterministic. ERR_INVALID for a bad config. */
int assistant_extract(const struct assistant_passage *passages, int n, const char *question,
                      const struct assistant_extract_config *cfg, struct assistant_extract_result *out,
                      struct err *e);

/* ------------------------------------------------------------- answering */

/* The LLM behind a breaker, with the extractive answerer as the fallback.
 * llm NULL: extractive only. breaker NULL: no breaker. Borrowed. */
struct assistant_answer_config {
    const struct assistant_llm_config *llm;
    struct assistant_breaker *breaker;
    const char *breaker_key;      /* the provider's key; NULL: llm->base_url */
    const struct assistant_extract_config *extract;
};
/* assistant_answer_free releases; zero-initialise. */
struct assistant_answer {
    const char *provider;         /* "llm" | "extractive" | "handover" (static) */
    struct buf text;
    char model[128];
    int64_t prompt_tokens, completion_tokens; /* -1 unknown */
    int64_t latency_ms;           /* the whole answer */
    int64_t llm_latency_ms;       /* the LLM call alone; 0 when none was made */
    char fallback_reason[200];    /* "" when the LLM answered */
    int64_t used[ASSISTANT_EXTRACT_USED_MAX];
    int nused;
};
void assistant_answer_free(struct assistant_answer *a);
/* Try the LLM (req as for assistant_llm_chat) through the breaker; when it
 * is not configured, fails, times out or the circuit is open, answer with
 * assistant_extract from passages, or hand over. Returns 0 in all those
 * cases (out says which); ERR_INVALID for a bad call. */
int assistant_answer(const struct assistant_answer_config *cfg, const struct assistant_llm_request *req,
                     const char *question, const struct assistant_passage *passages, int npassages,
                     struct assistant_answer *out, struct err *e);

/* ------------------------------------------------------------- intents */

/* A configured intent, borrowed. */
struct assistant_intent {
    const char *name;
    const char *const *examples;
    int nexamples;
    const char *action;
};
/* A classifier over intents (copied in; immutable, so safe to share). */
struct assistant_intents;
/* emergency: phrases that always win (their terms found in order).
 * threshold: confidence under which the result hands over [0.3 when <= 0].
 * ERR_INVALID for an intent without a name or examples. */
int assistant_intents_new(struct assistant_intents **out, const struct assistant_intent *intents, int n,
                          const char *const *emergency, int nemergency, double threshold, struct err *e);
void assistant_intents_free(struct assistant_intents *c); /* NULL is a no-op */
/* name and action point into the classifier. */
struct assistant_intent_match {
    const char *name;             /* the best intent; "emergency"; NULL when nothing overlapped */
    const char *action;
    double confidence;            /* [0, 1] */
    int emergency;                /* an emergency phrase matched (confidence 1) */
    int handover;                 /* emergency, or confidence under the threshold */
    char reason[200];             /* the example or phrase matched, or why it handed over */
};
/* Classify text; empty text hands over. Pure. */
void assistant_intents_classify(const struct assistant_intents *c, const char *text,
                                struct assistant_intent_match *out);

/* ==================================================================
 * Agent configuration (assistant_config.c): the tenant's assistant as a
 * JSON document, checked strictly, stored as versioned snapshots
 * (agent_configs). The parsed form below is plain data so tests can build
 * one with designated initialisers (arena NULL); parsed ones own their
 * strings in arena.
 *
 * The JSON (every field optional on input; the canonical output has all,
 * keys in this order):
 * {"enabled": false,
 *  "identity": {"name": "Assistant", "persona": "", "tone": "friendly"},
 *  "grounding": {"kb_only": true, "unknown_answer": "I'm not sure about that. A person from our team will reply soon."},
 *  "languages": ["en"],                       (the first is the default)
 *  "channels": {"sms": true, "whatsapp": true, "telegram": true, "instagram": true, "email": false, "webchat": true},
 *  "working_hours": {"always": true, "days": [1,2,3,4,5], "start": "09:00", "end": "17:00"}, (tenant time zone; ISO days 1=Mon)
 *  "mode": "draft",                           (auto | threshold | draft)
 *  "auto_threshold": 0.75,                    (threshold mode: confidence to send without a person)
 *  "intent_threshold": 0.3,                   (under it the intent is unknown: hand over)
 *  "intents": [{"name": "refund", "examples": ["…"], "action": "answer", "mode": "", "model": ""}],
 *             action: answer | handover | collect | book | emergency; mode "" = the tenant's; model "" = the tenant's
 *  "emergency_phrases": ["chest pain", …],
 *  "provider": {"kind": "extractive", "base_url": "", "model": "", "api_key_set": false,
 *               "prompt_price_per_1k": 0, "completion_price_per_1k": 0},   (prices in micros per 1k tokens;
 *               api_key_set is read-only: ignored on input, set by save from the sealed key)
 *  "safety": {"forbid_prices": false, "forbid_legal": true, "forbid_medical": true, "forbidden_phrases": [],
 *             "max_length": {"sms": 320, "whatsapp": 1000, "telegram": 1000, "instagram": 1000, "email": 4000, "webchat": 1000}},
 *  "handover": {"on_call_contact_id": "", "on_call_account_id": "", "draft_escalate_after_s": 900},
 *  "log_retention_days": 30}
 * ================================================================== */

#define ASSISTANT_CFG_INTENTS_MAX 32
#define ASSISTANT_CFG_EXAMPLES_MAX 50
#define ASSISTANT_CFG_LIST_MAX 64

enum assistant_mode { ASSISTANT_MODE_INHERIT = 0, ASSISTANT_MODE_AUTO, ASSISTANT_MODE_THRESHOLD, ASSISTANT_MODE_DRAFT };

struct assistant_config_intent {
    const char *name;
    const char *const *examples;
    int nexamples;
    const char *action;           /* answer | handover | collect | book | emergency */
    enum assistant_mode mode;     /* INHERIT: the tenant's */
    const char *model;            /* "" or NULL: the tenant's model */
};

/* Channels the assistant knows, in this order in "channels" and "max_length". */
enum { ASSISTANT_CH_SMS, ASSISTANT_CH_WHATSAPP, ASSISTANT_CH_TELEGRAM, ASSISTANT_CH_INSTAGRAM, ASSISTANT_CH_EMAIL,
       ASSISTANT_CH_WEBCHAT, ASSISTANT_CH_COUNT };
extern const char *const assistant_channel_names[ASSISTANT_CH_COUNT];
/* The index of a channel name, or -1. */
int assistant_channel_index(const char *channel);

struct assistant_config {
    struct arena *arena;          /* owns the strings of a parsed config; NULL for a built one */
    int enabled;
    const char *name, *persona, *tone;
    int kb_only;
    const char *unknown_answer;
    const char *const *languages;
    int nlanguages;
    int channels[ASSISTANT_CH_COUNT];
    int hours_always;
    int days[8];                  /* days[1..7]: ISO weekday on */
    int start_min, end_min;       /* minutes after midnight, tenant time zone */
    enum assistant_mode mode;     /* AUTO | THRESHOLD | DRAFT */
    double auto_threshold;
    double intent_threshold;
    const struct assistant_config_intent *intents;
    int nintents;
    const char *const *emergency_phrases;
    int nemergency;
    const char *provider_kind;    /* extractive | openai */
    const char *base_url, *model;
    int api_key_set;
    int64_t prompt_price_per_1k, completion_price_per_1k; /* micros */
    int forbid_prices, forbid_legal, forbid_medical;
    const char *const *forbidden_phrases;
    int nforbidden;
    int max_length[ASSISTANT_CH_COUNT];
    const char *on_call_contact_id, *on_call_account_id;
    int64_t draft_escalate_after_s;
    int log_retention_days;
};

/* The defaults (as the JSON above), strings static. */
void assistant_config_default(struct assistant_config *out);
/* Parse and check a config document; fields left out take the defaults,
 * or with base not NULL the values of base (a partial update). Unknown
 * keys, wrong types and out-of-range values are refused: ERR_INVALID
 * "invalid_config" with the field's path in the message
 * ("intents[2].action: must be one of …"). Objects merge over base member
 * by member; arrays replace. api_key_set is never read from json (it keeps
 * base's value, else false). out is cleared first and owns every string
 * (base may be freed after); free with assistant_config_free. */
int assistant_config_parse(const char *json, size_t len, const struct assistant_config *base,
                           struct assistant_config *out, struct err *e);
void assistant_config_free(struct assistant_config *c);
/* The canonical JSON (every field, the order above) appended to out;
 * parse(json(c)) gives c back field for field (api_key_set aside, see
 * parse), doubles included. */
void assistant_config_json(const struct assistant_config *c, struct buf *out);
/* The differences between two canonical documents as a JSON array of
 * {"path": "intents[1].examples[0]", "from": <json>|null, "to": <json>|null}
 * (leaves only; an added or removed element is one entry). ERR_INVALID
 * when either is not JSON. */
int assistant_config_diff(const char *a, const char *b, struct buf *out, struct err *e);
/* The effective mode for an intent (its own, else the tenant's). */
enum assistant_mode assistant_config_mode(const struct assistant_config *c, const char *intent);
const char *assistant_mode_name(enum assistant_mode m);

/* Stored versions. The current config of a tenant that never saved one is
 * the default (version 0). */
struct assistant_config_version {
    int64_t version;
    char note[200];
    char created_by[CORE_ID_MAX];
    int64_t created_at;
};
/* The current config (parsed into out, free with assistant_config_free)
 * and its version (may be NULL). Store errors. */
int assistant_config_current(struct store *db, const char *tenant_id, struct assistant_config *out,
                             struct assistant_config_version *ver, struct err *e);
/* Save json (a full or partial document, applied over the current config)
 * as a new version; api_key, when not NULL, is sealed with keys as the
 * tenant's secret "assistant/llm_api_key" ("" deletes it) in the same
 * transaction. Audited assistant.config.update with the changed paths.
 * A version number taken by a concurrent save is retried once, then
 * ERR_CONFLICT. out_version may be NULL. ERR_INVALID "invalid_config"
 * (also for a note over 199 bytes, or a key without keys). */
int assistant_config_save(struct store *db, struct ops_keyring *keys, const char *tenant_id, const char *json,
                          size_t len, const char *api_key, const char *note, const struct assistant_actor *who,
                          int64_t *out_version, struct err *e);
typedef int (*assistant_config_version_cb)(void *ud, const struct assistant_config_version *v);
/* Newest first, at most limit (1..200). */
int assistant_config_versions(struct store *db, const char *tenant_id, int limit, assistant_config_version_cb cb,
                              void *ud, struct err *e);
/* One version's canonical JSON (malloc'd into *out); version 0 is the
 * defaults. ERR_NOTFOUND. */
int assistant_config_get_version(struct store *db, const char *tenant_id, int64_t version, char **out,
                                 struct assistant_config_version *ver, struct err *e);
/* Save version's document again as a new version (note "rollback to N"),
 * so the current config equals it exactly (version 0: the defaults). The
 * API key is not part of a version: the current key stays, and the new
 * version's api_key_set says whether there is one. Audited
 * assistant.config.rollback. ERR_NOTFOUND. */
int assistant_config_rollback(struct store *db, const char *tenant_id, int64_t version,
                              const struct assistant_actor *who, int64_t *out_version, struct err *e);
/* The tenant's sealed API key (malloc'd into *out, NULL when none). */
int assistant_config_api_key(struct store *db, struct ops_keyring *keys, const char *tenant_id, char **out,
                             struct err *e);


/* ==================================================================
 * Safety (assistant_safety.c): pure checks of what a customer wrote and
 * of what the assistant would answer, and the redaction of logs.
 * ================================================================== */

/* A check's verdict. code: "" when ok; input: prompt_injection | abuse;
 * output: other_pii | unknown_url | forbidden_price | forbidden_legal |
 * forbidden_medical | forbidden_phrase | too_long | empty. reason says
 * which rule matched, for the person reviewing, and never quotes the
 * customer's text. */
struct assistant_verdict {
    int ok;
    char code[32];
    char reason[200];
};
/* Prompt-injection patterns and abusive content, in English and Spanish.
 * Words are compared lower-cased with accents folded, whole words only
 * (so "class" or "Scunthorpe" never match an insult). prompt_injection:
 * instruction overrides ("ignore all previous instructions", "disregard
 * your instructions", "olvida las instrucciones anteriores"), role changes
 * ("you are now …", "act as …" addressed to the assistant, "pretend to
 * be", "ahora eres …", "actúa como"), prompt extraction ("system prompt",
 * "reveal your instructions", "muestra tu prompt"), jailbreaks ("developer
 * mode", "jailbreak", "modo desarrollador"), chat-template tokens
 * ("<|im_start|>", "[INST]") and role markers at the start of a line
 * ("system:", "assistant:", "### Instruction"). What a customer says
 * about their own messages or roles is not flagged ("ignore my previous
 * message", "I need to act as the legal guardian"). abuse: strong insults
 * and threats ("I will kill you", "te voy a matar"). NULL text is ok.
 * Pure. */
void assistant_safety_input(const char *text, struct assistant_verdict *out);

struct assistant_output_rules {
    const struct assistant_config *cfg;  /* forbid_*, forbidden_phrases, max_length; NULL: PII, links, empty only */
    const char *channel;                 /* for max_length; NULL or unknown: no length check */
    const char *const *own;              /* the customer's own addresses (phones, e-mails) which may appear */
    int nown;
    const struct assistant_passage *passages; /* the knowledge the answer may quote: URLs, phones, e-mails,
                                               * card numbers and prices found here are allowed */
    int npassages;
};
/* Check an answer before anyone sees it as the assistant's. The first
 * failing check, in this order, gives the code:
 *  empty: NULL, or only whitespace.
 *  other_pii: a phone number (7-15 digits: "+44 7700 900123",
 *   "(555) 123-4567", "555.123.4567", "5551234567"; not dates like
 *   2024-05-12, nor "#12345678", nor "$1234567"), an e-mail address or a
 *   card number (13-19 digits, single spaces or dashes, Luhn-valid) that is
 *   neither among own nor in a passage. Phones compare by digits, leading
 *   zeros aside, one ending with the other's last 7+ (with and without the
 *   country code); e-mails case-insensitively; cards by digits.
 *  unknown_url: an http(s) link or bare "www." host unless a passage holds
 *   a link on the same host (case and "www." aside) whose path starts with
 *   this one's at a '/', '?' or '#' (the scheme is ignored).
 *  forbidden_price (cfg->forbid_prices): a currency amount ("$12", "12
 *   USD", "USD 12", "€5,00", "5 euros", "10 dólares") whose value is not
 *   one a passage quotes as a price: the knowledge base's own prices may
 *   be quoted in any of these forms, a made-up one may not.
 *  forbidden_legal / forbidden_medical (cfg->forbid_legal / forbid_medical):
 *   advice patterns ("you should sue", "you are entitled to compensation",
 *   "debería demandar"; "take 2 tablets", "you should stop taking",
 *   "tome 2 pastillas"); mentions ("legal advice", "dosage", "diagnosis",
 *   "asesoramiento legal", "dosis") unless negated just before ("we cannot
 *   give legal advice"). Passages do not exempt them.
 *  forbidden_phrase: one of cfg->forbidden_phrases as whole words, case-
 *   and accent-insensitive; reason gives its position in the list.
 *  too_long: more UTF-8 characters (not bytes) than cfg->max_length for the
 *   channel (assistant_channel_index).
 * Pure. */
void assistant_safety_output(const char *answer, const struct assistant_output_rules *r,
                             struct assistant_verdict *out);
/* Append text with phone numbers, e-mail addresses and card-like numbers
 * (13-19 digits, spaces or dashes allowed, Luhn-valid), found as
 * assistant_safety_output finds them (links are not exempt: digits in a
 * link's path are redacted too), replaced by [phone], [email], [card];
 * every other byte as it was. Redacting the result again changes nothing.
 * NULL appends nothing. Pure. */
void assistant_redact(const char *text, struct buf *out);
/* What the customer is told when an answer is refused or the input is
 * (the "neutral response": never an echo of their text), in language
 * ("es", "es-MX", … or else English); static. */
const char *assistant_neutral_response(const char *language);


/* ==================================================================
 * A turn (assistant_prompt.c, assistant_turn.c): what the assistant does
 * with one inbound message. Reads the knowledge base; writes nothing.
 * ================================================================== */

/* A message of the conversation so far, oldest first, borrowed. */
struct assistant_history {
    int inbound;                  /* 1: the customer, 0: us */
    const char *text;
};

/* The chat-completions messages for an LLM answer: a system message built
 * from the configuration (identity, tone, grounding rules, the languages,
 * that answers must cite passages as [#<chunk id>] and answer
 * "UNKNOWN" when the passages do not hold the answer), the passages with
 * their ids, then the recent history and the question as user/assistant
 * messages. Each passage is one paragraph "[#<chunk id>] <title>: <text>"
 * (flattened to one line) between the lines "<<<PASSAGES" and
 * "PASSAGES>>>"; customer text never enters the system message. History:
 * the last 10 messages at most (fewer when max is short). The strings are
 * allocated in arena. Returns the count (at most 1 + 10 + 1, and at most
 * max; 0 when max < 2). */
int assistant_prompt_build(struct arena *arena, const struct assistant_config *cfg, const char *language,
                           const struct assistant_passage *passages, int npassages,
                           const struct assistant_history *history, int nhistory, const char *question,
                           struct assistant_llm_message *out, int max);
/* The passages an answer cites ([#123] markers naming chunk ids among
 * passages; others are ignored): their ids into ids (up to max), the count
 * returned, and the answer without the markers into clean. Pure. */
int assistant_citations(const char *answer, const struct assistant_passage *passages, int npassages, int64_t *ids,
                        int max, struct buf *clean);
/* Greetings, thanks and goodbyes in English and Spanish ("hi", "thanks!",
 * "hola", "gracias"), which need no citation: the text is nothing but such
 * words (at most 8, no digits). Returns the kind (a goodbye or thanks wins
 * over a greeting in "hi, thanks"), 0 when it is not small talk. Pure. */
enum { ASSISTANT_SMALL_TALK_GREETING = 1, ASSISTANT_SMALL_TALK_THANKS, ASSISTANT_SMALL_TALK_GOODBYE };
int assistant_small_talk(const char *text);

enum assistant_action {
    ASSISTANT_SEND,               /* send text now */
    ASSISTANT_DRAFT,              /* a person approves text first */
    ASSISTANT_HANDOVER,           /* a person answers; text is empty or what to tell the customer meanwhile */
    ASSISTANT_EMERGENCY,          /* route to the on-call contact at once (and hand over) */
    ASSISTANT_SKIP,               /* nothing to do (disabled, channel off, outside hours) */
};
const char *assistant_action_name(enum assistant_action a);

/* What the turn needs, borrowed. */
struct assistant_turn_input {
    const struct assistant_config *cfg;
    const char *tenant_id;
    const char *channel;          /* sms | whatsapp | … */
    const char *language;         /* the contact's, or NULL: the config's first */
    const char *text;             /* the inbound message */
    const struct assistant_history *history;
    int nhistory;
    const char *const *own;       /* the customer's addresses */
    int nown;
    const char *api_key;          /* the tenant's LLM key or NULL */
    struct assistant_breaker *breaker; /* shared per process; NULL: none */
    int in_hours;                 /* 1: inside working hours (the caller knows the tenant's zone) */
    const struct assistant_intents *intents; /* a classifier built from cfg (assistant_turn_intents) */
    long llm_timeout_ms;          /* 0: the client's default */
};

struct assistant_turn {
    enum assistant_action action;
    struct buf text;              /* the reply or draft, markers removed */
    struct buf alternatives;      /* JSON array of other candidate replies (may be "[]") */
    char intent[64];
    double confidence;            /* of the answer: the intent's, lowered when retrieval is weak */
    char reason[240];             /* why it drafted or handed over (e.g. "ungrounded: no passage cited",
                                   * "unsafe: unknown_url"); "" for a plain send */
    char provider[16];            /* llm | extractive | none */
    char model[128];
    int64_t prompt_tokens, completion_tokens;
    int64_t latency_ms;
    int64_t cited[ASSISTANT_EXTRACT_USED_MAX];
    int ncited;
    struct buf prompt_log;        /* the prompt as sent, redacted (empty when no LLM call) */
    struct buf response_log;      /* the raw response, redacted */
};
void assistant_turn_free(struct assistant_turn *t);
/* The classifier for cfg's intents and emergency phrases (free with
 * assistant_intents_free). */
int assistant_turn_intents(const struct assistant_config *cfg, struct assistant_intents **out, struct err *e);
/* Decide, in this order:
 *  1. skip: disabled, the channel off (or unknown), outside hours unless
 *     hours_always;
 *  2. emergency phrases -> EMERGENCY (text: a fixed "call your emergency
 *     number" in the language). They come before the input checks so
 *     that they always win;
 *  3. input safety refused -> HANDOVER, text the neutral response, reason
 *     "unsafe input: <code>: <reason>";
 *  4. small talk (intent "small_talk", no retrieval), else the intent when
 *     cfg has intents (none configured: every question goes on at intent
 *     confidence 1): under the threshold -> HANDOVER (intent "", text
 *     unknown_answer); action handover -> HANDOVER; action emergency ->
 *     EMERGENCY;
 *  5. retrieval: the top 5 passages, reordered by the share of the
 *     question's terms they hold (titles are not indexed); none and
 *     kb_only -> HANDOVER;
 *  6. the answer: the LLM (provider_kind "openai", the intent's model or
 *     cfg's, the channel's max length in the prompt) through the breaker,
 *     else, or when it fails, extractive (reason "llm fallback: …"); nothing
 *     grounded, or the LLM says UNKNOWN -> HANDOVER with unknown_answer;
 *     small talk without an LLM gets a fixed reply in the language;
 *  7. citations: an LLM answer naming no given passage (small talk aside)
 *     -> DRAFT "ungrounded: …", never SEND; an extractive answer cites the
 *     passages it used;
 *  8. output safety refused -> DRAFT "unsafe: <code>: <reason>";
 *  9. action collect | book -> DRAFT "action <name> needs a person" (no
 *     grounded text: HANDOVER);
 * 10. the mode: auto SEND; threshold SEND when confidence >=
 *     auto_threshold, else DRAFT; draft DRAFT ("draft mode").
 * confidence = intent confidence * (0.5 + 0.5 c), c the share of the
 * question's terms held by the best cited passage (1 for small talk).
 * alternatives: up to 2 other passages that share a word with the question,
 * as the extractive provider would answer with them. prompt_log: the
 * request body as sent, redacted; response_log: the model's raw answer,
 * redacted. Store errors only; every other failure is a decision. */
int assistant_turn_run(struct store *db, const struct assistant_turn_input *in, struct assistant_turn *out,
                       struct err *e);

/* ==================================================================
 * The assistant at work (assistant_reply.c, assistant_drafts.c): the jobs
 * that answer inbound messages, the draft queue, paused conversations,
 * and usage analytics. Replies leave through messaging_send (origin
 * "assistant"; an approved draft is a person's reply, origin "agent"), so
 * every compliance rule applies to them as to anyone's.
 *
 * Flow: the inbound job calls the assistant's hook inside its
 * transaction for every customer message that is not a compliance
 * keyword: the conversation's pending drafts become stale (draft.updated)
 * and, when the tenant's assistant is enabled for the channel, an
 * assistant.reply job is queued in the same commit. That job (one queue
 * hop after the message) runs the turn (assistant_turn_run) and acts:
 * SEND sends; DRAFT stores a pending draft (draft.created) and queues its
 * escalation (assistant.escalate after draft_escalate_after_s:
 * draft.updated with escalated_at, and draft.escalated); HANDOVER pauses
 * the assistant in the conversation (assistant.handover) after sending
 * what to say meanwhile, if anything; EMERGENCY sends the on-call contact
 * an urgent alert at once, tells the customer to call emergency services
 * too, and pauses (assistant.emergency). Every turn but SKIP writes one
 * llm_usage row (its outcome moves on with the draft: approved, edited,
 * rejected, stale) and, when an LLM was called, a redacted prompt log
 * (kept log_retention_days). A message that is no longer the customer's
 * latest when its job runs is not answered (the later one is).
 * ================================================================== */

#define ASSISTANT_JOB_REPLY "assistant.reply"
#define ASSISTANT_JOB_ESCALATE "assistant.escalate"

struct messaging;
struct queue;
struct store_writer;

struct assistant;
struct assistant_options {
    struct store *db;
    struct ops_keyring *keys;     /* opens the tenant's LLM key */
    struct messaging *msg;        /* the hook is installed on it; replies go through it */
    struct queue *queue;          /* the job types are registered on it; NULL: no jobs (CLI) */
    struct store_writer *writer;  /* group commit; NULL: a transaction per write */
    void (*notify)(void *ud);     /* rung after a commit that appended realtime events; may be NULL */
    void *notify_ud;
    int breaker_threshold;        /* consecutive LLM failures that open the circuit [5] */
    int64_t breaker_cooldown_ms;  /* [30000] */
    long llm_timeout_ms;          /* each LLM attempt [20000] */
};
/* What opt points to is borrowed and must outlive a. Call before the
 * queue starts. ERR_INVALID without db, keys or msg; ERR_NOMEM. */
int assistant_new(struct assistant **out, const struct assistant_options *opt, struct err *e);
void assistant_free(struct assistant *a); /* NULL is a no-op */

/* Levenshtein distance between two UTF-8 texts in code points (the draft
 * and what was sent: the measure of the assistant's quality). Pure. */
int64_t assistant_edit_distance(const char *a, const char *b);

/* The draft's public JSON object (the queue's and the events' shape). */
void assistant_draft_json(struct buf *b, const struct store_draft *d);
/* Drafts newest first (status NULL or "all": every status), a page of
 * limit (1..200) before the cursor (NULL: from the newest) appended to out
 * as {"data": […], "next_cursor": …|null}. ERR_INVALID "invalid_cursor". */
int assistant_draft_list(struct assistant *a, const char *tenant_id, const char *status, const char *cursor,
                         int limit, struct buf *out, struct err *e);
int assistant_draft_get(struct assistant *a, const char *tenant_id, const char *id, struct buf *out, struct err *e);
/* Send a pending draft as it is (text NULL) or edited, as the actor's
 * reply; its turn's outcome becomes approved or edited, and the edit
 * distance is stored. out gets the draft's JSON. ERR_CONFLICT
 * "draft_not_pending" when it was decided or became stale; the send
 * gate's errors as messaging_send (the draft stays pending). Audited
 * assistant.draft.approve. */
int assistant_draft_approve(struct assistant *a, const char *tenant_id, const char *id, const char *text,
                            const struct assistant_actor *who, struct buf *out, struct err *e);
/* Reject a pending draft with a reason (required). ERR_CONFLICT
 * "draft_not_pending". Audited assistant.draft.reject. */
int assistant_draft_reject(struct assistant *a, const char *tenant_id, const char *id, const char *reason,
                           const struct assistant_actor *who, struct buf *out, struct err *e);

/* A conversation's pause: {"paused", "reason", "paused_by", "paused_at"}.
 * ERR_NOTFOUND for another tenant's or an unknown conversation. Pausing
 * and resuming publish assistant.paused / assistant.resumed and are
 * audited. */
int assistant_pause_json(struct assistant *a, const char *tenant_id, const char *conversation_id, struct buf *out,
                         struct err *e);
int assistant_pause(struct assistant *a, const char *tenant_id, const char *conversation_id, const char *reason,
                    const struct assistant_actor *who, struct buf *out, struct err *e);
int assistant_resume(struct assistant *a, const char *tenant_id, const char *conversation_id,
                     const struct assistant_actor *who, struct buf *out, struct err *e);

/* Usage analytics over [from, to) (Unix ms, whole UTC days) appended to
 * out: {"from", "to", "totals": {…}, "days": […], "intents": […]} (see
 * docs/assistant.md). */
int assistant_analytics(struct assistant *a, const char *tenant_id, int64_t from, int64_t to, struct buf *out,
                        struct err *e);

#endif
