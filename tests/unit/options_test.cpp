// SPDX-License-Identifier: BSD-3-Clause
// options_test.cpp - the tunstack program's command line, parsed without opening anything:
// defaults, IPv6 on and off, and bad input refused with status 2 and the option's name.
#include "options.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>
#include <variant>

using tunstack::app::exit_request;
using tunstack::app::options;
using tunstack::app::parse;

namespace {

options parsed(std::vector<std::string> args) {
  auto r = parse(args);
  REQUIRE_MESSAGE(std::holds_alternative<options>(r), std::get<exit_request>(r).text);
  return std::get<options>(r);
}

exit_request refused(std::vector<std::string> args) {
  auto r = parse(args);
  REQUIRE(std::holds_alternative<exit_request>(r));
  return std::get<exit_request>(r);
}

}  // namespace

TEST_CASE("options: the defaults give tun0 with IPv4 and IPv6 on both sides") {
  const options o = parsed({});
  CHECK(o.dev == "tun0");
  CHECK(o.addr.to_string() == "10.0.3.50/24");
  REQUIRE(o.host_addr.has_value());
  CHECK(o.host_addr->to_string() == "10.0.3.1/24");
  REQUIRE(o.addr6.has_value());
  CHECK(o.addr6->to_string() == "fd00:3::50/64");
  REQUIRE(o.host_addr6.has_value());
  CHECK(o.host_addr6->to_string() == "fd00:3::1/64");
  CHECK(o.mtu == 1500);
}

TEST_CASE("options: none leaves a side unconfigured and --addr6 none turns IPv6 off") {
  const options o = parsed({"--host-addr", "none", "--addr6", "none"});
  CHECK_FALSE(o.host_addr.has_value());
  CHECK_FALSE(o.addr6.has_value());
  CHECK_FALSE(o.host_addr6.has_value());
  const options v = parsed({"-vv", "--mtu", "9000", "--dev", "tun%d"});
  CHECK(v.verbosity == 2);
  CHECK(v.mtu == 9000);
  CHECK(v.dev == "tun%d");
}

TEST_CASE("options: bad values exit with status 2 and name the option") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--mtu", "67"}, "--mtu"},
      {{"--addr", "10.0.3.50"}, "--addr"},
      {{"--addr", "fd00::1/64"}, "--addr"},
      {{"--addr6", "10.0.3.50/24"}, "--addr6"},
      {{"--host-addr6", "fd00:3::50/64"}, "--addr6 and --host-addr6"},
      {{"--addr6", "fd00:4::50/64"}, "--addr6"},
      {{"--addr6", "ff02::1/64"}, "--addr6"},
      {{"--mtu", "1000"}, "--mtu"},
      {{"--addr6", "none", "--host-addr6", "fd00:3::1/64"}, "--host-addr6"},
      {{"--dev", ""}, "--dev"},
      {{"--orphan-timeout", "-1"}, "--orphan-timeout"},
      {{"--orphan-timeout", "2d"}, "--orphan-timeout"},
      {{"--bogus"}, "--bogus"},
  };
  for (const auto& [args, name] : cases) {
    CAPTURE(args.front());
    const exit_request e = refused(args);
    CHECK(e.status == 2);
    CHECK(e.text.find(name) != std::string::npos);
    CHECK(e.text.find("--help") != std::string::npos);
  }
}

TEST_CASE("options: --help and --version exit 0 with their text") {
  const exit_request help = refused({"--help"});
  CHECK(help.status == 0);
  CHECK(help.text.find("--addr6") != std::string::npos);
  CHECK(help.text.find("Examples") != std::string::npos);
  const exit_request version = refused({"--version"});
  CHECK(version.status == 0);
  CHECK(version.text.find("lwIP 2.1.3") != std::string::npos);
}

TEST_CASE("options: --pcap takes a file in an existing directory, and is off by default") {
  CHECK_FALSE(parsed({}).pcap.has_value());
  const std::string file = (std::filesystem::temp_directory_path() / "tunstack-options-test.pcap").string();
  const options o = parsed({"--pcap", file});
  REQUIRE(o.pcap.has_value());
  CHECK(*o.pcap == file);
  CHECK_FALSE(std::filesystem::exists(file));  // parsing checks, it creates nothing
  CHECK(parsed({"--pcap", "capture.pcap"}).pcap == "capture.pcap");  // the current directory

  const exit_request help = refused({"--help"});
  CHECK(help.text.find("Observing") != std::string::npos);
  CHECK(help.text.find("tcpdump -r FILE -nn") != std::string::npos);
}

TEST_CASE("options: --pcap in a missing directory, or naming a directory, exits 2 naming --pcap") {
  const auto missing = std::filesystem::temp_directory_path() / "tunstack-no-such-dir" / "x.pcap";
  REQUIRE_FALSE(std::filesystem::exists(missing.parent_path()));
  const exit_request e = refused({"--pcap", missing.string()});
  CHECK(e.status == 2);
  CHECK(e.text.find("--pcap") != std::string::npos);
  CHECK(e.text.find(missing.parent_path().string() + " does not exist") != std::string::npos);

  const exit_request dir = refused({"--pcap", std::filesystem::temp_directory_path().string()});
  CHECK(dir.status == 2);
  CHECK(dir.text.find("--pcap") != std::string::npos);
  CHECK(dir.text.find("is a directory") != std::string::npos);

  const exit_request empty = refused({"--pcap", ""});
  CHECK(empty.status == 2);
  CHECK(empty.text.find("--pcap") != std::string::npos);
}

TEST_CASE("options: impairment options take a direction, suffixes, and repeat") {
  using namespace std::chrono_literals;
  const options none = parsed({});
  CHECK_FALSE(none.impaired());
  CHECK_FALSE(none.seed.has_value());

  const options both = parsed({"--loss", "5", "--reorder", "2.5%", "--seed", "7"});
  CHECK(both.impaired());
  CHECK(both.impairment.in.loss == 5);
  CHECK(both.impairment.out.loss == 5);
  CHECK(both.impairment.in.reorder == 2.5);
  CHECK(both.impairment.out.reorder == 2.5);
  REQUIRE(both.seed.has_value());
  CHECK(*both.seed == 7);

  const options split = parsed({"--loss", "in:5", "--loss", "out:1", "--duplicate", "out:3", "--corrupt", "in:0.1"});
  CHECK(split.impairment.in.loss == 5);
  CHECK(split.impairment.out.loss == 1);
  CHECK(split.impairment.in.duplicate == 0);
  CHECK(split.impairment.out.duplicate == 3);
  CHECK(split.impairment.in.corrupt == 0.1);
  CHECK(split.impairment.out.corrupt == 0);

  const options later_wins = parsed({"--loss", "5", "--loss", "in:1"});
  CHECK(later_wins.impairment.in.loss == 1);
  CHECK(later_wins.impairment.out.loss == 5);

  const options delays = parsed({"--delay", "20:5", "--delay", "out:1.5"});
  CHECK(delays.impairment.in.delay == 20ms);
  CHECK(delays.impairment.in.jitter == 5ms);
  CHECK(delays.impairment.out.delay == 1500us);
  CHECK(delays.impairment.out.jitter == 0ms);

  const options rates = parsed({"--rate", "10M", "--rate", "in:512k", "--rate", "out:1.5G"});
  CHECK(rates.impairment.in.rate == 512'000);
  CHECK(rates.impairment.out.rate == 1'500'000'000);
  CHECK(parsed({"--rate", "64000"}).impairment.in.rate == 64'000);
}

TEST_CASE("options: bad impairment values exit with status 2, name the option and show an example") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--loss", "101"}, "--loss"},
      {{"--loss", "-1"}, "--loss"},
      {{"--loss", "abc"}, "--loss"},
      {{"--loss", "up:5"}, "--loss"},
      {{"--loss", "in:"}, "--loss"},
      {{"--reorder", "5x"}, "--reorder"},
      {{"--duplicate", "nan"}, "--duplicate"},
      {{"--corrupt", "200"}, "--corrupt"},
      {{"--delay", "-5"}, "--delay"},
      {{"--delay", "20:x"}, "--delay"},
      {{"--delay", "in:20:5:1"}, "--delay"},
      {{"--delay", "100000"}, "--delay"},
      {{"--rate", "10X"}, "--rate"},
      {{"--rate", "0"}, "--rate"},
      {{"--rate", "out:"}, "--rate"},
      {{"--seed", "-3"}, "--seed"},
      {{"--loss"}, "--loss"},
  };
  for (const auto& [args, name] : cases) {
    CAPTURE(args.back());
    const exit_request e = refused(args);
    CHECK(e.status == 2);
    CHECK(e.text.find(name) != std::string::npos);
    CHECK(e.text.find("--help") != std::string::npos);
    if (name != "--seed" && args.size() == 2) CHECK(e.text.find("e.g. " + name) != std::string::npos);
  }
  const exit_request help = refused({"--help"});
  CHECK(help.text.find("Impairment") != std::string::npos);
  CHECK(help.text.find("netem") != std::string::npos);
}

TEST_CASE("options: --user names an existing user, by name or number, and is off by default") {
  CHECK_FALSE(parsed({}).user.has_value());
  // nobody (65534) exists on every Debian system; parsing only looks it up.
  CHECK(parsed({"--user", "nobody"}).user == "nobody");
  CHECK(parsed({"--user", "65534"}).user == "65534");

  const exit_request help = refused({"--help"});
  CHECK(help.text.find("--user") != std::string::npos);
  CHECK(help.text.find("Privilege") != std::string::npos);
}

TEST_CASE("options: --user refuses a missing user, root and an empty name with status 2 naming --user") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tunstack-no-such-user", "there is no user 'tunstack-no-such-user'"},
      {"4000000000", "there is no user '4000000000'"},
      {"root", "is root"},
      {"0", "is root"},
      {"", "give a user name"},
  };
  for (const auto& [name, text] : cases) {
    CAPTURE(name);
    const exit_request e = refused({"--user", name});
    CHECK(e.status == 2);
    CHECK(e.text.find("--user") != std::string::npos);
    CHECK(e.text.find(text) != std::string::npos);
    CHECK(e.text.find("--help") != std::string::npos);
  }
}

TEST_CASE("options: --help fits 80 columns and names each argument once, without CLI11's type noise") {
  const exit_request help = refused({"--help"});
  REQUIRE(help.status == 0);
  std::size_t longest = 0;
  std::string line, widest;
  for (std::istringstream in(help.text); std::getline(in, line);) {
    if (line.size() > longest) longest = line.size(), widest = line;
  }
  CAPTURE(widest);
  CHECK(longest <= tunstack::app::help_width);
  // CLI11 would write "--echo PORT:INT in [1 - 65535]=7" and "--www DIR:DIR".
  CHECK(help.text.find(":INT") == std::string::npos);
  CHECK(help.text.find(" in [") == std::string::npos);
  CHECK(help.text.find("DIR:DIR") == std::string::npos);
  CHECK(help.text.find("  --echo PORT             Port (1..65535) of the echo service") != std::string::npos);
  CHECK(help.text.find("(default: 7)") != std::string::npos);
  CHECK(help.text.find("\n\n\n") == std::string::npos);
  // Without a direction, --delay delays both ways: the round trip gains twice the delay.
  CHECK(help.text.find("adds\n                          40 ms +/- 10 ms to a round trip") != std::string::npos);
}

TEST_CASE("options: --help's examples call the program as it was started, so that they paste") {
  const exit_request on_path = refused({"--help"});
  CHECK(on_path.text.find("sudo setcap cap_net_admin+ep \"$(command -v tunstack)\"\n") != std::string::npos);
  CHECK(on_path.text.find("  sudo tunstack --pcap /tmp/tun0.pcap\n") != std::string::npos);

  const auto r = parse({"--help"}, "build/release/apps/tunstack");
  REQUIRE(std::holds_alternative<exit_request>(r));
  const std::string& text = std::get<exit_request>(r).text;
  CHECK(text.find("sudo setcap cap_net_admin+ep build/release/apps/tunstack\n") != std::string::npos);
  CHECK(text.find("  build/release/apps/tunstack --user $USER\n") != std::string::npos);
  CHECK(text.find("  sudo build/release/apps/tunstack --pcap /tmp/tun0.pcap\n") != std::string::npos);
  CHECK(text.find("command -v") == std::string::npos);
  CHECK(text.find("sudo tunstack") == std::string::npos);

  const auto bad = parse({"--mtu", "1"}, "./tunstack");
  REQUIRE(std::holds_alternative<exit_request>(bad));
  CHECK(std::get<exit_request>(bad).text.find("Run './tunstack --help'") != std::string::npos);
}

TEST_CASE("options: -V is --version, and -vvv is refused instead of showing nothing more") {
  const exit_request v = refused({"-V"});
  CHECK(v.status == 0);
  CHECK(v.text.find("lwIP 2.1.3") != std::string::npos);
  CHECK(parsed({"-vv"}).verbosity == 2);
  CHECK(parsed({"-v", "--verbose"}).verbosity == 2);
  for (const auto& args : {std::vector<std::string>{"-vvv"}, std::vector<std::string>{"-v", "-v", "-v"}}) {
    const exit_request e = refused(args);
    CHECK(e.status == 2);
    CHECK(e.text.find("-v: at most -vv") != std::string::npos);
  }
}

TEST_CASE("options: log lines carry timestamps unless --no-timestamps") {
  CHECK(parsed({}).timestamps);
  CHECK_FALSE(parsed({"--no-timestamps"}).timestamps);
}
