// SPDX-License-Identifier: BSD-3-Clause
// status.cpp - the status model and its three renderings (see status.hpp). The page puts what
// one looks for first (rates, connections by state, the services, memory) above the long
// tables, and lets each table scroll sideways on a narrow screen instead of widening the page.
#include "status.hpp"

#include "tunstack/trace.hpp"

#include "http/response.hpp"
#include "tunstack/version.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <map>
#include <sstream>

namespace tunstack::services {
namespace {

using nlohmann::json;

json protocol(const tunstack::protocol_counters& p) {
  return {{"recv", p.recv},     {"xmit", p.xmit},       {"fw", p.fw},         {"drop", p.drop},
          {"chkerr", p.chkerr}, {"lenerr", p.lenerr},   {"memerr", p.memerr}, {"rterr", p.rterr},
          {"proterr", p.proterr}, {"opterr", p.opterr}, {"err", p.err}};
}

// Milliseconds with microsecond precision (0.213), or null before the first RTT sample.
json optional_ms(const std::optional<std::chrono::microseconds>& d) {
  return d ? json(static_cast<double>(d->count()) / 1000.0) : json(nullptr);
}


// "1.2 MB" for byte counts on the page.
std::string bytes_text(double v) {
  static constexpr const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buffer;
}

std::string duration_text(double seconds) {
  const auto s = static_cast<std::uint64_t>(seconds);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 86400,
                s / 3600 % 24, s / 60 % 60, s % 60);
  return buffer;
}

std::string cell(const json& v) {
  if (v.is_null()) return "<td>&ndash;</td>";
  if (v.is_string()) return "<td>" + http::html_escape(v.get<std::string>()) + "</td>";
  return "<td class=\"n\">" + http::html_escape(v.dump()) + "</td>";
}

// Escapes a Prometheus label value.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

connection_page connection_page::parse(std::string_view target) {
  connection_page page;
  const auto question = target.find('?');
  if (question == std::string_view::npos) return page;
  std::string_view query = target.substr(question + 1);
  query = query.substr(0, query.find('#'));
  // A whole non-negative number, at most 10 digits (more is no page anyone asks for).
  const auto number = [](std::string_view v) -> std::optional<std::size_t> {
    if (v.empty() || v.size() > 10 || v.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return static_cast<std::size_t>(std::stoull(std::string(v)));
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (key == "connections") {
      if (value == "all") {
        page.limit.reset();
      } else if (const auto n = number(value)) {
        page.limit = *n;
      } else {
        page.error = "connections=" + std::string(value) + ": expected a number of connections to list, or all";
        return connection_page{.error = page.error};
      }
    } else if (key == "offset") {
      if (const auto n = number(value)) {
        page.offset = *n;
      } else {
        page.error = "offset=" + std::string(value) + ": expected the number of connections to skip";
        return connection_page{.error = page.error};
      }
    }
  }
  return page;
}

json status::snapshot(const connection_page& page) const {
  const auto s = stack_.stats();
  json model;
  model["version"] = tunstack::version_banner();
  model["uptime_seconds"] = static_cast<double>(s.uptime.count()) / 1000.0;
  model["timer_runs"] = s.timer_runs;
  model["tcp_listen_drops"] = s.tcp_listen_drops;
  model["tcp_loss"] = {{"recoveries", s.tcp_loss.recoveries},
                       {"timeouts", s.tcp_loss.timeouts},
                       {"probes", s.tcp_loss.probes},
                       {"retransmitted_segments", s.tcp_loss.retransmitted_segments}};
  model["tcp_defense"] = {{"ooseq_dropped", s.tcp_defense.ooseq_dropped},
                          {"ooseq_compacted", s.tcp_defense.ooseq_compacted},
                          {"syncookies_sent", s.tcp_defense.syncookies_sent},
                          {"syncookies_accepted", s.tcp_defense.syncookies_accepted},
                          {"syncookies_rejected", s.tcp_defense.syncookies_rejected},
                          {"orphans_reset", s.tcp_defense.orphans_reset}};

  json interfaces = json::array();
  for (const auto& i : s.interfaces) {
    json ipv6 = json::array();
    for (const auto& a : i.ipv6) ipv6.push_back(a.to_string());
    const auto& l = i.link;
    json device = json::object();
    for (const auto& c : i.device) device[c.name] = c.value;
    interfaces.push_back({{"name", i.name},
                          {"mtu", i.mtu},
                          {"up", i.up},
                          {"ipv4", i.ipv4 ? json(i.ipv4->to_string()) : json(nullptr)},
                          {"ipv6", ipv6},
                          {"rx_packets", l.rx_packets},
                          {"rx_bytes", l.rx_bytes},
                          {"tx_packets", l.tx_packets},
                          {"tx_bytes", l.tx_bytes},
                          {"rx_batches", l.rx_batches},
                          {"drops",
                           {{"runt", l.rx_dropped_runt},
                            {"oversize", l.rx_dropped_oversize},
                            {"no_memory", l.rx_dropped_no_memory},
                            {"tx_queue_full", l.tx_dropped_queue_full},
                            {"tx_errors", l.tx_errors}}},
                          {"device", device}});
  }
  model["interfaces"] = interfaces;

  model["protocols"] = {{"ipv4", protocol(s.ip4)},     {"ipv4_frag", protocol(s.ip4_frag)},
                        {"icmp", protocol(s.icmp4)},   {"ipv6", protocol(s.ip6)},
                        {"ipv6_frag", protocol(s.ip6_frag)}, {"icmpv6", protocol(s.icmp6)},
                        {"nd6", protocol(s.nd6)},      {"udp", protocol(s.udp)},
                        {"tcp", protocol(s.tcp)}};

  json pools = json::array();
  for (const auto& p : s.memory.pools) pools.push_back({{"name", p.name}, {"used", p.used}, {"max", p.max}, {"err", p.err}});
  model["memory"] = {{"heap_used", s.memory.heap_used}, {"heap_max", s.memory.heap_max}, {"heap_err", s.memory.heap_err},
                     {"limit", s.memory.limit}, {"over_limit", s.memory.over_limit},
                     {"segments_shed", s.memory.segments_shed}, {"writes_held", s.memory.writes_held},
                     {"ooseq_pruned", s.memory.ooseq_pruned}, {"received_compacted", s.memory.received_compacted},
                     {"pools", pools}};

  // Every connection is counted; only the page asked for is described, since describing one is
  // what costs (a JSON object of 14 fields, then its rendering).
  const auto all = stack_.tcp_connections();
  json by_state = json::object();
  for (const auto& c : all) by_state[c.state] = by_state.value(c.state, 0) + 1;
  const std::size_t first = std::min(page.offset, all.size());
  const std::size_t last = page.limit ? std::min(all.size(), first + std::min(*page.limit, all.size())) : all.size();
  json connections = json::array();
  for (std::size_t k = first; k < last; ++k) {
    const auto& c = all[k];
    json row = {{"local", endpoint_text(c.local)}, {"state", c.state}};
    if (c.state != "LISTEN") {
      row["remote"] = endpoint_text(c.remote);
      row["send_queued"] = c.send_queued;
      row["receive_queued"] = c.receive_queued;
      row["send_window"] = c.send_window;
      row["receive_window"] = c.receive_window;
      row["mss"] = c.mss;
      row["cwnd"] = c.cwnd;
      row["ssthresh"] = c.ssthresh;
      row["srtt_ms"] = optional_ms(c.srtt);
      row["rttvar_ms"] = optional_ms(c.rttvar);
      row["rto_ms"] = c.rto.count();
      row["retransmissions"] = c.retransmissions;
    }
    connections.push_back(row);
  }
  model["tcp_connections_total"] = all.size();
  model["tcp_connections_by_state"] = by_state;
  model["tcp_connections_offset"] = first;
  model["tcp_connections_limit"] = page.limit ? json(*page.limit) : json(nullptr);
  model["tcp_connections"] = connections;

  json services = json::array();
  for (const auto& c : services_) {
    services.push_back({{"name", c->name},
                        {"protocol", c->protocol},
                        {"port", c->port},
                        {"connections_total", c->connections_total},
                        {"connections_active", c->connections_active},
                        {"bytes_in", c->bytes_in},
                        {"bytes_out", c->bytes_out},
                        {"datagrams_in", c->datagrams_in},
                        {"datagrams_out", c->datagrams_out},
                        {"errors", c->errors},
                        {"extra", c->extra}});
  }
  model["services"] = services;

  // --- Rates: against the newest earlier sample at least a second old, or the start. ---
  sample now{.uptime = model["uptime_seconds"].get<double>()};
  for (const auto& i : model["interfaces"]) {
    now.interfaces.push_back({i["rx_packets"].get<double>(), i["rx_bytes"].get<double>(), i["tx_packets"].get<double>(),
                              i["tx_bytes"].get<double>()});
  }
  for (const auto& c : services_) {
    now.services.push_back({static_cast<double>(c->bytes_in), static_cast<double>(c->bytes_out),
                            static_cast<double>(c->connections_total),
                            static_cast<double>(c->datagrams_in + c->datagrams_out)});
  }
  const sample* reference = nullptr;
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->uptime <= now.uptime - 1.0) {
      reference = &*it;
      break;
    }
  }
  const sample start{};  // every counter starts at zero with the stack
  if (reference == nullptr) reference = &start;
  const double interval = now.uptime - reference->uptime;
  const auto per_second = [&](const std::vector<std::vector<double>>& then, std::size_t row, std::size_t column,
                              double value) {
    const double before = row < then.size() && column < then[row].size() ? then[row][column] : 0.0;
    return interval > 0 && value > before ? (value - before) / interval : 0.0;
  };
  model["rates_interval_seconds"] = interval;
  for (std::size_t i = 0; i < now.interfaces.size(); ++i) {
    const auto& v = now.interfaces[i];
    model["interfaces"][i]["rates"] = {{"rx_packets", per_second(reference->interfaces, i, 0, v[0])},
                                       {"rx_bytes", per_second(reference->interfaces, i, 1, v[1])},
                                       {"tx_packets", per_second(reference->interfaces, i, 2, v[2])},
                                       {"tx_bytes", per_second(reference->interfaces, i, 3, v[3])}};
  }
  for (std::size_t i = 0; i < now.services.size(); ++i) {
    const auto& v = now.services[i];
    model["services"][i]["rates"] = {{"bytes_in", per_second(reference->services, i, 0, v[0])},
                                     {"bytes_out", per_second(reference->services, i, 1, v[1])},
                                     {"connections", per_second(reference->services, i, 2, v[2])},
                                     {"datagrams", per_second(reference->services, i, 3, v[3])}};
  }
  if (history_.empty() || now.uptime - history_.back().uptime >= 0.5) history_.push_back(std::move(now));
  while (history_.size() > 1 && history_.front().uptime < history_.back().uptime - 60.0) history_.pop_front();
  return model;
}

namespace {

// RFC 9293's states in the order a connection goes through them.
constexpr const char* state_order[] = {"LISTEN",     "SYN-SENT",   "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
                                       "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",      "LAST-ACK",    "TIME-WAIT"};

// "3 ESTABLISHED, 4 LISTEN": a model's connections by state, in the order of state_order.
std::string states_text(const json& by_state) {
  std::string out;
  for (const char* state : state_order) {
    if (!by_state.contains(state)) continue;
    out += (out.empty() ? "" : ", ") + by_state[state].dump() + " " + state;
  }
  for (const auto& item : by_state.items()) {  // any name lwIP may add
    const std::string& state = item.key();  // a named variable: lambdas cannot capture bindings in clang 14
    if (std::find_if(std::begin(state_order), std::end(state_order), [&](const char* s) { return state == s; }) ==
        std::end(state_order)) {
      out += (out.empty() ? "" : ", ") + item.value().dump() + " " + state;
    }
  }
  return out.empty() ? "none" : out;
}

std::uint64_t sum(const json& counters) {
  std::uint64_t total = 0;
  for (const auto& [key, count] : counters.items()) total += count.get<std::uint64_t>();
  return total;
}

// "1,234": counts with thousands separators, for reading at a glance.
std::string grouped(std::uint64_t v) {
  std::string digits = std::to_string(v);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<std::size_t>(at), ",");
  return digits;
}

std::string number_cell(const std::string& text, const std::string& title = {}) {
  return "<td class=\"n\"" + (title.empty() ? std::string{} : " title=\"" + http::html_escape(title) + "\"") + ">" +
         text + "</td>";
}

std::string rate_text(double per_second) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, per_second >= 10 || per_second == 0 ? "%.0f" : "%.1f", per_second);
  return buffer;
}

// A round-trip figure in milliseconds, with the digits that matter: TCP times round trips in
// microseconds (lwIP patch 0002), and one on a local link is a small fraction of a millisecond.
std::string rtt_cell(const json& ms) {
  if (ms.is_null()) return "<td class=\"n\" title=\"no round trip measured yet\">&ndash;</td>";
  const double v = ms.get<double>();
  char text[32];
  std::snprintf(text, sizeof text, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
  return number_cell(text);
}

}  // namespace

std::string status::html(const json& m, int refresh_seconds) {
  std::ostringstream o;
  o << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"refresh\" content=\"" << refresh_seconds << "\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>tunstack status</title><style>"
    << "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;padding:0 1em;max-width:75em;color:#222;background:#fafafa}"
    << "h1{font-size:1.5em;margin:0}h2{font-size:1.1em;margin:1.6em 0 .3em;border-bottom:1px solid #ccc}"
    << "p{margin:.4em 0}.scroll{overflow-x:auto}"
    << "table{border-collapse:collapse;margin:.3em 0}td,th{padding:.2em .6em;border-bottom:1px solid #e4e4e4;"
    << "text-align:left;white-space:nowrap}th{background:#eee;font-weight:600}"
    << "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}"
    << ".up{color:#070}.down{color:#a00}.bad{color:#a00;font-weight:600}"
    << "@media (max-width:600px){body{font-size:13px;margin:.8em auto;padding:0 .5em}"
    << "td,th{padding:.15em .3em}h2{margin-top:1.2em}}</style></head><body>";
  o << "<h1>tunstack</h1><p class=\"muted\">" << http::html_escape(m["version"].get<std::string>()) << " &middot; up "
    << duration_text(m["uptime_seconds"].get<double>()) << " &middot; refreshes every " << refresh_seconds
    << " s &middot; <a href=\"/stats.json\">stats.json</a> &middot; <a href=\"/metrics\">metrics</a></p>";

  // --- At a glance: traffic, connections, services and memory, before any long table. ---
  char interval[64];
  std::snprintf(interval, sizeof interval, "%.1f", m.value("rates_interval_seconds", 0.0));
  o << "<h2>Traffic <span class=\"muted\">(per second, over the last " << interval << " s)</span></h2>"
    << "<div class=\"scroll\"><table><tr><th>interface</th><th class=\"n\">rx pkt/s</th><th class=\"n\">rx</th>"
    << "<th class=\"n\">tx pkt/s</th><th class=\"n\">tx</th><th class=\"n\">drops</th></tr>";
  for (const auto& i : m["interfaces"]) {
    const json rates = i.value("rates", json::object());
    const std::uint64_t dropped = sum(i["drops"]);
    o << "<tr><td class=\"" << (i["up"].get<bool>() ? "up" : "down") << "\">" << http::html_escape(i["name"].get<std::string>())
      << "</td>" << number_cell(rate_text(rates.value("rx_packets", 0.0)))
      << number_cell(bytes_text(rates.value("rx_bytes", 0.0)) + "/s") << number_cell(rate_text(rates.value("tx_packets", 0.0)))
      << number_cell(bytes_text(rates.value("tx_bytes", 0.0)) + "/s")
      << "<td class=\"n" << (dropped > 0 ? " bad" : "") << "\">" << grouped(dropped) << "</td></tr>";
  }
  o << "</table></div>";

  const json by_state = m.value("tcp_connections_by_state", json::object());
  o << "<p><b>TCP</b>: " << grouped(m.value("tcp_connections_total", std::uint64_t{0})) << " connections ("
    << states_text(by_state) << ")";
  if (const auto drops = m["tcp_listen_drops"].get<std::uint64_t>(); drops > 0) {
    o << ", <span class=\"bad\">" << grouped(drops) << " SYNs dropped by full listeners</span>";
  }
  o << " &middot; <a href=\"#connections\">list</a></p>";

  o << "<div class=\"scroll\"><table><tr><th>service</th><th class=\"n\">port</th><th class=\"n\">open</th>"
    << "<th class=\"n\">total</th><th class=\"n\">in</th><th class=\"n\">out</th><th class=\"n\">errors</th></tr>";
  for (const auto& s : m["services"]) {
    const json rates = s.value("rates", json::object());
    const bool tcp = s["protocol"] == "tcp";
    o << "<tr><td>" << http::html_escape(s["name"].get<std::string>() + "/" + s["protocol"].get<std::string>()) << "</td>"
      << number_cell(s["port"].dump()) << number_cell(tcp ? grouped(s["connections_active"].get<std::uint64_t>()) : "")
      << number_cell(tcp ? grouped(s["connections_total"].get<std::uint64_t>())
                         : grouped(s["datagrams_in"].get<std::uint64_t>()) + " dgr.")
      << number_cell(bytes_text(rates.value("bytes_in", 0.0)) + "/s") << number_cell(bytes_text(rates.value("bytes_out", 0.0)) + "/s")
      << "<td class=\"n" << (s["errors"].get<std::uint64_t>() > 0 ? " bad" : "") << "\">"
      << grouped(s["errors"].get<std::uint64_t>()) << "</td></tr>";
  }
  o << "</table></div>";

  const auto& mem = m["memory"];
  std::uint64_t pool_failures = 0;
  std::string pools_in_use;
  for (const auto& p : mem["pools"]) {
    pool_failures += p["err"].get<std::uint64_t>();
    if (p["used"].get<std::uint64_t>() > 0) {
      pools_in_use += (pools_in_use.empty() ? "" : ", ") + http::html_escape(p["name"].get<std::string>()) + " " +
                      grouped(p["used"].get<std::uint64_t>());
    }
  }
  const std::uint64_t failures = pool_failures + mem["heap_err"].get<std::uint64_t>();
  o << "<p><b>Memory</b>: lwIP's heap " << bytes_text(mem["heap_used"].get<double>()) << " in use (most "
    << bytes_text(mem["heap_max"].get<double>()) << "); pools in use: " << (pools_in_use.empty() ? "none" : pools_in_use)
    << "; <span" << (failures > 0 ? " class=\"bad\"" : "") << ">" << grouped(failures)
    << " failed allocations</span> &middot; <a href=\"#memory\">pools</a></p>";

  // --- The details. ---
  const std::uint64_t total = m.value("tcp_connections_total", std::uint64_t{0});
  const std::uint64_t offset = m.value("tcp_connections_offset", std::uint64_t{0});
  const std::size_t shown = m["tcp_connections"].size();
  o << "<h2 id=\"connections\">TCP connections</h2><p class=\"muted\">";
  if (shown == total) {
    o << "all " << grouped(total);
  } else {
    o << grouped(shown == 0 ? 0 : offset + 1) << "&ndash;" << grouped(offset + shown) << " of " << grouped(total);
    const std::uint64_t limit = m["tcp_connections_limit"].is_null() ? total : m["tcp_connections_limit"].get<std::uint64_t>();
    if (offset + shown < total && limit > 0) {
      o << " &middot; <a href=\"/?connections=" << limit << "&amp;offset=" << offset + limit << "#connections\">next "
        << grouped(limit) << "</a>";
    }
    o << " &middot; <a href=\"/?connections=all#connections\">all</a> (a long page)";
  }
  o << "</p><div class=\"scroll\"><table><tr><th>local</th><th>remote</th><th>state</th><th class=\"n\">send queued</th>"
    << "<th class=\"n\">received, unread</th><th class=\"n\">cwnd</th><th class=\"n\">ssthresh</th><th class=\"n\">srtt ms</th>"
    << "<th class=\"n\">rto ms</th><th class=\"n\">retrans.</th></tr>";
  for (const auto& c : m["tcp_connections"]) {
    auto field = [&](const char* k) { return c.contains(k) ? cell(c[k]) : std::string("<td></td>"); };
    o << "<tr>" << cell(c["local"]) << field("remote") << cell(c["state"]) << field("send_queued")
      << field("receive_queued") << field("cwnd") << field("ssthresh")
      << (c.contains("srtt_ms") ? rtt_cell(c["srtt_ms"]) : std::string("<td></td>")) << field("rto_ms")
      << field("retransmissions") << "</tr>";
  }
  o << "</table></div>";
  o << "<p class=\"muted\">srtt: the smoothed round trip (RFC 6298), &ndash; none measured yet.</p>";

  o << "<h2>Services</h2><div class=\"scroll\"><table><tr><th>service</th><th class=\"n\">port</th>"
    << "<th class=\"n\">connections (open)</th><th class=\"n\">bytes in</th><th class=\"n\">bytes out</th>"
    << "<th class=\"n\">datagrams in / out</th><th class=\"n\">errors</th><th>details</th></tr>";
  for (const auto& s : m["services"]) {
    std::string details;
    for (const auto& [k, v] : s["extra"].items()) details += (details.empty() ? "" : ", ") + k + " " + v.dump();
    o << "<tr><td>" << http::html_escape(s["name"].get<std::string>() + "/" + s["protocol"].get<std::string>())
      << "</td>" << cell(s["port"]) << "<td class=\"n\">" << s["connections_total"].dump() << " ("
      << s["connections_active"].dump() << ")</td><td class=\"n\">" << bytes_text(s["bytes_in"].get<double>())
      << "</td><td class=\"n\">" << bytes_text(s["bytes_out"].get<double>()) << "</td><td class=\"n\">"
      << s["datagrams_in"].dump() << " / " << s["datagrams_out"].dump() << "</td>" << cell(s["errors"])
      << cell(details) << "</tr>";
  }
  o << "</table></div>";

  o << "<h2 id=\"memory\">Memory</h2><p>lwIP's heap " << bytes_text(mem["heap_used"].get<double>()) << " in use (most "
    << bytes_text(mem["heap_max"].get<double>()) << "), " << mem["heap_err"].dump() << " failed";
  if (mem.value("limit", std::uint64_t{0}) != 0) {
    o << "; limit " << bytes_text(mem["limit"].get<double>()) << (mem.value("over_limit", false) ? " (<b class=\"bad\">over</b>)" : "")
      << ": " << mem["segments_shed"].dump() << " segments shed, " << mem["writes_held"].dump() << " writes held, "
      << mem["ooseq_pruned"].dump() << " out-of-order queues emptied";
  }
  o << "</p><div class=\"scroll\"><table><tr><th>pool</th><th class=\"n\">in use</th><th class=\"n\">most</th>"
    << "<th class=\"n\">failed</th></tr>";
  for (const auto& p : mem["pools"]) {
    if (p["max"].get<std::uint64_t>() == 0) continue;
    o << "<tr>" << cell(p["name"]) << cell(p["used"]) << cell(p["max"]) << cell(p["err"]) << "</tr>";
  }
  o << "</table></div>";

  o << "<h2>Interfaces</h2><div class=\"scroll\"><table><tr><th>name</th><th>state</th><th>IPv4</th><th>IPv6</th>"
    << "<th class=\"n\">MTU</th><th class=\"n\">rx packets</th><th class=\"n\">rx bytes</th><th class=\"n\">tx packets</th>"
    << "<th class=\"n\">tx bytes</th></tr>";
  for (const auto& i : m["interfaces"]) {
    std::string v6;
    for (const auto& a : i["ipv6"]) v6 += (v6.empty() ? "" : " ") + a.get<std::string>();
    o << "<tr>" << cell(i["name"]) << "<td class=\"" << (i["up"].get<bool>() ? "up\">up" : "down\">down") << "</td>"
      << cell(i["ipv4"]) << cell(v6) << cell(i["mtu"]) << cell(i["rx_packets"]) << "<td class=\"n\">"
      << bytes_text(i["rx_bytes"].get<double>()) << "</td>" << cell(i["tx_packets"]) << "<td class=\"n\">"
      << bytes_text(i["tx_bytes"].get<double>()) << "</td></tr>";
  }
  o << "</table></div>";

  // Drops only: the link's own counters (offloads, impairment, capture) are in a table of
  // their own, as /stats.json keeps them apart (interfaces[].drops and interfaces[].device).
  o << "<h2>Drops by reason</h2><div class=\"scroll\"><table><tr><th>where</th><th>reason</th><th class=\"n\">count</th></tr>";
  for (const auto& i : m["interfaces"]) {
    for (const auto& [reason, count] : i["drops"].items()) {
      o << "<tr>" << cell(i["name"]) << cell(reason) << cell(count) << "</tr>";
    }
  }
  static const std::map<std::string, std::string> reasons = {
      {"chkerr", "bad checksum"}, {"lenerr", "bad length"}, {"memerr", "out of memory"}, {"rterr", "no route"},
      {"proterr", "protocol error"}, {"opterr", "bad options"}, {"err", "other error"}};
  for (const auto& [proto, counters] : m["protocols"].items()) {
    for (const auto& [key, text] : reasons) {
      if (counters[key].get<std::uint64_t>() > 0) o << "<tr>" << cell(proto) << cell(text) << cell(counters[key]) << "</tr>";
    }
  }
  o << "</table></div>";

  bool any_device_counter = false;
  for (const auto& i : m["interfaces"]) any_device_counter = any_device_counter || !i["device"].empty();
  if (any_device_counter) {
    o << "<h2>Link counters</h2><p class=\"muted\">What the device and its decorators count (TUN offloads, "
      << "impairment, capture): events, not drops, unless the name says so.</p>"
      << "<div class=\"scroll\"><table><tr><th>where</th><th>counter</th><th class=\"n\">count</th></tr>";
    for (const auto& i : m["interfaces"]) {
      for (const auto& [counter, count] : i["device"].items()) {
        o << "<tr>" << cell(i["name"]) << cell(counter) << cell(count) << "</tr>";
      }
    }
    o << "</table></div>";
  }

  o << "<h2>Protocols <span class=\"muted\">(lwIP's counters)</span></h2><div class=\"scroll\"><table><tr><th>protocol</th>";
  static const char* columns[] = {"recv", "xmit", "fw", "drop", "chkerr", "lenerr", "memerr", "rterr", "proterr", "opterr", "err"};
  for (const char* c : columns) o << "<th class=\"n\">" << c << "</th>";
  o << "</tr>";
  for (const auto& [proto, counters] : m["protocols"].items()) {
    o << "<tr>" << cell(proto);
    for (const char* c : columns) o << cell(counters[c]);
    o << "</tr>";
  }
  o << "</table></div></body></html>\n";
  return o.str();
}

std::string status::prometheus(const json& m) {
  std::ostringstream o;
  auto family = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  family("tunstack_uptime_seconds", "gauge", "Seconds since the stack started.");
  o << "tunstack_uptime_seconds " << m["uptime_seconds"].dump() << '\n';

  family("tunstack_tcp_listen_drops_total", "counter",
         "SYNs a listener dropped because its backlog (half-open connections or accept queue) was used up.");
  o << "tunstack_tcp_listen_drops_total " << m["tcp_listen_drops"].dump() << '\n';

  family("tunstack_tcp_loss_events_total", "counter",
         "TCP loss recovery: fast recoveries, retransmission timeouts, tail loss probes, retransmitted segments.");
  for (const char* k : {"recoveries", "timeouts", "probes", "retransmitted_segments"}) {
    o << "tunstack_tcp_loss_events_total{event=\"" << k << "\"} " << m["tcp_loss"][k].dump() << '\n';
  }
  family("tunstack_tcp_defense_events_total", "counter",
         "What TCP refused or dropped against hostile peers: out-of-order segments, SYN cookies, orphans reset.");
  for (const char* k : {"ooseq_dropped", "ooseq_compacted", "syncookies_sent", "syncookies_accepted", "syncookies_rejected",
                        "orphans_reset"}) {
    o << "tunstack_tcp_defense_events_total{event=\"" << k << "\"} " << m["tcp_defense"][k].dump() << '\n';
  }

  family("tunstack_link_packets_total", "counter", "Packets through an interface's link.");
  for (const auto& i : m["interfaces"]) {
    const std::string n = label(i["name"].get<std::string>());
    o << "tunstack_link_packets_total{interface=\"" << n << "\",direction=\"rx\"} " << i["rx_packets"].dump() << '\n';
    o << "tunstack_link_packets_total{interface=\"" << n << "\",direction=\"tx\"} " << i["tx_packets"].dump() << '\n';
  }
  family("tunstack_link_bytes_total", "counter", "Bytes through an interface's link.");
  for (const auto& i : m["interfaces"]) {
    const std::string n = label(i["name"].get<std::string>());
    o << "tunstack_link_bytes_total{interface=\"" << n << "\",direction=\"rx\"} " << i["rx_bytes"].dump() << '\n';
    o << "tunstack_link_bytes_total{interface=\"" << n << "\",direction=\"tx\"} " << i["tx_bytes"].dump() << '\n';
  }
  family("tunstack_link_drops_total", "counter", "Packets an interface dropped, by reason.");
  for (const auto& i : m["interfaces"]) {
    for (const auto& [reason, count] : i["drops"].items()) {
      o << "tunstack_link_drops_total{interface=\"" << label(i["name"].get<std::string>()) << "\",reason=\"" << reason
        << "\"} " << count.dump() << '\n';
    }
  }
  family("tunstack_link_device_total", "counter",
         "The link's own counters (e.g. packets an impairment decorator lost, delayed or corrupted).");
  for (const auto& i : m["interfaces"]) {
    for (const auto& [counter, count] : i["device"].items()) {
      o << "tunstack_link_device_total{interface=\"" << label(i["name"].get<std::string>()) << "\",counter=\""
        << label(counter) << "\"} " << count.dump() << '\n';
    }
  }
  family("tunstack_protocol_packets_total", "counter", "lwIP's per-protocol counters (recv, xmit, fw, drop and errors).");
  for (const auto& [proto, counters] : m["protocols"].items()) {
    for (const auto& [event, count] : counters.items()) {
      o << "tunstack_protocol_packets_total{protocol=\"" << proto << "\",event=\"" << event << "\"} " << count.dump() << '\n';
    }
  }
  family("tunstack_tcp_connections", "gauge", "TCP pcbs by RFC 9293 state.");
  // Counted over all connections: the model lists only a page of them.
  for (const auto& [state, count] : m["tcp_connections_by_state"].items()) {
    o << "tunstack_tcp_connections{state=\"" << state << "\"} " << count.dump() << '\n';
  }

  family("tunstack_service_connections_total", "counter", "Connections a service accepted.");
  for (const auto& s : m["services"]) {
    o << "tunstack_service_connections_total{service=\"" << label(s["name"].get<std::string>()) << "\",protocol=\""
      << s["protocol"].get<std::string>() << "\",port=\"" << s["port"].dump() << "\"} " << s["connections_total"].dump() << '\n';
  }
  family("tunstack_service_connections_active", "gauge", "Connections a service has open.");
  for (const auto& s : m["services"]) {
    o << "tunstack_service_connections_active{service=\"" << label(s["name"].get<std::string>()) << "\",protocol=\""
      << s["protocol"].get<std::string>() << "\",port=\"" << s["port"].dump() << "\"} " << s["connections_active"].dump() << '\n';
  }
  family("tunstack_service_bytes_total", "counter", "Bytes a service received (in) and sent (out).");
  for (const auto& s : m["services"]) {
    for (const char* direction : {"in", "out"}) {
      o << "tunstack_service_bytes_total{service=\"" << label(s["name"].get<std::string>()) << "\",protocol=\""
        << s["protocol"].get<std::string>() << "\",port=\"" << s["port"].dump() << "\",direction=\"" << direction
        << "\"} " << s[std::string("bytes_") + direction].dump() << '\n';
    }
  }
  family("tunstack_service_datagrams_total", "counter", "Datagrams a UDP service received (in) and sent (out).");
  for (const auto& s : m["services"]) {
    if (s["protocol"] != "udp") continue;
    for (const char* direction : {"in", "out"}) {
      o << "tunstack_service_datagrams_total{service=\"" << label(s["name"].get<std::string>()) << "\",port=\""
        << s["port"].dump() << "\",direction=\"" << direction << "\"} " << s[std::string("datagrams_") + direction].dump() << '\n';
    }
  }
  family("tunstack_service_events_total", "counter", "Service-specific counts (HTTP requests, responses by status, timeouts, ...).");
  for (const auto& s : m["services"]) {
    for (const auto& [event, count] : s["extra"].items()) {
      o << "tunstack_service_events_total{service=\"" << label(s["name"].get<std::string>()) << "\",event=\""
        << label(event) << "\"} " << count.dump() << '\n';
    }
  }
  family("tunstack_memory_heap_used_bytes", "gauge", "lwIP heap in use.");
  o << "tunstack_memory_heap_used_bytes " << m["memory"]["heap_used"].dump() << '\n';
  family("tunstack_memory_limit_bytes", "gauge", "The memory ceiling of lwIP's buffers (0: none).");
  o << "tunstack_memory_limit_bytes " << m["memory"]["limit"].dump() << '\n';
  family("tunstack_memory_shed_total", "counter", "Load shed over the memory ceiling: segments dropped unread, writes held.");
  o << "tunstack_memory_shed_total{what=\"segments\"} " << m["memory"]["segments_shed"].dump() << '\n';
  o << "tunstack_memory_shed_total{what=\"writes\"} " << m["memory"]["writes_held"].dump() << '\n';
  family("tunstack_memory_pool_used", "gauge", "lwIP pool elements in use.");
  for (const auto& p : m["memory"]["pools"]) {
    o << "tunstack_memory_pool_used{pool=\"" << label(p["name"].get<std::string>()) << "\"} " << p["used"].dump() << '\n';
  }
  return o.str();
}

std::string status::summary_line(const json& m, const json& previous) {
  const double now = m["uptime_seconds"].get<double>();
  const double then = previous.is_null() ? 0.0 : previous["uptime_seconds"].get<double>();
  const double span = now > then ? now - then : 1.0;
  std::ostringstream o;
  o << "up " << duration_text(now);
  for (std::size_t i = 0; i < m["interfaces"].size(); ++i) {
    const auto& cur = m["interfaces"][i];
    const json zero = {{"rx_packets", 0}, {"rx_bytes", 0}, {"tx_packets", 0}, {"tx_bytes", 0}};
    const auto& old = !previous.is_null() && i < previous["interfaces"].size() ? previous["interfaces"][i] : zero;
    auto rate = [&](const char* k) { return (cur[k].get<double>() - old[k].get<double>()) / span; };
    char buffer[200];
    std::snprintf(buffer, sizeof buffer, "; %s rx %.0f pkt/s %s/s tx %.0f pkt/s %s/s, %" PRIu64 " dropped",
                  cur["name"].get<std::string>().c_str(), rate("rx_packets"), bytes_text(rate("rx_bytes")).c_str(),
                  rate("tx_packets"), bytes_text(rate("tx_bytes")).c_str(), sum(cur["drops"]));
    o << buffer;
    // The link's own counters (offloads, impairment, capture) apart from the drops, as
    // /stats.json keeps them.
    std::string link;
    for (const auto& [counter, count] : cur["device"].items()) {
      if (count.get<std::uint64_t>() > 0) link += (link.empty() ? "" : ", ") + count.dump() + ' ' + counter;
    }
    if (!link.empty()) o << " [link: " << link << ']';
  }
  std::uint64_t open = 0;
  for (const auto& [state, count] : m["tcp_connections_by_state"].items()) {
    if (state != "LISTEN") open += count.get<std::uint64_t>();
  }
  o << "; tcp " << open << " open";
  for (const auto& s : m["services"]) {
    o << "; " << s["name"].get<std::string>() << "/" << s["protocol"].get<std::string>() << ' ';
    if (s["protocol"] == "tcp") {
      o << s["connections_active"].dump() << " open " << s["connections_total"].dump() << " total";
    } else {
      o << s["datagrams_in"].dump() << " datagrams";
    }
  }
  return o.str();
}

}  // namespace tunstack::services
