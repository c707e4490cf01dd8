/*
 * webhook_events: the pure half of ingestion, request -> events. Verifies
 * the signature, parses with the adapter, applies the replay window and
 * turns each event into its stored form: an event id (the provider's, or a
 * hash of the canonical event) and the normalised JSON payload.
 *
 * Depends on core and channel only (no HTTP, no database), so a fuzzer can
 * drive it. The JSON writer is deterministic (fixed member order, exact
 * number formats), which is what makes the hash of an event canonical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/webhook.h"

/* ------------------------------------------------------------- URLs, query */

const char *webhook_public_url(struct arena *a, const char *public_url, const char *target)
{
    size_t n = public_url ? strlen(public_url) : 0;
    while (n > 0 && public_url[n - 1] == '/')
        n--;
    return arena_printf(a, "%.*s%s", (int)n, public_url ? public_url : "", target ? target : "");
}

void webhook_query_parse(struct arena *a, const char *target, struct channel_kv **out, size_t *nout)
{
    const char *q = target ? strchr(target, '?') : NULL;

    *out = NULL;
    *nout = 0;
    if (q)
        channel_form_parse(a, q + 1, strcspn(q + 1, "#"), out, nout);
}

/* ------------------------------------------------------- request -> events */

/* The receipt key for a provider id: the id itself when it is plain
 * printable ASCII of a sane length (every real provider id is), else a
 * stable hash of it, so that a stored key and the payload's copy always
 * agree and the database never sees bytes it might refuse. */
static const char *webhook_event_key(struct arena *a, const char *id)
{
    size_t n = strlen(id);
    int plain = n > 0 && n <= 200;
    char hex[65];

    for (size_t i = 0; plain && i < n; i++)
        plain = id[i] > 0x20 && id[i] < 0x7f;
    if (plain)
        return id;
    crypto_sha256_hex(hex, id, n);
    return arena_printf(a, "sha256:%s", hex);
}

int webhook_events(struct arena *a, const struct channel_adapter *ad, const struct channel_creds *creds,
                   const struct channel_webhook *wh, const struct webhook_policy *pol, struct webhook_batch *out,
                   struct err *e)
{
    struct channel_events evs = {0};
    struct buf b = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!ad->verify || !ad->parse)
        return err_set(e, ERR_NOTFOUND, "no_webhook", "%s accounts take no webhooks", ad->name);
    /* The signature first: nothing about an unauthenticated body is trusted. */
    rc = ad->verify(wh, creds, e);
    if (rc) {
        if (!(pol->allow_unsigned && rc == ERR_FORBIDDEN && strcmp(err_slug(e), "missing_signature") == 0))
            return rc;
        err_clear(e);
    }
    if ((rc = ad->parse(a, wh, &evs, e)))
        return rc;
    for (size_t i = 0; i < evs.n; i++) {
        const struct channel_event *ev = &evs.items[i];
        if (pol->replay_window_ms > 0 && ev->provider_ts > 0 && wh->received_at - ev->provider_ts > pol->replay_window_ms)
            return err_set(e, ERR_FORBIDDEN, "replay", "event older than the replay window");
    }
    out->items = evs.n ? arena_alloc(a, evs.n * sizeof *out->items) : NULL;
    for (size_t i = 0; i < evs.n; i++) {
        const struct channel_event *ev = &evs.items[i];
        struct webhook_event *we = &out->items[i];
        const char *id = ev->event_id;
        we->ev = ev;
        we->kind = ev->kind == CHANNEL_EVENT_STATUS            ? "status"
                   : ev->kind == CHANNEL_EVENT_TEMPLATE_STATUS ? "template_status"
                                                               : "message";
        if (!id || !*id) {
            /* No provider id: the hash of the canonical event (no receipt time) is the key. */
            char hex[65];
            buf_reset(&b);
            channel_event_json(&b, pol->provider, NULL, ev, 0);
            crypto_sha256_hex(hex, b.data, b.len);
            id = arena_strdup(a, hex);
        } else {
            id = webhook_event_key(a, id);
        }
        we->event_id = id;
        buf_reset(&b);
        channel_event_json(&b, pol->provider, id, ev, wh->received_at);
        we->payload = arena_strndup(a, b.data, b.len);
        out->n++;
    }
    buf_free(&b);
    return 0;
}
