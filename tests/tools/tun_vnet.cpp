// SPDX-License-Identifier: BSD-3-Clause
// tun_vnet.cpp - shows, and sets, the virtio-net header format of an existing persistent TUN
// device, as a previous owner (QEMU, a VM manager, another program) may leave it: the header
// size (TUNSETVNETHDRSZ) and byte order (TUNSETVNETLE, TUNSETVNETBE). persistent.sh sets another
// format with it and checks that tunstack attaches, works and leaves its own. Uses only the
// kernel's ioctls, never tunstack's code.
//
//   tun_vnet DEV [--header-size N] [--little-endian 0|1] [--big-endian 0|1]
//
// Prints "header-size N little-endian 0|1 big-endian 0|1|unsupported" after any change.
// Exit status: 0 done, 1 the kernel refused (the message says which request), 2 bad usage.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

namespace {

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tun_vnet: %s\nusage: tun_vnet DEV [--header-size N] [--little-endian 0|1] [--big-endian 0|1]\n",
               why);
  std::exit(2);
}

int number(std::string_view option, const char* text) {
  int v = 0;
  const std::string_view s{text};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0) {
    std::fprintf(stderr, "tun_vnet: %.*s needs a number, not '%s'\n", static_cast<int>(option.size()), option.data(), text);
    std::exit(2);
  }
  return v;
}

[[noreturn]] void refused(const char* request) {
  std::fprintf(stderr, "tun_vnet: %s: %s\n", request, std::strerror(errno));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("no device given");
  const char* dev = argv[1];
  std::optional<int> header_size, little_endian, big_endian;
  for (int i = 2; i < argc; ++i) {
    const std::string_view option{argv[i]};
    if (i + 1 >= argc) usage("an option lacks its value");
    const int value = number(option, argv[++i]);
    if (option == "--header-size") {
      header_size = value;
    } else if (option == "--little-endian") {
      little_endian = value;
    } else if (option == "--big-endian") {
      big_endian = value;
    } else {
      usage("unknown option");
    }
  }
  // Attaching to a name that does not exist would create a device that vanishes at exit.
  if (if_nametoindex(dev) == 0) {
    std::fprintf(stderr, "tun_vnet: no device %s (create a persistent one: ip tuntap add dev %s mode tun)\n", dev, dev);
    return 1;
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) refused("open /dev/net/tun");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev, IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) refused("TUNSETIFF");
  if (header_size && ::ioctl(fd, TUNSETVNETHDRSZ, &*header_size) != 0) refused("TUNSETVNETHDRSZ");
  if (little_endian && ::ioctl(fd, TUNSETVNETLE, &*little_endian) != 0) refused("TUNSETVNETLE");
  if (big_endian && ::ioctl(fd, TUNSETVNETBE, &*big_endian) != 0) refused("TUNSETVNETBE");

  int size = 0, le = 0, be = 0;
  if (::ioctl(fd, TUNGETVNETHDRSZ, &size) != 0) refused("TUNGETVNETHDRSZ");
  if (::ioctl(fd, TUNGETVNETLE, &le) != 0) refused("TUNGETVNETLE");
  // Without cross-endian support in the kernel (CONFIG_TUN_VNET_CROSS_LE) there is no
  // big-endian setting to read.
  const bool have_be = ::ioctl(fd, TUNGETVNETBE, &be) == 0;
  if (!have_be && errno != EINVAL) refused("TUNGETVNETBE");
  std::printf("header-size %d little-endian %d big-endian %s\n", size, le, have_be ? (be != 0 ? "1" : "0") : "unsupported");
  ::close(fd);
  return 0;
}
