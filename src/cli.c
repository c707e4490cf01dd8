/*
 * The switchboard CLI: parses `switchboard <command> [subcommand] [--flag value …]`,
 * loads the configuration (environment, .env, then flags), opens the store and
 * calls the domain modules. Every command is scriptable: results on stdout
 * (JSON with --json), errors as one line on stderr, exit codes from cli.h.
 * Nothing here holds SQL or business rules; it only wires modules together.
 */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "core/core.h"
#include "http/http.h"
#include "messaging/messaging.h"
#include "ops/ops.h"
#include "queue/queue.h"
#include "store/store.h"
#include "webhook/webhook.h"

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

/* Flags that take no value. */
static int cli_is_bool_flag(const char *name)
{
    return strcmp(name, "json") == 0 || strcmp(name, "password-stdin") == 0 ||
           strcmp(name, "value-stdin") == 0 || strcmp(name, "help") == 0 || strcmp(name, "set-stdin") == 0 ||
           strcmp(name, "sync") == 0;
}

static const char *cli_flag(const struct cli_args *a, const char *name)
{
    for (int i = 0; i < a->nflags; i++)
        if (strcmp(a->name[i], name) == 0)
            return a->value[i];
    return NULL;
}

static int cli_usage(void)
{
    fputs("usage: switchboard <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve [--listen HOST:PORT] [--data DIR]   run the HTTP server and SB_WORKERS job workers\n"
          "  worker [--data DIR]                       run job workers only (no HTTP server)\n"
          "  migrate                                   apply pending database migrations\n"
          "  seed-demo                                 create the demo tenant and owner (idempotent, development only)\n"
          "  doctor                                    print the effective configuration and check production safety\n"
          "  tenant create --name NAME [--json]\n"
          "  user create --tenant ID --email E --role ROLE --password-stdin [--name N] [--json]\n"
          "  apikey create --tenant ID --role ROLE [--name N] [--json]\n"
          "  apikey list --tenant ID [--json]\n"
          "  apikey revoke --tenant ID --id KEY_ID\n"
          "  channel add --tenant ID --provider twilio|whatsapp [--name N] (--set KEY=VALUE ... | --set-stdin) [--json]\n"
          "  channel list --tenant ID [--json]\n"
          "  channel remove --tenant ID --id ACCOUNT_ID\n"
          "  channel templates --tenant ID --id ACCOUNT_ID [--sync] [--json]\n"
          "  secret set --tenant ID --name NAME --value-stdin\n"
          "  secret get --tenant ID --name NAME\n"
          "  keys rotate                               add a key to the key ring and re-encrypt every secret\n"
          "  audit verify                              check every tenant's audit hash chain\n"
          "  gen-docs [--out DIR]                      write configuration.md and permissions.md (default docs/)\n"
          "  routes                                    list the HTTP routes\n"
          "  version\n"
          "\n"
          "every command accepts --data DIR (SB_DATA_DIR) and honours SB_DATABASE_URL;\n"
          "--env-file FILE reads another .env file (default ./.env).\n"
          "exit codes: 0 ok, 1 failure, 2 usage, 3 refused configuration, 4 not found, 5 conflict, 6 tampered\n",
          stderr);
    return CLI_USAGE;
}

static int cli_parse(struct cli_args *out, int argc, char **argv)
{
    memset(out, 0, sizeof(*out));
    int i = 1;
    if (i < argc && argv[i][0] != '-')
        out->cmd = argv[i++];
    if (i < argc && argv[i][0] != '-')
        out->sub = argv[i++];
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "switchboard: unexpected argument '%s'\n", arg);
            return CLI_USAGE;
        }
        if (out->nflags == CLI_MAX_FLAGS) {
            fprintf(stderr, "switchboard: too many options\n");
            return CLI_USAGE;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        const char *value;
        if (eq) {
            /* --name=value: keep the name NUL-terminated by copying it into argv's storage. */
            ((char *)eq)[0] = '\0';
            value = eq + 1;
        } else if (cli_is_bool_flag(name)) {
            value = "1";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "switchboard: option --%s needs a value\n", name);
            return CLI_USAGE;
        }
        out->name[out->nflags] = name;
        out->value[out->nflags] = value;
        out->nflags++;
    }
    return 0;
}

/* Exit code for a module error. */
static int cli_exit_for(const struct err *e)
{
    switch (e->code) {
    case ERR_INVALID: return CLI_USAGE;
    case ERR_NOTFOUND: return CLI_NOTFOUND;
    case ERR_CONFLICT: return CLI_CONFLICT;
    default: return CLI_FAIL;
    }
}

static int cli_fail(const struct err *e)
{
    fprintf(stderr, "switchboard: %s (%s)\n", e->msg, err_slug(e));
    return cli_exit_for(e);
}

/* Load config (env, .env) and apply --data / --listen flags. */
static int cli_config(struct config *cfg, const struct cli_args *a)
{
    struct err e = {0};
    const char *env_file = cli_flag(a, "env-file");
    if (config_load(cfg, env_file, &e) != 0) {
        fprintf(stderr, "switchboard: configuration: %s\n", e.msg);
        return CLI_CONFIG;
    }
    static const struct { const char *flag, *var; } map[] = {
        {"data", "SB_DATA_DIR"},
        {"listen", "SB_LISTEN"},
        {"database-url", "SB_DATABASE_URL"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const char *v = cli_flag(a, map[i].flag);
        if (v && config_set(cfg, map[i].var, v, &e) != 0) {
            fprintf(stderr, "switchboard: --%s: %s\n", map[i].flag, e.msg);
            config_free(cfg);
            return CLI_USAGE;
        }
    }
    enum log_level level = LOG_INFO;
    if (log_parse_level(cfg->log_level, &level) != 0) {
        fprintf(stderr, "switchboard: SB_LOG_LEVEL: unknown level '%s'\n", cfg->log_level);
        config_free(cfg);
        return CLI_CONFIG;
    }
    FILE *logf = NULL;
    if (cfg->log_file[0]) {
        logf = fopen(cfg->log_file, "a");
        if (!logf) {
            fprintf(stderr, "switchboard: SB_LOG_FILE %s: %s\n", cfg->log_file, strerror(errno));
            config_free(cfg);
            return CLI_CONFIG;
        }
    }
    log_init(level, logf);
    return 0;
}

static int cli_mkdirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int cli_threads(const struct config *cfg)
{
    if (cfg->threads > 0)
        return (int)cfg->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int cli_store_open(struct store **out, const struct config *cfg)
{
    struct err e = {0};
    char path[4096] = "";
    struct store_options opt = {0};
    opt.database_url = cfg->database_url;
    if (!cfg->database_url[0]) {
        if (cli_mkdirs(cfg->data_dir) != 0) {
            fprintf(stderr, "switchboard: cannot create data directory %s: %s\n", cfg->data_dir, strerror(errno));
            return CLI_FAIL;
        }
        snprintf(path, sizeof(path), "%s/switchboard.db", cfg->data_dir);
        opt.sqlite_path = path;
    }
    opt.pool_size = cfg->db_pool_size > 0 ? (int)cfg->db_pool_size : cli_threads(cfg) + (int)cfg->workers + 4;
    opt.busy_timeout_ms = (int)cfg->db_busy_timeout_ms;
    if (store_open(out, &opt, &e) != 0) {
        fprintf(stderr, "switchboard: database: %s\n", e.msg);
        return CLI_FAIL;
    }
    return 0;
}

static int cli_migrate_store(struct store *db)
{
    struct err e = {0};
    struct store_migration_info info = {0};
    if (store_migrate(db, &info, &e) != 0)
        return cli_fail(&e);
    return 0;
}

/* Everything a command may need, opened in order and closed in reverse. */
struct cli_ctx {
    struct config cfg;
    struct store *db;
    struct ops_keyring *keys;
    struct auth *auth;
    struct messaging *msg;
};

enum { CTX_DB = 1, CTX_KEYS = 2, CTX_AUTH = 4, CTX_MSG = 8 };

static void cli_ctx_close(struct cli_ctx *c)
{
    messaging_free(c->msg);
    auth_free(c->auth);
    ops_keyring_free(c->keys);
    store_close(c->db);
    config_free(&c->cfg);
}

static int cli_ctx_open(struct cli_ctx *c, const struct cli_args *a, int what)
{
    memset(c, 0, sizeof(*c));
    int rc = cli_config(&c->cfg, a);
    if (rc != 0)
        return rc;
    if (what & CTX_MSG)
        what |= CTX_KEYS;
    if (!(what & (CTX_DB | CTX_KEYS | CTX_AUTH)))
        return 0;
    rc = cli_store_open(&c->db, &c->cfg);
    if (rc != 0)
        goto fail;
    struct err e = {0};
    struct store_migration_info info = {0};
    if (store_migration_status(c->db, &info, &e) != 0) {
        rc = cli_fail(&e);
        goto fail;
    }
    if (info.pending > 0) {
        fprintf(stderr, "switchboard: the database has %d pending migration(s); run `switchboard migrate` first\n",
                info.pending);
        rc = CLI_FAIL;
        goto fail;
    }
    if (what & CTX_KEYS) {
        uint8_t master[CRYPTO_KEY_BYTES];
        if (config_master_key(&c->cfg, master, &e) != 0 || ops_keyring_open(&c->keys, c->db, master, &e) != 0) {
            rc = cli_fail(&e);
            goto fail;
        }
    }
    if ((what & CTX_AUTH) && auth_new(&c->auth, c->db, &c->cfg, &e) != 0) {
        rc = cli_fail(&e);
        goto fail;
    }
    if (what & CTX_MSG) {
        struct messaging_options mo = {.cfg = &c->cfg, .db = c->db, .keys = c->keys};
        if (messaging_new(&c->msg, &mo, &e) != 0) {
            rc = cli_fail(&e);
            goto fail;
        }
    }
    return 0;
fail:
    cli_ctx_close(c);
    return rc;
}

static int cli_require(const struct cli_args *a, const char *const *names)
{
    int rc = 0;
    for (; *names; names++) {
        if (!cli_flag(a, *names)) {
            fprintf(stderr, "switchboard: %s %s needs --%s\n", a->cmd, a->sub ? a->sub : "", *names);
            rc = CLI_USAGE;
        }
    }
    return rc;
}

/* Read all of stdin (bounded), strip one trailing newline. Caller frees. */
static char *cli_read_stdin(size_t max)
{
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        buf_append(&b, chunk, n);
        if (b.len > max) {
            buf_free(&b);
            return NULL;
        }
    }
    buf_putc(&b, '\0');
    b.len--;
    if (b.len > 0 && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    if (b.len > 0 && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    return buf_steal(&b);
}

/* ---------------------------------------------------------------- commands */

static int cmd_migrate(const struct cli_args *a)
{
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, 0);
    if (rc != 0)
        return rc;
    rc = cli_store_open(&c.db, &c.cfg);
    if (rc == 0) {
        struct err e = {0};
        struct store_migration_info before = {0}, after = {0};
        if (store_migration_status(c.db, &before, &e) != 0 || store_migrate(c.db, &after, &e) != 0 ||
            store_migration_status(c.db, &after, &e) != 0)
            rc = cli_fail(&e);
        else
            printf("migrations: %d applied, schema version %d (%s)\n", before.pending, after.applied,
                   store_backend(c.db));
    }
    cli_ctx_close(&c);
    return rc;
}

/* Refuse to serve with unsafe production settings; returns problems found. */
static int cli_production_problems(const struct config *cfg, struct store *db, struct buf *problems)
{
    int n = config_check_production(cfg, problems);
    if (db && !cfg->require_api_keys) {
        int64_t tenants = 0;
        struct err e = {0};
        if (store_tenant_count(db, &tenants, &e) == 0 && tenants > 1) {
            buf_printf(problems, "SB_REQUIRE_API_KEYS is false while %lld tenants exist: requests without "
                                 "credentials cannot be tied to one tenant\n", (long long)tenants);
            n++;
        }
    }
    return n;
}

/* What a process that runs jobs needs beyond cli_ctx, opened in order and
 * closed in reverse: the group-commit writer (webhooks, the outbound API
 * and, on SQLite, the workers' claims and outcomes go through it, so one
 * fsync covers many), the job queue, the messaging core with its job types,
 * security events and, for `serve`, the webhook pipeline and the realtime
 * event bell. */
struct cli_runtime {
    struct ops_metrics *metrics;
    struct http_event_bell *bell;
    struct store_writer *writer;
    struct queue *queue;
    struct ops_security *security;
    struct webhook *webhook;
};

static void cli_runtime_close(struct cli_ctx *c, struct cli_runtime *rt)
{
    /* What still runs stops first: workers finish their batches (through the
     * writer), then the writer drains what is queued. */
    if (rt->queue)
        queue_stop(rt->queue);
    if (rt->writer)
        store_writer_stop(rt->writer);
    webhook_free(rt->webhook);
    messaging_free(c->msg);
    c->msg = NULL;
    queue_free(rt->queue);
    store_writer_free(rt->writer);
    ops_security_free(rt->security);
    http_event_bell_free(rt->bell);
    ops_metrics_free(rt->metrics);
    memset(rt, 0, sizeof(*rt));
}

static int cli_runtime_open(struct cli_ctx *c, struct cli_runtime *rt, const char *role, int serve)
{
    struct err e = {0};
    int sqlite = strcmp(store_backend(c->db), "sqlite") == 0;
    uint8_t master[CRYPTO_KEY_BYTES];

    memset(rt, 0, sizeof(*rt));
    if (config_master_key(&c->cfg, master, &e) != 0 || ops_keyring_open(&c->keys, c->db, master, &e) != 0 ||
        auth_new(&c->auth, c->db, &c->cfg, &e) != 0)
        goto fail;
    explicit_bzero(master, sizeof(master));
    if (ops_metrics_new(&rt->metrics) != 0) {
        err_set(&e, ERR_NOMEM, NULL, "out of memory");
        goto fail;
    }
    /* In-process producers of realtime events (the API, the job workers)
     * ring the bell after each commit that appended some. */
    if (serve && http_event_bell_new(&rt->bell, &e) != 0)
        goto fail;
    struct store_writer_options wo = {.threads = sqlite ? 1 : 2};
    if (store_writer_new(&rt->writer, c->db, &wo, &e) != 0)
        goto fail;
    /* SQLite has one write lock and a commit costs an fsync: the workers'
     * claims and outcomes ride in the writer's batches instead of taking the
     * lock (and an fsync) for each job. */
    struct queue_options qo = {.workers = (int)c->cfg.workers, .worker_prefix = role,
                               .writer = sqlite ? rt->writer : NULL};
    if (queue_new(&rt->queue, c->db, &qo, &e) != 0)
        goto fail;
    struct ops_security_options so = {.db = c->db, .metrics = rt->metrics, .writer = rt->writer};
    struct messaging_options mo = {.cfg = &c->cfg, .db = c->db, .keys = c->keys, .queue = rt->queue,
                                   .writer = rt->writer, .notify = rt->bell ? http_event_poke : NULL,
                                   .notify_ud = rt->bell};
    if (ops_security_new(&rt->security, &so, &e) != 0 || messaging_new(&c->msg, &mo, &e) != 0)
        goto fail;
    if (serve) {
        struct webhook_options wh = {.cfg = &c->cfg, .writer = rt->writer, .queue = rt->queue,
                                     .messaging = c->msg, .security = rt->security, .metrics = rt->metrics};
        if (webhook_new(&rt->webhook, &wh, &e) != 0)
            goto fail;
    }
    if (c->cfg.workers > 0 && queue_start(rt->queue, &e) != 0)
        goto fail;
    return 0;
fail:
    explicit_bzero(master, sizeof(master));
    cli_runtime_close(c, rt);
    return cli_fail(&e);
}

/* Migrations and production refusals before a long-running command starts.
 * Production never migrates by itself; development does. */
static int cli_prepare_run(struct cli_ctx *c, struct buf *problems)
{
    struct err e = {0};
    int rc, prod = config_is_production(&c->cfg);

    if (prod && config_check_production(&c->cfg, problems) > 0) {
        fprintf(stderr, "switchboard: refusing to start in production:\n%s", problems->data);
        return CLI_CONFIG;
    }
    if ((rc = cli_store_open(&c->db, &c->cfg)) != 0)
        return rc;
    if (prod) {
        struct store_migration_info info = {0};
        if (store_migration_status(c->db, &info, &e) != 0)
            return cli_fail(&e);
        if (info.pending > 0) {
            fprintf(stderr, "switchboard: refusing to start in production with %d pending migration(s); "
                            "run `switchboard migrate` first\n", info.pending);
            return CLI_CONFIG;
        }
    } else if ((rc = cli_migrate_store(c->db)) != 0) {
        return rc;
    }
    buf_reset(problems);
    if (cli_production_problems(&c->cfg, c->db, problems) > 0) {
        if (prod) {
            fprintf(stderr, "switchboard: refusing to start in production:\n%s", problems->data);
            return CLI_CONFIG;
        }
        /* One log line: the problems are newline-separated, join them with "; ". */
        for (char *nl = strchr(problems->data, '\n'); nl; nl = strchr(nl, '\n'))
            *nl = nl[1] ? ';' : '\0';
        log_warn(NULL, "development mode: these settings would be refused in production: %s", problems->data);
    }
    if (!prod)
        log_warn(NULL, "running in DEVELOPMENT mode (SB_ENV=development): not for production use");
    return 0;
}

static int cmd_serve(const struct cli_args *a)
{
    struct cli_ctx c;
    struct cli_runtime rt = {0};
    struct buf problems = {0};
    struct err e = {0};
    int rc = cli_ctx_open(&c, a, 0);

    if (rc != 0)
        return rc;
    if ((rc = cli_prepare_run(&c, &problems)) != 0 || (rc = cli_runtime_open(&c, &rt, "serve", 1)) != 0)
        goto out;
    struct http_app app = {
        .cfg = &c.cfg, .db = c.db, .auth = c.auth, .metrics = rt.metrics, .keys = c.keys, .queue = rt.queue,
        .events_bell = rt.bell, .messaging = c.msg, .webhook = rt.webhook,
    };
    if (http_serve(&app, &e) != 0)
        rc = cli_fail(&e);
    /* HTTP has stopped taking requests; every acknowledged webhook and
     * accepted message is committed already. */
out:
    cli_runtime_close(&c, &rt);
    buf_free(&problems);
    cli_ctx_close(&c);
    return rc;
}

/* `switchboard worker`: job workers only (no HTTP), for scale-out on
 * PostgreSQL or a second process on the same SQLite file. Stops on SIGTERM
 * or SIGINT after the running batches finish. */
static int cmd_worker(const struct cli_args *a)
{
    struct cli_ctx c;
    struct cli_runtime rt = {0};
    struct buf problems = {0};
    sigset_t set, old;
    int sig = 0, rc = cli_ctx_open(&c, a, 0);

    if (rc != 0)
        return rc;
    if (c.cfg.workers <= 0) {
        fprintf(stderr, "switchboard: worker needs SB_WORKERS >= 1\n");
        rc = CLI_CONFIG;
        goto out;
    }
    /* Block the signals before any thread starts, so only sigwait sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = cli_prepare_run(&c, &problems)) != 0 || (rc = cli_runtime_open(&c, &rt, "worker", 0)) != 0)
        goto unblock;
    log_write(LOG_INFO, NULL, NULL, "worker running: %lld job worker thread(s) on %s", (long long)c.cfg.workers,
              store_backend(c.db));
    while (sigwait(&set, &sig) != 0)
        ;
    log_write(LOG_INFO, NULL, NULL, "worker stopping: finishing running jobs");
    cli_runtime_close(&c, &rt);
    log_write(LOG_INFO, NULL, NULL, "worker stopped");
unblock:
    cli_runtime_close(&c, &rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
    buf_free(&problems);
    cli_ctx_close(&c);
    return rc;
}

static int cmd_doctor(const struct cli_args *a)
{
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, 0);
    if (rc != 0)
        return rc;
    struct buf problems = {0};
    printf("# effective configuration (secrets redacted)\n");
    config_print(&c.cfg, stdout);

    struct store *db = NULL;
    struct err e = {0};
    if (cli_store_open(&db, &c.cfg) == 0) {
        struct store_migration_info info = {0};
        if (store_migration_status(db, &info, &e) == 0)
            printf("# database: %s, schema %d of %d, %d pending\n", store_backend(db), info.applied, info.latest,
                   info.pending);
        else
            printf("# database: %s, migrations: %s\n", store_backend(db), e.msg);
    } else {
        printf("# database: unreachable\n");
    }
    int n = cli_production_problems(&c.cfg, db, &problems);
    store_close(db);
    if (n == 0) {
        printf("# production checks: ok\n");
    } else if (config_is_production(&c.cfg)) {
        printf("# production checks: %d problem(s); the server refuses to start:\n%s", n, problems.data);
        rc = CLI_CONFIG;
    } else {
        printf("# production checks: %d setting(s) that SB_ENV=production would refuse:\n%s", n, problems.data);
    }
    buf_free(&problems);
    cli_ctx_close(&c);
    return rc;
}

static const char cli_demo_tenant[] = "Demo";
static const char cli_demo_email[] = "owner@demo.switchboard.local";
static const char cli_demo_password[] = "switchboard-demo";

static int cmd_seed_demo(const struct cli_args *a)
{
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_AUTH);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct store_tenant t;
    if (config_is_production(&c.cfg)) {
        fprintf(stderr, "switchboard: seed-demo is for development; refused with SB_ENV=production\n");
        rc = CLI_CONFIG;
        goto out;
    }
    if (store_tenant_find_by_name(c.db, cli_demo_tenant, &t, &e) == ERR_NOTFOUND) {
        struct store_member m;
        if (auth_tenant_create(c.auth, cli_demo_tenant, &t, &e) != 0 ||
            auth_user_create(c.auth, t.id, cli_demo_email, "Demo Owner", "owner", cli_demo_password, NULL,
                             "cli", &m, &e) != 0) {
            rc = cli_fail(&e);
            goto out;
        }
        printf("created demo tenant %s\n", t.id);
    } else if (e.code != 0) {
        rc = cli_fail(&e);
        goto out;
    }
    printf("demo login: %s / %s (tenant %s)\n", cli_demo_email, cli_demo_password, t.id);
out:
    cli_ctx_close(&c);
    return rc;
}

static int cmd_tenant(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "create") != 0)
        return cli_usage();
    static const char *const req[] = {"name", NULL};
    if (cli_require(a, req))
        return CLI_USAGE;
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_AUTH);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct store_tenant t;
    if (auth_tenant_create(c.auth, cli_flag(a, "name"), &t, &e) != 0) {
        rc = cli_fail(&e);
    } else if (cli_flag(a, "json")) {
        struct buf b = {0};
        buf_puts(&b, "{\"id\":");
        buf_json_str(&b, t.id);
        buf_puts(&b, ",\"name\":");
        buf_json_str(&b, t.name);
        buf_puts(&b, ",\"created_at\":");
        buf_json_time(&b, t.created_at);
        buf_puts(&b, "}\n");
        fputs(b.data, stdout);
        buf_free(&b);
    } else {
        printf("%s\n", t.id);
    }
    cli_ctx_close(&c);
    return rc;
}

static int cmd_user(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "create") != 0)
        return cli_usage();
    static const char *const req[] = {"tenant", "email", "role", NULL};
    if (cli_require(a, req))
        return CLI_USAGE;
    if (!cli_flag(a, "password-stdin")) {
        fprintf(stderr, "switchboard: user create reads the password from standard input: pass --password-stdin\n");
        return CLI_USAGE;
    }
    char *password = cli_read_stdin(1024);
    if (!password) {
        fprintf(stderr, "switchboard: password on standard input is too long\n");
        return CLI_USAGE;
    }
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_AUTH);
    if (rc != 0) {
        free(password);
        return rc;
    }
    struct err e = {0};
    struct store_member m;
    const char *name = cli_flag(a, "name");
    if (auth_user_create(c.auth, cli_flag(a, "tenant"), cli_flag(a, "email"), name ? name : "",
                         cli_flag(a, "role"), password, NULL, "cli", &m, &e) != 0) {
        rc = cli_fail(&e);
    } else if (cli_flag(a, "json")) {
        struct buf b = {0};
        auth_member_json(&b, &m);
        buf_putc(&b, '\n');
        fputs(b.data, stdout);
        buf_free(&b);
    } else {
        printf("%s\n", m.user_id);
    }
    /* The password must not outlive its use. */
    explicit_bzero(password, strlen(password));
    free(password);
    cli_ctx_close(&c);
    return rc;
}

struct cli_list {
    struct buf *b;
    int n;
    int json;
};

static int cli_apikey_row(void *ud, const struct store_apikey *k)
{
    struct cli_list *l = ud;
    if (l->json) {
        if (l->n)
            buf_putc(l->b, ',');
        auth_apikey_json(l->b, k, NULL);
    } else {
        buf_printf(l->b, "%s\t%s\t%s\t%s\t%s\n", k->id, k->prefix, k->role, k->name,
                   k->revoked_at ? "revoked" : "active");
    }
    l->n++;
    return 0;
}

static int cmd_apikey(const struct cli_args *a)
{
    if (!a->sub)
        return cli_usage();
    int create = strcmp(a->sub, "create") == 0, list = strcmp(a->sub, "list") == 0,
        revoke = strcmp(a->sub, "revoke") == 0;
    if (!create && !list && !revoke)
        return cli_usage();
    static const char *const req_create[] = {"tenant", "role", NULL};
    static const char *const req_list[] = {"tenant", NULL};
    static const char *const req_revoke[] = {"tenant", "id", NULL};
    if (cli_require(a, create ? req_create : list ? req_list : req_revoke))
        return CLI_USAGE;
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_AUTH);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct buf b = {0};
    const char *tenant = cli_flag(a, "tenant");
    if (create) {
        struct store_apikey k;
        char key[AUTH_APIKEY_MAX];
        const char *name = cli_flag(a, "name");
        if (auth_apikey_create(c.auth, tenant, cli_flag(a, "role"), name ? name : "", NULL, "cli", &k, key, &e) !=
            0) {
            rc = cli_fail(&e);
            goto out;
        }
        if (cli_flag(a, "json")) {
            auth_apikey_json(&b, &k, key);
            buf_putc(&b, '\n');
        } else {
            buf_printf(&b, "%s\n", key);
        }
        explicit_bzero(key, sizeof(key));
    } else if (list) {
        struct store_tenant t;
        struct cli_list l = {.b = &b, .json = cli_flag(a, "json") != NULL};
        if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
            rc = cli_fail(&e);
            goto out;
        }
        if (l.json)
            buf_puts(&b, "{\"data\":[");
        if (store_apikey_list(c.db, tenant, cli_apikey_row, &l, &e) != 0) {
            rc = cli_fail(&e);
            goto out;
        }
        if (l.json)
            buf_puts(&b, "]}\n");
    } else {
        if (auth_apikey_revoke(c.auth, tenant, cli_flag(a, "id"), NULL, "cli", &e) != 0) {
            rc = cli_fail(&e);
            goto out;
        }
        buf_printf(&b, "revoked %s\n", cli_flag(a, "id"));
    }
    if (b.len)
        fputs(b.data, stdout);
out:
    buf_free(&b);
    cli_ctx_close(&c);
    return rc;
}

/* ------------------------------------------------------------- channel */

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
    if (rc == 0 && cli_flag(a, "set-stdin")) {
        char *in = cli_read_stdin(64 * 1024);
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

static int cli_template_row(void *ud, const struct store_template *t)
{
    struct cli_list *l = ud;
    if (l->json) {
        if (l->n)
            buf_putc(l->b, ',');
        messaging_template_json(l->b, t);
    } else {
        buf_printf(l->b, "%s\t%s\t%s\t%s\n", t->name, t->language, t->status, t->category);
    }
    l->n++;
    return 0;
}

static int cli_channel_add(struct cli_ctx *c, const struct cli_args *a, struct cli_settings *st, struct buf *b)
{
    struct err e = {0};
    struct messaging_account acct;
    struct messaging_sync_report sync;
    if (messaging_account_create(c->msg, cli_flag(a, "tenant"), cli_flag(a, "provider"), cli_flag(a, "name"), st->kv,
                                 st->n, "system", "", "cli", &acct, &sync, &e) != 0)
        return cli_fail(&e);
    if (sync.attempted && sync.rc)
        fprintf(stderr, "switchboard: warning: the account was added but its templates were not synced: %s (%s); "
                        "retry with `switchboard channel templates --sync`\n",
                sync.err.msg, err_slug(&sync.err));
    if (cli_flag(a, "json")) {
        messaging_account_json(c->msg, b, &acct, &sync);
        buf_putc(b, '\n');
        return 0;
    }
    buf_printf(b, "%s\naccount key: %s\n", acct.id, acct.account_key);
    if (strcmp(acct.provider, "twilio") == 0) {
        buf_puts(b, "webhook URL (Twilio: messaging webhook and status callback): ");
        messaging_account_webhook_url(c->msg, &acct, b);
        buf_putc(b, '\n');
    } else {
        buf_puts(b, "callback URL (Meta: WhatsApp webhook, with your verify token): ");
        messaging_account_webhook_url(c->msg, &acct, b);
        buf_putc(b, '\n');
    }
    if (sync.attempted && sync.rc == 0)
        buf_printf(b, "templates: %d synced\n", sync.count);
    return 0;
}

static int cmd_channel(const struct cli_args *a)
{
    if (!a->sub)
        return cli_usage();
    int add = strcmp(a->sub, "add") == 0, list = strcmp(a->sub, "list") == 0,
        remove = strcmp(a->sub, "remove") == 0, templates = strcmp(a->sub, "templates") == 0;
    if (!add && !list && !remove && !templates)
        return cli_usage();
    static const char *const req_add[] = {"tenant", "provider", NULL};
    static const char *const req_list[] = {"tenant", NULL};
    static const char *const req_id[] = {"tenant", "id", NULL};
    if (cli_require(a, add ? req_add : list ? req_list : req_id))
        return CLI_USAGE;
    struct cli_settings st;
    int rc = 0;
    if (add && (rc = cli_settings_read(&st, a)) != 0)
        return rc;
    struct cli_ctx c;
    if ((rc = cli_ctx_open(&c, a, CTX_MSG)) != 0) {
        if (add)
            cli_settings_free(&st);
        return rc;
    }
    struct err e = {0};
    struct buf b = {0};
    struct store_tenant t;
    const char *tenant = cli_flag(a, "tenant"), *id = cli_flag(a, "id");
    int json = cli_flag(a, "json") != NULL;
    if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
        rc = cli_fail(&e);
    } else if (add) {
        rc = cli_channel_add(&c, a, &st, &b);
    } else if (list) {
        struct cli_channel_list l = {.msg = c.msg, .b = &b, .json = json};
        if (json)
            buf_puts(&b, "{\"data\":[");
        if (messaging_account_list(c.msg, tenant, cli_channel_row, &l, &e) != 0)
            rc = cli_fail(&e);
        if (json)
            buf_puts(&b, "]}\n");
    } else if (remove) {
        if (messaging_account_remove(c.msg, tenant, id, "system", "", "cli", &e) != 0)
            rc = cli_fail(&e);
        else
            buf_printf(&b, "removed %s\n", id);
    } else {
        int synced = -1;
        struct cli_list l = {.b = &b, .json = json};
        if (cli_flag(a, "sync") && messaging_template_sync(c.msg, tenant, id, &synced, &e) != 0) {
            rc = cli_fail(&e);
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
                rc = cli_fail(&e);
            if (json)
                buf_puts(&b, "]}\n");
        }
    }
    if (rc == 0 && b.len)
        fputs(b.data, stdout);
    buf_free(&b);
    if (add)
        cli_settings_free(&st);
    cli_ctx_close(&c);
    return rc;
}

static int cmd_secret(const struct cli_args *a)
{
    if (!a->sub || (strcmp(a->sub, "set") != 0 && strcmp(a->sub, "get") != 0))
        return cli_usage();
    static const char *const req[] = {"tenant", "name", NULL};
    if (cli_require(a, req))
        return CLI_USAGE;
    int set = strcmp(a->sub, "set") == 0;
    char *value = NULL;
    if (set) {
        if (!cli_flag(a, "value-stdin")) {
            fprintf(stderr, "switchboard: secret set reads the value from standard input: pass --value-stdin\n");
            return CLI_USAGE;
        }
        value = cli_read_stdin(64 * 1024);
        if (!value) {
            fprintf(stderr, "switchboard: secret value is too long (64 KiB at most)\n");
            return CLI_USAGE;
        }
    }
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_KEYS);
    if (rc != 0) {
        free(value);
        return rc;
    }
    struct err e = {0};
    const char *tenant = cli_flag(a, "tenant"), *name = cli_flag(a, "name");
    struct store_tenant t;
    if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
        rc = cli_fail(&e);
    } else if (set) {
        if (ops_secret_put(c.keys, c.db, tenant, name, value, strlen(value), &e) != 0)
            rc = cli_fail(&e);
        else
            printf("stored %s (key %s)\n", name, ops_keyring_active_id(c.keys));
    } else {
        char *out = NULL;
        size_t n = 0;
        if (ops_secret_get(c.keys, c.db, tenant, name, &out, &n, &e) != 0) {
            rc = cli_fail(&e);
        } else {
            fwrite(out, 1, n, stdout);
            putchar('\n');
            explicit_bzero(out, n);
            free(out);
        }
    }
    if (value) {
        explicit_bzero(value, strlen(value));
        free(value);
    }
    cli_ctx_close(&c);
    return rc;
}

static int cmd_keys(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "rotate") != 0)
        return cli_usage();
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_KEYS);
    if (rc != 0)
        return rc;
    struct err e = {0};
    char id[32];
    int64_t n = 0;
    if (ops_keys_rotate(c.keys, c.db, id, &n, &e) != 0)
        rc = cli_fail(&e);
    else
        printf("active key %s; re-encrypted %lld secret(s)\n", id, (long long)n);
    cli_ctx_close(&c);
    return rc;
}

static int cmd_audit(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "verify") != 0)
        return cli_usage();
    struct cli_ctx c;
    int rc = cli_ctx_open(&c, a, CTX_DB);
    if (rc != 0)
        return rc;
    struct err e = {0};
    int64_t rows = 0;
    int vrc = ops_audit_verify(c.db, stderr, &rows, &e);
    if (vrc == ERR_CONFLICT) {
        fprintf(stderr, "switchboard: audit chain broken: %s\n", e.msg);
        rc = CLI_TAMPERED;
    } else if (vrc != 0) {
        rc = cli_fail(&e);
    } else {
        printf("audit log intact: %lld row(s) verified\n", (long long)rows);
    }
    cli_ctx_close(&c);
    return rc;
}

static int cli_write_doc(const char *dir, const char *name, void (*write)(FILE *))
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "switchboard: cannot write %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    write(f);
    if (fclose(f) != 0) {
        fprintf(stderr, "switchboard: cannot write %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int cmd_gen_docs(const struct cli_args *a)
{
    const char *dir = cli_flag(a, "out");
    if (!dir)
        dir = "docs";
    if (cli_mkdirs(dir) != 0) {
        fprintf(stderr, "switchboard: cannot create %s: %s\n", dir, strerror(errno));
        return CLI_FAIL;
    }
    int rc = cli_write_doc(dir, "configuration.md", config_write_docs);
    if (rc == 0)
        rc = cli_write_doc(dir, "permissions.md", auth_write_permissions_doc);
    return rc;
}

int cli_main(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(&a, argc, argv);
    if (rc != 0)
        return rc;
    if (!a.cmd || cli_flag(&a, "help") || strcmp(a.cmd, "help") == 0)
        return cli_usage();
    if (crypto_init() != 0) {
        fprintf(stderr, "switchboard: cannot initialise libsodium\n");
        return CLI_FAIL;
    }
    static const struct {
        const char *name;
        int (*fn)(const struct cli_args *);
    } cmds[] = {
        {"serve", cmd_serve},   {"worker", cmd_worker},     {"migrate", cmd_migrate}, {"seed-demo", cmd_seed_demo},
        {"doctor", cmd_doctor}, {"tenant", cmd_tenant},     {"user", cmd_user},       {"apikey", cmd_apikey},
        {"secret", cmd_secret}, {"keys", cmd_keys},         {"audit", cmd_audit},     {"gen-docs", cmd_gen_docs},
        {"channel", cmd_channel},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(a.cmd, cmds[i].name) == 0)
            return cmds[i].fn(&a);
    if (strcmp(a.cmd, "routes") == 0) {
        http_write_routes(stdout);
        return CLI_OK;
    }
    if (strcmp(a.cmd, "version") == 0) {
        printf("switchboard %s\n", SB_VERSION);
        return CLI_OK;
    }
    fprintf(stderr, "switchboard: unknown command '%s'\n", a.cmd);
    return cli_usage();
}
