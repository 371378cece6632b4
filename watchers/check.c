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

typedef struct strata_watcher__check check;

struct strata_watcher__check {
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
    /* The observation, while it waits in the batch (record). */
    check *bnext;
    json_t *platforms; /* the index's, when it was read */
    int64_t now;       /* when it was read */
    int64_t next_ms;   /* when the watch is due next */
    int quiet;         /* the digest the watch knows: likely no change */
    int failed;        /* not recorded: err says why */
    strata_error err;
    char *previous; /* as written: the stored digest before */
    json_t *changed, *payload;
};

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
    json_decref(c->platforms);
    free(c->previous);
    json_decref(c->changed);
    json_decref(c->payload);
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
 * A check's observation is not written at once: it waits in the watcher's
 * batch (a check ends only when its observation is committed, but its
 * registry slot goes to the next check at once), and the batch is written
 * in one transaction (strata_watcher__flush): when it holds BATCH_MAX
 * observations, BATCH_WAIT_MS after the first, or at once when it holds a
 * possible change or nothing else is under way. In the steady state one
 * commit serves hundreds of checks instead of one each. Nothing is
 * reported before the commit, so a crash loses no change that was
 * reported: at worst the last_check times of unchanged checks, which the
 * next check writes again.
 */
static void
record(check *c, json_t *platforms)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;

    c->platforms = platforms;
    c->now = strata_now_ms();
    wt->errors = 0;
    wt->last_ms = c->started_ms;
    c->next_ms = strata_watcher__next_due(w, wt, c->now);
    /* The digest it knows, nothing to verify: most likely no change. */
    c->quiet = c->verdict == NULL && platforms == NULL && wt->current != NULL &&
               strcmp(wt->current, c->digest) == 0;
    c->bnext = NULL;
    *w->batch_tail = c;
    w->batch_tail = &c->bnext;
    w->nbatch++;
    strata_watcher__park(w, wt, !c->quiet);
}

/*
 * Writes one observation (and, for a first sighting or a change, its
 * event, the gate's verdict and what on_record adds) inside the batch's
 * transaction. A quiet check takes the short path unless the store's
 * current digest moved meanwhile (another process): then it is recorded
 * in full, as the change it is.
 */
static int
write_full(check *c, strata_error *err)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    strata_store_observation obs = {0};
    int rc;

    obs.ref = wt->key;
    obs.digest = c->digest;
    obs.tag = c->tag;
    obs.platforms = c->platforms;
    obs.next_check_ms = c->next_ms;
    if ((rc = strata_store_watch_observe(NULL, &c->previous, w->store, &obs,
                                         err)) != 0)
        return rc;
    /* The gate's verdict, decided in the same transaction as the digest. */
    if (c->verdict != NULL && (rc = strata_watcher__gate_record(
                                   &c->gate_state, w, wt->gate, wt->key,
                                   c->digest, c->verdict, c->now, err)) != 0)
        return rc;
    if (c->verdict != NULL) {
        free(c->gate_summary);
        c->gate_summary =
            c->verdict->summary ? strata_xstrdup(c->verdict->summary) : NULL;
    }
    if (c->previous != NULL && strcmp(c->previous, c->digest) == 0)
        return 0;
    c->changed = platforms_changed(
        wt, c->previous ? wt->current_platforms : NULL, c->platforms);
    c->payload = event_payload(c, c->previous, c->platforms, c->changed);
    if (!w->opts.no_events &&
        (rc = strata_store_event_append(
             NULL, w->store, c->previous ? "base.updated" : "base.first_seen",
             wt->key, c->payload, c->now, err)) != 0)
        return rc;
    /*
     * What the owner must do about the change (notify's outbox rows) is
     * committed with the new digest or not at all: a full disk then leaves
     * the digest where it was, and the next check sees the change again,
     * instead of a digest that moved without its notification.
     */
    return record_with(c, c->previous, c->platforms, c->changed, c->now, err);
}

/* Undoes what write_full set in c, after its part was rolled back. */
static void
unwrite(check *c)
{
    free(c->previous);
    c->previous = NULL;
    json_decref(c->changed);
    c->changed = NULL;
    json_decref(c->payload);
    c->payload = NULL;
}

/*
 * One observation inside the batch's transaction. Returns non-zero only
 * when the transaction itself is lost; a failure of this observation alone
 * (its own part rolled back) sets c->failed.
 */
static int
write_one(check *c)
{
    strata_store *st = c->w->store;
    strata_store_observation obs = {0};
    int moved = 0, rc;

    if (c->quiet) {
        obs.ref = c->wt->key;
        obs.digest = c->digest;
        obs.tag = c->tag;
        obs.next_check_ms = c->next_ms;
        rc = strata_store_watch_seen(&moved, st, &obs, &c->err);
        if (rc != 0) {
            c->failed = 1;
            return rc;
        }
        if (!moved)
            return 0;
    }
    /* A part of its own: a refused on_record undoes only this change. */
    if ((rc = strata_store_begin(st, &c->err)) != 0) {
        c->failed = 1;
        return rc;
    }
    if ((rc = write_full(c, &c->err)) == 0 &&
        (rc = strata_store_commit(st, &c->err)) == 0)
        return 0;
    c->failed = 1;
    strata_store_rollback(st);
    unwrite(c);
    return strata_store_in_transaction(st) ? 0 : rc;
}

/* After the commit (or the failure): report, remember, end the check. */
static void
settle_one(check *c)
{
    strata_watcher *w = c->w;
    strata_watcher__watch *wt = c->wt;
    strata_watcher__result res = {0};

    res.started_ms = c->started_ms;
    if (c->failed) {
        strata_watcher__record_error(w, wt, &c->err);
        check_end(c, &res);
        return;
    }
    res.ok = 1;
    if (c->payload != NULL) {
        res.changed = 1;
        res.first = c->previous == NULL;
        log_info("watch '%s': %s -> %s", wt->key,
                 c->previous ? c->previous : "(first sighting)", c->digest);
        report(c, c->previous, c->platforms, c->changed, c->now);
    }
    if (wt->current == NULL || strcmp(wt->current, c->digest) != 0) {
        free(wt->current);
        wt->current = strata_xstrdup(c->digest);
        json_decref(wt->current_platforms);
        wt->current_platforms = json_incref(c->platforms);
    }
    /* Whatever was pending has been recorded (or superseded). */
    strata_watchers_settle_release(&wt->settle);
    strata_watchers_settle_init(&wt->settle, wt->current);
    check_end(c, &res);
}

void
strata_watcher__flush(strata_watcher *w)
{
    check *list = w->batch, *c, *next;
    strata_error err = {0};
    int rc;

    w->batch = NULL;
    w->batch_tail = &w->batch;
    w->nbatch = 0;
    if (list == NULL)
        return;
    rc = strata_store_begin(w->store, &err);
    for (c = list; rc == 0 && c != NULL; c = c->bnext)
        if ((rc = write_one(c)) != 0)
            err = c->err;
    if (rc == 0)
        rc = strata_store_commit(w->store, &err);
    if (rc == 0)
        w->stats.batches++;
    if (rc != 0) {
        /* Nothing of the batch was written: every check failed. */
        strata_store_rollback(w->store);
        for (c = list; c != NULL; c = c->bnext) {
            unwrite(c);
            if (!c->failed) {
                c->failed = 1;
                c->err = err;
            }
        }
    }
    for (c = list; c != NULL; c = next) {
        next = c->bnext;
        settle_one(c);
    }
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
    rc = strata_tag_policy_select(&best, wt->policy, (const char *const *) tags,
                                  ntags, &err);
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
