// SPDX-License-Identifier: BSD-3-Clause
// memory_link.hpp - tunstack::netif::memory_link, a link whose other end is your code: packets
// you inject() arrive at the stack, and packets the stack sends wait in a queue for you to
// take(). For tests and simulations without a kernel, root or a TUN device (compare smoltcp's
// TestingDevice and gVisor's channel link).
#ifndef TUNSTACK_NETIF_MEMORY_LINK_HPP
#define TUNSTACK_NETIF_MEMORY_LINK_HPP

#include "tunstack/netif/link.hpp"

#include <asio/any_io_executor.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tunstack::netif {

/// An in-memory link. Not thread-safe: use it on the stack's thread.
///
/// @code
/// asio::io_context io;
/// tunstack::netif::memory_link wire{io.get_executor()};  // before the stack: it outlives it
/// tunstack::stack st{io};
/// st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
/// wire.inject(echo_request);     // the "kernel side" sends a packet
/// io.poll();                     // the stack processes it
/// auto reply = wire.take();      // and its answer is queued here
/// @endcode
class memory_link final : public link {
 public:
  using packet = std::vector<std::byte>;

  explicit memory_link(asio::any_io_executor executor, std::size_t mtu = 1500,
                       std::string name = "mem0");

  /// Queues @p bytes as one packet towards the stack and wakes the stack's reader.
  void inject(std::span<const std::byte> bytes);

  /// Queues @p bytes towards the stack with offload metadata, as a TUN device with offloads
  /// would hand it over (e.g. a TCP super-packet with an unfinished checksum).
  void inject(std::span<const std::byte> bytes, const packet_offload& offload);

  /// Takes the oldest packet the stack sent, if any.
  std::optional<packet> take();

  /// A packet the stack sent, with what it asked the kernel to do with it.
  struct sent_packet {
    packet bytes;
    packet_offload offload;
  };
  /// Takes the oldest packet the stack sent, with its offload metadata, if any.
  std::optional<sent_packet> take_offloaded();

  /// From now on the link offloads like a TUN device with IFF_VNET_HDR and TSO: it receives
  /// and sends packets up to 65535 bytes and takes partial checksums and TCP super-packets
  /// (kept as sent: take_offloaded() shows their metadata). Call before attaching the link.
  void enable_offloads() noexcept { offloads_ = true; }
  /// Number of packets the stack sent that were not taken yet.
  std::size_t pending_sent() const noexcept { return sent_.size(); }
  /// Number of injected packets the stack has not read yet.
  std::size_t pending_received() const noexcept { return inbound_.size(); }

  /// Called for every packet the stack sends, before it is queued (e.g. to forward it).
  /// While a tap is set, packets are handed to it and not queued.
  void set_tap(std::function<void(packet)> tap) { tap_ = std::move(tap); }

  /// Makes send() fail with @p ec (e.g. `asio::error::would_block` for a full queue);
  /// a default error_code makes it succeed again.
  void fail_sends_with(std::error_code ec) noexcept { send_error_ = ec; }
  /// Makes receive() fail with @p ec from now on, as a deleted device would.
  void fail_receives_with(std::error_code ec);

  std::string name() const override { return name_; }
  std::size_t mtu() const noexcept override { return mtu_; }
  std::size_t max_packet_size() const noexcept override { return offloads_ ? 65535 : mtu_; }
  send_offloads send_offload_support() const noexcept override {
    return {.partial_checksums = offloads_, .super_packets = offloads_};
  }
  std::size_t receive(std::span<const asio::mutable_buffer> buffers,
                      std::error_code& ec) noexcept override;
  std::size_t receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                std::error_code& ec) noexcept override;
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override;
  void send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                      std::error_code& ec) noexcept override;
  void async_wait_readable(std::function<void(std::error_code)> handler) override;
  void cancel() noexcept override;

 private:
  void wake(std::error_code ec);

  asio::any_io_executor executor_;
  std::size_t mtu_;
  std::string name_;
  std::deque<sent_packet> inbound_;  // with the metadata the stack is handed
  std::deque<sent_packet> sent_;
  bool offloads_ = false;
  std::function<void(packet)> tap_;
  std::function<void(std::error_code)> waiter_;
  std::error_code send_error_;
  std::error_code receive_error_;
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_MEMORY_LINK_HPP
