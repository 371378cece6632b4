/*
 * rollout-show.c - what a rollout looks like from outside: `strata
 * rollout list|show`, the HTTP API and the metrics read it here; and the
 * summary line its last event (and notification) carries.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

static int
has_action(const json_t *jobs, const char *action, const char *state)
{
    const json_t *j;
    size_t i;

    json_array_foreach (jobs, i, j) {
        const char *a = json_string_value(json_object_get(j, "action"));
        const char *s = json_string_value(json_object_get(j, "state"));

        if ((action == NULL || (a && strcmp(a, action) == 0)) &&
            (state == NULL || (s && strcmp(s, state) == 0)))
            return 1;
    }
    return 0;
}

const char *
strata_rollout_image_state(const json_t *jobs)
{
    const json_t *j;
    size_t i, n = json_array_size(jobs), ok = 0, cancelled = 0;

    if (has_action(jobs, NULL, "failed"))
        return "failed";
    if (has_action(jobs, NULL, "running"))
        return "running";
    json_array_foreach (jobs, i, j) {
        const char *s = json_string_value(json_object_get(j, "state"));
        const char *w = json_string_value(json_object_get(j, "waiting"));

        if (s != NULL && strcmp(s, "succeeded") == 0)
            ok++;
        else if (s != NULL && strcmp(s, "cancelled") == 0)
            cancelled++;
        else if (w != NULL && strncmp(w, "rollout ", 8) == 0)
            return "waiting for its stage";
        else if (w != NULL && strncmp(w, "outside ", 8) == 0)
            return "waiting for window";
        else if (w != NULL)
            return "waiting";
    }
    if (n == 0 || ok + cancelled < n)
        return "queued";
    if (ok == 0)
        return "cancelled";
    if (has_action(jobs, "rebuild", "succeeded"))
        return "rebuilt";
    if (has_action(jobs, "rebase", "succeeded"))
        return "rebased";
    if (has_action(jobs, "pr", "succeeded"))
        return "pull request open";
    return "done";
}

/* Whether an image in state s counts as reached / failed. */
static int
reached(const char *s)
{
    return strcmp(s, "rebuilt") == 0 || strcmp(s, "rebased") == 0 ||
           strcmp(s, "pull request open") == 0 || strcmp(s, "done") == 0;
}

int
strata_rollout__summary(char **out, strata_store *st, const json_t *ro,
                        strata_error *err)
{
    json_t *images = NULL, *im;
    strata_buf failed = STRATA_BUF_INIT;
    size_t i, n = 0, ok = 0, nf = 0;
    int rc;

    *out = NULL;
    if ((rc = strata_store_rollout_images(
             &images, st, json_integer_value(json_object_get(ro, "id")),
             json_string_value(json_object_get(ro, "digest")), err)) != 0)
        return rc;
    json_array_foreach (images, i, im) {
        const char *s = strata_rollout_image_state(json_object_get(im, "jobs"));

        n++;
        if (reached(s)) {
            ok++;
        } else if (strcmp(s, "failed") == 0) {
            if (nf < 20)
                strata_buf_printf(
                    &failed, "%s%s", nf ? ", " : "",
                    json_string_value(json_object_get(im, "image")));
            nf++;
        }
    }
    if (nf > 20)
        strata_buf_printf(&failed, " and %zu more", nf - 20);
    *out = strata_xasprintf("%s@%s reached %zu of %zu images; %zu failed%s%s",
                            json_string_value(json_object_get(ro, "base")),
                            json_string_value(json_object_get(ro, "digest")),
                            ok, n, nf, nf ? ": " : "",
                            nf ? strata_buf_cstr(&failed) : "");
    strata_buf_release(&failed);
    json_decref(images);
    return 0;
}

/* "ID" or "BASE@DIGEST" into a rollout (new), or STRATA_ENOTFOUND. */
static int
find(json_t **out, strata_store *st, const char *which, strata_error *err)
{
    const char *at = strrchr(which, '@');
    char *end = NULL, *base = NULL;
    strata_ref *ref = NULL, *bare = NULL;
    long long id = strtoll(which, &end, 10);
    int rc;

    *out = NULL;
    if (at == NULL && end != which && *end == '\0' && id > 0) {
        rc = strata_store_rollout_get(out, st, id, NULL, NULL, err);
    } else if (at != NULL) {
        base = strata_xstrndup(which, (size_t) (at - which));
        if ((rc = strata_ref_parse(&ref, base, err)) != 0 ||
            (rc = strata_ref_with_digest(&bare, ref, NULL, err)) != 0)
            goto out;
        rc = strata_store_rollout_get(out, st, 0, strata_ref_string(bare),
                                      at + 1, err);
    } else {
        return strata_error_set(err, STRATA_EINVAL,
                                "'%s' is neither a rollout id nor BASE@DIGEST",
                                which);
    }
    if (rc == 0 && *out == NULL)
        rc = strata_error_set(err, STRATA_ENOTFOUND, "no rollout '%s'", which);
out:
    free(base);
    strata_ref_free(ref);
    strata_ref_free(bare);
    return rc;
}

int
strata_rollout_find_id(int64_t *out, strata_store *st, const char *which,
                       strata_error *err)
{
    json_t *ro = NULL;
    int rc = find(&ro, st, which, err);

    *out = rc == 0 ? json_integer_value(json_object_get(ro, "id")) : 0;
    json_decref(ro);
    return rc;
}

int
strata_rollout_show(json_t **out, strata_store *st, const char *which,
                    strata_error *err)
{
    json_t *ro = NULL, *images = NULL, *im, *stages, *sg;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = find(&ro, st, which, err)) != 0 ||
        (rc = strata_store_rollout_images(
             &images, st, json_integer_value(json_object_get(ro, "id")),
             json_string_value(json_object_get(ro, "digest")), err)) != 0)
        goto out;
    stages = json_object_get(ro, "stages");
    json_array_foreach (stages, i, sg)
        json_object_set_new(sg, "counts", json_object());
    json_array_foreach (images, i, im) {
        const char *s = strata_rollout_image_state(json_object_get(im, "jobs"));
        json_t *c = json_object_get(
            json_array_get(stages, (size_t) json_integer_value(
                                       json_object_get(im, "stage"))),
            "counts");

        json_object_set_new(im, "state", json_string(s));
        json_object_set_new(
            c, s, json_integer(json_integer_value(json_object_get(c, s)) + 1));
    }
    json_object_set_new(ro, "images", images);
    images = NULL;
    *out = ro;
    ro = NULL;
out:
    json_decref(ro);
    json_decref(images);
    return rc;
}

static void
when(strata_buf *b, const json_t *t)
{
    char s[32];

    if (!json_is_integer(t)) {
        strata_buf_printf(b, "-");
        return;
    }
    strata_format_time(s, sizeof(s), json_integer_value(t));
    strata_buf_printf(b, "%s", s);
}

char *
strata_rollout_format(const json_t *ro)
{
    strata_buf b = STRATA_BUF_INIT;
    const json_t *stages = json_object_get(ro, "stages"), *sg, *im;
    const json_t *policy = json_object_get(ro, "policy");
    size_t i;

    strata_buf_printf(
        &b, "rollout %lld  %s@%s  %s, stage %lld of %zu\n",
        (long long) json_integer_value(json_object_get(ro, "id")),
        json_string_value(json_object_get(ro, "base")),
        json_string_value(json_object_get(ro, "digest")),
        json_string_value(json_object_get(ro, "state")),
        (long long) json_integer_value(json_object_get(ro, "stage")) + 1,
        json_array_size(stages));
    if (json_is_string(json_object_get(ro, "note")))
        strata_buf_printf(&b, "  %s\n",
                          json_string_value(json_object_get(ro, "note")));
    json_array_foreach (stages, i, sg) {
        const json_t *pst =
            json_array_get(json_object_get(policy, "stages"), i);
        const char *k;
        json_t *v;

        strata_buf_printf(&b, "stage %zu", i + 1);
        if (json_object_get(pst, "percent"))
            strata_buf_printf(&b, " (%lld%%)",
                              (long long) json_integer_value(
                                  json_object_get(pst, "percent")));
        else if (json_object_get(pst, "rest"))
            strata_buf_printf(&b, " (the rest)");
        strata_buf_printf(
            &b, ": %lld images; started ",
            (long long) json_integer_value(json_object_get(sg, "images")));
        when(&b, json_object_get(sg, "started"));
        strata_buf_printf(&b, ", finished ");
        when(&b, json_object_get(sg, "finished"));
        json_object_foreach ((json_t *) json_object_get(sg, "counts"), k, v)
            strata_buf_printf(&b, "; %s %lld", k,
                              (long long) json_integer_value(v));
        strata_buf_printf(&b, "\n");
    }
    json_array_foreach (json_object_get(ro, "images"), i, im)
        strata_buf_printf(
            &b, "  %lld  %-40s %s\n",
            (long long) json_integer_value(json_object_get(im, "stage")) + 1,
            json_string_value(json_object_get(im, "image")),
            json_string_value(json_object_get(im, "state")));
    return strata_buf_detach(&b);
}
