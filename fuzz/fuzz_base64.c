/*
 * fuzz_base64: crypto_unbase64 on arbitrary bytes (length-delimited, copied to
 * an exact-size buffer) and crypto_sealed_key_id on the same bytes as a
 * NUL-terminated string. Invariants: decoding never writes past outlen and
 * returns either ERR_INVALID or a length <= outlen; a successful decode
 * re-encodes and decodes to the same bytes; a key id, when found, fits in out
 * and is NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *in = malloc(size ? size : 1);
    char *str = malloc(size + 1);
    size_t outlen = size; /* decoded data is never longer than its encoding */
    uint8_t *out = malloc(outlen ? outlen : 1);
    if (!in || !str || !out)
        goto out;
    if (size)
        memcpy(in, data, size);
    memcpy(str, data, size);
    str[size] = '\0';

    int n = crypto_unbase64(out, outlen, in, size);
    if (n != ERR_INVALID && (n < 0 || (size_t)n > outlen))
        abort();
    if (n > 0) {
        size_t elen = crypto_base64_len((size_t)n);
        char *enc = malloc(elen);
        uint8_t *back = malloc((size_t)n);
        if (enc && back) {
            crypto_base64(enc, elen, out, (size_t)n);
            int m = crypto_unbase64(back, (size_t)n, enc, strlen(enc));
            if (m != n || memcmp(back, out, (size_t)n) != 0)
                abort();
        }
        free(enc);
        free(back);
    }
    /* A too-small output buffer must be refused, never overrun. */
    if (n > 1) {
        uint8_t *small = malloc((size_t)n - 1);
        if (small) {
            int m = crypto_unbase64(small, (size_t)n - 1, in, size);
            if (m >= 0 && (size_t)m > (size_t)n - 1)
                abort();
            free(small);
        }
    }

    char kid[16];
    if (crypto_sealed_key_id(kid, sizeof kid, str) == 0) {
        if (memchr(kid, '\0', sizeof kid) == NULL)
            abort();
    }
    char tiny[2];
    if (crypto_sealed_key_id(tiny, sizeof tiny, str) == 0) {
        if (tiny[1] != '\0' && tiny[0] != '\0')
            abort();
    }
out:
    free(in);
    free(str);
    free(out);
    return 0;
}
