// SPDX-License-Identifier: BSD-3-Clause
// icmp_echo_test.cpp - the stack answers ICMP echo (ping) with exactly the bytes RFC 792 asks
// for: addresses swapped, type 0, identifier, sequence number and data echoed, valid IP and
// ICMP checksums. The test plays the kernel side on an in-memory link.
#include "packet.hpp"
#include "tcp_peer.hpp"
#include "test_stack.hpp"

#include <doctest/doctest.h>

using namespace tunstack::testing;

TEST_CASE("icmp: echo request gets an echo reply with exactly the expected bytes") {
  test_stack t;
  const icmp_echo_fields request{.id = 0x1a2b, .sequence = 3};
  const ipv4_fields ip{.id = 0x5c71};

  const auto reply = t.exchange(echo_request(request, ip));
  REQUIRE(reply.has_value());

  // The reply lwIP builds: the request's IP header with source and destination swapped, TTL
  // set to lwIP's ICMP_TTL (255), a new header checksum; ICMP type 0, the rest unchanged.
  icmp_echo_fields expected_icmp = request;
  expected_icmp.type = 0;
  ipv4_fields expected_ip = ip;
  expected_ip.src = ip.dst;
  expected_ip.dst = ip.src;
  expected_ip.ttl = 255;
  const bytes expected = build_ipv4(expected_ip, build_icmp_echo(expected_icmp));
  CHECK_MESSAGE(*reply == expected, "got:\n" << hex(*reply) << "\nexpected:\n" << hex(expected));

  // The same facts, checked field by field (and independently of the builder's checksums).
  const ipv4_view v{*reply};
  REQUIRE(v.valid());
  CHECK(v.header_checksum_ok());
  CHECK(v.src().to_string() == "10.0.3.50");
  CHECK(v.dst().to_string() == "10.0.3.1");
  const icmp_echo_view e{v.payload()};
  REQUIRE(e.valid());
  CHECK(e.type() == 0);
  CHECK(e.code() == 0);
  CHECK(e.id() == 0x1a2b);
  CHECK(e.sequence() == 3);
  CHECK(e.checksum_ok());
  CHECK(bytes(e.data().begin(), e.data().end()) == icmp_echo_fields::default_data());

  CHECK(t.wire.pending_sent() == 0);  // one request, one reply
  const auto s = t.st.stats();
  CHECK(s.icmp4.recv == 1);
  CHECK(s.icmp4.xmit == 1);
  CHECK(s.interfaces.at(0).link.rx_packets == 1);
  CHECK(s.interfaces.at(0).link.tx_packets == 1);
  CHECK(s.interfaces.at(0).link.tx_bytes == expected.size());
}

TEST_CASE("icmp: echo data of odd length and of 1472 bytes is echoed intact") {
  test_stack t;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{57}, std::size_t{1472}}) {
    CAPTURE(size);
    bytes data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
    const auto reply = t.exchange(echo_request({.sequence = static_cast<std::uint16_t>(size), .data = data}));
    REQUIRE(reply.has_value());
    const ipv4_view v{*reply};
    REQUIRE(v.valid());
    const icmp_echo_view e{v.payload()};
    REQUIRE(e.valid());
    CHECK(e.checksum_ok());
    CHECK(bytes(e.data().begin(), e.data().end()) == data);
  }
}

TEST_CASE("icmp: trailing bytes beyond the IP total length are ignored") {
  // Link padding after the datagram is not part of it (RFC 791: Total Length is authoritative).
  test_stack t;
  bytes padded = echo_request();
  const bytes clean_reply = *t.exchange(padded);
  padded.insert(padded.end(), 6, std::byte{0xee});
  const auto reply = t.exchange(padded);
  REQUIRE(reply.has_value());
  CHECK(*reply == clean_reply);
}

TEST_CASE("icmp: many requests in one burst are all answered, in order, over several batches") {
  tunstack::stack_options options = test_stack::manual_clock();
  options.rx_batch = 8;
  test_stack t{"10.0.3.50/24", options};
  for (std::uint16_t seq = 1; seq <= 50; ++seq) t.wire.inject(echo_request({.sequence = seq}));
  t.run();
  for (std::uint16_t seq = 1; seq <= 50; ++seq) {
    const auto reply = t.wire.take();
    REQUIRE(reply.has_value());
    CHECK(icmp_echo_view{ipv4_view{*reply}.payload()}.sequence() == seq);
  }
  CHECK_FALSE(t.wire.take().has_value());
  CHECK(t.link_stats().link.rx_batches >= 50 / 8);
}

TEST_CASE("icmp: a request for another address is not answered") {
  test_stack t;
  CHECK_FALSE(t.exchange(echo_request({}, {.dst = asio::ip::make_address_v4("10.0.3.51")})).has_value());
  CHECK(t.st.stats().icmp4.xmit == 0);
}

TEST_CASE("icmpv6: echo request gets an echo reply with the same identifier sequence and data") {
  test_stack t;
  const auto kernel = asio::ip::make_address_v6("fd00:3::1");
  const auto stack = asio::ip::make_address_v6("fd00:3::50");
  const icmp_echo_fields request{.type = 128, .id = 0x77, .sequence = 9};
  const auto reply = t.exchange(build_ipv6({.src = kernel, .dst = stack}, build_icmp6_echo(request, kernel, stack)));
  REQUIRE(reply.has_value());
  // Expected: the same echo, type 129, from the stack's address, checksum over the pseudo-header.
  icmp_echo_fields expected_icmp = request;
  expected_icmp.type = 129;
  const auto p = parse_ip(*reply);
  REQUIRE(p.has_value());
  CHECK(p->protocol == 58);
  CHECK(p->src == asio::ip::address{stack});
  CHECK(p->dst == asio::ip::address{kernel});
  const bytes expected = build_icmp6_echo(expected_icmp, stack, kernel);
  const bytes got(p->payload().begin(), p->payload().end());
  CHECK_MESSAGE(got == expected, "got:\n" << hex(got) << "\nexpected:\n" << hex(expected));
  CHECK(t.st.stats().icmp6.xmit >= 1);
}
