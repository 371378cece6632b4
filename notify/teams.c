/*
 * teams.c - the Microsoft Teams backend, for incoming webhooks and
 * Workflows ("Post to a channel when a webhook request is received"): a
 * message activity with one Adaptive Card attachment,
 *   {"type": "message", "attachments": [{"contentType":
 *    "application/vnd.microsoft.card.adaptive", "contentUrl": null,
 *    "content": {AdaptiveCard 1.4}}]}
 * with a bold title TextBlock, the text, a FactSet and an OpenUrl action
 * for the event's link. A digest has a title and text block per event.
 * Workflows answer 202 Accepted, classic webhooks 200.
 */
#include <stdlib.h>

#include "notify-int.h"

static json_t *
block(const char *text, int title)
{
    json_t *b = json_pack("{s:s, s:s, s:b}", "type", "TextBlock", "text", text,
                          "wrap", 1);

    if (title) {
        json_object_set_new(b, "weight", json_string("Bolder"));
        json_object_set_new(b, "size", json_string("Medium"));
    }
    return b;
}

static json_t *
render(const strata_notify__attempt *a)
{
    json_t *body = json_array(), *card, *actions = json_array();
    json_t *event = json_array_get(a->events, 0);
    size_t i, count = json_array_size(a->events);
    char *title, *text;

    strata_notify__message_text(&title, &text, a);
    json_array_append_new(body, block(title, 1));
    if (count == 1) {
        json_t *facts = strata_notify__facts(event), *set = json_array();
        const char *link = strata_notify__link(event);

        json_array_append_new(body, block(text, 0));
        for (i = 0; i < json_array_size(facts); i++) {
            json_t *f = json_array_get(facts, i);

            json_array_append_new(set, json_pack("{s:O, s:O}", "title",
                                                 json_array_get(f, 0), "value",
                                                 json_array_get(f, 1)));
        }
        json_decref(facts);
        if (json_array_size(set) > 0)
            json_array_append_new(
                body, json_pack("{s:s, s:o}", "type", "FactSet", "facts", set));
        else
            json_decref(set);
        if (link != NULL)
            json_array_append_new(actions, json_pack("{s:s, s:s, s:s}", "type",
                                                     "Action.OpenUrl", "title",
                                                     "Open", "url", link));
    } else {
        for (i = 0; i < count; i++) {
            char *t, *x;
            json_t *b;

            strata_notify_render(&t, &x, json_array_get(a->events, i),
                                 a->sink->cfg->title, a->sink->cfg->text);
            b = block(t, 0);
            json_object_set_new(b, "weight", json_string("Bolder"));
            json_object_set_new(b, "separator", json_true());
            json_array_append_new(body, b);
            json_array_append_new(body, block(x, 0));
            free(t);
            free(x);
        }
    }
    card = json_pack("{s:s, s:s, s:s, s:o}", "$schema",
                     "http://adaptivecards.io/schemas/adaptive-card.json",
                     "type", "AdaptiveCard", "version", "1.4", "body", body);
    if (json_array_size(actions) > 0)
        json_object_set_new(card, "actions", actions);
    else
        json_decref(actions);
    free(title);
    free(text);
    return json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message",
                     "attachments", "contentType",
                     "application/vnd.microsoft.card.adaptive", "contentUrl",
                     "content", card);
}

const strata_notify__backend strata_notify__teams = {
    .type = "teams",
    .render = render,
};
