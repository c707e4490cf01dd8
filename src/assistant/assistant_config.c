/*
 * assistant_config: the tenant's agent configuration (see assistant.h):
 * its defaults, the JSON document, versions, diff and rollback.
 */
#include <string.h>

#include "assistant/assistant.h"

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
