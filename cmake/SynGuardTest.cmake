# sg_add_test(NAME SOURCES... LIBS libs... LABELS labels... [TIMEOUT s])
#   One GoogleTest executable registered with CTest under the given labels:
#   unit (pure logic), bpf (loads kernel programs, needs root), netns (makes
#   network namespaces and sends traffic, needs root).
function(sg_add_test NAME)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${NAME} ${ARG_SOURCES})
  target_link_libraries(${NAME} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_include_directories(${NAME} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
  set_target_properties(${NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${NAME} COMMAND ${NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "SYNGUARD_BIN_DIR=${CMAKE_BINARY_DIR}/bin;SYNGUARD_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
