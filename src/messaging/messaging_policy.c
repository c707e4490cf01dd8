/*
 * messaging_policy: each tenant's compliance settings as one immutable,
 * reference-counted snapshot for the hot paths — the keyword lists per
 * channel (inbound.process classifies every message with them) and quiet
 * hours with the loaded time zone (every send asks them).
 *
 * A snapshot is loaded with one query (the tenant's settings) and trusted
 * for account_cache_ms; a change through this process drops it at once,
 * other processes see it when it expires. The cache is a fixed array of
 * slots indexed by a hash of the tenant id: two tenants sharing a slot only
 * cost reloads, and memory stays bounded however many tenants there are.
 */
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"
#include "messaging/messaging_int.h"

#define POLICY_SLOTS 512
#define KW_PREFIX "keywords."

struct messaging__policy {
    atomic_long refs;
    char tenant_id[CORE_ID_MAX];
    int64_t loaded_ns;
    int has_kw[MESSAGING__CHANNELS];
    struct compliance_keywords kw[MESSAGING__CHANNELS];
    int has_quiet;
    struct compliance_quiet quiet;
    struct compliance_tz *tz;
};

struct messaging__policies {
    pthread_mutex_t mu;
    uint64_t gen;                     /* bumped by every forget, under mu */
    struct messaging__policy *slot[POLICY_SLOTS];
};

static int channel_index(const char *channel)
{
    for (int i = 0; compliance_channels[i] && i < MESSAGING__CHANNELS; i++)
        if (channel && strcmp(channel, compliance_channels[i]) == 0)
            return i;
    return -1;
}

void messaging__policy_release(const struct messaging__policy *p)
{
    struct messaging__policy *q = (struct messaging__policy *)p;
    if (q && atomic_fetch_sub(&q->refs, 1) == 1) {
        compliance_tz_free(q->tz);
        free(q);
    }
}

const struct compliance_keywords *messaging__policy_keywords(const struct messaging__policy *p, const char *channel)
{
    int i = channel_index(channel);
    return p && i >= 0 && p->has_kw[i] ? &p->kw[i] : NULL;
}

const struct compliance_quiet *messaging__policy_quiet(const struct messaging__policy *p)
{
    return p && p->has_quiet ? &p->quiet : NULL;
}

int messaging__policies_init(struct messaging *m, struct err *e)
{
    m->policies = calloc(1, sizeof(*m->policies));
    if (!m->policies)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    pthread_mutex_init(&m->policies->mu, NULL);
    return 0;
}

void messaging__policies_destroy(struct messaging *m)
{
    if (!m->policies)
        return;
    for (int i = 0; i < POLICY_SLOTS; i++)
        messaging__policy_release(m->policies->slot[i]);
    pthread_mutex_destroy(&m->policies->mu);
    free(m->policies);
    m->policies = NULL;
}

static size_t slot_of(const char *tenant_id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = tenant_id; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)(h % POLICY_SLOTS);
}

void messaging__policy_forget(struct messaging *m, const char *tenant_id)
{
    struct messaging__policies *ps = m->policies;
    size_t i = slot_of(tenant_id);
    struct messaging__policy *old = NULL;

    pthread_mutex_lock(&ps->mu);
    ps->gen++;
    if (ps->slot[i] && strcmp(ps->slot[i]->tenant_id, tenant_id) == 0) {
        old = ps->slot[i];
        ps->slot[i] = NULL;
    }
    pthread_mutex_unlock(&ps->mu);
    messaging__policy_release(old);
}

struct load_state {
    struct messaging__policy *p;
    char start[8], end[8], tz[80];
};

static int load_setting(void *ud, const char *name, const char *value)
{
    struct load_state *st = ud;
    struct err ignored = {0};

    if (strncmp(name, KW_PREFIX, strlen(KW_PREFIX)) == 0) {
        int i = channel_index(name + strlen(KW_PREFIX));
        /* Checked when stored; a value that no longer parses means the defaults. */
        if (i >= 0 && compliance_keywords_parse(&st->p->kw[i], value, &ignored) == 0)
            st->p->has_kw[i] = 1;
    } else if (strcmp(name, "quiet_hours_start") == 0) {
        snprintf(st->start, sizeof(st->start), "%s", value);
    } else if (strcmp(name, "quiet_hours_end") == 0) {
        snprintf(st->end, sizeof(st->end), "%s", value);
    } else if (strcmp(name, "timezone") == 0) {
        snprintf(st->tz, sizeof(st->tz), "%s", value);
    }
    return 0;
}

int messaging__tz_load(struct compliance_tz **out, const char *name, struct err *e)
{
    /* UTC needs no tz database. */
    if (!name || !*name || strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return compliance_tz_posix(out, "UTC0", e);
    return compliance_tz_load(out, NULL, name, e);
}

static int policy_load(struct messaging *m, const char *tenant_id, struct messaging__policy **out, struct err *e)
{
    struct load_state st;
    struct messaging__policy *p = calloc(1, sizeof(*p));
    struct err te = {0};
    int rc;

    *out = NULL;
    if (!p)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    atomic_init(&p->refs, 1);
    snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", tenant_id);
    memset(&st, 0, sizeof(st));
    st.p = p;
    if ((rc = store_setting_list(m->db, tenant_id, "", load_setting, &st, e))) {
        free(p);
        return rc;
    }
    if (st.start[0] && st.end[0] && compliance_hhmm_parse(st.start, &p->quiet.start_min, &te) == 0 &&
        compliance_hhmm_parse(st.end, &p->quiet.end_min, &te) == 0) {
        if (messaging__tz_load(&p->tz, st.tz, &te) != 0) {
            /* A zone that vanished from the tz database: hold by UTC rather than not at all. */
            struct log_ctx lc = {NULL, NULL, tenant_id};
            log_warn(&lc, "quiet hours: %s; using UTC", te.msg);
            if ((rc = compliance_tz_posix(&p->tz, "UTC0", e))) {
                free(p);
                return rc;
            }
        }
        p->quiet.tz = p->tz;
        p->has_quiet = p->quiet.start_min != p->quiet.end_min;
    }
    p->loaded_ns = time_mono_ns();
    *out = p;
    return 0;
}

int messaging__policy_get(struct messaging *m, const char *tenant_id, const struct messaging__policy **out,
                          struct err *e)
{
    struct messaging__policies *ps = m->policies;
    size_t i = slot_of(tenant_id);
    struct messaging__policy *p = NULL, *old = NULL;
    int64_t now = time_mono_ns();
    uint64_t gen;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&ps->mu);
    gen = ps->gen;
    if (ps->slot[i] && strcmp(ps->slot[i]->tenant_id, tenant_id) == 0 &&
        now - ps->slot[i]->loaded_ns < m->cache.ttl_ns) {
        p = ps->slot[i];
        atomic_fetch_add(&p->refs, 1);
    }
    pthread_mutex_unlock(&ps->mu);
    if (p) {
        *out = p;
        return 0;
    }
    if ((rc = policy_load(m, tenant_id, &p, e)))
        return rc;
    pthread_mutex_lock(&ps->mu);
    if (ps->gen == gen) { /* else a change raced the load: serve it once, cache nothing */
        old = ps->slot[i];
        ps->slot[i] = p;
        atomic_fetch_add(&p->refs, 1); /* the slot's */
    }
    pthread_mutex_unlock(&ps->mu);
    messaging__policy_release(old);
    *out = p;
    return 0;
}

/* ------------------------------------------------------------ keywords */

int messaging_keywords_json(struct messaging *m, const char *tenant_id, struct buf *b, struct err *e)
{
    const struct messaging__policy *p = NULL;
    struct compliance_keywords def;
    struct buf lists = {0};
    int rc;

    if ((rc = messaging__policy_get(m, tenant_id, &p, e)))
        return rc;
    compliance_keywords_default(&def);
    buf_putc(b, '{');
    for (int i = 0; compliance_channels[i] && i < MESSAGING__CHANNELS; i++) {
        if (i)
            buf_putc(b, ',');
        buf_json_str(b, compliance_channels[i]);
        buf_puts(b, ":{\"default\":");
        buf_puts(b, p->has_kw[i] ? "false," : "true,");
        /* The lists' members continue this object. */
        compliance_keywords_json(&lists, p->has_kw[i] ? &p->kw[i] : &def);
        buf_append(b, lists.data + 1, lists.len - 1);
        buf_reset(&lists);
    }
    buf_putc(b, '}');
    buf_free(&lists);
    messaging__policy_release(p);
    return 0;
}

int messaging_keywords_check(const char *channel, const char *json, struct err *e)
{
    struct compliance_keywords kw;

    if (channel_index(channel) < 0)
        return err_set(e, ERR_INVALID, "invalid_channel", "unknown channel '%.32s'", channel ? channel : "");
    if (json && strlen(json) > 4096)
        return err_set(e, ERR_INVALID, "invalid_keywords", "the keyword lists are too long");
    return json ? compliance_keywords_parse(&kw, json, e) : 0;
}

int messaging_keywords_set(struct messaging *m, const char *tenant_id, const char *channel, const char *json,
                           const char *actor_type, const char *actor_id, const char *ip, struct err *e)
{
    struct store_tenant t;
    char name[48];
    struct buf canon = {0}, details = {0};
    struct compliance_keywords kw;
    int rc;

    if ((rc = messaging_keywords_check(channel, json, e)))
        return rc;
    if ((rc = store_tenant_get(m->db, tenant_id, &t, e)))
        return rc;
    snprintf(name, sizeof(name), KW_PREFIX "%s", channel);
    if (json) {
        compliance_keywords_parse(&kw, json, e);
        compliance_keywords_json(&canon, &kw); /* stored upper-cased, kinds complete */
        rc = store_setting_put(m->db, tenant_id, name, canon.data, time_now_ms(), e);
    } else {
        rc = store_setting_delete(m->db, tenant_id, name, e);
    }
    messaging__policy_forget(m, tenant_id);
    if (rc == 0) {
        buf_puts(&details, "{\"channel\":");
        buf_json_str(&details, channel);
        buf_puts(&details, json ? ",\"reset\":false}" : ",\"reset\":true}");
        rc = ops_audit(m->db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                       "compliance.keywords.update", channel, ip ? ip : "", details.data, e);
    }
    buf_free(&canon);
    buf_free(&details);
    return rc;
}
