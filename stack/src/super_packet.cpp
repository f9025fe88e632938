// SPDX-License-Identifier: BSD-3-Clause
// super_packet.cpp - see detail/super_packet.hpp.
#include "detail/super_packet.hpp"

#include "detail/byte_reader.hpp"

#include "lwip/pbuf.h"

#include <algorithm>
#include <cstring>

namespace tunstack::detail {
namespace {

constexpr std::uint8_t tcp_ack = 0x10;
constexpr std::uint8_t tcp_psh = 0x08;

std::uint32_t sum16(std::span<const std::byte> b, std::uint32_t sum = 0) noexcept {
  for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
    sum += static_cast<std::uint32_t>(b[i]) << 8 | static_cast<std::uint32_t>(b[i + 1]);
  }
  if (b.size() % 2 != 0) sum += static_cast<std::uint32_t>(b.back()) << 8;
  return sum;
}

std::uint16_t fold(std::uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

void put16(std::span<std::byte> b, std::size_t o, std::uint16_t v) noexcept {
  b[o] = static_cast<std::byte>(v >> 8);
  b[o + 1] = static_cast<std::byte>(v & 0xff);
}

// The pseudo-header sum of a TCP packet whose IP header starts @p h: addresses, protocol and
// @p tcp_length, folded and not inverted (what Linux keeps in a partial checksum).
std::uint16_t pseudo_header_sum(std::span<const std::byte> h, bool v4, std::size_t tcp_length) noexcept {
  std::uint32_t sum = v4 ? sum16(h.subspan(12, 8)) : sum16(h.subspan(8, 32));
  sum += 6 + static_cast<std::uint32_t>(tcp_length >> 16) + static_cast<std::uint32_t>(tcp_length & 0xffff);
  return fold(sum);
}

}  // namespace

std::optional<tcp_segment> joinable_segment(const struct pbuf* p) noexcept {
  if (p == nullptr || p->len < 40) return std::nullopt;
  const std::span<const std::byte> first{static_cast<const std::byte*>(p->payload), p->len};
  const byte_reader r{first};
  tcp_segment s;
  s.p = p;
  const unsigned version = r.u8(0) >> 4;
  if (version == 4) {
    // No options, TCP, not a fragment (DF may be set), and the length lwIP sent.
    if (r.u8(0) != 0x45 || r.u8(9) != 6 || (r.u16(6) & 0x3fff) != 0 || r.u16(2) != p->tot_len) return std::nullopt;
    s.ip_header = 20;
  } else if (version == 6) {
    if (r.u8(6) != 6 || r.u16(4) + 40u != p->tot_len) return std::nullopt;
    s.ip_header = 40;
  } else {
    return std::nullopt;
  }
  if (!r.has(s.ip_header, 20)) return std::nullopt;
  const byte_reader tcp = r.from(s.ip_header);
  const std::size_t tcp_header = static_cast<std::size_t>(tcp.u8(12) >> 4) * 4;
  const std::size_t headers = s.ip_header + tcp_header;
  if (tcp_header < 20 || headers > first.size() || headers > std::tuple_size_v<super_header_bytes>) return std::nullopt;
  s.headers = first.first(headers);
  s.seq = tcp.u32(4);
  s.flags = tcp.u8(13);
  s.payload = p->tot_len - headers;
  if (s.payload == 0 || (s.flags & ~(tcp_ack | tcp_psh)) != 0 || (s.flags & tcp_ack) == 0) return std::nullopt;
  for (const struct pbuf* q = p; q != nullptr; q = q->next) ++s.pbufs;
  return s;
}

bool continues_run(const tcp_segment& first, const tcp_segment& last, const tcp_segment& next) noexcept {
  if (next.headers.size() != first.headers.size() || next.ip_header != first.ip_header) return false;
  // Only the run's last segment may be short or carry PSH: the kernel gives PSH to the last
  // piece it cuts and makes every other piece segment_size long.
  if (last.payload != first.payload || last.flags != tcp_ack || next.payload > first.payload) return false;
  if (next.seq != last.seq + static_cast<std::uint32_t>(last.payload)) return false;
  const std::size_t headers = first.headers.size();
  const std::size_t total = headers + (next.seq - first.seq) + next.payload;
  if (total > max_super_packet) return false;
  // Addresses, ports, ACK number, window and TCP options equal (the kernel repeats the first
  // header in every piece); sequence number, flags and checksum may differ.
  const auto same = [&](std::size_t from, std::size_t to) {
    return std::memcmp(first.headers.data() + from, next.headers.data() + from, to - from) == 0;
  };
  const std::size_t t = first.ip_header;
  const std::size_t addresses = first.ip_header == 20 ? 12 : 8;
  return same(addresses, t) && same(t, t + 4) && same(t + 8, t + 12) && same(t + 14, t + 16) &&
         same(t + 18, headers) && first.headers[t + 12] == next.headers[t + 12];
}

std::size_t write_super_header(const tcp_segment& first, const tcp_segment& last, std::size_t payload,
                               super_header_bytes& out) noexcept {
  const std::size_t headers = first.headers.size();
  std::memcpy(out.data(), first.headers.data(), headers);
  const std::span<std::byte> h{out.data(), headers};
  const std::size_t t = first.ip_header;
  const std::size_t tcp_length = headers - t + payload;
  h[t + 13] = static_cast<std::byte>(tcp_ack | (last.flags & tcp_psh));
  if (first.ip_header == 20) {
    put16(h, 2, static_cast<std::uint16_t>(headers + payload));
    put16(h, 10, 0);
    put16(h, 10, static_cast<std::uint16_t>(~fold(sum16(h.first(20)))));
  } else {
    put16(h, 4, static_cast<std::uint16_t>(tcp_length));
  }
  // Partial: the kernel adds the rest and inverts.
  put16(h, t + 16, pseudo_header_sum(h, first.ip_header == 20, tcp_length));
  return headers;
}

bool write_partial_checksum(struct pbuf* p) noexcept {
  if (p == nullptr || p->len < 20) return false;
  const std::span<std::byte> first{static_cast<std::byte*>(p->payload), p->len};
  const byte_reader r{first};
  const unsigned version = r.u8(0) >> 4;
  std::size_t ip_header = 0;
  if (version == 4) {
    ip_header = static_cast<std::size_t>(r.u8(0) & 0x0f) * 4;
    if (r.u8(9) != 6 || (r.u16(6) & 0x3fff) != 0) return false;  // not TCP, or a fragment
  } else if (version == 6 && r.has(0, 40)) {
    ip_header = 40;
    if (r.u8(6) != 6) return false;
  } else {
    return false;
  }
  if (!r.has(ip_header, 20) || p->tot_len < ip_header + 20) return false;
  put16(first, ip_header + 16, pseudo_header_sum(first, version == 4, p->tot_len - ip_header));
  return true;
}

}  // namespace tunstack::detail
