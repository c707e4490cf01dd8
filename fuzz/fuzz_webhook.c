/*
 * fuzz_webhook: the webhook pipeline's pure half (webhook_events), request ->
 * events, on arbitrary bytes, without HTTP or a database. The first byte picks
 * the provider (Twilio form body or WhatsApp JSON) and whether the request is
 * signed correctly or not at all (the development policy lets an unsigned one
 * through, so parsing, the replay window and normalisation all run); the rest
 * is the raw body. Invariants: 0 with events that each have an event id, a
 * kind and a payload that channel_event_from_json reads back to the same kind and
 * id; or ERR_FORBIDDEN / ERR_INVALID with nothing. The query-string parser
 * gets the same bytes as a request-target.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    if (len)
        memcpy(body, data + 1, len);
    struct arena *a = arena_new();
    int wa = mode & 1, sign = mode & 2;
    const struct channel_adapter *ad = channel_find(wa ? "whatsapp" : "twilio");
    struct channel_kv cred[] = {{"auth_token", "12345"}, {"app_secret", "s3cret"}, {"verify_token", "v"}};
    struct channel_creds cr = {cred, 3};
    struct channel_kv hdr[1];
    char sig[80];
    size_t nhdr = 0;
    if (sign && wa) {
        uint8_t mac[32];
        char hex[65];
        crypto_hmac_sha256(mac, "s3cret", 6, body, len);
        crypto_hex(hex, mac, sizeof mac);
        memcpy(sig, "sha256=", 7);
        memcpy(sig + 7, hex, 65);
        hdr[0] = (struct channel_kv){"x-hub-signature-256", sig};
        nhdr = 1;
    }
    struct channel_webhook wh = {.method = "POST", .url = "https://h.test/webhooks/x/k", .body = body,
                                 .body_len = len, .headers = hdr, .nheaders = nhdr,
                                 .received_at = 1750000000000LL};
    struct webhook_policy pol = {1, (mode & 4) ? 3600 * 1000 : 0, ad->name};
    struct webhook_batch b;
    struct err e = {0};
    int rc = webhook_events(a, ad, &cr, &wh, &pol, &b, &e);
    if (rc == 0) {
        for (size_t i = 0; i < b.n; i++) {
            struct channel_event ev;
            const char *prov = NULL;
            if (!b.items[i].event_id || !*b.items[i].event_id || !b.items[i].payload || !b.items[i].kind)
                abort();
            if (channel_event_from_json(a, b.items[i].payload, strlen(b.items[i].payload), &ev, &prov, NULL, &e) != 0)
                abort();
            if (!ev.event_id || strcmp(ev.event_id, b.items[i].event_id) != 0 || strcmp(prov, ad->name) != 0)
                abort();
            if ((ev.kind == CHANNEL_EVENT_STATUS) != (strcmp(b.items[i].kind, "status") == 0))
                abort();
        }
    } else if (rc != ERR_FORBIDDEN && rc != ERR_INVALID) {
        abort();
    }
    /* The same bytes as a raw request-target. */
    char *target = arena_strndup(a, body, len);
    struct channel_kv *q = NULL;
    size_t nq = 0;
    webhook_query_parse(a, target, &q, &nq);
    for (size_t i = 0; i < nq; i++)
        if (!q[i].name || !q[i].value)
            abort();
    (void)webhook_public_url(a, "https://h.test/", target);
    arena_free(a);
    free(body);
    return 0;
}
