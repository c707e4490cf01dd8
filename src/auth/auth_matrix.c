/*
 * auth_matrix: the role matrix, i.e. the whole authorisation policy as one
 * data table (action -> roles), and the docs/permissions.md it generates.
 *
 * Roles rank owner > admin > agent > viewer. The HTTP middleware asks
 * auth_allowed(action, principal role) before a route runs; the rank rules
 * for granting roles live in auth.c next to the changes they guard.
 */
#include <string.h>

#include "auth/auth.h"

const struct auth_rule auth_matrix[] = {
    {"me.read", "owner admin agent viewer", "Read the caller's own identity, tenant and role."},
    {"apikeys.list", "owner admin", "List the tenant's API keys (prefixes only, never the keys)."},
    {"apikeys.create", "owner admin", "Create an API key (with a role no higher than the caller's)."},
    {"apikeys.revoke", "owner admin", "Revoke an API key."},
    {"users.list", "owner admin agent viewer", "List the tenant's users and their roles."},
    {"users.create", "owner admin", "Add a user to the tenant (with a role no higher than the caller's)."},
    {"users.update", "owner admin", "Change a user's role (only owners grant or change owner)."},
    {"users.delete", "owner admin", "Remove a user from the tenant (never the last owner)."},
    {"audit.read", "owner admin", "Read the tenant's audit log."},
    {"events.subscribe", "owner admin agent viewer", "Subscribe to the tenant's realtime events (WebSocket)."},
    {"secrets.write", "owner admin", "Store channel credentials and other secrets (encrypted at rest)."},
    {"jobs.read", "owner admin", "List the tenant's dead-letter jobs (failed after their last attempt)."},
    {"jobs.retry", "owner admin", "Put a dead-letter job back in the queue."},
    {"jobs.discard", "owner admin", "Delete a dead-letter job."},
    {"conversations.read", "owner admin agent viewer", "List and read conversations and their messages."},
    {"conversations.update", "owner admin agent",
     "Change a conversation's status (open, pending, resolved) and assignee, and mark it read."},
    {"messages.send", "owner admin agent",
     "Send a message (text, media or an approved template) to a contact or an address; compliance decides first."},
    {"contacts.read", "owner admin agent viewer",
     "List, search and read contacts: identities with opt-out and suppression standing, engagement, reachability."},
    {"contacts.create", "owner admin agent", "Create a contact with its identities (phone, e-mail, …)."},
    {"contacts.update", "owner admin agent", "Rename a contact and add or remove its identities (audited)."},
    {"contacts.merge", "owner admin agent",
     "Merge a contact (an unknown sender) into another: identities, conversations and messages move (audited)."},
    {"channels.list", "owner admin agent viewer",
     "List the tenant's channel accounts with their webhook URLs (never their credentials)."},
    {"channels.create", "owner admin", "Add a channel account with its provider credentials (sealed at rest)."},
    {"channels.delete", "owner admin", "Remove a channel account; its credentials are deleted."},
    {"channels.test", "owner admin",
     "Check a channel account's credentials with its provider (a read-only call; audited)."},
    {"templates.list", "owner admin agent viewer",
     "List and read message templates, their versions and decisions, and preview them with variables."},
    {"templates.sync", "owner admin", "Fetch a channel account's message templates from the provider."},
    {"templates.create", "owner admin agent", "Create a message template (a draft)."},
    {"templates.update", "owner admin agent",
     "Edit a template: a draft in place; an approved or rejected one becomes a new draft version."},
    {"templates.submit", "owner admin agent", "Submit a template's draft version for approval."},
    {"templates.approve", "owner admin",
     "Approve or reject a submitted template version (WhatsApp: approval also submits it to Meta)."},
    {"kb.read", "owner admin agent viewer",
     "List and read the knowledge base's documents and search it (ranked passages)."},
    {"kb.write", "owner admin",
     "Create, change, enable or disable and delete knowledge base documents, and import them in bulk (audited)."},
    {"assistant.read", "owner admin agent viewer",
     "Read the assistant's configuration and its versions, the draft queue and the assistant analytics."},
    {"assistant.config", "owner admin",
     "Change the assistant's configuration, its provider and key, or roll it back to an earlier version (audited)."},
    {"assistant.drafts", "owner admin agent",
     "Approve (as is or edited) or reject the assistant's drafts, and pause or resume the assistant in a conversation."},
    {"settings.read", "owner admin agent viewer", "Read the tenant's messaging settings (e.g. the HELP reply)."},
    {"settings.update", "owner admin", "Change the tenant's messaging settings."},
    {"security.read", "owner admin", "Read the tenant's security events (refused webhooks, replays)."},
    {"monitoring.read", "owner admin agent viewer",
     "Read the tenant's traffic summary: messages by channel and status, failure reasons, callback latency, jobs."},
    {"compliance.read", "owner admin agent viewer",
     "Read the opt-out keywords per channel and the review queue of replies that look like an opt-out."},
    {"compliance.update", "owner admin", "Change the opt-out keywords of a channel (or go back to the carriers')."},
    {"compliance.review", "owner admin agent",
     "Resolve a review item: opt the sender out (as a STOP would) or dismiss it."},
    {"suppressions.read", "owner admin agent viewer", "List the tenant's suppression list."},
    {"suppressions.create", "owner admin agent", "Add an address to the tenant's suppression list (audited)."},
    {"suppressions.delete", "owner admin", "Remove an address from the tenant's suppression list (audited)."},
    {"suppressions.import", "owner admin", "Import addresses into the tenant's suppression list (CSV or JSON lines)."},
    {NULL, NULL, NULL},
};

static const char *const auth_roles[] = {"owner", "admin", "agent", "viewer"};

int auth_role_valid(const char *role)
{
    if (!role)
        return 0;
    for (size_t i = 0; i < sizeof(auth_roles) / sizeof(auth_roles[0]); i++)
        if (strcmp(role, auth_roles[i]) == 0)
            return 1;
    return 0;
}

/* 1 when the space-separated list contains word exactly. */
static int list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if ((size_t)(end - p) == n && memcmp(p, word, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

int auth_allowed(const char *action, const char *role)
{
    if (!action || !role || !auth_role_valid(role))
        return 0;
    for (const struct auth_rule *r = auth_matrix; r->action; r++)
        if (strcmp(r->action, action) == 0)
            return list_has(r->roles, role);
    return 0;
}

void auth_write_permissions_doc(FILE *f)
{
    fputs("# Permissions\n\n"
          "Generated from `auth_matrix` in `src/auth/` by `switchboard gen-docs`; do not edit by hand.\n\n"
          "| action | owner | admin | agent | viewer | description |\n"
          "|---|:-:|:-:|:-:|:-:|---|\n",
          f);
    for (const struct auth_rule *r = auth_matrix; r->action; r++) {
        fprintf(f, "| `%s` |", r->action);
        for (size_t i = 0; i < sizeof(auth_roles) / sizeof(auth_roles[0]); i++)
            fputs(list_has(r->roles, auth_roles[i]) ? " ✓ |" : "  |", f);
        fprintf(f, " %s |\n", r->doc);
    }
    fputs("\nRoles rank owner > admin > agent > viewer. An actor cannot grant a role above its own, "
          "and only an owner can create or change owners (a tenant never loses its last owner). "
          "API keys carry one role, fixed when the key is created.\n",
          f);
}
