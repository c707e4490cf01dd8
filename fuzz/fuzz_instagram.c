/*
 * fuzz_instagram: arbitrary bytes as the raw body of an Instagram Messaging
 * webhook, fed to the adapter's verify (once with the correct HMAC, which
 * must pass, once with a wrong one, which must be refused) and parse. The
 * input is copied into an exact-size heap buffer so ASan catches any read
 * past len. Invariants: parse answers 0 with events that each have an event
 * id (and a status and message id for read receipts, a sender for
 * messages), or ERR_INVALID with no events; each event survives the stored
 * JSON form and back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    const struct channel_adapter *ig = channel_find("instagram");
    struct arena *a = arena_new();
    uint8_t mac[32];
    char hex[65], sig[80];
    crypto_hmac_sha256(mac, "s3cret", 6, copy, size);
    crypto_hex(hex, mac, sizeof mac);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    struct channel_kv hdr[] = {{"x-hub-signature-256", sig}};
    struct channel_kv cred[] = {{"app_secret", "s3cret"}};
    struct channel_creds cr = {cred, 1};
    struct channel_webhook wh = {.method = "POST", .url = "https://x/webhooks/instagram/k", .body = copy,
                                 .body_len = size, .headers = hdr, .nheaders = 1};
    struct err e = {0};
    if (ig->verify(&wh, &cr, &e) != 0)
        abort();
    sig[7] = sig[7] == '0' ? '1' : '0';
    if (ig->verify(&wh, &cr, &e) != ERR_FORBIDDEN)
        abort();
    struct channel_events ev;
    err_clear(&e);
    int rc = ig->parse(a, &wh, &ev, &e);
    if (rc == 0) {
        struct buf b = {0};
        for (size_t i = 0; i < ev.n; i++) {
            const struct channel_event *x = &ev.items[i];
            struct channel_event back;
            if (!x->event_id || !*x->event_id)
                abort();
            if (x->kind == CHANNEL_EVENT_STATUS && (!x->status || !x->provider_message_id))
                abort();
            if (x->kind == CHANNEL_EVENT_MESSAGE && (!x->from || !x->type))
                abort();
            buf_reset(&b);
            channel_event_json(&b, "instagram", x->event_id, x, 1);
            if (channel_event_from_json(a, b.data, b.len, &back, NULL, NULL, &e) != 0 || back.kind != x->kind)
                abort();
        }
        buf_free(&b);
    } else if (rc != ERR_INVALID || ev.n != 0) {
        abort();
    }
    arena_free(a);
    free(copy);
    return 0;
}
