/*
 * discord.c - the Discord backend: an execute-webhook body with a short
 * "content" line (at most 2000 characters) and embeds (at most 10; title
 * 256, description 4096, up to 25 fields of 256/1024, 6000 in all),
 * coloured by severity, and "allowed_mentions" empty so that no text in
 * an event can ping anyone. A digest has one embed per event. Discord
 * answers 204 No Content, and 429 with Retry-After (also "retry_after" in
 * the body), which http-sink.c honours.
 */
#include <stdlib.h>
#include <string.h>

#include "notify-int.h"

static json_int_t
color(const json_t *event)
{
    const char *s = json_string_value(json_object_get(event, "severity"));

    if (s != NULL && strcmp(s, "critical") == 0)
        return 0xed4245;
    if (s != NULL && strcmp(s, "warning") == 0)
        return 0xfea73c;
    return 0x5865f2;
}

/* One embed; desc_max keeps a digest of ten under Discord's 6000. */
static json_t *
embed(const json_t *event, const char *title, const char *text, size_t desc_max,
      int with_facts)
{
    char *t = strata_notify__truncate(title, 256);
    char *d = strata_notify__truncate(text, desc_max);
    const char *link = strata_notify__link(event);
    json_t *e = json_pack("{s:s, s:s, s:I, s:{s:s}}", "title", t, "description",
                          d, "color", color(event), "footer", "text", "strata");
    const char *time = json_string_value(json_object_get(event, "time"));
    size_t i;

    if (time != NULL)
        json_object_set_new(e, "timestamp", json_string(time));
    if (link != NULL)
        json_object_set_new(e, "url", json_string(link));
    if (with_facts) {
        json_t *facts = strata_notify__facts(event), *fields = json_array();

        for (i = 0; i < json_array_size(facts) && i < 25; i++) {
            json_t *f = json_array_get(facts, i);
            char *v = strata_notify__truncate(
                json_string_value(json_array_get(f, 1)), 1024);

            json_array_append_new(fields,
                                  json_pack("{s:O, s:s, s:b}", "name",
                                            json_array_get(f, 0), "value", v,
                                            "inline", strlen(v) < 40));
            free(v);
        }
        json_object_set_new(e, "fields", fields);
        json_decref(facts);
    }
    free(t);
    free(d);
    return e;
}

static json_t *
render(const strata_notify__attempt *a)
{
    json_t *embeds = json_array(), *msg;
    size_t i, count = json_array_size(a->events);
    char *title, *text, *content;

    strata_notify__message_text(&title, &text, a);
    if (count == 1) {
        json_array_append_new(
            embeds, embed(json_array_get(a->events, 0), title, text, 4096, 1));
    } else {
        for (i = 0; i < count && i < 10; i++) {
            char *t, *x;

            strata_notify_render(&t, &x, json_array_get(a->events, i),
                                 a->sink->cfg->title, a->sink->cfg->text);
            json_array_append_new(
                embeds, embed(json_array_get(a->events, i), t, x, 300, 0));
            free(t);
            free(x);
        }
    }
    content = count > 10 ? strata_xasprintf("%s (the first 10 shown)", title)
                         : strata_xstrdup(title);
    free(title);
    title = strata_notify__truncate(content, 2000);
    msg = json_pack("{s:s, s:o, s:{s:[]}}", "content", title, "embeds", embeds,
                    "allowed_mentions", "parse");
    free(content);
    free(title);
    free(text);
    return msg;
}

const strata_notify__backend strata_notify__discord = {
    .type = "discord",
    .render = render,
};
