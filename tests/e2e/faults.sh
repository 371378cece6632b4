#!/usr/bin/env bash
# faults.sh - TAP: a registry that answers 429 (with Retry-After), 500, or
# is down (tests/servers/faultproxy.py in front of the real registry, then
# the registry stopped) while the base has moved: the daemon keeps
# polling, records the errors (GET /api/v1/bases, /metrics, the log) and
# creates no base.updated event and no job. Once the registry answers
# again, the update is seen once and acted on.
. "$(dirname "$0")/lib.sh"
need docker-registry git curl

start_registry || {
    nok "registry started"
    finish
}
read -r pport < <($py "$src/tests/servers/faultproxy.py" --upstream "127.0.0.1:$port" 2>"$work/proxy.log" &
    echo $! >"$work/proxy.pid"; wait)
pids+=("$(cat "$work/proxy.pid")")
make_world "127.0.0.1:$pport" || {
    nok "world set up behind the proxy"
    finish
}
write_config 1s
start_daemon || {
    nok "daemon started"
    finish
}
ok "daemon up, the registry behind a fault-injecting proxy"
fault() { curl -fsS "http://127.0.0.1:$pport/__fault?$1" >/dev/null; }
base_state() { # FIELD: the base's field in GET /api/v1/bases
    curl -fsS "$api/api/v1/bases" |
        jpy "[b['$1'] for b in d['items'] if b['ref'] == '$BASE'][0]"
}
errors_metric() {
    curl -fsS "$api/metrics" | awk '$1 == "strata_check_errors_total" {print $2}'
}
base_v1=$(base_state current_digest)

# The base moves while the registry misbehaves.
fault "mode=429&retry_after=1"
base_v2=$(push_base v2)
for mode in 429 500 down; do
    case $mode in
    500) fault "mode=500" ;;
    down)
        fault "mode=none"
        kill -9 "$regpid"
        wait "$regpid" 2>/dev/null
        ;;
    esac
    e0=$(errors_metric)
    check "$mode: checks fail and are counted (strata_check_errors_total)" \
        wait_until 15 sh -c "[ \$(curl -fsS '$api/metrics' | awk '\$1 == \"strata_check_errors_total\" {print \$2}') -ge $((e0 + 2)) ]"
    check "$mode: the base's last error is recorded" \
        sh -c "[ \"\$(curl -fsS '$api/api/v1/bases' | $py -c 'import json,sys; print([b for b in json.load(sys.stdin)[\"items\"] if b[\"ref\"] == \"$BASE\"][0][\"last_error\"] is not None)')\" = True ]"
    is "$(base_state current_digest)" "$base_v1" "$mode: the digest stays where it was"
    is "$(count_events base.updated)" 0 "$mode: no base.updated event"
    is "$(count_jobs)" 0 "$mode: no job"
done
check "the log says why checks fail" grep -q "check $BASE: " "$work/daemon.log"
check "a 429 is reported as such" grep -qi "check $BASE: .*429\|check $BASE: .*too many" "$work/daemon.log"

# The registry is back (same storage, same port): the update is seen once.
/usr/bin/docker-registry serve "$work/registry/config.yml" >"$work/registry2.log" 2>&1 &
pids+=($!)
check "the registry is back" $py "$reg_py" wait --port "$port" --timeout 30
check "then the update is acted on: 6 jobs succeed" wait_until 60 jobs_settled 6
is "$(count_events base.updated "$BASE")" 1 "one base.updated event"
is "$(jobs_json | jpy "all(j['base_digest'] == '$base_v2' for j in d)")" True "for the new digest"
is "$(base_state last_error)" None "the base's error is cleared"
finish
