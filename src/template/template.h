/*
 * template: message templates for every channel, their variables and
 * rendering, and the approval workflow.
 *
 * A template is (tenant, channel, name, language), plus the channel
 * account for WhatsApp (Meta keeps templates per business account). Its
 * content lives in numbered versions; each version goes draft -> pending
 * (submitted by/at) -> approved | rejected (decided by/at, reason). The
 * rule for sending is one sentence: a template is sendable while its
 * current version is approved, and on WhatsApp while Meta's status is
 * approved too. Editing a draft (or a pending version, which withdraws it)
 * changes it in place; editing an approved or rejected version makes a new
 * draft version, which becomes the current one, so an edited template
 * cannot be sent until the edit is approved. Who may submit and who may
 * decide is the role matrix's business (auth_matrix.c); every workflow
 * step is written to the audit log here, after it committed.
 *
 * Placeholders are {{name}} ([A-Za-z_][A-Za-z0-9_]*, at most 64) and
 * {{n}} (1-99), spaces inside the braces allowed; any other "{{" is
 * refused when the template is written, so rendering never meets one it
 * cannot read. WhatsApp bodies use positional ones only, numbered from 1
 * without gaps (Meta's rule).
 *
 * Functions taking a store are thread-safe. Errors: ERR_INVALID with a
 * slug (invalid_template, missing_variable, …), ERR_NOTFOUND,
 * ERR_CONFLICT ("template_exists", "template_changed", "invalid_state"),
 * store errors.
 */
#ifndef SB_TEMPLATE_H
#define SB_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "store/store.h"

/* --------------------------------------------------------- rendering */

#define TEMPLATE_VAR_MAX 64   /* longest variable name */
#define TEMPLATE_VARS_MAX 100 /* most distinct variables in one template */

struct template_var {
    const char *name;             /* "first_name" or "1" */
    const char *value;
};

/* 0 when every "{{" in text opens a valid placeholder; else ERR_INVALID
 * "invalid_template" naming the byte offset. text NULL is fine. */
int template_check(const char *text, struct err *e);
/* Append to names (a JSON array being written, "[" already there) each
 * placeholder name of text not in seen (a "\n"-joined list the function
 * extends), in order. *n counts the names appended so far (the comma
 * rule); ERR_INVALID like template_check, or "too_many_variables". */
int template_collect(const char *text, struct buf *names, struct buf *seen, int *n, struct err *e);
/* Render text with vars: each placeholder becomes its variable's value,
 * HTML-escaped when html is set (e-mail's HTML part). ERR_INVALID
 * "missing_variable" naming the first placeholder without a value (or with
 * a NULL one), or "invalid_template". */
int template_render(const char *text, const struct template_var *vars, size_t n, int html, struct buf *out,
                    struct err *e);
/* Append s with & < > " ' as entities. */
void template_html_escape(struct buf *out, const char *s);

/* ---------------------------------------------------------- workflow */

/* Who acts: for the audit log and the decision trail. */
struct template_actor {
    const char *type;             /* user | apikey | system */
    const char *id;               /* user or key id; "" for system */
    const char *ip;               /* "" when none */
};

/* A template's fields as given (create) or the ones to change (edit: NULL
 * = unchanged; "" clears an optional part). */
struct template_input {
    const char *channel;          /* create: sms | whatsapp | email | telegram | instagram | webchat */
    const char *account_id;       /* create: WhatsApp: required (its business account); else optional */
    const char *name;             /* create: [a-z0-9_], 1-512 characters */
    const char *language;         /* create: e.g. en, en_US, pt_BR */
    const char *category;         /* WhatsApp: MARKETING | UTILITY | AUTHENTICATION (default UTILITY) */
    const char *body;             /* required at creation */
    const char *header;           /* text header (not e-mail) */
    const char *footer;           /* (not e-mail) */
    const char *buttons;          /* JSON array (WhatsApp, Telegram, Instagram, website chat) */
    const char *subject;          /* e-mail: required */
    const char *html;             /* e-mail: optional HTML part */
};

/* Create a template whose version 1 is a draft. ERR_INVALID (slug
 * invalid_template and what is wrong), ERR_NOTFOUND "account_not_found",
 * ERR_CONFLICT "template_exists". out (may be NULL) receives the row. */
int template_create(struct store *db, const char *tenant_id, const struct template_input *in,
                    const struct template_actor *who, struct store_template *out, struct err *e);
/* Change the content (and category) as the header comment says. Templates
 * synced from Meta are edited at Meta (ERR_INVALID "provider_template"). */
int template_edit(struct store *db, const char *tenant_id, const char *id, const struct template_input *in,
                  const struct template_actor *who, struct store_template *out, struct err *e);
/* draft -> pending. ERR_CONFLICT "invalid_state" from any other status. */
int template_submit(struct store *db, const char *tenant_id, const char *id, const struct template_actor *who,
                    struct store_template *out, struct err *e);
/* pending -> approved | rejected (reason may be NULL for approve; required
 * to reject). ERR_CONFLICT "invalid_state" when not pending. */
int template_approve(struct store *db, const char *tenant_id, const char *id, const struct template_actor *who,
                     struct store_template *out, struct err *e);
int template_reject(struct store *db, const char *tenant_id, const char *id, const char *reason,
                    const struct template_actor *who, struct store_template *out, struct err *e);
/* Record Meta's status for the template (after a submission, a status
 * webhook or a failed submission: status "submit_failed" with reason) and
 * audit it as "template.provider_status" by the system. */
int template_provider_status(struct store *db, const char *tenant_id, const char *id, const char *status,
                             const char *provider_id, const char *reason, struct err *e);
/* Only the audit row of a provider status already stored (the status
 * webhook stores it inside its batch's transaction). */
int template_provider_audit(struct store *db, const char *tenant_id, const char *id, const char *status,
                            const char *reason, struct err *e);

/* Reads (the store's, for callers above the store): one template with
 * (v not NULL; caller clears it) its current version, ERR_NOTFOUND; the
 * tenant's templates (channel, account_id filter when not NULL/""); a
 * template's versions, newest first (ERR_NOTFOUND for an unknown id). */
int template_get(struct store *db, const char *tenant_id, const char *id, struct store_template *out,
                 struct store_template_version *v, struct err *e);
int template_list(struct store *db, const char *tenant_id, const char *channel, const char *account_id,
                  store_template_cb cb, void *ud, struct err *e);
int template_versions(struct store *db, const char *tenant_id, const char *id, store_template_version_cb cb,
                      void *ud, struct err *e);

/* 1 when t may be sent (the rule above). */
int template_sendable(const struct store_template *t);
/* Why not, for the send gate: "approved" when sendable, else the workflow
 * status ("draft", "pending", "rejected") or Meta's ("pending at Meta",
 * "paused at Meta", …, "not submitted to Meta"), copied into out. */
void template_send_status(const struct store_template *t, char *out, size_t outlen);

/* A version rendered for sending: text (header, body and footer joined by
 * blank lines), and for e-mail subject and html (NULL data when none). */
struct template_rendered {
    struct buf text, subject, html;
};
void template_rendered_free(struct template_rendered *r);
/* Render v (a version of t) with vars. Errors of template_render. */
int template_render_version(const struct store_template *t, const struct store_template_version *v,
                            const struct template_var *vars, size_t n, struct template_rendered *out,
                            struct err *e);

/* The template object the API and CLI print: the row with its current
 * version's content ({id, channel, account_id, name, language, category,
 * status, version, sendable, provider{status, id, reason}, is_default,
 * source, body, header, footer, buttons, subject, html, variables,
 * created_at, updated_at}). */
void template_json(struct buf *b, const struct store_template *t, const struct store_template_version *v);
/* One version with its decision trail. */
void template_version_json(struct buf *b, const struct store_template_version *v);

/* ------------------------------------------------------ default e-mail */

/* The tenant's default e-mail template (approved, with {{unsubscribe_link}}
 * in the text and the HTML part), created unless it has one:
 * *out_created (may be NULL) says whether this call did. Idempotent and
 * safe to run concurrently. */
int template_seed_default(struct store *db, const char *tenant_id, int *out_created, struct err *e);
/* The same for every tenant that has none (startup); *out_n (may be NULL)
 * = how many were created. */
int template_seed_defaults(struct store *db, int *out_n, struct err *e);

#endif
