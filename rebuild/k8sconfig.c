/*
 * k8sconfig.c - finds the Kubernetes API server for the kubernetes
 * rebuild backend and the credentials to talk to it: a kubeconfig file
 * read with libyaml (current-context -> context -> cluster and user:
 * server, certificate-authority or certificate-authority-data (written to
 * a private temporary file, since the HTTP client takes a CA path),
 * insecure-skip-tls-verify, token or tokenFile), explicit options, or the
 * in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and the
 * token, ca.crt and namespace files). Client certificates and exec
 * plugins are refused with a clear message: strata speaks bearer tokens.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "rebuild-int.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_FILE (1024 * 1024)

void
strata_k8s__cluster_release(strata_k8s__cluster *c)
{
    if (c->ca_tmp != NULL) {
        unlink(c->ca_tmp);
        free(c->ca_tmp);
    }
    free(c->server);
    if (c->token != NULL) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    free(c->ca_file);
    free(c->ns);
    memset(c, 0, sizeof(*c));
}

/* A file's contents without trailing whitespace. */
static int
read_trimmed(char **out, const char *path, strata_error *err)
{
    size_t len = 0;
    int rc;

    if ((rc = strata_read_file(out, &len, path, MAX_FILE, err)) != 0)
        return rc;
    while (len > 0 && strchr(" \t\r\n", (*out)[len - 1]) != NULL)
        (*out)[--len] = '\0';
    return 0;
}

/* ---- a tiny view of a libyaml document ---------------------------------- */

static yaml_node_t *
get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p;

    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);

        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *) k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *
scalar(yaml_node_t *n)
{
    if (n == NULL || n->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *) n->data.scalar.value;
}

/* The `what` member of the entry named name in the list key. */
static yaml_node_t *
named(yaml_document_t *d, yaml_node_t *root, const char *key, const char *name,
      const char *what)
{
    yaml_node_t *list = get(d, root, key);
    yaml_node_item_t *i;

    if (list == NULL || list->type != YAML_SEQUENCE_NODE || name == NULL)
        return NULL;
    for (i = list->data.sequence.items.start; i < list->data.sequence.items.top;
         i++) {
        yaml_node_t *e = yaml_document_get_node(d, *i);
        const char *n = scalar(get(d, e, "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return get(d, e, what);
    }
    return NULL;
}

/* Writes base64 PEM data to a private temporary file. */
static int
write_ca(strata_k8s__cluster *c, const char *b64, strata_error *err)
{
    size_t len = strlen(b64);
    unsigned char *pem = strata_xmalloc(len / 4 * 3 + 4);
    char *path;
    const char *tmp = getenv("TMPDIR");
    int n, fd, rc = 0;

    n = EVP_DecodeBlock(pem, (const unsigned char *) b64, (int) len);
    if (n < 0) {
        free(pem);
        return strata_error_set(err, STRATA_EINVAL,
                                "kubeconfig: bad certificate-authority-data");
    }
    while (n > 0 && pem[n - 1] == '\0') /* base64 padding */
        n--;
    path =
        strata_xasprintf("%s/strata-k8s-ca-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if ((fd = mkstemp(path)) < 0) {
        rc = strata_error_set(err, STRATA_EIO, "cannot create '%s': %s", path,
                              strerror(errno));
        free(path);
        free(pem);
        return rc;
    }
    if (write(fd, pem, (size_t) n) != n)
        rc = strata_error_set(err, STRATA_EIO, "cannot write '%s': %s", path,
                              strerror(errno));
    close(fd);
    free(pem);
    c->ca_tmp = path;
    if (rc == 0)
        c->ca_file = strata_xstrdup(path);
    return rc;
}

/* A relative path in a kubeconfig is relative to the file. New. */
static char *
relative_to(const char *file, const char *path)
{
    const char *slash = strrchr(file, '/');

    if (path[0] == '/' || slash == NULL)
        return strata_xstrdup(path);
    return strata_xasprintf("%.*s/%s", (int) (slash - file), file, path);
}

static int
load_kubeconfig(strata_k8s__cluster *c, const char *file, strata_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root, *ctx, *cluster, *user;
    const char *cur, *server, *v;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if ((rc = strata_read_file(&data, &len, file, MAX_FILE, err)) != 0)
        return rc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = strata_error_set(err, STRATA_EINVAL, "kubeconfig '%s':%zu: %s",
                              file, parser.problem_mark.line + 1,
                              parser.problem ? parser.problem : "bad YAML");
        yaml_parser_delete(&parser);
        free(data);
        return rc;
    }
    root = yaml_document_get_root_node(&doc);
    cur = scalar(get(&doc, root, "current-context"));
    ctx = named(&doc, root, "contexts", cur, "context");
    if (cur == NULL || ctx == NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "kubeconfig '%s': no current context '%s'", file,
                              cur ? cur : "");
        goto out;
    }
    cluster = named(&doc, root, "clusters", scalar(get(&doc, ctx, "cluster")),
                    "cluster");
    user = named(&doc, root, "users", scalar(get(&doc, ctx, "user")), "user");
    if ((server = scalar(get(&doc, cluster, "server"))) == NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "kubeconfig '%s': context '%s' has no cluster "
                              "server",
                              file, cur);
        goto out;
    }
    c->server = strata_xstrdup(server);
    if ((v = scalar(get(&doc, ctx, "namespace"))) != NULL)
        c->ns = strata_xstrdup(v);
    v = scalar(get(&doc, cluster, "insecure-skip-tls-verify"));
    c->insecure = v != NULL && strcmp(v, "true") == 0;
    if ((v = scalar(get(&doc, cluster, "certificate-authority-data"))) !=
        NULL) {
        if ((rc = write_ca(c, v, err)) != 0)
            goto out;
    } else if ((v = scalar(get(&doc, cluster, "certificate-authority"))) !=
               NULL) {
        c->ca_file = relative_to(file, v);
    }
    if ((v = scalar(get(&doc, user, "token"))) != NULL) {
        c->token = strata_xstrdup(v);
    } else if ((v = scalar(get(&doc, user, "tokenFile"))) != NULL) {
        char *path = relative_to(file, v);

        rc = read_trimmed(&c->token, path, err);
        free(path);
        if (rc != 0)
            goto out;
    } else if (get(&doc, user, "client-certificate") != NULL ||
               get(&doc, user, "client-certificate-data") != NULL ||
               get(&doc, user, "exec") != NULL ||
               get(&doc, user, "auth-provider") != NULL) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "kubeconfig '%s': user of context '%s' needs a "
                              "client certificate or plugin; strata needs a "
                              "'token' or 'tokenFile'",
                              file, cur);
        goto out;
    }
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(data);
    return rc;
}

static int
load_in_cluster(strata_k8s__cluster *c, const char *dir, strata_error *err)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    char *path;
    int rc;

    if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
        return strata_error_set(err, STRATA_ENOTFOUND,
                                "kubernetes builder: no 'kubeconfig' and not "
                                "in a cluster (KUBERNETES_SERVICE_HOST unset)");
    c->server = strata_xasprintf(
        strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    path = strata_xasprintf("%s/token", dir);
    rc = read_trimmed(&c->token, path, err);
    free(path);
    if (rc != 0)
        return rc;
    path = strata_xasprintf("%s/ca.crt", dir);
    if (access(path, R_OK) == 0)
        c->ca_file = path;
    else
        free(path);
    if (c->ns == NULL) {
        path = strata_xasprintf("%s/namespace", dir);
        if (read_trimmed(&c->ns, path, NULL) != 0)
            c->ns = NULL;
        free(path);
    }
    return 0;
}

int
strata_k8s__cluster_load(strata_k8s__cluster *out, const strata_rebuild_opts *o,
                         strata_error *err)
{
    size_t len;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (o->kubeconfig != NULL) {
        rc = load_kubeconfig(out, o->kubeconfig, err);
    } else if (o->api_url != NULL) {
        out->server = strata_xstrdup(o->api_url);
        out->token = o->token ? strata_xstrdup(o->token) : NULL;
        out->ca_file = o->ca_file ? strata_xstrdup(o->ca_file) : NULL;
        out->insecure = o->insecure;
    } else {
        rc = load_in_cluster(out, o->sa_dir ? o->sa_dir : SA_DIR, err);
    }
    if (rc != 0) {
        strata_k8s__cluster_release(out);
        return rc;
    }
    if (strncmp(out->server, "https://", 8) != 0 &&
        strncmp(out->server, "http://", 7) != 0) {
        rc = strata_error_set(err, STRATA_EINVAL,
                              "kubernetes server '%s' is not an http(s) URL",
                              out->server);
        strata_k8s__cluster_release(out);
        return rc;
    }
    len = strlen(out->server);
    while (len > 0 && out->server[len - 1] == '/')
        out->server[--len] = '\0';
    if (o->k8s_namespace != NULL) {
        free(out->ns);
        out->ns = strata_xstrdup(o->k8s_namespace);
    }
    if (out->ns == NULL)
        out->ns = strata_xstrdup("default");
    return 0;
}
