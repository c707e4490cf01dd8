/*
 * crypto: randomness, encodings, hashes, MACs, password hashing and the
 * key-id secret box every stored secret goes through.
 *
 * libsodium provides randomness, constant-time compare, argon2id and
 * XSalsa20-Poly1305; OpenSSL 3 provides SHA-256 and HMAC. Sealed strings
 * are "sb1:<key_id>:<base64(nonce || ciphertext)>" so a key ring can be
 * rotated: the key id says which key opens each value. Key material copied
 * onto the stack is wiped before returning. Identifiers (row ids, request
 * ids) draw from a per-thread buffer of kernel randomness refilled 4 KiB at
 * a time, so the hot path makes no system call per id; keys and tokens
 * always come straight from the kernel.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "core/core.h"

#define SEAL_PREFIX "sb1:"
#define KEY_ID_MAX 31

/* A caller passed too small a buffer: a bug. Writing an empty id or token
 * instead would be worse (an empty API key), so stop here. */
static void crypto_bug(const char *what)
{
    fprintf(stderr, "switchboard: BUG: %s: output buffer too small\n", what);
    abort();
}

/* A fork must not hand the parent's buffered bytes to the child: the
 * generation changes in the child and every buffer refills. */
static atomic_uint crypto_fast_gen;

static void crypto_fast_atfork_child(void)
{
    atomic_fetch_add(&crypto_fast_gen, 1);
}

static pthread_once_t crypto_fast_once = PTHREAD_ONCE_INIT;

static void crypto_fast_register(void)
{
    pthread_atfork(NULL, NULL, crypto_fast_atfork_child);
}

int crypto_init(void)
{
    pthread_once(&crypto_fast_once, crypto_fast_register);
    return sodium_init() < 0 ? ERR_INTERNAL : 0;
}

#define CRYPTO_FAST_BUF 4096

static _Thread_local struct {
    uint8_t b[CRYPTO_FAST_BUF];
    size_t pos;
    unsigned gen;
    int filled;
} crypto_fast;

void crypto_random_fast(void *out, size_t n)
{
    unsigned gen = atomic_load(&crypto_fast_gen);

    if (n > CRYPTO_FAST_BUF / 8) {
        randombytes_buf(out, n);
        return;
    }
    if (!crypto_fast.filled || crypto_fast.gen != gen || crypto_fast.pos + n > CRYPTO_FAST_BUF) {
        randombytes_buf(crypto_fast.b, CRYPTO_FAST_BUF);
        crypto_fast.pos = 0;
        crypto_fast.gen = gen;
        crypto_fast.filled = 1;
    }
    memcpy(out, crypto_fast.b + crypto_fast.pos, n);
    sodium_memzero(crypto_fast.b + crypto_fast.pos, n); /* each byte is handed out once */
    crypto_fast.pos += n;
}

void crypto_random(void *out, size_t n)
{
    randombytes_buf(out, n);
}

void crypto_random_id(char *out, size_t outlen, const char *prefix)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    uint8_t rnd[17]; /* 136 bits, of which the first 130 are used */
    size_t plen = strlen(prefix), pos;

    if (outlen < plen + 28)
        crypto_bug("crypto_random_id");
    memcpy(out, prefix, plen);
    pos = plen;
    out[pos++] = '_';
    crypto_random_fast(rnd, sizeof(rnd));
    for (int i = 0; i < 26; i++) {
        int bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)rnd[byte] << 8 | rnd[byte + 1]) >> (11 - shift);

        out[pos++] = alphabet[v & 31];
    }
    out[pos] = '\0';
    sodium_memzero(rnd, sizeof(rnd));
}

void crypto_time_id(char *out, size_t outlen, const char *prefix, int64_t unix_ms)
{
    /* The same 32 characters as crypto_random_id, here in ASCII order so
     * that the text order of the time part is the time order. */
    static const char sorted[] = "234567abcdefghijklmnopqrstuvwxyz";
    uint8_t rnd[10];
    uint64_t t = unix_ms > 0 ? (uint64_t)unix_ms : 0;
    size_t plen = strlen(prefix), pos;

    if (outlen < plen + 28)
        crypto_bug("crypto_time_id");
    memcpy(out, prefix, plen);
    pos = plen;
    out[pos++] = '_';
    for (int i = 9; i >= 0; i--) /* 50 bits of milliseconds, most significant first */
        out[pos + (size_t)(9 - i)] = sorted[(t >> (i * 5)) & 31];
    pos += 10;
    crypto_random_fast(rnd, sizeof(rnd));
    for (int i = 0; i < 16; i++) { /* 80 random bits */
        int bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = ((unsigned)rnd[byte] << 8 | (byte + 1 < 10 ? rnd[byte + 1] : 0)) >> (11 - shift);

        out[pos++] = sorted[v & 31];
    }
    out[pos] = '\0';
    sodium_memzero(rnd, sizeof(rnd));
}

void crypto_random_token(char *out, size_t outlen, size_t nbytes)
{
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    uint8_t *rnd;

    if (outlen < sodium_base64_ENCODED_LEN(nbytes, variant))
        crypto_bug("crypto_random_token");
    rnd = malloc(nbytes ? nbytes : 1);
    if (!rnd) {
        fputs("switchboard: out of memory\n", stderr);
        abort();
    }
    randombytes_buf(rnd, nbytes);
    sodium_bin2base64(out, outlen, rnd, nbytes, variant);
    sodium_memzero(rnd, nbytes);
    free(rnd);
}

void crypto_hex(char *out, const void *data, size_t n)
{
    sodium_bin2hex(out, n * 2 + 1, data, n);
}

int crypto_unhex(void *out, size_t outlen, const char *hex)
{
    size_t hlen = strlen(hex), binlen = 0;
    const char *end = NULL;

    if (hlen % 2 != 0 || hlen / 2 > outlen || hlen / 2 > INT32_MAX)
        return ERR_INVALID;
    if (sodium_hex2bin(out, outlen, hex, hlen, NULL, &binlen, &end) != 0 || end != hex + hlen)
        return ERR_INVALID;
    return (int)binlen;
}

size_t crypto_base64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void crypto_base64(char *out, size_t outlen, const void *data, size_t n)
{
    if (outlen < crypto_base64_len(n))
        crypto_bug("crypto_base64");
    sodium_bin2base64(out, outlen, data, n, sodium_base64_VARIANT_ORIGINAL);
}

int crypto_unbase64(void *out, size_t outlen, const char *b64, size_t b64len)
{
    /* Standard first, then URL-safe; with padding, then without. libsodium
     * checks that the whole input is consumed and the padding is exact. */
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
    };
    size_t binlen;

    if (outlen > INT32_MAX)
        outlen = INT32_MAX;
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        binlen = 0;
        if (sodium_base642bin(out, outlen, b64, b64len, NULL, &binlen, NULL, variants[i]) == 0)
            return (int)binlen;
    }
    return ERR_INVALID;
}

void crypto_sha256(uint8_t out[32], const void *data, size_t n)
{
    if (!EVP_Q_digest(NULL, "SHA256", NULL, n ? data : "", n, out, NULL)) {
        fputs("switchboard: SHA-256 unavailable\n", stderr);
        abort();
    }
}

void crypto_sha256_hex(char out[65], const void *data, size_t n)
{
    uint8_t d[32];

    crypto_sha256(d, data, n);
    crypto_hex(out, d, sizeof(d));
}

static void crypto_hmac(const EVP_MD *md, uint8_t *out, const void *key, size_t keylen, const void *data,
                        size_t n)
{
    static const uint8_t empty[1];
    unsigned int len = 0;

    if (keylen > INT32_MAX ||
        !HMAC(md, keylen ? key : empty, (int)keylen, n ? data : empty, n, out, &len)) {
        fputs("switchboard: HMAC failed\n", stderr);
        abort();
    }
}

void crypto_hmac_sha1(uint8_t out[20], const void *key, size_t keylen, const void *data, size_t n)
{
    crypto_hmac(EVP_sha1(), out, key, keylen, data, n);
}

void crypto_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *data, size_t n)
{
    crypto_hmac(EVP_sha256(), out, key, keylen, data, n);
}

int crypto_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    if (alen == 0)
        return 1;
    return sodium_memcmp(a, b, alen) == 0;
}

int crypto_password_hash(char out[CRYPTO_PWHASH_MAX], const char *password, struct err *e)
{
    if (!password)
        return err_set(e, ERR_INVALID, NULL, "password missing");
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return err_set(e, ERR_NOMEM, NULL, "password hashing ran out of memory");
    return 0;
}

int crypto_password_verify(const char *hash, const char *password)
{
    if (!hash || !password)
        return 0;
    if (strnlen(hash, CRYPTO_PWHASH_MAX) >= CRYPTO_PWHASH_MAX)
        return 0;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static int key_id_valid(const char *id, size_t len)
{
    if (len < 1 || len > KEY_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int crypto_seal(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *key_id, const void *plain,
                size_t n, struct err *e)
{
    uint8_t *box = NULL;
    size_t boxlen, b64len, idlen;
    char *s = NULL;
    int rc = 0;

    *out = NULL;
    idlen = key_id ? strlen(key_id) : 0;
    if (!key_id_valid(key_id ? key_id : "", idlen)) {
        rc = err_set(e, ERR_INVALID, "invalid_key_id", "key id must match [A-Za-z0-9_-]{1,31}");
        goto out;
    }
    if (n > (size_t)INT32_MAX) {
        rc = err_set(e, ERR_TOOLARGE, NULL, "secret too large to seal");
        goto out;
    }
    boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    box = malloc(boxlen);
    if (!box) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, n ? plain : (const void *)"", n, box, key);
    b64len = crypto_base64_len(boxlen);
    s = malloc(strlen(SEAL_PREFIX) + idlen + 1 + b64len);
    if (!s) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    memcpy(s, SEAL_PREFIX, strlen(SEAL_PREFIX));
    memcpy(s + strlen(SEAL_PREFIX), key_id, idlen);
    s[strlen(SEAL_PREFIX) + idlen] = ':';
    crypto_base64(s + strlen(SEAL_PREFIX) + idlen + 1, b64len, box, boxlen);
    *out = s;
    s = NULL;
out:
    free(s);
    free(box);
    return rc;
}

/* Split "sb1:<id>:<b64>"; *id and *b64 point into sealed. */
static int seal_split(const char *sealed, const char **id, size_t *idlen, const char **b64)
{
    const char *colon;

    if (!sealed || strncmp(sealed, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0)
        return ERR_INVALID;
    *id = sealed + strlen(SEAL_PREFIX);
    colon = strchr(*id, ':');
    if (!colon)
        return ERR_INVALID;
    *idlen = (size_t)(colon - *id);
    if (!key_id_valid(*id, *idlen))
        return ERR_INVALID;
    *b64 = colon + 1;
    return 0;
}

int crypto_sealed_key_id(char *out, size_t outlen, const char *sealed)
{
    const char *id, *b64;
    size_t idlen;

    if (seal_split(sealed, &id, &idlen, &b64) != 0 || idlen + 1 > outlen)
        return ERR_INVALID;
    memcpy(out, id, idlen);
    out[idlen] = '\0';
    return 0;
}

int crypto_open(char **out, size_t *outlen, const char *sealed, crypto_key_lookup_fn lookup, void *ud,
                struct err *e)
{
    char id[KEY_ID_MAX + 1];
    uint8_t key[CRYPTO_KEY_BYTES];
    const char *idp, *b64;
    size_t idlen, b64len, maxbox, plainlen;
    uint8_t *box = NULL;
    char *plain = NULL;
    int rc = 0, n;

    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (seal_split(sealed, &idp, &idlen, &b64) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_sealed", "sealed value is malformed");
        goto out;
    }
    memcpy(id, idp, idlen);
    id[idlen] = '\0';
    b64len = strlen(b64);
    maxbox = b64len / 4 * 3 + 3;
    box = malloc(maxbox);
    if (!box) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    n = crypto_unbase64(box, maxbox, b64, b64len);
    if (n < (int)(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)) {
        rc = err_set(e, ERR_INVALID, "invalid_sealed", "sealed value is malformed");
        goto out;
    }
    if (lookup(ud, id, key) != 0) {
        rc = err_set(e, ERR_NOTFOUND, "unknown_key", "unknown key id %s", id);
        goto out;
    }
    plainlen = (size_t)n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    plain = malloc(plainlen + 1);
    if (!plain) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
                                   (size_t)n - crypto_secretbox_NONCEBYTES, box, key) != 0) {
        rc = err_set(e, ERR_FORBIDDEN, "decrypt_failed", "sealed value did not decrypt with key %s", id);
        goto out;
    }
    plain[plainlen] = '\0';
    *out = plain;
    plain = NULL;
    if (outlen)
        *outlen = plainlen;
out:
    sodium_memzero(key, sizeof(key));
    free(plain);
    free(box);
    return rc;
}
