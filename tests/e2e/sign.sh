#!/usr/bin/env bash
# sign.sh - TAP: strata signs what it makes, end to end, with `strata run
# --once` against the real registry and keys made with openssl:
#   - with `signing: {key: FILE}` a rebase job's new digest gets a cosign
#     signature (sha256-<hex>.sig) that `strata verify REF --key PUB`
#     accepts and that the openssl CLI verifies over the payload layer, and
#     a SLSA provenance v1 attestation (a DSSE envelope, attached through
#     the referrers tag schema: the registry has no referrers API) that
#     `strata verify --attestation https://slsa.dev/provenance/v1` accepts,
#     naming builder strata and the old and new base digests among its
#     resolved dependencies; openssl verifies the envelope's signature over
#     its PAE;
#   - another key does not verify it;
#   - without a key the job's result says the output is unsigned;
#   - `strata rebase --sign-key` run twice keeps one signature layer, a
#     second key's is added beside it, a bad key pushes nothing;
#   - `config check` refuses an unusable key at its FILE:LINE:COL, and the
#     key's bytes appear in no output or log;
#   - builders[].verify: a rebuild whose builder pushes an unsigned image
#     fails once the wait is over (rebuild.failed, with the reason); one
#     whose builder signs what it pushes succeeds.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl openssl
sign_py="$src/tests/registry/sign.py"

make_world || {
    nok "world set up"
    finish
}
(cd "$work" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out k.pem 2>/dev/null && openssl pkey -in k.pem -pubout -out k.pub &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out other.pem 2>/dev/null &&
    openssl pkey -in other.pem -pubout -out other.pub &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -aes-256-cbc -pass pass:secret -out enc.pem 2>/dev/null) || {
    nok "keys made with openssl"
    finish
}
once() { S run --once >>"$work/once.log" 2>&1; }
# reg PATH [ACCEPT]: a GET from the registry, the body on stdout.
reg() {
    curl -fsS -H "Accept: ${2:-application/vnd.oci.image.manifest.v1+json}" \
        "http://127.0.0.1:$port$1"
}
# job_field IMAGE BASE-DIGEST FIELD: a field of that job's result.
job_field() {
    jobs_json | jpy "[j['result'].get('$3') for j in d if j['image'] == '$1' and j['base_digest'] == '$2'][0]"
}

# ---- config check refuses an unusable key ----------------------------------
EXTRA_YAML="signing: {key: $work/enc.pem}" write_config 1h "[rebase]"
out=$("$strata" -c "$work/strata.yaml" config check 2>&1)
is "$?" 2 "config check refuses an encrypted signing key (exit 2)"
check "at its FILE:LINE:COL, naming the file" \
    grep -q "^$work/strata.yaml:[0-9]*:[0-9]*: .*enc.pem.*encrypted" <<<"$out"
EXTRA_YAML="signing: {key: $work/k.pub}" write_config 1h "[rebase]"
out=$("$strata" -c "$work/strata.yaml" config check 2>&1)
is "$?" 2 "config check refuses a public key as signing key"
check "saying it holds no private key" grep -q 'no PEM private key' <<<"$out"

# ---- a rebase with a key: signed, with its provenance ----------------------
EXTRA_YAML="signing: {key: $work/k.pem}" write_config 1h "[rebase]"
check "config check accepts the key" S config check
once
v2=$(push_base v2)
once
is "$(count_jobs succeeded)" 3 "v2: three rebase jobs succeeded (runtime, web, app)"
web_digest=$(job_field "$WEB" "$v2" digest)
is "$(job_field "$WEB" "$v2" signed)" True "the web job's result says signed"
check "and names the key's fingerprint" grep -q '^sha256:' <<<"$(job_field "$WEB" "$v2" key)"
out=$(S verify "$WEB" --key "$work/k.pub" --format json)
is "$?" 0 "strata verify WEB --key k.pub accepts the rebased digest"
is "$(jpy "d['digest']" <<<"$out")" "$web_digest" "the digest the tag points to"
out=$(S verify "$WEB" --key "$work/k.pub" --attestation https://slsa.dev/provenance/v1 --format json)
is "$?" 0 "its SLSA provenance attestation verifies (--attestation)"
check "found as a referrer" grep -q 'referrer sha256:' \
    <<<"$(jpy "[e['label'] for e in d['result']['entries'] if e['kind'] == 'attestation' and e['verified']]" <<<"$out")"
S verify "$WEB" --key "$work/other.pub" >/dev/null 2>&1
is "$?" 1 "another key does not verify it"
S verify "$APP" --key "$work/k.pub" --attestation https://slsa.dev/provenance/v1 >/dev/null 2>&1
is "$?" 0 "the app (rebased in wave 2 onto the rebased runtime) is signed too"

# Cross-check with the openssl CLI: the .sig layer's payload and signature.
hex=${web_digest#sha256:}
reg "/v2/acme/web/manifests/sha256-$hex.sig" >"$work/sig.json"
layer=$(jpy "d['layers'][-1]['digest']" <"$work/sig.json")
jpy "d['layers'][-1]['annotations']['dev.cosignproject.cosign/signature']" \
    <"$work/sig.json" | base64 -d >"$work/sig.bin"
reg "/v2/acme/web/blobs/$layer" >"$work/payload.json"
check "openssl verifies the cosign signature over the payload" \
    openssl dgst -sha256 -verify "$work/k.pub" -signature "$work/sig.bin" "$work/payload.json"
is "$(jpy "d['critical']['image']['docker-manifest-digest']" <"$work/payload.json")" \
    "$web_digest" "the payload names the new digest"
is "$(jpy "d['critical']['identity']['docker-reference']" <"$work/payload.json")" \
    "$R/acme/web" "and the image's repository"
is "$(jpy "d['critical']['type']" <"$work/payload.json")" \
    "cosign container image signature" "cosign's payload type"
is "$(jpy "d['layers'][-1]['mediaType']" <"$work/sig.json")" \
    "application/vnd.dev.cosign.simplesigning.v1+json" "the layer is a simple-signing payload"

# The provenance, through the referrers tag schema, as a client without
# the referrers API reads it.
reg "/v2/acme/web/manifests/sha256-$hex" application/vnd.oci.image.index.v1+json >"$work/idx.json"
ref=$(jpy "[m['digest'] for m in d['manifests'] if m.get('artifactType') == 'application/vnd.dsse.envelope.v1+json'][0]" <"$work/idx.json")
check "the tag schema index lists the attestation" grep -q '^sha256:' <<<"$ref"
reg "/v2/acme/web/manifests/$ref" >"$work/refm.json"
is "$(jpy "d['subject']['digest']" <"$work/refm.json")" "$web_digest" "whose subject is the new digest"
reg "/v2/acme/web/blobs/$(jpy "d['layers'][0]['digest']" <"$work/refm.json")" >"$work/env.json"
jpy "d['payload']" <"$work/env.json" | base64 -d >"$work/statement.json"
jpy "d['signatures'][0]['sig']" <"$work/env.json" | base64 -d >"$work/env.sig"
$py - "$work/env.json" "$work/pae.bin" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
p = base64.b64decode(e["payload"])
t = e["payloadType"].encode()
open(sys.argv[2], "wb").write(b"DSSEv1 %d %s %d %s" % (len(t), t, len(p), p))
PY
check "openssl verifies the DSSE signature over its PAE" \
    openssl dgst -sha256 -verify "$work/k.pub" -signature "$work/env.sig" "$work/pae.bin"
st="$work/statement.json"
is "$(jpy "d['predicateType']" <"$st")" https://slsa.dev/provenance/v1 "a SLSA provenance v1 statement"
is "$(jpy "d['subject'][0]['digest']['sha256']" <"$st")" "$hex" "about the new digest"
check "built by strata" grep -q strata <<<"$(jpy "d['predicate']['runDetails']['builder']['id']" <"$st")"
deps=$(jpy "sorted(x['digest']['sha256'] for x in d['predicate']['buildDefinition']['resolvedDependencies'])" <"$st")
is "$(jpy "len(d['predicate']['buildDefinition']['resolvedDependencies'])" <"$st")" 3 \
    "three resolved dependencies (old image, old base, new base)"
check "the old base digest is one" grep -q "${base_v1#sha256:}" <<<"$deps"
check "the new base digest is one" grep -q "${v2#sha256:}" <<<"$deps"
check "the job names the provenance it attached" \
    test "$(job_field "$WEB" "$v2" provenance)" = "$ref"
check "nothing in the logs holds the private key" bash -c \
    "! grep -q 'PRIVATE KEY' '$work/once.log' && ! grep -qF \"\$(sed -n 2p '$work/k.pem')\" '$work/once.log'"

# ---- without a key: the result says unsigned --------------------------------
write_config 1h "[rebase]"
v3=$(push_base v3)
once
is "$(count_jobs succeeded)" 6 "v3: three more rebases"
is "$(job_field "$WEB" "$v3" signed)" False "without a key the result says signed: false"
check "and that the output is unsigned" grep -q 'the output is unsigned' \
    <<<"$(job_field "$WEB" "$v3" unsigned)"
S verify "$WEB" --key "$work/k.pub" >/dev/null 2>&1
is "$?" 1 "strata verify of the unsigned output exits 1"

# ---- strata rebase --sign-key: run again, the signature is not doubled -------
cli_rebase() { # KEY
    "$strata" rebase "$WEB" --old-base "$R/library/debian@$v3" \
        --new-base "$R/library/debian@$v2" --tag cli-signed --sign-key "$1" 2>>"$work/cli.log"
}
d1=$(cli_rebase "$work/k.pem")
is "$?" 0 "strata rebase --sign-key"
d2=$(cli_rebase "$work/k.pem")
is "$d2" "$d1" "run again: the same digest"
sig_layers() {
    reg "/v2/acme/web/manifests/sha256-${d1#sha256:}.sig" | jpy "len(d['layers'])"
}
is "$(sig_layers)" 1 "and still one signature layer (it verified under the key already)"
cli_rebase "$work/other.pem" >/dev/null
is "$(sig_layers)" 2 "another key's signature is added beside it"
"$strata" verify "$R/acme/web:cli-signed" --key "$work/k.pub" >/dev/null 2>&1 &&
    "$strata" verify "$R/acme/web:cli-signed" --key "$work/other.pub" >/dev/null 2>&1
is "$?" 0 "both keys verify it"
"$strata" rebase "$WEB" --old-base "$R/library/debian@$v3" --new-base "$R/library/debian@$v2" \
    --tag cli-bad --sign-key "$work/enc.pem" >/dev/null 2>"$work/bad.err"
is "$?" 2 "an encrypted --sign-key is refused (exit 2)"
check "before anything is pushed" bash -c \
    "! curl -fsS -o /dev/null http://127.0.0.1:$port/v2/acme/web/manifests/cli-bad"

# ---- builders[].verify: a rebuild's output must be signed -------------------
write_config 1h "[rebuild]"
$py - "$work/strata.yaml" "verify: {keys: [$work/k.pub], wait: 3s}" <<'PY'
import sys
path, v = sys.argv[1:]
s = open(path).read().replace("    type: exec\n", "    type: exec\n    %s\n" % v)
open(path, "w").write(s)
PY
cp "$work/strata.yaml" "$work/cli.yaml"
check "config check accepts builders.default.verify" S config check
v4=$(push_base v4)
t0=$(date +%s)
once
t1=$(date +%s)
rebuilds() { # STATE BASE-DIGEST: that state's rebuild jobs of that base
    jobs_json | jpy "[j for j in d if j['action'] == 'rebuild' and j['state'] == '$1' and j['base_digest'] == '$2']"
}
rebuilds failed "$v4" >"$work/failed.json"
is "$(jpy 'len(d)' <"$work/failed.json")" 3 "unsigned rebuild outputs fail their jobs (3)"
check "after the wait (3s)" test $((t1 - t0)) -ge 3
check "with the reason" grep -q 'does not meet builders.default.verify: not verified' "$work/failed.json"
is "$(jpy "[j['result']['verify']['checks'] > 1 for j in d]" <"$work/failed.json")" \
    "[true, true, true]" "each looked again while it waited"
is "$(count_events rebuild.failed)" 3 "rebuild.failed recorded"

# A builder that signs what it pushes (with openssl, through sign.py).
cat >"$work/sign-build.sh" <<SH
#!/bin/sh
# IMAGE REPO DOCKERFILE: builds like CI, then signs what it pushed.
set -e
$py $src/scripts/demo-build.py --port $port --image "\$1" --repo "\$2" --dockerfile "\$3"
name=\${1#$R/}; repo=\${name%:*}; tag=\${name##*:}
digest=\$(curl -fsS -o /dev/null -w '%header{docker-content-digest}' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$port/v2/\$repo/manifests/\$tag")
$py $sign_py --port $port cosign "\$repo" "\$digest" --key $work/k.pem >/dev/null
SH
chmod +x "$work/sign-build.sh"
$py - "$work/strata.yaml" "$work/sign-build.sh" <<'PY'
import re, sys
path, script = sys.argv[1:]
s = open(path).read()
s = re.sub(r'    command: ".*"\n',
           '    command: "%s {image} {repo} {dockerfile}"\n' % script, s)
open(path, "w").write(s)
PY
cp "$work/strata.yaml" "$work/cli.yaml"
v5=$(push_base v5)
once
rebuilds succeeded "$v5" >"$work/ok.json"
is "$(jpy 'len(d)' <"$work/ok.json")" 3 "rebuilds whose builder signs its output succeed (3)"
check "each result says what verified it" grep -q 'verified by key sha256:' "$work/ok.json"
is "$(jpy "[j['result']['verify']['ok'] for j in d]" <"$work/ok.json")" \
    "[true, true, true]" "all three verified"
finish
