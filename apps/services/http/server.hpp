// SPDX-License-Identifier: BSD-3-Clause
// http/server.hpp - tunstack's small HTTP/1.1 server, written only against the public API:
// keep-alive and pipelined requests answered in order, GET and HEAD, the status page at /,
// /stats.json and /metrics, static files from --www. Every limit a slow or hostile client
// could push on has a setting: request-line and head size, header count, body size, the time
// to wait for a request (idle) and for a whole request head (slowloris), and the number of
// connections served at once.
#ifndef TUNSTACK_SERVICES_HTTP_SERVER_HPP
#define TUNSTACK_SERVICES_HTTP_SERVER_HPP

#include "../counters.hpp"
#include "../status.hpp"
#include "request.hpp"

#include "tunstack/stack.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

namespace tunstack::services {

struct http_options {
  std::uint16_t port = 80;
  /// Serve files below this directory (canonical); unset: only the built-in pages.
  std::optional<std::filesystem::path> www;
  http::limits limits;
  /// How long a connection may wait for (the first byte of) its next request.
  std::chrono::milliseconds idle_timeout{30'000};
  /// How long a request may take from its first byte to its last header line (and its body).
  std::chrono::milliseconds header_timeout{10'000};
  /// Connections served at once; more are answered 503 and closed.
  std::size_t max_connections = 512;
};

/// Starts the server on [::]:port (IPv4 and IPv6). Requests to / , /stats.json and /metrics are
/// answered from @p status.
/// @throws std::system_error (address_in_use) if the port is taken.
counters_ptr start_http(tunstack::stack& st, http_options options, std::shared_ptr<const status> status);

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_HTTP_SERVER_HPP
