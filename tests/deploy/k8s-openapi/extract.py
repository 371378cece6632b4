#!/usr/bin/env python3
"""extract.py - keeps the definitions of Kubernetes' OpenAPI v2 spec that
deploy/kubernetes/ needs, for tests/deploy/kubernetes.py.

    extract.py SWAGGER_JSON > definitions.json

SWAGGER_JSON is kubernetes/kubernetes' api/openapi-spec/swagger.json
(see SOURCE.md for the copy used). Kept: the definitions of the kinds
below and everything they refer to, transitively, with their
descriptions dropped (the rest of each definition as it is); and the
swagger's info. Nothing else is changed.
"""
import json
import sys

KINDS = [
    "io.k8s.api.core.v1.Namespace",
    "io.k8s.api.core.v1.ServiceAccount",
    "io.k8s.api.core.v1.ConfigMap",
    "io.k8s.api.core.v1.Secret",
    "io.k8s.api.core.v1.PersistentVolumeClaim",
    "io.k8s.api.core.v1.Service",
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.rbac.v1.Role",
    "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.networking.v1.NetworkPolicy",
]


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/definitions/"):
            out.add(r[len("#/definitions/"):])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    defs = spec["definitions"]
    keep, todo = set(), list(KINDS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(defs[name], found)
        todo.extend(found - keep)
    out = {
        "info": spec.get("info", {}),
        "definitions": {k: strip(defs[k]) for k in sorted(keep)},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
