/*
 * rollout.c - the rollout policy's cross-key checks and which policy a
 * base's updates follow (jobs/rollout.c runs it).
 */
#include <string.h>

#include "config-int.h"

void
strata_config__check_rollout_stage(strata_config__ctx *ctx, void *obj,
                                   const yaml_node_t *node)
{
    const strata_config_rollout_stage *s = obj;
    int n = (s->images.count > 0) + (s->teams.count > 0) + (s->percent > 0);

    if (node == NULL)
        return;
    if (n == 0)
        strata_config__at(ctx, node,
                          "a rollout stage needs 'images', 'teams' or "
                          "'percent'");
    else if (n > 1)
        strata_config__at(ctx, node,
                          "a rollout stage takes one of 'images', 'teams' "
                          "or 'percent', not %d of them",
                          n);
}

void
strata_config__check_rollout(strata_config__ctx *ctx, void *obj,
                             const yaml_node_t *node)
{
    const strata_config_rollout *r = obj;

    if (node == NULL)
        return;
    if (r->n_stages == 0)
        strata_config__at(ctx, node,
                          "rollout needs 'stages' (the last stage, the rest, "
                          "comes after them)");
    else if (r->n_stages > 16)
        strata_config__at(ctx, node,
                          "rollout has %zu stages (at most 16, and the rest)",
                          r->n_stages);
}

const strata_config_rollout *
strata_config_rollout_for(const strata_config_data *cfg, const char *base_ref)
{
    size_t i;

    for (i = 0; base_ref != NULL && i < cfg->watch.n_bases; i++)
        if (cfg->watch.bases[i].rollout.set &&
            strcmp(cfg->watch.bases[i].ref, base_ref) == 0)
            return &cfg->watch.bases[i].rollout;
    return cfg->rollout.set ? &cfg->rollout : NULL;
}
