#!/usr/bin/env bash
# Runs a measured result of docs/results.md by name, with the exact settings used, into runs/NAME/
# (ignored by git). A run that has a checkpoint in runs/NAME/ is resumed from it, so a long run
# can be interrupted (Ctrl-C, a closed session) and started again with the same command.
#
#   scripts/reproduce.sh --list            # every name, with its command
#   scripts/reproduce.sh NAME [NAME...]    # run these (a group name runs all of its runs)
#   scripts/reproduce.sh --print NAME      # print the command only
#
# The learning-rate sweep's points at 0.02 and 0.1 are epoch 10 of the ablation runs: the same
# settings with a constant rate, so epoch 10 of a 30-epoch run is a 10-epoch run (CTest's
# cli.resume checks the like: a 1-epoch run resumed to 3 epochs has every metric of a straight
# 3-epoch run; momentum-0.1 repeats ablation-bn-0.1's first 10 epochs with the same build; with
# another build the last bits differ and the runs drift apart, docs/results.md says by how
# much); lr-{nobn,bn}-{0.02,0.1} run them alone. scripts/results.sh turns runs/ into the
# tables and charts of docs/results.md; scripts/results.sh --record NAME keeps a finished run's
# records (never its checkpoints) in git, in docs/results/runs/NAME/, where results.sh reads
# them when runs/ is gone.
#
# Environment: BUILD_DIR [build], THREADS [all cores], TYPENET_DATA (see docs/training.md).
# Exit code: 0 when every run finished, 1 when one failed, 2 for an unknown name.
set -euo pipefail
# The whole script is one brace group, parsed before it runs: editing this file while a long
# run is going (bash reads scripts as it executes them) cannot change what the run does next.
{
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
train=$build_dir/bin/typenet-train

# name | typenet-train arguments (without --out), or "torch:" and the arguments of the PyTorch
# twin bench/torch_resnet20_train.py (the same ResNet-20 recipe on the same data; needs Debian's
# python3-torch; resumed from runs/NAME/last.pt)
# The no-BN runs at lr 0.1 use the direct convolutions: the run dies at step 8 either way, but
# only then does the loss freeze at ln 10 as published; the Winograd transforms turn the dead
# network's values into NaN (docs/training.md#divergence). init-pytorch-nobn is a no-BN run at
# lr 0.1 that does not die (PyTorch's smaller initialisation), so it keeps the default kernels.
# The small-batch study (docs/results.md): ResNet-20, the resnet recipe for 15 epochs, batch 128,
# normalisation statistics over groups of 2..128 samples (--bn-group) for batch norm and batch
# renorm; group norm, layer norm and none as references; batch renorm's ramp scaled from the
# paper's ImageNet steps to epochs 1 (start), 5 (dmax 5) and 7 (rmax 3) of 390 steps. batch8-*:
# real batches of 8 at the linearly scaled rate 0.1 * 8 / 128 (the same ramp in epochs), with a
# last.ckpt every 10 minutes, since an epoch of 6,250 steps is long enough to lose to a restart.
# why-*: issue 22's runs (docs/why-batch-norm-works.md): per-step records (steps.csv) and
# loss-landscape probes (landscape.csv); the ResNets at the explainers' recipe (SGD momentum 0.9,
# lr 0.01 constant, weight decay 2e-4 on every parameter, batch 128, pad-crop 4 and flip) with
# PyTorch's initialisation, as the explainers' PyTorch networks start; the -he pair with ours
# (He), under which the ResNet without normalisation dies at step 4, so it runs one epoch only.
runs=$(cat <<'EOF'
ablation-nobn-0.1|--model cnn-nobn --recipe baseline --lr 0.1 --epochs 30 --on-divergence continue --winograd off
ablation-bn-0.1|--model cnn-bn --recipe baseline --lr 0.1 --epochs 30 --on-divergence continue
ablation-nobn-0.02|--model cnn-nobn --recipe baseline --lr 0.02 --epochs 30 --on-divergence continue
ablation-bn-0.02|--model cnn-bn --recipe baseline --lr 0.02 --epochs 30 --on-divergence continue
lr-nobn-0.01|--model cnn-nobn --recipe baseline --lr 0.01 --epochs 10 --on-divergence continue
lr-nobn-0.02|--model cnn-nobn --recipe baseline --lr 0.02 --epochs 10 --on-divergence continue
lr-nobn-0.05|--model cnn-nobn --recipe baseline --lr 0.05 --epochs 10 --on-divergence continue
lr-nobn-0.1|--model cnn-nobn --recipe baseline --lr 0.1 --epochs 10 --on-divergence continue --winograd off
lr-nobn-0.2|--model cnn-nobn --recipe baseline --lr 0.2 --epochs 10 --on-divergence continue
lr-nobn-0.5|--model cnn-nobn --recipe baseline --lr 0.5 --epochs 10 --on-divergence continue
lr-bn-0.01|--model cnn-bn --recipe baseline --lr 0.01 --epochs 10 --on-divergence continue
lr-bn-0.02|--model cnn-bn --recipe baseline --lr 0.02 --epochs 10 --on-divergence continue
lr-bn-0.05|--model cnn-bn --recipe baseline --lr 0.05 --epochs 10 --on-divergence continue
lr-bn-0.1|--model cnn-bn --recipe baseline --lr 0.1 --epochs 10 --on-divergence continue
lr-bn-0.2|--model cnn-bn --recipe baseline --lr 0.2 --epochs 10 --on-divergence continue
lr-bn-0.5|--model cnn-bn --recipe baseline --lr 0.5 --epochs 10 --on-divergence continue
best-full|--model cnn-bn --recipe full --epochs 30
best-full-10|--model cnn-bn --recipe full --epochs 10
best-no-augment|--model cnn-bn --recipe full --epochs 10 --augment false
best-no-smoothing|--model cnn-bn --recipe full --epochs 10 --label-smoothing 0
best-no-weight-decay|--model cnn-bn --recipe full --epochs 10 --weight-decay 0
best-no-warmup|--model cnn-bn --recipe full --epochs 10 --warmup-epochs 0
best-no-cosine|--model cnn-bn --recipe full --epochs 10 --schedule constant
momentum-0.5|--model cnn-bn --recipe baseline --bn-momentum 0.5 --epochs 10
momentum-0.1|--model cnn-bn --recipe baseline --bn-momentum 0.1 --epochs 10
momentum-0.01|--model cnn-bn --recipe baseline --bn-momentum 0.01 --epochs 10
resnet20|--model resnet20 --recipe resnet --epochs 100
resnet20-10|--model resnet20 --recipe resnet --epochs 10
torch-resnet20|torch: --epochs 100
torch-resnet20-10|torch: --epochs 10
short-nobn-0.1|--model cnn-nobn --recipe baseline --lr 0.1 --epochs 2 --on-divergence continue --winograd off
short-bn-0.1|--model cnn-bn --recipe baseline --lr 0.1 --epochs 2 --on-divergence continue
short-nobn-0.02|--model cnn-nobn --recipe baseline --lr 0.02 --epochs 2 --on-divergence continue
short-bn-0.02|--model cnn-bn --recipe baseline --lr 0.02 --epochs 2 --on-divergence continue
init-pytorch-nobn|--model cnn-nobn --recipe baseline --lr 0.1 --epochs 2 --init pytorch --on-divergence continue
init-pytorch-bn|--model cnn-bn --recipe baseline --lr 0.1 --epochs 2 --init pytorch --on-divergence continue
small-bn-g2|--model resnet20 --recipe resnet --epochs 15 --bn-group 2
small-bn-g4|--model resnet20 --recipe resnet --epochs 15 --bn-group 4
small-bn-g8|--model resnet20 --recipe resnet --epochs 15 --bn-group 8
small-bn-g16|--model resnet20 --recipe resnet --epochs 15 --bn-group 16
small-bn-g32|--model resnet20 --recipe resnet --epochs 15 --bn-group 32
small-bn-g128|--model resnet20 --recipe resnet --epochs 15
small-brn-g2|--model resnet20-brn --recipe resnet --epochs 15 --bn-group 2 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-brn-g4|--model resnet20-brn --recipe resnet --epochs 15 --bn-group 4 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-brn-g8|--model resnet20-brn --recipe resnet --epochs 15 --bn-group 8 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-brn-g16|--model resnet20-brn --recipe resnet --epochs 15 --bn-group 16 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-brn-g32|--model resnet20-brn --recipe resnet --epochs 15 --bn-group 32 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-brn-g128|--model resnet20-brn --recipe resnet --epochs 15 --renorm-start 390 --renorm-dmax-end 1950 --renorm-rmax-end 2730
small-gn|--model resnet20-gn --recipe resnet --epochs 15
small-ln|--model resnet20-ln --recipe resnet --epochs 15
small-nonorm|--model resnet20-nonorm --recipe resnet --epochs 15 --on-divergence continue
batch8-bn|--model resnet20 --recipe resnet --epochs 15 --batch 8 --lr 0.00625 --checkpoint-every 10
batch8-gn|--model resnet20-gn --recipe resnet --epochs 15 --batch 8 --lr 0.00625 --checkpoint-every 10
batch8-brn|--model resnet20-brn --recipe resnet --epochs 15 --batch 8 --lr 0.00625 --renorm-start 6250 --renorm-dmax-end 31250 --renorm-rmax-end 43750 --checkpoint-every 10
why-cnn-bn-0.02|--model cnn-bn --recipe baseline --lr 0.02 --epochs 10 --log-every 1 --landscape-every 25
why-cnn-nobn-0.02|--model cnn-nobn --recipe baseline --lr 0.02 --epochs 10 --log-every 1 --landscape-every 25 --on-divergence continue
why-cnn-bn-0.1|--model cnn-bn --recipe baseline --lr 0.1 --epochs 10 --log-every 1 --landscape-every 25
why-resnet20-bn|--model resnet20 --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --init pytorch --epochs 20 --log-every 1 --landscape-every 100
why-resnet20-nonorm|--model resnet20-nonorm --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --init pytorch --epochs 20 --log-every 1 --landscape-every 100 --on-divergence continue
why-resnet20-bn-he|--model resnet20 --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --epochs 20 --log-every 1 --landscape-every 100
why-resnet20-nonorm-he|--model resnet20-nonorm --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --epochs 1 --log-every 1 --on-divergence continue
why-resnet18-bn|--model resnet18 --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --init pytorch --epochs 3 --log-every 1 --checkpoint-every 10
why-resnet18-nonorm|--model resnet18-nonorm --recipe baseline --lr 0.01 --momentum 0.9 --weight-decay 2e-4 --augment true --init pytorch --epochs 3 --log-every 1 --checkpoint-every 10 --on-divergence continue
dist-1x128|--model resnet20 --recipe resnet --epochs 10 --batch 128
dist-2x64-global|mpi:2 --model resnet20 --recipe resnet --epochs 10 --batch 128 --bn-sync global
dist-2x64-local|mpi:2 --model resnet20 --recipe resnet --epochs 10 --batch 128 --bn-sync local
EOF
)
groups=$(cat <<'EOF'
ablation|ablation-nobn-0.1 ablation-bn-0.1 ablation-nobn-0.02 ablation-bn-0.02
lr-headroom|lr-nobn-0.01 lr-nobn-0.05 lr-nobn-0.2 lr-nobn-0.5 lr-bn-0.01 lr-bn-0.05 lr-bn-0.2 lr-bn-0.5
leave-one-out|best-full-10 best-no-augment best-no-smoothing best-no-weight-decay best-no-warmup best-no-cosine
momentum|momentum-0.5 momentum-0.1 momentum-0.01
short|short-nobn-0.1 short-bn-0.1 short-nobn-0.02 short-bn-0.02 init-pytorch-nobn init-pytorch-bn
small-batch|small-bn-g2 small-bn-g4 small-bn-g8 small-bn-g16 small-bn-g32 small-bn-g128 small-brn-g2 small-brn-g4 small-brn-g8 small-brn-g16 small-brn-g32 small-brn-g128 small-gn small-ln small-nonorm
batch8|batch8-bn batch8-gn batch8-brn
why-bn-landscape|why-cnn-bn-0.02 why-cnn-nobn-0.02 why-cnn-bn-0.1
why-bn-resnet|why-resnet20-nonorm-he why-resnet20-bn why-resnet20-nonorm why-resnet18-bn why-resnet18-nonorm why-resnet20-bn-he
dist-learning|dist-1x128 dist-2x64-global dist-2x64-local
EOF
)

args_of() { awk -F'|' -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' <<<"$runs"; }
members_of() { awk -F'|' -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' <<<"$groups"; }

# command NAME TRAIN: sets cmd to the run's command (without --out) and checkpoint to the file
# its resume starts from; TRAIN is how typenet-train is spelled.
command() {
  local a
  read -ra a <<<"$(args_of "$1")"
  if [ "${a[0]}" = torch: ]; then
    cmd=(/usr/bin/python3 bench/torch_resnet20_train.py --data "$(data_dir)" "${a[@]:1}") checkpoint=last.pt
  elif [[ ${a[0]} == mpi:* ]]; then  # mpi:N: N ranks of typenet-train (docs/distributed.md)
    cmd=(mpirun -np "${a[0]#mpi:}" "$2" "${a[@]:1}") checkpoint=last.ckpt
  else
    cmd=("$2" "${a[@]}") checkpoint=last.ckpt
  fi
}
# The CIFAR-10 folder, found as typenet-train finds it (the PyTorch twin needs it spelled out).
data_dir() {
  local d
  for d in "${TYPENET_DATA:-}" data/cifar-10-batches-bin ../shared/data/cifar10/cifar-10-batches-bin; do
    [ -n "$d" ] && [ -f "$d/test_batch.bin" ] && { echo "$d"; return; }
  done
  echo "${TYPENET_DATA:-data/cifar-10-batches-bin}"
}

list() {
  echo "runs (scripts/reproduce.sh NAME; output in runs/NAME/):"
  while IFS='|' read -r n a; do command "$n" typenet-train; printf '  %-20s %s --out runs/%s\n' "$n" "${cmd[*]}" "$n"; done <<<"$runs"
  echo "groups:"
  while IFS='|' read -r n m; do printf '  %-20s %s\n' "$n" "$m"; done <<<"$groups"
}

expand() {  # name -> run names
  local m
  if m=$(members_of "$1"); then echo "$m"
  elif args_of "$1" >/dev/null; then echo "$1"
  else
    echo "reproduce.sh: unknown run or group '$1' (scripts/reproduce.sh --list shows them)" >&2
    exit 2
  fi
}

case "${1:-}" in
  ""|-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --list) list; exit 0 ;;
  --print)
    shift
    for n in "$@"; do
      rs=$(expand "$n") || exit 2
      for r in $rs; do command "$r" "$train"; echo "${cmd[*]} --out runs/$r"; done
    done
    exit 0 ;;
esac

names=()
for n in "$@"; do
  rs=$(expand "$n") || exit 2
  for r in $rs; do names+=("$r"); done
done

if [ ! -x "$train" ]; then
  bash scripts/build.sh >&2
fi
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
# mpi: runs: as root mpirun needs these; in containers its shared-memory transport needs the last.
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

status=0
for r in "${names[@]}"; do
  out=runs/$r
  command "$r" "$train"
  resume=()
  [ -f "$out/$checkpoint" ] && resume=(--resume)
  echo "== $r: ${cmd[*]} --out $out ${resume[*]}"
  start=$(date +%s)
  if "${cmd[@]}" "${threads[@]}" --out "$out" "${resume[@]}"; then
    echo "== $r: done in $(( $(date +%s) - start )) s (this invocation); metrics in $out/metrics.csv"
  else
    echo "== $r: FAILED (exit $?)" >&2
    status=1
  fi
done
exit $status
}
