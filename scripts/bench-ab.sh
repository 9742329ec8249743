#!/usr/bin/env bash
# Training and eval throughput of two typenet builds (say, before and after a kernel change) on
# the same network, measured side by side: typenet-bench of build A and of build B alternate
# round by round, the order flipped every round, because these machines drift by 2x between
# runs and only figures of one session compare. Prints each round, then per setting the median
# img/s of each build and the median of the per-round ratios B / A (with their min..max).
#
#   scripts/bench-ab.sh BUILD_A BUILD_B                     # cnn-bn, batch 128, Winograd on
#   SETTINGS="resnet20:128:on resnet18:32:off" STEPS=8 ROUNDS=9 scripts/bench-ab.sh build /tmp/old/build
#   B_ARGS="--batch 8" SETTINGS=resnet20:128:on scripts/bench-ab.sh build build   # two settings, one build
#
# Environment (defaults in brackets): SETTINGS ["cnn-bn:128:on"] (model:batch:winograd ...),
# ROUNDS [5], STEPS [10] (timed steps per phase), WARMUP [2], PYTHON [/usr/bin/python3 or python3],
# A_ARGS and B_ARGS [none]: more typenet-bench options for A's or B's runs, after the setting's
# (a later option wins, so B_ARGS="--batch 8" measures batch 8 as B against the setting's batch).
set -euo pipefail
source "$(dirname "$0")/rounds.sh" && rounds=$(rounds_from_env bench-ab 5)
[ $# -eq 2 ] || { echo "usage: scripts/bench-ab.sh BUILD_A BUILD_B (build folders holding bin/typenet-bench)" >&2; exit 2; }
for d in "$1" "$2"; do
  [ -x "$d/bin/typenet-bench" ] || { echo "bench-ab: no $d/bin/typenet-bench (cmake --build $d --target typenet-bench)" >&2; exit 2; }
done
py=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
steps=${STEPS:-10} warmup=${WARMUP:-2}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "# A: $1${A_ARGS:+ $A_ARGS}; B: $2${B_ARGS:+ $B_ARGS}; $rounds rounds alternating; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
for setting in ${SETTINGS:-cnn-bn:128:on}; do
  IFS=: read -r model batch wino <<<"$setting"
  for r in $(seq "$rounds"); do
    order="A B"; [ $((r % 2)) = 0 ] && order="B A"
    for w in $order; do
      dir=$1 more=${A_ARGS:-}; [ "$w" = B ] && dir=$2 more=${B_ARGS:-}
      # shellcheck disable=SC2086  # the options are words
      out=$("$dir/bin/typenet-bench" --model "$model" --batch "$batch" --steps "$steps" --warmup "$warmup" --winograd "$wino" $more --json) ||
        { echo "bench-ab: typenet-bench of $dir failed ($setting, $w${more:+: $more})" >&2; exit 1; }
      v=$("$py" -c 'import json, sys; d = json.load(sys.stdin); print(d["train"]["median_images_per_second"], d["eval"]["median_images_per_second"])' <<<"$out")
      echo "$setting round $r $w $v" | tee -a "$log"
    done
  done
done
"$py" - "$log" <<'PY'
import collections, statistics as st, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    setting, _, r, w, train, ev = line.split()
    runs[(setting, int(r))][w] = (float(train), float(ev))
for setting in dict.fromkeys(s for s, _ in runs):
    rounds = [v for (s, _), v in runs.items() if s == setting and len(v) == 2]
    for i, phase in enumerate(("train", "eval")):
        ratio = [v["B"][i] / v["A"][i] for v in rounds]
        print(f"{setting:22s} {phase:5s}  A {st.median(v['A'][i] for v in rounds):8.1f} img/s  "
              f"B {st.median(v['B'][i] for v in rounds):8.1f} img/s  B/A median {st.median(ratio):.3f} "
              f"({min(ratio):.3f}..{max(ratio):.3f}, {len(ratio)} rounds)")
PY
