/*
 * cli_run: the long-running commands. `serve` runs the HTTP server with the
 * job workers; `worker` runs job workers only. Both open the same runtime
 * (the group-commit writer, the job queue, the messaging core with its job
 * types, security events; serve also the webhook pipeline and the realtime
 * event bell) after the production checks and migrations, and close it in
 * reverse after SIGTERM or SIGINT, letting running batches finish.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "assistant/assistant.h"
#include "cli.h"
#include "cli_int.h"
#include "http/http.h"
#include "media/media.h"
#include "queue/queue.h"
#include "template/template.h"
#include "webhook/webhook.h"

/* What a process that runs jobs needs beyond cli_ctx, opened in order and
 * closed in reverse: the group-commit writer (webhooks, the outbound API
 * and, on SQLite, the workers' claims and outcomes go through it, so one
 * fsync covers many), the job queue, the messaging core with its job types,
 * the assistant (its jobs and the inbound hook), security events and, for `serve`, the webhook pipeline and the realtime
 * event bell. */
struct cli_runtime {
    struct ops_metrics *metrics;
    struct http_event_bell *bell;
    struct store_writer *writer;
    struct queue *queue;
    struct ops_security *security;
    struct webhook *webhook;
    struct media *media;
    struct assistant *assistant;
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
    assistant_free(rt->assistant);
    messaging_free(c->msg);
    c->msg = NULL;
    media_free(rt->media);
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
    /* The media store: SB_MEDIA_DIR, else <SB_DATA_DIR>/media. */
    char media_dir[4096];
    snprintf(media_dir, sizeof(media_dir), "%s", c->cfg.media_dir && *c->cfg.media_dir ? c->cfg.media_dir : "");
    if (!media_dir[0])
        snprintf(media_dir, sizeof(media_dir), "%s/media", c->cfg.data_dir);
    struct media_options mdo = {.dir = media_dir, .max_bytes = c->cfg.media_max_bytes,
                                .url_ttl_s = c->cfg.media_url_ttl_s, .public_url = c->cfg.public_url,
                                .keys = c->keys, .db = c->db};
    if (media_new(&rt->media, &mdo, &e) != 0)
        goto fail;
    struct ops_security_options so = {.db = c->db, .metrics = rt->metrics, .writer = rt->writer};
    struct messaging_options mo = {.cfg = &c->cfg, .db = c->db, .keys = c->keys, .queue = rt->queue,
                                   .writer = rt->writer, .metrics = rt->metrics,
                                   .notify = rt->bell ? http_event_poke : NULL,
                                   .notify_ud = rt->bell, .media = rt->media};
    if (ops_security_new(&rt->security, &so, &e) != 0 || messaging_new(&c->msg, &mo, &e) != 0)
        goto fail;
    struct assistant_options ao = {.db = c->db, .keys = c->keys, .msg = c->msg, .queue = rt->queue,
                                   .writer = rt->writer, .notify = rt->bell ? http_event_poke : NULL,
                                   .notify_ud = rt->bell, .llm_timeout_ms = (long)c->cfg.assistant_llm_timeout_ms,
                                   .breaker_threshold = (int)c->cfg.assistant_breaker_failures,
                                   .breaker_cooldown_ms = c->cfg.assistant_breaker_cooldown_ms};
    if (assistant_new(&rt->assistant, &ao, &e) != 0)
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
    return cli__fail(&e);
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
    if ((rc = cli__store_open(&c->db, &c->cfg)) != 0)
        return rc;
    if (prod) {
        struct store_migration_info info = {0};
        if (store_migration_status(c->db, &info, &e) != 0)
            return cli__fail(&e);
        if (info.pending > 0) {
            fprintf(stderr, "switchboard: refusing to start in production with %d pending migration(s); "
                            "run `switchboard migrate` first\n", info.pending);
            return CLI_CONFIG;
        }
    } else if ((rc = cli__migrate_store(c->db)) != 0) {
        return rc;
    }
    /* Tenants from before templates (or made by other tools) get their
     * default e-mail template; idempotent. */
    int seeded = 0;
    if (template_seed_defaults(c->db, &seeded, &e) != 0)
        return cli__fail(&e);
    if (seeded > 0)
        log_write(LOG_INFO, NULL, NULL, "created the default e-mail template of %d tenant(s)", seeded);
    buf_reset(problems);
    if (cli__production_problems(&c->cfg, c->db, problems) > 0) {
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

int cli__cmd_serve(const struct cli_args *a)
{
    struct cli_ctx c;
    struct cli_runtime rt = {0};
    struct buf problems = {0};
    struct err e = {0};
    sigset_t set, old;
    int rc = cli__ctx_open(&c, a, 0);

    if (rc != 0)
        return rc;
    /* Block the signals before the runtime starts its threads (writer, job
     * workers): a SIGTERM that came while the HTTP server was still starting
     * went to one of them and killed the process instead of waiting for
     * http_serve's sigwait, which stops gracefully. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if ((rc = cli_prepare_run(&c, &problems)) != 0 || (rc = cli_runtime_open(&c, &rt, "serve", 1)) != 0)
        goto out;
    struct http_app app = {
        .cfg = &c.cfg, .db = c.db, .auth = c.auth, .metrics = rt.metrics, .keys = c.keys, .queue = rt.queue,
        .events_bell = rt.bell, .messaging = c.msg, .webhook = rt.webhook, .media = rt.media,
        .assistant = rt.assistant,
    };
    if (http_serve(&app, &e) != 0)
        rc = cli__fail(&e);
    /* HTTP has stopped taking requests; every acknowledged webhook and
     * accepted message is committed already. */
out:
    cli_runtime_close(&c, &rt);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    buf_free(&problems);
    cli__ctx_close(&c);
    return rc;
}

/* `switchboard worker`: job workers only (no HTTP), for scale-out on
 * PostgreSQL or a second process on the same SQLite file. Stops on SIGTERM
 * or SIGINT after the running batches finish. */
int cli__cmd_worker(const struct cli_args *a)
{
    struct cli_ctx c;
    struct cli_runtime rt = {0};
    struct buf problems = {0};
    sigset_t set, old;
    int sig = 0, rc = cli__ctx_open(&c, a, 0);

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
    cli__ctx_close(&c);
    return rc;
}

