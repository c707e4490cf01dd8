/*
 * template_render: placeholders in user-authored template text.
 *
 * One scanner (next_placeholder) serves checking, collecting variable names
 * and rendering, so what was accepted when a template was written is
 * exactly what renders. Text outside placeholders is copied byte for byte;
 * the scanner never reads past the terminating NUL and never allocates.
 */
#include <string.h>

#include "template/template.h"

/* Longest "{{ … }}" inside: a name plus generous spaces. */
#define PLACEHOLDER_SPAN (TEMPLATE_VAR_MAX + 32)

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 when s[0..n) is a variable name: [A-Za-z_][A-Za-z0-9_]* up to the
 * maximum, or 1-99 without a leading zero. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > TEMPLATE_VAR_MAX)
        return 0;
    if (is_digit(s[0])) {
        if (s[0] == '0' || n > 2)
            return 0;
        return n == 1 || is_digit(s[1]);
    }
    if (!is_alpha(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha(s[i]) && !is_digit(s[i]))
            return 0;
    return 1;
}

/* Find the next "{{" at or after p. Returns 0 with *start = NULL at the
 * end; 0 with *start, *end (one past "}}") and the name span set; or
 * ERR_INVALID "invalid_template". */
static int next_placeholder(const char *base, const char *p, const char **start, const char **end,
                            const char **name, size_t *name_len, struct err *e)
{
    const char *s = strstr(p, "{{");
    *start = NULL;
    if (!s)
        return 0;
    const char *q = s + 2;
    size_t span = 0;
    while (*q && span < PLACEHOLDER_SPAN && !(q[0] == '}' && q[1] == '}')) {
        q++;
        span++;
    }
    if (q[0] != '}' || q[1] != '}')
        return err_set(e, ERR_INVALID, "invalid_template", "unclosed or overlong placeholder at byte %zu",
                       (size_t)(s - base));
    const char *a = s + 2, *b = q;
    while (a < b && *a == ' ')
        a++;
    while (b > a && b[-1] == ' ')
        b--;
    if (!valid_name(a, (size_t)(b - a)))
        return err_set(e, ERR_INVALID, "invalid_template",
                       "placeholder at byte %zu must be {{name}} (letters, digits, _) or {{1}} to {{99}}",
                       (size_t)(s - base));
    *start = s;
    *end = q + 2;
    *name = a;
    *name_len = (size_t)(b - a);
    return 0;
}

int template_check(const char *text, struct err *e)
{
    const char *p = text, *s, *end, *name;
    size_t n;
    int rc;

    if (!text)
        return 0;
    for (;;) {
        if ((rc = next_placeholder(text, p, &s, &end, &name, &n, e)))
            return rc;
        if (!s)
            return 0;
        p = end;
    }
}

/* 1 when the "\n"-joined list holds name[0..n). */
static int seen_has(const struct buf *seen, const char *name, size_t n)
{
    const char *p = seen->data;
    if (!p)
        return 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

int template_collect(const char *text, struct buf *names, struct buf *seen, int *n, struct err *e)
{
    const char *p = text, *s, *end, *name;
    size_t len;
    int rc;

    if (!text)
        return 0;
    for (;;) {
        if ((rc = next_placeholder(text, p, &s, &end, &name, &len, e)))
            return rc;
        if (!s)
            return 0;
        p = end;
        if (seen_has(seen, name, len))
            continue;
        if (*n >= TEMPLATE_VARS_MAX)
            return err_set(e, ERR_INVALID, "too_many_variables", "a template has at most %d variables",
                           TEMPLATE_VARS_MAX);
        buf_append(seen, name, len);
        buf_putc(seen, '\n');
        if ((*n)++)
            buf_putc(names, ',');
        buf_putc(names, '"');
        buf_append(names, name, len); /* names are [A-Za-z0-9_]: no escaping needed */
        buf_putc(names, '"');
    }
}

void template_html_escape(struct buf *out, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        buf_append(out, run, (size_t)(s - run));
        buf_puts(out, ent);
        run = s + 1;
    }
    buf_append(out, run, (size_t)(s - run));
}

static const char *lookup(const struct template_var *vars, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (vars[i].name && strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
            return vars[i].value;
    return NULL;
}

int template_render(const char *text, const struct template_var *vars, size_t n, int html, struct buf *out,
                    struct err *e)
{
    const char *p = text, *s, *end, *name, *value;
    size_t len;
    int rc;

    if (!text)
        return 0;
    for (;;) {
        if ((rc = next_placeholder(text, p, &s, &end, &name, &len, e)))
            return rc;
        if (!s) {
            buf_puts(out, p);
            return 0;
        }
        if (!(value = lookup(vars, n, name, len)))
            return err_set(e, ERR_INVALID, "missing_variable", "the template needs variable \"%.*s\"", (int)len,
                           name);
        buf_append(out, p, (size_t)(s - p));
        if (html)
            template_html_escape(out, value);
        else
            buf_puts(out, value);
        p = end;
    }
}
