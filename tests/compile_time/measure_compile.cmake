# measure_compile.cmake - compiles ONE file and checks its wall time against a budget (cmake -P).
#
#   cmake -DCOMPILER=<c++> -DSOURCE=<file.cpp> -DOUTPUT=<file.o> -DBUDGET=<seconds>
#         [-DINCLUDES=a|b] [-DDEFINES=X|Y=1] [-DIMPLICIT=/usr/include|...] -P measure_compile.cmake
#
# Flags: -std=c++20 -O3 -march=native -c (what a user's Release build of a network costs).
# Prints "compile time: <s> s (budget <b> s)"; exits 1 when the compile fails or is too slow.
cmake_minimum_required(VERSION 3.20)
foreach(v COMPILER SOURCE OUTPUT BUDGET)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "measure_compile.cmake: -D${v}=... is required")
  endif()
endforeach()
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/compile_args.cmake)
set(args -std=c++20 -O3 -march=native -c)
typenet_compile_args(args)

execute_process(COMMAND date +%s%N OUTPUT_VARIABLE t0 OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND "${COMPILER}" ${args} "${SOURCE}" -o "${OUTPUT}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
execute_process(COMMAND date +%s%N OUTPUT_VARIABLE t1 OUTPUT_STRIP_TRAILING_WHITESPACE)
file(REMOVE "${OUTPUT}")
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "compile failed (exit code ${rc}): ${COMPILER} ${args} ${SOURCE}")
endif()
math(EXPR ms "(${t1} - ${t0}) / 1000000")
math(EXPR whole "${ms} / 1000")
math(EXPR tenths "(${ms} % 1000) / 100")
message("compile time: ${whole}.${tenths} s (budget ${BUDGET} s): ${SOURCE}")
math(EXPR budget_ms "${BUDGET} * 1000")
if(ms GREATER budget_ms)
  message(FATAL_ERROR "compile time ${whole}.${tenths} s exceeds the budget of ${BUDGET} s")
endif()
