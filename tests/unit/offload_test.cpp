// SPDX-License-Identifier: BSD-3-Clause
// offload_test.cpp - the stack over a link that offloads as TUN does with IFF_VNET_HDR and TSO
// (memory_link::enable_offloads): TCP super-packets in, taken as one segment when the kernel
// vouches for their checksum; TCP data out as super-packets that, cut the way the kernel cuts
// them, are exactly the segments lwIP would have sent, with partial checksums that finish right.
#include "outcome.hpp"
#include "tcp_peer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace tunstack::testing;
using tunstack::netif::packet_offload;

namespace {

bytes pattern(std::size_t n, unsigned seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 131 + seed) % 251);
  return b;
}

// What the kernel does with a super-packet the stack sent: pieces of segment_size data bytes,
// each with the super-packet's headers, its own sequence number and lengths, PSH only on the
// last, and finished checksums (IPv4 here).
std::vector<ip_packet> cut(const ip_packet& super) {
  const std::size_t headers = super.offload.header_length;
  const std::size_t tcp_at = super.payload_offset;
  REQUIRE(headers == tcp_at + super.tcp().header_length());
  const std::size_t size = super.offload.segment_size;
  const auto data = std::span<const std::byte>(super.data).subspan(headers);
  std::vector<ip_packet> pieces;
  for (std::size_t off = 0; off < data.size(); off += size) {
    const std::size_t n = std::min(size, data.size() - off);
    bytes b(super.data.begin(), super.data.begin() + static_cast<std::ptrdiff_t>(headers));
    b.insert(b.end(), data.begin() + static_cast<std::ptrdiff_t>(off), data.begin() + static_cast<std::ptrdiff_t>(off + n));
    put16(b, 2, static_cast<std::uint16_t>(b.size()));
    put16(b, 10, 0);
    put16(b, 10, internet_checksum(std::span<const std::byte>(b).first(20)));
    put32(b, tcp_at + 4, super.tcp().seq() + static_cast<std::uint32_t>(off));
    if (off + n < data.size()) b[tcp_at + 13] &= static_cast<std::byte>(~tcp_flag::psh);
    put16(b, tcp_at + 16, 0);
    put16(b, tcp_at + 16, internet_checksum(std::span<const std::byte>(b).subspan(tcp_at),
                                            pseudo_header_sum(super.src, super.dst, 6, b.size() - tcp_at)));
    auto piece = parse_ip(std::move(b));
    REQUIRE(piece.has_value());
    pieces.push_back(std::move(*piece));
  }
  return pieces;
}

}  // namespace

TEST_CASE("offload: a super-packet whose checksum the kernel vouches for is taken as one segment") {
  test_stack t{"10.0.3.50/24", test_stack::manual_clock(), true};
  accepted_connection c{t};
  const bytes data = pattern(20000, 1);
  std::vector<char> got(data.size());
  std::size_t total = 0;
  const auto before = t.st.stats().tcp;

  // The field holds what the kernel leaves there (a partial sum), not a valid checksum.
  t.wire.inject(c.peer.super_packet(data, 0x1234), packet_offload{.checksum_trusted = true, .segment_size = 1460});
  t.run();
  c.peer.snd_nxt += static_cast<std::uint32_t>(data.size());
  // Fourteen segments' worth: acknowledged at once, not after the delayed-ACK timer (a
  // receiver ACKs at least every second full-sized segment), before anything was read.
  const auto ack = c.peer.receive();
  REQUIRE(ack.has_value());
  CHECK(ack->tcp().ack() == c.peer.snd_nxt);
  while (total < data.size()) {
    outcome read;
    c.socket->async_read_some(asio::buffer(got.data() + total, got.size() - total), read.handler());
    t.run();
    REQUIRE(read.done);
    REQUIRE_FALSE(read.ec);
    total += read.n;
  }
  CHECK(std::equal(data.begin(), data.end(), reinterpret_cast<const std::byte*>(got.data())));
  CHECK(t.st.stats().tcp.chkerr == before.chkerr);

  // Without the kernel's word the checksum is checked: the same bytes are dropped and counted.
  const bytes more = pattern(3000, 2);
  t.wire.inject(c.peer.super_packet(more, 0x1234), packet_offload{.segment_size = 1460});
  t.run();
  CHECK(t.st.stats().tcp.chkerr == before.chkerr + 1);
  outcome read;
  c.socket->async_read_some(asio::buffer(got), read.handler());
  t.run();
  CHECK_FALSE(read.done);
  c.socket->close();
  t.run();
}

TEST_CASE("offload: data leaves as super-packets that the kernel cuts into lwIP's own segments") {
  test_stack t{"10.0.3.50/24", test_stack::manual_clock(), true};
  accepted_connection c{t};
  const bytes data = pattern(60000, 3);
  std::size_t written = 0;
  std::function<void()> write_more = [&] {
    c.socket->async_write_some(asio::buffer(data.data() + written, data.size() - written),
                               [&](std::error_code ec, std::size_t n) {
                                 REQUIRE_FALSE(ec);
                                 written += n;
                                 if (written < data.size()) write_more();
                               });
  };
  write_more();

  bytes received;
  std::size_t super_packets = 0, largest = 0, partial = 0;
  std::optional<std::uint32_t> next_seq;
  for (int round = 0; round < 200 && received.size() < data.size(); ++round) {
    t.run();
    for (auto& p : c.peer.receive_all()) {  // receive() finished each partial checksum
      CHECK(p.tcp().checksum_ok(p.src, p.dst));
      if (p.offload.checksum_partial) ++partial;
      std::vector<ip_packet> pieces;
      if (p.offload.segment_size != 0) {
        ++super_packets;
        largest = std::max(largest, p.tcp().payload().size());
        CHECK(p.offload.segment_size == 1460);  // the MSS the peer announced
        CHECK(ipv4_view{p.data}.header_checksum_ok());
        pieces = cut(p);
      } else {
        pieces.push_back(p);
      }
      for (const auto& piece : pieces) {
        CHECK(piece.tcp().checksum_ok(piece.src, piece.dst));
        CHECK(piece.tcp().payload().size() <= 1460);
        if (next_seq) REQUIRE(piece.tcp().seq() == *next_seq);  // in order, nothing twice
        next_seq = piece.tcp().seq() + static_cast<std::uint32_t>(piece.tcp().payload().size());
        const auto payload = piece.tcp().payload();
        received.insert(received.end(), payload.begin(), payload.end());
      }
    }
    c.peer.ack();
  }
  CHECK(super_packets > 0);
  CHECK(largest > 1460);
  CHECK(partial > 0);  // ordinary segments leave with partial checksums too
  REQUIRE(received.size() == data.size());
  CHECK(received == data);
  c.socket->close();
  t.run();
}

TEST_CASE("offload: a link destroyed while segments wait to be joined is not used again") {
  asio::io_context io;
  tunstack::stack st{io, test_stack::manual_clock()};
  std::optional<tunstack::netif::memory_link> wire{std::in_place, io.get_executor()};
  wire->enable_offloads();
  st.add_interface(*wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
  const auto kernel = asio::ip::make_address_v4("10.0.3.1");
  const auto stack = asio::ip::make_address_v4("10.0.3.50");

  tunstack::tcp::socket s{st};
  std::optional<std::error_code> connected;
  s.async_connect({kernel, 8080}, [&](std::error_code ec) { connected = ec; });
  io.poll();
  auto syn = wire->take();
  REQUIRE(syn.has_value());
  const auto p = parse_ip(std::move(*syn));
  REQUIRE(p.has_value());
  const bytes synack = build_tcp({.src_port = 8080, .dst_port = p->tcp().src_port(), .seq = 5000,
                                  .ack = p->tcp().seq() + 1, .flags = tcp_flag::syn | tcp_flag::ack,
                                  .options = {.mss = 1460}},
                                 kernel, stack);
  wire->inject(build_ipv4({.protocol = 6, .src = kernel, .dst = stack}, synack));
  io.restart();
  io.poll();
  REQUIRE(connected == std::error_code{});
  while (wire->take()) {
  }

  // lwIP sends the write's segments (counted in its statistics), which wait to be joined until
  // a handler posted for them runs; the link goes before that.
  const std::string data(4000, 'x');
  const auto sent_before = st.stats().tcp.xmit;
  s.async_write_some(asio::buffer(data), [](std::error_code, std::size_t) {});
  io.restart();
  for (int i = 0; i < 10 && st.stats().tcp.xmit == sent_before; ++i) io.poll_one();
  REQUIRE(st.stats().tcp.xmit > sent_before);
  REQUIRE(wire->pending_sent() == 0);  // held, not on the link yet
  wire.reset();
  io.restart();
  io.poll();  // under ASan a use of the destroyed link fails here
  CHECK_FALSE(st.stats().interfaces.at(0).up);
  s.close();
}
