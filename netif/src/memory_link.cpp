// SPDX-License-Identifier: BSD-3-Clause
// memory_link.cpp - the in-memory link used by tests and simulations (see memory_link.hpp).
#include "tunstack/netif/memory_link.hpp"

#include <asio/error.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace tunstack::netif {

memory_link::memory_link(asio::any_io_executor executor, std::size_t mtu, std::string name)
    : executor_(std::move(executor)), mtu_(mtu), name_(std::move(name)) {}

void memory_link::inject(std::span<const std::byte> bytes) { inject(bytes, {}); }

void memory_link::inject(std::span<const std::byte> bytes, const packet_offload& offload) {
  inbound_.push_back({packet(bytes.begin(), bytes.end()), offload});
  wake({});
}

std::optional<memory_link::packet> memory_link::take() {
  auto p = take_offloaded();
  if (!p) return std::nullopt;
  return std::move(p->bytes);
}

std::optional<memory_link::sent_packet> memory_link::take_offloaded() {
  if (sent_.empty()) return std::nullopt;
  sent_packet p = std::move(sent_.front());
  sent_.pop_front();
  return p;
}

void memory_link::fail_receives_with(std::error_code ec) {
  receive_error_ = ec;
  wake(ec);
}

std::size_t memory_link::receive(std::span<const asio::mutable_buffer> buffers,
                                 std::error_code& ec) noexcept {
  packet_offload ignored;
  return receive_offloaded(buffers, ignored, ec);
}

std::size_t memory_link::receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                           std::error_code& ec) noexcept {
  offload = {};
  if (receive_error_) {
    ec = receive_error_;
    return 0;
  }
  if (inbound_.empty()) {
    ec = asio::error::would_block;
    return 0;
  }
  sent_packet p = std::move(inbound_.front());
  inbound_.pop_front();
  const std::size_t copied = asio::buffer_copy(buffers, asio::buffer(p.bytes));
  ec = copied < p.bytes.size() ? std::error_code{asio::error::message_size} : std::error_code{};
  offload = p.offload;
  return copied;
}

void memory_link::send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
  send_offloaded(buffers, {}, ec);
}

void memory_link::send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                                 std::error_code& ec) noexcept {
  if ((offload.segment_size != 0 || offload.checksum_partial) && !offloads_) {
    ec = asio::error::message_size;
    return;
  }
  if (send_error_) {
    ec = send_error_;
    return;
  }
  ec = {};
  packet p(asio::buffer_size(buffers));
  asio::buffer_copy(asio::buffer(p), buffers);
  if (tap_) {
    tap_(std::move(p));
  } else {
    sent_.push_back({std::move(p), offload});
  }
}

void memory_link::async_wait_readable(std::function<void(std::error_code)> handler) {
  waiter_ = std::move(handler);
  if (!inbound_.empty() || receive_error_) wake({});
}

void memory_link::cancel() noexcept { wake(asio::error::operation_aborted); }

// Completes a pending wait through the executor, never inline (the link contract).
void memory_link::wake(std::error_code ec) {
  if (!waiter_) return;
  asio::post(executor_, [h = std::exchange(waiter_, nullptr), ec]() { h(ec); });
}

}  // namespace tunstack::netif
