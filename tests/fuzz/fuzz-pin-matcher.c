/*
 * fuzz-pin-matcher.c - libFuzzer target for user-defined matchers
 * (pin/matcher.c): the first line is the expression (it compiles or is
 * refused with its offset), the rest the file it reads, within its limits.
 */
#include "fuzz-pin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    strata_pin_matchers *m;
    strata_error err = {0};
    const char *glob = "*";
    char *regex;

    if (nl == NULL || nl - data > 256)
        return 0;
    regex = strndup((const char *) data, (size_t) (nl - data));
    m = strata_pin_matchers_new();
    if (strata_pin_matchers_add(m, &glob, 1, regex, &err) != 0) {
        check(strncmp(err.msg, "matcher '", 9) == 0);
    } else {
        check(strata_pin_matchers_select(m, "infra/main.tf"));
        fuzz_pin(nl + 1, size - (size_t) (nl + 1 - data), STRATA_PIN_OTHER,
                 "infra/main.tf", m);
    }
    strata_pin_matchers_free(m);
    free(regex);
    return 0;
}
