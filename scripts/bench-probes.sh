#!/usr/bin/env bash
# What the loss-landscape probes of typenet-train (--landscape-every K) cost: one epoch of a
# subset trained with probes and without, alternating round by round (the order flipped every
# round: these machines drift by 2x between runs, and only figures of one session compare).
# Prints each round's epoch seconds (metrics.csv's seconds: training and the small evaluation),
# then the medians of each and of the per-round ratios with / without (with their min..max).
#
#   scripts/bench-probes.sh                      # cnn-bn, lr 0.02, 12,800 images (100 steps), K = 25
#   MODEL=resnet20 EVERY=100 LIMIT=25600 ROUNDS=5 scripts/bench-probes.sh
#
# A probe costs one forward and backward pass per step-size multiple (six by default) on the
# step's batch, so K = 25 adds 24 passes to every 100 steps' 100; what that costs in time is
# what this measures. Environment (defaults in brackets): BUILD_DIR [build], MODEL [cnn-bn],
# LR [0.02], LIMIT [12800] (training images), EVERY [25], ROUNDS [3], THREADS [all cores].
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/rounds.sh && rounds=$(rounds_from_env bench-probes 3)
source scripts/median.sh
train=${BUILD_DIR:-build}/bin/typenet-train
[ -x "$train" ] || { echo "bench-probes: no $train (scripts/build.sh builds it)" >&2; exit 2; }
model=${MODEL:-cnn-bn} lr=${LR:-0.02} limit=${LIMIT:-12800} every=${EVERY:-25}
threads=(); [ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
seconds_none=() seconds_probes=() ratios=()
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $model, lr $lr, 1 epoch of $limit images, a probe every $every steps or none; $rounds rounds alternating;" \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
for r in $(seq "$rounds"); do
  order="none probes"; [ $((r % 2)) = 0 ] && order="probes none"
  for w in $order; do
    extra=(); [ "$w" = probes ] && extra=(--landscape-every "$every")
    rm -rf "$work/run"
    "$train" --model "$model" --recipe baseline --lr "$lr" --epochs 1 --limit-train "$limit" --limit-test 128 --quiet \
      "${threads[@]}" "${extra[@]}" --out "$work/run" > /dev/null
    s=$(awk -F, 'NR == 2 { print $8 }' "$work/run/metrics.csv")
    if [ "$w" = probes ]; then seconds_probes+=("$s"); else seconds_none+=("$s"); fi
    echo "round $r $w $s s"
  done
  ratios+=("$(awk -v b="${seconds_probes[-1]}" -v a="${seconds_none[-1]}" 'BEGIN { print b / a }')")
done
read -r lo hi < <(printf '%s\n' "${ratios[@]}" | awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } END { print lo, hi }')
awk -v a="$(median "${seconds_none[@]}")" -v b="$(median "${seconds_probes[@]}")" -v q="$(median "${ratios[@]}")" -v lo="$lo" -v hi="$hi" 'BEGIN {
  printf "median epoch: without probes %.2f s, with %.2f s; with / without %.3f (%+.0f%%; rounds %.3f..%.3f)\n",
    a, b, q, 100 * (q - 1), lo, hi }'
