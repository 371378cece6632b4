/*
 * template.c - human-readable text from small templates. "{base}" takes
 * the event's field, "{base|default}" a fallback for an absent or empty
 * one, "{new_digest_short}" a digest cut to "sha256:" and 12 hex digits,
 * "{{" a literal brace. Also the pieces each channel shows beside the
 * text: facts (label, value pairs), the event's link, HTML escaping and
 * length limits that never split a UTF-8 character.
 */
#include <stdlib.h>
#include <string.h>

#include "notify-int.h"

/* Appends the text of field name (n bytes) of event to b; 0 if empty. */
static int
put_field(strata_buf *b, const json_t *event, const char *name, size_t n)
{
    char key[128];
    const json_t *v;
    size_t before = b->len;
    int shorten = 0;

    if (n >= sizeof(key))
        return 0;
    memcpy(key, name, n);
    key[n] = '\0';
    v = json_object_get(event, key);
    if (v == NULL && n > 6 && strcmp(key + n - 6, "_short") == 0) {
        key[n - 6] = '\0';
        v = json_object_get(event, key);
        shorten = 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        const char *colon = strchr(s, ':');

        /* "sha256:" and 12 hex digits is what people compare at a glance. */
        if (shorten && colon != NULL && strlen(colon + 1) > 12)
            strata_buf_add(b, s, (size_t) (colon - s) + 13);
        else
            strata_buf_puts(b, s);
    } else if (json_is_integer(v)) {
        strata_buf_printf(b, "%lld", (long long) json_integer_value(v));
    } else if (json_is_real(v)) {
        strata_buf_printf(b, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        strata_buf_puts(b, json_is_true(v) ? "true" : "false");
    }
    return b->len > before;
}

char *
strata_notify_expand(const char *tmpl, const json_t *event)
{
    strata_buf b = STRATA_BUF_INIT;
    const char *p = tmpl;

    strata_buf_puts(&b, "");
    while (p != NULL && *p != '\0') {
        const char *end, *bar;

        if (p[0] == '{' && p[1] == '{') {
            strata_buf_putc(&b, '{');
            p += 2;
            continue;
        }
        if (*p != '{' || (end = strchr(p, '}')) == NULL) {
            strata_buf_putc(&b, *p++);
            continue;
        }
        bar = memchr(p, '|', (size_t) (end - p));
        if (!put_field(&b, event, p + 1,
                       (size_t) ((bar != NULL ? bar : end) - p - 1)) &&
            bar != NULL)
            strata_buf_add(&b, bar + 1, (size_t) (end - bar - 1));
        p = end + 1;
    }
    return strata_buf_detach(&b);
}

void
strata_notify_render(char **out_title, char **out_text, const json_t *event,
                     const char *title_tmpl, const char *text_tmpl)
{
    const strata_notify__type *t = strata_notify__type_find(
        json_string_value(json_object_get(event, "type")));

    if (title_tmpl == NULL)
        title_tmpl = t != NULL ? t->title : "strata: {type}";
    if (text_tmpl == NULL)
        text_tmpl = t != NULL ? t->text : "{type}";
    *out_title = strata_notify_expand(title_tmpl, event);
    *out_text = strata_notify_expand(text_tmpl, event);
}

json_t *
strata_notify__facts(const json_t *event)
{
    static const struct {
        const char *key;
        const char *label;
    } facts[] = {
        {"base", "Base"},
        {"image", "Image"},
        {"repo", "Repository"},
        {"old_digest", "Old digest"},
        {"new_digest", "New digest"},
        {"digest", "Digest"},
        {"team", "Team"},
        {"severity", "Severity"},
        {"packages", "Packages"},
    };
    json_t *arr = json_array();
    size_t i;

    for (i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
        const char *v = json_string_value(json_object_get(event, facts[i].key));

        if (v != NULL && *v != '\0')
            json_array_append_new(arr, json_pack("[s, s]", facts[i].label, v));
    }
    return arr;
}

const char *
strata_notify__link(const json_t *event)
{
    static const char *const keys[] = {"pr_url", "log_url", "report_url",
                                       "url"};
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_string_value(json_object_get(event, keys[i]));

        if (v != NULL &&
            (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0))
            return v;
    }
    return NULL;
}

char *
strata_notify__truncate(const char *s, size_t max)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t n = strlen(s);
    char *out;

    if (n <= max)
        return strata_xstrdup(s);
    if (max < sizeof(ellipsis))
        return strata_xstrdup("");
    n = max - (sizeof(ellipsis) - 1);
    /* Back up over continuation bytes so no character is split. */
    while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
        n--;
    out = strata_xmalloc(n + sizeof(ellipsis));
    memcpy(out, s, n);
    memcpy(out + n, ellipsis, sizeof(ellipsis));
    return out;
}
