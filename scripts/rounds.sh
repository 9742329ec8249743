# Sourced by the benchmark scripts that alternate programs round by round (bench-ab, bench-mpi,
# bench-peers, bench-probes, compile-ab): their round count, checked once for all of them.
# rounds_from_env SCRIPT DEFAULT: prints ROUNDS (or DEFAULT) when it is a whole number from 1 to
# 999999 written without a leading zero; otherwise says so, naming SCRIPT, and exits 2 (no rounds
# would leave nothing to compare). The scripts call it before anything else they check.
rounds_from_env() {
  local r=${ROUNDS:-$2}
  [[ $r =~ ^[1-9][0-9]{0,5}$ ]] || { echo "$1: ROUNDS must be a whole number from 1 to 999999, not '$r'" >&2; exit 2; }
  echo "$r"
}
