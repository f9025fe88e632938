// SPDX-License-Identifier: BSD-3-Clause
// stack.hpp - tunstack::stack: lwIP running on an asio::io_context. It owns lwIP's state and
// timers, attaches links (TUN devices, in-memory links) as interfaces, and is the executor on
// which every socket of tunstack's API runs. No lwIP type appears here.
#ifndef TUNSTACK_STACK_HPP
#define TUNSTACK_STACK_HPP

#include "tunstack/log.hpp"
#include "tunstack/stats.hpp"
#include "tunstack/trace.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/network_v4.hpp>
#include <asio/ip/network_v6.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

namespace tunstack {

namespace netif {
class link;
}
namespace detail {
class stack_impl;
}

/// Where lwIP's clock comes from.
enum class clock_kind {
  /// std::chrono::steady_clock; lwIP's timers run on an asio::steady_timer.
  steady,
  /// A clock that only stack::advance_time() moves: timers run inside advance_time(), so tests
  /// and simulations control time exactly (retransmissions, TIME-WAIT) without waiting.
  manual,
};

/// Options for a stack; every field has a default.
struct stack_options {
  /// The clock behind lwIP's sys_now(). Default: clock_kind::steady.
  clock_kind clock = clock_kind::steady;
  /// Seed for lwIP's random numbers (ephemeral ports, the secret behind initial sequence
  /// numbers). The same seed with the manual clock reproduces a run. Default: random.
  std::optional<std::uint64_t> seed;
  /// Receives the stack's log lines (see log_sink: after the fact, never inside lwIP).
  /// Default: none (silent).
  log_sink log;
  /// The most verbose level handed to @ref log; lines above it are not even formatted.
  /// Default: log_level::info.
  log_level log_max = log_level::info;
  /// Packets read from one link per wake-up before other work gets a turn. Default: 64.
  std::size_t rx_batch = 64;
  /// After a link runs dry, keep reading it for this long before sleeping until it is
  /// readable again. Costs a CPU spinning while traffic comes in bursts; saves the sender the
  /// kernel's wake-up of a sleeping reader for each packet, and the reader its latency (see
  /// bench/README.md for what it buys). Real time, also with the manual clock. Default: 0 (off).
  std::chrono::microseconds busy_poll{0};
  /// The most memory lwIP's buffers may take (everything received and not yet read, the send
  /// queues, out-of-order data, counted as the buffers really take it), in bytes. Above it the
  /// stack sheds load: out-of-order queues are emptied and new out-of-order data dropped, and a
  /// connection that already holds more than 16 KiB unread (or unsent) takes no more data in
  /// (its segments are dropped unread; the peer sends them again later) and writes no more,
  /// until the total is below the limit again. A connection with less goes on, so a new, small
  /// exchange is still served. 0: no limit. Default: 0; the tunstack program sets 1 GiB.
  std::size_t memory_limit = 0;
  /// A connection the application has closed, whose queued data and FIN the peer acknowledges
  /// nothing of for this long, is reset (lwIP patch 0014): a peer that keeps its window closed
  /// and answers every probe cannot hold it, and its send buffer, forever. Progress, however
  /// slow, restarts the clock. 0: no limit. Default: 60 s.
  std::chrono::milliseconds orphan_timeout{60000};
  /// Receives a TCP trace: every segment in and out, every state transition, every change of
  /// a connection's congestion figures (see trace.hpp). Costs a scan of lwIP's connections per
  /// packet while set. Default: none.
  trace_sink trace;
};

/// How the stack uses one link.
struct interface_config {
  /// The stack's IPv4 address and prefix on this link, e.g. 10.0.3.50/24. The first interface
  /// with an address is also the default route. Default: none.
  std::optional<asio::ip::network_v4> ipv4;
  /// The stack's IPv6 addresses and prefixes on this link, e.g. fd00:3::50/64. They are valid
  /// at once (no duplicate address detection: a TUN link has no other hosts). Default: none.
  std::vector<asio::ip::network_v6> ipv6;
  /// Called on the stack's thread when the link fails for good (e.g. the TUN device was
  /// deleted); the interface is down from then on. Default: the failure is only logged.
  std::function<void(std::error_code)> on_link_failure;
};

/// Identifies one interface of a stack.
struct interface_id {
  std::size_t value = 0;
  friend bool operator==(interface_id, interface_id) = default;
};

/// lwIP, running on one asio::io_context.
///
/// lwIP is a process-wide singleton, so there is at most one stack per process at a time; a
/// second one throws std::logic_error. Destroy a stack and another may be created.
///
/// @par Thread safety
/// Every member function, and every lwIP call the stack makes, runs on the thread that runs
/// the io_context (or, before it runs, on the thread that created the stack). Other threads
/// post to get_executor(). Debug builds abort with a message when lwIP is entered from another
/// thread.
///
/// @code
/// asio::io_context io;
/// tunstack::tun_device tun{io, {.name = "tun0"}};  // before the stack: it must outlive it
/// tun.configure_kernel_side({.ipv4 = asio::ip::make_network_v4("10.0.3.1/24")});
/// tunstack::stack st{io};
/// st.add_interface(tun, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
/// io.run();  // answers `ping 10.0.3.50`
/// @endcode
class stack {
 public:
  using executor_type = asio::io_context::executor_type;

  /// Initialises lwIP and starts its timers.
  /// @throws std::logic_error if another stack exists in this process.
  explicit stack(asio::io_context& io, stack_options options = {});
  /// Removes every interface, frees every lwIP connection and stops the timers. Destroy
  /// sockets first; links must outlive the stack or be removed before they are destroyed.
  ~stack();
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  executor_type get_executor() const noexcept;
  /// True on the thread allowed to call into the stack.
  bool running_in_this_thread() const noexcept;

  /// Attaches @p link as a network interface and starts reading packets from it. The link must
  /// stay alive until remove_interface() or the stack's destruction.
  /// @throws std::invalid_argument for a link whose MTU is below 68 bytes.
  interface_id add_interface(netif::link& link, const interface_config& config);
  /// Detaches an interface: no more packets are read from or written to its link.
  void remove_interface(interface_id id);

  /// A snapshot of the stack's counters.
  stack_stats stats() const;
  /// Every TCP pcb lwIP has: listeners, connections, and those in TIME-WAIT.
  std::vector<tcp_connection_info> tcp_connections() const;

  /// lwIP's current time (milliseconds since the stack started; wraps after 49.7 days).
  std::chrono::milliseconds now() const;
  /// Time until lwIP's next timer is due, or nullopt if none is pending. lwIP counts in
  /// milliseconds; with the manual clock, which keeps nanoseconds, this is exact.
  std::optional<std::chrono::nanoseconds> next_timer() const;
  /// Moves the manual clock forward by @p d, running every timer when it falls due (lwIP sees
  /// whole milliseconds; the clock keeps the rest, so small steps add up exactly).
  /// @throws std::logic_error unless the stack uses clock_kind::manual.
  void advance_time(std::chrono::nanoseconds d);

  /// The stack that runs on @p ex's io_context: this process's stack, or, if there is none and
  /// a provider is set (set_provider), the one the provider makes. This is how sockets made from
  /// an executor alone (as Asio code does: `tcp::acceptor a(executor, endpoint)`) find their
  /// stack. @p ex may be the io_context's executor or a strand of it: its execution context
  /// (asio::query(ex, asio::execution::context)) is compared with the stack's io_context.
  /// @throws std::system_error with tunstack::errc::no_stack if there is no such stack, or if
  /// @p ex is not an io_context's (a thread_pool's executor, say; the provider is not asked), or
  /// with the provider's error if it could not make one. An error dropped without its what()
  /// ever being read (as asio::detached drops a coroutine's exception) is printed to stderr.
  static stack& for_executor(const asio::any_io_executor& ex);

  /// Makes a stack for an io_context that has none; see for_executor(). The provider owns
  /// what it makes (e.g. as an io_context service, so that it is destroyed with it).
  using provider = std::function<stack&(asio::io_context&)>;
  /// Sets the provider (an empty function removes it). Returns the previous one.
  static provider set_provider(provider p);

  /// For tunstack's own socket types; not part of the application API.
  detail::stack_impl& impl() const noexcept { return *impl_; }

 private:
  static stack& find_for_executor(const asio::any_io_executor& ex);

  std::shared_ptr<detail::stack_impl> impl_;
};

}  // namespace tunstack

#endif  // TUNSTACK_STACK_HPP
