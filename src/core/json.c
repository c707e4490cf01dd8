/*
 * json: thin, safe helpers over cJSON for untrusted input.
 *
 * json_parse never reads past the given length, reports the byte offset of
 * the first error (from the parse-end out-parameter: cJSON_GetErrorPtr is a
 * process-wide global and not thread-safe), rejects trailing garbage and
 * nesting deeper than JSON_MAX_DEPTH. Getters borrow from the tree.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define JSON_MAX_DEPTH 64
/* Largest integer a double holds exactly such that no neighbour rounds to
 * it: 2^53 - 1 (JavaScript's Number.MAX_SAFE_INTEGER). 2^53 itself is
 * refused because 2^53 + 1 parses to the same double. */
#define JSON_MAX_SAFE_INT 9007199254740991.0

/* 1 when v nests deeper than limit levels (a scalar is depth 0). */
static int json_too_deep(const cJSON *v, int limit)
{
    const cJSON *c;

    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return 0;
    if (limit <= 0)
        return 1;
    for (c = v->child; c; c = c->next)
        if (json_too_deep(c, limit - 1))
            return 1;
    return 0;
}

static int json_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int json_parse(cJSON **out, const char *data, size_t len, struct err *e)
{
    const char *end = NULL;
    cJSON *v = NULL;
    size_t off;
    int rc = 0;

    *out = NULL;
    if (!data || len == 0) {
        rc = err_set(e, ERR_INVALID, "invalid_json", "invalid JSON at byte 0: empty body");
        goto out;
    }
    /* require_null_terminated = 0: the buffer has no NUL; we check for
     * trailing bytes ourselves against the explicit length below. */
    v = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!v) {
        off = end && end >= data ? (size_t)(end - data) : 0;
        if (off > len)
            off = len;
        rc = err_set(e, ERR_INVALID, "invalid_json", "invalid JSON at byte %zu", off);
        goto out;
    }
    off = (size_t)(end - data);
    while (off < len && json_is_ws(data[off]))
        off++;
    if (off != len) {
        rc = err_set(e, ERR_INVALID, "invalid_json", "invalid JSON at byte %zu: trailing data", off);
        goto out;
    }
    if (json_too_deep(v, JSON_MAX_DEPTH)) {
        rc = err_set(e, ERR_INVALID, "invalid_json", "invalid JSON: nesting deeper than %d", JSON_MAX_DEPTH);
        goto out;
    }
    *out = v;
    v = NULL;
out:
    cJSON_Delete(v);
    return rc;
}

const char *json_str(const cJSON *obj, const char *name)
{
    const cJSON *m;

    if (!cJSON_IsObject(obj))
        return NULL;
    m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(m))
        return NULL;
    return m->valuestring;
}

int json_int(const cJSON *obj, const char *name, int64_t *out)
{
    const cJSON *m;
    double d;

    if (!cJSON_IsObject(obj))
        return ERR_NOTFOUND;
    m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!m)
        return ERR_NOTFOUND;
    if (!cJSON_IsNumber(m))
        return ERR_INVALID;
    d = m->valuedouble;
    /* Range first (this also rejects NaN), then the cast is defined; no
     * libm needed, so sb_core links without -lm. */
    if (!(d >= -JSON_MAX_SAFE_INT && d <= JSON_MAX_SAFE_INT) || (double)(int64_t)d != d)
        return ERR_INVALID;
    *out = (int64_t)d;
    return 0;
}

int json_bool(const cJSON *obj, const char *name, int def)
{
    const cJSON *m;

    if (!cJSON_IsObject(obj))
        return def;
    m = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsBool(m))
        return def;
    return cJSON_IsTrue(m) ? 1 : 0;
}

char *json_print(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);

    if (!s) {
        fputs("switchboard: out of memory\n", stderr);
        abort();
    }
    return s;
}
