/*
 * err: the caller-owned error record every fallible function fills.
 *
 * A struct err carries a negative enum err_code, an optional stable slug
 * (the machine-readable "code" the HTTP layer returns) and a one-line
 * message. The message is truncated to fit; it must never hold secrets.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

int err_set(struct err *e, int code, const char *slug, const char *fmt, ...)
{
    char msg[sizeof(e->msg)], sl[sizeof(e->slug)];
    va_list ap;

    if (!e)
        return code;
    /* Format into locals first: callers may wrap an earlier error with
     * err_set(e, e->code, e->slug, "context: %s", e->msg). */
    sl[0] = '\0';
    if (slug)
        snprintf(sl, sizeof(sl), "%s", slug);
    msg[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    /* One line only: log lines and HTTP bodies rely on it. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    e->code = code;
    memcpy(e->slug, sl, sizeof(sl));
    memcpy(e->msg, msg, sizeof(msg));
    return code;
}

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_OK;
    e->slug[0] = '\0';
    e->msg[0] = '\0';
}

const char *err_code_slug(int code)
{
    switch (code) {
    case ERR_OK: return "ok";
    case ERR_NOMEM: return "out_of_memory";
    case ERR_INVALID: return "invalid_request";
    case ERR_NOTFOUND: return "not_found";
    case ERR_CONFLICT: return "conflict";
    case ERR_UPSTREAM: return "upstream_error";
    case ERR_TIMEOUT: return "timeout";
    case ERR_UNAUTHORIZED: return "unauthorized";
    case ERR_FORBIDDEN: return "forbidden";
    case ERR_TOOLARGE: return "payload_too_large";
    case ERR_RATELIMIT: return "rate_limited";
    case ERR_IO: return "io_error";
    case ERR_INTERNAL: return "internal_error";
    default: return "internal_error";
    }
}

const char *err_slug(const struct err *e)
{
    if (!e)
        return err_code_slug(ERR_INTERNAL);
    if (e->slug[0])
        return e->slug;
    return err_code_slug(e->code);
}
