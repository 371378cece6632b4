/*
 * slack.c - the Slack backend: an incoming-webhook message in Block Kit,
 * a header block (plain text, at most 150 characters), a mrkdwn section
 * with the text (at most 3000), a section of fields with the facts (at
 * most 10), a context line, and the top-level "text" Slack shows in
 * notifications and where blocks cannot be drawn. A digest has one
 * section per event. Slack answers 200 "ok"; its 4xx answers
 * (invalid_payload, no_service, ...) are permanent, 429 is retried.
 */
#include <stdlib.h>

#include "notify-int.h"

/* Slack's mrkdwn treats &, < and > as markup: escape them. */
static char *
mrkdwn(const char *s, size_t max)
{
    strata_buf b = STRATA_BUF_INIT;
    char *cut;

    strata_buf_puts(&b, "");
    for (; *s != '\0'; s++) {
        if (*s == '&')
            strata_buf_puts(&b, "&amp;");
        else if (*s == '<')
            strata_buf_puts(&b, "&lt;");
        else if (*s == '>')
            strata_buf_puts(&b, "&gt;");
        else
            strata_buf_putc(&b, *s);
    }
    cut = strata_notify__truncate(b.ptr, max);
    strata_buf_release(&b);
    return cut;
}

static json_t *
text_obj(const char *type, const char *text)
{
    return json_pack("{s:s, s:s}", "type", type, "text", text);
}

/* A mrkdwn section for one event: its text and its link. */
static json_t *
event_section(const json_t *event, const char *title, const char *text,
              int with_title)
{
    const char *link = strata_notify__link(event);
    char *body =
        strata_xasprintf("%s%s%s%s%s%s", with_title ? "*" : "",
                         with_title ? title : "", with_title ? "*\n" : "", text,
                         link != NULL ? "\n" : "", link != NULL ? link : "");
    char *escaped = mrkdwn(body, 3000);
    json_t *section = json_pack("{s:s, s:o}", "type", "section", "text",
                                text_obj("mrkdwn", escaped));

    free(body);
    free(escaped);
    return section;
}

static json_t *
render(const strata_notify__attempt *a)
{
    json_t *blocks = json_array(), *event = json_array_get(a->events, 0);
    char *title, *text, *header, *fallback, *ctx;
    size_t i, count = json_array_size(a->events);

    strata_notify__message_text(&title, &text, a);
    header = strata_notify__truncate(title, 150);
    json_array_append_new(blocks,
                          json_pack("{s:s, s:o}", "type", "header", "text",
                                    text_obj("plain_text", header)));
    if (count == 1) {
        json_t *facts = strata_notify__facts(event), *fields = json_array();

        json_array_append_new(blocks, event_section(event, title, text, 0));
        for (i = 0; i < json_array_size(facts) && i < 10; i++) {
            json_t *f = json_array_get(facts, i);
            char *v = strata_xasprintf("*%s*\n%s",
                                       json_string_value(json_array_get(f, 0)),
                                       json_string_value(json_array_get(f, 1)));
            char *escaped = mrkdwn(v, 2000);

            json_array_append_new(fields, text_obj("mrkdwn", escaped));
            free(v);
            free(escaped);
        }
        if (json_array_size(fields) > 0)
            json_array_append_new(
                blocks,
                json_pack("{s:s, s:o}", "type", "section", "fields", fields));
        else
            json_decref(fields);
        json_decref(facts);
    } else {
        /* 50 blocks at most: header, 47 events, a remainder, context. */
        for (i = 0; i < count && i < 47; i++) {
            json_t *e = json_array_get(a->events, i);
            char *t, *x;

            strata_notify_render(&t, &x, e, a->sink->cfg->title,
                                 a->sink->cfg->text);
            json_array_append_new(blocks, event_section(e, t, x, 1));
            free(t);
            free(x);
        }
        if (count > 47) {
            char *more = strata_xasprintf("and %zu more", count - 47);

            json_array_append_new(blocks,
                                  json_pack("{s:s, s:o}", "type", "section",
                                            "text", text_obj("mrkdwn", more)));
            free(more);
        }
    }
    ctx =
        strata_xasprintf("strata \xc2\xb7 %s \xc2\xb7 %s",
                         json_string_value(json_object_get(event, "severity")),
                         json_string_value(json_object_get(event, "time")));
    json_array_append_new(blocks,
                          json_pack("{s:s, s:[o]}", "type", "context",
                                    "elements", text_obj("mrkdwn", ctx)));
    fallback = strata_xasprintf("%s: %s", title, text);
    free(header);
    free(ctx);
    free(title);
    free(text);
    header = strata_notify__truncate(fallback, 3000);
    free(fallback);
    event = json_pack("{s:s, s:o}", "text", header, "blocks", blocks);
    free(header);
    return event;
}

const strata_notify__backend strata_notify__slack = {
    .type = "slack",
    .render = render,
};
