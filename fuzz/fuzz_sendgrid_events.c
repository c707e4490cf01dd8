/*
 * fuzz_sendgrid_events: arbitrary bytes as the body of a SendGrid Event
 * Webhook post, fed to the event parser and, through the adapter, to verify
 * (a signature that cannot match: it must be refused) and parse. The input
 * is copied into an exact-size heap buffer so ASan catches any read past
 * len. Invariants: parse answers 0 with events that each have an event id,
 * a status and a recipient, or ERR_INVALID with no events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "channel/channel_sendgrid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A real P-256 public key (base64 DER), so verify runs the ECDSA check. */
static const char pub[] = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3CA9H+AOsGyijOK+ovUwHl8lMsfFv8tXD+g5aT0iZ6Zp"
                          "xJaRquQiTyGaEy2uNU/JcHiJq8sLgy0x/r09vyox+w==";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    int rc = channel_sendgrid_events(a, copy, size, &ev, &e);
    if (rc == 0) {
        for (size_t i = 0; i < ev.n; i++)
            if (!ev.items[i].event_id || !ev.items[i].status || !ev.items[i].to ||
                ev.items[i].kind != CHANNEL_EVENT_STATUS)
                abort();
    } else if (rc != ERR_INVALID || ev.n != 0) {
        abort();
    }
    const struct channel_adapter *sg = channel_find("sendgrid");
    struct channel_kv hdr[] = {{"content-type", "application/json"},
                               {"x-twilio-email-event-webhook-signature",
                                "MEUCIQDx6l0b1n6w3Q2m3rS2b0o8sE0c9cYtq2e4eYp0y2mJzgIgN3n8mC4hX1Q2b3c4d5e6f7a8b9c0d1e2f"
                                "3a4b5c6d7e8f9A="},
                               {"x-twilio-email-event-webhook-timestamp", "1700000000"}};
    struct channel_kv cred[] = {{"event_public_key", pub}};
    struct channel_creds cr = {cred, 1};
    struct channel_webhook wh = {.method = "POST", .body = copy, .body_len = size, .headers = hdr, .nheaders = 3};
    err_clear(&e);
    if (sg->verify(&wh, &cr, &e) != ERR_FORBIDDEN)
        abort();
    struct channel_events ev2;
    err_clear(&e);
    int rc2 = sg->parse(a, &wh, &ev2, &e);
    if (rc2 != rc || ev2.n != ev.n)
        abort();
    arena_free(a);
    free(copy);
    return 0;
}
