/*
 * hold.c - the hold_on policy (pull_requests.evidence.hold_on): a base
 * update whose package delta shows what the policy names (a new
 * distribution release, a core package's major version jump, a
 * downgrade, a removal) is held for approval instead of planned. The
 * planner never reads a registry: the delta's verdict is one meta row per
 * base, "evidence:REF", written by whoever read the delta (the daemon, in
 * a worker: daemon/evidence.c) and read back here. A row is for one
 * (old, new) pair; a read that failed is a row too, with its error and
 * when to try again, and is never taken for a verdict.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

/* At most this many packages named in a row's list. */
#define HOLD_MAX_LISTED 20
/* Backoff of failed reads: 30 s doubling, at most 30 minutes. */
#define HOLD_RETRY_BASE_MS 30000
#define HOLD_RETRY_CAP_MS (30 * 60 * 1000)

static json_t *
change_line(const strata_pkg_change *c)
{
    if (c->old_version == NULL)
        return json_sprintf("%s (added) %s", c->name, c->new_version);
    if (c->new_version == NULL)
        return json_sprintf("%s %s (removed)", c->name, c->old_version);
    return json_sprintf("%s %s → %s", c->name, c->old_version, c->new_version);
}

json_t *
strata_hold_evidence(const char *old, const char *new_, const char *platform,
                     const strata_pkg_image *a, const strata_pkg_image *b,
                     int64_t now)
{
    json_t *row = json_pack("{s:s, s:s, s:s, s:I}", "old", old, "new", new_,
                            "platform", platform, "time", (json_int_t) now);
    json_t *majors = json_array(), *downs = json_array(), *rms = json_array();
    strata_pkg_delta *d;
    char *line;
    size_t i;

    json_object_set_new(row, "majors", majors);
    json_object_set_new(row, "downgrades", downs);
    json_object_set_new(row, "removals", rms);
    if (a->ecosystem == NULL && b->ecosystem == NULL) {
        /* Nothing installed to compare: nothing to hold on. */
        json_object_set_new(row, "summary",
                            json_string("no package database in either "
                                        "digest"));
        json_object_set_new(row, "release_changed", json_false());
        json_object_set_new(row, "major", json_false());
        json_object_set_new(row, "downgraded", json_integer(0));
        json_object_set_new(row, "removed", json_integer(0));
        return row;
    }
    d = strata_pkg_delta_new(a, b);
    line = strata_pkg_delta_summary(d);
    json_object_set_new(row, "summary", json_string(line));
    free(line);
    json_object_set_new(row, "os_old", json_string(d->old_os ? d->old_os : ""));
    json_object_set_new(row, "os_new", json_string(d->new_os ? d->new_os : ""));
    json_object_set_new(row, "release_changed",
                        json_boolean(d->release_changed));
    json_object_set_new(row, "major", json_boolean(d->major));
    if (d->release_changed) {
        const char *o = d->old_version_id ? d->old_version_id : d->old_os;
        const char *n = d->new_version_id ? d->new_version_id : d->new_os;

        json_object_set_new(
            row, "release",
            json_sprintf("%s → %s", o ? o : "none", n ? n : "none"));
    }
    json_object_set_new(row, "downgraded",
                        json_integer((json_int_t) d->downgraded));
    json_object_set_new(row, "removed", json_integer((json_int_t) d->removed));
    for (i = 0; i < d->nchanges; i++) {
        const strata_pkg_change *c = &d->changes[i];

        if (c->major && json_array_size(majors) < HOLD_MAX_LISTED)
            json_array_append_new(majors, change_line(c));
        if (c->kind == STRATA_PKG_DOWNGRADED &&
            json_array_size(downs) < HOLD_MAX_LISTED)
            json_array_append_new(downs, change_line(c));
        if (c->kind == STRATA_PKG_REMOVED &&
            json_array_size(rms) < HOLD_MAX_LISTED)
            json_array_append_new(
                rms, json_sprintf("%s %s", c->name, c->old_version));
    }
    strata_pkg_delta_free(d);
    return row;
}

/* Reads ref@digest's packages (a worker's: blocks). */
static int
read_side(strata_pkg_image **out, strata_store *st,
          const strata_registry_opts *opts, const char *ref, const char *digest,
          const char *platform, strata_error *err)
{
    strata_ref *base = NULL, *with = NULL;
    int rc;

    if ((rc = strata_ref_parse(&base, ref, err)) == 0 &&
        (rc = strata_ref_with_digest(&with, base, digest, err)) == 0)
        rc = strata_pkg_image_read_sync(out, st, opts, with, platform, err);
    strata_ref_free(with);
    strata_ref_free(base);
    return rc;
}

/* Appends each string of from's key not already in to's (at most
 * HOLD_MAX_LISTED). */
static void
merge_list(json_t *to, const json_t *from, const char *key)
{
    json_t *dst = json_object_get(to, key);
    const json_t *src = json_object_get(from, key), *v, *w;
    size_t i, j;

    json_array_foreach (src, i, v) {
        int seen = 0;

        json_array_foreach (dst, j, w)
            seen = seen || json_equal(v, w);
        if (!seen && json_array_size(dst) < HOLD_MAX_LISTED)
            json_array_append(dst, (json_t *) v);
    }
}

/* Folds one more platform's row into merged (the first platform's). */
static void
merge_row(json_t *merged, const json_t *row)
{
    static const char *const flags[] = {"release_changed", "major"};
    static const char *const counts[] = {"downgraded", "removed"};
    size_t i;

    for (i = 0; i < 2; i++)
        if (json_is_true(json_object_get(row, flags[i])))
            json_object_set_new(merged, flags[i], json_true());
    for (i = 0; i < 2; i++)
        json_object_set_new(
            merged, counts[i],
            json_integer(
                json_integer_value(json_object_get(merged, counts[i])) +
                json_integer_value(json_object_get(row, counts[i]))));
    if (json_object_get(merged, "release") == NULL &&
        json_object_get(row, "release") != NULL)
        json_object_set(merged, "release", json_object_get(row, "release"));
    merge_list(merged, row, "majors");
    merge_list(merged, row, "downgrades");
    merge_list(merged, row, "removals");
}

json_t *
strata_hold_read_sync(strata_store *st, const strata_registry_opts *opts,
                      const char *ref, const char *old, const char *new_,
                      const char *platforms, unsigned prev_attempts,
                      int64_t now)
{
    char *list = strata_xstrdup(platforms), *save = NULL, *p;
    strata_buf sums = STRATA_BUF_INIT, names = STRATA_BUF_INIT;
    json_t *merged = NULL, *skipped = json_array(), *row;
    strata_error err = {0};
    const char *first = NULL;
    int rc = 0, same = 1;

    for (p = strtok_r(list, ",", &save); p != NULL;
         p = strtok_r(NULL, ",", &save)) {
        strata_pkg_image *a = NULL, *b = NULL;
        const char *sum;

        strata_error_clear(&err);
        if ((rc = read_side(&a, st, opts, ref, old, p, &err)) == 0)
            rc = read_side(&b, st, opts, ref, new_, p, &err);
        if (rc == 0)
            row = strata_hold_evidence(old, new_, p, a, b, now);
        strata_pkg_image_free(a);
        strata_pkg_image_free(b);
        if (rc == STRATA_ENOTFOUND) {
            /* A platform one digest lacks is not compared, and said so;
             * the others still decide. */
            json_array_append_new(skipped, json_sprintf("%s: %s", p, err.msg));
            continue;
        }
        if (rc != 0)
            break;
        sum = json_string_value(json_object_get(row, "summary"));
        strata_buf_printf(&sums, "%s%s: %s", sums.len ? "; " : "", p, sum);
        strata_buf_printf(&names, "%s%s", names.len ? ", " : "", p);
        if (merged == NULL) {
            merged = row;
            first = json_string_value(json_object_get(merged, "summary"));
        } else {
            same = same && strcmp(first, sum) == 0;
            merge_row(merged, row);
            json_decref(row);
        }
    }
    if (rc == 0 && merged == NULL) {
        rc = STRATA_ENOTFOUND;
        if (err.code == 0)
            strata_error_set(&err, STRATA_ENOTFOUND, "no platform to read");
    }
    if (rc != 0 && rc != STRATA_ENOTFOUND) {
        /* A failure of any platform's read decides nothing. */
        json_decref(merged);
        merged = NULL;
    }
    if (merged != NULL) {
        json_object_set_new(merged, "platform", json_string(names.ptr));
        if (!same)
            json_object_set_new(merged, "summary", json_string(sums.ptr));
        if (json_array_size(skipped) > 0)
            json_object_set(merged, "skipped", skipped);
    } else {
        unsigned attempts = prev_attempts + 1;

        merged =
            json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "old", old, "new",
                      new_, "platform", platforms, "error", err.msg, "attempts",
                      (int) attempts, "time", (json_int_t) now, "retry_at",
                      (json_int_t) (now + (int64_t) strata_backoff_ms(
                                              HOLD_RETRY_BASE_MS, attempts - 1,
                                              HOLD_RETRY_CAP_MS)));
    }
    json_decref(skipped);
    strata_buf_release(&sums);
    strata_buf_release(&names);
    free(list);
    return merged;
}

int
strata_hold_record(strata_store *st, const char *ref, const json_t *row,
                   strata_error *err)
{
    char *key = strata_xasprintf("evidence:%s", ref);
    char *val = json_dumps(row, JSON_COMPACT);
    int rc = strata_store_meta_set(st, key, val, err);

    free(val);
    free(key);
    return rc;
}

int
strata_hold_get(json_t **out, strata_store *st, const char *ref,
                const char *old, const char *new_, strata_error *err)
{
    char *key = strata_xasprintf("evidence:%s", ref), *val = NULL;
    const char *o, *n;
    json_t *row;
    int rc;

    *out = NULL;
    rc = strata_store_meta_get(&val, st, key, err);
    free(key);
    if (rc == STRATA_ENOTFOUND) {
        strata_error_clear(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    row = json_loads(val, 0, NULL);
    free(val);
    o = json_string_value(json_object_get(row, "old"));
    n = json_string_value(json_object_get(row, "new"));
    /* Another pair's row (an older update) says nothing of this one. */
    if (o == NULL || n == NULL || old == NULL || strcmp(o, old) != 0 ||
        strcmp(n, new_) != 0) {
        json_decref(row);
        return 0;
    }
    *out = row;
    return 0;
}

/* Appends "what: a, b, c" (at most 3 named) of list to b. */
static void
add_list(strata_buf *b, const char *what, const json_t *list, json_int_t n)
{
    size_t i, len = json_array_size(list);

    if (b->len > 0)
        strata_buf_puts(b, "; ");
    strata_buf_puts(b, what);
    for (i = 0; i < len && i < 3; i++)
        strata_buf_printf(b, "%s%s", i == 0 ? " " : ", ",
                          json_string_value(json_array_get(list, i)));
    if ((json_int_t) i < n)
        strata_buf_printf(b, " and %lld more",
                          (long long) (n - (json_int_t) i));
}

char *
strata_hold_match(const json_t *row, unsigned hold_on)
{
    const json_t *majors = json_object_get(row, "majors");
    const char *release = json_string_value(json_object_get(row, "release"));
    json_int_t downs = json_integer_value(json_object_get(row, "downgraded"));
    json_int_t rms = json_integer_value(json_object_get(row, "removed"));
    strata_buf b = STRATA_BUF_INIT;

    if (row == NULL || json_object_get(row, "error") != NULL)
        return NULL;
    if ((hold_on & (STRATA_HOLD_RELEASE | STRATA_HOLD_MAJOR)) &&
        json_is_true(json_object_get(row, "release_changed")))
        strata_buf_printf(&b, "distribution release %s",
                          release != NULL ? release : "changed");
    if ((hold_on & STRATA_HOLD_MAJOR) && json_array_size(majors) > 0) {
        size_t i;

        for (i = 0; i < json_array_size(majors); i++)
            strata_buf_printf(&b, "%s%s", b.len > 0 ? "; " : "",
                              json_string_value(json_array_get(majors, i)));
    }
    if ((hold_on & STRATA_HOLD_DOWNGRADE) && downs > 0)
        add_list(&b, "downgraded:", json_object_get(row, "downgrades"), downs);
    if ((hold_on & STRATA_HOLD_REMOVAL) && rms > 0)
        add_list(&b, "removed:", json_object_get(row, "removals"), rms);
    if (b.len == 0) {
        strata_buf_release(&b);
        return NULL;
    }
    return strata_buf_detach(&b);
}

/*
 * The planner's decision for ref's update old -> cur under hold_on: *state
 * NULL (go on), "awaiting-evidence" or "held"; update gets "evidence"
 * (the row, or {"state": "missing"}) and, when held, "hold_reason".
 */
int
strata_plan__hold(const char **state, json_t *update, strata_store *st,
                  unsigned hold_on, const char *ref, const char *old,
                  const char *cur, strata_error *err)
{
    json_t *row = NULL;
    char *reason;
    int rc;

    *state = NULL;
    if ((rc = strata_hold_get(&row, st, ref, old, cur, err)) != 0)
        return rc;
    if (row == NULL) {
        json_object_set_new(update, "evidence",
                            json_pack("{s:s}", "state", "not read yet"));
        *state = "awaiting-evidence";
        return 0;
    }
    json_object_set(update, "evidence", row);
    if (json_object_get(row, "error") != NULL) {
        /* A failed read is no decision: it waits, and is read again. */
        *state = "awaiting-evidence";
    } else if ((reason = strata_hold_match(row, hold_on)) != NULL) {
        json_object_set_new(update, "hold_reason", json_string(reason));
        free(reason);
        *state = "held";
    }
    json_decref(row);
    return 0;
}
