/*
 * test_crm: contacts, conversations and messages through crm.h: address
 * normalisation, the status machine (every pair), out-of-order and repeated
 * callbacks, inbound dedupe, identity auto-linking, reopening, idempotency
 * keys, tenant isolation, cursor pagination without duplicates or gaps,
 * filters and search, the conversation update, the JSON shapes, and two
 * connections applying callbacks to one message at once.
 *
 * Run as `test_crm sqlite` or `test_crm postgres` (SB_TEST_PG_URL).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crm/crm.h"
#include "ops/ops.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_crm_a"
#define TB "ten_crm_b"
#define TC "ten_crm_c"
#define SMS_A "cha_sms_a"
#define WA_A "cha_wa_a"
#define SMS_B "cha_sms_b"
#define SMS_C "cha_sms_c"
#define MAIL_A "cha_mail_a"
#define TG_A "cha_tg_a"
#define MAIL_B "cha_mail_b"

static char agent_a[CORE_ID_MAX]; /* a user of tenant A */
static char agent_b[CORE_ID_MAX]; /* a user of tenant B only */

/* ------------------------------------------------------------- helpers */

/* A message read back, with its borrowed text copied. */
struct msg_copy {
    struct store_message m;
    char body[256];
    char error_text[256];
    char subject[128];
    char html[256];
    int n;
};

static int copy_msg(void *ud, const struct store_message *m)
{
    struct msg_copy *c = ud;
    c->m = *m;
    snprintf(c->body, sizeof(c->body), "%s", m->body ? m->body : "");
    snprintf(c->error_text, sizeof(c->error_text), "%s", m->error_text ? m->error_text : "");
    snprintf(c->subject, sizeof(c->subject), "%s", m->subject ? m->subject : "");
    snprintf(c->html, sizeof(c->html), "%s", m->html ? m->html : "");
    c->m.body = c->body;
    c->m.error_text = c->error_text;
    c->m.subject = c->subject;
    c->m.html = c->html;
    c->m.media = c->m.template_json = NULL;
    c->n++;
    return 0;
}

static struct msg_copy get_msg(const char *tenant, const char *id)
{
    struct msg_copy c;
    struct err e = {0};
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(crm_message_get(T.db, tenant, id, copy_msg, &c, &e), 0);
    return c;
}

struct ev_count {
    int total, applied;
    char last_status[32];
    char last_error[64];
};

static int count_ev(void *ud, const struct store_message_event *ev)
{
    struct ev_count *c = ud;
    c->total++;
    c->applied += ev->applied;
    snprintf(c->last_status, sizeof(c->last_status), "%s", ev->status);
    snprintf(c->last_error, sizeof(c->last_error), "%s", ev->error_code);
    return 0;
}

static struct ev_count events(const char *tenant, const char *msg_id)
{
    struct ev_count c;
    struct err e = {0};
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(crm_message_events(T.db, tenant, msg_id, count_ev, &c, &e), 0);
    return c;
}

static int inbound(const char *tenant, const char *account, const char *channel, const char *from, const char *name,
                   const char *pid, int64_t at, struct crm_record_result *out)
{
    struct crm_inbound in = {account, channel, from, name, pid, NULL, "hello", NULL, at, NULL, NULL, NULL, NULL, NULL};
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    rc = crm_inbound_record(&tx, tenant, &in, out, &e);
    if (rc) {
        fprintf(stderr, "  inbound: %s\n", e.msg);
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

/* An outbound message, handed to the provider as pid with its first status. */
static int outbound(const char *tenant, const char *account, const char *to, const char *key, const char *pid,
                    const char *first_status, struct crm_record_result *out)
{
    struct crm_outbound o = {.account_id = account, .channel = "sms", .to = to, .body = "hi there", .idempotency_key = key};
    struct crm_status_result sr;
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    rc = crm_outbound_create(&tx, tenant, &o, out, &e);
    if (rc == 0 && pid)
        rc = crm_outbound_sent(&tx, tenant, out->message_id, pid, first_status, 0, &sr, &e);
    if (rc) {
        fprintf(stderr, "  outbound: %s\n", e.msg);
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

static int apply(const char *tenant, const char *account, const char *pid, const char *status, int64_t ts,
                 const char *code, struct crm_status_result *out)
{
    struct crm_status_update u = {account, pid, status, code, code ? "carrier said no" : NULL, ts, 0};
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    rc = crm_status_apply(&tx, tenant, &u, out, &e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

static struct store_conversation conv(const char *tenant, const char *id)
{
    struct store_conversation c;
    struct err e = {0};
    memset(&c, 0, sizeof(c));
    CHECK_EQ_INT(crm_conversation_get(T.db, tenant, id, &c, &e), 0);
    return c;
}

struct ids_acc {
    int n;
    char kinds[64];
};

static int count_ids(void *ud, const struct store_contact *k)
{
    struct ids_acc *a = ud;
    for (int i = 0; i < k->nidentities; i++) {
        size_t l = strlen(a->kinds);
        snprintf(a->kinds + l, sizeof(a->kinds) - l, "%s:%s ", k->identities[i].kind, k->identities[i].address);
        a->n++;
    }
    return 0;
}

static int count_msg(void *ud, const struct store_message *m)
{
    (void)m;
    (*(int *)ud)++;
    return 0;
}

/* ------------------------------------------------------- normalisation */

static void test_crm__normalize_address(void)
{
    static const struct {
        const char *kind, *raw, *want; /* want NULL: refused */
        const char *slug;
    } cases[] = {
        {"phone", "+1 (555) 123-4567", "+15551234567", NULL},
        {"phone", "+1.555.123.4567", "+15551234567", NULL},
        {"phone", "00 44 20 7946 0958", "+442079460958", NULL},
        {"phone", "+44 (0)20 7946 0958", "+442079460958", NULL},
        {"phone", "  +49 30/1234567\t", "+49301234567", NULL},
        {"phone", "+123456789012345", "+123456789012345", NULL},
        {"phone", "00123456789012345", "+123456789012345", NULL},
        {"phone", "+6834002", "+6834002", NULL},
        {"phone", "+1\xc2\xa0" "555\xc2\xa0" "123\xc2\xa0" "4567", "+15551234567", NULL},
        {"phone", "+1 555 123 4567\xc2", NULL, "invalid_address"},
        {"phone", "5551234567", NULL, "invalid_address"},
        {"phone", "(555) 123-4567", NULL, "invalid_address"},
        {"phone", "15551234567", NULL, "invalid_address"},
        {"phone", "+0441234567", NULL, "invalid_address"},
        {"phone", "000441234567", NULL, "invalid_address"},
        {"phone", "+1234567890123456", NULL, "invalid_address"},
        {"phone", "+12345", NULL, "invalid_address"},
        {"phone", "+1 555 CALL NOW", NULL, "invalid_address"},
        {"phone", "+1+5551234567", NULL, "invalid_address"},
        {"phone", "1+5551234567", NULL, "invalid_address"},
        {"phone", "", NULL, "invalid_address"},
        {"phone", NULL, NULL, "invalid_address"},
        {"phone", "whatsapp:+15551234567", NULL, "invalid_address"},
        {"whatsapp", "15551234567", "+15551234567", NULL},
        {"whatsapp", "+15551234567", "+15551234567", NULL},
        {"whatsapp", "whatsapp:+15551234567", "+15551234567", NULL},
        {"whatsapp", "WhatsApp:15551234567", "+15551234567", NULL},
        {"whatsapp", "0015551234567", "+15551234567", NULL},
        {"whatsapp", "05551234567", NULL, "invalid_address"},
        {"whatsapp", "1555123456789012", NULL, "invalid_address"},
        {"email", "  Alice.Smith@Example.COM \n", "alice.smith@example.com", NULL},
        {"email", "a@b.co", "a@b.co", NULL},
        {"email", "first+tag@mail.example.org", "first+tag@mail.example.org", NULL},
        {"email", "no-at.example.com", NULL, "invalid_address"},
        {"email", "a@@b.com", NULL, "invalid_address"},
        {"email", "a@b@c.com", NULL, "invalid_address"},
        {"email", "a@localhost", NULL, "invalid_address"},
        {"email", "a b@c.com", NULL, "invalid_address"},
        {"email", ".a@b.com", NULL, "invalid_address"},
        {"email", "a.@b.com", NULL, "invalid_address"},
        {"email", "a..b@c.com", NULL, "invalid_address"},
        {"email", "a@b..com", NULL, "invalid_address"},
        {"email", "a@.b.com", NULL, "invalid_address"},
        {"email", "a@b.com.", NULL, "invalid_address"},
        {"email", "@b.com", NULL, "invalid_address"},
        {"email", "<a@b.com>", NULL, "invalid_address"},
        {"email", "   ", NULL, "invalid_address"},
        {"telegram", " 123456789 ", "123456789", NULL},
        {"telegram", "-1001234567890", "-1001234567890", NULL},
        {"instagram", "17841400000000000", "17841400000000000", NULL},
        {"webchat", "wcs_AbC-9_x", "wcs_AbC-9_x", NULL},
        {"telegram", "12 34", NULL, "invalid_address"},
        {"instagram", "", NULL, "invalid_address"},
        {"webchat", "a/b", NULL, "invalid_address"},
        {"fax", "+15551234567", NULL, "invalid_kind"},
    };
    char out[CRM_ADDRESS_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct err e = {0};
        int rc = crm_normalize_address(cases[i].kind, cases[i].raw, out, sizeof(out), &e);
        if (cases[i].want) {
            if (rc != 0)
                fprintf(stderr, "  %s \"%s\": %s\n", cases[i].kind, cases[i].raw, e.msg);
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_STR(out, cases[i].want);
        } else {
            if (rc == 0)
                fprintf(stderr, "  %s \"%s\" accepted as %s\n", cases[i].kind, cases[i].raw, out);
            CHECK_EQ_INT(rc, ERR_INVALID);
            CHECK_EQ_STR(e.slug, cases[i].slug);
        }
    }
    /* The missing country code is what the message says. */
    struct err e = {0};
    CHECK_EQ_INT(crm_normalize_address("phone", "555 123 4567", out, sizeof(out), &e), ERR_INVALID);
    CHECK(strstr(e.msg, "country code") != NULL);
    /* 255 bytes is one too many for an address. */
    char long_mail[300];
    memset(long_mail, 'a', 250);
    strcpy(long_mail + 250, "@b.co");
    CHECK_EQ_INT(crm_normalize_address("email", long_mail, out, sizeof(out), &e), ERR_INVALID);
    /* A buffer too small is refused, not overrun. */
    char small[8];
    CHECK_EQ_INT(crm_normalize_address("phone", "+15551234567", small, sizeof(small), &e), ERR_INVALID);
    CHECK_EQ_STR(crm_identity_kind("sms"), "phone");
    CHECK_EQ_STR(crm_identity_kind("whatsapp"), "whatsapp");
    CHECK_EQ_STR(crm_identity_kind("email"), "email");
    CHECK_EQ_STR(crm_identity_kind("telegram"), "telegram");
    CHECK(crm_identity_kind("fax") == NULL);
}

/* ----------------------------------------------------- status machine */

static void test_crm__status_machine_table(void)
{
    static const char *const st[] = {"received", "queued", "sent", "delivered", "read", "failed", "undelivered"};
    /* moves[current][incoming] */
    static const int moves[7][7] = {
        /*              rcv que sen del rea fai und */
        /* received  */ {0, 0, 0, 0, 0, 0, 0},
        /* queued    */ {0, 0, 1, 1, 1, 1, 1},
        /* sent      */ {0, 0, 0, 1, 1, 1, 1},
        /* delivered */ {0, 0, 0, 0, 1, 0, 0},
        /* read      */ {0, 0, 0, 0, 0, 0, 0},
        /* failed    */ {0, 0, 0, 0, 0, 0, 0},
        /* undeliv.  */ {0, 0, 0, 0, 0, 0, 0},
    };
    for (int c = 0; c < 7; c++)
        for (int i = 0; i < 7; i++) {
            int got = crm_status_moves(st[c], st[i]);
            if (got != moves[c][i])
                fprintf(stderr, "  %s -> %s: %d\n", st[c], st[i], got);
            CHECK_EQ_INT(got, moves[c][i]);
        }
    /* Provider aliases. */
    CHECK_EQ_STR(crm_status_canonical("sending"), "queued");
    CHECK_EQ_STR(crm_status_canonical("accepted"), "queued");
    CHECK_EQ_STR(crm_status_canonical("scheduled"), "queued");
    CHECK_EQ_STR(crm_status_canonical("canceled"), "failed");
    CHECK_EQ_STR(crm_status_canonical("DELIVERED"), "delivered");
    CHECK(crm_status_canonical("partially_delivered") == NULL);
    CHECK(crm_status_canonical(NULL) == NULL);
    CHECK_EQ_INT(crm_status_moves("queued", "sending"), 0);
    CHECK_EQ_INT(crm_status_moves("queued", "accepted"), 0);
    CHECK_EQ_INT(crm_status_moves("sent", "sending"), 0);
    CHECK_EQ_INT(crm_status_moves("queued", "canceled"), 1);
    CHECK_EQ_INT(crm_status_moves("delivered", "canceled"), 0);
    CHECK_EQ_INT(crm_status_moves("queued", "bogus"), 0);
    CHECK_EQ_INT(crm_status_moves("bogus", "sent"), 0);
}

/* ------------------------------------------------- status application */

static void test_crm__out_of_order_callbacks(void)
{
    struct crm_record_result r;
    struct crm_status_result s;
    struct msg_copy m;
    struct ev_count ev;

    /* Delivered before sent: ends delivered, sent_at still filled. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo1", "queued", &r), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo1", "delivered", 2000, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 1);
    CHECK_EQ_STR(s.previous, "queued");
    CHECK_EQ_STR(s.status, "delivered");
    CHECK_EQ_STR(s.message_id, r.message_id);
    CHECK_EQ_STR(s.conversation_id, r.conversation_id);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo1", "sent", 1000, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    CHECK_EQ_STR(s.status, "delivered");
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "delivered");
    CHECK_EQ_INT(m.m.sent_at, 1000);
    CHECK_EQ_INT(m.m.delivered_at, 2000);
    CHECK_EQ_STR(m.m.provider_message_id, "SMooo1");

    /* Read then delivered: stays read, delivered_at filled. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo2", "sent", &r), 0);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "sent");
    CHECK(m.m.sent_at > 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo2", "read", 3000, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 1);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo2", "delivered", 2500, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "read");
    CHECK_EQ_INT(m.m.read_at, 3000);
    CHECK_EQ_INT(m.m.delivered_at, 2500);

    /* Failed after delivered: ignored, but kept in the history. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo3", "queued", &r), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo3", "delivered", 4000, NULL, &s), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo3", "failed", 4100, "30007", &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    CHECK_EQ_STR(s.status, "delivered");
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "delivered");
    CHECK_EQ_INT(m.m.failed_at, 0);
    CHECK_EQ_STR(m.m.error_code, "");
    ev = events(TA, r.message_id);
    CHECK_EQ_INT(ev.total, 3); /* queued (send result), delivered, failed */
    CHECK_EQ_INT(ev.applied, 1);
    CHECK_EQ_STR(ev.last_status, "failed");
    CHECK_EQ_STR(ev.last_error, "30007");

    /* Repeated: one applied event, the history keeps all. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo4", "queued", &r), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(apply(TA, SMS_A, "SMooo4", "sent", 5000 + i, NULL, &s), 0);
        CHECK_EQ_INT(s.applied, i == 0);
    }
    ev = events(TA, r.message_id);
    CHECK_EQ_INT(ev.total, 4);
    CHECK_EQ_INT(ev.applied, 1);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_INT(m.m.sent_at, 5000); /* the first one's time */

    /* Failed from sent: terminal, with its error; nothing moves it after. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo5", "sent", &r), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo5", "failed", 6000, "30007", &s), 0);
    CHECK_EQ_INT(s.applied, 1);
    CHECK_EQ_STR(s.status, "failed");
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo5", "delivered", 6100, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "failed");
    CHECK_EQ_INT(m.m.failed_at, 6000);
    CHECK_EQ_INT(m.m.delivered_at, 0);
    CHECK_EQ_STR(m.m.error_code, "30007");
    CHECK_EQ_STR(m.error_text, "carrier said no");

    /* Undelivered straight from queued; a late "sent" still records it was sent. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo6", "queued", &r), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo6", "undelivered", 7000, "30003", &s), 0);
    CHECK_EQ_INT(s.applied, 1);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo6", "sent", 6900, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "undelivered");
    CHECK_EQ_INT(m.m.failed_at, 7000);
    CHECK_EQ_INT(m.m.sent_at, 6900);

    /* Aliases: "sending" is no move; "canceled" fails it. Unknown words are kept, unapplied. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100001", NULL, "SMooo7", "accepted", &r), 0);
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo7", "sending", 0, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    CHECK_EQ_STR(s.status, "queued");
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo7", "partially_delivered", 0, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 0);
    ev = events(TA, r.message_id);
    CHECK_EQ_STR(ev.last_status, "partially_delivered");
    CHECK_EQ_INT(apply(TA, SMS_A, "SMooo7", "canceled", 0, NULL, &s), 0);
    CHECK_EQ_INT(s.applied, 1);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "failed");
    CHECK(m.m.failed_at > 0); /* no provider time: when we received it */

    /* Unknown provider ids (the send result is not stored yet) and other tenants: not found. */
    CHECK_EQ_INT(apply(TA, SMS_A, "SMnever", "delivered", 0, NULL, &s), ERR_NOTFOUND);
    CHECK_EQ_INT(apply(TB, SMS_A, "SMooo1", "read", 0, NULL, &s), ERR_NOTFOUND);
    CHECK_EQ_INT(apply(TA, SMS_B, "SMooo1", "read", 0, NULL, &s), ERR_NOTFOUND);
}

static void test_crm__mark_sent_and_failed(void)
{
    struct crm_record_result r, r2;
    struct crm_status_result s;
    struct store_tx tx;
    struct err e = {0};
    struct msg_copy m;

    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100002", NULL, NULL, NULL, &r), 0);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "queued");
    CHECK_EQ_STR(m.m.direction, "outbound");
    CHECK_EQ_STR(m.m.channel, "sms");
    CHECK(m.m.created_at > 0);
    CHECK_EQ_STR(m.m.provider_message_id, "");

    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_failed(&tx, TA, r.message_id, "21211", "invalid To", 8000, &s, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(s.applied, 1);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "failed");
    CHECK_EQ_INT(m.m.failed_at, 8000);
    CHECK_EQ_STR(m.m.error_code, "21211");
    CHECK_EQ_STR(m.error_text, "invalid To");

    /* A send result for another tenant's message is not found. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100002", NULL, NULL, NULL, &r2), 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_sent(&tx, TB, r2.message_id, "SMx", "sent", 0, &s, &e), ERR_NOTFOUND);
    store_tx_rollback(&tx);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_sent(&tx, TA, r2.message_id, "SMsentfail", "sent", 9000, &s, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_STR(s.status, "sent");
    m = get_msg(TA, r2.message_id);
    CHECK_EQ_INT(m.m.sent_at, 9000);
    CHECK_EQ_STR(m.m.provider_message_id, "SMsentfail");
    /* Delivered, then a late failure from the worker changes nothing. */
    CHECK_EQ_INT(apply(TA, SMS_A, "SMsentfail", "delivered", 9100, NULL, &s), 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_failed(&tx, TA, r2.message_id, "x", "late", 9200, &s, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(s.applied, 0);
    m = get_msg(TA, r2.message_id);
    CHECK_EQ_STR(m.m.status, "delivered");
    CHECK_EQ_STR(m.m.error_code, "");
}

/* ------------------------------------------------------------- inbound */

static void test_crm__inbound_dedupe(void)
{
    struct crm_record_result r, r2;
    struct store_conversation c;
    struct crm_page page = {0};
    struct err e = {0};
    struct msg_copy m;

    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+1 555 010 0003", NULL, "SMin1", 10000, &r), 0);
    CHECK_EQ_INT(r.duplicate, 0);
    CHECK_EQ_INT(r.contact_created, 1);
    CHECK_EQ_INT(r.conversation_created, 1);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "received");
    CHECK_EQ_STR(m.m.direction, "inbound");
    CHECK_EQ_STR(m.m.body, "hello");
    CHECK_EQ_STR(m.m.type, "text");
    CHECK_EQ_INT(m.m.created_at, 10000);
    c = conv(TA, r.conversation_id);
    CHECK_EQ_INT(c.unread, 1);
    CHECK_EQ_INT(c.last_inbound_at, 10000);
    CHECK_EQ_INT(c.last_message_at, 10000);
    CHECK_EQ_STR(c.status, "open");
    CHECK_EQ_STR(c.channel, "sms");

    /* The job runs again: nothing changes. */
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100003", NULL, "SMin1", 10500, &r2), 0);
    CHECK_EQ_INT(r2.duplicate, 1);
    CHECK_EQ_STR(r2.message_id, r.message_id);
    CHECK_EQ_STR(r2.conversation_id, r.conversation_id);
    CHECK_EQ_INT(r2.contact_created, 0);
    c = conv(TA, r.conversation_id);
    CHECK_EQ_INT(c.unread, 1);
    CHECK_EQ_INT(c.last_inbound_at, 10000);
    int n = 0;
    page.limit = 100;
    CHECK_EQ_INT(crm_conversation_messages(T.db, TA, r.conversation_id, &page, count_msg, &n, &e), 0);
    CHECK_EQ_INT(n, 1);

    /* A new message counts; an older one does not move the times back. */
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100003", NULL, "SMin2", 9000, &r2), 0);
    CHECK_EQ_INT(r2.duplicate, 0);
    CHECK_EQ_STR(r2.conversation_id, r.conversation_id);
    CHECK_EQ_STR(r2.contact_id, r.contact_id);
    c = conv(TA, r.conversation_id);
    CHECK_EQ_INT(c.unread, 2);
    CHECK_EQ_INT(c.last_inbound_at, 10000);
    CHECK_EQ_INT(c.last_message_at, 10000);

    /* The same provider id on another account is another message. */
    CHECK_EQ_INT(inbound(TA, WA_A, "whatsapp", "15550100003", NULL, "SMin1", 11000, &r2), 0);
    CHECK_EQ_INT(r2.duplicate, 0);
    CHECK(strcmp(r2.message_id, r.message_id) != 0);

    /* Bad input is refused before anything is written. */
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "555-0100", NULL, "SMbad", 0, &r2), ERR_INVALID);
    CHECK_EQ_INT(inbound(TA, SMS_A, "fax", "+15550100003", NULL, "SMbad", 0, &r2), ERR_INVALID);
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100003", NULL, "", 0, &r2), ERR_INVALID);
}

static void test_crm__identity_autolink(void)
{
    struct crm_record_result sms, wa, wa2, mail, out;
    struct store_conversation c;

    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100004", NULL, "SMlink1", 20000, &sms), 0);
    CHECK_EQ_INT(sms.contact_created, 1);
    /* The same number on WhatsApp (a bare wa_id) is the same person; the profile name fills the empty name. */
    CHECK_EQ_INT(inbound(TA, WA_A, "whatsapp", "15550100004", "Bob", "wamid.link1", 20100, &wa), 0);
    CHECK_EQ_INT(wa.contact_created, 0);
    CHECK_EQ_STR(wa.contact_id, sms.contact_id);
    CHECK_EQ_INT(wa.conversation_created, 1);
    CHECK(strcmp(wa.conversation_id, sms.conversation_id) != 0);
    /* A later profile name does not overwrite a name. */
    CHECK_EQ_INT(inbound(TA, WA_A, "whatsapp", "+15550100004", "Robert", "wamid.link2", 20200, &wa2), 0);
    CHECK_EQ_STR(wa2.contact_id, sms.contact_id);
    CHECK_EQ_STR(wa2.conversation_id, wa.conversation_id);
    c = conv(TA, wa.conversation_id);
    CHECK_EQ_STR(c.contact_name, "Bob");
    CHECK_EQ_STR(c.channel, "whatsapp");

    struct ids_acc ids = {0, ""};
    struct err e = {0};
    CHECK_EQ_INT(crm_contact_get(T.db, TA, sms.contact_id, count_ids, &ids, &e), 0);
    CHECK_EQ_INT(ids.n, 2);
    CHECK_EQ_STR(ids.kinds, "phone:+15550100004 whatsapp:+15550100004 ");

    /* An e-mail address is someone else until linked by hand. */
    CHECK_EQ_INT(inbound(TA, MAIL_A, "email", "Bob@Example.com", NULL, "mail-1", 20300, &mail), 0);
    CHECK_EQ_INT(mail.contact_created, 1);
    CHECK(strcmp(mail.contact_id, sms.contact_id) != 0);

    /* Outbound to the number in another format finds the same contact and conversation. */
    CHECK_EQ_INT(outbound(TA, SMS_A, "+1 (555) 010-0004", NULL, NULL, NULL, &out), 0);
    CHECK_EQ_STR(out.contact_id, sms.contact_id);
    CHECK_EQ_STR(out.conversation_id, sms.conversation_id);
    CHECK_EQ_INT(out.contact_created, 0);
    c = conv(TA, sms.conversation_id);
    CHECK_EQ_INT(c.unread, 1); /* outbound leaves unread and last_inbound_at alone */
    CHECK_EQ_INT(c.last_inbound_at, 20000);
    CHECK(c.last_message_at > 20000);

    /* Another tenant's same number is another contact. */
    CHECK_EQ_INT(inbound(TB, SMS_B, "sms", "+15550100004", NULL, "SMlinkB", 20400, &out), 0);
    CHECK_EQ_INT(out.contact_created, 1);
    CHECK(strcmp(out.contact_id, sms.contact_id) != 0);
}

static int link_phone(const char *tenant, const char *contact_id, const char *raw, int *linked)
{
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    if ((rc = crm_identity_link(&tx, tenant, contact_id, raw, linked, &e))) {
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

static void test_crm__identity_link_shared_phone(void)
{
    struct crm_record_result tg, tg2, sms, out;
    struct ids_acc ids = {0, ""};
    struct err e = {0};
    int linked = -1;

    CHECK_EQ_INT(inbound(TA, TG_A, "telegram", "5089237744", "Ana", "5089237744:1", 21000, &tg), 0);
    CHECK_EQ_INT(tg.contact_created, 1);
    /* Telegram gives the number without "+": the caller adds it; the number joins the contact. */
    CHECK_EQ_INT(link_phone(TA, tg.contact_id, "+351 912 345 678", &linked), 0);
    CHECK_EQ_INT(linked, 1);
    CHECK_EQ_INT(crm_contact_get(T.db, TA, tg.contact_id, count_ids, &ids, &e), 0);
    CHECK_EQ_STR(ids.kinds, "telegram:5089237744 phone:+351912345678 ");
    /* Again: nothing changes, still theirs. */
    CHECK_EQ_INT(link_phone(TA, tg.contact_id, "+351912345678", &linked), 0);
    CHECK_EQ_INT(linked, 1);
    /* An SMS from that number now lands on the same contact. */
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+351912345678", NULL, "SMtglink1", 21100, &sms), 0);
    CHECK_EQ_STR(sms.contact_id, tg.contact_id);
    CHECK_EQ_INT(sms.contact_created, 0);
    /* A number another contact already has (here through WhatsApp) is left alone. */
    CHECK_EQ_INT(inbound(TA, WA_A, "whatsapp", "15550100777", NULL, "wamid.tglink", 21200, &out), 0);
    CHECK_EQ_INT(inbound(TA, TG_A, "telegram", "5089237799", "Bo", "5089237799:1", 21300, &tg2), 0);
    CHECK_EQ_INT(link_phone(TA, tg2.contact_id, "+15550100777", &linked), 0);
    CHECK_EQ_INT(linked, 0);
    memset(&ids, 0, sizeof(ids));
    CHECK_EQ_INT(crm_contact_get(T.db, TA, tg2.contact_id, count_ids, &ids, &e), 0);
    CHECK_EQ_STR(ids.kinds, "telegram:5089237799 ");
    /* Not a number: refused, nothing written. */
    CHECK_EQ_INT(link_phone(TA, tg2.contact_id, "351912345678", &linked), ERR_INVALID);
    CHECK_EQ_INT(link_phone(TA, tg2.contact_id, "call me", &linked), ERR_INVALID);
    /* The same number in another tenant is that tenant's own business. */
    CHECK_EQ_INT(inbound(TB, SMS_B, "sms", "+351912345678", NULL, "SMtglinkB", 21400, &out), 0);
    CHECK_EQ_INT(out.contact_created, 1);
}

/* ------------------------------------------------------- conversations */

static void test_crm__conversation_reopen(void)
{
    struct crm_record_result r;
    struct crm_conversation_patch p = {0};
    struct store_conversation c;
    struct err e = {0};

    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100005", NULL, "SMre1", 30000, &r), 0);
    p.status = "resolved";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "127.0.0.1", &c, &e), 0);
    CHECK_EQ_STR(c.status, "resolved");
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100005", NULL, "SMre2", 30100, &r), 0);
    CHECK_EQ_INT(r.reopened, 1);
    c = conv(TA, r.conversation_id);
    CHECK_EQ_STR(c.status, "open");
    CHECK_EQ_INT(c.unread, 2);
    /* Pending is a choice an agent made: a message does not change it. */
    p.status = "pending";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "127.0.0.1", &c, &e), 0);
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100005", NULL, "SMre3", 30200, &r), 0);
    CHECK_EQ_INT(r.reopened, 0);
    CHECK_EQ_STR(conv(TA, r.conversation_id).status, "pending");
    /* A duplicate of a message does not reopen a resolved conversation. */
    p.status = "resolved";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "127.0.0.1", &c, &e), 0);
    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100005", NULL, "SMre3", 30300, &r), 0);
    CHECK_EQ_INT(r.duplicate, 1);
    CHECK_EQ_STR(conv(TA, r.conversation_id).status, "resolved");
    /* The window clock is the last inbound message, found from the raw address. */
    int64_t last = -1;
    CHECK_EQ_INT(crm_last_inbound(T.db, TA, SMS_A, "sms", "+1 555 010 0005", &last, &e), 0);
    CHECK_EQ_INT(last, 30200);
    CHECK_EQ_INT(crm_last_inbound(T.db, TB, SMS_A, "sms", "+15550100005", &last, &e), 0);
    CHECK_EQ_INT(last, 0); /* another tenant's */
    CHECK_EQ_INT(crm_last_inbound(T.db, TA, SMS_A, "sms", "+15550199999", &last, &e), 0);
    CHECK_EQ_INT(last, 0); /* nobody */
    CHECK_EQ_INT(crm_last_inbound(T.db, TA, SMS_A, "sms", "5550100005", &last, &e), ERR_INVALID);
}

struct audit_find {
    const char *target;
    int n;
    char details[1024];
};

static int find_audit(void *ud, const struct store_audit *a)
{
    struct audit_find *f = ud;
    if (strcmp(a->action, "conversation.update") == 0 && strcmp(a->target, f->target) == 0) {
        if (f->n++ == 0)
            snprintf(f->details, sizeof(f->details), "%s", a->details);
    }
    return 0;
}

static void test_crm__conversation_update(void)
{
    struct crm_record_result r;
    struct crm_conversation_patch p = {0};
    struct store_conversation c;
    struct audit_find af = {0};
    struct err e = {0};

    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100006", NULL, "SMup1", 31000, &r), 0);
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_request");
    p.status = "closed";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_status");
    p.status = NULL;
    p.set_assignee = 1;
    p.assignee_id = agent_b; /* a user, but of tenant B */
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_assignee");
    p.assignee_id = "usr_nobody";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), ERR_INVALID);
    p.assignee_id = agent_a;
    p.status = "pending";
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "apikey", "key_x", "10.0.0.1", &c, &e), 0);
    CHECK_EQ_STR(c.assignee_id, agent_a);
    CHECK_EQ_STR(c.status, "pending");
    CHECK_EQ_STR(c.contact_name, "");
    CHECK_EQ_INT(c.unread, 1);
    af.target = r.conversation_id;
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, find_audit, &af, &e), 0);
    CHECK_EQ_INT(af.n, 1);
    cJSON *d = cJSON_Parse(af.details);
    CHECK(cJSON_IsObject(d));
    CHECK_EQ_INT(cJSON_GetArraySize(d), 2);
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(d, "status"), "from"), "open");
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(d, "status"), "to"), "pending");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "assignee_id"), "from")));
    CHECK_EQ_STR(json_str(cJSON_GetObjectItemCaseSensitive(d, "assignee_id"), "to"), agent_a);
    cJSON_Delete(d);
    /* Unassign; status unchanged. */
    memset(&p, 0, sizeof(p));
    p.set_assignee = 1;
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), 0);
    CHECK_EQ_STR(c.assignee_id, "");
    CHECK_EQ_STR(c.status, "pending");
    /* The same values again change nothing and write no audit row. */
    CHECK_EQ_INT(crm_conversation_update(T.db, TA, r.conversation_id, &p, "user", agent_a, "", &c, &e), 0);
    af.n = 0;
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, find_audit, &af, &e), 0);
    CHECK_EQ_INT(af.n, 2);
    /* Another tenant: not found, and nothing changed. */
    p.set_assignee = 0;
    p.status = "resolved";
    CHECK_EQ_INT(crm_conversation_update(T.db, TB, r.conversation_id, &p, "user", agent_b, "", &c, &e),
                 ERR_NOTFOUND);
    CHECK_EQ_STR(conv(TA, r.conversation_id).status, "pending");
}

static void test_crm__idempotency_key(void)
{
    struct crm_record_result r1, r2, r3, look;
    struct crm_outbound o = {.account_id = SMS_A, .channel = "sms", .to = "+15550100007", .body = "second body",
                             .idempotency_key = "idem-1"};
    struct store_tx tx;
    struct err e = {0};
    struct crm_page page = {0};
    int n = 0;

    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550100007", "idem-1", NULL, NULL, &r1), 0);
    CHECK_EQ_INT(r1.duplicate, 0);
    /* The same key again, whatever else differs: the first message, nothing new. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_lookup(&tx, TA, "idem-1", &look, &e), 0);
    CHECK_EQ_STR(look.message_id, r1.message_id);
    CHECK_EQ_INT(look.duplicate, 1);
    CHECK_EQ_INT(crm_outbound_lookup(&tx, TA, "idem-unknown", &look, &e), ERR_NOTFOUND);
    o.to = "+15550100099";
    CHECK_EQ_INT(crm_outbound_create(&tx, TA, &o, &r2, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(r2.duplicate, 1);
    CHECK_EQ_STR(r2.message_id, r1.message_id);
    CHECK_EQ_STR(r2.conversation_id, r1.conversation_id);
    CHECK_EQ_STR(get_msg(TA, r1.message_id).body, "hi there");
    page.limit = 100;
    CHECK_EQ_INT(crm_conversation_messages(T.db, TA, r1.conversation_id, &page, count_msg, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    /* Keys are per tenant. */
    CHECK_EQ_INT(outbound(TB, SMS_B, "+15550100007", "idem-1", NULL, NULL, &r3), 0);
    CHECK_EQ_INT(r3.duplicate, 0);
    CHECK(strcmp(r3.message_id, r1.message_id) != 0);
    /* A template message without a type is a template; bad JSON is refused. */
    struct crm_outbound t = {.account_id = SMS_A, .channel = "sms", .to = "+15550100007", .body = "",
                             .template_json = "{\"name\":\"hello\",\"language\":\"en\"}"};
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_create(&tx, TA, &t, &r3, &e), 0);
    t.template_json = "[1,2]";
    CHECK_EQ_INT(crm_outbound_create(&tx, TA, &t, &r2, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_template");
    t.template_json = NULL;
    t.media_json = "{\"url\":1}";
    CHECK_EQ_INT(crm_outbound_create(&tx, TA, &t, &r2, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_media");
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_STR(get_msg(TA, r3.message_id).m.type, "template");
}

static void test_crm__tenant_isolation(void)
{
    struct crm_record_result r;
    struct store_conversation c;
    struct crm_conversation_patch p = {"resolved", 0, NULL};
    struct crm_page page = {0};
    struct msg_copy m;
    struct ids_acc ids = {0, ""};
    struct err e = {0};
    int n = 0;

    CHECK_EQ_INT(inbound(TA, SMS_A, "sms", "+15550100008", "Alice", "SMiso1", 40000, &r), 0);
    memset(&m, 0, sizeof(m));
    CHECK_EQ_INT(crm_message_get(T.db, TB, r.message_id, copy_msg, &m, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(m.n, 0);
    CHECK_EQ_INT(crm_conversation_get(T.db, TB, r.conversation_id, &c, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(crm_conversation_messages(T.db, TB, r.conversation_id, &page, count_msg, &n, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(crm_conversation_update(T.db, TB, r.conversation_id, &p, "user", agent_b, "", &c, &e),
                 ERR_NOTFOUND);
    CHECK_EQ_INT(crm_contact_get(T.db, TB, r.contact_id, count_ids, &ids, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(crm_message_events(T.db, TB, r.message_id, count_ev, &ids, &e), 0);
    CHECK_EQ_INT(crm_message_get(T.db, TA, r.message_id, copy_msg, &m, &e), 0);
    CHECK_EQ_INT(crm_contact_get(T.db, TA, r.contact_id, count_ids, &ids, &e), 0);
    CHECK_EQ_INT(ids.n, 1);
}

/* ----------------------------------------------------------- pagination */

#define PAGE_ROWS 57

struct seen {
    char ids[PAGE_ROWS * 2][CORE_ID_MAX];
    int64_t keys[PAGE_ROWS * 2];
    int n;
    int page_rows;
};

static int seen_conv(void *ud, const struct store_conversation *c)
{
    struct seen *s = ud;
    if (s->n < PAGE_ROWS * 2) {
        snprintf(s->ids[s->n], CORE_ID_MAX, "%s", c->id);
        s->keys[s->n] = c->last_message_at;
        s->n++;
    }
    s->page_rows++;
    return 0;
}

static int seen_msg(void *ud, const struct store_message *m)
{
    struct seen *s = ud;
    if (s->n < PAGE_ROWS * 2) {
        snprintf(s->ids[s->n], CORE_ID_MAX, "%s", m->id);
        s->keys[s->n] = m->created_at;
        s->n++;
    }
    s->page_rows++;
    return 0;
}

static int seen_contact(void *ud, const struct store_contact *c)
{
    struct seen *s = ud;
    if (s->n < PAGE_ROWS * 2) {
        snprintf(s->ids[s->n], CORE_ID_MAX, "%s", c->id);
        s->keys[s->n] = c->created_at;
        s->n++;
    }
    s->page_rows++;
    return 0;
}

/* Every id once, in (key, id) order (desc: newest first). */
static void check_order(const struct seen *s, int want, int desc)
{
    CHECK_EQ_INT(s->n, want);
    for (int i = 1; i < s->n; i++) {
        int cmp = s->keys[i - 1] < s->keys[i] ? -1 : s->keys[i - 1] > s->keys[i] ? 1 : 0;
        if (cmp == 0)
            cmp = strcmp(s->ids[i - 1], s->ids[i]);
        CHECK(desc ? cmp > 0 : cmp < 0); /* strictly ordered: no duplicates */
    }
}

static void test_crm__pagination(void)
{
    static struct seen s;
    struct crm_record_result r, first;
    struct crm_page page;
    struct err e = {0};
    char pid[32], from[32];
    int pages;

    /* Tenant C: 57 contacts each with a conversation; three share each timestamp. */
    for (int i = 0; i < PAGE_ROWS; i++) {
        snprintf(pid, sizeof(pid), "SMpage%d", i);
        snprintf(from, sizeof(from), "+1555020%04d", i);
        CHECK_EQ_INT(inbound(TC, SMS_C, "sms", from, NULL, pid, 50000 + i / 3, &r), 0);
        if (i == 0)
            first = r;
    }
    for (int limit = 10; limit <= 19; limit += 9) {
        memset(&s, 0, sizeof(s));
        memset(&page, 0, sizeof(page));
        page.limit = limit;
        char cursor[CRM_CURSOR_MAX] = "";
        pages = 0;
        do {
            s.page_rows = 0;
            page.cursor = cursor;
            CHECK_EQ_INT(crm_conversation_list(T.db, TC, NULL, &page, seen_conv, &s, &e), 0);
            pages++;
            CHECK(s.page_rows <= limit);
            if (page.next_cursor[0])
                CHECK_EQ_INT(s.page_rows, limit);
            snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
        } while (cursor[0] && pages < 20);
        check_order(&s, PAGE_ROWS, 1);
        CHECK_EQ_INT(pages, (PAGE_ROWS + limit - 1) / limit); /* 57 / 19: three pages, no empty fourth */
    }
    /* Contacts, newest first. */
    memset(&s, 0, sizeof(s));
    memset(&page, 0, sizeof(page));
    page.limit = 10;
    char cursor[CRM_CURSOR_MAX] = "";
    pages = 0;
    do {
        page.cursor = cursor;
        CHECK_EQ_INT(crm_contact_list(T.db, TC, NULL, &page, seen_contact, &s, &e), 0);
        snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
        pages++;
    } while (cursor[0] && pages < 20);
    check_order(&s, PAGE_ROWS, 1);

    /* Messages of one conversation, oldest first, with ties on created_at. */
    for (int i = 0; i < 24; i++) {
        snprintf(pid, sizeof(pid), "SMthread%d", i);
        CHECK_EQ_INT(inbound(TC, SMS_C, "sms", "+15550200000", NULL, pid, 60000 + i / 4, &r), 0);
    }
    memset(&s, 0, sizeof(s));
    memset(&page, 0, sizeof(page));
    page.limit = 7;
    cursor[0] = '\0';
    pages = 0;
    do {
        page.cursor = cursor;
        CHECK_EQ_INT(crm_conversation_messages(T.db, TC, first.conversation_id, &page, seen_msg, &s, &e), 0);
        snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
        pages++;
    } while (cursor[0] && pages < 20);
    check_order(&s, 25, 0);
    CHECK_EQ_INT(pages, 4);
    CHECK_EQ_STR(s.ids[0], first.message_id);

    /* Bad cursors and limits. */
    static const char *const bad[] = {"garbage!", "AAAA", "bm90LWEtY3Vyc29y", "YzEyMw", "Yy0xLmNudl94",
                                      "YzEyLmE_Yg"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&page, 0, sizeof(page));
        page.cursor = bad[i];
        CHECK_EQ_INT(crm_conversation_list(T.db, TC, NULL, &page, seen_conv, &s, &e), ERR_INVALID);
        CHECK_EQ_STR(e.slug, "invalid_cursor");
    }
    /* A cursor of one list is refused by another. */
    memset(&page, 0, sizeof(page));
    page.limit = 1;
    CHECK_EQ_INT(crm_conversation_list(T.db, TC, NULL, &page, seen_conv, &s, &e), 0);
    CHECK(page.next_cursor[0] != '\0');
    snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
    memset(&page, 0, sizeof(page));
    page.cursor = cursor;
    CHECK_EQ_INT(crm_contact_list(T.db, TC, NULL, &page, seen_contact, &s, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_cursor");
    memset(&page, 0, sizeof(page));
    page.limit = 101;
    CHECK_EQ_INT(crm_conversation_list(T.db, TC, NULL, &page, seen_conv, &s, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_limit");
    page.limit = -1;
    CHECK_EQ_INT(crm_contact_list(T.db, TC, NULL, &page, seen_contact, &s, &e), ERR_INVALID);
    /* Default limit: 50. */
    memset(&s, 0, sizeof(s));
    memset(&page, 0, sizeof(page));
    CHECK_EQ_INT(crm_conversation_list(T.db, TC, NULL, &page, seen_conv, &s, &e), 0);
    CHECK_EQ_INT(s.n, CRM_LIMIT_DEFAULT);
    CHECK(page.next_cursor[0] != '\0');
}

static void test_crm__filters_and_search(void)
{
    static struct seen s;
    struct crm_record_result a, b, c;
    struct crm_conversation_patch p = {0};
    struct store_conversation_filter f = {0};
    struct store_conversation cv;
    struct crm_page page;
    struct err e = {0};

    CHECK_EQ_INT(inbound(TB, SMS_B, "sms", "+15550300001", "Zed Example", "SMf1", 70000, &a), 0);
    CHECK_EQ_INT(inbound(TB, SMS_B, "sms", "+15550300002", "Yan", "SMf2", 70001, &b), 0);
    CHECK_EQ_INT(inbound(TB, SMS_B, "sms", "+15550300003", "100% Real", "SMf3", 70002, &c), 0);
    p.status = "resolved";
    CHECK_EQ_INT(crm_conversation_update(T.db, TB, b.conversation_id, &p, "user", agent_b, "", &cv, &e), 0);
    p.status = NULL;
    p.set_assignee = 1;
    p.assignee_id = agent_b;
    CHECK_EQ_INT(crm_conversation_update(T.db, TB, c.conversation_id, &p, "user", agent_b, "", &cv, &e), 0);

#define LIST(filter)                                                                  \
    do {                                                                              \
        memset(&s, 0, sizeof(s));                                                     \
        memset(&page, 0, sizeof(page));                                               \
        page.limit = 100;                                                             \
        CHECK_EQ_INT(crm_conversation_list(T.db, TB, filter, &page, seen_conv, &s, &e), 0); \
    } while (0)

    f.status = "resolved";
    LIST(&f);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.ids[0], b.conversation_id);
    f.status = NULL;
    f.assignee = agent_b;
    LIST(&f);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.ids[0], c.conversation_id);
    f.assignee = "none";
    LIST(&f);
    int total_unassigned = s.n;
    f.assignee = NULL;
    LIST(&f);
    CHECK_EQ_INT(s.n, total_unassigned + 1);
    f.channel = "whatsapp";
    LIST(&f);
    CHECK_EQ_INT(s.n, 0);
    f.channel = "sms";
    f.status = "open";
    f.assignee = "none";
    LIST(&f);
    CHECK_EQ_INT(s.n, total_unassigned - 1);
    f.status = "closed";
    memset(&page, 0, sizeof(page));
    CHECK_EQ_INT(crm_conversation_list(T.db, TB, &f, &page, seen_conv, &s, &e), ERR_INVALID);
    CHECK_EQ_STR(e.slug, "invalid_status");

#define SEARCH(q)                                                                      \
    do {                                                                               \
        memset(&s, 0, sizeof(s));                                                      \
        memset(&page, 0, sizeof(page));                                                \
        CHECK_EQ_INT(crm_contact_list(T.db, TB, q, &page, seen_contact, &s, &e), 0);   \
    } while (0)

    SEARCH("zed");
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.ids[0], a.contact_id);
    SEARCH("EXAMPLE");
    CHECK_EQ_INT(s.n, 1);
    SEARCH("0300002");
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.ids[0], b.contact_id);
    SEARCH("0300");
    CHECK_EQ_INT(s.n, 3);
    SEARCH("100%");
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.ids[0], c.contact_id);
    SEARCH("%");
    CHECK_EQ_INT(s.n, 1); /* a literal percent sign, not a wildcard */
    SEARCH("_");
    CHECK_EQ_INT(s.n, 0);
    SEARCH("nobody-has-this");
    CHECK_EQ_INT(s.n, 0);
    char longq[CRM_QUERY_MAX + 2];
    memset(longq, 'x', sizeof(longq) - 1);
    longq[sizeof(longq) - 1] = '\0';
    memset(&page, 0, sizeof(page));
    CHECK_EQ_INT(crm_contact_list(T.db, TB, longq, &page, seen_contact, &s, &e), ERR_INVALID);
}

/* ----------------------------------------------------------------- JSON */

static int json_msg(void *ud, const struct store_message *m)
{
    crm_message_json(ud, m);
    return 0;
}

static int json_contact(void *ud, const struct store_contact *c)
{
    crm_contact_json(ud, c);
    return 0;
}

static void test_crm__json_shapes(void)
{
    struct crm_record_result r;
    struct crm_inbound in = {WA_A, "whatsapp", "15550400001", "Jo \"JJ\"", "wamid.json1", "image", "look",
                             "[{\"id\":\"media-1\",\"content_type\":\"image/jpeg\"}]", 80000, NULL, NULL, NULL, NULL, NULL};
    struct crm_status_result sr;
    struct store_tx tx;
    struct buf b = {0};
    struct err e = {0};
    cJSON *j;

    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_inbound_record(&tx, TA, &in, &r, &e), 0);
    /* Inside the transaction the message reads back the same as after it. */
    CHECK_EQ_INT(crm_message_get_tx(&tx, TA, r.message_id, json_msg, &b, &e), 0);
    CHECK_EQ_INT(crm_message_get_tx(&tx, TB, r.message_id, json_msg, &b, &e), ERR_NOTFOUND);
    char *in_tx = buf_steal(&b);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(crm_message_get(T.db, TA, r.message_id, json_msg, &b, &e), 0);
    CHECK_EQ_STR(b.data, in_tx);
    free(in_tx);
    j = cJSON_Parse(b.data);
    CHECK(j != NULL);
    CHECK_EQ_STR(json_str(j, "id"), r.message_id);
    CHECK_EQ_STR(json_str(j, "conversation_id"), r.conversation_id);
    CHECK_EQ_STR(json_str(j, "account_id"), WA_A);
    CHECK_EQ_STR(json_str(j, "channel"), "whatsapp");
    CHECK_EQ_STR(json_str(j, "direction"), "inbound");
    CHECK_EQ_STR(json_str(j, "address"), "+15550400001");
    CHECK_EQ_STR(json_str(j, "type"), "image");
    CHECK_EQ_STR(json_str(j, "body"), "look");
    CHECK_EQ_STR(json_str(j, "status"), "received");
    CHECK_EQ_STR(json_str(j, "provider_message_id"), "wamid.json1");
    CHECK_EQ_STR(json_str(j, "created_at"), "1970-01-01T00:01:20.000Z");
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "media")));
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "media"), 0), "id"), "media-1");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "template")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "error")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "sent_at")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "failed_at")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "updated_at")));
    CHECK_EQ_STR(json_str(j, "origin"), "customer");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "sent_by")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "subject")));
    CHECK_EQ_INT(cJSON_GetArraySize(j), 23);
    cJSON_Delete(j);

    /* An outbound failure: media [] and an error object. */
    struct crm_record_result o;
    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550400002", NULL, "SMjson", "sent", &o), 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(crm_outbound_failed(&tx, TA, o.message_id, "30008", NULL, 0, &sr, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    buf_reset(&b);
    CHECK_EQ_INT(crm_message_get(T.db, TA, o.message_id, json_msg, &b, &e), 0);
    j = cJSON_Parse(b.data);
    CHECK(j != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "media")), 0);
    CHECK_EQ_STR(json_str(j, "address"), "+15550400002");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    CHECK_EQ_STR(json_str(err, "code"), "30008");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(err, "text")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "failed_at")));
    cJSON_Delete(j);

    /* Conversation, summary and with the contact's identities. */
    struct store_conversation cv = conv(TA, r.conversation_id);
    buf_reset(&b);
    crm_conversation_json(&b, &cv, NULL);
    j = cJSON_Parse(b.data);
    CHECK(j != NULL);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(j, "contact");
    CHECK_EQ_STR(json_str(ct, "id"), r.contact_id);
    CHECK_EQ_STR(json_str(ct, "name"), "Jo \"JJ\"");
    CHECK(cJSON_GetObjectItemCaseSensitive(ct, "identities") == NULL);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "assignee_id")));
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(j, "unread")->valueint, 1);
    CHECK_EQ_STR(json_str(j, "last_inbound_at"), "1970-01-01T00:01:20.000Z");
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(j, "unread_count")->valueint, 1);
    CHECK_EQ_STR(json_str(j, "last_activity_at"), json_str(j, "last_message_at"));
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "last_message")));
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ct, "address")));
    CHECK_EQ_INT(cJSON_GetArraySize(j), 16);
    cJSON_Delete(j);

    buf_reset(&b);
    CHECK_EQ_INT(crm_contact_get(T.db, TA, r.contact_id, json_contact, &b, &e), 0);
    j = cJSON_Parse(b.data);
    CHECK(j != NULL);
    CHECK_EQ_STR(json_str(j, "name"), "Jo \"JJ\"");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(j, "identities");
    CHECK_EQ_INT(cJSON_GetArraySize(ids), 1);
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(ids, 0), "kind"), "whatsapp");
    CHECK_EQ_STR(json_str(cJSON_GetArrayItem(ids, 0), "address"), "+15550400001");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "email")));
    CHECK_EQ_STR(json_str(j, "phone"), "+15550400001"); /* the WhatsApp number when no phone identity */
    CHECK(json_str(j, "last_activity_at") != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(j), 8);
    cJSON_Delete(j);
    buf_free(&b);
}

/* --------------------------------------------------------- concurrency */

/* Two connections report on one message at once. The first holds its
 * transaction open after applying "delivered"; the second applies "sent"
 * meanwhile. Without the row lock the second would read "queued" and write
 * "sent" over "delivered"; with it, it waits and fills sent_at only. */
struct racer {
    const char *pid;
    const char *status;
    int64_t ts;
    int hold_ms;
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    int *stage;
    int rc;
    struct crm_status_result res;
};

static void *race_first(void *arg)
{
    struct racer *r = arg;
    struct crm_status_update u = {SMS_A, r->pid, r->status, NULL, NULL, r->ts, 0};
    struct store_tx tx;
    struct err e = {0};

    r->rc = store_tx_begin(T.db, &tx, &e);
    if (r->rc == 0)
        r->rc = crm_status_apply(&tx, TA, &u, &r->res, &e);
    pthread_mutex_lock(r->mu);
    *r->stage = 1;
    pthread_cond_broadcast(r->cv);
    pthread_mutex_unlock(r->mu);
    usleep((useconds_t)r->hold_ms * 1000);
    if (r->rc == 0)
        r->rc = store_tx_commit(&tx, &e);
    else
        store_tx_rollback(&tx);
    return NULL;
}

static void *race_second(void *arg)
{
    struct racer *r = arg;
    struct crm_status_update u = {SMS_A, r->pid, r->status, NULL, NULL, r->ts, 0};
    struct store_tx tx;
    struct err e = {0};

    pthread_mutex_lock(r->mu);
    while (*r->stage == 0)
        pthread_cond_wait(r->cv, r->mu);
    pthread_mutex_unlock(r->mu);
    r->rc = store_tx_begin(T.db, &tx, &e);
    if (r->rc == 0)
        r->rc = crm_status_apply(&tx, TA, &u, &r->res, &e);
    if (r->rc == 0)
        r->rc = store_tx_commit(&tx, &e);
    else
        store_tx_rollback(&tx);
    return NULL;
}

static void race(const char *pid, const char *first, int64_t t1, const char *second, int64_t t2)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    int stage = 0;
    struct racer a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.pid = b.pid = pid;
    a.status = first;
    a.ts = t1;
    a.hold_ms = 300;
    b.status = second;
    b.ts = t2;
    a.mu = b.mu = &mu;
    a.cv = b.cv = &cv;
    a.stage = b.stage = &stage;
    pthread_t ta, tb;

    pthread_create(&ta, NULL, race_first, &a);
    pthread_create(&tb, NULL, race_second, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ_INT(a.rc, 0);
    CHECK_EQ_INT(b.rc, 0);
    CHECK_EQ_INT(a.res.applied, 1);
    CHECK_EQ_INT(b.res.applied, 0);
    CHECK_EQ_STR(b.res.previous, first);
}

struct storm {
    char pids[16][32];
    int n;
    const char *status;
    int64_t ts;
    pthread_barrier_t *bar;
    int fails;
};

static void *storm_run(void *arg)
{
    struct storm *s = arg;
    for (int i = 0; i < s->n; i++) {
        struct crm_status_update u = {SMS_A, s->pids[i], s->status, NULL, NULL, s->ts, 0};
        struct crm_status_result res;
        struct store_tx tx;
        struct err e = {0};
        pthread_barrier_wait(s->bar);
        if (store_tx_begin(T.db, &tx, &e) != 0) {
            s->fails++;
            continue;
        }
        if (crm_status_apply(&tx, TA, &u, &res, &e) != 0) {
            store_tx_rollback(&tx);
            s->fails++;
            continue;
        }
        if (store_tx_commit(&tx, &e) != 0)
            s->fails++;
    }
    return NULL;
}

/* An inbound e-mail with its Message-ID and threading headers. */
static int inbound_mail(const char *tenant, const char *account, const char *from, const char *rfc_id,
                        const char *in_reply_to, const char *references, struct crm_record_result *out)
{
    struct crm_inbound in = {.account_id = account, .channel = "email", .from = from, .provider_message_id = rfc_id,
                             .body = "see below", .subject = "Re: refund", .html = "<p>see below</p>",
                             .rfc_message_id = rfc_id, .in_reply_to = in_reply_to, .references = references};
    struct store_tx tx;
    struct err e = {0};
    int rc = store_tx_begin(T.db, &tx, &e);
    if (rc)
        return rc;
    rc = crm_inbound_record(&tx, tenant, &in, out, &e);
    if (rc) {
        fprintf(stderr, "  inbound_mail: %s\n", e.msg);
        store_tx_rollback(&tx);
        return rc;
    }
    return store_tx_commit(&tx, &e);
}

static void test_crm__email_threading(void)
{
    struct crm_record_result first, reply, refs, unrelated, other_tenant, again;

    CHECK_EQ_INT(inbound_mail(TA, MAIL_A, "ann@example.com", "<t1@mail.example>", NULL, NULL, &first), 0);
    struct msg_copy m = get_msg(TA, first.message_id);
    CHECK_EQ_STR(m.m.rfc_message_id, "<t1@mail.example>");
    CHECK_EQ_STR(m.subject, "Re: refund");
    CHECK_EQ_STR(m.html, "<p>see below</p>");
    /* Another address answering it joins its conversation (as a new contact). */
    CHECK_EQ_INT(inbound_mail(TA, MAIL_A, "bea@example.com", "<t2@mail.example>", "<t1@mail.example>", NULL, &reply),
                 0);
    CHECK_EQ_STR(reply.conversation_id, first.conversation_id);
    CHECK(strcmp(reply.contact_id, first.contact_id) != 0);
    CHECK_EQ_INT(conv(TA, first.conversation_id).unread, 2);
    /* References alone, the nearest ancestor last, unknown ids skipped. */
    CHECK_EQ_INT(inbound_mail(TA, MAIL_A, "bea@example.com", "<t3@mail.example>", "<nope@x>",
                              "<t1@mail.example> <t2@mail.example> <gone@x>", &refs),
                 0);
    CHECK_EQ_STR(refs.conversation_id, first.conversation_id);
    /* Nothing it names is ours: the sender's own conversation. */
    CHECK_EQ_INT(inbound_mail(TA, MAIL_A, "bea@example.com", "<t4@mail.example>", "<nope@x>", "<gone@x>", &unrelated),
                 0);
    CHECK(strcmp(unrelated.conversation_id, first.conversation_id) != 0);
    /* Another tenant naming the same Message-ID never reaches tenant A's conversation. */
    CHECK_EQ_INT(inbound_mail(TB, MAIL_B, "bea@example.com", "<t5@mail.example>", "<t1@mail.example>", NULL,
                              &other_tenant),
                 0);
    CHECK(strcmp(other_tenant.conversation_id, first.conversation_id) != 0);
    CHECK_EQ_INT(other_tenant.conversation_created, 1);
    /* Recorded twice: the first one, nothing changes. */
    CHECK_EQ_INT(inbound_mail(TA, MAIL_A, "bea@example.com", "<t2@mail.example>", "<t1@mail.example>", NULL, &again),
                 0);
    CHECK_EQ_INT(again.duplicate, 1);
    CHECK_EQ_STR(again.message_id, reply.message_id);
    CHECK_EQ_INT(conv(TA, first.conversation_id).unread, 3);
}

static void test_crm__concurrent_status(void)
{
    struct crm_record_result r;
    struct msg_copy m;

    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550500001", NULL, "SMrace1", "queued", &r), 0);
    race("SMrace1", "delivered", 2000, "sent", 1000);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "delivered");
    CHECK_EQ_INT(m.m.sent_at, 1000);
    CHECK_EQ_INT(m.m.delivered_at, 2000);

    CHECK_EQ_INT(outbound(TA, SMS_A, "+15550500001", NULL, "SMrace2", "sent", &r), 0);
    race("SMrace2", "read", 3000, "delivered", 2000);
    m = get_msg(TA, r.message_id);
    CHECK_EQ_STR(m.m.status, "read");
    CHECK_EQ_INT(m.m.delivered_at, 2000);
    CHECK_EQ_INT(events(TA, r.message_id).total, 3);

    /* Many messages, two threads released together on each. */
    static struct storm s1, s2;
    pthread_barrier_t bar;
    pthread_t t1, t2;
    char ids[16][CORE_ID_MAX];
    memset(&s1, 0, sizeof(s1));
    memset(&s2, 0, sizeof(s2));
    for (int i = 0; i < 16; i++) {
        snprintf(s1.pids[i], sizeof(s1.pids[i]), "SMstorm%d", i);
        snprintf(s2.pids[i], sizeof(s2.pids[i]), "SMstorm%d", i);
        CHECK_EQ_INT(outbound(TA, SMS_A, "+15550500001", NULL, s1.pids[i], "queued", &r), 0);
        snprintf(ids[i], sizeof(ids[i]), "%s", r.message_id);
    }
    pthread_barrier_init(&bar, NULL, 2);
    s1.n = s2.n = 16;
    s1.status = "delivered";
    s1.ts = 2000;
    s2.status = "sent";
    s2.ts = 1000;
    s1.bar = s2.bar = &bar;
    pthread_create(&t1, NULL, storm_run, &s1);
    pthread_create(&t2, NULL, storm_run, &s2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&bar);
    CHECK_EQ_INT(s1.fails + s2.fails, 0);
    for (int i = 0; i < 16; i++) {
        m = get_msg(TA, ids[i]);
        CHECK_EQ_STR(m.m.status, "delivered");
        CHECK_EQ_INT(m.m.sent_at, 1000);
        CHECK_EQ_INT(m.m.delivered_at, 2000);
    }
}

/* ---------------------------------------------------------------- main */

static int setup(void)
{
    struct err e = {0};
    struct store_member m;
    static const char *const tenants[] = {TA, TB, TC};
    static const struct {
        const char *tenant, *id, *provider, *channel;
    } accounts[] = {
        {TA, SMS_A, "twilio", "sms"},
        {TA, WA_A, "whatsapp", "whatsapp"},
        {TA, MAIL_A, "sendgrid", "email"},
        {TA, TG_A, "telegram", "telegram"},
        {TB, SMS_B, "twilio", "sms"},
        {TB, MAIL_B, "sendgrid", "email"},
        {TC, SMS_C, "twilio", "sms"},
    };

    for (size_t i = 0; i < 3; i++) {
        struct store_tenant t = {0};
        snprintf(t.id, sizeof(t.id), "%s", tenants[i]);
        snprintf(t.name, sizeof(t.name), "%s", tenants[i]);
        if (store_tenant_create(T.db, &t, &e) != 0)
            goto fail;
    }
    for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++)
        if (store_crm_account_seed(T.db, accounts[i].tenant, accounts[i].id, accounts[i].provider,
                                   accounts[i].channel, &e) != 0)
            goto fail;
    memset(&m, 0, sizeof(m));
    snprintf(m.email, sizeof(m.email), "agent-a@example.com");
    snprintf(m.role, sizeof(m.role), "agent");
    if (store_member_create(T.db, TA, &m, &e) != 0)
        goto fail;
    snprintf(agent_a, sizeof(agent_a), "%s", m.user_id);
    memset(&m, 0, sizeof(m));
    snprintf(m.email, sizeof(m.email), "agent-b@example.com");
    snprintf(m.role, sizeof(m.role), "agent");
    if (store_member_create(T.db, TB, &m, &e) != 0)
        goto fail;
    snprintf(agent_b, sizeof(agent_b), "%s", m.user_id);
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
    if (db_setup(backend, "crm") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0 || setup() != 0) {
        fprintf(stderr, "migrate: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_crm__normalize_address);
    TEST_RUN(test_crm__status_machine_table);
    TEST_RUN(test_crm__out_of_order_callbacks);
    TEST_RUN(test_crm__mark_sent_and_failed);
    TEST_RUN(test_crm__inbound_dedupe);
    TEST_RUN(test_crm__identity_autolink);
    TEST_RUN(test_crm__identity_link_shared_phone);
    TEST_RUN(test_crm__conversation_reopen);
    TEST_RUN(test_crm__conversation_update);
    TEST_RUN(test_crm__idempotency_key);
    TEST_RUN(test_crm__tenant_isolation);
    TEST_RUN(test_crm__pagination);
    TEST_RUN(test_crm__filters_and_search);
    TEST_RUN(test_crm__json_shapes);
    TEST_RUN(test_crm__concurrent_status);
    TEST_RUN(test_crm__email_threading);
    db_teardown();
    TEST_DONE();
}
