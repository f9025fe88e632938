// SPDX-License-Identifier: BSD-3-Clause
// tcp_wire.hpp - IPv4 + TCP segments as bytes for the attack tool raw_peer: building them with
// the options of RFC 9293 3.1 and RFC 7323 (MSS, window scale, SACK-permitted, timestamps) and
// valid checksums, and reading what the stack sends (header fields, options, SACK blocks).
//
// Fields are read and written at fixed offsets with explicit big-endian loads, after a length
// check; nothing overlays structs on packet bytes. Kernel headers only: no code of the stack.
#ifndef TUNSTACK_TESTS_TOOLS_TCP_WIRE_HPP
#define TUNSTACK_TESTS_TOOLS_TCP_WIRE_HPP

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace tools::wire {

constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
constexpr std::size_t ip_header = 20, tcp_header = 20;

inline void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}
inline std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(get16(p)) << 16 | get16(p + 2);
}

/// The Internet checksum's running sum (RFC 1071) over big-endian 16-bit words.
inline std::uint32_t sum_words(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<std::uint32_t>(p[0] << 8 | p[1]);
  if (n == 1) sum += static_cast<std::uint32_t>(p[0] << 8);
  return sum;
}
inline std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

/// Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4).
inline bool seq_lt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
inline bool seq_le(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) <= 0; }

/// The options a segment carries; absent ones are not sent.
struct options {
  std::optional<std::uint16_t> mss;           // kind 2 (SYN only)
  std::optional<std::uint8_t> wscale;         // kind 3 (SYN only)
  bool sack_permitted = false;                // kind 4 (SYN only)
  std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;  // kind 8: TSval, TSecr
};

/// A segment to send: addresses and ports in host byte order.
struct segment {
  std::uint32_t source = 0, destination = 0;
  std::uint16_t source_port = 0, destination_port = 0;
  std::uint32_t seq = 0, ack_number = 0;
  std::uint8_t flags = ack;
  std::uint16_t window = 0;  // as it goes on the wire (already scaled down)
  options opts;
  std::span<const std::uint8_t> payload;
  std::uint16_t ip_id = 0;
};

/// The IPv4 packet (DF, TTL 64) carrying @p s, checksums computed.
inline std::vector<std::uint8_t> build(const segment& s) {
  std::uint8_t opt[40] = {};
  std::size_t n = 0;
  if (s.opts.mss) {
    opt[n] = 2, opt[n + 1] = 4, put16(opt + n + 2, *s.opts.mss);
    n += 4;
  }
  if (s.opts.sack_permitted) {  // NOP NOP SACK-permitted, as Linux aligns it without timestamps
    opt[n] = 1, opt[n + 1] = 1, opt[n + 2] = 4, opt[n + 3] = 2;
    n += 4;
  }
  if (s.opts.timestamps) {  // NOP NOP TS (RFC 7323 appendix A's layout)
    opt[n] = 1, opt[n + 1] = 1, opt[n + 2] = 8, opt[n + 3] = 10;
    put32(opt + n + 4, s.opts.timestamps->first);
    put32(opt + n + 8, s.opts.timestamps->second);
    n += 12;
  }
  if (s.opts.wscale) {  // NOP WS
    opt[n] = 1, opt[n + 1] = 3, opt[n + 2] = 3, opt[n + 3] = *s.opts.wscale;
    n += 4;
  }
  const std::size_t tcp_len = tcp_header + n + s.payload.size();
  std::vector<std::uint8_t> b(ip_header + tcp_len);
  std::uint8_t* ip = b.data();
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(b.size()));
  put16(ip + 4, s.ip_id);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_TCP;
  put32(ip + 12, s.source);
  put32(ip + 16, s.destination);
  put16(ip + 10, fold(sum_words(ip, ip_header)));

  std::uint8_t* tcp = ip + ip_header;
  put16(tcp, s.source_port);
  put16(tcp + 2, s.destination_port);
  put32(tcp + 4, s.seq);
  put32(tcp + 8, s.ack_number);
  tcp[12] = static_cast<std::uint8_t>((tcp_header + n) / 4 << 4);
  tcp[13] = s.flags;
  put16(tcp + 14, s.window);
  for (std::size_t i = 0; i < n; ++i) tcp[tcp_header + i] = opt[i];
  for (std::size_t i = 0; i < s.payload.size(); ++i) tcp[tcp_header + n + i] = s.payload[i];
  // Pseudo-header (RFC 9293 3.1): source, destination, zero + protocol, TCP length.
  const std::uint32_t pseudo = sum_words(ip + 12, 8) + IPPROTO_TCP + static_cast<std::uint32_t>(tcp_len);
  put16(tcp + 16, fold(sum_words(tcp, tcp_len, pseudo)));
  return b;
}

/// A TCP segment as received. Its checksum is not checked: with TUN offloads the stack leaves it
/// for the kernel to finish (CHECKSUM_PARTIAL), and a packet socket sees it unfinished.
struct received {
  std::uint32_t source = 0, destination = 0;
  std::uint16_t source_port = 0, destination_port = 0;
  std::uint32_t seq = 0, ack_number = 0;
  std::uint8_t flags = 0;
  std::uint16_t window = 0;  // unscaled, as on the wire
  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> wscale;
  bool sack_permitted = false;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;  // left, right edges
  std::span<const std::uint8_t> payload;  // into the buffer that was parsed
  std::uint16_t gso_size = 0;  // a super-packet's segment size, if the receiver was told; 0: one segment

  /// The size of the segments the payload goes out in (a super-packet is cut into gso_size).
  std::size_t segment_size() const { return gso_size ? gso_size : payload.size(); }
  bool has(std::uint8_t f) const { return (flags & f) == f; }
};

/// Reads an IPv4 packet holding a TCP segment; nothing for anything else or a truncated one.
/// Super-packets (TUN offloads: up to 64 KiB of segments in one) read as one long segment.
inline std::optional<received> parse(std::span<const std::uint8_t> b) {
  if (b.size() < ip_header || (b[0] >> 4) != 4 || b[9] != IPPROTO_TCP) return std::nullopt;
  const std::size_t ihl = static_cast<std::size_t>(b[0] & 0x0f) * 4;
  const std::size_t total = get16(b.data() + 2);
  if (ihl < ip_header || total < ihl + tcp_header || total > b.size()) return std::nullopt;
  if ((get16(b.data() + 6) & 0x1fff) != 0) return std::nullopt;  // a later fragment
  received r;
  r.source = get32(b.data() + 12);
  r.destination = get32(b.data() + 16);
  const std::uint8_t* tcp = b.data() + ihl;
  const std::size_t tcp_len = total - ihl;
  const std::size_t offset = static_cast<std::size_t>(tcp[12] >> 4) * 4;
  if (offset < tcp_header || offset > tcp_len) return std::nullopt;
  r.source_port = get16(tcp);
  r.destination_port = get16(tcp + 2);
  r.seq = get32(tcp + 4);
  r.ack_number = get32(tcp + 8);
  r.flags = tcp[13];
  r.window = get16(tcp + 14);
  for (std::size_t i = tcp_header; i < offset;) {
    const std::uint8_t kind = tcp[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= offset) break;
    const std::size_t len = tcp[i + 1];
    if (len < 2 || i + len > offset) break;
    const std::uint8_t* o = tcp + i;
    if (kind == 2 && len == 4) r.mss = get16(o + 2);
    if (kind == 3 && len == 3) r.wscale = o[2];
    if (kind == 4 && len == 2) r.sack_permitted = true;
    if (kind == 5) {
      for (std::size_t k = 2; k + 8 <= len; k += 8) r.sack.emplace_back(get32(o + k), get32(o + k + 4));
    }
    if (kind == 8 && len == 10) r.timestamps = std::pair{get32(o + 2), get32(o + 6)};
    i += len;
  }
  r.payload = b.subspan(ihl + offset, tcp_len - offset);
  return r;
}

}  // namespace tools::wire

#endif  // TUNSTACK_TESTS_TOOLS_TCP_WIRE_HPP
