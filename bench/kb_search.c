/*
 * bench/kb_search.c: knowledge base retrieval on SQLite. Builds a
 * 100,000-chunk knowledge base in a throwaway database through the store
 * API (store_kb_doc_insert: 10,000 documents of 10 chunks, text drawn from
 * a Zipf-distributed vocabulary of 30,000 words), then times N top-5
 * searches of 2 to 5 content words (drawn from the same distribution
 * without its 100 most frequent ranks, which stand for stop words) through
 * assistant_kb_search and, interleaved query by query in the same run
 * (which of the two goes first alternates, as the first warms the cache),
 * the same FTS5 expression as a plain
 * "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts) LIMIT 5"
 * through the sqlite3 C API on its own connection. Prints medians, p99
 * and the ratio, then (off the clock) how many words a query the module
 * left out as common (its rule, from kb_common) and how many of the plain
 * query's top 5 (exact BM25 over every word) it also returned; exits 1
 * when the median of assistant_kb_search is over the target (5 ms).
 * Usage: kb_search DIR [CHUNKS [QUERIES]]  (DIR: an empty temp directory)
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assistant/assistant.h"

#define TENANT "ten_bench"
#define TARGET_MS 5.0

static const char *const words[] = {
    "refund", "order", "shipping", "delivery", "invoice", "payment", "card", "account", "password", "login",
    "return", "exchange", "warranty", "battery", "screen", "charger", "cable", "store", "opening", "hours",
    "address", "parking", "booking", "appointment", "cancel", "reschedule", "price", "discount", "coupon",
    "subscription", "plan", "upgrade", "downgrade", "email", "phone", "support", "agent", "chat", "message",
    "tracking", "package", "courier", "customs", "international", "express", "standard", "weekend", "holiday",
    "gift", "voucher", "balance", "bank", "transfer", "receipt", "tax", "vat", "business", "company", "size",
    "colour", "stock", "available", "reserve", "pickup", "locker", "damaged", "broken", "missing", "late",
    "early", "fee", "charge", "free", "minimum", "maximum", "days", "weeks", "month", "year", "policy",
    "privacy", "data", "delete", "export", "notification", "newsletter", "unsubscribe", "feedback", "review",
    "rating", "loyalty", "points", "member", "student", "senior", "family", "child", "pet", "allergy", "menu",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))
#define VOCAB 30000
#define FUNCTION_WORDS 100 /* ranks standing for the, and, of …: stop words, never in queries */

static char vocab[VOCAB][16];
static double cdf[VOCAB];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Vocabulary, Zipf (s = 1) over ranks: the first FUNCTION_WORDS ranks stand
 * for function words (the, and, of: the query builder drops those), then
 * the real support words, then pronounceable synthetic ones. */
static void build_vocab(void)
{
    static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "di", "pa", "go", "be",
                                      "shi", "tor", "len", "mar", "qui", "zen", "fa", "ho"};
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        if (i >= FUNCTION_WORDS && (size_t)(i - FUNCTION_WORDS) < NWORDS) {
            snprintf(vocab[i], sizeof(vocab[i]), "%s", words[i - FUNCTION_WORDS]);
        } else {
            /* The rank in base 20, one syllable a digit: distinct words. */
            vocab[i][0] = '\0';
            for (int v = i, k = 0; k < 4; k++, v /= 20)
                strcat(vocab[i], syl[v % 20]);
        }
        sum += 1.0 / (i + 1);
        cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        cdf[i] /= sum;
}

static int zipf(unsigned *seed)
{
    double u = (double)rand_r(seed) / RAND_MAX;
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* A search's chunk ids (top 5). */
struct ids {
    int64_t id[5];
    int n;
};

static int count_hit(void *ud, const struct assistant_passage *p)
{
    struct ids *r = ud;
    if (r->n < 5)
        r->id[r->n] = p->chunk_id;
    r->n++;
    return 0;
}

/* How many words of a query the module leaves out (its rule, see
 * src/store/store_kb.c: the common ones but its two rarest), from kb_common
 * through the raw connection, off the clock. */
static int dropped_words(sqlite3_stmt *st, const char *terms)
{
    int n = 0, common = 0;
    for (const char *t = terms; *t; t++)
        n += (t == terms || t[-1] == ' ') && *t != ' ';
    sqlite3_bind_text(st, 1, terms, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        common = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return n > 2 ? (common < n - 2 ? common : n - 2) : 0;
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store *db = NULL;
    struct store_migration_info mi;
    char path[512];
    unsigned seed = 42;
    int chunks = argc > 2 ? atoi(argv[2]) : 100000, nq = argc > 3 ? atoi(argv[3]) : 2000;
    int per_doc = 10;

    if (argc < 2 || chunks < per_doc || nq < 1) {
        fprintf(stderr, "usage: kb_search DIR [CHUNKS [QUERIES]]\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/kb.db", argv[1]);
    struct store_options opt = {.sqlite_path = path, .pool_size = 2};
    struct store_tenant t = {.id = TENANT, .name = "bench"};
    if (crypto_init() != 0 || store_open(&db, &opt, &e) || store_migrate(db, &mi, &e) ||
        store_tenant_create(db, &t, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return 1;
    }
    build_vocab();

    /* The knowledge base: chunks of 40 to 120 words, 1,000 documents per transaction. */
    double t0 = now_ms();
    static char text[10][2048];
    struct store_kb_chunk_in in[10];
    struct store_tx tx = {0};
    int ndocs = chunks / per_doc;
    for (int d = 0; d < ndocs; d++) {
        if (d % 1000 == 0 && store_tx_begin(db, &tx, &e)) {
            fprintf(stderr, "begin: %s\n", e.msg);
            return 1;
        }
        for (int c = 0; c < per_doc; c++) {
            size_t len = 0;
            int n = 40 + (int)(rand_r(&seed) % 81);
            for (int w = 0; w < n; w++)
                len += (size_t)snprintf(text[c] + len, sizeof(text[c]) - len, "%s%s", w ? " " : "",
                                        vocab[zipf(&seed)]);
            in[c].text = text[c];
            in[c].indexed = NULL;
        }
        struct store_kb_doc doc = {.title = "Bench document", .body = text[0], .tags = "[]", .language = "en",
                                   .enabled = 1, .created_at = 1, .updated_at = 1};
        snprintf(doc.id, sizeof(doc.id), "kbd_bench%06d", d);
        if (store_kb_doc_insert(&tx, TENANT, &doc, in, per_doc, &e)) {
            fprintf(stderr, "insert: %s\n", e.msg);
            return 1;
        }
        if ((d % 1000 == 999 || d == ndocs - 1) && store_tx_commit(&tx, &e)) {
            fprintf(stderr, "commit: %s\n", e.msg);
            return 1;
        }
    }
    printf("built %d chunks in %d documents in %.1f s\n", ndocs * per_doc, ndocs, (now_ms() - t0) / 1e3);

    /* Queries: 2 to 5 content words drawn from the text's own distribution. */
    char (*queries)[128] = calloc((size_t)nq, 128);
    for (int q = 0; q < nq; q++) {
        int n = 2 + (int)(rand_r(&seed) % 4);
        size_t len = 0;
        for (int w = 0; w < n; w++) {
            int r;
            do
                r = zipf(&seed);
            while (r < FUNCTION_WORDS);
            len += (size_t)snprintf(queries[q] + len, 128 - len, "%s%s", w ? " " : "", vocab[r]);
        }
    }

    sqlite3 *raw = NULL;
    sqlite3_stmt *st = NULL, *common = NULL;
    if (sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(raw, "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? ORDER BY bm25(kb_fts) LIMIT 5", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(raw,
                           "SELECT COUNT(*) FROM kb_tok t JOIN kb_common c ON c.term = t.token"
                           " JOIN kb_fts_stats s ON s.id = 1 WHERE t.input = ? AND c.doc > s.chunks / 20",
                           -1, &common, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(raw));
        return 1;
    }
    double *ta = calloc((size_t)nq, sizeof(double)), *tp = calloc((size_t)nq, sizeof(double));
    struct buf match = {0}, terms = {0};
    long hits_a = 0, hits_p = 0, same = 0, dropped = 0;
    /* One warm-up pass over a few queries, then interleaved timing. */
    for (int q = 0; q < nq && q < 50; q++) {
        struct ids h = {0};
        assistant_kb_search(db, TENANT, queries[q], 5, count_hit, &h, &e);
    }
    for (int q = 0; q < nq; q++) {
        /* The first of the two to read a query's pages pays for them (the
         * second finds them in the page cache): alternate which goes first. */
        struct ids h = {0}, hp = {0};
        for (int turn = 0; turn < 2; turn++) {
            double s = now_ms();
            if ((turn == 0) == (q % 2 == 0)) {
                if (assistant_kb_search(db, TENANT, queries[q], 5, count_hit, &h, &e)) {
                    fprintf(stderr, "search \"%s\": %s\n", queries[q], e.msg);
                    return 1;
                }
                ta[q] = now_ms() - s;
                hits_a += h.n;
            } else {
                /* The same expression the module builds, straight to FTS5
                 * (built before the clock starts). */
                assistant_kb_query(queries[q], &match, &terms, &e);
                s = now_ms();
                sqlite3_bind_text(st, 1, match.data, (int)match.len, SQLITE_STATIC);
                while (sqlite3_step(st) == SQLITE_ROW) {
                    if (hp.n < 5)
                        hp.id[hp.n++] = sqlite3_column_int64(st, 0);
                    hits_p++;
                }
                sqlite3_reset(st);
                tp[q] = now_ms() - s;
            }
        }
        /* Off the clock: how much of the exact BM25 top 5 the module
         * returned, and how many words it left out. */
        for (int i = 0; i < h.n && i < 5; i++)
            for (int j = 0; j < hp.n; j++)
                same += h.id[i] == hp.id[j];
        dropped += dropped_words(common, terms.data);
    }
    qsort(ta, (size_t)nq, sizeof(double), cmp_double);
    qsort(tp, (size_t)nq, sizeof(double), cmp_double);
    double ma = pct(ta, nq, 0.5), mp = pct(tp, nq, 0.5);
    printf("queries %d (2-5 words), top 5, hits %ld / %ld\n", nq, hits_a, hits_p);
    printf("assistant_kb_search  median %.3f ms  p99 %.3f ms\n", ma, pct(ta, nq, 0.99));
    printf("plain FTS5 MATCH     median %.3f ms  p99 %.3f ms\n", mp, pct(tp, nq, 0.99));
    printf("words left out %.2f a query on average; top 5 shared with plain FTS5 %.1f %%\n",
           (double)dropped / nq, hits_p ? 100.0 * same / hits_p : 0);
    printf("kb_search median_ms=%.3f p99_ms=%.3f plain_median_ms=%.3f ratio=%.2f target_ms=%.1f %s\n", ma,
           pct(ta, nq, 0.99), mp, mp > 0 ? ma / mp : 0, TARGET_MS, ma < TARGET_MS ? "met" : "NOT MET");
    buf_free(&match);
    buf_free(&terms);
    sqlite3_finalize(st);
    sqlite3_finalize(common);
    sqlite3_close(raw);
    free(ta);
    free(tp);
    free(queries);
    store_close(db);
    return ma < TARGET_MS ? 0 : 1;
}
