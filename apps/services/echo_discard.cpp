// echo_discard.cpp - Echo and Discard on TCP and UDP (see echo_discard.hpp), as coroutines.
#include "echo_discard.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <vector>

namespace tunstack::services {
namespace {

using tunstack::tcp;
using tunstack::udp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

using chunk_channel = asio::experimental::channel<void(std::error_code, std::vector<char>)>;

bool orderly(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::operation_aborted || ec == asio::error::connection_reset;
}

// An idle connection waits in a read with a small buffer; a read that fills its buffer makes
// the next one larger (up to echo_chunk), so bulk transfers still read 64 KiB at a time. With
// a 64 KiB buffer for every read, 10,000 idle connections held 640 MiB.
constexpr std::size_t small_chunk = 2 * 1024;

std::size_t next_chunk(std::size_t size, std::size_t got) {
  if (got == size) return std::min(size * 4, echo_chunk);
  if (got <= small_chunk) return small_chunk;
  return size;
}

// Reads chunks and queues them; the channel's capacity bounds what is buffered.
asio::awaitable<std::error_code> echo_reader(tcp::socket& s, chunk_channel& pipe, counters_ptr c) {
  std::error_code result;
  std::size_t chunk = small_chunk;
  for (;;) {
    std::vector<char> data(chunk);
    auto [ec, n] = co_await s.async_read_some(asio::buffer(data), use_tuple);
    if (ec) {
      if (ec != asio::error::eof) result = ec;
      break;
    }
    c->bytes_in += n;
    chunk = next_chunk(data.size(), n);
    data.resize(n);
    auto [send_ec] = co_await pipe.async_send(std::error_code{}, std::move(data), use_tuple);
    if (send_ec) co_return result;  // the writer stopped (and closed the channel)
  }
  // The end of the stream travels through the channel behind the data: closing the channel
  // would drop the chunks still queued in it.
  co_await pipe.async_send(asio::error::eof, std::vector<char>{}, use_tuple);
  co_return result;
}

// Writes queued chunks back; after the reader saw the peer's FIN, half-closes our side.
asio::awaitable<std::error_code> echo_writer(tcp::socket& s, chunk_channel& pipe, counters_ptr c) {
  for (;;) {
    auto [ec, data] = co_await pipe.async_receive(use_tuple);
    if (ec) break;  // eof from the reader: everything it read was written
    auto [write_ec, n] = co_await asio::async_write(s, asio::buffer(data), use_tuple);
    if (write_ec) {
      pipe.close();  // unblocks a reader waiting to queue
      std::error_code ignored;
      s.cancel(ignored);  // and one waiting to read
      co_return write_ec;
    }
    c->bytes_out += n;
  }
  std::error_code ignored;
  s.shutdown(asio::socket_base::shutdown_send, ignored);
  co_return std::error_code{};
}

asio::awaitable<void> echo_session(tcp::socket s, counters_ptr c) {
  session_guard guard{c};
  chunk_channel pipe{s.get_executor(), echo_chunks_in_flight};
  auto [read_ec, write_ec] = co_await (echo_reader(s, pipe, c) && echo_writer(s, pipe, c));
  if ((read_ec && !orderly(read_ec)) || (write_ec && !orderly(write_ec))) ++c->errors;
}

asio::awaitable<void> discard_session(tcp::socket s, counters_ptr c) {
  session_guard guard{c};
  // What discard reads is never looked at, so every session reads into the same buffer (all
  // run on the stack's one thread): an idle connection holds no buffer of its own.
  static std::vector<char> data(echo_chunk);
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(data), use_tuple);
    if (ec) {
      if (!orderly(ec)) ++c->errors;
      break;
    }
    c->bytes_in += n;
  }
}

template <class Session>
asio::awaitable<void> accept_loop(tcp::acceptor acceptor, counters_ptr c, Session session) {
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || ec == asio::error::connection_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(s.get_executor(), session(std::move(s), c), asio::detached);
  }
}

asio::awaitable<void> udp_loop(udp::socket s, counters_ptr c, bool echo) {
  std::vector<char> data(65536);
  udp::endpoint sender;
  for (;;) {
    auto [ec, n] = co_await s.async_receive_from(asio::buffer(data), sender, use_tuple);
    if (ec == asio::error::operation_aborted || ec == asio::error::connection_aborted) co_return;
    if (ec) {
      ++c->errors;
      continue;
    }
    ++c->datagrams_in;
    c->bytes_in += n;
    if (!echo) continue;
    auto [send_ec, sent] = co_await s.async_send_to(asio::buffer(data.data(), n), sender, use_tuple);
    if (send_ec) {
      ++c->errors;
      continue;
    }
    ++c->datagrams_out;
    c->bytes_out += sent;
  }
}

template <class Session>
counters_ptr start_tcp(tunstack::stack& st, std::uint16_t port, const char* name, Session session) {
  auto c = make_counters(name, "tcp", port);
  tcp::acceptor acceptor{st, {tcp::v6(), port}};
  asio::co_spawn(st.get_executor(), accept_loop(std::move(acceptor), c, session), asio::detached);
  return c;
}

counters_ptr start_udp(tunstack::stack& st, std::uint16_t port, const char* name, bool echo) {
  auto c = make_counters(name, "udp", port);
  udp::socket s{st, {udp::v6(), port}};
  asio::co_spawn(st.get_executor(), udp_loop(std::move(s), c, echo), asio::detached);
  return c;
}

}  // namespace

counters_ptr start_tcp_echo(tunstack::stack& st, std::uint16_t port) {
  return start_tcp(st, port, "echo", &echo_session);
}
counters_ptr start_tcp_discard(tunstack::stack& st, std::uint16_t port) {
  return start_tcp(st, port, "discard", &discard_session);
}
counters_ptr start_udp_echo(tunstack::stack& st, std::uint16_t port) { return start_udp(st, port, "echo", true); }
counters_ptr start_udp_discard(tunstack::stack& st, std::uint16_t port) { return start_udp(st, port, "discard", false); }

}  // namespace tunstack::services
