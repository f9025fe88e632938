// SPDX-License-Identifier: BSD-3-Clause
// manual_link_clock.hpp - tunstack::netif::manual_link_clock, a link_clock whose time moves only
// when the owner says so: tests and simulations drive link decorators (impairment delays,
// reordering, rate) in virtual time, so a 25 ms delay costs no real time and a seeded run
// repeats exactly.
#ifndef TUNSTACK_NETIF_MANUAL_LINK_CLOCK_HPP
#define TUNSTACK_NETIF_MANUAL_LINK_CLOCK_HPP

#include "tunstack/netif/link_clock.hpp"

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>

namespace tunstack::netif {

/// A link_clock whose time moves only when told (simulations and tests).
///
/// Time starts at 0. Callbacks are never run inside call_at() or advance_to(): when due they are
/// posted to the executor, so they run the next time it runs handlers (e.g. `io.poll()`).
/// Not thread-safe: use it on the executor's thread.
///
/// @code
/// asio::io_context io;
/// tunstack::netif::manual_link_clock clock{io.get_executor()};
/// clock.call_at(std::chrono::milliseconds(25), [] { std::puts("25 ms"); });
/// while (auto due = clock.next_due()) {  // run a simulation to its end
///   clock.advance_to(*due);
///   io.poll();
/// }
/// @endcode
class manual_link_clock final : public link_clock {
 public:
  explicit manual_link_clock(asio::any_io_executor executor);

  /// The time advance_to() last set; 0 at first.
  std::chrono::nanoseconds now() const noexcept override;

  /// Schedules @p f for @p when. Never runs it inline: a time not after now() is posted to the
  /// executor at once; a later one when advance_to() reaches it.
  void call_at(std::chrono::nanoseconds when, std::function<void()> f) override;

  /// The due time of the earliest pending callback, if any.
  std::optional<std::chrono::nanoseconds> next_due() const;

  /// Moves time to @p t (throws std::invalid_argument if t < now()) and posts every callback due
  /// by then, in due order (same time: scheduling order).
  void advance_to(std::chrono::nanoseconds t);

 private:
  asio::any_io_executor executor_;
  std::chrono::nanoseconds now_{0};
  // Equal keys keep insertion order (multimap inserts after equal keys): scheduling order.
  std::multimap<std::chrono::nanoseconds, std::function<void()>> pending_;
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_MANUAL_LINK_CLOCK_HPP
