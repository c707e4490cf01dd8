/*
 * channel_sendgrid: the SendGrid e-mail adapter (v3 Mail Send, the signed
 * Event Webhook, Inbound Parse). One webhook URL takes both kinds of post:
 *
 * - Event Webhook (application/json): X-Twilio-Email-Event-Webhook-Signature
 *   is a base64 DER ECDSA P-256 signature, SHA-256, over the
 *   X-Twilio-Email-Event-Webhook-Timestamp value immediately followed by the
 *   raw body, checked with the account's event_public_key (base64 DER
 *   SubjectPublicKeyInfo, as SendGrid shows it). Events become status
 *   reports: processed -> sent, delivered -> delivered, open -> read,
 *   bounce / dropped / spamreport / unsubscribe -> failed with error code
 *   bounce / dropped / spamreport / unsubscribe (the inbound job suppresses
 *   the address for those), a bounce of type "blocked" -> failed "blocked"
 *   (a block is usually temporary: no suppression), a drop for a reason that
 *   is not the address -> failed "dropped_message"; deferred, click and
 *   the rest are kept as history under their own name.
 * - Inbound Parse (multipart/form-data) is unsigned: the URL configured at
 *   SendGrid carries ?secret=<inbound_secret>, compared in constant time.
 *
 * send: POST {base}/v3/mail/send, bearer api_key; 202 + X-Message-Id. Pure:
 * no database, no globals beyond curl's and GMime's one-time init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "channel/channel_int.h"
#include "channel/channel_sendgrid_int.h"

#define SG_MAX_KEY 512
#define SG_MAX_SIG 256
#define SG_HDR_SIG "x-twilio-email-event-webhook-signature"
#define SG_HDR_TS "x-twilio-email-event-webhook-timestamp"

static int sg_is_inbound(const struct channel_webhook *wh)
{
    const char *ct = channel_header(wh, "content-type");
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    return ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

/* ECDSA over ts || body with the base64 DER public key. 1 when valid. */
static int sg_ecdsa_ok(const char *key_b64, const char *sig_b64, const char *ts, const char *body, size_t len)
{
    unsigned char key[SG_MAX_KEY], sig[SG_MAX_SIG];
    int kl = crypto_unbase64(key, sizeof key, key_b64, strlen(key_b64));
    int sl = crypto_unbase64(sig, sizeof sig, sig_b64, strlen(sig_b64));
    int ok = 0;
    if (kl <= 0 || sl <= 0)
        return 0;
    const unsigned char *kp = key;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &kp, kl);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (pk && ctx && kp == key + kl && EVP_PKEY_is_a(pk, "EC") &&
        EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
        EVP_DigestVerifyUpdate(ctx, ts, strlen(ts)) == 1 && EVP_DigestVerifyUpdate(ctx, body, len) == 1)
        ok = EVP_DigestVerifyFinal(ctx, sig, (size_t)sl) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok;
}

static int sendgrid_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e)
{
    if (sg_is_inbound(wh)) {
        const char *got = channel_query(wh, "secret");
        const char *want = channel_creds_get(creds, "inbound_secret");
        if (!got || !*got)
            return err_set(e, ERR_FORBIDDEN, "missing_signature", "Inbound Parse URL without ?secret=");
        if (!want || !*want || !crypto_equal(got, strlen(got), want, strlen(want)))
            return err_set(e, ERR_FORBIDDEN, "bad_signature", "Inbound Parse secret does not match");
        return 0;
    }
    const char *sig = channel_header(wh, SG_HDR_SIG);
    const char *ts = channel_header(wh, SG_HDR_TS);
    const char *key = channel_creds_get(creds, "event_public_key");
    if (!sig || !*sig || !ts || !*ts)
        return err_set(e, ERR_FORBIDDEN, "missing_signature",
                       "X-Twilio-Email-Event-Webhook-Signature or -Timestamp header missing");
    if (!key || !*key)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "account has no event_public_key");
    if (!sg_ecdsa_ok(key, sig, ts, wh->body ? wh->body : "", wh->body ? wh->body_len : 0))
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "Event Webhook signature does not verify");
    return 0;
}

/* ------------------------------------------------------------- events */

static const char *sg_str(struct arena *a, const cJSON *o, const char *name)
{
    const char *s = json_str(o, name);
    return s ? arena_strdup(a, s) : NULL;
}

/* A drop whose reason is about the address (suppress it) rather than the
 * message or the account: SendGrid's reasons, matched loosely. */
static const char *sg_drop_code(const char *reason)
{
    if (!reason)
        return "dropped_message";
    if (strcasestr(reason, "unsubscribed"))
        return "unsubscribe";
    if (strcasestr(reason, "spam reporting"))
        return "spamreport";
    if (strcasestr(reason, "bounced") || strcasecmp(reason, "invalid") == 0)
        return "dropped";
    return "dropped_message";
}

static int sg_event(struct arena *a, const cJSON *o, struct channel_event *ev, struct err *e)
{
    const char *event = json_str(o, "event");
    int64_t ts = 0;
    ev->kind = CHANNEL_EVENT_STATUS;
    ev->event_id = sg_str(a, o, "sg_event_id");
    ev->to = sg_str(a, o, "email");
    if (!ev->event_id || !*ev->event_id || !event || !*event || !ev->to)
        return err_set(e, ERR_INVALID, "invalid_payload", "SendGrid event without sg_event_id, event or email");
    const char *mid = json_str(o, "sg_message_id");
    if (mid && *mid)
        ev->provider_message_id = arena_strndup(a, mid, strcspn(mid, "."));
    if (json_int(o, "timestamp", &ts) == 0 && ts > 0 && ts < 100000000000LL)
        ev->provider_ts = ts * 1000;
    const char *reason = json_str(o, "reason");
    const char *response = json_str(o, "response");
    const char *detail = reason ? reason : response;
    if (strcmp(event, "processed") == 0) {
        ev->status = "sent";
    } else if (strcmp(event, "delivered") == 0) {
        ev->status = "delivered";
    } else if (strcmp(event, "open") == 0) {
        ev->status = "read";
    } else if (strcmp(event, "bounce") == 0) {
        const char *type = json_str(o, "type");
        ev->status = "failed";
        ev->error_code = type && strcmp(type, "blocked") == 0 ? "blocked" : "bounce";
    } else if (strcmp(event, "dropped") == 0) {
        ev->status = "failed";
        ev->error_code = sg_drop_code(reason);
    } else if (strcmp(event, "spamreport") == 0) {
        ev->status = "failed";
        ev->error_code = "spamreport";
        detail = detail ? detail : "the recipient reported the message as spam";
    } else if (strcmp(event, "unsubscribe") == 0 || strcmp(event, "group_unsubscribe") == 0) {
        ev->status = "failed";
        ev->error_code = "unsubscribe";
        detail = detail ? detail : "the recipient unsubscribed";
    } else {
        /* deferred, click, group_resubscribe, …: history only. */
        ev->status = arena_strndup(a, event, strnlen(event, 32));
        if (strcmp(event, "click") == 0 && json_str(o, "url"))
            detail = json_str(o, "url");
    }
    if (ev->error_code || detail)
        ev->error_text = detail ? arena_strndup(a, detail, strnlen(detail, 250)) : NULL;
    return 0;
}

int channel_sendgrid_events(struct arena *a, const char *body, size_t len, struct channel_events *out, struct err *e)
{
    cJSON *root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = json_parse(&root, body ? body : "", body ? len : 0, e)))
        return rc;
    if (!cJSON_IsArray(root)) {
        rc = err_set(e, ERR_INVALID, "invalid_payload", "SendGrid Event Webhook body is not a JSON array");
        goto out;
    }
    int n = cJSON_GetArraySize(root);
    if (n > 0) {
        out->items = arena_alloc(a, (size_t)n * sizeof *out->items);
        const cJSON *it;
        cJSON_ArrayForEach(it, root) {
            if (!cJSON_IsObject(it)) {
                rc = err_set(e, ERR_INVALID, "invalid_payload", "SendGrid event is not an object");
                goto out;
            }
            if ((rc = sg_event(a, it, &out->items[out->n], e)))
                goto out;
            out->n++;
        }
    }
out:
    if (rc) {
        out->items = NULL;
        out->n = 0;
    }
    cJSON_Delete(root);
    return rc;
}

static int sendgrid_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    if (sg_is_inbound(wh))
        return channel_sendgrid_inbound(a, channel_header(wh, "content-type"), wh->body, wh->body_len, out, e);
    return channel_sendgrid_events(a, wh->body, wh->body_len, out, e);
}

/* --------------------------------------------------------------- send */

#define SG_MAX_ATTACHMENTS 10
#define SG_MAX_ATTACHMENT_BYTES (10 * 1024 * 1024)

/* A file name from a media URL's last path segment (safe characters only). */
static void sg_filename(char *out, size_t outlen, const char *url)
{
    const char *end = url + strcspn(url, "?#");
    const char *s = end;
    while (s > url && s[-1] != '/')
        s--;
    size_t o = 0;
    for (; s < end && o + 1 < outlen; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
            *s == '-' || *s == '_')
            out[o++] = *s;
    out[o] = '\0';
    if (!o || strspn(out, ".") == o)
        snprintf(out, outlen, "attachment");
}

/* Fetch each media URL (bounded) into attachments[]. */
static int sg_attachments(const struct channel_env *env, const struct channel_send *msg, cJSON *req,
                          struct channel_send_result *out, struct err *e)
{
    if (!msg->nmedia)
        return 0;
    if (msg->nmedia > SG_MAX_ATTACHMENTS) {
        out->permanent = 1;
        return err_set(e, ERR_INVALID, "too_many_attachments", "at most %d attachments", SG_MAX_ATTACHMENTS);
    }
    cJSON *arr = cJSON_AddArrayToObject(req, "attachments");
    for (size_t i = 0; i < msg->nmedia; i++) {
        struct channel__resp r = {0};
        char fname[96];
        int rc;
        r.max_body = SG_MAX_ATTACHMENT_BYTES;
        if ((rc = channel__http(env, msg->media_urls[i], NULL, NULL, 0, NULL, NULL, &r, e))) {
            buf_free(&r.body);
            return rc == ERR_TIMEOUT ? rc : err_set(e, ERR_UPSTREAM, "media_unreachable", "attachment %zu: %s", i + 1,
                                                    e ? e->msg : "fetch failed");
        }
        if (r.status < 200 || r.status >= 300) {
            out->permanent = r.status >= 400 && r.status < 500;
            buf_free(&r.body);
            return err_set(e, out->permanent ? ERR_INVALID : ERR_UPSTREAM, "media_unreachable",
                           "attachment %zu: the media URL answered %ld", i + 1, r.status);
        }
        size_t b64len = crypto_base64_len(r.body.len);
        char *b64 = malloc(b64len);
        if (!b64) {
            buf_free(&r.body);
            return err_set(e, ERR_NOMEM, NULL, "out of memory");
        }
        crypto_base64(b64, b64len, r.body.data ? r.body.data : "", r.body.len);
        sg_filename(fname, sizeof fname, msg->media_urls[i]);
        cJSON *att = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, att);
        cJSON_AddStringToObject(att, "content", b64);
        r.content_type[strcspn(r.content_type, ";")] = '\0';
        cJSON_AddStringToObject(att, "type", r.content_type[0] ? r.content_type : "application/octet-stream");
        cJSON_AddStringToObject(att, "filename", fname);
        cJSON_AddStringToObject(att, "disposition", "attachment");
        free(b64);
        buf_free(&r.body);
    }
    return 0;
}

/* A subject for a message that has none: its first line, cut short. */
static void sg_subject(char *out, size_t outlen, const char *text)
{
    size_t n = text ? strcspn(text, "\r\n") : 0;
    if (n > 78) {
        n = 78;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        snprintf(out, outlen, "%.*s", (int)n, text);
    else
        snprintf(out, outlen, "(no subject)");
}

static cJSON *sg_request(const struct channel_creds *creds, const struct channel_send *msg)
{
    char subject[96];
    cJSON *req = cJSON_CreateObject();
    cJSON *pers = cJSON_AddArrayToObject(req, "personalizations");
    cJSON *p0 = cJSON_CreateObject();
    cJSON_AddItemToArray(pers, p0);
    cJSON *to = cJSON_AddArrayToObject(p0, "to");
    cJSON *rcpt = cJSON_CreateObject();
    cJSON_AddItemToArray(to, rcpt);
    cJSON_AddStringToObject(rcpt, "email", msg->to);
    cJSON *from = cJSON_AddObjectToObject(req, "from");
    cJSON_AddStringToObject(from, "email", msg->from ? msg->from : channel_creds_get(creds, "from_email"));
    if (channel_creds_get(creds, "from_name"))
        cJSON_AddStringToObject(from, "name", channel_creds_get(creds, "from_name"));
    if (msg->subject && *msg->subject) {
        cJSON_AddStringToObject(req, "subject", msg->subject);
    } else {
        sg_subject(subject, sizeof subject, msg->text);
        cJSON_AddStringToObject(req, "subject", subject);
    }
    cJSON *content = cJSON_AddArrayToObject(req, "content");
    /* text/plain first, then text/html: the order SendGrid requires. */
    const char *types[2] = {"text/plain", "text/html"}, *values[2] = {msg->text, msg->html};
    for (int i = 0; i < 2; i++) {
        if (!values[i] || !*values[i])
            continue;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToArray(content, c);
        cJSON_AddStringToObject(c, "type", types[i]);
        cJSON_AddStringToObject(c, "value", values[i]);
    }
    cJSON *hdrs = cJSON_CreateObject();
    if (msg->message_id)
        cJSON_AddStringToObject(hdrs, "Message-ID", msg->message_id);
    if (msg->in_reply_to)
        cJSON_AddStringToObject(hdrs, "In-Reply-To", msg->in_reply_to);
    if (msg->references)
        cJSON_AddStringToObject(hdrs, "References", msg->references);
    if (msg->unsubscribe_url) {
        char *lu = NULL;
        size_t n = strlen(msg->unsubscribe_url) + 3;
        if ((lu = malloc(n))) {
            snprintf(lu, n, "<%s>", msg->unsubscribe_url);
            cJSON_AddStringToObject(hdrs, "List-Unsubscribe", lu);
            free(lu);
        }
        cJSON_AddStringToObject(hdrs, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    if (cJSON_GetArraySize(hdrs))
        cJSON_AddItemToObject(req, "headers", hdrs);
    else
        cJSON_Delete(hdrs);
    if (msg->idempotency_key) {
        /* Echoed in every event of this message: our id, for support. */
        cJSON *ca = cJSON_AddObjectToObject(req, "custom_args");
        cJSON_AddStringToObject(ca, "sb_message_id", msg->idempotency_key);
    }
    return req;
}

static int sendgrid_send(const struct channel_env *env, const struct channel_creds *creds,
                         const struct channel_send *msg, struct channel_send_result *out, struct err *e)
{
    int rc = 0;
    struct buf url = {0};
    struct channel__resp r = {0};
    cJSON *req = NULL, *root = NULL;
    char *body = NULL;
    memset(out, 0, sizeof *out);
    const char *key = channel_creds_get(creds, "api_key");
    if (!key || !*key || !channel_creds_get(creds, "from_email") || !msg->to) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "SendGrid account needs api_key and from_email");
        goto out;
    }
    if (msg->template_name || ((!msg->text || !*msg->text) && (!msg->html || !*msg->html))) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "unsupported_message", "an e-mail needs a text or HTML body (no templates)");
        goto out;
    }
    req = sg_request(creds, msg);
    if ((rc = sg_attachments(env, msg, req, out, e)))
        goto out;
    body = json_print(req);
    buf_printf(&url, "%s/v3/mail/send",
               env && env->sendgrid_api_base ? env->sendgrid_api_base : "https://api.sendgrid.com");
    rc = channel__post(env, url.data, "application/json", body, strlen(body), NULL, key, &r, e);
    out->http_status = (int)r.status;
    if (rc) {
        snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "request failed");
        goto out;
    }
    if (r.status >= 200 && r.status < 300) {
        if (!r.message_id[0]) {
            rc = err_set(e, ERR_UPSTREAM, "provider_bad_response", "SendGrid answered %ld without X-Message-Id",
                         r.status);
            snprintf(out->error_text, sizeof out->error_text, "%s", "response without X-Message-Id");
            goto out;
        }
        snprintf(out->provider_message_id, sizeof out->provider_message_id, "%s", r.message_id);
        snprintf(out->status, sizeof out->status, "%s", "sent");
        goto out;
    }
    (void)json_parse(&root, r.body.data ? r.body.data : "", r.body.len, NULL);
    const cJSON *errs = root ? cJSON_GetObjectItemCaseSensitive(root, "errors") : NULL;
    const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    const char *m = cJSON_IsObject(e0) ? json_str(e0, "message") : NULL;
    const char *field = cJSON_IsObject(e0) ? json_str(e0, "field") : NULL;
    snprintf(out->error_code, sizeof out->error_code, "http_%ld", r.status);
    snprintf(out->error_text, sizeof out->error_text, "%s%s%s", m ? m : "provider error", field ? " (field " : "",
             field ? field : "");
    if (field)
        snprintf(out->error_text + strlen(out->error_text), sizeof out->error_text - strlen(out->error_text), ")");
    if (r.status == 429) {
        long long wait = r.retry_after_s;
        if (!wait && r.ratelimit_reset > 0) {
            long long now = (long long)(time_now_ms() / 1000);
            wait = r.ratelimit_reset > now && r.ratelimit_reset - now < 86400 ? r.ratelimit_reset - now : 0;
        }
        out->retry_after_s = (int)wait;
        rc = err_set(e, ERR_RATELIMIT, "provider_rate_limited", "SendGrid rate limit");
    } else if (r.status >= 500 || r.status < 200 || r.status == 408) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "SendGrid answered %ld", r.status);
    } else {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "provider_rejected", "SendGrid refused the mail (%ld): %.160s", r.status,
                     out->error_text);
    }
out:
    free(body);
    cJSON_Delete(req);
    cJSON_Delete(root);
    buf_free(&r.body);
    buf_free(&url);
    return rc;
}

/* The API key's scopes, GET {base}/v3/scopes with the key: a key that
 * works but may not send mail (no mail.send scope) is not ok either. */
static int sendgrid_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                    struct channel_test_result *out, struct err *e)
{
    const char *key = channel_creds_get(creds, "api_key");
    struct buf url = {0};
    cJSON *root = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!key || !*key) {
        snprintf(out->detail, sizeof out->detail, "the account has no api_key");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    buf_printf(&url, "%s/v3/scopes", env && env->sendgrid_api_base ? env->sendgrid_api_base : "https://api.sendgrid.com");
    if ((rc = channel__test_get(env, url.data, NULL, key, &root, out, e)))
        goto out;
    if (out->http_status == 200) {
        const cJSON *scopes = root ? cJSON_GetObjectItemCaseSensitive(root, "scopes") : NULL, *it;
        int n = 0, send = 0;
        if (!cJSON_IsArray(scopes))
            scopes = NULL;
        cJSON_ArrayForEach(it, scopes) {
            n++;
            send |= cJSON_IsString(it) && strcmp(it->valuestring, "mail.send") == 0;
        }
        out->ok = send;
        if (send) {
            snprintf(out->detail, sizeof out->detail, "SendGrid API key with %d scopes, mail.send among them", n);
        } else {
            snprintf(out->detail, sizeof out->detail, "the SendGrid API key lacks the mail.send scope");
            snprintf(out->code, sizeof out->code, "missing_scope");
        }
        goto out;
    }
    const cJSON *errs = root ? cJSON_GetObjectItemCaseSensitive(root, "errors") : NULL;
    const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
    const char *m = cJSON_IsObject(e0) ? json_str(e0, "message") : NULL;
    snprintf(out->detail, sizeof out->detail, "SendGrid refused the API key (HTTP %d): %s", out->http_status,
             m ? m : "no reason given");
out:
    cJSON_Delete(root);
    buf_free(&url);
    return rc;
}

const struct channel_adapter channel_sendgrid = {
    .name = "sendgrid",
    .caps = {.max_text_len = 1000000,
             .media_types = "image/jpeg image/png image/gif application/pdf text/plain text/csv",
             .max_media_bytes = SG_MAX_ATTACHMENT_BYTES},
    .verify = sendgrid_verify,
    .parse = sendgrid_parse,
    .send = sendgrid_send,
    .test_connection = sendgrid_test_connection,
};
