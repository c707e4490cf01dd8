/*
 * test_assistant_drafts: the store side of the assistant at work, on the
 * backend named by argv[1]: turns (one per inbound message, outcomes move
 * on), drafts (compare-and-set, decisions, the customer writing again makes
 * pending ones stale and only those, escalation once, newest-first pages),
 * logs pruned by age, pauses, daily and per-intent counts, tenant
 * isolation; and the edit distance in characters.
 */
#include <string.h>

#include "assistant/assistant.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_drf_a"
#define TB "ten_drf_b"
#define DAY 86400000LL

static int64_t day0;

/* ------------------------------------------------------ edit distance */

static void test_assistant_drafts__edit_distance(void)
{
    CHECK_EQ_INT(assistant_edit_distance("", ""), 0);
    CHECK_EQ_INT(assistant_edit_distance("abc", ""), 3);
    CHECK_EQ_INT(assistant_edit_distance("", "abc"), 3);
    CHECK_EQ_INT(assistant_edit_distance("kitten", "sitting"), 3);
    CHECK_EQ_INT(assistant_edit_distance("same text", "same text"), 0);
    /* Characters, not bytes: one accented letter changed is one edit. */
    CHECK_EQ_INT(assistant_edit_distance("devolución", "devolucion"), 1);
    CHECK_EQ_INT(assistant_edit_distance("día", "días"), 1);
    CHECK_EQ_INT(assistant_edit_distance("Hi", "Hi there!"), 7);
}

/* -------------------------------------------------------------- helpers */

static int write_usage(const char *tenant, const char *message_id, const char *conv, const char *outcome,
                       const char *intent, int64_t at, int64_t latency, int64_t cost, char *id_out)
{
    struct store_tx tx;
    struct store_usage u;
    struct err e = {0};
    int rc;

    memset(&u, 0, sizeof(u));
    snprintf(u.message_id, sizeof(u.message_id), "%s", message_id);
    snprintf(u.conversation_id, sizeof(u.conversation_id), "%s", conv);
    snprintf(u.outcome, sizeof(u.outcome), "%s", outcome);
    snprintf(u.intent, sizeof(u.intent), "%s", intent);
    snprintf(u.provider, sizeof(u.provider), "extractive");
    u.latency_ms = latency;
    u.cost_micros = cost;
    u.confidence = 0.8;
    u.created_at = at;
    if (store_tx_begin(T.db, &tx, &e) != 0)
        return -1;
    rc = store_usage_insert(&tx, tenant, &u, &e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if (id_out)
        strcpy(id_out, u.id);
    return store_tx_commit(&tx, &e);
}

static int write_draft(const char *tenant, const char *conv, const char *message_id, const char *usage_id,
                       const char *text, int64_t at, char *id_out)
{
    struct store_tx tx;
    struct store_draft d;
    struct err e = {0};
    int rc;

    memset(&d, 0, sizeof(d));
    snprintf(d.conversation_id, sizeof(d.conversation_id), "%s", conv);
    snprintf(d.account_id, sizeof(d.account_id), "cha_x");
    snprintf(d.contact_id, sizeof(d.contact_id), "con_x");
    snprintf(d.inbound_message_id, sizeof(d.inbound_message_id), "%s", message_id);
    snprintf(d.usage_id, sizeof(d.usage_id), "%s", usage_id);
    d.text = text;
    d.alternatives = "[\"other\"]";
    snprintf(d.reason, sizeof(d.reason), "mode draft");
    d.confidence = 0.42;
    d.created_at = at;
    if (store_tx_begin(T.db, &tx, &e) != 0)
        return -1;
    rc = store_draft_insert(&tx, tenant, &d, &e);
    if (rc) {
        store_tx_rollback(&tx);
        return rc;
    }
    if (id_out)
        strcpy(id_out, d.id);
    return store_tx_commit(&tx, &e);
}

struct seen {
    int n;
    char status[8][16];
    char id[8][CORE_ID_MAX];
    char text[8][128];
    double confidence[8];
    int64_t edit_distance[8];
    int64_t escalated_at[8];
    int64_t created_at[8];
};

static int seen_cb(void *ud, const struct store_draft *d)
{
    struct seen *s = ud;
    if (s->n < 8) {
        snprintf(s->status[s->n], sizeof(s->status[0]), "%s", d->status);
        snprintf(s->id[s->n], sizeof(s->id[0]), "%s", d->id);
        snprintf(s->text[s->n], sizeof(s->text[0]), "%s", d->text);
        s->confidence[s->n] = d->confidence;
        s->edit_distance[s->n] = d->edit_distance;
        s->escalated_at[s->n] = d->escalated_at;
        s->created_at[s->n] = d->created_at;
    }
    s->n++;
    return 0;
}

static struct seen get(const char *tenant, const char *id)
{
    struct seen s = {0};
    struct err e = {0};
    store_draft_get(T.db, tenant, id, seen_cb, &s, &e);
    return s;
}

/* ------------------------------------------------------------- turns */

static void test_assistant_drafts__turns(void)
{
    char id[CORE_ID_MAX];
    int exists = -1;
    struct err e = {0};

    CHECK_EQ_INT(write_usage(TA, "msg_t1", "cnv_t", "sent", "hours", day0 + 1000, 100, 5, id), 0);
    /* A replayed job: the message's turn exists already. */
    CHECK_EQ_INT(write_usage(TA, "msg_t1", "cnv_t", "drafted", "hours", day0 + 2000, 100, 5, NULL), ERR_CONFLICT);
    CHECK_EQ_INT(store_usage_exists(T.db, TA, "msg_t1", &exists, &e), 0);
    CHECK_EQ_INT(exists, 1);
    CHECK_EQ_INT(store_usage_exists(T.db, TB, "msg_t1", &exists, &e), 0);
    CHECK_EQ_INT(exists, 0);
    /* The same message id in another tenant is another turn. */
    CHECK_EQ_INT(write_usage(TB, "msg_t1", "cnv_t", "sent", "hours", day0 + 1000, 100, 5, NULL), 0);
}

/* ------------------------------------------------------------- drafts */

static void test_assistant_drafts__lifecycle(void)
{
    char u1[CORE_ID_MAX], u2[CORE_ID_MAX], u3[CORE_ID_MAX], d1[CORE_ID_MAX], d2[CORE_ID_MAX], d3[CORE_ID_MAX];
    struct store_tx tx;
    struct err e = {0};
    int changed = -1;
    struct seen s;

    CHECK_EQ_INT(write_usage(TA, "msg_d1", "cnv_d", "drafted", "returns", day0 + 3000, 200, 0, u1), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_d2", "cnv_d", "drafted", "returns", day0 + 4000, 200, 0, u2), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_d3", "cnv_other", "drafted", "shipping", day0 + 5000, 200, 0, u3), 0);
    CHECK_EQ_INT(write_draft(TA, "cnv_d", "msg_d1", u1, "Returns are free within 30 days.", day0 + 3000, d1), 0);
    CHECK_EQ_INT(write_draft(TA, "cnv_d", "msg_d1", u1, "again", day0 + 3500, NULL), ERR_CONFLICT);
    CHECK_EQ_INT(write_draft(TA, "cnv_d", "msg_d2", u2, "Second draft.", day0 + 4000, d2), 0);
    CHECK_EQ_INT(write_draft(TA, "cnv_other", "msg_d3", u3, "Other conversation.", day0 + 5000, d3), 0);

    s = get(TA, d1);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.status[0], "pending");
    CHECK_EQ_STR(s.text[0], "Returns are free within 30 days.");
    CHECK(s.confidence[0] > 0.41 && s.confidence[0] < 0.43);
    CHECK_EQ_INT(s.edit_distance[0], -1);
    CHECK_EQ_INT(get(TB, d1).n, 0); /* another tenant's */

    /* Compare and set: only from the expected status. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_draft_cas(&tx, TA, d1, "pending", "sending", &changed, &e), 0);
    CHECK_EQ_INT(changed, 1);
    CHECK_EQ_INT(store_draft_cas(&tx, TA, d1, "pending", "sending", &changed, &e), 0);
    CHECK_EQ_INT(changed, 0);
    struct store_draft_decision dec = {"sent", "Returns are free within 30 days!", 1, "", "usr_1", day0 + 6000,
                                       "msg_out1"};
    CHECK_EQ_INT(store_draft_decide(&tx, TA, d1, &dec, &e), 0);
    CHECK_EQ_INT(store_usage_outcome(&tx, TA, u1, "edited", &e), 0);
    CHECK_EQ_INT(store_usage_outcome(&tx, TB, u1, "edited", &e), ERR_NOTFOUND);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    s = get(TA, d1);
    CHECK_EQ_STR(s.status[0], "sent");
    CHECK_EQ_INT(s.edit_distance[0], 1);

    /* Escalation marks a pending draft once. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_draft_escalate(&tx, TA, d2, day0 + 7000, &changed, &e), 0);
    CHECK_EQ_INT(changed, 1);
    CHECK_EQ_INT(store_draft_escalate(&tx, TA, d2, day0 + 8000, &changed, &e), 0);
    CHECK_EQ_INT(changed, 0);
    CHECK_EQ_INT(store_draft_escalate(&tx, TA, d1, day0 + 8000, &changed, &e), 0);
    CHECK_EQ_INT(changed, 0); /* decided: not escalated */
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(get(TA, d2).escalated_at[0], day0 + 7000);

    /* The customer wrote again: the pending draft of that conversation only. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_draft_stale(&tx, TB, "cnv_d", NULL, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_STR(get(TA, d2).status[0], "pending"); /* another tenant's call changed nothing */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_draft_stale(&tx, TA, "cnv_d", NULL, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_STR(get(TA, d1).status[0], "sent");
    CHECK_EQ_STR(get(TA, d2).status[0], "stale");
    CHECK_EQ_STR(get(TA, d3).status[0], "pending");

    /* Pages, newest first, by status. */
    struct seen all = {0}, pending = {0}, page = {0};
    CHECK_EQ_INT(store_draft_list(T.db, TA, "", 0, NULL, 10, seen_cb, &all, &e), 0);
    CHECK_EQ_INT(all.n, 3);
    CHECK_EQ_STR(all.id[0], d3);
    CHECK_EQ_STR(all.id[2], d1);
    CHECK_EQ_INT(store_draft_list(T.db, TA, "pending", 0, NULL, 10, seen_cb, &pending, &e), 0);
    CHECK_EQ_INT(pending.n, 1);
    CHECK_EQ_STR(pending.id[0], d3);
    struct seen first = {0}, rest = {0};
    CHECK_EQ_INT(store_draft_list(T.db, TA, "", 0, NULL, 1, seen_cb, &first, &e), 0);
    CHECK_EQ_INT(first.n, 1);
    CHECK_EQ_INT(store_draft_list(T.db, TA, "", first.created_at[0], first.id[0], 10, seen_cb, &rest, &e), 0);
    CHECK_EQ_INT(rest.n, 2);
    CHECK_EQ_STR(rest.id[0], d2);
    CHECK_EQ_STR(rest.id[1], d1);
    CHECK_EQ_INT(store_draft_list(T.db, TB, "", 0, NULL, 10, seen_cb, &page, &e), 0);
    CHECK_EQ_INT(page.n, 0);
}

/* ------------------------------------------------------ logs and pauses */

static int count_log(void *ud, const char *prompt, const char *response, int64_t at)
{
    (void)prompt;
    (void)response;
    (void)at;
    (*(int *)ud)++;
    return 0;
}

static void test_assistant_drafts__logs_and_pauses(void)
{
    struct store_tx tx;
    struct store_pause p;
    struct err e = {0};
    int64_t deleted = -1;
    int n = 0;

    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_assistant_log_insert(&tx, TA, "use_l", "old prompt", "old answer", day0 - 40 * DAY, &e), 0);
    CHECK_EQ_INT(store_assistant_log_insert(&tx, TA, "use_l", "new prompt", "new answer", day0, &e), 0);
    CHECK_EQ_INT(store_assistant_log_insert(&tx, TB, "use_l", "b prompt", "b answer", day0 - 40 * DAY, &e), 0);
    CHECK_EQ_INT(store_assistant_log_prune(&tx, TA, day0 - 30 * DAY, &deleted, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(deleted, 1);
    CHECK_EQ_INT(store_assistant_log_list(T.db, TA, "use_l", count_log, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    n = 0;
    CHECK_EQ_INT(store_assistant_log_list(T.db, TB, "use_l", count_log, &n, &e), 0);
    CHECK_EQ_INT(n, 1); /* another tenant's retention is its own */

    CHECK_EQ_INT(store_pause_get(T.db, TA, "cnv_p", &p, &e), 0);
    CHECK_EQ_INT(p.paused, 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_pause_set(&tx, TA, "cnv_p", "handover: asked for a person", "", day0, &e), 0);
    CHECK_EQ_INT(store_pause_set(&tx, TA, "cnv_p", "second reason", "usr_2", day0 + 5, &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(store_pause_get(T.db, TA, "cnv_p", &p, &e), 0);
    CHECK_EQ_INT(p.paused, 1);
    CHECK_EQ_STR(p.reason, "handover: asked for a person"); /* the first pause stands */
    CHECK_EQ_INT(p.paused_at, day0);
    CHECK_EQ_INT(store_pause_get(T.db, TB, "cnv_p", &p, &e), 0);
    CHECK_EQ_INT(p.paused, 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_pause_clear(&tx, TA, "cnv_p", &e), 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(store_pause_get(T.db, TA, "cnv_p", &p, &e), 0);
    CHECK_EQ_INT(p.paused, 0);
}

/* ------------------------------------------------------------ analytics */

struct days {
    int n;
    char day[8][11];
    char outcome[8][16];
    int64_t turns[8], latency[8], cost[8];
};

static int days_cb(void *ud, const struct store_usage_day *d)
{
    struct days *s = ud;
    if (s->n < 8) {
        snprintf(s->day[s->n], sizeof(s->day[0]), "%s", d->day);
        snprintf(s->outcome[s->n], sizeof(s->outcome[0]), "%s", d->outcome);
        s->turns[s->n] = d->turns;
        s->latency[s->n] = d->latency_ms_sum;
        s->cost[s->n] = d->cost_micros;
    }
    s->n++;
    return 0;
}

struct intents {
    int n;
    char intent[8][64];
    int64_t count[8];
};

static int intents_cb(void *ud, const char *day, const char *intent, int64_t count)
{
    struct intents *s = ud;
    (void)day;
    if (s->n < 8) {
        snprintf(s->intent[s->n], sizeof(s->intent[0]), "%s", intent);
        s->count[s->n] = count;
    }
    s->n++;
    return 0;
}

static void test_assistant_drafts__analytics(void)
{
    struct days d = {0};
    struct intents in = {0};
    struct err e = {0};
    /* A fresh range far from the other tests' rows: two days. */
    int64_t base = day0 + 100 * DAY;

    CHECK_EQ_INT(write_usage(TA, "msg_a1", "cnv_a", "sent", "hours", base + 10, 100, 7, NULL), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_a2", "cnv_a", "sent", "hours", base + 20, 300, 3, NULL), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_a3", "cnv_a", "handed_over", "", base + 30, 50, 0, NULL), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_a4", "cnv_a", "edited", "returns", base + DAY + 10, 80, 2, NULL), 0);
    CHECK_EQ_INT(write_usage(TB, "msg_a5", "cnv_a", "sent", "hours", base + 10, 100, 7, NULL), 0);
    CHECK_EQ_INT(write_usage(TA, "msg_a6", "cnv_a", "sent", "hours", base + 2 * DAY, 100, 7, NULL), 0); /* after to */
    CHECK_EQ_INT(store_usage_days(T.db, TA, base, base + 2 * DAY, days_cb, &d, &e), 0);
    CHECK_EQ_INT(d.n, 3);
    CHECK_EQ_STR(d.outcome[0], "handed_over");
    CHECK_EQ_INT(d.turns[0], 1);
    CHECK_EQ_STR(d.outcome[1], "sent");
    CHECK_EQ_INT(d.turns[1], 2);
    CHECK_EQ_INT(d.latency[1], 400);
    CHECK_EQ_INT(d.cost[1], 10);
    CHECK(strcmp(d.day[0], d.day[2]) < 0);
    CHECK_EQ_STR(d.outcome[2], "edited");
    CHECK_EQ_INT(store_usage_intents(T.db, TA, base, base + DAY, intents_cb, &in, &e), 0);
    CHECK_EQ_INT(in.n, 2);
    CHECK_EQ_STR(in.intent[0], "");
    CHECK_EQ_INT(in.count[0], 1);
    CHECK_EQ_STR(in.intent[1], "hours");
    CHECK_EQ_INT(in.count[1], 2);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct store_tenant ta = {.id = TA, .name = "a"}, tb = {.id = TB, .name = "b"};

    if (crypto_init() != 0 || db_setup(backend, "assistant_drafts") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0 || store_tenant_create(T.db, &ta, &e) != 0 ||
        store_tenant_create(T.db, &tb, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    day0 = time_now_ms() / DAY * DAY - 200 * DAY;
    TEST_RUN(test_assistant_drafts__edit_distance);
    TEST_RUN(test_assistant_drafts__turns);
    TEST_RUN(test_assistant_drafts__lifecycle);
    TEST_RUN(test_assistant_drafts__logs_and_pauses);
    TEST_RUN(test_assistant_drafts__analytics);
    db_teardown();
    TEST_DONE();
}
