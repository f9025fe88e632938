// SPDX-License-Identifier: BSD-3-Clause
// packet_summary_test.cpp - the one-line packet descriptions of -vv logs.
#include "detail/packet_summary.hpp"

#include "packet.hpp"

#include <doctest/doctest.h>

using namespace tunstack::testing;
using tunstack::detail::summarize_packet;

TEST_CASE("packet summary: ICMP echo request") {
  const bytes p = echo_request({.id = 7, .sequence = 1});
  CHECK(summarize_packet(p, p.size()) ==
        "IPv4 10.0.3.1 > 10.0.3.50 ICMP echo request id=7 seq=1, 84 bytes");
}

TEST_CASE("packet summary: truncated and non-IP input never reads past the buffer") {
  CHECK(summarize_packet({}, 0) == "empty packet");
  const bytes p = echo_request();
  CHECK(summarize_packet(std::span(p).first(10), p.size()) == "IPv4 (truncated), 84 bytes");
  CHECK(summarize_packet(std::span(p).first(22), p.size()) ==
        "IPv4 10.0.3.1 > 10.0.3.50 ICMP (truncated), 84 bytes");
  CHECK(summarize_packet(to_bytes({0x20}), 1) == "not IP (version 2), 1 bytes");
}

TEST_CASE("packet summary: a TCP SYN shows ports and flags") {
  bytes tcp(20);
  put16(tcp, 0, 40000);
  put16(tcp, 2, 7);
  put32(tcp, 4, 1000);
  tcp[12] = std::byte{0x50};
  tcp[13] = std::byte{0x02};
  put16(tcp, 14, 64240);
  const bytes p = build_ipv4({.protocol = 6}, tcp);
  CHECK(summarize_packet(p, p.size()) ==
        "IPv4 10.0.3.1 > 10.0.3.50 TCP 40000 > 7 [SYN] seq=1000 ack=0 win=64240, 40 bytes");
}
