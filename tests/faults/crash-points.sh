#!/usr/bin/env bash
# crash-points.sh - TAP: SIGKILL at every write of the state database
# during a representative cycle (tests/faults/world.sh: watch, plan, run
# pins and notify jobs, drain the outbox), then a restart, and the
# promises hold (tests/faults/verify.py): every job finished once, every
# pinned branch pushed once, every notification delivered at least once
# and only ever under one delivery key, the outbox drained, integrity_check
# ok. A clean cycle counts its writes (the LD_PRELOAD shim
# tests/faults/killwrite.c); then for each N the state is restored, the
# cycle is killed at write N before it reaches the file, and
# `strata run --once` runs again.
#
# FAULT_STRIDE=K tries every Kth point only (default 1: every one);
# FAULT_AT="N..." tries those points only; FAULT_SHOW=N shows the log of
# the first N failures (1).
. "$(dirname "$0")/world.sh"
stride=${FAULT_STRIDE:-1}

world_setup
is $? 0 "world set up, first cycle run, the base moved"
count_writes "$work/clean.log"
is $? 0 "the cycle under test, without a fault, exits 0"
check "it wrote to the state database ($total writes)" test "$total" -gt 10
check "and everything holds" holds "$work/clean.log"

tried=0 held=0 git=0 failed_at=
for k in ${FAULT_AT:-$(seq 1 "$stride" "$total")}; do
    restore
    log="$work/crash-$k.log"
    cycle "$log" LD_PRELOAD="$shim" STRATA_FAULT_DB=strata.db \
        STRATA_FAULT_KILL_AT="$k"
    rc=$?
    tried=$((tried + 1))
    if [ "$rc" != 137 ]; then
        echo "crash point $k: the cycle exited $rc instead of being killed" >>"$log"
    elif cycle "$log" && holds "$log"; then
        held=$((held + 1))
        rm -f "$log"
        continue
    fi
    if git_only "$log"; then
        git=$((git + 1))
        failed_at="$failed_at $k(git)"
    else
        failed_at="$failed_at $k"
    fi
    show "$log" "crash point $k"
done
echo "# crash points: $tried tried, $held held${failed_at:+ (failed at:$failed_at)}"
is "$((held + git))" "$tried" \
    "crash points: the store kept every promise at each of the $tried"
todo=
[ "$git" -gt 0 ] && [ $((held + git)) = "$tried" ] &&
    todo=" # TODO $git left a libgit2 lock file that blocks the pr job (vcs/)"
if [ "$held" = "$tried" ]; then
    ok "crash points: $tried tried, $held held"
elif [ -n "$todo" ]; then
    # A known failure outside the store: TAP's TODO, not a failed test.
    n=$((n + 1))
    echo "not ok $n - crash points: $tried tried, $held held$todo"
else
    nok "crash points: $tried tried, $held held"
fi
finish
