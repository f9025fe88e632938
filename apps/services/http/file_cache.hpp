// SPDX-License-Identifier: BSD-3-Clause
// http/file_cache.hpp - small static files kept in memory between requests. Serving a file
// from disk took ten system calls per request (resolving the path beneath the served directory
// with its symlinks, stat, open, read, close): a third of the HTTP server's CPU under wrk. A
// file found here is served without any, and is looked up again on disk once its entry is
// older than the revalidation time, so a changed, removed or re-linked file shows within it.
#ifndef TUNSTACK_SERVICES_HTTP_FILE_CACHE_HPP
#define TUNSTACK_SERVICES_HTTP_FILE_CACHE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tunstack::http {

/// A file as it was read: the resolved path, its bytes and modification time.
struct cached_file {
  std::filesystem::path path;
  std::string content;
  std::chrono::system_clock::time_point modified;
};

class file_cache {
 public:
  using clock = std::chrono::steady_clock;

  /// Keeps at most @p max_entries files of at most @p max_file bytes each; entries are trusted
  /// for @p revalidate after they were read.
  file_cache(std::size_t max_entries, std::size_t max_file, clock::duration revalidate)
      : max_entries_(max_entries), max_file_(max_file), revalidate_(revalidate) {}

  /// The file cached for @p url_path (the request's path as sent) if it was read less than the
  /// revalidation time before @p now; nullptr otherwise (look it up on disk, then store()).
  std::shared_ptr<const cached_file> find(std::string_view url_path, clock::time_point now) const;

  /// Keeps @p file for @p url_path, read at @p now; ignored if larger than max_file. When full,
  /// every entry is dropped (they come back with their next request).
  void store(std::string_view url_path, cached_file file, clock::time_point now);

  std::size_t max_file() const noexcept { return max_file_; }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::shared_ptr<const cached_file> file;
    clock::time_point read_at;
  };
  std::size_t max_entries_;
  std::size_t max_file_;
  clock::duration revalidate_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace tunstack::http

#endif  // TUNSTACK_SERVICES_HTTP_FILE_CACHE_HPP
