#!/bin/sh
# discover.sh - benchmark of repository discovery (not in CI).
#
#   bench/discover.sh [BUILD_DIR]            (default: build)
#   REPOS=5000 RUNS=5 bench/discover.sh build
#
# Starts tests/servers/forge.py playing GitHub with REPOS repositories in
# the organisation `acme` (100 a page: 50 pages for 5,000), then, in the
# same run:
#   1. a cold listing, `strata discover --format json` on an empty state
#      database, against the yardstick: curl fetching the same 50 pages
#      one after the other with the same headers on one connection (what
#      any client must at least do); farm-bench pairs them;
#   2. an unchanged organisation polled again with the ETags kept in the
#      store: the requests made (the goal: one, answered 304) and the
#      wall time, against one plain curl request of the first page.
# The forge server counts every request; the figures come from it and
# from strata's own JSON. README.md "Benchmarks" quotes a run.
set -eu

build=${1:-build}
REPOS=${REPOS:-5000}
RUNS=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
strata="$root/$build/cli/strata"
ninja -C "$root/$build" cli/strata >/dev/null
for t in curl farm-bench /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "discover.sh: needs $t" >&2; exit 1; }
done
work=$(mktemp -d /tmp/strata-bench-discover-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM HUP PIPE

/usr/bin/python3 "$root/tests/servers/forge.py" --forge github \
  --token bench-token >"$work/port" &
pid=$!
while [ ! -s "$work/port" ]; do sleep 0.1; done
port=$(head -1 "$work/port")
api=http://127.0.0.1:$port
admin() { curl -sf -X POST "$api/_admin/discover" -d "$1" >/dev/null; }
count() { curl -sf "$api/_admin/discover" | /usr/bin/python3 -c \
  "import json,sys; d=json.load(sys.stdin); print(d['requests'], d['not_modified'])"; }
admin "{\"generate\": $REPOS, \"owner\": \"acme\"}"

cat >"$work/strata.yaml" <<EOC
state: $work/strata.db
discover:
  - forge: github
    org: acme
    api_url: $api
    token: bench-token
EOC
pages=$(( (REPOS + 99) / 100 ))
cat >"$work/curl-pages.sh" <<EOC
#!/bin/sh
# the yardstick: every page, in turn, on one connection
set -e
args=
p=1
while [ \$p -le $pages ]; do
  args="\$args $api/orgs/acme/repos?type=all&sort=updated&direction=desc&per_page=100&page=\$p -o /dev/null"
  p=\$((p + 1))
done
exec curl -sf -H 'Authorization: Bearer bench-token' \
  -H 'Accept: application/vnd.github+json' \
  -H 'X-GitHub-Api-Version: 2022-11-28' \$args
EOC
chmod +x "$work/curl-pages.sh"

echo "== cold listing: $REPOS repositories in $pages pages (strata vs curl)"
rm -f "$work/strata.db"
"$strata" -c "$work/strata.yaml" discover --format json >"$work/cold.json"
/usr/bin/python3 - "$work/cold.json" <<'EOP'
import json, sys
s = json.load(open(sys.argv[1]))["sources"][0]
print("strata: %d repositories, %d taken, %d requests, %d not modified"
      % (len(s["repos"]), sum(r["taken"] for r in s["repos"]),
         s["requests"], s["not_modified"]))
EOP
farm-bench -n "$RUNS" --timeout 600 \
  --vs "$work/curl-pages.sh" \
  -- sh -c "rm -f '$work/strata.db'; exec '$strata' -c '$work/strata.yaml' discover --format json >/dev/null"

echo "== an unchanged organisation, polled again (ETags in the store)"
"$strata" -c "$work/strata.yaml" discover --format json >/dev/null
admin '{"reset": true}'
"$strata" -c "$work/strata.yaml" discover --format json >"$work/warm.json"
set -- $(count)
echo "forge server: $1 requests, $2 answered 304 (goal: 1 and 1)"
farm-bench -n "$RUNS" --timeout 600 \
  --vs "curl -sf -o /dev/null -H 'Authorization: Bearer bench-token' -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' $api/orgs/acme/repos?type=all&sort=updated&direction=desc&per_page=100" \
  -- "$strata" -c "$work/strata.yaml" discover --format json
