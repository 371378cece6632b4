/*
 * fuzz-packages.c - libFuzzer target for the package-database side of
 * packages/: the first byte picks what the rest is fed to: (0) the dpkg
 * status parser, (1) the os-release parser, (2) a layer (tar, gzip or
 * zstd) applied through libarchive, then turned into an image (the
 * parsers again, on what the layer left), (3) dpkg's, apk's and rpm's
 * version orders on the two halves of the input, (4) the apk installed
 * parser, (5) the rpm header parser, (6) the rpm sqlite database reader.
 * Invariants: a failure is a known code with a message; every package
 * kept has a name and a version; each version order is reflexive and
 * antisymmetric.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

typedef struct mem_src {
    const uint8_t *p;
    size_t len, chunk;
} mem_src;

/* Hands the input out in small pieces, as a network stream would. */
static int
mem_read(const void **data, size_t *len, void *arg, strata_error *err)
{
    mem_src *s = arg;
    size_t n = s->len < s->chunk ? s->len : s->chunk;

    (void) err;
    *data = s->p;
    *len = n;
    s->p += n;
    s->len -= n;
    return 0;
}

static int
sign(int v)
{
    return v < 0 ? -1 : v > 0;
}

static void
check_pkgs(const strata_pkg *pkgs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        check(pkgs[i].name != NULL && pkgs[i].name[0] != '\0' &&
              pkgs[i].version != NULL && pkgs[i].arch != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strata_error err = {0};
    int rc;

    if (size < 1)
        return 0;
    switch (data[0] % 7) {
    case 0: {
        strata_pkg *pkgs = NULL;
        size_t n = 0;

        rc = strata_pkg_dpkg_parse(&pkgs, &n, "status", (const char *) data + 1,
                                   size - 1, &err);
        check(rc == 0 || ((rc == STRATA_EPROTO || rc == STRATA_ETOOBIG) &&
                          err.msg[0] != '\0'));
        check_pkgs(pkgs, n);
        strata_pkg_list_free(pkgs, n);
        break;
    }
    case 1: {
        strata_pkg_image img = {0};

        rc = strata_pkg_os_release_parse(
            &img, "os-release", (const char *) data + 1, size - 1, &err);
        check(rc == 0 || (rc == STRATA_EPROTO && err.msg[0] != '\0'));
        free(img.os_id);
        free(img.os_version_id);
        free(img.os_pretty);
        break;
    }
    case 2: {
        strata_pkg_files *f = strata_pkg_files_new();
        strata_pkg_image *img = NULL;
        mem_src s = {data + 1, size - 1, 1 + data[0] / 7 * 97};

        rc = strata_pkg_files_apply(f, "layer", mem_read, &s, NULL, &err);
        check(rc == 0 || ((rc == STRATA_EPROTO || rc == STRATA_ETOOBIG) &&
                          err.msg[0] != '\0'));
        if (rc == 0) {
            rc = strata_pkg_files_image(&img, f, &err);
            check(rc == 0 || err.msg[0] != '\0');
            if (img != NULL)
                check_pkgs(img->pkgs, img->npkgs);
        }
        strata_pkg_image_free(img);
        strata_pkg_files_free(f);
        break;
    }
    case 3: {
        size_t half = (size - 1) / 2;
        char *a = strndup((const char *) data + 1, half);
        char *b = strndup((const char *) data + 1 + half, size - 1 - half);
        int (*const cmps[])(const char *, const char *) = {
            strata_pkg_dpkg_vercmp, strata_pkg_apk_vercmp,
            strata_pkg_rpm_vercmp};
        size_t i;

        for (i = 0; i < 3; i++) {
            check(cmps[i](a, a) == 0);
            check(sign(cmps[i](a, b)) == -sign(cmps[i](b, a)));
        }
        free(a);
        free(b);
        break;
    }
    case 4:
    case 6: {
        strata_pkg *pkgs = NULL;
        size_t n = 0;

        if (data[0] % 7 == 4)
            rc = strata_pkg_apk_parse(&pkgs, &n, "installed",
                                      (const char *) data + 1, size - 1, &err);
        else
            rc = strata_pkg_rpm_parse(&pkgs, &n, "rpmdb.sqlite",
                                      (const char *) data + 1, size - 1, &err);
        check(rc == 0 || ((rc == STRATA_EPROTO || rc == STRATA_ETOOBIG) &&
                          err.msg[0] != '\0'));
        check_pkgs(pkgs, n);
        strata_pkg_list_free(pkgs, n);
        break;
    }
    default: {
        strata_pkg p;

        rc = strata_pkg_rpm_header(&p, data + 1, size - 1, "rpmdb", 1, &err);
        check(rc == 0 || (rc == STRATA_EPROTO && err.msg[0] != '\0'));
        if (rc == 0) {
            check_pkgs(&p, 1);
            free(p.name);
            free(p.version);
            free(p.arch);
            free(p.source);
        }
        break;
    }
    }
    return 0;
}
