// test_stack.hpp - a real lwIP stack on an in-memory link, with a manual clock: the test plays
// the kernel side by injecting packets and reading what the stack sends back.
#ifndef TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP
#define TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP

#include "packet.hpp"

#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"

#include <asio/io_context.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

namespace tunstack::testing {

/// Pools still in use, as "NAME=count" (lwIP's timer entries excluded: timers always exist).
inline std::vector<std::string> pools_in_use(const stack_stats& s) {
  std::vector<std::string> in_use;
  for (const auto& p : s.memory.pools) {
    if (p.used != 0 && p.name != "SYS_TIMEOUT") in_use.push_back(p.name + "=" + std::to_string(p.used));
  }
  return in_use;
}

struct test_stack {
  asio::io_context io;
  tunstack::netif::memory_link wire;  // declared before the stack: links outlive it
  tunstack::stack st;
  tunstack::interface_id id;

  explicit test_stack(std::string address = "10.0.3.50/24", stack_options options = manual_clock())
      : wire(io.get_executor()), st(io, std::move(options)) {
    id = st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4(address)});
  }

  // Every test ends with lwIP's memory pools empty again (no leaked pbufs, segments, pcbs).
  ~test_stack() {
    const auto leaked = pools_in_use(st.stats());
    CHECK_MESSAGE(leaked.empty(), "lwIP pools still in use: " << join(leaked));
  }

  static stack_options manual_clock() {
    return {.clock = clock_kind::manual, .seed = 1};
  }

  /// Runs every handler that is ready (the stack reading the link, posted completions).
  void run() {
    io.restart();
    io.poll();
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

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

 private:
  stack_stats last_;
};

}  // namespace tunstack::testing

#endif  // TUNSTACK_TESTS_SUPPORT_TEST_STACK_HPP
