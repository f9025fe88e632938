// SPDX-License-Identifier: BSD-3-Clause
// callback_line_server.cpp - a line protocol with plain callbacks and asio::async_read_until:
// every line a client sends is answered with "you said: <line>"; the line "bye" ends the
// session. Each session keeps itself alive with shared_from_this, the classic Asio idiom.
//
//   printf 'hello\nbye\n' | nc -N 10.0.3.50 7000
#include "network.hpp"

#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>

#include <iostream>
#include <memory>
#include <string>

using tunstack::tcp;

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket socket) : socket_(std::move(socket)) {}

  void start() { read_line(); }

 private:
  void read_line() {
    asio::async_read_until(socket_, asio::dynamic_buffer(input_, 4096), '\n',
                           [self = shared_from_this()](std::error_code ec, std::size_t n) {
                             if (!ec) self->answer(n);
                           });
  }

  void answer(std::size_t n) {
    std::string line = input_.substr(0, n - 1);
    input_.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const bool last = line == "bye";
    reply_ = last ? "goodbye\n" : "you said: " + line + "\n";
    asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this(), last](std::error_code ec, std::size_t) {
      if (ec) return;
      if (last) {
        self->socket_.shutdown(asio::socket_base::shutdown_send);
      } else {
        self->read_line();
      }
    });
  }

  tcp::socket socket_;
  std::string input_;
  std::string reply_;
};

void accept_next(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](std::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<session>(std::move(socket))->start();
    accept_next(acceptor);
  });
}

int main(int argc, char** argv) {
  try {
    const auto port = static_cast<unsigned short>(argc > 1 ? std::atoi(argv[1]) : 7000);
    asio::io_context io;
    example::network net{io};
    tcp::acceptor acceptor{net.stack, {tcp::v6(), port}};
    accept_next(acceptor);
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](std::error_code, int) { io.stop(); });
    std::cerr << "example: line server on port " << port << '\n';
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "callback_line_server: " << e.what() << '\n';
    return 1;
  }
}
