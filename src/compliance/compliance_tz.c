/*
 * compliance_tz: time zones from the system tz database, for quiet hours.
 *
 * A small reader of TZif files (RFC 8536; Debian package tzdata under
 * /usr/share/zoneinfo): version 1 data, or the 64-bit block of version 2+
 * and its footer, a POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0") for times after
 * the last transition (the "slim" files rely on it for every future year).
 * A loaded zone is immutable, so every thread uses it without locks; nothing
 * here calls setenv("TZ") or localtime, which would race between threads.
 * Every count and index in a file is checked before use: a corrupt or
 * hostile file gives ERR_INVALID, never a read out of bounds
 * (fuzz/fuzz_tz.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/compliance.h"

#define TZ_FILE_MAX (256 * 1024)
#define TZ_TRANS_MAX 4096
#define TZ_TYPES_MAX 256

/* The POSIX rule: std only (no dst), or std/dst with two transition rules. */
struct tz_rule_date {
    char kind;                        /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
    int a, b, c;                      /* J/D: day in a; M: month a, week b, weekday c */
    int32_t time;                     /* seconds after local midnight (may be negative or > 24 h) */
};

struct tz_posix {
    int has;                          /* a rule was given */
    int32_t std_off, dst_off;         /* UTC offsets, seconds east */
    int has_dst;
    struct tz_rule_date start, end;
};

struct compliance_tz {
    int ntrans;
    int64_t *trans;                   /* transition times, ascending */
    uint8_t *idx;                     /* type index per transition */
    int ntypes;
    int32_t *off;                     /* UTC offset per type */
    struct tz_posix rule;
};

/* ------------------------------------------------------------ calendar */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return yoe + era * 400 + (m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int floor_div(int64_t a, int64_t b, int64_t *q)
{
    *q = a / b - ((a % b) < 0);
    return 0;
}

/* Local seconds (since the epoch, in local wall time) of a rule date in year y. */
static int64_t rule_local(const struct tz_rule_date *r, int64_t y)
{
    int64_t day;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (r->kind == 'J') {
        day = days_from_civil(y, 1, 1) + r->a - 1 + (is_leap(y) && r->a >= 60);
    } else if (r->kind == 'D') {
        day = days_from_civil(y, 1, 1) + r->a;
    } else {
        int64_t first = days_from_civil(y, r->a, 1), wd, dom, len = mdays[r->a - 1] + (r->a == 2 && is_leap(y));
        floor_div(first + 4, 7, &wd); /* 1970-01-01 was a Thursday (4) */
        wd = first + 4 - wd * 7;
        dom = 1 + ((r->c - wd) % 7 + 7) % 7 + (int64_t)(r->b - 1) * 7;
        while (dom > len)
            dom -= 7;
        day = first + dom - 1;
    }
    return day * 86400 + r->time;
}

static int32_t posix_offset(const struct tz_posix *p, int64_t t)
{
    int64_t days, y, start, end;

    if (!p->has_dst)
        return p->std_off;
    floor_div(t + p->std_off, 86400, &days);
    y = year_of_days(days);
    start = rule_local(&p->start, y) - p->std_off; /* the change happens in standard time */
    end = rule_local(&p->end, y) - p->dst_off;     /* and back in daylight time */
    if (start < end)
        return t >= start && t < end ? p->dst_off : p->std_off;
    return t >= end && t < start ? p->std_off : p->dst_off;
}

int32_t compliance_tz_offset(const struct compliance_tz *tz, int64_t t)
{
    int lo = 0, hi;

    if (!tz)
        return 0;
    if (tz->ntrans == 0 || t < tz->trans[0]) {
        if (tz->ntrans == 0 && tz->rule.has)
            return posix_offset(&tz->rule, t);
        return tz->ntypes ? tz->off[0] : 0;
    }
    if (t >= tz->trans[tz->ntrans - 1] && tz->rule.has)
        return posix_offset(&tz->rule, t);
    hi = tz->ntrans - 1;
    while (lo < hi) { /* the last transition <= t */
        int mid = lo + (hi - lo + 1) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return tz->off[tz->idx[lo]];
}

/* ---------------------------------------------------------- POSIX rules */

static const char *posix_name(const char *s)
{
    const char *p = s;
    if (*p == '<') {
        p++;
        while (*p && *p != '>')
            p++;
        if (*p != '>' || p - s < 4)
            return NULL;
        return p + 1;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]h[h[h]][:mm[:ss]] into seconds; hours up to max_h. */
static const char *posix_time(const char *s, int max_h, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0, n = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    while (*s >= '0' && *s <= '9' && n < 3) {
        h = h * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || h > max_h)
        return NULL;
    if (*s == ':') {
        s++;
        if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'))
            return NULL;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (*s == ':') {
            s++;
            if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9'))
                return NULL;
            sec = (s[0] - '0') * 10 + (s[1] - '0');
            s += 2;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *posix_int(const char *s, int min, int max, int *out)
{
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9' && n < 4) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || v < min || v > max)
        return NULL;
    *out = v;
    return s;
}

static const char *posix_date(const char *s, struct tz_rule_date *d)
{
    memset(d, 0, sizeof(*d));
    d->time = 7200;
    if (*s == 'J') {
        d->kind = 'J';
        s = posix_int(s + 1, 1, 365, &d->a);
    } else if (*s == 'M') {
        d->kind = 'M';
        if ((s = posix_int(s + 1, 1, 12, &d->a)) && *s == '.' && (s = posix_int(s + 1, 1, 5, &d->b)) && *s == '.')
            s = posix_int(s + 1, 0, 6, &d->c);
        else
            s = NULL;
    } else {
        d->kind = 'D';
        s = posix_int(s, 0, 365, &d->a);
    }
    if (s && *s == '/')
        s = posix_time(s + 1, 167, &d->time);
    return s;
}

static int posix_parse(struct tz_posix *p, const char *s)
{
    int32_t v;

    memset(p, 0, sizeof(*p));
    if (!(s = posix_name(s)) || !(s = posix_time(s, 24, &v)))
        return ERR_INVALID;
    p->std_off = -v;
    p->has = 1;
    if (!*s)
        return 0;
    if (!(s = posix_name(s)))
        return ERR_INVALID;
    p->has_dst = 1;
    p->dst_off = p->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = posix_time(s, 24, &v)))
            return ERR_INVALID;
        p->dst_off = -v;
    }
    if (!*s) { /* no rule given: the US rule, as most implementations assume */
        p->start = (struct tz_rule_date){'M', 3, 2, 0, 7200};
        p->end = (struct tz_rule_date){'M', 11, 1, 0, 7200};
        return 0;
    }
    if (*s != ',' || !(s = posix_date(s + 1, &p->start)) || *s != ',' || !(s = posix_date(s + 1, &p->end)) || *s)
        return ERR_INVALID;
    return 0;
}

/* ---------------------------------------------------------------- TZif */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
    uint32_t isut, isstd, leap, time, type, chars;
};

static int read_hdr(const uint8_t *p, size_t n, struct tzif_hdr *h, int *version)
{
    if (n < 44 || memcmp(p, "TZif", 4) != 0)
        return ERR_INVALID;
    *version = p[4] == 0 ? 1 : p[4] - '0';
    if (*version < 1 || *version > 9)
        return ERR_INVALID;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    if (h->type == 0 || h->type > TZ_TYPES_MAX || h->time > TZ_TRANS_MAX || h->chars == 0 || h->chars > 4096 ||
        h->leap > 1024 || (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
        return ERR_INVALID;
    return 0;
}

static size_t block_len(const struct tzif_hdr *h, int tsize)
{
    return (size_t)h->time * (size_t)tsize + h->time + (size_t)h->type * 6 + h->chars +
           (size_t)h->leap * (size_t)(tsize + 4) + h->isstd + h->isut;
}

int compliance_tz_posix(struct compliance_tz **out, const char *spec, struct err *e)
{
    struct compliance_tz *tz;

    *out = NULL;
    tz = calloc(1, sizeof(*tz));
    if (!tz)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    if (!spec || strlen(spec) > 128 || posix_parse(&tz->rule, spec) != 0) {
        free(tz);
        return err_set(e, ERR_INVALID, "invalid_timezone", "not a POSIX TZ rule");
    }
    *out = tz;
    return 0;
}

int compliance_tz_parse(struct compliance_tz **out, const void *data, size_t n, struct err *e)
{
    const uint8_t *p = data, *d;
    struct tzif_hdr h;
    struct compliance_tz *tz = NULL;
    int version, tsize = 4;
    size_t off = 44, len;

    *out = NULL;
    if (!data || read_hdr(p, n, &h, &version) != 0)
        goto bad;
    len = block_len(&h, 4);
    if (len > n - off)
        goto bad;
    if (version >= 2) { /* skip the 32-bit block: the 64-bit one follows */
        off += len;
        if (read_hdr(p + off, n - off, &h, &version) != 0)
            goto bad;
        off += 44;
        tsize = 8;
        len = block_len(&h, 8);
        if (len > n - off)
            goto bad;
    }
    d = p + off;
    tz = calloc(1, sizeof(*tz));
    if (!tz)
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    tz->ntrans = (int)h.time;
    tz->ntypes = (int)h.type;
    tz->trans = calloc(h.time ? h.time : 1, sizeof(*tz->trans));
    tz->idx = calloc(h.time ? h.time : 1, 1);
    tz->off = calloc(h.type, sizeof(*tz->off));
    if (!tz->trans || !tz->idx || !tz->off) {
        compliance_tz_free(tz);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    for (uint32_t i = 0; i < h.time; i++) {
        tz->trans[i] = tsize == 8 ? be64(d + (size_t)i * 8) : (int64_t)(int32_t)be32(d + (size_t)i * 4);
        if (i && tz->trans[i] <= tz->trans[i - 1])
            goto bad;
    }
    d += (size_t)h.time * (size_t)tsize;
    for (uint32_t i = 0; i < h.time; i++) {
        if (d[i] >= h.type)
            goto bad;
        tz->idx[i] = d[i];
    }
    d += h.time;
    for (uint32_t i = 0; i < h.type; i++) {
        int32_t utoff = (int32_t)be32(d + (size_t)i * 6);
        if (utoff < -89999 || utoff > 93599 || d[i * 6 + 4] > 1 || d[i * 6 + 5] >= h.chars)
            goto bad;
        tz->off[i] = utoff;
    }
    if (version >= 2) { /* the footer: "\n" TZ-string "\n" */
        const char *f = (const char *)(p + off + len), *end = (const char *)p + n, *nl;
        char spec[130];
        if (f >= end || *f != '\n' || !(nl = memchr(f + 1, '\n', (size_t)(end - f - 1))))
            goto bad;
        if (nl > f + 1) {
            if ((size_t)(nl - f - 1) >= sizeof(spec))
                goto bad;
            memcpy(spec, f + 1, (size_t)(nl - f - 1));
            spec[nl - f - 1] = '\0';
            if (posix_parse(&tz->rule, spec) != 0)
                goto bad;
        }
    }
    *out = tz;
    return 0;
bad:
    compliance_tz_free(tz);
    return err_set(e, ERR_INVALID, "invalid_timezone", "not a valid TZif time zone file");
}

void compliance_tz_free(struct compliance_tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->off);
    free(tz);
}

/* An IANA name: letters, digits, "_+-." and "/" between parts; never
 * absolute, never "..", at most 64 bytes. */
static int name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || name[0] == '/' || name[n - 1] == '/' || strstr(name, "..") || strstr(name, "//"))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '+' || *p == '-' || *p == '.' || *p == '/'))
            return 0;
    return name[0] != '.';
}

int compliance_tz_load(struct compliance_tz **out, const char *dir, const char *name, struct err *e)
{
    char path[512];
    uint8_t *data = NULL;
    size_t n = 0;
    FILE *f;
    int rc;

    *out = NULL;
    if (!name_ok(name))
        return err_set(e, ERR_INVALID, "invalid_timezone", "'%.64s' is not a time zone name (e.g. America/New_York)",
                       name ? name : "");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo", name);
    if (!(f = fopen(path, "rb")))
        return err_set(e, ERR_INVALID, "invalid_timezone", "unknown time zone '%s'%s", name,
                       errno == ENOENT ? "" : " (the tz database cannot be read)");
    data = malloc(TZ_FILE_MAX);
    if (!data) {
        fclose(f);
        return err_set(e, ERR_NOMEM, NULL, "out of memory");
    }
    n = fread(data, 1, TZ_FILE_MAX, f);
    fclose(f);
    rc = compliance_tz_parse(out, data, n, e);
    free(data);
    if (rc == ERR_INVALID)
        err_set(e, ERR_INVALID, "invalid_timezone", "unknown time zone '%s'", name);
    return rc;
}

/* ---------------------------------------------------------- quiet hours */

int compliance_hhmm_parse(const char *s, int *out_minutes, struct err *e)
{
    if (!s || strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || s[3] < '0' ||
        s[3] > '5' || s[4] < '0' || s[4] > '9' || (s[0] - '0') * 10 + (s[1] - '0') > 23)
        return err_set(e, ERR_INVALID, "invalid_setting", "a time of day is HH:MM, 00:00 to 23:59");
    *out_minutes = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
    return 0;
}

int64_t compliance_quiet_until(const struct compliance_quiet *q, int64_t now_ms)
{
    int64_t now = 0, local, day, sod, end_local, t;
    int min, quiet;

    if (!q || q->start_min == q->end_min || q->start_min < 0 || q->end_min < 0)
        return 0;
    floor_div(now_ms, 1000, &now);
    local = now + compliance_tz_offset(q->tz, now);
    floor_div(local, 86400, &day);
    sod = local - day * 86400;
    min = (int)(sod / 60);
    quiet = q->start_min < q->end_min ? (min >= q->start_min && min < q->end_min)
                                      : (min >= q->start_min || min < q->end_min);
    if (!quiet)
        return 0;
    end_local = day * 86400 + (int64_t)q->end_min * 60;
    if (end_local <= local)
        end_local += 86400;
    /* Local wall time to UTC: the offset at the answer, found in two steps
     * (it may differ from now's across a DST change). */
    t = end_local - compliance_tz_offset(q->tz, now);
    t = end_local - compliance_tz_offset(q->tz, t);
    if (t <= now)
        t = now + 60;
    return t * 1000;
}
