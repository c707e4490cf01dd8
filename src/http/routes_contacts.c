/*
 * routes_contacts: the contacts API: the list and search, one contact with
 * its identities' compliance standing, engagement and reachability on each
 * channel account, creating and editing contacts, merging an unknown
 * sender into an existing contact, and the preflight of a bulk send.
 *
 * Reachability and preflight are dry runs of the send gate
 * (messaging_reachability, messaging_preflight): the codes they report
 * are the ones POST /api/v1/messages answers. As for a send, a person
 * signed in to the dashboard is origin "agent", an API key origin "api".
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

#define PREFLIGHT_MAX 500

static int contact_cb(void *ud, const struct store_contact *k)
{
    struct http__list *c = ud;
    if (c->n++)
        buf_putc(c->b, ',');
    crm_contact_json(c->b, k);
    return 0;
}

void http__route_contacts_list(struct http_req *r)
{
    struct err e = {0};
    struct crm_page page;
    struct http__list c = {&r->out, 0};
    if (http__page_args(r, &page) != 0)
        return;
    http__json(r, 200);
    buf_puts(&r->out, "{\"data\":[");
    if (crm_contact_list(r->app->db, r->principal.tenant_id, http__query_str(r, "q"), &page, contact_cb, &c, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    http__page_end(r, &page);
}

/* The origin a send by this caller would have (routes_inbox.c decides so too). */
static const char *caller_origin(const struct http_req *r)
{
    return r->principal.kind == AUTH_SESSION ? "agent" : "api";
}

/* ---------------------------------------------------------------- detail */

struct detail {
    struct http_req *r;
    int rc;
    struct err e;
};

static void ms_or_null(struct buf *b, int64_t ms)
{
    if (ms > 0)
        buf_printf(b, "%lld", (long long)ms);
    else
        buf_puts(b, "null");
}

/* Each identity's opt-out and suppression standing (messaging_identity_status). */
static void identity_extra(void *ud, struct buf *b, const struct store_identity *id)
{
    struct detail *d = ud;
    struct messaging_identity_status st;

    if (d->rc)
        return;
    if ((d->rc = messaging_identity_status(d->r->app->messaging, d->r->principal.tenant_id, id->kind, id->address,
                                           &st, &d->e)))
        return;
    buf_printf(b, ",\"opted_out\":%s,\"opted_out_at\":", st.opted_out ? "true" : "false");
    ms_or_null(b, st.opted_out_at);
    buf_puts(b, ",\"opted_out_accounts\":[");
    for (int i = 0; i < st.nopted_out_accounts; i++) {
        if (i)
            buf_putc(b, ',');
        buf_json_str(b, st.opted_out_accounts[i]);
    }
    buf_printf(b, "],\"suppressed\":%s,\"suppression_reason\":", st.suppressed ? "true" : "false");
    buf_json_str(b, st.suppressed && st.suppression.reason[0] ? st.suppression.reason : NULL);
    buf_puts(b, ",\"suppression_source\":");
    buf_json_str(b, st.suppressed ? st.suppression.source : NULL);
}

static int reach_cb(void *ud, const struct messaging_account *a, const struct messaging_check *c)
{
    struct http__list *l = ud;
    struct buf *b = l->b;

    if (l->n++)
        buf_putc(b, ',');
    buf_puts(b, "{\"account_id\":");
    buf_json_str(b, a->id);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, a->channel);
    buf_puts(b, ",\"provider\":");
    buf_json_str(b, a->provider);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, a->name);
    buf_printf(b, ",\"available\":%s,\"code\":", c->ok ? "true" : "false");
    buf_json_str(b, c->ok ? NULL : c->code);
    buf_puts(b, ",\"message\":");
    buf_json_str(b, c->ok ? NULL : c->message);
    buf_printf(b, ",\"template_only\":%s,\"held_until\":", c->template_only ? "true" : "false");
    ms_or_null(b, c->held_until);
    buf_putc(b, '}');
    return 0;
}

/* The contact page: the contact, its identities' standing, engagement and
 * reachability (GET, and the answer of PATCH and merge). */
static void contact_detail(struct http_req *r, const char *contact_id, int status, const struct store_contact_merge *mg)
{
    struct crm_contact k;
    struct store_contact_engagement g;
    struct messaging_check_request req = {caller_origin(r), NULL, NULL, 0};
    struct detail d = {r, 0, {0}};
    struct http__list l = {&r->out, 0};
    struct err e = {0};

    if (crm_contact_load(r->app->db, r->principal.tenant_id, contact_id, &k, &e) != 0) {
        http__error_from(r, &e);
        return;
    }
    if (crm_contact_engagement(r->app->db, r->principal.tenant_id, contact_id, &g, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    http__json(r, status);
    crm_contact_json_open(&r->out, &k.c, identity_extra, &d);
    if (d.rc) {
        http__error_from(r, &d.e);
        goto out;
    }
    buf_puts(&r->out, ",\"engagement\":");
    crm_engagement_json(&r->out, &g);
    buf_puts(&r->out, ",\"reachability\":[");
    if (messaging_reachability(r->app->messaging, r->principal.tenant_id, &k.c, &req, reach_cb, &l, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    buf_putc(&r->out, ']');
    if (mg)
        buf_printf(&r->out,
                   ",\"merge\":{\"identities\":%lld,\"conversations_moved\":%lld,\"conversations_folded\":%lld,"
                   "\"messages\":%lld}",
                   (long long)mg->identities, (long long)mg->conversations_moved,
                   (long long)mg->conversations_folded, (long long)mg->messages);
    buf_putc(&r->out, '}');
out:
    crm_contact_clear(&k);
}

void http__route_contacts_get(struct http_req *r)
{
    contact_detail(r, http__param(r, "id"), 200, NULL);
}

/* --------------------------------------------------------- create, edit */

/* An array of {kind, address} objects (at most CRM_IDENTITIES_MAX) into
 * out; absent or null is none. -1 after answering 400 naming field. */
static int identity_array(struct http_req *r, const cJSON *j, const char *field, struct crm_identity_ref *out,
                          size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, field), *it;
    char msg[160];

    *n = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(it, v) {
            const char *kind = json_str(it, "kind"), *address = json_str(it, "address");
            if (!cJSON_IsObject(it) || !kind || !address || *n == CRM_IDENTITIES_MAX)
                break;
            out[*n].kind = kind;
            out[(*n)++].address = address;
        }
        if (!it)
            return 0;
    }
    snprintf(msg, sizeof msg, "field \"%s\" must be an array of at most %d objects {\"kind\": …, \"address\": …}",
             field, CRM_IDENTITIES_MAX);
    http__error(r, 400, "invalid_request", msg);
    return -1;
}

void http__route_contacts_create(struct http_req *r)
{
    struct crm_identity_ref ids[CRM_IDENTITIES_MAX];
    char id[CORE_ID_MAX];
    struct err e = {0};
    const char *name;
    size_t n = 0;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (!(name = http__need_str(r, j, "name")) || identity_array(r, j, "identities", ids, &n))
        goto out;
    if (crm_contact_create(r->app->db, r->principal.tenant_id, name, ids, n, auth_actor_type(&r->principal),
                           auth_actor_id(&r->principal), r->ip, id, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    contact_detail(r, id, 201, NULL);
out:
    cJSON_Delete(j);
}

void http__route_contacts_update(struct http_req *r)
{
    struct crm_identity_ref add[CRM_IDENTITIES_MAX], del[CRM_IDENTITIES_MAX];
    struct crm_contact_patch p;
    struct err e = {0};
    const cJSON *name;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    memset(&p, 0, sizeof(p));
    name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (name && !cJSON_IsString(name)) {
        http__error(r, 400, "invalid_request", "field \"name\" must be a string");
        goto out;
    }
    p.name = name ? name->valuestring : NULL;
    if (identity_array(r, j, "add_identities", add, &p.nadd) || identity_array(r, j, "remove_identities", del, &p.nremove))
        goto out;
    p.add = add;
    p.remove = del;
    if (crm_contact_update(r->app->db, r->principal.tenant_id, http__param(r, "id"), &p,
                           auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    contact_detail(r, http__param(r, "id"), 200, NULL);
out:
    cJSON_Delete(j);
}

void http__route_contacts_merge(struct http_req *r)
{
    struct store_contact_merge mg;
    struct err e = {0};
    const char *source;
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (!(source = http__need_str(r, j, "source_contact_id")))
        goto out;
    if (crm_contact_merge(r->app->db, r->principal.tenant_id, http__param(r, "id"), source,
                          auth_actor_type(&r->principal), auth_actor_id(&r->principal), r->ip, &mg, &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    if (r->srv)
        http__events_poke(r->srv); /* contact.merged reaches open dashboards now */
    contact_detail(r, http__param(r, "id"), 200, &mg);
out:
    cJSON_Delete(j);
}

/* ------------------------------------------------------------- preflight */

struct preflight {
    struct buf *b;
    int n, ok;
};

static int preflight_cb(void *ud, const char *contact_id, const struct messaging_check *c)
{
    struct preflight *p = ud;

    if (p->n++)
        buf_putc(p->b, ',');
    p->ok += c->ok;
    buf_puts(p->b, "{\"contact_id\":");
    buf_json_str(p->b, contact_id);
    buf_printf(p->b, ",\"ok\":%s,\"code\":", c->ok ? "true" : "false");
    buf_json_str(p->b, c->ok ? NULL : c->code);
    buf_puts(p->b, ",\"message\":");
    buf_json_str(p->b, c->ok ? NULL : c->message);
    buf_printf(p->b, ",\"template_only\":%s,\"held_until\":", c->template_only ? "true" : "false");
    ms_or_null(p->b, c->held_until);
    buf_putc(p->b, '}');
    return 0;
}

void http__route_messages_preflight(struct http_req *r)
{
    struct messaging_check_request req = {caller_origin(r), NULL, NULL, 0};
    const char **ids = NULL;
    const char *account_id;
    const cJSON *arr, *it, *tpl;
    struct preflight p = {&r->out, 0, 0};
    struct err e = {0};
    size_t n = 0;
    char msg[128];
    cJSON *j = http__body_object(r);

    if (!j)
        return;
    if (!(account_id = http__need_str(r, j, "account_id")))
        goto out;
    arr = cJSON_GetObjectItemCaseSensitive(j, "contact_ids");
    snprintf(msg, sizeof msg, "field \"contact_ids\" must be an array of 1 to %d contact ids (strings)", PREFLIGHT_MAX);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > PREFLIGHT_MAX) {
        http__error(r, 400, "invalid_request", msg);
        goto out;
    }
    ids = arena_alloc(r->arena, (size_t)cJSON_GetArraySize(arr) * sizeof(*ids));
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it) || !*it->valuestring) {
            http__error(r, 400, "invalid_request", msg);
            goto out;
        }
        ids[n++] = it->valuestring;
    }
    tpl = cJSON_GetObjectItemCaseSensitive(j, "template");
    if (tpl && !cJSON_IsNull(tpl)) {
        if (!cJSON_IsObject(tpl) || !(req.template_name = http__need_str(r, tpl, "name")) ||
            http__opt_str(r, tpl, "language", &req.template_language)) {
            if (!r->out.len)
                http__error(r, 400, "invalid_request", "field \"template\" must be an object with a name");
            goto out;
        }
    }
    http__json(r, 200);
    buf_puts(&r->out, "{\"account_id\":");
    buf_json_str(&r->out, account_id);
    buf_puts(&r->out, ",\"data\":[");
    if (messaging_preflight(r->app->messaging, r->principal.tenant_id, account_id, &req, ids, n, preflight_cb, &p,
                            &e) != 0) {
        http__error_from(r, &e);
        goto out;
    }
    buf_printf(&r->out, "],\"ok\":%d,\"excluded\":%d}", p.ok, p.n - p.ok);
out:
    cJSON_Delete(j);
}
