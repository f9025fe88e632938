// SPDX-License-Identifier: BSD-3-Clause
// echo_discard.cpp - Echo and Discard on TCP and UDP (see echo_discard.hpp), as coroutines.
#include "echo_discard.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <memory>
#include <vector>

namespace tunstack::services {
namespace {

using tunstack::tcp;
using tunstack::udp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool orderly(const std::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::operation_aborted || ec == asio::error::connection_reset;
}

// The next read's size: doubles while reads come back full (a fast sender gets large reads
// after a few), back to echo_first_chunk after a small one (an idle connection waits with a
// small buffer: a 64 KiB one per waiting read cost 10,000 idle connections 700 MB of RSS).
std::size_t next_read_size(std::size_t size, std::size_t n) {
  if (n == size) return std::min(size * 2, echo_chunk);
  return n <= echo_first_chunk ? echo_first_chunk : size;
}

// A connection's read buffer: reallocated only when next_read_size changes its size, and never
// zero-filled (a 64 KiB memset per read showed in the upload profile).
class read_buffer {
 public:
  asio::mutable_buffer sized(std::size_t size) {
    if (size != size_) {
      data_.reset();  // the old one goes first: never both at once
      data_ = std::make_unique_for_overwrite<char[]>(size);
      size_ = size;
    }
    return {data_.get(), size_};
  }
  const char* data() const noexcept { return data_.get(); }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

// Reads what the peer sends and writes it back, a chunk at a time. While a write waits for
// send space nothing is read, so TCP's flow control holds the sender back (and lwIP's 1 MiB
// send buffer keeps that rare). One coroutine and one buffer per connection: the reader,
// writer and channel this replaced cost 4.5 KiB more per idle connection.
asio::awaitable<void> echo_session(tcp::socket s, counters_ptr c) {
  session_guard guard{c};
  // No Nagle: a request larger than the first read comes back in two writes, and Nagle would
  // hold the second until the first is acknowledged, which a peer that waits for the whole
  // answer delays (its delayed ACK: 40 ms per 1 KiB request/response, measured by bench/run).
  std::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  std::size_t size = echo_first_chunk;
  read_buffer data;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(data.sized(size), use_tuple);
    if (ec == asio::error::eof) {  // everything read was written back: close our side too
      std::error_code ignored;
      s.shutdown(asio::socket_base::shutdown_send, ignored);
      break;
    }
    if (ec) {
      if (!orderly(ec)) ++c->errors;
      break;
    }
    c->bytes_in += n;
    auto [write_ec, written] = co_await asio::async_write(s, asio::buffer(data.data(), n), use_tuple);
    if (write_ec) {
      if (!orderly(write_ec)) ++c->errors;
      break;
    }
    c->bytes_out += written;
    size = next_read_size(size, n);
  }
}

asio::awaitable<void> discard_session(tcp::socket s, counters_ptr c) {
  session_guard guard{c};
  std::size_t size = echo_first_chunk;
  read_buffer data;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(data.sized(size), use_tuple);
    if (ec) {
      if (!orderly(ec)) ++c->errors;
      break;
    }
    c->bytes_in += n;
    size = next_read_size(size, n);
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
  // The default backlog (SOMAXCONN, 4,096) bounds the half-open connections too. More let a
  // burst of 10,000 connects in without a retry, but 10,000 spoofed SYNs then stalled the
  // established connections for over 5 s (lwIP walks a list of all PCBs per segment; with
  // 4,096 the slowest echo round of the syn_flood test took 1.1 s).
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
