// SPDX-License-Identifier: BSD-3-Clause
// impaired_link.hpp - tunstack::netif::impaired_link, a link decorator that impairs the packets
// passing through it, per direction: loss, duplication, corruption, reordering, delay with
// jitter, and a rate limit, like Linux's netem qdisc but in the process and reproducible from
// a seed. It sits between a device (tun_device, memory_link) and the stack; its counters reach
// the stack's statistics (interface_stats::device).
#ifndef TUNSTACK_NETIF_IMPAIRED_LINK_HPP
#define TUNSTACK_NETIF_IMPAIRED_LINK_HPP

#include "tunstack/netif/link.hpp"
#include "tunstack/netif/link_clock.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace tunstack::netif {

/// What happens to packets in one direction. Percentages are 0..100.
///
/// Each packet goes through the stages in this order: loss → corrupt → duplicate (both copies
/// continue) → reorder → delay (+jitter) and rate. Default: nothing (a pass-through).
struct impairment {
  double loss = 0;        ///< % of packets dropped
  double duplicate = 0;   ///< % of packets sent twice
  double corrupt = 0;     ///< % of packets with one random bit flipped
  double reorder = 0;     ///< % of packets held back and sent after the packet that follows them (or after `reorder_timeout` if none follows)
  std::chrono::nanoseconds delay{0};   ///< added to every packet
  std::chrono::nanoseconds jitter{0};  ///< delay varies uniformly within +/- jitter (never below 0); may reorder packets, as netem's does
  std::uint64_t rate = 0;  ///< bits per second the direction carries (serialisation delay, FIFO); 0: unlimited
  std::size_t queue_limit = 1000;  ///< packets held at once in this direction; more are dropped and counted
  std::chrono::nanoseconds reorder_timeout{std::chrono::milliseconds(10)};

  /// Anything configured (queue_limit and reorder_timeout alone are not an impairment).
  bool active() const noexcept;
};

/// Impairments for both directions, and the seed of their decisions.
struct impairment_config {
  impairment in;   ///< packets towards the stack (what receive() returns)
  impairment out;  ///< packets the stack sends
  std::uint64_t seed = 1;  ///< same seed, same packets in: same decisions
};

/// A link that impairs the packets of the link it wraps.
///
/// Decisions come from a generator of its own (xoshiro256**, one stream per direction derived
/// from the seed), so a run repeats on any standard library, and the packets of one direction
/// do not change the decisions of the other. Held packets (delay, reorder, rate) wait in
/// @p clock's time: pass a manual_link_clock to run in virtual time.
///
/// A direction with nothing active costs nothing: inbound, receive() reads straight into the
/// caller's buffers; outbound, send() writes the caller's buffers. Otherwise packets are copied.
///
/// Counters (after those of the inner link), for d in `in`, `out`: `impair_d_packets` (seen),
/// `impair_d_lost`, `impair_d_duplicated`, `impair_d_corrupted`, `impair_d_reordered`,
/// `impair_d_delayed` (released later than they came), `impair_d_queue_drops` (more than
/// queue_limit held), and `impair_out_send_errors` (held packets the inner link refused later).
///
/// @p inner and @p clock must outlive this link. Not thread-safe: use it on the stack's thread.
///
/// @code
/// tunstack::tun_device tun{io, {.name = "tun0"}};
/// tunstack::netif::steady_link_clock clock{io.get_executor()};
/// tunstack::netif::impaired_link lossy{tun, clock, {.in = {.loss = 2},
///                                                   .out = {.delay = std::chrono::milliseconds(20)},
///                                                   .seed = 7}};
/// tunstack::stack st{io};
/// st.add_interface(lossy, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
/// @endcode
class impaired_link final : public link {
 public:
  /// @throws std::invalid_argument for a percentage outside 0..100 or a zero queue_limit.
  impaired_link(link& inner, link_clock& clock, impairment_config config);
  ~impaired_link() override;

  const impairment_config& config() const noexcept;

  /// The inner link's.
  std::string name() const override;
  /// The inner link's.
  std::size_t mtu() const noexcept override;
  std::size_t receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept override;
  /// Errors of the inner link are returned for packets sent at once; for held packets they are
  /// counted (`impair_out_send_errors`). A packet beyond queue_limit: `no_buffer_space`.
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override;
  /// Completes when the inner link is readable (or failed) or a held packet falls due.
  void async_wait_readable(std::function<void(std::error_code)> handler) override;
  void cancel() noexcept override;
  std::vector<link_counter> counters() const override;

 private:
  struct state;
  std::shared_ptr<state> state_;  // shared: clock callbacks hold it weakly
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_IMPAIRED_LINK_HPP
