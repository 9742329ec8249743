#!/usr/bin/env bash
# Compile time of two typenet checkouts (say, before and after a change to the type machinery),
# measured side by side: each translation unit is compiled from checkout A and from checkout B
# in turn, round by round, the order flipped every round, because these machines drift by 2x
# between runs and only figures of one session compare. Prints each compile, then per
# translation unit the median wall time and compiler peak memory of each checkout and the
# median of the per-round ratios B / A (with their min..max).
#
#   scripts/compile-ab.sh A_DIR B_DIR        # e.g. a `git worktree` of main and this checkout
#   FILES="examples/one_step.cpp" ROUNDS=9 scripts/compile-ab.sh /tmp/main .
#
# Each compile: $CXX -std=c++20 -O3 -march=native -I<checkout>/include -c <checkout>/<file>
# (what a user's Release build of a network costs; the flags of tests/compile_time).
# Environment (defaults in brackets): FILES ["examples/one_step.cpp
# tests/compile_time/all_resnets.cpp"], ROUNDS [5], CXX [g++], PYTHON [/usr/bin/python3 or python3].
set -euo pipefail
source "$(dirname "$0")/rounds.sh" && rounds=$(rounds_from_env compile-ab 5)
[ $# -eq 2 ] || { echo "usage: scripts/compile-ab.sh A_DIR B_DIR (two typenet checkouts)" >&2; exit 2; }
for d in "$1" "$2"; do
  [ -d "$d/include/typenet" ] || { echo "compile-ab: $d is not a typenet checkout (no include/typenet)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || bash "$(dirname "$0")/setup.sh" time   # the peak memory of each compile
py=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
cxx=${CXX:-g++}
files=${FILES:-examples/one_step.cpp tests/compile_time/all_resnets.cpp}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $("$cxx" --version | head -n1); $rounds rounds alternating; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
for f in $files; do
  for r in $(seq "$rounds"); do
    order="A B"; [ $((r % 2)) = 0 ] && order="B A"
    for w in $order; do
      dir=$1; [ "$w" = B ] && dir=$2
      [ -f "$dir/$f" ] || { echo "compile-ab: no $dir/$f" >&2; exit 2; }
      t0=$(date +%s%N)
      /usr/bin/time -f '%M' -o "$work/rss" "$cxx" -std=c++20 -O3 -march=native -I"$dir/include" -c "$dir/$f" \
        -o "$work/out.o" || { echo "compile-ab: compiling $dir/$f failed" >&2; exit 1; }
      t1=$(date +%s%N)
      echo "$f $r $w $(( (t1 - t0) / 1000000 )) $(tail -n1 "$work/rss")" | tee -a "$work/log"
    done
  done
done
"$py" - "$work/log" <<'PY'
import collections, statistics as st, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    f, r, w, ms, rss = line.split()
    runs[(f, int(r))][w] = (int(ms) / 1000, int(rss) / 1024)
for f in dict.fromkeys(k for k, _ in runs):
    rows = [v for (g, _), v in runs.items() if g == f and len(v) == 2]
    a = [v["A"][0] for v in rows]; b = [v["B"][0] for v in rows]
    ra = [v["A"][1] for v in rows]; rb = [v["B"][1] for v in rows]
    q = [v["B"][0] / v["A"][0] for v in rows]
    print(f"{f}: A {st.median(a):.2f} s ({st.median(ra):.0f} MB), B {st.median(b):.2f} s ({st.median(rb):.0f} MB), "
          f"B/A {st.median(q):.3f} ({min(q):.3f}..{max(q):.3f}, {len(q)} rounds)")
PY
