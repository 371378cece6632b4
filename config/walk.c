/*
 * walk.c - interprets the schema tables over the YAML document: matches
 * each key of a mapping to a field (or reports it as unknown, with the
 * nearest known key), converts values by kind into the public structs,
 * applies defaults, reports missing required keys, and recurses into
 * sub-sections. Every problem is reported and walking goes on, so one run
 * lists them all.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-int.h"
#include "oci.h"

#define SLOT(obj, off) ((void *) ((char *) (obj) + (off)))

static const char *
expected(const strata_config__field *f)
{
    switch (f->kind) {
    case STRATA_CF_BOOL:
        return "a boolean (true or false)";
    case STRATA_CF_INT:
        return "a number";
    case STRATA_CF_DURATION:
        return "a duration such as 30s, 15m or 1h30m";
    case STRATA_CF_FLAGS:
    case STRATA_CF_STRINGS:
    case STRATA_CF_LIST:
        return "a list";
    case STRATA_CF_KV:
    case STRATA_CF_OBJECT:
    case STRATA_CF_MAP:
        return "a mapping";
    default:
        return "a string";
    }
}

/* tainted: the value came from the environment and may be secret. */
static void
wrong_type(strata_config__ctx *ctx, const yaml_node_t *node,
           const strata_config__field *f, int tainted)
{
    if (node != NULL && node->type == YAML_SCALAR_NODE && !tainted &&
        f->kind != STRATA_CF_SECRET && node->data.scalar.length < 80)
        strata_config__at(ctx, node, "'%s' must be %s, not '%s'", f->key,
                          expected(f), (const char *) node->data.scalar.value);
    else if (tainted)
        strata_config__at(ctx, node,
                          "'%s' must be %s (the value comes from the "
                          "environment)",
                          f->key, expected(f));
    else
        strata_config__at(ctx, node, "'%s' must be %s, not %s", f->key,
                          expected(f), strata_config__node_kind(node));
}

/* "a, b, c" from a NULL-terminated table. Caller frees. */
static char *
join_names(const char *const *names)
{
    strata_buf b = STRATA_BUF_INIT;
    size_t i;

    for (i = 0; names[i] != NULL; i++)
        strata_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    return strata_buf_detach(&b);
}

static int
find_name(const char *const *names, const char *v)
{
    int i;

    for (i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return -1;
}

static void
unknown_name(strata_config__ctx *ctx, const yaml_node_t *node,
             const strata_config__field *f, const char *v, int tainted)
{
    char *all = join_names(f->names);

    if (tainted)
        strata_config__at(ctx, node,
                          "unknown value for '%s' (expected one of: %s)",
                          f->key, all);
    else
        strata_config__at(ctx, node,
                          "unknown value '%s' for '%s' (expected one of: %s)",
                          v, f->key, all);
    free(all);
}

static int
parse_long(long *out, const char *s)
{
    char *end;
    long v;

    if (*s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/*
 * Reads a secret file, wiping every intermediate buffer, and strips one
 * trailing newline (files written by editors and `echo` end with one).
 */
static int
read_secret(strata_config__ctx *ctx, const yaml_node_t *node,
            const strata_config__field *f, const char *path, void *slot)
{
    char buf[STRATA_CONFIG_MAX_SECRET + 1];
    size_t len = 0;
    int fd, rc = -1;
    char *source;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        strata_config__at(ctx, node, "cannot read '%s_file' '%s': %s", f->key,
                          path, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            strata_config__at(ctx, node, "cannot read '%s_file' '%s': %s",
                              f->key, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t) n;
        if (len == sizeof(buf)) {
            strata_config__at(ctx, node,
                              "'%s_file' '%s' is larger than %d bytes", f->key,
                              path, STRATA_CONFIG_MAX_SECRET);
            goto out;
        }
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len == 0) {
        strata_config__at(ctx, node, "'%s_file' '%s' is empty", f->key, path);
        goto out;
    }
    source = strata_xasprintf("file %s", path);
    *(const strata_secret **) slot =
        strata_config__secret(ctx->cfg, buf, len, source);
    free(source);
    rc = 0;
out:
    memset(buf, 0, sizeof(buf));
    close(fd);
    return rc;
}

/* Converts one scalar's text by field kind. node is NULL for defaults. */
static int
convert_scalar(strata_config__ctx *ctx, const yaml_node_t *node,
               const strata_config__field *f, const char *v, int tainted,
               const char *var, void *slot)
{
    uint64_t ms;
    long n;
    int i;

    switch (f->kind) {
    case STRATA_CF_STRING:
    case STRATA_CF_PATH:
        if ((f->flags & STRATA_CF_NONEMPTY) && v[0] == '\0') {
            strata_config__at(ctx, node, "'%s' must not be empty", f->key);
            return -1;
        }
        if (f->validate != NULL && f->validate(ctx, node, f, v, tainted) != 0)
            return -1;
        /* v from a node is already the arena's (interpolated) copy. */
        *(const char **) slot = f->kind == STRATA_CF_PATH && v[0] != '\0'
                                    ? strata_config__path(ctx, v)
                                : node != NULL
                                    ? v
                                    : strata_config__strdup(ctx->cfg, v);
        return 0;
    case STRATA_CF_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
            *(int *) slot = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "False") ||
                 !strcmp(v, "FALSE"))
            *(int *) slot = 0;
        else {
            wrong_type(ctx, node, f, tainted);
            return -1;
        }
        return 0;
    case STRATA_CF_INT:
        if (parse_long(&n, v) != 0) {
            wrong_type(ctx, node, f, tainted);
            return -1;
        }
        if (n < f->min || n > f->max) {
            strata_config__at(ctx, node,
                              "'%s' must be between %ld and %ld, not %ld",
                              f->key, f->min, f->max, n);
            return -1;
        }
        *(int *) slot = (int) n;
        return 0;
    case STRATA_CF_DURATION:
        if (strata_parse_duration(&ms, v) != 0) {
            if (tainted)
                strata_config__at(ctx, node,
                                  "invalid duration for '%s' (use e.g. 30s, "
                                  "15m, 1h30m)",
                                  f->key);
            else
                strata_config__at(ctx, node,
                                  "invalid duration '%s' for '%s' (use e.g. "
                                  "30s, 15m, 1h30m)",
                                  v, f->key);
            return -1;
        }
        if (ms < (uint64_t) f->min) {
            strata_config__at(ctx, node, "'%s' must be at least %ld%s", f->key,
                              f->min % 1000 ? f->min : f->min / 1000,
                              f->min % 1000 ? "ms" : "s");
            return -1;
        }
        *(uint64_t *) slot = ms;
        return 0;
    case STRATA_CF_ENUM:
        if ((i = find_name(f->names, v)) < 0) {
            unknown_name(ctx, node, f, v, tainted);
            return -1;
        }
        *(int *) slot = i;
        return 0;
    case STRATA_CF_SECRET: {
        char *source = var != NULL && tainted ? strata_xasprintf("env %s", var)
                                              : strata_xstrdup("inline");
        if (v[0] == '\0') {
            strata_config__at(ctx, node, "'%s' must not be empty", f->key);
            free(source);
            return -1;
        }
        *(const strata_secret **) slot =
            strata_config__secret(ctx->cfg, v, strlen(v), source);
        free(source);
        return 0;
    }
    case STRATA_CF_REF: {
        strata_error e = {0};
        strata_ref *ref = NULL;

        if (strata_ref_parse(&ref, v, &e) != 0) {
            if (tainted)
                strata_config__at(ctx, node, "invalid image reference in '%s'",
                                  f->key);
            else
                strata_config__at(ctx, node, "'%s': %s", f->key, e.msg);
            return -1;
        }
        if (f->validate != NULL &&
            f->validate(ctx, node, f, strata_ref_string(ref), tainted) != 0) {
            strata_ref_free(ref);
            return -1;
        }
        *(const char **) slot =
            strata_config__strdup(ctx->cfg, strata_ref_string(ref));
        if (f->aux >= 0)
            *(const char **) ((char *) slot - f->offset + f->aux) =
                strata_config__strdup(ctx->cfg, strata_ref_name(ref));
        strata_ref_free(ref);
        return 0;
    }
    case STRATA_CF_CUSTOM:
        return f->parse(ctx, node, f, v, tainted, slot);
    default:
        return -1;
    }
}

/* Interpolates a scalar node and converts it. */
static int
convert_node(strata_config__ctx *ctx, const yaml_node_t *node,
             const strata_config__field *f, void *slot)
{
    const char *var = NULL;
    char *v;
    int tainted = 0;

    if (node->type != YAML_SCALAR_NODE) {
        wrong_type(ctx, node, f, 0);
        return -1;
    }
    v = strata_config__interpolate(ctx, node, f->key, &tainted, &var);
    if (v == NULL)
        return -1;
    return convert_scalar(ctx, node, f, v, tainted, var, slot);
}

static size_t
seq_len(const yaml_node_t *node)
{
    return (size_t) (node->data.sequence.items.top -
                     node->data.sequence.items.start);
}

static size_t
map_len(const yaml_node_t *node)
{
    return (size_t) (node->data.mapping.pairs.top -
                     node->data.mapping.pairs.start);
}

static void
convert_strings(strata_config__ctx *ctx, const yaml_node_t *node,
                const strata_config__field *f, void *slot)
{
    strata_config_strings *out = slot;
    size_t n = seq_len(node), i;
    strata_strmap *seen;
    const char **items;
    strata_config__field elem = *f;

    /* Every item counts, however often an alias brings it back. */
    if (strata_config__visit(ctx, node, n) != 0)
        return;
    seen = strata_strmap_new();
    items = strata_config__alloc(ctx->cfg, (n + 1) * sizeof(*items));
    elem.kind = STRATA_CF_STRING;
    elem.flags |= STRATA_CF_NONEMPTY;
    for (i = 0; i < n; i++) {
        const yaml_node_t *it = strata_config__item(ctx, node, i);

        items[i] = "";
        if (ctx->stopped)
            continue;
        if (it == NULL || it->type != YAML_SCALAR_NODE) {
            strata_config__at(ctx, it, "items of '%s' must be strings, not %s",
                              f->key, strata_config__node_kind(it));
            continue;
        }
        if (convert_node(ctx, it, &elem, &items[i]) != 0)
            continue;
        if (strata_strmap_put(seen, items[i], (void *) it) != NULL)
            strata_config__at(ctx, it, "duplicate '%s' in '%s'", items[i],
                              f->key);
    }
    strata_strmap_free(seen);
    out->items = items;
    out->count = n;
}

static void
convert_flags(strata_config__ctx *ctx, const yaml_node_t *node,
              const strata_config__field *f, void *slot)
{
    unsigned bits = 0;
    size_t n = seq_len(node), i;

    if (strata_config__visit(ctx, node, n) != 0)
        return;
    for (i = 0; i < n && !ctx->stopped; i++) {
        const yaml_node_t *it = strata_config__item(ctx, node, i);
        int tainted = 0, k;
        char *v;

        if (it == NULL || it->type != YAML_SCALAR_NODE) {
            strata_config__at(ctx, it, "items of '%s' must be strings, not %s",
                              f->key, strata_config__node_kind(it));
            continue;
        }
        v = strata_config__interpolate(ctx, it, f->key, &tainted, NULL);
        if (v == NULL)
            continue;
        if ((k = find_name(f->names, v)) < 0) {
            unknown_name(ctx, it, f, v, tainted);
            continue;
        }
        if (bits & (1u << k))
            strata_config__at(ctx, it, "duplicate '%s' in '%s'", v, f->key);
        bits |= 1u << k;
    }
    *(unsigned *) slot = bits;
}

static void
convert_kv(strata_config__ctx *ctx, const yaml_node_t *node,
           const strata_config__field *f, void *obj)
{
    size_t n = map_len(node), i;
    strata_strmap *seen;
    strata_config_kv *kv;
    strata_config__field elem = *f;

    if (strata_config__visit(ctx, node, n) != 0)
        return;
    seen = strata_strmap_new();
    kv = strata_config__alloc(ctx->cfg, (n + 1) * sizeof(*kv));
    elem.kind = STRATA_CF_STRING;
    for (i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);

        kv[i].key = kv[i].value = "";
        if (ctx->stopped)
            continue;
        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            strata_config__at(ctx, k, "keys of '%s' must be strings", f->key);
            continue;
        }
        kv[i].key = strata_config__strdup(ctx->cfg,
                                          (const char *) k->data.scalar.value);
        if (strata_strmap_put(seen, kv[i].key, (void *) k) != NULL)
            strata_config__at(ctx, k, "duplicate key '%s' in '%s'", kv[i].key,
                              f->key);
        if (v == NULL || strata_config__is_null(v))
            continue;
        elem.key = kv[i].key;
        convert_node(ctx, v, &elem, &kv[i].value);
    }
    strata_strmap_free(seen);
    *(const strata_config_kv **) SLOT(obj, f->offset) = kv;
    *(size_t *) SLOT(obj, (size_t) f->aux) = n;
}

static void
convert_list(strata_config__ctx *ctx, const yaml_node_t *node,
             const strata_config__field *f, void *obj)
{
    const strata_config__schema *sub = f->sub;
    size_t n = f->kind == STRATA_CF_LIST ? seq_len(node) : map_len(node), i;
    char *arr;

    if (strata_config__visit(ctx, node, n) != 0)
        return;
    arr = strata_config__alloc(ctx->cfg, (n + 1) * sub->size);

    for (i = 0; i < n && !ctx->stopped; i++) {
        void *elem = arr + i * sub->size;
        const yaml_node_t *it;

        if (f->kind == STRATA_CF_LIST) {
            it = strata_config__item(ctx, node, i);
        } else {
            yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);

            it = yaml_document_get_node(ctx->doc, p->value);
            if (k == NULL || k->type != YAML_SCALAR_NODE) {
                strata_config__at(ctx, k, "keys of '%s' must be strings",
                                  f->key);
                continue;
            }
            *(const char **) SLOT(elem, (size_t) sub->name_offset) =
                strata_config__strdup(ctx->cfg,
                                      (const char *) k->data.scalar.value);
        }
        if (it == NULL || it->type != YAML_MAPPING_NODE) {
            strata_config__at(ctx, it,
                              "each %s in '%s' must be a mapping, "
                              "not %s",
                              sub->what, f->key, strata_config__node_kind(it));
            continue;
        }
        strata_config__walk(ctx, sub, it, elem);
    }
    *(void **) SLOT(obj, f->offset) = arr;
    *(size_t *) SLOT(obj, (size_t) f->aux) = n;
}

/* Converts the value node of field f (not null) into obj. */
static void
convert_field(strata_config__ctx *ctx, const yaml_node_t *node,
              const strata_config__field *f, void *obj)
{
    void *slot = SLOT(obj, f->offset);

    switch (f->kind) {
    case STRATA_CF_OBJECT:
        if (node->type != YAML_MAPPING_NODE) {
            wrong_type(ctx, node, f, 0);
            strata_config__walk(ctx, f->sub, NULL, slot);
            return;
        }
        strata_config__walk(ctx, f->sub, node, slot);
        return;
    case STRATA_CF_KV:
    case STRATA_CF_MAP:
        if (node->type != YAML_MAPPING_NODE) {
            wrong_type(ctx, node, f, 0);
            return;
        }
        if (f->kind == STRATA_CF_KV)
            convert_kv(ctx, node, f, obj);
        else
            convert_list(ctx, node, f, obj);
        return;
    case STRATA_CF_LIST:
    case STRATA_CF_STRINGS:
    case STRATA_CF_FLAGS:
        if (node->type != YAML_SEQUENCE_NODE) {
            wrong_type(ctx, node, f, 0);
            return;
        }
        if ((f->flags & STRATA_CF_NONEMPTY) && seq_len(node) == 0)
            strata_config__at(ctx, node, "'%s' must not be empty", f->key);
        if (f->kind == STRATA_CF_LIST)
            convert_list(ctx, node, f, obj);
        else if (f->kind == STRATA_CF_STRINGS)
            convert_strings(ctx, node, f, slot);
        else
            convert_flags(ctx, node, f, slot);
        return;
    default:
        convert_node(ctx, node, f, slot);
        return;
    }
}

static void
apply_default(strata_config__ctx *ctx, const strata_config__field *f, void *obj)
{
    void *slot = SLOT(obj, f->offset);

    if (f->kind == STRATA_CF_OBJECT) {
        strata_config__walk(ctx, f->sub, NULL, slot);
        return;
    }
    if (f->def == NULL)
        return;
    /* Built-in defaults are valid by construction: no node to blame. */
    convert_scalar(ctx, NULL, f, f->def, 0, NULL, slot);
}

/* Every key the schema accepts, for suggestions. Caller frees. */
static const char **
known_keys(const strata_config__schema *s, size_t *n)
{
    const char **keys = strata_xcalloc(s->n_fields * 2, sizeof(*keys));
    size_t i, k = 0;

    for (i = 0; i < s->n_fields; i++) {
        keys[k++] = s->fields[i].key;
        if (s->fields[i].kind == STRATA_CF_SECRET)
            keys[k++] = strata_xasprintf("%s_file", s->fields[i].key);
    }
    *n = k;
    return keys;
}

static void
free_keys(const strata_config__schema *s, const char **keys)
{
    size_t i, k = 0;

    for (i = 0; i < s->n_fields; i++) {
        k++;
        if (s->fields[i].kind == STRATA_CF_SECRET)
            free((char *) keys[k++]);
    }
    free(keys);
}

/* Which field a key names: its index, or -1. *is_file for KEY_file. */
static int
match_key(const strata_config__schema *s, const char *key, int *is_file)
{
    size_t i, kl = strlen(key);

    *is_file = 0;
    for (i = 0; i < s->n_fields; i++) {
        const strata_config__field *f = &s->fields[i];
        size_t fl = strlen(f->key);

        if (strcmp(f->key, key) == 0)
            return (int) i;
        if (f->kind == STRATA_CF_SECRET && kl == fl + 5 &&
            strncmp(key, f->key, fl) == 0 && strcmp(key + fl, "_file") == 0) {
            *is_file = 1;
            return (int) i;
        }
    }
    return -1;
}

void
strata_config__walk(strata_config__ctx *ctx, const strata_config__schema *s,
                    const yaml_node_t *node, void *obj)
{
    const yaml_node_t **values = NULL, **files = NULL;
    strata_strmap *seen = NULL;
    yaml_node_t *pk;
    size_t i, n = 0;

    if (s->set_offset >= 0)
        *(int *) SLOT(obj, (size_t) s->set_offset) = node != NULL;
    if (node != NULL) {
        if (s->pos_offset >= 0) {
            strata_config_pos *pos = SLOT(obj, (size_t) s->pos_offset);
            pos->line = (int) node->start_mark.line + 1;
            pos->col = (int) node->start_mark.column + 1;
        }
        n = map_len(node);
        if (strata_config__visit(ctx, node, n + 1) != 0)
            return;
    }
    seen = strata_strmap_new();
    values = strata_xcalloc(s->n_fields + 1, sizeof(*values));
    files = strata_xcalloc(s->n_fields + 1, sizeof(*files));
    for (i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
        const char *key;
        int idx, is_file;

        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            strata_config__at(ctx, k, "keys must be strings, not %s",
                              strata_config__node_kind(k));
            continue;
        }
        key = (const char *) k->data.scalar.value;
        if ((pk = strata_strmap_get(seen, key)) != NULL) {
            strata_config__at(ctx, k, "duplicate key '%s' (first at line %d)",
                              key, (int) pk->start_mark.line + 1);
            continue;
        }
        strata_strmap_put(seen, key, k);
        idx = match_key(s, key, &is_file);
        if (idx < 0) {
            size_t nk;
            const char **keys = known_keys(s, &nk);
            const char *hint = strata_config__suggest(key, keys, nk);

            if (hint != NULL)
                strata_config__at(ctx, k,
                                  "unknown key '%s' in %s; did you mean "
                                  "'%s'?",
                                  key, s->what, hint);
            else
                strata_config__at(ctx, k, "unknown key '%s' in %s", key,
                                  s->what);
            free_keys(s, keys);
            continue;
        }
        if (strata_config__is_null(v))
            continue;
        if (is_file)
            files[idx] = v;
        else
            values[idx] = v;
    }
    for (i = 0; i < s->n_fields && !ctx->stopped; i++) {
        const strata_config__field *f = &s->fields[i];

        if (values[i] != NULL && files[i] != NULL) {
            strata_config__at(ctx, files[i],
                              "set either '%s' or '%s_file', not both", f->key,
                              f->key);
            continue;
        }
        if (files[i] != NULL) {
            strata_config__field pf = *f;
            const char *path = NULL;

            pf.kind = STRATA_CF_PATH;
            pf.validate = NULL;
            pf.flags |= STRATA_CF_NONEMPTY;
            if (convert_node(ctx, files[i], &pf, &path) == 0)
                read_secret(ctx, files[i], f, path, SLOT(obj, f->offset));
            continue;
        }
        if (values[i] != NULL) {
            convert_field(ctx, values[i], f, obj);
            continue;
        }
        if (f->flags & STRATA_CF_REQUIRED) {
            if (node != NULL)
                strata_config__at(ctx, node, "missing required key '%s' in %s",
                                  f->key, s->what);
            continue;
        }
        apply_default(ctx, f, obj);
    }
    strata_strmap_free(seen);
    free(values);
    free(files);
    if (s->check != NULL && !ctx->stopped)
        s->check(ctx, obj, node);
}
