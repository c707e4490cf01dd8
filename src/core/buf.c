/*
 * buf: a growable, always NUL-terminated byte buffer.
 *
 * Capacity doubles on growth so appends are amortised O(1). cap counts the
 * bytes allocated, of which one is always reserved for the terminating NUL.
 * Allocation failure aborts: a server that cannot get a few bytes cannot
 * do anything sensible with an error code either (h2o does the same).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void buf_oom(void)
{
    fputs("switchboard: out of memory\n", stderr);
    abort();
}

void buf_reserve(struct buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        buf_oom();
    need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    p = realloc(b->data, ncap);
    if (!p)
        buf_oom();
    b->data = p;
    b->cap = ncap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    buf_reserve(b, 0);
    va_copy(ap2, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->data[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        if (n < 0) {
            b->data[b->len] = '\0';
            return;
        }
    }
    b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 when the bytes are invalid. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (p[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

        return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

        return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

void buf_json_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;
    const unsigned char *run;

    if (!s) {
        buf_puts(b, "null");
        return;
    }
    buf_putc(b, '"');
    run = (const unsigned char *)s;
    for (p = run; *p;) {
        unsigned char c = *p;
        char esc[7];
        size_t elen = 0, seq;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\';
            switch (c) {
            case '\n': esc[1] = 'n'; elen = 2; break;
            case '\r': esc[1] = 'r'; elen = 2; break;
            case '\t': esc[1] = 't'; elen = 2; break;
            case '\b': esc[1] = 'b'; elen = 2; break;
            case '\f': esc[1] = 'f'; elen = 2; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        } else if ((seq = utf8_seq_len(p)) != 0) {
            /* Valid UTF-8 is copied as is (the NUL terminator fails every
             * continuation check, so we never read past the string). */
            p += seq;
            continue;
        } else {
            /* An invalid byte would make the whole document invalid JSON
             * text; write U+FFFD instead, as Go's encoding/json does. */
            memcpy(esc, "\\ufffd", 6);
            elen = 6;
        }
        buf_append(b, run, (size_t)(p - run));
        buf_append(b, esc, elen);
        p++;
        run = p;
    }
    buf_append(b, run, (size_t)(p - run));
    buf_putc(b, '"');
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *buf_steal(struct buf *b)
{
    char *p;

    buf_reserve(b, 0);
    p = b->data;
    p[b->len] = '\0';
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void buf_json_time(struct buf *b, int64_t unix_ms)
{
    char iso[32];
    if (unix_ms <= 0) {
        buf_puts(b, "null");
        return;
    }
    time_format_iso(unix_ms, iso);
    buf_json_str(b, iso);
}
