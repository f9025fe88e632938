// SPDX-License-Identifier: BSD-3-Clause
// privileges.cpp - --user: dropping to an unprivileged user once the device is set up (see
// privileges.hpp). The capability sets are read from /proc/self/status rather than through
// libcap: four hexadecimal lines are all we need, and it spares the program a library.
#include "privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace tunstack::app {
namespace {

std::runtime_error failure(const std::string& user, const std::string& what) {
  return std::runtime_error("--user " + user + ": " + what);
}

std::string errno_text(int e) { return std::strerror(e); }

// The program's own file, for advice that pastes as written (tunstack may not be on PATH).
std::string self_path() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"tunstack"} : p.string();
}

capability_sets current_capabilities(const std::string& user) {
  std::ifstream f("/proc/self/status");
  std::ostringstream text;
  text << f.rdbuf();
  if (auto sets = parse_capability_sets(text.str())) return *sets;
  throw failure(user, "cannot read the capability sets from /proc/self/status (is /proc mounted?)");
}

bool has(std::uint64_t set, int capability) { return (set >> capability) & 1U; }

std::string hex(std::uint64_t v) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
  return buffer;
}

struct user_entry {
  std::string name;
  uid_t uid;
  gid_t gid;
};

user_entry look_up(const std::string& user) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int e = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr && e == 0 && !user.empty() && user.size() < 10 &&
      user.find_first_not_of("0123456789") == std::string::npos) {
    e = ::getpwuid_r(static_cast<uid_t>(std::stoul(user)), &entry, buffer.data(), buffer.size(), &found);
  }
  if (found == nullptr) {
    throw failure(user, "there is no such user" + (e != 0 ? " (" + errno_text(e) + ")" : std::string{}));
  }
  return {found->pw_name, found->pw_uid, found->pw_gid};
}

}  // namespace

std::optional<capability_sets> parse_capability_sets(std::string_view proc_status) {
  capability_sets sets;
  bool eff = false, prm = false, inh = false;
  while (!proc_status.empty()) {
    const auto end = proc_status.find('\n');
    std::string_view line = proc_status.substr(0, end);
    proc_status = end == std::string_view::npos ? std::string_view{} : proc_status.substr(end + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    std::uint64_t* target = nullptr;
    bool* seen = nullptr;
    bool optional_seen = false;  // CapAmb and CapBnd may be missing
    if (key == "CapEff") target = &sets.effective, seen = &eff;
    else if (key == "CapPrm") target = &sets.permitted, seen = &prm;
    else if (key == "CapInh") target = &sets.inheritable, seen = &inh;
    else if (key == "CapAmb") target = &sets.ambient, seen = &optional_seen;
    else if (key == "CapBnd") target = &sets.bounding, seen = &optional_seen;
    else continue;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), *target, 16);
    if (ec != std::errc{} || ptr == value.data()) return std::nullopt;
    *seen = true;
  }
  if (!eff || !prm || !inh) return std::nullopt;
  return sets;
}

dropped_privileges drop_privileges(const std::string& user) {
  const user_entry target = look_up(user);
  if (target.uid == 0) throw failure(user, "is root; name an unprivileged user, like nobody");
  dropped_privileges result{.user = target.name, .uid = target.uid, .gid = target.gid};

  const capability_sets before = current_capabilities(user);
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  ::getresuid(&ruid, &euid, &suid);
  ::getresgid(&rgid, &egid, &sgid);
  const bool same_user = ruid == target.uid && euid == target.uid && suid == target.uid &&
                         rgid == target.gid && egid == target.gid && sgid == target.gid;

  // The bounding set first: emptying it needs CAP_SETPCAP, which leaving uid 0 takes away.
  // Capabilities beyond the kernel's last one answer EINVAL, which ends the loop.
  if (has(before.effective, CAP_SETPCAP)) {
    for (int cap = 0; cap < 64; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
      if (errno == EINVAL) break;
      throw failure(user, "cannot empty the capability bounding set (capability " + std::to_string(cap) +
                              "): " + errno_text(errno));
    }
    result.bounding_cleared = true;
  }

  if (!same_user) {
    std::string missing;
    if (!has(before.effective, CAP_SETGID)) missing = "CAP_SETGID";
    if (!has(before.effective, CAP_SETUID)) missing += std::string(missing.empty() ? "" : " and ") + "CAP_SETUID";
    if (!missing.empty()) {
      throw failure(user, "switching from uid " + std::to_string(euid) + " to " + target.name + " (uid " +
                              std::to_string(target.uid) + ") needs CAP_SETUID and CAP_SETGID, and tunstack lacks " +
                              missing + ". Run it as root (sudo " + self_path() + " --user " + target.name +
                              "), or start it as " + target.name + " itself (with the binary given "
                              "cap_net_admin+ep by setcap), or leave --user out");
    }
    // Groups first, then the group, then the user: each step needs the privileges the
    // following one gives up.
    if (::initgroups(target.name.c_str(), target.gid) != 0) {
      throw failure(user, "cannot set the supplementary groups of " + target.name + ": " + errno_text(errno));
    }
    if (::setresgid(target.gid, target.gid, target.gid) != 0) {
      throw failure(user, "cannot change the group to " + std::to_string(target.gid) + ": " + errno_text(errno));
    }
    if (::setresuid(target.uid, target.uid, target.uid) != 0) {
      throw failure(user, "cannot change the user to " + std::to_string(target.uid) + ": " + errno_text(errno));
    }
    result.changed_user = true;
  }

  // Leaving uid 0 clears the capability sets already, unless SECBIT_KEEP_CAPS was set; a
  // process started by the user from a setcap binary keeps its file capabilities. Clear all of
  // them explicitly, ambient ones included (EINVAL: a kernel without ambient capabilities).
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    throw failure(user, "cannot clear the ambient capabilities: " + errno_text(errno));
  }
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
  if (::syscall(SYS_capset, &header, none) != 0) {
    throw failure(user, "cannot drop the capabilities: " + errno_text(errno));
  }
  // And no execve could give any back (setuid binaries, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    throw failure(user, "cannot set no_new_privs: " + errno_text(errno));
  }

  // Verify, rather than trust the calls above.
  if (::setuid(0) == 0 || ::seteuid(0) == 0) {
    throw failure(user, "could still become root after dropping privileges; refusing to run");
  }
  if (target.gid != 0 && (::setgid(0) == 0 || ::setegid(0) == 0)) {
    throw failure(user, "could still take group 0 after dropping privileges; refusing to run");
  }
  const capability_sets after = current_capabilities(user);
  if (result.bounding_cleared && after.bounding != 0) {
    throw failure(user, "the capability bounding set is not empty after emptying it (CapBnd " + hex(after.bounding) +
                            "); refusing to run");
  }
  if (!after.empty()) {
    throw failure(user, "capabilities remain after dropping them (CapEff " + hex(after.effective) + ", CapPrm " +
                            hex(after.permitted) + ", CapInh " + hex(after.inheritable) + ", CapAmb " +
                            hex(after.ambient) + "); refusing to run");
  }
  const int groups = ::getgroups(0, nullptr);
  result.groups = groups > 0 ? static_cast<std::size_t>(groups) : 0;
  return result;
}

}  // namespace tunstack::app
