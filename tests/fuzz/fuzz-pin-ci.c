/*
 * fuzz-pin-ci.c - libFuzzer target for CI pipelines (pin/ci.c) and the
 * PodSpecs of Kubernetes CRDs (pin/yaml.c): the first byte picks a GitHub
 * Actions workflow, a GitLab CI file or a manifest.
 */
#include "fuzz-pin.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        return fuzz_pin(data + 1, size - 1, STRATA_PIN_GITHUB,
                        ".github/workflows/ci.yml", NULL);
    case 1:
        return fuzz_pin(data + 1, size - 1, STRATA_PIN_GITLAB, ".gitlab-ci.yml",
                        NULL);
    default:
        return fuzz_pin(data + 1, size - 1, STRATA_PIN_MANIFEST,
                        "deploy/workload.yaml", NULL);
    }
}
