/*
 * ci.c - CI pipelines. GitHub Actions workflows: jobs.*.container (a
 * string or {image:}), jobs.*.services.*.image and steps' "uses:
 * docker://IMAGE". GitLab CI: image: (a string or {name:}) and services:
 * (strings or {name:}) at the top level, under default: and in each job,
 * and the local files include: names (links, pinned as GitLab CI files
 * too). Expressions (${{ }}) and variables ($CI_...) are problems.
 */
#include <stdlib.h>
#include <string.h>

#include "pin-int.h"

typedef strata_pin__ynode ynode;

#define DOCKER_SCHEME "docker://"

static int
is_scalar(const ynode *n)
{
    return n != NULL && n->kind == STRATA_PIN__Y_SCALAR;
}

/* An image given as a string or as a map with key (image, name). */
static void
string_or_map(strata_pin__yctx *c, const ynode *n, const char *key)
{
    const ynode *v;

    if (n == NULL)
        return;
    if (n->kind == STRATA_PIN__Y_MAP) {
        if ((v = strata_pin__map_get(n, key)) != NULL)
            strata_pin__image_scalar(c, v, 1);
        return;
    }
    strata_pin__image_scalar(c, n, 1);
}

/* ---- GitHub Actions ------------------------------------------------- */

static void
github_step(strata_pin__yctx *c, const ynode *step)
{
    const ynode *uses = strata_pin__map_get(step, "uses");
    strata_pin__site s;

    if (!is_scalar(uses) ||
        strncmp(uses->value, DOCKER_SCHEME, strlen(DOCKER_SCHEME)) != 0)
        return;
    if (strata_pin__scalar_site(c, uses, strlen(DOCKER_SCHEME), 1, &s) == 0)
        strata_pin__add(strata_pin__yctx_pin(c), &s);
}

static void
github_doc(strata_pin__yctx *c, const ynode *root)
{
    const ynode *jobs = strata_pin__map_get(root, "jobs");
    size_t i, j;

    if (jobs == NULL || jobs->kind != STRATA_PIN__Y_MAP)
        return;
    for (i = 1; i < jobs->nkids; i += 2) {
        const ynode *job = jobs->kids[i], *svcs, *steps;

        if (job->kind != STRATA_PIN__Y_MAP)
            continue;
        string_or_map(c, strata_pin__map_get(job, "container"), "image");
        svcs = strata_pin__map_get(job, "services");
        if (svcs != NULL && svcs->kind == STRATA_PIN__Y_MAP)
            for (j = 1; j < svcs->nkids; j += 2)
                strata_pin__image_holder(c, svcs->kids[j], "service", 1);
        steps = strata_pin__map_get(job, "steps");
        if (steps != NULL && steps->kind == STRATA_PIN__Y_SEQ)
            for (j = 0; j < steps->nkids; j++)
                github_step(c, steps->kids[j]);
    }
}

int
strata_pin_github(strata_pin_result *out, const char *data, size_t len,
                  const char *name, const strata_pin_opts *opts,
                  strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, github_doc, NULL,
                                err);
}

/* ---- GitLab CI ------------------------------------------------------ */

/* image: and services: of the top level, default: or a job. */
static void
gitlab_holder(strata_pin__yctx *c, const ynode *m)
{
    const ynode *svcs = strata_pin__map_get(m, "services");
    size_t i;

    string_or_map(c, strata_pin__map_get(m, "image"), "name");
    if (svcs != NULL && svcs->kind == STRATA_PIN__Y_SEQ)
        for (i = 0; i < svcs->nkids; i++)
            string_or_map(c, svcs->kids[i], "name");
}

/* One include: "/path", "path.yml" or {local: path}. */
static void
gitlab_include(strata_pin__yctx *c, const ynode *n)
{
    const char *path = NULL;
    strata_buf b = STRATA_BUF_INIT;

    if (is_scalar(n)) {
        /* A string is local unless it is a URL. */
        if (strstr(n->value, "://") == NULL)
            path = n->value;
    } else if (n->kind == STRATA_PIN__Y_MAP) {
        const ynode *local = strata_pin__map_get(n, "local");

        if (is_scalar(local))
            path = local->value;
    }
    if (path == NULL || path[0] == '\0' || strchr(path, '*') != NULL ||
        strchr(path, '$') != NULL || strstr(path, "..") != NULL)
        return;
    while (*path == '/')
        path++;
    if (*path == '\0')
        return;
    strata_buf_puts(&b, path);
    strata_pin__link(strata_pin__yctx_pin(c), b.ptr, STRATA_PIN_GITLAB);
    strata_buf_release(&b);
}

static int
reserved(const char *key)
{
    static const char *const words[] = {
        "default", "include",       "stages",       "variables",
        "image",   "services",      "cache",        "workflow",
        "spec",    "before_script", "after_script",
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(key, words[i]) == 0)
            return 1;
    return 0;
}

static void
gitlab_doc(strata_pin__yctx *c, const ynode *root)
{
    const ynode *inc = strata_pin__map_get(root, "include"), *def;
    size_t i;

    if (root->kind != STRATA_PIN__Y_MAP)
        return;
    gitlab_holder(c, root);
    if ((def = strata_pin__map_get(root, "default")) != NULL &&
        def->kind == STRATA_PIN__Y_MAP)
        gitlab_holder(c, def);
    for (i = 0; i + 1 < root->nkids; i += 2) {
        const ynode *k = root->kids[i], *job = root->kids[i + 1];

        /* Jobs and hidden jobs (.template) are maps with a script or
         * an image; reserved keywords are not jobs. */
        if (!is_scalar(k) || reserved(k->value) ||
            job->kind != STRATA_PIN__Y_MAP)
            continue;
        gitlab_holder(c, job);
    }
    if (inc == NULL)
        return;
    if (inc->kind == STRATA_PIN__Y_SEQ)
        for (i = 0; i < inc->nkids; i++)
            gitlab_include(c, inc->kids[i]);
    else
        gitlab_include(c, inc);
}

int
strata_pin_gitlab(strata_pin_result *out, const char *data, size_t len,
                  const char *name, const strata_pin_opts *opts,
                  strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, gitlab_doc, NULL,
                                err);
}
