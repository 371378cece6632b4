/*
 * check.c - one check of one watch, as a chain of registry callbacks:
 * (policy: list tags, pick the best) -> HEAD the tag -> if the digest
 * differs from the stored one, GET the manifest by tag and make sure its
 * content hashes to that digest (so a registry or proxy that lies in a
 * header cannot fake a change) -> settle window -> record the observation,
 * its event and what the owner's on_record writes in one store
 * transaction -> report. A failure at any step
 * is recorded with strata_store_watch_error and never moves the digest.
 * Every path ends in check_end(), which hands the result to poller.c.
 */
#include <stdlib.h>
#include <string.h>

#include "watchers-int.h"

typedef struct check {
    strata_watcher *w;
    strata_watcher__watch *wt;
    int in_round;
    int64_t started_ms;
    char *tag;          /* the tag a policy picked */
    strata_ref *target; /* name:tag, what is read */
    char *digest;       /* what HEAD said */
    /* The verification gate (gate.c), for a watch with a policy. */
    strata_watcher__verdict *verdict; /* what this check found, or NULL */
    json_t *gate_platforms;           /* platforms held while verifying */
    const char *gate_state;           /* as recorded: a constant */
    char *gate_summary;
} check;

static void
check_end(check *c, const strata_watcher__result *res)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    int in_round = c->in_round;

    free(c->tag);
    strata_ref_free(c->target);
    free(c->digest);
    strata_watcher__verdict_free(c->verdict);
    json_decref(c->gate_platforms);
    free(c->gate_summary);
    free(c);
    strata_watcher__check_done(w, wt, in_round, res);
}

unsigned
strata_watcher__record_error(strata_watcher *w, strata_watcher__watch *wt,
                             const strata_error *cerr)
{
    strata_error err = {0};
    int64_t n = 0;
    int64_t now = strata_now_ms();

    wt->errors++;
    wt->last_ms = now;
    if (strata_store_watch_error(&n, w->store, wt->key, cerr->msg,
                                 strata_watcher__next_due(w, wt, now),
                                 &err) != 0)
        log_error("watch '%s': cannot record an error: %s", wt->key, err.msg);
    else if (n > 0)
        wt->errors = (unsigned) n;
    if (w->opts.on_error != NULL)
        w->opts.on_error(wt->key, cerr, w->opts.arg);
    else
        log_warn("watch '%s': %s", wt->key, cerr->msg);
    return wt->errors;
}

static void
check_fail(check *c, const strata_error *err)
{
    strata_watcher__result res = {0};

    res.started_ms = c->started_ms;
    /* A closed client is our own doing, not the registry's failure. */
    if (err->code == STRATA_ECANCELED)
        res.canceled = 1;
    else
        strata_watcher__record_error(c->w, c->wt, err);
    check_end(c, &res);
}

/* ---- platforms ---------------------------------------------------------- */

/* {"os/arch[/variant]": digest} for an index; new reference. */
static json_t *
platforms_of(const strata_manifest *m)
{
    json_t *o = json_object();
    size_t i;

    for (i = 0; i < m->nmanifests; i++) {
        const strata_descriptor *d = &m->manifests[i];
        char *key;

        /* Attestation manifests ("unknown/unknown") are not platforms. */
        if (d->os == NULL || d->arch == NULL || strcmp(d->os, "unknown") == 0)
            continue;
        key = d->variant
                  ? strata_xasprintf("%s/%s/%s", d->os, d->arch, d->variant)
                  : strata_xasprintf("%s/%s", d->os, d->arch);
        if (json_object_get(o, key) == NULL)
            json_object_set_new(o, key, json_string(d->digest));
        free(key);
    }
    return o;
}

static int
watched_platform(const strata_watcher__watch *wt, const char *p)
{
    size_t i;

    if (wt->nplatforms == 0)
        return 1;
    for (i = 0; i < wt->nplatforms; i++)
        if (strcmp(wt->platforms[i], p) == 0)
            return 1;
    return 0;
}

/* The watched platforms whose digest differs between old and new. */
static json_t *
platforms_changed(const strata_watcher__watch *wt, const json_t *old,
                  const json_t *new)
{
    json_t *out = json_array();
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *) new, k, v) {
        const char *o = json_string_value(json_object_get(old, k));

        if (watched_platform(wt, k) &&
            (o == NULL || strcmp(o, json_string_value(v)) != 0))
            json_array_append_new(out, json_string(k));
    }
    json_object_foreach ((json_t *) old, k, v) {
        if (watched_platform(wt, k) && json_object_get(new, k) == NULL)
            json_array_append_new(out, json_string(k));
    }
    return out;
}

/* ---- recording and reporting ------------------------------------------ */

/*
 * Describes a change for the callbacks; *names (free it) holds the
 * platform names ch points to.
 */
static void
describe(strata_watcher_change *ch, const char ***names, check *c,
         const char *old, const json_t *platforms, const json_t *changed,
         int64_t now)
{
    size_t i, n = json_array_size(changed);

    memset(ch, 0, sizeof(*ch));
    *names = n > 0 ? strata_xcalloc(n, sizeof(**names)) : NULL;
    for (i = 0; i < n; i++)
        (*names)[i] = json_string_value(json_array_get(changed, i));
    ch->ref = c->wt->key;
    ch->old_digest = old;
    ch->new_digest = c->digest;
    ch->tag = c->tag;
    ch->target = strata_ref_string(c->target);
    ch->platforms_changed = *names;
    ch->nplatforms_changed = n;
    ch->platforms = platforms;
    ch->time_ms = now;
    ch->verify_state = c->gate_state;
    ch->verify_summary = c->gate_summary;
}

static void
report(check *c, const char *old, const json_t *platforms,
       const json_t *changed, int64_t now)
{
    strata_watcher *w = c->w;
    strata_watcher_change ch;
    const char **names = NULL;

    if (w->opts.on_change == NULL)
        return;
    describe(&ch, &names, c, old, platforms, changed, now);
    w->opts.on_change(&ch, w->opts.arg);
    free(names);
}

/* Lets the owner write what goes with the change, in its transaction. */
static int
record_with(check *c, const char *old, const json_t *platforms,
            const json_t *changed, int64_t now, strata_error *err)
{
    strata_watcher *w = c->w;
    strata_watcher_change ch;
    const char **names = NULL;
    int rc;

    if (w->opts.on_record == NULL)
        return 0;
    describe(&ch, &names, c, old, platforms, changed, now);
    rc = w->opts.on_record(&ch, err, w->opts.arg);
    free(names);
    if (rc == 0)
        return 0;
    if (err->code == 0)
        strata_error_set(err, rc < 0 ? rc : STRATA_EINTERNAL,
                         "recording the change of '%s' failed", c->wt->key);
    return err->code;
}

static json_t *
event_payload(check *c, const char *old, const json_t *platforms,
              const json_t *changed)
{
    json_t *p = json_object();

    json_object_set_new(p, "ref", json_string(c->wt->key));
    json_object_set_new(p, "old", old ? json_string(old) : json_null());
    json_object_set_new(p, "new", json_string(c->digest));
    if (c->tag != NULL)
        json_object_set_new(p, "tag", json_string(c->tag));
    json_object_set_new(p, "target", json_string(strata_ref_string(c->target)));
    if (c->gate_state != NULL)
        json_object_set_new(p, "verify", json_string(c->gate_state));
    if (platforms != NULL) {
        json_object_set(p, "platforms", (json_t *) platforms);
        json_object_set(p, "platforms_changed", (json_t *) changed);
    }
    return p;
}

/*
 * Writes the observation (and, for a first sighting or a change, its
 * event) in one transaction, then reports. platforms: the index's
 * per-platform digests when they were read (a changed digest), else NULL.
 */
static void
record(check *c, json_t *platforms)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    strata_watcher__result res = {0};
    strata_store_observation obs = {0};
    strata_error err = {0};
    char *previous = NULL;
    json_t *changed = NULL, *payload = NULL;
    int64_t now = strata_now_ms();
    int rc;

    res.started_ms = c->started_ms;
    wt->errors = 0;
    wt->last_ms = c->started_ms;
    obs.ref = wt->key;
    obs.digest = c->digest;
    obs.tag = c->tag;
    obs.platforms = platforms;
    obs.next_check_ms = strata_watcher__next_due(w, wt, now);
    if ((rc = strata_store_begin(w->store, &err)) != 0)
        goto fail;
    if ((rc = strata_store_watch_observe(NULL, &previous, w->store, &obs,
                                         &err)) != 0)
        goto rollback;
    /* The gate's verdict, decided in the same transaction as the digest. */
    if (c->verdict != NULL &&
        (rc = strata_watcher__gate_record(&c->gate_state, w, wt->gate, wt->key,
                                          c->digest, c->verdict, now, &err)) !=
            0)
        goto rollback;
    if (c->verdict != NULL)
        c->gate_summary = c->verdict->summary
                              ? strata_xstrdup(c->verdict->summary)
                              : NULL;
    if (previous == NULL || strcmp(previous, c->digest) != 0) {
        changed = platforms_changed(wt, previous ? wt->current_platforms : NULL,
                                    platforms);
        payload = event_payload(c, previous, platforms, changed);
        if (!w->opts.no_events &&
            (rc = strata_store_event_append(
                 NULL, w->store, previous ? "base.updated" : "base.first_seen",
                 wt->key, payload, now, &err)) != 0)
            goto rollback;
        /*
         * What the owner must do about the change (notify's outbox rows)
         * is committed with the new digest or not at all: a full disk then
         * leaves the digest where it was, and the next check sees the
         * change again, instead of a digest that moved without its
         * notification.
         */
        if ((rc = record_with(c, previous, platforms, changed, now, &err)) != 0)
            goto rollback;
    }
    if ((rc = strata_store_commit(w->store, &err)) != 0)
        goto rollback;
    res.ok = 1;
    if (payload != NULL) {
        res.changed = 1;
        res.first = previous == NULL;
        log_info("watch '%s': %s -> %s", wt->key,
                 previous ? previous : "(first sighting)", c->digest);
        report(c, previous, platforms, changed, now);
    }
    if (wt->current == NULL || strcmp(wt->current, c->digest) != 0) {
        free(wt->current);
        wt->current = strata_xstrdup(c->digest);
        json_decref(wt->current_platforms);
        wt->current_platforms = json_incref(platforms);
    }
    /* Whatever was pending has been recorded (or superseded). */
    strata_watchers_settle_release(&wt->settle);
    strata_watchers_settle_init(&wt->settle, wt->current);
    goto out;
rollback:
    strata_store_rollback(w->store);
fail:
    strata_watcher__record_error(w, wt, &err);
out:
    free(previous);
    json_decref(changed);
    json_decref(payload);
    json_decref(platforms);
    check_end(c, &res);
}

static void
on_gate(strata_watcher__verdict *v, void *arg)
{
    check *c = arg;
    strata_watcher__result res = {0};
    json_t *platforms = c->gate_platforms;

    c->gate_platforms = NULL;
    if (v == NULL) {
        /* The registry client was closed: nothing is recorded. */
        json_decref(platforms);
        res.started_ms = c->started_ms;
        res.canceled = 1;
        check_end(c, &res);
        return;
    }
    c->verdict = v;
    record(c, platforms);
}

/*
 * Before a digest is recorded: when the watch has a signature policy and
 * this digest's gate is not decided yet, verify it (and each watched
 * platform's manifest) first, so the digest and its gate state are
 * written together. platforms: the index's, when it was read.
 */
static void
gate_or_record(check *c, json_t *platforms)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    const json_t *plats = platforms ? platforms : wt->current_platforms;
    const char **digests;
    strata_error err = {0};
    size_t i, n = 1;

    if (wt->gate == NULL ||
        !strata_watcher__gate_pending(w, wt->key, c->digest)) {
        record(c, platforms);
        return;
    }
    digests = strata_xcalloc(wt->nplatforms + 2, sizeof(*digests));
    digests[0] = c->digest;
    for (i = 0; i < wt->nplatforms; i++) {
        const char *d =
            json_string_value(json_object_get(plats, wt->platforms[i]));

        if (d != NULL && strcmp(d, c->digest) != 0)
            digests[n++] = d;
    }
    c->gate_platforms = platforms;
    if (strata_watcher__gate_start(w, wt->gate, c->target, digests, n, on_gate,
                                   c, &err) != 0) {
        /* Could not look at all (the client is closing): no verdict. */
        c->gate_platforms = NULL;
        c->verdict = strata_xcalloc(1, sizeof(*c->verdict));
        c->verdict->summary = strata_xasprintf("not verified: %s", err.msg);
        c->verdict->signers = json_array();
        c->verdict->digests = json_array();
        record(c, platforms);
    }
    free(digests);
}

/*
 * A verified new digest: with a settle window (and something to compare
 * with), wait until it has been stable for the whole window.
 */
static void
settle_or_record(check *c, json_t *platforms)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    strata_watcher__result res = {0};
    const char *settled = NULL;
    char *old = NULL;
    int64_t now = strata_now_ms();

    if (w->opts.settle_ms == 0 || c->in_round || wt->current == NULL) {
        gate_or_record(c, platforms);
        return;
    }
    strata_watchers_settle_observe(&wt->settle, c->digest, now);
    if (strata_watchers_settle_take(&settled, &old, &wt->settle, now,
                                    w->opts.settle_ms)) {
        free(old);
        gate_or_record(c, platforms);
        return;
    }
    log_debug("watch '%s': '%s' waits for the settle window", wt->key,
              c->digest);
    json_decref(platforms);
    wt->errors = 0;
    wt->last_ms = c->started_ms;
    res.started_ms = c->started_ms;
    res.ok = 1;
    res.settling = 1;
    check_end(c, &res);
}

/* ---- the registry steps --------------------------------------------- */

static void
on_manifest(strata_manifest *m, const strata_error *merr, void *arg)
{
    check *c = arg;
    strata_error err = {0};
    json_t *platforms = NULL;

    if (merr != NULL) {
        check_fail(c, merr);
        return;
    }
    if (strcmp(m->digest, c->digest) != 0) {
        /* The tag moved between HEAD and GET, or the HEAD lied. */
        strata_error_set(&err, STRATA_EPROTO,
                         "inconsistent answers for '%s': HEAD said '%s', "
                         "the manifest is '%s'",
                         strata_ref_string(c->target), c->digest, m->digest);
        strata_manifest_free(m);
        check_fail(c, &err);
        return;
    }
    if (m->is_index)
        platforms = platforms_of(m);
    strata_manifest_free(m);
    settle_or_record(c, platforms);
}

static void
on_head(char *digest, const strata_error *herr, void *arg)
{
    check *c = arg;
    strata_watcher__watch *wt = c->wt;
    strata_error err = {0};

    if (herr != NULL) {
        check_fail(c, herr);
        return;
    }
    c->digest = digest;
    if (wt->current != NULL && strcmp(wt->current, digest) == 0) {
        /* No change; a pending one flipped back. A digest still awaiting
         * its signature is verified again. */
        strata_watchers_settle_observe(&wt->settle, digest, strata_now_ms());
        gate_or_record(c, NULL);
        return;
    }
    if (strata_registry_get_manifest(c->w->registry, c->target, on_manifest, c,
                                     &err) != 0)
        check_fail(c, &err);
}

static void
head(check *c)
{
    strata_error err = {0};

    if (strata_registry_digest(c->w->registry, c->target, NULL, on_head, c,
                               &err) != 0)
        check_fail(c, &err);
}

static void
on_tags(char **tags, size_t ntags, const strata_error *terr, void *arg)
{
    check *c = arg;
    strata_watcher__watch *wt = c->wt;
    strata_error err = {0};
    const char *best = NULL;
    char *s;
    int rc;

    if (terr != NULL) {
        check_fail(c, terr);
        return;
    }
    rc = strata_tag_policy_select(&best, wt->policy,
                                       (const char *const *) tags, ntags, &err);
    if (rc == 0) {
        c->tag = strata_xstrdup(best);
        s = strata_xasprintf("%s:%s", strata_ref_name(wt->repo), best);
        rc = strata_ref_parse(&c->target, s, &err);
        free(s);
    } else {
        strata_error_wrap(&err, "'%s'", wt->key);
    }
    strata_registry_tags_free(tags, ntags);
    if (rc != 0)
        check_fail(c, &err);
    else
        head(c);
}

int
strata_watcher__check_start(strata_watcher *w, strata_watcher__watch *wt,
                            int in_round, strata_error *err)
{
    check *c = strata_xcalloc(1, sizeof(*c));
    int rc;

    c->w = w;
    c->wt = wt;
    c->in_round = in_round;
    c->started_ms = strata_now_ms();
    if (wt->policy != NULL) {
        rc = strata_registry_list_tags(w->registry, wt->repo,
                                       w->opts.tag_page_size,
                                       w->opts.tag_max_pages, on_tags, c, err);
    } else {
        c->target = strata_ref_dup(wt->ref);
        rc = strata_registry_digest(w->registry, c->target, NULL, on_head, c,
                                    err);
    }
    if (rc != 0) {
        strata_ref_free(c->target);
        free(c);
    }
    return rc;
}
