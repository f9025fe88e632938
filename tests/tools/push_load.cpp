// SPDX-License-Identifier: BSD-3-Clause
// push_load.cpp - COUNT TCP connections from the kernel to HOST:PORT (an echo server) that write
// as much as the server takes and never read, for memory_ceiling.sh (issue 12). Prints the bytes
// each connection got in once no more go in (the plateau), holds them --hold seconds, then resets
// them all. Plain epoll on kernel sockets: no code of the stack under test.
//
// The echo comes back into a small receive buffer that nobody empties, so the server's writes
// stall, then its reads, and every connection ends up holding what the server buffers for it.
#include "number.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host;
  std::uint16_t port = 0;
  std::size_t count = 0;
  int buffer = 16 * 1024;      // SO_RCVBUF and SO_SNDBUF of each client socket
  double settle = 1.5;         // seconds without a byte going in: the plateau
  double timeout = 60;         // seconds to reach it
  double hold = 0;             // seconds to hold the connections after the plateau
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "push_load: %s\n"
               "usage: push_load HOST PORT COUNT [--buffer BYTES] [--settle S] [--timeout S] [--hold S]\n",
               why);
  std::exit(2);
}

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
  o.port = tools::number<std::uint16_t>(argv[2], "PORT", usage);
  o.count = tools::number<std::size_t>(argv[3], "COUNT", usage);
  for (int i = 4; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage("option without a value");
    const std::string_view v = argv[++i];
    if (a == "--buffer") o.buffer = tools::number<int>(v, "--buffer", usage);
    else if (a == "--settle") o.settle = seconds(v, "--settle");
    else if (a == "--timeout") o.timeout = seconds(v, "--timeout");
    else if (a == "--hold") o.hold = seconds(v, "--hold");
    else usage("unknown option");
  }
  if (o.count == 0) usage("COUNT must be at least 1");
  return o;
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "push_load: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  rlimit l{};
  getrlimit(RLIMIT_NOFILE, &l);
  if (l.rlim_cur < o.count + 64) {
    l.rlim_cur = std::max<rlim_t>(l.rlim_max, o.count + 64);
    l.rlim_max = l.rlim_cur;
    if (setrlimit(RLIMIT_NOFILE, &l) != 0) die("setrlimit RLIMIT_NOFILE");
  }
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(o.port);
  if (inet_pton(AF_INET, o.host.c_str(), &peer.sin_addr) != 1) usage("HOST must be an IPv4 address");

  // Blocking connects, one after the other: COUNT is a few hundred, and a refused one is an error.
  std::vector<int> fds;
  const auto t0 = clock_type::now();
  for (std::size_t i = 0; i < o.count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    // Small buffers, set before connect so that the window the kernel offers is small too: the
    // memory this load is about is the server's, not the kernel's.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.buffer, sizeof o.buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o.buffer, sizeof o.buffer);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds the connect
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0) {
      std::fprintf(stderr, "push_load: connect %zu of %zu: %s\n", i + 1, o.count, std::strerror(errno));
      return 1;
    }
    const int flags = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &flags, sizeof flags);
    fds.push_back(fd);
  }
  std::printf("push_load: %zu connections open in %.2f s; writing, never reading\n", fds.size(), since(t0));

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (std::size_t i = 0; i < fds.size(); ++i) {
    epoll_event e{};
    e.events = EPOLLOUT | EPOLLET;
    e.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) != 0) die("epoll_ctl");
  }
  std::vector<char> data(64 * 1024);
  for (std::size_t k = 0; k < data.size(); ++k) data[k] = static_cast<char>('a' + k % 26);
  std::vector<unsigned long long> pushed(fds.size());
  std::vector<epoll_event> events(1024);
  unsigned long long total = 0;
  const auto t1 = clock_type::now();
  auto last_progress = clock_type::now();
  std::size_t errors = 0;
  while (since(last_progress) < o.settle) {
    if (since(t1) > o.timeout) {
      std::printf("push_load: no plateau within --timeout %.0f s (%llu bytes in so far)\n", o.timeout, total);
      return 1;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      for (;;) {  // edge-triggered: write until the socket takes no more
        const ssize_t w = ::send(fds[i], data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          pushed[i] += static_cast<unsigned long long>(w);
          total += static_cast<unsigned long long>(w);
          last_progress = clock_type::now();
          continue;
        }
        if (w < 0 && errno != EAGAIN) {
          if (++errors <= 3) std::fprintf(stderr, "push_load: send on connection %zu: %s\n", i, std::strerror(errno));
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
        }
        break;
      }
    }
  }
  const auto [least, most] = std::minmax_element(pushed.begin(), pushed.end());
  std::printf("push_load: plateau after %.2f s: %llu bytes in on %zu connections, %llu per connection (%llu..%llu), "
              "%zu send errors\n",
              since(t1) - o.settle, total, fds.size(), total / fds.size(), *least, *most, errors);
  if (o.hold > 0) {
    std::printf("push_load: holding all %zu connections for %.1f s\n", fds.size(), o.hold);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.hold));
  }
  // Resets, not FINs: a FIN would wait behind everything the server still has to echo.
  for (int fd : fds) {
    const linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
  }
  ::close(ep);
  std::printf("push_load: reset all %zu connections\n", fds.size());
  return errors == 0 ? 0 : 1;
}
