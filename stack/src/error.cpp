// SPDX-License-Identifier: BSD-3-Clause
// error.cpp - the one place where lwIP's err_t becomes a std::error_code. lwIP's own table
// (err_to_errno in api/err.c) is the starting point, but the results are Asio's named codes,
// so code written for kernel sockets handles tunstack's errors unchanged.
#include "detail/error.hpp"

#include "tunstack/error.hpp"

#include <asio/error.hpp>

#include <string>

namespace tunstack {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tunstack"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::no_stack:
        return "no tunstack::stack runs on this executor's io_context";
      case errc::blocking_on_stack_thread:
        return "blocking call on the stack's own thread would deadlock; use the async_ form there";
    }
    return "unknown tunstack error";
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::no_stack: return std::errc::network_down;
      case errc::blocking_on_stack_thread: return std::errc::resource_deadlock_would_occur;
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

namespace detail {

std::error_code to_error_code(err_t err) noexcept {
  switch (err) {
    case ERR_OK: return {};
    case ERR_MEM: return asio::error::no_buffer_space;       // out of memory: ENOBUFS
    case ERR_BUF: return asio::error::no_buffer_space;       // buffer error
    case ERR_TIMEOUT: return asio::error::timed_out;
    case ERR_RTE: return asio::error::network_unreachable;   // no route: ENETUNREACH
    case ERR_INPROGRESS: return asio::error::in_progress;
    case ERR_VAL: return asio::error::invalid_argument;
    case ERR_WOULDBLOCK: return asio::error::would_block;
    case ERR_USE: return asio::error::address_in_use;
    case ERR_ALREADY: return asio::error::already_started;
    case ERR_ISCONN: return asio::error::already_connected;
    case ERR_CONN: return asio::error::not_connected;
    case ERR_IF: return asio::error::host_unreachable;       // the interface towards it failed
    case ERR_ABRT: return asio::error::connection_aborted;
    case ERR_RST: return asio::error::connection_reset;
    case ERR_CLSD: return asio::error::not_connected;        // closed, nothing more to do on it
    case ERR_ARG: return asio::error::invalid_argument;
    default: return asio::error::fault;                      // not an err_t lwIP 2.1 defines
  }
}

}  // namespace detail
}  // namespace tunstack
