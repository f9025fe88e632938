// SPDX-License-Identifier: BSD-3-Clause
// status.cpp - the status model and its three renderings (see status.hpp).
#include "status.hpp"

#include "tunstack/trace.hpp"

#include "http/response.hpp"
#include "tunstack/version.hpp"

#include <cinttypes>
#include <cstdio>
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

json status::snapshot() const {
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
                          {"syncookies_rejected", s.tcp_defense.syncookies_rejected}};

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
                     {"pools", pools}};

  json connections = json::array();
  for (const auto& c : stack_.tcp_connections()) {
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
  return model;
}

std::string status::html(const json& m, int refresh_seconds) {
  std::ostringstream o;
  o << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta http-equiv=\"refresh\" content=\"" << refresh_seconds << "\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>tunstack status</title><style>"
    << "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;background:#fafafa}"
    << "h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.1em;margin-top:2em;border-bottom:1px solid #ccc}"
    << "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #e4e4e4;text-align:left}"
    << "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777}"
    << ".up{color:#070}.down{color:#a00}</style></head><body>";
  o << "<h1>tunstack</h1><p class=\"muted\">" << http::html_escape(m["version"].get<std::string>()) << " &middot; up "
    << duration_text(m["uptime_seconds"].get<double>()) << " &middot; this page refreshes every " << refresh_seconds
    << " s &middot; <a href=\"/stats.json\">stats.json</a> &middot; <a href=\"/metrics\">metrics</a></p>";

  o << "<h2>Interfaces</h2><table><tr><th>name</th><th>state</th><th>IPv4</th><th>IPv6</th><th>MTU</th>"
    << "<th>rx packets</th><th>rx bytes</th><th>tx packets</th><th>tx bytes</th></tr>";
  for (const auto& i : m["interfaces"]) {
    std::string v6;
    for (const auto& a : i["ipv6"]) v6 += (v6.empty() ? "" : " ") + a.get<std::string>();
    o << "<tr>" << cell(i["name"]) << "<td class=\"" << (i["up"].get<bool>() ? "up\">up" : "down\">down") << "</td>"
      << cell(i["ipv4"]) << cell(v6) << cell(i["mtu"]) << cell(i["rx_packets"]) << "<td class=\"n\">"
      << bytes_text(i["rx_bytes"].get<double>()) << "</td>" << cell(i["tx_packets"]) << "<td class=\"n\">"
      << bytes_text(i["tx_bytes"].get<double>()) << "</td></tr>";
  }
  o << "</table>";

  o << "<h2>Drops by reason</h2><table><tr><th>where</th><th>reason</th><th>count</th></tr>";
  for (const auto& i : m["interfaces"]) {
    for (const auto& [reason, count] : i["drops"].items()) {
      o << "<tr>" << cell(i["name"]) << cell(reason) << cell(count) << "</tr>";
    }
  }
  for (const auto& i : m["interfaces"]) {
    for (const auto& [counter, count] : i["device"].items()) {
      o << "<tr>" << cell(i["name"]) << cell(counter) << cell(count) << "</tr>";
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
  o << "</table>";

  o << "<h2>Protocols (lwIP's counters)</h2><table><tr><th>protocol</th>";
  static const char* columns[] = {"recv", "xmit", "fw", "drop", "chkerr", "lenerr", "memerr", "rterr", "proterr", "opterr", "err"};
  for (const char* c : columns) o << "<th>" << c << "</th>";
  o << "</tr>";
  for (const auto& [proto, counters] : m["protocols"].items()) {
    o << "<tr>" << cell(proto);
    for (const char* c : columns) o << cell(counters[c]);
    o << "</tr>";
  }
  o << "</table>";

  o << "<h2>TCP connections</h2><table><tr><th>local</th><th>remote</th><th>state</th><th>send queued</th>"
    << "<th>received, unread</th><th>cwnd</th><th>ssthresh</th><th>srtt ms</th><th>rto ms</th><th>retrans.</th></tr>";
  for (const auto& c : m["tcp_connections"]) {
    auto field = [&](const char* k) { return c.contains(k) ? cell(c[k]) : std::string("<td></td>"); };
    o << "<tr>" << cell(c["local"]) << field("remote") << cell(c["state"]) << field("send_queued")
      << field("receive_queued") << field("cwnd") << field("ssthresh") << field("srtt_ms") << field("rto_ms")
      << field("retransmissions") << "</tr>";
  }
  o << "</table><p class=\"muted\">lwIP measures round-trip times in ticks of its 200 ms timer.</p>";

  o << "<h2>Services</h2><table><tr><th>service</th><th>port</th><th>connections (open)</th><th>bytes in</th>"
    << "<th>bytes out</th><th>datagrams in / out</th><th>errors</th><th>details</th></tr>";
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
  o << "</table>";

  o << "<h2>Memory</h2><p>heap in use " << bytes_text(m["memory"]["heap_used"].get<double>()) << " (most "
    << bytes_text(m["memory"]["heap_max"].get<double>()) << ")</p><table><tr><th>pool</th><th>in use</th><th>most</th>"
    << "<th>failed</th></tr>";
  for (const auto& p : m["memory"]["pools"]) {
    if (p["max"].get<std::uint64_t>() == 0) continue;
    o << "<tr>" << cell(p["name"]) << cell(p["used"]) << cell(p["max"]) << cell(p["err"]) << "</tr>";
  }
  o << "</table></body></html>\n";
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
         "What TCP refused or dropped against hostile peers: out-of-order segments, SYN cookies.");
  for (const char* k : {"ooseq_dropped", "ooseq_compacted", "syncookies_sent", "syncookies_accepted", "syncookies_rejected"}) {
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
  std::map<std::string, int> states;
  for (const auto& c : m["tcp_connections"]) ++states[c["state"].get<std::string>()];
  for (const auto& [state, count] : states) o << "tunstack_tcp_connections{state=\"" << state << "\"} " << count << '\n';

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
    std::uint64_t drops = 0;
    for (const auto& [reason, count] : cur["drops"].items()) drops += count.get<std::uint64_t>();
    char buffer[200];
    std::snprintf(buffer, sizeof buffer, "; %s rx %.0f pkt/s %s/s tx %.0f pkt/s %s/s, %" PRIu64 " dropped",
                  cur["name"].get<std::string>().c_str(), rate("rx_packets"), bytes_text(rate("rx_bytes")).c_str(),
                  rate("tx_packets"), bytes_text(rate("tx_bytes")).c_str(), drops);
    o << buffer;
    for (const auto& [counter, count] : cur["device"].items()) {
      if (count.get<std::uint64_t>() > 0) o << ", " << count.dump() << ' ' << counter;
    }
  }
  std::size_t open = 0;
  for (const auto& c : m["tcp_connections"]) open += c["state"] != "LISTEN";
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
