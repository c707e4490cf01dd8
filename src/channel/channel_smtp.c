/*
 * channel_smtp: e-mail through the account's own SMTP server (libcurl).
 *
 * send: fetch the media URLs (at most 10 MiB together; an image the HTML
 * names as cid:<file name> goes inline, the rest are attachments), build the
 * MIME message (channel_mime.c), and hand it over: EHLO, STARTTLS (required
 * unless the account says tls=implicit, i.e. smtps://, or tls=none, which
 * account validation allows for loopback servers only), AUTH when the
 * account has a username, MAIL FROM, RCPT TO, DATA. SMTP answers map as the
 * RFC means them: 5xx is permanent (the message fails with the code, e.g.
 * 550 no such user), 4xx and lost connections are transient (retried). The
 * provider message id is our Message-ID. SMTP accounts have no webhooks:
 * bounces arrive by mail, not here. Pure: no database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel_int.h"

#define SMTP_MAX_MEDIA_BYTES (10u * 1024 * 1024)

struct smtp_upload {
    const char *p;
    size_t left;
};

static size_t smtp__read_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct smtp_upload *u = ud;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(ptr, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* The server's last refusal ("550 5.1.1 No such user"), for the error text:
 * libcurl hands every answer line to the header callback, and after a
 * refusal it still says QUIT, so later 2xx lines are not kept. */
struct smtp_reply {
    char line[256];
};

static size_t smtp__reply_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct smtp_reply *r = ud;
    size_t n = size * nmemb, k = n;
    while (k && (ptr[k - 1] == '\r' || ptr[k - 1] == '\n'))
        k--;
    if (k >= 3 && (ptr[0] == '4' || ptr[0] == '5') && ptr[1] >= '0' && ptr[1] <= '9') {
        if (k >= sizeof r->line)
            k = sizeof r->line - 1;
        memcpy(r->line, ptr, k);
        r->line[k] = '\0';
        for (char *p = r->line; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    return n;
}

/* The last path segment of a URL (before ? or #), in a. */
static char *smtp__url_name(struct arena *a, const char *url)
{
    size_t end = strcspn(url, "?#");
    size_t start = end;
    while (start > 0 && url[start - 1] != '/')
        start--;
    return arena_strndup(a, url + start, end - start);
}

/* GET one media URL into out (at most max bytes). ERR_TOOLARGE
 * "media_too_large" (permanent), ERR_INVALID "media_unavailable" for a
 * 4xx (permanent), ERR_UPSTREAM / ERR_TIMEOUT otherwise (transient). */
static int smtp__fetch(const struct channel_env *env, const char *url, size_t max, struct buf *out, char ctype[128],
                       struct err *e)
{
    struct channel__resp r = {0};
    long timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 10000L;
    const char *ct = NULL;
    int rc = 0;
    pthread_once(&channel__curl_once, channel__curl_init);
    CURL *c = channel__easy_get(env);
    if (!c)
        return err_set(e, ERR_NOMEM, NULL, "curl_easy_init failed");
    r.max_body = max ? max : 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, channel__write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (cc == CURLE_WRITE_ERROR) {
        rc = err_set(e, ERR_TOOLARGE, "media_too_large", "the attachments are larger than %u MiB together",
                     SMTP_MAX_MEDIA_BYTES >> 20);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = err_set(e, ERR_TIMEOUT, "provider_timeout", "a media URL did not answer within %ld ms", timeout_ms);
    } else if (cc != CURLE_OK) {
        rc = err_set(e, ERR_UPSTREAM, "media_unreachable", "a media URL could not be fetched: %s",
                     curl_easy_strerror(cc));
    } else if (r.status >= 400 && r.status < 500) {
        rc = err_set(e, ERR_INVALID, "media_unavailable", "a media URL answered %ld", r.status);
    } else if (r.status < 200 || r.status >= 300) {
        rc = err_set(e, ERR_UPSTREAM, "media_unreachable", "a media URL answered %ld", r.status);
    } else {
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, 128, "%s", ct ? ct : "");
        buf_append(out, r.body.data ? r.body.data : "", r.body.len);
    }
    channel__easy_put(env, c);
    buf_free(&r.body);
    return rc;
}

/* Fill files[] from the media URLs: an image whose file name the HTML
 * refers to as cid:<name> is inline under that Content-ID. */
static int smtp__files(struct arena *a, const struct channel_env *env, const struct channel_send *msg,
                       struct channel__mime_file **out, struct buf *data, struct err *e)
{
    struct channel__mime_file *f = msg->nmedia ? arena_alloc(a, msg->nmedia * sizeof *f) : NULL;
    size_t total = 0;
    int rc;
    for (size_t i = 0; i < msg->nmedia; i++) {
        char ctype[128];
        if (total >= SMTP_MAX_MEDIA_BYTES)
            return err_set(e, ERR_TOOLARGE, "media_too_large", "the attachments are larger than %u MiB together",
                           SMTP_MAX_MEDIA_BYTES >> 20);
        buf_reset(&data[i]);
        if ((rc = smtp__fetch(env, msg->media_urls[i], SMTP_MAX_MEDIA_BYTES - total, &data[i], ctype, e)))
            return rc;
        total += data[i].len;
        f[i].filename = smtp__url_name(a, msg->media_urls[i]);
        f[i].content_type = arena_strdup(a, ctype);
        f[i].data = data[i].data ? data[i].data : "";
        f[i].len = data[i].len;
        if (msg->html && *f[i].filename && strncmp(ctype, "image/", 6) == 0) {
            char *ref = arena_printf(a, "cid:%s", f[i].filename);
            size_t rl = strlen(ref);
            const char *hit = strstr(msg->html, ref);
            /* The whole name, not a prefix of a longer one. */
            while (hit && (hit[rl] && !strchr("\"' >)", hit[rl])))
                hit = strstr(hit + 1, ref);
            int plain = 1; /* a Content-ID is printable ASCII without brackets, quotes or '%' escapes */
            for (const char *p = f[i].filename; *p; p++)
                if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>\"%", *p))
                    plain = 0;
            if (hit && plain)
                f[i].content_id = f[i].filename;
        }
    }
    *out = f;
    return 0;
}

/* The parts of an SMTP session that sending and the connection test share:
 * the URL (smtps:// for implicit TLS, else smtp:// with STARTTLS unless
 * tls is "none"; the EHLO name is the sender's domain), the timeouts, TLS,
 * the CA file and the login, and the server's replies into reply. */
static void smtp__session(CURL *c, struct buf *url, const struct channel_creds *creds, const char *tls,
                          const char *ehlo_domain, long timeout_ms, struct smtp_reply *reply, char *errbuf)
{
    const char *host = channel_creds_get(creds, "host"), *port = channel_creds_get(creds, "port");
    const char *user = channel_creds_get(creds, "username"), *pass = channel_creds_get(creds, "password");
    const char *ca = channel_creds_get(creds, "ca_file");

    buf_printf(url, "%s://", strcmp(tls, "implicit") == 0 ? "smtps" : "smtp");
    buf_printf(url, strchr(host, ':') ? "[%s]" : "%s", host);
    buf_printf(url, ":%s/%s", port ? port : strcmp(tls, "implicit") == 0 ? "465" : "587", ehlo_domain);
    curl_easy_setopt(c, CURLOPT_URL, url->data);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, smtp__reply_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_USE_SSL, strcmp(tls, "none") == 0 ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
    }
}

static int smtp_send(const struct channel_env *env, const struct channel_creds *creds, const struct channel_send *msg,
                     struct channel_send_result *out, struct err *e)
{
    const char *host = channel_creds_get(creds, "host"), *tls = channel_creds_get(creds, "tls");
    const char *from = channel_creds_get(creds, "from_email");
    long timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 10000L;
    struct arena *a = arena_new();
    struct buf mail = {0}, url = {0};
    struct buf *data = NULL;
    struct channel__mime m;
    struct smtp_reply reply = {{0}};
    struct curl_slist *rcpt = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!tls)
        tls = "starttls";
    if (!host || !from || !channel__email_address_ok(from)) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "channel_misconfigured", "SMTP account needs host and from_email");
        goto out;
    }
    memset(&m, 0, sizeof m);
    m.from_email = from;
    m.from_name = channel_creds_get(creds, "from_name");
    m.to = msg->to;
    m.subject = msg->subject;
    m.text = msg->text && *msg->text ? msg->text : NULL;
    m.html = msg->html && *msg->html ? msg->html : NULL;
    m.in_reply_to = msg->in_reply_to;
    m.references = msg->references;
    m.unsubscribe_url = msg->unsubscribe_url;
    m.message_id = msg->message_id;
    if (!m.message_id || !*m.message_id) {
        char id[CORE_ID_MAX];
        crypto_time_id(id, sizeof id, "msg", time_now_ms());
        m.message_id = arena_printf(a, "<%s@%s>", id, strchr(from, '@') + 1);
    }
    if (msg->nmedia) {
        data = arena_alloc(a, msg->nmedia * sizeof *data);
        struct channel__mime_file *files = NULL;
        rc = smtp__files(a, env, msg, &files, data, e);
        if (rc) {
            out->permanent = rc == ERR_INVALID || rc == ERR_TOOLARGE;
            if (rc == ERR_TOOLARGE)
                rc = ERR_INVALID; /* the contract's permanent refusal */
            snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "media not fetched");
            goto out;
        }
        m.files = files;
        m.nfiles = msg->nmedia;
    }
    if ((rc = channel__mime_build(&mail, &m, e))) {
        out->permanent = 1;
        snprintf(out->error_text, sizeof out->error_text, "%s", e ? e->msg : "invalid message");
        goto out;
    }

    pthread_once(&channel__curl_once, channel__curl_init);
    if (!(c = channel__easy_get(env))) {
        rc = err_set(e, ERR_NOMEM, NULL, "curl_easy_init failed");
        goto out;
    }
    char *env_from = arena_printf(a, "<%s>", from);
    rcpt = curl_slist_append(NULL, arena_printf(a, "<%s>", msg->to));
    struct smtp_upload up = {mail.data, mail.len};
    smtp__session(c, &url, creds, tls, strchr(from, '@') + 1, timeout_ms, &reply, errbuf);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp__read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)mail.len);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (cc == CURLE_OK) {
        snprintf(out->provider_message_id, sizeof out->provider_message_id, "%s", m.message_id);
        snprintf(out->status, sizeof out->status, "sent");
        goto out;
    }
    snprintf(out->error_text, sizeof out->error_text, "%s",
             reply.line[0] && code >= 400 ? reply.line : errbuf[0] ? errbuf : curl_easy_strerror(cc));
    if (code >= 400 && code < 600)
        snprintf(out->error_code, sizeof out->error_code, "%ld", code);
    if (code >= 500 && code < 600) {
        out->permanent = 1;
        rc = err_set(e, ERR_INVALID, "provider_rejected", "the SMTP server refused the message (%ld)", code);
    } else if (code >= 400 && code < 500) {
        rc = err_set(e, ERR_UPSTREAM, "provider_error", "the SMTP server answered %ld: try again later", code);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = err_set(e, ERR_TIMEOUT, "provider_timeout", "the SMTP server did not finish within %ld ms", timeout_ms);
    } else {
        rc = err_set(e, ERR_UPSTREAM, "provider_unreachable", "SMTP failed: %s", curl_easy_strerror(cc));
    }
out:
    if (c)
        channel__easy_put(env, c);
    curl_slist_free_all(rcpt);
    for (size_t i = 0; data && i < msg->nmedia; i++)
        buf_free(&data[i]);
    buf_free(&mail);
    buf_free(&url);
    arena_free(a);
    return rc;
}

static size_t smtp__discard_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* A session up to AUTH and no further: libcurl connects, reads the
 * greeting, says EHLO, upgrades with STARTTLS (tls starttls; implicit TLS
 * from the first byte), authenticates with the account's username and
 * password, then sends NOOP (a command with no recipient, so no mail can
 * go out) and QUIT when the handle is cleaned up. A handle of its own, not
 * the pool's: the session must end here, not be kept for reuse. */
static int smtp_test_connection(const struct channel_env *env, const struct channel_creds *creds,
                                struct channel_test_result *out, struct err *e)
{
    const char *host = channel_creds_get(creds, "host"), *tls = channel_creds_get(creds, "tls");
    const char *from = channel_creds_get(creds, "from_email");
    long timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 10000L;
    struct smtp_reply reply = {{0}};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct buf url = {0};
    CURL *c = NULL;
    long code = 0;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!tls)
        tls = "starttls";
    if (!host || !*host) {
        snprintf(out->detail, sizeof out->detail, "the account has no SMTP host");
        snprintf(out->code, sizeof out->code, "channel_misconfigured");
        return 0;
    }
    pthread_once(&channel__curl_once, channel__curl_init);
    if (!(c = curl_easy_init())) {
        rc = err_set(e, ERR_NOMEM, NULL, "curl_easy_init failed");
        goto out;
    }
    smtp__session(c, &url, creds, tls, from && strchr(from, '@') ? strchr(from, '@') + 1 : "localhost", timeout_ms,
                  &reply, errbuf);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, smtp__discard_cb);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 400 && code < 600)
        snprintf(out->code, sizeof out->code, "%ld", code);
    if (cc == CURLE_OK) {
        out->ok = 1;
        snprintf(out->detail, sizeof out->detail, "SMTP server %.120s accepted the session (%s%s)", host,
                 strcmp(tls, "none") == 0 ? "no TLS" : strcmp(tls, "implicit") == 0 ? "implicit TLS" : "STARTTLS",
                 channel_creds_get(creds, "username") ? ", signed in" : ", no login configured");
    } else if (cc == CURLE_LOGIN_DENIED) {
        snprintf(out->detail, sizeof out->detail, "the SMTP server refused the login: %.200s",
                 reply.line[0] ? reply.line : errbuf[0] ? errbuf : curl_easy_strerror(cc));
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(out->code, sizeof out->code, "provider_timeout");
        snprintf(out->detail, sizeof out->detail, "the SMTP server did not answer within %ld ms", timeout_ms);
        rc = err_set(e, ERR_TIMEOUT, "provider_timeout", "%s", out->detail);
    } else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(out->code, sizeof out->code, "provider_unreachable");
        snprintf(out->detail, sizeof out->detail, "could not connect: %.200s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = err_set(e, ERR_UPSTREAM, "provider_unreachable", "%s", out->detail);
    } else {
        /* TLS refused or failed, a reply we cannot go on from: the server answered. */
        if (!out->code[0])
            snprintf(out->code, sizeof out->code, "smtp_error");
        snprintf(out->detail, sizeof out->detail, "the SMTP session failed: %.200s",
                 reply.line[0] ? reply.line : errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
out:
    if (c)
        curl_easy_cleanup(c); /* sends QUIT */
    buf_free(&url);
    return rc;
}

const struct channel_adapter channel_smtp = {
    .name = "smtp",
    .caps = {.max_text_len = 512 * 1024,
             .media_types = "*/*",
             .max_media_bytes = SMTP_MAX_MEDIA_BYTES,
             .window_ms = 0},
    .verify = NULL,
    .handshake = NULL,
    .parse = NULL, /* no webhooks: the pipeline answers 404 no_webhook */
    .send = smtp_send,
    .list_templates = NULL,
    .fetch_media = NULL,
    .test_connection = smtp_test_connection,
};
