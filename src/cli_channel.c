/*
 * cli_channel: `switchboard channel add|list|remove|templates`: a tenant's
 * channel accounts from the command line. Settings come from repeated
 * --set key=value or, keeping secrets out of the process list, from
 * --set-stdin lines; output is the account JSON (--json) or text with the
 * webhook URLs to paste at the provider.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_int.h"

/* Channel settings from --set KEY=VALUE flags and, with --set-stdin, from
 * KEY=VALUE lines on standard input (blank lines and # comments skipped).
 * Values may contain '='; they are credentials, so they are wiped when
 * freed and never echoed in messages. */
struct cli_settings {
    struct channel_kv kv[CLI_MAX_FLAGS + 64];
    char *own[CLI_MAX_FLAGS + 64];   /* the "KEY\0VALUE" copies */
    size_t n;
};

static void cli_settings_free(struct cli_settings *st)
{
    for (size_t i = 0; i < st->n; i++) {
        explicit_bzero(st->own[i], strlen(st->own[i]) + 1 + strlen(st->kv[i].value));
        free(st->own[i]);
    }
    st->n = 0;
}

/* Split one "KEY=VALUE"; what names where it came from in messages. */
static int cli_settings_add(struct cli_settings *st, const char *pair, size_t len, const char *what)
{
    const char *eq = memchr(pair, '=', len);
    if (!eq || eq == pair) {
        fprintf(stderr, "switchboard: %s: expected KEY=VALUE\n", what);
        return CLI_USAGE;
    }
    if (st->n == sizeof(st->kv) / sizeof(st->kv[0])) {
        fprintf(stderr, "switchboard: too many settings\n");
        return CLI_USAGE;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        fprintf(stderr, "switchboard: out of memory\n");
        return CLI_FAIL;
    }
    memcpy(copy, pair, len);
    copy[len] = '\0';
    copy[eq - pair] = '\0';
    st->own[st->n] = copy;
    st->kv[st->n].name = copy;
    st->kv[st->n].value = copy + (eq - pair) + 1;
    st->n++;
    return 0;
}

static int cli_settings_read(struct cli_settings *st, const struct cli_args *a)
{
    int rc = 0;
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < a->nflags && rc == 0; i++)
        if (strcmp(a->name[i], "set") == 0)
            rc = cli_settings_add(st, a->value[i], strlen(a->value[i]), "--set");
    if (rc == 0 && cli__flag(a, "set-stdin")) {
        char *in = cli__read_stdin(64 * 1024);
        if (!in) {
            fprintf(stderr, "switchboard: settings on standard input are too long (64 KiB at most)\n");
            rc = CLI_USAGE;
        }
        int lineno = 0;
        for (char *line = in; rc == 0 && line && *line;) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            lineno++;
            if (len && line[len - 1] == '\r')
                len--;
            size_t lead = 0;
            while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
                lead++;
            if (lead < len && line[lead] != '#') {
                char what[48];
                snprintf(what, sizeof(what), "standard input line %d", lineno);
                rc = cli_settings_add(st, line + lead, len - lead, what);
            }
            line = nl ? nl + 1 : NULL;
        }
        if (in) {
            explicit_bzero(in, strlen(in));
            free(in);
        }
    }
    if (rc == 0 && st->n == 0) {
        fprintf(stderr, "switchboard: channel add needs the provider's settings: --set KEY=VALUE (repeated) or "
                        "--set-stdin\n");
        rc = CLI_USAGE;
    }
    if (rc)
        cli_settings_free(st);
    return rc;
}


struct cli_channel_list {
    struct messaging *msg;
    struct buf *b;
    int n;
    int json;
};

static int cli_channel_row(void *ud, const struct messaging_account *acct)
{
    struct cli_channel_list *l = ud;
    if (l->json) {
        if (l->n)
            buf_putc(l->b, ',');
        messaging_account_json(l->msg, l->b, acct, NULL);
    } else {
        buf_printf(l->b, "%s\t%s\t%s\t%s\t%s\t", acct->id, acct->provider, acct->channel, acct->address, acct->name);
        messaging_account_webhook_url(l->msg, acct, l->b);
        buf_putc(l->b, '\n');
    }
    l->n++;
    return 0;
}

static int cli_template_row(void *ud, const struct store_template *t, const struct store_template_version *v)
{
    struct cli_list *l = ud;
    if (l->json) {
        if (l->n)
            buf_putc(l->b, ',');
        messaging_template_json(l->b, t, v);
    } else {
        buf_printf(l->b, "%s\t%s\t%s\t%s\n", t->name, t->language,
                   t->provider_status[0] ? t->provider_status : t->status, t->category);
    }
    l->n++;
    return 0;
}

static int cli_channel_add(struct cli_ctx *c, const struct cli_args *a, struct cli_settings *st, struct buf *b)
{
    struct err e = {0};
    struct messaging_account acct;
    struct messaging_sync_report sync;
    if (messaging_account_create(c->msg, cli__flag(a, "tenant"), cli__flag(a, "provider"), cli__flag(a, "name"), st->kv,
                                 st->n, "system", "", "cli", &acct, &sync, &e) != 0)
        return cli__fail(&e);
    if (sync.attempted && sync.rc)
        fprintf(stderr, "switchboard: warning: the account was added but its templates were not synced: %s (%s); "
                        "retry with `switchboard channel templates --sync`\n",
                sync.err.msg, err_slug(&sync.err));
    if (cli__flag(a, "json")) {
        messaging_account_json(c->msg, b, &acct, &sync);
        buf_putc(b, '\n');
        return 0;
    }
    buf_printf(b, "%s\naccount key: %s\n", acct.id, acct.account_key);
    if (strcmp(acct.provider, "twilio") == 0) {
        buf_puts(b, "webhook URL (Twilio: messaging webhook and status callback): ");
        messaging_account_webhook_url(c->msg, &acct, b);
        buf_putc(b, '\n');
    } else if (strcmp(acct.provider, "telegram") == 0) {
        buf_printf(b, "bot: %s\nwebhook registered with Telegram (setWebhook, secret token set): ", acct.address);
        messaging_account_webhook_url(c->msg, &acct, b);
        buf_putc(b, '\n');
    } else if (strcmp(acct.provider, "webchat") == 0) {
        buf_printf(b, "widget token (X-Widget-Token): %s\n", acct.account_key);
    } else if (strcmp(acct.provider, "smtp") == 0) {
        buf_printf(b, "sends e-mail as %s; no webhook to set up\n", acct.address);
    } else {
        buf_puts(b, "callback URL (Meta: WhatsApp webhook, with your verify token): ");
        messaging_account_webhook_url(c->msg, &acct, b);
        buf_putc(b, '\n');
    }
    if (sync.attempted && sync.rc == 0)
        buf_printf(b, "templates: %d synced\n", sync.count);
    return 0;
}

int cli__cmd_channel(const struct cli_args *a)
{
    if (!a->sub)
        return cli__usage();
    int add = strcmp(a->sub, "add") == 0, list = strcmp(a->sub, "list") == 0,
        remove = strcmp(a->sub, "remove") == 0, templates = strcmp(a->sub, "templates") == 0;
    if (!add && !list && !remove && !templates)
        return cli__usage();
    static const char *const req_add[] = {"tenant", "provider", NULL};
    static const char *const req_list[] = {"tenant", NULL};
    static const char *const req_id[] = {"tenant", "id", NULL};
    if (cli__require(a, add ? req_add : list ? req_list : req_id))
        return CLI_USAGE;
    struct cli_settings st;
    int rc = 0;
    if (add && (rc = cli_settings_read(&st, a)) != 0)
        return rc;
    struct cli_ctx c;
    if ((rc = cli__ctx_open(&c, a, CTX_MSG)) != 0) {
        if (add)
            cli_settings_free(&st);
        return rc;
    }
    struct err e = {0};
    struct buf b = {0};
    struct store_tenant t;
    const char *tenant = cli__flag(a, "tenant"), *id = cli__flag(a, "id");
    int json = cli__flag(a, "json") != NULL;
    if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
        rc = cli__fail(&e);
    } else if (add) {
        rc = cli_channel_add(&c, a, &st, &b);
    } else if (list) {
        struct cli_channel_list l = {.msg = c.msg, .b = &b, .json = json};
        if (json)
            buf_puts(&b, "{\"data\":[");
        if (messaging_account_list(c.msg, tenant, cli_channel_row, &l, &e) != 0)
            rc = cli__fail(&e);
        if (json)
            buf_puts(&b, "]}\n");
    } else if (remove) {
        if (messaging_account_remove(c.msg, tenant, id, "system", "", "cli", &e) != 0)
            rc = cli__fail(&e);
        else
            buf_printf(&b, "removed %s\n", id);
    } else {
        int synced = -1;
        struct cli_list l = {.b = &b, .json = json};
        if (cli__flag(a, "sync") && messaging_template_sync(c.msg, tenant, id, &synced, &e) != 0) {
            rc = cli__fail(&e);
        } else {
            if (json) {
                buf_puts(&b, "{");
                if (synced >= 0)
                    buf_printf(&b, "\"synced\":%d,", synced);
                buf_puts(&b, "\"data\":[");
            } else if (synced >= 0) {
                buf_printf(&b, "synced %d template(s)\n", synced);
            }
            if (messaging_template_list(c.msg, tenant, id, cli_template_row, &l, &e) != 0)
                rc = cli__fail(&e);
            if (json)
                buf_puts(&b, "]}\n");
        }
    }
    if (rc == 0 && b.len)
        fputs(b.data, stdout);
    buf_free(&b);
    if (add)
        cli_settings_free(&st);
    cli__ctx_close(&c);
    return rc;
}

