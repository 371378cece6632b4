/*
 * orchestrator-int.h - what the files of the orchestrator module share:
 * the command table (one file per subcommand exports one entry, as in
 * tmux's cmd-*.c) and the CLI context handed to every command.
 */
#ifndef STRATA_ORCHESTRATOR_INT_H
#define STRATA_ORCHESTRATOR_INT_H

#include "core.h"

/* Exit codes of the command-line contract (DESIGN.md). */
enum {
    STRATA_EXIT_OK = 0,
    STRATA_EXIT_PROBLEM = 1, /* the work found a problem or failed */
    STRATA_EXIT_USAGE = 2,   /* bad usage, bad input or bad config */
};

/* What main() parsed before handing over to a command. */
typedef struct strata_cli {
    const char *config_path; /* -c FILE; "strata.yaml" by default */
    int config_explicit;     /* -c was given */
    int log_explicit;        /* --log-level or --log-format was given */
    const char *argv0;
} strata_cli;

typedef struct strata_cmd_entry {
    const char *name;    /* "config check": the words that select it */
    const char *usage;   /* "[--once]": arguments after the name */
    const char *summary; /* one line for `strata --help` */
    const char *help;    /* the rest of `strata CMD --help`, or NULL */
    /* argv[0] is the command name; returns an exit code. */
    int (*exec)(strata_cli *cli, int argc, char **argv);
} strata_cmd_entry;

/* The table, NULL-terminated, in cmd.c. */
extern const strata_cmd_entry *const strata_cmd_table[];

/* Prints "usage: strata NAME USAGE" and the help text to f. */
void strata_cmd_usage(const strata_cmd_entry *cmd, FILE *f);

/*
 * Maps an error code to an exit code: bad input and usage give 2,
 * everything else 1.
 */
int strata_cmd_exit_code(int code);

/* Prints "strata: <msg>" to stderr and returns strata_cmd_exit_code(). */
int strata_cmd_fail(const strata_error *err);

/* Command entries, one per cmd-*.c file. */
extern const strata_cmd_entry strata_cmd_version;
extern const strata_cmd_entry strata_cmd_run;
extern const strata_cmd_entry strata_cmd_plan;
extern const strata_cmd_entry strata_cmd_jobs;
extern const strata_cmd_entry strata_cmd_events;
extern const strata_cmd_entry strata_cmd_approve;
extern const strata_cmd_entry strata_cmd_ref;
extern const strata_cmd_entry strata_cmd_digest;
extern const strata_cmd_entry strata_cmd_config_check;
extern const strata_cmd_entry strata_cmd_dockerfile_refs;
extern const strata_cmd_entry strata_cmd_notify_test;
extern const strata_cmd_entry strata_cmd_notify_outbox;
extern const strata_cmd_entry strata_cmd_watch;
extern const strata_cmd_entry strata_cmd_report_stale;
extern const strata_cmd_entry strata_cmd_catalog_list;
extern const strata_cmd_entry strata_cmd_catalog_status;
extern const strata_cmd_entry strata_cmd_catalog_check;
extern const strata_cmd_entry strata_cmd_graph_scan;
extern const strata_cmd_entry strata_cmd_graph_show;
extern const strata_cmd_entry strata_cmd_graph_impacted;
extern const strata_cmd_entry strata_cmd_rebase;
extern const strata_cmd_entry strata_cmd_pin;
extern const strata_cmd_entry strata_cmd_scan_report;
extern const strata_cmd_entry strata_cmd_scan_diff;

/* ---- HTTP API server ---- */
/*
 * The daemon's HTTP API (api-*.c) and the Prometheus metrics registry it
 * serves (metrics.c). The server does the HTTP; the daemon supplies the
 * data through a route table and a few callbacks.
 */
#include <jansson.h>
#include <uv.h>

/* ---- metrics (metrics.c) ---- */

typedef struct strata_metrics strata_metrics;

typedef enum strata_metric_kind {
    STRATA_METRIC_COUNTER = 0,
    STRATA_METRIC_GAUGE,
    STRATA_METRIC_HISTOGRAM,
} strata_metric_kind;

/* A registry of metric families. Free with strata_metrics_free(). */
strata_metrics *strata_metrics_new(void);
void strata_metrics_free(strata_metrics *m);

/*
 * Declares a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]* and be new;
 * help is one line. Histograms take strictly increasing upper bounds
 * (buckets, nbuckets; NULL for the default latency buckets in seconds);
 * other kinds ignore them. Returns STRATA_EINVAL or STRATA_EEXISTS.
 */
int strata_metrics_define(strata_metrics *m, strata_metric_kind kind,
                          const char *name, const char *help,
                          const double *buckets, size_t nbuckets,
                          strata_error *err);

/*
 * Updates one series of a declared family (an undeclared name or a wrong
 * kind is a programming error and asserts). labels is NULL or a
 * NULL-terminated list of name, value pairs: {"code", "200", NULL}; values
 * are escaped on output. add: counters (v >= 0) and gauges; set: gauges;
 * observe: histograms.
 */
void strata_metrics_add(strata_metrics *m, const char *name,
                        const char *const *labels, double v);
void strata_metrics_set(strata_metrics *m, const char *name,
                        const char *const *labels, double v);
void strata_metrics_observe(strata_metrics *m, const char *name,
                            const char *const *labels, double v);

/* Appends every family in the Prometheus text format 0.0.4 to out. */
void strata_metrics_render(const strata_metrics *m, strata_buf *out);

/* ---- server (api-server.c, api-request.c, api-routes.c) ---- */

typedef struct strata_api strata_api;
typedef struct strata_api_req strata_api_req;

/* Methods a route accepts, as a bit set. HEAD is served by GET routes. */
enum {
    STRATA_API_GET = 1 << 0,
    STRATA_API_POST = 1 << 1,
    STRATA_API_PUT = 1 << 2,
    STRATA_API_DELETE = 1 << 3,
    STRATA_API_PATCH = 1 << 4,
};

/*
 * Handles one request. It must either answer before returning (one of
 * the strata_api_respond* calls) or call strata_api_req_defer() and answer
 * later from the loop; a handler that does neither gets a 500.
 */
typedef void (*strata_api_handler_cb)(strata_api_req *req, void *arg);

typedef struct strata_api_route {
    unsigned methods; /* STRATA_API_GET | ... */
    const char *path; /* "/api/v1/jobs"; with prefix, "/api/v1/jobs/" */
    int prefix;       /* match every path that starts with path */
    strata_api_handler_cb handler; /* NULL ends the table */
    void *arg;
} strata_api_route;

/* Non-zero when the daemon is ready to serve (GET /readyz). */
typedef int (*strata_api_ready_cb)(void *arg);
/* Appends Prometheus text to out (GET /metrics). */
typedef void (*strata_api_metrics_cb)(strata_buf *out, void *arg);
/* Runs once the server's handles are closed and its memory is freed. */
typedef void (*strata_api_close_cb)(void *arg);

typedef struct strata_api_options {
    /*
     * "HOST:PORT": "127.0.0.1:8080", "[::1]:0", "0.0.0.0:8080"; port 0
     * picks a free port (see strata_api_port()). NULL = "127.0.0.1:8080".
     * A host that is not a loopback address needs a token.
     */
    const char *listen;
    /* Bearer token every request but GET /healthz must carry, or NULL. */
    const char *token;
    /*
     * The daemon's routes, ended by an entry whose handler is NULL. Exact
     * paths win over prefixes, longer prefixes over shorter. Borrowed:
     * must outlive the server.
     */
    const strata_api_route *routes;
    size_t max_body; /* request bodies above are refused (413); 0 = 1 MiB */
    strata_api_ready_cb ready; /* NULL: always ready */
    void *ready_arg;
    strata_api_metrics_cb metrics; /* text for /metrics, or NULL */
    void *metrics_arg;
    /*
     * Optional registry (borrowed, must outlive the server): the server
     * counts requests there (strata_http_requests_total{code},
     * strata_http_request_duration_seconds) and /metrics renders it
     * before the metrics callback's text.
     */
    strata_metrics *registry;
} strata_api_options;

/*
 * Binds and listens on loop. Returns STRATA_EINVAL for a bad address or a
 * non-loopback address without a token, STRATA_ENET when the bind fails.
 * opts and the strings it points to are copied, except routes and
 * registry.
 */
int strata_api_new(strata_api **out, uv_loop_t *loop,
                   const strata_api_options *opts, strata_error *err);

/* The bound port (useful with port 0). */
int strata_api_port(const strata_api *api);

/*
 * Stops listening, answers deferred requests with 503, closes every
 * connection (in-flight responses are finished first), and frees the
 * server in a later loop turn; cb (may be NULL) runs then. api may be NULL.
 */
void strata_api_close(strata_api *api, strata_api_close_cb cb, void *arg);

/* ---- requests (api-request.c) ---- */

/* The request method: "GET", "POST", ... Borrowed. */
const char *strata_api_req_method(const strata_api_req *req);
/* The normalised path, without the query string. Borrowed. */
const char *strata_api_req_path(const strata_api_req *req);
/* For a prefix route, the part of the path after the prefix. Borrowed. */
const char *strata_api_req_path_rest(const strata_api_req *req);
/*
 * The request body (not NUL-terminated) and its length. Borrowed, valid
 * until the handler returns: a deferring handler copies what it needs.
 */
const void *strata_api_req_body(const strata_api_req *req, size_t *len);
/* A request header's first value, or NULL. New string. */
char *strata_api_req_header(const strata_api_req *req, const char *name);
/* The raw query string after '?', or NULL. Borrowed. */
const char *strata_api_req_query_string(const strata_api_req *req);

/*
 * A query parameter, percent-decoded (also '+' as space): 0 and a new
 * string in *out (NULL when absent); STRATA_EINVAL for a malformed query
 * string.
 */
int strata_api_req_query(char **out, const strata_api_req *req, const char *key,
                         strata_error *err);

/* Pagination parameters: ?limit=N&after=CURSOR. */
typedef struct strata_api_page {
    long limit;  /* 1..max_limit; def_limit when absent */
    char *after; /* the cursor (new string) or NULL when absent */
} strata_api_page;

/*
 * Parses ?limit= and ?after= into out. STRATA_EINVAL ("bad 'limit' ...")
 * when limit is not an integer in 1..max_limit or after is empty, too long
 * (over 256 bytes) or has control characters; answer that with 400. Free
 * out->after.
 */
int strata_api_req_page(strata_api_page *out, const strata_api_req *req,
                        long def_limit, long max_limit, strata_error *err);

/* Marks req as answered later; see strata_api_handler_cb. */
void strata_api_req_defer(strata_api_req *req);

/* Adds a response header; call before responding. Values are copied. */
void strata_api_req_add_header(strata_api_req *req, const char *name,
                               const char *value);

/*
 * Answers req (exactly once). For a deferred request this also releases
 * req, which must not be used after; if the client has gone or the server
 * has closed meanwhile, nothing is sent but req is still released.
 */
void strata_api_respond(strata_api_req *req, int status,
                        const char *content_type, const void *body, size_t len);
/* Answers with body serialised as JSON (body is borrowed). */
void strata_api_respond_json(strata_api_req *req, int status,
                             const json_t *body);
/* Answers {"error": "<message>"} with status. */
void strata_api_respond_error(strata_api_req *req, int status, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

/* Shared by the api-*.c files only. */
struct st_h2o_req_t;
const strata_api_options *strata_api__opts(const strata_api *api);
strata_api_req **strata_api__pending(strata_api *api);
void strata_api__finished(strata_api *api, const char *method, const char *path,
                          int status, double seconds);
strata_api_req *strata_api__req_new(strata_api *api, struct st_h2o_req_t *hreq);
void strata_api__req_set_rest(strata_api_req *req, size_t prefix_len);
void strata_api__req_done(strata_api_req *req);
void strata_api__req_cancel_all(strata_api *api);
void strata_api__route(strata_api *api, strata_api_req *req);

/* ---- end of HTTP API server ---- */

/* ---- the daemon's work: planning, jobs, actions ---- */
#include "config.h"
#include "graph.h"
#include "oci.h"
#include "store.h"

/* Loads the configuration (-c, else the defaults) and opens its store. */
int strata_cmd_open_store(strata_store **st, strata_config **config,
                          strata_cli *cli, strata_error *err);

/*
 * plan.c: for every watched base whose current digest moved past the one
 * last planned (and has soaked), enqueues the impacted images' actions.
 * dry_run changes nothing. *out (new reference) lists each update:
 * [{"base", "old", "new", "first_seen", "state": "first-seen" | "produced"
 * | "building" | "soaking" | "awaiting-approval" | "planned", "waves":
 * [[{"image", "action", "wave", "repo", "path", "line", "job",
 * "created"}]]}]. "building": a rebuild or rebase of that image is queued
 * or running, so the new digest is probably strata's own.
 */
int strata_plan_updates(json_t **out, strata_store *st, const strata_graph *g,
                        const strata_config_data *cfg, int dry_run, int64_t now,
                        strata_error *err);
/* The configured repository (and image, if named) of a graph node. */
void strata_plan__target(const strata_config_repo **out_repo,
                         const strata_config_image **out_image,
                         const strata_config_data *cfg, const char *node);
/* Records that strata itself produced image@digest (a rebuild). */
int strata_plan__mark_produced(strata_store *st, const char *image,
                               const char *digest, strata_error *err);

/* What every job can reach. All borrowed from the daemon. */
typedef struct strata_runner_env {
    uv_loop_t *loop;
    const strata_config *config;
    const strata_config_data *cfg;
    strata_store *store;
    const strata_graph *graph;
    strata_registry *registry;    /* may be NULL */
    const char *cache_dir;        /* git mirrors */
    struct strata_notify *notify; /* may be NULL: events not notified */
} strata_runner_env;

typedef enum strata_runner_job_state {
    STRATA_JOB_CLAIMED = 0,
    STRATA_JOB_RUNNING,
    STRATA_JOB_SUCCEEDED,
    STRATA_JOB_RETRYING,
    STRATA_JOB_FAILED,
} strata_runner_job_state;

typedef struct strata_runner strata_runner;

/* A claimed job while it runs. Owned by the runner. */
typedef struct strata_runner_job {
    strata_runner *runner;
    const strata_runner_env *env;
    strata_store_job *job;
    strata_runner_job_state state;
    json_t *result; /* owned */
    char *error;
    int permanent; /* no retry */
} strata_runner_job;

/*
 * An action backend (OpenSMTPD style): start() begins the work and, if it
 * returns 0, calls strata_runner_job_done() exactly once, later or now;
 * if it returns an error, it never calls it.
 */
typedef struct strata_action {
    const char *name;
    int (*start)(strata_runner_job *job, strata_error *err);
} strata_action;

extern const strata_action strata_action_rebuild;
extern const strata_action strata_action_exec;
extern const strata_action strata_action_pr;
extern const strata_action strata_action_rebase;
extern const strata_action strata_action_notify;
extern const strata_action strata_action_rescan;
const strata_action *strata_action_lookup(const char *name);

/* Ends the running job: code 0 succeeded; result is stolen (may be NULL). */
void strata_runner_job_done(strata_runner_job *job, int code, const char *error,
                            json_t *result);

typedef void (*strata_runner_done_cb)(strata_runner *r, void *arg);

int strata_runner_new(strata_runner **out, uv_loop_t *loop,
                      const strata_runner_env *env, int max_running,
                      strata_error *err);
/* Runs jobs until none is runnable and none runs; then cb, once. */
void strata_runner_drain(strata_runner *r, strata_runner_done_cb cb, void *arg);
/* For the daemon: looks for runnable jobs every poll_ms. */
void strata_runner_start(strata_runner *r, uint64_t poll_ms);
void strata_runner_kick(strata_runner *r);
int strata_runner_running(const strata_runner *r);
void strata_runner_stats(const strata_runner *r, int *succeeded, int *failed,
                         int *retrying);
/* Stops and frees after the loop runs; jobs must have finished. */
void strata_runner_close(strata_runner *r);
/* Claims no new job until strata_runner_start or _drain. */
void strata_runner_pause(strata_runner *r);
/* Replaces the environment (a reload); jobs under way see it too. */
void strata_runner_set_env(strata_runner *r, const strata_runner_env *env);

/* Expands {var} templates with shell-quoted values (action-exec.c). */
int strata_exec__expand(char **out, const char *tmpl, const char *const *vars,
                        strata_error *err);

/*
 * Records an event (payload stolen: a flat object) in the store, logs it,
 * and hands it to the notifier when its type is one notify knows
 * (docs/events.md); failures are logged, never fatal (event.c).
 */
void strata_orch__event(const strata_runner_env *env, const char *type,
                        const char *subject, json_t *payload);

/* ---- the pr action (action-pr.c, action-pr-change.c, action-pr-forge.c) */
#include "builders.h"
#include "vcs.h"

/* One run of the pr action: made by its start(), freed by strata_pr__free. */
typedef struct strata_pr__ctx {
    strata_runner_job *job;
    const strata_config_repo *repo;
    strata_strmap *pins;   /* canonical ref -> digest (owned strings) */
    strata_strmap *origin; /* canonical ref -> the base it is pinned for */
    /* [{"ref", "digest", "old", "first_seen", "live"}], by ref; "live" (set
     * by the worker) when the change pins the base or an image from it. */
    json_t *bases;
    json_t *affected; /* [{"image", "rescan"}]: this repository's images */
    char *branch;
    char *title;
    char *body;
    uv_work_t work;
    /* Filled by the workers. */
    int rc;
    strata_error err;
    strata_vcs_commit_result commit;
    json_t *changes; /* [{"path", "line", "ref", "from", "to"}] */
    json_t *problems;
    int deleted; /* the strata/ branch existed and was deleted */
    /* Closing on the loop. */
    strata_forge *forge;
    strata_forge_pr *closed; /* the request closed, or NULL */
} strata_pr__ctx;

/* action-pr.c: frees c and all it holds. */
void strata_pr__free(strata_pr__ctx *c);
/* The string member key of obj (borrowed), or NULL. */
const char *strata_pr__field(const json_t *obj, const char *key);
/* action-pr-change.c: the uv_queue_work workers (req->data is the ctx). */
void strata_pr__work(uv_work_t *req);
void strata_pr__delete_work(uv_work_t *req);
/* The comment a request gets when it is closed. Caller frees. */
char *strata_pr__close_comment(const strata_pr__ctx *c);
/* action-pr-forge.c: back on the loop after strata_pr__work. */
void strata_pr__done(uv_work_t *req, int status);

/* ---- the daemon (daemon.c, daemon-api.c) ---- */
#include <signal.h>

typedef enum strata_daemon_phase {
    STRATA_PHASE_START = 0,
    STRATA_PHASE_SCAN,
    STRATA_PHASE_WATCH,
    STRATA_PHASE_PLAN,
    STRATA_PHASE_ACT,
    STRATA_PHASE_SERVE,
    STRATA_PHASE_STOPPING,
    STRATA_PHASE_DONE,
} strata_daemon_phase;

typedef struct strata_daemon_opts {
    const char *config_path;
    int config_explicit;
    int once;              /* one cycle, then exit */
    const char *listen;    /* overrides api.listen, or NULL */
    const char *cache_dir; /* overrides the git mirror cache, or NULL */
    int log_explicit;      /* keep the command line's logging settings */
} strata_daemon_opts;

struct strata_watcher;

/* main()'s one object: everything the daemon owns. */
typedef struct strata_daemon {
    uv_loop_t loop;
    strata_daemon_opts opts;
    strata_config *config;
    /* Replaced by SIGHUP; freed once nothing can hold them (no job
     * running, no scan, no old notifier left): retired_sweep(). */
    strata_config **retired;
    size_t nretired;
    const strata_config_data *cfg;
    strata_store *store;
    strata_registry *registry;
    struct strata_watcher *watcher;
    struct strata_notify *notify;
    /* A SIGHUP's new notifier waits for the old ones to stop. */
    struct strata_notify *notify_unstarted;
    int notify_closing;
    strata_graph *graph;
    int64_t graph_generation; /* the store's, when graph was loaded */
    strata_runner *runner;
    strata_runner_env env;
    strata_api *api;
    strata_api_route routes[16];
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t plan_timer, scan_timer, stop_timer;
    uv_work_t scan_work;
    int scanning;
    int rescan_wanted;                  /* a reload came while scanning */
    const strata_config_data *scan_cfg; /* what the scan under way reads */
    int scan_rc;
    strata_vcs_cancel *scan_cancel; /* set on stop: ends a running fetch */
    json_t *scan_summary;
    strata_error scan_err;
    char *cache_dir;
    strata_daemon_phase phase;
    int ready;
    int stopping;
    int64_t stop_started;
    int exit_code;
    size_t watch_errors;
    strata_buf report_gauges; /* /metrics: the stale report's gauges */
    int64_t report_gauges_at; /* when they were computed; 0: never */
    int waiting_notify;       /* --once: the cycle waits for the outbox */
    int notify_idle;
    json_t *once_report; /* --once: what the cycle saw and did */
} strata_daemon;

/*
 * Loads the configuration, opens the store (re-queuing jobs a crash left
 * running) and sets up watcher, runner, signals and (unless once) the
 * HTTP API. Problems with the configuration are printed to stderr.
 */
int strata_daemon_new(strata_daemon **out, const strata_daemon_opts *opts,
                      strata_error *err);
/* Runs the loop until the cycle ends (once) or a signal stops it. */
int strata_daemon_run(strata_daemon *d);
/* --once: {"scan", "changes", "plan", "errors", "jobs"}. Borrowed. */
const json_t *strata_daemon_report(const strata_daemon *d);
void strata_daemon_free(strata_daemon *d);

/* Plans pending updates now and wakes the runner. */
void strata_daemon__plan(strata_daemon *d);
int strata_daemon__api_start(strata_daemon *d, strata_error *err);
/* daemon-hooks.c: POST /hooks/registry/NAME and /hooks/git/NAME. */
void strata_daemon__registry_hook(strata_api_req *req, void *arg);
void strata_daemon__git_hook(strata_api_req *req, void *arg);
/* daemon.c: decides what comes next in the cycle. */
void strata_daemon__cycle_step(strata_daemon *d);
/* daemon.c: (re)starts the scheduled rescans at the configured interval. */
void strata_daemon__arm_scan_timer(strata_daemon *d);
/* daemon-scan.c: rescans the repositories now, or after the scan under
 * way; watches every base the graph names. */
void strata_daemon__rescan(strata_daemon *d);
void strata_daemon__watch_graph_bases(strata_daemon *d);
/* daemon-reload.c: SIGHUP; frees replaced configurations when idle. */
void strata_daemon__reload(strata_daemon *d);
void strata_daemon__retired_sweep(strata_daemon *d);

#endif
