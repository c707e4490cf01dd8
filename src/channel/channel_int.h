/*
 * channel_int.h: private helpers the adapters share (not part of the
 * contract): percent-encoding and decoding of form bodies, and one blocking
 * libcurl request with a bounded response body. Everything here is static
 * so each adapter gets its own copy, except the easy-handle pool functions
 * of channel_pool.c; no state outlives a call except the one-time
 * curl_global_init guarded by pthread_once and the handles a pool keeps.
 */
#ifndef SB_CHANNEL_INT_H
#define SB_CHANNEL_INT_H

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "channel/channel.h"

#define CHANNEL__MAX_BODY (64 * 1024)

/* Append s percent-encoded for application/x-www-form-urlencoded. */
static inline void channel__form_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            buf_putc(b, (char)c);
        } else if (c == ' ') {
            buf_putc(b, '+');
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[c >> 4]);
            buf_putc(b, hex[c & 15]);
        }
    }
}

/* Append "&name=value" (no '&' when b is empty). */
static inline void channel__form_add(struct buf *b, const char *name, const char *value)
{
    if (b->len)
        buf_putc(b, '&');
    channel__form_escape(b, name);
    buf_putc(b, '=');
    channel__form_escape(b, value);
}

static inline int channel__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode n bytes of a form component into the arena ('+' is space; a bad
 * escape is kept literally, as browsers and Twilio's libraries do). */
static inline char *channel__form_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%' && i + 2 < n &&
                   channel__hexval((unsigned char)s[i + 1]) >= 0 && channel__hexval((unsigned char)s[i + 2]) >= 0) {
            out[j++] = (char)(channel__hexval((unsigned char)s[i + 1]) * 16 + channel__hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

/* Parse a form body into arena-allocated pairs (empty pieces skipped). */
static inline void channel__form_parse(struct arena *a, const char *body, size_t len, struct channel_kv **out,
                                       size_t *nout)
{
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        if (body[i] == '&')
            cap++;
    struct channel_kv *kv = arena_alloc(a, cap * sizeof *kv);
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '&')
            continue;
        if (i > start) {
            const char *piece = body + start;
            size_t plen = i - start;
            const char *eq = memchr(piece, '=', plen);
            size_t nlen = eq ? (size_t)(eq - piece) : plen;
            kv[n].name = channel__form_decode(a, piece, nlen);
            kv[n].value = eq ? channel__form_decode(a, eq + 1, plen - nlen - 1) : arena_strdup(a, "");
            n++;
        }
        start = i + 1;
    }
    *out = kv;
    *nout = n;
}

static inline const char *channel__kv_find(const struct channel_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

static pthread_once_t channel__curl_once = PTHREAD_ONCE_INIT;

static inline void channel__curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* What one HTTP exchange gave back. */
struct channel__resp {
    long status;          /* 0: no response */
    struct buf body;      /* at most max_body bytes; caller buf_frees */
    size_t max_body;      /* 0 means CHANNEL__MAX_BODY */
    int retry_after_s;    /* Retry-After header (seconds form), else 0 */
    int timed_out;
    int overflow;         /* 1: the body passed max_body and the transfer was aborted */
    char message_id[128]; /* X-Message-Id header (SendGrid's id of an accepted mail), else "" */
    char content_type[128]; /* Content-Type header, else "" */
    long long ratelimit_reset; /* X-RateLimit-Reset (Unix seconds), else 0 */
};

/* Copy a header's value (after "name:") into out, trimmed. */
static inline void channel__header_value(char *out, size_t outlen, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static inline size_t channel__write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct channel__resp *r = ud;
    size_t n = size * nmemb;
    if (r->body.len + n > (r->max_body ? r->max_body : CHANNEL__MAX_BODY)) {
        r->overflow = 1;
        return 0; /* abort the transfer: a provider answer is never this big */
    }
    buf_append(&r->body, ptr, n);
    return n;
}

static inline size_t channel__header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct channel__resp *r = ud;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "retry-after:", 12) == 0) {
        long v = strtol(ptr + 12, NULL, 10);
        if (v > 0 && v < 86400)
            r->retry_after_s = (int)v;
    } else if (n > 13 && strncasecmp(ptr, "x-message-id:", 13) == 0) {
        channel__header_value(r->message_id, sizeof r->message_id, ptr + 13, n - 13);
    } else if (n > 18 && strncasecmp(ptr, "x-ratelimit-reset:", 18) == 0) {
        long long v = strtoll(ptr + 18, NULL, 10);
        r->ratelimit_reset = v > 0 ? v : 0;
    } else if (n > 13 && strncasecmp(ptr, "content-type:", 13) == 0) {
        channel__header_value(r->content_type, sizeof r->content_type, ptr + 13, n - 13);
    }
    return n;
}

/* The easy handle for one request (channel_pool.c): an idle one from
 * env->pool, or a new one (attached to the pool's share, or to
 * env->curl_share when there is no pool). NULL on OOM. Every get is paired
 * with one put, which counts the connections the request opened, resets
 * the handle (no credential, header list or callback pointer outlives the
 * request) and keeps it with its open connections, or frees it. */
CURL *channel__easy_get(const struct channel_env *env);
void channel__easy_put(const struct channel_env *env, CURL *c);

/* One request: GET when body is NULL, else POST body with content_type.
 * userpwd (basic auth) and bearer are optional. Returns 0 when a response
 * arrived (any status); ERR_TIMEOUT or ERR_UPSTREAM when none did. The
 * connection comes from env->pool when there is one. */
static inline int channel__http(const struct channel_env *env, const char *url, const char *content_type,
                                const char *body, size_t len, const char *userpwd, const char *bearer,
                                struct channel__resp *r, struct err *e)
{
    int rc = 0;
    struct curl_slist *hdrs = NULL;
    char line[1024];
    long timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 10000L;
    pthread_once(&channel__curl_once, channel__curl_init);
    CURL *c = channel__easy_get(env);
    if (!c)
        return err_set(e, ERR_NOMEM, NULL, "curl_easy_init failed");
    if (body) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        hdrs = curl_slist_append(hdrs, line);
        hdrs = curl_slist_append(hdrs, "Expect:");
    }
    if (bearer) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, channel__write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, channel__header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (userpwd) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        r->timed_out = 1;
        rc = err_set(e, ERR_TIMEOUT, "provider_timeout", "provider did not answer within %ld ms", timeout_ms);
        goto out;
    }
    if (cc != CURLE_OK) {
        rc = err_set(e, ERR_UPSTREAM, "provider_unreachable", "provider request failed: %s", curl_easy_strerror(cc));
        goto out;
    }
out:
    channel__easy_put(env, c);
    curl_slist_free_all(hdrs);
    return rc;
}

/* channel__http as a POST (the adapters' sends). */
static inline int channel__post(const struct channel_env *env, const char *url, const char *content_type,
                                const char *body, size_t len, const char *userpwd, const char *bearer,
                                struct channel__resp *r, struct err *e)
{
    return channel__http(env, url, content_type, body ? body : "", len, userpwd, bearer, r, e);
}

/* A credentials check's GET (the adapters' test_connection): 0 when an
 * answer came (any status): out->http_status is set and *root holds the
 * parsed body (NULL when not JSON; the caller cJSON_Deletes it). When no
 * answer came, out says why (ok 0, detail, code "provider_timeout" or
 * "provider_unreachable") and the error is returned. */
static inline int channel__test_get(const struct channel_env *env, const char *url, const char *userpwd,
                                    const char *bearer, cJSON **root, struct channel_test_result *out, struct err *e)
{
    struct channel__resp r = {0};
    int rc = channel__http(env, url, NULL, NULL, 0, userpwd, bearer, &r, e);

    *root = NULL;
    if (rc) {
        out->ok = 0;
        snprintf(out->detail, sizeof out->detail, "%s", e && e->msg[0] ? e->msg : "the provider could not be reached");
        snprintf(out->code, sizeof out->code, "%s", e ? err_slug(e) : "provider_unreachable");
    } else {
        out->http_status = (int)r.status;
        (void)json_parse(root, r.body.data ? r.body.data : "", r.body.len, NULL);
    }
    buf_free(&r.body);
    return rc;
}

/* A credentials check at Meta: GET {graph}/{node}?fields=… with the bearer
 * token. A 200 sets out->ok and leaves its body in *root for the caller
 * to describe (the caller cJSON_Deletes it); another status is out->ok 0
 * with Graph's message and code. Returns channel__test_get's error. */
int channel__graph_test(const struct channel_env *env, const char *node, const char *fields, const char *token,
                        cJSON **root, struct channel_test_result *out, struct err *e);

/* WhatsApp templates at Meta (channel_whatsapp_template.c): whether a
 * message_template_status_update value names its event, template and
 * language (one that does not is nothing to act on: skipped); one such
 * change (entry and its value) as an event (ERR_INVALID without them); and
 * the adapter's submit_template. */
int channel__whatsapp_template_named(const cJSON *value);
int channel__whatsapp_template_status(struct arena *a, const cJSON *entry, const cJSON *value,
                                      struct channel_event *ev, struct err *e);
int channel__whatsapp_submit_template(const struct channel_env *env, const struct channel_creds *creds,
                                      const struct channel_template_submit *t, struct channel_template_result *out,
                                      struct err *e);
/* ------------------------------------------- e-mail (channel_mime.c) */

/* A file to attach: inline (an image the HTML shows as cid:<content_id>)
 * when content_id is set, else an attachment. Borrowed. */
struct channel__mime_file {
    const char *filename;       /* shown to the reader; unsafe characters become '_' */
    const char *content_type;   /* type/subtype; anything else is sent as application/octet-stream */
    const char *content_id;     /* without angle brackets; NULL = an attachment */
    const void *data;
    size_t len;
};

/* An e-mail to build. Borrowed; NULL or "" = absent. */
struct channel__mime {
    const char *from_email;     /* required: a plain address */
    const char *from_name;      /* display name, any UTF-8 */
    const char *to;             /* required: a plain address */
    const char *subject;        /* required, <= 998 bytes */
    const char *text;           /* text/plain; text or html (or both) */
    const char *html;           /* text/html */
    const char *message_id;     /* required: "<id>" */
    const char *in_reply_to;    /* "<id>" */
    const char *references;     /* "<id> <id> ..." */
    const char *unsubscribe_url; /* List-Unsubscribe + List-Unsubscribe-Post (one-click) */
    int64_t date_ms;            /* Date; 0 = now */
    const struct channel__mime_file *files;
    size_t nfiles;
};

/* Append the whole message (headers, blank line, body; CRLF endings) to
 * out. ERR_INVALID with slug invalid_address, invalid_message or
 * invalid_header (a line break or control character in a header value:
 * header injection is refused, never cleaned), naming the field but never
 * its value. Nothing is appended on error. */
int channel__mime_build(struct buf *out, const struct channel__mime *m, struct err *e);
/* 1 when s is a plain ASCII address local@domain without spaces, quotes or
 * brackets (what an SMTP envelope takes as is). */
int channel__email_address_ok(const char *s);
/* 1 when s is exactly one "<id>" of printable ASCII without spaces. */
int channel__email_msg_id_ok(const char *s);

/* The adapters, registered in channel.c. */
extern const struct channel_adapter channel_twilio;
extern const struct channel_adapter channel_whatsapp;
extern const struct channel_adapter channel_telegram;
extern const struct channel_adapter channel_webchat;
extern const struct channel_adapter channel_instagram;

/* Meta (channel_meta.c), shared by the WhatsApp and Instagram adapters. */
#define CHANNEL__GRAPH_DEFAULT "https://graph.facebook.com/v21.0"
/* The adapter's handshake and verify: hub.challenge for the right
 * hub.verify_token, X-Hub-Signature-256 over the raw body with app_secret. */
int channel__meta_handshake(const struct channel_webhook *wh, const struct channel_creds *creds, struct buf *out,
                            struct err *e);
int channel__meta_verify(const struct channel_webhook *wh, const struct channel_creds *creds, struct err *e);
/* Graph's {"error": {message, code, error_subcode, is_transient}}; zeros
 * and NULL where absent. message borrows from root. */
struct channel__graph_err {
    int64_t code;
    int64_t subcode;
    const char *message;
    int transient;
};
void channel__graph_error(const cJSON *root, struct channel__graph_err *out);
/* POST req as JSON to {graph}/{node}/messages with the bearer token. 0 when
 * an answer came (any status): r holds it, *root its parsed body (NULL when
 * not JSON; caller cJSON_Deletes), out->http_status its status; else
 * ERR_TIMEOUT / ERR_UPSTREAM / ERR_NOMEM with out->error_text. The caller
 * buf_frees r->body either way. */
int channel__graph_post(const struct channel_env *env, const char *node, const char *token, const cJSON *req,
                        struct channel__resp *r, cJSON **root, struct channel_send_result *out, struct err *e);
extern const struct channel_adapter channel_smtp;
extern const struct channel_adapter channel_sendgrid;

#endif
