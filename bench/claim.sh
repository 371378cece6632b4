#!/bin/sh
# claim.sh - benchmark of the job queue in a real state database (not in
# CI): one claim's latency with 200, 2,000 and 20,000 jobs queued, and the
# time to drain each queue claim by claim, for a queue of notify jobs and
# for a mix of pins, notifies and rebuilds in three waves.
#
#   bench/claim.sh [BUILD_DIR]        (default: build)
set -eu

build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
ninja -C "$root/$build" bench/bench-claim >/dev/null
"$root/$build/bench/bench-claim" --drain --mix notify 200 2000 20000
"$root/$build/bench/bench-claim" --drain --mix mixed 200 2000 20000
