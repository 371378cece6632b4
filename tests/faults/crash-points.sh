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
# The remotes are bare repositories reached over file://, so a killed
# strata was, for its in-process push, the git server as well: libgit2's
# local transport writes the remote's references itself and leaves their
# lock files behind when killed. A real server (git receive-pack, a
# forge) outlives its client and removes its own locks when the
# connection drops; server_cleanup does that for the file:// remotes
# before the restart. strata's own mirror is strata's to clean, and it
# does (vcs/: under the mirror's flock, any libgit2 lock file is stale).
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

# The number of writes is not the same from run to run: the jobs of a
# wave run concurrently, and how their commits interleave with the
# outbox's decides how many transactions there are (288 to 292 seen). A
# cycle that ends before write k (it exits 0 and its count, kept by the
# shim, is below k) was a clean cycle: it must hold like one, and it
# counts as not reached. Any other exit without the kill fails.
tried=0 held=0 unreached=0 failed_at=
for k in ${FAULT_AT:-$(seq 1 "$stride" "$total")}; do
    restore
    log="$work/crash-$k.log"
    rm -f "$work/count-k"
    cycle "$log" LD_PRELOAD="$shim" STRATA_FAULT_DB=strata.db \
        STRATA_FAULT_KILL_AT="$k" STRATA_FAULT_COUNT="$work/count-k"
    rc=$?
    tried=$((tried + 1))
    wrote=$(cat "$work/count-k" 2>/dev/null || echo 0)
    if [ "$rc" = 0 ] && [ "$wrote" -lt "$k" ]; then
        echo "crash point $k: not reached, this cycle wrote $wrote times" >>"$log"
        if holds "$log"; then
            held=$((held + 1)) unreached=$((unreached + 1))
            rm -f "$log"
            continue
        fi
    elif [ "$rc" != 137 ]; then
        echo "crash point $k: the cycle exited $rc instead of being killed" >>"$log"
    elif server_cleanup "$log" && cycle "$log" && holds "$log"; then
        held=$((held + 1))
        rm -f "$log"
        continue
    fi
    failed_at="$failed_at $k"
    show "$log" "crash point $k"
done
echo "# crash points: $tried tried, $held held ($unreached not reached)${failed_at:+ (failed at:$failed_at)}"
# Most points must be reached, or the test tests nothing.
check "at most 8 points not reached ($unreached)" test "$unreached" -le 8
is "$held" "$tried" "crash points: $tried tried, $held held"
finish
