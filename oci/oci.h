/*
 * oci.h - image references and the registry client: parsing and
 * normalising references exactly as Docker's distribution reference
 * grammar does, and speaking the OCI Distribution API through core's
 * HTTP client.
 */
#ifndef STRATA_OCI_H
#define STRATA_OCI_H

#include "core.h"

/* ---- image references ------------------------------------------------- */

/*
 * A parsed, normalised image reference. Opaque; immutable once parsed.
 *   "ubuntu"              -> docker.io/library/ubuntu:latest
 *   "ghcr.io/a/b@sha256:…" -> ghcr.io/a/b@sha256:…  (no tag added)
 *   "x:1@sha256:…"        -> docker.io/library/x:1@sha256:…
 */
typedef struct strata_ref strata_ref;

/*
 * Parses s. On STRATA_EINVAL err says why ("invalid reference 'x': ...").
 * *out is the caller's; free with strata_ref_free().
 */
int strata_ref_parse(strata_ref **out, const char *s, strata_error *err);
void strata_ref_free(strata_ref *ref);
strata_ref *strata_ref_dup(const strata_ref *ref);

/* The canonical string: domain/path[:tag][@digest]. Borrowed. */
const char *strata_ref_string(const strata_ref *ref);
/* domain/path, no tag or digest ("docker.io/library/ubuntu"). Borrowed. */
const char *strata_ref_name(const strata_ref *ref);
/* "docker.io", "localhost:5000", "[::1]:5000". Borrowed. */
const char *strata_ref_domain(const strata_ref *ref);
/* The repository path inside the registry ("library/ubuntu"). Borrowed. */
const char *strata_ref_path(const strata_ref *ref);
/* The tag, or NULL when the reference has only a digest. Borrowed. */
const char *strata_ref_tag(const strata_ref *ref);
/* "sha256:…", or NULL. Borrowed. */
const char *strata_ref_digest(const strata_ref *ref);

/*
 * A new reference: ref with its digest replaced (digest may be NULL to
 * drop it). The tag is kept. Caller frees.
 */
int strata_ref_with_digest(strata_ref **out, const strata_ref *ref,
                           const char *digest, strata_error *err);

/* Validates "algorithm:hex" per the OCI image spec (sha256: 64 hex). */
int strata_digest_validate(const char *digest, strata_error *err);

/* True when the domain is loopback (localhost, 127.0.0.0/8, [::1]). */
int strata_ref_domain_is_loopback(const char *domain);

#endif
