# cmake -P script: install -> configure consumer -> build -> run. Any failure is FATAL_ERROR,
# which makes `cmake -P` exit non-zero and the CTest test fail.
foreach(var TYPENET_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_install_test.cmake: -D${var}=... is required")
  endif()
endforeach()
# The build's configuration ($<CONFIG>); empty for a single-config build without a build type.
set(config_args)
set(build_type_arg)
if(CONFIG)
  set(config_args --config ${CONFIG})
  set(build_type_arg -DCMAKE_BUILD_TYPE=${CONFIG})
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})  # a fresh prefix and a fresh build directory every run
file(MAKE_DIRECTORY ${WORK_DIR})

function(step name)
  message(STATUS "install test: ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "install test: step '${name}' failed (exit ${rc})")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

step(install ${CMAKE_COMMAND} --install ${TYPENET_BUILD_DIR} --prefix ${prefix} ${config_args})
if(NOT EXISTS ${prefix}/lib/cmake/typenet/typenetConfig.cmake AND
   NOT EXISTS ${prefix}/lib64/cmake/typenet/typenetConfig.cmake)
  message(FATAL_ERROR "install test: no typenetConfig.cmake under ${prefix}")
endif()

# Only the prefix is on the search path: no package registry, so the build tree cannot leak in.
step(configure ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
     ${build_type_arg} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${consumer_build}/CMakeCache.txt found_dir REGEX "^typenet_DIR:")
string(FIND "${found_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "install test: the consumer found typenet outside the prefix: ${found_dir}")
endif()

step(build ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})

find_program(app NAMES app PATHS ${consumer_build} ${consumer_build}/${CONFIG} ${consumer_build}/Release NO_DEFAULT_PATH REQUIRED)
step(run ${app})
if(NOT step_output MATCHES "parameters:")
  message(FATAL_ERROR "install test: the consumer did not print the network summary")
endif()
message(STATUS "install test: passed")
