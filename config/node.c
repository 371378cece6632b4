/*
 * node.c - helpers over libyaml's document nodes used while walking:
 * reporting a problem at a node's mark, looking keys and items up, telling
 * null from a value, ${VAR} interpolation of scalars, and resolving
 * relative paths against the configuration's directory.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

static void vat_mark(strata_config__ctx *ctx, int line, int col,
                     const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* Bytes of s up to max, not cutting a UTF-8 sequence. */
static size_t
cut_len(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char) s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/*
 * Messages quote their subjects in single quotes; a quoted run longer
 * than STRATA_CONFIG_MAX_QUOTE is cut there and marked with "…", so an
 * aliased 64 KiB value costs a line, not 64 KiB, per problem. New.
 */
static const char *
next_quote(const char *msg, const char *p, int opening)
{
    for (p = strchr(p, '\''); p != NULL; p = strchr(p + 1, '\'')) {
        /* An apostrophe ("repository's") neither opens nor closes. */
        if (opening && (p == msg || strchr(" ([,=:", p[-1]) != NULL))
            return p;
        if (!opening && strchr(" )],;:.", p[1]) != NULL)
            return p; /* includes the end of msg */
    }
    return NULL;
}

static char *
cut_quotes(const char *msg)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p = msg, *open, *close;
    size_t n;

    while ((open = next_quote(msg, p, 1)) != NULL &&
           (close = next_quote(msg, open + 1, 0)) != NULL) {
        n = (size_t) (close - open - 1);
        strata_buf_add(&b, p, (size_t) (open + 1 - p));
        strata_buf_add(&b, open + 1,
                       cut_len(open + 1, n, STRATA_CONFIG_MAX_QUOTE));
        if (n > STRATA_CONFIG_MAX_QUOTE)
            strata_buf_puts(&b, "\xe2\x80\xa6"); /* … */
        strata_buf_putc(&b, '\'');
        p = close + 1;
    }
    strata_buf_puts(&b, p);
    return strata_buf_detach(&b);
}

static void
vat_mark(strata_config__ctx *ctx, int line, int col, const char *fmt,
         va_list ap)
{
    char *msg, *cut;

    if (ctx->stopped)
        return;
    if (ctx->n_problems + 1 >= STRATA_CONFIG_MAX_PROBLEMS) {
        strata_config__problem(ctx->problems, ctx->file, line, col,
                               "too many problems, stopping here");
        ctx->n_problems++;
        ctx->stopped = 1;
        return;
    }
    msg = strata_xvasprintf(fmt, ap);
    cut = cut_quotes(msg);
    strata_config__problem(ctx->problems, ctx->file, line, col, "%s", cut);
    ctx->n_problems++;
    free(cut);
    free(msg);
}

int
strata_config__visit(strata_config__ctx *ctx, const yaml_node_t *node, size_t n)
{
    if (ctx->stopped)
        return -1;
    ctx->visits += n;
    if (ctx->visits > STRATA_CONFIG_MAX_VISITS) {
        strata_config__at(ctx, node,
                          "the configuration is too large "
                          "(too many keys or aliases)");
        ctx->stopped = 1;
        return -1;
    }
    return 0;
}

void
strata_config__at_mark(strata_config__ctx *ctx, yaml_mark_t mark,
                       const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vat_mark(ctx, (int) mark.line + 1, (int) mark.column + 1, fmt, ap);
    va_end(ap);
}

void
strata_config__at(strata_config__ctx *ctx, const yaml_node_t *node,
                  const char *fmt, ...)
{
    va_list ap;
    int line = 1, col = 1;

    if (node != NULL) {
        line = (int) node->start_mark.line + 1;
        col = (int) node->start_mark.column + 1;
    }
    va_start(ap, fmt);
    vat_mark(ctx, line, col, fmt, ap);
    va_end(ap);
}

yaml_node_t *
strata_config__lookup(strata_config__ctx *ctx, const yaml_node_t *map,
                      const char *key)
{
    yaml_node_pair_t *pair;

    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pair->key);

        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, key) == 0)
            return yaml_document_get_node(ctx->doc, pair->value);
    }
    return NULL;
}

yaml_node_t *
strata_config__item(strata_config__ctx *ctx, const yaml_node_t *seq, size_t i)
{
    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
        i >= (size_t) (seq->data.sequence.items.top -
                       seq->data.sequence.items.start))
        return NULL;
    return yaml_document_get_node(ctx->doc, seq->data.sequence.items.start[i]);
}

int
strata_config__is_null(const yaml_node_t *node)
{
    const char *v;

    if (node == NULL)
        return 1;
    if (node->type != YAML_SCALAR_NODE ||
        node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *) node->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 ||
           strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

const char *
strata_config__node_kind(const yaml_node_t *node)
{
    if (node == NULL)
        return "nothing";
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a scalar";
    }
}

static int
var_start(int c)
{
    return isalpha(c) || c == '_';
}

char *
strata_config__interpolate(strata_config__ctx *ctx, const yaml_node_t *node,
                           const char *key, int *tainted, const char **var)
{
    const char *s = (const char *) node->data.scalar.value;
    size_t len = node->data.scalar.length;
    strata_buf b = STRATA_BUF_INIT;
    const char *first = NULL;
    size_t i = 0;
    int bad = 0;

    *tainted = 0;
    if (ctx->stopped)
        return NULL;
    if (len > STRATA_CONFIG_MAX_TEXT - ctx->text) {
        strata_config__at(ctx, node,
                          "the configuration is too large (too much text "
                          "once its aliases are expanded)");
        ctx->stopped = 1;
        return NULL;
    }
    ctx->text += len;
    if (memchr(s, '\0', len) != NULL) {
        strata_config__at(ctx, node, "'%s' must not contain a NUL character",
                          key);
        return NULL;
    }
    strata_buf_grow(&b, len + 1); /* b.ptr is never NULL below */
    while (i < len) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
            strata_buf_puts(&b, "${");
            i += 3;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', len - i - 2);
            size_t j, nlen;
            char *name;
            const char *val;

            if (close == NULL) {
                strata_config__at(ctx, node,
                                  "unterminated '${' in '%s' (write '$${' "
                                  "for a literal '${')",
                                  key);
                bad = 1;
                break;
            }
            nlen = (size_t) (close - (s + i + 2));
            for (j = 0; j < nlen; j++) {
                int c = (unsigned char) s[i + 2 + j];
                if (!(j == 0 ? var_start(c) : (var_start(c) || isdigit(c))))
                    break;
            }
            if (nlen == 0 || j < nlen) {
                strata_config__at(ctx, node,
                                  "invalid variable name in '%s': use "
                                  "${NAME} with letters, digits and '_'",
                                  key);
                bad = 1;
                break;
            }
            name = strata_xstrndup(s + i + 2, nlen);
            val = getenv(name);
            *tainted = 1;
            if (val == NULL) {
                strata_config__at(ctx, node,
                                  "environment variable '%s' is not set "
                                  "(used in '%s')",
                                  name, key);
                bad = 1;
            } else {
                strata_buf_puts(&b, val);
            }
            if (first == NULL)
                first = strata_config__strdup(ctx->cfg, name);
            free(name);
            i = (size_t) (close - s) + 1;
        } else {
            strata_buf_putc(&b, s[i]);
            i++;
        }
    }
    if (var != NULL)
        *var = first;
    if (bad) {
        /* The buffer may hold secret text: wipe it before freeing. */
        if (b.ptr != NULL)
            memset(b.ptr, 0, b.cap);
        strata_buf_release(&b);
        return NULL;
    }
    {
        char *out = strata_config__strndup(ctx->cfg, b.ptr, b.len);
        memset(b.ptr, 0, b.cap);
        strata_buf_release(&b);
        return out;
    }
}

char *
strata_config__path(strata_config__ctx *ctx, const char *rel)
{
    char *joined, *out;

    if (rel[0] == '/')
        return strata_config__strdup(ctx->cfg, rel);
    while (rel[0] == '.' && rel[1] == '/') {
        rel += 2;
        while (rel[0] == '/')
            rel++;
    }
    if (strcmp(rel, ".") == 0 || rel[0] == '\0')
        return strata_config__strdup(ctx->cfg, ctx->base_dir);
    joined = strata_xasprintf(
        "%s%s%s", ctx->base_dir,
        ctx->base_dir[strlen(ctx->base_dir) - 1] == '/' ? "" : "/", rel);
    out = strata_config__strdup(ctx->cfg, joined);
    free(joined);
    return out;
}
