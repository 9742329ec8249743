# Sourced by the scripts that print medians (results.sh and the benchmark scripts bench-mpi and
# bench-probes; the Python parts use statistics.median, the same rule): one median for all.
# sorted_awk: the awk that collects sorted numbers, one a line, into v[1..NR] and gives their
# median(): the middle one (as written), or the mean of the two middle ones.
sorted_awk='{ v[NR] = $1 } function median() { return NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
# median X...: the median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk "$sorted_awk"' END { print median() }'; }
