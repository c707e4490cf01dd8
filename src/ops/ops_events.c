/*
 * ops_events: the realtime event log's checks and its read side for the
 * HTTP layer (routes and the WebSocket pump never call the store for tenant
 * data).
 *
 * What is appended is what clients receive verbatim inside their event
 * frames, so it is checked here once: a type of [a-z0-9._] (it goes into
 * JSON and metric-like names unescaped by clients' routers) and data that
 * parses as a JSON object (the frame embeds it as is).
 */
#include <string.h>

#include "ops/ops.h"

static int event_type_ok(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

int ops_event_append(struct store_tx *tx, const char *tenant_id, const char *type, const char *data,
                     int64_t *out_seq, struct err *e)
{
    cJSON *doc = NULL;
    struct err perr = {0};
    int rc;

    if (out_seq)
        *out_seq = 0;
    if (!tenant_id || !*tenant_id) {
        rc = err_set(e, ERR_INVALID, "invalid_event", "event needs a tenant");
        goto out;
    }
    if (!event_type_ok(type)) {
        rc = err_set(e, ERR_INVALID, "invalid_event", "event type must be 1-63 characters of [a-z0-9._]");
        goto out;
    }
    if (!data || json_parse(&doc, data, strlen(data), &perr) != 0 || !cJSON_IsObject(doc)) {
        rc = err_set(e, ERR_INVALID, "invalid_event", "event data must be a JSON object");
        goto out;
    }
    rc = store_event_append(tx, tenant_id, type, data, 0, out_seq, e);
out:
    cJSON_Delete(doc);
    return rc;
}

/* Thin: the HTTP layer reads the log through ops, never the store (DESIGN.md section 3). */
int ops_event_list(struct store *db, const char *tenant_id, int64_t after_seq, int limit, store_event_cb cb,
                   void *ud, struct err *e)
{
    return store_event_list(db, tenant_id, after_seq, limit, cb, ud, e);
}

int ops_event_last_seq(struct store *db, const char *tenant_id, int64_t *out_last, struct err *e)
{
    return store_event_bounds(db, tenant_id, NULL, out_last, e);
}

int ops_event_bounds(struct store *db, const char *tenant_id, int64_t *out_first, int64_t *out_last,
                     struct err *e)
{
    return store_event_bounds(db, tenant_id, out_first, out_last, e);
}

int ops_event_prune(struct store *db, int64_t before_ms, int limit, int64_t *out_deleted, struct err *e)
{
    return store_event_prune(db, before_ms, limit, out_deleted, e);
}
