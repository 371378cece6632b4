/*
 * route.c - which sinks take which events: the sink's `events` patterns
 * ("*", "rebuild.*", exact names), then its optional filters on the
 * event's base and image (fnmatch globs), team (exact) and severity (a
 * minimum). Pure functions of the configuration and the event.
 */
#include <fnmatch.h>
#include <string.h>

#include "notify-int.h"

int
strata_notify_type_matches(const char *pattern, const char *type)
{
    size_t n;

    if (pattern == NULL || type == NULL)
        return 0;
    if (strcmp(pattern, "*") == 0 || strcmp(pattern, type) == 0)
        return 1;
    /* "rebuild.*" takes "rebuild.failed" but not "rebuilder.x". */
    n = strlen(pattern);
    return n >= 2 && strcmp(pattern + n - 2, ".*") == 0 &&
           strncmp(pattern, type, n - 1) == 0 && type[n - 1] != '\0';
}

/* True when list is empty or value matches one of its globs. */
static int
any_glob(const strata_config_strings *list, const char *value)
{
    size_t i;

    if (list->count == 0)
        return 1;
    if (value == NULL)
        return 0;
    for (i = 0; i < list->count; i++)
        if (fnmatch(list->items[i], value, 0) == 0)
            return 1;
    return 0;
}

static int
any_exact(const strata_config_strings *list, const char *value)
{
    size_t i;

    if (list->count == 0)
        return 1;
    for (i = 0; value != NULL && i < list->count; i++)
        if (strcmp(list->items[i], value) == 0)
            return 1;
    return 0;
}

int
strata_notify_route_matches(const strata_config_notify *sink,
                            const json_t *event)
{
    const char *type = json_string_value(json_object_get(event, "type"));
    strata_notify_severity sev = STRATA_NOTIFY_INFO;
    int typed = 0;
    size_t i;

    for (i = 0; i < sink->events.count && !typed; i++)
        typed = strata_notify_type_matches(sink->events.items[i], type);
    /* An empty list is what the config's default "*" stands for. */
    if (!typed && sink->events.count > 0)
        return 0;
    if (!any_glob(&sink->filter_bases,
                  json_string_value(json_object_get(event, "base"))) ||
        !any_glob(&sink->filter_images,
                  json_string_value(json_object_get(event, "image"))) ||
        !any_exact(&sink->filter_teams,
                   json_string_value(json_object_get(event, "team"))))
        return 0;
    strata_notify_severity_parse(
        &sev, json_string_value(json_object_get(event, "severity")));
    return (int) sev >= sink->filter_severity;
}
