/*
 * fuzz-notify-template.c - libFuzzer target for the notification template
 * expander (strata_notify_expand, strata_notify_render) and the text
 * helpers every channel uses on its result (length limits that keep UTF-8
 * whole, HTML escaping, facts, the link). The input is a template, then
 * optionally a NUL byte and the event: a JSON object when it is one, else
 * a fixed event of every field kind whose "text" field is that string.
 * Invariants: expansion never fails and never grows beyond what the
 * template and the field values account for; truncation respects its
 * limit and never splits a UTF-8 sequence it was given whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notify-int.h"
#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "invariant broken: %s (line %d)\n", #cond,         \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* The event for the bytes after the template (new). */
static json_t *
make_event(const char *p, size_t n)
{
    json_t *event = json_loadb(p, n, 0, NULL);
    json_t *text;

    if (json_is_object(event))
        return event;
    json_decref(event);
    event = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:f, s:b, s:n, s:s, s:s}", "type",
        "base.updated", "base", "docker.io/library/alpine:3.19", "new_digest",
        "sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "old_digest", "sha256:short", "image", "", "count", (json_int_t) 42,
        "ratio", 0.5, "flag", 1, "gone", "pr_url", "https://example.com/pr/1",
        "log_url", "ftp://nope");
    /* Not every byte string is UTF-8: such an event has no "text". */
    text = json_stringn(p, n);
    if (text != NULL)
        json_object_set_new(event, "text", text);
    return event;
}

/* An upper bound on the expansion: every field value once per brace. */
static size_t
bound(const char *tmpl, const json_t *event)
{
    size_t longest = 32, braces = 0;
    const char *k, *p;
    json_t *v;

    json_object_foreach ((json_t *) event, k, v) {
        if (json_is_string(v) && json_string_length(v) > longest)
            longest = json_string_length(v);
    }
    for (p = tmpl; *p != '\0'; p++)
        braces += *p == '{';
    return strlen(tmpl) + braces * longest;
}

static void
check_truncate(const char *s, size_t max)
{
    char *t = strata_notify__truncate(s, max);
    size_t n = strlen(t);

    check(n <= (strlen(s) <= max ? strlen(s) : max));
    if (strlen(s) <= max)
        check(strcmp(s, t) == 0);
    else if (n > 0)
        /* What is kept is a prefix of s, then the ellipsis. */
        check(n >= 3 && memcmp(t, s, n - 3) == 0 &&
              strcmp(t + n - 3, "\xe2\x80\xa6") == 0);
    free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t) (nul - (const char *) data) : size;
    char *tmpl = strata_xstrndup((const char *) data, tlen);
    json_t *event, *facts;
    char *out, *title, *text;
    strata_buf b = STRATA_BUF_INIT;

    event = nul ? make_event(nul + 1, size - tlen - 1) : make_event("", 0);
    out = strata_notify_expand(tmpl, event);
    check(out != NULL && strlen(out) <= bound(tmpl, event));
    strata_notify_render(&title, &text, event, tmpl, NULL);
    check(strcmp(title, out) == 0 && text != NULL);
    check_truncate(out, 0);
    check_truncate(out, 3);
    check_truncate(out, tlen % 61);
    check_truncate(out, 150);
    strata_html_escape(&b, out);
    check(b.len >= strlen(out) && strchr(strata_buf_cstr(&b), '<') == NULL);
    facts = strata_notify__facts(event);
    check(json_is_array(facts));
    (void) strata_notify__link(event);
    json_decref(facts);
    strata_buf_release(&b);
    free(title);
    free(text);
    free(out);
    json_decref(event);
    free(tmpl);
    return 0;
}
