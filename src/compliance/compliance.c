/*
 * compliance: carrier keywords, the opt-out list and the send gate.
 *
 * The keyword lists are the carriers' and Twilio's defaults (PROVIDERS.md):
 * they are matched on the whole message only, so ordinary replies that
 * merely contain "stop" never opt anyone out. The gate is a pure function
 * of facts the caller gathered, so every outbound path decides the same way:
 * opt-outs and suppressions first, then transactional-only channels (no
 * campaigns on Instagram), templates, and the customer service window with
 * its human-agent extension.
 */
#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "compliance/compliance.h"

static const struct {
    const char *word;
    enum compliance_keyword kind;
} compliance_words[] = {
    {"STOP", COMPLIANCE_STOP},        {"STOPALL", COMPLIANCE_STOP}, {"UNSUBSCRIBE", COMPLIANCE_STOP},
    {"CANCEL", COMPLIANCE_STOP},      {"END", COMPLIANCE_STOP},     {"QUIT", COMPLIANCE_STOP},
    {"REVOKE", COMPLIANCE_STOP},      {"OPTOUT", COMPLIANCE_STOP},  {"START", COMPLIANCE_START},
    {"YES", COMPLIANCE_START},        {"UNSTOP", COMPLIANCE_START}, {"HELP", COMPLIANCE_HELP},
    {"INFO", COMPLIANCE_HELP},
};

static struct compliance_keywords defaults; /* the carriers', built once */
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;
static void defaults_init(void);

static const char *const kind_names[] = {NULL, "stop", "start", "help"};

void compliance_keywords_default(struct compliance_keywords *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(compliance_words) / sizeof(compliance_words[0]); i++) {
        int k = (int)compliance_words[i].kind;
        snprintf(out->words[k][out->n[k]++], COMPLIANCE_KW_LEN, "%s", compliance_words[i].word);
    }
}

static void defaults_init(void)
{
    compliance_keywords_default(&defaults);
}

/* A keyword: 1 to 31 bytes of letters and digits (UTF-8 letters too: the
 * bytes of a multi-byte character), stored upper-cased (ASCII). */
static int keyword_valid(const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n >= COMPLIANCE_KW_LEN)
        return 0;
    for (const char *p = w; *p; p++)
        if (!isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
            return 0;
    return 1;
}

int compliance_keywords_parse(struct compliance_keywords *out, const char *json, struct err *e)
{
    cJSON *root = NULL;
    const cJSON *it;
    int rc = 0;

    compliance_keywords_default(out);
    if (json_parse(&root, json ? json : "", json ? strlen(json) : 0, e) != 0) {
        rc = err_set(e, ERR_INVALID, "invalid_keywords", "keywords must be a JSON object");
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = err_set(e, ERR_INVALID, "invalid_keywords", "keywords must be an object of stop, start and help lists");
        goto out;
    }
    cJSON_ArrayForEach(it, root) {
        int k = 0;
        for (int i = 1; i <= 3; i++)
            if (it->string && strcmp(it->string, kind_names[i]) == 0)
                k = i;
        if (!k) {
            rc = err_set(e, ERR_INVALID, "invalid_keywords", "unknown keyword kind '%.32s' (stop, start, help)",
                         it->string ? it->string : "");
            goto out;
        }
        if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > COMPLIANCE_KW_MAX) {
            rc = err_set(e, ERR_INVALID, "invalid_keywords", "%s must be a list of at most %d words", kind_names[k],
                         COMPLIANCE_KW_MAX);
            goto out;
        }
        out->n[k] = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, it) {
            if (!cJSON_IsString(w) || !keyword_valid(w->valuestring)) {
                rc = err_set(e, ERR_INVALID, "invalid_keywords",
                             "%s: every keyword is one word of 1 to %d letters or digits", kind_names[k],
                             COMPLIANCE_KW_LEN - 1);
                goto out;
            }
            char *dst = out->words[k][out->n[k]++];
            snprintf(dst, COMPLIANCE_KW_LEN, "%s", w->valuestring);
            for (char *p = dst; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        }
    }
    if (out->n[COMPLIANCE_STOP] == 0) {
        rc = err_set(e, ERR_INVALID, "invalid_keywords", "stop needs at least one keyword: a customer must be able "
                                                         "to opt out");
        goto out;
    }
    /* One word, one meaning. */
    for (int a = 1; a <= 3; a++)
        for (int i = 0; i < out->n[a]; i++)
            for (int b = 1; b <= 3; b++)
                for (int j = 0; j < out->n[b]; j++)
                    if ((a != b || i != j) && strcasecmp(out->words[a][i], out->words[b][j]) == 0) {
                        rc = err_set(e, ERR_INVALID, "invalid_keywords", "keyword '%s' is listed twice",
                                     out->words[a][i]);
                        goto out;
                    }
out:
    cJSON_Delete(root);
    if (rc)
        compliance_keywords_default(out);
    return rc;
}

void compliance_keywords_json(struct buf *b, const struct compliance_keywords *k)
{
    buf_putc(b, '{');
    for (int i = 1; i <= 3; i++) {
        buf_puts(b, i > 1 ? ",\"" : "\"");
        buf_puts(b, kind_names[i]);
        buf_puts(b, "\":[");
        for (int j = 0; j < k->n[i]; j++) {
            if (j)
                buf_putc(b, ',');
            buf_json_str(b, k->words[i][j]);
        }
        buf_putc(b, ']');
    }
    buf_putc(b, '}');
}

enum compliance_keyword compliance_keyword_match(const struct compliance_keywords *kw, const char *text, char *word,
                                                 size_t wordlen)
{
    const char *s = text ? text : "", *end;
    size_t n;

    if (word && wordlen)
        word[0] = '\0';
    if (!kw) {
        pthread_once(&defaults_once, defaults_init);
        kw = &defaults;
    }
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && (isspace((unsigned char)end[-1]) || end[-1] == '.' || end[-1] == '!'))
        end--;
    n = (size_t)(end - s);
    if (n == 0 || n >= COMPLIANCE_KW_LEN)
        return COMPLIANCE_NONE;
    for (int k = 1; k <= 3; k++) {
        for (int i = 0; i < kw->n[k]; i++) {
            if (strlen(kw->words[k][i]) != n || strncasecmp(s, kw->words[k][i], n) != 0)
                continue;
            if (word && wordlen)
                snprintf(word, wordlen, "%s", kw->words[k][i]);
            return (enum compliance_keyword)k;
        }
    }
    return COMPLIANCE_NONE;
}

enum compliance_keyword compliance_keyword(const char *text, char *word, size_t wordlen)
{
    return compliance_keyword_match(NULL, text, word, wordlen);
}

int compliance_opt_out(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                       const char *keyword, const char *source, int64_t now, struct err *e)
{
    struct store_opt_out o;

    memset(&o, 0, sizeof(o));
    if (!account_id || strlen(account_id) >= sizeof(o.account_id) || !address || !*address ||
        strlen(address) >= sizeof(o.address))
        return err_set(e, ERR_INVALID, NULL, "an opt-out needs an account and an address");
    snprintf(o.account_id, sizeof(o.account_id), "%s", account_id);
    snprintf(o.address, sizeof(o.address), "%s", address);
    snprintf(o.keyword, sizeof(o.keyword), "%s", keyword ? keyword : "");
    snprintf(o.source, sizeof(o.source), "%s", source ? source : "manual");
    o.created_at = now;
    return store_opt_out_put(tx, tenant_id, &o, e);
}

int compliance_opt_in(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                      int *out_removed, struct err *e)
{
    return store_opt_out_delete(tx, tenant_id, account_id, address, out_removed, e);
}

int compliance_is_opted_out(struct store *db, const char *tenant_id, const char *account_id, const char *address,
                            int *out, struct err *e)
{
    struct store_opt_out o;
    struct err ignored = {0};
    int rc = store_opt_out_get(db, tenant_id, account_id, address, &o, &ignored);

    *out = 0;
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return err_set(e, rc, ignored.slug[0] ? ignored.slug : NULL, "%s", ignored.msg);
    *out = 1;
    return 0;
}

int compliance_suppress(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                        const char *source, const char *reason, const char *created_by, int64_t now, struct err *e)
{
    struct store_suppression s;

    memset(&s, 0, sizeof(s));
    if (!channel || !*channel || strlen(channel) >= sizeof(s.channel) || !address || !*address ||
        strlen(address) >= sizeof(s.address))
        return err_set(e, ERR_INVALID, "invalid_suppression", "a suppression needs a channel and an address");
    if (!source || strlen(source) >= sizeof(s.source))
        return err_set(e, ERR_INVALID, "invalid_suppression", "a suppression needs a source");
    snprintf(s.tenant_id, sizeof(s.tenant_id), "%s", tenant_id ? tenant_id : "");
    snprintf(s.channel, sizeof(s.channel), "%s", channel);
    snprintf(s.address, sizeof(s.address), "%s", address);
    snprintf(s.reason, sizeof(s.reason), "%s", reason ? reason : "");
    snprintf(s.source, sizeof(s.source), "%s", source);
    snprintf(s.created_by, sizeof(s.created_by), "%s", created_by ? created_by : "");
    s.created_at = now;
    return store_suppression_put(tx, &s, e);
}

int compliance_unblock(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                       int *out_lifted, struct err *e)
{
    return store_suppression_delete_source(tx, tenant_id, channel, address, "blocked", out_lifted, e);
}

int compliance_suppression_find(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                struct store_suppression *out, int *found, struct err *e)
{
    struct err ignored = {0};
    int rc = store_suppression_find(db, tenant_id, channel, address, out, &ignored);

    *found = rc == 0;
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return err_set(e, rc, ignored.slug[0] ? ignored.slug : NULL, "%s", ignored.msg);
    return 0;
}

/* Outside the customer service window: refused, except a person's reply
 * (origin agent) on a channel with a human-agent extension (Instagram's
 * HUMAN_AGENT tag), while the customer's last message is recent enough.
 * The assistant, the API and campaigns never get the extension. */
static int window_closed(const struct compliance_send *s, struct err *e)
{
    long long hours = (long long)(s->window_ms / 3600000), days = (long long)(s->human_agent_window_ms / 86400000);

    if (s->human_agent_window_ms <= 0)
        return err_set(e, ERR_FORBIDDEN, "outside_window",
                       "the customer service window is closed (the customer's last message is over %lld hours "
                       "old or there is none): only an approved template may be sent",
                       hours);
    if (s->last_inbound_at > 0 && s->now - s->last_inbound_at <= s->human_agent_window_ms) {
        if (s->origin && strcmp(s->origin, "agent") == 0)
            return 0; /* sent with the HUMAN_AGENT tag */
        return err_set(e, ERR_FORBIDDEN, "outside_window",
                       "the customer's last message is over %lld hours old: only a person's reply from the inbox "
                       "(HUMAN_AGENT tag, up to %lld days) may be sent, not an automated or API message",
                       hours, days);
    }
    return err_set(e, ERR_FORBIDDEN, "outside_window",
                   "the customer's last message is over %lld days old or there is none: nothing may be sent until "
                   "they write again",
                   days);
}

int compliance_check_send(const struct compliance_send *s, struct err *e)
{
    if (s->opted_out)
        return err_set(e, ERR_FORBIDDEN, "opted_out",
                       "the recipient opted out of this channel account (replied STOP); they must reply START first");
    if (s->suppressed_source && strcmp(s->suppressed_source, "blocked") == 0)
        return err_set(e, ERR_FORBIDDEN, "recipient_blocked", "the recipient blocked this account%s%s",
                       s->suppressed_reason && *s->suppressed_reason ? ": " : "",
                       s->suppressed_reason ? s->suppressed_reason : "");
    if (s->suppressed_source)
        return err_set(e, ERR_FORBIDDEN, "suppressed", "the address is on the suppression list (%s%s%s)",
                       s->suppressed_source, s->suppressed_reason && *s->suppressed_reason ? ": " : "",
                       s->suppressed_reason ? s->suppressed_reason : "");
    if (s->transactional_only && s->origin && strcmp(s->origin, "campaign") == 0)
        return err_set(e, ERR_FORBIDDEN, "transactional_only",
                       "this channel takes conversation replies only: no campaigns or marketing messages");
    if (s->is_template) {
        if (!s->template_status)
            return err_set(e, ERR_INVALID, "template_not_found",
                           "no such template for this channel account (sync templates from the provider first)");
        if (strcmp(s->template_status, "approved") != 0)
            return err_set(e, ERR_FORBIDDEN, "template_not_approved", "the template is %s, not approved",
                           s->template_status);
        return 0;
    }
    if (s->window_ms > 0 && (s->last_inbound_at <= 0 || s->now - s->last_inbound_at > s->window_ms))
        return window_closed(s, e);
    return 0;
}
