/*
 * cmd-describe.c - `strata __describe`, hidden: the command table and the
 * configuration schema as one JSON document, which docs/gendoc.py turns
 * into the man pages and the bash, zsh and fish completions at build
 * time. Everything comes from the declarations the program itself parses
 * with (each command's options, arguments, summary and help; the global
 * options; the schema's tables), and each synopsis from the function
 * that prints `strata CMD --help`, so the pages cannot say something the
 * program does not do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* "text|json" as ["text", "json"]; NULL as []. */
static json_t *
choices_json(const char *choices)
{
    json_t *a = json_array();
    const char *p = choices;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, "|");
        json_array_append_new(a, json_stringn(p, len));
        p += len;
        if (*p == '|')
            p++;
    }
    return a;
}

/* New: the options of a table, in order. */
static json_t *
opts_json(const strata_cmd_opt *opts)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
        const strata_cmd_opt *o = &opts[i];
        json_t *j = json_object();
        char shrt[2] = {o->short_name, '\0'};

        json_object_set_new(j, "name", json_string(o->name));
        json_object_set_new(j, "short",
                            o->short_name ? json_string(shrt) : json_null());
        json_object_set_new(j, "value",
                            strata_cmd_opt_takes_value(o)
                                ? json_string(strata_cmd_opt_value_name(o))
                                : json_null());
        json_object_set_new(j, "choices", choices_json(o->choices));
        json_object_set_new(j, "repeat",
                            json_boolean(o->flags & STRATA_OPT_REPEAT));
        json_object_set_new(j, "required",
                            json_boolean(o->flags & STRATA_OPT_REQUIRED));
        json_object_set_new(j, "number",
                            json_boolean(o->flags & STRATA_OPT_NUMBER));
        json_object_set_new(j, "help", json_string(o->help));
        json_array_append_new(a, j);
    }
    return a;
}

/* New: what `strata CMD --help` prints before the help prose, as data. */
static json_t *
command_json(const strata_cmd_entry *cmd)
{
    static const char *const configs[] = {"none", "optional", "required",
                                          "self"};
    static const char *const catalogs[] = {"none", "optional", "required"};
    json_t *j = json_object(), *args = json_array();
    char *synopsis = NULL, name[64];
    size_t len = 0, i, n;
    FILE *f = open_memstream(&synopsis, &len);

    strata_cmd_synopsis(cmd, f);
    fclose(f);
    /* Every declared name, and once more when the last one repeats. */
    n = cmd->args == NULL || *cmd->args == '\0' ? 0 : 1;
    for (i = 0; cmd->args != NULL && cmd->args[i] != '\0'; i++)
        n += cmd->args[i] == ' ';
    for (i = 0; i < n; i++) {
        strata_cmd_arg_name(name, sizeof(name), cmd, i);
        json_array_append_new(args, json_string(name));
    }
    json_object_set_new(j, "name", json_string(cmd->name));
    json_object_set_new(j, "summary", json_string(cmd->summary));
    json_object_set_new(j, "help",
                        cmd->help ? json_string(cmd->help) : json_null());
    json_object_set_new(j, "synopsis", json_string(synopsis));
    json_object_set_new(j, "args", args);
    json_object_set_new(j, "min_args", json_integer(cmd->min_args));
    json_object_set_new(j, "max_args", json_integer(cmd->max_args));
    json_object_set_new(j, "config", json_string(configs[cmd->config]));
    json_object_set_new(j, "config_help",
                        cmd->config != STRATA_CMD_CONFIG_NONE
                            ? json_string(strata_cmd_config_help(cmd))
                            : json_null());
    json_object_set_new(j, "catalog", json_string(catalogs[cmd->catalog]));
    json_object_set_new(j, "opts", opts_json(cmd->opts));
    free(synopsis);
    return j;
}

static int
exec_describe(strata_cmd_ctx *ctx)
{
    json_t *root = json_object(), *cmds = json_array(), *levels = json_array();
    json_t *schema, *globals;
    json_error_t jerr;
    char *text;
    size_t i;
    int rc = STRATA_EXIT_OK;

    (void) ctx;
    for (i = 0; strata_cmd_table[i] != NULL; i++)
        if (!strata_cmd_table[i]->hidden)
            json_array_append_new(cmds, command_json(strata_cmd_table[i]));
    for (i = 0; strata_log_level_name((int) i) != NULL; i++)
        json_array_append_new(levels,
                              json_string(strata_log_level_name((int) i)));
    /* --log-level is checked by main() itself, with its own message. */
    globals = opts_json(strata_cmd_global_opts);
    for (i = 0; i < json_array_size(globals); i++) {
        json_t *o = json_array_get(globals, i);
        if (strcmp(json_string_value(json_object_get(o, "name")),
                   "log-level") == 0)
            json_object_set(o, "choices", levels);
    }
    json_decref(levels);
    text = strata_config_schema_json();
    schema = json_loads(text, 0, &jerr);
    free(text);
    if (schema == NULL) {
        fprintf(stderr, "strata: the schema's JSON does not parse: %s\n",
                jerr.text);
        rc = STRATA_EXIT_PROBLEM;
        goto out;
    }
    json_object_set_new(root, "version", json_string(STRATA_VERSION));
    json_object_set_new(root, "about", json_string(STRATA_CMD_ABOUT));
    json_object_set_new(root, "globals", globals);
    globals = NULL;
    json_object_set_new(root, "version_opts",
                        opts_json(strata_cmd_version_opts));
    json_object_set_new(root, "commands", cmds);
    cmds = NULL;
    json_object_set_new(root, "config_schema", schema);
    if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "strata: cannot write the description\n");
        rc = STRATA_EXIT_PROBLEM;
    }
out:
    json_decref(globals);
    json_decref(cmds);
    json_decref(root);
    return rc;
}

const strata_cmd_entry strata_cmd_describe = {
    .name = "__describe",
    .summary = "Print the command table and the configuration schema as "
               "JSON (for the man pages and completions).",
    .exec = exec_describe,
    .hidden = 1,
};
