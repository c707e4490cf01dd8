/*
 * The adapter registry and the small helpers every adapter shares: looking
 * up credentials, headers and query parameters of a webhook. Adapters
 * register here by name; nothing else in the module is public.
 */
#include <string.h>

#include "channel/channel.h"
#include "channel/channel_int.h"

static const struct channel_adapter *const channel_adapters[] = {
    &channel_twilio,
    &channel_whatsapp,
    &channel_telegram,
    &channel_webchat,
    &channel_instagram,
    &channel_smtp,
    &channel_sendgrid,
    NULL,
};

const struct channel_adapter *channel_find(const char *provider)
{
    if (!provider)
        return NULL;
    for (size_t i = 0; channel_adapters[i]; i++)
        if (strcmp(channel_adapters[i]->name, provider) == 0)
            return channel_adapters[i];
    return NULL;
}

static const char *channel_kv_get(const struct channel_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].name && strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

void channel_form_parse(struct arena *a, const char *s, size_t len, struct channel_kv **out, size_t *nout)
{
    channel__form_parse(a, s ? s : "", s ? len : 0, out, nout);
}

const char *channel_creds_get(const struct channel_creds *c, const char *name)
{
    return c ? channel_kv_get(c->kv, c->n, name) : NULL;
}

const char *channel_header(const struct channel_webhook *wh, const char *name)
{
    return channel_kv_get(wh->headers, wh->nheaders, name);
}

const char *channel_query(const struct channel_webhook *wh, const char *name)
{
    return channel_kv_get(wh->query, wh->nquery, name);
}
