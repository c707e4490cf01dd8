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

#endif
