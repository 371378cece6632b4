/*
 * watchers.h - what to poll and when: tag policies (semver ranges over
 * container tags), registry push webhooks, and the scheduling arithmetic
 * (per-reference jitter, error backoff, settle windows). The parts in this
 * header are pure and network-free; the polling scheduler that drives them
 * on the loop lives in its own section below.
 */
#ifndef STRATA_WATCHERS_H
#define STRATA_WATCHERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core.h"
#include "oci.h"
#include "verify.h"

struct strata_store;

/* ==== registry push webhooks (webhook.c) =============================== */

/* Body limit for one delivery; larger bodies fail with STRATA_ETOOBIG. */
#define STRATA_WATCHERS_WEBHOOK_MAX_BODY (1024 * 1024)
/* At most this many pushes in one delivery (STRATA_ETOOBIG beyond). */
#define STRATA_WATCHERS_WEBHOOK_MAX_PUSHES 4096

/*
 * The kinds of sender, and how each is verified (all need a secret; an
 * unauthenticated endpoint is not offered):
 *   DISTRIBUTION  CNCF distribution notification envelope; the endpoint's
 *                 configured headers carry "Authorization: Bearer SECRET"
 *                 (or exactly "Authorization: SECRET").
 *   DOCKERHUB     Docker Hub webhook. Docker Hub neither signs nor sends
 *                 any secret header, so the secret must travel in the URL
 *                 the user registers: "?token=SECRET" (or a proxy's
 *                 "X-Strata-Token: SECRET" header).
 *   HARBOR        Harbor default-format webhook; Harbor sends the policy's
 *                 "auth header" value as the Authorization header, checked
 *                 like DISTRIBUTION.
 *   GENERIC       strata's own shape, {"pushes":[{"ref":..., "digest":...}]}
 *                 or one {"ref":..., "digest":...}, signed with
 *                 "X-Strata-Signature: sha256=HEX", the HMAC-SHA256 of the
 *                 raw body under the secret.
 *   CLOUDEVENTS   CloudEvents 1.0, structured (application/cloudevents+json)
 *                 or binary (ce-* headers, the body is the data): Harbor
 *                 2.8+'s harbor.artifact.pushed, and Event Grid's
 *                 Microsoft.ContainerRegistry.ImagePushed; other types give
 *                 no pushes. Verified like DISTRIBUTION.
 *   QUAY          Quay repository-push notification. Quay neither signs
 *                 nor sends a header: the token travels in the URL, as for
 *                 DOCKERHUB.
 *   GHCR          GitHub "registry_package" / "package" events of a
 *                 container package (X-GitHub-Event), signed with
 *                 X-Hub-Signature-256: sha256=HMAC of the body.
 *   ECR           Amazon ECR "ECR Image Action" events through an
 *                 EventBridge API destination: its connection's API key
 *                 header (cfg->header, the secret its value) or basic auth
 *                 (cfg->username, the secret the password).
 *   ACR           Azure Container Registry webhook ("action": "push"); its
 *                 custom headers carry the secret, checked like ECR.
 *   ARTIFACT_REGISTRY  Google Artifact Registry notifications through a
 *                 Pub/Sub push subscription: the OIDC JWT Google signs
 *                 (Authorization: Bearer, RS256 against cfg->keys, with
 *                 cfg->audience), or "?token=SECRET" in the push URL.
 * DISTRIBUTION, HARBOR, CLOUDEVENTS, ECR and ACR read the secret from
 * cfg->header (Authorization by default; "Bearer " optional), or from
 * basic auth when cfg->username is set.
 * Every comparison is constant-time; secrets never appear in messages.
 */
typedef enum strata_watchers_webhook_kind {
    STRATA_WATCHERS_WEBHOOK_DISTRIBUTION = 0,
    STRATA_WATCHERS_WEBHOOK_DOCKERHUB,
    STRATA_WATCHERS_WEBHOOK_HARBOR,
    STRATA_WATCHERS_WEBHOOK_GENERIC,
    STRATA_WATCHERS_WEBHOOK_CLOUDEVENTS,
    STRATA_WATCHERS_WEBHOOK_QUAY,
    STRATA_WATCHERS_WEBHOOK_GHCR,
    STRATA_WATCHERS_WEBHOOK_ECR,
    STRATA_WATCHERS_WEBHOOK_ACR,
    STRATA_WATCHERS_WEBHOOK_ARTIFACT_REGISTRY,
} strata_watchers_webhook_kind;

/* "distribution", "dockerhub", "harbor", "generic", "cloudevents",
 * "quay", "ghcr", "ecr", "acr", "artifact-registry" -> kind; else EINVAL. */
int strata_watchers_webhook_kind_parse(strata_watchers_webhook_kind *out,
                                       const char *name, strata_error *err);
/* The name of a kind ("harbor"). Constant. */
const char *strata_watchers_webhook_kind_name(strata_watchers_webhook_kind k);

/* One endpoint's settings (borrowed strings). */
typedef struct strata_watchers_webhook_config {
    strata_watchers_webhook_kind kind;
    const char *secret; /* token / auth header value / HMAC key; required */
    /*
     * The registry host ("registry.example.com:5000") used for every
     * push, overriding whatever host the payload names; NULL to take it
     * from the payload (distribution: request.host, else the target URL;
     * Harbor: resource_url). Docker Hub pushes are always docker.io.
     */
    const char *registry;
    /*
     * The header that carries the secret ("x-api-key"), NULL for
     * Authorization; and the basic-auth user name (NULL: no basic auth).
     * For the header-verified kinds above.
     */
    const char *header;
    const char *username;
    /*
     * ARTIFACT_REGISTRY's JWT: a JWKS (Google's oauth2/v3/certs) or PEM
     * public key file, the audience the push subscription names, and the
     * service account whose email the token must carry (NULL: any). With
     * keys set the secret may be NULL (then only a JWT passes).
     */
    const char *keys;
    const char *audience;
    const char *service_account;
    int64_t now; /* seconds since the epoch for exp/iat; 0: the clock */
} strata_watchers_webhook_config;

/* One delivery as the HTTP layer received it (borrowed; NULL = absent). */
typedef struct strata_watchers_webhook_request {
    const char *body; /* raw bytes, not necessarily NUL-terminated */
    size_t body_len;
    const char *authorization; /* "Authorization" header */
    const char *token;         /* "X-Strata-Token" header */
    const char *signature;     /* "X-Strata-Signature" header */
    const char *query;         /* the URL query string, without '?' */
    /*
     * Any other header by lowercase name ("x-github-event", "ce-type",
     * "content-type"), NULL when absent; the result is the caller's to
     * free. NULL: no other headers.
     */
    char *(*header)(void *arg, const char *name);
    void *header_arg;
} strata_watchers_webhook_request;

/* One push the delivery announced. */
typedef struct strata_watchers_webhook_push {
    char *ref;    /* canonical, with tag: "docker.io/library/python:3.12" */
    char *digest; /* "sha256:…", or NULL when the sender gave none */
} strata_watchers_webhook_push;

/*
 * Verifies req against cfg, then parses the body into *out (an array of
 * *out_len pushes, the caller's: free with strata_watchers_webhook_free).
 * Verification comes first: an unauthenticated body is never parsed.
 * Deliveries with nothing to act on (pulls, blob pushes, untagged
 * pushes, Harbor's other event types) give 0 pushes and return 0.
 * Duplicates within one delivery are dropped; order is kept.
 * Errors: STRATA_EINVAL (bad cfg: no secret), STRATA_EAUTH (missing or
 * wrong token or signature), STRATA_ETOOBIG, STRATA_EPROTO (not JSON, wrong
 * shape or types, missing fields, an invalid reference or digest).
 */
int strata_watchers_webhook_parse(strata_watchers_webhook_push **out,
                                  size_t *out_len,
                                  const strata_watchers_webhook_config *cfg,
                                  const strata_watchers_webhook_request *req,
                                  strata_error *err);
void strata_watchers_webhook_free(strata_watchers_webhook_push *pushes,
                                  size_t len);

/*
 * "sha256=" + lowercase hex HMAC-SHA256 of body under secret: the value a
 * GENERIC sender puts in X-Strata-Signature. Caller frees.
 */
char *strata_watchers_webhook_sign(const char *secret, const void *body,
                                   size_t len);

/* ==== scheduling arithmetic (schedule.c) ================================ */

/*
 * Polls run on a per-watch grid: a watch with interval I and phase P is
 * due at the times P + k*I (milliseconds since the epoch). Phases come
 * from the sha256 of the canonical reference, so they survive restarts
 * and don't depend on start-up order.
 */

/* A hash of ref: the first 8 bytes of its sha256, big-endian. */
uint64_t strata_watchers_ref_hash(const char *ref);

/* ref's phase within interval_ms: ref_hash % interval_ms (0 if I is 0). */
uint64_t strata_watchers_phase(const char *ref, uint64_t interval_ms);

/*
 * The grid time at or after earliest for (phase, interval_ms).
 * interval_ms 0 is treated as 1.
 */
int64_t strata_watchers_grid_next(int64_t earliest, uint64_t phase,
                                  uint64_t interval_ms);

/* Error backoff: base 30 s, doubled per consecutive error, capped. */
#define STRATA_WATCHERS_BACKOFF_BASE_MS 30000

/*
 * The delay after the errors-th consecutive failed poll (errors >= 1):
 * min(interval_ms, 30 s * 2^(errors-1)): 30 s, 1 min, 2 min, ... never
 * longer than the normal interval. 0 when errors is 0.
 */
uint64_t strata_watchers_backoff_ms(unsigned errors, uint64_t interval_ms);

/* One watch as the scheduler sees it. */
typedef struct strata_watchers_watch {
    const char *ref;      /* canonical reference (borrowed) */
    uint64_t interval_ms; /* > 0 */
    int64_t last_ms;      /* start of the last poll; < 0 when never */
    unsigned errors;      /* consecutive failed polls, 0 after a success */
} strata_watchers_watch;

/*
 * When one watch is due next, given its phase:
 *   - errors > 0: last_ms + backoff (or now when never polled);
 *   - never polled (no baseline digest): now, so a watch has its baseline
 *     before a push can come (the per-registry concurrency limits pace a
 *     burst of new watches); the set is spread from its first poll on;
 *   - else the first grid time at or after max(now, last_ms + I/2): at
 *     least half an interval between polls even when phases move (the
 *     set of watches changed), exactly I while they don't.
 */
int64_t strata_watchers_next_due(const strata_watchers_watch *w, uint64_t phase,
                                 int64_t now_ms);

/*
 * Due times for a whole set: out_due[i] for watches[i]. Watches sharing
 * an interval get phases spread evenly over it (sorted by ref hash, the
 * k-th of n gets k*I/n plus a hash-derived offset below I/n), so 10,000
 * watches of 15 min are due 90 ms apart, deterministically for the same
 * set. out_phase may be NULL.
 */
void strata_watchers_schedule(int64_t *out_due, uint64_t *out_phase,
                              const strata_watchers_watch *watches, size_t n,
                              int64_t now_ms);

/*
 * Settle window: a tag whose digest changes several times within
 * window_ms (a registry being pushed to in several steps) is reported
 * once, with its last digest, after that digest has been stable for the
 * whole window. Embedded by value; _init/_release.
 */
typedef struct strata_watchers_settle {
    char *current;      /* the digest last reported (or known at start) */
    char *pending;      /* a newer digest waiting to settle, or NULL */
    int64_t pending_ms; /* when pending was first seen */
} strata_watchers_settle;

/* current may be NULL (nothing known yet). */
void strata_watchers_settle_init(strata_watchers_settle *s,
                                 const char *current);
void strata_watchers_settle_release(strata_watchers_settle *s);

/*
 * Records that digest (not NULL: a failed read is never a change, and
 * a vanished tag is the scheduler's business) was read at now_ms. A digest
 * equal to current cancels a pending change (it flipped back); a new pending
 * digest restarts the window; the same pending digest again changes nothing.
 * Returns 1 when a change is now pending, else 0.
 */
int strata_watchers_settle_observe(strata_watchers_settle *s,
                                   const char *digest, int64_t now_ms);

/* When the pending change settles (pending_ms + window_ms), or -1. */
int64_t strata_watchers_settle_deadline(const strata_watchers_settle *s,
                                        uint64_t window_ms);

/*
 * When a change has been stable for window_ms at now_ms: moves it to
 * current, sets *out_new (borrowed from s, valid until the next call) and
 * *out_old (the previous current, the caller's to free, may be NULL) and
 * returns 1. Otherwise returns 0 and leaves the outs untouched.
 */
int strata_watchers_settle_take(const char **out_new, char **out_old,
                                strata_watchers_settle *s, int64_t now_ms,
                                uint64_t window_ms);

/* ==== polling scheduler (poller.c, check.c, poller-config.c) ============ */
/*
 * A watcher polls a set of watched references on a uv loop and reports
 * changes. Each distinct reference is one watch, checked once per interval
 * however many images use it. A check:
 *   - tag watch: HEAD the tag (HEADs don't count against Docker Hub's pull
 *     limit);
 *   - policy watch: list the repository's tags (Link pagination, page cap),
 *     pick the best tag with the policy, HEAD it;
 *   - when the digest differs from the stored current one (or on the first
 *     sighting), GET the manifest by tag and check that its content hashes
 *     to the digest the HEAD gave: a registry that lies or answers
 *     inconsistently fails the check instead of producing a change. For a
 *     multi-arch index this GET also gives the per-platform digests.
 * A change is only a successful, verified read that differs from the
 * stored current digest. Errors are recorded with strata_store_watch_error
 * (backoff per watch); they never touch the stored digest and never report
 * a change. Observations and their events ("base.first_seen",
 * "base.updated") are written in one store transaction, many checks to a
 * transaction: a check's observation waits (batch_wait_ms at most, and
 * not at all when it may be a change or nothing else is under way) for
 * others to share its commit, and a check ends, and a change is reported,
 * only once it is committed.
 *
 * Threads: everything runs on the loop thread, store calls included (they
 * are short single-row writes). The store and the registry client are
 * borrowed and must outlive the watcher (until its close callback).
 */
typedef struct strata_watcher strata_watcher;

/* One change, as reported to strata_watcher_change_cb. All borrowed. */
typedef struct strata_watcher_change {
    const char *ref;        /* the watch: its canonical ref, or for a tag
                               policy the repository name */
    const char *old_digest; /* NULL on the first sighting */
    const char *new_digest; /* "sha256:..." (the index digest if multi-arch) */
    const char *tag;        /* the tag a policy picked, else NULL */
    const char *target;     /* what was read: "name:tag" */
    /*
     * Platforms ("linux/arm64/v8") whose manifest digest differs from the
     * old index's, added or removed; every platform on a first sighting.
     * Only the watch's platforms when it names some. Empty for a
     * single-platform image.
     */
    const char *const *platforms_changed;
    size_t nplatforms_changed;
    const json_t *platforms; /* {"linux/amd64": "sha256:..."} or NULL */
    int64_t time_ms;         /* when the change was read */
    /*
     * The verification gate, for a watch with a policy: "verified",
     * "awaiting", "quarantined", "unverified" (warn mode) or "approved",
     * with its one-line reason; both NULL without a policy.
     */
    const char *verify_state;
    const char *verify_summary;
} strata_watcher_change;

/* Runs once per change, from the loop, after the store has recorded it. */
typedef void (*strata_watcher_change_cb)(const strata_watcher_change *change,
                                         void *arg);
/*
 * Runs once per change, from the loop, inside the store transaction that
 * records it (the new digest and its event), before the commit: what it
 * writes to the store (say, the change's notifications in notify's outbox)
 * is committed together with the change, or not at all. Returning non-zero
 * (with err set) rolls the whole change back: the digest stays where it
 * was, the error is recorded as a failed check, and the next check sees
 * the change again. on_change then does not run.
 */
typedef int (*strata_watcher_record_cb)(const strata_watcher_change *change,
                                        strata_error *err, void *arg);
/*
 * Runs inside the store transaction that records a gate event
 * ("base.verified", "base.signature_failed"; payload borrowed: base,
 * digest, state, mode, reason or summary, verified_by), like on_record:
 * non-zero (err set) rolls the check back.
 */
typedef int (*strata_watcher_gate_cb)(const char *type, const json_t *payload,
                                      strata_error *err, void *arg);
/* Runs once per failed check (already recorded in the store). */
typedef void (*strata_watcher_error_cb)(const char *ref,
                                        const strata_error *err, void *arg);

typedef struct strata_watcher_options {
    uint64_t interval_ms; /* default interval of a watch; 0 = 15 min */
    int jitter_percent;   /* 0..100 of the interval; -1: use jitter_ms */
    uint64_t jitter_ms;   /* a fixed jitter when jitter_percent is -1 */
    uint64_t settle_ms;   /* 0: report changes at once (see below) */
    int max_concurrency;  /* checks at once per registry; 0 = 8 */
    int tag_page_size;    /* n= of tags/list; 0 = 1000 */
    int tag_max_pages;    /* 0 = 50 */
    int no_events;        /* don't append base.* events to the store */
    /*
     * How long the observation of an unchanged check may wait for others
     * to share its store transaction; 0 = 50 ms. Changes never wait.
     */
    uint64_t batch_wait_ms;
    strata_watcher_record_cb on_record; /* may be NULL */
    strata_watcher_gate_cb on_gate;     /* may be NULL */
    strata_watcher_change_cb on_change; /* may be NULL */
    strata_watcher_error_cb on_error;   /* may be NULL */
    void *arg;                          /* for the callbacks */
} strata_watcher_options;

/*
 * A new watcher on loop (no polling until start or check_all). opts is
 * copied. Errors: STRATA_EINVAL for bad options.
 */
int strata_watcher_new(strata_watcher **out, uv_loop_t *loop,
                       struct strata_store *store, strata_registry *registry,
                       const strata_watcher_options *opts, strata_error *err);

/* What to watch. Strings are copied. */
typedef struct strata_watcher_spec {
    /*
     * A tag ("debian:12-slim", canonicalised), or with a policy, a
     * repository ("python"; any tag or digest in it is ignored).
     */
    const char *ref;
    const char *semver;           /* policy: a range, or NULL */
    const char *suffix;           /* policy: a tag suffix, or NULL */
    const char *regex;            /* policy: a POSIX extended regex, or NULL */
    uint64_t interval_ms;         /* 0: the watcher's default */
    const char *const *platforms; /* "os/arch[/variant]", may be NULL */
    size_t nplatforms;
    /*
     * The signature policy of new digests (borrowed for the call; keys and
     * trusted roots are loaded then, once per path), or NULL. A watch
     * added again keeps the policy it was first given unless it had none.
     * Ignored once the watcher was configured with
     * strata_watcher_configure_catalog: the configuration decides.
     */
    const struct strata_config_verify *verify;
} strata_watcher_spec;

/*
 * Adds a watch, or merges it into the watch of the same reference: the
 * shorter interval wins and platforms are united, so a base used by many
 * images is still checked once per interval. Records the watch in the
 * store and loads its state (current digest, errors, last check).
 * *out_key (may be NULL) is the watch's key (the canonical tag reference,
 * or the repository name for a policy), borrowed from the watcher.
 * Errors: STRATA_EINVAL (bad reference, policy or platform; a digest-only
 * reference without a policy, which can never change), STRATA_ECONFLICT
 * (a different policy for the same repository), store errors.
 */
int strata_watcher_add(const char **out_key, strata_watcher *w,
                       const strata_watcher_spec *spec, strata_error *err);

/* Number of watches. */
size_t strata_watcher_count(const strata_watcher *w);

/* Per-registry concurrency ("docker.io", "127.0.0.1:5000"); n 1..256. */
void strata_watcher_set_host_limit(strata_watcher *w, const char *domain,
                                   int n);

/* Totals since the watcher was created. */
typedef struct strata_watcher_stats {
    size_t watches;
    size_t queued;  /* waiting for a registry slot */
    size_t running; /* checks under way */
    uint64_t checks, errors, changes, first_seen;
    /*
     * Store transactions that recorded checks: successful checks are
     * written in batches, many to a transaction in the steady state.
     */
    uint64_t batches;
} strata_watcher_stats;
void strata_watcher_stats_get(strata_watcher_stats *out,
                              const strata_watcher *w);

/*
 * Docker Hub's (or any registry's) last "RateLimit-Remaining" value for
 * domain, or -1 when none was seen. For /metrics.
 */
long strata_watcher_ratelimit_remaining(const strata_watcher *w,
                                        const char *domain);

/* The outcome of strata_watcher_check_all. */
typedef struct strata_watcher_round {
    size_t checked; /* watches checked */
    size_t errors;  /* of which failed */
    size_t changes; /* changes reported (old digest set) */
    size_t first_seen;
    int canceled; /* the watcher was closed before every check ended */
} strata_watcher_round;
typedef void (*strata_watcher_round_cb)(const strata_watcher_round *round,
                                        void *arg);

/*
 * Checks every watch once now, whatever its schedule or backoff, within
 * the per-registry limits; cb runs once (from the loop) when all have
 * ended. The settle window does not apply (a one-shot run cannot wait):
 * a change is reported as soon as it is read. Errors: STRATA_ECONFLICT
 * while another round is under way, STRATA_ECANCELED while closing; the
 * callback then never runs.
 */
int strata_watcher_check_all(strata_watcher *w, strata_watcher_round_cb cb,
                             void *arg, strata_error *err);

/*
 * Starts polling on the schedule: each watch is due on its own grid
 * (strata_watchers_schedule: phases spread over the interval), plus a
 * random jitter, after errors with backoff (strata_watchers_next_due), and
 * a change waiting for its settle window is checked again when the window
 * ends and reported once it was stable for the whole window. A watch
 * never read is read at once; after a restart, watches with a baseline
 * keep their place on the grid, so restarts do not bunch them.
 */
int strata_watcher_start(strata_watcher *w, strata_error *err);
/* Stops scheduling new checks; checks under way finish. */
void strata_watcher_stop(strata_watcher *w);

/*
 * Checks the watch that ref names now (a webhook said it was pushed):
 * the watch of that exact tag, or a policy watch of its repository.
 * A check under way is followed by another one. STRATA_ENOTFOUND when no
 * watch matches, STRATA_EINVAL for a bad reference.
 */
int strata_watcher_trigger(strata_watcher *w, const char *ref,
                           strata_error *err);

/*
 * Stops everything and frees the watcher once the checks under way have
 * ended (closing the registry client cancels them at once) and its handles
 * are closed; then cb (may be NULL) runs. A pending check_all callback
 * runs first, with canceled set. w may be NULL.
 */
typedef void (*strata_watcher_close_cb)(void *arg);
void strata_watcher_close(strata_watcher *w, strata_watcher_close_cb cb,
                          void *arg);

/*
 * Applies a configuration (poller-config.c): every registries[] entry
 * becomes host options of the registry client (username, password or
 * token, insecure, ca_file; base supplies the timeouts and retries, may be
 * NULL) and a concurrency limit, and every watch.bases[] entry becomes a
 * watch. The golden catalog's images and the graph's external bases are
 * added by their owners with strata_watcher_add.
 */
struct strata_config;
int strata_watcher_configure(strata_watcher *w,
                             const struct strata_config *config,
                             const strata_registry_opts *base,
                             strata_error *err);

/*
 * The same, and every entry of the golden catalog (may be NULL) becomes a
 * watch too. From then on every watch, however it is added (here, or by
 * strata_watcher_add for the graph's bases), takes the signature policy
 * that config and catalog give its reference (strata_config_verify_for:
 * the base's own verify block, else its catalog entry's verify or
 * signing_key, else watch.verify), and spec->verify is ignored. Called
 * again with a new configuration (SIGHUP), every existing watch takes its
 * new policy, with keys and trusted roots read again. config and catalog
 * are borrowed until the next call or the watcher's close. A policy that
 * cannot be compiled (a key removed since config check) is an error; the
 * watch keeps the policy it had, if any.
 */
struct strata_catalog;
int strata_watcher_configure_catalog(strata_watcher *w,
                                     const struct strata_config *config,
                                     const struct strata_catalog *catalog,
                                     const strata_registry_opts *base,
                                     strata_error *err);

/* Fills opts from a configuration's watch section (callbacks unset). */
void strata_watcher_options_from_config(strata_watcher_options *opts,
                                        const struct strata_config *config);

/* ==== the verification gate (gate.c) ==================================== */

/*
 * r: the verdict over digest (the callback's: free it), NULL when err is
 * set (only STRATA_ECANCELED: every registry problem is an entry of r).
 * requests: registry requests made.
 */
typedef void (*strata_watchers_verify_cb)(strata_verify_result *r,
                                          unsigned requests,
                                          const strata_error *err, void *arg);

/*
 * Finds the signatures of digest in ref's repository and verifies them
 * under policy (borrowed until the callback). exhaustive: read every
 * layout (.sig, .att, referrers) at once, as `strata verify` does; else
 * in stages, the .sig tag first (two requests), then the referrers and
 * the .att tag only while the policy is not met. The callback runs once,
 * from the loop, unless this returns an error.
 */
int strata_watchers_verify_digest(strata_registry *reg, const strata_ref *ref,
                                  const char *digest,
                                  const strata_verify_policy *policy,
                                  int exhaustive, strata_watchers_verify_cb cb,
                                  void *arg, strata_error *err);

/*
 * A verify block compiled on its own (keys and trusted root loaded), for
 * what verifies an image outside a watch (a rebuild's output under
 * builders[].verify). NULL with 0 when v has no policy (unset or mode
 * off). Errors: the key's or trusted root's (STRATA_EINVAL, STRATA_EIO).
 */
typedef struct strata_watchers_policy strata_watchers_policy;
int strata_watchers_policy_new(strata_watchers_policy **out,
                               const struct strata_config_verify *v,
                               strata_error *err);
/* The policy (borrowed from p) and the block's mode and wait. */
const strata_verify_policy *
strata_watchers_policy_get(const strata_watchers_policy *p);
int strata_watchers_policy_mode(const strata_watchers_policy *p);
uint64_t strata_watchers_policy_wait_ms(const strata_watchers_policy *p);
void strata_watchers_policy_free(strata_watchers_policy *p);

/*
 * The gate state of a watch (its key: the canonical tag, or a policy's
 * repository), new reference or NULL when none was recorded:
 *   {"digest", "state": "verified" | "awaiting" | "quarantined" |
 *    "unverified" | "approved", "mode", "since", "checked", "deadline"
 *    (ms), "checks", "reason", "verified_by": [{"verifier", "key" |
 *    "subject", "issuer", "log_index"}], "digests": [...],
 *    "approved_by"}
 * The row is "verify:KEY" in the store's meta table.
 */
json_t *strata_watchers_gate_get(struct strata_store *st,
                                 const char *watch_key);

/*
 * `strata approve BASE@DIGEST --unsigned`: overrides the gate for digest
 * (awaiting, quarantined or unverified), which is then planned as a
 * verified one would be. who names the approver (the CLI user, an API
 * token's name). Writes the state "approved" (with approved_by,
 * approved_at, prior_state) and the audit event base.unsigned_approved
 * in one transaction. STRATA_ENOTFOUND when the base has no verdict,
 * STRATA_ECONFLICT when the verdict is about another digest or the digest
 * is verified or approved already.
 */
int strata_watchers_gate_approve(struct strata_store *st, const char *watch_key,
                                 const char *digest, const char *who,
                                 int64_t now, strata_error *err);

/* ==== end of polling scheduler ========================================== */

#endif
