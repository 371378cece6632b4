#!/bin/sh
# graph.sh - benchmark of repository scanning and graph queries (not in CI).
#
#   bench/graph.sh [BUILD_DIR]        (default: build)
#   REPOS=2000 FILES=10000 NODES=100000 bench/graph.sh build
#   STRATA_BIN=/path/to/older/strata bench/graph.sh build
#
# Generates REPOS bare git repositories (git fast-import, one commit each)
# holding FILES Dockerfiles over a three-level hierarchy: 10 golden bases
# (external) <- 100 runtime images (configured, in 20 platform
# repositories, 5 each) <- the application Dockerfiles (unnamed consumers,
# each FROM a runtime image plus a builder stage FROM a golden base). Then
# times, with peak RSS from /usr/bin/time:
#   1. the first `strata graph scan` (clone every mirror, parse every file)
#   2. a rescan after one commit that changes one Dockerfile
#   3. `strata graph impacted` on a golden base (load + query, CLI)
#   4. the impacted query alone on a synthetic graph of NODES nodes
# Figures go to stdout; README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
REPOS=${REPOS:-2000}
FILES=${FILES:-10000}
NODES=${NODES:-100000}
[ "$REPOS" -gt 20 ] || { echo "graph.sh: REPOS must be above 20" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$root/$build" cli/strata bench/bench-graph >/dev/null
# STRATA_BIN: another strata to time on the same world (an older build).
strata=${STRATA_BIN:-"$root/$build/cli/strata"}
work=$(mktemp -d /tmp/strata-bench-graph-XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
export HOME="$work" GIT_CONFIG_NOSYSTEM=1
nplat=20

# The repositories and the configuration, written by python3 (the
# generator only: git fast-import builds each repository in one process).
gen() {
  python3 - "$@" <<'PY'
import os, shutil, subprocess, sys

work, repos, files, nplat, variant = sys.argv[1], int(sys.argv[2]), \
    int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
per = max(1, files // repos)
bases = ["debian:12-slim", "ubuntu:22.04", "alpine:3.19", "python:3.12-slim",
         "golang:1.22", "node:20-slim", "eclipse-temurin:21-jre",
         "nginx:1.25", "redis:7", "busybox:1.36"]

def files_of(r, v):
    for i in range(per):
        if r < nplat:
            n = r * per + i
            if v == 0:
                yield "rt-%d/Dockerfile" % n, "FROM %s\nRUN echo runtime %d\n" % (
                    bases[n % 10], n)
        elif v == 0 or i == 0:
            rt = (r * 7 + i * 13) % (nplat * per)
            body = ("# syntax=docker/dockerfile:1\n"
                    "ARG RT=bench.local/platform/rt-%d:1\n"
                    "FROM %s AS build\nRUN make\nFROM ${RT}\n"
                    "COPY --from=build /out /app\n" % (rt, bases[(r + i) % 10]))
            if v:
                body += "LABEL changed=1\n"
            yield "svc-%d/Dockerfile" % i, body

def stream(r, v):
    out = ["commit refs/heads/main",
           "committer Bench <b@example.com> %d +0000" % (1700000000 + v),
           "data 6", "bench"]
    if v:
        out.append("from refs/heads/main^0")
    for path, body in files_of(r, v):
        data = body.encode()
        out.append("M 100644 inline %s" % path)
        out.append("data %d" % len(data))
        out.append(body)
    return ("\n".join(out) + "\n").encode()

def fast_import(r, v):
    subprocess.run(["git", "-C", "%s/git/r%d.git" % (work, r), "fast-import",
                    "--quiet"], input=stream(r, v), check=True)

if variant:
    fast_import(nplat, 1)
    sys.exit(0)
os.makedirs(work + "/git", exist_ok=True)
subprocess.run(["git", "init", "-q", "--bare", work + "/git/template.git"],
               check=True)
with open(work + "/strata.yaml", "w") as y:
    y.write("state: %s/strata.db\nrepos:\n" % work)
    for r in range(repos):
        y.write("  - url: file://%s/git/r%d.git\n" % (work, r))
        if r < nplat:
            y.write("    images:\n")
            for i in range(per):
                n = r * per + i
                y.write("      - name: bench.local/platform/rt-%d:1\n"
                        "        dockerfile: rt-%d/Dockerfile\n" % (n, n))
for r in range(repos):
    shutil.copytree(work + "/git/template.git", "%s/git/r%d.git" % (work, r))
    fast_import(r, 0)
PY
}

echo "generating $REPOS repositories with $FILES Dockerfiles in $work"
t0=$(date +%s.%N)
gen "$work" "$REPOS" "$FILES" $nplat 0
t1=$(date +%s.%N)
echo "generated in $(echo "$t1 - $t0" | bc) s"

# timed OUT CMD...: runs CMD with stdout to OUT, prints time and RSS.
timed() {
  out=$1
  shift
  /usr/bin/time -o "$work/time.txt" \
    -f '  %e s wall, %U s user, %S s sys, peak RSS %M KB' "$@" >"$out" || true
  cat "$work/time.txt"
}

# --no-registry: the repositories alone (the configured images' registry
# lineage is bench.local's, which does not resolve; reading it is
# measured with a real registry in bench/fleet.sh).
echo "1. first scan (goal: under 60 s)"
timed "$work/scan1.txt" "$strata" -c "$work/strata.yaml" graph scan \
  --no-registry
awk '{d+=$3; p+=$5; e+=$9} END {print "  " NR " repos, " d " dockerfiles, " p " parsed, " e " edges"}' \
  "$work/scan1.txt"

echo "2. rescan after one commit (one Dockerfile changed in r$nplat; goal: under 5 s)"
gen "$work" "$REPOS" "$FILES" $nplat 1
timed "$work/scan2.txt" "$strata" -c "$work/strata.yaml" graph scan \
  --no-registry
awk '{p+=$5} END {print "  parsed " p}' "$work/scan2.txt"

echo "2b. rescan with nothing changed (every remote asked, none fetched)"
timed "$work/scan3.txt" "$strata" -c "$work/strata.yaml" graph scan \
  --no-registry
awk '{p+=$5} END {print "  parsed " p}' "$work/scan3.txt"

echo "3. strata graph impacted debian:12-slim (CLI: load + query + print)"
timed "$work/impacted.json" "$strata" -c "$work/strata.yaml" graph impacted \
  debian:12-slim --format json
"$root/$build/bench/bench-graph" load "$work/strata.db" \
  docker.io/library/debian:12-slim | sed 's/^/  /'

echo "4. impacted query on a synthetic graph of $NODES nodes"
"$root/$build/bench/bench-graph" synthetic "$NODES" | sed 's/^/  /'
