/*
 * fuzz_agent_config: the agent configuration parser over untrusted JSON
 * (PUT /api/v1/assistant/config bodies), alone and as a partial update of
 * the defaults, with its canonical JSON and diff.
 * Invariants: nothing crashes or reads out of bounds; a document that
 * parses gives canonical JSON that parses again to the same canonical
 * JSON (a fixed point), whose diff with itself is empty; a refusal is
 * ERR_INVALID "invalid_config" with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assistant/assistant_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct assistant_config c, again, def;
    struct buf j1 = {0}, j2 = {0}, diff = {0};
    struct err e = {0};

    if (size > 64 * 1024)
        return 0;
    assistant_config_default(&def);
    if (assistant_config_parse((const char *)data, size, &def, &c, &e) != 0) {
        if (e.code != ERR_INVALID || strcmp(e.slug, "invalid_config") != 0 || !e.msg[0])
            abort();
        return 0;
    }
    assistant_config_json(&c, &j1);
    memset(&e, 0, sizeof(e));
    if (assistant_config_parse(j1.data, j1.len, NULL, &again, &e) != 0)
        abort(); /* canonical output must read back */
    assistant_config_json(&again, &j2);
    /* api_key_set is read-only on input, so compare with it as parsed. */
    if (c.api_key_set == again.api_key_set && (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0))
        abort();
    if (assistant_config_diff(j1.data, j1.data, &diff, &e) != 0 || strcmp(diff.data, "[]") != 0)
        abort();
    buf_free(&j1);
    buf_free(&j2);
    buf_free(&diff);
    assistant_config_free(&c);
    assistant_config_free(&again);
    return 0;
}
