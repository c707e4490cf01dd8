/*
 * fuzz_kb_query: the knowledge base's handling of untrusted text: the
 * query builder (user questions), the chunker and the Spanish normaliser
 * (document bodies), and the import parsers (CSV, JSON, Markdown, text
 * uploads). The first byte picks which; the rest is the input.
 * Invariants: nothing crashes or reads out of bounds; a built query is
 * only quoted words of letters and digits joined by " OR " (no FTS5 or
 * tsquery operator survives) and its terms hold no quote or operator; a
 * chunk of valid UTF-8 is valid UTF-8, non-empty and within the bound
 * (a Q/A body within its own); every parsed document has a non-empty
 * title and body of valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_chunk(void *ud, const char *text, size_t len)
{
    int valid = *(int *)ud;
    if (len == 0 || len > ASSISTANT_KB_QA_MAX)
        abort();
    if (len > 64 && strncmp(text, "Q: ", 3) != 0)
        abort(); /* the fuzzer splits at 64 bytes */
    if (valid && !assistant__utf8_valid(text, len))
        abort();
    return 0;
}

static int on_item(void *ud, int row, const struct assistant_kb_item *it)
{
    (void)ud;
    if (row < 1 || !it->title || !it->body || !*it->body)
        abort();
    if (!assistant__utf8_valid(it->title, strlen(it->title)) || !assistant__utf8_valid(it->body, strlen(it->body)))
        abort();
    return 0;
}

static int on_reject(void *ud, int row, const char *reason)
{
    (void)ud;
    if (row < 1 || !reason || !*reason)
        abort();
    return 0;
}

static void check_query(const char *s)
{
    struct buf m = {0}, t = {0};
    struct err e = {0};
    if (assistant_kb_query(s, &m, &t, &e) == 0) {
        /* "w" ( OR "w")* with w free of '"'. */
        const char *p = m.data;
        for (;;) {
            if (*p++ != '"')
                abort();
            const char *q = strchr(p, '"');
            if (!q || q == p)
                abort();
            for (; p < q; p++)
                if (strchr("*:^()+-&|!<>{}\\ ", *p))
                    abort();
            p = q + 1;
            if (!*p)
                break;
            if (strncmp(p, " OR ", 4) != 0)
                abort();
            p += 4;
        }
        for (p = t.data; *p; p++)
            if (strchr("\"*:^()&|!<>'\\", *p))
                abort();
    }
    buf_free(&m);
    buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e = {0};
    if (size < 1 || size > 8192)
        return 0;
    int mode = data[0] % 6;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (mode == 0) {
        check_query(s);
    } else if (mode == 5) {
        int valid = assistant__utf8_valid(s, strlen(s));
        struct buf b = {0};
        assistant_kb_chunk(s, 64, on_chunk, &valid);
        assistant_kb_normalise_es(s, &b);
        buf_free(&b);
    } else {
        static const enum assistant_kb_format fmts[] = {ASSISTANT_KB_CSV, ASSISTANT_KB_JSON, ASSISTANT_KB_MARKDOWN,
                                                        ASSISTANT_KB_TEXT};
        assistant_kb_parse(fmts[mode - 1], (const char *)data + 1, size - 1, (data[0] & 0x80) ? "T" : NULL,
                           on_item, on_reject, NULL, &e);
    }
    free(s);
    return 0;
}
