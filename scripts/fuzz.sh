#!/usr/bin/env bash
# Fuzzes typenet's readers of outside bytes with libFuzzer (tests/fuzz/, docs/testing.md):
#   scripts/fuzz.sh [SECONDS]     each target SECONDS seconds (default 30), JOBS targets at a
#                                 time (default: the number of cores; each target is one process)
# Configures a clang build of its own in ${FUZZ_BUILD_DIR:-build-fuzz} (-DTYPENET_FUZZ=ON: the
# reader sources and the targets only, with ASan and UBSan), installs clang if missing
# (scripts/setup.sh --fuzz), then runs each target on a fresh copy of its seed corpus
# (tests/fuzz/corpus/<target>/) in build-fuzz/fuzz-work/<target>/. Prints per target
#   fuzz checkpoint: 123456 runs in 30 s, clean
# and exits 1 if any target crashed, naming the crashing input (copy it into the corpus and add
# a regression test when the reader is fixed). Extra libFuzzer flags: FUZZ_FLAGS="-jobs=..." etc.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
case $seconds in '' | *[!0-9]* | 0) echo "usage: scripts/fuzz.sh [SECONDS] (a whole number > 0)" >&2; exit 2 ;; esac
jobs=${JOBS:-$(nproc)}
case $jobs in '' | *[!0-9]* | 0) echo "fuzz: JOBS must be a whole number > 0, not '$jobs'" >&2; exit 2 ;; esac
bash scripts/setup.sh --fuzz
cxx=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (scripts/setup.sh --fuzz installs clang-14)" >&2; exit 1; }
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=(checkpoint cifar10 cifar100 idx image metrics_csv step_table npz config)
cmake -S . -B "$build" -DTYPENET_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]/#/fuzz_}" >/dev/null

# fuzz_one TARGET: SECONDS of libFuzzer on a fresh copy of the target's seed corpus; writes its
# verdict to fuzz-work/TARGET/verdict (printed below in the targets' order, whatever order they end in).
fuzz_one() {
  local t=$1 work=$build/fuzz-work/$1 start end rc=0 runs secs crash
  rm -rf "$work" && mkdir -p "$work/corpus"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  start=$(date +%s.%N)
  # -rss_limit_mb: a reader that allocates what a crafted size claims fails here as an "oom" crash.
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$work/" ${FUZZ_FLAGS:-} "$work/corpus" >"$work/log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  crash=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) -print -quit)
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    { echo "fuzz $t: CRASH after ${runs:-?} runs in $secs s (exit $rc): ${crash:-no artifact} (log: $work/log)"
      grep -m 3 -E "ERROR: |runtime error:|SUMMARY:" "$work/log" | sed 's/^/  /' || true; } > "$work/verdict"
  else
    echo "fuzz $t: ${runs:-?} runs in $secs s, clean" > "$work/verdict"
  fi
}

# Each target is one single-threaded process: JOBS of them at a time keep every core fuzzing (the
# same SECONDS per target as one after another, in a fraction of the wall time).
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait
failed=0
for t in "${targets[@]}"; do
  verdict=$build/fuzz-work/$t/verdict
  if [ -s "$verdict" ]; then cat "$verdict"; else echo "fuzz $t: no verdict (the script's run of it failed)"; fi
  grep -q "CRASH" "$verdict" 2>/dev/null && failed=1
  [ -s "$verdict" ] || failed=1
done
exit "$failed"
