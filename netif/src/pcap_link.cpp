// SPDX-License-Identifier: BSD-3-Clause
// pcap_link.cpp - capture_link (see pcap_link.hpp): libpcap writes the file (a "dead" pcap_t
// that only describes the format, and a dumper on it); we hand it each packet the wrapped
// link carried, flush, and keep the file to complete records when a write fails.
#include "tunstack/netif/pcap_link.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdio_ext.h>  // __fpurge
#include <sys/stat.h>   // stat, fstat: reopen()
#include <unistd.h>     // ftruncate, fileno

namespace tunstack::netif {

struct capture_link::file {
  pcap_t* pcap = nullptr;
  pcap_dumper_t* dumper = nullptr;
  std::int64_t good_end = -1;  // file offset after the last complete record; -1: not seekable

  file() = default;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file() {
    if (dumper != nullptr) pcap_dump_close(dumper);  // flushes and closes the FILE
    if (pcap != nullptr) pcap_close(pcap);
  }
};

namespace {

// A system_error whose what() is a whole sentence for a person (the errno is in code()).
class open_error : public std::system_error {
 public:
  open_error(int err, std::string message)
      : std::system_error(std::error_code(err, std::generic_category())), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

[[noreturn]] void throw_open_error(const std::filesystem::path& path, int err, const char* pcap_message) {
  const std::string file = path.string();
  const std::string dir = path.has_parent_path() ? path.parent_path().string() : std::string(".");
  const std::string head = "cannot write the pcap file " + file + ": ";
  switch (err) {
    case ENOENT:
      throw open_error(err, head + "the directory " + dir + " does not exist. Create it (mkdir -p " + dir +
                                ") or choose another path");
    case ENOTDIR:
      throw open_error(err, head + "a part of " + dir + " is not a directory. Choose another path");
    case EACCES:
    case EPERM:
      throw open_error(err, head + "permission denied. Choose a directory you may write to (e.g. /tmp), or "
                                   "check the permissions of " + dir + " and of the file (ls -ld " + dir + ")");
    case EROFS:
      throw open_error(err, head + "the file system is read-only. Choose a path on a writable one (e.g. /tmp)");
    case EISDIR:
      throw open_error(err, head + "it is a directory. Give a file name, e.g. " + (path / "capture.pcap").string());
    case ENOSPC:
    case EDQUOT:
      throw open_error(err, head + std::strerror(err) + ". Free some space, or choose another file system");
    default:
      throw open_error(err, head + std::strerror(err) +
                                (pcap_message != nullptr ? std::string(" (libpcap: ") + pcap_message + ")" : ""));
  }
}

std::chrono::nanoseconds realtime_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

std::unique_ptr<capture_link::file> capture_link::open_file(const std::filesystem::path& path) {
  auto f = std::make_unique<file>();
  f->pcap = pcap_open_dead_with_tstamp_precision(DLT_RAW, static_cast<int>(snap_length),
                                                 PCAP_TSTAMP_PRECISION_NANO);
  if (f->pcap == nullptr) throw_open_error(path, ENOMEM, nullptr);
  // pcap_dump_open takes "-" for standard output; the path means a file of that name.
  const std::filesystem::path target = path == "-" ? std::filesystem::path("./-") : path;
  errno = 0;
  f->dumper = pcap_dump_open(f->pcap, target.c_str());
  if (f->dumper == nullptr) throw_open_error(path, errno != 0 ? errno : EIO, pcap_geterr(f->pcap));
  // The header goes out now: an empty capture is already a readable file, and a file system
  // that cannot take even that is an error at start rather than a surprise later.
  errno = 0;
  if (pcap_dump_flush(f->dumper) != 0) throw_open_error(path, errno != 0 ? errno : EIO, nullptr);
  f->good_end = pcap_dump_ftell64(f->dumper);
  return f;
}

capture_link::capture_link(link& inner, capture_options options)
    : inner_(inner), options_(std::move(options)), file_(open_file(options_.path)), gather_(snap_length) {
  if (!options_.clock) options_.clock = realtime_now;
}

capture_link::reopen_result capture_link::reopen() {
  struct stat named {}, open {};
  const std::filesystem::path target = options_.path == "-" ? std::filesystem::path("./-") : options_.path;
  if (::stat(target.c_str(), &named) == 0 && ::fstat(fileno(pcap_dump_file(file_->dumper)), &open) == 0 &&
      named.st_dev == open.st_dev && named.st_ino == open.st_ino) {
    return reopen_result::same_file;
  }
  file_ = open_file(options_.path);  // the old file is closed (flushed) only once this worked
  error_reported_ = false;              // a new file: report its first failure too
  return reopen_result::new_file;
}

capture_link::~capture_link() = default;

const std::filesystem::path& capture_link::path() const noexcept { return options_.path; }

namespace {

// The first @p size bytes of @p buffers as one contiguous run: in place when the first buffer
// holds them (no copy), else gathered into @p scratch (cut to its size).
template <class Buffer>
const std::byte* contiguous(std::span<const Buffer> buffers, std::size_t size, std::vector<std::byte>& scratch) {
  const std::size_t wanted = std::min(size, scratch.size());
  if (!buffers.empty() && buffers.front().size() >= wanted) {
    return static_cast<const std::byte*>(buffers.front().data());
  }
  asio::buffer_copy(asio::buffer(scratch), buffers, wanted);
  return scratch.data();
}

}  // namespace

std::size_t capture_link::receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept {
  const std::size_t n = inner_.receive(buffers, ec);
  if (!ec) record(contiguous(buffers, n, gather_), n);
  return n;
}

void capture_link::send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
  inner_.send(buffers, ec);
  if (ec) return;
  const std::size_t size = asio::buffer_size(buffers);
  record(contiguous(buffers, size, gather_), size);
}

std::size_t capture_link::receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                            std::error_code& ec) noexcept {
  const std::size_t n = inner_.receive_offloaded(buffers, offload, ec);
  if (!ec) record(contiguous(buffers, n, gather_), n);
  return n;
}

void capture_link::send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                                  std::error_code& ec) noexcept {
  inner_.send_offloaded(buffers, offload, ec);
  if (ec) return;
  const std::size_t size = asio::buffer_size(buffers);
  record(contiguous(buffers, size, gather_), size);
}

void capture_link::record(const std::byte* bytes, std::size_t size) noexcept {
  const std::chrono::nanoseconds t = std::max(options_.clock(), std::chrono::nanoseconds{0});
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(t.count() / 1'000'000'000);
  // A file opened with nanosecond precision takes nanoseconds in tv_usec (pcap_dump writes
  // the field as it is; the file's magic tells readers the unit).
  header.ts.tv_usec = static_cast<suseconds_t>(t.count() % 1'000'000'000);
  header.caplen = static_cast<bpf_u_int32>(std::min(size, snap_length));
  header.len = static_cast<bpf_u_int32>(size);
  pcap_dump(reinterpret_cast<u_char*>(file_->dumper), &header, reinterpret_cast<const u_char*>(bytes));
  errno = 0;
  if (pcap_dump_flush(file_->dumper) == 0) {
    ++packets_;
    if (file_->good_end >= 0) file_->good_end = pcap_dump_ftell64(file_->dumper);
    return;
  }
  const int err = errno != 0 ? errno : EIO;
  ++write_errors_;

  // Part of the record may be in the file and the rest in stdio's buffer. Drop the buffer and
  // cut the file back to its last complete record, so readers never meet half a record and a
  // later write (once there is space again) continues a well-formed file.
  FILE* f = pcap_dump_file(file_->dumper);
  __fpurge(f);
  clearerr(f);
  if (file_->good_end >= 0 && fseeko(f, static_cast<off_t>(file_->good_end), SEEK_SET) == 0) {
    [[maybe_unused]] const int cut = ftruncate(fileno(f), static_cast<off_t>(file_->good_end));
  }

  if (!error_reported_ && options_.on_write_error) {
    error_reported_ = true;
    const std::error_code ec(err, std::generic_category());
    options_.on_write_error(ec, "cannot write to the pcap file " + options_.path.string() + ": " + ec.message() +
                                    "; packets still flow, but those that cannot be written are missing from "
                                    "the capture (counted in pcap_write_errors)");
  }
}

std::vector<link_counter> capture_link::counters() const {
  std::vector<link_counter> c = inner_.counters();
  c.push_back({"pcap_packets", packets_});
  c.push_back({"pcap_write_errors", write_errors_});
  return c;
}

}  // namespace tunstack::netif
