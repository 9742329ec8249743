#!/usr/bin/env bash
# Data-parallel training against one process on this machine (issue 21, docs/distributed.md):
#   A  typenet-train, 1 process x THREADS threads (default nproc)
#   B  mpirun -np RANKS typenet-train, 1 thread a rank, gradients summed in buckets while the
#      backward pass runs (--grad-buckets 256, the default)
#   C  the same as B with --grad-buckets 0: one blocking sum per tensor after the backward pass
# The three alternate round by round (the order rotates every round: these machines drift by 2x
# between runs). Each run trains MODEL for 2 epochs of LIMIT images in batches of BATCH; the
# figure is the second epoch's training img/s (metrics.csv). Prints per round and the medians:
# the ratios B/A and C/A, and from rank 0's log the milliseconds a step waited for the gradient
# sums after backward: C's is the whole all-reduce, B's what the overlap did not hide, and
# 1 - B/C the fraction hidden.
#
#   scripts/bench-mpi.sh                      # resnet20, 3 rounds, 2 ranks, batch 128, 2560 images
#   MODEL=cnn-bn ROUNDS=5 scripts/bench-mpi.sh
# Environment: MODEL [resnet20] ROUNDS [3] RANKS [2] THREADS [nproc] BATCH [128] LIMIT [2560]
#   BUILD_DIR [build] KEEP [unset: a directory to keep the runs in]. Needs CIFAR-10 (as typenet-train).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${MODEL:-resnet20}
source scripts/rounds.sh && rounds=$(rounds_from_env bench-mpi 3)
source scripts/median.sh
ranks=${RANKS:-2}
threads=${THREADS:-$(nproc)}
batch=${BATCH:-128}
limit=${LIMIT:-2560}
train=${BUILD_DIR:-build}/bin/typenet-train
[ -x "$train" ] || { echo "bench-mpi: $train not found (scripts/build.sh builds it)" >&2; exit 1; }
command -v mpirun > /dev/null || { echo "bench-mpi: mpirun not found (scripts/setup.sh installs openmpi-bin)" >&2; exit 1; }
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
args=(--model "$model" --batch "$batch" --limit-train "$limit" --limit-test 256 --epochs 2 --overwrite)

echo "bench-mpi: $model, batch $batch, $limit images an epoch, $rounds rounds; $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
# run NAME ROUND: one run; prints "img/s ms-waited-a-step" of its second epoch.
run() {
  local out=$work/$1-$2
  case $1 in
    A) OMP_NUM_THREADS=$threads "$train" "${args[@]}" --out "$out" > "$out.log" 2>&1 ;;
    B) OMP_NUM_THREADS=1 mpirun -np "$ranks" "$train" "${args[@]}" --out "$out" > "$out.log" 2>&1 ;;
    C) OMP_NUM_THREADS=1 mpirun -np "$ranks" "$train" "${args[@]}" --grad-buckets 0 --out "$out" > "$out.log" 2>&1 ;;
  esac || { echo "bench-mpi: run $1 failed:" >&2; tail -n 20 "$out.log" >&2; exit 1; }
  local ips wait
  ips=$(awk -F, 'NR == 3 { print $9 }' "$out/metrics.csv")
  wait=$(sed -n 's/^epoch 2\/2: .*, \([0-9.]*\) ms a step waiting for the gradient sums.*/\1/p' "$out.log")
  echo "$ips ${wait:-0}"
}
declare -a ba ca bw cw
order=(A B C)
for r in $(seq "$rounds"); do
  declare -A got=()
  for k in 0 1 2; do
    name=${order[$(( (k + r - 1) % 3 ))]}
    got[$name]=$(run "$name" "$r")
  done
  read -r a _ <<< "${got[A]}"; read -r b wb <<< "${got[B]}"; read -r c wc <<< "${got[C]}"
  ba+=("$(awk -v x="$b" -v y="$a" 'BEGIN { printf "%.3f", x / y }')")
  ca+=("$(awk -v x="$c" -v y="$a" 'BEGIN { printf "%.3f", x / y }')")
  bw+=("$wb"); cw+=("$wc")
  printf 'round %d: A %s img/s (1 x %s threads) | B %s img/s, %s ms a step waiting (%s ranks x 1, buckets) | C %s img/s, %s ms (no overlap) | B/A %s C/A %s\n' \
    "$r" "$a" "$threads" "$b" "$wb" "$ranks" "$c" "$wc" "${ba[-1]}" "${ca[-1]}"
done
mb=$(median "${bw[@]}"); mc=$(median "${cw[@]}")
echo "median: B/A $(median "${ba[@]}"), C/A $(median "${ca[@]}"); waiting for the gradient sums $mb ms a step with the overlap, $mc ms without: $(awk -v b="$mb" -v c="$mc" 'BEGIN { if (c > 0) printf "%.0f%%", 100 * (1 - b / c); else print "n/a" }') hidden"
