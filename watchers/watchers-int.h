/*
 * watchers-int.h - declarations shared between the files of the watchers
 * module and nothing else.
 */
#ifndef STRATA_WATCHERS_INT_H
#define STRATA_WATCHERS_INT_H

#include "watchers.h"

/*
 * Checks that req carries cfg's secret in the way cfg->kind sends it
 * (webhook-auth.c). STRATA_EAUTH when it does not.
 */
int strata_watchers__webhook_verify(const strata_watchers_webhook_config *cfg,
                                    const strata_watchers_webhook_request *req,
                                    strata_error *err);

/*
 * Decodes base64 (url: the base64url alphabet; '=' padding optional) into
 * a new buffer of *out_len bytes (NUL-terminated, the caller's). -1 for
 * anything else, *out NULL.
 */
int strata_watchers__base64_decode(unsigned char **out, size_t *out_len,
                                   const char *in, size_t len, int url);

/*
 * Verifies jwt (the bearer token of a Pub/Sub push) with cfg->keys and
 * its claims against cfg (webhook-jwt.c). STRATA_EAUTH when it does not
 * verify; STRATA_EINVAL when no keys are configured or the file is bad.
 */
int strata_watchers__jwt_verify(const strata_watchers_webhook_config *cfg,
                                const char *jwt, strata_error *err);

/* The request header name (lowercase) as a new string, or NULL. */
char *strata_watchers__header(const strata_watchers_webhook_request *req,
                              const char *name);

/* ---- the polling scheduler (poller.c, check.c) ------------------------- */

#include "store.h"

enum {
    STRATA_WATCHER__IDLE = 0, /* waiting for its due time */
    STRATA_WATCHER__QUEUED,   /* waiting for a registry slot */
    STRATA_WATCHER__RUNNING,  /* a check is under way */
};

typedef struct strata_watcher__host strata_watcher__host;
typedef struct strata_watcher__gate strata_watcher__gate;
typedef struct strata_watcher__check strata_watcher__check;

/* A batch of observations is written when it holds this many... */
#define STRATA_WATCHER__BATCH_MAX 256
/* ... or this long after its first one (sooner: see check.c record). */
#define STRATA_WATCHER__BATCH_WAIT_MS 50 /* batch_wait_ms' default */

/* One watched reference and its schedule. */
typedef struct strata_watcher__watch {
    char *key;                 /* canonical tag ref, or repo name */
    strata_ref *ref;           /* tag watch: the tag to HEAD */
    strata_ref *repo;          /* policy watch: name:latest */
    strata_tag_policy *policy; /* NULL: follow the tag */
    json_t *policy_json;       /* as stored; NULL for a tag */
    uint64_t interval_ms;
    char **platforms; /* watched platforms; may be empty */
    size_t nplatforms;
    /* What the store knows. */
    char *current;             /* current digest, or NULL */
    json_t *current_platforms; /* of current, or NULL */
    int64_t last_ms;           /* start of the last check, -1: never */
    unsigned errors;           /* consecutive failures */
    /* Scheduling. */
    int state;
    int again;        /* check again when the one under way ends */
    int round_wanted; /* part of a check_all round not yet started */
    int parked;       /* its check gave its slot back: it waits in the batch */
    int64_t due_ms;
    uint64_t phase;
    strata_watchers_settle settle;
    strata_watcher__host *host;
    struct strata_watcher__watch *qnext; /* in host's queue */
    const strata_watcher__gate *gate;    /* verify policy, or NULL */
} strata_watcher__watch;

/* A registry's queue of checks and its concurrency limit. */
struct strata_watcher__host {
    strata_watcher__host *next;
    char *domain;
    int limit;
    int active;
    strata_watcher__watch *head, *tail;
};

struct strata_watcher {
    uv_loop_t *loop;
    strata_store *store;
    strata_registry *registry;
    strata_watcher_options opts;
    strata_watcher__watch **watches;
    size_t nwatches, cap;
    strata_strmap *by_key; /* key -> watch */
    strata_watcher__host *hosts;
    uv_timer_t timer; /* the next due time */
    uv_timer_t kick;  /* deferred work: an empty round's callback */
    /*
     * Checks whose observations wait to be written together (check.c),
     * and the timer that writes them.
     */
    strata_watcher__check *batch, **batch_tail;
    size_t nbatch;
    uv_timer_t flush;
    int started;
    int closing;
    int handles_open;
    uint64_t rng;
    strata_watcher_stats stats;
    /* check_all */
    int round_active;
    size_t round_pending;
    strata_watcher_round round;
    strata_watcher_round_cb round_cb;
    void *round_arg;
    strata_watcher_close_cb close_cb;
    void *close_arg;
    /* The gate's compiled policies and what they share (gate.c). */
    strata_watcher__gate *gates;
    strata_strmap *trust_keys;  /* path -> strata_verify_key */
    strata_strmap *trust_roots; /* path -> strata_verify_trusted_root */
    /*
     * Where every watch's policy comes from once configured
     * (strata_watcher_configure_catalog): borrowed until the next
     * configure. gate_cache maps a verify block ("%p") to its compiled
     * gate, for this configuration only; retired holds the compiled
     * policies of replaced configurations that a check under way may still
     * use.
     */
    const struct strata_config_data *policy_cfg;
    const struct strata_catalog *policy_cat;
    strata_strmap *gate_cache;
    struct strata_watcher__gates_gen *retired;
};

/* How one check ended, handed from check.c to poller.c. */
typedef struct strata_watcher__result {
    int ok;       /* a successful read */
    int settling; /* a change waits for its settle window */
    int changed;  /* a change or first sighting was reported */
    int first;    /* ... and it was a first sighting */
    int canceled; /* the registry client was closed */
    int64_t started_ms;
} strata_watcher__result;

/*
 * Starts a check of wt (check.c). in_round: part of check_all (no settle
 * window). When it returns 0, strata_watcher__check_done() runs exactly
 * once, from the loop; otherwise err says why and nothing runs.
 */
int strata_watcher__check_start(strata_watcher *w, strata_watcher__watch *wt,
                                int in_round, strata_error *err);

/*
 * Called by check.c when a check's observation joins the batch: its
 * registry slot goes to the next check, and the batch is written soon
 * (at once when urgent). The check ends later, in strata_watcher__flush.
 */
void strata_watcher__park(strata_watcher *w, strata_watcher__watch *wt,
                          int urgent);

/*
 * Writes the batch in one transaction, then reports its changes and ends
 * its checks (check.c). From the loop (the flush timer).
 */
void strata_watcher__flush(strata_watcher *w);

/* Called by check.c when a check has ended and been recorded. */
void strata_watcher__check_done(strata_watcher *w, strata_watcher__watch *wt,
                                int in_round,
                                const strata_watcher__result *res);

/*
 * Records a failed check in the store and calls on_error (check.c). Returns
 * the consecutive error count.
 */
unsigned strata_watcher__record_error(strata_watcher *w,
                                      strata_watcher__watch *wt,
                                      const strata_error *err);

/* When wt is due next after a check that started at started_ms. */
int64_t strata_watcher__next_due(strata_watcher *w, strata_watcher__watch *wt,
                                 int64_t now_ms);

/* ---- the verification gate (gate.c) -------------------------------------- */

/* A verdict over a watch's digest and its watched platforms' manifests. */
typedef struct strata_watcher__verdict {
    int ok;          /* every digest met the policy */
    char *summary;   /* one line: what verified, or why not */
    json_t *signers; /* [{"verifier", "key"|"subject", ...}] of the digest */
    json_t *digests; /* [{"digest", "ok", "summary", "result"}] */
    unsigned requests;
} strata_watcher__verdict;

void strata_watcher__verdict_free(strata_watcher__verdict *v);

/* Compiles a verify block (NULL when it has none, or mode off). */
struct strata_config_verify;
int strata_watcher__gate_compile(const strata_watcher__gate **out,
                                 strata_watcher *w,
                                 const struct strata_config_verify *v,
                                 strata_error *err);
void strata_watcher__gates_free(strata_watcher *w);

/*
 * The gate of the watch with key: the policy the configuration and catalog
 * give it once the watcher was configured with them (spec_verify is then
 * ignored), else spec_verify's (may be NULL).
 */
int strata_watcher__gate_for(const strata_watcher__gate **out,
                             strata_watcher *w, const char *key,
                             const struct strata_config_verify *spec_verify,
                             strata_error *err);

/*
 * A new configuration: policies are compiled again (keys and trusted
 * roots read again, so a rotated key file counts) and every watch takes
 * the policy cfg and cat give it. The policies replaced are freed now when
 * no check is under way, else when the watcher is. Returns the first
 * policy that could not be compiled (that watch keeps its former policy).
 */
int strata_watcher__gates_reconfigure(strata_watcher *w,
                                      const struct strata_config_data *cfg,
                                      const struct strata_catalog *cat,
                                      strata_error *err);
int strata_watcher__gate_mode(const strata_watcher__gate *g);

/* v: the verdict (the callback's), NULL when the client was closed. */
typedef void (*strata_watcher__gate_cb)(strata_watcher__verdict *v, void *arg);

/*
 * Verifies digests[0] (the tag's) and the others (watched platforms'
 * manifests) of target's repository in turn. cb runs once from the loop,
 * unless this returns an error.
 */
int strata_watcher__gate_start(strata_watcher *w,
                               const strata_watcher__gate *gate,
                               const strata_ref *target,
                               const char *const *digests, size_t n,
                               strata_watcher__gate_cb cb, void *arg,
                               strata_error *err);

/* 1 unless digest's gate state is decided (verified, quarantined, ...). */
int strata_watcher__gate_pending(strata_watcher *w, const char *watch_key,
                                 const char *digest);

/*
 * Inside the caller's transaction: the verdict becomes the gate state
 * (and its event, with on_gate). *out_state: a constant name.
 */
int strata_watcher__gate_record(const char **out_state, strata_watcher *w,
                                const strata_watcher__gate *gate,
                                const char *watch_key, const char *digest,
                                const strata_watcher__verdict *v, int64_t now,
                                strata_error *err);

#endif
