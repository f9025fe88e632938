// SPDX-License-Identifier: BSD-3-Clause
// tun_device.hpp - tunstack::netif::tun_device, a Linux TUN device as a link: opens
// /dev/net/tun, creates the device with TUNSETIFF (IFF_TUN | IFF_NO_PI) or attaches to an
// existing persistent one, sets its MTU and configures the kernel's side of it (address,
// link up) over rtnetlink. Knows nothing of lwIP; the stack reads and writes it as a link.
#ifndef TUNSTACK_NETIF_TUN_DEVICE_HPP
#define TUNSTACK_NETIF_TUN_DEVICE_HPP

#include "tunstack/netif/link.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/network_v4.hpp>
#include <asio/ip/network_v6.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace tunstack::netif {

/// A failure to open or configure a device. what() is a complete sentence for a person: what
/// failed, why (the system's message) and what to do about it. code() is the errno value.
class device_error : public std::system_error {
 public:
  /// Which classic failure this is, so programs can react (and tests can check) without
  /// parsing the message.
  enum class reason {
    no_tun_driver,      ///< /dev/net/tun is missing or has no driver behind it
    permission,         ///< needs CAP_NET_ADMIN (or access to /dev/net/tun)
    busy,               ///< the device is attached to another process
    wrong_kind,         ///< a device of that name exists but is not a TUN device like this one
    bad_name,           ///< the name is not a valid interface name
    address_in_use,     ///< a kernel-side address is already used elsewhere
    route_conflict,     ///< the kernel would not route the stack's address into this device
    device_gone,        ///< the device disappeared
    other,
  };

  device_error(reason r, std::error_code ec, std::string message)
      : std::system_error(ec), reason_(r), message_(std::move(message)) {}

  reason why() const noexcept { return reason_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  reason reason_;
  std::string message_;
};

/// How to open a TUN device.
struct tun_options {
  /// Interface name, at most 15 characters. A name containing "%d" (e.g. "tun%d") lets the
  /// kernel pick the first free number. Default: "tun0".
  std::string name = "tun0";
  /// MTU in bytes, 68..65535. The device's MTU is set to it. Default: 1500.
  std::size_t mtu = 1500;
  /// Length in packets of the kernel's queue towards the program (the device's txqueuelen),
  /// set on devices this object creates; 0 leaves the kernel's default (500 for TUN). When the
  /// queue is full the kernel drops what it would send into the device, e.g. the SYNs of a
  /// burst of new connections. Default: 40000, which takes 10,000 connects at once: their SYNs,
  /// then each one's ACK and first data while the stack still answers SYNs (measured with
  /// bench/run's conns workload: 14,205 drops at 10000, none at 40000; the queue is a ring of
  /// pointers: 320 KB at 40000).
  std::size_t txqueuelen = 40000;
  /// Let the kernel do TCP's per-packet work (IFF_VNET_HDR + TUNSETOFFLOAD): it hands over
  /// coalesced TCP super-packets of up to 64 KiB with checksums left unfinished, and takes
  /// super-packets that it cuts into segments itself. Far fewer reads, writes and checksums per
  /// byte (see bench/README.md). When the kernel refuses, the device works without them and
  /// offload_status() says why. Turn off to see every packet as the wire carries it (e.g. for
  /// a capture_link, which records super-packets as they are; an impaired_link cuts them up
  /// itself). Default: true.
  bool offload = true;
};

/// The kernel's side of the device: what `ip addr add` / `ip link set up` would configure.
struct kernel_side_config {
  /// The kernel's own address and prefix on the link, e.g. 10.0.3.1/24. The prefix decides
  /// which destinations the kernel routes into the device. Default: none (left as it is).
  std::optional<asio::ip::network_v4> ipv4;
  /// The address the stack answers on this link (e.g. 10.0.3.50). When set, configure_kernel_side
  /// checks that it is not one of the kernel's own addresses and, if @ref ipv4 is set, that the
  /// kernel routes it into this device. Default: none (no checks).
  std::optional<asio::ip::address_v4> stack_ipv4;
  /// The kernel's IPv6 address and prefix on the link, e.g. fd00:3::1/64, added without
  /// duplicate address detection. Needs an MTU of at least 1280. Default: none.
  std::optional<asio::ip::network_v6> ipv6;
  /// The IPv6 address the stack answers; checked as stack_ipv4 is. Default: none.
  std::optional<asio::ip::address_v6> stack_ipv6;
  /// Bring the link up. Default: true.
  bool up = true;
};

/// A TUN device (layer 3: whole IP packets, no packet-information header).
///
/// The device is created when opened and disappears when this object is destroyed, unless it
/// existed before as a persistent device (`ip tuntap add dev tun0 mode tun`): then this object
/// attaches to it, and the device stays after it is destroyed (see created()). A persistent
/// device keeps what its last owner set; this object sets what its reads and writes depend on,
/// whatever that was: with offloads, the virtio-net header's size (10 bytes) and byte order
/// (little-endian; TUNSETVNETHDRSZ, TUNSETVNETLE) and the offloads themselves; without, no
/// offloads at all (TUNSETOFFLOAD 0). A kernel that refuses is a device_error.
///
/// Not copyable or movable: the stack refers to it while it is attached.
///
/// @code
/// asio::io_context io;
/// tunstack::netif::tun_device tun{io, {.name = "tun0", .mtu = 1500}};
/// tun.configure_kernel_side({.ipv4 = asio::ip::make_network_v4("10.0.3.1/24")});
/// @endcode
class tun_device final : public link {
 public:
  /// Opens /dev/net/tun and creates or attaches the device, and sets its MTU.
  /// @throws device_error with a message that names the fix for the classic failures: no TUN
  ///   driver, missing CAP_NET_ADMIN, device busy, a device of that name of another kind; and
  ///   (reason::other) when the kernel refuses the device's header format or offloads.
  tun_device(asio::io_context& io, const tun_options& options);
  ~tun_device() override;
  tun_device(const tun_device&) = delete;
  tun_device& operator=(const tun_device&) = delete;

  /// Configures the kernel's side over rtnetlink: adds the address (an address already on
  /// this device is fine), brings the link up, and checks for conflicts.
  /// @throws device_error (reason::address_in_use when the address is on another interface,
  ///   reason::route_conflict when the stack's address would be routed elsewhere,
  ///   reason::permission without CAP_NET_ADMIN).
  void configure_kernel_side(const kernel_side_config& config);

  /// The kernel's interface index.
  unsigned index() const noexcept { return index_; }
  /// True if this object created the device; false if it attached to a persistent one.
  bool created() const noexcept { return created_; }
  /// The file descriptor (for diagnostics; do not read or write it).
  int native_handle() noexcept { return descriptor_.native_handle(); }

  /// What the kernel offloads, for a person: e.g. "checksums, TCP segmentation (IPv4, IPv6)",
  /// or "off (...)" with the reason (turned off in tun_options, or refused by the kernel).
  const std::string& offload_status() const noexcept { return offload_status_; }

  std::string name() const override { return name_; }
  std::size_t mtu() const noexcept override { return mtu_; }
  std::size_t max_packet_size() const noexcept override { return tso_ ? 65535 : mtu_; }
  send_offloads send_offload_support() const noexcept override { return {.partial_checksums = csum_, .super_packets = tso_}; }
  /// Without offloads, one packet as the kernel sent it. With them, a packet the kernel left
  /// with an unfinished checksum gets it finished here, and a super-packet that does not fit
  /// in @p buffers fails with `asio::error::message_size`: a slow path for callers that know
  /// nothing of offloads. The stack calls receive_offloaded().
  std::size_t receive(std::span<const asio::mutable_buffer> buffers,
                      std::error_code& ec) noexcept override;
  std::size_t receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                std::error_code& ec) noexcept override;
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override;
  void send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                      std::error_code& ec) noexcept override;
  void async_wait_readable(std::function<void(std::error_code)> handler) override;
  void cancel() noexcept override;
  /// tun_rx_super_packets, tun_rx_checksum_trusted, tun_tx_super_packets, and
  /// tun_rx_dropped_gso (super-packets of a kind the stack cannot take, e.g. UDP).
  std::vector<link_counter> counters() const override;

 private:
  struct virtio_header;
  void enable_offloads();
  std::size_t read_packet(std::span<const asio::mutable_buffer> buffers, virtio_header& header,
                          std::error_code& ec) noexcept;

  asio::posix::stream_descriptor descriptor_;
  std::string name_;
  std::size_t mtu_;
  unsigned index_ = 0;
  bool created_ = false;
  bool vnet_header_ = false;  // every read and write starts with a struct virtio_net_hdr
  bool csum_ = false;         // the kernel finishes (or skips) partial checksums
  bool tso_ = false;          // the kernel coalesces and segments TCP
  std::string offload_status_;
  std::uint64_t rx_super_packets_ = 0;
  std::uint64_t rx_checksum_trusted_ = 0;
  std::uint64_t tx_super_packets_ = 0;
  std::uint64_t rx_dropped_gso_ = 0;
};

}  // namespace tunstack::netif

namespace tunstack {
using netif::tun_device;
}

#endif  // TUNSTACK_NETIF_TUN_DEVICE_HPP
