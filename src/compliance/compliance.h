/*
 * compliance: the rules that keep a business out of trouble with carriers
 * and Meta, decided in one place for every outbound path (API, campaign,
 * assistant) before anything is queued.
 *
 * For now: carrier opt-out keywords (STOP and friends opt an address out of
 * one channel account, START and friends opt it back in, HELP asks for the
 * tenant's help text), the opt-out list, and the send gate that refuses
 * opted-out recipients, free-form messages outside a channel's customer
 * service window and templates that are unknown or not approved.
 * Refusals are ERR_FORBIDDEN (or ERR_INVALID for an unknown template) with
 * a stable slug the API returns as its error code.
 */
#ifndef SB_COMPLIANCE_H
#define SB_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

enum compliance_keyword {
    COMPLIANCE_NONE = 0,
    COMPLIANCE_STOP,   /* STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT */
    COMPLIANCE_START,  /* START, YES, UNSTOP */
    COMPLIANCE_HELP,   /* HELP, INFO */
};

/* Classify an inbound message as a carrier keyword, the way carriers and
 * Twilio do: the keyword must be the whole message (case-insensitive,
 * surrounding whitespace and trailing . or ! ignored); "stop please" is not
 * a keyword. word (may be NULL) receives the keyword upper-cased. */
enum compliance_keyword compliance_keyword(const char *text, char *word, size_t wordlen);

/* Opt address out of / back into account, in the caller's transaction
 * (the inbound job writes it with the message that asked). source is
 * "keyword" or "manual"; keyword may be "". */
int compliance_opt_out(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                       const char *keyword, const char *source, int64_t now, struct err *e);
int compliance_opt_in(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                      int *out_removed, struct err *e);
/* *out = 1 when address is opted out of account. */
int compliance_is_opted_out(struct store *db, const char *tenant_id, const char *account_id, const char *address,
                            int *out, struct err *e);

/* Suppress address on channel ("*": every channel) for tenant_id (NULL or
 * "": the global list, every tenant), in the caller's transaction: the
 * bounce, complaint or unsubscribe that asked is written with its cause.
 * source: keyword | bounce | complaint | unsubscribe_link | manual | import
 * | blocked; reason is free text (the bounce's answer, the provider's
 * error); created_by the user or key (NULL for automatic entries). A
 * second suppression of the same address refreshes the first. */
int compliance_suppress(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                        const char *source, const char *reason, const char *created_by, int64_t now, struct err *e);
/* The suppression that applies to address on channel for tenant_id (its
 * own list, then the global one): *found = 1 and *out filled, or
 * *found = 0. */
int compliance_suppression_find(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                struct store_suppression *out, int *found, struct err *e);

/* What the send gate decides on, gathered by the caller. */
struct compliance_send {
    int opted_out;                /* the recipient opted out of this account */
    const char *suppressed_source; /* the suppression that applies (store_suppression.source), or NULL */
    const char *suppressed_reason;
    int64_t window_ms;            /* the channel's customer service window; 0 = none */
    int64_t last_inbound_at;      /* the recipient's last message on this account; 0 = never */
    int64_t now;
    int is_template;              /* a template message (allowed outside the window when approved) */
    const char *template_status;  /* templates: "approved", "pending", …; NULL = unknown template */
    const char *origin;           /* agent | api | assistant | campaign | system; NULL = api */
    int64_t human_agent_window_ms; /* the channel lets a person (origin agent) reply this long after the
                                   * customer's last message (Instagram: 7 days); 0 = no extension */
    int transactional_only;       /* the channel takes no campaigns (Instagram) */
};

/* 0 when the message may be sent; else ERR_FORBIDDEN with slug
 * "opted_out", "suppressed", "recipient_blocked" (a suppression with source
 * blocked), "transactional_only" (a campaign on a channel that takes none),
 * "outside_window" or "template_not_approved", or ERR_INVALID with slug
 * "template_not_found", and a message saying what to do. Outside the
 * window, a channel's human_agent_window_ms lets origin "agent" through
 * (and no other origin) while the last message is that recent. */
int compliance_check_send(const struct compliance_send *s, struct err *e);

#endif
