/*
 * test_assistant_llm: the assistant's providers and intents through
 * assistant.h, no database. The chat-completions client against
 * tests/fakes/fake_llm.py over loopback (answers, streams, usage, the
 * request it sends, 429 then success, 5xx retries exhausted, 4xx not
 * retried, timeouts, malformed bodies); the SSE parser on recorded streams
 * split at every byte; the circuit breaker on an injected clock; the
 * breaker and the extractive fallback together against the fake; the
 * extractive answerer; the intent classifier's accuracy on a labelled set.
 * Needs SB_SOURCE_DIR and python3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assistant/assistant.h"
#include "test.h"
#include "test_fake.h"

static struct fake llm;
static char base_url[128];

static struct assistant_llm_config cfg_fast(void)
{
    struct assistant_llm_config c = {
        .base_url = base_url,
        .model = "gpt-4o-mini",
        .api_key = "sk-test-SECRET",
        .connect_timeout_ms = 1000,
        .timeout_ms = 2000,
        .max_attempts = 3,
        .backoff_base_ms = 20,
        .backoff_max_ms = 2000,
    };
    return c;
}

static const struct assistant_llm_message msgs[] = {
    {"system", "You answer from the shop's knowledge."},
    {"user", "When do you open on Sunday?"},
};

static struct assistant_llm_request req_plain(void)
{
    struct assistant_llm_request r = {.messages = msgs, .nmessages = 2, .temperature = 0.2, .max_tokens = 200};
    return r;
}

static void reset_fake(const char *mode_json)
{
    fake_mode(&llm, "{\"mode\":\"ok\",\"answer\":null,\"fail_times\":null,\"requests\":[],\"retry_after\":1,"
                    "\"delay\":2.0}");
    if (mode_json)
        fake_mode(&llm, mode_json);
}

static int nrequests(void)
{
    cJSON *r = fake_requests(&llm);
    int n = r ? cJSON_GetArraySize(r) : -1;
    cJSON_Delete(r);
    return n;
}

/* ------------------------------------------------------------- client */

static void test_assistant_llm__answer(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    reset_fake("{\"answer\":\"We open at 10 on Sundays.\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_STR(out.content.data, "We open at 10 on Sundays.");
    CHECK_EQ_STR(out.model, "gpt-4o-mini");
    CHECK_EQ_STR(out.finish_reason, "stop");
    CHECK_EQ_INT(out.prompt_tokens, 12); /* words of both messages, as the fake counts */
    CHECK_EQ_INT(out.completion_tokens, 6);
    CHECK_EQ_INT(out.http_status, 200);
    CHECK_EQ_INT(out.attempts, 1);
    CHECK(out.latency_ms >= 0 && out.latency_ms < 2000);

    /* What went over the wire. */
    cJSON *root = NULL;
    cJSON *last = fake_last(&llm, &root);
    CHECK(last != NULL);
    if (last) {
        CHECK_EQ_STR(json_str(last, "path"), "/v1/chat/completions");
        CHECK_EQ_STR(json_str(last, "authorization"), "Bearer sk-test-SECRET");
        CHECK_EQ_STR(json_str(last, "content_type"), "application/json");
        const cJSON *b = cJSON_GetObjectItem(last, "body");
        CHECK_EQ_STR(json_str(b, "model"), "gpt-4o-mini");
        CHECK(cJSON_IsFalse(cJSON_GetObjectItem(b, "stream")));
        int64_t mt = 0;
        CHECK(json_int(b, "max_tokens", &mt) == 0 && mt == 200);
        const cJSON *t = cJSON_GetObjectItem(b, "temperature");
        CHECK(cJSON_IsNumber(t) && t->valuedouble > 0.19 && t->valuedouble < 0.21);
        const cJSON *m = cJSON_GetObjectItem(b, "messages");
        CHECK_EQ_INT(cJSON_GetArraySize(m), 2);
        CHECK_EQ_STR(json_str(cJSON_GetArrayItem(m, 1), "role"), "user");
        CHECK_EQ_STR(json_str(cJSON_GetArrayItem(m, 1), "content"), "When do you open on Sunday?");
    }
    cJSON_Delete(root);

    /* No key: no Authorization header; a trailing slash on the base is fine;
     * the fake's default answer echoes the last user message. */
    char slash[160];
    snprintf(slash, sizeof slash, "%s/", base_url);
    c.base_url = slash;
    c.api_key = NULL;
    reset_fake(NULL);
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_STR(out.content.data, "Echo: When do you open on Sunday?");
    last = fake_last(&llm, &root);
    CHECK(last && cJSON_IsNull(cJSON_GetObjectItem(last, "authorization")));
    cJSON_Delete(root);
    assistant_llm_result_free(&out);
}

struct deltas {
    struct buf all;
    int n;
};

static int on_delta(void *ud, const char *text, size_t len)
{
    struct deltas *d = ud;
    buf_append(&d->all, text, len);
    d->n++;
    return 0;
}

static void test_assistant_llm__stream(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct deltas d = {0};
    struct err e;
    r.stream = 1;
    r.on_delta = on_delta;
    r.ud = &d;
    reset_fake("{\"answer\":\"Sundays from 10 to 14.\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_STR(out.content.data, "Sundays from 10 to 14.");
    CHECK_EQ_STR(d.all.data, "Sundays from 10 to 14.");
    CHECK_EQ_INT(d.n, 5); /* one chunk per word */
    CHECK_EQ_INT(out.done, 1);
    CHECK_EQ_STR(out.finish_reason, "stop");
    CHECK_EQ_STR(out.model, "gpt-4o-mini");
    CHECK_EQ_INT(out.prompt_tokens, 12);
    CHECK_EQ_INT(out.completion_tokens, 5);
    cJSON *root = NULL;
    cJSON *last = fake_last(&llm, &root);
    const cJSON *b = last ? cJSON_GetObjectItem(last, "body") : NULL;
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(b, "stream")));
    CHECK_EQ_STR(json_str(last, "accept"), "text/event-stream");
    cJSON_Delete(root);

    /* A stream that stalls after its first chunk times out, and is not
     * retried: the caller has already seen content. */
    buf_reset(&d.all);
    d.n = 0;
    c.timeout_ms = 500;
    reset_fake("{\"mode\":\"hang_stream\",\"delay\":3}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_TIMEOUT);
    CHECK_EQ_STR(e.slug, "llm_timeout");
    CHECK_EQ_INT(out.attempts, 1);
    CHECK_EQ_INT(d.n, 1);
    buf_free(&d.all);
    assistant_llm_result_free(&out);
}

static void test_assistant_llm__retry_after_429(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    reset_fake("{\"mode\":\"429\",\"retry_after\":1,\"fail_times\":1,\"answer\":\"ok now\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_STR(out.content.data, "ok now");
    CHECK_EQ_INT(out.attempts, 2);
    CHECK(out.latency_ms >= 1000); /* Retry-After: 1 was honoured */
    CHECK_EQ_INT(nrequests(), 2);

    /* A Retry-After longer than the client may wait: no second try. */
    reset_fake("{\"mode\":\"429\",\"retry_after\":30}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_RATELIMIT);
    CHECK_EQ_STR(e.slug, "llm_rate_limited");
    CHECK_EQ_INT(out.attempts, 1);
    CHECK(out.latency_ms < 1000);
    assistant_llm_result_free(&out);
}

static void test_assistant_llm__5xx_exhausted(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    reset_fake("{\"mode\":\"500\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(e.slug, "llm_server_error");
    CHECK(strstr(e.msg, "HTTP 500") != NULL);
    CHECK(strstr(e.msg, "The server had an error") != NULL);
    CHECK(strstr(e.msg, "SECRET") == NULL);
    CHECK_EQ_INT(out.attempts, 3);
    CHECK_EQ_INT(out.http_status, 500);
    CHECK_EQ_INT(nrequests(), 3);

    /* Two failures then recovery: the third try answers. */
    reset_fake("{\"mode\":\"500\",\"fail_times\":2}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_INT(out.attempts, 3);

    /* A connection dropped without an answer is retried too. */
    reset_fake("{\"mode\":\"close\",\"fail_times\":1}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    CHECK_EQ_INT(out.attempts, 2);
    assistant_llm_result_free(&out);
}

static void test_assistant_llm__4xx_not_retried(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    reset_fake("{\"mode\":\"400\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "llm_rejected");
    CHECK(strstr(e.msg, "maximum context length") != NULL);
    CHECK_EQ_INT(out.attempts, 1);
    CHECK_EQ_INT(nrequests(), 1);

    /* A wrong base URL: 404 in OpenAI's shape, not retried. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/v2", llm.base);
    c.base_url = bad;
    reset_fake(NULL);
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_NOTFOUND);
    CHECK_EQ_STR(e.slug, "llm_rejected");
    CHECK(strstr(e.msg, "Unknown path") != NULL);
    CHECK_EQ_INT(out.attempts, 1);
    /* llama.cpp's server (and the fake) also serve it without /v1. */
    snprintf(bad, sizeof bad, "%s/", llm.base);
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    c.base_url = base_url;
    c.model = "";
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_request");
    assistant_llm_result_free(&out);
}

static void test_assistant_llm__unauthorized(void)
{
    struct fake keyed;
    const char *args[] = {"--api-key", "sk-right", NULL};
    CHECK_EQ_INT(fake_start(&keyed, "fake_llm.py", args), 0);
    char url[128];
    snprintf(url, sizeof url, "%s/v1", keyed.base);
    struct assistant_llm_config c = cfg_fast();
    c.base_url = url;
    c.api_key = "sk-wrong-SECRET";
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_UNAUTHORIZED);
    CHECK_EQ_STR(e.slug, "llm_unauthorized");
    CHECK(strstr(e.msg, "Incorrect API key") != NULL);
    CHECK(strstr(e.msg, "SECRET") == NULL);
    CHECK_EQ_INT(out.attempts, 1);
    c.api_key = "sk-right";
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), 0);
    fake_stop(&keyed);
    assistant_llm_result_free(&out);
}

static void test_assistant_llm__timeout_and_malformed(void)
{
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_llm_result out = {0};
    struct err e;
    c.timeout_ms = 300;
    c.max_attempts = 2;
    reset_fake("{\"mode\":\"slow\",\"delay\":1.5}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_TIMEOUT);
    CHECK_EQ_STR(e.slug, "llm_timeout");
    CHECK_EQ_INT(out.attempts, 2);
    CHECK(out.latency_ms >= 600 && out.latency_ms < 1500);

    c = cfg_fast();
    c.max_attempts = 1;
    reset_fake("{\"mode\":\"malformed\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(e.slug, "llm_bad_response");

    /* The response cap. */
    c.max_response = 64;
    reset_fake("{\"answer\":\"a long answer that will not fit in sixty-four bytes of JSON at all\"}");
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_TOOLARGE);
    CHECK_EQ_STR(e.slug, "llm_too_large");

    /* Nobody listening: unreachable, retried, then given up. */
    c = cfg_fast();
    c.base_url = "http://127.0.0.1:1/v1";
    c.max_attempts = 2;
    CHECK_EQ_INT(assistant_llm_chat(&c, &r, &out, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(e.slug, "llm_unreachable");
    CHECK_EQ_INT(out.attempts, 2);
    assistant_llm_result_free(&out);
}

/* ------------------------------------------------------------ parsers */

struct stream_case {
    const char *name;
    const char *bytes;
    const char *content;
    int64_t prompt, completion;
    const char *model;
};

/* Streams as the servers send them: OpenAI (usage chunk with
 * include_usage), llama.cpp's server (CRLF-free, timings, no role chunk
 * content), Ollama's OpenAI endpoint, and one with CRLF and comments. */
static const struct stream_case streams[] = {
    {"openai",
     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
     "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
     "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hola\"},\"finish_reason\":null}],\"usage\":null}\n\n"
     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
     "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" \\u00e1 \\\"x\\\"\"},\"finish_reason\":null}],\"usage\":null}\n\n"
     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
     "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\","
     "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
     "data: [DONE]\n\n",
     "Hola \xc3\xa1 \"x\"", 9, 3, "gpt-4o-mini-2024-07-18"},
    {"llamacpp",
     "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"Open\"}}],\"created\":1,"
     "\"id\":\"chatcmpl-a\",\"model\":\"qwen2.5-1.5b-instruct-q4_k_m.gguf\",\"object\":\"chat.completion.chunk\"}\n\n"
     "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\" at ten\"}}],\"created\":1,"
     "\"id\":\"chatcmpl-a\",\"model\":\"qwen2.5-1.5b-instruct-q4_k_m.gguf\",\"object\":\"chat.completion.chunk\"}\n\n"
     "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1,\"id\":\"chatcmpl-a\","
     "\"model\":\"qwen2.5-1.5b-instruct-q4_k_m.gguf\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":3,"
     "\"prompt_tokens\":20,\"total_tokens\":23},\"timings\":{\"prompt_n\":20,\"predicted_n\":3}}\n\n"
     "data: [DONE]\n\n",
     "Open at ten", 20, 3, "qwen2.5-1.5b-instruct-q4_k_m.gguf"},
    {"ollama",
     "data: {\"id\":\"chatcmpl-412\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3.2\","
     "\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Yes\"},"
     "\"finish_reason\":null}]}\n\n"
     "data: {\"id\":\"chatcmpl-412\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama3.2\","
     "\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\".\"},"
     "\"finish_reason\":\"stop\"}]}\n\n"
     "data: [DONE]\n\n",
     "Yes.", -1, -1, "llama3.2"},
    {"crlf_comments",
     ": ping\r\n\r\nevent: message\r\nid: 7\r\ndata: {\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
     "data:{\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\r\r"
     "data: [DONE]\r\n\r\n",
     "ab", -1, -1, "m"},
};

static int feed_split(const struct stream_case *sc, size_t step, struct assistant_llm_result *out, struct err *e)
{
    struct assistant_llm_stream s;
    size_t n = strlen(sc->bytes);
    int rc = 0;
    assistant_llm_stream_init(&s, out, NULL, NULL);
    for (size_t i = 0; i < n && rc == 0; i += step)
        rc = assistant_llm_stream_feed(&s, sc->bytes + i, i + step > n ? n - i : step, e);
    if (rc == 0)
        rc = assistant_llm_stream_end(&s, e);
    assistant_llm_stream_free(&s);
    return rc;
}

static void test_assistant_llm__sse_streams(void)
{
    struct assistant_llm_result out = {0};
    struct err e;
    for (size_t i = 0; i < sizeof streams / sizeof *streams; i++) {
        const struct stream_case *sc = &streams[i];
        size_t n = strlen(sc->bytes);
        /* Whole, then in chunks of every size (so every split point). */
        for (size_t step = n; step >= 1; step = step == n ? 7 : step - 1) {
            int rc = feed_split(sc, step, &out, &e);
            if (rc != 0 || strcmp(out.content.data ? out.content.data : "", sc->content) != 0) {
                fprintf(stderr, "stream %s, step %zu: rc %d (%s) content \"%s\"\n", sc->name, step, rc, e.msg,
                        out.content.data ? out.content.data : "");
                CHECK(0);
                break;
            }
            if (step == 1)
                break;
        }
        CHECK_EQ_INT(feed_split(sc, 1, &out, &e), 0);
        CHECK_EQ_STR(out.content.data, sc->content);
        CHECK_EQ_INT(out.prompt_tokens, sc->prompt);
        CHECK_EQ_INT(out.completion_tokens, sc->completion);
        CHECK_EQ_STR(out.model, sc->model);
    }

    /* A stream cut before [DONE] and before any finish_reason. */
    struct stream_case cut = {"cut", "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choi", "", 0, 0,
                              ""};
    CHECK_EQ_INT(feed_split(&cut, 5, &out, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(e.slug, "llm_bad_response");
    /* An error event mid-stream (what vLLM and OpenAI send). */
    struct stream_case er = {"err", "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", "", 0,
                             0, ""};
    CHECK_EQ_INT(feed_split(&er, 3, &out, &e), ERR_UPSTREAM);
    CHECK(strstr(e.msg, "overloaded") != NULL);
    /* A chunk that is not JSON. */
    struct stream_case bad = {"bad", "data: {\"choices\":\n\n", "", 0, 0, ""};
    CHECK_EQ_INT(feed_split(&bad, 2, &out, &e), ERR_UPSTREAM);

    /* Non-streaming bodies and error messages. */
    const char *ok = "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"llama3.2\",\"choices\":[{\"index\":0,"
                     "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"length\"}],"
                     "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1,\"total_tokens\":5}}";
    CHECK_EQ_INT(assistant_llm_parse_response(ok, strlen(ok), &out, &e), 0);
    CHECK_EQ_STR(out.content.data, "Hi");
    CHECK_EQ_STR(out.finish_reason, "length");
    CHECK_EQ_INT(out.prompt_tokens, 4);
    const char *nochoice = "{\"choices\":[]}";
    CHECK_EQ_INT(assistant_llm_parse_response(nochoice, strlen(nochoice), &out, &e), ERR_UPSTREAM);
    char msg[64];
    const char *ollama = "{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}";
    assistant_llm_error_message(ollama, strlen(ollama), msg, sizeof msg);
    CHECK_EQ_STR(msg, "model \"x\" not found, try pulling it first");
    assistant_llm_error_message("<html>", 6, msg, sizeof msg);
    CHECK_EQ_STR(msg, "");
    assistant_llm_result_free(&out);
}

static int collect_event(void *ud, const char *data, size_t len)
{
    struct buf *b = ud;
    buf_append(b, data, len);
    buf_putc(b, '|');
    return 0;
}

static void test_assistant_llm__sse_events(void)
{
    struct assistant_sse s = {0};
    struct buf got = {0};
    const char *in = "data: a\ndata: b\n\n:c\n\ndata\n\nretry: 5\ndata:  x\r\n\r\ndata: tail";
    CHECK_EQ_INT(assistant_sse_feed(&s, in, strlen(in), collect_event, &got), 0);
    CHECK_EQ_INT(assistant_sse_finish(&s, collect_event, &got), 0);
    CHECK_EQ_STR(got.data, "a\nb|| x|tail|");
    assistant_sse_free(&s);
    buf_free(&got);
}

/* ------------------------------------------------------------ breaker */

static int64_t fake_now;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static void test_assistant_llm__breaker(void)
{
    struct assistant_breaker *b = NULL;
    struct err e;
    fake_now = 1000;
    CHECK_EQ_INT(assistant_breaker_new(&b, 0, 10, fake_clock, NULL, &e), ERR_INVALID);
    CHECK_EQ_INT(assistant_breaker_new(&b, 3, 5000, fake_clock, NULL, &e), 0);
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_CLOSED);
    /* Failures interrupted by a success do not add up. */
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
        assistant_breaker_record(b, "p", 0);
    }
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    assistant_breaker_record(b, "p", 1);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
        assistant_breaker_record(b, "p", 0);
    }
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_OPEN);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), ERR_UPSTREAM);
    CHECK_EQ_STR(e.slug, "circuit_open");
    /* Another provider is not affected. */
    CHECK_EQ_INT(assistant_breaker_allow(b, "q", &e), 0);
    assistant_breaker_record(b, "q", 1);
    /* Cool-down over: one trial, the others fail fast; its failure reopens. */
    fake_now += 4999;
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), ERR_UPSTREAM);
    fake_now += 1;
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_HALF_OPEN);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), ERR_UPSTREAM);
    assistant_breaker_record(b, "p", 0);
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_OPEN);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), ERR_UPSTREAM);
    /* Next trial succeeds: closed, and failures count from zero again. */
    fake_now += 5000;
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    assistant_breaker_record(b, "p", 1);
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_CLOSED);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    assistant_breaker_record(b, "p", 0);
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_CLOSED);
    /* A trial that never reports back is given up after a cool-down. */
    assistant_breaker_record(b, "p", 0);
    assistant_breaker_record(b, "p", 0);
    CHECK_EQ_INT(assistant_breaker_state(b, "p"), ASSISTANT_BREAKER_OPEN);
    fake_now += 5000;
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), ERR_UPSTREAM);
    fake_now += 5000;
    CHECK_EQ_INT(assistant_breaker_allow(b, "p", &e), 0);
    assistant_breaker_record(b, "p", 1);
    CHECK_EQ_STR(assistant_breaker_state_name(assistant_breaker_state(b, "p")), "closed");
    assistant_breaker_free(b);
    assistant_breaker_free(NULL);
}

/* --------------------------------------------------------- extractive */

static const struct assistant_passage kb[] = {
    {101, "doc_hours", "Opening hours",
     "Q: When are you open?\nA: We open Monday to Saturday 9:00-19:00 and Sunday 10:00-14:00.", 7.5},
    {102, "doc_returns", "Returns", "You can return any product within 30 days for a full refund.", 6.1},
    {103, "doc_envios", "Envíos", "Los envíos a toda España tardan entre 24 y 48 horas.", 0.5},
};

static void test_assistant_llm__extractive(void)
{
    struct assistant_extract_result r = {0};
    struct assistant_extract_config cfg = {.min_score = 1.0, .min_coverage = 0.5, .max_passages = 1};
    struct err e;
    struct buf t = {0};

    /* The terms the matching sees. */
    CHECK_EQ_INT(assistant_terms("Refunds for the RETURNED boxes? ¿Devoluciones y envíos?", &t), 5);
    CHECK_EQ_STR(t.data, "refund\nreturn\nbox\ndevolucion\nenvi\n");
    buf_free(&t);

    CHECK_EQ_INT(assistant_extract(kb, 3, "When are you open on Sunday?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 1);
    CHECK_EQ_STR(r.text.data, "We open Monday to Saturday 9:00-19:00 and Sunday 10:00-14:00.");
    CHECK_EQ_INT(r.nused, 1);
    CHECK_EQ_INT(r.used[0], 101);
    CHECK(r.coverage >= 0.99);

    /* The second passage answers when the first does not cover the question. */
    CHECK_EQ_INT(assistant_extract(kb, 3, "Can I get a refund?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 1);
    CHECK_EQ_INT(r.used[0], 102);

    /* Spanish, accents folded and plurals stemmed: "envío" finds "envíos",
     * but its score is under the threshold: hand over. */
    CHECK_EQ_INT(assistant_extract(kb + 2, 1, "¿Cuánto tarda un envío?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 0);
    CHECK(strstr(r.reason, "under the threshold") != NULL);
    cfg.min_score = 0;
    CHECK_EQ_INT(assistant_extract(kb + 2, 1, "¿Cuánto tarda un envío?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 1);
    CHECK_EQ_INT(r.used[0], 103);

    /* Not covered: hand over with the coverage in the reason. */
    CHECK_EQ_INT(assistant_extract(kb, 3, "Do you sell gift cards for birthdays?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 0);
    CHECK(strstr(r.reason, "coverage") != NULL);
    CHECK_EQ_INT(assistant_extract(kb, 0, "opening hours", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 0);
    CHECK_EQ_STR(r.reason, "no passage was retrieved");
    CHECK_EQ_INT(assistant_extract(kb, 3, "and the of?", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.answered, 0);

    /* Several passages when allowed; deterministic. */
    cfg.max_passages = 2;
    cfg.min_coverage = 0.3;
    CHECK_EQ_INT(assistant_extract(kb, 3, "open hours and refund", &cfg, &r, &e), 0);
    CHECK_EQ_INT(r.nused, 2);
    CHECK_EQ_INT(r.used[0], 101);
    CHECK_EQ_INT(r.used[1], 102);
    cfg.max_passages = 9;
    CHECK_EQ_INT(assistant_extract(kb, 3, "open", &cfg, &r, &e), ERR_INVALID);
    assistant_extract_result_free(&r);
}

/* The done-when: the LLM failing or timing out repeatedly opens the
 * breaker and the extractive answer is given; recovery closes it. */
static void test_assistant_llm__breaker_fallback(void)
{
    struct assistant_breaker *b = NULL;
    struct assistant_llm_config c = cfg_fast();
    struct assistant_llm_request r = req_plain();
    struct assistant_extract_config x = {.min_score = 1.0};
    struct assistant_answer a = {0};
    struct err e;
    c.max_attempts = 1;
    c.timeout_ms = 300;
    CHECK_EQ_INT(assistant_breaker_new(&b, 3, 1000, NULL, NULL, &e), 0);
    struct assistant_answer_config ac = {.llm = &c, .breaker = b, .breaker_key = "fake", .extract = &x};

    reset_fake("{\"answer\":\"From the LLM.\"}");
    CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "llm");
    CHECK_EQ_STR(a.text.data, "From the LLM.");
    CHECK_EQ_STR(a.model, "gpt-4o-mini");
    CHECK_EQ_INT(a.completion_tokens, 3);
    CHECK_EQ_STR(a.fallback_reason, "");

    /* Failures (5xx, then timeouts): each falls back; the third opens. */
    reset_fake("{\"mode\":\"500\"}");
    CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "extractive");
    CHECK(strncmp(a.fallback_reason, "llm_server_error", 16) == 0);
    CHECK_EQ_INT(a.used[0], 101);
    reset_fake("{\"mode\":\"slow\",\"delay\":1.0}");
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
        CHECK_EQ_STR(a.provider, "extractive");
        CHECK(strncmp(a.fallback_reason, "llm_timeout", 11) == 0);
    }
    CHECK_EQ_INT(assistant_breaker_state(b, "fake"), ASSISTANT_BREAKER_OPEN);
    /* Open: no request reaches the provider, the answer is immediate. */
    reset_fake(NULL);
    CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "extractive");
    CHECK(strncmp(a.fallback_reason, "circuit_open", 12) == 0);
    CHECK_EQ_INT(a.llm_latency_ms, 0);
    CHECK_EQ_INT(nrequests(), 0);
    /* Open and nothing grounded: hand over, both reasons given. */
    CHECK_EQ_INT(assistant_answer(&ac, &r, "Do you sell gift cards?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "handover");
    CHECK(strstr(a.fallback_reason, "circuit_open") && strstr(a.fallback_reason, "extractive: "));

    /* Cool-down over, the provider recovered: the trial closes the circuit. */
    struct timespec ts = {1, 50 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK_EQ_INT(assistant_breaker_state(b, "fake"), ASSISTANT_BREAKER_HALF_OPEN);
    CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "llm");
    CHECK_EQ_INT(assistant_breaker_state(b, "fake"), ASSISTANT_BREAKER_CLOSED);
    CHECK_EQ_INT(nrequests(), 1);

    /* A request the provider refuses (4xx) does not count against it. */
    reset_fake("{\"mode\":\"400\"}");
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(assistant_answer(&ac, &r, "When do you open on Sunday?", kb, 3, &a, &e), 0);
    CHECK_EQ_INT(assistant_breaker_state(b, "fake"), ASSISTANT_BREAKER_CLOSED);

    /* No LLM configured: the extractive provider is the default. */
    struct assistant_answer_config none = {0};
    CHECK_EQ_INT(assistant_answer(&none, NULL, "Can I get a refund?", kb, 3, &a, &e), 0);
    CHECK_EQ_STR(a.provider, "extractive");
    CHECK_EQ_STR(a.text.data, "You can return any product within 30 days for a full refund.");
    CHECK_EQ_STR(a.fallback_reason, "no LLM is configured");
    assistant_answer_free(&a);
    assistant_breaker_free(b);
}

/* ------------------------------------------------------------- intents */

static const char *const ex_hours[] = {"What are your opening hours?", "When do you open?", "Are you open on Sunday?",
                                       "What time do you close today?", "¿Cuál es el horario?",
                                       "¿A qué hora abren?", "¿Abren los domingos?", "¿A qué hora cierran hoy?"};
static const char *const ex_booking[] = {"I want to book an appointment", "Can I make a reservation for tomorrow?",
                                         "Schedule a visit next week", "Reschedule my appointment",
                                         "Quiero reservar una cita", "¿Puedo pedir cita para mañana?",
                                         "Cambiar mi reserva", "Agendar una visita la semana que viene"};
static const char *const ex_order[] = {"Where is my order?", "Track my package", "My order has not arrived",
                                       "Order status and delivery date", "¿Dónde está mi pedido?",
                                       "Seguimiento del paquete", "Mi pedido no ha llegado",
                                       "Estado de mi envío"};
static const char *const ex_refund[] = {"I want a refund", "How do I return a product?", "Money back for a damaged item",
                                        "Cancel my order and refund me", "Quiero un reembolso",
                                        "¿Cómo devuelvo un producto?", "Devolución del dinero por un artículo roto",
                                        "Cancelar el pedido y devolver el dinero"};
static const char *const ex_price[] = {"How much does it cost?", "What are your prices?", "Price list for services",
                                       "Do you have discounts?", "¿Cuánto cuesta?", "¿Cuáles son los precios?",
                                       "Lista de precios de los servicios", "¿Tienen descuentos?"};
static const char *const ex_human[] = {"I want to talk to a person", "Connect me with a human agent",
                                       "Speak to customer service staff", "Call me back",
                                       "Quiero hablar con una persona", "Pásame con un agente humano",
                                       "Hablar con atención al cliente", "Llámenme por teléfono"};

static const struct assistant_intent intents[] = {
    {"hours", ex_hours, 8, "answer"},     {"booking", ex_booking, 8, "book"},  {"order_status", ex_order, 8, "lookup"},
    {"refund", ex_refund, 8, "handover"}, {"pricing", ex_price, 8, "answer"}, {"human", ex_human, 8, "handover"},
};
static const char *const emergency[] = {"suicide", "kill myself", "heart attack", "emergency", "urgencia",
                                        "me quiero morir", "ambulance", "ambulancia"};

/* Phrases not among the examples, with the intent a person would give them. */
static const struct {
    const char *text, *want;
} labelled[] = {
    {"what time do you open tomorrow", "hours"},
    {"are you open on saturdays", "hours"},
    {"opening hours for the holidays?", "hours"},
    {"until what time are you open", "hours"},
    {"do you close at lunchtime", "hours"},
    {"¿qué horario tienen el sábado?", "hours"},
    {"¿están abiertos los domingos?", "hours"},
    {"¿a qué hora abren mañana?", "hours"},
    {"book a table for two", "booking"},
    {"I need an appointment on Friday", "booking"},
    {"can I reschedule my visit", "booking"},
    {"make a reservation please", "booking"},
    {"quiero pedir una cita", "booking"},
    {"reservar para el viernes", "booking"},
    {"necesito cambiar la cita", "booking"},
    {"where's my package", "order_status"},
    {"my order hasn't arrived yet", "order_status"},
    {"track order 12345", "order_status"},
    {"when will my delivery arrive", "order_status"},
    {"¿dónde está mi paquete?", "order_status"},
    {"mi pedido todavía no ha llegado", "order_status"},
    {"estado del pedido 5531", "order_status"},
    {"I'd like my money back", "refund"},
    {"return this item please", "refund"},
    {"the product arrived damaged, refund", "refund"},
    {"how can I return my order", "refund"},
    {"quiero devolver el producto", "refund"},
    {"reembolso por favor", "refund"},
    {"devolución de un artículo", "refund"},
    {"how much is a haircut", "pricing"},
    {"what's the price", "pricing"},
    {"any discounts this month?", "pricing"},
    {"send me your price list", "pricing"},
    {"¿cuánto cuesta el servicio?", "pricing"},
    {"precio del corte de pelo", "pricing"},
    {"¿hay descuentos?", "pricing"},
    {"can I talk to a human", "human"},
    {"I want to speak with a person", "human"},
    {"please call me back", "human"},
    {"customer service agent please", "human"},
    {"quiero hablar con un agente", "human"},
    {"pásame con una persona", "human"},
    {"llámenme, por favor", "human"},
    {"hablar con atención al cliente ya", "human"},
};

/* Off-topic phrases: these should hand over, not guess. */
static const char *const off_topic[] = {"what's the weather like in Paris", "tell me a joke",
                                        "¿quién ganó el partido ayer?", "my cat is sleeping",
                                        "blue green yellow", "asdf qwerty"};

static void test_assistant_llm__intents(void)
{
    struct assistant_intents *c = NULL;
    struct assistant_intent_match m;
    struct err e;
    int n = (int)(sizeof labelled / sizeof *labelled), right = 0, handed = 0;
    double min_right = 1, max_off = 0;

    CHECK_EQ_INT(assistant_intents_new(&c, intents, 6, emergency, 8, 0.3, &e), 0);
    for (int i = 0; i < n; i++) {
        assistant_intents_classify(c, labelled[i].text, &m);
        int ok = !m.handover && m.name && strcmp(m.name, labelled[i].want) == 0;
        right += ok;
        handed += m.handover;
        if (ok && m.confidence < min_right)
            min_right = m.confidence;
        if (!ok)
            fprintf(stderr, "  miss: \"%s\" -> %s %.2f (want %s): %s\n", labelled[i].text, m.name ? m.name : "-",
                    m.confidence, labelled[i].want, m.reason);
    }
    int off_ok = 0, noff = (int)(sizeof off_topic / sizeof *off_topic);
    for (int i = 0; i < noff; i++) {
        assistant_intents_classify(c, off_topic[i], &m);
        off_ok += m.handover;
        if (m.confidence > max_off)
            max_off = m.confidence;
        if (!m.handover)
            fprintf(stderr, "  off-topic not handed over: \"%s\" -> %s %.2f\n", off_topic[i], m.name, m.confidence);
    }
    fprintf(stderr, "  intent accuracy: %d/%d = %.1f%% (%d handed over), off-topic handed over %d/%d\n", right, n,
            100.0 * right / n, handed, off_ok, noff);
    fprintf(stderr, "  lowest confidence of a right answer %.2f, highest of an off-topic phrase %.2f\n", min_right,
            max_off);
    /* Measured when written: 43/44 (97.7%), off-topic 6/6; the lowest
     * confidence of a right answer was 0.41 and off-topic phrases scored 0,
     * so the threshold 0.3 hands over what shares (almost) nothing with the
     * examples without refusing right answers. The assertion leaves room for
     * a phrase or two, not for a broken classifier (one guess for all would
     * score 8/44). */
    CHECK(right * 100 >= 85 * n);
    CHECK(off_ok >= noff - 1);

    /* Emergencies always win, whatever else the text says. */
    assistant_intents_classify(c, "I want a refund, and I think I'm having a HEART ATTACK", &m);
    CHECK(m.emergency && m.handover);
    CHECK_EQ_STR(m.name, "emergency");
    CHECK(m.confidence == 1.0);
    CHECK(strstr(m.reason, "heart attack") != NULL);
    assistant_intents_classify(c, "¡Es una URGENCIA!", &m);
    CHECK(m.emergency);
    assistant_intents_classify(c, "heart of the city, attack of prices", &m); /* in order only */
    CHECK(m.emergency);
    assistant_intents_classify(c, "attack on my heart", &m);
    CHECK(!m.emergency);
    /* Exact example: full confidence and the action. */
    assistant_intents_classify(c, "Where is my order?", &m);
    CHECK_EQ_STR(m.name, "order_status");
    CHECK_EQ_STR(m.action, "lookup");
    CHECK(m.confidence > 0.99 && !m.handover);
    assistant_intents_classify(c, "", &m);
    CHECK(m.handover && !m.name);

    struct assistant_intent bad = {"x", NULL, 0, NULL};
    struct assistant_intents *c2 = NULL;
    CHECK_EQ_INT(assistant_intents_new(&c2, &bad, 1, NULL, 0, 0, &e), ERR_INVALID);
    CHECK(c2 == NULL);
    assistant_intents_free(c);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (fake_start(&llm, "fake_llm.py", NULL) != 0) {
        fprintf(stderr, "could not start tests/fakes/fake_llm.py\n");
        return 1;
    }
    snprintf(base_url, sizeof base_url, "%s/v1", llm.base);
    TEST_RUN(test_assistant_llm__sse_events);
    TEST_RUN(test_assistant_llm__sse_streams);
    TEST_RUN(test_assistant_llm__breaker);
    TEST_RUN(test_assistant_llm__answer);
    TEST_RUN(test_assistant_llm__stream);
    TEST_RUN(test_assistant_llm__retry_after_429);
    TEST_RUN(test_assistant_llm__5xx_exhausted);
    TEST_RUN(test_assistant_llm__4xx_not_retried);
    TEST_RUN(test_assistant_llm__unauthorized);
    TEST_RUN(test_assistant_llm__timeout_and_malformed);
    TEST_RUN(test_assistant_llm__extractive);
    TEST_RUN(test_assistant_llm__breaker_fallback);
    TEST_RUN(test_assistant_llm__intents);
    fake_stop(&llm);
    curl_global_cleanup();
    TEST_DONE();
}
