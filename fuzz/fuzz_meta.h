/*
 * fuzz_meta.h: the part the Meta webhook fuzzers (WhatsApp, Instagram)
 * share: the input as an exact-size heap copy (so ASan catches any read past
 * len) made into a signed webhook, and the signature check that must pass
 * with the correct HMAC and refuse a wrong one. Header-only, included once
 * per fuzzer.
 */
#ifndef SB_FUZZ_META_H
#define SB_FUZZ_META_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"

struct fuzz_meta {
    char *copy;
    char sig[80];
    struct channel_kv hdr[1];
    struct channel_kv cred[1];
    struct channel_creds creds;
    struct channel_webhook wh;
};

/* Set f up for data as the raw body of a POST to url, signed with the
 * account's app secret, and check verify (abort on a wrong answer).
 * Returns 0, or -1 when out of memory (skip the input). */
static int fuzz_meta_begin(struct fuzz_meta *f, const struct channel_adapter *ad, const uint8_t *data, size_t size,
                           const char *url)
{
    uint8_t mac[32];
    char hex[65];
    struct err e = {0};

    memset(f, 0, sizeof *f);
    f->copy = malloc(size ? size : 1);
    if (!f->copy)
        return -1;
    if (size)
        memcpy(f->copy, data, size);
    crypto_hmac_sha256(mac, "s3cret", 6, f->copy, size);
    crypto_hex(hex, mac, sizeof mac);
    snprintf(f->sig, sizeof f->sig, "sha256=%s", hex);
    f->hdr[0] = (struct channel_kv){"x-hub-signature-256", f->sig};
    f->cred[0] = (struct channel_kv){"app_secret", "s3cret"};
    f->creds = (struct channel_creds){f->cred, 1};
    f->wh = (struct channel_webhook){.method = "POST", .url = url, .body = f->copy, .body_len = size,
                                     .headers = f->hdr, .nheaders = 1};
    if (ad->verify(&f->wh, &f->creds, &e) != 0)
        abort();
    f->sig[7] = f->sig[7] == '0' ? '1' : '0';
    if (ad->verify(&f->wh, &f->creds, &e) != ERR_FORBIDDEN)
        abort();
    return 0;
}

static void fuzz_meta_end(struct fuzz_meta *f)
{
    free(f->copy);
}

#endif
