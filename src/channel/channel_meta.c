/*
 * channel_meta: what the Meta adapters (WhatsApp Cloud API, Instagram
 * Messaging) share: the webhook subscription handshake, the
 * X-Hub-Signature-256 check and reading Graph's error object.
 *
 * handshake: GET hub.mode=subscribe + hub.verify_token (compared in
 * constant time) -> hub.challenge as the whole body. verify: "sha256=<hex>"
 * HMAC-SHA256 of the raw body, byte for byte, with the app secret. Sends:
 * POST {graph}/{node}/messages with a bearer token. Pure: no database, no
 * state.
 */
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

int channel__meta_handshake(const struct channel_webhook *wh, const struct channel_creds *creds, struct buf *out,
                            struct err *e)
{
    const char *mode = channel_query(wh, "hub.mode");
    const char *tok = channel_query(wh, "hub.verify_token");
    const char *challenge = channel_query(wh, "hub.challenge");
    const char *want = channel_creds_get(creds, "verify_token");
    if (!mode || strcmp(mode, "subscribe") != 0 || !tok || !challenge || !want || !*want)
        return err_set(e, ERR_FORBIDDEN, "bad_verify_token", "subscription handshake refused");
    if (!crypto_equal(tok, strlen(tok), want, strlen(want)))
        return err_set(e, ERR_FORBIDDEN, "bad_verify_token", "hub.verify_token does not match");
    buf_puts(out, challenge);
    return 0;
}

int channel__meta_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e)
{
    const char *got = channel_header(wh, "x-hub-signature-256");
    const char *secret = channel_creds_get(creds, "app_secret");
    uint8_t mac[32];
    char hex[65];
    if (!got || !*got)
        return err_set(e, ERR_FORBIDDEN, "missing_signature", "X-Hub-Signature-256 header missing");
    if (!secret || !*secret)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "account has no app secret");
    if (strncmp(got, "sha256=", 7) != 0)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "X-Hub-Signature-256 is not sha256=<hex>");
    crypto_hmac_sha256(mac, secret, strlen(secret), wh->body ? wh->body : "", wh->body ? wh->body_len : 0);
    crypto_hex(hex, mac, sizeof mac);
    /* Meta sends lower-case hex; compare exactly, in constant time. */
    if (!crypto_equal(hex, 64, got + 7, strlen(got + 7)))
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "X-Hub-Signature-256 does not match");
    return 0;
}

void channel__graph_error(const cJSON *root, struct channel__graph_err *out)
{
    const cJSON *err = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(err))
        return;
    (void)json_int(err, "code", &out->code);
    (void)json_int(err, "error_subcode", &out->subcode);
    out->message = json_str(err, "message");
    out->transient = json_bool(err, "is_transient", 0);
}

int channel__graph_test(const struct channel_env *env, const char *node, const char *fields, const char *token,
                        cJSON **root, struct channel_test_result *out, struct err *e)
{
    struct channel__graph_err ge;
    struct buf url = {0};
    int rc;

    buf_printf(&url, "%s/", env && env->graph_api_base ? env->graph_api_base : CHANNEL__GRAPH_DEFAULT);
    channel__form_escape(&url, node);
    buf_printf(&url, "?fields=%s", fields);
    rc = channel__test_get(env, url.data, NULL, token, root, out, e);
    buf_free(&url);
    if (rc)
        return rc;
    if (out->http_status == 200) {
        out->ok = 1;
        return 0;
    }
    channel__graph_error(*root, &ge);
    if (ge.code)
        snprintf(out->code, sizeof out->code, "%lld", (long long)ge.code);
    snprintf(out->detail, sizeof out->detail, "%s",
             ge.message ? ge.message : "Meta refused the request");
    if (!ge.message)
        snprintf(out->detail, sizeof out->detail, "Meta answered HTTP %d", out->http_status);
    cJSON_Delete(*root);
    *root = NULL;
    return 0;
}

int channel__graph_post(const struct channel_env *env, const char *node, const char *token, const cJSON *req,
                        struct channel__resp *r, cJSON **root, struct channel_send_result *out, struct err *e)
{
    struct buf url = {0};
    char *body = json_print(req);
    int rc;

    *root = NULL;
    if (!body)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    buf_printf(&url, "%s/", env && env->graph_api_base ? env->graph_api_base : CHANNEL__GRAPH_DEFAULT);
    channel__form_escape(&url, node);
    buf_puts(&url, "/messages");
    rc = channel__post(env, url.data, "application/json", body, strlen(body), NULL, token, r, e);
    out->http_status = (int)r->status;
    if (rc)
        snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "request failed");
    else
        (void)json_parse(root, r->body.data ? r->body.data : "", r->body.len, NULL);
    free(body);
    buf_free(&url);
    return rc;
}
