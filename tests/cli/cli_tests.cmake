# Command-line tests of the xskan tool (registered by tests/cli.cmake when XSKAN_BUILD_APPS is ON).
# Each case of tests/cli/cli_test.sh is one ctest entry named cli_<case>; they run the built
# `xskan` on small inputs and compare with the shared goldens through xskan_cli_check.
find_program(XSKAN_BASH bash REQUIRED)
add_executable(xskan_cli_check ${CMAKE_CURRENT_LIST_DIR}/check.cpp)
target_link_libraries(xskan_cli_check PRIVATE xskan::io)
set(XSKAN_CLI_CASES threshold_sauvola threshold_skan_recipe threshold_otsu skeletonize summarize sholl graph
    analyze_inf1 analyze_batch fei_scale help_and_errors)
foreach(case IN LISTS XSKAN_CLI_CASES)
  add_test(NAME cli_${case}
           COMMAND ${XSKAN_BASH} ${CMAKE_CURRENT_LIST_DIR}/cli_test.sh ${case} $<TARGET_FILE:xskan_cli>
                   $<TARGET_FILE:xskan_cli_check> ${XSKAN_GOLDEN_DIR} ${XSKAN_SHARED_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/cli_work)
  set_tests_properties(cli_${case} PROPERTIES TIMEOUT 600 SKIP_REGULAR_EXPRESSION "SKIP: missing")
endforeach()
