// SPDX-License-Identifier: BSD-3-Clause
// coroutine_echo_server.cpp - an echo server (RFC 862) with C++20 coroutines, on IPv4 and IPv6
// at once: the acceptor is bound to the unspecified IPv6 address, which takes both families.
//
//   sudo ip netns exec NS ./coroutine_echo_server 7
//   echo hello | nc -N 10.0.3.50 7        echo hello | nc -6 -N fd00:3::50 7
#include "network.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <cstdlib>
#include <iostream>

using tunstack::tcp;

asio::awaitable<void> echo(tcp::socket socket) {
  char data[4096];
  try {
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::system_error& e) {
    if (e.code() != asio::error::eof) std::cerr << "echo: " << e.what() << '\n';
  }
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(socket.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

int main(int argc, char** argv) {
  try {
    const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 7);
    asio::io_context io;
    example::network net{io};
    asio::co_spawn(io, listen(tcp::acceptor{net.stack, {tcp::v6(), port}}), asio::detached);
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    std::cerr << "example: echo on port " << port << " (IPv4 and IPv6)\n";
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "coroutine_echo_server: " << e.what() << '\n';
    return 1;
  }
}
