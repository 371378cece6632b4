#!/usr/bin/env bash
# trust-hooks.sh - TAP: the verification gate over HTTP, with the daemon
# (`strata run`) polling only once an hour, so whatever moves here moved
# because of a request:
#   - a registry webhook for the base's tag: the new, unsigned digest is
#     awaiting its signature, nothing planned;
#   - a registry webhook for its signature's tag (cosign's
#     sha256-<hex>.sig, pushed by tests/registry/sign.py): the awaiting
#     digest is checked again at once, verifies, and is planned;
#   - POST /api/v1/bases/approve {ref, digest} approves the update, never
#     the signature (the gate still holds);
#   - POST /api/v1/bases/approve {ref, digest, unsigned: true}: refused
#     without the API token (401), with a bad body (400), for another
#     digest (409), for a base without a verdict (404); with the token it
#     overrides the gate, records base.unsigned_approved with approver
#     "api token", and the digest is planned at once; a second approval is
#     409.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl openssl
sign_py="$src/tests/registry/sign.py"

make_world || {
    nok "world set up"
    finish
}
(cd "$work" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out k.pem 2>/dev/null && openssl pkey -in k.pem -pubout -out k.pub) || {
    nok "a key made with openssl"
    finish
}
API_TOKEN=api-t0ken-s3cret
EXTRA_YAML='api:
  listen: "127.0.0.1:0"
  token: "api-t0ken-s3cret"
  webhooks:
    - {name: reg, kind: distribution, secret: "s3cret-hook-token"}
scan: {interval: 1h}' \
    write_config 1h "[pr]"
$py - "$work/strata.yaml" "$work/k.pub" <<'PY'
import sys
path, key = sys.argv[1:]
s = open(path).read().replace(
    "  bases:\n", "  verify: {keys: [%s], wait: 10m}\n  bases:\n" % key, 1)
open(path, "w").write(s)
PY
cp "$work/strata.yaml" "$work/cli.yaml"
check "config check" S config check
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up, polling once an hour"

hook() { # DIGEST TAG: a distribution notification of a push
    printf '{"events": [{"id": "e1", "timestamp": "2026-11-26T14:12:02Z",
      "action": "push", "target": {"mediaType":
      "application/vnd.oci.image.manifest.v1+json", "size": 500,
      "digest": "%s", "repository": "library/debian",
      "url": "http://%s/v2/library/debian/manifests/%s", "tag": "%s"},
      "request": {"id": "r1", "addr": "127.0.0.1:1", "host": "%s",
      "method": "PUT", "useragent": "test"}, "actor": {},
      "source": {"addr": "registry-0:5000", "instanceID": "i"}}]}' \
        "$1" "$R" "$1" "$2" "$R" |
        curl -sS -o "$work/hook.out" -w '%{http_code}' -X POST \
            -H 'Content-Type: application/vnd.docker.distribution.events.v1+json' \
            -H 'Authorization: Bearer s3cret-hook-token' --data-binary @- \
            "$api/hooks/registry/reg"
}
gate_state() { # DIGEST: the base's gate state of DIGEST (the API)
    acurl -fsS "$api/api/v1/bases" |
        jpy "[b['verify']['state'] for b in d['items'] if b['ref'] == '$BASE' and b.get('verify', {}).get('digest') == '$1'] or [None]" |
        jpy 'd[0]'
}
state_is() { [ "$(gate_state "$1")" = "$2" ]; }
jobs_are() { [ "$(count_jobs)" = "$1" ]; }

# ---- a webhook for the signature's tag re-checks an awaiting digest --------
v2=$(push_base v2)
is "$(hook "$v2" 12-slim)" 202 "webhook for the base's tag: 202"
check "v2, unsigned, awaits its signature" wait_until 10 state_is "$v2" awaiting
sleep 1
is "$(count_jobs)" 0 "nothing planned"
sig=$($py "$sign_py" --port "$port" cosign library/debian "$v2" --key "$work/k.pem" | jpy "d['digest']")
sleep 1.5
is "$(gate_state "$v2")" awaiting "the signature is pushed: no poll comes to see it"
t0=$(now_ms)
is "$(hook "$sig" "sha256-${v2#sha256:}.sig")" 202 "webhook for its sha256-<hex>.sig tag: 202"
is "$(jpy "d['triggered']" <"$work/hook.out")" 1 "it names the awaiting watch"
check "v2 is checked again at once and verifies" wait_until 5 state_is "$v2" verified
echo "# signature webhook to verified: $(($(now_ms) - t0)) ms"
check "and is planned (3 pull requests)" wait_until 10 jobs_are 3
is "$(hook "$sig" "sha256-$(printf '%064d' 0).sig")" 202 \
    "a signature tag of a digest nobody awaits: accepted"
is "$(jpy "d['triggered']" <"$work/hook.out")" 0 "and triggers nothing"

# ---- POST /api/v1/bases/approve --------------------------------------------
v3=$(push_base v3)
hook "$v3" 12-slim >/dev/null
check "v3, unsigned, awaits its signature" wait_until 10 state_is "$v3" awaiting
approve() { # BODY [TOKEN]: the status; the answer in approve.out
    curl -sS -o "$work/approve.out" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer ${2:-$API_TOKEN}" \
        -H 'Content-Type: application/json' --data-binary "$1" \
        "$api/api/v1/bases/approve"
}
body="{\"ref\": \"$BASE\", \"digest\": \"$v3\", \"unsigned\": true}"
is "$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data-binary "$body" \
    "$api/api/v1/bases/approve")" 401 "without the API token: 401"
is "$(approve "$body" wrong-token)" 401 "with a wrong token: 401"
is "$(approve '{"ref": ')" 400 "a body that is not JSON: 400"
is "$(approve "{\"ref\": \"$BASE\", \"digest\": \"$v3\"}")" 200 \
    "without unsigned: true: the update is approved (strata approve), not its signature"
is "$(jpy "d['digest']" <"$work/approve.out")" "$v3" "the answer names the digest approved"
is "$(approve "{\"ref\": \"$BASE\", \"digest\": \"sha256:nothex\", \"unsigned\": true}")" 400 \
    "a malformed digest: 400"
is "$(approve "{\"ref\": \"$BASE\", \"digest\": \"$v2\", \"unsigned\": true}")" 409 \
    "another digest than the verdict's: 409"
is "$(approve "{\"ref\": \"$R/nobody/here:1\", \"digest\": \"$v3\", \"unsigned\": true}")" 404 \
    "a base without a verdict: 404"
is "$(count_events base.unsigned_approved)" 0 "none of them recorded an approval"
is "$(count_jobs)" 3 "nor planned anything"
is "$(approve "$body")" 200 "with the token: 200"
is "$(jpy "d['approved_by']" <"$work/approve.out")" "api token" "the answer names the approver"
is "$(jpy "d['prior_state']" <"$work/approve.out")" awaiting "and what it overrode"
is "$(events_json | jpy "[(e['payload']['approved_by'], e['payload']['digest']) for e in d if e['type'] == 'base.unsigned_approved']")" \
    "[[\"api token\", \"$v3\"]]" "base.unsigned_approved names \"api token\" and the digest"
check "v3 is approved" wait_until 5 state_is "$v3" approved
check "and planned at once (3 more pull requests)" wait_until 10 jobs_are 6
is "$(approve "$body")" 409 "a second approval: 409"
check "the pull request says it was approved unsigned" wait_until 30 bash -c \
    "git -C '$work/git/web.git' log --all --format=%B | grep -q 'NOT verified: approved unsigned by api token'"
finish
