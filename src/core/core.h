/*
 * core: the pieces every other module stands on.
 *
 * Errors (struct err), growable buffers (struct buf), a per-request arena,
 * JSON helpers over cJSON, time, crypto helpers (random ids, hashes, HMAC,
 * constant-time compare, password hashing, secret box), configuration and
 * JSON-lines logging. Nothing here touches the database or the network.
 *
 * Conventions: fallible functions return 0 or a negative enum err_code and,
 * when given a struct err *, fill it with a one-line message and a stable
 * machine-readable code ("invalid_json") that the HTTP layer returns as is.
 */
#ifndef SB_CORE_H
#define SB_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* ---------------------------------------------------------------- errors */

enum err_code {
    ERR_OK = 0,
    ERR_NOMEM = -1,
    ERR_INVALID = -2,      /* bad input from the caller: 400 */
    ERR_NOTFOUND = -3,     /* 404 */
    ERR_CONFLICT = -4,     /* 409 */
    ERR_UPSTREAM = -5,     /* a provider or the database failed: 502/503 */
    ERR_TIMEOUT = -6,      /* 504 */
    ERR_UNAUTHORIZED = -7, /* 401 */
    ERR_FORBIDDEN = -8,    /* 403 */
    ERR_TOOLARGE = -9,     /* 413 */
    ERR_RATELIMIT = -10,   /* 429 */
    ERR_IO = -11,          /* local I/O or database error: 500 */
    ERR_INTERNAL = -12,    /* a bug or an impossible state: 500 */
};

struct err {
    int code;        /* enum err_code */
    char slug[48];   /* stable API code, e.g. "invalid_json"; "" means derive from code */
    char msg[256];   /* one line for humans; never contains secrets */
};

/* Fill e (if not NULL) and return code. slug may be NULL. */
int err_set(struct err *e, int code, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reset e to ERR_OK. */
void err_clear(struct err *e);
/* The default slug for a code ("not_found", "invalid_request", ...). */
const char *err_code_slug(int code);
/* e->slug if set, else err_code_slug(e->code). */
const char *err_slug(const struct err *e);

/* --------------------------------------------------------------- buffers */

/* A growable byte buffer, always NUL-terminated when len > 0 or after any append.
 * Zero-initialise ({0}) to use; buf_free releases. Appends abort on OOM
 * (like h2o: an allocation failure of a few bytes is not recoverable here). */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal, quotes included; NULL appends null. */
void buf_json_str(struct buf *b, const char *s);
/* Append a Unix-ms time as a JSON RFC 3339 string; ms <= 0 (never) appends null. */
void buf_json_time(struct buf *b, int64_t unix_ms);
void buf_reset(struct buf *b); /* len = 0, keeps memory */
void buf_free(struct buf *b);
/* Hand the data to the caller (who frees it) and reset b. Never NULL. */
char *buf_steal(struct buf *b);

/* ----------------------------------------------------------------- arena */

/* Bump allocator that frees everything at once. One per request. */
struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a); /* NULL is a no-op */
void *arena_alloc(struct arena *a, size_t n); /* zeroed, 16-byte aligned; aborts on OOM */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ JSON */

/* Parse untrusted JSON of exactly len bytes. Returns 0 and *out (caller
 * cJSON_Deletes), or ERR_INVALID with slug "invalid_json" and the byte offset. */
int json_parse(cJSON **out, const char *data, size_t len, struct err *e);
/* Object member as a string; NULL if absent or not a string. */
const char *json_str(const cJSON *obj, const char *name);
/* Object member as an exact integer (|v| <= 2^53). Returns 0 and *out,
 * ERR_NOTFOUND when absent, ERR_INVALID when not an exact integer. */
int json_int(const cJSON *obj, const char *name, int64_t *out);
/* Object member as a bool; def when absent, ERR-free. */
int json_bool(const cJSON *obj, const char *name, int def);
/* Print compactly into a malloc'd string (caller frees). */
char *json_print(const cJSON *v);

/* ------------------------------------------------------------------ time */

int64_t time_now_ms(void);   /* wall clock, Unix ms */
int64_t time_mono_ns(void);  /* monotonic, for durations */
/* RFC 3339 UTC with milliseconds: 2026-11-24T09:27:23.123Z (needs 25 bytes). */
void time_format_iso(int64_t unix_ms, char out[32]);
/* Parse RFC 3339 (Z or +hh:mm); returns 0 and *out_ms, or ERR_INVALID. */
int time_parse_iso(const char *s, int64_t *out_ms);

/* ---------------------------------------------------------------- crypto */

/* Must be called once before threads start (initialises libsodium). */
int crypto_init(void);
void crypto_random(void *out, size_t n);
/* prefix + "_" + 26 lowercase base32 chars (130 random bits): "ten_…".
 * out must hold strlen(prefix) + 28 bytes; CORE_ID_MAX covers prefixes <= 8. */
#define CORE_ID_MAX 40
void crypto_random_id(char *out, size_t outlen, const char *prefix);
/* Like crypto_random_id (same length and characters), but the first 10
 * characters encode unix_ms so ids sort by creation time (then 80 random
 * bits): rows inserted together land together in a B-tree index instead of
 * on a random page each. For high-volume rows whose id may reveal its time. */
void crypto_time_id(char *out, size_t outlen, const char *prefix, int64_t unix_ms);
/* Random bytes for identifiers (ids, request ids, jitter): from a per-thread
 * buffer of kernel randomness (refilled 4 KiB at a time, never shared
 * across a fork). Use crypto_random for keys and secrets. */
void crypto_random_fast(void *out, size_t n);
/* n random bytes as URL-safe base64 without padding (tokens, keys). */
void crypto_random_token(char *out, size_t outlen, size_t nbytes);
void crypto_hex(char *out, const void *data, size_t n); /* out: 2n+1 bytes */
int crypto_unhex(void *out, size_t outlen, const char *hex); /* returns bytes or ERR_INVALID */
/* Standard base64 with padding; out needs base64_len(n) bytes. */
size_t crypto_base64_len(size_t n);
void crypto_base64(char *out, size_t outlen, const void *data, size_t n);
/* Decode standard or URL-safe base64 (padding optional). Returns bytes or ERR_INVALID. */
int crypto_unbase64(void *out, size_t outlen, const char *b64, size_t b64len);
void crypto_sha256(uint8_t out[32], const void *data, size_t n);
void crypto_sha256_hex(char out[65], const void *data, size_t n);
void crypto_hmac_sha1(uint8_t out[20], const void *key, size_t keylen, const void *data, size_t n);
void crypto_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *data, size_t n);
/* Constant-time equality of two byte strings (length leaks, contents do not). */
int crypto_equal(const void *a, size_t alen, const void *b, size_t blen);
/* argon2id (libsodium, interactive limits). out holds the encoded hash (128 bytes). */
#define CRYPTO_PWHASH_MAX 128
int crypto_password_hash(char out[CRYPTO_PWHASH_MAX], const char *password, struct err *e);
/* 1 when password matches hash, 0 otherwise. */
int crypto_password_verify(const char *hash, const char *password);

/* Secret box with a key id: "sb1:<key_id>:<base64(nonce|ciphertext)>".
 * seal returns a malloc'd string; open writes a malloc'd plaintext (NUL-terminated)
 * and its length. The key is looked up by id through the callback. */
#define CRYPTO_KEY_BYTES 32
typedef int (*crypto_key_lookup_fn)(void *ud, const char *key_id, uint8_t key[CRYPTO_KEY_BYTES]);
int crypto_seal(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *key_id,
                const void *plain, size_t n, struct err *e);
int crypto_open(char **out, size_t *outlen, const char *sealed, crypto_key_lookup_fn lookup, void *ud,
                struct err *e);
/* The key id a sealed string names (copied into out); ERR_INVALID if malformed. */
int crypto_sealed_key_id(char *out, size_t outlen, const char *sealed);

/* ---------------------------------------------------------------- config */

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_BOOL, CONFIG_BYTES };

/* The effective configuration, parsed once and then read-only. */
struct config {
    char *env;             /* "development" or "production" */
    char *listen;          /* HOST:PORT */
    char *data_dir;
    char *database_url;    /* "" means SQLite under data_dir */
    char *public_url;
    char *secret_key;      /* base64 of 32 bytes: the master key that wraps the key ring */
    int64_t threads;
    int64_t body_limit;
    int64_t header_timeout_s;
    int64_t idle_timeout_s;
    int64_t shutdown_grace_s;
    int allow_unsigned_webhooks;
    int require_api_keys;
    char *cors_origins;    /* comma-separated allowlist; "" allows none */
    int cookie_secure;
    int64_t session_ttl_s;
    int64_t login_max_failures;
    int64_t login_window_s;
    int64_t apikey_cache_ms;
    int64_t db_pool_size;
    int64_t db_busy_timeout_ms;
    char *log_level;
    char *log_file;        /* "" means stderr */
    int64_t workers;       /* job worker threads per process */
    char *twilio_api_base; /* provider base URLs: the real hosts, or tests/fakes/ */
    char *graph_api_base;
    char *telegram_api_base;
    char *sendgrid_api_base;
    int64_t provider_timeout_ms;
    int64_t replay_window_s; /* oldest signed provider timestamp a webhook may carry */
    int64_t send_max_attempts;   /* outbound sends: tries before the dead-letter queue */
    int64_t send_retry_base_ms;  /* first retry delay (full jitter, doubling) */
    int64_t send_retry_max_ms;   /* retry delay cap */
    int64_t event_retention_s; /* how long the realtime event log keeps events */
    char *web_dir;             /* the built dashboard, served at / (http) */
    char *media_dir;           /* the media store; "" means <data_dir>/media */
    int64_t media_max_bytes;   /* largest inbound media file stored */
    int64_t media_url_ttl_s;   /* lifetime of a signed media URL */
    int64_t assistant_llm_timeout_ms;      /* each LLM attempt */
    int64_t assistant_breaker_failures;    /* consecutive failures that open an LLM circuit */
    int64_t assistant_breaker_cooldown_ms; /* before an open circuit's trial call */
    /* website chat widget API: token buckets (requests per minute, burst) */
    int64_t widget_rate_ip;
    int64_t widget_burst_ip;
    int64_t widget_rate_token;
    int64_t widget_burst_token;
};

struct config_def {
    const char *name;      /* SB_… */
    enum config_type type;
    const char *def;       /* default as text */
    int secret;            /* redacted by doctor and never logged */
    size_t offset;         /* into struct config */
    const char *doc;
};

/* The schema: NULL-terminated. */
extern const struct config_def config_schema[];

/* Load from the environment, then (for names not in the environment) from
 * env_file if it exists (NULL: ".env" in the working directory; "" for none),
 * then defaults. ERR_INVALID names the variable. */
int config_load(struct config *out, const char *env_file, struct err *e);
void config_free(struct config *c);
/* Set one value by name from text (CLI flags use this). */
int config_set(struct config *c, const char *name, const char *value, struct err *e);
int config_is_production(const struct config *c);
/* Write NAME=value lines with secrets redacted. */
void config_print(const struct config *c, FILE *f);
/* Append one line per unsafe production setting to problems; returns how many.
 * Checks only what the config itself shows (the tenant count needs the DB). */
int config_check_production(const struct config *c, struct buf *problems);
/* The Markdown reference, docs/configuration.md. */
void config_write_docs(FILE *f);
/* The master key decoded from secret_key; ERR_INVALID if not 32 bytes of base64. */
int config_master_key(const struct config *c, uint8_t out[CRYPTO_KEY_BYTES], struct err *e);
/* The development default secret key: accepted in dev, refused in production. */
extern const char config_dev_secret_key[];

/* --------------------------------------------------------------- logging */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Who a log line is about; any field may be NULL. */
struct log_ctx {
    const char *request_id;
    const char *trace_id;
    const char *tenant_id;
};

/* Process-wide sink and level, set once at start (before threads). f NULL = stderr. */
void log_init(enum log_level level, FILE *f);
int log_parse_level(const char *s, enum log_level *out);
int log_enabled(enum log_level level);
/* One JSON line: {"time","level","msg", ids..., extra}. extra is a pre-built
 * JSON fragment of members without braces ("\"status\":200") or NULL.
 * Never pass secrets, passwords or message bodies. */
void log_write(enum log_level level, const struct log_ctx *ctx, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(ctx, ...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, ctx, NULL, __VA_ARGS__); } while (0)
#define log_info(ctx, ...) do { if (log_enabled(LOG_INFO)) log_write(LOG_INFO, ctx, NULL, __VA_ARGS__); } while (0)
#define log_warn(ctx, ...) do { if (log_enabled(LOG_WARN)) log_write(LOG_WARN, ctx, NULL, __VA_ARGS__); } while (0)
#define log_error(ctx, ...) do { if (log_enabled(LOG_ERROR)) log_write(LOG_ERROR, ctx, NULL, __VA_ARGS__); } while (0)

#endif
