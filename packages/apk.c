/*
 * apk.c - Alpine's installed database (lib/apk/db/installed) and apk's
 * version order.
 *
 * The database is stanzas separated by blank lines, each line one field
 * "K:value" with a one-character key (apk's documented "installed"
 * format): P the package, V its version, A its architecture, o its
 * origin (source package); the other keys (files, checksums, scripts) are
 * skipped. A line that is not "K:value", a stanza without P or V, or a
 * NUL byte is an error naming the file and line.
 *
 * Versions (apk-tools' version.c): numbers separated by dots, then an
 * optional letter, then suffixes (_alpha, _beta, _pre, _rc before the
 * release; _cvs, _svn, _git, _hg, _p after it) each with an optional
 * number, then an optional ~hash and -rN revision. Tokens are compared in
 * turn; where one version goes on and the other does not, a pre-release
 * suffix sorts first, otherwise the one that goes on with a number sorts
 * after one that goes on with a letter, suffix or revision, and any
 * version that goes on sorts after its end.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

/* ---- the database ----------------------------------------------------------
 */

typedef struct stanza {
    size_t line;
    char *name, *version, *arch, *origin;
} stanza;

static void
stanza_clear(stanza *s)
{
    free(s->name);
    free(s->version);
    free(s->arch);
    free(s->origin);
    memset(s, 0, sizeof(*s));
}

static int
finish(strata_pkg **pkgs, size_t *npkgs, size_t *cap, stanza *s,
       const char *name, strata_error *err)
{
    strata_pkg *p;
    int rc = 0;

    if (s->line == 0)
        return 0;
    if (s->name == NULL || s->name[0] == '\0' || s->version == NULL ||
        s->version[0] == '\0') {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s':%zu: package without 'P:' or 'V:'", name,
                              s->line);
        goto out;
    }
    if (*npkgs >= STRATA_PKG_MAX_PACKAGES) {
        rc = strata_error_set(err, STRATA_ETOOBIG,
                              "'%s':%zu: more than %d packages", name, s->line,
                              STRATA_PKG_MAX_PACKAGES);
        goto out;
    }
    if (*npkgs == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *pkgs = strata_xrealloc(*pkgs, *cap * sizeof(**pkgs));
    }
    p = &(*pkgs)[(*npkgs)++];
    p->name = s->name;
    p->version = s->version;
    p->arch = s->arch != NULL ? s->arch : strata_xstrdup("");
    p->source = s->origin;
    memset(s, 0, sizeof(*s));
out:
    stanza_clear(s);
    return rc;
}

int
strata_pkg_apk_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                     const char *data, size_t len, strata_error *err)
{
    stanza s = {0};
    size_t cap = *npkgs, off = 0, lineno = 0;
    int rc = 0;

    if (memchr(data, '\0', len) != NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': a NUL byte: not an apk database", name);
    while (off < len) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl != NULL ? (size_t) (nl - line) : len - off;
        char **slot = NULL;

        off += n + (nl != NULL);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0) {
            if ((rc = finish(pkgs, npkgs, &cap, &s, name, err)) != 0)
                goto out;
            continue;
        }
        if (n < 2 || line[1] != ':') {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s':%zu: expected 'K:value'", name, lineno);
            goto out;
        }
        if (s.line == 0)
            s.line = lineno;
        switch (line[0]) {
        case 'P':
            slot = &s.name;
            break;
        case 'V':
            slot = &s.version;
            break;
        case 'A':
            slot = &s.arch;
            break;
        case 'o':
            slot = &s.origin;
            break;
        }
        if (slot == NULL)
            continue;
        if (*slot != NULL) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s':%zu: field '%c:' given twice", name,
                                  lineno, line[0]);
            goto out;
        }
        *slot = strata_xasprintf("%.*s", (int) (n - 2), line + 2);
    }
    rc = finish(pkgs, npkgs, &cap, &s, name, err);
out:
    stanza_clear(&s);
    return rc;
}

/* ---- versions --------------------------------------------------------------
 */

enum {
    T_DIGIT,
    T_LETTER,
    T_SUFFIX,
    T_HASH,
    T_REVISION,
    T_END,
};

static const char *const pre_suffixes[] = {"alpha", "beta", "pre", "rc"};
static const char *const post_suffixes[] = {"cvs", "svn", "git", "hg", "p"};

typedef struct tok {
    int type;
    const char *p; /* the token's text */
    size_t len;
    long rank; /* a suffix's order: <0 before the release, >0 after */
} tok;

/* The next token of *s, advancing it. */
static void
next_tok(tok *t, const char **s, int first)
{
    const char *p = *s;
    size_t i;

    memset(t, 0, sizeof(*t));
    if (*p == '\0') {
        t->type = T_END;
        return;
    }
    if (isdigit((unsigned char) *p) || (!first && *p == '.')) {
        if (*p == '.')
            p++;
        t->type = T_DIGIT;
        t->p = p;
        while (isdigit((unsigned char) *p))
            p++;
        t->len = (size_t) (p - t->p);
    } else if (islower((unsigned char) *p)) {
        t->type = T_LETTER;
        t->p = p++;
        t->len = 1;
    } else if (*p == '_') {
        p++;
        t->type = T_SUFFIX;
        t->rank = 0;
        for (i = 0; i < 4; i++)
            if (strncmp(p, pre_suffixes[i], strlen(pre_suffixes[i])) == 0) {
                t->rank = (long) i - 4;
                p += strlen(pre_suffixes[i]);
                break;
            }
        for (i = 0; t->rank == 0 && i < 5; i++)
            if (strncmp(p, post_suffixes[i], strlen(post_suffixes[i])) == 0) {
                t->rank = (long) i + 1;
                p += strlen(post_suffixes[i]);
                break;
            }
        t->p = p;
        while (isdigit((unsigned char) *p))
            p++;
        t->len = (size_t) (p - t->p);
    } else if (*p == '~') {
        t->type = T_HASH;
        t->p = ++p;
        while (isxdigit((unsigned char) *p))
            p++;
        t->len = (size_t) (p - t->p);
    } else if (p[0] == '-' && p[1] == 'r') {
        p += 2;
        t->type = T_REVISION;
        t->p = p;
        while (isdigit((unsigned char) *p))
            p++;
        t->len = (size_t) (p - t->p);
    } else {
        /* Not a version apk accepts: the rest compares as text. */
        t->type = T_HASH;
        t->p = p;
        t->len = strlen(p);
        p += t->len;
    }
    *s = p;
}

/* Two runs of digits as numbers (leading zeros dropped). */
static int
numcmp(const char *a, size_t al, const char *b, size_t bl)
{
    int rc;

    while (al > 0 && *a == '0') {
        a++;
        al--;
    }
    while (bl > 0 && *b == '0') {
        b++;
        bl--;
    }
    if (al != bl)
        return al < bl ? -1 : 1;
    rc = al > 0 ? memcmp(a, b, al) : 0;
    return rc < 0 ? -1 : rc > 0;
}

static int
textcmp(const char *a, size_t al, const char *b, size_t bl)
{
    int rc = memcmp(a, b, al < bl ? al : bl);

    if (rc != 0)
        return rc < 0 ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

int
strata_pkg_apk_vercmp(const char *a, const char *b)
{
    tok x, y;
    int idx, rc;

    for (idx = 0;; idx++) {
        next_tok(&x, &a, idx == 0);
        next_tok(&y, &b, idx == 0);
        if (x.type != y.type)
            break;
        switch (x.type) {
        case T_END:
            return 0;
        case T_DIGIT:
            /* After the first, a part with a leading zero is a fraction
             * ("1.01" < "1.1"), compared as text. */
            if (idx > 0 && x.len > 0 && y.len > 0 &&
                (x.p[0] == '0' || y.p[0] == '0'))
                rc = textcmp(x.p, x.len, y.p, y.len);
            else
                rc = numcmp(x.p, x.len, y.p, y.len);
            break;
        case T_SUFFIX:
            if (x.rank != y.rank)
                return x.rank < y.rank ? -1 : 1;
            rc = numcmp(x.p, x.len, y.p, y.len);
            break;
        case T_REVISION:
            rc = numcmp(x.p, x.len, y.p, y.len);
            break;
        default:
            rc = textcmp(x.p, x.len, y.p, y.len);
            break;
        }
        if (rc != 0)
            return rc;
    }
    /* One goes on where the other does not (or goes on otherwise). */
    if (x.type == T_SUFFIX && x.rank < 0)
        return -1;
    if (y.type == T_SUFFIX && y.rank < 0)
        return 1;
    return x.type < y.type ? 1 : -1;
}
