/*
 * store agent: the assistant's versioned agent configuration (the SQL
 * behind assistant_config.c). See store_agent.h.
 *
 * Invariants: every query filters by the tenant id argument; a version is
 * numbered inside the transaction that inserts it, after the tenant's lock
 * where the backend has one, so numbers are dense and never reused.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define COLS "version, config, note, created_by, created_at"

void store_agent_config_clear(struct store_agent_config *c)
{
    if (!c)
        return;
    free(c->config);
    memset(c, 0, sizeof(*c));
}

/* The columns into c; config left to the caller. */
static void row_to_cfg(const struct store_row *r, struct store_agent_config *c)
{
    memset(c, 0, sizeof(*c));
    c->version = store__col_int(r, 0);
    store__cpy(c->note, sizeof(c->note), store__col_text(r, 2));
    store__cpy(c->created_by, sizeof(c->created_by), store__col_text(r, 3));
    c->created_at = store__col_int(r, 4);
}

static int row_one(void *ud, const struct store_row *r)
{
    struct store_agent_config *c = ud;
    row_to_cfg(r, c);
    c->config = strdup(store__col_text(r, 1));
    return c->config ? 0 : ERR_NOMEM;
}

int store_agent_config_insert(struct store_tx *tx, const char *tenant_id, const char *config, const char *note,
                              const char *created_by, int64_t now, int64_t *out_version, struct err *e)
{
    struct store_param lp[1] = {store__ptext(tenant_id)};
    int64_t next = 0;
    int rc;

    if ((rc = store__need_tx(tx, tenant_id, e)) || (rc = store__need(config, "config", e)))
        return rc;
    /* PostgreSQL: saves of one tenant wait for each other here, so the
     * max below sees the previous save (read committed takes a new
     * snapshot per statement). SQLite's BEGIN IMMEDIATE already serialises. */
    if (tx->db->be->tenant_lock_sql &&
        (rc = store__q(tx->db, tx->c, tx->db->be->tenant_lock_sql, lp, 1, NULL, NULL, NULL, e)))
        return rc;
    if ((rc = store__q(tx->db, tx->c, "SELECT COALESCE(MAX(version), 0) + 1 FROM agent_configs WHERE tenant_id = ?",
                       lp, 1, store__row_int, &next, NULL, e)))
        return rc;
    struct store_param p[6] = {store__ptext(tenant_id), store__pint(next),         store__ptext(config),
                               store__ptext(note ? note : ""), store__ptext(created_by ? created_by : ""),
                               store__pint(now)};
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO agent_configs (tenant_id, version, config, note, created_by, created_at)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  p, 6, NULL, NULL, NULL, e);
    if (rc == 0 && out_version)
        *out_version = next;
    return rc;
}

int store_agent_config_latest(struct store *db, const char *tenant_id, struct store_agent_config *out,
                              struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    rc = store__get_one(db,
                        "SELECT " COLS " FROM agent_configs WHERE tenant_id = ? ORDER BY version DESC LIMIT 1", p,
                        1, row_one, out, "agent configuration", e);
    if (rc)
        store_agent_config_clear(out);
    return rc;
}

int store_agent_config_get(struct store *db, const char *tenant_id, int64_t version, struct store_agent_config *out,
                           struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__pint(version)};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    rc = store__get_one(db, "SELECT " COLS " FROM agent_configs WHERE tenant_id = ? AND version = ?", p, 2, row_one,
                        out, "agent configuration version", e);
    if (rc)
        store_agent_config_clear(out);
    return rc;
}

struct list {
    store_agent_config_cb cb;
    void *ud;
};

static int row_list(void *ud, const struct store_row *r)
{
    struct list *l = ud;
    struct store_agent_config c;
    row_to_cfg(r, &c);
    return l->cb(l->ud, &c);
}

int store_agent_config_list(struct store *db, const char *tenant_id, int limit, store_agent_config_cb cb, void *ud,
                            struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__pint(limit > 0 ? limit : INT64_MAX)};
    struct list l = {cb, ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    /* config is not read: a list names versions, the documents stay put. */
    return store__list(db,
                       "SELECT version, '', note, created_by, created_at FROM agent_configs WHERE tenant_id = ?"
                       " ORDER BY version DESC LIMIT ?",
                       p, 2, row_list, &l, e);
}
