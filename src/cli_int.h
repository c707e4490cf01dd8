/*
 * cli internals shared by the files of the switchboard command (never
 * included elsewhere): the parsed command line, the context a command opens
 * (configuration, store, key ring, auth, messaging) and the helpers the
 * command files share. cli.c parses and dispatches and holds the small
 * commands; cli_run.c the long-running ones (serve, worker); cli_channel.c
 * the channel accounts.
 */
#ifndef SB_CLI_INT_H
#define SB_CLI_INT_H

#include <stddef.h>

#include "auth/auth.h"
#include "core/core.h"
#include "messaging/messaging.h"
#include "ops/ops.h"
#include "store/store.h"

#define CLI_MAX_FLAGS 64

/* Parsed "--name value" pairs, in order, repeated ones kept (--set);
 * boolean flags get the value "1". */
struct cli_args {
    const char *cmd;
    const char *sub;
    int nflags;
    const char *name[CLI_MAX_FLAGS];
    const char *value[CLI_MAX_FLAGS];
};

/* Rows being printed by a list command: as JSON array members or text lines. */
struct cli_list {
    struct buf *b;
    int n;
    int json;
};

/* Print the usage on stderr; returns CLI_USAGE. */
int cli__usage(void);
/* The value of --name (repeated flags: the first), or NULL. */
const char *cli__flag(const struct cli_args *a, const char *name);
/* Print e on stderr as "switchboard: <message> (<slug>)"; returns its exit code. */
int cli__fail(const struct err *e);
/* Stderr and CLI_USAGE for each of names (NULL-terminated) not given. */
int cli__require(const struct cli_args *a, const char *const *names);
/* All of stdin (at most max bytes) with one trailing newline stripped;
 * malloc'd, NULL when longer. */
char *cli__read_stdin(size_t max);

/* Everything a command may need, opened in order and closed in reverse. */
struct cli_ctx {
    struct config cfg;
    struct store *db;
    struct ops_keyring *keys;
    struct auth *auth;
    struct messaging *msg;
};

enum { CTX_DB = 1, CTX_KEYS = 2, CTX_AUTH = 4, CTX_MSG = 8 };

/* Load the configuration and open what `what` asks for (CTX_*): the store
 * (migrations must be current), the key ring, auth, messaging. Returns an
 * exit code; on failure nothing stays open. */
int cli__ctx_open(struct cli_ctx *c, const struct cli_args *a, int what);
void cli__ctx_close(struct cli_ctx *c);
/* Open the store the configuration names (creating the data directory). */
int cli__store_open(struct store **out, const struct config *cfg);
/* Apply pending migrations; an exit code. */
int cli__migrate_store(struct store *db);
/* Append the production problems of cfg and the database; returns how many. */
int cli__production_problems(const struct config *cfg, struct store *db, struct buf *problems);

/* Commands in their own files. */
int cli__cmd_serve(const struct cli_args *a);   /* cli_run.c */
int cli__cmd_worker(const struct cli_args *a);  /* cli_run.c */
int cli__cmd_channel(const struct cli_args *a); /* cli_channel.c */
int cli__cmd_suppress(const struct cli_args *a); /* cli_compliance.c */

#endif
