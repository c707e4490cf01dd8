/*
 * channel_multipart: a bounded multipart/form-data parser (RFC 7578 on RFC
 * 2046's multipart syntax) for SendGrid's Inbound Parse posts, which are
 * untrusted input straight from the network.
 *
 * The body is never copied: a part's data points into it and is delimited
 * by length, so binary attachments (NUL bytes included) pass through. A
 * delimiter is "--boundary" at the start of the body or of a line, followed
 * by "--" (the close) or optional white space and a line end; anything else
 * that merely starts with the boundary is content. Line ends may be CRLF or
 * a bare LF (some relays rewrite them). Parts, header block sizes and the
 * boundary are bounded; a body without its closing delimiter is refused, so
 * a truncated post is never taken for a complete one.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "channel/channel_sendgrid_int.h"

/* RFC 2046 bchars, space allowed except last. */
static int bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c);
}

/* The value of parameter name in a header value "type; a=b; name="v"",
 * unquoted (backslash escapes honoured), in a; NULL when absent. */
static const char *param(struct arena *a, const char *v, size_t n, const char *name)
{
    size_t i = 0, nl = strlen(name);
    while (i < n) {
        /* Skip to the next ';' outside quotes. */
        int q = 0;
        while (i < n && (q || v[i] != ';')) {
            if (v[i] == '"')
                q = !q;
            else if (q && v[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
        if (i >= n)
            return NULL;
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';' && v[i] != ' ' && v[i] != '\t')
            i++;
        size_t kl = i - ks;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i >= n || v[i] != '=')
            continue;
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        int match = kl == nl && strncasecmp(v + ks, name, nl) == 0;
        char *out = match ? arena_alloc(a, n - i + 1) : NULL;
        size_t o = 0;
        if (i < n && v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++) {
                if (v[i] == '\\' && i + 1 < n)
                    i++;
                if (out)
                    out[o++] = v[i];
            }
            if (i < n)
                i++;
        } else {
            for (; i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t'; i++)
                if (out)
                    out[o++] = v[i];
        }
        if (out) {
            out[o] = '\0';
            return out;
        }
    }
    return NULL;
}

const char *channel_multipart_boundary(struct arena *a, const char *content_type)
{
    if (!content_type)
        return NULL;
    size_t n = strlen(content_type);
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
        n--;
    const char *t = content_type;
    while (*t == ' ' || *t == '\t')
        t++;
    if (strncasecmp(t, "multipart/form-data", 19) != 0 || (t[19] && t[19] != ';' && t[19] != ' ' && t[19] != '\t'))
        return NULL;
    const char *b = param(a, content_type, n, "boundary");
    size_t bl = b ? strlen(b) : 0;
    if (bl == 0 || bl > 70 || b[bl - 1] == ' ')
        return NULL;
    for (size_t i = 0; i < bl; i++)
        if (!bchar((unsigned char)b[i]))
            return NULL;
    return b;
}

/* After a delimiter at p (end e): 2 = the close "--", 1 = a part follows
 * (*next: after the line end), 0 = not a delimiter line. */
static int delim_kind(const char *p, const char *end, const char **next)
{
    if (end - p >= 2 && p[0] == '-' && p[1] == '-')
        return 2;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '\n') {
        *next = p + 1;
        return 1;
    }
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
        *next = p + 2;
        return 1;
    }
    return 0;
}

/* The next delimiter line at or after from that starts a line (or the
 * body): *at = where its line break (or the delimiter) starts, *after =
 * just past "--boundary". NULL-free: 0 when none. */
static int find_delim(const char *body, const char *from, const char *end, const char *d, size_t dl,
                      const char **at, const char **after)
{
    const char *p = from;
    if (p == body && (size_t)(end - p) >= dl && memcmp(p, d, dl) == 0) {
        *at = p;
        *after = p + dl;
        return 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        if ((size_t)(end - nl - 1) >= dl && memcmp(nl + 1, d, dl) == 0) {
            *at = nl > body && nl[-1] == '\r' ? nl - 1 : nl;
            *after = nl + 1 + dl;
            return 1;
        }
        p = nl + 1;
    }
    return 0;
}

/* Parse one header block [h, he) into the part. */
static int part_headers(struct arena *a, const char *h, const char *he, struct channel_part *pt)
{
    int have_disp = 0;
    while (h < he) {
        const char *le = memchr(h, '\n', (size_t)(he - h));
        const char *line_end = le ? le : he;
        /* Unfold: continuation lines start with white space. */
        while (le && le + 1 < he && (le[1] == ' ' || le[1] == '\t')) {
            le = memchr(le + 1, '\n', (size_t)(he - le - 1));
            line_end = le ? le : he;
        }
        size_t n = (size_t)(line_end - h);
        if (n && h[n - 1] == '\r')
            n--;
        const char *colon = memchr(h, ':', n);
        if (colon) {
            size_t kl = (size_t)(colon - h);
            const char *v = colon + 1;
            size_t vl = n - kl - 1;
            if (kl == 19 && strncasecmp(h, "content-disposition", 19) == 0) {
                /* A folded value: its line breaks are white space. */
                char *u = arena_strndup(a, v, vl);
                for (char *c = u; *c; c++)
                    if (*c == '\r' || *c == '\n')
                        *c = ' ';
                v = u;
                vl = strlen(u); /* a NUL ends it */
                while (vl && (*v == ' ' || *v == '\t')) {
                    v++;
                    vl--;
                }
                if (vl < 9 || strncasecmp(v, "form-data", 9) != 0)
                    return -1;
                const char *name = param(a, v, vl, "name");
                pt->name = name ? name : "";
                pt->filename = param(a, v, vl, "filename");
                have_disp = 1;
            } else if (kl == 12 && strncasecmp(h, "content-type", 12) == 0) {
                while (vl && (*v == ' ' || *v == '\t')) {
                    v++;
                    vl--;
                }
                while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                    vl--;
                pt->content_type = arena_strndup(a, v, vl);
            }
        }
        h = le ? le + 1 : he;
    }
    return have_disp ? 0 : -1;
}

int channel_multipart_parse(struct arena *a, const char *boundary, const char *body, size_t len,
                            struct channel_part **out, size_t *nout, struct err *e)
{
    const char *end = body + len, *at = NULL, *after = NULL, *next = NULL;
    struct channel_part *parts = NULL;
    size_t n = 0, cap = 0;
    char d[80];
    size_t dl;

    *out = NULL;
    *nout = 0;
    if (!boundary || !*boundary || strlen(boundary) > 70 || !body)
        return err_set(e, ERR_INVALID, "invalid_payload", "multipart body without a boundary");
    dl = (size_t)snprintf(d, sizeof d, "--%s", boundary);
    /* The first delimiter line (the preamble before it is ignored). */
    const char *p = body;
    for (;;) {
        if (!find_delim(body, p, end, d, dl, &at, &after))
            return err_set(e, ERR_INVALID, "invalid_payload", "multipart body without its boundary");
        int k = delim_kind(after, end, &next);
        if (k == 2)
            return 0; /* no parts at all */
        if (k == 1)
            break;
        p = after;
    }
    for (;;) {
        /* next: the start of a part's headers. */
        const char *h = next, *he = NULL, *data = NULL;
        for (const char *q = h; q < end;) {
            if (*q == '\n') { /* an empty first line: no headers */
                he = q;
                data = q + 1;
                break;
            }
            if (end - q >= 2 && q[0] == '\r' && q[1] == '\n') {
                he = q;
                data = q + 2;
                break;
            }
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            if (!nl)
                break;
            q = nl + 1;
            if ((size_t)(q - h) > CHANNEL_MULTIPART_MAX_HEADER)
                break;
        }
        if (!he || (size_t)(he - h) > CHANNEL_MULTIPART_MAX_HEADER)
            return err_set(e, ERR_INVALID, "invalid_payload", "multipart part with malformed or oversized headers");
        if (n == CHANNEL_MULTIPART_MAX_PARTS)
            return err_set(e, ERR_INVALID, "invalid_payload", "multipart body with more than %d parts",
                           CHANNEL_MULTIPART_MAX_PARTS);
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct channel_part *np = arena_alloc(a, ncap * sizeof *np);
            if (n)
                memcpy(np, parts, n * sizeof *np);
            parts = np;
            cap = ncap;
        }
        struct channel_part *pt = &parts[n];
        memset(pt, 0, sizeof *pt);
        if (part_headers(a, h, he, pt) != 0)
            return err_set(e, ERR_INVALID, "invalid_payload", "multipart part without Content-Disposition: form-data");
        /* The part's data runs to the next delimiter line. */
        p = data;
        int k = 0;
        for (;;) {
            if (!find_delim(body, p, end, d, dl, &at, &after) || at < data)
                return err_set(e, ERR_INVALID, "invalid_payload", "multipart body without its closing boundary");
            k = delim_kind(after, end, &next);
            if (k)
                break;
            p = after;
        }
        pt->data = data;
        pt->len = (size_t)(at - data);
        n++;
        if (k == 2)
            break;
    }
    *out = parts;
    *nout = n;
    return 0;
}

const char *channel_multipart_field(struct arena *a, const struct channel_part *parts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!parts[i].filename && strcmp(parts[i].name, name) == 0)
            return arena_strndup(a, parts[i].data, parts[i].len);
    return NULL;
}
