/*
 * A minimal test harness: each test is a function, TEST_RUN runs it and counts
 * failures, and main returns non-zero when any check failed. Checks report
 * file:line and continue, so one run shows every failure.
 */
#ifndef SB_TEST_H
#define SB_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond) do { \
    test_checks++; \
    if (!(cond)) { test_failures++; fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long _a = (long long)(a), _b = (long long)(b); test_checks++; \
    if (_a != _b) { test_failures++; fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
                    __FILE__, __LINE__, #a, _a, #b, _b); } \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *_a = (a), *_b = (b); test_checks++; \
    if (!_a || !_b || strcmp(_a, _b) != 0) { test_failures++; fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
                    __FILE__, __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)"); } \
} while (0)

#define TEST_RUN(fn) do { \
    int _before = test_failures; fn(); \
    fprintf(stderr, "%s %s\n", test_failures == _before ? "ok  " : "FAIL", #fn); \
} while (0)

#define TEST_DONE() do { \
    fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures); \
    return test_failures ? 1 : 0; \
} while (0)

#endif
