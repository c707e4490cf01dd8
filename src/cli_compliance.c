/*
 * cli_compliance: `switchboard suppress add|remove|list`, the operator's
 * hand on the suppression lists: the global list (--global: every tenant's
 * outbound is checked against it, and no tenant API can touch it) or one
 * tenant's (--tenant ID); and `switchboard suppress link`, which prints a
 * recipient's signed unsubscribe link (for support, or mail sent by other
 * systems).
 */
#include "cli.h"
#include "cli_int.h"

#include <string.h>

#include "compliance/compliance.h"
#include "crm/crm.h"

struct suppress_list {
    struct buf *b;
    int n, json;
};

static int suppress_row(void *ud, const struct store_suppression *s)
{
    struct suppress_list *l = ud;
    if (l->json) {
        if (l->n)
            buf_putc(l->b, ',');
        compliance_suppression_json(l->b, s);
    } else {
        buf_printf(l->b, "%s\t%s\t%s\t%s\n", s->channel, s->address, s->source, s->reason);
    }
    l->n++;
    return 0;
}

int cli__cmd_suppress(const struct cli_args *a)
{
    int add, remove, list, link, global = cli__flag(a, "global") != NULL, json = cli__flag(a, "json") != NULL, rc;
    const char *tenant = cli__flag(a, "tenant"), *channel = cli__flag(a, "channel"), *raw = cli__flag(a, "address");
    char addr[STORE_ADDRESS_MAX] = "";
    struct cli_ctx c;
    struct err e = {0};
    struct buf b = {0};
    struct store_tenant t;

    if (!a->sub)
        return cli__usage();
    add = strcmp(a->sub, "add") == 0;
    remove = strcmp(a->sub, "remove") == 0;
    list = strcmp(a->sub, "list") == 0;
    link = strcmp(a->sub, "link") == 0;
    if (!add && !remove && !list && !link)
        return cli__usage();
    if (link && (global || !tenant)) {
        fputs("switchboard: an unsubscribe link is for one tenant: give --tenant ID\n", stderr);
        return CLI_USAGE;
    }
    if (global == (tenant != NULL)) {
        fputs("switchboard: give exactly one of --global and --tenant ID\n", stderr);
        return CLI_USAGE;
    }
    if (!list && (!channel || !raw)) {
        fputs("switchboard: --channel (sms, whatsapp, email, …, or * for every channel) and --address are required\n",
              stderr);
        return CLI_USAGE;
    }
    if (channel && !compliance_channel_valid(channel, 1)) {
        fprintf(stderr, "switchboard: unknown channel '%s'\n", channel);
        return CLI_USAGE;
    }
    if (raw) {
        const char *kind = !channel || strcmp(channel, "*") == 0 ? (strchr(raw, '@') ? "email" : "phone")
                                                                 : crm_identity_kind(channel);
        if (crm_normalize_address(kind, raw, addr, sizeof(addr), &e) != 0)
            return cli__fail(&e);
    }
    if ((rc = cli__ctx_open(&c, a, link ? CTX_DB | CTX_KEYS : CTX_DB)) != 0)
        return rc;
    if (tenant && store_tenant_get(c.db, tenant, &t, &e) != 0) {
        rc = cli__fail(&e);
        goto out;
    }
    if (!tenant)
        tenant = "";
    if (link) {
        if (!c.cfg.public_url || !*c.cfg.public_url) {
            fputs("switchboard: SB_PUBLIC_URL is not set: a link needs the server's public address\n", stderr);
            rc = CLI_CONFIG;
            goto out;
        }
        if (compliance_unsubscribe_url(c.keys, c.cfg.public_url, tenant, channel, addr, time_now_ms(), &b, &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        buf_putc(&b, '\n');
    } else if (add) {
        struct store_suppression s;
        if (compliance_suppression_add(c.db, tenant, channel, addr, "manual", cli__flag(a, "reason"), "system", "",
                                       "cli", &s, &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        if (json) {
            compliance_suppression_json(&b, &s);
            buf_putc(&b, '\n');
        } else {
            buf_printf(&b, "suppressed %s on %s (%s list)\n", addr, channel, global ? "global" : "tenant");
        }
    } else if (remove) {
        if (compliance_suppression_remove(c.db, tenant, channel, addr, "system", "", "cli", &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        buf_printf(&b, "removed %s on %s\n", addr, channel);
    } else {
        struct suppress_list l = {&b, 0, json};
        if (json)
            buf_puts(&b, "{\"data\":[");
        if (compliance_suppression_list(c.db, tenant, channel, addr[0] ? addr : NULL, cli__flag(a, "source"), 0, NULL,
                                        NULL, 10000, suppress_row, &l, &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        if (json)
            buf_puts(&b, "]}\n");
    }
    if (b.len)
        fputs(b.data, stdout);
out:
    buf_free(&b);
    cli__ctx_close(&c);
    return rc;
}
