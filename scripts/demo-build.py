#!/usr/bin/python3
"""demo-build.py - the demo's stand-in for a build system (the exec
builder strata runs for a `rebuild`). Like `docker build --pull` on the
repository's main branch, it reads the Dockerfile's final FROM (resolving a
global ARG default), asks the registry what that reference points to now,
and pushes IMAGE as that base's layers plus the application's own layer,
with the OCI base annotations BuildKit stamps on what it builds
(org.opencontainers.image.base.name / .base.digest).

  demo-build.py --port P --image REF --repo URL --dockerfile PATH
"""
import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REGISTRY = os.path.join(HERE, "..", "tests", "registry", "registry.py")
ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])


def final_from(text):
    args, base = {}, None
    for line in text.splitlines():
        m = re.match(r"\s*ARG\s+(\w+)=(\S+)", line, re.I)
        if m and base is None:
            args[m.group(1)] = m.group(2)
        m = re.match(r"\s*FROM\s+(?:--\S+\s+)*(\S+)", line, re.I)
        if m:
            ref = m.group(1)
            ref = re.sub(r"\$\{?(\w+)\}?", lambda v: args.get(v.group(1), ""),
                         ref)
            base = ref.split("@")[0]
    return base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--dockerfile", default="Dockerfile")
    a = ap.parse_args()
    gitdir = a.repo[len("file://"):] if a.repo.startswith("file://") else a.repo
    text = subprocess.run(["git", "--git-dir", gitdir, "show",
                           "main:" + a.dockerfile], check=True,
                          capture_output=True, text=True).stdout
    base = final_from(text)
    host = "127.0.0.1:%s/" % a.port
    if not base.startswith(host):
        sys.exit("demo-build: base %s is not in the demo registry" % base)
    name, tag = base[len(host):].rsplit(":", 1)
    req = urllib.request.Request("http://%s/v2/%s/manifests/%s" %
                                 (host.rstrip("/"), name, tag),
                                 method="HEAD", headers={"Accept": ACCEPT})
    digest = urllib.request.urlopen(req).headers["Docker-Content-Digest"]
    iname, itag = a.image[len(host):].rsplit(":", 1)
    print("building %s FROM %s@%s" % (a.image, base, digest))
    spec = {"name": iname, "tag": itag,
            "base": {"name": name, "digest": digest},
            "annotations": {"org.opencontainers.image.base.name": base,
                            "org.opencontainers.image.base.digest": digest},
            "layers": [{"files": {"app/" + iname.replace("/", "-"):
                                  "the application of %s\n" % iname}}],
            "created": "2026-01-01T00:00:00Z"}
    out = subprocess.run(["/usr/bin/python3", REGISTRY, "seed", "--port",
                          a.port, "-"], input=json.dumps(spec), check=True,
                         capture_output=True, text=True).stdout
    print("pushed %s@%s" % (a.image, json.loads(out)["digest"]))


if __name__ == "__main__":
    main()
