#!/usr/bin/python3
"""forge.py - one loopback server that plays GitHub, GitLab or Gitea for
tests/test-forge.c (stdlib only).

    forge.py --forge github|gitlab|gitea --token TOKEN
             [--repo owner/name]... [--branch NAME]...

Listens on 127.0.0.1 on an ephemeral port, prints the port once it accepts
connections, and serves until killed. Every request is checked against the
provider's documented REST API: method and path, the auth header exactly
(GitHub "Authorization: Bearer T" plus "Accept: application/vnd.github+json"
and "X-GitHub-Api-Version: 2022-11-28"; GitLab "PRIVATE-TOKEN: T" and a
URL-encoded project path; Gitea "Authorization: token T"), the JSON content
type, required body fields, their types, and no undocumented fields. A
violation is answered with the provider's error shape (400/415/422) and
recorded. State: branches per repository, change requests (open/closed),
labels, reviewers, comments.

Admin endpoints (no auth):
  POST /_admin/fail   {"path_regex", "method"?, "status", "count"?,
                       "headers"? {}, "body"? json | "raw"? text}
                      the next `count` matching requests get that answer
                      (default bodies: the provider's own for the status)
  POST /_admin/delay  {"path_regex", "method"?, "seconds", "count"?}
                      the next `count` matching requests are carried out
                      at once but answered `seconds` later (a client that
                      dies meanwhile never learns the outcome)
  POST /_admin/race   {"repo", "head", "base"}: the next create for head
                      first sees someone else open the same request
  POST /_admin/branch {"repo", "name"}
  POST /_admin/reset  forget requests, injected failures and the log
  GET  /_admin/state  {"pulls": [...], "log": [[method, path, status]],
                       "violations": [...]}
"""
import argparse
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi  # noqa: E402  (beside this file)

ARGS = None
# The provider's published description (tests/servers/openapi/), or None
# for GitLab, whose published OpenAPI is partial: its requests are held to
# the REST documentation by the checks below instead.
SPEC = None
LOCK = threading.Lock()
STATE = {}  # repo -> {"branches": set, "pulls": [dict]}
PULLS_BY_ID = {}
FAILS = []
DELAYS = []
RACES = []
LOG = []
VIOLATIONS = []
NEXT_ID = [1000]

GH_DOCS = "https://docs.github.com/rest"

# Documented body fields per (forge, endpoint): name -> (type, required).
# Types: "str", "bool", "int", "strs" (list of str), "ints", "labels"
# (GitLab: comma string or list of str), "idsnames" (Gitea: ints or strs).
SPECS = {
    ("github", "create"): {
        "title": ("str", True), "head": ("str", True), "base": ("str", True),
        "body": ("str", False), "draft": ("bool", False),
        "maintainer_can_modify": ("bool", False), "head_repo": ("str", False),
        "issue": ("int", False)},
    ("github", "update"): {
        "title": ("str", False), "body": ("str", False),
        "state": ("str", False), "base": ("str", False),
        "maintainer_can_modify": ("bool", False)},
    ("github", "labels"): {"labels": ("strs", True)},
    ("github", "reviewers"): {"reviewers": ("strs", False),
                              "team_reviewers": ("strs", False)},
    ("github", "comment"): {"body": ("str", True)},
    ("gitlab", "create"): {
        "source_branch": ("str", True), "target_branch": ("str", True),
        "title": ("str", True), "description": ("str", False),
        "labels": ("labels", False), "reviewer_ids": ("ints", False),
        "assignee_id": ("int", False), "assignee_ids": ("ints", False),
        "milestone_id": ("int", False), "target_project_id": ("int", False),
        "remove_source_branch": ("bool", False), "squash": ("bool", False),
        "allow_collaboration": ("bool", False)},
    ("gitlab", "update"): {
        "title": ("str", False), "description": ("str", False),
        "target_branch": ("str", False), "state_event": ("str", False),
        "labels": ("labels", False), "add_labels": ("labels", False),
        "remove_labels": ("labels", False), "reviewer_ids": ("ints", False),
        "assignee_id": ("int", False), "assignee_ids": ("ints", False),
        "milestone_id": ("int", False), "remove_source_branch": ("bool", False),
        "squash": ("bool", False), "discussion_locked": ("bool", False),
        "allow_collaboration": ("bool", False)},
    ("gitlab", "comment"): {"body": ("str", True)},
    ("gitea", "create"): {
        "head": ("str", True), "base": ("str", True), "title": ("str", True),
        "body": ("str", False), "assignee": ("str", False),
        "assignees": ("strs", False), "labels": ("ints", False),
        "milestone": ("int", False), "due_date": ("str", False),
        "reviewers": ("strs", False), "team_reviewers": ("strs", False)},
    ("gitea", "update"): {
        "title": ("str", False), "body": ("str", False),
        "base": ("str", False), "state": ("str", False),
        "assignee": ("str", False), "assignees": ("strs", False),
        "labels": ("ints", False), "milestone": ("int", False),
        "due_date": ("str", False), "unset_due_date": ("bool", False),
        "allow_maintainer_edit": ("bool", False)},
    ("gitea", "labels"): {"labels": ("idsnames", True)},
    ("gitea", "reviewers"): {"reviewers": ("strs", False),
                             "team_reviewers": ("strs", False)},
    ("gitea", "comment"): {"body": ("str", True)},
}


def type_ok(kind, v):
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "strs":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    if kind == "ints":
        return isinstance(v, list) and all(
            isinstance(x, int) and not isinstance(x, bool) for x in v)
    if kind == "labels":
        return isinstance(v, str) or type_ok("strs", v)
    if kind == "idsnames":
        return type_ok("strs", v) or type_ok("ints", v)
    return False


class Reply(Exception):
    def __init__(self, status, body, headers=(), violation=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)
        self.violation = violation


# ---- the providers' error shapes -------------------------------------------

def err_body(status, message, errors=None):
    """An error body in the provider's shape."""
    f = ARGS.forge
    if f == "github":
        b = {"message": message, "documentation_url": GH_DOCS,
             "status": str(status)}
        if errors is not None:
            b["errors"] = errors
        return b
    if f == "gitlab":
        return {"message": message} if errors is None else {"message": errors}
    return {"message": message, "url": "http://127.0.0.1/api/swagger"}


def violation(status, message, gl_error=None):
    """A request that breaks the documented API."""
    if ARGS.forge == "gitlab" and gl_error is not None:
        return Reply(status, {"error": gl_error}, violation=message)
    return Reply(status, err_body(status, message), violation=message)


def default_fail_body(status, repo="acme/app", head="x", number=1):
    f = ARGS.forge
    if status == 401:
        return {"github": err_body(401, "Bad credentials"),
                "gitlab": {"message": "401 Unauthorized"},
                "gitea": err_body(401, "token is required")}[f]
    if status == 403:
        return {"github": err_body(403, "Resource not accessible by "
                                        "personal access token"),
                "gitlab": {"message": "403 Forbidden"},
                "gitea": err_body(403, "token does not have required "
                                       "scope")}[f]
    if status == 404:
        return {"github": err_body(404, "Not Found"),
                "gitlab": {"message": "404 Project Not Found"},
                "gitea": err_body(404, "The target couldn't be found.")}[f]
    if status in (409, 422):
        return exists_body(repo, head, "main", number)[1]
    if status == 429:
        return {"github": err_body(429, "You have exceeded a secondary "
                                        "rate limit"),
                "gitlab": {"message": "Retry later"},
                "gitea": err_body(429, "rate limit exceeded")}[f]
    if status >= 500:
        return {"message": "Server Error"} if f != "gitlab" else \
            {"message": "500 Internal Server Error"}
    return err_body(status, "error")


def exists_body(repo, head, base, number):
    f = ARGS.forge
    owner = repo.split("/")[0]
    if f == "github":
        return 422, err_body(422, "Validation Failed", [{
            "resource": "PullRequest", "code": "custom",
            "message": "A pull request already exists for %s:%s."
                       % (owner, head)}])
    if f == "gitlab":
        return 409, {"message": ["Another open merge request already exists "
                                 "for this source branch: !%d" % number]}
    return 409, err_body(409, "pull request already exists for these targets "
                              "[id: %d, issue_id: %d, head_repo_id: 1, "
                              "base_repo_id: 1, head_branch: %s, "
                              "base_branch: %s]"
                         % (number + 100, number, head, base))


def not_found():
    return Reply(404, default_fail_body(404))


# ---- representations ---------------------------------------------------------

def render(pr):
    f = ARGS.forge
    repo = pr["repo"]
    if f == "github":
        return {
            "id": pr["id"], "number": pr["number"], "state": pr["state"],
            "title": pr["title"], "body": pr["body"], "draft": pr["draft"],
            "html_url": "https://github.com/%s/pull/%d" % (repo, pr["number"]),
            "head": {"ref": pr["head"], "label": "%s:%s"
                     % (repo.split("/")[0], pr["head"])},
            "base": {"ref": pr["base"]}, "merged_at": None,
            "labels": [{"name": n} for n in pr["labels"]],
            "requested_reviewers": [{"login": r} for r in pr["reviewers"]],
            "user": {"login": pr["user"]}}
    if f == "gitlab":
        return {
            "id": pr["id"], "iid": pr["number"], "project_id": 1,
            "title": pr["title"], "description": pr["body"],
            "state": "opened" if pr["state"] == "open" else "closed",
            "source_branch": pr["head"], "target_branch": pr["base"],
            "labels": pr["labels"], "draft": pr["title"].startswith("Draft:"),
            "reviewers": [{"id": r, "username": "user%d" % r}
                          for r in pr["reviewers"]],
            "web_url": "http://gitlab.example/%s/-/merge_requests/%d"
                       % (repo, pr["number"])}
    return {
        "id": pr["id"], "number": pr["number"], "state": pr["state"],
        "title": pr["title"], "body": pr["body"], "merged": False,
        "html_url": "http://gitea.example/%s/pulls/%d" % (repo, pr["number"]),
        "head": {"ref": pr["head"]}, "base": {"ref": pr["base"]},
        "labels": [{"id": i + 1, "name": n} for i, n in
                   enumerate(pr["labels"])],
        "requested_reviewers": [{"login": r} for r in pr["reviewers"]]}


# ---- state -------------------------------------------------------------------

def repo_state(repo):
    if repo not in STATE:
        raise not_found()
    return STATE[repo]


def new_pull(repo, head, base, title, body, draft=False, user="strata-bot"):
    st = STATE[repo]
    NEXT_ID[0] += 1
    pr = {"id": NEXT_ID[0], "number": len(st["pulls"]) + 1, "repo": repo,
          "head": head, "base": base, "title": title, "body": body,
          "draft": draft, "state": "open", "labels": [], "reviewers": [],
          "comments": [], "user": user}
    st["pulls"].append(pr)
    return pr


def find_pull(repo, number):
    for pr in repo_state(repo)["pulls"]:
        if pr["number"] == number:
            return pr
    raise not_found()


def open_with(repo, head, base=None):
    for pr in STATE[repo]["pulls"]:
        if pr["state"] == "open" and pr["head"] == head and \
                (base is None or pr["base"] == base):
            return pr
    return None


# ---- the handler -------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else \
            json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8"
                         if not isinstance(body, bytes) else "text/plain")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        with LOCK:
            if url.path.startswith("/_admin/"):
                status, body = self.admin(url.path, raw)
                self.send(status, body)
                return
            try:
                self.described(url, raw)
                status, body, headers = self.api(url, raw)
            except Reply as r:
                status, body, headers = r.status, r.body, r.headers
                if r.violation:
                    VIOLATIONS.append("%s %s: %s" % (self.command, self.path,
                                                     r.violation))
            LOG.append([self.command, self.path, status])
            delay = self.delayed()
        if delay:
            time.sleep(delay)
        self.send(status, body, headers)

    def described(self, url, raw):
        """Refuses what the published description does not allow."""
        if SPEC is None:
            return
        problems = SPEC.check(self.command, url.path,
                              parse_qs(url.query, keep_blank_values=True),
                              raw, self.headers.get("Content-Type"))
        if not problems:
            return
        text = "; ".join(problems)
        if problems[0].startswith("no operation") or \
                " allows only " in problems[0]:
            raise Reply(404, default_fail_body(404), violation=text)
        raise violation(422, "Invalid request: " + text)

    def delayed(self):
        """Seconds to hold this answer back (/_admin/delay), or 0."""
        for d in DELAYS:
            if d.get("method") and d["method"] != self.command:
                continue
            if not re.search(d["path_regex"], self.path):
                continue
            d["count"] -= 1
            if d["count"] <= 0:
                DELAYS.remove(d)
            return float(d["seconds"])
        return 0

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    # ---- admin ----

    def admin(self, path, raw):
        listed = disc_admin(self, path, raw)  # discovery (its own section)
        if listed is not None:
            return listed
        req = json.loads(raw or b"{}")
        if path == "/_admin/state":
            return 200, {
                "pulls": [{k: v for k, v in pr.items()}
                          for st in STATE.values() for pr in st["pulls"]],
                "log": LOG, "violations": VIOLATIONS}
        if path == "/_admin/fail":
            req.setdefault("count", 1)
            FAILS.append(req)
            return 200, {"ok": True}
        if path == "/_admin/delay":
            req.setdefault("count", 1)
            DELAYS.append(req)
            return 200, {"ok": True}
        if path == "/_admin/race":
            RACES.append(req)
            return 200, {"ok": True}
        if path == "/_admin/branch":
            STATE.setdefault(req["repo"], {"branches": set(), "pulls": []})
            STATE[req["repo"]]["branches"].add(req["name"])
            return 200, {"ok": True}
        if path.startswith("/_admin/merge/"):
            return merge_admin(path, req)
        if path == "/_admin/reset":
            for st in STATE.values():
                st["pulls"].clear()
            del FAILS[:], DELAYS[:], RACES[:], LOG[:], VIOLATIONS[:]
            return 200, {"ok": True}
        return 404, {"message": "no such admin endpoint"}

    # ---- the API ----

    def injected(self):
        for f in FAILS:
            if f.get("method") and f["method"] != self.command:
                continue
            if not re.search(f["path_regex"], self.path):
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                FAILS.remove(f)
            status = f["status"]
            if "raw" in f:
                body = f["raw"].encode()
            else:
                body = f.get("body") or default_fail_body(status)
            headers = list((f.get("headers") or {}).items())
            raise Reply(status, body, headers)

    def check_auth(self):
        f, tok = ARGS.forge, ARGS.token
        if f == "github":
            if self.headers.get("Authorization") != "Bearer " + tok:
                raise Reply(401, default_fail_body(401))
            if self.headers.get("Accept") != "application/vnd.github+json":
                raise violation(415, "Accept must be "
                                     "application/vnd.github+json")
            if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
                raise violation(400, "X-GitHub-Api-Version must be "
                                     "2022-11-28")
        elif f == "gitlab":
            if self.headers.get("PRIVATE-TOKEN") != tok:
                raise Reply(401, default_fail_body(401))
            if self.headers.get("Authorization") is not None:
                raise violation(400, "GitLab tokens go in PRIVATE-TOKEN")
        else:
            if self.headers.get("Authorization") != "token " + tok:
                raise Reply(401, default_fail_body(401))

    def body(self, raw, endpoint):
        ct = self.headers.get("Content-Type") or ""
        if not ct.startswith("application/json"):
            raise violation(415 if ARGS.forge != "gitea" else 422,
                            "Content-Type must be application/json, "
                            "not '%s'" % ct, "content type is not json")
        try:
            data = json.loads(raw)
        except ValueError:
            raise violation(400, "Problems parsing JSON",
                            "body is not valid json")
        if not isinstance(data, dict):
            raise violation(400, "Problems parsing JSON",
                            "body is not a json object")
        spec = SPECS[(ARGS.forge, endpoint)]
        for k, v in data.items():
            if k not in spec:
                raise violation(422, "\"%s\" is not a permitted key" % k,
                                "%s is not a documented parameter" % k)
            if not type_ok(spec[k][0], v):
                raise violation(422, "For '%s', %s is not a %s"
                                % (k, json.dumps(v), spec[k][0]),
                                "%s is invalid" % k)
        for k, (kind, req) in spec.items():
            if req and k not in data:
                if ARGS.forge == "gitea":
                    raise violation(422, "[%s]: Required" % k.capitalize())
                raise violation(422 if ARGS.forge == "github" else 400,
                                "Missing required field '%s'" % k,
                                "%s is missing" % k)
        return data

    def api(self, url, raw):
        self.injected()
        listed = disc_api(self, url, raw)  # discovery (its own section)
        if listed is not None:
            return listed
        self.check_auth()
        merged = merge_api(self, url, raw)
        if merged is not None:
            return merged
        f = ARGS.forge
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if f == "gitlab":
            m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests"
                             r"(?:/(\d+)(/notes)?)?", path)
            if not m:
                raise violation(404, "no such endpoint", "404 Not Found")
            if "/" in m.group(1):
                raise violation(404, "project path must be URL-encoded")
            repo = unquote(m.group(1))
            number = int(m.group(2)) if m.group(2) else None
            sub = "notes" if m.group(3) else None
        else:
            prefix = "" if f == "github" else "/api/v1"
            m = re.fullmatch(prefix + r"/repos/([^/]+)/([^/]+)/(pulls|issues)"
                             r"(?:/(\d+)(?:/(labels|comments|"
                             r"requested_reviewers))?)?", path)
            if not m:
                raise violation(404, "no such endpoint")
            repo = m.group(1) + "/" + m.group(2)
            number = int(m.group(4)) if m.group(4) else None
            sub = m.group(5)
            if m.group(3) == "issues" and (number is None or
                                           sub not in ("labels", "comments")):
                raise violation(404, "no such endpoint")
            if m.group(3) == "pulls" and sub in ("labels", "comments"):
                raise violation(404, "no such endpoint")
        st = repo_state(repo)
        cmd = self.command
        if number is None and cmd == "GET":
            return self.list(repo, q)
        if number is None and cmd == "POST":
            return self.create(repo, st, self.body(raw, "create"))
        if number is None:
            raise violation(405, "method not allowed")
        pr = find_pull(repo, number)
        if sub is None and cmd == ("PUT" if f == "gitlab" else "PATCH"):
            return self.update(repo, st, pr, self.body(raw, "update"))
        if sub is None and cmd == "GET":
            return 200, render(pr), []
        if sub == "labels" and cmd == "POST":
            data = self.body(raw, "labels")
            for n in data["labels"]:
                n = str(n)
                if n not in pr["labels"]:
                    pr["labels"].append(n)
            return 200, [{"id": i + 1, "name": n}
                         for i, n in enumerate(pr["labels"])], []
        if sub == "requested_reviewers" and cmd == "POST":
            data = self.body(raw, "reviewers")
            if not data.get("reviewers") and not data.get("team_reviewers"):
                raise violation(422, "reviewers or team_reviewers required")
            for r in data.get("reviewers", []):
                if r not in pr["reviewers"]:
                    pr["reviewers"].append(r)
            if f == "github":
                return 201, render(pr), []
            return 201, [{"id": i + 1, "state": "REQUEST_REVIEW",
                          "user": {"login": r}}
                         for i, r in enumerate(pr["reviewers"])], []
        if sub in ("comments", "notes") and cmd == "POST":
            data = self.body(raw, "comment")
            pr["comments"].append(data["body"])
            NEXT_ID[0] += 1
            return 201, {"id": NEXT_ID[0], "body": data["body"],
                         "author" if f == "gitlab" else "user":
                             {"login": "strata-bot",
                              "username": "strata-bot"}}, []
        raise violation(405, "method not allowed")

    def list(self, repo, q):
        f = ARGS.forge
        state = q.get("state", "open" if f != "gitlab" else "all")
        states = {"github": ("open", "closed", "all"),
                  "gitlab": ("opened", "closed", "locked", "merged", "all"),
                  "gitea": ("open", "closed", "all")}[f]
        if state not in states:
            raise violation(422 if f != "gitlab" else 400,
                            "state must be one of %s" % (states,),
                            "state does not have a valid value")
        want = {"opened": "open"}.get(state, state)
        pulls = [p for p in STATE[repo]["pulls"]
                 if want == "all" or p["state"] == want]
        if f == "github" and "head" in q:
            if ":" not in q["head"]:
                raise violation(422, "head must be 'user:ref-name'")
            owner, ref = q["head"].split(":", 1)
            if owner != repo.split("/")[0]:
                pulls = []
            pulls = [p for p in pulls if p["head"] == ref]
        if f == "gitlab" and "source_branch" in q:
            pulls = [p for p in pulls if p["head"] == q["source_branch"]]
        per = int(q.get("per_page" if f != "gitea" else "limit", "30"))
        page = int(q.get("page", "1"))
        pulls = pulls[(page - 1) * per: page * per]
        return 200, [render(p) for p in pulls], []

    def create(self, repo, st, d):
        f = ARGS.forge
        if f == "gitlab":
            head, base, title = d["source_branch"], d["target_branch"], \
                d["title"]
            body = d.get("description", "")
        else:
            head, base, title = d["head"], d["base"], d["title"]
            body = d.get("body", "")
        for field, br in (("head", head), ("base", base)):
            if br not in st["branches"]:
                if f == "github":
                    raise Reply(422, err_body(422, "Validation Failed", [{
                        "resource": "PullRequest", "field": field,
                        "code": "invalid"}]))
                if f == "gitlab":
                    raise Reply(400, {"message": {
                        ("source_branch" if field == "head" else
                         "target_branch"): ["is invalid"]}})
                raise Reply(404, err_body(404, "branch %s not found" % br))
        for race in list(RACES):
            if race["repo"] == repo and race["head"] == head:
                RACES.remove(race)
                new_pull(repo, head, race.get("base", base), "opened by "
                         "someone else", "", user="someone-else")
        other = open_with(repo, head, None if f == "gitlab" else base)
        if other is not None:
            status, b = exists_body(repo, head, base, other["number"])
            return status, b, []
        pr = new_pull(repo, head, base, title, body,
                      draft=bool(d.get("draft", False)))
        if f == "gitlab":
            labels = d.get("labels", [])
            if isinstance(labels, str):
                labels = [x for x in labels.split(",") if x]
            pr["labels"] = labels
            pr["reviewers"] = d.get("reviewer_ids", [])
        return 201, render(pr), []

    def update(self, repo, st, pr, d):
        f = ARGS.forge
        if not d:
            raise violation(400 if f == "gitlab" else 422,
                            "at least one parameter must be provided",
                            "at least one parameter must be provided")
        base = d.get("target_branch" if f == "gitlab" else "base")
        if base is not None and base not in st["branches"]:
            raise Reply(422, err_body(422, "Validation Failed", [{
                "resource": "PullRequest", "field": "base",
                "code": "invalid"}]))
        if "title" in d:
            pr["title"] = d["title"]
        if "body" in d or "description" in d:
            pr["body"] = d.get("body", d.get("description"))
        if base is not None:
            pr["base"] = base
        state = d.get("state")
        if f == "gitlab" and "state_event" in d:
            if d["state_event"] not in ("close", "reopen"):
                raise violation(400, "bad state_event",
                                "state_event does not have a valid value")
            state = "closed" if d["state_event"] == "close" else "open"
        if state is not None:
            if state not in ("open", "closed"):
                raise violation(422, "state must be open or closed")
            pr["state"] = state
        if f == "gitlab":
            for key in ("labels", "add_labels"):
                if key in d:
                    labels = d[key]
                    if isinstance(labels, str):
                        labels = [x for x in labels.split(",") if x]
                    if key == "labels":
                        pr["labels"] = []
                    for n in labels:
                        if n not in pr["labels"]:
                            pr["labels"].append(n)
            if "reviewer_ids" in d:
                pr["reviewers"] = d["reviewer_ids"]
        return 200, render(pr), []


# ==== discovery: repository listings (tests/test-discover.c) ============
# GitHub GET /orgs/{org}/repos, /users/{user}/repos,
# /installation/repositories (with an installation token minted by
# POST /app/installations/{id}/access_tokens from an RS256 JWT checked
# against --app-public-key), GitLab GET /groups/:id/projects, Gitea GET
# /orgs/{org}/repos: paginated as each forge documents (GitHub and Gitea a
# Link header, GitLab x-next-page and friends), each page with an ETag and
# a 304 for a matching If-None-Match (GitHub: a 304 does not spend the
# rate limit), x-ratelimit-* headers on GitHub and a 403 once they run
# out. Admin (no auth):
#   POST /_admin/discover {"repos": [...]} replaces the listing;
#        {"add": [...]}, {"remove": [names]}, {"update": {name: {...}}};
#        {"generate": N, "owner": "acme"} makes N plain repositories;
#        {"ratelimit": {"remaining": N, "reset_in": S}};
#        {"token_life": S} installation tokens expire S seconds on.
#   GET  /_admin/discover {"requests": n, "not_modified": n, "tokens": n,
#        "remaining": n}
# A repository: {"name": "owner/name", "archived", "fork", "empty",
# "visibility" public|private|internal, "topics": [], "default_branch",
# "clone_url" (a git repository the test made; else one on this server)}.

DISC = {"repos": [], "requests": 0, "not_modified": 0, "tokens": [],
        "remaining": 5000, "limit": 5000, "reset": 0}

GH_LIST_PARAMS = {
    "org": {"type": ("all", "public", "private", "forks", "sources",
                     "member"),
            "sort": ("created", "updated", "pushed", "full_name"),
            "direction": ("asc", "desc"), "per_page": None, "page": None},
    "user": {"type": ("all", "owner", "member"),
             "sort": ("created", "updated", "pushed", "full_name"),
             "direction": ("asc", "desc"), "per_page": None, "page": None},
    "installation": {"per_page": None, "page": None},
}
GL_PROJECT_PARAMS = ("include_subgroups", "order_by", "sort", "per_page",
                     "page", "archived", "visibility", "with_shared",
                     "simple", "search", "owned", "starred", "topic",
                     "with_issues_enabled", "with_merge_requests_enabled")
GITEA_ORG_PARAMS = ("page", "limit")


def disc_admin(handler, path, raw):
    if path != "/_admin/discover":
        return None
    if handler.command == "GET":
        return 200, {k: DISC[k] for k in ("requests", "not_modified",
                                          "remaining")} | {
            "tokens": len(DISC["tokens"])}
    req = json.loads(raw or b"{}")
    if "repos" in req:
        DISC["repos"] = list(req["repos"])
    if "generate" in req:
        DISC["repos"] = [{"name": "%s/repo-%05d" % (req.get("owner", "acme"),
                                                     i)}
                         for i in range(int(req["generate"]))]
    for r in req.get("add", []):
        DISC["repos"].insert(0, r)
    for n in req.get("remove", []):
        DISC["repos"] = [r for r in DISC["repos"] if r["name"] != n]
    for n, upd in (req.get("update") or {}).items():
        for r in DISC["repos"]:
            if r["name"] == n:
                r.update(upd)
    if "ratelimit" in req:
        DISC["remaining"] = int(req["ratelimit"]["remaining"])
        DISC["reset"] = int(time.time()) + int(req["ratelimit"]
                                               .get("reset_in", 3600))
    if "reset" in req:
        DISC["requests"] = DISC["not_modified"] = 0
    if "token_life" in req:
        DISC["token_life"] = int(req["token_life"])
    return 200, {"ok": True}


def disc_render(forge, r, base):
    name = r["name"]
    vis = r.get("visibility", "public")
    branch = None if r.get("empty") else r.get("default_branch", "main")
    if forge == "gitlab":
        o = {"id": abs(hash(name)) % 100000, "path_with_namespace": name,
             "name": name.rsplit("/", 1)[1],
             "http_url_to_repo": "%s/%s.git" % (base, name),
             "web_url": "%s/%s" % (base, name), "default_branch": branch,
             "visibility": vis, "archived": bool(r.get("archived")),
             "empty_repo": bool(r.get("empty")),
             "topics": r.get("topics", [])}
        if r.get("clone_url"):
            o["http_url_to_repo"] = r["clone_url"]
        if r.get("fork"):
            o["forked_from_project"] = {"id": 1, "path_with_namespace":
                                        "upstream/" + o["name"]}
        return o
    o = {"id": abs(hash(name)) % 100000, "full_name": name,
         "name": name.rsplit("/", 1)[1],
         "owner": {"login": name.split("/")[0]},
         "clone_url": "%s/%s.git" % (base, name),
         "html_url": "%s/%s" % (base, name), "default_branch": branch,
         "private": vis != "public", "archived": bool(r.get("archived")),
         "fork": bool(r.get("fork")), "topics": r.get("topics", [])}
    if r.get("clone_url"):  # a real git repository the test made
        o["clone_url"] = r["clone_url"]
    if forge == "github":
        o["visibility"] = vis
        o["size"] = 0 if r.get("empty") else 120
    else:
        o["internal"] = vis == "internal"
        o["empty"] = bool(r.get("empty"))
    return o


def disc_check_query(q, allowed, what):
    for k, v in q.items():
        if k not in allowed:
            raise violation(422, "%s is not a parameter of %s" % (k, what))
        if isinstance(allowed, dict) and allowed[k] and v not in allowed[k]:
            raise violation(422, "%s=%s is not allowed by %s" % (k, v, what))


def disc_jwt_ok(jwt):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    import base64

    def b64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    parts = jwt.split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        head, claims = json.loads(b64(parts[0])), json.loads(b64(parts[1]))
    except ValueError:
        return "JWT parts are not JSON"
    if head.get("alg") != "RS256":
        return "alg must be RS256"
    with open(ARGS.app_public_key, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    try:
        key.verify(b64(parts[2]), (parts[0] + "." + parts[1]).encode(),
                   padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return "bad JWT signature"
    now = int(time.time())
    if str(claims.get("iss")) != str(ARGS.app_id):
        return "iss is not the app id"
    if not isinstance(claims.get("iat"), int) or claims["iat"] > now + 60:
        return "iat is in the future"
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= now or \
            claims["exp"] - claims["iat"] > 600:
        return "exp must be within 10 minutes of iat and not passed"
    return None


def disc_api(handler, url, raw):
    """Answers a listing request, or returns None for the rest of the API."""
    f, path = ARGS.forge, url.path
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    host = "http://%s:%d" % handler.server.server_address[:2]
    kind = None
    if f == "github":
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and handler.command == "POST":
            auth = handler.headers.get("Authorization") or ""
            why = disc_jwt_ok(auth[7:]) if auth.startswith("Bearer ") \
                else "no Bearer JWT"
            if why:
                raise violation(401, "A JSON web token could not be "
                                     "decoded: " + why)
            if m.group(1) != str(ARGS.installation):
                raise Reply(404, {"message": "Not Found"})
            tok = "ghs_%016d" % (len(DISC["tokens"]) + 1)
            DISC["tokens"].append(tok)
            exp = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                time.gmtime(time.time() +
                                            DISC.get("token_life", 3600)))
            return 201, {"token": tok, "expires_at": exp,
                         "permissions": {"contents": "read"},
                         "repository_selection": "all"}, []
        if path == "/installation/repositories":
            kind = "installation"
            auth = handler.headers.get("Authorization") or ""
            if not auth.startswith("Bearer ") or \
                    auth[7:] not in DISC["tokens"]:
                raise Reply(401, default_fail_body(401))
        elif re.fullmatch(r"/orgs/[^/]+/repos", path):
            kind = "org"
        elif re.fullmatch(r"/users/[^/]+/repos", path):
            kind = "user"
        else:
            return None
        if handler.command != "GET":
            raise violation(405, "method not allowed")
        if kind != "installation":
            handler.check_auth()
        disc_check_query(q, GH_LIST_PARAMS[kind], path)
        per = int(q.get("per_page", 30))
        if per > 100:
            raise violation(422, "per_page is at most 100")
    elif f == "gitlab":
        if not re.fullmatch(r"/api/v4/groups/[^/]+/projects", path):
            return None
        handler.check_auth()
        disc_check_query(q, GL_PROJECT_PARAMS, path)
        per = int(q.get("per_page", 20))
        if per > 100:
            raise violation(400, "per_page is at most 100")
    else:
        if not re.fullmatch(r"/api/v1/orgs/[^/]+/repos", path):
            return None
        handler.check_auth()
        disc_check_query(q, GITEA_ORG_PARAMS, path)
        per = int(q.get("limit", 30))
        if per > 50:
            per = 50  # Gitea's MAX_RESPONSE_ITEMS
    owner = unquote(path.split("/")[-2])
    repos = [r for r in DISC["repos"]
             if kind == "installation" or r["name"] == owner or
             r["name"].startswith(owner + "/") and
             (f != "gitlab" or q.get("include_subgroups") == "true" or
              r["name"].count("/") == owner.count("/") + 1)]
    page = int(q.get("page", 1))
    last = max(1, (len(repos) + per - 1) // per)
    items = [disc_render(f, r, host) for r in
             repos[(page - 1) * per:page * per]]
    body = {"total_count": len(repos), "repositories": items} \
        if kind == "installation" else items
    data = json.dumps(body).encode()
    import hashlib
    etag = '"%s"' % hashlib.sha1(data).hexdigest()
    if f == "github":
        etag = "W/" + etag
    headers = [("ETag", etag)]
    DISC["requests"] += 1
    if f == "github":
        if DISC["reset"] and time.time() >= DISC["reset"]:
            DISC["remaining"], DISC["reset"] = DISC["limit"], 0
        reset = DISC["reset"] or int(time.time()) + 3600
        rl = [("x-ratelimit-limit", str(DISC["limit"])),
              ("x-ratelimit-reset", str(reset)),
              ("x-ratelimit-resource", "core")]
        if handler.headers.get("If-None-Match") == etag:
            DISC["not_modified"] += 1
            raise Reply(304, b"", headers + rl + [
                ("x-ratelimit-remaining", str(DISC["remaining"]))])
        if DISC["remaining"] <= 0:
            raise Reply(403, {"message": "API rate limit exceeded",
                              "documentation_url": GH_DOCS},
                        rl + [("x-ratelimit-remaining", "0")])
        DISC["remaining"] -= 1
        headers += rl + [("x-ratelimit-remaining", str(DISC["remaining"]))]
    elif handler.headers.get("If-None-Match") == etag:
        DISC["not_modified"] += 1
        raise Reply(304, b"", headers)
    base = "%s%s" % (host, path)

    def link(p):
        qq = dict(q, page=str(p))
        return "%s?%s" % (base, "&".join("%s=%s" % kv for kv in qq.items()))
    if f == "gitlab":
        headers += [("x-page", str(page)), ("x-per-page", str(per)),
                    ("x-total", str(len(repos))),
                    ("x-total-pages", str(last)),
                    ("x-next-page", str(page + 1) if page < last else ""),
                    ("x-prev-page", str(page - 1) if page > 1 else "")]
    links = []
    if page < last:
        links.append('<%s>; rel="next"' % link(page + 1))
        links.append('<%s>; rel="last"' % link(last))
    if page > 1:
        links.append('<%s>; rel="first"' % link(1))
        links.append('<%s>; rel="prev"' % link(page - 1))
    if links:
        headers.append(("Link", ", ".join(links)))
    return 200, body, headers
# ==== end of discovery ===================================================


# ==== auto-merge: checks, merges and branch protection (helper `automerge`) ==
#
# Each pull request gets a head commit ("sha"), a check state and a
# mergeable flag; the test sets them:
#   POST /_admin/merge/checks {"repo", "number", "checks"?: "green" | "red"
#        | "pending" | "none", "sha"?, "mergeable"?: true | false | null,
#        "required"?: bool (branch protection requires green checks),
#        "extra_runs"?: N passed GitHub check runs listed before them}
#   POST /_admin/merge/refuse {"repo", "number", "count"?, "status"?: 405 |
#        422}: the next merges are refused by branch protection with the
#        forge's own answer (405), or fail as a 422
# and read them back in /_admin/state (pr["merged"], pr["merge_method"],
# pr["merges"]: each merge call's [status, sha]).
# Served, as each provider documents them:
#   GitHub  GET  /repos/O/R/pulls/N, GET /repos/O/R/commits/REF/check-runs,
#           GET  /repos/O/R/commits/REF/status, PUT /repos/O/R/pulls/N/merge
#   GitLab  GET  /projects/ID/merge_requests/IID (sha, head_pipeline,
#                has_conflicts, detailed_merge_status),
#           PUT  /projects/ID/merge_requests/IID/merge
#   Gitea   GET  /api/v1/repos/O/R/pulls/N, GET .../commits/REF/status,
#           POST /api/v1/repos/O/R/pulls/N/merge

MERGE_SPECS = {
    "github": {"commit_title": ("str", False),
               "commit_message": ("str", False), "sha": ("str", False),
               "merge_method": ("str", False)},
    "gitlab": {"merge_commit_message": ("str", False),
               "squash_commit_message": ("str", False),
               "squash": ("bool", False),
               "should_remove_source_branch": ("bool", False),
               "merge_when_pipeline_succeeds": ("bool", False),
               "auto_merge": ("bool", False), "sha": ("str", False)},
    "gitea": {"do": ("str", True), "merge_commit_id": ("str", False),
              "merge_message_field": ("str", False),
              "merge_title_field": ("str", False),
              "delete_branch_after_merge": ("bool", False),
              "force_merge": ("bool", False), "head_commit_id": ("str", False),
              "merge_when_checks_succeed": ("bool", False)},
}
for _f, _spec in MERGE_SPECS.items():
    SPECS[(_f, "merge")] = _spec


def merge_defaults(pr):
    pr.setdefault("sha", "%040x" % (0xa000 + pr["id"]))
    pr.setdefault("checks", "pending")
    pr.setdefault("mergeable", True)
    pr.setdefault("required", True)
    pr.setdefault("refuse", 0)
    pr.setdefault("merged", False)
    pr.setdefault("merges", [])
    return pr


def merge_admin(path, req):
    pr = merge_defaults(find_pull(req["repo"], int(req["number"])))
    if path == "/_admin/merge/checks":
        for k in ("checks", "sha", "mergeable", "required", "extra_runs"):
            if k in req:
                pr[k] = req[k]
        return 200, {"ok": True}
    if path == "/_admin/merge/refuse":
        pr["refuse"] = int(req.get("count", 1))
        pr["refuse_status"] = int(req.get("status", 405))
        return 200, {"ok": True}
    return 404, {"message": "no such admin endpoint"}


def merge_render(pr):
    f = ARGS.forge
    merge_defaults(pr)
    r = render(pr)
    green = pr["checks"] == "green"
    if f == "github":
        r["head"]["sha"] = pr["sha"]
        r["merged"] = pr["merged"]
        r["merged_at"] = "2026-01-01T00:00:00Z" if pr["merged"] else None
        r["mergeable"] = pr["mergeable"]
        r["mergeable_state"] = (
            "unknown" if pr["mergeable"] is None else
            "dirty" if not pr["mergeable"] else
            "clean" if green else "blocked")
    elif f == "gitlab":
        r["sha"] = pr["sha"]
        if pr["merged"]:
            r["state"] = "merged"
        r["has_conflicts"] = pr["mergeable"] is False
        r["detailed_merge_status"] = (
            "checking" if pr["mergeable"] is None else
            "conflict" if not pr["mergeable"] else
            "mergeable" if green else "ci_still_running")
        status = {"green": "success", "red": "failed",
                  "pending": "running"}.get(pr["checks"])
        r["head_pipeline"] = None if status is None else {
            "id": 500 + pr["id"], "sha": pr["sha"], "ref": pr["head"],
            "status": status}
    else:
        r["head"]["sha"] = pr["sha"]
        r["merged"] = pr["merged"]
        r["mergeable"] = bool(pr["mergeable"])
    return r


def pull_by_sha(repo, sha):
    for pr in repo_state(repo)["pulls"]:
        if merge_defaults(pr)["sha"] == sha or pr["head"] == sha:
            return pr
    return None


def checks_reply(repo, ref, kind, q):
    f = ARGS.forge
    pr = pull_by_sha(repo, ref)
    checks = pr["checks"] if pr else "none"
    if kind == "check-runs":
        runs = {"green": [("build", "completed", "success"),
                          ("lint", "completed", "skipped")],
                "red": [("build", "completed", "failure")],
                "pending": [("build", "in_progress", None)],
                "none": []}[checks]
        # "extra_runs": that many passed runs before these (pages).
        runs = [("job-%d" % i, "completed", "success")
                for i in range(pr.get("extra_runs", 0) if pr else 0)] + runs
        per = min(int(q.get("per_page", "30")), 100)
        page = int(q.get("page", "1"))
        shown = runs[(page - 1) * per: page * per]
        return 200, {"total_count": len(runs), "check_runs": [
            {"id": (page - 1) * per + i + 1, "name": n, "head_sha": ref,
             "status": s, "conclusion": c}
            for i, (n, s, c) in enumerate(shown)]}, []
    state = {"green": "success", "red": "failure", "pending": "pending",
             "none": "pending" if f == "github" else ""}[checks]
    statuses = [] if checks == "none" else [
        {"id": 1, "context": "ci/tests", "description": "tests",
         "state" if f == "github" else "status": state}]
    return 200, {"state": state, "sha": ref, "total_count": len(statuses),
                 "statuses": statuses}, []


def merge_refusal(pr):
    """Branch protection's answer, or None when the merge may go."""
    f = ARGS.forge
    if pr["refuse"] > 0:
        pr["refuse"] -= 1
        if pr.get("refuse_status", 405) == 422:
            # GitLab: the merge itself failed (e.g. a pre-receive hook).
            return 422, {"message": "Branch cannot be merged"} \
                if f == "gitlab" else err_body(422, "Validation Failed")
        return {"github": (405, err_body(405, "At least 1 approving review "
                                              "is required by reviewers with "
                                              "write access.")),
                "gitlab": (405, {"message": "405 Method Not Allowed"}),
                "gitea": (405, err_body(405, "Not all required status "
                                             "checks successful"))}[f]
    if pr["required"] and pr["checks"] != "green":
        return {"github": (405, err_body(405, "Required status check "
                                              "\"build\" is expected.")),
                "gitlab": (405, {"message": "405 Method Not Allowed"}),
                "gitea": (405, err_body(405, "Not all required status "
                                             "checks successful"))}[f]
    return None


def do_merge(handler, repo, pr, raw):
    f = ARGS.forge
    d = handler.body(raw, "merge")
    merge_defaults(pr)
    sha = d.get("head_commit_id" if f == "gitea" else "sha")
    method = (d.get("merge_method", "merge") if f == "github" else
              ("squash" if d.get("squash") else "merge") if f == "gitlab"
              else d["do"])
    allowed = {"github": ("merge", "squash", "rebase"),
               "gitlab": ("merge", "squash"),
               "gitea": ("merge", "rebase", "rebase-merge", "squash",
                         "fast-forward-only", "manually-merged")}[f]
    if method not in allowed:
        raise violation(422, "merge_method must be one of %s" % (allowed,),
                        "merge_method is invalid")
    if f in ("gitlab", "gitea") and (d.get("merge_when_pipeline_succeeds")
                                     or d.get("auto_merge")
                                     or d.get("merge_when_checks_succeed")):
        raise violation(422, "this server tests merges on green only")

    def answer(status, body):
        pr["merges"].append([status, sha])
        return status, body, []

    if pr["merged"] or pr["state"] != "open":
        return answer(405, {"github": err_body(405, "Pull Request is not "
                                                    "mergeable"),
                            "gitlab": {"message": "405 Method Not Allowed"},
                            "gitea": err_body(405, "The PR is already "
                                                   "merged or closed")}[f])
    if sha is not None and sha != pr["sha"]:
        return answer(409, {
            "github": err_body(409, "Head branch was modified. Review and "
                                    "try the merge again."),
            "gitlab": {"message": "SHA does not match HEAD of source "
                                  "branch: %s" % pr["sha"]},
            "gitea": err_body(409, "head commit id given is not the pull "
                                   "request's head commit")}[f])
    if pr["mergeable"] is False:
        return answer({"github": 405, "gitlab": 406, "gitea": 409}[f], {
            "github": err_body(405, "Pull Request is not mergeable"),
            "gitlab": {"message": "Branch cannot be merged"},
            "gitea": err_body(409, "merge failed because of conflict")}[f])
    refused = merge_refusal(pr)
    if refused is not None:
        return answer(*refused)
    pr["merged"], pr["state"], pr["merge_method"] = True, "closed", method
    pr["merges"].append([200, sha])
    if f == "github":
        return 200, {"sha": "%040x" % (0xb000 + pr["id"]), "merged": True,
                     "message": "Pull Request successfully merged"}, []
    if f == "gitlab":
        return 200, merge_render(pr), []
    return 200, b"", []


def merge_api(handler, url, raw):
    """The auto-merge endpoints, or None for the rest of the API."""
    f, cmd, path = ARGS.forge, handler.command, url.path
    if f == "gitlab":
        m = re.fullmatch(r"/api/v4/projects/([^/]+)/merge_requests/(\d+)"
                         r"(/merge)?", path)
        if not m or (cmd != "GET" and not m.group(3)):
            return None
        repo = unquote(m.group(1))
        pr = find_pull(repo, int(m.group(2)))
        if m.group(3) and cmd == "PUT":
            return do_merge(handler, repo, pr, raw)
        if m.group(3):
            raise violation(405, "method not allowed")
        return 200, merge_render(pr), []
    prefix = "" if f == "github" else "/api/v1"
    m = re.fullmatch(prefix + r"/repos/([^/]+)/([^/]+)/commits/([^/]+)/"
                     r"(check-runs|status)", path)
    if m:
        repo = m.group(1) + "/" + m.group(2)
        repo_state(repo)
        if cmd != "GET" or (m.group(4) == "check-runs" and f != "github"):
            raise violation(404, "no such endpoint")
        return checks_reply(repo, m.group(3), m.group(4),
                            {k: v[0] for k, v in
                             parse_qs(url.query).items()})
    m = re.fullmatch(prefix + r"/repos/([^/]+)/([^/]+)/pulls/(\d+)(/merge)?",
                     path)
    if not m:
        return None
    repo = m.group(1) + "/" + m.group(2)
    pr = find_pull(repo, int(m.group(3)))
    if m.group(4):
        if cmd != ("PUT" if f == "github" else "POST"):
            raise violation(405, "method not allowed")
        return do_merge(handler, repo, pr, raw)
    if cmd == "GET":
        return 200, merge_render(pr), []
    return None

# ==== end of auto-merge ======================================================


def main():
    global ARGS, SPEC
    ap = argparse.ArgumentParser()
    ap.add_argument("--forge", choices=("github", "gitlab", "gitea"),
                    required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--repo", action="append", default=[])
    ap.add_argument("--branch", action="append", default=[])
    ap.add_argument("--app-id")  # discovery: the GitHub App
    ap.add_argument("--installation")
    ap.add_argument("--app-public-key")
    ARGS = ap.parse_args()
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi")
    if ARGS.forge == "github":
        SPEC = openapi.Spec(os.path.join(here, "github.json"))
    elif ARGS.forge == "gitea":
        SPEC = openapi.Spec(os.path.join(here, "gitea.json"), "/api/v1")
    for repo in ARGS.repo:
        STATE[repo] = {"branches": set(ARGS.branch), "pulls": []}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
