// SPDX-License-Identifier: BSD-3-Clause
// error.hpp - tunstack's own error codes, for the few conditions that have no errno. Everything
// else a tunstack operation reports is one of Asio's codes (asio::error::eof,
// connection_reset, timed_out, ...), so that code written for kernel sockets handles tunstack's
// errors unchanged. The mapping from lwIP's err_t is in stack/src/error.cpp.
#ifndef TUNSTACK_ERROR_HPP
#define TUNSTACK_ERROR_HPP

#include <system_error>
#include <type_traits>

namespace tunstack {

/// Conditions with no errno of their own.
enum class errc {
  /// No tunstack::stack runs on the io_context of the executor a socket was made from.
  /// Compares equal to std::errc::network_down.
  no_stack = 1,
  /// A blocking call (read_some, accept, ...) was made on the stack's own thread, where waiting
  /// would deadlock: that thread is the one that must do the work. Use the async_ form there.
  /// Compares equal to std::errc::resource_deadlock_would_occur.
  blocking_on_stack_thread,
};

/// The category of tunstack::errc ("tunstack").
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace tunstack

template <>
struct std::is_error_code_enum<tunstack::errc> : std::true_type {};

#endif  // TUNSTACK_ERROR_HPP
