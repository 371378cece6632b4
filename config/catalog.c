/*
 * catalog.c - loads the golden base-image catalog: YAML (libyaml's
 * document API) walked entry by entry into strata_catalog_entry structs,
 * with every problem reported at the line and column of the node that
 * has it, and the walk going on so one run lists them all. The catalog
 * owns every string its entries point to.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "config-int.h"
#include "oci.h"

/* The catalog is small; refuse anything that is clearly not one. */
#define MAX_CATALOG_SIZE (4 * 1024 * 1024)

typedef struct ctx {
    strata_catalog *cat;
    yaml_document_t *doc;
    const char *file;
    const char *base_dir;
    strata_config_problems *problems;
    size_t nproblems;
} ctx;

static void at(ctx *c, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
at(ctx *c, const yaml_node_t *node, const char *fmt, ...)
{
    char *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = strata_xvasprintf(fmt, ap);
    va_end(ap);
    strata_config__problem(
        c->problems, c->file, node ? (int) node->start_mark.line + 1 : 0,
        node ? (int) node->start_mark.column + 1 : 0, "%s", msg);
    free(msg);
    c->nproblems++;
}

static const char *
keep(strata_catalog *cat, char *s)
{
    if (cat->n_strings == cat->cap_strings) {
        cat->cap_strings = cat->cap_strings ? cat->cap_strings * 2 : 32;
        cat->strings = strata_xrealloc(cat->strings, cat->cap_strings *
                                                         sizeof(*cat->strings));
    }
    cat->strings[cat->n_strings++] = s;
    return s;
}

static const char **
keep_list(strata_catalog *cat, size_t n)
{
    const char **l = strata_xcalloc(n + 1, sizeof(*l));

    if (cat->n_lists == cat->cap_lists) {
        cat->cap_lists = cat->cap_lists ? cat->cap_lists * 2 : 16;
        cat->lists =
            strata_xrealloc(cat->lists, cat->cap_lists * sizeof(*cat->lists));
    }
    cat->lists[cat->n_lists++] = l;
    return l;
}

/* size zeroed bytes owned by the catalog (freed with its lists). */
static void *
keep_mem(strata_catalog *cat, size_t size)
{
    return (void *) keep_list(cat, size / sizeof(char *) + 1);
}

static yaml_node_t *
node_at(ctx *c, yaml_node_item_t i)
{
    return yaml_document_get_node(c->doc, i);
}

/* The scalar's text, or NULL (with a problem) when node is not a scalar. */
static const char *
scalar(ctx *c, const yaml_node_t *node, const char *key)
{
    if (node->type != YAML_SCALAR_NODE) {
        at(c, node, "'%s' must be a string", key);
        return NULL;
    }
    return (const char *) node->data.scalar.value;
}

/* A non-empty string value kept in the catalog, or NULL. */
static const char *
string_value(ctx *c, const yaml_node_t *node, const char *key)
{
    const char *s = scalar(c, node, key);

    if (s == NULL)
        return NULL;
    if (*s == '\0') {
        at(c, node, "'%s' must not be empty", key);
        return NULL;
    }
    return keep(c->cat, strata_xstrdup(s));
}

/* A list of non-empty strings; *n gets the count. */
static const char *const *
strings_value(ctx *c, const yaml_node_t *node, const char *key, size_t *n)
{
    yaml_node_item_t *it;
    const char **l;

    *n = 0;
    if (node->type != YAML_SEQUENCE_NODE) {
        at(c, node, "'%s' must be a list of strings", key);
        return NULL;
    }
    l = keep_list(c->cat, (size_t) (node->data.sequence.items.top -
                                    node->data.sequence.items.start));
    for (it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        const char *s = string_value(c, node_at(c, *it), key);
        if (s != NULL)
            l[(*n)++] = s;
    }
    return l;
}

static int
duration_value(uint64_t *out, ctx *c, const yaml_node_t *node, const char *key)
{
    const char *s = scalar(c, node, key);

    if (s == NULL)
        return -1;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (strata_parse_duration(out, s) != 0) {
        at(c, node,
           "'%s' must be a duration such as 12h, 7d or 1h30m, not '%s'", key,
           s);
        return -1;
    }
    return 0;
}

/* Midnight UTC of a "YYYY-MM-DD" date; -1 when it is not one. */
static int64_t
parse_date(const char *s)
{
    struct tm tm = {0};
    int y, m, d;
    char tail;
    time_t t;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    t = timegm(&tm);
    /* timegm normalises 2026-02-30 to March; a real date round-trips. */
    if (t == (time_t) -1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 ||
        tm.tm_mday != d)
        return -1;
    return (int64_t) t * 1000;
}

/* 1 when the reference text spells a tag (a ':' after the last '/'). */
static int
has_explicit_tag(const char *s)
{
    const char *slash = strrchr(s, '/');
    const char *at_sign = strchr(s, '@');
    const char *colon = strchr(slash ? slash : s, ':');

    return colon != NULL && (at_sign == NULL || colon < at_sign);
}

static void
entry_ref(ctx *c, strata_catalog_entry *e, const yaml_node_t *node,
          int has_policy)
{
    const char *s = scalar(c, node, "ref");
    strata_error err = {0};
    strata_ref *ref = NULL;

    if (s == NULL)
        return;
    if (strata_ref_parse(&ref, s, &err) != 0) {
        at(c, node, "%s", err.msg);
        return;
    }
    if (strata_ref_digest(ref) != NULL)
        at(c, node,
           "'ref' must name a tag, not pin a digest: the catalog follows the "
           "tag's digests");
    else if (has_policy && has_explicit_tag(s))
        at(c, node,
           "an entry with a 'policy' names a repository without a tag, not "
           "'%s'",
           s);
    e->name = keep(c->cat, strata_xstrdup(strata_ref_name(ref)));
    e->ref = has_policy ? e->name
                        : keep(c->cat, strata_xstrdup(strata_ref_string(ref)));
    strata_ref_free(ref);
}

static void
entry_policy(ctx *c, strata_catalog_entry *e, const yaml_node_t *node)
{
    yaml_node_pair_t *p;
    const yaml_node_t *semver_node = node;

    if (node->type != YAML_MAPPING_NODE) {
        at(c, node, "'policy' must be a mapping such as {semver: \">=3.11\"}");
        return;
    }
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        if (strcmp(key, "semver") == 0) {
            e->semver = string_value(c, v, "semver");
            semver_node = v;
        } else if (strcmp(key, "suffix") == 0) {
            e->suffix = string_value(c, v, "suffix");
        } else {
            at(c, k, "unknown key 'policy.%s' (known: semver, suffix)", key);
        }
    }
    if (e->semver == NULL)
        at(c, node, "'policy' needs 'semver'");
    else {
        strata_tag_policy *pol = NULL;
        strata_error err = {0};
        if (strata_tag_policy_new(&pol, e->semver, e->suffix, NULL, &err) != 0)
            at(c, semver_node, "%s", err.msg);
        strata_tag_policy_free(pol);
    }
}

static const char *const entry_keys[] = {
    "ref",  "policy",      "description", "owners",      "tier",
    "os",   "lifecycle",   "sunset",      "replacement", "max_age",
    "soak", "signing_key", "verify",      NULL};

/* A path as written, resolved against the catalog's directory. */
static const char *
catalog_path(ctx *c, const char *s)
{
    return keep(c->cat, s[0] == '/'
                            ? strata_xstrdup(s)
                            : strata_xasprintf("%s/%s", c->base_dir, s));
}

/*
 * signing_key: a public key every new digest of the entry must be signed
 * with (shorthand for verify.keys), checked as verify checks keys.
 */
static void
signing_key(ctx *c, strata_catalog_entry *e, const yaml_node_t *node)
{
    const char *s = string_value(c, node, "signing_key");
    strata_error err = {0};
    const char *path;

    if (s == NULL)
        return;
    path = catalog_path(c, s);
    if (strata_config__verify_key_check(path, &err) != 0)
        at(c, node, "%s", err.msg);
    e->signing_key = path;
}

static int
int_value(int *out, ctx *c, const yaml_node_t *node, const char *key, int min,
          int max)
{
    const char *s = scalar(c, node, key);
    char *end;
    long n;

    if (s == NULL)
        return -1;
    n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || n < min || n > max) {
        at(c, node, "'%s' must be a whole number from %d to %d, not '%s'", key,
           min, max, s);
        return -1;
    }
    *out = (int) n;
    return 0;
}

static void
verify_identities(ctx *c, strata_config_verify *v, const yaml_node_t *node)
{
    static const char *const id_keys[] = {"issuer", "subject", "subject_regexp",
                                          NULL};
    strata_config_identity *ids;
    yaml_node_item_t *it;
    size_t n = 0;

    if (node->type != YAML_SEQUENCE_NODE ||
        node->data.sequence.items.top == node->data.sequence.items.start) {
        at(c, node,
           "'identities' must be a list of {issuer, subject} "
           "mappings");
        return;
    }
    ids = keep_mem(c->cat, (size_t) (node->data.sequence.items.top -
                                     node->data.sequence.items.start) *
                               sizeof(*ids));
    for (it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        const yaml_node_t *in = node_at(c, *it);
        strata_config_identity *id = &ids[n];
        strata_error err = {0};
        yaml_node_pair_t *p;
        size_t i;

        memset(id, 0, sizeof(*id));
        id->pos.line = (int) in->start_mark.line + 1;
        id->pos.col = (int) in->start_mark.column + 1;
        if (in->type != YAML_MAPPING_NODE) {
            at(c, in,
               "each identity must be a mapping with 'issuer' and "
               "'subject' or 'subject_regexp'");
            continue;
        }
        for (p = in->data.mapping.pairs.start; p < in->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(c, p->key), *val = node_at(c, p->value);
            const char *key = k->type == YAML_SCALAR_NODE
                                  ? (const char *) k->data.scalar.value
                                  : "";

            for (i = 0; id_keys[i] != NULL; i++)
                if (strcmp(key, id_keys[i]) == 0)
                    break;
            if (id_keys[i] == NULL)
                at(c, k,
                   "unknown key '%s' in keyless identity (known: issuer, "
                   "subject, subject_regexp)",
                   key);
            else if (i == 0)
                id->issuer = string_value(c, val, key);
            else if (i == 1)
                id->subject = string_value(c, val, key);
            else
                id->subject_regexp = string_value(c, val, key);
        }
        if (id->issuer == NULL)
            at(c, in, "missing required key 'issuer' in keyless identity");
        else if (id->subject == NULL && id->subject_regexp == NULL)
            at(c, in, "an identity needs 'subject' or 'subject_regexp'");
        else if (strata_config__verify_identity_check(
                     id->issuer, id->subject, id->subject_regexp, &err) != 0)
            at(c, in, "%s", err.msg);
        n++;
    }
    v->identities = ids;
    v->n_identities = n;
}

static void
verify_keyless(ctx *c, strata_config_verify *v, const yaml_node_t *node)
{
    yaml_node_pair_t *p;

    if (node->type != YAML_MAPPING_NODE) {
        at(c, node,
           "'keyless' must be a mapping with 'trusted_root' and "
           "'identities'");
        return;
    }
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *val = node_at(c, p->value);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        strata_error err = {0};
        const char *s;

        if (strcmp(key, "trusted_root") == 0) {
            if ((s = string_value(c, val, key)) == NULL)
                continue;
            v->trusted_root = catalog_path(c, s);
            if (strata_config__verify_root_check(v->trusted_root, &err) != 0)
                at(c, val, "%s", err.msg);
        } else if (strcmp(key, "identities") == 0) {
            verify_identities(c, v, val);
        } else {
            at(c, k,
               "unknown key '%s' in keyless (known: trusted_root, "
               "identities)",
               key);
        }
    }
}

/* An entry's verify block, as watch.verify in the configuration. */
static void
entry_verify(ctx *c, strata_catalog_entry *e, const yaml_node_t *node)
{
    static const char *const keys[] = {"keys",         "keyless", "threshold",
                                       "attestations", "mode",    "wait",
                                       "mirrors",      "tlog",    NULL};
    strata_config_verify *v = &e->verify;
    yaml_node_pair_t *p;
    size_t i, nverifiers;

    v->pos.line = (int) node->start_mark.line + 1;
    v->pos.col = (int) node->start_mark.column + 1;
    if (node->type != YAML_MAPPING_NODE) {
        at(c, node, "'verify' must be a mapping");
        return;
    }
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *val = node_at(c, p->value);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        strata_error err = {0};
        const char *s;
        size_t n;

        for (i = 0; keys[i] != NULL; i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (keys[i] == NULL) {
            at(c, k,
               "unknown key '%s' in verify (known: keys, keyless, threshold, "
               "attestations, mode, wait, mirrors, tlog)",
               key);
        } else if (strcmp(key, "keys") == 0) {
            const char *const *l = strings_value(c, val, key, &n);
            const char **abs = keep_list(c->cat, n + 1);

            for (i = 0; l != NULL && i < n; i++) {
                abs[i] = catalog_path(c, l[i]);
                if (strata_config__verify_key_check(abs[i], &err) != 0)
                    at(c, node_at(c, val->data.sequence.items.start[i]), "%s",
                       err.msg);
            }
            v->keys.items = abs;
            v->keys.count = l != NULL ? n : 0;
        } else if (strcmp(key, "keyless") == 0) {
            verify_keyless(c, v, val);
        } else if (strcmp(key, "threshold") == 0) {
            int_value(&v->threshold, c, val, key, 1, 64);
        } else if (strcmp(key, "attestations") == 0) {
            v->attestations.items = strings_value(c, val, key, &n);
            v->attestations.count = n;
        } else if (strcmp(key, "mode") == 0) {
            s = scalar(c, val, key);
            for (i = 0; s != NULL && strata_config__verify_modes[i]; i++)
                if (strcmp(s, strata_config__verify_modes[i]) == 0)
                    break;
            if (s != NULL && strata_config__verify_modes[i] == NULL)
                at(c, val, "'mode' must be enforce, warn or off, not '%s'", s);
            else if (s != NULL)
                v->mode = (int) i;
        } else if (strcmp(key, "wait") == 0) {
            duration_value(&v->wait_ms, c, val, key);
        } else if (strcmp(key, "mirrors") == 0) {
            v->mirrors.items = strings_value(c, val, key, &n);
            v->mirrors.count = n;
            for (i = 0; i < n; i++)
                if (strata_config__verify_mirror_check(v->mirrors.items[i],
                                                       &err) != 0)
                    at(c, val, "%s", err.msg);
        } else {
            s = scalar(c, val, key);
            if (s != NULL && strcmp(s, "true") == 0)
                v->tlog = 1;
            else if (s != NULL && strcmp(s, "false") != 0)
                at(c, val, "'tlog' must be true or false, not '%s'", s);
        }
    }
    v->set = 1;
    if (v->mode == STRATA_CONFIG_VERIFY_OFF)
        return;
    nverifiers = v->keys.count + v->n_identities;
    if (nverifiers == 0 && e->signing_key == NULL)
        at(c, node,
           "'verify' needs 'keys' or 'keyless' identities (or "
           "mode: off)");
    if (v->n_identities > 0 && v->trusted_root == NULL)
        at(c, node, "keyless identities need 'keyless.trusted_root'");
    if (v->tlog && v->trusted_root == NULL)
        at(c, node, "'tlog: true' needs 'keyless.trusted_root'");
}

/*
 * The entry's policy once both keys are read: defaults, and signing_key
 * folded into verify.keys.
 */
static void
entry_verify_finish(ctx *c, strata_catalog_entry *e)
{
    strata_config_verify *v = &e->verify;
    const char **keys;
    size_t i;

    if (!v->set && e->signing_key == NULL)
        return;
    if (!v->set) {
        v->set = 1;
        v->threshold = 1;
        v->wait_ms = 10 * 60 * 1000;
    }
    if (e->signing_key != NULL) {
        keys = keep_list(c->cat, v->keys.count + 2);
        for (i = 0; i < v->keys.count; i++)
            keys[i] = v->keys.items[i];
        for (i = 0; i < v->keys.count; i++)
            if (strcmp(keys[i], e->signing_key) == 0)
                break;
        if (i == v->keys.count)
            keys[v->keys.count++] = e->signing_key;
        v->keys.items = keys;
    }
}

/* Walks one entry of bases:. Returns 0 when the entry is usable. */
static void
walk_entry(ctx *c, strata_catalog_entry *e, const yaml_node_t *node)
{
    const yaml_node_t *ref_node = NULL, *policy_node = NULL;
    const yaml_node_t *sunset_node = NULL, *repl_node = NULL;
    const yaml_node_t *lifecycle_node = NULL;
    yaml_node_pair_t *p;
    size_t i;

    e->line = (int) node->start_mark.line + 1;
    e->col = (int) node->start_mark.column + 1;
    if (node->type != YAML_MAPPING_NODE) {
        at(c, node, "each entry of 'bases' must be a mapping with a 'ref'");
        return;
    }
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        for (i = 0; entry_keys[i] != NULL; i++)
            if (strcmp(key, entry_keys[i]) == 0)
                break;
        if (entry_keys[i] == NULL)
            at(c, k,
               "unknown key '%s' (known: ref, policy, description, owners, "
               "tier, os, lifecycle, sunset, replacement, max_age, soak, "
               "signing_key, verify)",
               key);
        else if (strcmp(key, "ref") == 0)
            ref_node = node_at(c, p->value);
        else if (strcmp(key, "policy") == 0)
            policy_node = node_at(c, p->value);
        else if (strcmp(key, "lifecycle") == 0)
            lifecycle_node = node_at(c, p->value);
        else if (strcmp(key, "sunset") == 0)
            sunset_node = node_at(c, p->value);
        else if (strcmp(key, "replacement") == 0)
            repl_node = node_at(c, p->value);
    }
    if (ref_node == NULL)
        at(c, node, "entry needs a 'ref'");
    else
        entry_ref(c, e, ref_node, policy_node != NULL);
    if (policy_node != NULL)
        entry_policy(c, e, policy_node);

    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        if (strcmp(key, "description") == 0)
            e->description = string_value(c, v, key);
        else if (strcmp(key, "owners") == 0)
            e->owners = strings_value(c, v, key, &e->n_owners);
        else if (strcmp(key, "tier") == 0)
            e->tier = string_value(c, v, key);
        else if (strcmp(key, "os") == 0)
            e->os = string_value(c, v, key);
        else if (strcmp(key, "max_age") == 0)
            duration_value(&e->max_age_ms, c, v, key);
        else if (strcmp(key, "soak") == 0)
            duration_value(&e->soak_ms, c, v, key);
        else if (strcmp(key, "signing_key") == 0)
            signing_key(c, e, v);
    }
    /* After signing_key, which verify may stand on alone. */
    for (p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key);

        if (k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, "verify") == 0) {
            e->verify.threshold = 1;
            e->verify.wait_ms = 10 * 60 * 1000;
            entry_verify(c, e, node_at(c, p->value));
        }
    }
    entry_verify_finish(c, e);

    if (lifecycle_node != NULL) {
        const char *s = scalar(c, lifecycle_node, "lifecycle");
        if (s != NULL && strcmp(s, "deprecated") == 0)
            e->lifecycle = STRATA_CATALOG_DEPRECATED;
        else if (s != NULL && strcmp(s, "active") != 0)
            at(c, lifecycle_node,
               "'lifecycle' must be active or deprecated, not '%s'", s);
    }
    if (e->lifecycle == STRATA_CATALOG_DEPRECATED) {
        if (sunset_node == NULL)
            at(c, lifecycle_node, "a deprecated entry needs a 'sunset' date");
        if (repl_node == NULL)
            at(c, lifecycle_node, "a deprecated entry needs a 'replacement'");
    } else {
        if (sunset_node != NULL)
            at(c, sunset_node, "'sunset' applies only to a deprecated entry");
        if (repl_node != NULL)
            at(c, repl_node,
               "'replacement' applies only to a deprecated entry");
    }
    if (sunset_node != NULL && e->lifecycle == STRATA_CATALOG_DEPRECATED) {
        const char *s = scalar(c, sunset_node, "sunset");
        int64_t ms = s != NULL ? parse_date(s) : 0;
        if (s != NULL && ms < 0)
            at(c, sunset_node, "'sunset' must be a date YYYY-MM-DD, not '%s'",
               s);
        else if (s != NULL) {
            e->sunset = keep(c->cat, strata_xstrdup(s));
            e->sunset_ms = ms;
        }
    }
    if (repl_node != NULL && e->lifecycle == STRATA_CATALOG_DEPRECATED) {
        const char *s = scalar(c, repl_node, "replacement");
        strata_error err = {0};
        strata_ref *ref = NULL;
        if (s != NULL && strata_ref_parse(&ref, s, &err) != 0)
            at(c, repl_node, "%s", err.msg);
        else if (s != NULL) {
            e->replacement =
                keep(c->cat, strata_xstrdup(strata_ref_string(ref)));
            if (e->ref != NULL && strcmp(e->replacement, e->ref) == 0)
                at(c, repl_node, "an entry cannot be its own replacement");
        }
        strata_ref_free(ref);
    }
}

/* After the walk: duplicates, and replacements that are not golden. */
static void
cross_check(ctx *c, const yaml_node_t *const *nodes)
{
    strata_catalog *cat = c->cat;
    size_t i, j;

    for (i = 0; i < cat->n_entries; i++) {
        const strata_catalog_entry *e = &cat->entries[i];
        const strata_catalog_entry *r;

        if (e->ref == NULL)
            continue;
        for (j = 0; j < i; j++) {
            const strata_catalog_entry *o = &cat->entries[j];
            if (o->ref != NULL && strcmp(o->ref, e->ref) == 0 &&
                !!o->semver == !!e->semver &&
                (e->semver == NULL || strcmp(o->semver, e->semver) == 0) &&
                strcmp(o->suffix ? o->suffix : "",
                       e->suffix ? e->suffix : "") == 0) {
                at(c, nodes[i], "duplicate entry '%s' (first at line %d)",
                   e->ref, o->line);
                break;
            }
        }
        if (e->replacement == NULL)
            continue;
        r = strata_catalog_lookup(cat, e->replacement);
        if (r == NULL)
            at(c, nodes[i], "replacement '%s' is not in the catalog",
               e->replacement);
        else if (r->lifecycle == STRATA_CATALOG_DEPRECATED)
            at(c, nodes[i], "replacement '%s' is deprecated too",
               e->replacement);
    }
}

static void
walk_teams(ctx *c, const yaml_node_t *node)
{
    yaml_node_item_t *it;

    if (node->type != YAML_SEQUENCE_NODE) {
        at(c, node, "'teams' must be a list");
        return;
    }
    c->cat->teams = strata_xcalloc((size_t) (node->data.sequence.items.top -
                                             node->data.sequence.items.start) +
                                       1,
                                   sizeof(*c->cat->teams));
    for (it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        const yaml_node_t *t = node_at(c, *it);
        strata_catalog_team team = {0};
        yaml_node_pair_t *p;

        if (t->type != YAML_MAPPING_NODE) {
            at(c, t, "each team must be a mapping {name, images}");
            continue;
        }
        for (p = t->data.mapping.pairs.start; p < t->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
            const char *key = k->type == YAML_SCALAR_NODE
                                  ? (const char *) k->data.scalar.value
                                  : "";
            if (strcmp(key, "name") == 0)
                team.name = string_value(c, v, key);
            else if (strcmp(key, "images") == 0)
                team.images = strings_value(c, v, key, &team.n_images);
            else
                at(c, k, "unknown key 'teams.%s' (known: name, images)", key);
        }
        if (team.name == NULL)
            at(c, t, "a team needs a 'name'");
        else if (team.n_images == 0)
            at(c, t,
               "team '%s' needs 'images' (patterns such as "
               "'registry.example.com/payments/*')",
               team.name);
        else
            c->cat->teams[c->cat->n_teams++] = team;
    }
}

static void
walk_root(ctx *c, const yaml_node_t *root)
{
    const yaml_node_t *bases = NULL, *teams = NULL, **entry_nodes = NULL;
    yaml_node_pair_t *p;
    yaml_node_item_t *it;

    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        at(c, root, "the catalog must be a mapping with a 'bases' list");
        return;
    }
    for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        const char *key = k->type == YAML_SCALAR_NODE
                              ? (const char *) k->data.scalar.value
                              : "";
        /* libyaml lets a key repeat; a second list would be walked twice. */
        if ((strcmp(key, "bases") == 0 && bases != NULL) ||
            (strcmp(key, "teams") == 0 && teams != NULL))
            at(c, k, "duplicate key '%s'", key);
        else if (strcmp(key, "bases") == 0)
            bases = v;
        else if (strcmp(key, "teams") == 0)
            walk_teams(c, teams = v);
        else
            at(c, k, "unknown key '%s' (known: bases, teams)", key);
    }
    if (bases == NULL) {
        at(c, root, "the catalog needs a 'bases' list");
        return;
    }
    if (bases->type != YAML_SEQUENCE_NODE) {
        at(c, bases, "'bases' must be a list");
        return;
    }
    entry_nodes = strata_xcalloc((size_t) (bases->data.sequence.items.top -
                                           bases->data.sequence.items.start) +
                                     1,
                                 sizeof(*entry_nodes));
    c->cat->entries =
        strata_xcalloc((size_t) (bases->data.sequence.items.top -
                                 bases->data.sequence.items.start) +
                           1,
                       sizeof(*c->cat->entries));
    c->cat->policies =
        strata_xcalloc((size_t) (bases->data.sequence.items.top -
                                 bases->data.sequence.items.start) +
                           1,
                       sizeof(*c->cat->policies));
    for (it = bases->data.sequence.items.start;
         it < bases->data.sequence.items.top; it++) {
        size_t i = c->cat->n_entries++;
        strata_catalog_entry *e = &c->cat->entries[i];

        entry_nodes[i] = node_at(c, *it);
        walk_entry(c, e, entry_nodes[i]);
        if (e->semver != NULL) {
            strata_tag_policy *pol = NULL;
            if (strata_tag_policy_new(&pol, e->semver, e->suffix, NULL, NULL) ==
                0)
                c->cat->policies[i] = pol;
        }
    }
    cross_check(c, entry_nodes);
    free(entry_nodes);
}

int
strata_catalog_load_string(strata_catalog **out, const char *yaml, size_t len,
                           const char *name, const char *base_dir,
                           strata_config_problems *problems, strata_error *err)
{
    strata_catalog *cat = strata_xcalloc(1, sizeof(*cat));
    yaml_parser_t parser;
    yaml_document_t doc;
    char cwd[4096];
    ctx c = {0};
    size_t first_problem;
    int rc = 0;

    *out = NULL;
    if (base_dir == NULL)
        base_dir = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
    c.cat = cat;
    c.doc = &doc;
    c.file = name;
    c.base_dir = base_dir;
    c.problems = problems;
    first_problem = strata_config_problems_count(problems);

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_node_t fake = {0};
        fake.start_mark = parser.problem_mark;
        at(&c, &fake, "invalid YAML: %s",
           parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        goto out;
    }
    walk_root(&c, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);

out:
    strata_config__problems_sort_from(problems, first_problem);
    if (c.nproblems > 0) {
        rc = strata_error_set(
            err, STRATA_EINVAL, "catalog '%s' has %zu problem%s%s%s", name,
            c.nproblems, c.nproblems == 1 ? "" : "s",
            problems && strata_config_problems_count(problems) > first_problem
                ? ", first: "
                : "",
            problems && strata_config_problems_count(problems) > first_problem
                ? strata_config_problems_get(problems, first_problem)->text
                : "");
        strata_catalog_free(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

int
strata_catalog_load(strata_catalog **out, const char *path,
                    strata_config_problems *problems, strata_error *err)
{
    char *data = NULL, *dir, *slash;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, MAX_CATALOG_SIZE, err);
    if (rc != 0)
        return rc;
    dir = strata_xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = NULL;
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    rc = strata_catalog_load_string(out, data, len, path, dir, problems, err);
    free(dir);
    free(data);
    return rc;
}

void
strata_catalog_free(strata_catalog *cat)
{
    size_t i;

    if (cat == NULL)
        return;
    for (i = 0; i < cat->n_strings; i++)
        free(cat->strings[i]);
    for (i = 0; i < cat->n_lists; i++)
        free((void *) cat->lists[i]);
    if (cat->policies != NULL)
        for (i = 0; i < cat->n_entries; i++)
            strata_tag_policy_free(cat->policies[i]);
    free(cat->policies);
    free(cat->strings);
    free(cat->lists);
    free(cat->entries);
    free(cat->teams);
    free(cat);
}
