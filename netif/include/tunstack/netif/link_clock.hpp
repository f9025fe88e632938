// SPDX-License-Identifier: BSD-3-Clause
// link_clock.hpp - tunstack::netif::link_clock, the time source of link decorators that hold
// packets back (impairment: delay, reordering, rate) or stamp them (pcap capture). Real links
// use steady_link_clock; a simulation passes its virtual clock, so that delays cost no real
// time and a seeded run repeats exactly.
#ifndef TUNSTACK_NETIF_LINK_CLOCK_HPP
#define TUNSTACK_NETIF_LINK_CLOCK_HPP

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>

namespace tunstack::netif {

/// A clock that can also call back at a given time.
class link_clock {
 public:
  link_clock() = default;
  link_clock(const link_clock&) = delete;
  link_clock& operator=(const link_clock&) = delete;
  virtual ~link_clock() = default;

  /// The current time, since the clock's own epoch.
  virtual std::chrono::nanoseconds now() const noexcept = 0;

  /// Calls @p f once when now() has reached @p when, through the clock's executor (never inside
  /// this call, even for a time already past). Callbacks due at the same time run in the order
  /// they were scheduled. Pending callbacks are dropped when the clock is destroyed; callers
  /// that may go first must guard their callback (e.g. with a weak_ptr).
  virtual void call_at(std::chrono::nanoseconds when, std::function<void()> f) = 0;
};

/// Real time: std::chrono::steady_clock (epoch: the clock's construction) and one
/// asio::steady_timer on @p executor for every pending callback.
class steady_link_clock final : public link_clock {
 public:
  explicit steady_link_clock(asio::any_io_executor executor);

  std::chrono::nanoseconds now() const noexcept override;
  void call_at(std::chrono::nanoseconds when, std::function<void()> f) override;

 private:
  void arm();

  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
  std::multimap<std::chrono::nanoseconds, std::function<void()>> pending_;
  bool armed_ = false;
  std::chrono::nanoseconds armed_for_{};
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_LINK_CLOCK_HPP
