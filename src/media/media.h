/*
 * media: inbound media files (pictures, voice notes, documents customers
 * send) downloaded from the providers into a local media store, and served
 * back to the dashboard through short-lived signed URLs.
 *
 * The store is a directory (SB_MEDIA_DIR): files are named by their content
 * hash under the tenant's own directory (<tenant>/<xx>/<sha256>), written
 * atomically (temporary file, fsync, rename, fsync of the directory), never
 * larger than SB_MEDIA_MAX_BYTES. The type a file is served with comes from
 * its bytes (media_sniff), not from the provider's claim: a claim that
 * disagrees in a way a browser could exploit (an "image" that is HTML) is
 * stored as application/octet-stream and served as an attachment.
 * Rows of table media (store_media_*) record each item's outcome; the job
 * that fills them lives in messaging (it needs the channel accounts).
 *
 * Signed URLs: /media/<id>?tenant=<tenant>&expires=<unix s>&sig=<kid>.<hex>,
 * sig = HMAC-SHA256 over "media\n<tenant>\n<id>\n<expires>" with a key derived
 * from the key ring (ops_keyring_derive, purpose "media-url"), so they work
 * in <img src> without an Authorization header and rotate with the ring.
 *
 * Thread-safe after media_new. Errors: ERR_INVALID, ERR_TOOLARGE
 * ("media_too_large"), ERR_FORBIDDEN ("link_expired", "bad_signature"),
 * ERR_NOTFOUND, ERR_IO, and the fetch errors of the channel adapters.
 */
#ifndef SB_MEDIA_H
#define SB_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "channel/channel.h"
#include "core/core.h"
#include "ops/ops.h"
#include "store/store.h"

#define MEDIA_TYPE_MAX 128
#define MEDIA_KEY_MAX 192
#define MEDIA_SIG_MAX 128

/* ------------------------------------------------------------- sniffing */

/* The MIME type the first n bytes of a file show, from magic numbers:
 * image/jpeg, image/png, image/gif, image/webp, application/pdf, video/mp4,
 * video/3gpp, video/quicktime, audio/mp4, audio/ogg (Ogg, Opus and Vorbis),
 * audio/mpeg (ID3 or an MPEG audio frame), audio/amr, audio/wav,
 * application/zip; text/html and image/svg+xml for markup a browser would
 * run; text/plain for UTF-8 text without control characters; else
 * application/octet-stream. A static string. Pure, any n (0 included). */
const char *media_sniff(const void *data, size_t n);

/* How a file is stored and served. */
struct media_kind {
    char content_type[MEDIA_TYPE_MAX]; /* the type served */
    int inline_ok;                     /* 1: image, audio or video: Content-Disposition inline */
    int overridden;                    /* 1: the provider's claim was not kept */
};

/* Decide from the provider's claim (NULL/"" = none) and the bytes: a type
 * recognised from the bytes wins; markup is application/octet-stream;
 * text keeps a claimed plain-text type (text/plain, text/csv, text/vcard,
 * text/x-vcard, text/calendar) else text/plain; unrecognised bytes keep a
 * claimed application/ type that a browser does not render (office
 * documents, archives) else application/octet-stream. Pure. */
void media_classify(const char *claimed, const void *data, size_t n, struct media_kind *out);

/* The canonical MIME type a file name or URL path ends with (.jpg, .png,
 * .pdf, .mp4, .ogg, …; case-insensitive, query and fragment ignored), or
 * NULL when the extension is not one we know. Pure. */
const char *media_type_from_name(const char *name);

/* The usual file name extension of a stored type ("jpg", "pdf", "ogg", …),
 * "bin" for one we do not name. Pure. */
const char *media_type_ext(const char *type);

/* 1 when type (parameters after ';' ignored, case-insensitive) is one of
 * the space-separated types in list, else 0. Pure. */
int media_type_allowed(const char *list, const char *type);

/* ----------------------------------------------------------- the handle */

struct media;

struct media_options {
    const char *dir;           /* the store's directory (created when missing) */
    int64_t max_bytes;         /* largest file; <= 0 means 16 MiB */
    int64_t url_ttl_s;         /* lifetime of a signed URL; <= 0 means 900 */
    const char *public_url;    /* SB_PUBLIC_URL: signed URLs are absolute */
    struct ops_keyring *keys;  /* borrowed; signs URLs */
    struct store *db;          /* borrowed; table media */
};

/* ERR_INVALID (no dir or keys), ERR_IO (the directory cannot be created),
 * ERR_NOMEM. What opt points to must outlive m (strings are copied). */
int media_new(struct media **out, const struct media_options *opt, struct err *e);
void media_free(struct media *m); /* NULL is a no-op */
size_t media_max_bytes(const struct media *m);
int64_t media_url_ttl_s(const struct media *m);

/* ---------------------------------------------------------------- files */

/* Store n bytes for tenant_id: named by their sha256 (a file with the same
 * content is kept as it is), written to a temporary file, fsynced, renamed
 * into place and the directory fsynced. key receives the storage key
 * ("<tenant>/<xx>/<sha256>"), sha256 the hex digest. ERR_TOOLARGE
 * "media_too_large" beyond max_bytes, ERR_INVALID for an empty file or a
 * tenant id that is not a plain id, ERR_IO. */
int media_file_put(struct media *m, const char *tenant_id, const void *data, size_t n, char key[MEDIA_KEY_MAX],
                   char sha256[65], struct err *e);
/* Open a stored file for reading: *fd (caller closes) and *size. The key is
 * checked to be one media_file_put makes (no path tricks). ERR_NOTFOUND,
 * ERR_INVALID, ERR_IO. */
int media_file_open(struct media *m, const char *key, int *fd, uint64_t *size, struct err *e);

/* ------------------------------------------------------------ signed URLs */

/* The signature of (tenant, media id, expires) with the active key:
 * "<kid>.<64 hex>". ERR_NOTFOUND when the ring has no active key. */
int media_sign(struct media *m, const char *tenant_id, const char *media_id, int64_t expires,
               char sig[MEDIA_SIG_MAX], struct err *e);
/* Append the absolute signed URL of the media (valid until now + ttl) to
 * out: <public_url>/media/<id>[.<ext>]?tenant=…&expires=…&sig=…, the
 * extension that of content_type (media_type_ext; none when NULL) so that
 * whoever fetches it (a browser, a provider sending it on) sees a file
 * name of the right kind; the signature covers the id only. *expires_out
 * (may be NULL) receives the expiry (Unix s). */
int media_signed_url(struct media *m, const char *tenant_id, const char *media_id, const char *content_type,
                     int64_t now_s, struct buf *out, int64_t *expires_out, struct err *e);
/* Check a signed URL's parts at now_s (constant-time compare, any key of
 * the ring): ERR_FORBIDDEN "link_expired" when expires is past,
 * "bad_signature" when malformed or not ours. */
int media_verify(struct media *m, const char *tenant_id, const char *media_id, const char *expires, const char *sig,
                 int64_t now_s, struct err *e);

/* -------------------------------------------------------------- fetching */

/* Download one inbound item: through the adapter's fetch_media when it has
 * one (the provider's authentication), else a plain GET of item->url
 * (http or https only, at most 3 redirects). At most max_bytes
 * (ERR_TOOLARGE "media_too_large": a Content-Length above it is refused
 * before any body is read); content_type receives the provider's type ("" when
 * none). ERR_UPSTREAM ("provider_error" for 5xx, "fetch_refused" for
 * another non-2xx: permanent), ERR_TIMEOUT, ERR_RATELIMIT (429),
 * ERR_INVALID (no URL to fetch). */
int media_fetch(const struct channel_env *env, const struct channel_adapter *ad, const struct channel_creds *creds,
                const struct channel_media *item, size_t max_bytes, struct buf *out, char *content_type,
                size_t ctlen, struct err *e);

/* ------------------------------------------------------------------- rows */

/* The tenant's media row. ERR_NOTFOUND. */
int media_get(struct media *m, const char *tenant_id, const char *media_id, struct store_media *out, struct err *e);
/* The media object of the API: {id, message_id, status, content_type,
 * provider_content_type, size, sha256, error ({code, text} or null),
 * created_at, updated_at}; with url (not NULL) also "url" and
 * "expires_at". */
void media_json(struct buf *b, const struct store_media *row, const char *url, int64_t expires_s);

#endif
