#!/usr/bin/env bash
# Configures and builds typenet into ${BUILD_DIR:-build} (Release), after installing what is missing.
# SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer (TYPENET_SANITIZE, -O1 -g1) into
# ${BUILD_DIR:-build-sanitize}, a folder of its own so that it never mixes with the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${SANITIZE:-0}" = 1 ]; then
  build_dir=${BUILD_DIR:-build-sanitize}
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DTYPENET_SANITIZE=ON >/dev/null
else
  build_dir=${BUILD_DIR:-build}
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} -DTYPENET_SANITIZE=OFF >/dev/null
fi
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
