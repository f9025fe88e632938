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

namespace {

constexpr std::string_view month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::string_view long_day_names[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday"};

// Reads an HTTP-date from left to right; every step fails (returns false or -1) on anything
// but exactly what the grammar allows. HTTP-date is case-sensitive (RFC 9110 5.6.7).
class date_reader {
 public:
  explicit date_reader(std::string_view s) : s_(s) {}

  bool literal(std::string_view text) {
    if (s_.substr(i_, text.size()) != text) return false;
    i_ += text.size();
    return true;
  }
  // Exactly @p n digits.
  int digits(std::size_t n) {
    if (i_ + n > s_.size()) return -1;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = s_[i_ + k];
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    return v;
  }
  // One of @p names; its index, or -1.
  template <std::size_t N>
  int one_of(const std::string_view (&names)[N]) {
    for (std::size_t k = 0; k < N; ++k) {
      if (literal(names[k])) return static_cast<int>(k);
    }
    return -1;
  }
  // time-of-day = hour ":" minute ":" second, into @p tm.
  bool time_of_day(std::tm& tm) {
    tm.tm_hour = digits(2);
    if (!literal(":")) return false;
    tm.tm_min = digits(2);
    if (!literal(":")) return false;
    tm.tm_sec = digits(2);
    return tm.tm_hour >= 0 && tm.tm_min >= 0 && tm.tm_sec >= 0;
  }
  bool at_end() const { return i_ == s_.size(); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

bool leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// The calendar date and the time exist (31 Nov does not; second 60 is a leap second), and the
// year is one system_clock's nanoseconds hold (1678..2262), rounded inwards.
bool valid(const std::tm& tm, int year) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1900 || year > 2199 || tm.tm_mon < 0 || tm.tm_mon > 11) return false;
  const int last = days[tm.tm_mon] + (tm.tm_mon == 1 && leap_year(year) ? 1 : 0);
  return tm.tm_mday >= 1 && tm.tm_mday <= last && tm.tm_hour <= 23 && tm.tm_min <= 59 && tm.tm_sec <= 60;
}

std::chrono::system_clock::time_point to_time_point(std::tm tm, int year) {
  tm.tm_year = year - 1900;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// IMF-fixdate = day-name "," SP day SP month SP year SP time-of-day SP "GMT"
//   e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::chrono::system_clock::time_point> imf_fixdate(std::string_view s) {
  date_reader r{s};
  std::tm tm{};
  if (r.one_of(day_names) < 0 || !r.literal(", ")) return std::nullopt;
  tm.tm_mday = r.digits(2);
  if (!r.literal(" ")) return std::nullopt;
  tm.tm_mon = r.one_of(month_names);
  if (!r.literal(" ")) return std::nullopt;
  const int year = r.digits(4);
  if (!r.literal(" ") || !r.time_of_day(tm) || !r.literal(" GMT") || !r.at_end() || !valid(tm, year)) return std::nullopt;
  return to_time_point(tm, year);
}

// rfc850-date = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT"
//   e.g. "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<std::chrono::system_clock::time_point> rfc850_date(std::string_view s,
                                                                 std::chrono::system_clock::time_point now) {
  date_reader r{s};
  std::tm tm{};
  if (r.one_of(long_day_names) < 0 || !r.literal(", ")) return std::nullopt;
  tm.tm_mday = r.digits(2);
  if (!r.literal("-")) return std::nullopt;
  tm.tm_mon = r.one_of(month_names);
  if (!r.literal("-")) return std::nullopt;
  const int yy = r.digits(2);
  if (yy < 0 || !r.literal(" ") || !r.time_of_day(tm) || !r.literal(" GMT") || !r.at_end()) return std::nullopt;
  // RFC 9110 5.6.7: a two-digit year that would put the date more than 50 years in the future
  // is the most recent year in the past with those digits. So the year is the one with these
  // last two digits in the hundred years up to 50 years from now.
  const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  std::tm now_tm{};
  gmtime_r(&now_t, &now_tm);
  const int this_year = now_tm.tm_year + 1900;
  int year = this_year - this_year % 100 + yy;
  if (year > this_year + 50) year -= 100;
  if (year <= this_year - 50) year += 100;
  if (!valid(tm, year)) return std::nullopt;
  auto t = to_time_point(tm, year);
  if (t > now + std::chrono::years(50)) {  // this year + 50, later in the year than today
    year -= 100;
    if (!valid(tm, year)) return std::nullopt;  // 29 Feb of a year that has none
    t = to_time_point(tm, year);
  }
  return t;
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
//   e.g. "Sun Nov  6 08:49:37 1994"
std::optional<std::chrono::system_clock::time_point> asctime_date(std::string_view s) {
  date_reader r{s};
  std::tm tm{};
  if (r.one_of(day_names) < 0 || !r.literal(" ")) return std::nullopt;
  tm.tm_mon = r.one_of(month_names);
  if (!r.literal(" ")) return std::nullopt;
  tm.tm_mday = r.literal(" ") ? r.digits(1) : r.digits(2);
  if (!r.literal(" ") || !r.time_of_day(tm) || !r.literal(" ")) return std::nullopt;
  const int year = r.digits(4);
  if (!r.at_end() || !valid(tm, year)) return std::nullopt;
  return to_time_point(tm, year);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s,
                                                                     std::chrono::system_clock::time_point now) {
  // The day name is not checked against the date: it says nothing the date does not, and
  // recipients commonly ignore it. A leap second (:60) falls on the next minute's first.
  if (auto t = imf_fixdate(s)) return t;
  if (auto t = rfc850_date(s, now)) return t;
  return asctime_date(s);
}

bool not_modified(const request& req, std::chrono::system_clock::time_point modified,
                  std::chrono::system_clock::time_point now) {
  if (const auto none_match = req.header("If-None-Match")) return *none_match == "*";
  std::optional<std::string_view> since;
  for (const auto& [name, value] : req.headers) {
    if (!iequals(name, "If-Modified-Since")) continue;
    if (since) return false;  // more than one member
    since = value;
  }
  if (!since) return false;
  const auto t = parse_http_date(*since, now);
  return t && modified <= *t;
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
