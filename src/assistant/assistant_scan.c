/*
 * assistant_scan: the scanners behind the safety checks and log
 * redaction: phone numbers, e-mail addresses, card numbers (Luhn) and
 * links, and currency amounts, found on the raw text by small bounded
 * hand-written scanners (linear in any input), and assistant_redact. Pure
 * and thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"

/* =================================================== contact data, links */

static int is_local_char(unsigned char c)
{
    return assistant__is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int is_host_char(unsigned char c)
{
    return assistant__is_alnum(c) || c == '.' || c == '-';
}

/* The end of an e-mail address starting at i (the start of its local
 * part), or 0. */
static size_t scan_email(const char *s, size_t i)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t j = i;
    while (is_local_char(p[j]))
        j++;
    if (p[j] != '@' || j == i || p[i] == '.' || p[j - 1] == '.')
        return 0;
    size_t d = j + 1, k = d;
    while (is_host_char(p[k]))
        k++;
    while (k > d && (p[k - 1] == '.' || p[k - 1] == '-'))
        k--;
    if (k == d || !assistant__is_alnum(p[d]))
        return 0;
    /* A dot, no empty label, and a last label of two or more letters. */
    size_t last = 0, dots = 0;
    for (size_t m = d; m < k; m++)
        if (p[m] == '.') {
            if (p[m - 1] == '.')
                return 0;
            dots++;
            last = m + 1;
        }
    if (!dots || k - last < 2)
        return 0;
    for (size_t m = last; m < k; m++)
        if (!assistant__is_alpha(p[m]))
            return 0;
    return k;
}

/* The end of an http(s) link or bare www. host starting at i, or 0. */
static size_t scan_url(const char *s, size_t i)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t h;
    if (assistant__ci_prefix(s + i, "https://"))
        h = i + 8;
    else if (assistant__ci_prefix(s + i, "http://"))
        h = i + 7;
    else if (assistant__ci_prefix(s + i, "www.") && assistant__is_alnum(p[i + 4]))
        h = i;
    else
        return 0;
    size_t k = h;
    while (is_host_char(p[k]))
        k++;
    if (k == h || !memchr(s + h, '.', k - h) || !assistant__is_alnum(p[h]))
        return 0;
    while (p[k] && p[k] > ' ' && p[k] != '<' && p[k] != '>' && p[k] != '"' && p[k] != '`' && p[k] != 0x7f)
        k++;
    while (k > h && strchr(".,;:!?)]}'*", p[k - 1]))
        k--;
    return k;
}

static int luhn(const char *d, size_t n)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';
        if (i % 2) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* A card: 13-19 digits from i, single spaces or dashes between groups,
 * Luhn-valid; the longest such run. Its end, or 0. */
static size_t scan_card(const char *s, size_t i, char *digits)
{
    const unsigned char *p = (const unsigned char *)s;
    char d[ASSISTANT__DIGITS_MAX];
    size_t n = 0, q = i, best = 0, bestn = 0;
    for (;;) {
        size_t g = q;
        while (assistant__is_digit(p[q]) && n < 19)
            d[n++] = (char)p[q++];
        if (assistant__is_digit(p[q]) || q == g)
            break; /* longer than any card */
        if (n >= 13 && luhn(d, n) && !assistant__is_alnum(p[q])) {
            best = q;
            bestn = n;
        }
        if ((p[q] == ' ' || p[q] == '-') && assistant__is_digit(p[q + 1]))
            q++;
        else
            break;
    }
    if (best) {
        memcpy(digits, d, bestn);
        digits[bestn] = '\0';
    }
    return best;
}

static int is_phone_sep(unsigned char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* The end of a run of digits and phone separators from i. */
static size_t run_end(const unsigned char *p, size_t i)
{
    for (;;) {
        if (assistant__is_digit(p[i])) {
            i++;
            continue;
        }
        size_t k = i;
        while (k < i + 3 && is_phone_sep(p[k]))
            k++;
        if (k == i || !assistant__is_digit(p[k]))
            return i;
        i = k;
    }
}

/* A phone number from i: an optional '+', groups of digits (one in
 * parentheses allowed) separated by a space, '-', '.', or ") ", every
 * group after the first at least two digits, 7 to 15 digits in all, not
 * followed by a letter or digit; dates (2024-05-12, 12.05.2024) are not
 * phones. Its end, or 0; *skip receives how far a failed try may jump. */
static size_t scan_phone(const char *s, size_t i, char *digits, size_t *skip)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t q = i, end = 0;
    int nd = 0, ng = 0, glen[3] = {0}, marks = 0, last_open = 0, prev_nd = 0;
    size_t prev_end = 0;
    char seps[2] = {0};
    if (p[q] == '+')
        q++, marks = 1;
    *skip = q + 1;
    for (;;) {
        size_t r = q;
        int open = 0;
        if (p[r] == '(')
            r++, open = 1;
        size_t g0 = r;
        while (assistant__is_digit(p[r]))
            r++;
        size_t g = r - g0;
        if (g == 0)
            break;
        if (ng == 0)
            *skip = r;
        if (open) {
            if (p[r] != ')')
                break;
            r++;
            marks = 1;
        }
        if (ng > 0 && g < 2)
            break;
        if (nd + (int)g > 15) {
            *skip = run_end(p, r);
            return 0; /* longer than any phone number, and no part of it is one */
        }
        prev_nd = nd;
        prev_end = end;
        last_open = open;
        memcpy(digits + nd, s + g0, g);
        nd += (int)g;
        if (ng < 3)
            glen[ng] = (int)g;
        ng++;
        end = r;
        /* The separator: " ", "-", ".", " - ", or nothing after ')'. */
        size_t t = r;
        if (p[t] == ' ')
            t++;
        if (p[t] == '-' || p[t] == '.') {
            if (ng <= 2)
                seps[ng - 1] = (char)p[t];
            t++;
            if (p[t] == ' ')
                t++;
        }
        if (t == r && p[r - 1] != ')')
            break;
        if (!assistant__is_digit(p[t]) && p[t] != '(')
            break;
        q = t;
    }
    /* A number does not end in a parenthesised group: "555-1234 (12)" is a
     * phone and a count. */
    if (last_open) {
        nd = prev_nd;
        end = prev_end;
        ng--;
    }
    digits[nd] = '\0';
    if (nd < 7 || assistant__is_alnum(p[end]) || p[end] == '@')
        return 0;
    if (ng == 3 && !marks && seps[0] && seps[0] == seps[1] &&
        ((glen[0] == 4 && glen[1] == 2 && glen[2] == 2) || (glen[0] == 2 && glen[1] == 2 && glen[2] == 4))) {
        *skip = end;
        return 0;
    }
    return end;
}

/* A currency sign ending just before i ($ € £ ¥). */
static int after_currency(const unsigned char *p, size_t i)
{
    if (i >= 1 && p[i - 1] == '$')
        return 1;
    if (i >= 2 && p[i - 2] == 0xc2 && (p[i - 1] == 0xa3 || p[i - 1] == 0xa5))
        return 1;
    return i >= 3 && p[i - 3] == 0xe2 && p[i - 2] == 0x82 && p[i - 1] == 0xac;
}

/* Links (when urls), cards and phones in seg, a piece of text between
 * e-mail addresses after the character before it; offsets are reported in
 * text (seg + 1 is text + base). A number right after a letter, a digit or
 * ']' (what a redaction ends with) does not start: "[phone]" then stands
 * where the digit it replaced stood. */
static int scan_segment(const char *text, const char *seg, size_t base, int urls, assistant__item_cb cb, void *ud)
{
    const unsigned char *p = (const unsigned char *)seg;
    size_t i = 1;
    int rc;
    while (p[i]) {
        struct assistant__item it = {0};
        unsigned char prev = p[i - 1];
        size_t end, skip;
        if (urls && !assistant__is_alnum(prev) && prev != '.' && (end = scan_url(seg, i))) {
            it.kind = ASSISTANT__ITEM_URL;
        } else if ((assistant__is_digit(p[i]) || ((p[i] == '+' || p[i] == '(') && assistant__is_digit(p[i + 1]))) && !assistant__is_alnum(prev) &&
                   prev != ']' && prev != '#' && !after_currency(p, i)) {
            if (assistant__is_digit(p[i]) && (end = scan_card(seg, i, it.digits))) {
                it.kind = ASSISTANT__ITEM_CARD;
            } else if ((end = scan_phone(seg, i, it.digits, &skip))) {
                it.kind = ASSISTANT__ITEM_PHONE;
            } else {
                i = skip > i ? skip : i + 1;
                continue;
            }
        } else {
            i++;
            continue;
        }
        it.start = base + i - 1;
        it.end = base + end - 1;
        if ((rc = cb(ud, text, &it)))
            return rc;
        i = end;
    }
    return 0;
}

/* The next '@' at or after pos that starts something: an e-mail address
 * (*valid 1; its local part as long as the text allows, back to pos at
 * most) or, when the address is not valid, the host-like run after the
 * '@' when it holds a letter ("n@host.example-5309"), which is scanned for
 * nothing (*valid 0): what follows an '@' is part of an address, and
 * redacting digits in it could make it a valid one. *start receives its
 * start; returns its end, 0 when there is none. */
static size_t next_at(const char *text, size_t pos, size_t *start, int *valid)
{
    const unsigned char *p = (const unsigned char *)text;
    const char *at = strchr(text + pos, '@');
    while (at) {
        size_t a = (size_t)(at - text), ls = a, end;
        while (ls > pos && is_local_char(p[ls - 1]))
            ls--;
        while (ls < a && p[ls] == '.')
            ls++;
        if (ls < a && (end = scan_email(text, ls))) {
            *start = ls;
            *valid = 1;
            return end;
        }
        int letter = 0;
        for (end = a + 1; is_host_char(p[end]); end++)
            letter |= assistant__is_alpha(p[end]);
        if (letter) {
            *start = a;
            *valid = 0;
            return end;
        }
        at = strchr(at + 1, '@');
    }
    return 0;
}

/* Walk text for e-mail addresses, links (when urls), cards and phones,
 * without overlaps. E-mail addresses are found first, from their '@', and
 * the text between them is scanned apart, so what is found does not
 * depend on what was found before it (redacting twice changes nothing
 * more), and a link's digits are not a phone. */
int assistant__scan_items(const char *text, int urls, assistant__item_cb cb, void *ud)
{
    struct buf seg = {0};
    size_t pos = 0, len = strlen(text);
    int rc = 0;
    while (pos < len && !rc) {
        size_t es = len;
        int valid = 0;
        size_t ee = next_at(text, pos, &es, &valid);
        if (!ee)
            es = len;
        if (es > pos) {
            buf_reset(&seg);
            buf_putc(&seg, pos ? text[pos - 1] : ' ');
            buf_append(&seg, text + pos, es - pos);
            rc = scan_segment(text, seg.data, pos, urls, cb, ud);
        }
        if (!ee || rc)
            break;
        if (valid) {
            struct assistant__item it = {ASSISTANT__ITEM_EMAIL, es, ee, ""};
            rc = cb(ud, text, &it);
        }
        pos = ee;
    }
    buf_free(&seg);
    return rc;
}

/* ============================================================ redaction */

struct redactor {
    struct buf *out;
    size_t done;                  /* bytes of text already copied */
};

static int redact_item(void *ud, const char *text, const struct assistant__item *it)
{
    struct redactor *r = ud;
    buf_append(r->out, text + r->done, it->start - r->done);
    buf_puts(r->out, it->kind == ASSISTANT__ITEM_EMAIL ? "[email]" : it->kind == ASSISTANT__ITEM_CARD ? "[card]" : "[phone]");
    r->done = it->end;
    return 0;
}

void assistant_redact(const char *text, struct buf *out)
{
    struct redactor r = {out, 0};
    if (!text)
        return;
    assistant__scan_items(text, 0, redact_item, &r);
    buf_puts(out, text + r.done);
}

/* ================================================================ prices */

static size_t scan_number(const unsigned char *p, size_t i)
{
    while (assistant__is_digit(p[i]) || ((p[i] == ',' || p[i] == '.') && assistant__is_digit(p[i + 1])))
        i++;
    return i;
}

/* The amount of p[i..end) as "units.cc": the last ',' or '.' followed by
 * one or two digits is the decimal mark, the others group thousands. */
static void amount_norm(const unsigned char *p, size_t i, size_t end, char *out, size_t outlen)
{
    size_t mark = end;
    for (size_t k = end; k > i; k--)
        if (p[k - 1] == ',' || p[k - 1] == '.') {
            if (end - k <= 2)
                mark = k - 1;
            break;
        }
    size_t n = 0;
    size_t k = i;
    while (k < mark && (p[k] == '0' || p[k] == ',' || p[k] == '.'))
        k++;
    for (; k < mark && n + 4 < outlen; k++)
        if (assistant__is_digit(p[k]))
            out[n++] = (char)p[k];
    if (!n)
        out[n++] = '0';
    out[n++] = '.';
    out[n++] = mark < end && mark + 1 < end ? (char)p[mark + 1] : '0';
    out[n++] = mark < end && mark + 2 < end ? (char)p[mark + 2] : '0';
    out[n] = '\0';
}

/* The length of a currency sign at p, or 0. */
static size_t currency_sign(const unsigned char *p)
{
    if (p[0] == '$')
        return 1;
    if (p[0] == 0xc2 && (p[1] == 0xa3 || p[1] == 0xa5))
        return 2;
    if (p[0] == 0xe2 && p[1] == 0x82 && p[2] == 0xac)
        return 3;
    return 0;
}

/* A currency word (a whole word) at p: its length, or 0. */
static size_t currency_word(const unsigned char *p, int before_number)
{
    static const char *const codes[] = {"usd", "eur", "gbp", "mxn", "cad", "aud", "ars", "cop", "clp"};
    static const char *const words[] = {"dollars", "dollar", "bucks", "euros", "euro", "dolares", "dolar",
                                        "dólares", "dólar",  "pesos", "cents"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (assistant__ci_prefix((const char *)p, codes[i]) && !assistant__is_alnum(p[3]))
            return 3;
    for (size_t i = 0; !before_number && i < sizeof words / sizeof *words; i++) {
        size_t n = strlen(words[i]);
        if (assistant__ci_prefix((const char *)p, words[i]) && !assistant__is_alnum(p[n]))
            return n;
    }
    return 0;
}



/* Currency amounts: "$12", "€5,00", "12 USD", "USD 12", "5 euros", "10
 * dólares". */
int assistant__scan_prices(const char *text, assistant__price_cb cb, void *ud)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    int rc;
    char amount[40];
    while (p[i]) {
        unsigned char prev = i ? p[i - 1] : ' ';
        size_t n, j;
        if ((n = currency_sign(p + i)) || (!assistant__is_alnum(prev) && (n = currency_word(p + i, 1)))) {
            j = i + n;
            if (p[j] == ' ')
                j++;
            if (assistant__is_digit(p[j])) {
                size_t end = scan_number(p, j);
                amount_norm(p, j, end, amount, sizeof amount);
                if ((rc = cb(ud, amount)))
                    return rc;
                i = end;
                continue;
            }
            i += n;
            continue;
        }
        if (assistant__is_digit(p[i]) && !assistant__is_alnum(prev)) {
            size_t end = scan_number(p, i);
            j = end;
            if (p[j] == ' ')
                j++;
            if (!assistant__is_alnum(p[end]) && (currency_sign(p + j) || currency_word(p + j, 0))) {
                amount_norm(p, i, end, amount, sizeof amount);
                if ((rc = cb(ud, amount)))
                    return rc;
            }
            i = end;
            continue;
        }
        i++;
    }
    return 0;
}
