/*
 * fuzz_webchat: the website chat's checks of untrusted text, the first byte
 * choosing what the rest is. Invariants: nothing crashes or reads past the
 * input; accepted message text and names are well-formed UTF-8 (checked
 * here by an independent decoder) without the refused control characters;
 * an accepted allowed_origins never contains "*" as an entry, and every one
 * of its entries (scheme, host, no path) is then allowed as an Origin while
 * the list itself (when it has a comma) is not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when s is well-formed UTF-8 (RFC 3629), decoding code point by code point. */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        uint32_t cp;
        int n;
        if (*s < 0x80) {
            s++;
            continue;
        } else if ((*s & 0xe0) == 0xc0) {
            cp = *s & 0x1f;
            n = 1;
        } else if ((*s & 0xf0) == 0xe0) {
            cp = *s & 0x0f;
            n = 2;
        } else if ((*s & 0xf8) == 0xf0) {
            cp = *s & 0x07;
            n = 3;
        } else {
            return 0;
        }
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

static void check_text(const char *s, int multiline)
{
    if (!messaging__webchat_text_ok(s, multiline))
        return;
    if (!utf8_ok((const unsigned char *)s))
        abort();
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == 0x7f || (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))))
            abort();
    }
}

static void check_origins(char *s)
{
    struct channel_kv kv = {"allowed_origins", s};
    char why[256];
    if (messaging__webchat_settings_check(&kv, 1, why, sizeof why) != 0) {
        if (!why[0])
            abort(); /* a refusal always says why */
        return;
    }
    /* Accepted: each entry matches itself, and only itself. */
    char *copy = strdup(s);
    if (!copy)
        return;
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        size_t n = strlen(tok);
        while (n && tok[n - 1] == ' ')
            tok[--n] = '\0';
        if (!n)
            continue;
        int slashes = 0;
        for (const char *p = tok; *p; p++)
            slashes += *p == '/';
        if (strcmp(tok, "*") == 0 || slashes != 2)
            abort(); /* "*" refused; the scheme's "//" and no path */
        if (!messaging__webchat_origin_in(s, tok))
            abort();
    }
    free(copy);
    if (strchr(s, ',') && messaging__webchat_origin_in(s, s))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    if (size < 1 || size > 4096)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: check_text(s, 1); break;
    case 1: check_text(s, 0); break;
    case 2: check_origins(s); break;
    default: (void)messaging__webchat_origin_in("https://a.example, http://localhost:8080", s); break;
    }
    free(s);
    return 0;
}
