// SPDX-License-Identifier: BSD-3-Clause
// http/request.hpp - a small, strict HTTP/1.1 request-head parser (RFC 9112) for tunstack's
// HTTP server. It takes the bytes received so far and says: need more, here is a request, or
// this is malformed or refused (with the status to answer: 400, 413, 414, 417, 431, 501,
// 505). Limits on the request line, the header block and the header count are checked before
// anything is parsed, so a hostile client cannot make it buffer or scan without bound.
#ifndef TUNSTACK_SERVICES_HTTP_REQUEST_HPP
#define TUNSTACK_SERVICES_HTTP_REQUEST_HPP

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tunstack::http {

/// How much of a request the server accepts.
struct limits {
  std::size_t max_request_line = 8 * 1024;  ///< longer: 414 URI Too Long
  std::size_t max_header_bytes = 16 * 1024; ///< the whole head; larger: 431
  std::size_t max_headers = 64;             ///< more header fields: 431
  std::size_t max_body = 1024 * 1024;       ///< larger Content-Length: 413
};

struct request {
  std::string method;
  std::string target;  ///< as sent, e.g. "/stats.json?x=1"
  int minor_version = 1;  ///< HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  ///< names as sent, values trimmed
  std::size_t content_length = 0;
  /// "Expect: 100-continue" in an HTTP/1.1 request: the client may wait for "100 Continue"
  /// before it sends the body (RFC 9110 10.1.1). Always false for HTTP/1.0.
  bool expect_continue = false;

  /// The first header named @p name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  /// HTTP/1.1 keeps the connection unless "Connection: close"; 1.0 closes unless "keep-alive".
  bool keep_alive() const;
  /// The path part of the target (before '?'), not decoded.
  std::string_view path() const;
};

/// The outcome of parsing what has arrived so far.
struct parse_result {
  enum class kind { incomplete, complete, error } what = kind::incomplete;
  request req;               ///< when complete
  std::size_t head_size = 0; ///< bytes of the head (up to and with the empty line), when complete
  int status = 0;            ///< when error: the status to answer
  std::string reason;        ///< when error: what was wrong, for the body and the log
};

/// Parses the request head at the start of @p data (bytes after it, a body or the next
/// pipelined request, are left alone).
parse_result parse_request(std::string_view data, const limits& l);

/// Case-insensitive ASCII comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

}  // namespace tunstack::http

#endif  // TUNSTACK_SERVICES_HTTP_REQUEST_HPP
