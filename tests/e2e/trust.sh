#!/usr/bin/env bash
# trust.sh - TAP: the verification gate end to end, with `strata run --once`
# against the real registry, keys made with openssl and signatures pushed
# by tests/registry/sign.py (openssl, never strata):
#   - an unsigned new base digest is awaiting its signature: nothing planned;
#   - after `wait` it is quarantined: base.signature_failed, still nothing;
#   - `strata approve BASE@DIGEST --unsigned` lets it through, with the
#     audit event naming the approver, and it is planned;
#   - a digest signed with the configured key (cosign .sig) verifies, is
#     planned, and the pull request's commit says which key verified it;
#   - a digest signed with another key, or whose payload names another
#     digest, is quarantined with the reason;
#   - warn mode records base.signature_failed and plans all the same;
#   - `strata verify` reads a Sigstore bundle through the referrers tag
#     schema even when the referrers API answers 500 (the fault proxy).
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
    openssl pkey -in other.pem -pubout -out other.pub) || {
    nok "keys made with openssl"
    finish
}

# verify_config MODE WAIT: the standard world, the base under a policy.
verify_config() {
    write_config 1h "[pr]"
    $py - "$work/strata.yaml" "$work/k.pub" "$1" "$2" <<'PY'
import sys
path, key, mode, wait = sys.argv[1:]
text = open(path).read()
lines = text.split("\n")
out = []
for l in lines:
    out.append(l)
    if l.strip().startswith("- ref: ") and l.startswith("    - ref:"):
        out.append("      verify: {keys: [%s], mode: %s, wait: %s}" %
                   (key, mode, wait))
open(path, "w").write("\n".join(out))
PY
    cp "$work/strata.yaml" "$work/cli.yaml"
}
sign() { # LAYOUT DIGEST [ARGS...]
    local layout=$1 digest=$2
    shift 2
    $py "$sign_py" --port "$port" "$layout" library/debian "$digest" "$@" \
        >/dev/null
}
once() { S run --once >>"$work/once.log" 2>&1; }
plan_state() { S plan --format json | jpy "[u['state'] for u in d['updates']]"; }
gate() { # FIELD: the base's gate row, through the store's meta (the CLI)
    S plan --format json | jpy "d['updates'][0]['verify']['$1'] if d['updates'] else None"
}

verify_config enforce 3s
once
is "$(count_events base.first_seen "$BASE")" 1 "first run: the base is seen (v1, unsigned)"

# ---- unsigned: awaiting, then quarantined; approve --unsigned -------------
v2=$(push_base v2)
once
is "$(count_events base.updated)" 1 "v2 is seen"
is "$(plan_state)" '["awaiting-signature"]' "unsigned v2 awaits its signature"
is "$(count_jobs)" 0 "and nothing is planned"
check "strata jobs names the held base" bash -c \
    "'$strata' -c '$work/cli.yaml' jobs | grep -q 'held  .*@$v2  awaiting: not verified'"
sleep 3.5
once
is "$(plan_state)" '["quarantined"]' "after wait (3s) v2 is quarantined"
is "$(count_events base.signature_failed)" 1 "base.signature_failed recorded once"
is "$(events_json | jpy "[e['payload']['digest'] for e in d if e['type'] == 'base.signature_failed']")" \
    "[\"$v2\"]" "about v2"
is "$(count_jobs)" 0 "still nothing planned"
once
is "$(count_events base.signature_failed)" 1 "another run: no second base.signature_failed"
out=$(STRATA_APPROVER=alice S approve "$BASE@$v2" --unsigned 2>/dev/null)
is "$?" 0 "approve --unsigned"
echo "# $out"
is "$(events_json | jpy "[e['payload']['approved_by'] for e in d if e['type'] == 'base.unsigned_approved']")" \
    '["alice"]' "the audit event names the approver"
once
is "$(count_jobs)" 3 "the approved digest is planned (3 pull requests)"
check "a second approval is refused" bash -c \
    "! '$strata' -c '$work/cli.yaml' approve '$BASE@$v2' --unsigned 2>/dev/null"

# ---- a validly signed digest proceeds -------------------------------------
v3=$(push_base v3)
sign cosign "$v3" --key "$work/k.pem"
once
is "$(count_events base.verified)" 1 "signed v3 verifies at once (base.verified)"
is "$(gate state)" None "v3 planned: no update left to show"
is "$(count_jobs)" 6 "and is planned (3 more pull requests)"
check "the pull request says which key verified v3" bash -c \
    "git -C '$work/git/runtime.git' log --all --format=%B | grep -q 'Signature of .*verified by key .sha256:'"

# ---- another key, another digest: quarantined with the reason --------------
verify_config enforce 0s
v4=$(push_base v4)
sign cosign "$v4" --key "$work/other.pem"
once
is "$(plan_state)" '["quarantined"]' "v4 signed with another key is quarantined (wait 0s)"
check "the reason names the configured key" bash -c \
    "'$strata' -c '$work/cli.yaml' plan | grep -q 'signature: quarantined: not verified: .*does not verify under the configured key'"
v5=$(push_base v5)
sign cosign "$v5" --key "$work/k.pem" --payload-digest "$v4"
once
is "$(plan_state)" '["quarantined"]' "v5 whose payload names v4 is quarantined"
check "the reason says the payload names another digest" bash -c \
    "'$strata' -c '$work/cli.yaml' plan | grep -q \"$v4\""
v6=$(push_base v6)
sign cosign "$v6" --key "$work/k.pem" --tamper
once
is "$(plan_state)" '["quarantined"]' "v6 with a tampered payload is quarantined"
is "$(count_jobs)" 6 "none of them planned anything"

# ---- warn mode: recorded and notified, planned all the same ----------------
verify_config warn 0s
v7=$(push_base v7)
once
is "$(count_events base.signature_failed "$BASE")" 5 "warn: v7's failure is recorded"
is "$(events_json | jpy "[e['payload']['mode'] for e in d if e['type'] == 'base.signature_failed'][-1]")" \
    warn "in warn mode"
is "$(count_jobs)" 9 "and v7 is planned"

# ---- strata verify: referrers through the tag schema, API failing ----------
v8=$(push_base v8)
sign bundle "$v8" --key "$work/k.pem"
out=$(S verify "$BASE" --key "$work/k.pub" --format json)
is "$?" 0 "strata verify: the v0.3 bundle attached as a referrer verifies"
is "$(jpy "d['result']['entries'][0]['kind']" <<<"$out")" bundle "found through the referrers tag schema"
$py "$src/tests/servers/faultproxy.py" --upstream "127.0.0.1:$port" \
    >"$work/proxy.port" 2>"$work/proxy.log" &
pids+=("$!")
wait_until 10 test -s "$work/proxy.port"
proxy_port=$(head -n 1 "$work/proxy.port")
if [ -n "$proxy_port" ]; then
    curl -fsS "http://127.0.0.1:$proxy_port/__fault?mode=500&path=/referrers/" >/dev/null
    out=$(S verify "127.0.0.1:$proxy_port/library/debian:12-slim" --key "$work/k.pub" --format json)
    is "$?" 0 "the referrers API answering 500: still verified through the tag schema"
    check "and the 500 is reported" bash -c "grep -q 'referrers API failed' <<<'$out'"
else
    nok "fault proxy started"
fi
# Hostile material next to the good bundle: refused with reasons, no crash.
sign loop "$v8"
sign garbage "$v8"
sign huge "$v8"
out=$(S verify "$BASE" --key "$work/k.pub" --format json)
is "$?" 0 "garbage, a huge manifest and a referrer loop: still verified by the bundle"
entries() { jpy "' | '.join(e.get('reason') or '' for e in d['result']['entries'])" <<<"$out"; }
check "the referrer loop is refused" bash -c "grep -q 'a referrer loop' <<<\"\$(cat)\"" <<<"$(entries)"
check "the referrer naming another subject is refused" bash -c "grep -q 'its subject is' <<<\"\$(cat)\"" <<<"$(entries)"
check "the huge signature manifest is refused unread" bash -c "grep -q 'refused unread' <<<\"\$(cat)\"" <<<"$(entries)"
v9=$(push_base v9)
out=$(S verify "$BASE" --key "$work/k.pub")
is "$?" 1 "strata verify of an unsigned digest exits 1"
check "and says nothing was found" bash -c "grep -q 'no signature or attestation found' <<<'$out'"
sign garbage "$v9"
out=$(S verify "$BASE" --key "$work/k.pub")
is "$?" 1 "a garbage signature layer: not verified, exit 1"
check "with the reason" bash -c "grep -q 'FAIL  cosign .*not base64' <<<'$out'"
finish
