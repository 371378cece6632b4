/*
 * osrelease.c - os-release(5): lines of KEY=VALUE, the value bare or in
 * single or double quotes (with backslash escapes in double quotes),
 * comments and blank lines between. Of them, ID, VERSION_ID and
 * PRETTY_NAME describe the distribution. A line that is not an
 * assignment, or an unterminated quote, is an error naming file and line.
 */
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

/* The value of one line's assignment (new), or NULL when malformed. */
static char *
value(const char *p, size_t n)
{
    strata_buf b;
    char q = 0;
    size_t i = 0;

    strata_buf_init(&b);
    if (n > 0 && (p[0] == '"' || p[0] == '\'')) {
        q = p[0];
        i = 1;
    }
    for (; i < n; i++) {
        if (q != 0 && p[i] == q) {
            if (i + 1 != n)
                break; /* text after the closing quote */
            return strata_buf_detach(&b);
        }
        if (q == '"' && p[i] == '\\' && i + 1 < n)
            i++;
        strata_buf_add(&b, &p[i], 1);
    }
    if (q != 0) {
        strata_buf_release(&b);
        return NULL;
    }
    return strata_buf_detach(&b);
}

int
strata_pkg_os_release_parse(strata_pkg_image *img, const char *name,
                            const char *data, size_t len, strata_error *err)
{
    size_t off = 0, lineno = 0;

    if (memchr(data, '\0', len) != NULL)
        return strata_error_set(err, STRATA_EPROTO,
                                "'%s': a NUL byte: not an os-release file",
                                name);
    while (off < len) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl != NULL ? (size_t) (nl - line) : len - off;
        const char *eq;
        char **slot = NULL, *v;
        size_t klen;

        off += n + (nl != NULL);
        lineno++;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            n--;
        }
        if (n == 0 || line[0] == '#')
            continue;
        eq = memchr(line, '=', n);
        if (eq == NULL || eq == line)
            return strata_error_set(err, STRATA_EPROTO,
                                    "'%s':%zu: expected KEY=VALUE", name,
                                    lineno);
        klen = (size_t) (eq - line);
        if (klen == 2 && strncmp(line, "ID", 2) == 0)
            slot = &img->os_id;
        else if (klen == 10 && strncmp(line, "VERSION_ID", 10) == 0)
            slot = &img->os_version_id;
        else if (klen == 11 && strncmp(line, "PRETTY_NAME", 11) == 0)
            slot = &img->os_pretty;
        if ((v = value(eq + 1, n - klen - 1)) == NULL)
            return strata_error_set(err, STRATA_EPROTO,
                                    "'%s':%zu: unterminated quote", name,
                                    lineno);
        if (slot == NULL) {
            free(v);
            continue;
        }
        free(*slot);
        *slot = v;
    }
    return 0;
}
