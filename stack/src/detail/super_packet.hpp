// SPDX-License-Identifier: BSD-3-Clause
// detail/super_packet.hpp - joining a run of TCP segments lwIP sent into one super-packet for a
// link that segments TCP itself (TUN with TSO): the kernel cuts it back into exactly these
// segments, so the run must be what it would cut: one connection, consecutive sequence
// numbers, the same ACK, window and options, equal payloads (the last may be shorter), and no
// flag but ACK except PSH on the last. lwIP's headers are in each packet's first pbuf.
#ifndef TUNSTACK_DETAIL_SUPER_PACKET_HPP
#define TUNSTACK_DETAIL_SUPER_PACKET_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

struct pbuf;

namespace tunstack::detail {

/// A TCP segment with data, as a super-packet sees it.
struct tcp_segment {
  const struct pbuf* p = nullptr;
  std::span<const std::byte> headers;  // the IP and TCP headers, in p's first pbuf
  std::size_t ip_header = 0;            // bytes of IP header (20 for IPv4, 40 for IPv6)
  std::uint32_t seq = 0;
  std::size_t payload = 0;  // data bytes after the headers
  std::uint8_t flags = 0;
  std::size_t pbufs = 0;    // pbufs in p's chain (buffers of a gather write)
};

/// Largest super-packet: an IPv4 total length (and, for IPv6, kept the same).
constexpr std::size_t max_super_packet = 65535;
/// Room for IP (40) and TCP (60) headers.
using super_header_bytes = std::array<std::byte, 100>;

/// @p p as a segment that may join a super-packet: IPv4 without options or fragmentation, or
/// IPv6 with TCP as the next header; data, and no flags but ACK and PSH. Otherwise nullopt.
std::optional<tcp_segment> joinable_segment(const struct pbuf* p) noexcept;

/// Whether @p next continues the run that starts with @p first and ends with @p last.
bool continues_run(const tcp_segment& first, const tcp_segment& last, const tcp_segment& next) noexcept;

/// Writes into @p out the headers of the super-packet carrying @p payload data bytes of the run
/// from @p first to @p last: first's headers with the total length, PSH if last had it, the
/// IPv4 header checksum, and in TCP's checksum field the pseudo-header sum (partial, as the
/// kernel expects with its checksum offload). Returns the headers' length.
std::size_t write_super_header(const tcp_segment& first, const tcp_segment& last, std::size_t payload,
                               super_header_bytes& out) noexcept;

/// For a link that finishes checksums: writes into @p p's TCP checksum field the pseudo-header
/// sum (what lwIP leaves out when it does not compute TCP checksums). Returns false, touching
/// nothing, unless @p p is an IPv4 or IPv6 TCP packet with its headers in the first pbuf.
bool write_partial_checksum(struct pbuf* p) noexcept;

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_SUPER_PACKET_HPP
