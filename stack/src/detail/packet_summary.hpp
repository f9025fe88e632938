// SPDX-License-Identifier: BSD-3-Clause
// detail/packet_summary.hpp - one readable line about an IP packet, for debug logs
// ("IPv4 10.0.3.1 > 10.0.3.50 ICMP echo request id=7 seq=1, 84 bytes"). Reads only the bytes
// it is given and never trusts a length field.
#ifndef TUNSTACK_DETAIL_PACKET_SUMMARY_HPP
#define TUNSTACK_DETAIL_PACKET_SUMMARY_HPP

#include <cstddef>
#include <span>
#include <string>

namespace tunstack::detail {

/// @p head: the first bytes of the packet (at least its headers, if they are to be shown);
/// @p total_length: the packet's full size.
std::string summarize_packet(std::span<const std::byte> head, std::size_t total_length);

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_PACKET_SUMMARY_HPP
