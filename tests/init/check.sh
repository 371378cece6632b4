#!/usr/bin/env bash
# check.sh - TAP: `strata init PATH` on a small git checkout (Dockerfiles
# with stages, an ARG default, COPY --from and a digest; a compose file
# with a built service; a Kubernetes Deployment with an init container; a
# Helm template; an ARG without a value) writes a strata.yaml
# and a catalog.yaml that pass `strata config check` and `strata catalog
# list` as written, with exactly the bases named, each commented with
# where it was found, and the checkout's origin as the repository; it
# never replaces a file without --force, writes nothing when it refuses,
# and writes the same bytes twice.
# env: STRATA_EXE.
set -u
S=${STRATA_EXE:?}
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi; }
is() { if [ "$1" = "$2" ]; then ok "$3"; else nok "$3"; echo "#   got:  $1"; echo "#   want: $2"; fi; }
command -v git >/dev/null || { echo "1..0 # SKIP git is not installed"; exit 0; }

repo=$tmp/app
mkdir -p "$repo/deploy" "$repo/charts/app/templates" "$repo/tools"
cat >"$repo/Dockerfile" <<'DF'
ARG BASE=debian:12-slim
FROM golang:1.22 AS build
RUN go build ./...
FROM ${BASE}
COPY --from=build /out /app
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /bin/
FROM $BASE AS debug
DF
cat >"$repo/tools/Containerfile" <<'DF'
FROM gcr.io/distroless/static-debian12:nonroot@sha256:0000000000000000000000000000000000000000000000000000000000000000
ARG TOOL
FROM alpine:${TOOL}
DF
cat >"$repo/compose.yaml" <<'YML'
services:
  web:
    image: nginx:1.25
  app:
    build: .
    image: registry.example.com/acme/app:dev
YML
cat >"$repo/deploy/app.yaml" <<'YML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: app
          image: ghcr.io/acme/sidecar:2
YML
cat >"$repo/charts/app/templates/deployment.yaml" <<'YML'
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - image: {{ .Values.image }}
YML
git -C "$repo" init -q -b main
git -C "$repo" remote add origin https://git.example.com/acme/app.git

out=$tmp/out
mkdir -p "$out"
"$S" -c "$out/strata.yaml" init "$repo" >"$tmp/stdout" 2>"$tmp/stderr"
is "$?" 0 "strata init exits 0"
check "$([ -f "$out/strata.yaml" ] && [ -f "$out/catalog.yaml" ]; echo $?)" \
    "it writes strata.yaml and catalog.yaml next to it"
sed 's/^/#   /' "$tmp/stdout" "$tmp/stderr"
"$S" -c "$out/strata.yaml" config check 2>"$tmp/check"
is "$?" 0 "strata config check passes on the configuration as written"
sed 's/^/#   /' "$tmp/check"

want='docker.io/library/alpine:latest?
docker.io/library/busybox:1.36
docker.io/library/debian:12-slim
docker.io/library/golang:1.22
docker.io/library/nginx:1.25
gcr.io/distroless/static-debian12:nonroot
ghcr.io/acme/sidecar:2'
want=$(printf '%s\n' "$want" | grep -v '?$')
got=$($py -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
print("\n".join(b["ref"] for b in d["watch"]["bases"]))' "$out/strata.yaml")
is "$got" "$want" "watch.bases: every base named, canonical, without digests, sorted (no stage, no variable, no built image)"
got=$("$S" -c "$out/strata.yaml" catalog list --format json | $py -c '
import json, sys
print("\n".join(e["ref"] for e in json.load(sys.stdin)))' 2>&1)
is "$got" "$want" "catalog.yaml loads (catalog list) and lists the same bases as golden"
grep -q '^    # found in Dockerfile:1$' "$out/strata.yaml"
check $? "a base's comment says where it is written (the ARG default, once for two stages)"
grep -q '^    # found in Dockerfile:6, deploy/app.yaml:10$' "$out/strata.yaml"
check $? "a base named in two files lists both places"
grep -q "^#   tools/Containerfile:3: invalid reference 'alpine:'" "$out/strata.yaml"
check $? "a reference from an ARG without a value is listed as left out"
grep -q '^#   charts/app/templates/deployment.yaml:7: image is not a string' "$out/strata.yaml"
check $? "so is a Helm template's {{ .Values.image }}"
grep -q "some references were left out (listed at the top of $out/strata.yaml)" "$tmp/stderr"
check $? "and stderr says so"
repo_got=$($py -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
r = d["repos"]
print(len(r), r[0]["url"], r[0]["branch"], r[0]["on_base_update"])' "$out/strata.yaml")
is "$repo_got" "1 https://git.example.com/acme/app.git main ['pr']" \
    "the checkout's origin and branch become the repository"

# Never replaced without --force; nothing written when refused.
sum=$(cat "$out"/*.yaml | sha256sum)
"$S" -c "$out/strata.yaml" init "$repo" >/dev/null 2>"$tmp/err"
rc=$?
is "$rc $(cat "$tmp/err")" "1 strata: '$out/strata.yaml' exists (--force replaces it)" \
    "a second init refuses, naming the file, exit 1"
is "$(cat "$out"/*.yaml | sha256sum)" "$sum" "and changes nothing"
mkdir -p "$tmp/only-catalog"
echo "bases: []" >"$tmp/only-catalog/catalog.yaml"
"$S" -c "$tmp/only-catalog/strata.yaml" init "$repo" >/dev/null 2>&1
is "$?" 1 "an existing catalog.yaml alone is refused too"
check "$([ ! -e "$tmp/only-catalog/strata.yaml" ]; echo $?)" "and no configuration is written beside it"
"$S" -c "$out/strata.yaml" init --force "$repo" >/dev/null 2>&1
is "$?" 0 "--force replaces both"
is "$(cat "$out"/*.yaml | sha256sum)" "$sum" "the same checkout gives the same bytes"

# A directory that is no git checkout, with nothing in it.
mkdir -p "$tmp/empty" "$tmp/out2"
(cd "$tmp/out2" && "$S" init "$tmp/empty" >/dev/null 2>&1)
is "$?" 0 "init of an empty directory, into the current directory"
(cd "$tmp/out2" && "$S" config check)
is "$?" 0 "its configuration (no bases, no repository) passes config check"
grep -q '^repos: \[\]$' "$tmp/out2/strata.yaml"
check $? "a directory that is not a git checkout gives no repository"
"$S" -c "$tmp/out3/strata.yaml" init "$tmp/nope" >/dev/null 2>"$tmp/err"
is "$?" 2 "a PATH that does not exist exits 2"
grep -q "cannot open '$tmp/nope'" "$tmp/err"
check $? "naming it"

echo "1..$n"
[ "$bad" = 0 ]
