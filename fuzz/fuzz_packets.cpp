// SPDX-License-Identifier: BSD-3-Clause
// fuzz_packets.cpp - libFuzzer target: arbitrary inbound packets into a whole tunstack stack
// (lwIP, the netif adapter, the sockets) with the tunstack program's services listening (TCP
// and UDP echo on 7, discard on 9, HTTP on 80) and five TCP connections already established by
// a peer the harness plays, so inputs reach established-state handling and the services'
// coroutines, not only header checks. Input format: packet_input.hpp.
//
// Every input gets a fresh world (io_context, memory link, stack, services, handshakes), so a
// crash reproduces from its input alone; the manual clock and a fixed seed make runs
// deterministic. At teardown the stack reports lwIP pool elements still in use (a leak of
// pbufs, segments or pcbs): the harness aborts on that, so leaks are findings too.
#include "packet_input.hpp"

#include "echo_discard.hpp"
#include "http/server.hpp"
#include "status.hpp"
#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"

#include <asio/io_context.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

using namespace tunstack;
using testing::bytes;

const asio::ip::address_v4 peer4 = asio::ip::make_address_v4("10.0.3.1");
const asio::ip::address_v4 stack4 = asio::ip::make_address_v4("10.0.3.50");
const asio::ip::address_v6 peer6 = asio::ip::make_address_v6("fd00:3::1");
const asio::ip::address_v6 stack6 = asio::ip::make_address_v6("fd00:3::50");

constexpr std::uint32_t peer_isn = 1000;
// Simulated time per input is capped, so that an input of many time records cannot run lwIP's
// timers for hours (libFuzzer would report a timeout, not a bug).
constexpr std::chrono::seconds max_time_per_input{600};

// TUNSTACK_FUZZ_VERBOSE=1: one line per TCP segment the stack sends (to see what an input does).
const bool verbose = std::getenv("TUNSTACK_FUZZ_VERBOSE") != nullptr;

void on_log(log_level level, std::string_view line) {
  if (level <= log_level::warning && line.find("still has") != std::string_view::npos) {
    std::fprintf(stderr, "fuzz_packets: lwIP memory leaked: %.*s\n", static_cast<int>(line.size()), line.data());
    std::abort();
  }
}

struct peer_state {
  std::uint32_t snd_nxt = peer_isn;
  std::uint32_t rcv_nxt = 0;
};

struct world {
  asio::io_context io;
  netif::memory_link wire{io.get_executor()};  // before the stack: links outlive it
  stack st{io, {.clock = clock_kind::manual, .seed = 1, .log = on_log, .log_max = log_level::warning}};
  std::array<peer_state, fuzz::connection_count> peers{};
  std::chrono::milliseconds elapsed{0};

  world() {
    st.add_interface(wire, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24"),
                            .ipv6 = {asio::ip::make_network_v6("fd00:3::50/64")}});
    // The services as apps/tunstack/main.cpp starts them.
    namespace svc = tunstack::services;
    auto model = std::make_shared<svc::status>(st);
    model->add(svc::start_tcp_echo(st, 7));
    model->add(svc::start_udp_echo(st, 7));
    model->add(svc::start_tcp_discard(st, 9));
    model->add(svc::start_udp_discard(st, 9));
    model->add(svc::start_http(st, svc::http_options{}, model));
    run();
    for (std::size_t i = 0; i < fuzz::connection_count; ++i) handshake(i);
  }

  void run() {
    io.restart();
    io.poll();
  }

  void inject(bytes packet) {
    wire.inject(packet);
    run();
    drain();
  }

  // Reads what the stack sent; a connection's peer takes in-order data, SYN and FIN as a
  // peer that accepts everything would (it never sends an ACK on its own: inputs do).
  void drain() {
    while (auto p = wire.take()) {
      const bytes& b = *p;
      if (b.empty()) continue;
      std::size_t offset = 0;
      if ((static_cast<unsigned>(b[0]) >> 4) == 4 && b.size() >= 20 && b[9] == std::byte{6}) {
        offset = (static_cast<unsigned>(b[0]) & 0x0f) * 4U;
      } else if ((static_cast<unsigned>(b[0]) >> 4) == 6 && b.size() >= 40 && b[6] == std::byte{6}) {
        offset = 40;
      } else {
        continue;
      }
      const testing::tcp_view s{std::span(b).subspan(std::min(offset, b.size()))};
      if (!s.valid()) continue;
      if (verbose) {
        std::fprintf(stderr, "stack sent TCP %u > %u flags 0x%02x seq %u ack %u win %u, %zu bytes of data\n",
                     s.src_port(), s.dst_port(), s.flags(), s.seq(), s.ack(), s.window(), s.payload().size());
      }
      for (std::size_t i = 0; i < fuzz::connection_count; ++i) {
        if (s.dst_port() != fuzz::connection_specs[i].peer_port) continue;
        const auto length = static_cast<std::uint32_t>(s.payload().size());
        const std::uint32_t end = s.seq() + length + (s.has(testing::tcp_flag::syn) ? 1 : 0) +
                                  (s.has(testing::tcp_flag::fin) ? 1 : 0);
        peer_state& ps = peers[i];
        if (s.has(testing::tcp_flag::syn) || static_cast<std::int32_t>(end - ps.rcv_nxt) > 0) ps.rcv_nxt = end;
      }
    }
  }

  void send_segment(std::size_t i, const testing::tcp_fields& f) {
    const auto& spec = fuzz::connection_specs[i];
    testing::tcp_fields g = f;
    g.src_port = spec.peer_port;
    g.dst_port = spec.stack_port;
    if (spec.v6) {
      inject(testing::build_ipv6({.next_header = 6, .src = peer6, .dst = stack6},
                                 testing::build_tcp(g, asio::ip::address{peer6}, asio::ip::address{stack6})));
    } else {
      inject(testing::build_ipv4({.protocol = 6, .src = peer4, .dst = stack4},
                                 testing::build_tcp(g, asio::ip::address{peer4}, asio::ip::address{stack4})));
    }
  }

  void handshake(std::size_t i) {
    using namespace testing::tcp_flag;
    testing::tcp_options options{.mss = 1460};
    if (fuzz::connection_specs[i].rich_options) {
      options.window_scale = 7;
      options.sack_permitted = true;
      options.timestamps = std::pair{1U, 0U};
    }
    peer_state& ps = peers[i];
    send_segment(i, {.seq = ps.snd_nxt, .ack = 0, .flags = syn, .window = 65535, .options = options});
    if (ps.rcv_nxt == 0) {
      std::fprintf(stderr, "fuzz_packets: no SYN-ACK for set-up connection %zu; the harness is broken\n", i);
      std::abort();
    }
    ++ps.snd_nxt;
    send_segment(i, {.seq = ps.snd_nxt, .ack = ps.rcv_nxt, .flags = ack, .window = 65535});
  }

  void advance(std::chrono::milliseconds d) {
    if (elapsed + d > max_time_per_input) return;
    elapsed += d;
    st.advance_time(d);
    run();
    drain();
  }

  // A segment record: see packet_input.hpp.
  void segment(std::size_t i, std::span<const std::byte> body) {
    if (body.size() < 8) return;
    peer_state& ps = peers[i];
    const auto seq_delta = static_cast<std::int16_t>(testing::get16(body, 1));
    const auto ack_delta = static_cast<std::int16_t>(testing::get16(body, 3));
    testing::tcp_fields f{.seq = ps.snd_nxt + static_cast<std::uint32_t>(static_cast<std::int32_t>(seq_delta)),
                          .ack = ps.rcv_nxt + static_cast<std::uint32_t>(static_cast<std::int32_t>(ack_delta)),
                          .flags = static_cast<std::uint8_t>(body[0]),
                          .window = testing::get16(body, 5)};
    const std::size_t n = std::min<std::size_t>({static_cast<std::size_t>(body[7]), 40, body.size() - 8});
    f.payload.assign(body.begin() + 8 + static_cast<std::ptrdiff_t>(n), body.end());
    // build_tcp encodes tcp_options; raw option bytes go in by hand below, padded to 4.
    bytes options(body.begin() + 8, body.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    while (options.size() % 4 != 0) options.push_back(std::byte{0});
    const auto& spec = fuzz::connection_specs[i];
    f.src_port = spec.peer_port;
    f.dst_port = spec.stack_port;
    bytes seg = testing::build_tcp(f, asio::ip::address{peer4}, asio::ip::address{stack4});
    seg.insert(seg.begin() + 20, options.begin(), options.end());
    seg[12] = static_cast<std::byte>((20 + options.size()) / 4 << 4);
    bytes packet = spec.v6 ? testing::build_ipv6({.next_header = 6, .src = peer6, .dst = stack6}, seg)
                           : testing::build_ipv4({.protocol = 6, .src = peer4, .dst = stack4}, seg);
    fuzz::fix_checksums(packet);
    if (seq_delta == 0) {
      ps.snd_nxt += static_cast<std::uint32_t>(f.payload.size()) + ((f.flags & testing::tcp_flag::syn) ? 1 : 0) +
                    ((f.flags & testing::tcp_flag::fin) ? 1 : 0);
    }
    inject(std::move(packet));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> in{reinterpret_cast<const std::byte*>(data), size};
  world w;
  std::size_t at = 0;
  while (at < in.size()) {
    const auto op = static_cast<unsigned>(in[at++]);
    const auto kind = static_cast<fuzz::record_kind>(op & 3);
    if (kind == fuzz::record_kind::time) {
      w.advance(fuzz::time_step(op >> 2));
      continue;
    }
    std::size_t length = 0;
    if (at + 2 <= in.size()) length = testing::get16(in, at);
    at = std::min(at + 2, in.size());
    length = std::min(length, in.size() - at);
    const auto body = in.subspan(at, length);
    at += length;
    switch (kind) {
      case fuzz::record_kind::raw:
        w.inject(bytes(body.begin(), body.end()));
        break;
      case fuzz::record_kind::fixed: {
        bytes packet(body.begin(), body.end());
        fuzz::fix_checksums(packet);
        w.inject(std::move(packet));
        break;
      }
      case fuzz::record_kind::segment:
        w.segment((op >> 2) % fuzz::connection_count, body);
        break;
      case fuzz::record_kind::time:
        break;
    }
  }
  return 0;
}
