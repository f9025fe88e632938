# SPDX-License-Identifier: BSD-3-Clause
# install.cmake - what `cmake --install` puts in a prefix, in two components that CPack turns
# into two Debian packages (cmake/package.cmake):
#   program  bin/tunstack, its man page (generated from --help), a systemd unit, the docs, the
#            licences (tunstack's and lwIP's: the binary contains lwIP)      -> tunstack.deb
#   dev      the libraries (tunstack::tunstack, tunstack::sim, tunstack::autostart), the public
#            headers, the CMake package (find_package(tunstack)) and pkg-config files
#            (tunstack, tunstack-sim, tunstack-autostart)                    -> tunstack-dev.deb
# Headers name no lwIP type, so lwIP's headers are not installed; its static library is.
include(CMakePackageConfigHelpers)

set_target_properties(tunstack_lwip PROPERTIES EXPORT_NAME lwip)
set_target_properties(tunstack_netif PROPERTIES EXPORT_NAME netif)
set_target_properties(tunstack_stack PROPERTIES EXPORT_NAME stack)
set_target_properties(tunstack_sim PROPERTIES EXPORT_NAME sim)

# ---- dev: libraries, headers, CMake package, pkg-config ----------------------------------------
install(TARGETS tunstack_library tunstack_sim tunstack_autostart tunstack_stack tunstack_netif tunstack_lwip tunstack_asio
        EXPORT tunstackTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT dev
        INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(DIRECTORY stack/include/tunstack netif/include/tunstack sim/include/tunstack
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT dev)

set(tunstack_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/tunstack")
install(EXPORT tunstackTargets NAMESPACE tunstack:: DESTINATION "${tunstack_cmake_dir}" COMPONENT dev)
configure_package_config_file(cmake/tunstackConfig.cmake.in "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfig.cmake"
                              INSTALL_DESTINATION "${tunstack_cmake_dir}")
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/tunstackConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfig.cmake" "${CMAKE_CURRENT_BINARY_DIR}/tunstackConfigVersion.cmake"
        DESTINATION "${tunstack_cmake_dir}" COMPONENT dev)

# pkg-config files find the prefix from their own place (${pcfiledir}), so that
# `cmake --install --prefix DIR` and the .deb's /usr both get working files.
set(tunstack_pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH TUNSTACK_PC_PREFIX "/prefix/${tunstack_pc_dir}" "/prefix")
string(REGEX REPLACE "/$" "" TUNSTACK_PC_PREFIX "${TUNSTACK_PC_PREFIX}")
foreach(pc IN ITEMS tunstack tunstack-sim tunstack-autostart)
  configure_file("cmake/${pc}.pc.in" "${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${pc}.pc" @ONLY)
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/${pc}.pc" DESTINATION "${tunstack_pc_dir}" COMPONENT dev)
endforeach()

# ---- the licences: LICENSE, lwIP's COPYING, and a Debian copyright file with both ---------------
file(READ "${PROJECT_SOURCE_DIR}/LICENSE" TUNSTACK_LICENSE_TEXT)
file(READ "${TUNSTACK_LWIP_DIR}/COPYING" TUNSTACK_LWIP_COPYING_TEXT)
# Debian's copyright format: licence texts indented by one space, empty lines as " .".
foreach(text IN ITEMS TUNSTACK_LICENSE_TEXT TUNSTACK_LWIP_COPYING_TEXT)
  string(REGEX REPLACE "\n+$" "" ${text} "${${text}}")
  string(REPLACE "\n" "\n " ${text} " ${${text}}")
  string(REGEX REPLACE "\n +\n" "\n .\n" ${text} "${${text}}")
  string(REGEX REPLACE "\n +\n" "\n .\n" ${text} "${${text}}")  # runs of empty lines
  string(REGEX REPLACE " +\n" "\n" ${text} "${${text}}")
endforeach()
configure_file(cmake/copyright.in "${CMAKE_CURRENT_BINARY_DIR}/copyright" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/copyright" DESTINATION "${CMAKE_INSTALL_DATAROOTDIR}/doc/tunstack-dev"
        COMPONENT dev)

if(NOT TARGET tunstack_app)
  return()
endif()

# ---- program: the binary, its man page, the systemd unit, the docs ------------------------------
install(TARGETS tunstack_app RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT program)

# The man page is the program's own --help and --version, through help2man (Debian: help2man),
# plus the sections --help has no room for (cmake/tunstack.h2m), so it cannot drift from them.
find_program(TUNSTACK_HELP2MAN help2man)
if(NOT TUNSTACK_HELP2MAN)
  message(FATAL_ERROR "help2man not found: it generates tunstack's man page from --help "
                      "(sudo apt-get install help2man, or sudo scripts/install-deps), or configure "
                      "with -DTUNSTACK_INSTALL=OFF")
endif()
set(man_page "${CMAKE_CURRENT_BINARY_DIR}/man/tunstack.1")
add_custom_command(
  OUTPUT "${man_page}.gz"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/man"
  # ASAN_OPTIONS: help2man runs the program, which in a sanitizer build must not fail on a leak
  # report of its own start-up.
  COMMAND "${CMAKE_COMMAND}" -E env ASAN_OPTIONS=detect_leaks=0
          "${TUNSTACK_HELP2MAN}" --no-info --no-discard-stderr --section=1
          "--name=a userspace TCP/IP stack on a TUN device"
          "--include=${PROJECT_SOURCE_DIR}/cmake/tunstack.h2m"
          "--output=${man_page}" "$<TARGET_FILE:tunstack_app>"
  COMMAND gzip -9nf "${man_page}"
  DEPENDS tunstack_app "${PROJECT_SOURCE_DIR}/cmake/tunstack.h2m"
  COMMENT "Generating the man page tunstack.1 from tunstack --help"
  VERBATIM)
add_custom_target(tunstack_man_page ALL DEPENDS "${man_page}.gz")
install(FILES "${man_page}.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT program)

# The unit names the installed program by its absolute path, so it is written at install time,
# when the prefix is known (`cmake --install --prefix`, or /usr for the .deb).
set(TUNSTACK_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the install prefix")
install(CODE "
  set(TUNSTACK_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(TUNSTACK_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/tunstack.service.in\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/systemd/tunstack.service\" @ONLY)"
        COMPONENT program)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/systemd/tunstack.service" DESTINATION "${TUNSTACK_SYSTEMD_UNIT_DIR}"
        COMPONENT program)

install(FILES README.md LICENSE "${CMAKE_CURRENT_BINARY_DIR}/copyright" DESTINATION "${CMAKE_INSTALL_DOCDIR}"
        COMPONENT program)
install(FILES "${TUNSTACK_LWIP_DIR}/COPYING" DESTINATION "${CMAKE_INSTALL_DOCDIR}" RENAME COPYING.lwip
        COMPONENT program)
file(GLOB tunstack_docs "${PROJECT_SOURCE_DIR}/docs/*.md")
install(FILES ${tunstack_docs} DESTINATION "${CMAKE_INSTALL_DOCDIR}/docs" COMPONENT program)
