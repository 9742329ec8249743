#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit tests, gradient checks,
# compile-fail tests, the installed-package consumer test, and the examples).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir=${BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@"
