/*
 * fuzz-pin-devcontainer.c - libFuzzer target for the JSONC scanner of
 * devcontainer.json (pin/json.c): bounded depth, strings pinned inside
 * their own bytes, links that stay inside the repository.
 */
#include "fuzz-pin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_pin(data, size, STRATA_PIN_DEVCONTAINER,
                    ".devcontainer/devcontainer.json", NULL);
}
