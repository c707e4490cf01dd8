/*
 * store account: channel accounts and tenant settings (the messaging
 * core's configuration rows); their message templates are in
 * store_template.c.
 *
 * Invariants: every query filters by the tenant id argument, except
 * store_account_by_key, the one global lookup (a webhook's account key names
 * the tenant). An account and its sealed credentials are written and removed
 * in the caller's transaction (store_account_insert/remove with
 * store_secret_put_tx/delete_tx), so neither exists without the other.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ----------------------------------------------------------- accounts */

#define ACCOUNT_SELECT \
    "SELECT id, tenant_id, provider, channel, name, account_key, address, created_at, removed_at FROM channel_accounts "

static void row_to_account(const struct store_row *r, struct store_account *a)
{
    store__cpy(a->id, sizeof(a->id), store__col_text(r, 0));
    store__cpy(a->tenant_id, sizeof(a->tenant_id), store__col_text(r, 1));
    store__cpy(a->provider, sizeof(a->provider), store__col_text(r, 2));
    store__cpy(a->channel, sizeof(a->channel), store__col_text(r, 3));
    store__cpy(a->name, sizeof(a->name), store__col_text(r, 4));
    store__cpy(a->account_key, sizeof(a->account_key), store__col_text(r, 5));
    store__cpy(a->address, sizeof(a->address), store__col_text(r, 6));
    a->created_at = store__col_int(r, 7);
    a->removed_at = store__col_int(r, 8);
}

static int row_account(void *ud, const struct store_row *r)
{
    row_to_account(r, ud);
    return 0;
}

struct account_iter {
    store_account_cb cb;
    void *ud;
};

static int row_account_cb(void *ud, const struct store_row *r)
{
    struct account_iter *it = ud;
    struct store_account a;

    memset(&a, 0, sizeof(a));
    row_to_account(r, &a);
    return it->cb(it->ud, &a);
}

static int need_tx(const struct store_tx *tx, struct err *e)
{
    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return 0;
}

int store_account_insert(struct store_tx *tx, const char *tenant_id, const struct store_account *a, struct err *e)
{
    struct store_param p[9];
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(a->id, "account id", e)) || (rc = store__need(a->provider, "provider", e)) ||
        (rc = store__need(a->channel, "channel", e)) || (rc = store__need(a->account_key, "account key", e)))
        return rc;
    p[0] = store__ptext(a->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(a->provider);
    p[3] = store__ptext(a->channel);
    p[4] = store__ptext(a->name);
    p[5] = store__ptext(a->account_key);
    p[6] = store__ptext(a->address);
    p[7] = store__pint(a->created_at ? a->created_at : time_now_ms());
    p[8] = store__pint(a->removed_at);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO channel_accounts (id, tenant_id, provider, channel, name, account_key, address,"
                  " created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  p, 9, NULL, NULL, NULL, e);
    if (rc == ERR_CONFLICT)
        rc = err_set(e, ERR_CONFLICT, "conflict", "store: account id or key already exists");
    else if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_account_remove(struct store_tx *tx, const char *tenant_id, const char *account_id, int64_t now,
                         struct err *e)
{
    struct store_param p[3] = {store__pint(now), store__ptext(tenant_id), store__ptext(account_id)};
    int64_t rows = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(account_id, "account id", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "UPDATE channel_accounts SET removed_at = ? WHERE tenant_id = ? AND id = ? AND removed_at = 0", p, 3,
                  NULL, NULL, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "channel account not found");
    return rc;
}

int store_account_get(struct store *db, const char *tenant_id, const char *account_id, struct store_account *out,
                      struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(account_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(account_id, "account id", e)))
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, ACCOUNT_SELECT "WHERE tenant_id = ? AND id = ?", p, 2, row_account, out,
                          "channel account", e);
}

int store_account_by_key(struct store *db, const char *account_key, struct store_account *out, struct err *e)
{
    struct store_param p[1] = {store__ptext(account_key)};
    int rc = store__need(account_key, "account key", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, ACCOUNT_SELECT "WHERE account_key = ?", p, 1, row_account, out, "channel account", e);
}

int store_account_list(struct store *db, const char *tenant_id, store_account_cb cb, void *ud, struct err *e)
{
    struct store_param p[1] = {store__ptext(tenant_id)};
    struct account_iter it = {cb, ud};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    return store__list(db, ACCOUNT_SELECT "WHERE tenant_id = ? AND removed_at = 0 ORDER BY created_at, id", p, 1,
                       row_account_cb, &it, e);
}

/* ----------------------------------------------------------- settings */

static int row_strdup(void *ud, const struct store_row *r)
{
    char **out = ud;
    free(*out);
    *out = strdup(store__col_text(r, 0));
    return *out ? 0 : ERR_NOMEM;
}

int store_setting_get(struct store *db, const char *tenant_id, const char *name, char **out, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(name)};
    char *value = NULL;
    int rc;

    *out = NULL;
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "setting name", e)))
        return rc;
    rc = store__get_one(db, "SELECT value FROM tenant_settings WHERE tenant_id = ? AND name = ?", p, 2, row_strdup,
                        &value, "setting", e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc) {
        free(value);
        return rc;
    }
    *out = value;
    return 0;
}

int store_setting_put(struct store *db, const char *tenant_id, const char *name, const char *value, int64_t now,
                      struct err *e)
{
    struct store_param p[4] = {store__ptext(tenant_id), store__ptext(name), store__ptext(value), store__pint(now)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "setting name", e)))
        return rc;
    if (!value)
        return err_set(e, ERR_INVALID, NULL, "store: setting value is required");
    rc = store__write_one(db,
                          "INSERT INTO tenant_settings (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value,"
                          " updated_at = excluded.updated_at",
                          p, 4, NULL, e);
    if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant not found");
    return rc;
}

int store_setting_delete(struct store *db, const char *tenant_id, const char *name, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(name)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(name, "setting name", e)))
        return rc;
    return store__write_one(db, "DELETE FROM tenant_settings WHERE tenant_id = ? AND name = ?", p, 2, NULL, e);
}
