#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and runs
# strata's main job on embedded defaults, with nothing to configure. It
# starts a local registry and local git remotes that it seeds itself (a
# base image, an intermediate runtime image built on it, and two
# applications, one on the runtime and one straight on the base), runs
# strata on sqlite against them, moves the base, and shows what strata saw
# and did: the event, the graph's waves, the pinned branches with their
# diffs, the rebuilds in wave order, the jobs and the stale report. Then
# it cleans up (KEEP=1 keeps the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh
build=${BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" >/dev/null
strata="$root/$build/cli/strata"
py=/usr/bin/python3
reg="$root/tests/registry/registry.py"

work=$(mktemp -d /tmp/strata-demo.XXXXXX)
regpid=
cleanup() {
  [ -n "$regpid" ] && kill "$regpid" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -t 1 ]; then b=$'\e[1m'; n=$'\e[0m'; else b=; n=; fi
step() { printf '\n%s== %s%s\n' "$b" "$*" "$n"; }
run() { printf '%s$ %s%s\n' "$b" "$*" "$n"; "$@"; }

step "a local registry (Debian's docker-registry) and three git remotes"
read -r port regpid < <($py "$reg" start --dir "$work/registry")
R=127.0.0.1:$port
echo "registry at $R, state in $work"
seed() { echo "$1" | $py "$reg" seed --port "$port" - | $py -c 'import json,sys; print(json.load(sys.stdin)["digest"])'; }
base_v1=$(seed '{"name": "library/debian", "tag": "12-slim", "created": "2026-01-01T00:00:00Z",
  "layers": [{"files": {"etc/os-release": "ID=debian\nVERSION_ID=12\nPATCH=1\n"}}]}')
echo "base $R/library/debian:12-slim = $base_v1"

mkrepo() { # NAME DOCKERFILE-TEXT
  git init -q --bare -b main "$work/git/$1.git"
  git init -q -b main "$work/src/$1"
  printf '%s' "$2" > "$work/src/$1/Dockerfile"
  git -C "$work/src/$1" add Dockerfile
  git -C "$work/src/$1" -c user.name=dev -c user.email=dev@example.com \
    commit -qm "initial"
  git -C "$work/src/$1" push -q "$work/git/$1.git" main
}
mkrepo runtime "# the platform's Python runtime
FROM $R/library/debian:12-slim
RUN apt-get install -y python3
"
mkrepo payments "# syntax=docker/dockerfile:1
ARG RUNTIME=$R/platform/python-runtime:3.12
FROM \${RUNTIME} AS build
RUN pip install -r requirements.txt
FROM \${RUNTIME}
COPY --from=build /app /app
"
mkrepo web "FROM $R/library/debian:12-slim
COPY site /srv/site
"
mkrepo api "FROM $R/library/debian:12-slim
COPY api /srv/api
"
mkrepo static "# a static binary: its layer does not depend on the base's files
FROM $R/library/debian:12-slim
COPY server /usr/local/bin/server
"

cat > "$work/strata.yaml" <<YAML
# strata's demo configuration: sqlite state, the local registry, local git
# remotes without a forge API (pull requests are pushed branches); api only
# gets a pull request, so its image stays on the old base until merged.
state: $work/strata.db
watch:
  interval: 1m
  bases:
    - ref: $R/library/debian:12-slim
repos:
  - url: file://$work/git/runtime.git
    images: [{name: $R/platform/python-runtime:3.12}]
    on_base_update: [pr, rebuild]
  - url: file://$work/git/payments.git
    images: [{name: $R/acme/payments:1}]
    on_base_update: [pr, rebuild]
  - url: file://$work/git/web.git
    images: [{name: $R/acme/web:1}]
    on_base_update: [pr, rebuild]
  - url: file://$work/git/api.git
    images: [{name: $R/acme/api:1}]
    on_base_update: [pr]
  - url: file://$work/git/static.git
    images: [{name: $R/acme/static:1}]
    on_base_update: [rebase]   # no build: new base layers + its own layer
notify:
  - name: journal
    type: exec
    command: "cat >> $work/notifications.jsonl; echo >> $work/notifications.jsonl"
builders:
  default:
    type: exec
    command: $py $root/scripts/demo-build.py --port $port --image {image} --repo {repo} --dockerfile {dockerfile}
YAML
S() { run "$strata" -c "$work/strata.yaml" "$@"; }

step "the images as CI built them on the old base"
for spec in "$R/platform/python-runtime:3.12 runtime" "$R/acme/payments:1 payments" "$R/acme/web:1 web" "$R/acme/api:1 api" "$R/acme/static:1 static"; do
  set -- $spec
  $py scripts/demo-build.py --port "$port" --image "$1" --repo "$work/git/$2.git"
done

S config check && echo "config ok"

step "first cycle: scan the repositories, record every base (first sightings)"
S run --once

step "the graph strata learnt from the Dockerfiles and the images' base annotations"
S graph show
S graph impacted "$R/library/debian:12-slim"

step "the base moves: a new debian:12-slim is pushed"
base_v2=$(seed '{"name": "library/debian", "tag": "12-slim", "created": "2026-02-01T00:00:00Z",
  "layers": [{"files": {"etc/os-release": "ID=debian\nVERSION_ID=12\nPATCH=2\n"}}]}')
echo "base $R/library/debian:12-slim = $base_v2"
S plan

step "second cycle: the update is seen, planned in waves and acted on"
S run --once

step "events and jobs"
S events
S jobs

step "the pinned branches (pull requests on a plain git remote)"
for r in runtime payments web api; do
  run git --git-dir "$work/git/$r.git" log --oneline -1 strata/pin-debian-12-slim
  run git --git-dir "$work/git/$r.git" diff main strata/pin-debian-12-slim
done

step "the rebuilt images now descend from the new base"
run "$strata" digest "$R/platform/python-runtime:3.12"
run "$strata" digest "$R/acme/payments:1"
echo "the rebased static image's layers: the new base's, then its own"
$py - "$R" <<'PY'
import json, sys, urllib.request
host = sys.argv[1]
def get(path):
    req = urllib.request.Request("http://%s/v2/%s" % (host, path), headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    return json.load(urllib.request.urlopen(req))
base = [l["digest"][:19] for l in get("library/debian/manifests/12-slim")["layers"]]
app = get("acme/static/manifests/1")
print("  debian:12-slim layers:", base)
print("  acme/static:1 layers: ", [l["digest"][:19] for l in app["layers"]])
print("  base annotation:      ", app.get("annotations", {}).get("org.opencontainers.image.base.digest", "")[:19])
PY

step "notifications delivered through the outbox (an exec sink appending JSON lines)"
$py -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l:
        e = json.loads(l)
        print("%-18s %s" % (e["type"], e.get("image") or e.get("base") or e.get("repo")))' "$work/notifications.jsonl"

step "third cycle: nothing moved, nothing to do (no job runs twice)"
S run --once

step "stale-base report (built-on digests from the images' base annotations)"
S report stale --format table || true
echo
echo "demo finished: base update -> pinned branches -> rebuilds in wave order -> report"
