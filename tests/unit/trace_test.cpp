// SPDX-License-Identifier: BSD-3-Clause
// trace_test.cpp - the TCP trace's two forms for events the scripted transcript (sim_test.cpp)
// does not show: IPv6 endpoints, SACK blocks, no flags, a listener, RTT figures before and
// after a sample; the line and the JSON object must say the same.
#include "trace_json.hpp"
#include "tunstack/trace.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;

namespace {

asio::ip::tcp::endpoint ep(const char* address, unsigned short port) {
  return {asio::ip::make_address(address), port};
}

}  // namespace

TEST_CASE("trace: a segment with IPv6 endpoints, SACK blocks and timestamps") {
  tunstack::trace_segment s;
  s.time = 1234567890ns;
  s.outbound = false;
  s.interface = "tun0";
  s.source = ep("fd00:3::1", 40000);
  s.destination = ep("fd00:3::50", 7);
  s.flags = tunstack::tcp_flags::ack;
  s.seq = 1449;
  s.ack = 2897;
  s.relative = true;
  s.window = 1048544;
  s.length = 0;
  s.options.sack = {{4345, 5793}, {7241, 8689}};
  s.options.timestamps = std::pair{100u, 99u};
  CHECK(tunstack::to_string(s) ==
        "  1.234568 in    tun0 [fd00:3::1]:40000 > [fd00:3::50]:7 [.] seq 1449 ack 2897 win 1048544 len 0 "
        "<sack 4345:5793,sack 7241:8689,TS 100 99>");
  const auto j = tunstack::services::to_json(s);
  CHECK(j["event"] == "segment");
  CHECK(j["dir"] == "in");
  CHECK(j["src"] == "[fd00:3::1]:40000");
  CHECK(j["flags"] == ".");
  CHECK(j["ack"] == 2897);
  CHECK(j["relative"] == true);
  CHECK(j["options"]["sack"] == nlohmann::json::array({{4345, 5793}, {7241, 8689}}));
  CHECK(j["options"]["ts"] == nlohmann::json::array({100, 99}));
  CHECK_FALSE(j["options"].contains("mss"));
  CHECK(j["t"].get<double>() == doctest::Approx(1.23456789));
}

TEST_CASE("trace: a segment without flags or ACK shows no ack number") {
  tunstack::trace_segment s;
  s.outbound = true;
  s.interface = "mem0";
  s.source = ep("10.0.3.50", 7);
  s.destination = ep("10.0.3.1", 1);
  s.seq = 5;
  CHECK(tunstack::to_string(s) == "  0.000000 out   mem0 10.0.3.50:7 > 10.0.3.1:1 [none] seq 5 win 0 len 0");
  CHECK(tunstack::services::to_json(s)["ack"].is_null());
  CHECK(tunstack::services::to_json(s)["flags"] == "");
}

TEST_CASE("trace: state lines name both ends, or only the local one for a listener") {
  const tunstack::trace_state listening{2s, ep("::", 80), {}, "CLOSED", "LISTEN"};
  CHECK(tunstack::to_string(listening) == "  2.000000 state [::]:80 CLOSED -> LISTEN");
  CHECK(tunstack::services::to_json(listening)["remote"].is_null());
  const tunstack::trace_state closing{3s, ep("10.0.3.50", 80), ep("10.0.3.1", 5555), "FIN-WAIT-2", "TIME-WAIT"};
  CHECK(tunstack::to_string(closing) == "  3.000000 state 10.0.3.50:80 10.0.3.1:5555 FIN-WAIT-2 -> TIME-WAIT");
  CHECK(tunstack::services::to_json(closing)["to"] == "TIME-WAIT");
}

TEST_CASE("trace: congestion lines show '-' (JSON null) before an RTT sample") {
  tunstack::trace_metrics m{1ms, ep("10.0.3.50", 7), ep("10.0.3.1", 9), 2920, 65535, std::nullopt, std::nullopt, 3000ms};
  CHECK(tunstack::to_string(m) ==
        "  0.001000 cc    10.0.3.50:7 10.0.3.1:9 cwnd 2920 ssthresh 65535 srtt - rttvar - rto 3000ms");
  CHECK(tunstack::services::to_json(m)["srtt_ms"].is_null());
  m.srtt = 500ms;
  m.rttvar = 250ms;
  CHECK(tunstack::to_string(m).ends_with("srtt 500ms rttvar 250ms rto 3000ms"));
  CHECK(tunstack::services::to_json(m)["rttvar_ms"] == 250);
}
