#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz-*.c, listed in
# tests/fuzz/meson.build) with clang, ASan and UBSan in build-fuzz/, and
# runs each for FUZZ_SECONDS seconds (default 20: with 17 targets that is
# about 6 minutes in all) from a seed corpus:
# tests/fuzz/corpus/NAME/ and tests/NAME/ when they exist (e.g.
# tests/dockerfile/*), with tests/fuzz/NAME.dict as dictionary when present.
# Fails if any target crashes, leaks or times out; the input that did it
# is left in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh                      # every target, 20 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh dockerfile   # one target, 5 min
set -euo pipefail
cd "$(dirname "$0")/.."

build=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SECONDS:-20}
export CC=clang
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ ! -f "$build/build.ninja" ]; then
  # Everything is instrumented for coverage (fuzzer-no-link) and sanitized;
  # the fuzz executables add the libFuzzer runtime itself.
  meson setup "$build" -Dfuzzing=true -Db_lundef=false \
    -Db_sanitize=address,undefined -Dbuildtype=debugoptimized \
    -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi

# The targets meson knows, as "name path" pairs.
mapfile -t targets < <(meson introspect --targets "$build" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    n = t["name"]
    if t["type"] == "executable" and n.startswith("fuzz-"):
        print(n[5:], os.path.relpath(t["filename"][0]))
')
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets in tests/fuzz/meson.build" >&2
  exit 1
fi

want=("$@")
selected=()
for t in "${targets[@]}"; do
  name=${t%% *}
  if [ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " == *" $name "* ]]; then
    selected+=("$t")
  fi
done
ninja -C "$build" -j "${FUZZ_JOBS:-2}" $(for t in "${selected[@]}"; do
  echo "${t#* }" | sed "s|^$build/||"; done)

failed=()
mkdir -p "$build/artifacts"
for t in "${selected[@]}"; do
  name=${t%% *}
  exe=${t#* }
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  for seeds in "tests/fuzz/corpus/$name" "tests/$name"; do
    if [ -d "$seeds" ]; then
      find "$seeds" -maxdepth 1 -type f -size -64k -exec cp -n {} "$corpus/" \;
    fi
  done
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
        -max_len=65536 -print_final_stats=1
        -artifact_prefix="$build/artifacts/$name-")
  if [ -f "tests/fuzz/$name.dict" ]; then
    args+=(-dict="tests/fuzz/$name.dict")
  fi
  echo "== fuzz-$name for ${seconds}s ($(ls "$corpus" | wc -l) inputs in corpus)"
  if ! "$exe" "${args[@]}" "$corpus" >"$build/fuzz-$name.log" 2>&1; then
    echo "fuzz-$name FAILED; see $build/fuzz-$name.log:" >&2
    grep -E "ERROR|SUMMARY|Test unit written|artifact" \
      "$build/fuzz-$name.log" | head -20 >&2 || true
    failed+=("$name")
  else
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done" \
      "$build/fuzz-$name.log" | tr '\n' ' ' || true
    echo
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#selected[@]} target(s) ran ${seconds}s each without a crash"
