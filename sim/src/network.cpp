// SPDX-License-Identifier: BSD-3-Clause
// network.cpp - the simulated network (see tunstack/sim/network.hpp): two interfaces of one
// stack, each behind an impairment decorator, joined by taps between two memory links; a
// discrete-event loop that alternates running ready handlers and jumping the virtual clock.
#include "tunstack/sim/network.hpp"

#include "tunstack/netif/manual_link_clock.hpp"
#include "tunstack/netif/memory_link.hpp"

#include <asio/ip/network_v4.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tunstack::sim {

namespace {
// The other direction's impairment draws from its own seed, so that configuring one direction
// does not change the decisions of the other.
constexpr std::uint64_t second_stream = 0x9e3779b97f4a7c15ULL;
}  // namespace

// What the stack's two interfaces read and write: each memory link's sent packets are the other
// one's received packets (the wire); the impaired links in front of them apply each direction's
// impairment to what the stack sends.
struct network::links {
  netif::manual_link_clock clock;
  netif::memory_link client_end, server_end;
  netif::impaired_link client, server;

  links(asio::io_context& io, const network_options& o)
      : clock(io.get_executor()),
        client_end(io.get_executor(), o.mtu, "sim-client"),
        server_end(io.get_executor(), o.mtu, "sim-server"),
        client(client_end, clock, {.out = o.client_to_server, .seed = o.seed}),
        server(server_end, clock, {.out = o.server_to_client, .seed = o.seed ^ second_stream}) {}
};

network::network(network_options options) : links_(std::make_unique<links>(io_, options)) {
  auto wire = [this, record = options.record_wire](bool client_to_server, netif::memory_link& to) {
    return [this, record, client_to_server, &to](netif::memory_link::packet p) {
      wire_packet w{now(), client_to_server, std::move(p)};
      if (filter_ && filter_(w)) {
        ++filter_dropped_;
        return;
      }
      to.inject(w.bytes);
      if (record) wire_.push_back(std::move(w));
    };
  };
  links_->client_end.set_tap(wire(true, links_->server_end));
  links_->server_end.set_tap(wire(false, links_->client_end));

  stack_ = std::make_unique<tunstack::stack>(io_, stack_options{.clock = clock_kind::manual,
                                                                .seed = options.seed,
                                                                .log = std::move(options.log),
                                                                .log_max = options.log_max,
                                                                .trace = std::move(options.trace)});
  stack_->add_interface(links_->client, {.ipv4 = asio::ip::network_v4(client_address(), 24)});
  stack_->add_interface(links_->server, {.ipv4 = asio::ip::network_v4(server_address(), 24)});
}

network::~network() {
  stack_.reset();  // sockets of the code under test must be gone by now (as with any stack)
  links_.reset();
}

asio::ip::address_v4 network::server_address() const { return asio::ip::make_address_v4("10.0.1.1"); }
asio::ip::address_v4 network::client_address() const { return asio::ip::make_address_v4("10.0.2.1"); }

std::chrono::nanoseconds network::now() const noexcept { return links_->clock.now(); }

// Moves virtual time to the next event, or to @p deadline if that comes first. Both clocks
// move together: the wire's first (it only posts what fell due), then lwIP's (which runs its
// timers at once, and may send: those packets see the new time).
bool network::step(std::chrono::nanoseconds deadline) {
  const auto t0 = now();
  std::optional<std::chrono::nanoseconds> next;
  if (const auto timer = stack_->next_timer()) next = t0 + *timer;
  if (const auto due = links_->clock.next_due()) next = next ? std::min(*next, *due) : *due;
  const bool event = next && *next <= deadline;
  const auto target = std::max(t0, event ? *next : deadline);
  links_->clock.advance_to(target);
  stack_->advance_time(target - t0);
  return event;
}

bool network::run_until(const std::function<bool()>& done, std::chrono::nanoseconds limit) {
  if (limit.count() < 0) throw std::invalid_argument("tunstack::sim::network::run_until: negative limit");
  const auto deadline = now() + limit;
  for (;;) {
    io_.restart();
    io_.poll();
    if (done()) return true;
    if (now() >= deadline) return false;
    step(deadline);
  }
}

void network::run_for(std::chrono::nanoseconds d) {
  run_until([] { return false; }, d);
}

std::vector<netif::link_counter> network::wire_counters() const {
  std::vector<netif::link_counter> all;
  auto add = [&](const netif::impaired_link& l, const std::string& direction) {
    const std::string prefix = "impair_out_";
    for (auto& c : l.counters()) {
      if (c.name.rfind(prefix, 0) == 0) all.push_back({direction + "_" + c.name.substr(prefix.size()), c.value});
    }
  };
  add(links_->client, "client_to_server");
  add(links_->server, "server_to_client");
  all.push_back({"filter_dropped", filter_dropped_});
  return all;
}

}  // namespace tunstack::sim
