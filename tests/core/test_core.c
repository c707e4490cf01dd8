/*
 * Tests of the core module through core.h only: errors, buffers, arena,
 * JSON, time, crypto (against RFC test vectors), configuration (environment,
 * .env, validation, redaction, production checks, docs) and JSON logging.
 * Config tests set and unset SB_ variables in this process's environment,
 * so they first clear every schema variable the caller may have set.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "test.h"

/* ------------------------------------------------------------ helpers */

static void hex_of(char *out, const uint8_t *d, size_t n)
{
    crypto_hex(out, d, n);
}

static void clear_sb_env(void)
{
    for (const struct config_def *d = config_schema; d->name; d++)
        unsetenv(d->name);
}

/* Write text to a fresh temporary file; returns its malloc'd path. */
static char *write_temp(const char *text)
{
    char tmpl[] = "/tmp/sb_test_core_XXXXXX";
    int fd = mkstemp(tmpl);
    size_t len = strlen(text);

    if (fd < 0)
        return NULL;
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    close(fd);
    return strdup(tmpl);
}

static int load_env_text(struct config *c, const char *text, struct err *e)
{
    char *path = write_temp(text);
    int rc;

    if (!path)
        return ERR_IO;
    rc = config_load(c, path, e);
    unlink(path);
    free(path);
    return rc;
}

/* --------------------------------------------------------------- err */

static void test_core__err_slugs(void)
{
    CHECK_EQ_STR(err_code_slug(ERR_INVALID), "invalid_request");
    CHECK_EQ_STR(err_code_slug(ERR_NOTFOUND), "not_found");
    CHECK_EQ_STR(err_code_slug(ERR_CONFLICT), "conflict");
    CHECK_EQ_STR(err_code_slug(ERR_UPSTREAM), "upstream_error");
    CHECK_EQ_STR(err_code_slug(ERR_TIMEOUT), "timeout");
    CHECK_EQ_STR(err_code_slug(ERR_UNAUTHORIZED), "unauthorized");
    CHECK_EQ_STR(err_code_slug(ERR_FORBIDDEN), "forbidden");
    CHECK_EQ_STR(err_code_slug(ERR_TOOLARGE), "payload_too_large");
    CHECK_EQ_STR(err_code_slug(ERR_RATELIMIT), "rate_limited");
    CHECK_EQ_STR(err_code_slug(ERR_IO), "io_error");
    CHECK_EQ_STR(err_code_slug(ERR_INTERNAL), "internal_error");
    CHECK_EQ_STR(err_code_slug(ERR_NOMEM), "out_of_memory");
}

static void test_core__err_set_and_clear(void)
{
    struct err e;

    err_clear(&e);
    CHECK_EQ_INT(e.code, ERR_OK);
    CHECK_EQ_INT(err_set(&e, ERR_NOTFOUND, NULL, "user %d missing\nsecond line", 7), ERR_NOTFOUND);
    CHECK_EQ_STR(err_slug(&e), "not_found");
    CHECK_EQ_STR(e.msg, "user 7 missing second line");
    CHECK_EQ_INT(err_set(&e, ERR_INVALID, "invalid_json", "x"), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");
    err_clear(&e);
    CHECK_EQ_INT(e.code, 0);
    CHECK_EQ_STR(e.msg, "");
    CHECK_EQ_INT(err_set(NULL, ERR_IO, NULL, "ignored"), ERR_IO);
    /* Wrapping an earlier error in place keeps its text. */
    err_set(&e, ERR_IO, "db_down", "connection refused");
    err_set(&e, e.code, e.slug, "open store: %s", e.msg);
    CHECK_EQ_STR(e.msg, "open store: connection refused");
    CHECK_EQ_STR(err_slug(&e), "db_down");
}

/* --------------------------------------------------------------- buf */

static void test_core__buf_append_and_grow(void)
{
    struct buf b = {0};
    char *s;

    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK_EQ_INT(strlen(b.data), b.len);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    CHECK(b.cap >= b.len + 1);
    buf_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_STR(b.data, "");
    buf_puts(&b, "ab");
    buf_putc(&b, 'c');
    buf_append(&b, "d\0e", 3);
    CHECK_EQ_INT(b.len, 6);
    CHECK(memcmp(b.data, "abcd\0e", 7) == 0);
    buf_free(&b);
    s = buf_steal(&b); /* empty buffer still yields a string */
    CHECK(s != NULL);
    CHECK_EQ_STR(s, "");
    free(s);
    CHECK(b.data == NULL);
}

static void test_core__buf_json_escaping(void)
{
    struct buf b = {0};
    cJSON *v = NULL;
    struct err e;

    buf_json_str(&b, "a\"b\\c\n\t\x01\x1f\xc3\xa9/<");
    CHECK_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\xc3\xa9/<\"");
    /* And it parses back to the original. */
    CHECK_EQ_INT(json_parse(&v, b.data, b.len, &e), 0);
    CHECK(cJSON_IsString(v));
    if (cJSON_IsString(v))
        CHECK_EQ_STR(v->valuestring, "a\"b\\c\n\t\x01\x1f\xc3\xa9/<");
    cJSON_Delete(v);
    buf_reset(&b);
    buf_json_str(&b, NULL);
    CHECK_EQ_STR(b.data, "null");
    buf_free(&b);
}

static void test_core__buf_json_invalid_utf8_replaced(void)
{
    struct buf b = {0};

    /* Valid 2-, 3- and 4-byte sequences pass through unchanged. */
    buf_json_str(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    CHECK_EQ_STR(b.data, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    /* Lone continuation, truncated lead, overlong, surrogate, > U+10FFFF. */
    buf_reset(&b);
    buf_json_str(&b, "a\x80" "b\xc3");
    CHECK_EQ_STR(b.data, "\"a\\ufffdb\\ufffd\"");
    buf_reset(&b);
    buf_json_str(&b, "\xc0\xaf");
    CHECK_EQ_STR(b.data, "\"\\ufffd\\ufffd\"");
    buf_reset(&b);
    buf_json_str(&b, "\xed\xa0\x80");
    CHECK_EQ_STR(b.data, "\"\\ufffd\\ufffd\\ufffd\"");
    buf_reset(&b);
    buf_json_str(&b, "\xf4\x90\x80\x80");
    CHECK_EQ_STR(b.data, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    buf_free(&b);
}

/* ------------------------------------------------------------- arena */

static void test_core__arena_alignment_and_zeroing(void)
{
    struct arena *a = arena_new();
    static const size_t sizes[] = {1, 3, 16, 17, 100, 1000, 5000, 70000, 7};

    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            unsigned char *p = arena_alloc(a, sizes[i]);
            size_t z = 0;

            CHECK_EQ_INT((uintptr_t)p % 16, 0);
            for (size_t k = 0; k < sizes[i]; k++)
                z += p[k];
            CHECK_EQ_INT(z, 0);
            memset(p, 0xab, sizes[i]); /* ASan flags any overlap or overrun */
        }
    }
    arena_free(a);
    arena_free(NULL);
}

static void test_core__arena_strings(void)
{
    struct arena *a = arena_new();
    char *s = arena_strdup(a, "hello");
    char *t = arena_strndup(a, "hello world", 5);
    char *u = arena_printf(a, "%s-%d", "id", 42);
    char big[10000];

    CHECK_EQ_STR(s, "hello");
    CHECK_EQ_STR(t, "hello");
    CHECK_EQ_STR(u, "id-42");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(strlen(arena_printf(a, "%s", big)), sizeof(big) - 1);
    CHECK_EQ_STR(arena_strndup(a, "ab", 10), "ab");
    arena_free(a);
}

/* -------------------------------------------------------------- json */

static void test_core__json_parse_ok_without_nul(void)
{
    const char text[] = "{\"a\":\"x\",\"n\":5,\"t\":true}GARBAGE";
    cJSON *v = NULL;
    struct err e;

    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, text, strlen("{\"a\":\"x\",\"n\":5,\"t\":true}"), &e), 0);
    CHECK(v != NULL);
    CHECK_EQ_STR(json_str(v, "a"), "x");
    CHECK(json_str(v, "n") == NULL);
    CHECK(json_str(v, "missing") == NULL);
    CHECK_EQ_INT(json_bool(v, "t", 0), 1);
    CHECK_EQ_INT(json_bool(v, "missing", 1), 1);
    CHECK_EQ_INT(json_bool(v, "a", 0), 0);
    cJSON_Delete(v);
    /* Any JSON value is accepted at the top level, with surrounding space. */
    CHECK_EQ_INT(json_parse(&v, " 42 \n", 5, &e), 0);
    CHECK(cJSON_IsNumber(v));
    cJSON_Delete(v);
}

static void test_core__json_parse_errors(void)
{
    cJSON *v = (cJSON *)1;
    struct err e;

    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, "{\"a\":1,}", 8, &e), ERR_INVALID);
    CHECK(v == NULL);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");
    CHECK(strstr(e.msg, "byte 7") != NULL);

    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, "{} x", 4, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");
    CHECK(strstr(e.msg, "byte 3") != NULL);

    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, "", 0, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");

    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, "{\"a\":\"unterminated", 17, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");

    /* An embedded NUL ends the value; what follows is trailing data. */
    err_clear(&e);
    CHECK_EQ_INT(json_parse(&v, "{}\0{}", 5, &e), ERR_INVALID);
    CHECK(strstr(e.msg, "byte 2") != NULL);
}

/* Inputs in exact-size heap buffers, so ASan flags any read past len. */
static void test_core__json_parse_never_reads_past_len(void)
{
    static const char *const inputs[] = {
        "{\"a\":\"unterminated", "[1,2", "tru", "\"\\u12", "-", "1e", "{\"a\"", "[\"x\",", "123", "\"ok\"",
    };
    static const int valid[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1};

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        size_t len = strlen(inputs[i]);
        char *copy = malloc(len);
        cJSON *v = NULL;
        struct err e;

        memcpy(copy, inputs[i], len);
        err_clear(&e);
        CHECK_EQ_INT(json_parse(&v, copy, len, &e), valid[i] ? 0 : ERR_INVALID);
        if (!valid[i])
            CHECK_EQ_STR(err_slug(&e), "invalid_json");
        cJSON_Delete(v);
        free(copy);
    }
}

static void test_core__json_depth_limit(void)
{
    char text[200];
    cJSON *v = NULL;
    struct err e;

    memset(text, '[', 64);
    memset(text + 64, ']', 64);
    CHECK_EQ_INT(json_parse(&v, text, 128, &e), 0);
    cJSON_Delete(v);
    v = NULL;
    memset(text, '[', 65);
    memset(text + 65, ']', 65);
    CHECK_EQ_INT(json_parse(&v, text, 130, &e), ERR_INVALID);
    CHECK(v == NULL);
    CHECK_EQ_STR(err_slug(&e), "invalid_json");
}

static void test_core__json_int_exactness(void)
{
    static const char text[] = "{\"a\":42,\"neg\":-7,\"f\":1.5,\"big\":9007199254740993,"
                               "\"max\":9007199254740991,\"s\":\"5\",\"e\":1e3,\"huge\":1e300}";
    cJSON *v = NULL;
    struct err e;
    int64_t n = 0;

    CHECK_EQ_INT(json_parse(&v, text, strlen(text), &e), 0);
    CHECK_EQ_INT(json_int(v, "a", &n), 0);
    CHECK_EQ_INT(n, 42);
    CHECK_EQ_INT(json_int(v, "neg", &n), 0);
    CHECK_EQ_INT(n, -7);
    CHECK_EQ_INT(json_int(v, "max", &n), 0);
    CHECK_EQ_INT(n, 9007199254740991LL);
    CHECK_EQ_INT(json_int(v, "e", &n), 0);
    CHECK_EQ_INT(n, 1000);
    CHECK_EQ_INT(json_int(v, "f", &n), ERR_INVALID);
    CHECK_EQ_INT(json_int(v, "big", &n), ERR_INVALID); /* 2^53 + 1 cannot be exact */
    CHECK_EQ_INT(json_int(v, "huge", &n), ERR_INVALID);
    CHECK_EQ_INT(json_int(v, "s", &n), ERR_INVALID);
    CHECK_EQ_INT(json_int(v, "missing", &n), ERR_NOTFOUND);
    cJSON_Delete(v);
}

static void test_core__json_print_compact(void)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "k", "v\"");
    cJSON_AddNumberToObject(o, "n", 3);
    s = json_print(o);
    CHECK_EQ_STR(s, "{\"k\":\"v\\\"\",\"n\":3}");
    free(s);
    cJSON_Delete(o);
}

/* -------------------------------------------------------------- time */

static void test_core__time_format_iso(void)
{
    char out[32];

    time_format_iso(0, out);
    CHECK_EQ_STR(out, "1970-01-01T00:00:00.000Z");
    time_format_iso(1795512443123LL, out);
    CHECK_EQ_STR(out, "2026-11-24T09:27:23.123Z");
    time_format_iso(-1, out);
    CHECK_EQ_STR(out, "1969-12-31T23:59:59.999Z");
}

static void test_core__time_parse_iso_round_trip_and_offsets(void)
{
    int64_t ms = 0;
    char out[32];

    CHECK_EQ_INT(time_parse_iso("2026-11-24T09:27:23.123Z", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443123LL);
    time_format_iso(ms, out);
    CHECK_EQ_STR(out, "2026-11-24T09:27:23.123Z");
    CHECK_EQ_INT(time_parse_iso("2026-11-24T10:27:23.123+01:00", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443123LL);
    CHECK_EQ_INT(time_parse_iso("2026-11-24T03:57:23.123-05:30", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443123LL);
    CHECK_EQ_INT(time_parse_iso("2026-11-24T09:27:23Z", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443000LL);
    CHECK_EQ_INT(time_parse_iso("2026-11-24T09:27:23.1Z", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443100LL);
    CHECK_EQ_INT(time_parse_iso("2026-11-24T09:27:23.123987Z", &ms), 0);
    CHECK_EQ_INT(ms, 1795512443123LL);
    CHECK_EQ_INT(time_parse_iso("2000-02-29T00:00:00Z", &ms), 0);
    CHECK_EQ_INT(ms, 951782400000LL);
    for (int i = 0; i < 5; i++) {
        int64_t now = time_now_ms() + i * 86400001LL, back = 0;

        time_format_iso(now, out);
        CHECK_EQ_INT(time_parse_iso(out, &back), 0);
        CHECK_EQ_INT(back, now);
    }
}

static void test_core__time_parse_iso_rejects(void)
{
    static const char *const bad[] = {
        "", "2026-11-24", "2026-11-24T09:27:23", "2026-11-24T09:27:23.Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T09:27:23+0100", "2026-11-24T09:27:23Zx",
        "2026-11-24 09:27:23Z", "26-11-24T09:27:23Z",
    };
    int64_t ms;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = time_parse_iso(bad[i], &ms);

        if (rc != ERR_INVALID)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_EQ_INT(rc, ERR_INVALID);
    }
}

static void test_core__time_clocks_advance(void)
{
    int64_t a = time_mono_ns(), b = time_mono_ns();

    CHECK(b >= a);
    CHECK(time_now_ms() > 1700000000000LL);
}

/* ------------------------------------------------------------ crypto */

static void test_core__crypto_random_id_and_token(void)
{
    char a[CORE_ID_MAX], b[CORE_ID_MAX], tok[64];

    crypto_random_id(a, sizeof(a), "ten");
    crypto_random_id(b, sizeof(b), "ten");
    CHECK_EQ_INT(strlen(a), 30);
    CHECK(strncmp(a, "ten_", 4) == 0);
    CHECK(strspn(a + 4, "abcdefghijklmnopqrstuvwxyz234567") == 26);
    CHECK(strcmp(a, b) != 0);
    crypto_random_token(tok, sizeof(tok), 32);
    CHECK_EQ_INT(strlen(tok), 43);
    CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
}

static void test_core__crypto_time_id(void)
{
    char a[CORE_ID_MAX], b[CORE_ID_MAX], c[CORE_ID_MAX], d[CORE_ID_MAX];
    uint8_t r1[16], r2[16];

    crypto_time_id(a, sizeof(a), "iev", 1764680000000LL);
    crypto_time_id(b, sizeof(b), "iev", 1764680000000LL);
    crypto_time_id(c, sizeof(c), "iev", 1764680000001LL);
    crypto_time_id(d, sizeof(d), "iev", 1999999999999LL);
    CHECK_EQ_INT(strlen(a), 30);
    CHECK(strncmp(a, "iev_", 4) == 0);
    CHECK(strspn(a + 4, "abcdefghijklmnopqrstuvwxyz234567") == 26);
    CHECK(strncmp(a, b, 14) == 0); /* same millisecond, same time part */
    CHECK(strcmp(a, b) != 0);      /* random part differs */
    CHECK(strcmp(a, c) < 0 && strcmp(b, c) < 0 && strcmp(c, d) < 0); /* text order is time order */
    /* Identifier randomness: never the same bytes twice. */
    crypto_random_fast(r1, sizeof r1);
    crypto_random_fast(r2, sizeof r2);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
}

/* 1 when fn(ud) kills a child process with SIGABRT. */
static int aborts(void (*fn)(void))
{
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        fclose(stderr); /* keep the expected BUG line out of the test log */
        fn();
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 0;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void small_id(void)
{
    char out[10];

    crypto_random_id(out, sizeof(out), "ten");
}

static void small_token(void)
{
    char out[10];

    crypto_random_token(out, sizeof(out), 32);
}

static void small_base64(void)
{
    char out[4];

    crypto_base64(out, sizeof(out), "foob", 4);
}

static void fitting_id(void)
{
    char out[31]; /* strlen("ten") + 28: exactly enough */

    crypto_random_id(out, sizeof(out), "ten");
}

/* Too small an output buffer is a caller bug: abort, never an empty id. */
static void test_core__crypto_small_buffers_abort(void)
{
    CHECK_EQ_INT(aborts(small_id), 1);
    CHECK_EQ_INT(aborts(small_token), 1);
    CHECK_EQ_INT(aborts(small_base64), 1);
    CHECK_EQ_INT(aborts(fitting_id), 0);
}

static void test_core__crypto_hex(void)
{
    uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[8];
    char hex[9];

    crypto_hex(hex, in, 4);
    CHECK_EQ_STR(hex, "00ab10ff");
    CHECK_EQ_INT(crypto_unhex(out, sizeof(out), "00AB10ff"), 4);
    CHECK(memcmp(out, in, 4) == 0);
    CHECK_EQ_INT(crypto_unhex(out, sizeof(out), "abc"), ERR_INVALID);
    CHECK_EQ_INT(crypto_unhex(out, sizeof(out), "zz"), ERR_INVALID);
    CHECK_EQ_INT(crypto_unhex(out, 2, "00112233"), ERR_INVALID);
}

static void test_core__crypto_base64_variants(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const uint8_t odd[] = {0xfb, 0xff, 0xbf};
    char out[64];
    uint8_t dec[64];

    for (size_t i = 0; i < 7; i++) {
        crypto_base64(out, sizeof(out), plain[i], strlen(plain[i]));
        CHECK_EQ_STR(out, enc[i]);
        CHECK_EQ_INT(crypto_base64_len(strlen(plain[i])), strlen(enc[i]) + 1);
        CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), enc[i], strlen(enc[i])), strlen(plain[i]));
        CHECK(memcmp(dec, plain[i], strlen(plain[i])) == 0);
    }
    /* Padding is optional. */
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "Zm9vYg", 6), 4);
    CHECK(memcmp(dec, "foob", 4) == 0);
    /* Standard and URL-safe alphabets both decode. */
    crypto_base64(out, sizeof(out), odd, sizeof(odd));
    CHECK_EQ_STR(out, "+/+/");
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "+/+/", 4), 3);
    CHECK(memcmp(dec, odd, 3) == 0);
    memset(dec, 0, sizeof(dec));
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "-_-_", 4), 3);
    CHECK(memcmp(dec, odd, 3) == 0);
    /* Garbage, mixed alphabets, wrong padding, too small an output. */
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "Zm9v!", 5), ERR_INVALID);
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "+_+_", 4), ERR_INVALID);
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "Zg=", 3), ERR_INVALID);
    CHECK_EQ_INT(crypto_unbase64(dec, sizeof(dec), "Zm 9v", 5), ERR_INVALID);
    CHECK_EQ_INT(crypto_unbase64(dec, 2, "Zm9v", 4), ERR_INVALID);
}

static void test_core__crypto_sha256(void)
{
    char hex[65];

    crypto_sha256_hex(hex, "abc", 3);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256_hex(hex, NULL, 0);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_core__crypto_hmac_rfc_vectors(void)
{
    static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t key[131], mac[32];
    char hex[65];

    /* RFC 2202 test cases 1, 2 and 6 (HMAC-SHA1). */
    memset(key, 0x0b, 20);
    crypto_hmac_sha1(mac, key, 20, "Hi There", 8);
    hex_of(hex, mac, 20);
    CHECK_EQ_STR(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
    crypto_hmac_sha1(mac, "Jefe", 4, "what do ya want for nothing?", 28);
    hex_of(hex, mac, 20);
    CHECK_EQ_STR(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    memset(key, 0xaa, 80);
    crypto_hmac_sha1(mac, key, 80, data6, strlen(data6));
    hex_of(hex, mac, 20);
    CHECK_EQ_STR(hex, "aa4ae5e15272d00e95705637ce8a3b55ed402112");

    /* RFC 4231 test cases 1, 2 and 6 (HMAC-SHA256). */
    memset(key, 0x0b, 20);
    crypto_hmac_sha256(mac, key, 20, "Hi There", 8);
    hex_of(hex, mac, 32);
    CHECK_EQ_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    crypto_hmac_sha256(mac, "Jefe", 4, "what do ya want for nothing?", 28);
    hex_of(hex, mac, 32);
    CHECK_EQ_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, 131);
    crypto_hmac_sha256(mac, key, 131, data6, strlen(data6));
    hex_of(hex, mac, 32);
    CHECK_EQ_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_core__crypto_equal(void)
{
    CHECK_EQ_INT(crypto_equal("abc", 3, "abc", 3), 1);
    CHECK_EQ_INT(crypto_equal("abc", 3, "abd", 3), 0);
    CHECK_EQ_INT(crypto_equal("abc", 3, "abcd", 4), 0);
    CHECK_EQ_INT(crypto_equal("", 0, "", 0), 1);
}

static void test_core__crypto_password_hash_verify(void)
{
    char hash[CRYPTO_PWHASH_MAX];
    struct err e;

    CHECK_EQ_INT(crypto_password_hash(hash, "correct horse battery staple", &e), 0);
    CHECK(strncmp(hash, "$argon2id$", 10) == 0);
    CHECK(strstr(hash, "correct horse") == NULL);
    CHECK_EQ_INT(crypto_password_verify(hash, "correct horse battery staple"), 1);
    CHECK_EQ_INT(crypto_password_verify(hash, "correct horse battery stapl"), 0);
    CHECK_EQ_INT(crypto_password_verify(hash, ""), 0);
    CHECK_EQ_INT(crypto_password_verify("not a hash", "x"), 0);
    CHECK_EQ_INT(crypto_password_verify(NULL, "x"), 0);
}

struct test_ring {
    uint8_t k1[CRYPTO_KEY_BYTES];
    uint8_t k2[CRYPTO_KEY_BYTES];
};

static int test_lookup(void *ud, const char *key_id, uint8_t key[CRYPTO_KEY_BYTES])
{
    struct test_ring *r = ud;

    if (strcmp(key_id, "k1") == 0) {
        memcpy(key, r->k1, CRYPTO_KEY_BYTES);
        return 0;
    }
    if (strcmp(key_id, "k2") == 0) {
        memcpy(key, r->k2, CRYPTO_KEY_BYTES);
        return 0;
    }
    return ERR_NOTFOUND;
}

static void test_core__crypto_seal_open_round_trip(void)
{
    struct test_ring ring;
    static const char secret[] = "twilio-auth-token-\0-with-nul";
    char *sealed = NULL, *plain = NULL, id[32];
    size_t n = 0;
    struct err e;

    crypto_random(ring.k1, sizeof(ring.k1));
    crypto_random(ring.k2, sizeof(ring.k2));
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k1, "k1", secret, sizeof(secret) - 1, &e), 0);
    CHECK(sealed != NULL);
    if (!sealed)
        return;
    CHECK(strncmp(sealed, "sb1:k1:", 7) == 0);
    CHECK(strstr(sealed, "twilio") == NULL);
    CHECK_EQ_INT(crypto_sealed_key_id(id, sizeof(id), sealed), 0);
    CHECK_EQ_STR(id, "k1");
    CHECK_EQ_INT(crypto_open(&plain, &n, sealed, test_lookup, &ring, &e), 0);
    CHECK_EQ_INT(n, sizeof(secret) - 1);
    CHECK(plain && memcmp(plain, secret, sizeof(secret)) == 0); /* includes the NUL terminator */
    free(plain);
    free(sealed);
    /* Two seals of the same text differ (random nonce). */
    {
        char *a = NULL, *b = NULL;

        crypto_seal(&a, ring.k2, "k2", "x", 1, &e);
        crypto_seal(&b, ring.k2, "k2", "x", 1, &e);
        CHECK(a && b && strcmp(a, b) != 0);
        free(a);
        free(b);
    }
    /* Empty plaintext. */
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k2, "k2", "", 0, &e), 0);
    CHECK_EQ_INT(crypto_open(&plain, &n, sealed, test_lookup, &ring, &e), 0);
    CHECK_EQ_INT(n, 0);
    CHECK(plain && plain[0] == '\0');
    free(plain);
    free(sealed);
}

static void test_core__crypto_open_failures(void)
{
    struct test_ring ring;
    char *sealed = NULL, *plain = NULL, *forged;
    size_t n;
    struct err e;
    uint8_t other[CRYPTO_KEY_BYTES];

    crypto_random(ring.k1, sizeof(ring.k1));
    crypto_random(ring.k2, sizeof(ring.k2));
    crypto_random(other, sizeof(other));

    /* Wrong key: sealed with another key but labelled k1. */
    CHECK_EQ_INT(crypto_seal(&sealed, other, "k1", "secret", 6, &e), 0);
    err_clear(&e);
    CHECK_EQ_INT(crypto_open(&plain, &n, sealed, test_lookup, &ring, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "decrypt_failed");
    CHECK(plain == NULL);
    free(sealed);

    /* Tampered ciphertext: change one base64 character in the middle. */
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k1, "k1", "secret value", 12, &e), 0);
    forged = strdup(sealed);
    {
        size_t mid = strlen("sb1:k1:") + 40;

        forged[mid] = forged[mid] == 'A' ? 'B' : 'A';
    }
    err_clear(&e);
    CHECK_EQ_INT(crypto_open(&plain, &n, forged, test_lookup, &ring, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "decrypt_failed");
    free(forged);

    /* Unknown key id. */
    forged = strdup(sealed);
    memcpy(forged + 4, "k9", 2);
    err_clear(&e);
    CHECK_EQ_INT(crypto_open(&plain, &n, forged, test_lookup, &ring, &e), ERR_NOTFOUND);
    CHECK(strstr(e.msg, "unknown key id") != NULL);
    free(forged);
    free(sealed);

    /* Malformed values and bad key ids. */
    CHECK_EQ_INT(crypto_open(&plain, &n, "sb2:k1:AAAA", test_lookup, &ring, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_open(&plain, &n, "sb1:k1", test_lookup, &ring, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_open(&plain, &n, "sb1:k1:AAAA", test_lookup, &ring, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_open(&plain, &n, "sb1:k 1:AAAA", test_lookup, &ring, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k1, "bad id", "x", 1, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k1, "", "x", 1, &e), ERR_INVALID);
    CHECK_EQ_INT(crypto_seal(&sealed, ring.k1, "k_123456789012345678901234567890", "x", 1, &e), ERR_INVALID);
    CHECK(sealed == NULL);
    CHECK_EQ_INT(crypto_sealed_key_id((char[8]){0}, 8, "nope"), ERR_INVALID);
}

/* ------------------------------------------------------------ config */

static void test_core__config_defaults(void)
{
    struct config c;
    struct err e;

    clear_sb_env();
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    CHECK_EQ_STR(c.env, "development");
    CHECK_EQ_STR(c.listen, "127.0.0.1:8080");
    CHECK_EQ_STR(c.data_dir, "./data");
    CHECK_EQ_STR(c.database_url, "");
    CHECK_EQ_STR(c.public_url, "http://127.0.0.1:8080");
    CHECK_EQ_STR(c.secret_key, config_dev_secret_key);
    CHECK_EQ_INT(c.threads, 0);
    CHECK_EQ_INT(c.body_limit, 1048576);
    CHECK_EQ_INT(c.header_timeout_s, 10);
    CHECK_EQ_INT(c.idle_timeout_s, 60);
    CHECK_EQ_INT(c.shutdown_grace_s, 30);
    CHECK_EQ_INT(c.allow_unsigned_webhooks, 0);
    CHECK_EQ_INT(c.require_api_keys, 1);
    CHECK_EQ_STR(c.cors_origins, "");
    CHECK_EQ_INT(c.cookie_secure, 1);
    CHECK_EQ_INT(c.session_ttl_s, 43200);
    CHECK_EQ_INT(c.login_max_failures, 5);
    CHECK_EQ_INT(c.login_window_s, 900);
    CHECK_EQ_INT(c.db_pool_size, 0);
    CHECK_EQ_INT(c.db_busy_timeout_ms, 5000);
    CHECK_EQ_STR(c.log_level, "info");
    CHECK_EQ_STR(c.log_file, "");
    CHECK_EQ_INT(config_is_production(&c), 0);
    config_free(&c);
    config_free(&c); /* idempotent */
}

static void test_core__config_env_override(void)
{
    struct config c;
    struct err e;

    clear_sb_env();
    setenv("SB_THREADS", "8", 1);
    setenv("SB_BODY_LIMIT", "2MiB", 1);
    setenv("SB_COOKIE_SECURE", "Off", 1);
    setenv("SB_LISTEN", "0.0.0.0:9000", 1);
    setenv("SB_ENV", "production", 1);
    setenv("SB_TEST_SOMETHING", "tooling variables are not settings", 1);
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    CHECK_EQ_INT(c.threads, 8);
    CHECK_EQ_INT(c.body_limit, 2 * 1024 * 1024);
    CHECK_EQ_INT(c.cookie_secure, 0);
    CHECK_EQ_STR(c.listen, "0.0.0.0:9000");
    CHECK_EQ_INT(config_is_production(&c), 1);
    config_free(&c);
    unsetenv("SB_TEST_SOMETHING");
    clear_sb_env();
}

static void test_core__config_dotenv_parsing(void)
{
    struct config c;
    struct err e;
    int rc;

    clear_sb_env();
    setenv("SB_THREADS", "3", 1); /* the environment wins over .env */
    err_clear(&e);
    rc = load_env_text(&c,
                       "# comment\n"
                       "\n"
                       "export SB_LISTEN=127.0.0.1:9999\n"
                       "SB_DATA_DIR = '/var/lib/sb data'  # trailing comment\n"
                       "SB_PUBLIC_URL=\"https://example.com/a#b\"\r\n"
                       "SB_CORS_ORIGINS=https://a.example, https://b.example # note\n"
                       "SB_THREADS=12\n"
                       "OTHER_TOOL_SETTING=ignored\n"
                       "SB_LOG_LEVEL=debug\n"
                       "SB_LOG_LEVEL=warn\n"
                       "SB_BODY_LIMIT=64K\n",
                       &e);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", e.msg);
        return;
    }
    CHECK_EQ_STR(c.listen, "127.0.0.1:9999");
    CHECK_EQ_STR(c.data_dir, "/var/lib/sb data");
    CHECK_EQ_STR(c.public_url, "https://example.com/a#b");
    CHECK_EQ_STR(c.cors_origins, "https://a.example, https://b.example");
    CHECK_EQ_INT(c.threads, 3);
    CHECK_EQ_STR(c.log_level, "warn");
    CHECK_EQ_INT(c.body_limit, 65536);
    config_free(&c);
    clear_sb_env();

    /* A missing file is not an error. */
    CHECK_EQ_INT(config_load(&c, "/nonexistent/sb/.env", &e), 0);
    config_free(&c);
}

static void test_core__config_dotenv_malformed_line(void)
{
    struct config c;
    struct err e;

    clear_sb_env();
    err_clear(&e);
    CHECK_EQ_INT(load_env_text(&c, "SB_THREADS=2\n# fine\nthis is not an assignment\n", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "line 3") != NULL);
    err_clear(&e);
    CHECK_EQ_INT(load_env_text(&c, "SB_PUBLIC_URL=\"unterminated\n", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "line 1") != NULL);
}

static void test_core__config_unknown_sb_variable(void)
{
    struct config c;
    struct err e;

    clear_sb_env();
    err_clear(&e);
    CHECK_EQ_INT(load_env_text(&c, "SB_THREADZ=4\n", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "SB_THREADZ") != NULL);
    CHECK(strstr(e.msg, "line 1") != NULL);

    setenv("SB_SECRET_KEYY", "x", 1);
    err_clear(&e);
    CHECK_EQ_INT(config_load(&c, "", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "SB_SECRET_KEYY") != NULL);
    unsetenv("SB_SECRET_KEYY");
    CHECK_EQ_INT(config_set(&c, "SB_NOPE", "1", &e), ERR_INVALID);
}

static void test_core__config_bad_values_are_named(void)
{
    struct config c;
    struct err e;

    clear_sb_env();
    setenv("SB_COOKIE_SECURE", "maybe", 1);
    err_clear(&e);
    CHECK_EQ_INT(config_load(&c, "", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "SB_COOKIE_SECURE") != NULL);
    CHECK(strstr(e.msg, "\"maybe\"") != NULL);
    clear_sb_env();

    setenv("SB_BODY_LIMIT", "lots", 1);
    err_clear(&e);
    CHECK_EQ_INT(config_load(&c, "", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "SB_BODY_LIMIT") != NULL);
    clear_sb_env();

    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    CHECK_EQ_INT(config_set(&c, "SB_THREADS", "1025", &e), ERR_INVALID);
    CHECK(strstr(e.msg, "SB_THREADS") != NULL && strstr(e.msg, "1025") != NULL);
    CHECK_EQ_INT(config_set(&c, "SB_THREADS", "2.5", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_THREADS", "", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_HEADER_TIMEOUT", "0", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_BODY_LIMIT", "512", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_BODY_LIMIT", "2G", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_BODY_LIMIT", "1GiB", &e), 0);
    CHECK_EQ_INT(c.body_limit, 1024LL * 1024 * 1024);
    CHECK_EQ_INT(config_set(&c, "SB_DB_POOL_SIZE", "513", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_ENV", "staging", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_LOG_LEVEL", "verbose", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_LISTEN", "8080", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_LISTEN", "[::1]:8081", &e), 0);
    CHECK_EQ_STR(c.listen, "[::1]:8081");
    CHECK_EQ_INT(config_set(&c, "SB_REQUIRE_API_KEYS", "NO", &e), 0);
    CHECK_EQ_INT(c.require_api_keys, 0);
    CHECK_EQ_INT(config_set(&c, "SB_REQUIRE_API_KEYS", "yes", &e), 0);
    CHECK_EQ_INT(c.require_api_keys, 1);
    /* A failed set leaves the old value. */
    CHECK_EQ_INT(c.threads, 0);
    config_free(&c);
}

static void test_core__config_secret_never_echoed(void)
{
    static const char secret[] = "s3cr3t-VALUE-do-not-print";
    struct config c;
    struct buf problems = {0};
    struct err e;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    clear_sb_env();
    /* Malformed .env line holding a secret: the error names the line only. */
    err_clear(&e);
    CHECK_EQ_INT(load_env_text(&c, "SB_SECRET_KEY=\"s3cr3t-VALUE-do-not-print\n", &e), ERR_INVALID);
    CHECK(strstr(e.msg, secret) == NULL);

    setenv("SB_SECRET_KEY", secret, 1);
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    CHECK(strstr(text, secret) == NULL);
    CHECK(strstr(text, "SB_SECRET_KEY=(redacted, set)\n") != NULL);
    free(text);
    CHECK(config_check_production(&c, &problems) >= 1);
    CHECK(strstr(problems.data, secret) == NULL);
    CHECK_EQ_INT(config_master_key(&c, (uint8_t[32]){0}, &e), ERR_INVALID);
    CHECK(strstr(e.msg, secret) == NULL);
    buf_free(&problems);
    config_free(&c);
    clear_sb_env();
}

static void test_core__config_print_redacts_url_password(void)
{
    struct config c;
    struct err e;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    clear_sb_env();
    setenv("SB_DATABASE_URL", "postgres://app:pa55word@db.example:5432/sb?sslmode=require", 1);
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    CHECK(strstr(text, "pa55word") == NULL);
    CHECK(strstr(text, "SB_DATABASE_URL=postgres://app:(redacted)@db.example:5432/sb?sslmode=require\n") != NULL);
    /* No password: printed as is. */
    CHECK(strstr(text, "SB_PUBLIC_URL=http://127.0.0.1:8080\n") != NULL);
    free(text);
    CHECK_EQ_INT(config_set(&c, "SB_DATABASE_URL", "postgres://postgres@127.0.0.1:5433/postgres", &e), 0);
    text = NULL;
    f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    CHECK(strstr(text, "SB_DATABASE_URL=postgres://postgres@127.0.0.1:5433/postgres\n") != NULL);
    free(text);
    config_free(&c);
    clear_sb_env();
}

static void test_core__config_print_order_and_redaction(void)
{
    struct config c;
    struct err e;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    const char *p;

    clear_sb_env();
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    CHECK(strncmp(text, "SB_ENV=development\n", 19) == 0);
    CHECK(strstr(text, "SB_SECRET_KEY=(redacted, default)\n") != NULL);
    CHECK(strstr(text, config_dev_secret_key) == NULL);
    CHECK(strstr(text, "SB_BODY_LIMIT=1048576\n") != NULL);
    CHECK(strstr(text, "SB_REQUIRE_API_KEYS=true\n") != NULL);
    /* Schema order: each name appears after the previous one. */
    p = text;
    for (const struct config_def *d = config_schema; d->name; d++) {
        const char *q = strstr(p, d->name);

        CHECK(q != NULL);
        if (q)
            p = q;
    }
    free(text);
    config_free(&c);
}

static void test_core__config_production_problems(void)
{
    struct config c;
    struct buf problems = {0};
    struct err e;
    uint8_t key[32], raw[32];
    char good[64];

    clear_sb_env();
    CHECK_EQ_INT(config_load(&c, "", &e), 0);
    /* The default public URL is plain http on loopback: refused too. */
    CHECK_EQ_INT(config_check_production(&c, &problems), 2);
    CHECK(strstr(problems.data, "SB_PUBLIC_URL") != NULL);
    CHECK_EQ_INT(config_set(&c, "SB_PUBLIC_URL", "https://switchboard.example.com", &e), 0);
    /* A public URL must be a URL without a trailing slash. */
    CHECK_EQ_INT(config_set(&c, "SB_PUBLIC_URL", "switchboard.example.com", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_PUBLIC_URL", "https://switchboard.example.com/", &e), ERR_INVALID);
    CHECK_EQ_INT(config_set(&c, "SB_TWILIO_API_BASE", "ftp://api.twilio.com", &e), ERR_INVALID);
    /* The development default key is refused. */
    buf_reset(&problems);
    CHECK_EQ_INT(config_check_production(&c, &problems), 1);
    CHECK(strstr(problems.data, "SB_SECRET_KEY") != NULL);
    /* Unsigned webhooks add a problem, one line each. */
    CHECK_EQ_INT(config_set(&c, "SB_ALLOW_UNSIGNED_WEBHOOKS", "true", &e), 0);
    buf_reset(&problems);
    CHECK_EQ_INT(config_check_production(&c, &problems), 2);
    CHECK(strstr(problems.data, "SB_ALLOW_UNSIGNED_WEBHOOKS") != NULL);
    {
        int lines = 0;

        for (const char *q = problems.data; *q; q++)
            lines += *q == '\n';
        CHECK_EQ_INT(lines, 2);
    }
    CHECK_EQ_INT(config_set(&c, "SB_ALLOW_UNSIGNED_WEBHOOKS", "false", &e), 0);
    /* Empty key. */
    CHECK_EQ_INT(config_set(&c, "SB_SECRET_KEY", "", &e), 0);
    buf_reset(&problems);
    CHECK_EQ_INT(config_check_production(&c, &problems), 1);
    /* A key that is not 32 bytes. */
    CHECK_EQ_INT(config_set(&c, "SB_SECRET_KEY", "c2hvcnQ=", &e), 0);
    buf_reset(&problems);
    CHECK_EQ_INT(config_check_production(&c, &problems), 1);
    CHECK_EQ_INT(config_master_key(&c, key, &e), ERR_INVALID);
    /* A proper random key: no problems, and it decodes. */
    crypto_random(raw, sizeof(raw));
    crypto_base64(good, sizeof(good), raw, sizeof(raw));
    CHECK_EQ_INT(config_set(&c, "SB_SECRET_KEY", good, &e), 0);
    buf_reset(&problems);
    CHECK_EQ_INT(config_check_production(&c, &problems), 0);
    CHECK_EQ_INT(config_master_key(&c, key, &e), 0);
    CHECK(memcmp(key, raw, 32) == 0);
    /* The dev default decodes to 32 bytes too (usable in development). */
    CHECK_EQ_INT(config_set(&c, "SB_SECRET_KEY", config_dev_secret_key, &e), 0);
    CHECK_EQ_INT(config_master_key(&c, key, &e), 0);
    buf_free(&problems);
    config_free(&c);
}

static void test_core__config_docs_cover_schema(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    config_write_docs(f);
    fclose(f);
    CHECK(strncmp(text, "# Configuration\n", 16) == 0);
    CHECK(strstr(text, "switchboard gen-docs") != NULL);
    CHECK(strstr(text, "| Variable | Type | Default | Secret | Description |") != NULL);
    for (const struct config_def *d = config_schema; d->name; d++) {
        char needle[64];

        snprintf(needle, sizeof(needle), "| `%s` |", d->name);
        CHECK(strstr(text, needle) != NULL);
        CHECK(strstr(text, d->doc) != NULL);
    }
    CHECK(strstr(text, config_dev_secret_key) == NULL);
    free(text);
}

/* --------------------------------------------------------------- log */

static void test_core__log_line_is_json(void)
{
    FILE *f = tmpfile();
    char line[1024];
    struct log_ctx ctx = {.request_id = "req-1", .trace_id = NULL, .tenant_id = "ten_x"};
    cJSON *v = NULL;
    struct err e;
    int lines = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    log_init(LOG_INFO, f);
    CHECK_EQ_INT(log_enabled(LOG_DEBUG), 0);
    CHECK_EQ_INT(log_enabled(LOG_WARN), 1);
    log_debug(&ctx, "filtered %d", 1);
    log_write(LOG_WARN, &ctx, "\"status\":200", "quote \" backslash \\ newline\n%s", "end");
    log_info(NULL, "plain");
    log_init(LOG_INFO, NULL);
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        lines++;
        CHECK(line[strlen(line) - 1] == '\n');
        CHECK_EQ_INT(json_parse(&v, line, strlen(line), &e), 0);
        if (lines == 1 && v) {
            int64_t status = 0;
            int64_t ms = 0;

            CHECK_EQ_STR(json_str(v, "level"), "warn");
            CHECK_EQ_STR(json_str(v, "msg"), "quote \" backslash \\ newline\nend");
            CHECK_EQ_STR(json_str(v, "request_id"), "req-1");
            CHECK_EQ_STR(json_str(v, "tenant_id"), "ten_x");
            CHECK(cJSON_GetObjectItem(v, "trace_id") == NULL);
            CHECK_EQ_INT(json_int(v, "status", &status), 0);
            CHECK_EQ_INT(status, 200);
            CHECK(json_str(v, "time") != NULL);
            CHECK_EQ_INT(time_parse_iso(json_str(v, "time"), &ms), 0);
        }
        if (lines == 2 && v) {
            CHECK_EQ_STR(json_str(v, "level"), "info");
            CHECK_EQ_STR(json_str(v, "msg"), "plain");
        }
        cJSON_Delete(v);
        v = NULL;
    }
    CHECK_EQ_INT(lines, 2);
    fclose(f);
}

struct log_thread_arg {
    int id;
};

static void *log_thread(void *ud)
{
    struct log_thread_arg *a = ud;
    struct log_ctx ctx = {.request_id = "req", .trace_id = "trace", .tenant_id = NULL};
    char payload[600];

    memset(payload, 'a' + a->id, sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    for (int i = 0; i < 200; i++)
        log_write(LOG_INFO, &ctx, NULL, "thread %d line %d %s", a->id, i, payload);
    return NULL;
}

/* Concurrent writers: every line comes out whole and parses. */
static void test_core__log_lines_never_interleave(void)
{
    FILE *f = tmpfile();
    pthread_t th[4];
    struct log_thread_arg args[4];
    char line[2048];
    int lines = 0, bad = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    log_init(LOG_INFO, f);
    for (int i = 0; i < 4; i++) {
        args[i].id = i;
        pthread_create(&th[i], NULL, log_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    log_init(LOG_INFO, NULL);
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        cJSON *v = NULL;
        struct err e;

        lines++;
        if (json_parse(&v, line, strlen(line), &e) != 0 || !json_str(v, "msg") ||
            strncmp(json_str(v, "msg"), "thread ", 7) != 0)
            bad++;
        cJSON_Delete(v);
    }
    CHECK_EQ_INT(lines, 800);
    CHECK_EQ_INT(bad, 0);
    fclose(f);
}

static void test_core__log_parse_level(void)
{
    enum log_level lv = LOG_INFO;

    CHECK_EQ_INT(log_parse_level("debug", &lv), 0);
    CHECK_EQ_INT(lv, LOG_DEBUG);
    CHECK_EQ_INT(log_parse_level("ERROR", &lv), 0);
    CHECK_EQ_INT(lv, LOG_ERROR);
    CHECK_EQ_INT(log_parse_level("warn", &lv), 0);
    CHECK_EQ_INT(lv, LOG_WARN);
    CHECK_EQ_INT(log_parse_level("loud", &lv), ERR_INVALID);
}

int main(void)
{
    if (crypto_init() != 0) {
        fprintf(stderr, "crypto_init failed\n");
        return 1;
    }
    TEST_RUN(test_core__err_slugs);
    TEST_RUN(test_core__err_set_and_clear);
    TEST_RUN(test_core__buf_append_and_grow);
    TEST_RUN(test_core__buf_json_escaping);
    TEST_RUN(test_core__buf_json_invalid_utf8_replaced);
    TEST_RUN(test_core__arena_alignment_and_zeroing);
    TEST_RUN(test_core__arena_strings);
    TEST_RUN(test_core__json_parse_ok_without_nul);
    TEST_RUN(test_core__json_parse_errors);
    TEST_RUN(test_core__json_parse_never_reads_past_len);
    TEST_RUN(test_core__json_depth_limit);
    TEST_RUN(test_core__json_int_exactness);
    TEST_RUN(test_core__json_print_compact);
    TEST_RUN(test_core__time_format_iso);
    TEST_RUN(test_core__time_parse_iso_round_trip_and_offsets);
    TEST_RUN(test_core__time_parse_iso_rejects);
    TEST_RUN(test_core__time_clocks_advance);
    TEST_RUN(test_core__crypto_random_id_and_token);
    TEST_RUN(test_core__crypto_time_id);
    TEST_RUN(test_core__crypto_small_buffers_abort);
    TEST_RUN(test_core__crypto_hex);
    TEST_RUN(test_core__crypto_base64_variants);
    TEST_RUN(test_core__crypto_sha256);
    TEST_RUN(test_core__crypto_hmac_rfc_vectors);
    TEST_RUN(test_core__crypto_equal);
    TEST_RUN(test_core__crypto_password_hash_verify);
    TEST_RUN(test_core__crypto_seal_open_round_trip);
    TEST_RUN(test_core__crypto_open_failures);
    TEST_RUN(test_core__config_defaults);
    TEST_RUN(test_core__config_env_override);
    TEST_RUN(test_core__config_dotenv_parsing);
    TEST_RUN(test_core__config_dotenv_malformed_line);
    TEST_RUN(test_core__config_unknown_sb_variable);
    TEST_RUN(test_core__config_bad_values_are_named);
    TEST_RUN(test_core__config_secret_never_echoed);
    TEST_RUN(test_core__config_print_order_and_redaction);
    TEST_RUN(test_core__config_print_redacts_url_password);
    TEST_RUN(test_core__config_production_problems);
    TEST_RUN(test_core__config_docs_cover_schema);
    TEST_RUN(test_core__log_line_is_json);
    TEST_RUN(test_core__log_lines_never_interleave);
    TEST_RUN(test_core__log_parse_level);
    TEST_DONE();
}
