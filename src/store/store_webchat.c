/*
 * store webchat: website chat sessions and the widget's view of a session's
 * messages.
 *
 * Every query filters by the tenant id argument; the session lookup also by
 * the channel account, so a secret only opens sessions of the widget token
 * that came with it. Secrets are never stored, only their SHA-256. The
 * message read is bounded (limit) and keyed through the session's identity,
 * so a visitor sees the messages of its own session only, even when its
 * contact talks on other sessions or channels too.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define SESSION_COLS                                                                                      \
    "SELECT id, account_id, secret_hash, contact_id, name, email, ip, user_agent, created_at, last_seen_at" \
    " FROM webchat_sessions "

static int row_session(void *ud, const struct store_row *r)
{
    struct store_webchat_session *s = ud;
    store__cpy(s->id, sizeof(s->id), store__col_text(r, 0));
    store__cpy(s->account_id, sizeof(s->account_id), store__col_text(r, 1));
    store__cpy(s->secret_hash, sizeof(s->secret_hash), store__col_text(r, 2));
    store__cpy(s->contact_id, sizeof(s->contact_id), store__col_text(r, 3));
    store__cpy(s->name, sizeof(s->name), store__col_text(r, 4));
    store__cpy(s->email, sizeof(s->email), store__col_text(r, 5));
    store__cpy(s->ip, sizeof(s->ip), store__col_text(r, 6));
    store__cpy(s->user_agent, sizeof(s->user_agent), store__col_text(r, 7));
    s->created_at = store__col_int(r, 8);
    s->last_seen_at = store__col_int(r, 9);
    return 0;
}

int store_webchat_session_insert(struct store_tx *tx, const char *tenant_id, const struct store_webchat_session *s,
                                 struct err *e)
{
    struct store_param p[11];
    int64_t now = s->created_at ? s->created_at : time_now_ms();
    int rc;

    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(s->id, "session id", e)) ||
        (rc = store__need(s->account_id, "account id", e)) || (rc = store__need(s->secret_hash, "secret hash", e)))
        return rc;
    p[0] = store__ptext(s->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(s->account_id);
    p[3] = store__ptext(s->secret_hash);
    p[4] = store__ptext_or_null(s->contact_id);
    p[5] = store__ptext(s->name);
    p[6] = store__ptext(s->email);
    p[7] = store__ptext(s->ip);
    p[8] = store__ptext(s->user_agent);
    p[9] = store__pint(now);
    p[10] = store__pint(s->last_seen_at ? s->last_seen_at : now);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO webchat_sessions (id, tenant_id, account_id, secret_hash, contact_id, name, email, ip,"
                  " user_agent, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  p, 11, NULL, NULL, NULL, e);
    if (rc == ERR_CONFLICT)
        rc = err_set(e, ERR_CONFLICT, "conflict", "store: session id or secret already exists");
    else if (rc == ERR_INVALID)
        rc = err_set(e, ERR_NOTFOUND, NULL, "tenant or channel account not found");
    return rc;
}

int store_webchat_session_by_hash(struct store *db, const char *tenant_id, const char *account_id,
                                  const char *secret_hash, struct store_webchat_session *out, struct err *e)
{
    struct store_param p[3] = {store__ptext(secret_hash), store__ptext(tenant_id), store__ptext(account_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(account_id, "account id", e)) ||
        (rc = store__need(secret_hash, "secret hash", e)))
        return rc;
    memset(out, 0, sizeof(*out));
    return store__get_one(db, SESSION_COLS "WHERE secret_hash = ? AND tenant_id = ? AND account_id = ?", p, 3,
                          row_session, out, "webchat session", e);
}

int store_webchat_session_touch(struct store *db, const char *tenant_id, const char *session_id, int64_t now,
                                struct err *e)
{
    struct store_param p[3] = {store__pint(now), store__ptext(tenant_id), store__ptext(session_id)};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(session_id, "session id", e)))
        return rc;
    return store__write_one(db, "UPDATE webchat_sessions SET last_seen_at = ? WHERE tenant_id = ? AND id = ?", p, 3,
                            "webchat session", e);
}

/* Rows arrive newest first (the query keeps the latest limit); they are
 * collected and handed to the caller oldest first. */
struct wc_row {
    struct store_message m;
    char *body, *media;
};

struct wc_rows {
    struct wc_row *v;
    int n, cap;
};

static int row_wc_message(void *ud, const struct store_row *r)
{
    struct wc_rows *rows = ud;
    struct wc_row *w;
    const char *media;

    if (rows->n == rows->cap)
        return 1; /* the LIMIT makes this unreachable */
    w = &rows->v[rows->n++];
    memset(w, 0, sizeof(*w));
    store__cpy(w->m.id, sizeof(w->m.id), store__col_text(r, 0));
    store__cpy(w->m.conversation_id, sizeof(w->m.conversation_id), store__col_text(r, 1));
    store__cpy(w->m.account_id, sizeof(w->m.account_id), store__col_text(r, 2));
    store__cpy(w->m.direction, sizeof(w->m.direction), store__col_text(r, 3));
    store__cpy(w->m.type, sizeof(w->m.type), store__col_text(r, 4));
    w->body = strdup(store__col_text(r, 5));
    media = store__col_text(r, 6);
    w->media = *media ? strdup(media) : NULL;
    store__cpy(w->m.status, sizeof(w->m.status), store__col_text(r, 7));
    store__cpy(w->m.provider_message_id, sizeof(w->m.provider_message_id), store__col_text(r, 8));
    store__cpy(w->m.origin, sizeof(w->m.origin), store__col_text(r, 9));
    w->m.created_at = store__col_int(r, 10);
    store__cpy(w->m.address, sizeof(w->m.address), store__col_text(r, 11));
    if (!w->body || (*media && !w->media))
        return ERR_NOMEM;
    return 0;
}

int store_webchat_messages(struct store *db, const char *tenant_id, const char *account_id, const char *session_id,
                           int limit, store_message_cb cb, void *ud, struct err *e)
{
    struct store_param p[6];
    struct wc_rows rows = {0};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(account_id, "account id", e)) ||
        (rc = store__need(session_id, "session id", e)))
        return rc;
    if (limit <= 0 || limit > 1000)
        limit = 100;
    rows.v = calloc((size_t)limit, sizeof(*rows.v));
    if (!rows.v)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    rows.cap = limit;
    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(session_id);
    p[2] = store__ptext(account_id);
    p[3] = store__ptext(tenant_id);
    p[4] = store__ptext(session_id);
    p[5] = store__pint(limit);
    rc = store__list(db,
                     "SELECT m.id, m.conversation_id, m.account_id, m.direction, m.type, m.body, m.media, m.status,"
                     " m.provider_message_id, m.origin, m.created_at, m.address FROM messages m"
                     " WHERE m.conversation_id = (SELECT c.id FROM contact_identities i JOIN conversations c"
                     " ON c.tenant_id = i.tenant_id AND c.contact_id = i.contact_id"
                     " WHERE i.tenant_id = ? AND i.kind = 'webchat' AND i.address = ? AND c.account_id = ?)"
                     " AND m.tenant_id = ? AND m.address = ?"
                     " ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
                     p, 6, row_wc_message, &rows, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (int i = rows.n - 1; rc == 0 && i >= 0; i--) {
        rows.v[i].m.body = rows.v[i].body;
        rows.v[i].m.media = rows.v[i].media;
        rc = cb(ud, &rows.v[i].m);
    }
    for (int i = 0; i < rows.n; i++) {
        free(rows.v[i].body);
        free(rows.v[i].media);
    }
    free(rows.v);
    return rc;
}
