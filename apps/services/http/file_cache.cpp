// SPDX-License-Identifier: BSD-3-Clause
// http/file_cache.cpp - see file_cache.hpp.
#include "file_cache.hpp"

namespace tunstack::http {

std::shared_ptr<const cached_file> file_cache::find(std::string_view url_path, clock::time_point now) const {
  const auto it = entries_.find(std::string(url_path));
  if (it == entries_.end() || now - it->second.read_at >= revalidate_) return nullptr;
  return it->second.file;
}

void file_cache::store(std::string_view url_path, cached_file file, clock::time_point now) {
  if (file.content.size() > max_file_ || max_entries_ == 0) return;
  if (entries_.size() >= max_entries_ && entries_.find(std::string(url_path)) == entries_.end()) entries_.clear();
  entries_.insert_or_assign(std::string(url_path), entry{std::make_shared<const cached_file>(std::move(file)), now});
}

}  // namespace tunstack::http
