# add_project_test(NAME name SOURCES a.cpp ... LIBS lib ... [LABELS l ...] [TIMEOUT s]
#                  [PRIVATE_NETNS])
# One GoogleTest executable linked with the shared gtest main; each TEST() becomes a ctest
# test with a timeout, so a hang fails instead of stalling CI. PRIVATE_NETNS runs the
# executable (discovery and every test) inside its own fresh network namespace with only
# loopback up (tests/support/in-private-netns): for tests that open UDP/TCP sockets.
function(add_project_test)
  cmake_parse_arguments(T "PRIVATE_NETNS" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                          jitsu_project_options)
  target_compile_definitions(${T_NAME} PRIVATE
    JITSU_SOURCE_DIR="${PROJECT_SOURCE_DIR}" JITSU_BINARY_DIR="${CMAKE_BINARY_DIR}")
  # The tests' own sources compile without optimisation in every build type: at -O3 they
  # were 41% of a cold build's CPU time (600 of 1464 s), and -O0 cuts a heavy one from 18.6
  # to 12.3 s. The code under test (the part libraries) keeps the configured flags.
  target_compile_options(${T_NAME} PRIVATE -O0)
  if(T_PRIVATE_NETNS)
    # gtest_discover_tests runs the executable through CROSSCOMPILING_EMULATOR.
    set_target_properties(${T_NAME} PROPERTIES
      CROSSCOMPILING_EMULATOR ${PROJECT_SOURCE_DIR}/tests/support/in-private-netns)
  endif()
  gtest_discover_tests(${T_NAME}
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    DISCOVERY_TIMEOUT 30)
endfunction()

# add_script_test(NAME name COMMAND cmd args... [LABELS l ...] [TIMEOUT s])
# A test driven by a script (integration tests with real tools, namespaces, Scapy).
function(add_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    ENVIRONMENT "JITSU_BIN=${CMAKE_BINARY_DIR}/bin;JITSU_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
