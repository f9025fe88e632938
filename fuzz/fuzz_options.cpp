// SPDX-License-Identifier: BSD-3-Clause
// fuzz_options.cpp - libFuzzer target: the tunstack program's command line
// (apps/tunstack/options.cpp, which never touches a device) and its address parsers.
//
// Input: the arguments, separated by NUL bytes (argv without the program name). Checked: parse()
// never throws and gives either settings within their documented ranges or an exit with status
// 0 (help, version: text for stdout) or 2 (a message for stderr); each argument also goes
// through parse_ipv4_network/parse_ipv6_network, whose results must print back as a network
// that parses to the same value.
#include "options.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_options: %s\n", what);
  std::abort();
}

void check_address_parsers(const std::string& arg) {
  if (const auto n = tunstack::app::parse_ipv4_network(arg)) {
    if (n->prefix_length() > 32) fail("IPv4 prefix length above 32");
    const auto again = tunstack::app::parse_ipv4_network(n->to_string());
    if (!again || *again != *n) fail("an IPv4 network does not parse back from its text");
  }
  if (const auto n = tunstack::app::parse_ipv6_network(arg)) {
    if (n->prefix_length() > 128) fail("IPv6 prefix length above 128");
    const auto again = tunstack::app::parse_ipv6_network(n->to_string());
    if (!again || *again != *n) fail("an IPv6 network does not parse back from its text");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args;
  std::string current;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (size > 0) args.push_back(std::move(current));

  for (const auto& a : args) check_address_parsers(a);

  const auto result = tunstack::app::parse(args);
  if (const auto* o = std::get_if<tunstack::app::options>(&result)) {
    if (o->mtu < 68 || o->mtu > 65535) fail("accepted an MTU outside 68..65535");
    if (o->dev.empty() || o->dev.size() > 15) fail("accepted an interface name that is not 1..15 characters");
    if (o->addr6 && o->mtu < 1280) fail("accepted IPv6 with an MTU below 1280");
    if (o->verbosity > 2) fail("accepted more than -vv");
  } else {
    const auto& e = std::get<tunstack::app::exit_request>(result);
    if (e.status != 0 && e.status != 2) fail("exit status other than 0 or 2");
    if (e.text.empty()) fail("exit without a message");
  }
  return 0;
}
