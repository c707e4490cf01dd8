/*
 * crm json: the message, conversation and contact objects as the API and
 * the realtime events print them (one serializer each, so every producer
 * agrees on the shape; docs in src/http/openapi.json components).
 *
 * Times are RFC 3339 strings, null when 0; empty optional text is null.
 * media and template are stored as JSON text that crm checked when it wrote
 * them, and are copied through as they are.
 */
#include <stdio.h>
#include <string.h>

#include "crm/crm.h"

static void str_or_null(struct buf *b, const char *s)
{
    buf_json_str(b, s && *s ? s : NULL);
}

void crm_message_json(struct buf *b, const struct store_message *m)
{
    buf_puts(b, "{\"id\":");
    buf_json_str(b, m->id);
    buf_puts(b, ",\"conversation_id\":");
    buf_json_str(b, m->conversation_id);
    buf_puts(b, ",\"account_id\":");
    buf_json_str(b, m->account_id);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, m->channel);
    buf_puts(b, ",\"direction\":");
    buf_json_str(b, m->direction);
    buf_puts(b, ",\"address\":");
    buf_json_str(b, m->address);
    buf_puts(b, ",\"type\":");
    buf_json_str(b, m->type);
    buf_puts(b, ",\"origin\":");
    buf_json_str(b, m->origin[0] ? m->origin : strcmp(m->direction, "inbound") == 0 ? "customer" : "api");
    buf_puts(b, ",\"sent_by\":");
    str_or_null(b, m->sent_by);
    buf_puts(b, ",\"subject\":");
    str_or_null(b, m->subject ? m->subject : "");
    buf_puts(b, ",\"html\":");
    str_or_null(b, m->html ? m->html : "");
    buf_puts(b, ",\"body\":");
    buf_json_str(b, m->body ? m->body : "");
    buf_puts(b, ",\"media\":");
    buf_puts(b, m->media && *m->media ? m->media : "[]");
    buf_puts(b, ",\"template\":");
    buf_puts(b, m->template_json && *m->template_json ? m->template_json : "null");
    buf_puts(b, ",\"status\":");
    buf_json_str(b, m->status);
    buf_puts(b, ",\"provider_message_id\":");
    str_or_null(b, m->provider_message_id);
    buf_puts(b, ",\"error\":");
    if (m->error_code[0] || (m->error_text && *m->error_text)) {
        buf_puts(b, "{\"code\":");
        str_or_null(b, m->error_code);
        buf_puts(b, ",\"text\":");
        str_or_null(b, m->error_text);
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, m->created_at);
    buf_puts(b, ",\"sent_at\":");
    buf_json_time(b, m->sent_at);
    buf_puts(b, ",\"delivered_at\":");
    buf_json_time(b, m->delivered_at);
    buf_puts(b, ",\"read_at\":");
    buf_json_time(b, m->read_at);
    buf_puts(b, ",\"failed_at\":");
    buf_json_time(b, m->failed_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, m->updated_at);
    buf_putc(b, '}');
}

static void identities_json(struct buf *b, const struct store_contact *c, crm_identity_json_fn extra, void *ud)
{
    buf_putc(b, '[');
    for (int i = 0; i < c->nidentities; i++) {
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"kind\":");
        buf_json_str(b, c->identities[i].kind);
        buf_puts(b, ",\"address\":");
        buf_json_str(b, c->identities[i].address);
        if (extra)
            extra(ud, b, &c->identities[i]);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
}

void crm_message_preview(char *out, size_t outlen, const char *type, const char *body)
{
    const unsigned char *s = (const unsigned char *)(body ? body : "");
    size_t o = 0, chars = 0;
    int space = 0;

    if (outlen == 0)
        return;
    while (*s && chars < CRM_PREVIEW_CHARS) {
        size_t len = 1;
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') {
            space = o > 0; /* leading white space is dropped, inner runs become one space */
            s++;
            continue;
        }
        if (*s >= 0xf0)
            len = 4;
        else if (*s >= 0xe0)
            len = 3;
        else if (*s >= 0xc0)
            len = 2;
        for (size_t i = 1; i < len; i++)
            if ((s[i] & 0xc0) != 0x80)
                len = i; /* a broken sequence ends where it breaks */
        if (o + space + len + 1 > outlen)
            break;
        if (space) {
            out[o++] = ' ';
            chars++;
            space = 0;
            if (chars == CRM_PREVIEW_CHARS)
                break;
        }
        memcpy(out + o, s, len);
        o += len;
        s += len;
        chars++;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (o == 0 && type && *type && strcmp(type, "text") != 0)
        snprintf(out, outlen, "[%s]", type);
}

void crm_conversation_json(struct buf *b, const struct store_conversation *c, const struct store_contact *contact)
{
    char preview[4 * CRM_PREVIEW_CHARS + 8];

    buf_puts(b, "{\"id\":");
    buf_json_str(b, c->id);
    buf_puts(b, ",\"contact\":{\"id\":");
    buf_json_str(b, c->contact_id);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, contact ? contact->name : c->contact_name);
    buf_puts(b, ",\"address\":");
    str_or_null(b, c->contact_address);
    if (contact) {
        buf_puts(b, ",\"identities\":");
        identities_json(b, contact, NULL, NULL);
    }
    buf_puts(b, "},\"account_id\":");
    buf_json_str(b, c->account_id);
    buf_puts(b, ",\"account_name\":");
    str_or_null(b, c->account_name);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, c->channel);
    buf_puts(b, ",\"status\":");
    buf_json_str(b, c->status);
    buf_puts(b, ",\"assignee_id\":");
    str_or_null(b, c->assignee_id);
    buf_puts(b, ",\"assignee_name\":");
    str_or_null(b, c->assignee_id[0] ? c->assignee_name : "");
    buf_printf(b, ",\"unread\":%lld,\"unread_count\":%lld", (long long)c->unread, (long long)c->unread);
    buf_puts(b, ",\"last_message\":");
    if (c->last_id[0]) {
        crm_message_preview(preview, sizeof(preview), c->last_type, c->last_body);
        buf_puts(b, "{\"id\":");
        buf_json_str(b, c->last_id);
        buf_puts(b, ",\"direction\":");
        buf_json_str(b, c->last_direction);
        buf_puts(b, ",\"type\":");
        buf_json_str(b, c->last_type);
        buf_puts(b, ",\"preview\":");
        buf_json_str(b, preview);
        buf_puts(b, ",\"status\":");
        buf_json_str(b, c->last_status);
        buf_puts(b, ",\"created_at\":");
        buf_json_time(b, c->last_created_at);
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"last_activity_at\":");
    buf_json_time(b, c->last_message_at);
    buf_puts(b, ",\"last_message_at\":");
    buf_json_time(b, c->last_message_at);
    buf_puts(b, ",\"last_inbound_at\":");
    buf_json_time(b, c->last_inbound_at);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, c->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, c->updated_at);
    buf_putc(b, '}');
}

/* The first identity of kind, or NULL. */
static const char *first_address(const struct store_contact *c, const char *kind)
{
    for (int i = 0; i < c->nidentities; i++)
        if (strcmp(c->identities[i].kind, kind) == 0)
            return c->identities[i].address;
    return NULL;
}

void crm_contact_json_open(struct buf *b, const struct store_contact *c, crm_identity_json_fn extra, void *ud)
{
    const char *phone = first_address(c, "phone");

    buf_puts(b, "{\"id\":");
    buf_json_str(b, c->id);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, c->name);
    buf_puts(b, ",\"email\":");
    buf_json_str(b, first_address(c, "email"));
    buf_puts(b, ",\"phone\":");
    buf_json_str(b, phone ? phone : first_address(c, "whatsapp"));
    buf_puts(b, ",\"identities\":");
    identities_json(b, c, extra, ud);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, c->created_at);
    buf_puts(b, ",\"updated_at\":");
    buf_json_time(b, c->updated_at);
    buf_puts(b, ",\"last_activity_at\":");
    buf_json_time(b, c->last_activity_at ? c->last_activity_at : c->created_at);
}

void crm_contact_json(struct buf *b, const struct store_contact *c)
{
    crm_contact_json_open(b, c, NULL, NULL);
    buf_putc(b, '}');
}

static void ms_or_null(struct buf *b, int64_t ms)
{
    if (ms > 0)
        buf_printf(b, "%lld", (long long)ms);
    else
        buf_puts(b, "null");
}

void crm_engagement_json(struct buf *b, const struct store_contact_engagement *g)
{
    buf_printf(b, "{\"queued\":%lld,\"sent\":%lld,\"delivered\":%lld,\"read\":%lld,\"failed\":%lld,\"inbound\":%lld",
               (long long)g->queued, (long long)g->sent, (long long)g->delivered, (long long)g->read,
               (long long)g->failed, (long long)g->inbound);
    buf_puts(b, ",\"last_inbound_at\":");
    ms_or_null(b, g->last_inbound_at);
    buf_puts(b, ",\"last_outbound_at\":");
    ms_or_null(b, g->last_outbound_at);
    buf_putc(b, '}');
}
