/*
 * fuzz_telegram: arbitrary bytes as the raw body of a Telegram Bot API
 * webhook (one Update), fed to the adapter's verify (with the account's
 * secret token, which must pass, and with a wrong one, which must be
 * refused) and parse. The input is copied into an exact-size heap buffer so
 * ASan catches any read past len. Invariants: parse answers 0 with at most
 * one message event that has an event id, a provider message id, a sender
 * and a type (media items with a file id), or ERR_INVALID with no events.
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
    const struct channel_adapter *tg = channel_find("telegram");
    struct arena *a = arena_new();
    char secret[] = "Fuzz_secret-token";
    struct channel_kv hdr[] = {{"x-telegram-bot-api-secret-token", secret}};
    struct channel_kv cred[] = {{"bot_token", "1:x"}, {"secret_token", "Fuzz_secret-token"}};
    struct channel_creds cr = {cred, 2};
    struct channel_webhook wh = {.method = "POST", .url = "https://x/webhooks/telegram/k", .body = copy,
                                 .body_len = size, .headers = hdr, .nheaders = 1};
    struct err e = {0};
    if (tg->verify(&wh, &cr, &e) != 0)
        abort();
    secret[0] = 'f';
    if (tg->verify(&wh, &cr, &e) != ERR_FORBIDDEN)
        abort();
    struct channel_events ev;
    err_clear(&e);
    int rc = tg->parse(a, &wh, &ev, &e);
    if (rc == 0) {
        if (ev.n > 1)
            abort();
        for (size_t i = 0; i < ev.n; i++) {
            const struct channel_event *x = &ev.items[i];
            if (x->kind != CHANNEL_EVENT_MESSAGE || !x->event_id || !x->provider_message_id || !x->from || !x->type)
                abort();
            for (size_t j = 0; j < x->nmedia; j++)
                if (!x->media[j].id || !*x->media[j].id)
                    abort();
        }
    } else if (rc != ERR_INVALID || ev.n != 0) {
        abort();
    }
    arena_free(a);
    free(copy);
    return 0;
}
