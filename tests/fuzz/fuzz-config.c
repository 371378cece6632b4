/*
 * fuzz-config.c - libFuzzer target for the configuration loader: any YAML
 * either loads with no problems, or fails with STRATA_EINVAL and at least
 * one problem, each "fuzz.yaml:LINE:COL: message" (or "fuzz.yaml: ...");
 * and a secret taken from the environment never shows in any message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-SECRET-0xc0ffee"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_config_problems *problems;
    strata_config *config = NULL;
    strata_error err = {0};
    size_t i, n;
    int rc, check_leak;

    if (size > 65536)
        return 0;
    /*
     * ${FUZZ_SECRET} in the input expands to a value that must not leak.
     * Inputs that could spell it themselves (literally or through YAML
     * escapes) are not checked for it.
     */
    setenv("FUZZ_SECRET", SECRET, 1);
    check_leak = memmem(data, size, "SECRET", 6) == NULL &&
                 memchr(data, '\\', size) == NULL;
    problems = strata_config_problems_new();
    rc = strata_config_load_string(&config, (const char *) data, size,
                                   "fuzz.yaml", "/nonexistent-fuzz-dir",
                                   problems, &err);
    n = strata_config_problems_count(problems);
    if (rc == 0) {
        if (config == NULL || n != 0)
            abort();
        (void) strata_config_data_get(config)->state;
    } else {
        if (rc != STRATA_EINVAL || config != NULL || n == 0)
            abort();
        if (check_leak && strstr(err.msg, SECRET) != NULL)
            abort();
    }
    for (i = 0; i < n; i++) {
        const strata_config_problem *p =
            strata_config_problems_get(problems, i);
        int line = 0, col = 0;

        if (strncmp(p->text, "fuzz.yaml:", 10) != 0)
            abort();
        if (p->line > 0 &&
            (sscanf(p->text, "fuzz.yaml:%d:%d: ", &line, &col) != 2 ||
             line != p->line || col != p->col || col < 1))
            abort();
        if (check_leak && strstr(p->text, SECRET) != NULL)
            abort();
    }
    strata_config_problems_free(problems);
    strata_config_free(config);
    return 0;
}
