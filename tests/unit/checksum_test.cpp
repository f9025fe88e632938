// SPDX-License-Identifier: BSD-3-Clause
// checksum_test.cpp - the test support's packet code against published examples, so that the
// stack's tests compare lwIP's bytes with a builder that is itself known to be right.
#include "packet.hpp"

#include <doctest/doctest.h>

using namespace tunstack::testing;

TEST_CASE("support: internet checksum matches RFC 1071's worked example") {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is ~0xddf2.
  CHECK(internet_checksum(to_bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7})) == 0x220d);
}

TEST_CASE("support: internet checksum of a real IPv4 header is 0xb861") {
  // A header from an IPv4/UDP packet (192.168.0.1 -> 192.168.0.199) with its checksum zeroed.
  const bytes header = to_bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  CHECK(internet_checksum(header) == 0xb861);
}

TEST_CASE("support: odd-length data is padded with a zero byte") {
  CHECK(internet_checksum(to_bytes({0x12})) == static_cast<std::uint16_t>(~0x1200 & 0xffff));
}

TEST_CASE("support: built echo request decodes to the same fields") {
  const bytes packet = echo_request({.id = 0x1234, .sequence = 7});
  const ipv4_view ip{packet};
  REQUIRE(ip.valid());
  CHECK(ip.header_checksum_ok());
  CHECK(ip.total_length() == 84);
  CHECK(ip.src().to_string() == "10.0.3.1");
  CHECK(ip.dst().to_string() == "10.0.3.50");
  const icmp_echo_view icmp{ip.payload()};
  REQUIRE(icmp.valid());
  CHECK(icmp.type() == 8);
  CHECK(icmp.id() == 0x1234);
  CHECK(icmp.sequence() == 7);
  CHECK(icmp.checksum_ok());
  CHECK(icmp.data().size() == 56);
}
