// SPDX-License-Identifier: BSD-3-Clause
// detail/error.hpp - lwIP's err_t to std::error_code (see error.cpp for the table and why).
#ifndef TUNSTACK_DETAIL_ERROR_HPP
#define TUNSTACK_DETAIL_ERROR_HPP

#include "lwip/err.h"

#include <system_error>

namespace tunstack::detail {

/// Maps an lwIP error onto Asio's codes: ERR_MEM -> no_buffer_space, ERR_RST ->
/// connection_reset, ERR_ABRT -> connection_aborted, ERR_USE -> address_in_use, ... Callers
/// refine it where the context knows more (a reset in SYN-SENT is connection_refused; a
/// timer-driven ERR_ABRT is timed_out; see tcp_connection.cpp).
std::error_code to_error_code(err_t err) noexcept;

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_ERROR_HPP
