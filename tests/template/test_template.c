/*
 * test_template: placeholders (checking, collecting, rendering, HTML
 * escaping), what each channel's templates may hold, the approval workflow
 * and its versions (an edited approved template is not sendable until the
 * edit is approved), the audit rows of every decision, Meta's status on
 * WhatsApp templates, and the default e-mail template, on the database
 * backend named by argv[1].
 */
#include <string.h>

#include "ops/ops.h"
#include "template/template.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_tpl_a"
#define TB "ten_tpl_b"
#define WA "cha_tpl_wa"

static const struct template_actor agent = {"user", "usr_agent", "10.0.0.1"};
static const struct template_actor admin = {"user", "usr_admin", "10.0.0.2"};

/* ---------------------------------------------------------- rendering */

static void test_template__check(void)
{
    static const char *const good[] = {
        "", "plain text", "Hi {{name}}", "{{1}} and {{2}}", "{{ first_name }}", "{{99}}", "a { b } c", "}}{",
        "{ {not one} }", "{{_x9}}",
    };
    static const char *const badv[] = {
        "{{", "Hi {{name", "{{}}", "{{ }}", "{{0}}", "{{100}}", "{{01}}", "{{a b}}", "{{a-b}}", "{{{x}}}",
        "{{9x}}", "{{\xc3\xa9}}",
    };
    struct err e = {0};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (template_check(good[i], &e) != 0)
            fprintf(stderr, "  refused \"%s\": %s\n", good[i], e.msg);
        CHECK_EQ_INT(template_check(good[i], &e), 0);
    }
    for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
        if (template_check(badv[i], &e) != ERR_INVALID)
            fprintf(stderr, "  accepted \"%s\"\n", badv[i]);
        CHECK_EQ_INT(template_check(badv[i], &e), ERR_INVALID);
        CHECK_EQ_STR(err_slug(&e), "invalid_template");
    }
    /* A name one over the limit. */
    char longname[TEMPLATE_VAR_MAX + 8];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "{{", 2);
    memcpy(longname + TEMPLATE_VAR_MAX + 3, "}}", 3);
    CHECK_EQ_INT(template_check(longname, &e), ERR_INVALID);
    longname[TEMPLATE_VAR_MAX + 2] = '}';
    longname[TEMPLATE_VAR_MAX + 3] = '}';
    longname[TEMPLATE_VAR_MAX + 4] = '\0';
    CHECK_EQ_INT(template_check(longname, &e), 0);
    CHECK_EQ_INT(template_check(NULL, &e), 0);
}

static void test_template__collect(void)
{
    struct buf names = {0}, seen = {0};
    struct err e = {0};
    int n = 0;
    buf_putc(&names, '[');
    CHECK_EQ_INT(template_collect("Hi {{name}}, {{1}} {{ name }}", &names, &seen, &n, &e), 0);
    CHECK_EQ_INT(template_collect("{{code}} {{1}}", &names, &seen, &n, &e), 0);
    buf_putc(&names, ']');
    CHECK_EQ_STR(names.data, "[\"name\",\"1\",\"code\"]");
    CHECK_EQ_INT(n, 3);
    buf_free(&names);
    buf_free(&seen);
}

static void test_template__render(void)
{
    struct template_var vars[] = {{"name", "Ann & <Bob>"}, {"1", "42"}, {"link", "https://x.test/u?a=1&b=\"2\""}};
    struct buf out = {0};
    struct err e = {0};

    CHECK_EQ_INT(template_render("Hi {{ name }}, order {{1}}: {{link}}.", vars, 3, 0, &out, &e), 0);
    CHECK_EQ_STR(out.data, "Hi Ann & <Bob>, order 42: https://x.test/u?a=1&b=\"2\".");
    buf_reset(&out);
    CHECK_EQ_INT(template_render("<p>{{name}}</p><a href=\"{{link}}\">x</a>", vars, 3, 1, &out, &e), 0);
    CHECK_EQ_STR(out.data, "<p>Ann &amp; &lt;Bob&gt;</p><a href=\"https://x.test/u?a=1&amp;b=&quot;2&quot;\">x</a>");
    buf_reset(&out);
    /* A missing variable is refused, naming it; nothing half-rendered matters. */
    CHECK_EQ_INT(template_render("{{name}} {{2}}", vars, 3, 0, &out, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "missing_variable");
    CHECK(strstr(e.msg, "\"2\"") != NULL);
    struct template_var nullv[] = {{"name", NULL}};
    CHECK_EQ_INT(template_render("{{name}}", nullv, 1, 0, &out, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "missing_variable");
    /* Values are not scanned again: a value with braces stays as given. */
    struct template_var braces[] = {{"a", "{{b}}"}};
    buf_reset(&out);
    CHECK_EQ_INT(template_render("x{{a}}y", braces, 1, 0, &out, &e), 0);
    CHECK_EQ_STR(out.data, "x{{b}}y");
    buf_reset(&out);
    template_html_escape(&out, "'&'");
    CHECK_EQ_STR(out.data, "&#39;&amp;&#39;");
    buf_free(&out);
}

/* ------------------------------------------------------------ checks */

static int create(const char *tenant, struct template_input *in, struct store_template *out, struct err *e)
{
    return template_create(T.db, tenant, in, &agent, out, e);
}

static void test_template__content_rules(void)
{
    struct store_template t;
    struct err e = {0};
    struct template_input in = {.channel = "sms", .name = "welcome", .language = "en", .body = "Hi {{name}}"};

    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    CHECK_EQ_STR(t.status, "draft");
    CHECK_EQ_INT(t.version, 1);
    CHECK_EQ_INT(create(TA, &in, &t, &e), ERR_CONFLICT);
    CHECK_EQ_STR(err_slug(&e), "template_exists");
    /* The same name in another language or tenant is another template. */
    in.language = "pt_BR";
    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    in.language = "en";
    CHECK_EQ_INT(create(TB, &in, &t, &e), 0);

    static const struct {
        struct template_input in;
        const char *why;
    } bad[] = {
        {{.channel = "fax", .name = "a", .language = "en", .body = "x"}, "channel"},
        {{.channel = "sms", .name = "Bad Name", .language = "en", .body = "x"}, "name"},
        {{.channel = "sms", .name = "a", .language = "english", .body = "x"}, "language"},
        {{.channel = "sms", .name = "a", .language = "en", .body = ""}, "body"},
        {{.channel = "sms", .name = "a", .language = "en", .body = "{{x"}, "placeholder"},
        {{.channel = "sms", .name = "a", .language = "en", .body = "x", .buttons = "[]"}, "buttons"},
        {{.channel = "sms", .name = "a", .language = "en", .body = "x", .subject = "s"}, "subject"},
        {{.channel = "email", .name = "a", .language = "en", .body = "x"}, "subject"},
        {{.channel = "email", .name = "a", .language = "en", .body = "x", .subject = "s", .header = "h"}, "header"},
        {{.channel = "email", .name = "a", .language = "en", .body = "x", .subject = "a\r\nBcc: x"}, "subject"},
        {{.channel = "whatsapp", .name = "a", .language = "en", .body = "x"}, "account_id"},
        {{.channel = "telegram", .name = "a", .language = "en", .body = "x", .buttons = "[{\"type\":\"URL\","
                                                                                          "\"text\":\"Go\"}]"},
         "url"},
        {{.channel = "telegram", .name = "a", .language = "en", .body = "x", .buttons = "{\"type\":1}"}, "array"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct template_input b = bad[i].in;
        int rc = create(TA, &b, &t, &e);
        if (rc != ERR_INVALID || !strstr(e.msg, bad[i].why))
            fprintf(stderr, "  case %zu (%s): rc %d, %s\n", i, bad[i].why, rc, e.msg);
        CHECK_EQ_INT(rc, ERR_INVALID);
        CHECK(strstr(e.msg, bad[i].why) != NULL);
    }
    /* Buttons where the channel has them. */
    struct template_input ok = {.channel = "telegram", .name = "menu", .language = "en", .body = "Pick one",
                                .buttons = "[{\"type\":\"QUICK_REPLY\",\"text\":\"Yes\"},{\"type\":\"URL\","
                                           "\"text\":\"Site\",\"url\":\"https://example.test\"}]"};
    CHECK_EQ_INT(create(TA, &ok, &t, &e), 0);
}

static void test_template__whatsapp_rules(void)
{
    struct store_template t;
    struct err e = {0};
    struct template_input in = {.channel = "whatsapp", .account_id = WA, .name = "order", .language = "en_US",
                                .body = "Hi {{name}}"};

    CHECK_EQ_INT(create(TA, &in, &t, &e), ERR_INVALID);
    CHECK(strstr(e.msg, "positional") != NULL);
    in.body = "Hi {{1}}, order {{3}}";
    CHECK_EQ_INT(create(TA, &in, &t, &e), ERR_INVALID);
    CHECK(strstr(e.msg, "{{2}}") != NULL);
    in.body = "Hi {{1}}, order {{2}} shipped";
    in.category = "PROMO";
    CHECK_EQ_INT(create(TA, &in, &t, &e), ERR_INVALID);
    in.category = NULL;
    /* Another tenant's account is not this tenant's. */
    CHECK_EQ_INT(create(TB, &in, &t, &e), ERR_NOTFOUND);
    CHECK_EQ_STR(err_slug(&e), "account_not_found");
    in.channel = "sms";
    CHECK_EQ_INT(create(TA, &in, &t, &e), ERR_INVALID); /* a WhatsApp account for an SMS template */
    in.channel = "whatsapp";
    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    CHECK_EQ_STR(t.category, "UTILITY");
    CHECK_EQ_STR(t.account_id, WA);
}

/* ---------------------------------------------------------- workflow */

struct audit_rows {
    char actions[64][64];
    char actors[64][40];
    int n;
    const char *target;
};

static int audit_cb(void *ud, const struct store_audit *row)
{
    struct audit_rows *a = ud;
    if (a->target && strcmp(row->target, a->target) != 0)
        return 0;
    if (a->n < 64) {
        snprintf(a->actions[a->n], 64, "%s", row->action);
        snprintf(a->actors[a->n], 40, "%s", row->actor_id);
    }
    a->n++;
    return 0;
}

struct version_rows {
    char status[8][16];
    char decided_by[8][80];
    char submitted_by[8][80];
    char reason[8][64];
    int n;
};

static int version_cb(void *ud, const struct store_template_version *v)
{
    struct version_rows *r = ud;
    if (r->n < 8) {
        snprintf(r->status[r->n], 16, "%s", v->status);
        snprintf(r->decided_by[r->n], 80, "%s", v->decided_by);
        snprintf(r->submitted_by[r->n], 80, "%s", v->submitted_by);
        snprintf(r->reason[r->n], 64, "%s", v->reason ? v->reason : "");
    }
    r->n++;
    return 0;
}

static void test_template__workflow(void)
{
    struct store_template t;
    struct store_template_version v = {0};
    struct err e = {0};
    struct template_input in = {.channel = "sms", .name = "reminder", .language = "en",
                                .body = "Hi {{name}}, see you at {{time}}"};
    char id[CORE_ID_MAX];

    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    snprintf(id, sizeof id, "%s", t.id);
    CHECK(!template_sendable(&t));
    /* Only a pending version is decided; only a draft is submitted. */
    CHECK_EQ_INT(template_approve(T.db, TA, id, &admin, &t, &e), ERR_CONFLICT);
    CHECK_EQ_STR(err_slug(&e), "invalid_state");
    CHECK_EQ_INT(template_submit(T.db, TA, id, &agent, &t, &e), 0);
    CHECK_EQ_STR(t.status, "pending");
    CHECK_EQ_INT(template_submit(T.db, TA, id, &agent, &t, &e), ERR_CONFLICT);
    CHECK(!template_sendable(&t));
    /* Another tenant cannot decide it. */
    CHECK_EQ_INT(template_approve(T.db, TB, id, &admin, &t, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(template_approve(T.db, TA, id, &admin, &t, &e), 0);
    CHECK_EQ_STR(t.status, "approved");
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, &v, &e), 0);
    CHECK(template_sendable(&t));
    CHECK_EQ_STR(v.variables, "[\"name\",\"time\"]");
    CHECK_EQ_STR(v.decided_by, "user:usr_admin");
    CHECK_EQ_STR(v.submitted_by, "user:usr_agent");
    CHECK(v.decided_at > 0 && v.submitted_at > 0);

    /* Editing the approved template makes version 2, a draft: not sendable. */
    struct template_input edit = {.body = "Hi {{name}}, see you at {{time}} tomorrow"};
    CHECK_EQ_INT(template_edit(T.db, TA, id, &edit, &agent, &t, &e), 0);
    CHECK_EQ_INT(t.version, 2);
    CHECK_EQ_STR(t.status, "draft");
    CHECK(!template_sendable(&t));
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, &v, &e), 0);
    CHECK_EQ_INT(t.version, 2);
    CHECK(!template_sendable(&t));
    CHECK_EQ_STR(v.body, "Hi {{name}}, see you at {{time}} tomorrow");
    char why[48];
    template_send_status(&t, why, sizeof why);
    CHECK_EQ_STR(why, "draft");
    /* Editing the draft again changes it in place. */
    edit.body = "Hi {{name}}, see you at {{time}}!";
    CHECK_EQ_INT(template_edit(T.db, TA, id, &edit, &agent, &t, &e), 0);
    CHECK_EQ_INT(t.version, 2);
    /* Submitted, then rejected with a reason (required). */
    CHECK_EQ_INT(template_submit(T.db, TA, id, &agent, &t, &e), 0);
    CHECK_EQ_INT(template_reject(T.db, TA, id, NULL, &admin, &t, &e), ERR_INVALID);
    CHECK_EQ_INT(template_reject(T.db, TA, id, "too pushy", &admin, &t, &e), 0);
    CHECK_EQ_STR(t.status, "rejected");
    CHECK(!template_sendable(&t));
    /* A rejected version is kept; the fix is version 3. */
    edit.body = "Hi {{name}}, your appointment is at {{time}}.";
    CHECK_EQ_INT(template_edit(T.db, TA, id, &edit, &agent, &t, &e), 0);
    CHECK_EQ_INT(t.version, 3);
    /* Fixed parts stay fixed. */
    struct template_input rename = {.name = "other"};
    CHECK_EQ_INT(template_edit(T.db, TA, id, &rename, &agent, &t, &e), ERR_INVALID);
    CHECK_EQ_INT(template_submit(T.db, TA, id, &agent, &t, &e), 0);
    CHECK_EQ_INT(template_approve(T.db, TA, id, &admin, &t, &e), 0);
    CHECK(template_sendable(&t));

    struct version_rows vr = {.n = 0};
    CHECK_EQ_INT(template_versions(T.db, TA, id, version_cb, &vr, &e), 0);
    CHECK_EQ_INT(vr.n, 3);
    CHECK_EQ_STR(vr.status[0], "approved");
    CHECK_EQ_STR(vr.status[1], "rejected");
    CHECK_EQ_STR(vr.reason[1], "too pushy");
    CHECK_EQ_STR(vr.decided_by[1], "user:usr_admin");
    CHECK_EQ_STR(vr.status[2], "approved");
    CHECK_EQ_INT(template_versions(T.db, TB, id, version_cb, &vr, &e), ERR_NOTFOUND);

    /* Every step is in the audit log, with who. */
    struct audit_rows ar = {.n = 0, .target = id};
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, audit_cb, &ar, &e), 0);
    static const char *const want[] = {"template.approve", "template.submit", "template.update", "template.reject",
                                       "template.submit",  "template.update", "template.update", "template.approve",
                                       "template.submit",  "template.create"};
    CHECK_EQ_INT(ar.n, (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < ar.n && i < (int)(sizeof(want) / sizeof(want[0])); i++)
        CHECK_EQ_STR(ar.actions[i], want[i]);
    CHECK_EQ_STR(ar.actors[0], "usr_admin");
    CHECK_EQ_STR(ar.actors[1], "usr_agent");
    store_template_version_clear(&v);
}

/* Two deciders at once: the second's compare-and-set finds the state gone. */
static void test_template__race(void)
{
    struct store_template t;
    struct store_tx tx = {0};
    struct err e = {0};
    struct template_input in = {.channel = "webchat", .name = "race", .language = "en", .body = "x"};

    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    CHECK_EQ_INT(template_submit(T.db, TA, t.id, &agent, NULL, &e), 0);
    CHECK_EQ_INT(template_approve(T.db, TA, t.id, &admin, NULL, &e), 0);
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_template_transition(&tx, TA, t.id, 1, "pending", "rejected", "user:x", "late", 1, &e),
                 ERR_CONFLICT);
    store_tx_rollback(&tx);
    CHECK_EQ_INT(template_get(T.db, TA, t.id, &t, NULL, &e), 0);
    CHECK_EQ_STR(t.status, "approved");
}

/* ---------------------------------------------------------- WhatsApp */

static void test_template__meta_status(void)
{
    struct store_template t;
    struct store_tx tx = {0};
    struct err e = {0};
    struct template_input in = {.channel = "whatsapp", .account_id = WA, .name = "ship", .language = "en_US",
                                .body = "Order {{1}} shipped"};
    char why[48], id[CORE_ID_MAX], found_id[CORE_ID_MAX];
    int found = 0;

    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    snprintf(id, sizeof id, "%s", t.id);
    CHECK_EQ_INT(template_submit(T.db, TA, id, &agent, NULL, &e), 0);
    CHECK_EQ_INT(template_approve(T.db, TA, id, &admin, &t, &e), 0);
    /* Our approval alone is not enough on WhatsApp. */
    CHECK(!template_sendable(&t));
    template_send_status(&t, why, sizeof why);
    CHECK_EQ_STR(why, "not submitted to Meta");
    CHECK_EQ_INT(template_provider_status(T.db, TA, id, "pending", "1234567890", NULL, &e), 0);
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, NULL, &e), 0);
    CHECK_EQ_STR(t.provider_id, "1234567890");
    template_send_status(&t, why, sizeof why);
    CHECK_EQ_STR(why, "pending at Meta");
    /* Meta's webhook, by Meta's id. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_template_provider_update_tx(&tx, TA, WA, "1234567890", "ship", "en_US", "approved", NULL, 2,
                                                   &found, found_id, &e),
                 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_STR(found_id, id);
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, NULL, &e), 0);
    CHECK(template_sendable(&t));
    /* Paused by Meta: not sendable; another tenant's update finds nothing. */
    CHECK_EQ_INT(store_tx_begin(T.db, &tx, &e), 0);
    CHECK_EQ_INT(store_template_provider_update_tx(&tx, TB, WA, "1234567890", "ship", "en_US", "paused", NULL, 3,
                                                   &found, found_id, &e),
                 0);
    CHECK_EQ_INT(found, 0);
    CHECK_EQ_INT(store_template_provider_update_tx(&tx, TA, WA, NULL, "ship", "en_US", "paused", "low quality", 3,
                                                   &found, found_id, &e),
                 0);
    CHECK_EQ_INT(store_tx_commit(&tx, &e), 0);
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, NULL, &e), 0);
    CHECK(!template_sendable(&t));
    CHECK_EQ_STR(t.provider_reason, "low quality");
    /* An edit of the approved template: a new draft, and Meta's old verdict is gone. */
    struct template_input edit = {.body = "Order {{1}} is on its way"};
    CHECK_EQ_INT(template_edit(T.db, TA, id, &edit, &agent, &t, &e), 0);
    CHECK_EQ_INT(template_get(T.db, TA, id, &t, NULL, &e), 0);
    CHECK_EQ_STR(t.provider_status, "");
    CHECK_EQ_STR(t.provider_id, "1234567890"); /* kept: the next submission edits Meta's template */
    struct audit_rows ar = {.n = 0, .target = id};
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, audit_cb, &ar, &e), 0);
    CHECK(ar.n >= 5);
    CHECK_EQ_STR(ar.actions[1], "template.provider_status");
}

/* ------------------------------------------------------ default e-mail */

static void test_template__default_email(void)
{
    struct store_template t;
    struct store_template_version v = {0};
    struct template_rendered r;
    struct err e = {0};
    int created = -1, n = -1;
    struct store_tenant tc = {.id = "ten_tpl_c", .name = "c"};

    CHECK_EQ_INT(template_seed_default(T.db, TA, &created, &e), 0);
    CHECK_EQ_INT(created, 1);
    CHECK_EQ_INT(template_seed_default(T.db, TA, &created, &e), 0);
    CHECK_EQ_INT(created, 0);
    /* Every tenant without one (TB, and a new one), once. */
    CHECK_EQ_INT(store_tenant_create(T.db, &tc, &e), 0);
    CHECK_EQ_INT(template_seed_defaults(T.db, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(template_seed_defaults(T.db, &n, &e), 0);
    CHECK_EQ_INT(n, 0);

    CHECK_EQ_INT(store_template_find(T.db, TA, "email", NULL, "default", NULL, &t, &v, &e), 0);
    CHECK(t.is_default);
    CHECK(template_sendable(&t));
    CHECK(strstr(v.body, "{{unsubscribe_link}}") != NULL);
    CHECK(strstr(v.html, "{{unsubscribe_link}}") != NULL);
    CHECK_EQ_STR(v.variables, "[\"subject\",\"body\",\"unsubscribe_link\"]");
    /* The stored variables are what the content declares. */
    struct buf names = {0}, seen = {0};
    int nv = 0;
    buf_putc(&names, '[');
    CHECK_EQ_INT(template_collect(v.subject, &names, &seen, &nv, &e), 0);
    CHECK_EQ_INT(template_collect(v.body, &names, &seen, &nv, &e), 0);
    CHECK_EQ_INT(template_collect(v.html, &names, &seen, &nv, &e), 0);
    buf_putc(&names, ']');
    CHECK_EQ_STR(names.data, v.variables);
    buf_free(&names);
    buf_free(&seen);

    struct template_var vars[] = {{"subject", "Your <invoice>"},
                                  {"body", "Total: 5 < 6 & \"due\""},
                                  {"unsubscribe_link", "https://u.test/x?t=1&s=2"}};
    CHECK_EQ_INT(template_render_version(&t, &v, vars, 2, &r, &e), ERR_INVALID);
    CHECK_EQ_STR(err_slug(&e), "missing_variable");
    CHECK(strstr(e.msg, "unsubscribe_link") != NULL);
    CHECK_EQ_INT(template_render_version(&t, &v, vars, 3, &r, &e), 0);
    CHECK_EQ_STR(r.subject.data, "Your <invoice>");
    CHECK(strstr(r.text.data, "Total: 5 < 6 & \"due\"") != NULL);
    CHECK(strstr(r.text.data, "https://u.test/x?t=1&s=2") != NULL);
    CHECK(strstr(r.html.data, "Total: 5 &lt; 6 &amp; &quot;due&quot;") != NULL);
    CHECK(strstr(r.html.data, "href=\"https://u.test/x?t=1&amp;s=2\"") != NULL);
    CHECK(strstr(r.html.data, "<p") != NULL); /* the template's own markup stays markup */
    template_rendered_free(&r);
    store_template_version_clear(&v);
}

/* Header and footer join the text on channels that render it. */
static void test_template__render_version(void)
{
    struct store_template t;
    struct store_template_version v = {0};
    struct template_rendered r;
    struct err e = {0};
    struct template_input in = {.channel = "telegram", .name = "framed", .language = "en", .header = "News",
                                .body = "Hello {{who}}", .footer = "-- {{team}}"};
    struct template_var vars[] = {{"who", "you"}, {"team", "Ops"}};

    CHECK_EQ_INT(create(TA, &in, &t, &e), 0);
    CHECK_EQ_INT(template_get(T.db, TA, t.id, &t, &v, &e), 0);
    CHECK_EQ_STR(v.variables, "[\"who\",\"team\"]");
    CHECK_EQ_INT(template_render_version(&t, &v, vars, 2, &r, &e), 0);
    CHECK_EQ_STR(r.text.data, "News\n\nHello you\n\n-- Ops");
    CHECK(r.subject.data == NULL && r.html.data == NULL);
    template_rendered_free(&r);
    store_template_version_clear(&v);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    struct store_tx tx = {0};
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct store_tenant ta = {.id = TA, .name = "a"}, tb = {.id = TB, .name = "b"};
    struct store_account wa = {.id = WA, .provider = "whatsapp", .channel = "whatsapp", .account_key = "k_tpl_wa"};

    if (crypto_init() != 0 || db_setup(backend, "template") != 0)
        return 1;
    if (store_migrate(T.db, &mi, &e) != 0 || store_tenant_create(T.db, &ta, &e) != 0 ||
        store_tenant_create(T.db, &tb, &e) != 0 || store_tx_begin(T.db, &tx, &e) != 0 ||
        store_account_insert(&tx, TA, &wa, &e) != 0 || store_tx_commit(&tx, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_template__check);
    TEST_RUN(test_template__collect);
    TEST_RUN(test_template__render);
    TEST_RUN(test_template__content_rules);
    TEST_RUN(test_template__whatsapp_rules);
    TEST_RUN(test_template__workflow);
    TEST_RUN(test_template__race);
    TEST_RUN(test_template__meta_status);
    TEST_RUN(test_template__default_email);
    TEST_RUN(test_template__render_version);
    db_teardown();
    TEST_DONE();
}
