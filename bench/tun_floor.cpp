// SPDX-License-Identifier: BSD-3-Clause
// tun_floor.cpp - the TUN floor for bench/run: the least a program can do to answer ping on a
// TUN device. A blocking read() of one packet, an ICMP echo request turned into its reply in
// place (addresses swapped, type 8 -> 0, checksum adjusted incrementally), one write(). No
// event loop, no stack, no copies: whatever a TUN program costs beyond this is its own.
//
// Usage: tunstack-bench-floor DEVICE   (prints "ready" once the device exists; the caller
// gives it addresses, an MTU and brings it up; runs until killed; the device goes with it)
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 2 || std::strlen(argv[1]) >= IFNAMSIZ) {
    std::fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
    return 2;
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::perror("tun_floor: open /dev/net/tun");
    return 1;
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::perror("tun_floor: TUNSETIFF");
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  alignas(8) static std::array<std::uint8_t, 65536> packet;
  for (;;) {
    const ssize_t n = ::read(fd, packet.data(), packet.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("tun_floor: read");
      return 1;
    }
    const std::size_t len = static_cast<std::size_t>(n);
    if (len < 28 || (packet[0] >> 4) != 4) continue;
    const std::size_t ihl = (packet[0] & 0x0fu) * 4u;
    if (packet[9] != 1 || len < ihl + 8 || packet[ihl] != 8) continue;  // ICMP echo request only
    // Swapping source and destination leaves the IP header checksum as it is (same words).
    std::array<std::uint8_t, 4> source;
    std::memcpy(source.data(), &packet[12], 4);
    std::memcpy(&packet[12], &packet[16], 4);
    std::memcpy(&packet[16], source.data(), 4);
    // Type 8 -> 0 lowers the first 16-bit word by 0x0800: add it back to the checksum
    // (RFC 1624, one's complement arithmetic).
    packet[ihl] = 0;
    std::uint32_t sum = static_cast<std::uint32_t>(packet[ihl + 2] << 8 | packet[ihl + 3]) + 0x0800u;
    sum = (sum & 0xffffu) + (sum >> 16);
    packet[ihl + 2] = static_cast<std::uint8_t>(sum >> 8);
    packet[ihl + 3] = static_cast<std::uint8_t>(sum);
    if (::write(fd, packet.data(), len) < 0 && errno != EAGAIN) {
      std::perror("tun_floor: write");
      return 1;
    }
  }
}
