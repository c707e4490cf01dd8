/*
 * messaging_send: the outbound API's path, POST /api/v1/messages.
 *
 * Everything that can refuse a message is decided before anything is
 * written: the account, the recipient, the content against the channel's
 * limits, and compliance (opt-out, the customer service window, template
 * approval), from facts read on pooled connections. A template is read
 * here too: providers with templates of their own (WhatsApp) get it by
 * name with its variables; every other channel gets the approved version
 * rendered into the message's text (and e-mail subject and HTML). Then
 * one operation of the group-commit writer (or one transaction without a
 * writer) looks the idempotency key up first — a key already used returns
 * its message, so a client retrying after a timeout never causes a second
 * send — and otherwise writes the message, its outbound.send job and its
 * message.created event together (a reply by a person signed in to the
 * dashboard also marks the conversation read). The operation owns copies of everything
 * it needs: the request that asked may be gone by the time it runs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"
#include "template/template.h"

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
    char template_status[48];
    struct store_suppression supp;
    int64_t hold_until;            /* quiet hours: the job's first run (unix ms); 0 = at once */
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
    if ((rc = messaging__queue_at_tx(op->m, tx, op->tenant_id, &o,
                                     op->hold_until ? op->hold_until - time_now_ms() : 0, &r, &op->ev, e)))
        return rc;
    if (r.duplicate) { /* the same key twice in one batch */
        op->replayed = 1;
        return messaging__message_json_tx(tx, op->tenant_id, r.message_id, &op->json, e);
    }
    if ((rc = messaging__message_json_tx(tx, op->tenant_id, r.message_id, &op->json, e)))
        return rc;
    /* A person answering from the inbox has read what the customer wrote. */
    if (strcmp(op->origin, "agent") == 0 &&
        (rc = messaging__conversation_read_tx(tx, op->tenant_id, r.conversation_id, &op->ev, e)))
        return rc;
    if (op->hold_until && op->json.len > 1 && op->json.data[op->json.len - 1] == '}') {
        op->json.len--; /* the reply says when a held message goes */
        buf_puts(&op->json, ",\"held_until\":");
        buf_json_time(&op->json, op->hold_until);
        buf_putc(&op->json, '}');
    }
    return messaging__events_flush(&op->ev, tx, e);
}

static void send_op_done(void *ud, int rc, const struct err *e)
{
    struct send_op *op = ud;

    op->done(op->ud, rc, e, rc == 0 ? op->json.data : NULL, op->replayed);
    if (rc == 0 && !op->replayed) {
        ops_metrics_count(op->m->metrics, "sb_messages_total", "channel", op->channel, "status", "queued", 1);
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

/* Providers that take one attachment per message. */
static int one_media(const struct channel_adapter *ad)
{
    return strcmp(ad->name, "whatsapp") == 0 || strcmp(ad->name, "instagram") == 0 || strcmp(ad->name, "telegram") == 0;
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
    size_t nmedia = req->nmedia + req->nmedia_ids;
    int rc;

    if ((rc = check_email(req, channel, e)))
        return rc;
    if (has_text == 0 && !has_tpl && nmedia == 0 && !(req->html && *req->html))
        return err_set(e, ERR_INVALID, "invalid_message", "a message needs text, media or a template");
    if (has_tpl && (has_text || nmedia || (req->subject && *req->subject) || (req->html && *req->html)))
        return err_set(e, ERR_INVALID, "invalid_message", "a template message carries no text or media of its own");
    if (has_tpl && ad->list_templates && req->template_var_names)
        return err_set(e, ERR_INVALID, "invalid_message",
                       "%s templates take positional variables: give \"variables\" as an array", ad->name);
    if (has_text && utf8_len(req->text) > ad->caps.max_text_len)
        return err_set(e, ERR_INVALID, "invalid_message", "text is %zu characters; %s takes at most %zu",
                       utf8_len(req->text), ad->name, ad->caps.max_text_len);
    if (nmedia > SEND_MAX_MEDIA || (nmedia > 1 && one_media(ad)))
        return err_set(e, ERR_INVALID, "invalid_message", "too many media URLs (%s: at most %d)", ad->name,
                       one_media(ad) ? 1 : SEND_MAX_MEDIA);
    if (nmedia && has_text && strcmp(ad->name, "instagram") == 0)
        return err_set(e, ERR_INVALID, "invalid_message",
                       "instagram sends text or one attachment per message: send them as two messages");
    for (size_t i = 0; i < req->nmedia; i++) {
        const char *u = req->media_urls[i], *type;
        if (!u || strlen(u) > SEND_MAX_URL || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
            return err_set(e, ERR_INVALID, "invalid_message", "media URLs must be http(s) URLs the provider can fetch");
        /* The channel's media types, by the file name the URL ends with (a
         * HEAD per send would put a stranger's server in the API's path); a
         * URL without a known extension is left to the provider. */
        type = media_type_from_name(u);
        if (type && !media_type_allowed(ad->caps.media_types, type))
            return err_set(e, ERR_INVALID, "media_not_allowed", "%s does not take %s media (it takes %s)", ad->name,
                           type, ad->caps.media_types ? ad->caps.media_types : "none");
        if (type && has_text && strncmp(type, "audio/", 6) == 0 && strcmp(ad->name, "whatsapp") == 0)
            return err_set(e, ERR_INVALID, "invalid_message",
                           "WhatsApp audio messages take no caption: send the text as its own message");
    }
    if (req->ntemplate_vars > SEND_MAX_VARS)
        return err_set(e, ERR_INVALID, "invalid_message", "at most %d template variables", SEND_MAX_VARS);
    for (size_t i = 0; i < req->ntemplate_vars; i++)
        if (!req->template_vars[i] || strlen(req->template_vars[i]) > SEND_MAX_VAR ||
            (req->template_var_names && (!req->template_var_names[i] || !*req->template_var_names[i])))
            return err_set(e, ERR_INVALID, "invalid_message", "template variables are strings of at most %d bytes",
                           SEND_MAX_VAR);
    if (req->idempotency_key && (strlen(req->idempotency_key) == 0 || strlen(req->idempotency_key) > 127))
        return err_set(e, ERR_INVALID, "invalid_request", "Idempotency-Key must be 1 to 127 characters");
    return 0;
}

int messaging__contact_address(const struct store_contact *c, const char *kind, char *out, size_t outlen)
{
    for (int i = 0; i < c->nidentities; i++)
        if (strcmp(c->identities[i].kind, kind) == 0) {
            snprintf(out, outlen, "%s", c->identities[i].address);
            return 1;
        }
    if (outlen)
        out[0] = '\0';
    return 0;
}

int messaging__no_address(const char *kind, struct err *e)
{
    return err_set(e, ERR_INVALID, "no_address", "the contact has no %s address for this channel", kind);
}

struct pick_identity {
    const char *kind;
    char address[CRM_ADDRESS_MAX];
};

static int pick_identity_cb(void *ud, const struct store_contact *c)
{
    struct pick_identity *p = ud;
    messaging__contact_address(c, p->kind, p->address, sizeof(p->address));
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
        return messaging__no_address(kind, e);
    snprintf(out, outlen, "%s", p.address);
    return 0;
}

/* The message's template record: {name, language, variables} (what the
 * worker sends by name to providers with templates), plus version and
 * "rendered": true when the text was rendered here instead. */
static char *json_template(const struct messaging_send_request *req, const char *language, int64_t version,
                           int rendered)
{
    struct buf b = {0};

    buf_puts(&b, "{\"name\":");
    buf_json_str(&b, req->template_name);
    buf_puts(&b, ",\"language\":");
    buf_json_str(&b, language);
    buf_puts(&b, req->template_var_names ? ",\"variables\":{" : ",\"variables\":[");
    for (size_t i = 0; i < req->ntemplate_vars; i++) {
        if (i)
            buf_putc(&b, ',');
        if (req->template_var_names) {
            buf_json_str(&b, req->template_var_names[i]);
            buf_putc(&b, ':');
        }
        buf_json_str(&b, req->template_vars[i]);
    }
    buf_puts(&b, req->template_var_names ? "}" : "]");
    if (version > 0)
        buf_printf(&b, ",\"version\":%lld", (long long)version);
    if (rendered)
        buf_puts(&b, ",\"rendered\":true");
    buf_putc(&b, '}');
    return buf_steal(&b);
}

/* The template a send names, read now; the gate decides on its status.
 * A sendable one is rendered: into the message's text (and e-mail subject
 * and HTML) where the provider has no templates of its own; checked for
 * missing variables where it does (WhatsApp sends it by name). */
static int send_template(struct messaging *m, const char *tenant_id, const struct messaging_account_ref *ref,
                         const struct messaging_send_request *req, struct send_op *op, struct err *e)
{
    struct store_template tpl;
    struct store_template_version v;
    struct template_rendered out;
    struct template_var vars[SEND_MAX_VARS];
    char pos[SEND_MAX_VARS][24];
    int by_name = ref->adapter->list_templates != NULL, rc;
    const char *lang = req->template_language ? req->template_language : by_name ? "en_US" : NULL;

    memset(&v, 0, sizeof(v));
    memset(&out, 0, sizeof(out));
    op->type = by_name ? "template" : "text";
    rc = messaging__template_facts(m, tenant_id, &ref->acct, ref->adapter, req->template_name,
                                   req->template_language, &tpl, &v, op->template_status,
                                   sizeof(op->template_status), &op->gate, e);
    if (rc == 0 && !op->gate.template_status) { /* unknown: the gate refuses it */
        op->template_json = json_template(req, lang ? lang : "", 0, 0);
        return op->template_json ? 0 : err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    if (rc)
        return rc;
    op->template_json = json_template(req, tpl.language, tpl.version, !by_name && template_sendable(&tpl));
    if (!template_sendable(&tpl))
        goto out; /* the gate refuses it, after the idempotency lookup */
    for (size_t i = 0; i < req->ntemplate_vars; i++) {
        snprintf(pos[i], sizeof(pos[i]), "%zu", i + 1);
        vars[i].name = req->template_var_names ? req->template_var_names[i] : pos[i];
        vars[i].value = req->template_vars[i];
    }
    if ((rc = template_render_version(&tpl, &v, vars, req->ntemplate_vars, &out, e)))
        goto out;
    if (by_name)
        goto out; /* every variable is there: Meta fills them in */
    if (utf8_len(out.text.data ? out.text.data : "") > ref->adapter->caps.max_text_len) {
        rc = err_set(e, ERR_INVALID, "invalid_message",
                     "the rendered template is %zu characters; %s takes at most %zu",
                     utf8_len(out.text.data ? out.text.data : ""), ref->adapter->name,
                     ref->adapter->caps.max_text_len);
        goto out;
    }
    free(op->body);
    free(op->subject);
    free(op->html);
    op->body = out.text.data ? buf_steal(&out.text) : NULL;
    op->subject = out.subject.data ? buf_steal(&out.subject) : NULL;
    op->html = out.html.data ? buf_steal(&out.html) : NULL;
out:
    template_rendered_free(&out);
    store_template_version_clear(&v);
    if (rc == 0 && !op->template_json)
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
    return rc;
}

/* Media ids of the request, checked against the channel: each a stored
 * file of the tenant, of a type the channel takes, all of them within its
 * size. Their types go to types[] (at most SEND_MAX_MEDIA). */
static int check_stored_media(struct messaging *m, const char *tenant_id, const struct messaging_send_request *req,
                              const struct channel_adapter *ad, char types[][MEDIA_TYPE_MAX], struct err *e)
{
    struct store_media row;
    int64_t total = 0;
    int has_text = req->text && *req->text;
    int rc;

    if (req->nmedia_ids && !m->media)
        return err_set(e, ERR_INVALID, "media_not_found", "this server keeps no media store");
    for (size_t i = 0; i < req->nmedia_ids && i < SEND_MAX_MEDIA; i++) {
        const char *id = req->media_ids[i];
        if (!id || !*id || (rc = media_get(m->media, tenant_id, id, &row, e)) == ERR_NOTFOUND)
            return err_set(e, ERR_INVALID, "media_not_found", "no such media: %.64s", id ? id : "");
        if (rc)
            return rc;
        if (strcmp(row.status, "stored") != 0)
            return err_set(e, ERR_INVALID, "media_not_ready", "media %s has no stored file (%s)", row.id, row.status);
        if (!media_type_allowed(ad->caps.media_types, row.content_type))
            return err_set(e, ERR_INVALID, "media_not_allowed", "%s does not take %s media (it takes %s)", ad->name,
                           row.content_type, ad->caps.media_types ? ad->caps.media_types : "none");
        if (has_text && strncmp(row.content_type, "audio/", 6) == 0 && strcmp(ad->name, "whatsapp") == 0)
            return err_set(e, ERR_INVALID, "invalid_message",
                           "WhatsApp audio messages take no caption: send the text as its own message");
        total += row.size;
        if (ad->caps.max_media_bytes && (uint64_t)total > ad->caps.max_media_bytes)
            return err_set(e, ERR_INVALID, "media_too_large", "the media come to %lld bytes; %s takes at most %zu",
                           (long long)total, ad->name, ad->caps.max_media_bytes);
        snprintf(types[i], MEDIA_TYPE_MAX, "%s", row.content_type);
    }
    return 0;
}

static char *json_media(const struct messaging_send_request *req, char types[][MEDIA_TYPE_MAX])
{
    struct buf b = {0};

    buf_putc(&b, '[');
    for (size_t i = 0; i < req->nmedia; i++) {
        buf_puts(&b, i ? ",{\"url\":" : "{\"url\":");
        buf_json_str(&b, req->media_urls[i]);
        buf_putc(&b, '}');
    }
    for (size_t i = 0; i < req->nmedia_ids; i++) {
        buf_puts(&b, i || req->nmedia ? ",{\"media_id\":" : "{\"media_id\":");
        buf_json_str(&b, req->media_ids[i]);
        buf_puts(&b, ",\"content_type\":");
        buf_json_str(&b, types[i]);
        buf_putc(&b, '}');
    }
    buf_putc(&b, ']');
    return buf_steal(&b);
}

/* The message type of stored media, by its type. */
static const char *stored_media_type(const char *content_type)
{
    return strncmp(content_type, "image/", 6) == 0   ? "image"
           : strncmp(content_type, "video/", 6) == 0 ? "video"
           : strncmp(content_type, "audio/", 6) == 0 ? "audio"
                                                     : "document";
}

int messaging__gate_facts(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                          const struct channel_adapter *ad, const char *to, const char *origin,
                          struct compliance_send *gate, struct store_suppression *supp, struct err *e)
{
    int found = 0, rc;

    memset(gate, 0, sizeof(*gate));
    gate->now = time_now_ms();
    gate->window_ms = ad->caps.window_ms;
    gate->origin = origin;
    gate->human_agent_window_ms = ad->caps.human_agent_window_ms;
    gate->transactional_only = ad->caps.transactional_only;
    if ((rc = compliance_is_opted_out(m->db, tenant_id, acct->id, to, &gate->opted_out, e)))
        return rc;
    if ((rc = compliance_suppression_find(m->db, tenant_id, acct->channel, to, supp, &found, e)))
        return rc;
    if (found) {
        gate->suppressed_source = supp->source;
        gate->suppressed_reason = supp->reason;
    }
    if (gate->window_ms > 0 || gate->human_agent_window_ms > 0)
        return crm_last_inbound(m->db, tenant_id, acct->id, acct->channel, to, &gate->last_inbound_at, e);
    return 0;
}

int messaging__hold_until(struct messaging *m, const char *tenant_id, const char *origin, int urgent, int64_t now,
                          int64_t *out, struct err *e)
{
    const struct messaging__policy *pol = NULL;
    int rc;

    *out = 0;
    /* Quiet hours hold what is not urgent and not a person's reply. */
    if (urgent || (origin && strcmp(origin, "agent") == 0))
        return 0;
    if ((rc = messaging__policy_get(m, tenant_id, &pol, e)))
        return rc;
    *out = compliance_quiet_until(messaging__policy_quiet(pol), now);
    messaging__policy_release(pol);
    return 0;
}

int messaging__template_facts(struct messaging *m, const char *tenant_id, const struct messaging_account *acct,
                              const struct channel_adapter *ad, const char *name, const char *language,
                              struct store_template *tpl, struct store_template_version *v, char *status,
                              size_t statuslen, struct compliance_send *gate, struct err *e)
{
    const char *lang = language ? language : ad->list_templates ? "en_US" : NULL;
    int rc;

    gate->is_template = 1;
    gate->template_status = NULL;
    rc = store_template_find(m->db, tenant_id, acct->channel, acct->id, name, lang, tpl, v, e);
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        return 0;
    }
    if (rc)
        return rc;
    template_send_status(tpl, status, statuslen);
    gate->template_status = status;
    return 0;
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
    char types[SEND_MAX_MEDIA][MEDIA_TYPE_MAX];
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
        (rc = check_stored_media(m, tenant_id, req, ref->adapter, types, e)) ||
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
        /* below, with the other facts */
    } else if (req->nmedia || req->nmedia_ids) {
        op->media_json = json_media(req, types);
        op->type = req->nmedia ? media_type(req->media_urls[0]) : stored_media_type(types[0]);
    }
    if (!op->to || (req->text && *req->text && !op->body) ||
        (req->idempotency_key && *req->idempotency_key && !op->idempotency_key) ||
        (req->subject && *req->subject && !op->subject) || (req->html && *req->html && !op->html)) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }

    /* The facts compliance decides on, read now; the decision is made in
     * the write operation, after the idempotency lookup. */
    if ((rc = messaging__gate_facts(m, tenant_id, &ref->acct, ref->adapter, to, op->origin, &op->gate, &op->supp, e)))
        goto out;
    if ((rc = messaging__hold_until(m, tenant_id, op->origin, req->urgent, op->gate.now, &op->hold_until, e)))
        goto out;
    if (req->template_name && *req->template_name && (rc = send_template(m, tenant_id, ref, req, op, e)))
        goto out;
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
