/*
 * cmd-approve.c - `strata approve REF [--digest D]`: lets a held base
 * update go ahead (watch.approval or watch.bases[].approval, or an update
 * pull_requests.evidence.hold_on holds). It records
 * approved:REF = the digest (the current one when --digest is not given)
 * in the store; the daemon plans it at its next plan tick, and
 * `strata plan` shows it as due. Approving a digest that is not the
 * current one is refused: the approval would silently not apply.
 *
 * `strata approve BASE@DIGEST --unsigned` overrides the verification gate
 * instead: a digest quarantined (or awaiting its signature) is planned as
 * if it had verified, and the audit event base.unsigned_approved names
 * who did it (the login user, or $STRATA_APPROVER).
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "watchers.h"

/* Who is approving: $STRATA_APPROVER, else the login user. */
static char *
approver(void)
{
    const char *who = getenv("STRATA_APPROVER");
    struct passwd *pw;

    if (who != NULL && *who != '\0')
        return strata_xasprintf("%s", who);
    pw = getpwuid(getuid());
    if (pw != NULL && pw->pw_name != NULL)
        return strata_xasprintf("cli user %s", pw->pw_name);
    return strata_xasprintf("cli uid %ld", (long) getuid());
}

static int
exec_approve(strata_cmd_ctx *ctx)
{
    strata_store *st = NULL;
    strata_store_watch_state ws = {0};
    strata_error err = {0};
    strata_ref *ref = NULL, *bare = NULL;
    const char *digest = strata_args_get(ctx->args, "digest");
    char *key = NULL, *who = NULL;
    int rc, unsigned_ = strata_args_has(ctx->args, "unsigned");

    if (strata_ref_parse(&ref, strata_args_arg(ctx->args, 0), &err) != 0)
        goto fail;
    if (digest == NULL)
        digest = strata_ref_digest(ref);
    if (strata_ref_with_digest(&bare, ref, NULL, &err) != 0 ||
        (digest != NULL && strata_digest_validate(digest, &err) != 0) ||
        strata_cmd_open_store(&st, ctx, &err) != 0 ||
        strata_store_watch_state_get(&ws, st, strata_ref_string(bare), &err) !=
            0)
        goto fail;
    if (unsigned_) {
        /* BASE@DIGEST names exactly what is let through, never "current". */
        if (digest == NULL) {
            strata_error_set(&err, STRATA_EUSAGE,
                             "--unsigned needs BASE@DIGEST (or --digest): "
                             "say which digest you let through");
            goto fail;
        }
        who = approver();
        if (strata_watchers_gate_approve(st, strata_ref_string(bare), digest,
                                         who, strata_now_ms(), &err) != 0)
            goto fail;
        printf("approved %s@%s unsigned (by %s)\n", strata_ref_string(bare),
               digest, who);
        rc = STRATA_EXIT_OK;
        goto out;
    }
    if (ws.current_digest == NULL) {
        strata_error_set(&err, STRATA_ENOTFOUND, "'%s' has no digest yet",
                         strata_ref_string(bare));
        goto fail;
    }
    if (digest != NULL && strcmp(digest, ws.current_digest) != 0) {
        strata_error_set(&err, STRATA_ECONFLICT,
                         "'%s' is at %s now, not %s: nothing approved",
                         strata_ref_string(bare), ws.current_digest, digest);
        goto fail;
    }
    key = strata_xasprintf("approved:%s", strata_ref_string(bare));
    if (strata_store_meta_set(st, key, ws.current_digest, &err) != 0)
        goto fail;
    printf("approved %s@%s\n", strata_ref_string(bare), ws.current_digest);
    rc = STRATA_EXIT_OK;
    goto out;
fail:
    rc = strata_cmd_fail(&err);
out:
    free(key);
    free(who);
    strata_store_watch_state_release(&ws);
    strata_store_close(st);
    strata_ref_free(ref);
    strata_ref_free(bare);
    return rc;
}

static const strata_cmd_opt approve_opts[] = {
    {"digest", 0, STRATA_OPT_VALUE, "DIGEST", NULL,
     "approve this digest, which must be REF's current one"},
    {"unsigned", 0, 0, NULL, NULL,
     "override the signature gate for BASE@DIGEST (audited)"},
    {NULL, 0, 0, NULL, NULL, NULL},
};

const strata_cmd_entry strata_cmd_approve = {
    .name = "approve",
    .summary = "Let a base update that waits for approval go ahead.",
    .help = "With watch.approval (or a base's approval: true), a new digest "
            "is held\nafter its soak until approved; so is one whose package "
            "delta matches\npull_requests.evidence.hold_on (strata plan "
            "says why). REF's current\ndigest is approved, or DIGEST, which "
            "must be the current one.\n"
            "With --unsigned, overrides the signature gate for BASE@DIGEST "
            "(quarantined\nor awaiting its signature): it is planned as if "
            "verified, and the audit\nevent base.unsigned_approved names "
            "the approver ($STRATA_APPROVER, else\nthe login user).\n",
    .opts = approve_opts,
    .args = "REF",
    .min_args = 1,
    .max_args = 1,
    .config = STRATA_CMD_CONFIG_OPTIONAL,
    .exec = exec_approve,
};
