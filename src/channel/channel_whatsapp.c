/*
 * channel_whatsapp: the WhatsApp Cloud API adapter (Meta Graph).
 *
 * handshake and verify: Meta's, shared with Instagram (channel_meta.c).
 * parse: every entry[].changes[].value's messages[] and statuses[], in
 * order; ids stay strings. send: POST {graph}/{phone_number_id}/messages
 * with a bearer token (text, image link or template). list_templates: GET
 * {graph}/{waba_id}/message_templates, following paging.next (same host
 * only, bounded pages); template submission and Meta's template status
 * updates are in channel_whatsapp_template.c. Pure: no database, no globals beyond curl's
 * one-time init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel/channel_int.h"

/* A JSON string member copied into the arena, or NULL. */
static const char *wa__str(struct arena *a, const cJSON *o, const char *name)
{
    const char *s = o ? json_str(o, name) : NULL;
    return s ? arena_strdup(a, s) : NULL;
}

/* Unix seconds as a string -> ms, 0 when absent or malformed. */
static int64_t wa__ts(const cJSON *o)
{
    const char *s = json_str(o, "timestamp");
    if (!s || !*s)
        return 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0 || v > 100000000000LL)
        return 0;
    return (int64_t)v * 1000;
}

static int wa__message(struct arena *a, const cJSON *m, const cJSON *value, struct channel_event *ev, struct err *e)
{
    static const char *const media_kinds[] = {"image", "audio", "video", "document", "sticker"};
    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->event_id = wa__str(a, m, "id");
    ev->provider_message_id = ev->event_id;
    ev->from = wa__str(a, m, "from");
    ev->type = wa__str(a, m, "type");
    ev->provider_ts = wa__ts(m);
    if (!ev->event_id || !ev->from || !ev->type)
        return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp message without id, from or type");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(value, "metadata");
    ev->to = wa__str(a, meta, "phone_number_id");
    const cJSON *contacts = cJSON_GetObjectItemCaseSensitive(value, "contacts");
    const cJSON *c;
    cJSON_ArrayForEach(c, (cJSON_IsArray(contacts) ? contacts : NULL)) {
        const char *wa_id = json_str(c, "wa_id");
        if (!wa_id || strcmp(wa_id, ev->from) == 0) {
            ev->contact_name = wa__str(a, cJSON_GetObjectItemCaseSensitive(c, "profile"), "name");
            break;
        }
    }
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, ev->type);
    if (strcmp(ev->type, "text") == 0) {
        ev->text = wa__str(a, body, "body");
        if (!ev->text)
            return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp text message without text.body");
        return 0;
    }
    for (size_t i = 0; i < sizeof media_kinds / sizeof *media_kinds; i++) {
        if (strcmp(ev->type, media_kinds[i]) != 0)
            continue;
        if (!cJSON_IsObject(body) || !json_str(body, "id"))
            return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp %s message without an id", ev->type);
        struct channel_media *md = arena_alloc(a, sizeof *md);
        md->id = wa__str(a, body, "id");
        md->content_type = wa__str(a, body, "mime_type");
        ev->media = md;
        ev->nmedia = 1;
        ev->text = wa__str(a, body, "caption");
        return 0;
    }
    if (strcmp(ev->type, "location") == 0) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(body, "latitude");
        const cJSON *lon = cJSON_GetObjectItemCaseSensitive(body, "longitude");
        if (!cJSON_IsNumber(lat) || !cJSON_IsNumber(lon))
            return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp location without coordinates");
        ev->latitude = lat->valuedouble;
        ev->longitude = lon->valuedouble;
        ev->text = wa__str(a, body, "name");
        return 0;
    }
    if (strcmp(ev->type, "interactive") == 0) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "button_reply");
        if (!r)
            r = cJSON_GetObjectItemCaseSensitive(body, "list_reply");
        if (!cJSON_IsObject(r))
            return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp interactive message without a reply");
        ev->text = wa__str(a, r, "title");
        return 0;
    }
    if (strcmp(ev->type, "button") == 0) {
        ev->text = wa__str(a, body, "text");
        return 0;
    }
    return 0; /* other types (reaction, contacts, unsupported…) are stored with their type only */
}

static int wa__status(struct arena *a, const cJSON *s, struct channel_event *ev, struct err *e)
{
    ev->kind = CHANNEL_EVENT_STATUS;
    ev->provider_message_id = wa__str(a, s, "id");
    const char *st = json_str(s, "status");
    if (!ev->provider_message_id || !st)
        return err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp status without id or status");
    ev->status = arena_strdup(a, st);
    for (char *p = (char *)ev->status; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    ev->event_id = arena_printf(a, "%s:%s", ev->provider_message_id, ev->status);
    ev->to = wa__str(a, s, "recipient_id");
    ev->provider_ts = wa__ts(s);
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(s, "errors");
    const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    if (cJSON_IsObject(e0)) {
        int64_t code = 0;
        if (json_int(e0, "code", &code) == 0)
            ev->error_code = arena_printf(a, "%lld", (long long)code);
        const char *title = json_str(e0, "title");
        const char *msg = json_str(e0, "message");
        ev->error_text = arena_strdup(a, msg ? msg : title ? title : "");
    }
    return 0;
}

static int whatsapp_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    int rc = 0;
    cJSON *root = NULL;
    size_t cap = 0, n = 0;
    memset(out, 0, sizeof *out);
    rc = json_parse(&root, wh->body ? wh->body : "", wh->body ? wh->body_len : 0, e);
    if (rc)
        goto out;
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(entries)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp webhook without entry[]");
        goto out;
    }
    /* Count first so the arena holds exactly one array. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (!cap)
                break;
            out->items = arena_alloc(a, cap * sizeof *out->items);
        }
        const cJSON *entry, *change, *item;
        cJSON_ArrayForEach(entry, entries) {
            const cJSON *changes = cJSON_GetObjectItemCaseSensitive(entry, "changes");
            cJSON_ArrayForEach(change, (cJSON_IsArray(changes) ? changes : NULL)) {
                const cJSON *value = cJSON_GetObjectItemCaseSensitive(change, "value");
                if (!cJSON_IsObject(value))
                    continue;
                const char *field = json_str(change, "field");
                if (field && strcmp(field, "message_template_status_update") == 0) {
                    if (!channel__whatsapp_template_named(value))
                        continue;
                    if (pass == 0) {
                        cap++;
                    } else {
                        if ((rc = channel__whatsapp_template_status(a, entry, value, &out->items[n], e)))
                            goto out;
                        n++;
                    }
                    continue;
                }
                const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(value, "messages");
                const cJSON *sts = cJSON_GetObjectItemCaseSensitive(value, "statuses");
                cJSON_ArrayForEach(item, (cJSON_IsArray(msgs) ? msgs : NULL)) {
                    if (pass == 0) {
                        cap++;
                        continue;
                    }
                    if (!cJSON_IsObject(item)) {
                        rc = err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp message is not an object");
                        goto out;
                    }
                    if ((rc = wa__message(a, item, value, &out->items[n], e)))
                        goto out;
                    n++;
                }
                cJSON_ArrayForEach(item, (cJSON_IsArray(sts) ? sts : NULL)) {
                    if (pass == 0) {
                        cap++;
                        continue;
                    }
                    if (!cJSON_IsObject(item)) {
                        rc = err_set(e, ERR_INVALID, "invalid_payload", "WhatsApp status is not an object");
                        goto out;
                    }
                    if ((rc = wa__status(a, item, &out->items[n], e)))
                        goto out;
                    n++;
                }
            }
        }
    }
    out->n = n;
out:
    if (rc) {
        out->items = NULL;
        out->n = 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* The message type a media link is sent as, by the file name it ends with
 * (Meta fetches and checks the file itself): image (JPEG, PNG), video (MP4,
 * 3GPP), audio (AAC, AMR, MP3, M4A, Ogg/Opus: no caption), document (PDF,
 * Office, text: with a caption and the file name); unknown names stay
 * images, as before. */
static const char *wa__media_kind(const char *url, const char **filename, size_t *fnlen)
{
    static const struct {
        const char *ext, *kind;
    } map[] = {
        {".jpg", "image"},     {".jpeg", "image"},    {".png", "image"},    {".mp4", "video"},
        {".3gp", "video"},     {".aac", "audio"},     {".amr", "audio"},    {".mp3", "audio"},
        {".m4a", "audio"},     {".ogg", "audio"},     {".opus", "audio"},   {".pdf", "document"},
        {".doc", "document"},  {".docx", "document"}, {".xls", "document"}, {".xlsx", "document"},
        {".ppt", "document"},  {".pptx", "document"}, {".txt", "document"},
    };
    size_t n = strcspn(url, "?#"), start = n;
    while (start > 0 && url[start - 1] != '/')
        start--;
    *filename = url + start;
    *fnlen = n - start;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t el = strlen(map[i].ext);
        if (n - start > el && strncasecmp(url + n - el, map[i].ext, el) == 0)
            return map[i].kind;
    }
    return "image";
}

static int whatsapp_send(const struct channel_env *env, const struct channel_creds *creds,
                         const struct channel_send *msg, struct channel_send_result *out, struct err *e)
{
    int rc = 0;
    struct channel__resp r = {0};
    cJSON *req = NULL, *root = NULL;
    memset(out, 0, sizeof *out);
    const char *pnid = channel_creds_get(creds, "phone_number_id");
    const char *token = channel_creds_get(creds, "access_token");
    if (!pnid || !token || !msg->to) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "WhatsApp account needs phone_number_id and access_token");
        goto out;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(req, "recipient_type", "individual");
    cJSON_AddStringToObject(req, "to", msg->to);
    if (msg->template_name) {
        cJSON_AddStringToObject(req, "type", "template");
        cJSON *t = cJSON_AddObjectToObject(req, "template");
        cJSON_AddStringToObject(t, "name", msg->template_name);
        cJSON *lang = cJSON_AddObjectToObject(t, "language");
        cJSON_AddStringToObject(lang, "code", msg->template_lang ? msg->template_lang : "en_US");
        if (msg->ntemplate_params) {
            cJSON *comps = cJSON_AddArrayToObject(t, "components");
            cJSON *comp = cJSON_CreateObject();
            cJSON_AddItemToArray(comps, comp);
            cJSON_AddStringToObject(comp, "type", "body");
            cJSON *params = cJSON_AddArrayToObject(comp, "parameters");
            for (size_t i = 0; i < msg->ntemplate_params; i++) {
                cJSON *p = cJSON_CreateObject();
                cJSON_AddItemToArray(params, p);
                cJSON_AddStringToObject(p, "type", "text");
                cJSON_AddStringToObject(p, "text", msg->template_params[i]);
            }
        }
    } else if (msg->nmedia) {
        const char *fname;
        size_t fnlen;
        const char *kind = wa__media_kind(msg->media_urls[0], &fname, &fnlen);
        cJSON_AddStringToObject(req, "type", kind);
        cJSON *obj = cJSON_AddObjectToObject(req, kind);
        cJSON_AddStringToObject(obj, "link", msg->media_urls[0]);
        if (msg->text && strcmp(kind, "audio") != 0)
            cJSON_AddStringToObject(obj, "caption", msg->text);
        if (strcmp(kind, "document") == 0 && fnlen > 0 && fnlen < 240) {
            char fn[256];
            snprintf(fn, sizeof fn, "%.*s", (int)fnlen, fname);
            cJSON_AddStringToObject(obj, "filename", fn);
        }
    } else if (msg->text) {
        cJSON_AddStringToObject(req, "type", "text");
        cJSON *t = cJSON_AddObjectToObject(req, "text");
        cJSON_AddStringToObject(t, "body", msg->text);
    } else {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "unsupported_message", "nothing to send");
        goto out;
    }
    if ((rc = channel__graph_post(env, pnid, token, req, &r, &root, out, e)))
        goto out;
    if (r.status >= 200 && r.status < 300) {
        const cJSON *msgs = root ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
        const char *id = cJSON_IsArray(msgs) ? json_str(cJSON_GetArrayItem(msgs, 0), "id") : NULL;
        if (!id) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph answered %ld without messages[0].id",
                         r.status);
            snprintf(out->error_text, sizeof out->error_text, "%s", "response without message id");
            goto out;
        }
        snprintf(out->provider_message_id, sizeof out->provider_message_id, "%s", id);
        snprintf(out->status, sizeof out->status, "%s", "sent");
        goto out;
    }
    const cJSON *err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    int64_t code = 0;
    if (cJSON_IsObject(err) && json_int(err, "code", &code) == 0)
        snprintf(out->error_code, sizeof out->error_code, "%lld", (long long)code);
    const char *m = cJSON_IsObject(err) ? json_str(err, "message") : NULL;
    snprintf(out->error_text, sizeof out->error_text, "%s", m ? m : "provider error");
    if (r.status == 429 || code == 4 || code == 80007 || code == 130429) {
        out->retry_after_s = r.retry_after_s;
        rc = err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Graph rate limit (code %lld)", (long long)code);
    } else if (r.status >= 500 || r.status < 200) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "Graph answered %ld", r.status);
    } else {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, code == 131047 ? "outside_window" : "provider_rejected",
                     "Graph refused the message (%ld, code %lld)", r.status, (long long)code);
    }
out:
    cJSON_Delete(req);
    cJSON_Delete(root);
    buf_free(&r.body);
    return rc;
}

/* Templates: GET {graph}/{waba_id}/message_templates page by page. Pages
 * hold up to 100 templates with their components, hence the larger body
 * limit; the page count is bounded so a provider that never stops paging
 * cannot keep us here. */
#define WA_TEMPLATE_PAGES 100
#define WA_TEMPLATE_PAGE_BYTES (4 * 1024 * 1024)

/* Length of "scheme://host[:port]" in url, or 0 when it has none. */
static size_t wa__origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (size_t)(p - url);
}

/* paging.next is followed only to the origin of graph_api_base: it is
 * provider data, and the request carries our bearer token. */
static int wa__same_origin(const char *base, const char *next)
{
    size_t n = wa__origin_len(base);
    return n > 0 && wa__origin_len(next) == n && strncmp(base, next, n) == 0 && next[n] == '/';
}

static const char *wa__lower(struct arena *a, const char *s)
{
    char *out = arena_strdup(a, s);
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

/* Map a non-2xx Graph answer to an error (templates: never ERR_INVALID,
 * which would read as the caller's mistake). */
static int wa__list_error(const struct channel__resp *r, const cJSON *root, struct err *e)
{
    const cJSON *err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    int64_t code = 0;
    if (cJSON_IsObject(err))
        (void)json_int(err, "code", &code);
    const char *m = cJSON_IsObject(err) ? json_str(err, "message") : NULL;
    if (r->status == 429 || code == 4 || code == 80008)
        return err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Graph rate limit (code %lld)", (long long)code);
    if (r->status >= 500 || r->status < 200)
        return err_set(e, ERR_UPSTREAM, "provider_error", "Graph answered %ld", r->status);
    return err_set(e, ERR_UPSTREAM, "provider_rejected", "Graph refused the template list (%ld, code %lld): %.120s",
                   r->status, (long long)code, m ? m : "no message");
}

static int whatsapp_list_templates(struct arena *a, const struct channel_env *env, const struct channel_creds *creds,
                                   struct channel_templates *out, struct err *e)
{
    int rc = 0;
    struct buf url = {0};
    struct channel__resp r = {0};
    cJSON *root = NULL;
    struct channel_template *items = NULL;
    size_t n = 0, cap = 0;
    const char *base = env && env->graph_api_base ? env->graph_api_base : "https://graph.facebook.com/v21.0";
    const char *waba = channel_creds_get(creds, "waba_id");
    const char *token = channel_creds_get(creds, "access_token");
    memset(out, 0, sizeof *out);
    if (!waba || !*waba)
        return err_set(e, ERR_INVALID, "waba_id_required",
                       "listing templates needs the account's waba_id (WhatsApp Business Account id)");
    if (!token || !*token)
        return err_set(e, ERR_INVALID, "channel_misconfigured", "WhatsApp account needs access_token");
    buf_printf(&url, "%s/", base);
    channel__form_escape(&url, waba);
    buf_puts(&url, "/message_templates?fields=name,language,status,category,components&limit=100");
    for (int page = 0;; page++) {
        if (page == WA_TEMPLATE_PAGES)
            goto done; /* out->complete stays 0 */
        buf_free(&r.body);
        memset(&r, 0, sizeof r);
        r.max_body = WA_TEMPLATE_PAGE_BYTES;
        if ((rc = channel__http(env, url.data, NULL, NULL, 0, NULL, token, &r, e)))
            goto out;
        cJSON_Delete(root);
        root = NULL;
        (void)json_parse(&root, r.body.data ? r.body.data : "", r.body.len, NULL);
        if (r.status < 200 || r.status >= 300) {
            rc = wa__list_error(&r, root, e);
            goto out;
        }
        const cJSON *data = root ? cJSON_GetObjectItemCaseSensitive(root, "data") : NULL;
        if (!cJSON_IsArray(data)) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph answered %ld without data[]", r.status);
            goto out;
        }
        const cJSON *t;
        cJSON_ArrayForEach(t, data) {
            const char *name = json_str(t, "name"), *lang = json_str(t, "language"), *st = json_str(t, "status");
            if (!name || !lang || !st)
                continue; /* not a template we could send */
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct channel_template *v = realloc(items, ncap * sizeof *v);
                if (!v) {
                    rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
                    goto out;
                }
                items = v;
                cap = ncap;
            }
            struct channel_template *ct = &items[n++];
            ct->name = arena_strdup(a, name);
            ct->language = arena_strdup(a, lang);
            ct->status = wa__lower(a, st);
            const char *cat = json_str(t, "category");
            ct->category = arena_strdup(a, cat ? cat : "");
            ct->body = "";
            const cJSON *comps = cJSON_GetObjectItemCaseSensitive(t, "components"), *c;
            cJSON_ArrayForEach(c, (cJSON_IsArray(comps) ? comps : NULL)) {
                const char *type = json_str(c, "type"), *text = json_str(c, "text");
                if (type && text && strcmp(type, "BODY") == 0) {
                    ct->body = arena_strdup(a, text);
                    break;
                }
            }
        }
        const cJSON *paging = cJSON_GetObjectItemCaseSensitive(root, "paging");
        const char *next = cJSON_IsObject(paging) ? json_str(paging, "next") : NULL;
        if (!next || !*next)
            break;
        if (!wa__same_origin(base, next)) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph's paging.next leaves the Graph API host");
            goto out;
        }
        buf_reset(&url);
        buf_puts(&url, next);
    }
    out->complete = 1;
done:
    if (n) {
        out->items = arena_alloc(a, n * sizeof *out->items);
        memcpy(out->items, items, n * sizeof *items);
    }
    out->n = n;
out:
    free(items);
    cJSON_Delete(root);
    buf_free(&r.body);
    buf_free(&url);
    return rc;
}

/* Inbound media by id: GET {graph}/{media-id} with the bearer token gives
 * {url, mime_type, sha256, file_size}; the file is then a GET of url with
 * the same token (Meta's download URLs need it), checked against file_size
 * before and sha256 after. */
static int whatsapp_fetch_media(const struct channel_env *env, const struct channel_creds *creds,
                                const struct channel_media *media, size_t max_bytes, struct buf *out,
                                char *content_type, size_t ctlen, struct err *e)
{
    int rc = 0;
    struct buf url = {0};
    struct channel__resp r = {0};
    cJSON *root = NULL;
    const char *base = env && env->graph_api_base ? env->graph_api_base : "https://graph.facebook.com/v21.0";
    const char *token = channel_creds_get(creds, "access_token");
    int64_t size = -1;

    if (content_type && ctlen)
        content_type[0] = '\0';
    if (!media || !media->id || !*media->id)
        return err_set(e, ERR_INVALID, "invalid_media_url", "WhatsApp media without an id");
    if (!token || !*token)
        return err_set(e, ERR_INVALID, "channel_misconfigured", "WhatsApp account needs access_token");
    buf_printf(&url, "%s/", base);
    channel__form_escape(&url, media->id);
    if ((rc = channel__http(env, url.data, NULL, NULL, 0, NULL, token, &r, e)))
        goto out;
    (void)json_parse(&root, r.body.data ? r.body.data : "", r.body.len, NULL);
    if (r.status < 200 || r.status >= 300) {
        rc = wa__list_error(&r, root, e);
        if (r.status >= 400 && r.status < 500 && r.status != 429)
            err_set(e, ERR_UPSTREAM, "fetch_refused", "Graph refused the media lookup (%ld)", r.status);
        goto out;
    }
    const char *dl = root ? json_str(root, "url") : NULL;
    const char *mime = root ? json_str(root, "mime_type") : NULL;
    const char *sha = root ? json_str(root, "sha256") : NULL;
    if (!dl || !*dl) {
        rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph's media lookup has no url");
        goto out;
    }
    /* file_size: a number, or (as Graph often sends it) a string of digits */
    if (root && json_int(root, "file_size", &size) != 0) {
        const char *fs = json_str(root, "file_size");
        char *end = NULL;
        size = fs && *fs ? (int64_t)strtoll(fs, &end, 10) : -1;
        if (!end || *end)
            size = -1;
    }
    if (size >= 0 && (uint64_t)size > max_bytes) {
        rc = err_set(e, ERR_TOOLARGE, "media_too_large", "the media file is %lld bytes; the limit is %zu",
                     (long long)size, max_bytes);
        goto out;
    }
    if ((rc = channel_fetch_url(env, dl, NULL, token, 1, max_bytes, out, content_type, ctlen, NULL, e)))
        goto out;
    if (sha && *sha) { /* hex in the lookup; base64 is accepted too (the webhook's form) */
        uint8_t want[32], got[32];
        int ok = strlen(sha) == 64 ? crypto_unhex(want, sizeof want, sha) == 32
                                   : crypto_unbase64(want, sizeof want, sha, strlen(sha)) == 32;
        crypto_sha256(got, out->data ? out->data : "", out->len);
        if (ok && !crypto_equal(want, 32, got, 32)) {
            buf_reset(out);
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "the media file does not match Graph's sha256");
            goto out;
        }
    }
    if (mime && *mime && content_type && ctlen)
        snprintf(content_type, ctlen, "%s", mime);
out:
    cJSON_Delete(root);
    buf_free(&r.body);
    buf_free(&url);
    return rc;
}

/* The phone number node, GET {graph}/{phone_number_id} with the token:
 * it proves both the token and that the number belongs to it. */
static int whatsapp_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                    struct channel_test_result *out, struct err *e)
{
    const char *pnid = channel_creds_get(creds, "phone_number_id");
    const char *token = channel_creds_get(creds, "access_token");
    cJSON *root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!pnid || !*pnid || !token || !*token) {
        snprintf(out->detail, sizeof out->detail, "the account has no phone_number_id or access_token");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    rc = channel__graph_test(env, pnid, "display_phone_number,verified_name", token, &root, out, e);
    if (rc == 0 && out->ok) {
        const char *num = json_str(root, "display_phone_number"), *name = json_str(root, "verified_name");
        snprintf(out->detail, sizeof out->detail, "WhatsApp number %s%s%s%s", num ? num : pnid,
                 name ? " (" : "", name ? name : "", name ? ")" : "");
    }
    cJSON_Delete(root);
    return rc;
}

const struct channel_adapter channel_whatsapp = {
    .name = "whatsapp",
    /* Cloud API media: images 5 MB, audio and video 16 MB, documents
     * 100 MB (the largest is the cap; Meta checks each kind's own). */
    .caps = {.max_text_len = 4096,
             .media_types = "image/jpeg image/png video/mp4 video/3gpp audio/aac audio/amr audio/mpeg audio/mp4 "
                            "audio/ogg application/pdf application/msword "
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document "
                            "application/vnd.ms-excel "
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "
                            "application/vnd.ms-powerpoint "
                            "application/vnd.openxmlformats-officedocument.presentationml.presentation text/plain",
             .max_media_bytes = 100 * 1024 * 1024,
             .window_ms = 24LL * 3600 * 1000},
    .verify = channel__meta_verify,
    .handshake = channel__meta_handshake,
    .parse = whatsapp_parse,
    .send = whatsapp_send,
    .list_templates = whatsapp_list_templates,
    .submit_template = channel__whatsapp_submit_template,
    .test_connection = whatsapp_test_connection,
    .fetch_media = whatsapp_fetch_media,
};
