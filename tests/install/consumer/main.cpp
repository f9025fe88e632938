// SPDX-License-Identifier: BSD-3-Clause
// main.cpp - uses the installed tunstack::sim: a connection through a lossy simulated wire,
// one message echoed by hand. Exits 0 only if the message came back.
#include "tunstack/sim/network.hpp"
#include "tunstack/tcp.hpp"

#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

int main() {
  using namespace std::chrono_literals;
  tunstack::sim::network net{{.seed = 2, .client_to_server = {.loss = 20}, .server_to_client = {.loss = 20}}};
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), 5000}};
  std::optional<tunstack::tcp::socket> server;
  char at_server[5] = {};
  acceptor.async_accept([&](std::error_code ec, tunstack::tcp::socket s) {
    if (ec) return;
    server.emplace(std::move(s));
    asio::async_read(*server, asio::buffer(at_server), [&](std::error_code rec, std::size_t) {
      if (!rec) asio::async_write(*server, asio::buffer(at_server), [](std::error_code, std::size_t) {});
    });
  });
  tunstack::tcp::socket client{net.stack()};
  client.bind({net.client_address(), 0});
  char back[5] = {};
  bool done = false;
  client.async_connect({net.server_address(), 5000}, [&](std::error_code ec) {
    if (ec) return;
    asio::async_write(client, asio::buffer("hello", 5), [&](std::error_code, std::size_t) {});
    asio::async_read(client, asio::buffer(back), [&](std::error_code rec, std::size_t) { done = !rec; });
  });
  if (!net.run_until([&] { return done; }, 10min) || std::string(back, 5) != "hello") {
    std::fprintf(stderr, "consumer: the message did not come back\n");
    return 1;
  }
  std::printf("consumer: hello came back through a 20%% lossy wire after %lld ms of virtual time\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(net.now()).count()));
  return 0;
}
