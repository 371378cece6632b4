#!/usr/bin/python3
"""kubernetes.py - TAP: the manifests in deploy/kubernetes/ are valid
Kubernetes objects and keep the promises their comments make.

    kubernetes.py SOURCE_ROOT STRATA_EXE

- Every document validates against its kind's definition in the
  Kubernetes OpenAPI spec (tests/deploy/k8s-openapi/, see SOURCE.md),
  found by apiVersion and kind, with unknown fields refused as the API
  server's strict field validation refuses them; and the validator
  refuses broken copies of them (so it checks something).
- The Deployment: one replica, Recreate; non-root, read-only root file
  system, no privilege escalation, every capability dropped, seccomp
  RuntimeDefault; probes on /healthz and /readyz; the API token from a
  Secret; the state on the PVC; the service account the Role is bound to.
- The Role: namespaced, exactly what the Kubernetes builder calls
  (tests/test-build.c proves each verb is needed and enough).
- The Service and NetworkPolicy select the Deployment's pods and open
  only the API port; the ConfigMap's strata.yaml passes config check.
"""
import copy
import glob
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

SRC, EXE = sys.argv[1], sys.argv[2]
N = 0
BAD = 0


def ok(cond, what, detail=None):
    global N, BAD
    N += 1
    if cond:
        print(f"ok {N} - {what}")
    else:
        BAD += 1
        print(f"not ok {N} - {what}")
        if detail:
            for line in str(detail).splitlines()[:12]:
                print(f"#   {line}")


# ---- the schema ---------------------------------------------------------

with open(os.path.join(SRC, "tests/deploy/k8s-openapi/definitions.json")) as f:
    SPEC = json.load(f)


def strict(defs):
    """The definitions as the API server applies them to what it is sent."""
    out = copy.deepcopy(defs)
    for name, d in out.items():
        if "properties" in d and "additionalProperties" not in d:
            d["additionalProperties"] = False
    out["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "oneOf": [{"type": "integer"}, {"type": "string"}]}
    out["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
        "oneOf": [{"type": "number"}, {"type": "string"}]}
    return out


DEFS = strict(SPEC["definitions"])
BY_KIND = {}
for name, d in SPEC["definitions"].items():
    for gvk in d.get("x-kubernetes-group-version-kind", []):
        api = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
        BY_KIND[(api, gvk["kind"])] = name


def errors(doc):
    """Every schema error of one object, as 'path: message' lines."""
    name = BY_KIND.get((doc.get("apiVersion"), doc.get("kind")))
    if name is None:
        return [f"no definition for apiVersion {doc.get('apiVersion')!r} "
                f"kind {doc.get('kind')!r}"]
    schema = {"$ref": f"#/definitions/{name}", "definitions": DEFS}
    v = jsonschema.Draft4Validator(schema)
    out = []
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in e.path) or "(top)"
        out.append(f"{where}: {e.message[:200]}")
    return out


# ---- the manifests --------------------------------------------------------

DOCS = []  # (file, doc)
for path in sorted(glob.glob(os.path.join(SRC, "deploy/kubernetes/*.yaml"))):
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is not None:
                DOCS.append((os.path.basename(path), doc))

ok(len(DOCS) >= 9, f"deploy/kubernetes holds {len(DOCS)} objects")
for file, doc in DOCS:
    errs = errors(doc)
    ok(not errs, f"{file}: {doc.get('kind')} "
       f"{doc.get('metadata', {}).get('name')} is valid against the "
       f"Kubernetes OpenAPI schema", "\n".join(errs))


def one(kind):
    found = [d for _, d in DOCS if d.get("kind") == kind]
    return found[0] if len(found) == 1 else None


dep = one("Deployment")
ok(dep is not None, "one Deployment")

# The validator refuses what the API server would refuse.
broken = {
    "an unknown field (spec.replica)":
        lambda d: d["spec"].__setitem__("replica", 1),
    "a string where an integer goes (spec.replicas)":
        lambda d: d["spec"].__setitem__("replicas", "1"),
    "a container without its required name":
        lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
    "an unknown field in a probe (livenessProbe.httpGet.paht)":
        lambda d: d["spec"]["template"]["spec"]["containers"][0]
        ["livenessProbe"]["httpGet"].__setitem__("paht", "/"),
    "a port name where a securityContext boolean goes":
        lambda d: d["spec"]["template"]["spec"]["containers"][0]
        ["securityContext"].__setitem__("readOnlyRootFilesystem", "yes"),
}
for what, mutate in broken.items():
    d = copy.deepcopy(dep)
    mutate(d)
    ok(errors(d), f"the schema refuses a Deployment with {what}")

# ---- the Deployment's promises -------------------------------------------

spec = dep["spec"]
pod = spec["template"]["spec"]
psc = pod.get("securityContext", {})
ok(spec.get("replicas") == 1 and spec.get("strategy", {}).get("type") ==
   "Recreate", "the Deployment runs one replica, replaced with Recreate")
labels = spec["template"]["metadata"]["labels"]
ok(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
   "the Deployment's selector matches its pods")
ok(psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int)
   and psc["runAsUser"] > 0, "the pod runs as a non-root user")
ok(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
   "the pod's seccomp profile is RuntimeDefault")
for c in pod.get("initContainers", []) + pod["containers"]:
    sc = c.get("securityContext", {})
    name = c["name"]
    ok(sc.get("readOnlyRootFilesystem") is True,
       f"container {name}: read-only root file system")
    ok(sc.get("allowPrivilegeEscalation") is False and
       sc.get("privileged", False) is False,
       f"container {name}: no privilege escalation, not privileged")
    ok(sc.get("capabilities", {}).get("drop") == ["ALL"] and
       not sc.get("capabilities", {}).get("add"),
       f"container {name}: every capability dropped, none added")
    ok(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True and
       sc.get("runAsUser", psc.get("runAsUser")) != 0,
       f"container {name}: non-root")
    ok(sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") ==
       "RuntimeDefault", f"container {name}: seccomp RuntimeDefault")

c = pod["containers"][0]
ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}


def probe(kind):
    g = c.get(kind, {}).get("httpGet", {})
    port = g.get("port")
    return g.get("path"), ports.get(port, port)


ok(probe("livenessProbe") == ("/healthz", 8780),
   "the liveness probe asks GET /healthz on the API port", probe("livenessProbe"))
ok(probe("readinessProbe") == ("/readyz", 8780),
   "the readiness probe asks GET /readyz on the API port",
   probe("readinessProbe"))
env = {e["name"]: e for e in c.get("env", [])}
tok = env.get("STRATA_API_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef")
ok(tok is not None and "value" not in env.get("STRATA_API_TOKEN", {}),
   "the API token comes from a Secret (STRATA_API_TOKEN from secretKeyRef)")
mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
vols = {v["name"]: v for v in pod.get("volumes", [])}
pvc = one("PersistentVolumeClaim")
state = vols.get(mounts.get("/var/lib/strata"), {})
ok(pvc is not None and state.get("persistentVolumeClaim", {}).get("claimName")
   == pvc["metadata"]["name"], "the state directory is the PVC")
cfg_vol = vols.get(mounts.get("/etc/strata"), {})
cm = one("ConfigMap")
ok(cm is not None and cfg_vol.get("configMap", {}).get("name") ==
   cm["metadata"]["name"], "the configuration is the ConfigMap, at /etc/strata")
ok(c.get("args", [])[-1:] == ["run"] and "--log-format" in c.get("args", []),
   "the container runs `strata ... run` with JSON logs", c.get("args"))

# ---- RBAC ------------------------------------------------------------------

role, binding, sa = one("Role"), one("RoleBinding"), one("ServiceAccount")
ok(one("ClusterRole") is None and one("ClusterRoleBinding") is None,
   "no cluster-wide RBAC")
want = {("batch", "jobs", "create"), ("batch", "jobs", "get"),
        ("batch", "jobs", "delete"), ("", "pods", "list"),
        ("", "pods/log", "get")}
have = set()
for r in role["rules"]:
    for g in r.get("apiGroups", []):
        for res in r.get("resources", []):
            for v in r.get("verbs", []):
                have.add((g, res, v))
ok(have == want, "the Role grants exactly what the Kubernetes builder calls: "
   "jobs create/get/delete, pods list, pods/log get",
   f"extra: {sorted(have - want)}\nmissing: {sorted(want - have)}")
ok(not any("*" in x for t in have for x in t), "no wildcard in the Role")
ns = role["metadata"]["namespace"]
ok(binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                          "kind": "Role", "name": role["metadata"]["name"]}
   and binding["metadata"]["namespace"] == ns and binding["subjects"] ==
   [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
     "namespace": sa["metadata"]["namespace"]}],
   "the RoleBinding gives the Role to strata's service account")
ok(pod.get("serviceAccountName") == sa["metadata"]["name"],
   "the Deployment runs as that service account")
namespaces = {d.get("metadata", {}).get("namespace") for _, d in DOCS
              if d["kind"] != "Namespace"}
ok(namespaces == {ns}, f"every object is in namespace {ns}", namespaces)

# ---- Service, NetworkPolicy ------------------------------------------------

svc, np = one("Service"), one("NetworkPolicy")
ok(svc["spec"]["selector"] == spec["selector"]["matchLabels"] and
   [ports.get(p["targetPort"], p["targetPort"]) for p in svc["spec"]["ports"]]
   == [8780], "the Service selects the pods and serves the API port only")
ok(np["spec"]["podSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
   and sorted(np["spec"]["policyTypes"]) == ["Egress", "Ingress"],
   "the NetworkPolicy selects the pods, for ingress and egress")
ingress_ports = [p.get("port") for r in np["spec"].get("ingress", [])
                 for p in r.get("ports", [])]
ok(ingress_ports == [8780] and all(r.get("ports") for r in
                                   np["spec"].get("ingress", [])),
   "the NetworkPolicy lets in the API port only", ingress_ports)
ok(all(r.get("ports") for r in np["spec"].get("egress", [])),
   "every egress rule names its ports")

# ---- the configuration ----------------------------------------------------

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "strata.yaml")
    with open(path, "w") as f:
        f.write(cm["data"]["strata.yaml"])
    r = subprocess.run([EXE, "-c", path, "config", "check"], capture_output=True,
                       text=True, env=dict(os.environ, STRATA_API_TOKEN="x"))
    ok(r.returncode == 0, "the ConfigMap's strata.yaml passes config check",
       r.stderr)
    # The listen address is not loopback: without the token it is refused.
    env_no = {k: v for k, v in os.environ.items() if k != "STRATA_API_TOKEN"}
    r = subprocess.run([EXE, "-c", path, "config", "check"], capture_output=True,
                       text=True, env=env_no)
    ok(r.returncode == 2 and "STRATA_API_TOKEN" in r.stderr,
       "without STRATA_API_TOKEN the configuration is refused", r.stderr)
conf = yaml.safe_load(cm["data"]["strata.yaml"])
ok(conf.get("state", "").startswith("/var/lib/strata/") and
   conf.get("api", {}).get("token") == "${STRATA_API_TOKEN}" and
   conf.get("api", {}).get("listen", "").endswith(":8780"),
   "the configuration keeps state on the PVC and takes the token from the "
   "environment")
builders = [b for b in conf.get("builders", {}).values()
            if b.get("type") == "kubernetes"]
ok(builders and all(b.get("namespace") == ns for b in builders),
   "its Kubernetes builder runs Jobs in the Role's namespace")

print(f"1..{N}")
sys.exit(1 if BAD else 0)
