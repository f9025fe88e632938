// SPDX-License-Identifier: BSD-3-Clause
// network.hpp - tunstack::sim::network: a deterministic simulation for testing protocol code
// against a real TCP/IP stack without the kernel, root or real time.
//
// One lwIP stack with two interfaces, "client" (10.0.2.1) and "server" (10.0.1.1), joined by an
// in-memory wire. Every packet between them crosses the wire, through an impairment per
// direction (loss, delay, reordering, duplication, corruption, rate), so both ends of every
// connection are lwIP's own TCP. Time is virtual: lwIP's sys_now() and the wire's delays follow
// one clock that jumps from event to event, so a minute of retransmission timeouts and
// TIME-WAIT takes milliseconds, and the same seed gives the same packets every time.
#ifndef TUNSTACK_SIM_NETWORK_HPP
#define TUNSTACK_SIM_NETWORK_HPP

#include "tunstack/log.hpp"
#include "tunstack/netif/impaired_link.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"
#include "tunstack/trace.hpp"
#include "tunstack/udp.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/address_v4.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace tunstack::sim {

/// How the simulated network behaves.
struct network_options {
  /// Seeds lwIP (ports, initial sequence numbers) and the impairments. Default: 1.
  std::uint64_t seed = 1;
  /// What the wire does to packets from the client to the server, and back.
  netif::impairment client_to_server, server_to_client;
  /// MTU of both interfaces. Default: 1500.
  std::size_t mtu = 1500;
  /// Receives the stack's TCP trace (both ends of every connection). Default: none.
  trace_sink trace;
  /// The stack's log. Default: none.
  log_sink log;
  log_level log_max = log_level::warning;
  /// Keep a copy of every packet that crossed the wire (see wire()). Default: false.
  bool record_wire = false;
};

/// One packet on the wire, as it left its sender (before the far end's impairment).
struct wire_packet {
  std::chrono::nanoseconds time{0};
  bool client_to_server = false;
  std::vector<std::byte> bytes;
};

/// The simulated network. Like tunstack::stack, there is at most one per process.
///
/// Code under test uses the ordinary API (tunstack::tcp, tunstack::udp) on io(): servers listen
/// on server_address(), clients bind to client_address() before connecting (so their packets
/// leave through the client interface). Then run_until() drives everything.
///
/// @code
/// tunstack::sim::network net{{.seed = 7, .client_to_server = {.loss = 10}}};
/// tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), 7}};
/// ... start the server's coroutine on net.io() ...
/// tunstack::tcp::socket client{net.stack()};
/// client.bind({net.client_address(), 0});
/// bool done = false;
/// client.async_connect({net.server_address(), 7}, [&](std::error_code) { done = true; });
/// CHECK(net.run_until([&] { return done; }));
/// @endcode
///
/// Only the simulation's own clock is virtual: asio timers in the code under test still run on
/// real time, and run_until() does not wait for them.
class network {
 public:
  explicit network(network_options options = {});
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  asio::io_context& io() noexcept { return io_; }
  tunstack::stack& stack() noexcept { return *stack_; }

  asio::ip::address_v4 server_address() const;  ///< 10.0.1.1
  asio::ip::address_v4 client_address() const;  ///< 10.0.2.1

  /// Virtual time since the network was made.
  std::chrono::nanoseconds now() const noexcept;

  /// Runs ready handlers, then moves virtual time to the next event (an lwIP timer, a packet
  /// due off the wire) and repeats, until @p done returns true or @p limit of virtual time has
  /// passed. @returns done().
  bool run_until(const std::function<bool()>& done,
                 std::chrono::nanoseconds limit = std::chrono::minutes(10));
  /// Runs for exactly @p d of virtual time.
  void run_for(std::chrono::nanoseconds d);

  /// Fault injection on the wire, after the sender's impairment: every packet for which @p drop
  /// returns true is lost (counted as "filter_dropped" in wire_counters()). For scripted
  /// faults such as "lose the third data segment once". An empty function removes the filter.
  void set_wire_filter(std::function<bool(const wire_packet&)> drop) { filter_ = std::move(drop); }

  /// Every packet that crossed the wire so far (with network_options::record_wire).
  const std::vector<wire_packet>& wire() const noexcept { return wire_; }

  /// The wire's counters per direction: the impairment's, as the stack's statistics show them.
  std::vector<netif::link_counter> wire_counters() const;

 private:
  bool step(std::chrono::nanoseconds deadline);

  struct links;
  asio::io_context io_{1};
  std::vector<wire_packet> wire_;
  std::function<bool(const wire_packet&)> filter_;
  std::uint64_t filter_dropped_ = 0;
  std::unique_ptr<links> links_;  // before the stack: links outlive it
  std::unique_ptr<tunstack::stack> stack_;
};

}  // namespace tunstack::sim

#endif  // TUNSTACK_SIM_NETWORK_HPP
