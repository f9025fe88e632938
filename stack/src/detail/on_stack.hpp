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

/// Runs f(*impl) on the stack's thread without waiting for it (see run_now_or_post): at once
/// where the caller may touch lwIP, else later; @p impl stays alive until then. @p ec as for
/// on_stack. For what has no answer to wait for (cancel).
template <class Impl, class F>
void on_stack_later(const std::shared_ptr<Impl>& impl, std::error_code& ec, F f) {
  ec = {};
  if (!impl) {
    ec = asio::error::bad_descriptor;
    return;
  }
  if (impl->gone()) {
    ec = asio::error::connection_aborted;
    return;
  }
  impl->stack().run_now_or_post([impl, f = std::move(f)] {
    if (!impl->gone()) f(*impl);
  });
}

/// Lets go of an implementation and closes it on the stack's thread (if the stack is still
/// there), without waiting: at once on the stack's thread, else as soon as that thread gets to
/// it (the closure keeps the implementation alive until then). For destructors, move
/// assignment and close(), which must neither block nor deadlock on any thread.
template <class Impl>
void close_on_stack(std::shared_ptr<Impl>& impl) noexcept {
  if (!impl) return;
  auto i = std::move(impl);
  if (i->gone()) return;
  // noexcept: a post that cannot allocate ends the program, as a throwing destructor would.
  i->stack().run_now_or_post([i] {
    if (!i->gone()) i->close();
  });
}

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_ON_STACK_HPP
