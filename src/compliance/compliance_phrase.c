/*
 * compliance_phrase: replies that ask to stop in so many words.
 *
 * Carriers opt out on exact keywords only (compliance_keyword); people also
 * write "please stop texting me". Such a reply opts nobody out by itself
 * (a wrong guess would silence a customer who wanted the opposite), it is
 * queued for a person to decide. The matcher is deliberately small: the
 * reply is lower-cased, apostrophes dropped and everything else that is not
 * a letter or digit turned into one space, then a fixed list of phrases is
 * looked for as whole words. Long texts (a quoted e-mail thread carrying our
 * own footer) are not considered at all.
 */
#include <stdio.h>
#include <string.h>

#include "compliance/compliance.h"

#define PHRASE_TEXT_MAX 320

const char *const compliance_channels[] = {"sms", "whatsapp", "email", "telegram", "instagram", "webchat", "voice",
                                           NULL};

int compliance_channel_valid(const char *channel, int star_ok)
{
    if (!channel)
        return 0;
    if (star_ok && strcmp(channel, "*") == 0)
        return 1;
    for (int i = 0; compliance_channels[i]; i++)
        if (strcmp(channel, compliance_channels[i]) == 0)
            return 1;
    return 0;
}

static const char *const phrases[] = {
    "please stop",       "stop please",       "stop texting",     "stop text",         "stop messaging",
    "stop message",      "stop sending",      "stop contacting",  "stop calling",      "stop emailing",
    "stop spamming",     "stop the texts",    "stop the messages", "stop these texts", "stop these messages",
    "stop all messages", "stop all texts",    "unsubscribe",      "remove me",         "take me off",
    "opt me out",        "opt out",           "do not contact",   "dont contact",      "do not text",
    "dont text",         "do not message",    "dont message",     "do not email",      "dont email",
    "no more texts",     "no more messages",  "no more emails",   "leave me alone",    "delete my number",
    "delete my email",   "not interested stop",
};

const char *compliance_optout_phrase(const char *text)
{
    char norm[PHRASE_TEXT_MAX + 3];
    size_t n = 0;
    const char *s = text;
    int line_start = 1, quoted = 0;

    if (!text || strlen(text) > PHRASE_TEXT_MAX)
        return NULL;
    norm[n++] = ' ';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (line_start) {
            const char *t = s;
            while (*t == ' ' || *t == '\t')
                t++;
            quoted = *t == '>';
        }
        line_start = c == '\n';
        if (quoted)
            c = ' ';
        if (c == '\'')
            continue;
        if (c == 0xE2 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x99) { /* ’ */
            s += 2;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = ' ';
        if (c == ' ' && norm[n - 1] == ' ')
            continue;
        norm[n++] = (char)c;
    }
    if (norm[n - 1] != ' ')
        norm[n++] = ' ';
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++) {
        char pat[64];
        snprintf(pat, sizeof(pat), " %s ", phrases[i]);
        if (strstr(norm, pat))
            return phrases[i];
    }
    return NULL;
}
