/*
 * test_assistant_config: the agent configuration: strict parsing (each
 * refusal names its path), the defaults, the canonical JSON round trip,
 * partial updates over a base, the diff, and the stored versions (list,
 * one version, concurrent saves, the sealed API key, the audit rows, and a
 * rollback compared with the version it restores field by field), on the
 * database backend named by argv[1].
 */
#include <pthread.h>
#include <string.h>

#include "assistant/assistant.h"
#include "ops/ops.h"
#include "test.h"
#include "test_db.h"

#define TA "ten_cfg_a"
#define TB "ten_cfg_b"
#define KEY "sk-test-4f1d9c0a7b"

static const struct assistant_actor admin = {"user", "usr_admin", "10.0.0.2"};
static struct ops_keyring *keys;

/* ------------------------------------------------ field-by-field compare */

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static int list_eq(const char *const *a, int na, const char *const *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return 0;
    return 1;
}

/* Every field of two configs, every array element; the first difference is
 * named in why. The arena is the only field not compared. */
static int cfg_equal(const struct assistant_config *a, const struct assistant_config *b, char *why, size_t n)
{
#define DIFF(name)                                                                                                    \
    do {                                                                                                              \
        snprintf(why, n, "%s", name);                                                                                 \
        return 0;                                                                                                     \
    } while (0)
    if (a->enabled != b->enabled)
        DIFF("enabled");
    if (!str_eq(a->name, b->name))
        DIFF("name");
    if (!str_eq(a->persona, b->persona))
        DIFF("persona");
    if (!str_eq(a->tone, b->tone))
        DIFF("tone");
    if (a->kb_only != b->kb_only)
        DIFF("kb_only");
    if (!str_eq(a->unknown_answer, b->unknown_answer))
        DIFF("unknown_answer");
    if (!list_eq(a->languages, a->nlanguages, b->languages, b->nlanguages))
        DIFF("languages");
    for (int i = 0; i < ASSISTANT_CH_COUNT; i++)
        if (a->channels[i] != b->channels[i])
            DIFF("channels");
    if (a->hours_always != b->hours_always)
        DIFF("hours_always");
    for (int d = 0; d < 8; d++)
        if (a->days[d] != b->days[d])
            DIFF("days");
    if (a->start_min != b->start_min || a->end_min != b->end_min)
        DIFF("start/end");
    if (a->mode != b->mode)
        DIFF("mode");
    if (a->auto_threshold != b->auto_threshold)
        DIFF("auto_threshold");
    if (a->intent_threshold != b->intent_threshold)
        DIFF("intent_threshold");
    if (a->nintents != b->nintents)
        DIFF("nintents");
    for (int i = 0; i < a->nintents; i++) {
        const struct assistant_config_intent *x = &a->intents[i], *y = &b->intents[i];
        if (!str_eq(x->name, y->name))
            DIFF("intents.name");
        if (!list_eq(x->examples, x->nexamples, y->examples, y->nexamples))
            DIFF("intents.examples");
        if (!str_eq(x->action, y->action))
            DIFF("intents.action");
        if (x->mode != y->mode)
            DIFF("intents.mode");
        if (!str_eq(x->model, y->model))
            DIFF("intents.model");
    }
    if (!list_eq(a->emergency_phrases, a->nemergency, b->emergency_phrases, b->nemergency))
        DIFF("emergency_phrases");
    if (!str_eq(a->provider_kind, b->provider_kind))
        DIFF("provider_kind");
    if (!str_eq(a->base_url, b->base_url))
        DIFF("base_url");
    if (!str_eq(a->model, b->model))
        DIFF("model");
    if (a->api_key_set != b->api_key_set)
        DIFF("api_key_set");
    if (a->prompt_price_per_1k != b->prompt_price_per_1k || a->completion_price_per_1k != b->completion_price_per_1k)
        DIFF("prices");
    if (a->forbid_prices != b->forbid_prices || a->forbid_legal != b->forbid_legal ||
        a->forbid_medical != b->forbid_medical)
        DIFF("forbid_*");
    if (!list_eq(a->forbidden_phrases, a->nforbidden, b->forbidden_phrases, b->nforbidden))
        DIFF("forbidden_phrases");
    for (int i = 0; i < ASSISTANT_CH_COUNT; i++)
        if (a->max_length[i] != b->max_length[i])
            DIFF("max_length");
    if (!str_eq(a->on_call_contact_id, b->on_call_contact_id))
        DIFF("on_call_contact_id");
    if (!str_eq(a->on_call_account_id, b->on_call_account_id))
        DIFF("on_call_account_id");
    if (a->draft_escalate_after_s != b->draft_escalate_after_s)
        DIFF("draft_escalate_after_s");
    if (a->log_retention_days != b->log_retention_days)
        DIFF("log_retention_days");
#undef DIFF
    why[0] = '\0';
    return 1;
}

#define CHECK_CFG_EQ(a, b)                                                                                            \
    do {                                                                                                              \
        char _why[64];                                                                                                \
        int _eq = cfg_equal((a), (b), _why, sizeof(_why));                                                            \
        if (!_eq)                                                                                                     \
            fprintf(stderr, "configs differ at %s\n", _why);                                                          \
        CHECK(_eq);                                                                                                   \
    } while (0)

/* A configuration that sets every field away from its default. */
static const char *rich =
    "{\"enabled\":true,"
    "\"identity\":{\"name\":\"Clínica Sol\",\"persona\":\"A calm receptionist.\\nNever guesses.\",\"tone\":\"warm\"},"
    "\"grounding\":{\"kb_only\":false,\"unknown_answer\":\"Let me check with the team.\\nOne moment.\"},"
    "\"languages\":[\"es\",\"en\"],"
    "\"channels\":{\"sms\":false,\"whatsapp\":true,\"telegram\":false,\"instagram\":true,\"email\":true,"
    "\"webchat\":false},"
    "\"working_hours\":{\"always\":false,\"days\":[1,3,6],\"start\":\"08:30\",\"end\":\"19:45\"},"
    "\"mode\":\"threshold\",\"auto_threshold\":0.85,\"intent_threshold\":0.1,"
    "\"intents\":[{\"name\":\"refund\",\"examples\":[\"I want my money back\",\"refund please\"],"
    "\"action\":\"answer\",\"mode\":\"auto\",\"model\":\"gpt-4o-mini\"},"
    "{\"name\":\"human\",\"examples\":[\"talk to a person\"],\"action\":\"handover\",\"mode\":\"\",\"model\":\"\"},"
    "{\"name\":\"booking_2\",\"examples\":[\"book a visit\",\"cita\",\"appointment tomorrow\"],\"action\":\"book\","
    "\"mode\":\"draft\",\"model\":\"\"},"
    "{\"name\":\"urgent\",\"examples\":[],\"action\":\"emergency\",\"mode\":\"\",\"model\":\"\"}],"
    "\"emergency_phrases\":[\"chest pain\",\"sangrado\"],"
    "\"provider\":{\"kind\":\"openai\",\"base_url\":\"https://llm.example.test/v1\",\"model\":\"gpt-4o\","
    "\"api_key_set\":false,\"prompt_price_per_1k\":150,\"completion_price_per_1k\":600},"
    "\"safety\":{\"forbid_prices\":true,\"forbid_legal\":false,\"forbid_medical\":false,"
    "\"forbidden_phrases\":[\"guarantee\",\"cure\"],"
    "\"max_length\":{\"sms\":160,\"whatsapp\":900,\"telegram\":2000,\"instagram\":500,\"email\":8000,\"webchat\":700}},"
    "\"handover\":{\"on_call_contact_id\":\"ctc_oncall\",\"on_call_account_id\":\"acc_sms\","
    "\"draft_escalate_after_s\":0},"
    "\"log_retention_days\":90}";

static int parse(const char *json, const struct assistant_config *base, struct assistant_config *out, struct err *e)
{
    return assistant_config_parse(json, strlen(json), base, out, e);
}

/* ---------------------------------------------------------------- pure */

static void test_assistant_config__defaults(void)
{
    struct assistant_config def, c;
    struct err e = {0};
    struct buf b = {0};

    assistant_config_default(&def);
    CHECK_EQ_INT(parse("{}", NULL, &c, &e), 0);
    CHECK_CFG_EQ(&c, &def);
    CHECK(c.arena != NULL);
    assistant_config_json(&c, &b);
    CHECK(strncmp(b.data,
                  "{\"enabled\":false,\"identity\":{\"name\":\"Assistant\",\"persona\":\"\",\"tone\":\"friendly\"},"
                  "\"grounding\":{\"kb_only\":true,",
                  96) == 0);
    CHECK(strstr(b.data, "\"working_hours\":{\"always\":true,\"days\":[1,2,3,4,5],\"start\":\"09:00\","
                         "\"end\":\"17:00\"},\"mode\":\"draft\",\"auto_threshold\":0.75,\"intent_threshold\":0.3,"
                         "\"intents\":[],") != NULL);
    CHECK(strstr(b.data, "\"max_length\":{\"sms\":320,\"whatsapp\":1000,\"telegram\":1000,\"instagram\":1000,"
                         "\"email\":4000,\"webchat\":1000}},\"handover\":{\"on_call_contact_id\":\"\","
                         "\"on_call_account_id\":\"\",\"draft_escalate_after_s\":900},\"log_retention_days\":30}") !=
          NULL);
    CHECK(strstr(b.data, "\"channels\":{\"sms\":true,\"whatsapp\":true,\"telegram\":true,\"instagram\":true,"
                         "\"email\":false,\"webchat\":true}") != NULL);
    assistant_config_free(&c);
    assistant_config_free(&c); /* cleared: a second free is harmless */
    buf_free(&b);
}

static void test_assistant_config__round_trip(void)
{
    struct assistant_config a, b2;
    struct err e = {0};
    struct buf j1 = {0}, j2 = {0};

    CHECK_EQ_INT(parse(rich, NULL, &a, &e), 0);
    CHECK_EQ_STR(a.name, "Clínica Sol");
    CHECK_EQ_INT(a.nintents, 4);
    CHECK_EQ_STR(a.intents[2].name, "booking_2");
    CHECK_EQ_INT(a.intents[2].nexamples, 3);
    CHECK_EQ_STR(a.intents[2].examples[1], "cita");
    CHECK_EQ_INT(a.intents[0].mode, ASSISTANT_MODE_AUTO);
    CHECK_EQ_INT(a.intents[1].mode, ASSISTANT_MODE_INHERIT);
    CHECK_EQ_INT(assistant_config_mode(&a, "refund"), ASSISTANT_MODE_AUTO);
    CHECK_EQ_INT(assistant_config_mode(&a, "human"), ASSISTANT_MODE_THRESHOLD);
    CHECK_EQ_INT(a.days[1] + a.days[3] + a.days[6], 3);
    CHECK_EQ_INT(a.days[2] + a.days[4] + a.days[5] + a.days[7], 0);
    CHECK_EQ_INT(a.start_min, 8 * 60 + 30);
    CHECK_EQ_INT(a.end_min, 19 * 60 + 45);
    CHECK_EQ_INT(a.channels[ASSISTANT_CH_EMAIL], 1);
    CHECK_EQ_INT(a.max_length[ASSISTANT_CH_TELEGRAM], 2000);
    CHECK_EQ_INT(a.completion_price_per_1k, 600);
    CHECK(a.auto_threshold == 0.85);

    /* json -> parse -> json is the same text, and the same config. */
    assistant_config_json(&a, &j1);
    CHECK_EQ_INT(parse(j1.data, NULL, &b2, &e), 0);
    CHECK_CFG_EQ(&a, &b2);
    assistant_config_json(&b2, &j2);
    CHECK_EQ_STR(j2.data, j1.data);
    /* The canonical text is the input re-ordered: rich is already in order. */
    CHECK_EQ_STR(j1.data, rich);
    assistant_config_free(&b2);

    /* A threshold that has no short decimal form still reads back exactly. */
    buf_reset(&j2);
    a.intent_threshold = 1.0 / 3.0;
    a.api_key_set = 0;
    assistant_config_json(&a, &j2);
    CHECK_EQ_INT(parse(j2.data, NULL, &b2, &e), 0);
    CHECK(b2.intent_threshold == 1.0 / 3.0);
    CHECK_CFG_EQ(&a, &b2);
    assistant_config_free(&b2);

    /* api_key_set is read-only: a client saying true changes nothing. */
    CHECK_EQ_INT(parse("{\"provider\":{\"api_key_set\":true}}", NULL, &b2, &e), 0);
    CHECK_EQ_INT(b2.api_key_set, 0);
    assistant_config_free(&b2);

    /* A built config (arena NULL, static strings) writes the same way. */
    struct assistant_config built;
    assistant_config_default(&built);
    static const char *const ex[] = {"where is my parcel"};
    static const struct assistant_config_intent in[] = {{"tracking", ex, 1, "answer", ASSISTANT_MODE_AUTO, NULL}};
    built.intents = in;
    built.nintents = 1;
    buf_reset(&j2);
    assistant_config_json(&built, &j2);
    CHECK(strstr(j2.data, "\"intents\":[{\"name\":\"tracking\",\"examples\":[\"where is my parcel\"],"
                          "\"action\":\"answer\",\"mode\":\"auto\",\"model\":\"\"}]") != NULL);
    CHECK_EQ_INT(parse(j2.data, NULL, &b2, &e), 0);
    CHECK_CFG_EQ(&built, &b2);
    assistant_config_free(&b2);

    assistant_config_free(&a);
    buf_free(&j1);
    buf_free(&j2);
}

static void test_assistant_config__errors(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"[]", "config: must be an object"},
        {"{\"enabled\":1}", "enabled: must be true or false"},
        {"{\"colour\":\"red\"}", "colour: unknown field"},
        {"{\"identity\":{\"nick\":\"x\"}}", "identity.nick: unknown field"},
        {"{\"identity\":{\"name\":\"\"}}", "identity.name: must be 1 to 200 bytes"},
        {"{\"identity\":{\"name\":\"a\\tb\"}}", "identity.name: must be UTF-8 text without control characters"},
        {"{\"identity\":{\"name\":\"\xff\"}}", "identity.name: must be UTF-8"},
        {"{\"identity\":{\"persona\":\"a\\u0007\"}}", "identity.persona: must be UTF-8 text without control"},
        {"{\"grounding\":{\"unknown_answer\":\"ok\\nfine\"}}", NULL},
        {"{\"languages\":[\"fr\"]}", "languages[0]: must be en or es"},
        {"{\"languages\":[\"en\",\"english\"]}", "languages[1]: must be en or es"},
        {"{\"languages\":[\"en\",\"es\",\"en\"]}", "languages: at most 2 items"},
        {"{\"languages\":[]}", "languages: at least one language"},
        {"{\"languages\":[\"en\",\"en\"]}", "languages[1]: duplicate item"},
        {"{\"channels\":{\"fax\":true}}", "channels.fax: unknown field"},
        {"{\"working_hours\":{\"days\":[1,8]}}", "working_hours.days[1]: must be an integer from 1 to 7"},
        {"{\"working_hours\":{\"days\":[2,2]}}", "working_hours.days[1]: duplicate day"},
        {"{\"working_hours\":{\"start\":\"9:00\"}}", "working_hours.start: must be a time HH:MM"},
        {"{\"working_hours\":{\"end\":\"24:00\"}}", "working_hours.end: must be a time HH:MM from 00:00 to 23:59"},
        {"{\"mode\":\"\"}", "mode: must be one of auto, threshold, draft"},
        {"{\"auto_threshold\":1.5}", "auto_threshold: must be a number from 0 to 1"},
        {"{\"intent_threshold\":\"0.3\"}", "intent_threshold: must be a number from 0 to 1"},
        {"{\"intents\":[{\"name\":\"ok\"},{\"name\":\"x\",\"action\":\"dance\"}]}",
         "intents[1].action: must be one of answer, handover, collect, book, emergency"},
        {"{\"intents\":[{\"name\":\"Refund\"}]}", "intents[0].name: must be 1 to 64 characters of a-z, 0-9 and _"},
        {"{\"intents\":[{\"examples\":[\"x\"]}]}", "intents[0].name: required"},
        {"{\"intents\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "intents[1].name: another intent has this name"},
        {"{\"intents\":[{\"name\":\"a\",\"examples\":[\"\"]}]}", "intents[0].examples[0]: must be 1 to 300 bytes"},
        {"{\"intents\":[{\"name\":\"a\",\"mode\":\"sometimes\"}]}",
         "intents[0].mode: must be one of \"\", auto, threshold, draft"},
        {"{\"intents\":[{\"name\":\"a\",\"colour\":1}]}", "intents[0].colour: unknown field"},
        {"{\"provider\":{\"kind\":\"magic\"}}", "provider.kind: must be one of extractive, openai"},
        {"{\"provider\":{\"kind\":\"openai\",\"model\":\"m\"}}", "provider.base_url: required when provider.kind"},
        {"{\"provider\":{\"kind\":\"openai\",\"base_url\":\"http://x\"}}", "provider.model: required when"},
        {"{\"provider\":{\"base_url\":\"ftp://x\"}}", "provider.base_url: must be an http(s) URL or empty"},
        {"{\"provider\":{\"prompt_price_per_1k\":-1}}", "provider.prompt_price_per_1k: must be an integer from 0"},
        {"{\"provider\":{\"completion_price_per_1k\":1.5}}", "provider.completion_price_per_1k: must be an integer"},
        {"{\"safety\":{\"max_length\":{\"sms\":0}}}", "safety.max_length.sms: must be an integer from 1 to 10000"},
        {"{\"safety\":{\"max_length\":{\"sms\":10001}}}", "safety.max_length.sms: must be an integer from 1 to"},
        {"{\"safety\":{\"forbidden_phrases\":\"x\"}}", "safety.forbidden_phrases: must be an array of strings"},
        {"{\"handover\":{\"draft_escalate_after_s\":604801}}", "handover.draft_escalate_after_s: must be an integer"},
        {"{\"log_retention_days\":0}", "log_retention_days: must be an integer from 1 to 3650"},
        {"{\"log_retention_days\":3651}", "log_retention_days: must be an integer from 1 to 3650"},
        {"{\"enabled\":true,\"enabled\":false}", "enabled: duplicate field"},
        {"{\"enabled\":", "config: invalid JSON"},
    };
    struct err e = {0};
    struct assistant_config c;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        memset(&e, 0, sizeof(e));
        int rc = parse(cases[i].json, NULL, &c, &e);
        if (!cases[i].msg) {
            CHECK_EQ_INT(rc, 0);
            assistant_config_free(&c);
            continue;
        }
        CHECK_EQ_INT(rc, ERR_INVALID);
        CHECK_EQ_STR(e.slug, "invalid_config");
        if (strncmp(e.msg, cases[i].msg, strlen(cases[i].msg)) != 0) {
            fprintf(stderr, "case %zu: \"%s\", expected it to start \"%s\"\n", i, e.msg, cases[i].msg);
            CHECK(0);
        }
        CHECK(c.arena == NULL && c.name == NULL); /* nothing left to free */
    }

    /* Limits: 33 intents, 51 examples, 65 phrases. */
    struct buf b = {0};
    buf_puts(&b, "{\"intents\":[");
    for (int i = 0; i < 33; i++)
        buf_printf(&b, "%s{\"name\":\"i%d\"}", i ? "," : "", i);
    buf_puts(&b, "]}");
    CHECK_EQ_INT(parse(b.data, NULL, &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "intents: at most 32 intents");
    buf_reset(&b);
    buf_puts(&b, "{\"intents\":[{\"name\":\"a\",\"examples\":[");
    for (int i = 0; i < 51; i++)
        buf_printf(&b, "%s\"e%d\"", i ? "," : "", i);
    buf_puts(&b, "]}]}");
    CHECK_EQ_INT(parse(b.data, NULL, &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "intents[0].examples: at most 50 items");
    buf_reset(&b);
    buf_puts(&b, "{\"emergency_phrases\":[");
    for (int i = 0; i < 65; i++)
        buf_printf(&b, "%s\"p%d\"", i ? "," : "", i);
    buf_puts(&b, "]}");
    CHECK_EQ_INT(parse(b.data, NULL, &c, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "emergency_phrases: at most 64 items");
    buf_free(&b);
}

static void test_assistant_config__partial(void)
{
    struct assistant_config base, c;
    struct err e = {0};

    CHECK_EQ_INT(parse(rich, NULL, &base, &e), 0);
    /* Objects merge member by member; arrays replace; the rest is base's. */
    CHECK_EQ_INT(parse("{\"identity\":{\"tone\":\"formal\"},\"channels\":{\"sms\":true},"
                       "\"safety\":{\"max_length\":{\"email\":100}},\"languages\":[\"en\"],"
                       "\"intents\":[{\"name\":\"only\"}]}",
                       &base, &c, &e),
                 0);
    CHECK_EQ_STR(c.tone, "formal");
    CHECK_EQ_STR(c.name, "Clínica Sol");
    CHECK_EQ_STR(c.persona, "A calm receptionist.\nNever guesses.");
    CHECK_EQ_INT(c.channels[ASSISTANT_CH_SMS], 1);
    CHECK_EQ_INT(c.channels[ASSISTANT_CH_TELEGRAM], 0);
    CHECK_EQ_INT(c.max_length[ASSISTANT_CH_EMAIL], 100);
    CHECK_EQ_INT(c.max_length[ASSISTANT_CH_SMS], 160);
    CHECK_EQ_INT(c.nlanguages, 1);
    CHECK_EQ_INT(c.nintents, 1);
    CHECK_EQ_STR(c.intents[0].action, "answer");
    CHECK_EQ_INT(c.intents[0].nexamples, 0);
    CHECK_EQ_STR(c.model, "gpt-4o");
    CHECK_EQ_INT(c.log_retention_days, 90);
    /* c owns its strings: base can go first. */
    assistant_config_free(&base);
    CHECK_EQ_STR(c.emergency_phrases[1], "sangrado");
    CHECK_EQ_STR(c.forbidden_phrases[0], "guarantee");
    CHECK_EQ_STR(c.on_call_contact_id, "ctc_oncall");

    /* A bad member refuses the whole update; the cross-field rule sees the
     * merged result (kind openai without a model). */
    struct assistant_config d;
    CHECK_EQ_INT(parse("{\"provider\":{\"model\":\"\"}}", &c, &d, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "provider.model: required when provider.kind is openai");
    CHECK_EQ_INT(parse("{\"provider\":{\"kind\":\"extractive\",\"model\":\"\"}}", &c, &d, &e), 0);
    CHECK_EQ_STR(d.provider_kind, "extractive");
    CHECK_EQ_STR(d.base_url, "https://llm.example.test/v1");
    assistant_config_free(&d);
    assistant_config_free(&c);
}

static void test_assistant_config__diff(void)
{
    struct assistant_config a, b2;
    struct err e = {0};
    struct buf ja = {0}, jb = {0}, d = {0};

    CHECK_EQ_INT(parse(rich, NULL, &a, &e), 0);
    CHECK_EQ_INT(parse("{\"identity\":{\"name\":\"Sol\"},\"languages\":[\"es\"],\"auto_threshold\":0.5,"
                       "\"intents\":[{\"name\":\"refund\",\"examples\":[\"I want my money back\",\"reembolso\"],"
                       "\"action\":\"answer\",\"mode\":\"auto\",\"model\":\"gpt-4o-mini\"}]}",
                       &a, &b2, &e),
                 0);
    assistant_config_json(&a, &ja);
    assistant_config_json(&b2, &jb);
    CHECK_EQ_INT(assistant_config_diff(ja.data, jb.data, &d, &e), 0);
    CHECK_EQ_STR(d.data,
                 "[{\"path\":\"identity.name\",\"from\":\"Clínica Sol\",\"to\":\"Sol\"},"
                 "{\"path\":\"languages[1]\",\"from\":\"en\",\"to\":null},"
                 "{\"path\":\"auto_threshold\",\"from\":0.85,\"to\":0.5},"
                 "{\"path\":\"intents[0].examples[1]\",\"from\":\"refund please\",\"to\":\"reembolso\"},"
                 "{\"path\":\"intents[1]\",\"from\":{\"name\":\"human\",\"examples\":[\"talk to a person\"],"
                 "\"action\":\"handover\",\"mode\":\"\",\"model\":\"\"},\"to\":null},"
                 "{\"path\":\"intents[2]\",\"from\":{\"name\":\"booking_2\",\"examples\":[\"book a visit\",\"cita\","
                 "\"appointment tomorrow\"],\"action\":\"book\",\"mode\":\"draft\",\"model\":\"\"},\"to\":null},"
                 "{\"path\":\"intents[3]\",\"from\":{\"name\":\"urgent\",\"examples\":[],\"action\":\"emergency\","
                 "\"mode\":\"\",\"model\":\"\"},\"to\":null}]");
    /* Equal documents: no changes; a member only in b is added. */
    buf_reset(&d);
    CHECK_EQ_INT(assistant_config_diff(ja.data, ja.data, &d, &e), 0);
    CHECK_EQ_STR(d.data, "[]");
    buf_reset(&d);
    CHECK_EQ_INT(assistant_config_diff("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":1,\"c\":[true]}}", &d, &e), 0);
    CHECK_EQ_STR(d.data, "[{\"path\":\"a.c\",\"from\":null,\"to\":[true]}]");
    buf_reset(&d);
    CHECK_EQ_INT(assistant_config_diff("{\"a\":", "{}", &d, &e), ERR_INVALID);
    assistant_config_free(&a);
    assistant_config_free(&b2);
    buf_free(&ja);
    buf_free(&jb);
    buf_free(&d);
}

/* -------------------------------------------------------------- stored */

struct versions {
    int n;
    int64_t v[32];
    char note[32][200];
    char by[32][CORE_ID_MAX];
};

static int on_version(void *ud, const struct assistant_config_version *v)
{
    struct versions *vs = ud;
    if (vs->n < 32) {
        vs->v[vs->n] = v->version;
        snprintf(vs->note[vs->n], sizeof(vs->note[0]), "%s", v->note);
        snprintf(vs->by[vs->n], sizeof(vs->by[0]), "%s", v->created_by);
    }
    vs->n++;
    return 0;
}

static void test_assistant_config__versions(void)
{
    struct assistant_config c, def;
    struct assistant_config_version ver;
    struct err e = {0};
    struct versions vs = {0};
    char *doc = NULL;
    int64_t v = -1;

    /* Never saved: the defaults, version 0. */
    CHECK_EQ_INT(assistant_config_current(T.db, TB, &c, &ver, &e), 0);
    assistant_config_default(&def);
    CHECK_CFG_EQ(&c, &def);
    CHECK_EQ_INT(ver.version, 0);
    assistant_config_free(&c);
    CHECK_EQ_INT(assistant_config_versions(T.db, TB, 10, on_version, &vs, &e), 0);
    CHECK_EQ_INT(vs.n, 0);

    /* A refused document stores nothing. */
    const char *bad = "{\"mode\":\"sometimes\"}";
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TB, bad, strlen(bad), NULL, NULL, &admin, &v, &e), ERR_INVALID);
    CHECK_EQ_STR(e.msg, "mode: must be one of auto, threshold, draft");
    CHECK_EQ_INT(v, 0);

    const char *p1 = "{\"enabled\":true}", *p2 = "{\"identity\":{\"name\":\"Bea\"}}";
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TB, p1, strlen(p1), NULL, "turn it on", &admin, &v, &e), 0);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TB, p2, strlen(p2), NULL, NULL, &admin, &v, &e), 0);
    CHECK_EQ_INT(v, 2);
    CHECK_EQ_INT(assistant_config_current(T.db, TB, &c, &ver, &e), 0);
    CHECK_EQ_INT(c.enabled, 1); /* partial saves build on each other */
    CHECK_EQ_STR(c.name, "Bea");
    CHECK_EQ_INT(ver.version, 2);
    CHECK_EQ_STR(ver.created_by, "usr_admin");
    CHECK(ver.created_at > 0);
    assistant_config_free(&c);

    CHECK_EQ_INT(assistant_config_versions(T.db, TB, 10, on_version, &vs, &e), 0);
    CHECK_EQ_INT(vs.n, 2);
    CHECK_EQ_INT(vs.v[0], 2);
    CHECK_EQ_INT(vs.v[1], 1);
    CHECK_EQ_STR(vs.note[1], "turn it on");
    memset(&vs, 0, sizeof(vs));
    CHECK_EQ_INT(assistant_config_versions(T.db, TB, 1, on_version, &vs, &e), 0);
    CHECK_EQ_INT(vs.n, 1);
    CHECK_EQ_INT(assistant_config_versions(T.db, TB, 0, on_version, &vs, &e), ERR_INVALID);
    CHECK_EQ_INT(assistant_config_versions(T.db, TB, 201, on_version, &vs, &e), ERR_INVALID);

    CHECK_EQ_INT(assistant_config_get_version(T.db, TB, 1, &doc, &ver, &e), 0);
    CHECK(strstr(doc, "\"enabled\":true") != NULL);
    CHECK(strstr(doc, "\"name\":\"Assistant\"") != NULL);
    CHECK_EQ_STR(ver.note, "turn it on");
    free(doc);
    CHECK_EQ_INT(assistant_config_get_version(T.db, TB, 3, &doc, &ver, &e), ERR_NOTFOUND);
    CHECK(doc == NULL);
    /* Tenants are apart: A sees none of B's versions. */
    CHECK_EQ_INT(assistant_config_get_version(T.db, TA, 1, &doc, &ver, &e), ERR_NOTFOUND);

    /* A note longer than the column is refused, not cut. */
    char note[256];
    memset(note, 'n', sizeof(note) - 1);
    note[sizeof(note) - 1] = '\0';
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TB, "{}", 2, NULL, note, &admin, &v, &e), ERR_INVALID);
}

struct saver {
    const char *tenant;
    int ok, failed;
    int64_t got[8];
};

static void *save_many(void *ud)
{
    struct saver *s = ud;
    for (int i = 0; i < 8; i++) {
        struct err e = {0};
        char doc[64];
        int64_t v = 0;
        snprintf(doc, sizeof(doc), "{\"log_retention_days\":%d}", 10 + i);
        if (assistant_config_save(T.db, keys, s->tenant, doc, strlen(doc), NULL, NULL, &admin, &v, &e) == 0)
            s->got[s->ok++] = v;
        else
            s->failed++;
    }
    return NULL;
}

/* Concurrent saves never share a version number, and none is lost. */
static void test_assistant_config__concurrent(void)
{
    struct saver s[3] = {{"ten_cfg_c", 0, 0, {0}}, {"ten_cfg_c", 0, 0, {0}}, {"ten_cfg_c", 0, 0, {0}}};
    pthread_t th[3];
    struct store_tenant t = {.id = "ten_cfg_c", .name = "c"};
    struct err e = {0};
    struct versions vs = {0};
    int seen[25] = {0}, ok = 0;

    CHECK_EQ_INT(store_tenant_create(T.db, &t, &e), 0);
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, save_many, &s[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        ok += s[i].ok;
        for (int j = 0; j < s[i].ok; j++) {
            CHECK(s[i].got[j] >= 1 && s[i].got[j] <= 24);
            if (s[i].got[j] >= 1 && s[i].got[j] <= 24)
                CHECK_EQ_INT(seen[s[i].got[j]]++, 0);
        }
    }
    CHECK_EQ_INT(ok, 24);
    CHECK_EQ_INT(assistant_config_versions(T.db, "ten_cfg_c", 200, on_version, &vs, &e), 0);
    CHECK_EQ_INT(vs.n, 24);
    CHECK_EQ_INT(vs.v[0], 24);
}

struct audits {
    int update, rollback, leaked;
    char last_update[1024];
    char last_rollback[1024];
};

static int on_audit(void *ud, const struct store_audit *a)
{
    struct audits *n = ud;
    n->leaked += strstr(a->details, KEY) != NULL || strstr(a->target, KEY) != NULL;
    if (strcmp(a->action, "assistant.config.update") == 0) {
        if (!n->update++) /* newest first */
            snprintf(n->last_update, sizeof(n->last_update), "%s", a->details);
    }
    if (strcmp(a->action, "assistant.config.rollback") == 0) {
        if (!n->rollback++)
            snprintf(n->last_rollback, sizeof(n->last_rollback), "%s", a->details);
    }
    return 0;
}

static void test_assistant_config__api_key(void)
{
    struct assistant_config c;
    struct err e = {0};
    char *key = NULL, *doc = NULL;
    int64_t v = 0;

    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, TA, &key, &e), 0);
    CHECK(key == NULL);
    const char *p = "{\"provider\":{\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:9/v1\",\"model\":\"m1\"}}";
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TA, p, strlen(p), KEY, NULL, &admin, &v, &e), 0);
    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, TA, &key, &e), 0);
    CHECK_EQ_STR(key, KEY);
    free(key);
    key = NULL;
    CHECK_EQ_INT(assistant_config_current(T.db, TA, &c, NULL, &e), 0);
    CHECK_EQ_INT(c.api_key_set, 1);
    assistant_config_free(&c);
    CHECK_EQ_INT(assistant_config_get_version(T.db, TA, v, &doc, NULL, &e), 0);
    CHECK(strstr(doc, "\"api_key_set\":true") != NULL);
    CHECK(strstr(doc, KEY) == NULL);
    free(doc);
    /* Not in the secrets table as plain text either. */
    char *sealed = NULL;
    CHECK_EQ_INT(store_secret_get(T.db, TA, "assistant/llm_api_key", &sealed, &e), 0);
    CHECK(sealed && strstr(sealed, KEY) == NULL);
    free(sealed);

    /* A save without api_key keeps it; "" removes it. */
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TA, "{\"enabled\":true}", 16, NULL, NULL, &admin, &v, &e), 0);
    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, TA, &key, &e), 0);
    CHECK_EQ_STR(key, KEY);
    free(key);
    key = NULL;
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TA, "{}", 2, "", NULL, &admin, &v, &e), 0);
    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, TA, &key, &e), 0);
    CHECK(key == NULL);
    CHECK_EQ_INT(assistant_config_current(T.db, TA, &c, NULL, &e), 0);
    CHECK_EQ_INT(c.api_key_set, 0);
    assistant_config_free(&c);
    /* A refused document leaves the key alone (one transaction). */
    CHECK_EQ_INT(assistant_config_save(T.db, keys, TA, "{\"x\":1}", 7, KEY, NULL, &admin, &v, &e), ERR_INVALID);
    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, TA, &key, &e), 0);
    CHECK(key == NULL);

    struct audits n = {0};
    CHECK_EQ_INT(ops_audit_list(T.db, TA, 0, 0, 0, 0, on_audit, &n, &e), 0);
    CHECK_EQ_INT(n.update, 3);
    CHECK_EQ_INT(n.leaked, 0);
    CHECK(strstr(n.last_update, "\"api_key\":\"removed\"") != NULL);
    CHECK(strstr(n.last_update, "\"provider.api_key_set\"") != NULL);
}

static void test_assistant_config__rollback(void)
{
    struct assistant_config v1, v2, v3;
    struct assistant_config_version ver;
    struct err e = {0};
    char *d1 = NULL, *d3 = NULL;
    int64_t n1 = 0, n2 = 0, n3 = 0;
    const char *tenant = "ten_cfg_r";
    struct store_tenant t = {.id = "ten_cfg_r", .name = "r"};

    CHECK_EQ_INT(store_tenant_create(T.db, &t, &e), 0);
    /* v1: the rich configuration, with a key. */
    CHECK_EQ_INT(assistant_config_save(T.db, keys, tenant, rich, strlen(rich), KEY, "v1", &admin, &n1, &e), 0);
    /* v2: nearly everything else. */
    const char *change =
        "{\"enabled\":false,\"identity\":{\"name\":\"Other\",\"persona\":\"\",\"tone\":\"dry\"},"
        "\"grounding\":{\"kb_only\":true,\"unknown_answer\":\"No idea.\"},\"languages\":[\"en\"],"
        "\"channels\":{\"sms\":true,\"email\":false},"
        "\"working_hours\":{\"always\":true,\"days\":[7],\"start\":\"00:00\",\"end\":\"23:59\"},"
        "\"mode\":\"auto\",\"auto_threshold\":0.2,\"intent_threshold\":0.9,"
        "\"intents\":[{\"name\":\"refund\",\"examples\":[\"money\"],\"action\":\"collect\",\"mode\":\"draft\","
        "\"model\":\"small\"}],"
        "\"emergency_phrases\":[\"fire\"],"
        "\"provider\":{\"kind\":\"extractive\",\"base_url\":\"\",\"model\":\"\",\"prompt_price_per_1k\":1,"
        "\"completion_price_per_1k\":2},"
        "\"safety\":{\"forbid_prices\":false,\"forbid_legal\":true,\"forbid_medical\":true,"
        "\"forbidden_phrases\":[],\"max_length\":{\"sms\":100,\"webchat\":1}},"
        "\"handover\":{\"on_call_contact_id\":\"\",\"on_call_account_id\":\"acc_x\",\"draft_escalate_after_s\":60},"
        "\"log_retention_days\":7}";
    CHECK_EQ_INT(assistant_config_save(T.db, keys, tenant, change, strlen(change), NULL, "v2", &admin, &n2, &e), 0);
    CHECK_EQ_INT(n2, n1 + 1);

    CHECK_EQ_INT(assistant_config_get_version(T.db, tenant, n1, &d1, NULL, &e), 0);
    CHECK_EQ_INT(assistant_config_parse(d1, strlen(d1), NULL, &v1, &e), 0);
    v1.api_key_set = 1; /* parse never takes it from a document; v1 had the key */
    CHECK_EQ_INT(assistant_config_current(T.db, tenant, &v2, NULL, &e), 0);
    char why[64];
    CHECK(!cfg_equal(&v1, &v2, why, sizeof(why)));
    /* Every group of fields moved: compare a few that a lazy merge would miss. */
    CHECK(v2.nintents == 1 && v2.days[7] == 1 && v2.days[1] == 0 && v2.max_length[ASSISTANT_CH_WEBCHAT] == 1 &&
          v2.max_length[ASSISTANT_CH_EMAIL] == 8000 && v2.channels[ASSISTANT_CH_INSTAGRAM] == 1);

    CHECK_EQ_INT(assistant_config_rollback(T.db, tenant, n1, &admin, &n3, &e), 0);
    CHECK_EQ_INT(n3, n2 + 1);
    CHECK_EQ_INT(assistant_config_current(T.db, tenant, &v3, &ver, &e), 0);
    CHECK_EQ_INT(ver.version, n3);
    CHECK_EQ_STR(ver.note, "rollback to 1");
    CHECK_CFG_EQ(&v3, &v1);
    CHECK_EQ_INT(v3.api_key_set, 1);
    CHECK_EQ_INT(assistant_config_get_version(T.db, tenant, n3, &d3, NULL, &e), 0);
    CHECK_EQ_STR(d3, d1);
    /* The key stayed. */
    char *key = NULL;
    CHECK_EQ_INT(assistant_config_api_key(T.db, keys, tenant, &key, &e), 0);
    CHECK_EQ_STR(key, KEY);
    free(key);

    CHECK_EQ_INT(assistant_config_rollback(T.db, tenant, 99, &admin, &n3, &e), ERR_NOTFOUND);
    CHECK_EQ_INT(n3, 0);

    struct audits a = {0};
    CHECK_EQ_INT(ops_audit_list(T.db, tenant, 0, 0, 0, 0, on_audit, &a, &e), 0);
    CHECK_EQ_INT(a.update, 2);
    CHECK_EQ_INT(a.rollback, 1);
    CHECK_EQ_INT(a.leaked, 0);
    CHECK(strstr(a.last_rollback, "\"rolled_back_to\":1") != NULL);
    CHECK(strstr(a.last_rollback, "\"identity.name\"") != NULL);
    CHECK(strstr(a.last_update, "\"version\":2,") != NULL);

    /* Rolling back to 0 restores the defaults (the key stays). */
    CHECK_EQ_INT(assistant_config_rollback(T.db, tenant, 0, &admin, &n3, &e), 0);
    struct assistant_config def, cur;
    assistant_config_default(&def);
    def.api_key_set = 1;
    CHECK_EQ_INT(assistant_config_current(T.db, tenant, &cur, NULL, &e), 0);
    CHECK_CFG_EQ(&cur, &def);
    assistant_config_free(&cur);

    assistant_config_free(&v1);
    assistant_config_free(&v2);
    assistant_config_free(&v3);
    free(d1);
    free(d3);
}

int main(int argc, char **argv)
{
    struct err e = {0};
    struct store_migration_info mi;
    const char *backend = argc > 1 ? argv[1] : "sqlite";
    struct store_tenant ta = {.id = TA, .name = "a"}, tb = {.id = TB, .name = "b"};
    uint8_t master[CRYPTO_KEY_BYTES];

    if (crypto_init() != 0 || db_setup(backend, "assistant_config") != 0)
        return 1;
    crypto_random(master, sizeof(master));
    if (store_migrate(T.db, &mi, &e) != 0 || store_tenant_create(T.db, &ta, &e) != 0 ||
        store_tenant_create(T.db, &tb, &e) != 0 || ops_keyring_open(&keys, T.db, master, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        db_teardown();
        return 1;
    }
    TEST_RUN(test_assistant_config__defaults);
    TEST_RUN(test_assistant_config__round_trip);
    TEST_RUN(test_assistant_config__errors);
    TEST_RUN(test_assistant_config__partial);
    TEST_RUN(test_assistant_config__diff);
    TEST_RUN(test_assistant_config__versions);
    TEST_RUN(test_assistant_config__concurrent);
    TEST_RUN(test_assistant_config__api_key);
    TEST_RUN(test_assistant_config__rollback);
    ops_keyring_free(keys);
    db_teardown();
    TEST_DONE();
}
