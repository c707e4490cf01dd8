/*
 * assistant internals shared by the files of src/assistant/ (not part of
 * the contract in assistant.h).
 */
#ifndef SB_ASSISTANT_INT_H
#define SB_ASSISTANT_INT_H

#include <pthread.h>

#include "assistant/assistant.h"
#include "messaging/messaging.h"

/* ------------------------------------------ the agent configuration */

/* assistant_config_parse; trusted 1 keeps api_key_set as stored. */
int assistant__config_parse_doc(const char *json, size_t len, const struct assistant_config *base, int trusted,
                                struct assistant_config *out, struct err *e);
/* assistant_config_diff; paths_only 1 lists the changed paths only. */
int assistant__config_diff_docs(const char *a, const char *b, int paths_only, struct buf *out, struct err *e);
/* Valid UTF-8 without control characters (newline allowed when nl). */
int assistant__config_text_ok(const char *s, size_t len, int nl);
/* Deep copy of src into dst, strings in a. */
void assistant__config_copy(struct arena *a, struct assistant_config *dst, const struct assistant_config *src);

/* ------------------------------------------- the assistant at work */

#define ASSISTANT__FLAGS_SLOTS 256

/* The part of a tenant's configuration the inbound hook needs, per version. */
struct assistant__flags {
    char tenant_id[CORE_ID_MAX];
    int64_t version;
    int enabled;
    int channels[ASSISTANT_CH_COUNT];
};

struct assistant {
    struct assistant_options opt;
    struct assistant_breaker *breaker;
    pthread_mutex_t mu;           /* guards flags */
    struct assistant__flags flags[ASSISTANT__FLAGS_SLOTS];
};

/* Run fn in a transaction (through the writer when there is one), then
 * ring notify. */
int assistant__write(struct assistant *a, store_write_fn fn, void *ud, struct err *e);
/* messaging_send, waiting for its commit; message_id (may be NULL) gets
 * the message's id. */
int assistant__send(struct assistant *a, const char *tenant_id, const struct messaging_send_request *req,
                    char message_id[CORE_ID_MAX], struct err *e);
/* Audit an action after its commit (a failed append is logged by ops,
 * never undoes the action). who NULL: the system. */
void assistant__audit(struct store *db, const char *tenant_id, const struct assistant_actor *who, const char *action,
                      const char *target, const char *details);
#define ASSISTANT__SUBJECT_MAX 256
/* The subject of an e-mail reply to an inbound message: "Re: " and its
 * subject (kept as it is when it starts with "Re:"). */
void assistant__reply_subject(struct assistant *a, const char *tenant_id, const char *inbound_message_id,
                              char out[ASSISTANT__SUBJECT_MAX]);
/* Append the draft's JSON as a realtime event of type, inside tx. */
int assistant__draft_event(struct store_tx *tx, const char *tenant_id, const char *draft_id, const char *type,
                           struct err *e);

/* Copy src into dst (size bytes), truncating; always terminated. */
void assistant__cpy(char *dst, size_t size, const char *src);
/* 1 when term (n bytes, without its '\n') is one of the lines of set. */
int assistant__has_line(const struct buf *set, const char *term, size_t n);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int assistant__utf8_valid(const char *s, size_t len);

/* ------------------------------------------- characters and scanners */

/* ASCII classes and case, for the word and item scanners. */
static inline int assistant__is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int assistant__is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int assistant__is_alnum(unsigned char c)
{
    return assistant__is_alpha(c) || assistant__is_digit(c);
}

static inline char assistant__lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* 1 when s starts with pre (lower-case ASCII), case-insensitively. */
static inline int assistant__ci_prefix(const char *s, const char *pre)
{
    for (; *pre; s++, pre++)
        if (!*s || assistant__lower((unsigned char)*s) != *pre)
            return 0;
    return 1;
}

/* Contact data and links found in a text (assistant_scan.c). */
enum assistant__item_kind { ASSISTANT__ITEM_URL, ASSISTANT__ITEM_EMAIL, ASSISTANT__ITEM_PHONE, ASSISTANT__ITEM_CARD };

/* A phone number or card found: its digits. */
#define ASSISTANT__DIGITS_MAX 20

struct assistant__item {
    enum assistant__item_kind kind;
    size_t start, end;            /* bytes of the text */
    char digits[ASSISTANT__DIGITS_MAX + 1];  /* phone and card */
};

/* Non-zero stops the scan. */
typedef int (*assistant__item_cb)(void *ud, const char *text, const struct assistant__item *it);
/* Each item of text in order (links too when urls); an e-mail address is
 * found from its '@' before the numbers around it. cb's non-zero stops the
 * scan and is returned. */
int assistant__scan_items(const char *text, int urls, assistant__item_cb cb, void *ud);
/* Each currency amount of text ("$12", "€5,00", "12 USD", "5 euros"),
 * normalised so equal amounts compare equal. */
typedef int (*assistant__price_cb)(void *ud, const char *amount);
int assistant__scan_prices(const char *text, assistant__price_cb cb, void *ud);

#endif
