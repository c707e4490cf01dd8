/*
 * messaging: the module handle (messaging_new/free) and the provider
 * connection settings every adapter call gets (messaging_channel_env).
 *
 * The env is built once: base URLs and timeout from the config, a libcurl
 * share for the DNS cache and TLS sessions (with one mutex per shared data
 * kind, as libcurl requires for use from several threads), and a pool of
 * kept-alive easy handles through which sends reuse their TCP/TLS
 * connections. The connection cache itself is deliberately not put in the
 * share: libcurl does not support sharing connections between concurrent
 * threads, so reuse comes from the pool (one handle per request in flight).
 */
#include <stdlib.h>
#include <string.h>

#include "messaging/messaging_int.h"

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    struct messaging *m = ud;
    (void)h, (void)access;
    pthread_mutex_lock(&m->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    struct messaging *m = ud;
    (void)h;
    pthread_mutex_unlock(&m->share_locks[data]);
}

static int share_new(struct messaging *m, struct err *e)
{
    CURLSHcode sc = CURLSHE_OK;
    m->share = curl_share_init();
    if (!m->share)
        return err_set(e, ERR_NOMEM, NULL, "curl_share_init failed");
    if ((sc = curl_share_setopt(m->share, CURLSHOPT_USERDATA, m)) != CURLSHE_OK ||
        (sc = curl_share_setopt(m->share, CURLSHOPT_LOCKFUNC, share_lock)) != CURLSHE_OK ||
        (sc = curl_share_setopt(m->share, CURLSHOPT_UNLOCKFUNC, share_unlock)) != CURLSHE_OK ||
        (sc = curl_share_setopt(m->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) != CURLSHE_OK ||
        (sc = curl_share_setopt(m->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) != CURLSHE_OK)
        return err_set(e, ERR_INTERNAL, NULL, "curl share: %s", curl_share_strerror(sc));
    return 0;
}

/* The pipeline's job types and their retry policies: sends follow the
 * SB_SEND_* settings; inbound events retry quickly (a database hiccup) and
 * rarely fail for good. */
static int register_jobs(struct messaging *m, struct err *e)
{
    const struct config *c = m->cfg;
    struct queue_type in = {.name = MESSAGING_JOB_INBOUND, .batch_handler = messaging__inbound_batch,
                            .batch_max = 64, .ud = m, .max_attempts = 10, .base_backoff_ms = 500,
                            .max_backoff_ms = 60000};
    struct queue_type out = {.name = MESSAGING_JOB_SEND, .batch_handler = messaging__send_batch, .batch_max = 32,
                             .ud = m, .max_attempts = (int)c->send_max_attempts,
                             .base_backoff_ms = c->send_retry_base_ms, .max_backoff_ms = c->send_retry_max_ms};
    /* Downloads: ten tries, the delays doubling from 5 s up to 15 min (with
     * full jitter), so a provider outage of up to about half an hour is
     * ridden out; Graph's media ids live for weeks and are looked up again
     * on every try. */
    struct queue_type media = {.name = MESSAGING_JOB_MEDIA, .handler = messaging__media_job, .ud = m,
                               .max_attempts = 10, .base_backoff_ms = 5000, .max_backoff_ms = 900000};
    int rc = queue_register(m->queue, &in, e);
    if (rc == 0)
        rc = queue_register(m->queue, &out, e);
    if (rc == 0 && m->media)
        rc = queue_register(m->queue, &media, e);
    return rc;
}

int messaging_new(struct messaging **out, const struct messaging_options *opt, struct err *e)
{
    struct messaging *m = NULL;
    int rc = 0;

    *out = NULL;
    if (!opt || !opt->cfg || !opt->db || !opt->keys)
        return err_set(e, ERR_INVALID, NULL, "messaging needs a configuration, a store and a key ring");
    m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&m->share_locks[i], NULL);
    m->cfg = opt->cfg;
    m->db = opt->db;
    m->keys = opt->keys;
    m->queue = opt->queue;
    snprintf(m->public_url, sizeof(m->public_url), "%s", opt->cfg->public_url ? opt->cfg->public_url : "");
    for (size_t n = strlen(m->public_url); n > 0 && m->public_url[n - 1] == '/'; n--)
        m->public_url[n - 1] = '\0';
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = err_set(e, ERR_INTERNAL, NULL, "curl_global_init failed");
        goto out;
    }
    m->curl_inited = 1;
    if ((rc = share_new(m, e)) || (rc = channel_pool_new(&m->pool, m->share, 0, e)) ||
        (rc = messaging__cache_init(&m->cache, opt->account_cache_ms, e)) || (rc = messaging__policies_init(m, e)))
        goto out;
    m->env.twilio_api_base = opt->cfg->twilio_api_base;
    m->env.graph_api_base = opt->cfg->graph_api_base;
    m->env.telegram_api_base = opt->cfg->telegram_api_base;
    m->env.sendgrid_api_base = opt->cfg->sendgrid_api_base;
    m->env.timeout_ms = (long)opt->cfg->provider_timeout_ms;
    m->env.curl_share = m->share;
    m->env.pool = m->pool;
    m->writer = opt->writer;
    m->metrics = opt->metrics;
    m->notify = opt->notify;
    m->notify_ud = opt->notify_ud;
    m->media = opt->media;
    if (m->queue && (rc = register_jobs(m, e)))
        goto out;
    *out = m;
    m = NULL;
out:
    messaging_free(m);
    return rc;
}

void messaging_free(struct messaging *m)
{
    if (!m)
        return;
    messaging__cache_destroy(&m->cache);
    messaging__policies_destroy(m);
    /* Pooled handles hold the share: they go first. */
    channel_pool_free(m->pool);
    if (m->share)
        curl_share_cleanup(m->share);
    if (m->curl_inited)
        curl_global_cleanup();
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&m->share_locks[i]);
    free(m);
}

const struct channel_env *messaging_channel_env(struct messaging *m)
{
    return &m->env;
}
