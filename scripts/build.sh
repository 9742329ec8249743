#!/usr/bin/env bash
# Configures and builds typenet into ${BUILD_DIR:-build} (Release), after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} >/dev/null
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"
