/*
 * test_assistant_cases: the assistant's regression suite. The knowledge
 * base (cases/kb.json) and agent configuration (cases/config.json) of a
 * small bike shop are loaded into a fresh store, and every case of the
 * other .json files of cases/ (a message, its history and language, and what
 * to expect: intent, handover or not, facts the reply must and must not
 * contain) runs as a whole turn, once with the extractive provider and
 * once with tests/fakes/fake_llm.py in its "grounded" mode, on SQLite and,
 * when SB_TEST_PG_URL is set, on PostgreSQL. It prints per run the intent
 * accuracy, the precision and recall of handover and the facts pass rate
 * with the failing cases and why, and fails under the thresholds below
 * (chosen and justified in docs/assistant.md, "Regression suite").
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"
#include "test.h"
#include "test_db.h"
#include "test_fake.h"

#define TEN "ten_cases"

/* Thresholds per provider: {intent accuracy, handover precision, handover
 * recall, facts pass rate}. See docs/assistant.md. */
static const double min_extractive[4] = {0.90, 0.80, 0.85, 0.80};
static const double min_llm[4] = {0.90, 0.90, 0.82, 0.85};

static struct fake llm;
static char base_url[128];
static const struct assistant_actor admin = {"user", "usr_admin", ""};

/* ------------------------------------------------------------- loading */

static cJSON *load_json(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/assistant/cases/%s", src_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    cJSON *root = NULL;
    struct err e = {0};
    if (json_parse(&root, b.data, b.len, &e) != 0)
        fprintf(stderr, "%s: %s\n", name, e.msg);
    buf_free(&b);
    return root;
}

/* The strings of a JSON array, copied into arena. */
static const char *const *str_list(struct arena *a, const cJSON *arr, int *n)
{
    int k = cJSON_GetArraySize(arr);
    const char **out = arena_alloc(a, sizeof *out * (size_t)(k + 1));
    *n = 0;
    for (int i = 0; i < k; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, i);
        if (cJSON_IsString(s))
            out[(*n)++] = arena_strdup(a, s->valuestring);
    }
    return out;
}

static const char *str_or(struct arena *a, const cJSON *obj, const char *name, const char *def)
{
    const char *s = json_str(obj, name);
    return s ? arena_strdup(a, s) : def;
}

static enum assistant_mode mode_of(const char *s, enum assistant_mode def)
{
    if (!s)
        return def;
    if (strcmp(s, "auto") == 0)
        return ASSISTANT_MODE_AUTO;
    if (strcmp(s, "threshold") == 0)
        return ASSISTANT_MODE_THRESHOLD;
    if (strcmp(s, "draft") == 0)
        return ASSISTANT_MODE_DRAFT;
    return ASSISTANT_MODE_INHERIT;
}

/* The suite's configuration: the fields of config.json it uses, over the
 * defaults (the same keys as the stored configuration document). */
static int load_config(struct assistant_config *c, struct arena *a)
{
    cJSON *root = load_json("config.json");
    if (!root)
        return -1;
    assistant_config_default(c);
    c->enabled = json_bool(root, "enabled", 0);
    const cJSON *id = cJSON_GetObjectItem(root, "identity");
    c->name = str_or(a, id, "name", c->name);
    c->persona = str_or(a, id, "persona", c->persona);
    c->tone = str_or(a, id, "tone", c->tone);
    const cJSON *g = cJSON_GetObjectItem(root, "grounding");
    c->kb_only = json_bool(g, "kb_only", c->kb_only);
    c->unknown_answer = str_or(a, g, "unknown_answer", c->unknown_answer);
    if (cJSON_GetObjectItem(root, "languages"))
        c->languages = str_list(a, cJSON_GetObjectItem(root, "languages"), &c->nlanguages);
    c->mode = mode_of(json_str(root, "mode"), c->mode);
    const cJSON *v = cJSON_GetObjectItem(root, "intent_threshold");
    if (cJSON_IsNumber(v))
        c->intent_threshold = v->valuedouble;
    v = cJSON_GetObjectItem(root, "auto_threshold");
    if (cJSON_IsNumber(v))
        c->auto_threshold = v->valuedouble;
    const cJSON *in = cJSON_GetObjectItem(root, "intents");
    int ni = cJSON_GetArraySize(in);
    struct assistant_config_intent *ci = arena_alloc(a, sizeof *ci * (size_t)(ni + 1));
    for (int i = 0; i < ni; i++) {
        const cJSON *x = cJSON_GetArrayItem(in, i);
        ci[i].name = str_or(a, x, "name", "");
        ci[i].action = str_or(a, x, "action", "answer");
        ci[i].examples = str_list(a, cJSON_GetObjectItem(x, "examples"), &ci[i].nexamples);
        ci[i].mode = mode_of(json_str(x, "mode"), ASSISTANT_MODE_INHERIT);
        ci[i].model = str_or(a, x, "model", "");
    }
    c->intents = ci;
    c->nintents = ni;
    if (cJSON_GetObjectItem(root, "emergency_phrases"))
        c->emergency_phrases = str_list(a, cJSON_GetObjectItem(root, "emergency_phrases"), &c->nemergency);
    const cJSON *s = cJSON_GetObjectItem(root, "safety");
    c->forbid_prices = json_bool(s, "forbid_prices", c->forbid_prices);
    c->forbid_legal = json_bool(s, "forbid_legal", c->forbid_legal);
    c->forbid_medical = json_bool(s, "forbid_medical", c->forbid_medical);
    if (cJSON_GetObjectItem(s, "forbidden_phrases"))
        c->forbidden_phrases = str_list(a, cJSON_GetObjectItem(s, "forbidden_phrases"), &c->nforbidden);
    cJSON_Delete(root);
    return 0;
}

static int load_kb(void)
{
    cJSON *root = load_json("kb.json");
    struct err e = {0};
    int rc = root ? 0 : -1;
    for (int i = 0; root && i < cJSON_GetArraySize(root) && rc == 0; i++) {
        const cJSON *d = cJSON_GetArrayItem(root, i);
        char *tags = json_print(cJSON_GetObjectItem(d, "tags"));
        struct assistant_kb_input in = {
            .title = json_str(d, "title"), .body = json_str(d, "body"), .tags = tags, .source = "suite",
            .language = json_str(d, "language"), .enabled = 1,
        };
        rc = assistant_kb_create(T.db, TEN, &in, &admin, NULL, &e);
        if (rc)
            fprintf(stderr, "kb.json[%d]: %s\n", i, e.msg);
        free(tags);
    }
    cJSON_Delete(root);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case of every .json file in cases/ but kb.json and config.json, in file
 * name order, as one array (caller deletes). */
static cJSON *load_cases(void)
{
    char dir[1024];
    char *names[64];
    int n = 0;
    snprintf(dir, sizeof dir, "%s/tests/assistant/cases", src_dir());
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) && n < 64) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0 && strcmp(de->d_name, "kb.json") != 0 &&
            strcmp(de->d_name, "config.json") != 0)
            names[n++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    cJSON *all = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *arr = load_json(names[i]);
        if (!arr)
            fprintf(stderr, "cases/%s: unreadable\n", names[i]);
        while (arr && cJSON_GetArraySize(arr) > 0)
            cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(arr, 0));
        cJSON_Delete(arr);
        free(names[i]);
    }
    return all;
}

/* ------------------------------------------------------------- running */

/* Case-insensitive (ASCII) substring. */
static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* The assistant did not answer on its own. */
static int handed_over(const struct assistant_turn *t)
{
    return t->action == ASSISTANT_HANDOVER || t->action == ASSISTANT_EMERGENCY ||
           (t->action == ASSISTANT_DRAFT &&
            (strncmp(t->reason, "ungrounded", 10) == 0 || strncmp(t->reason, "unsafe", 6) == 0));
}

struct metrics {
    int intent_n, intent_ok;
    int tp, fp, fn, tn;
    int facts_n, facts_ok;
    int cases;
    int strict_failed;
};

static double ratio(int a, int b)
{
    return b ? (double)a / b : 1;
}

static void run_case(const struct assistant_config *cfg, const cJSON *c, struct metrics *m)
{
    const char *id = json_str(c, "id");
    const cJSON *ex = cJSON_GetObjectItem(c, "expect");
    const cJSON *hist = cJSON_GetObjectItem(c, "history");
    struct assistant_history h[16];
    int nh = 0;
    for (int i = 0; i < cJSON_GetArraySize(hist) && nh < 16; i++) {
        const cJSON *x = cJSON_GetArrayItem(hist, i);
        h[nh].inbound = json_bool(x, "inbound", 1);
        h[nh].text = json_str(x, "text");
        nh++;
    }
    const char *channel = json_str(c, "channel");
    struct assistant_turn_input in = {
        .cfg = cfg, .tenant_id = TEN, .channel = channel ? channel : "whatsapp", .language = json_str(c, "language"),
        .text = json_str(c, "message"), .history = h, .nhistory = nh, .in_hours = 1, .llm_timeout_ms = 5000,
    };
    struct assistant_turn t = {0};
    struct err e = {0};
    struct buf why = {0};

    if (!id || !in.text || !ex) {
        fprintf(stderr, "  a case without id, message or expect\n");
        test_failures++;
        return;
    }
    m->cases++;
    int rc = assistant_turn_run(T.db, &in, &t, &e);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s: %s\n", id, e.msg);
    const char *want_intent = json_str(ex, "intent");
    if (want_intent) {
        m->intent_n++;
        if (strcmp(t.intent, want_intent) == 0)
            m->intent_ok++;
        else
            buf_printf(&why, " intent \"%s\" (expected \"%s\");", t.intent, want_intent);
    }
    int want_ho = json_bool(ex, "handover", 0), got_ho = handed_over(&t);
    if (want_ho && got_ho)
        m->tp++;
    else if (!want_ho && got_ho)
        m->fp++;
    else if (want_ho && !got_ho)
        m->fn++;
    else
        m->tn++;
    if (want_ho != got_ho)
        buf_printf(&why, " %s;", want_ho ? "answered, expected a handover" : "handed over, expected an answer");
    const cJSON *yes = cJSON_GetObjectItem(ex, "contains"), *no = cJSON_GetObjectItem(ex, "not_contains");
    if (cJSON_GetArraySize(yes) + cJSON_GetArraySize(no) > 0) {
        int ok = 1;
        const char *text = t.text.data ? t.text.data : "";
        for (int i = 0; i < cJSON_GetArraySize(yes); i++) {
            const char *f = cJSON_GetArrayItem(yes, i)->valuestring;
            if (f && !contains_ci(text, f)) {
                ok = 0;
                buf_printf(&why, " lacks \"%s\";", f);
            }
        }
        for (int i = 0; i < cJSON_GetArraySize(no); i++) {
            const char *f = cJSON_GetArrayItem(no, i)->valuestring;
            if (f && contains_ci(text, f)) {
                ok = 0;
                buf_printf(&why, " holds \"%s\";", f);
            }
        }
        m->facts_n++;
        m->facts_ok += ok;
    }
    /* Emergencies, injections, abuse, other customers' data: never a miss. */
    if (why.len && json_bool(ex, "strict", 0)) {
        test_failures++;
        m->strict_failed++;
        buf_puts(&why, " (a strict case)");
    }
    if (why.len)
        fprintf(stderr, "  FAIL %-22s%s [%s %s, %s; reason: %.120s; text: %.80s]\n", id, why.data,
                assistant_action_name(t.action), t.intent, t.provider, t.reason, t.text.data ? t.text.data : "");
    buf_free(&why);
    assistant_turn_free(&t);
}

static void run_suite(const char *backend, const char *provider, const struct assistant_config *cfg,
                      const cJSON *cases, const double min[4])
{
    struct metrics m = {0};
    fprintf(stderr, "== %s, %s\n", backend, provider);
    for (int i = 0; i < cJSON_GetArraySize(cases); i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        if (cJSON_IsObject(c))
            run_case(cfg, c, &m);
    }
    double got[4] = {ratio(m.intent_ok, m.intent_n), ratio(m.tp, m.tp + m.fp), ratio(m.tp, m.tp + m.fn),
                     ratio(m.facts_ok, m.facts_n)};
    fprintf(stderr,
            "%s %s: %d cases; intent accuracy %.3f (%d/%d); handover precision %.3f (%d/%d), recall %.3f (%d/%d); "
            "facts %.3f (%d/%d); strict cases failed %d\n",
            backend, provider, m.cases, got[0], m.intent_ok, m.intent_n, got[1], m.tp, m.tp + m.fp, got[2], m.tp,
            m.tp + m.fn, got[3], m.facts_ok, m.facts_n, m.strict_failed);
    static const char *const names[4] = {"intent accuracy", "handover precision", "handover recall", "facts"};
    for (int k = 0; k < 4; k++) {
        test_checks++;
        if (got[k] < min[k]) {
            test_failures++;
            fprintf(stderr, "%s %s: %s %.3f under the threshold %.2f\n", backend, provider, names[k], got[k], min[k]);
        }
    }
    CHECK(m.cases >= 60);
}

static int run_backend(const char *backend, const cJSON *cases)
{
    struct err e = {0};
    struct store_migration_info mi;
    struct store_tenant ten = {.id = TEN, .name = "Ciclo Verde"};
    struct assistant_config cfg;
    struct arena *a = arena_new();

    if (db_setup(backend, "cases") != 0)
        return -1;
    if (store_migrate(T.db, &mi, &e) != 0 || store_tenant_create(T.db, &ten, &e) != 0 || load_kb() != 0 ||
        load_config(&cfg, a) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        db_teardown();
        arena_free(a);
        return -1;
    }
    run_suite(backend, "extractive", &cfg, cases, min_extractive);
    fake_mode(&llm, "{\"mode\":\"grounded\",\"answer\":null,\"fail_times\":null,\"requests\":[]}");
    cfg.provider_kind = "openai";
    cfg.base_url = base_url;
    cfg.model = "fake-grounded";
    run_suite(backend, "llm", &cfg, cases, min_llm);
    db_teardown();
    arena_free(a);
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (crypto_init() != 0)
        return 1;
    cJSON *cases = load_cases();
    if (fake_start(&llm, "fake_llm.py", NULL) != 0) {
        fprintf(stderr, "could not start tests/fakes/fake_llm.py\n");
        return 1;
    }
    snprintf(base_url, sizeof base_url, "%s/v1", llm.base);
    int rc = run_backend("sqlite", cases);
    const char *pg = getenv("SB_TEST_PG_URL");
    if (rc == 0 && pg && *pg)
        rc = run_backend("postgres", cases);
    fake_stop(&llm);
    cJSON_Delete(cases);
    curl_global_cleanup();
    if (rc)
        return 1;
    TEST_DONE();
}
