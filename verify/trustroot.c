/*
 * trustroot.c - Sigstore trusted roots (trusted_root.json, media type
 * application/vnd.dev.sigstore.trustedroot+json;version=0.1): the Rekor
 * logs, Fulcio certificate authorities, CT logs and timestamp authorities
 * every keyless verification is anchored in. Parsed whole and checked
 * before use; each problem names the file and the element.
 *
 * The CT logs also become an OpenSSL CTLOG_STORE, which SCT validation
 * needs. OpenSSL fills such a store only from a configuration file, so
 * one is written to an anonymous memory file (memfd) and loaded from
 * there.
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify-int.h"

typedef struct parse_ctx {
    const char *name;
    strata_error *err;
} parse_ctx;

static int bad(parse_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(parse_ctx *c, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return strata_error_set(c->err, STRATA_EINVAL, "trusted root '%s': %s",
                            c->name, msg);
}

/* validFor: {start (required), end (optional)}; closed at both ends. */
static int
parse_range(parse_ctx *c, json_t *v, const char *where, int64_t *start,
            int64_t *end)
{
    json_t *s, *e;

    *start = INT64_MIN;
    *end = INT64_MAX;
    if (v == NULL)
        return bad(c, "%s has no validFor", where);
    if (!json_is_object(v))
        return bad(c, "%s.validFor is not an object", where);
    s = json_object_get(v, "start");
    e = json_object_get(v, "end");
    if (s == NULL)
        return bad(c, "%s.validFor has no start", where);
    if (!json_is_string(s) ||
        strata_verify__parse_time(start, json_string_value(s)) < 0)
        return bad(c, "%s.validFor.start is not an RFC 3339 time", where);
    if (e != NULL && !json_is_null(e) &&
        (!json_is_string(e) ||
         strata_verify__parse_time(end, json_string_value(e)) < 0))
        return bad(c, "%s.validFor.end is not an RFC 3339 time", where);
    if (*end < *start)
        return bad(c, "%s.validFor ends before it starts", where);
    return 0;
}

static int
parse_log(parse_ctx *c, strata_verify__log *log, json_t *j, const char *where)
{
    json_t *pk, *lid;
    unsigned char *raw = NULL, *id = NULL;
    size_t rawlen, idlen;
    char w[96];
    int rc;

    if (!json_is_object(j))
        return bad(c, "%s is not an object", where);
    log->url = strata_xstrdup(strata_verify__jstr(j, "baseUrl")
                                  ? strata_verify__jstr(j, "baseUrl")
                                  : "");
    pk = json_object_get(j, "publicKey");
    if (!json_is_object(pk))
        return bad(c, "%s has no publicKey", where);
    if (strata_verify__b64dec_str(&raw, &rawlen,
                                  strata_verify__jstr(pk, "rawBytes")) < 0) {
        free(raw);
        return bad(c, "%s.publicKey.rawBytes is missing or not base64", where);
    }
    log->key = strata_verify__pkey_from_der(raw, rawlen);
    free(raw);
    if (log->key == NULL)
        return bad(c, "%s.publicKey.rawBytes is not a DER public key", where);
    snprintf(w, sizeof(w), "%s.publicKey", where);
    rc = parse_range(c, json_object_get(pk, "validFor"), w, &log->start,
                     &log->end);
    if (rc < 0)
        return rc;
    lid = json_object_get(j, "logId");
    if (strata_verify__b64dec_str(&id, &idlen,
                                  strata_verify__jstr(lid, "keyId")) < 0 ||
        idlen < 4 || idlen > sizeof(log->id)) {
        free(id);
        return bad(c, "%s.logId.keyId is missing or not a base64 log id",
                   where);
    }
    memcpy(log->id, id, idlen);
    log->idlen = idlen;
    free(id);
    return 0;
}

static int
parse_authority(parse_ctx *c, strata_verify__authority *a, json_t *j,
                const char *where)
{
    json_t *certs, *cert;
    size_t i;
    char w[96];

    if (!json_is_object(j))
        return bad(c, "%s is not an object", where);
    a->uri = strata_xstrdup(
        strata_verify__jstr(j, "uri") ? strata_verify__jstr(j, "uri") : "");
    a->certs = sk_X509_new_null();
    certs = json_object_get(json_object_get(j, "certChain"), "certificates");
    if (!json_is_array(certs) || json_array_size(certs) == 0)
        return bad(c, "%s.certChain.certificates is missing or empty", where);
    if (json_array_size(certs) > STRATA_VERIFY__MAX_CERTS)
        return bad(c, "%s.certChain has too many certificates", where);
    json_array_foreach (certs, i, cert) {
        unsigned char *der = NULL;
        const unsigned char *p;
        size_t len;
        X509 *x;

        if (strata_verify__b64dec_str(
                &der, &len, strata_verify__jstr(cert, "rawBytes")) < 0) {
            free(der);
            return bad(c,
                       "%s.certChain.certificates[%zu].rawBytes is not "
                       "base64",
                       where, i);
        }
        p = der;
        x = d2i_X509(NULL, &p, (long) len);
        if (x == NULL || p != der + len) {
            X509_free(x);
            free(der);
            ERR_clear_error();
            return bad(c,
                       "%s.certChain.certificates[%zu] is not a DER "
                       "certificate",
                       where, i);
        }
        free(der);
        sk_X509_push(a->certs, x);
    }
    snprintf(w, sizeof(w), "%s", where);
    return parse_range(c, json_object_get(j, "validFor"), w, &a->start,
                       &a->end);
}

static void
log_release(strata_verify__log *l)
{
    free(l->url);
    EVP_PKEY_free(l->key);
}

static void
authority_release(strata_verify__authority *a)
{
    free(a->uri);
    sk_X509_pop_free(a->certs, X509_free);
}

void
strata_verify_trusted_root_free(strata_verify_trusted_root *root)
{
    size_t i;

    if (root == NULL)
        return;
    for (i = 0; i < root->ntlogs; i++)
        log_release(&root->tlogs[i]);
    for (i = 0; i < root->nctlogs; i++)
        log_release(&root->ctlogs[i]);
    for (i = 0; i < root->ncas; i++)
        authority_release(&root->cas[i]);
    for (i = 0; i < root->ntsas; i++)
        authority_release(&root->tsas[i]);
    free(root->tlogs);
    free(root->ctlogs);
    free(root->cas);
    free(root->tsas);
    CTLOG_STORE_free(root->ctstore);
    free(root->name);
    free(root);
}

/*
 * OpenSSL reads CT logs only from a configuration file ("enabled_logs"
 * and one section per log with its base64 DER key): write one to a
 * memory file and load it.
 */
static int
build_ctstore(parse_ctx *c, strata_verify_trusted_root *root)
{
    strata_buf conf = STRATA_BUF_INIT;
    char path[64];
    size_t i, off;
    int fd, ok;

    root->ctstore = CTLOG_STORE_new();
    if (root->ctstore == NULL)
        return bad(c, "cannot make a CT log store");
    if (root->nctlogs == 0)
        return 0;
    strata_buf_puts(&conf, "enabled_logs = ");
    for (i = 0; i < root->nctlogs; i++)
        strata_buf_printf(&conf, "%slog%zu", i ? "," : "", i);
    strata_buf_puts(&conf, "\n");
    for (i = 0; i < root->nctlogs; i++) {
        unsigned char *der = NULL;
        char *b64;
        int n = i2d_PUBKEY(root->ctlogs[i].key, &der);
        if (n <= 0) {
            strata_buf_release(&conf);
            return bad(c, "ctlogs[%zu].publicKey cannot be encoded", i);
        }
        b64 = strata_verify__b64enc(der, (size_t) n);
        OPENSSL_free(der);
        strata_buf_printf(&conf, "[log%zu]\ndescription = log%zu\nkey = %s\n",
                          i, i, b64);
        free(b64);
    }
    fd = memfd_create("strata-ctlogs", MFD_CLOEXEC);
    if (fd < 0) {
        strata_buf_release(&conf);
        return bad(c, "cannot make a memory file for the CT log store");
    }
    for (off = 0; off < conf.len;) {
        ssize_t w = write(fd, conf.ptr + off, conf.len - off);
        if (w <= 0) {
            close(fd);
            strata_buf_release(&conf);
            return bad(c, "cannot write the CT log store");
        }
        off += (size_t) w;
    }
    strata_buf_release(&conf);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ok = CTLOG_STORE_load_file(root->ctstore, path);
    close(fd);
    ERR_clear_error();
    if (!ok)
        return bad(c, "cannot load the CT logs into OpenSSL's store");
    return 0;
}

static int
parse_logs(parse_ctx *c, json_t *doc, const char *key, strata_verify__log **out,
           size_t *n)
{
    json_t *arr = json_object_get(doc, key), *v;
    size_t i;
    char where[64];
    int rc;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return bad(c, "%s is not an array", key);
    if (json_array_size(arr) > 64)
        return bad(c, "%s has too many entries", key);
    *out = strata_xcalloc(json_array_size(arr) + 1, sizeof(**out));
    json_array_foreach (arr, i, v) {
        snprintf(where, sizeof(where), "%s[%zu]", key, i);
        (*n)++;
        rc = parse_log(c, &(*out)[i], v, where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int
parse_authorities(parse_ctx *c, json_t *doc, const char *key,
                  strata_verify__authority **out, size_t *n)
{
    json_t *arr = json_object_get(doc, key), *v;
    size_t i;
    char where[64];
    int rc;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return bad(c, "%s is not an array", key);
    if (json_array_size(arr) > 64)
        return bad(c, "%s has too many entries", key);
    *out = strata_xcalloc(json_array_size(arr) + 1, sizeof(**out));
    json_array_foreach (arr, i, v) {
        snprintf(where, sizeof(where), "%s[%zu]", key, i);
        (*n)++;
        rc = parse_authority(c, &(*out)[i], v, where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
strata_verify_trusted_root_parse(strata_verify_trusted_root **out,
                                 const void *data, size_t len, const char *name,
                                 strata_error *err)
{
    strata_verify_trusted_root *root;
    parse_ctx c = {name ? name : "trusted_root.json", err};
    json_error_t jerr;
    const char *mt;
    json_t *doc;
    int rc;

    *out = NULL;
    if (len > STRATA_VERIFY_MAX_INPUT)
        return bad(&c, "too big (%zu bytes)", len);
    doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return bad(&c, "line %d: %s", jerr.line, jerr.text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bad(&c, "not a JSON object");
    }
    mt = strata_verify__jstr(doc, "mediaType");
    if (mt == NULL ||
        (strcmp(mt, "application/vnd.dev.sigstore.trustedroot+json;"
                    "version=0.1") != 0 &&
         strcmp(mt, "application/vnd.dev.sigstore.trustedroot.v0.1+json") !=
             0)) {
        rc = bad(&c, "mediaType is '%.100s', not a trusted root v0.1",
                 mt ? mt : "(none)");
        json_decref(doc);
        return rc;
    }
    root = strata_xcalloc(1, sizeof(*root));
    root->name = strata_xstrdup(c.name);
    rc = parse_logs(&c, doc, "tlogs", &root->tlogs, &root->ntlogs);
    if (rc == 0)
        rc = parse_logs(&c, doc, "ctlogs", &root->ctlogs, &root->nctlogs);
    if (rc == 0)
        rc = parse_authorities(&c, doc, "certificateAuthorities", &root->cas,
                               &root->ncas);
    if (rc == 0)
        rc = parse_authorities(&c, doc, "timestampAuthorities", &root->tsas,
                               &root->ntsas);
    json_decref(doc);
    if (rc == 0 && root->ntlogs == 0 && root->ncas == 0 && root->ntsas == 0)
        rc = bad(&c, "no transparency logs, certificate or timestamp "
                     "authorities");
    if (rc == 0)
        rc = build_ctstore(&c, root);
    if (rc < 0) {
        strata_verify_trusted_root_free(root);
        return rc;
    }
    snprintf(root->summary, sizeof(root->summary),
             "%zu transparency log%s, %zu certificate authorit%s, %zu CT "
             "log%s, %zu timestamp authorit%s",
             root->ntlogs, root->ntlogs == 1 ? "" : "s", root->ncas,
             root->ncas == 1 ? "y" : "ies", root->nctlogs,
             root->nctlogs == 1 ? "" : "s", root->ntsas,
             root->ntsas == 1 ? "y" : "ies");
    *out = root;
    return 0;
}

int
strata_verify_trusted_root_load(strata_verify_trusted_root **out,
                                const char *path, strata_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, STRATA_VERIFY_MAX_INPUT, err);
    if (rc < 0)
        return rc == STRATA_ETOOBIG
                   ? strata_error_set(err, STRATA_EINVAL,
                                      "trusted root '%s' is too big", path)
                   : rc;
    rc = strata_verify_trusted_root_parse(out, data, len, path, err);
    free(data);
    return rc;
}

const char *
strata_verify_trusted_root_summary(const strata_verify_trusted_root *root)
{
    return root->summary;
}

const strata_verify__log *
strata_verify__root_tlog(const strata_verify_trusted_root *root,
                         const unsigned char *id, size_t idlen)
{
    size_t i;

    for (i = 0; i < root->ntlogs; i++)
        if (root->tlogs[i].idlen == idlen &&
            memcmp(root->tlogs[i].id, id, idlen) == 0)
            return &root->tlogs[i];
    return NULL;
}
