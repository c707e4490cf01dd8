/*
 * store kb: knowledge base documents, their chunks and full-text retrieval
 * (the SQL behind src/assistant/). See store_kb.h.
 *
 * Invariants: every query filters by the tenant id argument. A document's
 * chunks are rewritten in the transaction that writes its body. On SQLite a
 * chunk's FTS5 row (kb_fts, rowid = kb_chunks.id) is inserted and deleted
 * with the chunk, in the same transaction, so the index never names a chunk
 * that is gone, and kb_fts_stats's count of its rows moves in the same
 * transaction (kb_common, the frequent words, is a cache that may lag by a
 * tenth of the index); on PostgreSQL the tsvector is a generated column.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define D_COLS                                                                                                  \
    "d.id, d.tenant_id, d.title, d.body, d.tags, d.source, d.language, d.enabled, d.created_by, d.created_at," \
    " d.updated_at, (SELECT COUNT(*) FROM kb_chunks c WHERE c.tenant_id = d.tenant_id AND c.document_id = d.id)"

void store_kb_doc_clear(struct store_kb_doc *d)
{
    if (!d)
        return;
    free(d->title);
    free(d->body);
    free(d->tags);
    memset(d, 0, sizeof(*d));
}

static int need_tx(const struct store_tx *tx, const char *tenant_id, struct err *e)
{
    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return store__need(tenant_id, "tenant id", e);
}

/* The row's columns into d, strings borrowed from the row. */
static void row_to_doc(const struct store_row *r, struct store_kb_doc *d, const char **title, const char **body,
                       const char **tags)
{
    memset(d, 0, sizeof(*d));
    store__cpy(d->id, sizeof(d->id), store__col_text(r, 0));
    store__cpy(d->tenant_id, sizeof(d->tenant_id), store__col_text(r, 1));
    *title = store__col_text(r, 2);
    *body = store__col_text(r, 3);
    *tags = store__col_text(r, 4);
    store__cpy(d->source, sizeof(d->source), store__col_text(r, 5));
    store__cpy(d->language, sizeof(d->language), store__col_text(r, 6));
    d->enabled = store__col_int(r, 7) != 0;
    store__cpy(d->created_by, sizeof(d->created_by), store__col_text(r, 8));
    d->created_at = store__col_int(r, 9);
    d->updated_at = store__col_int(r, 10);
    d->chunks = store__col_int(r, 11);
}

static int row_doc_one(void *ud, const struct store_row *r)
{
    struct store_kb_doc *d = ud;
    const char *title, *body, *tags;
    row_to_doc(r, d, &title, &body, &tags);
    d->title = strdup(title);
    d->body = strdup(body);
    d->tags = strdup(tags);
    return d->title && d->body && d->tags ? 0 : ERR_NOMEM;
}

struct doc_iter {
    store_kb_doc_cb cb;
    void *ud;
};

static int row_doc_cb(void *ud, const struct store_row *r)
{
    struct doc_iter *it = ud;
    struct store_kb_doc d;
    const char *title, *body, *tags;
    row_to_doc(r, &d, &title, &body, &tags);
    /* Borrowed for the call: the casts only drop const for the struct's type. */
    d.title = (char *)title;
    d.body = (char *)body;
    d.tags = (char *)tags;
    return it->cb(it->ud, &d);
}

/* The tenant's token in kb_fts: "t" + the id in hex (one alphanumeric token,
 * so no tenant id can match another's). */
static void tenant_token(char *out, size_t size, const char *tenant_id)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    out[o++] = 't';
    for (const unsigned char *p = (const unsigned char *)tenant_id; *p && o + 3 < size; p++) {
        out[o++] = hex[*p >> 4];
        out[o++] = hex[*p & 15];
    }
    out[o] = '\0';
}

#define TOKEN_MAX (2 * CORE_ID_MAX + 2)

/* Common words (SQLite). A search ORs its words, and FTS5 scores every
 * chunk that holds any of them: a word in a large share of the chunks costs
 * the most and, having the lowest IDF, moves the BM25 order the least. So a
 * search leaves out the words found in more than 1/COMMON_SHARE of the
 * chunks, but always keeps its COMMON_KEEP rarest (a query of common words
 * only still finds their chunks). kb_common lists those words with their
 * document frequency (0013_kb_vocab.sql, which holds the same constants);
 * below COMMON_MIN_CHUNKS chunks it is empty (a search is cheap anyway, and
 * a small index's frequencies say little). The writes keep kb_fts_stats's
 * count of kb_fts rows and recompute kb_common from kb_fts_vocab (a walk
 * over the whole index) when the count has moved by a tenth since. */
#define COMMON_SHARE 20
#define COMMON_KEEP 2
#define COMMON_MIN_CHUNKS 1000

static int row_two_ints(void *ud, const struct store_row *r)
{
    int64_t *v = ud;
    v[0] = store__col_int(r, 0);
    v[1] = store__col_int(r, 1);
    return 0;
}

/* SQLite: count delta more (or fewer) rows in kb_fts, and recompute
 * kb_common when the index has changed enough since it last was. */
static int fts_counted(struct store_tx *tx, int64_t delta, struct err *e)
{
    int64_t v[2] = {0, 0};
    struct store_param p[1] = {store__pint(delta)};
    int rc = 0;
    if (delta != 0)
        rc = store__q(tx->db, tx->c, "UPDATE kb_fts_stats SET chunks = chunks + ? WHERE id = 1", p, 1, NULL, NULL,
                      NULL, e);
    if (!rc)
        rc = store__q(tx->db, tx->c, "SELECT chunks, chunks_at_refresh FROM kb_fts_stats WHERE id = 1", NULL, 0,
                      row_two_ints, v, NULL, e);
    if (rc)
        return rc;
    int64_t n = v[0], at = v[1];
    if (n < COMMON_MIN_CHUNKS) {
        if (at == 0)
            return 0;
        rc = store__q(tx->db, tx->c, "DELETE FROM kb_common", NULL, 0, NULL, NULL, NULL, e);
        if (!rc)
            rc = store__q(tx->db, tx->c, "UPDATE kb_fts_stats SET chunks_at_refresh = 0 WHERE id = 1", NULL, 0,
                          NULL, NULL, NULL, e);
        return rc;
    }
    if (at != 0 && (n > at ? n - at : at - n) * 10 <= at)
        return 0;
    p[0] = store__pint(n / COMMON_SHARE);
    rc = store__q(tx->db, tx->c, "DELETE FROM kb_common", NULL, 0, NULL, NULL, NULL, e);
    if (!rc)
        rc = store__q(tx->db, tx->c,
                      "INSERT INTO kb_common (term, doc) SELECT term, doc FROM kb_fts_vocab WHERE doc > ?", p, 1, NULL,
                      NULL, NULL, e);
    if (!rc)
        rc = store__q(tx->db, tx->c, "UPDATE kb_fts_stats SET chunks_at_refresh = chunks WHERE id = 1", NULL, 0,
                      NULL, NULL, NULL, e);
    return rc;
}

/* SQLite: put the document's chunks into kb_fts (it is enabled). */
static int fts_add(struct store_tx *tx, const char *tenant_id, const char *doc_id, struct err *e)
{
    char tok[TOKEN_MAX];
    int64_t added = 0;
    tenant_token(tok, sizeof(tok), tenant_id);
    struct store_param p[3] = {store__ptext(tok), store__ptext(tenant_id), store__ptext(doc_id)};
    int rc = store__q(tx->db, tx->c,
                      "INSERT INTO kb_fts (rowid, tenant, text) SELECT id, ?, COALESCE(indexed, text) FROM kb_chunks"
                      " WHERE tenant_id = ? AND document_id = ?",
                      p, 3, NULL, NULL, &added, e);
    return rc ? rc : fts_counted(tx, added, e);
}

/* SQLite: take the document's chunks out of kb_fts. */
static int fts_remove(struct store_tx *tx, const char *tenant_id, const char *doc_id, struct err *e)
{
    int64_t removed = 0;
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(doc_id)};
    int rc = store__q(tx->db, tx->c,
                      "DELETE FROM kb_fts WHERE rowid IN"
                      " (SELECT id FROM kb_chunks WHERE tenant_id = ? AND document_id = ?)",
                      p, 2, NULL, NULL, &removed, e);
    return rc ? rc : fts_counted(tx, -removed, e);
}

static int insert_chunks(struct store_tx *tx, const char *tenant_id, const char *doc_id, const char *language,
                         const struct store_kb_chunk_in *chunks, int n, struct err *e)
{
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (store__is_pg(tx->db)) {
            struct store_param p[5] = {store__ptext(tenant_id), store__ptext(doc_id), store__pint(i),
                                       store__ptext(language), store__ptext(chunks[i].text)};
            rc = store__q(tx->db, tx->c,
                          "INSERT INTO kb_chunks (tenant_id, document_id, seq, language, text)"
                          " VALUES (?, ?, ?, ?, ?)",
                          p, 5, NULL, NULL, NULL, e);
        } else {
            struct store_param p[5] = {store__ptext(tenant_id), store__ptext(doc_id), store__pint(i),
                                       store__ptext(chunks[i].text), store__ptext_or_null(chunks[i].indexed)};
            rc = store__q(tx->db, tx->c,
                          "INSERT INTO kb_chunks (tenant_id, document_id, seq, text, indexed) VALUES (?, ?, ?, ?, ?)",
                          p, 5, NULL, NULL, NULL, e);
        }
    }
    return rc;
}

static int delete_chunks(struct store_tx *tx, const char *tenant_id, const char *doc_id, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(doc_id)};
    int rc = 0;
    if (!store__is_pg(tx->db))
        rc = fts_remove(tx, tenant_id, doc_id, e);
    if (!rc)
        rc = store__q(tx->db, tx->c, "DELETE FROM kb_chunks WHERE tenant_id = ? AND document_id = ?", p, 2, NULL,
                      NULL, NULL, e);
    return rc;
}

static int check_doc(const struct store_kb_doc *d, struct err *e)
{
    int rc;
    if ((rc = store__need(d->id, "document id", e)) || (rc = store__need(d->title, "document title", e)) ||
        (rc = store__need(d->language, "document language", e)))
        return rc;
    return 0;
}

int store_kb_doc_insert(struct store_tx *tx, const char *tenant_id, const struct store_kb_doc *d,
                        const struct store_kb_chunk_in *chunks, int n, struct err *e)
{
    int rc;
    if ((rc = need_tx(tx, tenant_id, e)) || (rc = check_doc(d, e)))
        return rc;
    struct store_param p[11] = {
        store__ptext(tenant_id),
        store__ptext(d->id),
        store__ptext(d->title),
        store__ptext(d->body ? d->body : ""),
        store__ptext(d->tags && *d->tags ? d->tags : "[]"),
        store__ptext(d->source),
        store__ptext(d->language),
        store__pint(d->enabled ? 1 : 0),
        store__ptext(d->created_by),
        store__pint(d->created_at),
        store__pint(d->updated_at ? d->updated_at : d->created_at),
    };
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO kb_documents (tenant_id, id, title, body, tags, source, language, enabled, created_by,"
                  " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  p, 11, NULL, NULL, NULL, e);
    if (!rc)
        rc = insert_chunks(tx, tenant_id, d->id, d->language, chunks, n, e);
    if (!rc && d->enabled && !store__is_pg(tx->db))
        rc = fts_add(tx, tenant_id, d->id, e);
    return rc;
}

int store_kb_doc_update(struct store_tx *tx, const char *tenant_id, const struct store_kb_doc *d,
                        const struct store_kb_chunk_in *chunks, int n, struct err *e)
{
    int rc;
    int64_t changed = 0;
    if ((rc = need_tx(tx, tenant_id, e)) || (rc = check_doc(d, e)))
        return rc;
    struct store_param p[9] = {
        store__ptext(d->title),
        store__ptext(d->body ? d->body : ""),
        store__ptext(d->tags && *d->tags ? d->tags : "[]"),
        store__ptext(d->source),
        store__ptext(d->language),
        store__pint(d->enabled ? 1 : 0),
        store__pint(d->updated_at),
        store__ptext(tenant_id),
        store__ptext(d->id),
    };
    rc = store__q(tx->db, tx->c,
                  "UPDATE kb_documents SET title = ?, body = ?, tags = ?, source = ?, language = ?, enabled = ?,"
                  " updated_at = ? WHERE tenant_id = ? AND id = ?",
                  p, 9, NULL, NULL, &changed, e);
    if (!rc && changed == 0)
        return err_set(e, ERR_NOTFOUND, "not_found", "knowledge base document not found");
    /* SQLite: kb_fts holds the chunks of enabled documents only. */
    if (!rc && !store__is_pg(tx->db))
        rc = fts_remove(tx, tenant_id, d->id, e);
    if (!rc && chunks) {
        if (!(rc = delete_chunks(tx, tenant_id, d->id, e)))
            rc = insert_chunks(tx, tenant_id, d->id, d->language, chunks, n, e);
    }
    if (!rc && d->enabled && !store__is_pg(tx->db))
        rc = fts_add(tx, tenant_id, d->id, e);
    return rc;
}

int store_kb_doc_delete(struct store_tx *tx, const char *tenant_id, const char *id, struct err *e)
{
    int rc;
    int64_t changed = 0;
    if ((rc = need_tx(tx, tenant_id, e)) || (rc = store__need(id, "document id", e)))
        return rc;
    if ((rc = delete_chunks(tx, tenant_id, id, e)))
        return rc;
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    rc = store__q(tx->db, tx->c, "DELETE FROM kb_documents WHERE tenant_id = ? AND id = ?", p, 2, NULL, NULL,
                  &changed, e);
    if (!rc && changed == 0)
        return err_set(e, ERR_NOTFOUND, "not_found", "knowledge base document not found");
    return rc;
}

int store_kb_doc_get(struct store *db, const char *tenant_id, const char *id, struct store_kb_doc *out,
                     struct err *e)
{
    int rc;
    memset(out, 0, sizeof(*out));
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "document id", e)))
        return rc;
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    rc = store__get_one(db, "SELECT " D_COLS " FROM kb_documents d WHERE d.tenant_id = ? AND d.id = ?", p, 2,
                        row_doc_one, out, "knowledge base document", e);
    if (rc)
        store_kb_doc_clear(out);
    return rc;
}

int store_kb_doc_list(struct store *db, const char *tenant_id, int limit, int offset, store_kb_doc_cb cb, void *ud,
                      struct err *e)
{
    int rc;
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    struct doc_iter it = {cb, ud};
    struct store_param p[3] = {store__ptext(tenant_id), store__pint(limit > 0 ? limit : 100),
                               store__pint(offset > 0 ? offset : 0)};
    return store__list(db,
                       "SELECT " D_COLS " FROM kb_documents d WHERE d.tenant_id = ?"
                       " ORDER BY d.updated_at DESC, d.id DESC LIMIT ? OFFSET ?",
                       p, 3, row_doc_cb, &it, e);
}

struct chunk_iter {
    store_kb_chunk_cb cb;
    void *ud;
};

static int row_chunk_cb(void *ud, const struct store_row *r)
{
    struct chunk_iter *it = ud;
    return it->cb(it->ud, (int)store__col_int(r, 0), store__col_text(r, 1));
}

int store_kb_chunks(struct store *db, const char *tenant_id, const char *document_id, store_kb_chunk_cb cb,
                    void *ud, struct err *e)
{
    int rc;
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(document_id, "document id", e)))
        return rc;
    struct chunk_iter it = {cb, ud};
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(document_id)};
    return store__list(db, "SELECT seq, text FROM kb_chunks WHERE tenant_id = ? AND document_id = ? ORDER BY seq",
                       p, 2, row_chunk_cb, &it, e);
}

struct hit_iter {
    store_kb_hit_cb cb;
    void *ud;
};

static int row_hit_cb(void *ud, const struct store_row *r)
{
    struct hit_iter *it = ud;
    struct store_kb_hit h = {
        .chunk_id = store__col_int(r, 0),
        .document_id = store__col_text(r, 1),
        .title = store__col_text(r, 2),
        .text = store__col_text(r, 3),
        .seq = (int)store__col_int(r, 4),
        .score = strtod(store__col_text(r, 5), NULL),
    };
    return it->cb(it->ud, &h);
}

/* The fast path's rows (k <= 100), copied: the exact query may run after it. */
struct fast {
    struct store_kb_hit h[100];
    int n;
};

static void fast_free(struct fast *f)
{
    for (int i = 0; i < f->n; i++) {
        free((char *)f->h[i].document_id);
        free((char *)f->h[i].title);
        free((char *)f->h[i].text);
    }
    f->n = 0;
}

static int fast_row(void *ud, const struct store_row *r)
{
    struct fast *f = ud;
    struct store_kb_hit *h = &f->h[f->n];
    if (f->n >= 100)
        return 0;
    h->chunk_id = store__col_int(r, 0);
    h->document_id = strdup(store__col_text(r, 1));
    h->title = strdup(store__col_text(r, 2));
    h->text = strdup(store__col_text(r, 3));
    h->seq = (int)store__col_int(r, 4);
    h->score = strtod(store__col_text(r, 5), NULL);
    f->n++;
    return h->document_id && h->title && h->text ? 0 : ERR_NOMEM;
}

/* The words of a search expression ("a" OR "b" OR ...), borrowed. */
#define WORDS_MAX 64
struct words {
    const char *w[WORDS_MAX];
    size_t len[WORDS_MAX];
    size_t at[WORDS_MAX]; /* offset in the tokenizer's input */
    int64_t df[WORDS_MAX]; /* chunks holding it when common, else 0 */
    int n;
};

/* Splits m into w; 0 when m is not quoted words joined by OR (then the
 * expression is searched as it is). */
static int split_match(const char *m, struct words *w)
{
    w->n = 0;
    for (;;) {
        const char *end;
        if (*m != '"' || !(end = strchr(m + 1, '"')) || end == m + 1 || w->n == WORDS_MAX)
            return 0;
        w->w[w->n] = m + 1;
        w->len[w->n] = (size_t)(end - m - 1);
        w->df[w->n] = 0;
        w->n++;
        m = end + 1;
        if (!*m)
            return 1;
        if (strncmp(m, " OR ", 4) != 0)
            return 0;
        m += 4;
    }
}

static int row_common(void *ud, const struct store_row *r)
{
    struct words *w = ud;
    int64_t at = store__col_int(r, 0);
    for (int i = 0; i < w->n; i++)
        if ((int64_t)w->at[i] == at)
            w->df[i] = store__col_int(r, 1);
    return 0;
}

/* SQLite: the search expression for q->match into out, in parentheses,
 * without its common words (see COMMON_SHARE). */
static int search_expr(struct store *db, const char *match, struct buf *out, struct err *e)
{
    struct words w;
    struct buf in = {0};
    int rc = 0;

    buf_reset(out);
    if (!split_match(match, &w) || w.n <= COMMON_KEEP) {
        buf_printf(out, "(%s)", match);
        return 0;
    }
    /* The porter tokenizer turns each word into the index's term; the
     * offsets map the common ones back. */
    for (int i = 0; i < w.n; i++) {
        if (i)
            buf_putc(&in, ' ');
        w.at[i] = in.len;
        buf_append(&in, w.w[i], w.len[i]);
    }
    struct store_param p[2] = {store__ptext(in.data), store__pint(COMMON_SHARE)};
    rc = store__list(db,
                     "SELECT t.start, c.doc FROM kb_tok t JOIN kb_common c ON c.term = t.token"
                     " JOIN kb_fts_stats s ON s.id = 1 WHERE t.input = ? AND c.doc > s.chunks / ?",
                     p, 2, row_common, &w, e);
    buf_free(&in);
    if (rc)
        return rc;
    buf_putc(out, '(');
    int kept = 0;
    for (int i = 0; i < w.n; i++) {
        /* Its place among the words from rarest to most common (ties in
         * query order): the COMMON_KEEP rarest stay, common or not. */
        int rank = 0;
        for (int j = 0; j < w.n; j++)
            if (w.df[j] < w.df[i] || (w.df[j] == w.df[i] && j < i))
                rank++;
        if (w.df[i] > 0 && rank >= COMMON_KEEP)
            continue;
        buf_printf(out, "%s\"%.*s\"", kept++ ? " OR " : "", (int)w.len[i], w.w[i]);
    }
    buf_putc(out, ')');
    return 0;
}

int store_kb_search(struct store *db, const char *tenant_id, const struct store_kb_query *q, int k,
                    store_kb_hit_cb cb, void *ud, struct err *e)
{
    int rc;
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    if (k < 1 || k > 100)
        return err_set(e, ERR_INVALID, NULL, "store: k must be 1..100");
    struct hit_iter it = {cb, ud};
    if (store__is_pg(db)) {
        if ((rc = store__need(q->terms, "search terms", e)))
            return rc;
        /* plainto_tsquery ANDs the words; '&' -> '|' makes it any word (the
         * terms are letters and digits only, so the lexemes never hold '&'). */
        struct store_param p[5] = {store__ptext(q->terms), store__ptext(q->terms), store__ptext(tenant_id),
                                   store__ptext(tenant_id), store__pint(k)};
        return store__list(db,
                           "WITH q AS (SELECT replace(plainto_tsquery('english', ?)::text, '&', '|')::tsquery"
                           " || replace(plainto_tsquery('spanish', ?)::text, '&', '|')::tsquery AS q)"
                           " SELECT c.id, c.document_id, d.title, c.text, c.seq, ts_rank(c.tsv, q.q)::text"
                           " FROM q, kb_chunks c JOIN kb_documents d ON d.id = c.document_id"
                           " WHERE c.tenant_id = ? AND d.tenant_id = ? AND d.enabled = 1 AND c.tsv @@ q.q"
                           " ORDER BY ts_rank(c.tsv, q.q) DESC, c.id LIMIT ?",
                           p, 5, row_hit_cb, &it, e);
    }
    if ((rc = store__need(q->match, "search expression", e)))
        return rc;
    /* Fast path: the k best rows of the whole index (enabled documents
     * only, as kb_fts holds only those); when all k are this tenant's they
     * are exactly its top k. On a database of one tenant (the usual SQLite
     * deployment) that is always so; otherwise the exact query below ranks
     * with the tenant's token, which costs a second posting list. (A wider
     * first pass, say the top 64, would fall back less often with several
     * tenants, but FTS5 then takes a third longer on every query.) */
    struct fast f = {0};
    struct buf m = {0}, x = {0};
    /* No column filter (it costs a position check per match): the words
     * are quoted letters and digits, and a word that happens to equal a
     * tenant token matches only that column, which weighs 0 and, outside
     * this tenant, is filtered out below. */
    if ((rc = search_expr(db, q->match, &x, e)))
        goto out;
    buf_puts(&m, x.data);
    struct store_param p[5] = {store__ptext(m.data), store__pint(k),
                               store__ptext(tenant_id), store__ptext(tenant_id), store__pint(k)};
    rc = store__list(db,
                     "SELECT c.id, c.document_id, d.title, c.text, c.seq, -f.r FROM"
                     " (SELECT rowid, bm25(kb_fts, 0.0, 1.0) AS r FROM kb_fts WHERE kb_fts MATCH ?"
                     " ORDER BY r LIMIT ?) f"
                     " JOIN kb_chunks c ON c.id = f.rowid JOIN kb_documents d ON d.id = c.document_id"
                     " WHERE c.tenant_id = ? AND d.tenant_id = ? AND d.enabled = 1 ORDER BY f.r, c.id LIMIT ?",
                     p, 5, fast_row, &f, e);
    if (!rc && f.n == k) {
        for (int i = 0; i < f.n && !rc; i++)
            rc = cb(ud, &f.h[i]);
        goto out;
    }
    if (rc)
        goto out;
    /* Exact: the tenant's token AND the same expression (quoted words
     * only); the tenant column weighs 0 in bm25. */
    char tok[TOKEN_MAX];
    tenant_token(tok, sizeof(tok), tenant_id);
    buf_reset(&m);
    buf_printf(&m, "tenant : %s AND %s", tok, x.data);
    p[0] = store__ptext(m.data);
    p[1] = store__pint(k);
    rc = store__list(db,
                     "SELECT c.id, c.document_id, d.title, c.text, c.seq, -f.r FROM"
                     " (SELECT rowid, bm25(kb_fts, 0.0, 1.0) AS r FROM kb_fts WHERE kb_fts MATCH ?"
                     " ORDER BY r LIMIT ?) f"
                     " JOIN kb_chunks c ON c.id = f.rowid JOIN kb_documents d ON d.id = c.document_id"
                     " WHERE c.tenant_id = ? AND d.tenant_id = ? AND d.enabled = 1 ORDER BY f.r, c.id LIMIT ?",
                     p, 5, row_hit_cb, &it, e);
out:
    fast_free(&f);
    buf_free(&m);
    buf_free(&x);
    return rc;
}
