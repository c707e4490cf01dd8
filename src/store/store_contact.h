/*
 * store_contact.h: editing contacts by hand (create, rename, identities,
 * merging one contact into another) and the per-contact reads the contact
 * page shows (engagement counts, opt-outs by address). Part of store.h
 * (which includes it), with its conventions; the rules live in src/crm/.
 */
#ifndef SB_STORE_CONTACT_H
#define SB_STORE_CONTACT_H

#include "store/store.h"

/* Lock the contact for the rest of tx (SELECT … FOR UPDATE on PostgreSQL:
 * a concurrent inbound message that links a conversation to it waits, or
 * waits for this; SQLite's write transaction already serialises) and read
 * its name (may be NULL). ERR_NOTFOUND for another tenant's or an unknown
 * contact. */
int store_contact_lock(struct store_tx *tx, const char *tenant_id, const char *contact_id, char *name,
                       size_t namelen, struct err *e);
/* The contact's number of identities and of conversations, inside tx. */
int store_contact_counts(struct store_tx *tx, const char *tenant_id, const char *contact_id, int64_t *out_identities,
                         int64_t *out_conversations, struct err *e);
/* Set the name (NULL: unchanged) and updated_at = now. ERR_NOTFOUND. */
int store_contact_set(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *name,
                      int64_t now, struct err *e);
/* Unlink (kind, address) from contact_id; *out_removed = 1 when it was
 * the contact's (0 and nothing changed otherwise). */
int store_identity_delete(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *kind,
                          const char *address, int *out_removed, struct err *e);

/* What a merge moved. */
struct store_contact_merge {
    int64_t identities;            /* identities that now point to the target */
    int64_t conversations_moved;   /* source conversations that now belong to the target */
    int64_t conversations_folded;  /* source conversations whose messages went into the target's
                                    * conversation on the same account, then were deleted */
    int64_t messages;              /* messages of the source's conversations (moved either way) */
};

/* Merge source_id into target_id inside tx (both contacts of the tenant,
 * different; the caller checked and locked them with store_contact_lock,
 * lower id first): every identity and website chat session of the source
 * moves to the target; a source conversation on an account where the
 * target has none moves as it is; one on an account where the target has
 * one is folded into it (its messages move; last_message_at and
 * last_inbound_at become the later of both, unread their sum, status the
 * more active (open, then pending, then resolved), the assignee the
 * target's or else the source's) and deleted. The target keeps its name
 * (takes the source's when it has none), last_activity_at becomes the
 * later of both, updated_at = now; then the source is deleted. Source
 * conversations are locked first on PostgreSQL, so a message being
 * recorded into one concurrently either commits before the move (and
 * moves) or fails on the deleted row and is retried by its job. */
int store_contact_merge(struct store_tx *tx, const char *tenant_id, const char *target_id, const char *source_id,
                        int64_t now, struct store_contact_merge *out, struct err *e);

/* A contact's messages counted by direction and current status. */
struct store_contact_engagement {
    int64_t queued, sent, delivered, read, failed; /* outbound; failed includes undelivered */
    int64_t inbound;
    int64_t last_inbound_at;       /* Unix ms; 0 = never */
    int64_t last_outbound_at;      /* Unix ms; 0 = never */
};
/* Pooled read over the contact's conversations (all accounts). A contact
 * without messages (or an unknown one) counts zeros. */
int store_contact_engagement(struct store *db, const char *tenant_id, const char *contact_id,
                             struct store_contact_engagement *out, struct err *e);

/* The tenant's opt-outs of address, one per channel account it opted out
 * of, with that account's channel (borrowed for the call), oldest first.
 * Pooled read; cb runs while a connection is held. */
typedef int (*store_opt_out_cb)(void *ud, const struct store_opt_out *o, const char *channel);
int store_opt_out_by_address(struct store *db, const char *tenant_id, const char *address, store_opt_out_cb cb,
                             void *ud, struct err *e);

#endif
