#!/usr/bin/env bash
# The README's test command: installs what is needed, builds with warnings
# as errors, and runs every test (unit and integration, the latter against
# real services started on loopback; and, except under SANITIZE=1, the
# 'package' suite, which builds the container image and the Debian
# package). Prints "N passed, N failed" last.
#
#   scripts/test.sh                 # build/ with gcc
#   BUILD=build-asan SANITIZE=1 scripts/test.sh   # clang ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=${BUILD:-build}
opts=(-Dwerror=true)
if [ "${SANITIZE:-0}" = 1 ]; then
  export CC=clang
  opts+=(-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "${opts[@]}" >/dev/null
fi
ninja -C "$build"

# The 'package' suite too (--setup full: the container image and the
# Debian package, built from scratch; minutes, and Debian's mirrors),
# except under the sanitizers, where it would only build them again.
setup=full
if [ "${SANITIZE:-0}" = 1 ]; then setup=default; fi
set +e
meson test -C "$build" --setup "$setup" --print-errorlogs --num-processes 2 "$@"
rc=$?
set -e
# meson names the log after an explicit setup (testlog-full.json); read
# the one this run wrote.
log=$(ls -t "$build"/meson-logs/testlog*.json | head -n 1)
python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
