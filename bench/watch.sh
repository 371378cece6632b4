#!/bin/sh
# watch.sh - benchmark of `strata watch --once` (not in CI).
#
#   bench/watch.sh [BUILD_DIR]            (default: build)
#   TAGS=1000 SAMPLE=50 RUNS=7 bench/watch.sh build
#   STRATA=/path/to/strata bench/watch.sh     (another build's binary)
#
# Starts the real registry (tests/registry/registry.py) on loopback, pushes
# one image under TAGS tags and watches all of them. Then, in the same run:
#   1. `strata watch --once`, first run (every tag a first sighting: HEAD +
#      verifying GET + store writes), wall time and peak RSS from
#      /usr/bin/time -v;
#   2. the steady state (one HEAD per tag, nothing changed) against the
#      registry's raw HEAD rate: RUNS pairs, each a steady-state
#      `strata watch --once` (the whole process: start-up, configuration,
#      store, TAGS checks) then `ab -i -k -n TAGS -c 8` on one tag (TAGS
#      HEADs at strata's default concurrency, 8, on the same registry),
#      in turn, so both see the same machine; strata's rate as a fraction
#      of ab's is taken pair by pair and the median quoted;
#   3. `skopeo inspect --raw --tls-verify=false` per tag, sequentially, on a
#      sample of SAMPLE tags, extrapolated to TAGS.
# Prints the figures and the ratios; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
TAGS=${TAGS:-1000}
SAMPLE=${SAMPLE:-50}
RUNS=${RUNS:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${STRATA:-}" ]; then
  strata=$STRATA # another build to measure, say an older one
else
  strata="$root/$build/cli/strata"
  ninja -C "$root/$build" cli/strata >/dev/null
fi
for t in skopeo ab /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "watch.sh: needs $t" >&2; exit 1; }
done
work=$(mktemp -d /tmp/strata-bench-watch-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

set -- $(/usr/bin/python3 "$root/tests/registry/registry.py" start --dir "$work/reg")
port=$1 pid=$2
host=127.0.0.1:$port

# One image, then its manifest PUT under every tag (one keep-alive
# connection), and the configuration watching every tag.
echo '{"name":"bench/base","tag":"seed"}' |
  /usr/bin/python3 "$root/tests/registry/registry.py" seed --port "$port" - >/dev/null
/usr/bin/python3 - "$port" "$TAGS" "$work" <<'PY'
import http.client, sys
port, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mt = "application/vnd.oci.image.manifest.v1+json"
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", "/v2/bench/base/manifests/seed", headers={"Accept": mt})
body = c.getresponse().read()
with open(work + "/strata.yaml", "w") as f:
    f.write("state: %s/strata.db\nwatch:\n  interval: 15m\n  bases:\n" % work)
    for i in range(n):
        tag = "t%05d" % i
        c.request("PUT", "/v2/bench/base/manifests/" + tag, body=body,
                  headers={"Content-Type": mt})
        r = c.getresponse()
        r.read()
        assert r.status == 201, r.status
        f.write("    - ref: 127.0.0.1:%d/bench/base:%s\n" % (port, tag))
PY

# "wall seconds" and "peak KiB" of a command, from /usr/bin/time -v.
timed() {
  /usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i];
      print s }' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
}

timed "$strata" -c "$work/strata.yaml" --log-level warn watch --once
first_wall=$wall first_rss=$rss
lines=$(wc -l <"$work/out")
[ "$lines" -eq "$TAGS" ] || { echo "watch.sh: $lines first sightings, want $TAGS" >&2; cat "$work/err" >&2; exit 1; }

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$work/pairs"
i=0
while [ "$i" -lt "$RUNS" ]; do
  timed "$strata" -c "$work/strata.yaml" --log-level warn watch --once
  [ ! -s "$work/out" ] || { echo "watch.sh: changes in the steady state" >&2; exit 1; }
  grep -q . "$work/err" && { echo "watch.sh: errors in the steady state:" >&2; cat "$work/err" >&2; exit 1; }
  ab -i -k -n "$TAGS" -c 8 \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$host/v2/bench/base/manifests/t00000" >"$work/ab" 2>&1
  rate=$(awk '/Requests per second/ { print $4 }' "$work/ab")
  failed=$(awk '/Failed requests/ { print $3 }' "$work/ab")
  [ "$failed" = 0 ] || { echo "watch.sh: ab saw $failed failed requests" >&2; exit 1; }
  # strata wall, strata RSS, ab rate, strata rate / ab rate
  echo "$wall $rss $rate $(echo "$TAGS / $wall / $rate" | bc -l)" >>"$work/pairs"
  i=$((i + 1))
done
steady_wall=$(awk '{ print $1 }' "$work/pairs" | median)
steady_rss=$(awk '{ print $2 }' "$work/pairs" | median)
rate=$(awk '{ print $3 }' "$work/pairs" | median)
ratio=$(awk '{ print $4 }' "$work/pairs" | median)
ratio_min=$(awk '{ print $4 }' "$work/pairs" | sort -g | head -1)
ratio_max=$(awk '{ print $4 }' "$work/pairs" | sort -g | tail -1)

start=$(date +%s.%N)
i=0
while [ "$i" -lt "$SAMPLE" ]; do
  skopeo inspect --raw --tls-verify=false \
    "docker://$host/bench/base:$(printf 't%05d' "$i")" >/dev/null
  i=$((i + 1))
done
end=$(date +%s.%N)
skopeo_wall=$(echo "($end - $start) * $TAGS / $SAMPLE" | bc -l)

printf 'tags watched:                      %d\n' "$TAGS"
printf 'strata watch --once, first run:    %.2f s, peak RSS %d KiB (%d first sightings)\n' "$first_wall" "$first_rss" "$lines"
printf 'strata watch --once, steady state: %.2f s median of %d, peak RSS %d KiB (%.0f tags/s)\n' "$steady_wall" "$RUNS" "$steady_rss" "$(echo "$TAGS / $steady_wall" | bc -l)"
printf 'ab -i -k -n %d -c 8 raw HEAD:      %.0f req/s median (%.2f s for %d HEADs)\n' "$TAGS" "$rate" "$(echo "$TAGS / $rate" | bc -l)" "$TAGS"
printf 'strata steady rate / ab rate:      %.2f median of %d pairs (%.2f-%.2f)\n' "$ratio" "$RUNS" "$ratio_min" "$ratio_max"
printf 'skopeo inspect --raw per tag:      %.2f s (%d-tag sample, extrapolated)\n' "$skopeo_wall" "$SAMPLE"
printf 'ratio skopeo / strata (steady):    %.1fx\n' "$(echo "$skopeo_wall / $steady_wall" | bc -l)"
