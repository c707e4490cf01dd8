/*
 * channel_instagram: the Instagram Messaging adapter (Meta Graph).
 *
 * handshake and verify: Meta's (channel_meta.c), as for WhatsApp. parse:
 * object "instagram", every entry[].messaging[] item in order (Messenger's
 * format): messages (text, attachments, story replies, story mentions,
 * shares), postbacks, reactions and read receipts; our own sends echoed
 * back (is_echo) and deletions are skipped. Ids stay strings. send: POST
 * {graph}/{ig_user_id}/messages with a bearer token, text or one attachment;
 * messaging_type RESPONSE inside the 24-hour window, and only for a
 * person's reply (origin "agent") within 7 days the HUMAN_AGENT tag; any
 * other message outside the window is refused here without a request, so a
 * message that waited in the queue past its window is never sent. Pure: no
 * database, no globals beyond curl's one-time init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

#define IG_WINDOW_MS (24LL * 3600 * 1000)
#define IG_HUMAN_AGENT_MS (7LL * 24 * 3600 * 1000)

/* A JSON string member copied into the arena, or NULL. */
static const char *ig__str(struct arena *a, const cJSON *o, const char *name)
{
    const char *s = cJSON_IsObject(o) ? json_str(o, name) : NULL;
    return s ? arena_strdup(a, s) : NULL;
}

/* o.name.id (sender.id, recipient.id): a string, or NULL. */
static const char *ig__id(struct arena *a, const cJSON *o, const char *name)
{
    return ig__str(a, cJSON_GetObjectItemCaseSensitive(o, name), "id");
}

/* The item's timestamp: Unix ms, 0 when absent or malformed. */
static int64_t ig__ts(const cJSON *item)
{
    int64_t v = 0;
    if (json_int(item, "timestamp", &v) != 0 || v <= 0 || v > 100000000000000LL)
        return 0;
    return v;
}

/* Our message type for an attachment type: Instagram's own names, with
 * "file" as the document it is. */
static const char *ig__media_type(const char *t)
{
    return strcmp(t, "file") == 0 ? "document" : t;
}

static int ig__message(struct arena *a, const cJSON *m, struct channel_event *ev, struct err *e)
{
    const cJSON *atts = cJSON_GetObjectItemCaseSensitive(m, "attachments");
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(m, "reply_to");
    const cJSON *story = cJSON_IsObject(reply) ? cJSON_GetObjectItemCaseSensitive(reply, "story") : NULL;
    int natt = cJSON_IsArray(atts) ? cJSON_GetArraySize(atts) : 0;
    const cJSON *att;

    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->event_id = ig__str(a, m, "mid");
    ev->provider_message_id = ev->event_id;
    if (!ev->event_id || !*ev->event_id)
        return err_set(e, ERR_INVALID, "invalid_payload", "Instagram message without mid");
    ev->text = ig__str(a, m, "text");
    ev->type = "text";
    if (natt > 0) {
        struct channel_media *md = arena_alloc(a, (size_t)natt * sizeof *md);
        size_t n = 0;
        const char *first = NULL;
        memset(md, 0, (size_t)natt * sizeof *md);
        cJSON_ArrayForEach(att, atts) {
            const char *t = json_str(att, "type");
            if (!t || !*t)
                return err_set(e, ERR_INVALID, "invalid_payload", "Instagram attachment without a type");
            if (!first)
                first = t;
            const char *url = ig__str(a, cJSON_GetObjectItemCaseSensitive(att, "payload"), "url");
            if (url)
                md[n++].url = url;
        }
        ev->type = arena_strdup(a, ig__media_type(first));
        ev->media = n ? md : NULL;
        ev->nmedia = n;
    }
    if (cJSON_IsObject(story)) {
        /* A reply to the account's story: the story is what it refers to. */
        const char *id = ig__str(a, story, "id"), *url = ig__str(a, story, "url");
        ev->type = "story_reply";
        ev->ref = id ? id : url;
        if (url && !ev->nmedia) {
            struct channel_media *md = arena_alloc(a, sizeof *md);
            memset(md, 0, sizeof *md);
            md->url = url;
            ev->media = md;
            ev->nmedia = 1;
        }
    } else if (cJSON_IsObject(reply)) {
        ev->ref = ig__str(a, reply, "mid"); /* a reply to an earlier message */
    }
    if (json_bool(m, "is_unsupported", 0))
        ev->type = "unsupported";
    return 0;
}

static int ig__reaction(struct arena *a, const cJSON *r, struct channel_event *ev, struct err *e)
{
    const char *mid = json_str(r, "mid"), *action = json_str(r, "action");
    const char *emoji = json_str(r, "emoji"), *name = json_str(r, "reaction");

    if (!mid || !*mid || !action || (strcmp(action, "react") != 0 && strcmp(action, "unreact") != 0))
        return err_set(e, ERR_INVALID, "invalid_payload", "Instagram reaction without mid or a react/unreact action");
    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->ref = arena_strdup(a, mid);
    ev->type = strcmp(action, "react") == 0 ? "reaction" : "reaction_removed";
    ev->text = emoji ? arena_strdup(a, emoji) : name ? arena_strdup(a, name) : NULL;
    /* Reactions have no id of their own: the reacted-to message, what was
     * done and when make one (a redelivery repeats all of it). */
    ev->event_id = arena_printf(a, "reaction:%s:%s:%s:%lld", mid, action, emoji ? emoji : name ? name : "",
                                (long long)ev->provider_ts);
    ev->provider_message_id = ev->event_id;
    return 0;
}

/* One entry[].messaging[] item into ev; *skip = 1 when it is nothing we
 * store (an echo of our own send, a deletion, an event type we ignore). */
static int ig__item(struct arena *a, const cJSON *item, struct channel_event *ev, int *skip, struct err *e)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(item, "message");
    const cJSON *reaction = cJSON_GetObjectItemCaseSensitive(item, "reaction");
    const cJSON *read = cJSON_GetObjectItemCaseSensitive(item, "read");
    const cJSON *postback = cJSON_GetObjectItemCaseSensitive(item, "postback");

    *skip = 0;
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(item))
        return err_set(e, ERR_INVALID, "invalid_payload", "Instagram messaging item is not an object");
    ev->from = ig__id(a, item, "sender");
    ev->to = ig__id(a, item, "recipient");
    ev->provider_ts = ig__ts(item);
    if (cJSON_IsObject(msg)) {
        if (json_bool(msg, "is_echo", 0) || json_bool(msg, "is_deleted", 0)) {
            *skip = 1;
            return 0;
        }
        if (!ev->from || !*ev->from)
            return err_set(e, ERR_INVALID, "invalid_payload", "Instagram message without sender.id");
        return ig__message(a, msg, ev, e);
    }
    if (cJSON_IsObject(reaction)) {
        if (!ev->from || !*ev->from)
            return err_set(e, ERR_INVALID, "invalid_payload", "Instagram reaction without sender.id");
        return ig__reaction(a, reaction, ev, e);
    }
    if (cJSON_IsObject(read)) {
        /* The customer saw our message mid: its status moves to read. */
        ev->kind = CHANNEL_EVENT_STATUS;
        ev->provider_message_id = ig__str(a, read, "mid");
        if (!ev->provider_message_id || !*ev->provider_message_id)
            return err_set(e, ERR_INVALID, "invalid_payload", "Instagram read receipt without mid");
        ev->status = "read";
        ev->event_id = arena_printf(a, "%s:read", ev->provider_message_id);
        return 0;
    }
    if (cJSON_IsObject(postback)) {
        /* A tapped icebreaker or button: its title is what the customer said. */
        ev->kind = CHANNEL_EVENT_MESSAGE;
        ev->event_id = ig__str(a, postback, "mid");
        ev->provider_message_id = ev->event_id;
        ev->type = "postback";
        ev->text = ig__str(a, postback, "title");
        ev->ref = ig__str(a, postback, "payload");
        if (!ev->event_id || !*ev->event_id || !ev->from || !*ev->from)
            return err_set(e, ERR_INVALID, "invalid_payload", "Instagram postback without mid or sender.id");
        return 0;
    }
    *skip = 1;
    return 0;
}

static int instagram_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out,
                           struct err *e)
{
    int rc = 0;
    cJSON *root = NULL;
    size_t cap = 0, n = 0;
    memset(out, 0, sizeof *out);
    rc = json_parse(&root, wh->body ? wh->body : "", wh->body ? wh->body_len : 0, e);
    if (rc)
        goto out;
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
    const char *object = json_str(root, "object");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(entries)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "Instagram webhook without entry[]");
        goto out;
    }
    if (object && strcmp(object, "instagram") != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "webhook object is not \"instagram\"");
        goto out;
    }
    const cJSON *entry, *item;
    cJSON_ArrayForEach(entry, entries) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(entry, "messaging");
        cap += cJSON_IsArray(msgs) ? (size_t)cJSON_GetArraySize(msgs) : 0;
    }
    if (!cap)
        goto out;
    out->items = arena_alloc(a, cap * sizeof *out->items);
    cJSON_ArrayForEach(entry, entries) {
        const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(entry, "messaging");
        cJSON_ArrayForEach(item, (cJSON_IsArray(msgs) ? msgs : NULL)) {
            int skip = 0;
            if ((rc = ig__item(a, item, &out->items[n], &skip, e)))
                goto out;
            n += !skip;
        }
    }
    out->n = n;
out:
    if (rc || !out->n) {
        out->items = NULL;
        out->n = 0;
    }
    cJSON_Delete(root);
    return rc;
}

/* The attachment type Instagram takes for a URL, by its file extension:
 * image, video, audio, else a file. */
static const char *ig__attachment_type(const char *url)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        {".jpg", "image"}, {".jpeg", "image"}, {".png", "image"}, {".gif", "image"}, {".webp", "image"},
        {".mp4", "video"}, {".mov", "video"},  {".ogg", "video"}, {".webm", "video"}, {".mp3", "audio"},
        {".m4a", "audio"}, {".aac", "audio"},  {".wav", "audio"},
    };
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        size_t el = strlen(map[i].ext);
        if (n >= el && strncasecmp(url + n - el, map[i].ext, el) == 0)
            return map[i].type;
    }
    return "file";
}

/* How the message may go now: "RESPONSE", "HUMAN_AGENT" (a tagged person's
 * reply) or NULL (outside every window). */
static const char *ig__messaging_type(const struct channel_send *msg, int64_t now)
{
    int64_t age = now - msg->last_inbound_at;
    if (msg->last_inbound_at <= 0)
        return NULL;
    if (age <= IG_WINDOW_MS)
        return "RESPONSE";
    if (age <= IG_HUMAN_AGENT_MS && msg->origin && strcmp(msg->origin, "agent") == 0)
        return "HUMAN_AGENT";
    return NULL;
}

/* A non-2xx answer: transient (retry) or permanent, with Graph's codes. */
static int ig__send_error(const struct channel__resp *r, const cJSON *root, struct channel_send_result *out,
                          struct err *e)
{
    struct channel__graph_err ge;
    channel__graph_error(root, &ge);
    if (ge.code)
        snprintf(out->error_code, sizeof out->error_code, "%lld", (long long)ge.code);
    snprintf(out->error_text, sizeof out->error_text, "%s", ge.message ? ge.message : "provider error");
    /* 4 app, 17 user, 32 page, 613 calls: Graph's rate limits. */
    if (r->status == 429 || ge.code == 4 || ge.code == 17 || ge.code == 32 || ge.code == 613) {
        out->retry_after_s = r->retry_after_s;
        return err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Graph rate limit (code %lld)", (long long)ge.code);
    }
    if (r->status >= 500 || r->status < 200 || ge.code == 1 || ge.code == 2 || ge.transient)
        return err_set(e, ERR_UPSTREAM, "provider_error", "Graph answered %ld (code %lld)", r->status,
                       (long long)ge.code);
    out->permanent = 1;
    if (ge.code == 10 && ge.subcode == 2018278)
        return err_set(e, ERR_INVALID, "outside_window", "Graph refused the message: outside the messaging window");
    if (ge.code == 551)
        return err_set(e, ERR_INVALID, "recipient_unavailable", "Graph refused the message: the user is unavailable");
    if (ge.code == 190)
        return err_set(e, ERR_INVALID, "channel_misconfigured", "Graph refused the access token (code 190)");
    return err_set(e, ERR_INVALID, "provider_rejected", "Graph refused the message (%ld, code %lld)", r->status,
                   (long long)ge.code);
}

static int instagram_send(const struct channel_env *env, const struct channel_creds *creds,
                          const struct channel_send *msg, struct channel_send_result *out, struct err *e)
{
    int rc = 0;
    struct channel__resp r = {0};
    cJSON *req = NULL, *root = NULL;
    const char *igid = channel_creds_get(creds, "ig_user_id");
    const char *token = channel_creds_get(creds, "access_token");
    const char *mtype;

    memset(out, 0, sizeof *out);
    out->permanent = 1; /* until a request is made */
    if (!igid || !*igid || !token || !*token || !msg->to) {
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "Instagram account needs ig_user_id and access_token");
        goto out;
    }
    if (msg->template_name || (msg->nmedia && msg->text && *msg->text) || msg->nmedia > 1 ||
        (!msg->nmedia && (!msg->text || !*msg->text))) {
        rc = err_set(e, ERR_INVALID, "unsupported_message", "Instagram sends text or one attachment per message");
        goto out;
    }
    if (!(mtype = ig__messaging_type(msg, time_now_ms()))) {
        rc = err_set(e, ERR_INVALID, "outside_window",
                     "the customer's last message is over 24 hours old (7 days for a person's reply) or there is "
                     "none: Instagram takes no message now");
        snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "outside the messaging window");
        goto out;
    }
    out->permanent = 0;
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(req, "recipient"), "id", msg->to);
    if (strcmp(mtype, "HUMAN_AGENT") == 0) {
        cJSON_AddStringToObject(req, "messaging_type", "MESSAGE_TAG");
        cJSON_AddStringToObject(req, "tag", "HUMAN_AGENT");
    } else {
        cJSON_AddStringToObject(req, "messaging_type", mtype);
    }
    cJSON *m = cJSON_AddObjectToObject(req, "message");
    if (msg->nmedia) {
        cJSON *att = cJSON_AddObjectToObject(m, "attachment");
        cJSON_AddStringToObject(att, "type", ig__attachment_type(msg->media_urls[0]));
        cJSON_AddStringToObject(cJSON_AddObjectToObject(att, "payload"), "url", msg->media_urls[0]);
    } else {
        cJSON_AddStringToObject(m, "text", msg->text);
    }
    if ((rc = channel__graph_post(env, igid, token, req, &r, &root, out, e)))
        goto out;
    if (r.status >= 200 && r.status < 300) {
        const char *id = root ? json_str(root, "message_id") : NULL;
        if (!id || !*id) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Graph answered %ld without message_id", r.status);
            snprintf(out->error_text, sizeof out->error_text, "%s", "response without message id");
            goto out;
        }
        snprintf(out->provider_message_id, sizeof out->provider_message_id, "%s", id);
        snprintf(out->status, sizeof out->status, "%s", "sent");
        goto out;
    }
    rc = ig__send_error(&r, root, out, e);
out:
    cJSON_Delete(req);
    cJSON_Delete(root);
    buf_free(&r.body);
    return rc;
}

/* The IG user the token speaks for, GET {graph}/{ig_user_id} (or /me
 * without one) with the token. */
static int instagram_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                     struct channel_test_result *out, struct err *e)
{
    const char *igid = channel_creds_get(creds, "ig_user_id");
    const char *token = channel_creds_get(creds, "access_token");
    cJSON *root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!token || !*token) {
        snprintf(out->detail, sizeof out->detail, "the account has no access_token");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    rc = channel__graph_test(env, igid && *igid ? igid : "me", "id,username,name", token, &root, out, e);
    if (rc == 0 && out->ok) {
        const char *user = json_str(root, "username"), *id = json_str(root, "id");
        snprintf(out->detail, sizeof out->detail, "Instagram account %s%s", user ? "@" : "",
                 user ? user : id ? id : "(unnamed)");
    }
    cJSON_Delete(root);
    return rc;
}

const struct channel_adapter channel_instagram = {
    .name = "instagram",
    .caps = {.max_text_len = 1000,
             .media_types = "image/jpeg image/png image/gif image/webp video/mp4 video/quicktime audio/mpeg "
                            "audio/mp4 audio/aac audio/wav",
             .max_media_bytes = 8 * 1024 * 1024,
             .window_ms = IG_WINDOW_MS,
             .human_agent_window_ms = IG_HUMAN_AGENT_MS,
             .transactional_only = 1},
    .verify = channel__meta_verify,
    .handshake = channel__meta_handshake,
    .parse = instagram_parse,
    .send = instagram_send,
    .test_connection = instagram_test_connection,
};
