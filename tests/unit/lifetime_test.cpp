// SPDX-License-Identifier: BSD-3-Clause
// lifetime_test.cpp - what happens to pending operations when sockets are closed, cancelled,
// moved or destroyed, when lwIP frees a pcb by itself, and when the stack goes away first.
// Completions never run inside the initiating call. Runs under ASan in scripts/test.
#include "outcome.hpp"
#include "packet.hpp"
#include "tcp_peer.hpp"
#include "test_stack.hpp"

#include "tunstack/tcp.hpp"
#include "tunstack/udp.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string_view>
#include <variant>

using namespace tunstack::testing;
using namespace std::chrono_literals;
using tunstack::tcp;

namespace {

// A stack the test destroys before its sockets, with a listener on port 7.
struct doomed_stack {
  asio::io_context io;
  tunstack::netif::memory_link wire{io.get_executor()};
  std::optional<tunstack::stack> st;
  std::optional<tcp::acceptor> acceptor;
  doomed_stack() {
    st.emplace(io, test_stack::manual_clock());
    st->add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
    acceptor.emplace(*st, tcp::endpoint{tcp::v4(), 7});
  }
};

}  // namespace

TEST_CASE("lifetime: close completes a pending read and write with operation_aborted") {
  test_stack t;
  accepted_connection c{t};
  c.peer.window = 0;
  c.peer.ack();
  std::vector<char> big(2 * 1024 * 1024);
  outcome fill;
  c.socket->async_write_some(asio::buffer(big), fill.handler());  // fills the buffer
  t.run();
  REQUIRE(fill.n == 1024 * 1024);
  outcome read, write;
  char buffer[8];
  c.socket->async_read_some(asio::buffer(buffer), read.handler());
  c.socket->async_write_some(asio::buffer(big), write.handler());
  t.run();
  REQUIRE_FALSE(read.done);
  REQUIRE_FALSE(write.done);
  c.socket->close();
  CHECK_FALSE(read.done);  // posted, not run inside close()
  t.run();
  CHECK(read.ec == asio::error::operation_aborted);
  CHECK(write.ec == asio::error::operation_aborted);
  CHECK_FALSE(c.socket->is_open());
  outcome after;
  c.socket->async_read_some(asio::buffer(buffer), after.handler());
  t.run();
  CHECK(after.ec == asio::error::bad_descriptor);
}

TEST_CASE("lifetime: destroying a socket completes its pending read with operation_aborted") {
  test_stack t;
  accepted_connection c{t};
  outcome read;
  char buffer[8];
  c.socket->async_read_some(asio::buffer(buffer), read.handler());
  t.run();
  c.socket.reset();
  t.run();
  REQUIRE(read.done);
  CHECK(read.ec == asio::error::operation_aborted);
  const auto fin = c.peer.receive();  // and the connection was closed gracefully
  REQUIRE(fin.has_value());
  CHECK(fin->tcp().has(tcp_flag::fin));
}

TEST_CASE("lifetime: a socket moved while a read is pending still completes it") {
  test_stack t;
  accepted_connection c{t};
  outcome read;
  char buffer[8];
  c.socket->async_read_some(asio::buffer(buffer), read.handler());
  t.run();
  tcp::socket moved = std::move(*c.socket);
  CHECK_FALSE(c.socket->is_open());  // the moved-from socket is closed
  CHECK(moved.is_open());
  c.peer.send_data(text("hi"));
  REQUIRE(read.done);
  CHECK_FALSE(read.ec);
  CHECK(std::string(buffer, read.n) == "hi");
}

TEST_CASE("lifetime: cancel aborts pending operations and the socket stays usable") {
  test_stack t;
  accepted_connection c{t};
  outcome read;
  char buffer[8];
  c.socket->async_read_some(asio::buffer(buffer), read.handler());
  t.run();
  c.socket->cancel();
  t.run();
  CHECK(read.ec == asio::error::operation_aborted);
  outcome again;
  c.socket->async_read_some(asio::buffer(buffer), again.handler());
  c.peer.send_data(text("ok"));
  CHECK(std::string(buffer, again.n) == "ok");
}

TEST_CASE("lifetime: a cancellation slot aborts just that read") {
  test_stack t;
  accepted_connection c{t};
  asio::cancellation_signal signal;
  outcome read;
  char buffer[8];
  c.socket->async_read_some(asio::buffer(buffer), asio::bind_cancellation_slot(signal.slot(), read.handler()));
  t.run();
  signal.emit(asio::cancellation_type::terminal);
  t.run();
  REQUIRE(read.done);
  CHECK(read.ec == asio::error::operation_aborted);
  c.peer.send_data(text("still connected"));
  outcome next;
  c.socket->async_read_some(asio::buffer(buffer), next.handler());
  t.run();
  CHECK_FALSE(next.ec);
}

TEST_CASE("lifetime: a zero-size read completes at once with success but never inline") {
  test_stack t;
  accepted_connection c{t};
  outcome read;
  c.socket->async_read_some(asio::mutable_buffer(), read.handler());
  CHECK_FALSE(read.done);
  t.run();
  CHECK(read.done);
  CHECK_FALSE(read.ec);
  CHECK(read.n == 0);
}

TEST_CASE("lifetime: two reads at once are refused with already_started") {
  test_stack t;
  accepted_connection c{t};
  outcome first, second;
  char a[8], b[8];
  c.socket->async_read_some(asio::buffer(a), first.handler());
  c.socket->async_read_some(asio::buffer(b), second.handler());
  t.run();
  CHECK_FALSE(first.done);
  CHECK(second.ec == asio::error::already_started);
}

TEST_CASE("lifetime: closing an acceptor aborts its accept and resets connections nobody accepted") {
  test_stack t;
  tcp::acceptor acceptor{t.st, {tcp::v4(), 7}};
  tcp_peer waiting{t, 7, false, 40001};
  waiting.establish();  // in the backlog, not accepted
  std::optional<std::error_code> accept_result;
  tcp::acceptor other{t.st, {tcp::v4(), 8}};
  other.async_accept([&](std::error_code ec, tcp::socket) { accept_result = ec; });
  t.run();
  other.close();
  t.run();
  CHECK(accept_result == std::optional<std::error_code>{asio::error::operation_aborted});
  acceptor.close();
  t.run();
  const auto rst = waiting.receive();
  REQUIRE(rst.has_value());
  CHECK(rst->tcp().has(tcp_flag::rst));
}

TEST_CASE("lifetime: when the stack goes first pending operations complete with connection_aborted") {
  doomed_stack d;
  auto& io = d.io;
  auto& st = d.st;
  auto& acceptor = d.acceptor;
  tcp::socket client{*st};
  outcome connect_outcome;
  client.async_connect({asio::ip::make_address_v4("10.0.3.1"), 80},
                       [&](std::error_code ec) { connect_outcome.done = true, connect_outcome.ec = ec; });
  std::optional<std::error_code> accept_result;
  acceptor->async_accept([&](std::error_code ec, tcp::socket) { accept_result = ec; });
  tunstack::udp::socket datagrams{*st, {tunstack::udp::v4(), 53}};
  outcome receive;
  tunstack::udp::endpoint sender;
  char buffer[8];
  datagrams.async_receive_from(asio::buffer(buffer), sender, receive.handler());
  io.poll();

  st.reset();  // the stack goes away with everything still open
  io.restart();
  io.poll();
  CHECK(connect_outcome.ec == asio::error::connection_aborted);
  CHECK(accept_result == std::optional<std::error_code>{asio::error::connection_aborted});
  CHECK(receive.ec == asio::error::connection_aborted);
  // The sockets survive the stack; using them reports the abort, destroying them is safe.
  outcome late;
  client.async_read_some(asio::buffer(buffer), late.handler());
  io.restart();
  io.poll();
  CHECK(late.ec == asio::error::connection_aborted);
  CHECK_FALSE(client.is_open());
  acceptor.reset();
}

TEST_CASE("lifetime: a stack destroyed with connections waiting in a backlog tears down cleanly") {
  // Regression: the listener let go of its queued connections while the stack's teardown still
  // meant to notify them.
  doomed_stack d;
  auto& io = d.io;
  auto& wire = d.wire;
  auto& st = d.st;
  auto& acceptor = d.acceptor;
  for (std::uint16_t port = 41000; port < 41016; ++port) {
    const auto syn = build_tcp({.src_port = port, .dst_port = 7, .seq = 1, .flags = tcp_flag::syn,
                                .options = {.mss = 1460}},
                               asio::ip::make_address_v4("10.0.3.1"), asio::ip::make_address_v4("10.0.3.50"));
    wire.inject(build_ipv4({.protocol = 6}, syn));
    io.restart();
    io.poll();
    const auto synack = parse_ip(*wire.take());
    REQUIRE(synack.has_value());
    const auto ack = build_tcp({.src_port = port, .dst_port = 7, .seq = 2, .ack = synack->tcp().seq() + 1},
                               asio::ip::make_address_v4("10.0.3.1"), asio::ip::make_address_v4("10.0.3.50"));
    wire.inject(build_ipv4({.protocol = 6}, ack));
    io.restart();
    io.poll();
  }
  CHECK(st->tcp_connections().size() == 17);  // the listener and 16 in its backlog
  st.reset();
  acceptor.reset();
}

// lwIP's TCP input and output are not re-entrant (tcp_input keeps the segment in file-level
// statics; tcp_output walks the pcb's queues), and the stack produces trace events and log lines
// in the middle of them. A sink that calls back into the stack must therefore run after lwIP is
// done: these sinks act on the first packet the stack sends, and the wire shows whether that
// packet left whole before what the sink did.
TEST_CASE("lifetime: a trace sink may close a socket; it runs after lwIP is done with the segment") {
  std::function<void(const tunstack::trace_event&)> on_event;
  auto options = test_stack::manual_clock();
  options.trace = [&](const tunstack::trace_event& e) {
    if (on_event) on_event(e);
  };
  test_stack t{"10.0.3.50/24", options};
  accepted_connection c{t};
  int closed_in_sink = 0;
  on_event = [&](const tunstack::trace_event& e) {
    const auto* segment = std::get_if<tunstack::trace_segment>(&e);
    if (segment != nullptr && segment->outbound && c.socket && c.socket->is_open()) {
      c.socket->close();  // with unread data: a reset, and lwIP frees the pcb
      ++closed_in_sink;
    }
  };
  c.peer.send_data(text("one"));  // acknowledged later (delayed ACK)
  c.peer.send_data(text("two"));  // lwIP acknowledges the second segment at once, inside tcp_input
  t.run();
  CHECK(closed_in_sink == 1);
  const auto segments = c.peer.receive_all();
  REQUIRE(segments.size() == 2);
  CHECK(segments[0].tcp().flags() == tcp_flag::ack);  // lwIP's ACK left whole, first
  CHECK(segments[0].tcp().ack() == c.peer.snd_nxt);
  CHECK(segments[1].tcp().has(tcp_flag::rst));  // then the sink's close
  CHECK(t.tcp_state(7) == "");
}

TEST_CASE("lifetime: a log sink may write on a socket; it runs after lwIP is done with the packet") {
  std::function<void(tunstack::log_level, std::string_view)> on_line;
  auto options = test_stack::manual_clock();
  options.log_max = tunstack::log_level::debug;  // one line per packet, from inside lwIP's output
  options.log = [&](tunstack::log_level level, std::string_view line) {
    if (on_line) on_line(level, line);
  };
  test_stack t{"10.0.3.50/24", options};
  const auto leaks = t.leaks.sink();
  accepted_connection c{t};
  int writes = 0;
  std::optional<std::error_code> written;
  const std::string reply = "reply";
  on_line = [&](tunstack::log_level level, std::string_view line) {
    leaks(level, line);
    if (writes == 0 && line.starts_with("tx ") && c.socket) {
      ++writes;
      c.socket->async_write_some(asio::buffer(reply), [&](std::error_code ec, std::size_t) { written = ec; });
    }
  };
  c.peer.send_data(text("one"));
  c.peer.send_data(text("two"));
  t.run();
  CHECK(writes == 1);
  REQUIRE(written.has_value());
  CHECK_FALSE(*written);
  const auto segments = c.peer.receive_all();
  REQUIRE(segments.size() == 2);
  CHECK(segments[0].tcp().flags() == tcp_flag::ack);  // the ACK lwIP was sending, first
  CHECK(segments[0].payload_text().empty());
  CHECK(segments[1].payload_text() == reply);  // then the sink's write
}
