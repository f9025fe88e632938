// SPDX-License-Identifier: BSD-3-Clause
// version.cpp - version strings (tunstack's, and the lwIP and Asio it was built with).
#include "tunstack/version.hpp"

#include "lwip/init.h"

#include <asio/version.hpp>

namespace tunstack {

const char* version() noexcept { return TUNSTACK_VERSION; }

std::string version_banner() {
  return std::string{"tunstack "} + TUNSTACK_VERSION + " (lwIP " LWIP_VERSION_STRING ", Asio " +
         std::to_string(ASIO_VERSION / 100000) + "." + std::to_string(ASIO_VERSION / 100 % 1000) +
         "." + std::to_string(ASIO_VERSION % 100) + ")";
}

}  // namespace tunstack
