# Two translation units including every public header: catches non-inline
# definitions in headers (multiple-definition link errors) and header
# self-sufficiency of the umbrella.
add_executable(test_umbrella umbrella_a.cpp umbrella_b.cpp $<TARGET_OBJECTS:xskan_test_main>)
target_link_libraries(test_umbrella PRIVATE xskan::xskan xskan_native_flags Catch2::Catch2)
add_test(NAME test_umbrella COMMAND test_umbrella)
