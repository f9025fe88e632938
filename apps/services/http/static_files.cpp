// SPDX-License-Identifier: BSD-3-Clause
// http/static_files.cpp - safe path resolution and MIME types (see static_files.hpp).
#include "static_files.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tunstack::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

file_lookup refuse(int status, std::string reason) { return {status, {}, std::move(reason)}; }

bool inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

file_lookup resolve_file(const std::filesystem::path& root, std::string_view url_path) {
  const auto decoded = percent_decode(url_path);
  if (!decoded) return refuse(400, "malformed percent-encoding in the path");
  if (decoded->find('\0') != std::string::npos) return refuse(400, "NUL byte in the path");
  if (decoded->empty() || decoded->front() != '/') return refuse(400, "the path must start with '/'");
  // An encoded slash or backslash would make a separator the path's own syntax did not show.
  for (std::string_view encoded : {"%2f", "%2F", "%5c", "%5C"}) {
    if (url_path.find(encoded) != std::string_view::npos) return refuse(400, "encoded slash in the path");
  }
  if (decoded->find('\\') != std::string::npos) return refuse(400, "backslash in the path");

  std::filesystem::path relative;
  std::string_view rest = *decoded;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment == "..") return refuse(403, "'..' in the path");
    if (!segment.empty() && segment != ".") relative /= std::string(segment);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }

  std::filesystem::path candidate = root / relative;
  std::error_code ec;
  if (std::filesystem::is_directory(candidate, ec)) candidate /= "index.html";
  const std::filesystem::path real = std::filesystem::canonical(candidate, ec);
  if (ec) return refuse(404, "no such file");
  // After symlinks are resolved the file must still be inside the directory.
  if (!inside(root, real)) return refuse(403, "the path leads outside the served directory");
  if (!std::filesystem::is_regular_file(real, ec)) return refuse(404, "not a regular file");
  return {200, real, {}};
}

std::string_view mime_type(const std::filesystem::path& p) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> types{{
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"}, {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},   {".xml", "application/xml"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".jpg", "image/jpeg"},                {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},                 {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},  {".pdf", "application/pdf"},
      {".wasm", "application/wasm"},         {".zip", "application/zip"},
      {".gz", "application/gzip"},           {".tar", "application/x-tar"},
      {".mp4", "video/mp4"},                 {".woff2", "font/woff2"},
  }};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [e, type] : types) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

}  // namespace tunstack::http
