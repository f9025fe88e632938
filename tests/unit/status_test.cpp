// SPDX-License-Identifier: BSD-3-Clause
// status_test.cpp - the status model behind GET /, /stats.json, /metrics and --stats-interval,
// on a real stack with a manual clock: rates over exact intervals, every connection counted by
// state but only a page of them listed, and the page's layout (what comes first, the link's
// own counters apart from the drops, round trips below lwIP's timer resolution).
#include "status.hpp"

#include "packet.hpp"
#include "test_stack.hpp"

#include "tunstack/tcp.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace tunstack::testing;
using namespace std::chrono_literals;
using tunstack::services::connection_page;
using tunstack::services::status;

namespace {

// The part of @p page from the heading that contains @p heading up to the next <h2.
std::string section(const std::string& page, const std::string& heading) {
  const auto start = page.find(heading);
  REQUIRE_MESSAGE(start != std::string::npos, "no section " << heading);
  return page.substr(start, page.find("<h2", start + 1) - start);
}

}  // namespace

TEST_CASE("status: rates are counted over the time since a snapshot at least a second old") {
  test_stack t;
  const status model{t.st};
  auto first = model.snapshot();  // at 0 s: nothing to compare with yet
  CHECK(first["rates_interval_seconds"] == 0.0);
  CHECK(first["interfaces"][0]["rates"]["rx_packets"] == 0.0);

  t.advance(2000ms);
  for (std::uint16_t seq = 1; seq <= 10; ++seq) {
    REQUIRE(t.exchange(echo_request({.sequence = seq})).has_value());  // 84 bytes in, 84 out
  }
  auto second = model.snapshot();
  CHECK(second["rates_interval_seconds"] == 2.0);
  const auto& rates = second["interfaces"][0]["rates"];
  CHECK(rates["rx_packets"] == 5.0);
  CHECK(rates["rx_bytes"] == 10 * 84 / 2.0);
  CHECK(rates["tx_packets"] == 5.0);

  // Half a second later the reference is still the snapshot at 0 s (the one at 2 s is too
  // recent), so the rate is averaged over 2.5 s; a second after that, over the last second
  // (since the snapshot at 2.5 s).
  t.advance(500ms);
  CHECK(model.snapshot()["rates_interval_seconds"] == 2.5);
  t.advance(1000ms);
  const auto later = model.snapshot();
  CHECK(later["rates_interval_seconds"] == 1.0);
  CHECK(later["interfaces"][0]["rates"]["rx_packets"] == 0.0);  // nothing since 2 s
}

TEST_CASE("status: every connection is counted by state, one page of them listed") {
  test_stack t;
  tunstack::tcp::acceptor a{t.st, {asio::ip::address_v4::any(), 7}};
  tunstack::tcp::acceptor b{t.st, {asio::ip::address_v4::any(), 9}};
  tunstack::tcp::acceptor c{t.st, {asio::ip::address_v4::any(), 80}};
  const status model{t.st};

  const auto two = model.snapshot({.limit = 2});
  CHECK(two["tcp_connections_total"] == 3);
  CHECK(two["tcp_connections_by_state"] == nlohmann::json{{"LISTEN", 3}});
  CHECK(two["tcp_connections"].size() == 2);
  CHECK(two["tcp_connections_limit"] == 2);
  const auto rest = model.snapshot({.offset = 2, .limit = 2});
  REQUIRE(rest["tcp_connections"].size() == 1);
  CHECK(rest["tcp_connections_offset"] == 2);
  CHECK(rest["tcp_connections"][0]["local"] != two["tcp_connections"][0]["local"]);
  CHECK(rest["tcp_connections"][0]["local"] != two["tcp_connections"][1]["local"]);
  CHECK(model.snapshot({.offset = 10})["tcp_connections"].empty());
  CHECK(model.snapshot({.limit = 0})["tcp_connections"].empty());
  const auto all = model.snapshot({.limit = std::nullopt});
  CHECK(all["tcp_connections"].size() == 3);
  CHECK(all["tcp_connections_limit"].is_null());
  CHECK(model.snapshot()["tcp_connections_limit"] == connection_page::default_limit);

  // /metrics and --stats-interval count from the states, not from the list.
  const std::string metrics = status::prometheus(model.snapshot({.limit = 0}));
  CHECK(metrics.find("tunstack_tcp_connections{state=\"LISTEN\"} 3\n") != std::string::npos);
  CHECK(status::summary_line(model.snapshot({.limit = 0}), {}).find("; tcp 0 open") != std::string::npos);
}

TEST_CASE("status: ?connections= and ?offset= choose the page; bad values are errors naming them") {
  CHECK(connection_page::parse("/").limit == connection_page::default_limit);
  CHECK(connection_page::parse("/stats.json?connections=all").limit == std::nullopt);
  const auto p = connection_page::parse("/?x=1&connections=20&offset=40#connections");
  CHECK(p.error.empty());
  CHECK(p.limit == 20);
  CHECK(p.offset == 40);
  for (const char* bad : {"/?connections=", "/?connections=-1", "/?connections=ten", "/?offset=1e3",
                          "/?connections=99999999999"}) {
    CAPTURE(bad);
    const auto e = connection_page::parse(bad);
    CHECK_FALSE(e.error.empty());
    CHECK((e.error.find("connections=") == 0 || e.error.find("offset=") == 0));
    CHECK(e.limit == connection_page::default_limit);
  }
}

TEST_CASE("status page: at a glance first, the link's own counters apart from the drops") {
  test_stack t;
  const status model{t.st};
  REQUIRE(t.exchange(echo_request()).has_value());
  auto m = model.snapshot();
  m["interfaces"][0]["device"] = {{"tun_rx_super_packets", 12}, {"tun_rx_checksum_trusted", 34}};
  m["interfaces"][0]["drops"]["tx_queue_full"] = 2;
  const std::string page = status::html(m);

  // Traffic, TCP by state, the services and memory come before any long table.
  const auto traffic = page.find("<h2>Traffic");
  const auto tcp = page.find("<b>TCP</b>: ");
  const auto memory = page.find("<b>Memory</b>: ");
  const auto connections = page.find("<h2 id=\"connections\">");
  REQUIRE(traffic != std::string::npos);
  CHECK(traffic < tcp);
  CHECK(tcp < memory);
  CHECK(memory < connections);
  CHECK(connections < page.find("<h2>Protocols"));
  CHECK(page.find("<td class=\"n bad\">2</td>") != std::string::npos);  // 2 drops, flagged

  const std::string drops = section(page, "<h2>Drops by reason");
  CHECK(drops.find("tx_queue_full") != std::string::npos);
  CHECK(drops.find("tun_rx_super_packets") == std::string::npos);
  CHECK(drops.find("tun_rx_checksum_trusted") == std::string::npos);
  const std::string link = section(page, "<h2>Link counters");
  CHECK(link.find("<td>tun_rx_super_packets</td><td class=\"n\">12</td>") != std::string::npos);

  const std::string line = status::summary_line(m, {});
  CAPTURE(line);
  CHECK(line.find(", 2 dropped [link: 34 tun_rx_checksum_trusted, 12 tun_rx_super_packets]") != std::string::npos);
  // Every table can scroll sideways on a narrow screen.
  std::size_t tables = 0, scrolling = 0;
  for (auto at = page.find("<table>"); at != std::string::npos; at = page.find("<table>", at + 1)) ++tables;
  for (auto at = page.find("<div class=\"scroll\"><table>"); at != std::string::npos;
       at = page.find("<div class=\"scroll\"><table>", at + 1)) {
    ++scrolling;
  }
  CHECK(tables == scrolling);
}

TEST_CASE("status page: a round trip under a millisecond shows its digits, not 0 ms") {
  test_stack t;
  const status model{t.st};
  auto m = model.snapshot();
  m["tcp_connections"] = nlohmann::json::array();
  for (const nlohmann::json& srtt : {nlohmann::json(0.213), nlohmann::json(nullptr), nlohmann::json(20.46), nlohmann::json(400.2)}) {
    m["tcp_connections"].push_back({{"local", "10.0.3.50:7"}, {"remote", "10.0.3.1:5000"}, {"state", "ESTABLISHED"},
                                    {"send_queued", 0}, {"receive_queued", 0}, {"cwnd", 4380}, {"ssthresh", 65535},
                                    {"srtt_ms", srtt}, {"rto_ms", 1000}, {"retransmissions", 0}});
  }
  m["tcp_connections_total"] = 4;
  const std::string list = section(status::html(m), "<h2 id=\"connections\">");
  CHECK(list.find("<td class=\"n\">0.21</td>") != std::string::npos);
  CHECK(list.find("title=\"no round trip measured yet\">&ndash;</td>") != std::string::npos);
  CHECK(list.find("<td class=\"n\">20.5</td>") != std::string::npos);
  CHECK(list.find("<td class=\"n\">400</td>") != std::string::npos);
  CHECK(list.find("<td class=\"n\">0</td><td class=\"n\">1000</td>") == std::string::npos);  // no srtt "0"
}

TEST_CASE("status page: a page of the connections says which, and links to the next and to all") {
  test_stack t;
  tunstack::tcp::acceptor a{t.st, {asio::ip::address_v4::any(), 7}};
  tunstack::tcp::acceptor b{t.st, {asio::ip::address_v4::any(), 9}};
  tunstack::tcp::acceptor c{t.st, {asio::ip::address_v4::any(), 80}};
  const status model{t.st};
  const std::string page = status::html(model.snapshot({.limit = 2}));
  CHECK(page.find("1&ndash;2 of 3") != std::string::npos);
  CHECK(page.find("<a href=\"/?connections=2&amp;offset=2#connections\">next 2</a>") != std::string::npos);
  CHECK(page.find("<a href=\"/?connections=all#connections\">all</a>") != std::string::npos);
  CHECK(page.find("<b>TCP</b>: 3 connections (3 LISTEN)") != std::string::npos);
  CHECK(status::html(model.snapshot()).find("all 3") != std::string::npos);
}
