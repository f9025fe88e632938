// SPDX-License-Identifier: BSD-3-Clause
// impaired_link_test.cpp - the impairment decorator, driven in virtual time (manual_link_clock)
// over an in-memory link: each impairment happens at its configured rate as measured from the
// packets that come out (sequence numbers and a doubled header in every payload tell lost,
// duplicated, corrupted and reordered packets apart), delays are exact, a seed repeats a run,
// the counters reach the stack's statistics, and over a link that offloads, impaired packets
// are the wire's (super-packets cut into segments, none sent, corruption caught).
#include "tunstack/netif/impaired_link.hpp"

#include "packet.hpp"
#include "tcp_peer.hpp"
#include "test_stack.hpp"
#include "tunstack/netif/manual_link_clock.hpp"
#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using std::chrono::nanoseconds;
using tunstack::netif::impaired_link;
using tunstack::netif::impairment;
using tunstack::netif::impairment_config;
using tunstack::netif::manual_link_clock;
using tunstack::netif::memory_link;
using packet = std::vector<std::byte>;

namespace {

enum class way { in, out };
const char* name(way w) { return w == way::in ? "in" : "out"; }

// A test packet: its sequence number twice (a flipped bit in either copy shows), then bytes
// that depend on it.
packet make_packet(std::uint64_t seq, std::size_t size = 100) {
  packet p(size);
  for (std::size_t i = 0; i < 8; ++i) {
    p[i] = p[8 + i] = static_cast<std::byte>(seq >> (8 * i));
  }
  for (std::size_t i = 16; i < size; ++i) p[i] = static_cast<std::byte>((seq * 131 + i) & 0xff);
  return p;
}

std::uint64_t seq_of(const packet& p) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < 8; ++i) s |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return s;
}

bool intact(const packet& p) { return p == make_packet(seq_of(p), p.size()); }

impairment_config config_for(way w, const impairment& i, std::uint64_t seed = 1) {
  impairment_config c;
  (w == way::in ? c.in : c.out) = i;
  c.seed = seed;
  return c;
}

// An impaired link over a memory link in virtual time. Packets put in one direction come out
// in `delivered`, with the virtual time they came out: inbound through a reader that behaves
// like the stack's (wait, then receive until would_block), outbound through the wire's tap.
struct harness {
  struct output {
    nanoseconds at;
    packet bytes;
  };

  asio::io_context io;
  manual_link_clock clock{io.get_executor()};
  memory_link wire{io.get_executor()};
  std::vector<output> delivered;
  std::vector<std::error_code> send_errors;
  std::vector<std::error_code> read_errors;
  std::unique_ptr<impaired_link> link;

  explicit harness(const impairment_config& c)
      : link(std::make_unique<impaired_link>(wire, clock, c)) {
    wire.set_tap([this](packet p) { delivered.push_back({clock.now(), std::move(p)}); });
    read();
  }

  void read() {
    link->async_wait_readable([this](std::error_code ec) {
      if (ec) {
        read_errors.push_back(ec);
        return;
      }
      for (;;) {
        std::array<std::byte, 2000> buffer{};
        const std::array<asio::mutable_buffer, 1> b{asio::buffer(buffer)};
        std::error_code e;
        const std::size_t n = link->receive(b, e);
        if (e == asio::error::would_block) break;
        if (e) {
          read_errors.push_back(e);
          return;
        }
        delivered.push_back({clock.now(), packet(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n))});
      }
      read();
    });
  }

  void put(way w, const packet& p) {
    if (w == way::in) {
      wire.inject(p);
    } else {
      std::error_code ec;
      const std::array<asio::const_buffer, 1> b{asio::buffer(p)};
      link->send(b, ec);
      if (ec) send_errors.push_back(ec);
    }
  }

  void poll() {
    io.restart();
    io.poll();
  }

  // Moves virtual time on by @p d, stopping at every callback due on the way.
  void advance(nanoseconds d) {
    const nanoseconds target = clock.now() + d;
    poll();
    while (auto due = clock.next_due()) {
      if (*due > target) break;
      clock.advance_to(*due);
      poll();
    }
    clock.advance_to(target);
    poll();
  }

  // Runs until nothing is held any more.
  void settle() {
    poll();
    while (auto due = clock.next_due()) {
      clock.advance_to(*due);
      poll();
    }
  }

  std::uint64_t counter(const std::string& name) const {
    for (const auto& c : link->counters()) {
      if (c.name == name) return c.value;
    }
    FAIL("no counter " << name);
    return 0;
  }

  // Sends packets 0..n-1 in direction @p w, one per millisecond, and waits for the last.
  void stream(way w, std::uint64_t n, std::size_t size = 100) {
    for (std::uint64_t i = 0; i < n; ++i) {
      put(w, make_packet(i, size));
      advance(1ms);
    }
    settle();
  }
};

// What came out, measured from the packets alone.
struct observed {
  std::uint64_t received = 0, distinct = 0, duplicates = 0, corrupted = 0, reordered = 0;
};

observed observe(const std::vector<harness::output>& out) {
  observed o;
  std::set<std::uint64_t> seen;
  std::optional<std::uint64_t> highest;
  for (const auto& [at, p] : out) {
    ++o.received;
    if (!intact(p)) {
      ++o.corrupted;  // its sequence number may be the damaged part: leave it out
      continue;
    }
    const std::uint64_t s = seq_of(p);
    if (!seen.insert(s).second) ++o.duplicates;
    if (highest && s < *highest) ++o.reordered;  // a later packet came out before it
    if (!highest || s > *highest) highest = s;
  }
  o.distinct = seen.size();
  return o;
}

constexpr std::uint64_t runs = 20'000;
constexpr std::uint64_t low = runs * 85 / 1000;   // 10% - 1.5%
constexpr std::uint64_t high = runs * 115 / 1000;  // 10% + 1.5%

}  // namespace

std::string counter_name(way w, const char* what) { return std::string("impair_") + name(w) + "_" + what; }

// Bits in which @p p differs from the packet it was made from (either copy of its sequence
// number may be the damaged part, so the nearer original counts).
int flipped_bits(const packet& p) {
  int best = -1;
  for (std::size_t offset : {0, 8}) {
    const packet original = make_packet(seq_of(packet(p.begin() + offset, p.begin() + offset + 8)), p.size());
    int bits = 0;
    for (std::size_t i = 0; i < p.size(); ++i) bits += std::popcount(static_cast<unsigned>(p[i] ^ original[i]));
    if (best < 0 || bits < best) best = bits;
  }
  return best;
}

TEST_CASE("impaired_link: loss, duplicate, corrupt and reorder at 10% each happen 10% +/- 1.5% of 20,000 packets") {
  SUBCASE("loss") {
    for (way w : {way::in, way::out}) {
      CAPTURE(name(w));
      harness h{config_for(w, {.loss = 10}, 11)};
      h.stream(w, runs);
      const observed o = observe(h.delivered);
      const std::uint64_t lost = runs - o.received;
      MESSAGE((std::string(name(w)) + " loss: " + std::to_string(lost) + " of " + std::to_string(runs)));
      CHECK(lost >= low);
      CHECK(lost <= high);
      CHECK(o.distinct == o.received);
      CHECK(o.corrupted == 0);
      CHECK(o.reordered == 0);
      CHECK(h.counter(counter_name(w, "packets")) == runs);
      CHECK(h.counter(counter_name(w, "lost")) == lost);
    }
  }
  SUBCASE("duplicate") {
    for (way w : {way::in, way::out}) {
      CAPTURE(name(w));
      harness h{config_for(w, {.duplicate = 10}, 12)};
      h.stream(w, runs);
      const observed o = observe(h.delivered);
      MESSAGE((std::string(name(w)) + " duplicates: " + std::to_string(o.duplicates) + " of " + std::to_string(runs)));
      CHECK(o.duplicates >= low);
      CHECK(o.duplicates <= high);
      CHECK(o.distinct == runs);
      CHECK(o.received == runs + o.duplicates);
      CHECK(o.reordered == 0);
      CHECK(h.counter(counter_name(w, "duplicated")) == o.duplicates);
    }
  }
  SUBCASE("corrupt") {
    for (way w : {way::in, way::out}) {
      CAPTURE(name(w));
      harness h{config_for(w, {.corrupt = 10}, 13)};
      h.stream(w, runs);
      const observed o = observe(h.delivered);
      MESSAGE((std::string(name(w)) + " corrupted: " + std::to_string(o.corrupted) + " of " + std::to_string(runs)));
      CHECK(o.corrupted >= low);
      CHECK(o.corrupted <= high);
      CHECK(o.received == runs);
      CHECK(h.counter(counter_name(w, "corrupted")) == o.corrupted);
      std::uint64_t one_bit = 0;
      for (const auto& out : h.delivered) {
        if (!intact(out.bytes) && flipped_bits(out.bytes) == 1) ++one_bit;
      }
      CHECK(one_bit == o.corrupted);  // one random bit each
    }
  }
  SUBCASE("reorder") {
    for (way w : {way::in, way::out}) {
      CAPTURE(name(w));
      harness h{config_for(w, {.reorder = 10}, 14)};
      h.stream(w, runs);
      const observed o = observe(h.delivered);
      MESSAGE((std::string(name(w)) + " reordered: " + std::to_string(o.reordered) + " of " + std::to_string(runs)));
      CHECK(o.reordered >= low);
      CHECK(o.reordered <= high);
      CHECK(o.distinct == runs);
      CHECK(o.received == runs);
      CHECK(h.counter(counter_name(w, "reordered")) == o.reordered);
    }
  }
}

TEST_CASE("impaired_link: a 25 ms delay releases a packet exactly 25 ms later in virtual time") {
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    harness h{config_for(w, {.delay = 25ms})};
    h.advance(5ms);
    h.put(w, make_packet(1));
    h.advance(25ms - 1ns);
    CHECK(h.delivered.empty());  // not a nanosecond early
    if (w == way::in) {
      std::array<std::byte, 200> buffer{};
      const std::array<asio::mutable_buffer, 1> b{asio::buffer(buffer)};
      std::error_code ec;
      h.link->receive(b, ec);
      CHECK(ec == asio::error::would_block);
    }
    h.advance(1ns);
    REQUIRE(h.delivered.size() == 1);
    CHECK(h.delivered[0].at == 30ms);
    CHECK(h.delivered[0].bytes == make_packet(1));
    CHECK(h.counter(counter_name(w, "delayed")) == 1);
  }
}

TEST_CASE("impaired_link: jitter varies the delay within +/- jitter, never below zero, and may reorder") {
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    SUBCASE("20 ms +/- 5 ms") {
      harness h{config_for(w, {.delay = 20ms, .jitter = 5ms})};
      h.stream(w, 2000);
      REQUIRE(h.delivered.size() == 2000);
      nanoseconds lowest = 1h, highest{0};
      for (const auto& out : h.delivered) {
        const nanoseconds latency = out.at - nanoseconds(std::chrono::milliseconds(seq_of(out.bytes)));
        lowest = std::min(lowest, latency);
        highest = std::max(highest, latency);
      }
      CHECK(lowest >= 15ms);
      CHECK(highest <= 25ms);
      CHECK(lowest < 15500us);  // the whole range is used
      CHECK(highest > 24500us);
      CHECK(observe(h.delivered).reordered > 0);  // 1 ms apart, up to 10 ms of spread
    }
    SUBCASE("2 ms +/- 5 ms") {
      harness h{config_for(w, {.delay = 2ms, .jitter = 5ms})};
      h.stream(w, 1000);
      REQUIRE(h.delivered.size() == 1000);
      int immediate = 0;
      for (const auto& out : h.delivered) {
        const nanoseconds latency = out.at - nanoseconds(std::chrono::milliseconds(seq_of(out.bytes)));
        CHECK(latency >= 0ns);
        CHECK(latency <= 7ms);
        if (latency == 0ns) ++immediate;
      }
      CHECK(immediate > 200);  // about 3/10 of the draws fall below zero and are clamped
    }
  }
}

TEST_CASE("impaired_link: 1 Mbit/s spaces 1250-byte packets 10 ms apart, in order") {
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    harness h{config_for(w, {.rate = 1'000'000})};
    for (std::uint64_t i = 0; i < 5; ++i) h.put(w, make_packet(i, 1250));
    h.settle();
    REQUIRE(h.delivered.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
      CHECK(h.delivered[i].at == std::chrono::milliseconds(10 * (i + 1)));
      CHECK(seq_of(h.delivered[i].bytes) == i);
    }
    // The line is idle again: the next packet takes only its own 10 ms.
    h.advance(100ms);
    const nanoseconds sent = h.clock.now();
    h.put(w, make_packet(9, 1250));
    h.settle();
    REQUIRE(h.delivered.size() == 6);
    CHECK(h.delivered[5].at - sent == 10ms);
  }
}

TEST_CASE("impaired_link: beyond queue_limit packets are dropped and counted") {
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    harness h{config_for(w, {.delay = 100ms, .queue_limit = 10})};
    for (std::uint64_t i = 0; i < 15; ++i) h.put(w, make_packet(i));
    h.settle();
    CHECK(h.delivered.size() == 10);
    CHECK(h.counter(counter_name(w, "queue_drops")) == 5);
    CHECK(seq_of(h.delivered.back().bytes) == 9);  // the first ten were kept
    if (w == way::out) {
      CHECK(h.send_errors.size() == 5);
      CHECK(h.send_errors.front() == asio::error::no_buffer_space);
    }
  }
}

namespace {

std::vector<harness::output> mixed_run(way w, std::uint64_t seed, impairment other = {}) {
  const impairment mix{.loss = 10, .duplicate = 10, .corrupt = 10, .reorder = 10, .delay = 5ms, .jitter = 3ms};
  impairment_config c = config_for(w, mix, seed);
  (w == way::in ? c.out : c.in) = other;
  harness h{c};
  h.stream(w, 2000);
  return std::move(h.delivered);
}

bool same(const std::vector<harness::output>& a, const std::vector<harness::output>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].at != b[i].at || a[i].bytes != b[i].bytes) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("impaired_link: the same seed gives the same packets at the same times; another seed does not") {
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    const auto first = mixed_run(w, 42);
    CHECK(same(first, mixed_run(w, 42)));
    CHECK_FALSE(same(first, mixed_run(w, 43)));
    // Each direction has its own stream: impairing the other one changes nothing here.
    CHECK(same(first, mixed_run(w, 42, {.loss = 50, .corrupt = 50})));
  }
}

TEST_CASE("impaired_link: a direction with nothing active passes packets through unchanged and at once") {
  impairment_config c;
  c.in.queue_limit = 1;  // not an impairment by itself
  CHECK_FALSE(c.in.active());
  CHECK_FALSE(c.out.active());
  CHECK(impairment{.rate = 1}.active());
  for (way w : {way::in, way::out}) {
    CAPTURE(name(w));
    harness h{c};
    for (std::uint64_t i = 0; i < 50; ++i) h.put(w, make_packet(i, 64 + i));
    h.poll();
    REQUIRE(h.delivered.size() == 50);
    for (std::uint64_t i = 0; i < 50; ++i) {
      CHECK(h.delivered[i].at == 0ns);
      CHECK(h.delivered[i].bytes == make_packet(i, 64 + i));
    }
    CHECK(h.counter(counter_name(w, "packets")) == 50);
    CHECK_FALSE(h.clock.next_due().has_value());  // nothing held, no callback armed
  }
  // Inbound, the caller's buffers go straight to the inner link: its message_size comes back.
  harness h{c};
  h.link->cancel();  // stop the harness' reader
  h.poll();
  h.wire.inject(make_packet(1, 100));
  std::array<std::byte, 10> small{};
  const std::array<asio::mutable_buffer, 1> b{asio::buffer(small)};
  std::error_code ec;
  CHECK(h.link->receive(b, ec) == 10);
  CHECK(ec == asio::error::message_size);
}

TEST_CASE("impaired_link: destroyed while packets are held and a wait is pending, nothing runs late") {
  harness h{{.in = {.reorder = 50, .delay = 10ms}, .out = {.delay = 10ms, .rate = 100'000}}};
  for (std::uint64_t i = 0; i < 20; ++i) {
    h.put(way::in, make_packet(i));
    h.put(way::out, make_packet(i));
  }
  h.advance(1ms);
  REQUIRE(h.clock.next_due().has_value());
  h.link.reset();  // with the reader's wait pending and callbacks armed
  h.settle();      // the callbacks find the link gone (ASan would see a use after free)
  CHECK(h.delivered.empty());
  CHECK(h.read_errors.empty());
  // The inner link is usable again (the decorator took back its wait).
  h.wire.inject(make_packet(1));
  bool woke = false;
  h.wire.async_wait_readable([&](std::error_code ec) { woke = !ec; });
  h.poll();
  CHECK(woke);
}

TEST_CASE("impaired_link: errors of the inner link pass through") {
  SUBCASE("inbound: the device is gone") {
    harness h{config_for(way::in, {.delay = 1ms})};
    h.poll();
    h.wire.fail_receives_with(asio::error::bad_descriptor);
    h.poll();
    REQUIRE(h.read_errors.size() == 1);
    CHECK(h.read_errors[0] == asio::error::bad_descriptor);
    std::array<std::byte, 100> buffer{};
    const std::array<asio::mutable_buffer, 1> b{asio::buffer(buffer)};
    std::error_code ec;
    h.link->receive(b, ec);
    CHECK(ec == asio::error::bad_descriptor);
  }
  SUBCASE("outbound: at once returned, later counted") {
    harness h{config_for(way::out, {.loss = 0.001, .delay = 0ms})};
    h.wire.fail_sends_with(asio::error::would_block);
    h.put(way::out, make_packet(1));
    REQUIRE(h.send_errors.size() == 1);
    CHECK(h.send_errors[0] == asio::error::would_block);
    harness d{config_for(way::out, {.delay = 5ms})};
    d.put(way::out, make_packet(1));
    d.wire.fail_sends_with(asio::error::would_block);
    d.settle();
    CHECK(d.send_errors.empty());
    CHECK(d.counter("impair_out_send_errors") == 1);
  }
}

TEST_CASE("impaired_link: asynchronous waits complete through the executor and cancel() aborts them") {
  harness h{config_for(way::in, {.delay = 1ms})};
  h.link->cancel();  // the harness' reader
  h.poll();
  REQUIRE(h.read_errors.size() == 1);
  CHECK(h.read_errors[0] == asio::error::operation_aborted);
  int calls = 0;
  h.wire.inject(make_packet(1));
  h.advance(1ms);  // the packet is due, nobody waits
  h.link->async_wait_readable([&](std::error_code ec) {
    CHECK_FALSE(ec);
    ++calls;
  });
  CHECK(calls == 0);  // never inline
  h.poll();
  CHECK(calls == 1);
  h.poll();
  CHECK(calls == 1);  // once
}

TEST_CASE("impaired_link: bad settings are refused") {
  asio::io_context io;
  manual_link_clock clock{io.get_executor()};
  memory_link wire{io.get_executor()};
  CHECK_THROWS_AS(impaired_link(wire, clock, {.in = {.loss = 101}}), std::invalid_argument);
  CHECK_THROWS_AS(impaired_link(wire, clock, {.out = {.reorder = -1}}), std::invalid_argument);
  CHECK_THROWS_AS(impaired_link(wire, clock, {.out = {.queue_limit = 0}}), std::invalid_argument);
  impaired_link ok{wire, clock, {.seed = 9}};
  CHECK(ok.config().seed == 9);
  CHECK(ok.name() == wire.name());
  CHECK(ok.mtu() == wire.mtu());
}

TEST_CASE("impaired_link: under a real stack, its counters reach interface_stats::device") {
  using namespace tunstack::testing;
  asio::io_context io;
  memory_link wire{io.get_executor()};
  manual_link_clock clock{io.get_executor()};
  impaired_link link{wire, clock, {.in = {.duplicate = 100}, .out = {.delay = 5ms}, .seed = 3}};
  {
    tunstack::stack st{io, {.clock = tunstack::clock_kind::manual, .seed = 1}};
    st.add_interface(link, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
    auto run = [&] {
      io.restart();
      io.poll();
    };
    wire.inject(echo_request());
    run();
    CHECK(wire.pending_sent() == 0);  // both replies wait out the 5 ms
    clock.advance_to(5ms - 1ns);
    run();
    CHECK(wire.pending_sent() == 0);
    clock.advance_to(5ms);
    run();
    CHECK(wire.pending_sent() == 2);  // one request, duplicated: two replies
    const auto reply = wire.take();
    REQUIRE(reply.has_value());
    CHECK(static_cast<unsigned>((*reply)[20]) == 0);  // ICMP type 0, echo reply

    const auto stats = st.stats();
    REQUIRE(stats.interfaces.size() == 1);
    std::map<std::string, std::uint64_t> device;
    for (const auto& c : stats.interfaces[0].device) device[c.name] = c.value;
    CHECK(device["impair_in_packets"] == 1);
    CHECK(device["impair_in_duplicated"] == 1);
    CHECK(device["impair_out_packets"] == 2);
    CHECK(device["impair_out_delayed"] == 2);
    CHECK(device["impair_out_lost"] == 0);
    CHECK(device.count("impair_out_send_errors") == 1);
    CHECK(stats.interfaces[0].link.rx_packets == 2);
  }
}

// ---- Over a link that offloads (TUN with IFF_VNET_HDR) --------------------------------------

namespace {

packet pattern(std::size_t n, unsigned seed) {
  packet b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 131 + seed) % 251);
  return b;
}

// A TCP super-packet from the kernel side: @p data after seq 1000, PSH and FIN set, its
// checksum field left as 0x1234 (the kernel's pseudo-header sum would be there).
packet super_packet(const packet& data, bool v6) {
  using namespace tunstack::testing;
  const auto src = v6 ? asio::ip::make_address("fd00:3::1") : asio::ip::make_address("10.0.3.1");
  const auto dst = v6 ? asio::ip::make_address("fd00:3::50") : asio::ip::make_address("10.0.3.50");
  const packet tcp = build_tcp({.seq = 1000, .ack = 1, .flags = tcp_flag::ack | tcp_flag::psh | tcp_flag::fin,
                                .payload = data, .checksum = 0x1234},
                               src, dst);
  if (v6) return build_ipv6({.next_header = 6, .src = src.to_v6(), .dst = dst.to_v6()}, tcp);
  return build_ipv4({.id = 0x0100, .protocol = 6, .src = src.to_v4(), .dst = dst.to_v4()}, tcp);
}

}  // namespace

TEST_CASE("impaired_link: an inbound super-packet is cut into segments with right checksums, each impaired on its own") {
  using namespace tunstack::testing;
  bool v6 = false;
  SUBCASE("IPv4") { v6 = false; }
  SUBCASE("IPv6") { v6 = true; }
  harness h{config_for(way::in, {.loss = 30}, 5)};
  h.wire.enable_offloads();
  CHECK(h.link->max_packet_size() == 65535);  // the wire's: the super-packet arrives whole
  const packet data = pattern(20000, 1);
  const std::size_t mss = v6 ? 1440 : 1460;  // MTU 1500
  h.wire.inject(super_packet(data, v6), {.checksum_trusted = true, .segment_size = static_cast<std::uint16_t>(mss)});
  h.settle();

  // 20,000 bytes in segments of the MSS: 14, of which 30% (in expectation) are lost.
  CHECK(h.counter("impair_in_segmented") == 1);
  CHECK(h.counter("impair_in_packets") == 14);
  const std::uint64_t lost = h.counter("impair_in_lost");
  CHECK(lost > 0);
  CHECK(lost < 14);
  REQUIRE(h.delivered.size() == 14 - lost);
  REQUIRE(h.read_errors.empty());
  std::set<std::size_t> indexes;
  for (const auto& [at, p] : h.delivered) {
    // What a wire would carry: an ordinary packet with its own lengths and, since this reader
    // knows nothing of offloads (receive()), a finished checksum.
    const std::size_t ip_header = v6 ? 40 : 20;
    REQUIRE(p.size() > ip_header);
    CHECK(p.size() <= 1500);
    const tcp_view tcp{std::span<const std::byte>(p).subspan(ip_header)};
    REQUIRE(tcp.valid());
    const std::size_t offset = tcp.seq() - 1000;
    REQUIRE(offset % mss == 0);
    const std::size_t index = offset / mss;
    indexes.insert(index);
    const std::size_t n = std::min<std::size_t>(mss, data.size() - offset);
    CHECK(tcp.payload().size() == n);
    CHECK(std::equal(tcp.payload().begin(), tcp.payload().end(), data.begin() + static_cast<std::ptrdiff_t>(offset)));
    const bool last = index == 13;
    CHECK(tcp.has(tcp_flag::psh) == last);  // PSH and FIN end the run
    CHECK(tcp.has(tcp_flag::fin) == last);
    CHECK(tcp.has(tcp_flag::ack));
    if (v6) {
      CHECK(get16(p, 4) == p.size() - 40);
      CHECK(tcp.checksum_ok(asio::ip::make_address("fd00:3::1"), asio::ip::make_address("fd00:3::50")));
    } else {
      const ipv4_view ip{p};
      REQUIRE(ip.valid());
      CHECK(ip.total_length() == p.size());
      CHECK(ip.header_checksum_ok());
      CHECK(ip.id() == 0x0100 + index);  // counting up, as the kernel's segmentation does
      CHECK(tcp.checksum_ok(asio::ip::make_address("10.0.3.1"), asio::ip::make_address("10.0.3.50")));
    }
  }
  CHECK(indexes.size() == h.delivered.size());  // each segment once
}

TEST_CASE("impaired_link: an unimpaired direction passes offloads through; an impaired one takes none") {
  asio::io_context io;
  manual_link_clock clock{io.get_executor()};
  memory_link wire{io.get_executor()};
  wire.enable_offloads();
  impairment_config config;
  bool in_passes = false, out_passes = false;
  SUBCASE("impaired outbound") {
    config.out.loss = 1;
    in_passes = true;
  }
  SUBCASE("impaired inbound") {
    config.in.loss = 1;
    out_passes = true;
  }
  impaired_link link{wire, clock, config};
  CHECK(link.max_packet_size() == 65535);
  CHECK(link.send_offload_support().super_packets == out_passes);
  CHECK(link.send_offload_support().partial_checksums == out_passes);

  // Outbound: a super-packet reaches the wire with its metadata, or is refused as a link
  // without offloads refuses it.
  const packet super = super_packet(pattern(5000, 2), false);
  const std::array<asio::const_buffer, 1> b{asio::buffer(super)};
  const tunstack::netif::packet_offload offload{.segment_size = 1460, .header_length = 40};
  std::error_code ec;
  link.send_offloaded(b, offload, ec);
  if (out_passes) {
    CHECK_FALSE(ec);
    const auto sent = wire.take_offloaded();
    REQUIRE(sent.has_value());
    CHECK(sent->bytes == super);
    CHECK(sent->offload.segment_size == 1460);
  } else {
    CHECK(ec == asio::error::message_size);
    CHECK(wire.pending_sent() == 0);
  }

  // Inbound: without impairment the super-packet comes through whole, metadata and all.
  if (in_passes) {
    wire.inject(super, {.checksum_trusted = true, .segment_size = 1460});
    std::vector<std::byte> buffer(65535);
    const std::array<asio::mutable_buffer, 1> rb{asio::buffer(buffer)};
    tunstack::netif::packet_offload got;
    const std::size_t n = link.receive_offloaded(rb, got, ec);
    REQUIRE_FALSE(ec);
    CHECK(packet(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n)) == super);
    CHECK(got.segment_size == 1460);
    CHECK(got.checksum_trusted);
  }
}

namespace {

// A stack over an impaired link over a wire that offloads, in virtual time (test_stack::run
// lets held packets fall due), with one accepted TCP connection.
struct impaired_stack {
  tunstack::testing::test_stack t;
  tunstack::testing::accepted_connection c;
  explicit impaired_stack(const impairment_config& config)
      : t("10.0.3.50/24", tunstack::testing::test_stack::manual_clock(), true,
          [config](memory_link& wire, tunstack::netif::link_clock& clock) {
            return std::make_unique<impaired_link>(wire, clock, config);
          }),
        c(t) {}

  std::uint64_t device(const std::string& name) {
    for (const auto& counter : t.link_stats().device) {
      if (counter.name == name) return counter.value;
    }
    FAIL("no device counter " << name);
    return 0;
  }

  // What the socket has received, read until nothing more comes.
  std::string read_all() {
    std::string got;
    for (;;) {
      std::array<char, 65536> buffer;
      std::optional<std::size_t> n;
      c.socket->async_read_some(asio::buffer(buffer), [&](std::error_code ec, std::size_t k) { n = ec ? 0 : k; });
      t.run();
      if (!n) {
        c.socket->cancel();
        t.run();
        return got;
      }
      got.append(buffer.data(), *n);
    }
  }
};

}  // namespace

TEST_CASE("impaired_link: under a stack over an offloading link, super-packets in become segments and none go out") {
  using namespace tunstack::testing;
  impaired_stack s{{.in = {.delay = 1ms}, .out = {.delay = 1ms}, .seed = 1}};
  auto& [t, c] = s;

  // In: a super-packet the kernel vouched for reaches lwIP as 14 segments, all accepted.
  const packet data = pattern(20000, 1);
  const auto before = t.st.stats().tcp;
  t.wire.inject(c.peer.super_packet(data, 0x1234), {.checksum_trusted = true, .segment_size = 1460});
  t.run();
  c.peer.snd_nxt += static_cast<std::uint32_t>(data.size());
  CHECK(s.device("impair_in_segmented") == 1);
  CHECK(t.st.stats().tcp.recv == before.recv + 14);
  CHECK(t.st.stats().tcp.chkerr == before.chkerr);
  CHECK(t.link_stats().link.rx_dropped_oversize == 0);
  const std::string got = s.read_all();
  CHECK(got == std::string(reinterpret_cast<const char*>(data.data()), data.size()));

  // Out: ordinary segments with whole checksums, no super-packet.
  const packet out = pattern(60000, 2);
  std::size_t written = 0;
  std::function<void()> write_more = [&] {
    c.socket->async_write_some(asio::buffer(out.data() + written, out.size() - written),
                               [&](std::error_code ec, std::size_t n) {
                                 REQUIRE_FALSE(ec);
                                 written += n;
                                 if (written < out.size()) write_more();
                               });
  };
  write_more();
  packet received;
  for (int round = 0; round < 200 && received.size() < out.size(); ++round) {
    t.run();
    for (const auto& p : c.peer.receive_all()) {  // receive() checks each checksum
      CHECK(p.offload.segment_size == 0);
      CHECK_FALSE(p.offload.checksum_partial);
      CHECK(p.tcp().payload().size() <= 1460);
      received.insert(received.end(), p.tcp().payload().begin(), p.tcp().payload().end());
    }
    c.peer.ack();
  }
  CHECK(received == out);
  c.socket->close();
  t.run();
}

TEST_CASE("impaired_link: a corrupted packet whose checksum the link vouched for gets a real checksum and loses the vouching") {
  using namespace tunstack::testing;
  bool super = false;
  SUBCASE("an ordinary packet") { super = false; }
  SUBCASE("the segments of a super-packet") { super = true; }
  asio::io_context io;
  manual_link_clock clock{io.get_executor()};
  memory_link wire{io.get_executor()};
  wire.enable_offloads();
  impaired_link link{wire, clock, {.in = {.corrupt = 100}, .seed = 9}};
  const packet data = pattern(super ? 20000 : 1000, 3);
  // The checksum field holds what the kernel leaves there, not a valid checksum.
  wire.inject(super_packet(data, false),
              {.checksum_trusted = true, .segment_size = static_cast<std::uint16_t>(super ? 1460 : 0)});

  // Each packet as a wire would have carried it, with right checksums.
  const auto src = asio::ip::make_address("10.0.3.1"), dst = asio::ip::make_address("10.0.3.50");
  std::vector<packet> expected;
  for (std::size_t offset = 0, i = 0; offset < data.size(); offset += 1460, ++i) {
    const std::size_t n = super ? std::min<std::size_t>(1460, data.size() - offset) : data.size();
    const bool last = offset + n == data.size();
    const std::uint8_t flags = tcp_flag::ack | (last ? tcp_flag::psh | tcp_flag::fin : 0);
    const packet slice(data.begin() + static_cast<std::ptrdiff_t>(offset),
                       data.begin() + static_cast<std::ptrdiff_t>(offset + n));
    expected.push_back(build_ipv4({.id = static_cast<std::uint16_t>(0x0100 + i), .protocol = 6, .src = src.to_v4(), .dst = dst.to_v4()},
                                  build_tcp({.seq = static_cast<std::uint32_t>(1000 + offset), .ack = 1, .flags = flags, .payload = slice},
                                            src, dst)));
    if (!super) break;
  }

  std::vector<std::byte> buffer(65535);
  const std::array<asio::mutable_buffer, 1> b{asio::buffer(buffer)};
  std::size_t got = 0;
  for (;;) {
    tunstack::netif::packet_offload offload;
    std::error_code ec;
    const std::size_t n = link.receive_offloaded(b, offload, ec);
    if (ec == asio::error::would_block) break;
    REQUIRE_FALSE(ec);
    REQUIRE(got < expected.size());
    CAPTURE(got);
    // No longer vouched for, so the stack checks it; and one bit away from the right packet,
    // so its (now whole) checksum catches the flip, as a receiver's would on a wire.
    CHECK_FALSE(offload.checksum_trusted);
    CHECK(offload.segment_size == 0);
    const packet p(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    REQUIRE(p.size() == expected[got].size());
    int bits = 0;
    for (std::size_t i = 0; i < p.size(); ++i) bits += std::popcount(static_cast<unsigned>(p[i] ^ expected[got][i]));
    CHECK(bits == 1);
    const ipv4_view ip{p};
    CHECK_FALSE((ip.valid() && ip.header_checksum_ok() && tcp_view{ip.payload()}.checksum_ok(src, dst)));
    ++got;
  }
  CHECK(got == expected.size());
}
