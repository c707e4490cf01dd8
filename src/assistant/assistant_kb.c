/*
 * assistant kb: knowledge base documents (the rules every document
 * follows, however it arrives), their chunks, bulk import and retrieval.
 * The SQL is in src/store/store_kb.c; the text work in assistant_text.c
 * and the parsers in assistant_ingest.c.
 *
 * A write validates, chunks, and commits the document with its chunks in
 * one transaction, then appends the audit row. An import creates all its
 * accepted documents in one transaction: either the whole report is true
 * or nothing was written.
 */
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"
#include "ops/ops.h"

/* ------------------------------------------------------ document rules */

/* Copy src into dst (size bytes), truncating; always terminated. */
void assistant__cpy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int invalid(struct err *e, const char *msg)
{
    return err_set(e, ERR_INVALID, "invalid_document", "%s", msg);
}

/* Canonical tags (a compact JSON array) into out, or a reason. */
static int check_tags(const char *tags, struct buf *out, struct err *e)
{
    cJSON *root = NULL, *t;
    int n = 0, rc = 0;
    buf_reset(out);
    if (!tags || !*tags) {
        buf_puts(out, "[]");
        return 0;
    }
    if (json_parse(&root, tags, strlen(tags), NULL) != 0 || !cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return invalid(e, "tags must be an array of strings");
    }
    buf_putc(out, '[');
    cJSON_ArrayForEach(t, root)
    {
        const char *s = cJSON_GetStringValue(t);
        size_t len = s ? strlen(s) : 0;
        if (!s || len == 0 || len > 64 || !assistant__utf8_valid(s, len)) {
            rc = invalid(e, "each tag is a string of 1 to 64 bytes");
            break;
        }
        if (++n > ASSISTANT_KB_TAGS_MAX) {
            rc = invalid(e, "too many tags (at most 32)");
            break;
        }
        if (n > 1)
            buf_putc(out, ',');
        buf_json_str(out, s);
    }
    buf_putc(out, ']');
    cJSON_Delete(root);
    return rc;
}

/* The rules of a document's fields (all set: create fills defaults). */
static int check_doc(const struct store_kb_doc *d, struct err *e)
{
    size_t tl = strlen(d->title), bl = strlen(d->body);
    if (tl == 0 || strspn(d->title, " \t\r\n") == tl)
        return invalid(e, "missing title");
    if (tl > ASSISTANT_KB_TITLE_MAX)
        return invalid(e, "title too long (at most 300 bytes)");
    if (bl == 0 || strspn(d->body, " \t\r\n") == bl)
        return invalid(e, "missing body");
    if (bl > ASSISTANT_KB_BODY_MAX)
        return invalid(e, "body too long (at most 204800 bytes)");
    if (!assistant__utf8_valid(d->title, tl) || !assistant__utf8_valid(d->body, bl) ||
        !assistant__utf8_valid(d->source, strlen(d->source)))
        return invalid(e, "bad UTF-8");
    if (strcmp(d->language, "en") != 0 && strcmp(d->language, "es") != 0)
        return invalid(e, "language must be en or es");
    return 0;
}

static int set_source(struct store_kb_doc *d, const char *source, struct err *e)
{
    if (source && strlen(source) >= sizeof(d->source))
        return invalid(e, "source too long (at most 255 bytes)");
    assistant__cpy(d->source, sizeof(d->source), source ? source : "");
    return 0;
}

static int set_language(struct store_kb_doc *d, const char *lang, struct err *e)
{
    if (lang && strlen(lang) >= sizeof(d->language))
        return invalid(e, "language must be en or es");
    assistant__cpy(d->language, sizeof(d->language), lang && *lang ? lang : "en");
    return 0;
}

/* ------------------------------------------------------------- chunks */

struct chunks {
    struct store_kb_chunk_in *v;
    char **own; /* text and indexed strings to free, 2 per chunk */
    int n, cap;
    int es;
};

static void chunks_free(struct chunks *c)
{
    for (int i = 0; i < 2 * c->n; i++)
        free(c->own[i]);
    free(c->own);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static int chunk_add(void *ud, const char *text, size_t len)
{
    struct chunks *c = ud;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        struct store_kb_chunk_in *v = realloc(c->v, (size_t)cap * sizeof(*v));
        if (!v)
            return ERR_NOMEM;
        c->v = v;
        char **own = realloc(c->own, (size_t)cap * 2 * sizeof(*own));
        if (!own)
            return ERR_NOMEM;
        c->own = own;
        c->cap = cap;
    }
    char *t = strndup(text, len), *ix = NULL;
    if (!t)
        return ERR_NOMEM;
    if (c->es) {
        struct buf b = {0};
        assistant_kb_normalise_es(t, &b);
        buf_putc(&b, '\0');
        ix = buf_steal(&b);
    }
    c->own[2 * c->n] = t;
    c->own[2 * c->n + 1] = ix;
    c->v[c->n].text = t;
    c->v[c->n].indexed = ix;
    c->n++;
    return 0;
}

static int make_chunks(const struct store_kb_doc *d, struct chunks *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    out->es = strcmp(d->language, "es") == 0;
    int rc = assistant_kb_chunk(d->body, ASSISTANT_KB_CHUNK_MAX, chunk_add, out);
    if (rc)
        chunks_free(out);
    return rc ? err_set(e, rc, NULL, "assistant: out of memory chunking a document") : 0;
}

/* ------------------------------------------------------------- writes */

void assistant__audit(struct store *db, const char *tenant_id, const struct assistant_actor *who, const char *action,
                      const char *target, const char *details)
{
    struct err ae = {0};
    /* The write committed; a failed audit append is logged by ops, not undone. */
    (void)ops_audit(db, tenant_id, who && who->type ? who->type : "system", who && who->id ? who->id : "",
                    action, target, who && who->ip ? who->ip : "", details, &ae);
}

/* Insert d (validated) with its chunks inside tx. */
static int insert_doc(struct store_tx *tx, const char *tenant_id, const struct store_kb_doc *d, struct err *e)
{
    struct chunks c;
    int rc = make_chunks(d, &c, e);
    if (!rc)
        rc = store_kb_doc_insert(tx, tenant_id, d, c.v, c.n, e);
    chunks_free(&c);
    return rc;
}

/* A new document from in, defaults filled, checked; tags canonical in tags. */
static int new_doc(struct store_kb_doc *d, const struct assistant_kb_input *in, const struct assistant_actor *who,
                   struct buf *tags, struct err *e)
{
    int rc;
    memset(d, 0, sizeof(*d));
    crypto_random_id(d->id, sizeof(d->id), "kbd_");
    d->title = (char *)(in->title ? in->title : "");
    d->body = (char *)(in->body ? in->body : "");
    d->enabled = in->enabled != 0;
    d->created_at = d->updated_at = time_now_ms();
    assistant__cpy(d->created_by, sizeof(d->created_by), who && who->id ? who->id : "");
    if ((rc = set_source(d, in->source, e)) || (rc = set_language(d, in->language, e)) ||
        (rc = check_tags(in->tags, tags, e)) || (rc = check_doc(d, e)))
        return rc;
    d->tags = tags->data;
    return 0;
}

int assistant_kb_create(struct store *db, const char *tenant_id, const struct assistant_kb_input *in,
                        const struct assistant_actor *who, struct store_kb_doc *out, struct err *e)
{
    struct store_kb_doc d;
    struct store_tx tx = {0};
    struct buf tags = {0};
    int rc;

    if (out)
        memset(out, 0, sizeof(*out));
    if ((rc = new_doc(&d, in, who, &tags, e)) || (rc = store_tx_begin(db, &tx, e)))
        goto out;
    if ((rc = insert_doc(&tx, tenant_id, &d, e))) {
        store_tx_rollback(&tx);
        goto out;
    }
    if ((rc = store_tx_commit(&tx, e)))
        goto out;
    assistant__audit(db, tenant_id, who, "kb.document.create", d.id, NULL);
    if (out)
        rc = store_kb_doc_get(db, tenant_id, d.id, out, e);
out:
    buf_free(&tags);
    return rc;
}

int assistant_kb_update(struct store *db, const char *tenant_id, const char *id, const struct assistant_kb_input *in,
                        const struct assistant_actor *who, struct store_kb_doc *out, struct err *e)
{
    struct store_kb_doc cur;
    struct store_tx tx = {0};
    struct buf tags = {0};
    struct chunks c = {0};
    int rc, rechunk;

    if (out)
        memset(out, 0, sizeof(*out));
    if ((rc = store_kb_doc_get(db, tenant_id, id, &cur, e)))
        return rc;
    /* The row after the change: borrowed strings from cur or in. */
    struct store_kb_doc d = cur;
    if (in->title)
        d.title = (char *)in->title;
    if (in->body)
        d.body = (char *)in->body;
    if (in->enabled >= 0)
        d.enabled = in->enabled != 0;
    if ((in->source && (rc = set_source(&d, in->source, e))) ||
        (in->language && (rc = set_language(&d, in->language, e))) ||
        (rc = check_tags(in->tags ? in->tags : cur.tags, &tags, e)) || (rc = check_doc(&d, e)))
        goto out;
    d.tags = tags.data;
    d.updated_at = time_now_ms();
    rechunk = strcmp(d.body, cur.body) != 0 || strcmp(d.language, cur.language) != 0;
    if (rechunk && (rc = make_chunks(&d, &c, e)))
        goto out;
    if ((rc = store_tx_begin(db, &tx, e)))
        goto out;
    if ((rc = store_kb_doc_update(&tx, tenant_id, &d, rechunk ? c.v : NULL, c.n, e))) {
        store_tx_rollback(&tx);
        goto out;
    }
    if ((rc = store_tx_commit(&tx, e)))
        goto out;
    assistant__audit(db, tenant_id, who, "kb.document.update", id, rechunk ? "{\"rechunked\":true}" : NULL);
    if (out)
        rc = store_kb_doc_get(db, tenant_id, id, out, e);
out:
    chunks_free(&c);
    buf_free(&tags);
    store_kb_doc_clear(&cur);
    return rc;
}

int assistant_kb_delete(struct store *db, const char *tenant_id, const char *id, const struct assistant_actor *who,
                        struct err *e)
{
    struct store_tx tx = {0};
    int rc;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    if ((rc = store_kb_doc_delete(&tx, tenant_id, id, e))) {
        store_tx_rollback(&tx);
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    assistant__audit(db, tenant_id, who, "kb.document.delete", id, NULL);
    return 0;
}

/* -------------------------------------------------------------- import */

void assistant_kb_report_free(struct assistant_kb_report *r)
{
    if (!r)
        return;
    buf_free(&r->rejected_json);
    buf_free(&r->ids_json);
    memset(r, 0, sizeof(*r));
}

struct import {
    struct store_tx *tx;
    const char *tenant_id;
    const char *language;
    const struct assistant_actor *who;
    struct assistant_kb_report *r;
    struct err *e; /* a store error (fatal) */
};

static int import_reject(void *ud, int row, const char *reason)
{
    struct import *im = ud;
    struct assistant_kb_report *r = im->r;
    if (r->rejected_json.len > 1)
        buf_putc(&r->rejected_json, ',');
    buf_printf(&r->rejected_json, "{\"row\":%d,\"reason\":", row);
    buf_json_str(&r->rejected_json, reason);
    buf_putc(&r->rejected_json, '}');
    r->rejected++;
    return 0;
}

static int import_item(void *ud, int row, const struct assistant_kb_item *it)
{
    struct import *im = ud;
    struct assistant_kb_input in = {it->title, it->body, it->tags, it->source, im->language, 1};
    struct store_kb_doc d;
    struct buf tags = {0};
    struct err ve = {0};
    int rc;

    if ((rc = new_doc(&d, &in, im->who, &tags, &ve))) {
        buf_free(&tags);
        return rc == ERR_INVALID ? import_reject(ud, row, ve.msg) : err_set(im->e, rc, NULL, "%s", ve.msg);
    }
    rc = insert_doc(im->tx, im->tenant_id, &d, im->e);
    if (!rc) {
        struct assistant_kb_report *r = im->r;
        if (r->ids_json.len > 1)
            buf_putc(&r->ids_json, ',');
        buf_json_str(&r->ids_json, d.id);
        r->accepted++;
    }
    buf_free(&tags);
    return rc;
}

int assistant_kb_import(struct store *db, const char *tenant_id, enum assistant_kb_format fmt, const char *data,
                        size_t len, const char *title, const char *language, const struct assistant_actor *who,
                        struct assistant_kb_report *out, struct err *e)
{
    struct store_tx tx = {0};
    struct import im = {&tx, tenant_id, language && *language ? language : "en", who, out, e};
    int rc;

    memset(out, 0, sizeof(*out));
    buf_putc(&out->rejected_json, '[');
    buf_putc(&out->ids_json, '[');
    if (strcmp(im.language, "en") != 0 && strcmp(im.language, "es") != 0)
        return err_set(e, ERR_INVALID, "invalid_import", "language must be en or es");
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    rc = assistant_kb_parse(fmt, data, len, title, import_item, import_reject, &im, e);
    if (rc) {
        store_tx_rollback(&tx);
        assistant_kb_report_free(out);
        buf_puts(&out->rejected_json, "[]");
        buf_puts(&out->ids_json, "[]");
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e)))
        return rc;
    buf_putc(&out->rejected_json, ']');
    buf_putc(&out->ids_json, ']');
    struct buf det = {0};
    buf_printf(&det, "{\"accepted\":%d,\"rejected\":%d}", out->accepted, out->rejected);
    assistant__audit(db, tenant_id, who, "kb.import", "", det.data);
    buf_free(&det);
    return 0;
}

/* ----------------------------------------------------------- retrieval */

struct search {
    assistant_passage_cb cb;
    void *ud;
};

static int on_hit(void *ud, const struct store_kb_hit *h)
{
    struct search *s = ud;
    struct assistant_passage p = {h->chunk_id, h->document_id, h->title, h->text, h->score};
    return s->cb(s->ud, &p);
}

int assistant_kb_search(struct store *db, const char *tenant_id, const char *query, int k, assistant_passage_cb cb,
                        void *ud, struct err *e)
{
    struct buf match = {0}, terms = {0};
    struct search s = {cb, ud};
    int rc;

    if (k < 1 || k > 50)
        return err_set(e, ERR_INVALID, "invalid_k", "k must be 1 to 50");
    if ((rc = assistant_kb_query(query, &match, &terms, e)))
        goto out;
    struct store_kb_query q = {match.data, terms.data};
    rc = store_kb_search(db, tenant_id, &q, k, on_hit, &s, e);
out:
    buf_free(&match);
    buf_free(&terms);
    return rc;
}
