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

#endif
