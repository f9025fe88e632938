// SPDX-License-Identifier: BSD-3-Clause
// fuzz_http_request.cpp - libFuzzer target: the HTTP request-head parser the server uses
// (apps/services/http/request.cpp), fed as the server feeds it: the bytes received so far,
// again after every piece that arrives, until it says complete or error.
//
// Input: byte 0 seeds the piece sizes, byte 1 chooses small limits for a second pass (so the
// 414/431 paths are reached with short inputs), the rest is what the client sends. Checked:
//  - a complete head is no longer than the data and ends in LF; its method is a token and its
//    target is not empty;
//  - the outcome does not depend on how TCP split the bytes: the first answer that is not
//    "incomplete", fed in pieces, equals the answer for the whole data at once (and if the
//    whole data is incomplete, no prefix was anything else).
#include "http/request.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using tunstack::http::limits;
using tunstack::http::parse_request;
using tunstack::http::parse_result;

[[noreturn]] void fail(const char* what, std::string_view data) {
  std::fprintf(stderr, "fuzz_http_request: %s (%zu bytes of data)\n", what, data.size());
  std::abort();
}

bool same(const parse_result& a, const parse_result& b) {
  if (a.what != b.what) return false;
  if (a.what == parse_result::kind::error) return a.status == b.status;
  if (a.what == parse_result::kind::incomplete) return true;
  return a.head_size == b.head_size && a.req.method == b.req.method && a.req.target == b.req.target &&
         a.req.minor_version == b.req.minor_version && a.req.headers == b.req.headers &&
         a.req.content_length == b.req.content_length;
}

std::string describe(const parse_result& r) {
  switch (r.what) {
    case parse_result::kind::complete: return "complete, head of " + std::to_string(r.head_size) + " bytes";
    case parse_result::kind::error: return std::to_string(r.status) + " " + r.reason;
    case parse_result::kind::incomplete: break;
  }
  return "incomplete";
}

void check_one(const parse_result& r, std::string_view data) {
  switch (r.what) {
    case parse_result::kind::complete:
      if (r.head_size == 0 || r.head_size > data.size()) fail("head_size outside the data", data);
      if (data[r.head_size - 1] != '\n') fail("head does not end in LF", data);
      if (r.req.method.empty() || r.req.target.empty()) fail("empty method or target", data);
      break;
    case parse_result::kind::error:
      if (r.status < 400 || r.status > 599 || r.reason.empty()) fail("error without a 4xx/5xx status and reason", data);
      break;
    case parse_result::kind::incomplete:
      break;
  }
}

void check(std::string_view data, const limits& l, std::uint32_t seed) {
  const parse_result whole = parse_request(data, l);
  check_one(whole, data);

  // Pieces of 1..64 bytes (mostly small, now and then large), from a xorshift generator.
  std::uint32_t x = seed * 2654435761U + 1;
  std::size_t have = 0;
  while (have < data.size()) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    const std::size_t piece = (x & 0x100) ? 1 + (x & 63) : 1 + (x & 7);
    have = std::min(data.size(), have + piece);
    const auto prefix = data.substr(0, have);
    const parse_result r = parse_request(prefix, l);
    check_one(r, prefix);
    if (r.what != parse_result::kind::incomplete) {
      if (!same(r, whole)) {
        std::fprintf(stderr, "fuzz_http_request: limits %zu/%zu/%zu/%zu: after %zu bytes: %s; all %zu bytes: %s\n",
                     l.max_request_line, l.max_header_bytes, l.max_headers, l.max_body, have,
                     describe(r).c_str(), data.size(), describe(whole).c_str());
        fail("the outcome depends on how the bytes were split", data);
      }
      return;
    }
  }
  if (whole.what != parse_result::kind::incomplete) fail("whole data parsed, but the last piece was incomplete", data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  check(data, limits{}, bytes[0]);
  const unsigned small = bytes[1];
  const limits tight{.max_request_line = 8 + (small & 31), .max_header_bytes = 16 + (small & 0xe0) / 2,
                     .max_headers = small % 5, .max_body = small};
  check(data, tight, bytes[0] + 1U);
  return 0;
}
