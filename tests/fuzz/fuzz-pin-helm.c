/*
 * fuzz-pin-helm.c - libFuzzer target for Helm values and Chart.yaml's
 * artifacthub.io/images (pin/helm.c): the first byte picks which.
 */
#include "fuzz-pin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        return fuzz_pin(data + 1, size - 1, STRATA_PIN_HELM_CHART,
                        "chart/Chart.yaml", NULL);
    return fuzz_pin(data + 1, size - 1, STRATA_PIN_HELM_VALUES,
                    "chart/values.yaml", NULL);
}
