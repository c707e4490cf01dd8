/*
 * store media: the rows of inbound media (table media) and the one write
 * the media job makes to a message (its media JSON array).
 *
 * A row is created pending in the transaction that records its message, so
 * the fetch job always finds it; the job's outcome is written in one
 * statement. Every query is filtered by the tenant.
 */
#include <string.h>

#include "store/store_int.h"

#define MEDIA_COLS                                                                                               \
    "id, message_id, account_id, item, status, source_url, provider_media_id, provider_content_type,"           \
    " content_type, size, sha256, storage_key, error_code, error_text, attempts, created_at, updated_at"

int store_media_insert(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e)
{
    struct store_param p[10] = {store__ptext(m->id),
                                store__ptext(tenant_id),
                                store__ptext(m->message_id),
                                store__ptext(m->account_id),
                                store__pint(m->item),
                                store__ptext_or_null(m->source_url),
                                store__ptext_or_null(m->provider_media_id),
                                store__ptext_or_null(m->provider_content_type),
                                store__pint(m->created_at),
                                store__pint(m->updated_at)};
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(m->id, "media id", e)) ||
        (rc = store__need(m->message_id, "message id", e)) || (rc = store__need(m->account_id, "account id", e)))
        return rc;
    return store__q(tx->db, tx->c,
                    "INSERT INTO media (id, tenant_id, message_id, account_id, item, status, source_url,"
                    " provider_media_id, provider_content_type, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                    p, 10, NULL, NULL, NULL, e);
}

static int row_media(void *ud, const struct store_row *r)
{
    struct store_media *m = ud;

    store__cpy(m->id, sizeof(m->id), store__col_text(r, 0));
    store__cpy(m->message_id, sizeof(m->message_id), store__col_text(r, 1));
    store__cpy(m->account_id, sizeof(m->account_id), store__col_text(r, 2));
    m->item = (int)store__col_int(r, 3);
    store__cpy(m->status, sizeof(m->status), store__col_text(r, 4));
    store__cpy(m->source_url, sizeof(m->source_url), store__col_text(r, 5));
    store__cpy(m->provider_media_id, sizeof(m->provider_media_id), store__col_text(r, 6));
    store__cpy(m->provider_content_type, sizeof(m->provider_content_type), store__col_text(r, 7));
    store__cpy(m->content_type, sizeof(m->content_type), store__col_text(r, 8));
    m->size = store__col_int(r, 9);
    store__cpy(m->sha256, sizeof(m->sha256), store__col_text(r, 10));
    store__cpy(m->storage_key, sizeof(m->storage_key), store__col_text(r, 11));
    store__cpy(m->error_code, sizeof(m->error_code), store__col_text(r, 12));
    store__cpy(m->error_text, sizeof(m->error_text), store__col_text(r, 13));
    m->attempts = store__col_int(r, 14);
    m->created_at = store__col_int(r, 15);
    m->updated_at = store__col_int(r, 16);
    return 0;
}

int store_media_get(struct store *db, const char *tenant_id, const char *media_id, struct store_media *out,
                    struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(media_id)};
    int rc = store__need(tenant_id, "tenant id", e);

    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, "SELECT " MEDIA_COLS " FROM media WHERE tenant_id = ? AND id = ?", p, 2, row_media,
                          out, "media", e);
}

int store_media_get_tx(struct store_tx *tx, const char *tenant_id, const char *media_id, struct store_media *out,
                       struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(media_id)};
    int64_t rows = 0;
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    memset(out, 0, sizeof(*out));
    rc = store__q(tx->db, tx->c, "SELECT " MEDIA_COLS " FROM media WHERE tenant_id = ? AND id = ?", p, 2, row_media,
                  out, &rows, e);
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "media not found");
    return rc;
}

int store_media_update(struct store_tx *tx, const char *tenant_id, const struct store_media *m, struct err *e)
{
    struct store_param p[11] = {store__ptext(m->status),         store__ptext_or_null(m->content_type),
                                store__pint(m->size),            store__ptext_or_null(m->sha256),
                                store__ptext_or_null(m->storage_key), store__ptext_or_null(m->error_code),
                                store__ptext_or_null(m->error_text),  store__pint(m->attempts),
                                store__pint(m->updated_at),      store__ptext(tenant_id),
                                store__ptext(m->id)};
    int64_t changed = 0;
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    rc = store__q(tx->db, tx->c,
                  "UPDATE media SET status = ?, content_type = ?, size = ?, sha256 = ?, storage_key = ?,"
                  " error_code = ?, error_text = ?, attempts = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                  p, 11, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "no such media");
    return rc;
}

int store_message_media_set(struct store_tx *tx, const char *tenant_id, const char *message_id,
                            const char *media_json, int64_t now, struct err *e)
{
    struct store_param p[4] = {store__ptext_or_null(media_json), store__pint(now), store__ptext(tenant_id),
                               store__ptext(message_id)};
    int64_t changed = 0;
    int rc;

    if (!tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    rc = store__q(tx->db, tx->c, "UPDATE messages SET media = ?, updated_at = ? WHERE tenant_id = ? AND id = ?", p,
                  4, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "no such message");
    return rc;
}
