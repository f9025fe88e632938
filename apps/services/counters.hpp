// SPDX-License-Identifier: BSD-3-Clause
// counters.hpp - what each service counts, for the status page, /stats.json, /metrics and the
// --stats-interval line. Services share their counters through a shared_ptr, so sessions that
// outlive the service object (until the io_context is destroyed) never touch freed memory.
#ifndef TUNSTACK_SERVICES_COUNTERS_HPP
#define TUNSTACK_SERVICES_COUNTERS_HPP

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace tunstack::services {

struct counters {
  std::string name;      ///< "echo", "discard", "http"
  std::string protocol;  ///< "tcp" or "udp"
  std::uint16_t port = 0;
  std::uint64_t connections_total = 0;   ///< TCP: accepted
  std::uint64_t connections_active = 0;  ///< TCP: open now
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t datagrams_in = 0;   ///< UDP
  std::uint64_t datagrams_out = 0;  ///< UDP
  std::uint64_t errors = 0;         ///< sessions ended by an error other than an orderly close
  std::map<std::string, std::uint64_t> extra;  ///< service-specific (HTTP: requests, statuses, ...)
};

using counters_ptr = std::shared_ptr<counters>;

inline counters_ptr make_counters(std::string name, std::string protocol, std::uint16_t port) {
  auto c = std::make_shared<counters>();
  c->name = std::move(name);
  c->protocol = std::move(protocol);
  c->port = port;
  return c;
}

/// Counts a TCP session as active while it lives.
class session_guard {
 public:
  explicit session_guard(counters_ptr c) : c_(std::move(c)) {
    ++c_->connections_total;
    ++c_->connections_active;
  }
  ~session_guard() { --c_->connections_active; }
  session_guard(const session_guard&) = delete;
  session_guard& operator=(const session_guard&) = delete;

 private:
  counters_ptr c_;
};

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_COUNTERS_HPP
