# lib.sh - what the end-to-end tests share (sourced, bash): TAP output,
# waiting with a deadline, and a small world started on loopback: a real
# registry (tests/registry/registry.py, Debian's docker-registry), bare git
# remotes over file://, a base -> runtime -> app hierarchy plus a web image
# straight on the base, images "built by CI" with scripts/demo-build.py,
# and the real strata daemon. Everything started here is stopped by the
# EXIT trap, also when a test fails; KEEP=1 keeps the work directory.
#
# Environment: STRATA_EXE (the strata binary), E2E_SRC (the source root).

set -u
py=/usr/bin/python3
strata=${STRATA_EXE:?STRATA_EXE is not set}
src=${E2E_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
reg_py="$src/tests/registry/registry.py"

# ---- TAP ----------------------------------------------------------------

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
nok() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do echo "# $l"; done
}
# check DESC CMD...: ok when CMD succeeds.
# check DESC CMD...: ok when CMD succeeds; what CMD prints goes to stderr,
# so only TAP reaches stdout (openssl's "Verified OK" is not TAP).
check() {
    local d=$1
    shift
    if "$@" >&2; then ok "$d"; else nok "$d" "failed: $*"; fi
}
# is GOT WANT DESC
is() {
    if [ "$1" = "$2" ]; then ok "$3"; else nok "$3" "got:  $1" "want: $2"; fi
}
# skip_all REASON: the whole script is skipped (meson's TAP wants exit 0).
skip_all() {
    echo "1..0 # SKIP $1"
    exit 0
}
# Needs these programs, or skips everything.
need() {
    local p
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 || skip_all "$p is not installed"
    done
}
# The plan comes last; on failure the daemon's log tail goes to the TAP
# output as comments.
finish() {
    echo "1..$n"
    if [ "$failed" != 0 ] && [ -n "${work:-}" ]; then
        local f
        for f in "$work"/daemon*.log; do
            [ -f "$f" ] || continue
            echo "# ---- tail of $f"
            tail -n 60 "$f" | sed 's/^/# /'
        done
    fi
    exit "$failed"
}

# ---- processes ----------------------------------------------------------

pids=()
work=$(mktemp -d /tmp/strata-e2e.XXXXXX)
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ]; then echo "# kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 1 when time runs out.
wait_until() {
    local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
    shift
    while ! "$@" 2>/dev/null; do
        [ $(($(date +%s%N) / 1000000)) -ge $deadline ] && return 1
        sleep 0.1
    done
    return 0
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# jpy EXPR: evaluates a Python expression over the JSON on stdin (as d);
# lists and objects print as JSON, other values as text.
jpy() {
    $py -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict)) else r)' "$1"
}

# ---- the registry ---------------------------------------------------------

# start_registry: sets port, regpid, R (the host:port images are named
# with).
start_registry() {
    local out
    out=$($py "$reg_py" start --dir "$work/registry") || return 1
    read -r port regpid <<<"$out"
    pids+=("$regpid")
    R=127.0.0.1:$port
}

# seed NAME TAG MARK: pushes a one-layer image and prints its digest.
seed() {
    printf '{"name": "%s", "tag": "%s", "created": "2026-01-01T00:00:00Z",
      "layers": [{"files": {"etc/mark": "%s\\n"}}]}' "$1" "$2" "$3" |
        $py "$reg_py" seed --port "$port" - | jpy 'd["digest"]'
}
push_base() { seed library/debian 12-slim "$1"; }

# ---- git remotes and the images CI built ----------------------------------

mkrepo() { # NAME DOCKERFILE-TEXT
    git init -q --bare -b main "$work/git/$1.git"
    git init -q -b main "$work/src/$1"
    printf '%s' "$2" >"$work/src/$1/Dockerfile"
    git -C "$work/src/$1" add Dockerfile
    git -C "$work/src/$1" -c user.name=dev -c user.email=dev@example.com \
        commit -qm initial
    git -C "$work/src/$1" push -q "$work/git/$1.git" main
}

port= BASE= RUNTIME= APP= WEB=
# make_world [HOST:PORT]: registry, base v1, three repositories, images
# built on v1. Images are named with HOST:PORT (a proxy in front of the
# registry) when given; seed() still pushes to the registry itself.
make_world() {
    [ -n "${port:-}" ] || start_registry || return 1
    [ -n "${1:-}" ] && R=$1
    BASE=$R/library/debian:12-slim
    RUNTIME=$R/platform/runtime:1
    APP=$R/acme/app:1
    WEB=$R/acme/web:1
    base_v1=$(push_base v1) || return 1
    mkrepo runtime "FROM $BASE
RUN install-runtime
"
    mkrepo app "ARG RT=$RUNTIME
FROM \${RT}
COPY app /app
"
    mkrepo web "FROM $BASE
COPY site /srv/site
"
    build_image "$RUNTIME" runtime >/dev/null &&
        build_image "$APP" app >/dev/null &&
        build_image "$WEB" web >/dev/null
}
build_image() { # IMAGE REPO-NAME
    $py "$src/scripts/demo-build.py" --port "${R##*:}" --image "$1" \
        --repo "$work/git/$2.git"
}

# The builder strata runs for `rebuild`: records each run in builds.log
# (IMAGE JOB-ID STRATA_JOB_KEY, the key from the environment), sleeps
# BUILD_SLEEP seconds, then builds like CI would.
builder_command() {
    echo "echo {image} {job} \$STRATA_JOB_KEY >> $work/builds.log; sleep ${BUILD_SLEEP:-0}; $py $src/scripts/demo-build.py --port ${R##*:} --image {image} --repo {repo} --dockerfile {dockerfile}"
}

# write_config [INTERVAL] [ACTIONS]: the standard configuration;
# EXTRA_YAML is appended (api, forges, ...), APP_REPO_YAML is added to
# the app repository's entry.
write_config() {
    local interval=${1:-1s} actions=${2:-[pr, rebuild]}
    local extra=${EXTRA_YAML:-'api: {listen: "127.0.0.1:0"}'}
    cat >"$work/strata.yaml" <<YAML
state: $work/strata.db
watch:
  interval: $interval
  jitter: 0%
  bases:
    - ref: $BASE
repos:
  - url: file://$work/git/runtime.git
    images: [{name: $RUNTIME}]
    on_base_update: $actions
  - url: file://$work/git/app.git
    images: [{name: $APP}]
    on_base_update: $actions
${APP_REPO_YAML:-}
  - url: file://$work/git/web.git
    images: [{name: $WEB}]
    on_base_update: $actions
builders:
  default:
    type: exec
    command: "$(builder_command)"
$extra
YAML
    cp "$work/strata.yaml" "$work/cli.yaml"
}

# ---- the daemon -------------------------------------------------------------

# The CLI reads cli.yaml, a copy of the last good configuration, so that a
# test may break strata.yaml under the daemon's feet.
S() { "$strata" -c "$work/cli.yaml" "$@"; }

# start_daemon [LOG]: starts `strata run`, waits for the API and for the
# first sighting of the base; sets dpid, api (http://127.0.0.1:PORT).
start_daemon() {
    dlog=${1:-$work/daemon.log}
    # Not through S(): $! must be strata itself, not a subshell.
    "$strata" -c "$work/strata.yaml" run >>"$dlog" 2>&1 &
    dpid=$!
    pids+=("$dpid")
    wait_until 30 grep -q 'api: listening on .*(port [0-9]*)' "$dlog" ||
        return 1
    api=http://127.0.0.1:$(grep -o 'api: listening on .*(port [0-9]*)' \
        "$dlog" | tail -n 1 | sed 's/.*(port \([0-9]*\))/\1/')
    wait_until 60 base_known
}
# acurl: curl with the API token when the world's config sets one.
acurl() {
    if [ -n "${API_TOKEN:-}" ]; then
        curl -H "Authorization: Bearer $API_TOKEN" "$@"
    else
        curl "$@"
    fi
}
base_known() {
    acurl -fsS "$api/api/v1/bases" |
        jpy "any(b['ref'] == '$BASE' and b.get('current_digest') for b in d['items'])" |
        grep -q True
}

# jobs_json: every job as a JSON list (the CLI, read from the store).
jobs_json() { S jobs --format json --limit 1000; }
events_json() { S events --format json --limit 1000; }
# count_jobs [STATE]: how many jobs (in that state).
count_jobs() {
    jobs_json | jpy "len([j for j in d if '${1:-}' in ('', j['state'])])"
}
# jobs_settled N: exactly N jobs and all succeeded.
jobs_settled() {
    [ "$(count_jobs)" = "$1" ] && [ "$(count_jobs succeeded)" = "$1" ]
}
count_events() { # TYPE [SUBJECT]
    events_json | jpy "len([e for e in d if e['type'] == '$1' and '${2:-}' in ('', e['subject'])])"
}
