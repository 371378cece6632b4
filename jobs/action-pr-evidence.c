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
 * shows instead. With a scanner configured (the one rescans use), the
 * delta is linked with the findings of both digests (packages/vulns.c):
 * each digest is scanned once for the whole fleet, its findings kept in
 * the store under the base's name, as a rescan keeps an image's; a scan
 * that fails gets the base "vulns_error", one more line in the body.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/* The platform read when the base's watch lists none: strata diff's
 * default. */
#define EVIDENCE_PLATFORM "linux/amd64"

/* Reads ref@digest's packages; opts from the configured registry. */
static int
read_one(strata_pkg_image **out, strata_store *st, const strata_pr__ctx *c,
         const char *ref, const char *digest, const char *platform,
         strata_error *err)
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
    rc = strata_pkg_image_read_sync(out, st, &opts, with, platform, err);
out:
    strata_ref_free(with);
    strata_ref_free(base);
    return rc;
}

/*
 * The findings of base at digest ([finding] as the store keeps them,
 * new): the store's when that digest was scanned (by an earlier pr job,
 * or a rescan of that image), else the configured scanner's run on it
 * now, kept in the store under base's name for the rest of the fleet.
 */
static int
findings_of(json_t **out, strata_store *st, const strata_config_scanner *sc,
            const strata_ref *base, const char *ref, const char *digest,
            strata_error *err)
{
    strata_scan_run_opts o;
    strata_scan_report *r = NULL;
    int rc;

    *out = NULL;
    if (st != NULL) {
        rc = strata_pkg_findings_stored(out, st, base, digest, err);
        if (rc != STRATA_ENOTFOUND)
            return rc;
        strata_error_clear(err);
    }
    strata_jobs__scan_opts(&o, sc, ref, digest);
    if ((rc = strata_scan_run_sync(&r, NULL, &o, err)) != 0)
        return rc;
    if (st != NULL &&
        (rc = strata_scan_report_save(st, strata_ref_name(base), digest,
                                      sc->name, r, err)) != 0) {
        strata_scan_report_free(r);
        return rc;
    }
    *out = strata_scan_report_json(r);
    strata_scan_report_free(r);
    return 0;
}

/*
 * Links d with the findings of its two digests when a scanner is
 * configured, or sets base's "vulns_error": a scan that fails never fails
 * the pin.
 */
static void
vulns_of(strata_pr__ctx *c, strata_store *st, json_t *base, strata_pkg_delta *d)
{
    const strata_config_scanner *sc =
        c->job->env->cfg != NULL ? strata_jobs__scanner(c->job->env->cfg)
                                 : NULL;
    const char *ref = strata_pr__field(base, "ref");
    strata_ref *parsed = NULL;
    json_t *a = NULL, *b = NULL;
    strata_error err = {0};

    if (sc == NULL)
        return;
    if (d->old_digest == NULL || d->new_digest == NULL)
        strata_error_set(&err, STRATA_EINVAL, "a digest of '%s' is unknown",
                         ref);
    else if (strata_ref_parse(&parsed, ref, &err) == 0 &&
             findings_of(&a, st, sc, parsed, ref, d->old_digest, &err) == 0 &&
             findings_of(&b, st, sc, parsed, ref, d->new_digest, &err) == 0)
        strata_pkg_delta_link(d, a, b);
    if (err.code != 0) {
        log_warn("pr: vulnerabilities of '%s' unavailable: %s", ref, err.msg);
        json_object_set_new(base, "vulns_error", json_string(err.msg));
    }
    json_decref(a);
    json_decref(b);
    strata_ref_free(parsed);
}

/*
 * The platforms whose evidence base gets (new strings into out, at most
 * STRATA_PKG_MAX_PLATFORMS): those its watch lists (watch.bases[]
 * .platforms, matched by reference, else by name), else linux/amd64.
 */
static size_t
platforms_of(const strata_pr__ctx *c, const char *ref, char **out)
{
    const strata_config_data *cfg = c->job->env->cfg;
    const strata_config_base *found = NULL;
    strata_ref *parsed = NULL;
    size_t i, n = 0;

    if (cfg != NULL && strata_ref_parse(&parsed, ref, NULL) == 0) {
        for (i = 0; i < cfg->watch.n_bases && found == NULL; i++)
            if (strcmp(cfg->watch.bases[i].ref, ref) == 0)
                found = &cfg->watch.bases[i];
        for (i = 0; i < cfg->watch.n_bases && found == NULL; i++)
            if (cfg->watch.bases[i].name != NULL &&
                strcmp(cfg->watch.bases[i].name, strata_ref_name(parsed)) == 0)
                found = &cfg->watch.bases[i];
    }
    strata_ref_free(parsed);
    for (i = 0; found != NULL && i < found->platforms.count &&
                n < STRATA_PKG_MAX_PLATFORMS;
         i++)
        out[n++] = strata_xstrdup(found->platforms.items[i]);
    if (n == 0)
        out[n++] = strata_xstrdup(EVIDENCE_PLATFORM);
    return n;
}

/* One platform's delta of base (new), or NULL with err set. */
static strata_pkg_delta *
delta_of(strata_pr__ctx *c, strata_store *st, json_t *base,
         const char *platform, strata_error *err)
{
    const char *ref = strata_pr__field(base, "ref");
    strata_pkg_image *a = NULL, *b = NULL;
    strata_pkg_delta *d = NULL;

    if (read_one(&a, st, c, ref, strata_pr__field(base, "old"), platform,
                 err) != 0 ||
        read_one(&b, st, c, ref, strata_pr__field(base, "digest"), platform,
                 err) != 0)
        goto out;
    if (a->ecosystem == NULL && b->ecosystem == NULL) {
        strata_error_set(err, STRATA_ENOTFOUND,
                         "neither digest has a package database (dpkg, apk, "
                         "rpm sqlite)");
        goto out;
    }
    d = strata_pkg_delta_new(a, b);
    vulns_of(c, st, base, d);
out:
    strata_pkg_image_free(a);
    strata_pkg_image_free(b);
    return d;
}

/* {"summary", "major", "release_changed", "counts", "cves_…"} of d. */
static json_t *
packages_json(const strata_pkg_delta *d)
{
    char *line = strata_pkg_delta_summary(d);
    json_t *pk = json_pack(
        "{s:s, s:b, s:b, s:{s:I, s:I, s:I, s:I}}", "summary", line, "major",
        d->major, "release_changed", d->release_changed, "counts", "added",
        (json_int_t) d->added, "removed", (json_int_t) d->removed, "upgraded",
        (json_int_t) d->upgraded, "downgraded", (json_int_t) d->downgraded);

    if (d->scanned) {
        json_object_set_new(pk, "cves_fixed",
                            json_integer((json_int_t) d->cves_fixed));
        json_object_set_new(pk, "cves_new",
                            json_integer((json_int_t) d->cves_new));
    }
    free(line);
    return pk;
}

/*
 * The delta of one base on each platform its watch lists, into
 * c->deltas; base gets "packages" (the first platform's, its summary
 * naming each platform when they differ, "platforms" listing each), or
 * "delta_error" when no platform could be read, and "delta_errors"
 * ({platform: error}) for the platforms that could not.
 */
static void
evidence_of(strata_pr__ctx *c, strata_store *st, json_t *base)
{
    const char *ref = strata_pr__field(base, "ref");
    char *platforms[STRATA_PKG_MAX_PLATFORMS];
    strata_pr__base_evidence *ev;
    strata_error err = {0}, first = {0};
    size_t i, n;

    if (strata_pr__field(base, "old") == NULL) {
        json_object_set_new(base, "delta_error",
                            json_string("the previous digest is unknown"));
        return;
    }
    n = platforms_of(c, ref, platforms);
    ev = strata_xcalloc(1, sizeof(*ev));
    for (i = 0; i < n; i++) {
        strata_pkg_delta *d;

        strata_error_clear(&err);
        if ((d = delta_of(c, st, base, platforms[i], &err)) == NULL) {
            if (first.code == 0)
                first = err;
            if (n > 1) {
                if (json_object_get(base, "delta_errors") == NULL)
                    json_object_set_new(base, "delta_errors", json_object());
                json_object_set_new(json_object_get(base, "delta_errors"),
                                    platforms[i], json_string(err.msg));
            }
            free(platforms[i]);
            continue;
        }
        ev->platforms[ev->n] = platforms[i];
        ev->deltas[ev->n++] = d;
    }
    if (ev->n == 0) {
        json_object_set_new(base, "delta_error", json_string(first.msg));
        json_object_del(base, "delta_errors");
        strata_pr__base_evidence_free(ev);
        return;
    }
    {
        json_t *pk = packages_json(ev->deltas[0]);
        int same = 1;

        for (i = 1; i < ev->n; i++)
            same = same && strata_pkg_delta_same(ev->deltas[0], ev->deltas[i]);
        if (ev->n > 1) {
            strata_buf line = STRATA_BUF_INIT;
            json_t *list = json_array();

            for (i = 0; i < ev->n; i++) {
                json_t *one = packages_json(ev->deltas[i]);

                json_object_set_new(one, "platform",
                                    json_string(ev->platforms[i]));
                if (!same)
                    strata_buf_printf(&line, "%s%s: %s", i ? " / " : "",
                                      ev->platforms[i],
                                      strata_pr__field(one, "summary"));
                if (json_is_true(json_object_get(one, "major")))
                    json_object_set(pk, "major", json_true());
                if (json_is_true(json_object_get(one, "release_changed")))
                    json_object_set(pk, "release_changed", json_true());
                json_array_append_new(list, one);
            }
            if (!same)
                json_object_set_new(pk, "summary",
                                    json_string(strata_buf_cstr(&line)));
            strata_buf_release(&line);
            json_object_set_new(pk, "platforms", list);
        }
        json_object_set_new(base, "packages", pk);
    }
    strata_pr__base_evidence_free(strata_strmap_put(c->deltas, ref, ev));
}

void
strata_pr__base_evidence_free(strata_pr__base_evidence *ev)
{
    size_t i;

    if (ev == NULL)
        return;
    for (i = 0; i < ev->n; i++) {
        free(ev->platforms[i]);
        strata_pkg_delta_free(ev->deltas[i]);
    }
    free(ev);
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
