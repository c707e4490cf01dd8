/*
 * test_assistant: the knowledge base: chunking (bounds, headings, never
 * mid-word or mid-UTF-8), the Spanish normaliser, the safe query builder,
 * the import parsers with their rejects, documents and their chunks (a
 * changed body re-chunks), ranking, stemming in English and Spanish,
 * common words left out of large knowledge bases (SQLite),
 * disabled documents, tenant isolation and the audit rows, on the database
 * backend named by argv[1].
 */
#include <string.h>

#include "assistant/assistant.h"
#include "ops/ops.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_kb_a"
#define TB "ten_kb_b"
#define TC "ten_kb_c"

static const struct assistant_actor admin = {"user", "usr_admin", "10.0.0.2"};

/* ------------------------------------------------------------ chunking */

struct collect {
    int n;
    char text[64][1024];
    size_t len[64];
};

static int collect_chunk(void *ud, const char *text, size_t len)
{
    struct collect *c = ud;
    if (c->n < 64 && len < sizeof(c->text[0])) {
        memcpy(c->text[c->n], text, len);
        c->text[c->n][len] = '\0';
        c->len[c->n] = len;
    }
    c->n++;
    return 0;
}

static void test_assistant__chunk(void)
{
    static struct collect c;
    struct buf b = {0};

    /* Small paragraphs merge; a heading starts a new chunk. */
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(assistant_kb_chunk("One.\n\nTwo.\n# Head\nThree.\n\n\nFour.", 800, collect_chunk, &c), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.text[0], "One.\n\nTwo.");
    CHECK_EQ_STR(c.text[1], "# Head\nThree.\n\nFour.");

    /* A long paragraph of words: every chunk bounded and cut between words. */
    for (int i = 0; i < 400; i++)
        buf_printf(&b, "word%03d ", i);
    buf_putc(&b, '\0');
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(assistant_kb_chunk(b.data, 100, collect_chunk, &c), 0);
    CHECK(c.n >= 32);
    int total = 0;
    for (int i = 0; i < c.n && i < 64; i++) {
        CHECK(c.len[i] <= 100);
        CHECK(strncmp(c.text[i], "word", 4) == 0);
        CHECK(c.text[i][c.len[i] - 1] != ' ');
        total += (int)(c.len[i] + 1) / 8;
    }
    CHECK_EQ_INT(total, 400);

    /* One word longer than a chunk, of two-byte letters: cut at a boundary. */
    buf_reset(&b);
    for (int i = 0; i < 150; i++)
        buf_puts(&b, "\xc3\xb1");
    buf_putc(&b, '\0');
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(assistant_kb_chunk(b.data, 101, collect_chunk, &c), 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_INT(c.len[0], 100);
    CHECK_EQ_INT(c.len[0] + c.len[1] + c.len[2], 300);

    /* A question and answer is one chunk even over the usual size. */
    buf_reset(&b);
    buf_puts(&b, "Q: Do you ship abroad?\nA: ");
    for (int i = 0; i < 120; i++)
        buf_puts(&b, "Yes we do. ");
    buf_putc(&b, '\0');
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(assistant_kb_chunk(b.data, 800, collect_chunk, &c), 0);
    CHECK_EQ_INT(c.n, 1);
    buf_free(&b);

    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(assistant_kb_chunk("  \n\n \n", 800, collect_chunk, &c), 0);
    CHECK_EQ_INT(c.n, 0);
}

static void test_assistant__normalise_es(void)
{
    struct buf b = {0};
    assistant_kb_normalise_es("Devoluciones: la DEVOLUCIÓN de productos, ¿envíos?", &b);
    buf_putc(&b, '\0');
    CHECK_EQ_STR(b.data, "devolucion la devolucion de product envi");
    buf_free(&b);
}

static void test_assistant__query(void)
{
    struct buf m = {0}, t = {0};
    struct err e = {0};

    CHECK_EQ_INT(assistant_kb_query("How do I get a REFUND?", &m, &t, &e), 0);
    CHECK_EQ_STR(m.data, "\"get\" OR \"refund\"");
    CHECK_EQ_STR(t.data, "get refund");
    /* Operators and quotes from the user are only separators. */
    CHECK_EQ_INT(assistant_kb_query("a\" OR b* NEAR(c) -d ^e: \"", &m, &t, &e), 0);
    CHECK(strchr(t.data, '"') == NULL && strchr(t.data, '*') == NULL && strchr(t.data, '(') == NULL);
    CHECK_EQ_STR(m.data, "\"b\" OR \"near\" OR \"c\" OR \"d\" OR \"e\""); /* a, or: stop words */
    /* A Spanish plural is also searched in its normal form. */
    CHECK_EQ_INT(assistant_kb_query("devoluciones", &m, &t, &e), 0);
    CHECK_EQ_STR(m.data, "\"devoluciones\" OR \"devolucion\"");
    /* Only stop words: kept, rather than nothing. */
    CHECK_EQ_INT(assistant_kb_query("the", &m, &t, &e), 0);
    CHECK_EQ_STR(m.data, "\"the\"");
    CHECK_EQ_INT(assistant_kb_query("  ?!  ", &m, &t, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "empty_query");
    CHECK_EQ_INT(assistant_kb_query("bad \xff utf", &m, &t, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "bad_utf8");
    buf_free(&m);
    buf_free(&t);
}

/* -------------------------------------------------------------- parsers */

struct parsed {
    int items, rejects;
    char titles[16][128];
    char bodies[16][256];
    int reject_rows[16];
    char reasons[16][128];
};

static int p_item(void *ud, int row, const struct assistant_kb_item *it)
{
    struct parsed *p = ud;
    (void)row;
    if (p->items < 16) {
        snprintf(p->titles[p->items], sizeof(p->titles[0]), "%s", it->title);
        snprintf(p->bodies[p->items], sizeof(p->bodies[0]), "%s", it->body);
    }
    p->items++;
    return 0;
}

static int p_reject(void *ud, int row, const char *reason)
{
    struct parsed *p = ud;
    if (p->rejects < 16) {
        p->reject_rows[p->rejects] = row;
        snprintf(p->reasons[p->rejects], sizeof(p->reasons[0]), "%s", reason);
    }
    p->rejects++;
    return 0;
}

static void test_assistant__parse(void)
{
    static struct parsed p;
    struct err e = {0};
    enum assistant_kb_format f;

    const char *csv = "question,answer\r\n"
                      "How do refunds work?,\"Refunds take 5 days, \"\"always\"\".\"\n"
                      "No answer here,\n"
                      ",An answer without a question\n"
                      "\n"
                      "Bad \xc3\x28 bytes,answer\n"
                      "a,b,c\n"
                      "Multi,\"line\nanswer\"\n";
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_CSV, csv, strlen(csv), NULL, p_item, p_reject, &p, &e), 0);
    CHECK_EQ_INT(p.items, 2);
    CHECK_EQ_STR(p.titles[0], "How do refunds work?");
    CHECK_EQ_STR(p.bodies[0], "Q: How do refunds work?\nA: Refunds take 5 days, \"always\".");
    CHECK_EQ_STR(p.bodies[1], "Q: Multi\nA: line\nanswer");
    CHECK_EQ_INT(p.rejects, 4);
    CHECK_EQ_INT(p.reject_rows[0], 3);
    CHECK_EQ_STR(p.reasons[0], "missing answer");
    CHECK_EQ_STR(p.reasons[1], "missing question");
    CHECK_EQ_STR(p.reasons[2], "bad UTF-8");
    CHECK(strstr(p.reasons[3], "too many columns") != NULL);

    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_CSV, "q,\"open", 7, NULL, p_item, p_reject, &p, &e), 0);
    CHECK_EQ_INT(p.rejects, 1);
    CHECK_EQ_STR(p.reasons[0], "unterminated quoted field");

    const char *json = "[{\"title\":\"Shipping\",\"body\":\"We ship in 2 days.\",\"tags\":[\"ship\"]},"
                       "{\"title\":\"No body\"},{\"body\":\"no title\"},7,"
                       "{\"title\":\"T\",\"body\":\"B\",\"tags\":\"x\"}]";
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_JSON, json, strlen(json), NULL, p_item, p_reject, &p, &e), 0);
    CHECK_EQ_INT(p.items, 1);
    CHECK_EQ_INT(p.rejects, 4);
    CHECK_EQ_STR(p.reasons[0], "missing body");
    CHECK_EQ_STR(p.reasons[1], "missing title");
    CHECK_EQ_STR(p.reasons[2], "not an object");
    CHECK_EQ_STR(p.reasons[3], "tags must be an array of strings");
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_JSON, "{}", 2, NULL, p_item, p_reject, &p, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_import");

    const char *md = "Intro line\nmore intro\n\n# Refunds\nWithin 30 days.\n```\n# not a heading\n```\n"
                     "## Sub\nstays\n# Empty\n\n# Shipping\nFast.\n";
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_MARKDOWN, md, strlen(md), NULL, p_item, p_reject, &p, &e), 0);
    CHECK_EQ_INT(p.items, 3);
    CHECK_EQ_STR(p.titles[0], "Intro line");
    CHECK_EQ_STR(p.titles[1], "Refunds");
    CHECK(strstr(p.bodies[1], "# not a heading") && strstr(p.bodies[1], "## Sub\nstays"));
    CHECK_EQ_STR(p.titles[2], "Shipping");
    CHECK_EQ_INT(p.rejects, 1);
    CHECK_EQ_INT(p.reject_rows[0], 3);
    CHECK_EQ_STR(p.reasons[0], "empty section");

    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_TEXT, "Opening hours\nWe open at 9.", 27, NULL, p_item, p_reject, &p,
                                    &e),
                 0);
    CHECK_EQ_INT(p.items, 1);
    CHECK_EQ_STR(p.titles[0], "Opening hours");
    CHECK_EQ_STR(p.bodies[0], "We open at 9.");
    memset(&p, 0, sizeof(p));
    CHECK_EQ_INT(assistant_kb_parse(ASSISTANT_KB_TEXT, "Hours\nOpen.", 11, "Given", p_item, p_reject, &p, &e), 0);
    CHECK_EQ_STR(p.titles[0], "Given");
    CHECK_EQ_STR(p.bodies[0], "Hours\nOpen.");

    CHECK_EQ_INT(assistant_kb_format("text/csv; charset=utf-8", &f, &e), 0);
    CHECK_EQ_INT(f, ASSISTANT_KB_CSV);
    CHECK_EQ_INT(assistant_kb_format("application/xml", &f, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "unsupported_type");
}

/* ------------------------------------------------------------ documents */

struct hits {
    int n;
    char doc[16][CORE_ID_MAX];
    double score[16];
    char text[16][256];
};

static int on_passage(void *ud, const struct assistant_passage *p)
{
    struct hits *h = ud;
    if (h->n < 16) {
        snprintf(h->doc[h->n], sizeof(h->doc[0]), "%s", p->document_id);
        snprintf(h->text[h->n], sizeof(h->text[0]), "%s", p->text);
        h->score[h->n] = p->score;
    }
    h->n++;
    return 0;
}

static struct hits search(const char *tenant, const char *q)
{
    struct hits h;
    struct err e = {0};
    memset(&h, 0, sizeof(h));
    int rc = assistant_kb_search(T.db, tenant, q, 10, on_passage, &h, &e);
    if (rc)
        fprintf(stderr, "  search \"%s\": %s\n", q, e.msg);
    CHECK_EQ_INT(rc, 0);
    return h;
}

static int count_chunk(void *ud, int seq, const char *text)
{
    (void)seq;
    (void)text;
    (*(int *)ud)++;
    return 0;
}

static int chunks_of(const char *tenant, const char *id)
{
    struct err e = {0};
    int n = 0;
    CHECK_EQ_INT(store_kb_chunks(T.db, tenant, id, count_chunk, &n, &e), 0);
    return n;
}

static void create(const char *tenant, const char *title, const char *body, const char *lang, char *id)
{
    struct assistant_kb_input in = {title, body, NULL, "test", lang, 1};
    struct store_kb_doc d;
    struct err e = {0};
    int rc = assistant_kb_create(T.db, tenant, &in, &admin, &d, &e);
    if (rc)
        fprintf(stderr, "  create %s: %s\n", title, e.msg);
    CHECK_EQ_INT(rc, 0);
    snprintf(id, CORE_ID_MAX, "%s", d.id);
    store_kb_doc_clear(&d);
}

static void test_assistant__documents(void)
{
    struct err e = {0};
    struct store_kb_doc d;
    char id[CORE_ID_MAX];
    struct assistant_kb_input bad = {"", "body", NULL, NULL, NULL, 1};

    CHECK_EQ_INT(assistant_kb_create(T.db, TA, &bad, &admin, NULL, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "missing title");
    bad.title = "t";
    bad.tags = "[1]";
    CHECK_EQ_INT(assistant_kb_create(T.db, TA, &bad, &admin, NULL, &e), ERR_INVALID);
    bad.tags = "[\"ok\"]";
    bad.language = "fr";
    CHECK_EQ_INT(assistant_kb_create(T.db, TA, &bad, &admin, NULL, &e), ERR_INVALID);

    struct assistant_kb_input in = {"Parking", "Park behind the shop.", "[\"place\", \"car\"]", "faq", NULL, 1};
    CHECK_EQ_INT(assistant_kb_create(T.db, TA, &in, &admin, &d, &e), 0);
    CHECK(strncmp(d.id, "kbd_", 4) == 0);
    CHECK_EQ_STR(d.tags, "[\"place\",\"car\"]");
    CHECK_EQ_STR(d.language, "en");
    CHECK_EQ_STR(d.created_by, "usr_admin");
    CHECK_EQ_INT(d.chunks, 1);
    snprintf(id, sizeof(id), "%s", d.id);
    store_kb_doc_clear(&d);

    /* The body changes: chunks are rebuilt (old text no longer found). */
    struct buf b = {0};
    for (int i = 0; i < 30; i++)
        buf_printf(&b, "Paragraph %d tells about bicycles and their racks near the entrance.\n\n", i);
    buf_putc(&b, '\0');
    struct assistant_kb_input up = {NULL, b.data, NULL, NULL, NULL, -1};
    CHECK_EQ_INT(assistant_kb_update(T.db, TA, id, &up, &admin, &d, &e), 0);
    CHECK_EQ_STR(d.title, "Parking");
    CHECK(d.chunks >= 3);
    CHECK_EQ_INT(chunks_of(TA, id), (int)d.chunks);
    store_kb_doc_clear(&d);
    buf_free(&b);
    CHECK_EQ_INT(search(TA, "behind shop").n, 0);
    CHECK(search(TA, "bicycle racks").n >= 3);

    /* Another tenant sees nothing of it. */
    CHECK_EQ_INT(store_kb_doc_get(T.db, TB, id, &d, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(assistant_kb_update(T.db, TB, id, &up, &admin, NULL, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(assistant_kb_delete(T.db, TB, id, &admin, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(search(TB, "bicycle").n, 0);

    CHECK_EQ_INT(assistant_kb_delete(T.db, TA, id, &admin, &e), 0);
    CHECK_EQ_INT(chunks_of(TA, id), 0);
    CHECK_EQ_INT(search(TA, "bicycle").n, 0);
    CHECK_EQ_INT(assistant_kb_delete(T.db, TA, id, &admin, &e), ERR_NOTFOUND);
}

static void test_assistant__ranking(void)
{
    char all[CORE_ID_MAX], one[CORE_ID_MAX], refund[CORE_ID_MAX], es[CORE_ID_MAX], off[CORE_ID_MAX];
    struct err e = {0};

    create(TA, "Warranty", "The warranty covers the battery and the screen for two years.", "en", all);
    create(TA, "Screens", "Our screen cleaning kit is sold separately with cloths and spray.", "en", one);
    create(TA, "Refund policy", "A refund is issued within five business days.", "en", refund);
    create(TA, "Devoluciones", "La devolución del dinero tarda cinco días hábiles.", "es", es);
    create(TA, "Hidden", "The secret warranty battery screen plan for insiders.", "en", off);

    struct assistant_kb_input dis = {NULL, NULL, NULL, NULL, NULL, 0};
    CHECK_EQ_INT(assistant_kb_update(T.db, TA, off, &dis, &admin, NULL, &e), 0);

    /* All the words outrank one of them; scores descend. */
    struct hits h = search(TA, "warranty battery screen");
    CHECK(h.n >= 2);
    CHECK_EQ_STR(h.doc[0], all);
    CHECK_EQ_STR(h.doc[1], one);
    CHECK(h.score[0] > h.score[1]);
    CHECK(h.score[1] > 0);
    /* Disabled documents are never retrieved. */
    for (int i = 0; i < h.n && i < 16; i++)
        CHECK(strcmp(h.doc[i], off) != 0);
    /* k = 1: the best one alone (on SQLite the path that ranks the whole
     * index and keeps the tenant's rows). */
    struct hits h1;
    memset(&h1, 0, sizeof(h1));
    CHECK_EQ_INT(assistant_kb_search(T.db, TA, "warranty battery screen", 1, on_passage, &h1, &e), 0);
    CHECK_EQ_INT(h1.n, 1);
    CHECK_EQ_STR(h1.doc[0], all);

    /* Stemming: English plural finds the singular. */
    h = search(TA, "refunds");
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_STR(h.doc[0], refund);
    /* Spanish: a plural without its accent finds the accented singular. */
    h = search(TA, "devoluciones");
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_STR(h.doc[0], es);
    CHECK(strstr(h.text[0], "devolución") != NULL);

    /* Enabled again: found again. */
    dis.enabled = 1;
    CHECK_EQ_INT(assistant_kb_update(T.db, TA, off, &dis, &admin, NULL, &e), 0);
    h = search(TA, "insiders");
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(assistant_kb_search(T.db, TA, "x", 0, on_passage, &h, &e), ERR_INVALID);
    CHECK_EQ_INT(assistant_kb_search(T.db, TA, "", 5, on_passage, &h, &e), ERR_INVALID);
}

/* Common words: on a knowledge base of 1,200 notes that all say "order"
 * and "desk" (a fifth also "parcel"), a search leaves out the words found
 * in more than 5 % of the chunks on SQLite but keeps its two rarest, so a
 * rare word decides the hits and a query of common words only still finds
 * chunks. PostgreSQL ranks every word; the order checked holds on both. */
static void test_assistant__common_words(void)
{
    struct assistant_kb_report r;
    struct err e = {0};
    struct buf b = {0};
    char both[CORE_ID_MAX], zebra[CORE_ID_MAX], label1[CORE_ID_MAX], label2[CORE_ID_MAX];

    buf_putc(&b, '[');
    for (int i = 0; i < 1200; i++)
        buf_printf(&b, "%s{\"title\":\"Note %d\",\"body\":\"Order note %d: the order desk keeps %s.\"}", i ? "," : "",
                   i, i, i % 5 ? "it" : "the parcel");
    buf_putc(&b, ']');
    CHECK_EQ_INT(assistant_kb_import(T.db, TC, ASSISTANT_KB_JSON, b.data, b.len, NULL, NULL, &admin, &r, &e), 0);
    CHECK_EQ_INT(r.accepted, 1200);
    assistant_kb_report_free(&r);
    buf_free(&b);
    create(TC, "Labels", "Order desk: the zebra label sits on the box.", "en", both);
    create(TC, "Prints", "Order desk: a zebra print.", "en", zebra);
    create(TC, "Printer", "Order desk: the label printer.", "en", label1);
    create(TC, "Reprints", "Order desk: print a new label.", "en", label2);

    /* "order" and "desk" are in every chunk: the rare words decide. */
    struct hits h = search(TC, "order desk zebra label");
    CHECK(h.n >= 4);
    CHECK_EQ_STR(h.doc[0], both);
    if (!T.pg) {
        /* Only the chunks with a rare word, though 1,200 hold the others. */
        CHECK_EQ_INT(h.n, 4);
        for (int i = 0; i < h.n && i < 16; i++)
            CHECK(strstr(h.text[i], "zebra") || strstr(h.text[i], "label"));
    } else {
        CHECK_EQ_INT(h.n, 10);
    }
    /* Common words only: the two rarest stay, so chunks are found, the
     * rarer word's first. */
    h = search(TC, "order desk parcel");
    CHECK_EQ_INT(h.n, 10);
    CHECK(strstr(h.text[0], "parcel") != NULL);
    h = search(TC, "order desk");
    CHECK_EQ_INT(h.n, 10);
}

struct audits {
    int create, update, del, import;
};

static int on_audit(void *ud, const struct store_audit *a)
{
    struct audits *n = ud;
    n->create += strcmp(a->action, "kb.document.create") == 0;
    n->update += strcmp(a->action, "kb.document.update") == 0;
    n->del += strcmp(a->action, "kb.document.delete") == 0;
    n->import += strcmp(a->action, "kb.import") == 0;
    return 0;
}

static void test_assistant__import(void)
{
    struct assistant_kb_report r;
    struct err e = {0};
    const char *csv = "question,answer\n"
                      "Do you deliver on Sundays?,No deliveries on Sundays.\n"
                      "Where are you?,\n";
    CHECK_EQ_INT(assistant_kb_import(T.db, TB, ASSISTANT_KB_CSV, csv, strlen(csv), NULL, NULL, &admin, &r, &e), 0);
    CHECK_EQ_INT(r.accepted, 1);
    CHECK_EQ_INT(r.rejected, 1);
    CHECK_EQ_STR(r.rejected_json.data, "[{\"row\":3,\"reason\":\"missing answer\"}]");
    CHECK(strncmp(r.ids_json.data, "[\"kbd_", 6) == 0);
    assistant_kb_report_free(&r);
    struct hits h = search(TB, "sunday delivery");
    CHECK_EQ_INT(h.n, 1);
    CHECK(strncmp(h.text[0], "Q: Do you deliver on Sundays?\nA: ", 33) == 0);
    CHECK_EQ_INT(search(TA, "sunday delivery").n, 0);

    /* A document rule refusing a row is a reject, not a failure. */
    struct buf b = {0};
    buf_puts(&b, "[{\"title\":\"");
    for (int i = 0; i < 400; i++)
        buf_putc(&b, 't');
    buf_puts(&b, "\",\"body\":\"x\"},{\"title\":\"Ok\",\"body\":\"fine\"}]");
    CHECK_EQ_INT(assistant_kb_import(T.db, TB, ASSISTANT_KB_JSON, b.data, b.len, NULL, "es", &admin, &r, &e), 0);
    CHECK_EQ_INT(r.accepted, 1);
    CHECK(strstr(r.rejected_json.data, "title too long") != NULL);
    assistant_kb_report_free(&r);
    buf_free(&b);
    CHECK_EQ_INT(assistant_kb_import(T.db, TB, ASSISTANT_KB_JSON, "{", 1, NULL, NULL, &admin, &r, &e), ERR_INVALID);
    assistant_kb_report_free(&r);

    struct audits n = {0};
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, on_audit, &n, &e), 0);
    CHECK(n.create >= 6 && n.update >= 3 && n.del == 1);
    memset(&n, 0, sizeof(n));
    CHECK_EQ_INT(ops_audit_list(T.db, TB, 0, 0, 0, 0, on_audit, &n, &e), 0);
    CHECK_EQ_INT(n.import, 2);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct store_tenant ta = {.id = TA, .name = "a"}, tb = {.id = TB, .name = "b"}, tc = {.id = TC, .name = "c"};

    if (crypto_init() != 0 || db_setup(backend, "assistant") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0 || store_tenant_create(T.db, &ta, &e) != 0 ||
        store_tenant_create(T.db, &tb, &e) != 0 || store_tenant_create(T.db, &tc, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_assistant__chunk);
    TEST_RUN(test_assistant__normalise_es);
    TEST_RUN(test_assistant__query);
    TEST_RUN(test_assistant__parse);
    TEST_RUN(test_assistant__documents);
    TEST_RUN(test_assistant__ranking);
    TEST_RUN(test_assistant__import);
    TEST_RUN(test_assistant__common_words);
    db_teardown();
    TEST_DONE();
}
