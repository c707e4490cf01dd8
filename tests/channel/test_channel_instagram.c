/*
 * test_channel_instagram: the Instagram Messaging adapter through channel.h
 * only. Meta's signature and handshake (shared with WhatsApp); parsing of
 * recorded payloads in tests/channel/payloads/ig_*.json (messages, story
 * replies and mentions, reactions, read receipts, echoes and deletions
 * skipped, several items and entries in one POST) and of malformed ones;
 * sends against tests/fakes/fake_instagram.py: RESPONSE inside 24 hours,
 * the HUMAN_AGENT tag for a person's reply up to 7 days, nothing sent
 * outside that, and Graph's failures mapped to permanent or transient.
 * Needs SB_SOURCE_DIR and python3 on PATH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "test.h"
#include "test_fake.h"

#define IGID "17841400000000001"
#define IGSID "1284937561234567"
#define HOUR (3600LL * 1000)

static const struct channel_adapter *ig(void)
{
    return channel_find("instagram");
}

/* Parse body as a verified webhook: rc, events in a. */
static int parse(struct arena *a, const char *body, size_t len, struct channel_events *out, struct err *e)
{
    struct channel_webhook wh = {.method = "POST", .url = "https://h/webhooks/instagram/k", .body = body,
                                 .body_len = len};
    return ig()->parse(a, &wh, out, e);
}

static void test_channel_instagram__signature_and_handshake(void)
{
    const char *body = "{\"object\":\"instagram\",\"entry\":[]}";
    uint8_t mac[32];
    char hex[65], sig[80];
    struct channel_kv cred[] = {{"app_secret", "ig-app-secret"}, {"verify_token", "vt-123"}};
    struct channel_creds cr = {cred, 2};
    struct err e = {0};

    CHECK(ig() != NULL);
    crypto_hmac_sha256(mac, "ig-app-secret", 13, body, strlen(body));
    crypto_hex(hex, mac, sizeof mac);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    struct channel_kv hdr[] = {{"x-hub-signature-256", sig}};
    struct channel_webhook wh = {.method = "POST", .body = body, .body_len = strlen(body), .headers = hdr,
                                 .nheaders = 1};
    CHECK_EQ_INT(ig()->verify(&wh, &cr, &e), 0);
    /* One byte changed in the body. */
    char *tampered = strdup(body);
    tampered[3] = 'O';
    wh.body = tampered;
    CHECK_EQ_INT(ig()->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    free(tampered);
    wh.body = body;
    /* Another secret. */
    struct channel_kv other[] = {{"app_secret", "not-it"}};
    struct channel_creds ocr = {other, 1};
    CHECK_EQ_INT(ig()->verify(&wh, &ocr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    /* Upper-case hex and a missing prefix are not what Meta sends. */
    for (char *p = sig + 7; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK_EQ_INT(ig()->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    hdr[0].value = hex;
    CHECK_EQ_INT(ig()->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    /* No header at all. */
    wh.nheaders = 0;
    CHECK_EQ_INT(ig()->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");

    /* The subscription handshake. */
    struct channel_kv q[] = {{"hub.mode", "subscribe"}, {"hub.verify_token", "vt-123"}, {"hub.challenge", "1158201444"}};
    struct channel_webhook get = {.method = "GET", .query = q, .nquery = 3};
    struct buf out = {0};
    CHECK_EQ_INT(ig()->handshake(&get, &cr, &out, &e), 0);
    CHECK_EQ_STR(out.data, "1158201444");
    buf_reset(&out);
    q[1].value = "vt-124";
    CHECK_EQ_INT(ig()->handshake(&get, &cr, &out, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_verify_token");
    CHECK_EQ_INT(out.len, 0);
    q[1].value = "vt-123";
    q[0].value = "unsubscribe";
    CHECK_EQ_INT(ig()->handshake(&get, &cr, &out, &e), ERR_FORBIDDEN);
    buf_free(&out);
}

static void test_channel_instagram__parse(void)
{
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    size_t len;
    char *body;

    /* A text message: the IGSID is the sender, ms timestamps, \u and \/ decoded. */
    body = load_payload("ig_text.json", &len);
    CHECK(body != NULL);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_MESSAGE);
    CHECK_EQ_STR(ev.items[0].event_id, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6MzQwMjgyMzY2ODQxNzEwMzAx"
                                       "MjQ0Mjc2MDI1NzQ3NzY2MDQ3MjY0");
    CHECK_EQ_STR(ev.items[0].provider_message_id, ev.items[0].event_id);
    CHECK_EQ_STR(ev.items[0].from, IGSID);
    CHECK_EQ_STR(ev.items[0].to, IGID);
    CHECK_EQ_STR(ev.items[0].type, "text");
    CHECK_EQ_STR(ev.items[0].text, "Olá! Is my order ready? https://example.com/o/42");
    CHECK_EQ_INT(ev.items[0].provider_ts, 1733150000123LL);
    CHECK_EQ_INT(ev.items[0].nmedia, 0);
    CHECK(ev.items[0].ref == NULL);
    free(body);

    /* A story reply: the story's id is the reference, its CDN URL the media. */
    body = load_payload("ig_story_reply.json", &len);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    CHECK_EQ_STR(ev.items[0].type, "story_reply");
    CHECK_EQ_STR(ev.items[0].text, "Love this one!");
    CHECK_EQ_STR(ev.items[0].ref, "17986543210987654");
    CHECK_EQ_INT(ev.items[0].nmedia, 1);
    CHECK_EQ_STR(ev.items[0].media[0].url,
                 "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17986543210987654&signature=AbCd");
    free(body);

    /* A story mention: an attachment of its own type, no text. */
    body = load_payload("ig_story_mention.json", &len);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    CHECK_EQ_STR(ev.items[0].type, "story_mention");
    CHECK(ev.items[0].text == NULL);
    CHECK_EQ_INT(ev.items[0].nmedia, 1);
    CHECK_EQ_STR(ev.items[0].media[0].url,
                 "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17999999999999999&signature=EfGh");
    free(body);

    /* Reactions: a react and its unreact, each its own event about our message. */
    body = load_payload("ig_reactions.json", &len);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 2);
    CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_MESSAGE);
    CHECK_EQ_STR(ev.items[0].type, "reaction");
    CHECK_EQ_STR(ev.items[0].text, "\xe2\x9d\xa4\xef\xb8\x8f");
    CHECK_EQ_STR(ev.items[0].ref, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6b3VyczE");
    CHECK_EQ_STR(ev.items[0].from, IGSID);
    CHECK_EQ_STR(ev.items[1].type, "reaction_removed");
    CHECK(ev.items[1].text == NULL);
    CHECK_EQ_STR(ev.items[1].ref, ev.items[0].ref);
    CHECK(strcmp(ev.items[0].event_id, ev.items[1].event_id) != 0);
    CHECK(strcmp(ev.items[0].event_id, ev.items[0].ref) != 0); /* never the reacted-to message's id */
    CHECK_EQ_STR(ev.items[0].provider_message_id, ev.items[0].event_id);
    free(body);

    /* A read receipt: a status "read" for our message. */
    body = load_payload("ig_read.json", &len);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_STATUS);
    CHECK_EQ_STR(ev.items[0].status, "read");
    CHECK_EQ_STR(ev.items[0].provider_message_id, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6b3VyczE");
    CHECK_EQ_STR(ev.items[0].event_id, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6b3VyczE:read");
    CHECK_EQ_INT(ev.items[0].provider_ts, 1733150400123LL);
    free(body);

    /* Two entries, six items: the echo and the deletion are skipped, the
     * rest kept in order (two images, a file replying to our message, an
     * unsupported attachment, a postback). */
    body = load_payload("ig_mixed.json", &len);
    CHECK_EQ_INT(parse(a, body, len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 4);
    if (ev.n == 4) {
        CHECK_EQ_STR(ev.items[0].type, "image");
        CHECK_EQ_INT(ev.items[0].nmedia, 2);
        CHECK_EQ_STR(ev.items[0].media[1].url, "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=2&signature=b");
        CHECK_EQ_STR(ev.items[1].type, "document");
        CHECK_EQ_STR(ev.items[1].from, "5550001112223334");
        CHECK_EQ_STR(ev.items[1].ref, "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDE6b3VyczE");
        CHECK_EQ_STR(ev.items[2].type, "unsupported");
        CHECK_EQ_STR(ev.items[3].type, "postback");
        CHECK_EQ_STR(ev.items[3].text, "Track my order");
        CHECK_EQ_STR(ev.items[3].ref, "TRACK_ORDER");
    }
    free(body);

    /* Nothing we store (comments, an empty entry): no events, no error. */
    static const char *const empty[] = {
        "{\"object\":\"instagram\",\"entry\":[]}",
        "{\"object\":\"instagram\",\"entry\":[{\"id\":\"1\",\"time\":1,\"changes\":[{\"field\":\"comments\","
        "\"value\":{\"id\":\"c1\",\"text\":\"nice\"}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"id\":\"1\",\"messaging\":[{\"sender\":{\"id\":\"2\"},"
        "\"recipient\":{\"id\":\"1\"},\"timestamp\":1,\"referral\":{\"ref\":\"x\"}}]}]}",
    };
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        CHECK_EQ_INT(parse(a, empty[i], strlen(empty[i]), &ev, &e), 0);
        CHECK_EQ_INT(ev.n, 0);
    }

    /* Malformed: refused as a whole, no events. */
    static const char *const bad[] = {
        "",
        "[]",
        "{\"object\":\"instagram\"}",
        "{\"object\":\"page\",\"entry\":[]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[7]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"2\"},\"message\":{\"text\":\"x\"}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"message\":{\"mid\":\"m1\",\"text\":\"x\"}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":2},\"message\":{\"mid\":\"m1\"}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"2\"},\"reaction\":{\"mid\":\"m\","
        "\"action\":\"poke\"}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"2\"},\"read\":{}}]}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"messaging\":[{\"sender\":{\"id\":\"2\"},\"message\":{\"mid\":\"m1\","
        "\"attachments\":[{\"payload\":{\"url\":\"u\"}}]}}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(a, bad[i], strlen(bad[i]), &ev, &e);
        if (rc != ERR_INVALID)
            fprintf(stderr, "  bad[%zu] parsed: %d\n", i, rc);
        CHECK_EQ_INT(rc, ERR_INVALID);
        CHECK_EQ_INT(ev.n, 0);
    }
    arena_free(a);
}

/* ------------------------------------------------------------------ sends */

struct sendcase {
    struct channel_env env;
    struct channel_creds creds;
    struct channel_send msg;
    struct channel_send_result res;
    struct err e;
};

static struct channel_kv send_creds[] = {{"ig_user_id", IGID}, {"access_token", "ig-token-1"}};

static void sendcase_init(struct sendcase *c, const struct fake *f, char *base, size_t baselen)
{
    memset(c, 0, sizeof *c);
    snprintf(base, baselen, "%s/v21.0", f->base);
    c->env.graph_api_base = base;
    c->env.timeout_ms = 3000;
    c->creds.kv = send_creds;
    c->creds.n = 2;
    c->msg.to = IGSID;
    c->msg.text = "Your order shipped.";
    c->msg.origin = "api";
    c->msg.last_inbound_at = time_now_ms() - HOUR;
}

static int do_send(struct sendcase *c)
{
    err_clear(&c->e);
    return ig()->send(&c->env, &c->creds, &c->msg, &c->res, &c->e);
}

static int nrequests(const struct fake *f)
{
    cJSON *r = fake_requests(f);
    int n = r ? cJSON_GetArraySize(r) : -1;
    cJSON_Delete(r);
    return n;
}

static void test_channel_instagram__send_windows(void)
{
    static const char *const args[] = {"--access-token", "ig-token-1", "--ig-user-id", IGID, NULL};
    struct fake f;
    struct sendcase c;
    char base[96];
    cJSON *root = NULL, *last;

    if (fake_start(&f, "fake_instagram.py", args) != 0) {
        CHECK(!"fake_instagram.py did not start");
        return;
    }
    sendcase_init(&c, &f, base, sizeof base);

    /* Inside 24 hours: RESPONSE, the bearer token, the Send API's body. */
    CHECK_EQ_INT(do_send(&c), 0);
    CHECK(strncmp(c.res.provider_message_id, "aWdfZAG1", 8) == 0);
    CHECK_EQ_STR(c.res.status, "sent");
    CHECK_EQ_INT(c.res.http_status, 200);
    last = fake_last(&f, &root);
    CHECK(last != NULL);
    if (last) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(last, "json");
        CHECK_EQ_STR(json_str(last, "path"), "/v21.0/" IGID "/messages");
        CHECK_EQ_STR(json_str(last, "authorization"), "Bearer ig-token-1");
        CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(j, "recipient"), "id"), IGSID);
        CHECK_EQ_STR(json_str(j, "messaging_type"), "RESPONSE");
        CHECK(cJSON_GetObjectItemCaseSensitive(j, "tag") == NULL);
        CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(j, "message"), "text"), "Your order shipped.");
    }
    cJSON_Delete(root);

    /* An image: one attachment, typed by its extension. */
    const char *urls[] = {"https://cdn.example.com/receipt.PNG?v=2"};
    c.msg.text = NULL;
    c.msg.media_urls = urls;
    c.msg.nmedia = 1;
    CHECK_EQ_INT(do_send(&c), 0);
    last = fake_last(&f, &root);
    if (last) {
        const cJSON *att = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(last, "json"), "message"), "attachment");
        CHECK_EQ_STR(json_str(att, "type"), "image");
        CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(att, "payload"), "url"), urls[0]);
    }
    cJSON_Delete(root);
    /* Text and an attachment together, or two attachments: not one Instagram message. */
    c.msg.text = "and a caption";
    int before = nrequests(&f);
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&c.e), "unsupported_message");
    CHECK_EQ_INT(c.res.permanent, 1);
    c.msg.text = "Your order shipped.";
    c.msg.nmedia = 0;

    /* Silent for 25 hours: the API's message is not sent at all … */
    c.msg.last_inbound_at = time_now_ms() - 25 * HOUR;
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&c.e), "outside_window");
    CHECK_EQ_INT(c.res.permanent, 1);
    CHECK_EQ_INT(c.res.http_status, 0);
    /* … nor the assistant's or a campaign's … */
    c.msg.origin = "assistant";
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    c.msg.origin = "campaign";
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_INT(nrequests(&f), before);
    /* … while a person's reply goes with the HUMAN_AGENT tag. */
    c.msg.origin = "agent";
    CHECK_EQ_INT(do_send(&c), 0);
    last = fake_last(&f, &root);
    if (last) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(last, "json");
        CHECK_EQ_STR(json_str(j, "messaging_type"), "MESSAGE_TAG");
        CHECK_EQ_STR(json_str(j, "tag"), "HUMAN_AGENT");
    }
    cJSON_Delete(root);
    /* 8 days: not even a person; never written: nobody. */
    before = nrequests(&f);
    c.msg.last_inbound_at = time_now_ms() - 8 * 24 * HOUR;
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&c.e), "outside_window");
    c.msg.last_inbound_at = 0;
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&c.e), "outside_window");
    CHECK_EQ_INT(nrequests(&f), before);

    /* Misconfigured: no token. */
    c.creds.n = 1;
    c.msg.last_inbound_at = time_now_ms() - HOUR;
    CHECK_EQ_INT(do_send(&c), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&c.e), "channel_misconfigured");
    CHECK_EQ_INT(c.res.permanent, 1);
    fake_stop(&f);
}

static void test_channel_instagram__send_failures(void)
{
    static const char *const args[] = {"--access-token", "ig-token-1", NULL};
    static const struct {
        const char *mode;
        int rc;
        int permanent;
        const char *slug;
        const char *code;
        int http;
    } cases[] = {
        {"{\"mode\":\"outside_window\"}", ERR_INVALID, 1, "outside_window", "10", 400},
        {"{\"mode\":\"unavailable\"}", ERR_INVALID, 1, "recipient_unavailable", "551", 400},
        {"{\"mode\":\"token\"}", ERR_INVALID, 1, "channel_misconfigured", "190", 400},
        {"{\"mode\":\"500\"}", ERR_UPSTREAM, 0, "provider_error", "2", 500},
        {"{\"mode\":\"429\",\"retry_after\":7}", ERR_RATELIMIT, 0, "provider_rate_limited", "4", 429},
        {"{\"mode\":\"malformed\"}", ERR_UPSTREAM, 0, "provider_bad_response", "", 200},
        {"{\"mode\":\"close\"}", ERR_UPSTREAM, 0, "provider_unreachable", "", 0},
    };
    struct fake f;
    struct sendcase c;
    char base[96];

    if (fake_start(&f, "fake_instagram.py", args) != 0) {
        CHECK(!"fake_instagram.py did not start");
        return;
    }
    sendcase_init(&c, &f, base, sizeof base);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake_mode(&f, cases[i].mode);
        int rc = do_send(&c);
        if (rc != cases[i].rc || strcmp(err_slug(&c.e), cases[i].slug) != 0)
            fprintf(stderr, "  mode %s: rc %d slug %s (%s)\n", cases[i].mode, rc, err_slug(&c.e), c.e.msg);
        CHECK_EQ_INT(rc, cases[i].rc);
        CHECK_EQ_INT(c.res.permanent, cases[i].permanent);
        CHECK_EQ_STR(err_slug(&c.e), cases[i].slug);
        CHECK_EQ_STR(c.res.error_code, cases[i].code);
        CHECK_EQ_INT(c.res.http_status, cases[i].http);
        CHECK(c.res.provider_message_id[0] == '\0');
    }
    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":7}");
    do_send(&c);
    CHECK_EQ_INT(c.res.retry_after_s, 7);
    CHECK(strstr(c.res.error_text, "request limit") != NULL);
    /* The window refusal is Graph's for an untagged send only: a person's tagged reply still goes. */
    fake_mode(&f, "{\"mode\":\"outside_window\"}");
    c.msg.origin = "agent";
    c.msg.last_inbound_at = time_now_ms() - 30 * HOUR;
    CHECK_EQ_INT(do_send(&c), 0);
    fake_stop(&f);
}

static void test_channel_instagram__caps(void)
{
    const struct channel_caps *cp = &ig()->caps;
    CHECK_EQ_INT(cp->window_ms, 24 * HOUR);
    CHECK_EQ_INT(cp->human_agent_window_ms, 7 * 24 * HOUR);
    CHECK_EQ_INT(cp->transactional_only, 1);
    CHECK_EQ_INT(cp->max_text_len, 1000);
    CHECK(ig()->list_templates == NULL);
    /* WhatsApp keeps its own: a window, no extension, campaigns allowed. */
    CHECK_EQ_INT(channel_find("whatsapp")->caps.human_agent_window_ms, 0);
    CHECK_EQ_INT(channel_find("whatsapp")->caps.transactional_only, 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TEST_RUN(test_channel_instagram__signature_and_handshake);
    TEST_RUN(test_channel_instagram__parse);
    TEST_RUN(test_channel_instagram__caps);
    TEST_RUN(test_channel_instagram__send_windows);
    TEST_RUN(test_channel_instagram__send_failures);
    curl_global_cleanup();
    TEST_DONE();
}
