/*
 * sbom.c - an image's package list as a software bill of materials:
 * SPDX 2.3 JSON or CycloneDX 1.6 JSON, built with jansson. Each package
 * carries its package URL (purl, "pkg:deb/debian/bash@5.2.15-2%2Bb2?
 * arch=amd64&distro=debian-12"); the image is the document's subject
 * (SPDX DESCRIBES, CONTAINS each package; CycloneDX metadata.component).
 * Identifiers are derived from the image digest, so the same image gives
 * the same document apart from its creation time.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "packages-int.h"

/* The purl type of an ecosystem ("deb"). */
static const char *
purl_type(const char *ecosystem)
{
    if (ecosystem != NULL && strcmp(ecosystem, "dpkg") == 0)
        return "deb";
    if (ecosystem != NULL && strcmp(ecosystem, "apk") == 0)
        return "apk";
    if (ecosystem != NULL && strcmp(ecosystem, "rpm") == 0)
        return "rpm";
    return "generic";
}

char *
strata_pkg_purl(const strata_pkg_image *img, const strata_pkg *p)
{
    strata_buf b;
    char *ns = strata_xstrdup(img->os_id != NULL ? img->os_id : "unknown");
    char *name = strata_url_escape(p->name), *version;
    char *s;

    for (s = ns; *s; s++)
        *s = (char) tolower((unsigned char) *s);
    strata_buf_init(&b);
    s = strata_url_escape(ns);
    version = strata_url_escape(p->version);
    strata_buf_printf(&b, "pkg:%s/%s/%s@%s", purl_type(img->ecosystem), s, name,
                      version);
    free(s);
    free(version);
    free(name);
    if (p->arch[0] != '\0') {
        s = strata_url_escape(p->arch);
        strata_buf_printf(&b, "?arch=%s", s);
        free(s);
    }
    if (img->os_version_id != NULL) {
        char *d = strata_xasprintf("%s-%s", ns, img->os_version_id);

        s = strata_url_escape(d);
        strata_buf_printf(&b, "%sdistro=%s", p->arch[0] ? "&" : "?", s);
        free(s);
        free(d);
    }
    free(ns);
    return strata_buf_detach(&b);
}

/* A UUID (RFC 4122 layout, version 5 bits) made from the digest. */
static void
uuid_of(char out[37], const char *digest)
{
    char h[65];

    strata_sha256_hex(h, digest, strlen(digest));
    h[12] = '5';
    h[16] = "89ab"[h[16] % 4];
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
             h + 20);
}

static json_t *
spdx(const strata_pkg_image *img, const char *name, const char *created)
{
    json_t *doc = json_object(), *ci = json_object(), *pkgs = json_array();
    json_t *rels = json_array(), *x, *refs, *r;
    char uuid[37];
    size_t i;

    uuid_of(uuid, img->digest != NULL ? img->digest : name);
    json_object_set_new(doc, "spdxVersion", json_string("SPDX-2.3"));
    json_object_set_new(doc, "dataLicense", json_string("CC0-1.0"));
    json_object_set_new(doc, "SPDXID", json_string("SPDXRef-DOCUMENT"));
    json_object_set_new(doc, "name", json_string(name));
    json_object_set_new(doc, "documentNamespace",
                        json_sprintf("https://strata.invalid/spdx/%s", uuid));
    json_object_set_new(ci, "created", json_string(created));
    x = json_array();
    json_array_append_new(x, json_string("Tool: strata-" STRATA_VERSION));
    json_object_set_new(ci, "creators", x);
    json_object_set_new(doc, "creationInfo", ci);
    /* The image itself. */
    x = json_object();
    json_object_set_new(x, "name", json_string(name));
    json_object_set_new(x, "SPDXID", json_string("SPDXRef-Image"));
    if (img->digest != NULL)
        json_object_set_new(x, "versionInfo", json_string(img->digest));
    json_object_set_new(x, "downloadLocation", json_string("NOASSERTION"));
    json_object_set_new(x, "filesAnalyzed", json_false());
    json_object_set_new(x, "primaryPackagePurpose", json_string("CONTAINER"));
    json_array_append_new(pkgs, x);
    r = json_object();
    json_object_set_new(r, "spdxElementId", json_string("SPDXRef-DOCUMENT"));
    json_object_set_new(r, "relationshipType", json_string("DESCRIBES"));
    json_object_set_new(r, "relatedSpdxElement", json_string("SPDXRef-Image"));
    json_array_append_new(rels, r);
    for (i = 0; i < img->npkgs; i++) {
        const strata_pkg *p = &img->pkgs[i];
        char *purl = strata_pkg_purl(img, p);
        char id[64];

        snprintf(id, sizeof(id), "SPDXRef-Package-%zu", i + 1);
        x = json_object();
        json_object_set_new(x, "name", json_string(p->name));
        json_object_set_new(x, "SPDXID", json_string(id));
        json_object_set_new(x, "versionInfo", json_string(p->version));
        json_object_set_new(x, "downloadLocation", json_string("NOASSERTION"));
        json_object_set_new(x, "filesAnalyzed", json_false());
        if (p->source != NULL)
            json_object_set_new(
                x, "sourceInfo",
                json_sprintf("built from source package %s", p->source));
        refs = json_array();
        r = json_object();
        json_object_set_new(r, "referenceCategory",
                            json_string("PACKAGE-MANAGER"));
        json_object_set_new(r, "referenceType", json_string("purl"));
        json_object_set_new(r, "referenceLocator", json_string(purl));
        json_array_append_new(refs, r);
        json_object_set_new(x, "externalRefs", refs);
        json_array_append_new(pkgs, x);
        r = json_object();
        json_object_set_new(r, "spdxElementId", json_string("SPDXRef-Image"));
        json_object_set_new(r, "relationshipType", json_string("CONTAINS"));
        json_object_set_new(r, "relatedSpdxElement", json_string(id));
        json_array_append_new(rels, r);
        free(purl);
    }
    json_object_set_new(doc, "packages", pkgs);
    json_object_set_new(doc, "relationships", rels);
    return doc;
}

static json_t *
purl_json(const strata_pkg_image *img, const strata_pkg *p)
{
    char *purl = strata_pkg_purl(img, p);
    json_t *j = json_string(purl);

    free(purl);
    return j;
}

static json_t *
cyclonedx(const strata_pkg_image *img, const char *name, const char *created)
{
    json_t *doc = json_object(), *meta = json_object(), *comps = json_array();
    json_t *x, *tools, *deps, *on;
    char uuid[37];
    size_t i;

    uuid_of(uuid, img->digest != NULL ? img->digest : name);
    json_object_set_new(doc, "bomFormat", json_string("CycloneDX"));
    json_object_set_new(doc, "specVersion", json_string("1.6"));
    json_object_set_new(doc, "serialNumber", json_sprintf("urn:uuid:%s", uuid));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(meta, "timestamp", json_string(created));
    tools = json_array();
    x = json_object();
    json_object_set_new(x, "type", json_string("application"));
    json_object_set_new(x, "name", json_string("strata"));
    json_object_set_new(x, "version", json_string(STRATA_VERSION));
    json_array_append_new(tools, x);
    x = json_object();
    json_object_set_new(x, "components", tools);
    json_object_set_new(meta, "tools", x);
    x = json_object();
    json_object_set_new(x, "type", json_string("container"));
    json_object_set_new(x, "bom-ref", json_string("image"));
    json_object_set_new(x, "name", json_string(name));
    if (img->digest != NULL)
        json_object_set_new(x, "version", json_string(img->digest));
    json_object_set_new(meta, "component", x);
    json_object_set_new(doc, "metadata", meta);
    on = json_array();
    if (img->os_id != NULL) {
        x = json_object();
        json_object_set_new(x, "type", json_string("operating-system"));
        json_object_set_new(x, "bom-ref", json_string("os"));
        json_object_set_new(x, "name", json_string(img->os_id));
        if (img->os_version_id != NULL)
            json_object_set_new(x, "version", json_string(img->os_version_id));
        if (img->os_pretty != NULL)
            json_object_set_new(x, "description", json_string(img->os_pretty));
        json_array_append_new(comps, x);
        json_array_append_new(on, json_string("os"));
    }
    for (i = 0; i < img->npkgs; i++) {
        const strata_pkg *p = &img->pkgs[i];
        char ref[64];

        snprintf(ref, sizeof(ref), "pkg-%zu", i + 1);
        x = json_object();
        json_object_set_new(x, "type", json_string("library"));
        json_object_set_new(x, "bom-ref", json_string(ref));
        json_object_set_new(x, "name", json_string(p->name));
        json_object_set_new(x, "version", json_string(p->version));
        json_object_set_new(x, "purl", purl_json(img, p));
        json_array_append_new(comps, x);
        json_array_append_new(on, json_string(ref));
    }
    json_object_set_new(doc, "components", comps);
    deps = json_array();
    x = json_object();
    json_object_set_new(x, "ref", json_string("image"));
    json_object_set_new(x, "dependsOn", on);
    json_array_append_new(deps, x);
    json_object_set_new(doc, "dependencies", deps);
    return doc;
}

json_t *
strata_pkg_sbom(const strata_pkg_image *img, const char *name,
                const char *format, int64_t created_ms)
{
    char created[32];

    strata_format_time(created, sizeof(created), created_ms);
    if (strcmp(format, "spdx-json") == 0)
        return spdx(img, name, created);
    if (strcmp(format, "cyclonedx-json") == 0)
        return cyclonedx(img, name, created);
    return NULL;
}
