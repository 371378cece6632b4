#!/usr/bin/python3
"""subset.py - cuts the operations strata's forge clients call out of the
providers' published API descriptions, for tests/servers/openapi.py.

    subset.py github  api.github.com.deref.json > github.json
    subset.py gitea   swagger.v1.json           > gitea.json

Where the descriptions come from (README.md in this folder says more):
  github: github/rest-api-description, as npm's @octokit/openapi ships it
          (package/generated/api.github.com.deref.json; MIT);
  gitea:  Gitea's templates/swagger/v1_json.tmpl (MIT), as published
          with Gitea's API (/swagger.v1.json).

Every operation of each path below is kept (any method the description
allows), with its parameters and its JSON request body; descriptions and
examples are dropped and references resolved, so the subset stands alone.
"""
import json
import sys

PATHS = {
    "github": [
        "/repos/{owner}/{repo}/pulls",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        "/repos/{owner}/{repo}/commits/{ref}/status",
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        "/repos/{owner}/{repo}/git/refs/{ref}",
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        "/repos/{owner}/{repo}",
        "/orgs/{org}/repos",
        "/users/{username}/repos",
        "/installation/repositories",
        "/app/installations/{installation_id}/access_tokens",
        "/app/installations",
    ],
    "gitea": [
        "/repos/{owner}/{repo}/pulls",
        "/repos/{owner}/{repo}/pulls/{index}",
        "/repos/{owner}/{repo}/pulls/{index}/merge",
        "/repos/{owner}/{repo}/pulls/{index}/update",
        "/repos/{owner}/{repo}/pulls/{index}/requested_reviewers",
        "/repos/{owner}/{repo}/issues/{index}/labels",
        "/repos/{owner}/{repo}/issues/{index}/comments",
        "/repos/{owner}/{repo}/commits/{ref}/status",
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        "/repos/{owner}/{repo}/branches/{branch}",
        "/repos/{owner}/{repo}/labels",
        "/repos/{owner}/{repo}",
        "/orgs/{org}/repos",
        "/users/{username}/repos",
    ],
}
METHODS = ("get", "put", "post", "patch", "delete")
DROP = ("description", "example", "examples", "externalDocs", "title",
        "x-github", "x-go-name", "x-go-package", "summary")


def clean(node, defs, depth=0):
    """node without prose, its $refs (swagger's #/definitions) resolved."""
    if depth > 40:
        raise SystemExit("subset.py: references nest deeper than 40")
    if isinstance(node, list):
        return [clean(x, defs, depth + 1) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return clean(defs[name], defs, depth + 1)
    out = {}
    for k, v in node.items():
        if k == "properties" and isinstance(v, dict):
            # Names of fields, never prose: "title" is a field here.
            out[k] = {n: clean(x, defs, depth + 1) for n, x in v.items()}
        elif k not in DROP:
            out[k] = clean(v, defs, depth + 1)
    return out


def operation(forge, path, method, op, shared, defs):
    params, body = [], None
    for p in shared + op.get("parameters", []):
        p = clean(p, defs)
        if p.get("in") == "body":  # swagger 2.0
            body = {"required": bool(p.get("required")),
                    "schema": p.get("schema", {})}
            continue
        schema = p.get("schema") or {k: p[k] for k in
                                      ("type", "format", "enum", "items")
                                      if k in p}
        params.append({"name": p["name"], "in": p["in"],
                       "required": bool(p.get("required")),
                       "multi_segment": bool(p.get("x-multi-segment")),
                       "schema": schema})
    rb = op.get("requestBody")
    if rb is not None:
        content = rb.get("content", {})
        js = content.get("application/json")
        if js is not None:
            body = {"required": bool(rb.get("required")),
                    "schema": clean(js.get("schema", {}), defs)}
    return {"method": method.upper(), "path": path,
            "operationId": op.get("operationId"),
            "parameters": params, "body": body}


def main():
    forge, src = sys.argv[1], sys.argv[2]
    with open(src) as f:
        d = json.load(f)
    defs = d.get("definitions", {})
    out = {"forge": forge, "source": src.rsplit("/", 1)[-1],
           "version": d["info"]["version"], "operations": []}
    for path in PATHS[forge]:
        item = d["paths"].get(path)
        if item is None:
            raise SystemExit("subset.py: %s has no %s" % (src, path))
        shared = item.get("parameters", [])
        for m in METHODS:
            if m in item:
                out["operations"].append(
                    operation(forge, path, m, item[m], shared, defs))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
