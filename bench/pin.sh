#!/bin/sh
# pin.sh - benchmark of `strata pin --check` against Renovate (not in CI).
#
#   bench/pin.sh [BUILD_DIR]                 (default: build)
#   FILES=200 BASES=50 RUNS=3 RENOVATE_DIR=/tmp/renovate39 bench/pin.sh build
#
# Starts the real registry (tests/registry/registry.py) on loopback and
# pushes BASES distinct base images, then writes a git repository of FILES
# Dockerfiles, each FROM one of the bases (file i uses base i % BASES) with a
# second stage COPY --from the next base, all unpinned. In the same run:
#   1. `strata pin --check REPO` (every reference reported unpinned: exit 1),
#      RUNS times, best wall time and its peak RSS from /usr/bin/time -v;
#   2. Renovate 39 (`npm install renovate@39` into RENOVATE_DIR, once) on the
#      same repository: --platform=local --dry-run=lookup
#      --onboarding=false --require-config=optional, pinDigests on, the
#      dockerfile manager only, and a hostRules entry marking the loopback
#      registry insecureRegistry (plain HTTP). Its debug log must show a
#      digest for every base, or the comparison is void and says so.
# Prints the figures and the ratios; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
FILES=${FILES:-200}
BASES=${BASES:-50}
RUNS=${RUNS:-3}
RENOVATE_DIR=${RENOVATE_DIR:-/tmp/strata-renovate}
root=$(cd "$(dirname "$0")/.." && pwd)
strata="$root/$build/cli/strata"
ninja -C "$root/$build" cli/strata >/dev/null
for t in git node npm /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "pin.sh: needs $t" >&2; exit 1; }
done
work=$(mktemp -d /tmp/strata-bench-pin-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

set -- $(/usr/bin/python3 "$root/tests/registry/registry.py" start --dir "$work/reg")
port=$1 pid=$2
host=127.0.0.1:$port

i=0
while [ "$i" -lt "$BASES" ]; do
  printf '{"name":"bench/base-%02d","tag":"1","layers":["base %d\\n"]}' "$i" "$i" |
    /usr/bin/python3 "$root/tests/registry/registry.py" seed --port "$port" - >/dev/null
  i=$((i + 1))
done

repo=$work/repo
mkdir -p "$repo"
i=0
while [ "$i" -lt "$FILES" ]; do
  d=$(printf '%s/svc-%03d' "$repo" "$i")
  mkdir -p "$d"
  printf 'FROM %s/bench/base-%02d:1 AS build\nRUN make\nFROM %s/bench/base-%02d:1\nCOPY --from=build /out /app\n' \
    "$host" $((i % BASES)) "$host" $(((i + 1) % BASES)) >"$d/Dockerfile"
  i=$((i + 1))
done
(cd "$repo" && git init -q && git add -A &&
  git -c user.name=bench -c user.email=bench@localhost commit -qm init)

# "wall seconds" and "peak KiB" of a command, from /usr/bin/time -v.
timed() {
  /usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i];
      print s }' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
}

best_wall= best_rss=
cd "$work"   # no strata.yaml here: the built-in defaults
r=0
while [ "$r" -lt "$RUNS" ]; do
  timed "$strata" pin --check "$repo"
  if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc -l)" -eq 1 ]; then
    best_wall=$wall best_rss=$rss
  fi
  r=$((r + 1))
done
lines=$(grep -c ': unpinned ' "$work/out" || true)
want=$((FILES * 2))
[ "$lines" -eq "$want" ] || { echo "pin.sh: strata reported $lines unpinned, want $want" >&2; cat "$work/err" >&2; exit 1; }
strata_wall=$best_wall strata_rss=$best_rss

printf 'repository:              %d Dockerfiles, %d references, %d distinct bases on %s\n' "$FILES" "$want" "$BASES" "$host"
printf 'strata pin --check:      %.3f s, peak RSS %d KiB (best of %d; %d unpinned reported)\n' "$strata_wall" "$strata_rss" "$RUNS" "$lines"

# Renovate 39, installed once.
if [ ! -x "$RENOVATE_DIR/node_modules/.bin/renovate" ]; then
  mkdir -p "$RENOVATE_DIR"
  (cd "$RENOVATE_DIR" && npm install --no-audit --no-fund renovate@39 >npm.log 2>&1) || {
    echo "renovate:                npm install renovate@39 failed:"; tail -5 "$RENOVATE_DIR/npm.log"; exit 0; }
fi
renovate=$RENOVATE_DIR/node_modules/.bin/renovate
cat >"$work/renovate.js" <<EOF
module.exports = {
  platform: 'local',
  dryRun: 'lookup',
  onboarding: false,
  requireConfig: 'optional',
  pinDigests: true,
  enabledManagers: ['dockerfile'],
  hostRules: [{ matchHost: '$host', insecureRegistry: true }],
  packageRules: [{ matchDatasources: ['docker'], pinDigests: true }],
};
EOF
cd "$repo"
timed env RENOVATE_CONFIG_FILE="$work/renovate.js" RENOVATE_BASE_DIR="$work/renovate-base" \
  LOG_LEVEL=debug LOG_FORMAT=json "$renovate" --platform=local --dry-run=lookup \
  --onboarding=false --require-config=optional
cd "$root"
ren_wall=$wall ren_rss=$rss
# Renovate logs the lookup results at debug level: count the distinct
# digests it found for the bases (newDigest of the pin updates).
digests=$(grep -o '"newDigest":"sha256:[0-9a-f]*"' "$work/out" | sort -u | wc -l)
printf 'renovate 39 lookup:      %.3f s, peak RSS %d KiB (%d distinct digests found)\n' "$ren_wall" "$ren_rss" "$digests"
if [ "$digests" -lt "$BASES" ]; then
  echo "pin.sh: renovate found $digests of $BASES digests; its log:" >&2
  grep -o '"msg":"[^"]*"' "$work/out" | sort | uniq -c | sort -rn | head -20 >&2
  echo "comparison void: renovate did not resolve every base"
  exit 1
fi
printf 'ratio wall renovate / strata:  %.0fx\n' "$(echo "$ren_wall / $strata_wall" | bc -l)"
printf 'ratio RSS renovate / strata:   %.0fx\n' "$(echo "$ren_rss / $strata_rss" | bc -l)"
