/*
 * yaml.c - digest pinning of docker-compose files and Kubernetes
 * manifests in place. libyaml's event API reads each document into a
 * small tree that keeps every node's marks, its scalar style, its anchor
 * and its aliases as aliases (the node API would merge an alias into its
 * anchor and hide where each was written). The image scalars are found
 * by structure (services.NAME.image; containers[].image and its init and
 * ephemeral siblings), their character marks are turned into byte
 * offsets, and the bytes there are checked against the scalar's value
 * before pin.c's shared half turns them into edits: only the reference
 * inside the scalar changes, its quotes stay.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "pin-int.h"

#define MAX_DEPTH 256

typedef strata_pin__ynode ynode;
typedef struct strata_pin__yctx yctx;

#define Y_SCALAR STRATA_PIN__Y_SCALAR
#define Y_SEQ STRATA_PIN__Y_SEQ
#define Y_MAP STRATA_PIN__Y_MAP
#define Y_ALIAS STRATA_PIN__Y_ALIAS

struct strata_pin__yctx {
    strata_pin__ctx pin;
    strata_pin__ydoc_cb doc;
    void *arg;
    strata_strmap *anchors; /* name -> ynode (borrowed), per document */
    size_t bom;             /* 3 after a UTF-8 BOM: marks start after it */
    size_t ci, bi;          /* last mark converted: character, byte */
};

static void
ynode_free(ynode *n)
{
    size_t i;

    if (n == NULL)
        return;
    for (i = 0; i < n->nkids; i++)
        ynode_free(n->kids[i]);
    free(n->kids);
    free(n->value);
    free(n->anchor);
    free(n);
}

static ynode *
ynode_new(strata_pin__ykind kind, const yaml_event_t *ev,
          const yaml_char_t *anchor)
{
    ynode *n = strata_xcalloc(1, sizeof(*n));

    n->kind = kind;
    n->start = ev->start_mark.index;
    n->end = ev->end_mark.index;
    n->line = (unsigned) ev->start_mark.line + 1;
    n->col = (unsigned) ev->start_mark.column;
    n->end_line = (unsigned) ev->end_mark.line + 1;
    if (anchor != NULL)
        n->anchor = strata_xstrdup((const char *) anchor);
    return n;
}

static int
parse_error(yaml_parser_t *p, const char *name, strata_error *err)
{
    return strata_error_set(
        err, STRATA_EINVAL, "%s:%zu:%zu: %s", name, p->problem_mark.line + 1,
        p->problem_mark.column + 1, p->problem ? p->problem : "invalid YAML");
}

/* Reads the node ev starts (ev is consumed) and everything inside it. */
static int
load_node(ynode **out, yaml_parser_t *p, yaml_event_t *ev, int depth,
          const char *name, strata_error *err)
{
    yaml_event_type_t end_type;
    ynode *n = NULL, *kid;
    yaml_event_t next;
    int rc = 0;

    *out = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = ynode_new(Y_SCALAR, ev, ev->data.scalar.anchor);
        n->value = strata_xstrndup((const char *) ev->data.scalar.value,
                                   ev->data.scalar.length);
        n->style = ev->data.scalar.style;
        n->tagged = ev->data.scalar.tag != NULL;
        yaml_event_delete(ev);
        *out = n;
        return 0;
    case YAML_ALIAS_EVENT:
        n = ynode_new(Y_ALIAS, ev, NULL);
        n->value = strata_xstrdup((const char *) ev->data.alias.anchor);
        yaml_event_delete(ev);
        *out = n;
        return 0;
    case YAML_SEQUENCE_START_EVENT:
        n = ynode_new(Y_SEQ, ev, ev->data.sequence_start.anchor);
        n->flow = ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        end_type = YAML_SEQUENCE_END_EVENT;
        break;
    case YAML_MAPPING_START_EVENT:
        n = ynode_new(Y_MAP, ev, ev->data.mapping_start.anchor);
        n->flow = ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        end_type = YAML_MAPPING_END_EVENT;
        break;
    default:
        end_type = ev->type;
        yaml_event_delete(ev);
        return strata_error_set(err, STRATA_EINVAL,
                                "%s: unexpected YAML event %d", name,
                                (int) end_type);
    }
    yaml_event_delete(ev);
    if (depth >= MAX_DEPTH) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "%s:%u: nested more than %d levels deep", name,
                              n->line, MAX_DEPTH);
        goto out;
    }
    for (;;) {
        if (!yaml_parser_parse(p, &next)) {
            rc = parse_error(p, name, err);
            goto out;
        }
        if (next.type == end_type) {
            n->end = next.end_mark.index;
            n->end_line = (unsigned) next.end_mark.line + 1;
            yaml_event_delete(&next);
            break;
        }
        if ((rc = load_node(&kid, p, &next, depth + 1, name, err)) != 0)
            goto out;
        n->kids = strata_xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
        n->kids[n->nkids++] = kid;
    }
out:
    if (rc != 0) {
        ynode_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Remembers every anchor of the document (the last definition wins). */
static void
index_anchors(yctx *c, ynode *n, int depth)
{
    size_t i;

    if (n->anchor != NULL)
        strata_strmap_put(c->anchors, n->anchor, n);
    if (depth < MAX_DEPTH)
        for (i = 0; i < n->nkids; i++)
            index_anchors(c, n->kids[i], depth + 1);
}

static int
is_key(const ynode *k, const char *key)
{
    return k->kind == Y_SCALAR && strcmp(k->value, key) == 0;
}

const ynode *
strata_pin__map_get(const ynode *map, const char *key)
{
    size_t i;

    if (map == NULL || map->kind != Y_MAP)
        return NULL;
    for (i = 0; i + 1 < map->nkids; i += 2)
        if (is_key(map->kids[i], key))
            return map->kids[i + 1];
    return NULL;
}

/* What an alias names (borrowed), or n itself. */
static const ynode *
deref(yctx *c, const ynode *n)
{
    if (n != NULL && n->kind == Y_ALIAS)
        return strata_strmap_get(c->anchors, n->value);
    return n;
}

/* The anchor name a "<<" merge of map takes an image from, or NULL. */
static const char *
merged_image(yctx *c, const ynode *map)
{
    const ynode *m = strata_pin__map_get(map, "<<");
    size_t i;

    if (m == NULL)
        return NULL;
    if (m->kind == Y_ALIAS)
        return strata_pin__map_get(deref(c, m), "image") ? m->value : NULL;
    if (m->kind == Y_SEQ)
        for (i = 0; i < m->nkids; i++)
            if (m->kids[i]->kind == Y_ALIAS &&
                strata_pin__map_get(deref(c, m->kids[i]), "image") != NULL)
                return m->kids[i]->value;
    return NULL;
}

/* libyaml marks count characters: walk the UTF-8 bytes to the index. */
size_t
strata_pin__byte_at(yctx *c, size_t idx)
{
    const unsigned char *d = (const unsigned char *) c->pin.data;

    if (idx < c->ci) {
        c->ci = 0;
        c->bi = c->bom;
    }
    while (c->ci < idx && c->bi < c->pin.len) {
        unsigned char b = d[c->bi];

        c->bi += b < 0x80    ? 1
                 : b >= 0xf0 ? 4
                 : b >= 0xe0 ? 3
                 : b >= 0xc0 ? 2
                             : 1;
        c->ci++;
    }
    return c->bi < c->pin.len ? c->bi : c->pin.len;
}

int
strata_pin__scalar_site(yctx *c, const ynode *n, size_t skip, int vars,
                        strata_pin__site *s)
{
    size_t vlen, q, b0, b1, v0;
    const char *at;

    memset(s, 0, sizeof(*s));
    if (n->kind == Y_ALIAS) {
        strata_pin__problem(&c->pin, n->line,
                            "image is an alias ('*%s'); pin it at its anchor",
                            n->value);
        return -1;
    }
    if (n->kind != Y_SCALAR) {
        strata_pin__problem(&c->pin, n->line, "image is not a string");
        return -1;
    }
    vlen = strlen(n->value);
    if (n->style == YAML_PLAIN_SCALAR_STYLE &&
        (vlen == 0 || strcmp(n->value, "~") == 0 ||
         strcmp(n->value, "null") == 0))
        return 1;
    if (n->anchor != NULL) {
        strata_pin__problem(&c->pin, n->line,
                            "image '%s' has an anchor ('&%s') its aliases "
                            "share; pin it by hand",
                            n->value, n->anchor);
        return -1;
    }
    if (n->style == YAML_LITERAL_SCALAR_STYLE ||
        n->style == YAML_FOLDED_SCALAR_STYLE || n->end_line != n->line) {
        strata_pin__problem(&c->pin, n->line,
                            "image '%s' is a block or multi-line scalar; pin "
                            "it by hand",
                            n->value);
        return -1;
    }
    if (vars && strchr(n->value, '$') != NULL) {
        strata_pin__problem(&c->pin, n->line,
                            "image '%s' is built from variables; pin it where "
                            "they are set",
                            n->value);
        return -1;
    }
    if (strstr(n->value, "{{") != NULL) {
        strata_pin__problem(&c->pin, n->line,
                            "image '%s' is a template; pin the values it is "
                            "made from",
                            n->value);
        return -1;
    }
    q = n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
            ? 1
            : 0;
    b0 = strata_pin__byte_at(c, n->start);
    b1 = strata_pin__byte_at(c, n->end);
    /* The value is at the end of the node: a tag may come before it. */
    if (b1 < b0 + vlen + 2 * q || (n->tagged == 0 && b1 != b0 + vlen + 2 * q) ||
        memcmp(c->pin.data + b1 - q - vlen, n->value, vlen) != 0 ||
        (q && (c->pin.data[b1 - 1] != c->pin.data[b1 - vlen - 2] ||
               (c->pin.data[b1 - 1] != '"' && c->pin.data[b1 - 1] != '\''))) ||
        skip > vlen) {
        strata_pin__problem(&c->pin, n->line,
                            "image '%s' is written with escapes; pin it by "
                            "hand",
                            n->value);
        return -1;
    }
    v0 = b1 - q - vlen;
    at = strchr(n->value + skip, '@');
    s->value = n->value + skip;
    s->at_off = at ? v0 + (size_t) (at - n->value) : (size_t) -1;
    s->end_off = v0 + vlen;
    s->line = n->line;
    return 0;
}

void
strata_pin__image_scalar(yctx *c, const ynode *n, int vars)
{
    strata_pin__site s;

    if (strata_pin__scalar_site(c, n, 0, vars, &s) == 0)
        strata_pin__add(&c->pin, &s);
}

void
strata_pin__image_holder(yctx *c, const ynode *n, const char *what, int vars)
{
    const ynode *img;
    const char *from;

    if (n->kind == Y_ALIAS) {
        if (strata_pin__map_get(deref(c, n), "image") != NULL)
            strata_pin__problem(&c->pin, n->line,
                                "%s is an alias ('*%s'); pin its image at "
                                "the anchor",
                                what, n->value);
        return;
    }
    if (n->kind != Y_MAP)
        return;
    if ((img = strata_pin__map_get(n, "image")) != NULL)
        strata_pin__image_scalar(c, img, vars);
    else if ((from = merged_image(c, n)) != NULL)
        strata_pin__problem(&c->pin, n->line,
                            "the image of this %s comes from '<<: *%s'; pin "
                            "it at the anchor",
                            what, from);
}

static void
compose_doc(yctx *c, const ynode *services)
{
    size_t i;

    for (i = 0; i + 1 < services->nkids; i += 2) {
        const ynode *svc = services->kids[i + 1];

        /* A service that builds its image only names the result. */
        if (svc->kind == Y_MAP && strata_pin__map_get(svc, "build") != NULL)
            continue;
        strata_pin__image_holder(c, svc, "service", 1);
    }
}

/*
 * Lists of containers: a PodSpec's (containers, initContainers,
 * ephemeralContainers), Argo's containerSet and Tekton's steps and
 * sidecars (a Task's steps[].image; Argo's steps are lists of lists and
 * hold no image).
 */
static int
is_container_list(const ynode *k)
{
    return is_key(k, "containers") || is_key(k, "initContainers") ||
           is_key(k, "ephemeralContainers") || is_key(k, "steps") ||
           is_key(k, "sidecars");
}

/* One container: Argo's templates[].container and script, Tekton's
 * stepTemplate. */
static int
is_container(const ynode *k)
{
    return is_key(k, "container") || is_key(k, "script") ||
           is_key(k, "stepTemplate");
}

/* Every containers-like list anywhere in a Kubernetes document. */
static void
k8s_walk(yctx *c, const ynode *n, int depth)
{
    size_t i, j;

    if (depth >= MAX_DEPTH)
        return;
    for (i = 0; i < n->nkids; i++) {
        const ynode *v;

        if (n->kind == Y_MAP && i % 2 == 0)
            continue;
        v = n->kids[i];
        if (n->kind == Y_MAP && is_container_list(n->kids[i - 1]) &&
            v->kind == Y_SEQ) {
            for (j = 0; j < v->nkids; j++)
                strata_pin__image_holder(c, v->kids[j], "container", 0);
            continue;
        }
        if (n->kind == Y_MAP && is_container(n->kids[i - 1]) &&
            v->kind == Y_MAP && strata_pin__map_get(v, "image") != NULL) {
            strata_pin__image_holder(c, v, "container", 0);
            continue;
        }
        k8s_walk(c, v, depth + 1);
    }
}

static void
document(yctx *c, const ynode *root)
{
    unsigned want = c->pin.opts->yaml
                        ? c->pin.opts->yaml
                        : STRATA_PIN_YAML_COMPOSE | STRATA_PIN_YAML_K8S;
    const ynode *services = strata_pin__map_get(root, "services"), *kind;

    if ((want & STRATA_PIN_YAML_COMPOSE) && services != NULL &&
        services->kind == Y_MAP)
        compose_doc(c, services);
    else if ((want & STRATA_PIN_YAML_K8S) &&
             (kind = strata_pin__map_get(root, "kind")) != NULL &&
             kind->kind == Y_SCALAR)
        k8s_walk(c, root, 0);
}

strata_pin__ctx *
strata_pin__yctx_pin(yctx *c)
{
    return &c->pin;
}

void *
strata_pin__yctx_arg(yctx *c)
{
    return c->arg;
}

int
strata_pin_yaml(strata_pin_result *out, const char *data, size_t len,
                const char *name, const strata_pin_opts *opts,
                strata_error *err)
{
    return strata_pin__yaml_run(out, data, len, name, opts, document, NULL,
                                err);
}

int
strata_pin__yaml_run(strata_pin_result *out, const char *data, size_t len,
                     const char *name, const strata_pin_opts *opts,
                     strata_pin__ydoc_cb doc, void *arg, strata_error *err)
{
    const unsigned char *d = (const unsigned char *) data;
    yaml_parser_t p;
    yaml_event_t ev;
    ynode *root = NULL;
    yctx c;
    int rc = 0, done = 0;

    memset(&c, 0, sizeof(c));
    c.doc = doc;
    c.arg = arg;
    strata_pin__init(&c.pin, out, data, len, name, opts);
    name = c.pin.name;
    if ((len >= 2 &&
         ((d[0] == 0xfe && d[1] == 0xff) || (d[0] == 0xff && d[1] == 0xfe))) ||
        (len > 0 && memchr(data, '\0', len) != NULL))
        return strata_error_set(err, STRATA_EINVAL, "'%s' is not UTF-8", name);
    if (len >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf)
        c.bom = c.bi = 3;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, d, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parse_error(&p, name, err);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            yaml_event_delete(&ev);
            break;
        case YAML_SCALAR_EVENT:
        case YAML_ALIAS_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if ((rc = load_node(&root, &p, &ev, 0, name, err)) != 0) {
                done = 1;
                break;
            }
            c.anchors = strata_strmap_new();
            index_anchors(&c, root, 0);
            doc(&c, root);
            strata_strmap_free(c.anchors);
            c.anchors = NULL;
            ynode_free(root);
            root = NULL;
            break;
        default:
            yaml_event_delete(&ev);
            break;
        }
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        strata_pin__finish(&c.pin);
        strata_pin_result_release(out);
        return rc;
    }
    strata_pin__finish(&c.pin);
    return 0;
}
