// SPDX-License-Identifier: BSD-3-Clause
// make_corpus.cpp - writes the seed corpora of the fuzz targets, so that every seed has a known
// origin (the repository holds this program, not binary files). Usage: make_corpus OUTDIR;
// writes OUTDIR/fuzz_packets, OUTDIR/fuzz_http_request and OUTDIR/fuzz_options, one file per
// seed, named after what it is. fuzz/make-corpus builds and runs it.
#include "packet_input.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;
using namespace tunstack::testing;
using tunstack::fuzz::add_fixed;
using tunstack::fuzz::add_raw;
using tunstack::fuzz::add_segment;
using tunstack::fuzz::add_time;

const asio::ip::address peer4{asio::ip::make_address_v4("10.0.3.1")};
const asio::ip::address stack4{asio::ip::make_address_v4("10.0.3.50")};
const asio::ip::address peer6{asio::ip::make_address_v6("fd00:3::1")};
const asio::ip::address stack6{asio::ip::make_address_v6("fd00:3::50")};

void write(const fs::path& dir, const std::string& name, const bytes& b) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

bytes tcp4(const tcp_fields& f) { return build_ipv4({.protocol = 6}, build_tcp(f, peer4, stack4)); }
bytes tcp6(const tcp_fields& f) { return build_ipv6({.next_header = 6}, build_tcp(f, peer6, stack6)); }
bytes udp4(const udp_fields& f) { return build_ipv4({.protocol = 17}, build_udp(f, peer4, stack4)); }
bytes udp6(const udp_fields& f) { return build_ipv6({.next_header = 17}, build_udp(f, peer6, stack6)); }

const std::string get_request = "GET / HTTP/1.1\r\nHost: 10.0.3.50\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

void packets(const fs::path& dir) {
  using namespace tcp_flag;
  auto one = [&](const std::string& name, auto fill) {
    bytes b;
    fill(b);
    write(dir, name, b);
  };
  one("icmp4-echo", [](bytes& b) { add_raw(b, echo_request()); });
  one("icmp6-echo", [](bytes& b) {
    add_raw(b, build_ipv6({}, build_icmp6_echo({.type = 128}, peer6.to_v6(), stack6.to_v6())));
  });
  one("icmp4-fragments", [](bytes& b) {
    // An echo request of 1000 bytes of data in two fragments (offsets in 8-byte units).
    const bytes icmp = build_icmp_echo({.data = bytes(1000, std::byte{0x61})});
    const std::span<const std::byte> all(icmp);
    add_raw(b, build_ipv4({.id = 7, .flags_fragment = 0x2000}, all.first(504)));
    add_raw(b, build_ipv4({.id = 7, .flags_fragment = 504 / 8}, all.subspan(504)));
  });
  for (const std::uint16_t port : {7, 9}) {
    const std::string p = std::to_string(port);
    one("udp4-" + p, [&](bytes& b) { add_fixed(b, udp4({.dst_port = port, .payload = text("hello\n")})); });
    one("udp6-" + p, [&](bytes& b) { add_fixed(b, udp6({.dst_port = port, .payload = text("hello\n")})); });
  }
  for (const std::uint16_t port : {7, 9, 80}) {
    const std::string p = std::to_string(port);
    const tcp_fields syn_fields{.src_port = 41000, .dst_port = port, .seq = 5000, .flags = syn,
                                .options = {.mss = 1460, .window_scale = 7, .sack_permitted = true,
                                            .timestamps = std::pair{100U, 0U}}};
    one("tcp4-syn-" + p, [&](bytes& b) { add_fixed(b, tcp4(syn_fields)); });
    one("tcp6-syn-" + p, [&](bytes& b) { add_fixed(b, tcp6(syn_fields)); });
    one("tcp4-rst-" + p, [&](bytes& b) {
      add_fixed(b, tcp4({.src_port = 41001, .dst_port = port, .seq = 1, .flags = rst}));
    });
    one("tcp4-stray-ack-" + p, [&](bytes& b) {
      add_fixed(b, tcp4({.src_port = 41002, .dst_port = port, .seq = 1, .ack = 99, .flags = ack}));
    });
  }
  // On the established connections (packet_input.hpp: 0 echo v4, 1 discard v4, 2 HTTP v4,
  // 3 echo v6, 4 HTTP v6).
  one("conn0-echo-data-ack", [](bytes& b) {
    add_segment(b, 0, ack | psh, text("hello, echo\n"));
    add_time(b, 0);
    add_segment(b, 0, ack);
  });
  one("conn1-discard-data", [](bytes& b) { add_segment(b, 1, ack | psh, bytes(1460, std::byte{0x7a})); });
  one("conn2-http-get", [](bytes& b) {
    add_segment(b, 2, ack | psh, text(get_request));
    add_segment(b, 2, ack);
  });
  one("conn2-http-get-split", [](bytes& b) {
    add_segment(b, 2, ack | psh, text(get_request.substr(0, 20)));
    add_time(b, 3);
    add_segment(b, 2, ack | psh, text(get_request.substr(20)));
    add_segment(b, 2, ack);
  });
  one("conn2-http-pipelined-metrics", [](bytes& b) {
    add_segment(b, 2, ack | psh, text("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\nHEAD /stats.json HTTP/1.1\r\nHost: a\r\n\r\n"));
    add_segment(b, 2, ack);
    add_segment(b, 2, ack | fin);
  });
  one("conn4-http6-get-close", [](bytes& b) {
    add_segment(b, 4, ack | psh, text("GET /stats.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    add_segment(b, 4, ack);
    add_time(b, 4);
    add_segment(b, 4, ack);
  });
  one("conn3-echo6-fin", [](bytes& b) {
    add_segment(b, 3, ack | psh, text("bye"));
    add_segment(b, 3, ack | fin);
    add_segment(b, 3, ack);
    add_time(b, 40);
  });
  one("conn0-out-of-order", [](bytes& b) {
    add_segment(b, 0, ack | psh, text("world"), 5);
    add_segment(b, 0, ack | psh, text("hello"));
  });
  one("conn0-sack-blocks", [](bytes& b) {
    add_segment(b, 0, ack | psh, text("abc"));
    // NOP NOP SACK(5): one block, left and right edge relative to nothing in particular.
    add_segment(b, 0, ack, {}, 0, 0, 65535, to_bytes({1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2}));
  });
  one("conn1-zero-window-probe", [](bytes& b) {
    add_segment(b, 1, ack, {}, 0, 0, 0);
    add_time(b, 20);
    add_time(b, 35);
  });
  one("conn0-rst", [](bytes& b) { add_segment(b, 0, rst | ack); });
  one("conn2-rst-in-window", [](bytes& b) { add_segment(b, 2, rst, {}, 100); });
  one("conn0-syn-in-established", [](bytes& b) { add_segment(b, 0, syn); });
  one("time-only", [](bytes& b) {
    add_time(b, 10);
    add_time(b, 63);
  });
}

void http_requests(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"get", get_request},
      {"head", "HEAD /stats.json HTTP/1.1\r\nHost: 10.0.3.50\r\n\r\n"},
      {"http10", "GET /metrics HTTP/1.0\r\n\r\n"},
      {"http10-keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"},
      {"pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"lf-only", "GET / HTTP/1.1\nHost: a\n\n"},
      {"leading-empty-lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"absolute-form", "GET http://10.0.3.50/x?y=1 HTTP/1.1\r\nHost: 10.0.3.50\r\n\r\n"},
      {"options-asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"post-body", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
      {"content-length-twice", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
      {"transfer-encoding", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"te-and-cl", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"},
      {"bare-cr", "GET / HTTP/1.1\rHost: a\r\n\r\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"},
      {"space-before-colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"},
      {"no-host", "GET / HTTP/1.1\r\n\r\n"},
      {"two-hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
      {"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"http19", "GET / HTTP/1.9\r\nHost: a\r\n\r\n"},
      {"ctl-in-value", std::string("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n")},
      {"nul-in-target", std::string("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"sv)},
      {"percent-dots", "GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"long-line", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"},
      {"many-headers", [] {
         std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
         for (int i = 0; i < 70; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
         return s + "\r\n";
       }()},
      {"incomplete", "GET / HTTP/1.1\r\nHost: a\r\n"},
  };
  unsigned n = 0;
  for (const auto& [name, r] : requests) {
    bytes b = to_bytes({n * 37 % 256, n * 91 % 256});  // split seed, small-limits selector
    b.insert(b.end(), reinterpret_cast<const std::byte*>(r.data()), reinterpret_cast<const std::byte*>(r.data() + r.size()));
    write(dir, name, b);
    ++n;
  }
  // The first finding (see http_test.cpp, "does not depend on how the request was split"):
  // small limits 26/16 (selector 0x12), a request line longer than both.
  bytes b = to_bytes({0x2e, 0x12});
  const std::string r = "GET /" + std::string(30, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  b.insert(b.end(), reinterpret_cast<const std::byte*>(r.data()), reinterpret_cast<const std::byte*>(r.data() + r.size()));
  write(dir, "regression-limit-split", b);
}

void command_lines(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> lines = {
      {"none", {}},
      {"help", {"--help"}},
      {"version", {"--version"}},
      {"dev-addr", {"--dev", "tun7", "--addr", "10.0.3.50/24", "--host-addr", "none"}},
      {"ipv6", {"--addr6", "fd00:3::50/64", "--host-addr6", "fd00:3::1/64", "--mtu", "9000"}},
      {"no-ipv6-small-mtu", {"--addr6", "none", "--host-addr6", "none", "--mtu", "576"}},
      {"services", {"--echo", "7007", "--no-discard", "--http", "8080", "--stats-interval", "2.5"}},
      {"http-limits", {"--http-max-request-line", "100", "--http-max-header-bytes", "200", "--http-max-headers", "3",
                       "--http-max-body", "0", "--http-header-timeout", "0.5", "--http-idle-timeout", "1",
                       "--http-max-connections", "2"}},
      {"verbose-pcap", {"-vv", "--pcap", "/tmp/fuzz.pcap", "--trace", "tcp"}},
      {"bad-addr", {"--addr", "10.0.3.256/24"}},
      {"network-addr", {"--addr", "10.0.3.0/24"}},
      {"same-addrs", {"--addr", "10.0.3.1/24", "--host-addr", "10.0.3.1/24"}},
      {"ipv6-zone", {"--addr6", "fe80::1%eth0/64"}},
      {"unknown", {"--frobnicate", "x", "positional"}},
  };
  for (const auto& [name, args] : lines) {
    bytes b;
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (i) b.push_back(std::byte{0});
      b.insert(b.end(), reinterpret_cast<const std::byte*>(args[i].data()),
               reinterpret_cast<const std::byte*>(args[i].data() + args[i].size()));
    }
    write(dir, name, b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUTDIR\n");
    return 2;
  }
  try {
    const fs::path out = argv[1];
    for (const char* target : {"fuzz_packets", "fuzz_http_request", "fuzz_options"}) fs::create_directories(out / target);
    packets(out / "fuzz_packets");
    http_requests(out / "fuzz_http_request");
    command_lines(out / "fuzz_options");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
