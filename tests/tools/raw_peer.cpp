// SPDX-License-Identifier: BSD-3-Clause
// raw_peer.cpp - a TCP peer played segment by segment, for the attack tests of issue 12: it
// speaks from an address of the subnet that the kernel does not own (10.0.3.77), sends through
// a raw socket (IP_HDRINCL) and reads what the stack writes into the TUN device through a packet
// socket bound to that device. The kernel drops those packets itself (not addressed to it, and
// the test's namespace does not forward), so only this tool answers them.
//
// Each scenario is a subcommand that prints what it saw (segments, windows, timings) and exits
// 0 if the stack behaved, 1 if it misbehaved, 2 on a bad command line, 3 if the tool could not
// set itself up, 4 if the stack reset the connection (ooo-flood accepts that as an answer).
// Needs CAP_NET_RAW: run it inside the test's namespace. Kernel sockets only, no code of the
// stack under test.
#include "number.hpp"
#include "tcp_wire.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace wire = tools::wire;

constexpr int exit_ok = 0, exit_misbehaved = 1, exit_usage = 2, exit_setup = 3, exit_reset = 4;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "raw_peer: %s\n"
               "usage: raw_peer SCENARIO [options]\n"
               "scenarios:\n"
               "  ooo-flood          --count N one-byte segments out of order (every other byte, the first never),\n"
               "                     then the holes filled; the stack must acknowledge everything [--echo: and echo it]\n"
               "  zero-window-ack    an echo exchange, one spoofed ACK (window 0, any ack, seq far ahead), and the\n"
               "                     exchange must go on\n"
               "  mss1               a SYN with MSS 1, then GET /: the stack must answer\n"
               "  zero-window-close  --bytes N and a FIN to echo (--http: GET / to HTTP, which closes first) while\n"
               "                     advertising a zero window and answering persist probes; reports when (if) the\n"
               "                     stack lets the connection go\n"
               "  garbage-flood      --count N ACKs from random addresses of --subnet to random ports: no connection\n"
               "options (all scenarios): --dev NAME (tun0) --source A.B.C.D (10.0.3.77) --host A.B.C.D (10.0.3.50)\n"
               "  --port N --source-port N --mss N (1460; mss1: 1) --window BYTES (65535) --wscale N|none (7)\n"
               "  --sack | --no-sack (on) --timestamps | --no-timestamps (off) --seed N\n"
               "  ooo-flood: --count N (50000) --in-flight N (1000) --deadline S (30) --echo\n"
               "             --in-order (the control: the same segments in order, nothing to queue)\n"
               "  zero-window-ack: --before S (1) --after S (3) --stall S (1.5) --chunk BYTES (1000) --interval S (0.002)\n"
               "  mss1: --timeout S (10)\n"
               "  zero-window-close: --bytes N (1000000) --http --watch S (15) --expect-freed S (0: only report)\n"
               "  garbage-flood: --count N (20000) --subnet A.B.C.D/P (10.0.3.0/24) --exclude A.B.C.D ...\n",
               why);
  std::exit(exit_usage);
}

template <class T>
T number(std::string_view text, const char* what) {
  return tools::number<T>(text, what, usage);
}

double seconds_arg(const std::string& v, const char* what) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || d < 0) usage((std::string("bad ") + what).c_str());
  return d;
}

std::uint32_t address(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) usage(("bad IPv4 address " + text).c_str());
  return ntohl(a.s_addr);
}

std::string address_text(std::uint32_t a) {
  char b[INET_ADDRSTRLEN];
  const in_addr n{htonl(a)};
  return inet_ntop(AF_INET, &n, b, sizeof b);
}

struct options {
  std::string scenario;
  std::string dev = "tun0";
  std::uint32_t source = address("10.0.3.77");
  std::uint32_t host = address("10.0.3.50");
  std::optional<std::uint16_t> port, source_port;
  std::optional<std::uint16_t> mss;
  std::uint32_t window = 65535;
  std::optional<std::uint8_t> wscale = 7;
  bool sack = true;
  bool timestamps = false;
  std::uint64_t seed = 0;
  // Scenario parameters.
  std::optional<std::uint64_t> count;
  std::uint64_t in_flight = 1000;
  double deadline = 30;
  bool echo = false;
  bool http = false;
  bool in_order = false;
  double before = 1, after = 3, stall = 1.5, interval = 0.002;
  std::size_t chunk = 1000;
  double timeout = 10;
  std::size_t bytes = 1000000;
  double watch = 15, expect_freed = 0;
  std::uint32_t subnet = address("10.0.3.0");
  int prefix = 24;
  std::vector<std::uint32_t> exclude;
};

options parse(int argc, char** argv) {
  if (argc < 2) usage("missing scenario");
  options o;
  o.scenario = argv[1];
  o.seed = std::random_device{}();
  for (int i = 2; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--sack") { o.sack = true; continue; }
    if (a == "--no-sack") { o.sack = false; continue; }
    if (a == "--timestamps") { o.timestamps = true; continue; }
    if (a == "--no-timestamps") { o.timestamps = false; continue; }
    if (a == "--echo") { o.echo = true; continue; }
    if (a == "--http") { o.http = true; continue; }
    if (a == "--in-order") { o.in_order = true; continue; }
    if (i + 1 >= argc) usage("option without a value");
    const std::string v = argv[++i];
    if (a == "--dev") o.dev = v;
    else if (a == "--source") o.source = address(v);
    else if (a == "--host") o.host = address(v);
    else if (a == "--port") o.port = number<std::uint16_t>(v, "--port");
    else if (a == "--source-port") o.source_port = number<std::uint16_t>(v, "--source-port");
    else if (a == "--mss") o.mss = number<std::uint16_t>(v, "--mss");
    else if (a == "--window") o.window = number<std::uint32_t>(v, "--window");
    else if (a == "--wscale") o.wscale = v == "none" ? std::nullopt : std::optional{number<std::uint8_t>(v, "--wscale")};
    else if (a == "--seed") o.seed = number<std::uint64_t>(v, "--seed");
    else if (a == "--count") o.count = number<std::uint64_t>(v, "--count");
    else if (a == "--in-flight") o.in_flight = number<std::uint64_t>(v, "--in-flight");
    else if (a == "--deadline") o.deadline = seconds_arg(v, "--deadline");
    else if (a == "--before") o.before = seconds_arg(v, "--before");
    else if (a == "--after") o.after = seconds_arg(v, "--after");
    else if (a == "--stall") o.stall = seconds_arg(v, "--stall");
    else if (a == "--interval") o.interval = seconds_arg(v, "--interval");
    else if (a == "--chunk") o.chunk = number<std::size_t>(v, "--chunk");
    else if (a == "--timeout") o.timeout = seconds_arg(v, "--timeout");
    else if (a == "--bytes") o.bytes = number<std::size_t>(v, "--bytes");
    else if (a == "--watch") o.watch = seconds_arg(v, "--watch");
    else if (a == "--expect-freed") o.expect_freed = seconds_arg(v, "--expect-freed");
    else if (a == "--subnet") {
      const auto slash = v.find('/');
      if (slash == std::string::npos) usage("--subnet needs A.B.C.D/P");
      o.prefix = number<int>(std::string_view(v).substr(slash + 1), "prefix");
      if (o.prefix < 1 || o.prefix > 30) usage("--subnet prefix must be 1..30");
      o.subnet = address(v.substr(0, slash)) & ~((1u << (32 - o.prefix)) - 1);
    } else if (a == "--exclude") o.exclude.push_back(address(v));
    else usage("unknown option");
  }
  if (o.wscale && *o.wscale > 14) usage("--wscale must be 0..14 (RFC 7323 2.3)");
  if (o.in_flight == 0 || o.chunk == 0) usage("bad values");
  return o;
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "raw_peer: %s: %s\n", what, std::strerror(errno));
  std::exit(exit_setup);
}

// The two sockets: a raw one that sends IPv4 packets exactly as built, and a packet socket on
// the TUN device that sees what the stack writes into it for our address.
class peer_link {
 public:
  peer_link(const std::string& dev, std::uint32_t local, std::uint32_t remote) : buffer_(256 * 1024) {
    raw_ = ::socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
    if (raw_ < 0) die("raw socket (needs CAP_NET_RAW)");
    remote_.sin_family = AF_INET;
    remote_.sin_addr.s_addr = htonl(remote);
    if (dev.empty()) return;  // send only (garbage-flood)

    // Protocol 0 first: the socket receives nothing until it is bound, so no packet of another
    // device or address slips in before the filter is attached. SOCK_RAW, because only it takes
    // PACKET_VNET_HDR: a virtio-net header before each packet says how the stack's super-packets
    // (TUN offloads) are cut into segments, i.e. what MSS the stack really uses.
    packet_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (packet_ < 0) die("packet socket (needs CAP_NET_RAW)");
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", dev.c_str());
    if (ioctl(packet_, SIOCGIFHWADDR, &ifr) != 0) die(("device " + dev).c_str());
    // A TUN device has no link header; an Ethernet one (a veth, to try this tool against the
    // kernel's own TCP) has 14 bytes before the IP header.
    link_header_ = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ? 14 : 0;
    const auto at = [&](unsigned offset) { return static_cast<std::uint32_t>(link_header_ + offset); };
    // Classic BPF: TCP from the stack's address to ours, everything else dropped in the kernel.
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, at(9)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, at(12)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, remote, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, at(16)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, local, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0x40000),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    if (setsockopt(packet_, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) die("SO_ATTACH_FILTER");
    // A flood makes the stack answer tens of thousands of segments in a burst: keep them all.
    const int size = 64 * 1024 * 1024;
    if (setsockopt(packet_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
      setsockopt(packet_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    const int one = 1;
    vnet_ = setsockopt(packet_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0;
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IP);
    ll.sll_ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
    if (ll.sll_ifindex == 0) die(("device " + dev).c_str());
    if (::bind(packet_, reinterpret_cast<const sockaddr*>(&ll), sizeof ll) != 0) die("bind packet socket");
  }
  peer_link(const peer_link&) = delete;
  peer_link& operator=(const peer_link&) = delete;
  ~peer_link() {
    ::close(raw_);
    if (packet_ >= 0) ::close(packet_);
  }

  /// Sends one packet; a full device queue (ENOBUFS) is waited out, as the stack's own queue
  /// would push back. Returns false on any other error.
  bool send(const std::vector<std::uint8_t>& packet) {
    for (;;) {
      if (::sendto(raw_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&remote_),
                   sizeof remote_) == static_cast<ssize_t>(packet.size())) {
        return true;
      }
      if (errno != ENOBUFS && errno != EAGAIN) {
        if (++errors_ <= 3) std::fprintf(stderr, "raw_peer: sendto: %s\n", std::strerror(errno));
        return false;
      }
      ++queue_full_;
      std::this_thread::sleep_for(100us);
    }
  }

  /// The next TCP segment from the stack to us, waiting up to @p timeout (zero: only what is
  /// there). Its payload points into this link's buffer until the next call.
  std::optional<wire::received> next(clock_type::duration timeout) {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
      const ssize_t n = ::recv(packet_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n > 0) {
        if (static_cast<std::size_t>(n) > buffer_.size()) continue;  // cannot be: 64 KiB at most
        std::span<const std::uint8_t> packet{buffer_.data(), static_cast<std::size_t>(n)};
        std::uint16_t gso_size = 0;
        if (vnet_) {  // struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include): 10 bytes
          if (packet.size() < 10) continue;
          const std::uint8_t gso_type = packet[1];  // 0: VIRTIO_NET_HDR_GSO_NONE
          if (gso_type != 0) std::memcpy(&gso_size, packet.data() + 4, 2);  // host byte order here
          packet = packet.subspan(10);
        }
        if (packet.size() < link_header_) continue;
        packet = packet.subspan(link_header_);
        auto r = wire::parse(packet);
        if (!r) continue;
        r->gso_size = gso_size;
        return r;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) die("recv from the packet socket");
      const auto left = deadline - clock_type::now();
      if (left <= clock_type::duration::zero()) return std::nullopt;
      pollfd p{packet_, POLLIN, 0};
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      ::poll(&p, 1, static_cast<int>(std::min<long long>(ms, 1000)));
    }
  }

  std::uint64_t queue_full() const { return queue_full_; }

 private:
  int raw_ = -1, packet_ = -1;
  bool vnet_ = false;
  std::size_t link_header_ = 0;
  sockaddr_in remote_{};
  std::vector<std::uint8_t> buffer_;
  std::uint64_t queue_full_ = 0, errors_ = 0;
};

// The byte at offset i of a stream the tools send: varies with i so that a misplaced byte shows.
std::uint8_t pattern(std::uint64_t i) { return static_cast<std::uint8_t>((i * 2654435761u) >> 13); }

// One TCP connection from our address to the stack, with our side's state kept here: what we
// sent (snd_una, snd_nxt), what we expect (rcv_nxt), the options both sides agreed on, and the
// in-order data received.
class connection {
 public:
  connection(peer_link& l, const options& o, std::uint16_t port, std::mt19937_64& rng) : link_(l), o_(o) {
    local_port_ = o.source_port ? *o.source_port : static_cast<std::uint16_t>(std::uniform_int_distribution<int>(20000, 60000)(rng));
    remote_port_ = port;
    iss_ = static_cast<std::uint32_t>(rng());
    snd_una_ = snd_nxt_ = iss_;
    ts_base_ = static_cast<std::uint32_t>(rng());
    window_ = o.window;
  }

  /// The handshake: SYN (retransmitted every second, up to @p attempts times), SYN-ACK, ACK.
  bool open(int attempts = 5) {
    wire::options opt;
    opt.mss = o_.mss ? *o_.mss : std::uint16_t{1460};
    opt.wscale = o_.wscale;
    opt.sack_permitted = o_.sack;
    if (o_.timestamps) opt.timestamps = std::pair{now_ts(), 0u};
    for (int a = 0; a < attempts; ++a) {
      wire::segment s = base(iss_, 0, wire::syn);
      s.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(window_, 65535));  // never scaled (RFC 7323 2.2)
      s.opts = opt;
      link_.send(wire::build(s));
      const auto until = clock_type::now() + 1s;
      while (auto r = next(until - clock_type::now())) {
        if (r->has(wire::rst)) {
          std::printf("raw_peer: the stack refused the connection to port %u (RST)\n", remote_port_);
          return false;
        }
        if (!r->has(wire::syn | wire::ack) || r->ack_number != iss_ + 1) continue;
        irs_ = r->seq;
        rcv_nxt_ = irs_ + 1;
        snd_una_ = snd_nxt_ = iss_ + 1;
        their_mss_ = r->mss.value_or(536);
        if (o_.wscale && r->wscale) {
          our_shift_ = *o_.wscale;
          their_shift_ = std::min<std::uint8_t>(*r->wscale, 14);
        }
        timestamps_ = o_.timestamps && r->timestamps.has_value();
        their_window_ = r->window;  // a SYN's window is never scaled
        std::printf("raw_peer: connected %s:%u > %s:%u; SYN-ACK win %u mss %u wscale %s sackOK %s TS %s (after %d SYN%s)\n",
                    address_text(o_.source).c_str(), local_port_, address_text(o_.host).c_str(), remote_port_,
                    r->window, their_mss_, r->wscale ? std::to_string(*r->wscale).c_str() : "none",
                    r->sack_permitted ? "yes" : "no", r->timestamps ? "yes" : "no", a + 1, a ? "s" : "");
        send_ack();
        return true;
      }
    }
    std::printf("raw_peer: no SYN-ACK from %s:%u to %d SYNs\n", address_text(o_.host).c_str(), remote_port_, attempts);
    return false;
  }

  /// The next segment of this connection (others are skipped), after our bookkeeping: the ACK
  /// it carries, and its data and FIN if they are next in order and accept_data is set; data
  /// and FINs are acknowledged at once (also data not taken: that ACK answers a probe).
  std::optional<wire::received> next(clock_type::duration timeout) {
    const auto deadline = clock_type::now() + timeout;
    for (;;) {
      auto r = link_.next(std::max(deadline - clock_type::now(), clock_type::duration::zero()));
      if (!r) return r;
      if (r->source_port != remote_port_ || r->destination_port != local_port_) continue;
      ++segments_in_;
      if (r->timestamps) ts_recent_ = r->timestamps->first;
      if (r->has(wire::rst)) reset_ = true;
      if (r->has(wire::ack) && !r->has(wire::syn)) {
        if (wire::seq_lt(snd_una_, r->ack_number) && wire::seq_le(r->ack_number, snd_nxt_)) snd_una_ = r->ack_number;
        their_window_ = static_cast<std::uint32_t>(r->window) << their_shift_;
      }
      if (!r->has(wire::syn) && !r->has(wire::rst)) take_data(*r);
      return r;
    }
  }

  /// Sends @p payload at @p seq with our current ACK and window.
  void send_data(std::uint32_t seq, std::span<const std::uint8_t> payload, std::uint8_t flags = wire::ack | wire::psh) {
    wire::segment s = base(seq, rcv_nxt_, flags);
    s.payload = payload;
    link_.send(wire::build(s));
    const std::uint32_t end = seq + static_cast<std::uint32_t>(payload.size()) + ((flags & wire::fin) ? 1 : 0);
    if (wire::seq_lt(snd_nxt_, end)) snd_nxt_ = end;
  }
  void send_ack() { link_.send(wire::build(base(snd_nxt_, rcv_nxt_, wire::ack))); }
  /// A segment with our addresses, ports, window and timestamps, for a scenario to change.
  wire::segment base(std::uint32_t seq, std::uint32_t ack, std::uint8_t flags) {
    wire::segment s;
    s.source = o_.source;
    s.destination = o_.host;
    s.source_port = local_port_;
    s.destination_port = remote_port_;
    s.seq = seq;
    s.ack_number = ack;
    s.flags = flags;
    s.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(window_ >> our_shift_, 65535));
    if (timestamps_) s.opts.timestamps = std::pair{now_ts(), ts_recent_};
    s.ip_id = ip_id_++;
    return s;
  }

  /// Sends our FIN after everything sent and waits for the stack's FIN and the ACK of ours.
  bool close(double timeout) {
    const std::uint32_t fin_seq = snd_nxt_;
    const auto start = clock_type::now();
    while (since(start) < timeout) {
      send_data(fin_seq, {}, wire::fin | wire::ack);
      const auto until = clock_type::now() + 1s;
      while (auto r = next(until - clock_type::now())) {
        if (reset_) return false;
        if (fin_received_ && snd_una_ == fin_seq + 1) {
          send_ack();
          return true;
        }
      }
    }
    return false;
  }

  std::uint32_t iss() const { return iss_; }
  std::uint32_t snd_una() const { return snd_una_; }
  std::uint32_t snd_nxt() const { return snd_nxt_; }
  std::uint32_t rcv_nxt() const { return rcv_nxt_; }
  std::uint16_t their_mss() const { return their_mss_; }
  std::uint32_t their_window() const { return their_window_; }
  std::uint8_t their_shift() const { return their_shift_; }
  bool timestamps() const { return timestamps_; }
  bool reset() const { return reset_; }
  bool fin_received() const { return fin_received_; }
  std::uint64_t segments_in() const { return segments_in_; }
  std::string& data() { return data_; }
  bool accept_data = true;   // take in-order data (off: a zero window, nothing is taken)

 private:
  std::uint32_t now_ts() const {
    return ts_base_ + static_cast<std::uint32_t>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now().time_since_epoch()).count());
  }

  void take_data(const wire::received& r) {
    const auto len = static_cast<std::uint32_t>(r.payload.size());
    bool ack_it = len > 0;
    if (accept_data && len > 0 && wire::seq_le(r.seq, rcv_nxt_) && wire::seq_lt(rcv_nxt_, r.seq + len)) {
      const std::uint32_t skip = rcv_nxt_ - r.seq;
      data_.append(reinterpret_cast<const char*>(r.payload.data()) + skip, len - skip);
      rcv_nxt_ = r.seq + len;
    }
    if (r.has(wire::fin) && accept_data && r.seq + len == rcv_nxt_ && !fin_received_) {
      fin_received_ = true;
      rcv_nxt_ += 1;
      ack_it = true;
    }
    if (ack_it) send_ack();
  }

  peer_link& link_;
  const options& o_;
  std::uint16_t local_port_ = 0, remote_port_ = 0;
  std::uint32_t iss_ = 0, irs_ = 0, snd_una_ = 0, snd_nxt_ = 0, rcv_nxt_ = 0;
  std::uint32_t window_ = 0;
  std::uint8_t our_shift_ = 0, their_shift_ = 0;
  std::uint16_t their_mss_ = 536;
  std::uint32_t their_window_ = 0;
  bool timestamps_ = false, reset_ = false, fin_received_ = false;
  std::uint32_t ts_base_ = 0, ts_recent_ = 0;
  std::uint16_t ip_id_ = 1;
  std::uint64_t segments_in_ = 0;
  std::string data_;
};

// Sends [from, to) of the pattern stream (offsets from the first data byte) in segments of at
// most @p mss bytes.
void send_stream(connection& c, std::uint64_t from, std::uint64_t to, std::size_t mss) {
  std::vector<std::uint8_t> b;
  for (std::uint64_t at = from; at < to;) {
    const std::uint64_t n = std::min<std::uint64_t>(mss, to - at);
    b.resize(n);
    for (std::uint64_t k = 0; k < n; ++k) b[k] = pattern(at + k);
    c.send_data(c.iss() + 1 + static_cast<std::uint32_t>(at), b);
    at += n;
  }
}

// Sends the stream [from, to) and waits until the stack acknowledges all of it, resending what
// is not acknowledged after a second (go-back-N from its ACK: the link does not lose, but a stack
// may drop what it cannot keep). Returns the seconds it took, or a negative value on time out.
double send_until_acked(connection& c, std::uint64_t from, std::uint64_t to, std::size_t mss, double timeout) {
  const auto start = clock_type::now();
  const std::uint32_t want = c.iss() + 1 + static_cast<std::uint32_t>(to);
  std::uint64_t resent = 0;
  send_stream(c, from, to, mss);
  while (since(start) < timeout) {
    const std::uint32_t una = c.snd_una();
    const auto until = clock_type::now() + 1s;
    while (c.snd_una() != want && !c.reset() && clock_type::now() < until) {
      if (!c.next(until - clock_type::now())) break;
    }
    if (c.snd_una() == want) {
      if (resent) std::printf("raw_peer: resent %llu times before everything was acknowledged\n", static_cast<unsigned long long>(resent));
      return since(start);
    }
    if (c.reset()) return -1;
    if (c.snd_una() == una || clock_type::now() >= until) {
      ++resent;
      send_stream(c, c.snd_una() - (c.iss() + 1), to, mss);
    }
  }
  return -1;
}

int result(const char* scenario, bool ok, const std::string& why) {
  std::printf("raw_peer: %s result %s%s%s\n", scenario, ok ? "OK" : "FAILED", why.empty() ? "" : ": ", why.c_str());
  return ok ? exit_ok : exit_misbehaved;
}

// --- ooo-flood ------------------------------------------------------------------------------
// N one-byte segments at stream offsets 1, 3, 5, ... (offset 0, the first byte, never comes),
// at most --in-flight of them ahead of what the stack has answered, so that the flood goes as
// fast as the stack takes it without overrunning the device's queue: a ping behind it then
// measures the stack, not the queue. What the stack has answered: one segment per answer (RFC
// 5681 4.2: an immediate duplicate ACK for every out-of-order segment; lwIP sends one also for
// a segment it drops), or, with SACK, everything up to the segment whose block comes first (RFC
// 2018 4: the block of the segment that triggered the ACK), whichever is more; a stack that
// stops answering gets --in-flight more every 100 ms. Then the whole stream [0, 2 x sent) in
// full segments: the stack must acknowledge all of it (and echo it, with --echo). --in-order is
// the control: the same one-byte segments at offsets 0, 1, 2, ..., what the flood costs when
// nothing waits in a queue (its cumulative ACKs say how far the stack is).
int ooo_flood(const options& o, peer_link& l, std::mt19937_64& rng) {
  const std::uint64_t n = o.count.value_or(50000);
  connection c{l, o, o.port.value_or(7), rng};
  if (!c.open()) return result("ooo-flood", false, "no connection");
  const std::uint32_t hole = c.iss() + 1;

  const auto start = clock_type::now();
  std::uint64_t sent = 0, answers = 0, processed = 0, credit = 0, refills = 0;
  std::uint64_t acks_beyond_hole = 0, max_sack_right = 0;
  std::uint32_t min_window = UINT32_MAX;
  double last_answer = 0;
  auto count = [&](const wire::received& r) {
    ++answers;
    last_answer = since(start);
    min_window = std::min(min_window, static_cast<std::uint32_t>(r.window) << c.their_shift());
    if (o.in_order) {
      processed = std::max<std::uint64_t>(processed, r.ack_number - hole);
      return;
    }
    if (r.ack_number != hole) ++acks_beyond_hole;
    for (const auto& block : r.sack) max_sack_right = std::max<std::uint64_t>(max_sack_right, block.second - hole);
    if (!r.sack.empty()) {  // the first block holds the segment that triggered this ACK
      const std::uint64_t offset = r.sack.front().first - hole;
      if (offset % 2 == 1 && offset < 2 * sent) processed = std::max(processed, offset / 2 + 1);
    }
    processed = std::max(processed, answers);
  };
  auto last_progress = clock_type::now();
  std::array<std::uint8_t, 1> byte{};
  while (sent < n && !c.reset() && since(start) < o.deadline) {
    while (sent < n && sent < processed + credit + o.in_flight) {
      const std::uint64_t offset = o.in_order ? sent : 2 * sent + 1;
      byte[0] = pattern(offset);
      c.send_data(hole + static_cast<std::uint32_t>(offset), byte, wire::ack);
      ++sent;
      if (sent % 64 == 0) break;  // read the answers now and then
    }
    const bool blocked = sent >= processed + credit + o.in_flight;
    const std::uint64_t before = answers;
    while (auto r = c.next(blocked ? 5ms : 0ms)) {
      count(*r);
      if (c.reset()) break;
    }
    if (answers != before) last_progress = clock_type::now();
    if (blocked && clock_type::now() - last_progress > 100ms) {
      credit += o.in_flight;
      ++refills;
      last_progress = clock_type::now();
    }
  }
  const double flood_seconds = since(start);
  // The answers to the last segments: until every segment is answered or 1 s passes quietly.
  auto quiet_since = clock_type::now();
  while (!c.reset() && processed < sent && clock_type::now() - quiet_since < 1s && since(start) < o.deadline + 1) {
    if (auto r = c.next(100ms)) {
      count(*r);
      quiet_since = clock_type::now();
    }
  }
  const std::uint64_t span = o.in_order ? sent : 2 * sent;
  std::printf("raw_peer: ooo-flood: sent %llu of %llu one-byte segments %s in %.2f s (%.0f/s), "
              "%llu waits for a full queue; the stack answered %llu times (%llu segments processed), the last "
              "%.2f s after the first was sent\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(n),
              o.in_order ? "in order" : "out of order", flood_seconds, flood_seconds > 0 ? static_cast<double>(sent) / flood_seconds : 0.0,
              static_cast<unsigned long long>(l.queue_full()), static_cast<unsigned long long>(answers),
              static_cast<unsigned long long>(processed), last_answer);
  std::printf("raw_peer: ooo-flood: its ACKs: %llu acknowledged past the hole (expected 0), highest SACK edge %llu "
              "(of %llu), smallest window %u; %llu credit refills (answers stopped for 100 ms)\n",
              static_cast<unsigned long long>(acks_beyond_hole), static_cast<unsigned long long>(max_sack_right),
              static_cast<unsigned long long>(span), min_window == UINT32_MAX ? 0 : min_window,
              static_cast<unsigned long long>(refills));
  if (c.reset()) {
    std::printf("raw_peer: ooo-flood result RESET: the stack reset the connection during the flood\n");
    return exit_reset;
  }
  if (acks_beyond_hole) return result("ooo-flood", false, "the stack acknowledged bytes it never received");
  // A flood the stack did not take in time is a failure, but the connection is checked anyway.
  std::string late;
  if (sent < n) {
    late = "the stack took only " + std::to_string(processed) + " of " + std::to_string(n) +
           " segments within --deadline " + std::to_string(static_cast<int>(o.deadline)) + " s";
    std::printf("raw_peer: ooo-flood: %s; filling the holes of what was sent\n", late.c_str());
  }

  auto failed = [&](const std::string& why) { return result("ooo-flood", false, late.empty() ? why : late + "; " + why); };
  // Fill every hole: the whole stream again, in order, in full segments.
  const std::size_t mss = std::min<std::size_t>(c.their_mss(), 1460);
  const double took = o.in_order ? 0.0 : send_until_acked(c, 0, span, mss, 10);
  if (c.reset()) {
    std::printf("raw_peer: ooo-flood result RESET: the stack reset the connection when the holes were filled\n");
    return exit_reset;
  }
  if (took < 0) {
    return failed("the stack did not acknowledge the filled stream within 10 s (acknowledged " +
                                          std::to_string(c.snd_una() - hole) + " of " + std::to_string(span) + " bytes)");
  }
  std::printf("raw_peer: ooo-flood: holes filled: all %llu bytes acknowledged %.3f s after the fill began\n",
              static_cast<unsigned long long>(span), took);
  if (o.echo) {
    const auto echo_start = clock_type::now();
    while (c.data().size() < span && !c.reset() && since(echo_start) < 10) c.next(100ms);
    if (c.data().size() < span) {
      return failed("echo returned " + std::to_string(c.data().size()) + " of " + std::to_string(span) + " bytes in 10 s");
    }
    for (std::uint64_t i = 0; i < span; ++i) {
      if (static_cast<std::uint8_t>(c.data()[i]) != pattern(i)) {
        return failed("echo differs from the stream at offset " + std::to_string(i));
      }
    }
    std::printf("raw_peer: ooo-flood: echo returned all %llu bytes intact in %.3f s\n", static_cast<unsigned long long>(span), since(echo_start));
  }
  if (!c.close(5)) return failed("no orderly close (FIN both ways) within 5 s");
  std::printf("raw_peer: ooo-flood: closed in order (FIN both ways)\n");
  return result("ooo-flood", late.empty(), late);
}

// --- zero-window-ack ------------------------------------------------------------------------
// An echo exchange in chunks (a few in flight), then one spoofed ACK on the connection: window
// 0, a random acknowledgment number about 2^31 away from the stack's SND.NXT, a sequence number
// 2^30 or so past ours. RFC 9293 3.10.7.4
// says to check the sequence number first (unacceptable: ACK and drop it), and to take a window
// only from a segment with SND.UNA =< SEG.ACK =< SND.NXT whose SND.WL1/WL2 are newer; RFC 5961 5
// drops an ACK outside [SND.UNA - MAX.SND.WND, SND.NXT]. So the exchange must go on: every chunk
// sent after the spoofed ACK must come back within --stall seconds.
int zero_window_ack(const options& o, peer_link& l, std::mt19937_64& rng) {
  connection c{l, o, o.port.value_or(7), rng};
  if (!c.open()) return result("zero-window-ack", false, "no connection");
  const std::size_t mss = std::min<std::size_t>(c.their_mss(), 1460);
  constexpr std::size_t depth = 8;  // chunks in flight
  struct chunk {
    std::uint64_t end;  // stream offset after its last byte
    clock_type::time_point sent;
  };
  std::deque<chunk> waiting;
  std::uint64_t offset = 0;
  struct phase_figures {
    std::uint64_t chunks = 0;
    double slowest = 0;
  };
  phase_figures before, after;
  std::size_t first_after = 0;  // index of the first chunk sent after the spoofed ACK
  std::size_t index = 0, done_index = 0;

  auto complete = [&](phase_figures& f, double rtt) {
    ++f.chunks;
    f.slowest = std::max(f.slowest, rtt);
  };
  // Runs the exchange for @p seconds, a chunk every --interval with at most `depth` waiting for
  // their echo; returns false if a chunk waited longer than --stall or the stack reset.
  auto last_chunk = clock_type::time_point{}, last_resend = clock_type::time_point{};
  auto run = [&](double seconds, bool spoofed) -> bool {
    const auto start = clock_type::now();
    for (;;) {
      const bool sending = since(start) < seconds;
      if (sending && waiting.size() < depth &&
          clock_type::now() - last_chunk >= std::chrono::duration<double>(o.interval)) {
        send_stream(c, offset, offset + o.chunk, mss);
        offset += o.chunk;
        last_chunk = clock_type::now();
        waiting.push_back({offset, last_chunk});
        ++index;
      }
      if (!sending && waiting.empty()) return true;
      c.next(1ms);
      if (c.reset()) return false;
      while (!waiting.empty() && c.data().size() >= waiting.front().end) {
        const double rtt = std::chrono::duration<double>(clock_type::now() - waiting.front().sent).count();
        complete(done_index >= first_after && spoofed ? after : before, rtt);
        waiting.pop_front();
        ++done_index;
      }
      if (!waiting.empty() && clock_type::now() - waiting.front().sent > std::chrono::duration<double>(o.stall)) {
        return false;
      }
      // Our data must be acknowledged too: resend what is not, once a second.
      if (c.snd_una() != c.iss() + 1 + static_cast<std::uint32_t>(offset) && !waiting.empty() &&
          clock_type::now() - waiting.front().sent > 1s && clock_type::now() - last_resend > 1s) {
        send_stream(c, c.snd_una() - (c.iss() + 1), offset, mss);
        last_resend = clock_type::now();
      }
    }
  };
  if (!run(o.before, false) || before.chunks == 0) {
    return result("zero-window-ack", false, "the echo exchange did not run before the spoofed ACK");
  }
  std::printf("raw_peer: zero-window-ack: before: %llu chunks of %zu bytes echoed in %.1f s, slowest %.3f s; the stack's receive window %u\n",
              static_cast<unsigned long long>(before.chunks), o.chunk, o.before, before.slowest, c.their_window());

  // The acknowledgment number: random, but at least 2^31 - 2^27 away from the stack's SND.NXT,
  // so that it is unacceptable whatever the window (the chance that a random one is acceptable
  // is only window / 2^32, but a test must not pass or fail by chance).
  const std::uint32_t far_ack = c.rcv_nxt() + 0x78000000u + static_cast<std::uint32_t>(rng() % 0x10000000u);
  wire::segment spoof = c.base(c.snd_nxt() + 0x40000000u + static_cast<std::uint32_t>(rng() % 0x10000000u), far_ack, wire::ack);
  spoof.window = 0;
  std::printf("raw_peer: zero-window-ack: spoofed ACK: seq SND.NXT+%u ack %u (the stack's SND.NXT is %u) win 0\n",
              spoof.seq - c.snd_nxt(), spoof.ack_number, c.rcv_nxt());
  l.send(wire::build(spoof));
  first_after = index;
  const auto spoofed_at = clock_type::now();
  const bool ok = run(o.after, true);
  const std::uint64_t pending = waiting.size();
  std::printf("raw_peer: zero-window-ack: after: %llu chunks echoed in %.1f s, slowest %.3f s; %llu waiting; "
              "the stack's receive window %u; %llu bytes echoed in all\n",
              static_cast<unsigned long long>(after.chunks), since(spoofed_at), after.slowest,
              static_cast<unsigned long long>(pending), c.their_window(), static_cast<unsigned long long>(c.data().size()));
  for (std::size_t i = 0; i < c.data().size(); ++i) {
    if (static_cast<std::uint8_t>(c.data()[i]) != pattern(i)) {
      return result("zero-window-ack", false, "the echo differs from the stream at offset " + std::to_string(i));
    }
  }
  if (c.reset()) return result("zero-window-ack", false, "the stack reset the connection");
  if (!ok) {
    return result("zero-window-ack", false,
                  "the connection froze: a chunk sent after the spoofed ACK was not echoed within " +
                      std::to_string(o.stall).substr(0, 4) + " s (it sent " + std::to_string(c.segments_in()) +
                      " segments in all)");
  }
  if (after.chunks == 0) return result("zero-window-ack", false, "no chunk echoed after the spoofed ACK");
  c.close(5);
  return result("zero-window-ack", true, "");
}

// --- mss1 -----------------------------------------------------------------------------------
// A SYN with MSS 1, then "GET /": the stack must answer. It may send 1-byte segments or raise the
// MSS to a floor (Linux: net.ipv4.tcp_min_snd_mss, 48 by default), but the whole response must
// come, ending with the server's FIN (Connection: close).
int mss1(options o, peer_link& l, std::mt19937_64& rng) {
  if (!o.mss) o.mss = 1;
  connection c{l, o, o.port.value_or(80), rng};
  if (!c.open()) return result("mss1", false, "no SYN-ACK to a SYN with MSS " + std::to_string(*o.mss));
  const std::string request = "GET / HTTP/1.1\r\nHost: 10.0.3.50\r\nConnection: close\r\n\r\n";
  const auto start = clock_type::now();
  c.send_data(c.iss() + 1, {reinterpret_cast<const std::uint8_t*>(request.data()), request.size()});
  std::uint64_t data_segments = 0;
  std::size_t smallest = SIZE_MAX, largest = 0;
  double first_byte = -1;
  const std::uint32_t request_end = c.iss() + 1 + static_cast<std::uint32_t>(request.size());
  auto last_send = clock_type::now();
  while (!c.fin_received() && !c.reset() && since(start) < o.timeout) {
    auto r = c.next(200ms);
    if (r && !r->payload.empty()) {
      ++data_segments;
      smallest = std::min(smallest, r->segment_size());
      largest = std::max(largest, r->segment_size());
      if (first_byte < 0) first_byte = since(start);
    }
    if (c.snd_una() != request_end && clock_type::now() - last_send > 1s) {  // resend the request
      c.send_data(c.iss() + 1, {reinterpret_cast<const std::uint8_t*>(request.data()), request.size()});
      last_send = clock_type::now();
    }
  }
  const std::string& d = c.data();
  const std::string status = d.substr(0, std::min(d.find("\r\n"), d.size()));
  std::printf("raw_peer: mss1: sent MSS %u; the stack sent %llu data packets, %zu bytes (segments of %zu..%zu bytes)%s; "
              "first byte after %s s; request acknowledged: %s; FIN: %s\n",
              *o.mss, static_cast<unsigned long long>(data_segments), d.size(), smallest == SIZE_MAX ? 0 : smallest, largest,
              c.timestamps() ? " with timestamps" : "", first_byte < 0 ? "-" : std::to_string(first_byte).substr(0, 5).c_str(),
              c.snd_una() == request_end ? "yes" : "no", c.fin_received() ? "yes" : "no");
  if (c.reset()) return result("mss1", false, "the stack reset the connection");
  if (d.empty()) return result("mss1", false, "no answer within " + std::to_string(static_cast<int>(o.timeout)) + " s");
  std::printf("raw_peer: mss1: status line: %s\n", status.c_str());
  if (!c.fin_received()) {
    return result("mss1", false, "the response did not end (no FIN) within " + std::to_string(static_cast<int>(o.timeout)) + " s");
  }
  std::printf("raw_peer: mss1: the whole response in %.3f s\n", since(start));
  c.send_data(c.snd_nxt(), {}, wire::fin | wire::ack);
  if (status.rfind("HTTP/1.", 0) != 0 || status.find(" 200 ") == std::string::npos) {
    return result("mss1", false, "not a 200 response");
  }
  return result("mss1", true, "");
}

// --- zero-window-close ----------------------------------------------------------------------
// A peer that advertises a zero window from its SYN on sends --bytes to echo and a FIN: echo
// writes everything back (it stays queued: the window is zero), sees the end of the stream and
// closes, and the closed connection is left with the data queued (LAST-ACK). With --http it
// sends "GET /" with "Connection: close" instead, and the server closes first, its response
// queued (FIN-WAIT-1). The peer answers every
// persist probe (an ACK of what it has, window 0, as RFC 9293 3.8.6.1 says a receiver must) and
// pokes the connection once a second; when the stack has let the connection go, it answers the
// poke with a RST. With --expect-freed S it fails unless that happens within S seconds of the
// close; the test checks the stack's own list as well.
int zero_window_close(options o, peer_link& l, std::mt19937_64& rng) {
  o.window = 0;
  connection c{l, o, o.port.value_or(o.http ? 80 : 7), rng};
  c.accept_data = false;  // a zero window: nothing is taken
  if (!c.open()) return result("zero-window-close", false, "no connection");
  const auto send_start = clock_type::now();
  if (o.http) {
    const std::string request = "GET / HTTP/1.1\r\nHost: 10.0.3.50\r\nConnection: close\r\n\r\n";
    const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(request.data()), request.size()};
    const std::uint32_t end = c.iss() + 1 + static_cast<std::uint32_t>(request.size());
    while (c.snd_una() != end && since(send_start) < 10) {
      c.send_data(c.iss() + 1, bytes);
      const auto until = clock_type::now() + 1s;
      while (c.snd_una() != end && c.next(until - clock_type::now())) {
      }
    }
    if (c.snd_una() != end) return result("zero-window-close", false, "the stack did not acknowledge the request");
    std::printf("raw_peer: zero-window-close: sent GET / (Connection: close), all acknowledged after %.2f s; now a zero window\n",
                since(send_start));
  } else {
    const std::size_t mss = std::min<std::size_t>(c.their_mss(), 1460);
    if (send_until_acked(c, 0, o.bytes, mss, 20) < 0) return result("zero-window-close", false, "the stack did not take the data");
    const std::uint32_t fin_seq = c.snd_nxt();
    const auto fin_start = clock_type::now();
    while (c.snd_una() != fin_seq + 1 && since(fin_start) < 10) {
      c.send_data(fin_seq, {}, wire::fin | wire::ack);
      const auto until = clock_type::now() + 1s;
      while (c.snd_una() != fin_seq + 1 && c.next(until - clock_type::now())) {
      }
    }
    if (c.snd_una() != fin_seq + 1) return result("zero-window-close", false, "the stack did not acknowledge our FIN");
    std::printf("raw_peer: zero-window-close: sent %zu bytes and a FIN, all acknowledged after %.2f s; now a zero window\n",
                o.bytes, since(send_start));
  }
  std::fflush(stdout);

  const auto start = clock_type::now();
  std::uint64_t probes = 0, pokes = 0;
  double freed = -1, last_probe = 0;
  std::string probe_times;
  auto last_poke = clock_type::now();
  while (since(start) < o.watch && freed < 0) {
    auto r = c.next(100ms);
    if (r && r->has(wire::rst)) {
      freed = since(start);
      break;
    }
    // lwIP probes with the next byte (next() has answered it: an ACK of what we have, window 0,
    // the byte not taken), Linux with an empty segment just below the window (answered here).
    const bool empty_probe = r && r->payload.empty() && !r->has(wire::fin) && r->seq == c.rcv_nxt() - 1;
    if (empty_probe) c.send_ack();
    if (r && (!r->payload.empty() || r->has(wire::fin) || empty_probe)) {
      ++probes;
      last_probe = since(start);
      if (probe_times.size() < 200) probe_times += (probe_times.empty() ? "" : " ") + std::to_string(last_probe).substr(0, 5);
    }
    if (clock_type::now() - last_poke >= 1s) {
      c.send_ack();
      ++pokes;
      last_poke = clock_type::now();
    }
  }
  std::printf("raw_peer: zero-window-close: %llu persist probes answered in %.1f s (at %s s), %llu pokes\n",
              static_cast<unsigned long long>(probes), since(start), probe_times.empty() ? "-" : probe_times.c_str(),
              static_cast<unsigned long long>(pokes));
  if (freed >= 0) {
    std::printf("raw_peer: zero-window-close: the stack let the connection go: RST %.2f s after the close\n", freed);
  } else {
    std::printf("raw_peer: zero-window-close: the connection is still there %.1f s after the close\n", since(start));
  }
  if (o.expect_freed <= 0) return result("zero-window-close", true, "(report only)");
  return result("zero-window-close", freed >= 0 && freed <= o.expect_freed,
                freed >= 0 && freed <= o.expect_freed ? "" : "the connection was not let go within --expect-freed");
}

// --- garbage-flood --------------------------------------------------------------------------
// ACK segments with valid checksums from random addresses and ports of --subnet to random ports
// of the stack: none matches a connection, so the stack answers each with a RST (RFC 9293
// 3.10.7.1) that the kernel drops. What it costs the stack to find that out is the point.
int garbage_flood(const options& o, peer_link& l, std::mt19937_64& rng) {
  const std::uint64_t n = o.count.value_or(20000);
  const std::uint32_t hosts = 1u << (32 - o.prefix);
  std::uniform_int_distribution<std::uint32_t> host(1, hosts - 2), any32;
  std::uniform_int_distribution<int> port(1024, 65535);
  auto pick_source = [&]() {
    for (;;) {
      const std::uint32_t a = o.subnet | host(rng);
      bool excluded = a == o.host;
      for (auto e : o.exclude) excluded = excluded || a == e;
      if (!excluded) return a;
    }
  };
  const auto start = clock_type::now();
  std::uint64_t sent = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    wire::segment s;
    s.source = pick_source();
    s.destination = o.host;
    s.source_port = static_cast<std::uint16_t>(port(rng));
    s.destination_port = static_cast<std::uint16_t>(port(rng));
    s.seq = any32(rng);
    s.ack_number = any32(rng);
    s.flags = wire::ack;
    s.window = 65535;
    s.ip_id = static_cast<std::uint16_t>(i);
    if (l.send(wire::build(s))) ++sent;
  }
  const double t = since(start);
  std::printf("raw_peer: garbage-flood: sent %llu of %llu ACKs matching no connection in %.3f s (%.0f/s), %llu waits for a full queue\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(n), t,
              t > 0 ? static_cast<double>(sent) / t : 0.0, static_cast<unsigned long long>(l.queue_full()));
  return sent == n ? exit_ok : exit_setup;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::mt19937_64 rng{o.seed};
  std::printf("raw_peer: %s from %s, seed %llu (repeat with --seed)\n", o.scenario.c_str(), address_text(o.source).c_str(),
              static_cast<unsigned long long>(o.seed));
  if (o.scenario == "garbage-flood") {
    peer_link l{"", o.source, o.host};
    return garbage_flood(o, l, rng);
  }
  peer_link l{o.dev, o.source, o.host};
  if (o.scenario == "ooo-flood") return ooo_flood(o, l, rng);
  if (o.scenario == "zero-window-ack") return zero_window_ack(o, l, rng);
  if (o.scenario == "mss1") return mss1(o, l, rng);
  if (o.scenario == "zero-window-close") return zero_window_close(o, l, rng);
  usage("unknown scenario");
}
