/*
 * Unit tests for the http module: the OpenAPI document agrees with the route
 * table (both ways), and the request-id, traceparent, CORS allowlist and
 * listen-address parsers accept what they should and nothing else; the
 * realtime event frame is the documented wire format.
 * Everything that needs a running server is in tests/integration/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "test.h"

/* Lower-case a method for OpenAPI ("GET" -> "get"). */
static void lower(char *out, const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

static void test_http__openapi_matches_routes(void)
{
    cJSON *doc = cJSON_Parse(http_openapi_json());
    CHECK(doc != NULL);
    if (!doc)
        return;
    CHECK_EQ_STR(json_str(doc, "openapi"), "3.1.0");
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    CHECK(cJSON_IsObject(paths));
    int nroutes = 0;
    /* Every route has its path and method in the document. */
    for (const struct http_route *rt = http__routes; rt->method; rt++) {
        char m[16];
        nroutes++;
        lower(m, rt->method, sizeof m);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(paths, rt->pattern);
        const cJSON *op = p ? cJSON_GetObjectItemCaseSensitive(p, m) : NULL;
        if (!op)
            fprintf(stderr, "route %s %s missing from OpenAPI\n", rt->method, rt->pattern);
        CHECK(op != NULL);
        if (op) {
            /* The documented action is the one the router enforces. */
            const char *act = json_str(op, "x-action");
            CHECK((act == NULL && rt->action == NULL) || (act && rt->action && strcmp(act, rt->action) == 0));
            /* {param} segments are declared as path parameters. */
            const char *brace = strchr(rt->pattern, '{');
            if (brace) {
                const cJSON *params = cJSON_GetObjectItemCaseSensitive(op, "parameters");
                int found = 0;
                const cJSON *prm;
                cJSON_ArrayForEach(prm, params)
                {
                    const char *in = json_str(prm, "in"), *name = json_str(prm, "name");
                    if (in && name && !strcmp(in, "path") && !strncmp(brace + 1, name, strlen(name)))
                        found = 1;
                }
                CHECK(found);
            }
        }
    }
    /* Every documented operation has a route. */
    int nops = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, paths)
    {
        const cJSON *op;
        cJSON_ArrayForEach(op, p)
        {
            int found = 0;
            nops++;
            for (const struct http_route *rt = http__routes; rt->method; rt++) {
                char m[16];
                lower(m, rt->method, sizeof m);
                if (!strcmp(rt->pattern, p->string) && !strcmp(m, op->string))
                    found = 1;
            }
            if (!found)
                fprintf(stderr, "OpenAPI %s %s has no route\n", op->string, p->string);
            CHECK(found);
        }
    }
    CHECK_EQ_INT(nops, nroutes);
    const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"),
                                                           "securitySchemes");
    CHECK(cJSON_GetObjectItemCaseSensitive(schemes, "bearer") != NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(schemes, "cookie") != NULL);
    cJSON_Delete(doc);
}

static void test_http__write_routes(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    http_write_routes(f);
    fclose(f);
    CHECK(strstr(text, "GET /api/v1/me\n") != NULL);
    CHECK(strstr(text, "DELETE /api/v1/apikeys/{id}\n") != NULL);
    CHECK(strstr(text, "PATCH /api/v1/users/{id}\n") != NULL);
    free(text);
}

static void test_http__route_match(void)
{
    struct http_req r;
    int known = 0;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    const struct http_route *rt = http__route_match(&r, "DELETE", "/api/v1/apikeys/key_123", &known);
    CHECK(rt != NULL);
    CHECK_EQ_STR(http__param(&r, "id"), "key_123");
    CHECK(http__route_match(&r, "PUT", "/api/v1/apikeys/key_123", &known) == NULL);
    CHECK_EQ_INT(known, 1);
    CHECK(http__route_match(&r, "GET", "/api/v1/apikeys/", &known) == NULL);
    CHECK_EQ_INT(known, 0);
    CHECK(http__route_match(&r, "GET", "/api/v1/apikeys/a/b", &known) == NULL);
    CHECK(http__route_match(&r, "GET", "/nope", &known) == NULL);
    CHECK_EQ_INT(known, 0);
    CHECK(http__route_match(&r, "GET", "/healthz", &known) != NULL);
    CHECK(http__route_match(&r, "GET", "/healthz/", &known) == NULL);
    CHECK_EQ_STR(http__allowed_methods(&r, "/api/v1/users/u1"), "PATCH, DELETE, OPTIONS");
    arena_free(r.arena);
}

static void test_http__request_id(void)
{
    char big[200];
    CHECK(http__valid_request_id("abc-DEF_1.2"));
    CHECK(!http__valid_request_id(""));
    CHECK(!http__valid_request_id(NULL));
    CHECK(!http__valid_request_id("a b"));
    CHECK(!http__valid_request_id("a\"b"));
    memset(big, 'a', 128);
    big[128] = '\0';
    CHECK(http__valid_request_id(big));
    big[128] = 'a';
    big[129] = '\0';
    CHECK(!http__valid_request_id(big));
}

static void test_http__traceparent(void)
{
    char t[33];
    CHECK_EQ_INT(http__parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t), 0);
    CHECK_EQ_STR(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(http__parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01", t) != 0);
    CHECK(http__parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", t) != 0);
    CHECK(http__parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", t) != 0);
    CHECK(http__parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", t) != 0);
    CHECK(http__parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", t) != 0);
    CHECK(http__parse_traceparent(NULL, t) != 0);
}

static void test_http__cors_allowlist(void)
{
    const char *list = "https://a.example, https://b.example:8443";
    CHECK(http__origin_allowed(list, "https://a.example"));
    CHECK(http__origin_allowed(list, "https://b.example:8443"));
    CHECK(!http__origin_allowed(list, "https://a.example.evil"));
    CHECK(!http__origin_allowed(list, "https://b.example"));
    CHECK(!http__origin_allowed("", "https://a.example"));
    CHECK(!http__origin_allowed(list, NULL));
}

static void test_http__parse_listen(void)
{
    char host[64];
    int port = 0;
    struct err e = {0};
    CHECK_EQ_INT(http__parse_listen("127.0.0.1:8080", host, sizeof host, &port, &e), 0);
    CHECK_EQ_STR(host, "127.0.0.1");
    CHECK_EQ_INT(port, 8080);
    CHECK_EQ_INT(http__parse_listen("[::1]:9000", host, sizeof host, &port, &e), 0);
    CHECK_EQ_STR(host, "::1");
    CHECK_EQ_INT(port, 9000);
    CHECK(http__parse_listen("127.0.0.1", host, sizeof host, &port, &e) != 0);
    CHECK(http__parse_listen("127.0.0.1:99999", host, sizeof host, &port, &e) != 0);
    CHECK(http__parse_listen("[::1]9000", host, sizeof host, &port, &e) != 0);
    CHECK(http__parse_listen(":80", host, sizeof host, &port, &e) != 0);
}

static void test_http__status_map(void)
{
    CHECK_EQ_INT(http__status_for(ERR_INVALID), 400);
    CHECK_EQ_INT(http__status_for(ERR_UNAUTHORIZED), 401);
    CHECK_EQ_INT(http__status_for(ERR_FORBIDDEN), 403);
    CHECK_EQ_INT(http__status_for(ERR_NOTFOUND), 404);
    CHECK_EQ_INT(http__status_for(ERR_CONFLICT), 409);
    CHECK_EQ_INT(http__status_for(ERR_TOOLARGE), 413);
    CHECK_EQ_INT(http__status_for(ERR_RATELIMIT), 429);
    CHECK_EQ_INT(http__status_for(ERR_IO), 500);
    CHECK_EQ_INT(http__status_for(ERR_UPSTREAM), 503);
}

static void test_http__event_frame(void)
{
    struct store_event ev;
    struct buf b = {0};
    memset(&ev, 0, sizeof ev);
    ev.seq = 1042;
    snprintf(ev.type, sizeof ev.type, "message.status");
    ev.data = "{\"message_id\":\"m1\",\"status\":\"delivered\",\"error\":null}";
    ev.created_at = 1767607201123LL; /* 2026-01-05T10:00:01.123Z */
    http__event_frame(&b, &ev);
    buf_putc(&b, '\0');
    CHECK_EQ_STR(b.data, "{\"id\":1042,\"type\":\"message.status\",\"created_at\":\"2026-01-05T10:00:01.123Z\","
                         "\"data\":{\"message_id\":\"m1\",\"status\":\"delivered\",\"error\":null}}");
    cJSON *doc = cJSON_Parse(b.data);
    CHECK(doc != NULL);
    cJSON_Delete(doc);
    buf_free(&b);
}

static void test_http__event_bell(void)
{
    struct http_event_bell *bell = NULL;
    struct err e = {0};
    CHECK_EQ_INT(http_event_bell_new(&bell, &e), 0);
    CHECK(bell != NULL);
    http_event_poke(bell);
    http_event_poke(bell); /* ringing twice before anyone waits is one wake-up */
    http_event_poke(NULL);
    http_event_bell_free(bell);
    http_event_bell_free(NULL);
}

/* ------------------------------------------------------- widget API */

static void test_http__ratelimit_bucket(void)
{
    struct http_ratelimit *rl = NULL;
    int64_t t = 1000000;
    CHECK_EQ_INT(http__ratelimit_new(&rl, 0, 5, 64), ERR_INVALID);
    CHECK_EQ_INT(http__ratelimit_new(&rl, 60, 0, 64), ERR_INVALID);
    CHECK_EQ_INT(http__ratelimit_new(&rl, 60, 3, 1024), 0); /* one a second, burst of 3 */
    CHECK(rl != NULL);
    if (!rl)
        return;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t), 0);
    CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t), 1); /* empty: one token back in 1 s */
    CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.2", t), 0); /* another key has its own bucket */
    CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t + 400), 1);
    CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t + 1000), 0); /* refilled one */
    CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t + 1000), 1);
    /* Refill stops at the burst: a long pause gives 3, not 60. */
    t += 61000;
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(http__ratelimit_take(rl, "10.0.0.1", t), 0);
    CHECK(http__ratelimit_take(rl, "10.0.0.1", t) >= 1);
    /* A clock that goes back never adds tokens. */
    CHECK(http__ratelimit_take(rl, "10.0.0.1", t - 50000) >= 1);
    CHECK_EQ_INT(http__ratelimit_take(NULL, "x", t), 0);
    http__ratelimit_free(rl);
    http__ratelimit_free(NULL);

    /* Slow refill: Retry-After is the whole wait, rounded up. */
    CHECK_EQ_INT(http__ratelimit_new(&rl, 6, 1, 64), 0); /* one per 10 s */
    CHECK_EQ_INT(http__ratelimit_take(rl, "k", t), 0);
    CHECK_EQ_INT(http__ratelimit_take(rl, "k", t), 10);
    CHECK_EQ_INT(http__ratelimit_take(rl, "k", t + 2500), 8);
    http__ratelimit_free(rl);
}

static void test_http__ratelimit_bounded(void)
{
    struct http_ratelimit *rl = NULL;
    char key[32];
    int64_t t = 5000000;
    CHECK_EQ_INT(http__ratelimit_new(&rl, 60, 2, 64), 0); /* room for about 64 keys */
    if (!rl)
        return;
    /* Keys whose buckets refilled completely are forgotten freely: no evictions. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "idle-%d", i);
        CHECK_EQ_INT(http__ratelimit_take(rl, key, t + (int64_t)i * 2000), 0);
    }
    CHECK_EQ_INT((int)http__ratelimit_evictions(rl), 0);
    /* A flood of new keys at one instant keeps memory fixed by evicting
     * the least recently used busy buckets, and counts it. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "busy-%d", i);
        http__ratelimit_take(rl, key, t + 100000000);
        http__ratelimit_take(rl, key, t + 100000000);
    }
    CHECK(http__ratelimit_evictions(rl) > 0);
    /* A key still present after the flood keeps its empty bucket. */
    CHECK(http__ratelimit_take(rl, "busy-9999", t + 100000000) >= 1);
    http__ratelimit_free(rl);
}

static void test_http__widget_event(void)
{
    struct http__widget_event ev;
    static const char frame[] =
        "{\"id\":77,\"type\":\"message.created\",\"created_at\":\"2026-01-05T10:00:01.123Z\",\"data\":"
        "{\"id\":\"msg_1\",\"conversation_id\":\"cnv_1\",\"account_id\":\"cha_w\",\"channel\":\"webchat\","
        "\"direction\":\"outbound\",\"address\":\"wcs_abc\",\"type\":\"text\",\"origin\":\"agent\","
        "\"body\":\"Hello \\\"there\\\"\",\"status\":\"queued\",\"provider_message_id\":null,"
        "\"created_at\":\"2026-01-05T10:00:01.000Z\"}}";
    http__widget_event_init(&ev, 77, frame, sizeof frame - 1);
    CHECK_EQ_INT(http__widget_event_for(&ev, "cha_w", "wcs_other"), 0);
    CHECK_EQ_INT(http__widget_event_for(&ev, "cha_x", "wcs_abc"), 0);
    CHECK_EQ_INT(http__widget_event_for(&ev, "cha_w", "wcs_abc"), 1);
    CHECK_EQ_INT(ev.outbound, 1);
    CHECK_EQ_STR(ev.message_id, "msg_1");
    buf_putc(&ev.msg, '\0');
    CHECK_EQ_STR(ev.msg.data, "{\"id\":\"msg_1\",\"ref\":null,\"sender\":\"agent\",\"type\":\"text\","
                              "\"text\":\"Hello \\\"there\\\"\",\"created_at\":\"2026-01-05T10:00:01.000Z\","
                              "\"status\":\"queued\"}");
    cJSON *doc = cJSON_ParseWithLength(ev.ws_frame.data, ev.ws_frame.len);
    CHECK(doc != NULL);
    CHECK_EQ_STR(json_str(doc, "type"), "message");
    CHECK_EQ_STR(json_str(doc, "cursor"), "77");
    cJSON_Delete(doc);
    http__widget_event_free(&ev);

    /* Other channels, other event types and garbage are nobody's. */
    static const char *const others[] = {
        "{\"id\":1,\"type\":\"message.created\",\"data\":{\"id\":\"m\",\"channel\":\"sms\","
        "\"account_id\":\"cha_w\",\"address\":\"wcs_abc\"}}",
        "{\"id\":2,\"type\":\"message.status\",\"data\":{\"message_id\":\"m\",\"channel\":\"webchat\"}}",
        "{\"id\":3,\"type\":\"message.created\",\"data\":[]}",
        "{\"id\":4,\"type\":\"message.created\",\"data\":{\"channel\":\"webchat\",\"account_id\":\"cha_w\","
        "\"address\":\"wcs_abc\"}}",
        "\"message.created\" not json",
        "",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        http__widget_event_init(&ev, 1, others[i], strlen(others[i]));
        CHECK_EQ_INT(http__widget_event_for(&ev, "cha_w", "wcs_abc"), 0);
        http__widget_event_free(&ev);
    }
}

int main(void)
{
    TEST_RUN(test_http__openapi_matches_routes);
    TEST_RUN(test_http__write_routes);
    TEST_RUN(test_http__route_match);
    TEST_RUN(test_http__request_id);
    TEST_RUN(test_http__traceparent);
    TEST_RUN(test_http__cors_allowlist);
    TEST_RUN(test_http__parse_listen);
    TEST_RUN(test_http__status_map);
    TEST_RUN(test_http__event_frame);
    TEST_RUN(test_http__event_bell);
    TEST_RUN(test_http__ratelimit_bucket);
    TEST_RUN(test_http__ratelimit_bounded);
    TEST_RUN(test_http__widget_event);
    TEST_DONE();
}
