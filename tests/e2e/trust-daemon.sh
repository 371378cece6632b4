#!/usr/bin/env bash
# trust-daemon.sh - TAP: the daemon (`strata run`, not --once) enforces the
# signature policies that the configuration and the golden catalog give
# every reference it watches, against the real registry, with keys made by
# openssl and signatures pushed by tests/registry/sign.py:
#   - the base is a catalog entry with a signing_key (and wait: 2s), and
#     watch.verify names another key: the catalog's policy wins;
#   - an unsigned push of the base is quarantined, base.signature_failed,
#     never planned; a push signed with watch.verify's key only is
#     quarantined too; a push signed with the catalog's key is planned;
#   - a base the daemon watches only because the graph names it (the
#     runtime image the app is built on) takes watch.verify: unsigned is
#     quarantined, signed is planned;
#   - SIGHUP with a catalog whose signing_key changed: the new key rules
#     at once (the old key's signature is quarantined, the new one's
#     planned).
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

catalog() { # KEY: the catalog, the base signed with KEY
    cat >"$work/catalog.yaml" <<YAML
bases:
  - ref: $BASE
    owners: [platform-team]
    signing_key: $1
    verify: {wait: 2s}
YAML
}
catalog "$work/k.pub"
# The base is not in watch.bases: the catalog and the graph name it.
write_config 1s "[pr]"
$py - "$work/strata.yaml" "$work" <<'PY'
import sys
path, work = sys.argv[1:]
lines = open(path).read().split("\n")
out, skip = [], False
for l in lines:
    if l.startswith("  bases:"):
        out.append("  verify: {keys: [%s/other.pub], wait: 3s}" % work)
        skip = True
        continue
    if skip and l.startswith("    "):
        continue
    skip = False
    out.append(l)
out.insert(1, "catalog: %s/catalog.yaml" % work)
open(path, "w").write("\n".join(out))
PY
cp "$work/strata.yaml" "$work/cli.yaml"
check "config check accepts the world" S config check

sign() { # NAME DIGEST KEY
    $py "$sign_py" --port "$port" cosign "$1" "$2" --key "$3" >/dev/null
}
gate_state() { # REF DIGEST: the gate's state of REF's DIGEST (the API)
    acurl -fsS "$api/api/v1/bases" |
        jpy "[b.get('verify', {}).get('state') for b in d['items'] if b['ref'] == '$1' and b.get('verify', {}).get('digest') == '$2'] or [None]" |
        jpy 'd[0]'
}
state_is() { [ "$(gate_state "$1" "$2")" = "$3" ]; }
jobs_are() { [ "$(count_jobs)" = "$1" ]; }

start_daemon || {
    nok "daemon started"
    finish
}
ok "strata run started and saw the base"
rt_seen() { [ "$(count_events base.first_seen "$RUNTIME")" = 1 ]; }
check "the daemon watches the runtime image the graph names" wait_until 60 rt_seen

# ---- the catalog's signing_key is enforced by the daemon -------------------
v2=$(push_base v2)
check "unsigned v2 is quarantined by the catalog policy (wait 2s)" \
    wait_until 30 state_is "$BASE" "$v2" quarantined
is "$(events_json | jpy "len([e for e in d if e['type'] == 'base.signature_failed' and e['payload']['digest'] == '$v2'])")" \
    1 "base.signature_failed recorded for v2"
sleep 2
is "$(count_jobs)" 0 "nothing planned for v2"
check "strata plan shows v2 quarantined" bash -c \
    "'$strata' -c '$work/cli.yaml' plan | grep -q 'quarantined .*@$v2'"

v3=$(push_base v3)
sign library/debian "$v3" "$work/other.pem"
check "v3 signed only with watch.verify's key: quarantined (the catalog wins)" \
    wait_until 30 state_is "$BASE" "$v3" quarantined
is "$(count_jobs)" 0 "nothing planned for v3"

v4=$(push_base v4)
sign library/debian "$v4" "$work/k.pem"
check "v4 signed with the catalog's key verifies" \
    wait_until 30 state_is "$BASE" "$v4" verified
check "and is planned (3 pull requests)" wait_until 30 jobs_are 3
check "base.verified names the catalog key's fingerprint" bash -c \
    "'$strata' -c '$work/cli.yaml' events --type base.verified --format json --limit 1000 | grep -q '\"key\": *\"sha256:'"

# ---- a base watched because the graph names it: watch.verify ---------------
rt2=$(seed platform/runtime 1 rt2)
check "the runtime image, unsigned, is quarantined by watch.verify (wait 3s)" \
    wait_until 30 state_is "$RUNTIME" "$rt2" quarantined
sleep 1.5
is "$(count_jobs)" 3 "nothing planned for it"
rt3=$(seed platform/runtime 1 rt3)
sign platform/runtime "$rt3" "$work/other.pem"
check "signed with watch.verify's key it verifies" \
    wait_until 30 state_is "$RUNTIME" "$rt3" verified
check "and the app on it is planned" wait_until 30 jobs_are 4

# ---- SIGHUP: the catalog's new key rules at once ----------------------------
catalog "$work/other.pub"
kill -HUP "$dpid"
check "the daemon reloads" wait_until 30 grep -q "reloaded '$work/strata.yaml'" "$work/daemon.log"
v5=$(push_base v5)
sign library/debian "$v5" "$work/k.pem"
check "after the reload the old key's signature is quarantined" \
    wait_until 30 state_is "$BASE" "$v5" quarantined
is "$(count_jobs)" 4 "nothing planned for v5"
v6=$(push_base v6)
sign library/debian "$v6" "$work/other.pem"
check "and the new key's verifies" wait_until 30 state_is "$BASE" "$v6" verified
check "and is planned (3 more pull requests)" wait_until 30 jobs_are 7
finish
