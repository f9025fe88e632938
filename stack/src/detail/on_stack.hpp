// SPDX-License-Identifier: BSD-3-Clause
// detail/on_stack.hpp - how the synchronous members of the public socket types reach their
// implementation: on the stack's thread, reporting a closed (moved-from) or orphaned object.
#ifndef TUNSTACK_DETAIL_ON_STACK_HPP
#define TUNSTACK_DETAIL_ON_STACK_HPP

#include "detail/stack_impl.hpp"

#include <asio/error.hpp>

#include <memory>
#include <system_error>

namespace tunstack::detail {

/// Runs f(*impl) on the stack's thread. @p ec: bad_descriptor without an implementation,
/// connection_aborted once the stack is gone. Impl has stack() and gone().
template <class Impl, class F>
void on_stack(const std::shared_ptr<Impl>& impl, std::error_code& ec, F&& f) {
  ec = {};
  if (!impl) {
    ec = asio::error::bad_descriptor;
    return;
  }
  if (impl->gone()) {
    ec = asio::error::connection_aborted;
    return;
  }
  impl->stack().invoke([&] { f(*impl); });
}

/// Closes an implementation on the stack's thread (if the stack is still there) and lets go of
/// it; for destructors, move assignment and close().
template <class Impl>
void close_on_stack(std::shared_ptr<Impl>& impl) {
  if (!impl) return;
  auto i = std::move(impl);
  if (!i->gone()) i->stack().invoke([&] { i->close(); });
}

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_ON_STACK_HPP
