# SPDX-License-Identifier: BSD-3-Clause
# install.cmake - `cmake --install` puts the libraries (tunstack::tunstack, tunstack::sim and
# what they need), the public headers and a CMake package in the prefix, so other projects can
#   find_package(tunstack REQUIRED)
#   target_link_libraries(my_tests PRIVATE tunstack::sim)
# Headers name no lwIP type, so lwIP's headers are not installed; its static library is.
include(CMakePackageConfigHelpers)

set_target_properties(tunstack_lwip PROPERTIES EXPORT_NAME lwip)
set_target_properties(tunstack_netif PROPERTIES EXPORT_NAME netif)
set_target_properties(tunstack_stack PROPERTIES EXPORT_NAME stack)
set_target_properties(tunstack_sim PROPERTIES EXPORT_NAME sim)
set_target_properties(tunstack_warnings PROPERTIES EXPORT_NAME warnings)

install(TARGETS tunstack tunstack_sim tunstack_stack tunstack_netif tunstack_lwip asio tunstack_warnings
        EXPORT tunstackTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY stack/include/tunstack netif/include/tunstack sim/include/tunstack
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

set(tunstack_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/tunstack")
install(EXPORT tunstackTargets NAMESPACE tunstack:: DESTINATION "${tunstack_cmake_dir}")
configure_package_config_file(cmake/tunstackConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfig.cmake"
                              INSTALL_DESTINATION "${tunstack_cmake_dir}")
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/tunstackConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfigVersion.cmake"
        DESTINATION "${tunstack_cmake_dir}")
