#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit tests, gradient checks,
# compile-fail tests, the installed-package consumer test, and the examples).
#
# SANITIZE=1: the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-sanitize (scripts/build.sh). Any report aborts the program, so its test fails. Left out
# there, because a sanitizer cannot make them mean anything:
#   compile_fail.*, docs.error_gallery  (labels compile_fail, docs) run the compiler on
#       typenet's headers and check its messages: no typenet code runs, the sanitizers see
#       nothing (they run, unchanged, in the normal suite);
#   compile_time.all_resnets  (label compile_time) times the compiler against a budget: the
#       same compile as in the normal suite, no program runs (compile_time.all_resnets_run,
#       which runs the program, does run sanitized);
#   memory.cnn_bn_batch128  checks the peak resident set against 200 MB: ASan's shadow memory
#       and quarantine alone exceed that, so the figure says nothing about typenet.
# and, for time only (the float kernels run about 100x slower sanitized at -O1):
#   cli.ablation  trains 4 x 2 epochs of 5,000 images (its checks are about learning, which
#       needs that size); cli.lock  trains epochs of 2,048 images. Training, checkpoints and
#       resuming still run sanitized in cli.outputs, cli.resume, cli.resnet, cli.bad-checkpoint;
#       the run-directory lock (src/cli/out_lock.cpp) runs only in the normal suite.
#   cli.validation  trains ten short runs (a split, a resume, early stopping); data::split_per_class
#       and subset_source run sanitized in test_split, early_stopping and checkpoint_saver's
#       best.ckpt in test_fit.
#   cli.interrupt, cli.kill9  train 2 epochs of 3,072 and 2,048 images, with signals sent at
#       moments chosen for the normal build's speed. Stopping mid-epoch and resuming exactly runs
#       sanitized in test_fit (stop_flag, checkpoint_saver); the signal handlers
#       (src/cli/interrupt.cpp) run only in the normal suite.
# float_vs_double.* and oracle.* are not registered in a sanitized build (tests/CMakeLists.txt):
#   float32 arithmetic against double on whole networks, whose layers run sanitized elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exclude=()
if [ "${SANITIZE:-0}" = 1 ]; then
  build_dir=${BUILD_DIR:-build-sanitize}
  exclude=(-LE '^(compile_fail|compile_time|docs)$' -E '^(memory\.cnn_bn_batch128|cli\.ablation|cli\.lock|cli\.interrupt|cli\.kill9|cli\.validation)$')
  # halt_on_error: stop at the first report; detect_leaks: LeakSanitizer at exit (it works in
  # these containers); detect_stack_use_after_return: also catch references to a returned
  # function's locals (xtensor's lazy expressions dangle so). UBSan: a stack trace per report.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
else
  build_dir=${BUILD_DIR:-build}
fi
cd "$build_dir"
status=0
ctest --output-on-failure -j "${JOBS:-$(nproc)}" "${exclude[@]}" "$@" || status=$?
[ "$status" -eq 0 ] && exit 0

# why_failed: for each test that failed, the lines of its output that say why (a check that
# failed, a sanitizer's report, a case's FAIL line), as the last lines of the run: a long log is
# often read from its end only. Then, for the tests whose sole report is LeakSanitizer's own
# fatal error ("LeakSanitizer has encountered a fatal error": its tracer could not stop the
# process's threads, a known intermittent failure of the tool, google/sanitizers#1353; the leak
# check did not run), a second run, so that the leak check does run: a leak it finds ("ERROR:
# LeakSanitizer: detected memory leaks") or any other report fails as before.
why_failed() {
  awk '
    / Test: / { name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); n = 0; tool = 0; other = 0; next }
    /^Output:$/ { inside = 1; next }
    /^<end of output>$/ { inside = 0; next }
    inside && keep > 0 { keep--; if (n < 12) line[++n] = $0; next }  # the check and its values after Catch2'"'"'s FAILED:
    inside && /^FAIL \[|ERROR: [A-Za-z]+Sanitizer|runtime error:|LeakSanitizer has encountered|Tracer caught signal|FAILED:|with expansion:|^[^ ].*: FAILED|expected exit/ {
      if ($0 ~ /LeakSanitizer has encountered a fatal error|Tracer caught signal/) tool = 1
      else if ($0 ~ /ERROR: [A-Za-z]+Sanitizer|runtime error:/) other = 1
      if (n < 12) line[++n] = $0
      if ($0 ~ /FAILED:$|with expansion:$/) keep = 1
    }
    /^Test Failed\.$/ {
      print "why " name " failed:" > "/dev/stderr"
      for (i = 1; i <= n; i++) print "  " line[i] > "/dev/stderr"
      if (n == 0) print "  (no line of its output says; see its output above)" > "/dev/stderr"
      if (tool && !other) print name
    }' Testing/Temporary/LastTest.log
}
rerun=$(why_failed)
if [ "${SANITIZE:-0}" = 1 ] && [ -n "$rerun" ] && [ "$(wc -l < Testing/Temporary/LastTestsFailed.log)" -eq "$(echo "$rerun" | wc -l)" ]; then
  names=$(echo "$rerun" | sed 's/[][\\.*^$+?(){}|]/\\&/g' | paste -sd '|')  # the names as regular expressions
  echo "test.sh: LeakSanitizer could not run its check in: $(echo "$rerun" | paste -sd ' '); running them again" >&2
  status=0
  ctest --output-on-failure -R "^($names)\$" || status=$?
  [ "$status" -eq 0 ] || why_failed > /dev/null
fi
exit "$status"
