// SPDX-License-Identifier: BSD-3-Clause
// rtnetlink.hpp - a small rtnetlink client (libmnl) for what tunstack configures on the
// kernel's side of a device: MTU, link up, addresses; and what it checks: existing addresses,
// routes, the kind of an existing link. Private to netif/: synchronous, used at start-up only.
#ifndef TUNSTACK_NETIF_RTNETLINK_HPP
#define TUNSTACK_NETIF_RTNETLINK_HPP

#include <asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace tunstack::netif::detail {

/// One address the kernel has configured (RTM_GETADDR).
struct kernel_address {
  unsigned index = 0;  ///< interface index
  asio::ip::address address;
  unsigned prefix_length = 0;
};

/// What the kernel says about a link (RTM_GETLINK).
struct kernel_link {
  unsigned index = 0;
  std::string name;
  std::string kind;           ///< IFLA_INFO_KIND: "tun" for TUN and TAP devices, "" for physical
  std::optional<int> tun_type;  ///< IFF_TUN or IFF_TAP for kind "tun"
  bool tun_multi_queue = false;
  /// For kind "tun": how many file descriptors are attached (IFLA_TUN_NUM_QUEUES, Linux 4.15);
  /// more than zero means a program holds the device.
  std::optional<unsigned> tun_queues;
  bool up = false;
  unsigned mtu = 0;
};

/// One NETLINK_ROUTE socket. Every call sets @p ec to the kernel's errno on failure.
class rtnetlink {
 public:
  /// @throws std::system_error if the socket cannot be opened.
  rtnetlink();
  ~rtnetlink();
  rtnetlink(const rtnetlink&) = delete;
  rtnetlink& operator=(const rtnetlink&) = delete;

  void set_mtu(unsigned index, unsigned mtu, std::error_code& ec);
  /// Sets the length of the device's transmit queue (`ip link set ... txqueuelen N`).
  void set_txqueuelen(unsigned index, unsigned packets, std::error_code& ec);
  void set_up(unsigned index, std::error_code& ec);
  /// Adds @p address/@p prefix_length to the interface. An identical address already there is
  /// not an error. IPv6 addresses are added without duplicate address detection (IFA_F_NODAD).
  void add_address(unsigned index, const asio::ip::address& address, unsigned prefix_length,
                   std::error_code& ec);
  std::vector<kernel_address> addresses(std::error_code& ec);
  /// The interface index the kernel would send a packet to @p destination through, and whether
  /// that is a local delivery (the address is the kernel's own).
  struct route {
    unsigned output_index = 0;
    bool local = false;
  };
  std::optional<route> route_to(const asio::ip::address& destination, std::error_code& ec);
  std::optional<kernel_link> link_by_name(const std::string& name, std::error_code& ec);
  std::optional<kernel_link> link_by_index(unsigned index, std::error_code& ec);

 private:
  using message_callback = std::function<void(const nlmsghdr*)>;
  void transact(nlmsghdr* request, const message_callback& on_message, std::error_code& ec);
  std::optional<kernel_link> get_link(nlmsghdr* request, std::error_code& ec);

  mnl_socket* socket_ = nullptr;
  std::uint32_t port_id_ = 0;
  std::uint32_t sequence_ = 0;
};

}  // namespace tunstack::netif::detail

#endif  // TUNSTACK_NETIF_RTNETLINK_HPP
