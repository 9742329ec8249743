# check_compile.cmake - runs ONE compile-fail case (cmake -P), used by CMakeLists.txt here.
#
#   cmake -DCOMPILER=<c++> -DSOURCE=<file.cpp> -DEXPECT=fail|pass
#         [-DINCLUDES=a|b] [-DDEFINES=X|Y=1] [-DIMPLICIT=/usr/include|...]
#         [-DMAX_TYPENET_ERRORS=<n>] -P check_compile.cmake
#
# Compiles SOURCE with -std=c++20 -fsyntax-only and prints the compiler's output.
#   EXPECT=pass: exits with the compiler's exit code (a twin must compile).
#   EXPECT=fail: the compile must fail AND report exactly ONE static assertion (one shape
#     error, no cascade of typenet errors). On success it prints nothing of its own; on a
#     broken expectation it prints a line starting "typenet-compile-check: FAILED" (the CTest
#     test matches that with FAIL_REGULAR_EXPRESSION, because PASS_REGULAR_EXPRESSION, which
#     checks the message, makes CTest ignore the exit code) and exits 1.
#   MAX_TYPENET_ERRORS=<n>: also at most n "error:" diagnostics located in typenet's headers
#     (the static assertion itself is one).
# The expected message is deliberately NOT passed here, so that this script can never print
# it: only the compiler's own output can match a test's PASS_REGULAR_EXPRESSION.
# Lists are '|'-separated so that they survive the add_test() command line.
cmake_minimum_required(VERSION 3.20)

foreach(v COMPILER SOURCE EXPECT)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "check_compile.cmake: -D${v}=... is required")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/../cmake/compile_args.cmake)
set(args -std=c++20 -fsyntax-only)
typenet_compile_args(args)

# ASCII quotes in g++'s messages, as in docs/shape-errors.md.
set(ENV{LC_ALL} C)
execute_process(COMMAND "${COMPILER}" ${args} "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")

if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "typenet-compile-check: FAILED: ${SOURCE} must compile (exit code ${rc})")
  endif()
  return()
endif()

set(problems "")
if(rc EQUAL 0)
  list(APPEND problems "the compile succeeded, but this case must not compile")
endif()
# g++ and clang >= 16 write "static assertion failed", clang <= 15 "static_assert failed".
string(REGEX MATCHALL "static assertion failed|static_assert failed" asserts "${out}")
list(LENGTH asserts n_asserts)
if(NOT n_asserts EQUAL 1)
  list(APPEND problems "expected exactly 1 static assertion, the compiler reported ${n_asserts}")
endif()
if(DEFINED MAX_TYPENET_ERRORS)
  string(REGEX MATCHALL "typenet/[A-Za-z0-9_/]+[.]hpp:[0-9]+:[0-9]+: error:" typenet_errors "${out}")
  list(LENGTH typenet_errors n_typenet_errors)
  if(n_typenet_errors GREATER MAX_TYPENET_ERRORS)
    list(APPEND problems "expected at most ${MAX_TYPENET_ERRORS} error(s) located in typenet's headers, the \
compiler reported ${n_typenet_errors} (a cascade after the shape error)")
  endif()
endif()
if(problems)
  foreach(p IN LISTS problems)
    message("typenet-compile-check: FAILED: ${p}")
  endforeach()
  message(FATAL_ERROR "typenet-compile-check: ${SOURCE}: see above")
endif()
