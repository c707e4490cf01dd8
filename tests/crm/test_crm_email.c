/*
 * test_crm_email: e-mail threading in crm, on the backend named by argv[1].
 * An outbound e-mail gets Message-ID <its id@domain> when it is created;
 * crm_email_thread answers the customer's latest e-mail (else our latest
 * earlier one) with the thread's ids up to it, oldest first; later messages,
 * malformed ids and other tenants never leak in; References stay bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_mail_a"
#define TB "ten_mail_b"
#define MAIL_A "cha_mail_a"
#define MAIL_B "cha_mail_b"
#define ANA "ana@example.net"

struct msg_copy {
    struct store_message m;
    int n;
};

static int copy_msg(void *ud, const struct store_message *m)
{
    struct msg_copy *c = ud;
    c->m = *m;
    c->m.body = c->m.media = c->m.template_json = c->m.error_text = c->m.subject = c->m.html = NULL;
    c->n++;
    return 0;
}

static struct store_message get_msg(const char *tenant, const char *id)
{
    struct msg_copy c;
    struct err e = {0};
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(crm_message_get(T.db, tenant, id, copy_msg, &c, &e), 0);
    return c.m;
}

/* An outbound e-mail to ANA created at `at`; its message id into id. */
static int outbound(const char *tenant, const char *account, const char *domain, int64_t at, char id[CORE_ID_MAX],
                    char conversation[CORE_ID_MAX])
{
    struct crm_outbound o = {.account_id = account, .channel = "email", .to = ANA, .body = "hello",
                             .subject = "Order", .rfc_message_domain = domain, .created_at = at};
    struct crm_record_result r;
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    if ((rc = crm_outbound_create(&tx, tenant, &o, &r, &e))) {
        fprintf(stderr, "  outbound: %s\n", e.msg);
        store_tx_rollback(&tx);
        return rc;
    }
    snprintf(id, CORE_ID_MAX, "%s", r.message_id);
    if (conversation)
        snprintf(conversation, CORE_ID_MAX, "%s", r.conversation_id);
    return store_tx_commit(&tx, &e);
}

/* The customer's e-mail with Message-ID rfc in the conversation, at `at`. */
static int inbound(const char *tenant, const char *account, const char *conversation, const char *rfc, int64_t at)
{
    struct store_message m;
    struct store_tx tx;
    struct err e = {0};
    int dup = 0, rc;
    memset(&m, 0, sizeof(m));
    snprintf(m.conversation_id, sizeof(m.conversation_id), "%s", conversation);
    snprintf(m.account_id, sizeof(m.account_id), "%s", account);
    snprintf(m.direction, sizeof(m.direction), "inbound");
    snprintf(m.address, sizeof(m.address), "%s", ANA);
    snprintf(m.status, sizeof(m.status), "received");
    snprintf(m.provider_message_id, sizeof(m.provider_message_id), "%s", rfc);
    snprintf(m.rfc_message_id, sizeof(m.rfc_message_id), "%s", rfc);
    m.body = "thanks";
    m.created_at = at;
    if ((rc = store_tx_begin(T.db, &tx, &e)))
        return rc;
    if ((rc = store_message_insert(&tx, tenant, &m, &dup, &e))) {
        fprintf(stderr, "  inbound: %s\n", e.msg);
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

static struct crm_email_thread thread_of(const char *tenant, const char *id)
{
    struct crm_email_thread t;
    struct store_message m = get_msg(TA, id);
    struct err e = {0};
    CHECK_EQ_INT(crm_email_thread(T.db, tenant, &m, &t, &e), 0);
    return t;
}

static void test_crm_email__message_id_on_create(void)
{
    char id[CORE_ID_MAX], want[300];
    CHECK_EQ_INT(outbound(TA, MAIL_A, "shop.example", 0, id, NULL), 0);
    struct store_message m = get_msg(TA, id);
    snprintf(want, sizeof(want), "<%s@shop.example>", id);
    CHECK_EQ_STR(m.rfc_message_id, want);
    CHECK_EQ_INT(outbound(TA, MAIL_A, NULL, 0, id, NULL), 0);
    m = get_msg(TA, id);
    CHECK_EQ_STR(m.rfc_message_id, "");
}

static void test_crm_email__thread(void)
{
    char o1[CORE_ID_MAX], o2[CORE_ID_MAX], o3[CORE_ID_MAX], o4[CORE_ID_MAX], cv[CORE_ID_MAX], want[1024];
    int64_t t0 = 1700000000000LL;
    struct crm_email_thread t;

    CHECK_EQ_INT(outbound(TA, MAIL_A, "shop.example", t0, o1, cv), 0);
    char m1[300], m2[300];
    snprintf(m1, sizeof(m1), "%s", get_msg(TA, o1).rfc_message_id);
    t = thread_of(TA, o1);
    CHECK_EQ_STR(t.in_reply_to, "");
    CHECK_EQ_STR(t.references, "");

    /* A follow-up before the customer wrote answers our own last e-mail. */
    CHECK_EQ_INT(outbound(TA, MAIL_A, "shop.example", t0 + 1000, o2, NULL), 0);
    snprintf(m2, sizeof(m2), "%s", get_msg(TA, o2).rfc_message_id);
    t = thread_of(TA, o2);
    CHECK_EQ_STR(t.in_reply_to, m1);
    CHECK_EQ_STR(t.references, m1);

    /* The customer answers; an id with a space (a broken mail program) is skipped. */
    CHECK_EQ_INT(inbound(TA, MAIL_A, cv, "<CAF1@mail.example.net>", t0 + 2000), 0);
    CHECK_EQ_INT(inbound(TA, MAIL_A, cv, "<bad id@mail.example.net>", t0 + 2500), 0);
    CHECK_EQ_INT(outbound(TA, MAIL_A, "shop.example", t0 + 3000, o3, NULL), 0);
    t = thread_of(TA, o3);
    CHECK_EQ_STR(t.in_reply_to, "<CAF1@mail.example.net>");
    snprintf(want, sizeof(want), "%s %s <CAF1@mail.example.net>", m1, m2);
    CHECK_EQ_STR(t.references, want);

    /* Later messages do not change an earlier message's thread. */
    CHECK_EQ_INT(outbound(TA, MAIL_A, "shop.example", t0 + 4000, o4, NULL), 0);
    CHECK_EQ_INT(inbound(TA, MAIL_A, cv, "<CAF2@mail.example.net>", t0 + 5000), 0);
    t = thread_of(TA, o3);
    CHECK_EQ_STR(t.in_reply_to, "<CAF1@mail.example.net>");
    CHECK_EQ_STR(t.references, want);
    /* o4 came after the customer's CAF1 and before CAF2: it answers CAF1,
     * and our o3 in between is not an ancestor. */
    t = thread_of(TA, o4);
    CHECK_EQ_STR(t.in_reply_to, "<CAF1@mail.example.net>");
    CHECK_EQ_STR(t.references, want);

    /* Another tenant sees nothing of it. */
    t = thread_of(TB, o3);
    CHECK_EQ_STR(t.in_reply_to, "");
    CHECK_EQ_STR(t.references, "");
}

static void test_crm_email__references_bounded(void)
{
    char id[CORE_ID_MAX], cv[CORE_ID_MAX], rfc[64];
    int64_t t0 = 1710000000000LL;
    CHECK_EQ_INT(outbound(TA, MAIL_A, "long-thread.example", t0, id, cv), 0);
    for (int i = 1; i <= 30; i++) {
        snprintf(rfc, sizeof(rfc), "<reply%02d@mail.example.net>", i);
        CHECK_EQ_INT(inbound(TA, MAIL_A, cv, rfc, t0 + i * 10), 0);
    }
    CHECK_EQ_INT(outbound(TA, MAIL_A, "long-thread.example", t0 + 1000, id, NULL), 0);
    struct crm_email_thread t = thread_of(TA, id);
    CHECK_EQ_STR(t.in_reply_to, "<reply30@mail.example.net>");
    int n = 0;
    for (const char *p = t.references; (p = strchr(p, '<')); p++)
        n++;
    CHECK_EQ_INT(n, 20);
    /* the newest twenty, oldest first, ending with the parent */
    CHECK(strncmp(t.references, "<reply11@", 9) == 0);
    const char *last = "<reply30@mail.example.net>";
    size_t len = strlen(t.references), ll = strlen(last);
    CHECK(len > ll && strcmp(t.references + len - ll, last) == 0);
}

static int setup(void)
{
    struct err e = {0};
    static const char *const tenants[] = {TA, TB};
    for (size_t i = 0; i < 2; i++) {
        struct store_tenant t = {0};
        snprintf(t.id, sizeof(t.id), "%s", tenants[i]);
        snprintf(t.name, sizeof(t.name), "%s", tenants[i]);
        if (store_tenant_create(T.db, &t, &e) != 0)
            goto fail;
    }
    if (store_crm_account_seed(T.db, TA, MAIL_A, "smtp", "email", &e) != 0 ||
        store_crm_account_seed(T.db, TB, MAIL_B, "smtp", "email", &e) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "setup: %s\n", e.msg);
    return -1;
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";

    if (crypto_init() != 0)
        return 1;
    if (db_setup(backend, "crm_email") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0 || setup() != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_crm_email__message_id_on_create);
    TEST_RUN(test_crm_email__thread);
    TEST_RUN(test_crm_email__references_bounded);
    db_teardown();
    TEST_DONE();
}
