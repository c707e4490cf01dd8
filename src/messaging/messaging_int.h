/*
 * messaging internals shared by the files of src/messaging/ (never included
 * elsewhere): the module handle, the account snapshot cache and helpers.
 *
 * struct messaging is built once by messaging_new and read-only afterwards
 * except for what has its own lock (the cache) or is atomic. The pipeline
 * (messaging_pipeline.c) adds its own state at the end of the struct.
 */
#ifndef SB_MESSAGING_INT_H
#define SB_MESSAGING_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "media/media.h"
#include "messaging/messaging.h"

/* Longest cache key: an account key (63) or "<tenant id>\n<account id>". */
#define MESSAGING__KEY_MAX (2 * CORE_ID_MAX + 2)

struct messaging__entry; /* a cached account (messaging_cache.c) */
struct messaging__policies; /* tenants' compliance snapshots (messaging_policy.c) */
struct messaging__policy;
struct compliance_keywords;
struct compliance_quiet;
struct compliance_tz;

/* The channels with keyword lists: compliance_channels, in that order. */
#define MESSAGING__CHANNELS 7
struct messaging__slot;  /* a cached miss */

/* One index of the cache: accounts by some key, and recent misses. */
struct messaging__table {
    struct messaging__entry **buckets;
    size_t nbuckets;
    size_t n;                          /* entries */
    struct messaging__slot *neg;       /* direct-mapped misses: a fixed array, so bounded */
    size_t nneg_slots;
    size_t nneg;                       /* slots in use */
};

/* Snapshots of accounts with their decrypted credentials, by public key
 * (webhooks) and by tenant and id (sends). Read-mostly: lookups take the
 * read lock and a reference; loads happen outside the lock and are
 * installed under the write lock unless an invalidation happened meanwhile
 * (gen changed). */
struct messaging__cache {
    pthread_rwlock_t lock;
    struct messaging__table by_key;
    struct messaging__table by_id;
    int64_t ttl_ns;
    atomic_uint_fast64_t gen;          /* bumped by every invalidation */
    atomic_uint_fast64_t hits;
    atomic_uint_fast64_t loads;
};

struct messaging {
    const struct config *cfg;
    struct store *db;
    struct ops_keyring *keys;
    struct queue *queue;
    char public_url[512];              /* SB_PUBLIC_URL without trailing slashes */
    struct channel_env env;            /* points into cfg, share and pool */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    struct channel_pool *pool;
    int curl_inited;
    struct messaging__cache cache;
    /* the pipeline */
    struct store_writer *writer;
    struct ops_metrics *metrics;       /* NULL: nothing counted */
    void (*notify)(void *ud);
    void *notify_ud;
    struct messaging__policies *policies;
    struct media *media;               /* NULL: inbound media are not downloaded */
    messaging_inbound_hook_fn inbound_hook; /* set before the workers start; NULL: none */
    void *inbound_hook_ud;
};

/* Tenant compliance snapshots (messaging_policy.c): keyword lists per
 * channel and quiet hours, trusted for the account cache's TTL and dropped
 * by a change through this process. get: ERR_NOMEM, store errors; release
 * every snapshot got (NULL is a no-op). */
int messaging__policies_init(struct messaging *m, struct err *e);
void messaging__policies_destroy(struct messaging *m);
int messaging__policy_get(struct messaging *m, const char *tenant_id, const struct messaging__policy **out,
                          struct err *e);
void messaging__policy_release(const struct messaging__policy *p);
void messaging__policy_forget(struct messaging *m, const char *tenant_id);
/* The tenant's lists for channel, or NULL for the carrier defaults. Borrowed from p. */
const struct compliance_keywords *messaging__policy_keywords(const struct messaging__policy *p, const char *channel);
/* The tenant's quiet hours, or NULL when it has none. Borrowed from p. */
const struct compliance_quiet *messaging__policy_quiet(const struct messaging__policy *p);
/* A zone by IANA name; "UTC" (or empty) without the tz database. */
int messaging__tz_load(struct compliance_tz **out, const char *name, struct err *e);

/* Cache (messaging_cache.c). init: ERR_NOMEM. */
int messaging__cache_init(struct messaging__cache *c, int64_t ttl_ms, struct err *e);
void messaging__cache_destroy(struct messaging__cache *c);
/* Forget every cached snapshot of the account (removal through this process). */
void messaging__cache_forget(struct messaging__cache *c, const char *account_id);

/* "channel/<account id>": where an account's credentials are sealed. */
void messaging__secret_name(char out[64], const char *account_id);
/* The store row as the module's public account struct. */
void messaging__account_from_store(struct messaging_account *a, const struct store_account *sa);

/* ------------------------------------------------------ pipeline helpers */

/* Realtime events collected while a transaction runs and appended just
 * before its commit (the event-log lock is then held only for the commit),
 * dropped with the savepoint of an item that is undone. */
struct messaging__event {
    char tenant_id[CORE_ID_MAX];
    const char *type;              /* a string literal */
    char *data;                    /* JSON object text, owned */
};

struct messaging__events {
    struct messaging__event *v;
    size_t n, cap;
};

/* What an inbound hook appends to (messaging_hook_event). */
struct messaging_hook_events {
    struct messaging__events *ev;
};

/* Take data (malloc'd JSON text) as an event of type for tenant_id. */
void messaging__events_add(struct messaging__events *ev, const char *tenant_id, const char *type, char *data);
/* Forget the events added since n was the count (an undone item's). */
void messaging__events_truncate(struct messaging__events *ev, size_t n);
/* Append them all inside tx (ops_event_append), then forget them. */
int messaging__events_flush(struct messaging__events *ev, struct store_tx *tx, struct err *e);
void messaging__events_free(struct messaging__events *ev);
/* Run fn in a write transaction: a background operation of the group-commit
 * writer when there is one (so on SQLite every write of the process goes
 * through its one writer thread and shares its fsyncs, and job batches
 * yield to webhooks and API requests), else a transaction of its own. Returns fn's error, or the commit's; nothing of fn is kept then. */
int messaging__write(struct messaging *m, store_write_fn fn, void *ud, struct err *e);
/* Ring the event pump (after a commit that appended events). */
void messaging__notify(struct messaging *m);

/* The message object (crm_message_json) read inside tx, into b. */
int messaging__message_json_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, struct buf *b,
                               struct err *e);
/* A message.status event for a status change (crm_status_result), added to ev. */
void messaging__status_event(struct messaging__events *ev, const char *tenant_id, const struct crm_status_result *sr,
                             const char *error_code, const char *error_text, int64_t provider_ts,
                             int64_t received_at);
/* Queue an outbound message inside tx: create it (queued; an idempotency
 * key already used returns that message with out->duplicate set and
 * changes nothing), push its outbound.send job and collect its
 * message.created event in ev. No compliance checks: the caller did them. */
int messaging__queue_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id, const struct crm_outbound *o,
                        struct crm_record_result *out, struct messaging__events *ev, struct err *e);
/* messaging__queue_tx whose send job first runs delay_ms from now (a
 * message held by quiet hours). */
int messaging__queue_at_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id,
                           const struct crm_outbound *o, int64_t delay_ms, struct crm_record_result *out,
                           struct messaging__events *ev, struct err *e);

/* An agent read the conversation, inside tx (messaging_inbox.c): unread
 * to 0 and, when it was not 0, a conversation.read event in ev.
 * ERR_NOTFOUND. */
int messaging__conversation_read_tx(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                                    struct messaging__events *ev, struct err *e);
/* The send gate's facts (messaging_send.c), shared by messaging_send and
 * its dry runs (messaging_check.c) so both decide by the same reads:
 * gate_facts fills gate for a message from acct (adapter ad) to the
 * normalised address to with origin: the channel's windows, opt-out of the
 * account, the suppression that applies (into supp, which gate then
 * points into) and, for channels with a window, the customer's last
 * message. template_facts marks gate as a template message and finds the
 * template (name, language; NULL language = en_US where the provider has
 * templates of its own): gate->template_status points into status when
 * found, NULL when unknown (no error); tpl and v receive it (caller clears
 * v). Store errors. */
struct compliance_send;
int messaging__gate_facts(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                          const struct channel_adapter *ad, const char *to, const char *origin,
                          struct compliance_send *gate, struct store_suppression *supp, struct err *e);
int messaging__template_facts(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                              const struct channel_adapter *ad, const char *name, const char *language,
                              struct store_template *tpl, struct store_template_version *v, char *status,
                              size_t statuslen, struct compliance_send *gate, struct err *e);
/* When the tenant's quiet hours would hold a message of origin sent at
 * now (Unix ms), else 0: never an urgent one or a person's reply (origin
 * agent). */
int messaging__hold_until(struct messaging *m, const char *tenant_id, const char *origin, int urgent, int64_t now,
                          int64_t *out, struct err *e);
/* The contact's first address of identity kind into out: 1, or 0 (out "")
 * when it has none. */
int messaging__contact_address(const struct store_contact *c, const char *kind, char *out, size_t outlen);
/* ERR_INVALID "no_address": what a send to a contact without an identity
 * on the account's channel answers. */
int messaging__no_address(const char *kind, struct err *e);

/* The job handlers (messaging_inbound.c, messaging_worker.c). */
void messaging__inbound_batch(void *ud, const struct queue_job *jobs, int n, int *outcomes, struct queue_result *res);
void messaging__send_batch(void *ud, const struct queue_job *jobs, int n, int *outcomes, struct queue_result *res);
/* The media.fetch job (messaging_media.c), one item per run. */
int messaging__media_job(void *ud, const struct queue_job *job, struct queue_result *res);
/* Inside tx, for a new inbound message: a pending media row and a
 * media.fetch job for every item of media_json (the array the message was
 * recorded with, which carries each item's "media_id"). */
int messaging__media_queue_tx(struct messaging *m, struct store_tx *tx, const char *tenant_id, const char *message_id,
                              const char *account_id, const char *media_json, struct err *e);
/* The media JSON array of an inbound message with a "media_id" and
 * "status": "pending" in every item (malloc'd), or NULL without items. */
char *messaging__media_json_new(const struct channel_event *ev);

#endif
