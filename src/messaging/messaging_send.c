/*
 * messaging_send: the outbound API's path, POST /api/v1/messages.
 *
 * Everything that can refuse a message is decided before anything is
 * written: the account, the recipient, the content against the channel's
 * limits, and compliance (opt-out, the customer service window, template
 * approval), from facts read on pooled connections. Then one operation of
 * the group-commit writer (or one transaction without a writer) looks the
 * idempotency key up first — a key already used returns its message, so a
 * client retrying after a timeout never causes a second send — and
 * otherwise writes the message, its outbound.send job and its
 * message.created event together. The operation owns copies of everything
 * it needs: the request that asked may be gone by the time it runs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"

#define SEND_MAX_MEDIA 10
#define SEND_MAX_VARS 32
#define SEND_MAX_URL 2048
#define SEND_MAX_VAR 1024
#define SEND_MAX_SUBJECT 998        /* one header line (RFC 5322) */
#define SEND_MAX_HTML (1024 * 1024)

struct send_op {
    struct messaging *m;
    char tenant_id[CORE_ID_MAX];
    char account_id[CORE_ID_MAX];
    char channel[16];
    char *to, *body, *media_json, *template_json, *idempotency_key, *subject, *html;
    char origin[16];
    char sent_by[CORE_ID_MAX];
    char email_domain[128];        /* e-mail: the sender's domain, for the Message-ID */
    const char *type;
    struct compliance_send gate;
    char template_status[24];
    struct store_suppression supp;
    messaging_send_done_fn done;
    void *ud;
    int replayed;
    struct buf json;               /* the message object for the reply */
    struct messaging__events ev;
};

static void send_op_free(struct send_op *op)
{
    if (!op)
        return;
    free(op->to);
    free(op->body);
    free(op->media_json);
    free(op->template_json);
    free(op->idempotency_key);
    free(op->subject);
    free(op->html);
    buf_free(&op->json);
    messaging__events_free(&op->ev);
    free(op);
}

/* Runs inside the writer's transaction (a savepoint of its batch). */
static int send_op_run(void *ud, struct store_tx *tx, struct err *e)
{
    struct send_op *op = ud;
    struct crm_record_result r;
    struct crm_outbound o;
    int rc;

    if (op->idempotency_key) {
        rc = crm_outbound_lookup(tx, op->tenant_id, op->idempotency_key, &r, e);
        if (rc == 0) {
            op->replayed = 1;
            return messaging__message_json_tx(tx, op->tenant_id, r.message_id, &op->json, e);
        }
        if (rc != ERR_NOTFOUND)
            return rc;
        err_clear(e);
    }
    if ((rc = compliance_check_send(&op->gate, e)))
        return rc;
    memset(&o, 0, sizeof(o));
    o.account_id = op->account_id;
    o.channel = op->channel;
    o.to = op->to;
    o.type = op->type;
    o.body = op->body;
    o.media_json = op->media_json;
    o.template_json = op->template_json;
    o.idempotency_key = op->idempotency_key;
    o.origin = op->origin;
    o.sent_by = op->sent_by[0] ? op->sent_by : NULL;
    o.subject = op->subject;
    o.html = op->html;
    o.rfc_message_domain = op->email_domain[0] ? op->email_domain : NULL;
    if ((rc = messaging__queue_tx(op->m, tx, op->tenant_id, &o, &r, &op->ev, e)))
        return rc;
    if (r.duplicate) { /* the same key twice in one batch */
        op->replayed = 1;
        return messaging__message_json_tx(tx, op->tenant_id, r.message_id, &op->json, e);
    }
    if ((rc = messaging__message_json_tx(tx, op->tenant_id, r.message_id, &op->json, e)))
        return rc;
    return messaging__events_flush(&op->ev, tx, e);
}

static void send_op_done(void *ud, int rc, const struct err *e)
{
    struct send_op *op = ud;

    op->done(op->ud, rc, e, rc == 0 ? op->json.data : NULL, op->replayed);
    if (rc == 0 && !op->replayed) {
        queue_wake(op->m->queue);
        messaging__notify(op->m);
    }
    send_op_free(op);
}

/* The message type an outbound message gets: its first media URL's kind by
 * file extension (providers fetch and type it themselves), else text. */
static const char *media_type(const char *url)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        {".jpg", "image"},  {".jpeg", "image"}, {".png", "image"},    {".gif", "image"},  {".webp", "image"},
        {".mp4", "video"},  {".3gp", "video"},  {".mp3", "audio"},    {".ogg", "audio"},  {".amr", "audio"},
        {".m4a", "audio"},  {".pdf", "document"},
    };
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        size_t el = strlen(map[i].ext);
        if (n >= el && strncasecmp(url + n - el, map[i].ext, el) == 0)
            return map[i].type;
    }
    return "document";
}

/* Characters (UTF-8 code points) in s: what providers count. */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* E-mail: a subject that fits one header line (no line breaks: they
 * would inject headers), and text or HTML. Elsewhere neither is taken. */
static int check_email(const struct messaging_send_request *req, const char *channel, struct err *e)
{
    int has_subject = req->subject && *req->subject, has_html = req->html && *req->html;

    if (strcmp(channel, "email") != 0) {
        if (has_subject || has_html)
            return err_set(e, ERR_INVALID, "invalid_message", "subject and html are for e-mail accounts only");
        return 0;
    }
    if (!has_subject)
        return err_set(e, ERR_INVALID, "invalid_message", "an e-mail needs a subject");
    if (strlen(req->subject) > SEND_MAX_SUBJECT)
        return err_set(e, ERR_INVALID, "invalid_message", "the subject is longer than %d bytes", SEND_MAX_SUBJECT);
    for (const char *p = req->subject; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return err_set(e, ERR_INVALID, "invalid_message", "the subject must not contain line breaks or control characters");
    if (!(req->text && *req->text) && !has_html)
        return err_set(e, ERR_INVALID, "invalid_message", "an e-mail needs text or html");
    if (has_html && strlen(req->html) > SEND_MAX_HTML)
        return err_set(e, ERR_INVALID, "invalid_message", "html is longer than %d bytes", SEND_MAX_HTML);
    return 0;
}

static int check_content(const struct messaging_send_request *req, const struct channel_adapter *ad,
                         const char *channel, struct err *e)
{
    int has_text = req->text && *req->text, has_tpl = req->template_name && *req->template_name;
    int rc;

    if ((rc = check_email(req, channel, e)))
        return rc;
    if (has_text == 0 && !has_tpl && req->nmedia == 0 && !(req->html && *req->html))
        return err_set(e, ERR_INVALID, "invalid_message", "a message needs text, media or a template");
    if (has_tpl && (has_text || req->nmedia))
        return err_set(e, ERR_INVALID, "invalid_message", "a template message carries no text or media of its own");
    if (has_tpl && !ad->list_templates)
        return err_set(e, ERR_INVALID, "invalid_message", "%s sends no templates: send text", ad->name);
    if (has_text && utf8_len(req->text) > ad->caps.max_text_len)
        return err_set(e, ERR_INVALID, "invalid_message", "text is %zu characters; %s takes at most %zu",
                       utf8_len(req->text), ad->name, ad->caps.max_text_len);
    if (req->nmedia > SEND_MAX_MEDIA || (req->nmedia > 1 && strcmp(ad->name, "whatsapp") == 0))
        return err_set(e, ERR_INVALID, "invalid_message", "too many media URLs (%s: at most %d)", ad->name,
                       strcmp(ad->name, "whatsapp") == 0 ? 1 : SEND_MAX_MEDIA);
    for (size_t i = 0; i < req->nmedia; i++) {
        const char *u = req->media_urls[i];
        if (!u || strlen(u) > SEND_MAX_URL || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
            return err_set(e, ERR_INVALID, "invalid_message", "media URLs must be http(s) URLs the provider can fetch");
    }
    if (req->ntemplate_vars > SEND_MAX_VARS)
        return err_set(e, ERR_INVALID, "invalid_message", "at most %d template variables", SEND_MAX_VARS);
    for (size_t i = 0; i < req->ntemplate_vars; i++)
        if (!req->template_vars[i] || strlen(req->template_vars[i]) > SEND_MAX_VAR)
            return err_set(e, ERR_INVALID, "invalid_message", "template variables are strings of at most %d bytes",
                           SEND_MAX_VAR);
    if (req->idempotency_key && (strlen(req->idempotency_key) == 0 || strlen(req->idempotency_key) > 127))
        return err_set(e, ERR_INVALID, "invalid_request", "Idempotency-Key must be 1 to 127 characters");
    return 0;
}

struct pick_identity {
    const char *kind;
    char address[CRM_ADDRESS_MAX];
};

static int pick_identity_cb(void *ud, const struct store_contact *c)
{
    struct pick_identity *p = ud;
    for (int i = 0; i < c->nidentities && !p->address[0]; i++)
        if (strcmp(c->identities[i].kind, p->kind) == 0)
            snprintf(p->address, sizeof(p->address), "%s", c->identities[i].address);
    return 0;
}

/* The recipient's normalised address on the account's channel. */
static int recipient(struct messaging *m, const char *tenant_id, const struct messaging_send_request *req,
                     const char *kind, char *out, size_t outlen, struct err *e)
{
    struct pick_identity p;
    int rc;

    if (!!req->to == !!req->contact_id)
        return err_set(e, ERR_INVALID, "invalid_request", "give exactly one of \"to\" and \"contact_id\"");
    if (req->to)
        return crm_normalize_address(kind, req->to, out, outlen, e);
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    if ((rc = crm_contact_get(m->db, tenant_id, req->contact_id, pick_identity_cb, &p, e)))
        return rc;
    if (!p.address[0])
        return err_set(e, ERR_INVALID, "no_address", "the contact has no %s address for this channel", kind);
    snprintf(out, outlen, "%s", p.address);
    return 0;
}

static char *json_template(const struct messaging_send_request *req)
{
    struct buf b = {0};

    buf_puts(&b, "{\"name\":");
    buf_json_str(&b, req->template_name);
    buf_puts(&b, ",\"language\":");
    buf_json_str(&b, req->template_language ? req->template_language : "en_US");
    buf_puts(&b, ",\"variables\":[");
    for (size_t i = 0; i < req->ntemplate_vars; i++) {
        if (i)
            buf_putc(&b, ',');
        buf_json_str(&b, req->template_vars[i]);
    }
    buf_puts(&b, "]}");
    return buf_steal(&b);
}

static char *json_media(const struct messaging_send_request *req)
{
    struct buf b = {0};

    buf_putc(&b, '[');
    for (size_t i = 0; i < req->nmedia; i++) {
        buf_puts(&b, i ? ",{\"url\":" : "{\"url\":");
        buf_json_str(&b, req->media_urls[i]);
        buf_putc(&b, '}');
    }
    buf_putc(&b, ']');
    return buf_steal(&b);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int messaging_send(struct messaging *m, const char *tenant_id, const struct messaging_send_request *req,
                   messaging_send_done_fn done, void *ud, struct err *e)
{
    const struct messaging_account_ref *ref = NULL;
    const char *kind;
    char to[CRM_ADDRESS_MAX];
    struct send_op *op = NULL;
    struct store_template tpl;
    int rc;

    if (!m->queue)
        return err_set(e, ERR_INTERNAL, NULL, "messaging: no job queue to send with");
    if (!req->account_id || !*req->account_id)
        return err_set(e, ERR_INVALID, "invalid_request", "\"account_id\" is required: the channel account to send from");
    if ((rc = messaging_account_get(m, tenant_id, req->account_id, &ref, e))) {
        if (rc == ERR_NOTFOUND)
            err_set(e, ERR_NOTFOUND, "account_not_found", "no such channel account");
        return rc;
    }
    kind = crm_identity_kind(ref->acct.channel);
    if ((rc = check_content(req, ref->adapter, ref->acct.channel, e)) ||
        (rc = recipient(m, tenant_id, req, kind ? kind : "phone", to, sizeof(to), e)))
        goto out;
    op = calloc(1, sizeof(*op));
    if (!op) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    op->m = m;
    op->done = done;
    op->ud = ud;
    snprintf(op->tenant_id, sizeof(op->tenant_id), "%s", tenant_id);
    snprintf(op->account_id, sizeof(op->account_id), "%s", ref->acct.id);
    snprintf(op->channel, sizeof(op->channel), "%s", ref->acct.channel);
    if (strcmp(ref->acct.channel, "email") == 0) {
        const char *at = strrchr(ref->acct.address, '@');
        snprintf(op->email_domain, sizeof(op->email_domain), "%s", at && at[1] ? at + 1 : "switchboard.invalid");
    }
    op->to = strdup(to);
    op->body = dup_or_null(req->text);
    op->idempotency_key = dup_or_null(req->idempotency_key);
    op->subject = dup_or_null(req->subject);
    op->html = dup_or_null(req->html);
    snprintf(op->origin, sizeof(op->origin), "%s", req->origin && *req->origin ? req->origin : "api");
    snprintf(op->sent_by, sizeof(op->sent_by), "%s", req->sent_by ? req->sent_by : "");
    op->type = "text";
    if (req->template_name && *req->template_name) {
        op->template_json = json_template(req);
        op->type = "template";
    } else if (req->nmedia) {
        op->media_json = json_media(req);
        op->type = media_type(req->media_urls[0]);
    }
    if (!op->to || (req->text && *req->text && !op->body) ||
        (req->idempotency_key && *req->idempotency_key && !op->idempotency_key) ||
        (req->subject && *req->subject && !op->subject) || (req->html && *req->html && !op->html)) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }

    /* The facts compliance decides on, read now; the decision is made in
     * the write operation, after the idempotency lookup. */
    op->gate.now = time_now_ms();
    op->gate.window_ms = ref->adapter->caps.window_ms;
    op->gate.origin = op->origin;
    op->gate.human_agent_window_ms = ref->adapter->caps.human_agent_window_ms;
    op->gate.transactional_only = ref->adapter->caps.transactional_only;
    if ((rc = compliance_is_opted_out(m->db, tenant_id, ref->acct.id, to, &op->gate.opted_out, e)))
        goto out;
    {
        int found = 0;
        if ((rc = compliance_suppression_find(m->db, tenant_id, ref->acct.channel, to, &op->supp, &found, e)))
            goto out;
        if (found) {
            op->gate.suppressed_source = op->supp.source;
            op->gate.suppressed_reason = op->supp.reason;
        }
    }
    if ((op->gate.window_ms > 0 || op->gate.human_agent_window_ms > 0) &&
        (rc = crm_last_inbound(m->db, tenant_id, ref->acct.id, ref->acct.channel, to, &op->gate.last_inbound_at, e)))
        goto out;
    if (op->template_json) {
        op->gate.is_template = 1;
        rc = messaging_template_get(m, tenant_id, ref->acct.id, req->template_name,
                                    req->template_language ? req->template_language : "en_US", &tpl, e);
        if (rc == 0) {
            snprintf(op->template_status, sizeof(op->template_status), "%s", tpl.status);
            op->gate.template_status = op->template_status;
        } else if (rc == ERR_NOTFOUND) {
            err_clear(e);
        } else {
            goto out;
        }
    }
    messaging_account_release(ref);
    ref = NULL;

    if (m->writer) {
        if ((rc = store_writer_submit(m->writer, send_op_run, send_op_done, op, e)) == 0)
            op = NULL; /* the writer owns it now */
        goto out;
    }
    {
        struct err oe = {0};
        int orc = messaging__write(m, send_op_run, op, &oe);
        send_op_done(op, orc, &oe);
        op = NULL;
    }
out:
    send_op_free(op);
    messaging_account_release(ref);
    return rc;
}
