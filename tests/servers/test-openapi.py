#!/usr/bin/python3
"""test-openapi.py - the forge server refuses what the providers' published
descriptions do not allow (TAP). Starts tests/servers/forge.py as GitHub
and as Gitea and sends it requests a client could get wrong: each must be
answered as the provider would and recorded as a violation, and each
well-formed twin must not be."""
import json
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "t0ken"
n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name), flush=True)


def start(forge):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "forge.py"),
                          "--forge", forge, "--token", TOKEN,
                          "--repo", "acme/app", "--branch", "main",
                          "--branch", "strata/pin-x"],
                         stdout=subprocess.PIPE, text=True)
    return p, int(p.stdout.readline())


def call(port, forge, method, path, body=None, ctype="application/json"):
    prefix = "/api/v1" if forge == "gitea" else ""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s%s"
                                 % (port, prefix, path), data=data,
                                 method=method)
    if forge == "github":
        req.add_header("Authorization", "Bearer " + TOKEN)
        req.add_header("Accept", "application/vnd.github+json")
        req.add_header("X-GitHub-Api-Version", "2022-11-28")
    else:
        req.add_header("Authorization", "token " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def violations(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/_admin/state"
                                % port) as r:
        return json.load(r)["violations"]


CASES = {
    "github": [
        # (name, method, path, body, status, violates)
        ("a pull request as documented", "POST", "/repos/acme/app/pulls",
         {"title": "t", "head": "strata/pin-x", "base": "main", "body": "b"},
         201, False),
        ("a misspelt field", "POST", "/repos/acme/app/pulls",
         {"title": "t", "head": "strata/pin-x", "base": "main", "bdy": "b"},
         422, True),
        ("a field of the wrong type", "PATCH", "/repos/acme/app/pulls/1",
         {"title": 7}, 422, True),
        ("a value outside the enum", "PATCH", "/repos/acme/app/pulls/1",
         {"state": "merged"}, 422, True),
        ("an undeclared query parameter", "GET",
         "/repos/acme/app/pulls?stat=open", None, 422, True),
        ("a declared one", "GET", "/repos/acme/app/pulls?state=open&head="
         "acme:strata/pin-x", None, 200, False),
        ("a path no operation has", "GET", "/repos/acme/app/pullz", None,
         404, True),
        ("a method the path does not take", "DELETE",
         "/repos/acme/app/pulls/1", None, 404, True),
        ("a non-integer path parameter", "GET", "/repos/acme/app/pulls/one",
         None, 422, True),
    ],
    "gitea": [
        ("a pull request as documented", "POST", "/repos/acme/app/pulls",
         {"title": "t", "head": "strata/pin-x", "base": "main", "body": "b"},
         201, False),
        ("a misspelt field", "POST", "/repos/acme/app/pulls",
         {"title": "t", "head": "strata/pin-x", "base": "main",
          "assignes": ["a"]}, 422, True),
        ("a merge style Gitea does not have", "POST",
         "/repos/acme/app/pulls/1/merge", {"do": "octopus"}, 422, True),
        ("a path no operation has", "GET", "/repos/acme/app/pull", None, 404,
         True),
    ],
}


def main():
    for forge, cases in CASES.items():
        p, port = start(forge)
        try:
            for name, method, path, body, status, violates in cases:
                before = len(violations(port))
                got = call(port, forge, method, path, body)
                after = violations(port)
                ok(got == status, "%s: %s answered %d (got %d)"
                   % (forge, name, status, got))
                ok((len(after) > before) == violates,
                   "%s: %s %s a violation%s"
                   % (forge, name, "is" if violates else "is not",
                      (": " + after[-1]) if len(after) > before else ""))
        finally:
            p.terminate()
            p.wait()
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
