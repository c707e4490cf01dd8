/*
 * fuzz_address: crm_normalize_address on arbitrary text, the first byte
 * choosing the kind (phone, whatsapp, email). Invariants: it never crashes
 * or writes past the output; an accepted phone or WhatsApp number is E.164
 * ("+", 7..15 digits, the first 1-9); an accepted e-mail is lower-case ASCII
 * letters and has one "@"; and normalising the result again gives it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"phone", "whatsapp", "email"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[CRM_ADDRESS_MAX], again[CRM_ADDRESS_MAX];
    const char *kind;
    char *s;

    if (size < 1 || size > 512)
        return 0;
    kind = kinds[data[0] % 3];
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (crm_normalize_address(kind, s, out, sizeof(out), NULL) == 0) {
        size_t n = strlen(out);
        if (n >= sizeof(out))
            abort();
        if (kind[0] != 'e') {
            if (n < 8 || n > 16 || out[0] != '+' || out[1] < '1' || out[1] > '9')
                abort();
            for (size_t i = 1; i < n; i++)
                if (out[i] < '0' || out[i] > '9')
                    abort();
        } else {
            const char *at = strchr(out, '@');
            if (!at || strchr(at + 1, '@'))
                abort();
            for (size_t i = 0; i < n; i++)
                if (out[i] >= 'A' && out[i] <= 'Z')
                    abort();
        }
        if (crm_normalize_address(kind, out, again, sizeof(again), NULL) != 0 || strcmp(out, again) != 0)
            abort();
    }
    free(s);
    return 0;
}
