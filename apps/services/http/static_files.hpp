// SPDX-License-Identifier: BSD-3-Clause
// http/static_files.hpp - mapping a request path to a file under the --www directory, so that
// nothing outside it can be reached: percent-decoding is checked, encoded slashes and NUL bytes
// are refused, ".." segments are refused, and the final path is resolved (symlinks included)
// and must still lie inside the directory.
#ifndef TUNSTACK_SERVICES_HTTP_STATIC_FILES_HPP
#define TUNSTACK_SERVICES_HTTP_STATIC_FILES_HPP

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tunstack::http {

/// Decodes %XX escapes; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

struct file_lookup {
  /// 200 found, 400 malformed path, 403 outside the directory, 404 no such file.
  int status = 404;
  std::filesystem::path path;  ///< the resolved regular file, when found
  std::string reason;          ///< why not, for the error page
};

/// Resolves @p url_path (the request's path, still percent-encoded) under @p root, which must be
/// canonical. A directory means its index.html.
file_lookup resolve_file(const std::filesystem::path& root, std::string_view url_path);

/// The Content-Type for a file, by its extension (application/octet-stream when unknown).
std::string_view mime_type(const std::filesystem::path& p);

}  // namespace tunstack::http

#endif  // TUNSTACK_SERVICES_HTTP_STATIC_FILES_HPP
