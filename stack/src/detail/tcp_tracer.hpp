// SPDX-License-Identifier: BSD-3-Clause
// detail/tcp_tracer.hpp - the machinery behind stack_options::trace (see tunstack/trace.hpp):
// decodes TCP segments as the link adapter passes them, and compares lwIP's pcbs with what it
// saw last time to report state transitions and changed congestion figures.
#ifndef TUNSTACK_DETAIL_TCP_TRACER_HPP
#define TUNSTACK_DETAIL_TCP_TRACER_HPP

#include "tunstack/trace.hpp"

#include "lwip/tcpbase.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

struct pbuf;
struct tcp_pcb;

namespace tunstack::detail {

/// RFC 9293's name for an lwIP TCP state ("SYN-RECEIVED", "TIME-WAIT", ...).
const char* rfc9293_name(enum tcp_state state) noexcept;

/// A connection's RTT estimate (RFC 6298, in microseconds: our lwIP patch 0002) and its
/// retransmission timeout.
struct rtt_figures {
  std::optional<std::chrono::microseconds> srtt, rttvar;  ///< unset before the first sample
  std::chrono::milliseconds rto{0};
};
rtt_figures rtt_of(const struct tcp_pcb* pcb) noexcept;

class tcp_tracer {
 public:
  /// Where events go: the stack's deferred delivery (stack_impl::trace), never the user's sink
  /// directly, since the tracer runs in the middle of lwIP's input and output.
  using event_sink = std::function<void(trace_event&&)>;
  explicit tcp_tracer(event_sink sink) : sink_(std::move(sink)) {}

  /// A packet through interface @p interface; reports it if it is a TCP segment.
  void packet(std::chrono::nanoseconds now, bool outbound, const std::string& interface, const struct pbuf* p);
  /// Compares every pcb with the previous scan: new, changed and vanished connections.
  void scan(std::chrono::nanoseconds now);

 private:
  using endpoint = asio::ip::tcp::endpoint;
  // What the SYN of one direction (source -> destination) told: its ISN and window scale.
  struct direction {
    std::uint32_t isn = 0;
    std::optional<std::uint8_t> window_scale;
  };
  struct snapshot {
    endpoint local, remote;
    enum tcp_state state = CLOSED;
    std::uint32_t cwnd = 0, ssthresh = 0;
    // srtt and rttvar in units of 0.1 ms: smaller changes alone are not reported
    std::uint32_t srtt_tenths = 0, rttvar_tenths = 0, rto_ms = 0;
    bool seen = false;
  };

  void segment(std::chrono::nanoseconds now, bool outbound, const std::string& interface,
               const endpoint& source, const endpoint& destination, std::span<const std::byte> tcp,
               std::size_t payload);
  void report_gone(std::chrono::nanoseconds now, const snapshot& s);
  void forget(const endpoint& a, const endpoint& b);

  event_sink sink_;
  std::map<std::pair<endpoint, endpoint>, direction> directions_;
  std::unordered_map<const void*, snapshot> pcbs_;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_TCP_TRACER_HPP
