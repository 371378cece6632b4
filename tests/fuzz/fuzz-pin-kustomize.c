/*
 * fuzz-pin-kustomize.c - libFuzzer target for kustomization.yaml's
 * images: transformer (pin/kustomize.c), digest lines inserted included.
 */
#include "fuzz-pin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_pin(data, size, STRATA_PIN_KUSTOMIZE, "kustomization.yaml",
                    NULL);
}
