/*
 * plan.c - turns base updates into jobs. For every watched base whose
 * current digest differs from the digest last planned for it, and once
 * that digest has soaked, it asks the graph which images descend from the
 * base, in waves, and enqueues each image's configured actions with the
 * idempotency key (image, base digest, action). Planning state is one
 * meta row per base ("planned:REF" = digest) written in the same
 * transaction as the jobs, so a crash never plans an update twice or
 * forgets one. A base that needs approval waits, after its soak, until
 * "approved:REF" names its current digest (`strata approve`); so does an
 * update that pull_requests.evidence.hold_on holds (hold.c), after its
 * package delta has been read ("awaiting-evidence" until then). A first
 * sighting is recorded, not planned; a digest that strata's own rebuild
 * produced ("produced:REF") is not an update either: its children were
 * already planned with the base that caused it.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/*
 * The verification gate (watchers/gate.c) keeps one row per base,
 * "verify:REF" = {"digest", "state", "reason", ...}. A digest is held
 * while it awaits its signature or is quarantined, under an enforcing
 * policy; verified, approved and warn-mode digests go on. A base whose
 * configuration has an enforcing policy but no row for the digest (the
 * gate has not seen it) is held too. Returns 1 to hold and fills
 * update's "verify".
 */
static int
gate_holds(int *out_hold, json_t *update, strata_store *st,
           const strata_config_data *cfg, const strata_catalog *cat,
           const char *ref, const char *cur, strata_error *err)
{
    const strata_config_verify *v = strata_config_verify_for(cfg, cat, ref);
    char *key = strata_xasprintf("verify:%s", ref), *val = NULL;
    json_t *rec = NULL;
    const char *d, *state, *mode;
    int hold = 0, rc;

    *out_hold = 1;
    rc = strata_store_meta_get(&val, st, key, err);
    free(key);
    if (rc == STRATA_ENOTFOUND)
        strata_error_clear(err);
    else if (rc != 0)
        return rc;
    if (val != NULL)
        rec = json_loads(val, 0, NULL);
    free(val);
    d = json_string_value(json_object_get(rec, "digest"));
    if (d == NULL || strcmp(d, cur) != 0) {
        if (v->set && v->mode == STRATA_CONFIG_VERIFY_ENFORCE) {
            json_object_set_new(update, "verify",
                                json_pack("{s:s, s:s}", "state", "awaiting",
                                          "reason",
                                          "not checked for signatures yet"));
            hold = 1;
        }
        json_decref(rec);
        *out_hold = hold;
        return 0;
    }
    state = json_string_value(json_object_get(rec, "state"));
    mode = json_string_value(json_object_get(rec, "mode"));
    json_object_del(rec, "digests");
    json_object_set(update, "verify", rec);
    if (state != NULL && mode != NULL && strcmp(mode, "enforce") == 0 &&
        (strcmp(state, "awaiting") == 0 || strcmp(state, "quarantined") == 0))
        hold = 1;
    json_decref(rec);
    *out_hold = hold;
    return 0;
}

static const strata_config_base *
base_for(const strata_config_data *cfg, const char *ref)
{
    size_t i;

    for (i = 0; i < cfg->watch.n_bases; i++)
        if (strcmp(cfg->watch.bases[i].ref, ref) == 0)
            return &cfg->watch.bases[i];
    return NULL;
}

/* *out: first_seen of digest in ref's history, or -1. */
static int
first_seen(int64_t *out, strata_store *st, const char *ref, const char *digest,
           strata_error *err)
{
    json_t *list = NULL, *d;
    size_t i;
    int rc;

    *out = -1;
    if ((rc = strata_store_digests_list(&list, st, ref, err)) != 0)
        return rc;
    json_array_foreach (list, i, d) {
        if (strcmp(json_string_value(json_object_get(d, "digest")), digest) ==
            0)
            *out = json_integer_value(json_object_get(d, "first_seen"));
    }
    json_decref(list);
    return 0;
}

/* *out: the value of "prefix:ref" (caller frees), or NULL when unset. A
 * store error is returned: never taken for "unset" (a base never planned
 * would be recorded as first seen, and its update lost). */
static int
meta_get(char **out, strata_store *st, const char *prefix, const char *ref,
         strata_error *err)
{
    char *key = strata_xasprintf("%s:%s", prefix, ref);
    int rc = strata_store_meta_get(out, st, key, err);

    free(key);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        *out = NULL;
        return 0;
    }
    if (rc != 0)
        *out = NULL;
    return rc;
}

static int
meta_set(strata_store *st, const char *prefix, const char *ref,
         const char *value, strata_error *err)
{
    char *key = strata_xasprintf("%s:%s", prefix, ref);
    int rc = strata_store_meta_set(st, key, value, err);

    free(key);
    return rc;
}

int
strata_plan__mark_produced(strata_store *st, const char *image,
                           const char *digest, strata_error *err)
{
    return meta_set(st, "produced", image, digest, err);
}

/*
 * Non-zero while a rebuild or rebase of image is queued or running: a new
 * digest the watcher sees then is most likely strata's own push, which the
 * job records as produced only when it ends (or, after a crash, when it
 * runs again). Planning it now would act on the image's children twice.
 */
static int
being_produced(int *out, strata_store *st, const char *image, strata_error *err)
{
    /* One index probe (jobs_building), not a list of the whole queue. */
    return strata_store_job_producing(out, st, image, err);
}

typedef struct ranked {
    size_t hit;  /* index in the wave */
    size_t rank; /* how many of its repository's images come before it */
} ranked;

static int
cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->hit < y->hit ? -1 : x->hit > y->hit;
}

/*
 * The order a wave's jobs are queued in (the runner claims them in that
 * order): every repository's first image, then every repository's second,
 * and so on. A repository with five Dockerfiles on the base gets five pr
 * jobs that make the same change; queued side by side they would run at
 * once and wait on each other's mirror lock, and the last repository
 * would get its branch only after every repository's every job. Spread
 * out, one job per repository pushes first and the others find their
 * branch there. *out: the wave's hit indexes (caller frees).
 */
static size_t *
wave_order(const strata_graph_waves *w, size_t i, const strata_config_data *cfg)
{
    strata_strmap *count = strata_strmap_new();
    ranked *r = strata_xcalloc(w->len[i] + 1, sizeof(*r));
    size_t *order = strata_xcalloc(w->len[i] + 1, sizeof(*order));
    size_t j;

    for (j = 0; j < w->len[i]; j++) {
        const strata_config_repo *repo;
        const strata_config_image *img;
        uintptr_t n;

        strata_config_target(&repo, &img, cfg, w->waves[i][j].image);
        r[j].hit = j;
        if (repo == NULL)
            continue;
        n = (uintptr_t) strata_strmap_get(count, repo->url);
        r[j].rank = n;
        strata_strmap_put(count, repo->url, (void *) (n + 1));
    }
    qsort(r, w->len[i], sizeof(*r), cmp_ranked);
    for (j = 0; j < w->len[i]; j++)
        order[j] = r[j].hit;
    free(r);
    strata_strmap_free(count);
    return order;
}

/* Enqueues every action of every impacted image; fills "waves". */
static int
enqueue_waves(json_t *update, strata_store *st, const strata_graph *g,
              const strata_config_data *cfg, const strata_catalog *catalog,
              const char *base, const char *digest, int dry_run,
              strata_error *err)
{
    strata_graph_waves *w = NULL;
    json_t *waves = json_array(), **per_hit = NULL;
    size_t *order = NULL;
    size_t i, j, k;
    unsigned bit;
    char *upstream;
    int rc;

    json_object_set_new(update, "waves", waves);
    /* A watched mirror's images are in the graph under its upstream. */
    upstream = strata_config_upstream_ref(cfg, base);
    rc = strata_graph_impacted(&w, g, upstream != NULL ? upstream : base, err);
    free(upstream);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        rc = 0; /* nothing in the graph builds on it */
        w = NULL;
    }
    if (rc != 0)
        return rc;
    if (w == NULL)
        goto rollout; /* a newer digest still supersedes a rollout */
    if (w->cycle != NULL)
        json_object_set_new(update, "cycle", json_string(w->cycle));
    for (i = 0; i < w->nwaves; i++) {
        json_t *wave = json_array();

        json_array_append_new(waves, wave);
        /* Queued in wave_order; listed in the graph's order. */
        order = wave_order(w, i, cfg);
        per_hit = strata_xcalloc(w->len[i] + 1, sizeof(*per_hit));
        for (k = 0; k < w->len[i]; k++) {
            const strata_graph_hit *h = &w->waves[i][order[k]];
            const strata_config_repo *repo;
            const strata_config_image *img;
            unsigned actions;

            j = order[k];
            per_hit[j] = json_array();
            strata_config_target(&repo, &img, cfg, h->image);
            /* Unconfigured consumers are reported, not acted on. */
            actions = repo != NULL ? repo->on_base_update : 0;
            if (img == NULL)
                actions &= STRATA_ACTION_PR | STRATA_ACTION_NOTIFY;
            for (bit = 1; bit <= STRATA_ACTION_EXEC; bit <<= 1) {
                strata_store_job_spec spec = {0};
                json_t *entry;
                int64_t id = 0;
                int created = 0;

                if (!(actions & bit))
                    continue;
                spec.image = h->image;
                spec.action = strata_config_action_name(bit);
                spec.base_ref = base;
                spec.base_digest = digest;
                spec.wave = (int) i;
                if (!dry_run) {
                    rc =
                        strata_store_job_enqueue(&id, &created, st, &spec, err);
                    if (rc != 0)
                        goto out;
                    if (created) {
                        int n = 0;
                        rc =
                            strata_store_job_cancel_superseded(&n, st, id, err);
                        if (rc != 0)
                            goto out;
                    }
                }
                entry = json_pack("{s:s, s:s, s:i, s:s*, s:s*, s:i}", "image",
                                  h->image, "action", spec.action, "wave",
                                  (int) i, "repo", h->via.repo, "path",
                                  h->via.path, "line", (int) h->via.line);
                if (!dry_run) {
                    json_object_set_new(entry, "job", json_integer(id));
                    json_object_set_new(entry, "created",
                                        json_boolean(created));
                }
                json_array_append_new(per_hit[j], entry);
            }
        }
        for (j = 0; j < w->len[i]; j++) {
            json_array_extend(wave, per_hit[j]);
            json_decref(per_hit[j]);
            per_hit[j] = NULL;
        }
        free(per_hit);
        per_hit = NULL;
        free(order);
        order = NULL;
    }
rollout:
    /* Stages over the jobs just queued (rollout.c), in this transaction. */
    if (!dry_run)
        rc =
            strata_rollout__plan(st, cfg, catalog, base, digest, w, waves, err);
out:
    if (per_hit != NULL)
        for (j = 0; j < w->len[i]; j++)
            json_decref(per_hit[j]);
    free(per_hit);
    free(order);
    strata_graph_waves_free(w);
    return rc;
}

int
strata_plan_updates(json_t **out, strata_store *st, const strata_graph *g,
                    const strata_config_data *cfg, int dry_run, int64_t now,
                    strata_error *err)
{
    return strata_plan_updates_catalog(out, st, g, cfg, NULL, dry_run, now,
                                       err);
}

int
strata_plan_updates_catalog(json_t **out, strata_store *st,
                            const strata_graph *g,
                            const strata_config_data *cfg,
                            const strata_catalog *catalog, int dry_run,
                            int64_t now, strata_error *err)
{
    json_t *states = NULL, *updates = json_array(), *s;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = strata_store_watch_states(&states, st, err)) != 0)
        goto out;
    json_array_foreach (states, i, s) {
        const char *ref = json_string_value(json_object_get(s, "ref"));
        const char *cur =
            json_string_value(json_object_get(s, "current_digest"));
        char *planned = NULL, *produced = NULL;
        json_t *update;
        int64_t seen = -1;
        int hold = 0, building = 0;
        const strata_config_base *cb = base_for(cfg, ref);
        uint64_t soak = cb ? cb->soak_ms : cfg->watch.soak_ms;
        int approval = cb ? cb->approval : cfg->watch.approval;
        unsigned hold_on = cfg->pull_requests.evidence_hold_on;
        const char *held = NULL;
        char *approved = NULL;

        if (ref == NULL || cur == NULL)
            continue;
        if ((rc = meta_get(&planned, st, "planned", ref, err)) != 0)
            goto out;
        if (planned != NULL && strcmp(planned, cur) == 0) {
            free(planned);
            continue;
        }
        update = json_pack("{s:s, s:s*, s:s}", "base", ref, "old", planned,
                           "new", cur);
        json_array_append_new(updates, update);
        if ((rc = meta_get(&produced, st, "produced", ref, err)) != 0 ||
            (rc = first_seen(&seen, st, ref, cur, err)) != 0 ||
            ((approval || hold_on) &&
             (rc = meta_get(&approved, st, "approved", ref, err)) != 0))
            goto next;
        json_object_set_new(update, "first_seen", json_integer(seen));
        if (planned == NULL || (produced && strcmp(produced, cur) == 0)) {
            /* Nothing to do downstream: record it and move on. */
            json_object_set_new(
                update, "state",
                json_string(planned == NULL ? "first-seen" : "produced"));
            if (!dry_run)
                rc = meta_set(st, "planned", ref, cur, err);
            goto next;
        }
        if ((rc = gate_holds(&hold, update, st, cfg, catalog, ref, cur, err)) !=
            0)
            goto next;
        if (!hold && (rc = being_produced(&building, st, ref, err)) != 0)
            goto next;
        /* hold_on: the delta's verdict, unless this digest is approved. */
        if (hold_on && (approved == NULL || strcmp(approved, cur) != 0) &&
            (rc = strata_plan__hold(&held, update, st, hold_on, ref, planned,
                                    cur, err)) != 0)
            goto next;
        if (hold) {
            /* Never planned unless verified or approved --unsigned. */
            const char *gs = json_string_value(
                json_object_get(json_object_get(update, "verify"), "state"));

            json_object_set_new(
                update, "state",
                json_string(gs != NULL && strcmp(gs, "quarantined") == 0
                                ? "quarantined"
                                : "awaiting-signature"));
        } else if (building) {
            /* Decided when the job ends: produced, or a real update. */
            json_object_set_new(update, "state", json_string("building"));
        } else if (seen >= 0 && (uint64_t) (now - seen) < soak) {
            json_object_set_new(update, "state", json_string("soaking"));
            json_object_set_new(update, "soak_until",
                                json_integer(seen + (int64_t) soak));
        } else if (held != NULL) {
            /* "awaiting-evidence" (the delta is read by the daemon) or
             * "held" (hold_reason says why) until `strata approve`. */
            json_object_set_new(update, "state", json_string(held));
        } else if (approval && (approved == NULL || strcmp(approved, cur))) {
            /* Held: `strata approve REF` records approved:REF = digest. */
            json_object_set_new(update, "state",
                                json_string("awaiting-approval"));
        } else {
            json_object_set_new(update, "state", json_string("planned"));
            if (!dry_run && (rc = strata_store_begin(st, err)) != 0)
                goto next;
            rc = enqueue_waves(update, st, g, cfg, catalog, ref, cur, dry_run,
                               err);
            if (!dry_run && rc == 0)
                rc = meta_set(st, "planned", ref, cur, err);
            if (!dry_run && rc == 0)
                rc = strata_store_commit(st, err);
            else if (!dry_run)
                strata_store_rollback(st);
        }
    next:
        free(planned);
        free(produced);
        free(approved);
        if (rc != 0)
            goto out;
    }
    *out = updates;
    updates = NULL;
out:
    json_decref(states);
    json_decref(updates);
    return rc;
}
