// SPDX-License-Identifier: BSD-3-Clause
// stack_test.cpp - tunstack::stack's own behaviour: one stack per process, a clean teardown
// that lets the next stack start afresh, lwIP's timers on the manual and the steady clock,
// link failures and full device queues, and the on-stack-thread check.
#include "packet.hpp"
#include "test_stack.hpp"

#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"

#include "lwip/udp.h"

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>

using namespace tunstack::testing;
using namespace std::chrono_literals;

TEST_CASE("stack: a second stack in one process fails with a clear error") {
  asio::io_context io;
  tunstack::stack first{io};
  try {
    tunstack::stack second{io};
    FAIL("a second stack was created");
  } catch (const std::logic_error& e) {
    const std::string what = e.what();
    CHECK(what.find("already exists") != std::string::npos);
    CHECK(what.find("one stack") != std::string::npos);
  }
}

TEST_CASE("stack: after a stack is destroyed a new one starts afresh and answers") {
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    test_stack t;
    CHECK(t.st.stats().icmp4.recv == 0);  // counters start at zero for every stack
    const auto reply = t.exchange(echo_request({.sequence = static_cast<std::uint16_t>(round)}));
    REQUIRE(reply.has_value());
    CHECK(icmp_echo_view{ipv4_view{*reply}.payload()}.sequence() == round);
  }
}

TEST_CASE("stack: with the manual clock lwIP's timers run exactly when due and are re-armed") {
  test_stack t;
  CHECK(t.st.now() == 0ms);
  const auto first = t.st.next_timer();
  REQUIRE(first.has_value());
  REQUIRE(*first > 0ms);
  CHECK(*first <= 1000ms);  // lwIP's cyclic timers (reassembly, ND) tick every second

  const auto runs = t.st.stats().timer_runs;
  t.st.advance_time(*first - 1ms);
  CHECK(t.st.stats().timer_runs == runs);      // not yet due
  CHECK(t.st.next_timer() == 1ms);
  t.st.advance_time(1ms);
  CHECK(t.st.stats().timer_runs == runs + 1);  // ran once, on time
  const auto again = t.st.next_timer();
  REQUIRE(again.has_value());                  // and re-armed for the next period
  CHECK(*again > 0ms);
  CHECK(*again <= 1000ms);

  t.st.advance_time(10s);                      // ten more periods pass in one call
  CHECK(t.st.stats().timer_runs >= runs + 10);
  CHECK(t.st.now() == *first + 10s);
}

TEST_CASE("stack: advance_time needs the manual clock") {
  asio::io_context io;
  tunstack::stack st{io};
  CHECK_THROWS_AS(st.advance_time(1ms), std::logic_error);
}

TEST_CASE("stack: with the steady clock the asio timer fires and is re-armed") {
  asio::io_context io;
  tunstack::stack st{io};
  const auto due = st.next_timer();
  REQUIRE(due.has_value());
  // Run the loop until lwIP's timers have run twice: the first run re-armed the timer.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (st.stats().timer_runs < 2 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(100ms);
    io.restart();
  }
  CHECK(st.stats().timer_runs >= 2);
}

TEST_CASE("stack: a failing link calls on_link_failure and marks the interface down") {
  asio::io_context io;
  tunstack::stack st{io, test_stack::manual_clock()};
  tunstack::netif::memory_link wire{io.get_executor()};
  std::error_code failure;
  st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24"),
                          .on_link_failure = [&](std::error_code ec) { failure = ec; }});
  io.poll();
  io.restart();
  CHECK(st.stats().interfaces.at(0).up);
  wire.fail_receives_with(asio::error::bad_descriptor);
  io.poll();
  CHECK(failure == asio::error::bad_descriptor);
  CHECK_FALSE(st.stats().interfaces.at(0).up);
}

TEST_CASE("stack: a full device queue drops the reply and counts it; later replies go out") {
  test_stack t;
  t.wire.fail_sends_with(asio::error::would_block);
  CHECK_FALSE(t.exchange(echo_request({.sequence = 1})).has_value());
  CHECK(t.link_stats().link.tx_dropped_queue_full == 1);
  t.wire.fail_sends_with({});
  CHECK(t.exchange(echo_request({.sequence = 2})).has_value());
  CHECK(t.link_stats().link.tx_packets == 1);
}

TEST_CASE("stack: a removed interface reads no more packets") {
  test_stack t;
  t.st.remove_interface(t.id);
  t.wire.inject(echo_request());
  t.run();
  CHECK_FALSE(t.wire.take().has_value());
  CHECK(t.wire.pending_received() == 1);
  CHECK_THROWS_AS(t.st.remove_interface(t.id), std::invalid_argument);
}

TEST_CASE("stack: a link with an MTU below 68 bytes is refused") {
  asio::io_context io;
  tunstack::stack st{io};
  tunstack::netif::memory_link tiny{io.get_executor(), 60, "tiny0"};
  CHECK_THROWS_AS(st.add_interface(tiny, {}), std::invalid_argument);
}

#ifndef NDEBUG
TEST_CASE("stack: entering lwIP from another thread aborts with a message (debug builds)") {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGABRT, SIG_DFL);  // doctest's crash handler must not report the child's abort
    ::dup2(pipe_fds[1], STDERR_FILENO);
    asio::io_context io;
    tunstack::stack st{io};
    tunstack::netif::memory_link wire{io.get_executor()};
    // The public API routes calls to the stack's thread; entering lwIP directly from another
    // thread (as a mistaken extension might) is what the check catches.
    std::thread other([] { udp_new(); });
    other.join();
    ::_exit(0);  // reaching this means the check did not fire
  }
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[512];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) output.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(output.find("stack's thread") != std::string::npos);
}
#endif

TEST_CASE("stack: a link destroyed before the stack is no longer used") {
  asio::io_context io;
  tunstack::stack st{io, test_stack::manual_clock()};
  {
    tunstack::netif::memory_link wire{io.get_executor()};
    st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
    io.poll();
  }  // wire is gone; the stack must not call it again, also not when it is destroyed
  io.restart();
  io.poll();
  CHECK_FALSE(st.stats().interfaces.at(0).up);
}

namespace {

// Forwards to a memory_link and counts the reads and the waits the stack asks for.
class counting_link final : public tunstack::netif::link {
 public:
  explicit counting_link(tunstack::netif::memory_link& inner) : inner_(inner) {}
  std::size_t receives = 0;
  std::size_t waits = 0;

  std::string name() const override { return inner_.name(); }
  std::size_t mtu() const noexcept override { return inner_.mtu(); }
  std::size_t receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept override {
    ++receives;
    return inner_.receive(buffers, ec);
  }
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override {
    inner_.send(buffers, ec);
  }
  void async_wait_readable(std::function<void(std::error_code)> handler) override {
    ++waits;
    inner_.async_wait_readable(std::move(handler));
  }
  void cancel() noexcept override { inner_.cancel(); }

 private:
  tunstack::netif::memory_link& inner_;
};

}  // namespace

TEST_CASE("stack: with busy_poll the link is read again and again before the stack sleeps") {
  for (const auto poll : {0ms, 100ms}) {
    CAPTURE(poll.count());
    asio::io_context io;
    tunstack::netif::memory_link wire{io.get_executor()};
    counting_link counted{wire};
    tunstack::stack st{io, {.busy_poll = poll}};
    st.add_interface(counted, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
    io.run_for(10ms);
    REQUIRE(counted.waits == 1);  // asleep: waiting for the link to become readable
    wire.inject(echo_request());
    io.run_for(30ms);
    CHECK(wire.take().has_value());  // answered
    if (poll == 0ms) {
      CHECK(counted.receives == 2);  // the request, then "nothing more": asleep again
      CHECK(counted.waits == 2);
    } else {
      CHECK(counted.receives > 10);  // still reading, 30 ms into the 100 ms window
      CHECK(counted.waits == 1);
      io.run_for(150ms);
      CHECK(counted.waits == 2);  // the window passed without a packet: asleep again
    }
  }
}
