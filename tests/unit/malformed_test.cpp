// SPDX-License-Identifier: BSD-3-Clause
// malformed_test.cpp - packets that are not valid IP are dropped and counted, get no answer,
// and leave the stack working. Each case lies about one thing: its length, a checksum, a
// version or a header length.
#include "packet.hpp"
#include "test_stack.hpp"

#include <asio/error.hpp>
#include <doctest/doctest.h>

#include <random>

using namespace tunstack::testing;

namespace {

// After each bad packet, a good ping must still be answered.
void check_still_answers(test_stack& t) {
  const auto reply = t.exchange(echo_request({.sequence = 99}));
  REQUIRE(reply.has_value());
  CHECK(icmp_echo_view{ipv4_view{*reply}.payload()}.sequence() == 99);
}

}  // namespace

TEST_CASE("malformed: runts shorter than an IP header are dropped before lwIP") {
  test_stack t;
  SUBCASE("empty") { CHECK_FALSE(t.exchange({}).has_value()); }
  SUBCASE("10 bytes of an IPv4 header") {
    bytes truncated = echo_request();
    truncated.resize(10);
    CHECK_FALSE(t.exchange(truncated).has_value());
  }
  SUBCASE("IPv6 version with 30 bytes") {
    bytes b(30);
    b[0] = std::byte{0x60};
    CHECK_FALSE(t.exchange(b).has_value());
  }
  CHECK(t.link_stats().link.rx_dropped_runt == 1);
  CHECK(t.link_stats().link.rx_packets == 0);
  check_still_answers(t);
}

TEST_CASE("malformed: a bad IPv4 header checksum is dropped and counted") {
  test_stack t;
  const bytes good = echo_request();
  const std::uint16_t wrong = static_cast<std::uint16_t>(get16(good, ipv4_offset::checksum) ^ 0x0101);
  CHECK_FALSE(t.exchange(echo_request({}, {.checksum = wrong})).has_value());
  const auto s = t.st.stats();
  CHECK(s.ip4.chkerr == 1);
  CHECK(s.ip4.drop == 1);
  check_still_answers(t);
}

TEST_CASE("malformed: a bad ICMP checksum is dropped and counted") {
  test_stack t;
  CHECK_FALSE(t.exchange(echo_request({.checksum = 0xbeef})).has_value());
  CHECK(t.st.stats().icmp4.chkerr == 1);
  check_still_answers(t);
}

TEST_CASE("malformed: IP version 5 is dropped and counted") {
  test_stack t;
  CHECK_FALSE(t.exchange(echo_request({}, {.version = 5})).has_value());
  const auto s = t.st.stats();
  CHECK(s.ip4.err == 1);
  CHECK(s.ip4.drop == 1);
  check_still_answers(t);
}

TEST_CASE("malformed: length fields that lie are dropped and counted") {
  test_stack t;
  SUBCASE("total length longer than the packet") {
    CHECK_FALSE(t.exchange(echo_request({}, {.total_length = 200})).has_value());
    CHECK(t.st.stats().ip4.lenerr == 1);
  }
  SUBCASE("header length below the 20-byte minimum") {
    CHECK_FALSE(t.exchange(echo_request({}, {.ihl = 4})).has_value());
    CHECK(t.st.stats().ip4.lenerr == 1);
  }
  SUBCASE("header length beyond the packet") {
    bytes b = echo_request({}, {.ihl = 15});
    b.resize(40);
    CHECK_FALSE(t.exchange(b).has_value());
    CHECK(t.st.stats().ip4.lenerr == 1);
  }
  SUBCASE("total length shorter than the ICMP header") {
    CHECK_FALSE(t.exchange(echo_request({}, {.total_length = 24})).has_value());
    CHECK(t.st.stats().icmp4.lenerr == 1);
  }
  SUBCASE("total length shorter than the IP header") {
    CHECK_FALSE(t.exchange(echo_request({}, {.total_length = 12})).has_value());
    const auto s = t.st.stats();
    CHECK(s.ip4.drop + s.icmp4.drop + s.ip4.lenerr + s.icmp4.lenerr >= 1);
  }
  check_still_answers(t);
}

TEST_CASE("malformed: a packet larger than the MTU is dropped and counted") {
  test_stack t;
  bytes big = echo_request({.data = bytes(1500)});
  CHECK(big.size() > 1500);
  CHECK_FALSE(t.exchange(big).has_value());
  CHECK(t.link_stats().link.rx_dropped_oversize == 1);
  check_still_answers(t);
}

TEST_CASE("malformed: 5000 random packets are survived and the stack still answers") {
  test_stack t;
  std::mt19937 rng{20261126};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<std::size_t> length{0, 200};
  for (int i = 0; i < 5000; ++i) {
    bytes b(length(rng));
    for (auto& x : b) x = static_cast<std::byte>(byte(rng));
    // Half of them look like IPv4 or IPv6 so lwIP's parsers, not only our runt check, see them.
    if (!b.empty() && i % 2 == 0) b[0] = static_cast<std::byte>((i % 4 == 0 ? 0x45 : 0x60));
    t.wire.inject(b);
  }
  t.run();
  while (t.wire.take()) {
  }
  const auto s = t.link_stats();
  CHECK(s.link.rx_packets + s.link.rx_dropped_runt + s.link.rx_dropped_oversize == 5000);
  check_still_answers(t);
}
