/*
 * target.c - which configured repository (and image) a graph node is: a
 * configured image's name, or an unnamed Dockerfile "URL//PATH" of a
 * repository (the names graph/ gives). The planner asks this for every
 * impacted node and the `pr` action for every job, so the answer comes
 * from an index built once when the configuration is loaded (open
 * addressing over the image names and the repository URLs, in the
 * configuration's arena) instead of a pass over every repository.
 */
#include <string.h>

#include "config-int.h"

/* One name: an image's (image != NULL) or a repository's URL. */
typedef struct slot {
    const char *name;
    size_t repo; /* index in repos[] */
    const strata_config_image *image;
} slot;

struct strata_config__index {
    slot *slots;
    size_t mask; /* slots - 1, a power of two minus one */
};

/* FNV-1a over len bytes of s. */
static size_t
hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211ULL;
    }
    return (size_t) h;
}

/* The slot of the first name entered as name[0..len), of the kind asked. */
static const slot *
find(const strata_config__index *x, const char *name, size_t len, int image)
{
    size_t j;

    for (j = hash(name, len) & x->mask; x->slots[j].name != NULL;
         j = (j + 1) & x->mask) {
        const slot *s = &x->slots[j];

        if ((s->image != NULL) == image && strncmp(s->name, name, len) == 0 &&
            s->name[len] == '\0')
            return s;
    }
    return NULL;
}

static void
enter(strata_config__index *x, const char *name, size_t repo,
      const strata_config_image *image)
{
    size_t len = strlen(name), j;

    /* The first entry of a name wins, as the first repository in order. */
    if (find(x, name, len, image != NULL) != NULL)
        return;
    for (j = hash(name, len) & x->mask; x->slots[j].name != NULL;
         j = (j + 1) & x->mask)
        ;
    x->slots[j].name = name;
    x->slots[j].repo = repo;
    x->slots[j].image = image;
}

void
strata_config__index_build(strata_config *cfg)
{
    strata_config_data *d = &cfg->data;
    strata_config__index *x;
    size_t n = d->n_repos, r, i, size = 16;

    for (r = 0; r < d->n_repos; r++)
        n += d->repos[r].n_images;
    while (size < 2 * n)
        size *= 2;
    x = strata_config__alloc(cfg, sizeof(*x));
    x->slots = strata_config__alloc(cfg, size * sizeof(*x->slots));
    memset(x->slots, 0, size * sizeof(*x->slots));
    x->mask = size - 1;
    for (r = 0; r < d->n_repos; r++) {
        enter(x, d->repos[r].url, r, NULL);
        for (i = 0; i < d->repos[r].n_images; i++)
            enter(x, d->repos[r].images[i].name, r, &d->repos[r].images[i]);
    }
    d->index = x;
}

/* Without an index (a tree made by hand): the same answer, by a pass. */
static void
target_scan(const strata_config_repo **out_repo,
            const strata_config_image **out_image,
            const strata_config_data *cfg, const char *node)
{
    size_t r, i;

    for (r = 0; r < cfg->n_repos; r++) {
        const strata_config_repo *repo = &cfg->repos[r];
        size_t ulen = strlen(repo->url);

        for (i = 0; i < repo->n_images; i++) {
            if (strcmp(repo->images[i].name, node) == 0) {
                *out_repo = repo;
                *out_image = &repo->images[i];
                return;
            }
        }
        /* Unnamed consumers are named "URL//PATH" by the scanner. */
        if (strncmp(node, repo->url, ulen) == 0 && node[ulen] == '/' &&
            node[ulen + 1] == '/') {
            *out_repo = repo;
            return;
        }
    }
}

void
strata_config_target(const strata_config_repo **out_repo,
                     const strata_config_image **out_image,
                     const strata_config_data *cfg, const char *node)
{
    const strata_config__index *x = cfg->index;
    const slot *img, *url = NULL, *s;
    const char *p;

    *out_repo = NULL;
    *out_image = NULL;
    if (x == NULL) {
        target_scan(out_repo, out_image, cfg, node);
        return;
    }
    img = find(x, node, strlen(node), 1);
    /* "URL//PATH": any "//" may end the URL ("file:///a//b//Dockerfile"
     * is not a path git gives, but a URL may hold "//"). */
    for (p = strstr(node, "//"); p != NULL; p = strstr(p + 1, "//")) {
        s = find(x, node, (size_t) (p - node), 0);
        if (s != NULL && (url == NULL || s->repo < url->repo))
            url = s;
    }
    /* Both: the repository listed first, as a pass in order finds. */
    if (img != NULL && (url == NULL || img->repo <= url->repo)) {
        *out_repo = &cfg->repos[img->repo];
        *out_image = img->image;
    } else if (url != NULL) {
        *out_repo = &cfg->repos[url->repo];
    }
}

const strata_config_schedule *
strata_config_schedule_for(const strata_config_data *cfg,
                           const strata_config_repo *repo, const char *base_ref)
{
    size_t i;

    if (repo != NULL && repo->schedule.set)
        return &repo->schedule;
    for (i = 0; base_ref != NULL && i < cfg->watch.n_bases; i++)
        if (cfg->watch.bases[i].schedule.set &&
            strcmp(cfg->watch.bases[i].ref, base_ref) == 0)
            return &cfg->watch.bases[i].schedule;
    return cfg->schedule.set ? &cfg->schedule : NULL;
}
