#!/usr/bin/env bash
# Configures and builds typenet into ${BUILD_DIR:-build} (Release), after installing what is missing.
# SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer (TYPENET_SANITIZE, -O1 -g1) into
# ${BUILD_DIR:-build-sanitize}, a folder of its own so that it never mixes with the normal build,
# compiled by clang 14 (SANITIZE_CXX to choose another): the suite then also compiles and runs
# with the second compiler the README names, in about g++'s build time (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${SANITIZE:-0}" = 1 ]; then
  build_dir=${BUILD_DIR:-build-sanitize}
  if [ -z "${SANITIZE_CXX:-}" ]; then bash scripts/setup.sh --sanitize; fi
  cxx=$(command -v "${SANITIZE_CXX:-clang++}" || command -v clang++-14 || true)
  [ -n "$cxx" ] || { echo "build: ${SANITIZE_CXX:-clang++} not found (scripts/setup.sh --sanitize installs clang 14)" >&2; exit 1; }
  # A folder configured with another compiler is configured afresh here: CMake's own reset on a
  # new CMAKE_CXX_COMPILER ("You have changed variables that require your cache to be deleted")
  # drops the other -D settings of the same command (cmake 3.25, tried on a small project: an
  # option and the build type given with the new compiler came out unset), which here would
  # build the normal suite into build-sanitize.
  if [ -f "$build_dir/CMakeCache.txt" ] && ! grep -qx "CMAKE_CXX_COMPILER:[A-Z]*=$cxx" "$build_dir/CMakeCache.txt"; then
    echo "build: $build_dir was configured with another compiler; configuring it for $cxx" >&2
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
  fi
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DTYPENET_SANITIZE=ON \
    -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
else
  build_dir=${BUILD_DIR:-build}
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} -DTYPENET_SANITIZE=OFF >/dev/null
fi
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
