# Included by xskanConfig.cmake when the `io` component is requested.
include(CMakeFindDependencyMacro)
find_dependency(TIFF)
find_dependency(PNG)
include("${CMAKE_CURRENT_LIST_DIR}/xskan_ioTargets.cmake")
