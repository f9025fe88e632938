// SPDX-License-Identifier: BSD-3-Clause
// errors_test.cpp - lwIP's err_t values map onto Asio's error codes (stack/src/error.cpp), and
// tunstack's own codes compare equal to the standard conditions. The behaviours behind each
// mapping (eof, reset, refused, timed out, ...) are tested where they happen: tcp_test.cpp,
// udp_test.cpp, lifetime_test.cpp.
#include "detail/error.hpp"

#include "tunstack/error.hpp"

#include <asio/error.hpp>
#include <doctest/doctest.h>

#include <cerrno>

using tunstack::detail::to_error_code;

TEST_CASE("errors: every lwIP err_t maps to the Asio code kernel sockets would give") {
  CHECK_FALSE(to_error_code(ERR_OK));
  CHECK(to_error_code(ERR_MEM) == asio::error::no_buffer_space);
  CHECK(to_error_code(ERR_BUF) == asio::error::no_buffer_space);
  CHECK(to_error_code(ERR_TIMEOUT) == asio::error::timed_out);
  CHECK(to_error_code(ERR_RTE) == asio::error::network_unreachable);
  CHECK(to_error_code(ERR_INPROGRESS) == asio::error::in_progress);
  CHECK(to_error_code(ERR_VAL) == asio::error::invalid_argument);
  CHECK(to_error_code(ERR_WOULDBLOCK) == asio::error::would_block);
  CHECK(to_error_code(ERR_USE) == asio::error::address_in_use);
  CHECK(to_error_code(ERR_ALREADY) == asio::error::already_started);
  CHECK(to_error_code(ERR_ISCONN) == asio::error::already_connected);
  CHECK(to_error_code(ERR_CONN) == asio::error::not_connected);
  CHECK(to_error_code(ERR_IF) == asio::error::host_unreachable);
  CHECK(to_error_code(ERR_ABRT) == asio::error::connection_aborted);
  CHECK(to_error_code(ERR_RST) == asio::error::connection_reset);
  CHECK(to_error_code(ERR_CLSD) == asio::error::not_connected);
  CHECK(to_error_code(ERR_ARG) == asio::error::invalid_argument);
  CHECK(to_error_code(static_cast<err_t>(-100)) == asio::error::fault);
}

TEST_CASE("errors: the mapped codes carry the errno values kernel sockets report") {
  // Asio's codes use its own system category, as Asio's kernel sockets do; the values are errno's.
  CHECK(to_error_code(ERR_RST).value() == ECONNRESET);
  CHECK(to_error_code(ERR_ABRT).value() == ECONNABORTED);
  CHECK(to_error_code(ERR_USE).value() == EADDRINUSE);
  CHECK(to_error_code(ERR_MEM).value() == ENOBUFS);
  CHECK(to_error_code(ERR_TIMEOUT).value() == ETIMEDOUT);
  CHECK(to_error_code(ERR_RTE).value() == ENETUNREACH);
}

TEST_CASE("errors: tunstack's own codes have a category and compare to std::errc") {
  const std::error_code no_stack = tunstack::errc::no_stack;
  CHECK(std::string(no_stack.category().name()) == "tunstack");
  CHECK(no_stack == std::errc::network_down);
  CHECK(no_stack.message().find("no tunstack::stack") != std::string::npos);
  const std::error_code blocking = tunstack::errc::blocking_on_stack_thread;
  CHECK(blocking == std::errc::resource_deadlock_would_occur);
  CHECK(blocking.message().find("deadlock") != std::string::npos);
}
