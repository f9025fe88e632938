// SPDX-License-Identifier: BSD-3-Clause
// status.hpp - one model of everything tunstack counts (uptime, interfaces, drops by reason,
// lwIP's per-protocol counters, TCP connections, the services), built as JSON and rendered
// three ways: the HTML status page (GET /), /stats.json, and Prometheus text (GET /metrics);
// plus the one-line summary of --stats-interval.
#ifndef TUNSTACK_SERVICES_STATUS_HPP
#define TUNSTACK_SERVICES_STATUS_HPP

#include "counters.hpp"

#include "tunstack/stack.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tunstack::services {

class status {
 public:
  explicit status(const tunstack::stack& st) : stack_(st) {}

  /// Adds a service whose counters appear in the model.
  void add(counters_ptr c) { services_.push_back(std::move(c)); }

  /// The model: see docs or GET /stats.json for its shape. Call on the stack's thread.
  nlohmann::json snapshot() const;

  /// The status page: refreshes itself every @p refresh_seconds.
  static std::string html(const nlohmann::json& model, int refresh_seconds = 5);
  /// Prometheus text exposition format (version 0.0.4).
  static std::string prometheus(const nlohmann::json& model);
  /// "tun0: rx 1200 pkt/s 1.2 MB/s, tx ...; tcp 3 open; drops 0; echo 2 conn ..." — rates over
  /// the interval since @p previous (a model from the last call).
  static std::string summary_line(const nlohmann::json& model, const nlohmann::json& previous);

 private:
  const tunstack::stack& stack_;
  std::vector<counters_ptr> services_;
};

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_STATUS_HPP
