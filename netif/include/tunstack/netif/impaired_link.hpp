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
/// Over a link that offloads to the kernel (a tun_device with offloads, or a memory_link with
/// enable_offloads()), an impaired direction still works on packets as a wire carries them,
/// so that 2% loss loses 2% of the segments and not 2% of 64 KiB super-packets:
///  - inbound, a TCP super-packet is cut into its segments first, as the kernel would cut it
///    for a device without offloads (each with right checksums); the segments are impaired one
///    by one and reach the stack as ordinary packets. A packet whose checksum the link vouched
///    for stays so unless it is corrupted: then its checksum is made whole before the bit flips,
///    and it is no longer vouched for, so the stack's check catches it;
///  - outbound, send_offload_support() says the link takes no offloads, so the stack sends
///    ordinary packets with whole checksums;
///  - a direction with nothing active passes super-packets and their metadata through (and
///    max_packet_size() is the inner link's either way).
///
/// Counters (after those of the inner link), for d in `in`, `out`: `impair_d_packets` (seen),
/// `impair_d_lost`, `impair_d_duplicated`, `impair_d_corrupted`, `impair_d_reordered`,
/// `impair_d_delayed` (released later than they came), `impair_d_queue_drops` (more than
/// queue_limit held), `impair_out_send_errors` (held packets the inner link refused later), and
/// `impair_in_segmented` (inbound super-packets cut into segments).
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
  /// The inner link's: super-packets arrive whole and are cut here (impaired inbound) or pass
  /// through (not impaired).
  std::size_t max_packet_size() const noexcept override;
  /// Nothing while the outbound direction is impaired; otherwise the inner link's.
  send_offloads send_offload_support() const noexcept override;
  /// Packets with checksums finished, for callers that know nothing of offloads.
  std::size_t receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept override;
  /// Packets with their offload metadata (see above).
  std::size_t receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                std::error_code& ec) noexcept override;
  /// Errors of the inner link are returned for packets sent at once; for held packets they are
  /// counted (`impair_out_send_errors`). A packet beyond queue_limit: `no_buffer_space`.
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override;
  /// To the inner link as it is while the outbound direction is not impaired; otherwise like
  /// send(), and a super-packet or partial checksum fails with `asio::error::message_size`.
  void send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                      std::error_code& ec) noexcept override;
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
