/*
 * bench-dfparse.c - bench/dockerfile-ast.sh's strata side: parses every
 * Dockerfile named in a list file (one path a line) in one process and
 * prints its external references as FILE<TAB>LINE<TAB>KIND<TAB>REF, REF
 * canonical (strata_ref_string), the same form as bench/dockerfile-ast.js.
 * A reference that names no usable image (unresolved, invalid) prints
 * with REF "!" followed by its expanded text, so both sides can count
 * them. On stderr: files, references and the time spent in the parse
 * loop alone (reading included, process start excluded).
 *
 *   bench-dfparse LIST > OUT
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dockerfile.h"

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Prints df's references; returns how many. */
static size_t
print_refs(FILE *out, const char *path, const strata_dockerfile *df)
{
    size_t k, n = 0;

    for (k = 0; k < strata_dockerfile_ref_count(df); k++) {
        const strata_df_ref *r = strata_dockerfile_ref(df, k);

        if (r->external && r->ref != NULL)
            fprintf(out, "%s\t%u\t%s\t%s\n", path, r->span.line,
                    strata_df_ref_kind_name(r->kind),
                    strata_ref_string(r->ref));
        else if (r->target_stage < 0 && r->error != NULL)
            fprintf(out, "%s\t%u\t%s\t!%s\n", path, r->span.line,
                    strata_df_ref_kind_name(r->kind),
                    r->text != NULL ? r->text : "");
        else
            continue;
        n++;
    }
    return n;
}

int
main(int argc, char **argv)
{
    FILE *list;
    char line[4096];
    size_t files = 0, failed = 0, refs = 0;
    double t0;
    struct rusage ru;

    if (argc != 2) {
        fprintf(stderr, "usage: bench-dfparse LIST\n");
        return 2;
    }
    if ((list = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        return 2;
    }
    t0 = now_ms();
    while (fgets(line, sizeof(line), list) != NULL) {
        strata_dockerfile *df = NULL;
        strata_error err = {0};

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        files++;
        if (strata_dockerfile_parse_file(&df, line, NULL, &err) != 0) {
            failed++;
            fprintf(stdout, "%s\t0\tfile\t!%s\n", line, err.msg);
            continue;
        }
        refs += print_refs(stdout, line, df);
        strata_dockerfile_free(df);
    }
    fclose(list);
    fflush(stdout);
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr,
            "strata: %zu files (%zu unreadable), %zu references, parse "
            "loop %.0f ms, peak RSS %ld KB\n",
            files, failed, refs, now_ms() - t0, ru.ru_maxrss);
    return 0;
}
