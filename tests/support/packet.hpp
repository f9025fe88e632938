// SPDX-License-Identifier: BSD-3-Clause
// packet.hpp - crafting and reading IPv4/ICMP packets in tests, byte by byte.
//
// Builders start from a default template and take a few overrides (the smoltcp/gVisor habit),
// so a test states only what matters to it. Views read fields at fixed offsets with explicit
// big-endian loads, after checking the length; nothing overlays structs on packet bytes.
#ifndef TUNSTACK_TESTS_SUPPORT_PACKET_HPP
#define TUNSTACK_TESTS_SUPPORT_PACKET_HPP

#include <asio/ip/address.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include <algorithm>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tunstack::testing {

using bytes = std::vector<std::byte>;

/// Bytes from small integers: to_bytes({0x45, 0x00}).
inline bytes to_bytes(std::initializer_list<unsigned> values) {
  bytes b;
  for (unsigned v : values) b.push_back(static_cast<std::byte>(v));
  return b;
}

/// The Internet checksum of RFC 1071: the one's complement of the one's complement sum of
/// 16-bit big-endian words (an odd last byte is padded with zero).
inline std::uint16_t internet_checksum(std::span<const std::byte> data, std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
    sum += static_cast<std::uint32_t>(data[i]) << 8 | static_cast<std::uint32_t>(data[i + 1]);
  }
  if (data.size() % 2 != 0) sum += static_cast<std::uint32_t>(data.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

inline void put16(bytes& b, std::size_t offset, std::uint16_t v) {
  b.at(offset) = static_cast<std::byte>(v >> 8);
  b.at(offset + 1) = static_cast<std::byte>(v & 0xff);
}
inline void put32(bytes& b, std::size_t offset, std::uint32_t v) {
  put16(b, offset, static_cast<std::uint16_t>(v >> 16));
  put16(b, offset + 2, static_cast<std::uint16_t>(v & 0xffff));
}
inline std::uint16_t get16(std::span<const std::byte> b, std::size_t offset) {
  return static_cast<std::uint16_t>(static_cast<unsigned>(b[offset]) << 8 | static_cast<unsigned>(b[offset + 1]));
}
inline std::uint32_t get32(std::span<const std::byte> b, std::size_t offset) {
  return static_cast<std::uint32_t>(get16(b, offset)) << 16 | get16(b, offset + 2);
}

/// IPv4 header fields (RFC 791). Unset optional fields are computed by build().
struct ipv4_fields {
  std::uint8_t version = 4;
  std::optional<std::uint8_t> ihl;             ///< header length in 32-bit words; default: computed
  std::uint8_t tos = 0;
  std::optional<std::uint16_t> total_length;   ///< default: header + payload
  std::uint16_t id = 0x1c46;
  std::uint16_t flags_fragment = 0x4000;       ///< DF, offset 0
  std::uint8_t ttl = 64;
  std::uint8_t protocol = 1;                   ///< ICMP
  std::optional<std::uint16_t> checksum;       ///< default: correct
  asio::ip::address_v4 src = asio::ip::make_address_v4("10.0.3.1");
  asio::ip::address_v4 dst = asio::ip::make_address_v4("10.0.3.50");
  bytes options;                               ///< a multiple of 4 bytes
};

/// The IPv4 header field offsets (RFC 791 section 3.1).
namespace ipv4_offset {
constexpr std::size_t version_ihl = 0, tos = 1, total_length = 2, id = 4, flags_fragment = 6,
                      ttl = 8, protocol = 9, checksum = 10, src = 12, dst = 16, options = 20;
}

inline bytes build_ipv4(const ipv4_fields& f, std::span<const std::byte> payload) {
  const std::size_t header = 20 + f.options.size();
  bytes b(header);
  const std::uint8_t ihl = f.ihl.value_or(static_cast<std::uint8_t>(header / 4));
  b[ipv4_offset::version_ihl] = static_cast<std::byte>(f.version << 4 | (ihl & 0x0f));
  b[ipv4_offset::tos] = static_cast<std::byte>(f.tos);
  put16(b, ipv4_offset::total_length, f.total_length.value_or(static_cast<std::uint16_t>(header + payload.size())));
  put16(b, ipv4_offset::id, f.id);
  put16(b, ipv4_offset::flags_fragment, f.flags_fragment);
  b[ipv4_offset::ttl] = static_cast<std::byte>(f.ttl);
  b[ipv4_offset::protocol] = static_cast<std::byte>(f.protocol);
  put32(b, ipv4_offset::src, f.src.to_uint());
  put32(b, ipv4_offset::dst, f.dst.to_uint());
  std::copy(f.options.begin(), f.options.end(), b.begin() + 20);
  put16(b, ipv4_offset::checksum, f.checksum.value_or(internet_checksum(b)));
  b.resize(header + payload.size());
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(header));
  return b;
}

/// ICMP echo request/reply fields (RFC 792).
struct icmp_echo_fields {
  std::uint8_t type = 8;  ///< 8 request, 0 reply
  std::uint8_t code = 0;
  std::uint16_t id = 0x4d2;
  std::uint16_t sequence = 1;
  bytes data = default_data();
  std::optional<std::uint16_t> checksum;  ///< default: correct

  /// 56 bytes, like ping's default payload: 0x00, 0x01, ... 0x37.
  static bytes default_data() {
    bytes d(56);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::byte>(i);
    return d;
  }
};

/// An ICMP echo message; @p checksum_seed is the pseudo-header sum for ICMPv6 (0 for ICMPv4).
inline bytes build_icmp_echo(const icmp_echo_fields& f, std::uint32_t checksum_seed = 0) {
  bytes b(8 + f.data.size());
  b[0] = static_cast<std::byte>(f.type);
  b[1] = static_cast<std::byte>(f.code);
  put16(b, 4, f.id);
  put16(b, 6, f.sequence);
  std::copy(f.data.begin(), f.data.end(), b.begin() + 8);
  put16(b, 2, f.checksum.value_or(internet_checksum(b, checksum_seed)));
  return b;
}

/// An echo request from the kernel side (10.0.3.1) to the stack (10.0.3.50), with overrides.
inline bytes echo_request(const icmp_echo_fields& icmp = {}, const ipv4_fields& ip = {}) {
  return build_ipv4(ip, build_icmp_echo(icmp));
}

/// A read-only view of an IPv4 packet; valid() before any accessor.
class ipv4_view {
 public:
  explicit ipv4_view(std::span<const std::byte> b) : b_(b) {}
  bool valid() const {
    return b_.size() >= 20 && version() == 4 && header_length() >= 20 &&
           header_length() <= b_.size() && total_length() <= b_.size();
  }
  unsigned version() const { return static_cast<unsigned>(b_[0]) >> 4; }
  std::size_t header_length() const { return (static_cast<unsigned>(b_[0]) & 0x0f) * 4U; }
  std::uint16_t total_length() const { return get16(b_, ipv4_offset::total_length); }
  std::uint16_t id() const { return get16(b_, ipv4_offset::id); }
  std::uint8_t ttl() const { return static_cast<std::uint8_t>(b_[ipv4_offset::ttl]); }
  std::uint8_t protocol() const { return static_cast<std::uint8_t>(b_[ipv4_offset::protocol]); }
  asio::ip::address_v4 src() const { return asio::ip::address_v4{get32(b_, ipv4_offset::src)}; }
  asio::ip::address_v4 dst() const { return asio::ip::address_v4{get32(b_, ipv4_offset::dst)}; }
  bool header_checksum_ok() const { return internet_checksum(b_.first(header_length())) == 0; }
  std::span<const std::byte> payload() const {
    return b_.subspan(header_length(), total_length() - header_length());
  }

 private:
  std::span<const std::byte> b_;
};

/// A read-only view of an ICMP echo message; valid() before any accessor.
class icmp_echo_view {
 public:
  explicit icmp_echo_view(std::span<const std::byte> b) : b_(b) {}
  bool valid() const { return b_.size() >= 8; }
  std::uint8_t type() const { return static_cast<std::uint8_t>(b_[0]); }
  std::uint8_t code() const { return static_cast<std::uint8_t>(b_[1]); }
  std::uint16_t id() const { return get16(b_, 4); }
  std::uint16_t sequence() const { return get16(b_, 6); }
  bool checksum_ok() const { return internet_checksum(b_) == 0; }
  std::span<const std::byte> data() const { return b_.subspan(8); }

 private:
  std::span<const std::byte> b_;
};

// ---- IPv6 (RFC 8200) ---------------------------------------------------------------------

struct ipv6_fields {
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
  std::optional<std::uint16_t> payload_length;  ///< default: the payload's size
  std::uint8_t next_header = 58;                ///< ICMPv6
  std::uint8_t hop_limit = 64;
  asio::ip::address_v6 src = asio::ip::make_address_v6("fd00:3::1");
  asio::ip::address_v6 dst = asio::ip::make_address_v6("fd00:3::50");
};

inline bytes build_ipv6(const ipv6_fields& f, std::span<const std::byte> payload) {
  bytes b(40 + payload.size());
  put32(b, 0, 6U << 28 | static_cast<std::uint32_t>(f.traffic_class) << 20 | (f.flow_label & 0xfffff));
  put16(b, 4, f.payload_length.value_or(static_cast<std::uint16_t>(payload.size())));
  b[6] = static_cast<std::byte>(f.next_header);
  b[7] = static_cast<std::byte>(f.hop_limit);
  const auto s = f.src.to_bytes(), d = f.dst.to_bytes();
  for (std::size_t i = 0; i < 16; ++i) {
    b[8 + i] = static_cast<std::byte>(s[i]);
    b[24 + i] = static_cast<std::byte>(d[i]);
  }
  std::copy(payload.begin(), payload.end(), b.begin() + 40);
  return b;
}

/// The sum of a transport pseudo-header (RFC 793 / RFC 8200 8.1), to seed internet_checksum.
inline std::uint32_t pseudo_header_sum(const asio::ip::address& src, const asio::ip::address& dst,
                                       std::uint8_t protocol, std::size_t length) {
  std::uint32_t sum = 0;
  auto add = [&sum](const auto& bytes) {
    for (std::size_t i = 0; i < bytes.size(); i += 2) sum += static_cast<std::uint32_t>(bytes[i]) << 8 | bytes[i + 1];
  };
  if (src.is_v4()) {
    add(src.to_v4().to_bytes());
    add(dst.to_v4().to_bytes());
  } else {
    add(src.to_v6().to_bytes());
    add(dst.to_v6().to_bytes());
  }
  sum += protocol;
  sum += static_cast<std::uint32_t>(length & 0xffff) + static_cast<std::uint32_t>(length >> 16);
  return sum;
}

/// An ICMPv6 echo request (type 128) or reply (129), with its checksum over the pseudo-header.
inline bytes build_icmp6_echo(const icmp_echo_fields& f, const asio::ip::address_v6& src,
                              const asio::ip::address_v6& dst) {
  return build_icmp_echo(f, pseudo_header_sum(src, dst, 58, 8 + f.data.size()));
}

// ---- TCP (RFC 9293) -----------------------------------------------------------------------

namespace tcp_flag {
constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20;
}

/// TCP options as the tests use them; each one that is set is encoded (RFC 9293 3.2, RFC 7323,
/// RFC 2018).
struct tcp_options {
  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;
  bool sack_permitted = false;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;  ///< TSval, TSecr

  bytes encode() const {
    bytes o;
    auto push = [&o](std::initializer_list<unsigned> v) {
      for (unsigned x : v) o.push_back(static_cast<std::byte>(x));
    };
    if (mss) push({2, 4, static_cast<unsigned>(*mss >> 8), static_cast<unsigned>(*mss & 0xff)});
    if (sack_permitted) push({4, 2});
    if (timestamps) {
      push({8, 10});
      for (std::uint32_t v : {timestamps->first, timestamps->second}) {
        push({v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff});
      }
    }
    if (window_scale) push({3, 3, *window_scale});
    while (o.size() % 4 != 0) o.push_back(std::byte{1});  // NOP padding
    return o;
  }
};

struct tcp_fields {
  std::uint16_t src_port = 40000;
  std::uint16_t dst_port = 7;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = tcp_flag::ack;
  std::uint16_t window = 65535;
  tcp_options options;
  bytes payload;
  std::optional<std::uint16_t> checksum;  ///< default: correct
};

/// A TCP segment (header + payload) with its checksum over the pseudo-header for @p src/@p dst.
inline bytes build_tcp(const tcp_fields& f, const asio::ip::address& src, const asio::ip::address& dst) {
  const bytes options = f.options.encode();
  const std::size_t header = 20 + options.size();
  bytes b(header + f.payload.size());
  put16(b, 0, f.src_port);
  put16(b, 2, f.dst_port);
  put32(b, 4, f.seq);
  put32(b, 8, f.ack);
  b[12] = static_cast<std::byte>(header / 4 << 4);
  b[13] = static_cast<std::byte>(f.flags);
  put16(b, 14, f.window);
  std::copy(options.begin(), options.end(), b.begin() + 20);
  std::copy(f.payload.begin(), f.payload.end(), b.begin() + static_cast<std::ptrdiff_t>(header));
  put16(b, 16, f.checksum.value_or(internet_checksum(b, pseudo_header_sum(src, dst, 6, b.size()))));
  return b;
}

/// A read-only view of a TCP segment; valid() before any accessor.
class tcp_view {
 public:
  explicit tcp_view(std::span<const std::byte> b) : b_(b) {}
  bool valid() const { return b_.size() >= 20 && header_length() >= 20 && header_length() <= b_.size(); }
  std::uint16_t src_port() const { return get16(b_, 0); }
  std::uint16_t dst_port() const { return get16(b_, 2); }
  std::uint32_t seq() const { return get32(b_, 4); }
  std::uint32_t ack() const { return get32(b_, 8); }
  std::size_t header_length() const { return (static_cast<unsigned>(b_[12]) >> 4) * 4U; }
  std::uint8_t flags() const { return static_cast<std::uint8_t>(b_[13]); }
  bool has(std::uint8_t flag) const { return (flags() & flag) == flag; }
  std::uint16_t window() const { return get16(b_, 14); }
  std::span<const std::byte> payload() const { return b_.subspan(header_length()); }
  bool checksum_ok(const asio::ip::address& src, const asio::ip::address& dst) const {
    return internet_checksum(b_, pseudo_header_sum(src, dst, 6, b_.size())) == 0;
  }
  /// The options, decoded (kind 0 ends the list, kind 1 is padding).
  tcp_options options() const {
    tcp_options o;
    std::size_t i = 20;
    while (i < header_length()) {
      const auto kind = static_cast<unsigned>(b_[i]);
      if (kind == 0) break;
      if (kind == 1) {
        ++i;
        continue;
      }
      if (i + 1 >= header_length()) break;
      const auto length = static_cast<std::size_t>(b_[i + 1]);
      if (length < 2 || i + length > header_length()) break;
      if (kind == 2 && length == 4) o.mss = get16(b_, i + 2);
      if (kind == 3 && length == 3) o.window_scale = static_cast<std::uint8_t>(b_[i + 2]);
      if (kind == 4 && length == 2) o.sack_permitted = true;
      if (kind == 8 && length == 10) o.timestamps = std::pair{get32(b_, i + 2), get32(b_, i + 6)};
      i += length;
    }
    return o;
  }

 private:
  std::span<const std::byte> b_;
};

// ---- UDP (RFC 768) -----------------------------------------------------------------------

struct udp_fields {
  std::uint16_t src_port = 40000;
  std::uint16_t dst_port = 7;
  bytes payload;
  std::optional<std::uint16_t> checksum;
};

inline bytes build_udp(const udp_fields& f, const asio::ip::address& src, const asio::ip::address& dst) {
  bytes b(8 + f.payload.size());
  put16(b, 0, f.src_port);
  put16(b, 2, f.dst_port);
  put16(b, 4, static_cast<std::uint16_t>(b.size()));
  std::copy(f.payload.begin(), f.payload.end(), b.begin() + 8);
  std::uint16_t sum = internet_checksum(b, pseudo_header_sum(src, dst, 17, b.size()));
  if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  put16(b, 6, f.checksum.value_or(sum));
  return b;
}

/// Bytes of a string, for payloads.
inline bytes text(std::string_view s) {
  bytes b(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) b[i] = static_cast<std::byte>(s[i]);
  return b;
}

/// Hex dump for failure messages: "45 00 00 54 ...".
inline std::string hex(std::span<const std::byte> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i) s += (i % 16 == 0) ? '\n' : ' ';
    const auto v = static_cast<unsigned>(b[i]);
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

}  // namespace tunstack::testing

#endif  // TUNSTACK_TESTS_SUPPORT_PACKET_HPP
