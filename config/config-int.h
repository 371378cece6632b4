/*
 * config-int.h - what the files of the config module share: the loaded
 * configuration with its arena, the walking context, and the table-driven
 * schema that walk.c interprets and schema.c spells out.
 *
 * A section of the YAML is described by a strata_config__schema: a table
 * of fields, each naming a key, a kind (string, duration, list of
 * sections, ...) and the offset in the public struct where the converted
 * value goes. Adding a key is one line in a table; adding a section is a
 * table plus a struct in config.h.
 */
#ifndef STRATA_CONFIG_INT_H
#define STRATA_CONFIG_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

#include "config.h"

/* ---- the configuration and its arena ----------------------------------- */

typedef struct strata_config__block strata_config__block;

struct strata_secret {
    char *value;
    size_t len;
    const char *source;
};

struct strata_config {
    strata_config__block *blocks; /* the arena: everything in data */
    strata_secret **secrets;      /* wiped on free */
    size_t n_secrets;
    strata_schedule **schedules; /* every schedule's compiled form */
    size_t n_schedules;
    strata_config_data data;
    /* strata_config_derive(): the tree this one borrows from, kept alive
     * by one of its references; refs counts references beyond the
     * owner's (strata_config_free drops one, or frees). */
    strata_config *parent;
    int refs;
};

void *strata_config__alloc(strata_config *cfg, size_t size);
/* Builds data.index for strata_config_target (target.c), once loaded. */
typedef struct strata_config__index strata_config__index;
void strata_config__index_build(strata_config *cfg);
char *strata_config__strdup(strata_config *cfg, const char *s);
char *strata_config__strndup(strata_config *cfg, const char *s, size_t n);
/* A new secret holding a copy of value (len bytes); owned by cfg. */
strata_secret *strata_config__secret(strata_config *cfg, const char *value,
                                     size_t len, const char *source);

/* ---- problems ---------------------------------------------------------- */

/* Adds "file:line:col: message"; line and col are 1-based (0: no place). */
void strata_config__problem(strata_config_problems *problems, const char *file,
                            int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sorts by line and column, keeping the order of equal places. */
void strata_config__problems_sort(strata_config_problems *problems);
/* The same for the problems from index start on (one file's, when a list
 * holds the configuration's and then the catalog's). */
void strata_config__problems_sort_from(strata_config_problems *problems,
                                       size_t start);
/* Levenshtein distance, capped at 100. */
size_t strata_config__distance(const char *a, const char *b);
/* The candidate closest to word when it is close enough, else NULL. */
const char *strata_config__suggest(const char *word,
                                   const char *const *candidates, size_t n);

/* ---- walking ----------------------------------------------------------- */

/* More problems than this and loading stops collecting them. */
#define STRATA_CONFIG_MAX_PROBLEMS 200
/*
 * Bounds on what walking may expand, against alias bombs: the nodes
 * visited (mapping pairs and list items, every time an alias makes one
 * appear again) and the bytes of scalar text converted (after ${VAR}
 * interpolation). The file itself is at most 4 MiB.
 */
#define STRATA_CONFIG_MAX_VISITS 200000
#define STRATA_CONFIG_MAX_TEXT (16 * 1024 * 1024)
/*
 * A quoted value in a problem is cut to this many bytes, plus "…": room
 * for any image reference with a digest, URL or path, not for an aliased
 * 64 KiB string in each of 200 problems.
 */
#define STRATA_CONFIG_MAX_QUOTE 256
/* A secret file larger than this is refused. */
#define STRATA_CONFIG_MAX_SECRET 65536

typedef struct strata_config__ctx {
    strata_config *cfg;
    yaml_document_t *doc;
    strata_config_problems *problems;
    const char *file;
    const char *base_dir;
    size_t visits;
    size_t text;       /* bytes of scalar text converted */
    size_t n_problems; /* added by this load */
    int stopped;       /* too many problems or visits */
} strata_config__ctx;

/* Reports a problem at node (NULL: the start of the file). */
void strata_config__at(strata_config__ctx *ctx, const yaml_node_t *node,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void strata_config__at_mark(strata_config__ctx *ctx, yaml_mark_t mark,
                            const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Counts n more nodes seen at node. Past STRATA_CONFIG_MAX_VISITS it
 * reports that the configuration is too large and stops the walk; returns
 * -1 once stopped, else 0.
 */
int strata_config__visit(strata_config__ctx *ctx, const yaml_node_t *node,
                         size_t n);

/* The value node of key in a mapping node, or NULL. */
yaml_node_t *strata_config__lookup(strata_config__ctx *ctx,
                                   const yaml_node_t *map, const char *key);
/* The i-th item of a sequence node, or NULL. */
yaml_node_t *strata_config__item(strata_config__ctx *ctx,
                                 const yaml_node_t *seq, size_t i);
/* True for a missing node and for YAML's null ("", "~", "null"). */
int strata_config__is_null(const yaml_node_t *node);
/* "a string", "a list", "a mapping": what a node is. */
const char *strata_config__node_kind(const yaml_node_t *node);

/*
 * A scalar's text with ${VAR} replaced from the environment and $${
 * turned into ${. Reports unset variables and returns NULL then; so too
 * once the text converted passes STRATA_CONFIG_MAX_TEXT. *tainted
 * is set when a variable was used (the value may then be a secret and is
 * never quoted in messages); *var, when not NULL, gets the first one.
 */
char *strata_config__interpolate(strata_config__ctx *ctx,
                                 const yaml_node_t *node, const char *key,
                                 int *tainted, const char **var);
/* rel resolved against the base directory; an arena string. */
char *strata_config__path(strata_config__ctx *ctx, const char *rel);

/* ---- the schema -------------------------------------------------------- */

typedef struct strata_config__field strata_config__field;
typedef struct strata_config__schema strata_config__schema;

typedef enum strata_config__kind {
    STRATA_CF_STRING,   /* const char * */
    STRATA_CF_PATH,     /* const char *, absolute */
    STRATA_CF_BOOL,     /* int */
    STRATA_CF_INT,      /* int, in [min, max] */
    STRATA_CF_DURATION, /* uint64_t milliseconds */
    STRATA_CF_ENUM,     /* int: the index in names */
    STRATA_CF_FLAGS,    /* unsigned: a list of names, bit i for names[i] */
    STRATA_CF_SECRET,   /* const strata_secret *: KEY or KEY_file */
    STRATA_CF_REF,      /* const char *: canonical; aux: the name */
    STRATA_CF_STRINGS,  /* strata_config_strings */
    STRATA_CF_KV,       /* const strata_config_kv *, count at aux */
    STRATA_CF_OBJECT,   /* an embedded struct of schema sub */
    STRATA_CF_LIST,     /* a list of sub: pointer, count at aux */
    STRATA_CF_MAP,      /* NAME: sub, stored as a list, count at aux */
    STRATA_CF_CUSTOM,   /* a scalar that parse() converts */
} strata_config__kind;

/* Checks a converted string; reports and returns -1 when it is wrong. */
typedef int (*strata_config__validate_fn)(strata_config__ctx *ctx,
                                          const yaml_node_t *node,
                                          const strata_config__field *field,
                                          const char *value, int tainted);
/*
 * Converts a scalar's (interpolated) text into slot; node is NULL for a
 * built-in default. Reports and returns -1 when the value is wrong.
 */
typedef int (*strata_config__parse_fn)(strata_config__ctx *ctx,
                                       const yaml_node_t *node,
                                       const strata_config__field *field,
                                       const char *value, int tainted,
                                       void *slot);
/* Cross-field checks of a section once its fields are converted. */
typedef void (*strata_config__check_fn)(strata_config__ctx *ctx, void *obj,
                                        const yaml_node_t *node);

enum {
    STRATA_CF_REQUIRED = 1 << 0,
    STRATA_CF_NONEMPTY = 1 << 1, /* strings, lists: not empty */
};

struct strata_config__field {
    const char *key;
    strata_config__kind kind;
    size_t offset;
    unsigned flags;
    const char *def; /* default, as YAML text, or NULL */
    const strata_config__schema *sub;
    const char *const *names; /* ENUM, FLAGS: NULL-terminated */
    long min, max;            /* INT */
    ssize_t aux;              /* LIST, MAP, KV: count; REF: name; or -1 */
    strata_config__validate_fn validate;
    strata_config__parse_fn parse;
};

struct strata_config__schema {
    const char *what; /* "registry": for "missing key 'x' in registry" */
    const strata_config__field *fields;
    size_t n_fields;
    size_t size;
    ssize_t pos_offset;  /* strata_config_pos, or -1 */
    ssize_t name_offset; /* MAP entries: the key, or -1 */
    ssize_t set_offset;  /* int set to 1 when the section is present */
    strata_config__check_fn check;
};

/* The root section and the names of enums, in enum order (schema.c). */
extern const strata_config__schema strata_config__root;
extern const char *const strata_config__forge_names[];
extern const char *const strata_config__action_names[];
extern const char *const strata_config__hold_names[];
extern const char *const strata_config__builder_names[];
extern const char *const strata_config__notify_names[];
extern const char *const strata_config__webhook_names[];

/*
 * Walks a mapping node (NULL: absent, so only defaults apply) into obj
 * according to schema, then runs its check.
 */
void strata_config__walk(strata_config__ctx *ctx,
                         const strata_config__schema *schema,
                         const yaml_node_t *node, void *obj);

/*
 * A repository's pr section: every key its node (NULL: absent) does not
 * set takes the value of defaults (the top-level pull_requests).
 */
void strata_config__inherit_pr(strata_config__ctx *ctx, strata_config_pr *pr,
                               const yaml_node_t *node,
                               const strata_config_pr *defaults);

/* Checks that span keys of a section, and the whole (check.c). */
void strata_config__check_registry(strata_config__ctx *ctx, void *obj,
                                   const yaml_node_t *node);
void strata_config__check_watch(strata_config__ctx *ctx, void *obj,
                                const yaml_node_t *node);
void strata_config__check_repo(strata_config__ctx *ctx, void *obj,
                               const yaml_node_t *node);
void strata_config__check_builder(strata_config__ctx *ctx, void *obj,
                                  const yaml_node_t *node);
void strata_config__check_webhook(strata_config__ctx *ctx, void *obj,
                                  const yaml_node_t *node);
void strata_config__check_schedule(strata_config__ctx *ctx, void *obj,
                                   const yaml_node_t *node);
void strata_config__check_rollout(strata_config__ctx *ctx, void *obj,
                                  const yaml_node_t *node);
void strata_config__check_rollout_stage(strata_config__ctx *ctx, void *obj,
                                        const yaml_node_t *node);
void strata_config__check_notify(strata_config__ctx *ctx, void *obj,
                                 const yaml_node_t *node);
/* discover.c: a discover entry's cross-key rules; digits-only ids. */
void strata_config__check_discover(strata_config__ctx *ctx, void *obj,
                                   const yaml_node_t *node);
int strata_config__validate_digits(strata_config__ctx *ctx,
                                   const yaml_node_t *node,
                                   const strata_config__field *f, const char *v,
                                   int tainted);
/* Fills each discover entry's api_url and token from forges: (root). */
void strata_config__resolve_discover(strata_config__ctx *ctx,
                                     strata_config_data *data,
                                     const yaml_node_t *root);
void strata_config__check_root(strata_config__ctx *ctx, void *obj,
                               const yaml_node_t *node);

/* ---- verify blocks (verify.c) ------------------------------------------- */

/* "enforce", "warn", "off", NULL: strata_config_verify_mode order. */
extern const char *const strata_config__verify_modes[];
/* The checks of one value, shared with the catalog: 0, or why not. */
int strata_config__verify_key_check(const char *path, strata_error *err);
int strata_config__verify_root_check(const char *path, strata_error *err);
int strata_config__verify_identity_check(const char *issuer,
                                         const char *subject,
                                         const char *subject_regexp,
                                         strata_error *err);
int strata_config__verify_mirror_check(const char *mirror, strata_error *err);
/* The same as schema validators. */
int strata_config__verify_validate_key(strata_config__ctx *ctx,
                                       const yaml_node_t *node,
                                       const strata_config__field *f,
                                       const char *v, int tainted);
int strata_config__verify_validate_root(strata_config__ctx *ctx,
                                        const yaml_node_t *node,
                                        const strata_config__field *f,
                                        const char *v, int tainted);
int strata_config__verify_validate_mirror(strata_config__ctx *ctx,
                                          const yaml_node_t *node,
                                          const strata_config__field *f,
                                          const char *v, int tainted);
int strata_config__signing_validate_key(strata_config__ctx *ctx,
                                        const yaml_node_t *node,
                                        const strata_config__field *f,
                                        const char *v, int tainted);
void strata_config__check_identity(strata_config__ctx *ctx, void *obj,
                                   const yaml_node_t *node);
void strata_config__check_verify(strata_config__ctx *ctx, void *obj,
                                 const yaml_node_t *node);

/* ---- catalog storage (catalog.c) --------------------------------------- */

struct strata_catalog {
    strata_catalog_entry *entries;
    size_t n_entries;
    strata_catalog_team *teams;
    size_t n_teams;
    char **strings; /* every string the entries point to */
    size_t n_strings, cap_strings;
    const char ***lists; /* every list the entries point to */
    size_t n_lists, cap_lists;
    void **policies; /* strata_tag_policy per entry (NULL for tags) */
};

#endif
