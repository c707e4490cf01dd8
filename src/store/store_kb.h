/*
 * store_kb.h: the knowledge base half of the store API (the SQL behind
 * src/assistant/): documents, their chunks and full-text retrieval. Part of
 * store.h (which includes it), with its conventions.
 *
 * A document's chunks are always those of its current body: the caller
 * (assistant/) splits the body and passes the chunks to insert or update in
 * the same transaction. On SQLite the chunks of enabled documents are
 * indexed in the FTS5 table kb_fts (porter stemming; the caller passes the
 * indexed text, which it may have normalised, e.g. for Spanish; a tenant
 * token column keeps each tenant's search to its own chunks); on
 * PostgreSQL in a generated tsvector in the document's language. Every function filters by the tenant id
 * argument; disabled documents are never returned by store_kb_search.
 */
#ifndef SB_STORE_KB_H
#define SB_STORE_KB_H

#include "store/store.h"

#define STORE_KB_SOURCE_MAX 256

/* A document. title, body and tags (a JSON array text) are malloc'd in rows
 * read by store_kb_doc_get (store_kb_doc_clear frees them) and borrowed in
 * rows handed to callbacks or passed as input. */
struct store_kb_doc {
    char id[CORE_ID_MAX];         /* "kbd_…" */
    char tenant_id[CORE_ID_MAX];
    char *title;
    char *body;
    char *tags;                   /* JSON array of strings; NULL/"" = "[]" */
    char source[STORE_KB_SOURCE_MAX];
    char language[8];             /* "en" | "es" */
    int enabled;
    char created_by[CORE_ID_MAX];
    int64_t created_at;
    int64_t updated_at;
    int64_t chunks;               /* read only: number of chunks */
};

/* One chunk to write: text is stored and returned by searches; indexed is
 * what SQLite's full-text index sees (NULL = text). Both borrowed. */
struct store_kb_chunk_in {
    const char *text;
    const char *indexed;
};

/* A search hit, borrowed for the callback. score: higher is better
 * (SQLite: -bm25(kb_fts); PostgreSQL: ts_rank). */
struct store_kb_hit {
    int64_t chunk_id;
    const char *document_id;
    const char *title;
    const char *text;
    int seq;
    double score;
};

/* The query, already made safe by assistant/: match is an FTS5 expression
 * of quoted terms joined by OR (SQLite); terms is the same words joined by
 * spaces, fed to plainto_tsquery in both configurations and OR-ed
 * (PostgreSQL). Neither is ever raw user input. */
struct store_kb_query {
    const char *match;
    const char *terms;
};

typedef int (*store_kb_doc_cb)(void *ud, const struct store_kb_doc *d);
typedef int (*store_kb_hit_cb)(void *ud, const struct store_kb_hit *h);
typedef int (*store_kb_chunk_cb)(void *ud, int seq, const char *text);

/* Frees the strings of a document read by store_kb_doc_get; NULL is a no-op. */
void store_kb_doc_clear(struct store_kb_doc *d);
/* Insert a document (d->id set by the caller) and its n chunks inside tx.
 * ERR_INVALID without id, title or language; ERR_CONFLICT on a duplicate id. */
int store_kb_doc_insert(struct store_tx *tx, const char *tenant_id, const struct store_kb_doc *d,
                        const struct store_kb_chunk_in *chunks, int n, struct err *e);
/* Rewrite a document's fields (all of title, body, tags, source, language,
 * enabled, updated_at) inside tx; when chunks is not NULL its chunks are
 * replaced by these n. ERR_NOTFOUND when the tenant has no such document. */
int store_kb_doc_update(struct store_tx *tx, const char *tenant_id, const struct store_kb_doc *d,
                        const struct store_kb_chunk_in *chunks, int n, struct err *e);
/* Delete a document and its chunks inside tx; ERR_NOTFOUND when missing. */
int store_kb_doc_delete(struct store_tx *tx, const char *tenant_id, const char *id, struct err *e);
/* Read one document into out (strings malloc'd); ERR_NOTFOUND. */
int store_kb_doc_get(struct store *db, const char *tenant_id, const char *id, struct store_kb_doc *out,
                     struct err *e);
/* The tenant's documents, most recently updated first, limit (<= 0: 100)
 * from offset; body is borrowed and may be long. cb's non-zero return stops
 * the walk and is returned. */
int store_kb_doc_list(struct store *db, const char *tenant_id, int limit, int offset, store_kb_doc_cb cb, void *ud,
                      struct err *e);
/* A document's chunks in order (tests, the dashboard). */
int store_kb_chunks(struct store *db, const char *tenant_id, const char *document_id, store_kb_chunk_cb cb,
                    void *ud, struct err *e);
/* The k (1..100) best chunks of the tenant's enabled documents for q, best
 * first. On SQLite, once the index holds 1,000 chunks or more, the words
 * found in more than 5 % of its chunks (all tenants together) are left out
 * of the search, except the query's two rarest: they cost the most and
 * move the BM25 order the least (a chunk holding only such words is not
 * returned; the others rank without them). ERR_INVALID on a bad k or an
 * empty query. */
int store_kb_search(struct store *db, const char *tenant_id, const struct store_kb_query *q, int k,
                    store_kb_hit_cb cb, void *ud, struct err *e);

#endif
