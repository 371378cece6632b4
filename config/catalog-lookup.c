/*
 * catalog-lookup.c - questions asked of a loaded catalog: its entries and
 * teams, which entry covers a base reference (a tag entry of that exact
 * tag, else a policy entry whose semver range and suffix accept the tag),
 * which team owns an image, and the golden / non-golden / deprecated
 * class that follows.
 */
#include <fnmatch.h>
#include <string.h>

#include "config-int.h"
#include "oci.h"

size_t
strata_catalog_count(const strata_catalog *cat)
{
    return cat != NULL ? cat->n_entries : 0;
}

const strata_catalog_entry *
strata_catalog_get(const strata_catalog *cat, size_t i)
{
    return cat != NULL && i < cat->n_entries ? &cat->entries[i] : NULL;
}

size_t
strata_catalog_team_count(const strata_catalog *cat)
{
    return cat != NULL ? cat->n_teams : 0;
}

const strata_catalog_team *
strata_catalog_team_get(const strata_catalog *cat, size_t i)
{
    return cat != NULL && i < cat->n_teams ? &cat->teams[i] : NULL;
}

const strata_catalog_entry *
strata_catalog_lookup(const strata_catalog *cat, const char *ref_text)
{
    const strata_catalog_entry *found = NULL;
    strata_ref *ref = NULL;
    const char *tag;
    size_t i;

    if (cat == NULL || strata_ref_parse(&ref, ref_text, NULL) != 0)
        return NULL;
    tag = strata_ref_tag(ref);
    /* A tag entry wins over a policy entry of the same name. */
    for (i = 0; i < cat->n_entries && found == NULL; i++) {
        const strata_catalog_entry *e = &cat->entries[i];
        if (e->semver == NULL && e->name != NULL && tag != NULL &&
            strcmp(e->name, strata_ref_name(ref)) == 0) {
            const char *etag = strrchr(e->ref, ':');
            if (etag != NULL && strcmp(etag + 1, tag) == 0)
                found = e;
        }
    }
    for (i = 0; i < cat->n_entries && found == NULL; i++) {
        const strata_catalog_entry *e = &cat->entries[i];
        if (e->semver != NULL && cat->policies[i] != NULL && tag != NULL &&
            e->name != NULL && strcmp(e->name, strata_ref_name(ref)) == 0 &&
            strata_tag_policy_match(NULL, cat->policies[i], tag))
            found = e;
    }
    strata_ref_free(ref);
    return found;
}

const char *
strata_catalog_team_of(const strata_catalog *cat, const char *image)
{
    size_t i, j;

    if (cat == NULL)
        return NULL;
    for (i = 0; i < cat->n_teams; i++)
        for (j = 0; j < cat->teams[i].n_images; j++)
            if (fnmatch(cat->teams[i].images[j], image, 0) == 0)
                return cat->teams[i].name;
    return NULL;
}

const char *
strata_catalog_classify(const strata_catalog_entry *entry)
{
    if (entry == NULL)
        return "non-golden";
    return entry->lifecycle == STRATA_CATALOG_DEPRECATED ? "deprecated"
                                                         : "golden";
}

/* Whether base b is watched under key (see strata_config_verify_for). */
static int
base_is(const strata_config_base *b, const char *key)
{
    const char *at;
    size_t len;

    if (b->has_policy) {
        /* The repository, or any tag of it (`strata verify python:3.12`). */
        len = b->name != NULL ? strlen(b->name) : 0;
        return len > 0 && strncmp(b->name, key, len) == 0 &&
               (key[len] == '\0' ||
                (key[len] == ':' && strchr(key + len, '/') == NULL));
    }
    if (b->ref == NULL)
        return 0;
    /* A pinned base is watched by its tag. */
    at = strchr(b->ref, '@');
    len = at != NULL ? (size_t) (at - b->ref) : strlen(b->ref);
    return strncmp(b->ref, key, len) == 0 && key[len] == '\0';
}

/* The catalog entry of a watch key: a tag's, or a policy's by its name. */
static const strata_catalog_entry *
catalog_entry_for(const strata_catalog *cat, const char *key)
{
    size_t i;

    if (cat == NULL)
        return NULL;
    for (i = 0; i < cat->n_entries; i++) {
        const strata_catalog_entry *e = &cat->entries[i];

        /* A tag-policy watch's key is its repository, as is the entry's. */
        if (e->name != NULL && (e->semver != NULL || e->suffix != NULL) &&
            strcmp(e->ref, key) == 0)
            return e;
    }
    return strata_catalog_lookup(cat, key);
}

const strata_config_verify *
strata_config_verify_for(const strata_config_data *d, const strata_catalog *cat,
                         const char *key)
{
    const strata_catalog_entry *e;
    size_t i;

    for (i = 0; i < d->watch.n_bases; i++)
        if (base_is(&d->watch.bases[i], key) && d->watch.bases[i].verify_own)
            return &d->watch.bases[i].verify;
    e = catalog_entry_for(cat, key);
    if (e != NULL && e->verify.set)
        return &e->verify;
    return &d->watch.verify;
}
