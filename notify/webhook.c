/*
 * webhook.c - the generic webhook backend: the event itself as the JSON
 * body (a digest is {"type": "digest", "count": N, "deliveries": [...],
 * "events": [...]}), posted by http-sink.c with an HMAC-SHA256
 * X-Strata-Signature over the raw body when the sink has a secret, and
 * the sink's own headers.
 */
#include "notify-int.h"

static json_t *
render(const strata_notify__attempt *a)
{
    json_t *deliveries;
    size_t i;

    if (json_array_size(a->events) == 1)
        return json_deep_copy(json_array_get(a->events, 0));
    deliveries = json_array();
    for (i = 0; i < a->nmsgs; i++)
        json_array_append_new(deliveries, json_string(a->msgs[i]->delivery));
    return json_pack("{s:s, s:I, s:o, s:O}", "type", "digest", "count",
                     (json_int_t) json_array_size(a->events), "deliveries",
                     deliveries, "events", a->events);
}

const strata_notify__backend strata_notify__webhook = {
    .type = "webhook",
    .render = render,
};
