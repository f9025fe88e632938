// SPDX-License-Identifier: BSD-3-Clause
// concepts_test.cpp - tcp::socket models Asio's AsyncReadStream and AsyncWriteStream: Asio's
// composed operations compile with every kind of completion token (callbacks, use_awaitable,
// experimental::deferred, use_future), and they work for real on a loopback link (the stack
// talks to itself), with the io_context on its own thread and the blocking facade on another.
#include "packet.hpp"

#include "tunstack/connect.hpp"
#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"
#include "tunstack/udp.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using tunstack::tcp;
using namespace std::chrono_literals;

static_assert(std::is_same_v<tcp::socket::executor_type, asio::any_io_executor>);
static_assert(std::is_same_v<tcp::acceptor::executor_type, asio::any_io_executor>);
static_assert(std::is_nothrow_move_constructible_v<tcp::socket>);
static_assert(std::is_nothrow_move_assignable_v<tcp::socket>);
static_assert(!std::is_copy_constructible_v<tcp::socket>);
static_assert(std::is_same_v<tcp::endpoint, asio::ip::tcp::endpoint>);
// Layered streams (asio::ssl::stream) find the socket as their lowest layer.
static_assert(std::is_same_v<tcp::socket::lowest_layer_type, tcp::socket>);
static_assert(std::is_same_v<decltype(std::declval<tcp::socket&>().lowest_layer()), tcp::socket&>);
static_assert(std::is_same_v<decltype(std::declval<const tcp::socket&>().lowest_layer()), const tcp::socket&>);
static_assert(std::is_same_v<tcp::socket::wait_type, asio::socket_base::wait_type>);

namespace {

// Never called: instantiating these is the test (the socket satisfies what Asio's composed
// operations require of a stream, for each kind of token).
[[maybe_unused]] void compiles_with_every_token(tcp::socket& s, tcp::acceptor& a, tunstack::udp::socket& u) {
  char data[16];
  std::string line;
  auto callback = [](std::error_code, std::size_t) {};
  asio::async_read(s, asio::buffer(data), callback);
  asio::async_write(s, asio::buffer(data), callback);
  asio::async_read_until(s, asio::dynamic_buffer(line), '\n', callback);
  [[maybe_unused]] std::future<std::size_t> f1 = asio::async_read(s, asio::buffer(data), asio::use_future);
  [[maybe_unused]] std::future<std::size_t> f2 = s.async_write_some(asio::buffer(data), asio::use_future);
  [[maybe_unused]] std::future<tcp::socket> f3 = a.async_accept(asio::use_future);
  [[maybe_unused]] std::future<void> f4 = s.async_connect(tcp::endpoint{}, asio::use_future);
  auto d1 = asio::async_write(s, asio::buffer(data), asio::experimental::deferred);
  auto d2 = s.async_read_some(asio::buffer(data), asio::experimental::deferred);
  auto d3 = a.async_accept(asio::experimental::deferred);
  std::move(d1)(callback);
  std::move(d2)(callback);
  std::move(d3)([](std::error_code, tcp::socket) {});
  tunstack::udp::endpoint from;
  [[maybe_unused]] std::future<std::size_t> f5 = u.async_receive_from(asio::buffer(data), from, asio::use_future);

  // async_wait, available, and the range and iterator connects (found by argument-dependent
  // lookup, as asio::async_connect is for Asio's sockets), with and without a condition.
  s.async_wait(tcp::socket::wait_read, [](std::error_code) {});
  [[maybe_unused]] std::future<void> f6 = s.async_wait(tcp::socket::wait_write, asio::use_future);
  std::move(s.async_wait(tcp::socket::wait_error, asio::experimental::deferred))([](std::error_code) {});
  [[maybe_unused]] std::size_t available = s.available();
  const std::vector<tcp::endpoint> endpoints;
  const asio::ip::tcp::resolver::results_type results;
  auto condition = [](const std::error_code&, const tcp::endpoint&) { return true; };
  async_connect(s, endpoints, [](std::error_code, tcp::endpoint) {});
  async_connect(s, results, condition, [](std::error_code, tcp::endpoint) {});
  [[maybe_unused]] std::future<tcp::endpoint> f7 = tunstack::async_connect(s, results, asio::use_future);
  using iterator = std::vector<tcp::endpoint>::const_iterator;
  tunstack::async_connect(s, endpoints.begin(), endpoints.end(), [](std::error_code, iterator) {});
  tunstack::async_connect(s, endpoints.begin(), endpoints.end(), condition, [](std::error_code, iterator) {});
  auto d4 = tunstack::async_connect(s, endpoints, asio::experimental::deferred);
  std::move(d4)([](std::error_code, tcp::endpoint) {});
  [[maybe_unused]] tcp::endpoint e1 = tunstack::connect(s, results);
  std::error_code ec;
  [[maybe_unused]] tcp::endpoint e2 = tunstack::connect(s, endpoints, condition, ec);
  [[maybe_unused]] iterator i1 = tunstack::connect(s, endpoints.begin(), endpoints.end(), ec);
  s.wait(tcp::socket::wait_read);
}

[[maybe_unused]] asio::awaitable<void> compiles_as_coroutine(tcp::socket& s, tcp::acceptor& a) {
  char data[16];
  std::string line;
  co_await s.async_connect(tcp::endpoint{}, asio::use_awaitable);
  std::size_t n = co_await asio::async_read(s, asio::buffer(data), asio::use_awaitable);
  n += co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
  n += co_await asio::async_read_until(s, asio::dynamic_buffer(line), "\r\n", asio::use_awaitable);
  tcp::socket accepted = co_await a.async_accept(asio::use_awaitable);
  co_await s.async_wait(tcp::socket::wait_read, asio::use_awaitable);
  const std::vector<tcp::endpoint> endpoints;
  [[maybe_unused]] tcp::endpoint peer = co_await async_connect(s, endpoints, asio::use_awaitable);
  (void)n;
}

// A stack whose link hands every packet straight back to it, so it can connect to itself;
// the io_context runs on its own thread, as in a program using the blocking facade.
struct loopback {
  asio::io_context io;
  tunstack::netif::memory_link wire{io.get_executor(), 1500, "loop0"};
  tunstack::stack st{io};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread runner;
  const tcp::endpoint echo{asio::ip::make_address_v4("10.0.3.50"), 7};

  loopback() {
    wire.set_tap([this](tunstack::netif::memory_link::packet p) { wire.inject(p); });
    st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
  }
  void start() {
    work.emplace(io.get_executor());
    runner = std::thread([this] { io.run(); });
  }
  ~loopback() {
    work.reset();
    io.stop();
    if (runner.joinable()) runner.join();
  }
};

// Runs the io_context on this thread until @p done (or 10 s, so that a broken test fails
// rather than hangs).
template <class Done>
void run_until(asio::io_context& io, Done done) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < give_up) io.run_one_for(100ms);
}

// An echo server written as Asio's coroutine examples are.
asio::awaitable<void> echo_session(tcp::socket s) {
  char data[1024];
  try {
    for (;;) {
      std::size_t n = co_await s.async_read_some(asio::buffer(data), asio::use_awaitable);
      co_await asio::async_write(s, asio::buffer(data, n), asio::use_awaitable);
    }
  } catch (const std::system_error&) {
  }
}

asio::awaitable<void> echo_listener(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(s.get_executor(), echo_session(std::move(s)), asio::detached);
  }
}

}  // namespace

TEST_CASE("concepts: coroutines use_future deferred and the blocking facade work on a loopback link") {
  loopback l;
  tcp::acceptor acceptor{l.st, l.echo};
  asio::co_spawn(l.io, echo_listener(acceptor), asio::detached);
  l.start();

  // use_future, from this (non-stack) thread.
  tcp::socket client{l.st};
  client.async_connect(l.echo, asio::use_future).get();
  const std::string message = "through lwIP and back\n";
  CHECK(asio::async_write(client, asio::buffer(message), asio::use_future).get() == message.size());
  std::string line;
  CHECK(asio::async_read_until(client, asio::dynamic_buffer(line), '\n', asio::use_future).get() == message.size());
  CHECK(line == message);

  // experimental::deferred: nothing happens until the deferred operation is launched.
  const std::string later = "deferred\n";  // must outlive the launch, as with any Asio buffer
  auto deferred = asio::async_write(client, asio::buffer(later), asio::experimental::deferred);
  std::promise<std::size_t> written;
  std::move(deferred)([&](std::error_code ec, std::size_t n) {
    CHECK_FALSE(ec);
    written.set_value(n);
  });
  CHECK(written.get_future().get() == 9);
  line.clear();
  asio::async_read_until(client, asio::dynamic_buffer(line), '\n', asio::use_future).get();
  CHECK(line == "deferred\n");

  // The blocking facade.
  tcp::socket blocking{l.st};
  blocking.connect(l.echo);
  CHECK(blocking.write_some(asio::buffer(std::string("abc"))) == 3);
  char reply[3];
  std::size_t got = 0;
  while (got < 3) got += blocking.read_some(asio::buffer(reply + got, 3 - got));
  CHECK(std::string(reply, 3) == "abc");
  tunstack::udp::socket datagrams{l.st, {tunstack::udp::v4(), 9000}};
  tunstack::udp::socket sender{l.st};
  CHECK(sender.send_to(asio::buffer(std::string("dgram")), {asio::ip::make_address_v4("10.0.3.50"), 9000}) == 5);
  char dgram[16];
  tunstack::udp::endpoint from;
  CHECK(datagrams.receive_from(asio::buffer(dgram), from) == 5);
  CHECK(from.address().to_string() == "10.0.3.50");

  // A blocking call on the stack's own thread fails instead of deadlocking.
  std::promise<std::error_code> on_stack_thread;
  asio::post(l.io, [&] {
    std::error_code ec;
    char b[1];
    blocking.read_some(asio::buffer(b), ec);
    on_stack_thread.set_value(ec);
  });
  const std::error_code ec = on_stack_thread.get_future().get();
  CHECK(ec == tunstack::errc::blocking_on_stack_thread);
  CHECK(ec == std::errc::resource_deadlock_would_occur);

  // A blocking accept on this thread, with the client on the stack's thread.
  tcp::acceptor second{l.st, {tcp::v4(), 8}};
  tcp::socket dialer{l.st};
  dialer.async_connect({asio::ip::make_address_v4("10.0.3.50"), 8}, [](std::error_code) {});
  tcp::socket accepted = second.accept();
  CHECK(accepted.remote_endpoint().address().to_string() == "10.0.3.50");

  // Everything on the stack's thread is torn down there, before the io_context stops.
  std::promise<void> closed;
  asio::post(l.io, [&] {
    acceptor.close();
    closed.set_value();
  });
  closed.get_future().get();
}

TEST_CASE("concepts: sockets made from an executor find the stack or say there is none") {
  asio::io_context io;
  CHECK_THROWS_WITH_AS(tcp::acceptor(io.get_executor(), {tcp::v4(), 7}),
                       doctest::Contains("no tunstack::stack runs on this executor's io_context"),
                       std::system_error);
  tunstack::stack st{io};
  tcp::acceptor a{io.get_executor(), {tcp::v4(), 7}};
  CHECK(a.is_open());
  asio::io_context other;
  CHECK_THROWS_AS(tcp::socket(other.get_executor()), std::system_error);
}

TEST_CASE("concepts: closing sockets right after io_context::stop() waits for a running handler") {
  // Regression: stop() does not wait for a handler that is running; a close from this thread
  // must not enter lwIP at the same time as that handler.
  for (int round = 0; round < 20; ++round) {
    loopback l;
    std::vector<tcp::acceptor> acceptors;
    for (unsigned short port = 1000; port < 1050; ++port) acceptors.emplace_back(l.st, tcp::endpoint{tcp::v4(), port});
    std::atomic<bool> busy{false};
    asio::post(l.io, [&] {
      busy = true;
      for (int i = 0; i < 200; ++i) (void)l.st.tcp_connections();  // walks lwIP's pcb lists
    });
    l.start();
    while (!busy) std::this_thread::yield();
    l.io.stop();
    acceptors.clear();  // closes 50 listeners from this thread
  }
}

TEST_CASE("concepts: an executor of another kind of context is not taken for an io_context") {
  // Regression: any_executor::target<T>() is an unchecked cast in Asio 1.22, so a thread_pool's
  // executor was read as an io_context's and the provider got a thread_pool as an io_context.
  asio::thread_pool pool{1};
  bool provider_called = false;
  const auto previous = tunstack::stack::set_provider([&](asio::io_context&) -> tunstack::stack& {
    provider_called = true;
    throw std::runtime_error("the provider must not be asked for a thread_pool");
  });
  std::error_code ec;
  try {
    tcp::socket s{pool.get_executor()};
  } catch (const std::system_error& e) {
    ec = e.code();
  }
  CHECK(ec == tunstack::errc::no_stack);
  CHECK_FALSE(provider_called);
  tunstack::stack::set_provider(previous);

  // With a stack on an io_context, the pool is still not that io_context.
  asio::io_context io;
  tunstack::stack st{io};
  CHECK_THROWS_WITH_AS(tcp::acceptor(pool.get_executor(), {tcp::v4(), 7}),
                       doctest::Contains("not the one the stack runs on"), std::system_error);
  CHECK_THROWS_AS(tunstack::udp::socket(pool.get_executor()), std::system_error);
  pool.join();
}

TEST_CASE("concepts: sockets made from a strand find the stack and complete on the strand") {
  loopback l;
  auto strand = asio::make_strand(l.io);
  tcp::acceptor acceptor{strand, l.echo};
  CHECK(acceptor.get_executor() == asio::any_io_executor{strand});
  tcp::socket client{strand};
  CHECK(client.get_executor() == asio::any_io_executor{strand});

  std::optional<tcp::socket> server;
  bool accept_on_strand = false, connect_on_strand = false, read_on_strand = false, read_done = false;
  acceptor.async_accept([&](std::error_code ec, tcp::socket s) {
    REQUIRE_FALSE(ec);
    accept_on_strand = strand.running_in_this_thread();
    server.emplace(std::move(s));
  });
  client.async_connect(l.echo, [&](std::error_code ec) {
    REQUIRE_FALSE(ec);
    connect_on_strand = strand.running_in_this_thread();
  });
  run_until(l.io, [&] { return server && connect_on_strand; });  // on this thread, on the strand
  REQUIRE(server.has_value());
  CHECK(accept_on_strand);
  CHECK(connect_on_strand);
  CHECK(server->get_executor() == asio::any_io_executor{strand});  // an accepted socket takes the acceptor's
  char byte = 0;
  server->async_read_some(asio::buffer(&byte, 1), [&](std::error_code ec, std::size_t) {
    CHECK_FALSE(ec);
    read_on_strand = strand.running_in_this_thread();
    read_done = true;
  });
  asio::async_write(client, asio::buffer("x", 1), [](std::error_code, std::size_t) {});
  run_until(l.io, [&] { return read_done; });
  CHECK(byte == 'x');
  CHECK(read_on_strand);

  // A blocking call from a handler on the strand (the stack's thread) fails instead of waiting.
  std::error_code blocked;
  bool tried = false;
  asio::post(strand, [&] {
    client.read_some(asio::buffer(&byte, 1), blocked);
    tried = true;
  });
  run_until(l.io, [&] { return tried; });
  CHECK(blocked == tunstack::errc::blocking_on_stack_thread);
}

TEST_CASE("concepts: closing and destroying sockets on another thread never waits for the stack's thread") {
  // The stack's thread runs a handler that waits for another thread, which closes and destroys
  // sockets meanwhile: had those calls waited for the stack's thread, neither would go on.
  loopback l;
  auto acceptor = std::make_unique<tcp::acceptor>(l.st, l.echo);
  std::promise<tcp::socket> accepted;
  acceptor->async_accept([&](std::error_code ec, tcp::socket s) {
    REQUIRE_FALSE(ec);
    accepted.set_value(std::move(s));
  });
  l.start();
  auto client = std::make_unique<tcp::socket>(l.st);
  client->async_connect(l.echo, asio::use_future).get();
  tcp::socket server = accepted.get_future().get();
  auto datagrams = std::make_unique<tunstack::udp::socket>(l.st, tunstack::udp::endpoint{tunstack::udp::v4(), 9001});

  char client_byte = 0, server_byte = 0;
  std::promise<std::error_code> client_read, server_read;
  client->async_read_some(asio::buffer(&client_byte, 1), [&](std::error_code ec, std::size_t) { client_read.set_value(ec); });
  server.async_read_some(asio::buffer(&server_byte, 1), [&](std::error_code ec, std::size_t) { server_read.set_value(ec); });

  std::atomic<bool> closed_while_waiting{false}, open_after_close{true};
  std::promise<void> handler_done, done;  // both outlive the threads that use them
  std::thread other;
  asio::post(l.io, [&] {
    auto finished = done.get_future();
    other = std::thread([&] {
      tcp::socket moved_into{l.st};
      tcp::socket second{l.st};
      moved_into = std::move(second);  // move assignment closes the target first
      client->close();
      open_after_close = client->is_open();
      client.reset();
      acceptor.reset();
      datagrams.reset();
      done.set_value();
    });
    closed_while_waiting = finished.wait_for(10s) == std::future_status::ready;
    handler_done.set_value();
  });
  handler_done.get_future().get();
  other.join();
  CHECK(closed_while_waiting);
  CHECK_FALSE(open_after_close);  // is_open() says so at once, the work follows on the stack's thread

  // What the closes did happened on the stack's thread afterwards: the client's pending read was
  // aborted, and its FIN reached the server.
  auto client_result = client_read.get_future();
  auto server_result = server_read.get_future();
  REQUIRE(client_result.wait_for(10s) == std::future_status::ready);
  REQUIRE(server_result.wait_for(10s) == std::future_status::ready);
  CHECK(client_result.get() == asio::error::operation_aborted);
  CHECK(server_result.get() == asio::error::eof);
  // The port is free again: the acceptor's close happened before this (posted after it).
  tcp::acceptor again{l.st, l.echo};
  CHECK(again.is_open());

  std::promise<void> closed;
  asio::post(l.io, [&] {
    server.close();
    again.close();
    closed.set_value();
  });
  closed.get_future().get();
}

TEST_CASE("concepts: a socket closed on another thread just before the io_context stops still sends its FIN") {
  std::mutex sent_mutex;
  std::vector<tunstack::netif::memory_link::packet> sent;  // by the stack's thread, then the teardown's
  std::optional<loopback> l;
  l.emplace();
  auto* wire = &l->wire;
  wire->set_tap([&, wire](tunstack::netif::memory_link::packet p) {
    {
      const std::lock_guard<std::mutex> guard(sent_mutex);
      sent.push_back(p);
    }
    wire->inject(p);
  });
  auto fin_from = [&](std::uint16_t port) {
    const std::lock_guard<std::mutex> guard(sent_mutex);
    for (const auto& p : sent) {
      const tunstack::testing::ipv4_view ip{p};
      if (!ip.valid() || ip.protocol() != 6) continue;
      const tunstack::testing::tcp_view segment{ip.payload()};
      if (segment.valid() && segment.src_port() == port && segment.has(tunstack::testing::tcp_flag::fin)) return true;
    }
    return false;
  };

  tcp::acceptor acceptor{l->st, l->echo};
  std::promise<tcp::socket> accepted;
  acceptor.async_accept([&](std::error_code ec, tcp::socket s) {
    REQUIRE_FALSE(ec);
    accepted.set_value(std::move(s));
  });
  l->start();
  tcp::socket client{l->st};
  client.async_connect(l->echo, asio::use_future).get();
  tcp::socket server = accepted.get_future().get();
  const std::uint16_t client_port = client.local_endpoint().port();

  // The stack's thread is busy while this thread closes the client and stops the io_context, so
  // the close cannot happen before the stop.
  std::promise<void> holding, release;
  asio::post(l->io, [&] {
    holding.set_value();
    release.get_future().wait();
  });
  holding.get_future().get();
  client.close();
  l->work.reset();
  l->io.stop();
  release.set_value();
  l->runner.join();
  REQUIRE_FALSE(fin_from(client_port));  // not closed yet: the stack's thread never got to it

  l.reset();  // the stack's teardown closes it, gracefully, before it lets go of the interface
  CHECK(fin_from(client_port));
}
