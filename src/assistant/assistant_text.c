/*
 * assistant text: the pure text work of the knowledge base: splitting a
 * body into chunks, the Spanish normaliser, and turning user text into a
 * safe full-text query. No database, no allocation beyond struct buf, so
 * all three are fuzzed (fuzz/fuzz_kb_query.c).
 *
 * The chunker works on bytes: a chunk is at most max bytes, cut at
 * whitespace, or (a word longer than a chunk) at a UTF-8 sequence
 * boundary, never inside one.
 */
#include <string.h>

#include "assistant/assistant_int.h"

/* ------------------------------------------------------------ UTF-8 */

int assistant__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* ---------------------------------------------------------- chunking */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct chunker {
    assistant_chunk_cb cb;
    void *ud;
    size_t max;
    struct buf cur;
};

static int flush(struct chunker *k)
{
    int rc = 0;
    if (k->cur.len)
        rc = k->cb(k->ud, k->cur.data, k->cur.len);
    buf_reset(&k->cur);
    return rc;
}

/* A paragraph longer than a chunk: cut at the last whitespace before max,
 * else at the last UTF-8 boundary before it. */
static int split_long(struct chunker *k, const char *s, size_t len)
{
    int rc = 0;
    while (len > 0 && !rc) {
        while (len && is_space(*s))
            s++, len--;
        if (!len)
            break;
        size_t cut = len;
        if (len > k->max) {
            cut = k->max;
            while (cut > 0 && !is_space(s[cut]))
                cut--;
            if (cut == 0) {
                cut = k->max;
                while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
                    cut--;
                if (cut == 0)
                    cut = k->max;
            }
        }
        size_t end = cut;
        while (end > 0 && is_space(s[end - 1]))
            end--;
        if (end)
            rc = k->cb(k->ud, s, end);
        s += cut;
        len -= cut;
    }
    return rc;
}

static int add_para(struct chunker *k, const char *s, size_t len, int heading)
{
    int rc = 0;
    while (len && is_space(*s))
        s++, len--;
    while (len && is_space(s[len - 1]))
        len--;
    if (!len)
        return 0;
    if (heading && (rc = flush(k)))
        return rc;
    if (k->cur.len && k->cur.len + 2 + len <= k->max) {
        buf_append(&k->cur, "\n\n", 2);
        buf_append(&k->cur, s, len);
        return 0;
    }
    if ((rc = flush(k)))
        return rc;
    if (len <= k->max) {
        buf_append(&k->cur, s, len);
        return 0;
    }
    return split_long(k, s, len);
}

static int is_blank_line(const char *s, const char *end)
{
    for (; s < end; s++)
        if (!is_space(*s))
            return 0;
    return 1;
}

int assistant_kb_chunk(const char *body, int max, assistant_chunk_cb cb, void *ud)
{
    struct chunker k = {cb, ud, max > 0 ? (size_t)max : ASSISTANT_KB_CHUNK_MAX, {0}};
    size_t len = body ? strlen(body) : 0;
    int rc = 0;

    if (!len)
        return 0;
    /* A question and its answer stay together. */
    if (len <= ASSISTANT_KB_QA_MAX && strncmp(body, "Q: ", 3) == 0 && strstr(body, "\nA: ")) {
        size_t s = 0, n = len;
        while (n && is_space(body[n - 1]))
            n--;
        return n > s ? cb(ud, body, n) : 0;
    }
    const char *p = body, *end = body + len;
    const char *para = NULL;
    int para_heading = 0;
    while (p < end && !rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        int blank = is_blank_line(p, le);
        int heading = !blank && *p == '#';
        if (blank || heading) {
            if (para)
                rc = add_para(&k, para, (size_t)(p - para), para_heading);
            para = NULL;
        }
        if (!blank && !para) {
            para = p;
            para_heading = heading;
        }
        p = nl ? nl + 1 : end;
    }
    if (!rc && para)
        rc = add_para(&k, para, (size_t)(end - para), para_heading);
    if (!rc)
        rc = flush(&k);
    buf_free(&k.cur);
    return rc;
}

/* ------------------------------------------------- Spanish normaliser */

/* Fold one UTF-8 letter of Latin-1 Supplement (á, É, ñ, ü, …) to ASCII;
 * 0 when it is none of them. */
static char fold_latin1(unsigned c)
{
    static const char map[64] = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
    if (c < 0xc0 || c > 0xff)
        return 0;
    char m = map[c - 0xc0];
    return (m >= 'A' && m <= 'Z') || (m >= 'a' && m <= 'z') ? m : 0;
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Strip plural and gender endings from a folded, lowercase word in place. */
static size_t stem_es(char *w, size_t n)
{
    if (n > 6 && memcmp(w + n - 6, "ciones", 6) == 0)
        n -= 2;
    else if (n > 4 && w[n - 1] == 's' && w[n - 2] == 'e' && !is_vowel(w[n - 3]))
        n -= 2;
    else if (n > 3 && w[n - 1] == 's')
        n -= 1;
    if (n > 4 && (w[n - 1] == 'a' || w[n - 1] == 'o' || w[n - 1] == 'e'))
        n -= 1;
    return n;
}

/* The next word of s (letters and digits; other UTF-8 letters kept as
 * they are, Latin-1 ones folded) into w (wmax bytes); returns the bytes
 * consumed, 0 at the end. *wn receives the word's length (0: none). */
static size_t next_word(const char *s, char *w, size_t wmax, size_t *wn)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n = 0;
    *wn = 0;
    for (;;) {
        unsigned c = p[i];
        if (!c)
            break;
        if (c < 0x80) {
            int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum) {
                if (n)
                    break;
                i++;
                continue;
            }
            if (n < wmax)
                w[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        /* A multibyte sequence: Latin-1 letters fold, others stay whole. */
        size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
        size_t have = 1;
        while (have < len && (p[i + have] & 0xc0) == 0x80)
            have++;
        if (have < len) { /* broken sequence: a separator */
            if (n)
                break;
            i += have;
            continue;
        }
        unsigned cp = len == 2   ? ((c & 0x1f) << 6) | (p[i + 1] & 0x3f)
                      : len == 3 ? ((c & 0x0f) << 12) | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3f)
                                 : 0;
        char f = len == 2 ? fold_latin1(cp) : 0;
        /* Latin-1 punctuation (¿ ¡ « » × ÷) and general punctuation (“ ” — …): separators. */
        if ((len == 2 && (cp < 0xc0 || cp == 0xd7 || cp == 0xf7)) || (len == 3 && cp >= 0x2000 && cp <= 0x206f)) {
            if (n)
                break;
            i += len;
            continue;
        }
        if (f) {
            if (n < wmax)
                w[n++] = (char)(f >= 'A' && f <= 'Z' ? f + 32 : f);
        } else if (n + len <= wmax) {
            memcpy(w + n, p + i, len);
            n += len;
        }
        i += len;
    }
    *wn = n;
    return i;
}

#define WORD_MAX 64

void assistant_kb_normalise_es(const char *text, struct buf *out)
{
    char w[WORD_MAX];
    size_t wn, used;
    int first = 1;
    if (!text)
        return;
    while ((used = next_word(text, w, sizeof(w), &wn)) > 0) {
        text += used;
        if (!wn)
            continue;
        wn = stem_es(w, wn);
        if (!first)
            buf_putc(out, ' ');
        buf_append(out, w, wn);
        first = 0;
    }
}

/* ------------------------------------------------------------ queries */

static int is_stop(const char *w, size_t n)
{
    static const char *const stop[] = {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is",
        "it", "me", "my", "of", "on", "or", "the", "this", "to", "was", "what", "when", "where", "which", "who",
        "why", "with", "you", "your", "de", "del", "el", "en", "es", "la", "las", "lo", "los", "mi", "por", "que",
        "se", "su", "un", "una", "y", "al", "con", "para", "como",
    };
    for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
        if (strlen(stop[i]) == n && memcmp(stop[i], w, n) == 0)
            return 1;
    return 0;
}

static void add_term(struct buf *match, const char *w, size_t n)
{
    if (match->len)
        buf_puts(match, " OR ");
    buf_putc(match, '"');
    buf_append(match, w, n); /* letters and digits only: nothing to escape */
    buf_putc(match, '"');
}

int assistant_kb_query(const char *q, struct buf *match, struct buf *terms, struct err *e)
{
    char w[WORD_MAX], s[WORD_MAX];
    size_t wn, used;
    int pass, kept = 0;

    buf_reset(match);
    buf_reset(terms);
    if (!q || !*q)
        return err_set(e, ERR_INVALID, "empty_query", "the query is empty");
    if (!assistant__utf8_valid(q, strlen(q)))
        return err_set(e, ERR_INVALID, "bad_utf8", "the query is not valid UTF-8");
    /* Pass 0 drops stop words; pass 1 (only when nothing was kept) keeps them. */
    for (pass = 0; pass < 2 && !kept; pass++) {
        const char *t = q;
        int n = 0;
        while ((used = next_word(t, w, sizeof(w), &wn)) > 0 && n < ASSISTANT_KB_QUERY_TERMS) {
            t += used;
            if (!wn || (pass == 0 && is_stop(w, wn)))
                continue;
            n++;
            add_term(match, w, wn);
            if (terms->len)
                buf_putc(terms, ' ');
            buf_append(terms, w, wn);
            memcpy(s, w, wn);
            size_t sn = stem_es(s, wn);
            if (sn != wn)
                add_term(match, s, sn);
            kept++;
        }
    }
    if (!kept)
        return err_set(e, ERR_INVALID, "empty_query", "the query has no words to search for");
    return 0;
}
