/*
 * channel_pool: kept-alive provider connections for the adapters.
 *
 * A pool is a mutex-guarded stack of idle libcurl easy handles. A request
 * takes one (or makes one), uses it alone, and gives it back reset to the
 * defaults, so no credential, header list or callback pointer of one request
 * survives into the next, while the handle's open connections, DNS entries
 * and TLS sessions do: sequential sends to a provider reuse one connection,
 * and concurrent ones use at most one per request in flight. Handles are
 * never shared by two threads at once, which is what libcurl supports (a
 * connection cache shared through a CURLSH is not safe across threads).
 */
#include <pthread.h>

#include "channel/channel_int.h"

struct channel_pool {
    pthread_mutex_t mu;     /* guards idle, nidle */
    CURLSH *share;          /* attached to every handle made here; may be NULL */
    CURL **idle;
    int nidle;
    int max_idle;
    uint64_t connections;   /* atomic: new connections opened by requests through the pool */
};

int channel_pool_new(struct channel_pool **out, void *curl_share, int max_idle, struct err *e)
{
    struct channel_pool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    p->max_idle = max_idle > 0 ? max_idle : 64;
    p->idle = calloc((size_t)p->max_idle, sizeof *p->idle);
    if (!p->idle) {
        free(p);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    p->share = curl_share;
    pthread_once(&channel__curl_once, channel__curl_init);
    *out = p;
    return 0;
}

void channel_pool_free(struct channel_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        curl_easy_cleanup(p->idle[i]);
    free(p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

uint64_t channel_pool_connections(const struct channel_pool *p)
{
    return p ? __atomic_load_n(&p->connections, __ATOMIC_RELAXED) : 0;
}

CURL *channel__easy_get(const struct channel_env *env)
{
    struct channel_pool *p = env ? env->pool : NULL;
    CURL *c = NULL;
    if (p) {
        pthread_mutex_lock(&p->mu);
        if (p->nidle > 0)
            c = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
        if (c)
            return c;
    }
    c = curl_easy_init();
    if (!c)
        return NULL;
    CURLSH *share = p ? p->share : env ? env->curl_share : NULL;
    if (share)
        curl_easy_setopt(c, CURLOPT_SHARE, share);
    return c;
}

void channel__easy_put(const struct channel_env *env, CURL *c)
{
    struct channel_pool *p = env ? env->pool : NULL;
    if (!c)
        return;
    if (!p) {
        curl_easy_cleanup(c);
        return;
    }
    long opened = 0;
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
        __atomic_add_fetch(&p->connections, (uint64_t)opened, __ATOMIC_RELAXED);
    /* Options go back to the defaults; connections, DNS cache, TLS sessions
     * and the share stay (curl_easy_reset keeps them). */
    curl_easy_reset(c);
    pthread_mutex_lock(&p->mu);
    if (p->nidle < p->max_idle) {
        p->idle[p->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (c)
        curl_easy_cleanup(c);
}
