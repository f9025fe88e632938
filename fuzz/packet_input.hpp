// SPDX-License-Identifier: BSD-3-Clause
// packet_input.hpp - the input format of fuzz_packets, shared by the harness (which decodes
// it) and make_corpus (which writes seeds in it). An input is a sequence of records; each
// starts with one op byte, whose low two bits say what it is:
//
//   op & 3 == 0  raw packet:    len(2, big-endian) + len bytes, injected exactly as given
//   op & 3 == 1  fixed packet:  len(2) + bytes; the IPv4 header checksum and the TCP, UDP,
//                               ICMP or ICMPv6 checksum are recomputed before injection, so
//                               mutations get past checksum checks into the protocols
//   op & 3 == 2  segment:       len(2) + body, sent on established connection (op >> 2) % 5
//                               (see connection_specs): body = flags(1), seq delta(2, signed),
//                               ack delta(2, signed), window(2), n(1), n option bytes (n <= 40),
//                               payload. Addresses, ports and checksums are filled in; seq and
//                               ack are the peer's current numbers plus the deltas.
//   op & 3 == 3  time:          no body; the manual clock advances by time_step(op >> 2)
//
// A length running past the end of the input is cut to what is there.
#ifndef TUNSTACK_FUZZ_PACKET_INPUT_HPP
#define TUNSTACK_FUZZ_PACKET_INPUT_HPP

#include "packet.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace tunstack::fuzz {

using testing::bytes;

enum class record_kind : std::uint8_t { raw = 0, fixed = 1, segment = 2, time = 3 };

/// One established connection the harness sets up before every input.
struct connection_spec {
  bool v6;
  std::uint16_t stack_port;  ///< 7 echo, 9 discard, 80 HTTP
  std::uint16_t peer_port;
  bool rich_options;  ///< SYN with window scale, SACK-permitted and timestamps (else MSS only)
};
inline constexpr connection_spec connection_specs[] = {
    {false, 7, 40001, true},
    {false, 9, 40002, false},
    {false, 80, 40003, false},
    {true, 7, 40004, false},
    {true, 80, 40005, true},
};
inline constexpr std::size_t connection_count = std::size(connection_specs);

/// 0..31: 25 ms steps up to 800 ms (delayed ACKs, retransmissions); 32..63: 5 s steps up to
/// 160 s (persist and keep-alive timers, TIME-WAIT, the HTTP server's timeouts do not use it).
inline std::chrono::milliseconds time_step(unsigned v) {
  v &= 63;
  if (v < 32) return std::chrono::milliseconds(25 * (v + 1));
  return std::chrono::milliseconds(5000 * (v - 31));
}

// ---- writing records (make_corpus) --------------------------------------------------------

inline void put_record(bytes& out, std::uint8_t op, std::span<const std::byte> body) {
  out.push_back(static_cast<std::byte>(op));
  const std::size_t n = std::min<std::size_t>(body.size(), 0xffff);
  out.push_back(static_cast<std::byte>(n >> 8));
  out.push_back(static_cast<std::byte>(n & 0xff));
  out.insert(out.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
}

inline void add_raw(bytes& out, std::span<const std::byte> packet) { put_record(out, 0, packet); }
inline void add_fixed(bytes& out, std::span<const std::byte> packet) { put_record(out, 1, packet); }
inline void add_time(bytes& out, unsigned step) {
  out.push_back(static_cast<std::byte>((step & 63) << 2 | 3));
}
inline void add_segment(bytes& out, unsigned connection, std::uint8_t flags, const bytes& payload = {},
                        std::int16_t seq_delta = 0, std::int16_t ack_delta = 0,
                        std::uint16_t window = 65535, const bytes& options = {}) {
  bytes body(8);
  body[0] = static_cast<std::byte>(flags);
  testing::put16(body, 1, static_cast<std::uint16_t>(seq_delta));
  testing::put16(body, 3, static_cast<std::uint16_t>(ack_delta));
  testing::put16(body, 5, window);
  body[7] = static_cast<std::byte>(options.size());
  body.insert(body.end(), options.begin(), options.end());
  body.insert(body.end(), payload.begin(), payload.end());
  put_record(out, static_cast<std::uint8_t>((connection & 63) << 2 | 2), body);
}

// ---- checksums for fixed records ----------------------------------------------------------

namespace detail {
inline std::uint32_t sum_words(std::span<const std::byte> b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < b.size(); i += 2) sum += testing::get16(b, i);
  if (b.size() % 2 != 0) sum += static_cast<std::uint32_t>(b.back()) << 8;
  return sum;
}

// Writes the transport checksum of @p segment (protocol @p proto), seeded with the pseudo-header
// sum @p pseudo (0 for ICMPv4, which has none).
inline void fix_transport(std::span<std::byte> segment, std::uint8_t proto, std::uint32_t pseudo, bool v6) {
  std::size_t at = 0;
  if (proto == 6 && segment.size() >= 20) at = 16;
  else if (proto == 17 && segment.size() >= 8) at = 6;
  else if ((proto == (v6 ? 58 : 1)) && segment.size() >= 4) at = 2;
  else return;
  segment[at] = segment[at + 1] = std::byte{0};
  std::uint16_t sum = testing::internet_checksum(segment, proto == 1 ? 0 : pseudo);
  if (proto == 17 && sum == 0) sum = 0xffff;
  segment[at] = static_cast<std::byte>(sum >> 8);
  segment[at + 1] = static_cast<std::byte>(sum & 0xff);
}
}  // namespace detail

/// Recomputes the checksums of an IPv4 or IPv6 packet where the packet is long enough to have
/// them; anything else is left as it is. No IPv6 extension headers, no IPv4 fragments.
inline void fix_checksums(bytes& p) {
  if (p.empty()) return;
  const unsigned version = static_cast<unsigned>(p[0]) >> 4;
  if (version == 4 && p.size() >= 20) {
    const std::size_t ihl = (static_cast<unsigned>(p[0]) & 0x0f) * 4U;
    if (ihl < 20 || ihl > p.size()) return;
    p[10] = p[11] = std::byte{0};
    testing::put16(p, 10, testing::internet_checksum(std::span(p).first(ihl)));
    const std::size_t total = std::min<std::size_t>(testing::get16(p, 2), p.size());
    if (total < ihl || (testing::get16(p, 6) & 0x3fff) != 0) return;  // fragment
    const auto proto = static_cast<std::uint8_t>(p[9]);
    const std::size_t length = total - ihl;
    std::uint32_t pseudo = detail::sum_words(std::span(p).subspan(12, 8)) + proto + static_cast<std::uint32_t>(length);
    detail::fix_transport(std::span(p).subspan(ihl, length), proto, pseudo, false);
  } else if (version == 6 && p.size() >= 40) {
    const std::size_t length = std::min<std::size_t>(testing::get16(p, 4), p.size() - 40);
    const auto proto = static_cast<std::uint8_t>(p[6]);
    std::uint32_t pseudo = detail::sum_words(std::span(p).subspan(8, 32)) + proto +
                           static_cast<std::uint32_t>(length);
    detail::fix_transport(std::span(p).subspan(40, length), proto, pseudo, true);
  }
}

}  // namespace tunstack::fuzz

#endif  // TUNSTACK_FUZZ_PACKET_INPUT_HPP
