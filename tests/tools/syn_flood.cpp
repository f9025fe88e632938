// SPDX-License-Identifier: BSD-3-Clause
// syn_flood.cpp - sends COUNT TCP SYNs to HOST:PORT through a raw IPv4 socket (IPPROTO_RAW,
// so the IP header is ours), each from a random source port and with a random sequence number,
// from one source address or from random addresses of a subnet; for the integration tests'
// SYN flood against the stack. Needs CAP_NET_RAW: run it inside the test's own namespace.
//
// Why not hping3: its --flood mode ignores -c and reports nothing about what it sent, and it
// adds a package to install; this tool sends an exact count at an exact rate and says what the
// kernel took. IPv4 and TCP checksums are computed here (RFC 791 3.1, RFC 9293 3.1).
#include "number.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::uint32_t destination = 0;   // host byte order
  std::uint16_t port = 0;
  std::uint64_t count = 0;
  std::uint32_t source = 0;        // one source address, or:
  std::uint32_t subnet = 0;        // random hosts of subnet/prefix
  int prefix = -1;
  std::vector<std::uint32_t> exclude;
  double rate = 0;                 // SYNs per second; 0: as fast as the kernel takes them
  std::uint64_t seed = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "syn_flood: %s\n"
               "usage: syn_flood HOST PORT COUNT (--source A.B.C.D | --random-source A.B.C.D/P [--exclude A.B.C.D]...)\n"
               "                 [--rate PER_SECOND] [--seed N]\n",
               why);
  std::exit(2);
}

std::uint32_t address(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) usage(("bad IPv4 address " + text).c_str());
  return ntohl(a.s_addr);
}

template <class T>
T number(std::string_view text, const char* what) {
  return tools::number<T>(text, what, usage);
}

options parse(int argc, char** argv) {
  if (argc < 4) usage("missing arguments");
  options o;
  o.destination = address(argv[1]);
  o.port = number<std::uint16_t>(argv[2], "PORT");
  o.count = number<std::uint64_t>(argv[3], "COUNT");
  o.seed = std::random_device{}();
  bool have_source = false;
  for (int i = 4; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("option without a value");
    const std::string v = argv[++i];
    if (a == "--source") {
      o.source = address(v);
      have_source = true;
    } else if (a == "--random-source") {
      const auto slash = v.find('/');
      if (slash == std::string::npos) usage("--random-source needs A.B.C.D/P");
      o.prefix = number<int>(std::string_view(v).substr(slash + 1), "prefix");
      if (o.prefix < 1 || o.prefix > 30) usage("--random-source prefix must be 1..30");
      o.subnet = address(v.substr(0, slash)) & ~((1u << (32 - o.prefix)) - 1);
      have_source = true;
    } else if (a == "--exclude") {
      o.exclude.push_back(address(v));
    } else if (a == "--rate") {
      char* end = nullptr;
      o.rate = std::strtod(v.c_str(), &end);
      if (end != v.c_str() + v.size() || o.rate < 0) usage("bad --rate");
    } else if (a == "--seed") {
      o.seed = number<std::uint64_t>(v, "--seed");
    } else {
      usage("unknown option");
    }
  }
  if (!have_source) usage("give --source or --random-source");
  return o;
}

// The Internet checksum (RFC 1071) over big-endian 16-bit words, starting from @p sum.
std::uint32_t sum_words(const std::uint8_t* p, std::size_t n, std::uint32_t sum) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<std::uint32_t>(p[0] << 8 | p[1]);
  if (n == 1) sum += static_cast<std::uint32_t>(p[0] << 8);
  return sum;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

// A SYN as Linux sends one, minus timestamps: IPv4 (20 bytes, DF) + TCP (20 bytes + MSS option).
constexpr std::size_t ip_len = 20, tcp_len = 24, syn_len = ip_len + tcp_len;

std::array<std::uint8_t, syn_len> make_syn(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                                           std::uint16_t dport, std::uint32_t seq, std::uint16_t id) {
  std::array<std::uint8_t, syn_len> b{};
  std::uint8_t* ip = b.data();
  ip[0] = 0x45;                        // version 4, IHL 5
  put16(ip + 2, syn_len);              // total length
  put16(ip + 4, id);
  put16(ip + 6, 0x4000);               // DF
  ip[8] = 64;                          // TTL
  ip[9] = IPPROTO_TCP;
  put32(ip + 12, src);
  put32(ip + 16, dst);
  put16(ip + 10, fold(sum_words(ip, ip_len, 0)));

  std::uint8_t* tcp = b.data() + ip_len;
  put16(tcp, sport);
  put16(tcp + 2, dport);
  put32(tcp + 4, seq);
  tcp[12] = (tcp_len / 4) << 4;        // data offset
  tcp[13] = 0x02;                      // SYN
  put16(tcp + 14, 64240);              // window
  tcp[20] = 2;                         // MSS option: kind 2, length 4, 1460
  tcp[21] = 4;
  put16(tcp + 22, 1460);
  // Pseudo-header: source, destination, zero + protocol, TCP length.
  std::uint32_t sum = sum_words(ip + 12, 8, 0) + IPPROTO_TCP + tcp_len;
  put16(tcp + 16, fold(sum_words(tcp, tcp_len, sum)));
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  const int fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
  if (fd < 0) {
    std::fprintf(stderr, "syn_flood: raw socket: %s (needs CAP_NET_RAW)\n", std::strerror(errno));
    return 1;
  }
  std::mt19937_64 rng{o.seed};
  std::uniform_int_distribution<std::uint32_t> port(1024, 65535), any32;
  const std::uint32_t hosts = o.prefix > 0 ? (1u << (32 - o.prefix)) : 0;
  auto pick_source = [&]() -> std::uint32_t {
    if (o.prefix < 0) return o.source;
    for (;;) {  // a host of the subnet: not the network or broadcast address, nor excluded
      const std::uint32_t h = std::uniform_int_distribution<std::uint32_t>(1, hosts - 2)(rng);
      const std::uint32_t a = o.subnet | h;
      bool excluded = a == o.destination;
      for (auto e : o.exclude) excluded = excluded || a == e;
      if (!excluded) return a;
    }
  };

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(o.destination);

  const auto start = clock_type::now();
  std::uint64_t sent = 0, queue_full = 0, errors = 0;
  for (std::uint64_t i = 0; i < o.count; ++i) {
    if (o.rate > 0) {  // pace: SYN i leaves no earlier than i / rate seconds after the start
      const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(static_cast<double>(i) / o.rate));
      if (clock_type::now() < due) std::this_thread::sleep_until(due);
    }
    const auto syn = make_syn(pick_source(), o.destination, static_cast<std::uint16_t>(port(rng)), o.port,
                              any32(rng), static_cast<std::uint16_t>(i));
    for (;;) {
      if (::sendto(fd, syn.data(), syn.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
          static_cast<ssize_t>(syn.size())) {
        ++sent;
        break;
      }
      if (errno == ENOBUFS || errno == EAGAIN) {  // the device's queue is full: wait, send again
        ++queue_full;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        continue;
      }
      ++errors;
      if (errors <= 3) std::fprintf(stderr, "syn_flood: sendto: %s\n", std::strerror(errno));
      break;
    }
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("syn_flood: sent %llu of %llu SYNs in %.2f s (%.0f/s); %llu waits for a full queue, %llu errors\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(o.count), seconds,
              seconds > 0 ? static_cast<double>(sent) / seconds : 0.0, static_cast<unsigned long long>(queue_full),
              static_cast<unsigned long long>(errors));
  ::close(fd);
  return sent == o.count ? 0 : 1;
}
