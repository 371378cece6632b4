#!/usr/bin/env bash
# disk-full.sh - TAP: the state directory on a small tmpfs that fills up
# at set points of a representative cycle (tests/faults/world.sh: watch,
# plan, run pins and notify jobs, drain the outbox). At the Nth write of
# the state database the LD_PRELOAD shim tests/faults/killwrite.c grows a
# file beside it until the file system is full (or has 64 KiB left, every
# other point), and strata goes on as it can. Then space returns, `strata
# run --once` runs again (until the jobs a full disk failed have been
# retried), and the promises hold (tests/faults/verify.py): nothing lost
# (every notification delivered, every job finished once), nothing
# doubled (one delivery key per notification), integrity_check ok. And
# the cycle that met the full disk did not exit 0.
#
# Mounting a tmpfs needs root (CI runs as root); elsewhere this skips.
# FAULT_POINTS=N fills at N points spread over the cycle (default 24;
# 0: at every write); FAULT_SHOW=N shows the first N failures' logs.
state=$(mktemp -d /tmp/strata-full.XXXXXX)
. "$(dirname "$0")/world.sh"
need mount umount
if ! mount -t tmpfs -o size=16m,mode=0700 strata-full "$state" 2>"$work/mount.err"; then
    rmdir "$state"
    skip_all "cannot mount a tmpfs for the state ($(head -c 200 "$work/mount.err")); run as root"
fi
trap 'umount -l "$state" 2>/dev/null; rmdir "$state" 2>/dev/null; cleanup' EXIT
points=${FAULT_POINTS:-24}

world_setup
is $? 0 "world set up on a 16 MiB tmpfs, first cycle run, the base moved"
count_writes "$work/clean.log"
is $? 0 "the cycle under test, without a fault, exits 0"
check "it wrote to the state database ($total writes)" test "$total" -gt 10
check "and everything holds" holds "$work/clean.log"

# The disk fills at write k; then space returns and strata runs until the
# retries of what the full disk failed are due and done.
full_at() { # K LEAVE LOG
    local i rc
    restore
    cycle "$3" LD_PRELOAD="$shim" STRATA_FAULT_DB=strata.db \
        STRATA_FAULT_FULL_AT="$1" STRATA_FAULT_FULL_FILE="$state/filler" \
        STRATA_FAULT_FULL_LEAVE="$2"
    rc=$?
    echo "-- exit $rc" >>"$3"
    if grep -q "disk is full\|No space left" "$3"; then
        saw_full=$((saw_full + 1))
        [ "$rc" = 0 ] && full_exit0=$((full_exit0 + 1))
    fi
    rm -f "$state/filler"
    for i in 1 2 3 4; do
        cycle "$3" && holds "$3" && return 0
        sleep 2.5
    done
    return 1
}

tried=0 held=0 saw_full=0 full_exit0=0 failed_at=
[ "$points" -gt 0 ] && [ "$points" -lt "$total" ] || points=$total
for ((p = 0; p < points; p++)); do
    k=$((1 + p * (total - 1) / (points > 1 ? points - 1 : 1)))
    leave=$((p % 2 ? 65536 : 0))
    log="$work/full-$k.log"
    tried=$((tried + 1))
    if full_at "$k" "$leave" "$log"; then
        held=$((held + 1))
        rm -f "$log"
    else
        failed_at="$failed_at $k"
        show "$log" "disk full at write $k ($leave bytes left)"
    fi
done
echo "# the disk filled at $tried points; strata reported a full disk at $saw_full, and exited 0 all the same after $full_exit0 of them"
echo "# disk-full points: $tried tried, $held held${failed_at:+ (failed at:$failed_at)}"
check "strata met the full disk (reported it) at some points" test "$saw_full" -gt 0
# issue 22: run --once exited 0 after "database or disk is full" (5 of 7).
is "$full_exit0" 0 "run --once never exits 0 after a full disk failed a write ($saw_full met it)"
is "$held" "$tried" "disk-full points: $tried tried, $held held"
finish
