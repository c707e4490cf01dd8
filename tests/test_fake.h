/*
 * Provider fakes for C tests: start tests/fakes/<script> on a port it picks
 * (it prints "LISTENING <port>"), drive its control API (/_fake/mode,
 * /_fake/requests) and stop it; read recorded payloads. Header-only, like
 * test.h; include it once per test program. Needs SB_SOURCE_DIR (or the
 * source tree as the working directory) and python3 on PATH.
 */
#ifndef SB_TEST_FAKE_H
#define SB_TEST_FAKE_H

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

static const char *src_dir(void)
{
    const char *d = getenv("SB_SOURCE_DIR");
    return d ? d : ".";
}

/* A recorded provider payload, tests/channel/payloads/<name>: its bytes
 * (malloc'd, NUL-terminated), or NULL. */
__attribute__((unused)) static char *load_payload(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/channel/payloads/%s", src_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

struct fake {
    pid_t pid;
    int port;
    char base[64];
};

static int fake_start(struct fake *f, const char *script, const char *const *args)
{
    int fds[2];
    char path[1024];
    memset(f, 0, sizeof *f);
    snprintf(path, sizeof path, "%s/tests/fakes/%s", src_dir(), script);
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        const char *argv[12] = {"python3", path, "0"};
        for (int i = 0; args && args[i] && i < 8; i++)
            argv[3 + i] = args[i];
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[128] = "";
    if (!in || !fgets(line, sizeof line, in) || sscanf(line, "LISTENING %d", &f->port) != 1) {
        if (in)
            fclose(in);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    fclose(in);
    f->pid = pid;
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    return 0;
}

__attribute__((unused)) static void fake_stop(struct fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

static size_t collect(char *p, size_t s, size_t n, void *ud)
{
    buf_append(ud, p, s * n);
    return s * n;
}

/* GET or POST (body != NULL) to the fake's control API; returns the body (caller frees). */
static char *fake_ctl(const struct fake *f, const char *path, const char *body)
{
    struct buf out = {0};
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    buf_puts(&out, "");
    return buf_steal(&out);
}

__attribute__((unused)) static void fake_mode(const struct fake *f, const char *json)
{
    free(fake_ctl(f, "/_fake/mode", json));
}

/* The last request the fake recorded, parsed (caller cJSON_Deletes the root). */
__attribute__((unused)) static cJSON *fake_last(const struct fake *f, cJSON **root)
{
    char *s = fake_ctl(f, "/_fake/requests", NULL);
    *root = NULL;
    (void)json_parse(root, s, strlen(s), NULL);
    free(s);
    int n = *root ? cJSON_GetArraySize(*root) : 0;
    return n ? cJSON_GetArrayItem(*root, n - 1) : NULL;
}

/* The requests the fake recorded, parsed (caller cJSON_Deletes), or NULL. */
__attribute__((unused)) static cJSON *fake_requests(const struct fake *f)
{
    char *s = fake_ctl(f, "/_fake/requests", NULL);
    cJSON *root = NULL;
    (void)json_parse(&root, s, strlen(s), NULL);
    free(s);
    return root;
}

#endif
