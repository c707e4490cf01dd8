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
 * The provider side of templates (the WhatsApp sync from Meta and the
 * submission of approved templates; the templates themselves are the
 * template module's) and tenant settings live here too, as do the provider
 * connection settings every send uses.
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
struct media;

struct messaging_options {
    const struct config *cfg;   /* public_url, provider bases and timeout */
    struct store *db;
    struct ops_keyring *keys;   /* seals and opens account credentials */
    struct queue *queue;        /* job types are registered on it; NULL for CLI use */
    int64_t account_cache_ms;   /* how long a snapshot is trusted; <= 0 means 5000 */
    struct store_writer *writer; /* group commit for the outbound API; NULL: one transaction per call */
    struct ops_metrics *metrics; /* sb_messages_total, sb_message_failures_total, sb_callback_latency_seconds;
                                  * NULL: not counted */
    void (*notify)(void *ud);   /* rung after a commit that appended realtime events (the server's
                                 * event pump, http_event_poke); NULL when none runs in this process */
    void *notify_ud;
    struct media *media;        /* the media store: inbound media items are downloaded into it by
                                 * media.fetch jobs; NULL: media stay provider links only */
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
    char provider[16];             /* twilio | whatsapp | telegram | instagram | smtp | sendgrid | webchat */
    char channel[16];              /* sms | whatsapp | telegram | instagram | email | webchat: what users see */
    char name[128];
    char account_key[64];          /* public; in webhook URLs (192 random bits, URL-safe) */
    char address[128];             /* our sender: From number, messaging service, phone number id or bot username */
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

/* Create an account: provider is one of channel_find's adapters;
 * settings are the provider's credentials and options as name/value pairs,
 * checked for the required ones (twilio: account_sid (AC + 32 hex),
 * auth_token, and from (E.164) or messaging_service_sid (MG + 32 hex);
 * whatsapp: phone_number_id, access_token, app_secret, verify_token;
 * waba_id optional; telegram: bot_token ("<bot id>:<secret>"), secret_token
 * optional (1-256 of A-Z a-z 0-9 _ -; a random one is generated and stored
 * when absent); smtp: host and from_email, optional port, tls (starttls |
 * implicit | none, none for loopback hosts only), username with password,
 * from_name, ca_file; sendgrid (channel email): api_key, from_email (the
 * account's address); from_name, event_public_key (base64 DER, needed for
 * the Event Webhook) and inbound_secret (>= 16 characters, generated when
 * absent and returned once in sync->inbound_secret) optional; instagram,
 * webchat: see docs). ERR_INVALID "invalid_channel_settings" naming what is missing
 * or malformed (never a value), ERR_NOTFOUND for an unknown tenant. Telegram
 * accounts are connected before anything is stored: getMe names the bot
 * (the account's address is its username) and setWebhook points it at the
 * account's webhook URL with the secret token; a refusal there
 * (ERR_UPSTREAM "provider_rejected" with Telegram's description, or
 * ERR_UPSTREAM / ERR_TIMEOUT / ERR_RATELIMIT) creates nothing. The row
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
 * verify_token_set}; telegram {callback, secret_token_set, registered}; sendgrid {event_webhook, inbound_parse,
 * inbound_secret_set}, inbound_parse with "?secret=…" only when sync
 * carries the secret, i.e. in the creation answer). With a sync report that was attempted, also
 * "templates": {"synced": n} or {"synced": 0, "warning": "…"}. */
void messaging_account_json(struct messaging *m, struct buf *b, const struct messaging_account *a,
                            const struct messaging_sync_report *sync);

/* Check the account's credentials with its provider (the adapter's
 * test_connection: a read-only call, nothing sent): out->ok, detail and
 * code say what the provider answered; a provider that refuses, times out
 * or cannot be reached is out->ok = 0 with the reason, never an error.
 * Audited (channel.test, with ok, code and http_status; never a credential)
 * with actor and ip (may be ""). ERR_NOTFOUND for an unknown or removed
 * account; store errors. */
int messaging_account_test(struct messaging *m, const char *tenant_id, const char *account_id,
                           const char *actor_type, const char *actor_id, const char *ip,
                           struct channel_test_result *out, struct err *e);

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
/* The WhatsApp template (account, name, language) with its current
 * version (v may be NULL; caller clears it): its Meta status is
 * out->provider_status. ERR_NOTFOUND when unknown. */
int messaging_template_get(struct messaging *m, const char *tenant_id, const char *account_id, const char *name,
                           const char *language, struct store_template *out, struct store_template_version *v,
                           struct err *e);
/* The account's templates by name and language; ERR_NOTFOUND when the
 * tenant has no such active account. Callback contract as store lists. */
int messaging_template_list(struct messaging *m, const char *tenant_id, const char *account_id,
                            store_template_cb cb, void *ud, struct err *e);
/* {id, name, language, status, category, body, updated_at}: status is
 * Meta's (the workflow's when never submitted). */
void messaging_template_json(struct buf *b, const struct store_template *t, const struct store_template_version *v);
/* Submit the approved version of a WhatsApp template to Meta (a new
 * template, or an edit of the one Meta knows by its provider id) with the
 * account's credentials, and record Meta's answer (provider status and id,
 * or "submit_failed" with the reason; audited either way). Returns 0 when
 * Meta took it; else the provider error (the template keeps
 * "submit_failed", so a later submit can retry). ERR_INVALID
 * "invalid_state" when the template is not an approved WhatsApp one. */
int messaging_template_provider_submit(struct messaging *m, const char *tenant_id, const char *template_id,
                                       struct err *e);

/* ---------------------------------------------------------- tenant settings */

/* The known settings, each with a default and a length limit:
 * help_text: what a HELP/INFO keyword reply says (at most 320 characters;
 * default "Reply STOP to unsubscribe, START to resubscribe.");
 * quiet_hours_start, quiet_hours_end: HH:MM in the tenant's time zone,
 * unset by default (no quiet hours; both must be set);
 * timezone: an IANA name from the system tz database (default "UTC"). */

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
/* Append {"<name>": "<effective value>" or null when unset, …} for every known setting. */
int messaging_settings_json(struct messaging *m, const char *tenant_id, struct buf *b, struct err *e);

/* Opt-out keywords per channel (compliance_channels): the carrier defaults
 * unless the tenant set its own lists for that channel. The inbound path
 * reads them from a cached snapshot (no query per message). */
/* Append {"sms": {"default": true|false, "stop": […], "start": […],
 * "help": […]}, …} for every channel. */
int messaging_keywords_json(struct messaging *m, const char *tenant_id, struct buf *b, struct err *e);
/* Check without storing: ERR_INVALID "invalid_channel" or "invalid_keywords"
 * (compliance_keywords_parse). json NULL means "back to the defaults". */
int messaging_keywords_check(const char *channel, const char *json, struct err *e);
/* Store one channel's lists (json {"stop":[…],"start":[…],"help":[…]}, a
 * kind left out keeps its default) or, json NULL, go back to the defaults.
 * Audited (compliance.keywords.update). ERR_NOTFOUND for an unknown tenant. */
int messaging_keywords_set(struct messaging *m, const char *tenant_id, const char *channel, const char *json,
                           const char *actor_type, const char *actor_id, const char *ip, struct err *e);

/* ---------------------------------------------------------- inbound hook */

/* A customer's message as the inbound job recorded it, borrowed. */
struct messaging_inbound_info {
    const char *tenant_id;
    const char *account_id;
    const char *channel;
    const char *conversation_id;
    const char *contact_id;
    const char *message_id;
    const char *text;                  /* NULL or "" for media without a caption */
};
/* Realtime events a hook publishes with the inbound job's commit. */
struct messaging_hook_events;
/* Called by the inbound job inside its transaction for every new inbound
 * message that is not an opt-out/opt-in/HELP keyword or a possible opt-out
 * phrase (the assistant's entry: it queues its job there, so the job
 * exists exactly when the message does). A non-zero return undoes that
 * message's processing and retries it, like any failure of the job. */
typedef int (*messaging_inbound_hook_fn)(void *ud, struct store_tx *tx, const struct messaging_inbound_info *in,
                                         struct messaging_hook_events *ev, struct err *e);
/* Install the hook before the queue's workers start (one per messaging). */
void messaging_set_inbound_hook(struct messaging *m, messaging_inbound_hook_fn fn, void *ud);
/* Publish data (malloc'd JSON text, taken) as a realtime event of type. */
void messaging_hook_event(struct messaging_hook_events *ev, const char *tenant_id, const char *type, char *data);

/* -------------------------------------------------------------- pipeline */

/* The job types messaging_new registers on opt->queue: one received
 * webhook event (payload {"inbound_event":"iev_…"}: contact, conversation,
 * message, opt-out keywords, status callbacks, realtime events) and one
 * queued outbound message (payload {"message_id":"msg_…"}: the provider
 * call and its result). Both run in batches, one transaction per batch. */
#define MESSAGING_JOB_INBOUND "inbound.process"
#define MESSAGING_JOB_SEND "outbound.send"
/* One inbound media item (payload {"media_id":"med_…"}): downloaded from
 * the provider into the media store, its media row and the message's media
 * item updated and a message.updated event; registered when a media store
 * is given (messaging_options.media). */
#define MESSAGING_JOB_MEDIA "media.fetch"

/* An outbound message as the API asks for it; borrowed for the call. */
struct messaging_send_request {
    const char *account_id;            /* the channel account to send from */
    const char *to;                    /* an address (E.164, …) or NULL with contact_id */
    const char *contact_id;            /* a contact with an identity on the account's channel */
    const char *text;                  /* free-form text (or a media caption) */
    const char *const *media_urls;     /* public URLs the provider fetches */
    size_t nmedia;
    const char *const *media_ids;      /* media in the media store (e.g. a customer's picture forwarded):
                                        * type and size are known, so checked against the channel; the
                                        * provider fetches them through signed URLs made at send time */
    size_t nmedia_ids;
    const char *template_name;         /* an approved template instead of text */
    const char *template_language;     /* e.g. "en_US"; NULL means "en_US" */
    const char *const *template_vars;  /* the template's variables: values, in order (positional) */
    const char *const *template_var_names; /* their names ("first_name"), or NULL: positional "1", "2", … */
    size_t ntemplate_vars;
    const char *idempotency_key;       /* the same key returns the first message, never a second send */
    const char *origin;                /* agent (a person, dashboard session) | api (an API key) | assistant |
                                        * campaign | system; NULL = "api". Channel rules depend on it. */
    const char *sent_by;               /* the user or API key id; NULL = none */
    const char *subject;               /* e-mail: required there, refused elsewhere */
    const char *html;                  /* e-mail: an HTML alternative of text */
    int urgent;                        /* 1: not held by the tenant's quiet hours (a one-time code, an
                                        * outage notice); a person's reply (origin agent) never is */
};

/* How messaging_send ends: rc 0 with the message object (crm_message_json)
 * and replayed = 1 when the idempotency key named an existing message; or
 * an error (e) — nothing was queued then. Runs on a writer thread (or the
 * caller's, without a writer): must not block. */
typedef void (*messaging_send_done_fn)(void *ud, int rc, const struct err *e, const char *message_json, int replayed);

/* An agent read the conversation: its unread counter goes to 0 and, when
 * it was not 0, a realtime event conversation.read {conversation_id,
 * unread_count: 0} is published, in one transaction (group-commit writer).
 * Idempotent. ERR_NOTFOUND for an unknown or another tenant's
 * conversation. */
int messaging_conversation_read(struct messaging *m, const char *tenant_id, const char *conversation_id,
                                struct err *e);


/* Check and queue one outbound message: the account (ERR_NOTFOUND
 * "account_not_found"), the recipient (ERR_INVALID "invalid_address",
 * "no_address" for a contact without an identity on that channel), the
 * content (ERR_INVALID "invalid_message": text or template, not both;
 * length and media within the channel's limits), then compliance before
 * anything is written (media: "media_not_allowed" for a type the channel
 * does not take, "media_too_large" for stored media over its size,
 * "media_not_found" / "media_not_ready" for a media id that is not a stored
 * file of the tenant; compliance_check_send: "opted_out", "suppressed",
 * "recipient_blocked", "outside_window", "template_not_found",
 * "template_not_approved"), then in one transaction the message (queued),
 * its outbound.send job and its message.created event; a person's reply
 * (origin agent) also marks the conversation read there (unread to 0 and
 * a conversation.read event, see messaging_conversation_read). During the
 * tenant's quiet hours a message that is not urgent and not a person's
 * reply (origin agent) is held, not refused: its job first runs when quiet
 * hours end, and the message object carries "held_until". This is the one
 * outbound entry point: campaigns and the assistant call it too, with
 * their origin. An idempotency key already used in the tenant
 * returns that message instead (no checks, nothing new). Returns non-zero
 * when it fails before queueing (done is not called); otherwise done runs
 * exactly once, after the commit. */
int messaging_send(struct messaging *m, const char *tenant_id, const struct messaging_send_request *req,
                   messaging_send_done_fn done, void *ud, struct err *e);

/* ------------------------------------------------- dry runs of the gate */

/* What messaging_send would decide about one recipient, without sending:
 * the same reads (messaging__gate_facts) and the same decision
 * (compliance_check_send). Content checks (text length, media) are not
 * part of it: they depend on a message, not on the recipient. */
struct messaging_check {
    int ok;                            /* 1: the gate lets the message through */
    char code[48];                     /* "" when ok; else the error code messaging_send answers:
                                        * no_address, opted_out, suppressed, recipient_blocked,
                                        * transactional_only, outside_window, template_not_found,
                                        * template_not_approved, contact_not_found, unsupported_channel */
    char message[320];                 /* why, for a person */
    int template_only;                 /* free text is refused (outside_window) but an approved template
                                        * would go; always 0 for a template check */
    int64_t held_until;                /* the tenant's quiet hours would hold it until then (Unix ms); 0 */
};

/* The message a dry run checks: origin as messaging_send_request.origin
 * (NULL = "api"; a person in the dashboard is "agent"), and a template by
 * name (NULL: free text). */
struct messaging_check_request {
    const char *origin;
    const char *template_name;
    const char *template_language;
    int urgent;
};

typedef int (*messaging_reach_cb)(void *ud, const struct messaging_account *a, const struct messaging_check *c);
/* For each active channel account of the tenant (oldest first): could a
 * free-text message from it reach contact c (no_address when c has no
 * identity of the account's channel)? cb gets the account and the
 * decision. Store errors; cb's non-zero return stops and is returned. */
int messaging_reachability(struct messaging *m, const char *tenant_id, const struct store_contact *c,
                           const struct messaging_check_request *req, messaging_reach_cb cb, void *ud,
                           struct err *e);

typedef int (*messaging_preflight_cb)(void *ud, const char *contact_id, const struct messaging_check *c);
/* The dry run of a send from account_id to each of n contacts (a bulk send
 * before it starts): cb gets every contact id in order with its decision
 * (another tenant's or an unknown contact: contact_not_found). The
 * template, when named, is looked up once. ERR_NOTFOUND
 * "account_not_found" as messaging_send; store errors. */
int messaging_preflight(struct messaging *m, const char *tenant_id, const char *account_id,
                        const struct messaging_check_request *req, const char *const *contact_ids, size_t n,
                        messaging_preflight_cb cb, void *ud, struct err *e);

/* An identity's standing with compliance, for the contact page. */
struct messaging_identity_status {
    int opted_out;                     /* it opted out of at least one of the tenant's channel accounts on a
                                        * channel that uses this identity kind (phone: sms and voice) */
    int64_t opted_out_at;              /* the earliest of those opt-outs (Unix ms); 0 */
    char opted_out_accounts[8][CORE_ID_MAX]; /* those accounts (the first 8) */
    int nopted_out_accounts;
    int suppressed;                    /* the tenant's or the global suppression list holds the address for
                                        * such a channel or for every channel ("*") */
    struct store_suppression suppression;
};
/* Fill out for identity (kind, address). Store errors. */
int messaging_identity_status(struct messaging *m, const char *tenant_id, const char *kind, const char *address,
                              struct messaging_identity_status *out, struct err *e);

/* ----------------------------------------------------------- website chat */

/* A website chat account ("webchat") has no provider: the widget on the
 * business's pages uses the widget API with the account's public key as
 * its token. Settings: allowed_origins (required: comma-separated exact
 * origins such as https://shop.example.com, scheme and host and optional
 * port, no path; "*" is refused), greeting, color (#rrggbb) and title.
 * Visitor messages enter the inbound pipeline like a provider webhook's
 * (an inbound_events row and an inbound.process job in one commit), so the
 * inbox, events and everything downstream see them as any other channel.
 * Messages are text only, at most MESSAGING_WEBCHAT_TEXT_MAX bytes. */
#define MESSAGING_WEBCHAT_TEXT_MAX 4096
#define MESSAGING_WEBCHAT_SECRET_MAX 64

/* A visitor's session: its id is the visitor's address (identity kind "webchat"). */
struct messaging_webchat_session {
    char id[CORE_ID_MAX];              /* "wcs_…" */
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char contact_id[CORE_ID_MAX];      /* "" until a message or an e-mail links one */
    char name[128];
    char email[CRM_ADDRESS_MAX];
    int64_t created_at;
    int64_t last_seen_at;
};

/* The active webchat account whose widget token (public account key) is
 * token. ERR_NOTFOUND; store errors. Release the ref. */
int messaging_webchat_account(struct messaging *m, const char *token, const struct messaging_account_ref **out,
                              struct err *e);
/* 1 when origin is exactly one of the account's allowed_origins. */
int messaging_webchat_origin_allowed(const struct messaging_account_ref *ref, const char *origin);
/* Append the widget's configuration: {"title","greeting","color"} (null when unset). */
void messaging_webchat_config_json(const struct messaging_account_ref *ref, struct buf *b);
/* Pure checks (messaging_webchat_check.c). settings_check: a webchat
 * account's settings, 0 or -1 with why (never a value). origin_in: 1 when
 * origin is exactly one entry of the comma-separated list. text_ok: 1 for
 * well-formed UTF-8 without control characters (but tab, CR and LF when
 * multiline). */
int messaging__webchat_settings_check(const struct channel_kv *kv, size_t n, char *why, size_t whylen);
int messaging__webchat_origin_in(const char *list, const char *origin);
int messaging__webchat_text_ok(const char *s, int multiline);

/* Start a session for ref's account: name (NULL/"" = none; at most 127
 * bytes, no control characters) and email (NULL/"" = none; normalised,
 * ERR_INVALID "invalid_email"). With an e-mail, the session's identity
 * joins the contact that has that e-mail identity (created with the name
 * and the e-mail when none has). secret receives the session secret
 * (base64url, shown once; only its SHA-256 is stored). ip and user_agent
 * are kept for the inbox (may be NULL). */
int messaging_webchat_start(struct messaging *m, const struct messaging_account_ref *ref, const char *name,
                            const char *email, const char *ip, const char *user_agent,
                            struct messaging_webchat_session *out, char secret[MESSAGING_WEBCHAT_SECRET_MAX],
                            struct err *e);
/* The session of ref's account that secret opens (last_seen_at is kept
 * up to date, coarsely). ERR_UNAUTHORIZED for an unknown secret. */
int messaging_webchat_session(struct messaging *m, const struct messaging_account_ref *ref, const char *secret,
                              struct messaging_webchat_session *out, struct err *e);
/* A visitor's message: stored as an inbound event with its inbound.process
 * job, committed before this returns. client_id (NULL/"" = none; 1..64 of
 * [A-Za-z0-9_-], else ERR_INVALID "invalid_client_id") makes a retry
 * idempotent: the same client_id in the same session is one message.
 * id receives the message's provider id ("wcm_…", or "<session>/<client
 * id>"), which the widget sees as the message's "ref"; *duplicate is 1
 * for a retry. ERR_INVALID "invalid_message" (empty, too long, not UTF-8). */
int messaging_webchat_post(struct messaging *m, const struct messaging_webchat_session *s, const char *text,
                           const char *client_id, char id[128], int *duplicate, struct err *e);
/* Append the session's latest limit (1..100) messages, oldest first, as a
 * JSON array of widget message objects (messaging_webchat_message_json);
 * the outbound ones among them not yet delivered are marked so. */
int messaging_webchat_history(struct messaging *m, const struct messaging_webchat_session *s, int limit,
                              struct buf *b, struct err *e);
/* One message as the widget sees it: {"id","ref","sender","type","text",
 * "created_at","status"}: sender "visitor" (inbound), "assistant",
 * "system" (system or campaign) or "agent" (a person or the API); ref is
 * the visitor's message ref (messaging_webchat_post) or null. */
void messaging_webchat_message_json(struct buf *b, const struct store_message *msg);
/* The widget now holds these outbound messages (provider ids = message
 * ids): each becomes "delivered" through the inbound pipeline (a status
 * event, once per message whatever the number of widgets), without
 * waiting for the commit. Any thread; never blocks on I/O with a writer. */
void messaging_webchat_delivered(struct messaging *m, const char *tenant_id, const char *account_id,
                                 const char *const *message_ids, size_t n);

#endif
