/*
 * fuzz_tz: the time-zone reader (compliance_tz.c) on arbitrary bytes, the
 * first byte choosing TZif data or a POSIX TZ rule. Invariants: it never
 * crashes or reads past its input; a zone it accepts answers offsets within
 * +-26 hours at any time, and quiet hours computed with it end after "now"
 * and within two days of it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t times[] = {INT32_MIN, -1, 0, 1700000000, 1772953199, 1772953200, 4118126400, INT64_MAX / 4};
    struct compliance_tz *tz = NULL;
    int rc;

    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1) {
        char *s = malloc(size);
        if (!s)
            return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        rc = compliance_tz_posix(&tz, s, NULL);
        free(s);
    } else {
        /* A copy of exactly the input, so ASan sees any read past it. */
        uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
        if (!copy)
            return 0;
        memcpy(copy, data + 1, size - 1);
        rc = compliance_tz_parse(&tz, copy, size - 1, NULL);
        free(copy);
    }
    if (rc != 0)
        return 0;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int32_t off = compliance_tz_offset(tz, times[i]);
        if (off < -26 * 3600 || off > 26 * 3600)
            abort();
    }
    {
        struct compliance_quiet q = {(data[0] >> 1) % 1440, (data[0] * 37) % 1440, tz};
        int64_t now = 1772942400LL * 1000, until = compliance_quiet_until(&q, now);
        if (until != 0 && (until <= now || until > now + 2LL * 86400 * 1000 + 26LL * 3600 * 1000))
            abort();
    }
    compliance_tz_free(tz);
    return 0;
}
