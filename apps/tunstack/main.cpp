// main.cpp - the tunstack program: opens a TUN device, configures the kernel's side of it, and
// runs lwIP on it from an Asio event loop, so the process answers IP itself (`ping 10.0.3.50`).
// Written only against tunstack's public API. Exit codes: 0 stopped by SIGINT/SIGTERM, 1 a
// runtime failure (device, permissions, the device vanished), 2 bad command-line options.
#include "tunstack/tunstack.hpp"

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

struct options {
  std::string dev = "tun0";
  std::string addr = "10.0.3.50/24";
  std::string host_addr = "10.0.3.1/24";
  std::size_t mtu = 1500;
  int verbosity = 0;
};

std::optional<asio::ip::network_v4> parse_network(const std::string& text) {
  std::error_code ec;
  if (text.find('/') == std::string::npos) return std::nullopt;
  auto n = asio::ip::make_network_v4(text, ec);
  if (ec) return std::nullopt;
  return n;
}

// CLI11 validator for "A.B.C.D/P" (and "none" where allowed).
CLI::Validator ipv4_with_prefix(bool allow_none) {
  return CLI::Validator(
      [allow_none](std::string& value) -> std::string {
        if (allow_none && value == "none") return {};
        if (!parse_network(value)) {
          return "'" + value + "' is not an IPv4 address with a prefix length, like 10.0.3.50/24" +
                 (allow_none ? " (or 'none')" : "");
        }
        return {};
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

// Checks that need more than one option. Returns an error message, or empty.
std::string cross_check(const options& o) {
  const auto addr = *parse_network(o.addr);
  const std::uint32_t a = addr.address().to_uint();
  if (addr.prefix_length() < 31 &&
      (addr.address() == addr.network() || addr.address() == addr.broadcast())) {
    return "--addr " + o.addr + " is the " +
           std::string(addr.address() == addr.network() ? "network" : "broadcast") +
           " address of its subnet; choose a host address, like 10.0.3.50/24";
  }
  if (o.host_addr == "none") return {};
  const auto host = *parse_network(o.host_addr);
  if (host.address() == addr.address()) {
    return "--addr and --host-addr are both " + addr.address().to_string() +
           ": the stack and the kernel need different addresses";
  }
  const std::uint32_t mask = host.netmask().to_uint();
  if ((a & mask) != (host.address().to_uint() & mask)) {
    return "--addr " + o.addr + " is outside the kernel side's subnet " +
           host.canonical().to_string() + " (--host-addr " + o.host_addr +
           "), so the kernel would not route it into --dev " + o.dev +
           "; put both in one subnet";
  }
  return {};
}

const char* level_prefix(tunstack::log_level level) {
  switch (level) {
    case tunstack::log_level::error: return "tunstack: error: ";
    case tunstack::log_level::warning: return "tunstack: warning: ";
    default: return "tunstack: ";
  }
}

tunstack::log_level max_level(int verbosity) {
  switch (verbosity) {
    case 0: return tunstack::log_level::warning;
    case 1: return tunstack::log_level::info;
    case 2: return tunstack::log_level::debug;
    default: return tunstack::log_level::trace;
  }
}

void print_summary(const tunstack::stack_stats& s) {
  for (const auto& i : s.interfaces) {
    const auto& l = i.link;
    std::fprintf(stderr,
                 "tunstack: %s: received %llu packets (%llu bytes), sent %llu packets (%llu bytes); "
                 "dropped: %llu runt, %llu oversize, %llu no memory, %llu tx queue full; %llu tx errors\n",
                 i.name.c_str(), static_cast<unsigned long long>(l.rx_packets),
                 static_cast<unsigned long long>(l.rx_bytes),
                 static_cast<unsigned long long>(l.tx_packets),
                 static_cast<unsigned long long>(l.tx_bytes),
                 static_cast<unsigned long long>(l.rx_dropped_runt),
                 static_cast<unsigned long long>(l.rx_dropped_oversize),
                 static_cast<unsigned long long>(l.rx_dropped_no_memory),
                 static_cast<unsigned long long>(l.tx_dropped_queue_full),
                 static_cast<unsigned long long>(l.tx_errors));
  }
  std::fprintf(stderr, "tunstack: IPv4 in %llu (dropped %llu), ICMP echo/replies in %llu out %llu\n",
               static_cast<unsigned long long>(s.ip4.recv), static_cast<unsigned long long>(s.ip4.drop),
               static_cast<unsigned long long>(s.icmp4.recv),
               static_cast<unsigned long long>(s.icmp4.xmit));
}

int run(const options& o) {
  asio::io_context io{1};
  const auto level = max_level(o.verbosity);
  auto sink = [level](tunstack::log_level l, std::string_view line) {
    if (l <= level) std::cerr << level_prefix(l) << line << '\n';
  };

  // Handle SIGINT/SIGTERM from the start, so an early Ctrl-C also cleans up.
  asio::signal_set signals{io, SIGINT, SIGTERM};
  int exit_code = 0;
  const char* stopped_by = nullptr;
  signals.async_wait([&](std::error_code ec, int signal) {
    if (ec) return;
    stopped_by = signal == SIGINT ? "SIGINT" : "SIGTERM";
    io.stop();
  });

  const auto addr = *parse_network(o.addr);
  const std::optional<asio::ip::network_v4> host =
      o.host_addr == "none" ? std::nullopt : parse_network(o.host_addr);

  // The device outlives the stack (declared first, destroyed last).
  tunstack::tun_device tun{io, {.name = o.dev, .mtu = o.mtu}};
  sink(tunstack::log_level::info,
       (tun.created() ? "created TUN device " : "attached to persistent TUN device ") + tun.name() +
           " (MTU " + std::to_string(tun.mtu()) + ")");
  if (host) {
    tun.configure_kernel_side({.ipv4 = host, .stack_ipv4 = addr.address(), .up = true});
    sink(tunstack::log_level::info, "kernel side of " + tun.name() + ": " + host->to_string() + ", link up");
  }

  tunstack::stack st{io, {.log = sink, .log_max = level}};
  st.add_interface(tun, {.ipv4 = addr, .on_link_failure = [&](std::error_code ec) {
                           sink(tunstack::log_level::error,
                                tun.name() + " stopped working (" + ec.message() +
                                    "); was the device deleted (ip link del " + tun.name() + ")?");
                           exit_code = exit_failure;
                           io.stop();
                         }});

  std::printf("tunstack: answering %s on %s (kernel side %s, MTU %zu); try: ping %s\n",
              addr.to_string().c_str(), tun.name().c_str(),
              host ? host->to_string().c_str() : "left as configured", tun.mtu(),
              addr.address().to_string().c_str());
  std::fflush(stdout);

  io.run();
  const auto stats = st.stats();
  if (stopped_by != nullptr) {
    std::uint64_t in = 0, out = 0, dropped = 0;
    for (const auto& i : stats.interfaces) {
      in += i.link.rx_packets;
      out += i.link.tx_packets;
      dropped += i.link.rx_dropped_runt + i.link.rx_dropped_oversize + i.link.rx_dropped_no_memory +
                 i.link.tx_dropped_queue_full;
    }
    std::fprintf(stderr, "tunstack: stopped (%s) after %.1f s: %llu packets in, %llu out, %llu dropped\n",
                 stopped_by, static_cast<double>(stats.uptime.count()) / 1000.0,
                 static_cast<unsigned long long>(in), static_cast<unsigned long long>(out),
                 static_cast<unsigned long long>(dropped + stats.ip4.drop + stats.ip6.drop));
  }
  if (o.verbosity > 0) print_summary(stats);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{
      "tunstack: a userspace TCP/IP stack on a TUN device. It creates (or attaches to) a TUN "
      "device, gives the kernel's side an address, and answers IP on the other side itself: "
      "ping gets replies from --addr.",
      "tunstack"};
  app.set_version_flag("--version", tunstack::version_banner());
  app.add_option("--dev", o.dev,
                 "TUN device to create, or persistent device to attach to (tun%d: the kernel "
                 "picks a free number)")
      ->capture_default_str()
      ->type_name("NAME")
      ->check(interface_name());
  app.add_option("--addr", o.addr, "The stack's own IPv4 address and prefix on the device")
      ->capture_default_str()
      ->type_name("A.B.C.D/P")
      ->check(ipv4_with_prefix(false));
  app.add_option("--host-addr", o.host_addr,
                 "The kernel side's IPv4 address and prefix, configured over rtnetlink; 'none' "
                 "leaves the kernel side as it is (for devices you configure yourself)")
      ->capture_default_str()
      ->type_name("A.B.C.D/P|none")
      ->check(ipv4_with_prefix(true));
  app.add_option("--mtu", o.mtu, "MTU of the device and the stack, in bytes")
      ->capture_default_str()
      ->type_name("BYTES")
      ->check(CLI::Range(68, 65535).description("68..65535"));
  app.add_flag("-v,--verbose", o.verbosity,
               "More output on stderr: -v device and address events, -vv every packet in and out");
  app.footer(
      "Examples:\n"
      "  sudo tunstack                  create tun0, kernel side 10.0.3.1/24, answer 10.0.3.50\n"
      "  ping 10.0.3.50                 (in another terminal) replies come from tunstack\n"
      "  sudo tunstack --dev tun1 --addr 10.9.0.2/24 --host-addr 10.9.0.1/24\n"
      "  sudo ip tuntap add dev tun7 mode tun user $USER    a persistent device for your user;\n"
      "  sudo ip addr add 10.0.3.1/24 dev tun7 && sudo ip link set tun7 up\n"
      "  tunstack --dev tun7 --host-addr none               then no root is needed\n"
      "\n"
      "Creating a device needs CAP_NET_ADMIN: run as root, or once: sudo setcap cap_net_admin+ep "
      "$(command -v tunstack)\n"
      "Exit status: 0 stopped by SIGINT/SIGTERM, 1 runtime error, 2 bad options.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "tunstack: " << e.what() << "\nRun 'tunstack --help' for the options.\n";
    return exit_usage;
  }
  if (const std::string problem = cross_check(o); !problem.empty()) {
    std::cerr << "tunstack: " << problem << "\nRun 'tunstack --help' for the options.\n";
    return exit_usage;
  }

  try {
    return run(o);
  } catch (const tunstack::netif::device_error& e) {
    std::cerr << "tunstack: error: " << e.what() << '\n';
    using reason = tunstack::netif::device_error::reason;
    switch (e.why()) {
      case reason::busy:
      case reason::wrong_kind:
        std::cerr << "tunstack: hint: choose another device with --dev (now " << o.dev << ")\n";
        break;
      case reason::address_in_use:
      case reason::route_conflict:
        std::cerr << "tunstack: hint: use a subnet nothing else uses, e.g. --addr 10.0.99.50/24 "
                     "--host-addr 10.0.99.1/24 (now --addr "
                  << o.addr << " --host-addr " << o.host_addr << ")\n";
        break;
      default:
        break;
    }
    return exit_failure;
  } catch (const std::exception& e) {
    std::cerr << "tunstack: error: " << e.what() << '\n';
    return exit_failure;
  }
}
