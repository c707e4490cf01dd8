/*
 * fuzz_safety: the assistant's safety checks on arbitrary bytes: the input
 * check (customer text), the output check (an answer, under a fixed config
 * with prices, legal and medical advice and two phrases forbidden, an SMS
 * length, the customer's own addresses and two passages with a phone, an
 * e-mail, a link and a price), and redaction. Invariants: nothing crashes,
 * leaks or reads out of bounds; a verdict is ok exactly when its code is
 * empty, and a refusal has a reason; redaction only ever replaces (text
 * with no digit and no '@' comes back byte for byte) and is idempotent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_verdict(const struct assistant_verdict *v)
{
    if (v->ok != (v->code[0] == '\0'))
        abort();
    if (!v->ok && !v->reason[0])
        abort();
    if (!memchr(v->code, '\0', sizeof v->code) || !memchr(v->reason, '\0', sizeof v->reason))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const phrases[] = {"guaranteed delivery", "garantía total"};
    static const char *const own[] = {"+44 7700 900123", "jane@example.com"};
    static const struct assistant_passage passages[] = {
        {1, "d1", "Contact", "Call +1 (555) 010-2000 or help@shop.example; https://shop.example/help/returns", 1},
        {2, "d2", "Prices", "Basic $12 a month, premium 25,50 €.", 0.5},
    };
    if (size > 16384)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    struct assistant_verdict v;
    assistant_safety_input(s, &v);
    check_verdict(&v);

    struct assistant_config cfg;
    assistant_config_default(&cfg);
    cfg.forbid_prices = 1;
    cfg.forbidden_phrases = phrases;
    cfg.nforbidden = 2;
    struct assistant_output_rules r = {&cfg, size % 2 ? "sms" : NULL, own, 2, passages, 2};
    assistant_safety_output(s, &r, &v);
    check_verdict(&v);

    struct buf a = {0}, b = {0};
    assistant_redact(s, &a);
    if (!strpbrk(s, "0123456789@") && strcmp(a.data ? a.data : "", s) != 0)
        abort();
    assistant_redact(a.data ? a.data : "", &b);
    if (strcmp(a.data ? a.data : "", b.data ? b.data : "") != 0)
        abort();
    buf_free(&a);
    buf_free(&b);
    free(s);
    return 0;
}
