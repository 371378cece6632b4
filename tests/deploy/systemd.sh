#!/usr/bin/env bash
# systemd.sh - TAP: deploy/systemd/strata.service is a unit systemd
# accepts (`systemd-analyze verify`, its man: links resolved against the
# pages the build made) whose sandbox `systemd-analyze security
# --offline=true` scores OK or better, with every setting the unit
# promises, and its ExecStart and configuration work with this strata.
# env: STRATA_EXE, DOCS_BUILD (the build's docs/), SRC (the source root).
set -u
exe=${STRATA_EXE:?}
build=${DOCS_BUILD:?}
src=${SRC:?}
unit=$src/deploy/systemd/strata.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi; }

if ! command -v systemd-analyze >/dev/null; then
    echo "1..0 # SKIP systemd-analyze is not installed (Debian package systemd)"
    exit 0
fi

# The unit as installed, but running the binary just built (verify
# checks that ExecStart's program exists).
mkdir -p "$tmp/man/man1" "$tmp/man/man5"
ln -s "$build"/*.1 "$tmp/man/man1/"
ln -s "$build"/*.5 "$tmp/man/man5/"
sed "s|/usr/bin/strata|$exe|" "$unit" >"$tmp/strata.service"
MANPATH=$tmp/man systemd-analyze verify "$tmp/strata.service" >"$tmp/verify" 2>&1
rc=$?
[ $rc = 0 ] && [ ! -s "$tmp/verify" ]
check $? "systemd-analyze verify accepts the unit, its man: pages found, without a message"
sed 's/^/#   /' "$tmp/verify"
# Without the pages, verify fails: the Documentation= links are checked.
MANPATH=$tmp/none systemd-analyze verify "$tmp/strata.service" >/dev/null 2>&1
[ $? != 0 ]
check $? "systemd-analyze verify refuses the unit when its man pages are missing"

systemd-analyze security --offline=true "$tmp/strata.service" >"$tmp/security" 2>&1
line=$(grep 'Overall exposure level' "$tmp/security")
echo "# $line"
score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
case ${score#* } in
OK | SAFE | PERFECT) ok "systemd-analyze security scores it ${score} (OK or better)" ;;
*) nok "systemd-analyze security scores it '${score}', not OK or better" ;;
esac
grep '✗' "$tmp/security" | sed 's/  */ /g; s/^/#   /'

# Every setting the unit promises, as written.
want=(
    'DynamicUser=yes' 'StateDirectory=strata' 'ConfigurationDirectory=strata'
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes'
    'PrivateTmp=yes' 'CapabilityBoundingSet=' 'AmbientCapabilities='
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'
    'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'
    'ExecReload=/bin/kill -HUP $MAINPID' 'StandardError=journal'
)
missing=
for w in "${want[@]}"; do
    grep -qxF -- "$w" "$unit" || missing="$missing '$w'"
done
[ -z "$missing" ]
check $? "the unit sets ${#want[@]} promised settings${missing:+ (missing:$missing)}"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
case $exec_start in
"/usr/bin/strata --log-format json -c /etc/strata/strata.yaml run") ok "ExecStart runs the daemon with JSON logs" ;;
*) nok "ExecStart is '$exec_start'" ;;
esac

# The ExecStart line parses with this strata, and the configuration it
# names (deploy/systemd/strata.yaml) is valid and keeps its state in the
# unit's StateDirectory.
read -ra argv <<<"${exec_start/\/etc\/strata\/strata.yaml/$src/deploy/systemd/strata.yaml}"
"$exe" "${argv[@]:1}" --help >/dev/null
check $? "ExecStart's options parse (strata ... run --help)"
"$exe" -c "$src/deploy/systemd/strata.yaml" config check
check $? "deploy/systemd/strata.yaml passes config check"
grep -qx 'state: /var/lib/strata/strata.db' "$src/deploy/systemd/strata.yaml"
check $? "deploy/systemd/strata.yaml keeps the state in /var/lib/strata"

echo "1..$n"
[ "$bad" = 0 ]
