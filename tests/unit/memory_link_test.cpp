// SPDX-License-Identifier: BSD-3-Clause
// memory_link_test.cpp - the in-memory link honours the link contract: one packet per call,
// scatter reads, would_block when empty, message_size when a packet does not fit, and waits
// that complete through the executor, never inline.
#include "tunstack/netif/memory_link.hpp"

#include "packet.hpp"

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <array>

using namespace tunstack::testing;

TEST_CASE("memory_link: receive scatters one packet and then reports would_block") {
  asio::io_context io;
  tunstack::netif::memory_link link{io.get_executor()};
  link.inject(to_bytes({1, 2, 3, 4, 5}));
  std::array<std::byte, 2> a{};
  std::array<std::byte, 8> b{};
  const std::array<asio::mutable_buffer, 2> buffers{asio::buffer(a), asio::buffer(b)};
  std::error_code ec;
  CHECK(link.receive(buffers, ec) == 5);
  CHECK_FALSE(ec);
  CHECK(a[1] == std::byte{2});
  CHECK(b[2] == std::byte{5});
  link.receive(buffers, ec);
  CHECK(ec == asio::error::would_block);
}

TEST_CASE("memory_link: a packet larger than the buffers is reported as message_size") {
  asio::io_context io;
  tunstack::netif::memory_link link{io.get_executor()};
  link.inject(bytes(10));
  std::array<std::byte, 4> small{};
  const std::array<asio::mutable_buffer, 1> buffers{asio::buffer(small)};
  std::error_code ec;
  CHECK(link.receive(buffers, ec) == 4);
  CHECK(ec == asio::error::message_size);
  CHECK(link.pending_received() == 0);
}

TEST_CASE("memory_link: a wait completes through the executor, not inside the call") {
  asio::io_context io;
  tunstack::netif::memory_link link{io.get_executor()};
  int calls = 0;
  std::error_code result = asio::error::fault;
  link.async_wait_readable([&](std::error_code ec) { ++calls; result = ec; });
  link.inject(to_bytes({0x45}));
  CHECK(calls == 0);
  io.poll();
  CHECK(calls == 1);
  CHECK_FALSE(result);
}

TEST_CASE("memory_link: cancel completes a pending wait with operation_aborted") {
  asio::io_context io;
  tunstack::netif::memory_link link{io.get_executor()};
  std::error_code result;
  link.async_wait_readable([&](std::error_code ec) { result = ec; });
  link.cancel();
  io.poll();
  CHECK(result == asio::error::operation_aborted);
}

TEST_CASE("memory_link: sent packets are queued in order, or handed to a tap") {
  asio::io_context io;
  tunstack::netif::memory_link link{io.get_executor()};
  const bytes p1 = to_bytes({1}), p2 = to_bytes({2, 2});
  const std::array<asio::const_buffer, 1> b1{asio::buffer(p1)};
  const std::array<asio::const_buffer, 1> b2{asio::buffer(p2)};
  std::error_code ec;
  link.send(b1, ec);
  link.send(b2, ec);
  CHECK(link.take() == p1);
  CHECK(link.take() == p2);
  CHECK_FALSE(link.take().has_value());
  int tapped = 0;
  link.set_tap([&](tunstack::netif::memory_link::packet) { ++tapped; });
  link.send(b1, ec);
  CHECK(tapped == 1);
  CHECK(link.pending_sent() == 0);
}
