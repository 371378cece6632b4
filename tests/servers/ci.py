#!/usr/bin/python3
"""ci.py - one loopback server that plays GitHub Actions, GitLab CI and a
generic build webhook for tests/test-build.c (stdlib only).

    ci.py --token TOKEN --trigger-token TRIGGER --secret SECRET

Listens on 127.0.0.1 on an ephemeral port, prints the port once it accepts
connections, and serves until killed. Every request is checked against the
provider's documented REST API; a violation is answered 400/422 as the
provider does and recorded.

GitHub (https://docs.github.com/rest/actions):
  POST /repos/O/R/actions/workflows/W/dispatches   {ref, inputs}: 204
      (Authorization: Bearer TOKEN, Accept: application/vnd.github+json,
      X-GitHub-Api-Version: 2022-11-28; inputs must be the workflow's
      declared ones, strings, at most 25; unknown workflow: 404)
  GET  /repos/O/R/actions/workflows/W/runs?event=workflow_dispatch&branch=B
       &created=>=TIME                           {total_count, workflow_runs}
  GET  /repos/O/R/actions/runs/ID                 status / conclusion
  GET  /repos/O/R/actions/runs/ID/jobs            {total_count, jobs}
  POST /repos/O/R/actions/runs/ID/cancel          202
GitLab (https://docs.gitlab.com/ee/api/pipeline_triggers.html, pipelines):
  POST /api/v4/projects/ID/trigger/pipeline       form token, ref,
       variables[K]=V (trigger token): 201 {id, status, web_url}
  POST /api/v4/projects/ID/pipeline               PRIVATE-TOKEN, JSON
       {ref, variables: [{key, value}]}: 201
  GET  /api/v4/projects/ID/pipelines/PID          PRIVATE-TOKEN
  GET  /api/v4/projects/ID/pipelines/PID/jobs     PRIVATE-TOKEN
  POST /api/v4/projects/ID/pipelines/PID/cancel   PRIVATE-TOKEN
  acme/app is private, acme/site public. As GitLab answers: a PRIVATE-TOKEN
  that is not the access token (a trigger token too) gets 401 "401
  Unauthorized"; no token gets 404 "404 Project Not Found" for the private
  project and read access (GETs only) to the public one.
Webhook:
  POST /hook   JSON, X-Strata-Event: rebuild, X-Strata-Signature:
       sha256=HMAC-SHA256(SECRET, body), Authorization: Bearer TOKEN
  GET  /hook/status/N   {"status", "digest"?, "log"?}

How runs go is scripted: POST /_admin/next {"outcome": "success" |
"failure" | "never", "polls": N, "status_url": bool, "hook_status": int,
"late": N} sets what the next dispatch/trigger/hook does (default success
after 2 polls). "late": the run shows up in listings only after N lists.
GET /_admin/state gives {"log": [[method, path, status]], "violations",
"cancelled": [ids], "requests": [bodies], "gitlab_reads": {id: ["token" |
"anonymous", ...]}} (how each GitLab pipeline was read).
"""
import argparse
import calendar
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None
LOCK = threading.Lock()
LOG = []
VIOLATIONS = []
CANCELLED = []
REQUESTS = []
NEXT = []
RUNS = {}       # id -> run dict (GitHub, GitLab pipelines, hooks)
NEXT_ID = [7000]

GH_INPUTS = {"image", "dockerfile", "context", "target", "build_args",
             "platforms", "base", "base_digest", "strata_id"}
GH_WORKFLOWS = {"rebuild.yml"}
GL_VARIABLES = {"STRATA_IMAGE", "STRATA_DOCKERFILE", "STRATA_CONTEXT",
                "STRATA_TARGET", "STRATA_BUILD_ARGS", "STRATA_PLATFORMS",
                "STRATA_BASE", "STRATA_BASE_DIGEST", "STRATA_ID",
                "STRATA_JOB_KEY"}
GL_PROJECT = "acme%2Fapp"   # private
GL_PUBLIC = "acme%2Fsite"   # public: anyone may read its pipelines


def scenario():
    with LOCK:
        s = NEXT.pop(0) if NEXT else {}
    out = {"outcome": "success", "polls": 2, "status_url": True,
           "hook_status": 202, "late": 0}
    out.update(s)
    return out


def new_run(kind, sc, **extra):
    with LOCK:
        NEXT_ID[0] += 1
        rid = NEXT_ID[0]
        run = {"id": rid, "kind": kind, "sc": sc, "gets": 0, "lists": 0,
               "created": time.time(), "cancelled": False}
        run.update(extra)
        RUNS[rid] = run
    return run


def progress(run):
    """Counts a status read; returns "running" or the final outcome."""
    run["gets"] += 1
    sc = run["sc"]
    if run["cancelled"]:
        return "cancelled"
    if sc["outcome"] == "never" or run["gets"] <= sc["polls"]:
        return "running"
    return sc["outcome"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, obj=None, raw=None, ctype="application/json"):
        data = b""
        if obj is not None:
            data = json.dumps(obj).encode()
        elif raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        self.send_response(status)
        if data or status not in (204,):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)
        with LOCK:
            LOG.append([self.command, self.path, status])

    def violation(self, status, why, obj=None):
        with LOCK:
            VIOLATIONS.append("%s %s: %s" % (self.command, self.path, why))
        self.send(status, obj if obj is not None else {"message": why})

    def base(self):
        return "http://%s" % self.headers.get("Host")

    # ---- GitHub ----

    def gh_auth(self):
        h = self.headers
        if h.get("Authorization") != "Bearer " + ARGS.token:
            self.send(401, {"message": "Bad credentials",
                            "documentation_url": "https://docs.github.com/rest"})
            return False
        if h.get("Accept") != "application/vnd.github+json":
            self.violation(415, "Accept must be application/vnd.github+json")
            return False
        if h.get("X-GitHub-Api-Version") != "2022-11-28":
            self.violation(400, "X-GitHub-Api-Version missing")
            return False
        return True

    def gh_run_json(self, run, count):
        state = progress(run) if count else "running"
        status, conclusion = "in_progress", None
        if state in ("success", "failure", "cancelled"):
            status, conclusion = "completed", state
        elif run["gets"] <= 1:
            status = "queued"
        return {"id": run["id"], "name": "rebuild",
                "display_title": run["title"], "event": "workflow_dispatch",
                "head_branch": run["branch"], "status": status,
                "conclusion": conclusion, "path": ".github/workflows/" +
                run["workflow"],
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime(run["created"])),
                "html_url": "https://github.test/%s/actions/runs/%d" %
                (run["repo"], run["id"])}

    def gh(self, method, path, q):
        if not self.gh_auth():
            return
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/"
                         r"dispatches", path)
        if m and method == "POST":
            return self.gh_dispatch(m.group(1), m.group(2))
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/"
                         r"runs", path)
        if m and method == "GET":
            return self.gh_list(m.group(1), m.group(2), q)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/runs/(\d+)(/jobs|"
                         r"/cancel)?", path)
        if m:
            run = RUNS.get(int(m.group(2)))
            if run is None or run["kind"] != "github":
                return self.send(404, {"message": "Not Found"})
            if m.group(3) == "/cancel" and method == "POST":
                run["cancelled"] = True
                CANCELLED.append(run["id"])
                return self.send(202, {})
            if m.group(3) == "/jobs" and method == "GET":
                st = progress(run)
                concl = st if st != "running" else None
                steps = [{"name": "Set up job", "conclusion": "success"},
                         {"name": "Build and push", "conclusion": concl}]
                return self.send(200, {"total_count": 1, "jobs": [
                    {"name": "build", "conclusion": concl,
                     "status": "completed" if concl else "in_progress",
                     "steps": steps}]})
            if m.group(3) is None and method == "GET":
                return self.send(200, self.gh_run_json(run, True))
        self.violation(404, "no such GitHub endpoint")

    def gh_dispatch(self, repo, workflow):
        if repo != "acme/app":
            return self.send(404, {"message": "Not Found"})
        if workflow not in GH_WORKFLOWS:
            return self.send(404, {"message": "Not Found"})
        if self.headers.get("Content-Type") != "application/json":
            return self.violation(415, "Content-Type must be JSON")
        try:
            body = json.loads(self.body())
        except ValueError:
            return self.violation(400, "Problems parsing JSON")
        REQUESTS.append({"github": body})
        if not isinstance(body.get("ref"), str):
            return self.violation(422, "ref is required")
        inputs = body.get("inputs", {})
        extra = set(body) - {"ref", "inputs"}
        if extra:
            return self.violation(422, "unexpected fields %s" % sorted(extra))
        if not isinstance(inputs, dict) or len(inputs) > 25:
            return self.violation(422, "inputs must be an object of <= 25")
        bad = [k for k, v in inputs.items()
               if k not in GH_INPUTS or not isinstance(v, str)]
        if bad:
            return self.send(422, {"message": "Unexpected inputs provided: "
                                   + json.dumps(sorted(bad))})
        sc = scenario()
        # A decoy: another run of the workflow, 30 s older (inside the
        # coarse created filter, so the client must tell them apart).
        decoy = new_run("github", {"outcome": "failure", "polls": 0},
                        repo=repo, workflow=workflow, branch=body["ref"],
                        title="someone else's run")
        decoy["created"] -= 30
        # "title": false plays a workflow without run-name: the client
        # must then pick the run by its creation time.
        new_run("github", sc, repo=repo, workflow=workflow,
                branch=body["ref"],
                title=inputs.get("strata_id", "rebuild")
                if sc.get("title", True) else "rebuild")
        self.send(204)

    def gh_list(self, repo, workflow, q):
        if q.get("event") != ["workflow_dispatch"]:
            return self.violation(422, "expected event=workflow_dispatch")
        if "branch" not in q:
            return self.violation(422, "expected a branch filter")
        created = q.get("created", [""])[0]
        if not created.startswith(">="):
            return self.violation(422, "expected created=>=TIME")
        try:
            since = calendar.timegm(time.strptime(created[2:],
                                                  "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return self.violation(422, "bad created time")
        runs = []
        for run in sorted(RUNS.values(), key=lambda r: -r["id"]):
            if run["kind"] != "github" or run["workflow"] != workflow:
                continue
            run["lists"] += 1
            if run["lists"] <= run["sc"].get("late", 0):
                continue
            if run["branch"] != q["branch"][0] or run["created"] < since:
                continue
            runs.append(self.gh_run_json(run, False))
        self.send(200, {"total_count": len(runs), "workflow_runs": runs})

    # ---- GitLab ----

    def gl(self, method, path):
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/trigger/pipeline", path)
        if m and method == "POST":
            return self.gl_trigger(m.group(1))
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/pipeline", path)
        if m and method == "POST":
            return self.gl_create(m.group(1))
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/pipelines/(\d+)"
                         r"(/jobs|/cancel)?", path)
        if m:
            # GitLab: a token that is not a valid access token (a trigger
            # token included) is 401; no token reads a public project's
            # pipelines, and a private project "does not exist" (404).
            tok = self.headers.get("PRIVATE-TOKEN")
            if tok and tok != ARGS.token:
                return self.send(401, {"message": "401 Unauthorized"})
            if m.group(1) not in (GL_PROJECT, GL_PUBLIC) or \
                    (not tok and m.group(1) != GL_PUBLIC):
                return self.send(404, {"message": "404 Project Not Found"})
            if not tok and method != "GET":
                return self.send(401, {"message": "401 Unauthorized"})
            run = RUNS.get(int(m.group(2)))
            if run is None or run["kind"] != "gitlab" or \
                    run["project"] != m.group(1):
                return self.send(404, {"message": "404 Not found"})
            with LOCK:
                run["readers"].append("token" if tok else "anonymous")
            if m.group(3) == "/cancel" and method == "POST":
                run["cancelled"] = True
                CANCELLED.append(run["id"])
                return self.send(200, self.gl_json(run, "canceled"))
            st = progress(run)
            status = {"running": "running", "success": "success",
                      "failure": "failed", "cancelled": "canceled"}[st]
            if run["gets"] == 1 and st == "running":
                status = "pending"
            if m.group(3) == "/jobs" and method == "GET":
                return self.send(200, [
                    {"id": 1, "name": "build", "stage": "build",
                     "status": status}])
            if m.group(3) is None and method == "GET":
                return self.send(200, self.gl_json(run, status))
        self.violation(404, "no such GitLab endpoint")

    def gl_json(self, run, status):
        return {"id": run["id"], "iid": 1, "project_id": 42,
                "status": status, "ref": run["ref"], "source": run["source"],
                "web_url": "https://gitlab.test/acme/app/-/pipelines/%d" %
                run["id"]}

    def gl_check_vars(self, names):
        bad = [k for k in names if k not in GL_VARIABLES]
        if bad:
            self.violation(400, "unexpected variables %s" % bad)
            return False
        return True

    def gl_trigger(self, project):
        if self.headers.get("Content-Type") != \
                "application/x-www-form-urlencoded":
            return self.violation(400, "expected a form body")
        form = parse_qs(self.body().decode(), keep_blank_values=True)
        REQUESTS.append({"gitlab_trigger": {k: v[0] for k, v in form.items()
                                            if k != "token"}})
        if project not in (GL_PROJECT, GL_PUBLIC):
            return self.send(404, {"message": "404 Project Not Found"})
        if form.get("token") != [ARGS.trigger_token]:
            return self.send(404, {"message": "404 Not Found"})
        if "ref" not in form:
            return self.send(400, {"error": "ref is missing"})
        names = []
        for k in form:
            if k in ("token", "ref"):
                continue
            mm = re.fullmatch(r"variables\[([A-Za-z0-9_]+)\]", k)
            if not mm:
                return self.violation(400, "unexpected field %s" % k)
            names.append(mm.group(1))
        if not self.gl_check_vars(names):
            return
        run = new_run("gitlab", scenario(), ref=form["ref"][0],
                      source="trigger", project=project, readers=[])
        self.send(201, self.gl_json(run, "created"))

    def gl_create(self, project):
        if self.headers.get("PRIVATE-TOKEN") != ARGS.token:
            return self.send(401, {"message": "401 Unauthorized"})
        if project not in (GL_PROJECT, GL_PUBLIC):
            return self.send(404, {"message": "404 Project Not Found"})
        try:
            body = json.loads(self.body())
        except ValueError:
            return self.violation(400, "bad JSON")
        REQUESTS.append({"gitlab_api": body})
        if not isinstance(body.get("ref"), str):
            return self.send(400, {"error": "ref is missing"})
        names = []
        for v in body.get("variables", []):
            if set(v) - {"key", "value", "variable_type"} or \
                    not isinstance(v.get("key"), str) or \
                    not isinstance(v.get("value"), str):
                return self.violation(400, "bad variable %r" % v)
            names.append(v["key"])
        if not self.gl_check_vars(names):
            return
        run = new_run("gitlab", scenario(), ref=body["ref"], source="api",
                      project=project, readers=[])
        self.send(201, self.gl_json(run, "created"))

    # ---- the webhook ----

    def hook(self, method, path):
        if path == "/hook" and method == "POST":
            raw = self.body()
            want = "sha256=" + hmac.new(ARGS.secret.encode(), raw,
                                        hashlib.sha256).hexdigest()
            if self.headers.get("X-Strata-Signature") != want:
                return self.violation(401, "bad signature")
            if self.headers.get("Authorization") != "Bearer " + ARGS.token:
                return self.send(401, {"error": "unauthorized"})
            if self.headers.get("X-Strata-Event") != "rebuild" or \
                    self.headers.get("Content-Type") != "application/json":
                return self.violation(400, "bad event or content type")
            body = json.loads(raw)
            REQUESTS.append({"hook": body})
            for k in ("image", "dockerfile", "context", "build_args"):
                if k not in body:
                    return self.violation(400, "missing %s" % k)
            sc = scenario()
            if sc["hook_status"] >= 300:
                return self.send(sc["hook_status"], {"error": "broken"})
            run = new_run("hook", sc)
            if not sc["status_url"]:
                return self.send(sc["hook_status"], raw=b"")
            return self.send(sc["hook_status"], {
                "status_url": "%s/hook/status/%d" % (self.base(), run["id"])})
        m = re.fullmatch(r"/hook/status/(\d+)", path)
        if m and method == "GET":
            if self.headers.get("Authorization") != "Bearer " + ARGS.token:
                return self.send(401, {"error": "unauthorized"})
            run = RUNS.get(int(m.group(1)))
            if run is None:
                return self.send(404, {"error": "no such build"})
            st = progress(run)
            if st == "running":
                return self.send(200, {"status": "running"})
            if st == "success":
                return self.send(200, {
                    "status": "succeeded", "log": "built and pushed\n",
                    "digest": "sha256:" + "ab" * 32,
                    "url": "https://ci.test/builds/%d" % run["id"]})
            return self.send(200, {"status": "failed",
                                   "log": "step 3 failed\n"})
        self.violation(404, "no such hook endpoint")

    # ---- dispatch ----

    def route(self, method):
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        path = u.path
        if path.startswith("/_admin/"):
            if path == "/_admin/next" and method == "POST":
                with LOCK:
                    NEXT.append(json.loads(self.body()))
                return self.send(200, {})
            if path == "/_admin/state":
                with LOCK:
                    st = {"log": list(LOG), "violations": list(VIOLATIONS),
                          "cancelled": list(CANCELLED),
                          "requests": list(REQUESTS),
                          "gitlab_reads": {
                              str(k): list(v["readers"])
                              for k, v in RUNS.items()
                              if v["kind"] == "gitlab"}}
                return self.send(200, st)
            return self.send(404, {})
        if path.startswith("/repos/"):
            return self.gh(method, path, q)
        if path.startswith("/api/v4/"):
            return self.gl(method, path)
        if path.startswith("/hook"):
            return self.hook(method, path)
        self.violation(404, "unknown endpoint")

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
    p.add_argument("--trigger-token", required=True)
    p.add_argument("--secret", required=True)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
