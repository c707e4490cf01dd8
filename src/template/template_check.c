/*
 * template_check: what a template may contain, per channel.
 *
 * Identity (channel, name, language, category) and content (body, header,
 * footer, buttons, subject, html) are checked before anything is stored,
 * so a stored version always renders (its placeholders parse) and always
 * fits its channel. The declared variables of a version are derived here:
 * every placeholder of its parts, in first-use order.
 */
#include <stdlib.h>
#include <string.h>

#include "template/template_int.h"

static const struct {
    const char *channel;
    size_t body_max;  /* bytes */
    int buttons;      /* the channel has buttons */
} channels[] = {
    {"sms", 1600, 0},      {"whatsapp", 1024, 1}, {"email", 100000, 0},
    {"telegram", 4096, 1}, {"instagram", 1000, 1}, {"webchat", 4096, 1},
};

#define HEADER_MAX 60       /* Meta's limit for a text header and a footer */
#define TEXT_PART_MAX 1024  /* header and footer elsewhere */
#define SUBJECT_MAX 998     /* RFC 5322 line length */
#define HTML_MAX 200000
#define BUTTONS_MAX 10
#define BUTTON_TEXT_MAX 25
#define REASON_MAX 500

int template__channel_valid(const char *channel)
{
    for (size_t i = 0; channel && i < sizeof(channels) / sizeof(channels[0]); i++)
        if (strcmp(channels[i].channel, channel) == 0)
            return 1;
    return 0;
}

/* An "invalid_template" refusal; a macro so the format is checked. */
#define bad(e, fmt, what) err_set((e), ERR_INVALID, "invalid_template", fmt, what)

int template__check_identity(const struct template_input *in, struct err *e)
{
    const char *p;

    if (!template__channel_valid(in->channel))
        return err_set(e, ERR_INVALID, "invalid_template",
                       "channel must be sms, whatsapp, email, telegram, instagram or webchat");
    if (!in->name || !*in->name || strlen(in->name) > 512)
        return bad(e, "%s must be 1 to 512 characters", "name");
    for (p = in->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return bad(e, "%s may hold only lower-case letters, digits and _ (as Meta requires)", "name");
    /* en, pt_BR, zh_Hant, es-419: a language and an optional region or script. */
    size_t n = in->language ? strlen(in->language) : 0, i = 0;
    while (i < n && ((in->language[i] >= 'a' && in->language[i] <= 'z')))
        i++;
    if (i < 2 || i > 3 || (i < n && (in->language[i] != '_' && in->language[i] != '-')) || (i < n && n - i - 1 < 2) ||
        n > 15)
        return bad(e, "%s must look like en, en_US or pt_BR", "language");
    for (size_t j = i + 1; j < n; j++) {
        char c = in->language[j];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return bad(e, "%s must look like en, en_US or pt_BR", "language");
    }
    if (strcmp(in->channel, "whatsapp") == 0) {
        if (!in->account_id || !*in->account_id)
            return bad(e, "%s is required for WhatsApp templates (Meta keeps them per business account)",
                       "account_id");
        if (in->category && strcmp(in->category, "MARKETING") != 0 && strcmp(in->category, "UTILITY") != 0 &&
            strcmp(in->category, "AUTHENTICATION") != 0)
            return bad(e, "%s must be MARKETING, UTILITY or AUTHENTICATION", "category");
    } else if (in->category && strlen(in->category) > 31) {
        return bad(e, "%s is at most 31 characters", "category");
    }
    return 0;
}

/* WhatsApp: {{1}} … {{n}} only, each number up to the highest used. */
static int check_positional(const char *variables_json, struct err *e)
{
    cJSON *arr = NULL, *it;
    int used[100] = {0}, max = 0, rc = 0;

    if (json_parse(&arr, variables_json, strlen(variables_json), NULL) != 0)
        return err_set(e, ERR_INTERNAL, NULL, "template variables are not JSON");
    cJSON_ArrayForEach(it, arr) {
        const char *s = cJSON_IsString(it) ? it->valuestring : "";
        if (!(s[0] >= '1' && s[0] <= '9')) {
            rc = bad(e, "WhatsApp templates use positional variables {{1}}, {{2}}, …: %s is named", s);
            goto out;
        }
        int v = s[0] - '0';
        if (s[1])
            v = v * 10 + (s[1] - '0');
        used[v] = 1;
        if (v > max)
            max = v;
    }
    for (int i = 1; i <= max; i++)
        if (!used[i]) {
            rc = err_set(e, ERR_INVALID, "invalid_template",
                         "WhatsApp variables are numbered from {{1}} without gaps: {{%d}} is missing", i);
            goto out;
        }
out:
    cJSON_Delete(arr);
    return rc;
}

static int check_buttons(const char *buttons, struct err *e)
{
    cJSON *arr = NULL, *b;
    int rc = 0, n = 0;

    if (json_parse(&arr, buttons, strlen(buttons), NULL) != 0 || !cJSON_IsArray(arr)) {
        rc = bad(e, "%s must be a JSON array of {type, text, url | phone_number}", "buttons");
        goto out;
    }
    cJSON_ArrayForEach(b, arr) {
        const char *type = json_str(b, "type"), *text = json_str(b, "text");
        if (++n > BUTTONS_MAX) {
            rc = bad(e, "at most 10 %s", "buttons");
            goto out;
        }
        if (!type || !text || !*text || strlen(text) > BUTTON_TEXT_MAX) {
            rc = bad(e, "each button needs a type and a text of 1 to 25 characters%s", "");
            goto out;
        }
        if (strcmp(type, "QUICK_REPLY") == 0)
            continue;
        if (strcmp(type, "URL") == 0) {
            const char *url = json_str(b, "url");
            if (!url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) || strlen(url) > 2000) {
                rc = bad(e, "a URL button needs an http(s) %s", "url");
                goto out;
            }
            continue;
        }
        if (strcmp(type, "PHONE_NUMBER") == 0) {
            const char *ph = json_str(b, "phone_number");
            if (!ph || !*ph || strlen(ph) > 20) {
                rc = bad(e, "a PHONE_NUMBER button needs a %s", "phone_number");
                goto out;
            }
            continue;
        }
        rc = bad(e, "a button's type is QUICK_REPLY, URL or PHONE_NUMBER%s", "");
        goto out;
    }
out:
    cJSON_Delete(arr);
    return rc;
}

int template__check_content(const char *channel, struct store_template_version *v, struct err *e)
{
    size_t body_max = 0;
    int buttons = 0, email = strcmp(channel, "email") == 0, wa = strcmp(channel, "whatsapp") == 0, rc;
    struct buf names = {0}, seen = {0};
    int nvars = 0;

    for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        if (strcmp(channels[i].channel, channel) == 0) {
            body_max = channels[i].body_max;
            buttons = channels[i].buttons;
        }
    if (!v->body || !*v->body)
        return bad(e, "%s is required", "body");
    if (strlen(v->body) > body_max)
        return err_set(e, ERR_INVALID, "invalid_template", "body is %zu bytes; %s takes at most %zu",
                       strlen(v->body), channel, body_max);
    if (email && (v->header || v->footer))
        return bad(e, "e-mail templates have no %s: put it in the body and html", "header or footer");
    if ((v->header && strlen(v->header) > (wa ? HEADER_MAX : TEXT_PART_MAX)) ||
        (v->footer && strlen(v->footer) > (wa ? HEADER_MAX : TEXT_PART_MAX)))
        return err_set(e, ERR_INVALID, "invalid_template", "header and footer are at most %d characters",
                       wa ? HEADER_MAX : TEXT_PART_MAX);
    if (v->buttons && !buttons)
        return err_set(e, ERR_INVALID, "invalid_template", "%s messages have no buttons", channel);
    if (v->buttons && (rc = check_buttons(v->buttons, e)))
        return rc;
    if (!email && (v->subject || v->html))
        return bad(e, "only e-mail templates have a %s", "subject or html");
    if (email && (!v->subject || !*v->subject))
        return bad(e, "%s is required for e-mail templates", "subject");
    if (v->subject && (strlen(v->subject) > SUBJECT_MAX || strpbrk(v->subject, "\r\n")))
        return bad(e, "%s is one line of at most 998 characters", "subject");
    if (v->html && strlen(v->html) > HTML_MAX)
        return bad(e, "%s is at most 200000 bytes", "html");
    if (wa && ((v->header && strstr(v->header, "{{")) || (v->footer && strstr(v->footer, "{{"))))
        return bad(e, "WhatsApp %s hold no variables here: put them in the body", "headers and footers");
    buf_putc(&names, '[');
    if ((rc = template_collect(v->subject, &names, &seen, &nvars, e)) ||
        (rc = template_collect(v->header, &names, &seen, &nvars, e)) ||
        (rc = template_collect(v->body, &names, &seen, &nvars, e)) ||
        (rc = template_collect(v->footer, &names, &seen, &nvars, e)) ||
        (rc = template_collect(v->html, &names, &seen, &nvars, e)))
        goto out;
    buf_putc(&names, ']');
    if (wa && (rc = check_positional(names.data, e)))
        goto out;
    free(v->variables);
    v->variables = buf_steal(&names);
out:
    buf_free(&names);
    buf_free(&seen);
    return rc;
}

int template__check_reason(const char *reason, struct err *e)
{
    if (!reason || !*reason)
        return err_set(e, ERR_INVALID, "invalid_request", "a rejection needs a \"reason\"");
    if (strlen(reason) > REASON_MAX)
        return err_set(e, ERR_INVALID, "invalid_request", "reason is at most %d characters", REASON_MAX);
    return 0;
}
