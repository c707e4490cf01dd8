/*
 * fuzz_template: template placeholders in user-authored text (template
 * bodies, subjects, HTML). The first byte picks plain or HTML rendering;
 * the rest is the text. Invariants: nothing crashes or reads past the
 * terminator; template_check and template_collect agree on what is valid;
 * a valid text renders whenever every collected name has a value (values
 * are HTML-escaped in HTML mode; a text without placeholders comes out
 * with no "{{"); with one name left out, rendering reports a missing
 * variable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf names = {0}, seen = {0}, out = {0};
    struct template_var *vars = NULL;
    struct err e = {0};
    cJSON *arr = NULL;
    int n = 0, html;
    char *s;

    if (size < 1 || size > 4096)
        return 0;
    html = data[0] & 1;
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    int checked = template_check(s, &e);
    buf_putc(&names, '[');
    int collected = template_collect(s, &names, &seen, &n, &e);
    buf_putc(&names, ']');
    if (checked == 0 && collected != 0 && strcmp(err_slug(&e), "too_many_variables") == 0)
        goto out; /* valid, but more distinct names than a template may have */
    if ((checked == 0) != (collected == 0))
        abort();
    if (checked != 0)
        goto out;
    if (json_parse(&arr, names.data, names.len, NULL) != 0 || cJSON_GetArraySize(arr) != n)
        abort(); /* the collected names are a JSON array of n strings */
    vars = calloc((size_t)n + 1, sizeof(*vars));
    if (!vars)
        goto out;
    for (int i = 0; i < n; i++) {
        vars[i].name = cJSON_GetArrayItem(arr, i)->valuestring;
        vars[i].value = "<v&\"'>";
    }
    if (template_render(s, vars, (size_t)n, html, &out, &e) != 0)
        abort();
    if (n == 0 && out.data && strstr(out.data, "{{"))
        abort(); /* a valid text without placeholders has no "{{" */
    if (html && !strchr(s, '<') && out.data && strchr(out.data, '<'))
        abort(); /* values ("<v&…>") are escaped in HTML: no '<' the text did not have */
    if (n > 0) {
        buf_reset(&out);
        if (template_render(s, vars + 1, (size_t)n - 1, html, &out, &e) != ERR_INVALID ||
            strcmp(err_slug(&e), "missing_variable") != 0)
            abort();
    }
out:
    cJSON_Delete(arr);
    free(vars);
    buf_free(&names);
    buf_free(&seen);
    buf_free(&out);
    free(s);
    return 0;
}
