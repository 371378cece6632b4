/*
 * tsa.c - RFC 3161 timestamps (Sigstore's timestampVerificationData): a
 * TimeStampResp over the signature bytes, verified with OpenSSL's TS_*
 * against each timestamp authority of the trusted root in turn. The
 * signer's chain is checked at the time the token states, so a TSA whose
 * certificate has since expired still vouches for what it stamped while
 * valid; the time must also fall inside the authority's validFor.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ts.h>

#include "verify-int.h"

/*
 * One authority: its last certificate is the anchor, the others (the TSA
 * leaf first) help find the signer when the token does not embed it.
 */
static int
tsa_once(const strata_verify__authority *tsa, TS_RESP *resp, int64_t gen,
         const unsigned char *data, size_t dlen, char *why, size_t whylen)
{
    TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509_VERIFY_PARAM *param;
    BIO *bio = BIO_new_mem_buf(data, (int) dlen);
    X509 *anchor;
    int n = sk_X509_num(tsa->certs), i, ok = 0;

    if (ctx == NULL || store == NULL || certs == NULL || bio == NULL || n == 0)
        goto out;
    anchor = sk_X509_value(tsa->certs, n - 1);
    X509_STORE_add_cert(store, anchor);
    for (i = 0; i < n - 1; i++) {
        X509 *x = sk_X509_value(tsa->certs, i);
        X509_up_ref(x);
        sk_X509_push(certs, x);
    }
    param = X509_STORE_get0_param(store);
    X509_VERIFY_PARAM_set_time(param, (time_t) gen);
    if (!strata_verify__cert_is_root(anchor))
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    TS_VERIFY_CTX_set_flags(ctx,
                            TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
    /* The context owns what it is given from here on. */
    TS_VERIFY_CTX_set_store(ctx, store);
    store = NULL;
    TS_VERIFY_CTX_set_certs(ctx, certs);
    certs = NULL;
    TS_VERIFY_CTX_set_data(ctx, bio);
    bio = NULL;
    ok = TS_RESP_verify_response(ctx, resp) == 1;
    if (!ok) {
        const char *extra = NULL;
        int eflags = 0;
        unsigned long e = ERR_peek_last_error_data(&extra, &eflags);
        const char *r = e ? ERR_reason_error_string(e) : NULL;
        if (!(eflags & ERR_TXT_STRING) || extra == NULL)
            extra = "";
        snprintf(why, whylen, "%s%s%s%s", r ? r : "verification failed",
                 *extra ? " (" : "", extra, *extra ? ")" : "");
    }
out:
    TS_VERIFY_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

int
strata_verify__tsa_verify(int64_t *out, const strata_verify_trusted_root *root,
                          const unsigned char *der, size_t len,
                          const unsigned char *data, size_t dlen,
                          strata_error *err)
{
    const unsigned char *p = der;
    TS_RESP *resp;
    TS_TST_INFO *tst;
    int64_t gen;
    char when[32];
    size_t i;
    char why[128] = "verification failed";
    int crypto_ok = 0;

    *out = 0;
    if (len == 0 || len > (1u << 20) || data == NULL || dlen == 0)
        return strata_verify__fail(err, "RFC 3161 timestamp is empty or too "
                                        "big");
    resp = d2i_TS_RESP(NULL, &p, (long) len);
    if (resp == NULL || p != der + len) {
        TS_RESP_free(resp);
        ERR_clear_error();
        return strata_verify__fail(err, "RFC 3161 timestamp is not a DER "
                                        "TimeStampResp");
    }
    tst = TS_RESP_get_tst_info(resp);
    if (tst == NULL ||
        strata_verify__asn1_time(&gen, TS_TST_INFO_get_time(tst)) < 0) {
        TS_RESP_free(resp);
        ERR_clear_error();
        return strata_verify__fail(err, "RFC 3161 timestamp has no token or "
                                        "no time");
    }
    strata_verify__fmt_time(when, sizeof(when), gen);
    for (i = 0; i < root->ntsas; i++) {
        if (!tsa_once(&root->tsas[i], resp, gen, data, dlen, why, sizeof(why)))
            continue;
        crypto_ok = 1;
        if (gen < root->tsas[i].start || gen > root->tsas[i].end)
            continue;
        TS_RESP_free(resp);
        *out = gen;
        return 0;
    }
    TS_RESP_free(resp);
    if (root->ntsas == 0)
        return strata_verify__fail(err, "bundle has an RFC 3161 timestamp "
                                        "but the trusted root lists no "
                                        "timestamp authority");
    if (crypto_ok)
        return strata_verify__fail(err,
                                   "RFC 3161 timestamp of %s is outside the "
                                   "validity of its timestamp authority in "
                                   "the trusted root",
                                   when);
    return strata_verify__fail(err,
                               "RFC 3161 timestamp of %s does not verify "
                               "over this signature under a timestamp "
                               "authority of the trusted root: %s",
                               when, why);
}
