/*
 * test_compliance: carrier keywords (whole-message match only), the send
 * gate's decisions (opt-out, customer service window, templates, the
 * human-agent extension and transactional-only channels), and the
 * opt-out list on the database backend named by argv[1].
 */
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
    TEST_RUN(test_compliance__human_agent_window);
    db_teardown();
    TEST_DONE();
}
