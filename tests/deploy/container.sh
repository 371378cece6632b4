#!/usr/bin/env bash
# container.sh - TAP: the Containerfile builds and runs. A Debian 12 base
# is made here with mmdebstrap (minbase, without docs: a slim Debian) and
# pushed to a local registry (Debian's docker-registry); buildah (vfs
# storage, chroot isolation, storage of its own under the work directory)
# builds the Containerfile from the source tree with that base in place
# of the pinned one; the image is checked (non-root user, entrypoint,
# volume, health check, no compiler, only runtime packages) and run:
# `strata --version`, then the daemon with the image's own configuration
# and its HEALTHCHECK command against /healthz, from inside.
# Slow (downloads Debian packages, compiles strata): suite 'package'.
# env: STRATA_EXE, E2E_SRC (the source root); DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
. "$(dirname "$0")/../e2e/lib.sh"
need buildah mmdebstrap docker-registry curl
[ "$(id -u)" = 0 ] || skip_all "needs root (mmdebstrap --mode=root, buildah vfs)"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
B=(buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs)

# Every FROM of the Containerfile is pinned by digest.
refs=$("$strata" dockerfile refs "$src/Containerfile")
unpinned=$(printf '%s\n' "$refs" | cut -f3 | grep -Ev '@sha256:[0-9a-f]{64}$')
[ -n "$refs" ] && [ -z "$unpinned" ]
check "every base of the Containerfile is pinned by digest" test $? = 0

start_registry || { nok "the local registry starts"; finish; }

# The base: Debian 12 minbase, like debian:12-slim (no docs, man pages or
# locales), as one layer.
if ! mmdebstrap --variant=minbase --mode=root --format=tar \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    bookworm "$work/base.tar" "$mirror" >"$work/mmdebstrap.log" 2>&1; then
    tail -5 "$work/mmdebstrap.log" | sed 's/^/# /'
    nok "mmdebstrap makes a Debian 12 base from $mirror"
    finish
fi
ok "mmdebstrap makes a Debian 12 base ($(($(stat -c %s "$work/base.tar") / 1048576)) MiB)"
ctr=$("${B[@]}" from scratch) &&
    "${B[@]}" add "$ctr" "$work/base.tar" / >/dev/null &&
    "${B[@]}" config --cmd /bin/bash "$ctr" &&
    "${B[@]}" commit -q --format docker "$ctr" debian-base >/dev/null &&
    "${B[@]}" push -q --tls-verify=false --digestfile "$work/base.digest" \
        debian-base "docker://$R/library/debian:12-slim"
check "the base is pushed to the local registry" test -s "$work/base.digest"
base=$R/library/debian:12-slim@$(cat "$work/base.digest")

# The build, from the source tree, with the local base.
start=$(date +%s)
if "${B[@]}" bud --isolation chroot --format docker --tls-verify=false \
    --build-arg "DEBIAN=$base" -f "$src/Containerfile" -t strata-test \
    "$src" >"$work/build.log" 2>&1; then
    ok "the Containerfile builds ($(($(date +%s) - start)) s)"
else
    tail -20 "$work/build.log" | sed 's/^/# /'
    nok "the Containerfile builds"
    finish
fi

cfg=$("${B[@]}" inspect --type image strata-test | jpy 'd["Docker"]["config"]')
is "$(jpy 'd["User"]' <<<"$cfg")" strata "the image runs as the user strata"
is "$(jpy 'd["Entrypoint"]' <<<"$cfg")" '["/usr/bin/strata"]' "the entrypoint is strata"
is "$(jpy 'd["Cmd"][-1]' <<<"$cfg")" run "the command is run"
is "$(jpy 'sorted(d["Volumes"])' <<<"$cfg")" '["/var/lib/strata"]' "the state is a volume"
hc=$(jpy 'd["Healthcheck"]["Test"][1] if d["Healthcheck"]["Test"][0] == "CMD-SHELL" else ""' <<<"$cfg")
case $hc in *"/healthz"*) ok "the health check asks /healthz: $hc" ;;
*) nok "the health check asks /healthz" "got: $hc" ;; esac
echo "# $("${B[@]}" images --format '{{.Name}} {{.Size}}' | tr '\n' ' ')"

ctr=$("${B[@]}" from strata-test)
run_in() { "${B[@]}" run --isolation chroot "$@"; }
is "$(run_in "$ctr" -- /usr/bin/strata --version)" "strata $("$strata" --version | cut -d' ' -f2)" \
    "strata --version inside the image"
is "$(run_in "$ctr" -- id -u)" 10001 "commands run as uid 10001, not root"
dev=$(run_in "$ctr" -- sh -c 'command -v cc gcc meson; dpkg-query -W -f "\${Package}\n" | grep -- "-dev$"')
is "$dev" "" "no compiler, meson or -dev package in the image"
missing=$(run_in "$ctr" -- sh -c 'ldd /usr/bin/strata | grep "not found"')
is "$missing" "" "every library strata links is in the image"

# The daemon with the image's configuration, and the image's own health
# check from inside. chroot isolation shares the host's network: a free
# port of this machine's, through STRATA_PORT, which the configuration
# and the health check both read.
hport=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$(run_in --env STRATA_API_TOKEN=test-token --env "STRATA_PORT=$hport" "$ctr" -- sh -c '
    /usr/bin/strata --log-format json -c /etc/strata/strata.yaml run \
        >/tmp/daemon.log 2>&1 &
    pid=$!
    i=0
    until sh -c "$1" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -ge 150 ] || ! kill -0 $pid 2>/dev/null; then
            echo "no health"; tail -5 /tmp/daemon.log; kill $pid; exit 1
        fi
        sleep 0.2
    done
    echo healthy
    curl -s -o /dev/null -w "readyz %{http_code}\n" "http://127.0.0.1:$STRATA_PORT/readyz"
    curl -s -o /dev/null -w "jobs %{http_code}\n" "http://127.0.0.1:$STRATA_PORT/api/v1/jobs"
    curl -s -o /dev/null -w "jobs with token %{http_code}\n" \
        -H "Authorization: Bearer $STRATA_API_TOKEN" "http://127.0.0.1:$STRATA_PORT/api/v1/jobs"
    kill -TERM $pid
    wait $pid
    echo "exit $?"
    ls -n /var/lib/strata/strata.db | awk "{ print \"state owner\", \$3 }"
' sh "$hc" 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
case $out in *healthy*) ok "the daemon answers the image's health check (/healthz) inside" ;;
*) nok "the daemon answers the image's health check (/healthz) inside" ;; esac
case $out in *"jobs 401"*"jobs with token 200"*) ok "the API needs the token from the environment" ;;
*) nok "the API needs the token from the environment" ;; esac
case $out in *"exit 0"*) ok "SIGTERM stops the daemon cleanly" ;;
*) nok "SIGTERM stops the daemon cleanly" ;; esac
case $out in *"state owner 10001"*) ok "the state is written in the volume by uid 10001" ;;
*) nok "the state is written in the volume by uid 10001" ;; esac
if [ "${KEEP:-0}" != 1 ]; then
    "${B[@]}" rm -a >/dev/null 2>&1
    "${B[@]}" rmi -a -f >/dev/null 2>&1
fi
finish
