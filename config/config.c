/*
 * config.c - loading a configuration: reads the file, parses it with
 * libyaml's document API (keeping every node's mark), walks the root
 * schema over it, and hands back the immutable tree or the list of
 * problems. The tree lives in an arena freed whole; secrets are wiped
 * before their memory goes back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-int.h"
#include "oci.h"

/* Configurations are small; anything bigger is a mistake. */
#define MAX_FILE (4 * 1024 * 1024)
#define BLOCK_SIZE 8192

struct strata_config__block {
    strata_config__block *next;
    size_t used, cap;
    max_align_t data[];
};

/* The embedded defaults: what strata runs on without a strata.yaml. */
static const char default_yaml[] =
    "# strata's built-in defaults, used when ./strata.yaml is missing and\n"
    "# -c was not given.\n"
    "state: ./strata.db\n"
    "log: {level: info, format: text}\n"
    "watch: {interval: 15m, jitter: 10%, soak: 0, settle: 0}\n"
    "api: {listen: \"127.0.0.1:8780\"}\n";

void *
strata_config__alloc(strata_config *cfg, size_t size)
{
    strata_config__block *b = cfg->blocks;
    size_t align = sizeof(max_align_t);
    void *p;

    size = (size + align - 1) / align * align;
    if (b != NULL && size > BLOCK_SIZE / 4 && b->cap - b->used < size) {
        /*
         * A large piece gets a block of its own behind the current one, so
         * the rest of the current block is not thrown away for it.
         */
        strata_config__block *own = strata_xmalloc(sizeof(*own) + size);

        own->cap = own->used = size;
        own->next = b->next;
        b->next = own;
        memset(own->data, 0, size);
        return own->data;
    }
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > BLOCK_SIZE ? size : BLOCK_SIZE;

        b = strata_xmalloc(sizeof(*b) + cap);
        b->cap = cap;
        b->used = 0;
        b->next = cfg->blocks;
        cfg->blocks = b;
    }
    p = (char *) b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *
strata_config__strndup(strata_config *cfg, const char *s, size_t n)
{
    char *p = strata_config__alloc(cfg, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
strata_config__strdup(strata_config *cfg, const char *s)
{
    return strata_config__strndup(cfg, s, strlen(s));
}

strata_secret *
strata_config__secret(strata_config *cfg, const char *value, size_t len,
                      const char *source)
{
    strata_secret *s = strata_config__alloc(cfg, sizeof(*s));

    s->value = strata_config__strndup(cfg, value, len);
    s->len = len;
    s->source = strata_config__strdup(cfg, source);
    cfg->secrets =
        strata_xrealloc(cfg->secrets, (cfg->n_secrets + 1) * sizeof(s));
    cfg->secrets[cfg->n_secrets++] = s;
    return s;
}

const char *
strata_secret_reveal(const strata_secret *secret)
{
    return secret != NULL ? secret->value : NULL;
}

const char *
strata_secret_source(const strata_secret *secret)
{
    return secret != NULL ? secret->source : NULL;
}

void
strata_config_free(strata_config *cfg)
{
    strata_config__block *b, *next;
    size_t i;

    if (cfg == NULL)
        return;
    if (cfg->refs > 0) {
        cfg->refs--;
        return;
    }
    strata_config_free(cfg->parent);
    /* Interpolated values of any key may hold secrets: wipe everything. */
    for (i = 0; i < cfg->n_secrets; i++)
        explicit_bzero(cfg->secrets[i]->value, cfg->secrets[i]->len);
    for (b = cfg->blocks; b != NULL; b = next) {
        next = b->next;
        explicit_bzero(b->data, b->used);
        free(b);
    }
    free(cfg->secrets);
    for (i = 0; i < cfg->n_schedules; i++)
        strata_schedule_free(cfg->schedules[i]);
    free(cfg->schedules);
    free(cfg);
}

const strata_config_data *
strata_config_data_get(const strata_config *config)
{
    return &config->data;
}

/* 1-based line and column of a byte offset, for libyaml reader errors. */
static void
offset_mark(const char *yaml, size_t len, size_t off, int *line, int *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off && i < len; i++) {
        if (yaml[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char) yaml[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void
syntax_problem(strata_config__ctx *ctx, yaml_parser_t *parser, const char *yaml,
               size_t len)
{
    const char *problem = parser->problem ? parser->problem : "unknown error";
    int line, col;

    if (parser->error == YAML_READER_ERROR) {
        offset_mark(yaml, len, parser->problem_offset, &line, &col);
        strata_config__problem(ctx->problems, ctx->file, line, col,
                               "invalid YAML: %s", problem);
    } else if (parser->context != NULL) {
        strata_config__problem(
            ctx->problems, ctx->file, (int) parser->problem_mark.line + 1,
            (int) parser->problem_mark.column + 1,
            "invalid YAML: %s (%s at line %d)", problem, parser->context,
            (int) parser->context_mark.line + 1);
    } else {
        strata_config__problem(
            ctx->problems, ctx->file, (int) parser->problem_mark.line + 1,
            (int) parser->problem_mark.column + 1, "invalid YAML: %s", problem);
    }
    ctx->n_problems++;
}

/* Parses and walks; the problems found are in ctx. */
static void
load_doc(strata_config__ctx *ctx, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    yaml_node_t *root;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_problem(ctx, &parser, yaml, len);
        yaml_parser_delete(&parser);
        return;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL) {
        if (!yaml_parser_load(&parser, &extra)) {
            syntax_problem(ctx, &parser, yaml, len);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2 != NULL)
                strata_config__problem(ctx->problems, ctx->file,
                                       (int) r2->start_mark.line + 1,
                                       (int) r2->start_mark.column + 1,
                                       "only one YAML document is allowed");
            ctx->n_problems += r2 != NULL;
            yaml_document_delete(&extra);
        }
    }
    ctx->doc = &doc;
    if (root != NULL && root->type != YAML_MAPPING_NODE &&
        !strata_config__is_null(root)) {
        strata_config__at(ctx, root,
                          "the configuration must be a mapping, "
                          "not %s",
                          strata_config__node_kind(root));
    } else {
        strata_config__walk(
            ctx, &strata_config__root,
            root != NULL && root->type == YAML_MAPPING_NODE ? root : NULL,
            &ctx->cfg->data);
    }
    ctx->doc = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
}

int
strata_config_load_string(strata_config **out, const char *yaml, size_t len,
                          const char *name, const char *base_dir,
                          strata_config_problems *problems, strata_error *err)
{
    strata_config_problems *own = NULL;
    strata_config__ctx ctx = {0};
    char cwd[PATH_MAX];
    size_t before;
    int rc = 0;

    *out = NULL;
    if (problems == NULL)
        problems = own = strata_config_problems_new();
    before = strata_config_problems_count(problems);
    if (base_dir == NULL) {
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return strata_error_set(err, STRATA_EIO,
                                    "cannot get the working directory: %s",
                                    strerror(errno));
        base_dir = cwd;
    }
    ctx.cfg = strata_xcalloc(1, sizeof(*ctx.cfg));
    ctx.problems = problems;
    ctx.file = name;
    ctx.base_dir = base_dir;
    ctx.cfg->data.file = strata_config__strdup(ctx.cfg, name);
    ctx.cfg->data.base_dir = strata_config__strdup(ctx.cfg, base_dir);
    load_doc(&ctx, yaml, len);
    if (strata_config_problems_count(problems) > before) {
        size_t n = strata_config_problems_count(problems) - before;

        strata_config__problems_sort(problems);
        rc = strata_error_set(err, STRATA_EINVAL,
                              "invalid configuration '%s': %zu problem%s, "
                              "the first: %s",
                              name, n, n == 1 ? "" : "s",
                              strata_config_problems_get(problems, 0)->text);
        strata_config_free(ctx.cfg);
    } else {
        strata_config__index_build(ctx.cfg);
        *out = ctx.cfg;
    }
    strata_config_problems_free(own);
    return rc;
}

int
strata_config_load(strata_config **out, const char *path,
                   strata_config_problems *problems, strata_error *err)
{
    char *data = NULL, *copy = NULL, *dir = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, MAX_FILE, err);
    if (rc != 0)
        return rc;
    copy = strata_xstrdup(path);
    dir = realpath(dirname(copy), NULL);
    if (dir == NULL) {
        rc = strata_error_set(err, STRATA_EIO, "cannot resolve '%s': %s", path,
                              strerror(errno));
        goto out;
    }
    rc = strata_config_load_string(out, data, len, path, dir, problems, err);
out:
    if (data != NULL)
        explicit_bzero(data, len);
    free(data);
    free(copy);
    free(dir);
    return rc;
}

const char *
strata_config_default_yaml(void)
{
    return default_yaml;
}

int
strata_config_default(strata_config **out, strata_error *err)
{
    return strata_config_load_string(out, default_yaml, strlen(default_yaml),
                                     "<defaults>", NULL, NULL, err);
}

int
strata_config_load_or_default(strata_config **out, const char *path,
                              int explicit_path,
                              strata_config_problems *problems,
                              strata_error *err)
{
    struct stat st;

    if (!explicit_path && stat(path, &st) != 0 && errno == ENOENT)
        return strata_config_default(out, err);
    return strata_config_load(out, path, problems, err);
}

const strata_config_registry *
strata_config_registry_find(const strata_config *config, const char *host)
{
    size_t i;

    for (i = 0; i < config->data.n_registries; i++)
        if (strcasecmp(config->data.registries[i].host, host) == 0)
            return &config->data.registries[i];
    return NULL;
}

/* One step: ref's name through the longest alias it is under, or NULL. */
static char *
upstream_step(const strata_config_data *cfg, const char *ref)
{
    strata_error err = {0};
    strata_ref *parsed = NULL;
    char *joined, *out = NULL;
    size_t i, n = 0;

    for (i = 0; i < cfg->n_aliases; i++) {
        n = strlen(cfg->aliases[i].from);
        if (strncmp(ref, cfg->aliases[i].from, n) == 0 && ref[n] == '/')
            break;
    }
    if (i == cfg->n_aliases)
        return NULL;
    /* Parsed again: "docker.io/debian" is "docker.io/library/debian". */
    joined = strata_xasprintf("%s%s", cfg->aliases[i].to, ref + n);
    if (strata_ref_parse(&parsed, joined, &err) == 0)
        out = strata_xstrdup(strata_ref_string(parsed));
    strata_ref_free(parsed);
    free(joined);
    return out;
}

char *
strata_config_upstream_ref(const strata_config_data *cfg, const char *ref)
{
    char *out = NULL, *next;
    int steps;

    if (cfg == NULL || ref == NULL)
        return NULL;
    /*
     * No alias leads to another (config check), but a path under one may:
     * harbor-old.example.com/dockerhub/x -> harbor.example.com/dockerhub/x
     * -> docker.io/x. Each step is a longer match elsewhere; 8 bound it.
     */
    for (steps = 0; steps < 8; steps++) {
        if ((next = upstream_step(cfg, out != NULL ? out : ref)) == NULL)
            break;
        free(out);
        out = next;
    }
    return out;
}

void
strata_config_registry_opts(strata_registry_opts *o,
                            const strata_config_registry *r)
{
    o->username = r->username;
    /* A token (a personal access token) is sent as the password. */
    o->password = r->password ? strata_secret_reveal(r->password)
                  : r->token  ? strata_secret_reveal(r->token)
                              : NULL;
    if (o->password != NULL && o->username == NULL)
        o->username = "strata";
    o->insecure = r->insecure;
    o->ca_file = r->ca_file;
}

const strata_config_builder *
strata_config_builder_find(const strata_config *config, const char *name)
{
    size_t i;

    for (i = 0; i < config->data.n_builders; i++)
        if (strcmp(config->data.builders[i].name, name) == 0)
            return &config->data.builders[i];
    return NULL;
}

const char *
strata_config_forge_name(strata_config_forge_type type)
{
    return strata_config__forge_names[type];
}

const char *
strata_config_builder_type_name(strata_config_builder_type type)
{
    return strata_config__builder_names[type];
}

const char *
strata_config_notify_type_name(strata_config_notify_type type)
{
    return strata_config__notify_names[type];
}

const char *
strata_config_action_name(unsigned action_bit)
{
    int i;

    for (i = 0; strata_config__action_names[i] != NULL; i++)
        if (action_bit == (1u << i))
            return strata_config__action_names[i];
    return NULL;
}

const char *
strata_config_hold_name(unsigned hold_bit)
{
    int i;

    for (i = 0; strata_config__hold_names[i] != NULL; i++)
        if (hold_bit == (1u << i))
            return strata_config__hold_names[i];
    return NULL;
}
