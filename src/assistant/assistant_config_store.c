/*
 * assistant_config_store: the agent configuration's versions (see
 * assistant.h): the current one, saving (with the sealed API key),
 * listing, reading one and rolling back, audited. The document itself
 * (parse, canonical JSON, diff) is assistant_config.c's.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"
#include "ops/ops.h"

/* ------------------------------------------------------------ versions */

#define SECRET_NAME "assistant/llm_api_key"
#define API_KEY_MAX 4096

static void ver_from_row(struct assistant_config_version *v, const struct store_agent_config *r)
{
    memset(v, 0, sizeof(*v));
    v->version = r->version;
    assistant__cpy(v->note, sizeof(v->note), r->note);
    assistant__cpy(v->created_by, sizeof(v->created_by), r->created_by);
    v->created_at = r->created_at;
}

/* The latest stored document into *row, or version 0 (config NULL). */
static int latest(struct store *db, const char *tenant_id, struct store_agent_config *row, struct err *e)
{
    int rc = store_agent_config_latest(db, tenant_id, row, e);
    if (rc == ERR_NOTFOUND) {
        memset(row, 0, sizeof(*row));
        err_clear(e);
        return 0;
    }
    return rc;
}

/* A stored document parsed (it keeps its api_key_set); NULL: the defaults. */
static int parse_stored(const char *doc, struct assistant_config *out, struct err *e)
{
    if (!doc) {
        struct assistant_config def;
        assistant_config_default(&def);
        memset(out, 0, sizeof(*out));
        assistant__config_copy(arena_new(), out, &def);
        return 0;
    }
    int rc = assistant__config_parse_doc(doc, strlen(doc), NULL, 1, out, e);
    if (rc)
        rc = err_set(e, ERR_INTERNAL, NULL, "assistant: a stored configuration does not parse: %s", e ? e->msg : "");
    return rc;
}

int assistant_config_current(struct store *db, const char *tenant_id, struct assistant_config *out,
                             struct assistant_config_version *ver, struct err *e)
{
    struct store_agent_config row;
    int rc;

    memset(out, 0, sizeof(*out));
    if (ver)
        memset(ver, 0, sizeof(*ver));
    if ((rc = latest(db, tenant_id, &row, e)))
        return rc;
    rc = parse_stored(row.config, out, e);
    if (rc == 0 && ver)
        ver_from_row(ver, &row);
    store_agent_config_clear(&row);
    return rc;
}

/* The target of a version's audit row is its number. */
static void audit(struct store *db, const char *tenant_id, const struct assistant_actor *who, const char *action,
                  int64_t version, const char *details)
{
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)version);
    assistant__audit(db, tenant_id, who, action, target, details);
}

/* Whether the tenant has an API key now. */
static int key_exists(struct store *db, const char *tenant_id, int *out, struct err *e)
{
    char *sealed = NULL;
    int rc = store_secret_get(db, tenant_id, SECRET_NAME, &sealed, e);
    free(sealed);
    *out = rc == 0;
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        rc = 0;
    }
    return rc;
}

/* Store doc as the next version, with the key change when api_key is not
 * NULL, in one transaction; a version number taken by a concurrent save
 * (ERR_CONFLICT) is retried once in a new transaction. */
static int store_version(struct store *db, struct ops_keyring *keys, const char *tenant_id, const char *doc,
                         const char *api_key, const char *note, const struct assistant_actor *who,
                         int64_t *out_version, struct err *e)
{
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct store_tx tx = {0};
        if ((rc = store_tx_begin(db, &tx, e)))
            return rc;
        if (api_key && *api_key)
            rc = ops_secret_put_tx(keys, &tx, tenant_id, SECRET_NAME, api_key, strlen(api_key), e);
        else if (api_key)
            rc = store_secret_delete_tx(&tx, tenant_id, SECRET_NAME, e);
        if (rc == 0)
            rc = store_agent_config_insert(&tx, tenant_id, doc, note, who && who->id ? who->id : "", time_now_ms(),
                                           out_version, e);
        if (rc) {
            store_tx_rollback(&tx);
        } else {
            rc = store_tx_commit(&tx, e);
        }
        if (rc != ERR_CONFLICT)
            return rc;
    }
    return rc;
}

/* The audit details: {"version": n, "changes": [paths], …extra}. An audit
 * row's details hold at most 1023 bytes: past DETAILS_PATHS_MAX bytes of
 * paths the rest are counted in "more" instead of named. */
#define DETAILS_PATHS_MAX 800

static void details(struct buf *out, int64_t version, const char *from_doc, const char *to_doc, const char *extra)
{
    struct buf paths = {0};
    struct err de = {0};
    cJSON *arr = NULL;
    const cJSON *it;
    int named = 0, more = 0;

    buf_printf(out, "{\"version\":%lld,\"changes\":[", (long long)version);
    if (assistant__config_diff_docs(from_doc, to_doc, 1, &paths, &de) == 0 && json_parse(&arr, paths.data, paths.len, &de) == 0) {
        size_t start = out->len;
        cJSON_ArrayForEach(it, arr)
        {
            const char *path = cJSON_GetStringValue(it);
            if (!path || out->len - start + strlen(path) + 3 > DETAILS_PATHS_MAX) {
                more++;
                continue;
            }
            if (named++)
                buf_putc(out, ',');
            buf_json_str(out, path);
        }
    }
    buf_putc(out, ']');
    if (more)
        buf_printf(out, ",\"more\":%d", more);
    if (extra)
        buf_puts(out, extra);
    buf_putc(out, '}');
    cJSON_Delete(arr);
    buf_free(&paths);
}

int assistant_config_save(struct store *db, struct ops_keyring *keys, const char *tenant_id, const char *json,
                          size_t len, const char *api_key, const char *note, const struct assistant_actor *who,
                          int64_t *out_version, struct err *e)
{
    struct store_agent_config row;
    struct assistant_config cur = {0}, next = {0};
    struct buf before = {0}, after = {0}, det = {0};
    int64_t version = 0;
    int rc, has_key;

    memset(&row, 0, sizeof(row));
    if (out_version)
        *out_version = 0;
    if (note && (strlen(note) >= STORE_AGENT_NOTE_MAX || !assistant__config_text_ok(note, strlen(note), 0)))
        return err_set(e, ERR_INVALID, "invalid_config", "note: must be UTF-8 text of at most 199 bytes");
    if (api_key && (strlen(api_key) > API_KEY_MAX || !assistant__config_text_ok(api_key, strlen(api_key), 0)))
        return err_set(e, ERR_INVALID, "invalid_config", "api_key: must be printable text of at most 4096 bytes");
    if (api_key && *api_key && !keys)
        return err_set(e, ERR_INVALID, "invalid_config", "api_key: no key ring to seal it with");
    if ((rc = latest(db, tenant_id, &row, e)) || (rc = parse_stored(row.config, &cur, e)))
        goto out;
    if ((rc = assistant_config_parse(json, len, &cur, &next, e)))
        goto out;
    if (api_key)
        has_key = *api_key != '\0';
    else if ((rc = key_exists(db, tenant_id, &has_key, e)))
        goto out;
    next.api_key_set = has_key;
    assistant_config_json(&cur, &before);
    assistant_config_json(&next, &after);
    if ((rc = store_version(db, keys, tenant_id, after.data, api_key, note, who, &version, e)))
        goto out;
    details(&det, version, before.data, after.data,
            api_key ? (*api_key ? ",\"api_key\":\"set\"" : ",\"api_key\":\"removed\"") : NULL);
    audit(db, tenant_id, who, "assistant.config.update", version, det.data);
    if (out_version)
        *out_version = version;
out:
    buf_free(&det);
    buf_free(&after);
    buf_free(&before);
    assistant_config_free(&next);
    assistant_config_free(&cur);
    store_agent_config_clear(&row);
    return rc;
}

struct list_ctx {
    assistant_config_version_cb cb;
    void *ud;
};

static int on_version(void *ud, const struct store_agent_config *r)
{
    struct list_ctx *l = ud;
    struct assistant_config_version v;
    ver_from_row(&v, r);
    return l->cb(l->ud, &v);
}

int assistant_config_versions(struct store *db, const char *tenant_id, int limit, assistant_config_version_cb cb,
                              void *ud, struct err *e)
{
    struct list_ctx l = {cb, ud};
    if (limit < 1 || limit > 200)
        return err_set(e, ERR_INVALID, "invalid_limit", "limit must be 1 to 200");
    return store_agent_config_list(db, tenant_id, limit, on_version, &l, e);
}

/* The canonical document of version (0: the defaults) into *out. */
static int version_doc(struct store *db, const char *tenant_id, int64_t version, char **out,
                       struct assistant_config_version *ver, struct err *e)
{
    struct store_agent_config row;
    int rc;

    *out = NULL;
    if (ver)
        memset(ver, 0, sizeof(*ver));
    if (version < 0)
        return err_set(e, ERR_NOTFOUND, NULL, "agent configuration version not found");
    if (version == 0) {
        struct assistant_config def;
        struct buf b = {0};
        assistant_config_default(&def);
        assistant_config_json(&def, &b);
        *out = buf_steal(&b);
        return 0;
    }
    if ((rc = store_agent_config_get(db, tenant_id, version, &row, e)))
        return rc;
    if (ver)
        ver_from_row(ver, &row);
    *out = row.config;
    row.config = NULL;
    store_agent_config_clear(&row);
    return 0;
}

int assistant_config_get_version(struct store *db, const char *tenant_id, int64_t version, char **out,
                                 struct assistant_config_version *ver, struct err *e)
{
    return version_doc(db, tenant_id, version, out, ver, e);
}

int assistant_config_rollback(struct store *db, const char *tenant_id, int64_t version,
                              const struct assistant_actor *who, int64_t *out_version, struct err *e)
{
    struct store_agent_config row;
    struct assistant_config old = {0};
    struct buf after = {0}, det = {0};
    char *doc = NULL, note[64], extra[64];
    int64_t v = 0;
    int rc, has_key;

    memset(&row, 0, sizeof(row));
    if (out_version)
        *out_version = 0;
    if ((rc = version_doc(db, tenant_id, version, &doc, NULL, e)) || (rc = parse_stored(doc, &old, e)) ||
        (rc = latest(db, tenant_id, &row, e)))
        goto out;
    /* The key is not part of a version: it stays as it is now. */
    if ((rc = key_exists(db, tenant_id, &has_key, e)))
        goto out;
    old.api_key_set = has_key;
    assistant_config_json(&old, &after);
    snprintf(note, sizeof note, "rollback to %lld", (long long)version);
    if ((rc = store_version(db, NULL, tenant_id, after.data, NULL, note, who, &v, e)))
        goto out;
    if (!row.config) {
        struct assistant_config def;
        struct buf b = {0};
        assistant_config_default(&def);
        assistant_config_json(&def, &b);
        row.config = buf_steal(&b);
    }
    snprintf(extra, sizeof extra, ",\"rolled_back_to\":%lld", (long long)version);
    details(&det, v, row.config, after.data, extra);
    audit(db, tenant_id, who, "assistant.config.rollback", v, det.data);
    if (out_version)
        *out_version = v;
out:
    buf_free(&det);
    buf_free(&after);
    free(doc);
    assistant_config_free(&old);
    store_agent_config_clear(&row);
    return rc;
}

int assistant_config_api_key(struct store *db, struct ops_keyring *keys, const char *tenant_id, char **out,
                             struct err *e)
{
    size_t n = 0;
    *out = NULL;
    if (!keys)
        return err_set(e, ERR_INVALID, NULL, "assistant: no key ring");
    int rc = ops_secret_get(keys, db, tenant_id, SECRET_NAME, out, &n, e);
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        *out = NULL;
        return 0;
    }
    return rc;
}
