/*
 * fuzz_multipart: arbitrary bytes as an Inbound Parse post. The first line
 * (up to 200 bytes) is the request's Content-Type, the rest its body; both
 * go through the boundary and multipart/form-data parsers, and the whole
 * post through channel_sendgrid_inbound (GMime included, for a field named
 * "email" or "headers"). The body is copied into an exact-size heap buffer
 * so ASan catches any read past it. Invariants: every part lies inside the
 * body; parse answers 0 or ERR_INVALID with no parts; an inbound event, when
 * there is one, has a sender.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "channel/channel.h"
#include "channel/channel_sendgrid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
    if (!nl)
        return 0;
    size_t ctlen = (size_t)(nl - data), blen = size - ctlen - 1;
    char *ct = malloc(ctlen + 1);
    char *body = malloc(blen ? blen : 1);
    if (!ct || !body) {
        free(ct);
        free(body);
        return 0;
    }
    memcpy(ct, data, ctlen);
    ct[ctlen] = '\0';
    if (blen)
        memcpy(body, nl + 1, blen);
    struct arena *a = arena_new();
    struct err e = {0};
    const char *boundary = channel_multipart_boundary(a, ct);
    if (boundary) {
        size_t bl = strlen(boundary);
        if (bl == 0 || bl > 70)
            abort();
        struct channel_part *p = NULL;
        size_t n = 0;
        int rc = channel_multipart_parse(a, boundary, body, blen, &p, &n, &e);
        if (rc == 0) {
            if (n > CHANNEL_MULTIPART_MAX_PARTS)
                abort();
            for (size_t i = 0; i < n; i++)
                if (!p[i].name || p[i].data < body || p[i].data + p[i].len > body + blen)
                    abort();
        } else if (rc != ERR_INVALID || n != 0) {
            abort();
        }
    }
    struct channel_events ev;
    err_clear(&e);
    int rc = channel_sendgrid_inbound(a, ct, body, blen, &ev, &e);
    if (rc == 0) {
        if (ev.n != 1 || !ev.items[0].from || !*ev.items[0].from || ev.items[0].kind != CHANNEL_EVENT_MESSAGE)
            abort();
    } else if (rc != ERR_INVALID || ev.n != 0) {
        abort();
    }
    arena_free(a);
    free(ct);
    free(body);
    return 0;
}
