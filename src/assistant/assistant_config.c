/*
 * assistant_config: the tenant's agent configuration (see assistant.h):
 * its defaults, the JSON document, versions, diff and rollback.
 *
 * A parse starts from a deep copy of the base (or the defaults) in the new
 * config's arena and lets the document override it member by member:
 * objects merge, arrays replace. Every member is checked where it is read,
 * so an error names the first bad path. The canonical writer prints every
 * field in the header's order with doubles that read back bit for bit, so
 * parse(json(c)) == c and two canonical texts of equal configs are equal.
 * The API key is never in a document: it is a sealed tenant secret, and
 * api_key_set only says whether one existed when the version was saved.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"
#include "ops/ops.h"

const char *const assistant_channel_names[ASSISTANT_CH_COUNT] = {"sms",       "whatsapp", "telegram",
                                                                 "instagram", "email",    "webchat"};

int assistant_channel_index(const char *channel)
{
    for (int i = 0; channel && i < ASSISTANT_CH_COUNT; i++)
        if (strcmp(channel, assistant_channel_names[i]) == 0)
            return i;
    return -1;
}

static const char *const default_languages[] = {"en"};
static const char *const default_emergency[] = {
    "emergency", "chest pain", "can't breathe", "cannot breathe", "not breathing", "unconscious",
    "overdose",  "suicide",    "kill myself",   "bleeding heavily", "emergencia",  "no puedo respirar",
    "dolor en el pecho", "inconsciente", "sobredosis", "suicidio"};

void assistant_config_default(struct assistant_config *out)
{
    static const int max_length[ASSISTANT_CH_COUNT] = {320, 1000, 1000, 1000, 4000, 1000};
    memset(out, 0, sizeof *out);
    out->enabled = 0;
    out->name = "Assistant";
    out->persona = "";
    out->tone = "friendly";
    out->kb_only = 1;
    out->unknown_answer = "I'm not sure about that. A person from our team will reply soon.";
    out->languages = default_languages;
    out->nlanguages = 1;
    for (int i = 0; i < ASSISTANT_CH_COUNT; i++)
        out->channels[i] = i != ASSISTANT_CH_EMAIL;
    out->hours_always = 1;
    for (int d = 1; d <= 5; d++)
        out->days[d] = 1;
    out->start_min = 9 * 60;
    out->end_min = 17 * 60;
    out->mode = ASSISTANT_MODE_DRAFT;
    out->auto_threshold = 0.75;
    out->intent_threshold = 0.3;
    out->emergency_phrases = default_emergency;
    out->nemergency = (int)(sizeof default_emergency / sizeof *default_emergency);
    out->provider_kind = "extractive";
    out->base_url = "";
    out->model = "";
    out->forbid_legal = 1;
    out->forbid_medical = 1;
    memcpy(out->max_length, max_length, sizeof max_length);
    out->on_call_contact_id = "";
    out->on_call_account_id = "";
    out->draft_escalate_after_s = 900;
    out->log_retention_days = 30;
}

void assistant_config_free(struct assistant_config *c)
{
    if (!c)
        return;
    arena_free(c->arena);
    memset(c, 0, sizeof *c);
}

const char *assistant_mode_name(enum assistant_mode m)
{
    switch (m) {
    case ASSISTANT_MODE_AUTO: return "auto";
    case ASSISTANT_MODE_THRESHOLD: return "threshold";
    case ASSISTANT_MODE_DRAFT: return "draft";
    default: return "";
    }
}

enum assistant_mode assistant_config_mode(const struct assistant_config *c, const char *intent)
{
    for (int i = 0; intent && i < c->nintents; i++)
        if (c->intents[i].name && strcmp(c->intents[i].name, intent) == 0 &&
            c->intents[i].mode != ASSISTANT_MODE_INHERIT)
            return c->intents[i].mode;
    return c->mode;
}

/* ------------------------------------------------------------ parsing */

#define NAME_MAX_LEN 64
#define TEXT_MAX 4000      /* persona */
#define SHORT_MAX 200      /* identity name, tone, phrases */
#define ANSWER_MAX 1000    /* unknown_answer */
#define MODEL_MAX 127      /* fits struct assistant_turn.model */
#define URL_MAX 500
#define PRICE_MAX 1000000000000LL /* micros per 1k tokens: a million currency units */

static const char *const actions[] = {"answer", "handover", "collect", "book", "emergency"};
#define NACTIONS ((int)(sizeof actions / sizeof *actions))

/* The state of one parse: out's arena for what stays, tmp for paths. */
struct pctx {
    struct arena *a;
    struct arena *tmp;
    struct err *e;
    int trusted;                  /* a stored document: api_key_set is taken */
    struct assistant_config_intent *intent; /* the intent being read */
};

static int bad(struct pctx *p, const char *path, const char *msg)
{
    return err_set(p->e, ERR_INVALID, "invalid_config", "%s: %s", *path ? path : "config", msg);
}

static const char *key_path(struct pctx *p, const char *path, const char *key)
{
    return *path ? arena_printf(p->tmp, "%s.%s", path, key) : key;
}

static const char *index_path(struct pctx *p, const char *path, int i)
{
    return arena_printf(p->tmp, "%s[%d]", path, i);
}

/* Refuse a member name seen earlier in the same object (cJSON keeps both). */
static int check_dup(struct pctx *p, const cJSON *obj, const cJSON *item, const char *kp)
{
    for (const cJSON *c = obj->child; c && c != item; c = c->next)
        if (c->string && strcmp(c->string, item->string) == 0)
            return bad(p, kp, "duplicate field");
    return 0;
}

static int get_bool(struct pctx *p, const cJSON *v, const char *path, int *out)
{
    if (!cJSON_IsBool(v))
        return bad(p, path, "must be true or false");
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

static int get_int(struct pctx *p, const cJSON *v, const char *path, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)min ||
        v->valuedouble > (double)max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be an integer from %lld to %lld", (long long)min, (long long)max);
        return bad(p, path, msg);
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_unit(struct pctx *p, const cJSON *v, const char *path, double *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0))
        return bad(p, path, "must be a number from 0 to 1");
    *out = v->valuedouble;
    return 0;
}

/* Text: valid UTF-8, no control characters (newline too when nl). */
int assistant__config_text_ok(const char *s, size_t len, int nl)
{
    if (!assistant__utf8_valid(s, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && !(nl && ch == '\n')) || ch == 0x7f)
            return 0;
    }
    return 1;
}

static int get_str(struct pctx *p, const cJSON *v, const char *path, size_t min, size_t max, int nl,
                   const char **out)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s)
        return bad(p, path, "must be a string");
    size_t len = strlen(s);
    if (len < min || len > max) {
        char msg[80];
        snprintf(msg, sizeof msg, "must be %zu to %zu bytes", min, max);
        return bad(p, path, msg);
    }
    if (!assistant__config_text_ok(s, len, nl))
        return bad(p, path, nl ? "must be UTF-8 text without control characters other than newline"
                               : "must be UTF-8 text without control characters");
    *out = arena_strdup(p->a, s);
    return 0;
}

/* One of choices; *out points at the static choice. */
static int get_choice(struct pctx *p, const cJSON *v, const char *path, const char *const *choices, int n,
                      const char *what, const char **out)
{
    const char *s = cJSON_GetStringValue(v);
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, choices[i]) == 0) {
            *out = choices[i];
            return 0;
        }
    return bad(p, path, what);
}

static int get_mode(struct pctx *p, const cJSON *v, const char *path, int inherit_ok, enum assistant_mode *out)
{
    static const char *const modes[] = {"", "auto", "threshold", "draft"}; /* by enum assistant_mode */
    const char *s = cJSON_GetStringValue(v);
    for (int i = inherit_ok ? 0 : 1; s && i < 4; i++)
        if (strcmp(s, modes[i]) == 0) {
            *out = (enum assistant_mode)i;
            return 0;
        }
    return bad(p, path, inherit_ok ? "must be one of \"\", auto, threshold, draft"
                                   : "must be one of auto, threshold, draft");
}

/* An array of 0..max strings of min..max_len bytes, no two equal. */
static int get_list(struct pctx *p, const cJSON *v, const char *path, int max, size_t min_len, size_t max_len,
                    const char *const **out, int *nout)
{
    if (!cJSON_IsArray(v))
        return bad(p, path, "must be an array of strings");
    int n = cJSON_GetArraySize(v), i = 0;
    if (n > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "at most %d items", max);
        return bad(p, path, msg);
    }
    const char **arr = arena_alloc(p->a, (size_t)(n ? n : 1) * sizeof(*arr));
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        const char *ip = index_path(p, path, i);
        if (get_str(p, it, ip, min_len, max_len, 0, &arr[i]))
            return ERR_INVALID;
        for (int j = 0; j < i; j++)
            if (strcmp(arr[j], arr[i]) == 0)
                return bad(p, ip, "duplicate item");
        i++;
    }
    *out = arr;
    *nout = n;
    return 0;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= NAME_MAX_LEN && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* "HH:MM" into minutes after midnight. */
static int get_time(struct pctx *p, const cJSON *v, const char *path, int *out)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s || strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return bad(p, path, "must be a time HH:MM");
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return bad(p, path, "must be a time HH:MM from 00:00 to 23:59");
    *out = h * 60 + m;
    return 0;
}

static int url_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return 1;
    size_t pre = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (!pre || n == pre || s[pre] == '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* The members of object v, each handed to fn with its path; unknown
 * members are refused by fn returning 1. */
typedef int (*member_fn)(struct pctx *p, struct assistant_config *c, const char *key, const cJSON *v,
                         const char *path);

static int walk(struct pctx *p, struct assistant_config *c, const cJSON *v, const char *path, member_fn fn)
{
    const cJSON *it;
    if (!cJSON_IsObject(v))
        return bad(p, path, "must be an object");
    cJSON_ArrayForEach(it, v)
    {
        const char *kp = key_path(p, path, it->string);
        int rc;
        if (check_dup(p, v, it, kp))
            return ERR_INVALID;
        if ((rc = fn(p, c, it->string, it, kp)) < 0)
            return rc;
        if (rc > 0)
            return bad(p, kp, "unknown field");
    }
    return 0;
}

static int m_identity(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    if (strcmp(k, "name") == 0)
        return get_str(p, v, kp, 1, SHORT_MAX, 0, &c->name);
    if (strcmp(k, "persona") == 0)
        return get_str(p, v, kp, 0, TEXT_MAX, 1, &c->persona);
    if (strcmp(k, "tone") == 0)
        return get_str(p, v, kp, 0, SHORT_MAX, 0, &c->tone);
    return 1;
}

static int m_grounding(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    if (strcmp(k, "kb_only") == 0)
        return get_bool(p, v, kp, &c->kb_only);
    if (strcmp(k, "unknown_answer") == 0)
        return get_str(p, v, kp, 1, ANSWER_MAX, 1, &c->unknown_answer);
    return 1;
}

static int m_channels(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    int i = assistant_channel_index(k);
    return i < 0 ? 1 : get_bool(p, v, kp, &c->channels[i]);
}

static int m_max_length(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    int i = assistant_channel_index(k);
    int64_t n;
    if (i < 0)
        return 1;
    if (get_int(p, v, kp, 1, 10000, &n))
        return ERR_INVALID;
    c->max_length[i] = (int)n;
    return 0;
}

static int m_hours(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    if (strcmp(k, "always") == 0)
        return get_bool(p, v, kp, &c->hours_always);
    if (strcmp(k, "start") == 0)
        return get_time(p, v, kp, &c->start_min);
    if (strcmp(k, "end") == 0)
        return get_time(p, v, kp, &c->end_min);
    if (strcmp(k, "days") != 0)
        return 1;
    if (!cJSON_IsArray(v))
        return bad(p, kp, "must be an array of ISO weekdays (1 = Monday to 7 = Sunday)");
    int days[8] = {0}, i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        const char *ip = index_path(p, kp, i++);
        int64_t d;
        if (get_int(p, it, ip, 1, 7, &d))
            return ERR_INVALID;
        if (days[d])
            return bad(p, ip, "duplicate day");
        days[d] = 1;
    }
    memcpy(c->days, days, sizeof days);
    return 0;
}

static int m_provider(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    static const char *const kinds[] = {"extractive", "openai"};
    int64_t n;
    if (strcmp(k, "kind") == 0)
        return get_choice(p, v, kp, kinds, 2, "must be one of extractive, openai", &c->provider_kind);
    if (strcmp(k, "base_url") == 0) {
        if (get_str(p, v, kp, 0, URL_MAX, 0, &c->base_url))
            return ERR_INVALID;
        return url_ok(c->base_url) ? 0 : bad(p, kp, "must be an http(s) URL or empty");
    }
    if (strcmp(k, "model") == 0)
        return get_str(p, v, kp, 0, MODEL_MAX, 0, &c->model);
    if (strcmp(k, "api_key_set") == 0) {
        /* Read-only: what the client sends is ignored; a stored document says
         * what was true when it was saved. */
        int set;
        if (!p->trusted)
            return 0;
        if (get_bool(p, v, kp, &set))
            return ERR_INVALID;
        c->api_key_set = set;
        return 0;
    }
    if (strcmp(k, "prompt_price_per_1k") == 0 || strcmp(k, "completion_price_per_1k") == 0) {
        if (get_int(p, v, kp, 0, PRICE_MAX, &n))
            return ERR_INVALID;
        *(k[0] == 'p' ? &c->prompt_price_per_1k : &c->completion_price_per_1k) = n;
        return 0;
    }
    return 1;
}

static int m_safety(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    if (strcmp(k, "forbid_prices") == 0)
        return get_bool(p, v, kp, &c->forbid_prices);
    if (strcmp(k, "forbid_legal") == 0)
        return get_bool(p, v, kp, &c->forbid_legal);
    if (strcmp(k, "forbid_medical") == 0)
        return get_bool(p, v, kp, &c->forbid_medical);
    if (strcmp(k, "forbidden_phrases") == 0)
        return get_list(p, v, kp, ASSISTANT_CFG_LIST_MAX, 1, SHORT_MAX, &c->forbidden_phrases, &c->nforbidden);
    if (strcmp(k, "max_length") == 0)
        return walk(p, c, v, kp, m_max_length);
    return 1;
}

static int m_handover(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    int64_t n;
    if (strcmp(k, "on_call_contact_id") == 0)
        return get_str(p, v, kp, 0, CORE_ID_MAX - 1, 0, &c->on_call_contact_id);
    if (strcmp(k, "on_call_account_id") == 0)
        return get_str(p, v, kp, 0, CORE_ID_MAX - 1, 0, &c->on_call_account_id);
    if (strcmp(k, "draft_escalate_after_s") == 0) {
        if (get_int(p, v, kp, 0, 604800, &n))
            return ERR_INVALID;
        c->draft_escalate_after_s = n;
        return 0;
    }
    return 1;
}

static int m_intent(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    struct assistant_config_intent *in = p->intent;
    (void)c;
    if (strcmp(k, "name") == 0) {
        const char *s = cJSON_GetStringValue(v);
        if (!s || !name_ok(s))
            return bad(p, kp, "must be 1 to 64 characters of a-z, 0-9 and _");
        in->name = arena_strdup(p->a, s);
        return 0;
    }
    if (strcmp(k, "examples") == 0)
        return get_list(p, v, kp, ASSISTANT_CFG_EXAMPLES_MAX, 1, 300, &in->examples, &in->nexamples);
    if (strcmp(k, "action") == 0)
        return get_choice(p, v, kp, actions, NACTIONS, "must be one of answer, handover, collect, book, emergency",
                          &in->action);
    if (strcmp(k, "mode") == 0)
        return get_mode(p, v, kp, 1, &in->mode);
    if (strcmp(k, "model") == 0)
        return get_str(p, v, kp, 0, MODEL_MAX, 0, &in->model);
    return 1;
}

static int get_intents(struct pctx *p, struct assistant_config *c, const cJSON *v, const char *path)
{
    if (!cJSON_IsArray(v))
        return bad(p, path, "must be an array of intents");
    int n = cJSON_GetArraySize(v), i = 0;
    if (n > ASSISTANT_CFG_INTENTS_MAX)
        return bad(p, path, "at most 32 intents");
    struct assistant_config_intent *arr = arena_alloc(p->a, (size_t)(n ? n : 1) * sizeof(*arr));
    const cJSON *it;
    c->intents = arr;
    c->nintents = 0;
    cJSON_ArrayForEach(it, v)
    {
        const char *ip = index_path(p, path, i);
        struct assistant_config_intent *in = &arr[i];
        in->examples = NULL;
        in->action = actions[0];
        in->mode = ASSISTANT_MODE_INHERIT;
        in->model = "";
        p->intent = in;
        if (walk(p, c, it, ip, m_intent))
            return ERR_INVALID;
        if (!in->name)
            return bad(p, key_path(p, ip, "name"), "required");
        if (!in->examples)
            in->examples = arena_alloc(p->a, sizeof(*in->examples));
        for (int j = 0; j < i; j++)
            if (strcmp(arr[j].name, in->name) == 0)
                return bad(p, key_path(p, ip, "name"), "another intent has this name");
        c->nintents = ++i;
    }
    return 0;
}

static int m_top(struct pctx *p, struct assistant_config *c, const char *k, const cJSON *v, const char *kp)
{
    static const char *const langs[] = {"en", "es"};
    if (strcmp(k, "enabled") == 0)
        return get_bool(p, v, kp, &c->enabled);
    if (strcmp(k, "identity") == 0)
        return walk(p, c, v, kp, m_identity);
    if (strcmp(k, "grounding") == 0)
        return walk(p, c, v, kp, m_grounding);
    if (strcmp(k, "languages") == 0) {
        if (get_list(p, v, kp, 2, 1, SHORT_MAX, &c->languages, &c->nlanguages))
            return ERR_INVALID;
        if (c->nlanguages == 0)
            return bad(p, kp, "at least one language");
        for (int i = 0; i < c->nlanguages; i++) {
            const char *l;
            if (get_choice(p, cJSON_GetArrayItem(v, i), index_path(p, kp, i), langs, 2, "must be en or es", &l))
                return ERR_INVALID;
        }
        return 0;
    }
    if (strcmp(k, "channels") == 0)
        return walk(p, c, v, kp, m_channels);
    if (strcmp(k, "working_hours") == 0)
        return walk(p, c, v, kp, m_hours);
    if (strcmp(k, "mode") == 0)
        return get_mode(p, v, kp, 0, &c->mode);
    if (strcmp(k, "auto_threshold") == 0)
        return get_unit(p, v, kp, &c->auto_threshold);
    if (strcmp(k, "intent_threshold") == 0)
        return get_unit(p, v, kp, &c->intent_threshold);
    if (strcmp(k, "intents") == 0)
        return get_intents(p, c, v, kp);
    if (strcmp(k, "emergency_phrases") == 0)
        return get_list(p, v, kp, ASSISTANT_CFG_LIST_MAX, 1, SHORT_MAX, &c->emergency_phrases, &c->nemergency);
    if (strcmp(k, "provider") == 0)
        return walk(p, c, v, kp, m_provider);
    if (strcmp(k, "safety") == 0)
        return walk(p, c, v, kp, m_safety);
    if (strcmp(k, "handover") == 0)
        return walk(p, c, v, kp, m_handover);
    if (strcmp(k, "log_retention_days") == 0) {
        int64_t n;
        if (get_int(p, v, kp, 1, 3650, &n))
            return ERR_INVALID;
        c->log_retention_days = (int)n;
        return 0;
    }
    return 1;
}

static const char *dup(struct arena *a, const char *s)
{
    return arena_strdup(a, s ? s : "");
}

static const char *const *dup_list(struct arena *a, const char *const *v, int n)
{
    const char **out = arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*out));
    for (int i = 0; i < n; i++)
        out[i] = dup(a, v[i]);
    return out;
}

/* src with every string and array copied into a (so base may go away). */
void assistant__config_copy(struct arena *a, struct assistant_config *dst, const struct assistant_config *src)
{
    *dst = *src;
    dst->arena = a;
    dst->name = dup(a, src->name);
    dst->persona = dup(a, src->persona);
    dst->tone = dup(a, src->tone);
    dst->unknown_answer = dup(a, src->unknown_answer);
    dst->languages = dup_list(a, src->languages, src->nlanguages);
    dst->emergency_phrases = dup_list(a, src->emergency_phrases, src->nemergency);
    dst->forbidden_phrases = dup_list(a, src->forbidden_phrases, src->nforbidden);
    dst->provider_kind = dup(a, src->provider_kind);
    dst->base_url = dup(a, src->base_url);
    dst->model = dup(a, src->model);
    dst->on_call_contact_id = dup(a, src->on_call_contact_id);
    dst->on_call_account_id = dup(a, src->on_call_account_id);
    struct assistant_config_intent *in = arena_alloc(a, (size_t)(src->nintents > 0 ? src->nintents : 1) * sizeof(*in));
    for (int i = 0; i < src->nintents; i++) {
        const struct assistant_config_intent *s = &src->intents[i];
        in[i].name = dup(a, s->name);
        in[i].examples = dup_list(a, s->examples, s->nexamples);
        in[i].nexamples = s->nexamples;
        in[i].action = dup(a, s->action);
        in[i].mode = s->mode;
        in[i].model = dup(a, s->model);
    }
    dst->intents = in;
}

/* The rules across fields, after the merge. */
static int check_whole(struct pctx *p, const struct assistant_config *c)
{
    if (strcmp(c->provider_kind, "openai") == 0) {
        if (!*c->base_url)
            return bad(p, "provider.base_url", "required when provider.kind is openai");
        if (!*c->model)
            return bad(p, "provider.model", "required when provider.kind is openai");
    }
    return 0;
}

int assistant__config_parse_doc(const char *json, size_t len, const struct assistant_config *base, int trusted,
                                struct assistant_config *out, struct err *e)
{
    struct assistant_config def;
    struct pctx p = {arena_new(), arena_new(), e, trusted, NULL};
    cJSON *root = NULL;
    struct err je = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    if (!base) {
        assistant_config_default(&def);
        base = &def;
    }
    assistant__config_copy(p.a, out, base);
    if ((rc = json_parse(&root, json, len, &je))) {
        rc = err_set(e, ERR_INVALID, "invalid_config", "config: %s", je.msg);
        goto out;
    }
    if ((rc = walk(&p, out, root, "", m_top)) || (rc = check_whole(&p, out)))
        goto out;
out:
    cJSON_Delete(root);
    arena_free(p.tmp);
    if (rc)
        assistant_config_free(out);
    return rc;
}

int assistant_config_parse(const char *json, size_t len, const struct assistant_config *base,
                           struct assistant_config *out, struct err *e)
{
    return assistant__config_parse_doc(json, len, base, 0, out, e);
}

/* -------------------------------------------------------- canonical JSON */

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void put_double(struct buf *b, double d)
{
    char s[40];
    snprintf(s, sizeof s, "%.15g", d);
    if (strtod(s, NULL) != d)
        snprintf(s, sizeof s, "%.17g", d);
    buf_puts(b, s);
}

static void put_bool(struct buf *b, const char *key, int v)
{
    buf_json_str(b, key);
    buf_puts(b, v ? ":true" : ":false");
}

static void put_str(struct buf *b, const char *key, const char *v)
{
    buf_json_str(b, key);
    buf_putc(b, ':');
    buf_json_str(b, v ? v : "");
}

static void put_list(struct buf *b, const char *key, const char *const *v, int n)
{
    buf_json_str(b, key);
    buf_puts(b, ":[");
    for (int i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        buf_json_str(b, v[i] ? v[i] : "");
    }
    buf_putc(b, ']');
}

void assistant_config_json(const struct assistant_config *c, struct buf *b)
{
    buf_puts(b, "{");
    put_bool(b, "enabled", c->enabled);
    buf_puts(b, ",\"identity\":{");
    put_str(b, "name", c->name);
    buf_putc(b, ',');
    put_str(b, "persona", c->persona);
    buf_putc(b, ',');
    put_str(b, "tone", c->tone);
    buf_puts(b, "},\"grounding\":{");
    put_bool(b, "kb_only", c->kb_only);
    buf_putc(b, ',');
    put_str(b, "unknown_answer", c->unknown_answer);
    buf_puts(b, "},");
    put_list(b, "languages", c->languages, c->nlanguages);
    buf_puts(b, ",\"channels\":{");
    for (int i = 0; i < ASSISTANT_CH_COUNT; i++) {
        if (i)
            buf_putc(b, ',');
        put_bool(b, assistant_channel_names[i], c->channels[i]);
    }
    buf_puts(b, "},\"working_hours\":{");
    put_bool(b, "always", c->hours_always);
    buf_puts(b, ",\"days\":[");
    for (int d = 1, n = 0; d <= 7; d++)
        if (c->days[d])
            buf_printf(b, "%s%d", n++ ? "," : "", d);
    buf_printf(b, "],\"start\":\"%02d:%02d\",\"end\":\"%02d:%02d\"},", c->start_min / 60, c->start_min % 60,
               c->end_min / 60, c->end_min % 60);
    put_str(b, "mode", assistant_mode_name(c->mode));
    buf_puts(b, ",\"auto_threshold\":");
    put_double(b, c->auto_threshold);
    buf_puts(b, ",\"intent_threshold\":");
    put_double(b, c->intent_threshold);
    buf_puts(b, ",\"intents\":[");
    for (int i = 0; i < c->nintents; i++) {
        const struct assistant_config_intent *in = &c->intents[i];
        buf_puts(b, i ? ",{" : "{");
        put_str(b, "name", in->name);
        buf_putc(b, ',');
        put_list(b, "examples", in->examples, in->nexamples);
        buf_putc(b, ',');
        put_str(b, "action", in->action && *in->action ? in->action : "answer");
        buf_putc(b, ',');
        put_str(b, "mode", assistant_mode_name(in->mode));
        buf_putc(b, ',');
        put_str(b, "model", in->model);
        buf_putc(b, '}');
    }
    buf_puts(b, "],");
    put_list(b, "emergency_phrases", c->emergency_phrases, c->nemergency);
    buf_puts(b, ",\"provider\":{");
    put_str(b, "kind", c->provider_kind && *c->provider_kind ? c->provider_kind : "extractive");
    buf_putc(b, ',');
    put_str(b, "base_url", c->base_url);
    buf_putc(b, ',');
    put_str(b, "model", c->model);
    buf_putc(b, ',');
    put_bool(b, "api_key_set", c->api_key_set);
    buf_printf(b, ",\"prompt_price_per_1k\":%lld,\"completion_price_per_1k\":%lld},",
               (long long)c->prompt_price_per_1k, (long long)c->completion_price_per_1k);
    buf_puts(b, "\"safety\":{");
    put_bool(b, "forbid_prices", c->forbid_prices);
    buf_putc(b, ',');
    put_bool(b, "forbid_legal", c->forbid_legal);
    buf_putc(b, ',');
    put_bool(b, "forbid_medical", c->forbid_medical);
    buf_putc(b, ',');
    put_list(b, "forbidden_phrases", c->forbidden_phrases, c->nforbidden);
    buf_puts(b, ",\"max_length\":{");
    for (int i = 0; i < ASSISTANT_CH_COUNT; i++)
        buf_printf(b, "%s\"%s\":%d", i ? "," : "", assistant_channel_names[i], c->max_length[i]);
    buf_puts(b, "}},\"handover\":{");
    put_str(b, "on_call_contact_id", c->on_call_contact_id);
    buf_putc(b, ',');
    put_str(b, "on_call_account_id", c->on_call_account_id);
    buf_printf(b, ",\"draft_escalate_after_s\":%lld},\"log_retention_days\":%d}", (long long)c->draft_escalate_after_s,
               c->log_retention_days);
}

/* ---------------------------------------------------------------- diff */

struct diff {
    struct buf *out;
    struct buf path;
    int n;
    int paths_only;               /* a JSON array of path strings (the audit's) */
};

static void diff_emit(struct diff *d, const cJSON *a, const cJSON *b)
{
    if (d->n++)
        buf_putc(d->out, ',');
    if (d->paths_only) {
        buf_json_str(d->out, d->path.data ? d->path.data : "");
        return;
    }
    buf_puts(d->out, "{\"path\":");
    buf_json_str(d->out, d->path.data ? d->path.data : "");
    for (int side = 0; side < 2; side++) {
        const cJSON *v = side ? b : a;
        buf_puts(d->out, side ? ",\"to\":" : ",\"from\":");
        if (!v) {
            buf_puts(d->out, "null");
            continue;
        }
        char *s = json_print(v);
        buf_puts(d->out, s);
        free(s);
    }
    buf_putc(d->out, '}');
}

static void diff_walk(struct diff *d, const cJSON *a, const cJSON *b)
{
    size_t mark = d->path.len;
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        const cJSON *x;
        for (int side = 0; side < 2; side++) {
            const cJSON *walked = side ? b : a, *other = side ? a : b;
            cJSON_ArrayForEach(x, walked)
            {
                const cJSON *y = cJSON_GetObjectItemCaseSensitive(other, x->string);
                if (side && y)
                    continue; /* seen from a */
                if (mark)
                    buf_putc(&d->path, '.');
                buf_puts(&d->path, x->string);
                if (side)
                    diff_emit(d, NULL, x);
                else if (y)
                    diff_walk(d, x, y);
                else
                    diff_emit(d, x, NULL);
                d->path.len = mark;
                d->path.data[mark] = '\0';
            }
        }
        return;
    }
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
        const cJSON *x = a->child, *y = b->child;
        for (int i = 0; i < na || i < nb; i++) {
            buf_printf(&d->path, "[%d]", i);
            if (x && y)
                diff_walk(d, x, y);
            else
                diff_emit(d, x, y);
            d->path.len = mark;
            d->path.data[mark] = '\0';
            x = x ? x->next : NULL;
            y = y ? y->next : NULL;
        }
        return;
    }
    if (!cJSON_Compare(a, b, 1))
        diff_emit(d, a, b);
}

int assistant__config_diff_docs(const char *a, const char *b, int paths_only, struct buf *out, struct err *e)
{
    cJSON *ja = NULL, *jb = NULL;
    struct diff d = {out, {0}, 0, paths_only};
    int rc;
    if ((rc = json_parse(&ja, a, a ? strlen(a) : 0, e)) || (rc = json_parse(&jb, b, b ? strlen(b) : 0, e)))
        goto out;
    buf_putc(out, '[');
    diff_walk(&d, ja, jb);
    buf_putc(out, ']');
out:
    buf_free(&d.path);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return rc;
}

int assistant_config_diff(const char *a, const char *b, struct buf *out, struct err *e)
{
    return assistant__config_diff_docs(a, b, 0, out, e);
}
