/*
 * routes_media: inbound media for the dashboard.
 *
 * GET /api/v1/media/{id} (a session or an API key of the media's tenant)
 * answers the media object and, once the file is stored, a short-lived
 * signed URL. GET /media/{id}?tenant=…&expires=…&sig=… needs no
 * Authorization header (so <img src> and <audio src> work): the signature
 * is the authority, checked before anything is read. The file is streamed
 * from the media store with the type sniffed from its bytes, nosniff,
 * inline only for images, audio and video (anything else is an
 * attachment), a sandboxing Content-Security-Policy, and a private cache
 * lifetime no longer than the link's.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "media/media.h"

static int media_ready(struct http_req *r)
{
    if (r->app->media)
        return 1;
    http__error(r, 503, "media_unavailable", "this server keeps no media store");
    return 0;
}

void http__route_media_get(struct http_req *r)
{
    struct err e = {0};
    struct store_media row;
    struct buf url = {0};
    int64_t expires = 0, now_s = time_now_ms() / 1000;
    const char *id = http__param(r, "id");

    if (!media_ready(r))
        return;
    if (media_get(r->app->media, r->principal.tenant_id, id, &row, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    if (strcmp(row.status, "stored") == 0 &&
        media_signed_url(r->app->media, r->principal.tenant_id, row.id, row.content_type, now_s, &url, &expires,
                         &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, 200);
    media_json(&r->out, &row, url.len ? url.data : NULL, expires);
out:
    buf_free(&url);
}

void http__route_media_file(struct http_req *r)
{
    struct err e = {0};
    struct store_media row;
    const char *param = http__param(r, "id"), *dot = param ? strchr(param, '.') : NULL;
    /* "med_….jpg": the extension is for whoever fetches; the id is before it. */
    const char *id = dot ? arena_strndup(r->arena, param, (size_t)(dot - param)) : param;
    const char *tenant = http__query_str(r, "tenant");
    const char *expires = http__query_str(r, "expires");
    const char *sig = http__query_str(r, "sig");
    int64_t now_s = time_now_ms() / 1000;
    char hdr[256];
    int fd = -1;
    uint64_t size = 0;

    if (!media_ready(r))
        return;
    if (media_verify(r->app->media, tenant, id, expires, sig, now_s, &e) != 0) {
        http__error(r, 403, err_slug(&e), e.msg);
        return;
    }
    if (media_get(r->app->media, tenant, id, &row, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    if (strcmp(row.status, "stored") != 0) {
        http__error(r, 404, "media_not_found", "this media has no stored file");
        return;
    }
    if (media_file_open(r->app->media, row.storage_key, &fd, &size, &e) != 0) {
        if (e.code == ERR_NOTFOUND)
            http__error(r, 404, "media_not_found", "the media file is missing from the media store");
        else
            http__error_from(r, &e);
        return;
    }
    const char *type = row.content_type[0] ? row.content_type : "application/octet-stream";
    int inline_ok = strncmp(type, "image/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
                    strncmp(type, "video/", 6) == 0;
    snprintf(hdr, sizeof(hdr), "%s; filename=\"%s.%s\"", inline_ok ? "inline" : "attachment", row.id,
             media_type_ext(type));
    http__header(r, "Content-Disposition", hdr);
    long long left = strtoll(expires, NULL, 10) - (long long)now_s;
    snprintf(hdr, sizeof(hdr), "private, max-age=%lld", left > 0 ? left : 0);
    http__header_set(r, "Cache-Control", hdr);
    http__header_set(r, "Content-Security-Policy", "default-src 'none'; sandbox");
    http__header_set(r, "X-Content-Type-Options", "nosniff");
    r->status = 200;
    r->content_type = arena_strdup(r->arena, type);
    buf_reset(&r->out);
    r->has_file = 1;
    r->file_fd = fd;
    r->file_size = size;
}
