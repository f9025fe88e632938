// SPDX-License-Identifier: BSD-3-Clause
// kv_protocol_sim_test.cpp - testing your own protocol code against a real TCP/IP stack without
// the kernel: kv_protocol.hpp's server and three clients run on tunstack::sim, whose wire loses
// 10% of the packets in each direction and delays them by 5 ms. Virtual time makes the
// retransmission timeouts cost nothing, and the seed makes every run the same.
#include "kv_protocol.hpp"

#include "tunstack/sim/network.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// One client: SET then GET each of its keys, then QUIT; every reply is checked.
asio::awaitable<void> client(tunstack::sim::network& net, int id, int commands, std::vector<std::string>& failures,
                             int& finished) {
  tunstack::tcp::socket socket{net.stack()};
  socket.bind({net.client_address(), 0});  // leave through the simulation's client interface
  std::string input;
  auto ask = [&](const std::string& line, const std::string& expected) -> asio::awaitable<void> {
    const std::string request = line + "\n";
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    const std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(input), '\n', asio::use_awaitable);
    const std::string reply = input.substr(0, n - 1);
    input.erase(0, n);
    if (reply != expected) failures.push_back(line + " -> " + reply + " (expected " + expected + ")");
  };
  try {
    co_await socket.async_connect({net.server_address(), 7070}, asio::use_awaitable);
    for (int i = 0; i < commands; ++i) {
      const std::string key = "k" + std::to_string(id) + "-" + std::to_string(i);
      co_await ask("SET " + key + " value of " + key, "OK");
      co_await ask("GET " + key, "VALUE value of " + key);
    }
    co_await ask("GET nothing-" + std::to_string(id), "NOT_FOUND");
    co_await ask("QUIT", "BYE");
    char byte;
    std::error_code ec;
    co_await socket.async_read_some(asio::buffer(&byte, 1), asio::redirect_error(asio::use_awaitable, ec));
    if (ec != asio::error::eof) failures.push_back("client " + std::to_string(id) + ": no end of stream after BYE: " + ec.message());
  } catch (const std::system_error& e) {
    failures.push_back("client " + std::to_string(id) + ": " + e.what());
  }
  ++finished;
}

}  // namespace

TEST_CASE("kv protocol: three clients, 100 SET/GET pairs each, through 10% loss each way") {
  const tunstack::netif::impairment lossy{.loss = 10, .delay = 5ms};
  tunstack::sim::network net{{.seed = 42, .client_to_server = lossy, .server_to_client = lossy}};
  kv::store db;
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), 7070}};
  asio::co_spawn(net.io(), kv::listen(acceptor, db), asio::detached);

  std::vector<std::string> failures;
  int finished = 0;
  for (int id = 0; id < 3; ++id) asio::co_spawn(net.io(), client(net, id, 100, failures, finished), asio::detached);

  const auto started = std::chrono::steady_clock::now();
  REQUIRE(net.run_until([&] { return finished == 3; }, 1h));
  const auto real = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

  for (const auto& f : failures) FAIL_CHECK(f);
  CHECK(db.size() == 300);
  std::uint64_t lost = 0;
  for (const auto& c : net.wire_counters()) {
    if (c.name.ends_with("_lost")) lost += c.value;
  }
  CHECK(lost > 0);  // the wire really lost packets, and the protocol still got every answer
  MESSAGE("virtual time " << std::chrono::duration_cast<std::chrono::milliseconds>(net.now()).count() << " ms, real time "
                          << real.count() << " ms, packets lost on the wire " << lost);
}
