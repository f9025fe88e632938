// SPDX-License-Identifier: BSD-3-Clause
// options.cpp - the tunstack program's command line (see options.hpp).
#include "options.hpp"

#include "tunstack/version.hpp"

#include <CLI/CLI.hpp>

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <vector>

namespace tunstack::app {
namespace {

constexpr int exit_usage = 2;

// A validator that adds nothing to --help: CLI11 appends each validator's description to the
// option's argument name ("PORT:INT in [1 - 65535]"), while our help text says the range in
// words. Its error messages (which name the option) stay.
CLI::Validator quiet(CLI::Validator v) {
  v.description("");
  return v;
}

// Appends @p text to @p out as words wrapped at help_width columns, continuation lines indented
// by @p indent; @p column is where the text starts on the current line. A '\n' in @p text
// starts a new line.
void wrap_into(std::string& out, std::string_view text, std::size_t column, std::size_t indent) {
  bool first_word = true;
  while (!text.empty()) {
    if (text.front() == '\n') {
      out += '\n' + std::string(indent, ' ');
      column = indent;
      first_word = true;
      text.remove_prefix(1);
      continue;
    }
    if (text.front() == ' ') {
      text.remove_prefix(1);
      continue;
    }
    const std::size_t end = text.find_first_of(" \n");
    const std::string_view word = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (!first_word && column + 1 + word.size() > help_width) {
      out += '\n' + std::string(indent, ' ');
      column = indent;
      first_word = true;
    }
    if (!first_word) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    first_word = false;
  }
}

// --help the way a terminal shows it: lines of at most help_width columns, each option's
// argument named once, its default at the end of its description (CLI11's own layout runs
// each description into one line of up to 300 columns, with its type noise).
class help_formatter : public CLI::Formatter {
 public:
  static constexpr std::size_t description_column = 26;

  std::string make_option(const CLI::Option* opt, bool positional) const override {
    std::string name = "  " + make_option_name(opt, positional);
    for (std::size_t at = name.find(','); at != std::string::npos; at = name.find(',', at + 2)) name.insert(at + 1, " ");
    if (opt->get_type_size() != 0 && !opt->get_type_name().empty()) name += " " + opt->get_type_name();
    std::string description = opt->get_description();
    if (!opt->get_default_str().empty()) description += " (default: " + opt->get_default_str() + ")";
    std::string out = name;
    if (name.size() + 2 > description_column) {
      out += '\n' + std::string(description_column, ' ');
    } else {
      out += std::string(description_column - name.size(), ' ');
    }
    wrap_into(out, description, description_column, description_column);
    return out + '\n';
  }

  std::string make_description(const CLI::App* app) const override {
    std::string out;
    wrap_into(out, app->get_description(), 0, 0);
    return out + "\n\n";
  }
};

// The --help footer: examples that paste as written (@p program is how the user started
// tunstack), what to do without root, exit statuses and signals.
std::string help_footer(const std::string& program) {
  const std::string& p = program;
  // setcap needs the file: the path as given, or the one a PATH lookup finds.
  const std::string file = p.find('/') != std::string::npos ? p : "\"$(command -v " + p + ")\"";
  return "Examples (as root, leave out sudo):\n"
         "  sudo " + p + "\n"
         "      create tun0: the kernel side gets 10.0.3.1/24 and fd00:3::1/64, the stack\n"
         "      answers 10.0.3.50 and fd00:3::50. Then, from another terminal:\n"
         "  ping 10.0.3.50; ping -6 fd00:3::50; echo hi | nc -N 10.0.3.50 7\n"
         "  curl http://10.0.3.50/          the status page (and /stats.json, /metrics)\n"
         "  sudo " + p + " --www ./site --stats-interval 5\n"
         "      serve the files below ./site, print the counters to stderr every 5 s\n"
         "  sudo " + p + " --pcap /tmp/tun0.pcap\n"
         "      capture every packet; meanwhile: tcpdump -r /tmp/tun0.pcap -nn\n"
         "  sudo " + p + " --dev tun1 --addr 10.9.0.2/24 --host-addr 10.9.0.1/24 \\\n"
         "      --addr6 none\n"
         "      a second instance beside the one on tun0: a subnet of its own, no IPv6\n"
         "  sudo " + p + " --loss 2 --delay 20:5 --seed 7\n"
         "      lose 2% of the packets and delay them 20 +/- 5 ms, each in both\n"
         "      directions: a round trip gains 40 ms (netem on tun0 alone would delay\n"
         "      only what the kernel sends into tun0, like --delay in:20:5)\n"
         "  sudo " + p + " --loss in:5 --rate out:1M\n"
         "      lose 5% of the packets towards the stack, send at most 1 Mbit/s\n"
         "\n"
         "Creating a device needs CAP_NET_ADMIN. Without root, either let root make a\n"
         "persistent device for you once, which you then attach to without privileges:\n"
         "  sudo ip tuntap add dev tun7 mode tun user $USER\n"
         "  sudo ip addr add 10.0.3.1/24 dev tun7 && sudo ip link set tun7 up\n"
         "  " + p + " --dev tun7 --host-addr none --host-addr6 none\n"
         "or give the binary the capability (lost when it is rebuilt); --user drops it\n"
         "again as soon as the device is set up:\n"
         "  sudo setcap cap_net_admin+ep " + file + "\n"
         "  " + p + " --user $USER\n"
         "\n"
         "Exit status: 0 stopped by SIGINT or SIGTERM, 1 runtime error, 2 bad options.\n"
         "SIGHUP reopens the --pcap and --trace-json files (for log rotation).";
}

// CLI11 validators name the option in their error ("--addr: ...").
CLI::Validator ipv4_network(bool allow_none) {
  return CLI::Validator(
      [allow_none](std::string& value) -> std::string {
        if ((allow_none && value == "none") || parse_ipv4_network(value)) return {};
        return "'" + value + "' is not an IPv4 address with a prefix length, like 10.0.3.50/24" +
               (allow_none ? " (or 'none')" : "");
      },
      "");
}

CLI::Validator ipv6_network() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "none" || parse_ipv6_network(value)) return {};
        return "'" + value + "' is not an IPv6 address with a prefix length, like fd00:3::50/64 (or 'none')";
      },
      "");
}

CLI::Validator interface_name() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty() || value.size() > 15) return "'" + value + "' must be 1 to 15 characters";
        if (value.find_first_of("/: \t\n") != std::string::npos || value == "." || value == "..") {
          return "'" + value + "' is not a valid interface name (no '/', ':' or spaces)";
        }
        return {};
      },
      "");
}

// A file we are about to create: its directory must exist, and it must not be a directory.
CLI::Validator new_file() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        namespace fs = std::filesystem;
        if (value.empty()) return "give a file name, like /tmp/tun0.out";
        const fs::path path(value);
        const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) {
          return "the directory " + dir.string() + " does not exist; create it first, or choose another path";
        }
        if (fs::is_directory(path, ec)) {
          return "'" + value + "' is a directory; give a file name, like " + (path / "capture.pcap").string();
        }
        return {};
      },
      "");
}

// --user: an existing user other than root, by name (or by number, if the system knows it).
// Only looks the name up; changing to the user is main's job, after the device is set up.
CLI::Validator existing_user() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value.empty()) return "give a user name, like nobody";
        passwd entry{};
        passwd* found = nullptr;
        std::vector<char> buffer(16384);
        int e = ::getpwnam_r(value.c_str(), &entry, buffer.data(), buffer.size(), &found);
        if (found == nullptr && e == 0 && value.find_first_not_of("0123456789") == std::string::npos &&
            value.size() < 10) {
          e = ::getpwuid_r(static_cast<uid_t>(std::stoul(value)), &entry, buffer.data(), buffer.size(), &found);
        }
        if (found == nullptr) {
          return "there is no user '" + value + "' on this system" +
                 (e != 0 ? " (looking it up failed: " + std::string(std::strerror(e)) + ")" : "") +
                 "; see getent passwd, or create one: sudo useradd --system --no-create-home tunstack";
        }
        if (found->pw_uid == 0) {
          return "'" + value + "' is root: tunstack would keep every privilege; name an unprivileged user, like nobody";
        }
        return {};
      },
      "");
}

bool is_host_address_v4(const asio::ip::network_v4& n) {
  return n.prefix_length() >= 31 || (n.address() != n.network() && n.address() != n.broadcast());
}

// Checks that need more than one option; returns a message, or empty.
std::string cross_check(const options& o, const std::string& addr_text, const std::string& host_text,
                        const std::string& addr6_text, const std::string& host6_text) {
  if (!is_host_address_v4(o.addr)) {
    return "--addr " + addr_text + " is the " +
           std::string(o.addr.address() == o.addr.network() ? "network" : "broadcast") +
           " address of its subnet; choose a host address, like 10.0.3.50/24";
  }
  if (o.host_addr) {
    if (o.host_addr->address() == o.addr.address()) {
      return "--addr and --host-addr are both " + o.addr.address().to_string() +
             ": the stack and the kernel need different addresses";
    }
    const std::uint32_t mask = o.host_addr->netmask().to_uint();
    if ((o.addr.address().to_uint() & mask) != (o.host_addr->address().to_uint() & mask)) {
      return "--addr " + addr_text + " is outside the kernel side's subnet " +
             o.host_addr->canonical().to_string() + " (--host-addr " + host_text +
             "), so the kernel would not route it into --dev " + o.dev + "; put both in one subnet";
    }
  }
  if (o.addr6) {
    const auto a = o.addr6->address();
    if (a.is_unspecified() || a.is_multicast() || a.is_loopback()) {
      return "--addr6 " + addr6_text + " is not a unicast address the stack can answer on";
    }
    if (o.mtu < 1280) {
      return "--mtu " + std::to_string(o.mtu) + " is below IPv6's minimum of 1280: raise it, or add --addr6 none";
    }
  }
  if (o.echo_port != 0 && (o.echo_port == o.discard_port || o.echo_port == o.http_port)) {
    return "--echo " + std::to_string(o.echo_port) + " is also the port of another service; give each its own port";
  }
  if (o.discard_port != 0 && o.discard_port == o.http_port) {
    return "--discard " + std::to_string(o.discard_port) + " is also --http's port; give each its own port";
  }
  if (o.host_addr6) {
    if (!o.addr6) return "--host-addr6 " + host6_text + " needs an --addr6 for the stack (or --host-addr6 none)";
    if (o.host_addr6->address() == o.addr6->address()) {
      return "--addr6 and --host-addr6 are both " + o.addr6->address().to_string() +
             ": the stack and the kernel need different addresses";
    }
    const asio::ip::network_v6 stack_in_host_prefix(o.addr6->address(), o.host_addr6->prefix_length());
    if (stack_in_host_prefix.canonical() != o.host_addr6->canonical()) {
      return "--addr6 " + addr6_text + " is outside the kernel side's prefix " +
             o.host_addr6->canonical().to_string() + " (--host-addr6 " + host6_text + "); put both in one prefix";
    }
  }
  return {};
}

// --- Impairment: "[in:|out:]VALUE" ------------------------------------------------------------

using netif::impairment;

// A decimal number, all of @p text (from_chars: no locale, no leading spaces or '+').
std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Splits off an "in:" or "out:" prefix; neither means both directions.
struct directed {
  bool in = true;
  bool out = true;
  std::string_view value;
};
directed split_direction(std::string_view text) {
  if (text.starts_with("in:")) return {true, false, text.substr(3)};
  if (text.starts_with("out:")) return {false, true, text.substr(4)};
  return {true, true, text};
}

// Applies every occurrence of one impairment option; returns an error message, or empty.
// @p set parses a value (without its direction) into an impairment, or returns false.
std::string apply_impairment(netif::impairment_config& config, const std::string& option,
                             const std::vector<std::string>& values, const std::string& expected,
                             const std::function<bool(std::string_view, impairment&)>& set) {
  for (const std::string& text : values) {
    const directed d = split_direction(text);
    impairment in = config.in, out = config.out;
    if ((d.in && !set(d.value, in)) || (d.out && !set(d.value, out))) {
      return option + " '" + text + "': expected " + expected;
    }
    if (d.in) config.in = in;
    if (d.out) config.out = out;
  }
  return {};
}

std::function<bool(std::string_view, impairment&)> percent(double impairment::*field) {
  return [field](std::string_view text, impairment& i) {
    if (text.ends_with('%')) text.remove_suffix(1);  // "5%", as netem writes it
    const auto v = parse_number(text);
    if (!v || *v < 0 || *v > 100) return false;
    i.*field = *v;
    return true;
  };
}

std::optional<std::chrono::nanoseconds> parse_ms(std::string_view text) {
  const auto v = parse_number(text);
  if (!v || *v < 0 || *v > 60'000) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(*v * 1e6)));
}

bool set_delay(std::string_view text, impairment& i) {
  const auto colon = text.find(':');
  const auto delay = parse_ms(text.substr(0, colon));
  const auto jitter = colon == std::string_view::npos ? std::optional(std::chrono::nanoseconds{0})
                                                      : parse_ms(text.substr(colon + 1));
  if (!delay || !jitter) return false;
  i.delay = *delay;
  i.jitter = *jitter;
  return true;
}

bool set_rate(std::string_view text, impairment& i) {
  double scale = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': scale = 1e3; break;
      case 'M': scale = 1e6; break;
      case 'G': scale = 1e9; break;
      default: break;
    }
    if (scale != 1) text.remove_suffix(1);
  }
  const auto v = parse_number(text);
  if (!v) return false;
  const double bits = *v * scale;
  if (bits < 1000 || bits > 1e12) return false;
  i.rate = static_cast<std::uint64_t>(std::llround(bits));
  return true;
}

}  // namespace

std::optional<asio::ip::network_v4> parse_ipv4_network(const std::string& text) {
  if (text.find('/') == std::string::npos) return std::nullopt;
  std::error_code ec;
  auto n = asio::ip::make_network_v4(text, ec);
  if (ec) return std::nullopt;
  return n;
}

std::optional<asio::ip::network_v6> parse_ipv6_network(const std::string& text) {
  if (text.find('/') == std::string::npos) return std::nullopt;
  std::error_code ec;
  auto n = asio::ip::make_network_v6(text, ec);
  if (ec) return std::nullopt;
  return n;
}

parse_result parse(const std::vector<std::string>& args, const std::string& program) {
  options o;
  std::string addr = "10.0.3.50/24", host_addr = "10.0.3.1/24";
  std::string addr6 = "fd00:3::50/64", host_addr6 = "fd00:3::1/64";

  CLI::App app{
      "tunstack: a userspace TCP/IP stack on a TUN device. It creates (or attaches to) a TUN "
      "device, gives the kernel's side an address, and answers IP on the other side itself: "
      "ping gets replies from --addr (and ping -6 from --addr6).",
      "tunstack"};
  app.formatter(std::make_shared<help_formatter>());
  app.set_version_flag("-V,--version", tunstack::version_banner(), "Print the versions of tunstack, lwIP and Asio, and exit");
  app.add_option("--dev", o.dev,
                 "TUN device to create, or persistent device to attach to (tun%d: the kernel "
                 "picks a free number)")
      ->capture_default_str()
      ->type_name("NAME")
      ->check(interface_name());
  app.add_option("--addr", addr, "The stack's own IPv4 address and prefix on the device")
      ->capture_default_str()
      ->type_name("A.B.C.D/P")
      ->check(ipv4_network(false));
  app.add_option("--host-addr", host_addr,
                 "The kernel side's IPv4 address and prefix, configured over rtnetlink; 'none' "
                 "leaves the kernel side as it is (for devices you configure yourself)")
      ->capture_default_str()
      ->type_name("A.B.C.D/P|none")
      ->check(ipv4_network(true));
  app.add_option("--addr6", addr6, "The stack's own IPv6 address and prefix; 'none': no IPv6")
      ->capture_default_str()
      ->type_name("X:X::X/P|none")
      ->check(ipv6_network());
  CLI::Option* host_addr6_option = app.add_option("--host-addr6", host_addr6,
                 "The kernel side's IPv6 address and prefix (added without duplicate address "
                 "detection); 'none' leaves it as it is")
      ->capture_default_str()
      ->type_name("X:X::X/P|none")
      ->check(ipv6_network());
  app.add_option("--mtu", o.mtu, "MTU of the device and the stack, 68..65535 bytes (IPv6 needs 1280)")
      ->capture_default_str()
      ->type_name("BYTES")
      ->check(quiet(CLI::Range(68, 65535)));
  app.add_option("--txqueuelen", o.txqueuelen,
                 "Length in packets (0..1000000) of the kernel's queue into a device tunstack "
                 "creates (0: the kernel's default, 500); a full queue drops packets, e.g. SYNs of "
                 "a connection burst")
      ->capture_default_str()
      ->type_name("PACKETS")
      ->check(quiet(CLI::Range(0, 1000000)));
  bool no_offload = false;
  app.add_flag("--no-offload", no_offload,
               "Do not let the kernel coalesce and cut TCP segments and finish checksums (TUN "
               "offloads, on by default: far fewer reads and writes per byte). Always off with "
               "--pcap, which records packets as the wire carries them");
  app.add_option("--busy-poll", o.busy_poll_us,
                 "Keep reading the device for USEC microseconds (0..1000000) after it runs dry "
                 "before sleeping: one CPU spins during traffic, senders no longer pay for waking "
                 "tunstack (see bench/README.md); 0: off")
      ->capture_default_str()
      ->type_name("USEC")
      ->check(quiet(CLI::Range(0, 1000000)));
  app.add_option("--orphan-timeout", o.orphan_timeout_s,
                 "Reset a connection tunstack has closed when the peer acknowledges nothing of "
                 "its queued data for SECONDS (0..86400): a peer that keeps its window closed "
                 "would hold it, and its buffer, forever; slow progress restarts the clock. "
                 "0: no limit")
      ->capture_default_str()
      ->type_name("SECONDS")
      ->check(quiet(CLI::Range(0, 86400)));
  app.add_option("--memory-limit", o.memory_limit,
                 "The most memory the stack's buffers may take (received and not read, queued "
                 "to send, out of order), in BYTES with k, M or G (1024s): above it, connections "
                 "holding more than 16 KiB take no more data and write no more until the total "
                 "is below again, and out-of-order data is dropped, so a new small exchange is "
                 "still served. 0: no limit")
      ->default_str("1G")
      ->type_name("BYTES")
      ->transform(quiet(CLI::AsSizeValue(false)));
  // Services.
  bool no_echo = false, no_discard = false, no_http = false;
  std::string www;
  const std::string services = "Services";
  app.add_option("--echo", o.echo_port, "Port (1..65535) of the echo service (RFC 862), TCP and UDP")
      ->capture_default_str()->type_name("PORT")->check(quiet(CLI::Range(1, 65535)))->group(services);
  app.add_option("--discard", o.discard_port, "Port (1..65535) of the discard service (RFC 863), TCP and UDP")
      ->capture_default_str()->type_name("PORT")->check(quiet(CLI::Range(1, 65535)))->group(services);
  app.add_option("--http", o.http_port, "Port (1..65535) of the HTTP server: status page at /, /stats.json, /metrics")
      ->capture_default_str()->type_name("PORT")->check(quiet(CLI::Range(1, 65535)))->group(services);
  app.add_flag("--no-echo", no_echo, "Do not run the echo service")->group(services);
  app.add_flag("--no-discard", no_discard, "Do not run the discard service")->group(services);
  app.add_flag("--no-http", no_http, "Do not run the HTTP server")->group(services);
  app.add_option("--www", www, "Serve the files below DIR over HTTP (besides /, /stats.json and /metrics)")
      ->type_name("DIR")->check(quiet(CLI::ExistingDirectory))->group(services);
  app.add_option("--stats-interval", o.stats_interval, "Print a one-line summary of the counters and their rates to stderr every SECONDS (0.1..86400)")
      ->type_name("SECONDS")->check(quiet(CLI::Range(0.1, 86400.0)))->group(services);
  const std::string observing = "Observing";
  std::string pcap;
  app.add_option("--pcap", pcap,
                 "Write every packet the stack receives and sends to FILE (pcap, raw IP, nanosecond "
                 "timestamps; an existing FILE is replaced). Each packet is written as it passes, so "
                 "the file can be read while tunstack runs: tcpdump -r FILE -nn, or open it in Wireshark")
      ->type_name("FILE")->check(new_file())->group(observing);
  std::string trace;
  app.add_option("--trace", trace,
                 "Print one line per TCP event on stdout (the only kind: tcp): every segment in and out "
                 "(flags, relative seq/ack, window, length, options), every connection's state "
                 "transitions (RFC 9293 names) and its cwnd, ssthresh, srtt/rttvar and rto when they "
                 "change. Try: --trace tcp | grep ' state '")
      ->type_name("tcp")->check(quiet(CLI::IsMember({"tcp"})))->group(observing);
  app.add_option("--trace-json", o.trace_json,
                 "Write the same TCP events as JSON lines to FILE (for jq and other tools)")
      ->type_name("FILE")->check(new_file())->group(observing);
  std::string user;
  app.add_option("--user", user,
                 "Once the device is open and configured (and the --pcap and --trace-json files "
                 "are open), switch to user NAME and its groups, keeping no capabilities. "
                 "Needs CAP_SETUID and CAP_SETGID (root has them) unless NAME is the user "
                 "tunstack already runs as; then only the capabilities are dropped")
      ->type_name("NAME")->check(existing_user())->group("Privilege");
  const std::string limits = "HTTP limits";
  app.add_option("--http-max-request-line", o.http_max_request_line, "Longest request line, 64..1048576 (longer: 414)")
      ->capture_default_str()->type_name("BYTES")->check(quiet(CLI::Range(64, 1 << 20)))->group(limits);
  app.add_option("--http-max-header-bytes", o.http_max_header_bytes, "Largest request head, 256..4194304 (larger: 431)")
      ->capture_default_str()->type_name("BYTES")->check(quiet(CLI::Range(256, 1 << 22)))->group(limits);
  app.add_option("--http-max-headers", o.http_max_headers, "Most header fields in a request, 1..10000 (more: 431)")
      ->capture_default_str()->type_name("COUNT")->check(quiet(CLI::Range(1, 10000)))->group(limits);
  app.add_option("--http-max-body", o.http_max_body, "Largest request body, 0..1073741824 (larger: 413)")
      ->capture_default_str()->type_name("BYTES")->check(quiet(CLI::Range(0, 1 << 30)))->group(limits);
  app.add_option("--http-idle-timeout", o.http_idle_timeout, "Longest wait for the next request on a connection, 0.1..86400")
      ->capture_default_str()->type_name("SECONDS")->check(quiet(CLI::Range(0.1, 86400.0)))->group(limits);
  app.add_option("--http-header-timeout", o.http_header_timeout,
                 "Longest time from a request's first byte to its last, 0.1..86400 (slow clients: 408)")
      ->capture_default_str()->type_name("SECONDS")->check(quiet(CLI::Range(0.1, 86400.0)))->group(limits);
  app.add_option("--http-max-connections", o.http_max_connections, "Connections served at once, 1..1000000 (more: 503)")
      ->capture_default_str()->type_name("COUNT")->check(quiet(CLI::Range(1, 1000000)))->group(limits);

  // Impairment.
  const std::string impair = "Impairment (like netem, inside tunstack; DIR is in: or out:, none: both)";
  std::vector<std::string> loss, reorder, duplicate, corrupt, delay, rate;
  auto repeatable = [&](const std::string& name, std::vector<std::string>& into, const std::string& type,
                        const std::string& help) {
    app.add_option(name, into, help)->type_name(type)->allow_extra_args(false)->group(impair);
  };
  repeatable("--loss", loss, "[DIR]PERCENT",
             "Drop PERCENT % of packets (0..100, decimals allowed). DIR in: packets from the kernel "
             "to the stack, out: packets the stack sends; without DIR both directions. Repeat the "
             "option for different directions: --loss in:5 --loss out:1");
  repeatable("--delay", delay, "[DIR]MS[:JITTER]",
             "Delay every packet by MS milliseconds (0..60000), varied uniformly by +/- JITTER "
             "ms (never below 0; jitter may reorder packets, as netem's does). Without DIR "
             "both directions are delayed, so --delay 20:5 adds 40 ms +/- 10 ms to a round "
             "trip; netem's 'delay 20ms 5ms' on tun0 is --delay in:20:5");
  repeatable("--reorder", reorder, "[DIR]PERCENT",
             "Hold PERCENT % of packets back and send them after the packet that follows them "
             "(or after 10 ms if none follows); needs no --delay, unlike netem");
  repeatable("--duplicate", duplicate, "[DIR]PERCENT", "Send PERCENT % of packets twice");
  repeatable("--corrupt", corrupt, "[DIR]PERCENT", "Flip one random bit in PERCENT % of packets");
  repeatable("--rate", rate, "[DIR]BITS",
             "Carry at most BITS bits per second (suffixes k, M, G: 10M is 10,000,000), queueing "
             "packets in order; more than 1000 packets queued in a direction are dropped");
  std::string seed;
  app.add_option("--seed", seed,
                 "Seed of the impairment's random decisions: the same seed and the same traffic give "
                 "the same drops (default: random, printed at startup)")
      ->type_name("N")->group(impair);

  app.add_flag("-v,--verbose", o.verbosity,
               "More output on stderr: -v device and address events, -vv every packet in and out");
  bool no_timestamps = false;
  app.add_flag("--no-timestamps", no_timestamps,
               "Write log lines to stderr without their leading date and time (left out anyway "
               "when stderr is the systemd journal, which stamps each line itself)");
  app.footer(help_footer(program));

  // A bad option: status 2, the problem (naming the option), and how to see the options.
  const auto bad = [&program](const std::string& problem) {
    return exit_request{exit_usage, "tunstack: " + problem + "\nRun '" + program + " --help' for the options.\n"};
  };

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    const int status = app.exit(e, out, err);
    if (status == 0) {
      // One blank line between the groups of options (CLI11 puts two).
      std::string text = out.str();
      for (auto at = text.find("\n\n\n"); at != std::string::npos; at = text.find("\n\n\n", at)) text.erase(at, 1);
      return exit_request{0, text};
    }
    return bad(e.what());
  }

  if (o.verbosity > 2) {
    return bad("-v: at most -vv (-v: device and address events, -vv: every packet as well); there is nothing more to show");
  }
  o.timestamps = !no_timestamps;
  o.trace_tcp = trace == "tcp";
  const std::vector<std::tuple<std::string, const std::vector<std::string>*, std::string,
                               std::function<bool(std::string_view, impairment&)>>>
      impairments = {
          {"--loss", &loss, "[in:|out:]PERCENT, PERCENT 0..100, e.g. --loss 5 or --loss in:5", percent(&impairment::loss)},
          {"--reorder", &reorder, "[in:|out:]PERCENT, PERCENT 0..100, e.g. --reorder 2 or --reorder out:2", percent(&impairment::reorder)},
          {"--duplicate", &duplicate, "[in:|out:]PERCENT, PERCENT 0..100, e.g. --duplicate 1", percent(&impairment::duplicate)},
          {"--corrupt", &corrupt, "[in:|out:]PERCENT, PERCENT 0..100, e.g. --corrupt 0.1", percent(&impairment::corrupt)},
          {"--delay", &delay, "[in:|out:]MS[:JITTER], each 0..60000 ms, e.g. --delay 20 or --delay out:20:5", set_delay},
          {"--rate", &rate, "[in:|out:]BITS with an optional k, M or G, 1k..1000G, e.g. --rate 10M or --rate in:512k", set_rate},
      };
  for (const auto& [option, values, expected, set] : impairments) {
    if (std::string problem = apply_impairment(o.impairment, option, *values, expected, set); !problem.empty()) {
      return bad(problem);
    }
  }
  if (!seed.empty()) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), n);
    if (ec != std::errc{} || end != seed.data() + seed.size()) {
      return bad("--seed '" + seed + "': expected a number 0.." + std::to_string(UINT64_MAX) + ", e.g. --seed 7");
    }
    o.seed = n;
  }

  if (no_echo) o.echo_port = 0;
  if (no_discard) o.discard_port = 0;
  if (no_http) o.http_port = 0;
  if (no_offload) o.offload = false;
  if (!www.empty()) o.www = www;
  if (!pcap.empty()) o.pcap = pcap;
  if (!user.empty()) o.user = user;
  if (o.www && no_http) {
    return bad("--www needs the HTTP server; drop --no-http");
  }
  o.addr = *parse_ipv4_network(addr);
  o.host_addr = host_addr == "none" ? std::nullopt : parse_ipv4_network(host_addr);
  o.addr6 = addr6 == "none" ? std::nullopt : parse_ipv6_network(addr6);
  o.host_addr6 = host_addr6 == "none" ? std::nullopt : parse_ipv6_network(host_addr6);
  // With --addr6 none, the kernel side gets no IPv6 address either, unless one was asked for
  // (which cross_check then refuses: it would be an address nobody answers behind).
  if (!o.addr6 && host_addr6_option->count() == 0) o.host_addr6.reset();
  if (const std::string problem = cross_check(o, addr, host_addr, addr6, host_addr6); !problem.empty()) {
    return bad(problem);
  }
  return o;
}

}  // namespace tunstack::app
