#!/usr/bin/env bash
# typenet against PyTorch (and optionally dlib) on the same network, batch and threads, measured
# side by side: the programs alternate round by round (the order flips every round), because
# absolute numbers on shared machines drift by 2x between runs and only figures of one session
# compare. Per model it prints the median train and eval img/s of each program and the median
# of the per-round ratios typenet / peer.
#
#   scripts/bench-peers.sh                  # cnn-bn, cnn-nobn, resnet20, resnet20-gn: 5 rounds, batch 128, 20 steps
#   MODELS=resnet20 scripts/bench-peers.sh  # one model
#   ROUNDS=3 STEPS=10 scripts/bench-peers.sh
#   DLIB=1 scripts/bench-peers.sh           # also the dlib peer (training only), built here
#   COMPILE=1 scripts/bench-peers.sh        # also compile time: examples/one_step.cpp vs the dlib peer
#
# Environment (defaults in brackets):
#   ROUNDS [5]  BATCH [128]  STEPS [20] (timed steps per program and phase)  WARMUP [3]
#   THREADS [nproc]  MODELS ["cnn-bn cnn-nobn resnet20 resnet20-gn"]  BUILD_DIR [build]  PYTHON [/usr/bin/python3]
#   TYPENET_PEERS [../shared/peers relative to the repository]
#   DLIB [0]  DLIB_STEPS [10]  COMPILE [0]  CXX [g++]  KEEP [unset: a directory to keep the raw outputs in]
# Every run line ends with "other load": CPU cores the rest of the machine used meanwhile.
# Model pairs: cnn-bn <-> torch 'bn' (and dlib 'bn'), cnn-nobn <-> 'nobn', resnet20 <-> torch
# 'resnet20' (same blocks: projection shortcuts). Every other model of typenet-train (e.g.
# MODELS="resnet20 resnet20-gn") <-> its PyTorch twin built from the model's structure() text by
# bench/torch_oracle.py (bench/torch_twin_bench.py: nn.GroupNorm for group_norm, ...). dlib's peer
# has the CNNs only: DLIB=1 skips it for the others.
# PyTorch comes from Debian (python3-torch); as root the script installs it when missing,
# otherwise it prints the command. Exit code: 0, 1 when something could not run, 2 for a bad
# setting (ROUNDS).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/rounds.sh && rounds=$(rounds_from_env bench-peers 5)

batch=${BATCH:-128}
steps=${STEPS:-20}
warmup=${WARMUP:-3}
threads=${THREADS:-$(nproc)}
models=${MODELS:-"cnn-bn cnn-nobn resnet20 resnet20-gn"}
build_dir=${BUILD_DIR:-build}
python=${PYTHON:-/usr/bin/python3}
peers=${TYPENET_PEERS:-$repo/../shared/peers}
dlib=${DLIB:-0}
dlib_steps=${DLIB_STEPS:-10}

die() { echo "bench-peers: $*" >&2; exit 1; }

peer_kind() {
  case "$1" in
    cnn-bn) echo bn ;;
    cnn-nobn) echo nobn ;;
    resnet20) echo resnet20 ;;
    *) echo twin ;;
  esac
}

# ---- what is needed -----------------------------------------------------------------------------
[ -f "$peers/torch_cifar_cnn.py" ] || die "no $peers/torch_cifar_cnn.py; set TYPENET_PEERS to the peers directory"
peers=$(cd "$peers" && pwd)

install_debian() {  # install_debian PKG...: the missing ones, through scripts/setup.sh
  bash "$repo/scripts/setup.sh" "$@" || die "could not install ${*} (scripts/setup.sh says how)"
}

[ -x "$python" ] || die "no Python at $python (set PYTHON)"
if ! "$python" -c 'import torch' 2>/dev/null; then
  install_debian python3-torch
  "$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch after installing python3-torch"
fi

bench=$build_dir/bin/typenet-bench
# cmake --build is a no-op when typenet-bench is up to date, and rebuilds it when a source changed.
[ -f "$build_dir/CMakeCache.txt" ] || { bash scripts/setup.sh && cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null; }
if ! cmake --build "$build_dir" --target typenet-bench typenet-convert -j "$(nproc)" >"$build_dir/bench-peers-build.log" 2>&1; then
  tail -n 30 "$build_dir/bench-peers-build.log" >&2
  die "building typenet-bench failed (log: $build_dir/bench-peers-build.log)"
fi

dlib_bin=
if [ "$dlib" = 1 ]; then
  install_debian libdlib-dev libopenblas-dev
  dlib_bin=$build_dir/peers/dlib_cnn
  if [ ! -x "$dlib_bin" ] || [ "$peers/dlib_cifar_cnn.cpp" -nt "$dlib_bin" ]; then
    echo "bench-peers: building the dlib peer (its README's command) into $dlib_bin" >&2
    mkdir -p "$(dirname "$dlib_bin")"
    g++ -O3 -march=native -std=c++17 "$peers/dlib_cifar_cnn.cpp" -o "$dlib_bin" -ldlib -lopenblas -lpthread
  fi
fi

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: >"$results"

# Runs a command and prints its stdout, then "#other_load=X steal=Y": the CPU the rest of the
# machine used meanwhile (in cores: busy time from /proc/stat minus the command's own CPU time,
# per second of wall time) and the hypervisor's steal. Above ~0.1 the round was disturbed.
cat >"$work/watch.py" <<'EOF'
import os, resource, subprocess, sys, time
def stat():
    v = list(map(int, open("/proc/stat").readline().split()[1:9]))
    return sum(v[:3]) + v[5] + v[6], v[7]  # user nice system irq softirq; steal
hz = os.sysconf("SC_CLK_TCK")
(b0, s0), r0, t0 = stat(), resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
(b1, s1), r1, t1 = stat(), resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
own = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
sys.stdout.write(p.stdout)
print(f"#other_load={max(0.0, (b1 - b0) / hz - own) / (t1 - t0):.2f} steal={(s1 - s0) / hz / (t1 - t0):.2f}"
      f" maxrss_mb={r1.ru_maxrss / 1024:.1f} wall={t1 - t0:.3f}")
sys.exit(p.returncode)
EOF
watch() { "$python" "$work/watch.py" "$@"; }
load_of() { sed -n 's/^#other_load=\([0-9.]*\).*/\1/p' <<<"$1"; }
rss_of() { sed -n 's/^#other_load=.* maxrss_mb=\([0-9.]*\).*/\1/p' <<<"$1"; }
wall_of() { sed -n 's/^#other_load=.* wall=\([0-9.]*\).*/\1/p' <<<"$1"; }

# ---- the session ----------------------------------------------------------------------------------
echo "# bench-peers: $(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "# typenet-bench --batch $batch --steps $steps --warmup $warmup --threads $threads --json"
echo "# $python torch_cifar_cnn.py KIND $batch $steps $threads ($("$python" -c 'import torch; print("torch", torch.__version__)'))"
if [ -n "$dlib_bin" ]; then echo "# dlib_cnn KIND $batch $dlib_steps"; fi
echo "# $rounds rounds, the order flips every round"

run_ours() {  # model round
  local out=$work/ours-$1-$2.json text
  text=$(watch "$bench" --model "$1" --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" --json) ||
    die "typenet-bench --model $1 failed"
  grep -v '^#other_load' <<<"$text" >"$out"
  "$python" - "$out" "$1" "$2" "$(load_of "$text")" "$(rss_of "$text")" >>"$results" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
pk = r["peak"]["gflops"] if r.get("peak") else float("nan")
print(f"{sys.argv[2]}\t{sys.argv[3]}\ttypenet\t{r['train']['images_per_second']}\t{r['eval']['images_per_second']}"
      f"\t{r['train']['gflops']}\t{pk}\t{r['isa']}\t{sys.argv[4]}\t{sys.argv[5]}")
EOF
  tail -n1 "$results" | awk -F'\t' '{printf "  round %s %-9s typenet  train %8.1f img/s  eval %8.1f img/s  (%.1f GFLOP/s, peak %.1f; %s MB; other load %s)\n", $2, $1, $4, $5, $6, $7, $10, $9}'
}

run_torch() {  # model round
  local kind out
  kind=$(peer_kind "$1")
  if [ "$kind" = twin ]; then
    [ -s "$work/structure-$1" ] || "$build_dir/bin/typenet-convert" structure --model "$1" >"$work/structure-$1" ||
      die "typenet-convert structure --model $1 failed (is '$1' a model of typenet-train?)"
    out=$(watch "$python" "$repo/bench/torch_twin_bench.py" "$work/structure-$1" "$batch" "$steps" "$threads") ||
      die "torch_twin_bench.py $1 failed"
  else
    out=$(watch "$python" "$peers/torch_cifar_cnn.py" "$kind" "$batch" "$steps" "$threads") ||
      die "torch_cifar_cnn.py $kind failed"
  fi
  local train eval load
  train=$(sed -n 's/.*train_img_per_s=\([0-9.]*\).*/\1/p' <<<"$out")
  eval=$(sed -n 's/.*eval_img_per_s=\([0-9.]*\).*/\1/p' <<<"$out")
  load=$(load_of "$out")
  [ -n "$train" ] || die "cannot read train_img_per_s from: $out"
  printf '%s\t%s\ttorch\t%s\t%s\tnan\tnan\t-\t%s\t%s\n' "$1" "$2" "$train" "${eval:-nan}" "$load" "$(rss_of "$out")" >>"$results"
  printf '  round %s %-9s torch    train %8.1f img/s  eval %8s img/s  (%s MB; other load %s)\n' "$2" "$1" "$train" "${eval:-n/a}" "$(rss_of "$out")" "$load"
}

run_dlib() {  # model round (nothing unless DLIB=1)
  [ -n "$dlib_bin" ] || return 0
  local kind out train load
  kind=$(peer_kind "$1")
  [ "$kind" = resnet20 ] || [ "$kind" = twin ] && return 0  # the dlib peer program has the CNNs only
  out=$(watch "$dlib_bin" "$kind" "$batch" "$dlib_steps") || die "dlib_cnn $kind failed"
  train=$(sed -n 's/.*train_img_per_s=\([0-9.]*\).*/\1/p' <<<"$out")
  load=$(load_of "$out")
  [ -n "$train" ] || die "cannot read train_img_per_s from: $out"
  printf '%s\t%s\tdlib\t%s\tnan\tnan\tnan\t-\t%s\t%s\n' "$1" "$2" "$train" "$load" "$(rss_of "$out")" >>"$results"
  printf '  round %s %-9s dlib     train %8.1f img/s                      (%s MB; other load %s)\n' "$2" "$1" "$train" "$(rss_of "$out")" "$load"
}

for model in $models; do
  peer_kind "$model" >/dev/null
  for ((r = 1; r <= rounds; ++r)); do
    if ((r % 2)); then
      run_ours "$model" "$r"; run_torch "$model" "$r"; run_dlib "$model" "$r"
    else
      run_dlib "$model" "$r"; run_torch "$model" "$r"; run_ours "$model" "$r"
    fi
  done
done

# ---- the summary ----------------------------------------------------------------------------------
"$python" - "$results" <<'EOF'
import math, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
def med(v):
    v = [x for x in v if not math.isnan(x)]
    return statistics.median(v) if v else float("nan")
def f(v, w=8, p=1):
    return f"{v:{w}.{p}f}" if not math.isnan(v) else " " * (w - 3) + "n/a"
print()
print("model      phase  typenet img/s   torch img/s  ratio (median of rounds, min..max)  target")
for model in dict.fromkeys(r[0] for r in rows):
    by = {}
    for r in rows:
        if r[0] == model:
            by.setdefault(r[2], {})[int(r[1])] = r
    ours, torch, dlib = by.get("typenet", {}), by.get("torch", {}), by.get("dlib", {})
    for phase, col, target in (("train", 3, 1.5), ("eval", 4, 1.0)):
        rs = sorted(set(ours) & set(torch))
        ratios = [float(ours[k][col]) / float(torch[k][col]) for k in rs
                  if not math.isnan(float(torch[k][col])) and float(torch[k][col]) > 0]
        m = med(ratios)
        status = "n/a" if math.isnan(m) else ("met" if m >= target else f"NOT met ({m / target:.2f} of it)")
        rng = f"{min(ratios):.2f}..{max(ratios):.2f}" if ratios else "n/a"
        print(f"{model:<10} {phase:<5} {f(med([float(ours[k][col]) for k in ours]), 13)} "
              f"{f(med([float(torch[k][col]) for k in torch]), 13)}  {f(m, 6, 2)}x ({rng}, {len(ratios)} rounds)"
              f"{'':>9}>= {target}x: {status}")
    if dlib:
        rs = sorted(set(ours) & set(dlib))
        ratios = [float(ours[k][3]) / float(dlib[k][3]) for k in rs]
        print(f"{model:<10} train  dlib: {f(med([float(dlib[k][3]) for k in dlib]), 8)} img/s; typenet / dlib "
              f"{med(ratios):.2f}x ({min(ratios):.2f}..{max(ratios):.2f}, {len(ratios)} rounds)")
    gf = med([float(ours[k][5]) for k in ours]); pk = med([float(ours[k][6]) for k in ours])
    frac = med([float(ours[k][5]) / float(ours[k][6]) for k in ours])
    isa = next(iter(ours.values()))[7] if ours else "?"
    loads = [float(r[8]) for r in rows if r[0] == model and r[8] not in ("", "-")]
    if loads and max(loads) > 0.1:
        print(f"{model:<10} WARNING: other processes used up to {max(loads):.2f} cores during some runs "
              f"(median {med(loads):.2f}); 2-thread figures suffer most from it, repeat on a quiet machine")
    rss = {k: med([float(r[9]) for r in v.values()]) for k, v in (("typenet", ours), ("torch", torch), ("dlib", dlib)) if v}
    print(f"{model:<10} peak resident memory of the whole program (train then eval, random data, batch as above): "
          + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()) + " (medians over rounds)")
    print(f"{model:<10} typenet train {gf:.1f} GFLOP/s (3 x forward FLOPs); {isa} FMA peak measured in the same "
          f"process {pk:.1f} GFLOP/s; fraction of peak {100 * frac:.1f}% (medians over rounds)")
EOF

# ---- compile time (COMPILE=1) -------------------------------------------------------------------
# One translation unit that defines the BN CNN and runs one training step (examples/one_step.cpp)
# against the dlib peer program, both compiled (-c) at -O3 -march=native, alternately.
if [ "${COMPILE:-0}" = 1 ]; then
  install_debian libdlib-dev
  cxx=${CXX:-g++}
  echo
  echo "# compile time: $cxx -O3 -march=native -c, $rounds rounds alternating ($("$cxx" --version | head -n1))"
  ctimes=$work/compile.tsv
  : >"$ctimes"
  compile_one() {  # name, then the command
    local name=$1 out
    shift
    out=$(watch "$@") || die "compiling $name failed: $*"
    printf '%s\t%s\t%s\n' "$name" "$(wall_of "$out")" "$(rss_of "$out")" >>"$ctimes"
    printf '  %-22s %7.2f s  (compiler peak %s MB; other load %s)\n' "$name" "$(wall_of "$out")" "$(rss_of "$out")" "$(load_of "$out")"
  }
  ours_cc=("$cxx" -O3 -march=native -std=c++20 -I"$repo/include" -c "$repo/examples/one_step.cpp" -o "$work/one_step.o")
  dlib_cc=("$cxx" -O3 -march=native -std=c++17 -c "$peers/dlib_cifar_cnn.cpp" -o "$work/dlib_cnn.o")
  for ((r = 1; r <= rounds; ++r)); do
    if ((r % 2)); then
      compile_one typenet-one_step "${ours_cc[@]}"; compile_one dlib_cifar_cnn "${dlib_cc[@]}"
    else
      compile_one dlib_cifar_cnn "${dlib_cc[@]}"; compile_one typenet-one_step "${ours_cc[@]}"
    fi
  done
  "$python" - "$ctimes" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
ours = [float(r[1]) for r in rows if r[0] == "typenet-one_step"]
peer = [float(r[1]) for r in rows if r[0] == "dlib_cifar_cnn"]
ratios = [a / b for a, b in zip(ours, peer)]
m = statistics.median(ratios)
print(f"compile    typenet one_step.cpp {statistics.median(ours):.2f} s, dlib peer {statistics.median(peer):.2f} s: "
      f"ratio {m:.2f} ({min(ratios):.2f}..{max(ratios):.2f}, {len(ratios)} rounds)  target <= 0.5: "
      + ("met" if m <= 0.5 else "NOT met"))
EOF
fi
