/*
 * crm: contacts and their channel identities, conversations and messages.
 *
 * Address normalisation (E.164, lower-case e-mail), the outbound status
 * machine (queued -> sent -> delivered -> read; failed and undelivered end
 * it; never backwards), recording inbound and outbound messages inside the
 * caller's transaction (the webhook job and the outbound API), the reads and
 * the conversation update behind the API, and the JSON shapes every producer
 * (API, realtime events) prints, so they are written once.
 *
 * Tenancy: every function takes the tenant id right after the store handle
 * or transaction, and another tenant's ids are ERR_NOTFOUND, never
 * ERR_FORBIDDEN. Functions taking a struct store_tx run inside the caller's
 * write transaction and never end it; after an error the caller rolls back.
 * Errors: ERR_INVALID with a slug (invalid_address, invalid_status,
 * invalid_cursor, invalid_limit, invalid_assignee, …), ERR_NOTFOUND, and the
 * store's errors. Stateless and thread-safe.
 */
#ifndef SB_CRM_H
#define SB_CRM_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

/* ----------------------------------------------------------- addresses */

#define CRM_ADDRESS_MAX STORE_ADDRESS_MAX

/* Normalise raw into out (outlen bytes, CRM_ADDRESS_MAX is always enough).
 * kind "phone": E.164 ("+" then 7..15 digits, the first 1-9); spaces, tabs,
 * no-break spaces, dashes, dots, slashes and parentheses are dropped, and
 * so is a "(0)" trunk prefix after the country code ("+44 (0)20…"); "00"
 * in front is the international prefix ("00 44 20…" -> "+4420…"); a
 * number without "+" or "00" is refused (ERR_INVALID "invalid_address":
 * a +country code is needed). kind "whatsapp": the same, but bare digits
 * are a wa_id that already carries its country code ("15551234567" ->
 * "+15551234567"), and Twilio's "whatsapp:" prefix is dropped. kind "email": trimmed and
 * lower-cased, one "@", a non-empty local part, a dotted domain, no spaces,
 * at most 254 bytes. ERR_INVALID "invalid_address" otherwise, or
 * "invalid_kind" for another kind. Pure. */
int crm_normalize_address(const char *kind, const char *raw, char *out, size_t outlen, struct err *e);

/* The identity kind a channel's addresses have: sms and voice -> "phone",
 * whatsapp -> "whatsapp", email -> "email"; NULL for another channel. */
const char *crm_identity_kind(const char *channel);

/* -------------------------------------------------------- status machine */

/* The status a provider's word means (case-insensitive): queued, sent,
 * delivered, read, failed, undelivered and received as themselves; Twilio's
 * "accepted", "scheduled" and "sending" mean queued (accepted but not
 * handed on: no forward move beyond queued); "canceled" means failed;
 * "receiving" means received. NULL for a word we do not know. */
const char *crm_status_canonical(const char *provider_status);

/* 1 when a message in status current moves to incoming (either may be a
 * provider alias), else 0. Forward only along queued -> sent -> delivered
 * -> read (skipping is allowed: queued -> delivered); a repeated status is
 * no move; failed and undelivered apply only from queued or sent; nothing
 * moves a failed, undelivered or received (inbound) message; an unknown
 * status never moves anything. Pure. */
int crm_status_moves(const char *current, const char *incoming);

/* A status report for an outbound message (a provider callback). */
struct crm_status_update {
    const char *account_id;
    const char *provider_message_id;
    const char *status;          /* the provider's word; aliases accepted */
    const char *error_code;      /* NULL/"" = none */
    const char *error_text;
    int64_t provider_ts;         /* the provider's time (Unix ms); 0 = none */
    int64_t received_at;         /* when we got it; 0 = now */
};

/* What applying a status did, for the caller's realtime event. */
struct crm_status_result {
    char message_id[CORE_ID_MAX];
    char conversation_id[CORE_ID_MAX];
    char previous[16];           /* status before */
    char status[16];             /* status after (== previous when not applied) */
    int applied;                 /* 1 when the status moved */
};

/* Apply a status callback inside tx: find the message by (tenant, account,
 * provider message id) and lock it (SELECT … FOR UPDATE on PostgreSQL, so
 * concurrent callbacks for one message serialise instead of losing an
 * update); always append a message_events row (the provider's status as
 * canonical, or as given when unknown; applied 0/1; provider_ts,
 * received_at; error code and text). When crm_status_moves says so, the
 * status moves and its time column (sent_at, delivered_at, read_at;
 * failed_at for failed and undelivered) is set to provider_ts, or
 * received_at when the provider gave none; a failure also stores its error
 * code and text. A late callback that does not move the status still fills
 * its own time column when that is 0 and the message got that far (sent,
 * delivered or read at or behind the current status; sent behind a
 * failure): delivered then sent ends delivered with sent_at filled. Failed
 * after delivered changes nothing but the history. ERR_NOTFOUND when no
 * such message (yet: a callback can overtake the send result; retry later). */
int crm_status_apply(struct store_tx *tx, const char *tenant_id, const struct crm_status_update *u,
                     struct crm_status_result *out, struct err *e);

/* ------------------------------------------------------------ recording */

/* What recording a message did. */
struct crm_record_result {
    char contact_id[CORE_ID_MAX];        /* "" when an outbound idempotency key was found */
    char conversation_id[CORE_ID_MAX];
    char message_id[CORE_ID_MAX];
    int duplicate;                       /* inbound: provider id seen; outbound: idempotency key seen */
    int contact_created;
    int conversation_created;
    int reopened;                        /* inbound reopened a resolved conversation */
    int64_t unread;                      /* inbound, not a duplicate: the conversation's unread count after */
};

/* An inbound message as the webhook job has it; borrowed. */
struct crm_inbound {
    const char *account_id;
    const char *channel;                 /* the account's: sms | whatsapp | email */
    const char *from;                    /* the sender as given; normalised for the channel */
    const char *contact_name;            /* hint (WhatsApp profile name) or NULL */
    const char *provider_message_id;     /* required: the dedupe key */
    const char *type;                    /* NULL = "text" */
    const char *body;                    /* NULL = "" */
    const char *media_json;              /* JSON array of {url, id, content_type}, or NULL */
    int64_t received_at;                 /* 0 = now */
    /* e-mail (NULL elsewhere) */
    const char *subject;
    const char *html;
    const char *rfc_message_id;          /* its Message-ID, angle brackets included (< 256 bytes) */
    const char *in_reply_to;             /* threading: Message-IDs it answers, space-separated */
    const char *references;
};

/* Record an inbound message inside tx: the contact by identity (created
 * when new; a new phone or whatsapp identity whose E.164 number another
 * identity of the tenant already has joins that contact; the name hint
 * fills an empty contact name), the conversation of (contact, account)
 * (created open; a resolved one reopens; last_message_at, last_inbound_at
 * forward, unread + 1) and the message (status "received"). An e-mail
 * whose In-Reply-To or References (tried in that order, nearest ancestor
 * first) names the Message-ID of a message on the same account joins that
 * message's conversation instead, whoever sent it (a colleague in copy, a
 * forwarded thread). Idempotent: a
 * provider message id already recorded on this account changes nothing and
 * sets out->duplicate with the first message's ids, so an at-least-once
 * job may run twice. ERR_INVALID: bad address ("invalid_address"), unknown
 * channel ("invalid_channel"), media not a JSON array ("invalid_media"). */
int crm_inbound_record(struct store_tx *tx, const char *tenant_id, const struct crm_inbound *in,
                       struct crm_record_result *out, struct err *e);

/* A phone number a customer shared about themselves (Telegram's "share my
 * phone number" contact) joins their contact inside tx: raw is normalised
 * as a "phone" address and linked to contact_id unless a contact of the
 * tenant already has that number (as phone or whatsapp). *out_linked: 1
 * when the number now belongs to contact_id (linked here or before), 0
 * when another contact has it (left alone: merging two contacts is a
 * person's decision). contact_id must be a contact of tenant_id (the one
 * crm_inbound_record just resolved in tx). ERR_INVALID "invalid_address". */
int crm_identity_link(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *raw,
                      int *out_linked, struct err *e);

/* An outbound message as the API or a campaign creates it; borrowed. */
struct crm_outbound {
    const char *account_id;
    const char *channel;                 /* the account's */
    const char *to;                      /* the recipient as given; normalised for the channel */
    const char *type;                    /* NULL = "text" ("template" when template_json is set) */
    const char *body;
    const char *media_json;              /* JSON array or NULL */
    const char *template_json;           /* JSON object {name, language, variables} or NULL */
    const char *idempotency_key;         /* the API's Idempotency-Key; NULL/"" = none; <= 127 bytes */
    const char *origin;                  /* agent | api | assistant | campaign | system; NULL = "api" */
    const char *sent_by;                 /* the user or API key id; NULL = none */
    const char *subject;                 /* e-mail; NULL = none */
    const char *html;                    /* e-mail's HTML part; NULL = none */
    const char *rfc_message_domain;      /* e-mail: the message gets the Message-ID <its id@domain>;
                                          * NULL = none */
    int64_t created_at;                  /* 0 = now */
};

/* The message holding idempotency_key in this tenant: ids into out with
 * out->duplicate = 1. ERR_NOTFOUND when none. For a caller that checks
 * before doing more work (compliance), in the same transaction. */
int crm_outbound_lookup(struct store_tx *tx, const char *tenant_id, const char *idempotency_key,
                        struct crm_record_result *out, struct err *e);
/* Create an outbound message (status queued) inside tx: lookup-or-create
 * on the idempotency key (a key already used sets out->duplicate with the
 * first message's ids and changes nothing, whatever else differs), then the
 * contact and conversation as for inbound but without touching
 * last_inbound_at, unread or the conversation's status; last_message_at
 * moves forward. ERR_INVALID as for inbound, and "invalid_template". */
int crm_outbound_create(struct store_tx *tx, const char *tenant_id, const struct crm_outbound *in,
                        struct crm_record_result *out, struct err *e);
/* The provider accepted the message: store its provider message id (so
 * callbacks find it) and apply its initial status (e.g. queued, accepted,
 * sent) like a callback, monotonic, with a history row. at = when (0 = now).
 * ERR_NOTFOUND for an unknown message id. */
int crm_outbound_sent(struct store_tx *tx, const char *tenant_id, const char *message_id,
                      const char *provider_message_id, const char *provider_status, int64_t at,
                      struct crm_status_result *out, struct err *e);
/* The send failed for good: status failed (from queued or sent only) with
 * failed_at, error code and text, and a history row. ERR_NOTFOUND. */
int crm_outbound_failed(struct store_tx *tx, const char *tenant_id, const char *message_id,
                        const char *error_code, const char *error_text, int64_t at,
                        struct crm_status_result *out, struct err *e);

/* ---------------------------------------------------------------- reads */

/* When the customer at address (raw, normalised for the account's channel)
 * last wrote to account_id: *out Unix ms, 0 when never (also for an
 * address no contact has). For messaging windows. ERR_INVALID for a bad
 * address or channel. */
int crm_last_inbound(struct store *db, const char *tenant_id, const char *account_id, const char *channel,
                     const char *address, int64_t *out, struct err *e);

#define CRM_LIMIT_DEFAULT 50
#define CRM_LIMIT_MAX 100
#define CRM_CURSOR_MAX 96
#define CRM_QUERY_MAX 100        /* longest contact search text */

/* One page of a list: limit 1..CRM_LIMIT_MAX (0 = CRM_LIMIT_DEFAULT; else
 * ERR_INVALID "invalid_limit"); cursor NULL/"" for the first page, else a
 * next_cursor this list returned (anything else: ERR_INVALID
 * "invalid_cursor"). next_cursor is set to the opaque cursor of the next
 * page, "" when this page is the last. */
struct crm_page {
    int limit;
    const char *cursor;
    char next_cursor[CRM_CURSOR_MAX];
};

/* The tenant's message by id, handed to cb (borrowed for the call). ERR_NOTFOUND. */
int crm_message_get(struct store *db, const char *tenant_id, const char *message_id, store_message_cb cb,
                    void *ud, struct err *e);
/* The message by id inside tx (it sees what tx wrote: the API's reply and
 * the realtime event are read so). ERR_NOTFOUND. */
int crm_message_get_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, store_message_cb cb,
                       void *ud, struct err *e);
/* A message's status history, oldest first (empty for an unknown id). */
int crm_message_events(struct store *db, const char *tenant_id, const char *message_id,
                       store_message_event_cb cb, void *ud, struct err *e);

/* Conversations newest activity first (last_message_at, id descending);
 * filter members NULL/"" = any, combined: status open | pending | resolved
 * (else ERR_INVALID "invalid_status"), channel, account_id, assignee a user
 * id or "none" for unassigned, unread (only those with unread > 0), q a
 * search of the contact's name and identity addresses (see
 * store_conversation_filter; at most CRM_QUERY_MAX bytes, else ERR_INVALID
 * "invalid_request"). Each row carries its list fields (account and
 * assignee names, latest message). cb runs per row while a store connection
 * is held (it must not call the store unless the pool has >= 2
 * connections). */
int crm_conversation_list(struct store *db, const char *tenant_id, const struct store_conversation_filter *f,
                          struct crm_page *page, store_conversation_cb cb, void *ud, struct err *e);
/* One conversation with its contact's name. ERR_NOTFOUND. */
int crm_conversation_get(struct store *db, const char *tenant_id, const char *conversation_id,
                         struct store_conversation *out, struct err *e);
/* A conversation's messages oldest first (created_at, id ascending).
 * ERR_NOTFOUND when the tenant has no such conversation. Same callback
 * contract as crm_conversation_list. */
int crm_conversation_messages(struct store *db, const char *tenant_id, const char *conversation_id,
                              struct crm_page *page, store_message_cb cb, void *ud, struct err *e);

/* An agent read the conversation: its unread counter (inbound messages
 * since an agent last read it) goes to 0 inside tx; *out_before (may be
 * NULL) receives what it was, 0 when nothing changed (idempotent).
 * ERR_NOTFOUND for another tenant's or an unknown conversation. */
int crm_conversation_mark_read(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                               int64_t *out_before, struct err *e);

/* A change to a conversation: status NULL = unchanged, else open | pending
 * | resolved; when set_assignee, assignee_id is a user of the tenant or
 * NULL/"" to unassign. */
struct crm_conversation_patch {
    const char *status;
    int set_assignee;
    const char *assignee_id;
};

/* Apply p (ERR_INVALID "invalid_status"; "invalid_assignee" when the user
 * is not a member of the tenant; "invalid_request" when p changes
 * nothing), write an audit row "conversation.update" with what changed
 * (actor_type "user" | "apikey" | "system"), and read the result into out.
 * ERR_NOTFOUND for another tenant's or an unknown conversation. */
int crm_conversation_update(struct store *db, const char *tenant_id, const char *conversation_id,
                            const struct crm_conversation_patch *p, const char *actor_type, const char *actor_id,
                            const char *ip, struct store_conversation *out, struct err *e);

/* Contacts newest activity first (last_activity_at, id descending), with
 * identities; q (NULL/"" = all; at most CRM_QUERY_MAX bytes, else
 * ERR_INVALID "invalid_request") keeps those whose name or an identity
 * address contains it (case-insensitive), a phone number matching with or
 * without "+", spaces and punctuation (store_contact_list). Same callback
 * contract as above. */
int crm_contact_list(struct store *db, const char *tenant_id, const char *q, struct crm_page *page,
                     store_contact_cb cb, void *ud, struct err *e);
/* One contact with its identities, handed to cb. ERR_NOTFOUND. */
int crm_contact_get(struct store *db, const char *tenant_id, const char *contact_id, store_contact_cb cb,
                    void *ud, struct err *e);

/* -------------------------------------------- contacts by hand (crm_contact.c) */

#define CRM_NAME_MAX 200         /* characters of a contact's name */
#define CRM_IDENTITIES_MAX 20    /* identities one request may add or remove */

/* An identity as a person typed it: kind phone | whatsapp | email |
 * telegram | instagram | webchat, address normalised by
 * crm_normalize_address. Borrowed. */
struct crm_identity_ref {
    const char *kind;
    const char *address;
};

/* Create a contact with a name (1..CRM_NAME_MAX characters of UTF-8
 * without control characters, trimmed; ERR_INVALID "invalid_name") and
 * up to CRM_IDENTITIES_MAX identities (ERR_INVALID "invalid_kind",
 * "invalid_address", "invalid_request" for too many; one given twice
 * counts once), in one transaction. An identity another contact of the
 * tenant already has: ERR_CONFLICT "identity_taken" naming that contact's
 * id, and nothing is created. Audited (contact.create). out_id receives
 * the new contact's id. */
int crm_contact_create(struct store *db, const char *tenant_id, const char *name, const struct crm_identity_ref *ids,
                       size_t nids, const char *actor_type, const char *actor_id, const char *ip,
                       char out_id[CORE_ID_MAX], struct err *e);

/* A change to a contact: name NULL = unchanged; identities to add (as for
 * create) and to remove (each must be the contact's: else ERR_INVALID
 * "unknown_identity"). */
struct crm_contact_patch {
    const char *name;
    const struct crm_identity_ref *add;
    size_t nadd;
    const struct crm_identity_ref *remove;
    size_t nremove;
};

/* Apply p in one transaction (removals first, then additions): ERR_INVALID
 * as for create, and "invalid_request" when p changes nothing;
 * ERR_CONFLICT "identity_taken" as for create, and "last_identity" when
 * the contact would be left without identities while it has conversations
 * (its conversations could no longer be answered). Audited
 * (contact.update, with what changed). ERR_NOTFOUND for another tenant's
 * or an unknown contact. */
int crm_contact_update(struct store *db, const char *tenant_id, const char *contact_id,
                       const struct crm_contact_patch *p, const char *actor_type, const char *actor_id,
                       const char *ip, struct err *e);

/* Merge source_id into target_id in one transaction (store_contact_merge:
 * identities, conversations and messages move, conversations on the same
 * channel account are folded together, the source is deleted), with a
 * realtime event contact.merged {target_id, source_id, identities,
 * conversations_moved, conversations_folded, messages} in the same
 * transaction; then audited (contact.merge, target and source ids). The
 * caller rings the event pump. ERR_INVALID "invalid_merge" when both are
 * the same contact; ERR_NOTFOUND "contact_not_found" when either is not a
 * contact of the tenant. */
int crm_contact_merge(struct store *db, const char *tenant_id, const char *target_id, const char *source_id,
                      const char *actor_type, const char *actor_id, const char *ip, struct store_contact_merge *out,
                      struct err *e);

/* A contact copied out of the store (identities malloc'd); clear it. */
struct crm_contact {
    struct store_contact c;
    struct store_identity *ids;
};
/* Read one contact with its identities into out. ERR_NOTFOUND, ERR_NOMEM. */
int crm_contact_load(struct store *db, const char *tenant_id, const char *contact_id, struct crm_contact *out,
                     struct err *e);
void crm_contact_clear(struct crm_contact *c);
/* The contact's message counts (store_contact_engagement). */
int crm_contact_engagement(struct store *db, const char *tenant_id, const char *contact_id,
                           struct store_contact_engagement *out, struct err *e);

/* ----------------------------------------------------------------- JSON */

/* The message object: {id, conversation_id, account_id, channel, direction,
 * address (the customer's: sender of an inbound message, recipient of an
 * outbound one), type, body, media (array, [] when none), template (object or null),
 * status, provider_message_id, error ({code, text} or null), created_at,
 * sent_at, delivered_at, read_at, failed_at, updated_at}; times RFC 3339 or
 * null when 0. */
void crm_message_json(struct buf *b, const struct store_message *m);
/* The conversation object: {id, contact: {id, name, address}, account_id,
 * account_name, channel, status, assignee_id, assignee_name, unread,
 * unread_count (the same number), last_message: {id, direction, type,
 * preview, status, created_at} or null, last_activity_at, last_message_at,
 * last_inbound_at, created_at, updated_at}; contact.address is the
 * customer's address on this conversation, account_name and assignee_name
 * null when empty. With contact (not NULL), the contact member also
 * carries its identities: {id, name, address, identities: [{kind,
 * address}]}. */
void crm_conversation_json(struct buf *b, const struct store_conversation *c, const struct store_contact *contact);
#define CRM_PREVIEW_CHARS 140
/* A message's one-line preview into out (outlen bytes; 4 * CRM_PREVIEW_CHARS
 * + 8 is always enough): its text with runs of white space as one space,
 * trimmed, cut at CRM_PREVIEW_CHARS characters (UTF-8, never inside one);
 * a message without text shows its type in brackets ("[image]"). Pure. */
void crm_message_preview(char *out, size_t outlen, const char *type, const char *body);
/* The contact object: {id, name, email, phone, identities: [{kind,
 * address}], created_at, updated_at, last_activity_at}: email is the first
 * e-mail identity, phone the first phone identity (else the first
 * WhatsApp number), null when none. The _open variant leaves the closing
 * brace out, for a caller that appends members, and calls extra (when not
 * NULL) inside each identity object after its address, to append members
 * of its own (",\"opted_out\":false"). */
typedef void (*crm_identity_json_fn)(void *ud, struct buf *b, const struct store_identity *id);
void crm_contact_json(struct buf *b, const struct store_contact *c);
void crm_contact_json_open(struct buf *b, const struct store_contact *c, crm_identity_json_fn extra, void *ud);
/* The engagement object: {queued, sent, delivered, read, failed, inbound,
 * last_inbound_at, last_outbound_at} (times Unix ms or null). */
void crm_engagement_json(struct buf *b, const struct store_contact_engagement *g);

/* ---------------------------------------------------------------- e-mail */

#define CRM_REFERENCES_MAX 2048

/* How an outbound e-mail joins its thread (crm_email.c). in_reply_to: the
 * Message-ID of the customer's latest e-mail in the message's
 * conversation, or when they never wrote, of the latest earlier one;
 * references: the conversation's Message-IDs up to and including that one,
 * oldest first (at most 20), space-separated. "" when there is none. */
struct crm_email_thread {
    char in_reply_to[256];
    char references[CRM_REFERENCES_MAX];
};

/* The thread of the message (by id, with its conversation and creation
 * time, from a store_message). Pooled reads. Store errors. */
int crm_email_thread(struct store *db, const char *tenant_id, const struct store_message *msg,
                     struct crm_email_thread *out, struct err *e);

#endif
