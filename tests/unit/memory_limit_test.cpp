// SPDX-License-Identifier: BSD-3-Clause
// memory_limit_test.cpp - the memory ceiling (stack_options::memory_limit): peers that push data
// an application never reads fill lwIP's buffers up to the limit and no further, segments beyond
// it are dropped unread (and counted), and a connection that holds little still exchanges data.
// Peers are played with crafted segments on the in-memory link (tcp_peer).
#include "tcp_peer.hpp"
#include "test_stack.hpp"

#include "tunstack/tcp.hpp"

#include <doctest/doctest.h>

#include <list>

using namespace tunstack::testing;

namespace {

constexpr std::size_t limit = 256 * 1024;

tunstack::stack_options limited() {
  auto o = test_stack::manual_clock();
  o.memory_limit = limit;
  return o;
}

// A peer that connects to port 7 and sends @p segments of 1000 bytes, in order, never reading
// what comes back; the application accepts and never reads either.
struct pusher {
  tcp_peer peer;
  std::optional<tunstack::tcp::socket> socket;
  pusher(test_stack& t, std::uint16_t port) : peer(t, 7, false, port) {}
  void push(int segments) {
    const bytes data(1000, std::byte{'p'});
    for (int i = 0; i < segments; ++i) {
      peer.send({.seq = peer.snd_nxt, .ack = peer.rcv_nxt, .flags = tcp_flag::ack | tcp_flag::psh,
                 .window = 0, .payload = data});
      peer.snd_nxt += static_cast<std::uint32_t>(data.size());
    }
  }
};

}  // namespace

TEST_CASE("memory limit: pushing peers fill lwIP's buffers to the limit, no further; a small exchange still works") {
  test_stack t{"10.0.3.50/24", limited()};
  tunstack::tcp::acceptor acceptor{t.st, {tunstack::tcp::v4(), 7}};
  std::list<pusher> pushers;
  std::list<tunstack::tcp::socket> accepted;
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](std::error_code ec, tunstack::tcp::socket s) {
      if (!ec) accepted.push_back(std::move(s));
      accept_next();
    });
  };
  accept_next();
  t.run();
  // 40 connections, each pushing 100 segments of 1000 bytes: 4 MB, sixteen times the limit.
  for (std::uint16_t i = 0; i < 40; ++i) {
    pushers.emplace_back(t, static_cast<std::uint16_t>(41000 + i));
    pushers.back().peer.establish();
  }
  REQUIRE(accepted.size() == 40);
  for (auto& p : pushers) p.push(100);
  const auto s = t.st.stats();
  MESSAGE("lwIP memory " << s.memory.heap_used << " bytes (limit " << limit << "), " << s.memory.segments_shed
                         << " segments shed");
  CHECK(s.memory.limit == limit);
  CHECK(s.memory.segments_shed > 0);
  // Each connection may still take up to 16 KiB of data when the total is over the limit: 17
  // segments of 1000 bytes, each in a pool pbuf of 1600 bytes (and its bookkeeping).
  CHECK(s.memory.heap_used <= limit + 40 * 17 * (1600 + 128));
  CHECK(s.memory.heap_used >= limit / 2);

  // A fresh connection that holds nothing: its small request is taken and echoed.
  tcp_peer fresh{t, 7, false, 42000};
  fresh.establish();
  REQUIRE(accepted.size() == 41);
  const bytes hello{std::byte{'h'}, std::byte{'i'}};
  fresh.send({.seq = fresh.snd_nxt, .ack = fresh.rcv_nxt, .flags = tcp_flag::ack | tcp_flag::psh, .payload = hello});
  fresh.snd_nxt += 2;
  char buffer[8] = {};
  std::size_t got = 0;
  accepted.back().async_read_some(asio::buffer(buffer), [&](std::error_code ec, std::size_t n) {
    REQUIRE_FALSE(ec);
    got = n;
  });
  t.run();
  CHECK(got == 2);
  CHECK(std::string(buffer, 2) == "hi");
}

TEST_CASE("memory limit: none by default, and the same load then takes what the windows allow") {
  test_stack t;
  tunstack::tcp::acceptor acceptor{t.st, {tunstack::tcp::v4(), 7}};
  std::optional<tunstack::tcp::socket> socket;
  acceptor.async_accept([&](std::error_code, tunstack::tcp::socket s) { socket.emplace(std::move(s)); });
  t.run();
  pusher p{t, 41000};
  p.peer.establish();  // no window scaling: a window of 64 KiB
  p.push(60);
  const auto s = t.st.stats();
  CHECK(s.memory.limit == 0);
  CHECK(s.memory.segments_shed == 0);
  CHECK(s.memory.heap_used >= 60 * 1000);
}
