/*
 * media_fetch: one inbound item downloaded from where the provider keeps
 * it. Adapters that authenticate downloads (Twilio basic auth, WhatsApp's
 * media id lookup, Telegram's getFile) do it in their fetch_media hook;
 * any other item is a plain GET of its URL, following redirects, with the
 * same size cap.
 */
#include "media/media.h"

int media_fetch(const struct channel_env *env, const struct channel_adapter *ad, const struct channel_creds *creds,
                const struct channel_media *item, size_t max_bytes, struct buf *out, char *content_type,
                size_t ctlen, struct err *e)
{
    if (content_type && ctlen)
        content_type[0] = '\0';
    if (ad && ad->fetch_media)
        return ad->fetch_media(env, creds, item, max_bytes, out, content_type, ctlen, e);
    if (!item || !item->url || !*item->url)
        return err_set(e, ERR_INVALID, "invalid_media_url", "media without a URL to fetch");
    return channel_fetch_url(env, item->url, NULL, NULL, 1, max_bytes, out, content_type, ctlen, NULL, e);
}
