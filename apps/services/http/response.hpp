// SPDX-License-Identifier: BSD-3-Clause
// http/response.hpp - writing HTTP/1.1 response heads: status lines with their reason phrases,
// the Date, Server, Content-Type, Content-Length and Connection headers, and HTTP dates
// (RFC 9110 5.6.7): IMF-fixdate written, all three formats read, for Last-Modified and
// If-Modified-Since.
#ifndef TUNSTACK_SERVICES_HTTP_RESPONSE_HPP
#define TUNSTACK_SERVICES_HTTP_RESPONSE_HPP

#include "request.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tunstack::http {

/// "OK", "Not Found", ... for the statuses the server uses ("Unknown" otherwise).
std::string_view reason_phrase(int status);

/// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point t);
/// Parses an HTTP-date in any of the three formats a recipient must accept (RFC 9110 5.6.7):
/// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 format
/// ("Sunday, 06-Nov-94 08:49:37 GMT", its two-digit year placed no more than 50 years after
/// @p now) and asctime's ("Sun Nov  6 08:49:37 1994"). nullopt for anything else, including
/// dates that do not exist (31 Nov) and years outside 1900..2199.
std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view s, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Whether a GET or HEAD of a resource last modified at @p modified may be answered 304 Not
/// Modified (RFC 9110 13.2.2). If-None-Match, when present, decides alone and If-Modified-Since
/// is ignored (13.1.3); the server sends no entity tags, so only "*" (any current
/// representation) matches. If-Modified-Since counts only as a single valid HTTP-date (see
/// parse_http_date); anything else, e.g. garbage or two such fields, is ignored (13.1.3).
bool not_modified(const request& req, std::chrono::system_clock::time_point modified,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct response_head {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::size_t content_length = 0;
  bool close = false;  ///< "Connection: close", and the server closes after the response
  std::vector<std::pair<std::string, std::string>> extra;  ///< further headers, in order
};

/// The status line and headers, ending with the empty line. Adds Date and Server.
std::string serialize(const response_head& head, std::chrono::system_clock::time_point now);

/// A small HTML page for an error status, naming what was wrong.
std::string error_page(int status, std::string_view detail);

/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string html_escape(std::string_view s);

}  // namespace tunstack::http

#endif  // TUNSTACK_SERVICES_HTTP_RESPONSE_HPP
