/*
 * tlog.c - transparency-log entries (Rekor v1 and v2): the signed entry
 * timestamp (the log's signature over the canonical JSON of body,
 * integratedTime, logID and logIndex), the RFC 6962 inclusion proof of the
 * entry's leaf hash, and the checkpoint (a signed note: origin, tree size
 * and root hash, then "— name base64(keyhint || signature)" lines) that
 * vouches for the proof's root hash.
 *
 * What an entry must carry depends on where it came from: a v0.1 bundle
 * or cosign's bundle annotation needs a signed entry timestamp; a v0.2+
 * bundle needs an inclusion proof with a checkpoint; a Rekor v2 entry has
 * no integrated time and always needs the proof.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "verify-int.h"

#define MAX_CHECKPOINT 8192

static void
hash_leaf(unsigned char out[32], const void *data, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char zero = 0;
    unsigned int n = 32;

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, &zero, 1);
    EVP_DigestUpdate(ctx, data, len);
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
}

static void
hash_children(unsigned char out[32], const unsigned char l[32],
              const unsigned char r[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char one = 1;
    unsigned int n = 32;

    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, &one, 1);
    EVP_DigestUpdate(ctx, l, 32);
    EVP_DigestUpdate(ctx, r, 32);
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
}

/* RFC 9162, 2.1.3.2: verifying an inclusion proof. */
int
strata_verify__merkle_inclusion(int64_t index, int64_t size,
                                const unsigned char leaf_hash[32],
                                const unsigned char (*proof)[32], size_t nproof,
                                const unsigned char root_hash[32])
{
    uint64_t fn, sn;
    unsigned char r[32], t[32];
    size_t i;

    if (index < 0 || size <= 0 || index >= size)
        return 0;
    fn = (uint64_t) index;
    sn = (uint64_t) size - 1;
    memcpy(r, leaf_hash, 32);
    for (i = 0; i < nproof; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            hash_children(t, proof[i], r);
            memcpy(r, t, 32);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            hash_children(t, r, proof[i]);
            memcpy(r, t, 32);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && CRYPTO_memcmp(r, root_hash, 32) == 0;
}

static int
parse_uint(int64_t *out, const char *s, size_t n)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char) s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
strata_verify__checkpoint_verify(int64_t *size, unsigned char root[32],
                                 const char *text,
                                 const strata_verify__log *log,
                                 strata_error *err)
{
    static const char dash[] = "\xe2\x80\x94 "; /* U+2014 and a space */
    const char *sep, *sigs, *p, *nl, *first;
    size_t len = text ? strlen(text) : 0, note_len;
    unsigned char *rh = NULL;
    size_t rhlen;
    int found_hint = 0;

    if (len == 0 || len > MAX_CHECKPOINT)
        return strata_verify__fail(err, "checkpoint is empty or too big");
    sep = strstr(text, "\n\n");
    if (sep == NULL || strstr(sep + 2, "\n\n") != NULL)
        return strata_verify__fail(err, "checkpoint is malformed: it needs "
                                        "exactly one blank line before its "
                                        "signatures");
    note_len = (size_t) (sep - text) + 1;
    sigs = sep + 2;
    if (*sigs == '\0' || text[len - 1] != '\n')
        return strata_verify__fail(err, "checkpoint has no signature");

    /* The note: origin, tree size, root hash, then anything. */
    first = text;
    nl = memchr(first, '\n', note_len);
    if (nl == NULL || nl == first)
        return strata_verify__fail(err, "checkpoint has no origin line");
    p = nl + 1;
    nl = memchr(p, '\n', note_len - (size_t) (p - text));
    if (nl == NULL || parse_uint(size, p, (size_t) (nl - p)) < 0)
        return strata_verify__fail(err, "checkpoint has no tree size");
    p = nl + 1;
    nl = memchr(p, '\n', note_len - (size_t) (p - text));
    if (nl == NULL ||
        strata_verify__b64dec(&rh, &rhlen, p, (size_t) (nl - p), 0) < 0 ||
        rhlen != 32) {
        free(rh);
        return strata_verify__fail(err, "checkpoint has no root hash");
    }
    memcpy(root, rh, 32);
    free(rh);

    /* The signatures: one whose key hint is the log's must verify. */
    for (p = sigs; *p != '\0'; p = nl + 1) {
        const char *name, *b64, *sp;
        unsigned char *sig = NULL;
        size_t siglen;
        nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        if ((size_t) (nl - p) < sizeof(dash) ||
            memcmp(p, dash, sizeof(dash) - 1) != 0)
            return strata_verify__fail(err, "checkpoint has a malformed "
                                            "signature line");
        name = p + sizeof(dash) - 1;
        sp = memchr(name, ' ', (size_t) (nl - name));
        if (sp == NULL || sp == name)
            return strata_verify__fail(err, "checkpoint has a malformed "
                                            "signature line");
        b64 = sp + 1;
        if (strata_verify__b64dec(&sig, &siglen, b64, (size_t) (nl - b64), 0) <
                0 ||
            siglen < 5) {
            free(sig);
            return strata_verify__fail(err, "checkpoint has a malformed "
                                            "signature");
        }
        if (memcmp(sig, log->id, 4) == 0) {
            found_hint = 1;
            if (strata_verify__sig_verify(log->key, NULL, text, note_len,
                                          sig + 4, siglen - 4)) {
                free(sig);
                return 0;
            }
        }
        free(sig);
    }
    if (found_hint)
        return strata_verify__fail(err, "checkpoint signature does not verify "
                                        "under the log's key");
    return strata_verify__fail(err, "checkpoint has no signature from the "
                                    "transparency log of the entry");
}

static int
verify_set(const strata_verify__log *log, const strata_verify__tlog_entry *e)
{
    char *body = strata_verify__b64enc(e->body, e->body_len);
    char hex[2 * sizeof(e->log_id) + 1];
    char *canon;
    int ok;

    strata_verify__hex(hex, e->log_id, e->log_id_len);
    /* RFC 8785 canonical JSON: keys sorted, no whitespace. */
    canon = strata_xasprintf("{\"body\":\"%s\",\"integratedTime\":%lld,"
                             "\"logID\":\"%s\",\"logIndex\":%lld}",
                             body, (long long) e->integrated_time, hex,
                             (long long) e->log_index);
    ok = strata_verify__sig_verify(log->key, NULL, canon, strlen(canon), e->set,
                                   e->set_len);
    free(body);
    free(canon);
    return ok;
}

static int
is_rekor_v2(const strata_verify__tlog_entry *e)
{
    return strcmp(e->version, "0.0.2") == 0 &&
           (strcmp(e->kind, "hashedrekord") == 0 ||
            strcmp(e->kind, "dsse") == 0);
}

int
strata_verify__tlog_verify(int64_t *time_out,
                           const strata_verify__log **log_out,
                           const strata_verify_trusted_root *root,
                           const strata_verify__tlog_entry *e, int version,
                           strata_error *err)
{
    const strata_verify__log *log;
    char hex[2 * sizeof(e->log_id) + 1];
    int v2 = is_rekor_v2(e);

    *time_out = -1;
    *log_out = NULL;
    if (e->log_index < 0)
        return strata_verify__fail(err, "log entry has a negative log index");
    log = strata_verify__root_tlog(root, e->log_id, e->log_id_len);
    if (log == NULL) {
        strata_verify__hex(hex, e->log_id, e->log_id_len);
        return strata_verify__fail(err,
                                   "log entry is from a transparency log the "
                                   "trusted root does not list (log id %s)",
                                   hex);
    }
    *log_out = log;

    if (e->has_proof) {
        unsigned char leaf[32], cp_root[32];
        int64_t cp_size;
        int rc;
        hash_leaf(leaf, e->body, e->body_len);
        if (!strata_verify__merkle_inclusion(
                e->proof_index, e->tree_size, leaf,
                (const unsigned char(*)[32]) e->hashes, e->nhashes,
                e->root_hash))
            return strata_verify__fail(err, "log entry's inclusion proof "
                                            "does not verify");
        if (e->checkpoint != NULL) {
            rc = strata_verify__checkpoint_verify(&cp_size, cp_root,
                                                  e->checkpoint, log, err);
            if (rc < 0)
                return rc;
            if (cp_size != e->tree_size ||
                CRYPTO_memcmp(cp_root, e->root_hash, 32) != 0)
                return strata_verify__fail(err,
                                           "checkpoint is for another tree "
                                           "than the inclusion proof (root "
                                           "hash or size differ)");
        } else if (version >= 2 || v2) {
            return strata_verify__fail(err, "log entry's inclusion proof has "
                                            "no checkpoint");
        }
    } else if (version >= 2 || v2) {
        return strata_verify__fail(err, "log entry has no inclusion proof");
    }

    if (e->set != NULL) {
        if (!e->has_integrated_time)
            return strata_verify__fail(err, "log entry has a signed entry "
                                            "timestamp but no integrated "
                                            "time");
        if (!verify_set(log, e))
            return strata_verify__fail(err,
                                       "signed entry timestamp does not "
                                       "verify under the transparency log's "
                                       "key");
        *time_out = e->integrated_time;
    } else if (version < 2 && !v2) {
        return strata_verify__fail(err, "log entry has no signed entry "
                                        "timestamp");
    }
    return 0;
}
