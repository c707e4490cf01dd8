/*
 * The switchboard CLI: parses `switchboard <command> [subcommand] [--flag value …]`,
 * loads the configuration (environment, .env, then flags), opens the store and
 * calls the domain modules. Every command is scriptable: results on stdout
 * (JSON with --json), errors as one line on stderr, exit codes from cli.h.
 * Nothing here holds SQL or business rules; it only wires modules together.
 */
#include "cli.h"
#include "cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"

/* Flags that take no value. */
static int cli_is_bool_flag(const char *name)
{
    return strcmp(name, "json") == 0 || strcmp(name, "password-stdin") == 0 ||
           strcmp(name, "value-stdin") == 0 || strcmp(name, "help") == 0 || strcmp(name, "set-stdin") == 0 ||
           strcmp(name, "sync") == 0;
}

const char *cli__flag(const struct cli_args *a, const char *name)
{
    for (int i = 0; i < a->nflags; i++)
        if (strcmp(a->name[i], name) == 0)
            return a->value[i];
    return NULL;
}

int cli__usage(void)
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
          "  channel add --tenant ID --provider twilio|whatsapp|sendgrid [--name N] (--set KEY=VALUE ... | --set-stdin) [--json]\n"
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

int cli__fail(const struct err *e)
{
    fprintf(stderr, "switchboard: %s (%s)\n", e->msg, err_slug(e));
    return cli_exit_for(e);
}

/* Load config (env, .env) and apply --data / --listen flags. */
static int cli_config(struct config *cfg, const struct cli_args *a)
{
    struct err e = {0};
    const char *env_file = cli__flag(a, "env-file");
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
        const char *v = cli__flag(a, map[i].flag);
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

int cli__store_open(struct store **out, const struct config *cfg)
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

int cli__migrate_store(struct store *db)
{
    struct err e = {0};
    struct store_migration_info info = {0};
    if (store_migrate(db, &info, &e) != 0)
        return cli__fail(&e);
    return 0;
}


void cli__ctx_close(struct cli_ctx *c)
{
    messaging_free(c->msg);
    auth_free(c->auth);
    ops_keyring_free(c->keys);
    store_close(c->db);
    config_free(&c->cfg);
}

int cli__ctx_open(struct cli_ctx *c, const struct cli_args *a, int what)
{
    memset(c, 0, sizeof(*c));
    int rc = cli_config(&c->cfg, a);
    if (rc != 0)
        return rc;
    if (what & CTX_MSG)
        what |= CTX_KEYS;
    if (!(what & (CTX_DB | CTX_KEYS | CTX_AUTH)))
        return 0;
    rc = cli__store_open(&c->db, &c->cfg);
    if (rc != 0)
        goto fail;
    struct err e = {0};
    struct store_migration_info info = {0};
    if (store_migration_status(c->db, &info, &e) != 0) {
        rc = cli__fail(&e);
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
            rc = cli__fail(&e);
            goto fail;
        }
    }
    if ((what & CTX_AUTH) && auth_new(&c->auth, c->db, &c->cfg, &e) != 0) {
        rc = cli__fail(&e);
        goto fail;
    }
    if (what & CTX_MSG) {
        struct messaging_options mo = {.cfg = &c->cfg, .db = c->db, .keys = c->keys};
        if (messaging_new(&c->msg, &mo, &e) != 0) {
            rc = cli__fail(&e);
            goto fail;
        }
    }
    return 0;
fail:
    cli__ctx_close(c);
    return rc;
}

int cli__require(const struct cli_args *a, const char *const *names)
{
    int rc = 0;
    for (; *names; names++) {
        if (!cli__flag(a, *names)) {
            fprintf(stderr, "switchboard: %s %s needs --%s\n", a->cmd, a->sub ? a->sub : "", *names);
            rc = CLI_USAGE;
        }
    }
    return rc;
}

/* Read all of stdin (bounded), strip one trailing newline. Caller frees. */
char *cli__read_stdin(size_t max)
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
    int rc = cli__ctx_open(&c, a, 0);
    if (rc != 0)
        return rc;
    rc = cli__store_open(&c.db, &c.cfg);
    if (rc == 0) {
        struct err e = {0};
        struct store_migration_info before = {0}, after = {0};
        if (store_migration_status(c.db, &before, &e) != 0 || store_migrate(c.db, &after, &e) != 0 ||
            store_migration_status(c.db, &after, &e) != 0)
            rc = cli__fail(&e);
        else
            printf("migrations: %d applied, schema version %d (%s)\n", before.pending, after.applied,
                   store_backend(c.db));
    }
    cli__ctx_close(&c);
    return rc;
}

/* Refuse to serve with unsafe production settings; returns problems found. */
int cli__production_problems(const struct config *cfg, struct store *db, struct buf *problems)
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

static int cmd_doctor(const struct cli_args *a)
{
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, 0);
    if (rc != 0)
        return rc;
    struct buf problems = {0};
    printf("# effective configuration (secrets redacted)\n");
    config_print(&c.cfg, stdout);

    struct store *db = NULL;
    struct err e = {0};
    if (cli__store_open(&db, &c.cfg) == 0) {
        struct store_migration_info info = {0};
        if (store_migration_status(db, &info, &e) == 0)
            printf("# database: %s, schema %d of %d, %d pending\n", store_backend(db), info.applied, info.latest,
                   info.pending);
        else
            printf("# database: %s, migrations: %s\n", store_backend(db), e.msg);
    } else {
        printf("# database: unreachable\n");
    }
    int n = cli__production_problems(&c.cfg, db, &problems);
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
    cli__ctx_close(&c);
    return rc;
}

static const char cli_demo_tenant[] = "Demo";
static const char cli_demo_email[] = "owner@demo.switchboard.local";
static const char cli_demo_password[] = "switchboard-demo";

static int cmd_seed_demo(const struct cli_args *a)
{
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_AUTH);
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
            rc = cli__fail(&e);
            goto out;
        }
        printf("created demo tenant %s\n", t.id);
    } else if (e.code != 0) {
        rc = cli__fail(&e);
        goto out;
    }
    printf("demo login: %s / %s (tenant %s)\n", cli_demo_email, cli_demo_password, t.id);
out:
    cli__ctx_close(&c);
    return rc;
}

static int cmd_tenant(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "create") != 0)
        return cli__usage();
    static const char *const req[] = {"name", NULL};
    if (cli__require(a, req))
        return CLI_USAGE;
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_AUTH);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct store_tenant t;
    if (auth_tenant_create(c.auth, cli__flag(a, "name"), &t, &e) != 0) {
        rc = cli__fail(&e);
    } else if (cli__flag(a, "json")) {
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
    cli__ctx_close(&c);
    return rc;
}

static int cmd_user(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "create") != 0)
        return cli__usage();
    static const char *const req[] = {"tenant", "email", "role", NULL};
    if (cli__require(a, req))
        return CLI_USAGE;
    if (!cli__flag(a, "password-stdin")) {
        fprintf(stderr, "switchboard: user create reads the password from standard input: pass --password-stdin\n");
        return CLI_USAGE;
    }
    char *password = cli__read_stdin(1024);
    if (!password) {
        fprintf(stderr, "switchboard: password on standard input is too long\n");
        return CLI_USAGE;
    }
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_AUTH);
    if (rc != 0) {
        free(password);
        return rc;
    }
    struct err e = {0};
    struct store_member m;
    const char *name = cli__flag(a, "name");
    if (auth_user_create(c.auth, cli__flag(a, "tenant"), cli__flag(a, "email"), name ? name : "",
                         cli__flag(a, "role"), password, NULL, "cli", &m, &e) != 0) {
        rc = cli__fail(&e);
    } else if (cli__flag(a, "json")) {
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
    cli__ctx_close(&c);
    return rc;
}


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
        return cli__usage();
    int create = strcmp(a->sub, "create") == 0, list = strcmp(a->sub, "list") == 0,
        revoke = strcmp(a->sub, "revoke") == 0;
    if (!create && !list && !revoke)
        return cli__usage();
    static const char *const req_create[] = {"tenant", "role", NULL};
    static const char *const req_list[] = {"tenant", NULL};
    static const char *const req_revoke[] = {"tenant", "id", NULL};
    if (cli__require(a, create ? req_create : list ? req_list : req_revoke))
        return CLI_USAGE;
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_AUTH);
    if (rc != 0)
        return rc;
    struct err e = {0};
    struct buf b = {0};
    const char *tenant = cli__flag(a, "tenant");
    if (create) {
        struct store_apikey k;
        char key[AUTH_APIKEY_MAX];
        const char *name = cli__flag(a, "name");
        if (auth_apikey_create(c.auth, tenant, cli__flag(a, "role"), name ? name : "", NULL, "cli", &k, key, &e) !=
            0) {
            rc = cli__fail(&e);
            goto out;
        }
        if (cli__flag(a, "json")) {
            auth_apikey_json(&b, &k, key);
            buf_putc(&b, '\n');
        } else {
            buf_printf(&b, "%s\n", key);
        }
        explicit_bzero(key, sizeof(key));
    } else if (list) {
        struct store_tenant t;
        struct cli_list l = {.b = &b, .json = cli__flag(a, "json") != NULL};
        if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        if (l.json)
            buf_puts(&b, "{\"data\":[");
        if (store_apikey_list(c.db, tenant, cli_apikey_row, &l, &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        if (l.json)
            buf_puts(&b, "]}\n");
    } else {
        if (auth_apikey_revoke(c.auth, tenant, cli__flag(a, "id"), NULL, "cli", &e) != 0) {
            rc = cli__fail(&e);
            goto out;
        }
        buf_printf(&b, "revoked %s\n", cli__flag(a, "id"));
    }
    if (b.len)
        fputs(b.data, stdout);
out:
    buf_free(&b);
    cli__ctx_close(&c);
    return rc;
}

static int cmd_secret(const struct cli_args *a)
{
    if (!a->sub || (strcmp(a->sub, "set") != 0 && strcmp(a->sub, "get") != 0))
        return cli__usage();
    static const char *const req[] = {"tenant", "name", NULL};
    if (cli__require(a, req))
        return CLI_USAGE;
    int set = strcmp(a->sub, "set") == 0;
    char *value = NULL;
    if (set) {
        if (!cli__flag(a, "value-stdin")) {
            fprintf(stderr, "switchboard: secret set reads the value from standard input: pass --value-stdin\n");
            return CLI_USAGE;
        }
        value = cli__read_stdin(64 * 1024);
        if (!value) {
            fprintf(stderr, "switchboard: secret value is too long (64 KiB at most)\n");
            return CLI_USAGE;
        }
    }
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_KEYS);
    if (rc != 0) {
        free(value);
        return rc;
    }
    struct err e = {0};
    const char *tenant = cli__flag(a, "tenant"), *name = cli__flag(a, "name");
    struct store_tenant t;
    if (store_tenant_get(c.db, tenant, &t, &e) != 0) {
        rc = cli__fail(&e);
    } else if (set) {
        if (ops_secret_put(c.keys, c.db, tenant, name, value, strlen(value), &e) != 0)
            rc = cli__fail(&e);
        else
            printf("stored %s (key %s)\n", name, ops_keyring_active_id(c.keys));
    } else {
        char *out = NULL;
        size_t n = 0;
        if (ops_secret_get(c.keys, c.db, tenant, name, &out, &n, &e) != 0) {
            rc = cli__fail(&e);
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
    cli__ctx_close(&c);
    return rc;
}

static int cmd_keys(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "rotate") != 0)
        return cli__usage();
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_KEYS);
    if (rc != 0)
        return rc;
    struct err e = {0};
    char id[32];
    int64_t n = 0;
    if (ops_keys_rotate(c.keys, c.db, id, &n, &e) != 0)
        rc = cli__fail(&e);
    else
        printf("active key %s; re-encrypted %lld secret(s)\n", id, (long long)n);
    cli__ctx_close(&c);
    return rc;
}

static int cmd_audit(const struct cli_args *a)
{
    if (!a->sub || strcmp(a->sub, "verify") != 0)
        return cli__usage();
    struct cli_ctx c;
    int rc = cli__ctx_open(&c, a, CTX_DB);
    if (rc != 0)
        return rc;
    struct err e = {0};
    int64_t rows = 0;
    int vrc = ops_audit_verify(c.db, stderr, &rows, &e);
    if (vrc == ERR_CONFLICT) {
        fprintf(stderr, "switchboard: audit chain broken: %s\n", e.msg);
        rc = CLI_TAMPERED;
    } else if (vrc != 0) {
        rc = cli__fail(&e);
    } else {
        printf("audit log intact: %lld row(s) verified\n", (long long)rows);
    }
    cli__ctx_close(&c);
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
    const char *dir = cli__flag(a, "out");
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
    if (!a.cmd || cli__flag(&a, "help") || strcmp(a.cmd, "help") == 0)
        return cli__usage();
    if (crypto_init() != 0) {
        fprintf(stderr, "switchboard: cannot initialise libsodium\n");
        return CLI_FAIL;
    }
    static const struct {
        const char *name;
        int (*fn)(const struct cli_args *);
    } cmds[] = {
        {"serve", cli__cmd_serve},   {"worker", cli__cmd_worker},     {"migrate", cmd_migrate}, {"seed-demo", cmd_seed_demo},
        {"doctor", cmd_doctor}, {"tenant", cmd_tenant},     {"user", cmd_user},       {"apikey", cmd_apikey},
        {"secret", cmd_secret}, {"keys", cmd_keys},         {"audit", cmd_audit},     {"gen-docs", cmd_gen_docs},
        {"channel", cli__cmd_channel},
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
    return cli__usage();
}
