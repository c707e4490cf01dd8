/*
 * The SendGrid adapter through the channel contract and its parsers:
 * Event Webhook signatures (ECDSA P-256 signed here with OpenSSL, as
 * SendGrid signs: good, tampered, missing, wrong key, wrong timestamp),
 * event parsing and its status mapping, the multipart/form-data parser
 * (CRLF and bare LF, quoted boundaries, binary parts, truncation and
 * bounds), Inbound Parse in both modes (parsed fields with a non-UTF-8
 * charset, and a raw MIME message through GMime), and Mail Send against
 * tests/fakes/fake_sendgrid.py in each answer it gives (202, 400, 401, 413,
 * 429 with X-RateLimit-Reset, 500, a dropped connection).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "channel/channel.h"
#include "channel/channel_sendgrid_int.h"
#include "test.h"
#include "test_fake.h"

/* ------------------------------------------------------------- signing */

static EVP_PKEY *gen_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* base64 DER SubjectPublicKeyInfo of k. */
static void pub_b64(EVP_PKEY *k, char *out, size_t outlen)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    crypto_base64(out, outlen, der, (size_t)n);
    OPENSSL_free(der);
}

/* base64 DER ECDSA-SHA256 signature of ts || body. */
static void sign_b64(EVP_PKEY *k, const char *ts, const char *body, char *out, size_t outlen)
{
    unsigned char sig[128];
    size_t sl = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k);
    EVP_DigestSignUpdate(ctx, ts, strlen(ts));
    EVP_DigestSignUpdate(ctx, body, strlen(body));
    EVP_DigestSignFinal(ctx, sig, &sl);
    EVP_MD_CTX_free(ctx);
    crypto_base64(out, outlen, sig, sl);
}

static const char events_body[] =
    "[{\"email\":\"ada@example.com\",\"timestamp\":1700000000,\"smtp-id\":\"<x@ismtpd>\",\"event\":\"processed\","
    "\"sg_event_id\":\"ev-proc-1\",\"sg_message_id\":\"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-1.0\"},"
    "{\"email\":\"ada@example.com\",\"timestamp\":1700000005,\"event\":\"delivered\",\"response\":\"250 OK\","
    "\"sg_event_id\":\"ev-del-1\",\"sg_message_id\":\"W86EgYT6SQKk0lRflfLRsA.filterdrecv-p3las1-1.0\"},"
    "{\"email\":\"bob@example.com\",\"timestamp\":1700000006,\"event\":\"bounce\",\"type\":\"bounce\","
    "\"reason\":\"550 5.1.1 no such user\",\"status\":\"5.1.1\",\"sg_event_id\":\"ev-b-1\","
    "\"sg_message_id\":\"Zz9.filter0001\"},"
    "{\"email\":\"cy@example.com\",\"timestamp\":1700000007,\"event\":\"bounce\",\"type\":\"blocked\","
    "\"reason\":\"554 blocked by policy\",\"sg_event_id\":\"ev-bl-1\",\"sg_message_id\":\"Q1.f\"},"
    "{\"email\":\"dee@example.com\",\"timestamp\":1700000008,\"event\":\"dropped\",\"reason\":\"Bounced Address\","
    "\"sg_event_id\":\"ev-dr-1\",\"sg_message_id\":\"Q2.f\"},"
    "{\"email\":\"dee@example.com\",\"timestamp\":1700000008,\"event\":\"dropped\","
    "\"reason\":\"Recipient List over Package Quota\",\"sg_event_id\":\"ev-dr-2\",\"sg_message_id\":\"Q3.f\"},"
    "{\"email\":\"eve@example.com\",\"timestamp\":1700000009,\"event\":\"spamreport\",\"sg_event_id\":\"ev-sp-1\","
    "\"sg_message_id\":\"Q4.f\"},"
    "{\"email\":\"fay@example.com\",\"timestamp\":1700000010,\"event\":\"group_unsubscribe\",\"asm_group_id\":7,"
    "\"sg_event_id\":\"ev-un-1\",\"sg_message_id\":\"Q5.f\"},"
    "{\"email\":\"ada@example.com\",\"timestamp\":1700000011,\"event\":\"open\",\"sg_event_id\":\"ev-op-1\","
    "\"sg_message_id\":\"W86EgYT6SQKk0lRflfLRsA.filterdrecv\"},"
    "{\"email\":\"ada@example.com\",\"timestamp\":1700000012,\"event\":\"click\",\"url\":\"https://x.example/a\","
    "\"sg_event_id\":\"ev-cl-1\",\"sg_message_id\":\"W86EgYT6SQKk0lRflfLRsA.filterdrecv\"},"
    "{\"email\":\"ada@example.com\",\"timestamp\":1700000013,\"event\":\"deferred\",\"response\":\"421 later\","
    "\"attempt\":\"1\",\"sg_event_id\":\"ev-df-1\",\"sg_message_id\":\"W86EgYT6SQKk0lRflfLRsA.f\"}]";

static void test_channel__sendgrid_signature(void)
{
    const struct channel_adapter *sg = channel_find("sendgrid");
    EVP_PKEY *k = gen_key(), *other = gen_key();
    char pub[256], pub_other[256], sig[256];
    struct err e = {0};
    CHECK(sg != NULL && k != NULL && other != NULL);
    pub_b64(k, pub, sizeof pub);
    pub_b64(other, pub_other, sizeof pub_other);
    sign_b64(k, "1700000100", events_body, sig, sizeof sig);

    struct channel_kv hdr[] = {{"content-type", "application/json"},
                               {"x-twilio-email-event-webhook-signature", sig},
                               {"x-twilio-email-event-webhook-timestamp", "1700000100"}};
    struct channel_kv cred[] = {{"api_key", "SG.x"}, {"event_public_key", pub}};
    struct channel_creds cr = {cred, 2};
    struct channel_webhook wh = {.method = "POST", .url = "https://x/webhooks/sendgrid/k", .body = events_body,
                                 .body_len = strlen(events_body), .headers = hdr, .nheaders = 3};
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), 0);

    /* One byte more in the body, another timestamp, another key: refused. */
    wh.body_len--;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    wh.body_len++;
    hdr[2].value = "1700000101";
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    hdr[2].value = "1700000100";
    cred[1].value = pub_other;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    /* No key configured: refused, never accepted. */
    cr.n = 1;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    cr.n = 2;
    cred[1].value = pub;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), 0);
    /* Garbage signature and garbage key. */
    hdr[1].value = "bm90IGEgc2lnbmF0dXJl";
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    hdr[1].value = sig;
    cred[1].value = "not base64!";
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    cred[1].value = pub;
    /* Missing headers. */
    wh.nheaders = 2;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    wh.nheaders = 1;
    CHECK_EQ_INT(sg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");

    /* Inbound Parse: the URL's secret, compared exactly. */
    struct channel_kv ihdr[] = {{"content-type", "multipart/form-data; boundary=xYzZY"}};
    struct channel_kv q[] = {{"secret", "inbound-secret-0123456789"}};
    struct channel_kv icred[] = {{"inbound_secret", "inbound-secret-0123456789"}};
    struct channel_creds icr = {icred, 1};
    struct channel_webhook iw = {.method = "POST", .url = "https://x/", .body = "", .headers = ihdr, .nheaders = 1,
                                 .query = q, .nquery = 1};
    CHECK_EQ_INT(sg->verify(&iw, &icr, &e), 0);
    q[0].value = "inbound-secret-012345678";
    CHECK_EQ_INT(sg->verify(&iw, &icr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    iw.nquery = 0;
    CHECK_EQ_INT(sg->verify(&iw, &icr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

static void test_channel__sendgrid_events(void)
{
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    CHECK_EQ_INT(channel_sendgrid_events(a, events_body, strlen(events_body), &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 11);
    if (ev.n == 11) {
        struct channel_event *x = ev.items;
        CHECK_EQ_INT(x[0].kind, CHANNEL_EVENT_STATUS);
        CHECK_EQ_STR(x[0].event_id, "ev-proc-1");
        CHECK_EQ_STR(x[0].provider_message_id, "W86EgYT6SQKk0lRflfLRsA");
        CHECK_EQ_STR(x[0].to, "ada@example.com");
        CHECK_EQ_STR(x[0].status, "sent");
        CHECK_EQ_INT(x[0].provider_ts, 1700000000000LL);
        CHECK_EQ_STR(x[1].status, "delivered");
        CHECK_EQ_STR(x[2].status, "failed");
        CHECK_EQ_STR(x[2].error_code, "bounce");
        CHECK_EQ_STR(x[2].error_text, "550 5.1.1 no such user");
        CHECK_EQ_STR(x[2].provider_message_id, "Zz9");
        CHECK_EQ_STR(x[3].error_code, "blocked");
        CHECK_EQ_STR(x[4].error_code, "dropped");
        CHECK_EQ_STR(x[5].error_code, "dropped_message");
        CHECK_EQ_STR(x[6].error_code, "spamreport");
        CHECK_EQ_STR(x[7].error_code, "unsubscribe");
        CHECK_EQ_STR(x[7].status, "failed");
        CHECK_EQ_STR(x[8].status, "read");
        CHECK_EQ_STR(x[9].status, "click");
        CHECK_EQ_STR(x[9].error_text, "https://x.example/a");
        CHECK(x[9].error_code == NULL);
        CHECK_EQ_STR(x[10].status, "deferred");
        CHECK_EQ_STR(x[10].error_text, "421 later");
    }
    /* Malformed: not an array, an element not an object, no sg_event_id. */
    static const char *const bad[] = {
        "{\"event\":\"open\"}", "[1]", "[{\"event\":\"open\",\"email\":\"a@b.c\"}]",
        "[{\"sg_event_id\":\"x\",\"email\":\"a@b.c\"}]", "[{\"sg_event_id\":\"x\",\"event\":\"open\"}]", "[", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        CHECK_EQ_INT(channel_sendgrid_events(a, bad[i], strlen(bad[i]), &ev, &e), ERR_INVALID);
        CHECK_EQ_INT(ev.n, 0);
    }
    CHECK_EQ_INT(channel_sendgrid_events(a, "[]", 2, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 0);
    arena_free(a);
}

static void test_channel__multipart(void)
{
    struct arena *a = arena_new();
    struct channel_part *p = NULL;
    size_t n = 0;
    struct err e = {0};

    CHECK_EQ_STR(channel_multipart_boundary(a, "multipart/form-data; boundary=xYzZY"), "xYzZY");
    CHECK_EQ_STR(channel_multipart_boundary(a, "Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\""), "a b:c");
    CHECK(channel_multipart_boundary(a, "application/json") == NULL);
    CHECK(channel_multipart_boundary(a, "multipart/form-data") == NULL);
    CHECK(channel_multipart_boundary(a, "multipart/form-data; boundary=") == NULL);
    CHECK(channel_multipart_boundary(a, "multipart/form-data; boundary=\"ends with space \"") == NULL);
    CHECK(channel_multipart_boundary(a, "multipart/form-database; boundary=x") == NULL);

    /* CRLF, a preamble, a file with binary content (NUL, a fake boundary
     * that is not at a line start, "--xYzZYz" that is longer). */
    static const char body[] = "preamble\r\n--xYzZY\r\n"
                               "Content-Disposition: form-data; name=\"from\"\r\n\r\n"
                               "Ada <ada@example.com>\r\n"
                               "--xYzZY\r\n"
                               "Content-Disposition: form-data; name=\"attachment1\"; filename=\"a \\\"b\\\".bin\"\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "\x01\x00 --xYzZY\r\n--xYzZYz\r\n"
                               "--xYzZY\r\n"
                               "Content-Disposition: form-data;\r\n name=\"empty\"\r\n\r\n"
                               "\r\n"
                               "--xYzZY--\r\nepilogue";
    CHECK_EQ_INT(channel_multipart_parse(a, "xYzZY", body, sizeof body - 1, &p, &n, &e), 0);
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK_EQ_STR(p[0].name, "from");
        CHECK(p[0].filename == NULL);
        CHECK_EQ_INT(p[0].len, 21);
        CHECK(memcmp(p[0].data, "Ada <ada@example.com>", 21) == 0);
        CHECK_EQ_STR(p[1].name, "attachment1");
        CHECK_EQ_STR(p[1].filename, "a \"b\".bin");
        CHECK_EQ_STR(p[1].content_type, "application/octet-stream");
        CHECK_EQ_INT(p[1].len, 20);
        CHECK(memcmp(p[1].data, "\x01\x00 --xYzZY\r\n--xYzZYz", 20) == 0);
        CHECK_EQ_STR(p[2].name, "empty");
        CHECK_EQ_INT(p[2].len, 0);
        CHECK_EQ_STR(channel_multipart_field(a, p, n, "from"), "Ada <ada@example.com>");
        CHECK(channel_multipart_field(a, p, n, "attachment1") == NULL); /* a file, not a field */
    }
    /* Bare LF line ends. */
    static const char lf[] = "--b\nContent-Disposition: form-data; name=\"t\"\n\nhello\nworld\n--b--\n";
    CHECK_EQ_INT(channel_multipart_parse(a, "b", lf, sizeof lf - 1, &p, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(channel_multipart_field(a, p, n, "t"), "hello\nworld");
    /* No parts at all. */
    CHECK_EQ_INT(channel_multipart_parse(a, "b", "--b--\r\n", 7, &p, &n, &e), 0);
    CHECK_EQ_INT(n, 0);
    /* Refused: truncated (no close), no boundary, a part without
     * Content-Disposition, headers that never end. */
    static const char *const bad[] = {
        "--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nhello",
        "--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nhello\r\n--b\r\n",
        "no boundary here",
        "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"t\"\r\n",
        "--b\r\nContent-Disposition: attachment; name=\"t\"\r\n\r\nx\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear(&e);
        CHECK_EQ_INT(channel_multipart_parse(a, "b", bad[i], strlen(bad[i]), &p, &n, &e), ERR_INVALID);
        CHECK_EQ_INT(n, 0);
    }
    /* More parts than the bound. */
    struct buf many = {0};
    for (int i = 0; i <= CHANNEL_MULTIPART_MAX_PARTS; i++)
        buf_printf(&many, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    buf_puts(&many, "--b--\r\n");
    CHECK_EQ_INT(channel_multipart_parse(a, "b", many.data, many.len, &p, &n, &e), ERR_INVALID);
    buf_free(&many);
    arena_free(a);
}

/* A multipart/form-data body of name/value pairs, boundary "BB". */
static void form(struct buf *b, const char *const *kv)
{
    for (; kv[0]; kv += 2)
        buf_printf(b, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", kv[0], kv[1]);
    buf_puts(b, "--BB--\r\n");
}

static void test_channel__sendgrid_inbound(void)
{
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e = {0};
    struct buf b = {0};
    const char *ct = "multipart/form-data; boundary=BB";

    /* Parsed fields; the text in ISO-8859-1 as "charsets" says. */
    const char *const parsed[] = {
        "headers",
        "Received: by mx.sendgrid.net\r\nFrom: =?UTF-8?Q?Jos=C3=A9?= <jose@example.com>\r\n"
        "To: support@shop.example\r\nSubject: Re: order\r\nMessage-ID: <r1@mail.example.com>\r\n"
        "In-Reply-To: <orig-1@shop.example>\r\nReferences: <root@shop.example>\r\n <orig-1@shop.example>",
        "from", "Jos\xc3\xa9 <jose@example.com>",
        "to", "Support <support@shop.example>",
        "subject", "Re: order",
        "text", "Caf\xe9 tomorrow?",
        "html", "<p>Caf\xe9</p>",
        "envelope", "{\"to\":[\"support@shop.example\"],\"from\":\"bounce@example.com\"}",
        "charsets", "{\"to\":\"UTF-8\",\"html\":\"iso-8859-1\",\"subject\":\"UTF-8\",\"from\":\"UTF-8\","
                    "\"text\":\"iso-8859-1\"}",
        NULL};
    form(&b, parsed);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        const struct channel_event *x = ev.items;
        CHECK_EQ_INT(x->kind, CHANNEL_EVENT_MESSAGE);
        CHECK_EQ_STR(x->from, "jose@example.com");
        CHECK_EQ_STR(x->contact_name, "Jos\xc3\xa9");
        CHECK_EQ_STR(x->to, "support@shop.example");
        CHECK_EQ_STR(x->subject, "Re: order");
        CHECK_EQ_STR(x->text, "Caf\xc3\xa9 tomorrow?");
        CHECK_EQ_STR(x->html, "<p>Caf\xc3\xa9</p>");
        CHECK_EQ_STR(x->rfc_message_id, "<r1@mail.example.com>");
        CHECK_EQ_STR(x->event_id, "<r1@mail.example.com>");
        CHECK_EQ_STR(x->in_reply_to, "<orig-1@shop.example>");
        CHECK_EQ_STR(x->references, "<root@shop.example> <orig-1@shop.example>");
    }

    /* Send Raw: a multipart/alternative mail with an attachment, through GMime. */
    buf_reset(&b);
    const char *const raw[] = {
        "to", "support@shop.example",
        "from", "Ann <ann@example.org>",
        "email",
        "From: Ann <ann@example.org>\r\nTo: support@shop.example\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
        "Message-ID: <raw-1@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
        "--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
        "--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Gr=FC=DFe\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>hi</b>\r\n--alt--\r\n"
        "--mix\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--mix--\r\n",
        NULL};
    form(&b, raw);
    err_clear(&e);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len, &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        const struct channel_event *x = ev.items;
        CHECK_EQ_STR(x->from, "ann@example.org");
        CHECK_EQ_STR(x->contact_name, "Ann");
        CHECK_EQ_STR(x->subject, "Gr\xc3\xbc\xc3\x9f" "e");
        CHECK_EQ_STR(x->text, "Gr\xc3\xbc\xc3\x9f" "e");
        CHECK_EQ_STR(x->html, "<b>hi</b>");
        CHECK_EQ_STR(x->rfc_message_id, "<raw-1@example.org>");
        CHECK(x->in_reply_to == NULL);
        CHECK_EQ_INT(x->nmedia, 1);
        if (x->nmedia == 1) {
            CHECK_EQ_STR(x->media[0].id, "invoice.pdf");
            CHECK_EQ_STR(x->media[0].content_type, "application/pdf");
        }
    }

    /* No Message-ID: no event id (the pipeline hashes the event). */
    buf_reset(&b);
    const char *const noid[] = {"from", "x@example.net", "text", "hi", NULL};
    form(&b, noid);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len, &ev, &e), 0);
    CHECK(ev.n == 1 && ev.items[0].event_id == NULL && ev.items[0].provider_message_id == NULL);

    /* HTML only: a plain rendering becomes the text. */
    buf_reset(&b);
    const char *const htmlonly[] = {
        "from", "h@example.net",
        "html", "<html><head><style>p{color:red}</style></head><body><p>Fish &amp; chips</p>\r\n<p>at  5&nbsp;pm"
                "</p><script>alert(1)</script></body></html>",
        NULL};
    form(&b, htmlonly);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len, &ev, &e), 0);
    CHECK(ev.n == 1 && ev.items[0].html != NULL);
    if (ev.n == 1)
        CHECK_EQ_STR(ev.items[0].text, "Fish & chips at 5 pm");

    /* Refused: no sender, not multipart, a truncated body. */
    buf_reset(&b);
    const char *const nofrom[] = {"text", "hi", NULL};
    form(&b, nofrom);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len, &ev, &e), ERR_INVALID);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, "application/json", b.data, b.len, &ev, &e), ERR_INVALID);
    CHECK_EQ_INT(channel_sendgrid_inbound(a, ct, b.data, b.len - 9, &ev, &e), ERR_INVALID);
    CHECK_EQ_INT(ev.n, 0);

    /* Through the adapter: multipart goes to Inbound Parse. */
    buf_reset(&b);
    form(&b, raw);
    struct channel_kv hdr[] = {{"content-type", ct}};
    struct channel_webhook wh = {.method = "POST", .body = b.data, .body_len = b.len, .headers = hdr, .nheaders = 1};
    CHECK_EQ_INT(channel_find("sendgrid")->parse(a, &wh, &ev, &e), 0);
    CHECK(ev.n == 1 && ev.items[0].kind == CHANNEL_EVENT_MESSAGE);
    buf_free(&b);
    arena_free(a);
}

static void test_channel__sendgrid_send(void)
{
    const struct channel_adapter *sg = channel_find("sendgrid");
    const char *args[] = {"--api-key", "SG.unit-key", NULL};
    struct fake f;
    CHECK_EQ_INT(fake_start(&f, "fake_sendgrid.py", args), 0);
    struct channel_env env = {.sendgrid_api_base = f.base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"api_key", "SG.unit-key"}, {"from_email", "support@shop.example"},
                                {"from_name", "Shop Support"}};
    struct channel_creds cr = {cred, 3};
    struct channel_send msg = {.to = "ada@example.com", .text = "Your order shipped", .html = "<p>shipped</p>",
                               .subject = "Order 42", .message_id = "<m1@shop.example>",
                               .in_reply_to = "<c1@example.com>", .references = "<c0@example.com> <c1@example.com>",
                               .unsubscribe_url = "https://shop.example/u/abc", .idempotency_key = "msg_1"};
    struct channel_send_result r;
    struct err e = {0};
    cJSON *root = NULL;

    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), 0);
    CHECK(strlen(r.provider_message_id) >= 16);
    CHECK_EQ_STR(r.status, "sent");
    const cJSON *last = fake_last(&f, &root);
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(last, "authorization"), "Bearer SG.unit-key");
    CHECK_EQ_STR(json_str(last, "x_message_id"), r.provider_message_id);
    CHECK_EQ_STR(json_str(j, "subject"), "Order 42");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(j, "from");
    CHECK_EQ_STR(json_str(from, "email"), "support@shop.example");
    CHECK_EQ_STR(json_str(from, "name"), "Shop Support");
    const cJSON *to0 = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "personalizations"), 0),
                                         "to"),
        0);
    CHECK_EQ_STR(json_str(to0, "email"), "ada@example.com");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
    CHECK_EQ_INT(cJSON_GetArraySize(content), 2);
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(content, 0), "type"), "text/plain");
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(content, 1), "value"), "<p>shipped</p>");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "headers");
    CHECK_EQ_STR(json_str(h, "Message-ID"), "<m1@shop.example>");
    CHECK_EQ_STR(json_str(h, "In-Reply-To"), "<c1@example.com>");
    CHECK_EQ_STR(json_str(h, "References"), "<c0@example.com> <c1@example.com>");
    CHECK_EQ_STR(json_str(h, "List-Unsubscribe"), "<https://shop.example/u/abc>");
    CHECK_EQ_STR(json_str(h, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(j, "custom_args"), "sb_message_id"), "msg_1");
    cJSON_Delete(root);

    /* No subject: the first line of the text; no HTML: one content part. */
    struct channel_send plain = {.to = "ada@example.com", .text = "Line one\nLine two"};
    CHECK_EQ_INT(sg->send(&env, &cr, &plain, &r, &e), 0);
    last = fake_last(&f, &root);
    j = cJSON_GetObjectItemCaseSensitive(last, "json");
    CHECK_EQ_STR(json_str(j, "subject"), "Line one");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "content")), 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(j, "headers") == NULL);
    cJSON_Delete(root);

    /* Media URLs are fetched and attached, base64, with their type and name. */
    char u1[128], u2[128];
    snprintf(u1, sizeof u1, "%s/media/photo.png?sig=1", f.base);
    snprintf(u2, sizeof u2, "%s/media/", f.base);
    const char *urls[] = {u1, u2};
    struct channel_send withmedia = {.to = "ada@example.com", .text = "see attached", .media_urls = urls,
                                     .nmedia = 2};
    CHECK_EQ_INT(sg->send(&env, &cr, &withmedia, &r, &e), 0);
    last = fake_last(&f, &root);
    const cJSON *atts = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(last, "json"), "attachments");
    CHECK_EQ_INT(cJSON_GetArraySize(atts), 2);
    const cJSON *a0 = cJSON_GetArrayItem(atts, 0);
    CHECK_EQ_STR(json_str(a0, "filename"), "photo.png");
    CHECK_EQ_STR(json_str(a0, "type"), "image/png");
    CHECK_EQ_STR(json_str(a0, "disposition"), "attachment");
    unsigned char bin[64];
    const char *c0 = json_str(a0, "content");
    int bl = c0 ? crypto_unbase64(bin, sizeof bin, c0, strlen(c0)) : -1;
    CHECK_EQ_INT(bl, 8 + (int)strlen("/media/photo.png?sig=1"));
    CHECK(bl > 8 && memcmp(bin, "\x89PNG\r\n\x1a\n/media/photo.png?sig=1", (size_t)bl) == 0);
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(atts, 1), "filename"), "attachment");
    cJSON_Delete(root);
    /* A media URL that is gone: permanent, and Mail Send is not called. */
    int nreq = cJSON_GetArraySize(root = fake_requests(&f));
    cJSON_Delete(root);
    snprintf(u2, sizeof u2, "%s/media/missing", f.base);
    CHECK_EQ_INT(sg->send(&env, &cr, &withmedia, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    CHECK_EQ_STR(err_slug(&e), "media_unreachable");
    CHECK_EQ_INT(cJSON_GetArraySize(root = fake_requests(&f)), nreq);
    cJSON_Delete(root);

    /* Refusals are permanent, with SendGrid's message. */
    fake_mode(&f, "{\"mode\":\"400\"}");
    err_clear(&e);
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    CHECK_EQ_INT(r.http_status, 400);
    CHECK_EQ_STR(r.error_code, "http_400");
    CHECK(strstr(r.error_text, "Does not contain a valid address") != NULL);
    CHECK(strstr(r.error_text, "personalizations.0.to.0.email") != NULL);
    fake_mode(&f, "{\"mode\":\"401\"}");
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    fake_mode(&f, "{\"mode\":\"413\"}");
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    /* Transient: 5xx, 429 (its reset time as the wait), no answer. */
    fake_mode(&f, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":30}");
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_RATELIMIT);
    CHECK_EQ_INT(r.permanent, 0);
    CHECK(r.retry_after_s >= 28 && r.retry_after_s <= 31);
    fake_mode(&f, "{\"mode\":\"close\"}");
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    /* 202 without X-Message-Id is not taken as sent. */
    fake_mode(&f, "{\"mode\":\"malformed\"}");
    CHECK(sg->send(&env, &cr, &msg, &r, &e) != 0);
    fake_mode(&f, "{\"mode\":\"ok\"}");

    /* Nothing to send, a template, a misconfigured account: permanent, no request. */
    struct channel_send empty = {.to = "ada@example.com"};
    CHECK_EQ_INT(sg->send(&env, &cr, &empty, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    struct channel_send tpl = {.to = "ada@example.com", .template_name = "t"};
    CHECK_EQ_INT(sg->send(&env, &cr, &tpl, &r, &e), ERR_INVALID);
    cr.n = 1;
    CHECK_EQ_INT(sg->send(&env, &cr, &msg, &r, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "channel_misconfigured");
    fake_stop(&f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    crypto_init();
    TEST_RUN(test_channel__sendgrid_signature);
    TEST_RUN(test_channel__sendgrid_events);
    TEST_RUN(test_channel__multipart);
    TEST_RUN(test_channel__sendgrid_inbound);
    TEST_RUN(test_channel__sendgrid_send);
    curl_global_cleanup();
    TEST_DONE();
}
