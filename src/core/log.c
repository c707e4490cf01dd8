/*
 * log: JSON-lines logging to one process-wide sink.
 *
 * The level and FILE* are set once by log_init before threads start; they
 * are the only process-wide state here, because every module logs and a
 * logger threaded through every call would buy nothing. Each line is built
 * in a private buffer and written with one fwrite under a mutex, then
 * flushed, so lines from concurrent threads never interleave.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

static enum log_level log_min = LOG_INFO;
static FILE *log_sink;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_init(enum log_level level, FILE *f)
{
    pthread_mutex_lock(&log_lock);
    log_min = level;
    log_sink = f;
    pthread_mutex_unlock(&log_lock);
}

int log_parse_level(const char *s, enum log_level *out)
{
    if (!s)
        return ERR_INVALID;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return ERR_INVALID;
}

int log_enabled(enum log_level level)
{
    return level >= log_min;
}

static void log_id(struct buf *b, const char *key, const char *val)
{
    if (!val)
        return;
    buf_puts(b, ",\"");
    buf_puts(b, key);
    buf_puts(b, "\":");
    buf_json_str(b, val);
}

void log_write(enum log_level level, const struct log_ctx *ctx, const char *extra, const char *fmt, ...)
{
    struct buf line = {0}, msg = {0};
    char ts[32];
    va_list ap;
    FILE *f;

    if (!log_enabled(level))
        return;
    if ((int)level < LOG_DEBUG || level > LOG_ERROR)
        level = LOG_ERROR;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    time_format_iso(time_now_ms(), ts);
    buf_reserve(&line, 128 + msg.len);
    buf_puts(&line, "{\"time\":\"");
    buf_puts(&line, ts);
    buf_puts(&line, "\",\"level\":\"");
    buf_puts(&line, log_names[level]);
    buf_puts(&line, "\",\"msg\":");
    buf_json_str(&line, msg.data);
    if (ctx) {
        log_id(&line, "request_id", ctx->request_id);
        log_id(&line, "trace_id", ctx->trace_id);
        log_id(&line, "tenant_id", ctx->tenant_id);
    }
    if (extra && extra[0]) {
        buf_putc(&line, ',');
        buf_puts(&line, extra);
    }
    buf_puts(&line, "}\n");
    pthread_mutex_lock(&log_lock);
    f = log_sink ? log_sink : stderr;
    fwrite(line.data, 1, line.len, f);
    fflush(f);
    pthread_mutex_unlock(&log_lock);
    buf_free(&msg);
    buf_free(&line);
}
