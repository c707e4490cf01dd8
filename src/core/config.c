/*
 * config: the one schema of every setting, and its loader.
 *
 * config_schema[] lists each variable once (name, type, default, secret,
 * offset into struct config, doc line), in the style of redis
 * static_configs[]. Values come from the environment, else from the .env
 * file, else from the default; every value, defaults included, goes through
 * the same parser. Unknown SB_ names are refused to catch typos. Error
 * messages name the variable but never echo a secret's value.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

extern char **environ;

/* base64 of the 32 bytes "switchboard-development-key-0001": public, so
 * anything sealed with it is readable by anyone; production refuses it. */
const char config_dev_secret_key[] = "c3dpdGNoYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTAwMDE=";

#define CFG(name, type, def, secret, field, doc) {name, type, def, secret, offsetof(struct config, field), doc}

const struct config_def config_schema[] = {
    CFG("SB_ENV", CONFIG_STR, "development", 0, env,
        "\"development\" or \"production\"; production refuses unsafe settings."),
    CFG("SB_LISTEN", CONFIG_STR, "127.0.0.1:8080", 0, listen, "Address the HTTP server binds (HOST:PORT)."),
    CFG("SB_DATA_DIR", CONFIG_STR, "./data", 0, data_dir, "Directory for the SQLite database and local files."),
    CFG("SB_DATABASE_URL", CONFIG_STR, "", 0, database_url,
        "postgres://… to use PostgreSQL; empty for SQLite in SB_DATA_DIR."),
    CFG("SB_PUBLIC_URL", CONFIG_STR, "http://127.0.0.1:8080", 0, public_url,
        "The URL providers and browsers use to reach this server."),
    CFG("SB_SECRET_KEY", CONFIG_STR, config_dev_secret_key, 1, secret_key,
        "Master key wrapping the key ring; 32 bytes, base64. Production refuses the default."),
    CFG("SB_THREADS", CONFIG_INT, "0", 0, threads, "HTTP worker threads; 0 means one per CPU core."),
    CFG("SB_BODY_LIMIT", CONFIG_BYTES, "1048576", 0, body_limit,
        "Largest request body accepted; larger gets 413. Accepts suffixes KiB/MiB/GiB/K/M/G."),
    CFG("SB_HEADER_TIMEOUT", CONFIG_INT, "10", 0, header_timeout_s,
        "Seconds a client has to send the request headers."),
    CFG("SB_IDLE_TIMEOUT", CONFIG_INT, "60", 0, idle_timeout_s, "Seconds an idle keep-alive connection is kept."),
    CFG("SB_SHUTDOWN_GRACE", CONFIG_INT, "30", 0, shutdown_grace_s,
        "Seconds SIGTERM waits for in-flight requests."),
    CFG("SB_ALLOW_UNSIGNED_WEBHOOKS", CONFIG_BOOL, "false", 0, allow_unsigned_webhooks,
        "Accept webhooks without a valid signature (development only)."),
    CFG("SB_REQUIRE_API_KEYS", CONFIG_BOOL, "true", 0, require_api_keys,
        "When false and exactly one tenant exists, API requests without credentials act as that tenant's owner "
        "(development convenience)."),
    CFG("SB_CORS_ORIGINS", CONFIG_STR, "", 0, cors_origins,
        "Comma-separated origins allowed to call the API from a browser."),
    CFG("SB_COOKIE_SECURE", CONFIG_BOOL, "true", 0, cookie_secure, "Mark session cookies Secure."),
    CFG("SB_SESSION_TTL", CONFIG_INT, "43200", 0, session_ttl_s, "Seconds a dashboard session lasts."),
    CFG("SB_LOGIN_MAX_FAILURES", CONFIG_INT, "5", 0, login_max_failures,
        "Failed logins per client and email before throttling."),
    CFG("SB_LOGIN_WINDOW", CONFIG_INT, "900", 0, login_window_s, "Seconds over which login failures are counted."),
    CFG("SB_APIKEY_CACHE_MS", CONFIG_INT, "1000", 0, apikey_cache_ms,
        "Milliseconds a verified API key is trusted without a database lookup; a key revoked through this "
        "server stops working at once, one revoked elsewhere (CLI, another instance) within this time. 0 "
        "looks up every request."),
    CFG("SB_DB_POOL_SIZE", CONFIG_INT, "0", 0, db_pool_size, "Database connections; 0 means threads + workers + 4."),
    CFG("SB_DB_BUSY_TIMEOUT_MS", CONFIG_INT, "5000", 0, db_busy_timeout_ms, "SQLite busy timeout."),
    CFG("SB_LOG_LEVEL", CONFIG_STR, "info", 0, log_level, "debug, info, warn or error."),
    CFG("SB_LOG_FILE", CONFIG_STR, "", 0, log_file, "Append logs to this file instead of stderr."),
    CFG("SB_WORKERS", CONFIG_INT, "4", 0, workers,
        "Job worker threads per process (`serve` and `worker`): inbound processing and outbound sends."),
    CFG("SB_TWILIO_API_BASE", CONFIG_STR, "https://api.twilio.com", 0, twilio_api_base,
        "Base URL of the Twilio REST API (tests point it at tests/fakes/fake_twilio.py)."),
    CFG("SB_GRAPH_API_BASE", CONFIG_STR, "https://graph.facebook.com/v21.0", 0, graph_api_base,
        "Base URL of the Meta Graph API (WhatsApp and Instagram), version included (tests point it at "
        "tests/fakes/fake_meta.py and fake_instagram.py)."),
    CFG("SB_TELEGRAM_API_BASE", CONFIG_STR, "https://api.telegram.org", 0, telegram_api_base,
        "Base URL of the Telegram Bot API (tests point it at tests/fakes/fake_telegram.py)."),
    CFG("SB_SENDGRID_API_BASE", CONFIG_STR, "https://api.sendgrid.com", 0, sendgrid_api_base,
        "Base URL of the SendGrid v3 API (https://api.eu.sendgrid.com for EU regional subusers; tests point it "
        "at tests/fakes/fake_sendgrid.py)."),
    CFG("SB_PROVIDER_TIMEOUT_MS", CONFIG_INT, "10000", 0, provider_timeout_ms,
        "Milliseconds one provider API request may take before it counts as failed and is retried."),
    CFG("SB_SEND_MAX_ATTEMPTS", CONFIG_INT, "8", 0, send_max_attempts,
        "Tries of an outbound send that fails transiently (provider 5xx, timeout, 429) before it goes to the "
        "dead-letter queue, where an admin can retry or discard it."),
    CFG("SB_SEND_RETRY_BASE_MS", CONFIG_INT, "2000", 0, send_retry_base_ms,
        "Milliseconds before the first retry of a failed send; each retry doubles it (with full jitter) up to "
        "SB_SEND_RETRY_MAX_MS. A provider's Retry-After replaces it."),
    CFG("SB_SEND_RETRY_MAX_MS", CONFIG_INT, "600000", 0, send_retry_max_ms, "Longest delay between send retries."),
    CFG("SB_WEBHOOK_REPLAY_WINDOW", CONFIG_INT, "691200", 0, replay_window_s,
        "Seconds: a webhook whose signed provider timestamp is older is refused as a replay (WhatsApp and "
        "Instagram sign event timestamps in the body; Meta retries for up to 7 days, so the default is 8)."),
    CFG("SB_EVENT_RETENTION", CONFIG_INT, "604800", 0, event_retention_s,
        "Seconds the realtime event log keeps events for WebSocket clients to resume from (default 7 days); a "
        "client that was away longer gets a resync message and reloads its state."),
    CFG("SB_WEB_DIR", CONFIG_STR, "web/dist", 0, web_dir,
        "Directory of the built dashboard (index.html, assets/, widget.js), relative to the working directory "
        "unless absolute; loaded into memory once at start and served at /. When it does not exist the server "
        "runs API-only and / explains how to build it (bash scripts/web.sh); empty turns the dashboard off."),
    CFG("SB_MEDIA_DIR", CONFIG_STR, "", 0, media_dir,
        "Directory of the media store (inbound pictures, voice notes and documents); empty means "
        "<SB_DATA_DIR>/media."),
    CFG("SB_MEDIA_MAX_BYTES", CONFIG_BYTES, "16MiB", 0, media_max_bytes,
        "Largest inbound media file downloaded and stored; a larger one is recorded as too large and the "
        "message kept without it. Accepts suffixes KiB/MiB/GiB/K/M/G."),
    CFG("SB_MEDIA_URL_TTL", CONFIG_INT, "900", 0, media_url_ttl_s,
        "Seconds a signed media URL (GET /media/{id}) stays valid after the API hands it out."),
    CFG("SB_ASSISTANT_LLM_TIMEOUT_MS", CONFIG_INT, "20000", 0, assistant_llm_timeout_ms,
        "Milliseconds one call to a tenant's LLM provider may take (each attempt) before the assistant gives up on "
        "it and answers from the knowledge base (extractive) or hands over."),
    CFG("SB_ASSISTANT_BREAKER_FAILURES", CONFIG_INT, "5", 0, assistant_breaker_failures,
        "Consecutive failed calls to an LLM provider after which its circuit opens: calls fail fast and the "
        "assistant answers extractively until a trial call succeeds."),
    CFG("SB_ASSISTANT_BREAKER_COOLDOWN_MS", CONFIG_INT, "30000", 0, assistant_breaker_cooldown_ms,
        "Milliseconds an open LLM circuit waits before one trial call is let through."),
    CFG("SB_WIDGET_RATE_IP", CONFIG_INT, "120", 0, widget_rate_ip,
        "Website chat widget API: requests per minute one client IP may make (token bucket refill); over it the "
        "API answers 429 with Retry-After."),
    CFG("SB_WIDGET_BURST_IP", CONFIG_INT, "30", 0, widget_burst_ip,
        "Website chat widget API: requests one client IP may make at once before SB_WIDGET_RATE_IP applies."),
    CFG("SB_WIDGET_RATE_TOKEN", CONFIG_INT, "1200", 0, widget_rate_token,
        "Website chat widget API: requests per minute for one widget token (all visitors of one website chat "
        "together)."),
    CFG("SB_WIDGET_BURST_TOKEN", CONFIG_INT, "200", 0, widget_burst_token,
        "Website chat widget API: requests one widget token may take at once before SB_WIDGET_RATE_TOKEN applies."),
    {NULL, CONFIG_STR, NULL, 0, 0, NULL},
};

/* Ranges of the numeric settings, kept beside the schema (by name) so the
 * public struct config_def stays as the contract defines it. */
struct config_range {
    const char *name;
    int64_t min, max;
};

static const struct config_range config_ranges[] = {
    {"SB_THREADS", 0, 1024},
    {"SB_BODY_LIMIT", 1024, 1024LL * 1024 * 1024},
    {"SB_HEADER_TIMEOUT", 1, 86400},
    {"SB_IDLE_TIMEOUT", 1, 86400},
    {"SB_SHUTDOWN_GRACE", 1, 86400},
    {"SB_SESSION_TTL", 1, 366LL * 86400},
    {"SB_LOGIN_MAX_FAILURES", 1, 1000000},
    {"SB_LOGIN_WINDOW", 1, 366LL * 86400},
    {"SB_APIKEY_CACHE_MS", 0, 60000},
    {"SB_DB_POOL_SIZE", 0, 512},
    {"SB_DB_BUSY_TIMEOUT_MS", 1, 3600000},
    {"SB_WORKERS", 0, 256},
    {"SB_PROVIDER_TIMEOUT_MS", 100, 600000},
    {"SB_WEBHOOK_REPLAY_WINDOW", 60, 366LL * 86400},
    {"SB_SEND_MAX_ATTEMPTS", 1, 100},
    {"SB_SEND_RETRY_BASE_MS", 1, 3600000},
    {"SB_SEND_RETRY_MAX_MS", 1, 86400000},
    {"SB_EVENT_RETENTION", 1, 366LL * 86400},
    {"SB_MEDIA_MAX_BYTES", 1024, 1024LL * 1024 * 1024},
    {"SB_MEDIA_URL_TTL", 10, 7LL * 86400},
    {"SB_WIDGET_RATE_IP", 1, 1000000},
    {"SB_WIDGET_BURST_IP", 1, 1000000},
    {"SB_WIDGET_RATE_TOKEN", 1, 10000000},
    {"SB_WIDGET_BURST_TOKEN", 1, 10000000},
};

/* SB_ names the tooling uses that are not settings (scripts/test.sh knobs,
 * the integration harness): they may sit in the environment of a server a
 * test starts, so they are exempt from the unknown-name check. */
static const char *const config_foreign[] = {"SB_BIN",       "SB_SOURCE_DIR",     "SB_JOBS", "SB_FUZZ_SECONDS",
                                             "SB_BUILD_DIR", "SB_FUZZ_BUILD_DIR", "SB_CC",   NULL};
#define CONFIG_FOREIGN_PREFIX "SB_TEST_"

static const struct config_def *config_find(const char *name, size_t len)
{
    for (const struct config_def *d = config_schema; d->name; d++)
        if (strlen(d->name) == len && memcmp(d->name, name, len) == 0)
            return d;
    return NULL;
}

static int config_is_foreign(const char *name, size_t len)
{
    if (len >= strlen(CONFIG_FOREIGN_PREFIX) &&
        memcmp(name, CONFIG_FOREIGN_PREFIX, strlen(CONFIG_FOREIGN_PREFIX)) == 0)
        return 1;
    for (const char *const *f = config_foreign; *f; f++)
        if (strlen(*f) == len && memcmp(*f, name, len) == 0)
            return 1;
    return 0;
}

/* How a bad value is shown in an error: quoted, or redacted for secrets. */
static const char *config_shown(const struct config_def *d, const char *value, char *tmp, size_t tmplen)
{
    size_t i, o = 0;

    if (d->secret)
        return "(redacted)";
    /* Printable ASCII only, so a message stays one clean line. */
    tmp[o++] = '"';
    for (i = 0; value[i] && o + 5 < tmplen; i++)
        tmp[o++] = isprint((unsigned char)value[i]) ? value[i] : '?';
    if (value[i] && o + 4 < tmplen) {
        memcpy(tmp + o, "...", 3);
        o += 3;
    }
    tmp[o++] = '"';
    tmp[o] = '\0';
    return tmp;
}

static int config_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return ERR_INVALID;
}

/* A whole decimal number, optionally followed (for bytes) by a unit. */
static int config_parse_int(const char *v, int bytes, int64_t *out)
{
    static const struct { const char *sfx; int64_t mul; } units[] = {
        {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024LL * 1024 * 1024},
        {"K", 1024},   {"M", 1024 * 1024},   {"G", 1024LL * 1024 * 1024},
    };
    char *end;
    long long n;
    int64_t mul = 1;

    if (!isdigit((unsigned char)v[0]) && !(v[0] == '-' && isdigit((unsigned char)v[1])))
        return ERR_INVALID;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno)
        return ERR_INVALID;
    if (*end) {
        size_t i;

        if (!bytes)
            return ERR_INVALID;
        while (*end == ' ')
            end++;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcasecmp(end, units[i].sfx) == 0)
                break;
        if (i == sizeof(units) / sizeof(units[0]))
            return ERR_INVALID;
        mul = units[i].mul;
    }
    if (n > INT64_MAX / mul || n < INT64_MIN / mul)
        return ERR_INVALID;
    *out = (int64_t)n * mul;
    return 0;
}

/* Checks on particular string settings. NULL when fine, else the reason. */
static const char *config_check_str(const struct config_def *d, const char *v)
{
    if (strcmp(d->name, "SB_ENV") == 0) {
        if (strcmp(v, "development") != 0 && strcmp(v, "production") != 0)
            return "expected development or production";
    } else if (strcmp(d->name, "SB_LOG_LEVEL") == 0) {
        enum log_level lv;

        if (log_parse_level(v, &lv) != 0)
            return "expected debug, info, warn or error";
    } else if (strcmp(d->name, "SB_LISTEN") == 0) {
        const char *colon = strrchr(v, ':');
        char *end;
        long port;

        if (!colon || colon == v)
            return "expected HOST:PORT";
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 0 || port > 65535)
            return "expected HOST:PORT with a port 0..65535";
    } else if (strcmp(d->name, "SB_PUBLIC_URL") == 0 || strcmp(d->name, "SB_TWILIO_API_BASE") == 0 ||
               strcmp(d->name, "SB_GRAPH_API_BASE") == 0 || strcmp(d->name, "SB_TELEGRAM_API_BASE") == 0 ||
               strcmp(d->name, "SB_SENDGRID_API_BASE") == 0) {
        /* Webhook URLs and provider requests are built as base + "/path". */
        size_t n = strlen(v);
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
            return "expected an http:// or https:// URL";
        if (n > 0 && v[n - 1] == '/')
            return "expected a URL without a trailing slash";
    }
    return NULL;
}

/* Parse value for row d and store it in c (replacing any old string). */
static int config_apply(struct config *c, const struct config_def *d, const char *value, const char *origin,
                        struct err *e)
{
    char *field = (char *)c + d->offset;
    char tmp[80];
    const char *why;
    int64_t n;
    int b;

    switch (d->type) {
    case CONFIG_STR: {
        char *s;

        if ((why = config_check_str(d, value)) != NULL)
            return err_set(e, ERR_INVALID, "invalid_config", "%s%s: invalid value %s: %s", d->name, origin,
                           config_shown(d, value, tmp, sizeof(tmp)), why);
        s = strdup(value);
        if (!s)
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
        free(*(char **)(void *)field);
        *(char **)(void *)field = s;
        return 0;
    }
    case CONFIG_BOOL:
        if (config_parse_bool(value, &b) != 0)
            return err_set(e, ERR_INVALID, "invalid_config",
                           "%s%s: invalid value %s: expected true/false, 1/0, yes/no or on/off", d->name, origin,
                           config_shown(d, value, tmp, sizeof(tmp)));
        *(int *)(void *)field = b;
        return 0;
    case CONFIG_INT:
    case CONFIG_BYTES: {
        int64_t min = INT64_MIN, max = INT64_MAX;

        for (size_t i = 0; i < sizeof(config_ranges) / sizeof(config_ranges[0]); i++)
            if (strcmp(config_ranges[i].name, d->name) == 0) {
                min = config_ranges[i].min;
                max = config_ranges[i].max;
            }
        if (config_parse_int(value, d->type == CONFIG_BYTES, &n) != 0 || n < min || n > max)
            return err_set(e, ERR_INVALID, "invalid_config",
                           "%s%s: invalid value %s: expected a whole number%s from %lld to %lld", d->name, origin,
                           config_shown(d, value, tmp, sizeof(tmp)),
                           d->type == CONFIG_BYTES ? " of bytes (suffix K/KiB, M/MiB, G/GiB allowed)" : "",
                           (long long)min, (long long)max);
        *(int64_t *)(void *)field = n;
        return 0;
    }
    }
    return err_set(e, ERR_INTERNAL, NULL, "%s: unknown type", d->name);
}

/* ------------------------------------------------------------ .env file */

struct env_entry {
    char *name;
    char *value;
    int line;
};

struct env_file {
    struct env_entry *v;
    size_t n, cap;
};

static void env_file_free(struct env_file *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        if (f->v[i].value)
            explicit_bzero(f->v[i].value, strlen(f->v[i].value));
        free(f->v[i].value);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

static const struct env_entry *env_file_get(const struct env_file *f, const char *name)
{
    /* Last assignment wins, as in a shell. */
    for (size_t i = f->n; i > 0; i--)
        if (strcmp(f->v[i - 1].name, name) == 0)
            return &f->v[i - 1];
    return NULL;
}

/* Parse one line (NUL-terminated, no newline). Adds to f; 0, or the
 * reason it is malformed. */
static const char *env_parse_line(struct env_file *f, char *s, int lineno)
{
    char *name, *val, *end;
    struct buf v = {0};

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#')
        return NULL;
    if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t')) {
        s += 6;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    name = s;
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return "expected NAME=VALUE";
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    end = s;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s != '=')
        return "expected NAME=VALUE";
    *end = '\0';
    s++;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '"' || *s == '\'') {
        char q = *s++;

        for (; *s && *s != q; s++) {
            if (q == '"' && *s == '\\' && s[1]) {
                s++;
                buf_putc(&v, *s == 'n' ? '\n' : *s == 't' ? '\t' : *s);
            } else {
                buf_putc(&v, *s);
            }
        }
        if (*s != q) {
            buf_free(&v);
            return "unterminated quote";
        }
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '\0' && *s != '#') {
            buf_free(&v);
            return "unexpected text after the closing quote";
        }
    } else {
        /* Unquoted: up to a comment that follows whitespace, trimmed. */
        val = s;
        for (; *s; s++)
            if (*s == '#' && s > val && (s[-1] == ' ' || s[-1] == '\t'))
                break;
        while (s > val && (s[-1] == ' ' || s[-1] == '\t'))
            s--;
        buf_append(&v, val, (size_t)(s - val));
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        struct env_entry *nv = realloc(f->v, ncap * sizeof(*nv));

        if (!nv) {
            buf_free(&v);
            return "out of memory";
        }
        f->v = nv;
        f->cap = ncap;
    }
    f->v[f->n].name = strdup(name);
    f->v[f->n].value = buf_steal(&v);
    f->v[f->n].line = lineno;
    if (!f->v[f->n].name) {
        free(f->v[f->n].value);
        return "out of memory";
    }
    f->n++;
    return NULL;
}

static int env_file_load(struct env_file *f, const char *path, struct err *e)
{
    struct buf content = {0};
    char chunk[4096];
    FILE *fp;
    size_t n;
    char *line, *next;
    int lineno = 0, rc = 0;

    fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT)
            return 0;
        return err_set(e, ERR_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&content, chunk, n);
    if (ferror(fp)) {
        rc = err_set(e, ERR_IO, NULL, "cannot read %s", path);
        goto out;
    }
    buf_reserve(&content, 0);
    if (memchr(content.data, '\0', content.len)) {
        rc = err_set(e, ERR_INVALID, "invalid_config", "%s: contains a NUL byte", path);
        goto out;
    }
    for (line = content.data; line; line = next) {
        const char *why;
        size_t len;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        if ((why = env_parse_line(f, line, lineno)) != NULL) {
            rc = err_set(e, ERR_INVALID, "invalid_config", "%s line %d: %s", path, lineno, why);
            goto out;
        }
    }
out:
    if (content.data)
        explicit_bzero(content.data, content.len);
    buf_free(&content);
    fclose(fp);
    return rc;
}

/* ---------------------------------------------------------------- public */

int config_load(struct config *out, const char *env_file, struct err *e)
{
    struct env_file ef = {0};
    const char *path = env_file ? env_file : ".env";
    char origin[300];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (path[0]) {
        rc = env_file_load(&ef, path, e);
        if (rc)
            goto out;
    }
    /* Typo protection: an SB_ name the schema does not know is an error. */
    for (size_t i = 0; i < ef.n; i++) {
        const char *nm = ef.v[i].name;

        if (strncmp(nm, "SB_", 3) == 0 && !config_find(nm, strlen(nm)) && !config_is_foreign(nm, strlen(nm))) {
            rc = err_set(e, ERR_INVALID, "invalid_config", "%s line %d: unknown variable %s", path, ef.v[i].line,
                         nm);
            goto out;
        }
    }
    for (char **ev = environ; ev && *ev; ev++) {
        const char *eq = strchr(*ev, '=');
        size_t len = eq ? (size_t)(eq - *ev) : strlen(*ev);

        if (strncmp(*ev, "SB_", 3) == 0 && !config_find(*ev, len) && !config_is_foreign(*ev, len)) {
            rc = err_set(e, ERR_INVALID, "invalid_config", "unknown variable %.*s in the environment",
                         (int)(len > 64 ? 64 : len), *ev);
            goto out;
        }
    }
    for (const struct config_def *d = config_schema; d->name; d++) {
        const char *v = getenv(d->name);
        const struct env_entry *fe;

        origin[0] = '\0';
        if (!v && (fe = env_file_get(&ef, d->name)) != NULL) {
            v = fe->value;
            snprintf(origin, sizeof(origin), " (%s line %d)", path, fe->line);
        }
        if (!v) {
            v = d->def;
            snprintf(origin, sizeof(origin), " (default)");
        }
        rc = config_apply(out, d, v, origin, e);
        if (rc)
            goto out;
    }
out:
    env_file_free(&ef);
    if (rc)
        config_free(out);
    return rc;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (const struct config_def *d = config_schema; d->name; d++) {
        char **p;

        if (d->type != CONFIG_STR)
            continue;
        p = (char **)(void *)((char *)c + d->offset);
        if (*p && d->secret)
            explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

int config_set(struct config *c, const char *name, const char *value, struct err *e)
{
    const struct config_def *d;

    if (!name || !value)
        return err_set(e, ERR_INVALID, "invalid_config", "configuration name or value missing");
    d = config_find(name, strlen(name));
    if (!d)
        return err_set(e, ERR_INVALID, "invalid_config", "unknown variable %.64s", name);
    return config_apply(c, d, value, "", e);
}

int config_is_production(const struct config *c)
{
    return c->env && strcmp(c->env, "production") == 0;
}

/* NAME=value, with the password of a URL's userinfo redacted: a
 * postgres://user:password@host URL in SB_DATABASE_URL is not a schema
 * secret as a whole, but its password is. */
static void config_print_str(FILE *f, const char *name, const char *v)
{
    const char *scheme = strstr(v, "://"), *auth, *at, *colon, *slash;

    if (scheme) {
        auth = scheme + 3;
        slash = strchr(auth, '/');
        at = strchr(auth, '@');
        if (at && (!slash || at < slash)) {
            colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon) {
                fprintf(f, "%s=%.*s(redacted)%s\n", name, (int)(colon + 1 - v), v, at);
                return;
            }
        }
    }
    fprintf(f, "%s=%s\n", name, v);
}

void config_print(const struct config *c, FILE *f)
{
    for (const struct config_def *d = config_schema; d->name; d++) {
        const char *field = (const char *)c + d->offset;

        switch (d->type) {
        case CONFIG_STR: {
            const char *s = *(char *const *)(const void *)field;

            if (d->secret)
                fprintf(f, "%s=(redacted, %s)\n", d->name, s && strcmp(s, d->def) == 0 ? "default" : "set");
            else
                config_print_str(f, d->name, s ? s : "");
            break;
        }
        case CONFIG_BOOL:
            fprintf(f, "%s=%s\n", d->name, *(const int *)(const void *)field ? "true" : "false");
            break;
        case CONFIG_INT:
        case CONFIG_BYTES:
            fprintf(f, "%s=%lld\n", d->name, (long long)*(const int64_t *)(const void *)field);
            break;
        }
    }
}

int config_check_production(const struct config *c, struct buf *problems)
{
    uint8_t key[CRYPTO_KEY_BYTES];
    int n = 0;

    if (!c->env || (strcmp(c->env, "development") != 0 && strcmp(c->env, "production") != 0)) {
        buf_puts(problems, "SB_ENV must be development or production\n");
        n++;
    }
    if (!c->secret_key || !c->secret_key[0]) {
        buf_puts(problems, "SB_SECRET_KEY is empty: set 32 random bytes in base64 (openssl rand -base64 32)\n");
        n++;
    } else if (strcmp(c->secret_key, config_dev_secret_key) == 0) {
        buf_puts(problems, "SB_SECRET_KEY is the public development default: set 32 random bytes in base64 "
                           "(openssl rand -base64 32)\n");
        n++;
    } else if (config_master_key(c, key, NULL) != 0) {
        buf_puts(problems, "SB_SECRET_KEY does not decode to exactly 32 bytes of base64\n");
        n++;
    }
    explicit_bzero(key, sizeof(key));
    if (c->allow_unsigned_webhooks) {
        buf_puts(problems, "SB_ALLOW_UNSIGNED_WEBHOOKS is true: forged webhooks would be accepted\n");
        n++;
    }
    if (!c->public_url || strncmp(c->public_url, "https://", 8) != 0) {
        buf_puts(problems, "SB_PUBLIC_URL is not an https:// URL: providers sign and deliver webhooks to it, "
                           "and Meta delivers to HTTPS only\n");
        n++;
    }
    return n;
}

static const char *config_type_name(enum config_type t)
{
    switch (t) {
    case CONFIG_STR: return "string";
    case CONFIG_INT: return "integer";
    case CONFIG_BOOL: return "bool";
    case CONFIG_BYTES: return "bytes";
    }
    return "?";
}

void config_write_docs(FILE *f)
{
    fputs("# Configuration\n\n", f);
    fputs("This page is generated from the schema in `src/core/config.c` by `switchboard gen-docs`; "
          "do not edit it by hand.\n\n",
          f);
    fputs("| Variable | Type | Default | Secret | Description |\n", f);
    fputs("|---|---|---|---|---|\n", f);
    for (const struct config_def *d = config_schema; d->name; d++) {
        const char *def = d->def;

        fprintf(f, "| `%s` | %s | ", d->name, config_type_name(d->type));
        if (d->secret)
            fputs("(development key)", f);
        else if (!def[0])
            fputs("(empty)", f);
        else
            fprintf(f, "`%s`", def);
        fprintf(f, " | %s | ", d->secret ? "yes" : "no");
        for (const char *p = d->doc; *p; p++) {
            if (*p == '|')
                fputs("\\|", f);
            else
                fputc(*p, f);
        }
        fputs(" |\n", f);
    }
    fputs("\n## Sources and precedence\n\n", f);
    fputs("Each variable is read from the process environment first, then from a `.env` file in the working "
          "directory, then from the default above. Command-line flags such as `--listen` and `--data` override "
          "all three.\n\n",
          f);
    fputs("The `.env` file holds `NAME=VALUE` lines; blank lines and lines starting with `#` are ignored, an "
          "`export ` prefix is allowed, and a value may be wrapped in single or double quotes. A malformed line "
          "is an error that names its line number.\n\n",
          f);
    fputs("A name starting with `SB_` that is not listed above is an error, so a typo cannot silently fall back "
          "to a default. Booleans accept true/false, 1/0, yes/no and on/off. Secret values are never printed: "
          "`switchboard doctor` shows them as redacted.\n\n",
          f);
    fputs("With `SB_ENV=production` the server refuses to start with the default or a missing `SB_SECRET_KEY`, "
          "with `SB_ALLOW_UNSIGNED_WEBHOOKS=true`, with an `SB_PUBLIC_URL` that is not https://, or with more "
          "than one tenant while `SB_REQUIRE_API_KEYS` is false.\n",
          f);
}

int config_master_key(const struct config *c, uint8_t out[CRYPTO_KEY_BYTES], struct err *e)
{
    uint8_t tmp[CRYPTO_KEY_BYTES * 2];
    int n;

    if (!c->secret_key || !c->secret_key[0])
        return err_set(e, ERR_INVALID, "invalid_config", "SB_SECRET_KEY is empty");
    n = crypto_unbase64(tmp, sizeof(tmp), c->secret_key, strlen(c->secret_key));
    if (n != CRYPTO_KEY_BYTES) {
        explicit_bzero(tmp, sizeof(tmp));
        return err_set(e, ERR_INVALID, "invalid_config", "SB_SECRET_KEY must be base64 of exactly 32 bytes");
    }
    memcpy(out, tmp, CRYPTO_KEY_BYTES);
    explicit_bzero(tmp, sizeof(tmp));
    return 0;
}
