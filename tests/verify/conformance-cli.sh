#!/bin/sh
# conformance-cli.sh STRATA - runs every Sigstore client conformance case in
# tests/verify/conformance/bundle-verify through `strata verify bundle`, as
# the conformance suite runs a client: a case whose name ends in _fail must
# exit 1, every other must exit 0. TAP output; ends with
# "N passed, N failed".
set -u
strata=$1
dir=$(cd "$(dirname "$0")/conformance" && pwd)
n=0
pass=0
fail=0
total=$(ls -d "$dir"/bundle-verify/*/ | wc -l)
echo "1..$total"
for case in "$dir"/bundle-verify/*/; do
    name=$(basename "$case")
    n=$((n + 1))
    artifact=$dir/a.txt
    [ -f "$case/artifact" ] && artifact=$case/artifact
    root=$dir/trusted_root.production.json
    [ -f "$case/trusted_root.json" ] && root=$case/trusted_root.json
    if [ -f "$case/key.pub" ]; then
        set -- --key "$case/key.pub" --trusted-root "$root"
    else
        identity=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
        issuer=https://token.actions.githubusercontent.com
        [ -f "$case/identity" ] && identity=$(cat "$case/identity")
        [ -f "$case/issuer" ] && issuer=$(cat "$case/issuer")
        set -- --trusted-root "$root" --identity "$identity" --issuer "$issuer"
    fi
    out=$("$strata" verify bundle "$case/bundle.sigstore.json" "$artifact" "$@" 2>&1)
    rc=$?
    case "$name" in
    *_fail) want=1 ;;
    *) want=0 ;;
    esac
    if [ "$rc" -eq "$want" ]; then
        pass=$((pass + 1))
        echo "ok $n - $name"
    else
        fail=$((fail + 1))
        echo "not ok $n - $name (exit $rc, want $want): $out"
    fi
done
echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
