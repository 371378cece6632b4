#!/usr/bin/env bash
# daemon.sh - benchmark of the daemon (not in CI).
#
#   bench/daemon.sh [BUILD_DIR]          (default: build)
#   RUNS=5 WATCHES=10000 NODES=100000 bench/daemon.sh build
#
# On the end-to-end tests' world (tests/e2e/lib.sh: a real registry, git
# remotes, base -> runtime -> app plus web, rebuilds through
# scripts/demo-build.py), measures:
#   1. base push -> first action started (the rebuild.started event's
#      millisecond time), with a 1 s poll; RUNS pushes, timed from the start
#      of the push (the watcher may see the manifest before the pushing
#      client returns)
#   2. the same from a registry webhook's POST, with a 1 h poll (so only
#      the webhook explains the check); target < 100 ms
#   3. the daemon's peak RSS (VmHWM) with WATCHES watched bases in the
#      configuration and a NODES-node graph written straight into the store
#      (sqlite3), once it is serving; target < 64 MB
# Figures go to stdout; README.md "Benchmarks" quotes a run.
set -u
build=${1:-build}
RUNS=${RUNS:-5}
WATCHES=${WATCHES:-10000}
NODES=${NODES:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$root/$build" cli/strata >/dev/null || exit 1
export STRATA_EXE="$root/$build/cli/strata" E2E_SRC="$root"
. "$root/tests/e2e/lib.sh"
need docker-registry git curl sqlite3

make_world || {
    echo "daemon.sh: cannot set up the registry and repositories" >&2
    exit 1
}

# The earliest rebuild.started for base digest $1, in ms.
started_ms() {
    events_json | jpy "min([e['time'] for e in d if e['type'] == 'rebuild.started' and e['payload'].get('base_digest') == '$1'] or [0])"
}
event_ms() { # TYPE DIGEST: the first such event's time (payload "new")
    events_json | jpy "min([e['time'] for e in d if e['type'] == '$1' and e['payload'].get('new') == '$2'] or [0])"
}
summary() { # LABEL VALUES...
    local label=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v l="$label" '
        { v[NR] = $1; s += $1 }
        END { printf "%s: median %d ms, min %d, max %d, mean %d (n=%d)\n",
              l, v[int((NR + 1) / 2)], v[1], v[NR], s / NR, NR }'
}
has_started() { [ "$(started_ms "$1")" != 0 ]; }

# ---- 1. with a 1 s poll --------------------------------------------------
BUILD_SLEEP=0 write_config 1s "[rebuild]"
start_daemon "$work/daemon-poll.log" || exit 1
lat=()
push=()
expect=0
for i in $(seq 1 "$RUNS"); do
    # From the start of the push: the registry has the new manifest before
    # the pushing client (registry.py, python) has returned.
    t0=$(now_ms)
    d=$(push_base "poll-$i")
    push+=($(($(now_ms) - t0)))
    wait_until 30 has_started "$d" || { echo "run $i: nothing started" >&2; exit 1; }
    lat+=($(($(started_ms "$d") - t0)))
    expect=$((expect + 3))
    wait_until 60 jobs_settled "$expect" || { echo "run $i: jobs did not settle" >&2; exit 1; }
done
summary "the push itself (registry.py seed)" "${push[@]}"
summary "1 s poll, base push started -> first action started" "${lat[@]}"
kill -TERM "$dpid"
wait "$dpid"

# ---- 2. with a webhook ---------------------------------------------------
EXTRA_YAML='api:
  listen: "127.0.0.1:0"
  webhooks:
    - {name: reg, kind: distribution, secret: "bench-token"}' \
    BUILD_SLEEP=0 write_config 1h "[rebuild]"
start_daemon "$work/daemon-hook.log" || exit 1
hook() { # DIGEST
    printf '{"events": [{"id": "e", "timestamp": "2026-01-01T00:00:00Z",
      "action": "push", "target": {"mediaType":
      "application/vnd.oci.image.manifest.v1+json", "digest": "%s",
      "repository": "library/debian", "tag": "12-slim",
      "url": "http://%s/v2/library/debian/manifests/12-slim"},
      "request": {"host": "%s", "method": "PUT"}}]}' "$1" "$R" "$R" |
        curl -fsS -o /dev/null -X POST -H 'Authorization: Bearer bench-token' \
            --data-binary @- "$api/hooks/registry/reg"
}
lat=()
seen=()
for i in $(seq 1 "$RUNS"); do
    d=$(push_base "hook-$i")
    t0=$(now_ms)
    hook "$d" || { echo "run $i: webhook refused" >&2; exit 1; }
    wait_until 30 has_started "$d" || { echo "run $i: nothing started" >&2; exit 1; }
    lat+=($(($(started_ms "$d") - t0)))
    seen+=($(($(event_ms base.updated "$d") - t0)))
    expect=$((expect + 3))
    wait_until 60 jobs_settled "$expect" || { echo "run $i: jobs did not settle" >&2; exit 1; }
done
summary "webhook POST -> base.updated recorded" "${seen[@]}"
summary "webhook POST -> first action started" "${lat[@]}"
kill -TERM "$dpid"
wait "$dpid"

# ---- 3. memory: WATCHES watches, a NODES-node graph ------------------------
mem=$work/mem
mkdir -p "$mem"
{
    echo "state: $mem/strata.db"
    echo "watch:"
    echo "  interval: 1h"
    echo "  bases:"
    for i in $(seq 1 "$WATCHES"); do echo "    - ref: $R/bench/base-$i:1"; done
    echo 'api: {listen: "127.0.0.1:0"}'
} >"$mem/strata.yaml"
"$strata" -c "$mem/strata.yaml" jobs >/dev/null # creates the store
# 10 bases <- 1000 runtimes <- the rest (applications), one edge each.
nrt=1000
sqlite3 "$mem/strata.db" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $NODES)
INSERT INTO graph_nodes (id, kind, ref, repo, path)
SELECT i,
       CASE WHEN i <= 10 THEN 'base' ELSE 'image' END,
       CASE WHEN i <= 10 THEN 'bench.local/golden/base-' || i || ':1'
            WHEN i <= 10 + $nrt THEN 'bench.local/platform/rt-' || i || ':1'
            ELSE 'bench.local/apps/app-' || i || ':1' END,
       CASE WHEN i <= 10 THEN NULL ELSE 'https://git.bench.local/r' || (i % 2000) || '.git' END,
       CASE WHEN i <= 10 THEN NULL ELSE 'app-' || i || '/Dockerfile' END
FROM n;
INSERT INTO graph_edges (child, parent, repo, path, line, method)
SELECT id, CASE WHEN id <= 10 + $nrt THEN 1 + id % 10 ELSE 11 + id % $nrt END,
       repo, path, 1, 'dockerfile'
FROM graph_nodes WHERE id > 10;
COMMIT;
SQL
echo "graph: $(sqlite3 "$mem/strata.db" 'SELECT count(*) FROM graph_nodes') nodes, $(sqlite3 "$mem/strata.db" 'SELECT count(*) FROM graph_edges') edges in the store"
"$strata" -c "$mem/strata.yaml" run >"$mem/daemon.log" 2>&1 &
mpid=$!
pids+=("$mpid")
wait_until 60 grep -q 'api: listening on' "$mem/daemon.log" || exit 1
mapi=http://127.0.0.1:$(grep -o '(port [0-9]*)' "$mem/daemon.log" | head -n 1 | tr -dc 0-9)
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$mapi/readyz")" = 200 ]; }
t0=$(now_ms)
wait_until 120 ready || { echo "the daemon never got ready" >&2; exit 1; }
echo "ready (scan, graph load, $WATCHES watches) after $(($(now_ms) - t0)) ms"
sleep 5
curl -fsS -o /dev/null "$mapi/api/v1/jobs"
curl -fsS -o /dev/null "$mapi/api/v1/bases?limit=10" || true
echo "metrics: $(curl -fsS "$mapi/metrics" | grep -E '^strata_watches ')"
grep -E 'VmHWM|VmRSS' "/proc/$mpid/status" | tr -s ' \t' ' '
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$mpid/status")
echo "daemon peak RSS with $WATCHES watches and a $NODES-node graph: $((hwm / 1024)) MB (VmHWM $hwm kB)"
kill -TERM "$mpid"
wait "$mpid"
