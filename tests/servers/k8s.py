#!/usr/bin/python3
"""k8s.py - a loopback server shaped like the Kubernetes API server, for
the kubernetes rebuild backend in tests/test-build.c (stdlib only).

    k8s.py --token TOKEN [--namespace NS]... [--tls CERT KEY]

Listens on 127.0.0.1 on an ephemeral port (HTTPS with --tls), prints the
port once it accepts connections, and serves until killed. Every request
must carry "Authorization: Bearer TOKEN" (else 401 with a Status object,
as the API server answers). Endpoints (https://kubernetes.io/docs/
reference/kubernetes-api/workload-resources/job-v1/):

  POST   /apis/batch/v1/namespaces/NS/jobs          create a Job: 201
  GET    /apis/batch/v1/namespaces/NS/jobs/NAME     the Job with status
  DELETE /apis/batch/v1/namespaces/NS/jobs/NAME?propagationPolicy=Background
  GET    /api/v1/namespaces/NS/pods?labelSelector=job-name=NAME
  GET    /api/v1/namespaces/NS/pods/POD/log?container=build&tailLines=N
         &limitBytes=B

The Job body is checked: apiVersion batch/v1, kind Job, a DNS-1123
metadata.name of at most 63, the namespace of the path, spec.backoffLimit
an integer, spec.template.spec.restartPolicy Never, volumes (unique DNS-1123
names, one source each; a secret's secretName a DNS-1123 subdomain, its
items {key, path} with a relative path), volumeMounts (a volume's name, an
absolute unique mountPath, readOnly a boolean), env (a valid name, a
string value), imagePullSecrets ([{name}]), one container with a
string image and string args (BuildKit: build --frontend dockerfile.v0
... --output type=image,name=...,push=true; kaniko: --destination= and
--context=git://). Errors are Status objects: 400/422 Invalid, 404
NotFound (unknown namespace), 409 AlreadyExists.

RBAC, as the API server's authorizer: POST /_admin/role {"file": PATH,
"drop": N} loads the Role in the YAML file PATH (deploy/kubernetes/
rbac.yaml) and from then on answers 403 Forbidden to any request its
rules do not grant (apiGroup, resource or subresource, verb: create,
get, list, delete; N, when given, leaves out the N-th granted (group,
resource, verb), in sorted order); it answers {"grants": [...]}. {} lifts
it. Either clears the refusals and any unused scripted outcome. GET /_admin/state lists the refused requests in "forbidden".

Scripted transitions: POST /_admin/next {"outcome": "success" | "failure"
| "never", "polls": N} sets how the next Job goes: active for N reads,
then Complete or Failed (never: active forever). GET /_admin/state:
{"jobs": {name: {"body", "deleted", "propagation"}}, "log", "violations"}.
"""
import argparse
import json
import re
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None
LOCK = threading.Lock()
JOBS = {}   # (ns, name) -> dict
LOG = []
VIOLATIONS = []
NEXT = []
GRANTS = None  # set of (group, resource, verb) when a Role is loaded
FORBIDDEN = []
DIGEST = "sha256:" + "cd" * 32
DNS1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                       r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason,
            "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, obj=None, text=None):
        if text is not None:
            data, ctype = text.encode(), "text/plain"
        else:
            data, ctype = json.dumps(obj).encode(), "application/json"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with LOCK:
            LOG.append([self.command, self.path, code])

    def invalid(self, why):
        with LOCK:
            VIOLATIONS.append("%s %s: %s" % (self.command, self.path, why))
        self.send(422, status(422, "Invalid", "Job.batch is invalid: " + why))

    # ---- the Job's shape ----

    def check_job(self, ns, job):
        if job.get("apiVersion") != "batch/v1" or job.get("kind") != "Job":
            return "apiVersion must be batch/v1 and kind Job"
        meta = job.get("metadata") or {}
        name = meta.get("name")
        if not isinstance(name, str) or len(name) > 63 or \
                not DNS1123.fullmatch(name):
            return "metadata.name: Invalid value: %r" % (name,)
        if meta.get("namespace") not in (None, ns):
            return "metadata.namespace does not match the request"
        spec = job.get("spec") or {}
        if not isinstance(spec.get("backoffLimit"), int):
            return "spec.backoffLimit: must be an integer"
        ads = spec.get("activeDeadlineSeconds")
        if ads is not None and (not isinstance(ads, int) or ads <= 0):
            return "spec.activeDeadlineSeconds: must be a positive integer"
        pod = (spec.get("template") or {}).get("spec") or {}
        if pod.get("restartPolicy") != "Never":
            return "spec.template.spec.restartPolicy: Unsupported value"
        cs = pod.get("containers")
        if not isinstance(cs, list) or len(cs) != 1:
            return "spec.template.spec.containers: expected one container"
        c = cs[0]
        if not isinstance(c.get("name"), str) or \
                not isinstance(c.get("image"), str):
            return "containers[0].name and image must be strings"
        args = c.get("args")
        if not isinstance(args, list) or \
                not all(isinstance(a, str) for a in args):
            return "containers[0].args must be a list of strings"
        for k in ("command",):
            v = c.get(k)
            if v is not None and (not isinstance(v, list) or not all(
                    isinstance(a, str) for a in v)):
                return "containers[0].command must be a list of strings"
        why = self.check_volumes(pod, c)
        if why:
            return why
        if "kaniko" in c["image"]:
            if not any(a.startswith("--destination=") for a in args) or \
                    not any(a.startswith("--context=git://") for a in args):
                return "kaniko needs --destination= and --context=git://"
        else:
            if c.get("command") != ["buildctl-daemonless.sh"] or \
                    args[:3] != ["build", "--frontend", "dockerfile.v0"]:
                return "buildkit: buildctl-daemonless.sh build --frontend " \
                    "dockerfile.v0 expected"
            outs = [args[i + 1] for i, a in enumerate(args[:-1])
                    if a == "--output"]
            if len(outs) != 1 or not re.fullmatch(
                    r"type=image,name=[^,]+,push=true", outs[0]):
                return "buildkit: --output type=image,name=...,push=true"
        return None

    def check_volumes(self, pod, c):
        """Volumes, mounts, env and imagePullSecrets as the API server
        validates them (core/v1 Volume, VolumeMount, EnvVar,
        LocalObjectReference)."""
        vols = {}
        for i, v in enumerate(pod.get("volumes") or []):
            where = "spec.template.spec.volumes[%d]" % i
            name = v.get("name") if isinstance(v, dict) else None
            if not isinstance(name, str) or len(name) > 63 or \
                    not DNS1123.fullmatch(name):
                return "%s.name: Invalid value: %r" % (where, name)
            if name in vols:
                return "%s.name: Duplicate value: %r" % (where, name)
            sources = [k for k in v if k != "name"]
            if len(sources) != 1:
                return "%s: must specify exactly 1 volume type" % where
            vols[name] = v
            sec = v.get("secret")
            if "secret" in v:
                if not isinstance(sec, dict):
                    return "%s.secret: must be an object" % where
                sn = sec.get("secretName")
                if not isinstance(sn, str) or len(sn) > 253 or \
                        not SUBDOMAIN.fullmatch(sn):
                    return "%s.secret.secretName: Invalid value: %r" % (
                        where, sn)
                for j, it in enumerate(sec.get("items") or []):
                    iw = "%s.secret.items[%d]" % (where, j)
                    if not isinstance(it, dict) or set(it) - {"key", "path",
                                                              "mode"}:
                        return "%s: unknown fields" % iw
                    k, p = it.get("key"), it.get("path")
                    if not isinstance(k, str) or \
                            not re.fullmatch(r"[-._a-zA-Z0-9]+", k):
                        return "%s.key: Invalid value: %r" % (iw, k)
                    if not isinstance(p, str) or not p or \
                            p.startswith("/") or ".." in p.split("/"):
                        return "%s.path: Invalid value: %r" % (iw, p)
        paths = set()
        for i, m in enumerate(c.get("volumeMounts") or []):
            where = "containers[0].volumeMounts[%d]" % i
            if m.get("name") not in vols:
                return "%s.name: Not found: %r" % (where, m.get("name"))
            mp = m.get("mountPath")
            if not isinstance(mp, str) or not mp.startswith("/"):
                return "%s.mountPath: Invalid value: %r" % (where, mp)
            if mp in paths:
                return "%s.mountPath: must be unique" % where
            paths.add(mp)
            if "readOnly" in m and not isinstance(m["readOnly"], bool):
                return "%s.readOnly: must be a boolean" % where
        for i, e in enumerate(c.get("env") or []):
            where = "containers[0].env[%d]" % i
            n = e.get("name") if isinstance(e, dict) else None
            if not isinstance(n, str) or \
                    not re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", n):
                return "%s.name: Invalid value: %r" % (where, n)
            if "value" in e and not isinstance(e["value"], str):
                return "%s.value: must be a string" % where
            if "value" in e and "valueFrom" in e:
                return "%s.valueFrom: may not be specified when value " \
                    "is not empty" % where
        ips = pod.get("imagePullSecrets")
        if ips is not None:
            if not isinstance(ips, list) or not all(
                    isinstance(x, dict) and set(x) == {"name"} and
                    isinstance(x["name"], str) and
                    SUBDOMAIN.fullmatch(x["name"]) for x in ips):
                return "spec.template.spec.imagePullSecrets: Invalid value"
        return None

    # ---- routes ----

    def route(self, method):
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        path = u.path
        if path == "/_admin/next" and method == "POST":
            with LOCK:
                NEXT.append(json.loads(self.body()))
            return self.send(200, {})
        if path == "/_admin/role" and method == "POST":
            return self.load_role(json.loads(self.body()))
        if path == "/_admin/state":
            with LOCK:
                jobs = {k[1]: {"body": v["body"], "deleted": v["deleted"],
                               "propagation": v["propagation"],
                               "reads": v["reads"]}
                        for k, v in JOBS.items()}
                st = {"jobs": jobs, "log": list(LOG),
                      "violations": list(VIOLATIONS),
                      "forbidden": list(FORBIDDEN)}
            return self.send(200, st)
        if self.headers.get("Authorization") != "Bearer " + ARGS.token:
            return self.send(401, status(401, "Unauthorized",
                                         "Unauthorized"))
        if not self.authorized(method, path):
            return
        m = re.fullmatch(r"/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?",
                         path)
        if m:
            ns, name = m.group(1), m.group(2)
            if ns not in ARGS.namespace:
                return self.send(404, status(404, "NotFound",
                                             'namespaces "%s" not found' % ns))
            if name is None and method == "POST":
                return self.create(ns)
            job = JOBS.get((ns, name))
            if job is None or job["deleted"]:
                return self.send(404, status(
                    404, "NotFound", 'jobs.batch "%s" not found' % name))
            if method == "GET":
                return self.send(200, self.job_json(job, True))
            if method == "DELETE":
                job["deleted"] = True
                job["propagation"] = q.get("propagationPolicy", [None])[0]
                if job["propagation"] != "Background":
                    with LOCK:
                        VIOLATIONS.append("DELETE without "
                                          "propagationPolicy=Background")
                return self.send(200, {"kind": "Status", "apiVersion": "v1",
                                       "status": "Success"})
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/pods(?:/([^/]+)/log)?",
                         path)
        if m and method == "GET":
            return self.pods(m.group(1), m.group(2), q)
        with LOCK:
            VIOLATIONS.append("unknown endpoint %s %s" % (method, path))
        self.send(404, status(404, "NotFound", "the server could not find "
                              "the requested resource"))

    # ---- RBAC ----

    def load_role(self, req):
        global GRANTS
        with LOCK:
            # A refused create leaves its scripted outcome unused.
            FORBIDDEN.clear()
            NEXT.clear()
            if not req.get("file"):
                GRANTS = None
        if not req.get("file"):
            return self.send(200, {"grants": None})
        import yaml  # python3-yaml; only a Role needs it
        with open(req["file"]) as f:
            roles = [d for d in yaml.safe_load_all(f)
                     if d and d.get("kind") == "Role"]
        grants = sorted({(g, r, v) for role in roles
                         for rule in role.get("rules", [])
                         for g in rule.get("apiGroups", [])
                         for r in rule.get("resources", [])
                         for v in rule.get("verbs", [])})
        if req.get("drop") is not None:
            del grants[req["drop"]]
        with LOCK:
            GRANTS = set(grants)
        self.send(200, {"grants": grants})

    def authorized(self, method, path):
        """The request's (group, resource, verb), as the API server's
        RBAC authorizer sees it, against the loaded Role."""
        if GRANTS is None:
            return True
        m = re.fullmatch(r"/(?:api/v1|apis/([^/]+)/[^/]+)/namespaces/[^/]+/"
                         r"([^/]+)(?:/([^/]+))?(?:/([^/]+))?", path)
        if not m:
            return True
        group, res, name, sub = m.group(1) or "", m.group(2), m.group(3), \
            m.group(4)
        if sub:
            res += "/" + sub
        verb = {"POST": "create", "DELETE": "delete", "PUT": "update",
                "PATCH": "patch"}.get(method)
        if verb is None:
            verb = "get" if name else "list"
        if (group, res, verb) in GRANTS or (group, res, "*") in GRANTS:
            return True
        with LOCK:
            FORBIDDEN.append([group, res, verb])
        gr = res.split("/")[0] + ("." + group if group else "")
        self.send(403, status(403, "Forbidden",
                              '%s is forbidden: User "system:serviceaccount:'
                              'strata:strata" cannot %s resource "%s" in API '
                              'group "%s"' % (gr, verb, res, group)))
        return False

    def create(self, ns):
        if self.headers.get("Content-Type") != "application/json":
            return self.send(415, status(415, "UnsupportedMediaType",
                                         "unsupported media type"))
        try:
            job = json.loads(self.body())
        except ValueError:
            return self.send(400, status(400, "BadRequest", "bad JSON"))
        why = self.check_job(ns, job)
        if why:
            return self.invalid(why)
        name = job["metadata"]["name"]
        with LOCK:
            if (ns, name) in JOBS:
                return self.send(409, status(409, "AlreadyExists",
                                             'jobs.batch "%s" already exists'
                                             % name))
            sc = {"outcome": "success", "polls": 2}
            if NEXT:
                sc.update(NEXT.pop(0))
            JOBS[(ns, name)] = {"body": job, "sc": sc, "reads": 0,
                                "deleted": False, "propagation": None,
                                "ns": ns, "name": name}
        self.send(201, self.job_json(JOBS[(ns, name)], False))

    def state(self, job):
        sc = job["sc"]
        if sc["outcome"] == "never" or job["reads"] <= sc["polls"]:
            return "active"
        return sc["outcome"]

    def job_json(self, job, read):
        if read:
            job["reads"] += 1
        st = {}
        s = self.state(job)
        if s == "active" and job["reads"] > 0:
            st = {"active": 1, "startTime": "2026-01-01T00:00:00Z"}
        elif s == "success":
            st = {"succeeded": 1, "conditions": [
                {"type": "Complete", "status": "True"}]}
        elif s == "failure":
            st = {"failed": 1, "conditions": [
                {"type": "Failed", "status": "True",
                 "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}]}
        out = dict(job["body"])
        out["status"] = st
        return out

    def pods(self, ns, pod, q):
        if pod is None:
            sel = q.get("labelSelector", [""])[0]
            mm = re.fullmatch(r"job-name=(.+)", sel)
            if not mm:
                with LOCK:
                    VIOLATIONS.append("pods without labelSelector job-name=")
                return self.send(400, status(400, "BadRequest", "selector"))
            job = JOBS.get((ns, mm.group(1)))
            items = []
            if job is not None:
                s = self.state(job)
                c = job["body"]["spec"]["template"]["spec"]["containers"][0]
                kaniko = "kaniko" in c["image"]
                term = {"exitCode": 0 if s == "success" else 1}
                if s == "success":
                    term["message"] = DIGEST if kaniko else json.dumps(
                        {"containerimage.config.digest": "sha256:" + "11" * 32,
                         "containerimage.digest": DIGEST})
                cstate = {"terminated": term} if s != "active" else \
                    {"running": {}}
                items.append({"metadata": {"name": mm.group(1) + "-x7k2p",
                                           "labels": {"job-name":
                                                      mm.group(1)}},
                              "status": {"containerStatuses": [
                                  {"name": "build", "state": cstate}]}})
            return self.send(200, {"kind": "PodList", "apiVersion": "v1",
                                   "items": items})
        if q.get("container") != ["build"]:
            with LOCK:
                VIOLATIONS.append("log without container=build")
        # The API's PodLogOptions: both must be positive integers.
        for opt in ("tailLines", "limitBytes"):
            v = q.get(opt, ["1"])[0]
            if not v.isdigit() or int(v) <= 0:
                with LOCK:
                    VIOLATIONS.append("log %s=%r is not a positive integer"
                                      % (opt, v))
        name = pod[:-len("-x7k2p")] if pod.endswith("-x7k2p") else None
        job = JOBS.get((ns, name))
        if job is None:
            return self.send(404, status(404, "NotFound",
                                         'pods "%s" not found' % pod))
        s = self.state(job)
        text = "#1 building\n#2 exporting to image\n"
        text += "#2 pushing done\n" if s == "success" else \
            "#2 ERROR: process did not complete successfully\n"
        self.send(200, text=text)

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--token", required=True)
    p.add_argument("--namespace", action="append", default=[])
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ARGS = p.parse_args()
    if not ARGS.namespace:
        ARGS.namespace = ["default"]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ARGS.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls[0], ARGS.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
