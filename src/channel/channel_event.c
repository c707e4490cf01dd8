/*
 * channel_event: the normalised JSON form of a struct channel_event, the
 * one shape every provider's events are stored in (inbound_events.payload)
 * between the webhook that received them and the job that processes them.
 * The writer is deterministic (fixed member order, exact number formats),
 * which is what makes a hash of an event canonical; the reader takes back
 * exactly what the writer wrote and refuses members of the wrong type.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"


static void put_num(struct buf *out, double v)
{
    if (!isfinite(v))
        v = 0;
    buf_printf(out, "%.17g", v);
}

void channel_media_json(struct buf *out, const struct channel_media *media, size_t n)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        buf_puts(out, i ? ",{\"url\":" : "{\"url\":");
        buf_json_str(out, media[i].url);
        buf_puts(out, ",\"id\":");
        buf_json_str(out, media[i].id);
        buf_puts(out, ",\"content_type\":");
        buf_json_str(out, media[i].content_type);
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
}

/* The optional string members, in their fixed order. */
static const struct {
    const char *name;
    size_t offset;
} optional[] = {
    {"subject", offsetof(struct channel_event, subject)},
    {"html", offsetof(struct channel_event, html)},
    {"rfc_message_id", offsetof(struct channel_event, rfc_message_id)},
    {"in_reply_to", offsetof(struct channel_event, in_reply_to)},
    {"references", offsetof(struct channel_event, references)},
    {"ref", offsetof(struct channel_event, ref)},
};

void channel_event_json(struct buf *out, const char *provider, const char *event_id, const struct channel_event *ev,
                        int64_t received_at)
{
    buf_puts(out, "{\"kind\":");
    buf_puts(out, ev->kind == CHANNEL_EVENT_STATUS            ? "\"status\""
                  : ev->kind == CHANNEL_EVENT_TEMPLATE_STATUS ? "\"template_status\""
                                                              : "\"message\"");
    buf_puts(out, ",\"provider\":");
    buf_json_str(out, provider);
    buf_puts(out, ",\"event_id\":");
    buf_json_str(out, event_id);
    buf_puts(out, ",\"provider_message_id\":");
    buf_json_str(out, ev->provider_message_id);
    buf_puts(out, ",\"from\":");
    buf_json_str(out, ev->from);
    buf_puts(out, ",\"to\":");
    buf_json_str(out, ev->to);
    buf_puts(out, ",\"contact_name\":");
    buf_json_str(out, ev->contact_name);
    buf_puts(out, ",\"type\":");
    buf_json_str(out, ev->type);
    buf_puts(out, ",\"text\":");
    buf_json_str(out, ev->text);
    buf_puts(out, ",\"media\":");
    channel_media_json(out, ev->media, ev->media ? ev->nmedia : 0);
    buf_puts(out, ",\"location\":");
    if (ev->type && strcmp(ev->type, "location") == 0) {
        buf_puts(out, "{\"latitude\":");
        put_num(out, ev->latitude);
        buf_puts(out, ",\"longitude\":");
        put_num(out, ev->longitude);
        buf_putc(out, '}');
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"status\":");
    buf_json_str(out, ev->status);
    buf_puts(out, ",\"error\":");
    if (ev->error_code || ev->error_text) {
        buf_puts(out, "{\"code\":");
        buf_json_str(out, ev->error_code);
        buf_puts(out, ",\"text\":");
        buf_json_str(out, ev->error_text);
        buf_putc(out, '}');
    } else {
        buf_puts(out, "null");
    }
    /* Members newer than the first form are written only when set, so the
     * canonical form (and hash) of an event that has none is unchanged. */
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        const char *v = *(const char *const *)((const char *)ev + optional[i].offset);
        if (!v)
            continue;
        buf_printf(out, ",\"%s\":", optional[i].name);
        buf_json_str(out, v);
    }
    buf_printf(out, ",\"provider_ts\":%lld,\"received_at\":%lld}", (long long)ev->provider_ts,
               (long long)received_at);
}

/* A string member copied into a, or NULL when absent or null. ERR_INVALID
 * when present with another type. */
static int parse_str(struct arena *a, const cJSON *o, const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return ERR_INVALID;
    *out = arena_strdup(a, v->valuestring);
    return 0;
}

int channel_event_from_json(struct arena *a, const char *json, size_t len, struct channel_event *out,
                        const char **provider, int64_t *received_at, struct err *e)
{
    cJSON *root = NULL;
    const char *kind = NULL, *prov = NULL;
    int64_t v = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = json_parse(&root, json, len, e)))
        return rc;
    if (!cJSON_IsObject(root) || parse_str(a, root, "kind", &kind) || !kind ||
        (strcmp(kind, "message") != 0 && strcmp(kind, "status") != 0 && strcmp(kind, "template_status") != 0)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event without a valid kind");
        goto out;
    }
    out->kind = strcmp(kind, "status") == 0            ? CHANNEL_EVENT_STATUS
                : strcmp(kind, "template_status") == 0 ? CHANNEL_EVENT_TEMPLATE_STATUS
                                                       : CHANNEL_EVENT_MESSAGE;
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        if (parse_str(a, root, optional[i].name, (const char **)((char *)out + optional[i].offset))) {
            rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event with a non-string %s",
                         optional[i].name);
            goto out;
        }
    }
    if (parse_str(a, root, "provider", &prov) || parse_str(a, root, "event_id", &out->event_id) ||
        parse_str(a, root, "provider_message_id", &out->provider_message_id) ||
        parse_str(a, root, "from", &out->from) || parse_str(a, root, "to", &out->to) ||
        parse_str(a, root, "contact_name", &out->contact_name) || parse_str(a, root, "type", &out->type) ||
        parse_str(a, root, "text", &out->text) || parse_str(a, root, "status", &out->status)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event with a non-string field");
        goto out;
    }
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(root, "media");
    if (cJSON_IsArray(media) && cJSON_GetArraySize(media) > 0) {
        size_t n = (size_t)cJSON_GetArraySize(media), i = 0;
        struct channel_media *m = arena_alloc(a, n * sizeof *m);
        const cJSON *it;
        cJSON_ArrayForEach(it, media) {
            if (parse_str(a, it, "url", &m[i].url) || parse_str(a, it, "id", &m[i].id) ||
                parse_str(a, it, "content_type", &m[i].content_type)) {
                rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event with a malformed media item");
                goto out;
            }
            i++;
        }
        out->media = m;
        out->nmedia = n;
    }
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(root, "location");
    if (cJSON_IsObject(loc)) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(loc, "latitude");
        const cJSON *lon = cJSON_GetObjectItemCaseSensitive(loc, "longitude");
        out->latitude = cJSON_IsNumber(lat) ? lat->valuedouble : 0;
        out->longitude = cJSON_IsNumber(lon) ? lon->valuedouble : 0;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(err) &&
        (parse_str(a, err, "code", &out->error_code) || parse_str(a, err, "text", &out->error_text))) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event with a malformed error");
        goto out;
    }
    if (json_int(root, "provider_ts", &v) == 0)
        out->provider_ts = v;
    if (received_at)
        *received_at = json_int(root, "received_at", &v) == 0 ? v : 0;
    if (provider)
        *provider = prov;
out:
    cJSON_Delete(root);
    return rc;
}

