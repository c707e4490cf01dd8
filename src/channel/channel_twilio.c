/*
 * channel_twilio: the Twilio Programmable Messaging adapter (SMS/MMS).
 *
 * verify: X-Twilio-Signature = base64(HMAC-SHA1(auth_token, url + every POST
 * parameter name and value sorted by name)), tried with the URL as given and
 * with the default port added or removed, as Twilio's own libraries do.
 * parse: an inbound message (MessageSid + Body/NumMedia, no status) or a
 * status callback (MessageStatus/SmsStatus). send: Messages.json, form body,
 * basic auth. Pure: no database, no globals beyond curl's one-time init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

static int twilio__kv_cmp(const void *a, const void *b)
{
    const struct channel_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Compute the expected signature for url over the sorted params into sig. */
static void twilio__sign(char sig[64], const char *token, const char *url, const struct channel_kv *kv, size_t n)
{
    struct buf b = {0};
    uint8_t mac[20];
    buf_puts(&b, url);
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, kv[i].name);
        buf_puts(&b, kv[i].value);
    }
    crypto_hmac_sha1(mac, token, strlen(token), b.data ? b.data : "", b.len);
    crypto_base64(sig, 64, mac, sizeof mac);
    buf_free(&b);
}

/* The URL with the default port toggled: added when absent, removed when
 * present. Empty string when the URL is not http(s) or not parseable. */
static void twilio__port_variant(struct buf *out, const char *url)
{
    const char *port = NULL;
    size_t skip;
    if (strncmp(url, "https://", 8) == 0) {
        port = ":443";
        skip = 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        port = ":80";
        skip = 7;
    } else {
        return;
    }
    const char *host = url + skip;
    size_t hlen = strcspn(host, "/?#");
    const char *colon = memchr(host, ':', hlen);
    if (host[0] == '[') { /* IPv6 literal: the port colon follows ']' */
        const char *rb = memchr(host, ']', hlen);
        colon = rb && (size_t)(rb - host) + 1 < hlen && rb[1] == ':' ? rb + 1 : NULL;
    }
    if (colon) {
        size_t plen = hlen - (size_t)(colon - host);
        if (plen != strlen(port) || strncmp(colon, port, plen) != 0)
            return; /* a non-default port: no variant */
        buf_append(out, url, (size_t)(colon - url));
        buf_puts(out, colon + plen);
    } else {
        buf_append(out, url, (size_t)(host + hlen - url));
        buf_puts(out, port);
        buf_puts(out, host + hlen);
    }
}

static int twilio_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e)
{
    int rc = 0;
    struct arena *a = NULL;
    struct buf alt = {0};
    const char *got = channel_header(wh, "x-twilio-signature");
    const char *token = channel_creds_get(creds, "auth_token");
    char sig[64];
    if (!got || !*got)
        return err_set(e, ERR_FORBIDDEN, "missing_signature", "X-Twilio-Signature header missing");
    if (!token || !*token || !wh->url)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "account has no auth token");
    a = arena_new();
    struct channel_kv *kv = NULL;
    size_t n = 0;
    if (wh->method && strcmp(wh->method, "POST") == 0)
        channel__form_parse(a, wh->body ? wh->body : "", wh->body ? wh->body_len : 0, &kv, &n);
    if (n > 1)
        qsort(kv, n, sizeof *kv, twilio__kv_cmp);
    twilio__sign(sig, token, wh->url, kv, n);
    if (crypto_equal(sig, strlen(sig), got, strlen(got)))
        goto out;
    twilio__port_variant(&alt, wh->url);
    if (alt.len) {
        twilio__sign(sig, token, alt.data, kv, n);
        if (crypto_equal(sig, strlen(sig), got, strlen(got)))
            goto out;
    }
    rc = err_set(e, ERR_FORBIDDEN, "bad_signature", "X-Twilio-Signature does not match");
out:
    buf_free(&alt);
    arena_free(a);
    return rc;
}

static char *twilio__lower(struct arena *a, const char *s)
{
    char *o = arena_strdup(a, s);
    for (char *p = o; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return o;
}

static int twilio_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    struct channel_kv *kv = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    channel__form_parse(a, wh->body ? wh->body : "", wh->body ? wh->body_len : 0, &kv, &n);
    const char *sid = channel__kv_find(kv, n, "MessageSid");
    if (!sid)
        sid = channel__kv_find(kv, n, "SmsSid");
    if (!sid || !*sid)
        return err_set(e, ERR_INVALID, "invalid_payload", "Twilio webhook without MessageSid");
    struct channel_event *ev = arena_alloc(a, sizeof *ev);
    ev->provider_message_id = sid;
    ev->from = channel__kv_find(kv, n, "From");
    ev->to = channel__kv_find(kv, n, "To");
    const char *status = channel__kv_find(kv, n, "MessageStatus");
    if (!status)
        status = channel__kv_find(kv, n, "SmsStatus");
    const char *body = channel__kv_find(kv, n, "Body");
    /* Twilio also sends SmsStatus=received on inbound messages: those are messages. */
    if (status && *status && strcasecmp(status, "received") != 0) {
        ev->kind = CHANNEL_EVENT_STATUS;
        ev->status = twilio__lower(a, status);
        ev->event_id = arena_printf(a, "%s:%s", sid, ev->status);
        const char *code = channel__kv_find(kv, n, "ErrorCode");
        if (code && *code) {
            ev->error_code = code;
            ev->error_text = channel__kv_find(kv, n, "ErrorMessage");
        }
    } else {
        ev->kind = CHANNEL_EVENT_MESSAGE;
        ev->event_id = sid;
        if (!ev->from || !*ev->from)
            return err_set(e, ERR_INVALID, "invalid_payload", "Twilio inbound message without From");
        ev->text = body ? body : "";
        const char *nm = channel__kv_find(kv, n, "NumMedia");
        long nmedia = nm ? strtol(nm, NULL, 10) : 0;
        if (nmedia < 0 || nmedia > 10)
            return err_set(e, ERR_INVALID, "invalid_payload", "NumMedia out of range");
        struct channel_media *m = nmedia ? arena_alloc(a, (size_t)nmedia * sizeof *m) : NULL;
        size_t k = 0;
        for (long i = 0; i < nmedia; i++) {
            char name[32];
            snprintf(name, sizeof name, "MediaUrl%ld", i);
            const char *url = channel__kv_find(kv, n, name);
            if (!url)
                continue;
            snprintf(name, sizeof name, "MediaContentType%ld", i);
            m[k].url = url;
            m[k].content_type = channel__kv_find(kv, n, name);
            k++;
        }
        ev->media = m;
        ev->nmedia = k;
        /* With media, the type follows the first item (the body is its caption). */
        ev->type = "text";
        if (k) {
            const char *ct = m[0].content_type ? m[0].content_type : "";
            ev->type = strncmp(ct, "image/", 6) == 0   ? "image"
                       : strncmp(ct, "video/", 6) == 0 ? "video"
                       : strncmp(ct, "audio/", 6) == 0 ? "audio"
                                                       : "document";
        }
    }
    out->items = ev;
    out->n = 1;
    return 0;
}

static int twilio_send(const struct channel_env *env, const struct channel_creds *creds, const struct channel_send *msg,
                       struct channel_send_result *out, struct err *e)
{
    int rc = 0;
    struct buf url = {0}, form = {0}, userpwd = {0};
    struct channel__resp r = {0};
    cJSON *root = NULL;
    memset(out, 0, sizeof *out);
    const char *sid = channel_creds_get(creds, "account_sid");
    const char *token = channel_creds_get(creds, "auth_token");
    const char *from = msg->from ? msg->from : channel_creds_get(creds, "from");
    const char *service = channel_creds_get(creds, "messaging_service_sid");
    if (!sid || !token || (!from && !service) || !msg->to) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "channel_misconfigured",
                     "Twilio account needs account_sid, auth_token and from or messaging_service_sid");
        goto out;
    }
    if (!msg->text && !msg->nmedia) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "unsupported_message", "Twilio sends text and media only");
        goto out;
    }
    buf_printf(&url, "%s/2010-04-01/Accounts/%s/Messages.json",
               env && env->twilio_api_base ? env->twilio_api_base : "https://api.twilio.com", sid);
    channel__form_add(&form, "To", msg->to);
    if (from)
        channel__form_add(&form, "From", from);
    else
        channel__form_add(&form, "MessagingServiceSid", service);
    if (msg->text)
        channel__form_add(&form, "Body", msg->text);
    for (size_t i = 0; i < msg->nmedia; i++)
        channel__form_add(&form, "MediaUrl", msg->media_urls[i]);
    if (msg->status_callback_url)
        channel__form_add(&form, "StatusCallback", msg->status_callback_url);
    buf_printf(&userpwd, "%s:%s", sid, token);
    rc = channel__post(env, url.data, "application/x-www-form-urlencoded", form.data, form.len, userpwd.data, NULL,
                       &r, e);
    out->http_status = (int)r.status;
    if (rc) {
        snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "request failed");
        goto out;
    }
    (void)json_parse(&root, r.body.data ? r.body.data : "", r.body.len, NULL);
    if (r.status >= 200 && r.status < 300) {
        const char *msid = root ? json_str(root, "sid") : NULL;
        const char *st = root ? json_str(root, "status") : NULL;
        if (!msid) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "Twilio answered %ld without a sid", r.status);
            snprintf(out->error_text, sizeof out->error_text, "%s", "response without sid");
            goto out;
        }
        snprintf(out->provider_message_id, sizeof out->provider_message_id, "%s", msid);
        snprintf(out->status, sizeof out->status, "%s", st ? st : "queued");
        goto out;
    }
    int64_t code = 0;
    if (root && json_int(root, "code", &code) == 0)
        snprintf(out->error_code, sizeof out->error_code, "%lld", (long long)code);
    const char *m = root ? json_str(root, "message") : NULL;
    snprintf(out->error_text, sizeof out->error_text, "%s", m ? m : "provider error");
    if (r.status == 429) {
        out->retry_after_s = r.retry_after_s;
        rc = err_set(e, ERR_RATELIMIT, "provider_rate_limited", "Twilio rate limit (retry after %d s)",
                     r.retry_after_s);
    } else if (r.status >= 500 || r.status < 200) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "Twilio answered %ld", r.status);
    } else {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "provider_rejected", "Twilio refused the message (%ld, code %s)", r.status,
                     out->error_code[0] ? out->error_code : "-");
    }
out:
    cJSON_Delete(root);
    buf_free(&r.body);
    buf_free(&url);
    buf_free(&form);
    buf_free(&userpwd);
    return rc;
}

/* 1 when url is on the Twilio API's origin (scheme://host[:port]/): only
 * there do the account's credentials go. */
static int twilio__api_origin(const char *base, const char *url)
{
    const char *p = strstr(base, "://");
    if (!p)
        return 0;
    size_t n = (size_t)(p + 3 - base);
    n += strcspn(base + n, "/?#");
    return strncmp(base, url, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* MediaUrlN: with HTTP basic auth (account_sid:auth_token) when the account
 * enforces it, which Twilio allows; following Twilio's redirect to the
 * file itself (the credentials stay with api.twilio.com). */
static int twilio_fetch_media(const struct channel_env *env, const struct channel_creds *creds,
                              const struct channel_media *media, size_t max_bytes, struct buf *out,
                              char *content_type, size_t ctlen, struct err *e)
{
    struct buf userpwd = {0};
    const char *sid = channel_creds_get(creds, "account_sid");
    const char *token = channel_creds_get(creds, "auth_token");
    const char *base = env && env->twilio_api_base ? env->twilio_api_base : "https://api.twilio.com";
    int rc;

    if (!media || !media->url)
        return err_set(e, ERR_INVALID, "invalid_media_url", "Twilio media without a URL");
    if (sid && token && twilio__api_origin(base, media->url))
        buf_printf(&userpwd, "%s:%s", sid, token);
    rc = channel_fetch_url(env, media->url, userpwd.len ? userpwd.data : NULL, NULL, 1, max_bytes, out,
                           content_type, ctlen, NULL, e);
    if (userpwd.data)
        explicit_bzero(userpwd.data, userpwd.len);
    buf_free(&userpwd);
    return rc;
}

/* The account resource, GET /2010-04-01/Accounts/{sid}.json with basic
 * auth: Twilio's cheapest authenticated read. A suspended or closed
 * account is not ok either. */
static int twilio_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                  struct channel_test_result *out, struct err *e)
{
    const char *sid = channel_creds_get(creds, "account_sid");
    const char *token = channel_creds_get(creds, "auth_token");
    const char *base = env && env->twilio_api_base ? env->twilio_api_base : "https://api.twilio.com";
    struct buf url = {0}, userpwd = {0};
    cJSON *root = NULL;
    int64_t code = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (!sid || !*sid || !token || !*token) {
        snprintf(out->detail, sizeof out->detail, "the account has no account_sid or auth_token");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    buf_printf(&url, "%s/2010-04-01/Accounts/", base);
    channel__form_escape(&url, sid);
    buf_puts(&url, ".json");
    buf_printf(&userpwd, "%s:%s", sid, token);
    rc = channel__test_get(env, url.data, userpwd.data, NULL, &root, out, e);
    explicit_bzero(userpwd.data, userpwd.len);
    if (rc)
        goto out;
    const char *status = root ? json_str(root, "status") : NULL, *name = root ? json_str(root, "friendly_name") : NULL;
    if (out->http_status == 200) {
        out->ok = !status || strcmp(status, "active") == 0;
        snprintf(out->detail, sizeof out->detail, "Twilio account \"%s\" is %s", name ? name : sid,
                 status ? status : "active");
        if (!out->ok)
            snprintf(out->code, sizeof out->code, "account_%s", status);
        goto out;
    }
    if (root && json_int(root, "code", &code) == 0 && code)
        snprintf(out->code, sizeof out->code, "%lld", (long long)code);
    if (root && json_str(root, "message"))
        snprintf(out->detail, sizeof out->detail, "Twilio refused the credentials (HTTP %d): %s", out->http_status,
                 json_str(root, "message"));
    else
        snprintf(out->detail, sizeof out->detail, "Twilio answered HTTP %d", out->http_status);
out:
    cJSON_Delete(root);
    buf_free(&userpwd);
    buf_free(&url);
    return rc;
}

const struct channel_adapter channel_twilio = {
    .name = "twilio",
    /* MMS: Twilio's accepted content types (JPEG, PNG and GIF are resized
     * for handsets, the rest passed through), 5 MB per message. */
    .caps = {.max_text_len = 1600,
             .media_types = "image/jpeg image/png image/gif image/bmp audio/mpeg audio/mp4 audio/ogg audio/amr "
                            "audio/3gpp audio/webm audio/wav video/mp4 video/quicktime video/webm video/3gpp "
                            "video/mpeg text/vcard text/x-vcard text/csv text/calendar application/pdf",
             .max_media_bytes = 5 * 1024 * 1024,
             .window_ms = 0},
    .verify = twilio_verify,
    .handshake = NULL,
    .parse = twilio_parse,
    .send = twilio_send,
    .list_templates = NULL,
    .fetch_media = twilio_fetch_media,
    .test_connection = twilio_test_connection,
};
