# compile_args.cmake - the include and define flags of typenet for a compiler run from a cmake -P
# script (tests/compile_fail/check_compile.cmake, tests/compile_time/measure_compile.cmake).
#   typenet_compile_args(<out-var>) appends -I/-D flags from INCLUDES, DEFINES and IMPLICIT,
#   '|'-separated lists (so that they survive an add_test() command line). The compiler's own
#   directories (IMPLICIT, e.g. /usr/include where xtensor and Boost live) are never passed as
#   -I: that would reorder the system search path and break #include_next.
function(typenet_compile_args out)
  set(args ${${out}})
  string(REPLACE "|" ";" implicit "${IMPLICIT}")
  string(REPLACE "|" ";" includes "${INCLUDES}")
  foreach(dir IN LISTS includes)
    if(dir STREQUAL "" OR dir IN_LIST implicit)
      continue()
    endif()
    list(APPEND args "-I${dir}")
  endforeach()
  string(REPLACE "|" ";" defines "${DEFINES}")
  foreach(def IN LISTS defines)
    if(NOT def STREQUAL "")
      list(APPEND args "-D${def}")
    endif()
  endforeach()
  set(${out} ${args} PARENT_SCOPE)
endfunction()
