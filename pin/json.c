/*
 * json.c - devcontainer.json: its top-level "image" is pinned inside the
 * string's own bytes, and its build.dockerfile (relative to the file) is a
 * link, pinned and scanned as a Dockerfile. The file is JSON with
 * comments and trailing commas (JSONC), and jansson keeps no offsets, so
 * a small scanner reads it: bounded in depth, every byte looked at once,
 * an error names the line and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin-int.h"

#define MAX_DEPTH 64

typedef struct jscan {
    strata_pin__ctx *pin;
    const char *p, *end, *start;
    int failed;
    char why[128];
    const char *at; /* where the failure is */
} jscan;

/* A string as written: the bytes between its quotes. */
typedef struct jstr {
    const char *raw;
    size_t len;
    int escaped; /* has a backslash */
} jstr;

static void
fail(jscan *s, const char *why)
{
    if (s->failed)
        return;
    s->failed = 1;
    s->at = s->p;
    snprintf(s->why, sizeof(s->why), "%s", why);
}

static void
skip_space(jscan *s)
{
    while (s->p < s->end && !s->failed) {
        if (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r') {
            s->p++;
        } else if (s->p + 1 < s->end && s->p[0] == '/' && s->p[1] == '/') {
            while (s->p < s->end && *s->p != '\n')
                s->p++;
        } else if (s->p + 1 < s->end && s->p[0] == '/' && s->p[1] == '*') {
            const char *q = s->p + 2;

            while (q + 1 < s->end && !(q[0] == '*' && q[1] == '/'))
                q++;
            if (q + 1 >= s->end) {
                fail(s, "unterminated comment");
                return;
            }
            s->p = q + 2;
        } else {
            break;
        }
    }
}

static int
string(jscan *s, jstr *out)
{
    memset(out, 0, sizeof(*out));
    if (s->p >= s->end || *s->p != '"') {
        fail(s, "expected a string");
        return -1;
    }
    s->p++;
    out->raw = s->p;
    while (s->p < s->end && *s->p != '"') {
        if ((unsigned char) *s->p < 0x20) {
            fail(s, "control character in a string");
            return -1;
        }
        if (*s->p == '\\') {
            out->escaped = 1;
            if (s->p + 1 >= s->end) {
                s->p = s->end;
                break;
            }
            s->p++;
        }
        s->p++;
    }
    if (s->p >= s->end) {
        fail(s, "unterminated string");
        return -1;
    }
    out->len = (size_t) (s->p - out->raw);
    s->p++;
    return 0;
}

static int value(jscan *s, int depth, int top, const char *key);

static unsigned
line_of(const jscan *s, const char *at)
{
    unsigned line = 1;
    const char *q;

    for (q = s->start; q < at; q++)
        if (*q == '\n')
            line++;
    return line;
}

/* "a/b/../c" and "./x" resolved; NULL when it leaves the root. */
static char *
join_path(const char *name, const char *rel, size_t n)
{
    strata_buf b = STRATA_BUF_INIT, out = STRATA_BUF_INIT;
    const char *slash = strrchr(name, '/'), *p;
    char *res = NULL;

    if (n > 0 && rel[0] == '/')
        return NULL;
    if (slash != NULL)
        strata_buf_printf(&b, "%.*s/", (int) (slash - name), name);
    strata_buf_add(&b, rel, n);
    strata_buf_putc(&b, '\0');
    p = b.ptr;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t k = e ? (size_t) (e - p) : strlen(p);

        if (k == 2 && p[0] == '.' && p[1] == '.') {
            char *last;

            if (out.len == 0)
                goto out;
            out.ptr[out.len] = '\0';
            last = strrchr(out.ptr, '/');
            out.len = last ? (size_t) (last - out.ptr) : 0;
        } else if (k > 0 && !(k == 1 && p[0] == '.')) {
            if (out.len > 0)
                strata_buf_putc(&out, '/');
            strata_buf_add(&out, p, k);
        }
        p += k;
        if (*p == '/')
            p++;
    }
    if (out.len > 0) {
        strata_buf_putc(&out, '\0');
        res = strata_buf_detach(&out);
    }
out:
    strata_buf_release(&b);
    strata_buf_release(&out);
    return res;
}

static void
image_string(jscan *s, const jstr *js)
{
    strata_pin__site site = {0};
    unsigned line = line_of(s, js->raw);
    char *v;
    const char *at;

    if (js->len == 0)
        return;
    v = strata_xstrndup(js->raw, js->len);
    if (js->escaped || strchr(v, '$') != NULL) {
        strata_pin__problem(s->pin, line,
                            "image '%s' is written with escapes or "
                            "variables; pin it by hand",
                            v);
        free(v);
        return;
    }
    at = strchr(v, '@');
    site.value = v;
    site.line = line;
    site.end_off = (size_t) (js->raw - s->start) + js->len;
    site.at_off =
        at ? (size_t) (js->raw - s->start) + (size_t) (at - v) : (size_t) -1;
    strata_pin__add(s->pin, &site);
    free(v);
}

static int
object(jscan *s, int depth, int top, const char *parent)
{
    s->p++; /* '{' */
    for (;;) {
        jstr k, v;
        char key[32];

        skip_space(s);
        if (s->failed)
            return -1;
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return 0;
        }
        if (string(s, &k) != 0)
            return -1;
        snprintf(key, sizeof(key), "%.*s",
                 (int) (k.len < sizeof(key) ? k.len : sizeof(key) - 1), k.raw);
        if (k.len >= sizeof(key) || k.escaped)
            key[0] = '\0';
        skip_space(s);
        if (s->p >= s->end || *s->p != ':') {
            fail(s, "expected ':'");
            return -1;
        }
        s->p++;
        skip_space(s);
        if (s->failed)
            return -1;
        if (s->p < s->end && *s->p == '"' &&
            ((top && strcmp(key, "image") == 0) ||
             (parent != NULL && strcmp(parent, "build") == 0 &&
              strcmp(key, "dockerfile") == 0))) {
            if (string(s, &v) != 0)
                return -1;
            if (top) {
                image_string(s, &v);
            } else if (!v.escaped) {
                char *path = join_path(s->pin->name, v.raw, v.len);

                if (path != NULL)
                    strata_pin__link(s->pin, path, STRATA_PIN_DOCKERFILE);
                free(path);
            }
        } else if (value(s, depth + 1, 0, top ? key : NULL) != 0) {
            return -1;
        }
        skip_space(s);
        if (s->failed)
            return -1;
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return 0;
        }
        fail(s, "expected ',' or '}'");
        return -1;
    }
}

static int
array(jscan *s, int depth)
{
    s->p++; /* '[' */
    for (;;) {
        skip_space(s);
        if (s->failed)
            return -1;
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        if (value(s, depth + 1, 0, NULL) != 0)
            return -1;
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        fail(s, "expected ',' or ']'");
        return -1;
    }
}

static int
value(jscan *s, int depth, int top, const char *key)
{
    jstr js;

    skip_space(s);
    if (s->failed)
        return -1;
    if (depth > MAX_DEPTH) {
        fail(s, "nested too deep");
        return -1;
    }
    if (s->p >= s->end) {
        fail(s, "unexpected end of file");
        return -1;
    }
    switch (*s->p) {
    case '{':
        return object(s, depth, top, key);
    case '[':
        return array(s, depth);
    case '"':
        return string(s, &js);
    default:
        if (!((*s->p >= 'a' && *s->p <= 'z') ||
              (*s->p >= '0' && *s->p <= '9') || *s->p == '-')) {
            fail(s, "unexpected character");
            return -1;
        }
        while (s->p < s->end &&
               ((*s->p >= 'a' && *s->p <= 'z') ||
                (*s->p >= '0' && *s->p <= '9') || *s->p == '-' ||
                *s->p == '+' || *s->p == '.' || *s->p == 'E'))
            s->p++;
        return 0;
    }
}

int
strata_pin_devcontainer(strata_pin_result *out, const char *data, size_t len,
                        const char *name, const strata_pin_opts *opts,
                        strata_error *err)
{
    strata_pin__ctx c;
    jscan s = {0};
    int rc = 0;

    strata_pin__init(&c, out, data, len, name, opts);
    s.pin = &c;
    s.start = s.p = data;
    s.end = data + len;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        s.p += 3;
    skip_space(&s);
    if (!s.failed && (s.p >= s.end || *s.p != '{'))
        fail(&s, "expected an object");
    if (!s.failed)
        value(&s, 0, 1, NULL);
    skip_space(&s);
    if (!s.failed && s.p < s.end)
        fail(&s, "text after the object");
    if (s.failed) {
        const char *q, *bol = s.start;
        unsigned line = 1;

        for (q = s.start; q < s.at; q++)
            if (*q == '\n') {
                line++;
                bol = q + 1;
            }
        rc = strata_error_set(err, STRATA_EINVAL, "%s:%u:%zu: %s", c.name, line,
                              (size_t) (s.at - bol) + 1, s.why);
    }
    strata_pin__finish(&c);
    if (rc != 0)
        strata_pin_result_release(out);
    return rc;
}
