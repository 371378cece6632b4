/*
 * pin.h - digest pinning, and the one reader of every place an image is
 * named: Dockerfiles, compose files, Kubernetes manifests and CRDs, Helm
 * charts, kustomizations, CI pipelines, devcontainers and user-defined
 * matchers, rewritten in place to NAME:TAG@sha256:....
 */
#ifndef STRATA_PIN_H
#define STRATA_PIN_H

#include <stddef.h>

#include "core.h"
#include "dockerfile.h"
#include "oci.h"

/*
 * Digest pinning rewrites image references in place to NAME:TAG@DIGEST
 * (Renovate's pinDigests): in Dockerfiles (pin.c) and in docker-compose
 * files and Kubernetes manifests (pin-yaml.c). Only the bytes of each
 * reference change; a reference with a digest already gets the new one, a
 * reference without a tag gets ":latest" so the pin names what it follows,
 * and a digest-only reference (no tag) is left alone. What cannot be
 * rewritten in one place (variables, YAML aliases, block scalars, odd
 * quoting) is reported as a problem, never guessed at.
 */

/*
 * Gives the digest to pin a reference to (canonical, without digest:
 * "docker.io/library/debian:12-slim"), or NULL to leave it alone. The
 * parsed reference is there for context (kind, stage, platform).
 */
typedef const char *(*strata_pin_resolve_cb)(const char *ref,
                                             const strata_df_ref *where,
                                             void *arg);

/* One reference a lookup is asked about. Everything is borrowed. */
typedef struct strata_pin_query {
    const char *ref; /* canonical, without digest */
    /*
     * NULL: the digest the tag points to (a multi-arch tag's INDEX
     * digest). "os/arch[/variant]" only when platform pins were asked for
     * (strata_pin_opts.platform_pins) and the FROM names that platform.
     */
    const char *platform;
    const char *pinned; /* the digest written now, or NULL */
    const char *name;   /* the file name given to the pin call */
    unsigned line;      /* where the reference (or its ARG default) is */
    const strata_df_ref *where; /* the Dockerfile reference; NULL in YAML */
} strata_pin_query;

/* The digest to pin q's reference to (borrowed), or NULL to leave it. */
typedef const char *(*strata_pin_lookup_cb)(const strata_pin_query *q,
                                            void *arg);

/* User-defined reference matchers (matcher.c); opaque. */
typedef struct strata_pin_matchers strata_pin_matchers;

/* What the YAML pinner looks for (strata_pin_opts.yaml); 0 means both. */
enum {
    STRATA_PIN_YAML_COMPOSE = 1 << 0, /* services.*.image */
    STRATA_PIN_YAML_K8S = 1 << 1,     /* containers[].image & co */
};

typedef struct strata_pin_opts {
    strata_pin_lookup_cb lookup;
    void *arg;
    /*
     * 0 (the default): every reference is pinned to what its tag points
     * to, the index for a multi-arch tag. 1: a FROM whose --platform is
     * written as a literal "os/arch[/variant]" asks for that platform's
     * manifest digest instead (q->platform).
     */
    int platform_pins;
    unsigned yaml; /* STRATA_PIN_YAML_* bits; 0 means both */
    /*
     * User-defined matchers (borrowed, or NULL): strata_pin_any runs those
     * whose globs select the file's name after the file's own reader.
     */
    const strata_pin_matchers *matchers;
} strata_pin_opts;

/* ---- which files to pin (walk.c) ---- */

typedef enum strata_pin_kind {
    STRATA_PIN_NONE = 0,
    STRATA_PIN_DOCKERFILE,   /* Dockerfile, Containerfile, *.Dockerfile,
                                Dockerfile.* (not *.dockerignore) */
    STRATA_PIN_COMPOSE,      /* compose.y(a)ml, docker-compose.y(a)ml,
                                docker-compose.*.y(a)ml, compose.*.y(a)ml */
    STRATA_PIN_MANIFEST,     /* any other *.yaml / *.yml: Kubernetes
                                manifests (any PodSpec: workloads, CronJob,
                                Argo, Tekton, Knative), if it holds any */
    STRATA_PIN_HELM_VALUES,  /* values.yaml, values-*.yaml, values.*.yaml,
                                values_*.yaml of a Helm chart */
    STRATA_PIN_HELM_CHART,   /* Chart.yaml: the artifacthub.io/images
                                annotation */
    STRATA_PIN_KUSTOMIZE,    /* kustomization.y(a)ml, Kustomization: images */
    STRATA_PIN_GITHUB,       /* .y(a)ml files in .github/workflows */
    STRATA_PIN_GITLAB,       /* .gitlab-ci.yml, YAML files under .gitlab and the
                                local files it includes */
    STRATA_PIN_DEVCONTAINER, /* devcontainer.json, .devcontainer.json
                                (JSON with comments) */
    STRATA_PIN_OTHER, /* none of these: read by user-defined matchers only */
} strata_pin_kind;

/* The kind's name ("helm-values"), for reports. Borrowed, static. */
const char *strata_pin_kind_name(strata_pin_kind kind);

/*
 * The kind of the file at path (relative to a repository's root, '/'
 * separated) by its name and where it is; STRATA_PIN_NONE for others.
 */
strata_pin_kind strata_pin_kind_of(const char *path);

typedef struct strata_pin_file {
    char *path; /* PATH joined with the file's path below it */
    strata_pin_kind kind;
} strata_pin_file;

typedef struct strata_pin_change {
    unsigned line;
    char *ref;        /* canonical, without digest */
    char *old_text;   /* the reference as written ("debian:12-slim") */
    char *new_text;   /* "debian:12-slim@sha256:..." */
    char *old_digest; /* the digest written before, or NULL (unpinned) */
    char *new_digest; /* the digest pinned now */
    char *platform;   /* the platform pinned to, or NULL (the tag's) */
} strata_pin_change;

typedef struct strata_pin_result {
    char *data; /* the new file: every byte but the pins unchanged */
    size_t len;
    strata_pin_change *changes;
    size_t nchanges;
    char **problems; /* "FILE:LINE: why it could not be pinned" */
    size_t nproblems;
    size_t nrefs; /* references with a tag the lookup was asked about */
    /*
     * Files this one points to, to pin and scan with the kind given: a
     * GitLab CI include: local file (relative to the repository root) and
     * a devcontainer's build.dockerfile (joined to the directory of the
     * name given, ".." resolved; none when it leaves the root).
     */
    strata_pin_file *links;
    size_t nlinks;
} strata_pin_result;

/*
 * Pins the references of df (parsed from data/len) that resolve() knows a
 * digest for, where they are written (the FROM, COPY --from or mount, or
 * the global ARG default they came from). A reference already at that
 * digest is left alone. out is the caller's (strata_pin_result_release),
 * also when nothing changed (out->nchanges == 0, out->data == data's copy).
 * Platform pins are off (see strata_pin_dockerfile_opts).
 */
int strata_pin_dockerfile(strata_pin_result *out, const char *data, size_t len,
                          const strata_dockerfile *df, const char *name,
                          strata_pin_resolve_cb resolve, void *arg,
                          strata_error *err);

/*
 * Like strata_pin_dockerfile, asking opts->lookup. A reference whose
 * written text is quoted or escaped in a way that does not read back as
 * the reference, and one built from variables, is a problem, not a
 * change. Continuations inside a reference are kept: the digest goes
 * after its last character. Returns 0 (problems are in out).
 */
int strata_pin_dockerfile_opts(strata_pin_result *out, const char *data,
                               size_t len, const strata_dockerfile *df,
                               const char *name, const strata_pin_opts *opts,
                               strata_error *err);

/*
 * Pins the image references of a YAML file (data/len, UTF-8; every
 * document of a "---" stream): services.NAME.image of docker-compose
 * documents (services with a "build" key build that image and are
 * skipped), and containers[].image, initContainers[].image and
 * ephemeralContainers[].image anywhere in a Kubernetes document (one with
 * a top-level "kind": Pod, the workload templates, CronJob, List). Each
 * scalar is rewritten inside its own bytes, keeping its quoting style
 * (plain, '...' or "..."); comments, indentation, flow style and CRLF
 * stay. An image given by an alias or carrying an anchor, a block or
 * multi-line scalar, a double-quoted scalar with escapes and a compose
 * "${VAR}" are problems. out is the caller's (strata_pin_result_release).
 * Fails with STRATA_EINVAL when the YAML does not parse ("NAME:LINE:COL:
 * problem") or is not UTF-8.
 */
int strata_pin_yaml(strata_pin_result *out, const char *data, size_t len,
                    const char *name, const strata_pin_opts *opts,
                    strata_error *err);

/*
 * Pins a file of any kind (the one reader for `strata pin`, pull requests
 * and the graph scan, which asks opts->lookup and pins nothing): a
 * Dockerfile is parsed with default options (no build args), the YAML
 * kinds as strata_pin_yaml does with the shapes of their kind, and a
 * devcontainer.json with a bounded JSONC scanner. name should be the path
 * relative to the repository for links to be. Fails with STRATA_EINVAL
 * when the file does not parse ("NAME:LINE:COL: problem").
 */
int strata_pin_any(strata_pin_result *out, const char *data, size_t len,
                   strata_pin_kind kind, const char *name,
                   const strata_pin_opts *opts, strata_error *err);

/* Helm values files and Chart.yaml (helm.c). */
int strata_pin_helm_values(strata_pin_result *out, const char *data, size_t len,
                           const char *name, const strata_pin_opts *opts,
                           strata_error *err);
int strata_pin_helm_chart(strata_pin_result *out, const char *data, size_t len,
                          const char *name, const strata_pin_opts *opts,
                          strata_error *err);
/* kustomization.yaml's images: transformer (kustomize.c). */
int strata_pin_kustomize(strata_pin_result *out, const char *data, size_t len,
                         const char *name, const strata_pin_opts *opts,
                         strata_error *err);
/* GitHub Actions workflows and GitLab CI files (ci.c). */
int strata_pin_github(strata_pin_result *out, const char *data, size_t len,
                      const char *name, const strata_pin_opts *opts,
                      strata_error *err);
int strata_pin_gitlab(strata_pin_result *out, const char *data, size_t len,
                      const char *name, const strata_pin_opts *opts,
                      strata_error *err);
/* devcontainer.json (json.c). */
int strata_pin_devcontainer(strata_pin_result *out, const char *data,
                            size_t len, const char *name,
                            const strata_pin_opts *opts, strata_error *err);

/* ---- user-defined matchers (matcher.c) ---- */

/* An empty set; the caller's (strata_pin_matchers_free). */
strata_pin_matchers *strata_pin_matchers_new(void);
void strata_pin_matchers_free(strata_pin_matchers *m);
/*
 * Adds a matcher: globs matched against the repository-relative path
 * with fnmatch(3) ('*' also crosses '/'), and a PCRE2 expression (UTF,
 * multi-line) with a group named "name" and optionally "tag" and
 * "digest". STRATA_EINVAL names the offset of a bad expression.
 */
int strata_pin_matchers_add(strata_pin_matchers *m, const char *const *globs,
                            size_t nglobs, const char *regex,
                            strata_error *err);
/* 1 when a matcher's globs select path. */
int strata_pin_matchers_select(const strata_pin_matchers *m, const char *path);
/*
 * Pins what the matchers of opts->matchers that select name find in
 * data: name[:tag][@digest] from the groups; the digest replaces the
 * digest group when it took part in the match, else goes after the tag.
 * Matching is bounded (match, depth and heap limits, 10,000 matches); a
 * limit reached is a problem. Returns 0.
 */
int strata_pin_match(strata_pin_result *out, const char *data, size_t len,
                     const char *name, const strata_pin_opts *opts,
                     strata_error *err);

void strata_pin_result_release(strata_pin_result *r);

/* ---- which files to pin (pin-walk.c) ---- */

/*
 * The files under path to pin, sorted by path: path itself when it is a
 * file (a name of no known kind is a Dockerfile, or a manifest when it
 * ends in .yaml/.yml), else every file of a known kind below it. Hidden
 * directories (.git) and node_modules are skipped and symbolic links are
 * not followed, but .github/workflows, .gitlab, .devcontainer and the
 * local files a GitLab CI file includes are read. *out is the caller's
 * (strata_pin_files_free). Errors:
 * STRATA_ENOTFOUND when path does not exist, STRATA_EIO.
 */
int strata_pin_walk(strata_pin_file **out, size_t *nout, const char *path,
                    strata_error *err);
/* strata_pin_walk, and the files matchers select (STRATA_PIN_OTHER when
 * no reader knows them). matchers may be NULL. */
int strata_pin_walk_with(strata_pin_file **out, size_t *nout, const char *path,
                         const strata_pin_matchers *matchers,
                         strata_error *err);

#endif
