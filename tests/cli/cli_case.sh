#!/usr/bin/env bash
# One end-to-end case of typenet-train / typenet-plot, run by CTest:
#   cli_case.sh CASE BIN_DIR WORK_DIR
# Each case checks exit codes and messages, not only that something ran. Cases that need
# CIFAR-10 exit 77 (CTest SKIP_RETURN_CODE) when the data is not found.
set -uo pipefail
case_name=$1 bin=$2 work=$3
train=$bin/typenet-train
plot=$bin/typenet-plot
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }

# expect CODE REGEX -- command...: runs the command, checks its exit code and that its
# stdout+stderr match REGEX (extended grep). The output goes to grep as a here-string, not
# through `echo | grep -q`: grep -q leaves at its first match, and an echo still writing (output
# past one 4 KiB write) then died of SIGPIPE, which pipefail turned into "does not match" (4 of
# 2,000 tries on typenet-train --help here; cli.help failed so once under ctest -j2).
expect() {
  local code=$1 regex=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  echo "\$ $*"; echo "$out" | tail -n 20; echo "(exit $rc)"
  [ "$rc" -eq "$code" ] || fail "expected exit $code, got $rc from $(basename "$1") ($(echo "$out" | tail -n 1 | cut -c1-300))"
  grep -Eq -- "$regex" <<<"$out" || fail "output of $(basename "$1") does not match /$regex/"
}

need_data() {
  for d in "${TYPENET_DATA:-}" data/cifar-10-batches-bin ../shared/data/cifar10/cifar-10-batches-bin; do
    [ -n "$d" ] && [ -f "$d/data_batch_1.bin" ] && return 0
  done
  echo "CIFAR-10 not found: skipping"; exit 77
}

# Compares two metrics.csv files on every column but the timing ones (seconds, images/s).
same_metrics() {
  diff <(cut -d, -f1-7,10- "$1") <(cut -d, -f1-7,10- "$2") || fail "metrics differ: $1 vs $2"
}

# chart_layout SVG LEGEND_ENTRIES: the chart has two panels whose y-axis labels are evenly
# spaced multiples of a round step (1, 2 or 5 times a power of ten), x-axis labels on both
# panels, and LEGEND_ENTRIES legend entries, all below the panels (where no curve runs) and
# inside the picture.
chart_layout() {
  local svg=$1 entries=$2
  grep -o "text-anchor='end' font-size='11'>[^<]*<" "$svg" | sed "s/.*>\(.*\)</\1/" | awk -v f="$svg" '
    function bad(m) { print f ": " m > "/dev/stderr"; failed = 1; exit 1 }
    function check(   i, d, e, fe, m, k) {  # the labels v[1..n] of one panel
      if (n < 3) bad("a panel with " n " y labels")
      for (i = 2; i <= n; i++) {
        d = v[i] - v[i - 1]
        if (i == 2) step = d
        else if (d - step > 1e-9 * step || step - d > 1e-9 * step) bad("uneven y labels " v[i - 1] " -> " v[i])
      }
      e = log(step) / log(10); fe = int(e); if (fe > e) fe--; m = step / 10 ^ fe
      if (m > 9.999999) m /= 10
      if (!(m > 0.999999 && m < 1.000001 || m > 1.999999 && m < 2.000001 || m > 4.999999 && m < 5.000001))
        bad("y step " step " is not 1, 2 or 5 times a power of ten")
      for (i = 1; i <= n; i++) { k = v[i] / step; if (k - int(k + (k < 0 ? -0.5 : 0.5)) > 1e-6 || int(k + (k < 0 ? -0.5 : 0.5)) - k > 1e-6) bad("y label " v[i] " is not a multiple of " step) }
      panels++; n = 0
    }
    NR > 1 && $1 <= v[n] { check() }  # labels rise within a panel: a fall or repeat starts the next
    { v[++n] = $1 }
    END { if (failed) exit 1; check(); if (panels != 2) { print f ": " panels " panels, expected 2" > "/dev/stderr"; exit 1 } }' ||
    fail "$svg: y-axis labels are not round"
  [ "$(grep -c "text-anchor='middle' font-size='11'>" "$svg")" -ge 4 ] || fail "$svg: fewer than 2 x-axis labels a panel"
  local bottom height
  bottom=$(grep -o "<rect x='[0-9.]*' y='[0-9.]*' width='[0-9.]*' height='[0-9.]*' fill='none' stroke='#444'" "$svg" |
           head -1 | sed "s/.* y='\([0-9.]*\)'.* height='\([0-9.]*\)'.*/\1 \2/" | awk '{ print $1 + $2 }')
  height=$(sed -n "s/^<svg .* height='\([0-9.]*\)'.*/\1/p" "$svg")
  [ -n "$bottom" ] && [ -n "$height" ] || fail "$svg: no panel frame or picture height"
  [ "$(grep -c "<text x='[0-9.]*' y='[0-9.]*' font-size='11'>" "$svg")" -eq "$entries" ] || fail "$svg: expected $entries legend entries"
  grep "<text x='[0-9.]*' y='[0-9.]*' font-size='11'>" "$svg" | sed "s/<text x='[0-9.]*' y='\([0-9.]*\)'.*/\1/" |
    awk -v b="$bottom" -v h="$height" '$1 <= b + 30 || $1 > h { exit 1 }' || fail "$svg: a legend entry inside the panel or outside the picture"
}

# python3 programs for the checks below (python3 is one of scripts/setup.sh's packages).
# svg_texts SVG TEXT...: SVG parses as XML and each TEXT is the whole text of one of its
# <title> or <text> elements (the text a reader of the chart sees, after XML's unescaping).
svg_texts_py='
import sys, xml.dom.minidom
f, wanted = sys.argv[1], sys.argv[2:]
d = xml.dom.minidom.parse(f)
have = {"".join(n.data for n in e.childNodes if n.nodeType == n.TEXT_NODE)
        for tag in ("title", "text") for e in d.getElementsByTagName(tag)}
missing = [w for w in wanted if w not in have]
if missing:
    sys.exit(f + ": no <title> or <text> reads " + repr(missing) + "; the texts are " + repr(sorted(have)))
'
svg_texts() {
  command -v python3 > /dev/null || fail "python3 is needed to parse the SVGs (scripts/setup.sh installs it)"
  python3 -c "$svg_texts_py" "$@" || fail "$1 does not parse or lacks a text"
}
# set_meta CKPT KEY VALUE: rewrites one metadata entry of a checkpoint and its CRC-32, as a crafted
# file would (src/io/checkpoint.cpp's layout: magic, version, network name, structure hash, the
# metadata count and its key/value strings, the tensors, the CRC-32 of all before it).
set_meta_py='
import struct, sys, zlib
f, key, val = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
b = open(f, "rb").read()[:-4]
p = 12 + 4 + struct.unpack_from("<I", b, 12)[0] + 8
count = struct.unpack_from("<I", b, p)[0]; p += 4
out, found = bytearray(b[:p]), False
for _ in range(count):
    n = struct.unpack_from("<I", b, p)[0]; k = b[p + 4:p + 4 + n]; p += 4 + n
    n = struct.unpack_from("<I", b, p)[0]; v = b[p + 4:p + 4 + n]; p += 4 + n
    if k == key: v, found = val, True
    out += struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v
if not found: sys.exit(f + ": no metadata entry " + repr(key))
out += b[p:]
open(f, "wb").write(out + struct.pack("<I", zlib.crc32(out)))
'
set_meta() {
  command -v python3 > /dev/null || fail "python3 is needed to craft checkpoints (scripts/setup.sh installs it)"
  python3 -c "$set_meta_py" "$@" || fail "could not set $2 in $1"
}
# Every .svg under a directory parses as XML, every .json as one JSON value and every line of
# every .jsonl as one (UTF-8; the NaN and Infinity that Python's parser would take are refused).
well_formed_py='
import sys, os, json, xml.dom.minidom
def refuse(c): raise ValueError("not JSON: " + c)
bad, n = 0, 0
for root, dirs, files in os.walk(sys.argv[1]):
    for f in sorted(files):
        p = os.path.join(root, f)
        try:
            if f.endswith(".svg"):
                xml.dom.minidom.parse(p)
            elif f.endswith(".json"):
                json.loads(open(p, "rb").read().decode("utf-8"), parse_constant=refuse)
            elif f.endswith(".jsonl"):
                lines = open(p, "rb").read().decode("utf-8").split("\n")
                if lines[-1]: raise ValueError("the last line does not end with a newline")
                for line in lines[:-1]:
                    json.loads(line, parse_constant=refuse)
            else:
                continue
            n += 1
        except Exception as e:
            print(p + ": " + str(e), file=sys.stderr)
            bad += 1
print(str(n) + " SVG and JSON files checked, " + str(bad) + " do not parse")
sys.exit(1 if bad else 0)
'
well_formed() {
  command -v python3 > /dev/null || fail "python3 is needed to parse the SVG and JSON outputs (scripts/setup.sh installs it)"
  python3 -c "$well_formed_py" "$1" || fail "an SVG or JSON output under $1 does not parse"
}

small="--limit-train 256 --limit-test 128 --batch 64 --quiet"

case $case_name in
  help)
    expect 0 "--lr X.*default 0.1" -- "$train" --help
    help=$("$train" --help)  # once: grep -q on a pipe may end the writer with SIGPIPE (pipefail)
    for f in --model --recipe --lr --optimizer --momentum --nesterov --weight-decay --epochs --batch --schedule \
             --warmup-epochs --label-smoothing --augment --seed --threads --data --out --resume --eval-only \
             --checkpoint --on-divergence --quiet --limit-train --limit-test --cutout --winograd --overwrite \
             --checkpoint-every; do
      grep -q -- "$f" <<<"$help" || fail "--help does not list $f"
    done
    grep -q "130 (SIGINT) or 143 (SIGTERM)" <<<"$help" || fail "--help does not give the interrupted exit codes" ;;
  bad-flags)
    expect 2 "unknown flag '--frobnicate'" -- "$train" --frobnicate
    expect 2 "--lr: expected a number, got 'fast'" -- "$train" --lr fast
    expect 2 "--epochs: expected a whole number" -- "$train" --epochs -3
    expect 2 "--model: unknown model 'resnet9000'" -- "$train" --model resnet9000 --limit-train 2
    expect 2 "--recipe: unknown recipe 'magic'" -- "$train" --recipe magic
    expect 2 "--optimizer: unknown value 'lion' \(choose sgd, adam, adamw\)" -- "$train" --optimizer lion
    expect 2 "--batch: must be at least 2" -- "$train" --batch 1
    expect 2 "--lr: missing value" -- "$train" --lr
    expect 2 "Nesterov momentum needs momentum > 0" -- "$train" --nesterov true
    expect 2 "--eval-only needs --checkpoint" -- "$train" --eval-only
    expect 2 "--schedule step needs --milestones" -- "$train" --schedule step
    expect 2 "--on-divergence: unknown value 'maybe' \(choose stop, continue\)" -- "$train" --on-divergence=maybe
    expect 2 "--label-smoothing: must be in \[0, 1\)" -- "$train" --label-smoothing 1.5
    expect 2 "--cutout: the square's side must be at most 32 pixels, got 33" -- "$train" --cutout 33
    expect 2 "--cutout: expected a whole number" -- "$train" --cutout big
    expect 2 "--winograd: expected on or off, got 'maybe'" -- "$train" --winograd maybe
    expect 2 "--bn-group: a statistics group needs at least 2 samples" -- "$train" --bn-group 1
    expect 2 "--renorm-rmax: must be >= 1" -- "$train" --renorm-rmax 0.5
    # Every whole-number flag of every tool is read by one rule (src/train/text_numbers.hpp):
    # decimal digits, nothing else. typenet-bench's stoull took ' 3' and made ' -3' 2^64 - 3;
    # typenet-plot's stoll took ' 3' and '+3'; typenet-grad-accuracy's stoul made '-3' 2^64 - 3;
    # kernel-bench's strtoul made 'x' 0. A flag of each tool (and of typenet-comm-bench in case
    # mpi-train) with each value; their twins that read are the runs of these tools elsewhere in
    # this file and in CTest.
    ga=$bin/typenet-grad-accuracy kb=$bin/typenet-kernel-bench  # neither is built under the sanitizers
    for v in ' 3' ' -3' -3 +3 3.0 1e3 0x10 '' 18446744073709551616 x; do
      q=$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$v")
      expect 2 "--epochs: expected a whole number >= 0, got '$q'" -- "$train" --epochs "$v"
      expect 2 "--steps: expected a whole number >= 1, got '$q'" -- "$bin/typenet-bench" --steps "$v"
      expect 2 "--warmup: expected a whole number >= 0, got '$q'" -- "$bin/typenet-bench" --warmup "$v"
      expect 2 "--top: expected a whole number >= 1, got '$q'" -- "$bin/typenet-predict" --top "$v"
      expect 2 "--batch: expected a whole number >= 1, got '$q'" -- "$bin/typenet-predict" --batch "$v"
      expect 2 "--seed: expected a whole number >= 0, got '$q'" -- "$bin/typenet-convert" init --model cnn-bn --seed "$v" "$work/x.ckpt"
      expect 2 "--smooth: expected a number of rows from 1 to 1000000, got '$q'" -- "$plot" --steps --smooth "$v" --out "$work/x.svg" a=x.csv
      expect 2 "--epoch: expected an epoch number >= 1, got '$q'" -- "$plot" --epoch "$v" --out "$work/x.svg" a=x.csv
      if [ -x "$ga" ]; then
        expect 2 "--batch: expected a whole number >= 2, got '$q'" -- "$ga" --batch "$v"
        expect 2 "--seed: expected a whole number >= 0, got '$q'" -- "$ga" --seed "$v"
      fi
      if [ -x "$kb" ]; then
        expect 2 "--batch: expected a whole number >= 1, got '$q'" -- "$kb" --batch "$v"
        expect 2 "--threads: expected a whole number >= 0, got '$q'" -- "$kb" --threads "$v"
      fi
      # examples/cifar_slice reads its flags with std::from_chars (an example uses only the public
      # headers): a rule of its own, as strict on these values; its stoull took ' -3' as 2^64 - 3
      if [ -x "$bin/cifar_slice" ]; then  # not built with TYPENET_BUILD_EXAMPLES=OFF
        expect 2 "cifar_slice: --epochs needs a whole number >= 1, got '$q'" -- "$bin/cifar_slice" --epochs "$v"
      fi
    done
    # ... and every number flag by one rule too: strtod's grammar with nothing before or after
    # (stod skipped a leading space and ignored trailing text), finite, and no underflow (stod
    # refused 1e-400, which strtod makes 0)
    for v in ' 0.1' 0.1x 1e400 1e-400 1e-310 nan inf ''; do
      q=$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$v")
      expect 2 "--lr: expected a number, got '$q'" -- "$train" --lr "$v"
      expect 2 "--seconds: expected a positive number of seconds, got '$q'" -- "$bin/typenet-bench" --seconds "$v"
      if [ -n "$v" ]; then  # an empty X is no LABEL@X, said otherwise
        expect 2 "'a@$q=m\.csv': '$q' is not a number" -- "$plot" --sweep lr --out "$work/x.svg" "a@$v=m.csv"
      fi
      if [ -x "$ga" ]; then expect 2 "--perturb: expected a relative size > 0, got '$q'" -- "$ga" --perturb "$v"; fi
      if [ -x "$kb" ]; then expect 2 "--seconds: expected a positive number of seconds, got '$q'" -- "$kb" --seconds "$v"; fi
      if [ -x "$bin/cifar_slice" ]; then expect 2 "cifar_slice: --lr needs a number in \(0, 10\], got '$q'" -- "$bin/cifar_slice" --lr "$v"; fi
    done
    if [ -x "$ga" ]; then
      expect 2 "--batch: expected a whole number >= 2, got ','" -- "$ga" --batch ,
      expect 2 "--model: no model named" -- "$ga" --model ,
      expect 2 "--isa: no instruction set named" -- "$ga" --isa ''
    fi ;;
  scripts)
    # The long runs of docs/results.md by name, and the script that collects them.
    expect 0 "best-full +typenet-train --model cnn-bn --recipe full --epochs 30 --out runs/best-full" -- bash scripts/reproduce.sh --list
    expect 0 "^build/bin/typenet-train --model resnet20 --recipe resnet --epochs 100 --out runs/resnet20$" -- \
      bash scripts/reproduce.sh --print resnet20
    expect 0 "^/usr/bin/python3 bench/torch_resnet20_train.py --data [^ ]+ --epochs 100 --out runs/torch-resnet20$" -- \
      bash scripts/reproduce.sh --print torch-resnet20
    [ "$(bash scripts/reproduce.sh --print lr-headroom | wc -l)" -eq 8 ] || fail "lr-headroom should hold 8 runs"
    expect 2 "unknown run or group 'nope'" -- bash scripts/reproduce.sh nope
    expect 2 "results.sh: unknown group 'nope'" -- bash scripts/results.sh nope
    # The benchmark scripts' round count (scripts/rounds.sh): a whole number from 1 to 999999, checked
    # before anything else (a missing build folder too); scripts/bench-ab.sh end to end for one round
    # of one step (its figures' size is the benchmark's business, not a test's).
    for s in bench-ab bench-mpi bench-peers bench-probes compile-ab; do
      for r in 0 x 2.5 05 1000000; do
        expect 2 "^$s: ROUNDS must be a whole number from 1 to 999999, not '$r'$" -- \
          env ROUNDS=$r BUILD_DIR="$work/none" bash scripts/$s.sh "$work/none" "$work/none"
      done
    done
    expect 0 "^cnn-bn:8:off +eval +A +[0-9.]+ img/s +B +[0-9.]+ img/s +B/A median [0-9.]+ \([0-9.]+\.\.[0-9.]+, 1 rounds\)$" -- \
      env ROUNDS=1 STEPS=1 WARMUP=0 SETTINGS=cnn-bn:8:off bash scripts/bench-ab.sh "$bin/.." "$bin/.."
    # Two settings of one build: B_ARGS reach B's runs only (round 1 runs A first: the failure is B's).
    expect 0 "^# A: $bin/..; B: $bin/.. --batch 4; 1 rounds alternating" -- \
      env ROUNDS=1 STEPS=1 WARMUP=0 SETTINGS=cnn-bn:8:off B_ARGS="--batch 4" bash scripts/bench-ab.sh "$bin/.." "$bin/.."
    expect 1 "^bench-ab: typenet-bench of $bin/.. failed \(cnn-bn:8:off, B: --batch 0\)$" -- \
      env ROUNDS=1 STEPS=1 WARMUP=0 SETTINGS=cnn-bn:8:off B_ARGS="--batch 0" bash scripts/bench-ab.sh "$bin/.." "$bin/.."
    # A BUILD_DIR holding a kept binary alone is refused, not built into (the binary stays as it was).
    mkdir -p "$work/kept/bin" && printf '#!/bin/sh\necho kept\n' > "$work/kept/bin/typenet-train" && chmod +x "$work/kept/bin/typenet-train"
    expect 2 "results.sh: BUILD_DIR=$work/kept lacks bin/typenet-train or bin/typenet-plot" -- env BUILD_DIR="$work/kept" bash scripts/results.sh short
    [ "$(find "$work/kept" | sort | tr '\n' ' ')" = "$work/kept $work/kept/bin $work/kept/bin/typenet-train " ] ||
      fail "results.sh wrote into a BUILD_DIR it refused"
    # What results.sh prints of a run's last quarter and its stretched epochs, on a run whose answers
    # are known: 8 epochs, so the quarter is epochs 6-8; its lowest test loss is mid-quarter, epoch 5's
    # higher one is outside it; the median epoch is 80 s, so only epoch 3 (400 s) is over twice it.
    mkdir -p "$work/tree/scripts" "$work/tree/runs/resnet20" && cp scripts/results.sh scripts/median.sh "$work/tree/scripts/"
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      echo "1,2.0,0.2,1.9,0.30,1,0.1,80,600,0";   echo "2,1.5,0.4,1.4,0.45,1,0.1,80,600,0"
      echo "3,1.0,0.5,1.1,0.55,1,0.1,400,120,0";  echo "4,0.8,0.6,0.9,0.62,1,0.1,81,600,0"
      echo "5,0.6,0.7,0.8,0.66,1,0.1,79,600,0";   echo "6,0.4,0.8,0.72,0.70,1,0.1,82,600,0"
      echo "7,0.3,0.9,0.69,0.71,1,0.1,80,600,0";  echo "8,0.2,0.95,0.75,0.7234,1,0.1,80,600,0"; } > "$work/tree/runs/resnet20/metrics.csv"
    expect 0 "^typenet, epochs 6-8: test accuracy 70.00% to 72.34%, test loss 0.69-0.75, training loss 0.40 to 0.20$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" resnet20
    expect 0 "^typenet, epochs over twice the median epoch \(80.0 s\): 3 \(400 s\)$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" resnet20
    # The small-batch table reads epoch 15: a finished run shows its accuracy there, one still
    # going the epoch it reached, and epoch times as min / median / max.
    mkdir -p "$work/tree/runs/small-gn" "$work/tree/runs/small-bn-g2"
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      for e in $(seq 15); do echo "$e,1.0,0.5,1.0,0.$((60 + e)),1,0.1,$((50 + e)),900,0"; done; } > "$work/tree/runs/small-gn/metrics.csv"
    head -n 13 "$work/tree/runs/small-gn/metrics.csv" > "$work/tree/runs/small-bn-g2/metrics.csv"
    expect 0 "^\| group norm, 8 groups \(\`runs/small-gn\`\) \| 75.00% \| 51.0 / 58.0 / 65.0 s \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    # The epoch-time cell says the threads the run trained on, by epochs when a resume changed them
    # (the start at epoch 3 and the one after it at epoch 3: the later one trained epoch 3).
    { echo '{"started":"x","first_epoch":1,"epochs":15,"kernels":"avx512","winograd":true,"threads":2}'
      echo '{"started":"x","first_epoch":3,"epochs":15,"kernels":"avx512","winograd":true,"threads":2}'
      echo '{"started":"x","first_epoch":3,"epochs":15,"kernels":"avx512","winograd":true,"threads":1}'; } \
      > "$work/tree/runs/small-gn/invocations.jsonl"
    expect 0 "^\| group norm, 8 groups \(\`runs/small-gn\`\) \| 75.00% \| 51.0 / 58.0 / 65.0 s, 2 threads \(epochs 1-2\), 1 \(epochs 3-15\) \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    sed -i '2,3d' "$work/tree/runs/small-gn/invocations.jsonl"
    expect 0 "^\| group norm, 8 groups \(\`runs/small-gn\`\) \| 75.00% \| 51.0 / 58.0 / 65.0 s, 2 threads \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    rm "$work/tree/runs/small-gn/invocations.jsonl"
    # --pair: A's epoch seconds over B's, epoch by epoch from FIRST on (resnet20's 81, 79, 82, 80, 80
    # over small-gn's 54-58 at epochs 4-8: 1.500, 1.436, 1.464, 1.404, 1.379); a run that is not
    # there and a FIRST that is no epoch are refused, and one past both runs' epochs is said.
    expect 0 "^epoch seconds resnet20 / small-gn, epochs 4-: median 1.436 \(1.379..1.500, 5 epochs\)$" -- \
      bash "$work/tree/scripts/results.sh" --pair resnet20 small-gn 4
    expect 2 "results.sh: --pair needs two runs with a metrics.csv .*: resnet20 nope$" -- \
      bash "$work/tree/scripts/results.sh" --pair resnet20 nope
    expect 2 "results.sh: --pair: FIRST must be an epoch number, not '0'$" -- \
      bash "$work/tree/scripts/results.sh" --pair resnet20 small-gn 0
    expect 1 "^results.sh: --pair: resnet20 and small-gn have no epochs in common from epoch 9$" -- \
      bash "$work/tree/scripts/results.sh" --pair resnet20 small-gn 9
    expect 0 "^\| 2 \| \(at epoch 12\) \| \| +\| 51.0 / 56.5 / 62.0 s \| not run" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    # A finished run kept in git (results.sh --record) is read when runs/ lacks it, with the kept
    # evaluations of its final checkpoint; a run in runs/ that has at least the record's epochs
    # is read instead (fewer: the record), and the table names where each came from.
    mkdir -p "$work/tree/docs/results/runs/small-bn-g4" "$work/tree/docs/results/runs/small-gn"
    cp "$work/tree/runs/small-gn/metrics.csv" "$work/tree/docs/results/runs/small-bn-g4/"
    echo "eval resnet20 on 10000 test images (batches of 128, running statistics): loss 0.5000 accuracy 84.11% (x)" \
      > "$work/tree/docs/results/runs/small-bn-g4/eval-b128-g4-running.txt"
    echo "eval resnet20 on 10000 test images (batches of 128, batch statistics): loss 0.6000 accuracy 79.48% (x)" \
      > "$work/tree/docs/results/runs/small-bn-g4/eval-b128-g4-batch.txt"
    head -n 3 "$work/tree/runs/small-gn/metrics.csv" > "$work/tree/docs/results/runs/small-gn/metrics.csv"
    expect 0 "^\| 4 \| 84.11% \| 79.48% \| -4.63 points \| 51.0 / 58.0 / 65.0 s \| not run" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    expect 0 "^\| group norm, 8 groups \(\`runs/small-gn\`\) \| 75.00% \|" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    head -n 2 "$work/tree/docs/results/runs/small-gn/metrics.csv" > "$work/tree/runs/small-gn/metrics.csv"
    expect 0 "^\| group norm, 8 groups \(\`docs/results/runs/small-gn\`\) \| \(at epoch 2\) \|" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    # An evaluation that fails (a checkpoint that is no checkpoint) is said and kept nowhere.
    mkdir -p "$work/tree/runs/small-bn-g32" && cp "$work/tree/docs/results/runs/small-bn-g4/metrics.csv" "$work/tree/runs/small-bn-g32/"
    : > "$work/tree/runs/small-bn-g32/final.ckpt"
    # The message names the run's own folder (runs/NAME), not the temporary view results.sh reads through.
    expect 0 "results.sh: evaluating small-bn-g32 \(--model resnet20 --eval-batch 128 --bn-group 32\) failed: typenet-train: checkpoint: runs/small-bn-g32/final.ckpt: not a typenet checkpoint" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    expect 0 "^\| 32 \| 75.00% \| \| +\| 51.0 / 58.0 / 65.0 s \|" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" small-batch
    ! grep -q eval- <<<"$(ls "$work/tree/runs/small-bn-g32/")" || fail "results.sh kept a failed evaluation"
    # --record: only a finished run; its records and its evaluations newer than the checkpoint
    # (an older one is left out), never the checkpoint.
    expect 1 "results.sh: runs/small-bn-g2 has not finished \(no final.ckpt or metrics.csv\); nothing recorded" -- \
      bash "$work/tree/scripts/results.sh" --record small-bn-g2
    touch -d '1 hour ago' "$work/tree/runs/small-bn-g2/eval-b128-g2-batch.txt"
    touch -d '30 minutes ago' "$work/tree/runs/small-bn-g2/final.ckpt"
    cp "$work/tree/docs/results/runs/small-bn-g4/eval-b128-g4-running.txt" "$work/tree/runs/small-bn-g2/eval-b128-g2-running.txt"
    expect 0 "eval-b128-g2-batch.txt is older than runs/small-bn-g2/final.ckpt: left out" -- \
      bash "$work/tree/scripts/results.sh" --record small-bn-g2
    expect 0 "^recorded: docs/results/runs/small-bn-g2 \(eval-b128-g2-running.txt metrics.csv\)$" -- \
      bash "$work/tree/scripts/results.sh" --record small-bn-g2
    [ ! -e "$work/tree/docs/results/runs/small-bn-g2/final.ckpt" ] || fail "results.sh --record kept a checkpoint"
    # Issue 22's tables: medians (not means: one wild probe moves a mean) over the probes of
    # epoch 1 and of epochs 6-10 (an epoch-4 probe counts in neither), and the loss oscillation
    # as typenet-plot --steps gives it (0 for a constant loss).
    mkdir -p "$work/tree/runs/why-cnn-nobn-0.02" "$work/tree/runs/why-resnet18-bn"
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      for e in $(seq 10); do echo "$e,1.0,0.5,1.0,0.$((60 + e)),1,0.02,$((30 + e)),900,0"; done; } > "$work/tree/runs/why-cnn-nobn-0.02/metrics.csv"
    { echo "step,epoch,lr,loss,grad_norm,loss_min,loss_max,loss_variation,grad_change_min,grad_change_max,beta_min,beta_max"
      i=0; for r in 1:1:10:5 1:30:300:70 1:2:20:6 4:100:100:100 6:0.5:4:1 8:9:90:30 10:0.7:6:3; do
        IFS=: read -r e v g b <<< "$r"; echo "$((25 * i++ + 1)),$e,0.02,2,1,1,2,$v,0,$g,0,$b"
      done; } > "$work/tree/runs/why-cnn-nobn-0.02/landscape.csv"
    # ... wall time is the sum of the epochs (31 + ... + 40 s); probe by probe, the steps both
    # runs probed (1, 26, 51, 76, not 9999) are compared column by column.
    expect 0 "^\| .why-cnn-nobn-0\.02. \| 70.00% \| 7 \| 2 \| 0.7 \| 20 \| 6 \| 6 \| 3 \| - \| 355 s \| 31.0 / 35.5 / 40.0 s \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-landscape
    mkdir -p "$work/tree/runs/why-cnn-bn-0.02"
    { echo "step,epoch,lr,loss,grad_norm,loss_min,loss_max,loss_variation,grad_change_min,grad_change_max,beta_min,beta_max"
      echo "1,1,0.02,2,1,1,2,0.5,0,20,0,1"; echo "26,1,0.02,2,1,1,2,40,0,1,0,1"
      echo "51,1,0.02,2,1,1,2,1,0,25,0,1"; echo "76,4,0.02,2,1,1,2,9,0,9,0,9"  # 100 > 9 as numbers, not as text
      echo "9999,10,0.02,2,1,1,2,0,0,0,0,0"; } > "$work/tree/runs/why-cnn-bn-0.02/landscape.csv"
    expect 0 "^larger: loss variation 3 of 4, gradient change 2 of 4, beta-smoothness 4 of 4\.$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-landscape
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      for e in 1 2 3; do echo "$e,1.0,0.$((e * 2))0,1.0,0.5$e,1,0.01,1800,30,0"; done; } > "$work/tree/runs/why-resnet18-bn/metrics.csv"
    { echo "step,epoch,epoch_step,loss,accuracy,grad_norm,lr"
      for i in $(seq 30); do echo "$i,$(( (i + 9) / 10 )),$(( (i - 1) % 10 + 1 )),1.5,0.5,1,0.01"; done; } > "$work/tree/runs/why-resnet18-bn/steps.csv"
    # the machine column: the processors of the run's invocations, each once, in order ("not
    # recorded" for a line without cpu, as binaries before 93ab83e wrote them)
    { echo '{"started":"2026-12-06T08:00:00Z","commit":"a","first_epoch":1,"epochs":3,"kernels":"avx512","winograd":true,"threads":2,"cpu":"AMD EPYC"}'
      echo '{"started":"2026-12-06T09:00:00Z","commit":"a","first_epoch":2,"epochs":3,"kernels":"avx2","winograd":true,"threads":2,"cpu":"Intel Xeon"}'
      echo '{"started":"2026-12-06T10:00:00Z","commit":"a","first_epoch":3,"epochs":3,"kernels":"avx512","winograd":true,"threads":2,"cpu":"AMD EPYC"}'
      echo '{"started":"2026-12-06T11:00:00Z","commit":"a","first_epoch":3,"epochs":3,"kernels":"avx512","winograd":true,"threads":2}'
    } > "$work/tree/runs/why-resnet18-bn/invocations.jsonl"
    printf '{\n  "model": "resnet18",\n  "init": "pytorch",\n  "epochs": 3\n}\n' > "$work/tree/runs/why-resnet18-bn/config.json"
    expect 0 "^\| .why-resnet18-bn. \| pytorch \| 3 \| 20.00% \| 60.00% \| \*\*53.00%\*\* \| 0.0000 \| 0 \| 1800.0 / 1800.0 / 1800.0 s \| AMD EPYC \(avx512\) \+ Intel Xeon \(avx2\) \+ not recorded \(avx512\) \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-resnet
    rm "$work/tree/runs/why-resnet18-bn/invocations.jsonl"
    expect 0 "^\| .why-resnet18-bn. \| pytorch \| 3 \| .* \| not recorded \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-resnet
    # a diverged run: no oscillation (its last finite steps' would be astronomical), its epoch counted
    mkdir -p "$work/tree/runs/why-resnet20-nonorm-he"
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      echo "1,nan,0.1,nan,0.1,nan,0.01,60,800,1"; } > "$work/tree/runs/why-resnet20-nonorm-he/metrics.csv"
    { echo "step,epoch,epoch_step,loss,accuracy,grad_norm,lr"; echo "1,1,1,48.9,0.1,809,0.01"
      echo "2,1,2,1e9,0.1,1e12,0.01"; echo "3,1,3,nan,0.1,nan,0.01"; } > "$work/tree/runs/why-resnet20-nonorm-he/steps.csv"
    expect 0 "^\| .why-resnet20-nonorm-he. \| - \| 1 \| 10.00% \| 10.00% \| \*\*10.00%\*\* \| - \(diverged\) \| 1 \| 60.0 / 60.0 / 60.0 s \| not recorded \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-resnet
    # resnet20's probes: medians over epoch 1 and epochs 16-20 (an epoch-15 probe counts in neither)
    mkdir -p "$work/tree/runs/why-resnet20-nonorm"
    { echo "step,epoch,lr,loss,grad_norm,loss_min,loss_max,loss_variation,grad_change_min,grad_change_max,beta_min,beta_max"
      i=0; for r in 1:1:10:5 1:3:30:7 15:100:100:100 16:0.5:4:1 18:9:90:30 20:0.7:6:3; do
        IFS=: read -r e v g b <<< "$r"; echo "$((100 * i++ + 1)),$e,0.01,2,1,1,2,$v,0,$g,0,$b"
      done; } > "$work/tree/runs/why-resnet20-nonorm/landscape.csv"
    expect 0 "^\| .why-resnet20-nonorm. \| - \| 6 \| 2 \| 0.7 \| 20 \| 6 \| 6 \| 3 \|$" -- \
      env CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-resnet
    # ... probe by probe against its twin, over all epochs and over epochs 16-20 only (steps 301,
    # 401, 501; step 101 is the twin's alone); and the probes whose loss never rose above its value
    # at theta (the twin's step 401 rose to 3)
    mkdir -p "$work/tree/runs/why-resnet20-bn"
    { echo "step,epoch,lr,loss,grad_norm,loss_min,loss_max,loss_variation,grad_change_min,grad_change_max,beta_min,beta_max"
      echo "1,1,0.01,2,1,1,2,2,0,1,0,1"; echo "201,15,0.01,2,1,1,2,1,0,1,0,1"; echo "301,16,0.01,2,1,1,2,1,0,1,0,1"
      echo "401,18,0.01,2,1,1,3,10,0,100,0,1"; echo "501,20,0.01,2,1,1,2,0.1,0,1,0,1"; } > "$work/tree/runs/why-resnet20-bn/landscape.csv"
    out=$(CHARTS=0 BUILD_DIR="$bin/.." bash "$work/tree/scripts/results.sh" why-bn-resnet 2>&1)
    grep -q "^larger: loss variation 2 of 5, gradient change 4 of 5, beta-smoothness 4 of 5\.$" <<<"$out" || fail "resnet20 probe counts: $out"
    grep -q "^In epochs 16-20: loss variation 1 of 3, gradient change 2 of 3, beta-smoothness 2 of 3\.$" <<<"$out" ||
      fail "resnet20 probe counts in epochs 16-20: $out"
    grep -q "^why-resnet20-bn 4 of 5, why-resnet20-nonorm 6 of 6\.$" <<<"$out" || fail "resnet20 descent counts: $out" ;;
  recipes)
    need_data
    # The recipes are what docs/training.md says (config.json records every setting of a run).
    expect 0 "" -- "$train" --model cnn-bn --recipe full --epochs 2 --limit-train 300 --limit-test 50 --quiet --out "$work/full"
    for kv in '"recipe": "full",' '"optimizer": "sgd",' '"lr": 0.1,' '"momentum": 0.9,' '"nesterov": true,' \
              '"weight_decay": 0.0005,' '"decay_norm_and_bias": false,' '"schedule": "cosine",' '"warmup_epochs": 1.0,' \
              '"batch": 128,' '"label_smoothing": 0.1,' '"augment": true,' '"cutout": 0,'; do
      grep -qF "$kv" "$work/full/config.json" || fail "recipe full: config.json lacks $kv"
    done
    expect 0 "" -- "$train" --model cnn-bn --recipe baseline --epochs 1 --limit-train 300 --limit-test 50 --quiet --out "$work/base"
    for kv in '"optimizer": "sgd",' '"lr": 0.1,' '"momentum": 0.0,' '"weight_decay": 0.0,' '"schedule": "constant",' \
              '"label_smoothing": 0.0,' '"augment": false,'; do
      grep -qF "$kv" "$work/base/config.json" || fail "recipe baseline: config.json lacks $kv"
    done ;;
  bad-data)
    expect 2 "/nonexistent/cifar: no such directory" -- "$train" --data /nonexistent/cifar --out "$work/r"
    mkdir -p "$work/broken" && head -c 3000 /dev/zero > "$work/broken/data_batch_1.bin"
    expect 2 "data_batch_1.bin: size 3000 bytes is not a positive multiple" -- "$train" --data "$work/broken" --out "$work/r"
    TYPENET_DATA=/nonexistent/env expect 2 "/nonexistent/env: no such directory" -- "$train" --out "$work/r" ;;
  outputs)
    need_data
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 2 --out "$work/run"
    for f in config.json metrics.csv metrics.jsonl curves.svg last.ckpt final.ckpt; do
      [ -s "$work/run/$f" ] || fail "missing $f"
    done
    [ "$(wc -l < "$work/run/metrics.csv")" -eq 3 ] || fail "metrics.csv should have a header and 2 rows"
    head -1 "$work/run/metrics.csv" | grep -q "^epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged,val_loss,val_accuracy$" || fail "metrics.csv header"
    [ "$(wc -l < "$work/run/metrics.jsonl")" -eq 2 ] || fail "metrics.jsonl rows"
    grep -q '"model": "cnn-bn"' "$work/run/config.json" || fail "config.json lacks the model"
    grep -q '<svg' "$work/run/curves.svg" || fail "curves.svg is not SVG"
    # the run's record of the binary that wrote it: one line per start, naming this tree's commit
    [ "$(wc -l < "$work/run/invocations.jsonl")" -eq 1 ] || fail "invocations.jsonl should have one line"
    grep -Eq '^\{"started":"20[0-9-]{8}T[0-9:]{8}Z","commit":"[^"]+","compiler":"[^"]+","build_type":"[^"]*","first_epoch":1,"epochs":2,"kernels":"[a-z0-9]+","winograd":(true|false),"threads":[1-9][0-9]*,"cpu":"[^"]+"\}$' \
      "$work/run/invocations.jsonl" || fail "invocations.jsonl: unexpected line: $(cat "$work/run/invocations.jsonl")"
    if head=$(git rev-parse --short=7 HEAD 2>/dev/null); then
      grep -q "\"commit\":\"$head" "$work/run/invocations.jsonl" || fail "invocations.jsonl does not name commit $head (a stale build?)"
    fi
    # eval-only on the final checkpoint reproduces the last epoch's test accuracy
    acc=$(tail -1 "$work/run/metrics.csv" | cut -d, -f5)
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
    expect 0 "accuracy $pct" -- "$train" --model cnn-bn $small --eval-only --checkpoint "$work/run/final.ckpt"
    # overlay of two runs
    expect 0 "" -- "$plot" --out "$work/overlay.svg" --title "two" a="$work/run/metrics.csv" b="$work/run/metrics.csv"
    grep -q "<polyline" "$work/overlay.svg" || fail "overlay has no curves"
    chart_layout "$work/overlay.svg" 6        # a train and test loss for each run, a test accuracy for each
    chart_layout "$work/run/curves.svg" 4
    expect 2 "nope.csv: cannot open" -- "$plot" --out "$work/x.svg" a=nope.csv
    # a diverged run: its non-finite values cannot be drawn, the legend says from which epoch
    awk -F, 'BEGIN { OFS = "," } NR == 3 { $2 = "nan"; $4 = "inf" } { print }' "$work/run/metrics.csv" > "$work/nan.csv"
    expect 0 "" -- "$plot" --out "$work/nan.svg" --title "nan" d="$work/nan.csv"
    grep -q "d train (not finite from epoch 2)" "$work/nan.svg" || fail "legend does not mark the non-finite train loss"
    grep -q "d test (not finite from epoch 2)" "$work/nan.svg" || fail "legend does not mark the non-finite test loss"
    # a sweep: final accuracy against a per-run value, log scale (the learning-rate headroom chart)
    m=$work/run/metrics.csv
    expect 0 "" -- "$plot" --sweep lr --out "$work/sweep.svg" --title lr a@0.01=$m a@0.1=$m b@0.02=$m b@0.5=$m
    [ "$(grep -c "<polyline" "$work/sweep.svg")" -eq 4 ] || fail "sweep chart: expected 2 labels x 2 panels"
    grep -q "lr (log scale)" "$work/sweep.svg" || fail "sweep chart: no log-scale axis"
    chart_layout "$work/sweep.svg" 4
    # a linear sweep over fractional values: x labels at round fractions
    expect 0 "" -- "$plot" --sweep m --linear --out "$work/linear.svg" --title m a@0.01=$m a@0.5=$m b@0.2=$m
    chart_layout "$work/linear.svg" 4
    grep -q "text-anchor='middle' font-size='11'>0.1<" "$work/linear.svg" || fail "linear sweep: no x label at 0.1"
    # a linear sweep over whole values (say, a count): x labels at whole numbers only, not at 1.2
    expect 0 "" -- "$plot" --sweep n --linear --out "$work/whole.svg" --title n a@1=$m a@2=$m
    grep -q "text-anchor='middle' font-size='11'>2<" "$work/whole.svg" || fail "whole sweep: no x label at 2"
    grep -q "text-anchor='middle' font-size='11'>1.2<" "$work/whole.svg" && fail "whole sweep: an x label at 1.2"
    expect 2 "'inf' is not a number" -- "$plot" --sweep m --linear --out "$work/x.svg" a@inf=$m
    # a diverged run in a sweep: the legend names the swept value, not its logarithm
    expect 0 "" -- "$plot" --sweep lr --out "$work/sweepnan.svg" --title lr a@0.01=$m a@0.5="$work/nan.csv"
    grep -q "a (not finite from lr 0.5)" "$work/sweepnan.svg" || fail "sweep legend does not name the diverged run's lr"
    expect 2 "'fast' is not a number" -- "$plot" --sweep lr --out "$work/x.svg" a@fast=$m
    expect 2 "log-scale sweep needs x > 0" -- "$plot" --sweep lr --out "$work/x.svg" a@0=$m
    expect 2 "expects LABEL@X=path" -- "$plot" --sweep lr --out "$work/x.svg" a=$m
    # --epoch N: each run's first N epochs (epoch 2 of this 2-epoch run = the whole run; epoch 1 is not)
    expect 0 "" -- "$plot" --sweep lr --epoch 2 --out "$work/sweep2.svg" --title lr a@0.01=$m a@0.1=$m b@0.02=$m b@0.5=$m
    cmp -s "$work/sweep.svg" "$work/sweep2.svg" || fail "--epoch 2 of a 2-epoch run should change nothing"
    expect 0 "" -- "$plot" --sweep lr --epoch 1 --out "$work/sweep1.svg" --title lr a@0.01=$m a@0.1=$m b@0.02=$m b@0.5=$m
    cmp -s "$work/sweep.svg" "$work/sweep1.svg" && fail "--epoch 1 should plot epoch 1, not the last"
    expect 2 "metrics.csv: has no epoch 3 \(--epoch 3\); its last is 2" -- "$plot" --sweep lr --epoch 3 --out "$work/x.svg" a@0.1=$m
    expect 2 "--epoch: expected an epoch number >= 1, got '0'" -- "$plot" --epoch 0 --out "$work/x.svg" a=$m ;;
  bad-checkpoint)
    need_data
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 1 --out "$work/run"
    expect 2 "written by network 'cnn-bn'.*loading into 'cnn-nobn'" -- \
      "$train" --model cnn-nobn $small --eval-only --checkpoint "$work/run/final.ckpt"
    cp "$work/run/final.ckpt" "$work/flip.ckpt"
    printf '\x55' | dd of="$work/flip.ckpt" bs=1 seek=5000 conv=notrunc status=none
    expect 2 "flip.ckpt: checksum mismatch" -- "$train" --model cnn-bn $small --eval-only --checkpoint "$work/flip.ckpt"
    head -c 100000 "$work/run/final.ckpt" > "$work/cut.ckpt"
    expect 2 "cut.ckpt.*truncated" -- "$train" --model cnn-bn $small --eval-only --checkpoint "$work/cut.ckpt"
    expect 2 "no such checkpoint file" -- "$train" --model cnn-bn $small --resume --out "$work/empty"
    expect 2 "was written with lr = 0.1 but this command asks for 0.05" -- \
      "$train" --model cnn-bn $small --epochs 2 --resume --lr 0.05 --out "$work/run"
    # a crafted checkpoint (valid checksum, a tensor of 2^62 elements) on the --eval-only and --resume paths
    expect 2 "dims-2e62\.ckpt: tensor 0 'huge': .*overflow" -- \
      "$train" --model cnn-bn $small --eval-only --checkpoint tests/fuzz/corpus/checkpoint/dims-2e62.ckpt
    mkdir -p "$work/crafted" && cp tests/fuzz/corpus/checkpoint/dims-2e62.ckpt "$work/crafted/last.ckpt"
    expect 2 "last\.ckpt: tensor 0 'huge': .*overflow" -- "$train" --model cnn-bn $small --epochs 2 --resume --out "$work/crafted"
    # crafted counts (valid checksum): an epoch or step that is no whole number is refused by name
    cp -r "$work/run" "$work/count" && set_meta "$work/count/last.ckpt" fit.epoch -1
    expect 2 "count/last\.ckpt: fit\.epoch '-1' is not a whole number from 0 to 2\^53$" -- \
      "$train" --model cnn-bn $small --epochs 2 --resume --out "$work/count"
    cp "$work/run/final.ckpt" "$work/step.ckpt" && set_meta "$work/step.ckpt" fit.step 12x
    expect 2 "step\.ckpt: fit\.step '12x' is not a whole number from 0 to 2\^53$" -- \
      "$train" --model cnn-bn $small --eval-only --eval-bn batch --checkpoint "$work/step.ckpt"
    cp "$work/run/final.ckpt" "$work/same.ckpt" && set_meta "$work/same.ckpt" fit.step 3
    expect 0 "accuracy [0-9.]+%" -- "$train" --model cnn-bn $small --eval-only --eval-bn batch --checkpoint "$work/same.ckpt" ;;
  lock)
    # One writer per run directory: a second typenet-train on a directory in use stops with
    # exit 2 and leaves the first run's files alone; a lock left by a stopped run blocks nothing.
    need_data
    "$train" --model cnn-bn --limit-train 2048 --limit-test 128 --batch 64 --quiet --epochs 50 --out "$work/run" \
      > "$work/first.log" 2>&1 &
    first=$!
    trap 'kill $first 2> /dev/null' EXIT  # whatever fails below, the background run goes too
    for _ in $(seq 600); do [ -f "$work/run/last.ckpt" ] && break; kill -0 $first 2> /dev/null || break; sleep 0.5; done
    [ -f "$work/run/last.ckpt" ] || { cat "$work/first.log"; kill $first 2> /dev/null; fail "the first run wrote no checkpoint"; }
    before=$(cat "$work/run/config.json")
    expect 2 "--out .*/run: another typenet-train \(pid $first\) is writing this run directory" -- \
      "$train" --model cnn-bn $small --epochs 1 --lr 0.5 --out "$work/run"
    kill -0 $first 2> /dev/null || fail "the first run ended before the second was refused (the check proved nothing)"
    [ "$(cat "$work/run/config.json")" = "$before" ] || fail "the refused run changed the first run's config.json"
    kill -TERM $first; wait $first  # (background jobs of a script ignore SIGINT)
    [ -f "$work/run/.lock" ] || fail "no lock file"
    # A new run over it without --resume is refused; --overwrite starts over in its place.
    expect 2 "--out .*/run holds a run already .*--resume continues it, --overwrite starts over" -- \
      "$train" --model cnn-bn $small --epochs 1 --out "$work/run"
    expect 2 "--overwrite and --resume exclude each other" -- "$train" --model cnn-bn $small --resume --overwrite --out "$work/run"
    # The old run's files go at the start: a new run that stops early leaves none of them.
    expect 0 "" -- "$train" --model cnn-nobn $small --epochs 2 --out "$work/fresh"
    expect 3 "stopping" -- "$train" --model cnn-nobn $small --epochs 2 --lr 1e7 --overwrite --out "$work/fresh"
    [ ! -f "$work/fresh/final.ckpt" ] || fail "--overwrite left the old run's final.ckpt behind"
    expect 0 "" -- "$train" --model cnn-nobn $small --epochs 1 --overwrite --out "$work/fresh"
    [ "$(tail -n +2 "$work/fresh/metrics.csv" | wc -l)" -eq 1 ] || fail "--overwrite kept the old run's rows"
    [ "$(wc -l < "$work/fresh/invocations.jsonl")" -eq 1 ] || fail "--overwrite kept the old run's invocations"
    # (metrics.csv may trail last.ckpt by the epoch the kill interrupted: 2 more epochs)
    expect 0 "" -- "$train" --model cnn-bn --limit-train 2048 --limit-test 128 --batch 64 --quiet --resume \
      --epochs $(( $(tail -n +2 "$work/run/metrics.csv" | wc -l) + 2 )) --out "$work/run" ;;
  resume)
    need_data
    # 3 epochs straight, against 1 epoch and then a resume to 3: identical metrics.
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 3 --augment true --momentum 0.9 --out "$work/straight"
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 1 --augment true --momentum 0.9 --out "$work/split"
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 3 --augment true --momentum 0.9 --resume --out "$work/split"
    same_metrics "$work/straight/metrics.csv" "$work/split/metrics.csv"
    [ "$(wc -l < "$work/split/invocations.jsonl")" -eq 2 ] || fail "a resumed run should record two invocations"
    tail -1 "$work/split/invocations.jsonl" | grep -q '"first_epoch":2,"epochs":3' || fail "the resume's invocation should start at epoch 2"
    # resuming a finished run trains nothing and records nothing
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 3 --augment true --momentum 0.9 --resume --out "$work/split"
    [ "$(wc -l < "$work/split/invocations.jsonl")" -eq 2 ] || fail "resuming a finished run recorded an invocation"
    "$train" --model cnn-bn $small --eval-only --checkpoint "$work/straight/final.ckpt" > "$work/a.txt"
    "$train" --model cnn-bn $small --eval-only --checkpoint "$work/split/final.ckpt" > "$work/b.txt"
    diff <(sed 's/^eval [^ ]* //' "$work/a.txt") <(sed 's/^eval [^ ]* //' "$work/b.txt") || fail "final checkpoints evaluate differently" ;;
  resnet)
    need_data
    # A ResNet end to end: train, release the buffers for evaluation and checkpoints between
    # epochs, resume to the same metrics, evaluate the checkpoint, refuse it for another network.
    # (A constant schedule: a cosine one depends on the total epochs, which the split run extends.)
    rn="--model resnet20 --recipe resnet --schedule constant --lr 0.05"
    expect 0 "" -- "$train" $rn $small --epochs 2 --out "$work/straight"
    expect 0 "" -- "$train" $rn $small --epochs 1 --out "$work/split"
    expect 0 "" -- "$train" $rn $small --epochs 2 --resume --out "$work/split"
    same_metrics "$work/straight/metrics.csv" "$work/split/metrics.csv"
    grep -q '"model": "resnet20"' "$work/straight/config.json" || fail "config.json lacks the model"
    acc=$(tail -1 "$work/straight/metrics.csv" | cut -d, -f5)
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
    expect 0 "accuracy $pct" -- "$train" --model resnet20 $small --eval-only --checkpoint "$work/straight/final.ckpt"
    expect 2 "written by network 'resnet20'.*loading into 'resnet56'" -- \
      "$train" --model resnet56 $small --eval-only --checkpoint "$work/straight/final.ckpt" ;;
  norms)
    need_data
    # The other normalisations end to end. Batch renorm over groups of 4 samples with a ramp that
    # relaxes during the run (the clipping limits follow the global step, which a resumed run must
    # take up where it stopped): 2 epochs straight = 1 + 1 resumed. Group norm: eval-only of its
    # checkpoint gives its last accuracy, and it trains at batch 64 with a last batch of 1 image
    # (no batch statistics: per-sample normalisation needs none).
    rb="--model resnet20-brn --recipe resnet --schedule constant --lr 0.05 --bn-group 4 --renorm-start 1"
    rb="$rb --renorm-dmax-end 3 --renorm-rmax-end 5"
    expect 0 "" -- "$train" $rb $small --epochs 2 --out "$work/brn-straight"
    expect 0 "" -- "$train" $rb $small --epochs 1 --out "$work/brn-split"
    expect 0 "" -- "$train" $rb $small --epochs 2 --resume --out "$work/brn-split"
    same_metrics "$work/brn-straight/metrics.csv" "$work/brn-split/metrics.csv"
    grep -q '"bn_group": 4' "$work/brn-straight/config.json" || fail "config.json lacks bn_group"
    grep -q '"renorm_rmax_end": 5' "$work/brn-straight/config.json" || fail "config.json lacks renorm_rmax_end"
    expect 0 "" -- "$train" --model resnet20-gn --recipe resnet --epochs 1 --limit-train 257 --limit-test 128 \
      --batch 64 --quiet --out "$work/gn"
    acc=$(tail -1 "$work/gn/metrics.csv" | cut -d, -f5)
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
    expect 0 "accuracy $pct" -- "$train" --model resnet20-gn $small --eval-only --checkpoint "$work/gn/final.ckpt" ;;
  eval-modes)
    need_data
    # Eval mode does not depend on the batch: every logit equal, bit for bit, at batch 1 and 128
    # (the CRC-32 of all logits); train-mode batch statistics are another thing (and refused
    # at batch 1).
    expect 0 "" -- "$train" --model cnn-bn --limit-train 256 --limit-test 300 --batch 64 --quiet --epochs 1 --out "$work/run"
    ev="--model cnn-bn --limit-test 300 --eval-only --checkpoint $work/run/final.ckpt"
    a=$("$train" $ev --eval-batch 1) || fail "eval at batch 1"
    b=$("$train" $ev --eval-batch 128) || fail "eval at batch 128"
    echo "$a"; echo "$b"
    crc() { sed -n 's/.*logits crc32 \([0-9a-f]*\).*/\1/p' <<<"$1"; }
    [ -n "$(crc "$a")" ] && [ "$(crc "$a")" = "$(crc "$b")" ] || fail "eval logits differ between batch 1 and batch 128"
    expect 0 "batches of 128, batch statistics" -- "$train" $ev --eval-batch 128 --eval-bn batch
    c=$("$train" $ev --eval-batch 128 --eval-bn batch)
    [ "$(crc "$c")" != "$(crc "$b")" ] || fail "batch statistics gave the running statistics' logits"
    expect 2 "batch statistics need --eval-batch of at least 2" -- "$train" $ev --eval-batch 1 --eval-bn batch
    expect 2 "the last test batch would hold 1 image" -- "$train" $ev --eval-batch 299 --eval-bn batch
    expect 2 "--eval-bn: expected running or batch" -- "$train" $ev --eval-bn median
    # Batch renorm with batch statistics normalises as the run did at the checkpoint's step, with
    # the run's recorded schedule (this command gives none): with the clipping limits relaxed
    # from the first step and never reached, r and d undo the batch statistics, and every test
    # batch is normalised with the running statistics, as eval mode does (the loss to 1e-3 and the
    # accuracy to one image of 300: rounding may move a near tie). At the schedule's step 0 it
    # would be plain batch statistics: on such a run (the default schedule, plain batch norm for
    # 5000 steps) the two gave losses 6.33 and 2.24.
    expect 0 "" -- "$train" --model resnet20-brn --limit-train 256 --limit-test 300 --batch 64 --quiet --epochs 1 \
      --renorm-start 0 --renorm-rmax-end 1 --renorm-dmax-end 1 --renorm-rmax 1e6 --renorm-dmax 1e6 --out "$work/brn"
    ev="--model resnet20-brn --limit-test 300 --eval-only --checkpoint $work/brn/final.ckpt --eval-batch 100"
    acc() { sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' <<<"$1"; }
    r=$("$train" $ev) || fail "brn eval"
    t=$("$train" $ev --eval-bn batch) || fail "brn eval with batch statistics"
    echo "$r"; echo "$t"
    los() { sed -n 's/.*loss \([0-9.]*\) accuracy.*/\1/p' <<<"$1"; }
    awk -v a="$(acc "$r")" -v b="$(acc "$t")" -v la="$(los "$r")" -v lb="$(los "$t")" \
      'BEGIN { d = a - b; if (d < 0) d = -d; e = la - lb; if (e < 0) e = -e; exit !(d <= 100 / 300 + 1e-9 && e <= 1e-3 * la) }' ||
      fail "batch renorm at the checkpoint's step: loss $(los "$t"), $(acc "$t")% with batch statistics against $(los "$r"), $(acc "$r")% in eval mode" ;;
  validation)
    need_data
    # --val-split: 200 of 1,000 training images held out and evaluated every epoch (val columns),
    # the test set only after the last epoch; best.ckpt is the epoch of the best validation
    # accuracy; a resumed run (with --test-every-epoch) ends with the straight run's metrics.
    vs="--model cnn-bn --limit-train 1000 --limit-test 200 --batch 64 --val-split 200"
    expect 0 "800 training, 200 validation .held out of the training files. and 200 test images" -- \
      "$train" $vs --epochs 3 --out "$work/val"
    m=$work/val/metrics.csv
    head -1 "$m" | grep -q ",diverged,val_loss,val_accuracy$" || fail "metrics.csv lacks the validation columns"
    awk -F, 'NR > 1 && ($12 == "nan" || $12 < 0 || $12 > 1) { exit 1 }' "$m" || fail "a row without validation accuracy"
    [ "$(awk -F, 'NR > 1 && $5 != "nan"' "$m" | wc -l)" -eq 1 ] && [ "$(tail -1 "$m" | cut -d, -f5)" != nan ] ||
      fail "the test set should be evaluated once, after the last epoch"
    best=$(awk -F, 'NR > 1 && (b == "" || $12 > b) { b = $12; e = $1 } END { print e }' "$m")
    grep -q "fit.epoch = $best$" <<<"$("$bin/typenet-inspect" "$work/val/best.ckpt")" ||
      fail "best.ckpt is not epoch $best, the one with the best validation accuracy"
    expect 0 "eval .*best.ckpt on 200 test images" -- "$train" --eval-only --checkpoint "$work/val/best.ckpt" --limit-test 200
    # resume: 1 epoch, then to 3, equals 3 straight (the test columns of epoch 1 kept from metrics.csv)
    expect 0 "" -- "$train" $vs --quiet --test-every-epoch --momentum 0.9 --epochs 3 --out "$work/straight"
    expect 0 "" -- "$train" $vs --quiet --test-every-epoch --momentum 0.9 --epochs 1 --out "$work/split"
    expect 0 "" -- "$train" $vs --quiet --test-every-epoch --momentum 0.9 --epochs 3 --resume --out "$work/split"
    same_metrics "$work/straight/metrics.csv" "$work/split/metrics.csv"
    [ "$(awk -F, 'NR > 1 && $5 != "nan"' "$work/split/metrics.csv" | wc -l)" -eq 3 ] || fail "--test-every-epoch: a row without test figures"
    a=$("$train" --eval-only --checkpoint "$work/straight/best.ckpt" --limit-test 200 | sed 's/^eval [^ ]* //')
    b=$("$train" --eval-only --checkpoint "$work/split/best.ckpt" --limit-test 200 | sed 's/^eval [^ ]* //')
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "best.ckpt of the resumed run evaluates differently: $a / $b"
    expect 2 "--val-split: .* of class" -- "$train" $vs --val-split 999 --out "$work/x"
    expect 2 "--val-split: 1000 images held out of --limit-train 1000 leave none" -- "$train" $vs --val-split 1000 --out "$work/x"
    # Early stopping: a diverged network's validation accuracy never improves, so with patience
    # 2 the run ends after epoch 3 of 5, with the test set evaluated and final.ckpt written.
    expect 0 "early stopping: the validation accuracy has not improved for 2 epochs" -- \
      "$train" $vs --epochs 5 --lr 1e7 --on-divergence=continue --early-stop 2 --out "$work/early"
    [ "$(tail -n +2 "$work/early/metrics.csv" | wc -l)" -eq 3 ] || fail "early stopping should end the run after epoch 3"
    [ "$(tail -1 "$work/early/metrics.csv" | cut -d, -f5)" != nan ] || fail "an early-stopped run's test figures are missing"
    [ -f "$work/early/final.ckpt" ] || fail "an early-stopped run should write final.ckpt"
    expect 2 "--early-stop needs --val-split" -- "$train" --model cnn-bn $small --early-stop 3 --out "$work/x"
    expect 2 "--test-every-epoch needs --val-split" -- "$train" --model cnn-bn $small --test-every-epoch --out "$work/x" ;;
  predict)
    need_data
    # typenet-predict by the checkpoint alone: its logits for test:0-199 are typenet-train
    # --eval-only's (the CRC-32 of all of them), PNGs of records give those records' lines, a
    # JPEG is predicted, and each bad input gets an error naming it while the good ones go on.
    predict=$bin/typenet-predict
    expect 0 "" -- "$train" --model cnn-bn --limit-train 512 --limit-test 200 --batch 64 --quiet --epochs 1 --out "$work/run"
    ck=$work/run/final.ckpt
    crc() { sed -n 's/.*logits crc32 \([0-9a-f]*\).*/\1/p' <<<"$1"; }
    a=$("$train" --eval-only --checkpoint "$ck" --limit-test 200) || fail "eval-only"
    b=$("$predict" --checkpoint "$ck" --crc --batch 7 test:0-199) || fail "predict test:0-199"
    echo "$a"; tail -1 <<<"$b"
    [ -n "$(crc "$a")" ] && [ "$(crc "$a")" = "$(crc "$b")" ] || fail "typenet-predict's logits are not typenet-train's"
    [ "$(grep -c '^test:[0-9]*: [a-z]* 0\.[0-9]*, [a-z]* 0\.[0-9]*, [a-z]* 0\.[0-9]*$' <<<"$b")" -eq 200 ] || fail "not one line of 3 classes per input"
    "$bin/write_images" "$work/img" || fail "write_images"
    files=$("$predict" --checkpoint "$ck" --top 10 --logits "$work"/img/test_{0,1,2,3,4}.png | sed 's/^[^ ]*: //')
    records=$("$predict" --checkpoint "$ck" --top 10 --logits test:0-4 | sed 's/^[^ ]*: //')
    [ -n "$files" ] && [ "$files" = "$records" ] || fail "a PNG of a record is not predicted as the record"
    awk -F'[,|]' '{ s = 0; for (i = 1; i <= 10; i++) { n = split($i, w, " "); s += w[n] } if (s < 0.999 || s > 1.001) exit 1 }' <<<"$records" ||
      fail "the 10 probabilities of an input do not sum to 1"
    expect 0 "test_0.jpg: [a-z]+ 0\.[0-9]+" -- "$predict" --checkpoint "$ck" --top 1 "$work/img/test_0.jpg"
    expect 2 "small.png.*16 x 16" -- "$predict" --checkpoint "$ck" "$work/img/small.png" test:0
    out=$("$predict" --checkpoint "$ck" "$work/img/grey.png" "$work/img/corrupt.png" test:10000 nothing.png test:1 2>&1); rc=$?
    echo "$out"
    [ "$rc" -eq 2 ] || fail "bad inputs should exit 2, got $rc"
    for w in "grey.png.*channel" "corrupt.png" "test:10000: the test set has 10000 records" "nothing.png: no such file" "^test:1: "; do
      grep -Eq -- "$w" <<<"$out" || fail "no line matching /$w/"
    done
    expect 2 "checkpoint: .*no-such.ckpt" -- "$predict" --checkpoint "$work/no-such.ckpt" test:0
    expect 2 "--checkpoint FILE is required" -- "$predict" test:0
    expect 2 "--top: expected a whole number >= 1" -- "$predict" --checkpoint "$ck" --top 0 test:0 ;;
  config)
    need_data
    # --config replays a run from its config.json: the same metrics and the same config.json;
    # flags override it; a bad file is an error naming it and the setting.
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 2 --momentum 0.9 --augment true --cutout 8 --out "$work/a"
    expect 0 "" -- "$train" --config "$work/a/config.json" --quiet --out "$work/b"
    same_metrics "$work/a/metrics.csv" "$work/b/metrics.csv"
    cmp -s "$work/a/config.json" "$work/b/config.json" || fail "the replay's config.json differs"
    expect 0 "" -- "$train" --config "$work/a/config.json" --quiet --epochs 1 --out "$work/c"
    [ "$(tail -n +2 "$work/c/metrics.csv" | wc -l)" -eq 1 ] || fail "--epochs did not override the config"
    sed 's/"momentum"/"momentun"/' "$work/a/config.json" > "$work/typo.json"
    expect 2 "--config .*typo.json: unknown setting 'momentun'" -- "$train" --config "$work/typo.json" --out "$work/x"
    sed 's/"batch": 64/"batch": "64"/' "$work/a/config.json" > "$work/type.json"
    expect 2 "--config .*type.json: batch: expected a whole number" -- "$train" --config "$work/type.json" --out "$work/x"
    expect 2 "--recipe and --config exclude each other" -- "$train" --config "$work/a/config.json" --recipe full --out "$work/x" ;;
  dynamics)
    need_data
    # steps.csv and landscape.csv (--log-every, --landscape-every): a row per step and a probe every
    # 2 steps; the probes change no metric; a run resumed after epoch 1 writes the same rows.
    flags="--model cnn-bn $small --momentum 0.9 --augment true"
    expect 0 "" -- "$train" $flags --epochs 2 --out "$work/plain"
    expect 0 "" -- "$train" $flags --epochs 2 --log-every 1 --landscape-every 2 --out "$work/straight"
    same_metrics "$work/plain/metrics.csv" "$work/straight/metrics.csv"
    [ "$(head -1 "$work/straight/steps.csv")" = "step,epoch,epoch_step,loss,accuracy,grad_norm,lr" ] || fail "steps.csv header"
    [ "$(wc -l < "$work/straight/steps.csv")" -eq 9 ] || fail "steps.csv should hold 8 steps (2 epochs of 4)"
    [ "$(wc -l < "$work/straight/landscape.csv")" -eq 5 ] || fail "landscape.csv should hold 4 probes (steps 1, 3, 5, 7)"
    awk -F, 'NR > 1 && !($8 >= 0 && $10 >= $9 && $12 >= $11 && $12 > 0) { exit 1 }' "$work/straight/landscape.csv" ||
      fail "landscape.csv: a variation below 0 or a maximum below its minimum"
    # scripts/bench-probes.sh end to end on a tiny subset: one round prints its figures (their size
    # is the benchmark's business, not a test's; cli.scripts checks its round count).
    expect 0 "^median epoch: without probes [0-9.]+ s, with [0-9.]+ s; with / without [0-9.]+ \([+-][0-9]+%; rounds [0-9.]+\.\.[0-9.]+\)$" -- \
      env ROUNDS=1 LIMIT=256 EVERY=1 BUILD_DIR="$bin/.." bash scripts/bench-probes.sh
    expect 0 "" -- "$train" $flags --epochs 1 --log-every 1 --landscape-every 2 --out "$work/split"
    expect 0 "" -- "$train" $flags --epochs 2 --log-every 1 --landscape-every 2 --resume --out "$work/split"
    cmp "$work/straight/steps.csv" "$work/split/steps.csv" || fail "a resumed run's steps.csv differs"
    cmp "$work/straight/landscape.csv" "$work/split/landscape.csv" || fail "a resumed run's landscape.csv differs"
    expect 2 "--log-every: " -- "$train" $flags --log-every x --out "$work/bad"
    expect 0 "straight: epoch 2, loss oscillation [0-9.]+ \\(standard deviation" -- "$plot" --steps --smooth 3 --out "$work/steps.svg" \
      straight="$work/straight/steps.csv" split="$work/split/steps.csv"
    svg_texts "$work/steps.svg" "runs: batch loss" "loss (faint: each row; bold: moving average of 3 rows)" "runs: gradient norm"
    for q in loss gradient beta; do
      expect 0 "" -- "$plot" --landscape $q --title "probes" --out "$work/$q.svg" straight="$work/straight/landscape.csv"
    done
    svg_texts "$work/beta.svg" "probes: effective beta-smoothness (shaded: range over the step sizes)"
    grep -q "<polygon fill=" "$work/gradient.svg" || fail "the gradient chart has no shaded range"
    expect 2 "--landscape: expected loss, gradient or beta, got 'slope'" -- "$plot" --landscape slope --out "$work/x.svg" a="$work/straight/landscape.csv"
    expect 2 "metrics.csv: line 1 is not the header 'step,epoch" -- "$plot" --steps --out "$work/x.svg" a="$work/straight/metrics.csv"
    expect 2 "--smooth: expected a number of rows" -- "$plot" --steps --smooth 0 --out "$work/x.svg" a="$work/straight/steps.csv"
    expect 2 "different charts" -- "$plot" --steps --landscape beta --out "$work/x.svg" a="$work/straight/steps.csv"
    [ ! -e "$work/x.svg" ] || fail "a refused chart was written"
    # --overwrite removes the old run's per-step files with the rest
    expect 0 "" -- "$train" $flags --epochs 1 --overwrite --out "$work/split"
    [ ! -e "$work/split/steps.csv" ] && [ ! -e "$work/split/landscape.csv" ] || fail "--overwrite kept the old steps.csv" ;;
  divergence)
    need_data
    expect 3 "the (loss|gradient norm) is (nan|inf).*stopping" -- "$train" --model cnn-nobn $small --epochs 2 --lr 1e7 --out "$work/stop"
    [ -f "$work/stop/metrics.csv" ] && awk -F, 'NR > 1 && $10 == 1 { d = 1 } END { exit !d }' "$work/stop/metrics.csv" ||
      fail "the diverged epoch is not recorded"
    expect 0 "" -- "$train" --model cnn-nobn $small --epochs 2 --lr 1e7 --on-divergence=continue --out "$work/cont"
    [ "$(awk -F, 'NR > 1 && $10 == 1' "$work/cont/metrics.csv" | wc -l)" -ge 1 ] || fail "diverged epochs not marked" ;;
  inspect)
    # typenet-inspect reads a checkpoint's tensors: the figures of docs/results.md (weight norms,
    # NaN counts) come from it.
    need_data
    expect 0 "" -- "$train" --model cnn-bn $small --epochs 1 --out "$work/run"
    expect 0 "^0\.conv_bn\.weight +32x3x3x3 +864  norm +[1-9][0-9.e+]*  nan 0  inf 0$" -- "$bin/typenet-inspect" "$work/run/last.ckpt"
    expect 0 "network cnn-bn" -- "$bin/typenet-inspect" "$work/run/last.ckpt"
    head -c 100 "$work/run/last.ckpt" > "$work/cut.ckpt"
    expect 2 "typenet-inspect: .*cut\.ckpt" -- "$bin/typenet-inspect" "$work/cut.ckpt"
    expect 2 "usage: typenet-inspect CHECKPOINT" -- "$bin/typenet-inspect" ;;
  crafted-files)
    # Crafted files from the fuzz corpus (tests/fuzz/corpus/, docs/testing.md) are refused with a
    # message and exit 2, never a signal: a checkpoint with a valid checksum whose one tensor
    # claims 2^62 four-byte elements (2^64 bytes; typenet-inspect died of SIGSEGV on it), dims
    # whose product overflows, and a metrics.csv whose epoch is NaN (undefined behaviour before).
    corpus=tests/fuzz/corpus
    expect 2 "^typenet-inspect: .*dims-2e62\.ckpt: tensor 0 'huge': dims 4611686018427387904 of 4-byte elements overflow" -- \
      "$bin/typenet-inspect" "$corpus/checkpoint/dims-2e62.ckpt"
    expect 2 "^typenet-inspect: .*dims-overflow\.ckpt: tensor 0 'wide': dims 4294967296x4294967296x3 .*overflow" -- \
      "$bin/typenet-inspect" "$corpus/checkpoint/dims-overflow.ckpt"
    expect 2 "^typenet-plot: .*bad-epoch\.csv: line 2: epoch 'nan' is not a whole number" -- \
      "$plot" --out "$work/x.svg" "bad=$corpus/metrics_csv/bad-epoch.csv" ;;
  ablation)
    need_data
    # The BatchNorm ablation in miniature: 5,000 training images, 2 epochs, baseline recipe
    # (SGD lr 0.1, batch 128), under both initialisations (docs/results.md explains why both).
    for init in pytorch kaiming-normal; do
      for m in cnn-nobn cnn-bn; do
        expect 0 "" -- "$train" --model $m --recipe baseline --init $init --limit-train 5000 --limit-test 1000 \
          --epochs 2 --on-divergence=continue --quiet --out "$work/$init-$m"
      done
    done
    last() { tail -1 "$work/$1/metrics.csv" | cut -d, -f"$2"; }
    echo "final train loss, pytorch init: cnn-bn $(last pytorch-cnn-bn 2), cnn-nobn $(last pytorch-cnn-nobn 2)"
    echo "final train loss, He init: cnn-bn $(last kaiming-normal-cnn-bn 2), cnn-nobn $(last kaiming-normal-cnn-nobn 2)"
    # PyTorch's init: BN's training loss falls clearly below ln 10 = 2.3026, no-BN's stays within 0.1 of it.
    awk -v l="$(last pytorch-cnn-bn 2)" 'BEGIN { exit !(l < 2.0) }' || fail "cnn-bn (pytorch init) is not clearly below ln 10"
    awk -v l="$(last pytorch-cnn-nobn 2)" 'BEGIN { exit !(l > 2.2026 && l < 2.4026) }' || fail "cnn-nobn (pytorch init) is not near ln 10"
    # He init (the trainer's default): BN learns; no-BN does not: its loss stays within 0.1 of
    # ln 10, or the run diverges (which of the two depends chaotically on the data subset).
    awk -v l="$(last kaiming-normal-cnn-bn 2)" 'BEGIN { exit !(l < 2.0) }' || fail "cnn-bn (He init) is not clearly below ln 10"
    nobn=$(last kaiming-normal-cnn-nobn 2) diverged=$(last kaiming-normal-cnn-nobn 10)
    [ "$diverged" = 1 ] || awk -v l="$nobn" 'BEGIN { exit !(l > 2.2026 && l < 2.4026) }' ||
      fail "cnn-nobn (He init) learned at lr 0.1 (loss $nobn)" ;;
  escape)
    # User text in every place typenet-plot takes it (the title, the run labels, a sweep's name)
    # holding XML's markup characters, commas, a newline, a tab, UTF-8, a control character and
    # a byte that is not UTF-8: the SVG parses and a reader gets the text back (the control
    # character and the stray byte as U+FFFD). No data set needed: a metrics.csv written here.
    m=$work/metrics.csv
    { echo "epoch,train_loss,train_accuracy,test_loss,test_accuracy,grad_norm,lr,seconds,images_per_second,diverged"
      echo "1,2.0,0.2,1.9,0.30,1,0.1,80,600,0"; echo "2,1.5,0.4,1.4,0.45,1,0.1,80,600,0"; } > "$m"
    awk -F, 'BEGIN { OFS = "," } NR == 3 { $2 = "nan" } { print }' "$m" > "$work/nan.csv"
    title=$'BN & <no BN> "q" \'a\', b\nsecond line\tµ — 🙂'
    a=$'a&b\n"x", \'y\'' b='<c> µ—🙂' c=$'ctl\x01 lat\xb5'
    expect 0 "" -- "$plot" --out "$work/overlay.svg" --title "$title" "$a=$m" "$b=$m" "$c=$m"
    svg_texts "$work/overlay.svg" "$title" "$title: loss" "$title: test accuracy" "$a train" "$a test" "$b train" \
      "$b test" $'ctl\xef\xbf\xbd lat\xef\xbf\xbd train'
    sweep=$'lr & <wd>, "m"'
    expect 0 "" -- "$plot" --sweep "$sweep" --out "$work/sweep.svg" --title "$title" "$b@0.1=$m" "$b@0.5=$work/nan.csv" "$a@0.2=$m"
    svg_texts "$work/sweep.svg" "$title" "$title: final test accuracy" "$sweep (log scale)" "$a" \
      "$b (not finite from $sweep 0.5)"
    expect 0 "" -- "$plot" --sweep "$sweep" --linear --out "$work/linear.svg" --title "$title" "$b@0.1=$m" "$a@0.2=$m"
    svg_texts "$work/linear.svg" "$sweep"
    # typenet-bench --json: every string in it (model, description, CPU name, layers) a JSON string
    "$bin/typenet-bench" --model cnn-bn --batch 2 --steps 1 --warmup 0 --no-peak --profile --json > "$work/bench.json" ||
      fail "typenet-bench --json failed" ;;
  interrupt)
    # SIGINT in the middle of an epoch: the step finishes, last.ckpt is written there (fit.partial),
    # the exit code is 130; --resume continues with the next batch and the run's metrics equal an
    # uninterrupted run's. No training data is needed afterwards to evaluate the checkpoint.
    need_data
    args="--model cnn-bn --limit-train 3072 --limit-test 256 --batch 64 --augment true --momentum 0.9 --epochs 2"
    expect 0 "" -- "$train" $args --quiet --out "$work/straight"
    "$train" $args --out "$work/split" > "$work/split.log" 2>&1 &
    pid=$!
    trap 'kill -9 $pid 2> /dev/null' EXIT
    # after the first epoch's checkpoint, into the second epoch
    for _ in $(seq 600); do [ -f "$work/split/last.ckpt" ] && break; kill -0 $pid 2> /dev/null || break; sleep 0.2; done
    sleep 1
    kill -INT $pid; wait $pid; rc=$?
    cat "$work/split.log"
    [ "$rc" -eq 130 ] || fail "SIGINT: expected exit 130, got $rc"
    grep -q "interrupted: .*last.ckpt holds the run so far; --resume continues it" "$work/split.log" || fail "no word of the interruption"
    "$bin/typenet-inspect" "$work/split/last.ckpt" > "$work/inspect.txt" || fail "last.ckpt is unreadable after SIGINT"
    grep -Eq "^  fit.partial = 2 [1-9]" "$work/inspect.txt" || fail "last.ckpt is not in the middle of epoch 2: $(grep fit. "$work/inspect.txt")"
    expect 0 "resuming" -- "$train" $args --resume --out "$work/split"
    same_metrics "$work/straight/metrics.csv" "$work/split/metrics.csv"
    # the checkpoint carries its normalisation and names its network: --eval-only needs no --model
    # and no training data (a --data folder holding only the test batch)
    d=$(for d in "${TYPENET_DATA:-}" data/cifar-10-batches-bin ../shared/data/cifar10/cifar-10-batches-bin; do
          [ -n "$d" ] && [ -f "$d/test_batch.bin" ] && echo "$d" && break; done)
    mkdir -p "$work/testonly" && cp "$d/test_batch.bin" "$work/testonly/"
    acc=$(tail -1 "$work/straight/metrics.csv" | cut -d, -f5)
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
    expect 0 "accuracy $pct" -- "$train" --limit-test 256 --batch 64 --data "$work/testonly" --eval-only --checkpoint "$work/straight/final.ckpt" ;;
  kill9)
    # SIGKILL at random moments, with a checkpoint after every step (--checkpoint-every 0.001
    # minutes: saving is then a good part of the time, so some kills land in a save, which the
    # temporary file they leave shows): last.ckpt is always readable, never further back than it
    # was (its step only grows), and the run finished by resuming has the uninterrupted run's
    # metrics.
    need_data
    args="--model cnn-bn --limit-train 2048 --limit-test 128 --batch 64 --epochs 2 --quiet"
    expect 0 "" -- "$train" $args --out "$work/straight"
    steps=0 kills=0
    for i in $(seq 12); do
      resume=""; [ -f "$work/run/last.ckpt" ] && resume=--resume
      "$train" $args $resume --checkpoint-every 0.001 --out "$work/run" > "$work/run-$i.log" 2>&1 &
      pid=$!
      sleep "$(awk -v s="$RANDOM" 'BEGIN { printf "%.2f", 0.5 + (s % 150) / 100 }')"
      kill -9 $pid 2> /dev/null && kills=$((kills + 1))
      wait $pid 2> /dev/null
      [ -f "$work/run/last.ckpt" ] || continue
      "$bin/typenet-inspect" "$work/run/last.ckpt" > "$work/inspect.txt" || fail "kill $i: last.ckpt is unreadable"
      now=$(sed -n 's/^  fit.step = //p' "$work/inspect.txt")
      [ "$now" -ge "$steps" ] || fail "kill $i: last.ckpt went back from step $steps to $now"
      steps=$now
      tmps=$(ls "$work/run" | grep -c "\.tmp-")
      [ "$tmps" -le 1 ] || fail "kill $i: $tmps temporary files in the run folder (the next run should remove a killed one's)"
      [ "$tmps" -eq 1 ] && echo "kill $i landed in a save (it left a temporary file; the next run removes it)"
    done
    echo "$kills kills, last checkpoint at step $steps"
    [ "$kills" -ge 6 ] || fail "only $kills of 12 runs were still running when killed: the test proved little"
    expect 0 "" -- "$train" $args $([ -f "$work/run/last.ckpt" ] && echo --resume) --out "$work/run"
    same_metrics "$work/straight/metrics.csv" "$work/run/metrics.csv" ;;
  mpi-train)
    # typenet-train under mpirun (tests/dist/CMakeLists.txt gives TYPENET_MPIRUN, "mpiexec -n"):
    # 2 ranks train what one process trains (float32 sums in another order: train loss within
    # 1e-4 relative, test accuracy within 2 of 300 images), rank 0 alone prints and writes, the
    # replicas are checked after every step, the sums moved by the MPI calls alone equal the
    # progress thread's, a 2-rank run resumes on 1 process, --bn-sync local trains another network
    # (each rank normalises its own half of every batch), and bad flags are refused under mpirun.
    need_data
    read -r -a mpirun <<< "${TYPENET_MPIRUN:?TYPENET_MPIRUN: how to start N ranks, e.g. mpiexec -n}"
    # A small learning rate: training amplifies rounding differences step after step, the more
    # the larger the rate (docs/distributed.md); at 0.002 the losses agree to 1e-4 over 10 steps.
    args="--model cnn-bn --limit-train 500 --limit-test 300 --batch 100 --epochs 2 --augment true --lr 0.002 --momentum 0.9"
    close() {  # close A.csv B.csv TOLERANCE: train loss and test accuracy of every epoch
      awk -F, -v tol="$3" 'NR == FNR { if (FNR > 1) { l[FNR] = $2; a[FNR] = $5 }; next }
        FNR > 1 { d = $2 - l[FNR]; if (d < 0) d = -d; e = $5 - a[FNR]; if (e < 0) e = -e
                  if (d > tol * l[FNR] || e > 2 / 300 + 1e-9) { print "epoch " $1 ": train loss " l[FNR] " vs " $2 ", test accuracy " a[FNR] " vs " $5; bad = 1 } }
        END { exit bad }' "$1" "$2"
    }
    expect 0 "" -- "$train" $args --out "$work/one"
    expect 0 "on each of 2 ranks \(--bn-sync global\)" -- "${mpirun[@]}" 2 "$train" $args --check-replicas 1 --out "$work/two"
    out=$("${mpirun[@]}" 2 "$train" $args --overwrite --out "$work/two" 2>&1) || fail "the 2-rank run failed: $out"
    [ "$(echo "$out" | grep -c "^model cnn-bn")" -eq 1 ] || fail "expected one 'model cnn-bn' line (rank 0's): $out"
    [ "$(echo "$out" | grep -c "^epoch 2/2")" -eq 1 ] || fail "expected one line for epoch 2 (rank 0's)"
    [ "$(wc -l < "$work/two/invocations.jsonl")" -eq 1 ] || fail "invocations.jsonl: expected rank 0's line alone"
    [ "$(grep -c "^[0-9]" "$work/two/metrics.csv")" -eq 2 ] || fail "metrics.csv: expected 2 rows"
    close "$work/one/metrics.csv" "$work/two/metrics.csv" 1e-4 || fail "2 ranks (global) differ from one process"
    # The bucket sums moved by the MPI calls at the layers' ends alone instead of the progress
    # thread: the same sums (a + b on 2 ranks), so the same figures, bit for bit.
    expect 0 "" -- "${mpirun[@]}" 2 "$train" $args --grad-progress calls --out "$work/calls"
    close "$work/two/metrics.csv" "$work/calls/metrics.csv" 0 || fail "--grad-progress calls differs from the thread"
    # Resumed with another number of ranks: epoch 1 on 2 ranks, epoch 2 on 1.
    expect 0 "" -- "${mpirun[@]}" 2 "$train" ${args/--epochs 2/--epochs 1} --out "$work/resumed"
    expect 0 "resuming" -- "$train" $args --resume --out "$work/resumed"
    close "$work/one/metrics.csv" "$work/resumed/metrics.csv" 1e-4 || fail "2 ranks then 1 differ from one process"
    expect 0 "--bn-sync local" -- "${mpirun[@]}" 2 "$train" $args --bn-sync local --out "$work/local"
    if close "$work/one/metrics.csv" "$work/local/metrics.csv" 1e-4; then
      fail "--bn-sync local trained what one process trains: each rank's own statistics should change it"
    fi
    # Under mpirun every rank finds the error; whichever aborts first ends the job, so the line
    # seen may be rank 0's ("typenet-train: ...") or another's ("typenet-train (rank 1): ...").
    expect 2 "^typenet-train( \(rank [0-9]+\))?: --bn-sync group:3: groups of 3 ranks do not divide 2 ranks" -- \
      "${mpirun[@]}" 2 "$train" $args --bn-sync group:3 --out "$work/group3"
    expect 2 "--bn-sync: 'sync' is not global, local or group:K" -- "$train" $args --bn-sync sync --out "$work/bad"
    # A bad flag under mpirun: every rank's error before MPI starts, the job's exit code 2.
    expect 2 "--grad-progress: 'x' is neither thread nor calls" -- \
      "${mpirun[@]}" 2 "$train" $args --grad-progress x --out "$work/bad"
    # Landscape probes over 2 ranks: refused before any data is read (each rank's probe would
    # see its half of the batch only), and no run directory is started.
    expect 2 "^typenet-train( \(rank [0-9]+\))?: --landscape-every: landscape probes are for one process" -- \
      "${mpirun[@]}" 2 "$train" $args --landscape-every 5 --out "$work/probes"
    [ ! -e "$work/probes/config.json" ] || fail "a refused --landscape-every run wrote config.json"
    # typenet-comm-bench's --reps: a whole number, checked before MPI starts (atoi made "x" 1 repetition)
    for r in x 0 5y 1000001 ' 3' ' -3' -3 +3 3.0 1e3 0x10 '' 18446744073709551616; do
      q=$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$r")
      expect 2 "^typenet-comm-bench: --reps: expected a whole number from 1 to 1000000, got '$q'$" -- "$bin/typenet-comm-bench" --reps "$r"
    done ;;
  mpi-kill)
    # A rank killed with SIGKILL in the middle of a 2-rank run: mpirun ends the job within 30 s
    # with a non-zero exit code and a message naming the rank, last.ckpt is intact (atomic
    # writes; rank 0 alone writes), and one process resumes it.
    need_data
    read -r -a mpirun <<< "${TYPENET_MPIRUN:?TYPENET_MPIRUN: how to start N ranks, e.g. mpiexec -n}"
    args="--model cnn-bn --limit-train 2048 --limit-test 128 --batch 64 --quiet"
    "${mpirun[@]}" 2 "$train" $args --epochs 50 --checkpoint-every 0.002 --out "$work/run" > "$work/mpirun.log" 2>&1 &
    job=$!
    for _ in $(seq 600); do [ -f "$work/run/last.ckpt" ] && break; sleep 0.1; done
    [ -f "$work/run/last.ckpt" ] || fail "no last.ckpt after 60 s"
    sleep 1
    victim=""
    for p in $(pgrep -f "typenet-train.*$work/run"); do
      grep -qx "OMPI_COMM_WORLD_RANK=1" <<<"$(tr '\0' '\n' 2> /dev/null < "/proc/$p/environ")" && victim=$p  # no pipe: see expect
    done
    [ -n "$victim" ] || fail "rank 1's process not found"
    start=$(date +%s.%N)
    kill -9 "$victim"
    rc=0; wait "$job" || rc=$?
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cat "$work/mpirun.log" | tail -n 8
    echo "rank 1 killed: mpirun exited $rc after $took s"
    [ "$rc" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
    awk -v t="$took" 'BEGIN { exit !(t <= 30) }' || fail "the job took $took s to end (bound 30 s)"
    grep -Eq "rank 1|signal 9|Killed" "$work/mpirun.log" || fail "mpirun's message does not name the killed rank"
    "$bin/typenet-inspect" "$work/run/last.ckpt" > "$work/inspect.txt" || fail "last.ckpt is unreadable"
    epoch=$(sed -n 's/^  fit.epoch = //p' "$work/inspect.txt")
    [ -n "$epoch" ] || fail "last.ckpt names no epoch"
    expect 0 "resuming .*last.ckpt after epoch $epoch" -- "$train" ${args/ --quiet/} --epochs $((epoch + 1)) --resume --out "$work/run"
    [ "$(grep -c "^[0-9]" "$work/run/metrics.csv")" -eq $((epoch + 1)) ] || fail "metrics.csv: expected $((epoch + 1)) rows" ;;
  *) fail "unknown case" ;;
esac
# Whatever the case, every SVG, JSON and JSON-lines file it left behind parses (curves.svg,
# config.json, metrics.jsonl and invocations.jsonl of its runs, its charts).
well_formed "$work"
echo "PASS [$case_name]"
