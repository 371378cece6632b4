#!/bin/sh
# conformance-sigstore-cli.sh SIGSTORE TUF_DIR [prepare NODE_PATH] - the
# Sigstore client conformance cases (tests/verify/conformance) through
# @sigstore/cli's `sigstore verify`, the peer bench/verify.sh times
# `strata verify bundle` against, offline.
#
#   conformance-sigstore-cli.sh SIGSTORE TUF_DIR prepare NODE_PATH
#       writes, for each trusted root the cases use, a TUF repository in
#       sigstore-js's cache layout under TUF_DIR/<sha256 of the root>
#       (sigstore-js/tuf-offline.js): the CLI takes its trusted root only
#       from TUF, and with --tuf-force-cache reads it from there.
#   conformance-sigstore-cli.sh SIGSTORE TUF_DIR
#       runs every case, one process each, as conformance-cli.sh runs
#       strata: `_fail` cases must fail, the others verify. TAP; ends with
#       "# N agreed, N disagreed". @sigstore/cli has no key flag: the
#       cases with a key.pub are run keyless and disagree when they should
#       pass.
set -u
sig=$1
tuf=$2
dir=$(cd "$(dirname "$0")/conformance" && pwd)
mirror=http://tuf.strata.invalid
root_of() { # CASE: its trusted root
    if [ -f "$1/trusted_root.json" ]; then echo "$1/trusted_root.json"; else
        echo "$dir/trusted_root.production.json"; fi
}
if [ "${3:-}" = prepare ]; then
    for case in "$dir"/bundle-verify/*/; do
        r=$(root_of "$case")
        h=$(sha256sum "$r" | cut -c1-16)
        [ -d "$tuf/$h" ] && continue
        NODE_PATH=$4 node "$(dirname "$0")/sigstore-js/tuf-offline.js" \
            "$r" "$tuf/$h" "$mirror" || exit 2
    done
    exit 0
fi
n=0
agreed=0
disagreed=0
total=$(ls -d "$dir"/bundle-verify/*/ | wc -l)
echo "1..$total"
for case in "$dir"/bundle-verify/*/; do
    name=$(basename "$case")
    n=$((n + 1))
    artifact=$dir/a.txt
    [ -f "$case/artifact" ] && artifact=$case/artifact
    h=$(sha256sum "$(root_of "$case")" | cut -c1-16)
    identity=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
    issuer=https://token.actions.githubusercontent.com
    [ -f "$case/identity" ] && identity=$(cat "$case/identity")
    [ -f "$case/issuer" ] && issuer=$(cat "$case/issuer")
    case "$identity" in
    *@*://* | *://*) idflag=--certificate-identity-uri ;;
    *) idflag=--certificate-identity-email ;;
    esac
    "$sig" verify "$case/bundle.sigstore.json" --blob-file "$artifact" \
        --tuf-mirror-url "$mirror" --tuf-cache-path "$tuf/$h" \
        --tuf-root-path "$tuf/$h/root.json" --tuf-force-cache \
        "$idflag" "$identity" --certificate-issuer "$issuer" >/dev/null 2>&1
    rc=$?
    case "$name" in
    *_fail) ok=$([ "$rc" -ne 0 ] && echo 1 || echo 0) ;;
    *) ok=$([ "$rc" -eq 0 ] && echo 1 || echo 0) ;;
    esac
    if [ "$ok" = 1 ]; then
        agreed=$((agreed + 1))
        echo "ok $n - $name"
    else
        disagreed=$((disagreed + 1))
        echo "not ok $n - $name (exit $rc)"
    fi
done
echo "# $agreed agreed, $disagreed disagreed"
