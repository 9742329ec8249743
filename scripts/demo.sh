#!/usr/bin/env bash
# The CIFAR-10 demo: installs what is missing and builds (scripts/build.sh), then trains the
# small CNN of examples/cifar_slice.cpp on its default slice and prints the per-epoch table.
# Works from any directory. Extra arguments go to cifar_slice (e.g. --epochs 5, --data DIR);
# the data is found as cifar_slice --help describes ($TYPENET_DATA, data/cifar-10-batches-bin,
# ../shared/data/cifar10/cifar-10-batches-bin).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "demo: building into $build_dir (log of the build is shown only on failure)"
if ! BUILD_DIR="$build_dir" bash scripts/build.sh >"$log" 2>&1; then
  cat "$log" >&2
  echo "demo: the build failed" >&2
  exit 1
fi

echo "demo: training (all 50000 training and 10000 test images, 5 epochs; about 1.5 minutes on 2 cores)"
status=0
"$build_dir/bin/cifar_slice" "$@" || status=$?
case $status in
  0) echo "demo: done" ;;
  77) echo "demo: CIFAR-10 not found; put the binary version in data/cifar-10-batches-bin or set TYPENET_DATA" >&2 ;;
  *) echo "demo: cifar_slice failed (exit $status)" >&2 ;;
esac
exit $status
