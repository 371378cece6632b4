#!/bin/sh
# verify.sh - benchmark of the verification gate and of `strata verify
# bundle` (not in CI).
#
#   bench/verify.sh [BUILD_DIR]          (default: build)
#   TAGS=1000 RUNS=3 bench/verify.sh build
#
# 1. The real registry (tests/registry/registry.py) holds TAGS distinct
#    images, each signed with an ECDSA P-256 key in cosign's layout
#    (sha256-<hex>.sig, signed with openssl by tests/registry/sign.py's
#    format). `strata watch --once` over all of them, every tag a first
#    sighting (a fresh state each run), with `watch.verify.keys` and
#    without, in one farm-bench call (A: verified, B: unverified, paired).
#    Goal: the verified rate at least a third of the unverified one.
# 2. The Sigstore conformance bundles (tests/verify/conformance) through
#    `strata verify bundle`, one process per bundle
#    (tests/verify/conformance-cli.sh), against @sigstore/cli's `sigstore
#    verify` over the same bundles, one process each, offline with the
#    same trusted roots (tests/verify/conformance-sigstore-cli.sh), paired
#    in one farm-bench call. Goal: strata 10x faster in total wall time.
# Prints farm-bench's reports; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
TAGS=${TAGS:-1000}
RUNS=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
strata="$root/$build/cli/strata"
ninja -C "$root/$build" cli/strata >/dev/null
command -v farm-bench >/dev/null || { echo "verify.sh: needs farm-bench" >&2; exit 1; }
work=$(mktemp -d /tmp/strata-bench-verify-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

set -- $(/usr/bin/python3 "$root/tests/registry/registry.py" start --dir "$work/reg")
port=$1 pid=$2
(cd "$work" &&
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null &&
  openssl pkey -in k.pem -pubout -out k.pub)
echo '{"name":"bench/base","tag":"seed"}' |
  /usr/bin/python3 "$root/tests/registry/registry.py" seed --port "$port" - >/dev/null

# TAGS distinct manifests (an annotation each), each signed in cosign's
# layout, and two configurations watching every tag.
/usr/bin/python3 - "$port" "$TAGS" "$work" "$root/tests/registry" <<'PY'
import base64, hashlib, http.client, json, subprocess, sys
port, n, work, regdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
mt = "application/vnd.oci.image.manifest.v1+json"
c = http.client.HTTPConnection("127.0.0.1", port)
def req(method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, r.headers, data
def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()
def blob(data):
    s, h, _ = req("POST", "/v2/bench/base/blobs/uploads/")
    loc = h["Location"]
    loc = loc[loc.index("/v2/"):] if "/v2/" in loc else loc
    sep = "&" if "?" in loc else "?"
    s, _, _ = req("PUT", loc + sep + "digest=" + sha(data), data,
                  {"Content-Type": "application/octet-stream"})
    assert s == 201, s
_, _, seed = req("GET", "/v2/bench/base/manifests/seed", headers={"Accept": mt})
m = json.loads(seed)
blob(b"{}")
empty = {"mediaType": "application/vnd.oci.empty.v1+json",
         "digest": sha(b"{}"), "size": 2}
bases = []
for i in range(n):
    tag = "t%05d" % i
    m["annotations"] = {"bench": tag}
    body = json.dumps(m).encode()
    s, _, _ = req("PUT", "/v2/bench/base/manifests/" + tag, body, {"Content-Type": mt})
    assert s == 201, s
    d = sha(body)
    payload = json.dumps({"critical": {
        "identity": {"docker-reference": "127.0.0.1:%d/bench/base" % port},
        "image": {"docker-manifest-digest": d},
        "type": "cosign container image signature"}, "optional": None},
        separators=(",", ":")).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", work + "/k.pem"],
                         input=payload, stdout=subprocess.PIPE, check=True).stdout
    blob(payload)
    sm = json.dumps({"schemaVersion": 2, "mediaType": mt, "config": empty,
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": sha(payload), "size": len(payload),
                    "annotations": {"dev.cosignproject.cosign/signature":
                                    base64.b64encode(sig).decode()}}]}).encode()
    s, _, _ = req("PUT", "/v2/bench/base/manifests/sha256-%s.sig" % d[7:], sm,
                  {"Content-Type": mt})
    assert s == 201, s
    bases.append("    - ref: 127.0.0.1:%d/bench/base:%s\n" % (port, tag))
for name, verify in (("verified", True), ("unverified", False)):
    with open("%s/%s.yaml" % (work, name), "w") as f:
        f.write("state: %s/%s.db\nwatch:\n  interval: 15m\n" % (work, name))
        if verify:
            f.write("  verify: {keys: [%s/k.pub]}\n" % work)
        f.write("  bases:\n" + "".join(bases))
PY

once() { # NAME: one first-sighting run, the state removed first
  echo "sh -c 'rm -f $work/$1.db*; exec $strata -c $work/$1.yaml watch --once >/dev/null 2>>$work/$1.err'"
}
# Sanity: every tag verifies.
sh -c "$(once verified | sed "s/^sh -c '//; s/'\$//")"
n_ok=$("$strata" -c "$work/verified.yaml" events --type base.verified --limit 100000 --format json |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "# watch --once over $TAGS key-signed tags: $n_ok base.verified events"
echo "## 1. watch --once, A: with verification, B: without"
eval farm-bench -n "$RUNS" --warmup 1 --timeout 1800 --vs "\"$(once unverified)\"" -- $(once verified)

echo "## 2. the conformance bundles: strata verify bundle (A) vs @sigstore/cli (B)"
# @sigstore/cli (pinned in tests/verify/sigstore-js/package.json), installed
# with npm ci into the build directory as the tests do, and given the same
# trusted roots offline through a TUF cache (--tuf-force-cache).
js="$root/$build/tests/bench-sigstore-js"
if ! [ -x "$js/node_modules/.bin/sigstore" ] ||
   ! cmp -s "$root/tests/verify/sigstore-js/package-lock.json" "$js/package-lock.json"; then
  mkdir -p "$js" && cp "$root/tests/verify/sigstore-js/package.json" \
    "$root/tests/verify/sigstore-js/package-lock.json" "$js/" &&
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
    { echo "# npm ci of @sigstore/cli failed; see $js/npm.log"; exit 1; }
fi
sig="$js/node_modules/.bin/sigstore"
sh "$root/tests/verify/conformance-sigstore-cli.sh" "$sig" "$work/tuf" prepare "$js/node_modules"
# Sanity: what each one says about the 70 cases.
sh "$root/tests/verify/conformance-cli.sh" "$strata" | tail -n 1
sh "$root/tests/verify/conformance-sigstore-cli.sh" "$sig" "$work/tuf" | tail -n 1
farm-bench -n "$RUNS" --warmup 1 --timeout 1800 \
  --vs "sh $root/tests/verify/conformance-sigstore-cli.sh $sig $work/tuf" -- \
  sh "$root/tests/verify/conformance-cli.sh" "$strata"
