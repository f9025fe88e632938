// SPDX-License-Identifier: BSD-3-Clause
// packet_summary.cpp - readable one-line descriptions of IP packets for debug logs (see
// detail/packet_summary.hpp). Header fields are read with byte_reader.
#include "detail/packet_summary.hpp"

#include "detail/byte_reader.hpp"

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>

#include <cstdint>
#include <optional>

namespace tunstack::detail {
namespace {

using reader = byte_reader;

std::string icmp4_name(std::uint8_t type, std::uint8_t code) {
  switch (type) {
    case 0: return "echo reply";
    case 3: return "destination unreachable (code " + std::to_string(code) + ")";
    case 8: return "echo request";
    case 11: return "time exceeded";
    default: return "type " + std::to_string(type) + " code " + std::to_string(code);
  }
}

std::string icmp6_name(std::uint8_t type, std::uint8_t code) {
  switch (type) {
    case 1: return "destination unreachable (code " + std::to_string(code) + ")";
    case 2: return "packet too big";
    case 3: return "time exceeded";
    case 128: return "echo request";
    case 129: return "echo reply";
    case 133: return "router solicitation";
    case 134: return "router advertisement";
    case 135: return "neighbor solicitation";
    case 136: return "neighbor advertisement";
    case 143: return "MLDv2 report";
    default: return "type " + std::to_string(type) + " code " + std::to_string(code);
  }
}

std::string tcp_flags(std::uint8_t f) {
  static constexpr const char* names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (f & (1U << i)) {
      if (!s.empty()) s += ',';
      s += names[i];
    }
  }
  return s.empty() ? std::string{"none"} : s;
}

// The transport part: "TCP 7 > 40000 [SYN,ACK] seq=.. ack=.. win=..", "UDP 53 > 9", ...
std::string transport(std::uint8_t protocol, reader r, bool v6) {
  switch (protocol) {
    case 1:
      if (!v6 && r.has(0, 4)) {
        std::string s = "ICMP " + icmp4_name(r.u8(0), r.u8(1));
        if ((r.u8(0) == 0 || r.u8(0) == 8) && r.has(4, 4)) {
          s += " id=" + std::to_string(r.u16(4)) + " seq=" + std::to_string(r.u16(6));
        }
        return s;
      }
      return "ICMP (truncated)";
    case 58:
      if (r.has(0, 4)) {
        std::string s = "ICMPv6 " + icmp6_name(r.u8(0), r.u8(1));
        if ((r.u8(0) == 128 || r.u8(0) == 129) && r.has(4, 4)) {
          s += " id=" + std::to_string(r.u16(4)) + " seq=" + std::to_string(r.u16(6));
        }
        return s;
      }
      return "ICMPv6 (truncated)";
    case 6:
      if (r.has(0, 16)) {
        return "TCP " + std::to_string(r.u16(0)) + " > " + std::to_string(r.u16(2)) + " [" +
               tcp_flags(r.u8(13)) + "] seq=" + std::to_string(r.u32(4)) +
               " ack=" + std::to_string(r.u32(8)) + " win=" + std::to_string(r.u16(14));
      }
      return "TCP (truncated)";
    case 17:
      if (r.has(0, 8)) {
        return "UDP " + std::to_string(r.u16(0)) + " > " + std::to_string(r.u16(2)) +
               " len=" + std::to_string(r.u16(4));
      }
      return "UDP (truncated)";
    default:
      return "protocol " + std::to_string(protocol);
  }
}

}  // namespace

std::string summarize_packet(std::span<const std::byte> head, std::size_t total_length) {
  const reader ip{head};
  const std::string size = ", " + std::to_string(total_length) + " bytes";
  if (!ip.has(0, 1)) return "empty packet";
  const unsigned version = ip.u8(0) >> 4;
  if (version == 4) {
    if (!ip.has(0, 20)) return "IPv4 (truncated)" + size;
    const std::size_t ihl = static_cast<std::size_t>(ip.u8(0) & 0x0f) * 4;
    const asio::ip::address_v4 src{ip.u32(12)}, dst{ip.u32(16)};
    std::string s = "IPv4 " + src.to_string() + " > " + dst.to_string() + " ";
    const std::uint16_t fragment = ip.u16(6);
    if ((fragment & 0x1fff) != 0) {
      return s + "fragment offset " + std::to_string((fragment & 0x1fff) * 8) + size;
    }
    if (ihl < 20) return s + "bad header length " + std::to_string(ihl) + size;
    const bool more_fragments = (fragment & 0x2000) != 0;
    return s + transport(ip.u8(9), ip.from(ihl), false) + (more_fragments ? " (first fragment)" : "") + size;
  }
  if (version == 6) {
    if (!ip.has(0, 40)) return "IPv6 (truncated)" + size;
    asio::ip::address_v6::bytes_type src{}, dst{};
    for (std::size_t i = 0; i < 16; ++i) {
      src[i] = ip.u8(8 + i);
      dst[i] = ip.u8(24 + i);
    }
    return "IPv6 " + asio::ip::address_v6{src}.to_string() + " > " +
           asio::ip::address_v6{dst}.to_string() + " " + transport(ip.u8(6), ip.from(40), true) + size;
  }
  return "not IP (version " + std::to_string(version) + ")" + size;
}

}  // namespace tunstack::detail
