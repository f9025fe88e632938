// SPDX-License-Identifier: BSD-3-Clause
// kv_protocol.hpp - "your protocol code": a tiny line-based key-value server, written only
// against tunstack's socket API, as any Asio server would be. kv_protocol_sim_test.cpp tests it
// through tunstack::sim under 10% packet loss, without the kernel, root or real time.
//
// The protocol, one command per line:
//   SET <key> <value>   ->  OK
//   GET <key>           ->  VALUE <value>   or   NOT_FOUND
//   QUIT                ->  BYE (and the server closes the connection)
//   anything else       ->  ERROR <reason>
#ifndef TUNSTACK_EXAMPLES_KV_PROTOCOL_HPP
#define TUNSTACK_EXAMPLES_KV_PROTOCOL_HPP

#include "tunstack/tcp.hpp"

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <map>
#include <string>
#include <string_view>

namespace kv {

using store = std::map<std::string, std::string, std::less<>>;

/// One command line (without its newline) -> the reply line (without its newline).
inline std::string handle(store& db, std::string_view line, bool& quit) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto space = line.find(' ');
  const std::string_view command = line.substr(0, space);
  const std::string_view rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  if (command == "SET") {
    const auto gap = rest.find(' ');
    if (rest.empty() || gap == 0 || gap == std::string_view::npos) return "ERROR usage: SET <key> <value>";
    db.insert_or_assign(std::string(rest.substr(0, gap)), std::string(rest.substr(gap + 1)));
    return "OK";
  }
  if (command == "GET") {
    if (rest.empty() || rest.find(' ') != std::string_view::npos) return "ERROR usage: GET <key>";
    const auto it = db.find(rest);
    return it == db.end() ? "NOT_FOUND" : "VALUE " + it->second;
  }
  if (command == "QUIT" && rest.empty()) {
    quit = true;
    return "BYE";
  }
  return "ERROR unknown command";
}

/// Serves one connection until QUIT, the end of the stream or an error.
inline asio::awaitable<void> serve(tunstack::tcp::socket socket, store& db) {
  std::string input;
  bool quit = false;
  try {
    while (!quit) {
      const std::size_t n =
          co_await asio::async_read_until(socket, asio::dynamic_buffer(input, 4096), '\n', asio::use_awaitable);
      const std::string reply = handle(db, std::string_view(input).substr(0, n - 1), quit) + "\n";
      input.erase(0, n);
      co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
    }
    socket.shutdown(asio::socket_base::shutdown_send);
  } catch (const std::system_error&) {
    // the client went away (eof, reset): nothing to answer
  }
}

/// Accepts connections for ever, serving each in its own coroutine.
inline asio::awaitable<void> listen(tunstack::tcp::acceptor& acceptor, store& db) {
  for (;;) {
    tunstack::tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(socket.get_executor(), serve(std::move(socket), db), asio::detached);
  }
}

}  // namespace kv

#endif  // TUNSTACK_EXAMPLES_KV_PROTOCOL_HPP
