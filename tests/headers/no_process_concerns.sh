#!/usr/bin/env bash
# The installed headers hold no process concerns: no exit codes, no terminal, no argv, no
# printing to the process's streams, no environment. Code lines only (comments may mention
# them). Run by CTest as headers.no_process_concerns; the same search over src/cli/ (the tools)
# must find them, or the pattern has stopped matching anything.
#   tests/headers/no_process_concerns.sh SOURCE_DIR
set -euo pipefail
root=${1:?usage: no_process_concerns.sh SOURCE_DIR}
pattern='isatty|\bargv\b|\bargc\b|\bexit_[a-z_]+\b|std::exit|[^_]exit\(|std::cout|std::cerr|\bstdout\b|\bstderr\b|unistd\.h|malloc_trim|getenv|std::signal|sigaction'
search() { grep -rnE "$pattern" "$@" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true; }
found=$(search "$root/include")
if [ -n "$found" ]; then
  echo "process concerns in public headers:"
  echo "$found"
  exit 1
fi
control=$(search "$root/src/cli/train_main.cpp")
if [ -z "$control" ]; then
  echo "the pattern finds nothing in src/cli/train_main.cpp either: it no longer tests anything"
  exit 1
fi
echo "include/: no process concerns ($(echo "$control" | wc -l) matches in src/cli/train_main.cpp, the control)"
