/*
 * channel_telegram: the Telegram Bot API adapter.
 *
 * verify: X-Telegram-Bot-Api-Secret-Token must equal the account's
 * secret_token (the one given to setWebhook), compared in constant time.
 * parse: one Update per request; update_id is the dedupe key. Only
 * "message" updates become events (text, /start deep links, photos,
 * documents, video, audio, voice, locations, shared contacts; anything else
 * in a message is stored as type "unsupported"); other update types
 * (edited_message, channel_post, callback_query, …) parse to no events.
 * A message's provider id is "<chat id>:<message id>" (Telegram numbers
 * messages per chat), inbound and outbound alike. send: POST
 * {base}/bot<token>/sendMessage | sendPhoto | sendDocument with JSON.
 * fetch_media: getFile, then GET {base}/file/bot<token>/<file_path>.
 * register_webhook: getMe (the address is the bot's username) and
 * setWebhook (our URL, the secret token, allowed_updates ["message"]).
 * The token travels in URLs only; no URL is ever put in an error message.
 * Pure: no database, no globals beyond curl's one-time init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel/channel_int.h"

#define TG_DEFAULT_BASE "https://api.telegram.org"

static const char *tg__base(const struct channel_env *env)
{
    return env && env->telegram_api_base && *env->telegram_api_base ? env->telegram_api_base : TG_DEFAULT_BASE;
}

static int telegram_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e)
{
    const char *got = channel_header(wh, "x-telegram-bot-api-secret-token");
    const char *want = channel_creds_get(creds, "secret_token");
    if (!got || !*got)
        return err_set(e, ERR_FORBIDDEN, "missing_signature", "X-Telegram-Bot-Api-Secret-Token header missing");
    if (!want || !*want)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "account has no secret token");
    if (!crypto_equal(got, strlen(got), want, strlen(want)))
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "X-Telegram-Bot-Api-Secret-Token does not match");
    return 0;
}

/* ------------------------------------------------------------------ parse */

static const char *tg__str(struct arena *a, const cJSON *o, const char *name)
{
    const char *s = cJSON_IsObject(o) ? json_str(o, name) : NULL;
    return s ? arena_strdup(a, s) : NULL;
}

/* "First Last", "First", the @username, or NULL. */
static const char *tg__name(struct arena *a, const cJSON *who)
{
    const char *first = cJSON_IsObject(who) ? json_str(who, "first_name") : NULL;
    const char *last = cJSON_IsObject(who) ? json_str(who, "last_name") : NULL;
    const char *user = cJSON_IsObject(who) ? json_str(who, "username") : NULL;
    if (first && *first && last && *last)
        return arena_printf(a, "%s %s", first, last);
    if (first && *first)
        return arena_strdup(a, first);
    if (last && *last)
        return arena_strdup(a, last);
    if (user && *user)
        return arena_printf(a, "@%s", user);
    return NULL;
}

static struct channel_media *tg__media(struct arena *a, const char *file_id, const char *content_type)
{
    struct channel_media *m = arena_alloc(a, sizeof *m);
    m->id = arena_strdup(a, file_id);
    m->content_type = content_type ? arena_strdup(a, content_type) : NULL;
    return m;
}

/* The largest PhotoSize's file_id (by pixels; Telegram lists them smallest first). */
static const char *tg__largest_photo(const cJSON *sizes)
{
    const char *best = NULL;
    double best_px = -1;
    const cJSON *s;
    cJSON_ArrayForEach (s, sizes) {
        const char *id = cJSON_IsObject(s) ? json_str(s, "file_id") : NULL;
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "width");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(s, "height");
        double px = cJSON_IsNumber(w) && cJSON_IsNumber(h) ? w->valuedouble * h->valuedouble : 0;
        if (id && *id && px >= best_px) {
            best = id;
            best_px = px;
        }
    }
    return best;
}

/* A phone number as Telegram gives it ("79991234567", "+7 999…") with the
 * "+" its international digits need. */
static const char *tg__phone(struct arena *a, const char *raw)
{
    while (*raw == ' ')
        raw++;
    return *raw == '+' ? arena_strdup(a, raw) : arena_printf(a, "+%s", raw);
}

/* "/start", "/start payload" or "/start@bot payload": 1 and the payload
 * (NULL when none) in *ref. */
static int tg__start(struct arena *a, const char *text, const char **ref)
{
    *ref = NULL;
    if (strncmp(text, "/start", 6) != 0 || (text[6] && text[6] != ' ' && text[6] != '@'))
        return 0;
    const char *p = text + 6;
    if (*p == '@')
        p += strcspn(p, " ");
    while (*p == ' ')
        p++;
    size_t n = strlen(p);
    while (n && p[n - 1] == ' ')
        n--;
    if (n)
        *ref = arena_strndup(a, p, n);
    return 1;
}

/* The content of a message: type, text, media, location. */
static int tg__content(struct arena *a, const cJSON *m, const cJSON *from, struct channel_event *ev, struct err *e)
{
    static const struct {
        const char *member, *type, *default_ct;
    } files[] = {
        {"document", "document", NULL},       {"video", "video", "video/mp4"},      {"audio", "audio", "audio/mpeg"},
        {"voice", "audio", "audio/ogg"},      {"video_note", "video", "video/mp4"}, {"animation", "video", "video/mp4"},
        {"sticker", "sticker", "image/webp"},
    };
    const cJSON *o;
    const char *caption = tg__str(a, m, "caption");

    if ((ev->text = tg__str(a, m, "text"))) {
        ev->type = tg__start(a, ev->text, &ev->ref) ? "start" : "text";
        return 0;
    }
    if (cJSON_IsArray(o = cJSON_GetObjectItemCaseSensitive(m, "photo"))) {
        const char *id = tg__largest_photo(o);
        if (!id)
            return err_set(e, ERR_INVALID, "invalid_payload", "Telegram photo without a file_id");
        ev->type = "image";
        ev->media = tg__media(a, id, "image/jpeg"); /* Telegram re-encodes photos as JPEG */
        ev->nmedia = 1;
        ev->text = caption;
        return 0;
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!cJSON_IsObject(o = cJSON_GetObjectItemCaseSensitive(m, files[i].member)))
            continue;
        const char *id = json_str(o, "file_id"), *ct = json_str(o, "mime_type");
        if (!id || !*id)
            return err_set(e, ERR_INVALID, "invalid_payload", "Telegram %s without a file_id", files[i].member);
        ev->type = files[i].type;
        ev->media = tg__media(a, id, ct && *ct ? ct : files[i].default_ct);
        ev->nmedia = 1;
        /* A document's caption, else its file name: what an agent reads first. */
        ev->text = caption ? caption : tg__str(a, o, "file_name");
        return 0;
    }
    if (cJSON_IsObject(o = cJSON_GetObjectItemCaseSensitive(m, "location"))) {
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latitude");
        const cJSON *lon = cJSON_GetObjectItemCaseSensitive(o, "longitude");
        if (!cJSON_IsNumber(lat) || !cJSON_IsNumber(lon))
            return err_set(e, ERR_INVALID, "invalid_payload", "Telegram location without coordinates");
        ev->type = "location";
        ev->latitude = lat->valuedouble;
        ev->longitude = lon->valuedouble;
        return 0;
    }
    if (cJSON_IsObject(o = cJSON_GetObjectItemCaseSensitive(m, "contact"))) {
        const char *phone = json_str(o, "phone_number");
        int64_t uid = 0, fid = 0;
        if (!phone || !*phone)
            return err_set(e, ERR_INVALID, "invalid_payload", "Telegram contact without a phone_number");
        ev->type = "contact";
        ev->text = tg__phone(a, phone);
        /* The sender shared their own number (the "share my phone" button). */
        if (json_int(o, "user_id", &uid) == 0 && json_int(from, "id", &fid) == 0 && uid == fid)
            ev->ref = "own_contact";
        return 0;
    }
    ev->type = "unsupported";
    ev->text = caption;
    return 0;
}

static int telegram_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    int rc = 0;
    cJSON *root = NULL;
    int64_t update_id = 0, message_id = 0, chat_id = 0, date = 0;
    memset(out, 0, sizeof *out);
    if ((rc = json_parse(&root, wh->body ? wh->body : "", wh->body ? wh->body_len : 0, e)))
        goto out;
    if (!cJSON_IsObject(root) || json_int(root, "update_id", &update_id) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "Telegram update without an integer update_id");
        goto out;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (!m)
        goto out; /* another update type: nothing we store */
    const cJSON *chat = cJSON_GetObjectItemCaseSensitive(m, "chat");
    if (!cJSON_IsObject(m) || json_int(m, "message_id", &message_id) != 0 || !cJSON_IsObject(chat) ||
        json_int(chat, "id", &chat_id) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "Telegram message without message_id or chat.id");
        goto out;
    }
    struct channel_event *ev = arena_alloc(a, sizeof *ev);
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->event_id = arena_printf(a, "%lld", (long long)update_id);
    ev->provider_message_id = arena_printf(a, "%lld:%lld", (long long)chat_id, (long long)message_id);
    ev->from = arena_printf(a, "%lld", (long long)chat_id); /* replies go to the chat */
    ev->contact_name = tg__name(a, cJSON_IsObject(from) ? from : chat);
    if (!ev->contact_name)
        ev->contact_name = tg__str(a, chat, "title");
    if (json_int(m, "date", &date) == 0 && date > 0 && date < 100000000000LL)
        ev->provider_ts = date * 1000;
    if ((rc = tg__content(a, m, from, ev, e)))
        goto out;
    out->items = ev;
    out->n = 1;
out:
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------ API calls */

/* What one Bot API call answered. */
struct tg_answer {
    cJSON *root;         /* the parsed body, or NULL */
    const cJSON *result; /* root.result when ok is true */
    long status;
    const char *description;
    int retry_after_s;
};

/* Call {base}/bot<token>/<method>[?query]: GET without json, else POST the
 * JSON. 0 when Telegram answered ok:true (a->result set). Otherwise the
 * error: ERR_RATELIMIT (429, retry_after), ERR_UPSTREAM "provider_error"
 * (5xx, no answer, an answer that is not the Bot API's), ERR_TIMEOUT, or
 * ERR_INVALID "provider_rejected" (other 4xx: retrying cannot help), with
 * Telegram's description in the message. The caller cJSON_Deletes a->root. */
static int tg__call(const struct channel_env *env, const char *token, const char *method, const char *query,
                    const cJSON *json, struct tg_answer *ans, struct err *e)
{
    int rc = 0;
    struct buf url = {0};
    struct channel__resp r = {0};
    char *body = NULL;
    memset(ans, 0, sizeof *ans);
    buf_printf(&url, "%s/bot%s/%s%s%s", tg__base(env), token, method, query ? "?" : "", query ? query : "");
    if (json) {
        body = json_print(json);
        rc = channel__post(env, url.data, "application/json", body, strlen(body), NULL, NULL, &r, e);
    } else {
        rc = channel__http(env, url.data, NULL, NULL, 0, NULL, NULL, &r, e);
    }
    ans->status = r.status;
    if (rc)
        goto out;
    (void)json_parse(&ans->root, r.body.data ? r.body.data : "", r.body.len, NULL);
    const cJSON *ok = ans->root ? cJSON_GetObjectItemCaseSensitive(ans->root, "ok") : NULL;
    ans->description = ans->root ? json_str(ans->root, "description") : NULL;
    if (r.status >= 200 && r.status < 300 && cJSON_IsTrue(ok)) {
        ans->result = cJSON_GetObjectItemCaseSensitive(ans->root, "result");
        goto out;
    }
    const cJSON *params = ans->root ? cJSON_GetObjectItemCaseSensitive(ans->root, "parameters") : NULL;
    int64_t ra = 0;
    if (cJSON_IsObject(params) && json_int(params, "retry_after", &ra) == 0 && ra > 0 && ra < 86400)
        ans->retry_after_s = (int)ra;
    else
        ans->retry_after_s = r.retry_after_s;
    if (r.status == 429) {
        rc = err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Telegram rate limit (retry after %d s)",
                     ans->retry_after_s);
    } else if (r.status >= 500 || r.status < 400 || !cJSON_IsFalse(ok)) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "Telegram answered %ld to %s", r.status, method);
    } else {
        rc = err_set(e, ERR_INVALID, "provider_rejected", "Telegram refused %s (%ld): %.160s", method, r.status,
                     ans->description ? ans->description : "no description");
    }
out:
    free(body);
    buf_free(&r.body);
    buf_free(&url);
    return rc;
}

/* A chat id as the API takes it: a JSON number when it is one, else a string (@channel). */
static void tg__add_chat(cJSON *req, const char *to)
{
    char *end = NULL;
    long long v = strtoll(to, &end, 10);
    if (*to && end && !*end && v > -(1LL << 53) && v < (1LL << 53))
        cJSON_AddNumberToObject(req, "chat_id", (double)v);
    else
        cJSON_AddStringToObject(req, "chat_id", to);
}

/* 1 when the URL names an image Telegram shows as a photo (by extension). */
static int tg__is_photo(const char *url)
{
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".gif", ".webp"};
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t el = strlen(exts[i]);
        if (n >= el && strncasecmp(url + n - el, exts[i], el) == 0)
            return 1;
    }
    return 0;
}

static int telegram_send(const struct channel_env *env, const struct channel_creds *creds,
                         const struct channel_send *msg, struct channel_send_result *out, struct err *e)
{
    int rc = 0;
    cJSON *req = NULL;
    struct tg_answer ans = {0};
    const char *method;
    memset(out, 0, sizeof *out);
    const char *token = channel_creds_get(creds, "bot_token");
    if (!token || !*token || !msg->to || !*msg->to) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "Telegram account needs bot_token");
        goto out;
    }
    if (msg->template_name || (!msg->nmedia && (!msg->text || !*msg->text))) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "unsupported_message", "Telegram sends text and media only");
        goto out;
    }
    req = cJSON_CreateObject();
    tg__add_chat(req, msg->to);
    if (msg->nmedia) {
        int photo = tg__is_photo(msg->media_urls[0]);
        method = photo ? "sendPhoto" : "sendDocument";
        cJSON_AddStringToObject(req, photo ? "photo" : "document", msg->media_urls[0]);
        if (msg->text && *msg->text)
            cJSON_AddStringToObject(req, "caption", msg->text);
    } else {
        method = "sendMessage";
        cJSON_AddStringToObject(req, "text", msg->text);
    }
    rc = tg__call(env, token, method, NULL, req, &ans, e);
    out->http_status = (int)ans.status;
    if (rc == 0) {
        int64_t mid = 0, cid = 0;
        const cJSON *chat = cJSON_IsObject(ans.result) ? cJSON_GetObjectItemCaseSensitive(ans.result, "chat") : NULL;
        if (!cJSON_IsObject(ans.result) || json_int(ans.result, "message_id", &mid) != 0) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Telegram answered %s without result.message_id",
                         method);
            snprintf(out->error_text, sizeof out->error_text, "%s", "response without message id");
            goto out;
        }
        if (cJSON_IsObject(chat) && json_int(chat, "id", &cid) == 0)
            snprintf(out->provider_message_id, sizeof out->provider_message_id, "%lld:%lld", (long long)cid,
                     (long long)mid);
        else
            snprintf(out->provider_message_id, sizeof out->provider_message_id, "%.80s:%lld", msg->to, (long long)mid);
        snprintf(out->status, sizeof out->status, "%s", "sent");
        goto out;
    }
    snprintf(out->error_text, sizeof out->error_text, "%s",
             ans.description  ? ans.description
             : e && e->msg[0] ? e->msg
                              : "provider error");
    if (rc == ERR_RATELIMIT) {
        out->retry_after_s = ans.retry_after_s;
    } else if (rc == ERR_INVALID) {
        out->permanent = 1;
        const char *d = ans.description ? ans.description : "";
        if (ans.status == 403 && (strstr(d, "blocked by the user") || strstr(d, "user is deactivated"))) {
            /* Permanent for this chat: the worker suppresses the address. */
            out->recipient_blocked = 1;
            rc = err_set(e, ERR_INVALID, "recipient_blocked", "the recipient blocked the bot: %.160s", d);
        }
    }
out:
    cJSON_Delete(req);
    cJSON_Delete(ans.root);
    return rc;
}

/* ----------------------------------------------------------------- media */

/* Telegram's file server answers application/octet-stream: type by the path. */
static const char *tg__type_by_path(const char *path)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},     {".png", "image/png"}, {".webp", "image/webp"},
        {".gif", "image/gif"},  {".mp4", "video/mp4"},       {".oga", "audio/ogg"}, {".ogg", "audio/ogg"},
        {".mp3", "audio/mpeg"}, {".pdf", "application/pdf"},
    };
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        size_t el = strlen(map[i].ext);
        if (n >= el && strcasecmp(path + n - el, map[i].ext) == 0)
            return map[i].type;
    }
    return "";
}

static int telegram_fetch_media(const struct channel_env *env, const struct channel_creds *creds,
                                const struct channel_media *media, size_t max_bytes, struct buf *out,
                                char *content_type, size_t ctlen, struct err *e)
{
    int rc = 0;
    struct tg_answer ans = {0};
    struct buf q = {0}, url = {0};
    struct channel__resp r = {0};
    int64_t size = 0;
    const char *token = channel_creds_get(creds, "bot_token"), *path;
    if (ctlen)
        content_type[0] = '\0';
    if (!token || !*token)
        return err_set(e, ERR_INVALID, "channel_misconfigured", "Telegram account needs bot_token");
    if (!media || !media->id || !*media->id)
        return err_set(e, ERR_INVALID, "invalid_media", "Telegram media needs a file_id");
    buf_puts(&q, "file_id=");
    channel__form_escape(&q, media->id);
    if ((rc = tg__call(env, token, "getFile", q.data, NULL, &ans, e))) {
        if (rc == ERR_INVALID && ans.description && strstr(ans.description, "file is too big"))
            rc = err_set(e, ERR_TOOLARGE, "media_too_large", "Telegram serves bots files of at most 20 MB");
        else if (rc == ERR_INVALID)
            rc = err_set(e, ERR_UPSTREAM, "provider_rejected", "%s", e ? e->msg : "getFile refused");
        goto out;
    }
    path = cJSON_IsObject(ans.result) ? json_str(ans.result, "file_path") : NULL;
    if (!path || !*path || strstr(path, "..")) {
        rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Telegram answered getFile without a file_path");
        goto out;
    }
    if (json_int(ans.result, "file_size", &size) == 0 && size > 0 && (uint64_t)size > max_bytes) {
        rc =
            err_set(e, ERR_TOOLARGE, "media_too_large", "media is %lld bytes; at most %zu", (long long)size, max_bytes);
        goto out;
    }
    buf_printf(&url, "%s/file/bot%s/%s", tg__base(env), token, path);
    r.max_body = max_bytes ? max_bytes : 1;
    if ((rc = channel__http(env, url.data, NULL, NULL, 0, NULL, NULL, &r, e))) {
        if (r.overflow)
            rc = err_set(e, ERR_TOOLARGE, "media_too_large", "media is larger than %zu bytes", max_bytes);
        goto out;
    }
    if (r.status == 429 || r.status >= 500 || r.status < 200) {
        rc = err_set(e, r.status == 429 ? ERR_RATELIMIT : ERR_UPSTREAM,
                     r.status == 429 ? "provider_rate_limited" : "provider_error",
                     "Telegram file download answered %ld", r.status);
        goto out;
    }
    if (r.status >= 300) {
        rc = err_set(e, ERR_UPSTREAM, "provider_rejected", "Telegram file download answered %ld", r.status);
        goto out;
    }
    buf_append(out, r.body.data ? r.body.data : "", r.body.len);
    if (ctlen)
        snprintf(content_type, ctlen, "%s",
                 media->content_type && *media->content_type ? media->content_type : tg__type_by_path(path));
out:
    cJSON_Delete(ans.root);
    buf_free(&r.body);
    buf_free(&url);
    buf_free(&q);
    return rc;
}

/* ------------------------------------------------------------ connecting */

/* Setup refusals are the operator's to fix, never the caller's input. */
static int tg__setup_error(int rc, struct err *e)
{
    if (rc == ERR_INVALID)
        return err_set(e, ERR_UPSTREAM, "provider_rejected", "%s", e ? e->msg : "Telegram refused the request");
    return rc;
}

static int telegram_register_webhook(const struct channel_env *env, const struct channel_creds *creds,
                                     const char *webhook_url, char *address, size_t addrlen, struct err *e)
{
    int rc = 0;
    struct tg_answer me = {0}, set = {0};
    cJSON *req = NULL;
    int64_t id = 0;
    const char *token = channel_creds_get(creds, "bot_token"), *secret = channel_creds_get(creds, "secret_token");
    if (!token || !*token || !secret || !*secret || !webhook_url)
        return err_set(e, ERR_INVALID, "channel_misconfigured", "Telegram account needs bot_token and secret_token");
    if ((rc = tg__call(env, token, "getMe", NULL, NULL, &me, e))) {
        rc = tg__setup_error(rc, e);
        goto out;
    }
    const char *user = cJSON_IsObject(me.result) ? json_str(me.result, "username") : NULL;
    if (!cJSON_IsObject(me.result) || json_int(me.result, "id", &id) != 0) {
        rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Telegram answered getMe without the bot's id");
        goto out;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "url", webhook_url);
    cJSON_AddStringToObject(req, "secret_token", secret);
    cJSON *allowed = cJSON_AddArrayToObject(req, "allowed_updates");
    cJSON_AddItemToArray(allowed, cJSON_CreateString("message"));
    if ((rc = tg__call(env, token, "setWebhook", NULL, req, &set, e))) {
        rc = tg__setup_error(rc, e);
        goto out;
    }
    if (user && *user)
        snprintf(address, addrlen, "%s", user);
    else
        snprintf(address, addrlen, "%lld", (long long)id);
out:
    cJSON_Delete(req);
    cJSON_Delete(me.root);
    cJSON_Delete(set.root);
    return rc;
}

/* getMe with the bot token: Telegram's own "test your bot's auth token". */
static int telegram_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                    struct channel_test_result *out, struct err *e)
{
    const char *token = channel_creds_get(creds, "bot_token");
    struct tg_answer me = {0};
    int64_t id = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!token || !*token) {
        snprintf(out->detail, sizeof out->detail, "the account has no bot_token");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    rc = tg__call(env, token, "getMe", NULL, NULL, &me, e);
    out->http_status = (int)me.status;
    if (rc == 0) {
        const char *user = cJSON_IsObject(me.result) ? json_str(me.result, "username") : NULL;
        if (cJSON_IsObject(me.result))
            (void)json_int(me.result, "id", &id);
        out->ok = 1;
        if (user)
            snprintf(out->detail, sizeof out->detail, "Telegram bot @%s (id %lld)", user, (long long)id);
        else
            snprintf(out->detail, sizeof out->detail, "Telegram bot %lld", (long long)id);
    } else if (me.status) { /* Telegram answered: a refusal, not a failure to reach it */
        int64_t code = 0;
        if (me.root && json_int(me.root, "error_code", &code) == 0 && code)
            snprintf(out->code, sizeof out->code, "%lld", (long long)code);
        snprintf(out->detail, sizeof out->detail, "Telegram refused the bot token: %.200s",
                 me.description ? me.description : e && e->msg[0] ? e->msg : "no reason given");
        rc = 0;
    } else {
        snprintf(out->detail, sizeof out->detail, "%s", e && e->msg[0] ? e->msg : "Telegram could not be reached");
        snprintf(out->code, sizeof out->code, "%s", e ? err_slug(e) : "provider_unreachable");
    }
    cJSON_Delete(me.root);
    return rc;
}

const struct channel_adapter channel_telegram = {
    .name = "telegram",
    .caps = {.max_text_len = 4096,
             .media_types = "image/jpeg image/png image/gif image/webp application/pdf",
             .max_media_bytes = 20 * 1024 * 1024,
             .window_ms = 0},
    .verify = telegram_verify,
    .handshake = NULL,
    .parse = telegram_parse,
    .send = telegram_send,
    .list_templates = NULL,
    .fetch_media = telegram_fetch_media,
    .register_webhook = telegram_register_webhook,
    .test_connection = telegram_test_connection,
};
