// SPDX-License-Identifier: BSD-3-Clause
// link_clock.cpp - steady_link_clock: pending callbacks ordered by due time behind one timer.
#include "tunstack/netif/link_clock.hpp"

#include <asio/post.hpp>

#include <utility>

namespace tunstack::netif {

steady_link_clock::steady_link_clock(asio::any_io_executor executor) : timer_(std::move(executor)) {}

std::chrono::nanoseconds steady_link_clock::now() const noexcept {
  return std::chrono::steady_clock::now() - epoch_;
}

void steady_link_clock::call_at(std::chrono::nanoseconds when, std::function<void()> f) {
  pending_.emplace(when, std::move(f));  // after equal keys: same-time callbacks keep their order
  arm();
}

// Keeps the timer set for the earliest pending callback; runs everything that is due.
void steady_link_clock::arm() {
  if (pending_.empty()) return;
  const auto first = pending_.begin()->first;
  if (armed_ && armed_for_ <= first) return;
  armed_ = true;
  armed_for_ = first;
  timer_.expires_at(epoch_ + first);  // cancels a later wait (its handler sees the abort)
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled: re-armed for an earlier time, or the clock is going away
    armed_ = false;
    const auto t = now();
    while (!pending_.empty() && pending_.begin()->first <= t) {
      auto f = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      f();
    }
    arm();
  });
}

}  // namespace tunstack::netif
