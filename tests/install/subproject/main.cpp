// SPDX-License-Identifier: BSD-3-Clause
// main.cpp - a program of a project that builds tunstack as its subproject: it answers a ping
// crafted here, byte by byte, on the in-memory link, and checks the reply. Exits 0 only if the
// echo reply came back with the request's identifier, sequence number and data.
#include <tunstack/tunstack.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#ifndef CONSUMER_OWN_ASIO
#error "the consumer's own asio target did not reach its program"
#endif
#ifdef ASIO_NO_DEPRECATED
#error "tunstack forced ASIO_NO_DEPRECATED on its consumer"
#endif

namespace {

std::uint16_t checksum(const std::vector<std::uint8_t>& b, std::size_t from, std::size_t to) {
  std::uint32_t sum = 0;
  for (std::size_t i = from; i < to; i += 2) sum += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

// 10.0.3.1 -> 10.0.3.50, ICMP echo request id 0x7475, sequence 1, data "subproject".
std::vector<std::uint8_t> echo_request() {
  const char data[] = "subproject";
  std::vector<std::uint8_t> p(20 + 8 + sizeof data - 1);
  p[0] = 0x45;
  put16(p, 2, static_cast<std::uint16_t>(p.size()));
  p[8] = 64;  // TTL
  p[9] = 1;   // ICMP
  const std::array<std::uint8_t, 8> addresses{10, 0, 3, 1, 10, 0, 3, 50};
  std::copy(addresses.begin(), addresses.end(), p.begin() + 12);
  put16(p, 10, checksum(p, 0, 20));
  p[20] = 8;  // echo request
  put16(p, 24, 0x7475);
  put16(p, 26, 1);
  std::copy(data, data + sizeof data - 1, p.begin() + 28);
  put16(p, 22, checksum(p, 20, p.size()));
  return p;
}

}  // namespace

int main() {
  asio::io_context io;
  tunstack::netif::memory_link wire{io.get_executor()};  // before the stack: it outlives it
  tunstack::stack st{io};
  st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});

  const std::vector<std::uint8_t> request = echo_request();
  wire.inject(std::as_bytes(std::span(request)));
  io.poll();
  const auto reply = wire.take();
  if (!reply || reply->size() != request.size()) {
    std::fprintf(stderr, "consumer: no echo reply of %zu bytes\n", request.size());
    return 1;
  }
  std::vector<std::uint8_t> r(reply->size());
  std::transform(reply->begin(), reply->end(), r.begin(), [](std::byte b) { return std::to_integer<std::uint8_t>(b); });
  const bool from_stack = r[12] == 10 && r[13] == 0 && r[14] == 3 && r[15] == 50;
  const bool is_reply = r[20] == 0 && checksum(r, 20, r.size()) == 0 && checksum(r, 0, 20) == 0;
  const bool same_echo = std::equal(r.begin() + 24, r.end(), request.begin() + 24);
  if (!from_stack || !is_reply || !same_echo) {
    std::fprintf(stderr, "consumer: the reply is not the echo reply expected\n");
    return 1;
  }
  std::printf("consumer: 10.0.3.50 answered the crafted ping (%s, %s)\n", tunstack::version_banner().c_str(),
              "tunstack built as a subproject");
  return 0;
}
