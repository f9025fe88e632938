// SPDX-License-Identifier: BSD-3-Clause
// privileges.hpp - --user: the tunstack program gives up its privileges once the TUN device is
// open and configured. Only opening/creating the device and configuring its kernel side need
// CAP_NET_ADMIN; the file descriptor stays usable afterwards, so the stack serves on as an
// ordinary user with no capabilities.
#ifndef TUNSTACK_APPS_TUNSTACK_PRIVILEGES_HPP
#define TUNSTACK_APPS_TUNSTACK_PRIVILEGES_HPP

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tunstack::app {

/// The capability sets of a process, as bit masks (bit n is capability n, e.g. 12 CAP_NET_ADMIN).
struct capability_sets {
  std::uint64_t effective = 0;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
  std::uint64_t ambient = 0;
  /// The bounding set: what execve of a file with capabilities could ever grant (CapBnd; all
  /// ones if the text lacks it). Not part of empty(): it grants nothing by itself.
  std::uint64_t bounding = ~std::uint64_t{0};

  bool empty() const noexcept { return (effective | permitted | inheritable | ambient) == 0; }
};

/// Reads the CapEff, CapPrm, CapInh, CapAmb and CapBnd lines of a /proc/PID/status text; nullopt if
/// one of the first three is missing or not hexadecimal (CapAmb is absent before Linux 4.3).
std::optional<capability_sets> parse_capability_sets(std::string_view proc_status);

/// What drop_privileges did.
struct dropped_privileges {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  std::size_t groups = 0;    ///< supplementary groups now held
  bool changed_user = false; ///< false: tunstack already ran as the user; only capabilities went
  /// Whether the bounding set was emptied too. That needs CAP_SETPCAP, which root has and a
  /// setcap cap_net_admin+ep binary does not; it then stays as inherited, and no_new_privs
  /// keeps any execve from granting what it allows.
  bool bounding_cleared = false;
};

/// Switches the process to @p user: its supplementary groups (initgroups), then its group
/// (setresgid), then its user id (setresuid), in that order, since each step needs privileges
/// the next one gives up; before all that, with CAP_SETPCAP, it empties the bounding set. Then
/// drops every remaining capability (effective, permitted,
/// inheritable, ambient), sets no_new_privs, and verifies that root cannot be regained
/// (setuid(0) fails) and that no capability is left.
///
/// If the process already runs as @p user (e.g. a `setcap cap_net_admin+ep` binary started by
/// that user), the ids stay and only the capabilities are dropped.
///
/// @throws std::runtime_error with a message naming what is missing (CAP_SETUID, CAP_SETGID)
///   and what to do, or what could not be verified.
dropped_privileges drop_privileges(const std::string& user);

}  // namespace tunstack::app

#endif  // TUNSTACK_APPS_TUNSTACK_PRIVILEGES_HPP
