/*
 * store_channel.h: the channel half of the store API: channel accounts, message
 * templates and tenant settings. Part of store.h (which includes it), with
 * its conventions: tenant id first, ERR_* codes, callbacks borrow their rows.
 */
#ifndef SB_STORE_CHANNEL_H
#define SB_STORE_CHANNEL_H

#include "store/store.h"

/* ------------------------------------- channel accounts (store_account.c) */

/* A tenant's account at a provider (credentials live in secrets, sealed). */
struct store_account {
    char id[CORE_ID_MAX];          /* "cha_…" */
    char tenant_id[CORE_ID_MAX];
    char provider[16];             /* twilio | whatsapp | telegram | instagram | smtp | sendgrid | webchat */
    char channel[16];              /* sms | whatsapp | telegram | instagram | email | webchat */
    char name[128];
    char account_key[64];          /* public, unique: /webhooks/<provider>/<account_key> */
    char address[128];
    int64_t created_at;
    int64_t removed_at;            /* 0 = active */
};

/* Insert an account inside tx (with its sealed credentials, written by the
 * caller in the same tx). ERR_CONFLICT when the id or key exists,
 * ERR_NOTFOUND when the tenant does not. */
int store_account_insert(struct store_tx *tx, const char *tenant_id, const struct store_account *a, struct err *e);
/* Soft-remove inside tx: removed_at = now. ERR_NOTFOUND when the tenant has
 * no active account with this id. */
int store_account_remove(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t now,
                         struct err *e);
/* The tenant's account by id, removed or not. ERR_NOTFOUND. */
int store_account_get(struct store *db, const char *tenant_id, const char *account_id, struct store_account *out,
                      struct err *e);
/* Global (webhooks: the key names the tenant): the account with this public
 * key, removed or not. ERR_NOTFOUND. */
int store_account_by_key(struct store *db, const char *account_key, struct store_account *out, struct err *e);
typedef int (*store_account_cb)(void *ud, const struct store_account *a);
/* The tenant's active accounts, oldest first. */
int store_account_list(struct store *db, const char *tenant_id, store_account_cb cb, void *ud, struct err *e);

/* Message templates (store_template.c): a template row and its numbered
 * versions. The row holds what identifies it and its current state
 * (version = the current version, status = that version's workflow
 * status, provider_status = Meta's for WhatsApp); each version holds its
 * content and its decision trail. Workflow writes are compare-and-set on
 * (version, status): a concurrent change makes them ERR_CONFLICT. */
struct store_template {
    char id[CORE_ID_MAX];          /* "tpl_…"; kept across syncs and edits */
    char tenant_id[CORE_ID_MAX];
    char channel[16];              /* sms | whatsapp | email | telegram | instagram | webchat */
    char account_id[CORE_ID_MAX];  /* "" = every account of the channel */
    char name[520];                /* Meta allows 512 characters */
    char language[16];
    char category[32];
    char source[16];               /* local | provider (synced from Meta) */
    int64_t version;               /* the current version */
    char status[16];               /* the current version's: draft | pending | approved | rejected */
    char provider_status[24];      /* Meta's, lower-case (approved, pending, rejected, paused, …),
                                    * submit_failed, or "" when never submitted */
    char provider_id[64];
    char provider_reason[512];
    int is_default;
    int64_t synced_at;
    char created_by[80];
    int64_t created_at;
    int64_t updated_at;
};

/* One version. The strings are malloc'd (store_template_version_clear
 * frees them); optional parts are NULL when absent, body and variables
 * never NULL after a read. */
struct store_template_version {
    char template_id[CORE_ID_MAX];
    int64_t version;
    char *body, *header, *footer, *buttons, *subject, *html;
    char *variables;               /* JSON array of placeholder names */
    char status[16];
    char created_by[80];           /* "user:<id>", "apikey:<id>", "system", "provider" */
    int64_t created_at;
    char submitted_by[80];
    int64_t submitted_at;
    char decided_by[80];
    int64_t decided_at;
    char *reason;
};

void store_template_version_clear(struct store_template_version *v);
typedef int (*store_tenant_id_cb)(void *ud, const char *tenant_id);

/* Insert, inside tx, a template and its version t->version (v), both new.
 * ERR_CONFLICT when the tenant has one with this (account or channel,
 * name, language), or a default for the channel already (t->is_default). */
int store_template_insert(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                          const struct store_template_version *v, struct err *e);
/* Like store_template_insert for the tenant's default template of
 * t->channel: *out_inserted = 0 (and nothing written) when it has one. */
int store_template_insert_default(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                                  const struct store_template_version *v, int *out_inserted, struct err *e);
/* Global: the tenants with no default template for channel, into cb. */
int store_template_tenants_without_default(struct store *db, const char *channel, store_tenant_id_cb cb, void *ud,
                                           struct err *e);
/* One template with (v not NULL) its current version. ERR_NOTFOUND. The
 * _tx form reads inside tx. */
int store_template_get(struct store *db, const char *tenant_id, const char *id, struct store_template *out,
                       struct store_template_version *v, struct err *e);
int store_template_get_tx(struct store_tx *tx, const char *tenant_id, const char *id, struct store_template *out,
                          struct store_template_version *v, struct err *e);
/* The template a send names: channel, name and language (NULL or "":
 * any, the first by language), the account's own before the channel's
 * (account_id NULL or "": only the channel's). ERR_NOTFOUND. */
int store_template_find(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        const char *name, const char *language, struct store_template *out,
                        struct store_template_version *v, struct err *e);
/* cb gets a template and its current version, both borrowed for the call. */
typedef int (*store_template_cb)(void *ud, const struct store_template *t, const struct store_template_version *v);
/* The tenant's templates by name and language; channel and account_id
 * filter when not NULL or "" (account_id: that account's only). */
int store_template_list(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        store_template_cb cb, void *ud, struct err *e);
typedef int (*store_template_version_cb)(void *ud, const struct store_template_version *v);
/* Every version of a template, newest first. */
int store_template_versions(struct store *db, const char *tenant_id, const char *id, store_template_version_cb cb,
                            void *ud, struct err *e);

/* Inside tx: add version v (a new draft) and make it current, if the
 * template's current version is still prev_version. Meta's status of the
 * old content no longer applies: provider_status and its reason are
 * cleared. ERR_CONFLICT when it moved meanwhile. */
int store_template_version_add(struct store_tx *tx, const char *tenant_id, const char *id, int64_t prev_version,
                               const struct store_template_version *v, int64_t now, struct err *e);
/* Inside tx: replace the content of the current version v->version while it
 * is a draft or pending; it becomes a draft again. ERR_CONFLICT otherwise. */
int store_template_version_edit(struct store_tx *tx, const char *tenant_id, const char *id,
                                const struct store_template_version *v, int64_t now, struct err *e);
/* Inside tx: move the current version (which must be version, in status
 * from) to status to, recording actor and now as its submitter (to =
 * pending) or decider (approved, rejected; reason may be NULL). The
 * template's category may change with it (NULL: unchanged).
 * ERR_CONFLICT when the template is not in that state. */
int store_template_transition(struct store_tx *tx, const char *tenant_id, const char *id, int64_t version,
                              const char *from, const char *to, const char *actor, const char *reason, int64_t now,
                              struct err *e);
/* Record Meta's answer about a template: provider_status, and the
 * provider id and reason when not NULL. */
int store_template_provider_set(struct store *db, const char *tenant_id, const char *id, const char *status,
                                const char *provider_id, const char *reason, int64_t now, struct err *e);
/* Inside tx (a status webhook): the same for the account's template with
 * provider id provider_id (when not NULL/"") or (name, language).
 * *out_found = 0 when there is none (nothing changed); out_id receives the
 * template's id. */
int store_template_provider_update_tx(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                      const char *provider_id, const char *name, const char *language,
                                      const char *status, const char *reason, int64_t now, int *out_found,
                                      char out_id[CORE_ID_MAX], struct err *e);
/* A provider listing's template, inside tx: an unknown (account, name,
 * language) becomes a source "provider" template whose one version is
 * approved (Meta's approval is the one that counts); a known one gets
 * Meta's status, category and synced_at = now, and (source provider) its
 * body. ERR_NOTFOUND when the tenant has no such account. */
int store_template_sync_upsert(struct store_tx *tx, const char *tenant_id, const char *account_id,
                               const char *channel, const char *name, const char *language, const char *category,
                               const char *body, const char *status, int64_t now, struct err *e);
/* Inside tx: the account's templates seen by an earlier listing
 * (synced_at > 0) but not by this one (synced_at < before) get provider
 * status "deleted". *out_n (may be NULL) = how many. */
int store_template_mark_deleted(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t before,
                                int64_t now, int64_t *out_n, struct err *e);

/* Tenant settings: named text values (the known names and their limits are
 * the messaging module's). get: *out malloc'd (caller frees), ERR_NOTFOUND
 * when unset. put: insert or replace. delete: back to unset (no-op when so). */
int store_setting_get(struct store *db, const char *tenant_id, const char *name, char **out, struct err *e);
int store_setting_put(struct store *db, const char *tenant_id, const char *name, const char *value, int64_t now,
                      struct err *e);
int store_setting_delete(struct store *db, const char *tenant_id, const char *name, struct err *e);
/* Every setting of the tenant whose name starts with prefix ("" = all), by
 * name; cb gets name and value, borrowed for the call, while a store
 * connection is held. */
typedef int (*store_setting_cb)(void *ud, const char *name, const char *value);
int store_setting_list(struct store *db, const char *tenant_id, const char *prefix, store_setting_cb cb, void *ud,
                       struct err *e);

#endif
