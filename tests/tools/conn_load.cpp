// SPDX-License-Identifier: BSD-3-Clause
// conn_load.cpp - a load client for the integration tests: opens N concurrent TCP connections
// from the kernel's stack to HOST:PORT (an echo server), keeps all of them open at once, then
// sends a unique payload on each and checks that exactly it comes back, and finally closes them
// in order (our FIN, the server's FIN). Plain epoll on kernel sockets: the client must not share
// code with the stack under test.
//
// Connects are non-blocking and at most --window are in progress at once, so the server's SYN
// backlog (at most 255 in lwIP) is not overrun; a connect that is refused or times out is
// retried, up to --attempts times per connection. Exit status 0 only if all N were verified.
// SIGUSR1 ends --hold early, so a test can hold the connections exactly as long as it needs.
#include "number.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t hold_ended = 0;
extern "C" void end_hold(int) { hold_ended = 1; }

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host;
  std::uint16_t port = 0;
  std::size_t count = 0;
  std::size_t window = 200;             // connects in progress at once
  int attempts = 5;                     // per connection
  double connect_timeout = 3.0;         // seconds per attempt
  std::size_t payload = 64;             // bytes echoed per connection
  double phase_timeout = 120.0;         // seconds for each phase
  double hold = 0.0;                    // seconds to keep all open after verifying
  double duration = 0.0;                // seconds to keep exchanging echo rounds (0: one round)
  double interval = 0.0;                // seconds between rounds
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "conn_load: %s\n"
               "usage: conn_load HOST PORT COUNT [--window N] [--attempts N] [--connect-timeout S]\n"
               "                 [--payload BYTES] [--phase-timeout S] [--hold S] [--duration S]\n"
               "                 [--interval S]\n",
               why);
  std::exit(2);
}

template <class T>
T number(std::string_view text, const char* what) {
  return tools::number<T>(text, what, usage);
}

// from_chars for double is in GCC 12's libstdc++, but keep it simple and portable.
double seconds(std::string_view text, const char* what) {
  char* end = nullptr;
  const std::string s(text);
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || v < 0) usage((std::string("bad ") + what).c_str());
  return v;
}

options parse(int argc, char** argv) {
  if (argc < 4) usage("missing arguments");
  options o;
  o.host = argv[1];
  o.port = number<std::uint16_t>(argv[2], "PORT");
  o.count = number<std::size_t>(argv[3], "COUNT");
  for (int i = 4; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("option without a value");
    const std::string_view v = argv[++i];
    if (a == "--window") o.window = number<std::size_t>(v, "--window");
    else if (a == "--attempts") o.attempts = number<int>(v, "--attempts");
    else if (a == "--connect-timeout") o.connect_timeout = seconds(v, "--connect-timeout");
    else if (a == "--payload") o.payload = number<std::size_t>(v, "--payload");
    else if (a == "--phase-timeout") o.phase_timeout = seconds(v, "--phase-timeout");
    else if (a == "--hold") o.hold = seconds(v, "--hold");
    else if (a == "--duration") o.duration = seconds(v, "--duration");
    else if (a == "--interval") o.interval = seconds(v, "--interval");
    else usage("unknown option");
  }
  if (o.count == 0 || o.window == 0 || o.attempts < 1 || o.payload < 16) usage("bad values");
  return o;
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Every connection needs a descriptor, plus a few for stdio and epoll.
void raise_fd_limit(std::size_t count) {
  rlimit l{};
  getrlimit(RLIMIT_NOFILE, &l);
  const rlim_t want = static_cast<rlim_t>(count) + 64;
  if (l.rlim_cur >= want) return;
  l.rlim_cur = want;
  if (l.rlim_max < want) l.rlim_max = want;  // needs CAP_SYS_RESOURCE (the tests run as root)
  if (setrlimit(RLIMIT_NOFILE, &l) != 0) {
    std::fprintf(stderr, "conn_load: cannot raise RLIMIT_NOFILE to %llu: %s\n",
                 static_cast<unsigned long long>(want), std::strerror(errno));
    std::exit(1);
  }
}

enum class state { waiting, connecting, open, verified, closed, failed };

struct connection {
  int fd = -1;
  state st = state::waiting;
  int attempts = 0;
  clock_type::time_point started;  // of the current connect attempt
  std::string expected;             // the payload, unique to this connection
  std::size_t sent = 0;
  std::string received;
};

class load {
 public:
  explicit load(options o) : o_(std::move(o)), conns_(o_.count) {
    if (inet_pton(AF_INET, o_.host.c_str(), &peer_.sin_addr) != 1) usage("HOST must be an IPv4 address");
    peer_.sin_family = AF_INET;
    peer_.sin_port = htons(o_.port);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
    for (std::size_t i = 0; i < conns_.size(); ++i) queue_.push_back(i);
  }

  ~load() {
    for (auto& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(epoll_);
  }

  int run() {
    const auto t0 = clock_type::now();
    const bool all_open = connect_all();
    established_seconds_ = since(t0);
    std::printf("conn_load: established %zu of %zu in %.2f s (%zu open at once at the end, %zu retries)\n", open_,
                o_.count, established_seconds_, open_now(), retries_);
    report_failures();
    if (!all_open) {
      std::printf("conn_load: result established=%zu verified=0 count=%zu FAILED (not all connected)\n", open_, o_.count);
      return 1;
    }

    // One round of echoes, or rounds back to back for --duration seconds.
    const auto t1 = clock_type::now();
    std::size_t verified = 0, rounds = 0;
    double slowest = 0;
    if (o_.duration > 0) std::printf("conn_load: exchanging echoes on all %zu for %.1f s\n", o_.count, o_.duration);
    for (;;) {
      const auto r0 = clock_type::now();
      verified = verify_all(rounds++);
      slowest = std::max(slowest, since(r0));
      if (verified != o_.count || since(t1) + o_.interval >= o_.duration) break;
      std::this_thread::sleep_for(std::chrono::duration<double>(o_.interval));
    }
    std::printf("conn_load: verified %zu of %zu echoes (%zu bytes each) in round %zu; %zu rounds in %.2f s, slowest %.3f s\n",
                verified, o_.count, o_.payload, rounds, rounds, since(t1), slowest);
    if (o_.hold > 0 && verified == o_.count) {
      std::printf("conn_load: holding all %zu connections open for %.1f s\n", open_now(), o_.hold);
      std::fflush(stdout);
      const auto until = clock_type::now() + std::chrono::duration<double>(o_.hold);
      while (!hold_ended && clock_type::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    const auto t2 = clock_type::now();
    const std::size_t clean = close_all();
    std::printf("conn_load: closed %zu of %zu in order (FIN both ways) in %.2f s\n", clean, o_.count, since(t2));
    report_failures();
    const bool ok = verified == o_.count && clean == o_.count;
    std::printf("conn_load: result established=%zu verified=%zu closed=%zu count=%zu connect_seconds=%.2f %s\n", open_,
                verified, clean, o_.count, established_seconds_, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
  }

 private:
  static std::string pad(std::size_t n) {
    char b[24];
    std::snprintf(b, sizeof b, "%06zu", n);
    return b;
  }

  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "conn_load: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
  }

  void fail(const std::string& reason) { ++failures_[reason]; }

  void report_failures() {
    for (const auto& [reason, n] : failures_) std::printf("conn_load:   %zu x %s\n", n, reason.c_str());
    failures_.clear();
  }

  std::size_t open_now() const {
    return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const connection& c) {
      return c.st == state::open || c.st == state::verified;
    }));
  }

  void watch(std::size_t i, std::uint32_t events, int op) {
    epoll_event e{};
    e.events = events;
    e.data.u64 = i;
    if (epoll_ctl(epoll_, op, conns_[i].fd, &e) != 0) die("epoll_ctl");
  }

  // Starts the connect of connection i (non-blocking).
  void start_connect(std::size_t i) {
    auto& c = conns_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die("socket");
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++c.attempts;
    c.started = clock_type::now();
    c.st = state::connecting;
    ++connecting_;
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&peer_), sizeof peer_) == 0) {
      connected(i);
      return;
    }
    if (errno != EINPROGRESS) {
      connect_failed(i, std::string("connect: ") + std::strerror(errno));
      return;
    }
    watch(i, EPOLLOUT, EPOLL_CTL_ADD);
  }

  void connected(std::size_t i) {
    auto& c = conns_[i];
    --connecting_;
    c.st = state::open;
    ++open_;
  }

  void connect_failed(std::size_t i, std::string reason) {
    auto& c = conns_[i];
    --connecting_;
    ::close(c.fd);  // also leaves epoll
    c.fd = -1;
    fail(reason + (c.attempts < o_.attempts ? " (retried)" : " (gave up)"));
    if (c.attempts < o_.attempts) {
      c.st = state::waiting;
      queue_.push_back(i);
      ++retries_;
    } else {
      c.st = state::failed;
    }
  }

  // Phase 1: every connection open at once. Returns true if all N are.
  bool connect_all() {
    std::vector<epoll_event> events(1024);
    const auto deadline = clock_type::now() + std::chrono::duration<double>(o_.phase_timeout);
    while (!queue_.empty() || connecting_ > 0) {
      while (!queue_.empty() && connecting_ < o_.window) {
        const std::size_t i = queue_.front();
        queue_.pop_front();
        start_connect(i);
      }
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int k = 0; k < n; ++k) {
        const std::size_t i = events[k].data.u64;
        auto& c = conns_[i];
        if (c.st != state::connecting) continue;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) {
          watch(i, 0, EPOLL_CTL_MOD);  // quiet until the verify phase
          connected(i);
        } else {
          connect_failed(i, std::string("connect: ") + std::strerror(err));
        }
      }
      // Attempts that take too long (the SYN or SYN-ACK was dropped: the kernel would retry
      // for minutes) are abandoned and retried.
      const auto now = clock_type::now();
      for (std::size_t i = 0; i < conns_.size() && connecting_ > 0; ++i) {
        auto& c = conns_[i];
        if (c.st == state::connecting &&
            now - c.started > std::chrono::duration<double>(o_.connect_timeout)) {
          connect_failed(i, "connect: no answer within --connect-timeout");
        }
      }
      if (now > deadline) {
        std::printf("conn_load: connect phase ran out of time (--phase-timeout %.0f s)\n", o_.phase_timeout);
        return false;
      }
    }
    // Every connection must still be open now that the last one is: none was reset meanwhile.
    return open_now() == o_.count && open_ == o_.count;
  }

  // Phase 2: a unique payload on each connection, checked byte for byte. At most --window
  // echoes are outstanding at once: sending on all connections in one burst would overrun the
  // TUN device's queue (txqueuelen, 500 packets) and measure the kernel's retransmission
  // backoff instead of the stack. Returns how many match.
  std::size_t verify_all(std::size_t round) {
    std::deque<std::size_t> todo;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      auto& c = conns_[i];
      if (c.st != state::open && c.st != state::verified) continue;
      // "conn 000042 of 010000 round 000000 " then a filler, so every byte is checked.
      c.expected = "conn " + pad(i) + " of " + pad(o_.count) + " round " + pad(round) + " ";
      for (std::size_t k = 0; c.expected.size() < o_.payload; ++k) {
        c.expected += static_cast<char>('a' + (i * 7 + round * 3 + k) % 26);
      }
      c.sent = 0;
      c.received.clear();
      c.st = state::open;
      todo.push_back(i);
    }
    std::size_t verified = 0, active = 0;
    std::vector<epoll_event> events(1024);
    std::vector<char> buffer(64 * 1024);
    const auto deadline = clock_type::now() + std::chrono::duration<double>(o_.phase_timeout);
    auto finish = [&](std::size_t i, state st) {
      conns_[i].st = st;
      watch(i, 0, EPOLL_CTL_MOD);
      --active;
    };
    while ((active > 0 || !todo.empty()) && clock_type::now() < deadline) {
      for (; active < o_.window && !todo.empty(); ++active) {
        watch(todo.front(), EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
        todo.pop_front();
      }
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int k = 0; k < n; ++k) {
        const std::size_t i = events[k].data.u64;
        auto& c = conns_[i];
        if (c.st != state::open) continue;
        if ((events[k].events & EPOLLOUT) && c.sent < c.expected.size()) {
          const ssize_t w = ::send(c.fd, c.expected.data() + c.sent, c.expected.size() - c.sent, MSG_NOSIGNAL);
          if (w > 0) c.sent += static_cast<std::size_t>(w);
          if (w < 0 && errno != EAGAIN) {
            fail(std::string("send: ") + std::strerror(errno));
            finish(i, state::failed);
            continue;
          }
          if (c.sent == c.expected.size()) watch(i, EPOLLIN, EPOLL_CTL_MOD);
        }
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          const ssize_t r = ::recv(c.fd, buffer.data(), buffer.size(), 0);
          if (r > 0) {
            c.received.append(buffer.data(), static_cast<std::size_t>(r));
          } else if (r == 0 || errno != EAGAIN) {
            fail(r == 0 ? "verify: closed by the server before the echo"
                        : std::string("verify: recv: ") + std::strerror(errno));
            finish(i, state::failed);
            continue;
          }
          if (c.received.size() >= c.expected.size()) {
            if (c.received == c.expected) {
              ++verified;
              finish(i, state::verified);
            } else {
              fail("verify: the echo differs from what was sent");
              finish(i, state::failed);
            }
          }
        }
      }
    }
    for (std::size_t p = 0; p < active + todo.size(); ++p) fail("verify: no echo within --phase-timeout");
    return verified;
  }

  // Phase 3: shutdown(SHUT_WR) and wait for the server's FIN (the echo server answers a FIN
  // with its own), then close; at most --window closing at once. Returns how many closed in
  // order.
  std::size_t close_all() {
    std::deque<std::size_t> todo;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      auto& c = conns_[i];
      if (c.fd < 0) continue;
      if (c.st == state::verified) {
        todo.push_back(i);
      } else {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::size_t clean = 0, active = 0;
    std::vector<epoll_event> events(1024);
    std::vector<char> buffer(4096);
    const auto deadline = clock_type::now() + std::chrono::duration<double>(o_.phase_timeout);
    auto finish = [&](connection& c, state st) {
      c.st = st;
      ::close(c.fd);  // also leaves epoll
      c.fd = -1;
      --active;
    };
    while ((active > 0 || !todo.empty()) && clock_type::now() < deadline) {
      for (; active < o_.window && !todo.empty(); ++active) {
        const std::size_t i = todo.front();
        todo.pop_front();
        if (::shutdown(conns_[i].fd, SHUT_WR) != 0) {
          fail(std::string("close: shutdown: ") + std::strerror(errno));
          finish(conns_[i], state::failed);
          continue;
        }
        watch(i, EPOLLIN, EPOLL_CTL_MOD);
      }
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int k = 0; k < n; ++k) {
        auto& c = conns_[events[k].data.u64];
        if (c.fd < 0) continue;
        const ssize_t r = ::recv(c.fd, buffer.data(), buffer.size(), 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r == 0) {
          ++clean;
          finish(c, state::closed);
        } else {
          fail(r > 0 ? "close: data after the echo" : std::string("close: recv: ") + std::strerror(errno));
          finish(c, state::failed);
        }
      }
    }
    for (auto& c : conns_) {
      if (c.fd < 0) continue;
      fail("close: no FIN from the server within --phase-timeout");
      ::close(c.fd);
      c.fd = -1;
    }
    return clean;
  }

  options o_;
  std::vector<connection> conns_;
  sockaddr_in peer_{};
  int epoll_ = -1;
  std::deque<std::size_t> queue_;  // connections waiting for a connect attempt
  std::size_t connecting_ = 0;
  std::size_t open_ = 0;           // connects that succeeded (each connection once)
  std::size_t retries_ = 0;
  double established_seconds_ = 0;
  std::map<std::string, std::size_t> failures_;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  raise_fd_limit(o.count);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGUSR1, end_hold);
  load l{o};
  return l.run();
}
