/*
 * store_agent.h: the assistant's agent configuration half of the store API
 * (the SQL behind assistant_config.c): versioned snapshots in
 * agent_configs. Part of store.h (which includes it), with its conventions.
 *
 * Versions are 1, 2, … per tenant, never reused; the current configuration
 * is the highest. A version's number is max + 1 taken inside the inserting
 * transaction; on PostgreSQL the transaction first takes the tenant's
 * advisory lock so concurrent saves queue up instead of colliding, and the
 * primary key (tenant_id, version) refuses a duplicate on either backend
 * (ERR_CONFLICT). config is the canonical JSON text; it never holds a
 * secret. Every function filters by the tenant id argument.
 */
#ifndef SB_STORE_AGENT_H
#define SB_STORE_AGENT_H

#include "store/store.h"

#define STORE_AGENT_NOTE_MAX 200

/* One stored version. config is malloc'd in rows read by
 * store_agent_config_latest / _get (store_agent_config_clear frees it) and
 * NULL in rows handed to the list callback. */
struct store_agent_config {
    int64_t version;
    char *config;
    char note[STORE_AGENT_NOTE_MAX];
    char created_by[CORE_ID_MAX];
    int64_t created_at;
};

typedef int (*store_agent_config_cb)(void *ud, const struct store_agent_config *c);

/* Frees config; NULL is a no-op. */
void store_agent_config_clear(struct store_agent_config *c);
/* Insert config as the tenant's next version inside tx; *out_version
 * (may be NULL) receives its number. note and created_by may be NULL ("").
 * ERR_INVALID without tenant or config; ERR_CONFLICT when a concurrent
 * transaction took the same number (the caller may retry in a new
 * transaction). */
int store_agent_config_insert(struct store_tx *tx, const char *tenant_id, const char *config, const char *note,
                              const char *created_by, int64_t now, int64_t *out_version, struct err *e);
/* The highest version. ERR_NOTFOUND when the tenant never saved one. */
int store_agent_config_latest(struct store *db, const char *tenant_id, struct store_agent_config *out,
                              struct err *e);
/* One version. ERR_NOTFOUND. */
int store_agent_config_get(struct store *db, const char *tenant_id, int64_t version, struct store_agent_config *out,
                           struct err *e);
/* The versions without their documents, newest first, at most limit
 * (<= 0: all). cb runs while a connection is held (see store.h). */
int store_agent_config_list(struct store *db, const char *tenant_id, int limit, store_agent_config_cb cb, void *ud,
                            struct err *e);

#endif
