// SPDX-License-Identifier: BSD-3-Clause
// link.hpp - tunstack::netif::link, the seam between a device that carries IP packets and the
// stack. Links know nothing of lwIP: the stack's one netif adapter (stack/src/netif_adapter.cpp)
// reads packets from a link straight into lwIP's buffers and writes lwIP's output to it.
// Implementations: tun_device (a kernel TUN device), memory_link (in-memory, for tests), and
// decorators that wrap another link: pcap capture, impairment (loss, delay, ...).
#ifndef TUNSTACK_NETIF_LINK_HPP
#define TUNSTACK_NETIF_LINK_HPP

#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace tunstack::netif {

/// One counter a link keeps beyond the stack's own (e.g. packets an impairment decorator
/// dropped), named for statistics: lower_case words, e.g. "impair_out_lost".
struct link_counter {
  std::string name;
  std::uint64_t value = 0;
  friend bool operator==(const link_counter&, const link_counter&) = default;
};

/// What travels with a packet when a link offloads work to the kernel (the meaning of Linux's
/// virtio_net_hdr, without its layout). A link without offloads leaves it all zero.
struct packet_offload {
  /// Received packets: the TCP or UDP checksum need not be checked. The kernel checked it, or
  /// left it unfinished ("partial") because the packet never left the machine.
  bool checksum_trusted = false;
  /// Sent TCP packets: the checksum field holds only the pseudo-header sum; the kernel
  /// finishes it (or, delivering the packet locally, needs none). Implied by segment_size.
  bool checksum_partial = false;
  /// 0 for an ordinary packet. Otherwise the packet is a TCP super-packet (IPv4 without
  /// options, or IPv6 without extension headers; up to 64 KiB) that stands for a run of
  /// segments of this many payload bytes each: received, the kernel coalesced them; sent, the
  /// kernel cuts it up, and its checksum is partial.
  std::uint16_t segment_size = 0;
  /// Sent super-packets: the length of their IP and TCP headers together, in bytes.
  std::uint16_t header_length = 0;
};

/// What a link's send_offloaded() takes beyond ordinary packets.
struct send_offloads {
  bool partial_checksums = false;  ///< TCP packets with packet_offload::checksum_partial
  bool super_packets = false;      ///< TCP super-packets (packet_offload::segment_size)
};

/// A device that carries whole IP packets (layer 3, no link header), one packet per call.
///
/// Every member is called on the stack's thread. receive() and send() never block: the stack's
/// event loop must never wait on a device.
class link {
 public:
  link() = default;
  link(const link&) = delete;
  link& operator=(const link&) = delete;
  /// Tells the stack (if attached) that the link is gone, so it stops using it.
  virtual ~link() {
    if (on_destroy_) on_destroy_();
  }

  /// For the stack: @p f runs when this link is destroyed while still attached (it must not
  /// call the link). Keeps a link destroyed before its stack from being used afterwards.
  void set_destroy_notification(std::function<void()> f) { on_destroy_ = std::move(f); }

  /// The device's name, for logs and statistics (e.g. "tun0").
  virtual std::string name() const = 0;

  /// The largest packet the link carries, in bytes (the device MTU).
  virtual std::size_t mtu() const noexcept = 0;

  /// Reads one packet into @p buffers (scatter), without blocking.
  /// @returns the packet's size. On failure @p ec is set:
  ///  - `asio::error::would_block`: no packet is queued; wait with async_wait_readable();
  ///  - `asio::error::message_size`: the packet did not fit in @p buffers and was discarded;
  ///  - anything else: the device failed (e.g. it was deleted); the link is unusable.
  virtual std::size_t receive(std::span<const asio::mutable_buffer> buffers,
                              std::error_code& ec) noexcept = 0;

  /// Sends one packet gathered from @p buffers, without blocking.
  /// On failure @p ec is set; `asio::error::would_block` or `no_buffer_space` means the
  /// device's queue is full and the packet was not sent (the stack drops and counts it).
  virtual void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept = 0;

  /// The largest packet receive_offloaded() returns and send_offloaded() takes: mtu() unless
  /// the link coalesces and segments TCP (then up to 65535). Default: mtu().
  virtual std::size_t max_packet_size() const noexcept { return mtu(); }

  /// What send_offloaded() takes beyond ordinary packets. Default: nothing.
  virtual send_offloads send_offload_support() const noexcept { return {}; }

  /// receive(), and what the kernel says about the packet (see packet_offload). The stack calls
  /// this one, with buffers of max_packet_size(). Default: receive(), with @p offload zero.
  virtual std::size_t receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                        std::error_code& ec) noexcept {
    offload = {};
    return receive(buffers, ec);
  }

  /// send(), with what the kernel should do with the packet (see packet_offload). Default:
  /// send() for an ordinary packet; anything else fails with `asio::error::message_size`.
  virtual void send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                              std::error_code& ec) noexcept {
    if (offload.segment_size != 0 || offload.checksum_partial) {
      ec = asio::error::message_size;
      return;
    }
    send(buffers, ec);
  }

  /// Calls @p handler once, through the link's executor (never inside this call), when
  /// receive() may return a packet or an error. cancel() completes it with
  /// `asio::error::operation_aborted`.
  virtual void async_wait_readable(std::function<void(std::error_code)> handler) = 0;

  /// Cancels a pending async_wait_readable().
  virtual void cancel() noexcept = 0;

  /// The link's own counters, for the stack's statistics. Decorators append theirs to those
  /// of the link they wrap. Default: none.
  virtual std::vector<link_counter> counters() const { return {}; }

 private:
  std::function<void()> on_destroy_;
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_LINK_HPP
