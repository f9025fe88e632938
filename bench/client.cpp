// SPDX-License-Identifier: BSD-3-Clause
// client.cpp - the load generator of bench/run, on kernel sockets. The same client measures
// tunstack and the kernel references, and every workload checks what comes back, so a broken
// stack fails instead of scoring. It prints one line of key=value figures on stdout and exits
// 0, or says what was wrong on stderr and exits 1.
//
// Usage: tunstack-bench-client WORKLOAD --host A.B.C.D [--port P] [--duration S]
//                              [--count N] [--hold-ms MS] [--chunk BYTES] [--size BYTES]
//                              [--timeout S] [--max-outstanding BYTES]
//   udp_rr   1-byte UDP request/response on one socket: tps, p50_us, p99_us
//   tcp_rr   request/response on one connection (TCP_NODELAY), --size bytes each way (1):
//            tps, p50_us, p99_us
//   tcp_crr  connect, 1-byte request/response, close, repeated: cps
//   upload   64 KiB writes into discard for S seconds, then FIN and wait for the server's:
//            mbps (MB/s, 10^6 bytes, counted until the server has closed)
//   duplex   a writer thread sends a pattern through echo while the reader checks every byte
//            that comes back: mbps of bytes echoed and checked; with --max-outstanding the
//            writer waits while more than that many bytes are sent but not yet back
//   conns    N connections opened at once (non-blocking), then each verified with its own
//            4-byte echo, held for MS milliseconds ("holding" on stdout) and closed:
//            established_s (all N established), verified_s
// --timeout S replaces the longest wait for an answer (5 s for a response, 30 s for bulk data
// and closes): a lossy link needs longer, as retransmission timeouts back off.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string workload;
  std::string host;  // no default: bench/run says which namespace's address to load
  std::uint16_t port = 7;
  double duration = 3;
  std::size_t count = 10000;
  int hold_ms = 0;
  std::size_t chunk = 64 * 1024;
  std::size_t size = 1;             // tcp_rr: bytes per request and per response
  int timeout_ms = 0;               // 0: the defaults of each wait
  std::size_t max_outstanding = 0;  // duplex: 0 is no limit
};

// The longest wait for an answer: the workload's default unless --timeout was given.
int timeout_ms(const settings& s, int fallback_ms) { return s.timeout_ms > 0 ? s.timeout_ms : fallback_ms; }

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "client: FAIL: %s\n", what.c_str());
  std::exit(1);
}
[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

sockaddr_in address(const settings& s) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(s.port);
  if (::inet_pton(AF_INET, s.host.c_str(), &a.sin_addr) != 1) fail("bad --host " + s.host);
  return a;
}

int connect_tcp(const settings& s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_errno("socket");
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const sockaddr_in a = address(s);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail_errno("connect to " + s.host);
  return fd;
}

// Waits up to timeout_ms for fd to become readable; fails the run on a timeout.
void wait_readable(int fd, int timeout_ms, const char* what) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  const int r = ::poll(&p, 1, timeout_ms);
  if (r == 0) fail(std::string{what} + ": no answer within " + std::to_string(timeout_ms) + " ms");
  if (r < 0) fail_errno(what);
}

void read_exactly(int fd, void* data, std::size_t size, int wait_ms, const char* what) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    wait_readable(fd, wait_ms, what);
    const ssize_t n = ::read(fd, p, size);
    if (n == 0) fail(std::string{what} + ": the server closed the connection early");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      fail_errno(what);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void write_all(int fd, const void* data, std::size_t size, const char* what) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Waits for the server's FIN after ours: the server has read everything we sent.
void expect_eof(int fd, int wait_ms, const char* what) {
  char byte;
  wait_readable(fd, wait_ms, what);
  const ssize_t n = ::read(fd, &byte, 1);
  if (n != 0) fail(std::string{what} + ": expected the server to close after our FIN");
}

double percentile_us(std::vector<std::uint32_t>& ns, double p) {
  if (ns.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
  return ns[k] / 1000.0;
}

// One decimal, or three below 10 MB/s: under heavy loss a stack may echo 0.05 MB/s.
int mbps_decimals(double mbps) { return mbps < 10 ? 3 : 1; }

void print_rr(std::size_t transactions, double elapsed, std::vector<std::uint32_t>& latencies) {
  const double tps = static_cast<double>(transactions) / elapsed;
  // A decimal below 100/s, where a lossy link's request/response is.
  std::printf("tps=%.*f p50_us=%.1f p99_us=%.1f n=%zu\n", tps < 100 ? 1 : 0, tps, percentile_us(latencies, 0.5),
              percentile_us(latencies, 0.99), transactions);
}

// Request/response, timed: exchange(n) makes the n-th transaction and checks its answer.
template <class Exchange>
void request_response(const settings& s, Exchange exchange) {
  std::vector<std::uint32_t> latencies;
  latencies.reserve(1 << 20);
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration<double>(s.duration);
  std::size_t n = 0;
  for (auto now = start; now < end; ++n) {
    exchange(n);
    const auto after = clock_type::now();
    latencies.push_back(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(after - now).count()));
    now = after;
  }
  print_rr(n, seconds_since(start), latencies);
}

void udp_rr(const settings& s) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const sockaddr_in a = address(s);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail_errno("udp socket");
  request_response(s, [fd](std::size_t i) {
    const auto byte = static_cast<char>('a' + i % 26);
    if (::send(fd, &byte, 1, 0) != 1) fail_errno("udp send");
    char back = 0;
    wait_readable(fd, 2000, "udp_rr");  // a lost datagram fails the run: the link is local
    const ssize_t n = ::recv(fd, &back, 1, 0);
    if (n != 1 || back != byte) fail("udp_rr: the echo did not return the byte sent");
  });
}

void tcp_rr(const settings& s) {
  if (s.size == 0) fail("tcp_rr: --size must be at least 1");
  const int fd = connect_tcp(s);
  const int wait_ms = timeout_ms(s, 5000);
  std::vector<char> request(s.size), back(s.size);
  request_response(s, [&](std::size_t n) {
    // Every request differs from the one before, so a stale or misplaced answer is caught.
    std::memset(request.data(), 'a' + static_cast<int>(n % 26), request.size());
    if (request.size() >= sizeof n) std::memcpy(request.data(), &n, sizeof n);
    write_all(fd, request.data(), request.size(), "tcp_rr write");
    read_exactly(fd, back.data(), back.size(), wait_ms, "tcp_rr read");
    if (back != request) fail("tcp_rr: the echo did not return the bytes sent");
  });
  ::shutdown(fd, SHUT_WR);
  expect_eof(fd, timeout_ms(s, 30000), "tcp_rr");
  ::close(fd);
}

void tcp_crr(const settings& s) {
  const auto start = clock_type::now();
  std::size_t n = 0;
  while (seconds_since(start) < s.duration) {
    const int fd = connect_tcp(s);
    const auto byte = static_cast<char>('a' + n % 26);
    write_all(fd, &byte, 1, "tcp_crr write");
    char back = 0;
    read_exactly(fd, &back, 1, timeout_ms(s, 5000), "tcp_crr read");
    if (back != byte) fail("tcp_crr: the echo did not return the byte sent");
    ::close(fd);
    ++n;
  }
  std::printf("cps=%.0f n=%zu\n", static_cast<double>(n) / seconds_since(start), n);
}


void upload(const settings& s) {
  const int fd = connect_tcp(s);
  std::vector<char> chunk(s.chunk, 'x');
  std::size_t sent = 0;
  const auto start = clock_type::now();
  while (seconds_since(start) < s.duration) {
    write_all(fd, chunk.data(), chunk.size(), "upload write");
    sent += chunk.size();
  }
  ::shutdown(fd, SHUT_WR);
  expect_eof(fd, timeout_ms(s, 30000), "upload");  // discard closes only after reading up to our FIN
  const double elapsed = seconds_since(start);
  ::close(fd);
  const double mbps = static_cast<double>(sent) / elapsed / 1e6;
  std::printf("mbps=%.*f bytes=%zu\n", mbps_decimals(mbps), mbps, sent);
}

// A pattern with no period that divides the chunk size, doubled so that any window of up to
// `period` bytes starting anywhere in the first copy is contiguous.
std::vector<char> make_pattern(std::size_t period) {
  std::vector<char> p(2 * period);
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < period; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = p[i + period] = static_cast<char>(x);
  }
  return p;
}

void duplex(const settings& s) {
  const int fd = connect_tcp(s);
  constexpr std::size_t period = (1 << 20) + 7;
  const std::vector<char> pattern = make_pattern(period);
  std::atomic<std::size_t> sent{0};
  std::atomic<std::size_t> received{0};
  const auto start = clock_type::now();
  std::thread writer([&] {
    std::size_t offset = 0;
    while (seconds_since(start) < s.duration) {
      const std::size_t n = std::min({s.chunk, period, s.max_outstanding > 0 ? s.max_outstanding : period});
      // With a limit, wait for the echo to catch up: on a slow (lossy) path the socket
      // buffers would otherwise hold many seconds of data that the run must then drain.
      if (s.max_outstanding > 0) {
        for (std::size_t r = received.load(); sent + n > r + s.max_outstanding; r = received.load()) {
          received.wait(r);
        }
      }
      write_all(fd, pattern.data() + offset, n, "duplex write");
      offset = (offset + n) % period;
      sent += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::vector<char> buffer(256 * 1024);
  const int wait_ms = timeout_ms(s, 30000);
  for (;;) {
    wait_readable(fd, wait_ms, "duplex read");
    const ssize_t n = ::read(fd, buffer.data(), std::min(buffer.size(), period));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("duplex read");
    }
    if (n == 0) break;
    const std::size_t offset = received % period;
    if (std::memcmp(buffer.data(), pattern.data() + offset, static_cast<std::size_t>(n)) != 0) {
      fail("duplex: the echo returned different bytes at offset " + std::to_string(received.load()));
    }
    received += static_cast<std::size_t>(n);
    received.notify_one();
  }
  writer.join();
  const double elapsed = seconds_since(start);
  ::close(fd);
  if (received != sent) {
    fail("duplex: sent " + std::to_string(sent.load()) + " bytes, " + std::to_string(received.load()) + " came back");
  }
  const double mbps = static_cast<double>(received.load()) / elapsed / 1e6;
  std::printf("mbps=%.*f bytes=%zu\n", mbps_decimals(mbps), mbps, received.load());
}

void conns(const settings& s) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < s.count + 64) {
    r.rlim_cur = std::min<rlim_t>(r.rlim_max, s.count + 64);
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  const sockaddr_in a = address(s);
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds(s.count, -1);
  const auto start = clock_type::now();
  for (std::size_t i = 0; i < s.count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail_errno("socket #" + std::to_string(i) + " (raise ulimit -n)");
    fds[i] = fd;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
      fail_errno("connect #" + std::to_string(i));
    }
    epoll_event e{.events = EPOLLOUT, .data = {.u64 = i}};
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e);
  }
  // Established: writable with no pending error. SYNs the server dropped are retransmitted
  // by our kernel (after 1 s, 3 s, ...), which shows in the time this takes.
  std::vector<epoll_event> events(1024);
  std::size_t established = 0;
  while (established < s.count) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 20000);
    if (n == 0) fail("conns: only " + std::to_string(established) + " of " + std::to_string(s.count) + " established in 20 s (SYNs retried after 1, 3, 7 and 15 s)");
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      int error = 0;
      socklen_t len = sizeof error;
      ::getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &error, &len);
      if (error != 0) fail("conns: connection #" + std::to_string(i) + ": " + std::strerror(error));
      epoll_event e{.events = EPOLLIN, .data = {.u64 = i}};
      ::epoll_ctl(epoll, EPOLL_CTL_MOD, fds[i], &e);
      ++established;
    }
  }
  const double established_s = seconds_since(start);
  // Every connection carries its own number through the echo and must get it back.
  for (std::size_t i = 0; i < s.count; ++i) {
    const auto tag = static_cast<std::uint32_t>(i);
    if (::write(fds[i], &tag, sizeof tag) != sizeof tag) fail_errno("conns write #" + std::to_string(i));
  }
  std::size_t verified = 0;
  while (verified < s.count) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 10000);
    if (n == 0) fail("conns: only " + std::to_string(verified) + " echoes came back");
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      std::uint32_t tag = 0;
      const ssize_t got = ::recv(fds[i], &tag, sizeof tag, MSG_WAITALL);
      if (got != sizeof tag || tag != i) fail("conns: connection #" + std::to_string(i) + " echoed the wrong bytes");
      ::epoll_ctl(epoll, EPOLL_CTL_DEL, fds[i], nullptr);
      ++verified;
    }
  }
  const double verified_s = seconds_since(start);
  if (s.hold_ms > 0) {
    std::printf("holding\n");
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(s.hold_ms));
  }
  for (int fd : fds) ::close(fd);
  std::printf("established_s=%.3f verified_s=%.3f n=%zu\n", established_s, verified_s, s.count);
}

}  // namespace

constexpr const char* usage =
    "usage: tunstack-bench-client udp_rr|tcp_rr|tcp_crr|upload|duplex|conns --host A.B.C.D [options]\n"
    "  bench/run starts it inside its client namespace; the options are listed at the top of\n"
    "  bench/client.cpp";

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::puts(usage);
      return 0;
    }
  }
  if (argc < 2) fail(usage);
  settings s;
  s.workload = argv[1];
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) fail(std::string("option ") + argv[i] + " needs a value");
    const std::string o = argv[i], v = argv[i + 1];
    if (o == "--host") s.host = v;
    else if (o == "--port") s.port = static_cast<std::uint16_t>(std::stoi(v));
    else if (o == "--duration") s.duration = std::stod(v);
    else if (o == "--count") s.count = std::stoul(v);
    else if (o == "--hold-ms") s.hold_ms = std::stoi(v);
    else if (o == "--chunk") s.chunk = std::stoul(v);
    else if (o == "--size") s.size = std::stoul(v);
    else if (o == "--timeout") s.timeout_ms = static_cast<int>(std::stod(v) * 1000);
    else if (o == "--max-outstanding") s.max_outstanding = std::stoul(v);
    else fail("unknown option " + o);
  }
  if (s.host.empty()) fail(std::string("--host is required (the address to load, inside a test namespace)\n") + usage);
  if (s.workload == "udp_rr") udp_rr(s);
  else if (s.workload == "tcp_rr") tcp_rr(s);
  else if (s.workload == "tcp_crr") tcp_crr(s);
  else if (s.workload == "upload") upload(s);
  else if (s.workload == "duplex") duplex(s);
  else if (s.workload == "conns") conns(s);
  else fail("unknown workload " + s.workload);
  return 0;
}
