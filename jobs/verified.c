/*
 * verified.c - what verified a base digest, in words, for pull-request
 * bodies and notifications: read from the verification gate's row
 * ("verify:REF" in the store's meta table, written by watchers/gate.c).
 */
#include <stdlib.h>
#include <string.h>

#include "jobs-int.h"

char *
strata_jobs__verified_by(strata_store *st, const char *ref, const char *digest)
{
    char *key = strata_xasprintf("verify:%s", ref), *val = NULL;
    strata_buf b = STRATA_BUF_INIT;
    json_t *rec = NULL, *s;
    const char *d, *state, *reason, *who;
    size_t i;

    if (strata_store_meta_get(&val, st, key, NULL) == 0 && val != NULL)
        rec = json_loads(val, 0, NULL);
    free(key);
    free(val);
    d = json_string_value(json_object_get(rec, "digest"));
    state = json_string_value(json_object_get(rec, "state"));
    reason = json_string_value(json_object_get(rec, "reason"));
    if (d == NULL || state == NULL || strcmp(d, digest) != 0) {
        json_decref(rec);
        return NULL;
    }
    if (strcmp(state, "verified") == 0) {
        strata_buf_puts(&b, "verified by ");
        json_array_foreach (json_object_get(rec, "verified_by"), i, s) {
            const char *k = json_string_value(json_object_get(s, "key"));
            const char *sub = json_string_value(json_object_get(s, "subject"));
            const char *iss = json_string_value(json_object_get(s, "issuer"));
            json_t *li = json_object_get(s, "log_index");

            if (i > 0)
                strata_buf_puts(&b, ", ");
            if (k != NULL)
                strata_buf_printf(&b, "key `%s`", k);
            else if (sub != NULL)
                strata_buf_printf(&b, "keyless identity `%s` (issuer `%s`)",
                                  sub, iss ? iss : "?");
            else
                strata_buf_printf(
                    &b, "%s",
                    json_string_value(json_object_get(s, "verifier")));
            if (json_is_integer(li))
                strata_buf_printf(
                    &b, ", transparency log index %" JSON_INTEGER_FORMAT,
                    json_integer_value(li));
        }
        if (i == 0)
            strata_buf_printf(&b, "%s", reason ? reason : "its policy");
    } else if (strcmp(state, "approved") == 0) {
        who = json_string_value(json_object_get(rec, "approved_by"));
        strata_buf_printf(&b, "NOT verified: approved unsigned by %s (%s)",
                          who ? who : "?", reason ? reason : "no signature");
    } else {
        strata_buf_printf(&b, "NOT verified (%s): %s", state,
                          reason ? reason : "no signature");
    }
    json_decref(rec);
    return strata_buf_detach(&b);
}
