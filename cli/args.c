/*
 * args.c - the one parser of the command line's arguments, and the usage
 * text generated from the same declarations.
 *
 * Each command's strata_cmd_entry declares its options (strata_cmd_opt)
 * and positional arguments; strata_args_parse() reads argv once against
 * that declaration into a strata_args (values per declared option, in
 * the order given, and the positional arguments), or stops at the first
 * usage error with a one-line message that cmd.c prints the same way for
 * every command. Nothing here prints except the usage functions, and
 * nothing is copied: a strata_args borrows argv.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct strata_args {
    const strata_cmd_entry *cmd;
    size_t nopts;
    const char ***values; /* per declared option, the values given */
    size_t *counts;       /* per declared option, how many times given */
    const char **pos;
    size_t npos;
};

static size_t
count_opts(const strata_cmd_entry *cmd)
{
    size_t n = 0;

    while (cmd->opts != NULL && cmd->opts[n].name != NULL)
        n++;
    return n;
}

static int
takes_value(const strata_cmd_opt *o)
{
    return (o->flags & (STRATA_OPT_VALUE | STRATA_OPT_REQUIRED |
                        STRATA_OPT_NUMBER)) != 0 ||
           o->choices != NULL;
}

/* The name of positional argument i ("FILE"), into buf. */
static const char *
arg_name(char *buf, size_t size, const strata_cmd_entry *cmd, size_t i)
{
    const char *p = cmd->args != NULL ? cmd->args : "";
    size_t k = 0, len;

    for (;;) {
        len = strcspn(p, " ");
        if (k == i || p[len] == '\0')
            break;
        p += len + 1;
        k++;
    }
    snprintf(buf, size, "%.*s", (int) len, p);
    return buf;
}

/* The option's value name for usage: "FILE", else its choices. */
static const char *
value_name(const strata_cmd_opt *o)
{
    return o->value != NULL ? o->value : o->choices ? o->choices : "VALUE";
}

/* 1 when value is one of the '|'-separated words of choices. */
static int
is_choice(const char *choices, const char *value)
{
    const char *p = choices;
    size_t n = strlen(value);

    while (*p != '\0') {
        size_t len = strcspn(p, "|");

        if (len == n && strncmp(p, value, n) == 0)
            return 1;
        p += len;
        if (*p == '|')
            p++;
    }
    return 0;
}

/* "text, json": choices for a message. */
static void
choice_list(char *buf, size_t size, const char *choices)
{
    size_t i, n = 0;

    for (i = 0; choices[i] != '\0' && n + 3 < size; i++) {
        if (choices[i] == '|') {
            buf[n++] = ',';
            buf[n++] = ' ';
        } else {
            buf[n++] = choices[i];
        }
    }
    buf[n] = '\0';
}

static int
number_ok(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && v > 0;
}

/* Records one occurrence of option k, checking its value. */
static int
add(strata_args *a, size_t k, const char *spelled, const char *value,
    strata_error *err)
{
    const strata_cmd_opt *o = &a->cmd->opts[k];
    char list[256];

    if (value != NULL && o->choices != NULL && !is_choice(o->choices, value)) {
        choice_list(list, sizeof(list), o->choices);
        return strata_error_set(err, STRATA_EUSAGE,
                                "unknown value '%s' for '%s' (%s)", value,
                                spelled, list);
    }
    if (value != NULL && (o->flags & STRATA_OPT_NUMBER) && !number_ok(value))
        return strata_error_set(err, STRATA_EUSAGE,
                                "invalid value '%s' for '%s' (a whole "
                                "number above 0)",
                                value, spelled);
    /* Given again, an option that does not repeat keeps its last value. */
    if (!(o->flags & STRATA_OPT_REPEAT))
        a->counts[k] = 0;
    a->values[k][a->counts[k]++] = value != NULL ? value : "";
    return 0;
}

static int
find_long(const strata_args *a, const char *name, size_t len, size_t *out)
{
    size_t k;

    for (k = 0; k < a->nopts; k++) {
        const char *n = a->cmd->opts[k].name;

        if (strlen(n) == len && strncmp(n, name, len) == 0) {
            *out = k;
            return 1;
        }
    }
    return 0;
}

static int
find_short(const strata_args *a, char c, size_t *out)
{
    size_t k;

    for (k = 0; k < a->nopts; k++) {
        if (a->cmd->opts[k].short_name == c) {
            *out = k;
            return 1;
        }
    }
    return 0;
}

/* --name, --name=VALUE, --name VALUE at argv[*i]. */
static int
parse_long(strata_args *a, int *i, int argc, char **argv, strata_error *err)
{
    const char *word = argv[*i] + 2, *eq = strchr(word, '=');
    size_t len = eq != NULL ? (size_t) (eq - word) : strlen(word), k;
    const strata_cmd_opt *o;
    char spelled[128];

    snprintf(spelled, sizeof(spelled), "--%.*s", (int) len, word);
    if (!find_long(a, word, len, &k))
        return strata_error_set(err, STRATA_EUSAGE, "unknown option '%s'",
                                spelled);
    o = &a->cmd->opts[k];
    if (!takes_value(o)) {
        if (eq != NULL)
            return strata_error_set(err, STRATA_EUSAGE,
                                    "option '%s' takes no value", spelled);
        return add(a, k, spelled, NULL, err);
    }
    if (eq != NULL)
        return add(a, k, spelled, eq + 1, err);
    if (*i + 1 >= argc)
        return strata_error_set(err, STRATA_EUSAGE, "option '%s' needs a value",
                                spelled);
    return add(a, k, spelled, argv[++*i], err);
}

/* -x, -xy (flags), -xVALUE, -x VALUE at argv[*i]. */
static int
parse_short(strata_args *a, int *i, int argc, char **argv, strata_error *err)
{
    const char *word = argv[*i];
    size_t j, k;
    char spelled[3] = "-?";
    int rc;

    for (j = 1; word[j] != '\0'; j++) {
        spelled[1] = word[j];
        if (!find_short(a, word[j], &k))
            return strata_error_set(err, STRATA_EUSAGE, "unknown option '%s'",
                                    spelled);
        if (!takes_value(&a->cmd->opts[k])) {
            if ((rc = add(a, k, spelled, NULL, err)) != 0)
                return rc;
            continue;
        }
        if (word[j + 1] != '\0')
            return add(a, k, spelled, word + j + 1, err);
        if (*i + 1 >= argc)
            return strata_error_set(err, STRATA_EUSAGE,
                                    "option '%s' needs a value", spelled);
        return add(a, k, spelled, argv[++*i], err);
    }
    return 0;
}

/* After argv: how many positional arguments, required options. */
static int
check_counts(const strata_args *a, strata_error *err)
{
    const strata_cmd_entry *cmd = a->cmd;
    char name[64];
    size_t k;

    if (a->npos < (size_t) cmd->min_args)
        return strata_error_set(err, STRATA_EUSAGE, "expects %s",
                                arg_name(name, sizeof(name), cmd, a->npos));
    if (cmd->max_args != STRATA_ARGS_MANY && a->npos > (size_t) cmd->max_args)
        return strata_error_set(err, STRATA_EUSAGE, "unexpected argument '%s'",
                                a->pos[cmd->max_args]);
    for (k = 0; k < a->nopts; k++) {
        const strata_cmd_opt *o = &cmd->opts[k];

        if ((o->flags & STRATA_OPT_REQUIRED) && a->counts[k] == 0)
            return strata_error_set(err, STRATA_EUSAGE, "expects --%s %s",
                                    o->name, value_name(o));
    }
    return 0;
}

int
strata_args_parse(strata_args **out, const strata_cmd_entry *cmd, int argc,
                  char **argv, strata_error *err)
{
    strata_args *a = strata_xcalloc(1, sizeof(*a));
    int i, rc = 0, dashes = 0;
    size_t k;

    *out = NULL;
    a->cmd = cmd;
    a->nopts = count_opts(cmd);
    a->values = strata_xcalloc(a->nopts + 1, sizeof(*a->values));
    a->counts = strata_xcalloc(a->nopts + 1, sizeof(*a->counts));
    for (k = 0; k < a->nopts; k++)
        a->values[k] = strata_xcalloc((size_t) argc + 1, sizeof(char *));
    a->pos = strata_xcalloc((size_t) argc + 1, sizeof(*a->pos));
    for (i = 0; i < argc && rc == 0; i++) {
        const char *w = argv[i];

        if (!dashes && strcmp(w, "--") == 0)
            dashes = 1;
        else if (dashes || w[0] != '-' || w[1] == '\0')
            a->pos[a->npos++] = w;
        else if (w[1] == '-')
            rc = parse_long(a, &i, argc, argv, err);
        else
            rc = parse_short(a, &i, argc, argv, err);
    }
    if (rc == 0)
        rc = check_counts(a, err);
    if (rc != 0) {
        strata_args_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int
strata_args_take(strata_args **out, const strata_cmd_entry *decl, int *argc,
                 char **argv, strata_error *err)
{
    strata_args *a = strata_xcalloc(1, sizeof(*a));
    int i, n = 0, rc = 0, dashes = 0;
    size_t k;

    *out = NULL;
    a->cmd = decl;
    a->nopts = count_opts(decl);
    a->values = strata_xcalloc(a->nopts + 1, sizeof(*a->values));
    a->counts = strata_xcalloc(a->nopts + 1, sizeof(*a->counts));
    for (k = 0; k < a->nopts; k++)
        a->values[k] = strata_xcalloc((size_t) *argc + 1, sizeof(char *));
    a->pos = strata_xcalloc(1, sizeof(*a->pos));
    for (i = 0; i < *argc && rc == 0; i++) {
        const char *w = argv[i];
        size_t len = strcspn(w + 2, "=");

        if (!dashes && strcmp(w, "--") == 0)
            dashes = 1;
        if (!dashes && w[0] == '-' && w[1] == '-' &&
            find_long(a, w + 2, len, &k))
            rc = parse_long(a, &i, *argc, argv, err);
        else if (!dashes && w[0] == '-' && w[1] != '-' && w[1] != '\0' &&
                 find_short(a, w[1], &k) &&
                 (takes_value(&decl->opts[k]) || w[2] == '\0'))
            rc = parse_short(a, &i, *argc, argv, err);
        else
            argv[n++] = argv[i];
    }
    if (rc != 0) {
        strata_args_free(a);
        return rc;
    }
    argv[n] = NULL;
    *argc = n;
    *out = a;
    return 0;
}

void
strata_args_free(strata_args *a)
{
    size_t k;

    if (a == NULL)
        return;
    for (k = 0; k < a->nopts; k++)
        free(a->values[k]);
    free(a->values);
    free(a->counts);
    free(a->pos);
    free(a);
}

static size_t
index_of(const strata_args *a, const char *name)
{
    size_t k;
    int found = find_long(a, name, strlen(name), &k);

    /* Asking for an option the command did not declare is a bug. */
    assert(found);
    (void) found;
    return k;
}

const char *
strata_args_get(const strata_args *a, const char *name)
{
    size_t k = index_of(a, name);

    return a->counts[k] > 0 ? a->values[k][a->counts[k] - 1] : NULL;
}

int
strata_args_has(const strata_args *a, const char *name)
{
    return (int) a->counts[index_of(a, name)];
}

size_t
strata_args_values(const strata_args *a, const char *name,
                   const char *const **out)
{
    size_t k = index_of(a, name);

    *out = a->values[k];
    return a->counts[k];
}

long long
strata_args_number(const strata_args *a, const char *name, long long dflt)
{
    const char *v = strata_args_get(a, name);

    assert(a->cmd->opts[index_of(a, name)].flags & STRATA_OPT_NUMBER);
    return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

size_t
strata_args_count(const strata_args *a)
{
    return a->npos;
}

const char *
strata_args_arg(const strata_args *a, size_t i)
{
    return i < a->npos ? a->pos[i] : NULL;
}

/* ---- usage -------------------------------------------------------------- */

/* How many names cmd->args holds. */
static size_t
count_names(const strata_cmd_entry *cmd)
{
    const char *p = cmd->args;
    size_t n = 0;

    if (p == NULL || *p == '\0')
        return 0;
    for (n = 1; *p != '\0'; p++)
        if (*p == ' ')
            n++;
    return n;
}

int
strata_cmd_opt_takes_value(const strata_cmd_opt *o)
{
    return takes_value(o);
}

const char *
strata_cmd_opt_value_name(const strata_cmd_opt *o)
{
    return value_name(o);
}

void
strata_cmd_arg_name(char *buf, size_t size, const strata_cmd_entry *cmd,
                    size_t i)
{
    arg_name(buf, size, cmd, i);
}

void
strata_cmd_synopsis(const strata_cmd_entry *cmd, FILE *f)
{
    size_t names = count_names(cmd), shown, i;
    char name[64];

    fprintf(f, "strata %s", cmd->name);
    shown = cmd->max_args == STRATA_ARGS_MANY ? names : (size_t) cmd->max_args;
    for (i = 0; i < shown; i++) {
        int last_many = cmd->max_args == STRATA_ARGS_MANY && i + 1 == names;
        int required = i < (size_t) cmd->min_args;

        arg_name(name, sizeof(name), cmd, i);
        fprintf(f, " %s%s%s%s", required ? "" : "[", name,
                last_many ? "..." : "", required ? "" : "]");
    }
    for (i = 0; cmd->opts != NULL && cmd->opts[i].name != NULL; i++) {
        const strata_cmd_opt *o = &cmd->opts[i];
        int required = (o->flags & STRATA_OPT_REQUIRED) != 0;

        fprintf(f, " %s--%s%s%s%s%s", required ? "" : "[", o->name,
                takes_value(o) ? " " : "", takes_value(o) ? value_name(o) : "",
                required ? "" : "]",
                (o->flags & STRATA_OPT_REPEAT) ? "..." : "");
    }
    if (cmd->config != STRATA_CMD_CONFIG_NONE)
        fprintf(f, " [-c FILE]");
}

void
strata_cmd_usage_line(const strata_cmd_entry *cmd, FILE *f)
{
    fprintf(f, "usage: ");
    strata_cmd_synopsis(cmd, f);
    fprintf(f, "\n");
}

/* Prints text from column col on, wrapped at 79 columns, indented indent. */
static void
wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;

    while (*p != '\0') {
        size_t len = strcspn(p, " ");

        if (col > indent && col + 1 + (int) len > 79) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int) len, p);
        col += (int) len;
        p += len;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

/* "  -H, --with-filename  help", the help wrapped in its column. */
static void
option_line(FILE *f, char shrt, const char *name, const char *value,
            const char *help)
{
    enum {
        COL = 26
    };
    char left[160];
    int n;

    if (shrt != 0)
        n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", shrt, name,
                     value ? " " : "", value ? value : "");
    else
        n = snprintf(left, sizeof(left), "  --%s%s%s", name, value ? " " : "",
                     value ? value : "");
    fputs(left, f);
    if (n + 2 > COL) {
        fprintf(f, "\n%*s", COL, "");
    } else {
        fprintf(f, "%*s", COL - n, "");
    }
    wrap(f, help, COL, COL);
}

void
strata_cmd_options(const strata_cmd_opt *opts, FILE *f)
{
    size_t i;

    for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
        const strata_cmd_opt *o = &opts[i];
        char help[512];

        snprintf(help, sizeof(help), "%s%s", o->help,
                 (o->flags & STRATA_OPT_REPEAT) ? " (repeatable)" : "");
        option_line(f, o->short_name, o->name,
                    takes_value(o) ? value_name(o) : NULL, help);
    }
}

void
strata_cmd_usage(const strata_cmd_entry *cmd, FILE *f)
{

    strata_cmd_usage_line(cmd, f);
    fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->help != NULL)
        fprintf(f, "\n%s", cmd->help);
    fprintf(f, "\noptions:\n");
    strata_cmd_options(cmd->opts, f);
    if (cmd->config != STRATA_CMD_CONFIG_NONE)
        option_line(f, 'c', "config", "FILE", strata_cmd_config_help(cmd));
    option_line(f, 'h', "help", NULL, "print this help and exit");
}

const char *
strata_cmd_config_help(const strata_cmd_entry *cmd)
{
    if (cmd->config == STRATA_CMD_CONFIG_NONE)
        return NULL;
    if (cmd->config == STRATA_CMD_CONFIG_REQUIRED)
        return "the configuration (default ./strata.yaml, which must exist)";
    return "the configuration (default ./strata.yaml; the built-in defaults "
           "when it does not exist)";
}
