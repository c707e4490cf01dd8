/*
 * fuzz_media_sniff: media_sniff and media_classify on arbitrary file bytes,
 * the first byte choosing the provider's claimed type (from a list that
 * includes dangerous and malformed claims; or the input's first line as
 * the claim). Invariants: the sniffed type is one of the documented ones;
 * the stored type is never markup a browser would render (text/html,
 * image/svg+xml, text/xml, xhtml, javascript); inline only for image,
 * audio and video; the name and list helpers never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const claims[] = {
    NULL,         "",          "image/jpeg", "image/png; charset=x", "text/html", "image/svg+xml", "text/plain",
    "text/vcard", "application/xhtml+xml", "application/msword", "application/pdf", "audio/ogg; codecs=opus",
    "video/mp4",  "application/javascript", "x", "/", "a/b/c", "application/octet-stream",
};

static const char *const sniffed_ok[] = {
    "image/jpeg", "image/png",  "image/gif",  "image/webp",   "audio/wav",       "application/pdf",
    "video/3gpp", "audio/mp4",  "video/quicktime", "image/heic", "video/mp4",    "audio/ogg",
    "audio/amr-wb", "audio/amr", "audio/mpeg", "application/zip", "text/html",   "image/svg+xml",
    "text/xml",   "text/plain", "application/octet-stream", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct media_kind k;
    char claim[MEDIA_TYPE_MAX * 2];
    const char *c;

    if (size < 1 || size > 65536)
        return 0;
    const char *s = media_sniff(data + 1, size - 1);
    int known = 0;
    for (const char *const *p = sniffed_ok; *p; p++)
        known |= strcmp(*p, s) == 0;
    if (!known)
        abort();
    if (data[0] < sizeof(claims) / sizeof(claims[0])) {
        c = claims[data[0]];
    } else { /* the first line of the input as the claim */
        size_t n = 0;
        while (n + 1 < size && n < sizeof(claim) - 1 && data[1 + n] != '\n')
            n++;
        memcpy(claim, data + 1, n);
        claim[n] = '\0';
        c = claim;
    }
    media_classify(c, data + 1, size - 1, &k);
    size_t n = strnlen(k.content_type, sizeof(k.content_type));
    if (n == 0 || n >= sizeof(k.content_type))
        abort();
    /* Nothing a browser would parse as markup or run: no html, svg, script,
     * no XML subtype (Office's "openxmlformats" documents are zip files). */
    const char *sub = strchr(k.content_type, '/');
    sub = sub ? sub + 1 : k.content_type;
    size_t sn = strlen(sub);
    if (strstr(k.content_type, "html") || strstr(k.content_type, "svg") || strstr(k.content_type, "script") ||
        strncmp(sub, "xml", 3) == 0 || (sn >= 3 && strcmp(sub + sn - 3, "xml") == 0) ||
        strchr(k.content_type, ';') || strchr(k.content_type, ' '))
        abort();
    if (k.inline_ok && strncmp(k.content_type, "image/", 6) != 0 && strncmp(k.content_type, "audio/", 6) != 0 &&
        strncmp(k.content_type, "video/", 6) != 0)
        abort();
    if (c == claim) {
        (void)media_type_from_name(claim);
        (void)media_type_allowed(claim, "image/png");
        (void)media_type_allowed("image/jpeg image/png", claim);
    }
    return 0;
}
