// detail/stack_impl.hpp - the state behind tunstack::stack: lwIP's lifetime, its clock and
// timer, the interfaces, logging. Private to the stack library.
#ifndef TUNSTACK_DETAIL_STACK_IMPL_HPP
#define TUNSTACK_DETAIL_STACK_IMPL_HPP

#include "tunstack/stack.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace tunstack::detail {

class interface;

/// Something that holds lwIP state (a pcb) on behalf of the application: a socket's
/// connection, a listener. When the stack goes away first, it must let go of that state and
/// fail its pending operations.
class stack_object {
 public:
  virtual void on_stack_shutdown() noexcept = 0;

 protected:
  ~stack_object() = default;
};

class stack_impl : public std::enable_shared_from_this<stack_impl> {
 public:
  stack_impl(asio::io_context& io, stack_options options);
  ~stack_impl();

  /// lwip_init() and the first timer; separate from the constructor because the timer's
  /// handler needs weak_from_this().
  void start();
  /// Frees everything lwIP holds and lets the next stack initialise lwIP afresh.
  void shutdown() noexcept;

  asio::io_context& io() noexcept { return io_; }
  bool io_stopped() const noexcept { return io_.stopped(); }
  const stack_options& options() const noexcept { return options_; }

  /// True on the thread that may call lwIP (see stack::running_in_this_thread).
  bool on_stack_thread() const noexcept;
  /// Notes that a handler of ours runs on the io_context's thread: it becomes the stack's thread.
  void enter_handler() const {
    const auto me = std::this_thread::get_id();
    if (owner_.load(std::memory_order_relaxed) != me) {
      std::lock_guard lock(handover_);  // waits for a direct call on the old owner to finish
      owner_ = me;
    }
  }

  std::uint32_t now_ms() const noexcept;
  /// Re-arms the timer to lwIP's next deadline. Call after anything that may add lwIP timers:
  /// every input batch and every API call.
  void schedule_timers();
  void advance_time(std::chrono::milliseconds d);
  std::optional<std::chrono::milliseconds> next_timer() const;

  bool logs(log_level level) const noexcept {
    return options_.log && level <= options_.log_max;
  }
  void log(log_level level, const std::string& line) const {
    if (logs(level)) options_.log(level, line);
  }

  /// Runs @p f on the stack's thread and returns its result: directly when the caller may touch
  /// lwIP (the stack's thread, or the io_context is stopped), else posted and waited for.
  template <class F>
  auto invoke(F&& f) -> decltype(f()) {
    if (io_.get_executor().running_in_this_thread()) return f();
    {
      // The thread that made the stack calls directly until the io_context's thread takes over;
      // the lock keeps that handover from happening in the middle of such a call.
      std::unique_lock lock(handover_);
      if (std::this_thread::get_id() == owner_.load() || io_.stopped()) return f();
    }
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    asio::post(io_, [this, &task] {
      enter_handler();
      task();
    });
    return result.get();
  }

  /// Runs @p f now if on the stack's thread, else posts it there (for operation starts, whose
  /// completions are posted anyway).
  template <class F>
  void run_or_post(F&& f) {
    if (io_.get_executor().running_in_this_thread()) {
      f();
      return;
    }
    {
      std::unique_lock lock(handover_);
      if (std::this_thread::get_id() == owner_.load()) {
        f();
        return;
      }
    }
    asio::post(io_, [this, f = std::forward<F>(f)]() mutable {
      enter_handler();
      f();
    });
  }

  void add_object(stack_object* o) { objects_.insert(o); }
  void remove_object(stack_object* o) noexcept { objects_.erase(o); }

  /// The stack of this process, if one exists.
  static stack_impl* current() noexcept;
  /// The io_context behind @p ex, if it is an io_context executor.
  static asio::io_context* io_context_of(const asio::any_io_executor& ex) noexcept;

  interface_id add_interface(netif::link& link, const interface_config& config);
  void remove_interface(interface_id id);
  stack_stats stats() const;
  std::vector<tcp_connection_info> tcp_connections() const;

 private:
  void on_timer();
  void run_due_timers();

  asio::io_context& io_;
  stack_options options_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_due_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::uint32_t manual_now_ = 0;
  std::uint64_t timer_runs_ = 0;
  // The thread that created the stack may call lwIP until the io_context first runs one of our
  // handlers (a handler posted at start-up); from then on, the thread that runs the io_context.
  mutable std::atomic<std::thread::id> owner_{std::this_thread::get_id()};
  mutable std::recursive_mutex handover_;
  std::vector<std::shared_ptr<interface>> interfaces_;  // index = interface_id; null when removed
  std::unordered_set<stack_object*> objects_;
  bool started_lwip_ = false;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_STACK_IMPL_HPP
