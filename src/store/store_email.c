/*
 * store email: the Message-IDs of a conversation's e-mails, for threading
 * the next one (In-Reply-To, References). Read on a pooled connection; the
 * messages_conversation index (conversation_id, created_at, id) serves it.
 */
#include <string.h>

#include "store/store_int.h"

struct rfc_iter {
    store_rfc_id_cb cb;
    void *ud;
};

static int row_rfc(void *ud, const struct store_row *r)
{
    struct rfc_iter *it = ud;
    return it->cb(it->ud, store__col_text(r, 0), store__col_text(r, 1), store__col_int(r, 2));
}

int store_message_rfc_ids(struct store *db, const char *tenant_id, const char *conversation_id,
                          const char *exclude_id, int64_t until, int limit, store_rfc_id_cb cb, void *ud,
                          struct err *e)
{
    struct rfc_iter it = {cb, ud};
    struct store_param p[5] = {store__ptext(tenant_id), store__ptext(conversation_id),
                               store__ptext(exclude_id ? exclude_id : ""), store__pint(until),
                               store__pint(limit > 0 ? limit : 20)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(conversation_id, "conversation id", e)))
        return rc;
    return store__list(db,
                       "SELECT direction, rfc_message_id, created_at FROM messages"
                       " WHERE tenant_id = ? AND conversation_id = ? AND id <> ? AND created_at <= ?"
                       " AND rfc_message_id IS NOT NULL AND rfc_message_id <> ''"
                       " ORDER BY created_at DESC, id DESC LIMIT ?",
                       p, 5, row_rfc, &it, e);
}
