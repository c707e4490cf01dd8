/*
 * messaging_webchat_check: the website chat's pure checks of untrusted
 * text (no database, no state), so a fuzzer drives them directly
 * (fuzz/fuzz_webchat.c): the account's allowed_origins and other settings,
 * matching a request's Origin against them, and the visitor's text and
 * name (well-formed UTF-8: no overlong forms, surrogates or code points
 * past U+10FFFF; no control characters but tab, CR and LF in messages).
 */
#include <stdio.h>
#include <string.h>

#include "messaging/messaging.h"

#define WEBCHAT_ORIGINS_MAX 32

/* scheme://host[:port], no path, query, user info or trailing slash. */
static int valid_origin(const char *s, size_t n)
{
    size_t i, host;
    if (n > 7 && strncmp(s, "http://", 7) == 0)
        host = 7;
    else if (n > 8 && strncmp(s, "https://", 8) == 0)
        host = 8;
    else
        return 0;
    for (i = host; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' || c == '[' ||
              c == ']'))
            return 0; /* upper case too: browsers send origins lower-cased */
    }
    return i > host && s[host] != ':' && s[n - 1] != ':' && s[n - 1] != '.';
}

static int check_origins(const char *v, char *why, size_t whylen)
{
    int count = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *te = end;
        while (te > p && te[-1] == ' ')
            te--;
        if (te - p == 1 && *p == '*') {
            snprintf(why, whylen, "allowed_origins must list exact origins: \"*\" is not accepted");
            return -1;
        }
        if (!valid_origin(p, (size_t)(te - p))) {
            snprintf(why, whylen,
                     "allowed_origins: each entry must be an origin like https://shop.example.com (scheme, "
                     "lower-case host, optional port; no path)");
            return -1;
        }
        if (++count > WEBCHAT_ORIGINS_MAX) {
            snprintf(why, whylen, "allowed_origins lists more than %d origins", WEBCHAT_ORIGINS_MAX);
            return -1;
        }
        p = end;
    }
    if (!count) {
        snprintf(why, whylen, "allowed_origins lists no origin");
        return -1;
    }
    return 0;
}

int messaging__webchat_settings_check(const struct channel_kv *kv, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = kv[i].name, *v = kv[i].value;
        if (strcmp(name, "allowed_origins") == 0) {
            if (check_origins(v, why, whylen))
                return -1;
        } else if (strcmp(name, "color") == 0) {
            int ok = strlen(v) == 7 && v[0] == '#';
            for (int j = 1; ok && j < 7; j++)
                ok = (v[j] >= '0' && v[j] <= '9') || (v[j] >= 'a' && v[j] <= 'f') || (v[j] >= 'A' && v[j] <= 'F');
            if (!ok) {
                snprintf(why, whylen, "color must be #rrggbb");
                return -1;
            }
        } else if (strcmp(name, "title") == 0 && strlen(v) > 100) {
            snprintf(why, whylen, "title is longer than 100 bytes");
            return -1;
        } else if (strcmp(name, "greeting") == 0 && strlen(v) > 500) {
            snprintf(why, whylen, "greeting is longer than 500 bytes");
            return -1;
        }
    }
    return 0;
}

int messaging__webchat_origin_in(const char *list, const char *origin)
{
    size_t ol;
    if (!list || !origin || !*origin)
        return 0;
    ol = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *te = end;
        while (te > p && te[-1] == ' ')
            te--;
        if ((size_t)(te - p) == ol && memcmp(p, origin, ol) == 0)
            return 1;
        p = end;
    }
    return 0;
}

int messaging__webchat_text_ok(const char *s, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        int n;
        if (c < 0x80) {
            if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) || c == 0x7f)
                return 0;
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3;
        else
            return 0;
        for (int i = 1; i <= n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
            (c == 0xf4 && p[1] > 0x8f))
            return 0; /* overlong, surrogate, beyond U+10FFFF */
        p += n + 1;
    }
    return 1;
}
