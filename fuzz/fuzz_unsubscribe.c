/*
 * fuzz_unsubscribe: the unsubscribe token parser (compliance_unsub.c) and
 * the suppression import line parser (compliance_import.c) on arbitrary
 * text, both reached by anyone: a link's token from the internet, an
 * import file from a tenant's spreadsheet. The key ring is replaced by a
 * fixed key (the ops_keyring_derive below), so accepted tokens are the ones
 * this program signed. Invariants: no crash or overread; arbitrary text is
 * never accepted as a token unless it is one we signed (round trip: a token
 * signed from the input's fields verifies to the same fields); an accepted
 * import line has a non-empty address and a valid channel.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The one key this program knows: id "k1". */
int ops_keyring_derive(struct ops_keyring *kr, const char *key_id, const char *purpose, uint8_t out[CRYPTO_KEY_BYTES],
                       char out_id[32], struct err *e)
{
    (void)kr;
    (void)purpose;
    if (key_id && strcmp(key_id, "k1") != 0)
        return err_set(e, ERR_NOTFOUND, NULL, "no such key");
    memset(out, 0x5a, CRYPTO_KEY_BYTES);
    if (out_id) {
        memset(out_id, 0, 32);
        memcpy(out_id, "k1", 2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct compliance_unsubscribe u;
    char address[STORE_ADDRESS_MAX], channel[16], reason[256];
    char *s;

    if (size < 1 || size > 4096)
        return 0;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0:
        /* Unsigned text is never a token (a forged MAC is 1 in 2^256). */
        if (compliance_unsubscribe_verify(NULL, s, &u, NULL) == 0)
            abort();
        break;
    case 1: {
        /* Sign the input as an address, then verify: the same fields back. */
        struct buf b = {0};
        if (compliance_unsubscribe_token(NULL, "ten_fuzz", "email", s, 42, &b, NULL) == 0) {
            if (compliance_unsubscribe_verify(NULL, b.data, &u, NULL) != 0 || strcmp(u.address, s) != 0 ||
                strcmp(u.tenant_id, "ten_fuzz") != 0 || strcmp(u.channel, "email") != 0 || u.issued_at != 42)
                abort();
        }
        buf_free(&b);
        break;
    }
    default: {
        int rc = compliance_import_parse(s, size - 1, data[0] & 4, address, channel, reason, NULL);
        if (rc == 0 && (!address[0] || !compliance_channel_valid(channel, 1)))
            abort();
        if (rc == 0 || rc == 1)
            (void)compliance_optout_phrase(s);
        break;
    }
    }
    free(s);
    return 0;
}
