/*
 * messaging: the messaging core that ties channels to conversations.
 *
 * Channel accounts (a tenant's Twilio number, WhatsApp phone number, …):
 * created with their provider credentials sealed under the key ring
 * (secret "channel/<account id>"), named in webhook URLs by a public
 * account key, cached in memory as immutable snapshots with the decrypted
 * credentials so the webhook hot path never decrypts or queries twice.
 * The job handlers (inbound.process, outbound.send) and the outbound API
 * live here too (messaging_pipeline.c).
 *
 * Provider templates (WhatsApp, synced from Meta) and tenant settings live
 * here too, as do the provider connection settings every send uses.
 *
 * Thread-safe after messaging_new. Errors: ERR_INVALID (bad provider or
 * settings, with a slug), ERR_NOTFOUND, ERR_CONFLICT, store errors.
 */
#ifndef SB_MESSAGING_H
#define SB_MESSAGING_H

#include <stdint.h>

#include "channel/channel.h"
#include "core/core.h"
#include "crm/crm.h"
#include "ops/ops.h"
#include "queue/queue.h"
#include "store/store.h"

struct messaging;

struct messaging_options {
    const struct config *cfg;   /* public_url, provider bases and timeout */
    struct store *db;
    struct ops_keyring *keys;   /* seals and opens account credentials */
    struct queue *queue;        /* job types are registered on it; NULL for CLI use */
    int64_t account_cache_ms;   /* how long a snapshot is trusted; <= 0 means 5000 */
    struct store_writer *writer; /* group commit for the outbound API; NULL: one transaction per call */
    void (*notify)(void *ud);   /* rung after a commit that appended realtime events (the server's
                                 * event pump, http_event_poke); NULL when none runs in this process */
    void *notify_ud;
};

/* What opt points to is borrowed and must outlive m. Call it before other
 * threads start (it initialises libcurl). ERR_INVALID without cfg, db or
 * keys; ERR_NOMEM. */
int messaging_new(struct messaging **out, const struct messaging_options *opt, struct err *e);
/* After every other thread is done with m (refs may outlive it). NULL is a no-op. */
void messaging_free(struct messaging *m);

/* Where adapters reach providers: base URLs and timeout from the config,
 * a libcurl share (DNS cache, TLS sessions; locked for threads) and a pool
 * of kept-alive connections, so concurrent sends reuse TCP/TLS connections
 * instead of opening one per message. Borrowed from m, any thread. */
const struct channel_env *messaging_channel_env(struct messaging *m);

/* ------------------------------------------------------ channel accounts */

struct messaging_account {
    char id[CORE_ID_MAX];          /* "cha_…" */
    char tenant_id[CORE_ID_MAX];
    char provider[16];             /* twilio | whatsapp: the adapter */
    char channel[16];              /* sms | whatsapp: what users see */
    char name[128];
    char account_key[64];          /* public; in webhook URLs (192 random bits, URL-safe) */
    char address[128];             /* our sender: From number, messaging service or phone number id */
    int64_t created_at;
    int64_t removed_at;            /* 0 = active */
};

/* A cached account with its adapter and decrypted credentials. Immutable
 * and reference-counted: valid until messaging_account_release, from any
 * thread. */
struct messaging_account_ref {
    struct messaging_account acct;
    const struct channel_adapter *adapter;
    struct channel_creds creds;
};

/* What creating a WhatsApp account with a waba_id did about its templates:
 * they are synced at once, and a failure there does not fail the create. */
struct messaging_sync_report {
    int attempted;                 /* 1 when a sync was tried */
    int rc;                        /* 0, or the sync's error code */
    int count;                     /* templates synced */
    struct err err;                /* why it failed */
    char inbound_secret[64];       /* sendgrid: the Inbound Parse secret (given or generated), shown in the
                                    * creation answer only; "" otherwise */
};

/* Create an account: provider is "twilio", "whatsapp" or "sendgrid"; settings are the
 * provider's credentials and options as name/value pairs, checked for the
 * required ones (twilio: account_sid (AC + 32 hex), auth_token, and from
 * (E.164) or messaging_service_sid (MG + 32 hex); whatsapp:
 * phone_number_id, access_token, app_secret, verify_token; waba_id
 * optional; sendgrid (channel email): api_key, from_email (the account's
 * address); from_name, event_public_key (base64 DER, needed for the Event
 * Webhook) and inbound_secret (>= 16 characters, generated when absent and
 * returned once in sync->inbound_secret) optional). ERR_INVALID "invalid_channel_settings" naming what is missing
 * or malformed (never a value), ERR_NOTFOUND for an unknown tenant. The row
 * and its sealed credentials (secret "channel/<id>") are written in one
 * transaction. Audited (channel.create) with actor and ip (may be ""). When
 * sync is not NULL and the account is WhatsApp with a waba_id, its templates
 * are synced and the outcome reported there. */
int messaging_account_create(struct messaging *m, const char *tenant_id, const char *provider, const char *name,
                             const struct channel_kv *settings, size_t nsettings, const char *actor_type,
                             const char *actor_id, const char *ip, struct messaging_account *out,
                             struct messaging_sync_report *sync, struct err *e);
/* Soft-remove: the account keeps its history, takes no more webhooks or
 * sends (at once in this process, within account_cache_ms elsewhere), and
 * its credentials are deleted with it. ERR_NOTFOUND. Audited. */
int messaging_account_remove(struct messaging *m, const char *tenant_id, const char *account_id,
                             const char *actor_type, const char *actor_id, const char *ip, struct err *e);
typedef int (*messaging_account_cb)(void *ud, const struct messaging_account *a);
/* The tenant's active accounts, oldest first. cb runs while a store
 * connection is held (same contract as store list callbacks). */
int messaging_account_list(struct messaging *m, const char *tenant_id, messaging_account_cb cb, void *ud,
                           struct err *e);
/* Snapshot by public key (webhooks; global: the key names the tenant) or by
 * tenant and id. ERR_NOTFOUND for unknown, removed or other-provider
 * accounts. Served from memory for account_cache_ms (unknown keys too, in a
 * bounded negative cache), so the webhook hot path neither queries nor
 * decrypts per request. ERR_FORBIDDEN when the credentials cannot be
 * decrypted, store errors. Release every acquired ref. */
int messaging_account_by_key(struct messaging *m, const char *provider, const char *account_key,
                             const struct messaging_account_ref **out, struct err *e);
int messaging_account_get(struct messaging *m, const char *tenant_id, const char *account_id,
                          const struct messaging_account_ref **out, struct err *e);
void messaging_account_release(const struct messaging_account_ref *ref); /* NULL is a no-op */
/* Append the account's public JSON object (never credentials): id, provider,
 * channel, name, account_key, address, created_at and webhook_urls (what to
 * paste at the provider, under SB_PUBLIC_URL: twilio {inbound,
 * status_callback}, one URL for both; whatsapp {callback,
 * verify_token_set}; sendgrid {event_webhook, inbound_parse,
 * inbound_secret_set}, inbound_parse with "?secret=…" only when sync
 * carries the secret, i.e. in the creation answer). With a sync report that was attempted, also
 * "templates": {"synced": n} or {"synced": 0, "warning": "…"}. */
void messaging_account_json(struct messaging *m, struct buf *b, const struct messaging_account *a,
                            const struct messaging_sync_report *sync);

/* Append the account's webhook URL: SB_PUBLIC_URL/webhooks/<provider>/<key>
 * (Twilio: inbound messages and status callbacks; Meta: the callback URL). */
void messaging_account_webhook_url(struct messaging *m, const struct messaging_account *a, struct buf *b);

/* Cache counters (for metrics and tests). */
struct messaging_cache_stats {
    uint64_t hits;                 /* answered from memory, found or not */
    uint64_t loads;                /* database lookups */
    size_t entries;                /* cached accounts */
    size_t negative;               /* cached unknown keys and ids (bounded) */
};
void messaging_account_cache_stats(struct messaging *m, struct messaging_cache_stats *out);

/* ------------------------------------------------------------- templates */

/* Fetch the account's templates from the provider and store them (all in
 * one transaction): new ones are added, known ones updated, and after a
 * complete listing the ones the provider no longer has become "deleted".
 * *out_count (may be NULL) = templates listed. ERR_NOTFOUND (no such active
 * account), ERR_INVALID "waba_id_required" (WhatsApp without waba_id) or
 * "templates_unsupported" (Twilio), provider errors (ERR_UPSTREAM,
 * ERR_TIMEOUT, ERR_RATELIMIT); on any error nothing changes. */
int messaging_template_sync(struct messaging *m, const char *tenant_id, const char *account_id, int *out_count,
                            struct err *e);
/* One template by (account, name, language): its status ("approved" is the
 * only one the outbound API may send) and body. ERR_NOTFOUND when unknown. */
int messaging_template_get(struct messaging *m, const char *tenant_id, const char *account_id, const char *name,
                           const char *language, struct store_template *out, struct err *e);
/* The account's templates by name and language; ERR_NOTFOUND when the
 * tenant has no such active account. Callback contract as store lists. */
int messaging_template_list(struct messaging *m, const char *tenant_id, const char *account_id,
                            store_template_cb cb, void *ud, struct err *e);
/* {name, language, status, category, body, updated_at}. */
void messaging_template_json(struct buf *b, const struct store_template *t);

/* ---------------------------------------------------------- tenant settings */

/* The known settings, each with a default and a length limit:
 * help_text: what a HELP/INFO keyword reply says (at most 320 characters;
 * default "Reply STOP to unsubscribe, START to resubscribe."). */

/* The effective value (the tenant's, else the default); *out malloc'd.
 * ERR_INVALID "unknown_setting". */
int messaging_setting_get(struct messaging *m, const char *tenant_id, const char *name, char **out, struct err *e);
/* Check a value without storing it: ERR_INVALID "unknown_setting" or
 * "invalid_setting" (empty, too long, control characters). value NULL
 * means "back to the default" and is always valid for a known name. */
int messaging_setting_check(const char *name, const char *value, struct err *e);
/* Store (value NULL: back to the default). Audited (settings.update, the
 * name only). ERR_INVALID as above, ERR_NOTFOUND for an unknown tenant. */
int messaging_setting_set(struct messaging *m, const char *tenant_id, const char *name, const char *value,
                          const char *actor_type, const char *actor_id, const char *ip, struct err *e);
/* Append {"<name>": "<effective value>", …} for every known setting. */
int messaging_settings_json(struct messaging *m, const char *tenant_id, struct buf *b, struct err *e);

/* -------------------------------------------------------------- pipeline */

/* The job types messaging_new registers on opt->queue: one received
 * webhook event (payload {"inbound_event":"iev_…"}: contact, conversation,
 * message, opt-out keywords, status callbacks, realtime events) and one
 * queued outbound message (payload {"message_id":"msg_…"}: the provider
 * call and its result). Both run in batches, one transaction per batch. */
#define MESSAGING_JOB_INBOUND "inbound.process"
#define MESSAGING_JOB_SEND "outbound.send"

/* An outbound message as the API asks for it; borrowed for the call. */
struct messaging_send_request {
    const char *account_id;            /* the channel account to send from */
    const char *to;                    /* an address (E.164, …) or NULL with contact_id */
    const char *contact_id;            /* a contact with an identity on the account's channel */
    const char *text;                  /* free-form text (or a media caption) */
    const char *const *media_urls;     /* public URLs the provider fetches */
    size_t nmedia;
    const char *template_name;         /* an approved template instead of text */
    const char *template_language;     /* e.g. "en_US"; NULL means "en_US" */
    const char *const *template_vars;  /* the template's body variables, in order */
    size_t ntemplate_vars;
    const char *idempotency_key;       /* the same key returns the first message, never a second send */
    const char *origin;                /* agent (a person, dashboard session) | api (an API key) | assistant |
                                        * campaign | system; NULL = "api". Channel rules depend on it. */
    const char *sent_by;               /* the user or API key id; NULL = none */
    const char *subject;               /* e-mail: required there, refused elsewhere */
    const char *html;                  /* e-mail: an HTML alternative of text */
};

/* How messaging_send ends: rc 0 with the message object (crm_message_json)
 * and replayed = 1 when the idempotency key named an existing message; or
 * an error (e) — nothing was queued then. Runs on a writer thread (or the
 * caller's, without a writer): must not block. */
typedef void (*messaging_send_done_fn)(void *ud, int rc, const struct err *e, const char *message_json, int replayed);

/* Check and queue one outbound message: the account (ERR_NOTFOUND
 * "account_not_found"), the recipient (ERR_INVALID "invalid_address",
 * "no_address" for a contact without an identity on that channel), the
 * content (ERR_INVALID "invalid_message": text or template, not both;
 * length and media within the channel's limits), then compliance before
 * anything is written (compliance_check_send: "opted_out",
 * "outside_window", "template_not_found", "template_not_approved"), then
 * in one transaction the message (queued), its outbound.send job and its
 * message.created event. An idempotency key already used in the tenant
 * returns that message instead (no checks, nothing new). Returns non-zero
 * when it fails before queueing (done is not called); otherwise done runs
 * exactly once, after the commit. */
int messaging_send(struct messaging *m, const char *tenant_id, const struct messaging_send_request *req,
                   messaging_send_done_fn done, void *ud, struct err *e);

#endif
