/*
 * channel_mime: an outbound e-mail as RFC 5322 / MIME text, ready for SMTP.
 *
 * Headers: Date, From (display name quoted, or RFC 2047 encoded when not
 * ASCII), To, Subject (folded, or RFC 2047 encoded words), Message-ID,
 * In-Reply-To, References, List-Unsubscribe with List-Unsubscribe-Post
 * (RFC 8058 one-click), MIME-Version. Body: text/plain and text/html
 * (UTF-8, quoted-printable) as multipart/alternative; images the HTML
 * refers to as cid: in a multipart/related with it; other files in a
 * multipart/mixed around the lot (base64). Invariants of the output: CRLF
 * line endings only, no line over 998 bytes (in practice 78), boundaries
 * that cannot occur in any part ("=_" never appears in quoted-printable or
 * base64 text). Header values come from API callers, so CR, LF and other
 * control characters in them are refused, never passed through.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "channel/channel_int.h"

#define MIME_LINE 76        /* encoded body lines, without CRLF */
#define MIME_WORD_BYTES 39  /* input bytes per RFC 2047 word: 12 + 52 chars, so header lines stay under 76 */

/* ------------------------------------------------------------- checking */

/* Printable text for a header: no byte below 0x20 but tab, no DEL. */
static int header_text_ok(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

int channel__email_address_ok(const char *s)
{
    const char *at;
    size_t n;
    if (!s || !(at = strchr(s, '@')) || at == s || !at[1] || strchr(at + 1, '@'))
        return 0;
    n = strlen(s);
    if (n > 254)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\"\\", c))
            return 0;
    }
    return 1;
}

/* One "<id>": printable ASCII without spaces or angle brackets inside. */
static size_t msg_id_len(const char *s)
{
    size_t i = 1;
    if (s[0] != '<')
        return 0;
    for (; s[i] && s[i] != '>'; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '<')
            return 0;
    return s[i] == '>' && i > 1 ? i + 1 : 0;
}

int channel__email_msg_id_ok(const char *s)
{
    size_t n = s ? msg_id_len(s) : 0;
    return n && !s[n] && n <= 250;
}

/* A space-separated list of ids (at least one). */
static int msg_id_list_ok(const char *s)
{
    int n = 0;
    while (*s) {
        size_t k;
        if (*s == ' ') {
            s++;
            continue;
        }
        if (!(k = msg_id_len(s)) || k > 250)
            return 0;
        s += k;
        n++;
        if (*s && *s != ' ')
            return 0;
    }
    return n > 0;
}

/* ------------------------------------------------------------- encoding */

/* Quoted-printable (RFC 2045 6.7) of UTF-8 text: any line break (CRLF,
 * LF or CR) becomes a hard CRLF; lines stay within 76 characters with soft
 * breaks; spaces before a break, '=', a leading '.', and bytes outside
 * printable ASCII are encoded. */
static void put_qp(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tok[4];
        size_t tl;
        if (c == '\r' || c == '\n') {
            if (c == '\r' && s[1] == '\n')
                s++;
            buf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        int at_end = s[1] == '\0' || s[1] == '\r' || s[1] == '\n';
        if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) || ((c == ' ' || c == '\t') && !at_end)) {
            tok[0] = (char)c;
            tl = 1;
        } else {
            tok[0] = '=';
            tok[1] = hex[c >> 4];
            tok[2] = hex[c & 15];
            tl = 3;
        }
        /* Keep room for a soft break ('=') unless this token ends the line. */
        if (col + tl > (at_end ? MIME_LINE : MIME_LINE - 1)) {
            buf_puts(b, "=\r\n");
            col = 0;
            if (tok[0] == '.' && tl == 1) { /* now at a line's start */
                memcpy(tok, "=2E", 3);
                tl = 3;
            }
        }
        buf_append(b, tok, tl);
        col += tl;
    }
    /* In a multipart this CRLF belongs to the next boundary line (RFC 2046
     * 5.1.1), so the part decodes to the text exactly. */
    buf_puts(b, "\r\n");
}

/* Base64 in lines of 76 characters. */
static void put_base64(struct buf *b, const void *data, size_t len)
{
    size_t n = crypto_base64_len(len);
    char *tmp = malloc(n + 1);
    if (!tmp)
        abort(); /* as buf appends do on OOM */
    crypto_base64(tmp, n + 1, data, len);
    size_t tl = strlen(tmp);
    for (size_t i = 0; i < tl; i += MIME_LINE) {
        buf_append(b, tmp + i, tl - i < MIME_LINE ? tl - i : MIME_LINE);
        buf_puts(b, "\r\n");
    }
    free(tmp);
}

/* RFC 2047 "B" encoded words for UTF-8 text, split on character
 * boundaries, joined by folding whitespace (which decoders drop between
 * adjacent encoded words). */
static void put_encoded_words(struct buf *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    char tmp[80];
    while (i < n) {
        size_t k = n - i < MIME_WORD_BYTES ? n - i : MIME_WORD_BYTES;
        while (k > 1 && i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
            k--; /* do not split a character */
        crypto_base64(tmp, sizeof tmp, s + i, k);
        if (i)
            buf_puts(b, "\r\n ");
        buf_printf(b, "=?UTF-8?B?%s?=", tmp);
        i += k;
    }
}

/* "Name: value" for printable ASCII text, folded at spaces so lines keep
 * to 78 characters where the words allow. */
static void put_folded(struct buf *b, const char *name, const char *value)
{
    size_t col = strlen(name) + 2;
    buf_printf(b, "%s: ", name);
    const char *w = value;
    int first = 1;
    for (;;) {
        const char *sp = strchr(w, ' ');
        size_t wl = sp ? (size_t)(sp - w) : strlen(w);
        if (!first) {
            if (col + 1 + wl > 78 && col > strlen(name) + 2) {
                buf_puts(b, "\r\n ");
                col = 1;
            } else {
                buf_putc(b, ' ');
                col++;
            }
        }
        buf_append(b, w, wl);
        col += wl;
        first = 0;
        if (!sp)
            break;
        w = sp + 1;
    }
    buf_puts(b, "\r\n");
}

/* The longest run of bytes without a space. */
static size_t longest_word(const char *s)
{
    size_t best = 0, cur = 0;
    for (; *s; s++) {
        cur = *s == ' ' ? 0 : cur + 1;
        if (cur > best)
            best = cur;
    }
    return best;
}

/* Subject-like text: as it is when plain ASCII whose words fit a line,
 * else encoded words (which split anywhere). */
static void put_text_header(struct buf *b, const char *name, const char *value)
{
    if (is_ascii(value) && !strstr(value, "=?") && longest_word(value) + strlen(name) + 2 <= 998) {
        put_folded(b, name, value);
        return;
    }
    buf_printf(b, "%s: ", name);
    put_encoded_words(b, value);
    buf_puts(b, "\r\n");
}

static void put_date(struct buf *b, int64_t ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A space-separated id list, one id per folded line after the first. */
static void put_id_list(struct buf *b, const char *name, const char *ids)
{
    int first = 1;
    buf_printf(b, "%s:", name);
    while (*ids) {
        size_t k;
        if (*ids == ' ') {
            ids++;
            continue;
        }
        k = msg_id_len(ids);
        buf_puts(b, first ? " " : "\r\n ");
        buf_append(b, ids, k);
        ids += k;
        first = 0;
    }
    buf_puts(b, "\r\n");
}

/* ---------------------------------------------------------------- parts */

struct mime_ctx {
    struct buf *b;
    const struct channel__mime *m;
    char seed[25];              /* random hex shared by this message's boundaries */
};

static void boundary(char out[40], const struct mime_ctx *c, char level)
{
    snprintf(out, 40, "=_sb%c_%s", level, c->seed);
}

/* A file name safe inside a quoted parameter. */
static void safe_name(char *out, size_t outlen, const char *name, size_t index)
{
    size_t j = 0;
    if (name)
        for (const char *p = name; *p && j + 1 < outlen && j < 100; p++) {
            unsigned char c = (unsigned char)*p;
            out[j++] = (char)((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                      c == '.' || c == '-' || c == '_' || c == '+'
                                  ? c
                                  : '_');
        }
    out[j] = '\0';
    if (!j || strspn(out, "._") == j)
        snprintf(out, outlen, "attachment-%zu", index + 1);
}

/* type/subtype of token characters, else application/octet-stream. */
static void safe_type(char out[128], const char *ct)
{
    size_t n = 0, slash = 0;
    snprintf(out, 128, "application/octet-stream");
    if (!ct)
        return;
    for (; ct[n] && ct[n] != ';' && ct[n] != ' '; n++) {
        unsigned char c = (unsigned char)ct[n];
        if (c == '/')
            slash++;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("!#$&^_.+-", c)))
            return;
    }
    if (slash != 1 || n < 3 || n > 100 || ct[0] == '/' || ct[n - 1] == '/')
        return;
    snprintf(out, 128, "%.*s", (int)n, ct);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static void put_text_part(struct buf *b, const char *subtype, const char *text)
{
    buf_printf(b, "Content-Type: text/%s; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
               subtype);
    put_qp(b, text);
}

static void put_file_part(struct buf *b, const struct channel__mime_file *f, size_t index)
{
    char name[128], type[128];
    safe_name(name, sizeof name, f->filename, index);
    safe_type(type, f->content_type);
    buf_printf(b, "Content-Type: %s;\r\n name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n", type, name);
    if (f->content_id)
        buf_printf(b, "Content-ID: <%s>\r\nContent-Disposition: inline;\r\n filename=\"%s\"\r\n", f->content_id,
                   name);
    else
        buf_printf(b, "Content-Disposition: attachment;\r\n filename=\"%s\"\r\n", name);
    buf_puts(b, "\r\n");
    put_base64(b, f->data, f->len);
}

static size_t count_files(const struct channel__mime *m, int inl)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        n += !!m->files[i].content_id == inl;
    return n;
}

/* The HTML, with its inline images when there are any. */
static void put_html(struct mime_ctx *c)
{
    char bd[40];
    if (!count_files(c->m, 1)) {
        put_text_part(c->b, "html", c->m->html);
        return;
    }
    boundary(bd, c, 'r');
    buf_printf(c->b, "Content-Type: multipart/related; type=\"text/html\";\r\n boundary=\"%s\"\r\n\r\n--%s\r\n", bd, bd);
    put_text_part(c->b, "html", c->m->html);
    for (size_t i = 0; i < c->m->nfiles; i++)
        if (c->m->files[i].content_id) {
            buf_printf(c->b, "--%s\r\n", bd);
            put_file_part(c->b, &c->m->files[i], i);
        }
    buf_printf(c->b, "--%s--\r\n", bd);
}

/* Text, HTML, or both as alternatives. */
static void put_body(struct mime_ctx *c)
{
    char bd[40];
    if (!c->m->html) {
        put_text_part(c->b, "plain", c->m->text);
        return;
    }
    if (!c->m->text) {
        put_html(c);
        return;
    }
    boundary(bd, c, 'a');
    buf_printf(c->b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n--%s\r\n", bd, bd);
    put_text_part(c->b, "plain", c->m->text);
    buf_printf(c->b, "--%s\r\n", bd);
    put_html(c);
    buf_printf(c->b, "--%s--\r\n", bd);
}

/* ---------------------------------------------------------------- build */

int channel__mime_build(struct buf *out, const struct channel__mime *m, struct err *e)
{
    struct mime_ctx c = {out, m, ""};
    uint8_t rnd[12];
    char bd[40];

    if (!channel__email_address_ok(m->from_email))
        return err_set(e, ERR_INVALID, "invalid_address", "the sender is not a plain e-mail address");
    if (!channel__email_address_ok(m->to))
        return err_set(e, ERR_INVALID, "invalid_address", "the recipient is not a plain e-mail address");
    if (!m->subject || !*m->subject)
        return err_set(e, ERR_INVALID, "invalid_message", "an e-mail needs a subject");
    if (strlen(m->subject) > 998 || !header_text_ok(m->subject))
        return err_set(e, ERR_INVALID, "invalid_header",
                       "the subject must be at most 998 bytes without line breaks or control characters");
    if (m->from_name && (strlen(m->from_name) > 256 || !header_text_ok(m->from_name)))
        return err_set(e, ERR_INVALID, "invalid_header",
                       "the sender name must be at most 256 bytes without line breaks or control characters");
    if (!m->text && !m->html)
        return err_set(e, ERR_INVALID, "invalid_message", "an e-mail needs text or HTML");
    if (!channel__email_msg_id_ok(m->message_id))
        return err_set(e, ERR_INVALID, "invalid_header", "the Message-ID must be one <id> without spaces");
    if (m->in_reply_to && *m->in_reply_to && !channel__email_msg_id_ok(m->in_reply_to))
        return err_set(e, ERR_INVALID, "invalid_header", "In-Reply-To must be one <id> without spaces");
    if (m->references && *m->references && (strlen(m->references) > 8000 || !msg_id_list_ok(m->references)))
        return err_set(e, ERR_INVALID, "invalid_header", "References must be <id>s separated by spaces");
    if (m->unsubscribe_url && *m->unsubscribe_url) {
        const char *u = m->unsubscribe_url;
        if (strlen(u) > 900 || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0) ||
            strpbrk(u, "<> \t\"") || !header_text_ok(u) || !is_ascii(u))
            return err_set(e, ERR_INVALID, "invalid_header",
                           "the unsubscribe URL must be an http(s) URL without spaces or angle brackets");
    }
    for (size_t i = 0; i < m->nfiles; i++) {
        const char *cid = m->files[i].content_id;
        if (cid && (!*cid || strlen(cid) > 200 || strpbrk(cid, "<>") || !header_text_ok(cid) || !is_ascii(cid) ||
                    strchr(cid, ' ') || strchr(cid, '\t')))
            return err_set(e, ERR_INVALID, "invalid_header", "a Content-ID must be printable ASCII without spaces");
        if (cid && !m->html)
            return err_set(e, ERR_INVALID, "invalid_message", "inline images need an HTML part");
    }

    crypto_random_fast(rnd, sizeof rnd);
    crypto_hex(c.seed, rnd, sizeof rnd);

    put_date(out, m->date_ms ? m->date_ms : time_now_ms());
    if (m->from_name && *m->from_name) {
        if (is_ascii(m->from_name) && !strstr(m->from_name, "=?")) {
            buf_puts(out, "From: \"");
            for (const char *p = m->from_name; *p; p++) {
                if (*p == '"' || *p == '\\')
                    buf_putc(out, '\\');
                buf_putc(out, *p);
            }
            buf_printf(out, "\" <%s>\r\n", m->from_email);
        } else {
            buf_puts(out, "From: ");
            put_encoded_words(out, m->from_name);
            buf_printf(out, "\r\n <%s>\r\n", m->from_email);
        }
    } else {
        buf_printf(out, "From: <%s>\r\n", m->from_email);
    }
    buf_printf(out, "To: <%s>\r\n", m->to);
    put_text_header(out, "Subject", m->subject);
    buf_printf(out, "Message-ID: %s\r\n", m->message_id);
    if (m->in_reply_to && *m->in_reply_to)
        buf_printf(out, "In-Reply-To: %s\r\n", m->in_reply_to);
    if (m->references && *m->references)
        put_id_list(out, "References", m->references);
    if (m->unsubscribe_url && *m->unsubscribe_url)
        buf_printf(out, "List-Unsubscribe: <%s>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                   m->unsubscribe_url);
    buf_puts(out, "MIME-Version: 1.0\r\n");

    if (!count_files(m, 0)) {
        put_body(&c);
        return 0;
    }
    boundary(bd, &c, 'm');
    buf_printf(out, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n--%s\r\n", bd, bd);
    put_body(&c);
    for (size_t i = 0; i < m->nfiles; i++)
        if (!m->files[i].content_id) {
            buf_printf(out, "--%s\r\n", bd);
            put_file_part(out, &m->files[i], i);
        }
    buf_printf(out, "--%s--\r\n", bd);
    return 0;
}
