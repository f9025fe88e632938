// SPDX-License-Identifier: BSD-3-Clause
// trace_json.hpp - TCP trace events (tunstack/trace.hpp) as JSON objects, one per line in the
// tunstack program's --trace-json file: the same events --trace tcp prints, for tools.
#ifndef TUNSTACK_SERVICES_TRACE_JSON_HPP
#define TUNSTACK_SERVICES_TRACE_JSON_HPP

#include "tunstack/trace.hpp"

#include <nlohmann/json.hpp>

namespace tunstack::services {

/// Fields: "t" (seconds since the stack started), "event" ("segment", "state" or "cc"), then
/// per kind: segment: "dir" ("in"/"out"), "if", "src", "dst", "flags" (tcpdump letters),
/// "seq", "ack" (null without ACK), "relative", "win", "len", "options" {mss, wscale,
/// sack_permitted, sack [[l,r]], ts [val, ecr]} (absent ones omitted); state: "local", "remote"
/// (null for a listener), "from", "to"; cc: "local", "remote", "cwnd", "ssthresh", "srtt_ms",
/// "rttvar_ms" (null before the first sample), "rto_ms".
nlohmann::json to_json(const trace_event& event);

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_TRACE_JSON_HPP
