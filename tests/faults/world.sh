# world.sh - what the fault-injection drivers share (sourced, bash): the
# end-to-end world of tests/e2e/lib.sh (a real registry, bare git remotes
# over file://, base -> runtime -> app and web), every repository with
# [pr, notify], an exec notification sink that appends each delivery (its
# STRATA_DELIVERY key, then the event) to $work/sink.log, and the cycle
# under test: the `strata run --once` that follows a new base digest
# (watch: the change and its notification; plan; run six jobs: three
# pinned branches, three notify events; drain the outbox).
#
# Set state (the state directory; default $work/state) before world_setup.
# Environment: STRATA_EXE, STRATA_KILLWRITE (tests/faults/killwrite.c),
# E2E_SRC.
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
need docker-registry git
shim=${STRATA_KILLWRITE:?STRATA_KILLWRITE is not set}
verify="$src/tests/faults/verify.py"

# world_setup: the world, the configuration and the sink; then a first
# cycle (the base is seen, the repositories scanned), then the base moves
# (base_v2) and the state and the remotes are kept as the starting point
# of every try (restore).
world_setup() {
    state=${state:-$work/state}
    mkdir -p "$state"
    make_world || return 1
    cat >"$work/sink.sh" <<'SH'
#!/bin/sh
# One line per delivery: the key, then the event; one write, appended.
# A sender killed before it wrote the event leaves an empty or cut body:
# refused, as an HTTP receiver refuses a body shorter than its
# Content-Length, and delivered again after the restart.
body=$(cat)
case $body in
'{'*'}') ;;
*) exit 1 ;;
esac
printf '%s %s\n' "$STRATA_DELIVERY" "$body" >>"$1"
SH
    chmod +x "$work/sink.sh"
    cat >"$work/strata.yaml" <<YAML
state: $state/strata.db
watch:
  interval: 1h
  jitter: 0%
  bases:
    - ref: $BASE
repos:
  - url: file://$work/git/runtime.git
    images: [{name: $RUNTIME}]
    on_base_update: [pr, notify]
  - url: file://$work/git/app.git
    images: [{name: $APP}]
    on_base_update: [pr, notify]
  - url: file://$work/git/web.git
    images: [{name: $WEB}]
    on_base_update: [pr, notify]
notify:
  - name: sink
    type: exec
    events: [base.updated]
    command: "$work/sink.sh $work/sink.log"
YAML
    cycle "$work/first.log" || return 1
    base_v2=$(push_base v2) || return 1
    mkdir -p "$work/snap-state"
    cp -a "$state/." "$work/snap-state/"
    cp -a "$work/git" "$work/snap-git"
}

# cycle LOG [VAR=VALUE...]: one `run --once` with those variables (the
# shim's); its exit status. Waited for, not in the foreground, so bash
# says nothing when the shim kills strata.
cycle() {
    local log=$1
    shift
    env "$@" "$strata" -c "$work/strata.yaml" run --once >>"$log" 2>&1 &
    wait $! 2>/dev/null
}

# restore: the state, the remotes and the sink as before the cycle under
# test (the state directory itself stays: it may be a mount point).
restore() {
    find "$state" -mindepth 1 -delete
    cp -a "$work/snap-state/." "$state/"
    rm -rf "$work/git" "$work/sink.log"
    cp -a "$work/snap-git" "$work/git"
}

# holds LOG: tests/faults/verify.py's verdict on the world as it is now;
# its complaints go to LOG after a "-- verify" line.
holds() {
    echo "-- verify" >>"$1"
    $py "$verify" "$state/strata.db" "$work/sink.log" "$work/git" \
        "$BASE" "$base_v2" "$RUNTIME=runtime" "$APP=app" "$WEB=web" >>"$1" 2>&1
}

# server_cleanup LOG: what a git server does when a pushing client dies
# (tests/faults/crash-points.sh): the lock files the killed strata left in
# the file:// remotes are removed, each named in LOG. Never strata's mirror.
server_cleanup() {
    local f
    for f in $(find "$work/git" -name '*.lock' -type f); do
        echo "-- server: removed $f" >>"$1"
        rm -f "$f"
    done
    return 0
}

# show LOG WHAT: the tail of LOG as TAP comments, for the first
# FAULT_SHOW (1) failures.
show() {
    if [ "${shown:-0}" -lt "${FAULT_SHOW:-1}" ]; then
        shown=$((${shown:-0} + 1))
        # stdout is TAP (meson parses it); stderr is what CI prints
        # of a failed test, so the log goes to both.
        { echo "# $2:"; tail -n 25 "$1" | sed 's/^/#   /'; } | tee /dev/stderr
    fi
}

# count_writes LOG: a clean cycle under test, counting its writes to the
# state database into $total; its exit status.
count_writes() {
    local rc
    restore
    cycle "$1" LD_PRELOAD="$shim" STRATA_FAULT_DB=strata.db \
        STRATA_FAULT_COUNT="$work/count"
    rc=$?
    total=$(cat "$work/count" 2>/dev/null || echo 0)
    return $rc
}
