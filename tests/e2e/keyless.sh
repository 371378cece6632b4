#!/usr/bin/env bash
# keyless.sh - TAP: interoperability of keyless image signatures. An
# independent producer, sigstore-js (@sigstore/sign against
# @sigstore/mock's Fulcio, Rekor and timestamp authority, with their own
# trusted root: tests/verify/sigstore-js/make-bundles.js), signs image
# manifests pushed to the real registry; tests/registry/sign.py attaches
# the bundles as referrers (the referrers tag schema: Debian's
# docker-registry has no referrers API), as cosign v3 does:
#   - `strata verify REF --trusted-root --identity --issuer` verifies the
#     message-signature bundle; another identity or issuer does not;
#   - the gate (`strata watch --once`, a keyless policy) verifies the first
#     digest, quarantines an unsigned one, and verifies a digest signed
#     with a cosign-v3-style DSSE bundle.
# The npm packages (pinned in tests/verify/sigstore-js/package-lock.json)
# are installed with `npm ci` into the build directory; without node and
# npm, or without the npm registry, the test skips.
. "$(dirname "$0")/lib.sh"
need docker-registry curl node npm
js_src="$src/tests/verify/sigstore-js"
js=$(cd "$(dirname "$strata")/.." && pwd)/tests/e2e-sigstore-js
if ! [ -f "$js/node_modules/@sigstore/sign/package.json" ] ||
    ! cmp -s "$js_src/package-lock.json" "$js/package-lock.json"; then
    mkdir -p "$js" && cp "$js_src/package.json" "$js_src/package-lock.json" "$js/" &&
        (cd "$js" && timeout 300 npm ci --no-audit --no-fund --loglevel=error \
            >npm.log 2>&1) ||
        skip_all "npm ci of sigstore-js failed (no registry?); see $js/npm.log"
fi

start_registry || {
    nok "registry started"
    finish
}
BASE=$R/library/debian:12-slim
manifest() { # DIGEST FILE: the manifest's exact bytes
    curl -fsS -o "$2" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://127.0.0.1:$port/v2/library/debian/manifests/$1"
}
d1=$(push_base v1)
# v3's image, pushed under another tag first: signed before it is tagged.
d3=$(seed library/debian staging v3)
manifest "$d1" "$work/m1.json" && manifest "$d3" "$work/m3.json" || {
    nok "manifests read back"
    finish
}
out=$work/bundles
NODE_PATH="$js/node_modules" node "$js_src/make-bundles.js" "$out" \
    "v1=$work/m1.json" "v3=$work/m3.json" >"$work/make.log" 2>&1
check "sigstore-js made keyless bundles over the two manifests" \
    test -s "$out/v1.sigstore.json" -a -s "$out/v3-dsse.sigstore.json"
identity=$(cat "$out/identity")
issuer=$(cat "$out/issuer")
attach() { # DIGEST BUNDLE
    $py "$src/tests/registry/sign.py" --port "$port" bundle library/debian \
        "$1" --bundle "$2" >/dev/null
}
attach "$d1" "$out/v1.sigstore.json"
attach "$d3" "$out/v3-dsse.sigstore.json"

# ---- strata verify -----------------------------------------------------------
keyless() { # REF IDENTITY ISSUER [--format json]
    local ref=$1 id=$2 iss=$3
    shift 3
    "$strata" verify "$ref" --trusted-root "$out/trusted_root.json" \
        --identity "$id" --issuer "$iss" "$@"
}
res=$(keyless "$BASE" "$identity" "$issuer" --format json)
is "$?" 0 "strata verify: sigstore-js's keyless bundle, attached as a referrer, verifies"
is "$(jpy "[e['kind'] for e in d['result']['entries'] if e['verified']]" <<<"$res")" \
    '["bundle"]' "it is the bundle that verified"
is "$(jpy "[e['subject'] for e in d['result']['entries'] if e['verified']][0]" <<<"$res")" \
    "$identity" "with the certificate's identity"
check "and a transparency-log index" test "$(jpy "[e['log_index'] for e in d['result']['entries'] if e['verified']][0]" <<<"$res")" -ge 0
res=$(keyless "$BASE" "https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main" "$issuer")
is "$?" 1 "another identity: not verified (exit 1)"
check "saying the identity does not match" grep -q 'does not match' <<<"$res"
keyless "$BASE" "$identity" https://accounts.example.com >/dev/null
is "$?" 1 "another issuer: not verified"
keyless "$R/library/debian@$d3" "$identity" "$issuer" >/dev/null
is "$?" 0 "the cosign-v3-style DSSE bundle of v3 verifies too"

# ---- the gate: a keyless policy in watch --once ------------------------------
cat >"$work/strata.yaml" <<YAML
state: $work/strata.db
watch:
  interval: 1h
  bases:
    - ref: $BASE
      verify:
        keyless:
          trusted_root: $out/trusted_root.json
          identities: [{issuer: "$issuer", subject: "$identity"}]
        wait: 0s
YAML
cp "$work/strata.yaml" "$work/cli.yaml"
check "config check loads the trusted root" S config check
watch_once() { S watch --once 2>>"$work/watch.err"; }
is "$(watch_once | jpy "d['verify']")" verified "the first digest verifies through the gate"
d2=$(push_base v2)
is "$(watch_once | jpy "d['verify']")" quarantined "an unsigned new digest is quarantined"
is "$(seed library/debian 12-slim v3)" "$d3" "v3 tagged (the digest signed before)"
is "$(watch_once | jpy "d['verify']")" verified "v3, signed keyless with a DSSE bundle, verifies"
is "$(S events --type base.verified --format json | jpy "[e['payload']['verified_by'][0]['subject'] for e in d]")" \
    "[\"$identity\", \"$identity\"]" "base.verified names the keyless identity"
finish
