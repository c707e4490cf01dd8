/*
 * fuzz_instagram: arbitrary bytes as the raw body of an Instagram Messaging
 * webhook, fed to the adapter's verify (once with the correct HMAC, which
 * must pass, once with a wrong one, which must be refused: fuzz_meta.h) and
 * parse. Invariants: parse answers 0 with events that each have an event id
 * (and a status and message id for read receipts, a sender and type for
 * messages), or ERR_INVALID with no events; each event survives the stored
 * JSON form and back.
 */
#include "fuzz_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct channel_adapter *ig = channel_find("instagram");
    struct fuzz_meta f;
    if (fuzz_meta_begin(&f, ig, data, size, "https://x/webhooks/instagram/k") != 0)
        return 0;
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    int rc = ig->parse(a, &f.wh, &ev, &e);
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
    fuzz_meta_end(&f);
    return 0;
}
