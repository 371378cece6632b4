/*
 * schema-doc.c - the configuration schema of schema.c as JSON, for what
 * documents it outside the program: the strata.yaml(5) man page and its
 * check against docs/configuration.md (docs/gendoc.py, through the hidden
 * `strata __describe`). Each section is written once, where the walk
 * first meets it, with a number; a section met again (verify under watch
 * and under each base, pull requests under each repository) is a
 * reference to that number ("what" names are not unique: two sections are
 * a "forge"), so the tables stay the one source.
 */
#include <assert.h>

#include "config-int.h"

static const char *const kind_names[] = {
    [STRATA_CF_STRING] = "string",     [STRATA_CF_PATH] = "path",
    [STRATA_CF_BOOL] = "boolean",      [STRATA_CF_INT] = "integer",
    [STRATA_CF_DURATION] = "duration", [STRATA_CF_ENUM] = "enum",
    [STRATA_CF_FLAGS] = "flags",       [STRATA_CF_SECRET] = "secret",
    [STRATA_CF_REF] = "reference",     [STRATA_CF_STRINGS] = "strings",
    [STRATA_CF_KV] = "mapping",        [STRATA_CF_OBJECT] = "object",
    [STRATA_CF_LIST] = "list",         [STRATA_CF_MAP] = "map",
    [STRATA_CF_CUSTOM] = "custom",
};

/* The sections written so far, by address; the walk is shallow. */
typedef struct seen {
    const strata_config__schema *s[64];
    size_t n;
} seen;

static void schema_json(strata_buf *b, const strata_config__schema *s,
                        seen *done);

static void
field_json(strata_buf *b, const strata_config__field *f, seen *done)
{
    size_t i;

    strata_buf_puts(b, "{\"key\":");
    strata_buf_json_string(b, f->key);
    strata_buf_puts(b, ",\"kind\":");
    strata_buf_json_string(b, kind_names[f->kind]);
    if (f->flags & STRATA_CF_REQUIRED)
        strata_buf_puts(b, ",\"required\":true");
    if (f->flags & STRATA_CF_NONEMPTY)
        strata_buf_puts(b, ",\"nonempty\":true");
    if (f->def != NULL) {
        strata_buf_puts(b, ",\"default\":");
        strata_buf_json_string(b, f->def);
    }
    if (f->kind == STRATA_CF_INT)
        strata_buf_printf(b, ",\"min\":%ld,\"max\":%ld", f->min, f->max);
    if (f->names != NULL) {
        strata_buf_puts(b, ",\"choices\":[");
        for (i = 0; f->names[i] != NULL; i++) {
            if (i > 0)
                strata_buf_putc(b, ',');
            strata_buf_json_string(b, f->names[i]);
        }
        strata_buf_putc(b, ']');
    }
    if (f->sub != NULL) {
        strata_buf_puts(b, ",\"section\":");
        schema_json(b, f->sub, done);
    }
    strata_buf_putc(b, '}');
}

static void
schema_json(strata_buf *b, const strata_config__schema *s, seen *done)
{
    size_t i;

    for (i = 0; i < done->n; i++) {
        if (done->s[i] == s) {
            strata_buf_printf(b, "{\"ref\":%zu}", i);
            return;
        }
    }
    assert(done->n < sizeof(done->s) / sizeof(done->s[0]));
    strata_buf_printf(b, "{\"id\":%zu,\"what\":", done->n);
    done->s[done->n++] = s;
    strata_buf_json_string(b, s->what);
    strata_buf_puts(b, ",\"fields\":[");
    for (i = 0; i < s->n_fields; i++) {
        if (i > 0)
            strata_buf_putc(b, ',');
        field_json(b, &s->fields[i], done);
    }
    strata_buf_puts(b, "]}");
}

char *
strata_config_schema_json(void)
{
    strata_buf b = STRATA_BUF_INIT;
    seen done = {.n = 0};

    schema_json(&b, &strata_config__root, &done);
    return strata_buf_detach(&b);
}
