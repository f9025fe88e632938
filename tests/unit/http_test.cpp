// SPDX-License-Identifier: BSD-3-Clause
// http_test.cpp - the HTTP server's pure parts: the strict request parser on good, odd and
// malformed requests (each malformed one gets its 4xx/5xx, other HTTP versions 505, Expect
// 100-continue or 417), response heads, HTTP dates in their three formats and conditional
// GETs, the --www path resolution that must never leave the served directory, and the
// small-file cache that must let a changed file show within its revalidation time.
#include "http/file_cache.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/static_files.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace tunstack::http;
namespace fs = std::filesystem;

namespace {

parse_result parse(std::string_view s, limits l = {}) { return parse_request(s, l); }

request complete(std::string_view s) {
  const auto r = parse(s);
  REQUIRE_MESSAGE(r.what == parse_result::kind::complete, r.reason);
  return r.req;
}

int error_status(std::string_view s, limits l = {}) {
  const auto r = parse(s, l);
  REQUIRE(r.what == parse_result::kind::error);
  CHECK_FALSE(r.reason.empty());
  return r.status;
}

}  // namespace

TEST_CASE("http parser: a plain GET") {
  const std::string raw = "GET /stats.json?x=1 HTTP/1.1\r\nHost: 10.0.3.50\r\nUser-Agent: curl/7.88\r\n\r\n";
  const auto r = parse(raw);
  REQUIRE(r.what == parse_result::kind::complete);
  CHECK(r.head_size == raw.size());
  CHECK(r.req.method == "GET");
  CHECK(r.req.target == "/stats.json?x=1");
  CHECK(r.req.path() == "/stats.json");
  CHECK(r.req.minor_version == 1);
  CHECK(r.req.header("host") == std::optional<std::string_view>{"10.0.3.50"});
  CHECK(r.req.header("USER-AGENT") == std::optional<std::string_view>{"curl/7.88"});
  CHECK(r.req.keep_alive());
  CHECK(r.req.content_length == 0);
}

TEST_CASE("http parser: incomplete input asks for more at every cut") {
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (std::size_t cut = 0; cut < raw.size(); ++cut) {
    CAPTURE(cut);
    CHECK(parse(raw.substr(0, cut)).what == parse_result::kind::incomplete);
  }
}

TEST_CASE("http parser: pipelined requests are taken one at a time") {
  const std::string two = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  const auto first = parse(two);
  REQUIRE(first.what == parse_result::kind::complete);
  CHECK(first.req.target == "/a");
  const auto second = parse(std::string_view(two).substr(first.head_size));
  REQUIRE(second.what == parse_result::kind::complete);
  CHECK(second.req.target == "/b");
}

TEST_CASE("http parser: odd but valid requests") {
  SUBCASE("bare LF line endings") { CHECK(complete("GET / HTTP/1.1\nHost: a\n\n").target == "/"); }
  SUBCASE("empty lines before the request line") { CHECK(complete("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").method == "GET"); }
  SUBCASE("HTTP/1.0 without Host, closing by default") {
    const auto r = complete("GET / HTTP/1.0\r\n\r\n");
    CHECK(r.minor_version == 0);
    CHECK_FALSE(r.keep_alive());
  }
  SUBCASE("HTTP/1.0 with keep-alive") { CHECK(complete("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive()); }
  SUBCASE("Connection: close among other options") {
    CHECK_FALSE(complete("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n").keep_alive());
  }
  SUBCASE("absolute-form target") {
    CHECK(complete("GET http://10.0.3.50/metrics HTTP/1.1\r\nHost: 10.0.3.50\r\n\r\n").path() == "/metrics");
  }
  SUBCASE("HTTP/1.2 is answered as 1.1") { CHECK(complete("GET / HTTP/1.2\r\nHost: a\r\n\r\n").minor_version == 1); }
  SUBCASE("values are trimmed and keep inner spaces") {
    CHECK(complete("GET / HTTP/1.1\r\nHost: a\r\nX-A:   one two \t\r\n\r\n").header("x-a") == std::optional<std::string_view>{"one two"});
  }
  SUBCASE("a Content-Length body is counted, not parsed") {
    const auto r = parse("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
    REQUIRE(r.what == parse_result::kind::complete);
    CHECK(r.req.content_length == 5);
    CHECK(r.head_size == std::string_view("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").size());
  }
  SUBCASE("repeated equal Content-Length") {
    CHECK(complete("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").content_length == 3);
  }
}

TEST_CASE("http parser: malformed requests get the right error status") {
  CHECK(error_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);            // two spaces
  CHECK(error_status("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);            // method not a token
  CHECK(error_status("GET relative HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.1\r\n\r\n") == 400);                        // no Host
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400);            // space before colon
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.1\rHost: a\r\n\r\n") == 400);               // bare CR
  CHECK(error_status("GET / HTTP/x.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n") == 400);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") == 501);
  CHECK(error_status(std::string("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29)) == 400);
}

TEST_CASE("http parser: another major version is 505, whatever the rest of the request line") {
  // HTTP/2's connection preface (RFC 9113 3.4), as curl --http2-prior-knowledge sends it.
  const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\x12\x04\0", 5);
  const auto r = parse(preface);
  REQUIRE(r.what == parse_result::kind::error);
  CHECK(r.status == 505);
  CHECK(r.reason.find("HTTP/2.0") != std::string::npos);
  for (std::size_t cut = 0; cut < 18; ++cut) {  // up to the empty line: more is needed
    CAPTURE(cut);
    CHECK(parse(preface.substr(0, cut)).what == parse_result::kind::incomplete);
  }
  CHECK(error_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(error_status("GET / HTTP/3.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(error_status("GET / HTTP/0.9\r\n\r\n") == 505);
  CHECK(error_status("BR(W coffee HTTP/2.0\r\n\r\n") == 505);  // neither method nor target is HTTP/1.1's
  // Not an HTTP-version at all (RFC 9112 2.3: "HTTP/" DIGIT "." DIGIT, case-sensitive): 400.
  CHECK(error_status("GET / HTTP/2\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/10.0\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET / HTTP/1.x\r\nHost: a\r\n\r\n") == 400);
  CHECK(error_status("GET /\r\n\r\n") == 400);  // HTTP/0.9's request line has no version
  // A later 1.x is answered as 1.1; 1.0 as 1.0.
  CHECK(complete("GET / HTTP/1.9\r\nHost: a\r\n\r\n").minor_version == 1);
  CHECK(complete("GET / HTTP/1.0\r\n\r\n").minor_version == 0);
}

TEST_CASE("http parser: Expect: 100-continue is noted, other expectations are 417") {
  const auto r = complete("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  CHECK(r.expect_continue);
  CHECK(r.content_length == 5);
  CHECK(complete("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").expect_continue);  // case-insensitive
  CHECK(complete("GET / HTTP/1.1\r\nHost: a\r\nExpect: ,100-continue,\r\n\r\n").expect_continue);  // empty list members
  CHECK_FALSE(complete("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n").expect_continue);
  // HTTP/1.0 has no Expect: ignored, whatever it says (RFC 9110 10.1.1 for 100-continue).
  CHECK_FALSE(complete("POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n").expect_continue);
  CHECK(complete("POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\n").method == "POST");
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\n") == 417);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue, x=1\r\n\r\n") == 417);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nExpect: 200-ok\r\n\r\n") == 417);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-continue=1\r\n\r\n") == 417);
  // A body over the limit is refused from the head: 413 before the client sends it.
  const limits l{.max_body = 10};
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n", l) == 413);
  CHECK(reason_phrase(100) == "Continue");
  CHECK(reason_phrase(417) == "Expectation Failed");
}

TEST_CASE("http parser: limits are enforced before the request is complete") {
  const limits l{.max_request_line = 64, .max_header_bytes = 256, .max_headers = 3, .max_body = 10};
  CHECK(error_status("GET /" + std::string(100, 'a'), l) == 414);  // no line end yet, already too long
  CHECK(error_status("GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", l) == 414);
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'b'), l) == 431);
  CHECK(error_status("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l) == 431);
  CHECK(error_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", l) == 413);
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", l).what == parse_result::kind::complete);
}

TEST_CASE("http response: the head carries status line Date Server type length and close") {
  const auto t = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  response_head h{.status = 404, .content_type = "text/html; charset=utf-8", .content_length = 12, .close = true};
  CHECK(serialize(h, t) ==
        "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: tunstack/0.1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\n");
  response_head not_modified{.status = 304, .content_type = ""};
  CHECK(serialize(not_modified, t).find("Content-Length") == std::string::npos);
}

TEST_CASE("http dates: IMF-fixdate written, and all three RFC 9110 formats read") {
  const auto t = std::chrono::system_clock::from_time_t(784111777);
  CHECK(http_date(t) == "Sun, 06 Nov 1994 08:49:37 GMT");
  // The three examples of RFC 9110 5.6.7, all the same instant.
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == std::optional{t});   // IMF-fixdate
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == std::optional{t});  // obsolete RFC 850
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == std::optional{t});        // asctime
  CHECK(parse_http_date(http_date(t)) == std::optional{t});
  const auto t16 = std::chrono::system_clock::from_time_t(784975777);  // 16 Nov 1994
  CHECK(parse_http_date("Wed Nov 16 08:49:37 1994") == std::optional{t16});
  CHECK(parse_http_date("Sun Nov 06 08:49:37 1994") == std::optional{t});  // 2DIGIT is allowed too
  CHECK(parse_http_date("Thu, 29 Feb 1996 12:00:00 GMT") == std::optional{std::chrono::system_clock::from_time_t(825595200)});
  // A leap second is the first second of the next minute.
  CHECK(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == std::optional{std::chrono::system_clock::from_time_t(1483228800)});
}

TEST_CASE("http dates: anything but the three formats, or a date that does not exist, is invalid") {
  for (const char* bad : {
           "", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 GMT ",
           " Sun, 06 Nov 1994 08:49:37 GMT", "sun, 06 nov 1994 08:49:37 gmt",  // case-sensitive
           "Sun, 6 Nov 1994 08:49:37 GMT",                                     // IMF: two-digit day
           "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06-Nov-1994 08:49:37 GMT",
           "Sunday, 06 Nov 1994 08:49:37 GMT",                                 // IMF with a long day name
           "Sun, 06-Nov-94 08:49:37 GMT",                                      // RFC 850 with a short one
           "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 6-Nov-94 08:49:37 GMT",
           "Sun Nov 6 08:49:37 1994",                                          // asctime: one space, one digit
           "Sun Nov  6 08:49:37 94", "Sun Nov  6 08:49:37 1994 GMT", "Sun Nov   6 08:49:37 1994",
           "Son, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Noe 1994 08:49:37 GMT",
           "Sun, 36 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
           "Sun, 29 Feb 1995 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
           "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:3x GMT",
           "Sun, 06 Nov 1899 08:49:37 GMT", "Sun, 06 Nov 9999 08:49:37 GMT",  // outside system_clock's range
           "1994-11-06T08:49:37Z", "784111777", "yesterday"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_http_date(bad).has_value());
  }
}

TEST_CASE("http dates: an RFC 850 two-digit year is at most 50 years after now") {
  const auto now = std::chrono::system_clock::from_time_t(1748736000);  // 1 Jun 2025
  using std::chrono::system_clock;
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now) == std::optional{system_clock::from_time_t(784111777)});
  CHECK(parse_http_date("Wednesday, 06-Nov-30 08:49:37 GMT", now) == std::optional{system_clock::from_time_t(1920185377)});
  // 1 Jan 2075 is less than 50 years ahead; 1 Dec 2075 more, so it is 1975.
  CHECK(parse_http_date("Tuesday, 01-Jan-75 00:00:00 GMT", now) == std::optional{system_clock::from_time_t(3313526400)});
  CHECK(parse_http_date("Monday, 01-Dec-75 00:00:00 GMT", now) == std::optional{system_clock::from_time_t(186624000)});
  // Later, the same digits mean a later century (2094 is less than 50 years after 2090).
  const auto later = system_clock::from_time_t(1748736000) + std::chrono::years(65);
  const auto t2094 = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", later);
  REQUIRE(t2094.has_value());
  CHECK(*t2094 - system_clock::from_time_t(784111777) > std::chrono::years(99));
}

TEST_CASE("http conditional GET: If-Modified-Since in any format, ignored when invalid, repeated or after If-None-Match") {
  const auto modified = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  auto with = [](std::string fields) { return complete("GET /f HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n"); };
  CHECK_FALSE(not_modified(with(""), modified));
  CHECK(not_modified(with("If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), modified));
  CHECK(not_modified(with("If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT\r\n"), modified));
  CHECK(not_modified(with("If-Modified-Since: Sun Nov  6 08:49:37 1994\r\n"), modified));
  CHECK(not_modified(with("if-modified-since: Mon, 07 Nov 1994 00:00:00 GMT\r\n"), modified));  // later: not modified
  CHECK_FALSE(not_modified(with("If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"), modified));  // a second before
  // Invalid dates are ignored (RFC 9110 13.1.3): the file is sent, not a 304.
  CHECK_FALSE(not_modified(with("If-Modified-Since: garbage\r\n"), modified));
  CHECK_FALSE(not_modified(with("If-Modified-Since: Sun, 31 Nov 1994 08:49:37 GMT\r\n"), modified));
  CHECK_FALSE(not_modified(with("If-Modified-Since: Mon, 07 Nov 1994 00:00:00 GMT\r\n"
                                "If-Modified-Since: Mon, 07 Nov 1994 00:00:00 GMT\r\n"), modified));
  // If-None-Match decides alone: no tag of ours can match, "*" matches any current file.
  CHECK_FALSE(not_modified(with("If-None-Match: \"abc\"\r\nIf-Modified-Since: Mon, 07 Nov 1994 00:00:00 GMT\r\n"), modified));
  CHECK(not_modified(with("If-None-Match: *\r\n"), modified));
}

TEST_CASE("http pages: error pages and escaping") {
  CHECK(html_escape("<a href=\"x\">&'</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  const std::string page = error_page(404, "no <such> file");
  CHECK(page.find("404 Not Found") != std::string::npos);
  CHECK(page.find("no &lt;such&gt; file") != std::string::npos);
}

TEST_CASE("www: paths resolve inside the directory and nowhere else") {
  const fs::path base = fs::temp_directory_path() / ("tunstack-www-test-" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "site" / "docs");
  fs::create_directories(base / "secret");
  std::ofstream(base / "site" / "index.html") << "home";
  std::ofstream(base / "site" / "docs" / "a b.txt") << "spaced";
  std::ofstream(base / "secret" / "key") << "private";
  fs::create_symlink(base / "secret" / "key", base / "site" / "escape");
  fs::create_symlink(base / "site" / "docs" / "a b.txt", base / "site" / "inside-link");
  const fs::path root = fs::canonical(base / "site");

  CHECK(resolve_file(root, "/").status == 200);
  CHECK(resolve_file(root, "/").path == root / "index.html");
  CHECK(resolve_file(root, "/docs/a%20b.txt").path == root / "docs" / "a b.txt");
  CHECK(resolve_file(root, "/inside-link").status == 200);           // a symlink that stays inside
  CHECK(resolve_file(root, "/missing").status == 404);
  CHECK(resolve_file(root, "/docs").status == 404);                  // a directory without index.html
  CHECK(resolve_file(root, "/../secret/key").status == 403);
  CHECK(resolve_file(root, "/docs/../../secret/key").status == 403);
  CHECK(resolve_file(root, "/%2e%2e/secret/key").status == 403);     // percent-encoded dots
  CHECK(resolve_file(root, "/%2E%2E/secret/key").status == 403);
  CHECK(resolve_file(root, "/..%2fsecret%2fkey").status == 400);     // percent-encoded slashes
  CHECK(resolve_file(root, "/..%5csecret").status == 400);
  CHECK(resolve_file(root, "/index.html%00.png").status == 400);     // NUL byte
  CHECK(resolve_file(root, "/bad%zzescape").status == 400);
  CHECK(resolve_file(root, "/escape").status == 403);                // a symlink leaving the directory
  fs::remove_all(base);
}

TEST_CASE("www: MIME types by extension") {
  CHECK(mime_type("a/index.HTML") == "text/html; charset=utf-8");
  CHECK(mime_type("x.json") == "application/json");
  CHECK(mime_type("x.png") == "image/png");
  CHECK(mime_type("x.bin") == "application/octet-stream");
  CHECK(mime_type("noextension") == "application/octet-stream");
}

TEST_CASE("http parser: a stream of empty lines is refused instead of buffered") {
  const limits l{.max_header_bytes = 1024};
  CHECK(parse(std::string(100, '\n'), l).what == parse_result::kind::incomplete);
  CHECK(error_status(std::string(2000, '\n'), l) == 431);
  CHECK(error_status(std::string(600, '\n') + "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(500, 'x') + "\r\n\r\n", l) == 431);
}

// Found by fuzz_http_request: the server parses again after every piece that arrives and answers
// the first error, so the answer must not depend on where TCP cut the bytes.
TEST_CASE("http parser: a limit error does not depend on how the request was split") {
  SUBCASE("a long request line under a smaller head limit: 431 from the first prefix on") {
    const limits l{.max_request_line = 26, .max_header_bytes = 16};
    const std::string data = "GET /" + std::string(30, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(error_status(data, l) == 431);
    for (std::size_t k = 1; k <= data.size(); ++k) {
      const auto r = parse(std::string_view(data).substr(0, k), l);
      CAPTURE(k);
      CHECK((r.what == parse_result::kind::incomplete || (r.what == parse_result::kind::error && r.status == 431)));
    }
  }
  SUBCASE("default limits: empty lines, then a request line too long: the head limit comes first") {
    const std::string data = std::string(16000, '\n') + "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(error_status(data.substr(0, 16385)) == 431);  // the first prefix over a limit
    CHECK(error_status(data) == 431);                   // was 414
  }
  SUBCASE("default limits: a request line of exactly the limit, cut after its CR") {
    const std::string line = "GET /" + std::string(8192 - 5 - 9, 'a') + " HTTP/1.1";
    REQUIRE(line.size() == 8192);
    const std::string data = line + "\r\nHost: a\r\n\r\n";
    CHECK(parse(std::string_view(data).substr(0, 8193)).what == parse_result::kind::incomplete);  // was 414
    CHECK(parse(data).what == parse_result::kind::complete);
  }
}

TEST_CASE("file cache: a file is served from memory until its entry is older than the revalidation time") {
  using namespace std::chrono_literals;
  file_cache cache{2, 10, 1s};
  const auto t0 = file_cache::clock::time_point{} + 100s;
  CHECK(cache.find("/a", t0) == nullptr);
  cache.store("/a", {"/www/a", "hello", {}}, t0);
  const auto hit = cache.find("/a", t0 + 999ms);
  REQUIRE(hit != nullptr);
  CHECK(hit->content == "hello");
  CHECK(hit->path == "/www/a");
  CHECK(cache.find("/a", t0 + 1s) == nullptr);  // looked up on disk again from then on
  CHECK(cache.find("/b", t0) == nullptr);       // other paths are not confused with it

  cache.store("/big", {"/www/big", "more than ten bytes", {}}, t0);
  CHECK(cache.find("/big", t0) == nullptr);  // larger than max_file: never kept
  cache.store("/a", {"/www/a", "changed", {}}, t0 + 2s);
  REQUIRE(cache.find("/a", t0 + 2s) != nullptr);
  CHECK(cache.find("/a", t0 + 2s)->content == "changed");  // a new read replaces the entry

  cache.store("/b", {"/www/b", "b", {}}, t0 + 2s);
  CHECK(cache.size() == 2);
  cache.store("/c", {"/www/c", "c", {}}, t0 + 2s);  // full: everything else goes
  CHECK(cache.size() == 1);
  CHECK(cache.find("/c", t0 + 2s) != nullptr);
  CHECK(cache.find("/a", t0 + 2s) == nullptr);
}
