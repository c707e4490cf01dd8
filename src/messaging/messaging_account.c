/*
 * messaging_account: creating, listing, removing and printing channel
 * accounts (the snapshots the hot paths read are in messaging_cache.c).
 *
 * Invariants: an account row exists exactly when its sealed credentials do
 * (one transaction writes or removes both, so `switchboard keys rotate`
 * re-encrypts them like any other secret); validation errors name the
 * setting at fault, never its value; audit details never carry credentials.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "messaging/messaging_int.h"

#define SETTING_VALUE_MAX 1024

void messaging__secret_name(char out[64], const char *account_id)
{
    snprintf(out, 64, "channel/%s", account_id);
}

void messaging__account_from_store(struct messaging_account *a, const struct store_account *sa)
{
    memset(a, 0, sizeof(*a));
    memcpy(a->id, sa->id, sizeof(a->id));
    memcpy(a->tenant_id, sa->tenant_id, sizeof(a->tenant_id));
    memcpy(a->provider, sa->provider, sizeof(a->provider));
    memcpy(a->channel, sa->channel, sizeof(a->channel));
    memcpy(a->name, sa->name, sizeof(a->name));
    memcpy(a->account_key, sa->account_key, sizeof(a->account_key));
    memcpy(a->address, sa->address, sizeof(a->address));
    a->created_at = sa->created_at;
    a->removed_at = sa->removed_at;
}

/* ----------------------------------------------------------- validation */

/* What a provider's accounts take: required names, alternatives (one of
 * the pair at least) and optional names. */
struct provider_def {
    const char *provider;
    const char *channel;
    const char *const *required;
    const char *alt[2];            /* at least one of these; NULLs = none */
    const char *const *optional;
};

static const char *const twilio_required[] = {"account_sid", "auth_token", NULL};
static const char *const twilio_optional[] = {NULL};
static const char *const wa_required[] = {"phone_number_id", "access_token", "app_secret", "verify_token", NULL};
static const char *const wa_optional[] = {"waba_id", NULL};
static const char *const tg_required[] = {"bot_token", NULL};
static const char *const tg_optional[] = {"secret_token", NULL};
static const char *const webchat_required[] = {"allowed_origins", NULL};
static const char *const webchat_optional[] = {"greeting", "color", "title", NULL};
static const char *const ig_required[] = {"ig_user_id", "access_token", "app_secret", "verify_token", NULL};
static const char *const ig_optional[] = {NULL};

static const char *const smtp_required[] = {"host", "from_email", NULL};
static const char *const smtp_optional[] = {"port", "username", "password", "tls", "from_name", "ca_file", NULL};
static const char *const sg_required[] = {"api_key", "from_email", NULL};
static const char *const sg_optional[] = {"from_name", "event_public_key", "inbound_secret", NULL};

static const struct provider_def providers[] = {
    {"twilio", "sms", twilio_required, {"from", "messaging_service_sid"}, twilio_optional},
    {"whatsapp", "whatsapp", wa_required, {NULL, NULL}, wa_optional},
    {"telegram", "telegram", tg_required, {NULL, NULL}, tg_optional},
    {"webchat", "webchat", webchat_required, {NULL, NULL}, webchat_optional},
    {"instagram", "instagram", ig_required, {NULL, NULL}, ig_optional},
    {"smtp", "email", smtp_required, {NULL, NULL}, smtp_optional},
    {"sendgrid", "email", sg_required, {NULL, NULL}, sg_optional},
};

static const char *kv_get(const struct channel_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].name && strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

static int in_list(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/* prefix followed by exactly n hex digits. */
static int prefixed_hex(const char *s, const char *prefix, size_t n)
{
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + n)
        return 0;
    for (s += pl; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return 0;
    return 1;
}

static int e164(const char *s)
{
    size_t n = 0;
    if (s[0] != '+' || s[1] < '1' || s[1] > '9')
        return 0;
    for (s++; *s; s++, n++)
        if (*s < '0' || *s > '9')
            return 0;
    return n >= 7 && n <= 15;
}

static int digits(const char *s, size_t max)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (*s < '0' || *s > '9')
            return 0;
    return n >= 1 && n <= max;
}

static int invalid(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 when s is min..max characters of A-Z a-z 0-9 _ - (Telegram's token alphabet). */
static int url_safe(const char *s, size_t min, size_t max)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-'))
            return 0;
    return n >= min && n <= max;
}

static int telegram_validate(const struct channel_kv *kv, size_t n, char address[128], struct err *e);

static int invalid(struct err *e, const char *fmt, ...)
{
    char msg[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(e, ERR_INVALID, "invalid_channel_settings", "%s", msg);
}

/* A host name or IP literal: letters, digits, '.', '-', ':' (IPv6). */
static int host_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '-' || *s == ':'))
            return 0;
    return 1;
}

static int loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strncmp(host, "127.", 4) == 0;
}

/* SMTP: host, port, tls = starttls (default) | implicit | none (loopback
 * only: nothing else may see credentials and mail in clear), username and
 * password together, from_email a plain address whose domain fits a
 * Message-ID, ca_file an absolute path. The sender address is from_email. */
static int validate_smtp(const struct channel_kv *kv, size_t n, char address[128], struct err *e)
{
    const char *host = kv_get(kv, n, "host"), *port = kv_get(kv, n, "port"), *tls = kv_get(kv, n, "tls");
    const char *user = kv_get(kv, n, "username"), *pass = kv_get(kv, n, "password");
    const char *from = kv_get(kv, n, "from_email"), *ca = kv_get(kv, n, "ca_file"), *at;
    char norm[CRM_ADDRESS_MAX];
    struct err ae = {0};

    if (!host_ok(host))
        return invalid(e, "host must be a host name or IP address");
    if (port && (!digits(port, 5) || atoi(port) < 1 || atoi(port) > 65535))
        return invalid(e, "port must be a number from 1 to 65535");
    if (tls && strcmp(tls, "starttls") != 0 && strcmp(tls, "implicit") != 0 && strcmp(tls, "none") != 0)
        return invalid(e, "tls must be starttls, implicit or none");
    if (tls && strcmp(tls, "none") == 0 && !loopback(host))
        return invalid(e, "tls none is only allowed for a server on this machine (localhost, 127.0.0.1, ::1)");
    if (!!user != !!pass)
        return invalid(e, "username and password go together");
    if (crm_normalize_address("email", from, norm, sizeof(norm), &ae) != 0 || strlen(norm) >= 128 ||
        !(at = strchr(norm, '@')) || strlen(at + 1) > 90 || strpbrk(norm, "<>()[],;:\"\\ "))
        return invalid(e, "from_email must be a plain e-mail address (domain at most 90 characters)");
    if (ca && ca[0] != '/')
        return invalid(e, "ca_file must be an absolute path to a PEM file");
    memcpy(address, norm, strlen(norm) + 1); /* < 128, checked above */
    return 0;
}

/* SendGrid: from_email is the account's address (normalised); the event
 * verification key must be base64 of a DER public key of a plausible size;
 * an inbound secret must be long enough not to be guessed. */
static int validate_sendgrid(const struct channel_kv *kv, size_t n, char address[128], struct err *e)
{
    const char *from = kv_get(kv, n, "from_email"), *key = kv_get(kv, n, "event_public_key");
    const char *secret = kv_get(kv, n, "inbound_secret");
    unsigned char der[512];
    struct err ignored = {0};
    int kl;

    if (crm_normalize_address("email", from, address, 128, &ignored) != 0)
        return invalid(e, "from_email must be an e-mail address");
    if (key && ((kl = crypto_unbase64(der, sizeof(der), key, strlen(key))) < 60 || der[0] != 0x30))
        return invalid(e, "event_public_key must be the base64 DER public key SendGrid shows");
    if (secret && strlen(secret) < 16)
        return invalid(e, "inbound_secret must be at least 16 characters");
    return 0;
}

/* Check provider and settings; fills def and the sender address. */
static int validate(const char *provider, const struct channel_kv *kv, size_t n, const struct provider_def **out,
                    char address[128], struct err *e)
{
    const struct provider_def *d = NULL;
    struct buf missing = {0};
    int rc = 0;

    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (provider && strcmp(provider, providers[i].provider) == 0)
            d = &providers[i];
    if (!d)
        return invalid(e, "unknown provider '%.32s' (twilio, whatsapp, telegram, instagram, smtp, sendgrid or webchat)",
                       provider ? provider : "");
    for (size_t i = 0; i < n; i++) {
        const char *name = kv[i].name, *v = kv[i].value;
        if (!name || !*name)
            return invalid(e, "a setting has no name");
        if (!in_list(d->required, name) && !in_list(d->optional, name) &&
            !(d->alt[0] && (strcmp(name, d->alt[0]) == 0 || strcmp(name, d->alt[1]) == 0)))
            return invalid(e, "unknown setting '%.64s' for %s", name, d->provider);
        for (size_t j = 0; j < i; j++)
            if (strcmp(kv[j].name, name) == 0)
                return invalid(e, "setting %.64s is given twice", name);
        if (!v || !*v)
            return invalid(e, "setting %.64s is empty", name);
        if (strlen(v) > SETTING_VALUE_MAX)
            return invalid(e, "setting %.64s is longer than %d bytes", name, SETTING_VALUE_MAX);
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return invalid(e, "setting %.64s contains a control character", name);
    }
    for (const char *const *r = d->required; *r; r++)
        if (!kv_get(kv, n, *r))
            buf_printf(&missing, "%s%s", missing.len ? ", " : "", *r);
    if (d->alt[0] && !kv_get(kv, n, d->alt[0]) && !kv_get(kv, n, d->alt[1]))
        buf_printf(&missing, "%s%s or %s", missing.len ? ", " : "", d->alt[0], d->alt[1]);
    if (missing.len) {
        rc = invalid(e, "%s needs %s", d->provider, missing.data);
        goto out;
    }
    if (strcmp(d->provider, "twilio") == 0) {
        const char *sid = kv_get(kv, n, "account_sid"), *from = kv_get(kv, n, "from"),
                   *svc = kv_get(kv, n, "messaging_service_sid");
        if (!prefixed_hex(sid, "AC", 32))
            rc = invalid(e, "account_sid must be AC followed by 32 hex digits");
        else if (from && !e164(from))
            rc = invalid(e, "from must be an E.164 number (+ then 7 to 15 digits)");
        else if (svc && !prefixed_hex(svc, "MG", 32))
            rc = invalid(e, "messaging_service_sid must be MG followed by 32 hex digits");
        if (rc)
            goto out;
        snprintf(address, 128, "%s", from ? from : svc);
    } else if (strcmp(d->provider, "telegram") == 0) {
        if ((rc = telegram_validate(kv, n, address, e)))
            goto out;
    } else if (strcmp(d->provider, "webchat") == 0) {
        char why[160];
        if (messaging__webchat_settings_check(kv, n, why, sizeof(why)) != 0)
            rc = invalid(e, "%s", why);
        if (rc)
            goto out;
        snprintf(address, 128, "widget");
    } else if (strcmp(d->provider, "instagram") == 0) {
        const char *igid = kv_get(kv, n, "ig_user_id");
        if (!digits(igid, 32)) {
            rc = invalid(e, "ig_user_id must be the numeric Instagram professional account id Meta shows");
            goto out;
        }
        snprintf(address, 128, "%s", igid);
    } else if (strcmp(d->provider, "smtp") == 0) {
        if ((rc = validate_smtp(kv, n, address, e)))
            goto out;
    } else if (strcmp(d->provider, "sendgrid") == 0) {
        if ((rc = validate_sendgrid(kv, n, address, e)))
            goto out;
    } else {
        const char *pnid = kv_get(kv, n, "phone_number_id"), *waba = kv_get(kv, n, "waba_id");
        if (!digits(pnid, 32))
            rc = invalid(e, "phone_number_id must be the numeric id Meta shows");
        else if (waba && !digits(waba, 32))
            rc = invalid(e, "waba_id must be the numeric WhatsApp Business Account id");
        if (rc)
            goto out;
        snprintf(address, 128, "%s", pnid);
    }
    *out = d;
out:
    buf_free(&missing);
    return rc;
}

/* bot_token is "<bot id>:<secret>" as @BotFather prints it; secret_token,
 * when given, is what Telegram allows in its header: 1-256 characters of
 * A-Z a-z 0-9 _ -. Until getMe names the bot, its address is the bot id. */
static int telegram_validate(const struct channel_kv *kv, size_t n, char address[128], struct err *e)
{
    const char *tok = kv_get(kv, n, "bot_token"), *secret = kv_get(kv, n, "secret_token");
    const char *colon = strchr(tok, ':');
    char id[40];
    if (!colon || colon == tok || (size_t)(colon - tok) >= sizeof(id) || !url_safe(colon + 1, 1, 256))
        return invalid(e, "bot_token must be the token @BotFather gives: <bot id>:<secret>");
    memcpy(id, tok, (size_t)(colon - tok));
    id[colon - tok] = '\0';
    if (!digits(id, 20))
        return invalid(e, "bot_token must be the token @BotFather gives: <bot id>:<secret>");
    if (secret && !url_safe(secret, 1, 256))
        return invalid(e, "secret_token must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -");
    snprintf(address, 128, "%s", id);
    return 0;
}

static int valid_name(const char *name)
{
    if (strlen(name) >= sizeof(((struct messaging_account *)0)->name))
        return 0;
    for (; *name; name++)
        if ((unsigned char)*name < 0x20 || *name == 0x7f)
            return 0;
    return 1;
}

/* ------------------------------------------------------- create, remove */

static void account_to_store(struct store_account *sa, const struct messaging_account *a)
{
    memset(sa, 0, sizeof(*sa));
    memcpy(sa->id, a->id, sizeof(sa->id));
    memcpy(sa->tenant_id, a->tenant_id, sizeof(sa->tenant_id));
    memcpy(sa->provider, a->provider, sizeof(sa->provider));
    memcpy(sa->channel, a->channel, sizeof(sa->channel));
    memcpy(sa->name, a->name, sizeof(sa->name));
    memcpy(sa->account_key, a->account_key, sizeof(sa->account_key));
    memcpy(sa->address, a->address, sizeof(sa->address));
    sa->created_at = a->created_at;
    sa->removed_at = a->removed_at;
}

/* {"provider":…,"channel":…,"name":…,"address":…}: what the audit row keeps. */
static char *audit_details(const struct messaging_account *a)
{
    struct buf b = {0};
    buf_puts(&b, "{\"provider\":");
    buf_json_str(&b, a->provider);
    buf_puts(&b, ",\"channel\":");
    buf_json_str(&b, a->channel);
    buf_puts(&b, ",\"name\":");
    buf_json_str(&b, a->name);
    buf_puts(&b, ",\"address\":");
    buf_json_str(&b, a->address);
    buf_putc(&b, '}');
    return buf_steal(&b);
}

/* Write the row and its sealed credentials in one transaction. */
static int account_store(struct messaging *m, const struct messaging_account *a, const char *creds, struct err *e)
{
    struct store_tx tx = {0};
    struct store_account sa;
    char secret[64];
    int rc;

    account_to_store(&sa, a);
    messaging__secret_name(secret, a->id);
    if ((rc = store_tx_begin(m->db, &tx, e)))
        return rc;
    if ((rc = store_account_insert(&tx, a->tenant_id, &sa, e)) ||
        (rc = ops_secret_put_tx(m->keys, &tx, a->tenant_id, secret, creds, strlen(creds), e)) ||
        (rc = store_tx_commit(&tx, e)))
        store_tx_rollback(&tx);
    return rc;
}

static int account_unstore(struct messaging *m, const char *tenant_id, const char *account_id, struct err *e)
{
    struct store_tx tx = {0};
    char secret[64];
    int rc;

    messaging__secret_name(secret, account_id);
    if ((rc = store_tx_begin(m->db, &tx, e)))
        return rc;
    if ((rc = store_account_remove(&tx, tenant_id, account_id, time_now_ms(), e)) ||
        (rc = store_secret_delete_tx(&tx, tenant_id, secret, e)) || (rc = store_tx_commit(&tx, e)))
        store_tx_rollback(&tx);
    if (rc == 0)
        messaging__cache_forget(&m->cache, account_id);
    return rc;
}

/* Settings with the ones the account generates added (Telegram: a random
 * secret_token when none was given), in kv (room for n + 1). */
static size_t complete_settings(const struct provider_def *d, const struct channel_kv *settings, size_t n,
                                struct channel_kv *kv, char *secret, size_t secretlen)
{
    memcpy(kv, settings, n * sizeof(*kv));
    if (strcmp(d->provider, "telegram") == 0 && !kv_get(settings, n, "secret_token")) {
        crypto_random_token(secret, secretlen, 32);
        kv[n].name = "secret_token";
        kv[n].value = secret;
        n++;
    }
    return n;
}

/* Connect the account at the provider before it is stored (Telegram:
 * getMe names the bot, setWebhook points it at our URL): a refusal leaves
 * nothing behind. */
static int account_register(struct messaging *m, struct messaging_account *a, const struct channel_kv *kv, size_t n,
                            struct err *e)
{
    const struct channel_adapter *ad = channel_find(a->provider);
    struct channel_creds cr = {kv, n};
    struct buf url = {0};
    int rc;

    if (!ad || !ad->register_webhook)
        return 0;
    messaging_account_webhook_url(m, a, &url);
    rc = ad->register_webhook(&m->env, &cr, url.data, a->address, sizeof(a->address), e);
    buf_free(&url);
    return rc;
}

int messaging_account_create(struct messaging *m, const char *tenant_id, const char *provider, const char *name,
                             const struct channel_kv *settings_in, size_t nsettings_in, const char *actor_type,
                             const char *actor_id, const char *ip, struct messaging_account *out,
                             struct messaging_sync_report *sync, struct err *e)
{
    const struct provider_def *d = NULL;
    struct messaging_account a;
    struct channel_kv *settings = NULL;
    size_t nsettings = 0;
    char *creds = NULL, *details = NULL, secret[64] = "";
    cJSON *obj = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    if (sync)
        memset(sync, 0, sizeof(*sync));
    if (!tenant_id || !*tenant_id || strlen(tenant_id) >= sizeof(a.tenant_id)) {
        rc = err_set(e, ERR_INVALID, NULL, "tenant is required");
        goto out;
    }
    if ((rc = validate(provider, settings_in, nsettings_in, &d, a.address, e)))
        goto out;
    if (!(settings = calloc(nsettings_in + 1, sizeof(*settings)))) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    nsettings = complete_settings(d, settings_in, nsettings_in, settings, secret, sizeof(secret));
    if (name && !valid_name(name)) {
        rc = err_set(e, ERR_INVALID, "invalid_name", "name must be at most %zu bytes without control characters",
                     sizeof(a.name) - 1);
        goto out;
    }
    crypto_random_id(a.id, sizeof(a.id), "cha");
    memcpy(a.tenant_id, tenant_id, strlen(tenant_id) + 1);
    snprintf(a.provider, sizeof(a.provider), "%s", d->provider);
    snprintf(a.channel, sizeof(a.channel), "%s", d->channel);
    snprintf(a.name, sizeof(a.name), "%s", name ? name : "");
    crypto_random_token(a.account_key, sizeof(a.account_key), 24);
    a.created_at = time_now_ms();
    if ((rc = account_register(m, &a, settings, nsettings, e)))
        goto out;
    obj = cJSON_CreateObject();
    for (size_t i = 0; obj && i < nsettings; i++)
        if (!cJSON_AddStringToObject(obj, settings[i].name, settings[i].value)) {
            cJSON_Delete(obj);
            obj = NULL;
        }
    if (obj && strcmp(a.provider, "sendgrid") == 0) {
        /* Inbound Parse is unsigned: its URL carries this secret. */
        char inbound_secret[48];
        const char *given = kv_get(settings, nsettings, "inbound_secret");
        if (!given)
            crypto_random_token(inbound_secret, sizeof(inbound_secret), 24);
        if (!given && !cJSON_AddStringToObject(obj, "inbound_secret", inbound_secret)) {
            cJSON_Delete(obj);
            obj = NULL;
        }
        if (sync)
            snprintf(sync->inbound_secret, sizeof(sync->inbound_secret), "%s", given ? given : inbound_secret);
        sodium_memzero(inbound_secret, sizeof(inbound_secret));
    }
    creds = obj ? cJSON_PrintUnformatted(obj) : NULL;
    if (!creds) {
        rc = err_set(e, ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = account_store(m, &a, creds, e)))
        goto out;
    details = audit_details(&a);
    if ((rc = ops_audit(m->db, a.tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                        "channel.create", a.id, ip ? ip : "", details, e))) {
        /* An unaudited account must not take traffic. */
        struct err re = {0};
        struct log_ctx ctx = {NULL, NULL, a.tenant_id};
        log_error(&ctx, "audit write failed for channel.create: %s", e ? e->msg : "");
        account_unstore(m, a.tenant_id, a.id, &re);
        goto out;
    }
    if (out)
        *out = a;
    if (sync && strcmp(a.provider, "whatsapp") == 0 && kv_get(settings, nsettings, "waba_id")) {
        sync->attempted = 1;
        sync->rc = messaging_template_sync(m, a.tenant_id, a.id, &sync->count, &sync->err);
        if (sync->rc) {
            struct log_ctx ctx = {NULL, NULL, a.tenant_id};
            log_warn(&ctx, "templates of %s not synced: %s", a.id, sync->err.msg);
        }
    }
out:
    if (obj) {
        const cJSON *it;
        cJSON_ArrayForEach(it, obj) {
            if (cJSON_IsString(it) && it->valuestring)
                sodium_memzero(it->valuestring, strlen(it->valuestring));
        }
        cJSON_Delete(obj);
    }
    if (creds) {
        sodium_memzero(creds, strlen(creds));
        cJSON_free(creds);
    }
    sodium_memzero(secret, sizeof(secret));
    free(settings);
    free(details);
    return rc;
}

int messaging_account_remove(struct messaging *m, const char *tenant_id, const char *account_id,
                             const char *actor_type, const char *actor_id, const char *ip, struct err *e)
{
    int rc;
    if (!tenant_id || !*tenant_id || !account_id || !*account_id)
        return err_set(e, ERR_INVALID, NULL, "tenant and account are required");
    if ((rc = account_unstore(m, tenant_id, account_id, e)))
        return rc;
    return ops_audit(m->db, tenant_id, actor_type ? actor_type : "system", actor_id ? actor_id : "",
                     "channel.remove", account_id, ip ? ip : "", NULL, e);
}

/* ------------------------------------------------------------ list, json */

struct list_iter {
    messaging_account_cb cb;
    void *ud;
};

static int list_row(void *ud, const struct store_account *sa)
{
    struct list_iter *it = ud;
    struct messaging_account a;
    messaging__account_from_store(&a, sa);
    return it->cb(it->ud, &a);
}

int messaging_account_list(struct messaging *m, const char *tenant_id, messaging_account_cb cb, void *ud,
                           struct err *e)
{
    struct list_iter it = {cb, ud};
    return store_account_list(m->db, tenant_id, list_row, &it, e);
}

void messaging_account_webhook_url(struct messaging *m, const struct messaging_account *a, struct buf *b)
{
    buf_printf(b, "%s/webhooks/%s/%s", m->public_url, a->provider, a->account_key);
}

void messaging_account_json(struct messaging *m, struct buf *b, const struct messaging_account *a,
                            const struct messaging_sync_report *sync)
{
    struct buf url = {0};
    messaging_account_webhook_url(m, a, &url);
    buf_puts(b, "{\"id\":");
    buf_json_str(b, a->id);
    buf_puts(b, ",\"provider\":");
    buf_json_str(b, a->provider);
    buf_puts(b, ",\"channel\":");
    buf_json_str(b, a->channel);
    buf_puts(b, ",\"name\":");
    buf_json_str(b, a->name);
    buf_puts(b, ",\"account_key\":");
    buf_json_str(b, a->account_key);
    buf_puts(b, ",\"address\":");
    buf_json_str(b, a->address);
    buf_puts(b, ",\"created_at\":");
    buf_json_time(b, a->created_at);
    buf_puts(b, ",\"webhook_urls\":");
    if (strcmp(a->provider, "telegram") == 0) {
        /* Registered with setWebhook when the account was created. */
        buf_puts(b, "{\"callback\":");
        buf_json_str(b, url.data);
        buf_puts(b, ",\"secret_token_set\":true,\"registered\":true}");
    } else if (strcmp(a->provider, "twilio") == 0) {
        /* One endpoint takes both: the sender sets StatusCallback to it. */
        buf_puts(b, "{\"inbound\":");
        buf_json_str(b, url.data);
        buf_puts(b, ",\"status_callback\":");
        buf_json_str(b, url.data);
        buf_putc(b, '}');
    } else if (strcmp(a->provider, "webchat") == 0) {
        /* No webhooks: the widget talks to the widget API with the account key as its token. */
        buf_puts(b, "{\"widget_api\":");
        buf_reset(&url);
        buf_printf(&url, "%s/widget/v1", m->public_url);
        buf_json_str(b, url.data);
        buf_putc(b, '}');
    } else if (strcmp(a->provider, "smtp") == 0) {
        buf_puts(b, "{}"); /* nothing to paste anywhere: SMTP has no webhooks */
    } else if (strcmp(a->provider, "sendgrid") == 0) {
        /* Both posts come to one URL. The Inbound Parse secret shows in the
         * creation answer only; listings say that it is set. */
        buf_puts(b, "{\"event_webhook\":");
        buf_json_str(b, url.data);
        buf_puts(b, ",\"inbound_parse\":");
        if (sync && sync->inbound_secret[0]) {
            buf_puts(&url, "?secret=");
            buf_puts(&url, sync->inbound_secret);
        }
        buf_json_str(b, url.data);
        buf_puts(b, ",\"inbound_secret_set\":true}");
    } else {
        /* The verify token is a secret: say only that it is set. */
        buf_puts(b, "{\"callback\":");
        buf_json_str(b, url.data);
        buf_puts(b, ",\"verify_token_set\":true}");
    }
    if (sync && sync->attempted) {
        buf_printf(b, ",\"templates\":{\"synced\":%d", sync->rc ? 0 : sync->count);
        if (sync->rc) {
            char msg[320];
            snprintf(msg, sizeof(msg), "templates not synced: %s (%s)", sync->err.msg, err_slug(&sync->err));
            buf_puts(b, ",\"warning\":");
            buf_json_str(b, msg);
        }
        buf_putc(b, '}');
    }
    buf_putc(b, '}');
    buf_free(&url);
}
