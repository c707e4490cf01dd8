/*
 * crm read: the lists and reads behind the API (conversations, their
 * messages, contacts), opaque cursors, and the conversation update.
 *
 * Cursors are keyset positions, never offsets: base64url of a tag naming
 * the list, the last row's sort time and its id, so a page continues after
 * exactly the row the previous one ended on (no duplicates or gaps while
 * rows are only added elsewhere) and a cursor of one list is refused by
 * another. Each list asks the store for limit + 1 rows to know whether a
 * next page exists without an extra query.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"
#include "ops/ops.h"

#define CURSOR_CONVERSATIONS 'c'
#define CURSOR_MESSAGES 'm'
#define CURSOR_CONTACTS 'a' /* by last activity (an older 'k' cursor, by creation, is refused) */

/* ---------------------------------------------------------------- cursors */

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void cursor_encode(char out[CRM_CURSOR_MAX], char tag, int64_t at, const char *id)
{
    char raw[CRM_CURSOR_MAX];
    int n = snprintf(raw, sizeof(raw), "%c%" PRId64 ".%s", tag, at, id);
    size_t o = 0;

    out[0] = '\0';
    if (n <= 0 || (size_t)n >= sizeof(raw) || crypto_base64_len((size_t)n) > CRM_CURSOR_MAX)
        return; /* ids are CORE_ID_MAX at most: cannot happen */
    crypto_base64(out, CRM_CURSOR_MAX, raw, (size_t)n);
    for (size_t i = 0; out[i]; i++) {
        if (out[i] == '=')
            break;
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[o] = '\0';
}

static int bad_cursor(struct err *e)
{
    return err_set(e, ERR_INVALID, "invalid_cursor", "cursor is not one this list returned");
}

/* at and id of a cursor of this list; ERR_INVALID "invalid_cursor" otherwise. */
static int cursor_decode(const char *cursor, char tag, int64_t *at, char id[CORE_ID_MAX], struct err *e)
{
    char raw[CRM_CURSOR_MAX];
    size_t len = strlen(cursor), i;
    int n;
    int64_t v = 0;

    if (len == 0 || len >= CRM_CURSOR_MAX)
        return bad_cursor(e);
    for (i = 0; i < len; i++)
        if (!id_char(cursor[i]))
            return bad_cursor(e);
    n = crypto_unbase64(raw, sizeof(raw) - 1, cursor, len);
    if (n < 3)
        return bad_cursor(e);
    raw[n] = '\0';
    if ((size_t)n != strlen(raw) || raw[0] != tag)
        return bad_cursor(e);
    for (i = 1; raw[i] >= '0' && raw[i] <= '9'; i++) {
        if (i > 19 || v > (INT64_MAX - (raw[i] - '0')) / 10)
            return bad_cursor(e);
        v = v * 10 + (raw[i] - '0');
    }
    if (i == 1 || raw[i] != '.')
        return bad_cursor(e);
    const char *s = raw + i + 1;
    size_t idlen = strlen(s);
    if (idlen == 0 || idlen >= CORE_ID_MAX)
        return bad_cursor(e);
    for (i = 0; i < idlen; i++)
        if (!id_char(s[i]))
            return bad_cursor(e);
    memcpy(id, s, idlen + 1);
    *at = v;
    return 0;
}

/* Validates page: the limit into *limit, the position into at/id (at -1: start). */
static int page_start(struct crm_page *page, char tag, int *limit, int64_t *at, char id[CORE_ID_MAX],
                      struct err *e)
{
    page->next_cursor[0] = '\0';
    *limit = page->limit ? page->limit : CRM_LIMIT_DEFAULT;
    if (*limit < 1 || *limit > CRM_LIMIT_MAX)
        return err_set(e, ERR_INVALID, "invalid_limit", "limit must be 1..%d", CRM_LIMIT_MAX);
    *at = -1;
    id[0] = '\0';
    if (page->cursor && *page->cursor)
        return cursor_decode(page->cursor, tag, at, id, e);
    return 0;
}

/* One page over a store list: forwards up to limit rows and remembers the
 * last one; the extra row only says a next page exists. */
struct pager {
    int limit;
    int n;
    int more;
    int64_t last_at;
    char last_id[CORE_ID_MAX];
    store_conversation_cb conv_cb;
    store_message_cb msg_cb;
    store_contact_cb contact_cb;
    void *ud;
};

static int pager_take(struct pager *pg, int64_t at, const char *id)
{
    if (++pg->n > pg->limit) {
        pg->more = 1;
        return 0;
    }
    pg->last_at = at;
    snprintf(pg->last_id, sizeof(pg->last_id), "%s", id);
    return 1;
}

static void pager_end(struct pager *pg, struct crm_page *page, char tag)
{
    if (pg->more)
        cursor_encode(page->next_cursor, tag, pg->last_at, pg->last_id);
}

/* ---------------------------------------------------------- conversations */

static int valid_conv_status(const char *s)
{
    return s && (strcmp(s, "open") == 0 || strcmp(s, "pending") == 0 || strcmp(s, "resolved") == 0);
}

static int conv_page_cb(void *ud, const struct store_conversation *c)
{
    struct pager *pg = ud;
    if (!pager_take(pg, c->last_message_at, c->id))
        return 0;
    return pg->conv_cb(pg->ud, c);
}

int crm_conversation_list(struct store *db, const char *tenant_id, const struct store_conversation_filter *f,
                          struct crm_page *page, store_conversation_cb cb, void *ud, struct err *e)
{
    struct pager pg;
    char id[CORE_ID_MAX];
    int64_t at;
    int limit, rc;

    memset(&pg, 0, sizeof(pg));
    if ((rc = page_start(page, CURSOR_CONVERSATIONS, &limit, &at, id, e)))
        return rc;
    if (f && f->status && *f->status && !valid_conv_status(f->status))
        return err_set(e, ERR_INVALID, "invalid_status", "status must be open, pending or resolved");
    if (f && f->q && strlen(f->q) > CRM_QUERY_MAX)
        return err_set(e, ERR_INVALID, "invalid_request", "q has at most %d characters", CRM_QUERY_MAX);
    pg.limit = limit;
    pg.conv_cb = cb;
    pg.ud = ud;
    rc = store_conversation_list(db, tenant_id, f, at, id, limit + 1, conv_page_cb, &pg, e);
    if (rc == 0)
        pager_end(&pg, page, CURSOR_CONVERSATIONS);
    return rc;
}

int crm_conversation_get(struct store *db, const char *tenant_id, const char *conversation_id,
                         struct store_conversation *out, struct err *e)
{
    return store_conversation_get(db, tenant_id, conversation_id, out, e);
}

static int msg_page_cb(void *ud, const struct store_message *m)
{
    struct pager *pg = ud;
    if (!pager_take(pg, m->created_at, m->id))
        return 0;
    return pg->msg_cb(pg->ud, m);
}

int crm_conversation_messages(struct store *db, const char *tenant_id, const char *conversation_id,
                              struct crm_page *page, store_message_cb cb, void *ud, struct err *e)
{
    struct store_conversation cv;
    struct pager pg;
    char id[CORE_ID_MAX];
    int64_t at;
    int limit, rc;

    memset(&pg, 0, sizeof(pg));
    if ((rc = page_start(page, CURSOR_MESSAGES, &limit, &at, id, e)) ||
        (rc = store_conversation_get(db, tenant_id, conversation_id, &cv, e)))
        return rc;
    pg.limit = limit;
    pg.msg_cb = cb;
    pg.ud = ud;
    rc = store_message_list(db, tenant_id, conversation_id, at, id, limit + 1, msg_page_cb, &pg, e);
    if (rc == 0)
        pager_end(&pg, page, CURSOR_MESSAGES);
    return rc;
}

/* Appends "name":{"from":…,"to":…} for a changed field. */
static void audit_change(struct buf *b, const char *name, const char *from, const char *to)
{
    if (b->len > 1)
        buf_putc(b, ',');
    buf_json_str(b, name);
    buf_puts(b, ":{\"from\":");
    buf_json_str(b, from && *from ? from : NULL);
    buf_puts(b, ",\"to\":");
    buf_json_str(b, to && *to ? to : NULL);
    buf_putc(b, '}');
}

int crm_conversation_update(struct store *db, const char *tenant_id, const char *conversation_id,
                            const struct crm_conversation_patch *p, const char *actor_type, const char *actor_id,
                            const char *ip, struct store_conversation *out, struct err *e)
{
    struct store_conversation before;
    struct store_member member;
    struct buf details = {0};
    const char *assignee = p->set_assignee && p->assignee_id && *p->assignee_id ? p->assignee_id : NULL;
    int rc;

    if (!p->status && !p->set_assignee)
        return err_set(e, ERR_INVALID, "invalid_request", "nothing to change: give status or assignee_id");
    if (p->status && !valid_conv_status(p->status))
        return err_set(e, ERR_INVALID, "invalid_status", "status must be open, pending or resolved");
    if ((rc = store_conversation_get(db, tenant_id, conversation_id, &before, e)))
        return rc;
    if (assignee) {
        rc = store_member_get(db, tenant_id, assignee, &member, e);
        if (rc == ERR_NOTFOUND)
            return err_set(e, ERR_INVALID, "invalid_assignee", "assignee_id is not a user of this tenant");
        if (rc)
            return rc;
    }
    if ((rc = store_conversation_update(db, tenant_id, conversation_id, p->status, p->set_assignee, assignee,
                                        time_now_ms(), e)) ||
        (rc = store_conversation_get(db, tenant_id, conversation_id, out, e)))
        return rc;
    buf_putc(&details, '{');
    if (p->status && strcmp(before.status, out->status) != 0)
        audit_change(&details, "status", before.status, out->status);
    if (p->set_assignee && strcmp(before.assignee_id, out->assignee_id) != 0)
        audit_change(&details, "assignee_id", before.assignee_id, out->assignee_id);
    if (details.len > 1) {
        buf_putc(&details, '}');
        rc = ops_audit(db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                       "conversation.update", conversation_id, ip ? ip : "", details.data, e);
    }
    buf_free(&details);
    return rc;
}

/* --------------------------------------------------------------- contacts */

static int contact_page_cb(void *ud, const struct store_contact *c)
{
    struct pager *pg = ud;
    if (!pager_take(pg, c->last_activity_at, c->id))
        return 0;
    return pg->contact_cb(pg->ud, c);
}

int crm_contact_list(struct store *db, const char *tenant_id, const char *q, struct crm_page *page,
                     store_contact_cb cb, void *ud, struct err *e)
{
    struct pager pg;
    char id[CORE_ID_MAX];
    int64_t at;
    int limit, rc;

    memset(&pg, 0, sizeof(pg));
    if ((rc = page_start(page, CURSOR_CONTACTS, &limit, &at, id, e)))
        return rc;
    if (q && strlen(q) > CRM_QUERY_MAX)
        return err_set(e, ERR_INVALID, "invalid_request", "q has at most %d characters", CRM_QUERY_MAX);
    pg.limit = limit;
    pg.contact_cb = cb;
    pg.ud = ud;
    rc = store_contact_list(db, tenant_id, q, at, id, limit + 1, contact_page_cb, &pg, e);
    if (rc == 0)
        pager_end(&pg, page, CURSOR_CONTACTS);
    return rc;
}

int crm_contact_get(struct store *db, const char *tenant_id, const char *contact_id, store_contact_cb cb,
                    void *ud, struct err *e)
{
    return store_contact_get(db, tenant_id, contact_id, cb, ud, e);
}

/* --------------------------------------------------------------- messages */

int crm_message_get(struct store *db, const char *tenant_id, const char *message_id, store_message_cb cb,
                    void *ud, struct err *e)
{
    return store_message_get(db, tenant_id, message_id, cb, ud, e);
}

int crm_last_inbound(struct store *db, const char *tenant_id, const char *account_id, const char *channel,
                     const char *address, int64_t *out, struct err *e)
{
    char addr[CRM_ADDRESS_MAX];
    const char *kind = crm_identity_kind(channel);
    int rc;

    *out = 0;
    if (!kind)
        return err_set(e, ERR_INVALID, "invalid_channel", "unknown channel %s", channel ? channel : "(none)");
    if ((rc = crm_normalize_address(kind, address, addr, sizeof(addr), e)))
        return rc;
    return store_conversation_last_inbound(db, tenant_id, account_id, kind, addr, out, e);
}

int crm_message_get_tx(struct store_tx *tx, const char *tenant_id, const char *message_id, store_message_cb cb,
                       void *ud, struct err *e)
{
    return store_message_get_tx(tx, tenant_id, message_id, cb, ud, e);
}

int crm_message_events(struct store *db, const char *tenant_id, const char *message_id,
                       store_message_event_cb cb, void *ud, struct err *e)
{
    return store_message_event_list(db, tenant_id, message_id, cb, ud, e);
}
