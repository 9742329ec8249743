#!/usr/bin/env bash
# Data-parallel training over a network link, on one machine: the check of docs/distributed.md's
# cost model (issue 21). Two network namespaces joined by a veth pair stand for two machines; tc's
# token bucket (tbf) limits the link's rate in both directions; Open MPI's TCP transport
# carries the collectives (mpirun in the first namespace starts the second rank through an rsh
# agent that enters the second one). For every LINK:
#   1. typenet-comm-bench over the link: alpha (a 2-double sum) and the bandwidth (16 MiB sums);
#   2. per MODEL, 2 ranks x 1 thread train 2 epochs of LIMIT images, batch BATCH, four ways:
#      global (synchronized BN, gradient buckets overlapped with backward, a progress thread),
#      the same with --grad-progress calls (the sums move only inside the MPI calls at the layers'
#      ends), global with --grad-buckets 0 (no overlap), local (no BN exchange); the figure is
#      epoch 2's step time;
#   3. scripts/cost-model.py predicts them from alpha, the bandwidth, the model's census and
#      the step of the same training over shared memory (both ranks in one namespace: the compute).
# Prints measured against predicted. Needs root (ip netns, tc), Open MPI, CIFAR-10 (as typenet-train).
#
#   scripts/bench-wire.sh
#   LINKS="10gbit 1gbit" MODELS=resnet20 scripts/bench-wire.sh
# Environment: LINKS ["unlimited 1gbit 200mbit"] (tc rates; netem, which would add delay, is not in
#   every kernel: this one lacks it) MODELS ["resnet20 cnn-bn"] BATCH [128] LIMIT [2560]
#   BUILD_DIR [build] KEEP [unset: a directory to keep the runs in]
set -euo pipefail
cd "$(dirname "$0")/.."
links=${LINKS:-unlimited 1gbit 200mbit}
models=${MODELS:-resnet20 cnn-bn}
batch=${BATCH:-128}
limit=${LIMIT:-2560}
build=${BUILD_DIR:-build}
die() { echo "bench-wire: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (ip netns, tc)"
for t in ip tc mpirun /usr/bin/python3; do command -v "$t" > /dev/null || die "$t not found"; done
for b in typenet-train typenet-bench typenet-comm-bench; do
  [ -x "$build/bin/$b" ] || die "$build/bin/$b not found (scripts/build.sh builds it; typenet-comm-bench needs MPI)"
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
ns0=typenet-wire0 ns1=typenet-wire1 net=10.211.0
cleanup() {
  ip netns del $ns0 2> /dev/null || true
  ip netns del $ns1 2> /dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
cleanup_ns() { ip netns del $ns0 2> /dev/null || true; ip netns del $ns1 2> /dev/null || true; }
cleanup_ns
ip netns add $ns0
ip netns add $ns1
ip link add wire0 type veth peer name wire1
ip link set wire0 netns $ns0
ip link set wire1 netns $ns1
ip -n $ns0 addr add $net.1/24 dev wire0
ip -n $ns1 addr add $net.2/24 dev wire1
for n in 0 1; do
  ip -n typenet-wire$n link set lo up
  ip -n typenet-wire$n link set wire$n up
done
# Open MPI's rsh launcher calls "agent HOST COMMAND": the second "host" is the second namespace.
cat > "$work/agent.sh" << EOF
#!/bin/sh
host=\$1; shift
case \$host in $net.1) ns=$ns0 ;; $net.2) ns=$ns1 ;; *) echo "agent: unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec \$ns /bin/sh -c "\$*"
EOF
chmod +x "$work/agent.sh"
# --bind-to none: each "machine" would bind its rank to its core 0, the same core of this machine.
wire_mpirun=(ip netns exec $ns0 mpirun --mca plm_rsh_agent "$work/agent.sh" -H $net.1,$net.2 -np 2 --map-by node --bind-to none
             --mca btl tcp,self --mca btl_tcp_if_include $net.0/24 --mca oob_tcp_if_include $net.0/24
             -x OMP_NUM_THREADS=1 --wdir "$PWD")
[ -z "${TYPENET_DATA:-}" ] || wire_mpirun+=(-x TYPENET_DATA)
local_mpirun=(ip netns exec $ns0 mpirun -np 2 --bind-to none --mca btl self,vader -x OMP_NUM_THREADS=1)
set_link() {  # RATE on both ends' egress, or unlimited. The bucket holds 128 KiB: more than one
  # 64 KiB segment of the veth's segmentation offload, a few ms at the rates above 200 Mbit/s.
  for n in 0 1; do
    ip netns exec typenet-wire$n tc qdisc del dev wire$n root 2> /dev/null || true
    [ "$1" = unlimited ] || ip netns exec typenet-wire$n tc qdisc add dev wire$n root tbf rate "$1" burst 128kb latency 100ms \
      || die "tc cannot limit the link to $1"
  done
}
# train NAME MPIRUN... -- FLAGS: one run; prints "step-ms wait-ms" of epoch 2
train() {
  local name=$1; shift
  local runner=()
  while [ "$1" != -- ]; do runner+=("$1"); shift; done
  shift
  local out=$work/$name
  "${runner[@]}" "$build/bin/typenet-train" --model "$model" --batch "$batch" --limit-train "$limit" --limit-test 256 \
    --epochs 2 --overwrite --out "$out" "$@" > "$out.log" 2>&1 || { tail -n 20 "$out.log" >&2; die "run $name failed"; }
  local ips wait
  ips=$(awk -F, 'NR == 3 { print $9 }' "$out/metrics.csv")
  wait=$(sed -n 's/^epoch 2\/2: .*, \([0-9.]*\) ms a step waiting for the gradient sums.*/\1/p' "$out.log")
  awk -v b="$batch" -v i="$ips" -v w="${wait:-0}" 'BEGIN { printf "%.1f %s\n", 1000 * b / i, w }'
}

echo "bench-wire: 2 ranks x 1 thread, batch $batch ($((batch / 2)) a rank), $limit images an epoch;" \
     "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
declare -A base
for model in $models; do
  "$build/bin/typenet-bench" --model "$model" --batch $((batch / 2)) --threads 1 --steps 5 --no-peak --json \
    > "$work/bench-$model.json"
  read -r base[$model] _ < <(train "$model-shm" "${local_mpirun[@]}" --)
  echo "  $model over shared memory (the compute the model adds the link to): ${base[$model]} ms a step"
done
for link in $links; do
  set_link "$link"
  "${wire_mpirun[@]}" "$build/bin/typenet-comm-bench" --reps 20 --json > "$work/comm-$link.json" \
    2> "$work/comm-$link.log" || { cat "$work/comm-$link.log" >&2; die "typenet-comm-bench over $link failed"; }
  read -r alpha gbit < <(/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
print(j["sum_2_doubles_us"], j["gradient_sum"][-1]["bus_gbit_per_s"])' "$work/comm-$link.json")
  "${wire_mpirun[@]}" "$build/bin/typenet-comm-bench" --reps 6 --progress calls --json > "$work/comm-calls-$link.json" \
    2> "$work/comm-calls-$link.log" || { cat "$work/comm-calls-$link.log" >&2; die "typenet-comm-bench over $link failed"; }
  /usr/bin/python3 - "$work/comm-$link.json" "$work/comm-calls-$link.json" "$link" << 'EOF'
import json, sys
t, c = (json.load(open(f)) for f in sys.argv[1:3])
print("link %s: alpha %.1f us (a 2-double sum), %.3f Gbit/s (16 MiB sums); a sum of 8 MiB alone %.1f ms, then "
      "started before %.1f ms of computing without MPI calls: %.1f ms left to wait with the progress thread, %.1f ms "
      "with the calls alone" % (sys.argv[3], t["sum_2_doubles_us"], t["gradient_sum"][-1]["bus_gbit_per_s"],
      t["overlap"]["sum_ms"], t["overlap"]["busy_ms"], t["overlap"]["left_after_busy_ms"],
      c["overlap"]["left_after_busy_ms"]))
EOF
  for model in $models; do
    read -r g gw < <(train "$model-$link-global" "${wire_mpirun[@]}" --)
    read -r p pw < <(train "$model-$link-calls" "${wire_mpirun[@]}" -- --grad-progress calls)
    read -r c cw < <(train "$model-$link-nooverlap" "${wire_mpirun[@]}" -- --grad-buckets 0)
    read -r l lw < <(train "$model-$link-local" "${wire_mpirun[@]}" -- --bn-sync local)
    /usr/bin/python3 scripts/cost-model.py predict --bench "$work/bench-$model.json" --ranks 2 --alpha-us "$alpha" \
      --gbit "$gbit" --base-ms "${base[$model]}" --measured "global=$g/$gw,global-calls=$p/$pw,global-no-overlap=$c/$cw,local=$l/$lw"
  done
done
