/*
 * assistant_llm: the OpenAI-compatible chat-completions client (OpenAI,
 * llama.cpp's server, Ollama, LM Studio and vLLM all speak it at
 * {base}/chat/completions).
 *
 * Non-streaming answers are one chat.completion object; streaming ones are
 * server-sent events of chat.completion.chunk objects ending in
 * "data: [DONE]". The SSE parser and the body parsers are pure functions
 * over bytes (fuzzed by fuzz/fuzz_sse.c); only assistant_llm_chat touches
 * the network. The API key goes into one header and nowhere else: error
 * messages quote the provider's message, never the request.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "assistant/assistant.h"

#define LLM_DEFAULT_CONNECT_MS 5000L
#define LLM_DEFAULT_TIMEOUT_MS 60000L
#define LLM_DEFAULT_ATTEMPTS 3
#define LLM_DEFAULT_BACKOFF_MS 500L
#define LLM_DEFAULT_BACKOFF_MAX_MS 8000L

static pthread_once_t llm__curl_once = PTHREAD_ONCE_INIT;

static void llm__curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void assistant_llm_result_free(struct assistant_llm_result *r)
{
    if (r)
        buf_free(&r->content);
}

static void llm__result_reset(struct assistant_llm_result *r)
{
    buf_reset(&r->content);
    r->model[0] = '\0';
    r->finish_reason[0] = '\0';
    r->prompt_tokens = -1;
    r->completion_tokens = -1;
    r->done = 0;
}

/* ------------------------------------------------------------- request */

void assistant_llm_body(const struct assistant_llm_config *cfg, const struct assistant_llm_request *req,
                        struct buf *out)
{
    buf_puts(out, "{\"model\":");
    buf_json_str(out, cfg->model ? cfg->model : "");
    buf_puts(out, ",\"messages\":[");
    for (int i = 0; i < req->nmessages; i++) {
        buf_puts(out, i ? ",{\"role\":" : "{\"role\":");
        buf_json_str(out, req->messages[i].role ? req->messages[i].role : "user");
        buf_puts(out, ",\"content\":");
        buf_json_str(out, req->messages[i].content ? req->messages[i].content : "");
        buf_putc(out, '}');
    }
    buf_putc(out, ']');
    if (req->temperature >= 0)
        buf_printf(out, ",\"temperature\":%.3g", req->temperature);
    if (req->max_tokens > 0)
        buf_printf(out, ",\"max_tokens\":%d", req->max_tokens);
    if (req->stream) {
        /* include_usage asks OpenAI (and vLLM) for a final usage chunk;
         * servers that do not know it ignore it. */
        buf_puts(out, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    } else {
        buf_puts(out, ",\"stream\":false");
    }
    buf_putc(out, '}');
}

/* -------------------------------------------------------- body parsing */

static void llm__copy(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s ? s : "");
}

/* Keep a message printable on one line: control characters become spaces. */
static void llm__one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

static void llm__error_from(const cJSON *root, char *out, size_t outlen)
{
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(root, "error");
    out[0] = '\0';
    if (cJSON_IsString(er))
        llm__copy(out, outlen, er->valuestring);
    else if (cJSON_IsObject(er))
        llm__copy(out, outlen, json_str(er, "message"));
    llm__one_line(out);
}

void assistant_llm_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *root = NULL;
    out[0] = '\0';
    if (!body || json_parse(&root, body, len, NULL) != 0)
        return;
    if (cJSON_IsObject(root))
        llm__error_from(root, out, outlen);
    cJSON_Delete(root);
}

static void llm__usage(const cJSON *root, struct assistant_llm_result *out)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    int64_t v;
    if (!cJSON_IsObject(u))
        return;
    if (json_int(u, "prompt_tokens", &v) == 0 && v >= 0)
        out->prompt_tokens = v;
    if (json_int(u, "completion_tokens", &v) == 0 && v >= 0)
        out->completion_tokens = v;
}

static void llm__model(const cJSON *root, struct assistant_llm_result *out)
{
    const char *m = json_str(root, "model");
    if (m && *m)
        llm__copy(out->model, sizeof out->model, m);
}

static const cJSON *llm__choice0(const cJSON *root)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *c0 = cJSON_IsArray(ch) ? cJSON_GetArrayItem(ch, 0) : NULL;
    return cJSON_IsObject(c0) ? c0 : NULL;
}

int assistant_llm_parse_response(const char *body, size_t len, struct assistant_llm_result *out, struct err *e)
{
    int rc = 0;
    cJSON *root = NULL;
    char msg[160];
    llm__result_reset(out);
    if (!body || json_parse(&root, body, len, NULL) != 0 || !cJSON_IsObject(root)) {
        rc = err_set(e, ERR_UPSTREAM, "llm_bad_response", "the LLM answered with a body that is not JSON");
        goto out;
    }
    llm__error_from(root, msg, sizeof msg);
    if (msg[0]) {
        rc = err_set(e, ERR_UPSTREAM, "llm_bad_response", "the LLM answered with an error: %s", msg);
        goto out;
    }
    const cJSON *c0 = llm__choice0(root);
    const cJSON *m = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "message") : NULL;
    const cJSON *content = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "content") : NULL;
    if (!cJSON_IsString(content)) {
        rc = err_set(e, ERR_UPSTREAM, "llm_bad_response", "the LLM answer has no choices[0].message.content");
        goto out;
    }
    buf_puts(&out->content, content->valuestring);
    llm__copy(out->finish_reason, sizeof out->finish_reason, json_str(c0, "finish_reason"));
    llm__model(root, out);
    llm__usage(root, out);
out:
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------ SSE */

static int sse__line(struct assistant_sse *s, const char *l, size_t n, assistant_sse_cb cb, void *ud)
{
    if (n == 0) { /* blank line: dispatch */
        int rc = 0;
        if (s->have_data) {
            buf_puts(&s->data, "");
            rc = cb(ud, s->data.data, s->data.len);
        }
        buf_reset(&s->data);
        s->have_data = 0;
        return rc;
    }
    if (l[0] == ':')
        return 0; /* comment (keep-alives) */
    size_t colon = 0;
    while (colon < n && l[colon] != ':')
        colon++;
    if (colon != 4 || memcmp(l, "data", 4) != 0)
        return 0; /* event, id, retry, unknown fields: not used here */
    const char *v = l + 5;
    size_t vn = n - 5;
    if (colon == n) { /* "data" alone: an empty value */
        v = l + n;
        vn = 0;
    } else if (vn && *v == ' ') {
        v++;
        vn--;
    }
    if (s->data.len + vn + 1 > ASSISTANT_SSE_MAX)
        return ERR_TOOLARGE;
    if (s->have_data)
        buf_putc(&s->data, '\n');
    buf_append(&s->data, v, vn);
    s->have_data = 1;
    return 0;
}

int assistant_sse_feed(struct assistant_sse *s, const char *bytes, size_t n, assistant_sse_cb cb, void *ud)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = bytes[i];
        if (c != '\n' && c != '\r') {
            s->last_cr = 0;
            continue;
        }
        if (c == '\n' && s->last_cr && i == start && s->line.len == 0) {
            /* the LF of a CRLF whose CR ended the previous line */
            s->last_cr = 0;
            start = i + 1;
            continue;
        }
        int rc;
        if (s->line.len) {
            if (s->line.len + (i - start) > ASSISTANT_SSE_MAX)
                return ERR_TOOLARGE;
            buf_append(&s->line, bytes + start, i - start);
            rc = sse__line(s, s->line.data, s->line.len, cb, ud);
            buf_reset(&s->line);
        } else {
            rc = sse__line(s, bytes + start, i - start, cb, ud);
        }
        s->last_cr = c == '\r';
        start = i + 1;
        if (rc)
            return rc;
    }
    if (start < n) {
        if (s->line.len + (n - start) > ASSISTANT_SSE_MAX)
            return ERR_TOOLARGE;
        buf_append(&s->line, bytes + start, n - start);
    }
    return 0;
}

int assistant_sse_finish(struct assistant_sse *s, assistant_sse_cb cb, void *ud)
{
    int rc = 0;
    if (s->line.len) {
        rc = sse__line(s, s->line.data, s->line.len, cb, ud);
        buf_reset(&s->line);
        if (rc)
            return rc;
    }
    return sse__line(s, "", 0, cb, ud);
}

void assistant_sse_free(struct assistant_sse *s)
{
    if (!s)
        return;
    buf_free(&s->line);
    buf_free(&s->data);
}

/* ------------------------------------------------------------- stream */

void assistant_llm_stream_init(struct assistant_llm_stream *s, struct assistant_llm_result *out,
                               assistant_llm_delta_cb on_delta, void *ud)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    s->on_delta = on_delta;
    s->ud = ud;
    llm__result_reset(out);
}

#define STREAM_STOP 1 /* positive: a refusal whose reason is in s->err */

static int stream__event(void *ud, const char *data, size_t len)
{
    struct assistant_llm_stream *s = ud;
    struct assistant_llm_result *out = s->out;
    cJSON *root = NULL;
    char msg[160];
    int rc = 0;

    if (out->done)
        return 0; /* anything after [DONE] is ignored */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        out->done = 1;
        return 0;
    }
    if (json_parse(&root, data, len, NULL) != 0 || !cJSON_IsObject(root)) {
        err_set(&s->err, ERR_UPSTREAM, "llm_bad_response", "the LLM stream carried a chunk that is not a JSON object");
        rc = STREAM_STOP;
        goto out;
    }
    llm__error_from(root, msg, sizeof msg);
    if (msg[0]) {
        err_set(&s->err, ERR_UPSTREAM, "llm_bad_response", "the LLM stream ended with an error: %s", msg);
        rc = STREAM_STOP;
        goto out;
    }
    llm__model(root, out);
    llm__usage(root, out);
    const cJSON *c0 = llm__choice0(root);
    if (!c0)
        goto out; /* the usage chunk has "choices": [] */
    const char *fr = json_str(c0, "finish_reason");
    if (fr && *fr)
        llm__copy(out->finish_reason, sizeof out->finish_reason, fr);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c0, "delta");
    const char *piece = cJSON_IsObject(d) ? json_str(d, "content") : NULL;
    if (piece && *piece) {
        size_t n = strlen(piece);
        buf_append(&out->content, piece, n);
        s->ndelta++;
        if (s->on_delta && s->on_delta(s->ud, piece, n) != 0) {
            err_set(&s->err, ERR_INVALID, "llm_cancelled", "the caller cancelled the stream");
            rc = STREAM_STOP;
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

static int stream__rc(struct assistant_llm_stream *s, int rc, struct err *e)
{
    if (rc == STREAM_STOP) {
        if (e)
            *e = s->err;
        return s->err.code;
    }
    if (rc == ERR_TOOLARGE)
        return err_set(e, ERR_TOOLARGE, "llm_too_large", "an event of the LLM stream is over %d bytes",
                       ASSISTANT_SSE_MAX);
    return rc;
}

int assistant_llm_stream_feed(struct assistant_llm_stream *s, const char *bytes, size_t n, struct err *e)
{
    if (s->err.code)
        return stream__rc(s, STREAM_STOP, e);
    return stream__rc(s, assistant_sse_feed(&s->sse, bytes, n, stream__event, s), e);
}

int assistant_llm_stream_end(struct assistant_llm_stream *s, struct err *e)
{
    if (s->err.code)
        return stream__rc(s, STREAM_STOP, e);
    int rc = stream__rc(s, assistant_sse_finish(&s->sse, stream__event, s), e);
    if (rc)
        return rc;
    if (!s->out->done && !s->out->finish_reason[0])
        return err_set(e, ERR_UPSTREAM, "llm_bad_response", "the LLM stream stopped before its end");
    return 0;
}

void assistant_llm_stream_free(struct assistant_llm_stream *s)
{
    if (s)
        assistant_sse_free(&s->sse);
}

/* --------------------------------------------------------------- client */

struct llm__xfer {
    struct buf body;              /* non-streaming, or an error body */
    size_t max;
    int overflow;
    long status;
    long retry_after_s;           /* -1: none */
    struct assistant_llm_stream *stream; /* set for a 2xx streaming answer */
    int stream_rc;
    struct err stream_err;
};

static size_t llm__header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct llm__xfer *x = ud;
    size_t n = size * nmemb;
    if (n > 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new response (after a 100 Continue, say): forget the old headers */
        x->retry_after_s = -1;
    } else if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char tmp[32];
        size_t k = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, k);
        tmp[k] = '\0';
        char *end;
        long v = strtol(tmp, &end, 10);
        if (end != tmp && v >= 0 && v < 86400)
            x->retry_after_s = v;
    }
    return n;
}

static size_t llm__write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct llm__xfer *x = ud;
    size_t n = size * nmemb;
    if (x->stream && x->status >= 200 && x->status < 300) {
        if (x->body.len + n > x->max) {
            x->overflow = 1;
            return 0;
        }
        x->body.len += n; /* count only: the stream keeps the content */
        x->stream_rc = assistant_llm_stream_feed(x->stream, p, n, &x->stream_err);
        return x->stream_rc ? 0 : n;
    }
    if (x->body.len + n > x->max) {
        x->overflow = 1;
        return 0;
    }
    buf_append(&x->body, p, n);
    return n;
}

struct llm__ctx {
    CURL *c;
    struct llm__xfer x;
};

/* The status is known once the headers are in; the write callback needs
 * it to tell a stream from an error body. */
static size_t llm__write_status_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct llm__ctx *ctx = ud;
    if (ctx->x.status == 0)
        curl_easy_getinfo(ctx->c, CURLINFO_RESPONSE_CODE, &ctx->x.status);
    return llm__write_cb(p, size, nmemb, &ctx->x);
}

static long llm__backoff(const struct assistant_llm_config *cfg, int attempt)
{
    long base = cfg->backoff_base_ms > 0 ? cfg->backoff_base_ms : LLM_DEFAULT_BACKOFF_MS;
    long cap = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : LLM_DEFAULT_BACKOFF_MAX_MS;
    long d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    /* "equal jitter": half fixed, half random, so waits never collapse to 0 */
    uint32_t r = 0;
    crypto_random_fast(&r, sizeof r);
    return d / 2 + (long)(r % (uint32_t)(d / 2 + 1));
}

static void llm__sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Classify a finished attempt: 0 success; else an error in e and *retry. */
static int llm__attempt_result(const struct assistant_llm_config *cfg, CURLcode cc, struct llm__xfer *x,
                               const struct assistant_llm_request *req, struct assistant_llm_result *out,
                               int *retry, long *wait_ms, struct err *e)
{
    char msg[160] = "";
    long timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : LLM_DEFAULT_TIMEOUT_MS;
    *retry = 0;
    *wait_ms = -1;
    if (x->overflow)
        return err_set(e, ERR_TOOLARGE, "llm_too_large", "the LLM answer is over %zu bytes", x->max);
    if (x->stream_rc) {
        if (e)
            *e = x->stream_err;
        return x->stream_rc;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        *retry = 1;
        return err_set(e, ERR_TIMEOUT, "llm_timeout", "the LLM did not answer within %ld ms", timeout_ms);
    }
    if (cc != CURLE_OK) {
        *retry = 1;
        return err_set(e, ERR_UPSTREAM, "llm_unreachable", "the LLM could not be reached: %s",
                       curl_easy_strerror(cc));
    }
    long st = x->status;
    if (st >= 200 && st < 300) {
        if (req->stream)
            return assistant_llm_stream_end(x->stream, e);
        return assistant_llm_parse_response(x->body.data, x->body.len, out, e);
    }
    assistant_llm_error_message(x->body.data, x->body.len, msg, sizeof msg);
    const char *sep = msg[0] ? ": " : "";
    if (st == 429) {
        *retry = 1;
        if (x->retry_after_s >= 0)
            *wait_ms = x->retry_after_s * 1000;
        return err_set(e, ERR_RATELIMIT, "llm_rate_limited", "the LLM is rate limited (HTTP 429)%s%s", sep, msg);
    }
    if (st >= 500) {
        *retry = 1;
        return err_set(e, ERR_UPSTREAM, "llm_server_error", "the LLM failed (HTTP %ld)%s%s", st, sep, msg);
    }
    if (st == 401 || st == 403)
        return err_set(e, st == 401 ? ERR_UNAUTHORIZED : ERR_FORBIDDEN, "llm_unauthorized",
                       "the LLM refused the API key (HTTP %ld)%s%s", st, sep, msg);
    if (st == 404)
        return err_set(e, ERR_NOTFOUND, "llm_rejected", "the LLM has no such model or endpoint (HTTP 404)%s%s", sep,
                       msg);
    return err_set(e, ERR_INVALID, "llm_rejected", "the LLM refused the request (HTTP %ld)%s%s", st, sep, msg);
}

int assistant_llm_chat(const struct assistant_llm_config *cfg, const struct assistant_llm_request *req,
                       struct assistant_llm_result *out, struct err *e)
{
    int rc = 0;
    struct buf body = {0}, url = {0};
    struct curl_slist *hdrs = NULL;
    struct llm__ctx ctx = {0};
    struct assistant_llm_stream stream;
    int64_t t0 = time_mono_ns();

    memset(&stream, 0, sizeof stream);
    llm__result_reset(out);
    out->attempts = 0;
    out->http_status = 0;
    if (!cfg || !cfg->base_url || !*cfg->base_url || !cfg->model || !*cfg->model || !req || req->nmessages <= 0 ||
        !req->messages)
        return err_set(e, ERR_INVALID, "invalid_request", "an LLM call needs a base URL, a model and messages");
    if (strncmp(cfg->base_url, "http://", 7) != 0 && strncmp(cfg->base_url, "https://", 8) != 0)
        return err_set(e, ERR_INVALID, "invalid_request", "the LLM base URL must start with http:// or https://");

    pthread_once(&llm__curl_once, llm__curl_init);
    size_t blen = strlen(cfg->base_url);
    while (blen && cfg->base_url[blen - 1] == '/')
        blen--;
    buf_append(&url, cfg->base_url, blen);
    buf_puts(&url, "/chat/completions");
    assistant_llm_body(cfg, req, &body);

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    hdrs = curl_slist_append(hdrs, req->stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (cfg->api_key && *cfg->api_key) {
        struct buf h = {0};
        buf_printf(&h, "Authorization: Bearer %s", cfg->api_key);
        hdrs = curl_slist_append(hdrs, h.data);
        memset(h.data, 0, h.len);
        buf_free(&h);
    }
    ctx.c = curl_easy_init();
    if (!ctx.c || !hdrs) {
        rc = err_set(e, ERR_NOMEM, NULL, "could not set up the LLM request");
        goto out;
    }

    int attempts = cfg->max_attempts > 0 ? cfg->max_attempts : LLM_DEFAULT_ATTEMPTS;
    long cap = cfg->backoff_max_ms > 0 ? cfg->backoff_max_ms : LLM_DEFAULT_BACKOFF_MAX_MS;
    for (int a = 1; a <= attempts; a++) {
        int retry = 0;
        long wait_ms = -1;
        struct err ae;
        err_clear(&ae);
        buf_reset(&ctx.x.body);
        ctx.x.max = cfg->max_response ? cfg->max_response : ASSISTANT_LLM_MAX_RESPONSE;
        ctx.x.overflow = 0;
        ctx.x.status = 0;
        ctx.x.retry_after_s = -1;
        ctx.x.stream_rc = 0;
        ctx.x.stream = NULL;
        if (req->stream) {
            assistant_llm_stream_free(&stream);
            assistant_llm_stream_init(&stream, out, req->on_delta, req->ud);
            ctx.x.stream = &stream;
        }
        curl_easy_reset(ctx.c);
        curl_easy_setopt(ctx.c, CURLOPT_URL, url.data);
        curl_easy_setopt(ctx.c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(ctx.c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(ctx.c, CURLOPT_POST, 1L);
        curl_easy_setopt(ctx.c, CURLOPT_POSTFIELDS, body.data);
        curl_easy_setopt(ctx.c, CURLOPT_POSTFIELDSIZE, (long)body.len);
        curl_easy_setopt(ctx.c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(ctx.c, CURLOPT_CONNECTTIMEOUT_MS,
                         cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : LLM_DEFAULT_CONNECT_MS);
        curl_easy_setopt(ctx.c, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : LLM_DEFAULT_TIMEOUT_MS);
        curl_easy_setopt(ctx.c, CURLOPT_WRITEFUNCTION, llm__write_status_cb);
        curl_easy_setopt(ctx.c, CURLOPT_WRITEDATA, &ctx);
        curl_easy_setopt(ctx.c, CURLOPT_HEADERFUNCTION, llm__header_cb);
        curl_easy_setopt(ctx.c, CURLOPT_HEADERDATA, &ctx.x);
        CURLcode cc = curl_easy_perform(ctx.c);
        long st = 0;
        curl_easy_getinfo(ctx.c, CURLINFO_RESPONSE_CODE, &st);
        if (ctx.x.status == 0)
            ctx.x.status = st;
        out->attempts = a;
        out->http_status = (int)st;
        rc = llm__attempt_result(cfg, cc, &ctx.x, req, out, &retry, &wait_ms, &ae);
        if (rc == 0)
            break;
        if (e)
            *e = ae;
        /* Content already shown to the caller cannot be taken back. */
        if (req->stream && stream.ndelta > 0)
            retry = 0;
        if (!retry || a == attempts)
            break;
        if (wait_ms > cap) {
            /* Retry-After asks for longer than we may wait: give up now. */
            if (e)
                snprintf(e->msg, sizeof e->msg, "the LLM is rate limited for %lds (HTTP 429)", ctx.x.retry_after_s);
            break;
        }
        llm__sleep_ms(wait_ms >= 0 ? wait_ms : llm__backoff(cfg, a));
    }
out:
    out->latency_ms = (time_mono_ns() - t0) / 1000000;
    assistant_llm_stream_free(&stream);
    if (ctx.c)
        curl_easy_cleanup(ctx.c);
    curl_slist_free_all(hdrs);
    buf_free(&ctx.x.body);
    buf_free(&body);
    buf_free(&url);
    return rc;
}
