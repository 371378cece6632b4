/*
 * running.c - what runs, for `strata report stale --running FILE`: a plain
 * list of references (one a line, '#' comments) or the JSON of `kubectl
 * get pods -A -o json` (spec containers and initContainers, with the
 * digests Kubernetes resolved in status.*ContainerStatuses[].imageID).
 * Each container becomes one item: its reference, the digest it runs
 * (when known) and where it runs ("namespace/pod/container").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"
#include "report-int.h"

#define MAX_RUNNING_SIZE (256 * 1024 * 1024)

typedef struct item {
    char *ref;    /* canonical, digest included when the text had one */
    char *digest; /* what runs, or NULL */
    char *where;
} item;

struct strata_report_running {
    item *v;
    size_t n, cap;
};

static void
add(strata_report_running *r, const strata_ref *ref, const char *digest,
    char *where)
{
    item *it;

    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->v = strata_xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    it = &r->v[r->n++];
    it->ref = strata_xstrdup(strata_ref_string(ref));
    if (digest == NULL)
        digest = strata_ref_digest(ref);
    it->digest = digest ? strata_xstrdup(digest) : NULL;
    it->where = where;
}

/* The "sha256:..." of a kubelet imageID such as
 * "docker-pullable://docker.io/library/x@sha256:..."; NULL when absent
 * (a bare "sha256:..." there is the image ID, not a manifest digest). */
static const char *
image_id_digest(const char *image_id)
{
    const char *at = image_id ? strrchr(image_id, '@') : NULL;

    if (at == NULL || strata_digest_validate(at + 1, NULL) != 0)
        return NULL;
    return at + 1;
}

static const char *
jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The string member key of o, or def. Borrowed. */
static const char *
jstr_or(const json_t *o, const char *key, const char *def)
{
    const char *s = jstr(o, key);

    return s != NULL ? s : def;
}

/* The imageID status of container name in statuses, or NULL. */
static const char *
status_digest(const json_t *statuses, const char *name)
{
    const json_t *s;
    size_t i;

    json_array_foreach (statuses, i, s) {
        const char *n = jstr(s, "name");
        if (n != NULL && name != NULL && strcmp(n, name) == 0)
            return image_id_digest(jstr(s, "imageID"));
    }
    return NULL;
}

static int
add_containers(strata_report_running *r, const json_t *pod,
               const char *list_key, const char *status_key, const char *prefix,
               const char *name, strata_error *err)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *statuses =
        json_object_get(json_object_get(pod, "status"), status_key);
    const json_t *c;
    size_t i;

    json_array_foreach (json_object_get(spec, list_key), i, c) {
        const char *image = jstr(c, "image"), *cname = jstr(c, "name");
        strata_ref *ref = NULL;
        strata_error e = {0};

        if (image == NULL)
            continue;
        if (strata_ref_parse(&ref, image, &e) != 0)
            return strata_error_set(err, STRATA_EINVAL, "%s: pod '%s/%s': %s",
                                    name, jstr_or(meta, "namespace", ""),
                                    jstr_or(meta, "name", ""), e.msg);
        add(r, ref, status_digest(statuses, cname),
            strata_xasprintf("%s/%s/%s%s", jstr_or(meta, "namespace", "-"),
                             jstr_or(meta, "name", "-"), prefix,
                             cname ? cname : "-"));
        strata_ref_free(ref);
    }
    return 0;
}

static int
parse_kubectl(strata_report_running *r, const char *data, size_t len,
              const char *name, strata_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, 0, &jerr), *items, *pod;
    const char *kind;
    size_t i;
    int rc = 0;

    if (doc == NULL)
        return strata_error_set(err, STRATA_EINVAL, "%s:%d:%d: %s", name,
                                jerr.line, jerr.column, jerr.text);
    kind = jstr(doc, "kind");
    items = json_object_get(doc, "items");
    if (kind != NULL && strcmp(kind, "Pod") == 0) {
        items = json_array();
        json_array_append(items, doc);
    } else if (!json_is_array(items)) {
        rc =
            strata_error_set(err, STRATA_EINVAL,
                             "'%s' is not a pod list (no 'items' array)", name);
        goto out;
    } else {
        json_incref(items);
    }
    json_array_foreach (items, i, pod) {
        rc = add_containers(r, pod, "initContainers", "initContainerStatuses",
                            "init:", name, err);
        if (rc == 0)
            rc = add_containers(r, pod, "containers", "containerStatuses", "",
                                name, err);
        if (rc != 0)
            break;
    }
    json_decref(items);
out:
    json_decref(doc);
    return rc;
}

static int
parse_list(strata_report_running *r, const char *data, size_t len,
           const char *name, strata_error *err)
{
    size_t pos = 0;
    int lineno = 0;

    while (pos < len) {
        const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - line) : len - pos;
        char *text, *s, *e;
        strata_ref *ref = NULL;
        strata_error perr = {0};

        pos += n + (nl ? 1 : 0);
        lineno++;
        text = strata_xstrndup(line, n);
        if ((s = strchr(text, '#')) != NULL)
            *s = '\0';
        for (s = text; isspace((unsigned char) *s); s++)
            ;
        for (e = s + strlen(s); e > s && isspace((unsigned char) e[-1]); e--)
            ;
        *e = '\0';
        if (*s != '\0' && strata_ref_parse(&ref, s, &perr) != 0) {
            free(text);
            return strata_error_set(err, STRATA_EINVAL, "%s:%d: %s", name,
                                    lineno, perr.msg);
        }
        if (ref != NULL)
            add(r, ref, NULL, strata_xasprintf("%s:%d", name, lineno));
        strata_ref_free(ref);
        free(text);
    }
    return 0;
}

int
strata_report_running_parse(strata_report_running **out, const char *data,
                            size_t len, const char *name, strata_error *err)
{
    strata_report_running *r = strata_xcalloc(1, sizeof(*r));
    size_t i = 0;
    int rc;

    *out = NULL;
    while (i < len && isspace((unsigned char) data[i]))
        i++;
    if (i < len && data[i] == '{')
        rc = parse_kubectl(r, data, len, name, err);
    else
        rc = parse_list(r, data, len, name, err);
    if (rc != 0) {
        strata_report_running_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int
strata_report_running_load(strata_report_running **out, const char *path,
                           strata_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = strata_read_file(&data, &len, path, MAX_RUNNING_SIZE, err);
    if (rc == 0)
        rc = strata_report_running_parse(out, data, len, path, err);
    free(data);
    return rc;
}

void
strata_report_running_free(strata_report_running *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++) {
        free(r->v[i].ref);
        free(r->v[i].digest);
        free(r->v[i].where);
    }
    free(r->v);
    free(r);
}

size_t
strata_report_running_count(const strata_report_running *r)
{
    return r != NULL ? r->n : 0;
}

int
strata_report__running_item(const strata_report_running *r, size_t i,
                            const char **ref, const char **digest,
                            const char **where)
{
    if (r == NULL || i >= r->n)
        return 0;
    *ref = r->v[i].ref;
    *digest = r->v[i].digest;
    *where = r->v[i].where;
    return 1;
}

const char *
strata_report_running_ref(const strata_report_running *r, size_t i,
                          const char **digest)
{
    if (digest != NULL)
        *digest = r->v[i].digest;
    return r->v[i].ref;
}
