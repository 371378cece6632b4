/*
 * cmd-ref.c - `strata ref REF`: prints the canonical form of an image
 * reference ("ubuntu" -> "docker.io/library/ubuntu:latest"), or says why
 * it is invalid and exits 2.
 */
#include <stdio.h>

#include "cli.h"
#include "oci.h"

static int
exec_ref(strata_cli *cli, int argc, char **argv)
{
    strata_error err = {0};
    strata_ref *ref = NULL;

    if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
        strata_cmd_usage(&strata_cmd_ref, stderr);
        return STRATA_EXIT_USAGE;
    }
    if (strata_ref_parse(&ref, argv[1], &err) != 0)
        return strata_cmd_fail(&err);
    printf("%s\n", strata_ref_string(ref));
    strata_ref_free(ref);
    return STRATA_EXIT_OK;
}

const strata_cmd_entry strata_cmd_ref = {
    .name = "ref",
    .usage = "REF",
    .summary = "Print the canonical form of an image reference.",
    .help = "Normalises REF as Docker does: docker.io is the default "
            "registry,\none-element Docker Hub names get 'library/', and "
            "'latest' is added\nwhen there is neither tag nor digest. An "
            "invalid reference exits 2.\n",
    .exec = exec_ref,
};
