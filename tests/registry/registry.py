#!/usr/bin/python3
"""registry.py - a real OCI registry for strata's integration tests.

Runs Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 with
filesystem storage in a temporary directory, optionally behind htpasswd
Basic auth, and seeds images into it through the registry API.

  registry.py config --dir DIR [--user U --password P] [AUTH/TLS options]
      writes DIR/config.yml (and DIR/htpasswd), picks a free port and
      prints it; the caller then runs `docker-registry serve DIR/config.yml`
  registry.py wait --port P [--timeout S] [--tls]
      waits until /v2/ answers (200 or 401)
  registry.py start --dir DIR [--user U --password P] [AUTH/TLS options]
      config + spawn + wait; prints "PORT PID" (the caller must kill PID)
  registry.py seed --port P [--user U --password P] [--ca FILE] SPEC.json|-
      pushes the image SPEC describes and prints what was pushed as JSON
      (over HTTPS verified with --ca when given; answers a Bearer
      challenge by asking the realm for a token with U and P)
  registry.py tls --dir DIR
      makes a test CA (DIR/ca.pem) and a server certificate for 127.0.0.1
      and localhost signed by it (DIR/server.pem, DIR/server-key.pem)
      with openssl

AUTH/TLS options of config and start:
  --token-realm URL --token-cert FILE [--token-service S --token-issuer I]
      Bearer token auth (auth.token: realm, service, issuer,
      rootcertbundle) instead of htpasswd; see tokenserver.py
  --tls-cert FILE --tls-key FILE
      serve HTTPS (http.tls)

An image SPEC (JSON):
  {"name": "app", "tag": "1",            # tag may also be a list
   "format": "oci" | "docker",           # media types; default "oci"
   "platforms": ["linux/amd64", "linux/arm64/v8"],  # >1 or "index": true
   "index": false,                       #   makes an OCI index / list
   "layers": ["text", {"files": {"etc/os-release": "ID=x\\n"}},
              {"files": {...}, "platform_files": {"linux/arm64": {...}}},
              {"blob_file": "/tmp/l.tar.zst"}],  # a layer file as it is
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
import re
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
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


def write_config(d, user=None, password=None, opts=None):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    port = free_port()
    auth = ""
    tls = ""
    if opts is not None and opts.tls_cert:
        tls = ("  tls:\n    certificate: %s\n    key: %s\n" %
               (opts.tls_cert, opts.tls_key))
    if opts is not None and opts.token_realm:
        auth = ("auth:\n  token:\n    realm: %s\n    service: %s\n"
                "    issuer: %s\n    rootcertbundle: %s\n" %
                (opts.token_realm, opts.token_service, opts.token_issuer,
                 opts.token_cert))
    elif user is not None:
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
           "%s%s" % (os.path.join(d, "data"), port, tls, auth))
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write(cfg)
    return port


def make_tls(d):
    """A test CA and a server certificate for 127.0.0.1 signed by it."""
    def ossl(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=strata test CA", "-keyout", p("ca-key.pem"),
         "-out", p("ca.pem"))
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", p("server-key.pem"),
         "-out", p("server.csr"))
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"),
         "-CAkey", p("ca-key.pem"), "-CAcreateserial", "-days", "2",
         "-extfile", p("server.ext"), "-out", p("server.pem"))


def wait_ready(port, timeout=15.0, tls=False):
    deadline = time.time() + timeout
    url = "%s://127.0.0.1:%d/v2/" % ("https" if tls else "http", port)
    ctx = ssl._create_unverified_context() if tls else None
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1, context=ctx).read()
            return True
        except urllib.error.HTTPError as e:
            if e.code == 401:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    return False


class Client:
    def __init__(self, port, user=None, password=None, ca=None):
        self.base = "%s://127.0.0.1:%d" % ("https" if ca else "http", port)
        self.ctx = ssl.create_default_context(cafile=ca) if ca else None
        self.auth = None
        self.basic = None
        self.tokens = {}  # scope -> "Bearer ..."
        if user is not None:
            tok = base64.b64encode(("%s:%s" % (user, password)).encode())
            self.auth = self.basic = "Basic " + tok.decode()

    def bearer(self, challenge):
        """A token for a Bearer challenge, asked for with the Basic creds."""
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        scope = params.get("scope", "")
        if scope not in self.tokens:
            q = {"service": params.get("service", "")}
            if scope:
                q["scope"] = scope
            req = urllib.request.Request(
                params["realm"] + "?" + urllib.parse.urlencode(q))
            if self.basic:
                req.add_header("Authorization", self.basic)
            with urllib.request.urlopen(req, timeout=30) as r:
                self.tokens[scope] = "Bearer " + json.load(r)["token"]
        return self.tokens[scope]

    def request(self, method, url, data=None, headers=None, auth=None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if auth or self.auth:
            req.add_header("Authorization", auth or self.auth)
        try:
            with urllib.request.urlopen(req, timeout=30,
                                        context=self.ctx) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            chal = e.headers.get("WWW-Authenticate", "")
            if e.code == 401 and auth is None and chal.startswith("Bearer "):
                return self.request(method, url, data, headers,
                                    self.bearer(chal))
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
    if platform and not isinstance(spec, str):
        # Files of one platform's layer only, over the shared ones.
        files = dict(files)
        files.update(spec.get("platform_files", {}).get(platform, {}))
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
        if isinstance(ls, dict) and "blob_file" in ls:
            # A layer made by the test (any compression), pushed as it is.
            with open(ls["blob_file"], "rb") as f:
                gz = f.read()
            diff_id = ls.get("diff_id", sha256(gz))
        else:
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
        p.add_argument("--token-realm")
        p.add_argument("--token-cert")
        p.add_argument("--token-service", default="strata-registry")
        p.add_argument("--token-issuer", default="strata-token-server")
        p.add_argument("--tls-cert")
        p.add_argument("--tls-key")
    p = sub.add_parser("wait")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--tls", action="store_true")
    p = sub.add_parser("seed")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--ca")
    p.add_argument("spec")
    p = sub.add_parser("tls")
    p.add_argument("--dir", required=True)
    a = ap.parse_args()

    if a.cmd == "config":
        print(write_config(a.dir, a.user, a.password, a))
    elif a.cmd == "wait":
        sys.exit(0 if wait_ready(a.port, a.timeout, a.tls) else 1)
    elif a.cmd == "tls":
        make_tls(a.dir)
    elif a.cmd == "start":
        port = write_config(a.dir, a.user, a.password, a)
        log = open(os.path.join(a.dir, "registry.log"), "w")
        proc = subprocess.Popen([REGISTRY_BIN, "serve",
                                 os.path.join(a.dir, "config.yml")],
                                stdout=log, stderr=log,
                                start_new_session=True)
        if not wait_ready(port, tls=bool(a.tls_cert)):
            proc.kill()
            sys.exit("registry.py: registry did not start")
        print(port, proc.pid)
    elif a.cmd == "seed":
        text = sys.stdin.read() if a.spec == "-" else open(a.spec).read()
        print(json.dumps(seed(Client(a.port, a.user, a.password, a.ca),
                              json.loads(text)), indent=1))


if __name__ == "__main__":
    main()
