// link.hpp - tunstack::netif::link, the seam between a device that carries IP packets and the
// stack. Links know nothing of lwIP: the stack's one netif adapter (stack/src/netif_adapter.cpp)
// reads packets from a link straight into lwIP's buffers and writes lwIP's output to it.
// Implementations: tun_device (a kernel TUN device), memory_link (in-memory, for tests), and
// decorators that wrap another link: pcap capture, impairment (loss, delay, ...).
#ifndef TUNSTACK_NETIF_LINK_HPP
#define TUNSTACK_NETIF_LINK_HPP

#include <asio/buffer.hpp>

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
