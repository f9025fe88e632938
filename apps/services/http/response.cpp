// SPDX-License-Identifier: BSD-3-Clause
// http/response.cpp - response heads and HTTP dates (see response.hpp).
#include "response.hpp"

#include "tunstack/version.hpp"

#include <ctime>

namespace tunstack::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string http_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_mday = number(5, 2);
  tm.tm_year = number(12, 4) - 1900;
  tm.tm_hour = number(17, 2);
  tm.tm_min = number(20, 2);
  tm.tm_sec = number(23, 2);
  tm.tm_mon = -1;
  for (int m = 0; m < 12; ++m) {
    if (s.substr(8, 3) == months[m]) tm.tm_mon = m;
  }
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
      tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60 || tm.tm_mon < 0) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string serialize(const response_head& head, std::chrono::system_clock::time_point now) {
  std::string s = "HTTP/1.1 " + std::to_string(head.status) + " " + std::string(reason_phrase(head.status)) + "\r\n";
  s += "Date: " + http_date(now) + "\r\n";
  s += std::string("Server: tunstack/") + tunstack::version() + "\r\n";
  if (!head.content_type.empty()) s += "Content-Type: " + head.content_type + "\r\n";
  // 304 carries no body and no Content-Length of its own (RFC 9110 15.4.5).
  if (head.status != 304 && head.status != 204) s += "Content-Length: " + std::to_string(head.content_length) + "\r\n";
  for (const auto& [name, value] : head.extra) s += name + ": " + value + "\r\n";
  if (head.close) s += "Connection: close\r\n";
  s += "\r\n";
  return s;
}

std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string error_page(int status, std::string_view detail) {
  const std::string title = std::to_string(status) + " " + std::string(reason_phrase(status));
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title + "</title></head><body><h1>" +
         title + "</h1><p>" + html_escape(detail) + "</p><hr><p>tunstack</p></body></html>\n";
}

}  // namespace tunstack::http
