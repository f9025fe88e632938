// SPDX-License-Identifier: BSD-3-Clause
// trace_json.cpp - TCP trace events as JSON (see trace_json.hpp).
#include "trace_json.hpp"


namespace tunstack::services {
namespace {

using nlohmann::json;

// Milliseconds with microsecond precision (0.213), or null before the first RTT sample.
json ms(const std::optional<std::chrono::microseconds>& v) {
  return v ? json(static_cast<double>(v->count()) / 1000.0) : json(nullptr);
}

double seconds(std::chrono::nanoseconds t) { return static_cast<double>(t.count()) / 1e9; }

}  // namespace

json to_json(const trace_event& event) {
  struct visitor {
    json operator()(const trace_segment& s) const {
      json options = json::object();
      if (s.options.mss) options["mss"] = *s.options.mss;
      if (s.options.window_scale) options["wscale"] = *s.options.window_scale;
      if (s.options.sack_permitted) options["sack_permitted"] = true;
      if (!s.options.sack.empty()) {
        json blocks = json::array();
        for (const auto& [l, r] : s.options.sack) blocks.push_back({l, r});
        options["sack"] = blocks;
      }
      if (s.options.timestamps) options["ts"] = {s.options.timestamps->first, s.options.timestamps->second};
      return {{"t", seconds(s.time)},
              {"event", "segment"},
              {"dir", s.outbound ? "out" : "in"},
              {"if", s.interface},
              {"src", endpoint_text(s.source)},
              {"dst", endpoint_text(s.destination)},
              {"flags", tcp_flags_text(s.flags)},
              {"seq", s.seq},
              {"ack", (s.flags & tcp_flags::ack) ? json(s.ack) : json(nullptr)},
              {"relative", s.relative},
              {"win", s.window},
              {"len", s.length},
              {"options", options}};
    }
    json operator()(const trace_state& s) const {
      return {{"t", seconds(s.time)},
              {"event", "state"},
              {"local", endpoint_text(s.local)},
              {"remote", s.remote.port() != 0 ? json(endpoint_text(s.remote)) : json(nullptr)},
              {"from", s.from},
              {"to", s.to}};
    }
    json operator()(const trace_metrics& m) const {
      return {{"t", seconds(m.time)},       {"event", "cc"},         {"local", endpoint_text(m.local)},
              {"remote", endpoint_text(m.remote)},   {"cwnd", m.cwnd},        {"ssthresh", m.ssthresh},
              {"srtt_ms", ms(m.srtt)},      {"rttvar_ms", ms(m.rttvar)}, {"rto_ms", m.rto.count()}};
    }
  };
  return std::visit(visitor{}, event);
}

}  // namespace tunstack::services
