// SPDX-License-Identifier: BSD-3-Clause
// pcap_link.hpp - tunstack::netif::capture_link, a link decorator that writes every packet
// the stack receives and sends to a pcap file (libpcap's format, LINKTYPE_RAW: bare IPv4 and
// IPv6 packets, nanosecond timestamps), flushed per packet so that tcpdump or Wireshark can
// read it while the stack runs. Everything else passes through to the link it wraps.
#ifndef TUNSTACK_NETIF_PCAP_LINK_HPP
#define TUNSTACK_NETIF_PCAP_LINK_HPP

#include "tunstack/netif/link.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace tunstack::netif {

/// Settings of a capture_link.
struct capture_options {
  /// The pcap file to write. An existing file is replaced; its directory must exist. A path
  /// is always a file name ("-" is a file called "-", not standard output).
  std::filesystem::path path;

  /// The time stamped on each packet: nanoseconds since the Unix epoch. Called once per
  /// captured packet, on the stack's thread. Default (empty): the system's real-time clock
  /// (CLOCK_REALTIME). A simulation passes its virtual clock here. Must not throw.
  std::function<std::chrono::nanoseconds()> clock;

  /// Called once, on the stack's thread, the first time a packet cannot be written (e.g. the
  /// disk is full), with the reason and a sentence for a person. Packets keep flowing either
  /// way; every packet not written is counted in "pcap_write_errors". Must not throw (it runs
  /// inside the link's noexcept receive/send). Default: none.
  std::function<void(std::error_code, std::string_view message)> on_write_error;
};

/// A link that records, in a pcap file, every packet that goes through the link it wraps.
///
/// What is captured is what the stack sees: each packet @p inner received successfully
/// (towards the stack, including packets the stack then drops as malformed) and each packet
/// @p inner accepted in send() (from the stack). Packets the inner link refused (a full queue)
/// or discarded (larger than the buffers) are not in the file. Put the capture directly around
/// the link the stack reads, outside any other decorator (such as an impairment), so that the
/// file shows the packets after those decorators did their work. Packets longer than 65535
/// bytes are cut to that length (the record keeps the original length).
///
/// Over a link that offloads to the kernel (a tun_device with offloads, see
/// tun_options::offload) the capture passes everything through, offload metadata included, so
/// the link works exactly as without it; the file then shows the packets as the stack and the
/// kernel exchange them, as `tcpdump -i tun0` on the kernel's side does: TCP super-packets of
/// up to 64 KiB as one record each, and TCP checksums that the kernel finishes (partial) or
/// vouched for left as they were, so readers that verify checksums (`tcpdump -vv`) call them
/// wrong. For a record per packet as a wire would carry it, turn the device's offloads off.
///
/// The file is a classic pcap file (not pcapng) with the nanosecond magic 0xa1b23c4d and
/// link type 101 (LINKTYPE_RAW). Each record is flushed to the file before the packet goes
/// on, so readers see complete records while the stack runs: `tcpdump -r FILE -nn`,
/// `tshark -r FILE`, or Wireshark. If a record cannot be written (disk full, file size
/// limit), the file is cut back to its last complete record, the packet is counted in
/// "pcap_write_errors", options.on_write_error is told (the first time only), and the packet
/// still goes through; later packets are written again as soon as that works.
///
/// counters() gives those of @p inner followed by "pcap_packets" (records written) and
/// "pcap_write_errors".
///
/// Thread safety: like every link, use it only on the stack's thread (constructing it before
/// the stack runs is fine). @p inner must outlive it. Not copyable or movable.
///
/// @code
/// asio::io_context io;
/// tunstack::tun_device tun{io, {.name = "tun0"}};
/// tunstack::netif::capture_link capture{tun, {.path = "tun0.pcap"}};
/// tunstack::stack st{io};
/// st.add_interface(capture, {.ipv4 = asio::ip::make_network_v4("10.0.3.50/24")});
/// io.run();  // meanwhile: tcpdump -r tun0.pcap -nn
/// @endcode
class capture_link final : public link {
 public:
  /// The length at which packets are cut in the file (the file header's snaplen).
  static constexpr std::size_t snap_length = 65535;

  /// Opens (creates or truncates) options.path and writes the pcap file header.
  /// @throws std::system_error with the errno of the failure and a message that names the
  /// file and says what to do (e.g. the directory does not exist, permission denied).
  capture_link(link& inner, capture_options options);
  /// Flushes and closes the file.
  ~capture_link() override;

  /// The file being written.
  const std::filesystem::path& path() const noexcept;

  /// What reopen() did.
  enum class reopen_result {
    same_file,  ///< path() still names the file being written: nothing changed
    new_file,   ///< path() named another file or none: a new file was started there
  };
  /// For log rotation (a program's SIGHUP): if path() no longer names the file being written
  /// (it was moved or deleted), creates a new file at path(), with its own pcap header, and
  /// writes every later packet there; the old file is closed, complete. packets() keeps
  /// counting over both.
  /// @throws std::system_error as the constructor does if the new file cannot be created; the
  /// capture then goes on in the old file.
  reopen_result reopen();
  /// Packets written to the file so far.
  std::uint64_t packets() const noexcept { return packets_; }
  /// Packets that could not be written to the file.
  std::uint64_t write_errors() const noexcept { return write_errors_; }

  std::string name() const override { return inner_.name(); }
  std::size_t mtu() const noexcept override { return inner_.mtu(); }
  /// The inner link's: a capture changes nothing about what the link carries.
  std::size_t max_packet_size() const noexcept override { return inner_.max_packet_size(); }
  /// The inner link's.
  send_offloads send_offload_support() const noexcept override { return inner_.send_offload_support(); }
  std::size_t receive(std::span<const asio::mutable_buffer> buffers,
                      std::error_code& ec) noexcept override;
  void send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept override;
  /// The inner link's, with its metadata; the packet is recorded as it is (a super-packet
  /// whole).
  std::size_t receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                std::error_code& ec) noexcept override;
  /// The inner link's, with the metadata; recorded as sent (a super-packet whole).
  void send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                      std::error_code& ec) noexcept override;
  void async_wait_readable(std::function<void(std::error_code)> handler) override {
    inner_.async_wait_readable(std::move(handler));
  }
  void cancel() noexcept override { inner_.cancel(); }
  std::vector<link_counter> counters() const override;

 private:
  struct file;  // libpcap's handles (pcap_link.cpp); no libpcap type in this header

  // Creates (or truncates) @p path and writes the pcap file header to it.
  static std::unique_ptr<file> open_file(const std::filesystem::path& path);

  // Writes one record of @p size bytes (of which the first min(size, snap_length) are in
  // @p bytes) and flushes it; on failure counts and reports it.
  void record(const std::byte* bytes, std::size_t size) noexcept;

  link& inner_;
  capture_options options_;
  std::unique_ptr<file> file_;
  std::vector<std::byte> gather_;  // snap_length bytes: one packet made contiguous
  std::uint64_t packets_ = 0;
  std::uint64_t write_errors_ = 0;
  bool error_reported_ = false;
};

}  // namespace tunstack::netif

#endif  // TUNSTACK_NETIF_PCAP_LINK_HPP
