/*
 * config.h - strata's configuration: YAML loaded into a validated,
 * immutable tree. Loading reports every problem at once, each with the
 * file, line and column it comes from; secrets (from ${VAR} or *_file
 * keys) are held in a dedicated type and never appear in any message.
 *
 * The tree is made of plain const structs owned by the strata_config: they
 * live until strata_config_free() and must not be modified. Durations are
 * milliseconds; paths are absolute (relative ones are resolved against the
 * directory of the configuration file).
 */
#ifndef STRATA_CONFIG_H
#define STRATA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* ---- problems --------------------------------------------------------- */

/*
 * Everything wrong with a configuration, in file order. Filled by the
 * loaders below; the caller owns it (strata_config_problems_new/_free).
 */
typedef struct strata_config_problems strata_config_problems;

typedef struct strata_config_problem {
    const char *file;    /* as given to the loader */
    int line;            /* 1-based; 0 when the problem has no place */
    int col;             /* 1-based */
    const char *message; /* "unknown key 'regsitries'; did you mean ..." */
    const char *text;    /* "FILE:LINE:COL: message" */
} strata_config_problem;

strata_config_problems *strata_config_problems_new(void);
void strata_config_problems_free(strata_config_problems *problems);
size_t strata_config_problems_count(const strata_config_problems *problems);
/* The i-th problem (i < count). Borrowed from the list. */
const strata_config_problem *
strata_config_problems_get(const strata_config_problems *problems, size_t i);

/* ---- secrets ---------------------------------------------------------- */

/*
 * A credential: a password, token or webhook URL. Opaque so that printing
 * one takes a deliberate strata_secret_reveal(); its memory is wiped when
 * the configuration is freed.
 */
typedef struct strata_secret strata_secret;

/*
 * A secret made at run time (a GitHub App's installation token), for a
 * repository record discovery builds: new; strata_secret_free() wipes and
 * frees it (NULL is fine). source says where it came from.
 */
strata_secret *strata_secret_new(const char *value, const char *source);
void strata_secret_free(strata_secret *s);

/* The secret value, for the one place that sends it. Borrowed. */
const char *strata_secret_reveal(const strata_secret *secret);
/*
 * Where it came from, safe to print: "env GITHUB_TOKEN",
 * "file /run/secrets/token" or "inline". Borrowed.
 */
const char *strata_secret_source(const strata_secret *secret);

/* ---- the tree --------------------------------------------------------- */

/* Where an entry stands in the file, for messages of later stages. */
typedef struct strata_config_pos {
    int line; /* 1-based; 0 for built-in defaults */
    int col;
} strata_config_pos;

/* A list of strings. */
typedef struct strata_config_strings {
    const char *const *items;
    size_t count;
} strata_config_strings;

typedef struct strata_config_kv {
    const char *key;
    const char *value;
} strata_config_kv;

typedef struct strata_config_log {
    int level;  /* a strata_log_level */
    int format; /* a strata_log_format */
} strata_config_log;

typedef struct strata_config_registry {
    strata_config_pos pos;
    const char *host;     /* lowercase; "docker.io" for Docker Hub's aliases */
    const char *username; /* or NULL */
    const strata_secret *password; /* or NULL */
    const strata_secret *token;    /* or NULL */
    int insecure;                  /* plain HTTP / no TLS verification */
    const char *ca_file;           /* absolute path, or NULL */
    int max_concurrency;           /* 1..256, default 8 */
    /* Other names of this registry's content: "mirror.gcr.io",
       "harbor.example.com/dockerhub" (HOST[/PATH]). */
    strata_config_strings aliases;
    const char *mirror_of; /* this host mirrors HOST[/PATH], or NULL */
} strata_config_registry;

/* One name prefix that means another (registries[].aliases, mirror_of). */
typedef struct strata_config_alias {
    const char *from; /* "mirror.gcr.io", "harbor.example.com/dockerhub" */
    const char *to;   /* "docker.io" */
} strata_config_alias;

typedef struct strata_config_policy {
    const char *semver; /* a range such as ">=3.11 <3.13", or NULL */
    const char *suffix; /* a tag suffix such as "-slim", or NULL */
    const char *regex;  /* a POSIX extended regex for tags, or NULL */
} strata_config_policy;

/*
 * What a base's new digests must carry before anything is planned: the
 * `verify` block of a watched base, of `watch` (the default of every base
 * without its own) and of a catalog entry. Paths are absolute; every key
 * file and trusted root was checked loadable by config check.
 */
typedef enum strata_config_verify_mode {
    STRATA_CONFIG_VERIFY_ENFORCE = 0, /* unverified digests are held */
    STRATA_CONFIG_VERIFY_WARN,        /* recorded and notified, not held */
    STRATA_CONFIG_VERIFY_OFF,         /* no verification for this base */
} strata_config_verify_mode;

typedef struct strata_config_identity {
    strata_config_pos pos;
    const char *issuer;         /* the OIDC issuer, exactly */
    const char *subject;        /* the certificate's SAN, exactly; or NULL */
    const char *subject_regexp; /* or a POSIX ERE over the whole SAN */
} strata_config_identity;

typedef struct strata_config_verify {
    strata_config_pos pos;
    int set;                    /* the block was written (or inherited) */
    strata_config_strings keys; /* PEM public keys (absolute paths) */
    const char *trusted_root;   /* keyless.trusted_root, or NULL */
    const strata_config_identity *identities; /* keyless.identities */
    size_t n_identities;
    int threshold;                      /* distinct verifiers; default 1 */
    strata_config_strings attestations; /* in-toto predicate types */
    int mode;                           /* a strata_config_verify_mode */
    uint64_t wait_ms; /* how long a signature may take; default 10m */
    strata_config_strings mirrors; /* other repositories a docker-reference
                                      may name */
    int tlog; /* key signatures need a log entry (trusted_root); false */
} strata_config_verify;

/*
 * When a repository's jobs may run (`schedule` of a repository, of a
 * watched base and at the top level): windows and blackout dates as
 * strata_schedule_new reads them, each checked by config check.
 */
typedef struct strata_config_schedule {
    strata_config_pos pos;
    int set;                        /* the block was written */
    strata_config_strings windows;  /* "Mon-Fri 09:00-17:00 Europe/Berlin" */
    strata_config_strings blackout; /* "2026-12-24", "A..B" */
    /*
     * The windows and dates read once, with their zones, when the file was
     * loaded (owned by the configuration); NULL when not set.
     */
    const strata_schedule *compiled;
} strata_config_schedule;

/*
 * A progressive rollout (`rollout:` at the top level or in a
 * watch.bases[] entry; jobs/rollout.c): the stages a base update goes
 * through, each chosen by image globs, catalog teams or a stable
 * percentage of the impacted images; the rest is the last stage.
 */
typedef struct strata_config_rollout_stage {
    strata_config_pos pos;
    strata_config_strings images; /* fnmatch globs of image names */
    strata_config_strings teams;  /* catalog team names */
    int percent;                  /* 0: none; 1..100 of the impacted */
} strata_config_rollout_stage;

typedef struct strata_config_rollout {
    strata_config_pos pos;
    int set; /* the block was written */
    const strata_config_rollout_stage *stages;
    size_t n_stages;  /* the listed ones; the rest is one more */
    uint64_t bake_ms; /* after each stage succeeds */
    /* failure_budget: halts when more than images, or more than percent
     * of a stage, failed; the defaults (1000000, 100) never halt. */
    int budget_images;
    int budget_percent;
} strata_config_rollout;

typedef struct strata_config_base {
    strata_config_pos pos;
    const char *ref;      /* canonical ("docker.io/library/debian:12-slim") */
    const char *name;     /* domain/path without tag or digest */
    uint64_t interval_ms; /* the watch default when not set here */
    uint64_t soak_ms;     /* the watch default when not set here */
    int approval;         /* updates wait for `strata approve` */
    strata_config_strings platforms; /* "linux/amd64", ...; may be empty */
    strata_config_policy policy;
    int has_policy; /* any of the policy fields is set */
    /* Its own verify block, else watch.verify (verify.set 0: none). */
    strata_config_verify verify;
    int verify_own; /* verify is the base's own block, not watch.verify */
    strata_config_schedule schedule; /* its own; set 0: none */
    strata_config_rollout rollout;   /* its own; set 0: none */
} strata_config_base;

typedef struct strata_config_watch {
    uint64_t interval_ms; /* default 15m */
    /* Jitter is either a share of the interval or a fixed duration. */
    int jitter_percent; /* 0..100, default 10; -1 when jitter_ms is used */
    uint64_t jitter_ms; /* when jitter_percent is -1 */
    uint64_t soak_ms;   /* default 0 */
    uint64_t settle_ms; /* default 0 */
    int approval;       /* default false: updates need no approval */
    strata_config_verify verify; /* the default of every base */
    const strata_config_base *bases;
    size_t n_bases;
} strata_config_watch;

typedef enum strata_config_forge_type {
    STRATA_FORGE_NONE = 0,
    STRATA_FORGE_GITHUB,
    STRATA_FORGE_GITLAB,
    STRATA_FORGE_GITEA,
} strata_config_forge_type;

/* What to do when a base of a repository's image changes (a bit set). */
enum {
    STRATA_ACTION_PR = 1 << 0,
    STRATA_ACTION_REBUILD = 1 << 1,
    STRATA_ACTION_REBASE = 1 << 2,
    STRATA_ACTION_RESCAN = 1 << 3,
    STRATA_ACTION_NOTIFY = 1 << 4,
    STRATA_ACTION_EXEC = 1 << 5,
};

/* What holds a base update for approval (pull_requests.evidence.hold_on). */
enum {
    STRATA_HOLD_RELEASE = 1 << 0,   /* distribution_release */
    STRATA_HOLD_MAJOR = 1 << 1,     /* major: a core package, or the release */
    STRATA_HOLD_DOWNGRADE = 1 << 2, /* downgrade: any package */
    STRATA_HOLD_REMOVAL = 1 << 3,   /* removal: any package */
};

typedef struct strata_config_image {
    strata_config_pos pos;
    const char *name;       /* canonical image reference */
    const char *dockerfile; /* relative to the repository; "Dockerfile" */
    const char *context;    /* relative to the repository; "." */
    const char *target;     /* a build stage, or NULL */
    const strata_config_kv *build_args;
    size_t n_build_args;
    strata_config_strings platforms;
} strata_config_image;

/*
 * How the `pr` action writes its change: the top-level `pull_requests`
 * section, and each repository's `pr` (a key it does not set takes the
 * top-level value).
 */
typedef struct strata_config_pr {
    const char *author_name;         /* commit author; default "strata" */
    const char *author_email;        /* default "strata@localhost" */
    int signoff;                     /* append Signed-off-by; default false */
    strata_config_strings labels;    /* added to the request */
    strata_config_strings reviewers; /* GitHub/Gitea logins, GitLab ids */
    int draft;                       /* open as a draft; default false */
    int group;             /* one request per repository (strata/pin-all) */
    const char *title;     /* template ({base} {digest} {short} {repo} {count})
                              or NULL: the built-in title */
    int evidence_packages; /* the base's package delta in the body;
                              default true */
    unsigned evidence_hold_on; /* STRATA_HOLD_* bits: a base update whose
                                  package delta shows one is held for
                                  approval; the top-level section's only
                                  (repos[].pr refuses it); default 0 */
    int limit_per_hour;        /* limits.per_hour: requests strata opens in any
                                  60 minutes, across the fleet; the top-level
                                  section's only; 0 (default): no limit */
    /* automerge: merge the request once its checks are green (jobs/
     * action-pr-merge.c); default off */
    int automerge;
    int automerge_method;        /* strata_forge_merge_method; "merge" */
    int automerge_delete_branch; /* delete strata's branch; default true */
    int automerge_max_checks;    /* checks of a request before giving up;
                                    default 40 */
} strata_config_pr;

typedef struct strata_config_repo {
    strata_config_pos pos;
    const char *url; /* https, http, git, ssh, scp-like, file://, or an
                        absolute local path; never with credentials
                        (strata_url_strip_credentials): the name
                        stored, printed and sent in events */
    /* The URL as configured when it carries credentials
     * ("https://user:token@host/..."), to fetch and push with; else NULL.
     * See strata_config_repo_fetch_url(). */
    const strata_secret *fetch_url;
    const char *branch;             /* default "main" */
    const char *username;           /* or NULL */
    const strata_secret *token;     /* repo's own, else the forge's, or NULL */
    const char *ssh_key_file;       /* absolute path, or NULL */
    strata_config_forge_type forge; /* inferred from the URL when not set */
    const char *forge_repo;         /* "owner/name", or NULL */
    const char *forge_api_url;      /* or NULL (type none) */
    const strata_config_image *images;
    size_t n_images;
    unsigned on_base_update; /* STRATA_ACTION_* bits; default PR */
    const char *builder;     /* a key of builders, or NULL */
    const char *exec;        /* the command of the 'exec' action, or NULL */
    strata_config_pr pr;     /* resolved against pull_requests */
    strata_config_schedule schedule; /* its own; set 0: none */
} strata_config_repo;

typedef struct strata_config_forge {
    int configured;             /* the section was present */
    const strata_secret *token; /* or NULL */
    const char *api_url;        /* the public API by default */
} strata_config_forge;

typedef struct strata_config_forges {
    strata_config_forge github;
    strata_config_forge gitlab;
    strata_config_forge gitea;
} strata_config_forges;

/*
 * discover: the repositories a forge lists become repositories like those
 * of repos: (forge/discover.c). One entry names one source: a GitHub
 * organisation, user or App installation, a GitLab group or a Gitea
 * organisation, with its filters.
 */
enum {
    STRATA_VISIBILITY_PUBLIC = 1 << 0,
    STRATA_VISIBILITY_PRIVATE = 1 << 1,
    STRATA_VISIBILITY_INTERNAL = 1 << 2,
};

typedef struct strata_config_discover {
    strata_config_pos pos;
    strata_config_forge_type forge; /* github, gitlab or gitea */
    const char *org;                /* GitHub or Gitea organisation */
    const char *user;               /* GitHub user */
    const char *group;              /* GitLab group: full path or id */
    int include_subgroups;          /* GitLab; default true */
    const char *app_id;             /* GitHub App: its id (digits) */
    const char *installation;       /* and its installation id (digits) */
    const strata_secret *app_key;   /* the App's PEM private key */
    const char *api_url;            /* else forges.TYPE.api_url */
    const strata_secret *token;     /* else forges.TYPE.token, or NULL */
    strata_config_strings include;  /* globs on the full name; none: all */
    strata_config_strings exclude;  /* globs on the full name */
    strata_config_strings topics;   /* any one of them; none: any */
    unsigned visibility;            /* STRATA_VISIBILITY_* bits; 0: any */
    int archived, forks, empty;     /* taken too; default false */
    uint64_t interval_ms;           /* how often the daemon lists; 15m */
    unsigned on_base_update;        /* of the repositories; default PR */
} strata_config_discover;

typedef enum strata_config_builder_type {
    STRATA_BUILDER_EXEC = 0,
    STRATA_BUILDER_BUILDAH,
    STRATA_BUILDER_KUBERNETES,
    STRATA_BUILDER_GITHUB_ACTIONS,
    STRATA_BUILDER_GITLAB,
    STRATA_BUILDER_WEBHOOK,
} strata_config_builder_type;

typedef struct strata_config_builder {
    strata_config_pos pos;
    const char *name; /* the key under builders */
    strata_config_builder_type type;
    const char *command; /* exec, buildah: with {dockerfile} {image} ... */
    const char *url;     /* webhook */
    const strata_secret *token;  /* github-actions, gitlab, webhook */
    const strata_secret *secret; /* webhook signing secret */
    const char *api_url;         /* github-actions, gitlab */
    const char *repo;            /* github-actions: "owner/name" */
    const char *workflow;        /* github-actions */
    const char *project;         /* gitlab */
    const char *ref;             /* github-actions, gitlab: git ref to run on */
    const char *k8s_namespace;   /* kubernetes */
    const char *image;           /* kubernetes: the builder image */
    const char *kubeconfig;      /* kubernetes: absolute path, or NULL */
    uint64_t timeout_ms;         /* default 1h */
    /* kubernetes: a kubernetes.io/dockerconfigjson Secret of the Job's
     * namespace the builder pushes (and the kubelet pulls) with, or NULL */
    const char *push_secret;
    /* gitlab: reads (follows, cancels) pipelines a trigger token started */
    const strata_secret *api_token;
    /*
     * What the image a rebuild produced must carry before the job
     * succeeds (a builder that signs what it pushes); set 0: nothing.
     */
    strata_config_verify verify;
} strata_config_builder;

typedef enum strata_config_notify_type {
    STRATA_NOTIFY_WEBHOOK = 0,
    STRATA_NOTIFY_SLACK,
    STRATA_NOTIFY_TEAMS,
    STRATA_NOTIFY_DISCORD,
    STRATA_NOTIFY_EMAIL,
    STRATA_NOTIFY_EXEC,
} strata_config_notify_type;

typedef struct strata_config_notify {
    strata_config_pos pos;
    const char *name; /* default "TYPE-N" (N = position, from 1) */
    strata_config_notify_type type;
    /* Webhook URLs carry credentials (Slack, Teams, Discord), so the URL
     * is a secret; for email it is the smtp:// or smtps:// server. */
    const strata_secret *url;
    strata_config_strings events; /* "*" when not set */
    const strata_secret *secret;  /* webhook signing secret, or NULL */
    const char *from;             /* email */
    strata_config_strings to;     /* email */
    const char *command;          /* exec */
    /* Added for notify/ (docs/configuration.md, "notify"). */
    const strata_config_kv *headers; /* webhook: extra request headers */
    size_t n_headers;
    uint64_t batch_ms;    /* one digest per window; 0: each event at once */
    int rate_messages;    /* rate_limit.messages; 0: no limit */
    uint64_t rate_per_ms; /* rate_limit.per; default 1m */
    int max_attempts;     /* before dead-lettering; default 8 */
    const char *title;    /* template of the title, or NULL (built-in) */
    const char *text;     /* template of the text, or NULL (built-in) */
    strata_config_strings filter_bases;  /* globs; empty: any base */
    strata_config_strings filter_images; /* globs; empty: any image */
    strata_config_strings filter_teams;  /* exact; empty: any team */
    int filter_severity; /* minimum: 0 info, 1 warning, 2 critical */
} strata_config_notify;

/* What sends registry push webhooks to POST /hooks/registry/NAME. */
typedef enum strata_config_webhook_kind {
    STRATA_WEBHOOK_DISTRIBUTION = 0, /* CNCF distribution notifications */
    STRATA_WEBHOOK_DOCKERHUB,
    STRATA_WEBHOOK_HARBOR,
    STRATA_WEBHOOK_GENERIC,     /* X-Strata-Signature: sha256=HMAC */
    STRATA_WEBHOOK_CLOUDEVENTS, /* CloudEvents 1.0 (Harbor 2.8+) */
    STRATA_WEBHOOK_QUAY,
    STRATA_WEBHOOK_GHCR, /* GitHub registry_package / package events */
    STRATA_WEBHOOK_ECR,  /* EventBridge API destination */
    STRATA_WEBHOOK_ACR,
    STRATA_WEBHOOK_ARTIFACT_REGISTRY, /* Pub/Sub push */
    /* Git push webhooks (POST /hooks/git/NAME): a rescan of the
     * repositories pushed to. */
    STRATA_WEBHOOK_GITHUB, /* X-Hub-Signature-256 */
    STRATA_WEBHOOK_GITLAB, /* X-Gitlab-Token */
    STRATA_WEBHOOK_GITEA,  /* X-Gitea-Signature */
} strata_config_webhook_kind;

/* 1 for the git push kinds, 0 for the registry ones. */
#define STRATA_WEBHOOK_IS_GIT(k) ((k) >= STRATA_WEBHOOK_GITHUB)

typedef struct strata_config_webhook {
    strata_config_pos pos;
    const char *name;            /* the last path segment of the endpoint */
    int kind;                    /* a strata_config_webhook_kind */
    const strata_secret *secret; /* token, auth header value or HMAC key */
    const char *registry;        /* host for every push, or NULL */
    const char *header;          /* the header carrying the secret, or NULL */
    const char *username; /* basic auth user (secret: password), or NULL */
    const char *keys;     /* artifact-registry: JWKS / PEM file, or NULL */
    const char *audience; /* artifact-registry: the token's aud */
    const char *service_account; /* artifact-registry: its email, or NULL */
} strata_config_webhook;

typedef struct strata_config_api {
    const char *listen;         /* "127.0.0.1:8780" by default */
    const strata_secret *token; /* required unless listen is loopback */
    /* POST /hooks/registry/NAME, or /hooks/git/NAME for the git kinds */
    const strata_config_webhook *webhooks;
    size_t n_webhooks;
} strata_config_api;

/* ---- rescans: scanners ---- */
/* What new findings of a severity do to a rescan job. */
typedef enum strata_config_gate {
    STRATA_GATE_IGNORE = 0,
    STRATA_GATE_WARN,
    STRATA_GATE_FAIL,
} strata_config_gate;

typedef enum strata_config_scanner_type {
    STRATA_SCANNER_TRIVY = 0, /* Trivy JSON */
    STRATA_SCANNER_GRYPE,     /* Grype JSON */
    STRATA_SCANNER_SARIF,     /* SARIF 2.1.0 */
} strata_config_scanner_type;

typedef struct strata_config_scanner {
    strata_config_pos pos;
    const char *name;    /* the key under scanners */
    int type;            /* a strata_config_scanner_type */
    const char *command; /* template: {image} {digest} {ref} {name} */
    uint64_t timeout_ms; /* default 30m */
    /* strata_config_gate for new findings; fail, warn, ignore, ignore */
    int gate_new_critical;
    int gate_new_high;
    int gate_new_medium;
    int gate_new_low;
} strata_config_scanner;
/* ---- end of rescans ---- */

/* The repositories' rescans by the daemon. */
typedef struct strata_config_scan {
    uint64_t interval_ms; /* how often; a git push webhook rescans at once */
    /* Deadlines of one git network operation (a fetch, a push). */
    uint64_t fetch_timeout_ms; /* the whole operation; default 2m */
    uint64_t stall_timeout_ms; /* no byte in or out; default 30s */
    int concurrency;           /* mirrors synced at once; 1..32, default 4 */
} strata_config_scan;

/* What strata signs its own outputs with (rebases). */
typedef struct strata_config_signing {
    strata_config_pos pos;
    /* Absolute path of an unencrypted PEM private key (ECDSA P-256/P-384,
     * RSA 2048+, Ed25519), or NULL: outputs are unsigned. A secret: read
     * when a job signs, never logged. */
    const char *key;
} strata_config_signing;

/*
 * references.matchers[]: where else a base image is named (Terraform,
 * Makefiles, scripts), as Renovate's regex managers: the files (globs of
 * repository paths) and a PCRE2 expression with the named groups name,
 * and optionally tag and digest.
 */
typedef struct strata_config_matcher {
    strata_config_pos pos;
    strata_config_strings files;
    const char *match;
} strata_config_matcher;

typedef struct strata_config_references {
    const strata_config_matcher *matchers;
    size_t n_matchers;
} strata_config_references;

typedef struct strata_config_data {
    const char *file;     /* the file loaded, or "<defaults>" */
    const char *base_dir; /* absolute; relative paths resolve here */
    const char *state;    /* absolute path of the sqlite state */
    /*
     * How the daemon checks the state when it starts, a
     * strata_store_check_mode: 0 off, 1 quick (quick_check), 2 full
     * (integrity_check). A database that fails is never written to.
     */
    int state_check;
    const char *catalog; /* absolute path of the golden catalog, or NULL */
    strata_config_log log;
    const strata_config_registry *registries;
    size_t n_registries;
    /* Every alias and mirror_of of registries, longest `from` first. */
    const strata_config_alias *aliases;
    size_t n_aliases;
    strata_config_watch watch;
    const strata_config_repo *repos;
    size_t n_repos;
    const strata_config_discover *discover; /* forge listings */
    size_t n_discover;
    strata_config_scan scan;
    strata_config_forges forges;
    strata_config_pr pull_requests; /* defaults of every repo's pr */
    const strata_config_builder *builders;
    size_t n_builders;
    const strata_config_notify *notify;
    size_t n_notify;
    strata_config_api api;
    const strata_config_scanner *scanners; /* rescans */
    size_t n_scanners;
    strata_config_signing signing;
    strata_config_schedule schedule;     /* the default; set 0: none */
    strata_config_references references; /* user-defined matchers */
    strata_config_rollout rollout;       /* the default; set 0: none */
    /* strata_config_target's index, built on load; NULL in a tree made
     * by hand (it then looks through repos[]). */
    const struct strata_config__index *index;
} strata_config_data;

/* ---- loading ---------------------------------------------------------- */

typedef struct strata_config strata_config;

/*
 * Loads and validates the YAML file at path. On success *out is the
 * caller's (strata_config_free). When the file has problems, returns
 * STRATA_EINVAL, leaves *out NULL, appends every problem to problems (when
 * not NULL) and sets err to a summary naming the first one. A file that
 * cannot be read gives STRATA_ENOTFOUND or STRATA_EIO and no problems.
 */
int strata_config_load(strata_config **out, const char *path,
                       strata_config_problems *problems, strata_error *err);

/*
 * Like strata_config_load, from YAML text. name is used in messages;
 * base_dir is where relative paths resolve (NULL: the working directory).
 */
int strata_config_load_string(strata_config **out, const char *yaml, size_t len,
                              const char *name, const char *base_dir,
                              strata_config_problems *problems,
                              strata_error *err);

/* The built-in defaults (embedded YAML), resolved against the cwd. */
int strata_config_default(strata_config **out, strata_error *err);
/* The embedded default YAML text. Static. */
const char *strata_config_default_yaml(void);

/*
 * What every command does with -c: loads path, or, when path is missing
 * and was not given explicitly, the built-in defaults.
 */
int strata_config_load_or_default(strata_config **out, const char *path,
                                  int explicit_path,
                                  strata_config_problems *problems,
                                  strata_error *err);

void strata_config_free(strata_config *config);

/*
 * A configuration that is base plus the repositories extra[0..n) (those
 * discovery found), as if they were listed in repos: each is copied
 * (strings, its token), base is shared (kept alive until *out is freed;
 * freeing base first is fine). An extra that is a repository base lists
 * already, or an earlier extra (the same URL give or take ".git" and a
 * trailing "/", or the same forge and OWNER/NAME), is skipped. *out is
 * the caller's (strata_config_free).
 */
/* One more reference to config (strata_config_free drops one). */
strata_config *strata_config_ref(strata_config *config);

int strata_config_derive(strata_config **out, strata_config *base,
                         const strata_config_repo *extra, size_t n,
                         strata_error *err);

/* The validated tree. Owned by config; read-only. */
const strata_config_data *strata_config_data_get(const strata_config *config);

/*
 * The repository (and image) a graph node belongs to: a configured image's
 * name gives its repository and image; an unnamed Dockerfile
 * "REPO-URL//PATH" (graph/) its repository and a NULL image. Both NULL when
 * no repository has it. When a node could be both, the repository listed
 * first wins. Constant time on a loaded configuration. Borrowed.
 */
void strata_config_target(const strata_config_repo **out_repo,
                          const strata_config_image **out_image,
                          const strata_config_data *cfg, const char *node);

/*
 * The schedule a job of repo for base_ref (either may be NULL) keeps to:
 * the repository's own, else the watched base's (bases[].ref equal to
 * base_ref), else the top-level one; NULL when none is set. Borrowed.
 */
const strata_config_schedule *
strata_config_schedule_for(const strata_config_data *cfg,
                           const strata_config_repo *repo,
                           const char *base_ref);

/*
 * The rollout policy of base_ref's updates: the watched base's own
 * `rollout`, else the top-level one; NULL when neither is set. Borrowed.
 */
const strata_config_rollout *
strata_config_rollout_for(const strata_config_data *cfg, const char *base_ref);

/* Lookups by key; NULL when absent. Borrowed. */
const strata_config_registry *
strata_config_registry_find(const strata_config *config, const char *host);

/*
 * The name ref (canonical, "mirror.gcr.io/library/debian:12", with or
 * without a digest) has upstream when its registry is an alias or a
 * mirror (registries[].aliases, mirror_of): "docker.io/library/debian:12",
 * the caller's to free. NULL when ref names no alias (use ref as it is).
 * The graph, the report, the catalog and the pins all key bases by it, so
 * every name of one content is one base.
 */
char *strata_config_upstream_ref(const strata_config_data *cfg,
                                 const char *ref);
const strata_config_builder *
strata_config_builder_find(const strata_config *config, const char *name);

struct strata_registry_opts;
/*
 * Sets o's credentials and TLS options from a registries[] entry, the one
 * place that says how: a password, else a token, sent with the username
 * (or "strata" when the entry names none); insecure and ca_file as given.
 * Other fields of o (timeouts, retries) are left as the caller set them.
 * The strings stay r's (borrowed): o must not outlive the configuration.
 */
void strata_config_registry_opts(struct strata_registry_opts *o,
                                 const strata_config_registry *r);

/* "github", "exec", "slack", "rebuild": names as spelled in the YAML. */
const char *strata_config_forge_name(strata_config_forge_type type);
const char *strata_config_builder_type_name(strata_config_builder_type type);
const char *strata_config_notify_type_name(strata_config_notify_type type);
const char *strata_config_action_name(unsigned action_bit);
/* "distribution_release", "major", "downgrade", "removal". */
const char *strata_config_hold_name(unsigned hold_bit);
/* "enforce", "warn", "off". */
const char *strata_config_verify_mode_name(int mode);

/*
 * The schema as one JSON object (schema-doc.c): {"id", "what", "fields":
 * [{"key", "kind", "required", "default", "min", "max", "choices",
 * "section"}]}, each section written once and {"ref": ID} where it recurs.
 * For the man page and its check against docs/configuration.md. New;
 * the caller frees it.
 */
char *strata_config_schema_json(void);

/* True when a listen address ("127.0.0.1:8780") is on loopback. */
int strata_config_listen_is_loopback(const char *listen);

/*
 * The URL to give git for repo: the one configured, credentials included
 * (fetch_url), or url when it had none. Borrowed. Never print it.
 */
const char *strata_config_repo_fetch_url(const strata_config_repo *repo);
/* ---- the golden catalog (catalog.c, catalog-lookup.c) ----------------- */

/*
 * The catalog is a YAML file of the base images a platform team blesses
 * (golden bases), with owners, tier, OS family, lifecycle (active, or
 * deprecated with a sunset date and a replacement), the age after which
 * images built on a base count as stale, a soak time and a signing key.
 * It is validated like the configuration, into the same problem list:
 * every problem is reported as "FILE:LINE:COL: message".
 */

typedef enum strata_catalog_lifecycle {
    STRATA_CATALOG_ACTIVE = 0,
    STRATA_CATALOG_DEPRECATED,
} strata_catalog_lifecycle;

/* One golden base. Every string is borrowed from the catalog. */
typedef struct strata_catalog_entry {
    int line, col;           /* where the entry starts in the file */
    const char *ref;         /* canonical "domain/path:tag", or the name for a
                                policy entry */
    const char *name;        /* "domain/path" */
    const char *semver;      /* policy: a semver range, or NULL (a tag entry) */
    const char *suffix;      /* policy: the tag suffix, or NULL */
    const char *description; /* or NULL */
    const char *const *owners; /* may be empty */
    size_t n_owners;
    const char *tier; /* or NULL */
    const char *os;   /* OS family, or NULL */
    strata_catalog_lifecycle lifecycle;
    const char *sunset;      /* "YYYY-MM-DD" when deprecated, else NULL */
    int64_t sunset_ms;       /* midnight UTC of the sunset date, or 0 */
    const char *replacement; /* canonical ref when deprecated, else NULL */
    uint64_t max_age_ms;     /* 0: any update behind is stale */
    uint64_t soak_ms;        /* newer digests younger than this don't count */
    const char *signing_key; /* absolute path, or NULL */
    /*
     * The entry's verify block; signing_key is shorthand for
     * `verify: {keys: [that key]}` (and is added to keys when both are
     * written). verify.set is 0 when the entry has neither.
     */
    strata_config_verify verify;
} strata_catalog_entry;

/* A team and the image references it owns (fnmatch(3) patterns). */
typedef struct strata_catalog_team {
    const char *name;
    const char *const *images;
    size_t n_images;
} strata_catalog_team;

typedef struct strata_catalog strata_catalog;

/*
 * Loads and validates the catalog at path. On success *out is the
 * caller's (strata_catalog_free). When the file has problems,
 * returns STRATA_EINVAL, leaves *out NULL, appends every problem to
 * problems (may be NULL) and sets err to a summary naming the first. A
 * file that cannot be read gives STRATA_ENOTFOUND or STRATA_EIO.
 */
int strata_catalog_load(strata_catalog **out, const char *path,
                        strata_config_problems *problems, strata_error *err);
/*
 * Like _load, from YAML text; name is used in problems, base_dir resolves
 * relative paths (NULL: the working directory).
 */
int strata_catalog_load_string(strata_catalog **out, const char *yaml,
                               size_t len, const char *name,
                               const char *base_dir,
                               strata_config_problems *problems,
                               strata_error *err);
void strata_catalog_free(strata_catalog *cat);

size_t strata_catalog_count(const strata_catalog *cat);
/* The i-th entry in file order (i < count). Borrowed. */
const strata_catalog_entry *strata_catalog_get(const strata_catalog *cat,
                                               size_t i);
size_t strata_catalog_team_count(const strata_catalog *cat);
const strata_catalog_team *strata_catalog_team_get(const strata_catalog *cat,
                                                   size_t i);

/*
 * The entry that covers ref (canonical, any tag; a digest is ignored):
 * an entry with exactly that name and tag, else a policy entry of the same
 * name whose semver range and suffix accept the tag. NULL when none (the
 * base is not golden). Borrowed.
 */
const strata_catalog_entry *strata_catalog_lookup(const strata_catalog *cat,
                                                  const char *ref);

/* The team owning image (first matching pattern), or NULL. Borrowed. */
const char *strata_catalog_team_of(const strata_catalog *cat,
                                   const char *image);

/* "golden", "non-golden", "deprecated" for a lookup result. Static. */
const char *strata_catalog_classify(const strata_catalog_entry *entry);

/*
 * The signature policy of a watched reference, as the configuration and
 * the catalog give it, for everything that watches or plans (the daemon,
 * `strata watch`, `strata plan`): the watch.bases entry's own `verify`
 * block, else the verify block (or signing_key) of the catalog entry that
 * covers it (strata_catalog_lookup; for a tag-policy watch, the policy
 * entry of that repository), else watch.verify. key is a watch key: a
 * canonical tag reference ("docker.io/library/debian:12-slim"; a digest
 * is ignored; a tag of a repository watched with a tag policy takes that
 * base's block) or, for a tag-policy watch, the repository name. cat may be
 * NULL. Never NULL: the result's `set` is 0 when there is no policy.
 * Borrowed from d or cat.
 */
const strata_config_verify *
strata_config_verify_for(const strata_config_data *d, const strata_catalog *cat,
                         const char *key);

#endif
