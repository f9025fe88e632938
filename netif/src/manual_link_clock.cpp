// SPDX-License-Identifier: BSD-3-Clause
// manual_link_clock.cpp - virtual time for link decorators (see manual_link_clock.hpp).
#include "tunstack/netif/manual_link_clock.hpp"

#include <asio/post.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace tunstack::netif {

manual_link_clock::manual_link_clock(asio::any_io_executor executor) : executor_(std::move(executor)) {}

std::chrono::nanoseconds manual_link_clock::now() const noexcept { return now_; }

void manual_link_clock::call_at(std::chrono::nanoseconds when, std::function<void()> f) {
  if (when <= now_) {
    asio::post(executor_, std::move(f));  // the link_clock contract: never inside this call
    return;
  }
  pending_.emplace(when, std::move(f));
}

std::optional<std::chrono::nanoseconds> manual_link_clock::next_due() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->first;
}

void manual_link_clock::advance_to(std::chrono::nanoseconds t) {
  if (t < now_) {
    throw std::invalid_argument("manual_link_clock::advance_to: " + std::to_string(t.count()) +
                                " ns is before now (" + std::to_string(now_.count()) + " ns)");
  }
  now_ = t;
  // Posted in due order; the executor runs posted handlers in the order they were posted.
  while (!pending_.empty() && pending_.begin()->first <= t) {
    asio::post(executor_, std::move(pending_.begin()->second));
    pending_.erase(pending_.begin());
  }
}

}  // namespace tunstack::netif
