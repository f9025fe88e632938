// SPDX-License-Identifier: BSD-3-Clause
// udp_test.cpp - tunstack::udp::socket against datagrams crafted by the test: round trips over
// IPv4 and IPv6, truncation reported as message_size, connect's peer filter, the bounded
// receive queue, and sends that cannot go anywhere.
#include "outcome.hpp"
#include "packet.hpp"
#include "tcp_peer.hpp"
#include "test_stack.hpp"

#include "tunstack/udp.hpp"

#include <asio/error.hpp>
#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace tunstack::testing;
using tunstack::udp;

namespace {

const auto kernel_v4 = asio::ip::make_address_v4("10.0.3.1");
const auto stack_v4 = asio::ip::make_address_v4("10.0.3.50");
const auto kernel_v6 = asio::ip::make_address_v6("fd00:3::1");
const auto stack_v6 = asio::ip::make_address_v6("fd00:3::50");

// Injects a datagram from the kernel side to the stack's @p to_port.
void inject_datagram(test_stack& t, const bytes& payload, std::uint16_t to_port, bool v6,
                     std::uint16_t from_port = 40000) {
  const udp_fields f{.src_port = from_port, .dst_port = to_port, .payload = payload};
  if (v6) {
    t.wire.inject(build_ipv6({.next_header = 17, .src = kernel_v6, .dst = stack_v6}, build_udp(f, kernel_v6, stack_v6)));
  } else {
    t.wire.inject(build_ipv4({.protocol = 17, .src = kernel_v4, .dst = stack_v4}, build_udp(f, kernel_v4, stack_v4)));
  }
  t.run();
}

void round_trip(bool v6) {
  test_stack t;
  udp::socket s{t.st, {v6 ? udp::v6() : udp::v4(), 7}};
  char buffer[64];
  udp::endpoint sender;
  outcome receive;
  s.async_receive_from(asio::buffer(buffer), sender, receive.handler());
  t.run();
  CHECK_FALSE(receive.done);

  inject_datagram(t, text("ping?"), 7, v6, 40123);
  REQUIRE(receive.done);
  CHECK_FALSE(receive.ec);
  CHECK(std::string(buffer, receive.n) == "ping?");
  CHECK(sender == udp::endpoint(v6 ? asio::ip::address{kernel_v6} : asio::ip::address{kernel_v4}, 40123));

  outcome send;
  s.async_send_to(asio::buffer(std::string("pong!")), sender, send.handler());
  t.run();
  REQUIRE(send.done);
  CHECK_FALSE(send.ec);
  CHECK(send.n == 5);
  const auto out = t.wire.take();
  REQUIRE(out.has_value());
  const auto p = parse_ip(*out);
  REQUIRE(p.has_value());
  CHECK(p->protocol == 17);
  CHECK(p->src == (v6 ? asio::ip::address{stack_v6} : asio::ip::address{stack_v4}));
  CHECK(p->dst == sender.address());
  const auto datagram = p->payload();
  REQUIRE(datagram.size() == 8 + 5);
  CHECK(get16(datagram, 0) == 7);
  CHECK(get16(datagram, 2) == 40123);
  CHECK(internet_checksum(datagram, pseudo_header_sum(p->src, p->dst, 17, datagram.size())) == 0);
  CHECK(std::string(reinterpret_cast<const char*>(datagram.data()) + 8, 5) == "pong!");
}

}  // namespace

TEST_CASE("udp: a datagram round trip over IPv4") { round_trip(false); }

TEST_CASE("udp: a datagram round trip over IPv6") { round_trip(true); }

TEST_CASE("udp: a datagram larger than the buffer is truncated and reported as message_size") {
  test_stack t;
  udp::socket s{t.st, {udp::v4(), 7}};
  inject_datagram(t, text("0123456789"), 7, false);
  char small[4];
  udp::endpoint sender;
  outcome receive;
  s.async_receive_from(asio::buffer(small), sender, receive.handler());
  t.run();
  REQUIRE(receive.done);
  CHECK(receive.ec == asio::error::message_size);
  CHECK(receive.n == 4);
  CHECK(std::string(small, 4) == "0123");
  // The rest of that datagram is gone: the next receive gets the next datagram.
  inject_datagram(t, text("next"), 7, false);
  char buffer[16];
  outcome next;
  s.async_receive_from(asio::buffer(buffer), sender, next.handler());
  t.run();
  CHECK(std::string(buffer, next.n) == "next");
}

TEST_CASE("udp: a connected socket sends without an endpoint and hears only its peer") {
  test_stack t;
  udp::socket s{t.st, {udp::v4(), 5353}};
  s.connect({kernel_v4, 53});
  inject_datagram(t, text("stranger"), 5353, false, 9999);
  inject_datagram(t, text("friend"), 5353, false, 53);
  char buffer[16];
  outcome receive;
  s.async_receive(asio::buffer(buffer), receive.handler());
  t.run();
  REQUIRE(receive.done);
  CHECK(std::string(buffer, receive.n) == "friend");
  outcome send;
  s.async_send(asio::buffer(std::string("query")), send.handler());
  t.run();
  CHECK_FALSE(send.ec);
  // The stranger got what a closed port answers (ICMP port unreachable); then our datagram.
  const auto unreachable = parse_ip(*t.wire.take());
  REQUIRE(unreachable.has_value());
  CHECK(unreachable->protocol == 1);
  CHECK(static_cast<int>(unreachable->payload()[0]) == 3);  // destination unreachable
  CHECK(static_cast<int>(unreachable->payload()[1]) == 3);  // port unreachable
  const auto p = parse_ip(*t.wire.take());
  REQUIRE(p.has_value());
  CHECK(p->protocol == 17);
  CHECK(get16(p->payload(), 2) == 53);
}

TEST_CASE("udp: datagrams nobody receives are queued up to the limit and then dropped and counted") {
  test_stack t;
  udp::socket s{t.st, {udp::v4(), 7}};
  for (int i = 0; i < 600; ++i) inject_datagram(t, text(std::to_string(i)), 7, false);
  CHECK(s.dropped() == 600 - 512);
  char buffer[16];
  udp::endpoint sender;
  outcome first;
  s.async_receive_from(asio::buffer(buffer), sender, first.handler());
  t.run();
  CHECK(std::string(buffer, first.n) == "0");  // the oldest are kept, the newest dropped
}

TEST_CASE("udp: sends that cannot go out fail with a clear error") {
  test_stack t;
  udp::socket s{t.st};
  outcome too_big, unconnected;
  std::vector<char> huge(65508);
  s.async_send_to(asio::buffer(huge), udp::endpoint(kernel_v4, 9), too_big.handler());
  s.async_send(asio::buffer(std::string("x")), unconnected.handler());
  t.run();
  CHECK(too_big.ec == asio::error::message_size);
  CHECK(unconnected.ec == asio::error::not_connected);
  // No interface routes to this address once the only one is removed.
  t.st.remove_interface(t.id);
  outcome unroutable;
  s.async_send_to(asio::buffer(std::string("x")), udp::endpoint(asio::ip::make_address_v4("192.0.2.1"), 9),
                  unroutable.handler());
  t.run();
  CHECK(unroutable.ec == asio::error::network_unreachable);
}

TEST_CASE("udp: close completes a pending receive with operation_aborted") {
  test_stack t;
  udp::socket s{t.st, {udp::v4(), 7}};
  char buffer[16];
  udp::endpoint sender;
  outcome receive;
  s.async_receive_from(asio::buffer(buffer), sender, receive.handler());
  t.run();
  s.close();
  t.run();
  REQUIRE(receive.done);
  CHECK(receive.ec == asio::error::operation_aborted);
  CHECK_FALSE(s.is_open());
}

TEST_CASE("udp: the largest IPv6 payload lwIP can send goes out and one byte more is message_size") {
  test_stack t;
  udp::socket s{t.st, {udp::v6(), 5000}};
  std::vector<char> data(65488);
  outcome too_big, largest;
  s.async_send_to(asio::buffer(data), udp::endpoint(kernel_v6, 9), too_big.handler());
  s.async_send_to(asio::buffer(data.data(), 65487), udp::endpoint(kernel_v6, 9), largest.handler());
  t.run();
  CHECK(too_big.ec == asio::error::message_size);
  CHECK_FALSE(largest.ec);
  CHECK(largest.n == 65487);
}
