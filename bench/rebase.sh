#!/bin/sh
# rebase.sh - registry-side rebase vs a full rebuild (not in CI).
#
#   bench/rebase.sh [BUILD_DIR]                  (default: build)
#   LAYER_KB=4096 RUNS=5 bench/rebase.sh build
#
# Starts a local docker-registry (tests/registry/registry.py) and seeds a
# two-layer base v1, a two-layer base v2 and a five-layer application
# (v1's two layers + three of its own, LAYER_KB of incompressible text
# each). Then, RUNS times each, with the wall time and the bytes the
# registry's storage grew by (mounted and existing blobs cost nothing):
#   1. `strata rebase app:1 --old-base base:v1 --new-base base:v2 --tag N`
#      (its own count of bytes pushed from --verbose, too)
#   2. the rebuild the rebase replaces: `buildah bud` of a Dockerfile
#      FROM base:v2 with the application's three files (COPY), then
#      `buildah push` (vfs storage, chroot isolation, fresh storage per
#      run so the base is pulled each time like on a clean builder).
# Without buildah only step 1 runs. Figures go to stdout; README.md
# "Benchmarks" quotes a run.
set -eu

build=${1:-build}
LAYER_KB=${LAYER_KB:-2048}
RUNS=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
strata="$root/$build/cli/strata"
regpy="$root/tests/registry/registry.py"
ninja -C "$root/$build" cli/strata >/dev/null
work=$(mktemp -d /tmp/strata-bench-rebase-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
export HOME="$work"

set -- $(/usr/bin/python3 "$regpy" start --dir "$work/reg")
port=$1 pid=$2
host=127.0.0.1:$port

# Specs and the application's files: random text, so gzip can't shrink it.
/usr/bin/python3 - "$work" "$LAYER_KB" <<'PY'
import base64, json, os, sys
work, kb = sys.argv[1], int(sys.argv[2])
def blob(tag):
    raw = os.urandom(kb * 1024 * 3 // 4)
    return base64.b64encode(raw).decode()[: kb * 1024] + "\n" + tag
os.makedirs(work + "/ctx", exist_ok=True)
for name, n in (("v1", 2), ("v2", 2)):
    spec = {"name": "base", "tag": name,
            "layers": [blob("%s-%d" % (name, i)) for i in range(n)]}
    json.dump(spec, open("%s/base-%s.json" % (work, name), "w"))
own = [blob("app-%d" % i) for i in range(3)]
for i, text in enumerate(own):
    open("%s/ctx/layer-%d.txt" % (work, i), "w").write(text)
json.dump({"layers": own}, open(work + "/app-layers.json", "w"))
PY
py_get() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
/usr/bin/python3 "$regpy" seed --port "$port" "$work/base-v1.json" >"$work/v1.out"
/usr/bin/python3 "$regpy" seed --port "$port" "$work/base-v2.json" >"$work/v2.out"
v1=$(py_get "$work/v1.out" '["digest"]')
/usr/bin/python3 - "$work" "$v1" <<'PY'
import json, sys
work, v1 = sys.argv[1], sys.argv[2]
own = json.load(open(work + "/app-layers.json"))["layers"]
json.dump({"name": "app", "tag": "1", "base": {"name": "base", "digest": v1},
           "layers": own}, open(work + "/app.json", "w"))
PY
/usr/bin/python3 "$regpy" seed --port "$port" "$work/app.json" >/dev/null

store_bytes() { du -sb "$work/reg/data" | cut -f1; }
now_ms() { date +%s%3N; }

echo "layers: $LAYER_KB KiB of random text each; app = 2 base + 3 own layers"
echo "run  method            wall_ms  registry_grew_bytes  strata_bytes_pushed"
i=1
while [ "$i" -le "$RUNS" ]; do
  before=$(store_bytes)
  t0=$(now_ms)
  "$strata" rebase "$host/app:1" --old-base "$host/base:v1" \
    --new-base "$host/base:v2" --tag "rebased-$i" --verbose \
    >"$work/rebase.out" 2>"$work/rebase.err"
  t1=$(now_ms)
  pushed=$(sed -n 's/.*; \([0-9]*\) bytes pushed.*/\1/p' "$work/rebase.err")
  printf '%-4s %-17s %8s  %19s  %19s\n' "$i" "strata rebase" \
    $((t1 - t0)) $(( $(store_bytes) - before )) "$pushed"
  i=$((i + 1))
done

if ! command -v buildah >/dev/null 2>&1; then
  echo "buildah not installed: no rebuild to compare with"
  exit 0
fi
cat >"$work/ctx/Dockerfile" <<EOF
FROM $host/base:v2
COPY layer-0.txt /app/
COPY layer-1.txt /app/
COPY layer-2.txt /app/
EOF
i=1
while [ "$i" -le "$RUNS" ]; do
  st="$work/buildah-$i"
  b="buildah --root $st/root --runroot $st/run --storage-driver vfs"
  before=$(store_bytes)
  t0=$(now_ms)
  if ! $b bud --isolation chroot --tls-verify=false -q \
      -t "$host/app:rebuilt-$i" "$work/ctx" >"$work/bud.log" 2>&1; then
    echo "buildah bud failed here:"; tail -5 "$work/bud.log"; exit 1
  fi
  t1=$(now_ms)
  $b push --tls-verify=false -q "$host/app:rebuilt-$i" >"$work/push.log" 2>&1
  t2=$(now_ms)
  printf '%-4s %-17s %8s  %19s  %19s\n' "$i" "buildah bud+push" \
    $((t2 - t0)) $(( $(store_bytes) - before )) "-"
  printf '%-4s %-17s %8s\n' "" "  (bud / push)" "$((t1 - t0))/$((t2 - t1))"
  $b rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$st" 2>/dev/null || true
  i=$((i + 1))
done
