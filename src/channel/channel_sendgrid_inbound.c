/*
 * channel_sendgrid_inbound: SendGrid Inbound Parse -> one message event.
 *
 * SendGrid posts each received mail as multipart/form-data. With "Send Raw"
 * the field "email" holds the whole message, which GMime parses (headers
 * decoded to UTF-8, text parts converted from their charset, attachments
 * recognised by disposition or filename). Without it the fields from, to,
 * subject, text, html and headers (the raw header block) arrive separately,
 * each in the charset the "charsets" JSON names; the header block goes
 * through GMime too, for Message-ID, In-Reply-To and References. Every
 * string handed back is valid UTF-8 without NULs (the database refuses
 * anything else). Attachments are kept as metadata only (filename, type).
 *
 * GMime is initialised once (pthread_once); after that each request uses
 * its own parser and objects, which GMime allows across threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "channel/channel_sendgrid_int.h"

#define INBOUND_MAX_ATTACHMENTS 32
#define INBOUND_MAX_ID 250

static pthread_once_t inbound_once = PTHREAD_ONCE_INIT;

static void inbound_init(void)
{
    g_mime_init();
}

/* s (n bytes, any charset) as valid UTF-8 in a: converted from charset when
 * one is named and it is not UTF-8, cut at a NUL, invalid sequences
 * replaced. */
static const char *utf8(struct arena *a, const char *s, size_t n, const char *charset)
{
    if (!s)
        return NULL;
    const char *nul = memchr(s, '\0', n);
    if (nul)
        n = (size_t)(nul - s);
    gchar *conv = NULL;
    if (charset && *charset && strcasecmp(charset, "utf-8") != 0 && strcasecmp(charset, "utf8") != 0 &&
        strcasecmp(charset, "us-ascii") != 0) {
        gsize w = 0;
        conv = g_convert(s, (gssize)n, "UTF-8", charset, NULL, &w, NULL);
        if (conv) {
            s = conv;
            n = strnlen(conv, w);
        }
    }
    gchar *valid = g_utf8_make_valid(s, (gssize)n);
    const char *out = arena_strdup(a, valid);
    g_free(valid);
    g_free(conv);
    return out;
}

static const char *utf8z(struct arena *a, const char *s)
{
    return s ? utf8(a, s, strlen(s), NULL) : NULL;
}

/* "<id>" for a bare id, NULL when too long or not printable ASCII. */
static const char *bracket_id(struct arena *a, const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n + 2 > INBOUND_MAX_ID)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f || id[i] == '<' || id[i] == '>')
            return NULL;
    return arena_printf(a, "<%s>", id);
}

/* The ids of a References / In-Reply-To header, bracketed and space-
 * separated, at most max of them (the last ones: the nearest ancestors). */
static const char *ref_list(struct arena *a, const char *value, int max)
{
    if (!value)
        return NULL;
    GMimeReferences *refs = g_mime_references_parse(NULL, value);
    if (!refs)
        return NULL;
    struct buf b = {0};
    int n = g_mime_references_length(refs);
    for (int i = n > max ? n - max : 0; i < n; i++) {
        const char *id = bracket_id(a, g_mime_references_get_message_id(refs, i));
        if (!id)
            continue;
        if (b.len)
            buf_putc(&b, ' ');
        buf_puts(&b, id);
    }
    g_mime_references_free(refs);
    const char *out = b.len ? arena_strndup(a, b.data, b.len) : NULL;
    buf_free(&b);
    return out;
}

/* The first mailbox of an address list: *addr and *name in a. */
static void first_mailbox(struct arena *a, InternetAddressList *l, const char **addr, const char **name)
{
    int n = l ? internet_address_list_length(l) : 0;
    for (int i = 0; i < n; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue;
        const char *ad = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        if (!ad || !*ad)
            continue;
        *addr = utf8z(a, ad);
        const char *nm = internet_address_get_name(ia);
        if (name)
            *name = nm && *nm ? utf8z(a, nm) : NULL;
        return;
    }
}

static void parsed_address(struct arena *a, const char *text, const char **addr, const char **name)
{
    if (!text || !*text)
        return;
    InternetAddressList *l = internet_address_list_parse(NULL, text);
    first_mailbox(a, l, addr, name);
    if (l)
        g_object_unref(l);
}

/* Threading headers of a parsed message or header block. */
static void thread_headers(struct arena *a, GMimeMessage *m, struct channel_event *ev)
{
    const char *mid = g_mime_message_get_message_id(m);
    if (mid)
        ev->rfc_message_id = bracket_id(a, mid);
    ev->in_reply_to = ref_list(a, g_mime_object_get_header(GMIME_OBJECT(m), "In-Reply-To"), 1);
    ev->references = ref_list(a, g_mime_object_get_header(GMIME_OBJECT(m), "References"), 20);
}

static GMimeMessage *parse_message(const char *data, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    return m;
}

struct walk {
    struct arena *a;
    struct channel_event *ev;
    struct channel_media *media;
};

static void walk_part(GMimeObject *parent, GMimeObject *part, gpointer ud)
{
    struct walk *w = ud;
    (void)parent;
    if (!GMIME_IS_PART(part))
        return;
    GMimePart *p = GMIME_PART(part);
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    const char *fname = g_mime_part_get_filename(p);
    if (g_mime_part_is_attachment(p) || fname) {
        if (w->ev->nmedia < INBOUND_MAX_ATTACHMENTS) {
            struct channel_media *md = &w->media[w->ev->nmedia++];
            md->id = utf8z(w->a, fname ? fname : "attachment");
            char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
            md->content_type = utf8z(w->a, mt ? mt : "application/octet-stream");
            g_free(mt);
        }
        return;
    }
    if (!GMIME_IS_TEXT_PART(part) || !ct)
        return;
    int plain = g_mime_content_type_is_type(ct, "text", "plain");
    int html = g_mime_content_type_is_type(ct, "text", "html");
    if ((plain && w->ev->text) || (html && w->ev->html) || (!plain && !html))
        return;
    char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
    if (text) {
        if (plain)
            w->ev->text = utf8z(w->a, text);
        else
            w->ev->html = utf8z(w->a, text);
    }
    g_free(text);
}

/* "Send Raw": the whole message in the field "email". */
static int from_raw(struct arena *a, const struct channel_part *raw, struct channel_event *ev, struct err *e)
{
    GMimeMessage *m = parse_message(raw->data, raw->len);
    if (!m)
        return err_set(e, ERR_INVALID, "invalid_payload", "Inbound Parse: the raw message does not parse");
    first_mailbox(a, g_mime_message_get_from(m), &ev->from, &ev->contact_name);
    first_mailbox(a, g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO), &ev->to, NULL);
    const char *subj = g_mime_message_get_subject(m);
    ev->subject = subj ? utf8z(a, subj) : NULL;
    thread_headers(a, m, ev);
    struct walk w = {a, ev, arena_alloc(a, INBOUND_MAX_ATTACHMENTS * sizeof(struct channel_media))};
    g_mime_message_foreach(m, walk_part, &w);
    ev->media = ev->nmedia ? w.media : NULL;
    g_object_unref(m);
    return 0;
}

/* The charset the "charsets" JSON gives for field, or NULL. */
static const char *charset_of(const cJSON *charsets, const char *field)
{
    return charsets ? json_str(charsets, field) : NULL;
}

/* Parsed fields (the default Inbound Parse setting). */
static int from_fields(struct arena *a, const struct channel_part *parts, size_t n, struct channel_event *ev,
                       struct err *e)
{
    cJSON *charsets = NULL, *envelope = NULL;
    const char *cs = channel_multipart_field(a, parts, n, "charsets");
    const char *env = channel_multipart_field(a, parts, n, "envelope");
    if (cs)
        (void)json_parse(&charsets, cs, strlen(cs), NULL);
    if (env)
        (void)json_parse(&envelope, env, strlen(env), NULL);
    for (size_t i = 0; i < n; i++) {
        const struct channel_part *p = &parts[i];
        if (p->filename) {
            if (ev->nmedia < INBOUND_MAX_ATTACHMENTS) {
                struct channel_media *md = (struct channel_media *)&ev->media[ev->nmedia++];
                md->id = utf8(a, p->filename, strlen(p->filename), NULL);
                md->content_type = utf8z(a, p->content_type ? p->content_type : "application/octet-stream");
            }
            continue;
        }
        const char *cset = charset_of(charsets, p->name);
        if (strcmp(p->name, "from") == 0)
            parsed_address(a, utf8(a, p->data, p->len, cset), &ev->from, &ev->contact_name);
        else if (strcmp(p->name, "to") == 0)
            parsed_address(a, utf8(a, p->data, p->len, cset), &ev->to, NULL);
        else if (strcmp(p->name, "subject") == 0)
            ev->subject = utf8(a, p->data, p->len, cset);
        else if (strcmp(p->name, "text") == 0)
            ev->text = utf8(a, p->data, p->len, cset);
        else if (strcmp(p->name, "html") == 0)
            ev->html = utf8(a, p->data, p->len, cset);
        else if (strcmp(p->name, "headers") == 0 && p->len) {
            /* The header block, as a message with an empty body. */
            struct buf hb = {0};
            buf_append(&hb, p->data, p->len);
            buf_puts(&hb, "\r\n\r\n");
            GMimeMessage *m = parse_message(hb.data, hb.len);
            if (m) {
                thread_headers(a, m, ev);
                if (!ev->from)
                    first_mailbox(a, g_mime_message_get_from(m), &ev->from, &ev->contact_name);
                g_object_unref(m);
            }
            buf_free(&hb);
        }
    }
    /* The envelope names the recipient when the To header does not (Bcc). */
    const cJSON *eto = envelope ? cJSON_GetObjectItemCaseSensitive(envelope, "to") : NULL;
    if (!ev->to && cJSON_IsArray(eto) && cJSON_IsString(cJSON_GetArrayItem(eto, 0)))
        ev->to = utf8z(a, cJSON_GetArrayItem(eto, 0)->valuestring);
    cJSON_Delete(charsets);
    cJSON_Delete(envelope);
    (void)e;
    return 0;
}

/* A plain-text rendering of an HTML-only mail for the inbox: tags dropped
 * (script and style content too), the common entities decoded, runs of
 * white space collapsed. Not a full HTML parser; the HTML part is kept. */
static const char *html_text(struct arena *a, const char *html)
{
    static const struct {
        const char *ent, *ch;
    } ents[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
    size_t n = strlen(html), o = 0;
    char *out = arena_alloc(a, n + 1);
    int space = 1;
    for (size_t i = 0; i < n;) {
        if (html[i] == '<') {
            const char *skip_to = NULL;
            if (strncasecmp(html + i, "<script", 7) == 0)
                skip_to = "</script";
            else if (strncasecmp(html + i, "<style", 6) == 0)
                skip_to = "</style";
            if (skip_to) {
                const char *end = strcasestr(html + i, skip_to);
                i = end ? (size_t)(end - html) : n;
            }
            const char *gt = strchr(html + i, '>');
            i = gt ? (size_t)(gt - html) + 1 : n;
            if (!space) {
                out[o++] = ' ';
                space = 1;
            }
            continue;
        }
        const char *ch = NULL;
        size_t el = 0;
        if (html[i] == '&')
            for (size_t k = 0; k < sizeof ents / sizeof *ents && !ch; k++)
                if (strncasecmp(html + i, ents[k].ent, (el = strlen(ents[k].ent))) == 0)
                    ch = ents[k].ch;
        char c = ch ? *ch : html[i];
        i += ch ? el : 1;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (!space)
                out[o++] = ' ';
            space = 1;
        } else {
            out[o++] = c;
            space = 0;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o ? out : NULL;
}

int channel_sendgrid_inbound(struct arena *a, const char *content_type, const char *body, size_t len,
                             struct channel_events *out, struct err *e)
{
    struct channel_part *parts = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    pthread_once(&inbound_once, inbound_init);
    const char *boundary = channel_multipart_boundary(a, content_type);
    if (!boundary)
        return err_set(e, ERR_INVALID, "invalid_payload", "Inbound Parse post is not multipart/form-data");
    if ((rc = channel_multipart_parse(a, boundary, body ? body : "", body ? len : 0, &parts, &n, e)))
        return rc;
    struct channel_event *ev = arena_alloc(a, sizeof *ev);
    ev->kind = CHANNEL_EVENT_MESSAGE;
    ev->type = "text";
    const struct channel_part *raw = NULL;
    for (size_t i = 0; i < n && !raw; i++)
        if (!parts[i].filename && strcmp(parts[i].name, "email") == 0)
            raw = &parts[i];
    if (raw) {
        rc = from_raw(a, raw, ev, e);
    } else {
        ev->media = arena_alloc(a, INBOUND_MAX_ATTACHMENTS * sizeof(struct channel_media));
        rc = from_fields(a, parts, n, ev, e);
        if (!ev->nmedia)
            ev->media = NULL;
    }
    if (rc)
        return rc;
    if (!ev->from || !*ev->from)
        return err_set(e, ERR_INVALID, "invalid_payload", "Inbound Parse mail without a sender address");
    if ((!ev->text || !*ev->text) && ev->html)
        ev->text = html_text(a, ev->html);
    /* The Message-ID is the dedupe key; without one the pipeline hashes the event. */
    ev->event_id = ev->rfc_message_id;
    ev->provider_message_id = ev->rfc_message_id && strlen(ev->rfc_message_id) < 128 ? ev->rfc_message_id : NULL;
    if (!ev->provider_message_id)
        ev->event_id = NULL;
    out->items = ev;
    out->n = 1;
    return 0;
}
