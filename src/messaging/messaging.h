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
 * Thread-safe after messaging_new. Errors: ERR_INVALID (bad provider or
 * settings, with a slug), ERR_NOTFOUND, ERR_CONFLICT, store errors.
 */
#ifndef SB_MESSAGING_H
#define SB_MESSAGING_H

#include <stdint.h>

#include "channel/channel.h"
#include "core/core.h"
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
};

int messaging_new(struct messaging **out, const struct messaging_options *opt, struct err *e);
void messaging_free(struct messaging *m); /* NULL is a no-op */

/* Where adapters reach providers: base URLs and timeout from the config,
 * and a libcurl share handle so sends reuse connections. Borrowed from m. */
const struct channel_env *messaging_channel_env(struct messaging *m);

/* ------------------------------------------------------ channel accounts */

struct messaging_account {
    char id[CORE_ID_MAX];          /* "cha_…" */
    char tenant_id[CORE_ID_MAX];
    char provider[16];             /* twilio | whatsapp: the adapter */
    char channel[16];              /* sms | whatsapp: what users see */
    char name[128];
    char account_key[64];          /* public; in webhook URLs */
    char address[128];             /* our sender: From number, messaging service or phone number id */
    int64_t created_at;
    int64_t removed_at;            /* 0 = active */
};

/* A cached account with its adapter and decrypted credentials. Immutable
 * and reference-counted: valid until messaging_account_release. */
struct messaging_account_ref {
    struct messaging_account acct;
    const struct channel_adapter *adapter;
    struct channel_creds creds;
};

/* Create an account: provider is "twilio" or "whatsapp"; settings are the
 * provider's credentials and options as name/value pairs, checked for the
 * required ones (twilio: account_sid, auth_token, and from or
 * messaging_service_sid; whatsapp: phone_number_id, access_token,
 * app_secret, verify_token; waba_id optional). Audited with actor. */
int messaging_account_create(struct messaging *m, const char *tenant_id, const char *provider, const char *name,
                             const struct channel_kv *settings, size_t nsettings, const char *actor_type,
                             const char *actor_id, struct messaging_account *out, struct err *e);
/* Soft-remove: the account keeps its history, takes no more webhooks or
 * sends, and its credentials are deleted. ERR_NOTFOUND. Audited. */
int messaging_account_remove(struct messaging *m, const char *tenant_id, const char *account_id,
                             const char *actor_type, const char *actor_id, struct err *e);
typedef int (*messaging_account_cb)(void *ud, const struct messaging_account *a);
/* The tenant's active accounts, oldest first. */
int messaging_account_list(struct messaging *m, const char *tenant_id, messaging_account_cb cb, void *ud,
                           struct err *e);
/* Snapshot by public key (webhooks; global: the key names the tenant) or by
 * tenant and id. ERR_NOTFOUND for unknown, removed or other-provider
 * accounts. Release every acquired ref. */
int messaging_account_by_key(struct messaging *m, const char *provider, const char *account_key,
                             const struct messaging_account_ref **out, struct err *e);
int messaging_account_get(struct messaging *m, const char *tenant_id, const char *account_id,
                          const struct messaging_account_ref **out, struct err *e);
void messaging_account_release(const struct messaging_account_ref *ref); /* NULL is a no-op */
/* Append the account's public JSON object (never credentials): id, provider,
 * channel, name, account_key, address, created_at and webhook_urls (what to
 * paste at the provider: inbound and status callback URLs). */
void messaging_account_json(struct messaging *m, struct buf *b, const struct messaging_account *a);

#endif
