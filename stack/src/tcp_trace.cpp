// SPDX-License-Identifier: BSD-3-Clause
// tcp_trace.cpp - the TCP trace (see tunstack/trace.hpp and detail/tcp_tracer.hpp): segment
// decoding, the pcb comparison behind state and congestion events, and the line format.
#include "detail/byte_reader.hpp"
#include "detail/lwip_address.hpp"
#include "detail/tcp_tracer.hpp"

#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

#include <array>
#include <cinttypes>
#include <cstdio>

namespace tunstack {
namespace detail {

const char* rfc9293_name(enum tcp_state state) noexcept {
  switch (state) {
    case CLOSED: return "CLOSED";
    case LISTEN: return "LISTEN";
    case SYN_SENT: return "SYN-SENT";
    case SYN_RCVD: return "SYN-RECEIVED";
    case ESTABLISHED: return "ESTABLISHED";
    case FIN_WAIT_1: return "FIN-WAIT-1";
    case FIN_WAIT_2: return "FIN-WAIT-2";
    case CLOSE_WAIT: return "CLOSE-WAIT";
    case CLOSING: return "CLOSING";
    case LAST_ACK: return "LAST-ACK";
    case TIME_WAIT: return "TIME-WAIT";
  }
  return "?";
}

rtt_figures rtt_of(const struct tcp_pcb* pcb) noexcept {
  rtt_figures r;
  if (pcb->rtt_min_us != TCP_RTT_NONE) {
    r.srtt = std::chrono::microseconds(pcb->srtt_us);
    r.rttvar = std::chrono::microseconds(pcb->rttvar_us);
  }
  r.rto = std::chrono::milliseconds(pcb->rto_ms);
  return r;
}

namespace {

using endpoint = asio::ip::tcp::endpoint;

// Reads the options between the fixed header and the data offset; stops at anything malformed.
tcp_segment_options parse_options(const byte_reader& tcp, std::size_t header_length) {
  tcp_segment_options o;
  std::size_t i = 20;
  while (i < header_length && tcp.has(i, 1)) {
    const std::uint8_t kind = tcp.u8(i);
    if (kind == 0) break;  // end of option list
    if (kind == 1) {       // no-operation
      ++i;
      continue;
    }
    if (!tcp.has(i + 1, 1)) break;
    const std::size_t len = tcp.u8(i + 1);
    if (len < 2 || i + len > header_length || !tcp.has(i, len)) break;
    if (kind == 2 && len == 4) o.mss = tcp.u16(i + 2);
    if (kind == 3 && len == 3) o.window_scale = tcp.u8(i + 2);
    if (kind == 4 && len == 2) o.sack_permitted = true;
    if (kind == 5 && (len - 2) % 8 == 0) {
      for (std::size_t b = i + 2; b + 8 <= i + len; b += 8) o.sack.emplace_back(tcp.u32(b), tcp.u32(b + 4));
    }
    if (kind == 8 && len == 10) o.timestamps = std::pair{tcp.u32(i + 2), tcp.u32(i + 6)};
    i += len;
  }
  return o;
}

}  // namespace

void tcp_tracer::packet(std::chrono::nanoseconds now, bool outbound, const std::string& interface,
                        const struct pbuf* p) {
  std::array<std::byte, 40 + 60> head;  // IPv6 header (or IPv4 with options) + the largest TCP header
  const u16_t n = pbuf_copy_partial(p, head.data(), static_cast<u16_t>(head.size()), 0);
  const byte_reader ip{std::span<const std::byte>(head.data(), n)};
  if (!ip.has(0, 1)) return;
  const unsigned version = ip.u8(0) >> 4;
  if (version == 4 && ip.has(0, 20)) {
    const std::size_t ihl = static_cast<std::size_t>(ip.u8(0) & 0x0f) * 4;
    if (ip.u8(9) != IP_PROTO_TCP || ihl < 20 || (ip.u16(6) & 0x3fff) != 0) return;  // not TCP, or a fragment
    const std::size_t total = std::min<std::size_t>(ip.u16(2), p->tot_len);
    const byte_reader tcp = ip.from(ihl);
    if (!tcp.has(0, 20)) return;
    const std::size_t header = static_cast<std::size_t>(tcp.u8(12) >> 4) * 4;
    if (header < 20 || ihl + header > total) return;
    segment(now, outbound, interface, {asio::ip::address_v4{ip.u32(12)}, tcp.u16(0)},
            {asio::ip::address_v4{ip.u32(16)}, tcp.u16(2)},
            std::span<const std::byte>(head.data() + ihl, n - ihl), total - ihl - header);
  } else if (version == 6 && ip.has(0, 40)) {
    if (ip.u8(6) != IP_PROTO_TCP) return;  // extension headers are not followed
    const std::size_t total = std::min<std::size_t>(40U + ip.u16(4), p->tot_len);
    const byte_reader tcp = ip.from(40);
    if (!tcp.has(0, 20)) return;
    const std::size_t header = static_cast<std::size_t>(tcp.u8(12) >> 4) * 4;
    if (header < 20 || 40 + header > total) return;
    asio::ip::address_v6::bytes_type src{}, dst{};
    for (std::size_t i = 0; i < 16; ++i) {
      src[i] = ip.u8(8 + i);
      dst[i] = ip.u8(24 + i);
    }
    segment(now, outbound, interface, {asio::ip::address_v6{src}, tcp.u16(0)}, {asio::ip::address_v6{dst}, tcp.u16(2)},
            std::span<const std::byte>(head.data() + 40, n - 40), total - 40 - header);
  }
}

void tcp_tracer::segment(std::chrono::nanoseconds now, bool outbound, const std::string& interface,
                         const endpoint& source, const endpoint& destination, std::span<const std::byte> bytes,
                         std::size_t payload) {
  const byte_reader tcp{bytes};
  const std::size_t header = static_cast<std::size_t>(tcp.u8(12) >> 4) * 4;
  trace_segment s;
  s.time = now;
  s.outbound = outbound;
  s.interface = interface;
  s.source = source;
  s.destination = destination;
  s.flags = tcp.u8(13);
  s.seq = tcp.u32(4);
  s.ack = tcp.u32(8);
  s.window = tcp.u16(14);
  s.length = payload;
  s.options = parse_options(tcp, header);

  const bool syn = (s.flags & tcp_flags::syn) != 0;
  const auto forward = std::pair{source, destination}, backward = std::pair{destination, source};
  if (syn) {
    if (directions_.size() > 65536) directions_.clear();  // SYNs that never became connections
    directions_[forward] = {s.seq, s.options.window_scale};
  }
  const auto sent = directions_.find(forward), received = directions_.find(backward);
  const bool acks = (s.flags & tcp_flags::ack) != 0;
  if (sent != directions_.end() && (!acks || received != directions_.end())) {
    s.relative = true;
    s.seq -= sent->second.isn;
    if (acks) s.ack -= received->second.isn;
    if (received != directions_.end()) {
      for (auto& [left, right] : s.options.sack) {
        left -= received->second.isn;
        right -= received->second.isn;
      }
    }
  }
  if (!syn && sent != directions_.end() && received != directions_.end() && sent->second.window_scale &&
      received->second.window_scale) {
    s.window <<= std::min<std::uint8_t>(*sent->second.window_scale, 14);
  }
  sink_(std::move(s));
}

void tcp_tracer::scan(std::chrono::nanoseconds now) {
  for (auto& [key, s] : pcbs_) s.seen = false;
  auto visit = [&](const struct tcp_pcb* pcb, bool listener) {
    snapshot current;
    current.local = endpoint_of(pcb->local_ip, pcb->local_port);
    current.state = pcb->state;
    current.seen = true;
    if (!listener) {
      current.remote = endpoint_of(pcb->remote_ip, pcb->remote_port);
      current.cwnd = pcb->cwnd;
      current.ssthresh = pcb->ssthresh;
      current.srtt_tenths = (pcb->srtt_us + 50) / 100;
      current.rttvar_tenths = (pcb->rttvar_us + 50) / 100;
      current.rto_ms = pcb->rto_ms;
    }
    auto it = pcbs_.find(pcb);
    const char* from = listener ? "CLOSED" : pcb->state == SYN_RCVD ? "LISTEN" : "CLOSED";
    if (it != pcbs_.end() && (it->second.local != current.local || it->second.remote != current.remote)) {
      report_gone(now, it->second);  // freed and reused for another connection since the last scan
      pcbs_.erase(it);
      it = pcbs_.end();
    }
    if (it != pcbs_.end()) {
      from = it->second.state == current.state ? nullptr : rfc9293_name(it->second.state);
    }
    const bool metrics_changed = !listener && (it == pcbs_.end() || it->second.cwnd != current.cwnd ||
                                               it->second.ssthresh != current.ssthresh ||
                                               it->second.srtt_tenths != current.srtt_tenths ||
                                               it->second.rttvar_tenths != current.rttvar_tenths ||
                                               it->second.rto_ms != current.rto_ms);
    if (from != nullptr) sink_(trace_state{now, current.local, current.remote, from, rfc9293_name(current.state)});
    if (metrics_changed) {
      const rtt_figures r = rtt_of(pcb);
      sink_(trace_metrics{now, current.local, current.remote, current.cwnd, current.ssthresh, r.srtt, r.rttvar, r.rto});
    }
    pcbs_[pcb] = current;
  };
  for (const tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l != nullptr; l = l->next) {
    visit(reinterpret_cast<const tcp_pcb*>(l), true);
  }
  for (const tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) visit(p, false);
  for (const tcp_pcb* p = tcp_tw_pcbs; p != nullptr; p = p->next) visit(p, false);

  for (auto it = pcbs_.begin(); it != pcbs_.end();) {
    if (it->second.seen) {
      ++it;
      continue;
    }
    const snapshot gone = it->second;
    it = pcbs_.erase(it);
    report_gone(now, gone);
  }
}

void tcp_tracer::report_gone(std::chrono::nanoseconds now, const snapshot& s) {
  sink_(trace_state{now, s.local, s.remote, rfc9293_name(s.state), "CLOSED"});
  if (s.state == LISTEN) return;
  // The SYNs' figures stay while either end of the connection is still known (a simulation
  // holds both ends in one stack).
  for (const auto& [key, other] : pcbs_) {
    if ((other.local == s.local && other.remote == s.remote) || (other.local == s.remote && other.remote == s.local)) {
      return;
    }
  }
  directions_.erase({s.local, s.remote});
  directions_.erase({s.remote, s.local});
}

}  // namespace detail

namespace {

std::string seconds(std::chrono::nanoseconds t) {
  char b[32];
  std::snprintf(b, sizeof b, "%10.6f", static_cast<double>(t.count()) / 1e9);
  return b;
}

std::string options_text(const tcp_segment_options& o) {
  std::string s;
  auto add = [&](const std::string& item) { s += (s.empty() ? "" : ",") + item; };
  if (o.mss) add("mss " + std::to_string(*o.mss));
  if (o.sack_permitted) add("sackOK");
  for (const auto& [l, r] : o.sack) add("sack " + std::to_string(l) + ":" + std::to_string(r));
  if (o.timestamps) add("TS " + std::to_string(o.timestamps->first) + " " + std::to_string(o.timestamps->second));
  if (o.window_scale) add("wscale " + std::to_string(*o.window_scale));
  return s.empty() ? s : " <" + s + ">";
}

// Milliseconds with the digits that matter: "0.21ms", "20.4ms", "250ms".
std::string ms(const std::optional<std::chrono::microseconds>& v) {
  if (!v) return "-";
  const double value = static_cast<double>(v->count()) / 1000.0;
  char text[32];
  std::snprintf(text, sizeof text, value < 10 ? "%.2fms" : value < 100 ? "%.1fms" : "%.0fms", value);
  return text;
}

}  // namespace

std::string tcp_flags_text(std::uint8_t f) {
  std::string s;
  if (f & tcp_flags::syn) s += 'S';
  if (f & tcp_flags::fin) s += 'F';
  if (f & tcp_flags::rst) s += 'R';
  if (f & tcp_flags::psh) s += 'P';
  if (f & tcp_flags::urg) s += 'U';
  if (f & tcp_flags::ece) s += 'E';
  if (f & tcp_flags::cwr) s += 'W';
  if (f & tcp_flags::ack) s += '.';
  return s;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

std::string to_string(const trace_event& event) {
  struct visitor {
    std::string operator()(const trace_segment& s) const {
      std::string line = seconds(s.time) + (s.outbound ? " out   " : " in    ") + s.interface + " " + endpoint_text(s.source) +
                         " > " + endpoint_text(s.destination) + " [" + (s.flags == 0 ? std::string{"none"} : tcp_flags_text(s.flags)) + "] seq " + std::to_string(s.seq);
      if (s.flags & tcp_flags::ack) line += " ack " + std::to_string(s.ack);
      line += " win " + std::to_string(s.window) + " len " + std::to_string(s.length);
      return line + options_text(s.options);
    }
    std::string operator()(const trace_state& s) const {
      std::string line = seconds(s.time) + " state " + endpoint_text(s.local);
      if (s.remote.port() != 0) line += " " + endpoint_text(s.remote);
      return line + " " + s.from + " -> " + s.to;
    }
    std::string operator()(const trace_metrics& m) const {
      return seconds(m.time) + " cc    " + endpoint_text(m.local) + " " + endpoint_text(m.remote) + " cwnd " + std::to_string(m.cwnd) +
             " ssthresh " + std::to_string(m.ssthresh) + " srtt " + ms(m.srtt) + " rttvar " + ms(m.rttvar) + " rto " +
             std::to_string(m.rto.count()) + "ms";
    }
  };
  return std::visit(visitor{}, event);
}

}  // namespace tunstack
