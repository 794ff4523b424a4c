# Optional I/O component: xskan::io = xskan::xskan + libtiff + libpng (headers in include/xskan/io/).
# Consumers: find_package(xskan COMPONENTS io) then target_link_libraries(app PRIVATE xskan::io).
find_package(TIFF QUIET)
find_package(PNG QUIET)
if(TIFF_FOUND AND PNG_FOUND)
  add_library(xskan_io INTERFACE)
  add_library(xskan::io ALIAS xskan_io)
  set_target_properties(xskan_io PROPERTIES EXPORT_NAME io)
  target_link_libraries(xskan_io INTERFACE xskan TIFF::TIFF PNG::PNG)
  # Optional libdeflate (Debian: libdeflate-dev, already pulled in by libtiff-dev): fast PNG
  # output at compression levels 0-1 (io/png.hpp). Linked by name so the export stays portable.
  find_path(XSKAN_LIBDEFLATE_INCLUDE_DIR libdeflate.h)
  find_library(XSKAN_LIBDEFLATE_LIBRARY deflate)
  if(XSKAN_LIBDEFLATE_INCLUDE_DIR AND XSKAN_LIBDEFLATE_LIBRARY)
    target_link_libraries(xskan_io INTERFACE deflate)
    target_compile_definitions(xskan_io INTERFACE XSKAN_IO_HAVE_LIBDEFLATE=1)
    message(STATUS "xskan: io uses libdeflate for fast PNG output")
  endif()
  install(TARGETS xskan_io EXPORT xskan_ioTargets)
  install(EXPORT xskan_ioTargets NAMESPACE xskan::
          DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/xskan)
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/xskan_ioConfig.cmake
          DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/xskan)
elseif(XSKAN_BUILD_APPS)
  message(FATAL_ERROR "XSKAN_BUILD_APPS needs libtiff and libpng (Debian: libtiff-dev libpng-dev)")
else()
  message(STATUS "xskan: libtiff/libpng not found, the optional xskan::io component is not available")
endif()
