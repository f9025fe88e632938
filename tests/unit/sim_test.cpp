// SPDX-License-Identifier: BSD-3-Clause
// sim_test.cpp - TCP through the deterministic simulator (tunstack::sim): loss, retransmission
// timeout, fast retransmit, zero-window probing, keep-alive and TIME-WAIT, each in milliseconds
// of real time; 10 MiB intact through loss, reordering and duplication; the same seed giving
// the same packets; and the TCP trace of a scripted connection against its transcript.
#include "packet.hpp"

#include "tunstack/sim/network.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using tunstack::sim::network;
using tunstack::sim::wire_packet;
namespace flags = tunstack::tcp_flags;

namespace {

constexpr std::uint16_t port = 7;

// A TCP segment on the wire, decoded just enough for the scenarios (IPv4 only).
struct segment {
  bool client_to_server;
  std::uint8_t flags;
  std::uint32_t seq;
  std::size_t length;
};

std::optional<segment> tcp_of(const wire_packet& p) {
  const std::span<const std::byte> b{p.bytes};
  if (b.size() < 40 || (static_cast<unsigned>(b[0]) >> 4) != 4 || static_cast<unsigned>(b[9]) != 6) return std::nullopt;
  const std::size_t ihl = (static_cast<unsigned>(b[0]) & 0x0f) * 4;
  const std::size_t doff = (static_cast<unsigned>(b[ihl + 12]) >> 4) * 4;
  return segment{p.client_to_server, static_cast<std::uint8_t>(b[ihl + 13]), tunstack::testing::get32(b, ihl + 4),
                 tunstack::testing::get16(b, 2) - ihl - doff};
}

std::vector<std::byte> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 g{seed};
  std::vector<std::byte> v(n);
  for (auto& x : v) x = static_cast<std::byte>(g());
  return v;
}

// Echoes one connection until the client's FIN, then closes (RFC 862).
asio::awaitable<void> echo_once(tunstack::tcp::acceptor& acceptor) {
  tunstack::tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
  std::vector<char> buffer(64 * 1024);
  std::error_code ec;
  for (;;) {
    const std::size_t n = co_await s.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(s, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  s.shutdown(asio::socket_base::shutdown_send, ec);
}

tunstack::tcp::socket client_socket(network& net) {
  tunstack::tcp::socket s{net.stack()};
  s.bind({net.client_address(), 0});
  return s;
}

// Sends @p data to the echo server while reading the echo back (full duplex), then half-closes
// and waits for the server's FIN. @p echoed gets what came back.
asio::awaitable<void> echo_client(network& net, const std::vector<std::byte>& data, std::vector<std::byte>& echoed,
                                  std::error_code& result, bool& done) {
  tunstack::tcp::socket s = client_socket(net);
  try {
    co_await s.async_connect({net.server_address(), port}, asio::use_awaitable);
    bool written = false;
    asio::co_spawn(
        s.get_executor(),
        [&]() -> asio::awaitable<void> {
          co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
          s.shutdown(asio::socket_base::shutdown_send);
          written = true;
        },
        asio::detached);
    std::vector<std::byte> buffer(64 * 1024);
    std::error_code ec;
    for (;;) {
      const std::size_t n = co_await s.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      echoed.insert(echoed.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    }
    result = ec == asio::error::eof && written ? std::error_code{} : ec;
  } catch (const std::system_error& e) {
    result = e.code();
  }
  done = true;
}

// The whole scenario for one echo exchange; returns what came back.
struct echo_run {
  std::vector<std::byte> echoed;
  std::error_code result;
  bool done = false;
};

echo_run run_echo(network& net, const std::vector<std::byte>& data, std::chrono::nanoseconds limit = 1h) {
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), port}};
  asio::co_spawn(net.io(), echo_once(acceptor), asio::detached);
  echo_run r;
  asio::co_spawn(net.io(), echo_client(net, data, r.echoed, r.result, r.done), asio::detached);
  net.run_until([&] { return r.done; }, limit);
  return r;
}

// The wire with the two IPv4 fields lwIP does not derive from the seed blanked: the
// identification counter is a static in lwIP's ip4.c that no API resets between stacks (it
// continues from the previous test's count), and the header checksum covers it.
std::vector<std::pair<bool, std::vector<std::byte>>> comparable(const std::vector<wire_packet>& wire) {
  std::vector<std::pair<bool, std::vector<std::byte>>> r;
  for (const auto& p : wire) {
    auto b = p.bytes;
    if (b.size() >= 20 && (static_cast<unsigned>(b[0]) >> 4) == 4) b[4] = b[5] = b[10] = b[11] = std::byte{0};
    r.emplace_back(p.client_to_server, std::move(b));
  }
  return r;
}

std::vector<std::pair<bool, std::vector<std::byte>>> lossy_exchange(std::uint64_t seed) {
  const tunstack::netif::impairment lossy{.loss = 5, .delay = 2ms, .jitter = 1ms};
  network net{{.seed = seed, .client_to_server = lossy, .server_to_client = lossy, .record_wire = true}};
  const auto r = run_echo(net, random_bytes(200 * 1024, 3));
  REQUIRE(r.done);
  REQUIRE_FALSE(r.result);
  return comparable(net.wire());
}

// When the client sent segments carrying data, per the trace (in order; resends included).
std::vector<std::chrono::nanoseconds> data_sent_by_client(const std::vector<tunstack::trace_event>& trace, network& net) {
  std::vector<std::chrono::nanoseconds> times;
  for (const auto& e : trace) {
    const auto* s = std::get_if<tunstack::trace_segment>(&e);
    if (s && s->outbound && s->source.address() == net.client_address() && s->length > 0 && s->relative && s->seq == 1) {
      times.push_back(s->time);
    }
  }
  return times;
}

// The client's congestion figures reported at @p t, if they changed then.
std::optional<tunstack::trace_metrics> client_metrics_at(const std::vector<tunstack::trace_event>& trace, network& net,
                                                         std::chrono::nanoseconds t) {
  std::optional<tunstack::trace_metrics> found;
  for (const auto& e : trace) {
    const auto* m = std::get_if<tunstack::trace_metrics>(&e);
    if (m && m->local.address() == net.client_address() && m->time == t) found = *m;
  }
  return found;
}

std::uint64_t counter(const network& net, const std::string& name) {
  for (const auto& c : net.wire_counters()) {
    if (c.name == name) return c.value;
  }
  FAIL("no wire counter " << name);
  return 0;
}

}  // namespace

TEST_CASE("sim: the same seed gives the same packets on the wire; another seed does not") {
  const auto first = lossy_exchange(11);
  const auto again = lossy_exchange(11);
  const auto other = lossy_exchange(12);
  CHECK(first.size() > 300);
  CHECK(first == again);
  CHECK(first != other);
}

TEST_CASE("sim: 10 MiB full duplex through echo, intact through 5% loss, reordering and duplication both ways") {
  const tunstack::netif::impairment rough{.loss = 5, .duplicate = 2, .reorder = 2, .delay = 1ms};
  network net{{.seed = 5, .client_to_server = rough, .server_to_client = rough}};
  const auto data = random_bytes(10 * 1024 * 1024, 9);
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_echo(net, data, 24h);
  REQUIRE(r.done);
  CHECK_FALSE(r.result);
  CHECK(r.echoed.size() == data.size());
  CHECK(r.echoed == data);
  for (const char* c : {"client_to_server_lost", "server_to_client_lost", "client_to_server_duplicated",
                        "server_to_client_duplicated", "client_to_server_reordered", "server_to_client_reordered"}) {
    CHECK_MESSAGE(counter(net, c) > 0, c);
  }
  MESSAGE("10 MiB each way: virtual " << std::chrono::duration_cast<std::chrono::milliseconds>(net.now()).count()
                                      << " ms, real "
                                      << std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count()
                                      << " ms");
}

// The client's segments with the FIN flag, as it sent them (the trace of its own stack).
std::vector<std::chrono::nanoseconds> fins_sent_by_client(const std::vector<tunstack::trace_event>& trace, network& net) {
  std::vector<std::chrono::nanoseconds> times;
  for (const auto& e : trace) {
    const auto* s = std::get_if<tunstack::trace_segment>(&e);
    if (s && s->outbound && s->source.address() == net.client_address() && (s->flags & tunstack::tcp_flags::fin)) {
      times.push_back(s->time);
    }
  }
  return times;
}

TEST_CASE("sim: a lost data segment whose FIN arrived is retransmitted by RACK's reordering timer") {
  std::vector<tunstack::trace_event> trace;
  network net{{.seed = 3,
               .client_to_server = {.delay = 10ms},
               .server_to_client = {.delay = 10ms},
               .trace = [&](const tunstack::trace_event& e) { trace.push_back(e); }}};
  bool dropped = false;
  net.set_wire_filter([&](const wire_packet& p) {
    const auto s = tcp_of(p);
    if (!s || !s->client_to_server || s->length == 0) return false;
    if (!dropped) return dropped = true;
    return false;
  });
  const auto data = random_bytes(100, 1);
  const auto r = run_echo(net, data);
  REQUIRE(r.done);
  CHECK_FALSE(r.result);
  CHECK(r.echoed == data);
  const auto sends = data_sent_by_client(trace, net);
  REQUIRE(sends.size() >= 2);
  const auto gap = sends[1] - sends[0];
  // The FIN, sent right after the data, arrives and is SACKed one RTT (20 ms) later; the data
  // segment, sent at the same instant, is lost once a quarter of the minimum RTT has passed
  // without it (RFC 8985 6.3), seen by the 25 ms fast timer: no probe, no RTO.
  CHECK(gap >= 20ms);
  CHECK(gap <= 50ms);
  MESSAGE("retransmitted after " << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms");
  const auto loss = net.stack().stats().tcp_loss;
  CHECK(loss.recoveries == 1);
  CHECK(loss.timeouts == 0);
}

TEST_CASE("sim: a lost FIN with nothing behind it is probed for after 2 SRTT + 50 ms, long before the RTO") {
  std::vector<tunstack::trace_event> trace;
  network net{{.seed = 3,
               .client_to_server = {.delay = 10ms},
               .server_to_client = {.delay = 10ms},
               .trace = [&](const tunstack::trace_event& e) { trace.push_back(e); }}};
  int dropped = 0;
  net.set_wire_filter([&](const wire_packet& p) {
    const auto s = tcp_of(p);
    if (!s || !s->client_to_server || !(s->flags & 0x01)) return false;
    return dropped++ == 0;
  });
  const auto data = random_bytes(100, 1);
  const auto r = run_echo(net, data);
  REQUIRE(r.done);
  CHECK_FALSE(r.result);
  CHECK(r.echoed == data);
  const auto fins = fins_sent_by_client(trace, net);
  REQUIRE(fins.size() >= 2);
  const auto gap = fins[1] - fins[0];
  // RFC 8985 7.2: the probe timeout restarts with the ACK of the data, 20 ms after the FIN
  // left: PTO = 2 SRTT (20 ms) + 50 ms for a single segment in flight (TCP_TLP_WCDELACK_MS),
  // seen by the 25 ms fast timer. The RTO would be 200-250 ms.
  CHECK(gap >= 110ms);
  CHECK(gap <= 135ms);
  MESSAGE("probed after " << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms");
  const auto loss = net.stack().stats().tcp_loss;
  CHECK(loss.probes >= 1);
  CHECK(loss.timeouts == 0);
}

TEST_CASE("sim: when the probe is lost too, the RTO retransmits and cwnd drops to one MSS") {
  std::vector<tunstack::trace_event> trace;
  network net{{.seed = 3,
               .client_to_server = {.delay = 10ms},
               .server_to_client = {.delay = 10ms},
               .trace = [&](const tunstack::trace_event& e) { trace.push_back(e); }}};
  int dropped = 0;
  net.set_wire_filter([&](const wire_packet& p) {
    const auto s = tcp_of(p);
    if (!s || !s->client_to_server || !(s->flags & 0x01)) return false;
    return dropped++ < 2;  // the FIN and its tail loss probe
  });
  const auto data = random_bytes(100, 1);
  const auto r = run_echo(net, data);
  REQUIRE(r.done);
  CHECK_FALSE(r.result);
  CHECK(r.echoed == data);
  const auto fins = fins_sent_by_client(trace, net);
  REQUIRE(fins.size() >= 3);
  // The RTO restarts with the probe (RFC 8985 7.3): 200 ms floor, on the 50 ms slow timer.
  const auto gap = fins[2] - fins[1];
  CHECK(gap >= 200ms);
  CHECK(gap <= 250ms);
  MESSAGE("retransmitted " << std::chrono::duration_cast<std::chrono::milliseconds>(gap).count() << " ms after the probe");
  const auto cc = client_metrics_at(trace, net, fins[2]);
  REQUIRE(cc.has_value());
  CHECK(cc->cwnd == 1460);  // the timeout collapsed the window to one segment (RFC 5681 3.1)
  CHECK(net.stack().stats().tcp_loss.timeouts == 1);
}

TEST_CASE("sim: a lost segment followed by others is fast-retransmitted on duplicate ACKs, long before the RTO") {
  std::vector<tunstack::trace_event> trace;
  network net{{.seed = 4,
               .client_to_server = {.delay = 10ms},
               .server_to_client = {.delay = 10ms},
               .trace = [&](const tunstack::trace_event& e) { trace.push_back(e); }}};
  int data_segments = 0;
  std::optional<std::uint32_t> victim;
  std::vector<std::chrono::nanoseconds> victim_sent;
  net.set_wire_filter([&](const wire_packet& p) {
    const auto s = tcp_of(p);
    if (!s || !s->client_to_server || s->length == 0) return false;
    if (victim && s->seq == *victim) {
      victim_sent.push_back(p.time);
      return false;
    }
    if (++data_segments == 3 && !victim) {
      victim = s->seq;
      victim_sent.push_back(p.time);
      return true;
    }
    return false;
  });
  const auto data = random_bytes(64 * 1024, 2);
  const auto r = run_echo(net, data);
  REQUIRE(r.done);
  CHECK_FALSE(r.result);
  CHECK(r.echoed == data);
  REQUIRE(victim_sent.size() == 2);
  CHECK(victim_sent[1] - victim_sent[0] < 200ms);  // three duplicate ACKs after one round trip (20 ms), not an RTO (>= 1 s)
  // In the client's trace: the resend of the victim, and fast recovery's smaller ssthresh then.
  std::optional<std::chrono::nanoseconds> resent;
  for (const auto& e : trace) {
    const auto* s = std::get_if<tunstack::trace_segment>(&e);
    if (s && s->outbound && s->interface == "sim-client" && s->length > 0 && s->time + 10ms == victim_sent[1]) resent = s->time;
  }
  REQUIRE(resent.has_value());
  const auto cc = client_metrics_at(trace, net, *resent);
  REQUIRE(cc.has_value());
  CHECK(cc->ssthresh < 1048576);
  MESSAGE("fast retransmit after " << std::chrono::duration_cast<std::chrono::milliseconds>(victim_sent[1] - victim_sent[0]).count()
                                   << " ms; ssthresh then " << cc->ssthresh << ", cwnd " << cc->cwnd);
}

TEST_CASE("sim: a receiver that stops reading closes the window; the sender probes it until it opens again") {
  std::vector<tunstack::trace_event> trace;
  network net{{.seed = 6,
               .client_to_server = {.delay = 5ms},
               .server_to_client = {.delay = 5ms},
               .trace = [&](const tunstack::trace_event& e) { trace.push_back(e); }}};
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), port}};
  std::optional<tunstack::tcp::socket> server;
  acceptor.async_accept([&](std::error_code ec, tunstack::tcp::socket s) {
    if (!ec) server.emplace(std::move(s));
  });
  const auto data = random_bytes(3 * 1024 * 1024, 4);  // more than the 1 MiB window and send buffer
  tunstack::tcp::socket client = client_socket(net);
  bool written = false;
  client.async_connect({net.server_address(), port}, [&](std::error_code ec) {
    REQUIRE_FALSE(ec);
    asio::async_write(client, asio::buffer(data), [&](std::error_code wec, std::size_t) { written = !wec; });
  });
  // Nobody reads: the server's window falls to zero and the client starts probing.
  auto zero_window_at = [&]() -> std::optional<std::chrono::nanoseconds> {
    for (const auto& e : trace) {
      if (const auto* s = std::get_if<tunstack::trace_segment>(&e);
          s && s->outbound && s->source.port() == port && s->window == 0) {
        return s->time;
      }
    }
    return std::nullopt;
  };
  auto probes_after = [&](std::chrono::nanoseconds t) {
    std::vector<std::chrono::nanoseconds> times;
    for (const auto& e : trace) {
      if (const auto* s = std::get_if<tunstack::trace_segment>(&e);
          s && s->outbound && s->destination.port() == port && s->time > t && s->interface == "sim-client") {
        times.push_back(s->time);
      }
    }
    return times;
  };
  REQUIRE(net.run_until([&] { return server && zero_window_at() && probes_after(*zero_window_at()).size() >= 3; }, 5min));
  CHECK_FALSE(written);
  const auto probes = probes_after(*zero_window_at());
  CHECK(probes[2] - probes[1] >= probes[1] - probes[0]);  // the persist timer backs off
  MESSAGE("zero window at " << std::chrono::duration_cast<std::chrono::milliseconds>(*zero_window_at()).count()
                            << " ms; probes at " << std::chrono::duration_cast<std::chrono::milliseconds>(probes[0]).count()
                            << ", " << std::chrono::duration_cast<std::chrono::milliseconds>(probes[1]).count() << ", "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(probes[2]).count() << " ms");

  // Now the server reads everything: the window opens and the whole transfer arrives intact.
  std::vector<std::byte> received(data.size());
  bool read_all = false;
  asio::async_read(*server, asio::buffer(received), [&](std::error_code ec, std::size_t) { read_all = !ec; });
  REQUIRE(net.run_until([&] { return read_all && written; }, 10min));
  CHECK(received == data);
}

TEST_CASE("sim: keep-alive probes a silent peer and gives up after idle + count x interval") {
  network net{{.seed = 7}};
  tunstack::tcp::acceptor acceptor{net.stack(), {net.server_address(), port}};
  std::optional<tunstack::tcp::socket> server;
  acceptor.async_accept([&](std::error_code ec, tunstack::tcp::socket s) {
    if (!ec) server.emplace(std::move(s));
  });
  tunstack::tcp::socket client = client_socket(net);
  client.set_option(tunstack::tcp::keep_alive(true));
  client.set_option(tunstack::tcp::keep_alive_idle{2s});
  client.set_option(tunstack::tcp::keep_alive_interval{1s});
  client.set_option(tunstack::tcp::keep_alive_count{3});
  bool connected = false;
  client.async_connect({net.server_address(), port}, [&](std::error_code ec) { connected = !ec; });
  REQUIRE(net.run_until([&] { return connected && server; }));

  // From now on the server's side of the wire is cut: nothing it sends arrives.
  int probes = 0;
  net.set_wire_filter([&](const wire_packet& p) {
    if (p.client_to_server) ++probes;
    return !p.client_to_server;
  });
  const auto cut = net.now();
  std::error_code error;
  bool failed = false;
  char byte;
  client.async_read_some(asio::buffer(&byte, 1), [&](std::error_code ec, std::size_t) {
    error = ec;
    failed = true;
  });
  REQUIRE(net.run_until([&] { return failed; }, 1min));
  CHECK(error == asio::error::timed_out);
  const auto after = net.now() - cut;
  CHECK(after >= 5s);    // 2 s idle + 3 probes 1 s apart
  CHECK(after <= 6500ms);  // lwIP's keep-alive runs on its slow timer (200 ms)
  CHECK(probes >= 3);
  MESSAGE("gave up after " << std::chrono::duration_cast<std::chrono::milliseconds>(after).count() << " ms, " << probes
                           << " probes");
}

TEST_CASE("sim: the side that closes first stays in TIME-WAIT for 2 MSL (120 s), then is gone") {
  network net{{.seed = 8}};
  const auto r = run_echo(net, random_bytes(10, 5));
  REQUIRE(r.done);
  REQUIRE_FALSE(r.result);
  auto client_state = [&]() -> std::string {
    for (const auto& c : net.stack().tcp_connections()) {
      if (c.local.address() == net.client_address()) return c.state;
    }
    return "";
  };
  CHECK(client_state() == "TIME-WAIT");
  const auto closed_at = net.now();
  net.run_for(119s);
  CHECK(client_state() == "TIME-WAIT");
  net.run_for(2s);
  CHECK(client_state() == "");
  MESSAGE("TIME-WAIT held for at least 119 s of virtual time (" << std::chrono::duration_cast<std::chrono::seconds>(net.now() - closed_at).count() << " s checked)");
}

TEST_CASE("sim: the trace of a scripted connection matches its transcript line for line") {
  std::ostringstream lines;
  {
    network net{{.seed = 1,
                 .client_to_server = {.delay = 1ms},
                 .server_to_client = {.delay = 1ms},
                 .trace = [&](const tunstack::trace_event& e) { lines << tunstack::to_string(e) << '\n'; }}};
    const std::string hello = "hello\n";
    std::vector<std::byte> data(hello.size());
    std::memcpy(data.data(), hello.data(), hello.size());
    const auto r = run_echo(net, data);
    REQUIRE(r.done);
    REQUIRE_FALSE(r.result);
    net.run_for(121s);  // through TIME-WAIT
  }
  const std::string path = TUNSTACK_TEST_DATA "/sim_echo_trace.txt";
  if (std::getenv("TUNSTACK_UPDATE_TRANSCRIPTS") != nullptr) {
    std::ofstream out(path);
    out << lines.str();
    REQUIRE_MESSAGE(out.good(), "cannot write " << path);
    MESSAGE("wrote " << path);
  }
  std::ifstream expected_file(path);
  REQUIRE_MESSAGE(expected_file, "missing " << path << " (regenerate: TUNSTACK_UPDATE_TRANSCRIPTS=1 and this test)");
  std::vector<std::string> expected, actual;
  for (std::string l; std::getline(expected_file, l);) expected.push_back(l);
  std::istringstream in(lines.str());
  for (std::string l; std::getline(in, l);) actual.push_back(l);
  for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
    const std::string e = i < expected.size() ? expected[i] : "(none)";
    const std::string a = i < actual.size() ? actual[i] : "(none)";
    CHECK_MESSAGE(a == e, "line " << i + 1);
  }
  // The transcript covers what it is meant to show.
  const std::string all = lines.str();
  for (const char* transition : {"CLOSED -> SYN-SENT", "LISTEN -> SYN-RECEIVED", "SYN-SENT -> ESTABLISHED",
                                 "SYN-RECEIVED -> ESTABLISHED", "ESTABLISHED -> FIN-WAIT-1", "CLOSE-WAIT -> LAST-ACK",
                                 "-> TIME-WAIT", "TIME-WAIT -> CLOSED", "LAST-ACK -> CLOSED"}) {
    CHECK_MESSAGE(all.find(transition) != std::string::npos, transition);
  }
}
