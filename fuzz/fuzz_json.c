/*
 * fuzz_json: json_parse on arbitrary bytes (not NUL-terminated: the input is
 * copied into an exact-size heap buffer so ASan catches any read past len),
 * then json_str / json_int / json_bool on every member of the result, and a
 * print round trip. Invariants checked: a success gives a non-NULL tree; a
 * failure sets ERR_INVALID with slug "invalid_json"; json_int only returns
 * values within +-2^53; a printed tree parses again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_json__members(const cJSON *obj, int depth)
{
    if (!obj || depth > 64)
        return;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        if (it->string) {
            int64_t v = 0;
            (void)json_str(obj, it->string);
            if (json_int(obj, it->string, &v) == 0) {
                if (v > (INT64_C(1) << 53) || v < -(INT64_C(1) << 53))
                    abort();
            }
            (void)json_bool(obj, it->string, 0);
        }
        if (cJSON_IsObject(it) || cJSON_IsArray(it))
            fuzz_json__members(it, depth + 1);
    }
    /* Names that are probably absent, and the empty name. */
    int64_t v;
    (void)json_str(obj, "id");
    (void)json_int(obj, "", &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    cJSON *root = NULL;
    struct err e = {0};
    int rc = json_parse(&root, copy, size, &e);
    if (rc == 0) {
        if (!root)
            abort();
        fuzz_json__members(root, 0);
        char *printed = json_print(root);
        if (printed) {
            cJSON *again = NULL;
            struct err e2 = {0};
            if (json_parse(&again, printed, strlen(printed), &e2) != 0)
                abort(); /* what we print we must be able to read */
            cJSON_Delete(again);
            free(printed);
        }
        cJSON_Delete(root);
    } else {
        if (rc != ERR_INVALID || root != NULL)
            abort();
        if (strcmp(err_slug(&e), "invalid_json") != 0)
            abort();
    }
    free(copy);
    return 0;
}
