// SPDX-License-Identifier: BSD-3-Clause
// http/request.cpp - the strict request-head parser (see request.hpp). The rules, from
// RFC 9112 (HTTP/1.1 message syntax) and RFC 9110 (semantics):
//  - request-line = method SP request-target SP HTTP-version, one space each (3.);
//  - a line ends in CRLF; a lone LF is accepted, a lone CR is an error (2.2);
//  - empty lines before the request line are ignored (2.2);
//  - no whitespace between a field name and its colon (5.1), no obs-fold (5.2);
//  - HTTP/1.1 needs exactly one Host (3.2); Content-Length must be digits and agree when
//    repeated, and must not come with Transfer-Encoding (6.1, 6.3: request smuggling);
//  - a major version other than 1 is 505, also for a request line HTTP/1.1 would refuse;
//  - Expect: 100-continue is noted (the server answers 100 before reading the body), any
//    other expectation is 417 (RFC 9110 10.1.1).
#include "request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tunstack::http {
namespace {

// tchar from RFC 9110 5.6.2.
bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

parse_result error(int status, std::string reason) {
  parse_result r;
  r.what = parse_result::kind::error;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

// The limit error, if any, that the bytes data[0, end) prove, where the line starting at
// @p line_start is still open (no LF before end) and is the request line if @p request_line.
//
// The server parses again after every piece that arrives and answers the first error it gets,
// so a limit error must come from the first prefix that crosses a limit, never from a later
// look at more data: otherwise the status would depend on how TCP cut the bytes. Both limits
// are monotone in the prefix length k, so the first crossing of each is a single k:
//  - 414 once the open request line has more than max_request_line bytes, not counting a last
//    CR (which may be the CR of its CRLF);
//  - 431 once k exceeds max_header_bytes (the head is not complete yet).
// The earlier crossing wins; at the same k, 414.
std::optional<parse_result> limit_error(std::string_view data, std::size_t line_start, std::size_t end,
                                        bool request_line, const limits& l) {
  std::size_t first_414 = std::string_view::npos;
  if (request_line) {
    first_414 = line_start + l.max_request_line + 1;
    if (first_414 <= end && data[first_414 - 1] == '\r') ++first_414;
    if (first_414 > end) first_414 = std::string_view::npos;
  }
  std::size_t first_431 = l.max_header_bytes + 1;
  if (first_431 > end) first_431 = std::string_view::npos;
  if (first_414 != std::string_view::npos && first_414 <= first_431) {
    return error(414, "request line longer than " + std::to_string(l.max_request_line) + " bytes");
  }
  if (first_431 != std::string_view::npos) {
    return error(431, "request head larger than " + std::to_string(l.max_header_bytes) + " bytes");
  }
  return std::nullopt;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The members of a comma-separated list field (RFC 9110 5.6.1), trimmed; empty members,
// which the list syntax allows, are left out.
std::vector<std::string_view> list_members(std::string_view value) {
  std::vector<std::string_view> members;
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (const std::string_view m = trim(value.substr(0, comma)); !m.empty()) members.push_back(m);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return members;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

bool request::keep_alive() const {
  const auto connection = header("Connection");
  // A comma-separated list of options; "close" and "keep-alive" are the ones that matter.
  auto has = [&](std::string_view option) {
    if (!connection) return false;
    const auto members = list_members(*connection);
    return std::any_of(members.begin(), members.end(), [&](std::string_view m) { return iequals(m, option); });
  };
  if (has("close")) return false;
  return minor_version >= 1 || has("keep-alive");
}

std::string_view request::path() const {
  std::string_view t = target;
  // absolute-form ("http://host/path"): the path starts after the authority
  if (const auto scheme = t.find("://"); scheme != std::string_view::npos && t.front() != '/') {
    const auto slash = t.find('/', scheme + 3);
    t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
  }
  return t.substr(0, t.find('?'));
}

parse_result parse_request(std::string_view data, const limits& l) {
  // Empty lines before the request line are ignored.
  // They count against max_header_bytes like the rest of the head, so a stream of empty lines
  // is refused (431) instead of buffered.
  std::size_t start = 0;
  while (start < data.size() && (data[start] == '\n' || (data[start] == '\r' && start + 1 < data.size() && data[start + 1] == '\n'))) {
    start += data[start] == '\r' ? 2 : 1;
  }

  // Split the head into lines, within the limits, before parsing anything.
  std::vector<std::string_view> lines;
  std::size_t pos = start;
  std::size_t head_end = 0;
  for (;;) {
    const std::size_t line_limit = lines.empty() ? l.max_request_line : l.max_header_bytes;
    const std::size_t search_end = std::min(data.size(), pos + line_limit + 2);
    const std::size_t nl = data.substr(0, search_end).find('\n', pos);
    // Before this line's LF (or without one): did a prefix already cross a limit?
    if (auto e = limit_error(data, pos, nl == std::string_view::npos ? data.size() : nl, lines.empty(), l)) {
      return std::move(*e);
    }
    if (nl == std::string_view::npos) return {};  // incomplete
    std::string_view line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return error(400, "bare CR in the request head");
    pos = nl + 1;
    if (lines.empty() && line.size() > l.max_request_line) {
      return error(414, "request line longer than " + std::to_string(l.max_request_line) + " bytes");
    }
    if (pos > l.max_header_bytes) {  // empty lines before the request line count too
      return error(431, "request head larger than " + std::to_string(l.max_header_bytes) + " bytes");
    }
    if (line.empty()) {
      head_end = pos;
      break;
    }
    lines.push_back(line);
    if (lines.size() - 1 > l.max_headers) {
      return error(431, "more than " + std::to_string(l.max_headers) + " header fields");
    }
  }

  parse_result r;
  request& req = r.req;
  r.head_size = head_end;

  // request-line = method SP request-target SP HTTP-version
  const std::string_view line = lines.front();
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return error(400, "request line is not 'METHOD TARGET HTTP/1.1'");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3). The version is judged before the
  // method and target, whose rules are HTTP/1.1's: another major version is answered 505
  // whatever the rest of its request line looks like, e.g. HTTP/2's connection preface
  // "PRI * HTTP/2.0" (RFC 9113 3.4), whose target would otherwise be invalid here.
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(version[5])) ||
      version[6] != '.' || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return error(400, "invalid HTTP version");
  }
  if (version[5] != '1') {
    return error(505, "HTTP/" + std::string(version.substr(5)) + " is not supported; this server speaks HTTP/1.1 (and 1.0)");
  }
  if (!is_token(method)) return error(400, "method is not a token");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) { return is_ctl(c) || c == ' '; })) {
    return error(400, "invalid request target");
  }
  const bool origin_form = target.front() == '/';
  const bool absolute_form = target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
  const bool asterisk_form = target == "*" && method == "OPTIONS";
  if (!origin_form && !absolute_form && !asterisk_form) return error(400, "invalid request target");
  req.method = method;
  req.target = target;
  req.minor_version = std::min(version[7] - '0', 1);  // 1.2+ is answered as 1.1

  // Header fields.
  std::optional<std::size_t> content_length;
  int hosts = 0;
  bool transfer_encoding = false;
  std::optional<std::string_view> unmet_expectation;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view field = lines[i];
    if (field.front() == ' ' || field.front() == '\t') return error(400, "obsolete line folding in a header");
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) return error(400, "header line without a colon");
    const std::string_view name = field.substr(0, colon);
    if (!is_token(name)) return error(400, "invalid header name (no space before the colon)");
    const std::string_view value = trim(field.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](char c) { return is_ctl(c) && c != '\t'; })) {
      return error(400, "control character in a header value");
    }
    if (iequals(name, "Host")) ++hosts;
    if (iequals(name, "Transfer-Encoding")) transfer_encoding = true;
    if (iequals(name, "Expect")) {
      for (const std::string_view member : list_members(value)) {
        if (iequals(member, "100-continue")) {
          req.expect_continue = true;
        } else if (!unmet_expectation) {
          unmet_expectation = member;
        }
      }
    }
    if (iequals(name, "Content-Length")) {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
        return error(400, "invalid Content-Length");
      }
      if (content_length && *content_length != n) return error(400, "conflicting Content-Length headers");
      content_length = n;
    }
    req.headers.emplace_back(std::string(name), std::string(value));
  }
  if (req.minor_version >= 1 && hosts != 1) return error(400, hosts == 0 ? "missing Host header" : "more than one Host header");
  if (transfer_encoding) {
    if (content_length) return error(400, "both Transfer-Encoding and Content-Length");
    return error(501, "Transfer-Encoding is not supported; send a Content-Length");
  }
  req.content_length = content_length.value_or(0);
  // Expect (RFC 9110 10.1.1) is HTTP/1.1's: a 1.0 request's is ignored (for 100-continue the
  // RFC says so; a 1.0 client cannot have meant another). 100-continue is the only expectation
  // defined; any other is refused with 417 rather than ignored, so the client knows.
  if (req.minor_version == 0) {
    req.expect_continue = false;
  } else if (unmet_expectation) {
    return error(417, "the expectation '" + std::string(*unmet_expectation) +
                          "' cannot be met; this server knows only 100-continue");
  }
  // A body over the limit is refused from the head alone: before the client sends the body,
  // if it waits for 100 Continue (RFC 9110 10.1.1: a final status instead of 100).
  if (req.content_length > l.max_body) {
    return error(413, "body larger than " + std::to_string(l.max_body) + " bytes");
  }
  r.what = parse_result::kind::complete;
  return r;
}

}  // namespace tunstack::http
