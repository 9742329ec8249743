#!/usr/bin/env bash
# The main job: the BatchNorm ablation. Installs what is missing, builds, then trains
# cifar_cnn_nobn and cifar_cnn_bn at the baseline recipe (SGD lr 0.1, batch 128, constant,
# nothing else) on the full CIFAR-10 training set, prints a table of final loss and test
# accuracy per run, and writes the overlay charts runs/demo/ablation.svg (per epoch) and
# runs/demo/steps.svg (per step, from each run's steps.csv).
#
#   scripts/demo.sh                 2 epochs per network (the default)
#   EPOCHS=30 scripts/demo.sh       the full-length run of the published ablation
#   LIMIT_TRAIN=5000 scripts/demo.sh   a quicker look on a slice
# Works from any directory; the data is found through TYPENET_DATA, then
# data/cifar-10-batches-bin, then ../shared/data/cifar10/cifar-10-batches-bin.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
epochs=${EPOCHS:-2}
out=${OUT:-runs/demo}
limit=()
[ -n "${LIMIT_TRAIN:-}" ] && limit+=(--limit-train "$LIMIT_TRAIN")

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "demo: building into $build_dir (the build log is shown only on failure)"
if ! BUILD_DIR="$build_dir" bash scripts/build.sh >"$log" 2>&1; then
  cat "$log" >&2
  echo "demo: the build failed" >&2
  exit 1
fi

mkdir -p "$out"
declare -A seconds
for model in cnn-nobn cnn-bn; do
  echo
  echo "demo: training $model, baseline recipe (SGD lr 0.1, batch 128), $epochs epochs"
  start=$(date +%s)
  # --on-divergence=continue: a run that blows up is a result of the ablation, not a failure.
  # The no-BN network dies at lr 0.1 either way; with the direct convolutions its loss then
  # freezes at ln 10 as published, while the Winograd transforms turn the dead network's values
  # into NaN (docs/training.md#divergence; scripts/reproduce.sh runs it the same way).
  kernels=()
  [ "$model" = cnn-nobn ] && kernels=(--winograd off)
  status=0
  "$build_dir/bin/typenet-train" --model "$model" --recipe baseline --epochs "$epochs" "${limit[@]}" \
    "${kernels[@]}" --on-divergence=continue --log-every 1 --overwrite --out "$out/$model" "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "demo: typenet-train failed for $model (exit $status)" >&2
    exit "$status"
  fi
  seconds[$model]=$(( $(date +%s) - start ))
done

"$build_dir/bin/typenet-plot" --out "$out/ablation.svg" --title "BatchNorm ablation, SGD lr 0.1" \
  "cnn-nobn=$out/cnn-nobn/metrics.csv" "cnn-bn=$out/cnn-bn/metrics.csv"
# Step by step (steps.csv of --log-every 1): where the no-BN run dies and the BN run learns.
"$build_dir/bin/typenet-plot" --steps --smooth 25 --out "$out/steps.svg" --title "BN ablation, lr 0.1" \
  "cnn-nobn=$out/cnn-nobn/steps.csv" "cnn-bn=$out/cnn-bn/steps.csv" > /dev/null
first_bad=$(awk -F, 'NR > 1 && ($4 == "nan" || $4 == "inf" || $4 + 0 > 1e6) { print $1; exit }' "$out/cnn-nobn/steps.csv")

echo
echo "BatchNorm ablation at SGD lr 0.1, batch 128, $epochs epochs (published, 30 epochs: no-BN 10.0%, BN 61.6%)"
printf '%-10s %12s %12s %12s %10s\n' model "train loss" "test loss" "test acc" seconds
for model in cnn-nobn cnn-bn; do
  tail -n 1 "$out/$model/metrics.csv" | awk -F, -v m="$model" -v s="${seconds[$model]}" \
    '{ printf "%-10s %12.4f %12.4f %11.2f%% %10d\n", m, $2, $4, 100 * $5, s }'
done
echo "ln 10 = 2.3026 is the loss of a network that predicts every class equally."
[ -n "$first_bad" ] && echo "cnn-nobn's batch loss is first beyond 1e6 or not finite at step $first_bad (steps.csv)."
echo "charts: $out/ablation.svg (per epoch), $out/steps.svg (per step)   curves and metrics: $out/<model>/"
