/*
 * channel_fetch: one bounded download (a media file) for the adapters'
 * fetch_media hooks and the plain GET of media without a hook.
 *
 * The body is capped twice: a Content-Length above the cap stops the
 * transfer before any body byte is read, and a body that outgrows it
 * anyway (chunked, or a lying length) is cut off there. Redirects are
 * followed when asked (at most 3, http and https only); libcurl sends basic
 * auth and an Authorization header to the first host only, never to the
 * host a redirect leads to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "channel/channel_int.h"

struct fetch_state {
    struct buf *out;
    size_t max;
    int too_large;
    long long length;         /* Content-Length of the last response, -1 when none */
    char *ct;
    size_t ctlen;
};

static size_t fetch_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch_state *st = ud;
    size_t n = size * nmemb;
    if (st->out->len + n > st->max) {
        st->too_large = 1;
        return 0;
    }
    buf_append(st->out, ptr, n);
    return n;
}

/* Trimmed copy of a header value into out (outlen bytes). */
static void header_value(const char *v, size_t n, char *out, size_t outlen)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t fetch_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct fetch_state *st = ud;
    size_t n = size * nmemb;
    char tmp[32];
    if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) { /* a new response (after a redirect) */
        st->length = -1;
        if (st->ct && st->ctlen)
            st->ct[0] = '\0';
    } else if (n > 13 && strncasecmp(ptr, "content-type:", 13) == 0 && st->ct) {
        header_value(ptr + 13, n - 13, st->ct, st->ctlen);
    } else if (n > 15 && strncasecmp(ptr, "content-length:", 15) == 0) {
        header_value(ptr + 15, n - 15, tmp, sizeof(tmp));
        char *end = NULL;
        long long v = strtoll(tmp, &end, 10);
        st->length = end != tmp && !*end && v >= 0 ? v : -1;
    } else if (n <= 2 && st->length >= 0 && (unsigned long long)st->length > st->max) {
        /* The end of the headers: refuse what announced itself too large. A
         * redirect's own (small) length never trips this. */
        st->too_large = 1;
        return 0;
    }
    return n;
}

int channel_fetch_url(const struct channel_env *env, const char *url, const char *userpwd, const char *bearer,
                      int follow, size_t max_bytes, struct buf *out, char *content_type, size_t ctlen,
                      long *status, struct err *e)
{
    int rc = 0;
    struct curl_slist *hdrs = NULL;
    char line[1024];
    long code = 0, timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 10000L;
    struct fetch_state st = {out, max_bytes, 0, -1, content_type, ctlen};

    if (content_type && ctlen)
        content_type[0] = '\0';
    if (status)
        *status = 0;
    if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
        return err_set(e, ERR_INVALID, "invalid_media_url", "media URLs must be http(s)");
    pthread_once(&channel__curl_once, channel__curl_init);
    CURL *c = channel__easy_get(env);
    if (!c)
        return err_set(e, ERR_NOMEM, NULL, "curl_easy_init failed");
    if (bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    if (userpwd) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (status)
        *status = code;
    if (st.too_large) {
        rc = err_set(e, ERR_TOOLARGE, "media_too_large", "the media file is larger than %zu bytes", max_bytes);
        goto out;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = err_set(e, ERR_TIMEOUT, "provider_timeout", "media download did not finish within %ld ms", timeout_ms);
        goto out;
    }
    if (cc == CURLE_TOO_MANY_REDIRECTS || cc == CURLE_UNSUPPORTED_PROTOCOL) {
        rc = err_set(e, ERR_UPSTREAM, "fetch_refused", "media download: %s", curl_easy_strerror(cc));
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = err_set(e, ERR_UPSTREAM, "provider_unreachable", "media download failed: %s", curl_easy_strerror(cc));
        goto out;
    }
    if (code == 429) {
        rc = err_set(e, ERR_RATELIMIT, "provider_rate_limited", "media download: rate limited (429)");
    } else if (code >= 500 || code < 200) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "media download answered %ld", code);
    } else if (code >= 300) {
        rc = err_set(e, ERR_UPSTREAM, "fetch_refused", "media download refused (%ld)", code);
    }
out:
    if (rc)
        buf_reset(out);
    channel__easy_put(env, c);
    curl_slist_free_all(hdrs);
    return rc;
}
