// SPDX-License-Identifier: BSD-3-Clause
// kernel_server.cpp - the kernel-stack reference for bench/run: TCP echo (7), TCP discard (9)
// and UDP echo (7) on kernel sockets, one thread, one epoll loop. It does what tunstack's
// services do, so that the same clients measure both; nothing here is tuned beyond what an
// ordinary epoll server does (non-blocking sockets, TCP_NODELAY, a backlog of SOMAXCONN).
//
// Usage: tunstack-bench-kserver [--echo PORT] [--discard PORT] [--congestion NAME]
// --congestion sets the TCP congestion control of its connections (TCP_CONGESTION; with
// CAP_NET_ADMIN any the kernel has, e.g. cubic where the machine's default is bbr).
// Prints "ready" on stdout when listening; runs until killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

enum class kind { none, echo_listener, discard_listener, udp_echo, echo, discard };

struct connection {
  kind what = kind::none;
  std::vector<char> pending;  // echo bytes the peer's window did not take yet
  std::size_t offset = 0;
  bool eof = false;  // the peer sent FIN; close once pending is written
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "kernel_server: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

const char* congestion = nullptr;  // --congestion: inherited by the accepted connections

int listen_on(int type, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (type == SOCK_STREAM && congestion != nullptr &&
      ::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, congestion, std::strlen(congestion)) != 0) {
    die("setsockopt TCP_CONGESTION (--congestion)");
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (type == SOCK_STREAM && ::listen(fd, SOMAXCONN) != 0) die("listen");
  return fd;
}

class server {
 public:
  server() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), buffer_(64 * 1024) {
    if (epoll_ < 0) die("epoll_create1");
  }

  void add(int fd, kind what, std::uint32_t events) {
    if (static_cast<std::size_t>(fd) >= connections_.size()) connections_.resize(fd + 1024);
    connections_[fd] = connection{.what = what};
    epoll_event e{.events = events, .data = {.fd = fd}};
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &e) != 0) die("epoll_ctl");
  }

  [[noreturn]] void run() {
    std::vector<epoll_event> events(256);
    for (;;) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) handle(events[i].data.fd, events[i].events);
    }
  }

 private:
  void handle(int fd, std::uint32_t events) {
    connection& c = connections_[fd];
    switch (c.what) {
      case kind::echo_listener: accept_all(fd, kind::echo); break;
      case kind::discard_listener: accept_all(fd, kind::discard); break;
      case kind::udp_echo: udp_echo(fd); break;
      case kind::discard: discard(fd); break;
      case kind::echo:
        if ((events & EPOLLOUT) != 0) flush(fd);
        else echo(fd);
        break;
      case kind::none: break;
    }
  }

  void accept_all(int listener, kind what) {
    for (;;) {
      const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away before we took it
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      add(fd, what, EPOLLIN);
    }
  }

  void close_connection(int fd) {
    ::close(fd);  // also removes it from the epoll set
    connections_[fd] = connection{};
  }

  void discard(int fd) {
    for (;;) {
      const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      close_connection(fd);  // EOF or error
      return;
    }
  }

  void echo(int fd) {
    const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      close_connection(fd);
      return;
    }
    const ssize_t w = ::write(fd, buffer_.data(), static_cast<std::size_t>(n));
    const std::size_t written = w > 0 ? static_cast<std::size_t>(w) : 0;
    if (w < 0 && errno != EAGAIN) {
      close_connection(fd);
      return;
    }
    if (written < static_cast<std::size_t>(n)) {
      // The peer's window is full: keep the rest, stop reading until it is written.
      connection& c = connections_[fd];
      c.pending.assign(buffer_.data() + written, buffer_.data() + n);
      c.offset = 0;
      epoll_event e{.events = EPOLLOUT, .data = {.fd = fd}};
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &e);
    }
  }

  void flush(int fd) {
    connection& c = connections_[fd];
    const ssize_t w = ::write(fd, c.pending.data() + c.offset, c.pending.size() - c.offset);
    if (w < 0) {
      if (errno != EAGAIN && errno != EINTR) close_connection(fd);
      return;
    }
    c.offset += static_cast<std::size_t>(w);
    if (c.offset < c.pending.size()) return;
    c.pending.clear();
    c.offset = 0;
    epoll_event e{.events = EPOLLIN, .data = {.fd = fd}};
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &e);
  }

  void udp_echo(int fd) {
    for (;;) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      ::sendto(fd, buffer_.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  int epoll_;
  std::vector<char> buffer_;
  std::vector<connection> connections_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t echo_port = 7, discard_port = 9;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--echo") echo_port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    else if (a == "--discard") discard_port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    else if (a == "--congestion") congestion = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--echo PORT] [--discard PORT] [--congestion NAME]\n", argv[0]);
      return 2;
    }
  }
  // One descriptor per connection: 10,000 concurrent connections need more than the usual 1024.
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  server s;
  s.add(listen_on(SOCK_STREAM, echo_port), kind::echo_listener, EPOLLIN);
  s.add(listen_on(SOCK_STREAM, discard_port), kind::discard_listener, EPOLLIN);
  s.add(listen_on(SOCK_DGRAM, echo_port), kind::udp_echo, EPOLLIN);
  std::printf("ready\n");
  std::fflush(stdout);
  s.run();
}
