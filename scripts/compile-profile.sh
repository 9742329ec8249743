#!/usr/bin/env bash
# Where a build's time goes: builds typenet from scratch in a folder of its own with this script
# as the compiler launcher, which records the CPU-seconds (user + system) of every compile; then
# prints them, largest first, and their total (docs/testing.md's per-object figures). CPU time,
# not wall time, so that a figure means the same with other work beside the build.
#
#   scripts/compile-profile.sh [BUILD_DIR [CMAKE_ARGS...]]
#   scripts/compile-profile.sh                   # the normal Release build, into build-profile
#   scripts/compile-profile.sh build-profile-san -DTYPENET_SANITIZE=ON \
#       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++   # the sanitized build
#
# BUILD_DIR [build-profile] is emptied first; CMAKE_ARGS come after -DCMAKE_BUILD_TYPE=Release,
# so they can override it. Environment: JOBS [nproc], TARGET [all] (one target and what it needs).
# Output: "CPU-seconds object" a line, then "total CPU-seconds (N compiles)"; also kept in
# BUILD_DIR/compile-times.txt.
set -euo pipefail
if [ "${1:-}" = --launch ]; then  # as the compiler launcher: run the compile, record its CPU time
  shift
  out=? prev=
  for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
  t=$(mktemp)
  status=0
  /usr/bin/time -q -f '%U %S' -o "$t" "$@" || status=$?
  awk -v o="$out" 'END { printf "%.2f %s\n", $1 + $2, o }' "$t" >> "$TYPENET_COMPILE_LOG"
  rm -f "$t"
  exit "$status"
fi
cd "$(dirname "$0")/.."
dir=${1:-build-profile}
[ $# -gt 0 ] && shift
bash scripts/setup.sh
[ -x /usr/bin/time ] || bash scripts/setup.sh time
rm -rf "$dir"
mkdir -p "$dir"
export TYPENET_COMPILE_LOG=$(cd "$dir" && pwd)/compile-times.txt
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" \
  "-DCMAKE_CXX_COMPILER_LAUNCHER=$PWD/scripts/compile-profile.sh;--launch" >/dev/null
cmake --build "$dir" -j "${JOBS:-$(nproc)}" ${TARGET:+--target "$TARGET"} >/dev/null
sort -rn "$TYPENET_COMPILE_LOG"
awk '{ s += $1 } END { printf "total %.0f CPU-seconds (%d compiles)\n", s, NR }' "$TYPENET_COMPILE_LOG"
