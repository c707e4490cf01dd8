/*
 * messaging_check: dry runs of the send gate, for the screens that show
 * before a send whether it could go: a contact's reachability on each of
 * the tenant's channel accounts, the preflight of a bulk send, and each
 * identity's opt-out and suppression standing.
 *
 * There is no second copy of the rules here: a dry run reads the facts
 * with messaging__gate_facts and messaging__template_facts (what
 * messaging_send reads) and asks compliance_check_send (what
 * messaging_send asks), then reports the slug and message it would have
 * answered. template_only asks the same gate once more, as if the message
 * were an approved template.
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"
#include "template/template.h"

/* A template decided once for every recipient of a check. */
struct check_template {
    int is_template;
    int found;
    char status[48];
};

static void refuse(struct messaging_check *out, const struct err *ce)
{
    out->ok = 0;
    snprintf(out->code, sizeof(out->code), "%s", err_slug(ce));
    snprintf(out->message, sizeof(out->message), "%s", ce->msg[0] ? ce->msg : err_slug(ce));
}

/* The decision for contact c on acct (adapter ad). */
static int dry_run(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                   const struct channel_adapter *ad, const struct store_contact *c,
                   const struct messaging_check_request *req, const struct check_template *tpl,
                   struct messaging_check *out, struct err *e)
{
    const char *kind = crm_identity_kind(acct->channel), *origin = req->origin ? req->origin : "api";
    char to[CRM_ADDRESS_MAX];
    struct compliance_send gate;
    struct store_suppression supp;
    struct err ce = {0};
    int rc;

    memset(out, 0, sizeof(*out));
    if (!ad || !kind) {
        out->ok = 0;
        snprintf(out->code, sizeof(out->code), "unsupported_channel");
        snprintf(out->message, sizeof(out->message), "messages cannot be sent on %s accounts", acct->channel);
        return 0;
    }
    if (!messaging__contact_address(c, kind, to, sizeof(to))) {
        messaging__no_address(kind, &ce);
        refuse(out, &ce);
        return 0;
    }
    if ((rc = messaging__gate_facts(m, tenant_id, acct, ad, to, origin, &gate, &supp, e)))
        return rc;
    if (tpl->is_template) {
        gate.is_template = 1;
        gate.template_status = tpl->found ? tpl->status : NULL;
    }
    if (compliance_check_send(&gate, &ce) != 0) {
        refuse(out, &ce);
        if (!tpl->is_template && strcmp(out->code, "outside_window") == 0) {
            struct err te = {0};
            gate.is_template = 1;
            gate.template_status = "approved";
            out->template_only = compliance_check_send(&gate, &te) == 0;
        }
        return 0;
    }
    out->ok = 1;
    return messaging__hold_until(m, tenant_id, origin, req->urgent, gate.now, &out->held_until, e);
}

/* The named template's status on acct, once. */
static int check_template_load(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                               const struct channel_adapter *ad, const struct messaging_check_request *req,
                               struct check_template *out, struct err *e)
{
    struct store_template t;
    struct store_template_version v;
    struct compliance_send gate;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!req->template_name || !*req->template_name)
        return 0;
    out->is_template = 1;
    if (!ad)
        return 0;
    memset(&v, 0, sizeof(v));
    memset(&gate, 0, sizeof(gate));
    rc = messaging__template_facts(m, tenant_id, acct, ad, req->template_name, req->template_language, &t, &v,
                                   out->status, sizeof(out->status), &gate, e);
    out->found = rc == 0 && gate.template_status != NULL;
    store_template_version_clear(&v);
    return rc;
}

/* ---------------------------------------------------------- reachability */

struct accounts {
    struct messaging_account *v;
    size_t n, cap;
};

static int account_collect(void *ud, const struct messaging_account *a)
{
    struct accounts *as = ud;

    if (as->n == as->cap) {
        size_t cap = as->cap ? as->cap * 2 : 8;
        struct messaging_account *v = realloc(as->v, cap * sizeof(*v));
        if (!v)
            return ERR_NOMEM;
        as->v = v;
        as->cap = cap;
    }
    as->v[as->n++] = *a;
    return 0;
}

int messaging_reachability(struct messaging *m, const char *tenant_id, const struct store_contact *c,
                           const struct messaging_check_request *req, messaging_reach_cb cb, void *ud,
                           struct err *e)
{
    struct accounts as = {0};
    struct messaging_check_request free_text = *req;
    struct check_template none;
    int rc;

    free_text.template_name = NULL;
    memset(&none, 0, sizeof(none));
    rc = messaging_account_list(m, tenant_id, account_collect, &as, e);
    if (rc == ERR_NOMEM && !e->msg[0])
        err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < as.n; i++) {
        struct messaging_check chk;
        if ((rc = dry_run(m, tenant_id, &as.v[i], channel_find(as.v[i].provider), c, &free_text, &none, &chk, e)))
            break;
        rc = cb(ud, &as.v[i], &chk);
    }
    free(as.v);
    return rc;
}

/* ------------------------------------------------------------- preflight */

int messaging_preflight(struct messaging *m, const char *tenant_id, const char *account_id,
                        const struct messaging_check_request *req, const char *const *contact_ids, size_t n,
                        messaging_preflight_cb cb, void *ud, struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    struct check_template tpl;
    int rc;

    if (!account_id || !*account_id)
        return err_set(e, ERR_INVALID, "invalid_request", "\"account_id\" is required: the channel account to send from");
    if ((rc = messaging_account_get(m, tenant_id, account_id, &ref, e))) {
        if (rc == ERR_NOTFOUND)
            err_set(e, ERR_NOTFOUND, "account_not_found", "no such channel account");
        return rc;
    }
    if ((rc = check_template_load(m, tenant_id, &ref->acct, ref->adapter, req, &tpl, e)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct crm_contact k;
        struct messaging_check chk;
        struct err ke = {0};
        int krc = crm_contact_load(m->db, tenant_id, contact_ids[i], &k, &ke);
        if (krc == ERR_NOTFOUND) {
            memset(&chk, 0, sizeof(chk));
            snprintf(chk.code, sizeof(chk.code), "contact_not_found");
            snprintf(chk.message, sizeof(chk.message), "no such contact");
        } else if (krc) {
            *e = ke;
            rc = krc;
            goto out;
        } else {
            rc = dry_run(m, tenant_id, &ref->acct, ref->adapter, &k.c, req, &tpl, &chk, e);
            crm_contact_clear(&k);
            if (rc)
                goto out;
        }
        if ((rc = cb(ud, contact_ids[i], &chk)))
            goto out;
    }
out:
    messaging_account_release(ref);
    return rc;
}

/* ------------------------------------------------------ identity standing */

struct opt_scan {
    const char *kind;
    struct messaging_identity_status *out;
};

static int opt_scan_cb(void *ud, const struct store_opt_out *o, const char *channel)
{
    struct opt_scan *s = ud;
    const char *kind = crm_identity_kind(channel);

    if (!kind || strcmp(kind, s->kind) != 0)
        return 0; /* the same number opted out of another channel (whatsapp vs sms) */
    if (!s->out->opted_out || o->created_at < s->out->opted_out_at)
        s->out->opted_out_at = o->created_at;
    s->out->opted_out = 1;
    if (s->out->nopted_out_accounts < 8)
        snprintf(s->out->opted_out_accounts[s->out->nopted_out_accounts++], CORE_ID_MAX, "%s", o->account_id);
    return 0;
}

int messaging_identity_status(struct messaging *m, const char *tenant_id, const char *kind, const char *address,
                              struct messaging_identity_status *out, struct err *e)
{
    struct opt_scan s = {kind, out};
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store_opt_out_by_address(m->db, tenant_id, address, opt_scan_cb, &s, e)))
        return rc;
    for (int i = 0; compliance_channels[i] && !out->suppressed; i++) {
        const char *k = crm_identity_kind(compliance_channels[i]);
        if (!k || strcmp(k, kind) != 0)
            continue;
        if ((rc = compliance_suppression_find(m->db, tenant_id, compliance_channels[i], address, &out->suppression,
                                              &out->suppressed, e)))
            return rc;
    }
    return 0;
}
