# I/O layer tests and command-line tests of the `xskan` tool (only with XSKAN_BUILD_APPS).
if(TARGET test_io)
  if(XSKAN_BUILD_APPS)
    target_link_libraries(test_io PRIVATE xskan::io)
  else()
    # test_io needs libtiff/libpng: keep it out of builds without the apps.
    set_target_properties(test_io PROPERTIES EXCLUDE_FROM_ALL TRUE)
    set_tests_properties(test_io PROPERTIES DISABLED TRUE)
  endif()
endif()
if(XSKAN_BUILD_APPS)
  include(${CMAKE_CURRENT_LIST_DIR}/cli/cli_tests.cmake)
endif()
