/*
 * test_channel_telegram: the Telegram Bot API adapter through channel.h only.
 * The secret-token check (match, mismatch, missing, unset); parsing of
 * recorded updates in tests/channel/payloads/tg_*.json (text, /start deep
 * links, photos, documents, shared contacts, group locations, stickers,
 * ignored update types, malformed bodies); and, against
 * tests/fakes/fake_telegram.py, sends in every answer Telegram gives
 * (accepted, blocked, deactivated, refused, 429 with retry_after, 5xx,
 * malformed, slow, bad token), media download through getFile, and the
 * account connection (getMe + setWebhook). Needs SB_SOURCE_DIR and python3.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "test.h"
#include "test_fake.h"

#define TOKEN "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

static int parse_file(struct arena *a, const char *name, struct channel_events *ev, struct err *e)
{
    char path[1024];
    struct buf b = {0};
    char tmp[4096];
    size_t n;
    snprintf(path, sizeof path, "%s/tests/channel/payloads/%s", src_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing payload %s\n", name);
        return -100;
    }
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    /* An exact-size copy so ASan sees any read past the end. */
    char *exact = arena_alloc(a, b.len ? b.len : 1);
    memcpy(exact, b.data, b.len);
    struct channel_webhook wh = {
        .method = "POST", .url = "https://x.test/webhooks/telegram/k", .body = exact, .body_len = b.len};
    buf_free(&b);
    err_clear(e);
    return channel_find("telegram")->parse(a, &wh, ev, e);
}

static void test_channel_telegram__verify(void)
{
    const struct channel_adapter *tg = channel_find("telegram");
    struct channel_kv cred[] = {{"bot_token", TOKEN}, {"secret_token", "s3cr3t_Token-1"}};
    struct channel_creds cr = {cred, 2}, none = {cred, 1};
    struct channel_kv good[] = {{"x-telegram-bot-api-secret-token", "s3cr3t_Token-1"}};
    struct channel_kv wrong[] = {{"x-telegram-bot-api-secret-token", "s3cr3t_Token-2"}};
    struct channel_kv prefix[] = {{"x-telegram-bot-api-secret-token", "s3cr3t_Token-"}};
    struct channel_kv empty[] = {{"x-telegram-bot-api-secret-token", ""}};
    struct channel_kv other[] = {{"x-hub-signature-256", "s3cr3t_Token-1"}};
    struct channel_webhook wh = {.method = "POST", .body = "{}", .body_len = 2};
    struct err e;

    CHECK(tg != NULL);
    wh.headers = good;
    wh.nheaders = 1;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), 0);
    CHECK_EQ_INT(tg->verify(&wh, &none, &e), ERR_FORBIDDEN); /* an account without a secret takes nothing */
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    wh.headers = wrong;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "bad_signature");
    wh.headers = prefix;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    wh.headers = empty;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    wh.headers = other;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
    wh.headers = NULL;
    wh.nheaders = 0;
    CHECK_EQ_INT(tg->verify(&wh, &cr, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "missing_signature");
}

static void test_channel_telegram__parse(void)
{
    const struct channel_adapter *tg = channel_find("telegram");
    struct arena *a = arena_new();
    struct channel_events ev;
    struct err e;

    CHECK_EQ_INT(parse_file(a, "tg_text.json", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 1);
    if (ev.n == 1) {
        struct channel_event *m = &ev.items[0];
        CHECK_EQ_INT(m->kind, CHANNEL_EVENT_MESSAGE);
        CHECK_EQ_STR(m->event_id, "852190047");
        CHECK_EQ_STR(m->provider_message_id, "5089237744:1365");
        CHECK_EQ_STR(m->from, "5089237744");
        CHECK_EQ_STR(m->contact_name, "Ana Silva");
        CHECK_EQ_STR(m->type, "text");
        CHECK_EQ_STR(m->text, "Ol\xc3\xa1! Is the caf\xc3\xa9 open on Sunday?");
        CHECK_EQ_INT(m->provider_ts, 1764671000000LL);
        CHECK(m->ref == NULL);
        CHECK_EQ_INT(m->nmedia, 0);
    }
    CHECK_EQ_INT(parse_file(a, "tg_start.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "start");
        CHECK_EQ_STR(ev.items[0].ref, "promo-spring_24");
        CHECK_EQ_STR(ev.items[0].text, "/start promo-spring_24");
        CHECK_EQ_STR(ev.items[0].contact_name, "Bo");
    }
    CHECK_EQ_INT(parse_file(a, "tg_photo.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "image");
        CHECK_EQ_INT(ev.items[0].nmedia, 1);
        if (ev.items[0].nmedia == 1) {
            /* The largest size, wherever it sits in the list. */
            CHECK_EQ_STR(ev.items[0].media[0].id, "AgACAgQAAxkBAAIBZ2dphotoLarge");
            CHECK_EQ_STR(ev.items[0].media[0].content_type, "image/jpeg");
            CHECK(ev.items[0].media[0].url == NULL);
        }
        CHECK_EQ_STR(ev.items[0].text, "The crack in the lid");
    }
    CHECK_EQ_INT(parse_file(a, "tg_document.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "document");
        CHECK_EQ_STR(ev.items[0].media[0].id, "BQACAgQAAxkBAAIBaGdocInvoice");
        CHECK_EQ_STR(ev.items[0].media[0].content_type, "application/pdf");
        CHECK_EQ_STR(ev.items[0].text, "invoice-0042.pdf");
    }
    CHECK_EQ_INT(parse_file(a, "tg_contact_own.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "contact");
        CHECK_EQ_STR(ev.items[0].text, "+351912345678");
        CHECK_EQ_STR(ev.items[0].ref, "own_contact");
    }
    CHECK_EQ_INT(parse_file(a, "tg_contact_other.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "contact");
        CHECK_EQ_STR(ev.items[0].text, "+44 7700 900123");
        CHECK(ev.items[0].ref == NULL); /* someone else's card */
    }
    CHECK_EQ_INT(parse_file(a, "tg_group_location.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "location");
        CHECK_EQ_STR(ev.items[0].from, "-1001234567890");
        CHECK_EQ_STR(ev.items[0].provider_message_id, "-1001234567890:77");
        CHECK_EQ_STR(ev.items[0].contact_name, "@carla_k");
        CHECK(ev.items[0].latitude > 38.7222 && ev.items[0].latitude < 38.7223);
        CHECK(ev.items[0].longitude < -9.1393 && ev.items[0].longitude > -9.1394);
    }
    CHECK_EQ_INT(parse_file(a, "tg_sticker.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "sticker");
        CHECK_EQ_STR(ev.items[0].media[0].id, "CAACAgIAAxkBAAIBsticker");
        CHECK_EQ_STR(ev.items[0].media[0].content_type, "image/webp");
    }
    CHECK_EQ_INT(parse_file(a, "tg_poll.json", &ev, &e), 0);
    if (ev.n == 1) {
        CHECK_EQ_STR(ev.items[0].type, "unsupported");
        CHECK(ev.items[0].text == NULL);
    }
    /* Updates other than "message" are verified and acknowledged, never stored.
     */
    CHECK_EQ_INT(parse_file(a, "tg_edited.json", &ev, &e), 0);
    CHECK_EQ_INT(ev.n, 0);

    struct {
        const char *body;
        int rc;
        size_t n;
        const char *type, *ref;
    } cases[] = {
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"text\":\"/start\"}}",
         0, 1, "start", NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"text\":\"/start@fake_bot  abc \"}}",
         0, 1, "start", "abc"},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"text\":\"/starting\"}}",
         0, 1, "text", NULL},
        {"{\"update_id\":1,\"callback_query\":{\"id\":\"4\",\"data\":\"x\"}}", 0, 0, NULL, NULL},
        {"{\"update_id\":1}", 0, 0, NULL, NULL},
        {"{", ERR_INVALID, 0, NULL, NULL},
        {"[]", ERR_INVALID, 0, NULL, NULL},
        {"{\"message\":{}}", ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":\"1\",\"message\":{}}", ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1.5,\"message\":{}}", ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":null}", ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2}}", ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":\"3\"}}"
         "}",
         ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"photo\":[{\"width\":1}]}}",
         ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"document\":{}}}",
         ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"contact\":{\"first_name\":\"x\"}}}",
         ERR_INVALID, 0, NULL, NULL},
        {"{\"update_id\":1,\"message\":{\"message_id\":2,\"chat\":{\"id\":3},"
         "\"location\":{\"latitude\":1}}}",
         ERR_INVALID, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct channel_webhook wh = {.method = "POST", .body = cases[i].body, .body_len = strlen(cases[i].body)};
        err_clear(&e);
        CHECK_EQ_INT(tg->parse(a, &wh, &ev, &e), cases[i].rc);
        CHECK_EQ_INT(ev.n, cases[i].n);
        if (cases[i].rc)
            CHECK_EQ_STR(err_slug(&e), strcmp(cases[i].body, "{") == 0 ? "invalid_json" : "invalid_payload");
        if (ev.n == 1) {
            CHECK_EQ_STR(ev.items[0].type, cases[i].type);
            if (cases[i].ref)
                CHECK_EQ_STR(ev.items[0].ref, cases[i].ref);
            else
                CHECK(ev.items[0].ref == NULL);
        }
    }
    arena_free(a);
}

/* The fake's "params" of its last request. */
static const cJSON *last_params(const struct fake *f, cJSON **root, const char **method)
{
    const cJSON *last = fake_last(f, root);
    *method = json_str(last, "method");
    return cJSON_GetObjectItemCaseSensitive(last, "params");
}

static void test_channel_telegram__send(void)
{
    const struct channel_adapter *tg = channel_find("telegram");
    const char *args[] = {"--bot-token", TOKEN, NULL};
    struct fake f;
    CHECK_EQ_INT(fake_start(&f, "fake_telegram.py", args), 0);
    if (!f.pid)
        return;
    struct channel_env env = {.telegram_api_base = f.base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"bot_token", TOKEN}, {"secret_token", "sec"}};
    struct channel_creds cr = {cred, 2};
    struct channel_send_result r;
    struct err e;
    cJSON *root;
    const char *method;
    int64_t chat = 0;

    struct channel_send text = {.to = "5089237744", .text = "hi \"there\" \xc3\xa9"};
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), 0);
    CHECK_EQ_STR(r.provider_message_id, "5089237744:1");
    CHECK_EQ_STR(r.status, "sent");
    CHECK_EQ_INT(r.http_status, 200);
    const cJSON *p = last_params(&f, &root, &method);
    CHECK_EQ_STR(method, "sendMessage");
    CHECK_EQ_INT(json_int(p, "chat_id", &chat), 0); /* a number, as the Bot API documents chat ids */
    CHECK_EQ_INT(chat, 5089237744LL);
    CHECK_EQ_STR(json_str(p, "text"), "hi \"there\" \xc3\xa9");
    cJSON_Delete(root);
    CHECK_EQ_STR(json_str(fake_last(&f, &root), "content_type"), "application/json");
    cJSON_Delete(root);
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), 0);
    CHECK_EQ_STR(r.provider_message_id, "5089237744:2"); /* numbered per chat */

    const char *photo[] = {"https://example.com/p/lid.JPG?sig=1"};
    struct channel_send img = {.to = "5089237744", .text = "the new lid", .media_urls = photo, .nmedia = 1};
    CHECK_EQ_INT(tg->send(&env, &cr, &img, &r, &e), 0);
    p = last_params(&f, &root, &method);
    CHECK_EQ_STR(method, "sendPhoto");
    CHECK_EQ_STR(json_str(p, "photo"), photo[0]);
    CHECK_EQ_STR(json_str(p, "caption"), "the new lid");
    cJSON_Delete(root);
    const char *pdf[] = {"https://example.com/invoice.pdf"};
    struct channel_send doc = {.to = "-1001234567890", .media_urls = pdf, .nmedia = 1};
    CHECK_EQ_INT(tg->send(&env, &cr, &doc, &r, &e), 0);
    CHECK_EQ_STR(r.provider_message_id, "-1001234567890:1");
    p = last_params(&f, &root, &method);
    CHECK_EQ_STR(method, "sendDocument");
    CHECK_EQ_STR(json_str(p, "document"), pdf[0]);
    CHECK(cJSON_GetObjectItemCaseSensitive(p, "caption") == NULL);
    cJSON_Delete(root);

    /* Blocked and deactivated: permanent, and the recipient is marked blocked. */
    const char *blocked_modes[] = {"{\"mode\":\"blocked\"}", "{\"mode\":\"deactivated\"}"};
    for (int i = 0; i < 2; i++) {
        fake_mode(&f, blocked_modes[i]);
        err_clear(&e);
        CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_INVALID);
        CHECK_EQ_INT(r.http_status, 403);
        CHECK_EQ_INT(r.permanent, 1);
        CHECK_EQ_INT(r.recipient_blocked, 1);
        CHECK_EQ_STR(err_slug(&e), "recipient_blocked");
        CHECK(strstr(r.error_text, i ? "user is deactivated" : "bot was blocked by the user") != NULL);
    }
    /* Another 403, and a 400: permanent refusals, nobody blocked. */
    const char *refusals[] = {"{\"mode\":\"403\"}", "{\"mode\":\"400\"}"};
    for (int i = 0; i < 2; i++) {
        fake_mode(&f, refusals[i]);
        err_clear(&e);
        CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_INVALID);
        CHECK_EQ_INT(r.permanent, 1);
        CHECK_EQ_INT(r.recipient_blocked, 0);
        CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    }
    CHECK_EQ_STR(r.error_text, "Bad Request: chat not found");
    /* Only the blocked chat is refused. */
    fake_mode(&f, "{\"mode\":\"ok\",\"blocked_chats\":[42]}");
    struct channel_send to42 = {.to = "42", .text = "x"};
    CHECK_EQ_INT(tg->send(&env, &cr, &to42, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.recipient_blocked, 1);
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), 0);
    fake_mode(&f, "{\"blocked_chats\":[]}");

    /* 429: transient, with parameters.retry_after. */
    fake_mode(&f, "{\"mode\":\"429\",\"retry_after\":7}");
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_RATELIMIT);
    CHECK_EQ_INT(r.retry_after_s, 7);
    CHECK_EQ_INT(r.permanent, 0);
    CHECK_EQ_INT(r.recipient_blocked, 0);
    fake_mode(&f, "{\"mode\":\"500\"}");
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    CHECK_EQ_INT(r.http_status, 500);
    fake_mode(&f, "{\"mode\":\"malformed\"}");
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.permanent, 0);
    fake_mode(&f, "{\"mode\":\"slow\",\"delay\":1.5}");
    env.timeout_ms = 300;
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_TIMEOUT);
    CHECK_EQ_INT(r.permanent, 0);
    env.timeout_ms = 3000;
    fake_mode(&f, "{\"mode\":\"ok\"}");

    /* A wrong token (401) is permanent; templates and empty messages are refused
     * before any request. */
    struct channel_kv badc[] = {{"bot_token", "123456789:wrong"}};
    struct channel_creds bcr = {badc, 1};
    CHECK_EQ_INT(tg->send(&env, &bcr, &text, &r, &e), ERR_INVALID);
    CHECK_EQ_INT(r.permanent, 1);
    CHECK_EQ_STR(r.error_text, "Unauthorized");
    struct channel_send tpl = {.to = "1", .template_name = "x"};
    CHECK_EQ_INT(tg->send(&env, &cr, &tpl, &r, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "unsupported_message");
    struct channel_send nothing = {.to = "1"};
    CHECK_EQ_INT(tg->send(&env, &cr, &nothing, &r, &e), ERR_INVALID);
    struct channel_creds empty = {NULL, 0};
    CHECK_EQ_INT(tg->send(&env, &empty, &text, &r, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "channel_misconfigured");

    fake_stop(&f);
    CHECK_EQ_INT(tg->send(&env, &cr, &text, &r, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(r.http_status, 0);
    CHECK_EQ_INT(r.permanent, 0);
}

static void test_channel_telegram__fetch_media(void)
{
    const struct channel_adapter *tg = channel_find("telegram");
    const char *args[] = {"--bot-token", TOKEN, NULL};
    struct fake f;
    CHECK_EQ_INT(fake_start(&f, "fake_telegram.py", args), 0);
    if (!f.pid)
        return;
    struct channel_env env = {.telegram_api_base = f.base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"bot_token", TOKEN}};
    struct channel_creds cr = {cred, 1};
    struct buf out = {0};
    char ct[64];
    struct err e;
    fake_mode(&f, "{\"files\":{\"AgACphoto\":{\"path\":\"photos/"
                  "file_7.jpg\",\"text\":\"JPEGBYTES-0123456789\"},"
                  "\"BQACdoc\":{\"path\":\"documents/file_8.pdf\",\"text\":\"%PDF-1.4\"},"
                  "\"huge\":{\"path\":\"videos/file_9.mp4\",\"too_big\":true}}}");

    struct channel_media photo = {.id = "AgACphoto", .content_type = NULL};
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &photo, 1024, &out, ct, sizeof ct, &e), 0);
    CHECK_EQ_INT(out.len, 20);
    CHECK(out.data && memcmp(out.data, "JPEGBYTES-0123456789", 20) == 0);
    CHECK_EQ_STR(ct, "image/jpeg"); /* by the file path: the file server says octet-stream */
    cJSON *root;
    const cJSON *last = fake_last(&f, &root);
    CHECK_EQ_STR(json_str(last, "path"), "/file/bot<token>/photos/file_7.jpg");
    cJSON_Delete(root);

    buf_reset(&out);
    struct channel_media doc = {.id = "BQACdoc", .content_type = "application/pdf"};
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &doc, 1024, &out, ct, sizeof ct, &e), 0);
    CHECK_EQ_INT(out.len, 8);
    CHECK_EQ_STR(ct, "application/pdf");

    /* Too large: by getFile's file_size, and by Telegram's own 20 MB refusal. */
    buf_reset(&out);
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &photo, 10, &out, ct, sizeof ct, &e), ERR_TOOLARGE);
    CHECK_EQ_STR(err_slug(&e), "media_too_large");
    CHECK_EQ_INT(out.len, 0);
    struct channel_media huge = {.id = "huge"};
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &huge, 1024, &out, ct, sizeof ct, &e), ERR_TOOLARGE);
    struct channel_media unknown = {.id = "nope"};
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &unknown, 1024, &out, ct, sizeof ct, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    struct channel_media noid = {.url = "https://x"};
    CHECK_EQ_INT(tg->fetch_media(&env, &cr, &noid, 1024, &out, ct, sizeof ct, &e), ERR_INVALID);
    CHECK_EQ_INT(out.len, 0);
    buf_free(&out);
    fake_stop(&f);
}

static void test_channel_telegram__register_webhook(void)
{
    const struct channel_adapter *tg = channel_find("telegram");
    const char *args[] = {"--bot-token", TOKEN, "--username", "acme_help_bot", NULL};
    struct fake f;
    CHECK_EQ_INT(fake_start(&f, "fake_telegram.py", args), 0);
    if (!f.pid)
        return;
    struct channel_env env = {.telegram_api_base = f.base, .timeout_ms = 3000};
    struct channel_kv cred[] = {{"bot_token", TOKEN}, {"secret_token", "Zx_9-secret"}};
    struct channel_creds cr = {cred, 2};
    char addr[128] = "";
    struct err e;
    const char *url = "https://sb.example.com/webhooks/telegram/KEY123";

    CHECK(tg->register_webhook != NULL);
    CHECK(channel_find("twilio")->register_webhook == NULL);
    CHECK_EQ_INT(tg->register_webhook(&env, &cr, url, addr, sizeof addr, &e), 0);
    CHECK_EQ_STR(addr, "acme_help_bot");
    char *hook = fake_ctl(&f, "/_fake/webhook", NULL);
    cJSON *w = NULL;
    (void)json_parse(&w, hook, strlen(hook), NULL);
    CHECK_EQ_STR(json_str(w, "url"), url);
    CHECK_EQ_STR(json_str(w, "secret_token"), "Zx_9-secret");
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(w, "allowed_updates");
    CHECK_EQ_INT(cJSON_GetArraySize(allowed), 1);
    CHECK(cJSON_IsString(cJSON_GetArrayItem(allowed, 0)) &&
          strcmp(cJSON_GetArrayItem(allowed, 0)->valuestring, "message") == 0);
    cJSON_Delete(w);
    free(hook);

    /* Refusals: the description, never the token, and a stable slug. */
    fake_mode(&f, "{\"setwebhook_error\":\"Bad Request: bad webhook: HTTPS url "
                  "must be provided for webhook\"}");
    CHECK_EQ_INT(tg->register_webhook(&env, &cr, url, addr, sizeof addr, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    CHECK(strstr(e.msg, "HTTPS url must be provided") != NULL);
    CHECK(strstr(e.msg, "AAHdq") == NULL);
    fake_mode(&f, "{\"setwebhook_error\":null}");
    struct channel_kv badc[] = {{"bot_token", "123456789:AAwrongwrongwrong"}, {"secret_token", "s"}};
    struct channel_creds bcr = {badc, 2};
    CHECK_EQ_INT(tg->register_webhook(&env, &bcr, url, addr, sizeof addr, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_rejected");
    CHECK(strstr(e.msg, "Unauthorized") != NULL);
    CHECK(strstr(e.msg, "AAwrong") == NULL);
    struct channel_creds nosecret = {cred, 1};
    CHECK_EQ_INT(tg->register_webhook(&env, &nosecret, url, addr, sizeof addr, &e), ERR_INVALID);
    fake_stop(&f);
    CHECK_EQ_INT(tg->register_webhook(&env, &cr, url, addr, sizeof addr, &e), ERR_UPSTREAM);
    CHECK_EQ_STR(err_slug(&e), "provider_unreachable");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    crypto_init();
    TEST_RUN(test_channel_telegram__verify);
    TEST_RUN(test_channel_telegram__parse);
    TEST_RUN(test_channel_telegram__send);
    TEST_RUN(test_channel_telegram__fetch_media);
    TEST_RUN(test_channel_telegram__register_webhook);
    curl_global_cleanup();
    TEST_DONE();
}
