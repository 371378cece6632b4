/*
 * dpkg.c - dpkg's status database: deb822 stanzas separated by blank
 * lines, each a list of "Field: value" lines whose values may continue on
 * lines that start with a space or a tab. Only the installed packages
 * count (Status "install ok installed"); of each, its Package, Version,
 * Architecture and Source (whose "(version)" suffix is dropped). The
 * parser reads the bytes it is given and nothing more; a line that is
 * neither a field nor a continuation, a stanza without Package or
 * Version, or a NUL byte is an error naming the file and line.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "packages-int.h"

typedef struct stanza {
    size_t line; /* where it starts */
    char *package, *status, *version, *arch, *source;
} stanza;

static void
stanza_clear(stanza *s)
{
    free(s->package);
    free(s->status);
    free(s->version);
    free(s->arch);
    free(s->source);
    memset(s, 0, sizeof(*s));
}

/* A value without the blanks around it (new). */
static char *
trimmed(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    return strata_xasprintf("%.*s", (int) n, p);
}

static int
field_is(const char *line, size_t namelen, const char *name)
{
    return strlen(name) == namelen && strncasecmp(line, name, namelen) == 0;
}

/* Ends a stanza: keeps it when installed. */
static int
finish(strata_pkg **pkgs, size_t *npkgs, size_t *cap, stanza *s,
       const char *name, strata_error *err)
{
    strata_pkg *p;
    int rc = 0;

    if (s->line == 0)
        return 0;
    if (s->package == NULL || s->package[0] == '\0') {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s':%zu: stanza without a 'Package' field",
                              name, s->line);
        goto out;
    }
    if (s->status == NULL || strcmp(s->status, "install ok installed") != 0)
        goto out;
    if (s->version == NULL || s->version[0] == '\0') {
        rc = strata_error_set(err, STRATA_EPROTO,
                              "'%s':%zu: installed package '%s' has no "
                              "'Version' field",
                              name, s->line, s->package);
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
    memset(p, 0, sizeof(*p));
    p->name = s->package;
    p->version = s->version;
    p->arch = s->arch != NULL ? s->arch : strata_xstrdup("");
    if (s->source != NULL) {
        /* "Source: openssl (3.0.11-1)": the name alone. */
        char *sp = strchr(s->source, ' ');

        if (sp != NULL)
            *sp = '\0';
        p->source = s->source;
        s->source = NULL;
    }
    s->package = s->version = s->arch = NULL;
out:
    stanza_clear(s);
    return rc;
}

int
strata_pkg_dpkg_parse(strata_pkg **pkgs, size_t *npkgs, const char *name,
                      const char *data, size_t len, strata_error *err)
{
    stanza s = {0};
    size_t cap = *npkgs, off = 0, lineno = 0;
    int rc = 0, in_field = 0;

    if (memchr(data, '\0', len) != NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': a NUL byte: not a status file", name);
    while (off < len) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl != NULL ? (size_t) (nl - line) : len - off;
        const char *colon;
        char **slot = NULL;
        size_t namelen;

        off += n + (nl != NULL);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0) {
            if ((rc = finish(pkgs, npkgs, &cap, &s, name, err)) != 0)
                goto out;
            in_field = 0;
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            if (!in_field) {
                rc = strata_error_set(err, STRATA_EPROTO,
                                      "'%s':%zu: a continuation line outside "
                                      "a field",
                                      name, lineno);
                goto out;
            }
            continue; /* only multi-line fields we do not keep continue */
        }
        if (line[0] == '#')
            continue;
        colon = memchr(line, ':', n);
        if (colon == NULL || colon == line) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s':%zu: expected 'Field: value'", name,
                                  lineno);
            goto out;
        }
        if (s.line == 0)
            s.line = lineno;
        in_field = 1;
        namelen = (size_t) (colon - line);
        if (field_is(line, namelen, "Package"))
            slot = &s.package;
        else if (field_is(line, namelen, "Status"))
            slot = &s.status;
        else if (field_is(line, namelen, "Version"))
            slot = &s.version;
        else if (field_is(line, namelen, "Architecture"))
            slot = &s.arch;
        else if (field_is(line, namelen, "Source"))
            slot = &s.source;
        if (slot == NULL)
            continue;
        if (*slot != NULL) {
            rc = strata_error_set(err, STRATA_EPROTO,
                                  "'%s':%zu: field '%.*s' given twice", name,
                                  lineno, (int) namelen, line);
            goto out;
        }
        *slot = trimmed(colon + 1, n - namelen - 1);
    }
    rc = finish(pkgs, npkgs, &cap, &s, name, err);
out:
    stanza_clear(&s);
    return rc;
}
