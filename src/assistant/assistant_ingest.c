/*
 * assistant ingest: the parsers behind bulk import (CSV question,answer
 * rows, a JSON array of documents, Markdown split on top-level headings,
 * plain text). They only read the input's shape: each candidate document
 * goes to the item callback and each row that cannot become one to the
 * reject callback with a reason; the document rules (lengths, tags,
 * language) are applied by the caller, once for imports and the API.
 * Inputs are untrusted and fuzzed (fuzz/fuzz_kb_query.c).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "assistant/assistant_int.h"

#define TEXT_TITLE_MAX 120 /* a title taken from a first line is cut to this */

int assistant_kb_format(const char *content_type, enum assistant_kb_format *out, struct err *e)
{
    static const struct {
        const char *type;
        enum assistant_kb_format fmt;
    } types[] = {
        {"text/csv", ASSISTANT_KB_CSV},           {"application/json", ASSISTANT_KB_JSON},
        {"text/markdown", ASSISTANT_KB_MARKDOWN}, {"text/x-markdown", ASSISTANT_KB_MARKDOWN},
        {"text/plain", ASSISTANT_KB_TEXT},
    };
    size_t n = 0;
    if (content_type) {
        while (content_type[n] && content_type[n] != ';' && content_type[n] != ' ')
            n++;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strlen(types[i].type) == n && strncasecmp(types[i].type, content_type, n) == 0) {
                *out = types[i].fmt;
                return 0;
            }
    }
    return err_set(e, ERR_INVALID, "unsupported_type",
                   "import takes text/csv, application/json, text/markdown or text/plain");
}

/* Trim ASCII whitespace from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* ---------------------------------------------------------------- CSV */

/* One record from p (RFC 4180): fields appended to f[0..*nf) (at most
 * nmax; more are counted, not kept). Returns the bytes consumed; *bad is
 * set for an unterminated quote (the rest of the input is consumed). */
static size_t csv_record(const char *p, size_t len, struct buf *f, int nmax, int *nf, int *bad)
{
    size_t i = 0;
    int n = 0;
    *bad = 0;
    for (;;) {
        struct buf *cur = n < nmax ? &f[n] : NULL;
        if (cur)
            buf_reset(cur);
        if (i < len && p[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    *bad = 1;
                    *nf = n + 1;
                    return len;
                }
                if (p[i] == '"') {
                    if (i + 1 < len && p[i + 1] == '"') {
                        if (cur)
                            buf_putc(cur, '"');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (cur)
                    buf_putc(cur, p[i]);
                i++;
            }
            /* Anything between the closing quote and the separator is kept. */
        }
        while (i < len && p[i] != ',' && p[i] != '\n' && p[i] != '\r') {
            if (cur)
                buf_putc(cur, p[i]);
            i++;
        }
        if (cur)
            buf_putc(cur, '\0'), cur->len--;
        n++;
        if (i < len && p[i] == ',') {
            i++;
            continue;
        }
        if (i < len && p[i] == '\r')
            i++;
        if (i < len && p[i] == '\n')
            i++;
        break;
    }
    *nf = n;
    return i;
}

static int parse_csv(const char *data, size_t len, assistant_kb_item_cb item, assistant_kb_reject_cb reject,
                     void *ud)
{
    struct buf f[2] = {{0}, {0}}, body = {0}, title = {0};
    size_t off = 0;
    int row = 0, rc = 0;

    /* A UTF-8 byte order mark from spreadsheet exports. */
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        off = 3;
    while (off < len && !rc) {
        int nf = 0, bad = 0;
        size_t used = csv_record(data + off, len - off, f, 2, &nf, &bad);
        off += used;
        row++;
        if (bad) {
            rc = reject(ud, row, "unterminated quoted field");
            break;
        }
        const char *q = nf > 0 && f[0].data ? f[0].data : "", *a = nf > 1 && f[1].data ? f[1].data : "";
        size_t qn = nf > 0 ? f[0].len : 0, an = nf > 1 ? f[1].len : 0;
        trim(&q, &qn);
        trim(&a, &an);
        if (nf == 1 && qn == 0)
            continue; /* a blank line */
        if (row == 1 && qn == 8 && an == 6 && strncasecmp(q, "question", 8) == 0 && strncasecmp(a, "answer", 6) == 0)
            continue; /* the header */
        if (!assistant__utf8_valid(q, qn) || !assistant__utf8_valid(a, an) || memchr(q, 0, qn) || memchr(a, 0, an))
            rc = reject(ud, row, "bad UTF-8");
        else if (nf > 2)
            rc = reject(ud, row, "too many columns (expected question,answer)");
        else if (qn == 0)
            rc = reject(ud, row, "missing question");
        else if (an == 0)
            rc = reject(ud, row, "missing answer");
        else if (qn + an + 7 > ASSISTANT_KB_QA_MAX)
            rc = reject(ud, row, "too long (a question and answer over 2000 bytes)");
        else {
            buf_reset(&body);
            buf_reset(&title);
            buf_append(&title, q, qn);
            buf_putc(&title, '\0');
            buf_puts(&body, "Q: ");
            buf_append(&body, q, qn);
            buf_puts(&body, "\nA: ");
            buf_append(&body, a, an);
            buf_putc(&body, '\0');
            struct assistant_kb_item it = {title.data, body.data, NULL, NULL};
            rc = item(ud, row, &it);
        }
    }
    buf_free(&f[0]);
    buf_free(&f[1]);
    buf_free(&body);
    buf_free(&title);
    return rc;
}

/* --------------------------------------------------------------- JSON */

static int parse_json(const char *data, size_t len, assistant_kb_item_cb item, assistant_kb_reject_cb reject,
                      void *ud, struct err *e)
{
    cJSON *root = NULL, *el;
    int rc, row = 0;

    if ((rc = json_parse(&root, data, len, e)))
        return err_set(e, ERR_INVALID, "invalid_import", "%s", e ? e->msg : "invalid JSON");
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return err_set(e, ERR_INVALID, "invalid_import", "a JSON import is an array of {title, body, tags, source}");
    }
    cJSON_ArrayForEach(el, root)
    {
        row++;
        const char *title = cJSON_IsObject(el) ? json_str(el, "title") : NULL;
        const char *body = cJSON_IsObject(el) ? json_str(el, "body") : NULL;
        const char *source = cJSON_IsObject(el) ? json_str(el, "source") : NULL;
        cJSON *tags = cJSON_IsObject(el) ? cJSON_GetObjectItemCaseSensitive(el, "tags") : NULL;
        char *tags_text = NULL;
        int tags_ok = 1;
        if (tags && !cJSON_IsNull(tags)) {
            cJSON *t;
            tags_ok = cJSON_IsArray(tags);
            cJSON_ArrayForEach(t, tags) tags_ok = tags_ok && cJSON_IsString(t);
            if (tags_ok)
                tags_text = cJSON_PrintUnformatted(tags);
        }
        if (!cJSON_IsObject(el))
            rc = reject(ud, row, "not an object");
        else if (!title || !*title)
            rc = reject(ud, row, "missing title");
        else if (!body || !*body)
            rc = reject(ud, row, "missing body");
        else if (!tags_ok)
            rc = reject(ud, row, "tags must be an array of strings");
        else if (!assistant__utf8_valid(title, strlen(title)) || !assistant__utf8_valid(body, strlen(body)))
            rc = reject(ud, row, "bad UTF-8");
        else {
            struct assistant_kb_item it = {title, body, tags_text, source};
            rc = item(ud, row, &it);
        }
        cJSON_free(tags_text);
        if (rc)
            break;
    }
    cJSON_Delete(root);
    return rc;
}

/* ----------------------------------------------------- Markdown, text */

/* A title from the first non-blank line of [s, s+n): leading '#'s and
 * spaces dropped, cut to TEXT_TITLE_MAX at a UTF-8 boundary. */
static void first_line_title(const char *s, size_t n, struct buf *out)
{
    trim(&s, &n);
    const char *nl = memchr(s, '\n', n);
    size_t ln = nl ? (size_t)(nl - s) : n;
    while (ln && (*s == '#' || *s == ' '))
        s++, ln--;
    trim(&s, &ln);
    if (ln > TEXT_TITLE_MAX) {
        ln = TEXT_TITLE_MAX;
        while (ln && ((unsigned char)s[ln] & 0xc0) == 0x80)
            ln--;
    }
    buf_reset(out);
    buf_append(out, s, ln);
    buf_putc(out, '\0');
}

/* One section: title (NULL: from its first line) and body [s, s+n). */
static int md_section(int row, const char *title, size_t tn, const char *s, size_t n, assistant_kb_item_cb item,
                      assistant_kb_reject_cb reject, void *ud)
{
    struct buf t = {0}, b = {0};
    int rc;
    trim(&s, &n);
    if (title)
        trim(&title, &tn);
    if (!assistant__utf8_valid(s, n) || (title && !assistant__utf8_valid(title, tn)))
        return reject(ud, row, "bad UTF-8");
    if (n == 0)
        return reject(ud, row, "empty section");
    if (title) {
        buf_append(&t, title, tn);
        buf_putc(&t, '\0');
    } else {
        first_line_title(s, n, &t);
    }
    buf_append(&b, s, n);
    buf_putc(&b, '\0');
    struct assistant_kb_item it = {t.data, b.data, NULL, NULL};
    if (!t.data[0])
        rc = reject(ud, row, "missing title");
    else
        rc = item(ud, row, &it);
    buf_free(&t);
    buf_free(&b);
    return rc;
}

static int parse_markdown(const char *data, size_t len, const char *title, assistant_kb_item_cb item,
                          assistant_kb_reject_cb reject, void *ud)
{
    const char *p = data, *end = data + len;
    const char *sec = data, *head = NULL;
    size_t head_n = 0;
    int row = 0, rc = 0, fence = 0;

    while (p < end && !rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le - p >= 3 && memcmp(p, "```", 3) == 0)
            fence = !fence;
        if (!fence && le - p >= 2 && p[0] == '#' && p[1] == ' ') {
            /* The text before this heading ends: a section (or the preamble). */
            const char *s = sec;
            size_t n = (size_t)(p - sec);
            trim(&s, &n);
            if (head || n) {
                row++;
                rc = md_section(row, head ? head : (title && *title ? title : NULL),
                                head ? head_n : (title ? strlen(title) : 0), sec, (size_t)(p - sec), item, reject,
                                ud);
            }
            head = p + 2;
            head_n = (size_t)(le - head);
            sec = nl ? nl + 1 : end;
        }
        p = nl ? nl + 1 : end;
    }
    if (!rc) {
        const char *s = sec;
        size_t n = (size_t)(end - sec);
        trim(&s, &n);
        if (head || n) {
            row++;
            rc = md_section(row, head ? head : (title && *title ? title : NULL),
                            head ? head_n : (title ? strlen(title) : 0), sec, (size_t)(end - sec), item, reject, ud);
        }
    }
    return rc;
}

static int parse_text(const char *data, size_t len, const char *title, assistant_kb_item_cb item,
                      assistant_kb_reject_cb reject, void *ud)
{
    const char *s = data;
    size_t n = len;
    trim(&s, &n);
    if (!assistant__utf8_valid(s, n))
        return reject(ud, 1, "bad UTF-8");
    if (n == 0)
        return reject(ud, 1, "empty document");
    if (title && *title)
        return md_section(1, title, strlen(title), s, n, item, reject, ud);
    /* Title from the first line; the body is the rest, or the line itself. */
    const char *nl = memchr(s, '\n', n);
    struct buf t = {0};
    first_line_title(s, n, &t);
    const char *b = nl ? nl + 1 : s;
    size_t bn = nl ? n - (size_t)(b - s) : n;
    const char *bt = b;
    size_t btn = bn;
    trim(&bt, &btn);
    int rc = md_section(1, t.data, strlen(t.data), btn ? b : s, btn ? bn : n, item, reject, ud);
    buf_free(&t);
    return rc;
}

int assistant_kb_parse(enum assistant_kb_format fmt, const char *data, size_t len, const char *title,
                       assistant_kb_item_cb item, assistant_kb_reject_cb reject, void *ud, struct err *e)
{
    if (len > ASSISTANT_KB_IMPORT_MAX)
        return err_set(e, ERR_TOOLARGE, "invalid_import", "an import is at most %d bytes", ASSISTANT_KB_IMPORT_MAX);
    if (!data)
        len = 0, data = "";
    if (memchr(data, '\0', len))
        return err_set(e, ERR_INVALID, "invalid_import", "the import holds NUL bytes");
    switch (fmt) {
    case ASSISTANT_KB_CSV:
        return parse_csv(data, len, item, reject, ud);
    case ASSISTANT_KB_JSON:
        return parse_json(data, len, item, reject, ud, e);
    case ASSISTANT_KB_MARKDOWN:
        return parse_markdown(data, len, title, item, reject, ud);
    case ASSISTANT_KB_TEXT:
        return parse_text(data, len, title, item, reject, ud);
    }
    return err_set(e, ERR_INVALID, "unsupported_type", "unknown import format");
}
