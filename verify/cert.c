/*
 * cert.c - Fulcio signing certificates: the chain to a certificate
 * authority of the trusted root at the signing time (X509_verify_cert with
 * that check time), the embedded SCTs (OpenSSL's CT API, which rebuilds the
 * precertificate), the code-signing profile, and the identity: the SAN
 * (email or URI) and the OIDC issuer extension (1.3.6.1.4.1.57264.1.8, or
 * the legacy .1.1 whose value is the raw string).
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "verify-int.h"

#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"
#define MAX_IDENTITY 4096

int
strata_verify__cert_is_root(X509 *cert)
{
    return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
}

static int
chain_once(X509 **issuer, const strata_verify__authority *ca, X509 *leaf,
           int64_t t, const char **why)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_VERIFY_PARAM *param;
    X509 *anchor;
    int n = sk_X509_num(ca->certs), i, ok = 0;

    if (store == NULL || ctx == NULL || untrusted == NULL || n == 0) {
        *why = "out of memory";
        goto out;
    }
    /*
     * The chain as the trusted root lists it: the last certificate is the
     * anchor, the others intermediates. A chain that ends below a root is
     * anchored where it ends (the trusted root says so).
     */
    anchor = sk_X509_value(ca->certs, n - 1);
    X509_STORE_add_cert(store, anchor);
    for (i = 0; i < n - 1; i++)
        sk_X509_push(untrusted, sk_X509_value(ca->certs, i));
    if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted)) {
        *why = "cannot start chain verification";
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t) t);
    if (!strata_verify__cert_is_root(anchor))
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) == 1) {
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
        if (sk_X509_num(chain) >= 2) {
            *issuer = sk_X509_value(chain, 1);
            X509_up_ref(*issuer);
            ok = 1;
        } else {
            *why = "the certificate is itself a trust anchor";
        }
    } else {
        *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    }
out:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return ok;
}

int
strata_verify__cert_chain(X509 **issuer, const strata_verify_trusted_root *root,
                          X509 *leaf, int64_t t, strata_error *err)
{
    const char *why = "no certificate authority of the trusted root is valid "
                      "at that time";
    char when[32];
    size_t i;

    *issuer = NULL;
    for (i = 0; i < root->ncas; i++) {
        const strata_verify__authority *ca = &root->cas[i];
        if (t < ca->start || t > ca->end)
            continue;
        if (chain_once(issuer, ca, leaf, t, &why))
            return 0;
    }
    strata_verify__fmt_time(when, sizeof(when), t);
    return strata_verify__fail(err,
                               "certificate does not chain to a certificate "
                               "authority of the trusted root at %s: %s",
                               when, why);
}

/* Whether the CT log that signed sct was valid (validFor) when it did. */
static int
ctlog_valid_at(const strata_verify_trusted_root *root, const SCT *sct)
{
    unsigned char *id = NULL;
    size_t idlen = SCT_get0_log_id(sct, &id), i;
    int64_t t = (int64_t) (SCT_get_timestamp(sct) / 1000u);

    /* The log's id as OpenSSL found it: the sha256 of its key. */
    for (i = 0; i < root->nctlogs; i++) {
        const strata_verify__log *log = &root->ctlogs[i];
        unsigned char *der = NULL, h[32];
        int n = i2d_PUBKEY(log->key, &der);
        if (n <= 0)
            continue;
        strata_verify__sha256(h, der, (size_t) n);
        OPENSSL_free(der);
        if (idlen == 32 && memcmp(h, id, 32) == 0)
            return t >= log->start && t <= log->end;
    }
    return 0;
}

int
strata_verify__cert_sct(X509 *leaf, X509 *issuer,
                        const strata_verify_trusted_root *root, int64_t now,
                        strata_error *err)
{
    STACK_OF(SCT) * scts;
    CT_POLICY_EVAL_CTX *ctx;
    uint64_t limit = ((uint64_t) now + 300u) * 1000u;
    int i, valid = 0, unknown = 0, invalid = 0, future = 0, outside = 0;

    scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
    if (scts == NULL) {
        ERR_clear_error();
        return strata_verify__fail(err, "certificate has no embedded SCT");
    }
    ctx = CT_POLICY_EVAL_CTX_new();
    if (ctx == NULL) {
        SCT_LIST_free(scts);
        return strata_error_set(err, STRATA_EINTERNAL,
                                "cannot make a CT policy context");
    }
    CT_POLICY_EVAL_CTX_set1_cert(ctx, leaf);
    CT_POLICY_EVAL_CTX_set1_issuer(ctx, issuer);
    CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(ctx, root->ctstore);
    /*
     * An SCT may not come from the future, but the log's clock may run a
     * little ahead of ours: allow OpenSSL's own default drift, 5 minutes.
     */
    CT_POLICY_EVAL_CTX_set_time(ctx, limit);
    /* The list's verdict is "all valid"; one valid SCT is what counts. */
    SCT_LIST_validate(scts, ctx);
    for (i = 0; i < sk_SCT_num(scts); i++) {
        switch (SCT_get_validation_status(sk_SCT_value(scts, i))) {
        case SCT_VALIDATION_STATUS_VALID:
            if (ctlog_valid_at(root, sk_SCT_value(scts, i)))
                valid++;
            else
                outside++;
            break;
        case SCT_VALIDATION_STATUS_UNKNOWN_LOG:
            unknown++;
            break;
        default:
            if (SCT_get_timestamp(sk_SCT_value(scts, i)) > limit)
                future++;
            else
                invalid++;
            break;
        }
    }
    CT_POLICY_EVAL_CTX_free(ctx);
    SCT_LIST_free(scts);
    ERR_clear_error();
    if (valid > 0)
        return 0;
    if (invalid > 0)
        return strata_verify__fail(err,
                                   "the certificate's SCT does not verify "
                                   "under the CT log key of the trusted root");
    if (outside > 0)
        return strata_verify__fail(err, "the certificate's SCT is dated "
                                        "outside the validity of its CT log "
                                        "in the trusted root");
    if (future > 0)
        return strata_verify__fail(err, "the certificate's SCT is dated "
                                        "after now (is the clock right?)");
    if (unknown > 0)
        return strata_verify__fail(err, "the certificate's SCT is from a CT "
                                        "log the trusted root does not list");
    return strata_verify__fail(err, "certificate has no embedded SCT");
}

int
strata_verify__cert_profile(X509 *leaf, strata_error *err)
{
    uint32_t flags = X509_get_extension_flags(leaf);

    if (flags & EXFLAG_INVALID)
        return strata_verify__fail(err, "signing certificate has invalid "
                                        "extensions");
    if (flags & EXFLAG_CA)
        return strata_verify__fail(err, "signing certificate is a CA");
    if (!(flags & EXFLAG_KUSAGE) ||
        !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE))
        return strata_verify__fail(err, "signing certificate's key usage is "
                                        "not digitalSignature");
    if (!(flags & EXFLAG_XKUSAGE) ||
        !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN))
        return strata_verify__fail(err, "signing certificate's extended key "
                                        "usage is not codeSigning");
    return 0;
}

/* A copy of n bytes that are printable text, or NULL. */
static char *
text_copy(const unsigned char *p, int n)
{
    int i;

    if (p == NULL || n <= 0 || n > MAX_IDENTITY)
        return NULL;
    for (i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return NULL;
    return strata_xstrndup((const char *) p, (size_t) n);
}

static char *
issuer_ext(X509 *leaf, const char *oid, int der_string)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    X509_EXTENSION *ext;
    ASN1_OCTET_STRING *data;
    char *out = NULL;
    int idx;

    if (obj == NULL)
        return NULL;
    idx = X509_get_ext_by_OBJ(leaf, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0)
        return NULL;
    ext = X509_get_ext(leaf, idx);
    data = X509_EXTENSION_get_data(ext);
    if (data == NULL)
        return NULL;
    if (der_string) {
        const unsigned char *p = ASN1_STRING_get0_data(data);
        ASN1_UTF8STRING *s =
            d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(data));
        if (s != NULL)
            out = text_copy(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
        ASN1_UTF8STRING_free(s);
        ERR_clear_error();
    } else {
        out = text_copy(ASN1_STRING_get0_data(data), ASN1_STRING_length(data));
    }
    return out;
}

void
strata_verify__cert_identity(char **san, char **issuer, X509 *leaf)
{
    GENERAL_NAMES *names;
    int i;

    *san = NULL;
    *issuer = issuer_ext(leaf, OID_ISSUER_V2, 1);
    if (*issuer == NULL)
        *issuer = issuer_ext(leaf, OID_ISSUER_V1, 0);
    names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        ASN1_IA5STRING *s = NULL;
        if (gn->type == GEN_EMAIL)
            s = gn->d.rfc822Name;
        else if (gn->type == GEN_URI)
            s = gn->d.uniformResourceIdentifier;
        if (s == NULL)
            continue;
        *san = text_copy(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
        if (*san != NULL)
            break;
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
}

int
strata_verify_identity_check(const strata_verify_identity *id,
                             strata_error *err)
{
    regex_t re;
    int rc;

    if (id->issuer == NULL || id->issuer[0] == '\0')
        return strata_error_set(err, STRATA_EINVAL,
                                "keyless identity has no issuer");
    if ((id->subject == NULL) == (id->subject_regexp == NULL))
        return strata_error_set(err, STRATA_EINVAL,
                                "keyless identity for issuer '%s' needs "
                                "exactly one of subject and subject_regexp",
                                id->issuer);
    if (id->subject_regexp == NULL)
        return 0;
    rc = regcomp(&re, id->subject_regexp, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &re, msg, sizeof(msg));
        return strata_error_set(err, STRATA_EINVAL,
                                "subject_regexp '%s' does not compile: %s",
                                id->subject_regexp, msg);
    }
    regfree(&re);
    return 0;
}

int
strata_verify__identity_matches(const strata_verify_identity *id,
                                const char *san, const char *issuer)
{
    regex_t re;
    regmatch_t m;
    int ok;

    if (san == NULL || issuer == NULL || id->issuer == NULL ||
        strcmp(id->issuer, issuer) != 0)
        return 0;
    if (id->subject != NULL)
        return strcmp(id->subject, san) == 0;
    if (id->subject_regexp == NULL ||
        regcomp(&re, id->subject_regexp, REG_EXTENDED) != 0)
        return 0;
    /* Leftmost-longest: a whole-string match starts at 0 and ends last. */
    ok = regexec(&re, san, 1, &m, 0) == 0 && m.rm_so == 0 &&
         (size_t) m.rm_eo == strlen(san);
    regfree(&re);
    return ok;
}
