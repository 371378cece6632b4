/*
 * semver.c - versions as container tags write them, and node-semver style
 * ranges over them. A range is parsed once into alternatives ("||"), each
 * a list of plain bounds (>=, >, <=, <, = on full versions) that must all
 * hold: the partial versions, wildcards, "~" and "^" of the input are
 * desugared into such bounds here, so matching is a few comparisons.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define MAX_DIGITS 9 /* per component: keeps every number below 10^9 */

typedef enum op {
    OP_GE,
    OP_GT,
    OP_LE,
    OP_LT,
    OP_EQ,
} op;

typedef struct bound {
    op op;
    uint64_t num[3];
} bound;

typedef struct alt {
    bound *bounds;
    size_t n;
    size_t cap;
} alt;

struct strata_semver_range {
    alt *alts;
    size_t n;
};

int
strata_semver_parse(strata_semver *out, const char *s)
{
    const char *p = s;
    int i;

    memset(out, 0, sizeof(*out));
    if (*p == 'v' || *p == 'V') {
        out->v_prefix = 1;
        p++;
    }
    for (i = 0; i < 3; i++) {
        uint64_t n = 0;
        int digits = 0;

        if (i > 0) {
            /* A dot continues the version only when a digit follows. */
            if (p[0] != '.' || !isdigit((unsigned char) p[1]))
                break;
            p++;
        }
        if (!isdigit((unsigned char) *p))
            return STRATA_EINVAL;
        while (isdigit((unsigned char) *p)) {
            if (++digits > MAX_DIGITS)
                return STRATA_EINVAL;
            n = n * 10 + (uint64_t) (*p - '0');
            p++;
        }
        out->num[i] = n;
        out->ncomp = i + 1;
    }
    out->rest = p;
    return 0;
}

int
strata_semver_cmp(const strata_semver *a, const strata_semver *b)
{
    int i;

    for (i = 0; i < 3; i++) {
        if (a->num[i] != b->num[i])
            return a->num[i] < b->num[i] ? -1 : 1;
    }
    return 0;
}

static int
cmp3(const uint64_t a[3], const uint64_t b[3])
{
    int i;

    for (i = 0; i < 3; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/*
 * A partial version as ranges write it: n components given (0..3), the
 * rest wildcards. "3.x" has n = 1, "*" has n = 0.
 */
typedef struct partial {
    uint64_t num[3];
    int n;
} partial;

static int
is_wild(const char *p, size_t len)
{
    return len == 1 && (*p == 'x' || *p == 'X' || *p == '*');
}

/* Parses one token (no spaces) into a partial version. */
static int
parse_partial(partial *out, const char *tok, size_t len, const char *range,
              strata_error *err)
{
    const char *p = tok, *end = tok + len;
    int i, wild = 0;

    memset(out, 0, sizeof(*out));
    if (p < end && (*p == 'v' || *p == 'V'))
        p++;
    if (p == end)
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid semver range '%s': missing version",
                                range);
    for (i = 0; p < end; i++) {
        const char *q = p;

        if (i == 3)
            return strata_error_set(
                err, STRATA_EINVAL,
                "invalid semver range '%s': '%.*s' has more than three "
                "numbers",
                range, (int) len, tok);
        while (q < end && *q != '.' && *q != '-' && *q != '+')
            q++;
        if (q < end && (*q == '-' || *q == '+'))
            return strata_error_set(
                err, STRATA_EINVAL,
                "invalid semver range '%s': pre-release or build '%.*s' is "
                "not supported",
                range, (int) len, tok);
        if (is_wild(p, (size_t) (q - p))) {
            wild = 1;
        } else {
            uint64_t n = 0;
            const char *d;

            if (q == p || q - p > MAX_DIGITS)
                goto bad_number;
            for (d = p; d < q; d++) {
                if (!isdigit((unsigned char) *d))
                    goto bad_number;
                n = n * 10 + (uint64_t) (*d - '0');
            }
            if (wild)
                return strata_error_set(err, STRATA_EINVAL,
                                        "invalid semver range '%s': number "
                                        "after a wildcard in '%.*s'",
                                        range, (int) len, tok);
            out->num[i] = n;
            out->n = i + 1;
        }
        p = q;
        if (p < end) {
            p++; /* the dot */
            if (p == end)
                return strata_error_set(
                    err, STRATA_EINVAL,
                    "invalid semver range '%s': '%.*s' ends with a dot", range,
                    (int) len, tok);
        }
        continue;
    bad_number:
        return strata_error_set(err, STRATA_EINVAL,
                                "invalid semver range '%s': '%.*s' is not a "
                                "number",
                                range, (int) (q - p), p);
    }
    return 0;
}

static void
alt_add(alt *a, op o, uint64_t x, uint64_t y, uint64_t z)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->bounds = strata_xrealloc(a->bounds, a->cap * sizeof(bound));
    }
    a->bounds[a->n].op = o;
    a->bounds[a->n].num[0] = x;
    a->bounds[a->n].num[1] = y;
    a->bounds[a->n].num[2] = z;
    a->n++;
}

/*
 * Adds "<" the version just past partial v: "3" -> <4.0.0, "3.12" ->
 * <3.13.0, "3.12.4" -> <3.12.5. v->n >= 1.
 */
static void
add_below_next(alt *a, const partial *v, op o)
{
    if (v->n == 1)
        alt_add(a, o, v->num[0] + 1, 0, 0);
    else if (v->n == 2)
        alt_add(a, o, v->num[0], v->num[1] + 1, 0);
    else
        alt_add(a, o, v->num[0], v->num[1], v->num[2] + 1);
}

/* Desugars one comparator (operator text + partial) into bounds. */
static void
add_comparator(alt *a, const char *opstr, const partial *v)
{
    const uint64_t *n = v->num;

    if (v->n == 0) {
        /* "*", ">=*": any version; "<*", ">*": none (an empty upper). */
        if (strcmp(opstr, "<") == 0 || strcmp(opstr, ">") == 0)
            alt_add(a, OP_LT, 0, 0, 0);
        return;
    }
    if (*opstr == '\0' || strcmp(opstr, "=") == 0) {
        if (v->n == 3) {
            alt_add(a, OP_EQ, n[0], n[1], n[2]);
        } else {
            alt_add(a, OP_GE, n[0], n[1], 0);
            add_below_next(a, v, OP_LT);
        }
    } else if (strcmp(opstr, ">=") == 0) {
        alt_add(a, OP_GE, n[0], n[1], n[2]);
    } else if (strcmp(opstr, ">") == 0) {
        if (v->n == 3)
            alt_add(a, OP_GT, n[0], n[1], n[2]);
        else
            add_below_next(a, v, OP_GE);
    } else if (strcmp(opstr, "<") == 0) {
        alt_add(a, OP_LT, n[0], n[1], n[2]);
    } else if (strcmp(opstr, "<=") == 0) {
        if (v->n == 3)
            alt_add(a, OP_LE, n[0], n[1], n[2]);
        else
            add_below_next(a, v, OP_LT);
    } else if (strcmp(opstr, "~") == 0) {
        alt_add(a, OP_GE, n[0], n[1], n[2]);
        if (v->n == 1)
            alt_add(a, OP_LT, n[0] + 1, 0, 0);
        else
            alt_add(a, OP_LT, n[0], n[1] + 1, 0);
    } else {
        /* "^": the leftmost non-zero component given may not change. */
        alt_add(a, OP_GE, n[0], n[1], n[2]);
        if (n[0] > 0 || v->n == 1)
            alt_add(a, OP_LT, n[0] + 1, 0, 0);
        else if (n[1] > 0 || v->n == 2)
            alt_add(a, OP_LT, 0, n[1] + 1, 0);
        else
            alt_add(a, OP_LT, 0, 0, n[2] + 1);
    }
}

/* Reads an operator at *p (possibly empty) into opstr. */
static void
read_op(char opstr[3], const char **p)
{
    const char *s = *p;

    opstr[0] = opstr[1] = opstr[2] = '\0';
    if ((s[0] == '>' || s[0] == '<') && s[1] == '=') {
        opstr[0] = s[0];
        opstr[1] = '=';
        s += 2;
    } else if (s[0] == '>' || s[0] == '<' || s[0] == '=' || s[0] == '~' ||
               s[0] == '^') {
        opstr[0] = s[0];
        s++;
    }
    *p = s;
}

/*
 * After a version: when the next word is a lone "-", steps *p past it and
 * the spaces after it and returns 1 (a hyphen range follows); else leaves
 * *p alone and returns 0.
 */
static int
hyphen_follows(const char **p, const char *end)
{
    const char *q = *p;

    while (q < end && isspace((unsigned char) *q))
        q++;
    if (q == *p || q == end || *q != '-' ||
        (q + 1 < end && !isspace((unsigned char) q[1])))
        return 0;
    q++;
    while (q < end && isspace((unsigned char) *q))
        q++;
    *p = q;
    return 1;
}

/* Parses the alternative in [p, end) into a. */
static int
parse_alt(alt *a, const char *p, const char *end, const char *range,
          strata_error *err)
{
    int rc;

    for (;;) {
        char opstr[3];
        const char *tok;
        partial v;

        while (p < end && isspace((unsigned char) *p))
            p++;
        if (p == end)
            break;
        read_op(opstr, &p);
        /* ">= 3.11" is accepted, as node-semver does. */
        while (opstr[0] != '\0' && p < end && isspace((unsigned char) *p))
            p++;
        tok = p;
        while (p < end && !isspace((unsigned char) *p))
            p++;
        if (p == tok) {
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid semver range '%s': operator '%s' "
                                    "without a version",
                                    range, opstr);
        }
        if (p - tok == 1 && *tok == '-')
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid semver range '%s': '-' without "
                                    "a version before it (write 'A - B')",
                                    range);
        if (strchr("<>=~^|", *tok) != NULL)
            return strata_error_set(err, STRATA_EINVAL,
                                    "invalid semver range '%s': unexpected "
                                    "'%.*s'",
                                    range, (int) (p - tok), tok);
        rc = parse_partial(&v, tok, (size_t) (p - tok), range, err);
        if (rc < 0)
            return rc;
        if (opstr[0] == '\0' && hyphen_follows(&p, end)) {
            /* A hyphen range, "A - B": >=A (missing numbers 0) and <=B,
             * where a partial B allows all of it ("1.0 - 1.4" is
             * >=1.0.0 <1.5.0), as node-semver reads it. */
            partial hi;

            tok = p;
            while (p < end && !isspace((unsigned char) *p))
                p++;
            if (p == tok || strchr("<>=~^|-", *tok) != NULL)
                return strata_error_set(err, STRATA_EINVAL,
                                        "invalid semver range '%s': a hyphen "
                                        "range needs a plain version after "
                                        "'-'",
                                        range);
            rc = parse_partial(&hi, tok, (size_t) (p - tok), range, err);
            if (rc < 0)
                return rc;
            if (v.n > 0)
                alt_add(a, OP_GE, v.num[0], v.num[1], v.num[2]);
            if (hi.n == 3)
                alt_add(a, OP_LE, hi.num[0], hi.num[1], hi.num[2]);
            else if (hi.n > 0)
                add_below_next(a, &hi, OP_LT);
            continue;
        }
        add_comparator(a, opstr, &v);
    }
    return 0;
}

static int
blank(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char) *p))
        p++;
    return p == end;
}

int
strata_semver_range_parse(strata_semver_range **out, const char *s,
                          strata_error *err)
{
    strata_semver_range *r = strata_xcalloc(1, sizeof(*r));
    const char *p = s, *all_end = s + strlen(s);
    int rc = 0;

    *out = NULL;
    for (;;) {
        const char *bar = strstr(p, "||");
        const char *end = bar ? bar : all_end;

        /* With "||" present, no side of it may be blank. */
        if (bar != NULL && (blank(p, end) || blank(bar + 2, all_end))) {
            rc = strata_error_set(err, STRATA_EINVAL,
                                  "invalid semver range '%s': empty "
                                  "alternative around '||'",
                                  s);
            goto out;
        }
        r->alts = strata_xrealloc(r->alts, (r->n + 1) * sizeof(alt));
        memset(&r->alts[r->n], 0, sizeof(alt));
        r->n++;
        rc = parse_alt(&r->alts[r->n - 1], p, end, s, err);
        if (rc < 0)
            goto out;
        if (bar == NULL)
            break;
        p = bar + 2;
    }
    *out = r;
    r = NULL;
out:
    strata_semver_range_free(r);
    return rc;
}

void
strata_semver_range_free(strata_semver_range *range)
{
    size_t i;

    if (range == NULL)
        return;
    for (i = 0; i < range->n; i++)
        free(range->alts[i].bounds);
    free(range->alts);
    free(range);
}

static int
bound_holds(const bound *b, const strata_semver *v)
{
    int c = cmp3(v->num, b->num);

    switch (b->op) {
    case OP_GE:
        return c >= 0;
    case OP_GT:
        return c > 0;
    case OP_LE:
        return c <= 0;
    case OP_LT:
        return c < 0;
    case OP_EQ:
        return c == 0;
    }
    return 0;
}

int
strata_semver_range_match(const strata_semver_range *range,
                          const strata_semver *v)
{
    size_t i, j;

    for (i = 0; i < range->n; i++) {
        const alt *a = &range->alts[i];

        for (j = 0; j < a->n; j++) {
            if (!bound_holds(&a->bounds[j], v))
                break;
        }
        if (j == a->n)
            return 1;
    }
    return 0;
}
