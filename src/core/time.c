/*
 * time: wall-clock and monotonic clocks and RFC 3339 timestamps.
 *
 * All stored and logged times are Unix milliseconds in UTC and printed as
 * 2026-11-24T09:27:23.123Z. The parser accepts any RFC 3339 date-time:
 * optional fractional seconds (truncated to ms) and Z or a +hh:mm offset.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

int64_t time_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void time_format_iso(int64_t unix_ms, char out[32])
{
    /* Floor division so instants before 1970 print correctly. */
    int64_t secs = unix_ms / 1000, ms = unix_ms % 1000;
    time_t t;
    struct tm tm;

    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm)) {
        strcpy(out, "1970-01-01T00:00:00.000Z");
        return;
    }
    /* Years outside 0..9999 do not fit RFC 3339; clamp rather than overflow. */
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        strcpy(out, tm.tm_year < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z");
        return;
    }
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
             (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)ms % 1000u);
}

/* Read exactly n digits at *p; advances *p. -1 when not n digits. */
static int time_digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static int time_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int time_parse_iso(const char *s, int64_t *out_ms)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int year, mon, day, hour, min, sec, ms = 0, off_min = 0;
    struct tm tm;
    time_t t;

    if (!s)
        return ERR_INVALID;
    if ((year = time_digits(&p, 4)) < 0 || *p++ != '-')
        return ERR_INVALID;
    if ((mon = time_digits(&p, 2)) < 0 || *p++ != '-')
        return ERR_INVALID;
    if ((day = time_digits(&p, 2)) < 0)
        return ERR_INVALID;
    if (*p != 'T' && *p != 't')
        return ERR_INVALID;
    p++;
    if ((hour = time_digits(&p, 2)) < 0 || *p++ != ':')
        return ERR_INVALID;
    if ((min = time_digits(&p, 2)) < 0 || *p++ != ':')
        return ERR_INVALID;
    if ((sec = time_digits(&p, 2)) < 0)
        return ERR_INVALID;
    if (*p == '.') {
        int nd = 0;

        p++;
        if (!isdigit((unsigned char)*p))
            return ERR_INVALID;
        for (; isdigit((unsigned char)*p); p++, nd++)
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
        for (; nd < 3; nd++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;

        p++;
        if ((oh = time_digits(&p, 2)) < 0 || *p++ != ':')
            return ERR_INVALID;
        if ((om = time_digits(&p, 2)) < 0)
            return ERR_INVALID;
        if (oh > 23 || om > 59)
            return ERR_INVALID;
        off_min = sign * (oh * 60 + om);
    } else {
        return ERR_INVALID;
    }
    if (*p != '\0')
        return ERR_INVALID;
    if (mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 60)
        return ERR_INVALID;
    if (day > mdays[mon - 1] + (mon == 2 && time_is_leap(year)))
        return ERR_INVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second maps to the one before */
    t = timegm(&tm);
    *out_ms = ((int64_t)t - (int64_t)off_min * 60) * 1000 + ms;
    return 0;
}
