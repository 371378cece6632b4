/*
 * dockerfile-int.h - what the parser's files share: the lexer that turns
 * file bytes into logical instructions (with a map back to file offsets),
 * the word splitters, and the shell-word expander.
 */
#ifndef STRATA_DOCKERFILE_INT_H
#define STRATA_DOCKERFILE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dockerfile.h"

/* ---- lexer (lex.c) ----------------------------------------- */

/* One logical instruction: continuations joined, comments dropped. */
typedef struct strata_dockerfile__line {
    const char *text; /* NUL-terminated; valid until the next line */
    size_t len;
    const size_t *orig; /* orig[i]: file offset of text[i]; len + 1 long */
    unsigned line;      /* first physical line, 1-based */
} strata_dockerfile__line;

/* A diagnostic the lexer reports: the driver formats and stores it. */
typedef void (*strata_dockerfile__diag_cb)(unsigned line, const char *msg,
                                           void *arg);

typedef struct strata_dockerfile__lexer {
    const char *buf;
    size_t len;
    size_t pos;      /* start of the next physical line */
    unsigned lineno; /* physical lines read so far */
    size_t bom;      /* 3 when the file starts with a UTF-8 BOM */
    char escape;
    int directives_done;
    int seen_escape, seen_syntax, seen_check;
    char *syntax, *check; /* heap; the driver copies them */
    strata_buf text;
    size_t *orig;
    size_t orig_cap;
    size_t *line_starts; /* file offset of each physical line */
    size_t nlines;
    strata_dockerfile__diag_cb diag;
    void *diag_arg;
} strata_dockerfile__lexer;

void strata_dockerfile__lexer_init(strata_dockerfile__lexer *lx,
                                   const char *buf, size_t len,
                                   strata_dockerfile__diag_cb diag, void *arg);
void strata_dockerfile__lexer_release(strata_dockerfile__lexer *lx);
/* The next instruction: 1 with *out set, 0 at the end of the file. */
int strata_dockerfile__lexer_next(strata_dockerfile__lexer *lx,
                                  strata_dockerfile__line *out);
/* The span of text[a, b) of a logical line, in file terms. */
strata_df_span strata_dockerfile__span(const strata_dockerfile__lexer *lx,
                                       const strata_dockerfile__line *l,
                                       size_t a, size_t b);
/* 1 when c is Go's unicode.IsSpace for an ASCII byte. */
int strata_dockerfile__isspace(int c);

/* ---- words (words.c) --------------------------------------- */

/* A word of a logical line: [start, end) of its text, and the word with
 * quotes and escapes processed the way the splitter defines. */
typedef struct strata_dockerfile__word {
    size_t start, end;
    char *value; /* heap */
    /* The offset in the text of the first '=' outside quotes, or
     * (size_t) -1. */
    size_t eq;
    int plain; /* no quotes or escapes: value equals the raw text */
} strata_dockerfile__word;

typedef struct strata_dockerfile__words {
    strata_dockerfile__word *v;
    size_t n, cap;
} strata_dockerfile__words;

void strata_dockerfile__words_release(strata_dockerfile__words *w);

/*
 * BuildKit's extractBuilderFlags: the leading "--flag[=value]" words of
 * text[from, len) (quotes and '\\' processed). Returns the offset where
 * the arguments start (len when none).
 */
size_t strata_dockerfile__flags(strata_dockerfile__words *out, const char *text,
                                size_t from, size_t len);
/* Whitespace-separated words of text[from, len), taken verbatim. */
void strata_dockerfile__split_ws(strata_dockerfile__words *out,
                                 const char *text, size_t from, size_t len);
/*
 * BuildKit's parseWords (ARG, ENV): whitespace outside quotes separates
 * words; quotes and escape sequences are kept in the value.
 */
void strata_dockerfile__split_words(strata_dockerfile__words *out,
                                    const char *text, size_t from, size_t len,
                                    char escape);
/*
 * Splits a CSV record (RUN --mount) the way Go's encoding/csv reads one:
 * fields by ',', a field in double quotes may hold ',' and "" for '"'.
 * Offsets are into s. Returns 0, or -1 on a malformed quote.
 */
int strata_dockerfile__split_csv(strata_dockerfile__words *out, const char *s,
                                 size_t len);
/* 1 when text[from, len) is a JSON array of strings (exec form). */
int strata_dockerfile__is_json_array(const char *text, size_t from, size_t len);

/* ---- expansion (expand.c) ---------------------------------- */

typedef enum strata_dockerfile__var_origin {
    STRATA_GRAPH__DF_VAR_UNSET = 0,   /* declared without a value */
    STRATA_GRAPH__DF_VAR_ARG_DEFAULT, /* a literal ARG default */
    STRATA_GRAPH__DF_VAR_BUILD_ARG,   /* a build-arg override */
    STRATA_GRAPH__DF_VAR_AUTOMATIC,   /* TARGETOS and friends */
    STRATA_GRAPH__DF_VAR_COMPUTED,    /* a default with variables */
} strata_dockerfile__var_origin;

typedef struct strata_dockerfile__var {
    const char *name;  /* arena */
    const char *value; /* arena; NULL: declared without a value */
    strata_dockerfile__var_origin origin;
    unsigned arg_line;       /* ARG_DEFAULT: the ARG's line */
    const char *arg_name;    /* ARG_DEFAULT: the ARG that wrote it */
    strata_df_span arg_span; /* ARG_DEFAULT: the default's span */
} strata_dockerfile__var;

typedef struct strata_dockerfile__env {
    strata_dockerfile__var *v;
    size_t n, cap;
    strata_strmap *index; /* name -> position in v + 1 */
    /* Bytes expansions may still produce in this parse: a bound on what
     * ARG defaults that repeat each other ($A$A$A...) can build. */
    size_t budget;
} strata_dockerfile__env;

/* The longest expansion of one word, and of all words of one file. */
#define STRATA_GRAPH__DF_EXPAND_MAX (64 * 1024)
#define STRATA_GRAPH__DF_EXPAND_BUDGET (8 * 1024 * 1024)

/* The definition of name, or NULL. */
strata_dockerfile__var *
strata_dockerfile__env_get(const strata_dockerfile__env *env, const char *name);
/* Adds or replaces name's definition. Returns it. */
strata_dockerfile__var *strata_dockerfile__env_set(strata_dockerfile__env *env,
                                                   const char *name);
void strata_dockerfile__env_release(strata_dockerfile__env *env);

/*
 * Expands word[0, len) as BuildKit's shell lexer does for FROM: quotes
 * removed, escape sequences applied, $VAR, ${VAR}, ${VAR:-x}, ${VAR-x},
 * ${VAR:+x}, ${VAR+x}, ${VAR:?x}, ${VAR?x}, ${VAR#p}, ${VAR##p},
 * ${VAR%p}, ${VAR%%p}; unset variables are empty. Appends to out. When
 * the result is exactly one plain variable ($X or ${X}) and nothing
 * else, *sole is that variable, else NULL. STRATA_EINVAL on a syntax
 * error or an unsupported modifier; STRATA_ETOOBIG when the result is
 * longer than STRATA_GRAPH__DF_EXPAND_MAX or env's budget is spent.
 */
int strata_dockerfile__expand(strata_buf *out,
                              const strata_dockerfile__var **sole,
                              const char *word, size_t len, char escape,
                              strata_dockerfile__env *env, strata_error *err);

/* ---- the parse result and the driver (dockerfile.c, instr.c) */

typedef struct strata_dockerfile__diag {
    strata_df_diag d;
    size_t seq; /* report order, to keep the line sort stable */
} strata_dockerfile__diag_int;

struct strata_dockerfile {
    strata_arena arena;
    const char *name;
    char escape;
    const char *syntax, *check;
    strata_df_ref *refs;
    size_t nrefs, caprefs;
    strata_df_stage *stages;
    size_t nstages, capstages;
    strata_dockerfile__diag_int *diags;
    size_t ndiags, capdiags;
    /* Direct dependencies per stage (arena), filled after the parse. */
    int **adj;
    size_t *nadj;
    /* Lowercased stage name -> index + 1. */
    strata_strmap *stage_names;
};

/* What the instruction handlers share while a file is parsed. */
typedef struct strata_dockerfile__parser {
    strata_dockerfile *df;
    strata_dockerfile__lexer lx;
    strata_dockerfile__env meta;     /* global ARGs and the automatic ones */
    const char **ba_keys, **ba_vals; /* build-arg overrides (arena) */
    size_t nba;
} strata_dockerfile__parser;

/* Records a diagnostic on a line ("NAME:LINE: msg"). */
void strata_dockerfile__diag(strata_dockerfile *df, unsigned line,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends a reference; the pointer is valid until the next append. */
strata_df_ref *strata_dockerfile__add_ref(strata_dockerfile *df);
/* Handles one logical instruction. */
void strata_dockerfile__instruction(strata_dockerfile__parser *p,
                                    const strata_dockerfile__line *l);
/* After the last instruction: resolves --from names against all stages. */
void strata_dockerfile__resolve(strata_dockerfile__parser *p);

#endif
