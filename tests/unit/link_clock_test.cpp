// SPDX-License-Identifier: BSD-3-Clause
// link_clock_test.cpp - the clocks of link decorators: manual_link_clock (virtual time: due
// order, never inline, no going back) and steady_link_clock (real time: callbacks fire, in
// order, not early).
#include "tunstack/netif/link_clock.hpp"
#include "tunstack/netif/manual_link_clock.hpp"

#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST_CASE("manual_link_clock: callbacks run in due order, same time in scheduling order, never inline") {
  asio::io_context io;
  tunstack::netif::manual_link_clock clock{io.get_executor()};
  CHECK(clock.now() == 0ns);
  CHECK_FALSE(clock.next_due().has_value());
  std::vector<std::string> ran;
  clock.call_at(30ms, [&] { ran.push_back("30"); });
  clock.call_at(10ms, [&] { ran.push_back("10a"); });
  clock.call_at(20ms, [&] { ran.push_back("20"); });
  clock.call_at(10ms, [&] { ran.push_back("10b"); });
  REQUIRE(clock.next_due().has_value());
  CHECK(*clock.next_due() == 10ms);
  clock.advance_to(20ms);
  CHECK(ran.empty());  // posted, not run
  CHECK(clock.now() == 20ms);
  io.poll();
  CHECK(ran == std::vector<std::string>{"10a", "10b", "20"});
  CHECK(*clock.next_due() == 30ms);
  clock.call_at(5ms, [&] { ran.push_back("past"); });  // already due: posted, not run here
  CHECK(ran.size() == 3);
  io.restart();
  io.poll();
  CHECK(ran.back() == "past");
  clock.advance_to(30ms);
  io.restart();
  io.poll();
  CHECK(ran.back() == "30");
  CHECK_FALSE(clock.next_due().has_value());
}

TEST_CASE("manual_link_clock: time never goes back") {
  asio::io_context io;
  tunstack::netif::manual_link_clock clock{io.get_executor()};
  clock.advance_to(5ms);
  clock.advance_to(5ms);  // standing still is fine
  CHECK_THROWS_AS(clock.advance_to(4ms), std::invalid_argument);
  CHECK(clock.now() == 5ms);
}

TEST_CASE("steady_link_clock: callbacks fire in due order, not before their time") {
  asio::io_context io;
  tunstack::netif::steady_link_clock clock{io.get_executor()};
  const nanoseconds start = clock.now();
  std::vector<std::pair<std::string, nanoseconds>> ran;
  auto at = [&](nanoseconds when, std::string name) {
    clock.call_at(when, [&, name] { ran.emplace_back(name, clock.now()); });
  };
  at(start + 30ms, "30");
  at(start + 10ms, "10a");
  at(start + 10ms, "10b");
  at(start, "now");
  CHECK(ran.empty());  // never inline
  io.run_for(2s);      // returns when no work is left
  REQUIRE(ran.size() == 4);
  CHECK(ran[0].first == "now");
  CHECK(ran[1].first == "10a");
  CHECK(ran[2].first == "10b");
  CHECK(ran[3].first == "30");
  CHECK(ran[1].second >= start + 10ms);
  CHECK(ran[3].second >= start + 30ms);
  CHECK(ran[3].second < start + 1s);
}
