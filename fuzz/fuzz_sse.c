/*
 * fuzz_sse: the chat-completions stream parser (assistant_llm_stream_*,
 * over the SSE parser) on arbitrary bytes. Invariants: it never crashes,
 * leaks or reads out of bounds; and the result does not depend on how the
 * bytes were split: fed whole and fed in chunks cut where the first input
 * byte says, the outcome, the content and the usage are the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const char *p, size_t n, size_t step, struct assistant_llm_result *out)
{
    struct assistant_llm_stream s;
    struct err e;
    int rc = 0;
    assistant_llm_stream_init(&s, out, NULL, NULL);
    for (size_t i = 0; i < n && rc == 0; i += step)
        rc = assistant_llm_stream_feed(&s, p + i, i + step > n ? n - i : step, &e);
    if (rc == 0)
        rc = assistant_llm_stream_end(&s, &e);
    assistant_llm_stream_free(&s);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct assistant_llm_result a = {0}, b = {0};
    int ra = run(p, n, n ? n : 1, &a);
    int rb = run(p, n, step, &b);
    if (ra != rb || a.content.len != b.content.len ||
        (a.content.len && memcmp(a.content.data, b.content.data, a.content.len) != 0) ||
        a.prompt_tokens != b.prompt_tokens || a.completion_tokens != b.completion_tokens ||
        strcmp(a.model, b.model) != 0 || a.done != b.done)
        abort();
    assistant_llm_result_free(&a);
    assistant_llm_result_free(&b);
    return 0;
}
