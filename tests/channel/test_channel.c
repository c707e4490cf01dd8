/*
 * test_channel: the Twilio and WhatsApp adapters through channel.h only.
 * Signatures against Twilio's documented vector and computed HMACs (good,
 * tampered, wrong key, missing, port variants); the WhatsApp handshake;
 * parsing of recorded payloads in tests/channel/payloads/; and sends against
 * tests/fakes/ (spawned here, on a port they pick) in each failure mode;
 * template listing with Meta's paging; and connection reuse through a pool
 * (counted at the fake), sequential, concurrent and across a timeout.
 * Needs SB_SOURCE_DIR and python3 on PATH.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel/channel.h"
#include "test.h"
#include "test_fake.h"

/* ------------------------------------------------- callback receiver */

/* A listening socket on 127.0.0.1 and an ephemeral port, or -1. */
static int recv_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* One received HTTP request, parsed into a webhook (strings in the arena). */
static int recv_one(int lfd, struct arena *a, int port, struct channel_webhook *wh)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        return -1;
    struct buf b = {0};
    char tmp[4096];
    char *hend = NULL;
    size_t want = 0;
    for (;;) {
        ssize_t n = read(c, tmp, sizeof tmp);
        if (n <= 0)
            break;
        buf_append(&b, tmp, (size_t)n);
        hend = strstr(b.data, "\r\n\r\n");
        if (hend) {
            char *cl = strcasestr(b.data, "\r\ncontent-length:");
            want = (size_t)(hend + 4 - b.data) + (cl && cl < hend ? strtoul(cl + 17, NULL, 10) : 0);
            if (b.len >= want)
                break;
        }
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(c, ok, sizeof ok - 1) < 0) { /* the fake records failures; nothing to do here */
    }
    close(c);
    if (!hend || b.len < want) {
        buf_free(&b);
        return -1;
    }
    char *data = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    hend = strstr(data, "\r\n\r\n");
    *hend = '\0';
    memset(wh, 0, sizeof *wh);
    wh->method = "POST";
    wh->body = hend + 4;
    wh->body_len = strlen(hend + 4);
    char *sp1 = strchr(data, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2)
        return -1;
    wh->url = arena_printf(a, "http://127.0.0.1:%d%.*s", port, (int)(sp2 - sp1 - 1), sp1 + 1);
    struct channel_kv *kv = arena_alloc(a, 32 * sizeof *kv);
    size_t n = 0;
    for (char *line = strstr(data, "\r\n"); line && n < 32; line = strstr(line, "\r\n")) {
        line += 2;
        char *colon = strchr(line, ':'), *eol = strstr(line, "\r\n");
        if (!colon || (eol && colon > eol))
            continue;
        char *name = arena_strndup(a, line, (size_t)(colon - line));
        for (char *q = name; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        kv[n].name = name;
        kv[n].value = eol ? arena_strndup(a, v, (size_t)(eol - v)) : arena_strdup(a, v);
        n++;
    }
    wh->headers = kv;
    wh->nheaders = n;
    return 0;
}

/* ------------------------------------------------------------ twilio */

#define DOC_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define DOC_BODY "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1234&From=%2B14158675310&To=%2B18005551212"
#define DOC_SIG "GvWf1cFY/Q7PnoempGyD5oXAezc="

static int twilio_check(const char *url, const char *body, const char *sig, const char *token, struct err *e)
{
    const struct channel_adapter *tw = channel_find("twilio");
    struct channel_kv hdr[] = {{"content-type", "application/x-www-form-urlencoded"}, {"x-twilio-signature", sig}};
    struct channel_kv cred[] = {{"account_sid", "AC1"}, {"auth_token", token}};
    struct channel_webhook wh = {.method = "POST", .url = url, .body = body, .body_len = strlen(body),
                                 .headers = hdr, .nheaders = sig ? 2 : 1};
    struct channel_creds cr = {cred, 2};
    err_clear(e);
    return tw->verify(&wh, &cr, e);
}

static void test_channel__twilio_signature(void)
{
    struct err e;
    CHECK(channel_find("twilio") != NULL);
    CHECK(channel_find("nope") == NULL);
    /* Twilio's documented example. */
    CHECK_EQ_INT(twilio_check(DOC_URL, DOC_BODY, DOC_SIG, "12345", &e), 0);
    /* Parameter order in the body does not matter: they are sorted. */
    CHECK_EQ_INT(twilio_check(DOC_URL, "To=%2B18005551212&Digits=1234&CallSid=CA1234567890ABCDE&From=%2B14158675310"
                                       "&Caller=%2B14158675310", DOC_SIG, "12345", &e), 0);
    /* Tampered body, wrong token, missing header, other URL. */
    CHECK_EQ_INT(twilio_check(DOC_URL, "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1235&From=%2B14158675310"
                                       "&To=%2B18005551212", DOC_SIG, "12345", &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    CHECK_EQ_INT(twilio_check(DOC_URL, DOC_BODY, DOC_SIG, "12346", &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    CHECK_EQ_INT(twilio_check(DOC_URL, DOC_BODY, NULL, "12345", &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    CHECK_EQ_INT(twilio_check(DOC_URL, DOC_BODY, "", "12345", &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    CHECK_EQ_INT(twilio_check("https://mycompany.com/myapp.php?foo=1&bar=3", DOC_BODY, DOC_SIG, "12345", &e),
                 ERR_FORBIDDEN);
    /* Port variants: signed without the port, called with :443, and vice versa. */
    CHECK_EQ_INT(twilio_check("https://mycompany.com:443/myapp.php?foo=1&bar=2", DOC_BODY, DOC_SIG, "12345", &e), 0);
    CHECK_EQ_INT(twilio_check("https://mycompany.com:8443/myapp.php?foo=1&bar=2", DOC_BODY, DOC_SIG, "12345", &e),
                 ERR_FORBIDDEN);
    const char *with_port = "http://example.org:80/hook"
                            "Bodyhi there"
                            "From+14155550123";
    uint8_t mac[20];
    char sig[64];
    crypto_hmac_sha1(mac, "tok", 3, with_port, strlen(with_port));
    crypto_base64(sig, sizeof sig, mac, sizeof mac);
    CHECK_EQ_INT(twilio_check("http://example.org/hook", "From=%2B14155550123&Body=hi+there", sig, "tok", &e), 0);
    CHECK_EQ_INT(twilio_check("http://example.org:80/hook", "From=%2B14155550123&Body=hi%20there", sig, "tok", &e), 0);
    CHECK_EQ_INT(twilio_check("https://example.org/hook", "From=%2B14155550123&Body=hi+there", sig, "tok", &e),
                 ERR_FORBIDDEN);
}

static int parse_file(const struct channel_adapter *ad, struct arena *a, const char *name, struct channel_events *ev,
                      struct err *e)
{
    size_t len = 0;
    char *body = load_payload(name, &len);
    if (!body) {
        fprintf(stderr, "missing payload %s\n", name);
        return -100;
    }
    /* An exact-size copy so ASan sees any read past the end. */
    char *exact = arena_alloc(a, len ? len : 1);
    memcpy(exact, body, len);
    free(body);
    struct channel_webhook wh = {.method = "POST", .url = "https://x.test/webhooks/p/k", .body = exact, .body_len = len};
    err_clear(e);
    return ad->parse(a, &wh, ev, e);
}

static void test_channel__twilio_parse(void)
{
    const struct channel_adapter *tw = channel_find("twilio");
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e;

    CHECK_EQ_INT(parse_file(tw, a, "twilio_inbound_sms.form", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_MESSAGE);
        CHECK_EQ_STR(ev.items[0].event_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
        CHECK_EQ_STR(ev.items[0].from, "+14155550123");
        CHECK_EQ_STR(ev.items[0].to, "+14155550100");
        CHECK_EQ_STR(ev.items[0].text, "Hello there! Caf\xc3\xa9 & more");
        CHECK_EQ_STR(ev.items[0].type, "text");
        CHECK_EQ_INT(ev.items[0].nmedia, 0);
    }
    CHECK_EQ_INT(parse_file(tw, a, "twilio_inbound_mms.form", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_MESSAGE);
        CHECK_EQ_STR(ev.items[0].type, "image");
        CHECK_EQ_STR(ev.items[0].text, "");
        CHECK_EQ_INT(ev.items[0].nmedia, 2);
        if (ev.items[0].nmedia == 2) {
            CHECK_EQ_STR(ev.items[0].media[0].content_type, "image/jpeg");
            CHECK_EQ_STR(ev.items[0].media[1].content_type, "image/png");
            CHECK(strstr(ev.items[0].media[1].url, "/Media/ME0002") != NULL);
        }
    }
    CHECK_EQ_INT(parse_file(tw, a, "twilio_status_delivered.form", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_STATUS);
        CHECK_EQ_STR(ev.items[0].status, "delivered");
        CHECK_EQ_STR(ev.items[0].event_id, "SM5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b:delivered");
        CHECK(ev.items[0].error_code == NULL);
    }
    CHECK_EQ_INT(parse_file(tw, a, "twilio_status_failed_30007.form", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].status, "undelivered");
        CHECK_EQ_STR(ev.items[0].provider_message_id, "SM5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0c");
        CHECK_EQ_STR(ev.items[0].error_code, "30007");
        CHECK_EQ_STR(ev.items[0].error_text, "Message filtered");
    }
    struct channel_webhook bad = {.method = "POST", .body = "Body=hi", .body_len = 7};
    CHECK_EQ_INT(tw->parse(a, &bad, &ev, &e), ERR_INVALID);
    arena_free(a);
}

/* ------------------------------------------------------------ whatsapp */

static void test_channel__whatsapp_signature_and_handshake(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    CHECK(wa != NULL);
    if (!wa)
        return;
    struct err e;
    size_t len = 0;
    char *body = load_payload("wa_text.json", &len);
    CHECK(body != NULL);
    if (!body)
        return;
    uint8_t mac[32];
    char hex[65], sig[80];
    crypto_hmac_sha256(mac, "appsecret", 9, body, len);
    crypto_hex(hex, mac, sizeof mac);
    snprintf(sig, sizeof sig, "sha256=%s", hex);
    struct channel_kv hdr[] = {{"x-hub-signature-256", sig}};
    struct channel_kv cred[] = {{"app_secret", "appsecret"}, {"verify_token", "vt-123"}};
    struct channel_creds cr = {cred, 2};
    struct channel_webhook wh = {.method = "POST", .url = "https://x/webhooks/whatsapp/k", .body = body,
                                 .body_len = len, .headers = hdr, .nheaders = 1};
    CHECK_EQ_INT(wa->verify(&wh, &cr, &e), 0);
    body[len / 2] ^= 1; /* tampered */
    err_clear(&e);
    CHECK_EQ_INT(wa->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    body[len / 2] ^= 1;
    struct channel_kv cred2[] = {{"app_secret", "other"}};
    struct channel_creds cr2 = {cred2, 1};
    CHECK_EQ_INT(wa->verify(&wh, &cr2, &e), ERR_FORBIDDEN);
    wh.nheaders = 0;
    err_clear(&e);
    CHECK_EQ_INT(wa->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    hdr[0].value = hex; /* no "sha256=" prefix */
    wh.nheaders = 1;
    CHECK_EQ_INT(wa->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    free(body);

    /* Handshake. */
    struct channel_kv q[] = {{"hub.mode", "subscribe"}, {"hub.verify_token", "vt-123"}, {"hub.challenge", "1158201444"}};
    struct channel_webhook get = {.method = "GET", .url = "https://x/webhooks/whatsapp/k", .query = q, .nquery = 3};
    struct buf out = {0};
    CHECK(wa->handshake != NULL);
    CHECK_EQ_INT(wa->handshake(&get, &cr, &out, &e), 0);
    CHECK_EQ_STR(out.data, "1158201444");
    buf_reset(&out);
    q[1].value = "vt-124";
    CHECK_EQ_INT(wa->handshake(&get, &cr, &out, &e), ERR_FORBIDDEN);
    CHECK_EQ_INT(out.len, 0);
    q[1].value = "vt-123";
    q[0].value = "unsubscribe";
    CHECK_EQ_INT(wa->handshake(&get, &cr, &out, &e), ERR_FORBIDDEN);
    buf_free(&out);
    CHECK(channel_find("twilio")->handshake == NULL);
}

static void test_channel__whatsapp_parse(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e;

    CHECK_EQ_INT(parse_file(wa, a, "wa_text.json", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        struct channel_event *m = &ev.items[0];
        CHECK_EQ_INT(m->kind, CHANNEL_EVENT_MESSAGE);
        CHECK_EQ_STR(m->event_id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
        CHECK_EQ_STR(m->from, "16505551234");
        CHECK_EQ_STR(m->to, "106540352242922");
        CHECK_EQ_STR(m->contact_name, "Sheena Nelson");
        CHECK_EQ_STR(m->type, "text");
        CHECK_EQ_STR(m->text, "Does it come in another color? Caf\xc3\xa9 / ok");
        CHECK_EQ_INT(m->provider_ts, 1749416383000LL);
    }
    CHECK_EQ_INT(parse_file(wa, a, "wa_image.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "image");
        CHECK_EQ_INT(ev.items[0].nmedia, 1);
        if (ev.items[0].nmedia == 1) {
            CHECK_EQ_STR(ev.items[0].media[0].id, "1003383421387256");
            CHECK_EQ_STR(ev.items[0].media[0].content_type, "image/jpeg");
            CHECK(ev.items[0].media[0].url == NULL);
        }
        CHECK_EQ_STR(ev.items[0].text, "Black jacket");
    }
    CHECK_EQ_INT(parse_file(wa, a, "wa_location.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "location");
        CHECK(ev.items[0].latitude > 37.4833 && ev.items[0].latitude < 37.4834);
        CHECK(ev.items[0].longitude < -122.1489 && ev.items[0].longitude > -122.1490);
        CHECK_EQ_STR(ev.items[0].text, "Main Office");
    }
    CHECK_EQ_INT(parse_file(wa, a, "wa_interactive_button.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "interactive");
        CHECK_EQ_STR(ev.items[0].text, "Change");
    }
    CHECK_EQ_INT(parse_file(wa, a, "wa_two_messages_one_status.json", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 3);
    if (ev.n == 3) {
        CHECK_EQ_STR(ev.items[0].event_id, "wamid.AAA1");
        CHECK_EQ_STR(ev.items[1].event_id, "wamid.AAA2");
        CHECK_EQ_STR(ev.items[1].contact_name, "Ravi");
        CHECK_EQ_STR(ev.items[1].text, "second");
        CHECK_EQ_INT(ev.items[2].kind, CHANNEL_EVENT_STATUS);
        CHECK_EQ_STR(ev.items[2].event_id, "wamid.OUT1:delivered");
        CHECK_EQ_STR(ev.items[2].provider_message_id, "wamid.OUT1");
        CHECK_EQ_STR(ev.items[2].status, "delivered");
        CHECK_EQ_INT(ev.items[2].provider_ts, 1750090703000LL);
    }
    CHECK_EQ_INT(parse_file(wa, a, "wa_status_failed.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].status, "failed");
        CHECK_EQ_STR(ev.items[0].error_code, "131047");
        CHECK_EQ_STR(ev.items[0].error_text, "Re-engagement message");
    }
    /* Malformed JSON and wrong shapes. */
    const char *bad[] = {"{", "[]", "{\"entry\":{}}", "{\"entry\":[{\"changes\":[{\"value\":{\"messages\":[1]}}]}]}",
                         "{\"entry\":[{\"changes\":[{\"value\":{\"messages\":[{\"id\":\"x\"}]}}]}]}",
                         "{\"entry\":[{\"changes\":[{\"value\":{\"statuses\":[{\"id\":\"x\"}]}}]}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct channel_webhook wh = {.method = "POST", .body = bad[i], .body_len = strlen(bad[i])};
        err_clear(&e);
        CHECK_EQ_INT(wa->parse(a, &wh, &ev, &e), ERR_INVALID);
        CHECK_EQ_INT(ev.n, 0);
    }
    /* A valid envelope with no messages (e.g. another field) is zero events. */
    const char *empty = "{\"object\":\"whatsapp_business_account\",\"entry\":[]}";
    struct channel_webhook wh = {.method = "POST", .body = empty, .body_len = strlen(empty)};
    CHECK_EQ_INT(wa->parse(a, &wh, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 0);
    arena_free(a);
}

/* Meta's message_template_status_update: one event per change, keyed by
 * template, event and time; "NONE" is no reason; one naming no template is
 * skipped (nothing to act on). */
static void test_channel__whatsapp_template_status(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e;

    CHECK_EQ_INT(parse_file(wa, a, "wa_template_status.json", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        const struct channel_event *t = &ev.items[0];
        CHECK_EQ_INT(t->kind, CHANNEL_EVENT_TEMPLATE_STATUS);
        CHECK_EQ_STR(t->text, "order_update");
        CHECK_EQ_STR(t->ref, "en_US");
        CHECK_EQ_STR(t->status, "approved");
        CHECK_EQ_STR(t->provider_message_id, "1627019861106475");
        CHECK(t->error_text == NULL);
        CHECK_EQ_INT(t->provider_ts, 1750090800000LL);
        CHECK_EQ_STR(t->event_id, "template:1627019861106475:order_update:en_US:approved:1750090800");
    }
    const char *rejected = "{\"entry\":[{\"id\":\"1\",\"time\":1750090900,\"changes\":[{\"field\":"
                           "\"message_template_status_update\",\"value\":{\"event\":\"REJECTED\","
                           "\"message_template_id\":\"77\",\"message_template_name\":\"promo\","
                           "\"message_template_language\":\"pt_BR\",\"reason\":\"INVALID_FORMAT\"}},"
                           "{\"field\":\"message_template_status_update\",\"value\":{\"event\":\"APPROVED\"}}]}]}";
    struct channel_webhook wh = {.method = "POST", .body = rejected, .body_len = strlen(rejected)};
    CHECK_EQ_INT(wa->parse(a, &wh, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].status, "rejected");
        CHECK_EQ_STR(ev.items[0].error_text, "INVALID_FORMAT");
        CHECK_EQ_STR(ev.items[0].provider_message_id, "77");
    }
    /* The normalised form keeps what the job needs. */
    struct buf b = {0};
    struct channel_event back;
    channel_event_json(&b, "whatsapp", ev.items[0].event_id, &ev.items[0], 5);
    CHECK_EQ_INT(channel_event_from_json(a, b.data, b.len, &back, NULL, NULL, &e), 0);
    CHECK_EQ_INT(back.kind, CHANNEL_EVENT_TEMPLATE_STATUS);
    CHECK_EQ_STR(back.text, "promo");
    CHECK_EQ_STR(back.ref, "pt_BR");
    CHECK_EQ_STR(back.error_text, "INVALID_FORMAT");
    buf_free(&b);
    arena_free(a);
}

/* Submitting to Meta: a new template with its components and examples, an
 * edit of a known one, and Meta's refusal with its message. */
static void test_channel__whatsapp_submit_template(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    const char *args[] = {"--access-token", "EAAtok", "--waba-id", "102290129340398", NULL};
    struct fake f;
    CHECK(channel_find("twilio")->submit_template == NULL);
    CHECK_EQ_INT(fake_start(&f, "fake_meta.py", args), 0);
    if (!f.pid)
        return;
    char base[96];
    snprintf(base, sizeof base, "%s/v21.0", f.base);
    struct channel_env env = {.graph_api_base = base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"access_token", "EAAtok"}, {"waba_id", "102290129340398"}};
    struct channel_creds cr = {cred, 2};
    struct channel_template_submit t = {.name = "ship", .language = "en_US", .category = "UTILITY",
                                        .header = "Shipping", .body = "Hi {{1}}, order {{2}}", .footer = "Bye",
                                        .buttons = "[{\"type\":\"QUICK_REPLY\",\"text\":\"Track\"}]",
                                        .nvariables = 2};
    struct channel_template_result res;
    struct err e = {0};

    fake_mode(&f, "{\"templates\":[]}");
    CHECK_EQ_INT(wa->submit_template(&env, &cr, &t, &res, &e), 0);
    CHECK_EQ_STR(res.status, "pending");
    CHECK_EQ_STR(res.provider_id, "5000"); /* the fake's first id */
    cJSON *root = fake_requests(&f);
    const cJSON *req = cJSON_GetArrayItem(root, 0), *body = cJSON_GetObjectItemCaseSensitive(req, "json");
    CHECK_EQ_STR(json_str(req, "path"), "/v21.0/102290129340398/message_templates");
    CHECK_EQ_STR(json_str(req, "authorization"), "Bearer EAAtok");
    CHECK_EQ_STR(json_str(body, "name"), "ship");
    const cJSON *comps = cJSON_GetObjectItemCaseSensitive(body, "components");
    CHECK_EQ_INT(cJSON_GetArraySize(comps), 4);
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(comps, 1), "type"), "BODY");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(comps, 1), "example");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ex, "body_text"), 0)), 2);
    cJSON_Delete(root);
    /* The same name and language again: Meta says why. */
    CHECK_EQ_INT(wa->submit_template(&env, &cr, &t, &res, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    CHECK(strstr(e.msg, "already exists") != NULL);
    /* An edit of the template Meta knows. */
    CHECK_EQ_STR(res.provider_id, ""); /* a refusal names no template */
    t.provider_id = "5000";
    t.body = "Hi {{1}}, order {{2}} is on its way";
    CHECK_EQ_INT(wa->submit_template(&env, &cr, &t, &res, &e), 0);
    CHECK_EQ_STR(res.provider_id, "5000");
    CHECK_EQ_STR(res.status, "pending");
    t.provider_id = "999999";
    CHECK_EQ_INT(wa->submit_template(&env, &cr, &t, &res, &e), ERR_UPSTREAM);
    fake_stop(&f);
}

/* ------------------------------------------------------------ sends */

static void test_channel__twilio_send(void)
{
    const struct channel_adapter *tw = channel_find("twilio");
    const char *args[] = {"--account-sid", "AC0123", "--auth-token", "secret-tok", NULL};
    struct fake f;
    CHECK_EQ_INT(fake_start(&f, "fake_twilio.py", args), 0);
    if (!f.pid)
        return;
    struct channel_env env = {.twilio_api_base = f.base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"account_sid", "AC0123"}, {"auth_token", "secret-tok"}, {"from", "+14155550100"}};
    struct channel_creds cr = {cred, 3};
    const char *media[] = {"https://example.com/a.jpg", "https://example.com/b.png"};
    struct channel_send msg = {.to = "+14155550123", .text = "hello & bye", .media_urls = media, .nmedia = 2,
                               .status_callback_url = "https://sb.example/webhooks/twilio/key1"};
    struct channel_kv wrongcred[] = {{"account_sid", "AC0123"}, {"auth_token", "secret-tok2"}};
    struct channel_creds bcr_wrong = {wrongcred, 2};
    struct channel_send_result r;
    struct err e;
    cJSON *root;

    err_clear(&e);
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), 0);
    CHECK_EQ_INT(r.http_status, 201);
    CHECK(strncmp(r.provider_message_id, "SM", 2) == 0 && strlen(r.provider_message_id) == 34);
    CHECK_EQ_STR(r.status, "queued");
    const cJSON *last = fake_last(&f, &root);
    const cJSON *form = cJSON_GetObjectItemCaseSensitive(last, "form");
    CHECK_EQ_STR(json_str(form, "Body"), "hello & bye");
    CHECK_EQ_STR(json_str(form, "From"), "+14155550100");
    CHECK_EQ_STR(json_str(form, "StatusCallback"), "https://sb.example/webhooks/twilio/key1");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(form, "MediaUrl")), 2);
    cJSON_Delete(root);

    /* Signed status callbacks from the fake pass our verify and parse. */
    int port = 0, lfd = recv_listen(&port);
    CHECK(lfd >= 0);
    char cb[128];
    snprintf(cb, sizeof cb, "http://127.0.0.1:%d/webhooks/twilio/key1?x=1", port);
    msg.status_callback_url = cb;
    msg.nmedia = 0;
    fake_mode(&f, "{\"callbacks\":[\"sent\",\"undelivered\"],\"error_code\":\"30003\"}");
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), 0);
    fake_mode(&f, "{\"callbacks\":[]}");
    const char *want_status[] = {"sent", "undelivered"};
    for (int i = 0; i < 2 && lfd >= 0; i++) {
        struct arena *a = arena_new();
        struct channel_webhook wh;
        struct channel_events ev = {0};
        CHECK_EQ_INT(recv_one(lfd, a, port, &wh), 0);
        CHECK_EQ_INT(tw->verify(&wh, &cr, &e), 0);
        CHECK_EQ_INT(tw->verify(&wh, &bcr_wrong, &e), ERR_FORBIDDEN);
        CHECK_EQ_INT(tw->parse(a, &wh, &ev, &e), 0);
        if (ev.n == 1) {
            CHECK_EQ_INT(ev.items[0].kind, CHANNEL_EVENT_STATUS);
            CHECK_EQ_STR(ev.items[0].provider_message_id, r.provider_message_id);
            CHECK_EQ_STR(ev.items[0].status, want_status[i]);
            if (i == 1)
                CHECK_EQ_STR(ev.items[0].error_code, "30003");
        }
        arena_free(a);
    }
    if (lfd >= 0)
        close(lfd);
    msg.status_callback_url = NULL;

    /* A messaging service instead of a From number. */
    struct channel_kv svccred[] = {{"account_sid", "AC0123"}, {"auth_token", "secret-tok"},
                                   {"messaging_service_sid", "MG0001"}};
    struct channel_creds scr = {svccred, 3};
    CHECK_EQ_INT(tw->send(&env, &scr, &msg, &r, &e), 0);
    last = fake_last(&f, &root);
    form = cJSON_GetObjectItemCaseSensitive(last, "form");
    CHECK_EQ_STR(json_str(form, "MessagingServiceSid"), "MG0001");
    CHECK(json_str(form, "From") == NULL);
    cJSON_Delete(root);

    /* 4xx: permanent, with Twilio's code. */
    msg.to = "12345";
    msg.nmedia = 0;
    err_clear(&e);
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    CHECK_EQ_INT(r.http_status, 400);
    CHECK_EQ_STR(r.error_code, "21211");
    msg.to = "+14155550123";

    /* Wrong credentials are a 401: permanent too. */
    struct channel_kv badcred[] = {{"account_sid", "AC0123"}, {"auth_token", "nope"}, {"from", "+1415"}};
    struct channel_creds bcr = {badcred, 3};
    CHECK_EQ_INT(tw->send(&env, &bcr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.http_status, 401);

    fake_mode(&f, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    CHECK_EQ_INT(r.http_status, 500);

    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":7}");
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_RATELIMIT);
    CHECK_EQ_INT(r.retry_after_s, 7);
    CHECK_EQ_INT(r.permanent, 0);

    fake_mode(&f, "{\"mode\":\"malformed\"}");
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);

    fake_mode(&f, "{\"mode\":\"close\"}");
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);

    fake_mode(&f, "{\"mode\":\"slow\",\"delay\":1.5}");
    env.timeout_ms = 300;
    int64_t t0 = time_mono_ns();
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_TIMEOUT);
    CHECK((time_mono_ns() - t0) / 1000000 < 1200);
    CHECK_EQ_INT(r.permanent, 0);
    fake_mode(&f, "{\"mode\":\"ok\"}");
    fake_stop(&f);

    /* Connection refused: nothing listens there any more. */
    env.timeout_ms = 2000;
    err_clear(&e);
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.http_status, 0);
}

static void test_channel__whatsapp_send(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    int port = 0, lfd = recv_listen(&port);
    char hook[128];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d/webhooks/whatsapp/k", port);
    const char *args[] = {"--access-token", "EAAtok", "--app-secret", "appsec", "--webhook-url", hook, NULL};
    struct fake f;
    CHECK(lfd >= 0);
    CHECK_EQ_INT(fake_start(&f, "fake_meta.py", args), 0);
    if (!f.pid) {
        close(lfd);
        return;
    }
    char base[96];
    snprintf(base, sizeof base, "%s/v21.0", f.base);
    struct channel_env env = {.graph_api_base = base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"phone_number_id", "106540352242922"}, {"access_token", "EAAtok"}};
    struct channel_creds cr = {cred, 2};
    struct channel_send_result r;
    struct err e;
    cJSON *root;

    struct channel_send text = {.to = "16505551234", .text = "hi \"there\""};
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), 0);
    CHECK(strncmp(r.provider_message_id, "wamid.", 6) == 0);
    const cJSON *last = fake_last(&f, &root);
    CHECK_EQ_STR(json_str(last, "path"), "/v21.0/106540352242922/messages");
    CHECK_EQ_STR(json_str(last, "authorization"), "Bearer EAAtok");
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "messaging_product"), "whatsapp");
    CHECK_EQ_STR(json_str(j, "type"), "text");
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(j, "text"), "body"), "hi \"there\"");
    cJSON_Delete(root);

    const char *params[] = {"Ada", "42"};
    struct channel_send tpl = {.to = "16505551234", .template_name = "order_update", .template_lang = "en_US",
                               .template_params = params, .ntemplate_params = 2};
    CHECK_EQ_INT(wa->send(&env, &cr, &tpl, &r, &e), 0);
    last = fake_last(&f, &root);
    j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "type"), "template");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "template");
    CHECK_EQ_STR(json_str(t, "name"), "order_update");
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(t, "language"), "code"), "en_US");
    const cJSON *comp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "components"), 0);
    CHECK_EQ_STR(json_str(comp, "type"), "body");
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(comp, "parameters");
    CHECK_EQ_INT(cJSON_GetArraySize(ps), 2);
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(ps, 1), "text"), "42");
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(ps, 0), "type"), "text");
    cJSON_Delete(root);

    const char *media[] = {"https://example.com/p.jpg"};
    struct channel_send img = {.to = "16505551234", .media_urls = media, .nmedia = 1};
    CHECK_EQ_INT(wa->send(&env, &cr, &img, &r, &e), 0);
    last = fake_last(&f, &root);
    j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "type"), "image");
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(j, "image"), "link"), "https://example.com/p.jpg");
    cJSON_Delete(root);

    /* Other media go as their own kinds: a document with its caption and
     * file name, audio without a caption. */
    const char *doc[] = {"https://example.com/files/Invoice-42.pdf?sig=1"};
    struct channel_send dm = {.to = "16505551234", .text = "your invoice", .media_urls = doc, .nmedia = 1};
    CHECK_EQ_INT(wa->send(&env, &cr, &dm, &r, &e), 0);
    last = fake_last(&f, &root);
    j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "type"), "document");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "document");
    CHECK_EQ_STR(json_str(d, "link"), doc[0]);
    CHECK_EQ_STR(json_str(d, "caption"), "your invoice");
    CHECK_EQ_STR(json_str(d, "filename"), "Invoice-42.pdf");
    cJSON_Delete(root);
    const char *voice[] = {"https://example.com/v/note.OGG"};
    struct channel_send vm = {.to = "16505551234", .text = "dropped", .media_urls = voice, .nmedia = 1};
    CHECK_EQ_INT(wa->send(&env, &cr, &vm, &r, &e), 0);
    last = fake_last(&f, &root);
    j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "type"), "audio");
    CHECK(json_str(cJSON_GetObjectItemCaseSensitive(j, "audio"), "caption") == NULL);
    cJSON_Delete(root);
    const char *clip[] = {"https://example.com/c.mp4"};
    struct channel_send cm = {.to = "16505551234", .media_urls = clip, .nmedia = 1};
    CHECK_EQ_INT(wa->send(&env, &cr, &cm, &r, &e), 0);
    last = fake_last(&f, &root);
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(last, "json"), "type"), "video");
    cJSON_Delete(root);

    /* Signed status webhooks from the fake pass our verify and parse. */
    struct channel_kv seccred[] = {{"app_secret", "appsec"}};
    struct channel_creds scr = {seccred, 1};
    fake_mode(&f, "{\"callbacks\":[\"delivered\",\"read\"]}");
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), 0);
    fake_mode(&f, "{\"callbacks\":[]}");
    const char *want_status[] = {"delivered", "read"};
    for (int i = 0; i < 2 && lfd >= 0; i++) {
        struct arena *a = arena_new();
        struct channel_webhook wh;
        struct channel_events ev = {0};
        CHECK_EQ_INT(recv_one(lfd, a, port, &wh), 0);
        CHECK_EQ_INT(wa->verify(&wh, &scr, &e), 0);
        CHECK_EQ_INT(wa->verify(&wh, &cr, &e), ERR_FORBIDDEN); /* no app secret there */
        CHECK_EQ_INT(wa->parse(a, &wh, &ev, &e), 0);
        CHECK_EQ_INT(ev.n, 1);
        if (ev.n == 1) {
            CHECK_EQ_STR(ev.items[0].provider_message_id, r.provider_message_id);
            CHECK_EQ_STR(ev.items[0].status, want_status[i]);
            CHECK_EQ_STR(ev.items[0].to, "16505551234");
            CHECK(ev.items[0].provider_ts > 0);
        }
        arena_free(a);
    }
    close(lfd);

    /* Outside the window: 131047, permanent, with a stable slug. */
    fake_mode(&f, "{\"mode\":\"outside_window\"}");
    err_clear(&e);
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    CHECK_EQ_STR(r.error_code, "131047");
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    CHECK_EQ_INT(wa->send(&env, &cr, &tpl, &r, &e), 0);

    struct channel_kv bad[] = {{"phone_number_id", "1"}, {"access_token", "wrong"}};
    struct channel_creds bcr = {bad, 2};
    fake_mode(&f, "{\"mode\":\"ok\"}");
    CHECK_EQ_INT(wa->send(&env, &bcr, &text, &r, &e), ERR_INVALID);
    CHECK_EQ_STR(r.error_code, "190");

    fake_mode(&f, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":3}");
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_RATELIMIT);
    CHECK_EQ_INT(r.retry_after_s, 3);
    fake_mode(&f, "{\"mode\":\"malformed\"}");
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
    fake_mode(&f, "{\"mode\":\"slow\",\"delay\":1.5}");
    env.timeout_ms = 300;
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_TIMEOUT);
    fake_mode(&f, "{\"mode\":\"ok\"}");
    fake_stop(&f);
    env.timeout_ms = 2000;
    CHECK_EQ_INT(wa->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
}

/* -------------------------------------------------------- templates */

static void test_channel__whatsapp_list_templates(void)
{
    const struct channel_adapter *wa = channel_find("whatsapp");
    const char *args[] = {"--access-token", "EAAtok", "--waba-id", "102290129340398", NULL};
    struct fake f;
    CHECK(channel_find("twilio")->list_templates == NULL);
    CHECK(wa->list_templates != NULL);
    CHECK_EQ_INT(fake_start(&f, "fake_meta.py", args), 0);
    if (!f.pid)
        return;
    char base[96];
    snprintf(base, sizeof base, "%s/v21.0", f.base);
    struct channel_env env = {.graph_api_base = base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"access_token", "EAAtok"}, {"waba_id", "102290129340398"}};
    struct channel_creds cr = {cred, 2};
    struct channel_templates tl;
    struct err e;
    cJSON *root;

    /* Five templates in Meta's shape, two per page: three pages. */
    fake_mode(&f, "{\"page_size\":2,\"templates\":["
                  "{\"name\":\"order_update\",\"language\":\"en_US\",\"status\":\"APPROVED\","
                  "\"category\":\"UTILITY\",\"components\":[{\"type\":\"HEADER\",\"format\":\"TEXT\","
                  "\"text\":\"Update\"},{\"type\":\"BODY\",\"text\":\"Hi {{1}}, order {{2}} shipped.\"}]},"
                  "{\"name\":\"order_update\",\"language\":\"pt_BR\",\"status\":\"PENDING\","
                  "\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Oi {{1}}\"}]},"
                  "{\"name\":\"promo\",\"language\":\"en_US\",\"status\":\"REJECTED\","
                  "\"category\":\"MARKETING\",\"components\":[]},"
                  "{\"name\":\"login_code\",\"language\":\"en_US\",\"status\":\"Paused\","
                  "\"category\":\"AUTHENTICATION\"},"
                  "{\"name\":\"bye\",\"language\":\"en\",\"status\":\"DISABLED\","
                  "\"category\":\"UTILITY\",\"components\":[{\"type\":\"BODY\",\"text\":\"Bye\"}]}]}");
    struct arena *a = arena_new();
    err_clear(&e);
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), 0);
    CHECK_EQ_INT(tl.n, 5);
    CHECK_EQ_INT(tl.complete, 1);
    if (tl.n == 5) {
        CHECK_EQ_STR(tl.items[0].name, "order_update");
        CHECK_EQ_STR(tl.items[0].language, "en_US");
        CHECK_EQ_STR(tl.items[0].status, "approved");
        CHECK_EQ_STR(tl.items[0].category, "UTILITY");
        CHECK_EQ_STR(tl.items[0].body, "Hi {{1}}, order {{2}} shipped.");
        CHECK_EQ_STR(tl.items[1].language, "pt_BR");
        CHECK_EQ_STR(tl.items[1].status, "pending");
        CHECK_EQ_STR(tl.items[2].body, "");
        CHECK_EQ_STR(tl.items[3].status, "paused");
        CHECK_EQ_STR(tl.items[3].body, "");
        CHECK_EQ_STR(tl.items[4].name, "bye");
        CHECK_EQ_STR(tl.items[4].status, "disabled");
    }
    /* The pages were asked for as Meta documents, with the bearer token. */
    root = fake_requests(&f);
    CHECK_EQ_INT(cJSON_GetArraySize(root), 3);
    const cJSON *first = cJSON_GetArrayItem(root, 0), *third = cJSON_GetArrayItem(root, 2);
    CHECK_EQ_STR(json_str(first, "authorization"), "Bearer EAAtok");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(first, "query");
    CHECK_EQ_STR(json_str(q, "fields"), "name,language,status,category,components");
    CHECK_EQ_STR(json_str(q, "limit"), "100");
    CHECK(json_str(q, "after") == NULL);
    CHECK(strncmp(json_str(first, "path"), "/v21.0/102290129340398/message_templates?", 41) == 0);
    CHECK(json_str(cJSON_GetObjectItemCaseSensitive(third, "query"), "after") != NULL);
    cJSON_Delete(root);
    arena_free(a);

    /* An empty list is a complete, empty answer. */
    fake_mode(&f, "{\"templates\":[]}");
    a = arena_new();
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), 0);
    CHECK_EQ_INT(tl.n, 0);
    CHECK_EQ_INT(tl.complete, 1);
    arena_free(a);

    /* No business account id: nothing to ask. */
    struct channel_kv nowaba[] = {{"access_token", "EAAtok"}};
    struct channel_creds ncr = {nowaba, 1};
    a = arena_new();
    err_clear(&e);
    CHECK_EQ_INT(wa->list_templates(a, &env, &ncr, &tl, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "waba_id_required");
    /* Refusals (unknown account, bad token) are the provider's, not the caller's. */
    struct channel_kv other[] = {{"access_token", "EAAtok"}, {"waba_id", "999"}};
    struct channel_creds ocr = {other, 2};
    CHECK_EQ_INT(wa->list_templates(a, &env, &ocr, &tl, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    struct channel_kv badtok[] = {{"access_token", "nope"}, {"waba_id", "102290129340398"}};
    struct channel_creds bcr = {badtok, 2};
    CHECK_EQ_INT(wa->list_templates(a, &env, &bcr, &tl, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    CHECK(strstr(e.msg, "nope") == NULL);
    fake_mode(&f, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_error");
    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":2}");
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), ERR_RATELIMIT);
    fake_mode(&f, "{\"mode\":\"malformed\"}");
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_bad_response");
    fake_mode(&f, "{\"mode\":\"slow\",\"delay\":1.5}");
    env.timeout_ms = 300;
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), ERR_TIMEOUT);
    env.timeout_ms = 3000;
    /* paging.next is followed to the Graph host only: the fake names
     * 127.0.0.1, a base of "localhost" makes that another host. */
    fake_mode(&f, "{\"mode\":\"ok\",\"page_size\":1,\"templates\":["
                  "{\"name\":\"a\",\"language\":\"en\",\"status\":\"APPROVED\"},"
                  "{\"name\":\"b\",\"language\":\"en\",\"status\":\"APPROVED\"}]}");
    char lbase[96];
    snprintf(lbase, sizeof lbase, "http://localhost:%d/v21.0", f.port);
    env.graph_api_base = lbase;
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), ERR_UPSTREAM);
    CHECK(strstr(e.msg, "paging.next") != NULL);
    env.graph_api_base = base;
    CHECK_EQ_INT(wa->list_templates(a, &env, &cr, &tl, &e), 0);
    CHECK_EQ_INT(tl.n, 2);
    arena_free(a);
    fake_stop(&f);
}

/* ------------------------------------------------ connection reuse */

/* A CURLSH for DNS and TLS sessions with one mutex per data kind, as the
 * messaging core builds it. */
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access acc, void *ud)
{
    (void)h, (void)acc, (void)ud;
    pthread_mutex_lock(&share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
    (void)h, (void)ud;
    pthread_mutex_unlock(&share_locks[d]);
}

/* How many distinct connections the fake's recorded requests came on,
 * counting from request index from. */
static int distinct_conns(const struct fake *f, int from, int *nreq)
{
    cJSON *root = fake_requests(f);
    int seen[256], nseen = 0, n = cJSON_GetArraySize(root);
    for (int i = from; i < n; i++) {
        int64_t c = 0;
        (void)json_int(cJSON_GetArrayItem(root, i), "conn", &c);
        int dup = 0;
        for (int j = 0; j < nseen; j++)
            dup |= seen[j] == (int)c;
        if (!dup && nseen < 256)
            seen[nseen++] = (int)c;
    }
    if (nreq)
        *nreq = n - from;
    cJSON_Delete(root);
    return nseen;
}

struct send_thread {
    const struct channel_env *env;
    const struct channel_creds *cr;
    int ok;
};

static void *send_many(void *ud)
{
    struct send_thread *t = ud;
    struct channel_send msg = {.to = "+14155550123", .text = "hi"};
    for (int i = 0; i < 10; i++) {
        struct channel_send_result r;
        struct err e = {0};
        if (channel_find("twilio")->send(t->env, t->cr, &msg, &r, &e) == 0)
            t->ok++;
    }
    return NULL;
}

static void test_channel__connection_reuse(void)
{
    const struct channel_adapter *tw = channel_find("twilio"), *wa = channel_find("whatsapp");
    const char *targs[] = {"--account-sid", "AC0123", "--auth-token", "secret-tok", NULL};
    const char *margs[] = {"--access-token", "EAAtok", NULL};
    struct fake ft, fm;
    CHECK_EQ_INT(fake_start(&ft, "fake_twilio.py", targs), 0);
    CHECK_EQ_INT(fake_start(&fm, "fake_meta.py", margs), 0);
    if (!ft.pid || !fm.pid) {
        fake_stop(&ft);
        fake_stop(&fm);
        return;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    CURLSH *share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    struct channel_pool *pool = NULL;
    struct err e = {0};
    CHECK_EQ_INT(channel_pool_new(&pool, share, 8, &e), 0);
    char gbase[96];
    snprintf(gbase, sizeof gbase, "%s/v21.0", fm.base);
    struct channel_env env = {.twilio_api_base = ft.base, .graph_api_base = gbase, .timeout_ms = 3000,
                              .curl_share = share, .pool = pool};
    struct channel_kv cred[] = {{"account_sid", "AC0123"}, {"auth_token", "secret-tok"}, {"from", "+14155550100"}};
    struct channel_creds cr = {cred, 3};
    struct channel_kv wcred[] = {{"phone_number_id", "106540352242922"}, {"access_token", "EAAtok"}};
    struct channel_creds wcr = {wcred, 2};
    struct channel_send msg = {.to = "+14155550123", .text = "hello"};
    struct channel_send_result r;
    int nreq = 0, ok = 0;

    /* Many sequential sends through one pool: one connection. */
    for (int i = 0; i < 25; i++)
        ok += tw->send(&env, &cr, &msg, &r, &e) == 0;
    CHECK_EQ_INT(ok, 25);
    CHECK_EQ_INT(distinct_conns(&ft, 0, &nreq), 1);
    CHECK_EQ_INT(nreq, 25);
    CHECK_EQ_INT(channel_pool_connections(pool), 1);

    /* Another provider through the same pool: its own connection, and no
     * credential of the Twilio requests comes along. */
    struct channel_send wmsg = {.to = "16505551234", .text = "hi"};
    CHECK_EQ_INT(wa->send(&env, &wcr, &wmsg, &r, &e), 0);
    CHECK_EQ_INT(wa->send(&env, &wcr, &wmsg, &r, &e), 0);
    cJSON *root;
    const cJSON *last = fake_last(&fm, &root);
    CHECK_EQ_STR(json_str(last, "authorization"), "Bearer EAAtok");
    cJSON_Delete(root);
    CHECK_EQ_INT(distinct_conns(&fm, 0, NULL), 1);
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), 0);
    last = fake_last(&ft, &root);
    CHECK(strncmp(json_str(last, "authorization"), "Basic ", 6) == 0);
    cJSON_Delete(root);
    CHECK_EQ_INT(distinct_conns(&ft, 0, NULL), 1);
    CHECK_EQ_INT(channel_pool_connections(pool), 2);

    /* Without a pool every send opens a connection: what the pool saves. */
    struct channel_env bare = env;
    bare.pool = NULL;
    int before = 0;
    (void)distinct_conns(&ft, 0, &before);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(tw->send(&bare, &cr, &msg, &r, &e), 0);
    CHECK_EQ_INT(distinct_conns(&ft, before, NULL), 5);

    /* Concurrent senders: at most one connection each, reused. */
    (void)distinct_conns(&ft, 0, &before);
    pthread_t th[4];
    struct send_thread st[4];
    for (int i = 0; i < 4; i++) {
        st[i] = (struct send_thread){.env = &env, .cr = &cr};
        pthread_create(&th[i], NULL, send_many, &st[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(st[i].ok, 10);
    }
    int conns = distinct_conns(&ft, before, &nreq);
    CHECK_EQ_INT(nreq, 40);
    CHECK(conns >= 1 && conns <= 4);
    CHECK(channel_pool_connections(pool) <= 2 + 4);

    /* The timeout still holds on a reused connection, and the pool keeps
     * working after it. */
    fake_mode(&ft, "{\"mode\":\"slow\",\"delay\":1.5}");
    env.timeout_ms = 300;
    int64_t t0 = time_mono_ns();
    err_clear(&e);
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), ERR_TIMEOUT);
    CHECK((time_mono_ns() - t0) / 1000000 < 1200);
    fake_mode(&ft, "{\"mode\":\"ok\"}");
    env.timeout_ms = 3000;
    CHECK_EQ_INT(tw->send(&env, &cr, &msg, &r, &e), 0);

    fake_stop(&ft);
    fake_stop(&fm);
    channel_pool_free(pool);
    curl_share_cleanup(share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&share_locks[i]);
}

static void test_channel__caps(void)
{
    CHECK_EQ_INT(channel_find("twilio")->caps.max_text_len, 1600);
    CHECK_EQ_INT(channel_find("twilio")->caps.window_ms, 0);
    CHECK_EQ_INT(channel_find("whatsapp")->caps.max_text_len, 4096);
    CHECK_EQ_INT(channel_find("whatsapp")->caps.window_ms, 24LL * 3600 * 1000);
    CHECK(strstr(channel_find("twilio")->caps.media_types, "image/gif") != NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    crypto_init();
    TEST_RUN(test_channel__twilio_signature);
    TEST_RUN(test_channel__twilio_parse);
    TEST_RUN(test_channel__whatsapp_signature_and_handshake);
    TEST_RUN(test_channel__whatsapp_parse);
    TEST_RUN(test_channel__caps);
    TEST_RUN(test_channel__twilio_send);
    TEST_RUN(test_channel__whatsapp_send);
    TEST_RUN(test_channel__whatsapp_list_templates);
    TEST_RUN(test_channel__whatsapp_template_status);
    TEST_RUN(test_channel__whatsapp_submit_template);
    TEST_RUN(test_channel__connection_reuse);
    curl_global_cleanup();
    TEST_DONE();
}
