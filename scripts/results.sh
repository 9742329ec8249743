#!/usr/bin/env bash
# Collects the runs of scripts/reproduce.sh (runs/NAME/metrics.csv) into the tables and charts
# of docs/results.md: prints the tables as markdown and writes the SVG charts into docs/results/.
#
#   scripts/results.sh [GROUP...]   # ablation lr-headroom leave-one-out momentum resnet20 short
#                                   # small-batch batch8 why-bn-landscape why-bn-resnet (default: all)
#   scripts/results.sh --record NAME...   # keep finished runs' records in docs/results/runs/
#   scripts/results.sh --pair A B [FIRST]  # A's epoch times over B's, for runs made side by side
#
# A run that is missing shows as "not run"; one still going shows the epochs it has. The
# momentum group also evaluates each run's final checkpoint (eval mode at batch 1 and 128, and
# train-mode batch statistics): several minutes, since eval at batch 1 is 10,000 one-image
# passes per run. Environment: BUILD_DIR [build], TYPENET_DATA (see docs/training.md), CHARTS=0
# to print the tables only. Only the default build/ is built when its tools are missing; a
# BUILD_DIR without them is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
train=$build_dir/bin/typenet-train
plot=$build_dir/bin/typenet-plot
charts=${CHARTS:-1}
out=docs/results
mkdir -p "$out"
# The runs read: runs/NAME/ of this machine, or the record of a finished run kept in git,
# docs/results/runs/NAME/ (--record below: its metrics, per-step records, probes and the
# evaluations of its final checkpoint; no checkpoints), so that the tables and charts outlive
# runs/. runs/NAME/ is read when it has at least the epochs of the record (a re-run that has
# caught up with it); $runs/NAME links to the one read.
records=docs/results/runs
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
epochs_in() { [ -f "$1/metrics.csv" ] && echo $(( $(wc -l < "$1/metrics.csv") - 1 )) || echo -1; }
for d in "$records"/*/ runs/*/; do
  d=${d%/} n=${d##*/}
  [ -d "$d" ] || continue
  if [ ! -e "$runs/$n" ] || [ "$(epochs_in "$d")" -ge "$(epochs_in "$runs/$n")" ]; then ln -sfn "$PWD/$d" "$runs/$n"; fi
done
# source_of NAME: the folder a run is read from, as the tables name it.
source_of() { if [ -e "$runs/$1" ]; then readlink "$runs/$1" | sed "s#^$PWD/##"; else echo "runs/$1"; fi; }

# row NAME [EPOCH]: the metrics.csv row of that epoch (default: the last), empty if absent.
row() {
  local f=$runs/$1/metrics.csv
  [ -f "$f" ] || return 0
  awk -F, -v e="${2:-0}" 'NR > 1 && (e == 0 || $1 == e) { r = $0 } END { if (r != "") print r }' "$f"
}
# wall NAME [EPOCH]: seconds of training + evaluation up to that epoch (default: all).
wall() {
  awk -F, -v e="${2:-0}" 'NR > 1 && (e == 0 || $1 <= e) { s += $8 } END { printf "%.0f", s }' "$runs/$1/metrics.csv"
}
hms() { awk -v s="$1" 'BEGIN { m = int((s + 30) / 60); if (s >= 3600) printf "%d h %02d min", m / 60, m % 60; else printf "%d min %02d s", s / 60, s % 60 }'; }
pct() { awk -v a="$1" 'BEGIN { printf "%.2f%%", 100 * a }'; }
f4() { awk -v a="$1" 'BEGIN { printf "%.4f", a }'; }
field() { cut -d, -f"$2" <<<"$1"; }
# acc NAME [EPOCH]: "xx.xx%" or "not run" / "epoch k/N so far".
acc() {
  local r; r=$(row "$1" "${2:-0}")
  if [ -z "$r" ]; then
    if [ "$(epochs_in "$runs/$1")" -gt 0 ]; then
      echo "(at epoch $(tail -1 "$runs/$1/metrics.csv" | cut -d, -f1))"
    else
      echo "not run"
    fi
    return
  fi
  pct "$(field "$r" 5)"
}
source scripts/median.sh  # sorted_awk
# epoch_seconds NAME...: "min / median / max s" of the epochs of these runs (the seconds column).
epoch_seconds() {
  local n
  for n in "$@"; do [ -f "$runs/$n/metrics.csv" ] && awk -F, 'NR > 1 { print $8 }' "$runs/$n/metrics.csv"; done | sort -g |
    awk "$sorted_awk"' END { if (NR) printf "%.1f / %.1f / %.1f s", v[1], median(), v[NR] }'
}
# threads_of NAME: the thread counts the run trained on, from its invocations.jsonl: "1 thread",
# or by epochs when they differ ("2 threads (epochs 1-2), 1 (epochs 3-15)"); an epoch is the last
# start's that began at or before it. Epoch times of different thread counts do not compare.
threads_of() {
  local f=$runs/$1/invocations.jsonl
  [ -f "$f" ] || return 0
  sed -n 's/.*"first_epoch":\([0-9]*\).*"epochs":\([0-9]*\).*"threads":\([0-9]*\).*/\1 \2 \3/p' "$f" | awk '
    { for (e = $1; e <= $2; e++) t[e] = $3; if ($2 > last) last = $2 }
    END {
      for (e = 1; e <= last; e++) {
        if (e > 1 && t[e] == t[e - 1]) continue
        for (end = e; end < last && t[end + 1] == t[e]; end++) {}
        unit = n++ ? "" : (t[e] == 1 ? " thread" : " threads")
        s = s (s == "" ? "" : ", ") t[e] unit (e == 1 && end == last ? "" : " (epochs " e "-" end ")")
      }
      print s
    }'
}
# epoch_cell NAME: epoch_seconds and, after a comma, threads_of: a table cell.
epoch_cell() {
  local e t
  e=$(epoch_seconds "$1") t=$(threads_of "$1")
  echo "$e${e:+${t:+, }}${e:+$t}"
}
# nonfinite NAME [EPOCH]: the epochs (up to EPOCH) with a non-finite gradient (diverged = 1).
nonfinite() { awk -F, -v e="${2:-0}" 'NR > 1 && (e == 0 || $1 <= e) && $10 == 1 { d++ } END { print d + 0 }' "$runs/$1/metrics.csv"; }

ablation() {
  echo "### The ablation, 30 epochs"
  echo
  echo "| run | published | typenet | final train loss | final test loss | epochs with a non-finite gradient | wall time |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  local n pub r
  for n in ablation-nobn-0.1:10.0% ablation-bn-0.1:61.6% ablation-nobn-0.02:72.5% ablation-bn-0.02:72.9%; do
    pub=${n#*:} n=${n%%:*}
    r=$(row "$n")
    if [ -z "$r" ]; then echo "| $n | $pub | not run | | | | |"; continue; fi
    echo "| \`$n\` | $pub | **$(acc "$n")** (epoch $(field "$r" 1)) | $(f4 "$(field "$r" 2)") | $(f4 "$(field "$r" 4)") |" \
         "$(nonfinite "$n") | $(hms "$(wall "$n")") |"
  done
  echo
  if [ "$charts" = 1 ] && [ -f "$runs/ablation-bn-0.02/metrics.csv" ]; then
    local a=()
    for n in nobn-0.1 bn-0.1 nobn-0.02 bn-0.02; do
      [ -f "$runs/ablation-$n/metrics.csv" ] && a+=("${n/-/ lr }=$runs/ablation-$n/metrics.csv")
    done
    "$plot" --out "$out/ablation-30ep.svg" --title "BatchNorm ablation, SGD constant lr, 30 epochs" "${a[@]}"
    echo "chart: $out/ablation-30ep.svg"
    echo
  fi
}

lr_headroom() {
  echo "### Learning-rate headroom (test accuracy after 10 epochs)"
  echo
  echo "| lr | cnn-nobn | cnn-bn |"
  echo "|---:|---:|---:|"
  local lr n b pts=()
  for lr in 0.01 0.02 0.05 0.1 0.2 0.5; do
    # 0.02 and 0.1 are epoch 10 of the 30-epoch ablation runs (same settings, constant rate)
    case $lr in 0.02|0.1) n=ablation-nobn-$lr b=ablation-bn-$lr ;; *) n=lr-nobn-$lr b=lr-bn-$lr ;; esac
    echo "| $lr | $(acc "$n" 10) | $(acc "$b" 10) |"
    [ -n "$(row "$n" 10)" ] && pts+=("cnn-nobn@$lr=$runs/$n/metrics.csv")
    [ -n "$(row "$b" 10)" ] && pts+=("cnn-bn@$lr=$runs/$b/metrics.csv")
  done
  echo
  if [ "$charts" = 1 ] && [ "${#pts[@]}" -gt 0 ]; then
    "$plot" --sweep lr --epoch 10 --out "$out/lr-headroom.svg" --title "after 10 epochs" "${pts[@]}"
    echo "chart: $out/lr-headroom.svg"
    echo
  fi
}

leave_one_out() {
  echo "### Our best recipe and what each ingredient adds"
  echo
  echo "| run | epochs | test accuracy | against best-full-10 | train accuracy | wall time |"
  echo "|---|---:|---:|---:|---:|---|"
  local n r base short_runs="best-full-10 best-no-augment best-no-smoothing best-no-weight-decay best-no-warmup best-no-cosine"
  base=$(row best-full-10)
  for n in best-full $short_runs; do
    r=$(row "$n")
    if [ -z "$r" ]; then echo "| \`$n\` | | $(acc "$n") | | | |"; continue; fi
    local d=""
    if [ -n "$base" ] && [ "$n" != best-full ] && [ "$n" != best-full-10 ]; then
      d=$(awk -v a="$(field "$r" 5)" -v b="$(field "$base" 5)" 'BEGIN { printf "%+.2f points", 100 * (a - b) }')
    fi
    echo "| \`$n\` | $(field "$r" 1) | **$(acc "$n")** | $d | $(pct "$(field "$r" 3)") | $(hms "$(wall "$n")") |"
  done
  echo
  echo "Epoch times of the 10-epoch runs (min / median / max): $(epoch_seconds $short_runs)"
  echo
  if [ "$charts" = 1 ] && [ -f "$runs/best-full/metrics.csv" ]; then
    "$plot" --out "$out/best-full.svg" --title "cnn-bn, recipe full" "full, 30 epochs=$runs/best-full/metrics.csv"
    echo "chart: $out/best-full.svg"
    echo
  fi
  # the 10-epoch rows overlaid: what leaving out each ingredient does to the curves
  local a=()
  for n in $short_runs; do
    [ -n "$(row "$n" 10)" ] && a+=("${n#best-}=$runs/$n/metrics.csv")
  done
  if [ "$charts" = 1 ] && [ "${#a[@]}" -gt 1 ]; then
    "$plot" --out "$out/leave-one-out.svg" --title "cnn-bn, recipe full, 10 epochs, one ingredient left out" "${a[@]}"
    echo "chart: $out/leave-one-out.svg"
    echo
  fi
}

momentum() {
  echo "### Running-statistics momentum (cnn-bn, lr 0.1, 10 epochs)"
  echo
  echo "| momentum | eval mode (running statistics) | train mode (batch statistics, batches of 128) | gap | logits CRC-32 at eval batch 1 / 128 |"
  echo "|---:|---:|---:|---:|---|"
  local m n a b c
  for m in 0.5 0.1 0.01; do
    n=momentum-$m
    if ! a=$(evaluate "$n" b1-running --model cnn-bn --eval-batch 1) ||
       ! b=$(evaluate "$n" b128-running --model cnn-bn --eval-batch 128) ||
       ! c=$(evaluate "$n" b128-batch --model cnn-bn --eval-batch 128 --eval-bn batch); then
      echo "| $m | $(acc "$n" 10) | | | |"
      continue
    fi
    local pa pc ca cb
    pa=$(eval_accuracy "$b") pc=$(eval_accuracy "$c")
    ca=$(sed -n 's/.*logits crc32 \([0-9a-f]*\).*/\1/p' <<<"$a")
    cb=$(sed -n 's/.*logits crc32 \([0-9a-f]*\).*/\1/p' <<<"$b")
    echo "| $m | $pa% | $pc% | $(awk -v x="$pc" -v y="$pa" 'BEGIN { printf "%+.2f points", x - y }') |" \
         "$ca / $cb $([ "$ca" = "$cb" ] && echo "(equal)" || echo "(DIFFERENT)") |"
  done
  echo
}

short() {
  echo "### The ablation and the initialisation, 2 epochs"
  echo
  echo "| run | wall time | final train loss | final test loss | test accuracy | epochs with a non-finite gradient |"
  echo "|---|---|---:|---:|---:|---:|"
  local n r
  for n in short-nobn-0.1 short-bn-0.1 short-nobn-0.02 short-bn-0.02 init-pytorch-nobn init-pytorch-bn; do
    r=$(row "$n" 2)
    if [ -z "$r" ]; then echo "| \`$n\` | | | | $(acc "$n" 2) | |"; continue; fi
    echo "| \`$n\` | $(hms "$(wall "$n" 2)") | $(f4 "$(field "$r" 2)") | $(f4 "$(field "$r" 4)") | **$(acc "$n" 2)** |" \
         "$(nonfinite "$n" 2) |"
  done
  echo
  [ "$charts" = 1 ] || return 0
  local lr
  for lr in 0.1 0.02; do
    [ -f "$runs/short-nobn-$lr/metrics.csv" ] && [ -f "$runs/short-bn-$lr/metrics.csv" ] || continue
    "$plot" --out "$out/ablation-lr$lr-2ep.svg" --title "SGD lr $lr, 2 epochs" \
      "cnn-nobn=$runs/short-nobn-$lr/metrics.csv" "cnn-bn=$runs/short-bn-$lr/metrics.csv"
    echo "chart: $out/ablation-lr$lr-2ep.svg"
  done
  echo
}

# resnet_rows NAME:LABEL:EPOCHS...: one table row per run (typenet or PyTorch metrics.csv).
resnet_rows() {
  echo "| run | epochs | test accuracy | best (epoch) | first >= 90% | train accuracy | wall time | epoch min / median / max |"
  echo "|---|---:|---:|---:|---|---:|---|---|"
  local spec n label planned r first90
  for spec in "$@"; do
    IFS=: read -r n label planned <<<"$spec"
    r=$(row "$n")
    if [ -z "$r" ]; then echo "| $label (\`$(source_of "$n")\`) | | not run | | | | | |"; continue; fi
    first90=$(awk -F, 'NR > 1 && $5 >= 0.90 { print $1; exit }' "$runs/$n/metrics.csv")
    if [ -n "$first90" ]; then first90="epoch $first90, after $(hms "$(wall "$n" "$first90")")"
    elif [ "$(field "$r" 1)" = "$planned" ]; then first90="never"
    else first90="not yet"; fi
    echo "| $label (\`$(source_of "$n")\`) | $(field "$r" 1) of $planned | **$(acc "$n")** |" \
         "$(awk -F, 'NR > 1 && $5 > b { b = $5; e = $1 } END { printf "%.2f%% (%d)", 100 * b, e }' "$runs/$n/metrics.csv") |" \
         "$first90 | $(pct "$(field "$r" 3)") | $(hms "$(wall "$n")") | $(epoch_seconds "$n") |"
  done
  echo
}

# late_run NAME LABEL: what the last quarter of a run did (from epoch 3/4 of its last on: test
# accuracy at both ends, the test loss's range, training loss at both ends), and the epochs that
# took over twice its median epoch (the ones a shared machine or a stop of the session stretched).
late_run() {
  local med
  read -r _ _ med _ <<<"$(epoch_seconds "$1")"
  awk -F, -v label="$2" -v med="$med" '
    NR > 1 { n++; e[n] = $1; trl[n] = $2; tel[n] = $4; tea[n] = $5
             if ($8 > 2 * med) slow = slow sprintf("%s%d (%.0f s)", slow == "" ? "" : ", ", $1, $8) }
    END { for (i = 1; e[i] < int(3 * e[n] / 4); i++);
          lo = hi = tel[i]; for (j = i + 1; j <= n; j++) { if (tel[j] < lo) lo = tel[j]; if (tel[j] > hi) hi = tel[j] }
          printf "%s, epochs %d-%d: test accuracy %.2f%% to %.2f%%, test loss %.2f-%.2f, training loss %.2f to %.2f\n", label, e[i], e[n], 100 * tea[i], 100 * tea[n], lo, hi, trl[i], trl[n]
          printf "%s, epochs over twice the median epoch (%.1f s): %s\n", label, med, slow == "" ? "none" : slow }' "$runs/$1/metrics.csv"
}

# resnet_pair EPOCHS TYPENET_RUN TORCH_RUN CHART TITLE: the table of a typenet run and its
# PyTorch twin (bench/torch_resnet20_train.py, the same recipe on the same data), and their
# overlay: what the implementation costs, apart from what the data costs.
resnet_pair() {
  local epochs=$1 ours=$2 theirs=$3 chart=$4 title=$5 a=() have_ours have_theirs
  resnet_rows "$ours:typenet:$epochs" "$theirs:PyTorch:$epochs"
  have_ours=$(row "$ours") have_theirs=$(row "$theirs")
  if [ -n "$have_ours" ] && [ -n "$have_theirs" ]; then
    # training loss epoch by epoch: the largest relative gap, over all epochs both have and the last
    # three of them; and the test accuracies at the last epoch both have (a run in progress is
    # compared at its own epoch, not against the other's end)
    awk -F, 'FNR == 1 { f++; next } f == 1 { a[$1] = $2; t[$1] = $5; next }
             ($1 in a) { g = a[$1] / $2 - 1; if (g < 0) g = -g; gap[$1] = g; if ($1 > last) { last = $1; u = $5 } }
             END { for (e in gap) { if (gap[e] > all) all = gap[e]; if (e > last - 3 && gap[e] > end) end = gap[e] }
                   printf "Training loss, typenet against PyTorch, over the %d epochs both have: largest relative gap %.2f%% (last three: %.2f%%)\n", last, 100 * all, 100 * end
                   printf "Test accuracy at epoch %d: typenet %.2f%%, PyTorch %.2f%%\n\n", last, 100 * t[last], 100 * u }' \
      "$runs/$ours/metrics.csv" "$runs/$theirs/metrics.csv"
  fi
  [ -n "$have_ours" ] && late_run "$ours" typenet
  [ -n "$have_theirs" ] && late_run "$theirs" PyTorch
  [ -n "$have_ours$have_theirs" ] && echo
  [ -n "$have_ours" ] && a+=("typenet=$runs/$ours/metrics.csv")
  [ -n "$have_theirs" ] && a+=("PyTorch=$runs/$theirs/metrics.csv")
  if [ "$charts" = 1 ] && [ ${#a[@]} -gt 0 ]; then
    "$plot" --out "$out/$chart" --title "$title" "${a[@]}"
    echo "chart: $out/$chart"
    echo
  fi
}

resnet20() {
  echo "### ResNet-20"
  echo
  resnet_pair 100 resnet20 torch-resnet20 resnet20.svg "ResNet-20, SGD momentum 0.9, cosine, 100 epochs"
  echo "The same recipe for 10 epochs:"
  echo
  resnet_pair 10 resnet20-10 torch-resnet20-10 resnet20-10.svg "ResNet-20, 10 epochs, typenet and PyTorch"
}

# evaluate NAME KEY TYPENET-TRAIN-ARGS...: the line `typenet-train --eval-only` prints for the
# run's final checkpoint with these arguments, kept beside the checkpoint as eval-KEY.txt (what a
# record keeps of it) and made again when the checkpoint or typenet-train is newer than it. An
# evaluation that fails is said on stderr and kept nowhere; without a checkpoint or a kept line,
# nothing is printed and the status is 1.
evaluate() {
  local n=$1 key=$2; shift 2
  local kept=$runs/$n/eval-$key.txt ckpt
  ckpt=$(source_of "$n")/final.ckpt  # the folder's own name (the line names it), not the view's
  if [ -f "$ckpt" ] && { [ "$ckpt" -nt "$kept" ] || [ "$train" -nt "$kept" ]; }; then
    # The failure message carries typenet-train's own last word (stderr, else its last line).
    local said
    if "$train" --eval-only --checkpoint "$ckpt" --quiet "$@" > "$kept.tmp" 2> "$kept.err" &&
       grep -q 'accuracy [0-9.]*%' "$kept.tmp"; then
      cat "$kept.err" >&2
      rm -f "$kept.err"
      mv "$kept.tmp" "$kept"
    else
      said=$(tail -n 1 "$kept.err"); [ -n "$said" ] || said=$(tail -n 1 "$kept.tmp")
      echo "results.sh: evaluating $n ($*) failed: $said" >&2
      rm -f "$kept.tmp" "$kept.err" "$kept"
      return 1
    fi
  fi
  [ -f "$kept" ] && cat "$kept"
}
eval_accuracy() { sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' <<<"$1"; }

# stat_gap NAME MODEL BATCH [GROUP]: "eval mode | train-mode statistics | gap" of the run's final
# checkpoint on the test set: running statistics (eval mode) against batch statistics over
# batches of BATCH (and groups of GROUP samples), as the network normalised while it trained.
# Batch renorm's train mode there is the run's at the checkpoint's step (its recorded schedule at
# fit.step: r and d from the running statistics, as it trained at the end).
stat_gap() {
  local n=$1 model=$2 batch=$3 group=${4:-0} ev=() a b pa pb
  ev=(--model "$model" --eval-batch "$batch")
  [ "$group" != 0 ] && ev+=(--bn-group "$group")
  if ! a=$(evaluate "$n" "b$batch-g$group-running" "${ev[@]}") || ! b=$(evaluate "$n" "b$batch-g$group-batch" "${ev[@]}" --eval-bn batch); then
    echo "$(acc "$n" 15) | | "
    return
  fi
  pa=$(eval_accuracy "$a") pb=$(eval_accuracy "$b")
  echo "$pa% | $pb% | $(awk -v x="$pb" -v y="$pa" 'BEGIN { printf "%+.2f points", x - y }')"
}

# The small-batch study (issue 20; scripts/reproduce.sh small-batch batch8): ResNet-20, the
# resnet recipe for 15 epochs, normalisation statistics over groups of 2..128 samples. Epoch
# times, not wall times: the runs were paused while benchmarks and CI had the machine, and a
# paused epoch's seconds include the pause (the minimum is the quiet machine's figure).
small_batch() {
  local g n label r
  echo "### Statistics over groups of samples (ResNet-20, 15 epochs, batch 128)"
  echo
  echo "| samples per statistics group | batch norm: test accuracy (eval mode) | train-mode statistics | gap | epoch min / median / max, threads | batch renorm: test accuracy (eval mode) | train-mode statistics | gap | epoch min / median / max, threads |"
  echo "|---:|---:|---:|---:|---|---:|---:|---:|---|"
  for g in 2 4 8 16 32 128; do
    local bn=small-bn-g$g brn=small-brn-g$g
    echo "| $g | $(stat_gap "$bn" resnet20 128 "$g") | $(epoch_cell "$bn") |" \
         "$(stat_gap "$brn" resnet20-brn 128 "$g") | $(epoch_cell "$brn") |"
  done
  echo
  echo "| normalisation (no batch statistics) | test accuracy | epoch min / median / max, threads |"
  echo "|---|---:|---|"
  for n in small-gn:"group norm, 8 groups" small-ln:"layer norm" small-nonorm:"none (convolutions with biases)"; do
    label=${n#*:} n=${n%%:*}
    echo "| $label (\`$(source_of "$n")\`) | $(acc "$n" 15) | $(epoch_cell "$n") |"
  done
  echo
  # The chart: test accuracy after 15 epochs against the group size, one line per normalisation;
  # the group-independent ones drawn flat across. Only runs that finished 15 epochs.
  local pts=() line
  for g in 2 4 8 16 32 128; do
    for line in "batch norm:small-bn-g$g" "batch renorm:small-brn-g$g" "group norm:small-gn" "layer norm:small-ln" "none:small-nonorm"; do
      n=${line#*:} label=${line%%:*}
      r=$(row "$n" 15)
      [ -n "$r" ] && pts+=("$label@$g=$runs/$n/metrics.csv")
    done
  done
  if [ "$charts" = 1 ] && [ ${#pts[@]} -gt 0 ]; then
    "$plot" --sweep "samples per statistics group" --epoch 15 --out "$out/small-batch.svg" \
      --title "ResNet-20, 15 epochs, batch 128: statistics over groups of samples" "${pts[@]}"
    echo "chart: $out/small-batch.svg"
    echo
  fi
}

batch8() {
  local n
  echo "### Batches of 8 (ResNet-20, 15 epochs, lr 0.1 x 8 / 128)"
  echo
  echo "| run | test accuracy (eval mode) | train-mode statistics (batches of 8) | gap | epoch min / median / max, threads |"
  echo "|---|---:|---:|---:|---|"
  for n in batch8-bn:resnet20 batch8-brn:resnet20-brn batch8-gn:resnet20-gn; do
    echo "| \`${n%%:*}\` | $(stat_gap "${n%%:*}" "${n#*:}" 8) | $(epoch_cell "${n%%:*}") |"
  done
  echo
}

# landscape_median NAME COLUMN FIRST LAST: the median over the probes of epochs FIRST..LAST of
# one landscape.csv column (by its header name), "-" without such probes. The median, not the
# mean: a network that is dying has probes whose values run to infinity.
landscape_median() {
  local f=$runs/$1/landscape.csv
  [ -f "$f" ] || { echo "-"; return; }
  awk -F, -v c="$2" -v a="$3" -v b="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; if (!col) exit 1; next }
    $2 >= a && $2 <= b { print $col }' "$f" | sort -g |
    awk "$sorted_awk"' END { if (!NR) print "-"; else printf "%.4g\n", median() }'
}
# probe_count NAME: the rows of landscape.csv.
probe_count() { [ -f "$runs/$1/landscape.csv" ] && echo $(( $(wc -l < "$runs/$1/landscape.csv") - 1 )) || echo 0; }
# oscillation NAME: the loss oscillation over the run's last logged epoch, as typenet-plot --steps
# prints it (the standard deviation of the batch loss around its moving average of 25 rows).
oscillation() {
  [ -f "$runs/$1/steps.csv" ] || { echo "-"; return; }
  local tmp; tmp=$(mktemp -d)
  "$plot" --steps --out "$tmp/steps.svg" "$1=$runs/$1/steps.csv" | sed -n 's/.*loss oscillation \([0-9.einfa+-]*\) .*/\1/p'
  rm -rf "$tmp"
}

# larger_count A B COLUMN [FIRST LAST]: "k of n": of the probes at the steps both runs probed (in
# epochs FIRST-LAST when given), how many have B's value of that landscape.csv column (by its
# header name) above A's.
larger_count() {
  [ -f "$runs/$1/landscape.csv" ] && [ -f "$runs/$2/landscape.csv" ] || { echo "-"; return; }
  awk -F, -v c="$3" -v lo="${4:-1}" -v hi="${5:-1e18}" '
    FNR == 1 { col = 0; for (i = 1; i <= NF; i++) if ($i == c) col = i; if (!col) { bad = 1; exit } f++; next }
    f == 1 { a[$1] = $col + 0; next }
    ($1 in a) && $2 >= lo && $2 <= hi { n++; if ($col + 0 > a[$1]) k++ }
    END { if (bad) print "-"; else printf "%d of %d\n", k, n }' "$runs/$1/landscape.csv" "$runs/$2/landscape.csv"
}

# landscape_cells NAME A B: the median loss variation, gradient change and beta-smoothness of
# the run's probes in epoch 1 and in epochs A-B, as six table cells ("a | b | ... | f").
landscape_cells() {
  local q out=""
  for q in loss_variation grad_change_max beta_max; do
    out+="${out:+ | }$(landscape_median "$1" "$q" 1 1) | $(landscape_median "$1" "$q" "$2" "$3")"
  done
  echo "$out"
}
# larger_counts A B [FIRST LAST]: larger_count's sentence for the three quantities.
larger_counts() {
  echo "loss variation $(larger_count "$1" "$2" loss_variation "${@:3}")," \
       "gradient change $(larger_count "$1" "$2" grad_change_max "${@:3}")," \
       "beta-smoothness $(larger_count "$1" "$2" beta_max "${@:3}")."
}
# descent_count NAME: "k of n": the probes in which no probed step size raised the loss above its
# value at theta (loss_max = loss), so that the loss variation is all descent.
descent_count() {
  [ -f "$runs/$1/landscape.csv" ] || { echo "-"; return; }
  awk -F, 'NR > 1 { n++; if ($7 + 0 <= $4 + 0) k++ } END { printf "%d of %d\n", k, n }' "$runs/$1/landscape.csv"
}
# landscape_charts TITLE PREFIX LABEL=NAME...: the charts of the three quantities over training,
# one line per run that has probes, PREFIX-loss.svg, -gradient.svg and -beta.svg in the output.
landscape_charts() {
  local title=$1 prefix=$2 q a probes=()
  shift 2
  for a in "$@"; do [ -f "$runs/${a#*=}/landscape.csv" ] && probes+=("${a%%=*}=$runs/${a#*=}/landscape.csv"); done
  [ ${#probes[@]} -gt 0 ] || return 0
  for q in loss gradient beta; do
    "$plot" --landscape "$q" --out "$out/$prefix-$q.svg" --title "$title" "${probes[@]}"
    echo "chart: $out/$prefix-$q.svg"
  done
}

# Issue 22 (docs/why-batch-norm-works.md): the loss-landscape probes of cnn-bn and cnn-nobn.
why_bn_landscape() {
  local n
  local -A label=([why-cnn-bn-0.02]="cnn-bn lr 0.02" [why-cnn-nobn-0.02]="cnn-nobn lr 0.02" [why-cnn-bn-0.1]="cnn-bn lr 0.1")
  echo "### The loss landscape along the gradient (cnn, 10 epochs, a probe every 25 steps)"
  echo
  echo "Medians over the probes of epoch 1 and of epochs 6-10: the range of the loss over the six step"
  echo "sizes, the largest gradient change ||g' - g|| and the largest ratio ||g' - g|| / ||eta g||;"
  echo "the loss oscillation of the last epoch as typenet-plot --steps prints it; wall time, the sum"
  echo "of the epochs."
  echo
  echo "| run | test accuracy | probes | loss variation, epoch 1 | epochs 6-10 | gradient change, epoch 1 | epochs 6-10 | beta-smoothness, epoch 1 | epochs 6-10 | loss oscillation, last epoch | wall time | epoch min / median / max |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for n in why-cnn-bn-0.02 why-cnn-nobn-0.02 why-cnn-bn-0.1; do
    echo "| \`$n\` | $(acc "$n" 10) | $(probe_count "$n") | $(landscape_cells "$n" 6 10) |" \
         "$(oscillation "$n") | $([ -f "$runs/$n/metrics.csv" ] && echo "$(wall "$n") s") | $(epoch_seconds "$n") |"
  done
  echo
  echo "Probe by probe at lr 0.02 (the steps both runs probed), the probes where cnn-nobn's value is the"
  echo "larger: $(larger_counts why-cnn-bn-0.02 why-cnn-nobn-0.02)"
  echo
  [ "$charts" = 1 ] || return 0
  local runs_labelled=() steps=()
  for n in why-cnn-bn-0.02 why-cnn-nobn-0.02 why-cnn-bn-0.1; do
    runs_labelled+=("${label[$n]}=$n")
    [ -f "$runs/$n/steps.csv" ] && steps+=("${label[$n]}=$runs/$n/steps.csv")
  done
  landscape_charts "cnn, 10 epochs" why-landscape "${runs_labelled[@]}"
  if [ ${#steps[@]} -gt 0 ]; then
    "$plot" --steps --out "$out/why-cnn-steps.svg" --title "cnn, 10 epochs, per step" "${steps[@]}" > /dev/null
    echo "chart: $out/why-cnn-steps.svg"
  fi
  echo
}

# Issue 22: the ResNets with and without batch norm, beside the explainers' ResNet-18 table.
# machine NAME: the processors and kernels that ran the run's epochs, from its invocations.jsonl
# (e.g. "AMD EPYC (avx512)"; several, joined by " + ", when a resume moved it to another machine;
# "not recorded" for a binary before commit 93ab83e, which wrote no cpu).
machine() {
  local f=$runs/$1/invocations.jsonl
  [ -f "$f" ] || { echo "not recorded"; return 0; }
  awk 'NF == 0 { next }
       { k = match($0, /"kernels":"[^"]*"/) ? substr($0, RSTART + 11, RLENGTH - 12) : "?"
         c = match($0, /"cpu":"[^"]*"/) ? substr($0, RSTART + 7, RLENGTH - 8) : "not recorded"
         m = c " (" k ")"; if (!(m in seen)) { seen[m]; out = out (out == "" ? "" : " + ") m } }
       END { print out == "" ? "not recorded" : out }' "$f"
}

# init_of NAME: the run's --init, from its config.json ("-" without one).
init_of() {
  local i=""
  [ -f "$runs/$1/config.json" ] && i=$(sed -n 's/^ *"init": "\([^"]*\)".*/\1/p' "$runs/$1/config.json")
  echo "${i:--}"
}
why_bn_resnet() {
  local n e r1 r d
  echo "### ResNets with and without batch norm (SGD momentum 0.9, lr 0.01, weight decay 2e-4, batch 128, pad-crop and flip)"
  echo
  echo "| run | init | epochs | train accuracy after epoch 1 | final train accuracy | final test accuracy | loss oscillation, last epoch | epochs with a non-finite gradient | epoch min / median / max | machine |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---|---|"
  for n in why-resnet20-bn:20 why-resnet20-nonorm:20 why-resnet18-bn:3 why-resnet18-nonorm:3 why-resnet20-bn-he:20 why-resnet20-nonorm-he:1; do
    e=${n#*:} n=${n%%:*}
    r1=$(row "$n" 1) r=$(row "$n" "$e")
    if [ -z "$r" ]; then echo "| \`$n\` | $(init_of "$n") | $e | $([ -n "$r1" ] && pct "$(field "$r1" 3)") | | $(acc "$n" "$e") | | | | |"; continue; fi
    # a last epoch that diverged has no oscillation: it would be that of its last finite steps
    if [ "$(field "$r" 10)" = 1 ]; then d="- (diverged)"; else d=$(oscillation "$n"); fi
    echo "| \`$n\` | $(init_of "$n") | $e | $(pct "$(field "$r1" 3)") | $(pct "$(field "$r" 3)") | **$(acc "$n" "$e")** |" \
         "$d | $(nonfinite "$n" "$e") | $(epoch_seconds "$n") | $(machine "$n") |"
  done
  echo
  echo "The loss landscape of resnet20 along the gradient, measured as for the cnn (a probe every 100"
  echo "steps): medians over the probes of epoch 1 and of epochs 16-20."
  echo
  echo "| run | init | probes | loss variation, epoch 1 | epochs 16-20 | gradient change, epoch 1 | epochs 16-20 | beta-smoothness, epoch 1 | epochs 16-20 |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for n in why-resnet20-bn why-resnet20-nonorm why-resnet20-bn-he; do
    echo "| \`$n\` | $(init_of "$n") | $(probe_count "$n") | $(landscape_cells "$n" 16 20) |"
  done
  echo
  echo "Probe by probe (the steps both runs probed), the probes where resnet20-nonorm's value is the"
  echo "larger: $(larger_counts why-resnet20-bn why-resnet20-nonorm)"
  echo "In epochs 16-20: $(larger_counts why-resnet20-bn why-resnet20-nonorm 16 20)"
  echo "Probes in which no step size raised the loss (loss_max = loss, the variation all descent):"
  echo "why-resnet20-bn $(descent_count why-resnet20-bn), why-resnet20-nonorm $(descent_count why-resnet20-nonorm)."
  echo
  [ "$charts" = 1 ] || return 0
  landscape_charts "resnet20, 20 epochs" why-resnet20-landscape resnet20-bn=why-resnet20-bn resnet20-nonorm=why-resnet20-nonorm \
    "resnet20-bn, He init=why-resnet20-bn-he"
  local pair a
  for pair in resnet20 resnet18; do
    a=()
    for n in bn nonorm; do [ -f "$runs/why-$pair-$n/steps.csv" ] && a+=("$pair-$n=$runs/why-$pair-$n/steps.csv"); done
    [ ${#a[@]} -gt 0 ] || continue
    "$plot" --steps --smooth 100 --out "$out/why-$pair-steps.svg" --title "$pair, BN and no BN, per step" "${a[@]}" > /dev/null
    echo "chart: $out/why-$pair-steps.svg"
  done
  echo
}

# --record NAME...: keeps finished runs in git (docs/results/runs/NAME/): the CSV and JSON records
# a run writes and the evaluations that the tables above kept of its final checkpoint (run the
# run's group first; one older than the checkpoint is left out, and said); never a checkpoint.
# A record is replaced whole, never merged, and only once its copy is complete.
record() {
  local n f
  for n in "$@"; do
    if [ ! -f "runs/$n/final.ckpt" ] || [ ! -f "runs/$n/metrics.csv" ]; then
      echo "results.sh: runs/$n has not finished (no final.ckpt or metrics.csv); nothing recorded" >&2
      return 1
    fi
    rm -rf "$records/$n.tmp" && mkdir -p "$records/$n.tmp"
    for f in runs/"$n"/*.csv runs/"$n"/*.jsonl runs/"$n"/*.json runs/"$n"/eval-*.txt; do
      [ -f "$f" ] || continue
      if [[ $f == */eval-*.txt ]] && [ "runs/$n/final.ckpt" -nt "$f" ]; then
        echo "results.sh: $f is older than runs/$n/final.ckpt: left out" >&2
        continue
      fi
      cp "$f" "$records/$n.tmp/" || return 1
    done
    rm -rf "$records/$n" && mv "$records/$n.tmp" "$records/$n" || return 1
    echo "recorded: $records/$n ($(cd "$records/$n" && ls | paste -sd ' '))"
  done
}
# --pair A B [FIRST]: for two runs that trained at the same time on one machine (say, one thread
# each), what one costs against the other, measured side by side: the median (min..max) over the
# epochs both have, from FIRST [1] on, of A's epoch seconds over B's. FIRST leaves out epochs
# that a pause or other work stretched unevenly.
pair() {
  local a=$runs/$1/metrics.csv b=$runs/$2/metrics.csv first=${3:-1}
  [ -f "$a" ] && [ -f "$b" ] || { echo "results.sh: --pair needs two runs with a metrics.csv (runs/ or $records/): $1 $2" >&2; return 2; }
  [[ $first =~ ^[1-9][0-9]{0,5}$ ]] || { echo "results.sh: --pair: FIRST must be an epoch number, not '$first'" >&2; return 2; }
  awk -F, -v first="$first" 'FNR == 1 { f++; next } f == 1 { s[$1] = $8; next } ($1 in s) && $1 >= first && $8 > 0 { print s[$1] / $8 }' "$a" "$b" |
    sort -g | awk "$sorted_awk"' END {
      if (!NR) { print "results.sh: --pair: " a " and " b " have no epochs in common from epoch " first > "/dev/stderr"; exit 1 }
      printf "epoch seconds %s / %s, epochs %d-: median %.3f (%.3f..%.3f, %d epochs)\n", a, b, first, median(), v[1], v[NR], NR
    }' a="$1" b="$2" first="$first"
}
if [ "${1:-}" = --pair ]; then
  shift
  [ $# -eq 2 ] || [ $# -eq 3 ] || { echo "results.sh: --pair needs two run names and an optional first epoch" >&2; exit 2; }
  pair "$@"
  exit
fi
if [ "${1:-}" = --record ]; then
  shift
  [ $# -gt 0 ] || { echo "results.sh: --record needs run names" >&2; exit 2; }
  record "$@"
  exit 0
fi

all_groups="ablation lr-headroom leave-one-out momentum resnet20 short small-batch batch8 why-bn-landscape why-bn-resnet"
groups=("$@")
[ ${#groups[@]} -eq 0 ] && read -ra groups <<<"$all_groups"
for g in "${groups[@]}"; do
  case " $all_groups " in
    *" $g "*) ;;
    *) echo "results.sh: unknown group '$g' ($all_groups)" >&2; exit 2 ;;
  esac
done
# Builds only the default build/: a BUILD_DIR that lacks the tools is refused, never built into
# (it may hold a kept binary, such as runs/build-COMMIT/bin/typenet-train of a long run).
if ! { [ -x "$plot" ] && [ -x "$train" ]; }; then
  if [ -n "${BUILD_DIR:-}" ]; then
    echo "results.sh: BUILD_DIR=$build_dir lacks bin/typenet-train or bin/typenet-plot; results.sh builds only build/ (leave BUILD_DIR unset)" >&2
    exit 2
  fi
  bash scripts/build.sh >&2
fi
for g in "${groups[@]}"; do
  case $g in
    ablation) ablation ;;
    lr-headroom) lr_headroom ;;
    leave-one-out) leave_one_out ;;
    momentum) momentum ;;
    resnet20) resnet20 ;;
    short) short ;;
    small-batch) small_batch ;;
    batch8) batch8 ;;
    why-bn-landscape) why_bn_landscape ;;
    why-bn-resnet) why_bn_resnet ;;
  esac
done
