/*
 * fuzz_whatsapp: arbitrary bytes as the raw body of a WhatsApp Cloud API
 * webhook, fed to the adapter's verify (once with the correct HMAC, which must
 * pass, once with a wrong one, which must be refused: fuzz_meta.h) and parse.
 * Invariants: parse answers 0 with events that each have an event id (and a
 * status for statuses), or ERR_INVALID with no events.
 */
#include "fuzz_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    struct fuzz_meta f;
    if (fuzz_meta_begin(&f, wa, data, size, "https://x/webhooks/whatsapp/k") != 0)
        return 0;
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    int rc = wa->parse(a, &f.wh, &ev, &e);
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
    fuzz_meta_end(&f);
    return 0;
}
