// SPDX-License-Identifier: BSD-3-Clause
// main.cpp - the tunstack program: opens a TUN device, configures the kernel's side of it, and
// runs lwIP on it from an Asio event loop, so the process answers IP itself (`ping 10.0.3.50`,
// `ping -6 fd00:3::50`). Written only against tunstack's public API. Exit codes: 0 stopped by
// SIGINT/SIGTERM, 1 a runtime failure (device, permissions, the device vanished), 2 bad options.
// With --user it gives up root and every capability once the device is set up. SIGHUP reopens
// the --pcap and --trace-json files (log rotation). Everything but --trace tcp's lines goes to
// stderr, each line stamped with the date and time.
#include "log_line.hpp"
#include "options.hpp"
#include "privileges.hpp"

#include "echo_discard.hpp"
#include "http/server.hpp"
#include "status.hpp"
#include "trace_json.hpp"
#include "tunstack/tunstack.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <malloc.h>
#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <string>

namespace {

using tunstack::app::options;
using tunstack::app::log_writer;

constexpr int exit_failure = 1;

const char* level_prefix(tunstack::log_level level) {
  switch (level) {
    case tunstack::log_level::error: return "error: ";
    case tunstack::log_level::warning: return "warning: ";
    default: return "";
  }
}

// printf into a string of whatever length the line needs.
std::string format(const char* format, auto... args) {
  std::string out(static_cast<std::size_t>(std::max(std::snprintf(nullptr, 0, format, args...), 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, args...);
  return out;
}

// --trace-json FILE, which SIGHUP reopens by its path once log rotation has moved it away.
class json_lines_file {
 public:
  void open(const std::string& path) {
    path_ = path;
    if (!start(std::ios::trunc)) {
      throw std::runtime_error("cannot write the --trace-json file " + path + ": " + std::strerror(errno));
    }
  }
  bool is_open() const { return out_.is_open(); }
  std::ostream& stream() { return out_; }
  const std::string& path() const { return path_; }

  /// False: the path still names the file being written. True: a new file was started there.
  /// @throws std::runtime_error if it cannot be created (the old file stays in use).
  bool reopen() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) return false;
    std::ofstream old = std::move(out_);
    // Appending: a file someone put there meanwhile is kept, not replaced.
    if (!start(std::ios::app)) {
      const int e = errno;
      out_ = std::move(old);
      throw std::runtime_error("cannot create the --trace-json file " + path_ + ": " + std::strerror(e));
    }
    return true;
  }

 private:
  bool start(std::ios::openmode mode) {
    out_ = std::ofstream(path_, std::ios::out | mode);
    struct stat st {};
    if (!out_ || ::stat(path_.c_str(), &st) != 0) return false;
    device_ = st.st_dev;
    inode_ = st.st_ino;
    return true;
  }

  std::string path_;
  std::ofstream out_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

tunstack::log_level max_level(int verbosity) {
  switch (verbosity) {
    case 0: return tunstack::log_level::warning;
    case 1: return tunstack::log_level::info;
    case 2: return tunstack::log_level::debug;
    default: return tunstack::log_level::trace;
  }
}

void print_summary(const log_writer& log, const tunstack::stack_stats& s) {
  for (const auto& i : s.interfaces) {
    const auto& l = i.link;
    log(format("%s: received %llu packets (%llu bytes), sent %llu packets (%llu bytes); "
                 "dropped: %llu runt, %llu oversize, %llu no memory, %llu tx queue full; %llu tx errors",
                 i.name.c_str(), static_cast<unsigned long long>(l.rx_packets),
                 static_cast<unsigned long long>(l.rx_bytes),
                 static_cast<unsigned long long>(l.tx_packets),
                 static_cast<unsigned long long>(l.tx_bytes),
                 static_cast<unsigned long long>(l.rx_dropped_runt),
                 static_cast<unsigned long long>(l.rx_dropped_oversize),
                 static_cast<unsigned long long>(l.rx_dropped_no_memory),
                 static_cast<unsigned long long>(l.tx_dropped_queue_full),
                 static_cast<unsigned long long>(l.tx_errors)));
  }
  log(format("IPv4 in %llu (dropped %llu), ICMP echo/replies in %llu out %llu",
             static_cast<unsigned long long>(s.ip4.recv), static_cast<unsigned long long>(s.ip4.drop),
             static_cast<unsigned long long>(s.icmp4.recv), static_cast<unsigned long long>(s.icmp4.xmit)));
}

// --pcap FILE: wraps @p inner in a capture_link (made in @p capture) and returns it; without
// --pcap returns @p inner. The file shows what the stack receives and sends.
tunstack::netif::link& with_capture(const options& o, tunstack::netif::link& inner,
                                    std::optional<tunstack::netif::capture_link>& capture,
                                    const tunstack::log_sink& sink) {
  if (!o.pcap) return inner;
  capture.emplace(inner, tunstack::netif::capture_options{
                             .path = *o.pcap,
                             .on_write_error = [sink](std::error_code, std::string_view message) {
                               sink(tunstack::log_level::warning, message);
                             }});
  sink(tunstack::log_level::info, "capturing every packet of " + inner.name() + " to " + *o.pcap +
                                      " (read it while tunstack runs: tcpdump -r " + *o.pcap + " -nn)");
  return *capture;
}

std::string addresses(const options& o) {
  std::string s = o.addr.to_string();
  if (o.addr6) s += " and " + o.addr6->to_string();
  return s;
}

std::string kernel_side(const options& o) {
  std::string s;
  if (o.host_addr) s = o.host_addr->to_string();
  if (o.host_addr6) s += (s.empty() ? "" : " and ") + o.host_addr6->to_string();
  return s.empty() ? "left as configured" : s;
}

int run(const options& o, const log_writer& log) {
  asio::io_context io{1};
  const auto level = max_level(o.verbosity);
  auto sink = [level, &log](tunstack::log_level l, std::string_view line) {
    if (l <= level) log(level_prefix(l) + std::string(line));
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

  // The device outlives the stack (declared first, destroyed last).
  // With offloads the device carries super-packets of many segments, with checksums left
  // unfinished: a capture records them as they are, so --pcap turns offloads off and its file
  // shows the packets a wire would carry. Impairments need not: impaired_link cuts what it
  // impairs into segments itself, and a direction it leaves alone keeps the offloads.
  const char* offload_off = !o.offload ? nullptr : o.pcap ? "--pcap" : nullptr;
  tunstack::tun_device tun{io, {.name = o.dev, .mtu = o.mtu, .txqueuelen = o.txqueuelen,
                                .offload = o.offload && offload_off == nullptr}};
  // Not only with -v: without offloads TCP through tunstack costs several times the CPU.
  if (offload_off != nullptr) {
    log(std::string("offloads off: ") + offload_off + " works" +
        " on packets as the wire carries them, not on the kernel's super-packets");
  }
  sink(tunstack::log_level::info,
       (tun.created() ? "created TUN device " : "attached to persistent TUN device ") + tun.name() +
           " (MTU " + std::to_string(tun.mtu()) + "), offloads: " +
           (offload_off != nullptr ? std::string{"off ("} + offload_off + (o.pcap ? " works" : " work") + " on single packets)"
                                   : tun.offload_status()));
  if (o.host_addr || o.host_addr6) {
    tunstack::netif::kernel_side_config k{.ipv4 = o.host_addr, .ipv6 = o.host_addr6, .up = true};
    if (o.host_addr) k.stack_ipv4 = o.addr.address();
    if (o.host_addr6 && o.addr6) k.stack_ipv6 = o.addr6->address();
    tun.configure_kernel_side(k);
    sink(tunstack::log_level::info, "kernel side of " + tun.name() + ": " + kernel_side(o) + ", link up");
  }

  // --- Link decorators between the device and the stack, innermost first (declared after the
  // device and before the stack: they outlive the stack and the device outlives them). The
  // impairment wraps the device; the capture is outermost, so that its file shows what the
  // stack itself sees. ---
  tunstack::netif::link* device = &tun;
  tunstack::netif::steady_link_clock link_clock{io.get_executor()};
  std::optional<tunstack::netif::impaired_link> impaired;
  if (o.impaired()) {
    auto config = o.impairment;
    std::random_device entropy;
    config.seed = o.seed ? *o.seed : (std::uint64_t{entropy()} << 32 | entropy());
    impaired.emplace(*device, link_clock, config);
    device = &*impaired;
    log(format("impairment seed %llu (repeat with --seed %llu)", static_cast<unsigned long long>(config.seed),
               static_cast<unsigned long long>(config.seed)));
  }

  std::optional<tunstack::netif::capture_link> capture;
  tunstack::netif::link& link = with_capture(o, *device, capture, sink);
  // --- end of link decorators ---

  // --trace tcp and --trace-json: the stack's TCP events, as lines on stdout and JSON lines.
  json_lines_file trace_json;
  if (o.trace_json) trace_json.open(*o.trace_json);

  // --user: everything that needs privileges is done (device, kernel side, the files we write),
  // so give them up before the stack sees its first packet. The descriptor stays usable.
  if (o.user) {
    const auto d = tunstack::app::drop_privileges(*o.user);
    sink(tunstack::log_level::info,
         std::string(d.changed_user ? "dropped privileges to user " : "running as user ") + d.user + " (uid " +
             std::to_string(d.uid) + ", gid " + std::to_string(d.gid) + ", " + std::to_string(d.groups) +
             " supplementary groups), no capabilities left" +
             (d.bounding_cleared ? ", bounding set empty"
                                 : "; the bounding set stays as inherited (emptying it needs CAP_SETPCAP), and "
                                   "no_new_privs keeps any program it runs from gaining what it allows"));
  }

  tunstack::trace_sink trace;
  if (o.trace_tcp || o.trace_json) {
    trace = [&](const tunstack::trace_event& e) {
      if (o.trace_tcp) {
        const std::string line = tunstack::to_string(e) + '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);  // line by line, so that `| grep` shows events as they happen
      }
      if (trace_json.is_open()) trace_json.stream() << tunstack::services::to_json(e).dump() << '\n' << std::flush;
    };
  }

  tunstack::stack st{io, {.log = sink, .log_max = level,
                          .busy_poll = std::chrono::microseconds{o.busy_poll_us},
                          .memory_limit = static_cast<std::size_t>(o.memory_limit),
                          .orphan_timeout = std::chrono::seconds{o.orphan_timeout_s}, .trace = trace}};
  tunstack::interface_config config{.ipv4 = o.addr};
  if (o.addr6) config.ipv6.push_back(*o.addr6);
  config.on_link_failure = [&](std::error_code ec) {
    // The usual cause is the device deleted under us (ip link del): then its index is gone,
    // which needs no privilege to ask, so the message can say so instead of guessing.
    char name[IF_NAMESIZE];
    if (::if_indextoname(tun.index(), name) == nullptr && errno == ENXIO) {
      sink(tunstack::log_level::error, tun.name() + " stopped working (" + ec.message() +
                                           "): the device was deleted (ip link del " + tun.name() +
                                           "); tunstack cannot serve without it, start it again to recreate it");
    } else {
      sink(tunstack::log_level::error, tun.name() + " stopped working (" + ec.message() +
                                           "); was the device deleted (ip link del " + tun.name() + ")?");
    }
    exit_code = exit_failure;
    io.stop();
  };
  st.add_interface(link, config);

  // The services, on IPv4 and IPv6 alike; their counters feed the status model.
  namespace svc = tunstack::services;
  auto model = std::make_shared<svc::status>(st);
  std::string running;
  if (o.echo_port != 0) {
    model->add(svc::start_tcp_echo(st, o.echo_port));
    model->add(svc::start_udp_echo(st, o.echo_port));
    running += " echo " + std::to_string(o.echo_port);
  }
  if (o.discard_port != 0) {
    model->add(svc::start_tcp_discard(st, o.discard_port));
    model->add(svc::start_udp_discard(st, o.discard_port));
    running += " discard " + std::to_string(o.discard_port);
  }
  if (o.http_port != 0) {
    svc::http_options h;
    h.port = o.http_port;
    if (o.www) h.www = std::filesystem::canonical(*o.www);
    h.limits = {.max_request_line = o.http_max_request_line, .max_header_bytes = o.http_max_header_bytes,
                .max_headers = o.http_max_headers, .max_body = o.http_max_body};
    h.idle_timeout = std::chrono::milliseconds(static_cast<long long>(o.http_idle_timeout * 1000));
    h.header_timeout = std::chrono::milliseconds(static_cast<long long>(o.http_header_timeout * 1000));
    h.max_connections = o.http_max_connections;
    model->add(svc::start_http(st, h, model));
    running += " http " + std::to_string(o.http_port) + (o.www ? " (files from " + h.www->string() + ")" : "");
  }

  // --stats-interval: one line of counters, with rates since the previous line.
  asio::steady_timer stats_timer{io};
  nlohmann::json previous;
  std::function<void()> print_stats = [&] {
    stats_timer.expires_after(std::chrono::milliseconds(static_cast<long long>(o.stats_interval * 1000)));
    stats_timer.async_wait([&](std::error_code ec) {
      if (ec) return;
      auto now = model->snapshot({.limit = 0});  // counts only: no connection listed
      log(svc::status::summary_line(now, previous));
      previous = std::move(now);
      print_stats();
    });
  };
  if (o.stats_interval > 0) print_stats();

  // SIGHUP: log rotation moved the files away (or nothing happened to them); say what it did.
  asio::signal_set hangup{io, SIGHUP};
  std::function<void()> on_hangup = [&] {
    hangup.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      if (!capture && !trace_json.is_open()) {
        log("SIGHUP: no --pcap or --trace-json file to reopen; still running (SIGINT or SIGTERM stop tunstack)");
      }
      if (capture) {
        try {
          const auto packets = capture->packets();
          if (capture->reopen() == tunstack::netif::capture_link::reopen_result::new_file) {
            log("SIGHUP: reopened --pcap " + capture->path().string() + ": a new file, after " +
                std::to_string(packets) + " packets in all so far");
          } else {
            log("SIGHUP: --pcap " + capture->path().string() + " is still the file being written; nothing to reopen");
          }
        } catch (const std::exception& e) {
          sink(tunstack::log_level::warning, std::string("SIGHUP: ") + e.what() + "; still writing to the old file");
        }
      }
      if (trace_json.is_open()) {
        try {
          if (trace_json.reopen()) {
            log("SIGHUP: reopened --trace-json " + trace_json.path() + ": a new file");
          } else {
            log("SIGHUP: --trace-json " + trace_json.path() + " is still the file being written; nothing to reopen");
          }
        } catch (const std::exception& e) {
          sink(tunstack::log_level::warning, std::string("SIGHUP: ") + e.what() + "; still writing to the old file");
        }
      }
      on_hangup();
    });
  };
  on_hangup();

  // On stderr with the other log lines: stdout carries only --trace tcp's lines.
  log(format("answering %s on %s (kernel side %s, MTU %zu); services:%s; try: ping %s", addresses(o).c_str(),
             tun.name().c_str(), kernel_side(o).c_str(), tun.mtu(), running.empty() ? " none" : running.c_str(),
             o.addr.address().to_string().c_str()));

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
    log(format("stopped (%s) after %.1f s: %llu packets in, %llu out, %llu dropped", stopped_by, static_cast<double>(stats.uptime.count()) / 1000.0,
                 static_cast<unsigned long long>(in), static_cast<unsigned long long>(out),
                 static_cast<unsigned long long>(dropped + stats.ip4.drop + stats.ip6.drop)));
  }
  if (capture) {
    log(format("captured %llu packets in %s (%llu could not be written)",
               static_cast<unsigned long long>(capture->packets()), capture->path().c_str(),
               static_cast<unsigned long long>(capture->write_errors())));
  }
  if (o.verbosity > 0) print_summary(log, stats);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives memory back to the kernel whenever 128 KiB are free at the top of the heap.
  // The packet path frees and allocates 64 KiB at a time, so under bulk traffic the heap top
  // went back and forth: page faults, zeroed pages and cgroup charging were a quarter of
  // tunstack's CPU on the upload benchmark. Keep up to 8 MiB; larger frees (10,000 closed
  // connections) still go back.
  ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  ::mallopt(M_TOP_PAD, 1024 * 1024);
  // --help's examples call the program as it was started: by its path, so that they paste as
  // written from the same directory, or as "tunstack" when a PATH lookup found it.
  const std::string started_as = argc > 0 && std::strchr(argv[0], '/') != nullptr ? argv[0] : "tunstack";
  const auto parsed = tunstack::app::parse(std::vector<std::string>(argv + (argc > 0 ? 1 : 0), argv + argc), started_as);
  if (const auto* exit = std::get_if<tunstack::app::exit_request>(&parsed)) {
    (exit->status == 0 ? std::cout : std::cerr) << exit->text;
    return exit->status;
  }
  const options& o = std::get<options>(parsed);
  const log_writer log{o.timestamps};
  try {
    return run(o, log);
  } catch (const tunstack::netif::device_error& e) {
    log(std::string("error: ") + e.what());
    using reason = tunstack::netif::device_error::reason;
    switch (e.why()) {
      case reason::busy:
      case reason::wrong_kind:
        log("hint: choose another device with --dev (now " + o.dev + ")");
        break;
      case reason::address_in_use:
      case reason::route_conflict:
        log("hint: use addresses nothing else uses, e.g. --addr 10.0.99.50/24 --host-addr 10.0.99.1/24 "
            "--addr6 fd00:99::50/64 --host-addr6 fd00:99::1/64");
        break;
      default:
        break;
    }
    return exit_failure;
  } catch (const std::system_error& e) {
    log(std::string("error: ") + e.what());
    if (e.code() == std::errc::address_in_use) {
      log("hint: a service's port is taken on the stack; choose others with --echo, --discard, --http, or turn "
          "one off with --no-echo, --no-discard, --no-http");
    }
    return exit_failure;
  } catch (const std::exception& e) {
    log(std::string("error: ") + e.what());
    return exit_failure;
  }
}
