/*
 * compliance: the rules that keep a business out of trouble with carriers
 * and Meta, decided in one place for every outbound path (API, campaign,
 * assistant) before anything is queued.
 *
 * Carrier opt-out keywords (STOP and friends opt an address out of one
 * channel account, START and friends opt it back in, HELP asks for the
 * tenant's help text; each tenant may replace the lists per channel), the
 * opt-out list, the suppression lists (the tenant's and the operator's
 * global one), the review queue for replies that only look like an
 * opt-out, signed unsubscribe links, quiet hours in the tenant's time zone,
 * and the send gate that refuses opted-out and suppressed recipients,
 * free-form messages outside a channel's customer service window and
 * templates that are unknown or not approved.
 *
 * One place: every outbound path (the API, campaigns, the assistant, HELP
 * replies aside) queues through messaging_send (messaging.h), which gathers
 * the facts (opt-out, suppression, window, template, quiet hours) and asks
 * compliance_check_send and compliance_quiet_until before anything is
 * written; the outbound.send worker checks opt-outs and suppressions again
 * at send time. Screens that show beforehand whether a send would go (a
 * contact's reachability, a bulk send's preflight) run the same gate as a
 * dry run (messaging_reachability, messaging_preflight): the same facts,
 * compliance_check_send's answer. A new path sets
 * messaging_send_request.origin ("campaign", "assistant") and calls
 * messaging_send; it never queues by itself.
 * Refusals are ERR_FORBIDDEN (or ERR_INVALID for an unknown template) with
 * a stable slug the API returns as its error code.
 */
#ifndef SB_COMPLIANCE_H
#define SB_COMPLIANCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "ops/ops.h"
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

/* A tenant's keyword lists for one channel, indexed by enum
 * compliance_keyword (STOP, START, HELP); words upper-cased. */
#define COMPLIANCE_KW_MAX 16
#define COMPLIANCE_KW_LEN 32
struct compliance_keywords {
    int n[4];
    char words[4][COMPLIANCE_KW_MAX][COMPLIANCE_KW_LEN];
};
/* The carriers' lists above. */
void compliance_keywords_default(struct compliance_keywords *out);
/* Parse {"stop":[…],"start":[…],"help":[…]} (a kind left out keeps the
 * carrier default): each word 1 to 31 letters or digits, at most 16 per
 * kind, stop not empty, no word twice. ERR_INVALID "invalid_keywords" (and
 * *out = the defaults). */
int compliance_keywords_parse(struct compliance_keywords *out, const char *json, struct err *e);
/* Append the lists as {"stop":[…],"start":[…],"help":[…]}. */
void compliance_keywords_json(struct buf *b, const struct compliance_keywords *k);
/* compliance_keyword against kw (NULL: the carrier defaults). */
enum compliance_keyword compliance_keyword_match(const struct compliance_keywords *kw, const char *text, char *word,
                                                 size_t wordlen);
/* The channels keyword lists can be set for, "sms", …, NULL-terminated. */
extern const char *const compliance_channels[];
/* 1 when channel is one of compliance_channels (or "*" when star_ok). */
int compliance_channel_valid(const char *channel, int star_ok);

/* A reply that asks to stop in so many words without being a keyword
 * ("please stop texting me", "unsubscribe me", "remove me from your
 * list"): the phrase recognised (a string literal), or NULL. Conservative
 * on purpose: only short replies (at most 320 bytes, lines quoting an
 * earlier message with ">" skipped) and a fixed list of phrases, so a
 * customer who writes "I'll stop by tomorrow" is never queued. Pure. */
const char *compliance_optout_phrase(const char *text);

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
/* The customer wrote to the account again, so they no longer block it
 * (Telegram delivers nothing from a user who blocked the bot): lift the
 * tenant's "blocked" suppression of address on channel, in tx. Other
 * sources (an unsubscribe, a bounce, a manual entry) stay. *out_lifted
 * (may be NULL) is 1 when one was lifted. */
int compliance_unblock(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                       int *out_lifted, struct err *e);

/* Manual changes to a suppression list, audited (suppression.add,
 * suppression.remove; target "<channel>:<address>", details the source).
 * tenant_id "" is the global list: only the operator's CLI passes it (no
 * tenant chain to audit in: the change is logged instead). The address
 * must already be normalised (crm_normalize_address). add: ERR_INVALID
 * "invalid_channel" or "invalid_suppression"; *out (may be NULL) = the
 * entry as stored. */
int compliance_suppression_add(struct store *db, const char *tenant_id, const char *channel, const char *address,
                               const char *source, const char *reason, const char *actor_type, const char *actor_id,
                               const char *ip, struct store_suppression *out, struct err *e);
/* ERR_NOTFOUND "suppression_not_found" when there is no such entry. */
int compliance_suppression_remove(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                  const char *actor_type, const char *actor_id, const char *ip, struct err *e);
/* The list of tenant_id ("": the global list), newest first, with filters
 * and keyset as store_suppression_list. */
int compliance_suppression_list(struct store *db, const char *tenant_id, const char *channel, const char *address,
                                const char *source, int64_t before_at, const char *before_channel,
                                const char *before_address, int limit, store_suppression_cb cb, void *ud,
                                struct err *e);
/* Append the entry's JSON object {channel, address, reason, source,
 * created_by, created_at, scope: "tenant" | "global"}. */
void compliance_suppression_json(struct buf *b, const struct store_suppression *s);

/* One import: a batch of entries added in one transaction with source
 * "import", each line already parsed and normalised by the caller; lines
 * with errors are reported and skipped by the caller. */
struct compliance_import_line {
    const char *channel;
    const char *address;
    const char *reason;
};
/* One line of an import file: CSV "address,channel,reason" (a field may be
 * "quoted", with "" for a quote inside; channel and reason may be left
 * out: channel then means every channel, "*") or, json set, a JSON object
 * {"address", "channel", "reason"}. Fills the fields (not yet normalised).
 * Returns 0, 1 for a line to skip (empty, or a CSV header starting with
 * "address"), or ERR_INVALID with the reason in e. Pure; parses untrusted
 * input (fuzz/fuzz_import.c). */
int compliance_import_parse(const char *line, size_t n, int json, char address[STORE_ADDRESS_MAX], char channel[16],
                            char reason[256], struct err *e);
/* *out_added = entries written. Audited once (suppression.import, the
 * count). */
int compliance_suppression_import(struct store *db, const char *tenant_id, const struct compliance_import_line *lines,
                                  size_t n, const char *actor_type, const char *actor_id, const char *ip,
                                  size_t *out_added, struct err *e);

/* ----------------------------------------------------------- review queue */

/* Queue a reply for review, in the caller's transaction (the inbound job's,
 * with the message): once per message. */
int compliance_review_add(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *channel,
                          const char *address, const char *message_id, const char *text, const char *phrase,
                          int64_t now, struct err *e);
/* The tenant's items with status (NULL: any), newest first, after
 * before_id (NULL: from the newest), at most limit. */
int compliance_review_list(struct store *db, const char *tenant_id, const char *status, const char *before_id,
                           int limit, store_review_cb cb, void *ud, struct err *e);
/* Resolve an open item: action "opt_out" opts the sender out of the
 * account the reply came to (source manual, like a STOP) or "dismiss".
 * Audited (compliance.review.resolve). ERR_INVALID "invalid_action",
 * ERR_NOTFOUND "review_not_found", ERR_CONFLICT "review_resolved". */
int compliance_review_resolve(struct store *db, const char *tenant_id, const char *id, const char *action,
                              const char *actor_type, const char *actor_id, const char *ip, struct store_review *out,
                              struct err *e);
/* Append {id, account_id, channel, address, message_id, excerpt, phrase,
 * status, created_at, resolved_at, resolved_by}. */
void compliance_review_json(struct buf *b, const struct store_review *r);

/* ------------------------------------------------------- unsubscribe links */

/* Unsubscribe tokens: base64url(payload) "." base64url(HMAC-SHA256), the
 * payload naming tenant, channel, address, issue time and the key-ring key
 * the MAC key was derived from (ops_keyring_derive, purpose "unsubscribe"),
 * so no row is stored and a key rotation keeps old links working. */
struct compliance_unsubscribe {
    char tenant_id[CORE_ID_MAX];
    char channel[16];
    char address[STORE_ADDRESS_MAX];
    int64_t issued_at;                 /* unix ms */
};
/* Append the token. ERR_INVALID for a missing or oversized part. */
int compliance_unsubscribe_token(struct ops_keyring *kr, const char *tenant_id, const char *channel,
                                 const char *address, int64_t now, struct buf *out, struct err *e);
/* Append public_url "/u/" token: what an e-mail's List-Unsubscribe header
 * and a template's {{unsubscribe_link}} carry. */
int compliance_unsubscribe_url(struct ops_keyring *kr, const char *public_url, const char *tenant_id,
                               const char *channel, const char *address, int64_t now, struct buf *out,
                               struct err *e);
/* Check a token and read it into *out. ERR_INVALID "invalid_token" for
 * anything malformed, tampered or signed with an unknown key. */
int compliance_unsubscribe_verify(struct ops_keyring *kr, const char *token, struct compliance_unsubscribe *out,
                                  struct err *e);
/* What POST /u/<token> does: suppress the address on the token's channel
 * for its tenant (source unsubscribe_link), audited as the recipient. */
int compliance_unsubscribe_apply(struct store *db, const struct compliance_unsubscribe *u, const char *ip,
                                 struct err *e);

/* ------------------------------------------------------------ quiet hours */

/* A time zone read from the system tz database (TZif files, RFC 8536):
 * its transitions and the POSIX TZ rule after the last one. Immutable once
 * loaded, so threads share it without locks (no setenv("TZ")). */
struct compliance_tz;
/* Load name (an IANA name such as "America/New_York", or "UTC") from dir
 * (NULL: /usr/share/zoneinfo). ERR_INVALID "invalid_timezone" for a bad
 * name or file, ERR_NOMEM. */
int compliance_tz_load(struct compliance_tz **out, const char *dir, const char *name, struct err *e);
/* Parse TZif data (v1, or v2+ with its 64-bit block and footer). ERR_INVALID. */
int compliance_tz_parse(struct compliance_tz **out, const void *data, size_t n, struct err *e);
void compliance_tz_free(struct compliance_tz *tz); /* NULL is a no-op */
/* The offset from UTC, in seconds, in force at unix time t (seconds). */
int32_t compliance_tz_offset(const struct compliance_tz *tz, int64_t t);
/* Parse a POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0") as a zone on its own. ERR_INVALID. */
int compliance_tz_posix(struct compliance_tz **out, const char *spec, struct err *e);

/* "HH:MM" (00:00 to 23:59) into minutes after midnight. ERR_INVALID. */
int compliance_hhmm_parse(const char *s, int *out_minutes, struct err *e);

/* Quiet hours: [start, end) local minutes after midnight in tz (end before
 * start wraps past midnight: 21:00-08:00). */
struct compliance_quiet {
    int start_min, end_min;
    const struct compliance_tz *tz;
};
/* 0 when now_ms is outside quiet hours (or q is NULL, or start == end),
 * else the unix ms at which they end: when a held message may go. */
int64_t compliance_quiet_until(const struct compliance_quiet *q, int64_t now_ms);

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
