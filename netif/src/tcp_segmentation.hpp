// SPDX-License-Identifier: BSD-3-Clause
// tcp_segmentation.hpp - what the kernel does for a device without offloads, for link
// decorators that must see packets as a wire carries them (impaired_link): cut a TCP
// super-packet into segments, and compute a TCP or UDP checksum that a link with checksum
// offload left unfinished. Private to netif; packets are bare IPv4 or IPv6, as links carry.
#ifndef TUNSTACK_NETIF_SRC_TCP_SEGMENTATION_HPP
#define TUNSTACK_NETIF_SRC_TCP_SEGMENTATION_HPP

#include <cstddef>
#include <span>
#include <vector>

namespace tunstack::netif::detail {

using packet_bytes = std::vector<std::byte>;

/// Writes the right TCP or UDP checksum into @p ip, whatever its checksum field held (a
/// finished checksum, the pseudo-header sum of an offloaded one, or garbage).
/// @returns false, leaving @p ip alone, for anything else: not TCP or UDP, a fragment, an IPv6
/// packet with extension headers other than hop-by-hop and destination options, a length that
/// does not add up.
bool finish_transport_checksum(std::span<std::byte> ip) noexcept;

/// Whether @p ip's TCP or UDP checksum is right (an IPv4 UDP checksum of 0, "none", is).
/// false as well for every packet finish_transport_checksum() refuses.
bool transport_checksum_ok(std::span<const std::byte> ip) noexcept;

/// Cuts @p super, a TCP super-packet (IPv4, or IPv6 without extension headers), into segments
/// of @p segment_size data bytes (the last may be shorter), as the kernel's segmentation does:
/// each with the super-packet's headers, its own sequence number and lengths, IPv4 IDs counting
/// up from the super-packet's, FIN and PSH only on the last segment and CWR only on the first,
/// and right IPv4 header and TCP checksums (the super-packet's own checksum is not looked at).
/// A packet with no more data than @p segment_size comes back as one segment.
/// @returns no segments if @p super is not such a packet or @p segment_size is 0.
std::vector<packet_bytes> segment_tcp(std::span<const std::byte> super, std::size_t segment_size);

}  // namespace tunstack::netif::detail

#endif  // TUNSTACK_NETIF_SRC_TCP_SEGMENTATION_HPP
