// SPDX-License-Identifier: BSD-3-Clause
// detail/operation.hpp - the pieces every asynchronous operation of tunstack's API shares:
// a type-erased, move-only completion that remembers the handler's executor (and keeps it busy
// until the handler ran), per-operation cancellation, and a copy of the caller's buffers.
// Public only because the async_* templates in tcp.hpp and udp.hpp use it; not API.
#ifndef TUNSTACK_DETAIL_OPERATION_HPP
#define TUNSTACK_DETAIL_OPERATION_HPP

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <array>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace tunstack::detail {

/// A completion handler with its signature erased. complete() never runs the handler inline:
/// it posts it to the handler's associated executor (Asio's requirements for asynchronous
/// operations: not inside the initiating function, work tracked until then, the operation's
/// memory freed before the handler runs).
template <class... Args>
class completion {
 public:
  completion() = default;

  /// @param handler the caller's handler; @param io_executor the I/O object's executor, used
  /// when the handler has no associated executor of its own.
  template <class Handler, class IoExecutor>
  completion(Handler&& handler, const IoExecutor& io_executor)
      : p_(std::make_unique<holder<std::decay_t<Handler>, IoExecutor>>(std::forward<Handler>(handler),
                                                                        io_executor)) {}

  explicit operator bool() const noexcept { return p_ != nullptr; }

  /// Connects the handler's cancellation slot (if any) to @p on_cancel, which runs on the
  /// thread that emits the cancellation signal.
  void on_cancel(std::function<void(asio::cancellation_type)> on_cancel) {
    if (p_) p_->on_cancel(std::move(on_cancel));
  }

  /// Posts the handler with @p args and empties this completion.
  void complete(Args... args) {
    auto p = std::move(p_);
    if (p) p->post(std::move(args)...);
  }

 private:
  struct base {
    virtual ~base() = default;
    virtual void post(Args&&... args) = 0;
    virtual void on_cancel(std::function<void(asio::cancellation_type)> f) = 0;
  };

  template <class Handler, class IoExecutor>
  struct holder final : base {
    using executor = asio::associated_executor_t<Handler, IoExecutor>;
    using work_executor = std::decay_t<decltype(asio::prefer(
        std::declval<executor>(), asio::execution::outstanding_work.tracked))>;

    holder(Handler&& h, const IoExecutor& io_executor)
        : handler(std::move(h)),
          work(asio::prefer(asio::get_associated_executor(handler, io_executor),
                            asio::execution::outstanding_work.tracked)) {}
    holder(const Handler& h, const IoExecutor& io_executor)
        : handler(h),
          work(asio::prefer(asio::get_associated_executor(handler, io_executor),
                            asio::execution::outstanding_work.tracked)) {}

    ~holder() override {
      if (posted) return;  // the handler was moved out; its slot was cleared then
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) slot.clear();
    }

    void on_cancel(std::function<void(asio::cancellation_type)> f) override {
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) slot.assign([f = std::move(f)](asio::cancellation_type t) { f(t); });
    }

    void post(Args&&... args) override {
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) slot.clear();
      posted = true;
      // The posted function owns the handler and the work guard; this holder is destroyed by
      // completion::complete() as soon as we return, before the handler runs.
      asio::post(work, [h = std::move(handler), w = work,
                        t = std::make_tuple(std::move(args)...)]() mutable {
        std::apply(std::move(h), std::move(t));
      });
    }

    Handler handler;
    work_executor work;
    bool posted = false;
  };

  std::unique_ptr<base> p_;
};

/// A copy of a buffer sequence (the caller keeps the memory alive until completion). Up to
/// four buffers are stored inline.
template <class Buffer>
class buffer_list {
 public:
  buffer_list() = default;

  template <class BufferSequence>
  explicit buffer_list(const BufferSequence& buffers) {
    const auto first = asio::buffer_sequence_begin(buffers);
    const auto last = asio::buffer_sequence_end(buffers);
    for (auto it = first; it != last; ++it) {
      Buffer b(*it);
      if (b.size() > 0) push_back(b);
    }
  }

  void push_back(const Buffer& b) {
    if (inline_count_ < inline_.size() && overflow_.empty()) {
      inline_[inline_count_++] = b;
    } else {
      if (overflow_.empty()) overflow_.assign(inline_.begin(), inline_.begin() + inline_count_);
      overflow_.push_back(b);
    }
  }

  const Buffer* begin() const noexcept { return overflow_.empty() ? inline_.data() : overflow_.data(); }
  const Buffer* end() const noexcept { return begin() + count(); }
  std::size_t count() const noexcept { return overflow_.empty() ? inline_count_ : overflow_.size(); }
  std::size_t total_size() const noexcept {
    std::size_t n = 0;
    for (const Buffer& b : *this) n += b.size();
    return n;
  }

 private:
  std::array<Buffer, 4> inline_{};
  std::size_t inline_count_ = 0;
  std::vector<Buffer> overflow_;
};

using mutable_buffers = buffer_list<asio::mutable_buffer>;
using const_buffers = buffer_list<asio::const_buffer>;

/// Throws std::system_error(ec, operation); the throwing twins of the error_code overloads.
[[noreturn]] void throw_error(const std::error_code& ec, const char* operation);
inline void throw_if(const std::error_code& ec, const char* operation) {
  if (ec) throw_error(ec, operation);
}

/// Fails with errc::blocking_on_stack_thread when called on the thread that runs @p ex.
bool may_block(const asio::any_io_executor& ex, std::error_code& ec) noexcept;

/// The blocking facade: starts an operation (@p start receives its handler) and waits for it.
template <class Start>
std::size_t wait_for_transfer(const asio::any_io_executor& ex, Start&& start, std::error_code& ec) {
  if (!may_block(ex, ec)) return 0;
  std::promise<std::pair<std::error_code, std::size_t>> done;
  auto result = done.get_future();
  start([&done](std::error_code e, std::size_t n) { done.set_value({e, n}); });
  const auto [e, n] = result.get();
  ec = e;
  return n;
}

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_OPERATION_HPP
