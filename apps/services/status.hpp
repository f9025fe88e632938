// SPDX-License-Identifier: BSD-3-Clause
// status.hpp - one model of everything tunstack counts (uptime, interfaces with their rates,
// drops by reason, the links' own counters, lwIP's per-protocol counters, TCP connections, the
// services), built as JSON and rendered three ways: the HTML status page (GET /), /stats.json,
// and Prometheus text (GET /metrics); plus the one-line summary of --stats-interval.
#ifndef TUNSTACK_SERVICES_STATUS_HPP
#define TUNSTACK_SERVICES_STATUS_HPP

#include "counters.hpp"

#include "tunstack/stack.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tunstack::services {

/// Which TCP connections a model lists. It always counts all of them (by state), but lists one
/// page: with 2,000 connections the whole list made the status page 480 KB and seconds to
/// render, and it grows with every connection.
struct connection_page {
  static constexpr std::size_t default_limit = 100;

  std::size_t offset = 0;                            ///< connections skipped, in lwIP's order
  std::optional<std::size_t> limit = default_limit;  ///< listed at most; nullopt: all of them
  std::string error;                                 ///< from parse(): what was wrong

  /// Reads "connections=N" (or "all") and "offset=M" from the query of a request target such
  /// as "/stats.json?connections=all"; other parameters are ignored. A bad value sets error
  /// (a sentence naming the parameter) and leaves the defaults.
  static connection_page parse(std::string_view target);
};

class status {
 public:
  explicit status(const tunstack::stack& st) : stack_(st) {}

  /// Adds a service whose counters appear in the model.
  void add(counters_ptr c) { services_.push_back(std::move(c)); }

  /// The model: see docs or GET /stats.json for its shape. Rates are over the time since an
  /// earlier snapshot at least a second old (kept for up to a minute), or since the stack
  /// started. Call on the stack's thread.
  nlohmann::json snapshot(const connection_page& page = {}) const;

  /// The status page: refreshes itself every @p refresh_seconds.
  static std::string html(const nlohmann::json& model, int refresh_seconds = 5);
  /// Prometheus text exposition format (version 0.0.4).
  static std::string prometheus(const nlohmann::json& model);
  /// "up 0d 00:01:05; tun0 rx 1200 pkt/s 1.2 MB/s tx ..., 0 dropped [link: ...]; tcp 3 open;
  /// echo/tcp ..." — rates over the interval since @p previous (a model from the last call).
  static std::string summary_line(const nlohmann::json& model, const nlohmann::json& previous);

 private:
  // Counters at one moment, for rates: per interface and per service, in model order.
  struct sample {
    double uptime = 0;
    std::vector<std::vector<double>> interfaces;  // rx_packets, rx_bytes, tx_packets, tx_bytes
    std::vector<std::vector<double>> services;    // bytes_in, bytes_out, connections, datagrams
  };

  const tunstack::stack& stack_;
  std::vector<counters_ptr> services_;
  // Earlier samples, oldest first, one per half second at most, a minute at most: snapshot()
  // is logically const (it reads the stack), the history only serves the rates. The stack's
  // thread is the only one that touches it.
  mutable std::deque<sample> history_;
};

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_STATUS_HPP
