/*
 * store migrations: the schema_migrations bookkeeping table, checking the
 * applied migrations against the ones compiled into the binary (version and
 * checksum) and applying the pending ones, each in its own transaction under
 * the backend's migration lock so concurrent migrators never apply twice.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Sets *(int *)ud when any row comes back. */
static int row_found(void *ud, const struct store_row *r)
{
    (void)r;
    *(int *)ud = 1;
    return 0;
}

/* --------------------------------------------------------- migrations */

struct applied_ctx {
    const struct store__migration *compiled;
    int max;          /* highest applied version */
    struct err *e;
};

static const struct store__migration *find_migration(const struct store__migration *m, int version)
{
    for (; m->version; m++)
        if (m->version == version)
            return m;
    return NULL;
}

/* Checks one schema_migrations row against the compiled migrations. */
static int row_applied(void *ud, const struct store_row *r)
{
    struct applied_ctx *a = ud;
    int version = (int)store__col_int(r, 0);
    const char *name = store__col_text(r, 1), *sum = store__col_text(r, 2);
    const struct store__migration *m = find_migration(a->compiled, version);
    char want[65];

    if (version > a->max)
        a->max = version;
    if (!m)
        return err_set(a->e, ERR_CONFLICT, "migration_unknown",
                       "store: database has migration %d (%s) that this binary lacks", version, name);
    crypto_sha256_hex(want, m->sql, strlen(m->sql));
    if (strcmp(want, sum) != 0)
        return err_set(a->e, ERR_CONFLICT, "migration_changed",
                       "store: applied migration %s changed since it was applied (checksum mismatch)", m->name);
    return 0;
}

static int migration_check(struct store *db, struct store_conn *c, struct store_migration_info *info,
                           struct err *e)
{
    struct applied_ctx a = {.compiled = db->be->migrations, .e = e};
    struct store_param p[1] = {store__ptext("schema_migrations")};
    int64_t exists = 0;
    int rc, pending = 0, latest = 0;

    rc = store__q(db, c, db->be->table_exists_sql, p, 1, store__row_int, &exists, NULL, e);
    if (rc)
        return rc;
    if (exists) {
        rc = store__q(db, c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", NULL, 0,
                      row_applied, &a, NULL, e);
        if (rc)
            return rc;
    }
    for (const struct store__migration *m = db->be->migrations; m->version; m++) {
        latest = m->version;
        if (m->version > a.max)
            pending++;
    }
    if (info) {
        info->latest = latest;
        info->applied = a.max;
        info->pending = pending;
    }
    return 0;
}

int store_migration_status(struct store *db, struct store_migration_info *out, struct err *e)
{
    struct store_conn *c = NULL;
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    rc = migration_check(db, c, out, e);
    store__pool_put(db, c);
    return rc;
}

/* Apply one migration unless another process already did (checked under the lock). */
static int migration_apply(struct store *db, struct store_conn *c, const struct store__migration *m,
                           struct err *e)
{
    char sum[65];
    int found = 0, rc;
    struct store_param p[4];

    rc = store__tx_begin(db, c, e);
    if (rc)
        return rc;
    if (db->be->migration_lock_sql) {
        rc = store__q(db, c, db->be->migration_lock_sql, NULL, 0, NULL, NULL, NULL, e);
        if (rc)
            goto out;
    }
    p[0] = store__pint(m->version);
    rc = store__q(db, c, "SELECT 1 FROM schema_migrations WHERE version = ?", p, 1, row_found, &found, NULL, e);
    if (rc || found)
        goto out;
    rc = db->be->script(c, m->sql, e);
    if (rc) {
        struct err inner = *e;
        rc = err_set(e, rc, NULL, "store: migration %s failed: %s", m->name, inner.msg);
        goto out;
    }
    crypto_sha256_hex(sum, m->sql, strlen(m->sql));
    p[1] = store__ptext(m->name);
    p[2] = store__ptext(sum);
    p[3] = store__pint(time_now_ms());
    rc = store__q(db, c, "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)", p,
                  4, NULL, NULL, NULL, e);
out:
    return store__tx_end(db, c, rc, e);
}

int store_migrate(struct store *db, struct store_migration_info *out, struct err *e)
{
    struct store_migration_info info = {0};
    struct store_conn *c = NULL;
    int rc = store__pool_get(db, &c, e);

    if (rc)
        return rc;
    /* Create the bookkeeping table under the migration lock (concurrent migrators). */
    rc = store__tx_begin(db, c, e);
    if (rc)
        goto out;
    if (db->be->migration_lock_sql)
        rc = store__q(db, c, db->be->migration_lock_sql, NULL, 0, NULL, NULL, NULL, e);
    if (rc == 0)
        rc = db->be->script(c,
                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                            " checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                            e);
    rc = store__tx_end(db, c, rc, e);
    if (rc)
        goto out;
    rc = migration_check(db, c, &info, e);
    if (rc)
        goto out;
    for (const struct store__migration *m = db->be->migrations; m->version; m++) {
        if (m->version <= info.applied)
            continue;
        rc = migration_apply(db, c, m, e);
        if (rc)
            goto out;
    }
    rc = migration_check(db, c, out, e);
out:
    store__pool_put(db, c);
    return rc;
}
