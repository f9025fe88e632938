// SPDX-License-Identifier: BSD-3-Clause
// options.hpp - the tunstack program's command line: parsed with CLI11, validated, and turned
// into typed settings. Separate from main.cpp so that the parsing can be tested (and fuzzed)
// without opening a device.
#ifndef TUNSTACK_APPS_TUNSTACK_OPTIONS_HPP
#define TUNSTACK_APPS_TUNSTACK_OPTIONS_HPP

#include "tunstack/netif/impaired_link.hpp"

#include <asio/ip/network_v4.hpp>
#include <asio/ip/network_v6.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tunstack::app {

/// The program's settings, after validation.
struct options {
  std::string dev = "tun0";
  asio::ip::network_v4 addr = asio::ip::make_network_v4("10.0.3.50/24");
  std::optional<asio::ip::network_v4> host_addr = asio::ip::make_network_v4("10.0.3.1/24");
  std::optional<asio::ip::network_v6> addr6 = asio::ip::make_network_v6("fd00:3::50/64");
  std::optional<asio::ip::network_v6> host_addr6 = asio::ip::make_network_v6("fd00:3::1/64");
  std::size_t mtu = 1500;
  std::size_t txqueuelen = 40000;  ///< of a device tunstack creates; 0: the kernel's default
  bool offload = true;             ///< TUN offloads (off with --no-offload, --pcap, impairments)
  unsigned busy_poll_us = 0;       ///< --busy-poll: microseconds of reading before sleeping
  unsigned orphan_timeout_s = 60;  ///< --orphan-timeout: seconds a closed connection may stall
  std::uint64_t memory_limit = std::uint64_t{1} << 30;  ///< --memory-limit: bytes of lwIP buffers (0: none)
  int verbosity = 0;               ///< 0..2 (-v, -vv)
  bool timestamps = true;          ///< date and time at the start of each log line on stderr

  // Services (0: off).
  std::uint16_t echo_port = 7;
  std::uint16_t discard_port = 9;
  std::uint16_t http_port = 80;
  std::optional<std::string> www;  ///< directory of static files (checked to exist)
  double stats_interval = 0;       ///< seconds between summary lines on stderr; 0: none

  // Observing.
  bool trace_tcp = false;                 ///< --trace tcp: one line per TCP event on stdout
  std::optional<std::string> trace_json;  ///< --trace-json FILE: the same events as JSON lines
  std::optional<std::string> pcap;  ///< capture file to write (its directory checked to exist)

  // Privilege.
  /// --user NAME: the user to switch to (with its groups) once the device is open and
  /// configured; checked at parsing to exist and not to be root. Empty: keep running as started.
  std::optional<std::string> user;

  // HTTP limits.
  std::size_t http_max_request_line = 8 * 1024;
  std::size_t http_max_header_bytes = 16 * 1024;
  std::size_t http_max_headers = 64;
  std::size_t http_max_body = 1024 * 1024;
  double http_idle_timeout = 30;    ///< seconds
  double http_header_timeout = 10;  ///< seconds
  std::size_t http_max_connections = 512;

  // Impairment of the link (--loss, --delay, ...); its seed stays 1 here: see `seed`.
  tunstack::netif::impairment_config impairment;
  std::optional<std::uint64_t> seed;  ///< --seed; none: the program picks one at random

  /// Whether any impairment is on (then the device is wrapped in an impaired_link).
  bool impaired() const noexcept { return impairment.in.active() || impairment.out.active(); }
};

/// What parsing produced: settings to run with, or an exit (help/version: status 0 and text
/// for stdout; a bad option: status 2 and a message naming the option, for stderr).
struct exit_request {
  int status = 0;
  std::string text;
};
using parse_result = std::variant<options, exit_request>;

/// Parses the command line. Never throws for bad input; never touches a device.
/// @p program is how --help's examples call the program: the path it was started by when that
/// has a '/' (e.g. build/release/apps/tunstack, so that the examples paste as written), or
/// "tunstack" when it was found on PATH.
parse_result parse(const std::vector<std::string>& args, const std::string& program = "tunstack");

/// The longest line --help prints with program "tunstack" (its options and wrapped text).
inline constexpr std::size_t help_width = 80;

/// Parses "A.B.C.D/P" (IPv4 with a prefix length); nullopt for anything else.
std::optional<asio::ip::network_v4> parse_ipv4_network(const std::string& text);
/// Parses "X:Y::Z/P" (IPv6 with a prefix length); nullopt for anything else.
std::optional<asio::ip::network_v6> parse_ipv6_network(const std::string& text);

}  // namespace tunstack::app

#endif  // TUNSTACK_APPS_TUNSTACK_OPTIONS_HPP
