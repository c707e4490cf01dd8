/*
 * messaging_setting: the tenant settings the messaging core reads, each
 * with a default and a limit. Only known names are stored, values are
 * checked before they are (length in characters, no control characters
 * other than line breaks), and every change is audited by name only.
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"

struct setting_def {
    const char *name;
    const char *def;              /* NULL: unset unless the tenant sets it */
    size_t max_chars;
    int (*check)(const char *name, const char *value, struct err *e); /* NULL: text */
};

static int check_hhmm(const char *name, const char *value, struct err *e)
{
    int min;
    if (compliance_hhmm_parse(value, &min, e) != 0)
        return err_set(e, ERR_INVALID, "invalid_setting", "%s must be a time of day, HH:MM (00:00 to 23:59)", name);
    return 0;
}

static int check_timezone(const char *name, const char *value, struct err *e)
{
    struct compliance_tz *tz = NULL;
    int rc = messaging__tz_load(&tz, value, e);
    compliance_tz_free(tz);
    if (rc == ERR_INVALID)
        return err_set(e, ERR_INVALID, "invalid_setting",
                       "%s must be an IANA time zone name such as America/New_York (%s)", name, e->msg);
    return rc;
}

static const struct setting_def settings[] = {
    /* What a HELP or INFO keyword reply says. */
    {"help_text", "Reply STOP to unsubscribe, START to resubscribe.", 320, NULL},
    /* Quiet hours: non-urgent outbound in [start, end) local time is held
     * until the end (end before start spans midnight). */
    {"quiet_hours_start", NULL, 5, check_hhmm},
    {"quiet_hours_end", NULL, 5, check_hhmm},
    /* The tenant's time zone, for quiet hours. */
    {"timezone", "UTC", 64, check_timezone},
};

static const struct setting_def *setting_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(settings) / sizeof(settings[0]); i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* UTF-8 characters (continuation bytes not counted). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int messaging_setting_check(const char *name, const char *value, struct err *e)
{
    const struct setting_def *d = setting_find(name);
    if (!d)
        return err_set(e, ERR_INVALID, "unknown_setting", "unknown setting '%.64s'", name ? name : "");
    if (!value)
        return 0;
    if (!*value)
        return err_set(e, ERR_INVALID, "invalid_setting", "%s must not be empty", d->name);
    if (utf8_chars(value) > d->max_chars)
        return err_set(e, ERR_INVALID, "invalid_setting", "%s is longer than %zu characters", d->name, d->max_chars);
    for (const char *p = value; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\r') || *p == 0x7f)
            return err_set(e, ERR_INVALID, "invalid_setting", "%s contains a control character", d->name);
    return d->check ? d->check(d->name, value, e) : 0;
}

int messaging_setting_get(struct messaging *m, const char *tenant_id, const char *name, char **out, struct err *e)
{
    const struct setting_def *d = setting_find(name);
    int rc;

    *out = NULL;
    if (!d)
        return err_set(e, ERR_INVALID, "unknown_setting", "unknown setting '%.64s'", name ? name : "");
    rc = store_setting_get(m->db, tenant_id, d->name, out, e);
    if (rc == ERR_NOTFOUND) {
        err_clear(e);
        if (!d->def)
            return 0;
        *out = strdup(d->def);
        rc = *out ? 0 : err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    return rc;
}

int messaging_setting_set(struct messaging *m, const char *tenant_id, const char *name, const char *value,
                          const char *actor_type, const char *actor_id, const char *ip, struct err *e)
{
    struct store_tenant t;
    struct buf details = {0};
    int rc;

    if ((rc = messaging_setting_check(name, value, e)))
        return rc;
    if ((rc = store_tenant_get(m->db, tenant_id, &t, e)))
        return rc;
    rc = value ? store_setting_put(m->db, tenant_id, name, value, time_now_ms(), e)
               : store_setting_delete(m->db, tenant_id, name, e);
    messaging__policy_forget(m, tenant_id);
    if (rc)
        return rc;
    buf_puts(&details, "{\"name\":");
    buf_json_str(&details, name);
    buf_puts(&details, value ? ",\"reset\":false}" : ",\"reset\":true}");
    rc = ops_audit(m->db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                   "settings.update", name, ip ? ip : "", details.data, e);
    buf_free(&details);
    return rc;
}

int messaging_settings_json(struct messaging *m, const char *tenant_id, struct buf *b, struct err *e)
{
    struct buf out = {0};
    int rc = 0;

    buf_putc(&out, '{');
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        char *v = NULL;
        if ((rc = messaging_setting_get(m, tenant_id, settings[i].name, &v, e)))
            goto out;
        if (i)
            buf_putc(&out, ',');
        buf_json_str(&out, settings[i].name);
        buf_putc(&out, ':');
        buf_json_str(&out, v); /* null when unset */
        free(v);
    }
    buf_putc(&out, '}');
    buf_append(b, out.data, out.len);
out:
    buf_free(&out);
    return rc;
}
