// SPDX-License-Identifier: BSD-3-Clause
// trace.hpp - a readable record of TCP as it happens: one event per segment in and out, one per
// state transition of every connection (RFC 9293 names), and one whenever a connection's
// congestion and timing figures change (cwnd, ssthresh, srtt/rttvar, rto). For people learning
// TCP and for tools (the tunstack program prints the events with --trace tcp and writes them as
// JSON lines with --trace-json). Enable it with stack_options::trace.
#ifndef TUNSTACK_TRACE_HPP
#define TUNSTACK_TRACE_HPP

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tunstack {

/// TCP header flag bits (RFC 9293 section 3.1, RFC 3168 for ECE and CWR).
namespace tcp_flags {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20,
                              ece = 0x40, cwr = 0x80;
}

/// The options a segment carried.
struct tcp_segment_options {
  std::optional<std::uint16_t> mss;          ///< maximum segment size (RFC 9293)
  std::optional<std::uint8_t> window_scale;  ///< shift count (RFC 7323)
  bool sack_permitted = false;               ///< RFC 2018
  /// SACK blocks (left, right edges), relative like ack when the segment's seq/ack are.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> sack;
  /// Timestamps option: TSval and TSecr (RFC 7323).
  std::optional<std::pair<std::uint32_t, std::uint32_t>> timestamps;
};

/// One TCP segment through one of the stack's interfaces.
struct trace_segment {
  std::chrono::nanoseconds time{0};  ///< the stack's clock (since the stack started)
  bool outbound = false;             ///< sent by the stack (else received)
  std::string interface;             ///< the link's name, e.g. "tun0"
  asio::ip::tcp::endpoint source, destination;
  std::uint8_t flags = 0;  ///< tcp_flags bits
  /// Sequence and acknowledgment numbers. When the connection's SYNs were seen, they are
  /// relative to each side's initial sequence number (the SYN has seq 0, the first data byte
  /// seq 1), as Wireshark shows them; otherwise they are the raw numbers.
  std::uint32_t seq = 0, ack = 0;
  bool relative = false;
  /// The window the sender advertises, in bytes: the header field shifted by the sender's
  /// window scale once both SYNs agreed on scaling (never in a SYN, per RFC 7323).
  std::uint32_t window = 0;
  std::size_t length = 0;  ///< payload bytes
  tcp_segment_options options;
};

/// A connection (or listener) moved from one state to another. A connection born from a
/// listener starts at "LISTEN"; any other first appearance starts at "CLOSED"; a connection lwIP
/// has freed ends at "CLOSED".
struct trace_state {
  std::chrono::nanoseconds time{0};
  asio::ip::tcp::endpoint local, remote;  ///< remote is unspecified for a listener
  std::string from, to;                   ///< RFC 9293 names, e.g. "SYN-SENT", "TIME-WAIT"
};

/// A connection's congestion control and timing figures, whenever one of them changed.
struct trace_metrics {
  std::chrono::nanoseconds time{0};
  asio::ip::tcp::endpoint local, remote;
  std::uint32_t cwnd = 0, ssthresh = 0;  ///< bytes
  /// Smoothed RTT and its variation (RFC 6298), from a sample per acknowledgment timed in
  /// microseconds; unset before the first sample. A change of less than 0.1 ms alone makes
  /// no event.
  std::optional<std::chrono::microseconds> srtt, rttvar;
  std::chrono::milliseconds rto{0};  ///< retransmission timeout, backoff included
};

using trace_event = std::variant<trace_segment, trace_state, trace_metrics>;
/// Receives events on the stack's thread, in the order they happened. Like log_sink, never
/// inside lwIP: events are queued where they happen (in the middle of TCP's input and output)
/// and handed over afterwards, so a sink may call into the stack. Each event keeps the time it
/// happened at.
using trace_sink = std::function<void(const trace_event&)>;

/// The event as one stable, greppable line (no newline), e.g.
/// @code
///   0.987905 in    tun0 10.0.3.1:45696 > 10.0.3.50:7 [S] seq 0 win 64240 len 0 <mss 1460,sackOK,TS 3015260966 0,wscale 10>
///   0.988121 state 10.0.3.50:7 10.0.3.1:45696 LISTEN -> SYN-RECEIVED
///   0.988407 cc    10.0.3.50:7 10.0.3.1:45696 cwnd 4380 ssthresh 1048576 srtt 0.21ms rttvar 0.10ms rto 200ms
/// @endcode
/// Fields: seconds since the stack started; then what the line is: "in"/"out" (a segment, with
/// the interface), "state" or "cc" (a connection's event). Flags as tcpdump writes them (S, F,
/// R, P, U, E, W, and "." for ACK; "none" for none).
std::string to_string(const trace_event& event);

/// Flags as tcpdump writes them: "S", "S.", "F.", "R", "P." ("" for none).
std::string tcp_flags_text(std::uint8_t flags);
/// "10.0.3.50:7", "[fd00:3::50]:7".
std::string endpoint_text(const asio::ip::tcp::endpoint& e);

}  // namespace tunstack

#endif  // TUNSTACK_TRACE_HPP
