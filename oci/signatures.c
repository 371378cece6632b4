/*
 * signatures.c - finds the signatures of one digest in a registry, in
 * every layout signers use, and hands over their bytes for verification
 * (verify/ decides what they prove; nothing here judges a signature):
 *
 *   - cosign's tags: "sha256-<hex>.sig", a manifest whose layers are
 *     simple-signing payloads with the signature, certificate, chain and
 *     Rekor bundle in their annotations, and "sha256-<hex>.att", whose
 *     layers are DSSE envelopes of in-toto statements;
 *   - referrers (OCI 1.1 API, else the tag schema): artifact manifests
 *     whose subject is the digest, holding a Sigstore bundle (cosign v3's
 *     default), or cosign signature and attestation layers.
 *
 * A queue of tasks runs one request at a time: a manifest (.sig, .att, a
 * referrer), the referrers list, a layer blob. Each answer may add tasks.
 * Whatever goes wrong with one of them (garbage, a manifest over its
 * limit, a referrer that names another subject or itself, a 500) becomes
 * a failure entry with its reason; the search goes on with the rest.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "oci-int.h"

#define MAX_LAYERS 16
#define MAX_LAYER_BYTES (4u << 20)
/* A bound on the work of one search, whatever the registry lists. */
#define MAX_TASKS 64

enum {
    T_SIG_TAG,   /* sha256-<hex>.sig */
    T_ATT_TAG,   /* sha256-<hex>.att */
    T_REFERRERS, /* the list */
    T_REFERRER,  /* one referrer's manifest */
    T_BLOB,      /* a layer */
};

typedef struct task {
    int type;
    char *digest; /* T_REFERRER, T_BLOB */
    int kind;     /* T_BLOB: a strata_signature_kind */
    char *label;
    json_t *annotations; /* T_BLOB */
    struct task *next;
} task;

typedef struct finder {
    strata_registry *reg;
    strata_ref *ref; /* the repository (any tag or digest ignored) */
    char *digest;
    char *hex12; /* for labels */
    strata_registry_signatures_cb cb;
    void *arg;
    strata_signatures *out;
    size_t cap;
    task *head, *tail, *cur;
    size_t ntasks;
    char **seen; /* referrer digests queued */
    size_t nseen;
    int starting;           /* inside strata_registry_find_signatures */
    strata_error start_err; /* the first request could not start */
} finder;

static void step(finder *f);

static void
task_free(task *t)
{
    if (t == NULL)
        return;
    free(t->digest);
    free(t->label);
    json_decref(t->annotations);
    free(t);
}

void
strata_signatures_free(strata_signatures *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++) {
        free(s->items[i].label);
        free(s->items[i].data);
        json_decref(s->items[i].annotations);
        free(s->items[i].reason);
    }
    free(s->items);
    free(s);
}

static strata_signature *
add_item(finder *f, strata_signature_kind kind, const char *label)
{
    strata_signature *s;

    if (f->out->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->out->items =
            strata_xrealloc(f->out->items, f->cap * sizeof(*f->out->items));
    }
    s = &f->out->items[f->out->n++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->label = strata_xstrdup(label);
    return s;
}

static void add_failure(finder *f, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_failure(finder *f, const char *label, const char *fmt, ...)
{
    strata_signature *s = add_item(f, STRATA_SIGNATURE_FAILURE, label);
    va_list ap;

    va_start(ap, fmt);
    s->reason = strata_xvasprintf(fmt, ap);
    va_end(ap);
}

static void
push(finder *f, int type, const char *digest, int kind, const char *label,
     json_t *annotations)
{
    task *t;

    if (f->ntasks >= MAX_TASKS) {
        add_failure(f, label,
                    "not read: more than %d registry reads for one "
                    "digest",
                    MAX_TASKS);
        return;
    }
    t = strata_xcalloc(1, sizeof(*t));
    t->type = type;
    t->digest = digest ? strata_xstrdup(digest) : NULL;
    t->kind = kind;
    t->label = strata_xstrdup(label);
    t->annotations = annotations ? json_incref(annotations) : NULL;
    if (f->tail != NULL)
        f->tail->next = t;
    else
        f->head = t;
    f->tail = t;
    f->ntasks++;
}

/* Frees the finder without calling back. */
static void
finish_quiet(finder *f)
{
    task *t, *next;
    size_t i;

    for (t = f->head; t != NULL; t = next) {
        next = t->next;
        task_free(t);
    }
    task_free(f->cur);
    for (i = 0; i < f->nseen; i++)
        free(f->seen[i]);
    free(f->seen);
    strata_ref_free(f->ref);
    free(f->digest);
    free(f->hex12);
    free(f);
}

static void
finish(finder *f, const strata_error *err)
{
    strata_signatures *out = err ? NULL : f->out;
    strata_registry_signatures_cb cb = f->cb;
    void *arg = f->arg;

    if (err != NULL)
        strata_signatures_free(f->out);
    finish_quiet(f);
    cb(out, err, arg);
}

/* The kind of signature a layer of this media type holds, or -1. */
static int
layer_kind(const char *mt)
{
    if (mt == NULL)
        return -1;
    if (strncmp(mt, STRATA_MT_SIGSTORE_BUNDLE_PREFIX,
                strlen(STRATA_MT_SIGSTORE_BUNDLE_PREFIX)) == 0)
        return STRATA_SIGNATURE_BUNDLE;
    if (strcmp(mt, STRATA_MT_COSIGN_SIMPLESIGNING) == 0)
        return STRATA_SIGNATURE_COSIGN;
    if (strcmp(mt, STRATA_MT_DSSE_ENVELOPE) == 0)
        return STRATA_SIGNATURE_ATTESTATION;
    return -1;
}

/*
 * Queues the layers of a signature manifest. kind: what every layer is
 * (cosign's tags), or -1 to take it from each layer's media type.
 */
static void
queue_layers(finder *f, const strata_manifest *m, const char *what, int kind)
{
    json_t *j = json_loadb(m->body, m->body_len, 0, NULL);
    json_t *layers = json_object_get(j, "layers"), *l;
    size_t i;

    if (!json_is_array(layers) || json_array_size(layers) == 0) {
        add_failure(f, what, "a signature manifest without layers");
        goto out;
    }
    json_array_foreach (layers, i, l) {
        const char *mt = json_string_value(json_object_get(l, "mediaType"));
        const char *dg = json_string_value(json_object_get(l, "digest"));
        json_t *size = json_object_get(l, "size");
        json_t *ann = json_object_get(l, "annotations");
        int k = kind >= 0 ? kind : layer_kind(mt);
        char *label;

        if (i == MAX_LAYERS) {
            add_failure(f, what, "%zu layers: only the first %d are read",
                        json_array_size(layers), MAX_LAYERS);
            break;
        }
        label = strata_xasprintf("%s layer %zu", what, i + 1);
        if (dg == NULL || strata_digest_validate(dg, NULL) != 0)
            add_failure(f, label, "not a descriptor with a valid digest");
        else if (!json_is_integer(size) || json_integer_value(size) < 0 ||
                 json_integer_value(size) > (json_int_t) MAX_LAYER_BYTES)
            add_failure(f, label,
                        "declares %" JSON_INTEGER_FORMAT
                        " bytes (at most %u are read): refused unread",
                        json_integer_value(size), MAX_LAYER_BYTES);
        else if (k >= 0)
            push(f, T_BLOB, dg, k, label, json_is_object(ann) ? ann : NULL);
        free(label);
    }
out:
    json_decref(j);
}

static void
on_blob(char *blob, size_t len, const strata_error *err, void *arg)
{
    finder *f = arg;
    task *t = f->cur;
    strata_signature *s;

    if (err != NULL && err->code == STRATA_ECANCELED) {
        finish(f, err);
        return;
    }
    if (err != NULL) {
        add_failure(f, t->label, "%s", err->msg);
    } else {
        s = add_item(f, t->kind, t->label);
        s->data = blob;
        s->len = len;
        s->annotations = t->annotations ? json_incref(t->annotations) : NULL;
    }
    step(f);
}

/* The subject a referrer manifest names, checked against ours. */
static int
subject_ok(finder *f, const strata_manifest *m, const char *label)
{
    json_t *j = json_loadb(m->body, m->body_len, 0, NULL);
    const char *sd = json_string_value(
        json_object_get(json_object_get(j, "subject"), "digest"));
    int ok = 0;

    if (sd == NULL)
        add_failure(f, label, "names no subject: not a referrer of '%s'",
                    f->digest);
    else if (strcmp(sd, f->digest) != 0)
        add_failure(f, label, "its subject is '%s', not '%s'", sd, f->digest);
    else
        ok = 1;
    json_decref(j);
    return ok;
}

static void
on_manifest(strata_manifest *m, const strata_error *err, void *arg)
{
    finder *f = arg;
    task *t = f->cur;

    if (err != NULL && err->code == STRATA_ECANCELED) {
        finish(f, err);
        return;
    }
    if (err != NULL) {
        /* A .sig or .att tag that is absent is simply not there. */
        if (!(err->code == STRATA_ENOTFOUND && t->type != T_REFERRER))
            add_failure(f, t->label, "%s", err->msg);
    } else if (m->is_index) {
        add_failure(f, t->label,
                    "an index, not a signature manifest "
                    "(not followed)");
    } else if (t->type == T_SIG_TAG) {
        queue_layers(f, m, t->label, STRATA_SIGNATURE_COSIGN);
    } else if (t->type == T_ATT_TAG) {
        queue_layers(f, m, t->label, STRATA_SIGNATURE_ATTESTATION);
    } else if (subject_ok(f, m, t->label)) {
        queue_layers(f, m, t->label, -1);
    }
    strata_manifest_free(m);
    step(f);
}

static int
seen(finder *f, const char *digest)
{
    size_t i;

    for (i = 0; i < f->nseen; i++)
        if (strcmp(f->seen[i], digest) == 0)
            return 1;
    f->seen = strata_xrealloc(f->seen, (f->nseen + 1) * sizeof(*f->seen));
    f->seen[f->nseen++] = strata_xstrdup(digest);
    return 0;
}

static int
wanted_artifact(const char *at)
{
    return at != NULL &&
           (strncmp(at, STRATA_MT_SIGSTORE_BUNDLE_PREFIX,
                    strlen(STRATA_MT_SIGSTORE_BUNDLE_PREFIX)) == 0 ||
            strcmp(at, STRATA_MT_COSIGN_SIG_ARTIFACT) == 0 ||
            strcmp(at, STRATA_MT_DSSE_ENVELOPE) == 0 ||
            strcmp(at, STRATA_MT_COSIGN_SIMPLESIGNING) == 0 ||
            strncmp(at, "application/vnd.in-toto", 23) == 0);
}

static void
on_referrers(strata_referrers *r, const strata_error *err, void *arg)
{
    finder *f = arg;
    size_t i;

    if (err != NULL && err->code == STRATA_ECANCELED) {
        finish(f, err);
        return;
    }
    if (err != NULL) {
        add_failure(f, "referrers", "%s", err->msg);
        step(f);
        return;
    }
    f->out->requests += r->requests - 1; /* step() counted one */
    if (r->note != NULL)
        add_failure(f,
                    r->via_tag_schema ? "referrers (tag schema)" : "referrers",
                    "%s", r->note);
    for (i = 0; i < r->n; i++) {
        const strata_referrer *e = &r->items[i];
        char *label = strata_xasprintf("referrer %s", e->digest);

        if (strcmp(e->digest, f->digest) == 0)
            add_failure(f, label,
                        "a referrer loop: the digest refers to "
                        "itself");
        else if (e->artifact_type != NULL &&
                 strcmp(e->artifact_type, STRATA_MT_NOTATION_SIGNATURE) == 0)
            add_failure(f, label,
                        "a Notation signature: not verified (strata "
                        "verifies cosign and Sigstore signatures)");
        else if (!wanted_artifact(e->artifact_type))
            ; /* an SBOM, a scan report: not a signature */
        else if (seen(f, e->digest))
            add_failure(f, label, "listed twice: read once");
        else
            push(f, T_REFERRER, e->digest, -1, label, NULL);
        free(label);
    }
    strata_referrers_free(r);
    step(f);
}

static void
step(finder *f)
{
    strata_error err = {0};
    strata_ref *r = NULL;
    task *t;
    char *s;
    int rc = 0;

    task_free(f->cur);
    f->cur = NULL;
    if (f->head == NULL) {
        finish(f, NULL);
        return;
    }
    t = f->head;
    f->head = t->next;
    if (f->head == NULL)
        f->tail = NULL;
    t->next = NULL;
    f->cur = t;
    f->out->requests++;
    switch (t->type) {
    case T_SIG_TAG:
    case T_ATT_TAG:
        s = strata_xasprintf("%s:sha256-%s.%s", strata_ref_name(f->ref),
                             f->digest + 7,
                             t->type == T_SIG_TAG ? "sig" : "att");
        rc = strata_ref_parse(&r, s, &err);
        free(s);
        if (rc == 0)
            rc = strata_registry_get_manifest_max(f->reg, r, 0, on_manifest, f,
                                                  &err);
        break;
    case T_REFERRER:
        rc = strata_ref_with_digest(&r, f->ref, t->digest, &err);
        if (rc == 0)
            rc = strata_registry_get_manifest_max(f->reg, r, 0, on_manifest, f,
                                                  &err);
        break;
    case T_REFERRERS:
        rc = strata_registry_referrers(f->reg, f->ref, f->digest, NULL, 0,
                                       on_referrers, f, &err);
        break;
    default:
        rc = strata_registry_get_blob(f->reg, f->ref, t->digest,
                                      MAX_LAYER_BYTES, on_blob, f, &err);
        break;
    }
    strata_ref_free(r);
    if (rc != 0) {
        /*
         * Not started, so nothing calls back: inside the starting call the
         * error is returned from there (the callback must not run inside
         * it); later it is recorded and the search goes on.
         */
        if (f->starting) {
            f->start_err = err;
            return;
        }
        if (err.code == STRATA_ECANCELED) {
            finish(f, &err);
            return;
        }
        add_failure(f, t->label, "%s", err.msg);
        step(f);
    }
}

int
strata_registry_find_signatures(strata_registry *reg, const strata_ref *ref,
                                const char *digest, unsigned layouts,
                                strata_registry_signatures_cb cb, void *arg,
                                strata_error *err)
{
    finder *f;
    strata_ref *repo = NULL;
    char *what;
    int rc;

    if ((rc = strata_digest_validate(digest, err)) != 0)
        return rc;
    if (strncmp(digest, "sha256:", 7) != 0)
        return strata_error_set(err, STRATA_EINVAL,
                                "signatures of '%s': only sha256 digests are "
                                "supported",
                                digest);
    if ((rc = strata_ref_with_digest(&repo, ref, NULL, err)) != 0)
        return rc;
    if (reg->closing) {
        strata_ref_free(repo);
        return strata_error_set(err, STRATA_ECANCELED,
                                "registry client is closing");
    }
    f = strata_xcalloc(1, sizeof(*f));
    f->reg = reg;
    f->ref = repo;
    f->digest = strata_xstrdup(digest);
    f->hex12 = strata_xstrndup(digest + 7, 12);
    f->cb = cb;
    f->arg = arg;
    f->out = strata_xcalloc(1, sizeof(*f->out));
    if (layouts & STRATA_SIGS_COSIGN) {
        what = strata_xasprintf("sha256-%s….sig", f->hex12);
        push(f, T_SIG_TAG, NULL, 0, what, NULL);
        free(what);
    }
    if (layouts & STRATA_SIGS_ATTESTATIONS) {
        what = strata_xasprintf("sha256-%s….att", f->hex12);
        push(f, T_ATT_TAG, NULL, 0, what, NULL);
        free(what);
    }
    if (layouts & STRATA_SIGS_REFERRERS)
        push(f, T_REFERRERS, NULL, 0, "referrers", NULL);
    if (f->head == NULL)
        strata_error_set(&f->start_err, STRATA_EINVAL, "no layout to look in");
    else {
        /* The first request starts here; its callback runs from the loop. */
        f->starting = 1;
        step(f);
        f->starting = 0;
    }
    if (f->start_err.code != 0) {
        rc = f->start_err.code;
        if (err != NULL)
            *err = f->start_err;
        f->cb = NULL;
        strata_signatures_free(f->out);
        f->out = NULL;
        finish_quiet(f);
        return rc;
    }
    return 0;
}
