/*
 * arena: a chunked bump allocator freed all at once (one per request).
 *
 * Chunks form a singly linked list, newest first. The first holds 4 KiB
 * and each new one doubles (capped at 1 MiB); a request larger than a
 * quarter of the next chunk gets a chunk of its own so it does not waste
 * the current one. Every returned pointer is zeroed and 16-byte aligned.
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST 4096
#define ARENA_MAX_CHUNK (1024 * 1024)

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
    struct arena_chunk *head;
    size_t next_size;
};

static void arena_oom(void)
{
    fputs("switchboard: out of memory\n", stderr);
    abort();
}

static struct arena_chunk *arena_chunk_new(size_t size)
{
    struct arena_chunk *c;

    if (size > SIZE_MAX - sizeof(*c))
        arena_oom();
    c = aligned_alloc(ARENA_ALIGN, (sizeof(*c) + size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1));
    if (!c)
        arena_oom();
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct arena *arena_new(void)
{
    struct arena *a = calloc(1, sizeof(*a));

    if (!a)
        arena_oom();
    a->next_size = ARENA_FIRST;
    return a;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c, *next;

    if (!a)
        return;
    for (c = a->head; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    struct arena_chunk *c = a->head;
    void *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        arena_oom();
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (!c || c->size - c->used < n) {
        if (n > a->next_size / 4) {
            /* Big allocation: own chunk, linked behind the current one so the
             * current chunk keeps serving small requests. */
            struct arena_chunk *big = arena_chunk_new(n);

            big->used = n;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            memset(big->data, 0, n);
            return big->data;
        }
        c = arena_chunk_new(a->next_size);
        c->next = a->head;
        a->head = c;
        if (a->next_size < ARENA_MAX_CHUNK)
            a->next_size *= 2;
    }
    p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p;
    size_t len = strnlen(s, n);

    p = arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    size_t len = strlen(s);
    char *p = arena_alloc(a, len + 1);

    memcpy(p, s, len + 1);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
