/*
 * crm addresses: channel addresses to their normalised form, the key of
 * contact_identities. Phones and WhatsApp ids become E.164 ("+" and 7 to 15
 * digits, the first 1-9), so a contact's SMS number and WhatsApp number are
 * the same string; e-mail addresses are trimmed and lower-cased.
 *
 * Pure functions: no allocation, no database, no locale (ASCII only).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "crm/crm.h"

#define E164_MAX_DIGITS 15
#define E164_MIN_DIGITS 7
#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64

static int is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int bad(struct err *e, const char *why)
{
    return err_set(e, ERR_INVALID, "invalid_address", "%s", why);
}

/* bare_ok: digits without "+" or "00" already carry the country code (wa_id). */
static int norm_phone(const char *raw, int bare_ok, char *out, size_t outlen, struct err *e)
{
    char digits[E164_MAX_DIGITS + 2]; /* room for a 00 prefix */
    size_t n = 0, total = 0, skip = 0;
    int plus = 0;

    for (const char *s = raw; *s; s++) {
        char c = *s;
        /* "+44 (0)20 …": the national trunk prefix written next to the country code. */
        if (c == '(' && s[1] == '0' && s[2] == ')' && plus && total > 0) {
            s += 2;
            continue;
        }
        if (is_sep(c) || c == '\r' || c == '\n')
            continue;
        if ((unsigned char)c == 0xC2 && (unsigned char)s[1] == 0xA0) { /* U+00A0, pasted from web pages */
            s++;
            continue;
        }
        if (c == '+') {
            if (plus || total > 0)
                return bad(e, "a phone number has one \"+\", in front");
            plus = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return bad(e, "a phone number has only digits, spaces, dashes, dots and parentheses");
        if (total < sizeof(digits))
            digits[total] = c;
        total++;
    }
    if (total == 0)
        return bad(e, "the phone number is empty");
    if (!plus) {
        if (total >= 2 && digits[0] == '0' && digits[1] == '0')
            skip = 2; /* 00: the international call prefix */
        else if (!bare_ok)
            return bad(e, "the phone number needs its +country code (E.164, e.g. +14155550123)");
    }
    n = total - skip;
    if (n > E164_MAX_DIGITS)
        return bad(e, "an E.164 number has at most 15 digits");
    if (n < E164_MIN_DIGITS)
        return bad(e, "the phone number is too short for E.164");
    if (digits[skip] == '0')
        return bad(e, "a country code never starts with 0");
    if (outlen < n + 2)
        return bad(e, "no room for the normalised address");
    out[0] = '+';
    memcpy(out + 1, digits + skip, n);
    out[n + 1] = '\0';
    return 0;
}

static int email_char_ok(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f)
        return 0;
    return strchr("<>()[],;:\\\"", c) == NULL;
}

static int norm_email(const char *raw, char *out, size_t outlen, struct err *e)
{
    const char *start = raw, *end = raw + strlen(raw), *at = NULL;
    size_t n, local;

    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    n = (size_t)(end - start);
    if (n == 0)
        return bad(e, "the e-mail address is empty");
    if (n > EMAIL_MAX)
        return bad(e, "an e-mail address has at most 254 characters");
    for (const char *s = start; s < end; s++) {
        if (*s == '@') {
            if (at)
                return bad(e, "an e-mail address has one \"@\"");
            at = s;
        } else if (!email_char_ok((unsigned char)*s)) {
            return bad(e, "the e-mail address has a character it cannot have");
        }
    }
    if (!at)
        return bad(e, "an e-mail address needs an \"@\"");
    local = (size_t)(at - start);
    if (local == 0 || local > EMAIL_LOCAL_MAX)
        return bad(e, "the part before \"@\" must have 1 to 64 characters");
    if (start[0] == '.' || at[-1] == '.')
        return bad(e, "the part before \"@\" cannot start or end with a dot");
    const char *dom = at + 1;
    size_t dlen = (size_t)(end - dom);
    if (dlen == 0 || !memchr(dom, '.', dlen))
        return bad(e, "the e-mail domain needs a dot (example.com)");
    if (dom[0] == '.' || dom[0] == '-' || end[-1] == '.' || end[-1] == '-')
        return bad(e, "the e-mail domain cannot start or end with a dot or dash");
    for (const char *s = start; s + 1 < end; s++)
        if (s[0] == '.' && s[1] == '.')
            return bad(e, "an e-mail address cannot have two dots in a row");
    if (outlen < n + 1)
        return bad(e, "no room for the normalised address");
    for (size_t i = 0; i < n; i++) {
        char c = start[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    return 0;
}

/* Telegram chat ids (a number, negative for groups), Instagram-scoped user
 * ids and website chat session ids are opaque provider ids: kept as given
 * (surrounding space trimmed), 1 to 128 of [A-Za-z0-9_-]. */
static int norm_provider_id(const char *kind, const char *raw, char *out, size_t outlen, struct err *e)
{
    size_t n;

    while (is_space(*raw))
        raw++;
    n = strlen(raw);
    while (n > 0 && is_space(raw[n - 1]))
        n--;
    if (n == 0 || n > 128 || n >= outlen)
        return err_set(e, ERR_INVALID, "invalid_address", "a %s address is an id of 1 to 128 characters", kind);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (!isalnum(c) && c != '_' && c != '-')
            return err_set(e, ERR_INVALID, "invalid_address", "a %s address is an id of letters, digits, '_' and '-'",
                           kind);
    }
    memcpy(out, raw, n);
    out[n] = '\0';
    return 0;
}

int crm_normalize_address(const char *kind, const char *raw, char *out, size_t outlen, struct err *e)
{
    if (outlen > 0)
        out[0] = '\0';
    if (!raw)
        raw = "";
    if (!kind)
        kind = "";
    if (strcmp(kind, "phone") == 0)
        return norm_phone(raw, 0, out, outlen, e);
    if (strcmp(kind, "whatsapp") == 0) {
        while (is_space(*raw))
            raw++;
        if (strncasecmp(raw, "whatsapp:", 9) == 0)
            raw += 9;
        return norm_phone(raw, 1, out, outlen, e);
    }
    if (strcmp(kind, "email") == 0)
        return norm_email(raw, out, outlen, e);
    if (strcmp(kind, "telegram") == 0 || strcmp(kind, "instagram") == 0 || strcmp(kind, "webchat") == 0)
        return norm_provider_id(kind, raw, out, outlen, e);
    return err_set(e, ERR_INVALID, "invalid_kind",
                   "address kind must be phone, whatsapp, email, telegram, instagram or webchat");
}

const char *crm_identity_kind(const char *channel)
{
    if (!channel)
        return NULL;
    if (strcmp(channel, "sms") == 0 || strcmp(channel, "voice") == 0)
        return "phone";
    if (strcmp(channel, "whatsapp") == 0)
        return "whatsapp";
    if (strcmp(channel, "email") == 0)
        return "email";
    if (strcmp(channel, "telegram") == 0 || strcmp(channel, "instagram") == 0 || strcmp(channel, "webchat") == 0)
        return channel; /* the identity kind is the channel's name */
    return NULL;
}
