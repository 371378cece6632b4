/*
 * action-pr-evidence.c - what changed in each base a `pr` change pins:
 * the package delta between its old and its new digest (packages/), read
 * in the pr worker before the body is written. Each image is read from
 * its registry with the configured credentials, through a connection of
 * the worker's own to the state store, which keeps every digest read: a
 * base under a thousand images is read once for the whole fleet, and
 * every later job costs one manifest request per side. A delta that
 * cannot be read (a registry error, no package database, no old digest)
 * never fails the pin: the base gets "delta_error", one line the body
 * shows instead.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/* The platform read: what strata diff reads by default. */
#define EVIDENCE_PLATFORM "linux/amd64"

/* Reads ref@digest's packages; opts from the configured registry. */
static int
read_one(strata_pkg_image **out, strata_store *st, const strata_pr__ctx *c,
         const char *ref, const char *digest, strata_error *err)
{
    strata_registry_opts opts = {0};
    const strata_config_registry *r;
    strata_ref *base = NULL, *with = NULL;
    int rc;

    if ((rc = strata_ref_parse(&base, ref, err)) != 0 ||
        (rc = strata_ref_with_digest(&with, base, digest, err)) != 0)
        goto out;
    r = c->job->env->config != NULL
            ? strata_config_registry_find(c->job->env->config,
                                          strata_ref_domain(with))
            : NULL;
    if (r != NULL)
        strata_config_registry_opts(&opts, r);
    opts.max_retries = 1;
    rc = strata_pkg_image_read_sync(out, st, &opts, with, EVIDENCE_PLATFORM,
                                    err);
out:
    strata_ref_free(with);
    strata_ref_free(base);
    return rc;
}

/* The delta of one base, or its error in base's "delta_error". */
static void
evidence_of(strata_pr__ctx *c, strata_store *st, json_t *base)
{
    const char *ref = strata_pr__field(base, "ref");
    const char *old = strata_pr__field(base, "old");
    strata_pkg_image *a = NULL, *b = NULL;
    strata_pkg_delta *d;
    strata_error err = {0};
    char *line;

    if (old == NULL) {
        json_object_set_new(base, "delta_error",
                            json_string("the previous digest is unknown"));
        return;
    }
    if (read_one(&a, st, c, ref, old, &err) != 0 ||
        read_one(&b, st, c, ref, strata_pr__field(base, "digest"), &err) != 0) {
        json_object_set_new(base, "delta_error", json_string(err.msg));
        goto out;
    }
    if (a->ecosystem == NULL && b->ecosystem == NULL) {
        json_object_set_new(base, "delta_error",
                            json_string("neither digest has a package "
                                        "database (dpkg, apk, rpm sqlite)"));
        goto out;
    }
    d = strata_pkg_delta_new(a, b);
    line = strata_pkg_delta_summary(d);
    json_object_set_new(
        base, "packages",
        json_pack("{s:s, s:b, s:b, s:{s:I, s:I, s:I, s:I}}", "summary", line,
                  "major", d->major, "release_changed", d->release_changed,
                  "counts", "added", (json_int_t) d->added, "removed",
                  (json_int_t) d->removed, "upgraded", (json_int_t) d->upgraded,
                  "downgraded", (json_int_t) d->downgraded));
    free(line);
    strata_pkg_delta_free(strata_strmap_put(c->deltas, ref, d));
out:
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
}

void
strata_pr__evidence(strata_pr__ctx *c)
{
    const char *path = strata_store_path(c->job->env->store);
    strata_store *st = NULL;
    strata_error err = {0};
    size_t i;
    json_t *e;

    if (!c->repo->pr.evidence_packages)
        return;
    /* The worker's own connection: the loop keeps using the daemon's. An
     * in-memory store cannot be shared, so nothing is kept then. */
    if (path != NULL && strcmp(path, ":memory:") != 0 &&
        strata_store_open(&st, path, &err) != 0) {
        log_warn("pr: packages not kept: %s", err.msg);
        st = NULL;
    }
    json_array_foreach (c->bases, i, e) {
        if (json_is_true(json_object_get(e, "live")))
            evidence_of(c, st, e);
    }
    strata_store_close(st);
}
