// SPDX-License-Identifier: BSD-3-Clause
// tcp_peer.hpp - the test plays the remote TCP peer (the "kernel side") against a real lwIP
// stack on an in-memory link: it sends crafted segments and reads back exactly what the stack
// sends, tracking sequence numbers the way a peer would.
#ifndef TUNSTACK_TESTS_SUPPORT_TCP_PEER_HPP
#define TUNSTACK_TESTS_SUPPORT_TCP_PEER_HPP

#include "packet.hpp"
#include "test_stack.hpp"

#include "tunstack/tcp.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace tunstack::testing {

/// A packet the stack sent, with its IP header decoded.
struct ip_packet {
  bytes data;
  asio::ip::address src, dst;
  std::uint8_t protocol = 0;
  std::size_t payload_offset = 0;
  /// What the stack asked the link to do with it (all zero unless the link offloads).
  tunstack::netif::packet_offload offload;

  std::span<const std::byte> payload() const { return std::span(data).subspan(payload_offset); }
  tcp_view tcp() const { return tcp_view{payload()}; }
  std::string payload_text() const {
    auto p = tcp().payload();
    return std::string(reinterpret_cast<const char*>(p.data()), p.size());
  }
};

/// Does what the kernel does with a partial TCP checksum (the field holds the pseudo-header
/// sum): the Internet checksum of the TCP bytes as they are goes into the field.
inline void finish_tcp_checksum(ip_packet& p) {
  const std::size_t field = p.payload_offset + 16;
  REQUIRE(p.data.size() >= field + 2);
  put16(p.data, field, internet_checksum(p.payload()));
}

/// Decodes an IPv4 or IPv6 packet (no IPv6 extension headers).
inline std::optional<ip_packet> parse_ip(bytes data) {
  ip_packet p;
  if (data.empty()) return std::nullopt;
  const unsigned version = static_cast<unsigned>(data[0]) >> 4;
  if (version == 4) {
    const ipv4_view v{data};
    if (!v.valid()) return std::nullopt;
    p.src = v.src();
    p.dst = v.dst();
    p.protocol = v.protocol();
    p.payload_offset = v.header_length();
    data.resize(v.total_length());
  } else if (version == 6) {
    if (data.size() < 40) return std::nullopt;
    asio::ip::address_v6::bytes_type s{}, d{};
    for (std::size_t i = 0; i < 16; ++i) {
      s[i] = static_cast<unsigned char>(data[8 + i]);
      d[i] = static_cast<unsigned char>(data[24 + i]);
    }
    p.src = asio::ip::address_v6{s};
    p.dst = asio::ip::address_v6{d};
    p.protocol = static_cast<std::uint8_t>(data[6]);
    p.payload_offset = 40;
  } else {
    return std::nullopt;
  }
  p.data = std::move(data);
  return p;
}

/// The remote end of one TCP connection with the stack.
class tcp_peer {
 public:
  /// @param stack_port the stack's port; @param v6 use the stack's IPv6 address.
  tcp_peer(test_stack& t, std::uint16_t stack_port, bool v6 = false, std::uint16_t peer_port = 40000)
      : t_(t),
        me_(v6 ? asio::ip::address{asio::ip::make_address_v6("fd00:3::1")} : asio::ip::address{asio::ip::make_address_v4("10.0.3.1")}),
        stack_(v6 ? asio::ip::address{asio::ip::make_address_v6("fd00:3::50")} : asio::ip::address{asio::ip::make_address_v4("10.0.3.50")}),
        port_(peer_port),
        stack_port_(stack_port) {}

  static constexpr std::uint32_t initial_seq = 1000;
  std::uint32_t snd_nxt = initial_seq;  ///< our next sequence number
  std::uint32_t rcv_nxt = 0;            ///< the next sequence number we expect from the stack
  std::uint16_t window = 65535;         ///< the window we advertise (unscaled)

  const asio::ip::address& address() const { return me_; }
  const asio::ip::address& stack_address() const { return stack_; }
  std::uint16_t port() const { return port_; }

  /// Sends one segment from the peer; seq/ack default to the peer's current numbers.
  void send(tcp_fields f) {
    f.src_port = port_;
    f.dst_port = stack_port_;
    const bytes segment = build_tcp(f, me_, stack_);
    if (me_.is_v4()) {
      t_.wire.inject(build_ipv4({.protocol = 6, .src = me_.to_v4(), .dst = stack_.to_v4()}, segment));
    } else {
      t_.wire.inject(build_ipv6({.next_header = 6, .src = me_.to_v6(), .dst = stack_.to_v6()}, segment));
    }
    t_.run();
  }

  /// Sends a SYN and returns the stack's SYN-ACK (the peer's numbers advance past both SYNs).
  std::optional<ip_packet> syn(tcp_options options = {.mss = 1460}) {
    send({.seq = snd_nxt, .ack = 0, .flags = tcp_flag::syn, .window = window, .options = options});
    auto synack = receive();
    if (synack && synack->tcp().has(tcp_flag::syn | tcp_flag::ack)) ++snd_nxt;
    return synack;
  }

  /// The whole three-way handshake with a listener on the stack.
  void establish(tcp_options options = {.mss = 1460}) {
    auto synack = syn(options);
    REQUIRE(synack.has_value());
    REQUIRE(synack->tcp().has(tcp_flag::syn | tcp_flag::ack));
    REQUIRE(synack->tcp().ack() == snd_nxt);
    ack();
  }

  /// Answers a SYN the stack sent (an active open from the stack): SYN-ACK, then the stack ACKs.
  void accept_syn(const ip_packet& syn, tcp_options options = {.mss = 1460}) {
    REQUIRE(syn.tcp().has(tcp_flag::syn));
    stack_port_ = syn.tcp().src_port();
    rcv_nxt = syn.tcp().seq() + 1;
    send({.seq = snd_nxt, .ack = rcv_nxt, .flags = tcp_flag::syn | tcp_flag::ack, .window = window, .options = options});
    ++snd_nxt;
  }

  /// Refuses a SYN the stack sent, as a closed port does: RST|ACK (RFC 9293 3.10.7.1).
  void refuse_syn(const ip_packet& syn) {
    REQUIRE(syn.tcp().has(tcp_flag::syn));
    stack_port_ = syn.tcp().src_port();
    send({.seq = 0, .ack = syn.tcp().seq() + 1, .flags = tcp_flag::rst | tcp_flag::ack, .window = 0});
  }

  void ack() { send({.seq = snd_nxt, .ack = rcv_nxt, .flags = tcp_flag::ack, .window = window}); }

  /// A data segment from the peer as the kernel hands it over with offloads (not sent; snd_nxt
  /// stays): one IP packet with many segments' worth of @p data (a super-packet), its TCP
  /// checksum field set to @p checksum instead of a computed one (the kernel leaves the
  /// pseudo-header sum there). Inject it with the packet_offload to go with it.
  bytes super_packet(const bytes& data, std::uint16_t checksum) const {
    const bytes segment = build_tcp({.src_port = port_, .dst_port = stack_port_, .seq = snd_nxt, .ack = rcv_nxt,
                                     .flags = tcp_flag::ack | tcp_flag::psh, .window = window,
                                     .payload = data, .checksum = checksum},
                                    me_, stack_);
    if (me_.is_v4()) return build_ipv4({.protocol = 6, .src = me_.to_v4(), .dst = stack_.to_v4()}, segment);
    return build_ipv6({.next_header = 6, .src = me_.to_v6(), .dst = stack_.to_v6()}, segment);
  }

  /// Sends data (with ACK and PSH) and advances snd_nxt.
  void send_data(const bytes& payload) {
    send({.seq = snd_nxt, .ack = rcv_nxt, .flags = tcp_flag::ack | tcp_flag::psh, .window = window, .payload = payload});
    snd_nxt += static_cast<std::uint32_t>(payload.size());
  }

  void fin() {
    send({.seq = snd_nxt, .ack = rcv_nxt, .flags = tcp_flag::fin | tcp_flag::ack, .window = window});
    ++snd_nxt;
  }

  void rst() { send({.seq = snd_nxt, .ack = rcv_nxt, .flags = tcp_flag::rst | tcp_flag::ack, .window = 0}); }

  /// The next TCP segment the stack sent on this connection, if any. Advances rcv_nxt past its
  /// data, SYN and FIN (as a peer that accepts everything in order). A partial checksum (link
  /// offloads) is finished first, as the kernel would; a super-packet counts as one segment.
  std::optional<ip_packet> receive() {
    while (auto sent = t_.wire.take_offloaded()) {
      auto p = parse_ip(std::move(sent->bytes));
      if (!p || p->protocol != 6) continue;
      p->offload = sent->offload;
      if (p->offload.checksum_partial || p->offload.segment_size != 0) finish_tcp_checksum(*p);
      const tcp_view s = p->tcp();
      REQUIRE(s.valid());
      CHECK(s.checksum_ok(p->src, p->dst));
      if (s.dst_port() != port_) continue;
      const auto length = static_cast<std::uint32_t>(s.payload().size());
      const std::uint32_t end = s.seq() + length + (s.has(tcp_flag::syn) ? 1 : 0) + (s.has(tcp_flag::fin) ? 1 : 0);
      if (s.has(tcp_flag::syn)) {
        rcv_nxt = end;
      } else if (static_cast<std::int32_t>(end - rcv_nxt) > 0) {
        rcv_nxt = end;
      }
      return p;
    }
    return std::nullopt;
  }

  /// Every segment the stack sent so far.
  std::vector<ip_packet> receive_all() {
    std::vector<ip_packet> all;
    while (auto p = receive()) all.push_back(std::move(*p));
    return all;
  }

  /// All the data in the segments the stack sent so far, concatenated.
  std::string receive_text() {
    std::string s;
    for (const auto& p : receive_all()) s += p.payload_text();
    return s;
  }

 private:
  test_stack& t_;
  asio::ip::address me_, stack_;
  std::uint16_t port_;
  std::uint16_t stack_port_;
};

/// A listener on port 7 of the stack and one connection from a tcp_peer, accepted.
struct accepted_connection {
  test_stack& t;
  tunstack::tcp::acceptor acceptor;
  tcp_peer peer;
  std::optional<tunstack::tcp::socket> socket;

  explicit accepted_connection(test_stack& ts, tcp_options syn_options = {.mss = 1460})
      : t(ts), acceptor(ts.st, {tunstack::tcp::v4(), 7}), peer(ts, 7) {
    acceptor.async_accept([this](std::error_code ec, tunstack::tcp::socket s) {
      REQUIRE_FALSE(ec);
      socket.emplace(std::move(s));
    });
    t.run();
    peer.establish(syn_options);
    REQUIRE(socket.has_value());
  }
};

}  // namespace tunstack::testing

#endif  // TUNSTACK_TESTS_SUPPORT_TCP_PEER_HPP
