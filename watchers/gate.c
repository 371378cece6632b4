/*
 * gate.c - the verification gate: a new digest of a base with a `verify`
 * policy is verified before anything is planned for it.
 *
 *   policies   each configuration block (watch.verify, a base's, a catalog
 *              entry's) is compiled once into a strata_verify_policy; keys
 *              and trusted roots are loaded once per path and shared.
 *   verifying  the signatures of a digest are found in the registry
 *              (oci/signatures.c) in stages, cheapest first: cosign's .sig
 *              tag (two requests); only when that does not meet the policy,
 *              the referrers (API or tag schema) and the .att tag. Every
 *              candidate goes into one strata_verify_result, which says
 *              whether the policy is met and why each candidate did or did
 *              not count.
 *   deciding   inside the check's store transaction, the verdict becomes the
 *              digest's gate state, one meta row per watch
 *              ("verify:KEY" = {"digest", "state", "since", ...}):
 *                verified     the policy is met: planned as usual;
 *                awaiting     not yet, within `wait` of the first sighting:
 *                             checked again on every poll and webhook;
 *                quarantined  still not after `wait` (enforce): never
 *                             planned; base.signature_failed (critical);
 *                unverified   the same in warn mode: recorded, notified,
 *                             planned all the same;
 *                approved     `strata approve REF@DIGEST --unsigned`.
 *              jobs/plan.c reads the row; the CLI and the API show it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "verify.h"
#include "watchers-int.h"

struct strata_watcher__gate {
    strata_verify_policy policy;
    int mode; /* a strata_config_verify_mode */
    uint64_t wait_ms;
    strata_verify_key **keys;
    strata_verify_identity *ids;
    const char **atts;
    const char **mirrors;
    char **strings; /* what the above point to */
    size_t nstrings;
    struct strata_watcher__gate *next;
};

/* A copy of s owned by g (NULL stays NULL). */
static const char *
keep(strata_watcher__gate *g, const char *s)
{
    if (s == NULL)
        return NULL;
    g->strings =
        strata_xrealloc(g->strings, (g->nstrings + 1) * sizeof(*g->strings));
    g->strings[g->nstrings] = strata_xstrdup(s);
    return g->strings[g->nstrings++];
}

/* ---- policies --------------------------------------------------------- */

static void
trust_free_maps(strata_watcher *w)
{
    size_t it = 0;
    const char *k;
    void *v;

    while (w->trust_keys != NULL &&
           strata_strmap_next(w->trust_keys, &it, &k, &v))
        strata_verify_key_free(v);
    it = 0;
    while (w->trust_roots != NULL &&
           strata_strmap_next(w->trust_roots, &it, &k, &v))
        strata_verify_trusted_root_free(v);
    strata_strmap_free(w->trust_keys);
    strata_strmap_free(w->trust_roots);
    w->trust_keys = w->trust_roots = NULL;
}

/* The compiled policies of a replaced configuration. */
struct strata_watcher__gates_gen {
    strata_watcher__gate *gates;
    strata_strmap *trust_keys, *trust_roots;
    struct strata_watcher__gates_gen *next;
};

static void
gates_list_free(strata_watcher__gate *g)
{
    strata_watcher__gate *next;

    for (; g != NULL; g = next) {
        size_t i;

        next = g->next;
        for (i = 0; i < g->nstrings; i++)
            free(g->strings[i]);
        free(g->strings);
        free(g->keys);
        free(g->ids);
        free(g->atts);
        free(g->mirrors);
        free(g);
    }
}

static void
retired_free(strata_watcher *w)
{
    struct strata_watcher__gates_gen *gen, *next;
    strata_strmap *keys = w->trust_keys, *roots = w->trust_roots;

    for (gen = w->retired; gen != NULL; gen = next) {
        next = gen->next;
        gates_list_free(gen->gates);
        w->trust_keys = gen->trust_keys;
        w->trust_roots = gen->trust_roots;
        trust_free_maps(w);
        free(gen);
    }
    w->retired = NULL;
    w->trust_keys = keys;
    w->trust_roots = roots;
}

void
strata_watcher__gates_free(strata_watcher *w)
{
    gates_list_free(w->gates);
    w->gates = NULL;
    trust_free_maps(w);
    retired_free(w);
    strata_strmap_free(w->gate_cache);
    w->gate_cache = NULL;
}

int
strata_watcher__gate_compile(const strata_watcher__gate **out,
                             strata_watcher *w, const strata_config_verify *v,
                             strata_error *err)
{
    strata_watcher__gate *g;
    size_t i;
    int rc;

    *out = NULL;
    if (v == NULL || !v->set || v->mode == STRATA_CONFIG_VERIFY_OFF)
        return 0;
    if (w->trust_keys == NULL) {
        w->trust_keys = strata_strmap_new();
        w->trust_roots = strata_strmap_new();
    }
    g = strata_xcalloc(1, sizeof(*g));
    g->mode = v->mode;
    g->wait_ms = v->wait_ms;
    g->keys = strata_xcalloc(v->keys.count + 1, sizeof(*g->keys));
    for (i = 0; i < v->keys.count; i++) {
        strata_verify_key *k =
            strata_strmap_get(w->trust_keys, v->keys.items[i]);

        if (k == NULL) {
            if ((rc = strata_verify_key_load(&k, v->keys.items[i], err)) != 0)
                goto fail;
            strata_strmap_put(w->trust_keys, v->keys.items[i], k);
        }
        g->keys[i] = k;
    }
    g->policy.keys = g->keys;
    g->policy.nkeys = v->keys.count;
    if (v->trusted_root != NULL) {
        strata_verify_trusted_root *r =
            strata_strmap_get(w->trust_roots, v->trusted_root);

        if (r == NULL) {
            if ((rc = strata_verify_trusted_root_load(&r, v->trusted_root,
                                                      err)) != 0)
                goto fail;
            strata_strmap_put(w->trust_roots, v->trusted_root, r);
        }
        g->policy.trusted_root = r;
    }
    /* Copies: a catalog is freed once its entries are watched. */
    g->ids = strata_xcalloc(v->n_identities + 1, sizeof(*g->ids));
    for (i = 0; i < v->n_identities; i++) {
        g->ids[i].issuer = keep(g, v->identities[i].issuer);
        g->ids[i].subject = keep(g, v->identities[i].subject);
        g->ids[i].subject_regexp = keep(g, v->identities[i].subject_regexp);
    }
    g->policy.identities = g->ids;
    g->policy.nidentities = v->n_identities;
    g->policy.threshold = (unsigned) v->threshold;
    g->policy.key_requires_tlog = v->tlog;
    g->atts = strata_xcalloc(v->attestations.count + 1, sizeof(*g->atts));
    for (i = 0; i < v->attestations.count; i++)
        g->atts[i] = keep(g, v->attestations.items[i]);
    g->policy.attestations = g->atts;
    g->policy.nattestations = v->attestations.count;
    g->mirrors = strata_xcalloc(v->mirrors.count + 1, sizeof(*g->mirrors));
    for (i = 0; i < v->mirrors.count; i++)
        g->mirrors[i] = keep(g, v->mirrors.items[i]);
    g->policy.mirrors = g->mirrors;
    g->policy.nmirrors = v->mirrors.count;
    g->next = w->gates;
    w->gates = g;
    *out = g;
    return 0;
fail:
    free(g->keys);
    free(g);
    return rc;
}

int
strata_watcher__gate_for(const strata_watcher__gate **out, strata_watcher *w,
                         const char *key, const strata_config_verify *spec,
                         strata_error *err)
{
    const strata_config_verify *v;
    const strata_watcher__gate *g;
    char ptr[32];
    int rc;

    if (w->policy_cfg == NULL)
        return strata_watcher__gate_compile(out, w, spec, err);
    *out = NULL;
    v = strata_config_verify_for(w->policy_cfg, w->policy_cat, key);
    if (!v->set || v->mode == STRATA_CONFIG_VERIFY_OFF)
        return 0;
    /* Watches that share a block (watch.verify) share its gate. */
    snprintf(ptr, sizeof(ptr), "%p", (const void *) v);
    if (w->gate_cache == NULL)
        w->gate_cache = strata_strmap_new();
    if ((g = strata_strmap_get(w->gate_cache, ptr)) != NULL) {
        *out = g;
        return 0;
    }
    if ((rc = strata_watcher__gate_compile(out, w, v, err)) != 0)
        return rc;
    strata_strmap_put(w->gate_cache, ptr, (void *) *out);
    return 0;
}

int
strata_watcher__gates_reconfigure(strata_watcher *w,
                                  const strata_config_data *cfg,
                                  const strata_catalog *cat, strata_error *err)
{
    struct strata_watcher__gates_gen *gen;
    strata_error e = {0};
    size_t i;
    int rc = 0, busy = 0;

    /* What the replaced configuration compiled, until nothing uses it. */
    gen = strata_xcalloc(1, sizeof(*gen));
    gen->gates = w->gates;
    gen->trust_keys = w->trust_keys;
    gen->trust_roots = w->trust_roots;
    gen->next = w->retired;
    w->retired = gen;
    w->gates = NULL;
    w->trust_keys = w->trust_roots = NULL;
    strata_strmap_free(w->gate_cache);
    w->gate_cache = NULL;
    w->policy_cfg = cfg;
    w->policy_cat = cat;
    for (i = 0; i < w->nwatches; i++) {
        strata_watcher__watch *wt = w->watches[i];
        const strata_watcher__gate *g = NULL;

        if (strata_watcher__gate_for(&g, w, wt->key, NULL, &e) != 0) {
            /* Keep what it had: never drop a policy because of a reload. */
            if (rc == 0)
                rc = strata_error_set(err, e.code, "verify policy of '%s': %s",
                                      wt->key, e.msg);
            busy = 1; /* its old gate stays in use */
            continue;
        }
        wt->gate = g;
        if (wt->state == STRATA_WATCHER__RUNNING)
            busy = 1;
    }
    if (!busy)
        retired_free(w);
    return rc;
}

/* ---- a policy on its own ------------------------------------------------ */

struct strata_watchers_policy {
    strata_watcher w; /* only its gate list and key maps are used */
    const strata_watcher__gate *gate;
};

int
strata_watchers_policy_new(strata_watchers_policy **out,
                           const strata_config_verify *v, strata_error *err)
{
    strata_watchers_policy *p = strata_xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if ((rc = strata_watcher__gate_compile(&p->gate, &p->w, v, err)) != 0 ||
        p->gate == NULL) {
        strata_watchers_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

const strata_verify_policy *
strata_watchers_policy_get(const strata_watchers_policy *p)
{
    return &p->gate->policy;
}

int
strata_watchers_policy_mode(const strata_watchers_policy *p)
{
    return p->gate->mode;
}

uint64_t
strata_watchers_policy_wait_ms(const strata_watchers_policy *p)
{
    return p->gate->wait_ms;
}

void
strata_watchers_policy_free(strata_watchers_policy *p)
{
    if (p == NULL)
        return;
    strata_watcher__gates_free(&p->w);
    free(p);
}

int
strata_watcher__gate_mode(const strata_watcher__gate *g)
{
    return g->mode;
}

/* ---- verifying one digest ---------------------------------------------- */

typedef struct vop {
    strata_registry *reg;
    strata_ref *repo;
    char *digest;
    const strata_verify_policy *policy;
    strata_verify_result *r;
    int exhaustive;
    int stage;
    unsigned requests;
    strata_watchers_verify_cb cb;
    void *arg;
} vop;

static void
vop_free(vop *o)
{
    strata_verify_result_free(o->r);
    strata_ref_free(o->repo);
    free(o->digest);
    free(o);
}

static void
add_candidates(strata_verify_result *r, const strata_signatures *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        const strata_signature *c = &s->items[i];

        switch (c->kind) {
        case STRATA_SIGNATURE_COSIGN:
            strata_verify_result_add_cosign(r, c->data, c->len, c->annotations,
                                            c->label);
            break;
        case STRATA_SIGNATURE_ATTESTATION:
            strata_verify_result_add_attestation(r, c->data, c->len,
                                                 c->annotations, c->label);
            break;
        case STRATA_SIGNATURE_BUNDLE:
            strata_verify_result_add_bundle(r, c->data, c->len, c->label);
            break;
        default:
            strata_verify_result_add_failure(r, c->label, c->reason);
            break;
        }
    }
}

static void
on_sigs(strata_signatures *s, const strata_error *err, void *arg)
{
    vop *o = arg;
    strata_error e = {0};
    unsigned layouts;
    strata_verify_result *r;

    if (err != NULL) {
        o->cb(NULL, o->requests, err, o->arg);
        vop_free(o);
        return;
    }
    o->requests += s->requests;
    add_candidates(o->r, s);
    strata_signatures_free(s);
    if (!o->exhaustive && o->stage == 0 && !strata_verify_result_ok(o->r)) {
        /* The cheap layout did not do: look everywhere else. */
        o->stage = 1;
        layouts = STRATA_SIGS_REFERRERS;
        if (o->policy->nattestations > 0)
            layouts |= STRATA_SIGS_ATTESTATIONS;
        if (strata_registry_find_signatures(o->reg, o->repo, o->digest, layouts,
                                            on_sigs, o, &e) == 0)
            return;
        strata_verify_result_add_failure(o->r, "referrers", e.msg);
    }
    r = o->r;
    o->r = NULL;
    o->cb(r, o->requests, NULL, o->arg);
    vop_free(o);
}

int
strata_watchers_verify_digest(strata_registry *reg, const strata_ref *ref,
                              const char *digest,
                              const strata_verify_policy *policy,
                              int exhaustive, strata_watchers_verify_cb cb,
                              void *arg, strata_error *err)
{
    vop *o = strata_xcalloc(1, sizeof(*o));
    unsigned layouts;
    int rc;

    if ((rc = strata_ref_with_digest(&o->repo, ref, NULL, err)) != 0) {
        free(o);
        return rc;
    }
    o->reg = reg;
    o->digest = strata_xstrdup(digest);
    o->policy = policy;
    o->exhaustive = exhaustive;
    o->cb = cb;
    o->arg = arg;
    o->r = strata_verify_result_new(policy, digest, strata_ref_name(o->repo));
    if (exhaustive)
        layouts = STRATA_SIGS_ALL;
    else
        layouts = STRATA_SIGS_COSIGN |
                  (policy->nattestations > 0 ? STRATA_SIGS_ATTESTATIONS : 0);
    rc = strata_registry_find_signatures(reg, o->repo, digest, layouts, on_sigs,
                                         o, err);
    if (rc != 0)
        vop_free(o);
    return rc;
}

/* ---- a watch's verdict: the digest and its watched platforms ------------ */

void
strata_watcher__verdict_free(strata_watcher__verdict *v)
{
    if (v == NULL)
        return;
    free(v->summary);
    json_decref(v->signers);
    json_decref(v->digests);
    free(v);
}

/* What verified one entry, for events, pull requests and the API. */
static json_t *
signer_json(const strata_verify_signer *s)
{
    json_t *o = json_object();

    json_object_set_new(o, "verifier", json_string(s->summary));
    if (s->key_fingerprint != NULL)
        json_object_set_new(o, "key", json_string(s->key_fingerprint));
    if (s->subject != NULL)
        json_object_set_new(o, "subject", json_string(s->subject));
    if (s->issuer != NULL)
        json_object_set_new(o, "issuer", json_string(s->issuer));
    if (s->log_index >= 0)
        json_object_set_new(o, "log_index", json_integer(s->log_index));
    if (s->predicate_type != NULL)
        json_object_set_new(o, "predicate_type",
                            json_string(s->predicate_type));
    return o;
}

typedef struct gop {
    strata_watcher *w;
    strata_ref *target;
    char **digests;
    size_t n, i;
    const strata_watcher__gate *gate;
    strata_watcher__verdict *v;
    strata_watcher__gate_cb cb;
    void *arg;
} gop;

static void gate_next(gop *o);

static void
gop_end(gop *o, int canceled)
{
    size_t i;
    strata_watcher__verdict *v = o->v;

    for (i = 0; i < o->n; i++)
        free(o->digests[i]);
    free(o->digests);
    strata_ref_free(o->target);
    o->v = NULL;
    if (canceled) {
        strata_watcher__verdict_free(v);
        v = NULL;
    }
    o->cb(v, o->arg);
    free(o);
}

static void
on_digest_verified(strata_verify_result *r, unsigned requests,
                   const strata_error *err, void *arg)
{
    gop *o = arg;
    strata_watcher__verdict *v = o->v;
    const char *digest = o->digests[o->i];
    json_t *d;
    size_t k;
    int ok;

    if (err != NULL) {
        gop_end(o, 1);
        return;
    }
    v->requests += requests;
    ok = strata_verify_result_ok(r);
    d = json_pack("{s:s, s:b, s:s}", "digest", digest, "ok", ok, "summary",
                  strata_verify_result_summary(r));
    json_object_set_new(d, "result", strata_verify_result_to_json(r));
    json_array_append_new(v->digests, d);
    for (k = 0; ok && k < strata_verify_result_count(r); k++) {
        strata_verify_entry e = strata_verify_result_entry(r, k);

        if (e.ok && e.signer != NULL && o->i == 0)
            json_array_append_new(v->signers, signer_json(e.signer));
    }
    if (!ok && v->ok) {
        v->ok = 0;
        free(v->summary);
        v->summary = o->i == 0
                         ? strata_xstrdup(strata_verify_result_summary(r))
                         : strata_xasprintf("platform manifest %s: %s", digest,
                                            strata_verify_result_summary(r));
    } else if (ok && o->i == 0) {
        free(v->summary);
        v->summary = strata_xstrdup(strata_verify_result_summary(r));
    }
    strata_verify_result_free(r);
    o->i++;
    gate_next(o);
}

static void
gate_next(gop *o)
{
    strata_error err = {0};

    if (o->i == o->n) {
        gop_end(o, 0);
        return;
    }
    if (strata_watchers_verify_digest(o->w->registry, o->target,
                                      o->digests[o->i], &o->gate->policy, 0,
                                      on_digest_verified, o, &err) != 0) {
        if (err.code == STRATA_ECANCELED) {
            gop_end(o, 1);
            return;
        }
        /* Could not even look: an unverified digest, with the reason. */
        o->v->ok = 0;
        free(o->v->summary);
        o->v->summary = strata_xasprintf("not verified: %s", err.msg);
        o->i++;
        gate_next(o);
    }
}

int
strata_watcher__gate_start(strata_watcher *w, const strata_watcher__gate *gate,
                           const strata_ref *target, const char *const *digests,
                           size_t n, strata_watcher__gate_cb cb, void *arg,
                           strata_error *err)
{
    gop *o = strata_xcalloc(1, sizeof(*o));
    size_t i;
    int rc;

    o->w = w;
    o->gate = gate;
    o->target = strata_ref_dup(target);
    o->digests = strata_xcalloc(n + 1, sizeof(*o->digests));
    for (i = 0; i < n; i++)
        o->digests[i] = strata_xstrdup(digests[i]);
    o->n = n;
    o->cb = cb;
    o->arg = arg;
    o->v = strata_xcalloc(1, sizeof(*o->v));
    o->v->ok = 1;
    o->v->signers = json_array();
    o->v->digests = json_array();
    /* The first lookup starts here; everything after runs from the loop. */
    rc = strata_watchers_verify_digest(w->registry, o->target, digests[0],
                                       &gate->policy, 0, on_digest_verified, o,
                                       err);
    if (rc != 0) {
        for (i = 0; i < n; i++)
            free(o->digests[i]);
        free(o->digests);
        strata_ref_free(o->target);
        strata_watcher__verdict_free(o->v);
        free(o);
    }
    return rc;
}

/* ---- the gate state in the store ---------------------------------------- */

static char *
meta_key(const char *watch_key)
{
    return strata_xasprintf("verify:%s", watch_key);
}

json_t *
strata_watchers_gate_get(strata_store *st, const char *watch_key)
{
    char *key = meta_key(watch_key), *val = NULL;
    json_t *j = NULL;

    if (strata_store_meta_get(&val, st, key, NULL) == 0 && val != NULL)
        j = json_loads(val, 0, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    free(val);
    free(key);
    return j;
}

static int
gate_put(strata_store *st, const char *watch_key, json_t *rec,
         strata_error *err)
{
    char *key = meta_key(watch_key);
    char *val = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = strata_store_meta_set(st, key, val, err);

    free(val);
    free(key);
    return rc;
}

static int
final_state(const char *s)
{
    return s != NULL &&
           (strcmp(s, "verified") == 0 || strcmp(s, "quarantined") == 0 ||
            strcmp(s, "unverified") == 0 || strcmp(s, "approved") == 0);
}

int
strata_watcher__gate_pending(strata_watcher *w, const char *watch_key,
                             const char *digest)
{
    json_t *rec = strata_watchers_gate_get(w->store, watch_key);
    const char *d = json_string_value(json_object_get(rec, "digest"));
    const char *s = json_string_value(json_object_get(rec, "state"));
    int pending = d == NULL || strcmp(d, digest) != 0 || !final_state(s);

    json_decref(rec);
    return pending;
}

int
strata_watcher__gate_record(const char **out_state, strata_watcher *w,
                            const strata_watcher__gate *gate,
                            const char *watch_key, const char *digest,
                            const strata_watcher__verdict *v, int64_t now,
                            strata_error *err)
{
    json_t *prev = strata_watchers_gate_get(w->store, watch_key);
    const char *pd = json_string_value(json_object_get(prev, "digest"));
    const char *ps = json_string_value(json_object_get(prev, "state"));
    int same = pd != NULL && strcmp(pd, digest) == 0;
    int64_t since =
        same ? json_integer_value(json_object_get(prev, "since")) : now;
    int64_t deadline = since + (int64_t) gate->wait_ms;
    const char *state, *event = NULL;
    json_t *rec = NULL, *payload = NULL;
    int checks =
        same ? (int) json_integer_value(json_object_get(prev, "checks")) : 0;
    int rc = 0;

    *out_state = NULL;
    if (same && final_state(ps)) {
        /* Decided meanwhile (an approval from the CLI): leave it. */
        *out_state = strcmp(ps, "verified") == 0      ? "verified"
                     : strcmp(ps, "approved") == 0    ? "approved"
                     : strcmp(ps, "quarantined") == 0 ? "quarantined"
                                                      : "unverified";
        goto out;
    }
    if (v->ok) {
        state = "verified";
        event = "base.verified";
    } else if (now >= deadline) {
        state = gate->mode == STRATA_CONFIG_VERIFY_WARN ? "unverified"
                                                        : "quarantined";
        event = "base.signature_failed";
    } else {
        state = "awaiting";
    }
    rec = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:s*}", "digest", digest, "state",
        state, "mode", strata_config_verify_mode_name(gate->mode), "since",
        (json_int_t) since, "checked", (json_int_t) now, "deadline",
        (json_int_t) deadline, "checks", checks + 1, "reason", v->summary);
    json_object_set(rec, "verified_by", v->signers);
    json_object_set(rec, "digests", v->digests);
    if ((rc = gate_put(w->store, watch_key, rec, err)) != 0)
        goto out;
    if (event != NULL) {
        payload = json_pack("{s:s, s:s, s:s, s:s, s:s*}", "base", watch_key,
                            "digest", digest, "state", state, "mode",
                            strata_config_verify_mode_name(gate->mode),
                            v->ok ? "summary" : "reason", v->summary);
        if (v->ok)
            json_object_set(payload, "verified_by", v->signers);
        else
            json_object_set_new(payload, "waited_ms",
                                json_integer(now - since));
        if (!w->opts.no_events &&
            (rc = strata_store_event_append(NULL, w->store, event, watch_key,
                                            payload, now, err)) != 0)
            goto out;
        if (w->opts.on_gate != NULL &&
            (rc = w->opts.on_gate(event, payload, err, w->opts.arg)) != 0) {
            if (err->code == 0)
                strata_error_set(err, STRATA_EINTERNAL,
                                 "recording '%s' for '%s' failed", event,
                                 watch_key);
            rc = err->code;
            goto out;
        }
    }
    log_info("watch '%s': %s is %s: %s", watch_key, digest, state,
             v->summary ? v->summary : "");
    *out_state = state;
out:
    json_decref(prev);
    json_decref(rec);
    json_decref(payload);
    return rc;
}

int
strata_watchers_gate_approve(strata_store *st, const char *watch_key,
                             const char *digest, const char *who, int64_t now,
                             strata_error *err)
{
    json_t *rec = strata_watchers_gate_get(st, watch_key), *payload = NULL;
    const char *d = json_string_value(json_object_get(rec, "digest"));
    const char *state = json_string_value(json_object_get(rec, "state"));
    char *prior = NULL;
    int rc;

    if (rec == NULL || d == NULL || state == NULL) {
        rc = strata_error_set(err, STRATA_ENOTFOUND,
                              "'%s' has no signature verdict: nothing to "
                              "override",
                              watch_key);
        goto out;
    }
    if (strcmp(d, digest) != 0) {
        rc = strata_error_set(err, STRATA_ECONFLICT,
                              "the signature verdict of '%s' is about %s, not "
                              "%s: nothing approved",
                              watch_key, d, digest);
        goto out;
    }
    if (strcmp(state, "verified") == 0 || strcmp(state, "approved") == 0) {
        rc = strata_error_set(err, STRATA_ECONFLICT,
                              "'%s@%s' is %s already: nothing to override",
                              watch_key, digest, state);
        goto out;
    }
    prior = strata_xstrdup(state);
    json_object_set_new(rec, "state", json_string("approved"));
    json_object_set_new(rec, "prior_state", json_string(prior));
    json_object_set_new(rec, "approved_by", json_string(who));
    json_object_set_new(rec, "approved_at", json_integer(now));
    payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s*}", "base", watch_key, "digest",
                  digest, "approved_by", who, "prior_state", prior, "reason",
                  json_string_value(json_object_get(rec, "reason")));
    /* The override and its audit event: both or neither. */
    if ((rc = strata_store_begin(st, err)) != 0)
        goto out;
    if ((rc = gate_put(st, watch_key, rec, err)) != 0 ||
        (rc = strata_store_event_append(NULL, st, "base.unsigned_approved",
                                        watch_key, payload, now, err)) != 0 ||
        (rc = strata_store_commit(st, err)) != 0) {
        strata_store_rollback(st);
        goto out;
    }
    log_warn("'%s@%s' approved unsigned by %s (was %s)", watch_key, digest, who,
             prior);
out:
    free(prior);
    json_decref(rec);
    json_decref(payload);
    return rc;
}
