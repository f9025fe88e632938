// SPDX-License-Identifier: BSD-3-Clause
// tcp_segmentation.cpp - cutting TCP super-packets and finishing transport checksums (see
// tcp_segmentation.hpp). Fields are read and written at their RFC offsets with explicit
// big-endian loads and stores (RFC 791 3.1, RFC 8200 3, RFC 9293 3.1, RFC 768); checksums are
// RFC 1071's, over the pseudo-headers of RFC 9293 3.1 and RFC 8200 8.1.
#include "tcp_segmentation.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace tunstack::netif::detail {
namespace {

constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;
constexpr std::uint8_t tcp_fin = 0x01, tcp_psh = 0x08, tcp_cwr = 0x80;

std::uint16_t get16(std::span<const std::byte> b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) << 8 | std::to_integer<unsigned>(b[at + 1]));
}
std::uint32_t get32(std::span<const std::byte> b, std::size_t at) noexcept {
  return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}
void put16(std::span<std::byte> b, std::size_t at, std::uint16_t v) noexcept {
  b[at] = static_cast<std::byte>(v >> 8);
  b[at + 1] = static_cast<std::byte>(v & 0xff);
}
void put32(std::span<std::byte> b, std::size_t at, std::uint32_t v) noexcept {
  put16(b, at, static_cast<std::uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<std::uint16_t>(v & 0xffff));
}

// The one's complement sum of 16-bit big-endian words (an odd last byte padded with zero),
// not yet folded: 64 bits hold any packet's.
std::uint64_t sum_words(std::span<const std::byte> b, std::uint64_t sum = 0) noexcept {
  for (std::size_t i = 0; i + 1 < b.size(); i += 2) sum += get16(b, i);
  if (b.size() % 2 != 0) sum += std::to_integer<std::uint64_t>(b.back()) << 8;
  return sum;
}

std::uint16_t fold(std::uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// Where a packet's TCP or UDP header is, and what its checksum covers besides.
struct transport {
  std::size_t offset = 0;   // of the transport header
  std::size_t end = 0;      // of the packet (the IP length; a link may hand over more)
  std::uint8_t protocol = 0;
  std::size_t ip_header = 0;  // bytes of IP headers that segments repeat (no extension headers)
  bool v4 = false;
  std::uint64_t pseudo = 0;  // the pseudo-header's sum
};

std::optional<transport> locate(std::span<const std::byte> ip) noexcept {
  transport t;
  if (ip.size() >= 20 && std::to_integer<unsigned>(ip[0]) >> 4 == 4) {
    const std::size_t ihl = (std::to_integer<std::size_t>(ip[0]) & 0x0f) * 4;
    const std::size_t total = get16(ip, 2);
    if (ihl < 20 || total < ihl || total > ip.size()) return std::nullopt;
    if ((get16(ip, 6) & 0x3fff) != 0) return std::nullopt;  // a fragment: its checksum spans others
    t.v4 = true;
    t.offset = t.ip_header = ihl;
    t.end = total;
    t.protocol = std::to_integer<std::uint8_t>(ip[9]);
    t.pseudo = sum_words(ip.subspan(12, 8)) + t.protocol + (t.end - t.offset);
  } else if (ip.size() >= 40 && std::to_integer<unsigned>(ip[0]) >> 4 == 6) {
    t.end = 40 + static_cast<std::size_t>(get16(ip, 4));
    if (t.end > ip.size()) return std::nullopt;
    std::uint8_t next = std::to_integer<std::uint8_t>(ip[6]);
    std::size_t at = 40;
    // Hop-by-hop (0) and destination options (60) change nothing the checksum covers; a
    // routing header would change the pseudo-header's destination, a fragment header its extent.
    while (next == 0 || next == 60) {
      if (at + 8 > t.end) return std::nullopt;
      next = std::to_integer<std::uint8_t>(ip[at]);
      at += (std::to_integer<std::size_t>(ip[at + 1]) + 1) * 8;
    }
    if (at > t.end) return std::nullopt;
    t.offset = at;
    t.ip_header = 40;
    t.protocol = next;
    t.pseudo = sum_words(ip.subspan(8, 32)) + t.protocol + (t.end - t.offset);
  } else {
    return std::nullopt;
  }
  const std::size_t minimum = t.protocol == proto_tcp ? 20 : t.protocol == proto_udp ? 8 : SIZE_MAX;
  if (minimum == SIZE_MAX || t.end - t.offset < minimum) return std::nullopt;
  return t;
}

std::size_t checksum_field(const transport& t) noexcept { return t.offset + (t.protocol == proto_tcp ? 16 : 6); }

}  // namespace

bool finish_transport_checksum(std::span<std::byte> ip) noexcept {
  const auto t = locate(ip);
  if (!t) return false;
  const std::size_t field = checksum_field(*t);
  put16(ip, field, 0);
  std::uint16_t checksum = static_cast<std::uint16_t>(~fold(sum_words(ip.subspan(t->offset, t->end - t->offset), t->pseudo)));
  if (checksum == 0 && t->protocol == proto_udp) checksum = 0xffff;  // 0 would mean "none" (RFC 768)
  put16(ip, field, checksum);
  return true;
}

bool transport_checksum_ok(std::span<const std::byte> ip) noexcept {
  const auto t = locate(ip);
  if (!t) return false;
  if (t->protocol == proto_udp && t->v4 && get16(ip, checksum_field(*t)) == 0) return true;
  return fold(sum_words(ip.subspan(t->offset, t->end - t->offset), t->pseudo)) == 0xffff;
}

std::vector<packet_bytes> segment_tcp(std::span<const std::byte> super, std::size_t segment_size) {
  const auto t = locate(super);
  if (!t || segment_size == 0 || t->protocol != proto_tcp || t->offset != t->ip_header) return {};
  const std::size_t tcp_header = (std::to_integer<std::size_t>(super[t->offset + 12]) >> 4) * 4;
  if (tcp_header < 20 || t->offset + tcp_header > t->end) return {};
  const std::size_t headers = t->offset + tcp_header;
  const std::size_t data = t->end - headers;
  const std::uint32_t seq = get32(super, t->offset + 4);
  const std::uint16_t id = t->v4 ? get16(super, 4) : 0;
  const std::uint8_t flags = std::to_integer<std::uint8_t>(super[t->offset + 13]);

  std::vector<packet_bytes> segments;
  segments.reserve(std::max<std::size_t>(1, (data + segment_size - 1) / segment_size));
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(segment_size, data - at);
    const bool first = at == 0;
    const bool last = at + n == data;
    packet_bytes s(super.begin(), super.begin() + static_cast<std::ptrdiff_t>(headers));
    s.insert(s.end(), super.begin() + static_cast<std::ptrdiff_t>(headers + at),
             super.begin() + static_cast<std::ptrdiff_t>(headers + at + n));
    const std::span<std::byte> b{s};
    if (t->v4) {
      put16(b, 2, static_cast<std::uint16_t>(s.size()));
      put16(b, 4, static_cast<std::uint16_t>(id + segments.size()));  // wraps, as the kernel's
      put16(b, 10, 0);
      put16(b, 10, static_cast<std::uint16_t>(~fold(sum_words(b.first(t->offset)))));
    } else {
      put16(b, 4, static_cast<std::uint16_t>(s.size() - 40));
    }
    put32(b, t->offset + 4, seq + static_cast<std::uint32_t>(at));
    std::uint8_t f = flags;
    if (!last) f &= static_cast<std::uint8_t>(~(tcp_fin | tcp_psh));  // they end the run
    if (!first) f &= static_cast<std::uint8_t>(~tcp_cwr);            // RFC 3168 6.1.2: once
    b[t->offset + 13] = static_cast<std::byte>(f);
    finish_transport_checksum(b);
    segments.push_back(std::move(s));
    at += n;
  } while (at < data);
  return segments;
}

}  // namespace tunstack::netif::detail
