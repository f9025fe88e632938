// SPDX-License-Identifier: BSD-3-Clause
// test_stack.hpp - a real lwIP stack on an in-memory link, with a manual clock: the test plays
// the kernel side by injecting packets and reading what the stack sends back.
#ifndef TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP
#define TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP

#include "packet.hpp"

#include "tunstack/netif/manual_link_clock.hpp"
#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"

#include <asio/io_context.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tunstack::testing {

/// Checks, after the stack's teardown freed every pcb, that lwIP's pools were empty: the stack
/// logs a warning for each pool still in use then (a leak of pbufs, segments or pcbs).
struct leak_check {
  std::vector<std::string> warnings;
  ~leak_check() {
    std::string all;
    for (const auto& w : warnings) all += w + "; ";
    CHECK_MESSAGE(warnings.empty(), "lwIP memory leaked: " << all);
  }
  log_sink sink() {
    return [this](log_level level, std::string_view line) {
      if (level <= log_level::warning && line.find("still has") != std::string_view::npos) {
        warnings.emplace_back(line);
      }
    };
  }
};

struct test_stack {
  /// Makes a link decorator (a capture, an impairment) around @p wire, which the stack then
  /// reads instead of the wire; @p clock is for decorators that hold packets (virtual time).
  using decorator_factory = std::function<std::unique_ptr<tunstack::netif::link>(
      tunstack::netif::memory_link& wire, tunstack::netif::link_clock& clock)>;

  asio::io_context io;
  tunstack::netif::memory_link wire;  // declared before the stack: links outlive it
  tunstack::netif::manual_link_clock link_clock;     // the decorator's; run() moves it on
  std::unique_ptr<tunstack::netif::link> decorator;  // between the wire and the stack, if any
  leak_check leaks;                   // checked after the stack is gone
  tunstack::stack st;
  tunstack::interface_id id;

  /// @param offloads the link behaves like a TUN device with offloads (memory_link::enable_offloads).
  /// @param decorate puts a decorator between the wire and the stack (packets are still
  /// injected into and taken from the wire).
  explicit test_stack(std::string address = "10.0.3.50/24", stack_options options = manual_clock(),
                      bool offloads = false, const decorator_factory& decorate = {})
      : wire(io.get_executor()),
        link_clock(io.get_executor()),
        decorator(decorate ? decorate(wire, link_clock) : nullptr),
        st(io, with_leak_check(std::move(options), leaks)) {
    if (offloads) wire.enable_offloads();
    tunstack::netif::link& link = decorator ? *decorator : wire;
    id = st.add_interface(link, {.ipv4 = asio::ip::make_network_v4(address),
                                 .ipv6 = {asio::ip::make_network_v6("fd00:3::50/64")}});
  }

  static stack_options with_leak_check(stack_options options, leak_check& leaks) {
    if (!options.log) {
      options.log = leaks.sink();
      options.log_max = log_level::warning;
    }
    return options;
  }

  static stack_options manual_clock() {
    return {.clock = clock_kind::manual, .seed = 1};
  }

  /// Runs every handler that is ready (the stack reading the link, posted completions). With a
  /// decorator, the link clock then jumps to each time a held packet falls due, until none is
  /// held: a delay costs no real time, and what a test sends has arrived when run() returns.
  void run() {
    io.restart();
    io.poll();
    for (int i = 0; i < 100000; ++i) {
      const auto due = link_clock.next_due();
      if (!due) return;
      link_clock.advance_to(std::max(*due, link_clock.now()));
      io.restart();
      io.poll();
    }
    FAIL("the link clock never ran out of callbacks");
  }

  /// Moves the manual clock on (lwIP's timers: delayed ACKs, retransmissions, TIME-WAIT) and
  /// runs what became ready.
  void advance(std::chrono::milliseconds d) {
    st.advance_time(d);
    run();
  }

  /// The lwIP state of the first TCP pcb whose local or remote port is @p port ("" if none).
  std::string tcp_state(std::uint16_t port) {
    for (const auto& c : st.tcp_connections()) {
      if (c.state != "LISTEN" && (c.local.port() == port || c.remote.port() == port)) return c.state;
    }
    return "";
  }

  /// Injects one packet and returns the first packet the stack sends in answer, if any.
  std::optional<bytes> exchange(const bytes& packet) {
    wire.inject(packet);
    run();
    return wire.take();
  }

  const interface_stats& link_stats() {
    last_ = st.stats();
    return last_.interfaces.at(0);
  }


 private:
  stack_stats last_;
};

}  // namespace tunstack::testing

#endif  // TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP
