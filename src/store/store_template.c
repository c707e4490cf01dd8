/*
 * store template: message templates and their versions (the SQL behind
 * src/template/); what Meta says about them is in store_template_provider.c.
 *
 * Invariants: every query filters by the tenant id argument, except
 * store_template_tenants_without_default (a global walk for seeding). A
 * template row and the version it names (templates.version) always exist
 * together: they are inserted in one transaction, and a new version is
 * inserted before the row points at it. Workflow writes are
 * compare-and-set on the row's (version, status), so two people deciding
 * at once cannot both win: the loser gets ERR_CONFLICT and nothing of his
 * is written.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define T_COLS                                                                                                     \
    "t.id, t.tenant_id, t.channel, t.account_id, t.name, t.language, t.category, t.source, t.version, t.status,"   \
    " t.provider_status, t.provider_id, t.provider_reason, t.is_default, t.synced_at, t.created_by, t.created_at," \
    " t.updated_at"
#define T_NCOLS 18
#define V_COLS                                                                                                    \
    "v.template_id, v.version, v.body, v.header, v.footer, v.buttons, v.subject, v.html, v.variables, v.status," \
    " v.created_by, v.created_at, v.submitted_by, v.submitted_at, v.decided_by, v.decided_at, v.reason"
#define TV_SELECT                                                                                                  \
    "SELECT " T_COLS ", " V_COLS " FROM templates t JOIN template_versions v ON v.template_id = t.id"               \
    " AND v.version = t.version "

void store_template_version_clear(struct store_template_version *v)
{
    if (!v)
        return;
    free(v->body);
    free(v->header);
    free(v->footer);
    free(v->buttons);
    free(v->subject);
    free(v->html);
    free(v->variables);
    free(v->reason);
    memset(v, 0, sizeof(*v));
}

static int need_tx(const struct store_tx *tx, struct err *e)
{
    if (!tx || !tx->c)
        return err_set(e, ERR_INVALID, NULL, "store: no transaction");
    return 0;
}

/* A text column as a malloc'd string, NULL for SQL NULL; ERR_NOMEM. */
static int col_dup(const struct store_row *r, int i, char **out)
{
    *out = NULL;
    if (r->be->col_null(r, i))
        return 0;
    *out = strdup(store__col_text(r, i));
    return *out ? 0 : ERR_NOMEM;
}

static void row_to_template(const struct store_row *r, struct store_template *t)
{
    memset(t, 0, sizeof(*t));
    store__cpy(t->id, sizeof(t->id), store__col_text(r, 0));
    store__cpy(t->tenant_id, sizeof(t->tenant_id), store__col_text(r, 1));
    store__cpy(t->channel, sizeof(t->channel), store__col_text(r, 2));
    store__cpy(t->account_id, sizeof(t->account_id), store__col_text(r, 3));
    store__cpy(t->name, sizeof(t->name), store__col_text(r, 4));
    store__cpy(t->language, sizeof(t->language), store__col_text(r, 5));
    store__cpy(t->category, sizeof(t->category), store__col_text(r, 6));
    store__cpy(t->source, sizeof(t->source), store__col_text(r, 7));
    t->version = store__col_int(r, 8);
    store__cpy(t->status, sizeof(t->status), store__col_text(r, 9));
    store__cpy(t->provider_status, sizeof(t->provider_status), store__col_text(r, 10));
    store__cpy(t->provider_id, sizeof(t->provider_id), store__col_text(r, 11));
    store__cpy(t->provider_reason, sizeof(t->provider_reason), store__col_text(r, 12));
    t->is_default = store__col_int(r, 13) != 0;
    t->synced_at = store__col_int(r, 14);
    store__cpy(t->created_by, sizeof(t->created_by), store__col_text(r, 15));
    t->created_at = store__col_int(r, 16);
    t->updated_at = store__col_int(r, 17);
}

/* The version's columns start at column o. */
static int row_to_version(const struct store_row *r, int o, struct store_template_version *v)
{
    int rc;

    store_template_version_clear(v);
    store__cpy(v->template_id, sizeof(v->template_id), store__col_text(r, o));
    v->version = store__col_int(r, o + 1);
    if ((rc = col_dup(r, o + 3, &v->header)) || (rc = col_dup(r, o + 4, &v->footer)) ||
        (rc = col_dup(r, o + 5, &v->buttons)) || (rc = col_dup(r, o + 6, &v->subject)) ||
        (rc = col_dup(r, o + 7, &v->html)) || (rc = col_dup(r, o + 16, &v->reason)))
        return rc;
    v->body = strdup(store__col_text(r, o + 2));
    v->variables = strdup(r->be->col_null(r, o + 8) ? "[]" : store__col_text(r, o + 8));
    if (!v->body || !v->variables)
        return ERR_NOMEM;
    store__cpy(v->status, sizeof(v->status), store__col_text(r, o + 9));
    store__cpy(v->created_by, sizeof(v->created_by), store__col_text(r, o + 10));
    v->created_at = store__col_int(r, o + 11);
    store__cpy(v->submitted_by, sizeof(v->submitted_by), store__col_text(r, o + 12));
    v->submitted_at = store__col_int(r, o + 13);
    store__cpy(v->decided_by, sizeof(v->decided_by), store__col_text(r, o + 14));
    v->decided_at = store__col_int(r, o + 15);
    return 0;
}

/* One joined row into a caller's template and (optional) version. */
struct tv_one {
    struct store_template *t;
    struct store_template_version *v;
};

static int row_tv_one(void *ud, const struct store_row *r)
{
    struct tv_one *o = ud;
    row_to_template(r, o->t);
    return o->v ? row_to_version(r, T_NCOLS, o->v) : 0;
}

struct tv_iter {
    store_template_cb cb;
    void *ud;
    struct store_template *t; /* heap: the struct is large */
    struct store_template_version v;
};

static int row_tv_cb(void *ud, const struct store_row *r)
{
    struct tv_iter *it = ud;
    int rc;

    row_to_template(r, it->t);
    if ((rc = row_to_version(r, T_NCOLS, &it->v)))
        return rc;
    return it->cb(it->ud, it->t, &it->v);
}

static int insert_version(struct store_tx *tx, const char *tenant_id, const char *id,
                          const struct store_template_version *v, struct err *e)
{
    struct store_param p[17];

    p[0] = store__ptext(tenant_id);
    p[1] = store__ptext(id);
    p[2] = store__pint(v->version);
    p[3] = store__ptext(v->body ? v->body : "");
    p[4] = store__ptext_or_null(v->header);
    p[5] = store__ptext_or_null(v->footer);
    p[6] = store__ptext_or_null(v->buttons);
    p[7] = store__ptext_or_null(v->subject);
    p[8] = store__ptext_or_null(v->html);
    p[9] = store__ptext(v->variables && *v->variables ? v->variables : "[]");
    p[10] = store__ptext(v->status);
    p[11] = store__ptext(v->created_by);
    p[12] = store__pint(v->created_at);
    p[13] = store__ptext_or_null(v->submitted_by);
    p[14] = store__pint(v->submitted_at);
    p[15] = store__ptext_or_null(v->decided_by);
    p[16] = store__pint(v->decided_at);
    return store__q(tx->db, tx->c,
                    "INSERT INTO template_versions (tenant_id, template_id, version, body, header, footer, buttons,"
                    " subject, html, variables, status, created_by, created_at, submitted_by, submitted_at,"
                    " decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    p, 17, NULL, NULL, NULL, e);
}

/* The row's parameters for the two inserts (16 of them). */
static void template_params(struct store_param *p, const char *tenant_id, const struct store_template *t)
{
    p[0] = store__ptext(t->id);
    p[1] = store__ptext(tenant_id);
    p[2] = store__ptext(t->channel);
    p[3] = store__ptext_or_null(t->account_id);
    p[4] = store__ptext(t->name);
    p[5] = store__ptext(t->language);
    p[6] = store__ptext(t->category);
    p[7] = store__ptext(t->source[0] ? t->source : "local");
    p[8] = store__pint(t->version > 0 ? t->version : 1);
    p[9] = store__ptext(t->status);
    p[10] = store__ptext(t->provider_status);
    p[11] = store__ptext_or_null(t->provider_id);
    p[12] = store__pint(t->is_default ? 1 : 0);
    p[13] = store__ptext(t->created_by);
    p[14] = store__pint(t->created_at);
    p[15] = store__pint(t->updated_at ? t->updated_at : t->created_at);
}

static int check_new(const struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                     const struct store_template_version *v, struct err *e)
{
    int rc;
    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(t->id, "template id", e)) || (rc = store__need(t->channel, "channel", e)) ||
        (rc = store__need(t->name, "template name", e)) || (rc = store__need(t->language, "template language", e)) ||
        (rc = store__need(t->status, "status", e)) || (rc = store__need(v->status, "version status", e)))
        return rc;
    if (v->version != (t->version > 0 ? t->version : 1))
        return err_set(e, ERR_INVALID, NULL, "store: the version inserted must be the template's current one");
    return 0;
}

int store_template_insert(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                          const struct store_template_version *v, struct err *e)
{
    struct store_param p[16];
    int rc;

    if ((rc = check_new(tx, tenant_id, t, v, e)))
        return rc;
    template_params(p, tenant_id, t);
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO templates (id, tenant_id, channel, account_id, name, language, category, source,"
                  " version, status, provider_status, provider_id, is_default, created_by, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  p, 16, NULL, NULL, NULL, e);
    if (rc == ERR_CONFLICT)
        err_set(e, ERR_CONFLICT, "template_exists", "a template with this name and language exists");
    return rc ? rc : insert_version(tx, tenant_id, t->id, v, e);
}

int store_template_insert_default(struct store_tx *tx, const char *tenant_id, const struct store_template *t,
                                  const struct store_template_version *v, int *out_inserted, struct err *e)
{
    struct store_param p[16];
    int64_t changed = 0;
    int rc;

    *out_inserted = 0;
    if ((rc = check_new(tx, tenant_id, t, v, e)))
        return rc;
    template_params(p, tenant_id, t);
    /* Any conflict (a default, or the same name) means the tenant has it. */
    rc = store__q(tx->db, tx->c,
                  "INSERT INTO templates (id, tenant_id, channel, account_id, name, language, category, source,"
                  " version, status, provider_status, provider_id, is_default, created_by, created_at, updated_at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  p, 16, NULL, NULL, &changed, e);
    if (rc || changed == 0)
        return rc;
    *out_inserted = 1;
    return insert_version(tx, tenant_id, t->id, v, e);
}

struct id_list {
    char (*ids)[CORE_ID_MAX];
    size_t n, cap;
};

static int row_id_collect(void *ud, const struct store_row *r)
{
    struct id_list *l = ud;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        void *p = realloc(l->ids, ncap * sizeof(*l->ids));
        if (!p)
            return ERR_NOMEM;
        l->ids = p;
        l->cap = ncap;
    }
    store__cpy(l->ids[l->n++], CORE_ID_MAX, store__col_text(r, 0));
    return 0;
}

int store_template_tenants_without_default(struct store *db, const char *channel, store_tenant_id_cb cb, void *ud,
                                           struct err *e)
{
    struct store_param p[1] = {store__ptext(channel)};
    struct id_list l = {0};
    int rc;

    if ((rc = store__need(channel, "channel", e)))
        return rc;
    /* Collected first: cb may call the store. */
    rc = store__list(db,
                     "SELECT id FROM tenants k WHERE NOT EXISTS (SELECT 1 FROM templates t WHERE t.tenant_id = k.id"
                     " AND t.channel = ? AND t.is_default = 1) ORDER BY id",
                     p, 1, row_id_collect, &l, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = cb(ud, l.ids[i]);
    free(l.ids);
    return rc;
}

int store_template_get(struct store *db, const char *tenant_id, const char *id, struct store_template *out,
                       struct store_template_version *v, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    struct tv_one o = {out, v};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "template id", e)))
        return rc;
    rc = store__get_one(db, TV_SELECT "WHERE t.tenant_id = ? AND t.id = ?", p, 2, row_tv_one, &o, "template", e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    return rc;
}

int store_template_get_tx(struct store_tx *tx, const char *tenant_id, const char *id, struct store_template *out,
                          struct store_template_version *v, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    struct tv_one o = {out, v};
    int64_t rows = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(id, "template id", e)))
        return rc;
    rc = store__q(tx->db, tx->c, TV_SELECT "WHERE t.tenant_id = ? AND t.id = ?", p, 2, row_tv_one, &o, &rows, e);
    if (rc == ERR_NOMEM)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc == 0 && rows == 0)
        rc = err_set(e, ERR_NOTFOUND, NULL, "template not found");
    return rc;
}

int store_template_find(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        const char *name, const char *language, struct store_template *out,
                        struct store_template_version *v, struct err *e)
{
    const char *lang = language ? language : "", *acct = account_id ? account_id : "";
    struct store_param p[6] = {store__ptext(tenant_id), store__ptext(channel), store__ptext(name),
                               store__ptext(lang),      store__ptext(lang),    store__ptext(acct)};
    struct tv_one o = {out, v};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(channel, "channel", e)) ||
        (rc = store__need(name, "template name", e)))
        return rc;
    rc = store__get_one(db,
                        TV_SELECT "WHERE t.tenant_id = ? AND t.channel = ? AND t.name = ?"
                                  " AND (? = '' OR t.language = ?) AND (t.account_id IS NULL OR t.account_id = ?)"
                                  " ORDER BY CASE WHEN t.account_id IS NULL THEN 1 ELSE 0 END, t.language LIMIT 1",
                        p, 6, row_tv_one, &o, "template", e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    return rc;
}

int store_template_list(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                        store_template_cb cb, void *ud, struct err *e)
{
    const char *ch = channel ? channel : "", *acct = account_id ? account_id : "";
    struct store_param p[5] = {store__ptext(tenant_id), store__ptext(ch), store__ptext(ch), store__ptext(acct),
                               store__ptext(acct)};
    struct tv_iter it = {.cb = cb, .ud = ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)))
        return rc;
    it.t = malloc(sizeof(*it.t));
    if (!it.t)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    rc = store__list(db,
                     TV_SELECT "WHERE t.tenant_id = ? AND (? = '' OR t.channel = ?) AND (? = '' OR t.account_id = ?)"
                               " ORDER BY t.name, t.language, t.id",
                     p, 5, row_tv_cb, &it, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    store_template_version_clear(&it.v);
    free(it.t);
    return rc;
}

struct v_iter {
    store_template_version_cb cb;
    void *ud;
    struct store_template_version v;
};

static int row_v_cb(void *ud, const struct store_row *r)
{
    struct v_iter *it = ud;
    int rc = row_to_version(r, 0, &it->v);
    return rc ? rc : it->cb(it->ud, &it->v);
}

int store_template_versions(struct store *db, const char *tenant_id, const char *id, store_template_version_cb cb,
                            void *ud, struct err *e)
{
    struct store_param p[2] = {store__ptext(tenant_id), store__ptext(id)};
    struct v_iter it = {.cb = cb, .ud = ud};
    int rc;

    if ((rc = store__need(tenant_id, "tenant id", e)) || (rc = store__need(id, "template id", e)))
        return rc;
    rc = store__list(db, "SELECT " V_COLS " FROM template_versions v WHERE v.tenant_id = ? AND v.template_id = ?"
                         " ORDER BY v.version DESC",
                     p, 2, row_v_cb, &it, e);
    if (rc == ERR_NOMEM)
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    store_template_version_clear(&it.v);
    return rc;
}

int store_template_version_add(struct store_tx *tx, const char *tenant_id, const char *id, int64_t prev_version,
                               const struct store_template_version *v, int64_t now, struct err *e)
{
    struct store_param p[5] = {store__pint(v->version), store__pint(now), store__ptext(tenant_id), store__ptext(id),
                               store__pint(prev_version)};
    int64_t changed = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(id, "template id", e)))
        return rc;
    if ((rc = insert_version(tx, tenant_id, id, v, e))) {
        if (rc == ERR_CONFLICT)
            err_set(e, ERR_CONFLICT, "template_changed", "the template changed meanwhile; reload it and retry");
        return rc;
    }
    rc = store__q(tx->db, tx->c,
                  "UPDATE templates SET version = ?, status = 'draft', provider_status = '', provider_reason = NULL,"
                  " updated_at = ? WHERE tenant_id = ? AND id = ? AND version = ?",
                  p, 5, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_CONFLICT, "template_changed", "the template changed meanwhile; reload it and retry");
    return rc;
}

int store_template_version_edit(struct store_tx *tx, const char *tenant_id, const char *id,
                                const struct store_template_version *v, int64_t now, struct err *e)
{
    struct store_param p[11];
    int64_t changed = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(id, "template id", e)))
        return rc;
    p[0] = store__ptext(v->body ? v->body : "");
    p[1] = store__ptext_or_null(v->header);
    p[2] = store__ptext_or_null(v->footer);
    p[3] = store__ptext_or_null(v->buttons);
    p[4] = store__ptext_or_null(v->subject);
    p[5] = store__ptext_or_null(v->html);
    p[6] = store__ptext(v->variables && *v->variables ? v->variables : "[]");
    p[7] = store__ptext(tenant_id);
    p[8] = store__ptext(id);
    p[9] = store__pint(v->version);
    p[10] = store__ptext(id);
    rc = store__q(tx->db, tx->c,
                  "UPDATE template_versions SET body = ?, header = ?, footer = ?, buttons = ?, subject = ?, html = ?,"
                  " variables = ?, status = 'draft', submitted_by = NULL, submitted_at = 0"
                  " WHERE tenant_id = ? AND template_id = ? AND version = ? AND status IN ('draft', 'pending')"
                  " AND version = (SELECT version FROM templates WHERE id = ?)",
                  p, 11, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_CONFLICT, "template_changed", "the template changed meanwhile; reload it and retry");
    if (rc)
        return rc;
    struct store_param q[4] = {store__pint(now), store__ptext(tenant_id), store__ptext(id), store__pint(v->version)};
    return store__q(tx->db, tx->c,
                    "UPDATE templates SET status = 'draft', updated_at = ? WHERE tenant_id = ? AND id = ?"
                    " AND version = ?",
                    q, 4, NULL, NULL, NULL, e);
}

int store_template_transition(struct store_tx *tx, const char *tenant_id, const char *id, int64_t version,
                              const char *from, const char *to, const char *actor, const char *reason, int64_t now,
                              struct err *e)
{
    struct store_param p[6] = {store__ptext(to), store__pint(now), store__ptext(tenant_id), store__ptext(id),
                               store__pint(version), store__ptext(from)};
    int64_t changed = 0;
    int rc;

    if ((rc = need_tx(tx, e)) || (rc = store__need(tenant_id, "tenant id", e)) ||
        (rc = store__need(id, "template id", e)) || (rc = store__need(from, "from status", e)) ||
        (rc = store__need(to, "to status", e)) || (rc = store__need(actor, "actor", e)))
        return rc;
    rc = store__q(tx->db, tx->c,
                  "UPDATE templates SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND version = ?"
                  " AND status = ?",
                  p, 6, NULL, NULL, &changed, e);
    if (rc == 0 && changed == 0)
        rc = err_set(e, ERR_CONFLICT, "template_changed", "the template changed meanwhile; reload it and retry");
    if (rc)
        return rc;
    struct store_param q[7] = {store__ptext(to),        store__ptext(actor), store__pint(now),
                               store__ptext_or_null(reason), store__ptext(tenant_id), store__ptext(id),
                               store__pint(version)};
    if (strcmp(to, "pending") == 0)
        return store__q(tx->db, tx->c,
                        "UPDATE template_versions SET status = ?, submitted_by = ?, submitted_at = ?,"
                        " reason = COALESCE(?, reason) WHERE tenant_id = ? AND template_id = ? AND version = ?",
                        q, 7, NULL, NULL, NULL, e);
    return store__q(tx->db, tx->c,
                    "UPDATE template_versions SET status = ?, decided_by = ?, decided_at = ?, reason = ?"
                    " WHERE tenant_id = ? AND template_id = ? AND version = ?",
                    q, 7, NULL, NULL, NULL, e);
}
