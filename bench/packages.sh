#!/bin/sh
# packages.sh - `strata diff` of two real Debian bases against pulling and
# unpacking both and asking dpkg-query (not in CI).
#
#   bench/packages.sh [BUILD_DIR]            (default: build)
#   BASE_TAR=/tmp/base.tar RUNS=5 bench/packages.sh build
#
# Makes a Debian 12 minbase with mmdebstrap (or takes BASE_TAR, a root
# filesystem tar), pushes it to a local docker-registry as v1 (one gzip
# layer, about 29 MB) and v2 (v1 plus a zstd layer with a changed dpkg
# status, tests/packages/mkupdate.py), then with farm-bench, RUNS pairs:
#   A  strata diff v1 v2 --format json, with an empty state database each
#      run, so both images' layers are streamed from the registry
#   B  what it replaces: skopeo copy of each image to a directory, every
#      layer unpacked to disk with tar (gzip and zstd), dpkg-query -W
#      --admindir on each, and diff of the two lists
# The goal (issue 25): A at least 5 times faster than B, with a peak RSS
# under 32 MiB. README.md "What changed in the base" quotes a run.
set -eu

build=${1:-build}
RUNS=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
strata="$root/$build/cli/strata"
regpy="$root/tests/registry/registry.py"
ninja -C "$root/$build" cli/strata >/dev/null
work=$(mktemp -d /tmp/strata-bench-packages-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
export HOME="$work"

base=${BASE_TAR:-$work/base.tar}
if [ ! -f "$base" ]; then
  mmdebstrap --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    bookworm "$base" ${DEBIAN_MIRROR:-} >"$work/mmdebstrap.log" 2>&1
fi
/usr/bin/python3 "$root/tests/packages/mkupdate.py" "$base" "$work" >/dev/null

set -- $(/usr/bin/python3 "$regpy" start --dir "$work/reg")
port=$1 pid=$2
host=127.0.0.1:$port
printf '{"name":"debian","tag":"v1","layers":[{"blob_file":"%s/l1.tar.gz"}]}' \
  "$work" >"$work/v1.json"
printf '{"name":"debian","tag":"v2","layers":[{"blob_file":"%s/l1.tar.gz"},{"blob_file":"%s/l2.tar.zst"}]}' \
  "$work" "$work" >"$work/v2.json"
/usr/bin/python3 "$regpy" seed --port "$port" "$work/v1.json" >/dev/null
/usr/bin/python3 "$regpy" seed --port "$port" "$work/v2.json" >/dev/null

cat >"$work/a.sh" <<A
#!/bin/sh
rm -f "$work/a.db" "$work/a.db-wal" "$work/a.db-shm"
exec "$strata" -c "$work/a.yaml" diff "$host/debian:v1" "$host/debian:v2" \
  --format json >/dev/null
A
echo "state: $work/a.db" >"$work/a.yaml"
cat >"$work/b.sh" <<B
#!/bin/sh
set -e
for v in v1 v2; do
  rm -rf "$work/b-\$v"; mkdir -p "$work/b-\$v"
  skopeo copy -q --src-tls-verify=false "docker://$host/debian:\$v" \
    "dir:$work/b-\$v/img"
  mkdir "$work/b-\$v/root"
  for l in \$(/usr/bin/python3 -c 'import json,sys; [print(l["digest"][7:]) for l in json.load(open(sys.argv[1]))["layers"]]' "$work/b-\$v/img/manifest.json"); do
    tar -xf "$work/b-\$v/img/\$l" -C "$work/b-\$v/root" -I 'zstd -dcf' 2>/dev/null ||
      tar -xzf "$work/b-\$v/img/\$l" -C "$work/b-\$v/root"
  done
  dpkg-query --admindir="$work/b-\$v/root/var/lib/dpkg" -W >"$work/b-\$v.list"
done
diff "$work/b-v1.list" "$work/b-v2.list" >/dev/null || true
B
chmod +x "$work/a.sh" "$work/b.sh"
echo "base: $(stat -c %s "$work/l1.tar.gz") bytes compressed (v1), v2 adds $(stat -c %s "$work/l2.tar.zst")"
# Both must work before they are timed.
"$work/a.sh"
"$work/b.sh"
"$strata" -c "$work/a.yaml" diff "$host/debian:v1" "$host/debian:v2" \
  --format json >"$work/a.json"
echo "packages: $(wc -l <"$work/b-v1.list") in v1, $(wc -l <"$work/b-v2.list") in v2 (dpkg-query)"
farm-bench -n "$RUNS" --timeout 900 --vs "$work/b.sh" -- "$work/a.sh"
