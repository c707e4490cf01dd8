/*
 * webhook_events: the pure half of ingestion, request -> events. Verifies
 * the signature, parses with the adapter, applies the replay window and
 * turns each event into its stored form: an event id (the provider's, or a
 * hash of the canonical event) and the normalised JSON payload.
 *
 * Depends on core and channel only (no HTTP, no database), so a fuzzer can
 * drive it. The JSON writer is deterministic (fixed member order, exact
 * number formats), which is what makes the hash of an event canonical.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/webhook.h"

/* ------------------------------------------------------------- URLs, query */

const char *webhook_public_url(struct arena *a, const char *public_url, const char *target)
{
    size_t n = public_url ? strlen(public_url) : 0;
    while (n > 0 && public_url[n - 1] == '/')
        n--;
    return arena_printf(a, "%.*s%s", (int)n, public_url ? public_url : "", target ? target : "");
}

static int webhook_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Form-decode n bytes ('+' is a space; a bad escape stays literal). */
static char *webhook_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && webhook_hexval((unsigned char)s[i + 1]) >= 0 &&
                   webhook_hexval((unsigned char)s[i + 2]) >= 0) {
            out[j++] = (char)(webhook_hexval((unsigned char)s[i + 1]) * 16 + webhook_hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

void webhook_query_parse(struct arena *a, const char *target, struct channel_kv **out, size_t *nout)
{
    const char *q = target ? strchr(target, '?') : NULL;
    size_t cap = 1, n = 0, len;
    *out = NULL;
    *nout = 0;
    if (!q)
        return;
    q++;
    len = strcspn(q, "#");
    for (size_t i = 0; i < len; i++)
        cap += q[i] == '&';
    struct channel_kv *kv = arena_alloc(a, cap * sizeof *kv);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && q[i] != '&')
            continue;
        if (i > start) {
            const char *piece = q + start;
            size_t plen = i - start;
            const char *eq = memchr(piece, '=', plen);
            size_t klen = eq ? (size_t)(eq - piece) : plen;
            kv[n].name = webhook_decode(a, piece, klen);
            kv[n].value = eq ? webhook_decode(a, eq + 1, plen - klen - 1) : "";
            n++;
        }
        start = i + 1;
    }
    *out = kv;
    *nout = n;
}

/* --------------------------------------------------------- normalised JSON */

static void put_num(struct buf *out, double v)
{
    if (!isfinite(v))
        v = 0;
    buf_printf(out, "%.17g", v);
}

void webhook_event_json(struct buf *out, const char *provider, const char *event_id, const struct channel_event *ev,
                        int64_t received_at)
{
    buf_puts(out, "{\"kind\":");
    buf_puts(out, ev->kind == CHANNEL_EVENT_STATUS ? "\"status\"" : "\"message\"");
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
    buf_puts(out, ",\"media\":[");
    for (size_t i = 0; ev->media && i < ev->nmedia; i++) {
        if (i)
            buf_putc(out, ',');
        buf_puts(out, "{\"url\":");
        buf_json_str(out, ev->media[i].url);
        buf_puts(out, ",\"id\":");
        buf_json_str(out, ev->media[i].id);
        buf_puts(out, ",\"content_type\":");
        buf_json_str(out, ev->media[i].content_type);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"location\":");
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

int webhook_event_parse(struct arena *a, const char *json, size_t len, struct channel_event *out,
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
        (strcmp(kind, "message") != 0 && strcmp(kind, "status") != 0)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "normalised event without a valid kind");
        goto out;
    }
    out->kind = strcmp(kind, "status") == 0 ? CHANNEL_EVENT_STATUS : CHANNEL_EVENT_MESSAGE;
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

/* ------------------------------------------------------- request -> events */

/* The receipt key for a provider id: the id itself when it is plain
 * printable ASCII of a sane length (every real provider id is), else a
 * stable hash of it, so that a stored key and the payload's copy always
 * agree and the database never sees bytes it might refuse. */
static const char *webhook_event_key(struct arena *a, const char *id)
{
    size_t n = strlen(id);
    int plain = n > 0 && n <= 200;
    char hex[65];

    for (size_t i = 0; plain && i < n; i++)
        plain = id[i] > 0x20 && id[i] < 0x7f;
    if (plain)
        return id;
    crypto_sha256_hex(hex, id, n);
    return arena_printf(a, "sha256:%s", hex);
}

int webhook_events(struct arena *a, const struct channel_adapter *ad, const struct channel_creds *creds,
                   const struct channel_webhook *wh, const struct webhook_policy *pol, struct webhook_batch *out,
                   struct err *e)
{
    struct channel_events evs = {0};
    struct buf b = {0};
    int rc;

    memset(out, 0, sizeof *out);
    /* The signature first: nothing about an unauthenticated body is trusted. */
    rc = ad->verify(wh, creds, e);
    if (rc) {
        if (!(pol->allow_unsigned && rc == ERR_FORBIDDEN && strcmp(err_slug(e), "missing_signature") == 0))
            return rc;
        err_clear(e);
    }
    if ((rc = ad->parse(a, wh, &evs, e)))
        return rc;
    for (size_t i = 0; i < evs.n; i++) {
        const struct channel_event *ev = &evs.items[i];
        if (pol->replay_window_ms > 0 && ev->provider_ts > 0 && wh->received_at - ev->provider_ts > pol->replay_window_ms)
            return err_set(e, ERR_FORBIDDEN, "replay", "event older than the replay window");
    }
    out->items = evs.n ? arena_alloc(a, evs.n * sizeof *out->items) : NULL;
    for (size_t i = 0; i < evs.n; i++) {
        const struct channel_event *ev = &evs.items[i];
        struct webhook_event *we = &out->items[i];
        const char *id = ev->event_id;
        we->ev = ev;
        we->kind = ev->kind == CHANNEL_EVENT_STATUS ? "status" : "message";
        if (!id || !*id) {
            /* No provider id: the hash of the canonical event (no receipt time) is the key. */
            char hex[65];
            buf_reset(&b);
            webhook_event_json(&b, pol->provider, NULL, ev, 0);
            crypto_sha256_hex(hex, b.data, b.len);
            id = arena_strdup(a, hex);
        } else {
            id = webhook_event_key(a, id);
        }
        we->event_id = id;
        buf_reset(&b);
        webhook_event_json(&b, pol->provider, id, ev, wh->received_at);
        we->payload = arena_strndup(a, b.data, b.len);
        out->n++;
    }
    buf_free(&b);
    return 0;
}
