/*
 * compliance_unsub: signed unsubscribe links, no database row per link.
 *
 * token = base64url(payload) "." base64url(HMAC-SHA256(key, payload)), the
 * payload "1\n<key id>\n<tenant>\n<channel>\n<address>\n<issued ms>" and
 * the key derived from the named key-ring key for the purpose
 * "unsubscribe". Whoever holds a link may unsubscribe that one address
 * from that one tenant's channel, nothing else; links do not expire (a
 * recipient may click a years-old e-mail) and verification touches no
 * storage. Everything read from a token is checked before use: this parser
 * takes input from anyone on the internet (fuzz/fuzz_unsubscribe.c).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "compliance/compliance.h"

#define TOKEN_MAX 1400
#define PAYLOAD_MAX 700
#define PURPOSE "unsubscribe"

/* Standard base64 to unpadded base64url, in place. */
static void to_base64url(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '=')
            continue;
        *w++ = *r == '+' ? '-' : *r == '/' ? '_' : *r;
    }
    *w = '\0';
}

static void put_b64url(struct buf *b, const void *data, size_t n)
{
    size_t len = crypto_base64_len(n);
    char *tmp = malloc(len);
    if (!tmp)
        abort(); /* like the buffers: a few bytes */
    crypto_base64(tmp, len, data, n);
    to_base64url(tmp);
    buf_puts(b, tmp);
    free(tmp);
}

/* A field of the payload: printable, no newline. */
static int field_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int compliance_unsubscribe_token(struct ops_keyring *kr, const char *tenant_id, const char *channel,
                                 const char *address, int64_t now, struct buf *out, struct err *e)
{
    uint8_t key[CRYPTO_KEY_BYTES], mac[32];
    char kid[32];
    struct buf p = {0};
    int rc;

    if (!field_ok(tenant_id, CORE_ID_MAX) || !compliance_channel_valid(channel, 1) ||
        !field_ok(address, STORE_ADDRESS_MAX))
        return err_set(e, ERR_INVALID, "invalid_token", "an unsubscribe link needs a tenant, channel and address");
    if ((rc = ops_keyring_derive(kr, NULL, PURPOSE, key, kid, e)))
        return rc;
    buf_printf(&p, "1\n%s\n%s\n%s\n%s\n%lld", kid, tenant_id, channel, address, (long long)now);
    crypto_hmac_sha256(mac, key, sizeof(key), p.data, p.len);
    put_b64url(out, p.data, p.len);
    buf_putc(out, '.');
    put_b64url(out, mac, sizeof(mac));
    sodium_memzero(key, sizeof(key));
    buf_free(&p);
    return rc;
}

int compliance_unsubscribe_url(struct ops_keyring *kr, const char *public_url, const char *tenant_id,
                               const char *channel, const char *address, int64_t now, struct buf *out,
                               struct err *e)
{
    size_t n = public_url ? strlen(public_url) : 0;

    while (n > 0 && public_url[n - 1] == '/')
        n--;
    buf_append(out, public_url ? public_url : "", n);
    buf_puts(out, "/u/");
    return compliance_unsubscribe_token(kr, tenant_id, channel, address, now, out, e);
}

static int bad(struct err *e)
{
    return err_set(e, ERR_INVALID, "invalid_token", "this unsubscribe link is not valid (it may be incomplete: "
                                                    "copy the whole link from the message)");
}

/* The next newline-terminated field of the payload into dst. */
static const char *next_field(const char *p, const char *end, char *dst, size_t dstlen, int last)
{
    const char *nl = last ? end : memchr(p, '\n', (size_t)(end - p));
    size_t n;
    if (!nl)
        return NULL;
    n = (size_t)(nl - p);
    if (n == 0 || n >= dstlen || memchr(p, '\0', n))
        return NULL;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return last ? end : nl + 1;
}

int compliance_unsubscribe_verify(struct ops_keyring *kr, const char *token, struct compliance_unsubscribe *out,
                                  struct err *e)
{
    uint8_t payload[PAYLOAD_MAX], mac[48], want[32], key[CRYPTO_KEY_BYTES];
    char kid[32], ver[4], issued[24];
    const char *dot, *p, *end;
    size_t tlen;
    int n, m;
    struct err ke = {0};

    memset(out, 0, sizeof(*out));
    tlen = token ? strlen(token) : 0;
    if (tlen == 0 || tlen > TOKEN_MAX || !(dot = strchr(token, '.')) || strchr(dot + 1, '.'))
        return bad(e);
    for (const char *c = token; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
              *c == '_' || *c == '.'))
            return bad(e);
    n = crypto_unbase64(payload, sizeof(payload) - 1, token, (size_t)(dot - token));
    m = crypto_unbase64(mac, sizeof(mac), dot + 1, strlen(dot + 1));
    if (n <= 0 || m != 32)
        return bad(e);
    payload[n] = '\0';
    p = (const char *)payload;
    end = p + n;
    if (!(p = next_field(p, end, ver, sizeof(ver), 0)) || strcmp(ver, "1") != 0 ||
        !(p = next_field(p, end, kid, sizeof(kid), 0)) || !(p = next_field(p, end, out->tenant_id,
                                                                             sizeof(out->tenant_id), 0)) ||
        !(p = next_field(p, end, out->channel, sizeof(out->channel), 0)) ||
        !(p = next_field(p, end, out->address, sizeof(out->address), 0)) ||
        !next_field(p, end, issued, sizeof(issued), 1))
        goto invalid;
    if (ops_keyring_derive(kr, kid, PURPOSE, key, NULL, &ke) != 0)
        goto invalid;
    crypto_hmac_sha256(want, key, sizeof(key), payload, (size_t)n);
    sodium_memzero(key, sizeof(key));
    if (!crypto_equal(want, sizeof(want), mac, 32))
        goto invalid;
    /* Signed by us: still, never trust a field blindly. */
    if (!field_ok(out->tenant_id, sizeof(out->tenant_id)) || !compliance_channel_valid(out->channel, 1) ||
        !field_ok(out->address, sizeof(out->address)))
        goto invalid;
    {
        char *endp = NULL;
        long long v = strtoll(issued, &endp, 10);
        if (!endp || *endp || v < 0)
            goto invalid;
        out->issued_at = v;
    }
    return 0;
invalid:
    memset(out, 0, sizeof(*out));
    return bad(e);
}
