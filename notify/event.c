/*
 * event.c - the events strata notifies about: one table row per type with
 * its default severity, the string fields it must carry and its built-in
 * title and text templates (docs/events.md documents the same schema).
 * Events are flat JSON objects; strata_notify_event_complete() checks one
 * against its row and fills in id, time and severity.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "notify-int.h"

static const strata_notify__type types[] = {
    {"base.updated",
     STRATA_NOTIFY_INFO,
     {"base", "new_digest"},
     "Base image updated: {base}",
     "{base} now points to {new_digest_short} (was {old_digest_short|not seen "
     "before}). Images built on it: {impacted|unknown}."},
    {"base.signature_failed",
     STRATA_NOTIFY_CRITICAL,
     {"base", "digest", "reason"},
     "Signature check failed: {base}",
     "The new digest {digest_short} of {base} failed its signature check: "
     "{reason}. strata will not act on it."},
    {"base.held",
     STRATA_NOTIFY_WARNING,
     {"base", "new_digest", "reason"},
     "Base update held: {base}",
     "The update of {base} to {new_digest_short} is held for approval "
     "(pull_requests.evidence.hold_on): {reason}. {packages|} Approve it "
     "with `strata approve {base}`."},
    {"rebuild.started",
     STRATA_NOTIFY_INFO,
     {"image", "base"},
     "Rebuilding {image}",
     "strata started a rebuild of {image} on {base} "
     "{base_digest_short|(new digest)}."},
    {"rebuild.succeeded",
     STRATA_NOTIFY_INFO,
     {"image", "digest"},
     "Rebuilt {image}",
     "{image} was rebuilt on {base|its new base}: {digest_short}."},
    {"rebuild.failed",
     STRATA_NOTIFY_WARNING,
     {"image", "error"},
     "Rebuild failed: {image}",
     "The rebuild of {image} on {base|its new base} failed: {error}"},
    {"rebase.done",
     STRATA_NOTIFY_INFO,
     {"image", "new_digest"},
     "Rebased {image}",
     "{image} was rebased onto {base|its new base} in the registry: "
     "{new_digest_short} (was {old_digest_short|unknown})."},
    {"pr.opened",
     STRATA_NOTIFY_INFO,
     {"repo", "pr_url"},
     "Pull request opened: {repo}",
     "strata opened {pr_url} to pin {base|the base image} to "
     "{new_digest_short|its new digest} in {repo}."},
    {"pr.updated",
     STRATA_NOTIFY_INFO,
     {"repo", "pr_url"},
     "Pull request updated: {repo}",
     "strata updated {pr_url} in {repo} to {new_digest_short|the newest "
     "digest}."},
    {"pr.closed",
     STRATA_NOTIFY_INFO,
     {"repo", "pr_url"},
     "Pull request closed: {repo}",
     "{pr_url} in {repo} is closed: {reason|no reason given}."},
    {"pr.merged",
     STRATA_NOTIFY_INFO,
     {"repo", "pr_url"},
     "Pull request merged: {repo}",
     "strata merged {pr_url} in {repo} ({method|merge}) once its checks "
     "passed: {base|the base image} is pinned to {new_digest_short|its new "
     "digest}."},
    {"pr.merge_blocked",
     STRATA_NOTIFY_WARNING,
     {"repo", "pr_url", "reason"},
     "Auto-merge blocked: {repo}",
     "strata will not merge {pr_url} in {repo}: {reason} ({detail|no "
     "detail}). It stays "
     "open for a human."},
    {"rescan.regressed",
     STRATA_NOTIFY_WARNING,
     {"image"},
     "New vulnerabilities in {image}",
     "A rescan of {image} found {critical|0} critical and {high|0} high "
     "vulnerabilities more than the previous scan."},
    {"report.stale",
     STRATA_NOTIFY_WARNING,
     {NULL},
     "{stale|Some} images run on stale bases",
     "{stale|Some} of {total|the known} images run on bases that have newer "
     "digests; the oldest is {oldest_days|an unknown number of} days "
     "behind."},
    {"rollout.halted",
     STRATA_NOTIFY_WARNING,
     {"base", "summary"},
     "Rollout halted: {base}",
     "{summary}. {note|} Go on with `strata rollout resume {rollout}` or end "
     "it with `strata rollout abort {rollout}`."},
    {"rollout.completed",
     STRATA_NOTIFY_INFO,
     {"base", "summary"},
     "Rollout completed: {base}",
     "{summary}."},
    {"rollout.aborted",
     STRATA_NOTIFY_WARNING,
     {"base", "summary"},
     "Rollout aborted: {base}",
     "{summary}. Aborted by {by|someone}."},
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

static const char *const severity_names[] = {"info", "warning", "critical"};

const strata_notify__type *
strata_notify__type_find(const char *type)
{
    size_t i;

    for (i = 0; type != NULL && i < NTYPES; i++)
        if (strcmp(types[i].type, type) == 0)
            return &types[i];
    return NULL;
}

const char *const *
strata_notify_event_types(void)
{
    static const char *const names[] = {
        "base.updated",     "base.signature_failed",
        "rebuild.started",  "rebuild.succeeded",
        "rebuild.failed",   "rebase.done",
        "pr.opened",        "pr.updated",
        "pr.closed",        "pr.merged",
        "pr.merge_blocked", "rescan.regressed",
        "report.stale",     "base.held",
        "rollout.halted",   "rollout.completed",
        "rollout.aborted",  NULL,
    };
    return names;
}

int
strata_notify_severity_parse(strata_notify_severity *out, const char *name)
{
    int i;

    for (i = 0; i <= STRATA_NOTIFY_CRITICAL; i++) {
        if (name != NULL && strcmp(name, severity_names[i]) == 0) {
            *out = (strata_notify_severity) i;
            return 0;
        }
    }
    return STRATA_EINVAL;
}

char *
strata_notify__random_hex(size_t nbytes)
{
    unsigned char raw[64];
    char *hex;
    size_t i;

    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    /* RAND_bytes fails only when the system has no entropy at all. */
    if (RAND_bytes(raw, (int) nbytes) != 1)
        abort();
    hex = strata_xmalloc(nbytes * 2 + 1);
    for (i = 0; i < nbytes; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return hex;
}

/* A string member, or NULL when absent or not a string. */
static const char *
str_field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int
strata_notify_event_complete(json_t **out, const json_t *event,
                             strata_error *err)
{
    static const char *const optional_strings[] = {"id", "base", "image",
                                                   "team", "severity"};
    const strata_notify__type *t;
    strata_notify_severity sev;
    const char *type;
    json_t *e;
    size_t i;

    *out = NULL;
    if (!json_is_object(event))
        return strata_error_set(err, STRATA_EINVAL,
                                "an event must be a JSON object");
    type = str_field(event, "type");
    if (type == NULL)
        return strata_error_set(err, STRATA_EINVAL,
                                "an event needs a string 'type'");
    if ((t = strata_notify__type_find(type)) == NULL)
        return strata_error_set(err, STRATA_EINVAL, "unknown event type '%s'",
                                type);
    for (i = 0; i < 4 && t->required[i] != NULL; i++) {
        const char *v = str_field(event, t->required[i]);

        if (v == NULL || *v == '\0')
            return strata_error_set(err, STRATA_EINVAL,
                                    "event '%s' needs a string '%s'", type,
                                    t->required[i]);
    }
    for (i = 0; i < sizeof(optional_strings) / sizeof(optional_strings[0]);
         i++) {
        const json_t *v = json_object_get(event, optional_strings[i]);

        if (v != NULL && !json_is_null(v) && !json_is_string(v))
            return strata_error_set(err, STRATA_EINVAL,
                                    "field '%s' of event '%s' must be a "
                                    "string",
                                    optional_strings[i], type);
    }
    if (str_field(event, "severity") != NULL &&
        strata_notify_severity_parse(&sev, str_field(event, "severity")) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "unknown severity '%s' in event '%s' (info, "
                                "warning or critical)",
                                str_field(event, "severity"), type);
    e = json_deep_copy(event);
    if (str_field(e, "id") == NULL || *str_field(e, "id") == '\0') {
        char *hex = strata_notify__random_hex(16);

        json_object_set_new(e, "id", json_sprintf("evt-%s", hex));
        free(hex);
    }
    if (str_field(e, "time") == NULL) {
        char now[32];

        strata_format_time(now, sizeof(now), strata_now_ms());
        json_object_set_new(e, "time", json_string(now));
    }
    if (str_field(e, "severity") == NULL)
        json_object_set_new(e, "severity",
                            json_string(severity_names[t->severity]));
    *out = e;
    return 0;
}

json_t *
strata_notify_event_sample(const char *type)
{
    static const char d1[] = "sha256:"
                             "2f6ea2d1b5d1a2d7f1c0e8b5c6a4e3b2a1f0e9d8c7b6a5f4"
                             "e3d2c1b0a9f8e7d6";
    static const char d2[] = "sha256:"
                             "9b1c3e5a7d2f4b6c8e0a1d3f5b7c9e2a4d6f8b0c1e3a5d7f"
                             "9b2c4e6a8d0f1b3c";
    json_t *e;

    if (type == NULL)
        type = "base.updated";
    if (strata_notify__type_find(type) == NULL)
        return NULL;
    e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                  "s:i, s:i, s:i, s:i, s:i, s:b}",
                  "type", type, "base", "docker.io/library/debian:12-slim",
                  "image", "registry.example.com/acme/payments", "team",
                  "payments", "old_digest", d1, "new_digest", d2, "digest", d2,
                  "repo", "acme/payments", "pr_url",
                  "https://github.com/acme/payments/pull/42", "error",
                  "exit status 1 (step 3/7: RUN make)", "reason",
                  "no valid signature from the configured key", "impacted", 3,
                  "critical", 1, "high", 2, "stale", 4, "total", 12, "test", 1);
    json_object_set_new(e, "oldest_days", json_integer(21));
    json_object_set_new(e, "rollout", json_integer(7));
    json_object_set_new(
        e, "summary",
        json_string("docker.io/library/debian:12-slim@sha256:9b1c… reached "
                    "240 of 250 images; 10 failed: registry.example.com/acme/"
                    "payments, …"));
    return e;
}
