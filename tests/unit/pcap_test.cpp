// SPDX-License-Identifier: BSD-3-Clause
// pcap_test.cpp - netif::capture_link: a real stack on an in-memory link wrapped in a capture;
// the test plays ICMP echo and a TCP handshake, then reads the file back with libpcap and
// checks the format (nanosecond magic, LINKTYPE_RAW), every record byte for byte with the
// timestamps the fake clock gave, the counters, open errors, a write that fails, and a
// capture over a link that offloads (super-packets through whole, and recorded so).
#include "tunstack/netif/pcap_link.hpp"

#include "packet.hpp"
#include "tcp_peer.hpp"
#include "test_stack.hpp"

#include "tunstack/netif/memory_link.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"

#include <asio/io_context.hpp>
#include <doctest/doctest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

using namespace tunstack::testing;
using namespace std::chrono_literals;
using tunstack::netif::capture_link;

namespace {

namespace fs = std::filesystem;

// A directory of its own for each test, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string templ = (fs::temp_directory_path() / "tunstack-pcap-test.XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path = templ;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

// A clock the test controls: each call returns the next value and moves on by one step, so
// that every record's timestamp is known and distinct, with nanoseconds that a microsecond
// file could not hold.
struct fake_clock {
  std::chrono::nanoseconds next{1'700'000'000'123'456'789};
  std::chrono::nanoseconds step{1'001};
  std::vector<std::chrono::nanoseconds> given;
  std::chrono::nanoseconds operator()() {
    given.push_back(next);
    next += step;
    return given.back();
  }
};

// The test_stack layout with a capture between the wire and the stack: wire, capture, stack,
// declared in that order so that each outlives what uses it.
struct captured_stack {
  asio::io_context io;
  tunstack::netif::memory_link wire;
  fake_clock clock;
  capture_link capture;
  leak_check leaks;
  tunstack::stack st;

  explicit captured_stack(const fs::path& file, tunstack::netif::capture_options options = {})
      : wire(io.get_executor()),
        capture(wire, with_defaults(file, std::move(options), clock)),
        st(io, test_stack::with_leak_check(test_stack::manual_clock(), leaks)) {
    st.add_interface(capture, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
  }

  static tunstack::netif::capture_options with_defaults(const fs::path& file, tunstack::netif::capture_options o,
                                                        fake_clock& clock) {
    o.path = file;
    if (!o.clock) o.clock = [&clock] { return clock(); };
    return o;
  }

  void run() {
    io.restart();
    io.poll();
  }

  // Injects @p packet and returns what the stack sent in answer (the first packet).
  std::optional<bytes> exchange(const bytes& packet) {
    wire.inject(packet);
    run();
    return wire.take();
  }

  std::uint64_t device_counter(const std::string& name) {
    const auto stats = st.stats();  // kept: a range-for over a temporary's member would dangle
    std::string names;
    for (const auto& c : stats.interfaces.at(0).device) {
      if (c.name == name) return c.value;
      names += c.name + " ";
    }
    FAIL("no device counter " << name << " among: " << names);
    return 0;
  }
};

struct record {
  std::chrono::nanoseconds time;
  std::uint32_t original_length;
  bytes data;
};

// Reads every record of @p file with libpcap, asking for nanosecond timestamps. Fails the test
// if the file does not open, is not LINKTYPE_RAW, or ends in anything but a clean end of file.
std::vector<record> read_capture(const fs::path& file) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, error);
  REQUIRE_MESSAGE(p != nullptr, error);
  CHECK(pcap_datalink(p) == DLT_RAW);
  CHECK(pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO);
  std::vector<record> records;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int status = 0;
  while ((status = pcap_next_ex(p, &header, &data)) == 1) {
    const auto* first = reinterpret_cast<const std::byte*>(data);
    records.push_back({std::chrono::seconds(header->ts.tv_sec) + std::chrono::nanoseconds(header->ts.tv_usec),
                       header->len, bytes(first, first + header->caplen)});
  }
  const std::string why = status == -1 ? pcap_geterr(p) : "";
  CHECK_MESSAGE(status == PCAP_ERROR_BREAK, "reading stopped with " << status << ": " << why);  // -2: end of file
  pcap_close(p);
  return records;
}

// The file header's own fields (24 bytes, written in the writer's byte order).
struct file_header {
  std::uint32_t magic = 0, snaplen = 0, linktype = 0;
};
file_header read_file_header(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char raw[24] = {};
  REQUIRE(in.read(raw, sizeof raw));
  file_header h;
  std::memcpy(&h.magic, raw, 4);
  std::memcpy(&h.snaplen, raw + 16, 4);
  std::memcpy(&h.linktype, raw + 20, 4);
  return h;
}

}  // namespace

TEST_CASE("pcap: every packet in and out is in the file, byte for byte, in order, with its nanosecond time") {
  temp_dir dir;
  const fs::path file = dir.path / "capture.pcap";
  std::vector<bytes> expected;  // what crossed the wire, in order
  std::vector<std::chrono::nanoseconds> times;
  {
    captured_stack t{file};
    tunstack::tcp::acceptor acceptor{t.st, {tunstack::tcp::v4(), 7}};
    t.run();

    // Before any packet: a readable file with only the header.
    CHECK(read_capture(file).empty());

    // ICMP echo: request in, reply out.
    const bytes request = echo_request({.id = 0x77, .sequence = 1});
    const auto reply = t.exchange(request);
    REQUIRE(reply.has_value());
    expected.push_back(request);
    expected.push_back(*reply);

    // TCP: SYN in, SYN-ACK out.
    const auto kernel = asio::ip::make_address("10.0.3.1");
    const auto stack = asio::ip::make_address("10.0.3.50");
    const bytes syn = build_ipv4({.protocol = 6},
                                 build_tcp({.src_port = 40000, .dst_port = 7, .seq = 1000, .flags = tcp_flag::syn,
                                            .options = {.mss = 1460}},
                                           kernel, stack));
    const auto synack = t.exchange(syn);
    REQUIRE(synack.has_value());
    const ipv4_view v{*synack};
    REQUIRE(v.valid());
    REQUIRE(tcp_view{v.payload()}.flags() == (tcp_flag::syn | tcp_flag::ack));
    expected.push_back(syn);
    expected.push_back(*synack);
    CHECK(t.wire.pending_sent() == 0);

    // One timestamp per packet, taken when it crossed the link.
    times = t.clock.given;
    REQUIRE(times.size() == expected.size());

    // Read while the link is open: each record was flushed as its packet went through.
    const auto live = read_capture(file);
    REQUIRE(live.size() == expected.size());
    for (std::size_t i = 0; i < live.size(); ++i) {
      CAPTURE(i);
      CHECK_MESSAGE(live[i].data == expected[i], "got:\n" << hex(live[i].data) << "\nexpected:\n" << hex(expected[i]));
      CHECK(live[i].original_length == expected[i].size());
      CHECK(live[i].time == times[i]);
    }

    // The counters reach the stack's statistics; the capture passes the wire's name on.
    CHECK(t.device_counter("pcap_packets") == 4);
    CHECK(t.device_counter("pcap_write_errors") == 0);
    CHECK(t.capture.packets() == 4);
    CHECK(t.st.stats().interfaces.at(0).name == "mem0");
    CHECK(t.capture.path() == file);
  }

  // After the link is gone the file is the same, and its header is the nanosecond,
  // LINKTYPE_RAW kind that tcpdump, tshark and Wireshark read.
  const file_header h = read_file_header(file);
  CHECK(h.magic == 0xa1b23c4d);
  CHECK(h.linktype == 101);
  CHECK(h.snaplen == 65535);
  const auto after = read_capture(file);
  REQUIRE(after.size() == expected.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    CHECK(after[i].data == expected[i]);
    CHECK(after[i].time == times[i]);
  }
}

TEST_CASE("pcap: packets the inner link refused or discarded are not captured") {
  temp_dir dir;
  const fs::path file = dir.path / "refused.pcap";
  captured_stack t{file};
  t.wire.fail_sends_with(asio::error::would_block);  // the device's queue is full
  const bytes request = echo_request();
  CHECK_FALSE(t.exchange(request).has_value());
  t.wire.fail_sends_with({});
  bytes oversize(1600, std::byte{0x45});  // beyond the MTU: discarded by the link
  t.wire.inject(oversize);
  t.run();
  CHECK(t.st.stats().interfaces.at(0).link.rx_dropped_oversize == 1);
  const auto records = read_capture(file);
  REQUIRE(records.size() == 1);  // only the request the stack received
  CHECK(records[0].data == request);
  CHECK(t.device_counter("pcap_packets") == 1);
}

TEST_CASE("pcap: the default clock stamps packets with the real time") {
  temp_dir dir;
  const fs::path file = dir.path / "realtime.pcap";
  asio::io_context io;
  tunstack::netif::memory_link wire{io.get_executor()};
  const auto before = std::chrono::system_clock::now().time_since_epoch();
  {
    capture_link capture{wire, {.path = file}};
    std::error_code ec;
    const bytes packet = echo_request();
    const asio::const_buffer b = asio::buffer(packet);
    capture.send(std::span(&b, 1), ec);
    REQUIRE_FALSE(ec);
  }
  const auto after = std::chrono::system_clock::now().time_since_epoch();
  const auto records = read_capture(file);
  REQUIRE(records.size() == 1);
  CHECK(records[0].time >= before);
  CHECK(records[0].time <= after);
}

TEST_CASE("pcap: a file that cannot be created is an error that names it and says why") {
  temp_dir dir;
  asio::io_context io;
  tunstack::netif::memory_link wire{io.get_executor()};

  SUBCASE("the directory does not exist") {
    const fs::path file = dir.path / "no-such-dir" / "x.pcap";
    try {
      capture_link capture{wire, {.path = file}};
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::no_such_file_or_directory);
      const std::string what = e.what();
      CHECK(what.find(file.string()) != std::string::npos);
      CHECK(what.find("does not exist") != std::string::npos);
      CHECK(what.find("mkdir -p " + (dir.path / "no-such-dir").string()) != std::string::npos);
    }
  }
  SUBCASE("the path is a directory") {
    try {
      capture_link capture{wire, {.path = dir.path}};
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::is_a_directory);
      CHECK(std::string(e.what()).find("is a directory") != std::string::npos);
    }
  }
}

namespace {

// Limits the size of files this process writes (as a full disk would), and ignores the
// SIGXFSZ that exceeding it raises; restores both when it goes.
struct file_size_limit {
  rlimit old{};
  void (*old_handler)(int) = nullptr;
  explicit file_size_limit(rlim_t bytes) {
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = old;
    limited.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~file_size_limit() {
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;
};

}  // namespace

TEST_CASE("pcap: a write that fails is counted and reported once, packets still flow, the file stays whole") {
  temp_dir dir;
  const fs::path file = dir.path / "full.pcap";
  std::vector<std::string> reports;
  std::vector<std::error_code> codes;
  captured_stack t{file, {.on_write_error = [&](std::error_code ec, std::string_view message) {
                           codes.push_back(ec);
                           reports.emplace_back(message);
                         }}};
  const bytes request = echo_request();  // 84 bytes; its reply has the same size
  std::optional<bytes> reply1, reply2;
  {
    // Room for the file header, the first record and 10 bytes: the reply's record cannot fit
    // (part of it is written before the limit stops it), nor can anything after it.
    const file_size_limit limit{24 + 16 + request.size() + 10};
    reply1 = t.exchange(request);
    reply2 = t.exchange(request);
  }
  REQUIRE(reply1.has_value());  // the stack answered although the capture could not record it
  REQUIRE(reply2.has_value());
  CHECK(t.device_counter("pcap_packets") == 1);
  CHECK(t.device_counter("pcap_write_errors") == 3);
  REQUIRE(reports.size() == 1);
  CHECK(codes.at(0) == std::errc::file_too_large);
  CHECK(reports[0].find(file.string()) != std::string::npos);
  CHECK(reports[0].find("pcap_write_errors") != std::string::npos);

  // The half-written record was cut off: the file holds only complete records, and writing
  // resumes once there is room again.
  CHECK(fs::file_size(file) == 24 + 16 + request.size());
  const auto reply3 = t.exchange(request);
  REQUIRE(reply3.has_value());
  const auto records = read_capture(file);
  REQUIRE(records.size() == 3);
  CHECK(records[0].data == request);
  CHECK(records[1].data == request);
  CHECK(records[2].data == *reply3);
  CHECK(t.device_counter("pcap_packets") == 3);
  CHECK(t.device_counter("pcap_write_errors") == 3);
  CHECK(reports.size() == 1);
}

TEST_CASE("pcap: a path of \"-\" is a file of that name, not standard output as libpcap would take it") {
  temp_dir dir;
  struct in_directory {  // runs the block in dir, and goes back even if it fails
    fs::path previous = fs::current_path();
    explicit in_directory(const fs::path& d) { fs::current_path(d); }
    ~in_directory() { fs::current_path(previous); }
  };
  {
    const in_directory here{dir.path};
    asio::io_context io;
    tunstack::netif::memory_link wire{io.get_executor()};
    capture_link capture{wire, {.path = "-"}};
    wire.inject(echo_request());
    std::array<std::byte, 1500> buffer;
    const asio::mutable_buffer b = asio::buffer(buffer);
    std::error_code ec;
    CHECK(capture.receive(std::span(&b, 1), ec) == echo_request().size());
    CHECK_FALSE(ec);
  }
  const auto records = read_capture(dir.path / "-");
  REQUIRE(records.size() == 1);
  CHECK(records[0].data == echo_request());
}

TEST_CASE("pcap: reopen() starts a new, whole file when the old one was moved away (log rotation)") {
  temp_dir dir;
  const fs::path file = dir.path / "rotated.pcap";
  captured_stack t{file};
  const bytes first = echo_request({.sequence = 1});
  REQUIRE(t.exchange(first).has_value());  // request and reply: two records

  // Not moved: nothing to reopen, the same file goes on.
  CHECK(t.capture.reopen() == capture_link::reopen_result::same_file);
  REQUIRE(t.exchange(echo_request({.sequence = 2})).has_value());
  CHECK(read_capture(file).size() == 4);

  // Moved (as logrotate does): a new file at the path, with a header of its own, gets what
  // follows; the old one keeps what it had, complete.
  fs::rename(file, dir.path / "rotated.pcap.1");
  CHECK(t.capture.reopen() == capture_link::reopen_result::new_file);
  const bytes third = echo_request({.sequence = 3});
  REQUIRE(t.exchange(third).has_value());
  CHECK(read_capture(dir.path / "rotated.pcap.1").size() == 4);
  const auto records = read_capture(file);
  REQUIRE(records.size() == 2);
  CHECK(records[0].data == third);
  CHECK(read_file_header(file).magic == 0xa1b23c4d);
  CHECK(t.capture.packets() == 6);

  // Deleted, and the directory with it: the new file cannot be made; the error names it and
  // the capture goes on in the open (deleted) file.
  fs::remove(file);
  fs::remove(dir.path / "rotated.pcap.1");
  const fs::path gone = dir.path;
  fs::remove(gone);
  CHECK_THROWS_WITH_AS(t.capture.reopen(), doctest::Contains("cannot write the pcap file"), std::system_error);
  REQUIRE(t.exchange(echo_request({.sequence = 4})).has_value());
  CHECK(t.capture.packets() == 8);
  CHECK(t.capture.write_errors() == 0);
  fs::create_directory(gone);  // for temp_dir's clean-up
}

TEST_CASE("pcap: over an offloading link, super-packets pass through whole both ways and are recorded as they are") {
  temp_dir dir;
  const fs::path file = dir.path / "offload.pcap";
  test_stack t{"10.0.3.50/24", test_stack::manual_clock(), true,
               [&](tunstack::netif::memory_link& wire, tunstack::netif::link_clock&) {
                 return std::make_unique<capture_link>(wire, tunstack::netif::capture_options{.path = file});
               }};
  // The stack is told what the wire offloads, as if the capture were not there.
  CHECK(t.decorator->max_packet_size() == 65535);
  CHECK(t.decorator->send_offload_support().super_packets);
  CHECK(t.decorator->send_offload_support().partial_checksums);
  accepted_connection c{t};
  auto pattern = [](std::size_t n, unsigned seed) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i * 131 + seed) % 251);
    return b;
  };

  // In: one super-packet of 20,000 data bytes with the kernel's unfinished checksum, which lwIP
  // takes as one segment.
  const bytes data = pattern(20000, 1);
  const bytes super = c.peer.super_packet(data, 0x1234);
  const auto segments_before = t.st.stats().tcp.recv;
  t.wire.inject(super, {.checksum_trusted = true, .segment_size = 1460});
  t.run();
  c.peer.snd_nxt += static_cast<std::uint32_t>(data.size());
  CHECK(t.st.stats().tcp.recv == segments_before + 1);
  CHECK(t.link_stats().link.rx_dropped_oversize == 0);
  std::vector<char> got(data.size());
  std::size_t total = 0;
  while (total < got.size()) {
    std::optional<std::size_t> n;
    c.socket->async_read_some(asio::buffer(got.data() + total, got.size() - total),
                              [&](std::error_code ec, std::size_t k) {
                                REQUIRE_FALSE(ec);
                                n = k;
                              });
    t.run();
    REQUIRE(n.has_value());
    total += *n;
  }
  CHECK(std::memcmp(got.data(), data.data(), data.size()) == 0);

  // Out: 60,000 bytes leave as super-packets with partial checksums, as the stack made them.
  const bytes out = pattern(60000, 2);
  std::size_t written = 0;
  std::function<void()> write_more = [&] {
    c.socket->async_write_some(asio::buffer(out.data() + written, out.size() - written),
                               [&](std::error_code ec, std::size_t n) {
                                 REQUIRE_FALSE(ec);
                                 written += n;
                                 if (written < out.size()) write_more();
                               });
  };
  write_more();
  std::vector<tunstack::netif::memory_link::sent_packet> sent;  // as the wire got them
  std::size_t super_packets = 0, data_bytes = 0;
  for (int round = 0; round < 200 && data_bytes < out.size(); ++round) {
    t.run();
    while (auto p = t.wire.take_offloaded()) {
      const ipv4_view ip{p->bytes};
      REQUIRE(ip.valid());
      const tcp_view tcp{ip.payload()};
      if (p->offload.segment_size != 0) ++super_packets;
      data_bytes += tcp.payload().size();
      c.peer.rcv_nxt = std::max(c.peer.rcv_nxt, tcp.seq() + static_cast<std::uint32_t>(tcp.payload().size()));
      sent.push_back(std::move(*p));
    }
    c.peer.ack();
  }
  REQUIRE(data_bytes == out.size());
  CHECK(super_packets > 0);

  // The file: the super-packet in as one record, byte for byte, and every packet out exactly
  // as the wire got it (super-packets whole, checksums unfinished).
  const auto records = read_capture(file);
  CHECK(std::count_if(records.begin(), records.end(), [&](const record& r) { return r.data == super; }) == 1);
  std::vector<bytes> recorded_out;
  for (const auto& r : records) {
    if (ipv4_view{r.data}.valid() && ipv4_view{r.data}.src() == asio::ip::make_address_v4("10.0.3.50")) {
      recorded_out.push_back(r.data);
    }
  }
  REQUIRE(recorded_out.size() >= sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CAPTURE(i);
    CHECK(recorded_out[recorded_out.size() - sent.size() + i] == sent[i].bytes);
  }
  CHECK(std::any_of(sent.begin(), sent.end(), [](const auto& p) { return p.bytes.size() > 1500; }));
  c.socket->close();
  t.run();
}
