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
    TEST_DONE();
}
