/*
 * channel_webchat: the website chat widget's channel. There is no provider
 * to call: the visitor's browser talks to Switchboard's own widget API
 * (/widget/v1/…, src/http/routes_widget.c), so
 *   - send accepts the message locally: the provider message id is our own
 *     message id (the idempotency key the worker passes) and the status is
 *     "sent"; the widget receives it from the realtime feed (WebSocket or
 *     long-poll) and the server marks it "delivered" when it hands it to
 *     the widget;
 *   - provider webhooks do not exist: /webhooks/webchat/… is refused
 *     (verify says missing_signature), visitor messages enter the inbound
 *     pipeline through the widget API instead.
 * Text only (up to 4096 characters); no media, no templates, no window.
 */
#include <stdio.h>
#include <string.h>

#include "channel/channel.h"
#include "channel/channel_int.h"

static int webchat_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e)
{
    (void)wh;
    (void)creds;
    return err_set(e, ERR_FORBIDDEN, "missing_signature",
                   "website chat takes no provider webhooks: visitors write through /widget/v1/messages");
}

static int webchat_parse(struct arena *a, const struct channel_webhook *wh, struct channel_events *out, struct err *e)
{
    (void)a;
    (void)wh;
    memset(out, 0, sizeof(*out));
    return err_set(e, ERR_INVALID, "invalid_payload", "website chat takes no provider webhooks");
}

static int webchat_send(const struct channel_env *env, const struct channel_creds *creds, const struct channel_send *msg,
                        struct channel_send_result *out, struct err *e)
{
    (void)env;
    (void)creds;
    memset(out, 0, sizeof(*out));
    if (!msg->text || !*msg->text || msg->nmedia || msg->template_name) {
        out->permanent = 1;
        snprintf(out->error_code, sizeof(out->error_code), "unsupported");
        snprintf(out->error_text, sizeof(out->error_text), "website chat sends text only");
        return err_set(e, ERR_INVALID, "invalid_message", "website chat sends text only");
    }
    if (!msg->idempotency_key || !*msg->idempotency_key) {
        out->permanent = 1;
        snprintf(out->error_code, sizeof(out->error_code), "no_message_id");
        snprintf(out->error_text, sizeof(out->error_text), "website chat needs the message id as its key");
        return err_set(e, ERR_INVALID, "invalid_message", "website chat needs the message id as its key");
    }
    snprintf(out->provider_message_id, sizeof(out->provider_message_id), "%s", msg->idempotency_key);
    snprintf(out->status, sizeof(out->status), "sent");
    out->http_status = 0;
    return 0;
}

/* The widget talks to us only: there is no provider to ask. */
static int webchat_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                   struct channel_test_result *out, struct err *e)
{
    (void)env;
    (void)creds;
    (void)e;
    memset(out, 0, sizeof *out);
    out->ok = 1;
    snprintf(out->detail, sizeof out->detail, "the website chat has no provider: nothing to check");
    return 0;
}

const struct channel_adapter channel_webchat = {
    .name = "webchat",
    .caps = {.max_text_len = 4096, .media_types = "", .max_media_bytes = 0, .window_ms = 0},
    .verify = webchat_verify,
    .handshake = NULL,
    .parse = webchat_parse,
    .send = webchat_send,
    .list_templates = NULL,
    .fetch_media = NULL,
    .test_connection = webchat_test_connection,
};
