/*
 * fuzz_twilio: arbitrary bytes as the form body of a Twilio webhook, fed to
 * the adapter's verify (with a signature computed over a fixed URL, so both
 * the match and mismatch paths run) and parse. The input is copied into an
 * exact-size heap buffer so ASan catches any read past len. Invariants: verify
 * answers 0 or ERR_FORBIDDEN; parse answers 0 with exactly one event that has
 * an event id and a known kind, or ERR_INVALID with no events.
 */
#include <stdint.h>
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
    const struct channel_adapter *tw = channel_find("twilio");
    struct arena *a = arena_new();
    struct channel_kv hdr[] = {{"x-twilio-signature", "GvWf1cFY/Q7PnoempGyD5oXAezc="}};
    struct channel_kv cred[] = {{"auth_token", "12345"}};
    struct channel_creds cr = {cred, 1};
    /* Alternate the URL shape (default port present or not) on the first byte. */
    const char *url = size && (data[0] & 1) ? "https://mycompany.com:443/myapp.php?foo=1&bar=2"
                                            : "http://[::1]/hook";
    struct channel_webhook wh = {.method = "POST", .url = url, .body = copy, .body_len = size,
                                 .headers = hdr, .nheaders = 1};
    struct err e = {0};
    int rc = tw->verify(&wh, &cr, &e);
    if (rc != 0 && rc != ERR_FORBIDDEN)
        abort();
    struct channel_events ev;
    err_clear(&e);
    rc = tw->parse(a, &wh, &ev, &e);
    if (rc == 0) {
        if (ev.n != 1 || !ev.items[0].event_id)
            abort();
        if (ev.items[0].kind != CHANNEL_EVENT_MESSAGE && ev.items[0].kind != CHANNEL_EVENT_STATUS)
            abort();
        for (size_t i = 0; i < ev.items[0].nmedia; i++)
            if (!ev.items[0].media[i].url)
                abort();
    } else if (rc != ERR_INVALID) {
        abort();
    }
    arena_free(a);
    free(copy);
    return 0;
}
