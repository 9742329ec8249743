#!/usr/bin/env bash
# Installs what typenet needs from Debian 12 packages, only what is missing.
# As root it runs apt-get; otherwise it prints the command to run (and exits 1).
#   scripts/setup.sh            the build and test dependencies
#   scripts/setup.sh --fuzz     what scripts/fuzz.sh needs: clang 14 with libFuzzer (libclang_rt.fuzzer)
#   scripts/setup.sh --sanitize what the sanitized build (SANITIZE=1 scripts/build.sh) adds: clang 14,
#                               its sanitizer runtimes and its OpenMP (libomp)
#   scripts/setup.sh PKG...     these packages instead (e.g. python3-torch for scripts/bench-peers.sh)
set -euo pipefail

packages=(g++ cmake make libboost-dev xtl-dev libxtensor-dev libxsimd-dev catch2 libpng-dev libturbojpeg0-dev libstb-dev
          nlohmann-json3-dev python3
          libopenmpi-dev openmpi-bin)
if [ "${1:-}" = --fuzz ]; then
  packages=(clang-14 libclang-rt-14-dev libpng-dev libturbojpeg0-dev libstb-dev nlohmann-json3-dev cmake make)
elif [ "${1:-}" = --sanitize ]; then
  packages=(clang-14 libclang-rt-14-dev libomp-14-dev)
elif [ $# -gt 0 ]; then
  packages=("$@")
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "setup: missing Debian packages: ${missing[*]}" >&2
  echo "setup: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
