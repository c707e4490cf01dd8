/*
 * store_crm.h: the conversation half of the store API: contacts, conversations
 * and messages, ingestion, the realtime event log, monitoring aggregates,
 * opt-outs and suppressions, media, website chat and e-mail threading. Part of
 * store.h (which includes it), with its conventions.
 */
#ifndef SB_STORE_CRM_H
#define SB_STORE_CRM_H

#include "store/store.h"

/* ------------------------- contacts, conversations, messages (store_crm.c) */

/* Contacts are reached through identities (kind, normalised address), one
 * conversation per (contact, channel account), messages in conversations
 * with their status history in message_events. The functions taking a
 * struct store_tx run inside the caller's write transaction and never end
 * it; they avoid statements that fail on expected races (inserts are
 * ON CONFLICT DO NOTHING and report duplicates), so a PostgreSQL
 * transaction is never left aborted by one. Text fields of rows handed to
 * callbacks as const char * are borrowed for the call. */

#define STORE_ADDRESS_MAX 256     /* normalised address: E.164 or e-mail */
#define STORE_CONTACT_NAME_MAX 808 /* 200 characters of up to 4 UTF-8 bytes, and more */

struct store_identity {
    char kind[16];                /* phone | whatsapp | email */
    char address[STORE_ADDRESS_MAX];
};

struct store_contact {
    char id[CORE_ID_MAX];         /* "ctc_…" */
    char name[STORE_CONTACT_NAME_MAX];
    int64_t created_at;
    int64_t updated_at;
    int64_t last_activity_at;     /* the latest of created_at and its last message (any conversation) */
    const struct store_identity *identities; /* borrowed; oldest first */
    int nidentities;
};

struct store_conversation {
    char id[CORE_ID_MAX];         /* "cnv_…" */
    char contact_id[CORE_ID_MAX];
    char contact_name[STORE_CONTACT_NAME_MAX]; /* read from the contact (lists, get) */
    char account_id[CORE_ID_MAX];
    char channel[16];
    char status[16];              /* open | pending | resolved */
    char assignee_id[CORE_ID_MAX]; /* "" = unassigned */
    int64_t last_message_at;
    int64_t last_inbound_at;      /* 0 = the contact never wrote */
    int64_t unread;               /* inbound messages since an agent last read it */
    int64_t created_at;
    int64_t updated_at;
    /* Read with the conversation for list rows and the detail (get, list): */
    char account_name[256];       /* the channel account's name ("" = none) */
    char assignee_name[256];      /* the assignee's user name ("" = none or unassigned) */
    char contact_address[STORE_ADDRESS_MAX]; /* the customer's address on this conversation (its latest
                                   * message's); "" before the first message */
    char last_id[CORE_ID_MAX];    /* the latest message (created_at, id): "" = none */
    char last_direction[16];
    char last_type[32];
    char last_status[16];
    int64_t last_created_at;
    char last_body[804];          /* the first 200 characters of its text at most (UTF-8) */
};

struct store_message {
    char id[CORE_ID_MAX];         /* "msg_…"; filled by insert when empty */
    char conversation_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char channel[16];             /* read from the conversation */
    char direction[16];           /* inbound | outbound */
    char address[STORE_ADDRESS_MAX]; /* the customer's: sender (inbound) or recipient (outbound), normalised */
    char type[32];                /* text, image, template, … */
    const char *body;             /* borrowed; "" or NULL = none */
    const char *media;            /* JSON array text; "" or NULL = none */
    const char *template_json;    /* JSON object text; "" or NULL = none */
    char status[16];              /* received | queued | sent | delivered | read | failed | undelivered */
    char provider_message_id[128];
    char error_code[64];
    const char *error_text;       /* borrowed; "" or NULL = none */
    char idempotency_key[128];    /* "" = none */
    char origin[16];              /* customer (inbound) | agent | api | assistant | campaign | system; "" = the
                                   * direction's default (customer inbound, api outbound) */
    char sent_by[CORE_ID_MAX];    /* the user or API key that sent it; "" = none */
    const char *subject;          /* e-mail; borrowed; "" or NULL = none */
    const char *html;             /* e-mail's HTML part; borrowed; "" or NULL = none */
    char rfc_message_id[256];     /* e-mail's Message-ID with angle brackets; "" = none */
    int64_t created_at;
    int64_t sent_at;
    int64_t delivered_at;
    int64_t read_at;
    int64_t failed_at;
    int64_t updated_at;
};

/* The part of a message the status machine reads and writes. */
struct store_message_state {
    char id[CORE_ID_MAX];
    char conversation_id[CORE_ID_MAX];
    char status[16];
    char provider_message_id[128];
    int64_t sent_at;
    int64_t delivered_at;
    int64_t read_at;
    int64_t failed_at;
};

/* One row of a message's status history. */
struct store_message_event {
    int64_t id;
    char status[32];
    int64_t provider_ts;          /* 0 = the provider gave none */
    int64_t received_at;
    char error_code[64];
    const char *error_text;       /* borrowed */
    int applied;                  /* 1 when it moved the message */
};

typedef int (*store_contact_cb)(void *ud, const struct store_contact *c);
typedef int (*store_conversation_cb)(void *ud, const struct store_conversation *c);
typedef int (*store_message_cb)(void *ud, const struct store_message *m);
typedef int (*store_message_event_cb)(void *ud, const struct store_message_event *ev);

/* The contact that owns (kind, address) in tx's tenant, else the contact
 * owning (sibling_kind, address) (NULL/"" = none; phone and whatsapp share
 * E.164 numbers). Fills contact_id and contact_name (may be NULL) and
 * *out_exact (1: the identity itself exists, 0: found through the sibling).
 * ERR_NOTFOUND when neither exists. */
int store_identity_find(struct store_tx *tx, const char *tenant_id, const char *kind, const char *sibling_kind,
                        const char *address, char contact_id[CORE_ID_MAX], char *contact_name, size_t namelen,
                        int *out_exact, struct err *e);
/* Insert a contact (id "ctc_…" generated into id when empty; its
 * last_activity_at is now). */
int store_contact_insert(struct store_tx *tx, const char *tenant_id, char id[CORE_ID_MAX], const char *name,
                         int64_t now, struct err *e);
/* Delete a contact of the tenant (the loser of an identity race). */
int store_contact_delete(struct store_tx *tx, const char *tenant_id, const char *contact_id, struct err *e);
/* Set the name when it is still empty; a no-op otherwise. */
int store_contact_fill_name(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *name,
                            int64_t now, struct err *e);
/* Link (kind, address) to contact_id. When the identity already exists
 * (a concurrent creator won) nothing changes and *out_dup is 1. */
int store_identity_insert(struct store_tx *tx, const char *tenant_id, const char *kind, const char *address,
                          const char *contact_id, int64_t now, int *out_dup, struct err *e);

/* The conversation of (contact, account): id and status into out (other
 * fields are left as they are). ERR_NOTFOUND when none. */
int store_conversation_find(struct store_tx *tx, const char *tenant_id, const char *contact_id,
                            const char *account_id, struct store_conversation *out, struct err *e);
/* E-mail threading: the conversation on account_id holding the message
 * whose Message-ID is rfc_message_id (angle brackets included; the newest
 * when several do): id and status into out. ERR_NOTFOUND when none. */
int store_conversation_by_rfc_message_id(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                         const char *rfc_message_id, struct store_conversation *out, struct err *e);
/* Insert c (id "cnv_…" generated when empty; status, channel, times as
 * given). When (contact, account) already has one, nothing is inserted and
 * *out_dup is 1. */
/* The customer's last message time (0 when never) on account_id from the
 * identity (kind, normalised address): the messaging window. Pooled read. */
int store_conversation_last_inbound(struct store *db, const char *tenant_id, const char *account_id, const char *kind,
                                    const char *address, int64_t *out, struct err *e);
int store_conversation_insert(struct store_tx *tx, const char *tenant_id, struct store_conversation *c,
                              int *out_dup, struct err *e);
/* A message was added at `at`: last_message_at (and the contact's
 * last_activity_at) move forward (never back) and updated_at = now. inbound also moves last_inbound_at forward, adds
 * one to unread and reopens a resolved conversation. ERR_NOTFOUND. */
int store_conversation_touch(struct store_tx *tx, const char *tenant_id, const char *conversation_id, int64_t at,
                             int inbound, int64_t now, struct err *e);

/* The conversation's unread counter inside tx into *out. ERR_NOTFOUND. */
int store_conversation_unread_tx(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                 int64_t *out, struct err *e);
/* Set the unread counter to 0 inside tx; *out_before (may be NULL) gets
 * what it was (0: nothing changed). ERR_NOTFOUND. */
int store_conversation_mark_read(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                 int64_t *out_before, struct err *e);

/* Insert a message (id "msg_…" generated when empty; updated_at 0 = created_at).
 * When (account, provider_message_id) or (tenant, idempotency_key) already
 * exists, nothing changes, *out_dup is 1 and m->id and m->conversation_id
 * receive the existing message's. ERR_INVALID for a bad foreign key. */
int store_message_insert(struct store_tx *tx, const char *tenant_id, struct store_message *m, int *out_dup,
                         struct err *e);
/* Status state of the message with this provider id on this account, or
 * (by_id) of the message with this id; lock != 0 locks the row until the
 * transaction ends (SELECT … FOR UPDATE on PostgreSQL; SQLite's write
 * transaction already serialises). ERR_NOTFOUND. */
int store_message_state_by_provider(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                    const char *provider_message_id, int lock, struct store_message_state *out,
                                    struct err *e);
int store_message_state_by_id(struct store_tx *tx, const char *tenant_id, const char *message_id, int lock,
                              struct store_message_state *out, struct err *e);
/* The message holding an idempotency key: id and conversation into out. ERR_NOTFOUND. */
int store_message_state_by_key(struct store_tx *tx, const char *tenant_id, const char *idempotency_key,
                               struct store_message_state *out, struct err *e);
/* Write st back: status, the four time columns, provider_message_id (kept
 * when st's is ""), error code and text (kept when NULL/""), updated_at. */
int store_message_state_write(struct store_tx *tx, const char *tenant_id, const struct store_message_state *st,
                              const char *error_code, const char *error_text, int64_t now, struct err *e);
/* Append one row to a message's status history. */
int store_message_event_insert(struct store_tx *tx, const char *tenant_id, const char *message_id,
                               const char *status, int64_t provider_ts, int64_t received_at, const char *error_code,
                               const char *error_text, int applied, struct err *e);

/* A message by id read inside tx (sees the transaction's own writes); the
 * row is borrowed for cb. ERR_NOTFOUND. */
int store_message_get_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, store_message_cb cb,
                         void *ud, struct err *e);

/* Reads (each on a pooled connection). */
int store_message_get(struct store *db, const char *tenant_id, const char *message_id, store_message_cb cb,
                      void *ud, struct err *e);
/* Messages of a conversation oldest first, after the position (after_at,
 * after_id) in (created_at, id) order (after_at < 0: from the start), at
 * most limit. */
int store_message_list(struct store *db, const char *tenant_id, const char *conversation_id, int64_t after_at,
                       const char *after_id, int limit, store_message_cb cb, void *ud, struct err *e);
/* A message's status history, oldest first. */
int store_message_event_list(struct store *db, const char *tenant_id, const char *message_id,
                             store_message_event_cb cb, void *ud, struct err *e);
int store_conversation_get(struct store *db, const char *tenant_id, const char *conversation_id,
                           struct store_conversation *out, struct err *e);

/* Filters of a conversation list; NULL/"" = any; they combine (AND).
 * assignee "none" means unassigned. q keeps the conversations whose
 * contact's name contains it (case-insensitive) or one of whose contact's
 * identity addresses contains it (lower-cased; when q looks like a phone
 * number, i.e. only digits, spaces, "+", "-", ".", "(", ")", its digits
 * alone, so "+1 555" and "1555" both find "+15550100"). unread 1 keeps
 * those with unread > 0. */
struct store_conversation_filter {
    const char *status;
    const char *channel;
    const char *assignee;
    const char *account_id;
    const char *q;
    int unread;
};

/* Conversations newest activity first, (last_message_at, id) descending,
 * strictly before the position (before_at, before_id) (before_at < 0: from
 * the start), at most limit. One statement: each row carries its account
 * and assignee names and its latest message. Only the given filters are in
 * the statement, so each can use its index (migration 0010). */
int store_conversation_list(struct store *db, const char *tenant_id, const struct store_conversation_filter *f,
                            int64_t before_at, const char *before_id, int limit, store_conversation_cb cb, void *ud,
                            struct err *e);
/* Set status (NULL = unchanged) and, when set_assignee, assignee_id
 * (NULL/"" = unassigned), with updated_at = now, in one statement.
 * ERR_NOTFOUND. */
int store_conversation_update(struct store *db, const char *tenant_id, const char *conversation_id,
                              const char *status, int set_assignee, const char *assignee_id, int64_t now,
                              struct err *e);
int store_contact_get(struct store *db, const char *tenant_id, const char *contact_id, store_contact_cb cb,
                      void *ud, struct err *e);
/* Contacts newest activity first, (last_activity_at, id) descending,
 * strictly before (before_at, before_id) (before_at < 0: from the start), at
 * most limit; q (NULL/"" = all) keeps those whose name or an identity
 * address contains it (case-insensitive, ASCII), or, when q is written like
 * a phone number (digits with "+", spaces, dashes, dots, parentheses), an
 * address containing its digits. */
int store_contact_list(struct store *db, const char *tenant_id, const char *q, int64_t before_at,
                       const char *before_id, int limit, store_contact_cb cb, void *ud, struct err *e);

/* Test fixtures only: a bare channel account row (foreign key of
 * conversations and messages), account_key = id. Channel accounts proper
 * (credentials, keys, removal) are store_account.c's. */
int store_crm_account_seed(struct store *db, const char *tenant_id, const char *account_id, const char *provider,
                           const char *channel, struct err *e);


/* -------------------- ingestion, security events, opt-outs (store_ingest.c) */

/* One received provider event (inbound_events): the normalised event as JSON
 * (src/webhook/ writes it, the inbound.process job reads it back), keyed by
 * the receipt (account_id, event_id) that makes a redelivery a no-op. */
struct store_inbound_event {
    char id[CORE_ID_MAX];          /* "iev_…"; filled by insert when empty */
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    const char *event_id;          /* provider id, or hex sha256 of the canonical event; borrowed */
    char kind[16];                 /* message | status */
    const char *payload;           /* JSON object text; borrowed */
    int64_t received_at;           /* Unix ms */
};

/* Insert inside tx unless the account already has this event_id; then
 * nothing is written. *out_inserted (may be NULL): 1 when the row is new, 0
 * for a duplicate. Fills ev->id when empty and ev->tenant_id. ERR_INVALID
 * (missing field, kind not message|status), ERR_INVALID for an unknown
 * account (foreign key), store errors. */
int store_inbound_insert(struct store_tx *tx, const char *tenant_id, struct store_inbound_event *ev,
                         int *out_inserted, struct err *e);
typedef int (*store_inbound_cb)(void *ud, const struct store_inbound_event *ev);
/* The tenant's inbound event by id (strings borrowed for the callback);
 * ERR_NOTFOUND, also when it belongs to another tenant. */
int store_inbound_get(struct store *db, const char *tenant_id, const char *id, store_inbound_cb cb, void *ud,
                      struct err *e);

/* A security-relevant refusal: who, from where, why; never a payload. */
struct store_security_event {
    int64_t id;                    /* assigned by insert; ascending */
    char tenant_id[CORE_ID_MAX];   /* "" when no tenant could be named */
    int64_t at;                    /* Unix ms */
    char kind[32];                 /* e.g. webhook_refused */
    char provider[16];
    char account_id[CORE_ID_MAX];  /* "" when none */
    char ip[64];
    char reason[48];               /* bad_signature | missing_signature | replay | … */
};

/* Record one (tenant_id NULL or "" when unknown: the only case that is not
 * tenant-scoped). ERR_INVALID without kind or reason, store errors. The tx
 * variant writes inside a caller's (or the group writer's) transaction. */
int store_security_event_insert(struct store *db, const char *tenant_id, const struct store_security_event *ev,
                                struct err *e);
int store_security_event_insert_tx(struct store_tx *tx, const char *tenant_id,
                                   const struct store_security_event *ev, struct err *e);
typedef int (*store_security_event_cb)(void *ud, const struct store_security_event *ev);
/* The tenant's security events, newest first, at most limit (<= 0: 100),
 * with id < before_id when before_id > 0 (cursor). */
int store_security_event_list(struct store *db, const char *tenant_id, int64_t before_id, int limit,
                              store_security_event_cb cb, void *ud, struct err *e);


/* ------------------------------------ realtime event log (store_events.c) */

/* One row of the realtime event log. type and data (JSON object text) are
 * borrowed: from the caller on append, from the row in a callback. */
struct store_event {
    int64_t seq;                  /* per tenant: 1, 2, … in commit order, no gaps */
    char tenant_id[CORE_ID_MAX];
    char type[64];                /* "message.created", "message.status", … */
    const char *data;
    int64_t created_at;           /* ms */
};

typedef int (*store_event_cb)(void *ud, const struct store_event *ev);

/* Append an event inside tx: seq = the tenant's last seq + 1, written to
 * *out_seq (may be NULL). Serialised per tenant until tx ends (BEGIN
 * IMMEDIATE on SQLite, a per-tenant advisory transaction lock on
 * PostgreSQL), so seq order is commit order and a rolled-back append frees
 * its seq for the next one: readers never see a gap. Call it last in the
 * transaction, just before the commit, to hold the lock briefly.
 * created_at <= 0 means now. ERR_INVALID without a tenant, type or data;
 * ERR_NOTFOUND when the tenant does not exist. */
int store_event_append(struct store_tx *tx, const char *tenant_id, const char *type, const char *data,
                       int64_t created_at, int64_t *out_seq, struct err *e);
/* The tenant's events with seq > after_seq, ascending, at most limit (<= 0:
 * all). cb runs per row while a connection is held. */
int store_event_list(struct store *db, const char *tenant_id, int64_t after_seq, int limit, store_event_cb cb,
                     void *ud, struct err *e);
/* The tenant's oldest retained and newest seq; both 0 when it has none. */
int store_event_bounds(struct store *db, const char *tenant_id, int64_t *out_first, int64_t *out_last,
                       struct err *e);
/* Global (maintenance): delete at most limit events created before
 * before_ms, oldest first, across tenants, but never a tenant's newest event
 * (its seq is where the next append continues). *out_deleted (may be NULL)
 * receives the count. */
int store_event_prune(struct store *db, int64_t before_ms, int limit, int64_t *out_deleted, struct err *e);


/* ------------------------------------------- monitoring (store_monitoring.c) */

/* One aggregate row of a tenant's traffic: k1..k3 name the group (see each
 * function), n counts it, sum_ms adds its durations where there are some. */
struct store_agg_row {
    char k1[32];
    char k2[32];
    char k3[64];
    int64_t n;
};
typedef int (*store_agg_cb)(void *ud, const struct store_agg_row *row);

/* Messages created in [from, to) by channel (k1), direction (k2) and
 * status (k3); channel NULL = every channel. */
int store_monitor_messages(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           store_agg_cb cb, void *ud, struct err *e);
/* Failed and undelivered messages created in [from, to) by channel (k1)
 * and error code (k3; "" when none), most frequent first, at most limit. */
int store_monitor_failures(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                           int limit, store_agg_cb cb, void *ud, struct err *e);
/* Status callbacks received in [from, to) that carry the provider's time,
 * by provider (k1) and latency bucket (k2: the bucket's upper bound in ms
 * from bounds_ms, "+Inf" above the last). */
int store_monitor_latency(struct store *db, const char *tenant_id, int64_t from, int64_t to, const char *channel,
                          const int64_t *bounds_ms, int nbounds, store_agg_cb cb, void *ud, struct err *e);
/* The tenant's jobs waiting (k1 "queued"), running and dead, by type (k2). */
int store_monitor_jobs(struct store *db, const char *tenant_id, store_agg_cb cb, void *ud, struct err *e);

/* ------------------------------------------------ opt-outs (store_compliance.c) */

struct store_opt_out {
    char account_id[CORE_ID_MAX];
    char address[STORE_ADDRESS_MAX]; /* normalised (E.164, lower-case email) */
    char keyword[32];           /* the word that opted out, "" when manual */
    char source[16];            /* keyword | manual */
    int64_t created_at;
};

/* Record (or refresh) an opt-out of address from one channel account, in
 * the caller's transaction. */
int store_opt_out_put(struct store_tx *tx, const char *tenant_id, const struct store_opt_out *o, struct err *e);
/* Remove it (START); *out_removed (may be NULL) says whether one existed. */
int store_opt_out_delete(struct store_tx *tx, const char *tenant_id, const char *account_id, const char *address,
                         int *out_removed, struct err *e);
/* 0 and *out filled when address is opted out of the account, ERR_NOTFOUND when not. */
int store_opt_out_get(struct store *db, const char *tenant_id, const char *account_id, const char *address,
                      struct store_opt_out *out, struct err *e);

/* Suppressions (table suppressions): tenant_id "" is the global list,
 * channel "*" every channel. */
struct store_suppression {
    char tenant_id[CORE_ID_MAX];     /* "" = global */
    char channel[16];
    char address[STORE_ADDRESS_MAX];
    char reason[256];
    char source[20];                 /* keyword | bounce | complaint | unsubscribe_link | manual | import | blocked */
    char created_by[CORE_ID_MAX];
    int64_t created_at;
};

/* Add (or refresh reason, source and time of) a suppression, in the
 * caller's transaction. */
int store_suppression_put(struct store_tx *tx, const struct store_suppression *s, struct err *e);
/* The entry that suppresses address on channel for tenant_id: the tenant's
 * own before the global list, an exact channel before "*". 0 and *out
 * filled, or ERR_NOTFOUND. */
int store_suppression_find(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           struct store_suppression *out, struct err *e);
/* Delete the tenant's own entry for (channel, address) when its source is
 * source, in the caller's transaction; *out_deleted (may be NULL) is 1 when
 * one went. Entries of other sources and the global list stay. */
int store_suppression_delete_source(struct store_tx *tx, const char *tenant_id, const char *channel,
                                    const char *address, const char *source, int *out_deleted, struct err *e);

/* A tenant's suppression list (tenant_id "": the global list), newest
 * first, filtered by channel, address and source ("" or NULL: any), after
 * the keyset (before_at, before_channel, before_address) when before_at > 0,
 * at most limit rows. cb gets each row, borrowed for the call, while a
 * store connection is held. */
typedef int (*store_suppression_cb)(void *ud, const struct store_suppression *s);
int store_suppression_list(struct store *db, const char *tenant_id, const char *channel, const char *address,
                           const char *source, int64_t before_at, const char *before_channel,
                           const char *before_address, int limit, store_suppression_cb cb, void *ud,
                           struct err *e);
/* Remove one entry (tenant_id "": global), in the caller's transaction;
 * *out_removed (may be NULL) = 1 when a row went, and *out (may be NULL)
 * receives it. */
int store_suppression_delete(struct store_tx *tx, const char *tenant_id, const char *channel, const char *address,
                             struct store_suppression *out, int *out_removed, struct err *e);

/* Review items (table compliance_reviews): a reply that looks like an
 * opt-out without being a keyword, waiting for a person. */
struct store_review {
    char id[CORE_ID_MAX];            /* "crv_…" */
    char account_id[CORE_ID_MAX];
    char channel[16];
    char address[STORE_ADDRESS_MAX];
    char message_id[CORE_ID_MAX];
    char excerpt[512];
    char phrase[64];
    char status[16];                 /* open | opted_out | dismissed */
    char resolved_by[CORE_ID_MAX];
    int64_t created_at;
    int64_t resolved_at;             /* 0 = open */
};
typedef int (*store_review_cb)(void *ud, const struct store_review *r);
/* Add an open item in the caller's transaction; one per inbound message
 * (a second put for the same message_id changes nothing, *out_created = 0). */
int store_review_put(struct store_tx *tx, const char *tenant_id, const struct store_review *r, int *out_created,
                     struct err *e);
/* The tenant's items with status ("" or NULL: any), newest first, with id <
 * before_id when before_id is set, at most limit. */
int store_review_list(struct store *db, const char *tenant_id, const char *status, const char *before_id, int limit,
                      store_review_cb cb, void *ud, struct err *e);
/* Close an open item in the caller's transaction: status opted_out or
 * dismissed, by whom and when; *out filled with the item as it is after.
 * ERR_NOTFOUND (no such item), ERR_CONFLICT (already resolved). */
int store_review_resolve(struct store_tx *tx, const char *tenant_id, const char *id, const char *status,
                         const char *resolved_by, int64_t at, struct store_review *out, struct err *e);

/* ------------------------------------------------------------------ media */

/* Inbound media (table media): one row per item of a message's media array,
 * pending until the media.fetch job stores the file or records why not. */
#define STORE_MEDIA_URL_MAX 1024
struct store_media {
    char id[CORE_ID_MAX];            /* "med_…" */
    char message_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    int item;                        /* index in the message's media array */
    char status[16];                 /* pending | stored | failed */
    char source_url[STORE_MEDIA_URL_MAX];  /* "" = none (fetched by id) */
    char provider_media_id[256];
    char provider_content_type[128];
    char content_type[128];          /* the type served (sniffed); "" until stored */
    int64_t size;
    char sha256[65];
    char storage_key[192];
    char error_code[48];
    char error_text[256];
    int64_t attempts;
    int64_t created_at;
    int64_t updated_at;
};

/* Insert a pending row inside tx (id, message_id, account_id, item and
 * times as given). ERR_CONFLICT when (message, item) has one already. */
int store_media_insert(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e);
/* The tenant's media row by id. ERR_NOTFOUND. */
int store_media_get(struct store *db, const char *tenant_id, const char *media_id, struct store_media *out,
                    struct err *e);
/* The same inside tx. ERR_NOTFOUND. */
int store_media_get_tx(struct store_tx *tx, const char *tenant_id, const char *media_id, struct store_media *out,
                       struct err *e);
/* Write the outcome of a fetch inside tx: status, content_type, size,
 * sha256, storage_key, error_code, error_text, attempts, updated_at.
 * ERR_NOTFOUND. */
int store_media_update(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e);
/* Replace a message's media JSON array inside tx (updated_at = now).
 * ERR_NOTFOUND. */
int store_message_media_set(struct store_tx *tx, const char *tenant_id, const char *message_id,
                            const char *media_json, int64_t now, struct err *e);

/* ------------------------------------------------------- website chat */

/* A visitor's widget session (table webchat_sessions, store_webchat.c). The
 * session id is the visitor's address: identity kind "webchat". */
struct store_webchat_session {
    char id[CORE_ID_MAX];            /* "wcs_…" */
    char account_id[CORE_ID_MAX];
    char secret_hash[65];            /* hex SHA-256 of the secret the widget keeps */
    char contact_id[CORE_ID_MAX];    /* "" until linked */
    char name[128];
    char email[STORE_ADDRESS_MAX];   /* normalised; "" = none */
    char ip[64];
    char user_agent[256];
    int64_t created_at;
    int64_t last_seen_at;
};

/* Insert s in the caller's transaction. ERR_CONFLICT for a duplicate id or
 * secret hash, ERR_NOTFOUND for an unknown tenant or account. */
int store_webchat_session_insert(struct store_tx *tx, const char *tenant_id, const struct store_webchat_session *s,
                                 struct err *e);
/* The account's session whose secret hashes to secret_hash. ERR_NOTFOUND. */
int store_webchat_session_by_hash(struct store *db, const char *tenant_id, const char *account_id,
                                  const char *secret_hash, struct store_webchat_session *out, struct err *e);
/* last_seen_at = now. ERR_NOTFOUND. */
int store_webchat_session_touch(struct store *db, const char *tenant_id, const char *session_id, int64_t now,
                                struct err *e);
/* The latest limit messages of the session's conversation on account_id
 * whose customer address is the session id, handed to cb oldest first
 * (only the members the widget shows are filled: id, conversation_id,
 * account_id, direction, type, body, media, status, provider_message_id,
 * origin, created_at). None (0) before the first message. */
int store_webchat_messages(struct store *db, const char *tenant_id, const char *account_id, const char *session_id,
                           int limit, store_message_cb cb, void *ud, struct err *e);

/* ---------------------------------------------- e-mail (store_email.c) */

typedef int (*store_rfc_id_cb)(void *ud, const char *direction, const char *rfc_message_id, int64_t created_at);
/* The Message-IDs of a conversation's messages created at or before until
 * (Unix ms), newest first, at most limit (<= 0: 20), leaving out exclude_id
 * (a message id, or NULL) and messages without one. Pooled read; cb gets
 * borrowed strings. */
int store_message_rfc_ids(struct store *db, const char *tenant_id, const char *conversation_id,
                          const char *exclude_id, int64_t until, int limit, store_rfc_id_cb cb, void *ud,
                          struct err *e);

#endif
