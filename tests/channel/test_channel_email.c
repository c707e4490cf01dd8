/*
 * test_channel_email: e-mail in the channel module. The MIME builder
 * (channel_int.h): its output parsed back by Python's email package
 * (tests/channel/mime_check.py: structure, decoded text, attachments,
 * encoded headers, no parser defects), its line invariants over many
 * inputs, and header injection refused. The SMTP adapter (channel.h) against
 * tests/fakes/fake_smtp.py: STARTTLS and AUTH, implicit TLS, one-click
 * unsubscribe headers in what the server received, and the SMTP answers
 * mapped (550 permanent with its code, 451 and a dropped connection
 * transient, bad credentials permanent, an untrusted certificate refused).
 * Needs SB_SOURCE_DIR and python3 on PATH.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel/channel.h"
#include "channel/channel_int.h"
#include "test.h"
#include "test_fake.h"

/* Parse text with mime_check.py; the JSON summary (caller deletes) or NULL. */
static cJSON *mime_check(const char *text, size_t len)
{
    char path[] = "/tmp/sb_mime_XXXXXX", cmd[2048];
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    snprintf(cmd, sizeof cmd, "python3 %s/tests/channel/mime_check.py %s", src_dir(), path);
    FILE *p = popen(cmd, "r");
    struct buf out = {0};
    char tmp[4096];
    size_t n;
    while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0)
        buf_append(&out, tmp, n);
    if (p)
        pclose(p);
    unlink(path);
    cJSON *root = NULL;
    if (out.len)
        (void)json_parse(&root, out.data, out.len, NULL);
    buf_free(&out);
    return root;
}

static const char *hdr(const cJSON *j, const char *name)
{
    return json_str(cJSON_GetObjectItemCaseSensitive(j, "headers"), name);
}

static const cJSON *part(const cJSON *j, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "parts"), i);
}

/* The text with every line break as LF (how we compare decoded text). */
static char *lf(const char *s)
{
    char *o = malloc(strlen(s) + 1), *q = o;
    for (; *s; s++) {
        if (*s == '\r') {
            *q++ = '\n';
            if (s[1] == '\n')
                s++;
        } else {
            *q++ = *s;
        }
    }
    *q = '\0';
    return o;
}

static int text_is(const cJSON *p, const char *want)
{
    const char *got = p ? json_str(p, "text") : NULL;
    if (!got)
        return 0;
    char *a = lf(got), *b = lf(want);
    size_t al = strlen(a), bl = strlen(b);
    int ok = al == bl && memcmp(a, b, al) == 0;
    if (!ok)
        fprintf(stderr, "text differs:\n got: %s\nwant: %s\n", a, b);
    free(a);
    free(b);
    return ok;
}

/* CRLF only, no line over 998 bytes (ours keep to 78). 1 when both hold. */
static int lines_ok(const char *s, size_t n, size_t max)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n')
                return 0;
            i++;
            col = 0;
        } else if (s[i] == '\n') {
            return 0;
        } else if (++col > max) {
            return 0;
        }
    }
    return n >= 2 && s[n - 2] == '\r' && s[n - 1] == '\n';
}

static const char PNG[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake image bytes \xff\xfe\x00 end";

static void base_mail(struct channel__mime *m)
{
    memset(m, 0, sizeof *m);
    m->from_email = "support@shop.example";
    m->from_name = "Shop Support";
    m->to = "ana@example.net";
    m->subject = "Your order";
    m->text = "Hello Ana";
    m->message_id = "<msg_1@shop.example>";
    m->date_ms = 1764700000000LL;
}

static void test_channel_email__structure(void)
{
    struct channel__mime m;
    struct channel__mime_file files[2];
    struct buf out = {0};
    struct err e = {0};
    const char *text = "Olá Ana,\nyour order ships today.\r\n.a line that starts with a dot\n"
                       "A long line: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                       "tempor incididunt ut labore et dolore magna aliqua = trailing space \nend";
    const char *html = "<p>Olá <b>Ana</b></p><img src=\"cid:logo.png\"><p>=3D is not decoded twice</p>";

    base_mail(&m);
    m.text = text;
    m.html = html;
    memset(files, 0, sizeof files);
    files[0] = (struct channel__mime_file){"logo.png", "image/png", "logo.png", PNG, sizeof PNG - 1};
    files[1] = (struct channel__mime_file){"invoice 7.pdf", "application/pdf; name=x", NULL, "%PDF-1.4 body", 13};
    m.files = files;
    m.nfiles = 2;
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    CHECK(lines_ok(out.data, out.len, 78));
    cJSON *j = mime_check(out.data, out.len);
    CHECK(j != NULL);
    if (!j)
        goto done;
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "defects")), 0);
    char *tree = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "tree"));
    CHECK_EQ_STR(tree, "[\"multipart/mixed\",[\"multipart/alternative\",\"text/plain\",[\"multipart/related\","
                       "\"text/html\",\"image/png\"]],\"application/pdf\"]");
    free(tree);
    CHECK_EQ_STR(json_str(part(j, 0), "charset"), "utf-8");
    CHECK_EQ_STR(json_str(part(j, 0), "cte"), "quoted-printable");
    CHECK(text_is(part(j, 0), text));
    CHECK(text_is(part(j, 1), html));
    CHECK_EQ_STR(json_str(part(j, 2), "cid"), "<logo.png>");
    CHECK_EQ_STR(json_str(part(j, 2), "disposition"), "inline");
    char sha[65];
    crypto_sha256_hex(sha, PNG, sizeof PNG - 1);
    CHECK_EQ_STR(json_str(part(j, 2), "sha256"), sha);
    CHECK_EQ_STR(json_str(part(j, 3), "disposition"), "attachment");
    CHECK_EQ_STR(json_str(part(j, 3), "filename"), "invoice_7.pdf");
    crypto_sha256_hex(sha, "%PDF-1.4 body", 13);
    CHECK_EQ_STR(json_str(part(j, 3), "sha256"), sha);
    CHECK_EQ_STR(hdr(j, "mime-version"), "1.0");
    CHECK_EQ_STR(hdr(j, "date"), "Tue, 02 Dec 2025 18:26:40 +0000");
    CHECK(!hdr(j, "list-unsubscribe"));
    cJSON_Delete(j);

    /* Text alone is one text/plain part; HTML alone one text/html part. */
    buf_reset(&out);
    base_mail(&m);
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    j = mime_check(out.data, out.len);
    CHECK(j && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "tree")));
    CHECK(j && strcmp(cJSON_GetObjectItemCaseSensitive(j, "tree")->valuestring, "text/plain") == 0);
    cJSON_Delete(j);
    buf_reset(&out);
    m.text = NULL;
    m.html = "<p>hi</p>";
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    j = mime_check(out.data, out.len);
    CHECK(j && strcmp(cJSON_GetObjectItemCaseSensitive(j, "tree")->valuestring, "text/html") == 0);
    cJSON_Delete(j);
done:
    buf_free(&out);
}

static void test_channel_email__headers(void)
{
    struct channel__mime m;
    struct buf out = {0};
    struct err e = {0};
    const char *subject = "Pedido nº 42 — confirmação da sua encomenda com acentos e emoji 🎉 que continua por "
                          "muitas palavras até passar bem do limite de uma linha";
    const char *long_ascii = "This is a long plain ASCII subject line that goes on and on well past seventy-eight "
                             "characters, so it has to be folded";

    base_mail(&m);
    m.subject = subject;
    m.from_name = "Loja São João \"Central\"";
    m.in_reply_to = "<CAF=abc@mail.example.net>";
    m.references = "<first@shop.example> <CAF=abc@mail.example.net>";
    m.unsubscribe_url = "https://shop.example/u/tok_123?x=1";
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    CHECK(lines_ok(out.data, out.len, 78));
    cJSON *j = mime_check(out.data, out.len);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "defects")), 0);
        CHECK_EQ_STR(hdr(j, "subject"), subject);
        CHECK_EQ_STR(json_str(j, "from_name"), "Loja São João \"Central\"");
        CHECK_EQ_STR(json_str(j, "from_addr"), "support@shop.example");
        CHECK_EQ_STR(hdr(j, "to"), "ana@example.net");
        CHECK_EQ_STR(hdr(j, "message-id"), "<msg_1@shop.example>");
        CHECK_EQ_STR(hdr(j, "in-reply-to"), "<CAF=abc@mail.example.net>");
        CHECK_EQ_STR(hdr(j, "references"), "<first@shop.example> <CAF=abc@mail.example.net>");
        CHECK_EQ_STR(hdr(j, "list-unsubscribe"), "<https://shop.example/u/tok_123?x=1>");
        CHECK_EQ_STR(hdr(j, "list-unsubscribe-post"), "List-Unsubscribe=One-Click");
        const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "header_count"), "subject");
        CHECK(cnt && cnt->valueint == 1);
    }
    cJSON_Delete(j);

    /* Plain ASCII stays readable: folded at spaces, unfolded back whole. */
    buf_reset(&out);
    base_mail(&m);
    m.subject = long_ascii;
    m.from_name = NULL;
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    CHECK(strstr(out.data, "Subject: This is a long") != NULL);
    CHECK(lines_ok(out.data, out.len, 78));
    j = mime_check(out.data, out.len);
    CHECK(j && hdr(j, "subject") && strcmp(hdr(j, "subject"), long_ascii) == 0);
    CHECK(j && hdr(j, "from") && strcmp(hdr(j, "from"), "support@shop.example") == 0);
    cJSON_Delete(j);

    /* 998 bytes without a space cannot be folded: encoded words instead. */
    char word[999];
    memset(word, 'x', 998);
    word[998] = '\0';
    buf_reset(&out);
    m.subject = word;
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), 0);
    CHECK(lines_ok(out.data, out.len, 78));
    j = mime_check(out.data, out.len);
    CHECK(j && hdr(j, "subject") && strcmp(hdr(j, "subject"), word) == 0);
    cJSON_Delete(j);
    buf_free(&out);
}

static void test_channel_email__injection_refused(void)
{
    struct channel__mime m;
    struct channel__mime_file f = {"a.png", "image/png", "x\r\nBcc: evil@example.org", "x", 1};
    struct buf out = {0};
    struct err e = {0};
    struct {
        const char *what;
        int field;
        const char *value;
    } cases[] = {
        {"subject CRLF", 0, "Hi\r\nBcc: evil@example.org"},
        {"subject LF", 0, "Hi\nBcc: evil@example.org"},
        {"subject CR", 0, "Hi\rBcc: evil@example.org"},
        {"name LF", 1, "Shop\nBcc: evil@example.org"},
        {"to CRLF", 2, "ana@example.net\r\nBcc: evil@example.org"},
        {"to brackets", 2, "ana@example.net>, <evil@example.org"},
        {"from space", 3, "support @shop.example"},
        {"message id LF", 4, "<a@b>\nBcc: evil@example.org"},
        {"in-reply-to two ids", 5, "<a@b> <c@d>"},
        {"references junk", 6, "<a@b> junk"},
        {"unsubscribe bracket", 7, "https://shop.example/u>\r\nBcc: evil@example.org"},
        {"unsubscribe scheme", 7, "javascript:alert(1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        base_mail(&m);
        const char **fields[] = {&m.subject,     &m.from_name,   &m.to,         &m.from_email,
                                 &m.message_id, &m.in_reply_to, &m.references, &m.unsubscribe_url};
        *fields[cases[i].field] = cases[i].value;
        err_clear(&e);
        int rc = channel__mime_build(&out, &m, &e);
        if (rc != ERR_INVALID)
            fprintf(stderr, "not refused: %s\n", cases[i].what);
        CHECK_EQ_INT(rc, ERR_INVALID);
        CHECK_EQ_INT(out.len, 0);
        CHECK(strstr(e.msg, "evil") == NULL); /* the message names the field, not the value */
    }
    base_mail(&m);
    m.html = "<img src=\"cid:x\">";
    m.files = &f;
    m.nfiles = 1;
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_header");
    base_mail(&m);
    m.subject = "";
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), ERR_INVALID);
    base_mail(&m);
    m.text = NULL;
    CHECK_EQ_INT(channel__mime_build(&out, &m, &e), ERR_INVALID);
    CHECK_EQ_INT(out.len, 0);
    buf_free(&out);
}

/* Random text bodies and subjects: the line invariants always hold and the
 * boundary never occurs inside a part. */
static void test_channel_email__invariants(void)
{
    struct channel__mime m;
    struct channel__mime_file f;
    struct buf out = {0};
    struct err e = {0};
    char text[3000], html[600], subj[300], bin[700];
    int bad = 0;
    for (int round = 0; round < 300; round++) {
        uint8_t r[3000];
        crypto_random_fast(r, sizeof r);
        for (size_t i = 0; i + 1 < sizeof text; i++)
            text[i] = (char)(r[i] % 5 == 0 ? "\r\n. =\t"[r[i] % 6] : r[i] ? r[i] : 'x');
        text[sizeof text - 1] = '\0';
        for (size_t i = 0; i + 1 < sizeof html; i++)
            html[i] = (char)(r[i] % 3 ? 'a' + r[i] % 26 : "=. \n<>"[r[i] % 6]);
        html[sizeof html - 1] = '\0';
        for (size_t i = 0; i + 1 < sizeof subj; i++)
            subj[i] = (char)(r[i + 7] < 0x20 ? ' ' : r[i + 7] == 0x7f ? 'z' : r[i + 7]);
        subj[sizeof subj - 1] = '\0';
        memcpy(bin, r + 100, sizeof bin);
        f = (struct channel__mime_file){"data.bin", "application/octet-stream", NULL, bin, sizeof bin};
        base_mail(&m);
        m.text = text;
        m.html = html;
        m.subject = subj;
        m.files = &f;
        m.nfiles = 1;
        buf_reset(&out);
        if (channel__mime_build(&out, &m, &e) != 0 || !lines_ok(out.data, out.len, 998)) {
            bad++;
            continue;
        }
        /* Boundaries ("=_sb") only on their own delimiter lines. */
        for (const char *p = strstr(out.data, "=_sb"); p; p = strstr(p + 1, "=_sb"))
            if (!(p >= out.data + 2 && p[-1] == '-' && p[-2] == '-') && !(p > out.data && p[-1] == '"'))
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    buf_free(&out);
}

/* ------------------------------------------------------------------ SMTP */

struct sink {
    struct fake f;
    int smtp_port, smtps_port;
    char cert[512];
};

static int sink_start(struct sink *s, const char *user, const char *pass)
{
    const char *args[] = {"--username", user, "--password", pass, NULL};
    memset(s, 0, sizeof *s);
    if (fake_start(&s->f, "fake_smtp.py", user ? args : NULL) != 0)
        return -1;
    char *info = fake_ctl(&s->f, "/_fake/info", NULL);
    cJSON *j = NULL;
    int64_t p1 = 0, p2 = 0;
    (void)json_parse(&j, info, strlen(info), NULL);
    free(info);
    if (!j || json_int(j, "smtp_port", &p1) || json_int(j, "smtps_port", &p2) || !json_str(j, "cert")) {
        cJSON_Delete(j);
        fake_stop(&s->f);
        return -1;
    }
    s->smtp_port = (int)p1;
    s->smtps_port = (int)p2;
    snprintf(s->cert, sizeof s->cert, "%s", json_str(j, "cert"));
    cJSON_Delete(j);
    return 0;
}

static void test_channel_email__smtp_send(void)
{
    const struct channel_adapter *ad = channel_find("smtp");
    struct sink s;
    struct channel_env env = {.timeout_ms = 5000};
    struct channel_send msg;
    struct channel_send_result res;
    struct err e = {0};
    char port[16], sport[16];
    CHECK(ad != NULL);
    CHECK(ad && !ad->parse && !ad->verify);
    if (!ad || sink_start(&s, "mailer", "s3cret-pw") != 0) {
        CHECK(!"fake_smtp.py did not start");
        return;
    }
    snprintf(port, sizeof port, "%d", s.smtp_port);
    snprintf(sport, sizeof sport, "%d", s.smtps_port);
    struct channel_kv kv[] = {{"host", "127.0.0.1"},      {"port", port},
                              {"username", "mailer"},     {"password", "s3cret-pw"},
                              {"from_email", "support@shop.example"}, {"from_name", "Shop"},
                              {"ca_file", s.cert},        {"tls", "starttls"}};
    struct channel_creds creds = {kv, 8};

    memset(&msg, 0, sizeof msg);
    msg.to = "ana@example.net";
    msg.subject = "Your order";
    msg.text = "Hello Ana\n.dot line";
    msg.html = "<p>Hello Ana</p>";
    msg.message_id = "<msg_smtp1@shop.example>";
    msg.in_reply_to = "<in1@mail.example.net>";
    msg.references = "<in1@mail.example.net>";
    msg.unsubscribe_url = "https://shop.example/unsubscribe/tok_9";
    CHECK_EQ_INT(ad->send(&env, &creds, &msg, &res, &e), 0);
    CHECK_EQ_STR(res.provider_message_id, "<msg_smtp1@shop.example>");
    CHECK_EQ_STR(res.status, "sent");
    cJSON *root = NULL;
    const cJSON *last = fake_last(&s.f, &root);
    CHECK(last != NULL);
    if (last) {
        char *cmds = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(last, "commands"));
        CHECK_EQ_STR(cmds, "[\"EHLO\",\"STARTTLS\",\"EHLO\",\"AUTH\",\"MAIL\",\"RCPT\",\"DATA\"]");
        free(cmds);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "tls")));
        CHECK_EQ_STR(json_str(last, "auth_user"), "mailer");
        CHECK_EQ_STR(json_str(last, "mail_from"), "support@shop.example");
        CHECK_EQ_STR(json_str(last, "ehlo"), "shop.example");
        const cJSON *rcpt = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(last, "rcpt"), 0);
        CHECK_EQ_STR(cJSON_IsString(rcpt) ? rcpt->valuestring : NULL, "ana@example.net");
        const char *data = json_str(last, "data");
        cJSON *j = data ? mime_check(data, strlen(data)) : NULL;
        CHECK(j != NULL);
        if (j) {
            CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "defects")), 0);
            CHECK_EQ_STR(hdr(j, "list-unsubscribe"), "<https://shop.example/unsubscribe/tok_9>");
            CHECK_EQ_STR(hdr(j, "list-unsubscribe-post"), "List-Unsubscribe=One-Click");
            CHECK_EQ_STR(hdr(j, "message-id"), "<msg_smtp1@shop.example>");
            CHECK_EQ_STR(hdr(j, "in-reply-to"), "<in1@mail.example.net>");
            CHECK(text_is(part(j, 0), "Hello Ana\n.dot line"));
        }
        cJSON_Delete(j);
    }
    cJSON_Delete(root);

    /* 550 on RCPT: permanent, with the code and the server's words. */
    fake_mode(&s.f, "{\"reject_rcpt\":{\"gone@example.net\":\"550 5.1.1 No such user here\"}}");
    msg.to = "gone@example.net";
    CHECK_EQ_INT(ad->send(&env, &creds, &msg, &res, &e), ERR_INVALID);
    CHECK_EQ_INT(res.permanent, 1);
    CHECK_EQ_STR(res.error_code, "550");
    CHECK(strstr(res.error_text, "No such user") != NULL);
    if (!strstr(res.error_text, "No such user"))
        fprintf(stderr, "error_text: %s\n", res.error_text);

    /* 451 at the end of DATA: transient. */
    msg.to = "ana@example.net";
    fake_mode(&s.f, "{\"data_reply\":\"451 4.3.0 Try again later\",\"data_fail_times\":1}");
    CHECK_EQ_INT(ad->send(&env, &creds, &msg, &res, &e), ERR_UPSTREAM);
    CHECK_EQ_INT(res.permanent, 0);
    CHECK_EQ_STR(res.error_code, "451");
    /* ... and the next try goes through. */
    CHECK_EQ_INT(ad->send(&env, &creds, &msg, &res, &e), 0);

    /* The connection dropped mid-DATA: transient. */
    fake_mode(&s.f, "{\"mode\":\"close\"}");
    int rc = ad->send(&env, &creds, &msg, &res, &e);
    CHECK(rc == ERR_UPSTREAM || rc == ERR_TIMEOUT);
    CHECK_EQ_INT(res.permanent, 0);
    fake_mode(&s.f, "{\"mode\":\"ok\"}");

    /* Implicit TLS (smtps://): no STARTTLS needed. */
    struct channel_kv kv2[] = {{"host", "127.0.0.1"},      {"port", sport},
                               {"username", "mailer"},     {"password", "s3cret-pw"},
                               {"from_email", "support@shop.example"}, {"ca_file", s.cert},
                               {"tls", "implicit"}};
    struct channel_creds creds2 = {kv2, 7};
    CHECK_EQ_INT(ad->send(&env, &creds2, &msg, &res, &e), 0);
    last = fake_last(&s.f, &root);
    CHECK(last && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "tls")));
    if (last) {
        char *cmds = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(last, "commands"));
        CHECK(cmds && !strstr(cmds, "STARTTLS"));
        free(cmds);
    }
    cJSON_Delete(root);

    /* Wrong password: 535, permanent. */
    kv2[3].value = "wrong";
    CHECK_EQ_INT(ad->send(&env, &creds2, &msg, &res, &e), ERR_INVALID);
    CHECK_EQ_INT(res.permanent, 1);
    CHECK_EQ_STR(res.error_code, "535");

    /* A certificate nobody vouches for: refused before any mail leaves. */
    kv[6].value = "/etc/ssl/certs/ca-certificates.crt";
    char *before = fake_ctl(&s.f, "/_fake/requests", NULL);
    CHECK(ad->send(&env, &creds, &msg, &res, &e) != 0);
    CHECK_EQ_INT(res.permanent, 0);
    char *after = fake_ctl(&s.f, "/_fake/requests", NULL);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);

    /* Header injection in the subject never reaches the server. */
    kv[6].value = s.cert;
    msg.subject = "Hi\r\nBcc: evil@example.org";
    CHECK_EQ_INT(ad->send(&env, &creds, &msg, &res, &e), ERR_INVALID);
    CHECK_EQ_INT(res.permanent, 1);
    fake_stop(&s.f);
}

int main(void)
{
    crypto_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TEST_RUN(test_channel_email__structure);
    TEST_RUN(test_channel_email__headers);
    TEST_RUN(test_channel_email__injection_refused);
    TEST_RUN(test_channel_email__invariants);
    TEST_RUN(test_channel_email__smtp_send);
    TEST_DONE();
}
