// SPDX-License-Identifier: BSD-3-Clause
// stats.hpp - counters the stack keeps: per interface (packets and bytes in and out, drops by
// reason) and per protocol (lwIP's own counters, copied out so no lwIP type is public).
#ifndef TUNSTACK_STATS_HPP
#define TUNSTACK_STATS_HPP

#include <asio/ip/network_v4.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/network_v6.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tunstack {

/// Packets through one interface's link, counted by the stack's link adapter.
struct link_counters {
  std::uint64_t rx_packets = 0;  ///< packets read from the link and handed to IP
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_packets = 0;  ///< packets written to the link
  std::uint64_t tx_bytes = 0;
  std::uint64_t rx_dropped_runt = 0;       ///< shorter than an IP header (or empty)
  std::uint64_t rx_dropped_oversize = 0;   ///< larger than the MTU
  std::uint64_t rx_dropped_no_memory = 0;  ///< no buffer for the packet
  std::uint64_t tx_dropped_queue_full = 0; ///< the device's queue was full (EAGAIN)
  std::uint64_t tx_errors = 0;             ///< other write failures
  std::uint64_t rx_batches = 0;            ///< wake-ups that read at least one packet
};

/// One protocol's counters, as lwIP keeps them (struct stats_proto).
struct protocol_counters {
  std::uint64_t xmit = 0;      ///< transmitted
  std::uint64_t recv = 0;      ///< received
  std::uint64_t fw = 0;        ///< forwarded
  std::uint64_t drop = 0;      ///< dropped, for any reason below
  std::uint64_t chkerr = 0;    ///< bad checksum
  std::uint64_t lenerr = 0;    ///< bad length
  std::uint64_t memerr = 0;    ///< out of memory
  std::uint64_t rterr = 0;     ///< no route
  std::uint64_t proterr = 0;   ///< protocol error (e.g. unknown protocol or type)
  std::uint64_t opterr = 0;    ///< bad options
  std::uint64_t err = 0;       ///< other errors (e.g. bad IP version)
};

/// lwIP's memory: heap and per-pool use.
struct memory_stats {
  struct pool {
    std::string name;
    std::uint64_t used = 0;  ///< elements in use now
    std::uint64_t max = 0;   ///< most ever in use at once
    std::uint64_t err = 0;   ///< failed allocations
  };
  std::uint64_t heap_used = 0;  ///< all of lwIP's memory: its heap and pools come from malloc
  std::uint64_t heap_max = 0;
  std::uint64_t heap_err = 0;
  std::uint64_t limit = 0;             ///< stack_options::memory_limit (0: none)
  bool over_limit = false;             ///< heap_used is above the limit now
  std::uint64_t segments_shed = 0;     ///< data segments dropped unread over the limit
  std::uint64_t writes_held = 0;       ///< writes made to wait over the limit
  std::uint64_t ooseq_pruned = 0;      ///< out-of-order queues emptied over the limit
  std::uint64_t received_compacted = 0;  ///< small received segments copied into buffers of their size
  std::vector<pool> pools;
};

/// One interface: its identity and its link counters.
struct interface_stats {
  std::string name;  ///< the link's name, e.g. "tun0"
  std::size_t mtu = 0;
  std::optional<asio::ip::network_v4> ipv4;
  std::vector<asio::ip::network_v6> ipv6;
  bool up = false;   ///< false after the link failed
  link_counters link;
  /// The link's own counters (netif::link::counters()), e.g. an impairment decorator's.
  struct device_counter {
    std::string name;
    std::uint64_t value = 0;
  };
  std::vector<device_counter> device;
};

/// One TCP connection (or listener) as lwIP sees it, for status pages and debugging.
struct tcp_connection_info {
  asio::ip::tcp::endpoint local;
  asio::ip::tcp::endpoint remote;
  /// The RFC 9293 state name: "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED",
  /// "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT".
  std::string state;
  std::size_t send_queued = 0;     ///< bytes written but not yet acknowledged by the peer
  std::size_t receive_queued = 0;  ///< bytes received but not yet read by the application
  std::uint32_t send_window = 0;   ///< the peer's window (bytes)
  std::uint32_t receive_window = 0;  ///< our window (bytes)
  std::uint16_t mss = 0;
  std::uint32_t cwnd = 0;          ///< congestion window (bytes)
  std::uint32_t ssthresh = 0;
  /// Smoothed RTT and its variation (RFC 6298), from a sample per acknowledgment timed in
  /// microseconds; unset before the first sample. rto is the retransmission timeout now,
  /// backoff included.
  std::optional<std::chrono::microseconds> srtt, rttvar;
  std::chrono::milliseconds rto{0};
  std::uint32_t retransmissions = 0;  ///< consecutive retransmissions of the oldest segment
};

/// A snapshot of everything the stack counts.
struct stack_stats {
  std::chrono::milliseconds uptime{0};
  std::vector<interface_stats> interfaces;
  protocol_counters ip4, ip4_frag, icmp4, ip6, ip6_frag, icmp6, nd6, udp, tcp;
  memory_stats memory;
  std::uint64_t timer_runs = 0;  ///< times lwIP's due timers were run
  /// SYNs a listener dropped because its accept queue was full (lwIP counts these nowhere).
  /// A SYN that finds the half-open connections at the backlog gets a SYN cookie instead
  /// (tcp_defense.syncookies_sent).
  std::uint64_t tcp_listen_drops = 0;
  /// TCP's loss recovery on all connections since the stack started (our lwIP patches 0003,
  /// 0004): what a lossy path costs.
  struct tcp_loss_counters {
    std::uint64_t recoveries = 0;   ///< fast recoveries begun (duplicate ACKs, SACK, RACK)
    std::uint64_t timeouts = 0;     ///< retransmission timeouts (RTO)
    std::uint64_t probes = 0;       ///< tail loss probes sent (RFC 8985)
    std::uint64_t retransmitted_segments = 0;
  } tcp_loss;
  /// What TCP refused or dropped to protect itself from its peers (lwIP patches 0011, 0013,
  /// 0014).
  struct tcp_defense_counters {
    std::uint64_t ooseq_dropped = 0;     ///< out-of-order segments dropped: the queue was full
    std::uint64_t ooseq_compacted = 0;   ///< small out-of-order segments copied into small buffers
    std::uint64_t syncookies_sent = 0;   ///< SYNs answered with a SYN cookie (backlog full)
    std::uint64_t syncookies_accepted = 0;  ///< connections a returned cookie made
    std::uint64_t syncookies_rejected = 0;  ///< ACKs to a listener with a wrong or stale cookie
    std::uint64_t orphans_reset = 0;  ///< closed connections reset after stack_options::orphan_timeout
  } tcp_defense;
};

}  // namespace tunstack

#endif  // TUNSTACK_STATS_HPP
