# SPDX-License-Identifier: BSD-3-Clause
# package.cmake - `cpack -G DEB` (in the build tree) makes two Debian packages from the install
# components of install.cmake: tunstack (the program, its man page, unit and docs; its
# dependencies from dpkg-shlibdeps) and tunstack-dev (libraries, headers, CMake and pkg-config
# files; it depends on the -dev packages a consumer's build needs). tests/install/deb.sh checks them.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tunstack)
set(CPACK_PACKAGE_VENDOR "the tunstack authors")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_FILE_NAME "tunstack-${PROJECT_VERSION}")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev)
if(TARGET tunstack_app)
  list(APPEND CPACK_COMPONENTS_ALL program)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "the tunstack authors")
set(CPACK_DEBIAN_PACKAGE_SECTION net)

set(CPACK_DEBIAN_PROGRAM_PACKAGE_NAME tunstack)
set(CPACK_DEBIAN_PROGRAM_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PROGRAM_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PROGRAM_DESCRIPTION
    "userspace TCP/IP stack on a TUN device\ntunstack creates (or attaches to) a TUN device, gives the kernel's side an address and\nanswers IP on the other side itself with lwIP: ping, echo, discard and an HTTP server\nwith a live status page. Includes a systemd unit (not enabled).")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME tunstack-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What building against the package needs: Asio's headers, the libraries the static libraries
# use, and pkg-config (tunstackConfig.cmake finds libmnl and libpcap through it).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libasio-dev, libmnl-dev, libpcap-dev, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "userspace TCP/IP stack on a TUN device (development files)\nStatic libraries and headers of tunstack: lwIP on an Asio event loop, with Asio-style\nTCP and UDP sockets, TUN and in-memory links, and a deterministic network simulation\n(tunstack::sim). find_package(tunstack) and pkg-config tunstack.")

include(CPack)
