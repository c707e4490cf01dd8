/*
 * crm record: inbound and outbound messages written inside the caller's
 * transaction, with the contact (by identity) and conversation they belong
 * to resolved or created on the way.
 *
 * Invariants: one contact per (tenant, kind, address), phone and whatsapp
 * identities with the same E.164 number share a contact; one conversation
 * per (contact, channel account); one message per (account, provider
 * message id) and per (tenant, idempotency key). Races between workers are
 * settled by those unique keys (inserts report duplicates, the loser
 * re-reads), and a conversation's counters move only after its message was
 * actually inserted, so recording the same message twice changes nothing.
 * The hot path (known contact and conversation) is four statements.
 */
#include <stdio.h>
#include <string.h>

#include "crm/crm.h"

/* The other kind sharing E.164 numbers, or NULL. */
static const char *sibling_kind(const char *kind)
{
    if (strcmp(kind, "phone") == 0)
        return "whatsapp";
    if (strcmp(kind, "whatsapp") == 0)
        return "phone";
    return NULL;
}

/* Copy a name hint, cut at a UTF-8 boundary to fit the contact row. */
static void clip_name(char *out, size_t outlen, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n >= outlen) {
        n = outlen - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

/* out->contact_id: the contact owning (kind, address), linked through its
 * sibling identity or created. */
static int resolve_contact(struct store_tx *tx, const char *tenant_id, const char *kind, const char *address,
                           const char *name_hint, int64_t now, struct crm_record_result *out, struct err *e)
{
    char name[sizeof(((struct store_contact *)0)->name)], hint[sizeof(name)];
    int exact = 0, dup = 0, rc;

    clip_name(hint, sizeof(hint), name_hint);
    rc = store_identity_find(tx, tenant_id, kind, sibling_kind(kind), address, out->contact_id, name, sizeof(name),
                             &exact, e);
    if (rc == ERR_NOTFOUND) {
        /* A new contact; a concurrent creator of the same identity wins and ours goes. */
        out->contact_id[0] = '\0';
        if ((rc = store_contact_insert(tx, tenant_id, out->contact_id, hint, now, e)) ||
            (rc = store_identity_insert(tx, tenant_id, kind, address, out->contact_id, now, &dup, e)))
            return rc;
        if (!dup) {
            out->contact_created = 1;
            return 0;
        }
        if ((rc = store_contact_delete(tx, tenant_id, out->contact_id, e)))
            return rc;
        rc = store_identity_find(tx, tenant_id, kind, NULL, address, out->contact_id, name, sizeof(name), &exact,
                                 e);
    } else if (rc == 0 && !exact) {
        /* Same number on the sibling channel: the same person. */
        if ((rc = store_identity_insert(tx, tenant_id, kind, address, out->contact_id, now, &dup, e)))
            return rc;
        if (dup)
            rc = store_identity_find(tx, tenant_id, kind, NULL, address, out->contact_id, name, sizeof(name),
                                     &exact, e);
    }
    if (rc == 0 && hint[0] && !name[0])
        rc = store_contact_fill_name(tx, tenant_id, out->contact_id, hint, now, e);
    return rc;
}

/* cv: the conversation of (contact, account), created open when missing. */
static int resolve_conversation(struct store_tx *tx, const char *tenant_id, const char *account_id,
                                const char *channel, int64_t at, int64_t now, struct store_conversation *cv,
                                struct crm_record_result *out, struct err *e)
{
    int dup = 0, rc;

    memset(cv, 0, sizeof(*cv));
    rc = store_conversation_find(tx, tenant_id, out->contact_id, account_id, cv, e);
    if (rc != ERR_NOTFOUND)
        goto out;
    snprintf(cv->contact_id, sizeof(cv->contact_id), "%s", out->contact_id);
    snprintf(cv->account_id, sizeof(cv->account_id), "%s", account_id);
    snprintf(cv->channel, sizeof(cv->channel), "%s", channel);
    snprintf(cv->status, sizeof(cv->status), "open");
    cv->last_message_at = at;
    cv->created_at = cv->updated_at = now;
    if ((rc = store_conversation_insert(tx, tenant_id, cv, &dup, e)))
        goto out;
    if (dup) {
        memset(cv, 0, sizeof(*cv));
        rc = store_conversation_find(tx, tenant_id, out->contact_id, account_id, cv, e);
    } else {
        out->conversation_created = 1;
    }
out:
    if (rc == 0)
        snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", cv->id);
    return rc;
}

/* NULL/"" passes; otherwise text must parse as a JSON array (or object). */
static int json_shape_ok(const char *text, int want_array)
{
    cJSON *j;
    int ok;

    if (!text || !*text)
        return 1;
    j = cJSON_Parse(text);
    ok = want_array ? cJSON_IsArray(j) : cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

/* The identity kind and normalised address of a channel address. */
static int channel_address(const char *channel, const char *raw, const char **kind, char *addr, size_t addrlen,
                           struct err *e)
{
    *kind = crm_identity_kind(channel);
    if (!*kind)
        return err_set(e, ERR_INVALID, "invalid_channel", "channel must be sms, voice, whatsapp, email, telegram, instagram or webchat");
    return crm_normalize_address(*kind, raw, addr, addrlen, e);
}

static int need_field(const char *v, size_t max, const char *what, struct err *e)
{
    if (!v || !*v)
        return err_set(e, ERR_INVALID, "invalid_request", "%s is required", what);
    if (strlen(v) >= max)
        return err_set(e, ERR_INVALID, "invalid_request", "%s is too long", what);
    return 0;
}

/* E-mail threading: the conversation of the nearest message on the account
 * that the reply names (In-Reply-To first, then References from the last).
 * 0 and cv filled, or ERR_NOTFOUND. */
static int thread_conversation(struct store_tx *tx, const char *tenant_id, const struct crm_inbound *in,
                               struct store_conversation *cv, struct err *e)
{
    const char *lists[2] = {in->in_reply_to, in->references};
    char id[256];
    int rc;

    for (int l = 0; l < 2; l++) {
        const char *s = lists[l];
        size_t n = s ? strlen(s) : 0;
        /* Right to left: References lists the nearest ancestor last. */
        while (n > 0) {
            while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == ','))
                n--;
            size_t end = n;
            while (n > 0 && s[n - 1] != ' ' && s[n - 1] != '\t' && s[n - 1] != ',')
                n--;
            if (end == n || end - n >= sizeof(id))
                continue;
            memcpy(id, s + n, end - n);
            id[end - n] = '\0';
            memset(cv, 0, sizeof(*cv));
            rc = store_conversation_by_rfc_message_id(tx, tenant_id, in->account_id, id, cv, e);
            if (rc != ERR_NOTFOUND)
                return rc;
            err_clear(e);
        }
    }
    return ERR_NOTFOUND;
}

int crm_inbound_record(struct store_tx *tx, const char *tenant_id, const struct crm_inbound *in,
                       struct crm_record_result *out, struct err *e)
{
    char addr[CRM_ADDRESS_MAX];
    const char *kind = NULL;
    struct store_conversation cv;
    struct store_message m;
    int64_t now = time_now_ms(), at = in->received_at > 0 ? in->received_at : now;
    int dup = 0, rc;

    memset(out, 0, sizeof(*out));
    if ((rc = need_field(in->account_id, CORE_ID_MAX, "account id", e)) ||
        (rc = need_field(in->provider_message_id, sizeof(m.provider_message_id), "provider message id", e)) ||
        (rc = need_field(in->type ? in->type : "text", sizeof(m.type), "message type", e)) ||
        (rc = channel_address(in->channel, in->from, &kind, addr, sizeof(addr), e)))
        return rc;
    if (!json_shape_ok(in->media_json, 1))
        return err_set(e, ERR_INVALID, "invalid_media", "media must be a JSON array");
    if ((rc = resolve_contact(tx, tenant_id, kind, addr, in->contact_name, now, out, e)))
        return rc;
    rc = in->in_reply_to || in->references ? thread_conversation(tx, tenant_id, in, &cv, e) : ERR_NOTFOUND;
    if (rc == 0) {
        snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", cv.id);
    } else if (rc == ERR_NOTFOUND) {
        err_clear(e);
        rc = resolve_conversation(tx, tenant_id, in->account_id, in->channel, at, now, &cv, out, e);
    }
    if (rc)
        return rc;
    memset(&m, 0, sizeof(m));
    snprintf(m.conversation_id, sizeof(m.conversation_id), "%s", cv.id);
    snprintf(m.account_id, sizeof(m.account_id), "%s", in->account_id);
    snprintf(m.direction, sizeof(m.direction), "inbound");
    m.subject = in->subject;
    m.html = in->html;
    if (in->rfc_message_id && strlen(in->rfc_message_id) < sizeof(m.rfc_message_id))
        snprintf(m.rfc_message_id, sizeof(m.rfc_message_id), "%s", in->rfc_message_id);
    snprintf(m.address, sizeof(m.address), "%s", addr);
    snprintf(m.type, sizeof(m.type), "%s", in->type ? in->type : "text");
    m.body = in->body;
    m.media = in->media_json;
    snprintf(m.status, sizeof(m.status), "received");
    snprintf(m.provider_message_id, sizeof(m.provider_message_id), "%s", in->provider_message_id);
    m.created_at = at;
    m.updated_at = now;
    if ((rc = store_message_insert(tx, tenant_id, &m, &dup, e)))
        return rc;
    snprintf(out->message_id, sizeof(out->message_id), "%s", m.id);
    if (dup) {
        /* Recorded before: report the first one and touch nothing. */
        out->duplicate = 1;
        snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", m.conversation_id);
        return 0;
    }
    out->reopened = strcmp(cv.status, "resolved") == 0;
    if ((rc = store_conversation_touch(tx, tenant_id, cv.id, at, 1, now, e)))
        return rc;
    return store_conversation_unread_tx(tx, tenant_id, cv.id, &out->unread, e);
}

int crm_conversation_mark_read(struct store_tx *tx, const char *tenant_id, const char *conversation_id,
                               int64_t *out_before, struct err *e)
{
    return store_conversation_mark_read(tx, tenant_id, conversation_id, out_before, e);
}

int crm_outbound_lookup(struct store_tx *tx, const char *tenant_id, const char *idempotency_key,
                        struct crm_record_result *out, struct err *e)
{
    struct store_message_state st;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = store_message_state_by_key(tx, tenant_id, idempotency_key, &st, e)))
        return rc;
    out->duplicate = 1;
    snprintf(out->message_id, sizeof(out->message_id), "%s", st.id);
    snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", st.conversation_id);
    return 0;
}

int crm_outbound_create(struct store_tx *tx, const char *tenant_id, const struct crm_outbound *in,
                        struct crm_record_result *out, struct err *e)
{
    char addr[CRM_ADDRESS_MAX];
    const char *kind = NULL, *key = in->idempotency_key && *in->idempotency_key ? in->idempotency_key : NULL;
    const char *type = in->type ? in->type : (in->template_json && *in->template_json ? "template" : "text");
    struct store_conversation cv;
    struct store_message m;
    int64_t now = time_now_ms(), at = in->created_at > 0 ? in->created_at : now;
    int dup = 0, rc;

    memset(out, 0, sizeof(*out));
    if ((rc = need_field(in->account_id, CORE_ID_MAX, "account id", e)) ||
        (rc = need_field(type, sizeof(m.type), "message type", e)) ||
        (key && (rc = need_field(key, sizeof(m.idempotency_key), "idempotency key", e))))
        return rc;
    if (key) {
        rc = crm_outbound_lookup(tx, tenant_id, key, out, e);
        if (rc != ERR_NOTFOUND)
            return rc;
        err_clear(e);
    }
    if ((rc = channel_address(in->channel, in->to, &kind, addr, sizeof(addr), e)))
        return rc;
    if (!json_shape_ok(in->media_json, 1))
        return err_set(e, ERR_INVALID, "invalid_media", "media must be a JSON array");
    if (!json_shape_ok(in->template_json, 0))
        return err_set(e, ERR_INVALID, "invalid_template", "template must be a JSON object");
    if ((rc = resolve_contact(tx, tenant_id, kind, addr, NULL, now, out, e)) ||
        (rc = resolve_conversation(tx, tenant_id, in->account_id, in->channel, at, now, &cv, out, e)))
        return rc;
    memset(&m, 0, sizeof(m));
    snprintf(m.conversation_id, sizeof(m.conversation_id), "%s", cv.id);
    snprintf(m.account_id, sizeof(m.account_id), "%s", in->account_id);
    snprintf(m.direction, sizeof(m.direction), "outbound");
    snprintf(m.address, sizeof(m.address), "%s", addr);
    snprintf(m.type, sizeof(m.type), "%s", type);
    m.body = in->body;
    m.media = in->media_json;
    m.template_json = in->template_json;
    m.subject = in->subject;
    m.html = in->html;
    snprintf(m.origin, sizeof(m.origin), "%s", in->origin ? in->origin : "api");
    snprintf(m.sent_by, sizeof(m.sent_by), "%s", in->sent_by ? in->sent_by : "");
    snprintf(m.status, sizeof(m.status), "queued");
    if (in->rfc_message_domain && *in->rfc_message_domain) {
        /* The Message-ID names the message, so a retried send repeats it. */
        crypto_time_id(m.id, sizeof(m.id), "msg", now);
        snprintf(m.rfc_message_id, sizeof(m.rfc_message_id), "<%s@%.200s>", m.id, in->rfc_message_domain);
    }
    if (key)
        snprintf(m.idempotency_key, sizeof(m.idempotency_key), "%s", key);
    m.created_at = at;
    m.updated_at = now;
    if ((rc = store_message_insert(tx, tenant_id, &m, &dup, e)))
        return rc;
    snprintf(out->message_id, sizeof(out->message_id), "%s", m.id);
    if (dup) {
        /* A concurrent request with the same key won. */
        out->duplicate = 1;
        snprintf(out->conversation_id, sizeof(out->conversation_id), "%s", m.conversation_id);
        return 0;
    }
    return store_conversation_touch(tx, tenant_id, cv.id, at, 0, now, e);
}

int crm_identity_link(struct store_tx *tx, const char *tenant_id, const char *contact_id, const char *raw,
                      int *out_linked, struct err *e)
{
    char addr[CRM_ADDRESS_MAX], owner[CORE_ID_MAX];
    int exact = 0, dup = 0, rc;

    *out_linked = 0;
    if ((rc = crm_normalize_address("phone", raw, addr, sizeof(addr), e)))
        return rc;
    rc = store_identity_find(tx, tenant_id, "phone", sibling_kind("phone"), addr, owner, NULL, 0, &exact, e);
    if (rc == 0) {
        *out_linked = strcmp(owner, contact_id) == 0;
        return 0;
    }
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear(e);
    if ((rc = store_identity_insert(tx, tenant_id, "phone", addr, contact_id, time_now_ms(), &dup, e)))
        return rc;
    if (!dup) {
        *out_linked = 1;
        return 0;
    }
    /* A concurrent creator of the same number won: report whose it is. */
    if ((rc = store_identity_find(tx, tenant_id, "phone", NULL, addr, owner, NULL, 0, &exact, e)))
        return rc;
    *out_linked = strcmp(owner, contact_id) == 0;
    return 0;
}
