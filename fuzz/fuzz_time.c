/*
 * fuzz_time: time_parse_iso on arbitrary NUL-terminated text. Invariants: it
 * never crashes or reads past the terminator; on success, formatting the
 * result and parsing that again gives the same instant (the formatter writes
 * milliseconds in UTC, so the round trip is exact for what it can represent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = 0;
    if (time_parse_iso(s, &ms) == 0) {
        /* Years 0000-9999 are what RFC 3339 can write; only round-trip those. */
        if (ms >= INT64_C(-62167219200000) && ms <= INT64_C(253402300799999)) {
            char out[32];
            int64_t back = 0;
            time_format_iso(ms, out);
            if (time_parse_iso(out, &back) != 0 || back != ms)
                abort();
        }
    }
    free(s);
    return 0;
}
