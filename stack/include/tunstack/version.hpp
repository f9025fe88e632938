// SPDX-License-Identifier: BSD-3-Clause
// version.hpp - tunstack's version and the versions of what it is built on.
#ifndef TUNSTACK_VERSION_HPP
#define TUNSTACK_VERSION_HPP

#include <string>

namespace tunstack {

/// "0.1.0"
const char* version() noexcept;
/// e.g. "tunstack 0.1.0 (lwIP 2.1.3, Asio 1.22.1)"
std::string version_banner();

}  // namespace tunstack

#endif  // TUNSTACK_VERSION_HPP
