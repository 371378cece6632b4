#!/bin/sh
# fleet.sh - a base update across a fleet of repositories, end to end (not
# in CI).
#
#   bench/fleet.sh [BUILD_DIR]          (default: build)
#   REPOS=2000 HIT=1000 PER=5 bench/fleet.sh build
#   STRATA=/path/to/strata bench/fleet.sh     (another build's binary)
#
# The world: the real registry (tests/registry/registry.py) on loopback
# with two base images, and REPOS bare git repositories (file://, one
# commit each, made with git fast-import) of PER Dockerfiles each: the
# first HIT repositories' Dockerfiles are FROM base A, the others' FROM
# base B. Every repository is configured with `on_base_update: [pr]` and
# no forge, so a job pushes the pinned branch strata/pin-base-1 to the
# remote. Then, timed:
#   1. `strata graph scan` (set-up: clone every mirror, parse every file);
#   2. `strata run` (the daemon, polling every second) is started, and
#      once it is ready (its start-up scan done, both bases seen) base A
#      is pushed anew: HIT * PER pr jobs are queued (one per Dockerfile;
#      a repository's first job pins all its Dockerfiles, the others find
#      the branch already there). Measured from the push, from the
#      store's own times: the base.updated event (detection),
#      base.planned (the jobs enqueued), the first job to end, the last
#      job that pushed a branch, the last job to end (the cycle), and
#      the daemon's peak RSS (VmHWM) and its CPU time from the push;
#      then every remote is checked: HIT branches, each pinning the new
#      digest in every Dockerfile, and none elsewhere;
#   ROLLOUT='{stages: [{percent: 10}, {percent: 30}], bake: 0s}' adds a
#      top-level rollout policy (docs/configuration.md) and prints each
#      stage's start and end (the times exclude no bake: bake 0s);
#   3. the store's claim latency with those HIT * PER jobs queued again
#      (bench-claim --db on a copy of the daemon's database, requeued).
# Goal (issue 20): every branch pushed within 30 s of the push, peak RSS
# under 64 MiB. PER=1 is one job per repository. README.md "Benchmarks"
# quotes runs of both, and of STRATA= the build before.
set -eu

build=${1:-build}
REPOS=${REPOS:-2000}
HIT=${HIT:-1000}
PER=${PER:-5}
[ "$HIT" -le "$REPOS" ] || { echo "fleet.sh: HIT must not exceed REPOS" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$root/$build" bench/bench-claim >/dev/null
if [ -n "${STRATA:-}" ]; then
  strata=$STRATA
else
  strata="$root/$build/cli/strata"
  ninja -C "$root/$build" cli/strata >/dev/null
fi
for t in git sqlite3 bc /usr/bin/time /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "fleet.sh: needs $t" >&2; exit 1; }
done
work=$(mktemp -d /tmp/strata-bench-fleet-XXXXXX)
pid= dpid=
cleanup() {
  [ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
export HOME="$work" GIT_CONFIG_NOSYSTEM=1 ROLLOUT="${ROLLOUT:-}"

set -- $(/usr/bin/python3 "$root/tests/registry/registry.py" start --dir "$work/reg")
port=$1 pid=$2
host=127.0.0.1:$port
seed() {
  echo "$1" | /usr/bin/python3 "$root/tests/registry/registry.py" seed \
    --port "$port" - | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])'
}
base=$host/bench/base:1
other=$host/bench/other:1
seed '{"name":"bench/base","tag":"1","layers":["a1"]}' >/dev/null
seed '{"name":"bench/other","tag":"1","layers":["b1"]}' >/dev/null

echo "generating $REPOS repositories of $PER Dockerfiles in $work"
t0=$(date +%s.%N)
/usr/bin/python3 - "$work" "$REPOS" "$HIT" "$PER" "$base" "$other" <<'PY'
import os, shutil, subprocess, sys

work, repos, hit, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4])
base, other = sys.argv[5], sys.argv[6]
os.makedirs(work + "/git")
subprocess.run(["git", "init", "-q", "--bare", work + "/git/template.git"],
               check=True)
with open(work + "/strata.yaml", "w") as y:
    y.write("state: %s/strata.db\n"
            "watch:\n  interval: 1s\n  jitter: 0%%\n  bases:\n"
            "    - ref: %s\n    - ref: %s\n"
            "scan: {interval: 1h}\n"
            "api: {listen: \"127.0.0.1:0\"}\n" % (work, base, other))
    if os.environ.get("ROLLOUT"):
        y.write("rollout: %s\n" % os.environ["ROLLOUT"])
    y.write("repos:\n")
    for r in range(repos):
        y.write("  - url: file://%s/git/r%d.git\n    on_base_update: [pr]\n"
                % (work, r))
for r in range(repos):
    d = "%s/git/r%d.git" % (work, r)
    shutil.copytree(work + "/git/template.git", d)
    out = ["commit refs/heads/main",
           "committer Bench <b@example.com> 1700000000 +0000",
           "data 6", "bench"]
    for i in range(per):
        body = ("FROM %s AS build\nRUN make svc-%d\n"
                "FROM %s\nCOPY --from=build /out /app\n"
                % (base if r < hit else other, i, base if r < hit else other))
        out += ["M 100644 inline svc-%d/Dockerfile" % i,
                "data %d" % len(body.encode()), body]
    subprocess.run(["git", "-C", d, "fast-import", "--quiet"],
                   input=("\n".join(out) + "\n").encode(), check=True)
PY
t1=$(date +%s.%N)
echo "generated in $(echo "$t1 - $t0" | bc) s"

echo "1. strata graph scan (set-up)"
/usr/bin/time -o "$work/time.txt" -f '  %e s wall, peak RSS %M KB' \
  "$strata" -c "$work/strata.yaml" --log-level warn graph scan >/dev/null
cat "$work/time.txt"

q() { sqlite3 -cmd '.timeout 5000' "$work/strata.db" "$1"; }

echo "2. a base update across $HIT of $REPOS repositories ($((HIT * PER)) pr jobs)"
"$strata" -c "$work/strata.yaml" --log-level info run >"$work/daemon.log" 2>&1 &
dpid=$!
# Ready: both bases seen (the daemon scanned and checked them).
i=0
until [ "$(q "SELECT count(*) FROM watch_state WHERE current_digest IS NOT NULL" 2>/dev/null || echo 0)" = 2 ]; do
  i=$((i + 1))
  [ "$i" -lt 1200 ] || { echo "fleet.sh: the daemon did not start" >&2; tail "$work/daemon.log" >&2; exit 1; }
  kill -0 "$dpid" || { echo "fleet.sh: the daemon died" >&2; tail "$work/daemon.log" >&2; exit 1; }
  sleep 0.1
done
sleep 2 # past the start-up scan's first cycle
rss_before=$(awk '/VmHWM/ { print $2 }' "/proc/$dpid/status")
cpu_before=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$dpid/stat")
push_ms=$(date +%s%3N)
new=$(seed '{"name":"bench/base","tag":"1","layers":["a2"]}')
jobs=$((HIT * PER))
i=0
until [ "$(q "SELECT count(*) FROM jobs WHERE action = 'pr' AND state IN ('succeeded', 'failed')")" = "$jobs" ]; do
  i=$((i + 1))
  [ "$i" -lt 6000 ] || { echo "fleet.sh: the jobs did not end in 600 s" >&2; exit 1; }
  kill -0 "$dpid" || { echo "fleet.sh: the daemon died" >&2; tail "$work/daemon.log" >&2; exit 1; }
  sleep 0.1
done
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$dpid/status")
cpu=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$dpid/stat")
kill "$dpid"
wait "$dpid" || true
dpid=
updated=$(q "SELECT min(time) FROM events WHERE type = 'base.updated' AND subject = '$base'")
planned=$(q "SELECT min(time) FROM events WHERE type = 'base.planned' AND subject = '$base'")
first=$(q "SELECT min(updated) FROM jobs WHERE action = 'pr'")
last=$(q "SELECT max(updated) FROM jobs WHERE action = 'pr'")
pushed=$(q "SELECT count(*), max(updated) FROM jobs WHERE action = 'pr' AND json_extract(result, '$.outcome') = 'pushed'")
failed=$(q "SELECT count(*) FROM jobs WHERE action = 'pr' AND state <> 'succeeded'")
secs() { echo "scale=2; ($1 - $push_ms) / 1000" | bc; }
printf '  base.updated (detected):   %6.2f s after the push\n' "$(secs "$updated")"
printf '  base.planned (%d jobs):  %6.2f s\n' "$jobs" "$(secs "$planned")"
printf '  first pr job ended:        %6.2f s\n' "$(secs "$first")"
printf '  last branch pushed:        %6.2f s  (%d pushes; goal: 30 s)\n' \
  "$(secs "${pushed#*|}")" "${pushed%|*}"
printf '  last pr job ended:         %6.2f s\n' "$(secs "$last")"
if [ -n "${ROLLOUT:-}" ]; then
  q "SELECT stages FROM rollouts WHERE base_ref = '$base'" |
    python3 -c 'import json, sys
for k, s in enumerate(json.load(sys.stdin)):
    print("  rollout stage %d: %4d images, %6.2f s to %6.2f s" % (k + 1, s["images"], (s["started"] - int(sys.argv[1])) / 1000, (s["finished"] - int(sys.argv[1])) / 1000))' "$push_ms"
fi
printf '  jobs not succeeded:        %d\n' "$failed"
printf '  daemon peak RSS:           %.1f MiB (%.1f MiB before the push; goal: 64 MiB)\n' \
  "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss_before / 1024" | bc -l)"
printf '  daemon CPU time:           %.2f s from the push to the last job (%s s before: start-up, scan)\n' \
  "$(echo "$cpu - $cpu_before" | bc)" "$cpu_before"

# Every hit remote has the branch, pinning the new digest in every file;
# no other remote has one.
pinned=0 stray=0 r=0
while [ "$r" -lt "$REPOS" ]; do
  d="$work/git/r$r.git"
  if [ "$r" -lt "$HIT" ]; then
    n=0 i=0
    while [ "$i" -lt "$PER" ]; do
      git -C "$d" show "strata/pin-base-1:svc-$i/Dockerfile" 2>/dev/null |
        grep -q "FROM $base@$new" && n=$((n + 1))
      i=$((i + 1))
    done
    [ "$n" -eq "$PER" ] && pinned=$((pinned + 1))
  elif git -C "$d" rev-parse -q --verify strata/pin-base-1 >/dev/null; then
    stray=$((stray + 1))
  fi
  r=$((r + 1))
done
printf '  remotes with the pinned branch: %d of %d (%d others with a branch)\n' \
  "$pinned" "$HIT" "$stray"

echo "3. claim latency, $jobs jobs queued (the daemon's database, requeued)"
cp "$work/strata.db" "$work/claim.db"
sqlite3 "$work/claim.db" "UPDATE jobs SET state = 'queued', attempts = 0, next_attempt = 0"
"$root/$build/bench/bench-claim" --db "$work/claim.db"
