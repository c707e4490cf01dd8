/*
 * test_compliance: carrier keywords (whole-message match only) and a
 * tenant's own lists, the opt-out phrase matcher, the send gate's decisions
 * (opt-out, suppression, customer service window, templates, the
 * human-agent extension and transactional-only channels), the
 * suppression lists (tenant before global, exact channel before "*",
 * refresh, list pages, removal), the review queue, signed unsubscribe
 * tokens, import lines, time zones (TZif files and POSIX rules) and quiet
 * hours, on the database backend named by argv[1].
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "test.h"
#include "test_db.h"

static void test_compliance__keywords(void)
{
    static const struct {
        const char *text;
        enum compliance_keyword want;
        const char *word;
    } cases[] = {
        {"STOP", COMPLIANCE_STOP, "STOP"},         {"stop", COMPLIANCE_STOP, "STOP"},
        {"  Stop.  ", COMPLIANCE_STOP, "STOP"},    {"stop!", COMPLIANCE_STOP, "STOP"},
        {"unsubscribe", COMPLIANCE_STOP, "UNSUBSCRIBE"}, {"Cancel", COMPLIANCE_STOP, "CANCEL"},
        {"END", COMPLIANCE_STOP, "END"},           {"quit", COMPLIANCE_STOP, "QUIT"},
        {"STOPALL", COMPLIANCE_STOP, "STOPALL"},   {"revoke", COMPLIANCE_STOP, "REVOKE"},
        {"optout", COMPLIANCE_STOP, "OPTOUT"},     {"START", COMPLIANCE_START, "START"},
        {"yes", COMPLIANCE_START, "YES"},          {"Unstop", COMPLIANCE_START, "UNSTOP"},
        {"HELP", COMPLIANCE_HELP, "HELP"},         {"info\n", COMPLIANCE_HELP, "INFO"},
        {"stop please", COMPLIANCE_NONE, ""},      {"please stop", COMPLIANCE_NONE, ""},
        {"STOPP", COMPLIANCE_NONE, ""},            {"", COMPLIANCE_NONE, ""},
        {"S T O P", COMPLIANCE_NONE, ""},          {"help me", COMPLIANCE_NONE, ""},
        {"¿stop?", COMPLIANCE_NONE, ""},
    };
    char word[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum compliance_keyword got = compliance_keyword(cases[i].text, word, sizeof(word));
        if (got != cases[i].want || strcmp(word, cases[i].word) != 0)
            fprintf(stderr, "  case \"%s\": got %d \"%s\"\n", cases[i].text, (int)got, word);
        CHECK_EQ_INT(got, cases[i].want);
        CHECK_EQ_STR(word, cases[i].word);
    }
    CHECK_EQ_INT(compliance_keyword(NULL, NULL, 0), COMPLIANCE_NONE);
}

static void test_compliance__gate(void)
{
    const int64_t day = 24LL * 3600 * 1000, now = 100 * day;
    struct err e = {0};
    struct compliance_send s = {.window_ms = day, .last_inbound_at = now - day + 1000, .now = now};

    /* Inside the window: free-form is fine. */
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    /* One second past 24 hours: free-form refused, an approved template sent. */
    s.last_inbound_at = now - day - 1000;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    s.is_template = 1;
    s.template_status = "approved";
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    s.template_status = "pending";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "template_not_approved");
    s.template_status = NULL;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "template_not_found");
    /* A customer who never wrote: only templates. */
    s = (struct compliance_send){.window_ms = day, .now = now};
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    /* No window on the channel (SMS): free-form any time. */
    s.window_ms = 0;
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    /* Opted out beats everything, templates included. */
    s.opted_out = 1;
    s.is_template = 1;
    s.template_status = "approved";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "opted_out");
}


static void test_compliance__gate_suppressed(void)
{
    struct err e = {0};
    struct compliance_send s = {.now = 1000};

    s.suppressed_source = "bounce";
    s.suppressed_reason = "550 5.1.1 no such user";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "suppressed");
    CHECK(strstr(e.msg, "bounce: 550 5.1.1 no such user") != NULL);
    s.suppressed_source = "blocked";
    s.suppressed_reason = "";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "recipient_blocked");
    /* Suppression refuses approved templates too; an opt-out is named first. */
    s.suppressed_source = "unsubscribe_link";
    s.is_template = 1;
    s.template_status = "approved";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "suppressed");
    s.opted_out = 1;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "opted_out");
}

static void test_compliance__tenant_keywords(void)
{
    struct compliance_keywords kw;
    struct err e = {0};
    struct buf b = {0};
    char word[32];

    CHECK_EQ_INT(compliance_keywords_parse(&kw, "{\"stop\":[\"alto\",\"Parar\"],\"help\":[\"ayuda\"]}", &e), 0);
    CHECK_EQ_INT(compliance_keyword_match(&kw, " Alto! ", word, sizeof(word)), COMPLIANCE_STOP);
    CHECK_EQ_STR(word, "ALTO");
    CHECK_EQ_INT(compliance_keyword_match(&kw, "parar", word, sizeof(word)), COMPLIANCE_STOP);
    CHECK_EQ_INT(compliance_keyword_match(&kw, "AYUDA", word, sizeof(word)), COMPLIANCE_HELP);
    /* Replaced lists no longer know the carrier words; start kept its default. */
    CHECK_EQ_INT(compliance_keyword_match(&kw, "stop", word, sizeof(word)), COMPLIANCE_NONE);
    CHECK_EQ_INT(compliance_keyword_match(&kw, "help", word, sizeof(word)), COMPLIANCE_NONE);
    CHECK_EQ_INT(compliance_keyword_match(&kw, "start", word, sizeof(word)), COMPLIANCE_START);
    CHECK_EQ_INT(compliance_keyword_match(NULL, "stop", word, sizeof(word)), COMPLIANCE_STOP);
    compliance_keywords_json(&b, &kw);
    CHECK_EQ_STR(b.data, "{\"stop\":[\"ALTO\",\"PARAR\"],\"start\":[\"START\",\"YES\",\"UNSTOP\"],\"help\":[\"AYUDA\"]}");
    buf_free(&b);
    /* Refused: empty stop, two words, a word twice, unknown kinds, not JSON. */
    static const char *const bad[] = {
        "{\"stop\":[]}", "{\"stop\":[\"stop now\"]}", "{\"stop\":[\"STOP\"],\"start\":[\"stop\"]}",
        "{\"pause\":[\"X\"]}", "[\"STOP\"]", "{\"stop\":\"STOP\"}", "{\"stop\":[1]}", "nope",
        "{\"stop\":[\"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG\"]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_INT(compliance_keywords_parse(&kw, bad[i], &e), ERR_INVALID);
        CHECK_EQ_STR(err_slug(&e), "invalid_keywords");
        /* A refused list leaves the defaults, never a half-parsed one. */
        CHECK_EQ_INT(compliance_keyword_match(&kw, "STOP", NULL, 0), COMPLIANCE_STOP);
    }
}

static void test_compliance__optout_phrases(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"please stop texting me", "please stop"},
        {"Stop texting me!!", "stop texting"},
        {"can you unsubscribe me", "unsubscribe"},
        {"Remove me from your list.", "remove me"},
        {"Don't text me again", "dont text"},
        {"don\xe2\x80\x99t message me", "dont message"},
        {"I want to opt out", "opt out"},
        {"take me off this list", "take me off"},
        {"no more texts please", "no more texts"},
        {"I'll stop by tomorrow", NULL},
        {"stop", NULL},
        {"what time do you close?", NULL},
        {"my order number is 12345, remove the extra item", NULL},
        {"Thanks!\n> To unsubscribe reply STOP\n> remove me", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = compliance_optout_phrase(cases[i].text);
        if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want) != 0))
            fprintf(stderr, "  case \"%s\": got %s\n", cases[i].text, got ? got : "NULL");
        CHECK((got == NULL) == (cases[i].want == NULL));
        if (got && cases[i].want)
            CHECK_EQ_STR(got, cases[i].want);
    }
    CHECK(compliance_optout_phrase(NULL) == NULL);
    /* A long text (a quoted thread carrying our own footer) is never considered. */
    char longtext[400];
    memset(longtext, 'a', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    memcpy(longtext + 100, " unsubscribe ", 13);
    CHECK(compliance_optout_phrase(longtext) == NULL);
}

static void tenant(const char *id)
{
    struct store_tenant t = {0};
    struct err e = {0};
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.name, sizeof(t.name), "%s", id);
    CHECK_EQ_INT(store_tenant_create(T.db, &t, &e), 0);
}

static int suppress(const char *tenant_id, const char *channel, const char *address, const char *source,
                    const char *reason, int64_t at)
{
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc == 0 && (rc = compliance_suppress(&tx, tenant_id, channel, address, source, reason, NULL, at, &e)) != 0)
        store_tx_rollback(&tx);
    else if (rc == 0)
        rc = store_tx_commit(&tx, &e);
    if (rc)
        fprintf(stderr, "  suppress: %s\n", e.msg);
    return rc;
}

static void test_compliance__suppression_precedence(void)
{
    struct store_suppression s;
    struct err e = {0};
    int found = -1;

    tenant("ten_supp_a");
    tenant("ten_supp_b");
    /* Nothing listed. */
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_a", "sms", "+14155550101", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 0);
    /* The global list applies to every tenant, on its channel only. */
    CHECK_EQ_INT(suppress("", "sms", "+14155550101", "complaint", "carrier report", 1000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "sms", "+14155550101", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_STR(s.tenant_id, "");
    CHECK_EQ_STR(s.source, "complaint");
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "whatsapp", "+14155550101", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 0);
    /* The tenant's own entry comes before the global one. */
    CHECK_EQ_INT(suppress("ten_supp_a", "sms", "+14155550101", "manual", "asked by phone", 2000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_a", "sms", "+14155550101", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_STR(s.tenant_id, "ten_supp_a");
    CHECK_EQ_STR(s.source, "manual");
    /* Tenant A's list never affects B. */
    CHECK_EQ_INT(suppress("ten_supp_a", "email", "a@example.com", "bounce", "550", 3000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "email", "a@example.com", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 0);
    /* "*" suppresses every channel; an exact channel comes before it. */
    CHECK_EQ_INT(suppress("ten_supp_b", "*", "+14155550102", "manual", "all channels", 4000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "whatsapp", "+14155550102", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_STR(s.channel, "*");
    CHECK_EQ_INT(suppress("ten_supp_b", "whatsapp", "+14155550102", "blocked", "user blocked", 5000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "whatsapp", "+14155550102", &s, &found, &e), 0);
    CHECK_EQ_STR(s.channel, "whatsapp");
    CHECK_EQ_STR(s.source, "blocked");
    /* A second suppression refreshes the first: one row, new cause and time. */
    CHECK_EQ_INT(suppress("ten_supp_a", "email", "a@example.com", "complaint", "spam report", 6000), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_a", "email", "a@example.com", &s, &found, &e), 0);
    CHECK_EQ_STR(s.source, "complaint");
    CHECK_EQ_STR(s.reason, "spam report");
    CHECK(s.created_at == 6000);
    /* Bad input is refused before the database. */
    struct store_tx tx;
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(compliance_suppress(&tx, "ten_supp_a", "", "x", "manual", NULL, NULL, 1, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_suppress(&tx, "ten_supp_a", "sms", "+1", NULL, NULL, NULL, 1, &e), ERR_INVALID);
    store_tx_rollback(&tx);
}

struct collect {
    int n;
    char addresses[8][STORE_ADDRESS_MAX];
    struct store_suppression last;
};

static int collect_cb(void *ud, const struct store_suppression *s)
{
    struct collect *c = ud;
    if (c->n < 8)
        snprintf(c->addresses[c->n], sizeof(c->addresses[0]), "%s", s->address);
    c->n++;
    c->last = *s;
    return 0;
}

static void test_compliance__suppression_list_and_remove(void)
{
    struct collect c;
    struct err e = {0};
    struct store_suppression s;
    int found = 0;

    tenant("ten_list");
    for (int i = 0; i < 5; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "+1415555020%d", i);
        CHECK_EQ_INT(suppress("ten_list", i % 2 ? "sms" : "*", addr, i == 4 ? "import" : "manual", "", 100 + i), 0);
    }
    /* Newest first, in pages by keyset. */
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_list", NULL, NULL, NULL, 0, NULL, NULL, 2, collect_cb, &c, &e),
                 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.addresses[0], "+14155550204");
    CHECK_EQ_STR(c.addresses[1], "+14155550203");
    struct store_suppression last = c.last;
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_list", NULL, NULL, NULL, last.created_at, last.channel,
                                             last.address, 10, collect_cb, &c, &e),
                 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK_EQ_STR(c.addresses[0], "+14155550202");
    /* Filters. */
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_list", "sms", NULL, NULL, 0, NULL, NULL, 10, collect_cb, &c, &e),
                 0);
    CHECK_EQ_INT(c.n, 2);
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_list", NULL, NULL, "import", 0, NULL, NULL, 10, collect_cb, &c,
                                             &e),
                 0);
    CHECK_EQ_INT(c.n, 1);
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_list", NULL, "+14155550202", NULL, 0, NULL, NULL, 10,
                                             collect_cb, &c, &e),
                 0);
    CHECK_EQ_INT(c.n, 1);
    /* Another tenant sees none of them. */
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(compliance_suppression_list(T.db, "ten_supp_b", NULL, "+14155550202", NULL, 0, NULL, NULL, 10,
                                             collect_cb, &c, &e),
                 0);
    CHECK_EQ_INT(c.n, 0);
    /* Removal: audited, then the address may be sent to again. */
    CHECK_EQ_INT(compliance_suppression_remove(T.db, "ten_list", "*", "+14155550202", "user", "usr_x", "127.0.0.1", &e),
                 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_list", "sms", "+14155550202", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(compliance_suppression_remove(T.db, "ten_list", "*", "+14155550202", "user", "usr_x", "", &e),
                 ERR_NOTFOUND);
    CHECK_EQ_STR(err_slug(&e), "suppression_not_found");
    /* Another tenant cannot remove this tenant's entry. */
    CHECK_EQ_INT(compliance_suppression_remove(T.db, "ten_supp_b", "sms", "+14155550201", "user", "u", "", &e),
                 ERR_NOTFOUND);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_list", "sms", "+14155550201", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 1);
}

static int review_count_cb(void *ud, const struct store_review *r)
{
    (void)r;
    (*(int *)ud)++;
    return 0;
}

static int take(void *ud, const struct store_review *r)
{
    *(struct store_review *)ud = *r;
    return 0;
}

static void test_compliance__review_queue(void)
{
    struct err e = {0};
    struct store_tx tx;
    struct store_review v;
    int n = 0, opted = 0;

    tenant("ten_rev");
    CHECK_EQ_INT(store_crm_account_seed(T.db, "ten_rev", "cha_rev", "twilio", "sms", &e), 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(compliance_review_add(&tx, "ten_rev", "cha_rev", "sms", "+14155550301", "msg_r1",
                                       "please stop texting me", "please stop", 1000, &e),
                 0);
    /* Once per message. */
    CHECK_EQ_INT(compliance_review_add(&tx, "ten_rev", "cha_rev", "sms", "+14155550301", "msg_r1",
                                       "please stop texting me", "please stop", 1001, &e),
                 0);
    CHECK_EQ_INT(compliance_review_add(&tx, "ten_rev", "cha_rev", "sms", "+14155550302", "msg_r2", "remove me",
                                       "remove me", 1002, &e),
                 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(compliance_review_list(T.db, "ten_rev", "open", NULL, 10, review_count_cb, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
    n = 0;
    CHECK_EQ_INT(compliance_review_list(T.db, "ten_supp_a", NULL, NULL, 10, review_count_cb, &n, &e), 0);
    CHECK_EQ_INT(n, 0);

    struct store_review first;
    memset(&first, 0, sizeof(first));
    /* Newest first: msg_r2's item. */
    CHECK_EQ_INT(compliance_review_list(T.db, "ten_rev", "open", NULL, 1, take, &first, &e), 0);
    CHECK_EQ_STR(first.message_id, "msg_r2");
    CHECK_EQ_INT(compliance_review_resolve(T.db, "ten_rev", first.id, "maybe", "user", "u1", "", &v, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_review_resolve(T.db, "ten_supp_a", first.id, "dismiss", "user", "u1", "", &v, &e),
                 ERR_NOTFOUND);
    CHECK_EQ_INT(compliance_review_resolve(T.db, "ten_rev", first.id, "opt_out", "user", "u1", "", &v, &e), 0);
    CHECK_EQ_STR(v.status, "opted_out");
    CHECK_EQ_STR(v.resolved_by, "u1");
    CHECK_EQ_INT(compliance_is_opted_out(T.db, "ten_rev", "cha_rev", "+14155550302", &opted, &e), 0);
    CHECK_EQ_INT(opted, 1);
    CHECK_EQ_INT(compliance_review_resolve(T.db, "ten_rev", first.id, "dismiss", "user", "u1", "", &v, &e),
                 ERR_CONFLICT);
    n = 0;
    CHECK_EQ_INT(compliance_review_list(T.db, "ten_rev", "open", NULL, 10, review_count_cb, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    /* Dismissing opts nobody out. */
    CHECK_EQ_INT(compliance_review_list(T.db, "ten_rev", "open", NULL, 1, take, &first, &e), 0);
    CHECK_EQ_INT(compliance_review_resolve(T.db, "ten_rev", first.id, "dismiss", "user", "u1", "", &v, &e), 0);
    CHECK_EQ_INT(compliance_is_opted_out(T.db, "ten_rev", "cha_rev", "+14155550301", &opted, &e), 0);
    CHECK_EQ_INT(opted, 0);
}

static void test_compliance__unsubscribe_tokens(void)
{
    uint8_t master[CRYPTO_KEY_BYTES];
    struct ops_keyring *kr = NULL;
    struct compliance_unsubscribe u;
    struct err e = {0};
    struct buf b = {0}, url = {0};
    char new_id[32];
    int64_t n = 0;

    crypto_random(master, sizeof(master));
    CHECK_EQ_INT(ops_keyring_open(&kr, T.db, master, &e), 0);
    if (!kr)
        return;
    CHECK_EQ_INT(compliance_unsubscribe_token(kr, "ten_supp_a", "email", "jo@example.com", 1700000000000, &b, &e), 0);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, b.data, &u, &e), 0);
    CHECK_EQ_STR(u.tenant_id, "ten_supp_a");
    CHECK_EQ_STR(u.channel, "email");
    CHECK_EQ_STR(u.address, "jo@example.com");
    CHECK(u.issued_at == 1700000000000);
    /* The URL form. */
    CHECK_EQ_INT(compliance_unsubscribe_url(kr, "https://sb.example.com/", "ten_supp_a", "email", "jo@example.com", 1,
                                            &url, &e),
                 0);
    CHECK(strncmp(url.data, "https://sb.example.com/u/", 25) == 0);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, url.data + 25, &u, &e), 0);
    /* Every changed character is refused, in the payload or the MAC. */
    for (size_t i = 0; i < b.len; i += 7) {
        char *t = strdup(b.data);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        if (strcmp(t, b.data) != 0) {
            CHECK_EQ_INT(compliance_unsubscribe_verify(kr, t, &u, &e), ERR_INVALID);
            CHECK_EQ_STR(err_slug(&e), "invalid_token");
            CHECK_EQ_STR(u.address, "");
        }
        free(t);
    }
    /* Cut short, empty, junk. */
    char *cut = strndup(b.data, b.len - 3);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, cut, &u, &e), ERR_INVALID);
    free(cut);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, "", &u, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, "a.b.c", &u, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, "<script>", &u, &e), ERR_INVALID);
    /* A key rotation keeps old links working; new ones name the new key. */
    CHECK_EQ_INT(ops_keys_rotate(kr, T.db, new_id, &n, &e), 0);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, b.data, &u, &e), 0);
    buf_reset(&url);
    CHECK_EQ_INT(compliance_unsubscribe_token(kr, "ten_supp_a", "sms", "+14155550101", 5, &url, &e), 0);
    CHECK_EQ_INT(compliance_unsubscribe_verify(kr, url.data, &u, &e), 0);
    CHECK_EQ_STR(u.channel, "sms");
    /* Bad parts are refused when signing. */
    buf_reset(&url);
    CHECK_EQ_INT(compliance_unsubscribe_token(kr, "", "email", "x@example.com", 1, &url, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_unsubscribe_token(kr, "t", "fax", "x@example.com", 1, &url, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_unsubscribe_token(kr, "t", "email", "a\nb", 1, &url, &e), ERR_INVALID);
    buf_free(&b);
    buf_free(&url);
    ops_keyring_free(kr);
}

static void test_compliance__unsubscribe_apply(void)
{
    struct compliance_unsubscribe u = {0};
    struct store_suppression s;
    struct err e = {0};
    int found = 0;

    snprintf(u.tenant_id, sizeof(u.tenant_id), "ten_supp_b");
    snprintf(u.channel, sizeof(u.channel), "email");
    snprintf(u.address, sizeof(u.address), "reader@example.com");
    CHECK_EQ_INT(compliance_unsubscribe_apply(T.db, &u, "203.0.113.9", &e), 0);
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_b", "email", "reader@example.com", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_STR(s.source, "unsubscribe_link");
    CHECK_EQ_INT(compliance_suppression_find(T.db, "ten_supp_a", "email", "reader@example.com", &s, &found, &e), 0);
    CHECK_EQ_INT(found, 0);
}

static void test_compliance__import_lines(void)
{
    char a[STORE_ADDRESS_MAX], c[16], r[256];
    struct err e = {0};

#define LINE(s, json) compliance_import_parse(s, strlen(s), json, a, c, r, &e)
    CHECK_EQ_INT(LINE("+14155550100,sms,asked in store", 0), 0);
    CHECK_EQ_STR(a, "+14155550100");
    CHECK_EQ_STR(c, "sms");
    CHECK_EQ_STR(r, "asked in store");
    CHECK_EQ_INT(LINE("\"jo@example.com\" , email , \"said \"\"no\"\", twice\"\r", 0), 0);
    CHECK_EQ_STR(a, "jo@example.com");
    CHECK_EQ_STR(c, "email");
    CHECK_EQ_STR(r, "said \"no\", twice");
    CHECK_EQ_INT(LINE("jo@example.com", 0), 0);
    CHECK_EQ_STR(c, "*");
    CHECK_EQ_INT(LINE("address,channel,reason", 0), 1);
    CHECK_EQ_INT(LINE("   \r", 0), 1);
    CHECK_EQ_INT(LINE("{\"address\":\"+14155550100\",\"channel\":\"whatsapp\",\"reason\":\"r\"}", 1), 0);
    CHECK_EQ_STR(c, "whatsapp");
    CHECK_EQ_INT(LINE("+1415,fax,", 0), ERR_INVALID);
    CHECK_EQ_INT(LINE(",sms,", 0), ERR_INVALID);
    CHECK_EQ_INT(LINE("a,sms,b,c", 0), ERR_INVALID);
    CHECK_EQ_INT(LINE("\"open,sms", 0), ERR_INVALID);
    CHECK_EQ_INT(LINE("a\"b,sms", 0), ERR_INVALID);
    CHECK_EQ_INT(LINE("{\"address\":5}", 1), ERR_INVALID);
    CHECK_EQ_INT(LINE("[1]", 1), ERR_INVALID);
    CHECK_EQ_INT(LINE("a\x01" "b,sms", 0), ERR_INVALID);
#undef LINE
}

static struct compliance_tz *zone(const char *name)
{
    struct compliance_tz *tz = NULL;
    struct err e = {0};
    if (compliance_tz_load(&tz, NULL, name, &e) != 0)
        fprintf(stderr, "  %s: %s\n", name, e.msg);
    return tz;
}

static void test_compliance__timezones(void)
{
    struct compliance_tz *ny = zone("America/New_York"), *syd = zone("Australia/Sydney"), *rule = NULL;
    struct err e = {0};

    CHECK(ny && syd);
    if (!ny || !syd)
        goto out;
    CHECK_EQ_INT(compliance_tz_offset(ny, 1768446000), -18000);    /* 2026-01-15 03:00Z: EST */
    CHECK_EQ_INT(compliance_tz_offset(ny, 1782907200), -14400);    /* 2026-07-01: EDT */
    CHECK_EQ_INT(compliance_tz_offset(ny, 1772953200 - 1), -18000); /* 2026-03-08 01:59:59 EST */
    CHECK_EQ_INT(compliance_tz_offset(ny, 1772953200), -14400);    /* 03:00 EDT */
    CHECK_EQ_INT(compliance_tz_offset(ny, 4118126400), -14400);    /* 2100: past the file's table, by its rule */
    CHECK_EQ_INT(compliance_tz_offset(syd, 1791129600), 39600);    /* 2026-10-04: AEDT */
    CHECK_EQ_INT(compliance_tz_offset(syd, 1775404800), 36000);    /* 2026-04-05: AEST */
    /* The POSIX rule alone gives the same answers (the "slim" files rely on it). */
    CHECK_EQ_INT(compliance_tz_posix(&rule, "EST5EDT,M3.2.0,M11.1.0", &e), 0);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1768446000), -18000);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1772953200 - 1), -18000);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1772953200), -14400);
    CHECK_EQ_INT(compliance_tz_offset(rule, 4118126400), -14400);
    compliance_tz_free(rule);
    rule = NULL;
    CHECK_EQ_INT(compliance_tz_posix(&rule, "AEST-10AEDT,M10.1.0,M4.1.0/3", &e), 0);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1791129600), 39600);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1775404800), 36000);
    compliance_tz_free(rule);
    rule = NULL;
    CHECK_EQ_INT(compliance_tz_posix(&rule, "<+0530>-5:30", &e), 0);
    CHECK_EQ_INT(compliance_tz_offset(rule, 1768446000), 19800);
    compliance_tz_free(rule);
    rule = NULL;
    /* Refused: names that leave the database, unknown zones, bad rules, bad files. */
    CHECK_EQ_INT(compliance_tz_load(&rule, NULL, "../../etc/passwd", &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "invalid_timezone");
    CHECK_EQ_INT(compliance_tz_load(&rule, NULL, "/etc/localtime", &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_tz_load(&rule, NULL, "Mars/Olympus_Mons", &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_tz_posix(&rule, "EST5EDT,M13.2.0,M11.1.0", &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_tz_posix(&rule, "5", &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_tz_parse(&rule, "TZif2", 5, &e), ERR_INVALID);
    {
        /* Every truncation of a real file is refused or parsed, never read past. */
        FILE *f = fopen("/usr/share/zoneinfo/America/New_York", "rb");
        unsigned char data[8192];
        size_t n = f ? fread(data, 1, sizeof(data), f) : 0;
        if (f)
            fclose(f);
        CHECK(n > 100);
        for (size_t cut = 0; cut < n; cut += 37) {
            struct compliance_tz *t = NULL;
            unsigned char *copy = malloc(cut ? cut : 1);
            memcpy(copy, data, cut);
            if (compliance_tz_parse(&t, copy, cut, &e) == 0)
                compliance_tz_free(t);
            free(copy);
        }
    }
out:
    compliance_tz_free(ny);
    compliance_tz_free(syd);
}

static void test_compliance__quiet_hours(void)
{
    struct compliance_tz *ny = zone("America/New_York");
    struct compliance_quiet q = {21 * 60, 8 * 60, ny};
    struct err e = {0};
    int m = 0;

    CHECK(ny != NULL);
    if (!ny)
        return;
    /* 22:00 EST: held until 08:00 EST = 13:00Z. */
    CHECK(compliance_quiet_until(&q, 1768446000LL * 1000) == 1768482000LL * 1000);
    /* 13:00 EST: not quiet. */
    CHECK(compliance_quiet_until(&q, 1768500000LL * 1000) == 0);
    /* 23:00 EST on the night clocks go forward: 08:00 EDT = 12:00Z. */
    CHECK(compliance_quiet_until(&q, 1772942400LL * 1000) == 1772971200LL * 1000);
    /* A window within one day, 12:00-14:00: 13:00 EST is inside, ends 14:00 EST = 19:00Z. */
    q.start_min = 12 * 60;
    q.end_min = 14 * 60;
    CHECK(compliance_quiet_until(&q, 1768500000LL * 1000) == (1768500000LL + 3600) * 1000);
    q.start_min = q.end_min;
    CHECK(compliance_quiet_until(&q, 1768500000LL * 1000) == 0);
    CHECK(compliance_quiet_until(NULL, 1768500000LL * 1000) == 0);
    CHECK_EQ_INT(compliance_hhmm_parse("21:30", &m, &e), 0);
    CHECK_EQ_INT(m, 21 * 60 + 30);
    CHECK_EQ_INT(compliance_hhmm_parse("24:00", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_hhmm_parse("9:00", &m, &e), ERR_INVALID);
    CHECK_EQ_INT(compliance_hhmm_parse("09:60", &m, &e), ERR_INVALID);
    compliance_tz_free(ny);
}

/* Instagram: 24 hours for anything, then up to 7 days for a person's reply
 * only (HUMAN_AGENT); never for the assistant, the API or campaigns, and
 * campaigns not even inside the window (transactional only). */
static void test_compliance__human_agent_window(void)
{
    const int64_t hour = 3600LL * 1000, day = 24 * hour, now = 100 * day;
    struct err e = {0};
    struct compliance_send s = {.window_ms = day, .human_agent_window_ms = 7 * day, .transactional_only = 1,
                                .now = now, .last_inbound_at = now - 23 * hour, .origin = "api"};
    static const char *const origins[] = {"agent", "api", "assistant", "system"};

    /* Inside 24 hours: every origin but a campaign. */
    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
        s.origin = origins[i];
        CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    }
    s.origin = NULL; /* unset reads as the API */
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    s.origin = "campaign";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "transactional_only");

    /* Silent for 25 hours: only a person's reply, and the refusal says so. */
    s.last_inbound_at = now - 25 * hour;
    s.origin = "agent";
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    static const char *const refused[] = {"api", "assistant", "system"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err_clear(&e);
        s.origin = refused[i];
        CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
        CHECK_EQ_STR(err_slug(&e), "outside_window");
        CHECK(strstr(e.msg, "HUMAN_AGENT") != NULL);
    }
    s.origin = NULL;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    s.origin = "campaign";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "transactional_only");

    /* The 7-day edge: exactly 7 days still goes, a second later nothing. */
    s.origin = "agent";
    s.last_inbound_at = now - 7 * day;
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
    s.last_inbound_at = now - 7 * day - 1000;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    s.last_inbound_at = now - 8 * day;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    /* A customer who never wrote: not even a person may start the conversation. */
    s.last_inbound_at = 0;
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");

    /* Suppressions still come first, for people too. */
    s.last_inbound_at = now - hour;
    s.suppressed_source = "blocked";
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "recipient_blocked");

    /* Without the extension (WhatsApp) a person gets no more than anyone. */
    s = (struct compliance_send){.window_ms = day, .now = now, .last_inbound_at = now - 25 * hour, .origin = "agent"};
    CHECK_EQ_INT(compliance_check_send(&s, &e), ERR_FORBIDDEN);
    CHECK_EQ_STR(err_slug(&e), "outside_window");
    /* Campaigns are refused only where the channel is transactional only. */
    s.last_inbound_at = now - hour;
    s.origin = "campaign";
    CHECK_EQ_INT(compliance_check_send(&s, &e), 0);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";

    if (crypto_init() != 0 || db_setup(backend, "compliance") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_compliance__keywords);
    TEST_RUN(test_compliance__gate);
    TEST_RUN(test_compliance__gate_suppressed);
    TEST_RUN(test_compliance__tenant_keywords);
    TEST_RUN(test_compliance__optout_phrases);
    TEST_RUN(test_compliance__suppression_precedence);
    TEST_RUN(test_compliance__suppression_list_and_remove);
    TEST_RUN(test_compliance__review_queue);
    TEST_RUN(test_compliance__unsubscribe_tokens);
    TEST_RUN(test_compliance__unsubscribe_apply);
    TEST_RUN(test_compliance__import_lines);
    TEST_RUN(test_compliance__timezones);
    TEST_RUN(test_compliance__quiet_hours);
    TEST_RUN(test_compliance__human_agent_window);
    db_teardown();
    TEST_DONE();
}
