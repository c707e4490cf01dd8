/*
 * auth: tenants, users and their roles, API keys, dashboard sessions, the
 * role matrix and the login throttle.
 *
 * Every change that matters (login, API key create/revoke, role change, user
 * removal) is written to the audit log through ops. Secrets handled here
 * (passwords, API keys, session tokens) are never stored or logged in clear:
 * passwords as argon2id, keys and tokens as SHA-256 (they carry >= 192 random
 * bits, so a slow hash buys nothing and would cost every request).
 */
#ifndef SB_AUTH_H
#define SB_AUTH_H

#include <stdio.h>

#include "core/core.h"
#include "store/store.h"

/* ---------------------------------------------------------- role matrix */

/* One row per action: which roles may perform it. The whole authorisation
 * policy is this table (docs/permissions.md is generated from it). */
struct auth_rule {
    const char *action;   /* "apikeys.create" */
    const char *roles;    /* space-separated: "owner admin" */
    const char *doc;
};
extern const struct auth_rule auth_matrix[]; /* NULL-terminated */

/* 1 when role may perform action; 0 otherwise (unknown action or role: 0). */
int auth_allowed(const char *action, const char *role);
/* 1 for owner | admin | agent | viewer. */
int auth_role_valid(const char *role);
void auth_write_permissions_doc(FILE *f);

/* ------------------------------------------------------------ principal */

enum auth_kind { AUTH_NONE = 0, AUTH_APIKEY, AUTH_SESSION };

/* Who is calling, resolved once per request. */
struct auth_principal {
    enum auth_kind kind;
    char tenant_id[CORE_ID_MAX];
    char role[16];
    char user_id[CORE_ID_MAX];   /* sessions */
    char key_id[CORE_ID_MAX];    /* API keys */
    char email[256];             /* sessions */
    char csrf_token[64];         /* sessions: required on unsafe methods */
    char session_hash[65];       /* sessions */
};

/* "user"/"apikey" and the id, for audit rows. */
const char *auth_actor_type(const struct auth_principal *p);
const char *auth_actor_id(const struct auth_principal *p);

struct auth;

int auth_new(struct auth **out, struct store *db, const struct config *cfg, struct err *e);
void auth_free(struct auth *a);

/* Resolve "Authorization: Bearer <key>". ERR_UNAUTHORIZED for unknown or
 * revoked keys. Updates last_used_at at most once a minute per key. */
int auth_apikey_authenticate(struct auth *a, const char *key, struct auth_principal *out, struct err *e);
/* Resolve the session cookie value. ERR_UNAUTHORIZED when unknown or expired. */
int auth_session_authenticate(struct auth *a, const char *token, struct auth_principal *out, struct err *e);

/* ------------------------------------------------------ login, sessions */

#define AUTH_TOKEN_MAX 64

struct auth_login {
    char token[AUTH_TOKEN_MAX];  /* the cookie value: shown once, stored hashed */
    char csrf_token[64];
    int64_t expires_at;
    struct auth_principal principal;
};

/* Check email and password (argon2id) and open a session. tenant_id may be
 * NULL when the user belongs to exactly one tenant (else ERR_INVALID
 * "tenant_required"). Throttled per client ip and email: after
 * login_max_failures failures within login_window_s, ERR_RATELIMIT with
 * *retry_after_s set, checked before the password. Failures and successes are
 * audited (failures only when the email belongs to a tenant). */
int auth_login(struct auth *a, const char *email, const char *password, const char *tenant_id,
               const char *ip, struct auth_login *out, int *retry_after_s, struct err *e);
int auth_logout(struct auth *a, const struct auth_principal *p, const char *ip, struct err *e);

/* ------------------------------------------------- tenants, users, keys */

/* actor may be NULL for the CLI ("system" in the audit log). */
int auth_tenant_create(struct auth *a, const char *name, struct store_tenant *out, struct err *e);
/* ERR_INVALID for a bad email, role or a password under 8 characters;
 * ERR_CONFLICT when already a member. */
int auth_user_create(struct auth *a, const char *tenant_id, const char *email, const char *name,
                     const char *role, const char *password, const struct auth_principal *actor,
                     const char *ip, struct store_member *out, struct err *e);
/* Role change; refuses (ERR_CONFLICT "last_owner") to leave a tenant with no
 * owner, and (ERR_FORBIDDEN) a non-owner granting or changing owner. Ends the
 * user's sessions in that tenant. */
int auth_user_set_role(struct auth *a, const char *tenant_id, const char *user_id, const char *role,
                       const struct auth_principal *actor, const char *ip, struct err *e);
int auth_user_remove(struct auth *a, const char *tenant_id, const char *user_id,
                     const struct auth_principal *actor, const char *ip, struct err *e);
/* tenant_id's users (memberships), oldest first. cb runs once per row while
 * a store connection is held: it must not call the store unless the pool has
 * >= 2 connections; the row is borrowed for the call, and a non-zero return
 * stops the walk and is returned. ERR_INVALID without a tenant id. */
int auth_user_list(struct auth *a, const char *tenant_id, store_member_cb cb, void *ud, struct err *e);
/* One user of tenant_id into *out (caller-owned). ERR_NOTFOUND when user_id is
 * not a member of that tenant; ERR_INVALID without a tenant or user id. */
int auth_user_get(struct auth *a, const char *tenant_id, const char *user_id, struct store_member *out,
                  struct err *e);

/* Append the public JSON object of a tenant member (never the password hash):
 * id, email, name, role, created_at. The API and the CLI both print users so. */
void auth_member_json(struct buf *b, const struct store_member *m);

/* Append the public JSON object of a key (never its hash): id, tenant_id, name,
 * role, prefix, created_by, created_at, last_used_at, revoked_at (RFC 3339 or
 * null). When key is not NULL it is added as "key" (shown once, at creation).
 * The API and the CLI both print keys this way. */
void auth_apikey_json(struct buf *b, const struct store_apikey *k, const char *key);

#define AUTH_APIKEY_MAX 64
/* Create a key scoped to tenant_id and role; key_out receives the key
 * ("sb_live_…"), which is never retrievable again. An actor cannot mint a key
 * with a role above its own (ERR_FORBIDDEN). */
int auth_apikey_create(struct auth *a, const char *tenant_id, const char *role, const char *name,
                       const struct auth_principal *actor, const char *ip, struct store_apikey *out,
                       char key_out[AUTH_APIKEY_MAX], struct err *e);
int auth_apikey_revoke(struct auth *a, const char *tenant_id, const char *key_id,
                       const struct auth_principal *actor, const char *ip, struct err *e);
/* tenant_id's API keys (revoked ones included), oldest first; never the key
 * or its hash. Same callback contract as auth_user_list. ERR_INVALID without
 * a tenant id. */
int auth_apikey_list(struct auth *a, const char *tenant_id, store_apikey_cb cb, void *ud, struct err *e);

#endif
