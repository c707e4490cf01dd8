/*
 * media: the handle, the filesystem store and the signed URLs.
 *
 * Files: <dir>/<tenant>/<xx>/<sha256>, where xx is the digest's first two
 * hex digits (so no directory grows without bound). A write goes to a
 * temporary file in the target directory, is fsynced, renamed over the
 * final name and the directory fsynced, so a crash leaves either no file
 * or the whole file; the same content twice is one file. Keys are checked
 * against that exact shape before any path is built from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/media.h"

#define MEDIA_DEFAULT_MAX (16 * 1024 * 1024)
#define MEDIA_DEFAULT_TTL 900
#define MEDIA_SIGN_PURPOSE "media-url"

struct media {
    char *dir;
    char *public_url;
    size_t max_bytes;
    int64_t ttl_s;
    struct ops_keyring *keys;
    struct store *db;
};

/* mkdir -p for path (mode 0750). */
static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        tmp[i] = c;
    }
    return 0;
}

int media_new(struct media **out, const struct media_options *opt, struct err *e)
{
    struct media *m;

    *out = NULL;
    if (!opt || !opt->dir || !*opt->dir || !opt->keys)
        return err_set(e, ERR_INVALID, NULL, "media needs a directory and a key ring");
    if (mkdirs(opt->dir) != 0)
        return err_set(e, ERR_IO, NULL, "cannot create the media directory %s: %s", opt->dir, strerror(errno));
    m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    m->dir = strdup(opt->dir);
    m->public_url = strdup(opt->public_url ? opt->public_url : "");
    if (!m->dir || !m->public_url) {
        media_free(m);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    for (size_t n = strlen(m->public_url); n > 0 && m->public_url[n - 1] == '/'; n--)
        m->public_url[n - 1] = '\0';
    m->max_bytes = opt->max_bytes > 0 ? (size_t)opt->max_bytes : MEDIA_DEFAULT_MAX;
    m->ttl_s = opt->url_ttl_s > 0 ? opt->url_ttl_s : MEDIA_DEFAULT_TTL;
    m->keys = opt->keys;
    m->db = opt->db;
    *out = m;
    return 0;
}

void media_free(struct media *m)
{
    if (!m)
        return;
    free(m->dir);
    free(m->public_url);
    free(m);
}

size_t media_max_bytes(const struct media *m)
{
    return m->max_bytes;
}

int64_t media_url_ttl_s(const struct media *m)
{
    return m->ttl_s;
}

/* ---------------------------------------------------------------- files */

/* A tenant id usable as a directory name: [a-z0-9_], 1..CORE_ID_MAX-1. */
static int plain_id(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return 0;
    return n > 0 && n < max;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* A key as media_file_put makes it: <plain id>/<2 hex>/<64 hex>. */
static int key_ok(const char *key)
{
    const char *s1 = strchr(key, '/');
    if (!s1 || (size_t)(s1 - key) >= CORE_ID_MAX)
        return 0;
    char tenant[CORE_ID_MAX];
    memcpy(tenant, key, (size_t)(s1 - key));
    tenant[s1 - key] = '\0';
    const char *rest = s1 + 1;
    return plain_id(tenant, CORE_ID_MAX) && strlen(rest) == 2 + 1 + 64 && rest[2] == '/' && is_hex(rest, 2) &&
           is_hex(rest + 3, 64) && memcmp(rest, rest + 3, 2) == 0;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int media_file_put(struct media *m, const char *tenant_id, const void *data, size_t n, char key[MEDIA_KEY_MAX],
                   char sha256[65], struct err *e)
{
    char dir[4096], path[4096], tmp[4200], rnd[16];
    int fd = -1, rc = 0;
    struct stat st;

    if (n == 0)
        return err_set(e, ERR_INVALID, "media_empty", "the media file is empty");
    if (n > m->max_bytes)
        return err_set(e, ERR_TOOLARGE, "media_too_large", "the media file is %zu bytes; the limit is %zu", n,
                       m->max_bytes);
    if (!tenant_id || !plain_id(tenant_id, CORE_ID_MAX))
        return err_set(e, ERR_INVALID, NULL, "media: bad tenant id");
    crypto_sha256_hex(sha256, data, n);
    snprintf(key, MEDIA_KEY_MAX, "%s/%.2s/%s", tenant_id, sha256, sha256);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/%s/%.2s", m->dir, tenant_id, sha256) >= sizeof(dir) ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", dir, sha256) >= sizeof(path))
        return err_set(e, ERR_IO, NULL, "media directory path too long");
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == n)
        return 0; /* the same bytes are stored already */
    if (mkdirs(dir) != 0)
        return err_set(e, ERR_IO, NULL, "cannot create %s: %s", dir, strerror(errno));
    crypto_random_token(rnd, sizeof(rnd), 9);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, rnd);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return err_set(e, ERR_IO, NULL, "cannot create a media file: %s", strerror(errno));
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, (const char *)data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = err_set(e, ERR_IO, NULL, "cannot write a media file: %s", strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = err_set(e, ERR_IO, NULL, "cannot fsync a media file: %s", strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(e, ERR_IO, NULL, "cannot close a media file: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = err_set(e, ERR_IO, NULL, "cannot rename a media file: %s", strerror(errno));
        goto out;
    }
    if (fsync_dir(dir) != 0)
        rc = err_set(e, ERR_IO, NULL, "cannot fsync the media directory: %s", strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc)
        unlink(tmp);
    return rc;
}

int media_file_open(struct media *m, const char *key, int *fd, uint64_t *size, struct err *e)
{
    char path[4096];
    struct stat st;

    *fd = -1;
    *size = 0;
    if (!key || !key_ok(key))
        return err_set(e, ERR_INVALID, NULL, "media: bad storage key");
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", m->dir, key) >= sizeof(path))
        return err_set(e, ERR_IO, NULL, "media path too long");
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, NULL, "cannot open a media file: %s",
                       strerror(errno));
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return err_set(e, ERR_IO, NULL, "media file is not a regular file");
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* ------------------------------------------------------------ signed URLs */

static void sign_with(const uint8_t key[CRYPTO_KEY_BYTES], const char *tenant_id, const char *media_id,
                      const char *expires, char hex[65])
{
    uint8_t mac[32];
    struct buf b = {0};
    buf_printf(&b, "media\n%s\n%s\n%s", tenant_id, media_id, expires);
    crypto_hmac_sha256(mac, key, CRYPTO_KEY_BYTES, b.data, b.len);
    crypto_hex(hex, mac, sizeof(mac));
    buf_free(&b);
}

int media_sign(struct media *m, const char *tenant_id, const char *media_id, int64_t expires,
               char sig[MEDIA_SIG_MAX], struct err *e)
{
    uint8_t key[CRYPTO_KEY_BYTES];
    char kid[32], hex[65], exp[24];
    int rc = ops_keyring_derive(m->keys, NULL, MEDIA_SIGN_PURPOSE, key, kid, e);
    if (rc)
        return rc;
    snprintf(exp, sizeof(exp), "%lld", (long long)expires);
    sign_with(key, tenant_id, media_id, exp, hex);
    explicit_bzero(key, sizeof(key));
    snprintf(sig, MEDIA_SIG_MAX, "%s.%s", kid, hex);
    return 0;
}

int media_signed_url(struct media *m, const char *tenant_id, const char *media_id, const char *content_type,
                     int64_t now_s, struct buf *out, int64_t *expires_out, struct err *e)
{
    char sig[MEDIA_SIG_MAX];
    int64_t expires = now_s + m->ttl_s;
    int rc = media_sign(m, tenant_id, media_id, expires, sig, e);
    if (rc)
        return rc;
    /* Ids and the signature are URL-safe by construction. */
    int ext = content_type && *content_type;
    buf_printf(out, "%s/media/%s%s%s?tenant=%s&expires=%lld&sig=%s", m->public_url, media_id, ext ? "." : "",
               ext ? media_type_ext(content_type) : "", tenant_id, (long long)expires, sig);
    if (expires_out)
        *expires_out = expires;
    return 0;
}

int media_verify(struct media *m, const char *tenant_id, const char *media_id, const char *expires, const char *sig,
                 int64_t now_s, struct err *e)
{
    uint8_t key[CRYPTO_KEY_BYTES];
    char kid[32], hex[65];
    const char *dot;
    char *end = NULL;

    if (!tenant_id || !media_id || !expires || !sig || !*expires || !(dot = strchr(sig, '.')) ||
        (size_t)(dot - sig) >= sizeof(kid) || strlen(dot + 1) != 64)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "the media link is malformed");
    long long exp = strtoll(expires, &end, 10);
    if (*end || exp <= 0 || expires[0] == '+' || expires[0] == '0')
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "the media link is malformed");
    memcpy(kid, sig, (size_t)(dot - sig));
    kid[dot - sig] = '\0';
    if (ops_keyring_derive(m->keys, kid, MEDIA_SIGN_PURPOSE, key, NULL, NULL) != 0)
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "the media link is not valid");
    sign_with(key, tenant_id, media_id, expires, hex);
    explicit_bzero(key, sizeof(key));
    if (!crypto_equal(hex, 64, dot + 1, 64))
        return err_set(e, ERR_FORBIDDEN, "bad_signature", "the media link is not valid");
    if (exp < now_s)
        return err_set(e, ERR_FORBIDDEN, "link_expired", "the media link has expired");
    return 0;
}

/* ------------------------------------------------------------------- rows */

int media_get(struct media *m, const char *tenant_id, const char *media_id, struct store_media *out, struct err *e)
{
    int rc = store_media_get(m->db, tenant_id, media_id, out, e);
    if (rc == ERR_NOTFOUND)
        err_set(e, ERR_NOTFOUND, "media_not_found", "no such media");
    return rc;
}

static void str_or_null(struct buf *b, const char *s)
{
    buf_json_str(b, s && *s ? s : NULL);
}

void media_json(struct buf *b, const struct store_media *row, const char *url, int64_t expires_s)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, row->id);
    buf_puts(b, ",\"message_id\":");
    buf_json_str(b, row->message_id);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, row->status);
    buf_puts(b, ",\"content_type\":");
    str_or_null(b, row->content_type);
    buf_puts(b, ",\"provider_content_type\":");
    str_or_null(b, row->provider_content_type);
    buf_printf(b, ",\"size\":%lld,\"sha256\":", (long long)row->size);
    str_or_null(b, row->sha256);
    buf_puts(b, ",\"error\":");
    if (row->error_code[0]) {
        buf_puts(b, "{\"code\":");
        buf_json_str(b, row->error_code);
        buf_puts(b, ",\"text\":");
        str_or_null(b, row->error_text);
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, row->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, row->updated_at);
    if (url) {
        buf_puts(b, ",\"url\":");
        buf_json_str(b, url);
        buf_puts(b, ",\"expires_at\":");
        buf_json_time(b, expires_s * 1000);
    }
    buf_putc(b, '}');
}
