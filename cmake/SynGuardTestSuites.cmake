# Run after each test executable is linked (cmake -P, from sg_add_test):
# lists its GoogleTest suites (--gtest_list_tests) into SUITES_FILE as
#   set(sg_suites "SuiteA;SuiteB;Prefix/ParamSuite")
# which the ctest include file turns into one ctest entry per suite. Fails the
# build if the executable cannot list its tests, or if a suite that
# sg_add_test(... SUITE_PROPERTIES) names no longer exists (a renamed suite
# would otherwise silently lose its lock).
#   -D EXE=<test executable> -D SUITES_FILE=<out> -D REQUIRED=<suite,suite...>
cmake_minimum_required(VERSION 3.25)
string(REPLACE "," ";" REQUIRED "${REQUIRED}")
execute_process(COMMAND "${EXE}" --gtest_list_tests
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --gtest_list_tests failed (${rc}):\n${out}\n${err}")
endif()

# Suite lines end with '.', optionally followed by "  # TypeParam = ..."; test
# lines are indented; anything else (gtest_main's banner) does not match.
string(REPLACE ";" "\\;" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
set(suites)
foreach(line IN LISTS lines)
  if(line MATCHES "^([A-Za-z_][A-Za-z0-9_/]*)\\.( +#.*)?$")
    set(suite "${CMAKE_MATCH_1}")
    if(NOT suite MATCHES "^DISABLED_" AND NOT suite MATCHES "/DISABLED_")
      list(APPEND suites "${suite}")
    endif()
  endif()
endforeach()
if(NOT suites)
  message(FATAL_ERROR "${EXE} lists no test suite:\n${out}")
endif()
foreach(suite IN LISTS REQUIRED)
  if(NOT suite IN_LIST suites)
    message(FATAL_ERROR "${EXE}: sg_add_test(SUITE_PROPERTIES) names suite ${suite}, which it does not have")
  endif()
endforeach()

set(content "set(sg_suites \"${suites}\")\n")
if(EXISTS "${SUITES_FILE}")
  file(READ "${SUITES_FILE}" old)
endif()
if(NOT content STREQUAL old)
  file(WRITE "${SUITES_FILE}" "${content}")
endif()
