/*
 * expand.c - variable expansion of a Dockerfile word as
 * BuildKit's shell lexer does it (shell.Lex.ProcessWord): quotes are
 * removed, the escape character escapes the next character, and $VAR /
 * ${VAR...} are replaced from an environment of ARG values. While it
 * expands it notes whether the result is exactly one plain variable, so
 * a reference can be traced back to the ARG default that wrote it.
 *
 * Supported: $VAR ${VAR} ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w}
 * ${VAR:?w} ${VAR?w} ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p}. Pattern
 * substitution (${VAR/p/r}) is reported as unsupported.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <string.h>

#include "dockerfile-int.h"

strata_dockerfile__var *
strata_dockerfile__env_get(const strata_dockerfile__env *env, const char *name)
{
    uintptr_t at;

    if (env->index == NULL)
        return NULL;
    at = (uintptr_t) strata_strmap_get(env->index, name);
    return at != 0 ? &env->v[at - 1] : NULL;
}

strata_dockerfile__var *
strata_dockerfile__env_set(strata_dockerfile__env *env, const char *name)
{
    strata_dockerfile__var *v = strata_dockerfile__env_get(env, name);

    if (v == NULL) {
        if (env->n == env->cap) {
            env->cap = env->cap ? env->cap * 2 : 16;
            env->v = strata_xrealloc(env->v, env->cap * sizeof(*env->v));
        }
        v = &env->v[env->n++];
        if (env->index == NULL)
            env->index = strata_strmap_new();
        strata_strmap_put(env->index, name, (void *) (uintptr_t) env->n);
    }
    memset(v, 0, sizeof(*v));
    v->name = name;
    return v;
}

void
strata_dockerfile__env_release(strata_dockerfile__env *env)
{
    free(env->v);
    strata_strmap_free(env->index);
    memset(env, 0, sizeof(*env));
}

typedef struct lexer {
    const char *s;
    size_t i, n;
    char esc;
    strata_dockerfile__env *env;
    strata_error *err;
    int nlit;    /* bytes that came from the word itself */
    int nvars;   /* plain variable substitutions */
    int complex; /* a modifier was used */
    const strata_dockerfile__var *var; /* the last plain variable */
    int depth;
} lexer;

static int process(lexer *lx, strata_buf *out, int stop);
static int put_value(lexer *lx, strata_buf *out, const char *value);

static int
isname(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

static int
isdigit_(int c)
{
    return c >= '0' && c <= '9';
}

/* BuildKit's processName: digits, one special parameter, or a name. */
static size_t
read_name(lexer *lx, char *name, size_t cap)
{
    size_t k = 0;

    if (lx->i < lx->n && isdigit_((unsigned char) lx->s[lx->i])) {
        while (lx->i < lx->n && isdigit_((unsigned char) lx->s[lx->i])) {
            if (k + 1 < cap)
                name[k++] = lx->s[lx->i];
            lx->i++;
        }
    } else if (lx->i < lx->n && strchr("@*#?-$!", lx->s[lx->i]) != NULL &&
               lx->s[lx->i] != '\0') {
        name[k++] = lx->s[lx->i++];
    } else {
        while (lx->i < lx->n && isname((unsigned char) lx->s[lx->i])) {
            if (k + 1 < cap)
                name[k++] = lx->s[lx->i];
            lx->i++;
        }
    }
    name[k] = '\0';
    return k;
}

static const char *
lookup(lexer *lx, const char *name, const strata_dockerfile__var **var)
{
    const strata_dockerfile__var *v = strata_dockerfile__env_get(lx->env, name);

    *var = v;
    return v != NULL ? v->value : NULL;
}

/* Removes the shortest/longest prefix or suffix of value matching pat. */
static void
strip_pattern(strata_buf *out, const char *value, const char *pat, int suffix,
              int longest)
{
    size_t n = strlen(value), k;
    char *tmp;

    /* Every cut is tried, so long values would cost n^2: not for
     * Dockerfile-sized words. */
    if (n > 4096) {
        strata_buf_puts(out, value);
        return;
    }
    tmp = strata_xstrdup(value);
    for (k = 0; k <= n; k++) {
        /* Prefix: try lengths from short to long (or long to short). */
        size_t cut = longest ? n - k : k;
        int match;

        if (!suffix) {
            char c = tmp[cut];
            tmp[cut] = '\0';
            match = fnmatch(pat, tmp, 0) == 0;
            tmp[cut] = c;
            if (match) {
                strata_buf_puts(out, value + cut);
                free(tmp);
                return;
            }
        } else {
            size_t at = longest ? k : n - k;
            if (fnmatch(pat, value + at, 0) == 0) {
                strata_buf_add(out, value, at);
                free(tmp);
                return;
            }
        }
    }
    strata_buf_puts(out, value);
    free(tmp);
}

static int
dollar_brace(lexer *lx, strata_buf *out)
{
    char name[128], op, op2 = 0;
    const strata_dockerfile__var *var;
    const char *val;
    strata_buf word = STRATA_BUF_INIT;
    int rc = 0;

    if (read_name(lx, name, sizeof(name)) == 0)
        return strata_error_set(lx->err, STRATA_EINVAL, "bad substitution");
    if (lx->i >= lx->n)
        return strata_error_set(lx->err, STRATA_EINVAL,
                                "missing '}' in substitution of '%s'", name);
    op = lx->s[lx->i++];
    val = lookup(lx, name, &var);
    if (op == '}') {
        lx->nvars++;
        lx->var = var;
        return val != NULL ? put_value(lx, out, val) : 0;
    }
    lx->complex = 1;
    if (op == ':') {
        if (lx->i >= lx->n || strchr("-+?", lx->s[lx->i]) == NULL ||
            lx->s[lx->i] == '\0')
            return strata_error_set(
                lx->err, STRATA_EINVAL,
                "unsupported modifier (:%.1s) in substitution of '%s'",
                lx->i < lx->n ? lx->s + lx->i : "", name);
        op2 = lx->s[lx->i++];
    } else if (op == '#' || op == '%') {
        if (lx->i < lx->n && lx->s[lx->i] == op) {
            op2 = op;
            lx->i++;
        }
    } else if (op != '-' && op != '+' && op != '?') {
        return strata_error_set(
            lx->err, STRATA_EINVAL,
            "unsupported modifier (%c) in substitution of '%s'", op, name);
    }
    strata_buf_add(&word, "", 0);
    if (++lx->depth > 64) {
        rc = strata_error_set(lx->err, STRATA_EINVAL,
                              "substitutions nested too deeply");
        goto out;
    }
    rc = process(lx, &word, '}');
    lx->depth--;
    if (rc != 0)
        goto out;
    if (lx->i >= lx->n || lx->s[lx->i] != '}') {
        rc = strata_error_set(lx->err, STRATA_EINVAL,
                              "missing '}' in substitution of '%s'", name);
        goto out;
    }
    lx->i++;
    if (op == ':' || op == '-' || op == '+' || op == '?') {
        char m = op == ':' ? op2 : op;
        /* With ':', an empty value counts as unset. */
        int set = val != NULL && (op != ':' || val[0] != '\0');

        if (m == '-')
            rc = put_value(lx, out, set ? val : word.ptr);
        else if (m == '+')
            rc = put_value(lx, out, set ? word.ptr : "");
        else if (set)
            rc = put_value(lx, out, val);
        else
            rc = strata_error_set(lx->err, STRATA_EINVAL, "%s: %s", name,
                                  word.ptr[0] ? word.ptr
                                              : "is not allowed to be unset");
    } else {
        strata_buf cut = STRATA_BUF_INIT;

        strip_pattern(&cut, val ? val : "", word.ptr, op == '%', op2 != 0);
        rc = put_value(lx, out, strata_buf_cstr(&cut));
        strata_buf_release(&cut);
    }
out:
    strata_buf_release(&word);
    return rc;
}

static int
dollar(lexer *lx, strata_buf *out)
{
    char name[128];
    const strata_dockerfile__var *var;
    const char *val;

    lx->i++; /* '$' */
    if (lx->i >= lx->n) {
        strata_buf_putc(out, '$');
        lx->nlit++;
        return 0;
    }
    if (lx->s[lx->i] == '{') {
        lx->i++;
        return dollar_brace(lx, out);
    }
    if (read_name(lx, name, sizeof(name)) == 0) {
        strata_buf_putc(out, '$');
        lx->nlit++;
        return 0;
    }
    val = lookup(lx, name, &var);
    lx->nvars++;
    lx->var = var;
    return val != NULL ? put_value(lx, out, val) : 0;
}

/* Appends value, within the per-word and per-file limits. */
static int
put_value(lexer *lx, strata_buf *out, const char *value)
{
    size_t n = strlen(value);

    if (out->len + n > STRATA_GRAPH__DF_EXPAND_MAX)
        return strata_error_set(lx->err, STRATA_ETOOBIG,
                                "variable expansion longer than %d bytes",
                                STRATA_GRAPH__DF_EXPAND_MAX);
    if (n > lx->env->budget)
        return strata_error_set(lx->err, STRATA_ETOOBIG,
                                "variable expansions of this file exceed %d "
                                "bytes",
                                STRATA_GRAPH__DF_EXPAND_BUDGET);
    lx->env->budget -= n;
    strata_buf_add(out, value, n);
    return 0;
}

static int
process(lexer *lx, strata_buf *out, int stop)
{
    int rc;

    while (lx->i < lx->n) {
        char c = lx->s[lx->i];

        if (stop >= 0 && c == stop)
            return 0;
        if (c == '\'') {
            const char *q = memchr(lx->s + lx->i + 1, '\'', lx->n - lx->i - 1);
            size_t k;

            if (q == NULL)
                return strata_error_set(lx->err, STRATA_EINVAL,
                                        "unexpected end of statement while "
                                        "looking for matching single-quote");
            k = (size_t) (q - (lx->s + lx->i + 1));
            strata_buf_add(out, lx->s + lx->i + 1, k);
            lx->nlit += (int) k;
            lx->i += k + 2;
        } else if (c == '"') {
            lx->i++;
            for (;;) {
                if (lx->i >= lx->n)
                    return strata_error_set(
                        lx->err, STRATA_EINVAL,
                        "unexpected end of statement while looking for "
                        "matching double-quote");
                c = lx->s[lx->i];
                if (c == '"') {
                    lx->i++;
                    break;
                }
                if (c == '$') {
                    if ((rc = dollar(lx, out)) != 0)
                        return rc;
                    continue;
                }
                if (c == lx->esc && lx->i + 1 < lx->n &&
                    (lx->s[lx->i + 1] == '"' || lx->s[lx->i + 1] == '$' ||
                     lx->s[lx->i + 1] == lx->esc))
                    c = lx->s[++lx->i];
                strata_buf_putc(out, c);
                lx->nlit++;
                lx->i++;
            }
        } else if (c == '$') {
            if ((rc = dollar(lx, out)) != 0)
                return rc;
        } else if (c == lx->esc) {
            lx->i++;
            if (lx->i < lx->n) {
                strata_buf_putc(out, lx->s[lx->i++]);
                lx->nlit++;
            }
        } else {
            strata_buf_putc(out, c);
            lx->nlit++;
            lx->i++;
        }
    }
    return 0;
}

int
strata_dockerfile__expand(strata_buf *out, const strata_dockerfile__var **sole,
                          const char *word, size_t len, char escape,
                          strata_dockerfile__env *env, strata_error *err)
{
    lexer lx = {.s = word, .n = len, .esc = escape, .env = env, .err = err};
    int rc;

    *sole = NULL;
    strata_buf_add(out, "", 0);
    rc = process(&lx, out, -1);
    if (rc == 0 && lx.nvars == 1 && lx.nlit == 0 && !lx.complex)
        *sole = lx.var;
    return rc;
}
