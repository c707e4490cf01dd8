/*
 * compliance_import: one line of a suppression import, CSV or JSON lines.
 *
 * The file comes from a tenant's spreadsheet export, so the parser is
 * forgiving about layout (a header line, missing trailing fields, CRLF,
 * quoted fields) and strict about content (bounded fields, no control
 * characters, no stray quotes). It never allocates beyond one JSON parse.
 */
#include <stdio.h>
#include <string.h>

#include "compliance/compliance.h"

#define IMPORT_LINE_MAX 2048

static int bad(struct err *e, const char *why)
{
    return err_set(e, ERR_INVALID, "invalid_line", "%s", why);
}

/* The next CSV field from *pp (end at lim) into dst; *pp moves past its comma. */
static int csv_field(const char **pp, const char *lim, char *dst, size_t dstlen, struct err *e)
{
    const char *p = *pp;
    size_t n = 0;

    while (p < lim && (*p == ' ' || *p == '\t'))
        p++;
    if (p < lim && *p == '"') {
        p++;
        for (;;) {
            if (p >= lim)
                return bad(e, "a quoted field is not closed");
            if (*p == '"') {
                if (p + 1 < lim && p[1] == '"') {
                    p++;
                } else {
                    p++;
                    break;
                }
            }
            if (n + 1 >= dstlen)
                return bad(e, "a field is too long");
            dst[n++] = *p++;
        }
        while (p < lim && (*p == ' ' || *p == '\t'))
            p++;
        if (p < lim && *p != ',')
            return bad(e, "text after a quoted field");
    } else {
        while (p < lim && *p != ',') {
            if (*p == '"')
                return bad(e, "a quote inside an unquoted field");
            if (n + 1 >= dstlen)
                return bad(e, "a field is too long");
            dst[n++] = *p++;
        }
        while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t'))
            n--;
    }
    dst[n] = '\0';
    if (p < lim)
        p++; /* the comma */
    *pp = p;
    return 0;
}

static int text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int copy_member(const cJSON *o, const char *name, char *dst, size_t dstlen, struct err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    dst[0] = '\0';
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return err_set(e, ERR_INVALID, "invalid_line", "\"%s\" must be a string", name);
    if (strlen(v->valuestring) >= dstlen)
        return err_set(e, ERR_INVALID, "invalid_line", "\"%s\" is too long", name);
    snprintf(dst, dstlen, "%s", v->valuestring);
    return 0;
}

int compliance_import_parse(const char *line, size_t n, int json, char address[STORE_ADDRESS_MAX], char channel[16],
                            char reason[256], struct err *e)
{
    const char *p = line, *lim = line + n;
    int rc = 0;

    address[0] = channel[0] = reason[0] = '\0';
    while (lim > p && (lim[-1] == '\r' || lim[-1] == ' ' || lim[-1] == '\t'))
        lim--;
    while (p < lim && (*p == ' ' || *p == '\t'))
        p++;
    if (p == lim)
        return 1;
    if ((size_t)(lim - p) > IMPORT_LINE_MAX)
        return bad(e, "the line is longer than 2048 bytes");
    if (memchr(p, '\0', (size_t)(lim - p)))
        return bad(e, "the line contains a NUL byte");
    if (json) {
        cJSON *o = NULL;
        if (json_parse(&o, p, (size_t)(lim - p), NULL) != 0 || !cJSON_IsObject(o)) {
            cJSON_Delete(o);
            return bad(e, "not a JSON object");
        }
        if ((rc = copy_member(o, "address", address, STORE_ADDRESS_MAX, e)) == 0 &&
            (rc = copy_member(o, "channel", channel, 16, e)) == 0)
            rc = copy_member(o, "reason", reason, 256, e);
        cJSON_Delete(o);
        if (rc)
            return rc;
    } else {
        if ((rc = csv_field(&p, lim, address, STORE_ADDRESS_MAX, e)))
            return rc;
        if (p < lim && (rc = csv_field(&p, lim, channel, 16, e)))
            return rc;
        if (p < lim && (rc = csv_field(&p, lim, reason, 256, e)))
            return rc;
        if (p < lim)
            return bad(e, "more than three fields (address,channel,reason)");
        if (strcmp(address, "address") == 0)
            return 1; /* the header */
    }
    if (!address[0])
        return bad(e, "the address is missing");
    if (!text_ok(address) || !text_ok(channel) || !text_ok(reason))
        return bad(e, "control characters in a field");
    if (!channel[0])
        snprintf(channel, 16, "*");
    if (!compliance_channel_valid(channel, 1))
        return err_set(e, ERR_INVALID, "invalid_line", "unknown channel '%s'", channel);
    return 0;
}
