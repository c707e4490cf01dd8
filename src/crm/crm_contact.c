/*
 * crm contact: contacts created and edited by people (the dashboard, the
 * API), and merging an unknown sender into the contact they really are.
 *
 * Identities typed by a person are normalised exactly as inbound addresses
 * are (crm_normalize_address), so a number added here is the one the next
 * inbound message from it finds. An identity belongs to at most one contact
 * of a tenant (the table's key); taking one from another contact is a merge,
 * never a side effect of an edit. Each operation is one transaction, audited
 * after it commits like the other changes people make.
 */
#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"
#include "ops/ops.h"

/* A normalised identity. */
struct norm_ident {
    char kind[16];
    char address[CRM_ADDRESS_MAX];
};

static int kind_valid(const char *kind)
{
    static const char *const kinds[] = {"phone", "whatsapp", "email", "telegram", "instagram", "webchat"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kind && strcmp(kind, kinds[i]) == 0)
            return 1;
    return 0;
}

/* Normalise n identities into out (duplicates dropped); *nout kept. */
static int normalize_all(const struct crm_identity_ref *in, size_t n, struct norm_ident *out, size_t *nout,
                         struct err *e)
{
    *nout = 0;
    if (n > CRM_IDENTITIES_MAX)
        return err_set(e, ERR_INVALID, "invalid_request", "at most %d identities per request", CRM_IDENTITIES_MAX);
    for (size_t i = 0; i < n; i++) {
        struct norm_ident *o = &out[*nout];
        struct err ne = {0};
        size_t j;
        if (!kind_valid(in[i].kind))
            return err_set(e, ERR_INVALID, "invalid_kind",
                           "identity kind must be phone, whatsapp, email, telegram, instagram or webchat");
        if (crm_normalize_address(in[i].kind, in[i].address, o->address, sizeof(o->address), &ne) != 0)
            return err_set(e, ERR_INVALID, "invalid_address", "%s identity: %s", in[i].kind, ne.msg);
        snprintf(o->kind, sizeof(o->kind), "%s", in[i].kind);
        for (j = 0; j < *nout; j++)
            if (strcmp(out[j].kind, o->kind) == 0 && strcmp(out[j].address, o->address) == 0)
                break;
        if (j == *nout)
            (*nout)++;
    }
    return 0;
}

/* The name trimmed into out: 1..CRM_NAME_MAX characters of UTF-8 without
 * control characters. */
static int check_name(const char *name, char *out, size_t outlen, struct err *e)
{
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    size_t n, chars = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen((const char *)s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0)
        return err_set(e, ERR_INVALID, "invalid_name", "name must have 1 to %d characters", CRM_NAME_MAX);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > n || (len == 2 && c < 0xC2))
            return err_set(e, ERR_INVALID, "invalid_name", "name must be UTF-8 text");
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return err_set(e, ERR_INVALID, "invalid_name", "name must be UTF-8 text");
        if (c < 0x20 || c == 0x7f)
            return err_set(e, ERR_INVALID, "invalid_name", "name must not contain control characters or line breaks");
        i += len;
        chars++;
    }
    if (chars > CRM_NAME_MAX || n >= outlen)
        return err_set(e, ERR_INVALID, "invalid_name", "name must have 1 to %d characters", CRM_NAME_MAX);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Link each identity to contact_id inside tx; one owned by another contact
 * is ERR_CONFLICT "identity_taken" naming it. */
static int link_all(struct store_tx *tx, const char *tenant_id, const char *contact_id, const struct norm_ident *ids,
                    size_t n, int64_t now, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        char owner[CORE_ID_MAX];
        int dup = 0, exact = 0, rc;
        if ((rc = store_identity_insert(tx, tenant_id, ids[i].kind, ids[i].address, contact_id, now, &dup, e)))
            return rc;
        if (!dup)
            continue;
        if ((rc = store_identity_find(tx, tenant_id, ids[i].kind, NULL, ids[i].address, owner, NULL, 0, &exact, e)))
            return rc;
        if (strcmp(owner, contact_id) != 0)
            return err_set(e, ERR_CONFLICT, "identity_taken", "%s %s belongs to contact %s (merge the contacts instead)",
                           ids[i].kind, ids[i].address, owner);
    }
    return 0;
}

static void ids_json(struct buf *b, const char *member, const struct norm_ident *ids, size_t n)
{
    if (b->len > 1) /* after the opening brace and another member */
        buf_putc(b, ',');
    buf_json_str(b, member);
    buf_puts(b, ":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"kind\":");
        buf_json_str(b, ids[i].kind);
        buf_puts(b, ",\"address\":");
        buf_json_str(b, ids[i].address);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
}

static int audit(struct store *db, const char *tenant_id, const char *actor_type, const char *actor_id,
                 const char *action, const char *target, const char *ip, const char *details, struct err *e)
{
    return ops_audit(db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "", action, target,
                     ip ? ip : "", details, e);
}

int crm_contact_create(struct store *db, const char *tenant_id, const char *name, const struct crm_identity_ref *ids,
                       size_t nids, const char *actor_type, const char *actor_id, const char *ip,
                       char out_id[CORE_ID_MAX], struct err *e)
{
    struct norm_ident norm[CRM_IDENTITIES_MAX];
    char clean[STORE_CONTACT_NAME_MAX];
    struct store_tx tx = {0};
    struct buf details = {0};
    int64_t now = time_now_ms();
    size_t n = 0;
    int rc;

    out_id[0] = '\0';
    if ((rc = check_name(name, clean, sizeof(clean), e)) || (rc = normalize_all(ids, nids, norm, &n, e)))
        return rc;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    if ((rc = store_contact_insert(&tx, tenant_id, out_id, clean, now, e)) ||
        (rc = link_all(&tx, tenant_id, out_id, norm, n, now, e))) {
        store_tx_rollback(&tx);
        out_id[0] = '\0';
        return rc;
    }
    if ((rc = store_tx_commit(&tx, e))) {
        out_id[0] = '\0';
        return rc;
    }
    buf_putc(&details, '{');
    ids_json(&details, "identities", norm, n);
    buf_putc(&details, '}');
    rc = audit(db, tenant_id, actor_type, actor_id, "contact.create", out_id, ip, details.data, e);
    buf_free(&details);
    return rc;
}

int crm_contact_update(struct store *db, const char *tenant_id, const char *contact_id,
                       const struct crm_contact_patch *p, const char *actor_type, const char *actor_id,
                       const char *ip, struct err *e)
{
    struct norm_ident add[CRM_IDENTITIES_MAX], del[CRM_IDENTITIES_MAX];
    char clean[STORE_CONTACT_NAME_MAX], before[STORE_CONTACT_NAME_MAX];
    struct store_tx tx = {0};
    struct buf details = {0};
    int64_t now = time_now_ms(), nident = 0, nconv = 0;
    size_t nadd = 0, ndel = 0;
    int rc;

    if (!p->name && p->nadd == 0 && p->nremove == 0)
        return err_set(e, ERR_INVALID, "invalid_request",
                       "nothing to change: give name, add_identities or remove_identities");
    if ((p->name && (rc = check_name(p->name, clean, sizeof(clean), e))) ||
        (rc = normalize_all(p->add, p->nadd, add, &nadd, e)) ||
        (rc = normalize_all(p->remove, p->nremove, del, &ndel, e)))
        return rc;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    if ((rc = store_contact_lock(&tx, tenant_id, contact_id, before, sizeof(before), e)))
        goto out;
    for (size_t i = 0; i < ndel; i++) {
        int removed = 0;
        if ((rc = store_identity_delete(&tx, tenant_id, contact_id, del[i].kind, del[i].address, &removed, e)))
            goto out;
        if (!removed) {
            rc = err_set(e, ERR_INVALID, "unknown_identity", "%s %s is not an identity of this contact", del[i].kind,
                         del[i].address);
            goto out;
        }
    }
    if ((rc = link_all(&tx, tenant_id, contact_id, add, nadd, now, e)) ||
        (rc = store_contact_set(&tx, tenant_id, contact_id, p->name ? clean : NULL, now, e)) ||
        (rc = store_contact_counts(&tx, tenant_id, contact_id, &nident, &nconv, e)))
        goto out;
    if (nident == 0 && nconv > 0) {
        rc = err_set(e, ERR_CONFLICT, "last_identity",
                     "the contact has conversations: it must keep at least one identity to be reached");
        goto out;
    }
    rc = store_tx_commit(&tx, e);
    tx.c = NULL;
    if (rc)
        goto out;
    buf_putc(&details, '{');
    if (p->name && strcmp(before, clean) != 0) {
        buf_puts(&details, "\"name\":{\"from\":");
        buf_json_str(&details, before);
        buf_puts(&details, ",\"to\":");
        buf_json_str(&details, clean);
        buf_putc(&details, '}');
    }
    if (nadd)
        ids_json(&details, "added", add, nadd);
    if (ndel)
        ids_json(&details, "removed", del, ndel);
    buf_putc(&details, '}');
    rc = audit(db, tenant_id, actor_type, actor_id, "contact.update", contact_id, ip, details.data, e);
out:
    if (tx.c)
        store_tx_rollback(&tx);
    buf_free(&details);
    return rc;
}

int crm_contact_merge(struct store *db, const char *tenant_id, const char *target_id, const char *source_id,
                      const char *actor_type, const char *actor_id, const char *ip, struct store_contact_merge *out,
                      struct err *e)
{
    struct store_tx tx = {0};
    struct buf data = {0};
    const char *first, *second;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!target_id || !*target_id || !source_id || !*source_id)
        return err_set(e, ERR_INVALID, "invalid_request", "a merge needs a target and a source contact");
    if (strcmp(target_id, source_id) == 0)
        return err_set(e, ERR_INVALID, "invalid_merge", "a contact cannot be merged into itself");
    /* Lower id first, so two merges of the same pair cannot deadlock. */
    first = strcmp(target_id, source_id) < 0 ? target_id : source_id;
    second = first == target_id ? source_id : target_id;
    if ((rc = store_tx_begin(db, &tx, e)))
        return rc;
    if ((rc = store_contact_lock(&tx, tenant_id, first, NULL, 0, e)) ||
        (rc = store_contact_lock(&tx, tenant_id, second, NULL, 0, e)) ||
        (rc = store_contact_merge(&tx, tenant_id, target_id, source_id, time_now_ms(), out, e)))
        goto out;
    buf_puts(&data, "{\"target_id\":");
    buf_json_str(&data, target_id);
    buf_puts(&data, ",\"source_id\":");
    buf_json_str(&data, source_id);
    buf_printf(&data, ",\"identities\":%lld,\"conversations_moved\":%lld,\"conversations_folded\":%lld,\"messages\":%lld}",
               (long long)out->identities, (long long)out->conversations_moved, (long long)out->conversations_folded,
               (long long)out->messages);
    if ((rc = ops_event_append(&tx, tenant_id, "contact.merged", data.data, NULL, e)))
        goto out;
    rc = store_tx_commit(&tx, e);
    tx.c = NULL;
    if (rc)
        goto out;
    rc = audit(db, tenant_id, actor_type, actor_id, "contact.merge", target_id, ip, data.data, e);
out:
    if (tx.c)
        store_tx_rollback(&tx);
    buf_free(&data);
    return rc;
}

/* ------------------------------------------------------------------ reads */

static int copy_cb(void *ud, const struct store_contact *c)
{
    struct crm_contact *out = ud;

    out->c = *c;
    out->c.identities = NULL;
    out->c.nidentities = 0;
    if (c->nidentities > 0) {
        out->ids = malloc((size_t)c->nidentities * sizeof(*out->ids));
        if (!out->ids)
            return ERR_NOMEM;
        memcpy(out->ids, c->identities, (size_t)c->nidentities * sizeof(*out->ids));
        out->c.identities = out->ids;
        out->c.nidentities = c->nidentities;
    }
    return 0;
}

int crm_contact_load(struct store *db, const char *tenant_id, const char *contact_id, struct crm_contact *out,
                     struct err *e)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_contact_get(db, tenant_id, contact_id, copy_cb, out, e);
    if (rc == ERR_NOMEM && !e->msg[0])
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (rc)
        crm_contact_clear(out);
    return rc;
}

void crm_contact_clear(struct crm_contact *c)
{
    if (!c)
        return;
    free(c->ids);
    c->ids = NULL;
    c->c.identities = NULL;
    c->c.nidentities = 0;
}

int crm_contact_engagement(struct store *db, const char *tenant_id, const char *contact_id,
                           struct store_contact_engagement *out, struct err *e)
{
    return store_contact_engagement(db, tenant_id, contact_id, out, e);
}
