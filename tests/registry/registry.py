#!/usr/bin/python3
"""registry.py - a real OCI registry for strata's integration tests.

Runs Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 with
filesystem storage in a temporary directory, optionally behind htpasswd
Basic auth, and seeds images into it through the registry API.

  registry.py config --dir DIR [--user U --password P]
      writes DIR/config.yml (and DIR/htpasswd), picks a free port and
      prints it; the caller then runs `docker-registry serve DIR/config.yml`
  registry.py wait --port P [--timeout S]
      waits until /v2/ answers (200 or 401)
  registry.py start --dir DIR [--user U --password P]
      config + spawn + wait; prints "PORT PID" (the caller must kill PID)
  registry.py seed --port P [--user U --password P] SPEC.json|-
      pushes the image SPEC describes and prints what was pushed as JSON

An image SPEC (JSON):
  {"name": "app", "tag": "1",            # tag may also be a list
   "format": "oci" | "docker",           # media types; default "oci"
   "platforms": ["linux/amd64", "linux/arm64/v8"],  # >1 or "index": true
   "index": false,                       #   makes an OCI index / list
   "layers": ["text", {"files": {"etc/os-release": "ID=x\\n"}}],
   "labels": {"k": "v"}, "created": "2024-01-02T03:04:05Z",
   "annotations": {"k": "v"},            # on the manifest (and index)
   "base": {"name": ..., "digest": ...}  # optional: reuse a base's layers
  }
Output: {"name", "tags", "digest" (the tag's target), "media_type",
  "manifests": [{"platform", "digest", "config", "layers", "diff_ids",
  "media_type", "size"}], "index": {"digest", "media_type", "size"}|null}

Only the standard library; run with /usr/bin/python3.
"""

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])

REGISTRY_BIN = "/usr/bin/docker-registry"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(d, user=None, password=None):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    port = free_port()
    auth = ""
    if user is not None:
        htpasswd = os.path.join(d, "htpasswd")
        subprocess.run(["htpasswd", "-Bbc", htpasswd, user, password],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        auth = ("auth:\n  htpasswd:\n    realm: strata-test\n"
                "    path: %s\n" % htpasswd)
    cfg = ("version: 0.1\n"
           "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
           "storage:\n  filesystem:\n    rootdirectory: %s\n"
           "  delete:\n    enabled: true\n"
           "http:\n  addr: 127.0.0.1:%d\n  secret: strata-test-secret\n"
           "%s" % (os.path.join(d, "data"), port, auth))
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write(cfg)
    return port


def wait_ready(port, timeout=15.0):
    deadline = time.time() + timeout
    url = "http://127.0.0.1:%d/v2/" % port
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return True
        except urllib.error.HTTPError as e:
            if e.code == 401:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    return False


class Client:
    def __init__(self, port, user=None, password=None):
        self.base = "http://127.0.0.1:%d" % port
        self.auth = None
        if user is not None:
            tok = base64.b64encode(("%s:%s" % (user, password)).encode())
            self.auth = "Basic " + tok.decode()

    def request(self, method, url, data=None, headers=None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            raise SystemExit("registry.py: %s %s: %d %s" %
                             (method, url, e.code, e.read()[:300]))

    def push_blob(self, name, data):
        digest = sha256(data)
        try:
            status, _, _ = self.request("HEAD",
                                        "/v2/%s/blobs/%s" % (name, digest))
            if status == 200:
                return digest
        except SystemExit:
            pass
        _, h, _ = self.request("POST", "/v2/%s/blobs/uploads/" % name)
        loc = h["Location"]
        if not loc.startswith("http"):
            loc = self.base + loc
        sep = "&" if "?" in loc else "?"
        self.request("PUT", loc + sep + "digest=" + digest, data,
                     {"Content-Type": "application/octet-stream"})
        return digest

    def put_manifest(self, name, ref, body, media_type):
        _, h, _ = self.request("PUT", "/v2/%s/manifests/%s" % (name, ref),
                               body, {"Content-Type": media_type})
        got = h.get("Docker-Content-Digest")
        if got is not None and got != sha256(body):
            raise SystemExit("registry.py: digest mismatch %s != %s" %
                             (got, sha256(body)))
        return sha256(body)


def make_layer(spec, index, platform):
    """A real tar.gz with the layer's files; returns (gz, diff_id)."""
    if isinstance(spec, str):
        files = {"layer-%d.txt" % index: spec}
    else:
        files = spec.get("files", {})
    if platform and (isinstance(spec, str) or spec.get("per_platform", True)):
        files = dict(files)
        files["platform-%d.txt" % index] = platform + "\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()
        for path in sorted(files):
            parts = path.strip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs:
                    dirs.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o755
                    ti.mtime = 1700000000
                    t.addfile(ti)
            content = files[path].encode()
            ti = tarfile.TarInfo("/".join(parts))
            ti.size = len(content)
            ti.mode = 0o644
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(content))
    tar = raw.getvalue()
    return gzip.compress(tar, mtime=0), sha256(tar)


def parse_platform(p):
    parts = p.split("/")
    plat = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        plat["variant"] = parts[2]
    return plat


def push_image(c, spec, platform, fmt):
    name = spec["name"]
    created = spec.get("created", "2024-01-02T03:04:05Z")
    layers, diff_ids = [], []
    base = spec.get("base_layers", [])
    for bl in base:
        layers.append(bl)
    diff_ids.extend(spec.get("base_diff_ids", []))
    for i, ls in enumerate(spec.get("layers", ["hello from strata\n"])):
        gz, diff_id = make_layer(ls, i, platform if len(
            spec.get("platforms", [])) > 1 else None)
        digest = c.push_blob(name, gz)
        layers.append({"mediaType": OCI_LAYER if fmt == "oci" else
                       DOCKER_LAYER, "digest": digest, "size": len(gz)})
        diff_ids.append(diff_id)
    plat = parse_platform(platform or "linux/amd64")
    config = {
        "created": created,
        "architecture": plat["architecture"],
        "os": plat["os"],
        "config": {"Labels": spec.get("labels", {}),
                   "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created,
                     "created_by": "strata-test layer %d" % i}
                    for i in range(len(diff_ids))],
    }
    if "variant" in plat:
        config["variant"] = plat["variant"]
    cbytes = json.dumps(config, sort_keys=True).encode()
    cdigest = c.push_blob(name, cbytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST,
        "config": {"mediaType": OCI_CONFIG if fmt == "oci" else
                   DOCKER_CONFIG, "digest": cdigest, "size": len(cbytes)},
        "layers": [{"mediaType": (OCI_LAYER if fmt == "oci" else
                                  DOCKER_LAYER),
                    "digest": l["digest"], "size": l["size"]}
                   for l in layers],
    }
    if spec.get("annotations") and fmt == "oci":
        manifest["annotations"] = spec["annotations"]
    mbytes = json.dumps(manifest, indent=3).encode()
    mdigest = c.put_manifest(name, sha256(mbytes), mbytes,
                             manifest["mediaType"])
    return {"platform": platform or "linux/amd64", "digest": mdigest,
            "media_type": manifest["mediaType"], "size": len(mbytes),
            "config": cdigest, "layers": [l["digest"] for l in layers],
            "diff_ids": diff_ids, "body": mbytes}


def seed(c, spec):
    name = spec["name"]
    tags = spec.get("tag", "latest")
    tags = tags if isinstance(tags, list) else [tags]
    fmt = spec.get("format", "oci")
    platforms = spec.get("platforms", [])
    if spec.get("base"):
        # Reuse the layers of an image already in this registry (by digest).
        b = spec["base"]
        _, _, body = c.request("GET", "/v2/%s/manifests/%s" %
                               (b["name"], b["digest"]),
                               headers={"Accept": ACCEPT})
        bm = json.loads(body)
        _, _, cbody = c.request("GET", "/v2/%s/blobs/%s" %
                                (b["name"], bm["config"]["digest"]))
        spec = dict(spec)
        spec["base_layers"] = []
        for l in bm["layers"]:
            if b["name"] != name:
                c.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                          (name, l["digest"], b["name"]))
            spec["base_layers"].append(l)
        spec["base_diff_ids"] = json.loads(cbody)["rootfs"]["diff_ids"]
    out = {"name": name, "tags": tags, "index": None}
    if len(platforms) > 1 or spec.get("index"):
        mans = [push_image(c, spec, p, fmt) for p in (platforms or
                                                      ["linux/amd64"])]
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX if fmt == "oci" else DOCKER_LIST,
            "manifests": [{"mediaType": m["media_type"],
                           "digest": m["digest"], "size": m["size"],
                           "platform": parse_platform(m["platform"])}
                          for m in mans],
        }
        if spec.get("annotations") and fmt == "oci":
            index["annotations"] = spec["annotations"]
        ibytes = json.dumps(index, indent=3).encode()
        for t in tags:
            idigest = c.put_manifest(name, t, ibytes, index["mediaType"])
        out["index"] = {"digest": idigest, "media_type": index["mediaType"],
                        "size": len(ibytes)}
        out["digest"] = idigest
        out["media_type"] = index["mediaType"]
    else:
        m = push_image(c, spec, platforms[0] if platforms else None, fmt)
        for t in tags:
            c.put_manifest(name, t, m["body"], m["media_type"])
        mans = [m]
        out["digest"] = m["digest"]
        out["media_type"] = m["media_type"]
    for m in mans:
        del m["body"]
    out["manifests"] = mans
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for n in ("config", "start"):
        p = sub.add_parser(n)
        p.add_argument("--dir", required=True)
        p.add_argument("--user")
        p.add_argument("--password")
    p = sub.add_parser("wait")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=15.0)
    p = sub.add_parser("seed")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("spec")
    a = ap.parse_args()

    if a.cmd == "config":
        print(write_config(a.dir, a.user, a.password))
    elif a.cmd == "wait":
        sys.exit(0 if wait_ready(a.port, a.timeout) else 1)
    elif a.cmd == "start":
        port = write_config(a.dir, a.user, a.password)
        log = open(os.path.join(a.dir, "registry.log"), "w")
        proc = subprocess.Popen([REGISTRY_BIN, "serve",
                                 os.path.join(a.dir, "config.yml")],
                                stdout=log, stderr=log,
                                start_new_session=True)
        if not wait_ready(port):
            proc.kill()
            sys.exit("registry.py: registry did not start")
        print(port, proc.pid)
    elif a.cmd == "seed":
        text = sys.stdin.read() if a.spec == "-" else open(a.spec).read()
        print(json.dumps(seed(Client(a.port, a.user, a.password),
                              json.loads(text)), indent=1))


if __name__ == "__main__":
    main()
