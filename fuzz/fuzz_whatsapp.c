/*
 * fuzz_whatsapp: arbitrary bytes as the raw body of a WhatsApp Cloud API
 * webhook, fed to the adapter's verify (once with the correct HMAC, which must
 * pass, once with a wrong one, which must be refused) and parse. The input is
 * copied into an exact-size heap buffer so ASan catches any read past len.
 * Invariants: parse answers 0 with events that each have an event id (and a
 * status for statuses), or ERR_INVALID with no events.
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
    const struct channel_adapter *wa = channel_find("whatsapp");
    struct arena *a = arena_new();
    uint8_t mac[32];
    char hex[65], sig[80];
    crypto_hmac_sha256(mac, "s3cret", 6, copy, size);
    crypto_hex(hex, mac, sizeof mac);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    struct channel_kv hdr[] = {{"x-hub-signature-256", sig}};
    struct channel_kv cred[] = {{"app_secret", "s3cret"}};
    struct channel_creds cr = {cred, 1};
    struct channel_webhook wh = {.method = "POST", .url = "https://x/webhooks/whatsapp/k", .body = copy,
                                 .body_len = size, .headers = hdr, .nheaders = 1};
    struct err e = {0};
    if (wa->verify(&wh, &cr, &e) != 0)
        abort();
    sig[7] = sig[7] == '0' ? '1' : '0';
    if (wa->verify(&wh, &cr, &e) != ERR_FORBIDDEN)
        abort();
    struct channel_events ev;
    err_clear(&e);
    int rc = wa->parse(a, &wh, &ev, &e);
    if (rc == 0) {
        for (size_t i = 0; i < ev.n; i++) {
            if (!ev.items[i].event_id)
                abort();
            if (ev.items[i].kind == CHANNEL_EVENT_STATUS && !ev.items[i].status)
                abort();
        }
    } else if (rc != ERR_INVALID || ev.n != 0) {
        abort();
    }
    arena_free(a);
    free(copy);
    return 0;
}
