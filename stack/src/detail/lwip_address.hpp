// SPDX-License-Identifier: BSD-3-Clause
// detail/lwip_address.hpp - converting between Asio's addresses and lwIP's ip_addr_t, at the
// lwIP boundary only. Both store addresses in network byte order.
#ifndef TUNSTACK_DETAIL_LWIP_ADDRESS_HPP
#define TUNSTACK_DETAIL_LWIP_ADDRESS_HPP

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <cstring>

namespace tunstack::detail {

inline ip_addr_t to_lwip(const asio::ip::address& a) {
  ip_addr_t r{};
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    IP_SET_TYPE_VAL(r, IPADDR_TYPE_V4);
    std::memcpy(&ip_2_ip4(&r)->addr, bytes.data(), bytes.size());
  } else {
    const auto bytes = a.to_v6().to_bytes();
    IP_SET_TYPE_VAL(r, IPADDR_TYPE_V6);
    std::memcpy(ip_2_ip6(&r)->addr, bytes.data(), bytes.size());
    ip6_addr_clear_zone(ip_2_ip6(&r));
  }
  return r;
}

inline asio::ip::address from_lwip(const ip_addr_t& a) {
  if (IP_IS_V6_VAL(a)) {
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), ip_2_ip6(&a)->addr, bytes.size());
    return asio::ip::address_v6{bytes};
  }
  asio::ip::address_v4::bytes_type bytes;
  std::memcpy(bytes.data(), &ip_2_ip4(&a)->addr, bytes.size());
  return asio::ip::address_v4{bytes};
}

/// A pcb's endpoint; an any-type address (a dual-stack listener's) shows as [::].
inline asio::ip::tcp::endpoint endpoint_of(const ip_addr_t& address, u16_t port) {
  if (IP_IS_ANY_TYPE_VAL(address)) return {asio::ip::address_v6::any(), port};
  return {from_lwip(address), port};
}

/// True if one of the stack's interfaces has @p a.
inline bool is_local_address(const ip_addr_t& a) {
  struct netif* n = nullptr;
  NETIF_FOREACH(n) {
    if (IP_IS_V4_VAL(a) && ip4_addr_cmp(ip_2_ip4(&a), netif_ip4_addr(n))) return true;
    if (IP_IS_V6_VAL(a) && netif_get_ip6_addr_match(n, ip_2_ip6(&a)) >= 0) return true;
  }
  return false;
}

/// The lwIP address to bind for @p a: the unspecified IPv6 address binds both families (as
/// Linux does by default), the unspecified IPv4 address binds IPv4 only.
inline ip_addr_t bind_address(const asio::ip::address& a) {
  if (a.is_v6() && a.is_unspecified()) return *IP_ANY_TYPE;
  return to_lwip(a);
}

/// The lwIP pcb type for a socket that will use @p a.
inline u8_t pcb_type(const asio::ip::address& a) {
  if (a.is_v6()) return a.is_unspecified() ? IPADDR_TYPE_ANY : IPADDR_TYPE_V6;
  return IPADDR_TYPE_V4;
}

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_LWIP_ADDRESS_HPP
