// SPDX-License-Identifier: BSD-3-Clause
// log.hpp - how the stack reports what it does: a level and a line of text, handed to a sink
// the program chooses (the tunstack program prints them to stderr by -v level).
#ifndef TUNSTACK_LOG_HPP
#define TUNSTACK_LOG_HPP

#include <functional>
#include <string_view>

namespace tunstack {

/// Severity of a log line; higher values are more verbose.
enum class log_level { error = 0, warning = 1, info = 2, debug = 3, trace = 4 };

/// Receives one log line (without a trailing newline). Called on the stack's thread, in order,
/// but never inside the stack's own work: lines are queued and handed over from a handler of
/// their own (or at the end of the stack's constructor, add_interface and the destructor), so a
/// sink may call into the stack (write on a socket, close one). What that logs comes later.
using log_sink = std::function<void(log_level, std::string_view)>;

/// The lower-case name of a level ("error", "warning", ...).
constexpr std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::error: return "error";
    case log_level::warning: return "warning";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    case log_level::trace: return "trace";
  }
  return "?";
}

}  // namespace tunstack

#endif  // TUNSTACK_LOG_HPP
